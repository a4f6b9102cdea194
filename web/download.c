/*
 * download.c — what leaves the site as a file.
 *
 *   sh__web_page_png   GET /page/ID/N.png: the page drawn from the source
 *                      scan by scanners/render.c, SH__WEB_RENDER_WIDTH px
 *   sh__web_pdf_file   GET /pdf/ID: the dossier PDF
 *
 * Method.  The scan and the PDF are found from catalog rows with the
 * agency condition (never from the URL), journalled before the answer
 * leaves (503 when the journal cannot be written) — a refused request
 * too (sh__web_denied) — and renders pass a gate two at a time (a 600 dpi
 * frame decodes to ~100 MB).
 */
#include "web_int.h"
#include "../scanners/render.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum MHD_Result sh__web_page_png(sh__web_ctx *c, const char *rest)
{
    char id[SH_WEB_ID_MAX + 1];
    int pageno;
    sh__web_pagerow r;
    if (sh__web_parse_id_page(rest, ".png", id, sizeof id, &pageno))
        return sh__web_denied(c, "page", rest, 0, 0);
    int f = sh__web_find_page(c, id, pageno, &r);
    if (f < 0)
        return sh__web_unavailable(c, 0, "Không đọc được danh mục hồ sơ.");
    if (!f)
        return sh__web_denied(c, "page", id, pageno, 0);
    uint8_t *png = NULL;
    size_t n = 0;
    sh_err err = {0};
    /* the render needs no catalog: its connection serves others meanwhile */
    sh__web_db_release(c);
    sh__web_gate_enter(&c->srv->renders);
    int rc = sh_prep_render_png(r.src, r.frame, &r.g, SH__WEB_RENDER_WIDTH,
                                &png, &n, &err);
    sh__web_gate_leave(&c->srv->renders);
    sh__web_pagerow_release(&r);
    int status = rc ? 500 : 200;
    if (rc)
        sh_log(SH_LOG_ERROR, "%s page %d: cannot render: %s", id, pageno,
               err.msg);
    if (sh__web_audit(c, "page", NULL, -1, id, pageno, status)) {
        free(png);
        return sh__web_unavailable(c, 0, "Không ghi được nhật ký truy cập.");
    }
    if (rc)
        return sh__web_reply_static(
            c, 500, "text/plain; charset=utf-8", K_HTML,
            "Không hiển thị được ảnh trang (xem nhật ký máy "
            "chủ).\n",
            NULL);
    return sh__web_reply_take(c, 200, "image/png", K_HTML, (char *)png, n,
                              NULL);
}

enum MHD_Result sh__web_pdf_file(sh__web_ctx *c, const char *id)
{
    if (!sh_web_valid_id(id))
        return sh__web_denied(c, "pdf", id, 0, 0);
    if (sh__web_ro_db(c))
        return sh__web_unavailable(c, 0, "Không đọc được danh mục hồ sơ.");
    sqlite3_stmt *st;
    char *pdf = NULL, *agency = NULL;
    int found = 0;
    if (sqlite3_prepare_v2(c->db,
                           "SELECT pdf, agency FROM dossier WHERE id=?1 AND"
                           " state='done' AND pdf IS NOT NULL AND (?2 OR"
                           " agency IN (SELECT agency FROM user_agency"
                           "  WHERE user=?3))",
                           -1, &st, NULL) != SQLITE_OK) {
        sh_log(SH_LOG_ERROR, "catalog: %s", sqlite3_errmsg(c->db));
        return sh__web_unavailable(c, 0, "Không đọc được danh mục hồ sơ.");
    }
    sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 2, c->u.admin);
    sqlite3_bind_text(st, 3, c->u.name, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st) == SQLITE_ROW) {
        pdf = sh_strdup((const char *)sqlite3_column_text(st, 0));
        agency = sh_strdup((const char *)sqlite3_column_text(st, 1));
        found = pdf && sh_web_user_may(&c->u, agency);
    }
    sqlite3_finalize(st);
    free(agency);
    if (!found) {
        free(pdf);
        return sh__web_denied(c, "pdf", id, 0, 0);
    }
    int fd = open(pdf, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
        sh_log(SH_LOG_ERROR, "%s: PDF of dossier %s cannot be read: %s", pdf,
               id, fd < 0 ? strerror(errno) : "not a regular file");
        if (fd >= 0)
            close(fd);
        free(pdf);
        sh__web_audit(c, "pdf", NULL, -1, id, 0, 500);
        return sh__web_unavailable(c, 0, "Không đọc được tệp PDF của hồ sơ.");
    }
    free(pdf);
    if (sh__web_audit(c, "pdf", NULL, -1, id, 0, 200)) {
        close(fd);
        return sh__web_unavailable(c, 0, "Không ghi được nhật ký truy cập.");
    }
    struct MHD_Response *r = MHD_create_response_from_fd64(
        (uint64_t)sb.st_size, fd);
    if (!r)
        close(fd);
    sh_buf disp = {0};
    sh_buf_adds(&disp, "inline; filename*=UTF-8''");
    sh_web_url_encode(&disp, id);
    sh_buf_adds(&disp, ".pdf");
    const char *extra[] = {"Content-Disposition", disp.data, NULL};
    enum MHD_Result ok = sh__web_finish(c, r, 200, "application/pdf", K_FILE,
                                        disp.data ? extra : NULL);
    sh_buf_release(&disp);
    return ok;
}
