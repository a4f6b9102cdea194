/*
 * fields.c — header fields of a văn bản (NĐ 30/2020) from OCR words, and
 * whether the page begins a document.
 *
 * Function index
 *   sh_fields_extract       the whole extraction (public)
 *   sh_doc_fields_release   free the values (public)
 *   annex_top               a "PHỤ LỤC" page
 * and, through fields_int.h:
 *   fields_page.c           words → chunks; Quốc hiệu, motto → column
 *                           split, header zone
 *   fields_code.c           "Số:" → number, notation
 *   fields_date.c           "Place, ngày … năm …" → place, date
 *   fields_organ.c          the agency block → organ_name, organ_parent
 *   fields_type.c           title, V/v → type_name, subject
 *   fields_text.c           approximate matching, chunk text, values
 *
 * Method.  Each word is normalised and folded one byte per code point
 * (base/vntext.c), and Tesseract's lines are cut into chunks at wide gaps
 * (fields_page.c).  The Quốc hiệu and the motto anchor the right block
 * and give the column split and the header zone.  In the left block, the
 * Số line (fields_code.c), the agency lines above it (fields_organ.c)
 * and a V/v line under it (fields_type.c); in the right block, the date
 * line (fields_date.c); under the header, a centred type title and the
 * trích yếu under it (fields_type.c).  Each file's header says how.
 *
 * start_conf weighs the anchors: Quốc hiệu 0.40, motto 0.15, Số line 0.20
 * (0.12 without a number or notation), date 0.15, agency 0.05, title or
 * V/v 0.05, each by its match quality; × 0.8 without Quốc hiệu and motto;
 * × 0.3 when a centred "PHỤ LỤC" stands near the top.
 */
#include "fields_int.h"

#include <stdlib.h>
#include <string.h>

/* A centred "PHỤ LỤC" among the first lines: an annex, not a new
   document. */
static int annex_top(const page *p, int ybot)
{
    char s[MAXS];
    int cw = p->cx1 - p->cx0, ccx = (p->cx0 + p->cx1) / 2;
    int ymax = ybot >= 0 ? ybot + 8 * p->hmed : p->cy0 + 8 * p->hmed;
    for (int i = 0; i < p->nc && p->c[i].y0 < ymax; i++) {
        const chunk *c = &p->c[i];
        if (abs(chunk_centre(c) - ccx) > cw / 5)
            continue;
        sh__fl_letters_of(p, c, s);
        if (!strncmp(s, "phuluc", 6))
            return 1;
    }
    return 0;
}

int sh_fields_extract(const sh_words *words, int w_px, int h_px,
                      sh_doc_fields *out)
{
    if (!out)
        return SH_EUSAGE;
    memset(out, 0, sizeof *out);
    if (!words)
        return SH_EUSAGE;
    if (words->n <= 0 || w_px <= 0 || h_px <= 0)
        return SH_OK;
    page p;
    found F;
    memset(&F, 0, sizeof F);
    F.qh = F.motto = F.so = F.date = F.vv = F.title = -1;
    F.vv_last = F.subj_last = -1;
    int rc = sh__fl_page_build(&p, words, w_px, h_px);
    if (!rc && p.nc)
        rc = sh__fl_find_anchors(&p, &F);
    if (rc || !p.nc)
        goto out;

    int at = 0;
    F.so = sh__fl_find_so(&p, &F, &at);
    if (F.so >= 0) {
        char s[MAXS];
        int map[MAXS], mcp[MAXS];
        const chunk *c = &p.c[F.so];
        int n = sh__fl_chunk_fold(&p, c, 0, 0, s, map, mcp);
        if (at >= n) {
            /* "Số:" alone: the number was left blank for the hand, and the
               notation stands apart on the same row */
            int j = sh__fl_next_on_row(&p, F.so);
            if (j >= 0) {
                c = &p.c[j];
                n = sh__fl_chunk_fold(&p, c, 0, 0, s, map, mcp);
                at = 0;
            }
        }
        rc = sh__fl_parse_code(&p, c, s, n, map, mcp, at, out);
        if (rc)
            goto out;
    }
    date_hit dh = {0, 0, 0, -1, 0};
    F.date = sh__fl_find_date(&p, &F, &dh);
    if (F.date >= 0 && (rc = sh__fl_put_date(&p, &p.c[F.date], &dh, out)))
        goto out;
    if ((rc = sh__fl_find_organ(&p, &F, out)) ||
        (rc = sh__fl_find_vv(&p, &F, out)))
        goto out;
    /* bottom of the header: the lowest anchor found */
    int ybot = -1;
    int anchors[] = {F.qh, F.motto, F.so, F.date, F.vv_last};
    for (size_t i = 0; i < SH_ARRAY_LEN(anchors); i++)
        if (anchors[i] >= 0 && p.c[anchors[i]].y1 > ybot)
            ybot = p.c[anchors[i]].y1;
    for (int i = 0; i < F.norg; i++)
        if (p.c[F.org[i]].y1 > ybot)
            ybot = p.c[F.org[i]].y1;
    if (ybot >= 0 && (rc = sh__fl_find_title(&p, &F, ybot, out)))
        goto out;
    if ((rc = sh__fl_infer_type(&F, out)))
        goto out;

    /* start_conf */
    float s = 0;
    if (F.qh >= 0)
        s += 0.40f * F.qh_q;
    if (F.motto >= 0)
        s += 0.15f * F.motto_q;
    if (F.so >= 0)
        s += out->code_notation.value || out->code_number.value ? 0.20f
                                                                 : 0.12f;
    if (F.date >= 0)
        s += 0.15f * dh.q;
    if (out->organ_name.value)
        s += 0.05f;
    if (F.title >= 0 || F.vv >= 0)
        s += 0.05f;
    if (F.qh < 0 && F.motto < 0)
        s *= 0.8f;
    if (annex_top(&p, ybot))
        s *= 0.3f;
    out->start_conf = clamp01(s);

out:
    sh__fl_page_free(&p);
    if (rc)
        sh_doc_fields_release(out);
    return rc;
}

void sh_doc_fields_release(sh_doc_fields *f)
{
    if (!f)
        return;
    sh_field *all[] = {&f->organ_parent, &f->organ_name, &f->code_number,
                       &f->code_notation, &f->place, &f->issued_date,
                       &f->type_name, &f->subject};
    for (size_t i = 0; i < SH_ARRAY_LEN(all); i++)
        free(all[i]->value);
    memset(f, 0, sizeof *f);
}
