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
 * their frame header says 8 bits and 1 or 3 components.  The hand-off
 * file is a 48-byte little-endian header (see IMGF_*) with a CRC-32 over
 * header and data, then the encoded bytes, written atomically; loading
 * checks every field, the length, the CRC and, for JPEG, the frame
 * header again.
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

#include <tiffio.h>
#include <zlib.h>

#define DIM_MAX 1000000          /* image pixels on a side            */
#define IMG_DATA_MAX ((size_t)1 << 31)

/* Hand-off file, little-endian: magic[8], u32 version, filter, w, h, bpc,
   ncomp, black_is_1, u32 CRC-32 (header + data), u64 data length, data. */
#define IMGF_MAGIC "SHPDFIMG"
#define IMGF_VERSION 1
#define IMGF_HEADER 48

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
   streamed coder (sh_pdf_image_save_rows) also tries zlib's run-length
   strategy (Z_RLE) on Up-filtered rows: on the noisy A1 gray 0.59 s,
   66.9 % against level 1's 1.13 s, 70.6 %; on the A3 colour sheet (whose
   pixels repeat at distances RLE does not see) 65 % against 43 %, so it
   is kept only for bands where its trial is no larger. */
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
    memset(img, 0, sizeof *img);
}

/* CRC-32 of a hand-off file: its header but the CRC field, then data. */
static uint32_t file_crc(const uint8_t *hdr, const uint8_t *data, size_t n)
{
    uLong c = crc32(0, hdr, 36);
    c = crc32(c, hdr + 40, IMGF_HEADER - 40);
    return (uint32_t)crc32(c, data, (uInt)n);
}

int sh_pdf_image_save(const sh_pdf_image *img, const char *path, sh_err *err)
{
    if (!img || !path)
        return sh_errf(err, SH_EUSAGE, "sh_pdf_image_save: NULL argument");
    const char *why = sh__pdf_image_problem(img);
    if (why)
        return sh_errf(err, SH_EUSAGE, "%s: cannot save image: %s", path, why);
    uint8_t *f = malloc(IMGF_HEADER + img->n);
    if (!f)
        return sh_errf(err, SH_ENOMEM, "%s: out of memory", path);
    memcpy(f, IMGF_MAGIC, 8);
    put32(f + 8, IMGF_VERSION);
    put32(f + 12, (uint32_t)img->filter);
    put32(f + 16, (uint32_t)img->w);
    put32(f + 20, (uint32_t)img->h);
    put32(f + 24, (uint32_t)img->bpc);
    put32(f + 28, (uint32_t)img->ncomp);
    put32(f + 32, (uint32_t)img->black_is_1);
    put32(f + 40, (uint32_t)((uint64_t)img->n & 0xFFFFFFFFu));
    put32(f + 44, (uint32_t)((uint64_t)img->n >> 32));
    put32(f + 36, file_crc(f, img->data, img->n));
    memcpy(f + IMGF_HEADER, img->data, img->n);
    int rc = sh_write_atomic(path, f, IMGF_HEADER + img->n, err);
    free(f);
    return rc;
}

int sh_pdf_image_load(const char *path, sh_pdf_image *out, sh_err *err)
{
    uint8_t *f = NULL;
    size_t n = 0;
    int rc;
    if (!out)
        return sh_errf(err, SH_EUSAGE, "sh_pdf_image_load: no output");
    memset(out, 0, sizeof *out);
    if (!path)
        return sh_errf(err, SH_EUSAGE, "sh_pdf_image_load: no path");
    rc = sh_read_file(path, IMGF_HEADER + IMG_DATA_MAX, &f, &n, err);
    if (rc)
        return rc;
    sh_pdf_image im = {0};
    uint64_t dn;
    if (n < IMGF_HEADER || memcmp(f, IMGF_MAGIC, 8) != 0) {
        rc = sh_errf(err, SH_EINPUT, "%s: not a sohoa PDF image file", path);
        goto out;
    }
    if (get32(f + 8) != IMGF_VERSION) {
        rc = sh_errf(err, SH_EINPUT, "%s: image file version %u, expected %d",
                     path, get32(f + 8), IMGF_VERSION);
        goto out;
    }
    dn = (uint64_t)get32(f + 40) | (uint64_t)get32(f + 44) << 32;
    if (dn != n - IMGF_HEADER) {
        rc = sh_errf(err, SH_EINPUT, "%s: header says %llu data bytes, file "
                     "has %zu (truncated or corrupt)", path,
                     (unsigned long long)dn, n - IMGF_HEADER);
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
    im.data = f + IMGF_HEADER;
    im.n = (size_t)dn;
    const char *why = sh__pdf_image_problem(&im);
    if (why) {
        rc = sh_errf(err, SH_EINPUT, "%s: corrupt image header: %s", path, why);
        goto out;
    }
    if (file_crc(f, im.data, im.n) != get32(f + 36)) {
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
    memmove(f, f + IMGF_HEADER, im.n);
    *out = im;
    out->data = f;
    f = NULL;
out:
    free(f);
    return rc;
}

/* ------------------------------------------------------------------ */
/* streaming: rows in, hand-off file out                              */
/* ------------------------------------------------------------------ */

/* The predictor is chosen per band of STREAM_BAND rows (each row carries
   its filter byte, so bands may differ): the band's first PRED_ROWS rows
   deflated alone with and without PNG filters, filters kept when they
   save PRED_GAIN; then Up rows under Z_RLE instead when their trial is no
   larger (deflateParams switches the strategy between bands).  Output goes to the file in STREAM_OUT pieces. */
#define STREAM_BAND 256
#define STREAM_OUT ((size_t)1 << 20)

typedef struct sink {
    int fd;
    uint8_t *buf;            /* STREAM_OUT bytes */
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

/* Deflate in[0..n) into the file (flush Z_NO_FLUSH or Z_FINISH). */
static int sink_deflate(z_stream *zs, sink *k, const uint8_t *in, size_t n,
                        int flush)
{
    zs->next_in = (Bytef *)in;
    zs->avail_in = (uInt)n;
    for (;;) {
        zs->next_out = k->buf;
        zs->avail_out = (uInt)STREAM_OUT;
        int r = deflate(zs, flush);
        if (r == Z_STREAM_ERROR)
            return SH_ENOMEM;
        size_t got = STREAM_OUT - zs->avail_out;
        if (got && sink_write(k, k->buf, got))
            return SH_EIO;
        if (flush == Z_FINISH ? r == Z_STREAM_END
                              : zs->avail_in == 0 && zs->avail_out != 0)
            return SH_OK;
    }
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

/* Deflated size of rows[0..nr) (after prev), filtered as mode says, by
   tz (reset first).  0: cannot tell. */
static size_t trial_size(z_stream *tz, const uint8_t *rows, int nr,
                         const uint8_t *prev, size_t bpr, size_t bpp,
                         int mode, uint8_t *cand[5], uint8_t *zb)
{
    if (deflateReset(tz) != Z_OK)
        return 0;
    for (int i = 0; i < nr; i++) {
        const uint8_t *cur = rows + (size_t)i * bpr;
        const uint8_t *pv = i ? cur - bpr : prev;
        tz->next_in = (Bytef *)filter_row(cur, pv, bpr, bpp, mode, cand);
        tz->avail_in = (uInt)(bpr + 1);
        do {                             /* only the size is wanted */
            tz->next_out = zb;
            tz->avail_out = (uInt)(bpr + 1024);
            if (deflate(tz, Z_NO_FLUSH) == Z_STREAM_ERROR)
                return 0;
        } while (tz->avail_in > 0);
    }
    int r;
    do {
        tz->next_out = zb;
        tz->avail_out = (uInt)(bpr + 1024);
        r = deflate(tz, Z_FINISH);
    } while (r == Z_OK);
    return r == Z_STREAM_END ? (size_t)tz->total_out : 0;
}

/* Switch zs to strategy st between bands (deflateParams first codes what
   it holds with the old one, into the file). */
static int set_strategy(z_stream *zs, sink *k, int st)
{
    for (;;) {
        zs->next_in = NULL;
        zs->avail_in = 0;
        zs->next_out = k->buf;
        zs->avail_out = (uInt)STREAM_OUT;
        int r = deflateParams(zs, FLATE_LEVEL, st);
        size_t got = STREAM_OUT - zs->avail_out;
        if (got && sink_write(k, k->buf, got))
            return SH_EIO;
        if (r == Z_OK)
            return SH_OK;
        if (r != Z_BUF_ERROR)
            return SH_ENOMEM;
    }
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
    size_t bpr = (size_t)w * (size_t)ncomp, bpp = (size_t)ncomp;
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid());
    /* prev, PRED_ROWS rows, 5 candidates, the trial's output */
    uint8_t *mem = malloc((1 + PRED_ROWS) * bpr + 5 * (bpr + 1) + bpr + 1024);
    sink k = {.fd = -1, .buf = malloc(STREAM_OUT), .crc = crc32(0, NULL, 0)};
    z_stream zs, tz, rz;
    memset(&zs, 0, sizeof zs);
    memset(&tz, 0, sizeof tz);
    memset(&rz, 0, sizeof rz);
    int zinit = 0, tinit = 0, rinit = 0, rc = SH_ENOMEM, strategy = -1;
    if (!mem || !k.buf)
        goto out;
    uint8_t *prev = mem, *ring = mem + bpr, *cand[5];
    for (int f = 0; f < 5; f++)
        cand[f] = ring + PRED_ROWS * bpr + (size_t)f * (bpr + 1);
    uint8_t *zb = cand[4] + bpr + 1;
    if (deflateInit(&zs, FLATE_LEVEL) != Z_OK)
        goto out;
    zinit = 1;
    if (deflateInit(&tz, FLATE_LEVEL) != Z_OK)
        goto out;
    tinit = 1;
    if (deflateInit2(&rz, FLATE_LEVEL, Z_DEFLATED, 15, 8, Z_RLE) != Z_OK)
        goto out;
    rinit = 1;
    k.fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                (mode_t)sh_private_mode(path, 0));
    if (k.fd < 0) {
        rc = sh_errf(err, sh_io_rc(errno), "%s: cannot create: %s", tmp,
                     strerror(errno));
        goto out;
    }
    uint8_t hdr[IMGF_HEADER] = {0};
    uLong crc_data0 = k.crc;
    if ((rc = sink_write(&k, hdr, IMGF_HEADER)))
        goto io;
    k.crc = crc_data0;          /* the header is counted at the end */
    k.n = 0;
    memset(prev, 0, bpr);
    for (int y = 0; y < h;) {
        int nr = h - y < PRED_ROWS ? h - y : PRED_ROWS;
        for (int i = 0; i < nr; i++)
            if ((rc = next(ctx, y + i, ring + (size_t)i * bpr, err)))
                goto out;
        size_t plain = trial_size(&tz, ring, nr, prev, bpr, bpp, ROWS_PLAIN,
                                  cand, zb);
        size_t filt = plain ? trial_size(&tz, ring, nr, prev, bpr, bpp,
                                         ROWS_BEST, cand, zb) : 0;
        size_t rle = plain ? trial_size(&rz, ring, nr, prev, bpr, bpp,
                                        ROWS_UP, cand, zb) : 0;
        int mode = plain && filt && (double)filt < PRED_GAIN * (double)plain
                       ? ROWS_BEST : ROWS_PLAIN;
        size_t best = mode == ROWS_BEST ? filt : plain;
        /* run-length coding of the Up differences: half the time of level
           1's matches, and as small or smaller on noisy scans */
        if (rle && best && rle <= best)
            mode = ROWS_UP;
        int st = mode == ROWS_UP ? Z_RLE : Z_DEFAULT_STRATEGY;
        if (st != strategy) {
            if (strategy >= 0 && (rc = set_strategy(&zs, &k, st)))
                goto io;
            if (strategy < 0 && st != Z_DEFAULT_STRATEGY &&
                deflateParams(&zs, FLATE_LEVEL, st) != Z_OK) {
                rc = SH_ENOMEM;
                goto out;
            }
            strategy = st;
        }
        int end = h - y < STREAM_BAND ? h : y + STREAM_BAND;
        for (int yy = y; yy < end; yy++) {
            uint8_t *cur = ring;            /* rows past the trial: here */
            if (yy - y < nr)
                cur = ring + (size_t)(yy - y) * bpr;
            else if ((rc = next(ctx, yy, cur, err)))
                goto out;
            const uint8_t *row = filter_row(cur, prev, bpr, bpp, mode, cand);
            if ((rc = sink_deflate(&zs, &k, row, bpr + 1, Z_NO_FLUSH)))
                goto io;
            memcpy(prev, cur, bpr);
        }
        y = end;
    }
    if ((rc = sink_deflate(&zs, &k, NULL, 0, Z_FINISH)))
        goto io;
    if (k.n > IMG_DATA_MAX) {
        rc = sh_errf(err, SH_ELIMIT, "%s: image data over 2 GiB", path);
        goto out;
    }
    memcpy(hdr, IMGF_MAGIC, 8);
    put32(hdr + 8, IMGF_VERSION);
    put32(hdr + 12, SH_PDF_FLATE);
    put32(hdr + 16, (uint32_t)w);
    put32(hdr + 20, (uint32_t)h);
    put32(hdr + 24, 8);
    put32(hdr + 28, (uint32_t)ncomp);
    put32(hdr + 32, 0);
    put32(hdr + 40, (uint32_t)(k.n & 0xFFFFFFFFu));
    put32(hdr + 44, (uint32_t)(k.n >> 32));
    uLong ch = crc32(crc32(0, hdr, 36), hdr + 40, IMGF_HEADER - 40);
    put32(hdr + 36, (uint32_t)crc32_combine(ch, k.crc, (z_off_t)k.n));
    if (pwrite(k.fd, hdr, IMGF_HEADER, 0) != IMGF_HEADER) {
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
    info->filter = SH_PDF_FLATE;
    info->w = w;
    info->h = h;
    info->bpc = 8;
    info->ncomp = ncomp;
    info->n = (size_t)k.n;
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
    if (k.fd >= 0)
        close(k.fd);
    if (rc)
        unlink(tmp);
    if (zinit)
        deflateEnd(&zs);
    if (tinit)
        deflateEnd(&tz);
    if (rinit)
        deflateEnd(&rz);
    free(k.buf);
    free(mem);
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
