/*
 * ocr_bands.c — a large page recognised in horizontal bands (see
 * sh_ocr_page_banded in ocr.h).
 *
 *   sh_ocr_page_banded   bands, each read by sh_ocr_page, words merged
 *   (static) dark_in_row  dark pixels of one row (sampled)
 *   (static) best_cut     the emptiest row near a place
 *   (static) append_band  a band's words moved into the page's
 *
 * Method.  The number of bands is ceil(pixels / (SH_OCR_BAND_PX / 2)).
 * For each cut, the rows within a quarter band of its even place are
 * scanned (every second pixel, dark = below 128); the middle of the
 * longest run of rows with the fewest dark pixels is the cut.  A band is
 * a copy of its rows (pixClipRectangle), read, then freed before the next,
 * so at most one band's Tesseract state is alive.  Words keep everything
 * (symbols, alternatives); boxes and baselines move down by the band's
 * top, line and paragraph numbers go on from the band above.
 */
#include "ocr.h"

#include <stdlib.h>
#include <string.h>

static int dark_in_row(PIX *pix, int y)
{
    int w = pixGetWidth(pix), n = 0;
    const l_uint32 *line = pixGetData(pix) + (size_t)y * (size_t)pixGetWpl(pix);
    if (pixGetDepth(pix) == 1) {
        for (int x = 0; x < w; x += 2)
            n += GET_DATA_BIT(line, x) != 0;
    } else {
        for (int x = 0; x < w; x += 2)
            n += GET_DATA_BYTE(line, x) < 128;
    }
    return n;
}

/* The cut near row `at`, within [lo, hi). */
static int best_cut(PIX *pix, int at, int lo, int hi)
{
    int best = -1, run = 0, best_run = 0, best_mid = at, run_start = lo;
    for (int y = lo; y < hi; y++) {
        int d = dark_in_row(pix, y);
        if (best < 0 || d < best) {
            best = d;
            run = 0;
            best_run = 0;
        }
        if (d == best) {
            if (run == 0)
                run_start = y;
            run++;
            if (run > best_run) {
                best_run = run;
                best_mid = run_start + run / 2;
            }
        } else {
            run = 0;
        }
    }
    return best_mid;
}

/* Move the words of b (read from rows y0..) into out.  Returns SH_OK or
   SH_ENOMEM (b then still owns what was not moved). */
static int append_band(sh_words *out, sh_words *b, int y0, int *line0,
                       int *par0, double *conf_sum)
{
    if (out->n + b->n > out->cap) {
        int ncap = out->cap ? out->cap : 256;
        while (ncap < out->n + b->n)
            ncap *= 2;
        sh_word *nw = realloc(out->w, (size_t)ncap * sizeof *nw);
        if (!nw)
            return SH_ENOMEM;
        out->w = nw;
        out->cap = ncap;
    }
    int maxline = -1, maxpar = -1;
    for (int i = 0; i < b->n; i++) {
        sh_word w = b->w[i];
        w.y0 += y0;
        w.y1 += y0;
        if (w.baseline_y >= 0)
            w.baseline_y += y0;
        if (w.line > maxline)
            maxline = w.line;
        if (w.par > maxpar)
            maxpar = w.par;
        w.line += *line0;
        w.par += *par0;
        out->w[out->n++] = w;
        *conf_sum += w.conf;
    }
    *line0 += maxline + 1;
    *par0 += maxpar + 1;
    free(b->w);           /* the words' texts and symbols moved to out */
    b->w = NULL;
    b->n = b->cap = 0;
    sh_words_release(b);
    return SH_OK;
}

int sh_ocr_page_banded(sh_ocr *e, PIX *pix, int dpi, int timeout_ms,
                       sh_words *out, sh_err *err)
{
    if (!pix || !out)
        return sh_ocr_page(e, pix, dpi, timeout_ms, out, err);
    int w = pixGetWidth(pix), h = pixGetHeight(pix);
    double px = (double)w * h;
    if (px <= SH_OCR_BAND_PX)
        return sh_ocr_page(e, pix, dpi, timeout_ms, out, err);
    memset(out, 0, sizeof *out);
    int nb = (int)(px / (SH_OCR_BAND_PX / 2.0) + 0.999);
    if (nb > h / 64)
        nb = h / 64 > 1 ? h / 64 : 1;
    double t0 = sh_now();
    int rc = SH_OK, y0 = 0, line0 = 0, par0 = 0;
    double conf_sum = 0;
    for (int b = 0; b < nb && !rc; b++) {
        int y1 = h;
        if (b + 1 < nb) {
            int at = (int)((long long)h * (b + 1) / nb), q = h / nb / 4;
            int lo = at - q > y0 + 1 ? at - q : y0 + 1;
            y1 = best_cut(pix, at, lo, at + q < h ? at + q : h);
        }
        BOX *box = boxCreate(0, y0, w, y1 - y0);
        PIX *band = box ? pixClipRectangle(pix, box, NULL) : NULL;
        boxDestroy(&box);
        if (!band) {
            rc = sh_errf(err, SH_ENOMEM, "OCR: out of memory for a band");
            break;
        }
        int left = 0;
        if (timeout_ms > 0) {
            left = timeout_ms - (int)((sh_now() - t0) * 1000);
            if (left < 1)
                left = 1;
        }
        sh_words bw;
        rc = sh_ocr_page(e, band, dpi, left, &bw, err);
        pixDestroy(&band);
        if (!rc && append_band(out, &bw, y0, &line0, &par0, &conf_sum))
            rc = sh_errf(err, SH_ENOMEM, "OCR: out of memory");
        sh_words_release(&bw);
        y0 = y1;
    }
    if (!rc) {
        out->mean_conf = out->n ? (float)(conf_sum / out->n) : 0;
        if (sh_words_text(out))
            rc = sh_errf(err, SH_ENOMEM, "OCR: out of memory");
    }
    if (rc)
        sh_words_release(out);
    return rc;
}
