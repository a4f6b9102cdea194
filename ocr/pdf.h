/*
 * pdf.h — the searchable PDF writer.
 *
 * Each page is the archived image with an invisible text layer (render
 * mode 3) in a glyph-less font whose ToUnicode map gives the Vietnamese
 * text back, one word at a time, stretched (Tz) over the word's box so a
 * viewer's search highlights the word on the image.
 *
 * Images are never recompressed when the source allows: a JPEG is embedded
 * byte for byte (DCTDecode); 1 bpp goes in as CCITT G4; other pixels
 * (gray/RGB from TIFF LZW, PNG, ...) go in losslessly with Flate.  Turning
 * and deskew are carried by the page's transformation matrix, not by
 * resampling pixels.
 *
 * The writer is streaming: pages are written as they are added; the file
 * appears under its final name only at sh_pdf_commit (temp file, fsync,
 * rename, fsync of the folder).
 *
 * Functions:
 *   sh_pdf_image_from_pix / sh_pdf_image_from_jpeg / sh_pdf_image_release
 *   sh_pdf_image_save / sh_pdf_image_load   (worker → assembler hand-off)
 *   sh_pdf_open / sh_pdf_add_page / sh_pdf_commit / sh_pdf_abort
 */
#ifndef SH_PDF_H
#define SH_PDF_H

#include "../pipeline/common.h"
#include "ocr.h"
#include <leptonica/allheaders.h>

enum sh_pdf_filter { SH_PDF_DCT = 1, SH_PDF_CCITT_G4, SH_PDF_FLATE };

/* One encoded image XObject, ready to embed. */
typedef struct sh_pdf_image {
    int filter;          /* enum sh_pdf_filter                             */
    int w, h;            /* pixels                                         */
    int bpc;             /* bits per component: 1 or 8                     */
    int ncomp;           /* 1 = DeviceGray, 3 = DeviceRGB                  */
    int black_is_1;      /* CCITT only: 1 if a set bit is black            */
    uint8_t *data;       /* the stream bytes (owned)                       */
    size_t n;
} sh_pdf_image;

/* Encode pix: 1 bpp → CCITT G4; 8 bpp → Flate gray; 32 bpp → Flate RGB.
   Colormapped input is expanded first. */
int sh_pdf_image_from_pix(PIX *pix, sh_pdf_image *out, sh_err *err);
/* Wrap JPEG file bytes (copied) for pass-through; w/h/ncomp from the
   JPEG header.  SH_EINPUT if not a baseline/progressive JPEG with 1 or 3
   components. */
int sh_pdf_image_from_jpeg(const uint8_t *jpeg, size_t n, sh_pdf_image *out,
                           sh_err *err);
void sh_pdf_image_release(sh_pdf_image *img);

/* Save/load an encoded image to a file (atomic write) so a worker process
   can hand it to the PDF assembler. */
int sh_pdf_image_save(const sh_pdf_image *img, const char *path, sh_err *err);
int sh_pdf_image_load(const char *path, sh_pdf_image *out, sh_err *err);

/* One page to add. */
typedef struct sh_pdf_page {
    double w_pt, h_pt;           /* MediaBox                               */
    const sh_pdf_image *img;     /* [optional] NULL = text only            */
    double img_matrix[6];        /* cm for the image unit square           */
    const sh_words *words;       /* [optional] text layer                  */
    double pt_per_px;            /* word boxes px → pt: x*k, h_pt - y*k     */
} sh_pdf_page;

typedef struct sh_pdf sh_pdf;    /* opaque */

/*
 * Start a PDF that will be committed to final_path.
 *   title [optional] document title (UTF-8) for the Info dictionary
 */
int sh_pdf_open(const char *final_path, const char *title, sh_pdf **out,
                sh_err *err);
int sh_pdf_add_page(sh_pdf *p, const sh_pdf_page *pg, sh_err *err);
/* Finish (xref, trailer), fsync, rename to final_path, fsync the folder;
   frees p.  On error nothing is left under final_path's name that was not
   there before. */
int sh_pdf_commit(sh_pdf **p, sh_err *err);
/* Drop the temp file and free p. */
void sh_pdf_abort(sh_pdf **p);

#endif
