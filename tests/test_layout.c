/*
 * test_layout.c — page-layout analysis: two-up sheets split at the fold or
 * gutter (and single landscape pages, tables and portrait pages not
 * split), staples and punch holes found and whitened, dark scanner borders
 * left out of the content box, blank backs told from pages with a few
 * lines; then the real spreads and pages of ../shared when present.
 *
 * Sheets are made here: paragraphs in Leptonica's built-in bitmap font on
 * gray paper (235) with dark print (30), composed into spreads, with fold
 * shadows, marks, borders and bleed-through drawn in by the helpers below.
 */
#include "test.h"
#include "../scanners/layout.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

#define PAPER 235
#define INK 30

static const char *para[2] = {
    "The provincial archive keeps land records, civil status registers and "
    "decisions of the people's committee. Each dossier is scanned page by "
    "page, recognised and indexed so that officers can find the right page. ",
    "Stapled dossiers hold large sheets folded in two, punched for the "
    "binder and fed in any orientation; blank backs are common and the "
    "pipeline must keep every written page and drop the empty ones. ",
};

static int px(int dpi, double mm) { return (int)(mm * dpi / 25.4 + 0.5); }

/* Blank paper, w_mm × h_mm at dpi, gray level PAPER. */
static PIX *paper(int dpi, double w_mm, double h_mm)
{
    PIX *p = pixCreate(px(dpi, w_mm), px(dpi, h_mm), 8);
    if (p) {
        pixSetAllArbitrary(p, PAPER);
        pixSetResolution(p, dpi, dpi);
    }
    return p;
}

static L_BMF *font_for(int dpi)
{
    int size = (int)(14.0 * dpi / 300 / 2 + 0.5) * 2;
    return bmfCreate(NULL, size < 6 ? 6 : size > 20 ? 20 : size);
}

/* Paragraph text filling the block (x,y,w,h mm) in gray level `ink`;
   mirror: flipped left-right (bleed-through from the back).  Returns the
   1 bpp text mask in page coordinates (caller destroys) or NULL. */
static PIX *put_text(PIX *pg, int dpi, double x, double y, double w, double h,
                     int ink, int which, int mirror)
{
    int bw = px(dpi, w), bh = px(dpi, h);
    PIX *blk = pixCreate(bw, bh, 1);
    L_BMF *bmf = font_for(dpi);
    if (!blk || !bmf)
        return NULL;
    char text[8192] = "";
    for (int i = 0; i < 30; i++)
        strncat(text, para[(which + i) % 2], sizeof text - strlen(text) - 1);
    l_int32 overflow = 0;
    pixSetTextblock(blk, bmf, text, 1, 0, bmf->lineheight, bw, 1, &overflow);
    bmfDestroy(&bmf);
    if (mirror)
        pixFlipLR(blk, blk);
    PIX *mask = pixCreate(pixGetWidth(pg), pixGetHeight(pg), 1);
    pixRasterop(mask, px(dpi, x), px(dpi, y), bw, bh, PIX_SRC, blk, 0, 0);
    pixDestroy(&blk);
    pixPaintThroughMask(pg, mask, 0, 0, ink);
    return mask;
}

/* One line of text with its left end at (x, y) mm. */
static void put_line(PIX *pg, int dpi, double x, double y, const char *s)
{
    L_BMF *bmf = font_for(dpi);
    PIX *m = pixCreate(pixGetWidth(pg), pixGetHeight(pg), 1);
    pixSetTextline(m, bmf, s, 1, px(dpi, x), px(dpi, y), NULL, NULL);
    pixPaintThroughMask(pg, m, 0, 0, INK);
    pixDestroy(&m);
    bmfDestroy(&bmf);
}

/* Pixels within distance r (mm) of (cx,cy) mm get level v; ring > 0: only
   the outer `ring` mm (a light hole with a dark rim). */
static void put_disc(PIX *pg, int dpi, double cx, double cy, double r,
                     double ring, int v)
{
    double c0 = cx * dpi / 25.4, c1 = cy * dpi / 25.4, rp = r * dpi / 25.4;
    double ri = ring > 0 ? (r - ring) * dpi / 25.4 : -1;
    for (int y = (int)(c1 - rp) - 1; y <= (int)(c1 + rp) + 1; y++)
        for (int x = (int)(c0 - rp) - 1; x <= (int)(c0 + rp) + 1; x++) {
            double d = hypot(x - c0, y - c1);
            if (d <= rp)
                pixSetPixel(pg, x, y, d > ri ? (l_uint32)v : 255);
        }
}

/* A bar of length len and thickness th (mm) centred at (cx,cy) mm, at
   angle deg (counter-clockwise from horizontal), level v. */
static void put_bar(PIX *pg, int dpi, double cx, double cy, double len,
                    double th, double deg, int v)
{
    double k = dpi / 25.4, c0 = cx * k, c1 = cy * k;
    double ux = cos(deg * M_PI / 180), uy = -sin(deg * M_PI / 180);
    double hl = len * k / 2, ht = th * k / 2, e = hl + ht + 2;
    for (int y = (int)(c1 - e); y <= (int)(c1 + e); y++)
        for (int x = (int)(c0 - e); x <= (int)(c0 + e); x++) {
            double dx = x - c0, dy = y - c1;
            double along = dx * ux + dy * uy, across = -dx * uy + dy * ux;
            if (fabs(along) <= hl && fabs(across) <= ht)
                pixSetPixel(pg, x, y, (l_uint32)v);
        }
}

/* Darken columns around x_fold (px) like the shadow of a fold: depth
   fraction at the centre, Gaussian of sigma mm. */
static void put_fold(PIX *pg, int dpi, int x_fold, double depth, double sigma)
{
    int w = pixGetWidth(pg), h = pixGetHeight(pg), wpl = pixGetWpl(pg);
    double s = sigma * dpi / 25.4;
    l_uint32 *d = pixGetData(pg);
    for (int x = 0; x < w; x++) {
        double f = 1 - depth * exp(-0.5 * (x - x_fold) * (x - x_fold) / (s * s));
        if (f > 0.999)
            continue;
        for (int y = 0; y < h; y++) {
            l_uint32 *l = d + (size_t)y * wpl;
            SET_DATA_BYTE(l, x, (int)(GET_DATA_BYTE(l, x) * f + 0.5));
        }
    }
}

/* Rotate counter-clockwise by deg about the centre, white brought in. */
static PIX *skewed(PIX *p, double deg)
{
    return pixRotate(p, (float)(-deg * M_PI / 180), L_ROTATE_AREA_MAP,
                     L_BRING_IN_WHITE, 0, 0);
}

static PIX *noisy(PIX *p, double sd)
{
    PIX *n = pixAddGaussianNoise(p, (float)sd);
    pixDestroy(&p);
    return n;
}

/* Two A4 pages side by side (the left one `wl_mm` wide), text on both. */
static PIX *two_up(int dpi, double wl_mm)
{
    PIX *s = paper(dpi, wl_mm + 210, 297);
    if (!s)
        return NULL;
    PIX *m1 = put_text(s, dpi, 30, 25, wl_mm - 50, 240, INK, 0, 0);
    PIX *m2 = put_text(s, dpi, wl_mm + 30, 25, 160, 240, INK, 1, 0);
    pixDestroy(&m1);
    pixDestroy(&m2);
    return s;
}

static int check_split(PIX *s, int dpi, int want_split, const char *method,
                       double want_x, const char *what)
{
    sh_split sp;
    sh_err err = {0};
    int rc = sh_layout_split(s, dpi, &sp, &err);
    CHECKF(rc == SH_OK, "%s: %s", what, err.msg);
    int w = pixGetWidth(s);
    printf("     %-28s split=%d cut=%d (%.3f W) conf=%.2f %s review=%d: %s\n",
           what, sp.split, sp.cut_x, (double)sp.cut_x / w, sp.conf, sp.method,
           sp.review, sp.why);
    CHECKF(sp.split == want_split, "%s: split %d", what, sp.split);
    if (method)
        CHECKF(!strcmp(sp.method, method), "%s: method %s", what, sp.method);
    if (want_split)
        CHECKF(fabs(sp.cut_x - want_x) <= 0.01 * w, "%s: cut %d, want %.0f",
               what, sp.cut_x, want_x);
    CHECK(sp.conf >= 0 && sp.conf <= 1);
    CHECK(sp.review == (sp.conf < SH_LAYOUT_REVIEW_CONF));
    return 0;
}

static int test_split_fold(void)
{
    int dpi = 200;
    /* Left page 220 mm: the fold is off the centre, at 51.2 % of the
       width, so finding the centre would not pass. */
    PIX *s = two_up(dpi, 220);
    CHECK(s);
    int xf = px(dpi, 220);
    put_fold(s, dpi, xf, 0.45, 4);
    s = noisy(s, 4);
    CHECK(s);
    if (check_split(s, dpi, 1, "fold", xf, "fold"))
        return 1;
    /* The whole sheet skewed 2° either way: the fold is tilted. */
    for (int sign = -1; sign <= 1; sign += 2) {
        PIX *k = skewed(s, 2.0 * sign);
        CHECK(k);
        double cx = pixGetWidth(k) / 2.0;
        double want = cx + (xf - cx) / cos(2 * M_PI / 180);
        if (check_split(k, dpi, 1, "fold", want, sign < 0 ? "fold, skew -2°"
                                                          : "fold, skew +2°"))
            return 1;
        sh_split sp;
        CHECK(sh_layout_split(k, dpi, &sp, NULL) == SH_OK);
        /* Counter-clockwise skew: the fold's top leans left, so the cut
           moves right going down. */
        double tilt = atan(sp.cut_dxdy) * 180 / M_PI;
        CHECKF(fabs(tilt - 2.0 * sign) < 0.5, "tilt %.2f", tilt);
        pixDestroy(&k);
    }
    pixDestroy(&s);

    /* The same inside a dark scanner border on all sides: the paper is
       found first; each half then reports the border. */
    s = two_up(dpi, 210);
    CHECK(s);
    xf = pixGetWidth(s) / 2;
    put_fold(s, dpi, xf, 0.4, 5);
    PIX *b = pixAddBorderGeneral(s, 60, 60, 40, 50, 15);
    pixDestroy(&s);
    s = noisy(b, 4);
    CHECK(s);
    if (check_split(s, dpi, 1, "fold", xf + 60, "fold, dark border around"))
        return 1;
    sh_split sp;
    CHECK(sh_layout_split(s, dpi, &sp, NULL) == SH_OK);
    for (int k = 0; k < 2; k++) {
        int w = pixGetWidth(s), h = pixGetHeight(s);
        BOX *hb = k ? boxCreate(sp.cut_x, 0, w - sp.cut_x, h)
                    : boxCreate(0, 0, sp.cut_x, h);
        PIX *half = pixClipRectangle(s, hb, NULL);
        sh_content c;
        CHECK(half && sh_layout_content(half, dpi, &c, NULL) == SH_OK);
        CHECK(c.border && !c.blank);
        CHECK(k ? c.box.x + c.box.w <= pixGetWidth(half) - 60
                : c.box.x >= 60);
        CHECK(c.box.y >= 40 && c.box.y + c.box.h <= h - 50);
        sh_content_release(&c);
        pixDestroy(&half);
        boxDestroy(&hb);
    }
    pixDestroy(&s);
    return 0;
}

static int test_split_gutter(void)
{
    /* Gray sheet at 200 dpi and a 1-bit-like sheet at 300 dpi. */
    int dpis[2] = {200, 300};
    for (int i = 0; i < 2; i++) {
        int dpi = dpis[i];
        PIX *s = two_up(dpi, 210);
        CHECK(s);
        if (i == 1) {
            PIX *b = pixThresholdToBinary(s, 128);
            pixDestroy(&s);
            s = pixConvert1To8(NULL, b, 255, 0);
            pixDestroy(&b);
            CHECK(s);
        } else {
            s = noisy(s, 4);
        }
        if (check_split(s, dpi, 1, "gutter", pixGetWidth(s) / 2.0,
                        i ? "gutter, binary 300 dpi" : "gutter, gray 200 dpi"))
            return 1;
        /* Skewed 3°: the gutter is found along a tilted line. */
        PIX *k = skewed(s, 3);
        CHECK(k);
        if (check_split(k, dpi, 1, "gutter", pixGetWidth(k) / 2.0,
                        "gutter, skew 3°"))
            return 1;
        pixDestroy(&k);
        pixDestroy(&s);
    }
    /* Two short letters side by side: four lines on each page. */
    int dpi = 200;
    PIX *s = paper(dpi, 420, 297);
    CHECK(s);
    PIX *m1 = put_text(s, dpi, 30, 40, 160, 22, INK, 0, 0);
    PIX *m2 = put_text(s, dpi, 240, 60, 150, 22, INK, 1, 0);
    CHECK(m1 && m2);
    pixDestroy(&m1);
    pixDestroy(&m2);
    s = noisy(s, 4);
    if (check_split(s, dpi, 1, "gutter", pixGetWidth(s) / 2.0,
                    "gutter, four lines a page"))
        return 1;
    pixDestroy(&s);
    return 0;
}

static int test_split_single(void)
{
    int dpi = 300;
    /* A landscape letter: lines run across the centre. */
    PIX *s = paper(dpi, 297, 210);
    CHECK(s);
    PIX *m = put_text(s, dpi, 25, 25, 247, 160, INK, 0, 0);
    pixDestroy(&m);
    if (check_split(s, dpi, 0, "none", 0, "landscape letter"))
        return 1;
    sh_split sp;
    CHECK(sh_layout_split(s, dpi, &sp, NULL) == SH_OK && !sp.review);
    pixDestroy(&s);

    /* A landscape table: ruled grid across the centre, short cell text,
       one column rule right at the centre. */
    s = paper(dpi, 297, 210);
    CHECK(s);
    double cols[] = {20, 60, 110, 148.5, 190, 240, 277};
    int nc = (int)(sizeof cols / sizeof cols[0]);
    for (int r = 0; r <= 18; r++) {
        double y = 20 + r * 9;
        put_bar(s, dpi, (cols[0] + cols[nc - 1]) / 2, y, cols[nc - 1] - cols[0],
                0.3, 0, INK);
        if (r < 18)
            for (int c = 0; c + 1 < nc; c++) {
                char cell[32];
                snprintf(cell, sizeof cell, "%s %d.%d", c % 2 ? "Lot" : "Ha",
                         r + 1, c + 1);
                put_line(s, dpi, cols[c] + 3, y + 6.5, cell);
            }
    }
    for (int c = 0; c < nc; c++)
        put_bar(s, dpi, cols[c], 20 + 81, 162, 0.3, 90, INK);
    s = noisy(s, 4);
    if (check_split(s, dpi, 0, "none", 0, "landscape table"))
        return 1;
    CHECK(sh_layout_split(s, dpi, &sp, NULL) == SH_OK && !sp.review);
    pixDestroy(&s);

    /* The landscape letter folded in two for the file: a fold shadow at
       the centre, but the lines run across it. */
    s = paper(dpi, 297, 210);
    CHECK(s);
    m = put_text(s, dpi, 25, 25, 247, 160, INK, 1, 0);
    pixDestroy(&m);
    put_fold(s, dpi, pixGetWidth(s) / 2, 0.4, 4);
    s = noisy(s, 4);
    if (check_split(s, dpi, 0, "none", 0, "folded landscape letter"))
        return 1;
    pixDestroy(&s);

    /* A map: a picture across the centre, a caption under it. */
    s = paper(dpi, 297, 210);
    CHECK(s);
    for (int y = px(dpi, 30); y < px(dpi, 160); y++)
        for (int x = px(dpi, 40); x < px(dpi, 257); x++)
            pixSetPixel(s, x, y, (l_uint32)(90 + (x / 40 + y / 40) % 2 * 60));
    put_bar(s, dpi, 148.5, 95, 200, 0.5, 12, INK);
    put_line(s, dpi, 110, 175, "District map, 1:50000");
    s = noisy(s, 4);
    if (check_split(s, dpi, 0, "none", 0, "landscape map"))
        return 1;
    pixDestroy(&s);

    /* A portrait page. */
    s = paper(dpi, 210, 297);
    CHECK(s);
    m = put_text(s, dpi, 30, 25, 160, 240, INK, 0, 0);
    pixDestroy(&m);
    if (check_split(s, dpi, 0, "none", 0, "portrait page"))
        return 1;
    CHECK(sh_layout_split(s, dpi, &sp, NULL) == SH_OK && sp.conf >= 0.9);
    pixDestroy(&s);
    return 0;
}

static int test_split_doubtful(void)
{
    int dpi = 200;
    /* A landscape page in two columns 8 mm apart: never split silently. */
    PIX *s = paper(dpi, 297, 210);
    CHECK(s);
    PIX *m1 = put_text(s, dpi, 20, 25, 124.5, 160, INK, 0, 0);
    PIX *m2 = put_text(s, dpi, 152.5, 25, 124.5, 160, INK, 1, 0);
    pixDestroy(&m1);
    pixDestroy(&m2);
    sh_split sp;
    CHECK(sh_layout_split(s, dpi, &sp, NULL) == SH_OK);
    printf("     %-28s split=%d cut=%d conf=%.2f %s review=%d: %s\n",
           "two columns, 8 mm apart", sp.split, sp.cut_x, sp.conf, sp.method,
           sp.review, sp.why);
    CHECK(!(sp.split && !sp.review));
    pixDestroy(&s);

    /* An A3 two-up sheet whose right page is blank: cut by its shape,
       flagged for review. */
    s = paper(dpi, 420, 297);
    CHECK(s);
    m1 = put_text(s, dpi, 30, 25, 160, 240, INK, 0, 0);
    pixDestroy(&m1);
    if (check_split(s, dpi, 1, "shape", pixGetWidth(s) / 2.0,
                    "two-up, right page blank"))
        return 1;
    CHECK(sh_layout_split(s, dpi, &sp, NULL) == SH_OK && sp.review);
    pixDestroy(&s);
    return 0;
}

/* Number of pixels of mask m whose value in g is above v. */
static int count_above(PIX *g, PIX *m, int v)
{
    int n = 0;
    for (int y = 0; y < pixGetHeight(m); y++)
        for (int x = 0; x < pixGetWidth(m); x++) {
            l_uint32 b, p;
            pixGetPixel(m, x, y, &b);
            if (!b)
                continue;
            pixGetPixel(g, x, y, &p);
            n += (int)p > v;
        }
    return n;
}

/* Mask of the pixels of g darker than v. */
static PIX *dark_mask(PIX *g, int v) { return pixThresholdToBinary(g, v); }

static int box_contains(const BOX *outer, const BOX *in)
{
    return in->x >= outer->x && in->y >= outer->y &&
           in->x + in->w <= outer->x + outer->w &&
           in->y + in->h <= outer->y + outer->h;
}

static int boxes_overlap(const BOX *a, const BOX *b)
{
    return a->x < b->x + b->w && b->x < a->x + a->w && a->y < b->y + b->h &&
           b->y < a->y + a->h;
}

static int test_marks(void)
{
    int dpi = 300;
    /* Three kinds of punch hole (black lid, gray lid, light hole with a
       dark rim) in pairs 80 mm apart, 12 mm from the left edge; a staple
       at 45° at the top-left corner. */
    struct { int v; double ring; const char *what; } holes[] = {
        {20, 0, "black"}, {150, 0, "gray"}, {60, 0.7, "rimmed"},
    };
    for (size_t k = 0; k < SH_ARRAY_LEN(holes); k++) {
        PIX *pg = paper(dpi, 210, 297);
        CHECK(pg);
        PIX *text = put_text(pg, dpi, 30, 30, 160, 237, INK, 0, 0);
        CHECK(text);
        PIX *before = pixCopy(NULL, pg);
        put_disc(pg, dpi, 12, 148.5 - 40, 3, holes[k].ring, holes[k].v);
        put_disc(pg, dpi, 12, 148.5 + 40, 3, holes[k].ring, holes[k].v);
        put_bar(pg, dpi, 14, 14, 12, 0.8, 45, 40);
        pg = noisy(pg, 4);
        CHECK(pg);
        /* What was drawn: pixels that changed by more than the noise. */
        PIX *marks = pixCreate(pixGetWidth(pg), pixGetHeight(pg), 1);
        for (int y = 0; y < pixGetHeight(pg); y++)
            for (int x = 0; x < pixGetWidth(pg); x++) {
                l_uint32 a, b;
                pixGetPixel(before, x, y, &a);
                pixGetPixel(pg, x, y, &b);
                if (abs((int)a - (int)b) > 40)
                    pixSetPixel(marks, x, y, 1);
            }
        sh_content c;
        sh_err err = {0};
        CHECKF(sh_layout_content(pg, dpi, &c, &err) == SH_OK, "%s", err.msg);
        int n = c.marks ? boxaGetCount(c.marks) : 0;
        printf("     %s holes + staple: %d marks, blank=%d\n", holes[k].what, n,
               c.blank);
        CHECKF(n == 3, "%s holes: %d marks", holes[k].what, n);
        CHECK(!c.blank);
        /* Each mark box holds one drawn mark; none touches the text. */
        BOX *tb = NULL;
        pixClipBoxToForeground(text, NULL, NULL, &tb);
        CHECK(tb);
        for (int i = 0; i < n; i++) {
            BOX *b = boxaGetBox(c.marks, i, L_CLONE);
            CHECK(!boxes_overlap(b, tb));
            l_int32 cnt = 0;
            pixCountPixelsInRect(marks, b, &cnt, NULL);
            CHECKF(cnt > 0, "mark %d holds nothing drawn", i);
            boxDestroy(&b);
        }
        CHECK(box_contains(&c.box, tb));
        /* Cleaned: every mark pixel white, text untouched. */
        PIX *cl = sh_layout_clean(pg, &c);
        CHECK(cl);
        int left = 0;
        l_int32 nm = 0;
        pixCountPixels(marks, &nm, NULL);
        left = nm - count_above(cl, marks, 254);
        CHECKF(left == 0, "%s: %d of %d mark pixels not whitened",
               holes[k].what, left, nm);
        PIX *d0 = dark_mask(pg, 128), *d1 = dark_mask(cl, 128);
        pixAnd(d0, d0, text);
        pixAnd(d1, d1, text);
        l_int32 t0 = 0, t1 = 0;
        pixCountPixels(d0, &t0, NULL);
        pixCountPixels(d1, &t1, NULL);
        CHECKF(t0 == t1 && t0 > 1000, "text pixels %d → %d", t0, t1);
        pixDestroy(&d0);
        pixDestroy(&d1);
        pixDestroy(&cl);
        boxDestroy(&tb);
        sh_content_release(&c);
        CHECK(c.marks == NULL);
        pixDestroy(&marks);
        pixDestroy(&before);
        pixDestroy(&text);
        pixDestroy(&pg);
    }
    return 0;
}

static int test_borders(void)
{
    int dpi = 300;
    PIX *pg = paper(dpi, 210, 297);
    CHECK(pg);
    PIX *text = put_text(pg, dpi, 30, 25, 160, 245, INK, 1, 0);
    CHECK(text);
    int w = pixGetWidth(pg), h = pixGetHeight(pg);
    int bl = (int)(0.03 * w), bb = (int)(0.03 * h), wedge = (int)(0.04 * h);
    /* Black bands left and bottom; a wedge on top, 4 % high at the left
       edge and nothing at the right (a skewed sheet). */
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            int top = (int)(wedge * (1.0 - (double)x / w));
            if (x < bl || y >= h - bb || y < top)
                pixSetPixel(pg, x, y, 18);
        }
    pg = noisy(pg, 5);
    CHECK(pg);
    sh_content c;
    sh_err err = {0};
    CHECKF(sh_layout_content(pg, dpi, &c, &err) == SH_OK, "%s", err.msg);
    printf("     box %d,%d %dx%d paper %d,%d %dx%d border=%d blank=%d\n",
           c.box.x, c.box.y, c.box.w, c.box.h, c.paper.x, c.paper.y,
           c.paper.w, c.paper.h, c.border, c.blank);
    CHECK(c.border == 1 && !c.blank);
    BOX *tb = NULL;
    pixClipBoxToForeground(text, NULL, NULL, &tb);
    CHECK(tb && box_contains(&c.box, tb));
    CHECK(c.box.x >= bl);
    CHECK(c.box.y + c.box.h <= h - bb);
    CHECK(c.box.y >= (int)(wedge * (1.0 - (double)c.box.x / w)));
    /* Only the text stays dark once cleaned. */
    PIX *cl = sh_layout_clean(pg, &c);
    CHECK(cl);
    PIX *d = dark_mask(cl, 100);
    pixSubtract(d, d, text);
    l_int32 n = 0;
    pixCountPixels(d, &n, NULL);
    CHECKF(n == 0, "%d dark pixels outside the text after cleaning", n);
    pixDestroy(&d);
    pixDestroy(&cl);
    boxDestroy(&tb);
    sh_content_release(&c);
    pixDestroy(&text);
    pixDestroy(&pg);
    return 0;
}

static int check_blank(PIX *pg, int dpi, int want, const char *what)
{
    sh_content c;
    sh_err err = {0};
    CHECKF(sh_layout_content(pg, dpi, &c, &err) == SH_OK, "%s: %s", what,
           err.msg);
    printf("     %-34s blank=%d conf=%.2f marks=%d\n", what, c.blank,
           c.blank_conf, c.marks ? boxaGetCount(c.marks) : 0);
    CHECKF(c.blank == want, "%s: blank %d", what, c.blank);
    CHECKF(c.blank_conf >= 0.7, "%s: conf %.2f", what, c.blank_conf);
    sh_content_release(&c);
    return 0;
}

static int test_blank(void)
{
    int dpi = 300;
    srand(7);
    /* Plain paper, noise and a little dust. */
    PIX *pg = paper(dpi, 210, 297);
    CHECK(pg);
    for (int i = 0; i < 60; i++) {
        int x = rand() % pixGetWidth(pg), y = rand() % pixGetHeight(pg);
        for (int k = 0; k < 1 + rand() % 3; k++)
            pixSetPixel(pg, x + k, y, 60);
    }
    pg = noisy(pg, 6);
    if (check_blank(pg, dpi, 1, "paper with noise and dust"))
        return 1;
    pixDestroy(&pg);

    /* Punch holes and a staple. */
    pg = paper(dpi, 210, 297);
    put_disc(pg, dpi, 12, 108.5, 3, 0, 20);
    put_disc(pg, dpi, 12, 188.5, 3, 0, 20);
    put_bar(pg, dpi, 14, 14, 12, 0.8, 45, 40);
    pg = noisy(pg, 4);
    if (check_blank(pg, dpi, 1, "paper, holes and staple"))
        return 1;
    pixDestroy(&pg);

    /* Bleed-through: the back's text, mirrored, at 190 on 235. */
    pg = paper(dpi, 210, 297);
    PIX *m = put_text(pg, dpi, 20, 25, 160, 245, 190, 0, 1);
    pixDestroy(&m);
    pg = noisy(pg, 4);
    if (check_blank(pg, dpi, 1, "bleed-through"))
        return 1;
    pixDestroy(&pg);

    /* Darker bleed-through: 170 on 235 (72 % of the paper). */
    pg = paper(dpi, 210, 297);
    m = put_text(pg, dpi, 20, 25, 160, 245, 170, 1, 1);
    pixDestroy(&m);
    pg = noisy(pg, 4);
    if (check_blank(pg, dpi, 1, "dark bleed-through (170)"))
        return 1;
    pixDestroy(&pg);

    /* A lone page number at the bottom centre. */
    pg = paper(dpi, 210, 297);
    put_line(pg, dpi, 98, 282, "- 2 -");
    pg = noisy(pg, 4);
    if (check_blank(pg, dpi, 1, "page number \"- 2 -\""))
        return 1;
    pixDestroy(&pg);

    /* All of it together. */
    pg = paper(dpi, 210, 297);
    m = put_text(pg, dpi, 20, 25, 160, 245, 190, 1, 1);
    pixDestroy(&m);
    put_disc(pg, dpi, 12, 108.5, 3, 0, 20);
    put_disc(pg, dpi, 12, 188.5, 3, 0, 20);
    put_line(pg, dpi, 180, 285, "17");
    pg = noisy(pg, 4);
    if (check_blank(pg, dpi, 1, "bleed, holes, corner number"))
        return 1;
    pixDestroy(&pg);

    /* Three real lines of text. */
    pg = paper(dpi, 210, 297);
    put_line(pg, dpi, 30, 60, "Received on 12 March, filed by the clerk.");
    put_line(pg, dpi, 30, 66, "No further action needed on this matter.");
    put_line(pg, dpi, 30, 72, "Signed for the committee.");
    pg = noisy(pg, 4);
    if (check_blank(pg, dpi, 0, "three lines of text"))
        return 1;
    pixDestroy(&pg);

    /* Three lines of faded print: 120 on 235 (51 %). */
    pg = paper(dpi, 210, 297);
    put_line(pg, dpi, 30, 60, "Received on 12 March, filed by the clerk.");
    put_line(pg, dpi, 30, 66, "No further action needed on this matter.");
    put_line(pg, dpi, 30, 72, "Signed for the committee.");
    for (int y = 0; y < pixGetHeight(pg); y++)
        for (int x = 0; x < pixGetWidth(pg); x++) {
            l_uint32 v;
            pixGetPixel(pg, x, y, &v);
            if (v == INK)
                pixSetPixel(pg, x, y, 120);
        }
    pg = noisy(pg, 4);
    if (check_blank(pg, dpi, 0, "three lines, faded print (120)"))
        return 1;
    pixDestroy(&pg);

    /* One short line mid-page is not a page number. */
    pg = paper(dpi, 210, 297);
    put_line(pg, dpi, 90, 150, "Annex 3");
    pg = noisy(pg, 4);
    if (check_blank(pg, dpi, 0, "one short line mid-page"))
        return 1;
    pixDestroy(&pg);

    /* A full page, with bleed-through behind it. */
    pg = paper(dpi, 210, 297);
    m = put_text(pg, dpi, 20, 25, 160, 245, 190, 0, 1);
    pixDestroy(&m);
    m = put_text(pg, dpi, 30, 25, 160, 245, INK, 1, 0);
    pixDestroy(&m);
    pg = noisy(pg, 4);
    if (check_blank(pg, dpi, 0, "text page"))
        return 1;
    pixDestroy(&pg);
    return 0;
}

static int test_args(void)
{
    sh_split sp;
    sh_content c;
    sh_err err = {0};
    PIX *pg = paper(300, 210, 297);
    CHECK(pg);
    CHECK(sh_layout_split(NULL, 300, &sp, &err) == SH_EUSAGE);
    CHECK(strstr(err.msg, "image"));
    CHECK(sh_layout_split(pg, 300, NULL, &err) == SH_EUSAGE);
    CHECK(sh_layout_split(pg, 0, &sp, &err) == SH_EUSAGE);
    CHECK(strstr(err.msg, "0 dpi"));
    CHECK(sh_layout_content(NULL, 300, &c, NULL) == SH_EUSAGE);
    CHECK(sh_layout_content(pg, 5000, &c, NULL) == SH_EUSAGE);
    CHECK(c.marks == NULL);
    PIX *tiny = pixCreate(20, 12, 8);
    CHECK(sh_layout_content(tiny, 300, &c, &err) == SH_EINPUT);
    CHECK(strstr(err.msg, "20x12"));
    CHECK(sh_layout_split(tiny, 300, &sp, &err) == SH_EINPUT);
    pixDestroy(&tiny);
    sh_content_release(NULL);
    CHECK(sh_layout_clean(NULL, &c) == NULL);
    CHECK(sh_layout_clean(pg, NULL) == NULL);
    /* Other depths are converted; an empty box cleans nothing. */
    PIX *bin = pixCreate(2480, 3508, 1);
    CHECK(sh_layout_content(bin, 300, &c, &err) == SH_OK);
    CHECK(c.blank == 1 && c.border == 0);
    CHECK(c.box.w == 2480 && c.box.h == 3508);
    sh_content_release(&c);
    memset(&c, 0, sizeof c);
    PIX *cl = sh_layout_clean(pg, &c);
    CHECK(cl);
    l_int32 same = 0;
    pixEqual(cl, pg, &same);
    CHECK(same);
    pixDestroy(&cl);
    pixDestroy(&bin);
    pixDestroy(&pg);
    return 0;
}

/* Read an image as 8 bpp gray (colour: brightest channel, as prep does),
   turned `quarters` clockwise quarter turns. */
static PIX *read_gray(const char *path, int quarters)
{
    PIX *p = pixRead(path);
    if (!p)
        return NULL;
    PIX *g = pixGetDepth(p) == 32 ? pixConvertRGBToGrayMinMax(p, L_CHOOSE_MAX)
                                  : pixConvertTo8(p, 0);
    pixDestroy(&p);
    if (!g || !quarters)
        return g;
    PIX *r = pixRotateOrth(g, quarters);
    pixDestroy(&g);
    return r;
}

static int file_exists(const char *p)
{
    FILE *f = fopen(p, "rb");
    if (f)
        fclose(f);
    return f != NULL;
}

static int test_real_peers(void)
{
    char path[1024];
    int seen = 0;
    /* Leptonica's photographed book spread (45 dpi, tilted ~4°), brought
       to 300 dpi as prep brings low-resolution pages. */
    snprintf(path, sizeof path, "%s/real/peers/leptonica/binding-example.45.jpg",
             sh_test_shared);
    if (file_exists(path)) {
        PIX *g = read_gray(path, 0);
        CHECK(g);
        PIX *s = pixScale(g, 300.0f / 45, 300.0f / 45);
        CHECK(s);
        sh_split sp;
        CHECK(sh_layout_split(s, 300, &sp, NULL) == SH_OK);
        printf("     binding-example.45.jpg: split=%d cut=%.3f W tilt %.1f° "
               "conf=%.2f %s: %s\n", sp.split, (double)sp.cut_x / pixGetWidth(s),
               atan(sp.cut_dxdy) * 180 / M_PI, sp.conf, sp.method, sp.why);
        CHECK(sp.split && !strcmp(sp.method, "fold"));
        /* The binding runs from 0.50 W (top) to 0.55 W (bottom). */
        CHECK(fabs((double)sp.cut_x / pixGetWidth(s) - 0.525) < 0.02);
        pixDestroy(&s);
        pixDestroy(&g);
        seen++;
    }
    /* unpaper's two-page spreads (1-bit, no resolution: 300 dpi). */
    for (int i = 1; i <= 3; i++) {
        snprintf(path, sizeof path, "%s/real/peers/unpaper/imgsrcE00%d.png",
                 sh_test_shared, i);
        if (!file_exists(path))
            continue;
        PIX *g = read_gray(path, 0);
        CHECK(g);
        sh_split sp;
        CHECK(sh_layout_split(g, 300, &sp, NULL) == SH_OK);
        printf("     imgsrcE00%d.png: split=%d cut=%.3f W conf=%.2f %s: %s\n", i,
               sp.split, (double)sp.cut_x / pixGetWidth(g), sp.conf, sp.method,
               sp.why);
        CHECK(sp.split && !sp.review);
        CHECK(fabs((double)sp.cut_x / pixGetWidth(g) - 0.5) < 0.02);
        pixDestroy(&g);
        seen++;
    }
    return seen ? 0 : SH_SKIP;
}

static int test_real_corpus(void)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/corpus/truth.json", sh_test_shared);
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    if (!root)
        return SH_SKIP;
    json_t *dossiers = json_object_get(root, "dossiers");
    CHECK(json_is_object(dossiers));
    const char *name;
    json_t *files;
    int nspread = 0, npage = 0, nmarks = 0;
    json_object_foreach(dossiers, name, files) {
        size_t i;
        json_t *f;
        json_array_foreach(files, i, f) {
            const char *file = json_string_value(json_object_get(f, "file"));
            const char *kind = json_string_value(json_object_get(f, "kind"));
            int rot = (int)json_integer_value(json_object_get(f, "rotation"));
            int dpi = (int)json_integer_value(json_object_get(f, "dpi"));
            CHECK(file && kind && dpi > 0);
            snprintf(path, sizeof path, "%s/corpus/batch/%s/%s", sh_test_shared,
                     name, file);
            PIX *g = read_gray(path, rot / 90);
            CHECKF(g, "cannot read %s", path);
            sh_split sp;
            sh_err err = {0};
            CHECKF(sh_layout_split(g, dpi, &sp, &err) == SH_OK, "%s", err.msg);
            int w = pixGetWidth(g), h = pixGetHeight(g);
            printf("     %s/%s %-6s split=%d cut=%.3f W conf=%.2f %s: %s\n",
                   name, file, kind, sp.split, (double)sp.cut_x / w, sp.conf,
                   sp.method, sp.why);
            int spread = !strcmp(kind, "spread");
            CHECKF(sp.split == spread, "%s/%s: split %d", name, file, sp.split);
            CHECK(!sp.review);
            if (spread)
                CHECK(fabs((double)sp.cut_x / w - 0.5) < 0.02);
            nspread += spread;
            npage += !spread;
            for (int k = 0; k < (spread ? 2 : 1); k++) {
                BOX *b = !spread ? boxCreate(0, 0, w, h)
                         : k == 0 ? boxCreate(0, 0, sp.cut_x, h)
                                  : boxCreate(sp.cut_x, 0, w - sp.cut_x, h);
                PIX *half = pixClipRectangle(g, b, NULL);
                CHECK(half);
                sh_content c;
                CHECK(sh_layout_content(half, dpi, &c, &err) == SH_OK);
                int nm = c.marks ? boxaGetCount(c.marks) : 0;
                printf("        page %d: box %d,%d %dx%d border=%d blank=%d "
                       "marks=%d\n", k + 1, c.box.x, c.box.y, c.box.w, c.box.h,
                       c.border, c.blank, nm);
                CHECK(!c.blank);
                nmarks += nm;
                sh_content_release(&c);
                pixDestroy(&half);
                boxDestroy(&b);
            }
            pixDestroy(&g);
        }
    }
    printf("     corpus: %d spreads, %d single pages, %d marks\n", nspread, npage,
           nmarks);
    json_decref(root);
    return 0;
}

static double cpu_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/* A benchmark, not a test (`build/unit --bench`, run by `make bench`):
   prints the CPU time of each function on a 300 dpi A4 page and on an A3
   two-up sheet with a fold (mean of 5).  The CHECKs only guard the
   figures' meaning (the calls succeeded); no time is asserted. */
static int bench_timing(void)
{
    int dpi = 300;
    const int n = 5;
    PIX *pg = paper(dpi, 210, 297);
    CHECK(pg);
    PIX *m = put_text(pg, dpi, 30, 25, 160, 245, INK, 0, 0);
    pixDestroy(&m);
    PIX *sheet = two_up(dpi, 210);
    CHECK(sheet);
    put_fold(sheet, dpi, pixGetWidth(sheet) / 2, 0.4, 4);
    double t[5] = {0};
    for (int i = 0; i < n; i++) {
        sh_split sp;
        sh_content c;
        double t0 = cpu_ms();
        CHECK(sh_layout_split(pg, dpi, &sp, NULL) == SH_OK && !sp.split);
        double t1 = cpu_ms();
        CHECK(sh_layout_content(pg, dpi, &c, NULL) == SH_OK);
        double t2 = cpu_ms();
        PIX *cl = sh_layout_clean(pg, &c);
        double t3 = cpu_ms();
        CHECK(cl);
        CHECK(sh_layout_split(sheet, dpi, &sp, NULL) == SH_OK && sp.split);
        double t4 = cpu_ms();
        BOX *b = boxCreate(0, 0, sp.cut_x, pixGetHeight(sheet));
        PIX *half = pixClipRectangle(sheet, b, NULL);
        sh_content ch;
        double t5 = cpu_ms();
        CHECK(half && sh_layout_content(half, dpi, &ch, NULL) == SH_OK);
        double t6 = cpu_ms();
        t[0] += t1 - t0;
        t[1] += t2 - t1;
        t[2] += t3 - t2;
        t[3] += t4 - t3;
        t[4] += t6 - t5;
        sh_content_release(&ch);
        sh_content_release(&c);
        pixDestroy(&half);
        pixDestroy(&cl);
        boxDestroy(&b);
    }
    printf("     CPU ms at 300 dpi: A4 page: split %.1f, content %.1f, clean "
           "%.1f; A3 two-up: split %.1f, content of a half %.1f\n",
           t[0] / n, t[1] / n, t[2] / n, t[3] / n, t[4] / n);
    pixDestroy(&sheet);
    pixDestroy(&pg);
    return 0;
}

const sh_test sh_tests_layout[] = {
    {"layout/split_fold", test_split_fold},
    {"layout/split_gutter", test_split_gutter},
    {"layout/split_single", test_split_single},
    {"layout/split_doubtful", test_split_doubtful},
    {"layout/marks", test_marks},
    {"layout/borders", test_borders},
    {"layout/blank", test_blank},
    {"layout/args", test_args},
    {"layout/real_peers", test_real_peers},
    {"layout/real_corpus", test_real_corpus},
    {NULL, NULL},
};

const sh_test sh_bench_layout[] = {
    {"layout/timing", bench_timing},
    {NULL, NULL},
};
