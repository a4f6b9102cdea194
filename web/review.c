/*
 * review.c — the clerk's review queue on the site (Vietnamese).
 *
 *   sh__web_page_review   GET /review: what is left to check, per agency
 *   sh__web_api_review    GET /api/review: the same as JSON
 *
 * Method.  Only a clerk (of the dossier's agency) or an admin reviews: an
 * officer is answered 403 and the refusal is journalled.  The queue is
 * index/review.c's (sh_review_queue) with the user's agencies (an admin:
 * all), oldest batch first; every look at it is journalled.  The page
 * uses no script: one row per item, with its reason in Vietnamese.
 */
#include "web_int.h"
#include "../index/review.h"

#include <stdio.h>
#include <string.h>

static const char *reason_vi(const char *r)
{
    return !strcmp(r, "split")         ? "Tách trang chưa chắc chắn"
           : !strcmp(r, "low_conf")    ? "Độ tin cậy nhận dạng thấp"
           : !strcmp(r, "blank")       ? "Trang trắng?"
           : !strcmp(r, "turned")      ? "Trang đã được xoay"
           : !strcmp(r, "fields")      ? "Thông tin văn bản cần xác nhận"
           : !strcmp(r, "manifest")    ? "Lỗi tệp manifest"
           : !strcmp(r, "corrections") ? "Đã sửa dấu tiếng Việt tự động"
                                       : r;
}

/* The queue as the session's user may review it, or a refusal (403,
   journalled): *out set on SH_OK. */
static int queue(sh__web_ctx *c, json_t **out, int *status)
{
    *out = NULL;
    *status = 200;
    if (c->u.role < SH_WEB_ROLE_CLERK) {
        *status = 403;
        sh__web_audit(c, "review-denied", NULL, -1, NULL, 0, 403);
        return SH_EUSAGE;
    }
    sh_err err = {0};
    if (sh__web_ro_db(c)) {
        *status = 503;
        return SH_EINDEX;
    }
    int rc = sh_review_queue(c->db, c->u.admin ? NULL : c->u.agencies, out,
                             &err);
    if (rc) {
        sh_log(SH_LOG_ERROR, "review queue: %s", err.msg);
        *status = 503;
        return rc;
    }
    if (sh__web_audit(c, "review-queue", NULL, (int)json_array_size(*out),
                      NULL, 0, 200)) {
        json_decref(*out);
        *out = NULL;
        *status = 503;
        return SH_EINDEX;
    }
    return SH_OK;
}

enum MHD_Result sh__web_api_review(sh__web_ctx *c)
{
    json_t *items;
    int status;
    if (queue(c, &items, &status))
        return status == 403
                   ? sh__web_json_error(c, 403, "forbidden",
                                        "Chỉ cán bộ kiểm tra hồ sơ được "
                                        "duyệt.")
                   : sh__web_unavailable(c, 1, NULL);
    return sh__web_reply_json(c, 200, json_pack("{so}", "items", items));
}

/* The counts above the queue: per agency, the items and the dossiers,
   and per reason the items (in the queue's order of first appearance). */
static void counts(sh_buf *b, json_t *items)
{
    json_t *ag = json_object(), *why = json_object(), *seen = json_object();
    json_t *order_a = json_array(), *order_r = json_array();
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it) {
        const char *a = json_string_value(json_object_get(it, "agency"));
        const char *d = json_string_value(json_object_get(it, "dossier"));
        const char *r = json_string_value(json_object_get(it, "reason"));
        a = a ? a : "";
        r = r ? r : "";
        json_t *e = json_object_get(ag, a);
        if (!e) {
            e = json_pack("{sisi}", "items", 0, "dossiers", 0);
            json_object_set_new(ag, a, e);
            json_array_append_new(order_a, json_string(a));
        }
        json_object_set_new(e, "items", json_integer(
            json_integer_value(json_object_get(e, "items")) + 1));
        char key[512];
        snprintf(key, sizeof key, "%s\x1f%s", a, d ? d : "");
        if (!json_object_get(seen, key)) {
            json_object_set_new(seen, key, json_true());
            json_object_set_new(e, "dossiers", json_integer(
                json_integer_value(json_object_get(e, "dossiers")) + 1));
        }
        json_t *n = json_object_get(why, r);
        if (!n)
            json_array_append_new(order_r, json_string(r));
        json_object_set_new(why, r, json_integer(n ? json_integer_value(n) + 1
                                                   : 1));
    }
    sh_buf_adds(b, "<ul class=\"rvcounts\">");
    json_array_foreach(order_a, i, it) {
        const char *a = json_string_value(it);
        json_t *e = json_object_get(ag, a);
        sh_buf_adds(b, "<li>Cơ quan ");
        sh_web_html_escape(b, a[0] ? a : "(chưa có)");
        sh_buf_printf(b, ": %d hồ sơ, %d mục</li>",
                      (int)json_integer_value(json_object_get(e, "dossiers")),
                      (int)json_integer_value(json_object_get(e, "items")));
    }
    sh_buf_adds(b, "</ul><ul class=\"rvcounts\">");
    json_array_foreach(order_r, i, it) {
        const char *r = json_string_value(it);
        sh_buf_adds(b, "<li>");
        sh_web_html_escape(b, reason_vi(r));
        sh_buf_printf(b, ": %d</li>",
                      (int)json_integer_value(json_object_get(why, r)));
    }
    sh_buf_adds(b, "</ul>");
    json_decref(ag);
    json_decref(why);
    json_decref(seen);
    json_decref(order_a);
    json_decref(order_r);
}

enum MHD_Result sh__web_page_review(sh__web_ctx *c)
{
    json_t *items;
    int status;
    sh_buf b = {0};
    if (queue(c, &items, &status)) {
        if (status != 403)
            return sh__web_unavailable(c, 0, NULL);
        sh__web_html_start(&b, c, "Không được phép");
        sh_buf_adds(&b, "<h1>Không được phép</h1><p>Chỉ cán bộ kiểm tra "
                    "hồ sơ (clerk) được xem hàng đợi kiểm tra.</p>");
        sh__web_html_end(&b);
        return sh__web_reply_html(c, 403, &b, NULL);
    }
    sh__web_html_start(&b, c, "Kiểm tra hồ sơ");
    sh_buf_printf(&b, "<h1>Kiểm tra hồ sơ</h1><p>%zu mục cần kiểm tra "
                  "(lô cũ nhất trước).</p>", json_array_size(items));
    counts(&b, items);
    sh_buf_adds(&b, "<table class=\"review\"><thead><tr><th>Cơ quan</th>"
                "<th>Hồ sơ</th><th>Trang</th><th>Lý do</th></tr></thead>"
                "<tbody>");
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it) {
        const char *ag = json_string_value(json_object_get(it, "agency"));
        const char *id = json_string_value(json_object_get(it, "dossier"));
        json_t *pg = json_object_get(it, "page");
        sh_buf_adds(&b, "<tr><td>");
        sh_web_html_escape(&b, ag ? ag : "");
        sh_buf_adds(&b, "</td><td>");
        sh_web_html_escape(&b, id ? id : "");
        sh_buf_adds(&b, "</td><td>");
        if (json_is_integer(pg)) {
            sh_buf_adds(&b, "<a href=\"/review/");
            sh_web_html_escape(&b, id ? id : "");
            sh_buf_printf(&b, "/%d\">%d</a>", (int)json_integer_value(pg),
                          (int)json_integer_value(pg));
        }
        sh_buf_adds(&b, "</td><td>");
        sh_web_html_escape(&b, reason_vi(json_string_value(
                                   json_object_get(it, "reason"))));
        sh_buf_adds(&b, "</td></tr>");
    }
    sh_buf_adds(&b, "</tbody></table>");
    sh__web_html_end(&b);
    json_decref(items);
    return sh__web_reply_html(c, 200, &b, NULL);
}
