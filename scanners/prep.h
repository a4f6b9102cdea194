/*
 * prep.h — turn a decoded frame into the image Tesseract reads, and record
 * the geometry that maps that image back onto the archived original.
 *
 * Method: gray → scaled for OCR by the size of its text (small sharp text
 * magnified up to x2, large text reduced; the file's dpi when the text
 * cannot be measured) → orientation by Tesseract's osd
 * model (through a callback, so this module does not own an engine) →
 * skew by Leptonica (pixFindSkew) and rotation about the centre → background
 * normalisation and binarisation.  The archived PDF keeps the original
 * pixels; only the PDF transformation matrix carries rotation and skew.
 */
#ifndef SH_PREP_H
#define SH_PREP_H

#include "scan.h"

#include "geom.h"

/* Orientation callback: given an upright-candidate 1 bpp or 8 bpp image at
   ocr_dpi, report clockwise degrees (0/90/180/270) it must be turned to be
   upright and a confidence.  Return 0 on success, nonzero when no
   decision could be made (prep then keeps 0 and records conf 0). */
typedef int (*sh_orient_fn)(void *ctx, PIX *pix, int dpi, int *deg,
                            float *conf);

typedef struct sh_prep_opts {
    double ocr_dpi;         /* target OCR dpi; 0 = by the text's size
                               (x-height), else the file's dpi if within
                               150..400, else 300                          */
    int no_text_scale;      /* 1: scale by the file's dpi only (the rule
                               above without the text's size)              */
    int no_orient;          /* 1: skip orientation detection               */
    int no_deskew;          /* 1: skip deskew                              */
    int no_split;           /* 1: never split a two-up sheet               */
    int no_clean;           /* 1: no border/mark/blank analysis            */
    int ocr_binary;         /* 1: give Tesseract our binarised image
                               instead of the gray one (gray reads better:
                               CER 0.58 % vs 0.77 % on 7 corpus pages,
                               ~18 % slower)                               */
    /* A clerk's decision (review station) over what prep would detect;
       0 = detect as usual: */
    int force_quarter;      /* 1..4: total clockwise quarter turns + 1     */
    int force_split;        /* -1: one page; 1..999: two pages cut at that
                               per-mille of the upright sheet's width      */
    int force_blank;        /* 1: blank; -1: not blank                     */
    sh_orient_fn orient;    /* [optional] orientation detector             */
    void *orient_ctx;
} sh_prep_opts;

typedef struct sh_prepped {
    PIX *ocr;      /* the image for Tesseract: 8 bpp gray (1 bpp with
                      ocr_binary),
                      upright, deskewed, at geom.ocr_dpi                   */
    sh_geom geom;
    double text_px;   /* x-height of the text in ocr px; 0 = not measured */
    int soft;         /* 1: small blurred text (read as it is; threshold
                         it locally)                                       */
    double t_orient, t_deskew, t_other;  /* seconds spent, for make bench */
} sh_prepped;

/*
 * Prepare frame f for OCR: one sheet gives one page, or two pages (left,
 * then right) when it is a two-up sheet.  f is not modified.
 *   out   two slots; *nout of them are filled (release each)
 * Returns SH_OK, SH_ENOMEM, SH_EINPUT (a Leptonica step failed).
 */
int sh_prep_sheet(const sh_frame *f, const sh_prep_opts *o,
                  sh_prepped out[2], int *nout, sh_err *err);
/* The same, never splitting: exactly one page. */
int sh_prep_page(const sh_frame *f, const sh_prep_opts *o, sh_prepped *out,
                 sh_err *err);
void sh_prepped_release(sh_prepped *p);

/*
 * Deskew: pix rotated about its centre by skew_deg (sh_geom.skew_deg:
 * counter-clockwise positive, as pixFindSkew reports it), area mapping,
 * white brought in, same size — the one rotation prep applies to the OCR
 * image and the web's page render (scanners/render.c) applies to what it
 * shows.  pix: 8 bpp gray or 32 bpp RGB.
 * Returns a new PIX (a clone when skew_deg is 0), or NULL on failure
 * (pix NULL, out of memory).
 */
PIX *sh_prep_deskew(PIX *pix, double skew_deg);
/* The analysis binary of an 8 bpp gray page (binarize.c): background
   normalised, then Otsu by tiles of a quarter of the page a side; the
   bits of Leptonica's pixBackgroundNormSimple + pixOtsuAdaptiveThreshold,
   faster.  NULL on failure. */
PIX *sh_prep_binarize(PIX *gray);

/*
 * PDF placement: the matrix [a b c d e f] (PDF "cm") that draws the
 * original stored image (the unit square of an image XObject) onto the
 * page described by g: turned by g->quarter, the region reg_* moved to the
 * page's origin, rotated about the page centre by -skew_deg.  What falls
 * outside the page (the other half of a two-up sheet) is clipped by the
 * page's MediaBox.
 */
void sh_geom_image_matrix(const sh_geom *g, double m[6]);

/* OCR image px → PDF points: x_pt = x*k, y_pt = page_h_pt - y*k, k = 72/dpi */
double sh_geom_pt_per_px(const sh_geom *g);

#endif
