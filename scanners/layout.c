/*
 * layout.c — page-layout analysis of upright scanned sheets.
 *
 *   sh_layout_content   content box, dark borders, staples/holes, blank back
 *   sh_content_release
 *   sh_layout_clean     whiten marks and margins in a copy for OCR
 *   sh__layout_ana_init, sh__layout_ana_free, sh__layout_find_marks,
 *   sh__layout_print_boxes, sh__layout_significant
 *                       (layout_int.h) shared with layout_split.c, where
 *                       sh_layout_split decides one page or two
 *
 * Method.  Everything is measured on a working copy near 100 dpi made by
 * a rank reduction (each working pixel is the second darkest of its f×f
 * block), so strokes keep their full darkness while isolated dark pixels
 * (dithering, dust) vanish and the image shrinks 4..16×.  From it:
 *   - the paper level: the mode of the bright part of the histogram;
 *   - the local background: a further 4× MAX reduction (≈25 dpi, print
 *     vanishes) closed by 3×3 (dark features under ~3 mm vanish), read
 *     back with bilinear interpolation.  Print is a pixel darker than 70 %
 *     of its local background: real print is far darker (< 50 % in the
 *     corpus), bleed-through from the back is lighter (> 80 %), and smooth
 *     shadows and uneven light are followed by the background;
 *   - dark scanner borders: pixels darker than 55 % of the paper connected
 *     to the image edge, in regions that run along at least 10 % of that
 *     edge (a wedge from a skewed sheet included).  The paper box is what
 *     they leave;
 *   - shadow bands: regions of the background darker than 85 % of the
 *     paper, long (30 % of the image) and narrow (≤ 40 mm) once closed
 *     along their length; inside them print is measured against the 80th
 *     percentile of each column over 10 mm stretches instead, so a steep
 *     fold shadow does not turn into print while text under it stays;
 *   - pictures: background regions darker than 60 % of the paper outside
 *     bands;
 *   - marks: regions darker than 75 % of the paper, holes filled (so a
 *     light hole with a dark rim counts), isolated (nothing dark within
 *     2.5 mm), shaped and placed like a punch hole (round, 4.5..10.5 mm,
 *     within 30 mm of an edge) or a staple (a bar 6..25 mm × 0.3..3.5 mm
 *     from its second moments, near a corner or an edge; thin bars along
 *     the axes are rules);
 *   - line pieces: print (marks cleared) closed horizontally by 3 mm, so
 *     that the letters and words of a line join; pieces under 1 mm are
 *     specks, pieces at least 3 mm wide and 1.2 mm tall may be text.
 * The split decision (layout_split.c) looks for a fold (per-strip column profiles of the
 * paper brightness: a dip at least 2 mm wide, darker than both sides,
 * aligned along one straight line in most of 12 strips) and a gutter
 * (per-strip column occupancy of line pieces; the straight line through
 * the middle 30 % with the largest clearance in every strip, tried over
 * ±5° of tilt), and refuses a split where line pieces run across the cut.
 * The blank decision calls a page blank when no line piece may be text,
 * or only one small one sits where a page number does.
 */
#include "layout_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

/* Working resolution: the input is reduced by round(dpi / WORK_DPI) for
   the content analysis (layout_split.c reduces by SPLIT_DPI). */
#define WORK_DPI 100.0
/* Background is estimated at 1/BG_RED of the working resolution. */
#define BG_RED 4
/* Print: connected pixels darker than INK_REL of the local background
   holding at least one darker than INK_CORE (a stroke's core).  After
   background normalisation real print is below ~0.4 (~0.5 for the faded
   print of the corpus), bleed-through from the back above ~0.63. */
#define INK_REL 0.70
#define INK_CORE 0.55
/* Faint marks (bleed-through and the like) counted below this fraction. */
#define FAINT_REL 0.88
/* Dark border: darker than this fraction of the paper level. */
#define BORDER_REL 0.55
/* Dark region of the background: a picture below this fraction of the
   paper level, a shadow band below the second. */
#define DARKBG_REL 0.60
#define BAND_REL 0.85
/* Marks (holes, staples): darker than this fraction of the paper level. */
#define MARK_REL 0.75
/* A border runs along at least this fraction of the edge it touches. */
#define BORDER_MIN_RUN 0.10

/* ------------------------------------------------------------------ */

void sh__layout_ana_free(ana *a)
{
    pixDestroy(&a->r);
    pixDestroy(&a->bgs);
    pixDestroy(&a->border);
    pixDestroy(&a->border_dil);
    pixDestroy(&a->ink);
    free(a->figs);
    free(a->bands);
    memset(a, 0, sizeof *a);
}

/* Fold row s into the running two smallest values per byte (m1 <= m2);
   branch-free so that it vectorises. */
static void rank2_bytes(unsigned char *restrict m1, unsigned char *restrict m2,
                        const unsigned char *restrict s, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        unsigned char v = s[k], a = m1[k], b = m2[k];
        unsigned char hi = v > a ? v : a;
        m2[k] = hi < b ? hi : b;
        m1[k] = v < a ? v : a;
    }
}

/* Reduction by f in both directions keeping the SECOND darkest pixel of
   each f×f block (partial blocks at the right and bottom kept): strokes
   keep their full darkness (a stroke crossing a block covers at least two
   of its pixels) while isolated dark pixels — dithering, dust, noise —
   vanish.  The vertical pass works on raw bytes (the byte order inside
   Leptonica's words does not matter column by column). */
static PIX *reduce_rank2(PIX *g, int f)
{
    if (f <= 1)
        return pixCopy(NULL, g);
    int w = pixGetWidth(g), h = pixGetHeight(g);
    int wd = (w + f - 1) / f, hd = (h + f - 1) / f;
    int wpls = pixGetWpl(g);
    size_t nb = (size_t)wpls * 4;
    PIX *d = pixCreate(wd, hd, 8);
    l_uint32 *m1 = malloc(nb), *m2 = malloc(nb);
    if (!d || !m1 || !m2) {
        pixDestroy(&d);
        free(m1);
        free(m2);
        return NULL;
    }
    int wpld = pixGetWpl(d);
    l_uint32 *ds = pixGetData(g), *dd = pixGetData(d);
    for (int i = 0; i < hd; i++) {
        int y0 = i * f, y1 = imin(y0 + f, h);
        memcpy(m1, ds + (size_t)y0 * wpls, nb);
        memset(m2, 255, nb);
        for (int y = y0 + 1; y < y1; y++)
            rank2_bytes((unsigned char *)m1, (unsigned char *)m2,
                        (const unsigned char *)(ds + (size_t)y * wpls), nb);
        l_uint32 *ld = dd + (size_t)i * wpld;
        int j = 0, full = w / f;
        /* Merge (a1 <= a2) with (b1 <= b2): the two smallest of the four
           are min(a1, b1) and min(max(a1, b1), min(a2, b2)). */
#define MN(p, q) ((p) < (q) ? (p) : (q))
#define MX(p, q) ((p) > (q) ? (p) : (q))
#define MERGE(a1, a2, b1, b2)                                               \
    do {                                                                    \
        int lo_ = MN(a1, b1);                                               \
        a2 = MN(MX(a1, b1), MN(a2, b2));                                    \
        a1 = lo_;                                                           \
    } while (0)
        if (f == 2 || f == 3 || f == 4) {
            for (; j < full; j++) {
                int x = j * f;
                int a1 = GET_DATA_BYTE(m1, x), a2 = GET_DATA_BYTE(m2, x);
                for (int k = 1; k < f; k++) {
                    int b1 = GET_DATA_BYTE(m1, x + k), b2 = GET_DATA_BYTE(m2, x + k);
                    MERGE(a1, a2, b1, b2);
                }
                SET_DATA_BYTE(ld, j, a2);
            }
        }
        for (; j < wd; j++) {
            int x0 = j * f, x1 = imin(x0 + f, w);
            int a1 = 255, a2 = 255;
            for (int x = x0; x < x1; x++) {
                int b1 = GET_DATA_BYTE(m1, x), b2 = GET_DATA_BYTE(m2, x);
                MERGE(a1, a2, b1, b2);
            }
            SET_DATA_BYTE(ld, j, a2);
        }
#undef MERGE
#undef MN
#undef MX
    }
    free(m1);
    free(m2);
    return d;
}

/* The paper: the most common level among levels 64..255 (5-level window,
   then the best single level inside it), so dark borders never win. */
static int paper_level(PIX *r)
{
    NUMA *na = pixGetGrayHistogram(r, 2);
    if (!na)
        return 255;
    l_float32 *hv = numaGetFArray(na, L_NOCOPY);
    int n = numaGetCount(na);
    double best = -1;
    int bv = 255;
    for (int v = 64; v < n && v < 256; v++) {
        double s = 0;
        for (int k = imax(0, v - 2); k <= imin(255, v + 2); k++)
            s += hv[k];
        if (s > best) {
            best = s;
            bv = v;
        }
    }
    int pk = bv;
    for (int k = imax(64, bv - 2); k <= imin(255, bv + 2); k++)
        if (hv[k] > hv[pk])
            pk = k;
    numaDestroy(&na);
    return pk;
}

/* Dark regions connected to the image edge that run along at least
   BORDER_MIN_RUN of it.  Fills a->border, a->border_dil, a->has_border,
   a->pb.  Returns 0 or -1 (allocation). */
static int find_borders(ana *a)
{
    int rc = -1;
    PIX *dk = NULL, *seed = NULL, *edge = NULL, *inv = NULL;
    PIXA *pa = NULL;
    BOXA *ba = NULL;
    int thr = (int)(BORDER_REL * a->paper + 0.5);
    a->pb = (ibox){0, 0, a->w, a->h};
    a->border = pixCreate(a->w, a->h, 1);
    if (!a->border)
        goto out;
    dk = pixThresholdToBinary(a->r, thr);
    seed = pixCreateTemplate(a->border);
    if (!dk || !seed)
        goto out;
    pixSetOrClearBorder(seed, 1, 1, 1, 1, PIX_SET);
    pixAnd(seed, seed, dk);
    edge = pixSeedfillBinary(NULL, seed, dk, 8);
    if (!edge)
        goto out;
    ba = pixConnComp(edge, &pa, 8);
    if (!ba)
        goto out;
    for (int i = 0; i < boxaGetCount(ba); i++) {
        l_int32 x, y, bw, bh;
        boxaGetBoxGeometry(ba, i, &x, &y, &bw, &bh);
        double run = 0;
        if (x == 0 || x + bw == a->w)
            run = fmax(run, (double)bh / a->h);
        if (y == 0 || y + bh == a->h)
            run = fmax(run, (double)bw / a->w);
        if (run < BORDER_MIN_RUN)
            continue;
        PIX *c = pixaGetPix(pa, i, L_CLONE);
        if (c)
            pixRasterop(a->border, x, y, bw, bh, PIX_PAINT, c, 0, 0);
        pixDestroy(&c);
        a->has_border = 1;
    }
    if (a->has_border) {
        int k = 2 * mmi(a, 1.5) + 1;
        a->border_dil = pixDilateBrick(NULL, a->border, k, k);
        inv = pixInvert(NULL, a->border);
        if (!a->border_dil || !inv)
            goto out;
        BOX *b = NULL;
        if (pixClipBoxToForeground(inv, NULL, NULL, &b) == 0 && b) {
            l_int32 x, y, bw, bh;
            boxGetGeometry(b, &x, &y, &bw, &bh);
            if (bw > 0 && bh > 0)
                a->pb = (ibox){x, y, bw, bh};
        }
        boxDestroy(&b);
    } else {
        a->border_dil = pixCreateTemplate(a->border);
        if (!a->border_dil)
            goto out;
    }
    rc = 0;
out:
    pixDestroy(&dk);
    pixDestroy(&seed);
    pixDestroy(&edge);
    pixDestroy(&inv);
    pixaDestroy(&pa);
    boxaDestroy(&ba);
    return rc;
}

static int push_box(ibox **v, int *n, ibox b)
{
    ibox *t = realloc(*v, (size_t)(*n + 1) * sizeof *t);
    if (!t)
        return -1;
    t[(*n)++] = b;
    *v = t;
    return 0;
}

static int centre_in(const ibox *b, int n, ibox c);

/* Dark regions of the background: shadow bands (long and narrow regions
   darker than BAND_REL of the paper, closed along their length by 11 mm
   so that a blotchy shadow still counts as one) and pictures (regions
   darker than DARKBG_REL that are not in a band). */
static int find_dark_regions(ana *a)
{
    int rc = -1;
    PIX *bd = pixThresholdToBinary(a->bgs, (int)(DARKBG_REL * a->paper + 0.5));
    PIX *bb = pixThresholdToBinary(a->bgs, (int)(BAND_REL * a->paper + 0.5));
    PIX *pv = NULL, *ph = NULL;
    BOXA *ba = NULL, *bav = NULL, *bah = NULL;
    if (!bd || !bb)
        goto out;
    if (a->has_border) {
        /* Leave the borders (and their rims) out. */
        PIX *r1 = pixReduceRankBinary2(a->border_dil, 1, NULL);
        PIX *r2 = r1 ? pixReduceRankBinary2(r1, 1, NULL) : NULL;
        PIX *r3 = r2 ? pixDilateBrick(NULL, r2, 3, 3) : NULL;
        if (r3) {
            pixSubtract(bd, bd, r3);
            pixSubtract(bb, bb, r3);
        }
        pixDestroy(&r1);
        pixDestroy(&r2);
        if (!r3)
            goto out;
        pixDestroy(&r3);
    }
    int bw4 = pixGetWidth(a->bgs), bh4 = pixGetHeight(a->bgs);
    int len = imax(3, (int)(mm(a, 11) / BG_RED) | 1);
    pv = pixCloseSafeBrick(NULL, bb, 1, len);
    ph = pixCloseSafeBrick(NULL, bb, len, 1);
    ba = pixConnCompBB(bd, 8);
    bav = pv ? pixConnCompBB(pv, 8) : NULL;
    bah = ph ? pixConnCompBB(ph, 8) : NULL;
    if (!ba || !bav || !bah)
        goto out;
    for (int pass = 0; pass < 3; pass++) {
        BOXA *src = pass == 0 ? bav : pass == 1 ? bah : ba;
        for (int i = 0; i < boxaGetCount(src); i++) {
            l_int32 x, y, bw, bh;
            boxaGetBoxGeometry(src, i, &x, &y, &bw, &bh);
            ibox b = {x * BG_RED, y * BG_RED, bw * BG_RED, bh * BG_RED};
            if (x + bw == bw4)
                b.w = a->w - b.x;
            if (y + bh == bh4)
                b.h = a->h - b.y;
            if (pass == 0 || pass == 1) {
                int band = pass == 0 ? b.h >= 0.3 * a->h && b.w <= mm(a, 40)
                                     : b.w >= 0.3 * a->w && b.h <= mm(a, 40);
                if (band && push_box(&a->bands, &a->nbands, b))
                    goto out;
                continue;
            }
            if (centre_in(a->bands, a->nbands, b))
                continue;
            if (push_box(&a->figs, &a->nfigs, b))
                goto out;
        }
    }
    rc = 0;
out:
    pixDestroy(&bd);
    pixDestroy(&bb);
    pixDestroy(&pv);
    pixDestroy(&ph);
    boxaDestroy(&ba);
    boxaDestroy(&bav);
    boxaDestroy(&bah);
    return rc;
}

/* Inside a shadow band the block background is too coarse (a steep
   shadow would turn into print): there, the paper level is the 80th
   percentile of each column (vertical band) or row (horizontal band) over
   10 mm stretches along the band, and print is what is darker than
   INK_REL of it.  Returns 0 or -1. */
static int reink_band(ana *a, PIX *weak, PIX *strong, ibox b)
{
    int x0 = imax(0, b.x - mmi(a, 1)), y0 = imax(0, b.y - mmi(a, 1));
    int x1 = imin(a->w, b.x + b.w + mmi(a, 1)), y1 = imin(a->h, b.y + b.h + mmi(a, 1));
    int vertical = (y1 - y0) >= (x1 - x0);
    int across = vertical ? x1 - x0 : y1 - y0;    /* positions across   */
    int along0 = vertical ? y0 : x0, along1 = vertical ? y1 : x1;
    int seg = imax(4, mmi(a, 10));
    if (across <= 0 || along1 <= along0)
        return 0;
    unsigned short *hist = malloc((size_t)across * 64 * sizeof *hist);
    int *thr = malloc((size_t)across * 2 * sizeof *thr);
    if (!hist || !thr) {
        free(hist);
        free(thr);
        return -1;
    }
    l_uint32 *rd = pixGetData(a->r), *wd = pixGetData(weak),
             *sd = pixGetData(strong);
    int rwpl = pixGetWpl(a->r), iwpl = pixGetWpl(weak);
    for (int s0 = along0; s0 < along1; s0 += seg) {
        int s1 = imin(along1, s0 + seg);
        if (along1 - s1 < seg / 2)   /* no short last stretch */
            s1 = along1;
        memset(hist, 0, (size_t)across * 64 * sizeof *hist);
        for (int u = s0; u < s1; u++)
            for (int v = 0; v < across; v++) {
                int x = vertical ? x0 + v : u, y = vertical ? u : y0 + v;
                hist[v * 64 + (GET_DATA_BYTE(rd + (size_t)y * rwpl, x) >> 2)]++;
            }
        int n = s1 - s0;
        for (int v = 0; v < across; v++) {
            int cum = 0, bin = 0;
            for (; bin < 64; bin++) {
                cum += hist[v * 64 + bin];
                if (cum * 5 >= n * 4)
                    break;
            }
            thr[2 * v] = (int)(INK_REL * (bin * 4 + 2) + 0.5);
            thr[2 * v + 1] = (int)(INK_CORE * (bin * 4 + 2) + 0.5);
        }
        for (int u = s0; u < s1; u++)
            for (int v = 0; v < across; v++) {
                int x = vertical ? x0 + v : u, y = vertical ? u : y0 + v;
                l_uint32 *lw = wd + (size_t)y * iwpl, *ls = sd + (size_t)y * iwpl;
                int val = GET_DATA_BYTE(rd + (size_t)y * rwpl, x);
                if (val < thr[2 * v])
                    SET_DATA_BIT(lw, x);
                else
                    CLEAR_DATA_BIT(lw, x);
                if (val < thr[2 * v + 1])
                    SET_DATA_BIT(ls, x);
                else
                    CLEAR_DATA_BIT(ls, x);
            }
        if (s1 == along1)
            break;
    }
    free(hist);
    free(thr);
    return 0;
}

/* Print mask against the bilinear background (see INK_REL, INK_CORE);
   also counts faint pixels.  Borders are removed; bands are measured on
   their own. */
static int find_ink(ana *a)
{
    int rc = -1;
    int bw = pixGetWidth(a->bgs), bh = pixGetHeight(a->bgs);
    int *brow = malloc((size_t)bw * sizeof *brow);
    int *bg = malloc((size_t)a->w * sizeof *bg);
    PIX *weak = pixCreate(a->w, a->h, 1), *strong = pixCreate(a->w, a->h, 1);
    if (!brow || !bg || !weak || !strong)
        goto out;
    int lutw[256], luts[256], lutf[256];
    for (int v = 0; v < 256; v++) {
        lutw[v] = (int)(INK_REL * v + 0.5);
        luts[v] = (int)(INK_CORE * v + 0.5);
        lutf[v] = (int)(FAINT_REL * v + 0.5);
    }
    l_uint32 *bdat = pixGetData(a->bgs), *rdat = pixGetData(a->r),
             *wdat = pixGetData(weak), *sdat = pixGetData(strong);
    int bwpl = pixGetWpl(a->bgs), rwpl = pixGetWpl(a->r),
        iwpl = pixGetWpl(weak);
    long nfaint = 0;
    for (int y = 0; y < a->h; y++) {
        /* Background pixel i covers working pixels [4i, 4i+4), centre
           4i + 1.5: interpolate between centres, clamped at the ends. */
        double fy = (y - (BG_RED - 1) / 2.0) / BG_RED;
        int j = (int)floor(fy);
        double t = fy - j;
        if (j < 0) {
            j = 0;
            t = 0;
        }
        if (j >= bh - 1) {
            j = bh - 1;
            t = 0;
        }
        int wy = (int)(t * 256 + 0.5);
        l_uint32 *l0 = bdat + (size_t)j * bwpl;
        l_uint32 *l1 = bdat + (size_t)imin(j + 1, bh - 1) * bwpl;
        for (int i = 0; i < bw; i++)
            brow[i] = (GET_DATA_BYTE(l0, i) * (256 - wy) +
                       GET_DATA_BYTE(l1, i) * wy) >> 8;
        /* Along the row the four pixels of block i sit 5/8, 7/8 of the way
           from centre i-1 to i and 1/8, 3/8 from centre i to i+1. */
        for (int i = 0; i < bw; i++) {
            int c = brow[i], l = brow[imax(i - 1, 0)], r = brow[imin(i + 1, bw - 1)];
            int *o = bg + BG_RED * i;
            o[0] = (3 * l + 5 * c) >> 3;
            o[1] = (l + 7 * c) >> 3;
            o[2] = (7 * c + r) >> 3;
            o[3] = (5 * c + 3 * r) >> 3;
        }
        for (int x = BG_RED * bw; x < a->w; x++)
            bg[x] = brow[bw - 1];
        l_uint32 *lr = rdat + (size_t)y * rwpl, *lw = wdat + (size_t)y * iwpl,
                 *ls = sdat + (size_t)y * iwpl;
        l_uint32 ww = 0, sw = 0;
        for (int x = 0; x < a->w; x++) {
            int b = bg[x], v = GET_DATA_BYTE(lr, x);
            int isweak = v < lutw[b];
            ww |= (l_uint32)isweak << (31 - (x & 31));
            sw |= (l_uint32)(v < luts[b]) << (31 - (x & 31));
            nfaint += !isweak & (v < lutf[b]);
            if ((x & 31) == 31) {
                lw[x >> 5] = ww;
                ls[x >> 5] = sw;
                ww = sw = 0;
            }
        }
        if (a->w & 31) {
            lw[a->w >> 5] = ww;
            ls[a->w >> 5] = sw;
        }
    }
    for (int k = 0; k < a->nbands; k++)
        if (reink_band(a, weak, strong, a->bands[k]))
            goto out;
    /* Print: the weak regions that hold a stroke's core. */
    a->ink = pixSeedfillBinary(NULL, strong, weak, 8);
    if (!a->ink)
        goto out;
    if (a->has_border)
        pixSubtract(a->ink, a->ink, a->border_dil);
    a->faint = (double)nfaint / ((double)a->pb.w * a->pb.h);
    rc = 0;
out:
    free(brow);
    free(bg);
    pixDestroy(&weak);
    pixDestroy(&strong);
    return rc;
}

/* Measure the image once, at about work_dpi. */
int sh__layout_ana_init(PIX *gray, int dpi, double work_dpi, ana *a,
                        sh_err *err)
{
    memset(a, 0, sizeof *a);
    int rc = SH_OK;
    PIX *g8 = NULL, *mx = NULL;
    a->fw = pixGetWidth(gray);
    a->fh = pixGetHeight(gray);
    a->f = (int)(dpi / work_dpi + 0.5);
    if (a->f < 1)
        a->f = 1;
    a->wd = (double)dpi / a->f;
    if (a->fw / a->f < 16 || a->fh / a->f < 16) {
        rc = sh_errf(err, SH_EINPUT,
                     "layout: image %dx%d px at %d dpi is too small to analyse",
                     a->fw, a->fh, dpi);
        goto out;
    }
    if (pixGetDepth(gray) == 8 && !pixGetColormap(gray))
        g8 = pixClone(gray);
    else
        g8 = pixConvertTo8(gray, 0);
    if (!g8) {
        rc = sh_errf(err, SH_EINPUT, "layout: cannot convert %d bpp image to gray",
                     pixGetDepth(gray));
        goto out;
    }
    a->r = reduce_rank2(g8, a->f);
    if (!a->r)
        goto nomem;
    a->w = pixGetWidth(a->r);
    a->h = pixGetHeight(a->r);
    a->paper = paper_level(a->r);
    mx = pixScaleGrayMinMax(a->r, BG_RED, BG_RED, L_CHOOSE_MAX);
    if (!mx)
        goto nomem;
    a->bgs = pixCloseGray3(mx, 3, 3);
    if (!a->bgs || find_borders(a) || find_dark_regions(a) || find_ink(a))
        goto nomem;
    goto out;
nomem:
    rc = sh_errf(err, SH_ENOMEM, "layout: out of memory analysing %dx%d px image",
                 a->fw, a->fh);
out:
    pixDestroy(&g8);
    pixDestroy(&mx);
    if (rc)
        sh__layout_ana_free(a);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Marks: punch holes and staples.                                      */

typedef struct moments {
    double n, cx, cy;     /* area, centroid (component coordinates) */
    double len, thick;    /* bar length and thickness, px            */
    double angle;         /* principal axis, degrees from horizontal */
    double elong;         /* sqrt(l1 / l2)                           */
} moments;

static void comp_moments(PIX *c, moments *m)
{
    int w = pixGetWidth(c), h = pixGetHeight(c), wpl = pixGetWpl(c);
    l_uint32 *d = pixGetData(c);
    double n = 0, sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
    for (int y = 0; y < h; y++) {
        l_uint32 *l = d + (size_t)y * wpl;
        for (int x = 0; x < w; x++)
            if (GET_DATA_BIT(l, x)) {
                n++;
                sx += x;
                sy += y;
                sxx += (double)x * x;
                syy += (double)y * y;
                sxy += (double)x * y;
            }
    }
    memset(m, 0, sizeof *m);
    if (n == 0)
        return;
    m->n = n;
    m->cx = sx / n;
    m->cy = sy / n;
    double vxx = sxx / n - m->cx * m->cx + 1.0 / 12;
    double vyy = syy / n - m->cy * m->cy + 1.0 / 12;
    double vxy = sxy / n - m->cx * m->cy;
    double tr = (vxx + vyy) / 2, dd = sqrt((vxx - vyy) * (vxx - vyy) / 4 + vxy * vxy);
    double l1 = tr + dd, l2 = fmax(tr - dd, 1e-6);
    m->len = sqrt(12 * l1);
    m->thick = n / m->len;
    m->angle = 0.5 * atan2(2 * vxy, vxx - vyy) * 180 / M_PI;
    m->elong = sqrt(l1 / l2);
}

/* Find marks inside `search` (working px), skipping `skip` (may be NULL).
   positional: apply the rules on where holes and staples sit on a page.
   Returns the padded boxes (working px) in *out (NULL when none); 0 or -1. */
int sh__layout_find_marks(const ana *a, ibox search, const ibox *skip,
                          int positional, ibox **out, int *nout)
{
    int rc = -1;
    *out = NULL;
    *nout = 0;
    BOX *sb = boxCreate(search.x, search.y, search.w, search.h);
    PIX *rs = NULL, *m = NULL, *bd = NULL, *filled = NULL;
    PIXA *pa = NULL;
    BOXA *ba = NULL;
    if (!sb)
        goto out;
    rs = pixClipRectangle(a->r, sb, NULL);
    if (!rs)
        goto out;
    m = pixThresholdToBinary(rs, (int)(MARK_REL * a->paper + 0.5));
    if (!m)
        goto out;
    if (a->has_border) {
        bd = pixClipRectangle(a->border_dil, sb, NULL);
        if (!bd)
            goto out;
        pixSubtract(m, m, bd);
    }
    if (skip && skip->w > 0 && skip->h > 0) {
        BOX *k = boxCreate(skip->x - search.x, skip->y - search.y, skip->w,
                           skip->h);
        pixClearInRect(m, k);
        boxDestroy(&k);
    }
    filled = pixHolesByFilling(m, 4);   /* the holes only */
    if (!filled)
        goto out;
    pixOr(filled, filled, m);
    ba = pixConnComp(filled, &pa, 8);
    if (!ba)
        goto out;
    const ibox pb = a->pb;
    double hmin = mm(a, 4.5), hmax = mm(a, 10.5);
    int iso = mmi(a, 2.5);
    for (int i = 0; i < boxaGetCount(ba); i++) {
        l_int32 x, y, bw, bh;
        boxaGetBoxGeometry(ba, i, &x, &y, &bw, &bh);
        int big = imax(bw, bh), small = imin(bw, bh);
        if (big < hmin || big > mm(a, 26))
            continue;
        /* Isolated: (almost) nothing dark within 2.5 mm around its box.
           Print always has neighbours: letters, words, lines. */
        l_int32 cin = 0, cout = 0;
        BOX *bi = boxCreate(x, y, bw, bh);
        BOX *bo = boxCreate(x - iso, y - iso, bw + 2 * iso, bh + 2 * iso);
        pixCountPixelsInRect(m, bi, &cin, NULL);
        pixCountPixelsInRect(m, bo, &cout, NULL);
        boxDestroy(&bi);
        boxDestroy(&bo);
        double ring = (double)(bw + 2 * iso) * (bh + 2 * iso) - (double)bw * bh;
        if (cout - cin > 0.01 * ring)
            continue;
        x += search.x;
        y += search.y;
        PIX *c = pixaGetPix(pa, i, L_CLONE);
        moments mo;
        comp_moments(c, &mo);
        pixDestroy(&c);
        double cx = x + mo.cx, cy = y + mo.cy;
        double dl = cx - pb.x, dr = pb.x + pb.w - cx;
        double dt = cy - pb.y, db = pb.y + pb.h - cy;
        double dedge = fmin(fmin(dl, dr), fmin(dt, db));
        int corner = fmin(dl, dr) <= mm(a, 45) && fmin(dt, db) <= mm(a, 45);
        double fill = mo.n / ((double)bw * bh);
        /* A disk fills pi/4 of its box. */
        int hole = small >= hmin && big <= hmax && big <= 1.3 * small &&
                   fill >= 0.62 && fill <= 0.95 && mo.elong <= 1.35 &&
                   (!positional || dedge <= mm(a, 30));
        double ang = fabs(mo.angle);   /* 0..90 */
        int axis = ang < 12 || ang > 78;
        int staple = !hole && mo.len >= mm(a, 6) && mo.len <= mm(a, 25) &&
                     mo.thick >= mm(a, 0.3) && mo.thick <= mm(a, 3.5) &&
                     mo.len >= 4 * mo.thick && mo.elong >= 4 &&
                     !(axis && mo.thick < mm(a, 0.6)) &&
                     (!positional || corner || dedge <= mm(a, 15));
        if (!hole && !staple)
            continue;
        int p = mmi(a, 1.5);
        ibox b = {x - p, y - p, bw + 2 * p, bh + 2 * p};
        b.x = imax(0, b.x);
        b.y = imax(0, b.y);
        b.w = imin(a->w, x + bw + p) - b.x;
        b.h = imin(a->h, y + bh + p) - b.y;
        if (push_box(out, nout, b))
            goto out;
    }
    rc = 0;
out:
    if (rc) {
        free(*out);
        *out = NULL;
        *nout = 0;
    }
    boxDestroy(&sb);
    pixDestroy(&rs);
    pixDestroy(&m);
    pixDestroy(&bd);
    pixDestroy(&filled);
    pixaDestroy(&pa);
    boxaDestroy(&ba);
    return rc;
}

static int centre_in(const ibox *b, int n, ibox c)
{
    int cx = c.x + c.w / 2, cy = c.y + c.h / 2;
    for (int i = 0; i < n; i++)
        if (cx >= b[i].x && cx < b[i].x + b[i].w && cy >= b[i].y &&
            cy < b[i].y + b[i].h)
            return 1;
    return 0;
}

/* Print grouped into line pieces: the print mask with the marks cleared,
   closed horizontally by 3 mm (letters and words of a line join), its
   connected components, plus the pictures.  Specks (both sides under
   1 mm) are dropped; vert_out: also tall thin pieces (rules, creases).
   Returns 0 or -1; *out malloc'd. */
int sh__layout_print_boxes(const ana *a, const ibox *marks, int nmarks,
                           int vert_out, ibox **out, int *nout)
{
    *out = NULL;
    *nout = 0;
    PIX *t = pixCopy(NULL, a->ink);
    if (!t)
        return -1;
    for (int i = 0; i < nmarks; i++) {
        BOX *b = boxCreate(marks[i].x, marks[i].y, marks[i].w, marks[i].h);
        pixClearInRect(t, b);
        boxDestroy(&b);
    }
    PIX *cl = pixCloseSafeBrick(NULL, t, mmi(a, 3), 1);
    pixDestroy(&t);
    BOXA *ba = cl ? pixConnCompBB(cl, 8) : NULL;
    pixDestroy(&cl);
    if (!ba)
        return -1;
    int n = boxaGetCount(ba);
    ibox *v = malloc((size_t)(n + a->nfigs + 1) * sizeof *v);
    if (!v) {
        boxaDestroy(&ba);
        return -1;
    }
    int speck = imax(1, (int)(mm(a, 1.0) + 0.5)), k = 0;
    double vmin = mm(a, 30);
    for (int i = 0; i < n + a->nfigs; i++) {
        ibox b;
        if (i < n) {
            l_int32 x, y, bw, bh;
            boxaGetBoxGeometry(ba, i, &x, &y, &bw, &bh);
            b = (ibox){x, y, bw, bh};
            if (b.w <= speck && b.h <= speck)
                continue;
        } else {
            b = a->figs[i - n];
            if (centre_in(marks, nmarks, b))
                continue;
        }
        if (vert_out && b.h >= vmin && b.w * 6 <= b.h)
            continue;
        v[k++] = b;
    }
    boxaDestroy(&ba);
    *out = v;
    *nout = k;
    return 0;
}

/* A line piece that may be text: at least 1.2 mm tall and 3 mm wide. */
int sh__layout_significant(const ana *a, const ibox *b)
{
    return tomm(a, b->h) >= 1.2 && tomm(a, b->w) >= 3;
}

/* ------------------------------------------------------------------ */
/* Content.                                                             */

/* Blank decision from the line pieces. */
static void decide_blank(const ana *a, const ibox *bx, int n, int *blank,
                         double *conf)
{
    int nsig = 0, isig = -1;
    for (int i = 0; i < n; i++)
        if (sh__layout_significant(a, bx + i)) {
            nsig++;
            isig = i;
        }
    const ibox pb = a->pb;
    if (nsig == 0) {
        *blank = 1;
        *conf = a->faint > 0.005 ? 0.85 : 0.95;
    } else if (nsig == 1) {
        /* One group: a page number if small and at the top or bottom,
           centred or at an outer corner. */
        const ibox *c = bx + isig;
        double wmm = tomm(a, c->w), hmm = tomm(a, c->h);
        double cx = c->x + c->w / 2.0, cy = c->y + c->h / 2.0;
        int band = cy <= pb.y + 0.15 * pb.h || cy >= pb.y + 0.85 * pb.h;
        int centred = fabs(cx - (pb.x + pb.w / 2.0)) <= 0.2 * pb.w;
        int outer = cx - pb.x <= mm(a, 35) || pb.x + pb.w - cx <= mm(a, 35);
        if (wmm <= 25 && hmm <= 8 && band && (centred || outer)) {
            *blank = 1;
            *conf = 0.8;
        } else {
            *blank = 0;
            *conf = 0.7;
        }
    } else {
        *blank = 0;
        *conf = nsig == 2 ? 0.85 : nsig < 6 ? 0.95 : 0.99;
    }
}

/* Working box → full-resolution box, clipped to the image. */
static BOX to_full(const ana *a, ibox b)
{
    BOX o;
    memset(&o, 0, sizeof o);
    int x0 = iclamp(b.x * a->f, 0, a->fw), y0 = iclamp(b.y * a->f, 0, a->fh);
    int x1 = iclamp((b.x + b.w) * a->f, 0, a->fw);
    int y1 = iclamp((b.y + b.h) * a->f, 0, a->fh);
    o.x = x0;
    o.y = y0;
    o.w = x1 - x0;
    o.h = y1 - y0;
    return o;
}

/* Border pixels in the working rectangle [x0,x1)×[y0,y1). */
static int border_in(const ana *a, int x0, int y0, int x1, int y1)
{
    x0 = imax(x0, 0);
    y0 = imax(y0, 0);
    x1 = imin(x1, a->w);
    y1 = imin(y1, a->h);
    if (!a->has_border || x1 <= x0 || y1 <= y0)
        return 0;
    BOX *b = boxCreate(x0, y0, x1 - x0, y1 - y0);
    l_int32 n = 0;
    pixCountPixelsInRect(a->border, b, &n, NULL);
    boxDestroy(&b);
    return n;
}

int sh_layout_content(PIX *gray, int dpi, sh_content *out, sh_err *err)
{
    if (out)
        memset(out, 0, sizeof *out);
    if (!gray || !out)
        return sh_errf(err, SH_EUSAGE, "layout content: NULL %s",
                       gray ? "output" : "image");
    if (dpi < 30 || dpi > 2400)
        return sh_errf(err, SH_EUSAGE, "layout content: resolution %d dpi out "
                       "of range 30..2400", dpi);
    ana a;
    int rc = sh__layout_ana_init(gray, dpi, WORK_DPI, &a, err);
    if (rc)
        return rc;
    ibox *marks = NULL, *bx = NULL;
    int nmarks = 0, nbx = 0;
    const ibox pb = a.pb;
    /* Marks sit within 45 mm of the paper's edges. */
    int inset = mmi(&a, 46);
    ibox skip = {pb.x + inset, pb.y + inset, pb.w - 2 * inset, pb.h - 2 * inset};
    if (sh__layout_find_marks(&a, pb, &skip, 1, &marks, &nmarks) ||
        sh__layout_print_boxes(&a, marks, nmarks, 0, &bx, &nbx))
        goto nomem;
    out->border = a.has_border;
    out->paper = to_full(&a, pb);
    decide_blank(&a, bx, nbx, &out->blank, &out->blank_conf);

    ibox cb = pb;
    if (nbx > 0 && !out->blank) {
        /* Text lines, pictures, and small pieces away from the paper's
           edge (edge pieces are shadow and scanner dirt). */
        int x0 = a.w, y0 = a.h, x1 = 0, y1 = 0, e = mmi(&a, 5);
        for (int i = 0; i < nbx; i++) {
            const ibox *b = bx + i;
            if (!sh__layout_significant(&a, b) &&
                (b->x < pb.x + e || b->y < pb.y + e ||
                 b->x + b->w > pb.x + pb.w - e || b->y + b->h > pb.y + pb.h - e))
                continue;
            x0 = imin(x0, b->x);
            y0 = imin(y0, b->y);
            x1 = imax(x1, b->x + b->w);
            y1 = imax(y1, b->y + b->h);
        }
        /* 2 mm of margin, less where a border would come in. */
        int pad = mmi(&a, 2), p;
        for (p = pad; p > 0 && border_in(&a, x0 - p, y0, x0, y1); p--)
            ;
        x0 = imax(pb.x, x0 - p);
        for (p = pad; p > 0 && border_in(&a, x1, y0, x1 + p, y1); p--)
            ;
        x1 = imin(pb.x + pb.w, x1 + p);
        for (p = pad; p > 0 && border_in(&a, x0, y0 - p, x1, y0); p--)
            ;
        y0 = imax(pb.y, y0 - p);
        for (p = pad; p > 0 && border_in(&a, x0, y1, x1, y1 + p); p--)
            ;
        y1 = imin(pb.y + pb.h, y1 + p);
        if (x1 > x0 && y1 > y0)
            cb = (ibox){x0, y0, x1 - x0, y1 - y0};
    }
    out->box = to_full(&a, cb);
    if (nmarks > 0) {
        out->marks = boxaCreate(nmarks);
        if (!out->marks)
            goto nomem;
        for (int i = 0; i < nmarks; i++) {
            BOX m = to_full(&a, marks[i]);
            BOX *b = boxCreate(m.x, m.y, m.w, m.h);
            if (!b || boxaAddBox(out->marks, b, L_INSERT)) {
                boxDestroy(&b);
                goto nomem;
            }
        }
    }
    goto out;
nomem:
    rc = sh_errf(err, SH_ENOMEM, "layout content: out of memory (%dx%d px)",
                 a.fw, a.fh);
    sh_content_release(out);
out:
    free(marks);
    free(bx);
    sh__layout_ana_free(&a);
    return rc;
}

void sh_content_release(sh_content *c)
{
    if (!c)
        return;
    boxaDestroy(&c->marks);
    memset(c, 0, sizeof *c);
}

PIX *sh_layout_clean(PIX *gray, const sh_content *c)
{
    if (!gray || !c)
        return NULL;
    PIX *d = pixCopy(NULL, gray);
    if (!d)
        return NULL;
    int w = pixGetWidth(d), h = pixGetHeight(d), depth = pixGetDepth(d);
    l_uint32 white = depth == 1 ? 0 : depth == 32 ? 0xffffff00u
                   : depth >= 32 ? 0xffffffffu : (1u << depth) - 1;
    if (pixGetColormap(d)) {
        l_int32 idx;
        pixcmapGetRankIntensity(pixGetColormap(d), 1.0f, &idx);
        white = (l_uint32)idx;
    }
    BOX cb = c->box;
    if (cb.w <= 0 || cb.h <= 0)
        cb = (BOX){.x = 0, .y = 0, .w = w, .h = h};
    int x0 = iclamp(cb.x, 0, w), y0 = iclamp(cb.y, 0, h);
    int x1 = iclamp(cb.x + cb.w, 0, w), y1 = iclamp(cb.y + cb.h, 0, h);
    ibox outside[4] = {
        {0, 0, w, y0}, {0, y1, w, h - y1}, {0, y0, x0, y1 - y0},
        {x1, y0, w - x1, y1 - y0},
    };
    for (int i = 0; i < 4; i++) {
        if (outside[i].w <= 0 || outside[i].h <= 0)
            continue;
        BOX *b = boxCreate(outside[i].x, outside[i].y, outside[i].w, outside[i].h);
        if (!b || pixSetInRectArbitrary(d, b, white)) {
            boxDestroy(&b);
            pixDestroy(&d);
            return NULL;
        }
        boxDestroy(&b);
    }
    for (int i = 0; c->marks && i < boxaGetCount(c->marks); i++) {
        BOX *b = boxaGetBox(c->marks, i, L_CLONE);
        if (!b || pixSetInRectArbitrary(d, b, white)) {
            boxDestroy(&b);
            pixDestroy(&d);
            return NULL;
        }
        boxDestroy(&b);
    }
    return d;
}
