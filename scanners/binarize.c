/*
 * binarize.c — the analysis binary of a gray page (see prep.h), the same
 * bits as Leptonica's
 *     pixOtsuAdaptiveThreshold(pixBackgroundNormSimple(gray), w/4, h/4,
 *                              0, 0, 0.1, NULL, &bin)
 * in less time.
 *
 *   sh_prep_binarize   background-normalised, Otsu-thresholded by tiles
 *
 * Method.  Leptonica makes the background map (pixBackgroundNormGrayArray
 * with pixBackgroundNormSimple's parameters: tiles 10x15, foreground
 * below 60, 40 background pixels a tile, background to 200, map smoothed
 * 2x1) and splits each tile's histogram (numaSplitDistribution, score
 * fraction 0.1); the rest is done here row by row.  Leptonica's own
 * functions spent most of their time elsewhere: a pixGetPixel per map
 * tile, a copy of every Otsu tile (twice) and a float histogram counted
 * one pixel at a time (a page's binarisations: 1.9 s of the samples'
 * 5.7 s outside recognition).  Tiles as pixTilingCreate cuts them: nx =
 * w / sx tiles of w / nx pixels, the last one taking the rest.  The test
 * prep/binarize_same checks the bits against Leptonica's own functions.
 */
#include "prep.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* pixApplyInvBackgroundGrayMap(gray, map, sx, sy): each pixel times its
   tile's inverse map value / 256, at most 255; pixels past the map stay
   0.  Returns NULL when out of memory. */
static PIX *apply_inv_map(PIX *gray, PIX *map, int sx, int sy)
{
    int w = pixGetWidth(gray), h = pixGetHeight(gray);
    int wm = pixGetWidth(map), hm = pixGetHeight(map);
    PIX *d = pixCreateTemplate(gray);
    uint8_t *lut = malloc((size_t)wm * 256);
    if (!d || !lut) {
        pixDestroy(&d);
        free(lut);
        return NULL;
    }
    const l_uint32 *ds = pixGetData(gray);
    l_uint32 *dd = pixGetData(d);
    int wpls = pixGetWpl(gray), wpld = pixGetWpl(d);
    for (int i = 0; i < hm; i++) {
        for (int j = 0; j < wm; j++) {
            l_uint32 m = 0;
            pixGetPixel(map, j, i, &m);
            for (unsigned v = 0; v < 256; v++) {
                uint32_t o = (v * m) / 256;
                lut[(size_t)j * 256 + v] = (uint8_t)(o > 255 ? 255 : o);
            }
        }
        for (int k = 0; k < sy && i * sy + k < h; k++) {
            const l_uint32 *ls = ds + (size_t)(i * sy + k) * wpls;
            l_uint32 *ld = dd + (size_t)(i * sy + k) * wpld;
            int x = 0;
            for (int j = 0; j < wm && x < w; j++) {
                const uint8_t *t = lut + (size_t)j * 256;
                int end = x + sx < w ? x + sx : w;
                for (; x < end; x++)
                    SET_DATA_BYTE(ld, x, t[GET_DATA_BYTE(ls, x)]);
            }
        }
    }
    free(lut);
    return d;
}

/* pixBackgroundNormSimple(gray, NULL, NULL) for 8 bpp gray; NULL when no
   map could be made (Leptonica then returns a copy of gray). */
static PIX *background_norm(PIX *gray)
{
    enum { SX = 10, SY = 15 };
    PIX *inv = NULL;
    if (pixBackgroundNormGrayArray(gray, NULL, SX, SY, 60, 40, 200, 2, 1,
                                   &inv) != 0 || !inv) {
        pixDestroy(&inv);
        return NULL;
    }
    PIX *d = apply_inv_map(gray, inv, SX, SY);
    pixDestroy(&inv);
    if (d)
        pixCopyResolution(d, gray);
    return d;
}

/* pixOtsuAdaptiveThreshold(src, sx, sy, 0, 0, scorefract, NULL, &bin):
   a threshold per tile from its histogram, pixels below it black. */
static PIX *otsu_tiles(PIX *src, int sx, int sy, float scorefract)
{
    int w = pixGetWidth(src), h = pixGetHeight(src);
    int nx = w / sx > 1 ? w / sx : 1, ny = h / sy > 1 ? h / sy : 1;
    int wt = w / nx, ht = h / ny;
    PIX *d = pixCreate(w, h, 1);
    uint32_t *hist = calloc((size_t)nx * 4 * 256, sizeof *hist);
    int *thr = malloc((size_t)nx * sizeof *thr);
    if (!d || !hist || !thr) {
        pixDestroy(&d);
        free(hist);
        free(thr);
        return NULL;
    }
    pixCopyResolution(d, src);
    const l_uint32 *ds = pixGetData(src);
    l_uint32 *dd = pixGetData(d);
    int wpls = pixGetWpl(src), wpld = pixGetWpl(d);
    for (int i = 0; i < ny; i++) {
        int y0 = i * ht, y1 = i == ny - 1 ? h : y0 + ht;
        memset(hist, 0, (size_t)nx * 4 * 256 * sizeof *hist);
        for (int y = y0; y < y1; y++) {
            const l_uint32 *ls = ds + (size_t)y * wpls;
            for (int j = 0; j < nx; j++) {
                uint32_t *hj = hist + (size_t)j * 4 * 256;
                int x1 = j == nx - 1 ? w : (j + 1) * wt;
                /* four histograms: no chain of increments on one bin */
                for (int x = j * wt; x < x1; x++)
                    hj[(x & 3) * 256 + GET_DATA_BYTE(ls, x)]++;
            }
        }
        for (int j = 0; j < nx; j++) {
            const uint32_t *hj = hist + (size_t)j * 4 * 256;
            NUMA *na = numaCreate(256);
            l_int32 t = 0;
            l_float32 fg = 0, bg = 0;
            for (int v = 0; na && v < 256; v++)
                numaAddNumber(na, (l_float32)(hj[v] + hj[256 + v] +
                                              hj[512 + v] + hj[768 + v]));
            if (!na || numaSplitDistribution(na, scorefract, &t, &fg, &bg,
                                             NULL, NULL, NULL) != 0)
                t = 0;
            numaDestroy(&na);
            thr[j] = t & 0xff;      /* kept in an 8 bpp map by Leptonica */
        }
        for (int y = y0; y < y1; y++) {
            const l_uint32 *ls = ds + (size_t)y * wpls;
            l_uint32 *ld = dd + (size_t)y * wpld;
            for (int j = 0; j < nx; j++) {
                int t = thr[j], x1 = j == nx - 1 ? w : (j + 1) * wt;
                for (int x = j * wt; x < x1; x++)
                    if ((int)GET_DATA_BYTE(ls, x) < t)
                        SET_DATA_BIT(ld, x);
            }
        }
    }
    free(hist);
    free(thr);
    return d;
}

PIX *sh_prep_binarize(PIX *gray)
{
    if (!gray || pixGetDepth(gray) != 8 || pixGetColormap(gray))
        return NULL;
    PIX *norm = background_norm(gray);
    PIX *src = norm ? norm : gray;
    int w = pixGetWidth(src), h = pixGetHeight(src);
    int sx = w / 4 > 16 ? w / 4 : 16, sy = h / 4 > 16 ? h / 4 : 16;
    PIX *bin = otsu_tiles(src, sx, sy, 0.1f);
    pixDestroy(&norm);
    return bin;
}
