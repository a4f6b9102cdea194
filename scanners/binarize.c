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

/* The memory offset of pixel x's byte in an 8 bpp row (GET_DATA_BYTE). */
#ifdef L_BIG_ENDIAN
#define BYTE_ADDR(x) (x)
#else
#define BYTE_ADDR(x) ((x) ^ 3)
#endif

/* Row loop of apply_inv_map over the row's bytes in memory order: each
   byte times its multiplier / 256, at most 255 (vectorised by GCC). */
#if defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("tree-vectorize")))
#endif
static void scale_row(const uint8_t *restrict s, const uint16_t *restrict m,
                      uint8_t *restrict d, int n)
{
    for (int a = 0; a < n; a++) {
        uint32_t v = ((uint32_t)s[a] * m[a]) >> 8;
        d[a] = (uint8_t)(v > 255 ? 255 : v);
    }
}

/* pixApplyInvBackgroundGrayMap(gray, map, sx, sy): each pixel times its
   tile's inverse map value / 256, at most 255; pixels past the map stay
   0.  Returns NULL when out of memory. */
static PIX *apply_inv_map(PIX *gray, PIX *map, int sx, int sy)
{
    int w = pixGetWidth(gray), h = pixGetHeight(gray);
    int wm = pixGetWidth(map), hm = pixGetHeight(map);
    PIX *d = pixCreateTemplate(gray);
    int wpls = pixGetWpl(gray), wpld = d ? pixGetWpl(d) : 0;
    /* the multiplier of each byte of a row, in memory order; bytes past
       the map's last tile (and the row's padding) get 0 */
    uint16_t *mult = calloc((size_t)wpls * 4, sizeof *mult);
    if (!d || !mult || wpld != wpls) {
        pixDestroy(&d);
        free(mult);
        return NULL;
    }
    const l_uint32 *ds = pixGetData(gray);
    l_uint32 *dd = pixGetData(d);
    int xmax = wm * sx < w ? wm * sx : w;
    for (int i = 0; i < hm; i++) {
        for (int x = 0; x < xmax; x++) {
            l_uint32 m = 0;
            if (x % sx == 0 || x == 0)
                pixGetPixel(map, x / sx, i, &m);
            else
                m = mult[BYTE_ADDR(x - 1)];
            mult[BYTE_ADDR(x)] = (uint16_t)m;
        }
        for (int k = 0; k < sy && i * sy + k < h; k++) {
            const uint8_t *s8 =
                (const uint8_t *)(ds + (size_t)(i * sy + k) * wpls);
            uint8_t *d8 = (uint8_t *)(dd + (size_t)(i * sy + k) * wpld);
            scale_row(s8, mult, d8, wpls * 4);
        }
    }
    free(mult);
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
            const uint8_t *s8 = (const uint8_t *)(ds + (size_t)y * wpls);
            for (int j = 0; j < nx; j++) {
                uint32_t *h0 = hist + (size_t)j * 4 * 256, *h1 = h0 + 256,
                         *h2 = h1 + 256, *h3 = h2 + 256;
                int x = j * wt, x1 = j == nx - 1 ? w : (j + 1) * wt;
                /* four histograms: no chain of increments on one bin */
                for (; x + 4 <= x1; x += 4) {
                    h0[s8[BYTE_ADDR(x)]]++;
                    h1[s8[BYTE_ADDR(x + 1)]]++;
                    h2[s8[BYTE_ADDR(x + 2)]]++;
                    h3[s8[BYTE_ADDR(x + 3)]]++;
                }
                for (; x < x1; x++)
                    h0[s8[BYTE_ADDR(x)]]++;
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
            const uint8_t *s8 = (const uint8_t *)(ds + (size_t)y * wpls);
            l_uint32 *ld = dd + (size_t)y * wpld;
            /* 32 pixels a word, most significant bit first */
            int j = 0, t = thr[0], next = nx > 1 ? wt : w;
            for (int x0 = 0; x0 < w; x0 += 32) {
                int n = w - x0 < 32 ? w - x0 : 32;
                uint32_t word = 0;
                if (x0 + n <= next) {       /* one tile: the common case */
                    for (int b = 0; b < n; b++)
                        word |= (uint32_t)(s8[BYTE_ADDR(x0 + b)] < t)
                                << (31 - b);
                } else {
                    for (int b = 0; b < n; b++) {
                        int x = x0 + b;
                        while (x >= next) {
                            j++;
                            t = thr[j];
                            next = j == nx - 1 ? w : (j + 1) * wt;
                        }
                        word |= (uint32_t)(s8[BYTE_ADDR(x)] < t) << (31 - b);
                    }
                }
                ld[x0 / 32] = word;
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
