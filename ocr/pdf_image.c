/*
 * pdf_image.c — page images made ready for our PDFs, and the hand-off
 * file that carries them from the OCR workers to the assembler.
 *
 *   sh_pdf_image_from_pix    1 bpp → CCITT G4, 8 bpp → Flate gray,
 *                            32 bpp → Flate RGB (PNG predictors where
 *                            they pay)
 *   sh_pdf_image_from_jpeg   JPEG bytes kept as they are (DCTDecode)
 *   sh_pdf_image_release
 *   sh_pdf_image_save        hand-off file for the assembler (atomic)
 *   sh_pdf_image_save_rows   ... Flate-coded straight from rows, never
 *                            the whole image or its code in memory
 *   sh_pdf_image_save_pix    ... of a pix: Flate rows streamed, else as
 *                            _from_pix + _save
 *   sh_pdf_image_load        ... read back, every field checked
 *   sh__pdf_image_problem    (pdf_int.h) why an image cannot be embedded
 *
 * Method.  Only the three filters PDF/A keeps simple are made: CCITT G4
 * for bilevel pages (libtiff's coder, reached through a one-strip TIFF
 * written in memory by scanners/tiffmem.c and read back raw), Flate at
 * level 1 for gray and RGB, with the PNG predictor that makes each row
 * smallest (scanners/predict.c) only when sampled rows show it pays (see
 * FLATE_LEVEL), and a scanner's JPEG bytes passed through unchanged once
 * their frame header says 8 bits and 1 or 3 components.  Rows streamed
 * from a sheet (sh_pdf_image_save_rows) are coded a strip at a time by
 * libdeflate's whole-buffer coder, 2-3x faster than zlib's level 1 on
 * these scans (see STRIP_BYTES); a large image becomes several strips,
 * each its own stream.  The hand-off file is a 48-byte little-endian
 * header (see IMGF_*), the strip table, then the encoded bytes, with a
 * CRC-32 over all of it, written atomically; loading checks every field,
 * the lengths, the CRC and, for JPEG, the frame header again.
 */
#include "pdf_int.h"
#include "../scanners/predict.h"
#include "../scanners/tiffmem.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libdeflate.h>
#include <tiffio.h>
#include <zlib.h>

#define DIM_MAX 1000000          /* image pixels on a side            */
#define IMG_DATA_MAX ((size_t)1 << 31)

/* Hand-off file, little-endian: magic[8], u32 version, filter, w, h, bpc,
   ncomp, black_is_1, u32 CRC-32 (header, table and data), u64 data
   length; then (version 2) the strip table: u32 nstrip (>= 1), u32
   strip_rows, nstrip u64 stream lengths; then the data.  Version 1 files
   (no table: one stream) are still read. */
#define IMGF_MAGIC "SHPDFIMG"
#define IMGF_VERSION 2
#define IMGF_HEADER 48
#define STRIPS_MAX 65536

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

/* ------------------------------------------------------------------ */
/* images                                                             */
/* ------------------------------------------------------------------ */

/* Why img cannot be embedded, or NULL when it is sound. */
const char *sh__pdf_image_problem(const sh_pdf_image *img)
{
    if (!img->data || img->n == 0)
        return "no image data";
    if (img->n > IMG_DATA_MAX)
        return "image data over 2 GiB";
    if (img->w < 1 || img->h < 1 || img->w > DIM_MAX || img->h > DIM_MAX)
        return "image size out of range";
    if (img->nstrip > 1) {
        size_t sum = 0;
        if (img->filter != SH_PDF_FLATE || img->nstrip > STRIPS_MAX)
            return "only a Flate image is cut into strips";
        if (!img->strip_n || img->strip_rows < 1 ||
            (long long)(img->nstrip - 1) * img->strip_rows >= img->h ||
            (long long)img->nstrip * img->strip_rows < img->h)
            return "strips do not cover the image";
        for (int k = 0; k < img->nstrip; k++) {
            if (img->strip_n[k] == 0 || img->strip_n[k] > img->n)
                return "empty strip";
            sum += img->strip_n[k];
        }
        if (sum != img->n)
            return "strip lengths do not add up";
    } else if (img->nstrip < 0) {
        return "negative strip count";
    }
    switch (img->filter) {
    case SH_PDF_DCT:
    case SH_PDF_FLATE:
        if (img->bpc != 8 || (img->ncomp != 1 && img->ncomp != 3))
            return "needs 8 bits and 1 or 3 components";
        if (img->black_is_1)
            return "black_is_1 is for CCITT only";
        return NULL;
    case SH_PDF_CCITT_G4:
        if (img->bpc != 1 || img->ncomp != 1)
            return "CCITT needs 1 bit, 1 component";
        if (img->black_is_1 != 0 && img->black_is_1 != 1)
            return "black_is_1 must be 0 or 1";
        return NULL;
    default:
        return "unknown filter";
    }
}

/* Read width, height and components from a JPEG's frame header.  Returns
   NULL on success, else why the bytes are refused. */
static const char *jpeg_info(const uint8_t *b, size_t n, int *w, int *h,
                             int *nc)
{
    if (n < 4 || b[0] != 0xFF || b[1] != 0xD8)
        return "no JPEG start-of-image marker";
    size_t i = 2;
    for (;;) {
        if (i >= n || b[i] != 0xFF)
            return "corrupt JPEG marker structure before the frame header";
        while (i < n && b[i] == 0xFF)
            i++;
        if (i >= n)
            return "JPEG ends before the frame header";
        unsigned m = b[i++];
        if (m == 0x01 || (m >= 0xD0 && m <= 0xD7))
            continue;                           /* no length */
        if (m == 0xD9 || m == 0xDA || m == 0xD8)
            return "JPEG has no frame header before its scan";
        if (i + 2 > n)
            return "JPEG ends inside a marker";
        size_t len = (size_t)b[i] << 8 | b[i + 1];
        if (len < 2 || i + len > n)
            return "JPEG marker length runs past the end";
        const uint8_t *s = b + i + 2;
        if (m == 0xC0 || m == 0xC1 || m == 0xC2) {
            if (len < 8)
                return "JPEG frame header too short";
            int prec = s[0];
            *h = s[1] << 8 | s[2];
            *w = s[3] << 8 | s[4];
            *nc = s[5];
            if (prec != 8)
                return "JPEG sample precision is not 8 bits";
            if (*h == 0)
                return "JPEG height deferred to a DNL marker (unsupported)";
            if (*w == 0)
                return "JPEG width is 0";
            if (*nc != 1 && *nc != 3)
                return "JPEG has neither 1 nor 3 components (CMYK?)";
            if (len < 8 + 3 * (size_t)*nc)
                return "JPEG frame header too short";
            return NULL;
        }
        if ((m >= 0xC3 && m <= 0xCF) && m != 0xC4 && m != 0xC8 && m != 0xCC)
            return "JPEG is lossless, hierarchical or arithmetic-coded";
        i += len;
    }
}

/* zlib streaming helper: push in[0..n) (flush = Z_NO_FLUSH or Z_FINISH),
   growing *buf as needed.  Returns SH_OK or SH_ENOMEM. */
static int z_push(z_stream *zs, uint8_t **buf, size_t *cap, const uint8_t *in,
                  size_t n, int flush)
{
    zs->next_in = (Bytef *)in;
    zs->avail_in = (uInt)n;
    for (;;) {
        size_t used = (size_t)zs->total_out;
        if (*cap - used < 4096) {
            size_t ncap = *cap * 2;
            uint8_t *nb = realloc(*buf, ncap);
            if (!nb)
                return SH_ENOMEM;
            *buf = nb;
            *cap = ncap;
        }
        size_t room = *cap - used;
        zs->next_out = *buf + used;
        zs->avail_out = room > UINT_MAX ? UINT_MAX : (uInt)room;
        int r = deflate(zs, flush);
        if (r == Z_STREAM_END)
            return SH_OK;
        if (r != Z_OK && r != Z_BUF_ERROR)
            return SH_ENOMEM;
        if (flush == Z_NO_FLUSH && zs->avail_in == 0)
            return SH_OK;
    }
}

/* Flate level and predictor choice, measured on the samples and the
   large-format bench sheets (CPU s, size as % of raw, zlib 1.2.13):
   A1 gray 7016x9933 noisy: level 6 + best PNG filter per row 0.86 + 1.85 s,
   68.4 %; level 1, no filter 0.07 + 1.25 s, 70.3 %; a clean 200 dpi gray
   page: level 6 + filters 8.0 %, level 1, no filter 8.5 %.  Level 1 costs
   a few % of size for 2-3x less time; the per-row filter choice costs
   more than the compression itself and pays only on smooth images.  The
   level is libdeflate's too in the streamed coder (sh_pdf_image_save_rows;
   its figures there). */
#define FLATE_LEVEL 1
#define PRED_BANDS 24          /* bands of rows sampled to decide ...   */
#define PRED_ROWS 4            /* ... PRED_ROWS rows each                 */
#define PRED_GAIN 0.95         /* filters kept when 5 % smaller at least  */

/* Row y of pix as bytes in cur (gray, or R G B). */
static void get_row(PIX *pix, int ncomp, int y, uint8_t *cur)
{
    int w = pixGetWidth(pix);
    const l_uint32 *line = pixGetData(pix) + (size_t)y * (size_t)pixGetWpl(pix);
    if (ncomp == 1) {
        for (int x = 0; x < w; x++)
            cur[x] = (uint8_t)GET_DATA_BYTE(line, x);
    } else {
        for (int x = 0; x < w; x++) {
            l_uint32 v = line[x];
            cur[3 * x] = (uint8_t)(v >> L_RED_SHIFT);
            cur[3 * x + 1] = (uint8_t)(v >> L_GREEN_SHIFT);
            cur[3 * x + 2] = (uint8_t)(v >> L_BLUE_SHIFT);
        }
    }
}

/* Deflated size (level FLATE_LEVEL) of PRED_BANDS bands of PRED_ROWS rows
   spread over pix, each row filtered by its best PNG filter (filtered 1)
   or not (0).  mem: 2 rows + 5 candidates, as in flate_pix.  Returns 0
   when it cannot tell (then no filter is used). */
static size_t sample_size(PIX *pix, int ncomp, int filtered, uint8_t *mem)
{
    int w = pixGetWidth(pix), h = pixGetHeight(pix);
    size_t bpr = (size_t)w * (size_t)ncomp, total = 0;
    uint8_t *prev = mem, *cur = mem + bpr, *cand[5];
    for (int f = 0; f < 5; f++)
        cand[f] = mem + 2 * bpr + (size_t)f * (bpr + 1);
    uint8_t *zb = malloc(bpr + 1024);
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (!zb || deflateInit(&zs, FLATE_LEVEL) != Z_OK) {
        free(zb);
        return 0;
    }
    for (int b = 0; b < PRED_BANDS; b++) {
        int y0 = (int)((long long)h * (2 * b + 1) / (2 * PRED_BANDS));
        if (y0 + PRED_ROWS > h)
            y0 = h > PRED_ROWS ? h - PRED_ROWS : 0;
        if (y0 > 0)
            get_row(pix, ncomp, y0 - 1, prev);
        else
            memset(prev, 0, bpr);
        for (int y = y0; y < y0 + PRED_ROWS && y < h; y++) {
            get_row(pix, ncomp, y, cur);
            const uint8_t *row = cur;
            uint8_t *plain = cand[0];
            if (filtered) {
                row = cand[sh_png_filter_row(cur, prev, bpr, (size_t)ncomp,
                                             cand)];
            } else {
                plain[0] = 0;
                memcpy(plain + 1, cur, bpr);
                row = plain;
            }
            zs.next_in = (Bytef *)row;
            zs.avail_in = (uInt)(bpr + 1);
            do {                         /* only the size is wanted */
                zs.next_out = zb;
                zs.avail_out = (uInt)(bpr + 1024);
                if (deflate(&zs, Z_NO_FLUSH) == Z_STREAM_ERROR)
                    break;
            } while (zs.avail_in > 0);
            uint8_t *t = prev;
            prev = cur;
            cur = t;
        }
    }
    int r;
    do {
        zs.next_out = zb;
        zs.avail_out = (uInt)(bpr + 1024);
        r = deflate(&zs, Z_FINISH);
    } while (r == Z_OK);
    total = r == Z_STREAM_END ? (size_t)zs.total_out : 0;
    deflateEnd(&zs);
    free(zb);
    return total;
}

/* Deflate pix (8 bpp gray, ncomp 1; or 32 bpp RGB, ncomp 3) row by row
   at FLATE_LEVEL, as PDF /Predictor 15: each row is prefixed by its PNG
   filter, the one that makes it smallest (the usual minimum sum of
   absolute differences) when sampled rows show the filters pay
   (PRED_GAIN), else filter 0 (None) on every row.  *pred is set to 1 when
   filters were used. */
static int flate_pix(PIX *pix, int ncomp, uint8_t **out, size_t *outn,
                     int *pred)
{
    int w = pixGetWidth(pix), h = pixGetHeight(pix);
    size_t bpr = (size_t)w * (size_t)ncomp, bpp = (size_t)ncomp;
    uint8_t *mem = calloc(2 * bpr + 5 * (bpr + 1), 1);
    size_t cap = (size_t)h * (bpr + 1) / 4 + 65536;
    uint8_t *z = malloc(cap);
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    int zinit = 0, rc = SH_ENOMEM, use = 0;
    *out = NULL;
    *outn = 0;
    *pred = 0;
    if (!mem || !z)
        goto out;
    size_t plain = sample_size(pix, ncomp, 0, mem);
    size_t filt = plain ? sample_size(pix, ncomp, 1, mem) : 0;
    use = plain && filt && (double)filt < PRED_GAIN * (double)plain;
    if (deflateInit(&zs, FLATE_LEVEL) != Z_OK)
        goto out;
    zinit = 1;
    uint8_t *prev = mem, *cur = mem + bpr, *cand[5];
    for (int f = 0; f < 5; f++)
        cand[f] = mem + 2 * bpr + (size_t)f * (bpr + 1);
    memset(prev, 0, bpr);
    for (int y = 0; y < h; y++) {
        const uint8_t *row;
        if (use) {
            get_row(pix, ncomp, y, cur);
            row = cand[sh_png_filter_row(cur, prev, bpr, bpp, cand)];
        } else {
            cand[0][0] = 0;
            get_row(pix, ncomp, y, cand[0] + 1);
            row = cand[0];
        }
        if (z_push(&zs, &z, &cap, row, bpr + 1, Z_NO_FLUSH) != SH_OK)
            goto out;
        uint8_t *t = prev;
        prev = cur;
        cur = t;
    }
    if (z_push(&zs, &z, &cap, NULL, 0, Z_FINISH) != SH_OK)
        goto out;
    *outn = (size_t)zs.total_out;
    *out = z;
    *pred = use;
    z = NULL;
    rc = SH_OK;
out:
    if (zinit)
        deflateEnd(&zs);
    free(mem);
    free(z);
    return rc;
}

/* CCITT G4 code of a 1 bpp pix (set bit = black), coded min-is-white:
   libtiff writes a one-strip TIFF in memory, and the strip is read back
   raw.  No temp file. */
static int g4_pix(PIX *pix, uint8_t **out, size_t *outn)
{
    int w = pixGetWidth(pix), h = pixGetHeight(pix), wpl = pixGetWpl(pix);
    const l_uint32 *data = pixGetData(pix);
    size_t bpr = ((size_t)w + 7) / 8;
    uint8_t mask = (uint8_t)(0xFF << ((8 - w % 8) % 8));
    sh_tiffmem m;
    uint8_t *row = malloc(bpr), *strip = NULL;
    TIFF *t = NULL;
    int rc = SH_ENOMEM;
    *out = NULL;
    *outn = 0;
    sh_tiffmem_writer(&m);
    if (!row)
        goto out;
    t = sh_tiffmem_open(&m, "g4", "w", NULL);
    if (!t)
        goto out;
    if (!TIFFSetField(t, TIFFTAG_IMAGEWIDTH, (uint32_t)w) ||
        !TIFFSetField(t, TIFFTAG_IMAGELENGTH, (uint32_t)h) ||
        !TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 1) ||
        !TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, 1) ||
        !TIFFSetField(t, TIFFTAG_COMPRESSION, COMPRESSION_CCITTFAX4) ||
        !TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISWHITE) ||
        !TIFFSetField(t, TIFFTAG_FILLORDER, FILLORDER_MSB2LSB) ||
        !TIFFSetField(t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG) ||
        !TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, (uint32_t)h))
        goto out;
    for (int y = 0; y < h; y++) {
        const l_uint32 *line = data + (size_t)y * (size_t)wpl;
        for (size_t i = 0; i < bpr; i++)
            row[i] = (uint8_t)GET_DATA_BYTE(line, i);
        row[bpr - 1] &= mask;                 /* padding bits are white */
        if (TIFFWriteScanline(t, row, (uint32_t)y, 0) < 0)
            goto out;
    }
    if (!TIFFWriteDirectory(t))
        goto out;
    TIFFClose(t);
    t = NULL;
    if (m.oom)
        goto out;

    m.pos = 0;
    t = sh_tiffmem_open(&m, "g4", "rm", NULL);
    if (!t || TIFFNumberOfStrips(t) != 1)
        goto out;
    uint64_t *counts = NULL;
    if (!TIFFGetField(t, TIFFTAG_STRIPBYTECOUNTS, &counts) || !counts ||
        counts[0] == 0 || counts[0] > m.ndata)
        goto out;
    size_t n = (size_t)counts[0];
    strip = malloc(n);
    if (!strip || TIFFReadRawStrip(t, 0, strip, (tmsize_t)n) != (tmsize_t)n)
        goto out;
    *out = strip;
    *outn = n;
    strip = NULL;
    rc = SH_OK;
out:
    if (t)
        TIFFClose(t);
    sh_tiffmem_release(&m);
    free(row);
    free(strip);
    return rc;
}

int sh_pdf_image_from_pix(PIX *pix, sh_pdf_image *out, sh_err *err)
{
    PIX *p = NULL, *t = NULL;
    int rc = SH_OK;
    if (!out)
        return sh_errf(err, SH_EUSAGE, "sh_pdf_image_from_pix: no output");
    memset(out, 0, sizeof *out);
    if (!pix)
        return sh_errf(err, SH_EUSAGE, "sh_pdf_image_from_pix: no image");
    int w = pixGetWidth(pix), h = pixGetHeight(pix);
    if (w < 1 || h < 1 || w > DIM_MAX || h > DIM_MAX)
        return sh_errf(err, SH_ELIMIT, "image %dx%d: size out of range for PDF",
                       w, h);

    p = pixGetColormap(pix) ? pixRemoveColormap(pix, REMOVE_CMAP_BASED_ON_SRC)
                            : pixClone(pix);
    if (!p) {
        rc = sh_errf(err, SH_ENOMEM, "image %dx%d: cannot expand colormap",
                     w, h);
        goto out;
    }
    int d = pixGetDepth(p);
    if (d == 2 || d == 4 || d == 16)
        t = pixConvertTo8(p, 0);
    else if (d == 24)
        t = pixConvert24To32(p);
    if (t) {
        pixDestroy(&p);
        p = t;
        t = NULL;
        d = pixGetDepth(p);
    } else if (d == 2 || d == 4 || d == 16 || d == 24) {
        rc = sh_errf(err, SH_ENOMEM, "image %dx%d: cannot convert %d bpp",
                     w, h, d);
        goto out;
    }

    if (d == 1) {
        if (g4_pix(p, &out->data, &out->n) != SH_OK) {
            rc = sh_errf(err, SH_ENOMEM, "image %dx%d: CCITT G4 encoding "
                         "failed", w, h);
            goto out;
        }
        out->filter = SH_PDF_CCITT_G4;
        out->bpc = 1;
        out->ncomp = 1;
        out->black_is_1 = 0;      /* coded min-is-white: 0 decodes black */
    } else if (d == 8 || d == 32) {
        int nc = d == 8 ? 1 : 3;
        int pred = 0;
        if (flate_pix(p, nc, &out->data, &out->n, &pred) != SH_OK) {
            rc = sh_errf(err, SH_ENOMEM, "image %dx%d: Flate encoding failed "
                         "(out of memory)", w, h);
            goto out;
        }
        out->filter = SH_PDF_FLATE;
        out->bpc = 8;
        out->ncomp = nc;
    } else {
        rc = sh_errf(err, SH_EINPUT, "image %dx%d: %d bpp is not supported",
                     w, h, d);
        goto out;
    }
    out->w = w;
    out->h = h;
out:
    pixDestroy(&t);
    pixDestroy(&p);
    if (rc)
        sh_pdf_image_release(out);
    return rc;
}

int sh_pdf_image_from_jpeg(const uint8_t *jpeg, size_t n, sh_pdf_image *out,
                           sh_err *err)
{
    if (!out)
        return sh_errf(err, SH_EUSAGE, "sh_pdf_image_from_jpeg: no output");
    memset(out, 0, sizeof *out);
    if (!jpeg)
        return sh_errf(err, SH_EUSAGE, "sh_pdf_image_from_jpeg: no data");
    if (n > IMG_DATA_MAX)
        return sh_errf(err, SH_ELIMIT, "JPEG of %zu bytes: over 2 GiB", n);
    int w = 0, h = 0, nc = 0;
    const char *why = jpeg_info(jpeg, n, &w, &h, &nc);
    if (why)
        return sh_errf(err, SH_EINPUT, "JPEG (%zu bytes): %s", n, why);
    if (w > DIM_MAX || h > DIM_MAX)
        return sh_errf(err, SH_ELIMIT, "JPEG %dx%d: size out of range", w, h);
    out->data = malloc(n);
    if (!out->data)
        return sh_errf(err, SH_ENOMEM, "JPEG (%zu bytes): out of memory", n);
    memcpy(out->data, jpeg, n);
    out->n = n;
    out->filter = SH_PDF_DCT;
    out->w = w;
    out->h = h;
    out->bpc = 8;
    out->ncomp = nc;
    return SH_OK;
}

void sh_pdf_image_release(sh_pdf_image *img)
{
    if (!img)
        return;
    free(img->data);
    free(img->strip_n);
    memset(img, 0, sizeof *img);
}

static void put64(uint8_t *p, uint64_t v)
{
    put32(p, (uint32_t)(v & 0xFFFFFFFFu));
    put32(p + 4, (uint32_t)(v >> 32));
}

static uint64_t get64(const uint8_t *p)
{
    return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

/* Bytes of the strip table for nstrip strips. */
static size_t table_size(int nstrip)
{
    return 8 + 8 * (size_t)(nstrip > 1 ? nstrip : 1);
}

/* Fill the header and strip table f[0 .. IMGF_HEADER + table_size) of
   img (its data length n, strips as img says), CRC field left 0. */
static void put_header(uint8_t *f, const sh_pdf_image *img)
{
    int ns = img->nstrip > 1 ? img->nstrip : 1;
    memset(f, 0, IMGF_HEADER);
    memcpy(f, IMGF_MAGIC, 8);
    put32(f + 8, IMGF_VERSION);
    put32(f + 12, (uint32_t)img->filter);
    put32(f + 16, (uint32_t)img->w);
    put32(f + 20, (uint32_t)img->h);
    put32(f + 24, (uint32_t)img->bpc);
    put32(f + 28, (uint32_t)img->ncomp);
    put32(f + 32, (uint32_t)img->black_is_1);
    put64(f + 40, (uint64_t)img->n);
    uint8_t *t = f + IMGF_HEADER;
    put32(t, (uint32_t)ns);
    put32(t + 4, (uint32_t)(ns > 1 ? img->strip_rows : img->h));
    for (int k = 0; k < ns; k++)
        put64(t + 8 + 8 * (size_t)k, ns > 1 ? img->strip_n[k] : img->n);
}

/* CRC-32 of a hand-off file's header (but the CRC field) and the tn
   bytes of table after it. */
static uLong head_crc(const uint8_t *f, size_t tn)
{
    uLong c = crc32(0, f, 36);
    return crc32(c, f + 40, (uInt)(IMGF_HEADER - 40 + tn));
}

int sh_pdf_image_save(const sh_pdf_image *img, const char *path, sh_err *err)
{
    if (!img || !path)
        return sh_errf(err, SH_EUSAGE, "sh_pdf_image_save: NULL argument");
    const char *why = sh__pdf_image_problem(img);
    if (why)
        return sh_errf(err, SH_EUSAGE, "%s: cannot save image: %s", path, why);
    size_t hn = IMGF_HEADER + table_size(img->nstrip);
    uint8_t *f = malloc(hn + img->n);
    if (!f)
        return sh_errf(err, SH_ENOMEM, "%s: out of memory", path);
    put_header(f, img);
    uLong c = crc32(head_crc(f, hn - IMGF_HEADER), img->data, (uInt)img->n);
    put32(f + 36, (uint32_t)c);
    memcpy(f + hn, img->data, img->n);
    int rc = sh_write_atomic(path, f, hn + img->n, err);
    free(f);
    return rc;
}

int sh_pdf_image_load(const char *path, sh_pdf_image *out, sh_err *err)
{
    uint8_t *f = NULL;
    size_t n = 0, tn = 0;
    int rc;
    if (!out)
        return sh_errf(err, SH_EUSAGE, "sh_pdf_image_load: no output");
    memset(out, 0, sizeof *out);
    if (!path)
        return sh_errf(err, SH_EUSAGE, "sh_pdf_image_load: no path");
    rc = sh_read_file(path, IMGF_HEADER + table_size(STRIPS_MAX) +
                      IMG_DATA_MAX, &f, &n, err);
    if (rc)
        return rc;
    sh_pdf_image im = {0};
    uint64_t dn;
    uint32_t ver = n >= IMGF_HEADER ? get32(f + 8) : 0;
    if (n < IMGF_HEADER || memcmp(f, IMGF_MAGIC, 8) != 0) {
        rc = sh_errf(err, SH_EINPUT, "%s: not a sohoa PDF image file", path);
        goto out;
    }
    if (ver != 1 && ver != IMGF_VERSION) {
        rc = sh_errf(err, SH_EINPUT, "%s: image file version %u, expected %d",
                     path, ver, IMGF_VERSION);
        goto out;
    }
    if (ver >= 2) {        /* the strip table */
        uint32_t ns = n >= IMGF_HEADER + 8 ? get32(f + IMGF_HEADER) : 0;
        if (ns < 1 || ns > STRIPS_MAX ||
            n < IMGF_HEADER + (tn = table_size((int)ns))) {
            rc = sh_errf(err, SH_EINPUT, "%s: corrupt strip table", path);
            goto out;
        }
        im.nstrip = (int)ns;
        im.strip_rows = (int)get32(f + IMGF_HEADER + 4);
    }
    dn = get64(f + 40);
    if (dn != n - IMGF_HEADER - tn) {
        rc = sh_errf(err, SH_EINPUT, "%s: header says %llu data bytes, file "
                     "has %zu (truncated or corrupt)", path,
                     (unsigned long long)dn, n - IMGF_HEADER - tn);
        goto out;
    }
    if (get32(f + 12) > 16 || get32(f + 16) > DIM_MAX ||
        get32(f + 20) > DIM_MAX || get32(f + 24) > 8 || get32(f + 28) > 4 ||
        get32(f + 32) > 1) {
        rc = sh_errf(err, SH_EINPUT, "%s: corrupt image header", path);
        goto out;
    }
    im.filter = (int)get32(f + 12);
    im.w = (int)get32(f + 16);
    im.h = (int)get32(f + 20);
    im.bpc = (int)get32(f + 24);
    im.ncomp = (int)get32(f + 28);
    im.black_is_1 = (int)get32(f + 32);
    im.data = f + IMGF_HEADER + tn;
    im.n = (size_t)dn;
    if (im.nstrip > 1) {
        im.strip_n = malloc((size_t)im.nstrip * sizeof *im.strip_n);
        if (!im.strip_n) {
            rc = sh_errf(err, SH_ENOMEM, "%s: out of memory", path);
            goto out;
        }
        for (int k = 0; k < im.nstrip; k++) {
            uint64_t sn = get64(f + IMGF_HEADER + 8 + 8 * (size_t)k);
            im.strip_n[k] = sn > IMG_DATA_MAX ? 0 : (size_t)sn;
        }
    } else {
        im.nstrip = 0;
    }
    const char *why = sh__pdf_image_problem(&im);
    if (why) {
        rc = sh_errf(err, SH_EINPUT, "%s: corrupt image header: %s", path, why);
        goto out;
    }
    if (crc32(head_crc(f, tn), im.data, (uInt)im.n) != get32(f + 36)) {
        rc = sh_errf(err, SH_EINPUT, "%s: checksum mismatch (corrupt)", path);
        goto out;
    }
    if (im.filter == SH_PDF_DCT) {
        int w, h, nc;
        why = jpeg_info(im.data, im.n, &w, &h, &nc);
        if (why || w != im.w || h != im.h || nc != im.ncomp) {
            rc = sh_errf(err, SH_EINPUT, "%s: JPEG data disagrees with the "
                         "header%s%s", path, why ? ": " : "", why ? why : "");
            goto out;
        }
    }
    memmove(f, im.data, im.n);
    *out = im;
    out->data = f;
    f = NULL;
    im.strip_n = NULL;
out:
    free(im.strip_n);
    free(f);
    return rc;
}

/* ------------------------------------------------------------------ */
/* streaming: rows in, hand-off file out                              */
/* ------------------------------------------------------------------ */

/* Rows are coded a strip at a time: an image of up to SINGLE_MAX bytes
   of pixels is one strip (one XObject, as a page has always been), a
   larger one strips of about STRIP_BYTES, each gathered whole and
   deflated by libdeflate (level FLATE_LEVEL) in one call: memory about
   twice a strip, whatever the sheet.  Measured on the bench's A3 600 dpi
   colour sheet (7016x9921 RGB, 209 MB; CPU s, size as % of raw): zlib
   level 1 2.21 s, 42.7 %; libdeflate level 1 in strips of 256 rows
   0.92 s, 41.8 % (level 2 1.82 s, 38.8 %; level 6 3.84 s, 37.5 %).  On
   the noisy A1 gray sheet: zlib level 1 1.38 s, 70.6 % (Z_RLE on Up rows
   0.69 s, 66.9 %); libdeflate level 1, Up rows 0.66 s, 67.5 %.  So a
   strip whose sampled rows zlib's run-length strategy codes no more than
   RLE_SLACK larger than libdeflate is coded by zlib, Up rows, in one
   call (whole A1 sheet: 0.71 s against 0.77 s before strips, 0.82 s all
   libdeflate; A0 1.47 s against 1.53 s; same sizes).
   Within a strip the predictor is chosen per band of STREAM_BAND rows
   (each row carries its filter byte, so bands may differ): the band's
   first PRED_ROWS rows deflated alone, plain, all Up, and each by its
   best PNG filter; a filter is kept when it saves PRED_GAIN (Up first:
   it costs little; the per-row choice costs more than the compression
   itself and pays only on smooth images). */
#define STREAM_BAND 256
#define RLE_SLACK 1.03         /* zlib's RLE kept when at most 3 % larger */
#define SINGLE_MAX ((size_t)32 << 20)
#define STRIP_BYTES ((size_t)8 << 20)

typedef struct sink {
    int fd;
    uLong crc;               /* of the data written so far */
    uint64_t n;
    int eno;                 /* errno of a failed write */
} sink;

static int sink_write(sink *k, const uint8_t *p, size_t n)
{
    k->crc = crc32(k->crc, p, (uInt)n);
    k->n += n;
    while (n > 0) {
        ssize_t w = write(k->fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            k->eno = w < 0 ? errno : ENOSPC;
            return SH_EIO;
        }
        p += w;
        n -= (size_t)w;
    }
    return SH_OK;
}

/* How a band's rows are filtered: none, each by its best PNG filter, or
   all by Up (type 2). */
enum { ROWS_PLAIN, ROWS_BEST, ROWS_UP };

/* Row cur (after prev) filtered as mode says, with its filter byte, in one
   of cand (returned). */
static const uint8_t *filter_row(const uint8_t *cur, const uint8_t *prev,
                                 size_t bpr, size_t bpp, int mode,
                                 uint8_t *cand[5])
{
    if (mode == ROWS_BEST)
        return cand[sh_png_filter_row(cur, prev, bpr, bpp, cand)];
    if (mode == ROWS_UP) {
        uint8_t *r = cand[2];
        r[0] = 2;
        for (size_t i = 0; i < bpr; i++)
            r[i + 1] = (uint8_t)(cur[i] - prev[i]);
        return r;
    }
    cand[0][0] = 0;
    memcpy(cand[0] + 1, cur, bpr);
    return cand[0];
}

/* The strip coder's memory (see sh_pdf_image_save_rows). */
typedef struct striper {
    size_t bpr, bpp, slot;   /* slot = bpr + 1: a row and its filter byte */
    uint8_t *rows;           /* strip_rows + 1 slots: raw at +1, then
                                filtered in place                         */
    uint8_t *zero;           /* bpr zero bytes: the row above the first   */
    uint8_t *cand[5];        /* filter candidates, slot bytes each        */
    uint8_t *trial;          /* PRED_ROWS slots                           */
    uint8_t *out;            /* the strip's code (nout bytes)             */
    size_t nout, ntrial_out;
    uint8_t *trial_out;
    struct libdeflate_compressor *c;
    z_stream rz;             /* zlib, level FLATE_LEVEL, Z_RLE            */
    int *mode;               /* each band's rows (ROWS_*)                 */
} striper;

/* Deflated size of rows i0 .. i0+nr of the strip (raw, at +1 of their
   slots), filtered as mode says.  0: cannot tell. */
static size_t trial_size(striper *s, int i0, int nr, int mode)
{
    for (int i = 0; i < nr; i++) {
        const uint8_t *cur = s->rows + (size_t)(i0 + i) * s->slot + 1;
        const uint8_t *pv = i0 + i ? cur - s->slot : s->zero;
        memcpy(s->trial + (size_t)i * s->slot,
               filter_row(cur, pv, s->bpr, s->bpp, mode, s->cand), s->slot);
    }
    return libdeflate_zlib_compress(s->c, s->trial, (size_t)nr * s->slot,
                                    s->trial_out, s->ntrial_out);
}

/* Deflated size, by zlib's run-length strategy (s->rz), of rows i0 ..
   i0+nr of the strip, Up-filtered.  0: cannot tell. */
static size_t trial_rle(striper *s, int i0, int nr)
{
    if (deflateReset(&s->rz) != Z_OK)
        return 0;
    for (int i = 0; i < nr; i++) {
        const uint8_t *cur = s->rows + (size_t)(i0 + i) * s->slot + 1;
        const uint8_t *pv = i0 + i ? cur - s->slot : s->zero;
        memcpy(s->trial + (size_t)i * s->slot,
               filter_row(cur, pv, s->bpr, s->bpp, ROWS_UP, s->cand), s->slot);
    }
    s->rz.next_in = s->trial;
    s->rz.avail_in = (uInt)((size_t)nr * s->slot);
    s->rz.next_out = s->trial_out;
    s->rz.avail_out = (uInt)s->ntrial_out;
    return deflate(&s->rz, Z_FINISH) == Z_STREAM_END ? (size_t)s->rz.total_out
                                                      : 0;
}

/* Filter the strip's nr rows in place (bottom up, so each row's upper
   neighbour is still raw), each band by the mode its first rows choose;
   returns 1 when the strip is to be coded by zlib's run-length strategy
   (every band Up: its trials were no larger than libdeflate's), else 0
   (libdeflate). */
static int filter_strip(striper *s, int nr)
{
    int nb = (nr + STREAM_BAND - 1) / STREAM_BAND, rle = 1;
    size_t ld_sum = 0, rle_sum = 0;
    for (int b = 0; b < nb; b++) {
        int b0 = b * STREAM_BAND;
        int tn = nr - b0 < PRED_ROWS ? nr - b0 : PRED_ROWS;
        size_t plain = trial_size(s, b0, tn, ROWS_PLAIN);
        size_t up = plain ? trial_size(s, b0, tn, ROWS_UP) : 0;
        size_t best = plain ? trial_size(s, b0, tn, ROWS_BEST) : 0;
        size_t r = plain ? trial_rle(s, b0, tn) : 0;
        int mode = ROWS_PLAIN;
        size_t least = plain;
        if (up && (double)up < PRED_GAIN * (double)least) {
            mode = ROWS_UP;
            least = up;
        }
        if (best && (double)best < PRED_GAIN * (double)least) {
            mode = ROWS_BEST;
            least = best;
        }
        s->mode[b] = mode;
        ld_sum += least;
        rle_sum += r;
        rle = rle && r;
    }
    rle = rle && (double)rle_sum <= RLE_SLACK * (double)ld_sum;
    for (int b = nb - 1; b >= 0; b--) {
        int b0 = b * STREAM_BAND, b1 = b0 + STREAM_BAND < nr ? b0 + STREAM_BAND
                                                             : nr;
        int mode = rle ? ROWS_UP : s->mode[b];
        for (int i = b1 - 1; i >= b0; i--) {
            uint8_t *r = s->rows + (size_t)i * s->slot;
            const uint8_t *pv = i ? r - s->slot + 1 : s->zero;
            if (mode == ROWS_PLAIN) {
                r[0] = 0;
            } else if (mode == ROWS_UP) {
                r[0] = 2;
                for (size_t x = 0; x < s->bpr; x++)
                    r[x + 1] = (uint8_t)(r[x + 1] - pv[x]);
            } else {
                memcpy(r, filter_row(r + 1, pv, s->bpr, s->bpp, mode,
                                     s->cand), s->slot);
            }
        }
    }
    return rle;
}

/* Code the strip's nr filtered rows into s->out: by zlib's run-length
   strategy (rle) or libdeflate.  Returns the code's length, 0 on
   failure. */
static size_t code_strip(striper *s, int nr, int rle)
{
    size_t n = (size_t)nr * s->slot;
    if (!rle)
        return libdeflate_zlib_compress(s->c, s->rows, n, s->out, s->nout);
    if (deflateReset(&s->rz) != Z_OK || n > UINT_MAX || s->nout > UINT_MAX)
        return 0;
    s->rz.next_in = s->rows;
    s->rz.avail_in = (uInt)n;
    s->rz.next_out = s->out;
    s->rz.avail_out = (uInt)s->nout;
    return deflate(&s->rz, Z_FINISH) == Z_STREAM_END ? (size_t)s->rz.total_out
                                                      : 0;
}

int sh_pdf_image_save_rows(const char *path, int w, int h, int ncomp,
                           sh_pdf_row_fn next, void *ctx, sh_pdf_image *info,
                           sh_err *err)
{
    if (!path || !next || !info)
        return sh_errf(err, SH_EUSAGE, "sh_pdf_image_save_rows: NULL "
                       "argument");
    memset(info, 0, sizeof *info);
    if (w < 1 || h < 1 || w > DIM_MAX || h > DIM_MAX ||
        (ncomp != 1 && ncomp != 3))
        return sh_errf(err, SH_EUSAGE, "%s: cannot save a %dx%d image of "
                       "%d components", path, w, h, ncomp);
    striper s = {.bpr = (size_t)w * (size_t)ncomp, .bpp = (size_t)ncomp};
    s.slot = s.bpr + 1;
    /* the strips: nstrip of R rows (+ the one shared with the next) */
    size_t raw = (size_t)h * s.bpr;
    int nstrip = 1, R = h;
    if (raw > SINGLE_MAX) {
        size_t want = (raw + STRIP_BYTES - 1) / STRIP_BYTES;
        R = (int)(((size_t)h + want - 1) / want);
        nstrip = (h + R - 1) / R;
    }
    int cap_rows = nstrip > 1 ? R + 1 : h;
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid());
    size_t tn = table_size(nstrip), hn = IMGF_HEADER + tn;
    uint8_t *hdr = calloc(1, hn);
    size_t *sn = calloc((size_t)nstrip, sizeof *sn);
    sink k = {.fd = -1, .crc = crc32(0, NULL, 0)};
    int rc = SH_ENOMEM;
    s.c = libdeflate_alloc_compressor(FLATE_LEVEL);
    int rinit = deflateInit2(&s.rz, FLATE_LEVEL, Z_DEFLATED, 15, 8,
                             Z_RLE) == Z_OK;
    s.mode = malloc(((size_t)cap_rows / STREAM_BAND + 1) * sizeof *s.mode);
    s.rows = malloc((size_t)cap_rows * s.slot);
    s.zero = calloc(1, s.bpr);
    uint8_t *cand = malloc(5 * s.slot), *carry = malloc(s.bpr);
    s.trial = malloc(PRED_ROWS * s.slot);
    if (s.c && rinit) {
        size_t n = (size_t)cap_rows * s.slot, n4 = PRED_ROWS * s.slot;
        size_t zb = deflateBound(&s.rz, (uLong)n), ztb = deflateBound(&s.rz,
                                                                    (uLong)n4);
        s.nout = libdeflate_zlib_compress_bound(s.c, n);
        s.ntrial_out = libdeflate_zlib_compress_bound(s.c, n4);
        s.nout = s.nout > zb ? s.nout : zb;
        s.ntrial_out = s.ntrial_out > ztb ? s.ntrial_out : ztb;
    }
    s.out = s.c ? malloc(s.nout) : NULL;
    s.trial_out = s.c ? malloc(s.ntrial_out) : NULL;
    if (!hdr || !sn || !s.c || !rinit || !s.mode || !s.rows || !s.zero ||
        !cand || !carry || !s.trial || !s.out || !s.trial_out)
        goto out;
    for (int f = 0; f < 5; f++)
        s.cand[f] = cand + (size_t)f * s.slot;
    k.fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                (mode_t)sh_private_mode(path, 0));
    if (k.fd < 0) {
        rc = sh_errf(err, sh_io_rc(errno), "%s: cannot create: %s", tmp,
                     strerror(errno));
        goto out;
    }
    if (lseek(k.fd, (off_t)hn, SEEK_SET) != (off_t)hn) {
        k.eno = errno;
        rc = SH_EIO;
        goto io;
    }
    for (int st = 0; st < nstrip; st++) {
        int y0 = st * R;
        int nr = st == nstrip - 1 ? h - y0 : R + 1;
        for (int i = 0; i < nr; i++) {
            uint8_t *row = s.rows + (size_t)i * s.slot + 1;
            if (i == 0 && st > 0)
                memcpy(row, carry, s.bpr);   /* shared with the last strip */
            else if ((rc = next(ctx, y0 + i, row, err)))
                goto out;
        }
        if (st < nstrip - 1)
            memcpy(carry, s.rows + (size_t)(nr - 1) * s.slot + 1, s.bpr);
        size_t zn = code_strip(&s, nr, filter_strip(&s, nr));
        if (zn == 0) {
            rc = SH_ENOMEM;
            goto io;
        }
        sn[st] = zn;
        if ((rc = sink_write(&k, s.out, zn)))
            goto io;
    }
    if (k.n > IMG_DATA_MAX) {
        rc = sh_errf(err, SH_ELIMIT, "%s: image data over 2 GiB", path);
        goto out;
    }
    info->filter = SH_PDF_FLATE;
    info->w = w;
    info->h = h;
    info->bpc = 8;
    info->ncomp = ncomp;
    info->n = (size_t)k.n;
    info->nstrip = nstrip;
    info->strip_rows = R;
    info->strip_n = sn;
    put_header(hdr, info);
    info->strip_n = NULL;
    put32(hdr + 36, (uint32_t)crc32_combine(head_crc(hdr, tn), k.crc,
                                            (z_off_t)k.n));
    if (pwrite(k.fd, hdr, hn, 0) != (ssize_t)hn) {
        k.eno = errno ? errno : EIO;
        rc = SH_EIO;
        goto io;
    }
    if (sh_fsync(k.fd) < 0) {
        k.eno = errno;
        rc = SH_EIO;
        goto io;
    }
    int fd = k.fd;
    k.fd = -1;
    if (close(fd) < 0 || rename(tmp, path) < 0) {
        rc = sh_errf(err, sh_io_rc(errno), "%s: cannot rename into place: %s",
                     path, strerror(errno));
        goto out;
    }
    sh_fsync_dir_of(path);
    rc = SH_OK;
    goto out;
io:
    if (rc == SH_EIO)
        rc = sh_errf(err, sh_io_rc(k.eno), "%s: write failed: %s", path,
                     strerror(k.eno));
    else
        rc = sh_errf(err, rc, "%s: Flate encoding failed", path);
out:
    if (rc == SH_ENOMEM && err && !err->msg[0])
        sh_errf(err, rc, "%s: out of memory", path);
    if (rc)
        memset(info, 0, sizeof *info);
    if (k.fd >= 0)
        close(k.fd);
    if (rc)
        unlink(tmp);
    if (s.c)
        libdeflate_free_compressor(s.c);
    if (rinit)
        deflateEnd(&s.rz);
    free(s.mode);
    free(s.rows);
    free(s.zero);
    free(cand);
    free(carry);
    free(s.trial);
    free(s.out);
    free(s.trial_out);
    free(sn);
    free(hdr);
    return rc;
}

/* Rows of an 8 bpp or 32 bpp pix (sh_pdf_image_save_pix). */
static int pix_row(void *ctx, int y, uint8_t *row, sh_err *err)
{
    PIX *pix = ctx;
    get_row(pix, pixGetDepth(pix) == 8 ? 1 : 3, y, row);
    return SH_OK;
}

int sh_pdf_image_save_pix(PIX *pix, const char *path, sh_pdf_image *info,
                          sh_err *err)
{
    if (!info)
        return sh_errf(err, SH_EUSAGE, "sh_pdf_image_save_pix: no output");
    memset(info, 0, sizeof *info);
    int d = pix ? pixGetDepth(pix) : 0;
    if ((d == 8 || d == 32) && !pixGetColormap(pix))
        return sh_pdf_image_save_rows(path, pixGetWidth(pix),
                                      pixGetHeight(pix), d == 8 ? 1 : 3,
                                      pix_row, pix, info, err);
    int rc = sh_pdf_image_from_pix(pix, info, err);
    if (!rc)
        rc = sh_pdf_image_save(info, path, err);
    if (!rc) {                  /* as the streamed case: no data kept */
        free(info->data);
        info->data = NULL;
    } else {
        sh_pdf_image_release(info);
    }
    return rc;
}
