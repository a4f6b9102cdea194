/*
 * review.c — the clerk's review station in the catalog (tables: review.h).
 *
 *   sh_review_queue        what is left to check, oldest batch first
 *   sh_review_field_check  a typed field value, checked as the manifest's
 *   sh_review_begin        a save: version check (optimistic), withdrawal
 *   sh_review_set_field    one document field typed by a clerk
 *   sh_review_approve      approve / withdraw a dossier
 *   sh_review_state        version, edits, approval of a dossier
 *
 * Method.  The queue is one SQL query over the rows a run writes (page
 * geometry JSON, page confidence, documents, dossier errors), one
 * UNION ALL branch per reason, less what a clerk already decided (a
 * review_page row for the sheet, a review_field row for the document) and
 * the approved dossiers.  Saves are optimistic: every page a clerk opens
 * carries the dossier's version; a save names it, and is refused when
 * another save took the dossier further in between (nothing is
 * overwritten silently).  The caller holds the write transaction, so the
 * check and the change commit together (its audit row follows, in the
 * journal's own file).
 */
#include "review.h"
#include "../base/vntext.h"
#include "db.h"
#include "../base/date.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistr.h>

const sh_review_field_def SH_REVIEW_FIELDS[] = {
    {"TypeName", "type_name", 100, 0},
    {"CodeNumber", "code_number", 11, 0},
    {"CodeNotation", "code_notation", 30, 0},
    {"IssuedDate", "issued_date", 10, 1},
    {"Place", "place", 100, 0},
    {"OrganName", "organ_name", 200, 0},
    {"Subject", "subject", 500, 0},
};
const int SH_REVIEW_NFIELDS =
    (int)(sizeof SH_REVIEW_FIELDS / sizeof SH_REVIEW_FIELDS[0]);

/* One branch per reason: dossier, agency, batch, pageno, reason,
   ordinal, page id, sheet (file and frame). */
static const char queue_sql[] =
    "WITH d AS (SELECT x.id, x.agency, x.batch, x.state, x.error,"
    "  (SELECT min(y.rowid) FROM dossier y WHERE y.batch IS x.batch) AS age"
    "  FROM dossier x WHERE x.state IN ('done','failed') AND %s"
    "  AND NOT EXISTS (SELECT 1 FROM review_dossier r WHERE r.dossier=x.id"
    "  AND r.approved_by IS NOT NULL)),"
    " p AS (SELECT q.*, d.agency, d.batch, d.age FROM page q JOIN d ON"
    "  q.dossier=d.id WHERE q.state='ocr' AND NOT EXISTS (SELECT 1 FROM"
    "  review_page rp WHERE rp.dossier=q.dossier AND"
    "  rp.source_name=q.source_name AND rp.frame=q.frame))"
    " SELECT dossier, agency, batch, pageno, 'split', NULL, id, source_name,"
    "  frame, age FROM p WHERE json_extract(geom,'$.review')=1"
    " UNION ALL SELECT dossier, agency, batch, pageno, 'low_conf', NULL, id,"
    "  source_name, frame, age FROM p WHERE kind='page' AND conf<?1"
    " UNION ALL SELECT dossier, agency, batch, pageno, 'blank', NULL, id,"
    "  source_name, frame, age FROM p WHERE kind='blank' AND"
    "  json_extract(geom,'$.blank_conf')<?2"
    " UNION ALL SELECT dossier, agency, batch, pageno, 'turned', NULL, id,"
    "  source_name, frame, age FROM p WHERE"
    "  json_extract(geom,'$.quarter')<>json_extract(geom,'$.tag_rot')/90"
    "  AND ifnull(json_extract(geom,'$.osd_conf'),0)<?3"
    " UNION ALL SELECT dossier, agency, batch, pageno, 'corrections', NULL,"
    "  id, source_name, frame, age FROM p WHERE"
    "  json_array_length(geom,'$.corrections')>0"
    " UNION ALL SELECT d.id, d.agency, d.batch, c.first_page, 'fields',"
    "  c.ordinal, (SELECT q.id FROM page q WHERE q.dossier=d.id AND"
    "  q.pageno=c.first_page), NULL, NULL, d.age FROM document c JOIN d ON"
    "  c.dossier=d.id WHERE c.origin='ocr' AND d.state='done' AND NOT EXISTS"
    "  (SELECT 1 FROM review_field f WHERE f.dossier=c.dossier AND"
    "  f.ordinal=c.ordinal)"
    " UNION ALL SELECT d.id, d.agency, d.batch, NULL, 'manifest', NULL,"
    "  NULL, NULL, NULL, d.age FROM d WHERE d.state='failed' AND"
    "  d.error LIKE '%%manifest%%'"
    " ORDER BY 10, 1, 4 NULLS FIRST, 7, 5";

int sh_review_queue(sqlite3 *db, char *const *agencies, json_t **out,
                    sh_err *err)
{
    *out = NULL;
    sh_buf cond = {0};
    int na = 0;
    if (!agencies) {
        sh_buf_adds(&cond, "1");
    } else {
        sh_buf_adds(&cond, "x.agency IN (NULL");
        for (; agencies[na]; na++)
            sh_buf_printf(&cond, ",?%d", na + 4);
        sh_buf_adds(&cond, ")");
    }
    char *sql = NULL;
    if (!cond.data || asprintf(&sql, queue_sql, cond.data) < 0) {
        sh_buf_release(&cond);
        return sh_errf(err, SH_ENOMEM, "out of memory");
    }
    sh_buf_release(&cond);
    sqlite3_stmt *st;
    int rc = sh_db_prep(db, sql, &st, err);
    free(sql);
    if (rc)
        return rc;
    sqlite3_bind_double(st, 1, SH_REVIEW_LOW_CONF);
    sqlite3_bind_double(st, 2, SH_REVIEW_BLANK_CONF);
    sqlite3_bind_double(st, 3, SH_REVIEW_OSD_CONF);
    for (int i = 0; i < na; i++)
        sh_db_bind_text(st, i + 4, agencies[i]);
    json_t *a = json_array();
    int r;
    while (a && (r = sqlite3_step(st)) == SQLITE_ROW) {
        json_t *o = json_object();
        const char *cols[] = {"dossier", "agency", "batch"};
        for (int i = 0; i < 3; i++)
            json_object_set_new(o, cols[i],
                                sqlite3_column_type(st, i) == SQLITE_NULL
                                    ? json_null()
                                    : json_string((const char *)
                                          sqlite3_column_text(st, i)));
        json_object_set_new(o, "page",
                            sqlite3_column_type(st, 3) == SQLITE_NULL
                                ? json_null()
                                : json_integer(sqlite3_column_int(st, 3)));
        json_object_set_new(o, "reason", json_string((const char *)
                                                 sqlite3_column_text(st, 4)));
        if (sqlite3_column_type(st, 5) != SQLITE_NULL)
            json_object_set_new(o, "ordinal",
                                json_integer(sqlite3_column_int(st, 5)));
        if (sqlite3_column_type(st, 6) != SQLITE_NULL)
            json_object_set_new(o, "page_id",
                                json_integer(sqlite3_column_int64(st, 6)));
        if (sqlite3_column_type(st, 7) != SQLITE_NULL)
            json_object_set_new(o, "sheet", json_pack("{sssi}", "file",
                (const char *)sqlite3_column_text(st, 7), "frame",
                sqlite3_column_int(st, 8) + 1));
        if (json_array_append_new(a, o)) {
            json_decref(a);
            a = NULL;
        }
    }
    if (!a) {
        sqlite3_finalize(st);
        return sh_errf(err, SH_ENOMEM, "out of memory");
    }
    if (r != SQLITE_DONE) {
        rc = sh_errf(err, SH_EINDEX, "catalog: %s", sqlite3_errmsg(db));
        json_decref(a);
        sqlite3_finalize(st);
        return rc;
    }
    sqlite3_finalize(st);
    *out = a;
    return SH_OK;
}

int sh_review_field_check(const char *field, const char *value, char **out,
                          const sh_review_field_def **def, sh_err *err)
{
    *out = NULL;
    const sh_review_field_def *f = NULL;
    for (int i = 0; i < SH_REVIEW_NFIELDS && field; i++)
        if (!strcasecmp(field, SH_REVIEW_FIELDS[i].name))
            f = &SH_REVIEW_FIELDS[i];
    if (def)
        *def = f;
    if (!f) {
        sh_buf names = {0};
        for (int i = 0; i < SH_REVIEW_NFIELDS; i++)
            sh_buf_printf(&names, "%s%s", i ? ", " : "",
                          SH_REVIEW_FIELDS[i].name);
        sh_errf(err, SH_EINPUT, "unknown field '%s' (one of %s)",
                field ? field : "", names.data ? names.data : "");
        sh_buf_release(&names);
        return SH_EINPUT;
    }
    const char *v = value ? value : "";
    size_t n = strlen(v);
    if (u8_check((const uint8_t *)v, n))
        return sh_errf(err, SH_EINPUT, "%s: not valid UTF-8", f->name);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
            return sh_errf(err, SH_EINPUT, "%s: control characters (line "
                           "breaks, tabs) are not allowed", f->name);
    while (*v == ' ')
        v++, n--;
    while (n && v[n - 1] == ' ')
        n--;
    if (n == 0)
        return SH_OK;
    size_t nn = 0;
    char *s;
    if (sh_text_nfc(v, n, &s, &nn))
        return sh_errf(err, SH_ENOMEM, "out of memory");
    size_t chars = u8_mbsnlen((const uint8_t *)s, nn);
    if ((int)chars > f->max_chars) {
        sh_errf(err, SH_EINPUT, "%s: %zu characters, at most %d", f->name,
                chars, f->max_chars);
        free(s);
        return SH_EINPUT;
    }
    if (f->is_date) {
        char iso[11], why[256];
        if (sh_date_parse(s, iso, why, sizeof why)) {
            sh_errf(err, SH_EINPUT, "%s: %s", f->name, why);
            free(s);
            return SH_EINPUT;
        }
        memcpy(s, iso, 11);
    }
    *out = s;
    return SH_OK;
}

int sh_review_begin(sqlite3 *db, const char *id, int expect, int content,
                    const char *why, int *version, int *withdrawn,
                    sh_err *err)
{
    if (withdrawn)
        *withdrawn = 0;
    sqlite3_stmt *st;
    int rc = sh_db_prep(db, "SELECT version, approved_by, saved_by, saved_at"
                        " FROM review_dossier WHERE dossier=?", &st, err);
    if (rc)
        return rc;
    sh_db_bind_text(st, 1, id);
    int v = 0, approved = 0;
    char by[128] = "", at[32] = "";
    if (sqlite3_step(st) == SQLITE_ROW) {
        v = sqlite3_column_int(st, 0);
        approved = sqlite3_column_type(st, 1) != SQLITE_NULL;
        if (sqlite3_column_text(st, 2))
            snprintf(by, sizeof by, "%s", sqlite3_column_text(st, 2));
        if (sqlite3_column_text(st, 3))
            snprintf(at, sizeof at, "%s", sqlite3_column_text(st, 3));
    }
    sqlite3_finalize(st);
    if (expect >= 0 && expect != v)
        return sh_errf(err, SH_ELOCKED, "dossier %s was changed by %s at %s "
                       "(version %d, you had version %d): reload it and "
                       "make your change again", id, by[0] ? by : "someone",
                       at[0] ? at : "?", v, expect);
    if ((rc = sh_db_prep(db,
            "INSERT INTO review_dossier(dossier, version, edits) VALUES"
            " (?1, 1, ?2) ON CONFLICT(dossier) DO UPDATE SET"
            " version=version+1, edits=edits+?2,"
            " approved_by=CASE WHEN ?2 THEN NULL ELSE approved_by END,"
            " approved_at=CASE WHEN ?2 THEN NULL ELSE approved_at END,"
            " withdrawn=CASE WHEN ?2 AND approved_by IS NOT NULL THEN ?3"
            " ELSE withdrawn END", &st, err)))
        return rc;
    sh_db_bind_text(st, 1, id);
    sqlite3_bind_int(st, 2, content != 0);
    sh_db_bind_text(st, 3, why ? why : "changed");
    if ((rc = sh_db_done(db, st, err)))
        return rc;
    if (version)
        *version = v + 1;
    if (withdrawn)
        *withdrawn = content && approved;
    return SH_OK;
}

/* Record who saved last (for the refusal message of the next one). */
static int saved_by(sqlite3 *db, const char *id, const char *user,
                    sh_err *err)
{
    char when[SH_ISO_LEN];
    sh_now_iso(when);
    return sh_db_run(db, "UPDATE review_dossier SET saved_by=?, saved_at=?"
                     " WHERE dossier=?", 3,
                     (const char *[]){user, when, id}, err);
}

int sh_review_set_field(sqlite3 *db, const char *id, int ordinal,
                        const sh_review_field_def *def, const char *value,
                        const char *user, char **before, sh_err *err)
{
    if (before)
        *before = NULL;
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT %s FROM document WHERE dossier=? AND "
             "ordinal=?", def->column);
    sqlite3_stmt *st;
    int rc = sh_db_prep(db, sql, &st, err);
    if (rc)
        return rc;
    sh_db_bind_text(st, 1, id);
    sqlite3_bind_int(st, 2, ordinal);
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW && before)
        *before = sh_db_col_dup(st, 0, 0, NULL);
    sqlite3_finalize(st);
    if (r != SQLITE_ROW)
        return sh_errf(err, SH_EUSAGE, "dossier %s has no document %d", id,
                       ordinal);
    snprintf(sql, sizeof sql, "UPDATE document SET %s=? WHERE dossier=? AND "
             "ordinal=?", def->column);
    if ((rc = sh_db_prep(db, sql, &st, err)))
        return rc;
    sh_db_bind_text(st, 1, value);
    sh_db_bind_text(st, 2, id);
    sqlite3_bind_int(st, 3, ordinal);
    if ((rc = sh_db_done(db, st, err)))
        return rc;
    char when[SH_ISO_LEN], ord[16];
    sh_now_iso(when);
    snprintf(ord, sizeof ord, "%d", ordinal);
    rc = sh_db_run(db, "INSERT OR REPLACE INTO review_field(dossier, ordinal,"
                   " field, value, user, time) VALUES(?,?,?,?,?,?)", 6,
                   (const char *[]){id, ord, def->name, value, user, when},
                   err);
    return rc ? rc : saved_by(db, id, user, err);
}

int sh_review_approve(sqlite3 *db, const char *id, const char *user,
                      int approve, sh_err *err)
{
    sqlite3_stmt *st;
    int rc = sh_db_prep(db, "SELECT state FROM dossier WHERE id=?", &st, err);
    if (rc)
        return rc;
    sh_db_bind_text(st, 1, id);
    int r = sqlite3_step(st);
    int done = r == SQLITE_ROW && sqlite3_column_text(st, 0) &&
               !strcmp((const char *)sqlite3_column_text(st, 0), "done");
    sqlite3_finalize(st);
    if (r != SQLITE_ROW)
        return sh_errf(err, SH_EUSAGE, "no dossier '%s' in the catalog", id);
    if (approve && !done)
        return sh_errf(err, SH_EUSAGE, "dossier %s is not done (no PDF): "
                       "it cannot be approved", id);
    char when[SH_ISO_LEN];
    sh_now_iso(when);
    rc = sh_db_run(db,
                   approve ? "INSERT INTO review_dossier(dossier, version,"
                             " approved_by, approved_at) VALUES(?1, 1, ?2, ?3)"
                             " ON CONFLICT(dossier) DO UPDATE SET"
                             " version=version+1, approved_by=?2,"
                             " approved_at=?3, withdrawn=NULL"
                           : "UPDATE review_dossier SET version=version+1,"
                             " approved_by=NULL, approved_at=NULL,"
                             " withdrawn='withdrawn by '||?2 WHERE"
                             " dossier=?1 AND ?3 IS NOT NULL",
                   3, (const char *[]){id, user, when}, err);
    return rc ? rc : saved_by(db, id, user, err);
}

int sh_review_state(sqlite3 *db, const char *id, int *version, int *edits,
                    int *approved, char *by, char *at, size_t n,
                    sh_err *err)
{
    *version = *edits = *approved = 0;
    if (by && n)
        by[0] = 0;
    if (at && n)
        at[0] = 0;
    sqlite3_stmt *st;
    int rc = sh_db_prep(db, "SELECT version, edits, approved_by, approved_at"
                        " FROM review_dossier WHERE dossier=?", &st, err);
    if (rc)
        return rc;
    sh_db_bind_text(st, 1, id);
    if (sqlite3_step(st) == SQLITE_ROW) {
        *version = sqlite3_column_int(st, 0);
        *edits = sqlite3_column_int(st, 1);
        *approved = sqlite3_column_type(st, 2) != SQLITE_NULL;
        if (by && n && sqlite3_column_text(st, 2))
            snprintf(by, n, "%s", sqlite3_column_text(st, 2));
        if (at && n && sqlite3_column_text(st, 3))
            snprintf(at, n, "%s", sqlite3_column_text(st, 3));
    }
    sqlite3_finalize(st);
    return SH_OK;
}

void sh_review_sheet_release(sh_review_sheet *s)
{
    free(s->source_name);
    free(s->sha);
    memset(s, 0, sizeof *s);
}

int sh_review_sheet_find(sqlite3 *db, const char *id, int pageno,
                         int64_t page_id, sh_review_sheet *s, sh_err *err)
{
    memset(s, 0, sizeof *s);
    sqlite3_stmt *st;
    int rc = sh_db_prep(db,
        "SELECT p.id, p.source_name, p.source_sha256, p.frame, p.part,"
        " ifnull(p.pageno, 0), ifnull(p.quarter, 0), (SELECT count(*) FROM"
        " page q WHERE q.dossier=p.dossier AND q.source_name=p.source_name"
        " AND q.frame=p.frame) FROM page p WHERE p.dossier=?1 AND"
        " (CASE WHEN ?2>0 THEN p.pageno=?2 ELSE p.id=?3 END)", &st, err);
    if (rc)
        return rc;
    sh_db_bind_text(st, 1, id);
    sqlite3_bind_int(st, 2, pageno);
    sqlite3_bind_int64(st, 3, page_id);
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        s->page_id = sqlite3_column_int64(st, 0);
        s->source_name = sh_db_col_dup(st, 1, 0, NULL);
        s->sha = sh_db_col_dup(st, 2, 0, NULL);
        s->frame = sqlite3_column_int(st, 3);
        s->part = sqlite3_column_int(st, 4);
        s->pageno = sqlite3_column_int(st, 5);
        s->quarter = sqlite3_column_int(st, 6);
        s->nparts = sqlite3_column_int(st, 7);
    }
    sqlite3_finalize(st);
    if (r == SQLITE_ROW && !s->source_name) {
        sh_review_sheet_release(s);
        return sh_errf(err, SH_ENOMEM, "out of memory");
    }
    if (r != SQLITE_ROW)
        return r == SQLITE_DONE
                   ? sh_errf(err, SH_EUSAGE, "dossier %s has no page %lld",
                             id, pageno > 0 ? (long long)pageno
                                            : (long long)page_id)
                   : sh_errf(err, SH_EINDEX, "catalog: %s",
                             sqlite3_errmsg(db));
    return SH_OK;
}

static json_t *col_json(sqlite3_stmt *st, int i)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL
               ? json_null()
               : json_integer(sqlite3_column_int(st, i));
}

int sh_review_set_sheet(sqlite3 *db, const char *id, const sh_review_sheet *s,
                        int what, int value, const char *user,
                        json_t **before, sh_err *err)
{
    static const char *const col[] = {NULL, "quarter", "split", "blank"};
    static const int hi[] = {0, 3, 999, 1};
    if (before)
        *before = NULL;
    if (what < SH_REVIEW_ACCEPT || what > SH_REVIEW_BLANK || value < 0 ||
        value > hi[what])
        return sh_errf(err, SH_EUSAGE, "%s: %d is out of range (0..%d)",
                       col[what] ? col[what] : "accept", value, hi[what]);
    sqlite3_stmt *st;
    int rc = sh_db_prep(db, "SELECT quarter, split, blank FROM review_page"
                        " WHERE dossier=? AND source_name=? AND frame=?",
                        &st, err);
    if (rc)
        return rc;
    sh_db_bind_text(st, 1, id);
    sh_db_bind_text(st, 2, s->source_name);
    sqlite3_bind_int(st, 3, s->frame);
    json_t *b = NULL;
    if (sqlite3_step(st) == SQLITE_ROW)
        b = json_pack("{sososo}", "quarter", col_json(st, 0), "split",
                      col_json(st, 1), "blank", col_json(st, 2));
    else
        b = json_pack("{snsnsn}", "quarter", "split", "blank");
    sqlite3_finalize(st);
    char sql[512], when[SH_ISO_LEN], fr[16], val[16];
    sh_now_iso(when);
    snprintf(fr, sizeof fr, "%d", s->frame);
    snprintf(val, sizeof val, "%d", value);
    if (col[what])
        snprintf(sql, sizeof sql,
                 "INSERT INTO review_page(dossier, source_name, frame,"
                 " source_sha256, %s, accepted, user, time) VALUES(?1, ?2,"
                 " ?3, ?4, ?5, 1, ?6, ?7) ON CONFLICT DO UPDATE SET %s=?5,"
                 " source_sha256=?4, accepted=1, user=?6, time=?7",
                 col[what], col[what]);
    else
        snprintf(sql, sizeof sql,
                 "INSERT INTO review_page(dossier, source_name, frame,"
                 " source_sha256, accepted, user, time) VALUES(?1, ?2, ?3,"
                 " ?4, 1, ?6, ?7) ON CONFLICT DO UPDATE SET"
                 " accepted=1+0*?5, user=?6, time=?7");
    rc = sh_db_run(db, sql, 7, (const char *[]){id, s->source_name, fr,
                                                s->sha, val, user, when},
                   err);
    if (!rc)
        rc = saved_by(db, id, user, err);
    if (!rc && before)
        *before = b;
    else
        json_decref(b);
    return rc;
}

int sh_review_set_start(sqlite3 *db, const char *id, const sh_review_sheet *s,
                        int start, const char *user, int *before,
                        sh_err *err)
{
    if (before)
        *before = -1;
    sqlite3_stmt *st;
    int rc = sh_db_prep(db, "SELECT start FROM review_start WHERE dossier=?"
                        " AND source_name=? AND frame=? AND part=?", &st,
                        err);
    if (rc)
        return rc;
    sh_db_bind_text(st, 1, id);
    sh_db_bind_text(st, 2, s->source_name);
    sqlite3_bind_int(st, 3, s->frame);
    sqlite3_bind_int(st, 4, s->part);
    if (sqlite3_step(st) == SQLITE_ROW && before)
        *before = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    char when[SH_ISO_LEN], fr[16], pa[16], v[4];
    sh_now_iso(when);
    snprintf(fr, sizeof fr, "%d", s->frame);
    snprintf(pa, sizeof pa, "%d", s->part);
    snprintf(v, sizeof v, "%d", start != 0);
    rc = sh_db_run(db, "INSERT OR REPLACE INTO review_start(dossier,"
                   " source_name, frame, part, start, user, time)"
                   " VALUES(?,?,?,?,?,?,?)", 7,
                   (const char *[]){id, s->source_name, fr, pa, v, user,
                                    when}, err);
    return rc ? rc : saved_by(db, id, user, err);
}

int sh_review_word_check(const char *text, char **out, sh_err *err)
{
    *out = NULL;
    const char *v = text ? text : "";
    size_t n = strlen(v);
    if (n == 0)
        return sh_errf(err, SH_EINPUT, "the word is empty");
    if (u8_check((const uint8_t *)v, n))
        return sh_errf(err, SH_EINPUT, "the word is not valid UTF-8");
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)v[i] <= 0x20 || v[i] == 0x7f)
            return sh_errf(err, SH_EINPUT, "one word: no spaces or control "
                           "characters");
    size_t nn = 0;
    char *s;
    if (sh_text_nfc(v, n, &s, &nn))
        return sh_errf(err, SH_ENOMEM, "out of memory");
    if (u8_mbsnlen((const uint8_t *)s, nn) > 100) {
        free(s);
        return sh_errf(err, SH_EINPUT, "the word is longer than 100 "
                       "characters");
    }
    *out = s;
    return SH_OK;
}

int sh_review_set_word(sqlite3 *db, const char *id, const sh_review_sheet *s,
                       int word, const char *text, const char *user,
                       char **was, char **before, sh_err *err)
{
    *was = NULL;
    if (before)
        *before = NULL;
    sqlite3_stmt *st;
    int rc = sh_db_prep(db, "SELECT json_extract(words, '$[' || ?2 ||"
                        " '][9]') FROM page WHERE id=?1", &st, err);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, s->page_id);
    sqlite3_bind_int(st, 2, word);
    if (word >= 0 && sqlite3_step(st) == SQLITE_ROW)
        *was = sh_db_col_dup(st, 0, 0, NULL);
    sqlite3_finalize(st);
    if (!*was)
        return sh_errf(err, SH_EUSAGE, "page %d has no word %d", s->pageno,
                       word);
    if (before && !sh_db_prep(db, "SELECT text FROM review_word WHERE"
                              " dossier=? AND source_name=? AND frame=? AND"
                              " part=? AND word=?", &st, NULL)) {
        sh_db_bind_text(st, 1, id);
        sh_db_bind_text(st, 2, s->source_name);
        sqlite3_bind_int(st, 3, s->frame);
        sqlite3_bind_int(st, 4, s->part);
        sqlite3_bind_int(st, 5, word);
        if (sqlite3_step(st) == SQLITE_ROW)
            *before = sh_db_col_dup(st, 0, 0, NULL);
        sqlite3_finalize(st);
    }
    char when[SH_ISO_LEN], fr[16], pa[16], wn[16];
    sh_now_iso(when);
    snprintf(fr, sizeof fr, "%d", s->frame);
    snprintf(pa, sizeof pa, "%d", s->part);
    snprintf(wn, sizeof wn, "%d", word);
    rc = sh_db_run(db, "INSERT OR REPLACE INTO review_word(dossier,"
                   " source_name, frame, part, word, was, text, user, time)"
                   " VALUES(?,?,?,?,?,?,?,?,?)", 9,
                   (const char *[]){id, s->source_name, fr, pa, wn, *was,
                                    text, user, when}, err);
    return rc ? rc : saved_by(db, id, user, err);
}
