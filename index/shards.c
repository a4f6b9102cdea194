/*
 * shards.c — several catalogs searched as one (shards.h).
 *
 * Functions:
 *   sh_search_stats_get, sh_search_stats_add   BM25's statistics of a query
 *   sh_search_shards        the search over several catalogs
 *   sh__stats_apply         the summed statistics into a walk's rank_spec
 *                           (search.c's plan_df calls it)
 *   (static) fts_totals, count_df, hit_cmp, sort_ties, cur_fetch, take
 *
 * Statistics.  rank.c scores a page by BM25 from the catalog's page count
 * and token count (FTS5's averages record) and, per group of the query,
 * the pages holding it; search.c and rank.c count those from the first
 * IDF_CAP pages holding a word, extrapolated over the page ids past that,
 * a phrase as its rarest word.  sh_search_stats_get counts them the same
 * way on one catalog; summed over the shards they are what the merged
 * catalog has (exactly, while each word is on fewer than IDF_CAP pages),
 * and with them every shard's sh_search scores a page as the merged
 * catalog would.
 *
 * Merge.  Each shard is asked for the first offset + limit hits (one more,
 * to see a tie at the end; up to 1000 when a run of ties reaches it), and
 * then, when a shard runs out before the merge is done, for its next 1000.
 * Within a shard, hits of equal tier and score are put in the merge's tie
 * order (shards.h); the heads of the shards are then merged, the first
 * `offset` dropped.  The hits handed out are moved, not copied.
 */
#include "shards.h"
#include "index_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SHARD_CHUNK 1000        /* sh_search's largest limit */

/* FTS5's averages record (page_fts_data id 1): varint rows, then the
   tokens of each column, as SQLite varints. */
static int get_varint(const unsigned char *p, int n, int *at, uint64_t *v)
{
    *v = 0;
    for (int i = 0; i < 9; i++) {
        if (*at >= n)
            return -1;
        unsigned char c = p[(*at)++];
        if (i == 8) {
            *v = (*v << 8) | c;
            return 0;
        }
        *v = (*v << 7) | (c & 0x7f);
        if (!(c & 0x80))
            return 0;
    }
    return 0;
}

static int fts_totals(sqlite3 *db, sh_search_stats *o, sh_err *err)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT block FROM page_fts_data WHERE id=1",
                           -1, &st, NULL) != SQLITE_OK)
        return sh_errf(err, SH_EINDEX, "search: reading the index size: %s",
                       sqlite3_errmsg(db));
    int s = sqlite3_step(st), rc = SH_OK;
    if (s == SQLITE_ROW) {
        const unsigned char *p = sqlite3_column_blob(st, 0);
        int n = sqlite3_column_bytes(st, 0), at = 0;
        uint64_t rows = 0, toks = 0;
        if (p && !get_varint(p, n, &at, &rows) &&
            !get_varint(p, n, &at, &toks)) {
            o->rows = (int64_t)rows;
            o->tokens = (int64_t)toks;
        }
    } else if (s != SQLITE_DONE) {
        rc = sh_errf(err, SH_EINDEX, "search: reading the index size: %s",
                     sqlite3_errmsg(db));
    }
    sqlite3_finalize(st);
    return rc;
}

/* Pages holding token t (an FTS5 string), as search.c's token_df and
   rank.c's rank_prepare count them. */
static int count_df(sqlite3 *db, sqlite3_stmt *st, const char *t,
                    int64_t minid, int64_t maxid, double *df, sh_err *err)
{
    sh_buf b = {0};
    if (sh__expr_put_token(&b, t))
        return sh_errf(err, SH_ENOMEM, "search: out of memory");
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, b.data, (int)b.len, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 2, IDF_CAP);
    sh_buf_release(&b);
    int n = 0, s;
    int64_t last = 0;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        last = sqlite3_column_int64(st, 0);
        n++;
    }
    if (s != SQLITE_DONE)
        return sh_errf(err, SH_EINDEX, "search: counting a word: %s",
                       sqlite3_errmsg(db));
    *df = n;
    if (n >= IDF_CAP && last > minid && maxid > minid)
        *df = n * (double)(maxid - minid + 1) / (double)(last - minid + 1);
    return SH_OK;
}

int sh_search_stats_get(sqlite3 *db, const char *text, sh_search_stats *out,
                        sh_err *err)
{
    memset(out, 0, sizeof *out);
    query qy;
    rexpr rx;
    sh_buf ex = {0};
    sqlite3_stmt *st = NULL;
    double fold[SH_QUERY_MAX_TOKENS];
    int64_t minid = 0, maxid = 0;
    int rc = sh__query_parse(db, text, &qy, err);
    if (rc || qy.ngrp == 0 || (rc = fts_totals(db, out, err)))
        goto out;
    if (sh__expr_build(&qy, EXPR_MATCH, &rx, &ex)) {
        rc = sh_errf(err, SH_ENOMEM, "search: out of memory");
        goto out;
    }
    if (sqlite3_prepare_v2(db, "SELECT (SELECT min(id) FROM page), "
                               "(SELECT max(id) FROM page)",
                           -1, &st, NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW) {
        rc = sh_errf(err, SH_EINDEX, "search: reading page ids: %s",
                     sqlite3_errmsg(db));
        goto out;
    }
    minid = sqlite3_column_int64(st, 0);
    maxid = sqlite3_column_int64(st, 1);
    sqlite3_finalize(st);
    if (sqlite3_prepare_v2(db, "SELECT rowid FROM page_fts WHERE page_fts "
                               "MATCH ?1 ORDER BY rowid LIMIT ?2",
                           -1, &st, NULL) != SQLITE_OK) {
        st = NULL;
        rc = sh_errf(err, SH_EINDEX, "search: counting words: %s",
                     sqlite3_errmsg(db));
        goto out;
    }
    for (int i = 0; !rc && i < qy.ntok; i++)
        rc = count_df(db, st, qy.tok[i].fold, minid, maxid, &fold[i], err);
    /* A group of one word: its pages; of several: its rarest word's. */
    out->ngroups = rx.ng;
    for (int gi = 0; !rc && gi < rx.ng; gi++) {
        const rgroup *g = &rx.g[gi];
        out->df[gi] = fold[g->first];
        for (int i = g->first + 1; i < g->first + g->n; i++)
            if (fold[i] < out->df[gi])
                out->df[gi] = fold[i];
    }
    /* The query as typed: one word as typed, or its rarest word folded. */
    if (!rc && qy.ntok == 1)
        rc = count_df(db, st, qy.tok[0].exact, minid, maxid,
                      &out->df_phrase, err);
    for (int i = 0; !rc && qy.ntok > 1 && i < qy.ntok; i++)
        if (!i || fold[i] < out->df_phrase)
            out->df_phrase = fold[i];
out:
    sqlite3_finalize(st);
    sh_buf_release(&ex);
    sh__query_release(&qy);
    return rc;
}

void sh_search_stats_add(sh_search_stats *sum, const sh_search_stats *one)
{
    if (one->ngroups == 0)
        return;                 /* an empty query: nothing to add */
    sum->rows += one->rows;
    sum->tokens += one->tokens;
    sum->ngroups = one->ngroups;
    for (int gi = 0; gi < one->ngroups; gi++)
        sum->df[gi] += one->df[gi];
    sum->df_phrase += one->df_phrase;
}

int sh__stats_apply(search *s, rank_spec *spec, int phrase)
{
    const sh_search_stats *g = s->q->stats;
    if (phrase ? spec->rx.ng != 1 : g->ngroups != spec->rx.ng)
        return sh_errf(s->err, SH_EUSAGE, "search: the statistics given "
                       "were made for another query (%d groups, not %d)",
                       phrase ? 1 : g->ngroups, spec->rx.ng);
    for (int gi = 0; gi < spec->rx.ng; gi++)
        spec->df[gi] = phrase ? g->df_phrase : g->df[gi];
    spec->rows = (double)g->rows;
    spec->tokens = (double)g->tokens;
    return SH_OK;
}

/* ---- the merge ---- */

/* < 0 when a comes first: tier, score, then the merged catalog's newest
   id first (later shard, dossier id, page; see shards.h). */
static int hit_cmp(const sh_hit *a, const sh_hit *b)
{
    if (a->tier != b->tier)
        return a->tier < b->tier ? -1 : 1;
    if (a->score != b->score)
        return a->score > b->score ? -1 : 1;
    if (a->shard != b->shard)
        return a->shard > b->shard ? -1 : 1;
    int c = strcmp(a->dossier ? a->dossier : "", b->dossier ? b->dossier : "");
    if (c)
        return c > 0 ? -1 : 1;
    return a->page > b->page ? -1 : a->page < b->page;
}

static int hit_qcmp(const void *a, const void *b)
{
    return hit_cmp(a, b);
}

static int tied(const sh_hit *a, const sh_hit *b)
{
    return a->tier == b->tier && a->score == b->score;
}

/* Runs of equal tier and score in the merge's tie order. */
static void sort_ties(sh_hits *h)
{
    for (int i = 0; i < h->n;) {
        int j = i + 1;
        while (j < h->n && tied(&h->h[i], &h->h[j]))
            j++;
        if (j - i > 1)
            qsort(h->h + i, (size_t)(j - i), sizeof *h->h, hit_qcmp);
        i = j;
    }
}

typedef struct cursor {
    sh_hits h;
    int pos;                    /* the next hit of h */
    int off;                    /* h's first hit, in the shard's order */
    int more;                   /* the shard may have hits past h */
} cursor;

static int cur_fetch(sqlite3 *db, const char *name, int k, const sh_query *q,
                     cursor *c, int limit, sh_err *err)
{
    sh_hits_release(&c->h);
    sh_query qq = *q;
    qq.offset = c->off;
    qq.limit = limit;
    if (k > 0)
        qq.memo = NULL;         /* a memo belongs to the first connection */
    int rc = sh_search(db, &qq, &c->h, err);
    if (rc) {
        char msg[sizeof err->msg];
        snprintf(msg, sizeof msg, "%s", err->msg);
        if (name)
            return sh_errf(err, rc, "%s: %s", name, msg);
        return sh_errf(err, rc, "shard %d: %s", k + 1, msg);
    }
    for (int i = 0; i < c->h.n; i++)
        c->h.h[i].shard = k;
    sort_ties(&c->h);
    c->pos = 0;
    c->more = c->h.n == limit;
    return SH_OK;
}

/* Move hit src into dst (src keeps no pointer). */
static void take(sh_hit *dst, sh_hit *src)
{
    *dst = *src;
    src->dossier = src->agency = src->pdf = src->snippet = NULL;
}

int sh_search_shards(sqlite3 *const *dbs, int n, const char *const *names,
                     const sh_query *q, sh_hits *out, sh_err *err)
{
    memset(out, 0, sizeof *out);
    if (!dbs || n < 1 || !q)
        return sh_errf(err, SH_EUSAGE, "search: no catalog or no query");
    if (n == 1 && !q->stats)
        return sh_search(dbs[0], q, out, err);
    if (q->limit < 0 || q->limit > SHARD_CHUNK || q->offset < 0 ||
        q->offset > INT32_MAX - SHARD_CHUNK - 1)
        return sh_errf(err, SH_EUSAGE,
                       "search: limit %d / offset %d out of range "
                       "(limit 0..%d, 0 = 20; offset >= 0)",
                       q->limit, q->offset, SHARD_CHUNK);
    int limit = q->limit ? q->limit : 20, want = q->offset + limit;
    sh_search_stats sum = {0};
    sh_query qq = *q;
    cursor *cur = calloc((size_t)n, sizeof *cur);
    int rc = cur ? SH_OK : sh_errf(err, SH_ENOMEM, "search: out of memory");
    for (int k = 0; !rc && !q->stats && k < n; k++) {
        sh_search_stats one;
        if ((rc = sh_search_stats_get(dbs[k], q->text, &one, err))) {
            char msg[sizeof err->msg];
            snprintf(msg, sizeof msg, "%s", err->msg);
            rc = names ? sh_errf(err, rc, "%s: %s", names[k], msg)
                       : sh_errf(err, rc, "shard %d: %s", k + 1, msg);
        }
        sh_search_stats_add(&sum, &one);
    }
    if (!q->stats)
        qq.stats = &sum;
    /* The first offset + limit hits of each (and one more, to see a run
       of ties reaching past them: then up to SHARD_CHUNK). */
    for (int k = 0; !rc && k < n; k++) {
        int first = want + 1 > SHARD_CHUNK ? SHARD_CHUNK : want + 1;
        const char *nm = names ? names[k] : NULL;
        rc = cur_fetch(dbs[k], nm, k, &qq, &cur[k], first, err);
        sh_hits *h = &cur[k].h;
        if (!rc && h->n == first && first < SHARD_CHUNK && h->n > 1 &&
            tied(&h->h[h->n - 1], &h->h[h->n - 2]))
            rc = cur_fetch(dbs[k], nm, k, &qq, &cur[k], SHARD_CHUNK, err);
        if (!rc) {
            int64_t t = (int64_t)out->total + cur[k].h.total;
            out->total = t > INT32_MAX ? INT32_MAX : (int)t;
            out->approx |= cur[k].h.approx;
        }
    }
    if (!rc && !(out->h = calloc((size_t)limit, sizeof *out->h)))
        rc = sh_errf(err, SH_ENOMEM, "search: out of memory");
    for (int seen = 0; !rc && out->n < limit;) {
        int best = -1;
        for (int k = 0; !rc && k < n; k++) {
            cursor *c = &cur[k];
            if (c->pos == c->h.n && c->more) {
                c->off += c->h.n;
                rc = cur_fetch(dbs[k], names ? names[k] : NULL, k, &qq, c,
                               SHARD_CHUNK, err);
            }
            if (!rc && c->pos < c->h.n &&
                (best < 0 ||
                 hit_cmp(&c->h.h[c->pos], &cur[best].h.h[cur[best].pos]) < 0))
                best = k;
        }
        if (rc || best < 0)
            break;
        sh_hit *h = &cur[best].h.h[cur[best].pos++];
        if (seen++ >= q->offset)
            take(&out->h[out->n++], h);
    }
    for (int k = 0; cur && k < n; k++)
        sh_hits_release(&cur[k].h);
    free(cur);
    if (rc)
        sh_hits_release(out);
    return rc;
}

int sh_shards_distinct(const char *const *whs, int n, sh_err *err)
{
    for (int k = 0; k < n; k++)
        for (int j = 0; j < k; j++) {
            char *a = realpath(whs[j], NULL), *b = realpath(whs[k], NULL);
            int same = a && b && !strcmp(a, b);
            free(a);
            free(b);
            if (same)
                return sh_errf(err, SH_EUSAGE, "warehouse %s is given twice "
                               "(as %s too)", whs[k], whs[j]);
        }
    return SH_OK;
}
