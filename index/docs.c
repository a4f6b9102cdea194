/*
 * docs.c — which document (văn bản) of a dossier holds a page.
 *
 *   sh_doc_at, sh_docinfo_release, sh_doc_json
 */
#include "docs.h"
#include "db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sh_doc_at(sqlite3 *db, const char *dossier, int page, sh_docinfo *out,
              sh_err *err)
{
    memset(out, 0, sizeof *out);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db,
                           "SELECT ordinal, first_page, last_page, type_name,"
                           " code_number, code_notation, issued_date,"
                           " organ_name, subject, origin FROM document WHERE"
                           " dossier=?1 AND first_page<=?2 AND last_page>=?2"
                           " ORDER BY ordinal LIMIT 1",
                           -1, &st, NULL) != SQLITE_OK) {
        /* A catalog from before documents were recorded has no table:
           no document, not an error. */
        if (strstr(sqlite3_errmsg(db), "no such table"))
            return SH_OK;
        return sh_errf(err, SH_EINDEX, "catalog: %s", sqlite3_errmsg(db));
    }
    sh_db_bind_text(st, 1, dossier);
    sqlite3_bind_int(st, 2, page);
    int rc = sqlite3_step(st), oom = 0;
    if (rc == SQLITE_ROW) {
        out->ordinal = sqlite3_column_int(st, 0);
        out->first_page = sqlite3_column_int(st, 1);
        out->last_page = sqlite3_column_int(st, 2);
        out->type_name = sh_db_col_dup(st, 3, 0, &oom);
        const char *num = (const char *)sqlite3_column_text(st, 4);
        const char *nota = (const char *)sqlite3_column_text(st, 5);
        if (num || nota) {
            size_t n = (num ? strlen(num) : 0) + (nota ? strlen(nota) : 0) + 2;
            out->code = malloc(n);
            if (out->code)
                snprintf(out->code, n, "%s%s%s", num ? num : "",
                         nota ? "/" : "", nota ? nota : "");
            else
                oom = 1;
        }
        out->issued_date = sh_db_col_dup(st, 6, 0, &oom);
        out->organ_name = sh_db_col_dup(st, 7, 0, &oom);
        out->subject = sh_db_col_dup(st, 8, 0, &oom);
        out->origin = sh_db_col_dup(st, 9, 0, &oom);
        rc = SH_OK;
    } else if (rc == SQLITE_DONE) {
        rc = SH_OK;
    } else {
        rc = sh_errf(err, SH_EINDEX, "catalog: %s", sqlite3_errmsg(db));
    }
    sqlite3_finalize(st);
    if (oom) {
        sh_docinfo_release(out);
        return sh_errf(err, SH_ENOMEM, "out of memory");
    }
    return rc;
}

void sh_docinfo_release(sh_docinfo *d)
{
    if (!d)
        return;
    free(d->type_name);
    free(d->code);
    free(d->issued_date);
    free(d->organ_name);
    free(d->subject);
    free(d->origin);
    memset(d, 0, sizeof *d);
}

json_t *sh_doc_json(sqlite3 *db, const char *dossier, int page)
{
    sh_docinfo di;
    sh_err err = {0};
    if (sh_doc_at(db, dossier, page, &di, &err) || di.ordinal == 0) {
        sh_docinfo_release(&di);
        return json_null();
    }
    json_t *o = json_pack("{sisisi}", "ordinal", di.ordinal, "first_page",
                          di.first_page, "last_page", di.last_page);
    const char *k[] = {"type", "code", "issued", "organ", "subject",
                       "origin"};
    const char *v[] = {di.type_name, di.code, di.issued_date, di.organ_name,
                       di.subject, di.origin};
    for (int i = 0; o && i < 6; i++)
        json_object_set_new(o, k[i], v[i] ? json_string(v[i]) : json_null());
    sh_docinfo_release(&di);
    return o ? o : json_null();
}
