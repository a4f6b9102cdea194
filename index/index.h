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
 *             content_rowid='id'), tokenizer "sohoa", detail=full.
 *
 * Folding (the "sohoa" tokenizer wraps unicode61 remove_diacritics 0):
 * each token is indexed as written (NFC, lower case, tone placement
 * normalised: hoà → hòa) and, when different, also folded (tone and vowel
 * marks removed, đ → d) at the same position (FTS5_TOKEN_COLOCATED).
 * A query word with diacritics matches only the exact form; without, it
 * matches every form.  Ranking puts exact-diacritic and phrase matches
 * first (bm25 within each tier).
 */
#ifndef SH_INDEX_H
#define SH_INDEX_H

#include "../pipeline/common.h"
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

/* ---- text normalisation (UTF-8 in, malloc'd UTF-8 out) ---- */

/* NFC; Ð (U+00D0) read as Đ; tone marks moved to the modern placement
   (hoà → hòa, thuỷ → thủy).  Keeps case. */
int sh_text_norm(const char *in, char **out);
/* sh_text_norm, lower-cased, then every mark removed and đ → d:
   "Đất Đai" → "dat dai". */
int sh_text_fold(const char *in, char **out);

/* Register the "sohoa" FTS5 tokenizer on db (sh_db_open does this). */
int sh_index_register(sqlite3 *db, sh_err *err);
/* Index / unindex one page row (text as stored in page.text). */
int sh_index_add(sqlite3 *db, int64_t page_id, const char *text, sh_err *err);
int sh_index_remove(sqlite3 *db, int64_t page_id, const char *text,
                    sh_err *err);

/* ---- search ---- */

typedef struct sh_query {
    const char *text;        /* user text, any bytes; never FTS5 syntax.
                                Words in "double quotes" are a phrase.    */
    int limit;               /* 0 = 20                                    */
    int offset;
    const char *const *agencies; /* [optional] NULL = all; else only
                                dossiers whose agency is in this
                                NULL-terminated list (plain SQL filter)  */
    const char *agency;      /* [optional] filter: one agency             */
    const char *dossier_prefix; /* [optional] filter                      */
    int year;                /* [optional] 0 = any; filter on dossier year
                                (the 4 digits after "HS-" / in the id)    */
} sh_query;

typedef struct sh_hit {
    char *dossier;
    int page;                /* 1-based page in the dossier PDF           */
    char *agency;            /* may be NULL */
    char *pdf;               /* PDF path */
    char *snippet;           /* UTF-8; hit words wrapped in [ ]           */
    double score;            /* higher is better                          */
    int exact;               /* 1 if matched with the diacritics as typed */
    int64_t page_id;
} sh_hit;

typedef struct sh_hits {
    sh_hit *h;
    int n;
    int total;               /* all matching pages (for pagination)       */
} sh_hits;

/* Returns SH_OK (possibly 0 hits) or SH_EINDEX.  Never fails on the
   content of q->text. */
int sh_search(sqlite3 *db, const sh_query *q, sh_hits *out, sh_err *err);
void sh_hits_release(sh_hits *h);

#endif
