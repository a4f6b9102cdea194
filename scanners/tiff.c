/*
 * tiff.c — the TIFF reader of scan.c: frames are IFDs.
 *
 *   sh__tiff_open          libtiff over the file, frames counted
 *   sh__tiff_read          one frame's directory checked, then decoded
 *                          (colour as 8 bpp gray for sh_scan_read_gray;
 *                          one JPEG strip by tiff_jpeg.c)
 *   sh_scan_rows_open, sh_scan_rows_next, sh_scan_rows_close
 *   sh_scan_set_tee   RGB rows handed on while read as gray
 *                          (scan.h) an RGB frame's rows from the file, for
 *                          the encoder that archives a frame read as gray
 *   sh__tiff_set_handlers  libtiff's process-wide message handlers
 *   sh__tiff_msg_reset, sh__tiff_msg, sh__tiff_msg_done,
 *   sh__tiff_handle_error, sh__tiff_handle_warning
 *                          (scan_int.h) libtiff's messages for one scan,
 *                          also for the CCITT images of pdfin_image.c
 *
 * Method.  TIFF is opened with libtiff over our own read-only
 * file-descriptor callbacks, in "h" mode (the first directory is not read
 * at open, so a corrupt first IFD spoils frame 1 only).  Frames are IFDs,
 * counted by TIFFNumberOfDirectories (libtiff 4.5 stops at IFD loops) and
 * capped by max_frames.  A JPEG-coded frame in one strip or tile is one
 * JPEG stream, read as such by tiff_jpeg.c (its bytes can go into the PDF
 * as they are).  Bilevel, gray, palette and RGB strips or tiles
 * are read row by row and converted here; everything else (YCbCr,
 * other JPEG-in-TIFF, old JPEG, CMYK, Lab, planar, alpha) goes through
 * libtiff's RGBA interface straight into the PIX buffer.  libtiff's
 * messages are caught by per-handle handlers (TIFFOpenOptions) plus
 * process-wide handlers for the few messages that bypass them; errors end
 * up in sh_err (the first one, usually the cause), warnings in the debug
 * log, except the fax decoder's warnings of a strip that ends early,
 * which are damage and so errors.
 */
#include "scan_int.h"
#include "tiffmem.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <tiffio.h>

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

/* libtiff's process-wide handlers (scan_int.h): set once, by scan.c. */
void sh__tiff_set_handlers(void)
{
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

/* the file's position is s->tpos; the fd belongs to sh_scan (close does
   nothing), and nothing is mapped: a file truncated under us must not
   SIGBUS */
static toff_t tiff_seekp(thandle_t h, toff_t off, int whence)
{
    sh_scan *s = h;
    return sh_tiffio_seek(&s->tpos, (uint64_t)s->size, (uint64_t)INT64_MAX,
                          off, whence);
}

static toff_t tiff_sizep(thandle_t h)
{
    return (toff_t)((sh_scan *)h)->size;
}

int sh__tiff_open(sh_scan *s, sh_err *err)
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
                               tiff_writep, tiff_seekp, sh_tiffio_noclose,
                               tiff_sizep, sh_tiffio_nomap,
                               sh_tiffio_nounmap, opts);
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
                          int *colour, sh_err *err)
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
    /* Colour asked as gray (sh_scan_read_gray): the brightest channel,
       row by row, never a 32 bpp frame. */
    int max8 = depth == 32 && s->want_gray;
    if (max8)
        depth = 8;
    int tee = s->tee != NULL;   /* sh_scan_set_tee: the RGB rows too */
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
                if (max8)
                    SET_DATA_BYTE(line, x, sh__max3(lut_r[i], lut_g[i],
                                                    lut_b[i]));
                else if (depth == 8)
                    SET_DATA_BYTE(line, x, lut_r[i]);
                else
                    line[x] = sh__rgb_word(lut_r[i], lut_g[i], lut_b[i]);
            }
        } else if (t->photo == PHOTOMETRIC_RGB && max8 && t->bps == 8) {
            if (tee && s->tee(s->tee_ctx, (int)y, (int)t->w, (int)t->h, row))
                tee = 0;
            for (uint32_t x = 0; x < t->w; x++, row += 3)
                SET_DATA_BYTE(line, x, sh__max3(row[0], row[1], row[2]));
        } else if (t->photo == PHOTOMETRIC_RGB) {
            for (uint32_t x = 0; x < t->w; x++) {
                unsigned r = get_sample(row, 3 * (size_t)x, t->bps);
                unsigned g = get_sample(row, 3 * (size_t)x + 1, t->bps);
                unsigned b = get_sample(row, 3 * (size_t)x + 2, t->bps);
                if (t->bps == 16)
                    r >>= 8, g >>= 8, b >>= 8;
                if (max8)
                    SET_DATA_BYTE(line, x, sh__max3(r, g, b));
                else
                    line[x] = sh__rgb_word(r, g, b);
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
    *colour = max8;
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
        data[i] = sh__rgb_word(r > 255 ? 255 : r, g > 255 ? 255 : g,
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

/* A JPEG-coded frame that tiff_jpeg.c may read as one JPEG stream: 8-bit
   gray, YCbCr or RGB, contiguous, in one strip or one tile of exactly the
   frame's size (strip and tile counts are checked there). */
static int tiff_dct_ok(const tiff_hdr *t)
{
    if (t->comp != COMPRESSION_JPEG || t->bps != 8 ||
        t->sfmt != SAMPLEFORMAT_UINT)
        return 0;
    if (t->tiled && (t->tw != t->w || t->th != t->h))
        return 0;
    if (t->spp == 1)
        return t->photo == PHOTOMETRIC_MINISBLACK;
    return t->spp == 3 && t->planar == PLANARCONFIG_CONTIG &&
           (t->photo == PHOTOMETRIC_YCBCR || t->photo == PHOTOMETRIC_RGB);
}

/* Load frame n's directory into *t and check it against the limits.
   Returns SH_OK, or SH_EINPUT / SH_ELIMIT with the message filled. */
static int read_hdr(sh_scan *s, int n, tiff_hdr *t, sh_err *err)
{
    TIFF *tif = s->tif;
    memset(t, 0, sizeof *t);
    if (!TIFFSetDirectory(tif, (tdir_t)n))
        return sh__frame_err(s, n, err, SH_EINPUT,
                             "unreadable TIFF directory: %s",
                             tiff_msg(s, "libtiff cannot read it"));
    s->tmsg[0] = 0;   /* a directory that loaded is usable */
    if (!TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &t->w) ||
        !TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &t->h))
        return sh__frame_err(s, n, err, SH_EINPUT,
                             "TIFF directory without size");
    TIFFGetFieldDefaulted(tif, TIFFTAG_BITSPERSAMPLE, &t->bps);
    TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLESPERPIXEL, &t->spp);
    TIFFGetFieldDefaulted(tif, TIFFTAG_COMPRESSION, &t->comp);
    TIFFGetFieldDefaulted(tif, TIFFTAG_PLANARCONFIG, &t->planar);
    TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLEFORMAT, &t->sfmt);
    t->have_photo = TIFFGetField(tif, TIFFTAG_PHOTOMETRIC, &t->photo);
    if (!t->have_photo)
        t->photo = t->spp >= 3 ? PHOTOMETRIC_RGB
                   : t->bps == 1 ? PHOTOMETRIC_MINISWHITE
                                 : PHOTOMETRIC_MINISBLACK;
    t->tiled = TIFFIsTiled(tif);
    if (t->tiled && (!TIFFGetField(tif, TIFFTAG_TILEWIDTH, &t->tw) ||
                     !TIFFGetField(tif, TIFFTAG_TILELENGTH, &t->th)))
        t->tw = t->th = 0;
    /* the limits, from the directory alone */
    int rc = sh__check_size(s, n, t->w, t->h, err);
    if (rc)
        return rc;
    if (t->tiled && (uint64_t)t->tw * t->th > (uint64_t)s->lim.max_pixels)
        return sh__frame_err(s, n, err, SH_ELIMIT,
                             "tiles of %u x %u pixels exceed the limit of "
                             "%.1f Mpx",
                             t->tw, t->th, (double)s->lim.max_pixels / 1e6);
    return SH_OK;
}

int sh__tiff_read(sh_scan *s, int n, sh_frame *f, sh_err *err)
{
    TIFF *tif = s->tif;
    int rc = SH_OK;
    tiff_hdr t = {0};
    PIX *pix = NULL;

    tiff_msg_reset(s);
    rc = read_hdr(s, n, &t, err);
    if (rc)
        goto out;
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
    sh__set_orientation(f, orient);

    int done = 0;
    if (tiff_dct_ok(&t)) {
        rc = sh__tiff_jpeg_read(s, n, t.w, t.h, t.spp, t.photo, f, &done,
                                err);
        pix = f->pix;
        f->pix = NULL;
        if (rc || done)
            goto out;
    }
    if (tiff_fast_ok(&t))
        rc = tiff_read_fast(s, n, &t, &pix, &f->gray_of_colour, err);
    else
        rc = tiff_read_rgba(s, n, &t, &pix, err);
out:
    tls_scan = NULL;
    f->pix = pix;
    return rc;
}

/* ------------------------------------------------------------------ */
/* colour rows from the file (sh_scan_rows_*, scan.h)                  */
/* ------------------------------------------------------------------ */

struct sh_scan_rows {
    sh_scan *s;
    int n;
    tiff_hdr t;
    row_src rs;
    uint32_t y;
};

int sh_scan_rows_open(sh_scan *s, int n, sh_scan_rows **out, int *w, int *h,
                      sh_err *err)
{
    *out = NULL;
    *w = *h = 0;
    if (!s || s->fmt != SH_FMT_TIFF || n < 0 || n >= s->nframes)
        return sh_errf(err, SH_EUSAGE, "rows: not a TIFF frame");
    sh_scan_rows *r = calloc(1, sizeof *r);
    if (!r)
        return sh_errf(err, SH_ENOMEM, "out of memory");
    r->s = s;
    r->n = n;
    tiff_msg_reset(s);
    int rc = read_hdr(s, n, &r->t, err);
    if (!rc && !(tiff_fast_ok(&r->t) && r->t.photo == PHOTOMETRIC_RGB))
        rc = sh_errf(err, SH_EUSAGE, "rows: not an RGB frame in strips or "
                     "tiles");
    if (!rc && (rc = rows_init(&r->rs, s->tif, &r->t)))
        rc = rc == SH_ENOMEM ? sh_errf(err, rc, "out of memory")
             : sh__frame_err(s, n, err, rc, "bad %s size",
                             r->t.tiled ? "tile" : "scanline");
    tls_scan = NULL;
    if (rc) {
        rows_free(&r->rs);
        free(r);
        return rc;
    }
    *w = (int)r->t.w;
    *h = (int)r->t.h;
    *out = r;
    return SH_OK;
}

int sh_scan_rows_next(sh_scan_rows *r, uint8_t *row, sh_err *err)
{
    if (!r || r->y >= r->t.h)
        return sh_errf(err, SH_EUSAGE, "rows: past the last row");
    sh_scan *s = r->s;
    tiff_msg_reset(s);
    const uint8_t *in = rows_get(&r->rs, r->y);
    int rc = SH_OK;
    if (!in || s->tmsg[0]) {
        rc = sh__frame_err(s, r->n, err, SH_EINPUT,
                           "row %u does not decode: %s", r->y,
                           tiff_msg(s, "libtiff read error"));
    } else if (r->t.bps == 8) {
        memcpy(row, in, 3 * (size_t)r->t.w);
    } else {
        for (size_t x = 0; x < 3 * (size_t)r->t.w; x++)
            row[x] = (uint8_t)(get_sample(in, x, 16) >> 8);
    }
    tls_scan = NULL;
    r->y++;
    return rc;
}

void sh_scan_set_tee(sh_scan *s, sh_scan_tee_fn fn, void *ctx)
{
    if (!s)
        return;
    s->tee = fn;
    s->tee_ctx = ctx;
}

void sh_scan_rows_close(sh_scan_rows **pr)
{
    if (!pr || !*pr)
        return;
    rows_free(&(*pr)->rs);
    free(*pr);
    *pr = NULL;
}
