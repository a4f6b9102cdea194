/*
 * review_page.c — the clerk's page view (Vietnamese).
 *
 *   sh__web_page_review_page  GET /review/ID/N: the frame, the actions
 *                             GET /review/ID/N.png: the sheet as scanned
 *   sh__web_api_review_page   GET /api/review/ID/N: what the page script
 *                             draws (static/review.js, assets.c)
 *
 * Method.  The sheet is shown as scanned: the stored frame without turn,
 * cut or deskew (scanners/render.c with a geometry that is the whole
 * frame as stored).  What the run decided is drawn over it by the script
 * from the JSON: the page's outline on the sheet (one half of a two-up
 * sheet: the split line), the content box and the word boxes, each mapped
 * from OCR pixels to the stored frame's pixels through the PDF placement
 * (sh_geom_image_matrix, inverted), which carries turn, region and skew.
 * The JSON also carries the dossier's version (sent back with every
 * save), the fields of a document that starts on this page with their
 * OCR confidence, and the previous / next item of the queue.  Only a
 * clerk of the dossier's agency or an admin: officers 403, other agencies
 * 404, all journalled.
 */
#include "web_int.h"
#include "../index/review.h"
#include "../scanners/prep.h"
#include "../scanners/render.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Refusals: 403 for an officer, 404 (journalled) when not found or
   another agency's.  0 = allowed, r filled. */
static int gate(sh__web_ctx *c, const char *rest, const char *suffix,
                char *id, size_t n, int *pageno, sh__web_pagerow *r,
                enum MHD_Result *ans, int api)
{
    if (c->u.role < SH_WEB_ROLE_CLERK) {
        sh__web_audit(c, "review-denied", NULL, -1, NULL, 0, 403);
        *ans = api ? sh__web_json_error(c, 403, "forbidden", "Chỉ cán bộ "
                                        "kiểm tra hồ sơ được xem.")
                   : sh__web_reply_static(c, 403, "text/plain; charset=utf-8",
                                          K_HTML, "Không được phép.\n", NULL);
        return -1;
    }
    if (sh__web_parse_id_page(rest, suffix, id, n, pageno)) {
        *ans = sh__web_denied(c, "review-page", rest, 0, api);
        return -1;
    }
    int f = sh__web_find_page(c, id, *pageno, r);
    if (f < 0) {
        *ans = sh__web_unavailable(c, api, NULL);
        return -1;
    }
    if (!f || !sh_web_user_may_review(&c->u, r->agency)) {
        if (f)
            sh__web_pagerow_release(r);
        *ans = sh__web_denied(c, "review-page", id, *pageno, api);
        return -1;
    }
    return 0;
}

/* OCR px (x, y) of page g → px of the stored frame. */
static void to_frame(const sh_geom *g, const double m[6], double x, double y,
                     double *fx, double *fy)
{
    double k = sh_geom_pt_per_px(g);
    double px = x * k, py = g->page_h_pt - y * k;
    double det = m[0] * m[3] - m[1] * m[2];
    if (det == 0)
        det = 1;
    double u = (m[3] * (px - m[4]) - m[2] * (py - m[5])) / det;
    double v = (-m[1] * (px - m[4]) + m[0] * (py - m[5])) / det;
    *fx = u * g->src_w;
    *fy = (1 - v) * g->src_h;
}

/* The four corners of OCR box (x0,y0)-(x1,y1) on the stored frame. */
static json_t *poly(const sh_geom *g, const double m[6], double x0,
                    double y0, double x1, double y1)
{
    double xs[4] = {x0, x1, x1, x0}, ys[4] = {y0, y0, y1, y1};
    json_t *a = json_array();
    for (int i = 0; i < 4; i++) {
        double fx, fy;
        to_frame(g, m, xs[i], ys[i], &fx, &fy);
        json_array_append_new(a, json_pack("[ii]", (int)(fx + 0.5),
                                           (int)(fy + 0.5)));
    }
    return a;
}

/* The documents starting on page pageno: fields, OCR confidence, manual. */
static json_t *docs_of(sqlite3 *db, const char *id, int pageno)
{
    json_t *out = json_array();
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT ordinal, type_name, type_conf,"
            " code_number, code_conf, code_notation, code_conf, issued_date,"
            " date_conf, place, date_conf, organ_name, organ_conf, subject,"
            " subject_conf FROM document WHERE dossier=? AND first_page=?",
            -1, &st, NULL) != SQLITE_OK)
        return out;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 2, pageno);
    while (sqlite3_step(st) == SQLITE_ROW) {
        int ord = sqlite3_column_int(st, 0);
        json_t *fs = json_array();
        for (int i = 0; i < SH_REVIEW_NFIELDS; i++) {
            const char *v = (const char *)sqlite3_column_text(st, 1 + 2 * i);
            int manual = 0;
            sqlite3_stmt *q;
            if (sqlite3_prepare_v2(db, "SELECT 1 FROM review_field WHERE"
                    " dossier=? AND ordinal=? AND field=?", -1, &q, NULL) ==
                SQLITE_OK) {
                sqlite3_bind_text(q, 1, id, -1, SQLITE_TRANSIENT);
                sqlite3_bind_int(q, 2, ord);
                sqlite3_bind_text(q, 3, SH_REVIEW_FIELDS[i].name, -1,
                                  SQLITE_STATIC);
                manual = sqlite3_step(q) == SQLITE_ROW;
                sqlite3_finalize(q);
            }
            json_array_append_new(fs, json_pack("{sssosfsb}", "name",
                SH_REVIEW_FIELDS[i].name, "value", sh__web_jstr(v), "conf",
                sqlite3_column_double(st, 2 + 2 * i), "manual", manual));
        }
        json_array_append_new(out, json_pack("{siso}", "ordinal", ord,
                                             "fields", fs));
    }
    sqlite3_finalize(st);
    return out;
}

/* The queue items before and after (id, pageno): URLs or null. */
static void neighbours(sh__web_ctx *c, const char *id, int pageno,
                       json_t *o)
{
    json_t *items = NULL;
    sh_err err = {0};
    json_t *prev = json_null(), *next = json_null();
    if (!sh_review_queue(c->db, c->u.admin ? NULL : c->u.agencies, &items,
                         &err)) {
        size_t n = json_array_size(items), at = n;
        char url[256], last[256] = "";
        int found = 0;
        for (size_t i = 0; i < n; i++) {
            json_t *it = json_array_get(items, i);
            const char *d = json_string_value(json_object_get(it, "dossier"));
            json_t *p = json_object_get(it, "page");
            int pg = json_is_integer(p) ? (int)json_integer_value(p) : 1;
            snprintf(url, sizeof url, "/review/%s/%d", d ? d : "", pg);
            int here = d && !strcmp(d, id) && pg == pageno;
            if (here && !found) {
                found = 1;
                at = i;
                if (last[0]) {
                    json_decref(prev);
                    prev = json_string(last);
                }
            }
            if (!here && found && at < i) {
                next = json_string(url);
                break;
            }
            if (!here)
                snprintf(last, sizeof last, "%s", url);
        }
        if (!found && n) {
            /* this page is not (or no longer) in the queue: go on with
               its first item */
            json_t *it = json_array_get(items, 0);
            json_t *p = json_object_get(it, "page");
            snprintf(url, sizeof url, "/review/%s/%d", json_string_value(
                json_object_get(it, "dossier")), json_is_integer(p)
                ? (int)json_integer_value(p) : 1);
            next = json_string(url);
        }
        json_decref(items);
    }
    json_object_set_new(o, "prev", prev);
    json_object_set_new(o, "next", next);
}

enum MHD_Result sh__web_api_review_page(sh__web_ctx *c, const char *rest)
{
    char id[SH_WEB_ID_MAX + 1];
    int pageno;
    sh__web_pagerow r;
    enum MHD_Result ans;
    if (gate(c, rest, "", id, sizeof id, &pageno, &r, &ans, 1))
        return ans;
    sh_err err = {0};
    int version = 0, edits = 0, approved = 0;
    sh_review_state(c->db, id, &version, &edits, &approved, NULL, NULL, 0,
                    &err);
    sh_review_sheet s;
    int have = !sh_review_sheet_find(c->db, id, pageno, 0, &s, &err);
    double m[6];
    sh_geom_image_matrix(&r.g, m);
    json_t *o = json_pack("{sssisisisbsbs{sisi}}", "dossier", id, "page",
                          pageno, "pages", r.pages, "version", version,
                          "approved", approved, "busy",
                          sh__web_rebuild_busy(id), "img", "w", r.g.src_w,
                          "h", r.g.src_h);
    if (have) {
        json_object_set_new(o, "sheet", json_pack("{sssisisisi}", "file",
                            s.source_name, "frame", s.frame + 1, "part",
                            s.part, "nparts", s.nparts, "quarter",
                            s.quarter));
        sh_review_sheet_release(&s);
    }
    json_object_set_new(o, "blank", json_boolean(r.g.blank));
    json_object_set_new(o, "outline", poly(&r.g, m, 0, 0, r.g.ocr_w,
                                           r.g.ocr_h));
    json_object_set_new(o, "crop", poly(&r.g, m, r.g.crop_x, r.g.crop_y,
                                        r.g.crop_x + r.g.crop_w,
                                        r.g.crop_y + r.g.crop_h));
    json_t *ws = json_loads(r.words ? r.words : "[]", 0, NULL), *wo =
        json_array();
    size_t i;
    json_t *w;
    json_array_foreach(ws, i, w) {
        int x0, y0, x1, y1;
        double conf;
        const char *t;
        if (json_unpack(w, "[iiiif*]", &x0, &y0, &x1, &y1, &conf) ||
            !(t = json_string_value(json_array_get(w, 9))))
            continue;
        json_array_append_new(wo, json_pack("{sisssiso}", "i", (int)i,
                              "text", t, "conf", (int)conf, "poly",
                              poly(&r.g, m, x0, y0, x1, y1)));
    }
    json_decref(ws);
    json_object_set_new(o, "words", wo);
    json_object_set_new(o, "documents", docs_of(c->db, id, pageno));
    neighbours(c, id, pageno, o);
    sh__web_pagerow_release(&r);
    if (sh__web_audit(c, "review-page", NULL, -1, id, pageno, 200)) {
        json_decref(o);
        return sh__web_unavailable(c, 1, NULL);
    }
    return sh__web_reply_json(c, 200, o);
}

static enum MHD_Result sheet_png(sh__web_ctx *c, const char *rest)
{
    char id[SH_WEB_ID_MAX + 1];
    int pageno;
    sh__web_pagerow r;
    enum MHD_Result ans;
    if (gate(c, rest, ".png", id, sizeof id, &pageno, &r, &ans, 0))
        return ans;
    /* the frame as stored: no turn, no region, no skew */
    sh_geom g = {0};
    g.src_w = r.g.src_w;
    g.src_h = r.g.src_h;
    g.src_xres = r.g.src_xres;
    g.src_yres = r.g.src_yres;
    g.full_w = g.reg_w = g.ocr_w = r.g.src_w;
    g.full_h = g.reg_h = g.ocr_h = r.g.src_h;
    g.nparts = 1;
    uint8_t *png = NULL;
    size_t n = 0;
    sh_err err = {0};
    sh__web_gate_enter(&c->srv->renders);
    int rc = sh_prep_render_png(r.src, r.frame, &g, SH__WEB_RENDER_WIDTH,
                                &png, &n, &err);
    sh__web_gate_leave(&c->srv->renders);
    sh__web_pagerow_release(&r);
    if (rc)
        sh_log(SH_LOG_ERROR, "%s page %d: cannot render its sheet: %s", id,
               pageno, err.msg);
    if (sh__web_audit(c, "review-sheet", NULL, -1, id, pageno,
                      rc ? 500 : 200)) {
        free(png);
        return sh__web_unavailable(c, 0, NULL);
    }
    if (rc)
        return sh__web_reply_static(c, 500, "text/plain; charset=utf-8",
                                    K_HTML, "Không hiển thị được ảnh.\n",
                                    NULL);
    return sh__web_reply_take(c, 200, "image/png", K_HTML, (char *)png, n,
                              NULL);
}

enum MHD_Result sh__web_page_review_page(sh__web_ctx *c, const char *rest)
{
    size_t n = strlen(rest);
    if (n > 4 && !strcmp(rest + n - 4, ".png"))
        return sheet_png(c, rest);
    char id[SH_WEB_ID_MAX + 1];
    int pageno;
    sh__web_pagerow r;
    enum MHD_Result ans;
    if (gate(c, rest, "", id, sizeof id, &pageno, &r, &ans, 0))
        return ans;
    sh__web_pagerow_release(&r);
    sh_buf b = {0};
    sh__web_html_start(&b, c, "Kiểm tra trang");
    sh_buf_adds(&b, "<h1>Kiểm tra hồ sơ ");
    sh_web_html_escape(&b, id);
    sh_buf_printf(&b, " — trang %d</h1>", pageno);
    sh_buf_adds(&b, "<div id=\"review\" data-api=\"/api/review/");
    sh_web_html_escape(&b, id);
    sh_buf_printf(&b, "/%d\" data-save=\"/api/review/", pageno);
    sh_web_html_escape(&b, id);
    sh_buf_adds(&b, "\"><p id=\"rvstatus\" class=\"rvstatus\" "
                "aria-live=\"polite\">Đang tải…</p>"
                "<p class=\"rvkeys\">Phím: j/k hoặc ←/→ mục sau/trước · a "
                "chấp nhận · r xoay 90° · s tách/bỏ tách · Shift + bấm "
                "vào tờ: tách (dời đường tách) tại chỗ bấm · b trang trắng / "
                "không trắng · n văn bản mới từ trang này / nối vào văn bản "
                "trước · Enter lưu trường · bấm vào một từ để sửa</p><div class=\"rvbar\">"
                "<button type=\"button\" data-act=\"accept\">Chấp nhận (a)"
                "</button><button type=\"button\" data-act=\"turn\">Xoay "
                "(r)</button><button type=\"button\" data-act=\"split\">"
                "Tách / bỏ tách (s)</button><button type=\"button\" "
                "data-act=\"blank\">Trắng / không trắng (b)</button><button "
                "type=\"button\" data-act=\"start\">Văn bản mới / nối (n)"
                "</button>"
                "<button type=\"button\" data-act=\"approve\" "
                "id=\"rvapprove\">Duyệt hồ sơ</button></div>"
                "<div class=\"rvmain\"><div id=\"rvsheet\" class=\"rvsheet\">"
                "<img id=\"rvimg\" alt=\"Tờ quét\" src=\"/review/");
    sh_web_html_escape(&b, id);
    sh_buf_printf(&b, "/%d.png\"></div><div id=\"rvdocs\" class=\"rvdocs\">"
                  "</div></div></div>", pageno);
    sh_buf_adds(&b, "<script src=\"/static/review.js\"></script>");
    sh__web_html_end(&b);
    sh__web_audit(c, "review-page", NULL, -1, id, pageno, 200);
    return sh__web_reply_html(c, 200, &b, NULL);
}
