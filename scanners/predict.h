/*
 * predict.h — the PNG and TIFF predictors, one row at a time: undone when
 * scanners/pdfin_filter.c reads a Flate or LZW stream of a scanner PDF
 * (/Predictor 2, 10..15), applied when ocr/pdf_image.c writes a Flate
 * image (/Predictor 15).
 *
 *   sh_paeth               the PNG Paeth predictor of one sample
 *   sh_png_unfilter_row    undo PNG filter 0..4 on one row
 *   sh_png_filter_row      all five PNG filters of a row; the best one
 *   sh_tiff_unpredict_row  undo TIFF predictor 2 (horizontal differencing)
 */
#ifndef SH_PREDICT_H
#define SH_PREDICT_H

#include <stddef.h>
#include <stdint.h>

/* The PNG Paeth predictor: of a (left), b (above), c (above left), the
   one nearest to a + b - c, ties going to a, then b.  Samples 0..255. */
unsigned sh_paeth(unsigned a, unsigned b, unsigned c);

/*
 * Undo PNG filter `type` (0 None, 1 Sub, 2 Up, 3 Average, 4 Paeth) on one
 * row of n bytes: cur[i] from the filtered src[i], the decoded cur[i-bpp]
 * to the left (0 in the first bpp bytes) and prev[i], the decoded row
 * above (all 0 for the first row).  bpp: bytes per pixel, at least 1.
 * Returns 0, or -1 for another type (cur then untouched).  cur must not
 * overlap src or prev.
 */
int sh_png_unfilter_row(unsigned type, const uint8_t *src,
                        const uint8_t *prev, uint8_t *cur, size_t n,
                        size_t bpp);

/*
 * Filter the row cur[0..n) (row above: prev, all 0 for the first row)
 * with each PNG filter f = 0..4 into cand[f][0..n]: cand[f][0] = f, then
 * the n filtered bytes.  Returns the filter whose bytes, read as signed,
 * have the least sum of absolute values (the usual choice; the lowest f
 * among equals).
 */
int sh_png_filter_row(const uint8_t *cur, const uint8_t *prev, size_t n,
                      size_t bpp, uint8_t *const cand[5]);

/*
 * Undo TIFF predictor 2 in place on one row of `columns` pixels of
 * `colors` samples of bpc bits (1, 2, 4, 8 or 16; 16-bit samples big-
 * endian, as in PDF): each sample plus the same sample of the pixel to
 * its left, modulo 2^bpc.
 */
void sh_tiff_unpredict_row(uint8_t *row, int colors, size_t columns,
                           int bpc);

#endif
