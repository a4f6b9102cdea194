/*
 * render.h — one page of a source scan drawn for display (render.c): the
 * page the OCR read, upright, cut out of its sheet and deskewed, at the
 * width a screen asks for, so that OCR pixels (word boxes) map onto it by
 * one factor.
 *
 * No Leptonica here: the web room includes this header and gets PNG bytes;
 * a caller that wants the pixels (a test, a review tool) includes
 * <leptonica/allheaders.h> itself and calls sh_prep_render.
 *
 * Functions:
 *   sh_prep_render      the page as a PIX
 *   sh_prep_render_png  the same, encoded as PNG
 */
#ifndef SH_RENDER_H
#define SH_RENDER_H

#include "geom.h"

struct Pix;   /* Leptonica's PIX */

/*
 * Render one page for display, as scanners/prep.c built its OCR image:
 *   path   the source file (TIFF, JPEG, PNG, image-only PDF)
 *   frame  0-based frame of that file
 *   g      the page's geometry as prep recorded it: the frame is turned by
 *          g->quarter clockwise quarter turns, scaled so that the upright
 *          sheet is g->full_w x g->full_h OCR px times width / g->reg_w,
 *          the page's region g->reg_* cut out, and deskewed by g->skew_deg
 *          about its centre (sh_prep_deskew)
 *   width  px wide, 16..4000; the height follows the aspect of the OCR
 *          image, so OCR px map to image px by width / reg_w
 *   out    the page: 8 bpp gray, or 32 bpp RGB for a colour scan (1 bpp
 *          is shown as gray so the reduction keeps strokes readable);
 *          pixDestroy it.  NULL on error.
 * Returns SH_OK, SH_EIO/SH_EINPUT/SH_ELIMIT (the file; err names it and
 * the frame), SH_EUSAGE (width out of 16..4000, region outside the sheet)
 * or SH_ENOMEM.
 * Notes: when g->full_w or g->reg_w is 0 (geometry from before regions),
 * the region is the whole sheet of g->ocr_w x g->ocr_h, or the frame's own
 * aspect when those are 0 too.  The scaling is Leptonica's pixScale (area
 * mapping and light sharpening on reduction), for the eye; prep's own
 * scaling for the OCR is not sharpened.
 */
int sh_prep_render(const char *path, int frame, const sh_geom *g, int width,
                   struct Pix **out, sh_err *err);

/*
 * sh_prep_render, encoded as PNG (8-bit gray, or RGB for a colour scan).
 *   *png  malloc'd bytes, caller frees; *n their count.  NULL / 0 on error.
 * Returns as sh_prep_render, or SH_ENOMEM when the encoding fails.
 */
int sh_prep_render_png(const char *path, int frame, const sh_geom *g,
                       int width, uint8_t **png, size_t *n, sh_err *err);

#endif
