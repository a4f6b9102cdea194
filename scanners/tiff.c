/*
 * scan.c — read scanner files (TIFF, JPEG, PNG; PDF through pdfin.c)
 * frame by frame into PIXes.
 *
 *   sh_scan_limits_default  the default limits
 *   sh_scan_open            open read-only, sniff magic bytes, count frames
 *   sh_scan_frames          number of frames
 *   sh_scan_format          detected format
 *   sh_scan_read            check one frame's header, then decode it
 *   sh_frame_release        free a frame's pixels and JPEG bytes
 *   sh_scan_close           close the file
 *   sh_scan_is_candidate    file-name filter for dossier listings
 *   sh__jpeg_decode_mem     (scan_int.h) the JPEG decoder, also for the
 *                           JPEG streams of PDF pages
 *   sh__frame_err, sh__check_size, sh__set_res, sh__clear_pad_bits,
 *   sh__tiff_msg_*          (scan_int.h) shared with pdfin.c
 *
 * Method.  The format is decided by the first bytes of the file, never by
 * its name.  Every format is decoded with its reference library called
 * directly (libtiff, libjpeg-turbo, libpng), not through Leptonica's
 * readers, so that (1) the size in the header is checked against
 * sh_scan_limits before any pixel buffer exists, (2) every error and
 * every data-corruption warning of the decoder becomes an SH_EINPUT whose
 * message names the file, the frame and the decoder's reason, instead of
 * text on stderr and a silently grey page, and (3) the pixel conventions
 * are ours: Leptonica's 1 bpp (1 = black, whatever the file's photometric),
 * 8 bpp gray or 32 bpp RGB, never a colormap, alpha composited on white,
 * 16-bit samples reduced to 8.
 *
 * TIFF is opened with libtiff over our own read-only file-descriptor
 * callbacks, in "h" mode (the first directory is not read at open, so a
 * corrupt first IFD spoils frame 1 only).  Frames are IFDs, counted by
 * TIFFNumberOfDirectories (libtiff 4.5 stops at IFD loops) and capped by
 * max_frames.  Bilevel, gray, palette and RGB strips are read scanline by
 * scanline and converted here; everything else (tiles, YCbCr, JPEG-in-TIFF,
 * old JPEG, CMYK, Lab, planar, alpha) goes through libtiff's RGBA
 * interface straight into the PIX buffer.  libtiff's messages are caught
 * by per-handle handlers (TIFFOpenOptions) plus process-wide handlers for
 * the few messages that bypass them; errors end up in sh_err, warnings
 * in the debug log.
 *
 * JPEG is decoded from the file's bytes with a libjpeg error manager that
 * longjmps; corrupt-data warnings ("Premature end of JPEG file", bad
 * Huffman code, ...) are errors too.  A progress monitor caps the number
 * of progressive scans, and a file much too small for the pixel count its
 * header claims is refused before decoding (a Huffman JPEG spends at least
 * one bit per 8x8 block).  The EXIF block (APP1) is parsed by hand with
 * bounds checks for orientation and resolution; broken EXIF is ignored.
 *
 * PDF ("%PDF-" in the first 1024 bytes) is handed to pdfin.c, which takes
 * each page's embedded image out without rendering and decodes it with
 * the decoders here (JPEG) or libtiff (CCITT); a PDF's frames are its
 * pages, and messages say "page".
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
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jpeglib.h>
#include <jerror.h>
#include <png.h>
#include <tiffio.h>

#define DEFAULT_DPI 300
#define DPI_MIN 30.0
#define DPI_MAX 5000.0
/* below this many ppi a resolution must also give a plausible page size */
#define DPI_SUSPECT 100.0
#define PAGE_MAX_INCHES 50.0
/* more progressive scans than this is an attack, not a photograph
   (libjpeg-turbo's djpeg suggests the same order with -maxscans) */
#define JPEG_MAX_SCANS 1000
/* a Huffman JPEG spends >= 1 bit per 8x8 block of its first component:
   at most 512 pixels per byte; refuse beyond 4x that */
#define JPEG_MAX_PX_PER_BYTE 2048.0


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

/* The scan whose libtiff call is running on this thread, for messages
   that reach the process-wide handlers. */
static _Thread_local sh_scan *tls_scan;

static void tiff_msg_add(sh_scan *s, const char *module, const char *fmt,
                         va_list ap)
{
    if (s->tmsg[0])
        return;   /* keep the first error: usually the cause */
    char text[400];
    vsnprintf(text, sizeof text, fmt, ap);
    /* many libtiff messages start with the file name: ours say it already */
    const char *t = text;
    size_t np = strlen(s->path);
    if (strncmp(t, s->path, np) == 0 && t[np] == ':' && t[np + 1] == ' ')
        t += np + 2;
    size_t nm = module ? strlen(module) : 0;
    if (nm && strncmp(t, module, nm) == 0 && t[nm] == ':')
        module = NULL;   /* the text already names it */
    if (module && *module && strcmp(module, s->path) != 0)
        snprintf(s->tmsg, sizeof s->tmsg, "%s: %s", module, t);
    else
        snprintf(s->tmsg, sizeof s->tmsg, "%s", t);
}

static void tiff_global_error(const char *module, const char *fmt, va_list ap)
{
    if (tls_scan) {
        tiff_msg_add(tls_scan, module, fmt, ap);
        return;
    }
    char text[512];
    vsnprintf(text, sizeof text, fmt, ap);
    /* another module's libtiff call (Leptonica writing a TIFF, ...) */
    sh_log(SH_LOG_WARN, "libtiff error: %s: %s", module ? module : "", text);
}

/* libtiff's fax decoder reports a strip that ends early, or rows of the
   wrong length, as warnings and fills the rest with white: for us that
   is a damaged page, not a detail. */
static int tiff_warning_is_damage(const char *module, const char *text)
{
    return module && strstr(module, "Fax") &&
           (strncmp(text, "Premature EOF", 13) == 0 ||
            strncmp(text, "Premature EOL", 13) == 0 ||
            strncmp(text, "Line length mismatch", 20) == 0);
}

static void tiff_warning(sh_scan *s, const char *module, const char *fmt,
                         va_list ap)
{
    char text[512];
    va_list aq;
    va_copy(aq, ap);
    vsnprintf(text, sizeof text, fmt, aq);
    va_end(aq);
    if (s && tiff_warning_is_damage(module, text)) {
        tiff_msg_add(s, module, fmt, ap);
        return;
    }
    sh_log(SH_LOG_DEBUG, "%s: libtiff warning: %s: %s", s ? s->path : "-",
           module ? module : "", text);
}

static void tiff_global_warning(const char *module, const char *fmt,
                                va_list ap)
{
    tiff_warning(tls_scan, module, fmt, ap);
}

static int tiff_handle_error(TIFF *tif, void *ud, const char *module,
                             const char *fmt, va_list ap)
{
    tiff_msg_add(ud, module, fmt, ap);
    return 1;
}

static int tiff_handle_warning(TIFF *tif, void *ud, const char *module,
                               const char *fmt, va_list ap)
{
    tiff_warning(ud, module, fmt, ap);
    return 1;
}

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void init_libs(void)
{
    /* our messages replace Leptonica's and libtiff's stderr output */
    setMsgSeverity(L_SEVERITY_NONE);
    TIFFSetErrorHandler(tiff_global_error);
    TIFFSetWarningHandler(tiff_global_warning);
}

static void tiff_msg_reset(sh_scan *s)
{
    s->tmsg[0] = 0;
    tls_scan = s;
}

static const char *tiff_msg(sh_scan *s, const char *fallback)
{
    return s->tmsg[0] ? s->tmsg : fallback;
}

/* The same, for pdfin.c (scan_int.h). */
void sh__tiff_msg_reset(sh_scan *s)
{
    tiff_msg_reset(s);
}

const char *sh__tiff_msg(sh_scan *s, const char *fallback)
{
    return tiff_msg(s, fallback);
}

void sh__tiff_msg_done(void)
{
    tls_scan = NULL;
}

int sh__tiff_handle_error(TIFF *tif, void *ud, const char *module,
                          const char *fmt, va_list ap)
{
    return tiff_handle_error(tif, ud, module, fmt, ap);
}

int sh__tiff_handle_warning(TIFF *tif, void *ud, const char *module,
                            const char *fmt, va_list ap)
{
    return tiff_handle_warning(tif, ud, module, fmt, ap);
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
static int res_ok(double res, uint32_t side)
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
    int okx = xr > 0 && res_ok(xr, w), oky = yr > 0 && res_ok(yr, h);
    if (okx && !oky)
        yr = xr, oky = res_ok(yr, h);
    else if (oky && !okx)
        xr = yr, okx = res_ok(xr, w);
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
static void set_orientation(sh_frame *f, int o)
{
    static const int rot[9] = {0, 0, 0, 180, 180, 90, 90, 270, 270};
    static const int mir[9] = {0, 0, 1, 0, 1, 1, 0, 1, 0};
    if (o < 1 || o > 8)
        o = 1;
    f->tag_rot = rot[o];
    f->tag_mirror = mir[o];
}

static inline uint32_t rgb_word(unsigned r, unsigned g, unsigned b)
{
    return ((uint32_t)r << L_RED_SHIFT) | ((uint32_t)g << L_GREEN_SHIFT) |
           ((uint32_t)b << L_BLUE_SHIFT);
}

/* Composite v (0..255) over white with alpha a. */
static inline unsigned over_white(unsigned v, unsigned a)
{
    return (v * a + 255u * (255u - a) + 127u) / 255u;
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
/* TIFF                                                                */
/* ------------------------------------------------------------------ */

static tmsize_t tiff_readp(thandle_t h, void *buf, tmsize_t n)
{
    sh_scan *s = h;
    size_t done = 0;
    while (done < (size_t)n) {
        ssize_t r = pread(s->fd, (char *)buf + done, (size_t)n - done,
                          (off_t)(s->tpos + done));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0)
            break;
        done += (size_t)r;
    }
    s->tpos += done;
    return (tmsize_t)done;
}

static tmsize_t tiff_writep(thandle_t h, void *buf, tmsize_t n)
{
    errno = EBADF;
    return -1;   /* originals are read-only */
}

static toff_t tiff_seekp(thandle_t h, toff_t off, int whence)
{
    sh_scan *s = h;
    uint64_t base = whence == SEEK_SET   ? 0
                    : whence == SEEK_CUR ? s->tpos
                                         : (uint64_t)s->size;
    uint64_t pos = base + off;   /* toff_t arithmetic wraps like libtiff's */
    if (pos > (uint64_t)INT64_MAX)
        return (toff_t)-1;
    s->tpos = pos;
    return pos;
}

static int tiff_closep(thandle_t h)
{
    return 0;   /* the fd belongs to sh_scan */
}

static toff_t tiff_sizep(thandle_t h)
{
    return (toff_t)((sh_scan *)h)->size;
}

static int tiff_mapp(thandle_t h, void **base, toff_t *size)
{
    return 0;   /* no mmap: a file truncated under us must not SIGBUS */
}

static void tiff_unmapp(thandle_t h, void *base, toff_t size) {}

static int tiff_open(sh_scan *s, sh_err *err)
{
    int rc = SH_OK;
    TIFFOpenOptions *opts = TIFFOpenOptionsAlloc();
    if (!opts)
        return sh_errf(err, SH_ENOMEM, "%s: out of memory", s->path);
    /* bound any single libtiff allocation by what the limits allow:
       a frame of max_pixels at 64 bits per pixel, plus slack */
    uint64_t cap = (uint64_t)s->lim.max_pixels * 8 + ((uint64_t)64 << 20);
    TIFFOpenOptionsSetMaxSingleMemAlloc(
        opts, cap > (uint64_t)INT64_MAX ? INT64_MAX : (tmsize_t)cap);
    TIFFOpenOptionsSetErrorHandlerExtR(opts, tiff_handle_error, s);
    TIFFOpenOptionsSetWarningHandlerExtR(opts, tiff_handle_warning, s);
    tiff_msg_reset(s);
    s->tif = TIFFClientOpenExt(s->path, "rh", (thandle_t)s, tiff_readp,
                               tiff_writep, tiff_seekp, tiff_closep,
                               tiff_sizep, tiff_mapp, tiff_unmapp, opts);
    TIFFOpenOptionsFree(opts);
    if (!s->tif) {
        rc = sh_errf(err, SH_EINPUT, "%s: unreadable TIFF header: %s",
                     s->path, tiff_msg(s, "libtiff refused it"));
        goto out;
    }
    tdir_t nd = TIFFNumberOfDirectories(s->tif);
    if (s->tmsg[0] && nd < (tdir_t)s->lim.max_frames + 1) {
        /* the count stops at the first directory whose entry count or
           next-link cannot be read; a directory missing only its link
           (a file cut just short) still loads: count it */
        char first[sizeof s->tmsg];
        memcpy(first, s->tmsg, sizeof first);
        if (TIFFSetDirectory(s->tif, nd))
            nd++;
        memcpy(s->tmsg, first, sizeof first);
    }
    if (s->tmsg[0] && nd > 0)
        sh_log(SH_LOG_WARN, "%s: damaged chain of TIFF directories (%s); "
               "reading the first %u", s->path, s->tmsg, (unsigned)nd);
    if (nd == 0) {
        rc = sh_errf(err, SH_EINPUT, "%s: TIFF holds no image directory%s%s",
                     s->path, s->tmsg[0] ? ": " : "", s->tmsg);
        goto out;
    }
    if (nd > (tdir_t)s->lim.max_frames) {
        rc = sh_errf(err, SH_ELIMIT,
                     "%s: %u frames exceed the limit of %d frames per file",
                     s->path, (unsigned)nd, s->lim.max_frames);
        goto out;
    }
    s->nframes = (int)nd;
out:
    tls_scan = NULL;
    return rc;
}

static const char *tiff_codec(uint16_t c)
{
    switch (c) {
    case COMPRESSION_NONE: return "none";
    case COMPRESSION_CCITTRLE: return "ccitt-rle";
    case COMPRESSION_CCITTRLEW: return "ccitt-rlew";
    case COMPRESSION_CCITTFAX3: return "g3";
    case COMPRESSION_CCITTFAX4: return "g4";
    case COMPRESSION_LZW: return "lzw";
    case COMPRESSION_OJPEG: return "ojpeg";
    case COMPRESSION_JPEG: return "jpeg";
    case COMPRESSION_ADOBE_DEFLATE:
    case COMPRESSION_DEFLATE: return "deflate";
    case COMPRESSION_PACKBITS: return "packbits";
    case COMPRESSION_JBIG: return "jbig";
    case COMPRESSION_LZMA: return "lzma";
    case COMPRESSION_ZSTD: return "zstd";
    case COMPRESSION_WEBP: return "webp";
    case COMPRESSION_JXL: return "jxl";
    default: return "other";
    }
}

/* What the directory of the current frame says. */
typedef struct tiff_hdr {
    uint32_t w, h;
    uint16_t bps, spp, photo, comp, planar, sfmt;
    int tiled, have_photo;
    uint32_t tw, th;   /* tile size when tiled */
} tiff_hdr;

/* Sample `x` of `bps` bits (1, 2, 4, 8, 16) from a packed row. */
static inline unsigned get_sample(const uint8_t *row, size_t x, int bps)
{
    switch (bps) {
    case 8:
        return row[x];
    case 16: {
        uint16_t v;
        memcpy(&v, row + 2 * x, 2);   /* libtiff gives native order */
        return v;
    }
    default: {
        size_t bit = x * (size_t)bps;
        return (row[bit >> 3] >> (8 - bps - (bit & 7))) & ((1u << bps) - 1);
    }
    }
}

/* The rows of the current directory, top to bottom: from strips with
   TIFFReadScanline, or from a band of tiles read with TIFFReadTile (into
   our buffer: libtiff 4.5.0's own tile buffering refuses uncompressed
   tiles when the file is not memory-mapped). */
typedef struct row_src {
    TIFF *tif;
    const tiff_hdr *t;
    size_t rowbytes;           /* packed bytes of one image row */
    uint8_t *row;              /* strips: one scanline */
    uint8_t *band, *tile;      /* tiles: th rows; one tile */
    size_t tilerow;
} row_src;

static void rows_free(row_src *r)
{
    free(r->row);
    free(r->band);
    free(r->tile);
    memset(r, 0, sizeof *r);
}

/* Returns SH_OK, SH_EINPUT (layout sizes inconsistent) or SH_ENOMEM. */
static int rows_init(row_src *r, TIFF *tif, const tiff_hdr *t)
{
    memset(r, 0, sizeof *r);
    r->tif = tif;
    r->t = t;
    r->rowbytes = ((size_t)t->w * t->bps * t->spp + 7) / 8;
    if (!t->tiled) {
        tmsize_t sl = TIFFScanlineSize(tif);
        if (sl <= 0 || (uint64_t)sl < r->rowbytes)
            return SH_EINPUT;
        return (r->row = malloc((size_t)sl)) ? SH_OK : SH_ENOMEM;
    }
    tmsize_t ts = TIFFTileSize(tif), tr = TIFFTileRowSize(tif);
    r->tilerow = ((size_t)t->tw * t->bps * t->spp + 7) / 8;
    if (ts <= 0 || tr <= 0 || (size_t)tr != r->tilerow ||
        (uint64_t)ts < (uint64_t)r->tilerow * t->th)
        return SH_EINPUT;
    r->tile = malloc((size_t)ts);
    r->band = calloc(t->th < t->h ? t->th : t->h, r->rowbytes);
    return r->tile && r->band ? SH_OK : SH_ENOMEM;
}

/* Row y (called for y = 0, 1, 2, ...); NULL on a decoding error. */
static const uint8_t *rows_get(row_src *r, uint32_t y)
{
    const tiff_hdr *t = r->t;
    if (!t->tiled)
        return TIFFReadScanline(r->tif, r->row, y, 0) < 0 ? NULL : r->row;
    uint32_t in_band = y % t->th;
    if (in_band == 0) {
        uint32_t nrows = t->h - y < t->th ? t->h - y : t->th;
        for (uint32_t x = 0; x < t->w; x += t->tw) {
            if (TIFFReadTile(r->tif, r->tile, x, y, 0, 0) < 0)
                return NULL;
            uint32_t cols = t->w - x < t->tw ? t->w - x : t->tw;
            size_t off = (size_t)x * t->bps * t->spp / 8;   /* tw % 8 == 0 */
            size_t nb = ((size_t)cols * t->bps * t->spp + 7) / 8;
            for (uint32_t i = 0; i < nrows; i++)
                memcpy(r->band + i * r->rowbytes + off,
                       r->tile + i * r->tilerow, nb);
        }
    }
    return r->band + (size_t)in_band * r->rowbytes;
}

/* Bilevel, gray, palette and RGB frames in strips or tiles, row by row.
   Returns 1 if this reader handles the header. */
static int tiff_fast_ok(const tiff_hdr *t)
{
    if (t->comp == COMPRESSION_JPEG || t->comp == COMPRESSION_OJPEG)
        return 0;
    if (t->tiled && (t->tw == 0 || t->th == 0 || t->tw % 8 != 0))
        return 0;
    if (t->sfmt != SAMPLEFORMAT_UINT)
        return 0;
    switch (t->photo) {
    case PHOTOMETRIC_MINISWHITE:
    case PHOTOMETRIC_MINISBLACK:
        return t->spp == 1 && (t->bps == 1 || t->bps == 2 || t->bps == 4 ||
                               t->bps == 8 || t->bps == 16);
    case PHOTOMETRIC_PALETTE:
        return t->spp == 1 && (t->bps == 1 || t->bps == 2 || t->bps == 4 ||
                               t->bps == 8);
    case PHOTOMETRIC_RGB:
        return t->spp == 3 && t->planar == PLANARCONFIG_CONTIG &&
               (t->bps == 8 || t->bps == 16);
    default:
        return 0;
    }
}

static int tiff_read_fast(sh_scan *s, int n, const tiff_hdr *t, PIX **out,
                          sh_err *err)
{
    TIFF *tif = s->tif;
    int rc = SH_OK;
    PIX *pix = NULL;
    row_src rs = {0};
    uint8_t lut_r[256], lut_g[256], lut_b[256];
    int depth, pal_bw = 0;
    unsigned maxv = (1u << t->bps) - 1;

    if (t->photo == PHOTOMETRIC_PALETTE) {
        uint16_t *cr, *cg, *cb;
        if (!TIFFGetField(tif, TIFFTAG_COLORMAP, &cr, &cg, &cb)) {
            rc = sh__frame_err(s, n, err, SH_EINPUT,
                               "palette image without a colormap");
            goto out;
        }
        size_t nc = (size_t)1 << t->bps;
        int wide = 0, gray = 1;
        for (size_t i = 0; i < nc; i++)
            if (cr[i] > 255 || cg[i] > 255 || cb[i] > 255)
                wide = 1;   /* 16-bit entries (old writers used 8-bit) */
        pal_bw = t->bps == 1;
        for (size_t i = 0; i < nc; i++) {
            lut_r[i] = (uint8_t)(wide ? cr[i] >> 8 : cr[i]);
            lut_g[i] = (uint8_t)(wide ? cg[i] >> 8 : cg[i]);
            lut_b[i] = (uint8_t)(wide ? cb[i] >> 8 : cb[i]);
            if (lut_r[i] != lut_g[i] || lut_g[i] != lut_b[i])
                gray = 0;
            if (!(lut_r[i] == lut_g[i] && lut_g[i] == lut_b[i] &&
                  (lut_r[i] == 0 || lut_r[i] == 255)))
                pal_bw = 0;
        }
        if (pal_bw && lut_r[0] == lut_r[1])
            pal_bw = 0;   /* both entries the same: keep it as gray */
        depth = pal_bw ? 1 : gray ? 8 : 32;
    } else if (t->photo == PHOTOMETRIC_RGB) {
        depth = 32;
    } else {
        depth = t->bps == 1 ? 1 : 8;
    }

    rc = rows_init(&rs, tif, t);
    if (rc == SH_EINPUT) {
        rc = sh__frame_err(s, n, err, SH_EINPUT, "bad %s size: %s",
                           t->tiled ? "tile" : "scanline",
                           tiff_msg(s, "inconsistent header"));
        goto out;
    }
    if (!rc)
        pix = pixCreate((l_int32)t->w, (l_int32)t->h, depth);
    if (rc || !pix) {
        rc = sh__frame_err(s, n, err, SH_ENOMEM,
                           "out of memory for %u x %u pixels", t->w, t->h);
        goto out;
    }
    l_uint32 *data = pixGetData(pix);
    int wpl = pixGetWpl(pix);
    for (uint32_t y = 0; y < t->h; y++) {
        const uint8_t *row = rows_get(&rs, y);
        if (!row || s->tmsg[0]) {
            rc = sh__frame_err(s, n, err, SH_EINPUT,
                               "row %u does not decode: %s", y,
                               tiff_msg(s, "libtiff read error"));
            goto out;
        }
        l_uint32 *line = data + (size_t)y * wpl;
        if (depth == 1) {
            /* Leptonica: 1 = black.  MinIsWhite (and a palette whose
               index 1 is black) store just that. */
            int invert = t->photo == PHOTOMETRIC_PALETTE ? lut_r[1] != 0
                         : t->photo == PHOTOMETRIC_MINISBLACK;
            size_t nb = ((size_t)t->w + 7) / 8;
            for (size_t i = 0; i < nb; i++)
                SET_DATA_BYTE(line, i, invert ? (uint8_t)~row[i] : row[i]);
        } else if (t->photo == PHOTOMETRIC_PALETTE) {
            for (uint32_t x = 0; x < t->w; x++) {
                unsigned i = get_sample(row, x, t->bps);
                if (depth == 8)
                    SET_DATA_BYTE(line, x, lut_r[i]);
                else
                    line[x] = rgb_word(lut_r[i], lut_g[i], lut_b[i]);
            }
        } else if (t->photo == PHOTOMETRIC_RGB) {
            for (uint32_t x = 0; x < t->w; x++) {
                unsigned r = get_sample(row, 3 * (size_t)x, t->bps);
                unsigned g = get_sample(row, 3 * (size_t)x + 1, t->bps);
                unsigned b = get_sample(row, 3 * (size_t)x + 2, t->bps);
                if (t->bps == 16)
                    r >>= 8, g >>= 8, b >>= 8;
                line[x] = rgb_word(r, g, b);
            }
        } else {
            for (uint32_t x = 0; x < t->w; x++) {
                unsigned v = get_sample(row, x, t->bps);
                v = t->bps == 16 ? v >> 8 : t->bps == 8 ? v : v * 255 / maxv;
                if (t->photo == PHOTOMETRIC_MINISWHITE)
                    v = 255 - v;
                SET_DATA_BYTE(line, x, v);
            }
        }
    }
    if (depth == 1)
        sh__clear_pad_bits(pix);
out:
    rows_free(&rs);
    if (rc)
        pixDestroy(&pix);
    *out = pix;
    return rc;
}

/* Anything libtiff's RGBA interface understands: decoded straight into a
   32 bpp PIX (same word size), then repacked in Leptonica's byte order. */
static int tiff_read_rgba(sh_scan *s, int n, const tiff_hdr *t, PIX **out,
                          sh_err *err)
{
    TIFF *tif = s->tif;
    int rc = SH_OK, begun = 0;
    PIX *pix = NULL, *pix8 = NULL;
    TIFFRGBAImage img;
    char emsg[1024] = "";

    if (!TIFFRGBAImageOK(tif, emsg)) {
        rc = sh__frame_err(s, n, err, SH_EINPUT, "unsupported TIFF layout: %s",
                           emsg[0] ? emsg : tiff_msg(s, "unknown"));
        goto out;
    }
    if (!TIFFRGBAImageBegin(&img, tif, 1, emsg)) {
        rc = sh__frame_err(s, n, err, SH_EINPUT, "cannot decode: %s",
                           emsg[0] ? emsg : tiff_msg(s, "unknown"));
        goto out;
    }
    begun = 1;
    /* keep the stored row order: the Orientation tag is reported, not
       applied */
    img.req_orientation = img.orientation;
    if (img.width != t->w || img.height != t->h) {
        rc = sh__frame_err(s, n, err, SH_EINPUT, "inconsistent image size");
        goto out;
    }
    pix = pixCreate((l_int32)t->w, (l_int32)t->h, 32);
    if (!pix || pixGetWpl(pix) != (l_int32)t->w) {
        rc = sh__frame_err(s, n, err, SH_ENOMEM,
                           "out of memory for %u x %u pixels", t->w, t->h);
        goto out;
    }
    uint32_t *data = (uint32_t *)pixGetData(pix);
    if (!TIFFRGBAImageGet(&img, data, t->w, t->h) || s->tmsg[0]) {
        rc = sh__frame_err(s, n, err, SH_EINPUT, "does not decode: %s",
                           tiff_msg(s, "libtiff read error"));
        goto out;
    }
    size_t np = (size_t)t->w * t->h;
    for (size_t i = 0; i < np; i++) {
        uint32_t v = data[i];
        unsigned a = TIFFGetA(v);
        /* the RGBA interface gives premultiplied alpha: over white is
           c + (255 - a) */
        unsigned r = TIFFGetR(v) + 255 - a, g = TIFFGetG(v) + 255 - a,
                 b = TIFFGetB(v) + 255 - a;
        data[i] = rgb_word(r > 255 ? 255 : r, g > 255 ? 255 : g,
                           b > 255 ? 255 : b);
    }
    if (t->photo == PHOTOMETRIC_MINISBLACK ||
        t->photo == PHOTOMETRIC_MINISWHITE) {
        pix8 = pixConvertRGBToLuminance(pix);
        if (!pix8) {
            rc = sh__frame_err(s, n, err, SH_ENOMEM, "out of memory");
            goto out;
        }
        pixDestroy(&pix);
        if (t->bps == 1) {
            pix = pixThresholdToBinary(pix8, 128);
            if (!pix) {
                rc = sh__frame_err(s, n, err, SH_ENOMEM, "out of memory");
                goto out;
            }
        } else {
            pix = pix8;
            pix8 = NULL;
        }
    }
out:
    if (begun)
        TIFFRGBAImageEnd(&img);
    pixDestroy(&pix8);
    if (rc)
        pixDestroy(&pix);
    *out = pix;
    return rc;
}

static int tiff_read(sh_scan *s, int n, sh_frame *f, sh_err *err)
{
    TIFF *tif = s->tif;
    int rc = SH_OK;
    tiff_hdr t = {0};
    PIX *pix = NULL;

    tiff_msg_reset(s);
    if (!TIFFSetDirectory(tif, (tdir_t)n)) {
        rc = sh__frame_err(s, n, err, SH_EINPUT,
                           "unreadable TIFF directory: %s",
                           tiff_msg(s, "libtiff cannot read it"));
        goto out;
    }
    s->tmsg[0] = 0;   /* a directory that loaded is usable */
    if (!TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &t.w) ||
        !TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &t.h)) {
        rc = sh__frame_err(s, n, err, SH_EINPUT,
                           "TIFF directory without size");
        goto out;
    }
    TIFFGetFieldDefaulted(tif, TIFFTAG_BITSPERSAMPLE, &t.bps);
    TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLESPERPIXEL, &t.spp);
    TIFFGetFieldDefaulted(tif, TIFFTAG_COMPRESSION, &t.comp);
    TIFFGetFieldDefaulted(tif, TIFFTAG_PLANARCONFIG, &t.planar);
    TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLEFORMAT, &t.sfmt);
    t.have_photo = TIFFGetField(tif, TIFFTAG_PHOTOMETRIC, &t.photo);
    if (!t.have_photo)
        t.photo = t.spp >= 3 ? PHOTOMETRIC_RGB
                  : t.bps == 1 ? PHOTOMETRIC_MINISWHITE
                               : PHOTOMETRIC_MINISBLACK;
    t.tiled = TIFFIsTiled(tif);
    if (t.tiled && (!TIFFGetField(tif, TIFFTAG_TILEWIDTH, &t.tw) ||
                    !TIFFGetField(tif, TIFFTAG_TILELENGTH, &t.th)))
        t.tw = t.th = 0;

    /* the limits, from the directory alone */
    rc = sh__check_size(s, n, t.w, t.h, err);
    if (rc)
        goto out;
    if (t.tiled && (uint64_t)t.tw * t.th > (uint64_t)s->lim.max_pixels) {
        rc = sh__frame_err(s, n, err, SH_ELIMIT,
                           "tiles of %u x %u pixels exceed the limit of "
                           "%.1f Mpx",
                           t.tw, t.th, (double)s->lim.max_pixels / 1e6);
        goto out;
    }

    f->codec = tiff_codec(t.comp);
    float xr = 0, yr = 0;
    uint16_t unit = RESUNIT_INCH, orient = ORIENTATION_TOPLEFT;
    if (!TIFFGetField(tif, TIFFTAG_XRESOLUTION, &xr))
        xr = 0;
    if (!TIFFGetField(tif, TIFFTAG_YRESOLUTION, &yr))
        yr = 0;
    TIFFGetFieldDefaulted(tif, TIFFTAG_RESOLUTIONUNIT, &unit);
    double k = unit == RESUNIT_CENTIMETER ? 2.54
               : unit == RESUNIT_INCH     ? 1.0
                                          : 0.0;   /* RESUNIT_NONE */
    sh__set_res(f, xr * k, yr * k, t.w, t.h);
    TIFFGetFieldDefaulted(tif, TIFFTAG_ORIENTATION, &orient);
    set_orientation(f, orient);

    if (tiff_fast_ok(&t))
        rc = tiff_read_fast(s, n, &t, &pix, err);
    else
        rc = tiff_read_rgba(s, n, &t, &pix, err);
out:
    tls_scan = NULL;
    f->pix = pix;
    return rc;
}

/* ------------------------------------------------------------------ */
/* EXIF (inside JPEG APP1)                                             */
/* ------------------------------------------------------------------ */

typedef struct exif_info {
    int orientation;    /* 0 = absent */
    double xres, yres;  /* ppi, 0 = absent */
} exif_info;

static unsigned ex16(const uint8_t *p, int be)
{
    return be ? (unsigned)p[0] << 8 | p[1] : (unsigned)p[1] << 8 | p[0];
}

static uint32_t ex32(const uint8_t *p, int be)
{
    return be ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
                    (uint32_t)p[2] << 8 | p[3]
              : (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 |
                    (uint32_t)p[1] << 8 | p[0];
}

/* Parse IFD0 of a TIFF-structured EXIF block p[0..n).  Only values wholly
   inside the block are used; anything malformed is skipped. */
static void exif_parse(const uint8_t *p, size_t n, exif_info *ex)
{
    memset(ex, 0, sizeof *ex);
    if (n < 8)
        return;
    int be;
    if (p[0] == 'I' && p[1] == 'I')
        be = 0;
    else if (p[0] == 'M' && p[1] == 'M')
        be = 1;
    else
        return;
    if (ex16(p + 2, be) != 42)
        return;
    uint32_t ifd = ex32(p + 4, be);
    if (ifd < 8 || ifd > n - 2)
        return;
    size_t cnt = ex16(p + ifd, be);
    size_t room = (n - ifd - 2) / 12;
    if (cnt > room)
        cnt = room;
    double xr = 0, yr = 0;
    unsigned unit = 2;   /* EXIF default: inch */
    for (size_t i = 0; i < cnt; i++) {
        const uint8_t *e = p + ifd + 2 + 12 * i;
        unsigned tag = ex16(e, be), type = ex16(e + 2, be);
        uint32_t count = ex32(e + 4, be);
        if (count < 1)
            continue;
        if ((tag == 0x0112 || tag == 0x0128) && (type == 3 || type == 4)) {
            unsigned v = type == 3 ? ex16(e + 8, be) : ex32(e + 8, be);
            if (tag == 0x0112)
                ex->orientation = v >= 1 && v <= 8 ? (int)v : 0;
            else
                unit = v;
        } else if ((tag == 0x011A || tag == 0x011B) && type == 5) {
            uint32_t off = ex32(e + 8, be);
            if (off < 8 || off > n - 8)
                continue;
            uint32_t num = ex32(p + off, be), den = ex32(p + off + 4, be);
            if (den == 0)
                continue;
            double v = (double)num / den;
            if (tag == 0x011A)
                xr = v;
            else
                yr = v;
        }
    }
    double k = unit == 2 ? 1.0 : unit == 3 ? 2.54 : 0.0;
    ex->xres = xr * k;
    ex->yres = yr * k;
}

/* ------------------------------------------------------------------ */
/* JPEG                                                                */
/* ------------------------------------------------------------------ */

typedef struct jpeg_err {
    struct jpeg_error_mgr pub;   /* first: libjpeg sees only this */
    jmp_buf jb;
    char msg[JMSG_LENGTH_MAX + 64];
} jpeg_err;

static void jpeg_on_error(j_common_ptr c)
{
    jpeg_err *je = (jpeg_err *)c->err;
    if (!je->msg[0])
        c->err->format_message(c, je->msg);
    longjmp(je->jb, 1);
}

static void jpeg_on_message(j_common_ptr c, int level)
{
    jpeg_err *je = (jpeg_err *)c->err;
    if (level >= 0)
        return;   /* trace output */
    char text[JMSG_LENGTH_MAX];
    c->err->format_message(c, text);
    switch (c->err->msg_code) {
    /* harmless oddities of real-world files: the pixels are intact */
    case JWRN_EXTRANEOUS_DATA:
    case JWRN_JFIF_MAJOR:
    case JWRN_ADOBE_XFORM:
    case JWRN_BOGUS_ICC:
    case JWRN_NOT_SEQUENTIAL:   /* odd SOS fields libjpeg ignores anyway */
        sh_log(SH_LOG_DEBUG, "libjpeg warning: %s", text);
        return;
    default:
        /* corrupt data: an error, not a partly grey page */
        snprintf(je->msg, sizeof je->msg, "%s", text);
        longjmp(je->jb, 1);
    }
}

static void jpeg_on_progress(j_common_ptr c)
{
    if (!c->is_decompressor)
        return;
    j_decompress_ptr d = (j_decompress_ptr)c;
    if (d->input_scan_number > JPEG_MAX_SCANS) {
        jpeg_err *je = (jpeg_err *)c->err;
        snprintf(je->msg, sizeof je->msg,
                 "more than %d progressive scans (hostile file?)",
                 JPEG_MAX_SCANS);
        longjmp(je->jb, 1);
    }
}

/* State of one JPEG decode, owned by the caller of jpeg_decode so that
   nothing local to the function holding setjmp changes after it. */
typedef struct jpeg_job {
    sh_scan *s;
    int n;
    sh_frame *f;
    sh_err *err;
    const uint8_t *data;       /* the JPEG bytes */
    size_t ndata;
    const sh__jpeg_pdf *pdf;   /* NULL: a JPEG file; else a PDF stream */
    struct jpeg_decompress_struct cinfo;
    jpeg_err jerr;
    struct jpeg_progress_mgr progress;
    int created;
    PIX *pix;
    int rc;
} jpeg_job;

static int jpeg_decode(jpeg_job *j)
{
    sh_scan *s = j->s;
    struct jpeg_decompress_struct *ci = &j->cinfo;

    ci->err = jpeg_std_error(&j->jerr.pub);
    j->jerr.pub.error_exit = jpeg_on_error;
    j->jerr.pub.emit_message = jpeg_on_message;
    j->jerr.msg[0] = 0;
    if (setjmp(j->jerr.jb)) {
        if (!j->rc)
            j->rc = sh__frame_err(s, j->n, j->err, SH_EINPUT,
                                  "JPEG does not decode: %s",
                                  j->jerr.msg[0] ? j->jerr.msg
                                                 : "libjpeg error");
        goto out;
    }
    jpeg_create_decompress(ci);
    j->created = 1;
    j->progress.progress_monitor = jpeg_on_progress;
    ci->progress = &j->progress;
    jpeg_mem_src(ci, j->data, (unsigned long)j->ndata);
    jpeg_save_markers(ci, JPEG_APP0 + 1, 0xFFFF);
    if (jpeg_read_header(ci, TRUE) != JPEG_HEADER_OK) {
        j->rc = sh__frame_err(s, j->n, j->err, SH_EINPUT,
                              "JPEG holds no image");
        goto out;
    }
    j->rc = sh__check_size(s, j->n, ci->image_width, ci->image_height, j->err);
    if (j->rc)
        goto out;
    double px = (double)ci->image_width * ci->image_height;
    if (!ci->arith_code && px > JPEG_MAX_PX_PER_BYTE * (double)j->ndata) {
        j->rc = sh__frame_err(s, j->n, j->err, SH_EINPUT,
                              "JPEG claims %u x %u pixels in only %zu bytes: "
                              "truncated or corrupt",
                              ci->image_width, ci->image_height, j->ndata);
        goto out;
    }

    /* In a PDF, 3 components are YCbCr unless an Adobe marker or the
       stream's /ColorTransform says otherwise (libjpeg would also look at
       JFIF markers and component ids); the pass-through bytes are later
       read without /ColorTransform, so they must mean the same alone. */
    int pdf_pass_ok = 1;
    if (j->pdf && (ci->num_components == 3 || ci->num_components == 4)) {
        int adobe_ct = ci->saw_Adobe_marker ? ci->Adobe_transform != 0
                                            : ci->num_components == 3;
        int ct = j->pdf->color_transform >= 0 ? j->pdf->color_transform != 0
                                              : adobe_ct;
        pdf_pass_ok = ct == adobe_ct;
        if (ci->num_components == 3)
            ci->jpeg_color_space = ct ? JCS_YCbCr : JCS_RGB;
        else
            ci->jpeg_color_space = ct ? JCS_YCCK : JCS_CMYK;
    }

    int depth, cmyk = 0, pass = 0;
    switch (ci->jpeg_color_space) {
    case JCS_GRAYSCALE:
        ci->out_color_space = JCS_GRAYSCALE;
        depth = 8;
        pass = 1;
        break;
    case JCS_YCbCr:
        ci->out_color_space = JCS_RGB;
        depth = 32;
        pass = 1;
        break;
    case JCS_RGB:
        ci->out_color_space = JCS_RGB;
        depth = 32;
        /* a PDF reader applies YCbCr→RGB to 3 components unless an Adobe
           marker says not to: pass RGB-coded files through only then */
        pass = ci->saw_Adobe_marker;
        break;
    case JCS_CMYK:
    case JCS_YCCK:
        ci->out_color_space = JCS_CMYK;
        depth = 32;
        cmyk = 1;
        break;
    default:
        j->rc = sh__frame_err(s, j->n, j->err, SH_EINPUT,
                              "unsupported JPEG colour space (%d components)",
                              ci->num_components);
        goto out;
    }
    if (ci->arith_code || ci->data_precision != 8)
        pass = 0;
    if (j->pdf && (!j->pdf->want_pass || !pdf_pass_ok))
        pass = 0;
    /* progressive buffers: bounded by the frame limit (8 bytes a pixel
       covers 4 components of 16-bit coefficients) */
    {
        double cap = (double)s->lim.max_pixels * 8 + (64 << 20);
        ci->mem->max_memory_to_use = cap > (double)LONG_MAX ? LONG_MAX
                                                            : (long)cap;
    }

    j->f->codec = "jpeg";
    /* in a PDF, resolution and turn come from the page, not the JPEG */
    if (!j->pdf) {
        /* resolution: JFIF density, else EXIF; orientation: EXIF */
        exif_info ex = {0};
        for (jpeg_saved_marker_ptr m = ci->marker_list; m; m = m->next) {
            if (m->marker == JPEG_APP0 + 1 && m->data_length >= 6 &&
                memcmp(m->data, "Exif\0\0", 6) == 0) {
                exif_parse(m->data + 6, m->data_length - 6, &ex);
                break;
            }
        }
        double xr = 0, yr = 0;
        if (ci->saw_JFIF_marker &&
            (ci->density_unit == 1 || ci->density_unit == 2)) {
            double k = ci->density_unit == 2 ? 2.54 : 1.0;
            xr = ci->X_density * k;
            yr = ci->Y_density * k;
        }
        if (!res_ok(xr, ci->image_width) && !res_ok(yr, ci->image_height)) {
            xr = ex.xres;
            yr = ex.yres;
        }
        sh__set_res(j->f, xr, yr, ci->image_width, ci->image_height);
        set_orientation(j->f, ex.orientation);
    }

    jpeg_start_decompress(ci);
    uint32_t w = ci->output_width, h = ci->output_height;
    int comps = ci->output_components;
    if (w != ci->image_width || h != ci->image_height ||
        comps != (depth == 8 ? 1 : cmyk ? 4 : 3)) {
        j->rc = sh__frame_err(s, j->n, j->err, SH_EINPUT,
                              "inconsistent JPEG output");
        goto out;
    }
    j->pix = pixCreate((l_int32)w, (l_int32)h, depth);
    if (!j->pix) {
        j->rc = sh__frame_err(s, j->n, j->err, SH_ENOMEM,
                              "out of memory for %u x %u pixels", w, h);
        goto out;
    }
    /* freed with the decompressor, also on longjmp */
    JSAMPARRAY row = (*ci->mem->alloc_sarray)((j_common_ptr)ci, JPOOL_IMAGE,
                                              w * (JDIMENSION)comps, 1);
    l_uint32 *data = pixGetData(j->pix);
    int wpl = pixGetWpl(j->pix);
    /* CMYK sense: JPEG files from Adobe (Photoshop) hold 255 = no ink; in a
       PDF the image's /Decode says it */
    int adobe = j->pdf ? j->pdf->cmyk_lightness : ci->saw_Adobe_marker;
    while (ci->output_scanline < h) {
        JDIMENSION y = ci->output_scanline;
        if (jpeg_read_scanlines(ci, row, 1) != 1) {
            j->rc = sh__frame_err(s, j->n, j->err, SH_EINPUT,
                                  "JPEG data ends at row %u", y);
            goto out;
        }
        l_uint32 *line = data + (size_t)y * wpl;
        const JSAMPLE *p = row[0];
        if (depth == 8) {
            for (uint32_t x = 0; x < w; x++)
                SET_DATA_BYTE(line, x, p[x]);
        } else if (!cmyk) {
            for (uint32_t x = 0; x < w; x++, p += 3)
                line[x] = rgb_word(p[0], p[1], p[2]);
        } else {
            for (uint32_t x = 0; x < w; x++, p += 4) {
                unsigned c = p[0], m = p[1], yy = p[2], k = p[3];
                if (!adobe)
                    c = 255 - c, m = 255 - m, yy = 255 - yy, k = 255 - k;
                line[x] = rgb_word((c * k + 127) / 255, (m * k + 127) / 255,
                                   (yy * k + 127) / 255);
            }
        }
    }
    jpeg_finish_decompress(ci);

    if (pass && (ci->num_components == 1 || ci->num_components == 3)) {
        j->f->jpeg = malloc(j->ndata);
        if (!j->f->jpeg) {
            j->rc = sh__frame_err(s, j->n, j->err, SH_ENOMEM, "out of memory");
            goto out;
        }
        memcpy(j->f->jpeg, j->data, j->ndata);
        j->f->njpeg = j->ndata;
        j->f->jpeg_components = ci->num_components;
    }
out:
    if (j->created)
        jpeg_destroy_decompress(ci);
    j->created = 0;
    return j->rc;
}

int sh__jpeg_decode_mem(sh_scan *s, int n, const uint8_t *data, size_t ndata,
                        const sh__jpeg_pdf *pdf, sh_frame *f, sh_err *err)
{
    jpeg_job *j = calloc(1, sizeof *j);
    if (!j)
        return sh__frame_err(s, n, err, SH_ENOMEM, "out of memory");
    j->s = s;
    j->n = n;
    j->f = f;
    j->err = err;
    j->data = data;
    j->ndata = ndata;
    j->pdf = pdf;
    int rc = jpeg_decode(j);
    if (rc) {
        pixDestroy(&j->pix);
        free(f->jpeg);
        f->jpeg = NULL;
        f->njpeg = 0;
    }
    f->pix = j->pix;
    free(j);
    return rc;
}

static int jpeg_read(sh_scan *s, int n, sh_frame *f, sh_err *err)
{
    return sh__jpeg_decode_mem(s, n, s->data, s->ndata, NULL, f, err);
}

/* ------------------------------------------------------------------ */
/* PNG                                                                 */
/* ------------------------------------------------------------------ */

typedef struct png_job {
    sh_scan *s;
    int n;
    sh_frame *f;
    sh_err *err;
    png_structp png;
    png_infop info;
    size_t pos;
    char msg[256];
    PIX *pix;
    uint8_t *buf;       /* one row, or the whole image when interlaced */
    uint8_t **rows;
    int rows_done;
    int rc;
} png_job;

static void png_on_error(png_structp png, png_const_charp msg)
{
    png_job *j = png_get_error_ptr(png);
    if (!j->msg[0])
        snprintf(j->msg, sizeof j->msg, "%s", msg ? msg : "libpng error");
    png_longjmp(png, 1);
}

static void png_on_warning(png_structp png, png_const_charp msg)
{
    png_job *j = png_get_error_ptr(png);
    sh_log(SH_LOG_DEBUG, "%s: libpng warning: %s", j->s->path,
           msg ? msg : "");
}

static void png_read_mem(png_structp png, png_bytep out, size_t len)
{
    png_job *j = png_get_io_ptr(png);
    if (len > j->s->ndata - j->pos)
        png_error(png, "unexpected end of file (truncated)");
    memcpy(out, j->s->data + j->pos, len);
    j->pos += len;
}

/* Convert one decoded row (after our transforms) into the pix. */
static void png_put_row(png_job *j, const uint8_t *p, uint32_t y, int bin,
                        int channels, int gray_out)
{
    PIX *pix = j->pix;
    uint32_t w = (uint32_t)pixGetWidth(pix);
    l_uint32 *line = pixGetData(pix) + (size_t)y * pixGetWpl(pix);
    if (bin) {
        /* PNG: 0 = black; Leptonica: 1 = black */
        size_t nb = ((size_t)w + 7) / 8;
        for (size_t i = 0; i < nb; i++)
            SET_DATA_BYTE(line, i, (uint8_t)~p[i]);
        return;
    }
    for (uint32_t x = 0; x < w; x++, p += channels) {
        unsigned r, g, b;
        switch (channels) {
        case 1: r = g = b = p[0]; break;
        case 2: r = g = b = over_white(p[0], p[1]); break;
        case 3: r = p[0], g = p[1], b = p[2]; break;
        default:
            r = over_white(p[0], p[3]);
            g = over_white(p[1], p[3]);
            b = over_white(p[2], p[3]);
            break;
        }
        if (gray_out)
            SET_DATA_BYTE(line, x, r);
        else
            line[x] = rgb_word(r, g, b);
    }
}

static int png_decode(png_job *j)
{
    sh_scan *s = j->s;
    j->png = png_create_read_struct(PNG_LIBPNG_VER_STRING, j, png_on_error,
                                    png_on_warning);
    if (!j->png || !(j->info = png_create_info_struct(j->png))) {
        j->rc = sh__frame_err(s, j->n, j->err, SH_ENOMEM, "out of memory");
        goto out;
    }
    if (setjmp(png_jmpbuf(j->png))) {
        if (j->rows_done && !j->rc) {
            /* every pixel arrived; only what follows the image is bad */
            sh_log(SH_LOG_WARN, "%s: damaged PNG trailer ignored: %s",
                   s->path, j->msg);
            goto out;
        }
        if (!j->rc)
            j->rc = sh__frame_err(s, j->n, j->err, SH_EINPUT,
                                  "PNG does not decode: %s",
                                  j->msg[0] ? j->msg : "libpng error");
        goto out;
    }
    png_set_read_fn(j->png, j, png_read_mem);
    /* our own limits decide, after the header (libpng's are lower than
       max_side would allow, and would give SH_EINPUT) */
    png_set_user_limits(j->png, 0x7fffffff, 0x7fffffff);
    png_read_info(j->png, j->info);

    png_uint_32 w = 0, h = 0;
    int bit_depth = 0, color_type = 0, interlace = 0;
    png_get_IHDR(j->png, j->info, &w, &h, &bit_depth, &color_type,
                 &interlace, NULL, NULL);
    j->rc = sh__check_size(s, j->n, w, h, j->err);
    if (j->rc)
        goto out;

    png_uint_32 rx = 0, ry = 0;
    int unit = 0;
    double xr = 0, yr = 0;
    if (png_get_pHYs(j->png, j->info, &rx, &ry, &unit) &&
        unit == PNG_RESOLUTION_METER) {
        xr = rx * 0.0254;
        yr = ry * 0.0254;
    }
    sh__set_res(j->f, xr, yr, w, h);
    set_orientation(j->f, 1);
    j->f->codec = "png";

    int bin = color_type == PNG_COLOR_TYPE_GRAY && bit_depth == 1 &&
              !png_get_valid(j->png, j->info, PNG_INFO_tRNS);
    int gray_out = !(color_type & PNG_COLOR_MASK_COLOR);
    if (color_type == PNG_COLOR_TYPE_PALETTE) {
        png_colorp pal = NULL;
        int npal = 0;
        gray_out = png_get_PLTE(j->png, j->info, &pal, &npal) && npal > 0;
        for (int i = 0; gray_out && i < npal; i++)
            if (pal[i].red != pal[i].green || pal[i].green != pal[i].blue)
                gray_out = 0;
    }
    if (!bin) {
        png_set_expand(j->png);   /* palette→RGB, <8 bit→8, tRNS→alpha */
        png_set_scale_16(j->png);
    }
    int passes = png_set_interlace_handling(j->png);
    png_read_update_info(j->png, j->info);
    int channels = png_get_channels(j->png, j->info);
    size_t rowbytes = png_get_rowbytes(j->png, j->info);
    size_t need = bin ? ((size_t)w + 7) / 8 : (size_t)w * channels;
    if (channels < 1 || channels > 4 || rowbytes < need) {
        j->rc = sh__frame_err(s, j->n, j->err, SH_EINPUT,
                              "unexpected PNG row layout");
        goto out;
    }
    j->pix = pixCreate((l_int32)w, (l_int32)h, bin ? 1 : gray_out ? 8 : 32);
    size_t nrows = passes > 1 ? h : 1;
    if (j->pix && rowbytes <= SIZE_MAX / nrows) {
        j->buf = malloc(rowbytes * nrows);
        j->rows = malloc(nrows * sizeof *j->rows);
    }
    if (!j->pix || !j->buf || !j->rows) {
        j->rc = sh__frame_err(s, j->n, j->err, SH_ENOMEM,
                              "out of memory for %u x %u pixels", (unsigned)w,
                              (unsigned)h);
        goto out;
    }
    if (passes > 1) {
        for (size_t y = 0; y < h; y++)
            j->rows[y] = j->buf + y * rowbytes;
        png_read_image(j->png, j->rows);
        for (uint32_t y = 0; y < h; y++)
            png_put_row(j, j->rows[y], y, bin, channels, gray_out);
    } else {
        for (uint32_t y = 0; y < h; y++) {
            png_read_row(j->png, j->buf, NULL);
            png_put_row(j, j->buf, y, bin, channels, gray_out);
        }
    }
    if (bin)
        sh__clear_pad_bits(j->pix);
    j->rows_done = 1;
    png_read_end(j->png, NULL);
out:
    if (j->png)
        png_destroy_read_struct(&j->png, j->info ? &j->info : NULL, NULL);
    return j->rc;
}

static int png_read(sh_scan *s, int n, sh_frame *f, sh_err *err)
{
    png_job *j = calloc(1, sizeof *j);
    if (!j)
        return sh__frame_err(s, n, err, SH_ENOMEM, "out of memory");
    j->s = s;
    j->n = n;
    j->f = f;
    j->err = err;
    int rc = png_decode(j);
    if (rc)
        pixDestroy(&j->pix);
    f->pix = j->pix;
    free(j->buf);
    free(j->rows);
    free(j);
    return rc;
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
        rc = tiff_open(s, err);
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
    case SH_FMT_TIFF: rc = tiff_read(s, n, f, err); break;
    case SH_FMT_JPEG: rc = jpeg_read(s, n, f, err); break;
    case SH_FMT_PNG: rc = png_read(s, n, f, err); break;
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
