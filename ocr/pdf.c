/*
 * pdf.c — the searchable PDF writer (see pdf.h).
 *
 * Functions (the images for PDF are in pdf_image.c, sh_pdf_set_meta and
 * the XMP packet in pdf_meta.c):
 *   sh_pdf_open              font + ICC profile read, temp file + header
 *   sh_pdf_set_check         a check of the temp file before the rename
 *   sh_pdf_add_page          one page's objects, written at once
 *   sh_pdf_commit            shared objects, XMP, xref, trailer, fsync,
 *                            check, rename
 *   sh_pdf_abort             drop the temp file
 *   sh__pdf_clean_text       (pdf_int.h) text for Info and XMP
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
#include "pdf_int.h"

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
#include <zlib.h>

#define FONT_DEFAULT "/usr/share/tesseract-ocr/5/tessdata/pdf.ttf"
#define FONT_MAX ((size_t)16 << 20)
#define ICC_DEFAULT "/usr/share/color/icc/sRGB.icc"
#define ICC_PACKAGE "icc-profiles-free"
#define ICC_MAX ((size_t)4 << 20)

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

#define PAGE_PT_MIN 3.0          /* PDF/A-2 limits on page size, pt   */
#define PAGE_PT_MAX 14400.0
#define WBUF_SIZE ((size_t)64 * 1024)
#define XREF_OFF_MAX 9999999999ULL /* 10 digits in an xref entry       */


/* ------------------------------------------------------------------ */
/* small helpers                                                      */
/* ------------------------------------------------------------------ */

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
char *sh__pdf_clean_text(const char *s)
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
    p->title = title && title[0] ? sh__pdf_clean_text(title) : NULL;
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

    p->fd = open(p->tmp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                 (mode_t)sh_private_mode(final_path, 0));
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
        const char *why = sh__pdf_image_problem(pg->img);
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

/* Strip k of img (sh_pdf_image): its first row and its rows. */
static void strip_rows(const sh_pdf_image *img, int k, int *y0, int *rows)
{
    if (img->nstrip <= 1) {
        *y0 = 0;
        *rows = img->h;
        return;
    }
    *y0 = k * img->strip_rows;
    *rows = k == img->nstrip - 1 ? img->h - *y0 : img->strip_rows + 1;
}

/* The dictionary of img's XObject of rows rows (its height). */
static void image_dict(const sh_pdf_image *img, int rows, sh_buf *b,
                       int *oom)
{
    bpf(b, oom, " /Type /XObject /Subtype /Image /Width %d /Height %d"
        " /ColorSpace /%s /BitsPerComponent %d", img->w, rows,
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
    sh_buf cs = {0}, dict = {0}, last = {0}, page = {0};
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
    int nim = pg->img ? (pg->img->nstrip > 1 ? pg->img->nstrip : 1) : 0;
    /* A striped image: strip k drawn in its band of the unit square,
       [1 0 0 rows/h 0 (h-y0-rows)/h] x img_matrix, top strip first (the
       row it shares with the next is covered by the next). */
    const double *m = pg->img_matrix;
    for (int k = 0; k < nim; k++) {
        int y0, rows;
        strip_rows(pg->img, k, &y0, &rows);
        double a = (double)rows / pg->img->h;
        double b = (double)(pg->img->h - y0 - rows) / pg->img->h;
        double c[6] = {m[0], m[1], a * m[2], a * m[3], b * m[2] + m[4],
                       b * m[3] + m[5]};
        bpf(&cs, &oom, "q\n");
        for (int i = 0; i < 6; i++)
            bnum(&cs, &oom, c[i]);
        bpf(&cs, &oom, "cm\n/Im%d Do\nQ\n", k);
        /* the strips' dictionaries: the last's, and the others' */
        if (k == nim - 1)
            image_dict(pg->img, rows, &last, &oom);
        else if (k == 0)
            image_dict(pg->img, rows, &dict, &oom);
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
    if (!oom && reserve_objs(p, nim + 2))
        oom = 1;
    int im = 0, cn = 0, pn = 0, reuse = 0;
    if (!oom) {
        /* the strips' XObjects are numbers im .. im + nim - 1 */
        reuse = pg->img && pg->reuse_image && p->last_im > 0 &&
                p->last_nim == nim;
        im = reuse ? p->last_im : pg->img ? p->nobj + 1 : 0;
        if (im && !reuse)
            p->nobj += nim;
        cn = ++p->nobj;
        pn = ++p->nobj;
        bpf(&page, &oom, "<< /Type /Page /Parent %d 0 R /MediaBox [0 0 ",
            OBJ_PAGES);
        bnum(&page, &oom, pg->w_pt);
        bnum(&page, &oom, pg->h_pt);
        bpf(&page, &oom, "] /Resources <<");
        if (im) {
            bpf(&page, &oom, " /XObject <<");
            for (int k = 0; k < nim; k++)
                bpf(&page, &oom, " /Im%d %d 0 R", k, im + k);
            bpf(&page, &oom, " >>");
        }
        if (has_text)
            bpf(&page, &oom, " /Font << /F1 %d 0 R >>", OBJ_FONT);
        bpf(&page, &oom, " >> /Contents %d 0 R >>", cn);
        if (oom)
            p->nobj -= im && !reuse ? nim + 2 : 2;
    }
    if (oom) {
        rc = sh_errf(err, SH_ENOMEM, "%s: page %d: out of memory",
                     p->final_path, pageno);
        goto out;
    }

    /* Write the page; from here a failure ends the document. */
    size_t off = 0;
    for (int k = 0; im && !reuse && k < nim; k++) {
        size_t n = nim > 1 ? pg->img->strip_n[k] : pg->img->n;
        put_stream(p, im + k, k < nim - 1 ? dict.data : last.data,
                   pg->img->data + off, n);
        off += n;
    }
    put_stream(p, cn, " /Filter /FlateDecode", z, zn);
    put_dict(p, pn, page.data);
    if (p->rc) {
        rc = p->rc;
        copy_err(err, &p->err);
        goto out;
    }
    p->kids[p->npages++] = pn;
    if (im) {
        p->last_im = im;
        p->last_nim = nim;
    }
out:
    sh_buf_release(&cs);
    sh_buf_release(&dict);
    sh_buf_release(&last);
    sh_buf_release(&page);
    free(z);
    return rc;
}

/* ------------------------------------------------------------------ */
/* commit                                                             */
/* ------------------------------------------------------------------ */

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

    if (sh__pdf_build_xmp(p, dt, uuid, &b)) {
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
    sh__pdf_make_id(p, id_hex, uuid);
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
