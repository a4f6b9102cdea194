/*
 * review_api.c — a clerk's saves on the site: POST /api/review/ID.
 *
 *   sh__web_api_review_save   one decision on dossier ID, journalled
 *
 * The body is JSON: {"version": N, "action": A, ...} with A one of
 *   field    "ordinal", "field", "value"  a document field (as `doc set`)
 *   approve, withdraw                     Duyệt hồ sơ / rút duyệt
 *   accept   "page"                       the page is right as recognised
 *   blank    "page", "blank" 0/1          blank or not
 *   turn     "page", "by" 90/180/270      turned further clockwise
 *   split    "page", "split" 0..999       0: one page (the split removed);
 *                                         else cut at that per-mille of x
 *   start    "page", "start" 0/1          a văn bản starts here / joins
 *   word     "page", "word" N, "text"     word N of the text layer
 * "page" is the PDF page number, or "page_id" the page row (a blank page
 * is in no PDF), or "file", "frame" (from 1) and "part" (0/1) the sheet
 * (what stays while the dossier is rebuilt).
 *
 * Method.  Only a clerk of the dossier's agency or an admin saves: an
 * officer is answered 403, a clerk of another agency 404 as for a dossier
 * that does not exist; both are journalled.  A save is one write
 * transaction: sh_review_begin checks the version the page was loaded
 * with (optimistic concurrency: a stale save is refused with 409 and a
 * Vietnamese message naming who saved last), the decision is stored,
 * then the audit row with the value before and after.  A save that
 * changes the dossier's outputs starts its rebuild in the background
 * (rebuild.c); the answer says so ("rebuild": "queued").
 */
#include "web_int.h"
#include "../index/db.h"
#include "../index/review.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A refusal as JSON, journalled with the action and what was asked. */
static enum MHD_Result refuse(sh__web_ctx *c, const char *id, int status,
                              const char *code, const char *msg,
                              const char *action, int page)
{
    sh__web_audit(c, action, NULL, -1, id, page, status);
    return sh__web_json_error(c, status, code, msg);
}

static int jint(json_t *o, const char *k, int dflt)
{
    json_t *v = json_object_get(o, k);
    return json_is_integer(v) ? (int)json_integer_value(v) : dflt;
}

/* The dossier's agency and state; 1 found, 0 not, -1 error. */
static int dossier_of(sqlite3 *db, const char *id, char *agency, size_t n,
                      int *done)
{
    sqlite3_stmt *st;
    if (sh_db_prep(db, "SELECT agency, state FROM dossier WHERE id=?", &st,
                   NULL))
        return -1;
    sh_db_bind_text(st, 1, id);
    int r = sqlite3_step(st), found = r == SQLITE_ROW;
    agency[0] = 0;
    if (found) {
        if (sqlite3_column_text(st, 0))
            snprintf(agency, n, "%s", sqlite3_column_text(st, 0));
        const char *s = (const char *)sqlite3_column_text(st, 1);
        *done = s && !strcmp(s, "done");
    }
    sqlite3_finalize(st);
    return found ? 1 : r == SQLITE_DONE ? 0 : -1;
}

/* Vietnamese for a stale save: who saved last, when, which version. */
static void stale_msg(sqlite3 *db, const char *id, int had, char *out,
                      size_t n)
{
    sqlite3_stmt *st;
    char by[128] = "người khác", at[40] = "?";
    int v = 0;
    if (!sh_db_prep(db, "SELECT version, saved_by, saved_at FROM"
                    " review_dossier WHERE dossier=?", &st, NULL)) {
        sh_db_bind_text(st, 1, id);
        if (sqlite3_step(st) == SQLITE_ROW) {
            v = sqlite3_column_int(st, 0);
            if (sqlite3_column_text(st, 1))
                snprintf(by, sizeof by, "%s", sqlite3_column_text(st, 1));
            if (sqlite3_column_text(st, 2))
                snprintf(at, sizeof at, "%s", sqlite3_column_text(st, 2));
        }
        sqlite3_finalize(st);
    }
    snprintf(out, n, "Hồ sơ %s đã được %s sửa lúc %s (phiên bản %d, bạn "
             "đang xem phiên bản %d). Hãy tải lại trang rồi sửa lại.", id, by,
             at, v, had);
}

/* Carry out action a of body b on dossier id, inside the transaction.
   *detail: what changed (before, after); *content: 1 when the outputs
   change.  Returns SH_OK or an error with err set. */
static int apply(sqlite3 *db, sh__web_ctx *c, const char *id, const char *a,
                 json_t *b, int done, json_t *detail, int *content,
                 int *pageno, sh_err *err)
{
    const char *user = c->u.name;
    int rc;
    *content = 1;
    if (!strcmp(a, "approve") || !strcmp(a, "withdraw")) {
        *content = 0;
        if (!strcmp(a, "approve") && !done)
            return sh_errf(err, SH_EUSAGE, "Hồ sơ chưa xử lý xong (chưa có "
                           "PDF): chưa thể duyệt.");
        return sh_review_approve(db, id, user, !strcmp(a, "approve"), err);
    }
    if (!strcmp(a, "field")) {
        const char *f = json_string_value(json_object_get(b, "field"));
        const char *v = json_string_value(json_object_get(b, "value"));
        int ord = jint(b, "ordinal", 0);
        char *val = NULL, *before = NULL;
        const sh_review_field_def *def = NULL;
        if ((rc = sh_review_field_check(f, v, &val, &def, err)))
            return rc;
        rc = sh_review_set_field(db, id, ord, def, val, user, &before, err);
        json_object_set_new(detail, "document", json_integer(ord));
        json_object_set_new(detail, "field", json_string(def->name));
        json_object_set_new(detail, "before", sh__web_jstr(before));
        json_object_set_new(detail, "after", sh__web_jstr(val));
        free(val);
        free(before);
        return rc;
    }
    sh_review_sheet s;
    int64_t pid = jint(b, "page_id", 0);
    const char *file = json_string_value(json_object_get(b, "file"));
    sqlite3_stmt *st;
    if (file && !sh_db_prep(db, "SELECT id FROM page WHERE dossier=? AND"
                            " source_name=? AND frame=? AND part=?", &st,
                            NULL)) {
        /* the sheet by what does not change when it is read again */
        sh_db_bind_text(st, 1, id);
        sh_db_bind_text(st, 2, file);
        sqlite3_bind_int(st, 3, jint(b, "frame", 0) - 1);
        sqlite3_bind_int(st, 4, jint(b, "part", 0));
        pid = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0)
                                             : -1;
        sqlite3_finalize(st);
    }
    if ((rc = sh_review_sheet_find(db, id, file ? 0 : jint(b, "page", 0),
                                   pid, &s, err)))
        return rc == SH_EUSAGE
                   ? sh_errf(err, rc, "Hồ sơ không có trang này (hoặc đang "
                             "được xử lý lại: chờ rồi tải lại trang).")
                   : rc;
    *pageno = s.pageno;
    json_object_set_new(detail, "sheet", json_pack("{sssisi}", "file",
                        s.source_name, "frame", s.frame + 1, "part",
                        s.part));
    json_t *before = NULL;
    if (!strcmp(a, "accept") || !strcmp(a, "blank") || !strcmp(a, "turn") ||
        !strcmp(a, "split")) {
        int what, v;
        if (!strcmp(a, "accept")) {
            what = SH_REVIEW_ACCEPT, v = 0;
            *content = 0;
        } else if (!strcmp(a, "blank")) {
            what = SH_REVIEW_BLANK, v = jint(b, "blank", -1);
        } else if (!strcmp(a, "turn")) {
            int by = jint(b, "by", 0);
            what = SH_REVIEW_QUARTER;
            v = by == 90 || by == 180 || by == 270
                    ? (s.quarter + by / 90) % 4 : -1;
        } else {
            what = SH_REVIEW_SPLIT, v = jint(b, "split", -1);
        }
        rc = sh_review_set_sheet(db, id, &s, what, v, user, &before, err);
        if (!rc && what == SH_REVIEW_QUARTER) {
            /* turning a sheet again starts from what a clerk forced */
            json_t *q = json_object_get(before, "quarter");
            if (json_is_integer(q)) {
                v = ((int)json_integer_value(q) + jint(b, "by", 0) / 90) % 4;
                rc = sh_review_set_sheet(db, id, &s, what, v, user, NULL,
                                         err);
            }
        }
        json_object_set_new(detail, "before", before ? before : json_null());
        json_object_set_new(detail, "after", json_pack("{si}", a, v));
    } else if (!strcmp(a, "start")) {
        int was = -1, v = jint(b, "start", -1);
        if (v != 0 && v != 1)
            rc = sh_errf(err, SH_EUSAGE, "start: 0 or 1");
        else
            rc = sh_review_set_start(db, id, &s, v, user, &was, err);
        json_object_set_new(detail, "before", was < 0 ? json_null()
                                                      : json_integer(was));
        json_object_set_new(detail, "after", json_integer(v));
    } else if (!strcmp(a, "word")) {
        char *t = NULL, *was = NULL, *prev = NULL;
        int n = jint(b, "word", -1);
        rc = sh_review_word_check(json_string_value(json_object_get(b,
                                  "text")), &t, err);
        if (!rc)
            rc = sh_review_set_word(db, id, &s, n, t, user, &was, &prev,
                                    err);
        json_object_set_new(detail, "word", json_integer(n));
        json_object_set_new(detail, "before", sh__web_jstr(prev ? prev
                                                                : was));
        json_object_set_new(detail, "after", sh__web_jstr(t));
        free(t);
        free(was);
        free(prev);
    } else {
        rc = sh_errf(err, SH_EUSAGE, "Thao tác không rõ: %s", a);
    if (rc == SH_EUSAGE && strncmp(err->msg, "Thao", 4) &&
        strncmp(err->msg, "Hồ sơ", 4))
        sh_errf(err, rc, "Không thực hiện được: %.900s", err->msg);
    }
    sh_review_sheet_release(&s);
    return rc;
}

enum MHD_Result sh__web_api_review_save(sh__web_ctx *c, const char *id)
{
    if (c->u.role < SH_WEB_ROLE_CLERK)
        return refuse(c, id, 403, "forbidden", "Chỉ cán bộ kiểm tra hồ sơ "
                      "được sửa và duyệt.", "review-denied", 0);
    if (!sh_web_valid_id(id))
        return sh__web_denied(c, "review-save", id, 0, 1);
    json_error_t je;
    json_t *b = json_loadb(c->rq->body.data ? c->rq->body.data : "",
                           c->rq->body.len, 0, &je);
    const char *a = json_string_value(json_object_get(b, "action"));
    json_t *ver = json_object_get(b, "version");
    if (!json_is_object(b) || !a || !json_is_integer(ver)) {
        json_decref(b);
        return refuse(c, id, 400, "bad_request", "Yêu cầu không hợp lệ: "
                      "cần JSON {\"version\", \"action\", …}.",
                      "review-bad", 0);
    }
    sqlite3 *db = NULL;
    sh_err err = {0};
    char agency[128], msg[1200], act[48];
    int done = 0, found, content = 0, pageno = 0, withdrawn = 0, rc;
    if (sh__web_rw_db(c->srv, &db)) {
        json_decref(b);
        return sh__web_unavailable(c, 1, NULL);
    }
    found = dossier_of(db, id, agency, sizeof agency, &done);
    if (found < 0 || (found && !sh_web_user_may_review(&c->u, agency))) {
        sqlite3_close(db);
        json_decref(b);
        if (found < 0)
            return sh__web_unavailable(c, 1, NULL);
        return sh__web_denied(c, "review-save", id, 0, 1);
    }
    if (!found) {
        sqlite3_close(db);
        json_decref(b);
        return sh__web_denied(c, "review-save", id, 0, 1);
    }
    snprintf(act, sizeof act, "review-%s", a);
    json_t *detail = json_object();
    int had = (int)json_integer_value(ver);
    rc = sh_db_exec(db, "BEGIN IMMEDIATE", &err);
    if (!rc) {
        int pre_content = strcmp(a, "approve") && strcmp(a, "withdraw") &&
                          strcmp(a, "accept");
        rc = sh_review_begin(db, id, had, pre_content, "sửa trên trang kiểm "
                             "tra", NULL, &withdrawn, &err);
        if (rc == SH_ELOCKED)
            stale_msg(db, id, had, msg, sizeof msg);
    }
    if (!rc)
        rc = apply(db, c, id, a, b, done, detail, &content, &pageno, &err);
    if (!rc)
        rc = sh_db_exec(db, "COMMIT", &err);
    else
        sh_db_exec(db, "ROLLBACK", NULL);
    int version = 0, edits = 0, approved = 0;
    if (!rc)
        sh_review_state(db, id, &version, &edits, &approved, NULL, NULL, 0,
                        &err);
    sqlite3_close(db);
    json_decref(b);
    json_object_set_new(detail, "version", json_integer(rc ? had : version));
    char *d = json_dumps(detail, JSON_COMPACT);
    json_decref(detail);
    if (rc) {
        int st = rc == SH_ELOCKED ? 409
                 : rc == SH_EINPUT || rc == SH_EUSAGE ? 400 : 503;
        if (rc != SH_ELOCKED)
            snprintf(msg, sizeof msg, "%s%s", rc == SH_EINPUT
                     ? "Giá trị không hợp lệ: " : rc == SH_EUSAGE
                     ? "" : "Lỗi kho dữ liệu: ", err.msg);
        sh__web_audit_detail(c, act, NULL, -1, id, pageno, st, d);
        free(d);
        return sh__web_json_error(c, st, rc == SH_ELOCKED ? "stale"
                                  : st == 400 ? "invalid" : "unavailable",
                                  msg);
    }
    if (sh__web_audit_detail(c, act, NULL, -1, id, pageno, 200, d)) {
        free(d);
        return sh__web_unavailable(c, 1, NULL);
    }
    free(d);
    int queued = content && sh__web_rebuild(c->srv, id) == SH_OK;
    return sh__web_reply_json(c, 200, json_pack(
        "{sbsisbsbss}", "ok", 1, "version", version, "approved", approved,
        "withdrawn", withdrawn, "rebuild", queued ? "queued" : "none"));
}
