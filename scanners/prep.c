/*
 * prep.c — from a decoded frame to the image Tesseract reads.
 *
 *   sh_prep_page          gray, OCR scale, orientation, deskew, binarise
 *   sh_prepped_release
 *   sh_prep_deskew        rotate about the centre by the skew (also the
 *                         web's page render, scanners/render.c)
 *   sh_geom_image_matrix  PDF matrix placing the original pixels on the page
 *   sh_geom_pt_per_px
 *
 * Method.  The frame is reduced to 8 bpp gray — for colour scans the
 * brightest channel, so red seals and coloured stamps fade into the paper
 * while black print stays (corpus pages under a red seal: CER 6.5 % →
 * 0.1 %) — and read at its own resolution between 150 and 400 dpi (native
 * 200 dpi reads better than upscaled to 300: 0.71 % → 0.25 % CER) unless
 * the text itself is small or large in pixels: the x-height is measured
 * (text_size) and small sharp text magnified up to x2, small blurred text
 * left as it is (and marked soft: Tesseract then thresholds it locally),
 * large text reduced (see XH_*).  Pages whose text cannot be measured
 * keep the old rule: below 150 dpi upscaled to 300, above 400 reduced to
 * 300.
 * The file's orientation tag is applied first.  A binary analysis image
 * (background-normalised, adaptive Otsu) feeds Tesseract's osd model for
 * the quarter turn and Leptonica's pixFindSkew for the residual skew; the
 * gray image is then turned and rotated about its centre by the skew
 * (area mapping, white brought in, same size), and Tesseract reads that
 * gray image: its LSTM reads gray better than our binary, and better than
 * a background-flattened gray (measured on the shared corpus).  Nothing here touches the archived pixels: the geometry is
 * recorded in sh_geom and the PDF draws the original through a matrix.
 */
#include "prep.h"
#include "layout.h"

#include <math.h>
#include <string.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

/* OCR scale from the text's own size (x-height: the most common height of
   letter-sized connected components, in the file's pixels).  Tesseract's
   LSTM reads small sharp text best magnified to an x-height of ~16 px
   (82 dpi copies with x-height 7: bag-of-words miss 6.9 % as they are,
   3.7 % at x2, 6.3 % at x3.7); more magnification only costs time, and a
   blurred copy read magnified loses words (11.6 % at x1, 16.8 % at x2,
   23.3 % at x3.7).  Text already 13..40 px high is read as it is (200 dpi
   pages native: 0.71 % -> 0.25 % CER vs upscaled), larger text (600 dpi
   scans, posters) is reduced to ~28 px. */
#define XH_SMALL 13.0       /* below: small text, magnify if sharp        */
#define XH_WANT 16.0        /* ... to this x-height                       */
#define XH_MAX_UP 2.0       /* ... at most this factor                    */
#define XH_LARGE 40.0       /* above: reduce ...                          */
#define XH_DOWN 28.0        /* ... to this x-height                       */
#define XH_MIN_COMPS 50     /* fewer letter-sized components: no measure  */
#define XH_SOFT 16.0        /* below: blurred text counts as soft (a blur
                               merges letters: x-height 7 reads as 12..13) */
/* Edge strength (90th percentile of the Sobel gradient next to ink, 0..255)
   below which small text counts as blurred: blurred copies 51..53, sharp
   ones (noisy, dark, photographed, 1-bit) 110..190. */
#define EDGE_SHARP 80.0

/* Pages over this many pixels (read at their OCR scale) are analysed on
   a 2x reduction: A3 at 600 dpi, A1 and A0 at 300 dpi.  The orientation
   tests then run at half the OCR resolution as they do on other pages,
   and the skew sweep and search at the same resolutions as on the full
   page; a quarter of the memory and time of binarising the whole page. */
#define ANALYSE_HALF_PX (36.0 * 1000 * 1000)

/* Skew below this confidence is not trusted (Leptonica's own default for
   pixDeskew is 3.0). */
#define SKEW_MIN_CONF 3.0
/* Skews smaller than this are left alone (rotation would only blur). */
#define SKEW_MIN_DEG 0.05
/* OSD answers below this confidence keep the page as it is. */
#define OSD_MIN_CONF 1.5
/* Leptonica's up/down and sideways tests settle the orientation without
   OSD when one verdict is at least this confident and dominates the other
   this much (upright pages; turned pages need a clearer verdict).  On the
   shared corpus and samples: upright up 15..40, sideways |left| 15..35,
   upside down up -9..-26. */
#define UP_MIN_CONF 10.0
#define UP_OVER_LEFT 2.5
#define TURN_MIN_CONF 12.0
#define TURN_OVER 3.0

/* Leptonica's up/down and sideways tests on the binary b: 1 with *q the
   quarter turn when one verdict is clear (UP_*, TURN_*), else 0.  The
   confidences go to g.  At the OCR resolution (300 dpi) the tests see
   more than on the 2x reduction the first try uses: on the samples'
   sideways and upside-down pages |conf| 8.9..13.3 there (osd needed,
   0.27 s a page), 18.0..25.7 here (0.04 s); on the corpus and samples
   turned four ways (132 cases) the verdicts at both resolutions all
   agree with osd, and the two resolutions' confidences are alike
   (median ratio 1.05). */
static int lept_orient(PIX *b, sh_geom *g, int *q)
{
    l_float32 up = 0, left = 0;
    if (pixOrientDetect(b, &up, &left, 0, 0) != 0)
        return 0;
    g->up_conf = up;
    g->left_conf = left;
    double au = fabs(up), al = fabs(left);
    if (up >= UP_MIN_CONF && al * UP_OVER_LEFT < up) {
        *q = 0;                                 /* upright */
        return 1;
    }
    if (up <= -TURN_MIN_CONF && al * TURN_OVER < au) {
        *q = 2;                                 /* upside down */
        return 1;
    }
    if (al >= TURN_MIN_CONF && au * TURN_OVER < al) {
        *q = left > 0 ? 1 : 3;                  /* sideways */
        return 1;
    }
    return 0;
}

void sh_prepped_release(sh_prepped *p)
{
    if (p)
        pixDestroy(&p->ocr);
}

static PIX *to_gray(PIX *pix)
{
    switch (pixGetDepth(pix)) {
    case 1:
        return pixConvert1To8(NULL, pix, 255, 0);
    case 8:
        return pixGetColormap(pix) ? pixRemoveColormap(pix, REMOVE_CMAP_TO_GRAYSCALE)
                                   : pixClone(pix);
    case 32:
        /* The brightest channel: black and gray print stay dark, coloured
           ink (red seals, blue stamps) turns as light as the paper. */
        return pixConvertRGBToGrayMinMax(pix, L_CHOOSE_MAX);
    default:
        return pixConvertTo8(pix, 0);
    }
}

/* Binary image for analysis and recognition: flatten the background, then
   threshold locally (binarize.c: Leptonica's bits, faster).  Returns NULL
   on failure. */
static PIX *binarize(PIX *gray)
{
    return sh_prep_binarize(gray);
}

/* Text size and sharpness of a gray page, in its own pixels: *xh the
   x-height (0 when too few letter-sized components to tell), *edge the
   edge strength next to the ink (see EDGE_SHARP).  Pages over 2000 px a
   side are measured on a 2x reduction, whose binary is then given in
   *pbin (else NULL). */
static void text_size(PIX *gray, double *xh, double *edge, PIX **pbin)
{
    *xh = 0;
    *edge = 255;
    *pbin = NULL;
    int red = pixGetWidth(gray) > 2000 && pixGetHeight(gray) > 2000;
    PIX *g = red ? pixScaleAreaMap2(gray) : pixClone(gray);
    PIX *bin = g ? binarize(g) : NULL;
    BOXA *ba = bin ? pixConnCompBB(bin, 8) : NULL;
    int h = g ? pixGetHeight(g) : 0, hist[256] = {0}, n = 0, mode = 0;
    for (int i = 0; ba && i < boxaGetCount(ba); i++) {
        l_int32 bx, by, bw, bh;
        boxaGetBoxGeometry(ba, i, &bx, &by, &bw, &bh);
        if (bh < 5 || bh > h / 3 || bh > 255 || bw < 2 || bw > 3 * bh)
            continue;
        hist[bh]++;
        n++;
    }
    for (int i = 5; i < 256; i++)
        if (hist[i] > hist[mode])
            mode = i;
    if (n >= XH_MIN_COMPS && mode > 0) {
        *xh = red ? 2.0 * mode : mode;
        /* Edges: only matter for small text (no reduction then). */
        if (*xh < XH_SOFT && !red) {
            PIX *mask = pixDilateBrick(NULL, bin, 3, 3);
            PIX *sob = pixSobelEdgeFilter(g, L_ALL_EDGES);
            l_float32 v = 255;
            if (mask && sob &&
                pixGetRankValueMasked(sob, mask, 0, 0, 1, 0.9, &v, NULL) == 0)
                *edge = v;
            pixDestroy(&mask);
            pixDestroy(&sob);
        }
    }
    boxaDestroy(&ba);
    if (red)                /* the analysis image of a large page */
        *pbin = bin;
    else
        pixDestroy(&bin);
    pixDestroy(&g);
}

static double upright_dpi(double xres, double yres)
{
    return sqrt(xres * yres);
}

PIX *sh_prep_deskew(PIX *pix, double skew_deg)
{
    if (!pix)
        return NULL;
    if (skew_deg == 0)
        return pixClone(pix);
    return pixRotate(pix, (float)(skew_deg * M_PI / 180.0), L_ROTATE_AREA_MAP,
                     L_BRING_IN_WHITE, 0, 0);
}

/* Deskew, analyse and clean one region of the upright sheet: a whole page,
   or one half of a two-up sheet, each deskewed on its own. */
static int prep_part(PIX *rot, PIX *bin, int bs, const BOX *reg,
                     const sh_geom *tmpl, const sh_prep_opts *o,
                     sh_prepped *out, sh_err *err)
{
    sh_geom *g = &out->geom;
    *g = *tmpl;
    PIX *rg = NULL, *rb = NULL, *desk = NULL;
    sh_content ct = {0};
    int rc = SH_OK;
    double t = sh_now();
    l_int32 x, y, w, h;
    boxGetGeometry((BOX *)reg, &x, &y, &w, &h);
    g->reg_x = x;
    g->reg_y = y;
    g->reg_w = w;
    g->reg_h = h;
    if (g->nparts > 1) {
        BOX *breg = boxCreate(x / bs, y / bs, w / bs, h / bs);
        rg = pixClipRectangle(rot, (BOX *)reg, NULL);
        rb = breg ? pixClipRectangle(bin, breg, NULL) : NULL;
        boxDestroy(&breg);
    } else {
        rg = pixClone(rot);
        rb = pixClone(bin);
    }
    if (!rg || !rb) {
        rc = sh_errf(err, SH_ENOMEM, "cannot cut the sheet");
        goto out;
    }
    /* Skew, found on the binary image, corrected on the gray one. */
    float angle = 0, conf = 0;
    /* pixFindSkew's sweep and search (4x, 2x reductions) at the same
       resolutions on a half-size binary */
    if (!(o && o->no_deskew) &&
        (bs == 1 ? pixFindSkew(rb, &angle, &conf)
                 : pixFindSkewSweepAndSearch(rb, &angle, &conf, 2, 1, 7.0f,
                                             1.0f, 0.01f)) == 0 &&
        conf >= SKEW_MIN_CONF && fabs(angle) >= SKEW_MIN_DEG) {
        g->skew_deg = angle;
        desk = sh_prep_deskew(rg, angle);
        if (!desk) {
            rc = sh_errf(err, SH_ENOMEM, "cannot deskew page");
            goto out;
        }
    } else {
        desk = pixClone(rg);
    }
    g->skew_conf = conf;
    out->t_deskew = sh_now() - t;

    t = sh_now();
    g->ocr_w = pixGetWidth(desk);
    g->ocr_h = pixGetHeight(desk);
    double k = 72.0 / g->ocr_dpi;
    if (g->nparts > 1) {
        g->page_w_pt = w * k;
        g->page_h_pt = h * k;
    }
    g->crop_x = g->crop_y = 0;
    g->crop_w = g->ocr_w;
    g->crop_h = g->ocr_h;
    /* Content: scanner borders, staples and punch holes stay in the
       archived image but are kept out of what Tesseract reads; a blank
       back is recorded and not read at all. */
    if (!(o && o->no_clean) &&
        sh_layout_content(desk, (int)(g->ocr_dpi + 0.5), &ct, NULL) == SH_OK) {
        l_int32 cx, cy, cw, chh;
        boxGetGeometry(&ct.box, &cx, &cy, &cw, &chh);
        if (cw > 0 && chh > 0) {
            g->crop_x = cx;
            g->crop_y = cy;
            g->crop_w = cw;
            g->crop_h = chh;
        }
        g->border = ct.border;
        g->marks = ct.marks ? boxaGetCount(ct.marks) : 0;
        g->blank = ct.blank;
        g->blank_conf = ct.blank_conf;
        if (g->border || g->marks) {
            PIX *clean = sh_layout_clean(desk, &ct);
            if (clean) {
                pixDestroy(&desk);
                desk = clean;
            }
        }
    }
    if (o && o->force_blank) {          /* a clerk's decision */
        g->blank = o->force_blank > 0;
        g->blank_conf = 1;
    }
    if (o && o->ocr_binary) {
        out->ocr = binarize(desk);
    } else {
        out->ocr = desk;
        desk = NULL;
    }
    if (!out->ocr) {
        rc = sh_errf(err, SH_EINPUT, "cannot binarise page");
        goto out;
    }
    pixSetResolution(out->ocr, (int)(g->ocr_dpi + 0.5),
                     (int)(g->ocr_dpi + 0.5));
    out->t_other += sh_now() - t;
out:
    sh_content_release(&ct);
    pixDestroy(&rg);
    pixDestroy(&rb);
    pixDestroy(&desk);
    return rc;
}

int sh_prep_sheet(const sh_frame *f, const sh_prep_opts *o,
                  sh_prepped out[2], int *nout, sh_err *err)
{
    memset(out, 0, 2 * sizeof *out);
    *nout = 0;
    sh_geom G = {0}, *g = &G;
    PIX *gray = NULL, *turned = NULL, *scaled = NULL, *bin = NULL;
    PIX *rot = NULL;
    int rc = SH_OK;
    double t0 = sh_now(), t, t_other, t_orient, t_split = 0;

    g->src_w = pixGetWidth(f->pix);
    g->src_h = pixGetHeight(f->pix);
    g->src_xres = f->xres > 0 ? f->xres : 300;
    g->src_yres = f->yres > 0 ? f->yres : 300;
    g->tag_rot = ((f->tag_rot % 360) + 360) % 360 / 90 * 90;

    gray = to_gray(f->pix);
    if (!gray) {
        rc = sh_errf(err, SH_EINPUT, "cannot convert to gray");
        goto out;
    }
    /* (pixRotateOrth copies even for no turn: 140 MB on an A0 sheet) */
    turned = g->tag_rot ? pixRotateOrth(gray, g->tag_rot / 90)
                        : pixClone(gray);
    if (!turned) {
        rc = sh_errf(err, SH_ENOMEM, "cannot turn page");
        goto out;
    }
    /* Resolution along the upright axes. */
    double ux = g->tag_rot % 180 ? g->src_yres : g->src_xres;
    double uy = g->tag_rot % 180 ? g->src_xres : g->src_yres;
    double target = o && o->ocr_dpi > 0 ? o->ocr_dpi : 300;
    double d = upright_dpi(ux, uy);
    double ocr_dpi = (d >= 150 && d <= 400 && fabs(ux - uy) < 1) ? d : target;
    /* By the text where it can be measured; the file's dpi otherwise. */
    double xh = 0, edge = 255;
    PIX *tbin = NULL;
    if (!(o && (o->ocr_dpi > 0 || o->no_text_scale)))
        text_size(turned, &xh, &edge, &tbin);
    if (xh > 0) {
        double k = 1;
        if (xh < XH_SMALL && edge >= EDGE_SHARP)
            k = fmin(XH_WANT / xh, XH_MAX_UP);
        else if (xh > XH_LARGE)
            k = XH_DOWN / xh;
        ocr_dpi = d * k;
    }
    int soft = xh > 0 && xh < XH_SOFT && edge < EDGE_SHARP;
    double fx = ocr_dpi / ux, fy = ocr_dpi / uy;
    if (fabs(fx - 1) < 1e-3 && fabs(fy - 1) < 1e-3)
        scaled = pixClone(turned);
    else if (fx < 1 && fy < 1)
        scaled = pixScaleAreaMap(turned, (float)fx, (float)fy);
    else
        scaled = pixScale(turned, (float)fx, (float)fy);
    if (!scaled) {
        rc = sh_errf(err, SH_ENOMEM, "cannot scale page to %.0f dpi", ocr_dpi);
        goto out;
    }
    g->ocr_dpi = ocr_dpi;

    /* A large page is analysed (orientation, skew) on a binary of half
       its size: text_size's own when the page is read at its size. */
    int bs = (double)pixGetWidth(scaled) * pixGetHeight(scaled) > ANALYSE_HALF_PX
             ? 2 : 1;
    if (bs == 2 && tbin && scaled == turned) {
        bin = tbin;
        tbin = NULL;
    } else if (bs == 2) {
        PIX *half = pixScaleAreaMap2(scaled);
        bin = half ? binarize(half) : NULL;
        pixDestroy(&half);
    } else {
        bin = binarize(scaled);
    }
    pixDestroy(&tbin);
    double adpi = ocr_dpi / bs;
    if (!bin) {
        rc = sh_errf(err, SH_EINPUT, "cannot binarise page");
        goto out;
    }
    t_other = sh_now() - t0;

    /* Orientation: the quarter turn that makes the text upright.
       Leptonica's ascender/descender tests (on a ~150 dpi reduction,
       ~20 ms; then at the OCR resolution, ~40 ms) settle clear cases;
       Tesseract's osd model (200-900 ms) decides the rest. */
    t = sh_now();
    int q = 0, decided = 0;
    if (o && o->force_quarter >= 1 && o->force_quarter <= 4) {
        /* a clerk's turn: no detection */
        q = (o->force_quarter - 1 - g->tag_rot / 90 + 4) % 4;
        decided = 1;
    }
    if (o && !o->no_orient && !decided) {
        /* at about half the OCR resolution (a half-size binary is); when
           that is not clear enough, on the binary at the OCR resolution
           (see lept_orient) before the osd model */
        int halved = bs == 1 && ocr_dpi >= 250;
        PIX *red = halved ? pixReduceRankBinary2(bin, 1, NULL)
                          : pixClone(bin);
        decided = red && lept_orient(red, g, &q);
        if (!decided && halved)
            decided = lept_orient(bin, g, &q);
        pixDestroy(&red);
    }
    if (o && !o->no_orient && o->orient && !decided) {
        int deg = 0;
        float conf = 0;
        if (o->orient(o->orient_ctx, bin, (int)(adpi + 0.5), &deg,
                      &conf) == 0) {
            g->osd_conf = conf;
            if (conf >= OSD_MIN_CONF)
                q = deg / 90;
        }
    }
    if (q) {
        rot = pixRotateOrth(scaled, q);
        PIX *b2 = pixRotateOrth(bin, q);
        if (!rot || !b2) {
            pixDestroy(&b2);
            rc = sh_errf(err, SH_ENOMEM, "cannot turn page");
            goto out;
        }
        pixDestroy(&bin);
        bin = b2;
    } else {
        rot = pixClone(scaled);
    }
    g->quarter = (g->tag_rot / 90 + q) % 4;
    t_orient = sh_now() - t;
    g->full_w = pixGetWidth(rot);
    g->full_h = pixGetHeight(rot);
    /* The page is the upright sheet at its physical size. */
    double wp = g->src_w * 72.0 / g->src_xres, hp = g->src_h * 72.0 / g->src_yres;
    g->page_w_pt = g->quarter % 2 ? hp : wp;
    g->page_h_pt = g->quarter % 2 ? wp : hp;

    /* Two-up sheet?  Left page, then right page. */
    BOX *regs[2] = {NULL, NULL};
    int n = 1;
    t = sh_now();
    g->nparts = 1;
    g->split_conf = 1;
    if (o && o->force_split > 0 && o->force_split < 1000) {
        /* a clerk's cut, in per-mille of the upright sheet's width */
        int cut = (int)((double)g->full_w * o->force_split / 1000 + 0.5);
        if (cut > 0 && cut < g->full_w) {
            n = 2;
            g->nparts = 2;
            regs[0] = boxCreate(0, 0, cut, g->full_h);
            regs[1] = boxCreate(cut, 0, g->full_w - cut, g->full_h);
        }
    } else if (!(o && (o->no_split || o->force_split < 0))) {
        sh_split sp = {0};
        if (sh_layout_split(rot, (int)(ocr_dpi + 0.5), &sp, NULL) == SH_OK) {
            g->split_conf = sp.conf;
            g->review = sp.review;
            if (sp.split && sp.cut_x > 0 && sp.cut_x < g->full_w) {
                n = 2;
                g->nparts = 2;
                regs[0] = boxCreate(0, 0, sp.cut_x, g->full_h);
                regs[1] = boxCreate(sp.cut_x, 0, g->full_w - sp.cut_x,
                                    g->full_h);
            }
        }
    }
    if (n == 1)
        regs[0] = boxCreate(0, 0, g->full_w, g->full_h);
    t_split = sh_now() - t;
    for (int i = 0; i < n && !rc; i++) {
        g->part = i;
        if (!regs[i])
            rc = sh_errf(err, SH_ENOMEM, "out of memory");
        else
            rc = prep_part(rot, bin, bs, regs[i], g, o, &out[i], err);
        out[i].text_px = xh * ocr_dpi / d;
        out[i].soft = soft;
        out[i].t_orient = t_orient / n;
        out[i].t_other += (t_other + t_split) / n;
    }
    boxDestroy(&regs[0]);
    boxDestroy(&regs[1]);
    if (rc) {
        sh_prepped_release(&out[0]);
        sh_prepped_release(&out[1]);
    } else {
        *nout = n;
    }
out:
    pixDestroy(&gray);
    pixDestroy(&turned);
    pixDestroy(&scaled);
    pixDestroy(&bin);
    pixDestroy(&rot);
    return rc;
}

int sh_prep_page(const sh_frame *f, const sh_prep_opts *o, sh_prepped *out,
                 sh_err *err)
{
    sh_prep_opts one = o ? *o : (sh_prep_opts){0};
    one.no_split = 1;
    sh_prepped two[2];
    int n = 0;
    int rc = sh_prep_sheet(f, &one, two, &n, err);
    if (rc) {
        memset(out, 0, sizeof *out);
        return rc;
    }
    *out = two[0];
    return SH_OK;
}

/* r = a then b (PDF row-vector convention: p' = p × a × b). */
static void mat_mul(const double a[6], const double b[6], double r[6])
{
    double t[6];
    t[0] = a[0] * b[0] + a[1] * b[2];
    t[1] = a[0] * b[1] + a[1] * b[3];
    t[2] = a[2] * b[0] + a[3] * b[2];
    t[3] = a[2] * b[1] + a[3] * b[3];
    t[4] = a[4] * b[0] + a[5] * b[2] + b[4];
    t[5] = a[4] * b[1] + a[5] * b[3] + b[5];
    memcpy(r, t, sizeof t);
}

void sh_geom_image_matrix(const sh_geom *g, double m[6])
{
    if (g->nparts > 1 || (g->full_w && (g->reg_w != g->full_w ||
                                        g->reg_h != g->full_h))) {
        /* Whole upright sheet in points, then the region to the origin,
           then the region's own deskew about the page centre. */
        sh_geom whole = *g;
        whole.skew_deg = 0;
        whole.nparts = 1;
        whole.full_w = 0;
        double wp = g->src_w * 72.0 / g->src_xres;
        double hp = g->src_h * 72.0 / g->src_yres;
        whole.page_w_pt = g->quarter % 2 ? hp : wp;
        whole.page_h_pt = g->quarter % 2 ? wp : hp;
        sh_geom_image_matrix(&whole, m);
        double kx = whole.page_w_pt / g->full_w;
        double ky = whole.page_h_pt / g->full_h;
        double t[6] = {1, 0, 0, 1, -g->reg_x * kx,
                       -(whole.page_h_pt - (g->reg_y + g->reg_h) * ky)};
        mat_mul(m, t, m);
        double phi = -g->skew_deg * M_PI / 180.0, c = cos(phi), s = sin(phi);
        double cx = g->page_w_pt / 2, cy = g->page_h_pt / 2;
        double rot[6] = {c, s, -s, c, cx - c * cx + s * cy,
                         cy - s * cx - c * cy};
        mat_mul(m, rot, m);
        return;
    }
    /* Natural image size in points, centred on the origin, turned by the
       clockwise quarter turns plus the deskew (clockwise by skew_deg), then
       moved to the page centre.  PDF angles are counter-clockwise. */
    double wp = g->src_w * 72.0 / g->src_xres, hp = g->src_h * 72.0 / g->src_yres;
    double phi = -(g->quarter * 90.0 + g->skew_deg) * M_PI / 180.0;
    double c = cos(phi), s = sin(phi);
    if (g->skew_deg == 0) { /* exact quarter turns, no rounding noise */
        static const double cs[4][2] = {{1, 0}, {0, -1}, {-1, 0}, {0, 1}};
        c = cs[g->quarter & 3][0];
        s = cs[g->quarter & 3][1];
    }
    m[0] = wp * c;
    m[1] = wp * s;
    m[2] = -hp * s;
    m[3] = hp * c;
    m[4] = -wp / 2 * c + hp / 2 * s + g->page_w_pt / 2;
    m[5] = -wp / 2 * s - hp / 2 * c + g->page_h_pt / 2;
}

double sh_geom_pt_per_px(const sh_geom *g)
{
    return g->ocr_dpi > 0 ? 72.0 / g->ocr_dpi : 0.24;
}
