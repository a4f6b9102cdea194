/*
 * barcode.c — QR and Code 128 on separator sheets: made, read, and the
 * separator test (see barcode.h).
 *
 *   sh_qr_make        libqrencode, 8-bit mode, level H
 *   sh_code128_make   code set B from the standard width table
 *   sh_codes_read     zbar over an 8 bpp copy (QR and Code 128 only)
 *   sh_sep_id_check   the folder-name rule for dossier ids
 *   sh_sep_detect     reduced read, band test, full read
 *   gray_reduced / to_y800 / bands_* (static helpers)
 *
 * Method.  zbar was chosen over ZXing-C++ 1.4 (Debian libzxing-dev) after
 * measuring both on 96 degraded separator sheets (`make bench-codes`; see
 * README, "How it works"): zbar is a C library (no C++ shim; Debian's
 * ZXing 1.4 aborts on an assertion when merging results), and through
 * sheet_detect's reduced-then-sharper reads it read 96/96 (ZXing at full
 * resolution 92/96).  A page that is not a separator costs one area-map reduction
 * to ~100 dpi and one zbar pass over a ~0.8 Mpx image (70-170 ms a page
 * on a busy 2-core machine, against 1-2 s of OCR); only a
 * page showing the separator bands but no readable code is read again at
 * up to 300 dpi.
 */
#include "barcode.h"
#include "layout.h"

#include <math.h>
#include <qrencode.h>
#include <stdlib.h>
#include <string.h>
#include <zbar.h>

/* ------------------------------------------------------------------ */
/* making                                                              */

int sh_qr_make(const char *text, size_t n, uint8_t **mod, int *width,
               sh_err *err)
{
    *mod = NULL;
    *width = 0;
    if (!text || !n)
        return sh_errf(err, SH_EUSAGE, "QR: empty text");
    if (n > 1200)
        return sh_errf(err, SH_ELIMIT, "QR: text of %zu bytes is too long",
                       n);
    QRcode *q = QRcode_encodeData((int)n, (const unsigned char *)text, 0,
                                  QR_ECLEVEL_H);
    if (!q)
        return sh_errf(err, SH_ELIMIT, "QR: cannot encode %zu bytes", n);
    size_t w = (size_t)q->width;
    uint8_t *m = malloc(w * w);
    if (!m) {
        QRcode_free(q);
        return sh_errf(err, SH_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < w * w; i++)
        m[i] = q->data[i] & 1;
    *mod = m;
    *width = (int)w;
    QRcode_free(q);
    return SH_OK;
}

/* Code 128 bar/space widths of values 0..105 (106, stop, has 7). */
static const char c128[107][8] = {
    "212222", "222122", "222221", "121223", "121322", "131222", "122213",
    "122312", "132212", "221213", "221312", "231212", "112232", "122132",
    "122231", "113222", "123122", "123221", "223211", "221132", "221231",
    "213212", "223112", "312131", "311222", "321122", "321221", "312212",
    "322112", "322211", "212123", "212321", "232121", "111323", "131123",
    "131321", "112313", "132113", "132311", "211313", "231113", "231311",
    "112133", "112331", "132131", "113123", "113321", "133121", "313121",
    "211331", "231131", "213113", "213311", "213131", "311123", "311321",
    "331121", "312113", "312311", "332111", "314111", "221411", "431111",
    "111224", "111422", "121124", "121421", "141122", "141221", "112214",
    "112412", "122114", "122411", "142112", "142211", "241211", "221114",
    "413111", "241112", "134111", "111242", "121142", "121241", "114212",
    "124112", "124211", "411212", "421112", "421211", "212141", "214121",
    "412121", "111143", "111341", "131141", "114113", "114311", "411113",
    "411311", "113141", "114131", "311141", "411131", "211412", "211214",
    "211232", "2331112",
};

static size_t put128(int v, uint8_t *mod, size_t k)
{
    int bar = 1;
    for (const char *w = c128[v]; *w; w++, bar = !bar)
        for (int i = 0; i < *w - '0'; i++)
            mod[k++] = (uint8_t)bar;
    return k;
}

int sh_code128_make(const char *text, uint8_t *mod, size_t cap, int *nmod,
                    sh_err *err)
{
    *nmod = 0;
    if (!text || !*text || !mod)
        return sh_errf(err, SH_EUSAGE, "Code 128: empty text");
    size_t n = strlen(text);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)text[i] < 32 || (unsigned char)text[i] > 126)
            return sh_errf(err, SH_EINPUT, "Code 128: byte %zu (0x%02x) is "
                           "not printable ASCII", i + 1,
                           (unsigned char)text[i]);
    if (n > 1000 || cap < 11 * (n + 3) + 2)
        return sh_errf(err, SH_ELIMIT, "Code 128: no room for %zu "
                       "characters", n);
    size_t k = put128(104, mod, 0);          /* start B */
    long sum = 104;
    for (size_t i = 0; i < n; i++) {
        int v = (unsigned char)text[i] - 32;
        sum += v * (long)(i + 1);
        k = put128(v, mod, k);
    }
    k = put128((int)(sum % 103), mod, k);
    k = put128(106, mod, k);                 /* stop */
    *nmod = (int)k;
    return SH_OK;
}

/* ------------------------------------------------------------------ */
/* reading                                                             */

/* The 8 bpp gray copy of pix (a clone when it already is one). */
static PIX *gray8(PIX *pix)
{
    if (pixGetDepth(pix) == 8 && !pixGetColormap(pix))
        return pixClone(pix);
    if (pixGetDepth(pix) == 32)
        return pixConvertRGBToLuminance(pix);
    return pixConvertTo8(pix, 0);
}

int sh_codes_read(PIX *pix, sh_code *out, int max, int *n, sh_err *err)
{
    *n = 0;
    if (!pix || !out || max < 1)
        return sh_errf(err, SH_EUSAGE, "codes: no image");
    PIX *g = gray8(pix);
    if (!g)
        return sh_errf(err, SH_ENOMEM, "out of memory");
    int w = pixGetWidth(g), h = pixGetHeight(g), wpl = pixGetWpl(g);
    uint8_t *buf = malloc((size_t)w * (size_t)h);
    zbar_image_scanner_t *sc = zbar_image_scanner_create();
    zbar_image_t *img = zbar_image_create();
    int rc = SH_OK;
    if (!buf || !sc || !img) {
        rc = sh_errf(err, SH_ENOMEM, "out of memory");
        goto out;
    }
    l_uint32 *data = pixGetData(g);
    for (int y = 0; y < h; y++) {
        l_uint32 *line = data + (size_t)y * (size_t)wpl;
        uint8_t *o = buf + (size_t)y * (size_t)w;
        for (int x = 0; x < w; x++)
            o[x] = (uint8_t)GET_DATA_BYTE(line, x);
    }
    zbar_image_scanner_set_config(sc, 0, ZBAR_CFG_ENABLE, 0);
    zbar_image_scanner_set_config(sc, ZBAR_QRCODE, ZBAR_CFG_ENABLE, 1);
    zbar_image_scanner_set_config(sc, ZBAR_CODE128, ZBAR_CFG_ENABLE, 1);
    zbar_image_set_format(img, zbar_fourcc('Y', '8', '0', '0'));
    zbar_image_set_size(img, (unsigned)w, (unsigned)h);
    zbar_image_set_data(img, buf, (unsigned long)w * (unsigned long)h, NULL);
    if (zbar_scan_image(sc, img) > 0)
        for (const zbar_symbol_t *s = zbar_image_first_symbol(img);
             s && *n < max; s = zbar_symbol_next(s)) {
            zbar_symbol_type_t t = zbar_symbol_get_type(s);
            sh_code *c = &out[*n];
            c->type = t == ZBAR_QRCODE ? SH_CODE_QR : SH_CODE_128;
            size_t len = zbar_symbol_get_data_length(s);
            if (len >= sizeof c->text)
                len = sizeof c->text - 1;
            memcpy(c->text, zbar_symbol_get_data(s), len);
            c->text[len] = 0;
            (*n)++;
        }
out:
    if (img)
        zbar_image_destroy(img);
    if (sc)
        zbar_image_scanner_destroy(sc);
    free(buf);
    pixDestroy(&g);
    return rc;
}

int sh_sep_id_check(const char *id, const char **why)
{
    const char *w = NULL;
    size_t n = id ? strlen(id) : 0;
    if (!n)
        w = "the id is empty";
    else if (n > SH_SEP_ID_MAX)
        w = "the id is longer than 200 bytes";
    else if (id[0] == '.' || id[0] == ' ')
        w = "the id starts with '.' or a space";
    else if (id[n - 1] == ' ' || id[n - 1] == '.')
        w = "the id ends with a space or '.'";
    else {
        for (size_t i = 0; i < n && !w; i++) {
            unsigned char c = (unsigned char)id[i];
            if (c == '/' || c == '\\')
                w = "the id holds '/' or '\\'";
            else if (c < 32 || c == 127)
                w = "the id holds a control character";
        }
        /* well-formed UTF-8 (no overlongs, surrogates or > U+10FFFF) */
        for (size_t i = 0; i < n && !w;) {
            unsigned char c = (unsigned char)id[i];
            int k = c < 0x80 ? 0 : c >= 0xC2 && c <= 0xDF ? 1
                  : c >= 0xE0 && c <= 0xEF ? 2 : c >= 0xF0 && c <= 0xF4 ? 3
                  : -1;
            if (k < 0 || i + (size_t)k >= n)
                w = "the id is not UTF-8 text";
            for (int j = 1; j <= k && !w; j++)
                if (((unsigned char)id[i + (size_t)j] & 0xC0) != 0x80)
                    w = "the id is not UTF-8 text";
            if (!w && ((c == 0xE0 && (unsigned char)id[i + 1] < 0xA0) ||
                       (c == 0xED && (unsigned char)id[i + 1] >= 0xA0) ||
                       (c == 0xF0 && (unsigned char)id[i + 1] < 0x90) ||
                       (c == 0xF4 && (unsigned char)id[i + 1] >= 0x90)))
                w = "the id is not UTF-8 text";
            i += (size_t)k + 1;
        }
    }
    if (why)
        *why = w;
    return !w;
}

/* ------------------------------------------------------------------ */
/* the separator test                                                  */

/* pix as 8 bpp gray at about `to` dpi (never enlarged); *dpi_out its
   resolution. */
static PIX *gray_reduced(PIX *pix, int dpi, int to, int *dpi_out)
{
    PIX *g = gray8(pix);
    if (!g || dpi <= to * 1.15) {
        *dpi_out = dpi;
        return g;
    }
    float s = (float)to / (float)dpi;
    PIX *r = pixScaleAreaMap(g, s, s);
    pixDestroy(&g);
    *dpi_out = to;
    return r;
}

/* 1 if a run of lines (rows when !cols) at least 55 % dark, 6..30 mm
   thick and at least 1.5 mm clear of the image edge, lies in the first
   third (*lo) / the last third (*hi) of the image. */
static void bands_along(PIX *bin, int dpi, int cols, int *lo, int *hi)
{
    int w = pixGetWidth(bin), h = pixGetHeight(bin);
    int n = cols ? w : h, len = cols ? h : w;
    NUMA *na = cols ? pixCountPixelsByColumn(bin) : pixCountPixelsByRow(bin, NULL);
    *lo = *hi = 0;
    if (!na)
        return;
    double mm = dpi / 25.4;
    int run = 0;
    for (int i = 0; i <= n; i++) {
        l_int32 v = 0;
        if (i < n)
            numaGetIValue(na, i, &v);
        if (i < n && v >= 0.55 * len) {
            run++;
            continue;
        }
        if (run >= 6 * mm && run <= 30 * mm) {
            int start = i - run, end = i;
            int clear = start >= 1.5 * mm && n - end >= 1.5 * mm;
            if (clear && end <= n / 3)
                *lo = 1;
            if (clear && start >= 2 * n / 3)
                *hi = 1;
        }
        run = 0;
    }
    numaDestroy(&na);
}

static int has_bands(PIX *gray, int dpi)
{
    PIX *bin = pixThresholdToBinary(gray, 128);
    if (!bin)
        return 0;
    int lo, hi, l2, h2;
    bands_along(bin, dpi, 0, &lo, &hi);
    bands_along(bin, dpi, 1, &l2, &h2);
    pixDestroy(&bin);
    return (lo && hi) || (l2 && h2);
}

/* The first separator payload among codes (QR first); 0 if none. */
static int pick(const sh_code *c, int n, sh_sep *out)
{
    size_t pl = strlen(SH_SEP_PREFIX);
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < n; i++) {
            if ((pass == 0) != (c[i].type == SH_CODE_QR) ||
                strncmp(c[i].text, SH_SEP_PREFIX, pl))
                continue;
            out->kind = SH_SEP_SHEET;
            out->by = c[i].type;
            snprintf(out->id, sizeof out->id, "%s", c[i].text + pl);
            return 1;
        }
    return 0;
}

int sh_sep_detect(PIX *pix, int dpi, int want_blank, sh_sep *out,
                  sh_err *err)
{
    memset(out, 0, sizeof *out);
    out->blank = -1;
    if (!pix || dpi < 30 || dpi > 2400)
        return sh_errf(err, SH_EUSAGE, "separator test: no image or dpi "
                       "%d out of range", dpi);
    int sdpi = 0;
    PIX *small = gray_reduced(pix, dpi, 100, &sdpi);
    if (!small)
        return sh_errf(err, SH_ENOMEM, "out of memory");
    sh_code codes[8];
    int n = 0;
    int rc = sh_codes_read(small, codes, 8, &n, err);
    if (!rc && !pick(codes, n, out)) {
        out->bands = has_bands(small, sdpi);
        if (out->bands) {
            /* Looks like one: read it again, sharper. */
            int fdpi = 0;
            PIX *full = gray_reduced(pix, dpi, 300, &fdpi);
            out->full_pass = 1;
            if (!full)
                rc = sh_errf(err, SH_ENOMEM, "out of memory");
            else if (!(rc = sh_codes_read(full, codes, 8, &n, err)) &&
                     !pick(codes, n, out)) {
                /* Binarised, a gray scan's blur often reads. */
                PIX *b = pixThresholdToBinary(full, 140);
                if (b && !(rc = sh_codes_read(b, codes, 8, &n, err)) &&
                    !pick(codes, n, out))
                    out->kind = SH_SEP_UNREADABLE;
                pixDestroy(&b);
            }
            pixDestroy(&full);
        }
    }
    if (!rc && want_blank && out->kind == SH_SEP_NONE) {
        sh_content c;
        sh_err berr = {0};
        if (!sh_layout_content(small, sdpi, &c, &berr))
            out->blank = c.blank;
        sh_content_release(&c);
    }
    pixDestroy(&small);
    return rc;
}
