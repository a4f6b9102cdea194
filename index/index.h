/*
 * index.h — the warehouse catalog (SQLite, WAL) and its Vietnamese
 * full-text search (FTS5, detail=full).
 *
 * Catalog tables (created by sh_db_open; see index/catalog.c):
 *   dossier(id PK, batch, agency, state, pdf, pdf_sha256, pages, sheets,
 *           error, updated)
 *   source(dossier, seq, name, path, size, mtime, sha256, format, frames,
 *          state, error)                       -- one row per input file
 *   page(id INTEGER PK, dossier, pageno, source_name, source_sha256, frame,
 *        state, quarter, tag_rot, skew, skew_conf, osd_conf, dpi,
 *        dpi_assumed, ocr_dpi, ocr_w, ocr_h, page_w_pt, page_h_pt, crop,
 *        text, words, conf, error, t_read, t_prep, t_ocr, t_encode)
 *        -- pageno: 1-based page in the dossier PDF, NULL until placed
 *   run(id, started, finished, ...)            -- job journal
 *   page_fts: FTS5 over page.text, external content (content='page',
 *             content_rowid='id'), tokenizer "sohoa 2", detail=full
 *             (SH_INDEX_FTS_SQL).
 *
 * Folding (the "sohoa" tokenizer wraps unicode61 remove_diacritics 0):
 * each token is indexed as written (NFC, lower case, Ð read as Đ, the tone
 * of a final oa/oe/uy on its first vowel: hoà → hòa, thuỷ → thủy) and,
 * when different, also folded (tone and vowel marks removed, đ → d) at the
 * same position (FTS5_TOKEN_COLOCATED).  A query token with diacritics
 * matches only the exact form; without, it matches every form.
 *
 * Index formats: 2 (tokenize='sohoa 2') is the above.  1 (tokenize='sohoa',
 * catalogs made before) also holds at each position after the first the
 * pair "previous this", folded and exact; search reads both formats the
 * same way, and a format-1 index stays correct as it is (indexing and
 * unindexing it keep its pairs).  sh_index_upgrade rebuilds it in format 2,
 * where indexing is three times faster.
 *
 * Search (sh_search): the user's words are matched folded, all of them
 * (AND); ranking puts first the pages holding the whole query as a phrase
 * with the diacritics as typed, then as a folded phrase, then every word
 * as typed, then the rest, by BM25 within each tier.  Only pages with a
 * pageno, of dossiers in state 'done', are ever returned or counted.
 * Speed: at most 1000 matches are ranked together (see sh_search), so a
 * search costs a few milliseconds to a few tens however common its words;
 * what remains is I/O, so a search connection gains from a larger
 * PRAGMA cache_size, and the index from an occasional
 * INSERT INTO page_fts(page_fts) VALUES('optimize') after big runs.  A
 * phrase costs most: FTS5 checks its positions on every page holding all
 * its words, so a rare phrase of words found on most pages is looked for
 * window by window (see sh_search), ~10–40 ms a page of hits on a million
 * pages.
 *
 * Indexing is the caller's: call sh_index_add (or sh_indexer_add, for many
 * pages) once a page's text is final (inside the transaction that stores
 * it), and sh_index_remove with the very text that was indexed before
 * changing or deleting page.text.
 */
#ifndef SH_INDEX_H
#define SH_INDEX_H

#include "../base/common.h"
#include <sqlite3.h>

/* ---- catalog ---- */

/* Open (creating if needed) WAREHOUSE/catalog.db with WAL, foreign keys,
   busy timeout; registers the tokenizer; creates the schema.
   readonly = 1 opens it read-only (search, status). */
int sh_db_open(const char *warehouse, int readonly, sqlite3 **out,
               sh_err *err);
void sh_db_close(sqlite3 **db);
/* Run a statement that returns no rows. */
int sh_db_exec(sqlite3 *db, const char *sql, sh_err *err);

/* Vietnamese normalisation and folding: base/vntext.h. */

/* Register the "sohoa" FTS5 tokenizer and the search functions
   (sohoa_rank, sohoa_in, sohoa_year) on db; sh_db_open does this.
   Returns SH_OK or SH_EINDEX (no FTS5). */
int sh_index_register(sqlite3 *db, sh_err *err);
/* Index / unindex one page row: page_id = page.id, text as stored in
   page.text (NULL = "").  Remove needs the exact text that was indexed.
   Returns SH_OK, SH_ENOSPC (disk full) or SH_EINDEX. */
int sh_index_add(sqlite3 *db, int64_t page_id, const char *text, sh_err *err);
int sh_index_remove(sqlite3 *db, int64_t page_id, const char *text,
                    sh_err *err);

/* Index many pages in a row (a dossier, a merge, a rebuild): as
   sh_index_add, with the statement prepared once.  The caller's
   transactions apply as with sh_index_add.  Close the indexer before
   closing db (an open indexer keeps sqlite3_close from closing it).
   open: *out is NULL on error.  Returns SH_OK, SH_ENOMEM, SH_ENOSPC or
   SH_EINDEX; close accepts NULL and sets *ix to NULL. */
typedef struct sh_indexer sh_indexer;
int sh_indexer_open(sqlite3 *db, sh_indexer **out, sh_err *err);
int sh_indexer_add(sh_indexer *ix, int64_t page_id, const char *text,
                   sh_err *err);
void sh_indexer_close(sh_indexer **ix);

/* The declaration of page_fts in the current format (2), for the
   catalog's schema. */
#define SH_INDEX_FTS_SQL                                                   \
    "CREATE VIRTUAL TABLE IF NOT EXISTS page_fts USING fts5(\n"           \
    "  text, content='page', content_rowid='id', tokenize='sohoa 2',\n"   \
    "  detail=full);\n"
/* The format of db's page_fts: 2, 1, 0 (no page_fts) or -1 (unknown
   declaration, or the schema could not be read). */
int sh_index_format(sqlite3 *db);
/* A format-1 page_fts is rebuilt in format 2 from the pages that have a
   pageno (those the pipeline indexes), in one transaction (its own, or
   the caller's when one is open); anything else is left alone.  Takes
   about as long as indexing those pages (~3,000 pages/s).  Returns SH_OK,
   SH_ENOSPC or SH_EINDEX (the index is then as it was). */
int sh_index_upgrade(sqlite3 *db, sh_err *err);

/* The number of b-trees (segments) page_fts is made of.  Pages are
   indexed into small new ones that FTS5 merges by levels as they grow
   (about 15 at 5–10M pages), and a search reads each word from every one
   of them (merged into one: a three-word query 4×, a name 2× faster at
   200k pages; see README).  Returns SH_OK or SH_EINDEX. */
int sh_index_segments(sqlite3 *db, int *n, sh_err *err);
/* One step of merging them all into one: FTS5's incremental optimize,
   writing about `pages` leaf pages of merged index (4 KB each) in one
   statement: its own transaction, or the caller's when one is open.
   *worked: 0 when there was nothing left to merge
   (one segment, or none).  Searches go on meanwhile and see the index
   whole before and after each step.  Returns SH_OK, SH_ENOSPC or
   SH_EINDEX. */
int sh_index_optimize_step(sqlite3 *db, int pages, int *worked, sh_err *err);

/* ---- search ---- */

struct sh_search_stats;      /* index/shards.h */

/* The part of sh_query.text that is read: its first SH_QUERY_MAX_BYTES
   bytes (cut at a character) and in them the first SH_QUERY_MAX_TOKENS
   tokens; the rest is ignored. */
#define SH_QUERY_MAX_BYTES 4096
#define SH_QUERY_MAX_TOKENS 64

typedef struct sh_query {
    const char *text;        /* user text, any bytes; never FTS5 syntax.
                                Words in "double quotes" are a phrase.    */
    int limit;               /* 0 = 20; at most 1000                      */
    int offset;              /* >= 0                                      */
    const char *const *agencies; /* [optional] NULL = all; else only
                                dossiers whose agency is in this
                                NULL-terminated list (plain SQL filter;
                                at most 10000 names)                     */
    const char *agency;      /* [optional] filter: one agency             */
    const char *dossier_prefix; /* [optional] filter: dossier ids that
                                start with these characters (literal:
                                % and _ are plain characters)            */
    int year;                /* [optional] 0 = any; filter on dossier year
                                = the first run of exactly 4 digits in
                                the dossier id ("HS-2019-0042" → 2019)   */
    /* [optional] filters on the document (văn bản) holding the page, as
       `sohoa run` recorded it (table document): a page outside every
       document row never passes them.  Text is compared folded (no
       marks, any case: "quyet dinh" = "Quyết định"). */
    const char *doc_type;    /* its type: "Quyết định", "Công văn", ...    */
    const char *doc_code;    /* its number/notation contains this:
                                "05/QĐ-UBND", "QĐ-UBND", "TTr"           */
    const char *issued_from; /* its issued date (ISO) >= this, e.g.
                                "2024-01-01" or "2024"                   */
    const char *issued_to;   /* its issued date <= this ("2024-06-30";
                                "2024" takes the whole year)             */
    /* [optional] NULL = this catalog's own statistics.  Else BM25 takes
       its page count, average length and document frequencies from here
       (shards searched together: index/shards.h sums them over the
       shards, so scores compare across catalogs). */
    const struct sh_search_stats *stats;
    int time_limit_ms;       /* [optional] 0 = none; else the search
                                stops after this long and fails with
                                SH_ETIMEOUT ("too broad": a server's answer
                                to a search that would hold a connection
                                for minutes)                              */
    struct sh_search_memo *memo; /* [optional] NULL, or a memo kept with
                                one connection across its searches (see
                                sh_search_memo_open)                      */
} sh_query;

typedef struct sh_hit {
    char *dossier;
    int page;                /* 1-based page in the dossier PDF           */
    char *agency;            /* may be NULL */
    char *pdf;               /* PDF path */
    char *snippet;           /* UTF-8; hit words wrapped in [ ]           */
    double score;            /* BM25 within the tier, higher is better    */
    int exact;               /* 1 if every word is on the page with the
                                diacritics as typed (always 1 when none
                                were typed)                              */
    int tier;                /* 1 phrase as typed, 2 folded phrase, 3
                                every word as typed, 4 the rest: hits come
                                by tier, then score                      */
    int shard;               /* which catalog, for sh_search_shards (its
                                index in the list); 0 from sh_search      */
    int64_t page_id;
} sh_hit;

typedef struct sh_hits {
    sh_hit *h;
    int n;
    int total;               /* all matching pages (for pagination)       */
    int approx;              /* 1: total is an estimate (more than 1000
                                matches: from the share of page ids
                                walked and the share of the pages checked
                                that may be shown); 0: exact             */
} sh_hits;

/* Search the catalog.  out: filled (zeroed first); release with
   sh_hits_release, also after an error.  Returns SH_OK (possibly 0 hits:
   an empty query, nothing searchable, an empty agencies list), SH_EUSAGE
   (limit/offset out of range, too many agencies), SH_ENOMEM or
   SH_EINDEX.  Never fails on the content of q->text: it is never FTS5
   syntax (see index.h top).
   Notes: the hits are ordered by tier, then BM25, then newest page.  When
   more than 1000 pages match, ranking is by blocks: first the newest 500
   pages holding the query as typed as a phrase (looked for among about
   the newest 20,000 matches), ranked, then the matches newest first in
   blocks of 1000 (fewer under a filter that keeps few pages, and for a
   query with a "quoted phrase" no more than the matches among about
   20,000 pages holding all its words), each ranked within itself.  The order is a fixed function of
   the catalog and the query, so pages of results never overlap, and the
   cost of a search stays bounded however common the words.  Snippets:
   about 16 words around the most query words, each word of the query
   (folded) in [ ], "…" where the text goes on. */
int sh_search(sqlite3 *db, const sh_query *q, sh_hits *out, sh_err *err);
void sh_hits_release(sh_hits *h);

/* A memo of one connection's searches: how each filter (agencies, agency,
   prefix, year, document) plans, so that a connection that searches again
   and again (a web server's worker) does not work it out each time: the
   estimate of the pages a filter keeps reads a sample of the dossiers,
   and a selective filter's bitmap every page of its dossiers.  It holds
   the last 256 filters, of which the selective ones (a bit per page id
   each) within 48 MB, and the page counts of the last 512 words; it forgets
   them when the catalog has changed since (another connection's commit,
   or a change through this one).  Use one memo with one connection only,
   and from one thread at a time; the hits are the same with or without.
   open: SH_OK or SH_ENOMEM; close accepts NULL and sets *m to NULL. */
typedef struct sh_search_memo sh_search_memo;
int sh_search_memo_open(sh_search_memo **out);
void sh_search_memo_close(sh_search_memo **m);

#endif
