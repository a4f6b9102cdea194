/*
 * predict.c — PNG and TIFF predictors, row by row (see predict.h).
 *
 *   sh_paeth               the Paeth predictor
 *   sh_png_unfilter_row    decode one PNG-filtered row
 *   sh_png_filter_row      encode one row with every PNG filter, pick one
 *   sh_tiff_unpredict_row  decode one row of TIFF predictor 2
 *
 * Method.  Straight from the PNG specification (filter types 0..4 over
 * bytes, bpp bytes to the left) and TIFF 6.0 section 14 (differences of
 * whole samples of 1..16 bits, packed most significant bit first).  The
 * functions keep no state: the caller keeps the row above and swaps rows.
 */
#include "predict.h"

#include <stdlib.h>

unsigned sh_paeth(unsigned a, unsigned b, unsigned c)
{
    int p = (int)a + (int)b - (int)c;
    int pa = abs(p - (int)a), pb = abs(p - (int)b), pc = abs(p - (int)c);
    return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

int sh_png_unfilter_row(unsigned type, const uint8_t *src,
                        const uint8_t *prev, uint8_t *cur, size_t n,
                        size_t bpp)
{
    if (type > 4)
        return -1;
    for (size_t i = 0; i < n; i++) {
        unsigned a = i >= bpp ? cur[i - bpp] : 0, b = prev[i],
                 c = i >= bpp ? prev[i - bpp] : 0, v = src[i];
        switch (type) {
        case 0: break;
        case 1: v += a; break;
        case 2: v += b; break;
        case 3: v += (a + b) / 2; break;
        default: v += sh_paeth(a, b, c); break;
        }
        cur[i] = (uint8_t)v;
    }
    return 0;
}

int sh_png_filter_row(const uint8_t *cur, const uint8_t *prev, size_t n,
                      size_t bpp, uint8_t *const cand[5])
{
    unsigned long cost[5] = {0};
    for (int f = 0; f < 5; f++)
        cand[f][0] = (uint8_t)f;
    for (size_t i = 0; i < n; i++) {
        int x = cur[i], b = prev[i];
        int a = i >= bpp ? cur[i - bpp] : 0;
        int c = i >= bpp ? prev[i - bpp] : 0;
        uint8_t v[5] = {(uint8_t)x, (uint8_t)(x - a), (uint8_t)(x - b),
                        (uint8_t)(x - ((a + b) >> 1)),
                        (uint8_t)(x - (int)sh_paeth((unsigned)a, (unsigned)b,
                                                    (unsigned)c))};
        for (int f = 0; f < 5; f++) {
            cand[f][i + 1] = v[f];
            cost[f] += (unsigned long)abs((int)(int8_t)v[f]);
        }
    }
    int best = 0;
    for (int f = 1; f < 5; f++)
        if (cost[f] < cost[best])
            best = f;
    return best;
}

static unsigned get_bits(const uint8_t *row, size_t i, int bpc)
{
    switch (bpc) {
    case 8: return row[i];
    case 16: return (unsigned)row[2 * i] << 8 | row[2 * i + 1];
    default: {
        size_t bit = i * (size_t)bpc;
        return (row[bit >> 3] >> (8 - bpc - (bit & 7))) & ((1u << bpc) - 1);
    }
    }
}

static void put_bits(uint8_t *row, size_t i, int bpc, unsigned v)
{
    switch (bpc) {
    case 8: row[i] = (uint8_t)v; break;
    case 16:
        row[2 * i] = (uint8_t)(v >> 8);
        row[2 * i + 1] = (uint8_t)v;
        break;
    default: {
        size_t bit = i * (size_t)bpc;
        unsigned sh = 8 - bpc - (bit & 7), m = ((1u << bpc) - 1) << sh;
        row[bit >> 3] = (uint8_t)((row[bit >> 3] & ~m) | ((v << sh) & m));
    }
    }
}

void sh_tiff_unpredict_row(uint8_t *row, int colors, size_t columns, int bpc)
{
    unsigned mask = bpc == 16 ? 0xffffu : (1u << bpc) - 1;
    size_t ns = (size_t)colors * columns;
    for (size_t i = (size_t)colors; i < ns; i++)
        put_bits(row, i, bpc,
                 (get_bits(row, i, bpc) + get_bits(row, i - colors, bpc)) &
                     mask);
}
