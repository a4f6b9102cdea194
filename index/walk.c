/*
 * walk.c — the candidates of a search: the filters, the access bitmap,
 * the walks over the matches.
 *
 * Functions:
 *   sh__filter_sql          the filters as SQL (filter_bind binds them)
 *   sh__search_plan_filter  a selective filter's page ids → bitmap, ranges
 *   sh__walk_open/next/span/close/fail   a walk over the matches
 *   sh__search_id_range, sh__search_fail, sh__search_nomem,
 *   sh__search_prep         the search's ids, errors, statements
 *
 * Method.  A walk is one FTS5 statement over the matches of an expression
 * newest first (ORDER BY rowid DESC, served from the doclists without
 * sorting) that ranks as it goes (sohoa_rank, rank.c), re-bound to each
 * range of ids in turn and, for a phrase, cut into windows of ids.
 * Whether a page may be shown (pageno set, dossier 'done', the filters)
 * is asked of page and dossier one candidate at a time (check.c).  A
 * filter that keeps under BITMAP_FRACTION of the pages (estimated from
 * dossier.pages), or keeps none of a part of them (estimate_kept: a
 * "patchy" one), would leave long runs of candidates unshowable, so its
 * page ids are then collected from dossier (or document) → page(dossier,
 * pageno) into a bitmap that sohoa_in() tests in the walks before
 * ranking, and the walks keep to the id ranges those pages occupy (runs
 * joined across gaps under GAP ids, at most MAX_RANGES).  See search.c
 * for how the walks are used.
 */
#include "index_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BITMAP_FRACTION 0.02    /* filters keeping less use a bitmap   */
#define BITMAP_MAX_IDS (64LL << 20)

#define P_FILTER 10             /* first parameter number of the filters */

int sh__has_doc_filter(const sh_query *q)
{
    return (q->doc_type && q->doc_type[0]) || (q->doc_code && q->doc_code[0])
           || (q->issued_from && q->issued_from[0]) ||
           (q->issued_to && q->issued_to[0]);
}

/* The filters as SQL (`form`, FILTER_*): on dossier d alone (an
   estimate over dossiers: a document filter keeps the dossiers that have
   such a document), on d and page p, or on d and a document x joined to
   them (x's conditions written plainly, no EXISTS: collecting a document
   filter's pages from its documents).  Every form numbers its parameters
   the same way (filter_bind). */
int sh__filter_sql(const sh_query *q, sh_buf *b, int form)
{
    int with_page = form == FILTER_PAGE;
    int p = P_FILTER;
    if (q->agencies) {
        if (sh_buf_adds(b, " AND d.agency IN ("))
            return SH_ENOMEM;
        for (int i = 0; q->agencies[i]; i++)
            if (sh_buf_printf(b, "%s?%d", i ? ", " : "", p++))
                return SH_ENOMEM;
        if (sh_buf_adds(b, ")"))
            return SH_ENOMEM;
    }
    if (q->agency && sh_buf_printf(b, " AND d.agency = ?%d", p++))
        return SH_ENOMEM;
    if (q->dossier_prefix && q->dossier_prefix[0]) {
        if (sh_buf_printf(b, " AND substr(d.id, 1, length(?%d)) = ?%d", p,
                          p))
            return SH_ENOMEM;
        p++;
    }
    if (q->year && sh_buf_printf(b, " AND sohoa_year(d.id) = ?%d", p++))
        return SH_ENOMEM;
    if (!sh__has_doc_filter(q))
        return SH_OK;
    /* x: the dossier's documents (covering the page, with p) or the one
       joined (already tied to d and p by the statement) */
    const char *x = form == FILTER_DOC_JOINED
                        ? " AND (1"
                        : " AND EXISTS (SELECT 1 FROM document x WHERE "
                          "x.dossier = d.id";
    if (sh_buf_adds(b, x) ||
        (with_page && sh_buf_adds(b, " AND p.pageno BETWEEN x.first_page "
                                     "AND x.last_page")))
        return SH_ENOMEM;
    if (q->doc_type && q->doc_type[0] &&
        sh_buf_printf(b, " AND sohoa_fold(x.type_name) = sohoa_fold(?%d)",
                      p++))
        return SH_ENOMEM;
    if (q->doc_code && q->doc_code[0] &&
        sh_buf_printf(b, " AND instr(sohoa_fold(coalesce(x.code_number, '')"
                         " || '/' || coalesce(x.code_notation, '')),"
                         " sohoa_fold(?%d)) > 0", p++))
        return SH_ENOMEM;
    if (q->issued_from && q->issued_from[0] &&
        sh_buf_printf(b, " AND x.issued_date >= ?%d", p++))
        return SH_ENOMEM;
    /* "2024" or "2024-06" as an upper bound takes the whole year/month. */
    if (q->issued_to && q->issued_to[0] &&
        sh_buf_printf(b, " AND substr(x.issued_date, 1, length(?%d)) <= ?%d",
                      p, p))
        return SH_ENOMEM;
    if (q->issued_to && q->issued_to[0])
        p++;
    return sh_buf_adds(b, ")") ? SH_ENOMEM : SH_OK;
}

int sh__has_filter(const sh_query *q)
{
    return q->agencies || q->agency ||
           (q->dossier_prefix && q->dossier_prefix[0]) || q->year ||
           sh__has_doc_filter(q);
}

void sh__filter_bind(const sh_query *q, sqlite3_stmt *st)
{
    int p = P_FILTER;
    if (q->agencies)
        for (int i = 0; q->agencies[i]; i++)
            sqlite3_bind_text(st, p++, q->agencies[i], -1, SQLITE_STATIC);
    if (q->agency)
        sqlite3_bind_text(st, p++, q->agency, -1, SQLITE_STATIC);
    if (q->dossier_prefix && q->dossier_prefix[0])
        sqlite3_bind_text(st, p++, q->dossier_prefix, -1, SQLITE_STATIC);
    if (q->year)
        sqlite3_bind_int(st, p++, q->year);
    const char *doc[] = {q->doc_type, q->doc_code, q->issued_from,
                         q->issued_to};
    for (size_t i = 0; i < sizeof doc / sizeof doc[0]; i++)
        if (doc[i] && doc[i][0])
            sqlite3_bind_text(st, p++, doc[i], -1, SQLITE_STATIC);
}

int sh__search_fail(search *s, const char *what)
{
    int full = sqlite3_errcode(s->db) == SQLITE_FULL;
    return sh_errf(s->err, full ? SH_ENOSPC : SH_EINDEX,
                   "search: %s: %s", what, sqlite3_errmsg(s->db));
}

int sh__search_nomem(search *s)
{
    return sh_errf(s->err, SH_ENOMEM, "search: out of memory");
}

int sh__search_prep(search *s, const char *sql, sqlite3_stmt **st,
                    const char *what)
{
    if (sqlite3_prepare_v2(s->db, sql, -1, st, NULL) != SQLITE_OK)
        return sh__search_fail(s, what);
    return SH_OK;
}

/* min(id), max(id) of page (two lookups; one min/max query would scan). */
int sh__search_id_range(search *s)
{
    sqlite3_stmt *st = NULL;
    int rc = sh__search_prep(s,
                             "SELECT (SELECT min(id) FROM page), "
                             "(SELECT max(id) FROM page)",
                             &st, "reading page ids");
    if (rc)
        return rc;
    if (sqlite3_step(st) == SQLITE_ROW) {
        s->minid = sqlite3_column_int64(st, 0);
        s->maxid = sqlite3_column_int64(st, 1);
        s->spec.minid = s->pspec.minid = s->minid;
        s->spec.maxid = s->pspec.maxid = s->maxid;
    } else {
        rc = sh__search_fail(s, "reading page ids");
    }
    sqlite3_finalize(st);
    return rc;
}

static int idset_init(idset *set, int64_t lo, int64_t hi)
{
    set->lo = lo;
    set->hi = hi;
    set->bits = calloc((size_t)(hi - lo + 64) / 64, sizeof(uint64_t));
    return set->bits ? SH_OK : SH_ENOMEM;
}

/* Put id in set: 1 if it was not there (a page in two documents of a
   filter comes twice), else 0. */
static int idset_put(idset *set, int64_t id)
{
    if (id < set->lo || id > set->hi)
        return 0;
    uint64_t k = (uint64_t)(id - set->lo), bit = 1ULL << (k & 63);
    int fresh = !(set->bits[k >> 6] & bit);
    set->bits[k >> 6] |= bit;
    return fresh;
}

/* The filter's pages as ranges of ids to walk: runs of allowed ids,
   joined across gaps shorter than GAP ids (walking a gap costs less than
   starting a walk over a new range), GAP doubled until at most
   MAX_RANGES remain.  Newest range first. */
#define GAP 2048
#define MAX_RANGES 32

static int add_range(search *s, int64_t lo, int64_t hi)
{
    if (s->nranges == s->cranges) {
        size_t cap = s->cranges ? 2 * s->cranges : 64;
        idrange *r = realloc(s->ranges, cap * sizeof *r);
        if (!r)
            return SH_ENOMEM;
        s->ranges = r;
        s->cranges = cap;
    }
    s->ranges[s->nranges++] = (idrange){lo, hi};
    return SH_OK;
}

static int make_ranges(search *s)
{
    int64_t gap = GAP;
    for (;;) {
        s->nranges = 0;
        int64_t lo = -1, hi = -1;
        for (int64_t id = s->ids.hi; id >= s->ids.lo; id--) {
            uint64_t k = (uint64_t)(id - s->ids.lo);
            uint64_t word = s->ids.bits[k >> 6];
            if (!word) {        /* skip empty words fast */
                id -= (int64_t)(k & 63);
                continue;
            }
            if (!((word >> (k & 63)) & 1))
                continue;
            if (hi >= 0 && lo - id <= gap) {
                lo = id;
                continue;
            }
            if (hi >= 0 && add_range(s, lo, hi))
                return SH_ENOMEM;
            lo = hi = id;
        }
        if (hi >= 0 && add_range(s, lo, hi))
            return SH_ENOMEM;
        if (s->nranges <= MAX_RANGES)
            return SH_OK;
        gap *= 2;
    }
}

/* ---- the memo of a connection's filters (index.h: sh_search_memo) ----
   What a filter plans to (selective or not; if so its bitmap and ranges)
   depends only on the catalog and the filter, so a memo keeps the last
   SH_PLAN_SLOTS plans of one connection (a table of plans.c), keyed by
   the filter's SQL and values, and forgets them all when the catalog
   changed (the pager's data version, or a change made through this
   connection). */
#define MEMO_WORDS 512
/* Bytes of bitmaps and ranges a memo keeps at most; a variable so that
   the tests can make it evict. */
size_t sh__memo_bytes = 48u << 20;

struct sh_search_memo {
    sqlite3 *db;
    unsigned int version;
    int64_t changes;
    sh__plan_table plans;
    /* words' page counts (search.c token_df), by folded word */
    struct {
        char *word;
        double df;
    } df[MEMO_WORDS];
    unsigned int df_next;       /* the entry a new word takes (in turn) */
    /* the catalog's hidden pages (check.c), sorted; have: 1 kept, 0 not
       asked yet, -1 not to be had (a catalog without the indexes, or too
       many) */
    int64_t *hidden;
    size_t nhidden;
    int have_hidden;
};

/* Forget the words' counts and the hidden pages (not the plans). */
static void memo_forget(sh_search_memo *m)
{
    for (int i = 0; i < MEMO_WORDS; i++) {
        free(m->df[i].word);
        m->df[i].word = NULL;
    }
    m->df_next = 0;
    free(m->hidden);
    m->hidden = NULL;
    m->nhidden = 0;
    m->have_hidden = 0;
}

int sh_search_memo_open(sh_search_memo **out)
{
    *out = calloc(1, sizeof **out);
    return *out ? SH_OK : SH_ENOMEM;
}

void sh_search_memo_close(sh_search_memo **m)
{
    if (!m || !*m)
        return;
    sh__plan_table_clear(&(*m)->plans);
    memo_forget(*m);
    free(*m);
    *m = NULL;
}

/* The memo's key of the filter of s: its SQL and bound values (NULs
   inside), *len bytes; NULL when out of memory. */
static char *memo_key(const search *s, size_t *len)
{
    const sh_query *q = s->q;
    sh_buf b = {0};
    int bad = sh_buf_add(&b, s->filt_d.data, s->filt_d.len + 1);
    for (int i = 0; !bad && q->agencies && q->agencies[i]; i++)
        bad = sh_buf_add(&b, q->agencies[i], strlen(q->agencies[i]) + 1);
    const char *v[] = {q->agency, q->dossier_prefix, q->doc_type,
                       q->doc_code, q->issued_from, q->issued_to};
    for (size_t i = 0; !bad && i < sizeof v / sizeof v[0]; i++)
        bad = sh_buf_printf(&b, "%s%c", v[i] ? v[i] : "", 0x1f);
    if (!bad)
        bad = sh_buf_printf(&b, "%d", q->year);
    if (bad) {
        sh_buf_release(&b);
        return NULL;
    }
    *len = b.len;
    return b.data;
}

/* The memo of s, emptied if the catalog changed since it was filled. */
static sh_search_memo *memo_of(search *s)
{
    sh_search_memo *m = s->q->memo;
    if (!m)
        return NULL;
    unsigned int v = 0;
    sqlite3_file_control(s->db, "main", SQLITE_FCNTL_DATA_VERSION, &v);
    int64_t ch = sqlite3_total_changes64(s->db);
    if (m->db != s->db || m->version != v || m->changes != ch) {
        sh__plan_table_clear(&m->plans);
        memo_forget(m);
        /* nor are the process's plans (plans.c) */
        uint64_t g = sh__plans_bump(s->plans_gen);
        s->plans_gen = g ? g : s->plans_gen;
        m->db = s->db;
        m->version = v;
        m->changes = ch;
    }
    return m;
}

int sh__memo_df_get(search *s, const char *word, double *df)
{
    sh_search_memo *m = memo_of(s);
    for (int i = 0; m && i < MEMO_WORDS && m->df[i].word; i++)
        if (!strcmp(m->df[i].word, word)) {
            *df = m->df[i].df;
            return 1;
        }
    return 0;
}

void sh__memo_df_put(search *s, const char *word, double df)
{
    sh_search_memo *m = s->q->memo;     /* memo_of(s) ran in _get */
    char *w = m ? strdup(word) : NULL;
    if (!w)
        return;                          /* not kept: counted again */
    unsigned int i = m->df_next++ % MEMO_WORDS;
    free(m->df[i].word);
    m->df[i].word = w;
    m->df[i].df = df;
}

/* The hidden pages kept in the memo of s: 1 (*ids, *n: the memo's), -1
   (not to be had), 0 (not asked yet, or no memo). */
int sh__memo_hidden_get(search *s, const int64_t **ids, size_t *n)
{
    sh_search_memo *m = memo_of(s);
    if (!m)
        return 0;
    *ids = m->hidden;
    *n = m->nhidden;
    return m->have_hidden;
}

/* Keep them (the memo takes ids; have as above): 1 if kept, 0 if there is
   no memo (ids are still the caller's). */
int sh__memo_hidden_put(search *s, int64_t *ids, size_t n, int have)
{
    sh_search_memo *m = s->q->memo;     /* memo_of(s) ran in _get */
    if (!m)
        return 0;
    free(m->hidden);
    m->hidden = ids;
    m->nhidden = n;
    m->have_hidden = have;
    return 1;
}

/* s takes plan p: its bitmap and ranges, when it has them. */
static void plan_adopt(search *s, const sh__plan *p)
{
    s->filter_all = p->all;
    if (!p->use_ids)
        return;
    free(s->ranges);
    s->ranges = p->ranges;
    s->nranges = s->cranges = p->nranges;
    s->ids = p->ids;
    s->nallowed = p->nallowed;
    s->use_ids = 1;
}

/* The plan s made (its bitmap and ranges are still s's). */
static sh__plan plan_of(const search *s)
{
    return s->use_ids ? (sh__plan){.use_ids = 1, .ids = s->ids,
                                   .nallowed = s->nallowed,
                                   .ranges = s->ranges,
                                   .nranges = s->nranges}
                      : (sh__plan){.all = s->filter_all};
}

/* Keep the plan of s in the memo (taking key), within sh__memo_bytes of
   bitmaps (an officer's usual filters are many: each agency, type, year
   and prefix with each set of agencies; most are not selective and hold
   no bitmap).  s->ids and s->ranges become the memo's. */
static void memo_keep(search *s, sh_search_memo *m, char *key, size_t klen)
{
    sh__plan_keep(&m->plans, key, klen, s->minid, s->maxid, plan_of(s),
                  sh__memo_bytes);
    s->borrowed = s->use_ids;
}

static int plan_filter(search *s);

/* A filter that keeps few pages (an estimate from the dossiers: under
   BITMAP_FRACTION of the id span) has its page ids collected into s->ids
   and the walks go over their ranges only.  With a memo (sh_query.memo),
   a filter planned before on the same catalog is not planned again. */
int sh__search_plan_filter(search *s)
{
    int64_t span = s->maxid - s->minid + 1;
    s->nranges = 0;
    if (span > 0 && add_range(s, s->minid, s->maxid))
        return sh__search_nomem(s);
    if (!sh__has_filter(s->q) || span <= 0 || span > BITMAP_MAX_IDS)
        return SH_OK;
    sh_search_memo *m = memo_of(s);
    size_t klen = 0;
    char *key = m ? memo_key(s, &klen) : NULL;
    if (m && !key)
        return sh__search_nomem(s);
    if (key) {
        sh__plan_slot *x =
            sh__plan_find(&m->plans, key, klen, s->minid, s->maxid);
        sh__plan p;
        if (x) {                /* the memo's: borrowed */
            free(key);
            plan_adopt(s, &x->p);
            s->borrowed = x->p.use_ids;
            return SH_OK;
        }
        if (sh__plans_get(s->db, key, klen, s->minid, s->maxid, &p)) {
            plan_adopt(s, &p);  /* another connection's: a copy, ours */
            memo_keep(s, m, key, klen);
            return SH_OK;
        }
    }
    int rc = plan_filter(s);
    if (!rc && key) {
        sh__plan p = plan_of(s);
        sh__plans_put(s->db, s->plans_gen, key, klen, s->minid, s->maxid,
                      &p);
        memo_keep(s, m, key, klen);
    } else {
        free(key);
    }
    return rc;
}

/* How many of the span's pages the filter keeps, about: exactly (the
   pages of every dossier kept) in a catalog of up to 4 × ESTIMATE_SAMPLE
   dossiers; in a larger one, from ESTIMATE_SAMPLE dossiers at rowids
   drawn by a fixed pseudo-random sequence over the rowid range — the same
   ones for every search of a catalog, so the plan (which sets which
   matches are ranked together) is a fixed function of catalog and query,
   and not evenly spaced, which would alias with any period in how
   dossiers were loaded (every 20th dossier one agency's: evenly spaced
   rowids saw 4 of 20 agencies at 10M pages).  The estimate only chooses
   the plan: reading every dossier (and folding each of its documents'
   types) would cost a search at 5M pages 20–450 ms. */
#define ESTIMATE_SAMPLE 1024
/* Dossiers above which the estimate samples; a variable so that the
   tests can make it sample a small catalog. */
int64_t sh__search_sample_from = 4 * ESTIMATE_SAMPLE;

/* The sample's rowids as a JSON array into b: ESTIMATE_SAMPLE draws of
   a splitmix64 sequence from a fixed seed, each mapped into [lo, hi]
   (repeats are harmless: IN reads each once). */
static int sample_rowids(sh_buf *b, int64_t lo, int64_t hi)
{
    uint64_t x = 0x5348u, n = (uint64_t)(hi - lo) + 1;
    int bad = sh_buf_adds(b, "[");
    for (int i = 0; !bad && i < ESTIMATE_SAMPLE; i++) {
        uint64_t z = (x += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        z ^= z >> 31;
        bad = sh_buf_printf(b, "%s%lld", i ? "," : "",
                            (long long)(lo + (int64_t)(z % n)));
    }
    return bad || sh_buf_adds(b, "]");
}

/* Where the kept pages lie matters as much as how many: the walks go
   newest first, so a filter that keeps a tenth of the pages, all of them
   old (the dossiers of one decade loaded first, a document type only the
   older dossiers have), would have each of millions of newer candidates
   checked and refused before the first hit.  So the sample is also cut
   into SLICES parts of the dossier rowids (the order dossiers came in,
   as their pages did), and a filter that keeps none of a part's dossiers
   where its share elsewhere would have it keep at least SLICE_EXPECT of
   them is "patchy": planned as a selective one, whatever its share.  (By
   chance alone, a filter keeping 1 dossier in 20 everywhere misses all
   of a part's ~256 sampled dossiers once in 360,000; with 8 parts and no
   floor, 2 of the 20 agencies of a 5M-page bench catalog were taken for
   patchy.) */
#define SLICES 4
#define SLICE_EXPECT 8.0

static int estimate_kept(search *s, int64_t span, double *kept, int *patchy)
{
    sqlite3_stmt *st = NULL;
    sh_buf *b = &s->sql;
    sh_buf ids = {0};
    int64_t lo = 0, hi = 0;
    *kept = (double)span;
    *patchy = 0;
    int rc = sh__search_prep(s, "SELECT (SELECT min(rowid) FROM dossier), "
                                "(SELECT max(rowid) FROM dossier)",
                             &st, "estimating the filter");
    if (rc)
        return rc;
    if (sqlite3_step(st) == SQLITE_ROW) {
        lo = sqlite3_column_int64(st, 0);
        hi = sqlite3_column_int64(st, 1);
    }
    sqlite3_finalize(st);
    st = NULL;
    int sample = hi - lo + 1 > sh__search_sample_from;
    b->len = 0;
    if ((sample && sample_rowids(&ids, lo, hi)) ||
        sh_buf_printf(b,
                      "SELECT d.rowid, d.pages, CASE WHEN 1%s THEN 1 END "
                      "FROM dossier d WHERE d.state = 'done'%s",
                      s->filt_d.data,
                      sample ? " AND d.rowid IN "
                               "(SELECT value FROM json_each(?1))"
                             : "")) {
        sh_buf_release(&ids);
        return sh__search_nomem(s);
    }
    if ((rc = sh__search_prep(s, b->data, &st, "estimating the filter"))) {
        sh_buf_release(&ids);
        return rc;
    }
    if (sample)
        sqlite3_bind_text(st, 1, ids.data, (int)ids.len, SQLITE_STATIC);
    sh__filter_bind(s->q, st);
    double all = 0, in = 0;
    int64_t seen[SLICES] = {0}, kept_in[SLICES] = {0};
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        double pages = sqlite3_column_double(st, 1);
        int k = (int)((double)(sqlite3_column_int64(st, 0) - lo) * SLICES /
                      ((double)(hi - lo) + 1));
        k = k < 0 ? 0 : k >= SLICES ? SLICES - 1 : k;
        all += pages;
        seen[k]++;
        if (sqlite3_column_type(st, 2) != SQLITE_NULL) {
            in += pages;
            kept_in[k]++;
        }
    }
    if (step != SQLITE_DONE)
        rc = sh__search_fail(s, "estimating the filter");
    else if (!sample)
        *kept = in;
    else if (all > 0)
        *kept = in / all * (double)span;
    int64_t nseen = 0, nkept = 0;
    for (int k = 0; k < SLICES; k++) {
        nseen += seen[k];
        nkept += kept_in[k];
    }
    for (int k = 0; !rc && nkept > 0 && k < SLICES; k++)
        if (!kept_in[k] &&
            (double)seen[k] * (double)nkept / (double)nseen >= SLICE_EXPECT)
            *patchy = 1;
    sqlite3_finalize(st);
    sh_buf_release(&ids);
    return rc;
}

/* Called with each filter's plan (1: its pages collected, 0: checked one
   candidate at a time); tests set it. */
void (*sh__search_plan_hook)(int use_ids);

/* The statement collecting the filter's pages.  A document filter's come
   from its documents (a scan of document, then each one's pages from
   page(dossier, pageno)); the others' from the dossiers kept.  Both go in
   dossier order, so that page(dossier, pageno) is read in its own order
   (a 10M-page catalog not in the cache: 7 s in the order documents were
   added, ~1 s in this one). */
static int collect_sql(search *s, sh_buf *b)
{
    b->len = 0;
    if (sh__has_doc_filter(s->q)) {
        sh_buf x = {0};
        int bad = sh__filter_sql(s->q, &x, FILTER_DOC_JOINED) ||
                  sh_buf_printf(b,
                      "SELECT p.id FROM document x "
                      "JOIN dossier d ON d.id = x.dossier "
                      "JOIN page p ON p.dossier = x.dossier "
                      "AND p.pageno BETWEEN x.first_page AND x.last_page "
                      "WHERE d.state = 'done'%s ORDER BY x.dossier",
                      x.data);
        sh_buf_release(&x);
        return bad ? SH_ENOMEM : SH_OK;
    }
    return sh_buf_printf(b,
                         "SELECT p.id FROM dossier d JOIN page p "
                         "ON p.dossier = d.id WHERE d.state = 'done' "
                         "AND p.pageno IS NOT NULL%s ORDER BY d.id",
                         s->filt.data)
               ? SH_ENOMEM
               : SH_OK;
}

/* Whether the filter is a list of agencies alone that holds the agency of
   every dossier (an officer cleared for all of a catalog's agencies): it
   then keeps every page that may be shown, and the search counts and
   prunes as with no filter (check.c, rank.c).  A walk of dossier_agency's
   distinct agencies, one seek each, that stops at the first not in the
   list or at a dossier with none. */
static int keeps_all(search *s)
{
    const sh_query *q = s->q;
    sh_query rest = *q;         /* the filter but its list of agencies */
    rest.agencies = NULL;
    if (!q->agencies || sh__has_filter(&rest))
        return SH_OK;
    sqlite3_stmt *st = NULL;
    int rc = sh__search_prep(s,
                             "SELECT (SELECT 1 FROM dossier WHERE agency IS "
                             "NULL), (SELECT agency FROM dossier WHERE "
                             "agency > ?1 ORDER BY agency LIMIT 1)",
                             &st, "planning the filter");
    if (rc)
        return rc;
    sqlite3_bind_int(st, 1, 0);         /* below every text */
    int all = 0;
    for (;;) {
        sqlite3_reset(st);
        if (sqlite3_step(st) != SQLITE_ROW) {
            rc = sh__search_fail(s, "planning the filter");
            break;
        }
        if (sqlite3_column_type(st, 0) != SQLITE_NULL)
            break;                      /* a dossier of no agency */
        const char *a = (const char *)sqlite3_column_text(st, 1);
        if (!a) {
            all = 1;                    /* every agency seen is listed */
            break;
        }
        int listed = 0;
        for (int i = 0; !listed && q->agencies[i]; i++)
            listed = !strcmp(q->agencies[i], a);
        if (!listed)
            break;
        char *next = sh_strdup(a);
        if (!next) {
            rc = sh__search_nomem(s);
            break;
        }
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, next, -1, free);
    }
    sqlite3_finalize(st);
    s->filter_all = all;
    return rc;
}

static int plan_filter(search *s)
{
    sqlite3_stmt *st = NULL;
    int rc, patchy;
    if ((rc = keeps_all(s)) || s->filter_all)
        return rc;
    int64_t span = s->maxid - s->minid + 1;
    double kept;
    if ((rc = estimate_kept(s, span, &kept, &patchy)))
        return rc;
    int collect = kept < (double)span * BITMAP_FRACTION || patchy;
    if (sh__search_plan_hook)
        sh__search_plan_hook(collect);
    if (!collect)
        return SH_OK;           /* not selective: the check will do */
    if (idset_init(&s->ids, s->minid, s->maxid))
        return sh__search_nomem(s);
    if (collect_sql(s, &s->sql))
        return sh__search_nomem(s);
    if ((rc = sh__search_prep(s, s->sql.data, &st,
                              "collecting filtered pages")))
        return rc;
    sh__filter_bind(s->q, st);
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW)
        s->nallowed += idset_put(&s->ids, sqlite3_column_int64(st, 0));
    rc = step == SQLITE_DONE ? SH_OK
                             : sh__search_fail(s, "collecting filtered pages");
    sqlite3_finalize(st);
    if (rc)
        return rc;
    s->use_ids = 1;
    return make_ranges(s) ? sh__search_nomem(s) : SH_OK;
}

/* Bind the ids of range r of s from hi down (cut at the walk's floor and
   window) to the walk's statement: 0, or 1 if nothing of it is left. */
static int walk_bind(walk *w, size_t r, int64_t hi)
{
    const idrange *g = &w->s->ranges[r];
    int64_t lo = g->lo > w->floor ? g->lo : w->floor;
    if (hi < lo)
        return 1;
    if (w->window > 0 && hi - lo + 1 > w->window)
        lo = hi - w->window + 1;
    w->lo = lo;
    w->hi = hi;
    sqlite3_bind_int64(w->st, 4, lo);
    sqlite3_bind_int64(w->st, 5, hi);
    return 0;
}

/* Open a walk of expr over the ranges of s, ids from floor up, in windows
   of `window` ids (0: none), ranked with spec (NULL: not ranked, every
   rank 0). */
int sh__walk_open(search *s, walk *w, const char *expr, rank_spec *spec,
                     int64_t floor, int64_t window)
{
    *w = (walk){.s = s, .floor = floor, .window = window};
    sh_buf *b = &s->sql;
    b->len = 0;
    if (sh_buf_printf(b,
                      "SELECT rowid, %s FROM page_fts "
                      "WHERE page_fts MATCH ?1 AND rowid BETWEEN ?4 AND ?5"
                      "%s ORDER BY rowid DESC",
                      spec ? "sohoa_rank(page_fts, ?2)" : "0",
                      s->use_ids ? " AND sohoa_in(?3, rowid)" : ""))
        return sh__search_nomem(s);
    int rc = sh__search_prep(s, b->data, &w->st, "preparing the search");
    if (rc)
        return rc;
    sqlite3_bind_text(w->st, 1, expr, -1, SQLITE_STATIC);
    if (spec) {
        sqlite3_bind_pointer(w->st, 2, spec, sh__rank_ptr_type, NULL);
        spec->nheap = 0;        /* its pruning starts again (rank.c) */
    }
    if (s->use_ids)
        sqlite3_bind_pointer(w->st, 3, &s->ids, sh__idset_ptr_type, NULL);
    w->done = s->nranges == 0 ||
              walk_bind(w, 0, s->ranges[0].hi);
    return SH_OK;
}

/* The next row of a walk: 1 row, 0 end, 2 end of a window (more to
   come), -1 error (reported in s->err). */
int sh__walk_next(walk *w, int64_t *id, double *rank)
{
    search *s = w->s;
    while (!w->done) {
        int step = sqlite3_step(w->st);
        if (step == SQLITE_ROW) {
            *id = w->last = sqlite3_column_int64(w->st, 0);
            *rank = sqlite3_column_double(w->st, 1);
            w->seen++;
            return 1;
        }
        if (step != SQLITE_DONE) {
            sh__search_fail(s, "searching");
            return -1;
        }
        sqlite3_reset(w->st);
        if (w->lo > s->ranges[w->range].lo &&
            !walk_bind(w, w->range, w->lo - 1))
            return 2;           /* the next window of this range */
        while (++w->range < s->nranges &&
               walk_bind(w, w->range, s->ranges[w->range].hi))
            ;
        if (w->range >= s->nranges) {
            w->done = 1;
            break;
        }
        if (w->window > 0)
            return 2;
    }
    return 0;
}

/* How many ids the walk has covered, and how many it covers in all. */
void sh__walk_span(const walk *w, double *covered, double *all)
{
    const search *s = w->s;
    *covered = *all = 0;
    for (size_t r = 0; r < s->nranges; r++) {
        double len = (double)(s->ranges[r].hi - s->ranges[r].lo + 1);
        *all += len;
        if (r < w->range || w->done) {
            *covered += len;
        } else if (r == w->range) {
            /* the windows above this one, and this one down to the last
               row returned */
            *covered += (double)(s->ranges[r].hi - w->hi);
            if (w->seen && w->last >= w->lo && w->last <= w->hi)
                *covered += (double)(w->hi - w->last + 1);
        }
    }
}

void sh__walk_close(walk *w)
{
    sqlite3_finalize(w->st);
    w->st = NULL;
}

int sh__walk_fail(search *s)
{
    return s->err && s->err->rc ? s->err->rc : SH_EINDEX;
}
