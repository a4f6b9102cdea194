/*
 * pdfin_image.c — one image of a scanner PDF page: its dictionary read
 * and checked, its pixels decoded into a frame.
 *
 *   sh__pdf_image_info   /Width, /Height, colour space, /Decode, filters,
 *                        against the limits, before any decoding
 *   sh__pdf_image_pix    the pixels, by the decoder of the last filter
 *
 * Method.  DCTDecode goes to jpeg.c's decoder under PDF rules (its bytes
 * are offered for pass-through when they mean the same alone, and a
 * non-default /Decode is applied after); CCITTFaxDecode is wrapped in a
 * one-strip TIFF in memory (tiffmem.c) and decoded by libtiff with
 * tiff.c's message capture, so a fax stream that ends early is an error,
 * not a white band; JBIG2Decode goes to jbig2dec with its allocations
 * capped from the declared size.  Other pixels are converted here from
 * gray, RGB, CMYK, ICCBased (by /N), CalGray/CalRGB and Indexed colour at
 * 1..16 bits, through /Decode.  JPEG 2000, Lab, Separation and DeviceN
 * are refused by name.  An /ImageMask is read as black ink on white; soft
 * masks are ignored.
 */
#include "pdfin_int.h"
#include "tiffmem.h"

#include <limits.h>
#include <stdlib.h>

#include <jbig2.h>

/* ------------------------------------------------------------------ */
/* one image                                                           */
/* ------------------------------------------------------------------ */

__attribute__((format(printf, 4, 5)))
static int img_err(pg *c, const pimg *im, int rc, const char *fmt, ...)
{
    char text[700];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    if (im->id)
        return PERR(c, rc, "image (object %d): %s", im->id, text);
    return PERR(c, rc, "image: %s", text);
}

static void cmyk_to_rgb(unsigned cc, unsigned m, unsigned y, unsigned k,
                        uint8_t out[3])
{
    out[0] = (uint8_t)((255 - cc) * (255 - k) / 255);
    out[1] = (uint8_t)((255 - m) * (255 - k) / 255);
    out[2] = (uint8_t)((255 - y) * (255 - k) / 255);
}

/* Colour space cs into im (ncomp; palette when Indexed). */
static int parse_cs(pg *c, pimg *im, qpdf_oh cs, int nested)
{
    qpdf_data q = c->q;
    char fam[64];
    qpdf_oh arg = 0;
    if (!name_of(q, cs, fam, sizeof fam)) {
        if (!cs || !qpdf_oh_is_array(q, cs) ||
            qpdf_oh_get_array_n_items(q, cs) < 1 ||
            !name_of(q, qpdf_oh_get_array_item(q, cs, 0), fam, sizeof fam))
            return img_err(c, im, SH_EINPUT, "unreadable /ColorSpace");
        if (qpdf_oh_get_array_n_items(q, cs) > 1)
            arg = qpdf_oh_get_array_item(q, cs, 1);
    }
    if (!strcmp(fam, "DeviceGray") || !strcmp(fam, "G") ||
        !strcmp(fam, "CalGray")) {
        im->ncomp = 1;
    } else if (!strcmp(fam, "DeviceRGB") || !strcmp(fam, "RGB") ||
               !strcmp(fam, "CalRGB")) {
        im->ncomp = 3;
    } else if (!strcmp(fam, "DeviceCMYK") || !strcmp(fam, "CMYK")) {
        im->ncomp = 4;
    } else if (!strcmp(fam, "ICCBased")) {
        long nc = dint(q, arg, "/N", 1, 4, 0);
        if (nc != 1 && nc != 3 && nc != 4)
            return img_err(c, im, SH_EINPUT,
                           "ICCBased colour space with /N %ld", nc);
        im->ncomp = (int)nc;
    } else if ((!strcmp(fam, "Indexed") || !strcmp(fam, "I")) && !nested) {
        if (qpdf_oh_get_array_n_items(q, cs) != 4)
            return img_err(c, im, SH_EINPUT, "malformed Indexed colour space");
        int rc = parse_cs(c, im, arg, 1);
        if (rc)
            return rc;
        double hv;
        if (!num_of(q, qpdf_oh_get_array_item(q, cs, 2), &hv) || hv < 0 ||
            hv > 255)
            return img_err(c, im, SH_EINPUT,
                           "Indexed colour space: bad hival");
        im->hival = (int)hv;
        size_t need = (size_t)(im->hival + 1) * im->ncomp, have = 0;
        uint8_t lut[256 * 4] = {0};
        qpdf_oh lo = qpdf_oh_get_array_item(q, cs, 3);
        if (qpdf_oh_is_stream(q, lo)) {
            uint8_t *b = NULL;
            rc = sh__pdf_stream_bytes(c, lo, need, need, &b, &have, "palette");
            if (rc)
                return rc;
            memcpy(lut, b, have < need ? have : need);
            free(b);
        } else {
            const char *b = qpdf_oh_is_string(q, lo)
                                ? qpdf_oh_get_binary_string_value(q, lo, &have)
                                : NULL;
            if (!b)
                return img_err(c, im, SH_EINPUT,
                               "Indexed colour space without a palette");
            memcpy(lut, b, have < need ? have : need);
        }
        if (have < need)
            sh_log(SH_LOG_WARN, "%s: page %d: image (object %d): palette has "
                   "%zu of %zu bytes; the rest taken as 0", c->s->path,
                   c->n + 1, im->id, have, need);
        for (int i = 0; i <= im->hival; i++) {
            const uint8_t *e = lut + (size_t)i * im->ncomp;
            if (im->ncomp == 1)
                im->pal[i][0] = im->pal[i][1] = im->pal[i][2] = e[0];
            else if (im->ncomp == 3)
                memcpy(im->pal[i], e, 3);
            else
                cmyk_to_rgb(e[0], e[1], e[2], e[3], im->pal[i]);
        }
        im->indexed = 1;
    } else {
        return img_err(c, im, SH_EINPUT, "colour space /%s is not supported",
                       fam);
    }
    return qpdf_check(c, "colour space");
}

/* What the image dictionary says, checked against the limits. */
int sh__pdf_image_info(pg *c, qpdf_oh oh, pimg *im)
{
    qpdf_data q = c->q;
    memset(im, 0, sizeof *im);
    im->oh = oh;
    im->id = qpdf_oh_get_object_id(q, oh);
    double w, h;
    if (!num_of(q, dget(q, oh, "/Width"), &w) ||
        !num_of(q, dget(q, oh, "/Height"), &h) || w < 0 || h < 0 ||
        w > 4e9 || h > 4e9 || w != floor(w) || h != floor(h))
        return img_err(c, im, SH_EINPUT, "no usable /Width and /Height");
    im->w = (uint32_t)w;
    im->h = (uint32_t)h;
    int rc = sh__check_size(c->s, c->n, im->w, im->h, c->err);
    if (rc)
        return rc;

    char what[64];
    snprintf(what, sizeof what, "image (object %d)", im->id);
    rc = sh__pdf_get_filters(c, oh, im->f, &im->nf, what);
    if (rc)
        return rc;
    const char *last = im->nf ? im->f[im->nf - 1].name : "";
    for (int i = 0; i + 1 < im->nf; i++)
        if (sh__pdf_is_image_filter(im->f[i].name))
            return img_err(c, im, SH_EINPUT,
                           "filter /%s before another filter",
                           im->f[i].name);
    if (!strcmp(last, "JPXDecode"))
        return img_err(c, im, SH_EINPUT,
                       "JPEG 2000 (JPXDecode) images are not supported");
    im->kind = !strcmp(last, "DCTDecode")        ? K_DCT
               : !strcmp(last, "CCITTFaxDecode") ? K_CCITT
               : !strcmp(last, "JBIG2Decode")    ? K_JBIG2
                                                 : K_RAW;

    im->mask = dbool(q, oh, "/ImageMask", 0);
    long bpc = dint(q, oh, "/BitsPerComponent", 1, 16, 0);
    if (im->mask || im->kind == K_CCITT || im->kind == K_JBIG2)
        bpc = bpc ? bpc : 1;
    else if (im->kind == K_DCT)
        bpc = bpc ? bpc : 8;
    if (bpc != 1 && bpc != 2 && bpc != 4 && bpc != 8 && bpc != 16)
        return img_err(c, im, SH_EINPUT, "/BitsPerComponent missing or not 1, "
                       "2, 4, 8 or 16");
    im->bpc = (int)bpc;
    if (im->mask) {
        if (im->bpc != 1)
            return img_err(c, im, SH_EINPUT, "an /ImageMask of %d bits",
                           im->bpc);
        im->ncomp = 1;
    } else {
        qpdf_oh cs = dget(q, oh, "/ColorSpace");
        if (!cs && im->kind != K_RAW)
            im->ncomp = 1;   /* a fax or JPEG says it itself */
        else if ((rc = parse_cs(c, im, cs, 0)))
            return rc;
    }
    if ((im->kind == K_CCITT || im->kind == K_JBIG2) &&
        (im->bpc != 1 || im->ncomp != 1 || im->indexed))
        return img_err(c, im, SH_EINPUT, "%s data that is not 1-bit gray",
                       im->kind == K_CCITT ? "CCITT" : "JBIG2");
    if (im->indexed && im->bpc > 8)
        return img_err(c, im, SH_EINPUT, "an Indexed image of %d bits",
                       im->bpc);
    if (im->kind == K_DCT && (im->indexed || im->mask))
        return img_err(c, im, SH_EINPUT, "JPEG data in an %s",
                       im->mask ? "image mask" : "Indexed colour space");

    /* /Decode, or the default; an invalid one is ignored as viewers do */
    int nd = im->indexed || im->mask ? 1 : im->ncomp;
    for (int i = 0; i < nd; i++) {
        im->dec[2 * i] = 0;
        im->dec[2 * i + 1] = im->indexed ? (1 << im->bpc) - 1 : 1;
    }
    im->dec_default = 1;
    qpdf_oh da = dget(q, oh, "/Decode");
    if (da && qpdf_oh_is_array(q, da) &&
        qpdf_oh_get_array_n_items(q, da) == 2 * nd) {
        double v[8];
        int ok = 1;
        for (int i = 0; ok && i < 2 * nd; i++)
            ok = num_of(q, qpdf_oh_get_array_item(q, da, i), &v[i]);
        if (ok) {
            for (int i = 0; i < 2 * nd; i++)
                if (v[i] != im->dec[i])
                    im->dec_default = 0;
            memcpy(im->dec, v, 2 * nd * sizeof(double));
        }
    }
    if (dget(q, oh, "/SMask") || dget(q, oh, "/Mask"))
        sh_log(SH_LOG_DEBUG, "%s: page %d: %s: its mask is ignored",
               c->s->path, c->n + 1, what);

    const char *first = im->nf ? im->f[0].name : "";
    if (im->kind == K_DCT)
        im->codec = "jpeg";
    else if (im->kind == K_CCITT)
        im->codec = dnum(q, im->f[im->nf - 1].parms, "/K", 0) < 0 ? "g4"
                                                                  : "g3";
    else if (im->kind == K_JBIG2)
        im->codec = "jbig2";
    else if (!strcmp(first, "FlateDecode"))
        im->codec = "deflate";
    else if (!strcmp(first, "LZWDecode"))
        im->codec = "lzw";
    else if (!strcmp(first, "RunLengthDecode"))
        im->codec = "runlength";
    else
        im->codec = "none";
    return qpdf_check(c, what);
}

/* lut[s] for samples of `bits` bits of component k through /Decode:
   0..255 for colours, a palette index for Indexed. */
static void decode_lut(const pimg *im, int k, int bits, uint8_t lut[256])
{
    unsigned maxv = (1u << bits) - 1;
    double d0 = im->dec[2 * k], d1 = im->dec[2 * k + 1];
    if (im->indexed) {
        /* /Decode maps samples into index space */
        for (unsigned s = 0; s <= maxv; s++) {
            double x = d0 + s * (d1 - d0) / maxv;
            long i = x < 0 ? 0 : x > 255 ? 255 : lround(x);
            lut[s] = (uint8_t)(i < 0 ? 0 : i > im->hival ? im->hival : i);
        }
        return;
    }
    for (unsigned s = 0; s <= maxv; s++) {
        double x = d0 + s * (d1 - d0) / maxv;
        x = x < 0 ? 0 : x > 1 ? 1 : x;
        lut[s] = (uint8_t)lround(x * 255);
    }
}

/* Sample i of a row of `bpc`-bit samples, reduced to 8 bits at 16. */
static inline unsigned samp(const uint8_t *row, size_t i, int bpc)
{
    if (bpc == 8)
        return row[i];
    if (bpc == 16)
        return row[2 * i];
    size_t bit = i * (size_t)bpc;
    return (row[bit >> 3] >> (8 - bpc - (bit & 7))) & ((1u << bpc) - 1);
}

/* Pixels after the general-purpose filters (data holds need bytes). */
static int raw_pix(pg *c, const pimg *im, const uint8_t *data, PIX **out)
{
    uint32_t w = im->w, h = im->h;
    int spp = im->indexed || im->mask ? 1 : im->ncomp;
    int bits = im->bpc > 8 ? 8 : im->bpc;
    size_t rowbytes = ((size_t)w * spp * im->bpc + 7) / 8;
    uint8_t lut[4][256];
    int depth;
    for (int k = 0; k < (im->indexed || im->mask ? 1 : im->ncomp); k++)
        decode_lut(im, k, bits, lut[k]);
    if (im->mask || (!im->indexed && im->ncomp == 1 && im->bpc == 1)) {
        depth = 1;
    } else if (im->indexed) {
        int gray = 1, bw = im->bpc == 1;
        for (int i = 0; i <= im->hival && i < (1 << bits); i++) {
            const uint8_t *e = im->pal[lut[0][i]];
            if (e[0] != e[1] || e[1] != e[2])
                gray = bw = 0;
            if (e[0] != 0 && e[0] != 255)
                bw = 0;
        }
        depth = bw ? 1 : gray ? 8 : 32;
    } else {
        depth = im->ncomp == 1 ? 8 : 32;
    }
    PIX *pix = pixCreate((l_int32)w, (l_int32)h, depth);
    if (!pix)
        return img_err(c, im, SH_ENOMEM, "out of memory for %u x %u pixels", w,
                       h);
    l_uint32 *pd = pixGetData(pix);
    int wpl = pixGetWpl(pix);
    /* 1 bpp gray: sample 0 is black (ink, for a mask) unless /Decode
       turns it; Leptonica's 1 is black */
    int flip = im->dec[0] <= im->dec[1];
    for (uint32_t y = 0; y < h; y++) {
        const uint8_t *src = data + (size_t)y * rowbytes;
        l_uint32 *line = pd + (size_t)y * wpl;
        if (depth == 1 && !im->indexed) {
            for (size_t i = 0; i < rowbytes; i++)
                SET_DATA_BYTE(line, i, flip ? (uint8_t)~src[i] : src[i]);
        } else if (depth == 1) {
            for (uint32_t x = 0; x < w; x++)
                if (im->pal[lut[0][samp(src, x, 1)]][0] == 0)
                    SET_DATA_BIT(line, x);
        } else if (im->indexed) {
            for (uint32_t x = 0; x < w; x++) {
                const uint8_t *e = im->pal[lut[0][samp(src, x, im->bpc)]];
                if (depth == 8)
                    SET_DATA_BYTE(line, x, e[0]);
                else
                    line[x] = sh__rgb_word(e[0], e[1], e[2]);
            }
        } else if (depth == 8) {
            for (uint32_t x = 0; x < w; x++)
                SET_DATA_BYTE(line, x, lut[0][samp(src, x, im->bpc)]);
        } else if (im->ncomp == 3) {
            for (uint32_t x = 0; x < w; x++) {
                size_t i = 3 * (size_t)x;
                line[x] = sh__rgb_word(lut[0][samp(src, i, im->bpc)],
                                       lut[1][samp(src, i + 1, im->bpc)],
                                       lut[2][samp(src, i + 2, im->bpc)]);
            }
        } else {
            for (uint32_t x = 0; x < w; x++) {
                size_t i = 4 * (size_t)x;
                uint8_t rgb[3];
                cmyk_to_rgb(lut[0][samp(src, i, im->bpc)],
                            lut[1][samp(src, i + 1, im->bpc)],
                            lut[2][samp(src, i + 2, im->bpc)],
                            lut[3][samp(src, i + 3, im->bpc)], rgb);
                line[x] = sh__rgb_word(rgb[0], rgb[1], rgb[2]);
            }
        }
    }
    if (depth == 1)
        sh__clear_pad_bits(pix);
    *out = pix;
    return SH_OK;
}

/* A non-default /Decode over JPEG pixels (8 bpp gray, 32 bpp RGB). */
static void apply_decode(const pimg *im, PIX *pix)
{
    uint8_t lut[3][256];
    int d = pixGetDepth(pix), nc = d == 8 ? 1 : 3;
    if (im->dec_default || (d == 8 && im->ncomp != 1) ||
        (d == 32 && im->ncomp != 3))
        return;
    for (int k = 0; k < nc; k++)
        decode_lut(im, k, 8, lut[k]);
    int w = pixGetWidth(pix), h = pixGetHeight(pix), wpl = pixGetWpl(pix);
    l_uint32 *pd = pixGetData(pix);
    for (int y = 0; y < h; y++) {
        l_uint32 *line = pd + (size_t)y * wpl;
        for (int x = 0; x < w; x++) {
            if (d == 8) {
                SET_DATA_BYTE(line, x, lut[0][GET_DATA_BYTE(line, x)]);
            } else {
                l_int32 r, g, b;
                extractRGBValues(line[x], &r, &g, &b);
                line[x] = sh__rgb_word(lut[0][r], lut[1][g], lut[2][b]);
            }
        }
    }
}

static void le16(uint8_t *p, unsigned v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void le32(uint8_t *p, uint32_t v)
{
    le16(p, v & 0xffff);
    le16(p + 2, v >> 16);
}

/* A one-strip, one-directory little-endian TIFF header whose strip is the
   ndata bytes that follow it. */
static size_t fax_header(uint8_t *b, uint32_t w, uint32_t h, int g4,
                         uint32_t t4opts, uint32_t ndata)
{
    const struct { uint16_t tag, type; uint32_t v; } e[] = {
        {TIFFTAG_IMAGEWIDTH, TIFF_LONG, w},
        {TIFFTAG_IMAGELENGTH, TIFF_LONG, h},
        {TIFFTAG_BITSPERSAMPLE, TIFF_SHORT, 1},
        {TIFFTAG_COMPRESSION, TIFF_SHORT,
         g4 ? COMPRESSION_CCITTFAX4 : COMPRESSION_CCITTFAX3},
        {TIFFTAG_PHOTOMETRIC, TIFF_SHORT, PHOTOMETRIC_MINISWHITE},
        {TIFFTAG_FILLORDER, TIFF_SHORT, FILLORDER_MSB2LSB},
        {TIFFTAG_STRIPOFFSETS, TIFF_LONG, 0},   /* set below */
        {TIFFTAG_SAMPLESPERPIXEL, TIFF_SHORT, 1},
        {TIFFTAG_ROWSPERSTRIP, TIFF_LONG, h},
        {TIFFTAG_STRIPBYTECOUNTS, TIFF_LONG, ndata},
        {g4 ? TIFFTAG_T6OPTIONS : TIFFTAG_T4OPTIONS, TIFF_LONG,
         g4 ? 0 : t4opts},
    };
    size_t ne = SH_ARRAY_LEN(e), nhdr = 8 + 2 + 12 * ne + 4;
    b[0] = b[1] = 'I';
    le16(b + 2, 42);
    le32(b + 4, 8);
    le16(b + 8, (unsigned)ne);
    for (size_t i = 0; i < ne; i++) {
        uint8_t *p = b + 10 + 12 * i;
        uint32_t v = e[i].tag == TIFFTAG_STRIPOFFSETS ? (uint32_t)nhdr
                                                      : e[i].v;
        le16(p, e[i].tag);
        le16(p + 2, e[i].type);
        le32(p + 4, 1);
        if (e[i].type == TIFF_SHORT) {
            le16(p + 8, v);
            le16(p + 10, 0);
        } else {
            le32(p + 8, v);
        }
    }
    le32(b + 10 + 12 * ne, 0);
    return nhdr;
}

static int ccitt_pix(pg *c, const pimg *im, const uint8_t *data, size_t n,
                     PIX **out)
{
    qpdf_data q = c->q;
    sh_scan *s = c->s;
    qpdf_oh parms = im->f[im->nf - 1].parms;
    long k = dint(q, parms, "/K", -1000000, 1000000, 0);
    double cols = dnum(q, parms, "/Columns", 1728);
    int black1 = dbool(q, parms, "/BlackIs1", 0);
    int align = dbool(q, parms, "/EncodedByteAlign", 0);
    int rc = SH_OK;
    TIFF *tif = NULL;
    PIX *pix = NULL;
    uint8_t *row = NULL;
    *out = NULL;
    if (cols != im->w)
        return img_err(c, im, SH_EINPUT, "CCITT /Columns %g but /Width %u",
                       cols, im->w);
    if (k < 0 && align)
        return img_err(c, im, SH_EINPUT, "byte-aligned G4 rows "
                       "(/EncodedByteAlign) are not supported");
    if (n == 0)
        return img_err(c, im, SH_EINPUT, "no image data");
    if (n > UINT32_MAX - 4096)
        return img_err(c, im, SH_ELIMIT, "CCITT data over 4 GiB");

    uint8_t hdr[256];
    uint32_t t4 = (k > 0 ? GROUP3OPT_2DENCODING : 0) |
                  (align ? GROUP3OPT_FILLBITS : 0);
    size_t nhdr = fax_header(hdr, im->w, im->h, k < 0, t4, (uint32_t)n);
    sh_tiffmem mt;
    sh_tiffmem_reader(&mt, hdr, nhdr, data, n);

    TIFFOpenOptions *opts = TIFFOpenOptionsAlloc();
    if (!opts)
        return img_err(c, im, SH_ENOMEM, "out of memory");
    uint64_t capb = (uint64_t)s->lim.max_pixels / 8 + ((uint64_t)64 << 20);
    TIFFOpenOptionsSetMaxSingleMemAlloc(
        opts, capb > (uint64_t)INT64_MAX ? INT64_MAX : (tmsize_t)capb);
    TIFFOpenOptionsSetErrorHandlerExtR(opts, sh__tiff_handle_error, s);
    TIFFOpenOptionsSetWarningHandlerExtR(opts, sh__tiff_handle_warning, s);
    sh__tiff_msg_reset(s);
    tif = sh_tiffmem_open(&mt, s->path, "rm", opts);
    TIFFOpenOptionsFree(opts);
    if (!tif) {
        rc = img_err(c, im, SH_EINPUT, "CCITT data refused: %s",
                     sh__tiff_msg(s, "libtiff cannot open it"));
        goto out;
    }
    tmsize_t sl = TIFFScanlineSize(tif);
    size_t nb = ((size_t)im->w + 7) / 8;
    if (sl <= 0 || (size_t)sl < nb) {
        rc = img_err(c, im, SH_EINPUT, "CCITT: bad row size");
        goto out;
    }
    row = malloc((size_t)sl);
    pix = pixCreate((l_int32)im->w, (l_int32)im->h, 1);
    if (!row || !pix) {
        rc = img_err(c, im, SH_ENOMEM, "out of memory for %u x %u pixels",
                     im->w, im->h);
        goto out;
    }
    /* decoded min-is-white: 1 = a black run of the fax code.  As PDF
       sees it, /BlackIs1 and an inverting /Decode each swap colours. */
    int invert = black1 != (im->dec[0] > im->dec[1]);
    l_uint32 *pd = pixGetData(pix);
    int wpl = pixGetWpl(pix);
    for (uint32_t y = 0; y < im->h; y++) {
        if (TIFFReadScanline(tif, row, y, 0) < 0 || s->tmsg[0]) {
            rc = img_err(c, im, SH_EINPUT, "CCITT data does not decode at row "
                         "%u of %u: %s", y, im->h,
                         sh__tiff_msg(s, "libtiff read error"));
            goto out;
        }
        l_uint32 *line = pd + (size_t)y * wpl;
        for (size_t i = 0; i < nb; i++)
            SET_DATA_BYTE(line, i, invert ? (uint8_t)~row[i] : row[i]);
    }
    sh__clear_pad_bits(pix);
    *out = pix;
    pix = NULL;
out:
    if (tif)
        TIFFClose(tif);
    sh__tiff_msg_done();
    pixDestroy(&pix);
    free(row);
    return rc;
}

/* jbig2dec allocations, capped: a JBIG2 stream cannot allocate beyond a
   few times the page the image dictionary declared (already checked
   against the limits). */
typedef struct j2alloc {
    Jbig2Allocator a;
    size_t used, cap;
} j2alloc;

static void *j2_alloc(Jbig2Allocator *a, size_t n)
{
    j2alloc *j = (j2alloc *)a;
    if (n > j->cap - j->used)
        return NULL;
    size_t *p = malloc(n + sizeof(size_t) * 2);
    if (!p)
        return NULL;
    p[0] = n;
    j->used += n;
    return p + 2;
}

static void j2_free(Jbig2Allocator *a, void *q)
{
    if (!q)
        return;
    size_t *p = (size_t *)q - 2;
    ((j2alloc *)a)->used -= p[0];
    free(p);
}

static void *j2_realloc(Jbig2Allocator *a, void *q, size_t n)
{
    if (!q)
        return j2_alloc(a, n);
    j2alloc *j = (j2alloc *)a;
    size_t *p = (size_t *)q - 2, old = p[0];
    if (n > old && n - old > j->cap - j->used)
        return NULL;
    size_t *np = realloc(p, n + sizeof(size_t) * 2);
    if (!np)
        return NULL;
    j->used = j->used - old + n;
    np[0] = n;
    return np + 2;
}

static void j2_error(void *data, const char *msg, Jbig2Severity sev,
                     uint32_t seg)
{
    char *why = data;
    if (sev == JBIG2_SEVERITY_FATAL && !why[0])
        snprintf(why, 200, "%s", msg);
}

/* Decode a JBIG2 image (embedded stream, with optional /JBIG2Globals). */
static int jbig2_pix(pg *c, const pimg *im, const uint8_t *data, size_t n,
                     PIX **out)
{
    qpdf_data q = c->q;
    *out = NULL;
    char why[256] = "";
    uint64_t page = ((uint64_t)im->w + 8) / 8 * im->h;
    j2alloc A = {{j2_alloc, j2_free, j2_realloc}, 0,
                 (size_t)(page * 4 + ((uint64_t)64 << 20))};
    Jbig2GlobalCtx *glob = NULL;
    uint8_t *gdata = NULL;
    size_t ng = 0;
    int rc = SH_OK;
    qpdf_oh gs = dget(q, im->f[im->nf - 1].parms, "/JBIG2Globals");
    if (gs && qpdf_oh_is_stream(q, gs)) {
        uint8_t *graw = NULL;
        size_t ngraw = 0;
        filt gf[FILTERS_MAX];
        int ngf = 0;
        rc = sh__pdf_raw_stream(c, gs, &graw, &ngraw, "JBIG2 globals");
        if (!rc)
            rc = sh__pdf_get_filters(c, gs, gf, &ngf, "JBIG2 globals");
        if (!rc)
            rc = sh__pdf_unfilter(c, gf, ngf, graw, ngraw, 0, (size_t)16 << 20,
                                  &gdata, &ng, "JBIG2 globals");
        free(graw);
        if (rc)
            goto out;
        Jbig2Ctx *gctx = jbig2_ctx_new(&A.a, JBIG2_OPTIONS_EMBEDDED, NULL,
                                       j2_error, why);
        if (gctx && jbig2_data_in(gctx, gdata, ng) == 0)
            glob = jbig2_make_global_ctx(gctx);
        else if (gctx)
            jbig2_ctx_free(gctx);
        if (!glob) {
            rc = img_err(c, im, SH_EINPUT, "JBIG2 globals do not decode%s%s",
                         why[0] ? ": " : "", why);
            goto out;
        }
    }
    Jbig2Ctx *ctx = jbig2_ctx_new(&A.a, JBIG2_OPTIONS_EMBEDDED, glob,
                                  j2_error, why);
    Jbig2Image *img = NULL;
    if (ctx && jbig2_data_in(ctx, data, n) == 0 &&
        jbig2_complete_page(ctx) == 0)
        img = jbig2_page_out(ctx);
    if (!img || img->width != im->w || img->height < 1) {
        rc = img_err(c, im, SH_EINPUT, "JBIG2 data does not decode%s%s",
                     why[0] ? ": " : "", why[0] ? why : "");
    } else {
        uint32_t h = img->height < im->h ? img->height : im->h;
        PIX *pix = pixCreate((l_int32)im->w, (l_int32)im->h, 1);
        if (!pix) {
            rc = img_err(c, im, SH_ENOMEM, "out of memory");
        } else {
            l_int32 wpl = pixGetWpl(pix);
            l_uint32 *pd = pixGetData(pix);
            uint32_t nb = (im->w + 7) / 8;
            for (uint32_t y = 0; y < h; y++) {
                const uint8_t *src = img->data + (size_t)y * img->stride;
                l_uint32 *line = pd + (size_t)y * wpl;
                for (uint32_t b = 0; b < nb; b++)
                    SET_DATA_BYTE(line, b, src[b]);
            }
            /* JBIG2 1 = black, as Leptonica; /Decode [1 0] inverts */
            if (!im->dec_default && im->dec[0] > im->dec[1])
                pixInvert(pix, pix);
            *out = pix;
        }
    }
    if (img)
        jbig2_release_page(ctx, img);
    if (ctx)
        jbig2_ctx_free(ctx);
out:
    if (glob)
        jbig2_global_ctx_free(glob);
    free(gdata);
    return rc;
}

/* Decode image im into sub (pix, codec, maybe JPEG bytes). */
int sh__pdf_image_pix(pg *c, const pimg *im, int want_pass, sh_frame *sub)
{
    sh_scan *s = c->s;
    uint8_t *raw = NULL, *data = NULL;
    size_t nraw = 0, nd = 0;
    char what[64];
    snprintf(what, sizeof what, "image (object %d)", im->id);
    c->why[0] = 0;
    int rc = sh__pdf_raw_stream(c, im->oh, &raw, &nraw, what);
    if (rc)
        goto out;
    /* what a JPEG or fax code of this size could take at most, very
       generously: 2 bytes a sample, a byte a fax pixel (the worst fax
       code spends 6 bits on a pixel) */
    uint64_t px = (uint64_t)im->w * im->h;
    uint64_t capu = (im->kind == K_DCT ? px * 2 * (uint64_t)im->ncomp : px) +
                    ((uint64_t)1 << 20);
    size_t cap = capu > SIZE_MAX ? SIZE_MAX : (size_t)capu;
    if (im->kind != K_RAW) {
        rc = sh__pdf_unfilter(c, im->f, im->nf - 1, raw, nraw, 0, cap, &data,
                              &nd, what);
        if (rc)
            goto out;
        if (c->why[0])
            sh_log(SH_LOG_DEBUG, "%s: page %d: %s: %s", s->path, c->n + 1,
                   what, c->why);
    }
    if (im->kind == K_DCT) {
        sh__jpeg_pdf jp = {
            .color_transform = (int)dint(c->q, im->f[im->nf - 1].parms,
                                         "/ColorTransform", 0, 1, -1),
            .cmyk_lightness = im->ncomp == 4 && im->dec[0] > im->dec[1],
            .want_pass = want_pass && im->dec_default,
        };
        rc = sh__jpeg_decode_mem(s, c->n, data, nd, &jp, sub, c->err);
        if (rc)
            goto out;
        int jc = pixGetDepth(sub->pix) == 8 ? 1 : 3;
        if (jc != (im->ncomp == 4 ? 3 : im->ncomp))
            sh_log(SH_LOG_DEBUG, "%s: page %d: %s: the JPEG has %d "
                   "component(s), its colour space %d", s->path, c->n + 1,
                   what, jc, im->ncomp);
        apply_decode(im, sub->pix);
    } else if (im->kind == K_CCITT) {
        rc = ccitt_pix(c, im, data, nd, &sub->pix);
        sub->codec = im->codec;
    } else if (im->kind == K_JBIG2) {
        rc = jbig2_pix(c, im, data, nd, &sub->pix);
        sub->codec = im->codec;
    } else {
        int spp = im->indexed || im->mask ? 1 : im->ncomp;
        size_t need = ((size_t)im->w * spp * im->bpc + 7) / 8 * im->h;
        rc = sh__pdf_unfilter(c, im->f, im->nf, raw, nraw, need, need, &data,
                              &nd, what);
        if (rc)
            goto out;
        if (nd < need) {
            rc = img_err(c, im, SH_EINPUT, "the data ends after %zu of %zu "
                         "bytes%s%s", nd, need, c->why[0] ? ": " : "", c->why);
            goto out;
        }
        rc = raw_pix(c, im, data, &sub->pix);
        sub->codec = im->codec;
    }
out:
    free(raw);
    free(data);
    if (rc)
        sh_frame_release(sub);
    return rc;
}
