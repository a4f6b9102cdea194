/*
 * layout_split.c — one page or two pages side by side, and where to cut.
 *
 *   sh_layout_split   the decision, its confidence and method
 *
 * Method.  The image is measured at about 75 dpi (layout.c's ana; folds
 * and gutters are centimetres wide).  The decision looks for a fold
 * (per-strip column profiles of the paper brightness: a dip at least
 * 2 mm wide, darker than both sides, aligned along one straight line in
 * most of 12 strips) and a gutter (per-strip column occupancy of line
 * pieces; the straight line through the middle 30 % with the largest
 * clearance in every strip, tried over ±5° of tilt), and refuses a split
 * where line pieces run across the cut.
 */
#include "layout_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

/* Working resolution of the split: the input is reduced by
   round(dpi / SPLIT_DPI) (folds and gutters are centimetres wide). */
#define SPLIT_DPI 75.0
/* Horizontal strips for the split analysis. */
#define NSTRIP 12

/* ------------------------------------------------------------------ */
/* Split.                                                               */

typedef struct strips {
    int k;            /* number of strips            */
    int y0, sh;       /* first row, rows per strip (last takes the rest) */
    int w;
    int *dist;        /* k × w: distance to the nearest printed column */
    int inked[NSTRIP];
    int ys[NSTRIP];   /* centre row of each strip    */
} strips;

#define FAR (1 << 28)

static int strips_build(const ana *a, const ibox *bx, int n, strips *s)
{
    memset(s, 0, sizeof *s);
    s->k = NSTRIP;
    s->w = a->w;
    s->y0 = a->pb.y;
    s->sh = imax(1, a->pb.h / NSTRIP);
    int *occ = calloc((size_t)NSTRIP * (a->w + 1), sizeof *occ);
    s->dist = malloc((size_t)NSTRIP * a->w * sizeof *s->dist);
    if (!occ || !s->dist) {
        free(occ);
        free(s->dist);
        s->dist = NULL;
        return -1;
    }
    for (int i = 0; i < NSTRIP; i++) {
        int y1 = i == NSTRIP - 1 ? a->pb.y + a->pb.h : s->y0 + (i + 1) * s->sh;
        s->ys[i] = (s->y0 + i * s->sh + y1) / 2;
    }
    for (int i = 0; i < n; i++) {
        int a0 = iclamp((bx[i].y - s->y0) / s->sh, 0, NSTRIP - 1);
        int a1 = iclamp((bx[i].y + bx[i].h - 1 - s->y0) / s->sh, 0, NSTRIP - 1);
        int x0 = iclamp(bx[i].x, 0, a->w), x1 = iclamp(bx[i].x + bx[i].w, 0, a->w);
        for (int j = a0; j <= a1; j++) {
            occ[j * (a->w + 1) + x0]++;
            occ[j * (a->w + 1) + x1]--;
            s->inked[j] = 1;
        }
    }
    for (int j = 0; j < NSTRIP; j++) {
        int *o = occ + j * (a->w + 1), *d = s->dist + j * a->w;
        int c = 0, last = -FAR;
        for (int x = 0; x < a->w; x++) {
            c += o[x];
            if (c > 0)
                last = x;
            d[x] = x - last;
        }
        last = FAR;
        for (int x = a->w - 1; x >= 0; x--) {
            if (d[x] == 0)
                last = x;
            d[x] = imin(d[x], last - x);
        }
    }
    free(occ);
    return 0;
}

/* Clearance of the line x = c + t (y - yc): the smallest distance from it
   to print over the inked strips, px (FAR when no strip is inked). */
static int line_clearance(const strips *s, double c, double t, double yc)
{
    int best = FAR;
    for (int j = 0; j < s->k; j++) {
        if (!s->inked[j])
            continue;
        int x = (int)floor(c + t * (s->ys[j] - yc) + 0.5);
        int d = x < 0 || x >= s->w ? 0 : s->dist[j * s->w + x];
        if (d < best)
            best = d;
    }
    return best;
}

/* Strips in which a line piece spans the line x = c + t (y - yc) with at
   least `half` px on both sides: print that runs across it (a text line,
   a rule, a picture), as opposed to specks or shadow remnants on it. */
static int crossing_strips(const strips *s, const ibox *bx, int n, double c,
                           double t, double yc, int half)
{
    int hit[NSTRIP] = {0}, nc = 0;
    for (int i = 0; i < n; i++) {
        double x = c + t * (bx[i].y + bx[i].h / 2.0 - yc);
        if (bx[i].x > x - half || bx[i].x + bx[i].w < x + half)
            continue;
        int a0 = iclamp((bx[i].y - s->y0) / s->sh, 0, NSTRIP - 1);
        int a1 = iclamp((bx[i].y + bx[i].h - 1 - s->y0) / s->sh, 0, NSTRIP - 1);
        for (int j = a0; j <= a1; j++)
            hit[j] = 1;
    }
    for (int j = 0; j < NSTRIP; j++)
        nc += hit[j];
    return nc;
}

typedef struct fold {
    int found;
    double c, t;      /* line x = c + t (y - yc)          */
    int n;            /* strips agreeing                  */
    double depth;     /* median depth, gray levels        */
    double score;     /* 0..1                             */
} fold;

static int cmp_double(const void *p, const void *q)
{
    double a = *(const double *)p, b = *(const double *)q;
    return a < b ? -1 : a > b;
}

/* A fold: in each strip, the 80th-percentile brightness of each column
   (paper, print ignored), smoothed over 1 mm; its lowest point in the
   band, if darker than both sides by Dmin and at least 2 mm wide; the
   points of all strips fitted by one straight line. */
static int find_fold(const ana *a, int bx0, int bx1, double yc, fold *fo)
{
    memset(fo, 0, sizeof *fo);
    int side_in = mmi(a, 4), side_out = mmi(a, 30);
    int xa = imax(a->pb.x, bx0 - side_out - 2), xb = imin(a->pb.x + a->pb.w, bx1 + side_out + 2);
    int nx = xb - xa;
    if (nx <= 0 || bx1 <= bx0)
        return 0;
    unsigned short *hist = malloc((size_t)nx * 64 * sizeof *hist);
    double *prof = malloc((size_t)nx * sizeof *prof);
    double *sm = malloc((size_t)nx * sizeof *sm);
    if (!hist || !prof || !sm) {
        free(hist);
        free(prof);
        free(sm);
        return -1;
    }
    double px[NSTRIP], py[NSTRIP], pd[NSTRIP];
    int np = 0, sh = imax(1, a->pb.h / NSTRIP), rad = imax(1, mmi(a, 0.5));
    double dmin = fmax(15, 0.08 * a->paper);
    l_uint32 *data = pixGetData(a->r);
    int wpl = pixGetWpl(a->r);
    for (int j = 0; j < NSTRIP; j++) {
        int y0 = a->pb.y + j * sh;
        int y1 = j == NSTRIP - 1 ? a->pb.y + a->pb.h : y0 + sh;
        int n = y1 - y0;
        if (n <= 0)
            continue;
        memset(hist, 0, (size_t)nx * 64 * sizeof *hist);
        for (int y = y0; y < y1; y++) {
            l_uint32 *l = data + (size_t)y * wpl;
            for (int x = xa; x < xb; x++)
                hist[(x - xa) * 64 + (GET_DATA_BYTE(l, x) >> 2)]++;
        }
        for (int x = 0; x < nx; x++) {
            unsigned short *hb = hist + x * 64;
            int cum = 0, b = 0;
            for (; b < 64; b++) {
                cum += hb[b];
                if (cum * 5 >= n * 4)
                    break;
            }
            prof[x] = b * 4 + 2;
        }
        for (int x = 0; x < nx; x++) {
            double s = 0;
            int c = 0;
            for (int k = imax(0, x - rad); k <= imin(nx - 1, x + rad); k++, c++)
                s += prof[k];
            sm[x] = s / c;
        }
        int xm = -1;
        for (int x = bx0 - xa; x < bx1 - xa; x++)
            if (x >= 0 && x < nx && (xm < 0 || sm[x] < sm[xm]))
                xm = x;
        if (xm < 0)
            continue;
        double lmax = -1, rmax = -1;
        for (int x = imax(0, xm - side_out); x <= xm - side_in; x++)
            lmax = fmax(lmax, sm[x]);
        for (int x = xm + side_in; x <= imin(nx - 1, xm + side_out); x++)
            rmax = fmax(rmax, sm[x]);
        if (lmax < 0 || rmax < 0)
            continue;
        double depth = fmin(lmax, rmax) - sm[xm];
        if (depth < dmin)
            continue;
        double half = sm[xm] + depth / 2;
        int l = xm, r = xm;
        while (l > 0 && sm[l - 1] < half)
            l--;
        while (r < nx - 1 && sm[r + 1] < half)
            r++;
        if (r - l + 1 < mm(a, 2))
            continue;
        px[np] = xm + xa;
        py[np] = (y0 + y1) / 2.0 - yc;
        pd[np] = depth;
        np++;
    }
    free(hist);
    free(prof);
    free(sm);

    /* Least squares x = c + t y, dropping the worst point while any lies
       more than 3 mm off the line. */
    int use[NSTRIP];
    for (int i = 0; i < np; i++)
        use[i] = 1;
    int nu = np;
    double c = 0, t = 0;
    while (nu >= 2) {
        double sy = 0, sx = 0, syy = 0, sxy = 0;
        for (int i = 0; i < np; i++)
            if (use[i]) {
                sy += py[i];
                sx += px[i];
                syy += py[i] * py[i];
                sxy += py[i] * px[i];
            }
        double den = nu * syy - sy * sy;
        t = den > 1e-9 ? (nu * sxy - sy * sx) / den : 0;
        c = (sx - t * sy) / nu;
        int worst = -1;
        double wr = mm(a, 3);
        for (int i = 0; i < np; i++)
            if (use[i] && fabs(px[i] - c - t * py[i]) > wr) {
                wr = fabs(px[i] - c - t * py[i]);
                worst = i;
            }
        if (worst < 0)
            break;
        use[worst] = 0;
        nu--;
    }
    if (nu < imax(5, (int)ceil(0.6 * NSTRIP)) || fabs(t) > tan(6 * M_PI / 180) ||
        c < bx0 || c >= bx1)
        return 0;
    double dv[NSTRIP];
    int nd = 0;
    for (int i = 0; i < np; i++)
        if (use[i])
            dv[nd++] = pd[i];
    qsort(dv, (size_t)nd, sizeof *dv, cmp_double);
    fo->found = 1;
    fo->c = c;
    fo->t = t;
    fo->n = nu;
    fo->depth = dv[nd / 2];
    fo->score = (double)nu / NSTRIP * fmin(1.0, fo->depth / (0.2 * a->paper));
    return 0;
}

static void set_split(sh_split *o, int split, double conf, const char *method)
{
    o->split = split;
    o->conf = dclamp(conf, 0, 1);
    o->method = method;
    o->review = o->conf < SH_LAYOUT_REVIEW_CONF;
}

int sh_layout_split(PIX *gray, int dpi, sh_split *out, sh_err *err)
{
    if (out) {
        memset(out, 0, sizeof *out);
        out->method = "none";
    }
    if (!gray || !out)
        return sh_errf(err, SH_EUSAGE, "layout split: NULL %s",
                       gray ? "output" : "image");
    if (dpi < 30 || dpi > 2400)
        return sh_errf(err, SH_EUSAGE, "layout split: resolution %d dpi out of "
                       "range 30..2400", dpi);
    int W = pixGetWidth(gray), H = pixGetHeight(gray);
    if (W < 1.15 * H) {
        set_split(out, 0, H >= W ? 0.98 : 0.9, "none");
        snprintf(out->why, sizeof out->why, "%s sheet %dx%d",
                 H >= W ? "portrait" : "near-square", W, H);
        return SH_OK;
    }
    ana a;
    int rc = sh__layout_ana_init(gray, dpi, SPLIT_DPI, &a, err);
    if (rc)
        return rc;
    ibox *marks = NULL, *bx = NULL;
    int nmarks = 0, nbx = 0, *gl = NULL;
    strips st = {0};
    const ibox pb = a.pb;
    if (pb.w < 1.15 * pb.h) {
        set_split(out, 0, 0.85, "none");
        snprintf(out->why, sizeof out->why,
                 "paper %.0fx%.0f mm inside dark borders is not landscape",
                 tomm(&a, pb.w), tomm(&a, pb.h));
        goto out;
    }
    int bx0 = pb.x + (int)(0.35 * pb.w), bx1 = pb.x + (int)(0.65 * pb.w);
    double yc = a.h / 2.0, pcx = pb.x + pb.w / 2.0;
    ibox band = {bx0, pb.y, bx1 - bx0, pb.h};
    if (sh__layout_find_marks(&a, band, NULL, 0, &marks, &nmarks) ||
        sh__layout_print_boxes(&a, marks, nmarks, 1, &bx, &nbx) ||
        strips_build(&a, bx, nbx, &st))
        goto nomem;
    int ninked = 0;
    for (int j = 0; j < NSTRIP; j++)
        ninked += st.inked[j];

    fold fo;
    if (find_fold(&a, bx0, bx1, yc, &fo))
        goto nomem;

    /* Gutter: the straight line through the band with the largest
       clearance to print in every inked strip; of the lines nearly as
       clear (within 2 mm or 25 %), the least tilted, then the clearest,
       then the nearest the centre. */
    int nt = (int)floor(tan(5 * M_PI / 180) * pb.h / 2.0);
    int ncol = bx1 - bx0;
    double best_t = 0, best_c = pcx;
    int best_g = -1;
    if (ninked > 0 && ncol > 0) {
        gl = malloc((size_t)(2 * nt + 1) * ncol * sizeof *gl);
        if (!gl)
            goto nomem;
        int gmax = 0;
        for (int k = -nt; k <= nt; k++)
            for (int c = 0; c < ncol; c++) {
                int g = line_clearance(&st, bx0 + c, k / (pb.h / 2.0), yc);
                gl[(k + nt) * ncol + c] = g;
                gmax = imax(gmax, g);
            }
        int gth = imax(gmax - mmi(&a, 2), (int)(0.75 * gmax));
        for (int m = 0; m <= 2 * nt && best_g < 0; m++) {
            int k = m % 2 ? (m + 1) / 2 : -(m / 2);
            for (int c = 0; c < ncol; c++) {
                int g = gl[(k + nt) * ncol + c];
                if (g < gth)
                    continue;
                if (g > best_g ||
                    (g == best_g && fabs(bx0 + c - pcx) < fabs(best_c - pcx))) {
                    best_g = g;
                    best_c = bx0 + c;
                    best_t = k / (pb.h / 2.0);
                }
            }
        }
    }
    /* Text lines on each side of the gutter line. */
    int nl = 0, nr = 0, xmin = a.w, xmax = -1;
    for (int i = 0; i < nbx; i++) {
        double cy = bx[i].y + bx[i].h / 2.0, cx = bx[i].x + bx[i].w / 2.0;
        if (sh__layout_significant(&a, bx + i)) {
            if (cx < best_c + best_t * (cy - yc))
                nl++;
            else
                nr++;
        }
        xmin = imin(xmin, bx[i].x);
        xmax = imax(xmax, bx[i].x + bx[i].w);
    }
    double gut_mm = best_g > 0 ? tomm(&a, 2.0 * best_g) : 0;
    double wl = tomm(&a, best_c - best_g - xmin), wr = tomm(&a, xmax - best_c - best_g);
    int ncross_c = crossing_strips(&st, bx, nbx, pcx, 0, yc, mmi(&a, 3));
    double aspect = (double)pb.w / pb.h;
    double cut = pcx, tilt = 0;

    if (ninked == 0) {
        set_split(out, 0, 0.7, "none");
        snprintf(out->why, sizeof out->why, "no print on the sheet");
        goto out;
    }
    if (fo.found && fo.score >= 0.35) {
        int nc = crossing_strips(&st, bx, nbx, fo.c, fo.t, yc, mmi(&a, 4));
        if (nc >= 2) {
            set_split(out, 0, 0.7 + 0.29 * fmin(1, nc / (0.6 * ninked)), "none");
            snprintf(out->why, sizeof out->why,
                     "fold at x=%.0f but print crosses it in %d of %d strips: "
                     "one folded page", (fo.c + 0.5) * a.f, nc, ninked);
            goto out;
        }
        set_split(out, 1, 0.75 + 0.24 * fo.score - (nc ? 0.2 : 0), "fold");
        cut = fo.c;
        tilt = fo.t;
        snprintf(out->why, sizeof out->why,
                 "fold in %d of %d strips, %.0f levels deep, tilt %.2f deg; "
                 "print crosses it in %d strips",
                 fo.n, NSTRIP, fo.depth, atan(fo.t) * 180 / M_PI, nc);
        goto cut;
    }
    int side_ok = wl >= fmax(0.18 * pb.w * 25.4 / a.wd, 40) &&
                  wr >= fmax(0.18 * pb.w * 25.4 / a.wd, 40) && nl >= 3 &&
                  nr >= 3;
    if (gut_mm >= 10 && side_ok) {
        double conf = 0.55 + 0.4 * dclamp((gut_mm - 10) / 20, 0, 1);
        if (fmin(wl, wr) < 0.5 * fmax(wl, wr))
            conf -= 0.1;
        if (aspect < 1.2 || aspect > 1.8)
            conf -= 0.1;
        set_split(out, 1, conf, "gutter");
        tilt = best_t;
        cut = best_c;
        /* The fold of a two-up sheet is at its centre: cut there unless
           that comes within 3 mm of print. */
        int gc = line_clearance(&st, pcx, best_t, yc);
        if (gc >= mm(&a, 3))
            cut = pcx;
        snprintf(out->why, sizeof out->why,
                 "gutter %.0f mm wide, tilt %.2f deg, text blocks %.0f and "
                 "%.0f mm wide", gut_mm, atan(best_t) * 180 / M_PI, wl, wr);
        goto cut;
    }
    if (ninked >= 3 && ncross_c >= imax(2, (ninked + 3) / 4)) {
        set_split(out, 0, 0.7 + 0.29 * fmin(1, ncross_c / (0.6 * ninked)), "none");
        snprintf(out->why, sizeof out->why,
                 "print crosses the centre in %d of %d strips: one page",
                 ncross_c, ninked);
        goto out;
    }
    /* Neither fold nor gutter nor crossing print. */
    {
        int cl = 0, cr = 0;
        for (int i = 0; i < nbx; i++) {
            if (!sh__layout_significant(&a, bx + i))
                continue;
            if (bx[i].x + bx[i].w <= pcx)
                cl++;
            else if (bx[i].x >= pcx)
                cr++;
        }
        int one_side = (cl >= 3 && cr == 0) || (cr >= 3 && cl == 0);
        if (one_side && aspect >= 1.25 && aspect <= 1.6) {
            set_split(out, 1, 0.5, "shape");
            snprintf(out->why, sizeof out->why,
                     "two-up shape (%.2f), print on one half only, no fold "
                     "or gutter: cut at the centre", aspect);
            cut = pcx;
            goto cut;
        }
        set_split(out, 0, 0.55, "none");
        snprintf(out->why, sizeof out->why,
                 "no fold, gutter %.0f mm (text %.0f | %.0f mm), print "
                 "crosses the centre in %d of %d strips", gut_mm, wl, wr,
                 ncross_c, ninked);
        goto out;
    }
cut:
    out->cut_x = iclamp((int)floor((cut + 0.5) * a.f + 0.5), 1, W - 1);
    out->cut_dxdy = tilt;
    goto out;
nomem:
    rc = sh_errf(err, SH_ENOMEM, "layout split: out of memory (%dx%d px)", W, H);
out:
    free(marks);
    free(bx);
    free(gl);
    free(st.dist);
    sh__layout_ana_free(&a);
    return rc;
}
