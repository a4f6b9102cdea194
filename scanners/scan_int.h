/*
 * scan_int.h — what the readers of the scanners module share: scan.c
 * (open, dispatch, the common rules) and one file per format, tiff.c,
 * jpeg.c, png.c and pdfin*.c.  Not for other modules: they use scan.h.
 *
 *   struct sh_scan           the open source file (all formats)
 *   sh__frame_err            "PATH: frame|page N of M: reason" into err
 *   sh__check_size           frame size against the limits, before decoding
 *   sh__res_ok, sh__set_res  resolution (ppi) with the plausibility rules
 *   sh__set_orientation      TIFF/EXIF Orientation into tag_rot/tag_mirror
 *   sh__rgb_word             one Leptonica 32 bpp pixel
 *   sh__clear_pad_bits       zero the bits past the width of a 1 bpp pix
 *   sh__tiff_open/read       the TIFF reader (tiff.c)
 *   sh__tiff_jpeg_read       a one-strip JPEG TIFF frame as its JPEG
 *                            stream (tiff_jpeg.c)
 *   sh__tiff_set_handlers    libtiff's process-wide handlers (tiff.c)
 *   sh__tiff_msg_*           capture libtiff messages for one scan
 *   sh__jpeg_read            the JPEG reader (jpeg.c)
 *   sh__jpeg_decode_mem      jpeg.c's decoder over bytes in memory
 *   sh__png_read             the PNG reader (png.c)
 *   sh__pdf_open/read/close  the PDF source (pdfin.c)
 */
#ifndef SH_SCAN_INT_H
#define SH_SCAN_INT_H

#include "scan.h"

#include <stdarg.h>
#include <tiffio.h>

struct sh_pdfin;   /* pdfin.c */

struct sh_scan {
    char *path;
    enum sh_format fmt;
    sh_scan_limits lim;
    int nframes;
    int fd;
    int64_t size;
    /* JPEG, PNG: the whole file */
    uint8_t *data;
    size_t ndata;
    /* TIFF */
    TIFF *tif;
    uint64_t tpos;      /* file position for the libtiff callbacks */
    char tmsg[512];     /* first libtiff error since sh__tiff_msg_reset */
    /* PDF */
    struct sh_pdfin *pdf;
    int want_gray;      /* sh_scan_read_gray: colour decoded as 8 bpp */
    sh_scan_tee_fn tee; /* sh_scan_set_tee: RGB rows handed on as read */
    void *tee_ctx;
};

/* Fill err with rc and "PATH: frame N of M: " + message (PDF: "page N of
   M: "); frames counted from 1.  Returns rc. */
int sh__frame_err(const sh_scan *s, int n, sh_err *err, int rc,
                  const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* SH_OK, or SH_EINPUT (zero size) / SH_ELIMIT (a side or the pixel count
   over the limits of s), with the message filled. */
int sh__check_size(const sh_scan *s, int n, uint64_t w, uint64_t h,
                   sh_err *err);

/* Set f->xres/yres/dpi_assumed from resolutions in ppi (<= 0: none) for a
   w x h frame: outside 30..5000, or under 100 with a page over 50 inches,
   is not trusted (300 and dpi_assumed = 1). */
void sh__set_res(sh_frame *f, double xr, double yr, uint32_t w, uint32_t h);

/* 1 if res (ppi) is usable for a side of `side` pixels by the rules of
   sh__set_res, else 0 (also for NaN and infinities). */
int sh__res_ok(double res, uint32_t side);

/* TIFF/EXIF Orientation o (1..8; anything else is 1) into f->tag_rot
   (clockwise turn to upright) and f->tag_mirror (a left-right mirror
   image remains after the turn: 2, 4, 5, 7). */
void sh__set_orientation(sh_frame *f, int o);

/* A Leptonica 32 bpp RGB pixel from samples 0..255. */
static inline uint32_t sh__rgb_word(unsigned r, unsigned g, unsigned b)
{
    return ((uint32_t)r << L_RED_SHIFT) | ((uint32_t)g << L_GREEN_SHIFT) |
           ((uint32_t)b << L_BLUE_SHIFT);
}

/* The brightest of three samples: prep's gray of a colour scan. */
static inline unsigned sh__max3(unsigned r, unsigned g, unsigned b)
{
    unsigned m = r > g ? r : g;
    return m > b ? m : b;
}

/* Clear the bits past the width in each row of a 1 bpp pix. */
void sh__clear_pad_bits(PIX *pix);

/* tiff.c.  open: libtiff over s->fd (s->path, s->size, s->lim set),
   s->tif and s->nframes set; errors as sh_scan_open (SH_EINPUT for no
   readable directory, SH_ELIMIT for too many frames).  read: as
   sh_scan_read for frame n (f zeroed by the caller).  set_handlers:
   libtiff's process-wide error and warning handlers, once per process
   (scan.c), so that messages outside a handle reach the scan on this
   thread or the log. */
int sh__tiff_open(sh_scan *s, sh_err *err);
int sh__tiff_read(sh_scan *s, int n, sh_frame *f, sh_err *err);
void sh__tiff_set_handlers(void);

/* tiff_jpeg.c: frame n of s (its directory current, Compression JPEG, 8
   bits, w x h, spp 1 with Photometric MinIsBlack or 3 with YCbCr or RGB)
   decoded from its one strip or tile as a complete JPEG stream (the
   JPEGTables merged in), f->pix set as sh__tiff_read would, f->jpeg when
   the bytes mean the same alone (scan.h).  *done = 1 then; *done = 0 and
   f untouched when the frame is not such a frame (several strips, a
   stream that does not match the directory): decode it with libtiff.
   Returns SH_OK, SH_EINPUT (the strip does not read, or the stream does
   not decode: err names file and frame), SH_ELIMIT, SH_ENOMEM. */
int sh__tiff_jpeg_read(sh_scan *s, int n, uint32_t w, uint32_t h, int spp,
                       int photo, sh_frame *f, int *done, sh_err *err);

/* libtiff messages while decoding for s: reset before the libtiff calls
   (also routes the process-wide handlers to s on this thread), read the
   first error or damage warning with sh__tiff_msg (fallback when none; "" 
   tested by s->tmsg[0]), and end with sh__tiff_msg_done.  The two handlers
   are for TIFFOpenOptionsSet{Error,Warning}HandlerExtR with s as data. */
void sh__tiff_msg_reset(sh_scan *s);
const char *sh__tiff_msg(sh_scan *s, const char *fallback);
void sh__tiff_msg_done(void);
int sh__tiff_handle_error(TIFF *tif, void *ud, const char *module,
                          const char *fmt, va_list ap);
int sh__tiff_handle_warning(TIFF *tif, void *ud, const char *module,
                            const char *fmt, va_list ap);

/* How a JPEG inside a PDF is to be read (PDF rules, not JPEG-file ones);
   also a TIFF's JPEG strip (tiff_jpeg.c), whose Photometric is given as
   the colour transform. */
typedef struct sh__jpeg_pdf {
    int color_transform;   /* /ColorTransform: -1 absent, 0 or 1          */
    int cmyk_lightness;    /* 4 components hold 255 = no ink (the image's
                              /Decode is [1 0 1 0 1 0 1 0])                */
    int want_pass;         /* offer the bytes for pass-through if the PDF
                              writer can embed them as they are            */
    int from_tiff;         /* a TIFF strip: colour may come as gray for
                              sh_scan_read_gray, and no pass-through of 3
                              components with ids 'R','G','B' and no Adobe
                              marker (pdf.js, libjpeg take them for RGB) */
} sh__jpeg_pdf;

/*
 * Decode JPEG bytes data[0..n) into f (f->pix, f->codec = "jpeg", and, when
 * the rules of scan.h allow, f->jpeg/njpeg = a copy of the bytes).
 *   pdf  NULL: a JPEG file: JFIF/EXIF resolution and EXIF orientation are
 *        read into f.  Else: a PDF image stream: resolution and orientation
 *        are left to the caller (PDF ignores JFIF/EXIF), 3 components
 *        without an Adobe marker are YCbCr as PDF says, /ColorTransform and
 *        the CMYK sense follow *pdf, and pass-through is offered only when
 *        pdf->want_pass and a reader of the re-embedded bytes (without
 *        /ColorTransform or /Decode) sees the same colours.
 * Returns SH_OK, SH_EINPUT, SH_ELIMIT (header size over the limits of s),
 * SH_ENOMEM; messages name the file and frame n.  On error f->pix and
 * f->jpeg are NULL.
 */
int sh__jpeg_decode_mem(sh_scan *s, int n, const uint8_t *data, size_t ndata,
                        const sh__jpeg_pdf *pdf, sh_frame *f, sh_err *err);

/* jpeg.c, png.c: as sh_scan_read for the one frame of a JPEG or PNG file
   whose bytes are s->data[0..s->ndata) (f zeroed by the caller). */
int sh__jpeg_read(sh_scan *s, int n, sh_frame *f, sh_err *err);
int sh__png_read(sh_scan *s, int n, sh_frame *f, sh_err *err);

/* pdfin.c.  open: s->path checked as a PDF (qpdf), s->pdf and s->nframes
   set; errors as sh_scan_open.  read: as sh_scan_read for page n (f is
   zeroed by the caller).  close: frees s->pdf; accepts none. */
int sh__pdf_open(sh_scan *s, sh_err *err);
int sh__pdf_read(sh_scan *s, int n, sh_frame *f, sh_err *err);
void sh__pdf_close(sh_scan *s);

#endif
