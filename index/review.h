/*
 * review.h — the clerk's review station in the catalog: what is left to
 * check, what a clerk decided, who approved a dossier (review.c).
 *
 * Tables (created by sh_db_open, index/catalog.c).  A clerk's decisions
 * are kept apart from what a run writes, keyed by what does not change
 * when a page is recognised again (the source file, its frame, its part),
 * so that re-runs, `--shard`/`merge` and the index upgrade never lose
 * them; a run reads them back (pipeline/run_plan.c, run_assemble.c):
 *   review_dossier(dossier PK, version INT, edits INT, approved_by,
 *        approved_at, withdrawn, saved_by, saved_at, base_sig)
 *        -- version: +1 on every clerk's save (optimistic concurrency: a
 *        save names the version it was made from); edits: +1 on every
 *        save that changes the dossier's outputs (part of the run's inputs
 *        signature, so the next run re-assembles it); approved_* NULL =
 *        not approved; withdrawn: why the last approval was withdrawn;
 *        base_sig: the run's inputs signature without the edits (scans
 *        and manifest), so a run tells a clerk's edit from a new scan.
 *   review_page(dossier, source_name, frame, source_sha256, quarter,
 *        split, blank, accepted INT, user, time)
 *        -- forced geometry of one scanned sheet (NULL = as detected):
 *        quarter 0..3 total clockwise quarter turns of the stored
 *        pixels; split 0 = one page, 1..999 = two pages cut at that
 *        per-mille of the upright sheet's width; blank 0/1.  Applies only
 *        while the source's bytes are source_sha256.
 *   review_start(dossier, source_name, frame, part, start INT, user, time)
 *        -- 1: this page starts a văn bản; 0: it continues the previous.
 *   review_field(dossier, ordinal, field, value, user, time)
 *        -- a document field typed by a clerk (source "manual"); field is
 *        one of SH_REVIEW_FIELDS' names, value as stored (dates ISO).
 *   review_word(dossier, source_name, frame, part, word INT, was, text,
 *        user, time)
 *        -- word number `word` of the page's text layer, read as `was`,
 *        corrected to `text` (applied only while the OCR still reads was).
 */
#ifndef SH_REVIEW_H
#define SH_REVIEW_H

#include "../base/common.h"
#include <jansson.h>
#include <sqlite3.h>

#define SH_REVIEW_SQL                                                       \
    "CREATE TABLE IF NOT EXISTS review_dossier(\n"                          \
    "  dossier TEXT PRIMARY KEY, version INTEGER NOT NULL DEFAULT 0,\n"     \
    "  edits INTEGER NOT NULL DEFAULT 0, approved_by TEXT,\n"               \
    "  approved_at TEXT, withdrawn TEXT, saved_by TEXT, saved_at TEXT,\n"  \
    "  base_sig TEXT);\n"                                                  \
    "CREATE TABLE IF NOT EXISTS review_page(\n"                             \
    "  dossier TEXT NOT NULL, source_name TEXT NOT NULL,\n"                 \
    "  frame INTEGER NOT NULL, source_sha256 TEXT, quarter INTEGER,\n"      \
    "  split INTEGER, blank INTEGER, accepted INTEGER NOT NULL DEFAULT 0,\n" \
    "  user TEXT, time TEXT, PRIMARY KEY(dossier, source_name, frame));\n"  \
    "CREATE TABLE IF NOT EXISTS review_start(\n"                            \
    "  dossier TEXT NOT NULL, source_name TEXT NOT NULL,\n"                 \
    "  frame INTEGER NOT NULL, part INTEGER NOT NULL,\n"                    \
    "  start INTEGER NOT NULL, user TEXT, time TEXT,\n"                     \
    "  PRIMARY KEY(dossier, source_name, frame, part));\n"                  \
    "CREATE TABLE IF NOT EXISTS review_field(\n"                            \
    "  dossier TEXT NOT NULL, ordinal INTEGER NOT NULL,\n"                  \
    "  field TEXT NOT NULL, value TEXT, user TEXT, time TEXT,\n"            \
    "  PRIMARY KEY(dossier, ordinal, field));\n"                            \
    "CREATE TABLE IF NOT EXISTS review_word(\n"                             \
    "  dossier TEXT NOT NULL, source_name TEXT NOT NULL,\n"                 \
    "  frame INTEGER NOT NULL, part INTEGER NOT NULL,\n"                    \
    "  word INTEGER NOT NULL, was TEXT, text TEXT NOT NULL, user TEXT,\n"   \
    "  time TEXT, PRIMARY KEY(dossier, source_name, frame, part, word));\n"

/* Thresholds of the queue's reasons. */
#define SH_REVIEW_LOW_CONF 60.0    /* page words' mean confidence, 0..100 */
#define SH_REVIEW_BLANK_CONF 0.9   /* a blank decision below this: ask    */
#define SH_REVIEW_OSD_CONF 5.0     /* a turn decided by OSD below this    */

/* The document fields a clerk may edit: export name, catalog column,
   limit in characters, 1 for a date. */
typedef struct sh_review_field_def {
    const char *name, *column;
    int max_chars, is_date;
} sh_review_field_def;
extern const sh_review_field_def SH_REVIEW_FIELDS[];
extern const int SH_REVIEW_NFIELDS;

/*
 * The queue: dossiers of the given agencies (NULL-terminated; NULL = every
 * agency) that are not approved, with what there is to check, oldest batch
 * first.  *out: a new JSON array of {"dossier", "agency", "batch", "page"
 * (1-based PDF page, null for the dossier), "reason" (split | low_conf |
 * blank | turned | fields | manifest | corrections | failed), "ordinal"
 * (for "fields")}.  A page a clerk has looked at (review_page row) and a
 * document with a field a clerk set leave the queue.  Returns SH_OK,
 * SH_EINDEX or SH_ENOMEM.
 */
int sh_review_queue(sqlite3 *db, char *const *agencies, json_t **out,
                    sh_err *err);

/*
 * Check a value a clerk typed for field (a SH_REVIEW_FIELDS name, case
 * insensitive) as the manifest checks its values: valid UTF-8, no control
 * characters, trimmed, at most the field's characters, a date real
 * (dd/mm/yyyy or yyyy-mm-dd, stored ISO).  *out: the value to store
 * (malloc'd; NULL for an empty value: the field is cleared), *def the
 * field.  Returns SH_OK or SH_EINPUT with err saying why in plain English.
 */
int sh_review_field_check(const char *field, const char *value, char **out,
                          const sh_review_field_def **def, sh_err *err);

/*
 * Start a clerk's save on dossier id: inside a write transaction the
 * caller opened, check that the dossier's version is expect (< 0: do not
 * check) and take the next one (*version [optional]: the new number).
 * content = 1: the save changes the outputs (edits + 1, and an approval
 * is withdrawn: *withdrawn [optional] = 1; why [optional] is recorded
 * as the reason).  Returns SH_OK, SH_ELOCKED with "changed by NAME at T
 * (version N): reload" when another save came first, or SH_EINDEX.
 */
int sh_review_begin(sqlite3 *db, const char *id, int expect, int content,
                    const char *why, int *version, int *withdrawn,
                    sh_err *err);

/* Set document ordinal's field (def) of dossier id to value (NULL =
   cleared) as typed by user: the document row now, review_field for the
   runs to come.  Inside the caller's transaction.  *before [optional]:
   the previous value (malloc'd, NULL = none).  Returns SH_OK, SH_EUSAGE
   (no such document) or SH_EINDEX. */
int sh_review_set_field(sqlite3 *db, const char *id, int ordinal,
                        const sh_review_field_def *def, const char *value,
                        const char *user, char **before, sh_err *err);

/* Approve dossier id (state 'done') as user now, or withdraw (approve =
   0).  Inside the caller's transaction.  Returns SH_OK, SH_EUSAGE (no such
   dossier, not done) or SH_EINDEX. */
int sh_review_approve(sqlite3 *db, const char *id, const char *user,
                      int approve, sh_err *err);

/* The review state of dossier id: *version, *edits, *approved (1/0);
   by/at [optional, n bytes each]: who and when.  A dossier nobody
   reviewed: 0, 0, 0.  Returns SH_OK or SH_EINDEX. */
int sh_review_state(sqlite3 *db, const char *id, int *version, int *edits,
                    int *approved, char *by, char *at, size_t n,
                    sh_err *err);

/* ---- a sheet's decisions (the site's review page, web/review_api.c) ---- */

/* One page row of a dossier, as a clerk's decision names it. */
typedef struct sh_review_sheet {
    int64_t page_id;
    char *source_name, *sha;   /* the scanned file and its bytes' SHA-256 */
    int frame, part;           /* frame from 0; part 0/1 of a two-up sheet */
    int pageno;                /* 1-based PDF page; 0: not in the PDF     */
    int quarter;               /* total quarter turns as recognised        */
    int nparts;                /* pages the sheet gave (2: split)          */
} sh_review_sheet;

/* Find the page of dossier id by its PDF page number pageno (> 0), else
   by its row id page_id (a blank page is in no PDF).  Returns SH_OK,
   SH_EUSAGE (no such page) or SH_EINDEX.  Release s. */
int sh_review_sheet_find(sqlite3 *db, const char *id, int pageno,
                         int64_t page_id, sh_review_sheet *s, sh_err *err);
void sh_review_sheet_release(sh_review_sheet *s);

/* What a clerk forces on a sheet (review_page). */
enum {
    SH_REVIEW_ACCEPT,    /* looked at, as recognised: value unused        */
    SH_REVIEW_QUARTER,   /* value 0..3: total clockwise quarter turns     */
    SH_REVIEW_SPLIT,     /* value 0: one page; 1..999: cut at per-mille x  */
    SH_REVIEW_BLANK      /* value 0/1                                     */
};

/* Record decision `what` with value for sheet s of dossier id as user
   (the sheet leaves the queue).  Inside the caller's transaction.
   *before [optional]: a new JSON object {"quarter","split","blank"} of
   what was forced before (null = as detected).  Returns SH_OK, SH_EUSAGE
   (value out of range) or SH_EINDEX. */
int sh_review_set_sheet(sqlite3 *db, const char *id, const sh_review_sheet *s,
                        int what, int value, const char *user,
                        json_t **before, sh_err *err);

/* Page s starts a văn bản (start 1) or continues the one before (0), as
   user decided.  *before [optional]: the previous decision, -1 = none.
   Returns SH_OK or SH_EINDEX. */
int sh_review_set_start(sqlite3 *db, const char *id, const sh_review_sheet *s,
                        int start, const char *user, int *before,
                        sh_err *err);

/* Check a word a clerk typed: valid UTF-8, no spaces or control
   characters, 1..100 characters; *out the NFC text (malloc'd).  Returns
   SH_OK or SH_EINPUT with err saying why. */
int sh_review_word_check(const char *text, char **out, sh_err *err);

/* Word number word (from 0) of page s's text layer is text.  *was: the
   word as the OCR read it (malloc'd), *before [optional]: the previous
   correction (malloc'd, NULL = none).  Returns SH_OK, SH_EUSAGE (no such
   word) or SH_EINDEX. */
int sh_review_set_word(sqlite3 *db, const char *id, const sh_review_sheet *s,
                       int word, const char *text, const char *user,
                       char **was, char **before, sh_err *err);

#endif
