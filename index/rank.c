/*
 * rank.c — the SQL functions the search relies on: sohoa_rank() (an FTS5
 * auxiliary function: tier and BM25 of the row at hand), sohoa_in(),
 * sohoa_year(), sohoa_fold() (scalar).
 *
 * Functions:
 *   sh__search_register     register them on a connection
 *   (static) rank_fn, rank_prepare, chained, group_exact, starts_at,
 *            in_fn, year_fn, fold_fn
 *
 * Ranking.  sohoa_rank() reads, for the row at hand, where each group
 * starts, folded and as typed, and places the page in a tier: 1 the whole
 * query as a phrase with the diacritics as typed, 2 the whole query as a
 * folded phrase, 3 every group with its diacritics, 4 the rest; within a
 * tier by Okapi BM25 (k1 1.2, b 0.75) over the groups, higher better.  It
 * returns (4 - tier) * TIER_SPAN + bm25.  Document frequencies come from
 * the first IDF_CAP pages holding a word, extrapolated over the rowid
 * range, so a word on every page costs no pass over its whole doclist; a
 * phrase counts as its rarest word (counting its own pages would check its
 * positions on every page holding all its words).
 *
 * Pruning.  BM25 needs the page's length, a read of FTS5's docsize table
 * per row: in a catalog larger than memory, a disk read for each of a
 * rare name's hundreds of matches.  When the search knows which rows may
 * be shown (rank_spec.visible), sohoa_rank() keeps the offset + limit
 * best ranks of such rows seen so far, and a row whose best possible rank
 * (its length no shorter than its last word found) is below all of them
 * is given that bound unread: it comes after them in the walk and in its
 * block, so it is never shown (search.c).  10M pages, cache dropped: a
 * two-word name 102 → 59 ms (p50).
 *
 * sohoa_rank() and sohoa_in() take their state (rank_spec, idset) as
 * pointers bound by the search (sqlite3_bind_pointer, types
 * sh__rank_ptr_type and sh__idset_ptr_type), so SQL typed by a user
 * cannot call them.
 */
#include "index_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const char sh__rank_ptr_type[] = "sohoa_rank_spec";
const char sh__idset_ptr_type[] = "sohoa_idset";

/* Phrases in an expression: at most 3 per token. */
#define MAX_PHRASES (3 * SH_QUERY_MAX_TOKENS)

typedef struct df_count {
    int n;
    int64_t last;
} df_count;

static int df_row(const Fts5ExtensionApi *api, Fts5Context *fc, void *p)
{
    df_count *c = p;
    c->n++;
    c->last = api->xRowid(fc);
    return c->n >= IDF_CAP ? SQLITE_DONE : SQLITE_OK;
}

/* Once per walk: average length and each group's IDF. */
static int rank_prepare(const Fts5ExtensionApi *api, Fts5Context *fc,
                        rank_spec *s)
{
    sqlite3_int64 nrow = 0, ntok = 0;
    int rc = api->xRowCount(fc, &nrow);
    if (rc == SQLITE_OK)
        rc = api->xColumnTotalSize(fc, 0, &ntok);
    if (rc != SQLITE_OK)
        return rc;
    if (s->rows > 0) {          /* every shard's (shards.c) */
        nrow = (sqlite3_int64)s->rows;
        ntok = (sqlite3_int64)s->tokens;
    }
    s->avgdl = nrow > 0 && ntok > 0 ? (double)ntok / (double)nrow : 1.0;
    for (int gi = 0; gi < s->rx.ng; gi++) {
        double df = s->df[gi];
        if (df < 0) {
            df_count c = {0, 0};
            rc = api->xQueryPhrase(fc, s->rx.g[gi].ph, &c, df_row);
            if (rc != SQLITE_OK)
                return rc;
            df = c.n;
            if (c.n >= IDF_CAP && c.last > s->minid && s->maxid > s->minid)
                df = c.n * (double)(s->maxid - s->minid + 1) /
                     (double)(c.last - s->minid + 1);
        }
        if (df > (double)nrow)
            df = (double)nrow;
        double idf = log(((double)nrow - df + 0.5) / (df + 0.5));
        s->idf[gi] = idf > 1e-6 ? idf : 1e-6;
    }
    s->ready = 1;
    return SQLITE_OK;
}

static int has_pos(const int *a, int n, int want)
{
    int lo = 0, hi = n;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (a[mid] < want)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && a[lo] == want;
}

/* The positions found for each phrase of the row. */
typedef struct rowpos {
    int start[MAX_PHRASES], count[MAX_PHRASES];
    const int *pos;
} rowpos;

static int at_pos(const rowpos *rp, int ph, int at)
{
    return has_pos(rp->pos + rp->start[ph], rp->count[ph], at);
}

/* Does group g start at position at, folded (exact = 0) or as typed
   (exact = 1: every accented token's exact form in its place too)? */
static int starts_at(const rexpr *rx, const rgroup *g, const rowpos *rp,
                     int at, int exact)
{
    if (!at_pos(rp, g->ph, at))
        return 0;
    for (int i = 0; exact && i < g->n; i++) {
        int e = rx->etok[g->first + i];
        if (e >= 0 && !at_pos(rp, e, at + i))
            return 0;
    }
    return 1;
}

/* Does group g start anywhere as typed? */
static int group_exact(const rexpr *rx, const rgroup *g, const rowpos *rp)
{
    for (int i = 0; i < rp->count[g->ph]; i++)
        if (starts_at(rx, g, rp, rp->pos[rp->start[g->ph] + i], 1))
            return 1;
    return 0;
}

/* Do the groups follow one another somewhere: the whole query as a
   phrase? */
static int chained(const rexpr *rx, const rowpos *rp, int exact)
{
    const rgroup *g0 = &rx->g[0];
    for (int i = 0; i < rp->count[g0->ph]; i++) {
        int at = rp->pos[rp->start[g0->ph] + i];
        int ok = starts_at(rx, g0, rp, at, exact);
        for (int gi = 1; ok && gi < rx->ng; gi++) {
            at += rx->g[gi - 1].n;
            ok = starts_at(rx, &rx->g[gi], rp, at, exact);
        }
        if (ok)
            return 1;
    }
    return 0;
}

/* Called with each row pruned; tests set it. */
void (*sh__rank_prune_hook)(void);

/* Okapi BM25 of the row over the groups, the row dl tokens long. */
static double bm25(const rank_spec *s, const rowpos *rp, int dl)
{
    const double k1 = 1.2, b = 0.75;
    double score = 0;
    for (int gi = 0; gi < s->rx.ng; gi++) {
        double tf = rp->count[s->rx.g[gi].ph];
        score += s->idf[gi] * tf * (k1 + 1) /
                 (tf + k1 * (1 - b + b * dl / s->avgdl));
    }
    return score;
}

/* Keep rank among the need best seen (a min-heap): SH_ENOMEM or 0. */
static int heap_offer(rank_spec *s, double rank)
{
    double *h = s->heap;
    if (!h && !(h = s->heap = malloc((size_t)s->need * sizeof *h)))
        return SH_ENOMEM;
    int i;
    if (s->nheap < s->need) {           /* up from the end */
        for (i = s->nheap++; i > 0 && h[(i - 1) / 2] > rank; i = (i - 1) / 2)
            h[i] = h[(i - 1) / 2];
    } else if (rank > h[0]) {           /* down from the root */
        for (i = 0;;) {
            int c = 2 * i + 1;
            if (c >= s->nheap)
                break;
            if (c + 1 < s->nheap && h[c + 1] < h[c])
                c++;
            if (h[c] >= rank)
                break;
            h[i] = h[c];
            i = c;
        }
    } else {
        return 0;
    }
    h[i] = rank;
    return 0;
}

static void rank_fn(const Fts5ExtensionApi *api, Fts5Context *fc,
                    sqlite3_context *ctx, int nval, sqlite3_value **val)
{
    rank_spec *s =
        nval == 1 ? sqlite3_value_pointer(val[0], sh__rank_ptr_type) : NULL;
    if (!s) {
        sqlite3_result_error(ctx, "sohoa_rank: internal use only", -1);
        return;
    }
    const rexpr *rx = &s->rx;
    int rc = SQLITE_OK, nph = api->xPhraseCount(fc);
    if (!s->ready && (rc = rank_prepare(api, fc, s)) != SQLITE_OK) {
        sqlite3_result_error_code(ctx, rc);
        return;
    }
    /* The positions of every phrase, one after the other in s->pos. */
    rowpos rp;
    size_t used = 0;
    if (nph > MAX_PHRASES)
        nph = MAX_PHRASES;
    for (int ph = 0; ph < nph; ph++) {
        Fts5PhraseIter it;
        int col = -1, off = -1;
        rp.start[ph] = (int)used;
        rp.count[ph] = 0;
        rc = api->xPhraseFirst(fc, ph, &it, &col, &off);
        if (rc != SQLITE_OK) {
            sqlite3_result_error_code(ctx, rc);
            return;
        }
        for (; col >= 0; api->xPhraseNext(fc, &it, &col, &off)) {
            if (used == s->pos_cap) {
                size_t cap = s->pos_cap ? 2 * s->pos_cap : 1024;
                int *p = realloc(s->pos, cap * sizeof *p);
                if (!p) {
                    sqlite3_result_error_nomem(ctx);
                    return;
                }
                s->pos = p;
                s->pos_cap = cap;
            }
            s->pos[used++] = off;
            rp.count[ph]++;
        }
    }
    rp.pos = s->pos;
    int exact_groups = 1;
    for (int gi = 0; exact_groups && gi < rx->ng; gi++)
        exact_groups = group_exact(rx, &rx->g[gi], &rp);
    int tier;
    if (exact_groups && chained(rx, &rp, 1))
        tier = 1;
    else if (chained(rx, &rp, 0))
        tier = 2;
    else
        tier = exact_groups ? 3 : 4;
    double base = (4 - tier) * TIER_SPAN;
    if (s->need > 0 && s->nheap == s->need) {
        /* Its best: the length no shorter than its last word found. */
        int last = 0;
        for (size_t i = 0; i < used; i++)
            if (s->pos[i] > last)
                last = s->pos[i];
        double bound = base + bm25(s, &rp, last + 1);
        if (bound < s->heap[0]) {
            if (sh__rank_prune_hook)
                sh__rank_prune_hook();
            sqlite3_result_double(ctx, bound);
            return;
        }
    }
    int dl = 0;
    if (api->xColumnSize(fc, 0, &dl) != SQLITE_OK || dl <= 0)
        dl = 1;
    double rank = base + bm25(s, &rp, dl);
    if (s->need > 0 && s->visible(s->ctx, api->xRowid(fc)) == 1 &&
        heap_offer(s, rank)) {
        sqlite3_result_error_nomem(ctx);
        return;
    }
    sqlite3_result_double(ctx, rank);
}

static int idset_has(const idset *s, int64_t id)
{
    if (id < s->lo || id > s->hi)
        return 0;
    uint64_t k = (uint64_t)(id - s->lo);
    return (int)((s->bits[k >> 6] >> (k & 63)) & 1);
}

/* sohoa_in(set, rowid): 1 if rowid is in the set bound as a pointer. */
static void in_fn(sqlite3_context *ctx, int n, sqlite3_value **v)
{
    const idset *s = sqlite3_value_pointer(v[0], sh__idset_ptr_type);
    if (!s) {
        sqlite3_result_error(ctx, "sohoa_in: internal use only", -1);
        return;
    }
    sqlite3_result_int(ctx, idset_has(s, sqlite3_value_int64(v[1])));
}

/* The first run of exactly four ASCII digits in a dossier id, or NULL. */
static void year_fn(sqlite3_context *ctx, int n, sqlite3_value **v)
{
    const unsigned char *s = sqlite3_value_text(v[0]);
    if (!s)
        return;
    for (size_t i = 0; s[i];) {
        if (s[i] < '0' || s[i] > '9') {
            i++;
            continue;
        }
        size_t j = i;
        while (s[j] >= '0' && s[j] <= '9')
            j++;
        if (j - i == 4) {
            sqlite3_result_int(ctx, (s[i] - '0') * 1000 +
                                        (s[i + 1] - '0') * 100 +
                                        (s[i + 2] - '0') * 10 + s[i + 3] -
                                        '0');
            return;
        }
        i = j;
    }
}

/* sohoa_fold(text): sh_text_fold, for comparing what officers type with
   what the run read ("quyet dinh" = "Quyết định"). */
static void fold_fn(sqlite3_context *ctx, int n, sqlite3_value **v)
{
    const char *s = (const char *)sqlite3_value_text(v[0]);
    if (!s)
        return;
    char *f = NULL;
    if (sh_text_fold(s, &f)) {
        sqlite3_result_error_nomem(ctx);
        return;
    }
    sqlite3_result_text(ctx, f, -1, free);
}

int sh__search_register(sqlite3 *db, fts5_api *api, sh_err *err)
{
    int rc = api->xCreateFunction(api, "sohoa_rank", NULL, rank_fn, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_create_function_v2(db, "sohoa_in", 2,
                                        SQLITE_UTF8 | SQLITE_DIRECTONLY,
                                        NULL, in_fn, NULL, NULL, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_create_function_v2(
            db, "sohoa_year", 1,
            SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, NULL,
            year_fn, NULL, NULL, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_create_function_v2(
            db, "sohoa_fold", 1,
            SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, NULL,
            fold_fn, NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return sh_errf(err, SH_EINDEX,
                       "catalog: cannot register search functions: %s",
                       sqlite3_errstr(rc));
    return SH_OK;
}
