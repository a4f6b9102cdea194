/*
 * png.c — the PNG reader of scan.c.
 *
 *   sh__png_read   a PNG file (its one frame)
 *
 * Method.  libpng reads from the file's bytes in memory with an error
 * handler that longjmps, so every error is an SH_EINPUT naming the file;
 * libpng's own size limits are lifted and ours checked after the header.
 * Palettes, bit depths under 8 and tRNS are expanded by libpng, 16-bit
 * samples scaled to 8; alpha is composited on white here.  A bilevel gray
 * PNG without transparency stays 1 bpp (inverted: Leptonica's 1 is
 * black); a gray or gray-palette image is 8 bpp, anything else 32 bpp.
 * Interlaced images are read whole, others row by row.  Damage after the
 * last row (a bad trailer) is only a warning.
 */
#include "scan_int.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <png.h>

/* Composite v (0..255) over white with alpha a. */
static inline unsigned over_white(unsigned v, unsigned a)
{
    return (v * a + 255u * (255u - a) + 127u) / 255u;
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
            line[x] = sh__rgb_word(r, g, b);
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
    sh__set_orientation(j->f, 1);
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

int sh__png_read(sh_scan *s, int n, sh_frame *f, sh_err *err)
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
