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

#include <stdlib.h>
#include <string.h>

int sh_run_review_edits(run *r, const char *id)
{
    sqlite3_stmt *st;
    int n = 0;
    if (sh_db_prep(r->db, "SELECT edits FROM review_dossier WHERE dossier=?",
                   &st, NULL))
        return 0;
    sh_db_bind_text(st, 1, id);
    if (sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return n;
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
