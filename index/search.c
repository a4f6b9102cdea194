/*
 * search.c — the Vietnamese full-text search: ranked, filtered,
 * paginated.
 *
 * Functions:
 *   sh_search, sh_hits_release      the search (public)
 *   (static) run_search, offer, offer_all, estimate_total, plan_df,
 *            token_df, phrase_window, ids_floor
 * and, through index_int.h:
 *   query.c                 the user's text → groups → FTS5 expressions
 *   rank.c                  sohoa_rank() (tiers, BM25), sohoa_in(), …
 *   walk.c                  filters, access bitmap, walks over the matches
 *   snippet.c               the snippet of a hit
 * (indexer.c keeps page_fts itself.)
 *
 * Method.  The user's text is never FTS5 syntax: it is read into groups
 * of tokens (query.c) that make an FTS5 expression matching the pages
 * holding every group, diacritics or not; sohoa_rank() (rank.c) places
 * each match in a tier (phrase as typed, folded phrase, every group as
 * typed, the rest), then by BM25.
 *
 * Cost bound.  FTS5 can only rank by visiting every match, and a common
 * word is on most of a million pages, so ranking never looks at more than
 * a block of BLOCK matches at once.  A walk is one FTS5 statement over the
 * matches newest first (ORDER BY rowid DESC, served from the doclists
 * without sorting) that ranks as it goes.  Whether a page may be shown
 * (pageno set, dossier 'done', the filters) is asked of page and dossier
 * one candidate at a time, in result order, only as far as the hits
 * wanted; the same row gives the hit's fields and the text its snippet is
 * cut from.  When the matches fit in one block they are ranked together;
 * up to EXACT_MAX of them are all counted and `total` is exact (those not
 * shown without reading them, where the search knows their answer:
 * check.c sh__check_count).  When they
 * do not fit, a second walk collects the newest PBLOCK pages holding the
 * query as typed as a phrase and ranks them first.  Then come the matches
 * in blocks of BLOCK newest first, each ranked within itself.  When the
 * tier-1 walk comes, it usually fills the page of hits by itself, so the
 * first walk then only counts and spans the first block (unranked: no
 * sohoa_rank per row), and is walked again ranked only if the blocks are
 * reached; a query whose rarest word is on few pages is ranked at once.
 *
 * Phrases.  FTS5 finds a phrase by checking its positions on every page
 * that holds all its words (0.5–3 µs a page), and a phrase of common
 * words can be rare while its words are on nearly every page: looking for
 * it through a million pages would take a second.  So the work a phrase
 * costs is bounded by ids: the walk for the query as typed goes down only
 * through about the newest PHRASE_SCAN pages holding all its words (an id
 * floor, from their density), and when the query has a quoted phrase (or
 * a word that is one, "30/2020/NĐ-CP"), the main walk goes through the ids
 * in windows holding about PHRASE_SCAN such pages each (phrase_window),
 * and a block never spans two windows: a rare phrase's pages come newest
 * window first, each window's ranked within itself, and `total` is then
 * an estimate.  An inexact `total` (hits.approx = 1) is the matches,
 * counted or estimated from the share of the ids walked, times the share
 * of checked candidates that could be shown.  The order is a fixed
 * function of the catalog and the query, so pages of results never
 * overlap; a deep offset only walks further.  A filter that keeps under
 * BITMAP_FRACTION of the pages (estimated from dossier.pages) would leave
 * nearly every candidate unshowable, so its page ids are then collected
 * from dossier → page(dossier, pageno) into a bitmap that sohoa_in()
 * tests in the walks before ranking, the walks keep to the id ranges
 * those pages occupy, and blocks shrink as the pages thin out
 * (WALK_BUDGET).  Everything runs in one read transaction.
 */
#include "index_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK 1000              /* matches ranked together             */
#define EXACT_MAX 1000          /* up to this many matches, exact total */
#define PBLOCK 500              /* phrase pages ranked first           */
#define PHRASE_SCAN 20000       /* matches searched for them, about    */
#define WALK_BUDGET 20000       /* rows walked for a block, about      */
#define BLOCK_MIN 200           /* the least a block holds             */
/* Rank the first walk at once when a group is on no more pages than
   this; a variable so that the tests can make either choice. */
double sh__search_rank_ahead = 16.0 * BLOCK;
#define LIMIT_MAX 1000
#define PRUNE_MAX 2000          /* offset + limit pruned up to (rank.c) */
/* Whether ranking prunes (see run_search); tests compare both ways. */
int sh__search_prune = 1;
#define MAX_AGENCIES 10000      /* one SQL parameter each              */

typedef struct cand {
    int64_t id;
    double rank;                /* higher is better */
} cand;

typedef struct cands {
    cand *c;
    size_t n, cap;
} cands;

static int cands_add(cands *v, int64_t id, double rank)
{
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 256;
        cand *c = realloc(v->c, cap * sizeof *c);
        if (!c)
            return SH_ENOMEM;
        v->c = c;
        v->cap = cap;
    }
    v->c[v->n++] = (cand){id, rank};
    return SH_OK;
}

static int cand_cmp(const void *a, const void *b)
{
    const cand *x = a, *y = b;
    if (x->rank != y->rank)
        return x->rank > y->rank ? -1 : 1;
    return x->id > y->id ? -1 : x->id < y->id;
}

int sh__id_cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* Offer the next candidate in result order: check that its page may be
   shown and, if it falls in [offset, offset + limit), make it a hit. */
static int offer(search *s, const cand *c)
{
    /* One it will not show (the page of hits is full, or it comes before
       the offset) is only counted, without reading it when the search
       knows its answer (check.c sh__check_count). */
    if (s->out->n >= s->limit || s->visible < s->q->offset) {
        int v = sh__check_count(s, c->id);
        if (v >= 0) {
            s->checked++;
            s->visible += v;
            return SH_OK;
        }
    }
    sh__checked k;
    int v = sh__check_page(s, c->id, &k);
    if (v < 0)
        return sh__walk_fail(s);
    s->checked++;
    if (!v)
        return SH_OK;
    s->visible++;
    sh_hits *out = s->out;
    if (s->visible <= s->q->offset || out->n >= s->limit)
        return SH_OK;
    sh_hit *h = &out->h[out->n];
    out->n++;
    h->page_id = c->id;
    h->page = k.page;
    h->dossier = sh_strdup(k.dossier);
    h->agency = sh_strdup(k.agency);
    h->pdf = sh_strdup(k.pdf ? k.pdf : "");
    const char *text = NULL;
    int rc = sh__check_text(s, c->id, &text);
    if (rc)
        return rc;
    h->snippet = sh__snippet(s, text ? text : "");
    int tier = 4 - (int)floor(c->rank / TIER_SPAN);
    h->score = c->rank - (4 - tier) * TIER_SPAN;
    h->exact = tier == 1 || tier == 3;
    h->tier = tier;
    if (!h->dossier || (k.agency && !h->agency) || !h->pdf || !h->snippet)
        return sh__search_nomem(s);
    return SH_OK;
}

static int offer_all(search *s, cands *v, int all)
{
    if (v->n > 1)
        qsort(v->c, v->n, sizeof *v->c, cand_cmp);
    for (size_t i = 0; i < v->n && (all || s->out->n < s->limit); i++) {
        int rc = offer(s, &v->c[i]);
        if (rc)
            return rc;
    }
    return SH_OK;
}

/* total from an estimate of the matches, times the share of the checked
   candidates that could be shown. */
static void estimate_total(search *s, double matches)
{
    sh_hits *out = s->out;
    double est = matches;
    if (s->checked > 0)
        est = est * (double)s->visible / (double)s->checked;
    if (est < (double)(s->visible))
        est = (double)s->visible;
    out->total = est > INT32_MAX ? INT32_MAX : (int)(est + 0.5);
    out->approx = 1;
}

/* How many pages hold token t (folded): the first IDF_CAP of them, the
   count extrapolated over the id range (as rank_prepare does). */
static int token_df(search *s, qtok *t, sqlite3_stmt **st)
{
    if (t->df >= 0 || sh__memo_df_get(s, t->fold, &t->df))
        return SH_OK;
    int rc;
    if (!*st &&
        (rc = sh__search_prep(s,
                              "SELECT rowid FROM page_fts WHERE page_fts "
                              "MATCH ?1 ORDER BY rowid LIMIT ?2",
                              st, "estimating word frequencies")))
        return rc;
    sh_buf *b = &s->sql;
    b->len = 0;
    if (sh__expr_put_token(b, t->fold))
        return sh__search_nomem(s);
    sqlite3_reset(*st);
    sqlite3_bind_text(*st, 1, b->data, (int)b->len, SQLITE_TRANSIENT);
    sqlite3_bind_int(*st, 2, IDF_CAP);
    int n = 0, step;
    int64_t last = 0;
    while ((step = sqlite3_step(*st)) == SQLITE_ROW) {
        last = sqlite3_column_int64(*st, 0);
        n++;
    }
    if (step != SQLITE_DONE)
        return sh__search_fail(s, "estimating word frequencies");
    t->df = n;
    if (n >= IDF_CAP && last > s->minid && s->maxid > s->minid)
        t->df = n * (double)(s->maxid - s->minid + 1) /
                (double)(last - s->minid + 1);
    sh__memo_df_put(s, t->fold, t->df);
    return SH_OK;
}

/* The frequencies a walk's ranking uses: for a phrase, that of its rarest
   token (an upper bound: counting the phrase's pages would check its
   positions on every page holding all its tokens); for a group of one
   token, when singles is set (the match walk, whose groups are folded),
   the same count rank_prepare would make of it, else left to
   rank_prepare (-1). */
static int plan_df(search *s, rank_spec *spec, int singles)
{
    if (s->q->stats)            /* given for all shards (shards.c) */
        return sh__stats_apply(s, spec, spec == &s->pspec);
    sqlite3_stmt *st = NULL;
    int rc = SH_OK;
    for (int gi = 0; !rc && gi < spec->rx.ng; gi++) {
        const rgroup *g = &spec->rx.g[gi];
        spec->df[gi] = -1;
        for (int i = g->first; !rc && (singles || g->n > 1) &&
                               i < g->first + g->n; i++) {
            qtok *t = &s->qy.tok[i];
            if (!(rc = token_df(s, t, &st)) &&
                (spec->df[gi] < 0 || t->df < spec->df[gi]))
                spec->df[gi] = t->df;
        }
    }
    sqlite3_finalize(st);
    return rc;
}

/* The lowest id of the newest `want` ids of the ranges of s. */
static int64_t ids_floor(const search *s, double want)
{
    for (size_t r = 0; r < s->nranges; r++) {
        double len = (double)(s->ranges[r].hi - s->ranges[r].lo + 1);
        if (want <= len)
            return s->ranges[r].hi - (int64_t)want + 1;
        want -= len;
    }
    return INT64_MIN;
}

/* FTS5 finds a phrase by checking its positions on every page that holds
   all its words (about 0.5 µs a page), and a phrase of common words can
   be rare while they are on most pages.  The ids in which about
   PHRASE_SCAN pages hold all the query's words, from how many of the
   newest BLOCK such pages there are; 0 when all of them are fewer. */
static int phrase_window(search *s, int64_t *window)
{
    *window = 0;
    sh_buf b = {0};
    for (int i = 0; i < s->qy.ntok; i++)
        if ((i && sh_buf_adds(&b, " AND ")) ||
            sh__expr_put_token(&b, s->qy.tok[i].fold)) {
            sh_buf_release(&b);
            return sh__search_nomem(s);
        }
    sqlite3_stmt *st = NULL;
    int rc = sh__search_prep(s,
                             "SELECT rowid FROM page_fts WHERE page_fts "
                             "MATCH ?1 AND rowid BETWEEN ?2 AND ?3 "
                             "ORDER BY rowid DESC",
                             &st, "estimating the cost of a phrase");
    if (rc) {
        sh_buf_release(&b);
        return rc;
    }
    sqlite3_bind_text(st, 1, b.data, (int)b.len, SQLITE_STATIC);
    size_t n = 0;
    double covered = 0;
    for (size_t r = 0; !rc && n < BLOCK && r < s->nranges; r++) {
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 2, s->ranges[r].lo);
        sqlite3_bind_int64(st, 3, s->ranges[r].hi);
        int step;
        int64_t last = s->ranges[r].lo;
        while (n < BLOCK && (step = sqlite3_step(st)) == SQLITE_ROW) {
            last = sqlite3_column_int64(st, 0);
            n++;
        }
        if (n < BLOCK && step != SQLITE_DONE)
            rc = sh__search_fail(s, "estimating the cost of a phrase");
        covered += (double)(s->ranges[r].hi - last + 1);
    }
    sqlite3_finalize(st);
    sh_buf_release(&b);
    if (!rc && n >= BLOCK) {
        double w = covered * PHRASE_SCAN / (double)n;
        *window = w < 1 ? 1 : w > (double)INT64_MAX / 2 ? INT64_MAX / 2
                                                         : (int64_t)w;
    }
    return rc;
}

/* The first block of the main walk, and one row more to learn whether
   there is more (or the first window's matches, when the walk has
   windows): into first (emptied); *cut = 1 when they end a window. */
static int first_block(search *s, walk *mw, cands *first, size_t block,
                       int *cut)
{
    int64_t id = 0;
    double rank;
    int r = 0;
    first->n = 0;
    while (first->n <= block && (r = sh__walk_next(mw, &id, &rank)) == 1)
        if (cands_add(first, id, rank))
            return sh__search_nomem(s);
    if (r < 0)
        return sh__walk_fail(s);
    *cut = r == 2;
    return SH_OK;
}

/* The main walk again, ranked this time, up to the same first block. */
static int rank_first(search *s, walk *mw, cands *first, size_t block,
                      int64_t window, int *cut)
{
    sh__walk_close(mw);
    int rc = sh__walk_open(s, mw, s->expr.data, &s->spec, INT64_MIN, window);
    return rc ? rc : first_block(s, mw, first, block, cut);
}

static int visible_cb(void *ctx, int64_t id)
{
    return sh__check_count(ctx, id);
}

static int run_search(search *s)
{
    sh_hits *out = s->out;
    walk mw = {0}, pw = {0};
    cands first = {0}, blk = {0};
    int64_t *pids = NULL;
    size_t npids = 0;
    int rc, r = 0;

    if (sh__filter_sql(s->q, &s->filt, FILTER_PAGE) ||
        sh__filter_sql(s->q, &s->filt_d, FILTER_DOSSIER) ||
        sh__expr_build(&s->qy, EXPR_MATCH, &s->spec.rx, &s->expr)) {
        rc = sh__search_nomem(s);
        goto out;
    }
    int phrases = 0;            /* groups of several tokens */
    for (int gi = 0; gi < s->spec.rx.ng; gi++)
        phrases += s->spec.rx.g[gi].n > 1;
    int64_t window = 0;
    /* With a tier-1 block to come (below), the first block is often not
       needed ranked: the tier-1 pages fill the page of hits.  It is then
       walked unranked (ids only) for its count and span, and again ranked
       only when its ranks are needed, unless the query's rarest word is
       on so few pages (sh__search_rank_ahead) that the matches may well
       fit one block: walking them twice would cost more than ranking. */
    int tier1 = s->qy.ngrp > 1 || s->qy.diacritics, ranked = !tier1;
    if ((rc = sh__search_id_range(s)) || (rc = sh__search_plan_filter(s)) ||
        (rc = sh__check_open(s)) || (rc = plan_df(s, &s->spec, 1)))
        goto out;
    double fewest = -1;
    for (int gi = 0; gi < s->spec.rx.ng; gi++)
        if (fewest < 0 || s->spec.df[gi] < fewest)
            fewest = s->spec.df[gi];
    if (fewest >= 0 && fewest <= sh__search_rank_ahead)
        ranked = 1;             /* likely to fit a block: see above */
    /* Pruning (rank.c): when whether a match may be shown is known
       without reading it, a match that cannot reach the offset + limit
       best seen so far skips its length.  It is then not shown: those
       best come before it in the walk, so they are offered before it
       (its block, or an earlier one, or the tier-1 walk's), and the
       page of hits is full when it comes. */
    if (sh__search_prune && s->q->offset + s->limit <= PRUNE_MAX &&
        sh__check_counts(s)) {
        s->spec.need = s->q->offset + s->limit;
        s->spec.visible = visible_cb;
        s->spec.ctx = s;
    }
    if ((phrases && (rc = phrase_window(s, &window))) ||
        (rc = sh__walk_open(s, &mw, s->expr.data, ranked ? &s->spec : NULL,
                            INT64_MIN, window)))
        goto out;
    out->h = calloc((size_t)s->limit, sizeof *out->h);
    if (!out->h) {
        rc = sh__search_nomem(s);
        goto out;
    }
    /* Rows of a walk visited per row ranked grow as the filter's pages
       thin out among the ids walked: keep that product bounded. */
    size_t block = BLOCK;
    if (s->use_ids) {
        double covered, all;
        sh__walk_span(&mw, &covered, &all);
        double density = all > 0 ? (double)s->nallowed / all : 1;
        double b = WALK_BUDGET * density;
        block = b >= BLOCK ? BLOCK : b <= BLOCK_MIN ? BLOCK_MIN : (size_t)b;
    }

    int cut;                    /* first[] is a window: a block of its own */
    if ((rc = first_block(s, &mw, &first, block, &cut)))
        goto out;
    if (mw.done && first.n <= block) {
        if (!ranked &&
            (rc = rank_first(s, &mw, &first, block, window, &cut)))
            goto out;
        /* All the matches fit one block: rank them together.  Check them
           all, for an exact total, when that is cheap enough. */
        int all = first.n <= EXACT_MAX;
        if ((rc = offer_all(s, &first, all)))
            goto out;
        if (all)
            out->total = (int)s->visible;
        else
            estimate_total(s, (double)first.n);
        goto out;
    }

    /* Too many to rank at once.  First the newest pages holding the query
       as typed, as a phrase; then the matches in blocks, newest first. */
    if (tier1) {
        if (sh__expr_build(&s->qy, EXPR_PHRASE, &s->pspec.rx, &s->pexpr)) {
            rc = sh__search_nomem(s);
            goto out;
        }
        /* A phrase: among about the newest PHRASE_SCAN matches (see
           phrase_window), at the density the main walk found. */
        int64_t floor = INT64_MIN;
        if (s->qy.ntok > 1 && window > 0) {
            floor = ids_floor(s, (double)window);
        } else if (s->qy.ntok > 1 && first.n > 0) {
            double covered, all;
            sh__walk_span(&mw, &covered, &all);
            floor = ids_floor(s, covered * PHRASE_SCAN / (double)first.n);
        }
        if ((rc = plan_df(s, &s->pspec, 0)) ||
            (rc = sh__walk_open(s, &pw, s->pexpr.data, &s->pspec, floor, 0)))
            goto out;
        int64_t pid;
        double pr;
        while (blk.n < PBLOCK && (r = sh__walk_next(&pw, &pid, &pr)) > 0)
            if (cands_add(&blk, pid, pr)) {
                rc = sh__search_nomem(s);
                goto out;
            }
        if (r < 0) {
            rc = sh__walk_fail(s);
            goto out;
        }
        if (blk.n) {
            npids = blk.n;
            if (!(pids = malloc(npids * sizeof *pids))) {
                rc = sh__search_nomem(s);
                goto out;
            }
            for (size_t i = 0; i < npids; i++)
                pids[i] = blk.c[i].id;
            qsort(pids, npids, sizeof *pids, sh__id_cmp);
            if ((rc = offer_all(s, &blk, 0)))
                goto out;
        }
    }
    if (out->n < s->limit && !ranked) {
        if ((rc = rank_first(s, &mw, &first, block, window, &cut)))
            goto out;
        ranked = 1;
    }
    int64_t id = 0;
    double rank;
    size_t k = 0;
    while (out->n < s->limit && (!mw.done || k < first.n)) {
        blk.n = 0;
        while (blk.n < block) {
            int end = 0;        /* this row ends a window */
            if (k < first.n) {
                id = first.c[k].id;
                rank = first.c[k].rank;
                k++;
                end = cut && k == first.n;
            } else if ((r = sh__walk_next(&mw, &id, &rank)) != 1) {
                if (r < 0) {
                    rc = sh__walk_fail(s);
                    goto out;
                }
                if (r == 2 && blk.n == 0)
                    continue;   /* an empty window */
                break;
            }
            if (!(pids &&
                  bsearch(&id, pids, npids, sizeof *pids, sh__id_cmp)) &&
                cands_add(&blk, id, rank)) {
                rc = sh__search_nomem(s);
                goto out;
            }
            if (end)
                break;
        }
        if ((rc = offer_all(s, &blk, 0)))
            goto out;
    }
    /* The matches: counted if the walk got to the end, else estimated
       from the share of the ids it covered. */
    double covered, all;
    sh__walk_span(&mw, &covered, &all);
    estimate_total(s, !mw.done && covered > 0 && covered < all
                          ? (double)mw.seen * all / covered
                          : (double)mw.seen);
out:
    sh__walk_close(&mw);
    sh__walk_close(&pw);
    free(first.c);
    free(blk.c);
    free(pids);
    return rc;
}

/* The clock of the time limit; a variable so that a test can make time
   pass. */
double (*sh__search_clock)(void) = sh_now;
/* SQLite steps between two readings of the clock (a test reads it at
   every step). */
int sh__search_check_ops = 1000;

/* SQLite's progress handler: non-zero interrupts the statement. */
static int past_deadline(void *until)
{
    return sh__search_clock() > *(const double *)until;
}

int sh_search(sqlite3 *db, const sh_query *q, sh_hits *out, sh_err *err)
{
    memset(out, 0, sizeof *out);
    if (!db || !q)
        return sh_errf(err, SH_EUSAGE, "search: no catalog or no query");
    if (q->limit < 0 || q->limit > LIMIT_MAX || q->offset < 0)
        return sh_errf(err, SH_EUSAGE,
                       "search: limit %d / offset %d out of range "
                       "(limit 0..%d, 0 = 20; offset >= 0)",
                       q->limit, q->offset, LIMIT_MAX);
    if (q->agencies && !q->agencies[0])
        return SH_OK;           /* allowed no agency at all */
    size_t nag = 0;
    while (q->agencies && q->agencies[nag])
        nag++;
    if (nag > MAX_AGENCIES)
        return sh_errf(err, SH_EUSAGE,
                       "search: %zu agencies in the filter (at most %d)", nag,
                       MAX_AGENCIES);
    search s = {.db = db, .q = q, .err = err, .out = out,
                .limit = q->limit ? q->limit : 20};
    int rc = sh__query_parse(db, q->text, &s.qy, err);
    if (rc || s.qy.ngrp == 0)
        goto out;
    if (sh_buf_adds(&s.filt, "") || sh_buf_adds(&s.filt_d, "")) {
        rc = sh_errf(err, SH_ENOMEM, "search: out of memory");
        goto out;
    }
    /* One read transaction, so that every statement sees one snapshot;
       the shared plans' generation read before it (plans.c). */
    s.plans_gen = sh__plans_gen();
    int txn = sqlite3_get_autocommit(db);
    if (txn && (rc = sh_db_exec(db, "BEGIN", err)))
        goto out;
    double until = 0;
    if (q->time_limit_ms > 0) {
        until = sh__search_clock() + q->time_limit_ms / 1000.0;
        sqlite3_progress_handler(db, sh__search_check_ops, past_deadline,
                                 &until);
    }
    rc = run_search(&s);
    if (q->time_limit_ms > 0) {
        sqlite3_progress_handler(db, 0, NULL, NULL);
        if (rc && sh__search_clock() > until)
            rc = sh_errf(err, SH_ETIMEOUT,
                         "search: stopped after %d ms (its time limit): the "
                         "query with these filters matches too much to rank "
                         "in time; narrow the words or the filters",
                         q->time_limit_ms);
    }
    sh__check_close(&s);
    if (txn)
        sqlite3_exec(db, rc ? "ROLLBACK" : "COMMIT", NULL, NULL, NULL);
out:
    if (rc)
        sh_hits_release(out);
    sh__query_release(&s.qy);
    free(s.spec.pos);
    free(s.pspec.pos);
    free(s.spec.heap);
    if (!s.borrowed) {
        free(s.ids.bits);
        free(s.ranges);
    }
    sh__check_close(&s);
    sh_buf_release(&s.expr);
    sh_buf_release(&s.pexpr);
    sh_buf_release(&s.sql);
    sh_buf_release(&s.filt);
    sh_buf_release(&s.filt_d);
    return rc;
}

void sh_hits_release(sh_hits *h)
{
    if (!h)
        return;
    for (int i = 0; i < h->n; i++) {
        free(h->h[i].dossier);
        free(h->h[i].agency);
        free(h->h[i].pdf);
        free(h->h[i].snippet);
    }
    free(h->h);
    memset(h, 0, sizeof *h);
}
