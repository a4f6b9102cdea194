/*
 * index_int.h — internals shared inside index/: the tokenizer
 * (tokenizer.c) and the search (search.c, query.c, rank.c, walk.c,
 * snippet.c).  Not for use outside index/.
 */
#ifndef SH_INDEX_INT_H
#define SH_INDEX_INT_H

#include "index.h"
#include "../base/vntext.h"

/* The FTS5 API of db, or NULL when SQLite was built without FTS5. */
fts5_api *sh__fts5_api(sqlite3 *db);

/* Register search.c's SQL functions on db: the FTS5 auxiliary function
   sohoa_rank() and the scalar functions sohoa_in(), sohoa_year(). */
int sh__search_register(sqlite3 *db, fts5_api *api, sh_err *err);

/* A "sohoa" tokenizer instance used outside FTS5 (query parsing,
   snippets). */
typedef struct sh__qtok sh__qtok;
int sh__qtok_open(sqlite3 *db, sh__qtok **out, sh_err *err);
/* Tokenize n bytes: raw = 0 as FTS5 does for a query (each normalised,
   lower-case token), raw = 1 as unicode61 alone (lower case, not
   normalised: for locating words in a text).  each(ctx, token, len,
   start, end) gets every token (not NUL-terminated) and its byte range
   in s; a non-zero return from each stops and is returned. */
int sh__qtok_run(sh__qtok *t, const char *s, int n, int raw,
                 int (*each)(void *ctx, const char *tok, int len, int start,
                             int end),
                 void *ctx);
void sh__qtok_close(sh__qtok **t);

/* ---- the search's internals (search.c and the files below) ---- */

#define IDF_CAP 500             /* rows read to estimate a frequency   */
#define TIER_SPAN 1e6           /* rank = (4 - tier) * span + bm25     */

/* sqlite3_bind_pointer types of sohoa_rank()'s rank_spec and sohoa_in()'s
   idset (rank.c). */
extern const char sh__rank_ptr_type[];
extern const char sh__idset_ptr_type[];

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

/* A query read from the user's text (query.c): its tokens, grouped. */
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

/* What sohoa_rank() (rank.c) ranks a walk's rows by. */
typedef struct rank_spec {
    rexpr rx;                   /* the expression being walked */
    int64_t minid, maxid;       /* page ids, for frequency estimates */
    int ready;
    double avgdl;
    double df[SH_QUERY_MAX_TOKENS];     /* per group: pages holding it,
                                           estimated; < 0: ask FTS5     */
    double idf[SH_QUERY_MAX_TOKENS];    /* per group */
    double rows, tokens;        /* > 0: the pages and their tokens of
                                   all shards (shards.c), else FTS5's */
    int *pos;                   /* scratch: positions of every phrase */
    size_t pos_cap;
    /* Pruning (rank.c): a row whose rank cannot reach the `need` best of
       the rows seen that may be shown is not shown, and skips reading its
       length (a docsize read each).  need 0: off.  visible(ctx, id): 1
       if page id may be shown (search.c sets it only when known). */
    int need;
    int (*visible)(void *ctx, int64_t id);
    void *ctx;
    double *heap;               /* the need best ranks seen, a min-heap */
    int nheap;
} rank_spec;

typedef struct idrange {
    int64_t lo, hi;
} idrange;

/* A set of page ids: a bitmap over lo..hi. */
typedef struct idset {
    int64_t lo, hi;
    uint64_t *bits;
} idset;

/* One search under way (search.c): what walk.c and snippet.c work on. */
/* A filter's plan as walk.c makes it (see sh__search_plan_filter). */
typedef struct sh__plan {
    int use_ids;                /* its pages collected: ids, ranges */
    int all;                    /* it keeps every page that may be shown */
    idset ids;
    int64_t nallowed;
    idrange *ranges;
    size_t nranges;
} sh__plan;

typedef struct search {
    sqlite3 *db;
    const sh_query *q;
    sh_err *err;
    query qy;
    rank_spec spec, pspec;      /* of the match and the tier-1 walks    */
    int64_t minid, maxid;       /* page ids                             */
    idset ids;                  /* the filter's pages (use_ids)         */
    int use_ids;
    int filter_all;             /* the filter keeps every page (sh__plan) */
    int borrowed;               /* ids and ranges are q->memo's         */
    int64_t nallowed;           /* ids in s->ids                        */
    idrange *ranges;            /* the ids to walk, newest first        */
    size_t nranges, cranges;
    sh_buf expr, pexpr;         /* the match and tier-1 expressions     */
    sh_buf sql, filt;           /* filters on d and p                  */
    sh_buf filt_d;              /* the same on d alone (estimates)      */
    sqlite3_stmt *check;        /* page ?1 if it may be shown (check.c) */
    sqlite3_stmt *dcheck;       /* dossier ?1 if it may be shown        */
    sqlite3_stmt *text;         /* the text of page ?1 (a hit's snippet) */
    struct {                    /* check.c: the dossiers' answers       */
        struct check_dossier *slot;
        size_t cap, n;
        int by_dossier;         /* no document filter: ask dossiers once */
        const int64_t *hidden;  /* the hidden pages, sorted (check.c)  */
        size_t nhidden;
        int have_hidden;        /* 1 had, 0 not asked yet, -1 none     */
        int64_t *own_hidden;    /* hidden when no memo keeps them      */
    } ck;
    sh_hits *out;
    int limit;
    int64_t checked, visible;   /* candidates checked, found visible */
    uint64_t plans_gen;         /* plans.c's generation at the start  */
} search;

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

/* ---- query.c ---- */

/* Parse the user's text (NULL = none) into q, with a query tokenizer
   opened on db: see query.c.  q is zeroed first; release it with
   sh__query_release whatever the result.  Returns SH_OK, SH_ENOMEM or
   SH_EINDEX (err filled). */
int sh__query_parse(sqlite3 *db, const char *text, query *q, sh_err *err);
void sh__query_release(query *q);
/* The expression of one kind (EXPR_*) of q into b (emptied first), and
   its layout into rx.  Returns SH_OK or SH_ENOMEM. */
int sh__expr_build(const query *q, int kind, rexpr *rx, sh_buf *b);
/* Token t as an FTS5 string ("t", '"' doubled) appended to b.  Returns
   SH_OK or SH_ENOMEM. */
int sh__expr_put_token(sh_buf *b, const char *t);

/* ---- search.c ---- */

/* The first walk of a search that has a tier-1 walk to come is ranked at
   once when the query's rarest group is on at most this many pages
   (estimated), else walked unranked first (see search.c).  Either way
   gives the same hits; tests set it to 0 or HUGE_VAL to compare. */
extern double sh__search_rank_ahead;

/* ---- walk.c ---- */

/* The filters of q as SQL appended to b, in one of three forms: on
   dossier d alone, on d and page p, or on d and a document x joined to
   them; parameters from ?10 on, bound by the statements that walk.c
   prepares.  Returns SH_OK or SH_ENOMEM. */
enum { FILTER_DOSSIER, FILTER_PAGE, FILTER_DOC_JOINED };
int sh__filter_sql(const sh_query *q, sh_buf *b, int form);
/* Fill s->err: "search: WHAT: <sqlite message>" (SH_ENOSPC on a full
   disk, else SH_EINDEX), or out of memory (SH_ENOMEM).  Return the code. */
int sh__search_fail(search *s, const char *what);
int sh__search_nomem(search *s);
/* Prepare sql on s->db; WHAT names it in the error. */
int sh__search_prep(search *s, const char *sql, sqlite3_stmt **st,
                    const char *what);
/* s->minid, s->maxid (and the rank specs') from the page table. */
int sh__search_id_range(search *s);
/* The ranges of ids to walk: the whole span or, for a selective filter,
   its pages' ids as a bitmap (s->ids, s->use_ids) and their runs. */
int sh__search_plan_filter(search *s);
extern int64_t sh__search_sample_from;  /* walk.c: estimate_kept */
extern void (*sh__search_plan_hook)(int use_ids); /* walk.c: plans */
extern size_t sh__memo_bytes;            /* walk.c: the memo's bitmaps */
extern double (*sh__search_clock)(void); /* search.c: the time limit */
extern int sh__search_check_ops;          /* search.c: steps per reading */
/* A word's page count as token_df counted it on this catalog, kept in the
   connection's memo (sh_query.memo; forgotten when the catalog changes):
   _get 1 and *df when known, 0 when not (or no memo). */
int sh__memo_df_get(search *s, const char *word, double *df);
void sh__memo_df_put(search *s, const char *word, double df);
/* Whether q has a document filter (type, code, issue dates). */
int sh__has_doc_filter(const sh_query *q);
/* qsort/bsearch order of page ids (int64_t), ascending (search.c). */
int sh__id_cmp(const void *a, const void *b);
int sh__has_filter(const sh_query *q);
int sh__memo_hidden_get(search *s, const int64_t **ids, size_t *n);
int sh__memo_hidden_put(search *s, int64_t *ids, size_t n, int have);
/* Bind q's filter values to st (the parameters sh__filter_sql wrote). */
void sh__filter_bind(const sh_query *q, sqlite3_stmt *st);

/* ---- plans.c: tables of filter plans; those shared by a process ---- */

/* A table of plans by key (bytes) and id span, least recently used
   first to go: a connection's memo holds one (walk.c), the process
   another (below). */
#define SH_PLAN_SLOTS 256
typedef struct sh__plan_slot {
    char *key;                  /* NULL: a free slot */
    size_t klen;
    int64_t minid, maxid;
    sh__plan p;
    uint64_t used;              /* when last used (the table's tick) */
} sh__plan_slot;
typedef struct sh__plan_table {
    sh__plan_slot slot[SH_PLAN_SLOTS];
    uint64_t tick;
} sh__plan_table;
/* The slot of (key, span), marked used; NULL if none. */
sh__plan_slot *sh__plan_find(sh__plan_table *t, const char *key,
                             size_t klen, int64_t minid, int64_t maxid);
/* Keep plan p under (key, span), taking key and p: the same key's slot,
   a free one or the least recently used is replaced, then the least
   recently used bitmaps go until all of them fit in budget bytes. */
void sh__plan_keep(sh__plan_table *t, char *key, size_t klen, int64_t minid,
                   int64_t maxid, sh__plan p, size_t budget);
void sh__plan_table_clear(sh__plan_table *t);

/* The generation now (read before a search's read transaction begins). */
uint64_t sh__plans_gen(void);
/* The catalog changed (or a new memo cannot tell): forget every plan, in
   a new generation.  seen: the search's tag; returns the new generation
   when seen was still the current one (the search's view is then the
   newest seen: it may tag its plans with it), else 0. */
uint64_t sh__plans_bump(uint64_t seen);
/* A copy of the plan kept for (db's file, key of klen bytes, the id span):
   1 found (*out to release with sh__plan_release), 0 not. */
int sh__plans_get(sqlite3 *db, const char *key, size_t klen, int64_t minid,
                  int64_t maxid, sh__plan *out);
/* Keep a copy of p, made by a search that started in generation tag (not
   kept if the generation has moved on since). */
void sh__plans_put(sqlite3 *db, uint64_t tag, const char *key, size_t klen,
                   int64_t minid, int64_t maxid, const sh__plan *p);
void sh__plan_release(sh__plan *p);
extern size_t sh__plans_bytes;           /* plans.c: bitmaps kept, bytes */

/* ---- check.c ---- */

/* What a visible candidate shows: valid until the next check. */
typedef struct sh__checked {
    const char *dossier, *agency, *pdf;
    int page;
} sh__checked;
/* The statements of the check (s->check, s->dcheck, s->text).  Returns
   SH_OK or an error (s->err). */
int sh__check_open(search *s);
/* Whether page id may be shown: 1 (out filled), 0 no, -1 error (s->err). */
int sh__check_page(search *s, int64_t id, sh__checked *out);
extern void (*sh__check_hook)(int64_t id);  /* each page read; tests */
extern int sh__search_prune;             /* search.c: ranking prunes */
extern void (*sh__rank_prune_hook)(void);   /* rank.c: each row pruned */
/* Whether page id, a match the search will not show, counts as visible,
   known without reading it: 1 yes, 0 no, -1 not known (check it).  Errors
   are not reported: the page is then checked. */
int sh__check_count(search *s, int64_t id);
/* Whether sh__check_count knows its answers in this search: 1 or 0. */
int sh__check_counts(search *s);
/* The text of page id (NULL if none), valid until the next call. */
int sh__check_text(search *s, int64_t id, const char **text);
void sh__check_close(search *s);
/* A walk of expr (ranked with spec; NULL: not ranked, every rank 0, which
   saves sohoa_rank's share of a walk, about a quarter) over the ranges of s, ids from floor up, in
   windows of `window` ids (0: none). */
int sh__walk_open(search *s, walk *w, const char *expr, rank_spec *spec,
                  int64_t floor, int64_t window);
/* The next row: 1 a row, 0 the end, 2 the end of a window (more to come),
   -1 an error (in s->err). */
int sh__walk_next(walk *w, int64_t *id, double *rank);
/* How many ids the walk has covered, and how many it covers in all. */
void sh__walk_span(const walk *w, double *covered, double *all);
void sh__walk_close(walk *w);
/* The code of a failed walk (s->err's, or SH_EINDEX). */
int sh__walk_fail(search *s);

/* ---- shards.c ---- */

/* Put q->stats (the shards' statistics summed) into spec: the walk of
   the matches (phrase = 0) or of the query as a phrase (1).  Returns
   SH_OK, or SH_EUSAGE when they were made for another query. */
int sh__stats_apply(search *s, rank_spec *spec, int phrase);

/* ---- snippet.c ---- */

/* The snippet of a page's text for the query of s (see snippet.c):
   malloc'd, or NULL when out of memory. */
char *sh__snippet(search *s, const char *text);

#endif
