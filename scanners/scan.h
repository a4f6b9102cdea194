/*
 * scan.h — read what scanners produce: one source file (TIFF, JPEG, PNG,
 * or a PDF: scanned pages, or born-digital ones, rendered), counted in
 * frames (pages), each frame decoded into a Leptonica PIX.
 *
 * Limits are checked from the header before any pixel is decoded (see
 * sh_scan_limits): a decompression bomb is refused in well under a second
 * with bounded memory.  Original files are only ever opened read-only.
 *
 * Functions:
 *   sh_scan_open      open a file, sniff its format by magic bytes
 *   sh_scan_frames    number of frames (pages) in the file
 *   sh_scan_read      decode one frame into an sh_frame
 *   sh_scan_read_gray ... colour frames as 8 bpp gray (for OCR)
 *   sh_scan_rows_*    a colour TIFF frame's rows, from the file
 *   sh_frame_release  free what a frame holds
 *   sh_scan_close     close the file
 */
#ifndef SH_SCAN_H
#define SH_SCAN_H

#include "../base/common.h"
#include <leptonica/allheaders.h>

/* A field <= 0 means "the default". */
typedef struct sh_scan_limits {
    int64_t max_file_bytes;   /* default 2 GiB                           */
    int64_t max_pixels;       /* w*h per frame; default 250 Mpx          */
    int max_side;             /* px per side; default 60000              */
    int max_frames;           /* frames per file; default 5000           */
} sh_scan_limits;

/* Fill lim with the defaults above. */
void sh_scan_limits_default(sh_scan_limits *lim);

enum sh_format {
    SH_FMT_UNKNOWN = 0, SH_FMT_TIFF, SH_FMT_JPEG, SH_FMT_PNG, SH_FMT_PDF
};

typedef struct sh_frame {
    PIX *pix;          /* decoded pixels as stored (tag orientation NOT
                          applied): 1 bpp, 8 bpp gray or 32 bpp RGB; never
                          colormapped (colormaps are removed)           */
    int xres, yres;    /* pixels per inch (also set on pix); 300 when the
                          file says none                                 */
    int dpi_assumed;   /* 1 if the file carried no usable resolution:
                          none, unit-less, outside 30..5000, or under
                          100 ppi with a page over 50 inches (the 72/96
                          that cameras and screen tools write)          */
    int tag_rot;       /* clockwise degrees (0/90/180/270) to turn the
                          stored pixels upright per TIFF Orientation tag or
                          JPEG EXIF orientation; 0 when absent.  PDF: as
                          the page shows the image (the matrix drawing it,
                          then the page's /Rotate)                        */
    int tag_mirror;    /* 1 if the tag also asks for a mirror (ignored,
                          reported): after tag_rot a left-right mirror
                          image remains (tags 2, 4, 5, 7; PDF: a matrix
                          that mirrors the image)                       */
    const char *codec; /* static string: "g4","g3","lzw","deflate",
                          "packbits","jpeg","none","png", ...  PDF: the
                          image stream's filter: "jpeg","g4","g3",
                          "deflate","lzw","runlength","none"; "rendered"
                          for a page that shows no scan (see
                          sh_scan_read)                                 */
    /* JPEG pass-through: for a standalone JPEG file with 1 (gray) or 3
       (YCbCr/RGB) components, the whole file's bytes, so the PDF can embed
       them unchanged.  NULL otherwise (CMYK, arithmetic coding, and RGB
       without an Adobe marker, which a PDF reader would take for YCbCr).
       PDF: the page's JPEG stream bytes, under the same rules, when the
       page is that one image with no /Decode or /ColorTransform that the
       bytes alone would not carry.  TIFF: a JPEG-coded frame (compression
       7) in one strip or one tile, the stream put back together with its
       JPEGTables, under the same rules with Photometric YCbCr or RGB as
       the colour transform (not for several strips).  Owned by the
       frame.                                                            */
    uint8_t *jpeg;
    size_t njpeg;
    int jpeg_components;
    /* PDF pages only (0 for other formats and for rendered pages, whose
       pixels show everything): what the page showed besides its image,
       none of which is carried into sohoa's PDF.                        */
    int had_text_layer;   /* the page shows text: usually the scanner's
                             own invisible OCR layer, replaced by ours   */
    int visible_text;     /* some of that text is visible (a certifying
                             stamp or watermark typed by software)       */
    int annotations;      /* annotations with an appearance (notes, stamps,
                             signature fields) on the page               */
    int dropped_images;   /* small images drawn over the scan (each under
                             2% of its area, together under 5%)          */
    int gray_of_colour;   /* sh_scan_read_gray only: 1 when the file holds
                             colour and pix is its 8 bpp gray (the
                             brightest channel); the colour pixels are
                             read again with sh_scan_rows_open           */
} sh_frame;

typedef struct sh_scan sh_scan;   /* opaque */

/*
 * Open path read-only and sniff its format by magic bytes (TIFF and
 * BigTIFF, JPEG, PNG, PDF; the name does not matter).
 *   lim   [optional] limits; NULL = defaults
 * Returns SH_OK, SH_EIO (cannot open/read), SH_EINPUT (not a supported
 * format, or header unreadable), SH_ELIMIT (file size or frame count over
 * the limit), SH_ENOMEM, SH_EUSAGE (NULL path/out).  err->msg names the
 * file.  *out is NULL on error.
 * Notes: JPEG and PNG files are read into memory here; TIFF is read as
 * frames are asked for.  A TIFF whose chain of directories is damaged or
 * loops keeps the frames before the damage (logged as a warning).
 * PDF (qpdf): the cross-reference table and page tree are read here (a
 * damaged file is repaired by qpdf as viewers do); a PDF encrypted with an
 * empty user password opens, one that needs a password is SH_EINPUT.
 */
int sh_scan_open(const char *path, const sh_scan_limits *lim, sh_scan **out,
                 sh_err *err);

/* Number of frames (>= 1).  TIFF: IFDs, counted with a loop guard.
   PDF: pages. */
int sh_scan_frames(const sh_scan *s);

enum sh_format sh_scan_format(const sh_scan *s);

/*
 * Decode frame n (0-based) into *f (zeroed first; released by caller with
 * sh_frame_release).  The frame's header (size, depth) is checked against
 * the limits before decoding.
 * Returns SH_OK, SH_EINPUT (does not decode; err names file and frame and
 * the decoder's reason), SH_ELIMIT (pixel count or side over limit),
 * SH_ENOMEM, SH_EUSAGE (n out of range, NULL s).  Messages read
 * "PATH: frame N of M: reason", frames counted from 1 for people.
 * On error f holds nothing (f->pix NULL).
 * Notes: data damage the decoders only warn about (JPEG "Premature end of
 * JPEG file", corrupt-data warnings; a fax strip ending early) is
 * SH_EINPUT, never a partly blank page.  A failed frame does not affect
 * the others.
 * PDF pages: the image the page draws is taken out without rendering:
 * JPEG (DCTDecode), CCITT G3/G4, and Flate/LZW/RunLength/ASCII-coded
 * pixels in gray, RGB, CMYK or indexed colour; strips of one width stacked
 * on the page are joined into one frame.  SH_EINPUT (message says why)
 * for JPEG 2000 images, several unrelated images, or an inline image;
 * SH_ELIMIT for an image over the limits, checked from its dictionary
 * before any data is decoded, or page content over 64 MiB.
 * A page that shows no scan -- no image covering half of the page, and
 * visible text, vector drawing or no image at all: a born-digital page
 * -- is rendered as a viewer shows it (poppler, /Rotate applied) at 300
 * dpi into 8 bpp gray, codec "rendered", xres/yres 300, tag_rot 0;
 * SH_ELIMIT when that size, or an image the page draws, is over the
 * limits.  Messages read "PATH: page N of M: reason".
 * Not thread-safe on one sh_scan; separate sh_scans may be used from
 * separate threads.
 */
int sh_scan_read(sh_scan *s, int n, sh_frame *f, sh_err *err);

/*
 * As sh_scan_read, but a colour frame comes as 8 bpp gray, each pixel the
 * brightest of its three channels (what prep reads: red seals fade into
 * the paper), and f->gray_of_colour is set.  TIFF strips and tiles and
 * JPEG are converted row by row as they are decoded, so no 32 bpp frame
 * is ever held (an A3 600 dpi colour sheet: 70 MB instead of 278 MB);
 * other colour sources are decoded, then converted.  f->jpeg (JPEG
 * pass-through) is set as by sh_scan_read.
 */
int sh_scan_read_gray(sh_scan *s, int n, sh_frame *f, sh_err *err);

/*
 * The colour pixels of a frame, row by row, from the file (the archived
 * image of a frame read with sh_scan_read_gray, encoded without a 32 bpp
 * frame in memory).  Only TIFF frames in RGB or colour palette, strips or
 * tiles, not JPEG-coded; s must not be used for anything else until
 * sh_scan_rows_close (use an sh_scan of its own: one per thread).
 *   open   *w, *h: the frame's size; rows come as R G B bytes
 *   next   fills row (3 * w bytes) with the next row, top to bottom
 * Returns SH_OK; open: SH_EUSAGE when the frame is not such a frame (read
 * it with sh_scan_read instead), SH_EINPUT, SH_ENOMEM; next: SH_EINPUT
 * (data damage, err names file, frame and row), SH_EUSAGE past the end.
 */
typedef struct sh_scan_rows sh_scan_rows;

/*
 * While sh_scan_read_gray decodes a colour frame that sh_scan_rows_open
 * would give rows of (TIFF RGB, 8 bits, strips or tiles), hand each RGB
 * row to fn as well, top to bottom (y = 0 .. h - 1, rgb: 3 * w bytes), so
 * that the archived colour image is coded from the one decoding
 * (pipeline/worker.c).  fn returning nonzero stops the hand-over for the
 * rest of the frame, not the read.  Other frames never call fn.  fn NULL:
 * no hand-over.
 */
typedef int (*sh_scan_tee_fn)(void *ctx, int y, int w, int h,
                              const uint8_t *rgb);
void sh_scan_set_tee(sh_scan *s, sh_scan_tee_fn fn, void *ctx);
int sh_scan_rows_open(sh_scan *s, int n, sh_scan_rows **out, int *w, int *h,
                      sh_err *err);
int sh_scan_rows_next(sh_scan_rows *r, uint8_t *row, sh_err *err);
void sh_scan_rows_close(sh_scan_rows **r);

void sh_frame_release(sh_frame *f);

/* A frame whose file gave no resolution (dpi_assumed): 300 dpi is kept
   unless that makes the sheet smaller than A6 (a downscaled copy or a
   photo); then the sheet is taken to be A4 (long side 11.69 in, at least
   30 dpi), which gets small text upscaled for OCR and gives the PDF page
   a plausible size.  Sets xres/yres; returns the dpi guessed, or 0 when
   the frame is left as it was. */
int sh_frame_guess_dpi(sh_frame *f);
void sh_scan_close(sh_scan **s);

/* Lower-case extension test used when listing a dossier folder:
   1 if name looks like a scanner file we read (.tif .tiff .jpg .jpeg .png
   .pdf, any case), else 0.  Hidden names (".x.tif", macOS "._x.tif")
   give 0. */
int sh_scan_is_candidate(const char *name);

#endif
