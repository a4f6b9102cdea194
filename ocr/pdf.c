/*
 * pdf.c — the searchable PDF writer (see pdf.h).
 *
 * Functions:
 *   sh_pdf_image_from_pix    1 bpp → CCITT G4, 8 bpp → Flate gray,
 *                            32 bpp → Flate RGB (PNG predictors)
 *   sh_pdf_image_from_jpeg   JPEG bytes kept as they are (DCTDecode)
 *   sh_pdf_image_release
 *   sh_pdf_image_save        hand-off file for the assembler (atomic)
 *   sh_pdf_image_load        ... read back, every field checked
 *   sh_pdf_open              font + ICC profile read, temp file + header
 *   sh_pdf_set_meta          title, language, creator, archival fields
 *   sh_pdf_set_check         a check of the temp file before the rename
 *   sh_pdf_add_page          one page's objects, written at once
 *   sh_pdf_commit            shared objects, XMP, xref, trailer, fsync,
 *                            check, rename
 *   sh_pdf_abort             drop the temp file
 *
 * Method.  The file is written front to back through a small buffer on a
 * plain file descriptor, so the offset of every object is known when it
 * starts and only the xref table (8 bytes an object) and the list of page
 * objects (4 bytes a page) grow with the document; a page's image and
 * content stream are in memory only while that page is added.  Object
 * numbers 1–11 are reserved at open for the objects every page refers to
 * and which are written last, at commit:
 *
 *     1  Catalog        << /Type /Catalog /Pages 2 0 R /Metadata 10 0 R
 *                          /OutputIntents [<< /Type /OutputIntent
 *                            /S /GTS_PDFA1 ... /DestOutputProfile 11 0 R >>]
 *                          /Lang (vi) >>
 *     2  Pages          << /Type /Pages /Kids [p1 p2 ...] /Count n >>
 *     3  Type0 font     /GlyphLessFont, /Encoding /Identity-H,
 *                       /DescendantFonts [4 0 R], /ToUnicode 8 0 R
 *     4  CIDFontType2   /DW 500, /CIDToGIDMap 7 0 R, CIDSystemInfo
 *                       Adobe-Identity-0, /FontDescriptor 5 0 R
 *     5  FontDescriptor /Ascent 800 /Descent -200 /FontFile2 6 0 R
 *     6  FontFile2      the TrueType file (Tesseract's pdf.ttf)
 *     7  CIDToGIDMap    stream, Flate: all 65536 CIDs → glyph 1
 *     8  ToUnicode      CMap stream, Flate: every 2-byte code maps to
 *                       the same UTF-16 unit (256 bfranges <XX00>-<XXFF>)
 *     9  Info           /Title /Author /Subject (UTF-16BE, BOM),
 *                       /Creator (sohoa) /Producer (sohoa)
 *                       /CreationDate /ModDate: the same values as the XMP
 *    10  Metadata       XMP packet, uncompressed (PDF/A): pdfaid part 2,
 *                       conformance B; dc:title/creator/description/
 *                       language/format; xmp:CreateDate/ModifyDate/
 *                       MetadataDate/CreatorTool; pdf:Producer;
 *                       xmpMM:DocumentID/InstanceID (uuid: from the /ID);
 *                       hoso:NAME per archival field, described as Text
 *                       by a pdfaExtension schema in an rdf:Description
 *                       of its own before the data
 *    11  ICC profile    stream, Flate, /N 3: the sRGB output profile
 *
 * and each page then takes the next numbers in the order written:
 *
 *     n    image XObject (only when the page has an image) as /Im0
 *     n+1  content stream, Flate:
 *              q a b c d e f cm /Im0 Do Q
 *              BT 3 Tr /F1 size Tf 1 0 0 1 x y Tm tz Tz <hex> Tj ... ET
 *          one BT/ET per text line
 *     n+2  Page  << /Type /Page /Parent 2 0 R /MediaBox [0 0 w h]
 *                   /Resources << /XObject << /Im0 n 0 R >>
 *                                 /Font << /F1 3 0 R >> >>
 *                   /Contents n+1 0 R >>
 *
 * then the classic xref table and a trailer with /Root, /Info and /ID.
 *
 * PDF/A-2b.  Besides the XMP, Info and OutputIntent above, the rules the
 * writer keeps by construction: header %PDF-1.7 and a binary comment;
 * "N 0 obj" / "endobj" / "stream" / "endstream" each on their own line and
 * /Length exact; only Flate, DCT and CCITT filters; no /Encrypt, actions,
 * annotations, transparency or /Interpolate; DeviceGray/DeviceRGB images
 * (allowed by the RGB output intent); page sides 3..14400 pt; every page
 * has its own /Resources.  The font: CIDFontType2 with a CIDToGIDMap
 * stream mapping every CID to glyph 1 (never .notdef), /DW 500 equal to
 * that glyph's advance in the font program (1024 of 2048 units in
 * Tesseract's pdf.ttf; only text render mode 3 uses it, for which
 * ISO 19005-2 6.2.11.4/6.2.11.5 relax glyph and width checks anyway), and
 * a ToUnicode CMap; codes used never map to U+0000, U+FEFF or U+FFFE.
 *
 * Text layer.  Every character of the font is the same blank glyph 500
 * units wide, reaching 800 units above the baseline and 200 below.  A word
 * is shown as UTF-16BE codes (Identity-H; code = CID = Unicode unit, and
 * the ToUnicode map gives the unit back), invisible (3 Tr), at a size equal
 * to its text line's height (else its box height), its baseline on the
 * line's baseline, and stretched with Tz so its advance equals the box
 * width.  Without a trusted baseline, the baseline is put 200/1000 of the
 * size above the box bottom, so the glyph cells end at the box bottom and
 * reach one size up (exactly the box when the size is the box height).  A
 * space ends every word but the last of its line, and a word that touches
 * or overlaps the next one is narrowed to leave a gap of 0.22 of its size
 * (extractors split words by geometry), so text extraction gets words
 * apart and lines in order.  Poppler takes a glyph that starts less than
 * 0.1 of the size after the previous one for a duplicate (fake bold) and
 * drops a repeat of the same character ("__", "...." in a box too narrow
 * for them); so each glyph advances at least MIN_ADVANCE (0.15) of the
 * size: a word too narrow for that is set smaller (its baseline kept),
 * and a word repeating the previous word's text is moved right so the
 * two do not start within that distance.
 *
 * Every number goes through fmt_num (integer arithmetic, no locale, no
 * nan/inf); every write is checked, and the first failure removes the temp
 * file and is kept, so later calls report it again.
 */
#include "pdf.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <tiffio.h>
#include <zlib.h>

#define FONT_DEFAULT "/usr/share/tesseract-ocr/5/tessdata/pdf.ttf"
#define FONT_MAX ((size_t)16 << 20)
#define ICC_DEFAULT "/usr/share/color/icc/sRGB.icc"
#define ICC_PACKAGE "icc-profiles-free"
#define ICC_MAX ((size_t)4 << 20)

/* Metadata limits (PDF/A strings are at most 32767 bytes; an Info text
   string takes 2 bytes a UTF-16 unit). */
#define META_TEXT_MAX 8000
#define META_VALUE_MAX 65536
#define META_NAME_MAX 64
#define META_FIELDS_MAX 256
#define HOSO_NS "http://sohoa.vn/ns/hoso/1.0/"

enum {
    OBJ_CATALOG = 1,
    OBJ_PAGES,
    OBJ_FONT,
    OBJ_CIDFONT,
    OBJ_FONTDESC,
    OBJ_FONTFILE,
    OBJ_CIDTOGID,
    OBJ_TOUNICODE,
    OBJ_INFO,
    OBJ_METADATA,
    OBJ_ICC,
    OBJ_FIRST_FREE
};

/* Glyph-less font metrics, in 1/1000 of the font size. */
#define GLYPH_W 500
#define FONT_ASCENT 800
#define FONT_DESCENT 200 /* below the baseline */
/* Least gap between two words of a line, as a fraction of the font size:
   poppler's raw-order text output puts a space between two words only
   when they are more than 0.15 (22.x) or 0.2 (later) of it apart. */
#define WORD_GAP 0.22
/* Least advance of a glyph, as a fraction of the font size: poppler
   discards a glyph that starts within 0.1 of the size of the previous
   one when they are the same character (see the top comment). */
#define MIN_ADVANCE 0.15
#define MIN_SIZE 0.01            /* pt: a shrunk size never rounds to 0 */

#define DIM_MAX 1000000          /* image pixels on a side            */
#define PAGE_PT_MIN 3.0          /* PDF/A-2 limits on page size, pt   */
#define PAGE_PT_MAX 14400.0
#define IMG_DATA_MAX ((size_t)1 << 31)
#define WBUF_SIZE ((size_t)64 * 1024)
#define XREF_OFF_MAX 9999999999ULL /* 10 digits in an xref entry       */

/* Hand-off file, little-endian: magic[8], u32 version, filter, w, h, bpc,
   ncomp, black_is_1, u32 CRC-32 (header + data), u64 data length, data. */
#define IMGF_MAGIC "SHPDFIMG"
#define IMGF_VERSION 1
#define IMGF_HEADER 48

typedef struct meta_field {
    char *name;             /* [A-Za-z][A-Za-z0-9]*                     */
    char *value;            /* sanitised UTF-8 (see clean_text)         */
} meta_field;

struct sh_pdf {
    char *final_path;
    char *tmp_path;
    char *title;            /* sanitised UTF-8, or NULL                 */
    char *lang;             /* language tag, never NULL after open      */
    char *creator;          /* sanitised UTF-8, or NULL                 */
    char *desc;             /* sanitised UTF-8, or NULL                 */
    meta_field *fields;
    int nfields;
    uint8_t *font;          /* TrueType file bytes                      */
    size_t font_n;
    uint8_t *icc;           /* ICC profile bytes                        */
    size_t icc_n;
    sh_pdf_check_fn check;  /* [optional] run before the rename         */
    void *check_ctx;
    int fd;                 /* temp file, -1 when closed                */
    int tmp_exists;         /* tmp_path is ours to unlink               */
    uint64_t off;           /* bytes written so far, buffer included    */
    uint8_t *wbuf;
    size_t wlen;
    uint64_t *xref;         /* xref[num] = offset of object num         */
    int nobj, xcap;         /* highest number given out; capacity       */
    int *kids;              /* page object numbers                      */
    int last_im;            /* object number of the last image written  */
    int npages, kcap;
    int rc;                 /* first write failure (sticky)             */
    sh_err err;
};

/* ------------------------------------------------------------------ */
/* small helpers                                                      */
/* ------------------------------------------------------------------ */

static void copy_err(sh_err *dst, const sh_err *src)
{
    if (dst && dst != src)
        *dst = *src;
}

/* Append printf text to b; *oom is set (and stays set) on failure. */
static void bpf(sh_buf *b, int *oom, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void bpf(sh_buf *b, int *oom, const char *fmt, ...)
{
    if (*oom)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || sh_buf_reserve(b, (size_t)n) != SH_OK) {
        *oom = 1;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* Format v with at most 4 decimals, trailing zeros trimmed, '.' as the
   point whatever the locale; nan/inf become 0 and |v| is capped at 1e9. */
static void fmt_num(char out[40], double v)
{
    if (!isfinite(v))
        v = 0;
    if (v > 1e9)
        v = 1e9;
    else if (v < -1e9)
        v = -1e9;
    long long q = llround(v * 10000.0);
    unsigned long long a = q < 0 ? (unsigned long long)-q : (unsigned long long)q;
    unsigned f = (unsigned)(a % 10000);
    char frac[8] = "";
    if (f) {
        snprintf(frac, sizeof frac, ".%04u", f);
        size_t l = strlen(frac);
        while (frac[l - 1] == '0')
            frac[--l] = 0;
    }
    snprintf(out, 40, "%s%llu%s", q < 0 ? "-" : "", a / 10000, frac);
}

/* Append a number and a space. */
static void bnum(sh_buf *b, int *oom, double v)
{
    char s[40];
    fmt_num(s, v);
    bpf(b, oom, "%s ", s);
}

/* Decode one code point of s[0..n), n ≥ 1; returns the bytes used (≥ 1).
   Bad, overlong or truncated sequences, surrogates and values past
   U+10FFFF give U+FFFD for their first byte. */
static size_t utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
    unsigned c = s[0];
    size_t len;
    uint32_t v, min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2, v = c & 0x1F, min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3, v = c & 0x0F, min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4, v = c & 0x07, min = 0x10000;
    } else {
        goto bad;
    }
    if (n < len)
        goto bad;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            goto bad;
        v = (v << 6) | (s[i] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
        goto bad;
    *cp = v;
    return len;
bad:
    *cp = 0xFFFD;
    return 1;
}

/* The UTF-16 unit shown for cp in the text layer: controls, U+FEFF,
   U+FFFE/FFFF (which PDF/A forbids as ToUnicode values) and code points
   beyond the BMP (never in Vietnamese) become U+FFFD, so the loss is
   visible in the extracted text rather than silent.  readback.c restates
   this mapping for the read-back check. */
static uint16_t text_unit(uint32_t cp)
{
    if (cp < 0x20 || (cp >= 0x7F && cp < 0xA0) || cp == 0xFEFF ||
        cp >= 0xFFFE)
        return 0xFFFD;
    return (uint16_t)cp;
}

/* Append cp to b as UTF-8. */
static void put_utf8(sh_buf *b, int *oom, uint32_t cp)
{
    char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (char)cp, n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | cp >> 6), u[1] = (char)(0x80 | (cp & 0x3F)), n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | cp >> 12), u[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F)), n = 3;
    } else {
        u[0] = (char)(0xF0 | cp >> 18), u[1] = (char)(0x80 | (cp >> 12 & 0x3F));
        u[2] = (char)(0x80 | (cp >> 6 & 0x3F)), u[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    if (!*oom && sh_buf_add(b, u, n) != SH_OK)
        *oom = 1;
}

/* A malloc'd copy of s that is well-formed UTF-8 and legal XML 1.0 text:
   ill-formed bytes, controls other than tab/LF/CR, U+FFFE and U+FFFF
   become U+FFFD.  Info and XMP are both written from this copy, so they
   agree.  NULL on allocation failure. */
static char *clean_text(const char *s)
{
    sh_buf b = {0};
    int oom = sh_buf_reserve(&b, strlen(s)) != SH_OK;
    const unsigned char *u = (const unsigned char *)s;
    size_t n = strlen(s);
    for (size_t at = 0; at < n && !oom;) {
        uint32_t cp;
        at += utf8_next(u + at, n - at, &cp);
        if ((cp < 0x20 && cp != '\t' && cp != '\n' && cp != '\r') ||
            cp == 0xFFFE || cp == 0xFFFF)
            cp = 0xFFFD;
        put_utf8(&b, &oom, cp);
    }
    if (oom) {
        sh_buf_release(&b);
        return NULL;
    }
    if (!b.data)
        return strdup("");
    return b.data;
}

/* Append s (clean UTF-8) XML-escaped; CR as a character reference, so
   XML's line-end normalisation does not turn it into LF. */
static void xml_esc(sh_buf *b, int *oom, const char *s)
{
    for (; *s && !*oom; s++) {
        const char *e = NULL;
        switch (*s) {
        case '&': e = "&amp;"; break;
        case '<': e = "&lt;"; break;
        case '>': e = "&gt;"; break;
        case '"': e = "&quot;"; break;
        case '\r': e = "&#xD;"; break;
        default: break;
        }
        int r = e ? sh_buf_adds(b, e) : sh_buf_add(b, s, 1);
        if (r != SH_OK)
            *oom = 1;
    }
}

/* Append s (UTF-8) as a PDF text string: UTF-16BE with a BOM, in hex. */
static void pdf_text_string(sh_buf *b, int *oom, const char *s)
{
    bpf(b, oom, "<FEFF");
    const unsigned char *u = (const unsigned char *)s;
    size_t n = strlen(s);
    for (size_t at = 0; at < n;) {
        uint32_t cp;
        at += utf8_next(u + at, n - at, &cp);
        if (cp > 0xFFFF) {
            cp -= 0x10000;
            bpf(b, oom, "%04X%04X", 0xD800 + (unsigned)(cp >> 10),
                0xDC00 + (unsigned)(cp & 0x3FF));
        } else {
            bpf(b, oom, "%04X", (unsigned)cp);
        }
    }
    bpf(b, oom, ">");
}

static int deflate_mem(const void *in, size_t n, uint8_t **out, size_t *outn)
{
    *out = NULL;
    *outn = 0;
    uLongf cap = compressBound((uLong)n);
    uint8_t *z = malloc(cap ? cap : 1);
    if (!z)
        return SH_ENOMEM;
    if (compress2(z, &cap, in, (uLong)n, 6) != Z_OK) {
        free(z);
        return SH_ENOMEM;
    }
    *out = z;
    *outn = cap;
    return SH_OK;
}

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
static const char *image_problem(const sh_pdf_image *img)
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

static int paeth(int a, int b, int c)
{
    int p = a + b - c;
    int pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
    if (pa <= pb && pa <= pc)
        return a;
    return pb <= pc ? b : c;
}

/* Deflate pix (8 bpp gray, ncomp 1; or 32 bpp RGB, ncomp 3) row by row,
   each row prefixed by the PNG filter that makes it smallest (the usual
   minimum-sum-of-absolute-differences choice), as PDF /Predictor 15. */
static int flate_pix(PIX *pix, int ncomp, uint8_t **out, size_t *outn)
{
    int w = pixGetWidth(pix), h = pixGetHeight(pix), wpl = pixGetWpl(pix);
    l_uint32 *data = pixGetData(pix);
    size_t bpr = (size_t)w * (size_t)ncomp, bpp = (size_t)ncomp;
    uint8_t *mem = calloc(2 * bpr + 5 * (bpr + 1), 1);
    size_t cap = (size_t)h * (bpr + 1) / 4 + 65536;
    uint8_t *z = malloc(cap);
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    int zinit = 0, rc = SH_ENOMEM;
    *out = NULL;
    *outn = 0;
    if (!mem || !z || deflateInit(&zs, 6) != Z_OK)
        goto out;
    zinit = 1;
    uint8_t *prev = mem, *cur = mem + bpr, *cand[5];
    for (int f = 0; f < 5; f++)
        cand[f] = mem + 2 * bpr + (size_t)f * (bpr + 1);
    for (int y = 0; y < h; y++) {
        const l_uint32 *line = data + (size_t)y * (size_t)wpl;
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
        unsigned long cost[5] = {0};
        for (int f = 0; f < 5; f++)
            cand[f][0] = (uint8_t)f;
        for (size_t i = 0; i < bpr; i++) {
            int x = cur[i], b = prev[i];
            int a = i >= bpp ? cur[i - bpp] : 0;
            int c = i >= bpp ? prev[i - bpp] : 0;
            uint8_t v[5] = {(uint8_t)x, (uint8_t)(x - a), (uint8_t)(x - b),
                            (uint8_t)(x - ((a + b) >> 1)),
                            (uint8_t)(x - paeth(a, b, c))};
            for (int f = 0; f < 5; f++) {
                cand[f][i + 1] = v[f];
                cost[f] += (unsigned long)abs((int)(int8_t)v[f]);
            }
        }
        int best = 0;
        for (int f = 1; f < 5; f++)
            if (cost[f] < cost[best])
                best = f;
        if (z_push(&zs, &z, &cap, cand[best], bpr + 1, Z_NO_FLUSH) != SH_OK)
            goto out;
        uint8_t *t = prev;
        prev = cur;
        cur = t;
    }
    if (z_push(&zs, &z, &cap, NULL, 0, Z_FINISH) != SH_OK)
        goto out;
    *outn = (size_t)zs.total_out;
    *out = z;
    z = NULL;
    rc = SH_OK;
out:
    if (zinit)
        deflateEnd(&zs);
    free(mem);
    free(z);
    return rc;
}

/* An in-memory file for libtiff (the G4 codec is only reachable through
   a TIFF handle). */
typedef struct memtiff {
    uint8_t *d;
    size_t n, cap, pos;
    int oom;
} memtiff;

static tmsize_t mt_read(thandle_t h, void *buf, tmsize_t size)
{
    memtiff *m = (memtiff *)h;
    size_t k = m->pos < m->n ? m->n - m->pos : 0;
    if (size < 0)
        return -1;
    if ((size_t)size < k)
        k = (size_t)size;
    memcpy(buf, m->d + m->pos, k);
    m->pos += k;
    return (tmsize_t)k;
}

static tmsize_t mt_write(thandle_t h, void *buf, tmsize_t size)
{
    memtiff *m = (memtiff *)h;
    if (size < 0)
        return -1;
    size_t end = m->pos + (size_t)size;
    if (end > m->cap) {
        size_t ncap = m->cap ? m->cap : 65536;
        while (ncap < end)
            ncap *= 2;
        uint8_t *nd = realloc(m->d, ncap);
        if (!nd) {
            m->oom = 1;
            return -1;
        }
        m->d = nd;
        m->cap = ncap;
    }
    if (m->pos > m->n)
        memset(m->d + m->n, 0, m->pos - m->n);
    memcpy(m->d + m->pos, buf, (size_t)size);
    m->pos = end;
    if (end > m->n)
        m->n = end;
    return size;
}

static toff_t mt_seek(thandle_t h, toff_t off, int whence)
{
    memtiff *m = (memtiff *)h;
    uint64_t base = whence == SEEK_CUR ? m->pos : whence == SEEK_END ? m->n : 0;
    uint64_t to = base + off;
    if (to > ((uint64_t)1 << 40))
        return (toff_t)-1;
    m->pos = (size_t)to;
    return to;
}

static int mt_close(thandle_t h)
{
    return 0;
}

static toff_t mt_size(thandle_t h)
{
    return ((memtiff *)h)->n;
}

static int mt_map(thandle_t h, void **base, toff_t *size)
{
    return 0;
}

static void mt_unmap(thandle_t h, void *base, toff_t size)
{
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
    memtiff m = {0};
    uint8_t *row = malloc(bpr), *strip = NULL;
    TIFF *t = NULL;
    int rc = SH_ENOMEM;
    *out = NULL;
    *outn = 0;
    if (!row)
        goto out;
    t = TIFFClientOpen("g4", "w", (thandle_t)&m, mt_read, mt_write, mt_seek,
                       mt_close, mt_size, mt_map, mt_unmap);
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
    t = TIFFClientOpen("g4", "rm", (thandle_t)&m, mt_read, mt_write, mt_seek,
                       mt_close, mt_size, mt_map, mt_unmap);
    if (!t || TIFFNumberOfStrips(t) != 1)
        goto out;
    uint64_t *counts = NULL;
    if (!TIFFGetField(t, TIFFTAG_STRIPBYTECOUNTS, &counts) || !counts ||
        counts[0] == 0 || counts[0] > m.n)
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
    free(m.d);
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
        if (flate_pix(p, nc, &out->data, &out->n) != SH_OK) {
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
    const char *why = image_problem(img);
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
    const char *why = image_problem(&im);
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
/* file writing                                                       */
/* ------------------------------------------------------------------ */

/* Remove the temp file (if still ours) and close the descriptor. */
static void drop_tmp(sh_pdf *p)
{
    if (p->fd >= 0) {
        close(p->fd);
        p->fd = -1;
    }
    if (p->tmp_exists) {
        unlink(p->tmp_path);
        p->tmp_exists = 0;
    }
}

static void pdf_free(sh_pdf *p)
{
    if (!p)
        return;
    drop_tmp(p);
    free(p->final_path);
    free(p->tmp_path);
    free(p->title);
    free(p->lang);
    free(p->creator);
    free(p->desc);
    for (int i = 0; i < p->nfields; i++) {
        free(p->fields[i].name);
        free(p->fields[i].value);
    }
    free(p->fields);
    free(p->font);
    free(p->icc);
    free(p->wbuf);
    free(p->xref);
    free(p->kids);
    free(p);
}

/* Record the first failure; the temp file goes at once. */
static int fail_io(sh_pdf *p, int e, const char *what)
{
    if (!p->rc)
        p->rc = sh_errf(&p->err, sh_io_rc(e), "%s: %s %s: %s", p->final_path,
                        what, p->tmp_path, strerror(e));
    drop_tmp(p);
    return p->rc;
}

static int fail_mem(sh_pdf *p)
{
    if (!p->rc)
        p->rc = sh_errf(&p->err, SH_ENOMEM, "%s: out of memory after %d "
                        "page(s)", p->final_path, p->npages);
    drop_tmp(p);
    return p->rc;
}

static int write_fd(sh_pdf *p, const uint8_t *d, size_t n)
{
    while (n) {
        ssize_t w = write(p->fd, d, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return fail_io(p, w < 0 ? errno : ENOSPC, "writing");
        d += w;
        n -= (size_t)w;
    }
    return SH_OK;
}

static int wflush(sh_pdf *p)
{
    if (p->rc)
        return p->rc;
    int rc = write_fd(p, p->wbuf, p->wlen);
    p->wlen = 0;
    return rc;
}

static int wout(sh_pdf *p, const void *d, size_t n)
{
    if (p->rc)
        return p->rc;
    if (p->wlen + n > WBUF_SIZE && wflush(p))
        return p->rc;
    if (n >= WBUF_SIZE) {
        if (write_fd(p, d, n))
            return p->rc;
    } else {
        memcpy(p->wbuf + p->wlen, d, n);
        p->wlen += n;
    }
    p->off += n;
    return SH_OK;
}

static int wstr(sh_pdf *p, const char *s)
{
    return wout(p, s, strlen(s));
}

static int wprintf(sh_pdf *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int wprintf(sh_pdf *p, const char *fmt, ...)
{
    char s[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(s, sizeof s, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof s)
        return fail_mem(p);   /* only short fixed strings come here */
    return wout(p, s, (size_t)n);
}

/* Make room for `more` further object numbers (before writing starts). */
static int reserve_objs(sh_pdf *p, int more)
{
    if (p->nobj + more < p->xcap)
        return SH_OK;
    int ncap = p->xcap * 2;
    while (ncap <= p->nobj + more)
        ncap *= 2;
    uint64_t *x = realloc(p->xref, (size_t)ncap * sizeof *x);
    if (!x)
        return SH_ENOMEM;
    memset(x + p->xcap, 0, (size_t)(ncap - p->xcap) * sizeof *x);
    p->xref = x;
    p->xcap = ncap;
    return SH_OK;
}

static int obj_begin(sh_pdf *p, int num)
{
    if (p->rc)
        return p->rc;
    if (p->off > XREF_OFF_MAX) {
        p->rc = sh_errf(&p->err, SH_ELIMIT, "%s: PDF over 9.9 GB, the limit "
                        "of a classic xref table", p->final_path);
        drop_tmp(p);
        return p->rc;
    }
    p->xref[num] = p->off;
    return wprintf(p, "%d 0 obj\n", num);
}

/* A whole stream object: dict holds the entries besides /Length. */
static int put_stream(sh_pdf *p, int num, const char *dict, const void *d,
                      size_t n)
{
    obj_begin(p, num);
    wstr(p, "<<");
    wstr(p, dict);
    wprintf(p, " /Length %zu >>\nstream\n", n);
    wout(p, d, n);
    return wstr(p, "\nendstream\nendobj\n");
}

static int put_dict(sh_pdf *p, int num, const char *dict)
{
    obj_begin(p, num);
    wstr(p, dict);
    return wstr(p, "\nendobj\n");
}

/* ------------------------------------------------------------------ */
/* open                                                               */
/* ------------------------------------------------------------------ */

static uint32_t be32(const uint8_t *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 |
           b[3];
}

/* Why the ICC profile cannot be the PDF/A output intent (ISO 19005-2
   6.2.3: a monitor or output profile of an RGB device, version < 5; and
   what ISO 15076-1 says of the header), or NULL when it can. */
static const char *icc_problem(const uint8_t *b, size_t n)
{
    if (n < 132)
        return "too short for an ICC profile";
    if (memcmp(b + 36, "acsp", 4) != 0)
        return "no 'acsp' signature: not an ICC profile";
    if (be32(b) != n)
        return "its header size disagrees with the file size (truncated?)";
    if (b[8] < 2 || b[8] > 4)
        return "ICC version is not 2, 3 or 4";
    if (memcmp(b + 12, "mntr", 4) != 0 && memcmp(b + 12, "prtr", 4) != 0)
        return "not a display (mntr) or output (prtr) profile";
    if (memcmp(b + 16, "RGB ", 4) != 0)
        return "not an RGB profile";
    uint32_t ntag = be32(b + 128);
    if (ntag == 0 || ntag > (n - 132) / 12)
        return "corrupt tag table";
    return NULL;
}

/* Read the output-intent ICC profile into p (see pdf.h). */
static int read_icc(sh_pdf *p, sh_err *err)
{
    const char *icc = getenv("SOHOA_ICC");
    if (!icc || !icc[0])
        icc = ICC_DEFAULT;
    sh_err ierr = {0};
    int rc = sh_read_file(icc, ICC_MAX, &p->icc, &p->icc_n, &ierr);
    if (rc)
        return sh_errf(err, SH_EIO, "%s: cannot read the sRGB colour profile "
                       "%s that PDF/A needs (set SOHOA_ICC, or install the "
                       "Debian package %s for %s): %s", p->final_path, icc,
                       ICC_PACKAGE, ICC_DEFAULT, ierr.msg);
    const char *why = icc_problem(p->icc, p->icc_n);
    if (why)
        return sh_errf(err, SH_EINPUT, "%s: colour profile %s cannot be the "
                       "PDF/A output intent: %s", p->final_path, icc, why);
    return SH_OK;
}

int sh_pdf_open(const char *final_path, const char *title, sh_pdf **out,
                sh_err *err)
{
    sh_pdf *p = NULL;
    int rc = SH_OK;
    if (!out)
        return sh_errf(err, SH_EUSAGE, "sh_pdf_open: no output");
    *out = NULL;
    if (!final_path || !final_path[0])
        return sh_errf(err, SH_EUSAGE, "sh_pdf_open: no path");
    if (strlen(final_path) > 4000)
        return sh_errf(err, SH_EUSAGE, "%.200s...: path too long", final_path);

    p = calloc(1, sizeof *p);
    if (!p)
        return sh_errf(err, SH_ENOMEM, "%s: out of memory", final_path);
    p->fd = -1;
    size_t tl = strlen(final_path) + 32;
    p->final_path = strdup(final_path);
    p->tmp_path = malloc(tl);
    p->title = title && title[0] ? clean_text(title) : NULL;
    p->lang = strdup("vi");
    p->wbuf = malloc(WBUF_SIZE);
    p->xcap = 64;
    p->xref = calloc((size_t)p->xcap, sizeof *p->xref);
    p->kcap = 16;
    p->kids = malloc((size_t)p->kcap * sizeof *p->kids);
    if (!p->final_path || !p->tmp_path || (title && title[0] && !p->title) ||
        !p->lang || !p->wbuf || !p->xref || !p->kids) {
        rc = sh_errf(err, SH_ENOMEM, "%s: out of memory", final_path);
        goto out;
    }
    snprintf(p->tmp_path, tl, "%s.tmp.%d", final_path, (int)getpid());
    p->nobj = OBJ_FIRST_FREE - 1;

    /* The text-layer font, before anything touches the disk. */
    const char *font = getenv("SOHOA_PDF_FONT");
    if (!font || !font[0])
        font = FONT_DEFAULT;
    sh_err ferr = {0};
    rc = sh_read_file(font, FONT_MAX, &p->font, &p->font_n, &ferr);
    if (rc) {
        rc = sh_errf(err, SH_EIO, "%s: cannot read the text-layer font "
                     "(SOHOA_PDF_FONT or %s, from tesseract-ocr): %s",
                     final_path, FONT_DEFAULT, ferr.msg);
        goto out;
    }
    if (p->font_n < 12 ||
        (memcmp(p->font, "\0\1\0\0", 4) != 0 && memcmp(p->font, "true", 4) != 0)) {
        rc = sh_errf(err, SH_EINPUT, "%s: text-layer font %s is not a "
                     "TrueType file", final_path, font);
        goto out;
    }
    if ((rc = read_icc(p, err)))
        goto out;

    p->fd = open(p->tmp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (p->fd < 0) {
        int e = errno;
        rc = sh_errf(err, sh_io_rc(e), "%s: cannot create %s: %s", final_path,
                     p->tmp_path, strerror(e));
        goto out;
    }
    p->tmp_exists = 1;
    /* Header: PDF 1.7, the base of PDF/A-2; the comment's four high
       bytes mark the file as binary (ISO 19005-2 6.1.2). */
    static const char hdr[] = "%PDF-1.7\n%\xE2\xE3\xCF\xD3\n";
    if (wout(p, hdr, sizeof hdr - 1)) {
        rc = p->rc;
        copy_err(err, &p->err);
        goto out;
    }
out:
    if (rc) {
        pdf_free(p);
        p = NULL;
    }
    *out = p;
    return rc;
}

/* ------------------------------------------------------------------ */
/* metadata                                                           */
/* ------------------------------------------------------------------ */

/* RFC 3066 shape, as ISO 19005-2 6.7.4 checks a Lang entry. */
static int lang_ok(const char *s)
{
    size_t part = 0, nparts = 0;
    if (!s[0] || strlen(s) > 64)
        return 0;
    for (const char *c = s;; c++) {
        if (*c == '-' || !*c) {
            if (part < 1 || part > 8)
                return 0;
            nparts++;
            part = 0;
            if (!*c)
                return 1;
            continue;
        }
        int alpha = (*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z');
        int digit = *c >= '0' && *c <= '9';
        if (!alpha && !(digit && nparts > 0))
            return 0;
        part++;
    }
}

static int name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > META_NAME_MAX)
        return 0;
    if (!((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z')))
        return 0;
    for (size_t i = 1; i < n; i++)
        if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
              (s[i] >= '0' && s[i] <= '9')))
            return 0;
    return 1;
}

int sh_pdf_set_meta(sh_pdf *p, const sh_pdf_meta *m, sh_err *err)
{
    if (!p || !m)
        return sh_errf(err, SH_EUSAGE, "sh_pdf_set_meta: NULL argument");
    if (p->rc) {
        copy_err(err, &p->err);
        return p->rc;
    }
    const char *fp = p->final_path;
    if (m->nfields < 0 || m->nfields > META_FIELDS_MAX ||
        (m->nfields > 0 && !m->fields))
        return sh_errf(err, SH_EUSAGE, "%s: metadata: %d fields (0..%d)", fp,
                       m->nfields, META_FIELDS_MAX);
    const char *lang = m->language ? m->language : "vi";
    if (!lang_ok(lang))
        return sh_errf(err, SH_EUSAGE, "%s: metadata: language \"%.80s\" is "
                       "not a language tag such as vi or vi-VN", fp, lang);
    static const char *const what[] = {"title", "creator", "description"};
    const char *text[] = {m->title, m->creator, m->description};
    for (int i = 0; i < 3; i++)
        if (text[i] && strlen(text[i]) > META_TEXT_MAX)
            return sh_errf(err, SH_EUSAGE, "%s: metadata: %s is over %d "
                           "bytes", fp, what[i], META_TEXT_MAX);
    for (int i = 0; i < m->nfields; i++) {
        const sh_pdf_field *f = &m->fields[i];
        if (!f->name || !name_ok(f->name))
            return sh_errf(err, SH_EUSAGE, "%s: metadata: field %d name "
                           "\"%.80s\" is not ASCII [A-Za-z][A-Za-z0-9]* of at "
                           "most %d bytes", fp, i + 1,
                           f->name ? f->name : "(null)", META_NAME_MAX);
        for (int j = 0; j < i; j++)
            if (!strcmp(m->fields[j].name, f->name))
                return sh_errf(err, SH_EUSAGE, "%s: metadata: field %s given "
                               "twice", fp, f->name);
        if (f->value && strlen(f->value) > META_VALUE_MAX)
            return sh_errf(err, SH_EUSAGE, "%s: metadata: field %s is over %d "
                           "bytes", fp, f->name, META_VALUE_MAX);
    }

    /* Copy everything, then swap it in. */
    int oom = 0, nf = 0;
    char *title = NULL, *creator = NULL, *desc = NULL, *lg = strdup(lang);
    meta_field *fields = m->nfields ? calloc((size_t)m->nfields,
                                             sizeof *fields) : NULL;
    if (!lg || (m->nfields && !fields))
        oom = 1;
    if (!oom && m->title && m->title[0] && !(title = clean_text(m->title)))
        oom = 1;
    if (!oom && m->creator && m->creator[0] &&
        !(creator = clean_text(m->creator)))
        oom = 1;
    if (!oom && m->description && m->description[0] &&
        !(desc = clean_text(m->description)))
        oom = 1;
    for (int i = 0; i < m->nfields && !oom; i++) {
        if (!m->fields[i].value)
            continue;
        fields[nf].name = strdup(m->fields[i].name);
        fields[nf].value = clean_text(m->fields[i].value);
        nf++;
        if (!fields[nf - 1].name || !fields[nf - 1].value)
            oom = 1;
    }
    if (oom) {
        free(title);
        free(creator);
        free(desc);
        free(lg);
        for (int i = 0; i < nf; i++) {
            free(fields[i].name);
            free(fields[i].value);
        }
        free(fields);
        return sh_errf(err, SH_ENOMEM, "%s: metadata: out of memory", fp);
    }
    if (title) {
        free(p->title);
        p->title = title;
    }
    free(p->lang);
    p->lang = lg;
    free(p->creator);
    p->creator = creator;
    free(p->desc);
    p->desc = desc;
    for (int i = 0; i < p->nfields; i++) {
        free(p->fields[i].name);
        free(p->fields[i].value);
    }
    free(p->fields);
    p->fields = fields;
    p->nfields = nf;
    return SH_OK;
}

void sh_pdf_set_check(sh_pdf *p, sh_pdf_check_fn fn, void *ctx)
{
    if (!p)
        return;
    p->check = fn;
    p->check_ctx = ctx;
}

/* ------------------------------------------------------------------ */
/* pages                                                              */
/* ------------------------------------------------------------------ */

static int finite_pos(double v, double max)
{
    return isfinite(v) && v > 0 && v <= max;
}

static int side_ok(double v)
{
    return isfinite(v) && v >= PAGE_PT_MIN && v <= PAGE_PT_MAX;
}

static int check_page(const sh_pdf *p, const sh_pdf_page *pg, int pageno,
                      sh_err *err)
{
    const char *fp = p->final_path;
    if (!side_ok(pg->w_pt) || !side_ok(pg->h_pt))
        return sh_errf(err, SH_EUSAGE, "%s: page %d: page size %gx%g pt is "
                       "outside %g..%g", fp, pageno, pg->w_pt, pg->h_pt,
                       PAGE_PT_MIN, PAGE_PT_MAX);
    if (pg->img) {
        const char *why = image_problem(pg->img);
        if (why)
            return sh_errf(err, SH_EUSAGE, "%s: page %d: %s", fp, pageno, why);
        const double *m = pg->img_matrix;
        for (int i = 0; i < 6; i++)
            if (!isfinite(m[i]) || fabs(m[i]) > 1e6)
                return sh_errf(err, SH_EUSAGE, "%s: page %d: image matrix "
                               "entry %d is %g", fp, pageno, i, m[i]);
        if (fabs(m[0] * m[3] - m[1] * m[2]) < 1e-9)
            return sh_errf(err, SH_EUSAGE, "%s: page %d: image matrix is "
                           "singular", fp, pageno);
    }
    if (pg->words && pg->words->n > 0) {
        if (!pg->words->w || pg->words->n < 0)
            return sh_errf(err, SH_EUSAGE, "%s: page %d: bad word list", fp,
                           pageno);
        if (!finite_pos(pg->pt_per_px, 1000))
            return sh_errf(err, SH_EUSAGE, "%s: page %d: pt_per_px %g is not "
                           "a positive scale", fp, pageno, pg->pt_per_px);
    }
    return SH_OK;
}

static int word_usable(const sh_word *w)
{
    return w->text && w->text[0] && w->x1 > w->x0 && w->y1 > w->y0;
}

/* Append the invisible text of pg's words to cs (see the top comment). */
static void build_text(const sh_pdf_page *pg, sh_buf *cs, int *oom)
{
    const sh_words *ws = pg->words;
    const double k = pg->pt_per_px;
    uint16_t *u = NULL;
    size_t ucap = 0;
    int in_line = 0;
    double cur_size = -1, prev_x = 0, prev_size = 0;
    const char *prev_text = NULL;
    for (int i = 0; i < ws->n && !*oom; i++) {
        const sh_word *w = &ws->w[i];
        if (!word_usable(w))
            continue;
        int j = i + 1;
        while (j < ws->n && !word_usable(&ws->w[j]))
            j++;
        int last = j >= ws->n || ws->w[j].line != w->line ||
                   ws->w[j].par != w->par;

        /* text → UTF-16 units (+ a space unless last on its line) */
        size_t tl = strlen(w->text);
        if (tl + 2 > ucap) {
            uint16_t *nu = realloc(u, (tl + 2) * sizeof *u);
            if (!nu) {
                *oom = 1;
                break;
            }
            u = nu;
            ucap = tl + 2;
        }
        size_t nu = 0;
        const unsigned char *s = (const unsigned char *)w->text;
        for (size_t at = 0; at < tl;) {
            uint32_t cp;
            at += utf8_next(s + at, tl - at, &cp);
            u[nu++] = text_unit(cp);
        }
        size_t nshow = nu;
        if (!last)
            u[nshow++] = 0x0020;

        /* geometry, in pt, PDF's y up */
        int bh = w->y1 - w->y0;
        int lh = w->line_h > 0 ? w->line_h : bh;
        double bw = (w->x1 - w->x0) * k, size = lh * k, base;
        /* a baseline is trusted from the box top down to half a line
           below the box (a "-" or "," sits well above its baseline) */
        int trusted = w->baseline_y >= 0 && w->baseline_y >= w->y0 &&
                      w->baseline_y <= w->y1 + (lh > bh ? lh : bh) / 2;
        /* Extractors (poppler, pdf.js) split words by the gap between
           them, not by the space glyph: a word touching or overlapping
           the next one on its line is narrowed to leave WORD_GAP of the
           size, when that keeps at least half of it. */
        if (!last) {
            double room = (ws->w[j].x0 - w->x0) * k - WORD_GAP * size;
            if (room < bw && room >= bw / 2)
                bw = room;
        }
        /* each glyph advances MIN_ADVANCE of the size at least */
        if (bw / (double)nu < MIN_ADVANCE * size) {
            size = bw / (double)nu / MIN_ADVANCE;
            if (size < MIN_SIZE)
                size = MIN_SIZE;
        }
        if (trusted)
            base = pg->h_pt - w->baseline_y * k;
        else
            base = pg->h_pt - w->y1 * k + size * FONT_DESCENT / 1000.0;
        double x = w->x0 * k;
        /* the same text again right after: start MIN_ADVANCE apart */
        if (in_line && prev_text && !strcmp(prev_text, w->text)) {
            double least = prev_x + MIN_ADVANCE * (size > prev_size ?
                                                   size : prev_size);
            if (x < least)
                x = least;
        }
        prev_text = w->text;
        prev_x = x;
        prev_size = size;
        double tz = 100.0 * bw / ((double)nu * GLYPH_W / 1000.0 * size);

        if (!in_line) {
            bpf(cs, oom, "BT\n3 Tr\n");
            in_line = 1;
            cur_size = -1;
        }
        if (size != cur_size) {
            bpf(cs, oom, "/F1 ");
            bnum(cs, oom, size);
            bpf(cs, oom, "Tf\n");
            cur_size = size;
        }
        bpf(cs, oom, "1 0 0 1 ");
        bnum(cs, oom, x);
        bnum(cs, oom, base);
        bpf(cs, oom, "Tm\n");
        bnum(cs, oom, tz);
        bpf(cs, oom, "Tz\n<");
        for (size_t c = 0; c < nshow; c++)
            bpf(cs, oom, "%04X", (unsigned)u[c]);
        bpf(cs, oom, "> Tj\n");
        if (last) {
            bpf(cs, oom, "ET\n");
            in_line = 0;
        }
    }
    if (in_line)
        bpf(cs, oom, "ET\n");
    free(u);
}

static void image_dict(const sh_pdf_image *img, sh_buf *b, int *oom)
{
    bpf(b, oom, " /Type /XObject /Subtype /Image /Width %d /Height %d"
        " /ColorSpace /%s /BitsPerComponent %d", img->w, img->h,
        img->ncomp == 3 ? "DeviceRGB" : "DeviceGray", img->bpc);
    switch (img->filter) {
    case SH_PDF_DCT:
        bpf(b, oom, " /Filter /DCTDecode");
        break;
    case SH_PDF_CCITT_G4:
        bpf(b, oom, " /Filter /CCITTFaxDecode /DecodeParms << /K -1"
            " /Columns %d /Rows %d%s >>", img->w, img->h,
            img->black_is_1 ? " /BlackIs1 true" : "");
        break;
    default:
        bpf(b, oom, " /Filter /FlateDecode /DecodeParms << /Predictor 15"
            " /Colors %d /BitsPerComponent 8 /Columns %d >>", img->ncomp,
            img->w);
        break;
    }
}

int sh_pdf_add_page(sh_pdf *p, const sh_pdf_page *pg, sh_err *err)
{
    sh_buf cs = {0}, dict = {0}, page = {0};
    uint8_t *z = NULL;
    size_t zn = 0;
    int rc = SH_OK, oom = 0;
    if (!p || !pg)
        return sh_errf(err, SH_EUSAGE, "sh_pdf_add_page: NULL argument");
    if (p->rc) {
        copy_err(err, &p->err);
        return p->rc;
    }
    int pageno = p->npages + 1;
    rc = check_page(p, pg, pageno, err);
    if (rc)
        return rc;

    /* Everything that can fail for want of memory, before any byte of
       the page is written: a failure here leaves the writer usable. */
    int has_text = pg->words && pg->words->n > 0;
    if (pg->img) {
        bpf(&cs, &oom, "q\n");
        for (int i = 0; i < 6; i++)
            bnum(&cs, &oom, pg->img_matrix[i]);
        bpf(&cs, &oom, "cm\n/Im0 Do\nQ\n");
        image_dict(pg->img, &dict, &oom);
    }
    if (has_text)
        build_text(pg, &cs, &oom);
    if (!oom && deflate_mem(cs.data ? cs.data : "", cs.len, &z, &zn))
        oom = 1;
    if (!oom && p->npages == p->kcap) {
        int *nk = realloc(p->kids, (size_t)p->kcap * 2 * sizeof *nk);
        if (nk) {
            p->kids = nk;
            p->kcap *= 2;
        } else {
            oom = 1;
        }
    }
    if (!oom && reserve_objs(p, 3))
        oom = 1;
    int im = 0, cn = 0, pn = 0, reuse = 0;
    if (!oom) {
        reuse = pg->img && pg->reuse_image && p->last_im > 0;
        im = reuse ? p->last_im : pg->img ? ++p->nobj : 0;
        cn = ++p->nobj;
        pn = ++p->nobj;
        bpf(&page, &oom, "<< /Type /Page /Parent %d 0 R /MediaBox [0 0 ",
            OBJ_PAGES);
        bnum(&page, &oom, pg->w_pt);
        bnum(&page, &oom, pg->h_pt);
        bpf(&page, &oom, "] /Resources <<");
        if (im)
            bpf(&page, &oom, " /XObject << /Im0 %d 0 R >>", im);
        if (has_text)
            bpf(&page, &oom, " /Font << /F1 %d 0 R >>", OBJ_FONT);
        bpf(&page, &oom, " >> /Contents %d 0 R >>", cn);
        if (oom)
            p->nobj -= im && !reuse ? 3 : 2;
    }
    if (oom) {
        rc = sh_errf(err, SH_ENOMEM, "%s: page %d: out of memory",
                     p->final_path, pageno);
        goto out;
    }

    /* Write the page; from here a failure ends the document. */
    if (im && !reuse)
        put_stream(p, im, dict.data, pg->img->data, pg->img->n);
    put_stream(p, cn, " /Filter /FlateDecode", z, zn);
    put_dict(p, pn, page.data);
    if (p->rc) {
        rc = p->rc;
        copy_err(err, &p->err);
        goto out;
    }
    p->kids[p->npages++] = pn;
    if (im)
        p->last_im = im;
out:
    sh_buf_release(&cs);
    sh_buf_release(&dict);
    sh_buf_release(&page);
    free(z);
    return rc;
}

/* ------------------------------------------------------------------ */
/* commit                                                             */
/* ------------------------------------------------------------------ */

/* The moment of the commit, as Info wants it (D:YYYYMMDDHHmmSS+HH'mm')
   and as XMP wants it (YYYY-MM-DDTHH:mm:SS+HH:mm), local time, the same
   second in both. */
typedef struct doc_time {
    char pdf[64];
    char xmp[64];
} doc_time;

static void doc_time_now(doc_time *dt)
{
    time_t t = time(NULL);
    struct tm tm;
    localtime_r(&t, &tm);
    long off = tm.tm_gmtoff;
    char sign = off < 0 ? '-' : '+';
    if (off < 0)
        off = -off;
    snprintf(dt->pdf, sizeof dt->pdf,
             "D:%04d%02d%02d%02d%02d%02d%c%02ld'%02ld'", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, sign,
             off / 3600, off % 3600 / 60);
    snprintf(dt->xmp, sizeof dt->xmp,
             "%04d-%02d-%02dT%02d:%02d:%02d%c%02ld:%02ld", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, sign,
             off / 3600, off % 3600 / 60);
}

/* The shared font objects 3–8; returns SH_OK or the sticky error. */
static int write_font(sh_pdf *p)
{
    char s[512];
    snprintf(s, sizeof s,
             "<< /Type /Font /Subtype /Type0 /BaseFont /GlyphLessFont"
             " /Encoding /Identity-H /DescendantFonts [%d 0 R]"
             " /ToUnicode %d 0 R >>", OBJ_CIDFONT, OBJ_TOUNICODE);
    put_dict(p, OBJ_FONT, s);
    snprintf(s, sizeof s,
             "<< /Type /Font /Subtype /CIDFontType2 /BaseFont /GlyphLessFont"
             " /CIDSystemInfo << /Registry (Adobe) /Ordering (Identity)"
             " /Supplement 0 >> /FontDescriptor %d 0 R /DW %d"
             " /CIDToGIDMap %d 0 R >>", OBJ_FONTDESC, GLYPH_W, OBJ_CIDTOGID);
    put_dict(p, OBJ_CIDFONT, s);
    snprintf(s, sizeof s,
             "<< /Type /FontDescriptor /FontName /GlyphLessFont /Flags 5"
             " /FontBBox [0 -%d %d %d] /ItalicAngle 0 /Ascent %d"
             " /Descent -%d /CapHeight %d /StemV 80 /FontFile2 %d 0 R >>",
             FONT_DESCENT, GLYPH_W, FONT_ASCENT, FONT_ASCENT, FONT_DESCENT,
             FONT_ASCENT, OBJ_FONTFILE);
    put_dict(p, OBJ_FONTDESC, s);
    snprintf(s, sizeof s, " /Length1 %zu", p->font_n);
    put_stream(p, OBJ_FONTFILE, s, p->font, p->font_n);

    /* CIDToGIDMap: two bytes a CID, every CID → glyph 1. */
    size_t mn = 2 * 65536;
    uint8_t *map = malloc(mn), *z = NULL;
    size_t zn = 0;
    if (!map)
        return fail_mem(p);
    for (size_t i = 0; i < mn; i += 2) {
        map[i] = 0;
        map[i + 1] = 1;
    }
    int rc = deflate_mem(map, mn, &z, &zn);
    free(map);
    if (rc)
        return fail_mem(p);
    put_stream(p, OBJ_CIDTOGID, " /Filter /FlateDecode", z, zn);
    free(z);

    /* ToUnicode: code = UTF-16 unit, in 256 ranges that vary only in
       their last byte, at most 100 to a block. */
    sh_buf cm = {0};
    int oom = 0;
    bpf(&cm, &oom,
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0"
        " >> def\n/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
        "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n");
    for (int hi = 0; hi < 256; hi += 100) {
        int cnt = 256 - hi < 100 ? 256 - hi : 100;
        bpf(&cm, &oom, "%d beginbfrange\n", cnt);
        for (int b = hi; b < hi + cnt; b++)
            bpf(&cm, &oom, "<%02X00> <%02XFF> <%02X00>\n", b, b, b);
        bpf(&cm, &oom, "endbfrange\n");
    }
    bpf(&cm, &oom, "endcmap\nCMapName currentdict /CMapResource "
        "defineresource pop\nend\nend\n");
    if (oom || deflate_mem(cm.data, cm.len, &z, &zn)) {
        sh_buf_release(&cm);
        return fail_mem(p);
    }
    sh_buf_release(&cm);
    put_stream(p, OBJ_TOUNICODE, " /Filter /FlateDecode", z, zn);
    free(z);
    return p->rc;
}

/* The file identifier: 16 bytes from a digest of where, when and what,
   with the RFC 4122 version-4 and variant bits set so the same bytes
   serve as /ID (hex) and as xmpMM:DocumentID/InstanceID (uuid:...). */
static void make_id(const sh_pdf *p, char hex[33], char uuid[48])
{
    char seed[4400], h[65];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(seed, sizeof seed, "%s|%lld.%09ld|%d|%d|%llu", p->final_path,
             (long long)ts.tv_sec, ts.tv_nsec, (int)getpid(), p->npages,
             (unsigned long long)p->off);
    sh_sha256_buf(seed, strlen(seed), h);
    static const char xd[] = "0123456789abcdef";
    h[12] = '4';                                        /* version 4 */
    h[16] = xd[8 + (strchr(xd, h[16]) - xd) % 4];       /* variant 10xx */
    memcpy(hex, h, 32);
    hex[32] = 0;
    snprintf(uuid, 48, "uuid:%.8s-%.4s-%.4s-%.4s-%.12s", h, h + 8, h + 12,
             h + 16, h + 20);
}

/* What each known archival field is (Decree 30/2020/ND-CP, Annex VI). */
static const struct {
    const char *name, *desc;
} hoso_known[] = {
    {"FileCode", "Mã hồ sơ (dossier code)"},
    {"OrganId", "Mã định danh của cơ quan, tổ chức (agency identifier)"},
    {"FileCatalog", "Mục lục số hoặc năm hình thành hồ sơ (catalogue "
                    "number or year)"},
    {"FileNotation", "Số và ký hiệu hồ sơ (dossier number and notation)"},
    {"Title", "Tiêu đề hồ sơ (dossier title)"},
    {"Maintenance", "Thời hạn bảo quản (retention period)"},
    {"Rights", "Chế độ sử dụng (access regime)"},
    {"Language", "Ngôn ngữ (language)"},
    {"StartDate", "Thời gian bắt đầu (start date)"},
    {"EndDate", "Thời gian kết thúc (end date)"},
    {"DocTotal", "Tổng số văn bản trong hồ sơ (number of documents)"},
    {"PageTotal", "Tổng số trang của hồ sơ (number of pages)"},
    {"SheetTotal", "Tổng số tờ của hồ sơ (number of sheets)"},
    {"Description", "Ghi chú (notes)"},
    {"InforSign", "Ký hiệu thông tin (information sign)"},
    {"Keyword", "Từ khóa (keywords)"},
    {"Format", "Tình trạng vật lý (physical state)"},
    {"Agency", "Cơ quan giao nộp hồ sơ (agency code)"},
};

/* The pdfaExtension description of the hoso fields: a description of
   its own, before the one that uses them (readers such as xmpbox learn
   extension schemas from descriptions whose first child is one). */
static void xmp_extension(const sh_pdf *p, sh_buf *x, int *oom)
{
    bpf(x, oom,
        "  <rdf:Description rdf:about=\"\"\n"
        "    xmlns:pdfaExtension=\"http://www.aiim.org/pdfa/ns/extension/\"\n"
        "    xmlns:pdfaSchema=\"http://www.aiim.org/pdfa/ns/schema#\"\n"
        "    xmlns:pdfaProperty=\"http://www.aiim.org/pdfa/ns/property#\">\n"
        "   <pdfaExtension:schemas>\n    <rdf:Bag>\n"
        "     <rdf:li rdf:parseType=\"Resource\">\n"
        "      <pdfaSchema:schema>sohoa dossier metadata (Decree "
        "30/2020/ND-CP, Annex VI)</pdfaSchema:schema>\n"
        "      <pdfaSchema:namespaceURI>" HOSO_NS "</pdfaSchema:namespaceURI>\n"
        "      <pdfaSchema:prefix>hoso</pdfaSchema:prefix>\n"
        "      <pdfaSchema:property>\n       <rdf:Seq>\n");
    for (int i = 0; i < p->nfields; i++) {
        const char *d = NULL;
        for (size_t k = 0; k < SH_ARRAY_LEN(hoso_known) && !d; k++)
            if (!strcmp(hoso_known[k].name, p->fields[i].name))
                d = hoso_known[k].desc;
        bpf(x, oom,
            "        <rdf:li rdf:parseType=\"Resource\">\n"
            "         <pdfaProperty:name>%s</pdfaProperty:name>\n"
            "         <pdfaProperty:valueType>Text</pdfaProperty:valueType>\n"
            "         <pdfaProperty:category>external</pdfaProperty:category>\n"
            "         <pdfaProperty:description>", p->fields[i].name);
        if (d)
            bpf(x, oom, "%s", d);
        else
            bpf(x, oom, "Dossier field %s", p->fields[i].name);
        bpf(x, oom, "</pdfaProperty:description>\n        </rdf:li>\n");
    }
    bpf(x, oom, "       </rdf:Seq>\n      </pdfaSchema:property>\n"
        "     </rdf:li>\n    </rdf:Bag>\n   </pdfaExtension:schemas>\n"
        "  </rdf:Description>\n");
}

/* The XMP packet (see the top comment). */
static int build_xmp(const sh_pdf *p, const doc_time *dt, const char *uuid,
                     sh_buf *x)
{
    int oom = 0;
    bpf(x, &oom,
        "<?xpacket begin=\"\xEF\xBB\xBF\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>\n"
        "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\">\n"
        " <rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\n");
    if (p->nfields)
        xmp_extension(p, x, &oom);
    bpf(x, &oom,
        "  <rdf:Description rdf:about=\"\"\n"
        "    xmlns:pdfaid=\"http://www.aiim.org/pdfa/ns/id/\"\n"
        "    xmlns:dc=\"http://purl.org/dc/elements/1.1/\"\n"
        "    xmlns:xmp=\"http://ns.adobe.com/xap/1.0/\"\n"
        "    xmlns:pdf=\"http://ns.adobe.com/pdf/1.3/\"\n"
        "    xmlns:xmpMM=\"http://ns.adobe.com/xap/1.0/mm/\"%s>\n"
        "   <pdfaid:part>2</pdfaid:part>\n"
        "   <pdfaid:conformance>B</pdfaid:conformance>\n"
        "   <dc:format>application/pdf</dc:format>\n",
        p->nfields ? "\n    xmlns:hoso=\"" HOSO_NS "\"" : "");
    if (p->title) {
        bpf(x, &oom, "   <dc:title><rdf:Alt><rdf:li xml:lang=\"x-default\">");
        xml_esc(x, &oom, p->title);
        bpf(x, &oom, "</rdf:li></rdf:Alt></dc:title>\n");
    }
    if (p->creator) {
        bpf(x, &oom, "   <dc:creator><rdf:Seq><rdf:li>");
        xml_esc(x, &oom, p->creator);
        bpf(x, &oom, "</rdf:li></rdf:Seq></dc:creator>\n");
    }
    if (p->desc) {
        bpf(x, &oom, "   <dc:description><rdf:Alt><rdf:li "
            "xml:lang=\"x-default\">");
        xml_esc(x, &oom, p->desc);
        bpf(x, &oom, "</rdf:li></rdf:Alt></dc:description>\n");
    }
    bpf(x, &oom, "   <dc:language><rdf:Bag><rdf:li>%s</rdf:li></rdf:Bag>"
        "</dc:language>\n"
        "   <xmp:CreateDate>%s</xmp:CreateDate>\n"
        "   <xmp:ModifyDate>%s</xmp:ModifyDate>\n"
        "   <xmp:MetadataDate>%s</xmp:MetadataDate>\n"
        "   <xmp:CreatorTool>sohoa</xmp:CreatorTool>\n"
        "   <pdf:Producer>sohoa</pdf:Producer>\n"
        "   <xmpMM:DocumentID>%s</xmpMM:DocumentID>\n"
        "   <xmpMM:InstanceID>%s</xmpMM:InstanceID>\n",
        p->lang, dt->xmp, dt->xmp, dt->xmp, uuid, uuid);
    for (int i = 0; i < p->nfields; i++) {
        bpf(x, &oom, "   <hoso:%s>", p->fields[i].name);
        xml_esc(x, &oom, p->fields[i].value);
        bpf(x, &oom, "</hoso:%s>\n", p->fields[i].name);
    }
    bpf(x, &oom, "  </rdf:Description>\n </rdf:RDF>\n</x:xmpmeta>\n"
        "<?xpacket end=\"w\"?>");
    return oom ? SH_ENOMEM : SH_OK;
}

/* ICC profile (11), Metadata (10), Info (9), Pages (2), Catalog (1). */
static int write_doc(sh_pdf *p, const doc_time *dt, const char *uuid)
{
    sh_buf b = {0};
    int oom = 0;
    uint8_t *z = NULL;
    size_t zn = 0;

    if (deflate_mem(p->icc, p->icc_n, &z, &zn))
        return fail_mem(p);
    put_stream(p, OBJ_ICC, " /N 3 /Filter /FlateDecode", z, zn);
    free(z);

    if (build_xmp(p, dt, uuid, &b)) {
        sh_buf_release(&b);
        return fail_mem(p);
    }
    put_stream(p, OBJ_METADATA, " /Type /Metadata /Subtype /XML", b.data,
               b.len);

    b.len = 0;
    bpf(&b, &oom, "<< /Producer (sohoa) /Creator (sohoa) /CreationDate (%s)"
        " /ModDate (%s)", dt->pdf, dt->pdf);
    if (p->title) {
        bpf(&b, &oom, " /Title ");
        pdf_text_string(&b, &oom, p->title);
    }
    if (p->creator) {
        bpf(&b, &oom, " /Author ");
        pdf_text_string(&b, &oom, p->creator);
    }
    if (p->desc) {
        bpf(&b, &oom, " /Subject ");
        pdf_text_string(&b, &oom, p->desc);
    }
    bpf(&b, &oom, " >>");
    if (oom) {
        sh_buf_release(&b);
        return fail_mem(p);
    }
    put_dict(p, OBJ_INFO, b.data);

    b.len = 0;
    bpf(&b, &oom, "<< /Type /Pages /Kids [");
    for (int i = 0; i < p->npages; i++)
        bpf(&b, &oom, "%s%d 0 R", i ? " " : "", p->kids[i]);
    bpf(&b, &oom, "] /Count %d >>", p->npages);
    if (oom) {
        sh_buf_release(&b);
        return fail_mem(p);
    }
    put_dict(p, OBJ_PAGES, b.data);

    b.len = 0;
    bpf(&b, &oom, "<< /Type /Catalog /Pages %d 0 R /Metadata %d 0 R"
        " /OutputIntents [<< /Type /OutputIntent /S /GTS_PDFA1"
        " /OutputConditionIdentifier (sRGB IEC61966-2.1)"
        " /RegistryName (http://www.color.org) /Info (sRGB IEC61966-2.1)"
        " /DestOutputProfile %d 0 R >>] /Lang (%s) >>", OBJ_PAGES,
        OBJ_METADATA, OBJ_ICC, p->lang);
    if (oom) {
        sh_buf_release(&b);
        return fail_mem(p);
    }
    put_dict(p, OBJ_CATALOG, b.data);
    sh_buf_release(&b);
    return p->rc;
}

static int write_xref(sh_pdf *p, const char *id_hex)
{
    if (p->rc)
        return p->rc;
    uint64_t at = p->off;
    if (at > XREF_OFF_MAX) {
        p->rc = sh_errf(&p->err, SH_ELIMIT, "%s: PDF over 9.9 GB, the limit "
                        "of a classic xref table", p->final_path);
        drop_tmp(p);
        return p->rc;
    }
    wprintf(p, "xref\n0 %d\n0000000000 65535 f \n", p->nobj + 1);
    for (int i = 1; i <= p->nobj; i++)
        wprintf(p, "%010llu 00000 n \n", (unsigned long long)p->xref[i]);
    wprintf(p, "trailer\n<< /Size %d /Root %d 0 R /Info %d 0 R"
            " /ID [<%s> <%s>] >>\n", p->nobj + 1, OBJ_CATALOG, OBJ_INFO,
            id_hex, id_hex);
    return wprintf(p, "startxref\n%llu\n%%%%EOF\n", (unsigned long long)at);
}

int sh_pdf_commit(sh_pdf **pp, sh_err *err)
{
    sh_pdf *p = pp ? *pp : NULL;
    int rc = SH_OK;
    if (!p)
        return sh_errf(err, SH_EUSAGE, "sh_pdf_commit: no PDF");
    *pp = NULL;
    if (p->rc) {
        rc = p->rc;
        copy_err(err, &p->err);
        goto out;
    }
    if (p->npages == 0) {
        rc = sh_errf(err, SH_EUSAGE, "%s: no pages to write", p->final_path);
        goto out;
    }
    doc_time dt;
    char id_hex[33], uuid[48];
    doc_time_now(&dt);
    make_id(p, id_hex, uuid);
    write_font(p);
    write_doc(p, &dt, uuid);
    write_xref(p, id_hex);
    wflush(p);
    if (!p->rc && sh_fsync(p->fd) < 0)
        fail_io(p, errno, "fsync of");
    if (!p->rc) {
        int fd = p->fd;
        p->fd = -1;
        if (close(fd) < 0)
            fail_io(p, errno, "closing");
    }
    if (!p->rc && p->check) {
        sh_err cerr = {0};
        int crc = p->check(p->tmp_path, p->check_ctx, &cerr);
        if (crc) {
            p->rc = sh_errf(&p->err, crc, "%s: %s", p->final_path,
                            cerr.msg[0] ? cerr.msg : "the check of the "
                            "written file failed");
            drop_tmp(p);
        }
    }
    if (!p->rc && rename(p->tmp_path, p->final_path) < 0)
        fail_io(p, errno, "renaming into place");
    if (p->rc) {
        rc = p->rc;
        copy_err(err, &p->err);
        goto out;
    }
    p->tmp_exists = 0;
    if (sh_fsync_dir_of(p->final_path) != SH_OK) {
        /* The file is complete but its name may not survive a crash:
           report the failure and keep the promise that an error leaves
           no file behind. */
        int e = errno;
        unlink(p->final_path);
        rc = sh_errf(err, SH_EIO, "%s: fsync of the folder failed: %s",
                     p->final_path, strerror(e));
    }
out:
    pdf_free(p);
    return rc;
}

void sh_pdf_abort(sh_pdf **pp)
{
    if (!pp || !*pp)
        return;
    pdf_free(*pp);
    *pp = NULL;
}
