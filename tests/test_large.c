/*
 * test_large.c — large sheets without whole colour frames in memory:
 * colour read as gray for OCR (sh_scan_read_gray), the colour rows read
 * again from the file (sh_scan_rows_*), and the Flate hand-off file
 * streamed from rows (sh_pdf_image_save_rows / _save_pix), checked by
 * inflating it and undoing the PNG predictors.
 */
#include "test.h"
#include "../ocr/pdf.h"
#include "../scanners/scan.h"

#include <stdlib.h>
#include <string.h>
#include <tiffio.h>
#include <unistd.h>
#include <zlib.h>

/* An RGB LZW TIFF of w x h in strips of 16 rows: smooth gradients on top,
   noise below, one pure red pixel at (5, 5). */
static int write_rgb_tiff(const char *path, int w, int h)
{
    TIFF *t = TIFFOpen(path, "w");
    uint8_t *row = malloc((size_t)w * 3);
    int bad = !t || !row;
    if (!bad)
        bad = !TIFFSetField(t, TIFFTAG_IMAGEWIDTH, (uint32_t)w) ||
              !TIFFSetField(t, TIFFTAG_IMAGELENGTH, (uint32_t)h) ||
              !TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 8) ||
              !TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, 3) ||
              !TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_RGB) ||
              !TIFFSetField(t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG) ||
              !TIFFSetField(t, TIFFTAG_COMPRESSION, COMPRESSION_LZW) ||
              !TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, 16);
    uint32_t seed = 7;
    for (int y = 0; !bad && y < h; y++) {
        for (int x = 0; x < w; x++) {
            uint8_t *p = row + 3 * x;
            if (y < h / 2) {
                p[0] = (uint8_t)(x + y);
                p[1] = (uint8_t)(2 * x);
                p[2] = (uint8_t)(3 * y);
            } else {
                for (int c = 0; c < 3; c++) {
                    seed = seed * 1103515245u + 12345u;
                    p[c] = (uint8_t)(seed >> 16);
                }
            }
        }
        if (y == 5) {
            row[15] = 255;
            row[16] = row[17] = 0;
        }
        bad = TIFFWriteScanline(t, row, (uint32_t)y, 0) < 0;
    }
    if (t)
        TIFFClose(t);
    free(row);
    return bad;
}

static int test_read_gray_and_rows(void)
{
    char path[4096];
    sh_test_path(path, sizeof path, "rgb.tif");
    const int w = 301, h = 200;
    CHECK(write_rgb_tiff(path, w, h) == 0);
    sh_err err = {0};
    sh_scan *s1 = NULL, *s2 = NULL;
    sh_frame fc = {0}, fg = {0};
    CHECK(sh_scan_open(path, NULL, &s1, &err) == SH_OK);
    CHECK(sh_scan_read(s1, 0, &fc, &err) == SH_OK);
    CHECK(pixGetDepth(fc.pix) == 32 && !fc.gray_of_colour);
    CHECK(sh_scan_read_gray(s1, 0, &fg, &err) == SH_OK);
    CHECK(pixGetDepth(fg.pix) == 8 && fg.gray_of_colour);
    CHECK(pixGetWidth(fg.pix) == w && pixGetHeight(fg.pix) == h);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            l_int32 r, g, b;
            l_uint32 v;
            pixGetRGBPixel(fc.pix, x, y, &r, &g, &b);
            pixGetPixel(fg.pix, x, y, &v);
            int m = r > g ? r : g;
            m = m > b ? m : b;
            CHECKF((int)v == m, "(%d,%d) gray %u, max channel %d", x, y, v, m);
        }
    l_uint32 red;
    pixGetPixel(fg.pix, 5, 5, &red);
    CHECK(red == 255);              /* a red seal fades into the paper */

    /* the colour again, row by row, from a scan of its own */
    sh_scan_rows *rows = NULL;
    int rw = 0, rh = 0;
    CHECK(sh_scan_open(path, NULL, &s2, &err) == SH_OK);
    CHECK(sh_scan_rows_open(s2, 0, &rows, &rw, &rh, &err) == SH_OK);
    CHECK(rw == w && rh == h);
    uint8_t *row = malloc((size_t)w * 3);
    CHECK(row);
    for (int y = 0; y < h; y++) {
        CHECK(sh_scan_rows_next(rows, row, &err) == SH_OK);
        for (int x = 0; x < w; x++) {
            l_int32 r, g, b;
            pixGetRGBPixel(fc.pix, x, y, &r, &g, &b);
            CHECK(row[3 * x] == r && row[3 * x + 1] == g && row[3 * x + 2] == b);
        }
    }
    CHECK(sh_scan_rows_next(rows, row, &err) == SH_EUSAGE);   /* past end */
    free(row);
    sh_scan_rows_close(&rows);
    CHECK(rows == NULL);
    sh_frame_release(&fc);
    sh_frame_release(&fg);
    sh_scan_close(&s1);
    sh_scan_close(&s2);
    return 0;
}

/* Undo PDF /Predictor 15 (PNG filters) on raw rows of bpr bytes. */
static int unpredict(const uint8_t *in, size_t n, int h, size_t bpr,
                     size_t bpp, uint8_t *out)
{
    if (n != (size_t)h * (bpr + 1))
        return -1;
    for (int y = 0; y < h; y++) {
        const uint8_t *r = in + (size_t)y * (bpr + 1);
        uint8_t *o = out + (size_t)y * bpr;
        const uint8_t *u = y ? o - bpr : NULL;
        for (size_t i = 0; i < bpr; i++) {
            int a = i >= bpp ? o[i - bpp] : 0, b = u ? u[i] : 0;
            int c = u && i >= bpp ? u[i - bpp] : 0, v = r[1 + i], p;
            switch (r[0]) {
            case 0: break;
            case 1: v += a; break;
            case 2: v += b; break;
            case 3: v += (a + b) / 2; break;
            case 4:
                p = a + b - c;
                v += abs(p - a) <= abs(p - b) && abs(p - a) <= abs(p - c) ? a
                     : abs(p - b) <= abs(p - c) ? b : c;
                break;
            default: return -1;
            }
            o[i] = (uint8_t)v;
        }
    }
    return 0;
}

/* save_pix of pix (8 or 32 bpp), load, inflate, unpredict, compare. */
static int roundtrip(PIX *pix, const char *name)
{
    char path[4096];
    sh_test_path(path, sizeof path, name);
    sh_err err = {0};
    sh_pdf_image info, img;
    CHECKF(sh_pdf_image_save_pix(pix, path, &info, &err) == SH_OK, "%s",
           err.msg);
    CHECK(info.data == NULL && info.filter == SH_PDF_FLATE && info.n > 0);
    CHECKF(sh_pdf_image_load(path, &img, &err) == SH_OK, "%s", err.msg);
    int w = pixGetWidth(pix), h = pixGetHeight(pix);
    size_t nc = pixGetDepth(pix) == 8 ? 1 : 3, bpr = (size_t)w * nc;
    CHECK(img.w == w && img.h == h && img.ncomp == (int)nc && img.n == info.n);
    uLongf rawn = (uLongf)(h * (bpr + 1));
    uint8_t *raw = malloc(rawn), *px = malloc((size_t)h * bpr);
    CHECK(raw && px);
    CHECK(uncompress(raw, &rawn, img.data, (uLong)img.n) == Z_OK);
    CHECK(unpredict(raw, rawn, h, bpr, nc, px) == 0);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            const uint8_t *p = px + (size_t)y * bpr + (size_t)x * nc;
            if (nc == 1) {
                l_uint32 v;
                pixGetPixel(pix, x, y, &v);
                CHECK(p[0] == v);
            } else {
                l_int32 r, g, b;
                pixGetRGBPixel(pix, x, y, &r, &g, &b);
                CHECK(p[0] == r && p[1] == g && p[2] == b);
            }
        }
    free(raw);
    free(px);
    sh_pdf_image_release(&img);
    return 0;
}

/* A row source that fails at row 300: its error, and nothing left. */
static int fail_row(void *ctx, int y, uint8_t *row, sh_err *err)
{
    return y == 300 ? sh_errf(err, SH_EINPUT, "row %d is damaged", y) : SH_OK;
}

static int test_save_rows_roundtrip(void)
{
    char path[4096];
    sh_test_path(path, sizeof path, "rgb.tif");
    CHECK(write_rgb_tiff(path, 517, 700) == 0);   /* 700 rows: 3 bands */
    sh_err err = {0};
    sh_scan *s = NULL;
    sh_frame fc = {0};
    CHECK(sh_scan_open(path, NULL, &s, &err) == SH_OK);
    CHECK(sh_scan_read(s, 0, &fc, &err) == SH_OK);
    if (roundtrip(fc.pix, "rgb.img"))
        return 1;
    PIX *gray = pixConvertRGBToLuminance(fc.pix);
    CHECK(gray);
    if (roundtrip(gray, "gray.img"))
        return 1;
    pixDestroy(&gray);
    sh_frame_release(&fc);
    sh_scan_close(&s);

    sh_pdf_image info;
    sh_test_path(path, sizeof path, "bad.img");
    CHECK(sh_pdf_image_save_rows(path, 100, 400, 1, fail_row, NULL, &info,
                                 &err) == SH_EINPUT);
    CHECK(strstr(err.msg, "row 300"));
    CHECK(access(path, F_OK) != 0);
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid());
    CHECK(access(tmp, F_OK) != 0);
    return 0;
}

const sh_test sh_tests_large[] = {
    {"large_read_gray_and_rows", test_read_gray_and_rows},
    {"large_save_rows_roundtrip", test_save_rows_roundtrip},
    {NULL, NULL},
};
