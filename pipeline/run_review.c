/*
 * run_review.c — `sohoa run` and the clerk's decisions (index/review.h):
 * what a run reads back so that nothing a clerk did is lost.
 *
 *   sh_run_review_edits      the dossier's count of clerk's edits (an
 *                            input of its signature)
 *   sh_run_review_withdraw   an approved dossier whose scans or manifest
 *                            changed loses its approval, and the log
 *                            says so
 *   sh_run_review_fields     fields a clerk typed, over the suggestions
 *
 * Method.  A clerk's saves bump review_dossier.edits; the plan adds it to
 * the dossier's inputs signature, so the next run re-assembles the
 * dossier from cached OCR (nothing is recognised again) and the manual
 * values go into its documents, its XMP dates and its index.  A catalog
 * without the review tables (older than the review station) reads as "no
 * decisions".
 */
#include "run_int.h"
#include "../index/review.h"
#include "../ocr/fields.h"
#include "../ocr/ocr.h"
#include "../base/vntext.h"

#include <stdlib.h>
#include <string.h>

int sh_run_review_edits(run *r, const char *id)
{
    return sh_db_int(r->db, "SELECT edits FROM review_dossier WHERE"
                     " dossier=?", id);
}

int sh_run_review_withdraw(run *r, int d, const char *base,
                           const char *old_sig, sh_err *err)
{
    const char *id = r->ds[d].id;
    sqlite3_stmt *st;
    /* What the dossier was made of: the base signature recorded by the
       last plan, else (first plan since the review station) its whole
       signature, which has no edits in it then. */
    int rc = sh_db_prep(r->db,
                        "UPDATE review_dossier SET approved_by=NULL,"
                        " approved_at=NULL, version=version+1,"
                        " withdrawn='re-run: its scans or manifest changed'"
                        " WHERE dossier=?1 AND approved_by IS NOT NULL AND"
                        " coalesce(base_sig, ?3, '') <> ?2 RETURNING 1",
                        &st, err);
    if (rc)
        return rc;
    sh_db_bind_text(st, 1, id);
    sh_db_bind_text(st, 2, base);
    sh_db_bind_text(st, 3, old_sig);
    int hit = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    rc = sh_db_run(r->db, "INSERT INTO review_dossier(dossier, base_sig)"
                   " VALUES(?1, ?2) ON CONFLICT(dossier) DO UPDATE SET"
                   " base_sig=?2", 2, (const char *[]){id, base}, err);
    if (rc)
        return rc;
    if (hit) {
        sh_log(SH_LOG_WARN, "%s: approval withdrawn: the dossier is made "
               "again (its scans or manifest changed); a clerk must approve "
               "it again", id);
        sh_run_event(r, "warn", id, NULL, -1, "approval",
                     "withdrawn: the dossier is made again");
    }
    return SH_OK;
}

/* The sh_field of f named like SH_REVIEW_FIELDS[k]. */
static sh_field *field_of(sh_doc_fields *f, const char *name)
{
    return !strcmp(name, "TypeName")       ? &f->type_name
           : !strcmp(name, "CodeNumber")   ? &f->code_number
           : !strcmp(name, "CodeNotation") ? &f->code_notation
           : !strcmp(name, "IssuedDate")   ? &f->issued_date
           : !strcmp(name, "Place")        ? &f->place
           : !strcmp(name, "OrganName")    ? &f->organ_name
           : !strcmp(name, "Subject")      ? &f->subject
                                           : NULL;
}

int sh_run_review_fields(run *r, const char *id, sh_doc_fields *f, int n,
                         sh_err *err)
{
    sqlite3_stmt *st;
    if (sh_db_prep(r->db, "SELECT ordinal, field, value FROM review_field"
                   " WHERE dossier=?", &st, NULL))
        return SH_OK;   /* no review tables: nothing a clerk decided */
    sh_db_bind_text(st, 1, id);
    int rc = SH_OK;
    while (!rc && sqlite3_step(st) == SQLITE_ROW) {
        int ord = sqlite3_column_int(st, 0);
        const char *name = (const char *)sqlite3_column_text(st, 1);
        if (ord < 1 || ord > n || !name) {
            sh_log(SH_LOG_WARN, "%s: a clerk's %s of document %d has no "
                   "document now (%d read); kept for later", id,
                   name ? name : "?", ord, n);
            continue;
        }
        sh_field *x = field_of(&f[ord - 1], name);
        if (!x)
            continue;
        char *v = sh_db_col_dup(st, 2, 1, NULL);
        if (!v && sqlite3_column_type(st, 2) != SQLITE_NULL) {
            rc = sh_errf(err, SH_ENOMEM, "out of memory");
            break;
        }
        free(x->value);
        x->value = v;
        x->conf = 1;
    }
    sqlite3_finalize(st);
    return rc;
}

int sh_run_review_requeue(run *r, const char *id, sh_err *err)
{
    sqlite3_stmt *st;
    /* the page rows of every sheet of the dossier whose decision differs
       from the one its part 0 was recognised with */
    int rc = sh_db_prep(r->db,
        "DELETE FROM page WHERE dossier=?1 AND (source_name, frame) IN"
        " (SELECT p.source_name, p.frame FROM page p "
        SH_RUN_REVIEW_FORCE_JOIN " WHERE p.dossier=?1 AND p.part=0 AND"
        " p.state='ocr' AND rp.dossier IS NOT NULL AND printf('q%d s%d b%d',"
        " " SH_RUN_REVIEW_FORCE_COLS ") <> ifnull(json_extract(p.geom,"
        " '$.forced'), 'q0 s0 b0')) RETURNING source_name, frame", &st, err);
    if (rc)
        return rc;
    sh_db_bind_text(st, 1, id);
    int r2;
    while ((r2 = sqlite3_step(st)) == SQLITE_ROW)
        sh_log(SH_LOG_INFO, "%s/%s page %d: a clerk changed its geometry; "
               "recognised again", id, sqlite3_column_text(st, 0),
               sqlite3_column_int(st, 1) + 1);
    sqlite3_finalize(st);
    if (r2 != SQLITE_DONE)
        return sh_errf(err, SH_EINDEX, "catalog: %s", sqlite3_errmsg(r->db));
    return SH_OK;
}

int sh_run_review_page(run *r, const char *id, const char *source,
                       int frame, int part, sh_words *ws, int *fixed,
                       int *start, sh_err *err)
{
    *fixed = 0;
    *start = -1;
    sqlite3_stmt *st;
    if (sh_db_prep(r->db, "SELECT word, was, text FROM review_word WHERE"
                   " dossier=? AND source_name=? AND frame=? AND part=?",
                   &st, NULL))
        return SH_OK;   /* no review tables */
    sh_db_bind_text(st, 1, id);
    sh_db_bind_text(st, 2, source);
    sqlite3_bind_int(st, 3, frame);
    sqlite3_bind_int(st, 4, part);
    int rc = SH_OK;
    while (!rc && sqlite3_step(st) == SQLITE_ROW) {
        int n = sqlite3_column_int(st, 0);
        const char *was = (const char *)sqlite3_column_text(st, 1);
        const char *t = (const char *)sqlite3_column_text(st, 2);
        *fixed = 1;
        /* only while the OCR still reads what the clerk corrected */
        if (n < 0 || n >= ws->n || !was || !t || strcmp(ws->w[n].text, was))
            continue;
        char *nt = strdup(t);
        if (!nt) {
            rc = sh_errf(err, SH_ENOMEM, "out of memory");
            break;
        }
        free(ws->w[n].text);
        ws->w[n].text = nt;
    }
    sqlite3_finalize(st);
    if (!rc && *fixed && sh_words_text(ws))
        rc = sh_errf(err, SH_ENOMEM, "out of memory");
    /* stored as the OCR's text is (run_pool.c) */
    char *norm = NULL;
    if (!rc && *fixed && sh_text_norm(ws->text, &norm) == SH_OK && norm) {
        free(ws->text);
        ws->text = norm;
    }
    if (rc || sh_db_prep(r->db, "SELECT start FROM review_start WHERE"
                         " dossier=? AND source_name=? AND frame=? AND"
                         " part=?", &st, NULL))
        return rc;
    sh_db_bind_text(st, 1, id);
    sh_db_bind_text(st, 2, source);
    sqlite3_bind_int(st, 3, frame);
    sqlite3_bind_int(st, 4, part);
    if (sqlite3_step(st) == SQLITE_ROW)
        *start = sqlite3_column_int(st, 0) != 0;
    sqlite3_finalize(st);
    return SH_OK;
}
