/*
 * test_pdf.c — the searchable PDF writer, checked with the poppler tools
 * and qpdf: structure (qpdf --check), text and word boxes (pdftotext -raw
 * / -bbox), pixels (pdftoppm), JPEG pass-through (pdfimages -j), the
 * image hand-off file, and the failure paths (no temp file left behind).
 * All fixtures are drawn with Leptonica into the test's temp folder.
 */
#include "test.h"
#include "../ocr/pdf.h"

#include <dirent.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- helpers ---------------------------------------------------------- */

static int have_tools(void)
{
    return system("command -v qpdf >/dev/null 2>&1 && "
                  "command -v pdftotext >/dev/null 2>&1 && "
                  "command -v pdftoppm >/dev/null 2>&1 && "
                  "command -v pdfimages >/dev/null 2>&1 && "
                  "command -v pdfinfo >/dev/null 2>&1") == 0;
}

/* Render page `page` of pdf at 72 dpi (1 px = 1 pt) as gray (or RGB). */
static PIX *render(const char *pdf, int page, int gray)
{
    char prefix[512], cmd[1400], out[600];
    sh_test_path(prefix, sizeof prefix, "render");
    snprintf(cmd, sizeof cmd, "pdftoppm -r 72 %s -f %d -l %d -singlefile "
             "'%s' '%s'", gray ? "-gray" : "", page, page, pdf, prefix);
    if (sh_test_run(cmd, NULL) != 0)
        return NULL;
    snprintf(out, sizeof out, "%s.%s", prefix, gray ? "pgm" : "ppm");
    PIX *p = pixRead(out);
    unlink(out);
    return p;
}

static int gray_at(PIX *p, int x, int y)
{
    l_uint32 v = 0;
    pixGetPixel(p, x, y, &v);
    return (int)v;
}

/* One word of a fixture. */
typedef struct {
    const char *text;
    int x0, y0, x1, y1, line, baseline, line_h;
} tword;

static void fill_words(sh_words *ws, sh_word *buf, const tword *tw, int n)
{
    memset(ws, 0, sizeof *ws);
    for (int i = 0; i < n; i++) {
        buf[i] = (sh_word){.text = (char *)tw[i].text, .x0 = tw[i].x0,
                           .y0 = tw[i].y0, .x1 = tw[i].x1, .y1 = tw[i].y1,
                           .conf = 90, .line = tw[i].line, .par = 0,
                           .baseline_y = tw[i].baseline,
                           .line_h = tw[i].line_h};
    }
    ws->w = buf;
    ws->n = ws->cap = n;
}

/* Where the writer promises a word's glyph cells, top-left origin, pt:
   x spans the box; L is the line height (else the box height); with a
   baseline b, y spans b-0.8L .. b+0.2L; without, y1-L .. y1. */
static void expected_box(const tword *w, double k, double e[4])
{
    double L = w->line_h > 0 ? w->line_h : w->y1 - w->y0;
    e[0] = w->x0 * k;
    e[2] = w->x1 * k;
    if (w->baseline >= 0) {
        e[1] = (w->baseline - 0.8 * L) * k;
        e[3] = (w->baseline + 0.2 * L) * k;
    } else {
        e[1] = (w->y1 - L) * k;
        e[3] = w->y1 * k;
    }
}

/* Check the words of page `page` (1-based) in `pdftotext -bbox` output. */
static int check_bbox(const char *html, int page, const tword *tw, int n,
                      double k, double pw, double ph)
{
    const char *s = html;
    for (int i = 0; i < page; i++) {
        s = strstr(s, "<page ");
        CHECKF(s != NULL, "page %d missing in -bbox output", page);
        s++;
    }
    double w = 0, h = 0;
    CHECK(sscanf(s, "page width=\"%lf\" height=\"%lf\"", &w, &h) == 2);
    CHECKF(fabs(w - pw) < 0.01 && fabs(h - ph) < 0.01, "page %gx%g", w, h);
    const char *end = strstr(s, "</page>");
    CHECK(end != NULL);
    for (int i = 0; i < n; i++) {
        s = strstr(s, "<word ");
        CHECKF(s != NULL && s < end, "word %d (%s) missing", i, tw[i].text);
        double b[4];
        int used = 0;
        CHECK(sscanf(s, "<word xMin=\"%lf\" yMin=\"%lf\" xMax=\"%lf\" "
                     "yMax=\"%lf\">%n", &b[0], &b[1], &b[2], &b[3], &used) == 4);
        CHECK(used > 0);
        s += used;
        size_t tl = strlen(tw[i].text);
        CHECKF(strncmp(s, tw[i].text, tl) == 0 && strncmp(s + tl, "</word>", 7) == 0,
               "word %d: expected %s, got %.40s", i, tw[i].text, s);
        double e[4];
        expected_box(&tw[i], k, e);
        for (int j = 0; j < 4; j++)
            CHECKF(fabs(b[j] - e[j]) <= 2.0, "word %s: coord %d is %.2f, "
                   "expected %.2f", tw[i].text, j, b[j], e[j]);
        CHECKF(b[0] >= 0 && b[1] >= 0 && b[2] <= pw && b[3] <= ph,
               "word %s outside the page", tw[i].text);
    }
    return 0;
}

/* ---- 1. two pages: G4 + Flate gray, text, boxes, pixels --------------- */

static const tword page1_words[] = {
    {"Hello", 100, 50, 220, 90, 0, 82, 40},
    {"world", 240, 50, 360, 90, 0, 82, 40},
    {"second", 100, 400, 250, 440, 1, -1, 0},
    {"line", 270, 400, 350, 440, 1, -1, 0},
    {"here", 370, 400, 460, 440, 1, -1, 0},
};
static const tword page2_words[] = {
    {"Trang", 20, 250, 80, 280, 0, -1, 0},
    {"hai", 90, 250, 130, 280, 0, 276, 34},
    {"ba", 140, 252, 170, 278, 0, -1, 34},
};

static int test_two_pages(void)
{
    if (!have_tools())
        return SH_SKIP;
    char pdf[512], cmd[1200];
    sh_test_path(pdf, sizeof pdf, "two.pdf");
    sh_err err = {0};

    /* page 1: 800x600 1 bpp at 100 dpi, two black rectangles */
    PIX *p1 = pixCreate(800, 600, 1);
    pixRasterop(p1, 100, 100, 200, 100, PIX_SET, NULL, 0, 0);
    pixRasterop(p1, 500, 300, 150, 200, PIX_SET, NULL, 0, 0);
    sh_pdf_image im1, im2;
    CHECK(sh_pdf_image_from_pix(p1, &im1, &err) == SH_OK);
    CHECK(im1.filter == SH_PDF_CCITT_G4 && im1.w == 800 && im1.h == 600);
    CHECK(im1.bpc == 1 && im1.ncomp == 1 && im1.n > 0);
    pixDestroy(&p1);

    /* page 2: 400x300 gray at 72 dpi: 200 background, a 40 square */
    PIX *p2 = pixCreate(400, 300, 8);
    pixSetAllArbitrary(p2, 200);
    pixRasterop(p2, 50, 50, 100, 100, PIX_CLR, NULL, 0, 0);
    PIX *sq = pixCreate(100, 100, 8);
    pixSetAllArbitrary(sq, 40);
    pixRasterop(p2, 50, 50, 100, 100, PIX_SRC, sq, 0, 0);
    pixDestroy(&sq);
    for (int x = 200; x < 400; x++)     /* a gradient band */
        for (int y = 200; y < 240; y++)
            pixSetPixel(p2, x, y, (l_uint32)(x - 200));
    CHECK(sh_pdf_image_from_pix(p2, &im2, &err) == SH_OK);
    CHECK(im2.filter == SH_PDF_FLATE && im2.ncomp == 1 && im2.bpc == 8);
    pixDestroy(&p2);

    sh_word wb1[5], wb2[3];
    sh_words ws1, ws2;
    fill_words(&ws1, wb1, page1_words, 5);
    fill_words(&ws2, wb2, page2_words, 3);

    sh_pdf *p = NULL;
    CHECKF(sh_pdf_open(pdf, "Two pages", &p, &err) == SH_OK, "%s", err.msg);
    sh_pdf_page pg = {.w_pt = 576, .h_pt = 432, .img = &im1,
                      .img_matrix = {576, 0, 0, 432, 0, 0}, .words = &ws1,
                      .pt_per_px = 0.72};
    CHECKF(sh_pdf_add_page(p, &pg, &err) == SH_OK, "%s", err.msg);
    pg = (sh_pdf_page){.w_pt = 400, .h_pt = 300, .img = &im2,
                       .img_matrix = {400, 0, 0, 300, 0, 0}, .words = &ws2,
                       .pt_per_px = 1};
    CHECKF(sh_pdf_add_page(p, &pg, &err) == SH_OK, "%s", err.msg);
    CHECKF(sh_pdf_commit(&p, &err) == SH_OK, "%s", err.msg);
    CHECK(p == NULL);
    sh_pdf_image_release(&im1);
    sh_pdf_image_release(&im2);
    CHECK(im1.data == NULL);
    CHECK(sh_test_count_names(sh_test_tmpdir(), ".tmp.") == 0);

    /* structure */
    snprintf(cmd, sizeof cmd, "qpdf --check '%s' >/dev/null 2>&1", pdf);
    CHECK(sh_test_run(cmd, NULL) == 0);

    /* text in reading order, words spaced, lines and pages broken */
    sh_buf txt = {0};
    snprintf(cmd, sizeof cmd, "pdftotext -raw -enc UTF-8 '%s' -", pdf);
    CHECK(sh_test_run(cmd, &txt) == 0);
    CHECKF(txt.data && strcmp(txt.data, "Hello world\nsecond line here\n\f"
                              "Trang hai ba\n\f") == 0, "got [%s]", txt.data);
    sh_buf_release(&txt);

    /* word boxes */
    sh_buf html = {0};
    snprintf(cmd, sizeof cmd, "pdftotext -bbox -enc UTF-8 '%s' -", pdf);
    CHECK(sh_test_run(cmd, &html) == 0 && html.data);
    int r = check_bbox(html.data, 1, page1_words, 5, 0.72, 576, 432);
    if (!r)
        r = check_bbox(html.data, 2, page2_words, 3, 1, 400, 300);
    sh_buf_release(&html);
    if (r)
        return r;

    /* pixels: G4 polarity (black stays black) and lossless gray */
    PIX *r1 = render(pdf, 1, 1);
    CHECK(r1 != NULL);
    CHECK(pixGetWidth(r1) == 576 && pixGetHeight(r1) == 432);
    CHECKF(gray_at(r1, 144, 108) < 40, "rect 1 is %d", gray_at(r1, 144, 108));
    CHECKF(gray_at(r1, 414, 288) < 40, "rect 2 is %d", gray_at(r1, 414, 288));
    CHECKF(gray_at(r1, 20, 20) > 215, "paper is %d", gray_at(r1, 20, 20));
    CHECKF(gray_at(r1, 300, 200) > 215, "paper is %d", gray_at(r1, 300, 200));
    pixDestroy(&r1);
    PIX *r2 = render(pdf, 2, 1);
    CHECK(r2 != NULL && pixGetWidth(r2) == 400 && pixGetHeight(r2) == 300);
    CHECKF(abs(gray_at(r2, 100, 100) - 40) <= 2, "square is %d",
           gray_at(r2, 100, 100));
    CHECKF(abs(gray_at(r2, 300, 100) - 200) <= 2, "ground is %d",
           gray_at(r2, 300, 100));
    CHECKF(abs(gray_at(r2, 300, 220) - 100) <= 2, "gradient is %d",
           gray_at(r2, 300, 220));
    pixDestroy(&r2);
    return 0;
}

/* ---- colour, colormap and odd depths ----------------------------------- */

/* Extract image `idx` of pdf with pdfimages -png and compare it with want
   pixel for pixel. */
static int extracted_equals(const char *pdf, int idx, PIX *want)
{
    char prefix[512], cmd[1400], png[600];
    sh_test_path(prefix, sizeof prefix, "x");
    snprintf(cmd, sizeof cmd, "pdfimages -png -f 1 '%s' '%s'", pdf, prefix);
    if (sh_test_run(cmd, NULL) != 0)
        return 0;
    snprintf(png, sizeof png, "%s-%03d.png", prefix, idx);
    PIX *got = pixRead(png);
    l_int32 same = 0;
    if (got && pixGetDepth(got) != pixGetDepth(want) && pixGetDepth(want) == 1) {
        PIX *b = pixConvertTo1(got, 128);
        pixDestroy(&got);
        got = b;
    }
    if (got)
        pixEqual(got, want, &same);
    pixDestroy(&got);
    snprintf(cmd, sizeof cmd, "rm -f '%s'-*.png", prefix);
    sh_test_run(cmd, NULL);
    return same;
}

static int test_pix_kinds(void)
{
    if (!have_tools())
        return SH_SKIP;
    char pdf[512];
    sh_test_path(pdf, sizeof pdf, "kinds.pdf");
    sh_err err = {0};
    unsigned seed = 99;

    /* 32 bpp RGB, odd size: left third flat red, the rest noise */
    PIX *rgb = pixCreate(121, 81, 32);
    for (int y = 0; y < 81; y++)
        for (int x = 0; x < 121; x++) {
            l_uint32 v;
            seed = seed * 1103515245u + 12345u;
            if (x < 40)
                composeRGBPixel(220, 30, 20, &v);
            else
                composeRGBPixel((int)(seed >> 24), (x * 2 + y) & 255,
                                (int)(seed >> 16) & 255, &v);
            pixSetPixel(rgb, x, y, v);
        }
    /* 8 bpp gray, odd width, smooth + noisy halves */
    PIX *gray = pixCreate(77, 33, 8);
    for (int y = 0; y < 33; y++)
        for (int x = 0; x < 77; x++) {
            seed = seed * 1103515245u + 12345u;
            pixSetPixel(gray, x, y, x < 38 ? (l_uint32)(x * 3 + y)
                                           : (seed >> 20) & 255);
        }
    /* 1 bpp with an inverted colormap: index 0 black, 1 white */
    PIX *cm = pixCreate(100, 100, 1);
    PIXCMAP *map = pixcmapCreate(1);
    pixcmapAddColor(map, 0, 0, 0);
    pixcmapAddColor(map, 255, 255, 255);
    pixSetColormap(cm, map);
    pixRasterop(cm, 0, 0, 100, 100, PIX_SET, NULL, 0, 0);   /* all white */
    pixRasterop(cm, 20, 20, 30, 30, PIX_CLR, NULL, 0, 0);   /* black box */
    PIX *cm_plain = pixRemoveColormap(cm, REMOVE_CMAP_BASED_ON_SRC);
    CHECK(cm_plain && pixGetDepth(cm_plain) == 1);
    /* 1 bpp, width not a multiple of 8, with a pattern */
    PIX *bw = pixCreate(203, 61, 1);
    for (int y = 0; y < 61; y++)
        for (int x = 0; x < 203; x++)
            if ((x / 3 + y / 5) % 4 == 0 || x == 202)
                pixSetPixel(bw, x, y, 1);
    /* 4 bpp gray → Flate gray */
    PIX *p4 = pixCreate(50, 50, 4);
    pixSetAllArbitrary(p4, 15);

    PIX *src[] = {rgb, cm, p4, gray, bw};
    PIX *want[] = {rgb, cm_plain, NULL, gray, bw};
    static const int filt[] = {SH_PDF_FLATE, SH_PDF_CCITT_G4, SH_PDF_FLATE,
                               SH_PDF_FLATE, SH_PDF_CCITT_G4};
    enum { N = 5 };
    sh_pdf_image im[N];
    sh_pdf *p = NULL;
    CHECK(sh_pdf_open(pdf, NULL, &p, &err) == SH_OK);
    for (int i = 0; i < N; i++) {
        CHECKF(sh_pdf_image_from_pix(src[i], &im[i], &err) == SH_OK, "%s",
               err.msg);
        CHECK(im[i].filter == filt[i]);
        CHECK(im[i].w == pixGetWidth(src[i]) && im[i].h == pixGetHeight(src[i]));
        double w = im[i].w, h = im[i].h;
        sh_pdf_page pg = {.w_pt = w, .h_pt = h, .img = &im[i],
                          .img_matrix = {w, 0, 0, h, 0, 0}};
        CHECKF(sh_pdf_add_page(p, &pg, &err) == SH_OK, "%s", err.msg);
    }
    CHECK(im[0].ncomp == 3 && im[2].ncomp == 1 && im[3].ncomp == 1);
    CHECKF(sh_pdf_commit(&p, &err) == SH_OK, "%s", err.msg);
    for (int i = 0; i < N; i++)
        sh_pdf_image_release(&im[i]);

    char cmd[1200];
    snprintf(cmd, sizeof cmd, "qpdf --check '%s' >/dev/null 2>&1", pdf);
    CHECK(sh_test_run(cmd, NULL) == 0);
    /* lossless: what a reader decodes is what went in */
    for (int i = 0; i < N; i++)
        if (want[i])
            CHECKF(extracted_equals(pdf, i, want[i]), "image %d differs", i);

    PIX *r = render(pdf, 1, 0);
    CHECK(r && pixGetDepth(r) == 32);
    l_int32 cr, cg, cb;
    pixGetRGBPixel(r, 20, 40, &cr, &cg, &cb);
    CHECKF(abs(cr - 220) <= 2 && abs(cg - 30) <= 2 && abs(cb - 20) <= 2,
           "red part is %d,%d,%d", cr, cg, cb);
    pixDestroy(&r);
    r = render(pdf, 2, 1);
    CHECK(r != NULL);
    CHECKF(gray_at(r, 35, 35) < 40, "colormapped black box is %d",
           gray_at(r, 35, 35));
    CHECKF(gray_at(r, 80, 80) > 215, "colormapped white is %d",
           gray_at(r, 80, 80));
    pixDestroy(&r);
    r = render(pdf, 3, 1);
    CHECK(r != NULL);
    CHECKF(gray_at(r, 25, 25) > 250, "4 bpp white is %d", gray_at(r, 25, 25));
    pixDestroy(&r);
    for (int i = 0; i < N; i++)
        pixDestroy(&src[i]);
    pixDestroy(&cm_plain);
    return 0;
}

/* ---- 2. JPEG pass-through ---------------------------------------------- */

static int test_jpeg_passthrough(void)
{
    if (!have_tools())
        return SH_SKIP;
    char pdf[512], prefix[512], cmd[1400], got[600];
    sh_test_path(pdf, sizeof pdf, "jpeg.pdf");
    sh_test_path(prefix, sizeof prefix, "img");
    sh_err err = {0};

    PIX *rgb = pixCreate(160, 90, 32);
    for (int y = 0; y < 90; y++)
        for (int x = 0; x < 160; x++) {
            l_uint32 v;
            composeRGBPixel(x, y * 2, 255 - x, &v);
            pixSetPixel(rgb, x, y, v);
        }
    l_uint8 *jpg = NULL, *jpg_gray = NULL;
    size_t jn = 0, jgn = 0;
    CHECK(pixWriteMemJpeg(&jpg, &jn, rgb, 80, 0) == 0);
    PIX *gray = pixConvertRGBToLuminance(rgb);
    CHECK(pixWriteMemJpeg(&jpg_gray, &jgn, gray, 75, 1) == 0); /* progressive */
    pixDestroy(&rgb);
    pixDestroy(&gray);

    sh_pdf_image a, b;
    CHECKF(sh_pdf_image_from_jpeg(jpg, jn, &a, &err) == SH_OK, "%s", err.msg);
    CHECK(a.filter == SH_PDF_DCT && a.w == 160 && a.h == 90 && a.ncomp == 3);
    CHECK(a.bpc == 8 && a.n == jn && memcmp(a.data, jpg, jn) == 0);
    CHECKF(sh_pdf_image_from_jpeg(jpg_gray, jgn, &b, &err) == SH_OK, "%s",
           err.msg);
    CHECK(b.ncomp == 1 && b.w == 160 && b.h == 90);

    sh_pdf *p = NULL;
    CHECK(sh_pdf_open(pdf, "JPEG", &p, &err) == SH_OK);
    sh_pdf_page pg = {.w_pt = 160, .h_pt = 90, .img = &a,
                      .img_matrix = {160, 0, 0, 90, 0, 0}};
    CHECK(sh_pdf_add_page(p, &pg, &err) == SH_OK);
    pg.img = &b;
    CHECK(sh_pdf_add_page(p, &pg, &err) == SH_OK);
    CHECKF(sh_pdf_commit(&p, &err) == SH_OK, "%s", err.msg);
    sh_pdf_image_release(&a);
    sh_pdf_image_release(&b);

    snprintf(cmd, sizeof cmd, "qpdf --check '%s' >/dev/null 2>&1", pdf);
    CHECK(sh_test_run(cmd, NULL) == 0);
    snprintf(cmd, sizeof cmd, "pdfimages -j '%s' '%s'", pdf, prefix);
    CHECK(sh_test_run(cmd, NULL) == 0);
    const struct { const char *suffix; const l_uint8 *want; size_t n; } outs[] = {
        {"-000.jpg", jpg, jn},
        {"-001.jpg", jpg_gray, jgn},
    };
    for (size_t i = 0; i < SH_ARRAY_LEN(outs); i++) {
        snprintf(got, sizeof got, "%s%s", prefix, outs[i].suffix);
        uint8_t *d = NULL;
        size_t n = 0;
        CHECKF(sh_read_file(got, 0, &d, &n, &err) == SH_OK, "%s", err.msg);
        int same = n == outs[i].n && memcmp(d, outs[i].want, n) == 0;
        free(d);
        CHECKF(same, "%s differs from the JPEG put in", got);
    }
    lept_free(jpg);
    lept_free(jpg_gray);
    return 0;
}

static int test_jpeg_refused(void)
{
    static const uint8_t cmyk[] = {0xFF, 0xD8, 0xFF, 0xC0, 0x00, 0x14, 8,
                                   0x00, 0x10, 0x00, 0x10, 4, 1, 0x11, 0,
                                   2, 0x11, 0, 3, 0x11, 0, 4, 0x11, 0};
    static const uint8_t lossless[] = {0xFF, 0xD8, 0xFF, 0xC3, 0x00, 0x0B, 8,
                                       0x00, 0x10, 0x00, 0x10, 1, 1, 0x11, 0};
    static const uint8_t twelve[] = {0xFF, 0xD8, 0xFF, 0xC1, 0x00, 0x0B, 12,
                                     0x00, 0x10, 0x00, 0x10, 1, 1, 0x11, 0};
    static const uint8_t runs_off[] = {0xFF, 0xD8, 0xFF, 0xE0, 0x40, 0x00,
                                       'J', 'F'};
    static const uint8_t no_sof[] = {0xFF, 0xD8, 0xFF, 0xDA, 0x00, 0x02,
                                     0xFF, 0xD9};
    static const uint8_t png[] = {0x89, 'P', 'N', 'G', 13, 10, 26, 10};
    static const uint8_t ok[] = {0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, 0, 0,
                                 0xFF, 0xC0, 0x00, 0x0B, 8, 0x00, 0x07,
                                 0x00, 0x09, 1, 1, 0x11, 0};
    static const struct { const uint8_t *b; size_t n; int rc; } rows[] = {
        {cmyk, sizeof cmyk, SH_EINPUT},
        {lossless, sizeof lossless, SH_EINPUT},
        {twelve, sizeof twelve, SH_EINPUT},
        {runs_off, sizeof runs_off, SH_EINPUT},
        {no_sof, sizeof no_sof, SH_EINPUT},
        {png, sizeof png, SH_EINPUT},
        {ok, 3, SH_EINPUT},                   /* cut short */
        {ok, sizeof ok, SH_OK},
    };
    for (size_t i = 0; i < SH_ARRAY_LEN(rows); i++) {
        sh_pdf_image im;
        sh_err err = {0};
        int rc = sh_pdf_image_from_jpeg(rows[i].b, rows[i].n, &im, &err);
        CHECKF(rc == rows[i].rc, "row %zu: rc %d (%s)", i, rc, err.msg);
        if (rc == SH_OK) {
            CHECK(im.w == 9 && im.h == 7 && im.ncomp == 1);
        } else {
            CHECK(im.data == NULL);
            CHECK(strstr(err.msg, "JPEG") != NULL);
        }
        sh_pdf_image_release(&im);
    }
    return 0;
}

/* ---- 3. Vietnamese text and odd bytes ----------------------------------- */

static int test_vietnamese(void)
{
    if (!have_tools())
        return SH_SKIP;
    static const char *sentence = "Quyết định số 05/QĐ-UBND về đất đai";
    static const tword words[] = {
        {"Quyết", 40, 40, 140, 80, 0, 72, 44},
        {"định", 150, 40, 230, 80, 0, 72, 44},
        {"số", 240, 40, 280, 80, 0, 72, 44},
        {"05/QĐ-UBND", 290, 40, 500, 80, 0, 72, 44},
        {"về", 510, 40, 550, 80, 0, 72, 44},
        {"đất", 560, 40, 620, 80, 0, 72, 44},
        {"đai", 630, 40, 690, 80, 0, 72, 44},
        /* line 1: punctuation words sit far above their baseline */
        {"Hà", 40, 200, 90, 240, 1, 232, 44},
        {"Nội,", 100, 200, 170, 246, 1, 232, 44},
        {"-", 180, 220, 190, 224, 1, 232, 44},
        {"ngày", 200, 204, 280, 246, 1, 232, 44},
        {"5.", 290, 204, 310, 232, 1, 232, 44},
        /* line 2: a bad byte and a non-BMP character → U+FFFD */
        {"a\xFF" "b", 40, 300, 100, 340, 2, -1, 0},
        {"x\xF0\x9F\x98\x80y", 120, 300, 200, 340, 2, -1, 0},
        /* skipped: empty text, empty box */
        {"", 300, 300, 340, 340, 2, -1, 0},
        {"zero", 400, 300, 400, 340, 2, -1, 0},
    };
    char pdf[512], cmd[1200];
    sh_test_path(pdf, sizeof pdf, "vie.pdf");
    sh_err err = {0};
    sh_word wb[SH_ARRAY_LEN(words)];
    sh_words ws;
    fill_words(&ws, wb, words, (int)SH_ARRAY_LEN(words));

    sh_pdf *p = NULL;
    CHECK(sh_pdf_open(pdf, "Hồ sơ đất đai — 𝄞", &p, &err) == SH_OK);
    /* text only: no image */
    sh_pdf_page pg = {.w_pt = 720, .h_pt = 400, .words = &ws, .pt_per_px = 1};
    CHECKF(sh_pdf_add_page(p, &pg, &err) == SH_OK, "%s", err.msg);
    CHECKF(sh_pdf_commit(&p, &err) == SH_OK, "%s", err.msg);

    snprintf(cmd, sizeof cmd, "qpdf --check '%s' >/dev/null 2>&1", pdf);
    CHECK(sh_test_run(cmd, NULL) == 0);
    sh_buf txt = {0};
    snprintf(cmd, sizeof cmd, "pdftotext -raw -enc UTF-8 '%s' -", pdf);
    CHECK(sh_test_run(cmd, &txt) == 0 && txt.data);
    char want[256];
    snprintf(want, sizeof want, "%s\nHà Nội, - ngày 5.\n"
             "a\xEF\xBF\xBD" "b x\xEF\xBF\xBDy\n\f", sentence);
    CHECKF(strcmp(txt.data, want) == 0, "got [%s]", txt.data);
    sh_buf_release(&txt);

    /* the title comes back from Info (UTF-16BE, surrogate pair kept) */
    sh_buf info = {0};
    snprintf(cmd, sizeof cmd, "pdfinfo -enc UTF-8 '%s'", pdf);
    CHECK(sh_test_run(cmd, &info) == 0 && info.data);
    const char *t = strstr(info.data, "Title:");
    CHECK(t != NULL);
    for (t += 6; *t == ' '; t++)
        ;
    CHECKF(strncmp(t, "Hồ sơ đất đai — 𝄞\n", strlen("Hồ sơ đất đai — 𝄞\n")) == 0,
           "%s", info.data);
    CHECK(strstr(info.data, "Producer:") && strstr(info.data, " sohoa\n"));
    CHECK(strstr(info.data, "CreationDate:") != NULL);
    sh_buf_release(&info);
    return 0;
}

/* ---- 4. a turned image -------------------------------------------------- */

static int test_rotated(void)
{
    if (!have_tools())
        return SH_SKIP;
    char pdf[512], cmd[1200];
    sh_test_path(pdf, sizeof pdf, "turned.pdf");
    sh_err err = {0};
    /* stored 300x200 image, shown turned 90° clockwise on a 200x300 page:
       its top-left corner lands at the page's top-right */
    PIX *pix = pixCreate(300, 200, 1);
    pixRasterop(pix, 10, 10, 30, 20, PIX_SET, NULL, 0, 0);
    sh_pdf_image im;
    CHECK(sh_pdf_image_from_pix(pix, &im, &err) == SH_OK);
    pixDestroy(&pix);
    static const tword words[] = {{"turned", 20, 100, 120, 130, 0, -1, 0}};
    sh_word wb[1];
    sh_words ws;
    fill_words(&ws, wb, words, 1);

    sh_pdf *p = NULL;
    CHECK(sh_pdf_open(pdf, NULL, &p, &err) == SH_OK);
    const double W = 300, H = 200;
    sh_pdf_page pg = {.w_pt = H, .h_pt = W, .img = &im,
                      .img_matrix = {0, -W, H, 0, 0, W}, .words = &ws,
                      .pt_per_px = 1};
    CHECKF(sh_pdf_add_page(p, &pg, &err) == SH_OK, "%s", err.msg);
    CHECKF(sh_pdf_commit(&p, &err) == SH_OK, "%s", err.msg);
    sh_pdf_image_release(&im);

    snprintf(cmd, sizeof cmd, "qpdf --check '%s' >/dev/null 2>&1", pdf);
    CHECK(sh_test_run(cmd, NULL) == 0);
    PIX *r = render(pdf, 1, 1);
    CHECK(r && pixGetWidth(r) == 200 && pixGetHeight(r) == 300);
    /* image pixel (20,20) → page x = H*(1-20/H) = 180, row 20 */
    CHECKF(gray_at(r, 180, 20) < 40, "turned mark is %d", gray_at(r, 180, 20));
    CHECKF(gray_at(r, 20, 20) > 215, "unturned spot is %d", gray_at(r, 20, 20));
    CHECKF(gray_at(r, 180, 280) > 215, "far corner is %d", gray_at(r, 180, 280));
    pixDestroy(&r);
    sh_buf txt = {0};
    snprintf(cmd, sizeof cmd, "pdftotext -raw '%s' -", pdf);
    CHECK(sh_test_run(cmd, &txt) == 0 && txt.data && strcmp(txt.data, "turned\n\f") == 0);
    sh_buf_release(&txt);
    return 0;
}

/* ---- 5. hand-off file ---------------------------------------------------- */

static int same_image(const sh_pdf_image *a, const sh_pdf_image *b)
{
    return a->filter == b->filter && a->w == b->w && a->h == b->h &&
           a->bpc == b->bpc && a->ncomp == b->ncomp &&
           a->black_is_1 == b->black_is_1 && a->n == b->n &&
           memcmp(a->data, b->data, a->n) == 0;
}

static int test_save_load(void)
{
    char path[512];
    sh_test_path(path, sizeof path, "page.img");
    sh_err err = {0};
    PIX *pix = pixCreate(640, 480, 1);
    pixRasterop(pix, 100, 100, 50, 300, PIX_SET, NULL, 0, 0);
    PIX *g = pixCreate(64, 48, 8);
    pixSetAllArbitrary(g, 77);
    sh_pdf_image in[2], out;
    CHECK(sh_pdf_image_from_pix(pix, &in[0], &err) == SH_OK);
    CHECK(sh_pdf_image_from_pix(g, &in[1], &err) == SH_OK);
    pixDestroy(&pix);
    pixDestroy(&g);
    for (int i = 0; i < 2; i++) {
        CHECKF(sh_pdf_image_save(&in[i], path, &err) == SH_OK, "%s", err.msg);
        CHECKF(sh_pdf_image_load(path, &out, &err) == SH_OK, "%s", err.msg);
        CHECK(same_image(&in[i], &out));
        sh_pdf_image_release(&out);
    }
    CHECK(sh_test_count_names(sh_test_tmpdir(), ".tmp.") == 0);

    /* damaged copies are refused, each for its own reason */
    uint8_t *f = NULL;
    size_t n = 0;
    CHECK(sh_read_file(path, 0, &f, &n, &err) == SH_OK && n > 60);
    static const struct { const char *what; size_t at; int cut; } dmg[] = {
        {"magic", 0, 0},
        {"version", 8, 0},
        {"filter", 12, 0},
        {"width", 17, 0},
        {"checksum", 36, 0},
        {"data byte", 55, 0},
        {"truncated", 0, 1},
    };
    for (size_t i = 0; i < SH_ARRAY_LEN(dmg); i++) {
        uint8_t *c = malloc(n);
        CHECK(c != NULL);
        memcpy(c, f, n);
        size_t cn = n;
        if (dmg[i].cut)
            cn = n - 5;
        else
            c[dmg[i].at] ^= 0x5A;
        CHECK(sh_write_atomic(path, c, cn, &err) == SH_OK);
        free(c);
        sh_err e2 = {0};
        int rc = sh_pdf_image_load(path, &out, &e2);
        CHECKF(rc == SH_EINPUT, "%s: rc %d", dmg[i].what, rc);
        CHECKF(strstr(e2.msg, path) != NULL, "%s: %s", dmg[i].what, e2.msg);
        CHECK(out.data == NULL);
    }
    free(f);
    CHECK(sh_pdf_image_load("/nonexistent/x.img", &out, &err) == SH_EIO);
    /* an unsound image is not saved */
    sh_pdf_image bad = in[1];
    bad.ncomp = 2;
    CHECK(sh_pdf_image_save(&bad, path, &err) == SH_EUSAGE);
    sh_pdf_image_release(&in[0]);
    sh_pdf_image_release(&in[1]);
    return 0;
}

/* ---- 6. failures leave nothing behind ------------------------------------ */

static int add_plain_page(sh_pdf *p, const sh_pdf_image *im, sh_err *err)
{
    sh_pdf_page pg = {.w_pt = 100, .h_pt = 100, .img = im,
                      .img_matrix = {100, 0, 0, 100, 0, 0}};
    return sh_pdf_add_page(p, &pg, err);
}

static int test_failures(void)
{
    const char *dir = sh_test_tmpdir();
    char path[512], sub[600];
    sh_err err = {0};
    sh_pdf *p = NULL;

    PIX *pix = pixCreate(100, 100, 8);
    pixSetAllArbitrary(pix, 128);
    sh_pdf_image im;
    CHECK(sh_pdf_image_from_pix(pix, &im, &err) == SH_OK);
    pixDestroy(&pix);

    /* a missing folder: clean error naming the path, nothing created */
    CHECK(sh_pdf_open("/nonexistent-sohoa/x.pdf", NULL, &p, &err) == SH_EIO);
    CHECK(p == NULL && strstr(err.msg, "/nonexistent-sohoa/x.pdf") != NULL);

    /* abort leaves nothing */
    sh_test_path(path, sizeof path, "aborted.pdf");
    CHECK(sh_pdf_open(path, "t", &p, &err) == SH_OK);
    CHECK(sh_test_count_names(dir, "aborted.pdf.tmp.") == 1);
    CHECK(add_plain_page(p, &im, &err) == SH_OK);
    sh_pdf_abort(&p);
    CHECK(p == NULL);
    CHECK(sh_test_count_names(dir, "aborted") == 0);
    sh_pdf_abort(&p);                                 /* NULL is fine */

    /* no pages: refused, nothing left */
    sh_test_path(path, sizeof path, "empty.pdf");
    CHECK(sh_pdf_open(path, NULL, &p, &err) == SH_OK);
    CHECK(sh_pdf_commit(&p, &err) == SH_EUSAGE && p == NULL);
    CHECK(sh_test_count_names(dir, "empty") == 0);

    /* rename onto a non-empty folder fails at commit: error, no temp */
    sh_test_path(path, sizeof path, "isdir.pdf");
    snprintf(sub, sizeof sub, "%s/keep", path);
    CHECK(mkdir(path, 0755) == 0 && mkdir(sub, 0755) == 0);
    CHECK(sh_pdf_open(path, NULL, &p, &err) == SH_OK);
    CHECK(add_plain_page(p, &im, &err) == SH_OK);
    int rc = sh_pdf_commit(&p, &err);
    CHECKF(rc == SH_EIO && strstr(err.msg, path), "rc %d: %s", rc, err.msg);
    CHECK(p == NULL && sh_test_count_names(dir, "isdir.pdf.tmp") == 0);
    rmdir(sub);
    rmdir(path);

    /* bad page arguments are refused without spoiling the document */
    sh_test_path(path, sizeof path, "usage.pdf");
    CHECK(sh_pdf_open(path, NULL, &p, &err) == SH_OK);
    sh_pdf_page pg = {.w_pt = 100, .h_pt = 100, .img = &im,
                      .img_matrix = {NAN, 0, 0, 100, 0, 0}};
    CHECK(sh_pdf_add_page(p, &pg, &err) == SH_EUSAGE);
    CHECK(strstr(err.msg, "page 1") && strstr(err.msg, path));
    pg.img_matrix[0] = 100;
    pg.w_pt = INFINITY;
    CHECK(sh_pdf_add_page(p, &pg, &err) == SH_EUSAGE);
    pg.w_pt = 100;
    pg.img_matrix[3] = 0;                             /* singular */
    CHECK(sh_pdf_add_page(p, &pg, &err) == SH_EUSAGE);
    pg.img_matrix[3] = 100;
    static const tword tw[] = {{"w", 1, 1, 5, 5, 0, -1, 0}};
    sh_word wb[1];
    sh_words ws;
    fill_words(&ws, wb, tw, 1);
    pg.words = &ws;
    pg.pt_per_px = 0;
    CHECK(sh_pdf_add_page(p, &pg, &err) == SH_EUSAGE);
    pg.pt_per_px = 1;
    CHECK(sh_pdf_add_page(p, &pg, &err) == SH_OK);
    CHECK(sh_pdf_add_page(NULL, &pg, &err) == SH_EUSAGE);
    CHECK(sh_pdf_commit(&p, &err) == SH_OK);
    CHECK(sh_test_file_exists(path) && sh_test_count_names(dir, "usage.pdf.tmp") == 0);
    if (have_tools()) {
        char cmd[1200];
        snprintf(cmd, sizeof cmd, "qpdf --check '%s' >/dev/null 2>&1", path);
        CHECK(sh_test_run(cmd, NULL) == 0);
        /* no nan/inf anywhere, even inside the streams */
        sh_buf q = {0};
        snprintf(cmd, sizeof cmd, "qpdf --qdf --object-streams=disable '%s' - "
                 "| grep -a -c -i -w -E '(nan|inf|infinity)' ", path);
        sh_test_run(cmd, &q);
        CHECKF(q.data && atoi(q.data) == 0, "nan/inf in %s", path);
        sh_buf_release(&q);
    }

    /* the text-layer font missing: clear error naming it, nothing made */
    sh_test_path(path, sizeof path, "nofont.pdf");
    setenv("SOHOA_PDF_FONT", "/nonexistent/pdf.ttf", 1);
    rc = sh_pdf_open(path, NULL, &p, &err);
    unsetenv("SOHOA_PDF_FONT");
    CHECK(rc == SH_EIO && p == NULL);
    CHECKF(strstr(err.msg, "/nonexistent/pdf.ttf") != NULL, "%s", err.msg);
    CHECK(sh_test_count_names(dir, "nofont") == 0);

    sh_pdf_image_release(&im);
    return 0;
}

/* A full disk, simulated with the file-size limit (EFBIG → SH_ENOSPC). */
static int test_disk_full(void)
{
    const char *dir = sh_test_tmpdir();
    char path[512];
    sh_test_path(path, sizeof path, "full.pdf");
    sh_err err = {0};
    /* a noisy image that does not compress below the limit */
    PIX *pix = pixCreate(300, 300, 8);
    unsigned s = 12345;
    for (int y = 0; y < 300; y++)
        for (int x = 0; x < 300; x++) {
            s = s * 1103515245u + 12345u;
            pixSetPixel(pix, x, y, (s >> 16) & 0xFF);
        }
    sh_pdf_image im;
    CHECK(sh_pdf_image_from_pix(pix, &im, &err) == SH_OK);
    pixDestroy(&pix);
    CHECK(im.n > 60000);

    sh_pdf *p = NULL;
    CHECK(sh_pdf_open(path, NULL, &p, &err) == SH_OK);
    struct rlimit old, lim;
    CHECK(getrlimit(RLIMIT_FSIZE, &old) == 0);
    lim = old;
    lim.rlim_cur = 20000;
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    CHECK(setrlimit(RLIMIT_FSIZE, &lim) == 0);
    int rc = add_plain_page(p, &im, &err);
    setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, prev);
    CHECKF(rc == SH_ENOSPC, "rc %d: %s", rc, err.msg);
    CHECK(strstr(err.msg, path) != NULL);
    CHECK(sh_test_count_names(dir, "full.pdf") == 0);       /* temp already gone */
    /* the failure sticks */
    sh_err e2 = {0};
    CHECK(add_plain_page(p, &im, &e2) == SH_ENOSPC);
    CHECK(sh_pdf_commit(&p, &e2) == SH_ENOSPC && p == NULL);
    CHECK(strcmp(e2.msg, err.msg) == 0);
    CHECK(sh_test_count_names(dir, "full.pdf") == 0);
    sh_pdf_image_release(&im);
    return 0;
}

/* Touching and overlapping boxes (Tesseract gives them) still come out
   as separate words: the left one is narrowed, its start kept. */
static int test_tight_words(void)
{
    if (!have_tools())
        return SH_SKIP;
    static const tword tw[] = {
        {"alpha", 100, 50, 200, 90, 0, 82, 40},
        {"beta", 200, 52, 280, 92, 0, 84, 40},       /* touching */
        {"gamma", 270, 54, 380, 94, 0, 86, 40},      /* overlapping */
        {"i", 385, 54, 390, 94, 0, 86, 40},          /* a hair apart */
        {"delta", 100, 100, 200, 140, 1, 132, 40},
        {"eps", 210, 100, 260, 140, 1, 132, 40},
    };
    sh_word wb[SH_ARRAY_LEN(tw)];
    sh_words ws;
    fill_words(&ws, wb, tw, (int)SH_ARRAY_LEN(tw));
    char path[512], cmd[1200];
    sh_test_path(path, sizeof path, "tight.pdf");
    sh_err err = {0};
    sh_pdf *p = NULL;
    CHECK(sh_pdf_open(path, NULL, &p, &err) == SH_OK);
    sh_pdf_page pg = {.w_pt = 576, .h_pt = 432, .words = &ws, .pt_per_px = 0.72};
    CHECK(sh_pdf_add_page(p, &pg, &err) == SH_OK);
    CHECK(sh_pdf_commit(&p, &err) == SH_OK);
    sh_buf txt = {0};
    snprintf(cmd, sizeof cmd, "pdftotext -raw '%s' -", path);
    CHECK(sh_test_run(cmd, &txt) == 0 && txt.data);
    CHECKF(strcmp(txt.data, "alpha beta gamma i\ndelta eps\n\f") == 0,
           "got [%s]", txt.data);
    sh_buf_release(&txt);
    sh_buf html = {0};
    snprintf(cmd, sizeof cmd, "pdftotext -bbox '%s' -", path);
    CHECK(sh_test_run(cmd, &html) == 0 && html.data);
    const char *s = html.data;
    for (size_t i = 0; i < SH_ARRAY_LEN(tw); i++) {
        double b[4];
        s = strstr(s, "<word ");
        CHECK(s != NULL);
        CHECK(sscanf(s, "<word xMin=\"%lf\" yMin=\"%lf\" xMax=\"%lf\" "
                     "yMax=\"%lf\"", &b[0], &b[1], &b[2], &b[3]) == 4);
        s++;
        double x0 = tw[i].x0 * 0.72, x1 = tw[i].x1 * 0.72;
        CHECKF(fabs(b[0] - x0) < 0.01, "%s starts at %.2f", tw[i].text, b[0]);
        CHECKF(b[2] <= x1 + 0.01 && b[2] >= (x0 + x1) / 2, "%s ends at %.2f",
               tw[i].text, b[2]);
    }
    sh_buf_release(&html);
    return 0;
}

/* A page of many lines keeps its reading order. */
static int test_many_lines(void)
{
    if (!have_tools())
        return SH_SKIP;
    enum { LINES = 40, PER = 6 };
    static char texts[LINES * PER][32];
    static tword tw[LINES * PER];
    for (int l = 0; l < LINES; l++)
        for (int i = 0; i < PER; i++) {
            int k = l * PER + i;
            snprintf(texts[k], sizeof texts[k], "w%d_%d", l, i);
            tw[k] = (tword){texts[k], 50 + i * 200, 60 + l * 80,
                            50 + i * 200 + 150, 60 + l * 80 + 50, l,
                            60 + l * 80 + 40, 60};
        }
    sh_word wb[LINES * PER];
    sh_words ws;
    fill_words(&ws, wb, tw, LINES * PER);
    char path[512], cmd[1200];
    sh_test_path(path, sizeof path, "lines.pdf");
    sh_err err = {0};
    sh_pdf *p = NULL;
    CHECK(sh_pdf_open(path, NULL, &p, &err) == SH_OK);
    double k = 72.0 / 300;
    sh_pdf_page pg = {.w_pt = 1300 * k, .h_pt = 3400 * k, .words = &ws,
                      .pt_per_px = k};
    CHECK(sh_pdf_add_page(p, &pg, &err) == SH_OK);
    CHECK(sh_pdf_commit(&p, &err) == SH_OK);
    sh_buf txt = {0}, want = {0};
    snprintf(cmd, sizeof cmd, "pdftotext -raw '%s' -", path);
    CHECK(sh_test_run(cmd, &txt) == 0 && txt.data);
    for (int l = 0; l < LINES; l++)
        for (int i = 0; i < PER; i++)
            sh_buf_printf(&want, "w%d_%d%s", l, i, i == PER - 1 ? "\n" : " ");
    sh_buf_adds(&want, "\f");
    CHECKF(strcmp(txt.data, want.data) == 0, "got [%s]", txt.data);
    sh_buf_release(&txt);
    sh_buf_release(&want);
    return 0;
}

const sh_test sh_tests_pdf[] = {
    {"pdf/two_pages", test_two_pages},
    {"pdf/pix_kinds", test_pix_kinds},
    {"pdf/jpeg_passthrough", test_jpeg_passthrough},
    {"pdf/jpeg_refused", test_jpeg_refused},
    {"pdf/vietnamese", test_vietnamese},
    {"pdf/rotated", test_rotated},
    {"pdf/save_load", test_save_load},
    {"pdf/failures", test_failures},
    {"pdf/disk_full", test_disk_full},
    {"pdf/tight_words", test_tight_words},
    {"pdf/many_lines", test_many_lines},
    {NULL, NULL},
};
