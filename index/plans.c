/*
 * plans.c — tables of filter plans: each connection's memo holds one
 * (walk.c), and one is shared by the connections of a process.
 *
 * Functions:
 *   sh__plan_find, sh__plan_keep, sh__plan_table_clear   a table of plans
 *   sh__plans_gen, sh__plans_bump, sh__plans_get, sh__plans_put   the
 *                           process's table
 *
 * A filter's plan (how many pages it keeps and, when it keeps few or
 * keeps none of a part of the catalog, its pages' ids as a bitmap: walk.c)
 * is kept in each connection's memo.  A web server has several pooled
 * connections, and each would work out every officer's filters itself:
 * at 10M pages a document type's pages take ~1.4 s of CPU to collect,
 * once per connection and filter.  So the plans are also kept here, once
 * per process, copied in and out of the memos.
 *
 * Freshness.  A plan holds for one content of the catalog.  Each memo
 * knows when its connection's view of the catalog changed (walk.c
 * memo_of: the pager's data version), and a connection cannot tell what
 * another saw, so the first search that sees a change, and the first
 * search of a new memo, forget every plan kept here (a new generation).
 * A search reads the generation before its read transaction begins and
 * tags the plan it makes with it; a plan whose tag is not the generation
 * of the moment it is put is not kept.  A search made in an older view of
 * the catalog therefore never leaves its plan for a newer one: when it
 * read the generation, the change was not committed, and whoever first
 * saw the change started a new generation.  The search that starts one
 * takes it as its tag if no other did so since it read its own (its view
 * is then the newest any search has seen): the first search of each
 * connection, and the first after each change, still leave their plans.  (A stale plan could only
 * miss pages, never show one: every candidate is checked against the
 * filter itself, check.c.)
 */
#include "index_int.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static uint64_t gen = 1;
static sh__plan_table shared;
size_t sh__plans_bytes = 48u << 20;

static size_t plan_bytes(const sh__plan *p)
{
    return p->use_ids ? (size_t)(p->ids.hi - p->ids.lo + 64) / 8 +
                            p->nranges * sizeof(idrange)
                      : 0;
}

void sh__plan_release(sh__plan *p)
{
    free(p->ids.bits);
    free(p->ranges);
    *p = (sh__plan){0};
}

/* A copy of p (bits and ranges too) into out: SH_OK or SH_ENOMEM. */
static int plan_copy(const sh__plan *p, sh__plan *out)
{
    *out = *p;
    out->ids.bits = NULL;
    out->ranges = NULL;
    if (!p->use_ids)
        return SH_OK;
    size_t nb = (size_t)(p->ids.hi - p->ids.lo + 64) / 64 * sizeof(uint64_t);
    out->ids.bits = malloc(nb ? nb : 1);
    out->ranges = malloc(p->nranges ? p->nranges * sizeof(idrange) : 1);
    if (!out->ids.bits || !out->ranges) {
        sh__plan_release(out);
        return SH_ENOMEM;
    }
    memcpy(out->ids.bits, p->ids.bits, nb);
    memcpy(out->ranges, p->ranges, p->nranges * sizeof(idrange));
    return SH_OK;
}

/* ---- a table of plans ---- */

static void slot_free(sh__plan_slot *x)
{
    free(x->key);
    sh__plan_release(&x->p);
    *x = (sh__plan_slot){0};
}

void sh__plan_table_clear(sh__plan_table *t)
{
    for (int i = 0; i < SH_PLAN_SLOTS; i++)
        slot_free(&t->slot[i]);
}

sh__plan_slot *sh__plan_find(sh__plan_table *t, const char *key,
                             size_t klen, int64_t minid, int64_t maxid)
{
    for (int i = 0; i < SH_PLAN_SLOTS; i++) {
        sh__plan_slot *x = &t->slot[i];
        if (x->key && x->klen == klen && !memcmp(x->key, key, klen) &&
            x->minid == minid && x->maxid == maxid) {
            x->used = ++t->tick;
            return x;
        }
    }
    return NULL;
}

void sh__plan_keep(sh__plan_table *t, char *key, size_t klen, int64_t minid,
                   int64_t maxid, sh__plan p, size_t budget)
{
    sh__plan_slot *x = &t->slot[0];
    for (int i = 0; i < SH_PLAN_SLOTS; i++) {
        sh__plan_slot *y = &t->slot[i];
        if (y->key && y->klen == klen && !memcmp(y->key, key, klen)) {
            x = y;              /* the same plan, kept again: replaced */
            break;
        }
        if (!y->key || (x->key && y->used < x->used))
            x = y;
    }
    slot_free(x);
    size_t need = plan_bytes(&p);
    for (;;) {                  /* the bitmaps within budget */
        size_t held = need;
        sh__plan_slot *old = NULL;
        for (int i = 0; i < SH_PLAN_SLOTS; i++) {
            sh__plan_slot *y = &t->slot[i];
            held += plan_bytes(&y->p);
            if (y->key && y->p.use_ids && (!old || y->used < old->used))
                old = y;
        }
        if (held <= budget || !old)
            break;
        slot_free(old);
    }
    *x = (sh__plan_slot){.key = key, .klen = klen, .minid = minid,
                         .maxid = maxid, .p = p, .used = ++t->tick};
}

/* ---- the process's plans ---- */

uint64_t sh__plans_gen(void)
{
    pthread_mutex_lock(&mu);
    uint64_t g = gen;
    pthread_mutex_unlock(&mu);
    return g;
}

uint64_t sh__plans_bump(uint64_t seen)
{
    pthread_mutex_lock(&mu);
    uint64_t mine = gen == seen ? gen + 1 : 0;
    gen++;
    sh__plan_table_clear(&shared);
    pthread_mutex_unlock(&mu);
    return mine;
}

static char *full_key(sqlite3 *db, const char *key, size_t klen,
                      size_t *len)
{
    const char *f = sqlite3_db_filename(db, "main");
    size_t fl = f ? strlen(f) : 0;
    char *k = malloc(fl + 1 + klen);
    if (k) {
        memcpy(k, f ? f : "", fl);
        k[fl] = 0;
        memcpy(k + fl + 1, key, klen);
        *len = fl + 1 + klen;
    }
    return k;
}

int sh__plans_get(sqlite3 *db, const char *key, size_t klen, int64_t minid,
                  int64_t maxid, sh__plan *out)
{
    size_t len = 0;
    char *k = full_key(db, key, klen, &len);
    if (!k)
        return 0;
    pthread_mutex_lock(&mu);
    sh__plan_slot *x = sh__plan_find(&shared, k, len, minid, maxid);
    int found = x && plan_copy(&x->p, out) == SH_OK;
    pthread_mutex_unlock(&mu);
    free(k);
    return found;
}

void sh__plans_put(sqlite3 *db, uint64_t tag, const char *key, size_t klen,
                   int64_t minid, int64_t maxid, const sh__plan *p)
{
    size_t len = 0;
    if (plan_bytes(p) > sh__plans_bytes)
        return;
    char *k = full_key(db, key, klen, &len);
    sh__plan copy;
    if (!k || plan_copy(p, &copy)) {
        free(k);
        return;
    }
    pthread_mutex_lock(&mu);
    if (tag == gen) {           /* else made in a view since gone */
        sh__plan_keep(&shared, k, len, minid, maxid, copy, sh__plans_bytes);
        k = NULL;
    }
    pthread_mutex_unlock(&mu);
    if (k) {
        free(k);
        sh__plan_release(&copy);
    }
}
