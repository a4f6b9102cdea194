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
#include <sys/stat.h>
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

/* Strip k of img: first row and rows (the whole image when not cut). */
static void strip_of(const sh_pdf_image *img, int k, int *y0, int *rows)
{
    *y0 = img->nstrip > 1 ? k * img->strip_rows : 0;
    *rows = img->nstrip <= 1 ? img->h
            : k == img->nstrip - 1 ? img->h - *y0 : img->strip_rows + 1;
}

/* save_pix of pix (8 or 32 bpp), load, inflate and unpredict each strip,
   compare with pix.  *nstrip: the strips saved. */
static int roundtrip(PIX *pix, const char *name, int *nstrip)
{
    char path[4096];
    sh_test_path(path, sizeof path, name);
    sh_err err = {0};
    sh_pdf_image info, img;
    CHECKF(sh_pdf_image_save_pix(pix, path, &info, &err) == SH_OK, "%s",
           err.msg);
    CHECK(info.data == NULL && info.strip_n == NULL &&
          info.filter == SH_PDF_FLATE && info.n > 0);
    CHECKF(sh_pdf_image_load(path, &img, &err) == SH_OK, "%s", err.msg);
    int w = pixGetWidth(pix), h = pixGetHeight(pix);
    size_t nc = pixGetDepth(pix) == 8 ? 1 : 3, bpr = (size_t)w * nc;
    CHECK(img.w == w && img.h == h && img.ncomp == (int)nc && img.n == info.n);
    int ns = img.nstrip > 1 ? img.nstrip : 1;
    CHECK(ns == (info.nstrip > 1 ? info.nstrip : 1));
    *nstrip = ns;
    size_t off = 0;
    for (int k = 0; k < ns; k++) {
        int y0, rows;
        strip_of(&img, k, &y0, &rows);
        size_t zn = ns > 1 ? img.strip_n[k] : img.n;
        uLongf rawn = (uLongf)((size_t)rows * (bpr + 1));
        uint8_t *raw = malloc(rawn), *px = malloc((size_t)rows * bpr);
        CHECK(raw && px);
        CHECK(uncompress(raw, &rawn, img.data + off, (uLong)zn) == Z_OK);
        CHECK(rawn == (uLongf)((size_t)rows * (bpr + 1)));
        CHECK(unpredict(raw, rawn, rows, bpr, nc, px) == 0);
        off += zn;
        for (int y = y0; y < y0 + rows; y++) {
            const l_uint32 *line = pixGetData(pix) + (size_t)y * pixGetWpl(pix);
            const uint8_t *p = px + (size_t)(y - y0) * bpr;
            for (int x = 0; x < w; x++, p += nc) {
                if (nc == 1) {
                    CHECKF(p[0] == GET_DATA_BYTE(line, x), "(%d,%d)", x, y);
                } else {
                    l_uint32 v = line[x];
                    CHECKF(p[0] == (uint8_t)(v >> L_RED_SHIFT) &&
                           p[1] == (uint8_t)(v >> L_GREEN_SHIFT) &&
                           p[2] == (uint8_t)(v >> L_BLUE_SHIFT),
                           "(%d,%d)", x, y);
                }
            }
        }
        free(raw);
        free(px);
    }
    CHECK(off == img.n);
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
    int ns = 0;
    if (roundtrip(fc.pix, "rgb.img", &ns))
        return 1;
    CHECK(ns == 1);                 /* a small image is one XObject */
    PIX *gray = pixConvertRGBToLuminance(fc.pix);
    CHECK(gray);
    if (roundtrip(gray, "gray.img", &ns))
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

/* Render a W x H px crop at (x, y) of page `page` of pdf at 72 dpi
   (1 px a pt) in gray. */
static PIX *render_crop(const char *pdf, int page, int x, int y, int W, int H)
{
    char prefix[4096], cmd[8400], out[4200];
    sh_test_path(prefix, sizeof prefix, "strips-render");
    snprintf(cmd, sizeof cmd, "pdftoppm -r 72 -gray -f %d -l %d -x %d -y %d "
             "-W %d -H %d -singlefile '%s' '%s'", page, page, x, y, W, H, pdf,
             prefix);
    if (sh_test_run(cmd, NULL) != 0)
        return NULL;
    snprintf(out, sizeof out, "%s.pgm", prefix);
    PIX *p = pixRead(out);
    unlink(out);
    return p;
}

/* Row r of the test image: a triangle wave, 6 a row, 0 to 240. */
static int wave(int r)
{
    int t = r * 6 % 480;
    return t < 240 ? t : 480 - t;
}

/* Whether the crop (x, y, W, H) of page `page` of pdf (drawn 1 px a pt)
   shows rows of the values wave(y) (turned: columns of wave(h - 1 - x)),
   each within 9: poppler rounds, and stretches an image by a pixel (the
   next strip covers it), so a row may show its neighbour's value; a
   seam, or a row two or more out of place, differs by more. */
static int rows_drawn(const char *pdf, int page, int turned, int h, int x,
                      int y, int W, int H)
{
    PIX *got = render_crop(pdf, page, x, y, W, H);
    CHECK(got && pixGetWidth(got) == W && pixGetHeight(got) == H);
    for (int j = 0; j < H; j++)
        for (int i = 0; i < W; i++) {
            l_uint32 g;
            pixGetPixel(got, i, j, &g);
            int r = turned ? h - 1 - (x + i) : y + j;
            int want = wave(r);
            CHECKF(abs((int)g - want) <= 9, "page %d (%d,%d) is %u, row %d "
                   "of the image %d", page, x + i, y + j, g, r, want);
        }
    pixDestroy(&got);
    return 0;
}

/* An image over 32 MB of pixels is cut into strips, each its own stream
   and XObject: every strip decodes to its rows, and a viewer draws the
   strips (upright, and turned on the next page, which reuses them) as
   the image: no seam where strips meet, no row out of place (as it draws
   the image made one XObject, pages 3-4). */
static int test_strips(void)
{
    const int w = 6200, h = 5500;      /* 34.1 MB of gray, rows of one
                                          value each */
    PIX *pix = pixCreate(w, h, 8);
    CHECK(pix);
    l_uint32 *data = pixGetData(pix);
    int wpl = pixGetWpl(pix);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            SET_DATA_BYTE(data + (size_t)y * wpl, x,
                          wave(y));
    int ns = 0;
    if (roundtrip(pix, "strips.img", &ns))
        return 1;
    CHECKF(ns >= 4, "%d strips", ns);

    if (system("command -v pdftoppm >/dev/null 2>&1") != 0) {
        pixDestroy(&pix);
        return SH_SKIP;
    }
    char img[4096], pdf[4096];
    sh_test_path(img, sizeof img, "strips.img");
    sh_test_path(pdf, sizeof pdf, "strips.pdf");
    sh_err err = {0};
    sh_pdf_image im[2];
    sh_pdf *p = NULL;
    CHECKF(sh_pdf_image_load(img, &im[0], &err) == SH_OK, "%s", err.msg);
    CHECKF(sh_pdf_image_from_pix(pix, &im[1], &err) == SH_OK, "%s", err.msg);
    CHECK(im[0].nstrip == ns && im[1].nstrip <= 1);
    CHECK(sh_pdf_open(pdf, NULL, &p, &err) == SH_OK);
    for (int i = 0; i < 2; i++) {
        sh_pdf_page up = {.w_pt = w, .h_pt = h, .img = &im[i],
                          .img_matrix = {w, 0, 0, h, 0, 0}};
        sh_pdf_page turned = {.w_pt = h, .h_pt = w, .img = &im[i],
                              .img_matrix = {0, -w, h, 0, 0, w},
                              .reuse_image = 1};
        CHECKF(sh_pdf_add_page(p, &up, &err) == SH_OK, "%s", err.msg);
        CHECKF(sh_pdf_add_page(p, &turned, &err) == SH_OK, "%s", err.msg);
    }
    CHECKF(sh_pdf_commit(&p, &err) == SH_OK, "%s", err.msg);
    /* the strips are written once: the turned page refers to them */
    struct stat st;
    CHECK(stat(pdf, &st) == 0);
    CHECKF((size_t)st.st_size < im[0].n + im[1].n + 100000, "%lld bytes",
           (long long)st.st_size);
    sh_pdf_image_release(&im[0]);
    sh_pdf_image_release(&im[1]);
    /* a column of the upright page, a row of the turned one, across
       every place where strips meet; pages 3-4 (one XObject) for
       comparison */
    for (int pg = 1; pg <= 4; pg += 2)
        if (rows_drawn(pdf, pg, 0, h, 1000, 0, 4, h) ||
            rows_drawn(pdf, pg + 1, 1, h, 0, 1000, h, 4))
            return 1;
    pixDestroy(&pix);
    return 0;
}

const sh_test sh_tests_large[] = {
    {"large_read_gray_and_rows", test_read_gray_and_rows},
    {"large_save_rows_roundtrip", test_save_rows_roundtrip},
    {"large_strips", test_strips},
    {NULL, NULL},
};
