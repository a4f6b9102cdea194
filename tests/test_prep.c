/*
 * test_prep.c — page preparation: skew found within 0.1° over ±6°, quarter
 * turns from file tags and from the page itself, resolution normalised for
 * OCR, and the PDF matrix that places the original pixels.
 *
 * Pages are made here: lines of text in Leptonica's built-in bitmap font on
 * a white A4 sheet at 300 dpi, rotated by known angles.
 */
#include "test.h"
#include "../ocr/ocr.h"
#include "../scanners/prep.h"
#include "../scanners/scan.h"

#include <math.h>
#include <string.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

static const char *para =
    "The provincial archive keeps land records, civil status registers and "
    "decisions of the people's committee. Each dossier is scanned page by "
    "page, recognised and indexed so that officers can find the right page. "
    "Skewed sheets, sideways feeds and upside down pages are common in "
    "stapled dossiers, and the pipeline must set them right without help. ";

/* A 300 dpi 1 bpp page full of text lines. */
static PIX *make_page(int w, int h)
{
    PIX *pix = pixCreate(w, h, 1);
    L_BMF *bmf = bmfCreate(NULL, 14);
    if (!pix || !bmf)
        return NULL;
    char text[8192] = "";
    for (int i = 0; i < 12; i++)
        strncat(text, para, sizeof text - strlen(text) - 1);
    l_int32 overflow = 0;
    pixSetTextblock(pix, bmf, text, 1, w / 10, h / 12, w * 8 / 10, 1,
                    &overflow);
    bmfDestroy(&bmf);
    pixSetResolution(pix, 300, 300);
    return pix;
}

/* Rotate counter-clockwise by deg (Leptonica's angle is clockwise). */
static PIX *skew_page(PIX *pix, double deg)
{
    return pixRotate(pix, (float)(-deg * M_PI / 180), L_ROTATE_SAMPLING,
                     L_BRING_IN_WHITE, 0, 0);
}

static int test_deskew_sweep(void)
{
    PIX *page = make_page(2480, 3508);
    CHECK(page);
    double worst = 0;
    for (double a = -6; a <= 6.001; a += 0.75) {
        PIX *s = skew_page(page, a);
        sh_frame f = {0};
        f.pix = s;
        f.xres = f.yres = 300;
        sh_prep_opts o = {0};
        o.no_orient = 1;
        sh_prepped pp;
        sh_err err = {0};
        CHECKF(sh_prep_page(&f, &o, &pp, &err) == SH_OK, "%s", err.msg);
        double resid = fabs(pp.geom.skew_deg - a);
        if (fabs(a) < 0.05)
            resid = fabs(pp.geom.skew_deg);
        CHECKF(resid <= 0.1, "skew %.2f found %.3f", a, pp.geom.skew_deg);
        if (resid > worst)
            worst = resid;
        CHECK(pp.geom.quarter == 0);
        CHECK(pp.geom.ocr_w == 2480 && pp.geom.ocr_h == 3508);
        sh_prepped_release(&pp);
        pixDestroy(&s);
    }
    printf("     worst deskew residual over ±6°: %.3f°\n", worst);
    pixDestroy(&page);
    return 0;
}

static int test_resolution(void)
{
    /* By the file's dpi alone (no_text_scale, or text not measurable):
       150..400 dpi pages are read as they are; 100 and 600 dpi pages at
       300 dpi.  By the text (the default): the synthetic text is 28 px
       high at every dpi, which Tesseract reads as it is.  Either way the
       PDF page keeps the sheet's physical size. */
    static const struct { int dpi; double want; int by_text; } rows[] = {
        {100, 300, 0}, {150, 150, 0}, {200, 200, 0}, {300, 300, 0},
        {600, 300, 0}, {400, 400, 0},
        {100, 100, 1}, {200, 200, 1}, {600, 600, 1},
    };
    for (size_t i = 0; i < SH_ARRAY_LEN(rows); i++) {
        int dpi = rows[i].dpi;
        PIX *page = make_page(827 * dpi / 100, 1169 * dpi / 100);
        CHECK(page);
        sh_frame f = {0};
        f.pix = page;
        f.xres = f.yres = dpi;
        sh_prep_opts o = {0};
        o.no_orient = o.no_deskew = 1;
        o.no_text_scale = !rows[i].by_text;
        sh_prepped pp;
        sh_err err = {0};
        CHECK(sh_prep_page(&f, &o, &pp, &err) == SH_OK);
        CHECKF(fabs(pp.geom.ocr_dpi - rows[i].want) < 0.5, "%d dpi → %.1f",
               dpi, pp.geom.ocr_dpi);
        CHECK(fabs(pp.geom.page_w_pt - 8.27 * 72) < 1.0);
        CHECK(fabs(pp.geom.page_h_pt - 11.69 * 72) < 1.0);
        CHECK(abs(pixGetWidth(pp.ocr) - (int)(8.27 * rows[i].want)) <= 2);
        CHECK(!rows[i].by_text || fabs(pp.text_px - 28) <= 2);
        sh_prepped_release(&pp);
        pixDestroy(&page);
    }
    /* Small sharp text is magnified (at most x2), large text reduced, to
       an x-height Tesseract reads well; the page size stays physical. */
    PIX *page = make_page(827 * 3, 1169 * 3);
    CHECK(page);
    static const struct { double k; double lo, hi; } sizes[] = {
        {0.3, 15, 17.5}, {0.45, 15, 17.5}, {2.5, 26, 30},
    };
    for (size_t i = 0; i < SH_ARRAY_LEN(sizes); i++) {
        double k = sizes[i].k;
        PIX *s = k < 1 ? pixScaleToGray(page, (float)k)
                       : pixExpandReplicate(page, (int)k);
        if (k > 1) {  /* 2.5: x2 then x1.25 */
            PIX *t = pixScale(s, 1.25f, 1.25f);
            pixDestroy(&s);
            s = t;
        }
        CHECK(s);
        sh_frame f = {0};
        f.pix = s;
        f.xres = f.yres = (int)(300 * k + 0.5);
        sh_prep_opts o = {0};
        o.no_orient = o.no_deskew = 1;
        sh_prepped pp;
        sh_err err = {0};
        CHECK(sh_prep_page(&f, &o, &pp, &err) == SH_OK);
        double scale = pp.geom.ocr_dpi / f.xres;
        CHECKF(pp.text_px >= sizes[i].lo && pp.text_px <= sizes[i].hi,
               "x%.2f: text %.1f px at x%.2f", k, pp.text_px, scale);
        CHECK(scale <= 2.0 + 1e-9);
        CHECKF(fabs(pp.geom.page_w_pt - pixGetWidth(s) * 72.0 / f.xres) < 0.5,
               "page %.1f pt", pp.geom.page_w_pt);
        CHECK(abs(pp.geom.ocr_w - (int)(pixGetWidth(s) * scale + 0.5)) <= 2);
        sh_prepped_release(&pp);
        pixDestroy(&s);
    }
    pixDestroy(&page);
    return 0;
}

static int test_orientation(void)
{
    sh_ocr *eng = NULL;
    sh_err err = {0};
    if (sh_ocr_new(NULL, NULL, &eng, &err) != SH_OK) {
        fprintf(stderr, "  %s\n", err.msg);
        return 1;
    }
    PIX *page = make_page(2480, 3508);
    CHECK(page);
    for (int turn = 0; turn < 4; turn++) {
        /* The sheet fed turned `turn` quarters counter-clockwise (plus a
           little skew); prep must find `turn` clockwise quarters. */
        PIX *s = skew_page(page, 1.5);
        PIX *t = pixRotateOrth(s, (4 - turn) % 4);
        for (int tagged = 0; tagged < 2; tagged++) {
            sh_frame f = {0};
            f.pix = t;
            f.xres = f.yres = 300;
            if (tagged)   /* the file's tag says how to turn it */
                f.tag_rot = turn * 90;
            sh_prep_opts o = {0};
            o.orient = sh_ocr_orient;
            o.orient_ctx = eng;
            sh_prepped pp;
            CHECK(sh_prep_page(&f, &o, &pp, &err) == SH_OK);
            CHECKF(pp.geom.quarter == turn, "turn %d tagged %d: quarter %d",
                   turn, tagged, pp.geom.quarter);
            CHECKF(fabs(pp.geom.skew_deg - 1.5) <= 0.1, "skew %.3f",
                   pp.geom.skew_deg);
            CHECK(pp.geom.tag_rot == (tagged ? turn * 90 : 0));
            CHECK(pixGetWidth(pp.ocr) == 2480);
            sh_prepped_release(&pp);
        }
        pixDestroy(&t);
        pixDestroy(&s);
    }
    pixDestroy(&page);
    sh_ocr_free(&eng);
    return 0;
}

/* The samples' sideways and upside-down pages, whose text Leptonica's
   tests find unclear at half resolution, are turned upright by the same
   tests at the OCR resolution, with no osd model to ask (o.orient NULL):
   each sheet and the same sheet turned a quarter more. */
static int test_orientation_full_res(void)
{
    static const struct { const char *file; int quarter; } pages[] = {
        {"HS-2024-00002/0002.jpg", 1},      /* sideways */
        {"HS-2024-00003/0002.tif", 2},      /* upside down */
    };
    for (size_t i = 0; i < SH_ARRAY_LEN(pages); i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/batch/%s", sh_test_samples,
                 pages[i].file);
        sh_scan *sc = NULL;
        sh_frame f = {0};
        sh_err err = {0};
        CHECKF(sh_scan_open(path, NULL, &sc, &err) == SH_OK &&
               sh_scan_read(sc, 0, &f, &err) == SH_OK, "%s", err.msg);
        PIX *orig = f.pix;
        for (int more = 0; more < 2; more++) {
            f.pix = more ? pixRotateOrth(orig, 3) : pixClone(orig);
            CHECK(f.pix);
            sh_prep_opts o = {0};
            sh_prepped pp;
            CHECK(sh_prep_page(&f, &o, &pp, &err) == SH_OK);
            int want = (pages[i].quarter + more) % 4;
            CHECKF(pp.geom.quarter == want, "%s turned %d more: quarter %d, "
                   "not %d (up %.1f, left %.1f)", pages[i].file, more,
                   pp.geom.quarter, want, pp.geom.up_conf,
                   pp.geom.left_conf);
            sh_prepped_release(&pp);
            pixDestroy(&f.pix);
        }
        f.pix = orig;
        sh_frame_release(&f);
        sh_scan_close(&sc);
    }
    return 0;
}

/* Apply a PDF matrix to a unit-square point. */
static void apply(const double m[6], double u, double v, double *x, double *y)
{
    *x = m[0] * u + m[2] * v + m[4];
    *y = m[1] * u + m[3] * v + m[5];
}

static int test_matrix(void)
{
    /* A 100×200 pt image (stored), turned a quarter clockwise: its
       top-left corner (u=0, v=1) lands at the page's top-right. */
    sh_geom g = {0};
    g.src_w = 100;
    g.src_h = 200;
    g.src_xres = g.src_yres = 72;
    g.quarter = 1;
    g.page_w_pt = 200;
    g.page_h_pt = 100;
    double m[6], x, y;
    sh_geom_image_matrix(&g, m);
    apply(m, 0, 1, &x, &y);
    CHECKF(fabs(x - 200) < 1e-9 && fabs(y - 100) < 1e-9, "%g %g", x, y);
    apply(m, 1, 0, &x, &y);   /* bottom-right → bottom-left */
    CHECKF(fabs(x) < 1e-9 && fabs(y) < 1e-9, "%g %g", x, y);
    /* upside down */
    g.quarter = 2;
    g.page_w_pt = 100;
    g.page_h_pt = 200;
    sh_geom_image_matrix(&g, m);
    apply(m, 0, 1, &x, &y);   /* top-left → bottom-right */
    CHECKF(fabs(x - 100) < 1e-9 && fabs(y) < 1e-9, "%g %g", x, y);
    /* deskew keeps the centre where it is */
    g.quarter = 0;
    g.skew_deg = 3;
    sh_geom_image_matrix(&g, m);
    apply(m, 0.5, 0.5, &x, &y);
    CHECK(fabs(x - 50) < 1e-9 && fabs(y - 100) < 1e-9);
    /* a content point rotated counter-clockwise by the skew comes back to
       where an upright page would have it: the image's top edge midpoint
       of a page skewed +3° is turned clockwise by 3° */
    apply(m, 0.5, 1, &x, &y);
    CHECK(fabs(x - (50 + 100 * sin(3 * M_PI / 180))) < 1e-9);

    /* The right half of a 200×100 pt two-up sheet becomes a 100×100 page:
       the sheet's top-right corner is the page's top-right corner and the
       sheet's bottom centre its origin. */
    sh_geom h = {0};
    h.src_w = 200;
    h.src_h = 100;
    h.src_xres = h.src_yres = 72;
    h.ocr_dpi = 72;
    h.full_w = 200;
    h.full_h = 100;
    h.reg_x = 100;
    h.reg_w = 100;
    h.reg_h = 100;
    h.part = 1;
    h.nparts = 2;
    h.page_w_pt = h.page_h_pt = 100;
    sh_geom_image_matrix(&h, m);
    apply(m, 1, 1, &x, &y);
    CHECKF(fabs(x - 100) < 1e-9 && fabs(y - 100) < 1e-9, "%g %g", x, y);
    apply(m, 0.5, 0, &x, &y);
    CHECKF(fabs(x) < 1e-9 && fabs(y) < 1e-9, "%g %g", x, y);
    /* the same sheet fed upside down: the stored image's bottom-left
       corner is the upright sheet's top-right */
    h.quarter = 2;
    sh_geom_image_matrix(&h, m);
    apply(m, 0, 0, &x, &y);
    CHECKF(fabs(x - 100) < 1e-9 && fabs(y - 100) < 1e-9, "%g %g", x, y);
    /* a half deskewed on its own turns about its own centre */
    h.quarter = 0;
    h.skew_deg = 2;
    sh_geom_image_matrix(&h, m);
    apply(m, 0.75, 0.5, &x, &y);
    CHECKF(fabs(x - 50) < 1e-9 && fabs(y - 50) < 1e-9, "%g %g", x, y);
    return 0;
}

/* sh_prep_binarize gives Leptonica's bits (scanners/binarize.c): pages of
   text with a shaded, noisy background at sizes that leave the last tiles
   of the background map and of the Otsu split uneven, and tiny ones. */
static int test_binarize_same(void)
{
    static const int size[][2] = {{2480, 3508}, {1237, 1753}, {997, 1403},
                                  {641, 37}, {33, 31}, {12, 9}};
    for (size_t k = 0; k < sizeof size / sizeof size[0]; k++) {
        int w = size[k][0], h = size[k][1];
        PIX *p1 = make_page(w > 400 ? w : 400, h > 400 ? h : 400);
        PIX *p8 = p1 ? pixConvert1To8(NULL, p1, 255, 0) : NULL;
        PIX *g = p8 ? pixScaleToSize(p8, w, h) : NULL;
        CHECK(g != NULL);
        /* shading from left to right, darker at the bottom, and noise */
        unsigned seed = 12345u + (unsigned)k;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                l_uint32 v;
                pixGetPixel(g, x, y, &v);
                seed = seed * 1103515245u + 12345u;
                int n = (int)v - 60 * x / w - 40 * y / h +
                        (int)((seed >> 16) % 31) - 15;
                pixSetPixel(g, x, y, (l_uint32)(n < 0 ? 0 : n > 255 ? 255 : n));
            }
        PIX *norm = pixBackgroundNormSimple(g, NULL, NULL);
        PIX *src = norm ? norm : g, *ref = NULL;
        int sx = w / 4 > 16 ? w / 4 : 16, sy = h / 4 > 16 ? h / 4 : 16;
        if (pixOtsuAdaptiveThreshold(src, sx, sy, 0, 0, 0.1f, NULL, &ref))
            ref = NULL;
        PIX *got = sh_prep_binarize(g);
        l_int32 same = 0;
        CHECKF(ref && got && pixEqual(ref, got, &same) == 0 && same,
               "%dx%d: not Leptonica's bits", w, h);
        pixDestroy(&got);
        pixDestroy(&ref);
        pixDestroy(&norm);
        pixDestroy(&g);
        pixDestroy(&p8);
        pixDestroy(&p1);
    }
    return 0;
}

const sh_test sh_tests_prep[] = {
    {"prep/binarize_same", test_binarize_same},
    {"prep/deskew_sweep", test_deskew_sweep},
    {"prep/resolution", test_resolution},
    {"prep/orientation", test_orientation},
    {"prep/orientation_full_res", test_orientation_full_res},
    {"prep/matrix", test_matrix},
    {NULL, NULL},
};
