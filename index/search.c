/*
 * search.c — index maintenance and the Vietnamese full-text search.
 *
 * Functions:
 *   sh_index_add, sh_index_remove   one page into / out of page_fts
 *   sh_indexer_*                    many pages, one prepared statement
 *   sh_index_format, sh_index_upgrade   which index format; 1 → 2
 *   sh_search, sh_hits_release      ranked, filtered, paginated search
 *   sh__search_register             SQL functions sh_search relies on:
 *                                   sohoa_rank (FTS5 auxiliary),
 *                                   sohoa_in, sohoa_year (scalar)
 *   (static) parse_query, build_expr, rank_fn, plan_filter, walk_*,
 *            offer, make_snippet, run_search
 *
 * Method.  The user's text is never FTS5 syntax.  It is cut to
 * SH_QUERY_MAX_BYTES, invalid UTF-8 and control characters become spaces,
 * balanced "double quotes" delimit explicit phrases (an unmatched quote is
 * ignored), the rest splits on white space.  Each word or quoted phrase is
 * run through the "sohoa" tokenizer itself, so punctuation goes exactly
 * where the index put it, and becomes a group: the phrase of its tokens
 * ("30/2020/NĐ-CP" is the phrase 30 2020 nđ cp).  At most
 * SH_QUERY_MAX_TOKENS tokens are kept, and only tokens that tokenize back
 * to themselves.  Every token goes into the FTS5 expression as a quoted
 * string ("" doubled), folded.  A one-token group typed with diacritics is
 * written ("fold" OR "exact"): the same pages (the index holds the folded
 * form at every accented position), but the ranking sees where the exact
 * form is.  A group of several tokens is their folded phrase "f1 f2", and
 * for each accented token AND ("fi" OR "ei"), so that the ranking sees
 * where the exact forms are (a token typed without marks stands for
 * itself folded, which matches every form).  Groups are ANDed: a page
 * matches when it holds every group, diacritics or not.
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
 * Cost bound.  FTS5 can only rank by visiting every match, and a common
 * word is on most of a million pages, so ranking never looks at more than
 * a block of BLOCK matches at once.  A walk is one FTS5 statement over the
 * matches newest first (ORDER BY rowid DESC, served from the doclists
 * without sorting) that ranks as it goes.  Whether a page may be shown
 * (pageno set, dossier 'done', the filters) is asked of page and dossier
 * one candidate at a time, in result order, only as far as the hits
 * wanted; the same row gives the hit's fields and the text its snippet is
 * cut from.  When the matches fit in one block they are ranked together;
 * up to EXACT_MAX of them are all checked and `total` is exact.  When they
 * do not fit, a second walk collects the newest PBLOCK pages holding the
 * query as typed as a phrase and ranks them first.  Then come the matches
 * in blocks of BLOCK newest first, each ranked within itself.
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
 *
 * Snippets are cut here from the page text rather than by FTS5's
 * snippet(): that needs a MATCH cursor on the row, and FTS5 reaches one
 * row of a long doclist only by reading the doclists up to it (about a
 * millisecond a hit on 100,000 pages).
 */
#include "index_int.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistr.h>

#define BLOCK 1000              /* matches ranked together             */
#define EXACT_MAX 1000          /* up to this many matches, exact total */
#define PBLOCK 500              /* phrase pages ranked first           */
#define PHRASE_SCAN 20000       /* matches searched for them, about    */
#define WALK_BUDGET 20000       /* rows walked for a block, about      */
#define BLOCK_MIN 200           /* the least a block holds             */
#define IDF_CAP 500             /* rows read to estimate a frequency   */
#define TIER_SPAN 1e6           /* rank = (4 - tier) * span + bm25     */
#define BITMAP_FRACTION 0.02    /* filters keeping less use a bitmap   */
#define BITMAP_MAX_IDS (64LL << 20)
#define LIMIT_MAX 1000
#define MAX_AGENCIES 10000      /* one SQL parameter each              */

static const char rank_ptr_type[] = "sohoa_rank_spec";
static const char idset_ptr_type[] = "sohoa_idset";

/* ---- index maintenance ---- */

static int db_fail(sqlite3 *db, sh_err *err, const char *fmt, long long id)
{
    int full = sqlite3_errcode(db) == SQLITE_FULL;
    char what[256];
    snprintf(what, sizeof what, fmt, id);
    return sh_errf(err, full ? SH_ENOSPC : SH_EINDEX, "catalog: %s: %s",
                   what, sqlite3_errmsg(db));
}

static const char sql_add[] =
    "INSERT INTO page_fts(rowid, text) VALUES(?1, ?2)";

static int page_fts_run(sqlite3 *db, sqlite3_stmt *st, int64_t page_id,
                        const char *text, const char *what, sh_err *err)
{
    sqlite3_bind_int64(st, 1, page_id);
    sqlite3_bind_text(st, 2, text ? text : "", -1, SQLITE_STATIC);
    int rc = sqlite3_step(st) == SQLITE_DONE
                 ? SH_OK : db_fail(db, err, what, (long long)page_id);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc;
}

static int page_fts_write(sqlite3 *db, const char *sql, int64_t page_id,
                          const char *text, const char *what, sh_err *err)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return db_fail(db, err, what, (long long)page_id);
    int rc = page_fts_run(db, st, page_id, text, what, err);
    sqlite3_finalize(st);
    return rc;
}

int sh_index_add(sqlite3 *db, int64_t page_id, const char *text, sh_err *err)
{
    return page_fts_write(db, sql_add, page_id, text,
                          "indexing page id %lld", err);
}

int sh_index_remove(sqlite3 *db, int64_t page_id, const char *text,
                    sh_err *err)
{
    return page_fts_write(db,
                          "INSERT INTO page_fts(page_fts, rowid, text) "
                          "VALUES('delete', ?1, ?2)",
                          page_id, text, "unindexing page id %lld", err);
}

struct sh_indexer {
    sqlite3 *db;
    sqlite3_stmt *add;
};

int sh_indexer_open(sqlite3 *db, sh_indexer **out, sh_err *err)
{
    *out = NULL;
    sh_indexer *ix = calloc(1, sizeof *ix);
    if (!ix)
        return sh_errf(err, SH_ENOMEM, "catalog: out of memory");
    ix->db = db;
    if (sqlite3_prepare_v3(db, sql_add, -1, SQLITE_PREPARE_PERSISTENT,
                           &ix->add, NULL) != SQLITE_OK) {
        int full = sqlite3_errcode(db) == SQLITE_FULL;
        int rc = sh_errf(err, full ? SH_ENOSPC : SH_EINDEX,
                         "catalog: preparing to index pages: %s",
                         sqlite3_errmsg(db));
        free(ix);
        return rc;
    }
    *out = ix;
    return SH_OK;
}

int sh_indexer_add(sh_indexer *ix, int64_t page_id, const char *text,
                   sh_err *err)
{
    return page_fts_run(ix->db, ix->add, page_id, text,
                        "indexing page id %lld", err);
}

void sh_indexer_close(sh_indexer **ix)
{
    if (ix && *ix) {
        sqlite3_finalize((*ix)->add);
        free(*ix);
        *ix = NULL;
    }
}

int sh_index_format(sqlite3 *db)
{
    sqlite3_stmt *st = NULL;
    int format = 0;
    if (sqlite3_prepare_v2(db,
                           "SELECT sql FROM sqlite_schema WHERE type = "
                           "'table' AND name = 'page_fts'",
                           -1, &st, NULL) != SQLITE_OK)
        return -1;
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        const char *sql = (const char *)sqlite3_column_text(st, 0);
        format = sql && strstr(sql, "tokenize='sohoa 2'") ? 2
                 : sql && strstr(sql, "tokenize='sohoa'") ? 1
                                                           : -1;
    } else if (step != SQLITE_DONE) {
        format = -1;
    }
    sqlite3_finalize(st);
    return format;
}

int sh_index_upgrade(sqlite3 *db, sh_err *err)
{
    int format = sh_index_format(db);
    if (format < 0)
        return sh_errf(err, SH_EINDEX,
                       "catalog: the full-text index (page_fts) is in no "
                       "format this sohoa knows (%s)",
                       sqlite3_errmsg(db));
    if (format != 1)
        return SH_OK;
    int txn = sqlite3_get_autocommit(db);
    int rc = txn ? sh_db_exec(db, "BEGIN IMMEDIATE", err) : SH_OK;
    if (!rc)
        rc = sh_db_exec(db,
                        "DROP TABLE page_fts;\n" SH_INDEX_FTS_SQL
                        "INSERT INTO page_fts(rowid, text) SELECT id, "
                        "coalesce(text, '') FROM page WHERE pageno IS NOT "
                        "NULL;",
                        err);
    if (txn && !rc)
        rc = sh_db_exec(db, "COMMIT", err);
    if (txn && rc)
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

/* ---- query parsing ---- */

typedef struct qtok {
    char *exact;                /* normalised, lower case */
    char *fold;
    double df;                  /* pages holding fold, estimated; < 0:
                                   not yet */
} qtok;

typedef struct qgroup {
    int first, n;               /* tokens [first, first + n) */
    int same;                   /* every exact form equals its fold */
} qgroup;

typedef struct query {
    qtok tok[SH_QUERY_MAX_TOKENS];
    int ntok;
    qgroup grp[SH_QUERY_MAX_TOKENS];
    int ngrp;
    int diacritics;             /* some group has exact != fold */
    sh__qtok *tk;
    /* tokens of the segment being parsed */
    char *seg[SH_QUERY_MAX_TOKENS];
    int nseg;
    int nomem;
} query;

static void query_release(query *q)
{
    for (int i = 0; i < q->ntok; i++) {
        free(q->tok[i].exact);
        free(q->tok[i].fold);
    }
    for (int i = 0; i < q->nseg; i++)
        free(q->seg[i]);
    q->ntok = q->nseg = q->ngrp = 0;
    sh__qtok_close(&q->tk);
}

static int seg_token(void *ctx, const char *tok, int n, int start, int end)
{
    query *q = ctx;
    if (q->ntok + q->nseg >= SH_QUERY_MAX_TOKENS)
        return SQLITE_DONE;     /* enough: the rest is ignored */
    char *s = malloc((size_t)n + 1);
    if (!s) {
        q->nomem = 1;
        return SQLITE_NOMEM;
    }
    memcpy(s, tok, (size_t)n);
    s[n] = 0;
    q->seg[q->nseg++] = s;
    return SQLITE_OK;
}

typedef struct one_tok {
    const char *want;
    int count, equal;
} one_tok;

static int one_token(void *ctx, const char *tok, int n, int start, int end)
{
    one_tok *o = ctx;
    o->count++;
    o->equal = strlen(o->want) == (size_t)n && memcmp(o->want, tok, n) == 0;
    return SQLITE_OK;
}

/* Does s tokenize back to exactly itself?  (So that quoting it in the
   FTS5 expression means this token, never an empty or split phrase.) */
static int stable_token(query *q, const char *s)
{
    one_tok o = {s, 0, 0};
    if (!*s || sh__qtok_run(q->tk, s, (int)strlen(s), 0, one_token, &o))
        return 0;
    return o.count == 1 && o.equal;
}

/* Tokenize one word or quoted phrase and append it as a group. */
static int add_group(query *q, const char *s, size_t n)
{
    if (n == 0 || q->ntok >= SH_QUERY_MAX_TOKENS)
        return SH_OK;
    q->nseg = 0;
    int trc = sh__qtok_run(q->tk, s, (int)n, 0, seg_token, q);
    if (q->nomem || (trc != SQLITE_OK && trc != SQLITE_DONE))
        return q->nomem || trc == SQLITE_NOMEM ? SH_ENOMEM : SH_EINDEX;
    qgroup *g = &q->grp[q->ngrp];
    g->first = q->ntok;
    g->n = 0;
    g->same = 1;
    int rc = SH_OK;
    for (int i = 0; i < q->nseg; i++) {
        char *exact = q->seg[i], *fold = NULL;
        q->seg[i] = NULL;
        if (sh_text_fold(exact, &fold)) {
            free(exact);
            rc = SH_ENOMEM;
            continue;
        }
        if (!stable_token(q, exact) || !stable_token(q, fold)) {
            free(exact);
            free(fold);
            continue;
        }
        q->tok[q->ntok] = (qtok){.exact = exact, .fold = fold, .df = -1};
        q->ntok++;
        g->n++;
        if (strcmp(exact, fold) != 0)
            g->same = 0;
    }
    q->nseg = 0;
    if (g->n > 0) {
        q->ngrp++;
        if (!g->same)
            q->diacritics = 1;
    }
    return rc;
}

/* White space: ASCII controls and space, NBSP, U+2000–U+200B, U+202F,
   U+205F, U+3000.  Returns its length in bytes at s, or 0. */
static size_t space_at(const unsigned char *s, size_t n)
{
    if (s[0] <= 0x20)
        return 1;
    if (n >= 2 && s[0] == 0xC2 && s[1] == 0xA0)
        return 2;
    if (n >= 3 && s[0] == 0xE2 && s[1] == 0x80 &&
        (s[2] <= 0x8B || s[2] == 0xAF))
        return 3;
    if (n >= 3 && s[0] == 0xE2 && s[1] == 0x81 && s[2] == 0x9F)
        return 3;
    if (n >= 3 && s[0] == 0xE3 && s[1] == 0x80 && s[2] == 0x80)
        return 3;
    return 0;
}

static int split_words(query *q, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        size_t k;
        while (i < n && (k = space_at(p + i, n - i)) > 0)
            i += k;
        size_t start = i;
        while (i < n && space_at(p + i, n - i) == 0)
            i++;
        int rc = add_group(q, s + start, i - start);
        if (rc)
            return rc;
    }
    return SH_OK;
}

static int parse_query(sqlite3 *db, const char *text, query *q, sh_err *err)
{
    memset(q, 0, sizeof *q);
    int rc = sh__qtok_open(db, &q->tk, err);
    if (rc)
        return rc;
    if (!text)
        return SH_OK;
    /* Cut to the byte limit at a character boundary; invalid UTF-8 and
       control characters become spaces. */
    size_t n = strnlen(text, SH_QUERY_MAX_BYTES + 1);
    if (n > SH_QUERY_MAX_BYTES) {
        n = SH_QUERY_MAX_BYTES;
        while (n > 0 && ((unsigned char)text[n] & 0xC0) == 0x80)
            n--;
    }
    char *s = malloc(n + 1);
    if (!s)
        return sh_errf(err, SH_ENOMEM, "search: out of memory");
    size_t nquotes = 0;
    for (size_t i = 0; i < n;) {
        ucs4_t uc;
        int k = u8_mbtoucr(&uc, (const uint8_t *)text + i, n - i);
        if (k < 0) {
            s[i++] = ' ';
            continue;
        }
        memcpy(s + i, text + i, (size_t)k);
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            s[i] = ' ';         /* controls: space */
        nquotes += text[i] == '"';
        i += (size_t)k;
    }
    s[n] = 0;
    /* An odd quote out (the last) is read as a space. */
    if (nquotes % 2) {
        char *last = strrchr(s, '"');
        *last = ' ';
    }
    size_t i = 0;
    int quoted = 0;
    while (!rc && i <= n) {
        char *qt = memchr(s + i, '"', n - i);
        size_t end = qt ? (size_t)(qt - s) : n;
        if (quoted)
            rc = add_group(q, s + i, end - i);
        else
            rc = split_words(q, s + i, end - i);
        quoted = !quoted;
        i = end + 1;
    }
    free(s);
    if (rc)
        return sh_errf(err, rc, "search: %s while reading the query",
                       sh_strerror(rc));
    return SH_OK;
}

/* ---- the FTS5 expressions ---- */

/* What the ranking function needs to know of an expression: for each
   group, the phrase that gives its folded starts, and for each token typed
   with diacritics the phrase that gives where its exact form is. */
typedef struct rgroup {
    int first, n;               /* query tokens [first, first + n)      */
    int ph;                     /* folded: one token, or a phrase       */
} rgroup;

typedef struct rexpr {
    rgroup g[SH_QUERY_MAX_TOKENS];
    int ng;
    int etok[SH_QUERY_MAX_TOKENS];  /* per query token: its exact form's
                                       phrase, or -1 (as folded)       */
} rexpr;

enum {
    EXPR_MATCH,                 /* the matches                          */
    EXPR_PHRASE                 /* the query as typed, as a phrase      */
};

static int accented(const qtok *t)
{
    return strcmp(t->exact, t->fold) != 0;
}

static int put_quoted(sh_buf *b, const char *t)
{
    for (; *t; t++)
        if (sh_buf_add(b, t, 1) || (*t == '"' && sh_buf_add(b, t, 1)))
            return SH_ENOMEM;
    return SH_OK;
}

/* "tok" */
static int put_token(sh_buf *b, const char *t)
{
    if (sh_buf_add(b, "\"", 1) || put_quoted(b, t))
        return SH_ENOMEM;
    return sh_buf_add(b, "\"", 1);
}

/* The phrase of tokens [first, first + n), n >= 2, folded (exact = 0) or
   as typed (exact = 1: each token in its exact form, which the index holds
   only where the text has it; a token typed without marks is its folded
   form, which matches every form). */
static int put_phrase(sh_buf *b, const query *q, int first, int n, int exact)
{
    if (sh_buf_add(b, "\"", 1))
        return SH_ENOMEM;
    for (int i = first; i < first + n; i++) {
        const qtok *t = &q->tok[i];
        if ((i > first && sh_buf_add(b, " ", 1)) ||
            put_quoted(b, exact ? t->exact : t->fold))
            return SH_ENOMEM;
    }
    return sh_buf_add(b, "\"", 1);
}

/* ("f" OR "e") for token t accented: the pages of f (the index holds the
   folded form at every accented position), and the ranking sees where the
   exact form is.  Its phrases are *ph (f) and *ph + 1 (e). */
static int put_either(sh_buf *b, const qtok *t, rexpr *rx, int at, int *ph)
{
    rx->etok[at] = *ph + 1;
    *ph += 2;
    if (sh_buf_adds(b, "(") || put_token(b, t->fold) ||
        sh_buf_adds(b, " OR ") || put_token(b, t->exact) ||
        sh_buf_adds(b, ")"))
        return SH_ENOMEM;
    return SH_OK;
}

/* One group, from phrase number *ph on:
     one token:   "f", or ("f" OR "e") when accented;
     several:     their folded phrase "f1 f2 f3", and for each accented
                  token AND ("fi" OR "ei").
   The exact forms are single tokens, not an exact phrase: FTS5 finds a
   phrase by checking its positions on every page holding all its tokens,
   while a token is only sought at the pages the folded phrase found. */
static int put_group(sh_buf *b, const query *q, int first, int n, rexpr *rx,
                     int *ph)
{
    rgroup *g = &rx->g[rx->ng++];
    *g = (rgroup){.first = first, .n = n};
    if (n == 1) {
        const qtok *t = &q->tok[first];
        if (!accented(t)) {
            g->ph = (*ph)++;
            return put_token(b, t->fold);
        }
        g->ph = *ph;
        return put_either(b, t, rx, first, ph);
    }
    g->ph = (*ph)++;
    if (put_phrase(b, q, first, n, 0))
        return SH_ENOMEM;
    for (int i = first; i < first + n; i++)
        if (accented(&q->tok[i]) &&
            (sh_buf_adds(b, " AND ") || put_either(b, &q->tok[i], rx, i, ph)))
            return SH_ENOMEM;
    return SH_OK;
}

/* The expression of one kind (EXPR_*) into b, and its layout into rx.
   EXPR_MATCH: every group, ANDed.  EXPR_PHRASE: the pages holding the
   whole query as typed, as a phrase. */
static int build_expr(const query *q, int kind, rexpr *rx, sh_buf *b)
{
    int ph = 0;
    b->len = 0;
    memset(rx, 0, sizeof *rx);
    for (int i = 0; i < SH_QUERY_MAX_TOKENS; i++)
        rx->etok[i] = -1;
    if (kind == EXPR_MATCH) {
        for (int gi = 0; gi < q->ngrp; gi++)
            if ((gi && sh_buf_adds(b, " AND ")) ||
                put_group(b, q, q->grp[gi].first, q->grp[gi].n, rx, &ph))
                return SH_ENOMEM;
        return SH_OK;
    }
    rx->g[rx->ng++] = (rgroup){.n = q->ntok};
    if (q->ntok == 1)
        return put_token(b, q->tok[0].exact);
    return put_phrase(b, q, 0, q->ntok, 1);
}

/* ---- sohoa_rank(): tier and BM25 of the current row ---- */

typedef struct rank_spec {
    rexpr rx;                   /* the expression being walked */
    int64_t minid, maxid;       /* page ids, for frequency estimates */
    int ready;
    double avgdl;
    double df[SH_QUERY_MAX_TOKENS];     /* per group: pages holding it,
                                           estimated; < 0: ask FTS5     */
    double idf[SH_QUERY_MAX_TOKENS];    /* per group */
    int *pos;                   /* scratch: positions of every phrase */
    size_t pos_cap;
} rank_spec;

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

static void rank_fn(const Fts5ExtensionApi *api, Fts5Context *fc,
                    sqlite3_context *ctx, int nval, sqlite3_value **val)
{
    rank_spec *s =
        nval == 1 ? sqlite3_value_pointer(val[0], rank_ptr_type) : NULL;
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
    int dl = 0;
    if (api->xColumnSize(fc, 0, &dl) != SQLITE_OK || dl <= 0)
        dl = 1;
    const double k1 = 1.2, b = 0.75;
    double score = 0;
    int exact_groups = 1;
    for (int gi = 0; gi < rx->ng; gi++) {
        const rgroup *g = &rx->g[gi];
        double tf = rp.count[g->ph];
        score += s->idf[gi] * tf * (k1 + 1) /
                 (tf + k1 * (1 - b + b * dl / s->avgdl));
        if (exact_groups && !group_exact(rx, g, &rp))
            exact_groups = 0;
    }
    int tier;
    if (exact_groups && chained(rx, &rp, 1))
        tier = 1;
    else if (chained(rx, &rp, 0))
        tier = 2;
    else
        tier = exact_groups ? 3 : 4;
    sqlite3_result_double(ctx, (4 - tier) * TIER_SPAN + score);
}

/* ---- scalar helpers ---- */

typedef struct idrange {
    int64_t lo, hi;
} idrange;

/* A set of page ids: a bitmap over lo..hi. */
typedef struct idset {
    int64_t lo, hi;
    uint64_t *bits;
} idset;

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
    const idset *s = sqlite3_value_pointer(v[0], idset_ptr_type);
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

/* ---- filters (plain SQL on dossier d) ---- */

#define P_FILTER 10             /* first parameter number of the filters */

static int has_doc_filter(const sh_query *q)
{
    return (q->doc_type && q->doc_type[0]) || (q->doc_code && q->doc_code[0])
           || (q->issued_from && q->issued_from[0]) ||
           (q->issued_to && q->issued_to[0]);
}

/* The filters as SQL on dossier d and, when with_page, page p.  Without
   p (an estimate over dossiers), a document filter keeps the dossiers
   that have such a document.  Both forms number their parameters the
   same way (filter_bind). */
static int filter_sql(const sh_query *q, sh_buf *b, int with_page)
{
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
    if (!has_doc_filter(q))
        return SH_OK;
    if (sh_buf_adds(b, " AND EXISTS (SELECT 1 FROM document x WHERE "
                       "x.dossier = d.id") ||
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

static int has_filter(const sh_query *q)
{
    return q->agencies || q->agency ||
           (q->dossier_prefix && q->dossier_prefix[0]) || q->year ||
           has_doc_filter(q);
}

static void filter_bind(const sh_query *q, sqlite3_stmt *st)
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

/* ---- the search ---- */

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

static int id_cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

typedef struct search {
    sqlite3 *db;
    const sh_query *q;
    sh_err *err;
    query qy;
    rank_spec spec, pspec;      /* of the match and the tier-1 walks    */
    int64_t minid, maxid;       /* page ids                             */
    idset ids;                  /* the filter's pages (use_ids)         */
    int use_ids;
    int64_t nallowed;           /* ids in s->ids                        */
    idrange *ranges;            /* the ids to walk, newest first        */
    size_t nranges, cranges;
    sh_buf expr, pexpr;         /* the match and tier-1 expressions     */
    sh_buf sql, filt;           /* filters on d and p                  */
    sh_buf filt_d;              /* the same on d alone (estimates)      */
    sqlite3_stmt *check;        /* fields of page ?1 if it may be shown */
    sh_hits *out;
    int limit;
    int64_t checked, visible;   /* candidates checked, found visible */
} search;

static int sfail(search *s, const char *what)
{
    int full = sqlite3_errcode(s->db) == SQLITE_FULL;
    return sh_errf(s->err, full ? SH_ENOSPC : SH_EINDEX,
                   "search: %s: %s", what, sqlite3_errmsg(s->db));
}

static int nomem(search *s)
{
    return sh_errf(s->err, SH_ENOMEM, "search: out of memory");
}

static int prepare(search *s, const char *sql, sqlite3_stmt **st,
                   const char *what)
{
    if (sqlite3_prepare_v2(s->db, sql, -1, st, NULL) != SQLITE_OK)
        return sfail(s, what);
    return SH_OK;
}

/* min(id), max(id) of page (two lookups; one min/max query would scan). */
static int id_range(search *s)
{
    sqlite3_stmt *st = NULL;
    int rc = prepare(s,
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
        rc = sfail(s, "reading page ids");
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

static void idset_put(idset *set, int64_t id)
{
    if (id >= set->lo && id <= set->hi) {
        uint64_t k = (uint64_t)(id - set->lo);
        set->bits[k >> 6] |= 1ULL << (k & 63);
    }
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

/* A filter that keeps few pages (an estimate from the dossiers: under
   BITMAP_FRACTION of the id span) has its page ids collected into s->ids
   and the walks go over their ranges only. */
static int plan_filter(search *s)
{
    sqlite3_stmt *st = NULL;
    int rc;
    int64_t span = s->maxid - s->minid + 1;
    s->nranges = 0;
    if (span > 0 && (rc = add_range(s, s->minid, s->maxid)))
        return nomem(s);
    if (!has_filter(s->q) || span <= 0 || span > BITMAP_MAX_IDS)
        return SH_OK;
    sh_buf *b = &s->sql;
    b->len = 0;
    if (sh_buf_printf(b,
                      "SELECT total(pages) FROM dossier d "
                      "WHERE d.state = 'done'%s",
                      s->filt_d.data))
        return nomem(s);
    if ((rc = prepare(s, b->data, &st, "estimating the filter")))
        return rc;
    filter_bind(s->q, st);
    double kept = sqlite3_step(st) == SQLITE_ROW
                      ? sqlite3_column_double(st, 0) : (double)span;
    sqlite3_finalize(st);
    st = NULL;
    if (kept >= (double)span * BITMAP_FRACTION)
        return SH_OK;           /* not selective: the check will do */
    if (idset_init(&s->ids, s->minid, s->maxid))
        return nomem(s);
    b->len = 0;
    if (sh_buf_printf(b,
                      "SELECT p.id FROM dossier d JOIN page p "
                      "ON p.dossier = d.id WHERE d.state = 'done' "
                      "AND p.pageno IS NOT NULL%s",
                      s->filt.data))
        return nomem(s);
    if ((rc = prepare(s, b->data, &st, "collecting filtered pages")))
        return rc;
    filter_bind(s->q, st);
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        idset_put(&s->ids, sqlite3_column_int64(st, 0));
        s->nallowed++;
    }
    rc = step == SQLITE_DONE ? SH_OK : sfail(s, "collecting filtered pages");
    sqlite3_finalize(st);
    if (rc)
        return rc;
    s->use_ids = 1;
    return make_ranges(s) ? nomem(s) : SH_OK;
}

/* A walk: the matches of one expression, newest first, ranked, over the
   ranges of s in turn (one statement, re-bound per range), each range cut
   into windows of `window` ids when that is set. */
typedef struct walk {
    search *s;
    sqlite3_stmt *st;
    size_t range;               /* the range being walked */
    int64_t floor;              /* no id below this one */
    int64_t window;             /* ids per window; 0: whole ranges */
    int64_t lo, hi;             /* the ids being walked now */
    int64_t last;               /* the last id returned */
    size_t seen;                /* rows returned */
    int done;
} walk;

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
   of `window` ids (0: none). */
static int walk_open(search *s, walk *w, const char *expr, rank_spec *spec,
                     int64_t floor, int64_t window)
{
    *w = (walk){.s = s, .floor = floor, .window = window};
    sh_buf *b = &s->sql;
    b->len = 0;
    if (sh_buf_printf(b,
                      "SELECT rowid, sohoa_rank(page_fts, ?2) FROM page_fts "
                      "WHERE page_fts MATCH ?1 AND rowid BETWEEN ?4 AND ?5"
                      "%s ORDER BY rowid DESC",
                      s->use_ids ? " AND sohoa_in(?3, rowid)" : ""))
        return nomem(s);
    int rc = prepare(s, b->data, &w->st, "preparing the search");
    if (rc)
        return rc;
    sqlite3_bind_text(w->st, 1, expr, -1, SQLITE_STATIC);
    sqlite3_bind_pointer(w->st, 2, spec, rank_ptr_type, NULL);
    if (s->use_ids)
        sqlite3_bind_pointer(w->st, 3, &s->ids, idset_ptr_type, NULL);
    w->done = s->nranges == 0 ||
              walk_bind(w, 0, s->ranges[0].hi);
    return SH_OK;
}

/* The next row of a walk: 1 row, 0 end, 2 end of a window (more to
   come), -1 error (reported in s->err). */
static int walk_next(walk *w, int64_t *id, double *rank)
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
            sfail(s, "searching");
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
static void walk_span(const walk *w, double *covered, double *all)
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

static void walk_close(walk *w)
{
    sqlite3_finalize(w->st);
    w->st = NULL;
}

static int walk_fail(search *s)
{
    return s->err && s->err->rc ? s->err->rc : SH_EINDEX;
}

static int open_check(search *s)
{
    sh_buf *b = &s->sql;
    b->len = 0;
    if (sh_buf_printf(b,
                      "SELECT p.dossier, p.pageno, d.agency, d.pdf, p.text "
                      "FROM page p JOIN dossier d ON d.id = p.dossier "
                      "WHERE p.id = ?1 AND p.pageno IS NOT NULL "
                      "AND d.state = 'done'%s",
                      s->filt.data))
        return nomem(s);
    int rc = prepare(s, b->data, &s->check, "preparing the search");
    if (rc)
        return rc;
    filter_bind(s->q, s->check);
    return SH_OK;
}

/* ---- snippets ---- */

#define SNIPPET_TOKENS 16

typedef struct snip_tok {
    int start, end;
    int hit;                    /* 1 + index of the query token, or 0 */
} snip_tok;

typedef struct snip_ctx {
    const query *q;
    snip_tok *t;
    size_t n, cap;
} snip_ctx;

static int snip_each(void *ctx, const char *tok, int len, int start, int end)
{
    snip_ctx *c = ctx;
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 512;
        snip_tok *t = realloc(c->t, cap * sizeof *t);
        if (!t)
            return SQLITE_NOMEM;
        c->t = t;
        c->cap = cap;
    }
    char f[256];
    int fl = sh_vn_fold_token(tok, len, f, (int)sizeof f);
    int hit = 0;
    for (int i = 0; fl > 0 && i < c->q->ntok && !hit; i++)
        if (strlen(c->q->tok[i].fold) == (size_t)fl &&
            memcmp(c->q->tok[i].fold, f, (size_t)fl) == 0)
            hit = i + 1;
    c->t[c->n++] = (snip_tok){start, end, hit};
    return SQLITE_OK;
}

/* The snippet of a page: the window of SNIPPET_TOKENS words holding the
   most distinct query words (then the most hits, then the earliest),
   widened to show context before the first hit, every word of the query
   (folded) in [ ], "…" where the text goes on.  Words are unicode61's,
   as in the index.  Made here rather than by FTS5's snippet(): that needs
   a MATCH cursor on the row, and FTS5 reaches a row of a long doclist
   only by reading the doclists up to it (~1 ms a hit on 100,000 pages).
   Returns a malloc'd string, or NULL (out of memory). */
static char *make_snippet(search *s, const char *text)
{
    snip_ctx c = {.q = &s->qy};
    sh_buf b = {0};
    int n = (int)strlen(text);
    if (sh__qtok_run(s->qy.tk, text, n, 1, snip_each, &c) != SQLITE_OK)
        goto fail;
    size_t best = 0, w = SNIPPET_TOKENS;
    int best_distinct = -1, best_hits = -1;
    for (size_t i = 0; i == 0 || i + w <= c.n; i++) {
        uint64_t seen = 0;
        int hits = 0, distinct = 0;
        for (size_t k = i; k < i + w && k < c.n; k++)
            if (c.t[k].hit) {
                hits++;
                uint64_t bit = 1ULL << ((c.t[k].hit - 1) & 63);
                distinct += !(seen & bit);
                seen |= bit;
            }
        if (distinct > best_distinct ||
            (distinct == best_distinct && hits > best_hits)) {
            best = i;
            best_distinct = distinct;
            best_hits = hits;
        }
    }
    /* Room left after the last hit goes before the first one. */
    size_t first = best, last = best;
    for (size_t k = best; k < best + w && k < c.n; k++)
        if (c.t[k].hit) {
            if (!c.t[first].hit)
                first = k;
            last = k;
        }
    if (c.n > 0 && c.t[first].hit) {
        size_t room = w - (last - first + 1), lead = room / 2;
        best = first > lead ? first - lead : 0;
        if (best + w > c.n)
            best = c.n > w ? c.n - w : 0;
    }
    size_t end = best + w < c.n ? best + w : c.n;
    int from = best > 0 ? c.t[best].start : 0;
    if (best > 0 && sh_buf_adds(&b, "…"))
        goto fail;
    for (size_t k = best; k < end; k++) {
        int at = k == best ? from : c.t[k - 1].end;
        if (sh_buf_add(&b, text + at, (size_t)(c.t[k].start - at)))
            goto fail;
        const char *w0 = text + c.t[k].start;
        size_t wl = (size_t)(c.t[k].end - c.t[k].start);
        if (c.t[k].hit ? sh_buf_adds(&b, "[") || sh_buf_add(&b, w0, wl) ||
                             sh_buf_adds(&b, "]")
                       : sh_buf_add(&b, w0, wl))
            goto fail;
    }
    if (end == c.n) {           /* the rest of the text, punctuation */
        int at = c.n ? c.t[c.n - 1].end : 0;
        if (sh_buf_add(&b, text + at, (size_t)(n - at)))
            goto fail;
    } else if (sh_buf_adds(&b, "…")) {
        goto fail;
    }
    free(c.t);
    return b.data ? b.data : sh_strdup("");
fail:
    free(c.t);
    sh_buf_release(&b);
    return NULL;
}

/* Offer the next candidate in result order: check that its page may be
   shown and, if it falls in [offset, offset + limit), make it a hit. */
static int offer(search *s, const cand *c)
{
    sqlite3_stmt *st = s->check;
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, c->id);
    int step = sqlite3_step(st);
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        return sfail(s, "checking a page");
    s->checked++;
    if (step == SQLITE_DONE)
        return SH_OK;
    s->visible++;
    sh_hits *out = s->out;
    if (s->visible <= s->q->offset || out->n >= s->limit)
        return SH_OK;
    sh_hit *h = &out->h[out->n];
    out->n++;
    const char *dossier = (const char *)sqlite3_column_text(st, 0);
    const char *agency = (const char *)sqlite3_column_text(st, 2);
    const char *pdf = (const char *)sqlite3_column_text(st, 3);
    h->page_id = c->id;
    h->page = sqlite3_column_int(st, 1);
    h->dossier = sh_strdup(dossier ? dossier : "");
    h->agency = sh_strdup(agency);
    h->pdf = sh_strdup(pdf ? pdf : "");
    const char *text = (const char *)sqlite3_column_text(st, 4);
    h->snippet = make_snippet(s, text ? text : "");
    int tier = 4 - (int)floor(c->rank / TIER_SPAN);
    h->score = c->rank - (4 - tier) * TIER_SPAN;
    h->exact = tier == 1 || tier == 3;
    if (!h->dossier || (agency && !h->agency) || !h->pdf || !h->snippet)
        return nomem(s);
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
    if (t->df >= 0)
        return SH_OK;
    int rc;
    if (!*st && (rc = prepare(s,
                              "SELECT rowid FROM page_fts WHERE page_fts "
                              "MATCH ?1 ORDER BY rowid LIMIT ?2",
                              st, "estimating word frequencies")))
        return rc;
    sh_buf *b = &s->sql;
    b->len = 0;
    if (put_token(b, t->fold))
        return nomem(s);
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
        return sfail(s, "estimating word frequencies");
    t->df = n;
    if (n >= IDF_CAP && last > s->minid && s->maxid > s->minid)
        t->df = n * (double)(s->maxid - s->minid + 1) /
                (double)(last - s->minid + 1);
    return SH_OK;
}

/* The frequencies a walk's ranking uses: FTS5's own count for a group of
   one token (rank_prepare); for a phrase, that of its rarest token (an
   upper bound: counting the phrase's pages would check its positions on
   every page holding all its tokens). */
static int plan_df(search *s, rank_spec *spec)
{
    sqlite3_stmt *st = NULL;
    int rc = SH_OK;
    for (int gi = 0; !rc && gi < spec->rx.ng; gi++) {
        const rgroup *g = &spec->rx.g[gi];
        spec->df[gi] = -1;
        for (int i = g->first; !rc && g->n > 1 && i < g->first + g->n; i++) {
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
            put_token(&b, s->qy.tok[i].fold)) {
            sh_buf_release(&b);
            return nomem(s);
        }
    sqlite3_stmt *st = NULL;
    int rc = prepare(s,
                     "SELECT rowid FROM page_fts WHERE page_fts MATCH ?1 AND "
                     "rowid BETWEEN ?2 AND ?3 ORDER BY rowid DESC",
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
            rc = sfail(s, "estimating the cost of a phrase");
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

static int run_search(search *s)
{
    sh_hits *out = s->out;
    walk mw = {0}, pw = {0};
    cands first = {0}, blk = {0};
    int64_t *pids = NULL;
    size_t npids = 0;
    int rc, r = 0;

    if (filter_sql(s->q, &s->filt, 1) || filter_sql(s->q, &s->filt_d, 0) ||
        build_expr(&s->qy, EXPR_MATCH, &s->spec.rx, &s->expr)) {
        rc = nomem(s);
        goto out;
    }
    int phrases = 0;            /* groups of several tokens */
    for (int gi = 0; gi < s->spec.rx.ng; gi++)
        phrases += s->spec.rx.g[gi].n > 1;
    int64_t window = 0;
    if ((rc = id_range(s)) || (rc = plan_filter(s)) ||
        (rc = open_check(s)) || (rc = plan_df(s, &s->spec)) ||
        (phrases && (rc = phrase_window(s, &window))) ||
        (rc = walk_open(s, &mw, s->expr.data, &s->spec, INT64_MIN, window)))
        goto out;
    out->h = calloc((size_t)s->limit, sizeof *out->h);
    if (!out->h) {
        rc = nomem(s);
        goto out;
    }
    /* Rows of a walk visited per row ranked grow as the filter's pages
       thin out among the ids walked: keep that product bounded. */
    size_t block = BLOCK;
    if (s->use_ids) {
        double covered, all;
        walk_span(&mw, &covered, &all);
        double density = all > 0 ? (double)s->nallowed / all : 1;
        double b = WALK_BUDGET * density;
        block = b >= BLOCK ? BLOCK : b <= BLOCK_MIN ? BLOCK_MIN : (size_t)b;
    }

    /* The first block, and one row more to learn whether there is more
       (or the first window's matches, when the walk has windows). */
    int64_t id = 0;
    double rank;
    while (first.n <= block && (r = walk_next(&mw, &id, &rank)) == 1)
        if (cands_add(&first, id, rank)) {
            rc = nomem(s);
            goto out;
        }
    if (r < 0) {
        rc = walk_fail(s);
        goto out;
    }
    int cut = r == 2;           /* first[] is a window: a block of its own */
    if (mw.done && first.n <= block) {
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
    if (s->qy.ngrp > 1 || s->qy.diacritics) {
        if (build_expr(&s->qy, EXPR_PHRASE, &s->pspec.rx, &s->pexpr)) {
            rc = nomem(s);
            goto out;
        }
        /* A phrase: among about the newest PHRASE_SCAN matches (see
           phrase_window), at the density the main walk found. */
        int64_t floor = INT64_MIN;
        if (s->qy.ntok > 1 && window > 0) {
            floor = ids_floor(s, (double)window);
        } else if (s->qy.ntok > 1 && first.n > 0) {
            double covered, all;
            walk_span(&mw, &covered, &all);
            floor = ids_floor(s, covered * PHRASE_SCAN / (double)first.n);
        }
        if ((rc = plan_df(s, &s->pspec)) ||
            (rc = walk_open(s, &pw, s->pexpr.data, &s->pspec, floor, 0)))
            goto out;
        int64_t pid;
        double pr;
        while (blk.n < PBLOCK && (r = walk_next(&pw, &pid, &pr)) > 0)
            if (cands_add(&blk, pid, pr)) {
                rc = nomem(s);
                goto out;
            }
        if (r < 0) {
            rc = walk_fail(s);
            goto out;
        }
        if (blk.n) {
            npids = blk.n;
            if (!(pids = malloc(npids * sizeof *pids))) {
                rc = nomem(s);
                goto out;
            }
            for (size_t i = 0; i < npids; i++)
                pids[i] = blk.c[i].id;
            qsort(pids, npids, sizeof *pids, id_cmp);
            if ((rc = offer_all(s, &blk, 0)))
                goto out;
        }
    }
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
            } else if ((r = walk_next(&mw, &id, &rank)) != 1) {
                if (r < 0) {
                    rc = walk_fail(s);
                    goto out;
                }
                if (r == 2 && blk.n == 0)
                    continue;   /* an empty window */
                break;
            }
            if (!(pids && bsearch(&id, pids, npids, sizeof *pids, id_cmp)) &&
                cands_add(&blk, id, rank)) {
                rc = nomem(s);
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
    walk_span(&mw, &covered, &all);
    estimate_total(s, !mw.done && covered > 0 && covered < all
                          ? (double)mw.seen * all / covered
                          : (double)mw.seen);
out:
    walk_close(&mw);
    walk_close(&pw);
    free(first.c);
    free(blk.c);
    free(pids);
    return rc;
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
    int rc = parse_query(db, q->text, &s.qy, err);
    if (rc || s.qy.ngrp == 0)
        goto out;
    if (sh_buf_adds(&s.filt, "") || sh_buf_adds(&s.filt_d, "")) {
        rc = sh_errf(err, SH_ENOMEM, "search: out of memory");
        goto out;
    }
    /* One read transaction, so that every statement sees one snapshot. */
    int txn = sqlite3_get_autocommit(db);
    if (txn && (rc = sh_db_exec(db, "BEGIN", err)))
        goto out;
    rc = run_search(&s);
    sqlite3_finalize(s.check);
    s.check = NULL;
    if (txn)
        sqlite3_exec(db, rc ? "ROLLBACK" : "COMMIT", NULL, NULL, NULL);
out:
    if (rc)
        sh_hits_release(out);
    query_release(&s.qy);
    free(s.spec.pos);
    free(s.pspec.pos);
    free(s.ids.bits);
    free(s.ranges);
    sqlite3_finalize(s.check);
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
