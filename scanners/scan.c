/*
 * scan.c — read scanner files (TIFF, JPEG, PNG, PDF) frame by frame into
 * PIXes: open, sniff the format, dispatch to the reader of that format,
 * check what it returns; plus the rules every reader shares.
 *
 *   sh_scan_limits_default  the default limits
 *   sh_scan_open            open read-only, sniff magic bytes, count frames
 *   sh_scan_frames          number of frames
 *   sh_scan_format          detected format
 *   sh_scan_read            check one frame's header, then decode it
 *   sh_scan_read_gray       ... colour frames as 8 bpp gray (max channel)
 *   sh_frame_guess_dpi      a resolution for a frame that carried none
 *   sh_frame_release        free a frame's pixels and JPEG bytes
 *   sh_scan_close           close the file
 *   sh_scan_is_candidate    file-name filter for dossier listings
 *   sh__frame_err, sh__check_size, sh__res_ok, sh__set_res,
 *   sh__set_orientation, sh__clear_pad_bits
 *                           (scan_int.h) shared by the readers
 *
 * Method.  The format is decided by the first bytes of the file, never by
 * its name, and each format has its own file: tiff.c (libtiff), jpeg.c
 * (libjpeg-turbo, with the EXIF block), png.c (libpng), pdfin.c (scanner
 * PDFs through qpdf).  Every format is decoded with its reference library
 * called directly, not through Leptonica's readers, so that (1) the size
 * in the header is checked against sh_scan_limits before any pixel buffer
 * exists (sh__check_size), (2) every error and every data-corruption
 * warning of the decoder becomes an SH_EINPUT whose message names the
 * file, the frame and the decoder's reason (sh__frame_err), instead of
 * text on stderr and a silently grey page, and (3) the pixel conventions
 * are ours: Leptonica's 1 bpp (1 = black, whatever the file's
 * photometric), 8 bpp gray or 32 bpp RGB, never a colormap, alpha
 * composited on white, 16-bit samples reduced to 8; sh_scan_read checks
 * that whatever the reader returned keeps them.  JPEG and PNG files are
 * read whole into memory at open; TIFF and PDF are read as needed.
 *
 * Resolutions outside 30..5000 ppi are not trusted, nor is a resolution
 * under 100 ppi that would make the page longer than 50 inches (the 72 or
 * 96 "dpi" that cameras and screen tools write): such frames get 300 ppi
 * and dpi_assumed = 1.
 */
#include "scan_int.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_DPI 300
#define DPI_MIN 30.0
#define DPI_MAX 5000.0
/* below this many ppi a resolution must also give a plausible page size */
#define DPI_SUSPECT 100.0
#define PAGE_MAX_INCHES 50.0

/* ------------------------------------------------------------------ */
/* shared helpers                                                      */
/* ------------------------------------------------------------------ */

void sh_scan_limits_default(sh_scan_limits *lim)
{
    if (!lim)
        return;
    lim->max_file_bytes = (int64_t)2 << 30;
    lim->max_pixels = 250000000;
    lim->max_side = 60000;
    lim->max_frames = 5000;
}

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static void init_libs(void)
{
    /* our messages replace Leptonica's and libtiff's stderr output */
    setMsgSeverity(L_SEVERITY_NONE);
    sh__tiff_set_handlers();
}

/* "PATH: frame N of M: " + message; frames are counted from 1.  A PDF's
   frames are its pages, and are called so. */
int sh__frame_err(const sh_scan *s, int n, sh_err *err, int rc,
                  const char *fmt, ...)
{
    char text[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    return sh_errf(err, rc, "%s: %s %d of %d: %s", s->path,
                   s->fmt == SH_FMT_PDF ? "page" : "frame", n + 1,
                   s->nframes, text);
}

/* Refuse a frame whose header claims more pixels than the limits. */
int sh__check_size(const sh_scan *s, int n, uint64_t w, uint64_t h,
                   sh_err *err)
{
    if (w == 0 || h == 0)
        return sh__frame_err(s, n, err, SH_EINPUT,
                             "image has zero size (%llu x %llu)",
                             (unsigned long long)w, (unsigned long long)h);
    if (w > (uint64_t)s->lim.max_side || h > (uint64_t)s->lim.max_side)
        return sh__frame_err(s, n, err, SH_ELIMIT,
                             "%llu x %llu pixels: a side exceeds the limit "
                             "of %d",
                             (unsigned long long)w, (unsigned long long)h,
                             s->lim.max_side);
    if (w * h > (uint64_t)s->lim.max_pixels)
        return sh__frame_err(s, n, err, SH_ELIMIT,
                             "%llu x %llu pixels (%.1f Mpx) exceeds the "
                             "limit of %.1f Mpx",
                             (unsigned long long)w, (unsigned long long)h,
                             (double)w * (double)h / 1e6,
                             (double)s->lim.max_pixels / 1e6);
    return SH_OK;
}

/* Is res (ppi) usable for a side of `side` pixels? */
int sh__res_ok(double res, uint32_t side)
{
    if (!isfinite(res) || res < DPI_MIN || res > DPI_MAX)
        return 0;
    if (res < DPI_SUSPECT && side / res > PAGE_MAX_INCHES)
        return 0;
    return 1;
}

/* Set f->xres/yres/dpi_assumed from resolutions in ppi (<= 0: none). */
void sh__set_res(sh_frame *f, double xr, double yr, uint32_t w, uint32_t h)
{
    int okx = xr > 0 && sh__res_ok(xr, w), oky = yr > 0 && sh__res_ok(yr, h);
    if (okx && !oky)
        yr = xr, oky = sh__res_ok(yr, h);
    else if (oky && !okx)
        xr = yr, okx = sh__res_ok(xr, w);
    if (okx && oky) {
        f->xres = (int)lround(xr);
        f->yres = (int)lround(yr);
        f->dpi_assumed = 0;
    } else {
        f->xres = f->yres = DEFAULT_DPI;
        f->dpi_assumed = 1;
    }
}

/* TIFF/EXIF Orientation 1..8 → clockwise turn to upright (+ mirror).
   For the mirrored ones the turn leaves a left-right mirror image:
   2 = mirror, 4 = 180 + mirror, 5 = 90 + mirror, 7 = 270 + mirror. */
void sh__set_orientation(sh_frame *f, int o)
{
    static const int rot[9] = {0, 0, 0, 180, 180, 90, 90, 270, 270};
    static const int mir[9] = {0, 0, 1, 0, 1, 1, 0, 1, 0};
    if (o < 1 || o > 8)
        o = 1;
    f->tag_rot = rot[o];
    f->tag_mirror = mir[o];
}
/* Clear the bits past the width in each row of a 1 bpp pix. */
void sh__clear_pad_bits(PIX *pix)
{
    int w = pixGetWidth(pix), h = pixGetHeight(pix), wpl = pixGetWpl(pix);
    if ((w & 31) == 0)
        return;
    l_uint32 mask = ~(l_uint32)0 << (32 - (w & 31));
    l_uint32 *data = pixGetData(pix);
    for (int y = 0; y < h; y++)
        data[(size_t)y * wpl + wpl - 1] &= mask;
}
/* ------------------------------------------------------------------ */
/* public                                                              */
/* ------------------------------------------------------------------ */

static enum sh_format sniff(const uint8_t *m, size_t n)
{
    static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', 0x0d, 0x0a,
                                       0x1a, 0x0a};
    if (n >= 4 && ((m[0] == 'I' && m[1] == 'I' && m[3] == 0 &&
                    (m[2] == 42 || m[2] == 43)) ||
                   (m[0] == 'M' && m[1] == 'M' && m[2] == 0 &&
                    (m[3] == 42 || m[3] == 43))))
        return SH_FMT_TIFF;   /* classic or BigTIFF: libtiff reads both */
    if (n >= 3 && m[0] == 0xff && m[1] == 0xd8 && m[2] == 0xff)
        return SH_FMT_JPEG;
    if (n >= 8 && memcmp(m, png_sig, 8) == 0)
        return SH_FMT_PNG;
    /* "%PDF-" within the first 1024 bytes, as PDF readers accept */
    if (n >= 5 && memmem(m, n, "%PDF-", 5))
        return SH_FMT_PDF;
    return SH_FMT_UNKNOWN;
}

static int read_all(sh_scan *s, sh_err *err)
{
    s->ndata = (size_t)s->size;
    s->data = malloc(s->ndata ? s->ndata : 1);
    if (!s->data)
        return sh_errf(err, SH_ENOMEM, "%s: out of memory for %zu bytes",
                       s->path, s->ndata);
    size_t done = 0;
    while (done < s->ndata) {
        ssize_t r = pread(s->fd, s->data + done, s->ndata - done, (off_t)done);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return sh_errf(err, SH_EIO, "%s: read failed: %s", s->path,
                           strerror(errno));
        if (r == 0)
            return sh_errf(err, SH_EIO, "%s: file shrank while being read",
                           s->path);
        done += (size_t)r;
    }
    return SH_OK;
}

int sh_scan_open(const char *path, const sh_scan_limits *lim, sh_scan **out,
                 sh_err *err)
{
    int rc = SH_OK;
    sh_scan *s = NULL;
    if (out)
        *out = NULL;
    if (!path || !out)
        return sh_errf(err, SH_EUSAGE, "sh_scan_open: no path or no out");
    pthread_once(&init_once, init_libs);

    s = calloc(1, sizeof *s);
    if (!s || !(s->path = strdup(path))) {
        rc = sh_errf(err, SH_ENOMEM, "%s: out of memory", path);
        goto out;
    }
    s->fd = -1;
    sh_scan_limits_default(&s->lim);
    if (lim) {
        if (lim->max_file_bytes > 0)
            s->lim.max_file_bytes = lim->max_file_bytes;
        if (lim->max_pixels > 0)
            s->lim.max_pixels = lim->max_pixels;
        if (lim->max_side > 0)
            s->lim.max_side = lim->max_side;
        if (lim->max_frames > 0)
            s->lim.max_frames = lim->max_frames;
    }

    s->fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (s->fd < 0) {
        rc = sh_errf(err, SH_EIO, "%s: cannot open: %s", path,
                     strerror(errno));
        goto out;
    }
    struct stat st;
    if (fstat(s->fd, &st) != 0) {
        rc = sh_errf(err, SH_EIO, "%s: cannot stat: %s", path,
                     strerror(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = sh_errf(err, SH_EINPUT, "%s: not a regular file", path);
        goto out;
    }
    s->size = (int64_t)st.st_size;
    if (s->size > s->lim.max_file_bytes) {
        rc = sh_errf(err, SH_ELIMIT,
                     "%s: %lld bytes exceed the limit of %lld bytes per file",
                     path, (long long)s->size,
                     (long long)s->lim.max_file_bytes);
        goto out;
    }
    uint8_t magic[1024];
    ssize_t nm;
    do
        nm = pread(s->fd, magic, sizeof magic, 0);
    while (nm < 0 && errno == EINTR);
    if (nm < 0) {
        rc = sh_errf(err, SH_EIO, "%s: read failed: %s", path,
                     strerror(errno));
        goto out;
    }
    s->fmt = sniff(magic, (size_t)nm);
    switch (s->fmt) {
    case SH_FMT_TIFF:
        rc = sh__tiff_open(s, err);
        break;
    case SH_FMT_JPEG:
    case SH_FMT_PNG:
        rc = read_all(s, err);
        s->nframes = 1;
        break;
    case SH_FMT_PDF:
        rc = sh__pdf_open(s, err);
        break;
    default:
        rc = sh_errf(err, SH_EINPUT,
                     "%s: not a TIFF, JPEG or PNG file (nor a PDF)%s", path,
                     nm == 0 ? " (empty)" : "");
        break;
    }
out:
    if (rc)
        sh_scan_close(&s);
    *out = s;
    return rc;
}

int sh_scan_frames(const sh_scan *s)
{
    return s ? s->nframes : 0;
}

enum sh_format sh_scan_format(const sh_scan *s)
{
    return s ? s->fmt : SH_FMT_UNKNOWN;
}

int sh_scan_read(sh_scan *s, int n, sh_frame *f, sh_err *err)
{
    int rc;
    if (!f)
        return sh_errf(err, SH_EUSAGE, "sh_scan_read: no frame");
    memset(f, 0, sizeof *f);
    if (!s)
        return sh_errf(err, SH_EUSAGE, "sh_scan_read: no scan");
    if (n < 0 || n >= s->nframes)
        return sh_errf(err, SH_EUSAGE, "%s: frame %d asked, file has %d",
                       s->path, n + 1, s->nframes);
    switch (s->fmt) {
    case SH_FMT_TIFF: rc = sh__tiff_read(s, n, f, err); break;
    case SH_FMT_JPEG: rc = sh__jpeg_read(s, n, f, err); break;
    case SH_FMT_PNG: rc = sh__png_read(s, n, f, err); break;
    case SH_FMT_PDF: rc = sh__pdf_read(s, n, f, err); break;
    default: rc = sh_errf(err, SH_EUSAGE, "%s: not open", s->path); break;
    }
    if (!rc) {
        /* what the pipeline may rely on */
        PIX *p = f->pix;
        int d = p ? pixGetDepth(p) : 0;
        if (!p || pixGetWidth(p) < 1 || pixGetHeight(p) < 1 ||
            (d != 1 && d != 8 && d != 32) || pixGetColormap(p))
            rc = sh__frame_err(s, n, err, SH_EINPUT,
                               "decoder returned no usable image");
        else
            pixSetResolution(p, f->xres, f->yres);
    }
    if (rc)
        sh_frame_release(f);
    return rc;
}

int sh_scan_read_gray(sh_scan *s, int n, sh_frame *f, sh_err *err)
{
    if (!s)
        return sh_scan_read(s, n, f, err);
    s->want_gray = 1;
    int rc = sh_scan_read(s, n, f, err);
    s->want_gray = 0;
    if (rc || pixGetDepth(f->pix) != 32)
        return rc;
    /* a reader that cannot convert as it decodes */
    PIX *g = pixConvertRGBToGrayMinMax(f->pix, L_CHOOSE_MAX);
    if (!g) {
        sh_frame_release(f);
        return sh__frame_err(s, n, err, SH_ENOMEM, "out of memory");
    }
    pixCopyResolution(g, f->pix);
    pixDestroy(&f->pix);
    f->pix = g;
    f->gray_of_colour = 1;
    return SH_OK;
}

int sh_frame_guess_dpi(sh_frame *f)
{
    if (!f || !f->pix || !f->dpi_assumed)
        return 0;
    int w = (int)pixGetWidth(f->pix), h = (int)pixGetHeight(f->pix);
    int side = w > h ? w : h;
    if (side >= 300 * 5.83)
        return 0;
    int dpi = (int)(side / 11.69 + 0.5);
    if (dpi < 30)
        dpi = 30;
    f->xres = f->yres = dpi;
    return dpi;
}

void sh_frame_release(sh_frame *f)
{
    if (!f)
        return;
    pixDestroy(&f->pix);
    free(f->jpeg);
    memset(f, 0, sizeof *f);
}

void sh_scan_close(sh_scan **ps)
{
    if (!ps || !*ps)
        return;
    sh_scan *s = *ps;
    if (s->tif)
        TIFFClose(s->tif);
    sh__pdf_close(s);
    if (s->fd >= 0)
        close(s->fd);
    free(s->data);
    free(s->path);
    free(s);
    *ps = NULL;
}

int sh_scan_is_candidate(const char *name)
{
    static const char *const exts[] = {"tif", "tiff", "jpg", "jpeg", "png",
                                       "pdf"};
    if (!name || name[0] == '.')
        return 0;   /* hidden files, macOS "._x.tif" resource forks */
    const char *dot = strrchr(name, '.');
    if (!dot || dot == name || strchr(dot, '/'))
        return 0;
    for (size_t i = 0; i < SH_ARRAY_LEN(exts); i++)
        if (strcasecmp(dot + 1, exts[i]) == 0)
            return 1;
    return 0;
}
