/*
 * pages.c — the HTML pages of the site, in Vietnamese.
 *
 *   sh__web_html_start, sh__web_html_end   the frame of every page
 *   sh__web_not_found, sh__web_unavailable 404 and 503 (page or JSON)
 *   sh__web_page_search   GET /: search form, results, pagination
 *   sh__web_page_view     GET /view/ID/N?q=: one page, its image, the
 *                         boxes of the hit words (drawn by app.js from
 *                         /api/page), the PDF link
 *   (static) doc_line, search_link, doc_types, agency_options
 *
 * Method.  All HTML is built here with every variable part escaped
 * (sh_web_html_escape, sh_web_url_encode); there is no inline script or
 * style (the CSP forbids them).  A search or a page view that cannot be
 * journalled is answered 503, not with results; a refused view is
 * journalled too.  The lists offered (agencies, document types) come
 * only from dossiers the user may see.
 */
#include "web_int.h"
#include "../index/docs.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sh__web_html_start(sh_buf *b, sh__web_ctx *c, const char *title)
{
    sh_buf_adds(b, "<!DOCTYPE html>\n<html lang=\"vi\"><head>"
                   "<meta charset=\"utf-8\">"
                   "<meta name=\"viewport\" content=\"width=device-width, "
                   "initial-scale=1\"><title>");
    sh_web_html_escape(b, title);
    sh_buf_adds(b, " — Kho hồ sơ số hóa</title>"
                   "<link rel=\"stylesheet\" href=\"/static/app.css\">"
                   "<script src=\"/static/app.js\" defer></script>"
                   "</head>\n<body><header class=\"top\"><a class=\"brand\" "
                   "href=\"/\">Kho hồ sơ số hóa</a>");
    if (c->u.name[0]) {
        sh_buf_adds(b, "<div class=\"who\"><span class=\"user\">");
        sh_web_html_escape(b, c->u.name);
        sh_buf_adds(b, c->u.admin ? " (quản trị)" : "");
        sh_buf_adds(b, "</span><form method=\"post\" action=\"/logout\">"
                       "<button type=\"submit\">Đăng xuất</button></form>"
                       "</div>");
    }
    sh_buf_adds(b, "</header>\n<main>\n");
}

void sh__web_html_end(sh_buf *b)
{
    sh_buf_adds(b, "</main>\n<footer>Dữ liệu cá nhân: mọi lượt tìm kiếm và "
                   "xem hồ sơ đều được ghi nhật ký.</footer>\n</body></html>\n");
}

enum MHD_Result sh__web_not_found(sh__web_ctx *c, int api)
{
    if (api)
        return sh__web_json_error(c, 404, "not_found", "Không tìm thấy.");
    sh_buf b = {0};
    sh__web_html_start(&b, c, "Không tìm thấy");
    sh_buf_adds(&b, "<h1>Không tìm thấy</h1><p>Trang hoặc hồ sơ này không "
                    "tồn tại, hoặc bạn không có quyền xem.</p>"
                    "<p><a href=\"/\">Về trang tìm kiếm</a></p>");
    sh__web_html_end(&b);
    return sh__web_reply_html(c, 404, &b, NULL);
}

enum MHD_Result sh__web_unavailable(sh__web_ctx *c, int api, const char *why)
{
    if (api)
        return sh__web_json_error(c, 503, "unavailable", why);
    sh_buf b = {0};
    sh__web_html_start(&b, c, "Tạm thời không phục vụ được");
    sh_buf_adds(&b, "<h1>Tạm thời không phục vụ được</h1><p class=\"error\">");
    sh_web_html_escape(&b, why);
    sh_buf_adds(&b, "</p>");
    sh__web_html_end(&b);
    return sh__web_reply_html(c, 503, &b, NULL);
}

/* "Văn bản 2 (trang 2–3): Tờ trình số 112/TTr-STNMT ngày 26/02/2024 —
   trích yếu" under a hit, when the run recorded the page's document. */
static void doc_line(sh_buf *b, const sh_docinfo *doc)
{
    if (!doc || !doc->ordinal)
        return;
    const sh_docinfo di = *doc;
    sh_buf_printf(b, "<p class=\"doc\">Văn bản %d (trang %d–%d)",
                  di.ordinal, di.first_page, di.last_page);
    if (di.type_name || di.code || di.issued_date)
        sh_buf_adds(b, ": ");
    if (di.type_name)
        sh_web_html_escape(b, di.type_name);
    if (di.code) {
        sh_buf_adds(b, di.type_name ? " số " : "Số ");
        sh_web_html_escape(b, di.code);
    }
    if (di.issued_date) {
        /* ISO → dd/mm/yyyy as Vietnamese write it (partial dates as
           they are). */
        int y = 0, m = 0, d = 0;
        int k = sscanf(di.issued_date, "%4d-%2d-%2d", &y, &m, &d);
        if (k == 3)
            sh_buf_printf(b, " ngày %02d/%02d/%04d", d, m, y);
        else if (k == 2)
            sh_buf_printf(b, " tháng %02d/%04d", m, y);
        else if (k == 1)
            sh_buf_printf(b, " năm %04d", y);
    }
    if (di.subject) {
        sh_buf_adds(b, " — ");
        sh_web_html_escape(b, di.subject);
    }
    if (di.origin && !strcmp(di.origin, "ocr"))
        sh_buf_adds(b, " <span class=\"meta\">(đọc tự động, cần "
                       "kiểm tra)</span>");
    sh_buf_adds(b, "</p>");
}

static int search_link(sh_buf *b, const sh__web_sparams *p, int offset)
{
    sh_buf_adds(b, "/?q=");
    sh_web_url_encode(b, p->q);
    if (p->agency) {
        sh_buf_adds(b, "&amp;agency=");
        sh_web_url_encode(b, p->agency);
    }
    if (p->year)
        sh_buf_printf(b, "&amp;year=%d", p->year);
    if (p->prefix) {
        sh_buf_adds(b, "&amp;prefix=");
        sh_web_url_encode(b, p->prefix);
    }
    const char *dk[] = {"type", "code", "from", "to"};
    const char *dv[] = {p->dtype, p->dcode, p->dfrom, p->dto};
    for (int i = 0; i < 4; i++)
        if (dv[i] && dv[i][0]) {
            sh_buf_printf(b, "&amp;%s=", dk[i]);
            sh_web_url_encode(b, dv[i]);
        }
    if (offset)
        sh_buf_printf(b, "&amp;offset=%d", offset);
    return SH_OK;
}

/* The document types of the dossiers the user may see, offered to the
   type filter (another agency's types say what it holds). */
static void doc_types(sh_buf *b, sh__web_ctx *c)
{
    sqlite3_stmt *st;
    sh_buf_adds(b, "<datalist id=\"doctypes\">");
    if (!sh__web_ro_db(c) &&
        sqlite3_prepare_v2(c->db,
                           "SELECT DISTINCT t.type_name FROM document t"
                           " JOIN dossier d ON d.id=t.dossier"
                           " WHERE t.type_name IS NOT NULL AND d.state='done'"
                           " AND (?1 OR d.agency IN (SELECT agency FROM"
                           "  user_agency WHERE user=?2))"
                           " ORDER BY 1 LIMIT 200",
                           -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_int(st, 1, c->u.admin);
        sqlite3_bind_text(st, 2, c->u.name, -1, SQLITE_TRANSIENT);
        while (sqlite3_step(st) == SQLITE_ROW) {
            sh_buf_adds(b, "<option value=\"");
            sh_web_html_escape(b, (const char *)sqlite3_column_text(st, 0));
            sh_buf_adds(b, "\">");
        }
        sqlite3_finalize(st);
    }
    sh_buf_adds(b, "</datalist>");
}

/* The agencies offered in the filter: the user's, or all for an admin. */
static void agency_options(sh_buf *b, sh__web_ctx *c, const char *sel)
{
    sh_buf_adds(b, "<option value=\"\">Tất cả</option>");
    if (!c->u.admin) {
        for (char **a = c->u.agencies; a && *a; a++) {
            sh_buf_adds(b, "<option value=\"");
            sh_web_html_escape(b, *a);
            sh_buf_adds(b, sel && !strcmp(sel, *a) ? "\" selected>" : "\">");
            sh_web_html_escape(b, *a);
            sh_buf_adds(b, "</option>");
        }
        return;
    }
    sqlite3_stmt *st;
    if (sh__web_ro_db(c) ||
        sqlite3_prepare_v2(c->db,
                           "SELECT DISTINCT agency FROM dossier "
                           "WHERE agency IS NOT NULL ORDER BY 1",
                           -1, &st, NULL) != SQLITE_OK)
        return;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *a = (const char *)sqlite3_column_text(st, 0);
        sh_buf_adds(b, "<option value=\"");
        sh_web_html_escape(b, a);
        sh_buf_adds(b, sel && !strcmp(sel, a) ? "\" selected>" : "\">");
        sh_web_html_escape(b, a);
        sh_buf_adds(b, "</option>");
    }
    sqlite3_finalize(st);
}

enum MHD_Result sh__web_page_search(sh__web_ctx *c)
{
    sh__web_sparams p;
    const char *why;
    sh_hits hits = {0};
    sh_buf b = {0};
    int bad = sh__web_parse_search(c, &p, &why), failed = 0;
    if (!p.q) {
        free(p.q);
        return sh__web_unavailable(c, 0, "Hết bộ nhớ.");
    }
    if (!bad && p.q[0])
        failed = sh__web_run_search(c, &p, &hits);
    sh__web_html_start(&b, c, p.q[0] ? p.q : "Tìm kiếm hồ sơ");
    sh_buf_adds(&b, "<h1>Tìm kiếm hồ sơ</h1>\n"
                    "<form class=\"search\" method=\"get\" action=\"/\" "
                    "role=\"search\"><div class=\"qrow\">"
                    "<label class=\"sr\" for=\"q\">Từ khóa</label>"
                    "<input id=\"q\" name=\"q\" type=\"search\" "
                    "placeholder=\"Nhập từ cần tìm, có dấu hoặc không dấu\" "
                    "autofocus value=\"");
    sh_web_html_escape(&b, p.q);
    sh_buf_adds(&b, "\"><button type=\"submit\">Tìm kiếm</button></div>"
                    "<div class=\"filters\"><label>Cơ quan "
                    "<select name=\"agency\">");
    agency_options(&b, c, p.agency);
    sh_buf_adds(&b, "</select></label><label>Năm <input class=\"year\" "
                    "name=\"year\" inputmode=\"numeric\" value=\"");
    if (p.year)
        sh_buf_printf(&b, "%d", p.year);
    sh_buf_adds(&b, "\"></label><label>Mã hồ sơ <input name=\"prefix\" "
                    "placeholder=\"VD: HS-2024\" value=\"");
    sh_web_html_escape(&b, p.prefix ? p.prefix : "");
    sh_buf_adds(&b, "\"></label></div><div class=\"filters\"><label>Loại "
                    "văn bản <input name=\"type\" list=\"doctypes\" "
                    "placeholder=\"VD: Quyết định\" value=\"");
    sh_web_html_escape(&b, p.dtype ? p.dtype : "");
    sh_buf_adds(&b, "\"></label><label>Số, ký hiệu <input name=\"code\" "
                    "placeholder=\"VD: QĐ-UBND\" value=\"");
    sh_web_html_escape(&b, p.dcode ? p.dcode : "");
    sh_buf_adds(&b, "\"></label><label>Ban hành từ <input name=\"from\" "
                    "type=\"date\" value=\"");
    sh_web_html_escape(&b, p.dfrom ? p.dfrom : "");
    sh_buf_adds(&b, "\"></label><label>đến <input name=\"to\" "
                    "type=\"date\" value=\"");
    sh_web_html_escape(&b, p.dto ? p.dto : "");
    sh_buf_adds(&b, "\"></label></div>");
    doc_types(&b, c);
    sh_buf_adds(&b, "</form>\n");
    if (bad) {
        sh_buf_adds(&b, "<p class=\"error\">Tham số không hợp lệ: ");
        sh_web_html_escape(&b, why);
        sh_buf_adds(&b, "</p>");
    } else if (failed) {
        sh_hits_release(&hits);
        free(p.q);
        sh_buf_release(&b);
        return sh__web_unavailable(c, 0,
                                   failed == SH_ETIMEOUT
                                       ? SH__WEB_TOO_BROAD_VI
                                       : "Không tìm kiếm được hoặc không ghi "
                                         "được nhật ký truy cập; vui lòng "
                                         "thử lại sau.");
    } else if (p.q[0]) {
        if (p.qcut)
            sh_buf_printf(&b, "<p class=\"notice\">Câu tìm kiếm quá dài: chỉ "
                              "dùng %d byte đầu.</p>",
                          SH_QUERY_MAX_BYTES);
        if (!hits.total) {
            sh_buf_adds(&b, "<p class=\"summary\"><strong>Không tìm thấy kết "
                            "quả</strong> cho «");
            sh_web_html_escape(&b, p.q);
            sh_buf_adds(&b, "». Thử bỏ bớt từ, hoặc gõ không dấu.</p>");
        } else {
            sh_buf_printf(&b, "<p class=\"summary\">%s <strong>%d</strong> "
                              "trang cho «",
                          hits.approx ? "Khoảng" : "Tìm thấy", hits.total);
            sh_web_html_escape(&b, p.q);
            sh_buf_printf(&b, "»%s</p>\n<ol class=\"hits\" start=\"%d\">",
                          hits.n ? "" : " (không còn kết quả ở trang này)",
                          p.offset + 1);
        }
        sh_docinfo *docs = NULL;
        if (sh__web_hit_docs(c, &hits, &docs))
            sh_log(SH_LOG_WARN, "search: the hits' documents not shown");
        for (int i = 0; i < hits.n; i++) {
            sh_hit *h = &hits.h[i];
            sh_buf_adds(&b, "<li class=\"hit\"><div class=\"hit-head\">"
                            "<a class=\"open\" href=\"/view/");
            sh_web_url_encode(&b, h->dossier);
            sh_buf_printf(&b, "/%d?q=", h->page);
            sh_web_url_encode(&b, p.q);
            sh__web_shard_arg(&b, c, h->shard, 0);
            sh_buf_adds(&b, "\">Hồ sơ ");
            sh_web_html_escape(&b, h->dossier);
            sh_buf_printf(&b, " — Trang %d</a><span class=\"meta\">Mã hồ sơ: ",
                          h->page);
            sh_web_html_escape(&b, h->dossier);
            sh_buf_adds(&b, "</span><span class=\"meta\">Cơ quan: ");
            sh_web_html_escape(&b, h->agency ? h->agency : "—");
            sh_buf_adds(&b, "</span>");
            if (!h->exact)
                sh_buf_adds(&b, "<span class=\"meta\">(khớp khi bỏ dấu)</span>");
            sh_buf_adds(&b, "<a class=\"meta\" href=\"/pdf/");
            sh_web_url_encode(&b, h->dossier);
            sh__web_shard_arg(&b, c, h->shard, 1);
            sh_buf_printf(&b, "#page=%d\">PDF</a></div>", h->page);
            doc_line(&b, docs ? &docs[i] : NULL);
            sh_buf_adds(&b, "<p class=\"snippet\">");
            sh_web_snippet_html(&b, h->snippet);
            sh_buf_adds(&b, "</p></li>\n");
        }
        sh__web_hit_docs_free(&docs, hits.n);
        if (hits.total)
            sh_buf_adds(&b, "</ol>\n");
        if (hits.total > p.limit) {
            int pages = (hits.total + p.limit - 1) / p.limit;
            int cur = p.offset / p.limit + 1;
            sh_buf_adds(&b, "<nav class=\"pager\">");
            if (p.offset > 0) {
                sh_buf_adds(&b, "<a rel=\"prev\" href=\"");
                search_link(&b, &p, p.offset > p.limit ? p.offset - p.limit : 0);
                sh_buf_adds(&b, "\">‹ Trang trước</a>");
            } else {
                sh_buf_adds(&b, "<span class=\"off\">‹ Trang trước</span>");
            }
            sh_buf_printf(&b, "<span>Trang %d / %s%d</span>", cur,
                          hits.approx ? "~" : "", pages);
            if (p.offset + p.limit < hits.total) {
                sh_buf_adds(&b, "<a rel=\"next\" href=\"");
                search_link(&b, &p, p.offset + p.limit);
                sh_buf_adds(&b, "\">Trang sau ›</a>");
            } else {
                sh_buf_adds(&b, "<span class=\"off\">Trang sau ›</span>");
            }
            sh_buf_adds(&b, "</nav>\n");
        }
    }
    sh__web_html_end(&b);
    sh_hits_release(&hits);
    free(p.q);
    return sh__web_reply_html(c, bad ? 400 : 200, &b, NULL);
}

enum MHD_Result sh__web_page_view(sh__web_ctx *c, const char *rest)
{
    char id[SH_WEB_ID_MAX + 1];
    int pageno;
    sh__web_pagerow r;
    if (sh__web_parse_id_page(rest, "", id, sizeof id, &pageno))
        return sh__web_denied(c, "view", rest, 0, 0);
    int f = sh__web_find_page(c, id, pageno, &r);
    if (f < 0)
        return sh__web_unavailable(c, 0, "Không đọc được danh mục hồ sơ.");
    if (!f)
        return sh__web_denied(c, "view", id, pageno, 0);
    if (sh__web_audit(c, "view", NULL, -1, id, pageno, 200)) {
        sh__web_pagerow_release(&r);
        return sh__web_unavailable(c, 0, "Không ghi được nhật ký truy cập.");
    }
    char *q = sh_web_utf8_clean(sh__web_arg(c, "q"), SH_QUERY_MAX_BYTES, NULL);
    sh_buf b = {0}, title = {0};
    sh_buf_printf(&title, "Hồ sơ %s — Trang %d", id, pageno);
    sh__web_html_start(&b, c, title.data ? title.data : id);
    sh_buf_adds(&b, "<nav class=\"pager\"><a href=\"/?q=");
    sh_web_url_encode(&b, q);
    sh_buf_adds(&b, "\">← Quay lại kết quả</a></nav><h1>Hồ sơ ");
    sh_web_html_escape(&b, id);
    sh_buf_printf(&b, " — Trang %d", pageno);
    if (r.pages)
        sh_buf_printf(&b, " / %d", r.pages);
    sh_buf_adds(&b, "</h1><p class=\"meta\">Cơ quan: ");
    sh_web_html_escape(&b, r.agency ? r.agency : "—");
    sh_buf_adds(&b, " · Mã hồ sơ: ");
    sh_web_html_escape(&b, id);
    sh_buf_adds(&b, " · <a id=\"pdflink\" href=\"/pdf/");
    sh_web_url_encode(&b, id);
    sh__web_shard_arg(&b, c, c->shard, 1);
    sh_buf_printf(&b, "#page=%d\">Mở bản PDF tại trang này</a></p>"
                      "<nav class=\"pager\">",
                  pageno);
    for (int k = 0; k < 2; k++) {
        int to = k ? pageno + 1 : pageno - 1;
        const char *label = k ? "Trang sau ›" : "‹ Trang trước";
        if (to < 1 || (r.pages && to > r.pages)) {
            sh_buf_printf(&b, "<span class=\"off\">%s</span>", label);
            continue;
        }
        sh_buf_adds(&b, "<a href=\"/view/");
        sh_web_url_encode(&b, id);
        sh_buf_printf(&b, "/%d?q=", to);
        sh_web_url_encode(&b, q);
        sh__web_shard_arg(&b, c, c->shard, 0);
        sh_buf_printf(&b, "\">%s</a>", label);
    }
    int w = SH__WEB_RENDER_WIDTH;
    int h = r.g.ocr_w > 0 ? (int)lround((double)w * r.g.ocr_h / r.g.ocr_w)
                          : w * 1414 / 1000;
    sh_buf_adds(&b, "</nav><p id=\"boxinfo\" class=\"boxinfo\"></p>"
                    "<div class=\"pagewrap\" id=\"pagewrap\"><img id=\"pageimg\" "
                    "src=\"/page/");
    sh_web_url_encode(&b, id);
    sh_buf_printf(&b, "/%d.png", pageno);
    sh__web_shard_arg(&b, c, c->shard, 1);
    sh_buf_printf(&b, "\" width=\"%d\" height=\"%d\" alt=\"Ảnh trang %d "
                      "của hồ sơ ",
                  w, h, pageno);
    sh_web_html_escape(&b, id);
    sh_buf_adds(&b, "\" data-boxes=\"/api/page/");
    sh_web_url_encode(&b, id);
    sh_buf_printf(&b, "/%d?q=", pageno);
    sh_web_url_encode(&b, q);
    sh__web_shard_arg(&b, c, c->shard, 0);
    sh_buf_adds(&b, "\"></div>\n");
    sh__web_html_end(&b);
    free(q);
    sh_buf_release(&title);
    sh__web_pagerow_release(&r);
    return sh__web_reply_html(c, 200, &b, NULL);
}
