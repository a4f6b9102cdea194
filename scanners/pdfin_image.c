/*
 * pdfin.c — scanner PDFs as a source: each page's embedded image taken
 * out as it is stored, never rendered.
 *
 *   sh__pdf_open    qpdf reads the file (damage repaired, empty user
 *                   password tried), pages counted
 *   sh__pdf_read    one page: what its content draws, then the image(s)
 *                   decoded into the frame
 *   sh__pdf_close   free the qpdf handle
 *
 * Method.  qpdf (libqpdf, C API) parses the file: cross-reference tables
 * and streams, object streams, repair of damaged files, decryption, the
 * page tree.  Everything qpdf is asked for is checked for an error after
 * the call (qpdf_silence_errors: nothing reaches stderr, no exception
 * crosses into C), and qpdf's warnings go to the debug log.  Stream data
 * is always taken raw (qpdf_dl_none): the general-purpose filters
 * (Flate, LZW, RunLength, ASCIIHex, ASCII85, with PNG/TIFF predictors) are
 * undone here so that every output is bounded in advance — an image
 * stream stops at the bytes its /Width, /Height and colour need, and
 * content streams stop at 64 MiB a page — where qpdf would inflate a
 * decompression bomb in memory before we could look.
 *
 * Which image a page shows comes from its content stream, interpreted
 * just enough: q/Q and cm for the transformation matrix, Do for XObjects
 * (images recorded with their matrix; forms followed with their /Matrix and
 * /Resources, with a nesting and loop guard), BI..EI inline images
 * skipped, and Tj/TJ/'/" with the text rendering mode (Tr) to tell an
 * invisible OCR layer from visible text.  The image drawn largest is the
 * scan; others under 2% of its area (together under 5%) are left out and
 * counted; images of one width that tile the page top to bottom are
 * strips of one scan and are joined; anything else is refused.  The
 * matrix gives the resolution (pixels over displayed size) and the turn
 * (with the page's /Rotate) that the viewer applies, which becomes
 * tag_rot.
 *
 * Codecs: DCTDecode goes to scan.c's JPEG decoder under PDF rules (its
 * bytes are offered for pass-through when they mean the same alone);
 * CCITTFaxDecode is wrapped in a one-strip TIFF in memory and decoded by
 * libtiff with scan.c's message capture, so a fax stream that ends early
 * is an error, not a white band; other pixels are converted here from
 * gray, RGB, CMYK, ICCBased (by /N), CalGray/CalRGB and Indexed colour at
 * 1..16 bits, through /Decode.  JBIG2 is decoded with jbig2dec (memory
 * capped from the declared size).  JPEG 2000, Lab, Separation and
 * DeviceN are refused by name.  An /ImageMask is read as black ink on
 * white; soft masks are ignored.
 */
#include "scan_int.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <qpdf/qpdf-c.h>
#include <jbig2.h>
#include <zlib.h>

#define CONTENT_MAX ((size_t)64 << 20) /* decoded content per page       */
#define FORM_DEPTH_MAX 12              /* forms inside forms             */
#define DO_MAX 20000                   /* XObjects invoked per page      */
#define DRAWN_MAX 4096                 /* images drawn per page          */
#define GSTACK_MAX 64                  /* q levels kept (deeper: counted) */
#define FILTERS_MAX 8                  /* filters in one chain           */
#define PARENT_MAX 64                  /* page-tree levels for inherited */
#define WARN_LOG_MAX 20                /* qpdf warnings logged per call  */
#define SMALL_ONE 0.02                 /* a left-out image: < 2% of the
                                          scan's area ...                */
#define SMALL_ALL 0.05                 /* ... all of them < 5%           */

struct sh_pdfin {
    qpdf_data q;
};

/* ------------------------------------------------------------------ */
/* qpdf access                                                         */
/* ------------------------------------------------------------------ */

/* The dictionary of oh (itself, or a stream's); 0 when neither. */
static qpdf_oh dict_of(qpdf_data q, qpdf_oh oh)
{
    if (!oh)
        return 0;
    if (qpdf_oh_is_stream(q, oh))
        return qpdf_oh_get_dict(q, oh);
    return qpdf_oh_is_dictionary(q, oh) ? oh : 0;
}

/* Value of key ("/Name") in oh's dictionary, references resolved; 0 when
   oh has no dictionary, or the key is absent or null. */
static qpdf_oh dget(qpdf_data q, qpdf_oh oh, const char *key)
{
    qpdf_oh d = dict_of(q, oh);
    if (!d || !qpdf_oh_has_key(q, d, key))
        return 0;
    qpdf_oh v = qpdf_oh_get_key(q, d, key);
    return v && !qpdf_oh_is_null(q, v) ? v : 0;
}

static int num_of(qpdf_data q, qpdf_oh oh, double *v)
{
    return oh && qpdf_oh_get_value_as_number(q, oh, v) && isfinite(*v);
}

static double dnum(qpdf_data q, qpdf_oh oh, const char *key, double def)
{
    double v;
    return num_of(q, dget(q, oh, key), &v) ? v : def;
}

/* key as an integer in lo..hi, else def (absent, not a number, out of
   range, or not integral). */
static long dint(qpdf_data q, qpdf_oh oh, const char *key, long lo, long hi,
                 long def)
{
    double v;
    if (!num_of(q, dget(q, oh, key), &v) || v < lo || v > hi ||
        v != floor(v))
        return def;
    return (long)v;
}

static int dbool(qpdf_data q, qpdf_oh oh, const char *key, int def)
{
    QPDF_BOOL b;
    qpdf_oh v = dget(q, oh, key);
    return v && qpdf_oh_get_value_as_bool(q, v, &b) ? b != 0 : def;
}

/* oh as a name without its slash, copied into buf; 0 if not a name. */
static int name_of(qpdf_data q, qpdf_oh oh, char *buf, size_t n)
{
    const char *v;
    size_t len;
    buf[0] = 0;
    if (!oh || !qpdf_oh_get_value_as_name(q, oh, &v, &len) || len < 1)
        return 0;
    if (v[0] == '/')
        v++, len--;
    if (len >= n)
        len = n - 1;
    memcpy(buf, v, len);
    buf[len] = 0;
    return 1;
}

static int dname(qpdf_data q, qpdf_oh oh, const char *key, char *buf,
                 size_t n)
{
    return name_of(q, dget(q, oh, key), buf, n);
}

/* Take qpdf's pending error (clearing it) into buf; 0 if there is none. */
static int qpdf_error_text(qpdf_data q, char *buf, size_t n)
{
    if (!qpdf_has_error(q))
        return 0;
    qpdf_error e = qpdf_get_error(q);
    const char *d = e ? qpdf_get_error_message_detail(q, e) : NULL;
    if (!d || !*d)
        d = e ? qpdf_get_error_full_text(q, e) : NULL;
    snprintf(buf, n, "%s", d && *d ? d : "qpdf error");
    return 1;
}

/* qpdf's warnings since the last call, into the debug log. */
static void drain_warnings(const sh_scan *s, int n)
{
    qpdf_data q = s->pdf->q;
    int k = 0;
    while (qpdf_more_warnings(q)) {
        qpdf_error e = qpdf_next_warning(q);
        if (e && k++ < WARN_LOG_MAX) {
            const char *d = qpdf_get_error_message_detail(q, e);
            if (n >= 0)
                sh_log(SH_LOG_DEBUG, "%s: page %d: qpdf: %s", s->path, n + 1,
                       d ? d : "");
            else
                sh_log(SH_LOG_DEBUG, "%s: qpdf: %s", s->path, d ? d : "");
        }
    }
}

/* Inheritable page attribute: the page's, else the nearest ancestor's. */
static qpdf_oh inherited(qpdf_data q, qpdf_oh page, const char *key)
{
    qpdf_oh node = page;
    for (int i = 0; node && i < PARENT_MAX; i++) {
        qpdf_oh v = dget(q, node, key);
        if (v)
            return v;
        node = dget(q, node, "/Parent");
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* the page being read                                                 */
/* ------------------------------------------------------------------ */

typedef struct drawn {
    qpdf_oh oh;      /* image XObject stream; 0 for an inline image */
    int id;          /* its object number (handles differ per lookup) */
    double m[6];     /* the matrix that maps the image's unit square */
} drawn;

typedef struct pg {
    sh_scan *s;
    int n;
    sh_err *err;
    qpdf_data q;
    drawn *d;
    size_t nd, capd;
    int text, visible_text, inline_imgs;
    size_t content_bytes;       /* content decoded so far (forms again
                                   each time they run) */
    long ndo;
    int form_ids[FORM_DEPTH_MAX];
    int nforms;
    char why[256];              /* first complaint of a filter */
} pg;

#define PERR(c, rc, ...)                                                   \
    sh__frame_err((c)->s, (c)->n, (c)->err, rc, __VA_ARGS__)

/* An error qpdf holds, as SH_EINPUT for the page; SH_OK if none. */
static int qpdf_check(pg *c, const char *what)
{
    char text[512];
    if (!qpdf_error_text(c->q, text, sizeof text))
        return SH_OK;
    return PERR(c, SH_EINPUT, "%s: %s", what, text);
}

static void why(pg *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void why(pg *c, const char *fmt, ...)
{
    if (c->why[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->why, sizeof c->why, fmt, ap);
    va_end(ap);
}

/* The raw bytes of a stream (decrypted, still encoded), malloc'd. */
static int raw_stream(pg *c, qpdf_oh st, uint8_t **out, size_t *n,
                      const char *what)
{
    unsigned char *buf = NULL;
    size_t len = 0;
    *out = NULL;
    *n = 0;
    int r = qpdf_oh_get_stream_data(c->q, st, qpdf_dl_none, NULL, &buf, &len);
    if ((r & QPDF_ERRORS) || qpdf_has_error(c->q)) {
        free(buf);
        int rc = qpdf_check(c, what);
        return rc ? rc : PERR(c, SH_EINPUT, "%s: unreadable stream", what);
    }
    *out = buf;
    *n = len;
    return SH_OK;
}

/* ------------------------------------------------------------------ */
/* general-purpose filters, with bounded output                        */
/* ------------------------------------------------------------------ */

/* Output of one filter: at most `limit` bytes; `full` says the limit cut
   it short. */
typedef struct obuf {
    uint8_t *p;
    size_t n, cap, limit;
    int full;
} obuf;

/* Make room for k more bytes (fewer if the limit is near: *k is cut and
   full set).  -1 when out of memory. */
static int ob_room(obuf *o, size_t *k)
{
    if (*k > o->limit - o->n) {
        *k = o->limit - o->n;
        o->full = 1;
    }
    if (o->n + *k <= o->cap)
        return 0;
    size_t nc = o->cap ? o->cap : 65536;
    while (nc < o->n + *k)
        nc = nc > SIZE_MAX / 2 ? SIZE_MAX : nc * 2;
    if (nc > o->limit)
        nc = o->limit;
    uint8_t *np = realloc(o->p, nc ? nc : 1);
    if (!np)
        return -1;
    o->p = np;
    o->cap = nc;
    return 0;
}

/* Append k bytes; 0 ok, 1 limit reached (stop), -1 out of memory. */
static int ob_put(obuf *o, const uint8_t *b, size_t k)
{
    if (ob_room(o, &k))
        return -1;
    memcpy(o->p + o->n, b, k);
    o->n += k;
    return o->full;
}

enum { DEC_OK = 0, DEC_NOMEM = -1 };

static int dec_flate(pg *c, const uint8_t *in, size_t n, obuf *o)
{
    z_stream z;
    int raw = 0;
retry:
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, raw ? -15 : 15 + 32) != Z_OK)
        return DEC_NOMEM;
    const uint8_t *next = in;
    size_t left = n;
    for (;;) {
        if (z.avail_in == 0 && left) {
            uInt k = left > UINT_MAX ? UINT_MAX : (uInt)left;
            z.next_in = (Bytef *)next;
            z.avail_in = k;
            next += k;
            left -= k;
        }
        size_t want = o->cap > o->n ? o->cap - o->n : 65536;
        if (want < 65536)
            want = 65536;
        if (ob_room(o, &want)) {
            inflateEnd(&z);
            return DEC_NOMEM;
        }
        if (want == 0)
            break;   /* limit reached */
        uInt avail = want > UINT_MAX ? UINT_MAX : (uInt)want;
        z.next_out = o->p + o->n;
        z.avail_out = avail;
        int zr = inflate(&z, Z_NO_FLUSH);
        o->n += avail - z.avail_out;
        /* room asked for but not used is not a cut */
        if (o->full && o->n < o->limit)
            o->full = 0;
        if (zr == Z_STREAM_END)
            break;
        if (zr == Z_OK)
            continue;
        if (zr == Z_BUF_ERROR && z.avail_in == 0 && !left) {
            why(c, "FlateDecode: the data ends early");
            break;
        }
        if (zr == Z_DATA_ERROR && !raw && z.total_out == 0 &&
            z.total_in <= 2) {
            /* no zlib header: some writers put bare deflate data */
            inflateEnd(&z);
            raw = 1;
            goto retry;
        }
        if (zr == Z_MEM_ERROR) {
            inflateEnd(&z);
            return DEC_NOMEM;
        }
        why(c, "FlateDecode: %s", z.msg ? z.msg : "corrupt data");
        break;
    }
    inflateEnd(&z);
    return DEC_OK;
}

typedef struct lzw_tab {
    uint16_t prefix[4096];
    uint16_t len[4096];
    uint8_t suffix[4096], first[4096];
    uint8_t str[4096];
} lzw_tab;

static int dec_lzw(pg *c, const uint8_t *in, size_t n, int early, obuf *o)
{
    lzw_tab *t = malloc(sizeof *t);
    if (!t)
        return DEC_NOMEM;
    for (int i = 0; i < 256; i++) {
        t->prefix[i] = 0;
        t->len[i] = 1;
        t->suffix[i] = t->first[i] = (uint8_t)i;
    }
    uint64_t bits = (uint64_t)n * 8, pos = 0;
    int width = 9, next = 258, prev = -1, rc = DEC_OK;
    while (pos + (uint64_t)width <= bits) {
        unsigned code = 0;
        for (int i = 0; i < width; i++, pos++)
            code = code << 1 | ((in[pos >> 3] >> (7 - (pos & 7))) & 1);
        if (code == 256) {
            width = 9;
            next = 258;
            prev = -1;
            continue;
        }
        if (code == 257)
            break;
        if (prev < 0) {
            if (code > 255) {
                why(c, "LZWDecode: code %u before any string", code);
                break;
            }
        } else {
            if ((int)code > next || ((int)code == next && next >= 4096)) {
                why(c, "LZWDecode: code %u out of range", code);
                break;
            }
            if (next < 4096) {
                uint8_t fc = (int)code < next ? t->first[code]
                                              : t->first[prev];
                t->prefix[next] = (uint16_t)prev;
                t->suffix[next] = fc;
                t->first[next] = t->first[prev];
                t->len[next] = (uint16_t)(t->len[prev] + 1);
                next++;
            }
        }
        size_t l = t->len[code];
        unsigned k = code;
        for (size_t i = l; i-- > 0;) {
            t->str[i] = t->suffix[k];
            k = t->prefix[k];
        }
        int r = ob_put(o, t->str, l);
        if (r < 0) {
            rc = DEC_NOMEM;
            break;
        }
        if (r > 0)
            break;
        prev = (int)code;
        if (next + early >= (1 << width) && width < 12)
            width++;
    }
    free(t);
    return rc;
}

static int hexval(uint8_t ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

static int is_ws(uint8_t ch)
{
    return ch == 0 || ch == 9 || ch == 10 || ch == 12 || ch == 13 ||
           ch == 32;
}

static int is_delim(uint8_t ch)
{
    return ch && strchr("()<>[]{}/%", ch) != NULL;
}

static int dec_ahx(pg *c, const uint8_t *in, size_t n, obuf *o)
{
    int hi = -1;
    for (size_t i = 0; i < n; i++) {
        if (in[i] == '>')
            break;
        if (is_ws(in[i]))
            continue;
        int v = hexval(in[i]);
        if (v < 0) {
            why(c, "ASCIIHexDecode: bad character 0x%02x", in[i]);
            return DEC_OK;
        }
        if (hi < 0) {
            hi = v;
            continue;
        }
        uint8_t b = (uint8_t)(hi << 4 | v);
        hi = -1;
        int r = ob_put(o, &b, 1);
        if (r)
            return r < 0 ? DEC_NOMEM : DEC_OK;
    }
    if (hi >= 0) {
        uint8_t b = (uint8_t)(hi << 4);
        if (ob_put(o, &b, 1) < 0)
            return DEC_NOMEM;
    }
    return DEC_OK;
}

static int dec_a85(pg *c, const uint8_t *in, size_t n, obuf *o)
{
    uint64_t acc = 0;
    int k = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t ch = in[i];
        if (is_ws(ch))
            continue;
        if (ch == '~')
            break;
        if (ch == 'z' && k == 0) {
            static const uint8_t z4[4] = {0};
            int r = ob_put(o, z4, 4);
            if (r)
                return r < 0 ? DEC_NOMEM : DEC_OK;
            continue;
        }
        if (ch < '!' || ch > 'u') {
            why(c, "ASCII85Decode: bad character 0x%02x", ch);
            return DEC_OK;
        }
        acc = acc * 85 + (uint64_t)(ch - '!');
        if (++k == 5) {
            if (acc > 0xffffffffu) {
                why(c, "ASCII85Decode: group out of range");
                return DEC_OK;
            }
            uint8_t b[4] = {(uint8_t)(acc >> 24), (uint8_t)(acc >> 16),
                            (uint8_t)(acc >> 8), (uint8_t)acc};
            int r = ob_put(o, b, 4);
            if (r)
                return r < 0 ? DEC_NOMEM : DEC_OK;
            acc = 0;
            k = 0;
        }
    }
    if (k > 1) {
        for (int j = k; j < 5; j++)
            acc = acc * 85 + 84;
        if (acc > 0xffffffffu) {
            why(c, "ASCII85Decode: last group out of range");
            return DEC_OK;
        }
        uint8_t b[4] = {(uint8_t)(acc >> 24), (uint8_t)(acc >> 16),
                        (uint8_t)(acc >> 8), (uint8_t)acc};
        if (ob_put(o, b, (size_t)k - 1) < 0)
            return DEC_NOMEM;
    }
    return DEC_OK;
}

static int dec_rl(pg *c, const uint8_t *in, size_t n, obuf *o)
{
    size_t i = 0;
    while (i < n) {
        unsigned len = in[i++];
        if (len == 128)
            return DEC_OK;
        int r;
        if (len < 128) {
            size_t k = (size_t)len + 1;
            if (k > n - i) {
                why(c, "RunLengthDecode: the data ends early");
                k = n - i;
            }
            r = ob_put(o, in + i, k);
            i += k;
        } else {
            if (i >= n)
                break;
            uint8_t run[128];
            size_t k = 257 - len;
            memset(run, in[i++], k);
            r = ob_put(o, run, k);
        }
        if (r)
            return r < 0 ? DEC_NOMEM : DEC_OK;
    }
    return DEC_OK;
}

/* /DecodeParms of Flate and LZW. */
typedef struct pred {
    int predictor, colors, bpc, columns, early;
} pred;

static void pred_parms(qpdf_data q, qpdf_oh parms, pred *p)
{
    p->predictor = (int)dint(q, parms, "/Predictor", 1, 15, 1);
    p->colors = (int)dint(q, parms, "/Colors", 1, 32, 1);
    p->bpc = (int)dint(q, parms, "/BitsPerComponent", 1, 16, 8);
    p->columns = (int)dint(q, parms, "/Columns", 1, 1 << 24, 1);
    p->early = (int)dint(q, parms, "/EarlyChange", 0, 1, 1);
    if (p->bpc != 1 && p->bpc != 2 && p->bpc != 4 && p->bpc != 8 &&
        p->bpc != 16)
        p->bpc = 8;
    if (p->predictor > 2 && p->predictor < 10)
        p->predictor = 1;
}

static size_t pred_rowbytes(const pred *p)
{
    return ((size_t)p->colors * p->bpc * p->columns + 7) / 8;
}

static unsigned get_bits(const uint8_t *row, size_t i, int bpc)
{
    switch (bpc) {
    case 8: return row[i];
    case 16: return (unsigned)row[2 * i] << 8 | row[2 * i + 1];
    default: {
        size_t bit = i * (size_t)bpc;
        return (row[bit >> 3] >> (8 - bpc - (bit & 7))) & ((1u << bpc) - 1);
    }
    }
}

static void put_bits(uint8_t *row, size_t i, int bpc, unsigned v)
{
    switch (bpc) {
    case 8: row[i] = (uint8_t)v; break;
    case 16:
        row[2 * i] = (uint8_t)(v >> 8);
        row[2 * i + 1] = (uint8_t)v;
        break;
    default: {
        size_t bit = i * (size_t)bpc;
        unsigned sh = 8 - bpc - (bit & 7), m = ((1u << bpc) - 1) << sh;
        row[bit >> 3] = (uint8_t)((row[bit >> 3] & ~m) | ((v << sh) & m));
    }
    }
}

static unsigned paeth(unsigned a, unsigned b, unsigned c)
{
    int p = (int)a + (int)b - (int)c;
    int pa = abs(p - (int)a), pb = abs(p - (int)b), pc = abs(p - (int)c);
    return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/* Undo a TIFF (2) or PNG (10..15) predictor: in holds whole rows. */
static int unpredict(pg *c, const pred *p, const uint8_t *in, size_t n,
                     obuf *o)
{
    size_t rb = pred_rowbytes(p);
    int png = p->predictor >= 10;
    size_t stride = rb + (png ? 1 : 0);
    size_t bpp = ((size_t)p->colors * p->bpc + 7) / 8;
    uint8_t *cur = malloc(rb), *prev = calloc(1, rb);
    int rc = DEC_OK;
    if (!cur || !prev) {
        rc = DEC_NOMEM;
        goto out;
    }
    if (n % stride)
        why(c, "predictor: a partial row at the end");
    for (size_t off = 0; off + stride <= n; off += stride) {
        const uint8_t *src = in + off + (png ? 1 : 0);
        if (png) {
            unsigned type = in[off];
            for (size_t i = 0; i < rb; i++) {
                unsigned a = i >= bpp ? cur[i - bpp] : 0, b = prev[i],
                         cc = i >= bpp ? prev[i - bpp] : 0, v = src[i];
                switch (type) {
                case 0: break;
                case 1: v += a; break;
                case 2: v += b; break;
                case 3: v += (a + b) / 2; break;
                case 4: v += paeth(a, b, cc); break;
                default:
                    why(c, "PNG predictor: row filter type %u", type);
                    goto out;
                }
                cur[i] = (uint8_t)v;
            }
        } else {
            memcpy(cur, src, rb);
            unsigned mask = p->bpc == 16 ? 0xffffu : (1u << p->bpc) - 1;
            size_t ns = (size_t)p->colors * p->columns;
            for (size_t i = (size_t)p->colors; i < ns; i++)
                put_bits(cur, i, p->bpc,
                         (get_bits(cur, i, p->bpc) +
                          get_bits(cur, i - p->colors, p->bpc)) & mask);
        }
        int r = ob_put(o, cur, rb);
        if (r) {
            rc = r < 0 ? DEC_NOMEM : DEC_OK;
            goto out;
        }
        uint8_t *t = prev;
        prev = cur;
        cur = t;
    }
out:
    free(cur);
    free(prev);
    return rc;
}

/* One entry of a stream's filter chain. */
typedef struct filt {
    char name[32];    /* abbreviations expanded */
    qpdf_oh parms;    /* its /DecodeParms; 0 = none */
} filt;

static int is_image_filter(const char *f)
{
    return !strcmp(f, "DCTDecode") || !strcmp(f, "CCITTFaxDecode") ||
           !strcmp(f, "JBIG2Decode") || !strcmp(f, "JPXDecode");
}

/* /Filter and /DecodeParms of stream st. */
static int get_filters(pg *c, qpdf_oh st, filt *f, int *nf,
                       const char *what)
{
    static const char *const abbr[][2] = {
        {"AHx", "ASCIIHexDecode"}, {"A85", "ASCII85Decode"},
        {"LZW", "LZWDecode"},      {"Fl", "FlateDecode"},
        {"RL", "RunLengthDecode"}, {"CCF", "CCITTFaxDecode"},
        {"DCT", "DCTDecode"},
    };
    qpdf_data q = c->q;
    *nf = 0;
    if (dget(q, st, "/F"))
        return PERR(c, SH_EINPUT, "%s: data kept in an external file",
                    what);
    qpdf_oh fo = dget(q, st, "/Filter"), po = dget(q, st, "/DecodeParms");
    if (!fo)
        return SH_OK;
    int arr = qpdf_oh_is_array(q, fo);
    int cnt = arr ? qpdf_oh_get_array_n_items(q, fo) : 1;
    if (cnt > FILTERS_MAX)
        return PERR(c, SH_EINPUT, "%s: a chain of %d filters", what, cnt);
    int parr = po && qpdf_oh_is_array(q, po);
    for (int i = 0; i < cnt; i++) {
        qpdf_oh fi = arr ? qpdf_oh_get_array_item(q, fo, i) : fo;
        if (!name_of(q, fi, f[i].name, sizeof f[i].name))
            return PERR(c, SH_EINPUT, "%s: /Filter is not a name", what);
        for (size_t k = 0; k < SH_ARRAY_LEN(abbr); k++)
            if (!strcmp(f[i].name, abbr[k][0]))
                snprintf(f[i].name, sizeof f[i].name, "%s", abbr[k][1]);
        qpdf_oh pi = parr ? (i < qpdf_oh_get_array_n_items(q, po)
                                 ? qpdf_oh_get_array_item(q, po, i)
                                 : 0)
                          : po;
        f[i].parms = pi && qpdf_oh_is_dictionary(q, pi) ? pi : 0;
    }
    *nf = cnt;
    return SH_OK;
}

/*
 * Undo the general-purpose filters f[0..nf) over in[0..nin).
 *   need > 0: stop once `need` bytes are out (what an image needs);
 *   need == 0: the whole output, at most cap bytes, more is SH_ELIMIT.
 * *out malloc'd (NULL when empty).  A damaged stream keeps what came out;
 * the first complaint is in c->why.
 */
static int unfilter(pg *c, const filt *f, int nf, const uint8_t *in,
                    size_t nin, size_t need, size_t cap, uint8_t **out,
                    size_t *nout, const char *what)
{
    int rc = SH_OK;
    uint8_t *cur = NULL;   /* owned intermediate */
    const uint8_t *data = in;
    size_t nd = nin;
    obuf o = {0}, o2 = {0};
    *out = NULL;
    *nout = 0;
    for (int i = 0; i < nf; i++) {
        const char *fn = f[i].name;
        int last = i == nf - 1;
        size_t target = last ? need : 0;
        pred pr = {1, 1, 8, 1, 1};
        int flate = !strcmp(fn, "FlateDecode"), lzw = !strcmp(fn, "LZWDecode");
        if (flate || lzw)
            pred_parms(c->q, f[i].parms, &pr);
        int predicted = (flate || lzw) && pr.predictor >= 2;
        memset(&o, 0, sizeof o);
        o.limit = target ? target : cap;
        if (predicted && target) {
            size_t rb = pred_rowbytes(&pr), rows = (need + rb - 1) / rb;
            size_t stride = rb + (pr.predictor >= 10);
            o.limit = rows > SIZE_MAX / stride ? SIZE_MAX : rows * stride;
        }
        int r;
        if (flate)
            r = dec_flate(c, data, nd, &o);
        else if (lzw)
            r = dec_lzw(c, data, nd, pr.early, &o);
        else if (!strcmp(fn, "ASCIIHexDecode"))
            r = dec_ahx(c, data, nd, &o);
        else if (!strcmp(fn, "ASCII85Decode"))
            r = dec_a85(c, data, nd, &o);
        else if (!strcmp(fn, "RunLengthDecode"))
            r = dec_rl(c, data, nd, &o);
        else if (!strcmp(fn, "Crypt"))
            r = ob_put(&o, data, nd) < 0 ? DEC_NOMEM : DEC_OK;
        else {
            rc = PERR(c, SH_EINPUT, "%s: filter /%s %s", what, fn,
                      is_image_filter(fn) ? "before another filter"
                                          : "is not a PDF filter");
            goto out;
        }
        if (r == DEC_NOMEM) {
            rc = PERR(c, SH_ENOMEM, "%s: out of memory", what);
            goto out;
        }
        if (o.full && !target) {
            rc = PERR(c, SH_ELIMIT, "%s: more than %.4g MiB once decoded",
                      what, cap / 1048576.0);
            goto out;
        }
        if (predicted) {
            memset(&o2, 0, sizeof o2);
            o2.limit = target ? target : cap;
            if (unpredict(c, &pr, o.p, o.n, &o2) == DEC_NOMEM) {
                rc = PERR(c, SH_ENOMEM, "%s: out of memory", what);
                goto out;
            }
            if (o2.full && !target) {
                rc = PERR(c, SH_ELIMIT, "%s: more than %.4g MiB once "
                          "decoded", what, cap / 1048576.0);
                goto out;
            }
            free(o.p);
            o = o2;
            memset(&o2, 0, sizeof o2);
        }
        free(cur);
        cur = o.p;
        data = o.p;
        nd = o.n;
        memset(&o, 0, sizeof o);
    }
    if (!nf) {
        size_t k = need && need < nin ? need : nin;
        if (!need && k > cap) {
            rc = PERR(c, SH_ELIMIT, "%s: more than %.4g MiB", what,
                      cap / 1048576.0);
            goto out;
        }
        cur = malloc(k ? k : 1);
        if (!cur) {
            rc = PERR(c, SH_ENOMEM, "%s: out of memory", what);
            goto out;
        }
        memcpy(cur, in, k);
        nd = k;
    }
    *out = cur;
    *nout = nd;
    cur = NULL;
out:
    free(cur);
    free(o.p);
    free(o2.p);
    return rc;
}

/* A stream's data with every (general-purpose) filter undone. */
static int stream_bytes(pg *c, qpdf_oh st, size_t need, size_t cap,
                        uint8_t **out, size_t *n, const char *what)
{
    filt f[FILTERS_MAX];
    int nf = 0;
    uint8_t *raw = NULL;
    size_t nraw = 0;
    *out = NULL;
    *n = 0;
    int rc = get_filters(c, st, f, &nf, what);
    if (!rc)
        rc = raw_stream(c, st, &raw, &nraw, what);
    if (!rc)
        rc = unfilter(c, f, nf, raw, nraw, need, cap, out, n, what);
    free(raw);
    return rc;
}

/* ------------------------------------------------------------------ */
/* content streams                                                     */
/* ------------------------------------------------------------------ */

enum {
    TK_EOF, TK_NUM, TK_NAME, TK_OPERAND, TK_AOPEN, TK_ACLOSE, TK_DOPEN,
    TK_DCLOSE, TK_OP, TK_BAD
};

typedef struct lexer {
    const uint8_t *p, *e;
} lexer;

typedef struct token {
    int t;
    double num;
    char text[128];   /* names (decoded, no slash) and operators */
} token;

static int parse_num(const uint8_t *s, size_t n, double *v)
{
    size_t i = 0;
    int neg = 0, digits = 0;
    double x = 0;
    if (i < n && (s[i] == '+' || s[i] == '-'))
        neg = s[i++] == '-';
    for (; i < n && s[i] >= '0' && s[i] <= '9'; i++, digits++)
        if (x < 1e15)
            x = x * 10 + (s[i] - '0');
    if (i < n && s[i] == '.') {
        double scale = 0.1;
        for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++, digits++) {
            x += (s[i] - '0') * scale;
            scale *= 0.1;
        }
    }
    if (i != n || !digits)
        return 0;
    *v = neg ? -x : x;
    return 1;
}

static void lex_next(lexer *L, token *tk)
{
    const uint8_t *p = L->p, *e = L->e;
    tk->text[0] = 0;
    for (;;) {
        while (p < e && is_ws(*p))
            p++;
        if (p < e && *p == '%') {
            while (p < e && *p != '\n' && *p != '\r')
                p++;
            continue;
        }
        break;
    }
    if (p >= e) {
        tk->t = TK_EOF;
        L->p = e;
        return;
    }
    uint8_t ch = *p;
    if (ch == '/') {
        size_t k = 0;
        for (p++; p < e && !is_ws(*p) && !is_delim(*p); p++) {
            uint8_t v = *p;
            if (v == '#' && e - p > 2 && hexval(p[1]) >= 0 &&
                hexval(p[2]) >= 0) {
                v = (uint8_t)(hexval(p[1]) << 4 | hexval(p[2]));
                p += 2;
            }
            if (k + 1 < sizeof tk->text)
                tk->text[k++] = (char)v;
        }
        tk->text[k] = 0;
        tk->t = TK_NAME;
    } else if (ch == '(') {
        int depth = 1;
        for (p++; p < e && depth; p++) {
            if (*p == '\\')
                p += p + 1 < e;
            else if (*p == '(')
                depth++;
            else if (*p == ')')
                depth--;
        }
        tk->t = TK_OPERAND;
    } else if (ch == '<') {
        if (e - p > 1 && p[1] == '<') {
            p += 2;
            tk->t = TK_DOPEN;
        } else {
            while (p < e && *p != '>')
                p++;
            p += p < e;
            tk->t = TK_OPERAND;
        }
    } else if (ch == '>') {
        int two = e - p > 1 && p[1] == '>';
        p += two ? 2 : 1;
        tk->t = two ? TK_DCLOSE : TK_BAD;
    } else if (ch == '[' || ch == ']') {
        p++;
        tk->t = ch == '[' ? TK_AOPEN : TK_ACLOSE;
    } else if (is_delim(ch)) {
        p++;
        tk->t = TK_BAD;
    } else {
        const uint8_t *s = p;
        while (p < e && !is_ws(*p) && !is_delim(*p))
            p++;
        size_t n = (size_t)(p - s);
        if (parse_num(s, n, &tk->num)) {
            tk->t = TK_NUM;
        } else {
            size_t k = n < sizeof tk->text ? n : sizeof tk->text - 1;
            memcpy(tk->text, s, k);
            tk->text[k] = 0;
            tk->t = !strcmp(tk->text, "true") || !strcmp(tk->text, "false") ||
                            !strcmp(tk->text, "null")
                        ? TK_OPERAND
                        : TK_OP;
        }
    }
    L->p = p;
}

/* new = m × ctm (PDF row-vector convention). */
static void mat_mul(const double m[6], const double c[6], double out[6])
{
    double r[6] = {
        m[0] * c[0] + m[1] * c[2],        m[0] * c[1] + m[1] * c[3],
        m[2] * c[0] + m[3] * c[2],        m[2] * c[1] + m[3] * c[3],
        m[4] * c[0] + m[5] * c[2] + c[4], m[4] * c[1] + m[5] * c[3] + c[5],
    };
    memcpy(out, r, sizeof r);
}

typedef struct gstate {
    double ctm[6];
    int tr;   /* text rendering mode */
} gstate;

static int add_drawn(pg *c, qpdf_oh oh, const double m[6])
{
    if (c->nd == DRAWN_MAX)
        return PERR(c, SH_EINPUT,
                    "the page draws more than %d images: not a scan",
                    DRAWN_MAX);
    if (c->nd == c->capd) {
        size_t nc = c->capd ? c->capd * 2 : 8;
        drawn *nd = realloc(c->d, nc * sizeof *nd);
        if (!nd)
            return PERR(c, SH_ENOMEM, "out of memory");
        c->d = nd;
        c->capd = nc;
    }
    c->d[c->nd].oh = oh;
    c->d[c->nd].id = oh ? qpdf_oh_get_object_id(c->q, oh) : 0;
    memcpy(c->d[c->nd].m, m, 6 * sizeof(double));
    c->nd++;
    return SH_OK;
}

/* After BI: the dictionary up to ID, then the data up to EI. */
static int skip_inline(pg *c, lexer *L, const gstate *g)
{
    token tk;
    long len = -1;
    int prev_len_key = 0;
    for (;;) {
        lex_next(L, &tk);
        if (tk.t == TK_EOF)
            return SH_OK;
        if (tk.t == TK_OP && !strcmp(tk.text, "ID"))
            break;
        if (prev_len_key && tk.t == TK_NUM && tk.num >= 0 && tk.num < 1e15)
            len = (long)tk.num;
        prev_len_key = tk.t == TK_NAME &&
                       (!strcmp(tk.text, "L") || !strcmp(tk.text, "Length"));
    }
    const uint8_t *p = L->p, *e = L->e;
    if (p < e && is_ws(*p))
        p++;
    const uint8_t *start = p;
    if (len >= 0 && len <= e - p)
        p += len;
    while (e - p >= 2 &&
           !(p[0] == 'E' && p[1] == 'I' && (p == start || is_ws(p[-1])) &&
             (e - p == 2 || is_ws(p[2]) || is_delim(p[2]))))
        p++;
    L->p = e - p >= 2 ? p + 2 : e;
    c->inline_imgs++;
    return add_drawn(c, 0, g->ctm);
}

static int run_content(pg *c, const uint8_t *data, size_t n, qpdf_oh res,
                       const gstate *g0);

/* Do /name: record an image; run a form. */
static int do_xobject(pg *c, qpdf_oh res, const char *name, const gstate *g)
{
    qpdf_data q = c->q;
    if (++c->ndo > DO_MAX)
        return PERR(c, SH_ELIMIT, "the page invokes more than %d XObjects",
                    DO_MAX);
    char key[sizeof ((token *)0)->text + 1], sub[32];
    snprintf(key, sizeof key, "/%s", name);
    qpdf_oh xo = dget(q, dget(q, res, "/XObject"), key);
    if (!xo || !qpdf_oh_is_stream(q, xo)) {
        sh_log(SH_LOG_DEBUG, "%s: page %d: XObject /%s is missing",
               c->s->path, c->n + 1, name);
        return qpdf_check(c, "XObject");
    }
    dname(q, xo, "/Subtype", sub, sizeof sub);
    if (!strcmp(sub, "Image"))
        return add_drawn(c, xo, g->ctm);
    if (strcmp(sub, "Form"))
        return SH_OK;

    int id = qpdf_oh_get_object_id(q, xo);
    for (int i = 0; i < c->nforms; i++)
        if (id && c->form_ids[i] == id) {
            sh_log(SH_LOG_DEBUG, "%s: page %d: form /%s draws itself",
                   c->s->path, c->n + 1, name);
            return SH_OK;
        }
    if (c->nforms == FORM_DEPTH_MAX) {
        sh_log(SH_LOG_DEBUG, "%s: page %d: forms nested over %d deep",
               c->s->path, c->n + 1, FORM_DEPTH_MAX);
        return SH_OK;
    }
    gstate g2 = *g;
    qpdf_oh mo = dget(q, xo, "/Matrix");
    if (mo && qpdf_oh_is_array(q, mo) &&
        qpdf_oh_get_array_n_items(q, mo) == 6) {
        double m[6];
        int ok = 1;
        for (int i = 0; i < 6; i++)
            ok &= num_of(q, qpdf_oh_get_array_item(q, mo, i), &m[i]);
        if (ok)
            mat_mul(m, g->ctm, g2.ctm);
    }
    qpdf_oh fres = dget(q, xo, "/Resources");
    char what[160];
    snprintf(what, sizeof what, "form XObject /%s", name);
    uint8_t *buf = NULL;
    size_t nb = 0;
    int rc = stream_bytes(c, xo, 0, CONTENT_MAX - c->content_bytes, &buf,
                          &nb, what);
    if (rc)
        return rc;
    c->content_bytes += nb;
    c->form_ids[c->nforms++] = id;
    rc = run_content(c, buf, nb, fres ? fres : res, &g2);
    c->nforms--;
    free(buf);
    return rc;
}

static int run_content(pg *c, const uint8_t *data, size_t n, qpdf_oh res,
                       const gstate *g0)
{
    gstate st[GSTACK_MAX + 1];
    int sp = 0, over = 0, depth = 0, nnum = 0, have_name = 0;
    double nums[6] = {0};
    char name[sizeof ((token *)0)->text];
    lexer L = {data, data + n};
    token tk;
    st[0] = *g0;
    name[0] = 0;
    for (;;) {
        lex_next(&L, &tk);
        if (tk.t == TK_EOF)
            break;
        switch (tk.t) {
        case TK_NUM:
            if (!depth) {
                memmove(nums, nums + 1, 5 * sizeof *nums);
                nums[5] = tk.num;
                nnum++;
                have_name = 0;
            }
            continue;
        case TK_NAME:
            if (!depth) {
                memcpy(name, tk.text, sizeof name);
                have_name = 1;
                nnum = 0;
            }
            continue;
        case TK_OPERAND:
            if (!depth)
                nnum = have_name = 0;
            continue;
        case TK_AOPEN:
        case TK_DOPEN:
            depth++;
            continue;
        case TK_ACLOSE:
        case TK_DCLOSE:
            if (depth && !--depth)
                nnum = have_name = 0;
            continue;
        case TK_BAD:
            continue;
        default:
            break;
        }
        /* an operator */
        depth = 0;
        const char *op = tk.text;
        gstate *g = &st[sp];
        int rc = SH_OK;
        if (!strcmp(op, "q")) {
            if (sp < GSTACK_MAX) {
                st[sp + 1] = st[sp];
                sp++;
            } else {
                over++;
            }
        } else if (!strcmp(op, "Q")) {
            if (over)
                over--;
            else if (sp > 0)
                sp--;
        } else if (!strcmp(op, "cm")) {
            int ok = nnum >= 6;
            for (int i = 0; ok && i < 6; i++)
                ok = isfinite(nums[i]) && fabs(nums[i]) < 1e12;
            if (ok)
                mat_mul(nums, g->ctm, g->ctm);
        } else if (!strcmp(op, "Tr")) {
            if (nnum >= 1 && nums[5] >= 0 && nums[5] <= 7)
                g->tr = (int)nums[5];
        } else if (!strcmp(op, "Tj") || !strcmp(op, "TJ") ||
                   !strcmp(op, "'") || !strcmp(op, "\"")) {
            c->text = 1;
            if (g->tr != 3 && g->tr != 7)
                c->visible_text = 1;
        } else if (!strcmp(op, "Do")) {
            if (have_name)
                rc = do_xobject(c, res, name, g);
        } else if (!strcmp(op, "BI")) {
            rc = skip_inline(c, &L, g);
        }
        if (rc)
            return rc;
        nnum = have_name = 0;
    }
    return SH_OK;
}

/* The page's content streams, decoded and joined, then interpreted. */
static int page_scan(pg *c, qpdf_oh page, qpdf_oh res)
{
    qpdf_data q = c->q;
    qpdf_oh co = dget(q, page, "/Contents");
    int rc = SH_OK;
    uint8_t *all = NULL, *part = NULL;
    size_t nall = 0;
    if (!co)
        return SH_OK;
    int arr = qpdf_oh_is_array(q, co);
    int cnt = arr ? qpdf_oh_get_array_n_items(q, co) : 1;
    for (int i = 0; i < cnt; i++) {
        qpdf_oh st = arr ? qpdf_oh_get_array_item(q, co, i) : co;
        if (!qpdf_oh_is_stream(q, st))
            continue;
        size_t np = 0;
        rc = stream_bytes(c, st, 0, CONTENT_MAX - nall, &part, &np,
                          "content stream");
        if (rc)
            goto out;
        if (np + 1 > CONTENT_MAX - nall) {
            rc = PERR(c, SH_ELIMIT, "content stream: more than %zu MiB",
                      CONTENT_MAX >> 20);
            goto out;
        }
        uint8_t *na = realloc(all, nall + np + 1);
        if (!na) {
            rc = PERR(c, SH_ENOMEM, "out of memory");
            goto out;
        }
        all = na;
        if (np)
            memcpy(all + nall, part, np);
        nall += np;
        all[nall++] = '\n';   /* streams end tokens */
        free(part);
        part = NULL;
    }
    if (c->why[0]) {
        sh_log(SH_LOG_DEBUG, "%s: page %d: content stream: %s", c->s->path,
               c->n + 1, c->why);
        c->why[0] = 0;
    }
    rc = qpdf_check(c, "content stream");
    if (rc)
        goto out;
    c->content_bytes = nall;
    gstate g0 = {{1, 0, 0, 1, 0, 0}, 0};
    rc = run_content(c, all ? all : (const uint8_t *)"", nall, res, &g0);
    if (!rc)
        rc = qpdf_check(c, "page resources");
out:
    free(all);
    free(part);
    return rc;
}

/* ------------------------------------------------------------------ */
/* one image                                                           */
/* ------------------------------------------------------------------ */

enum { K_RAW, K_DCT, K_CCITT, K_JBIG2 };

typedef struct pimg {
    qpdf_oh oh;
    int id;               /* object number, for messages */
    uint32_t w, h;
    int bpc;
    int mask;             /* /ImageMask: 1-bit stencil, ink where 0 */
    int ncomp;            /* colour components: 1, 3, 4 (palette base) */
    int indexed, hival;
    uint8_t pal[256][3];  /* Indexed: entries as RGB */
    double dec[8];        /* /Decode, or the default */
    int dec_default;
    filt f[FILTERS_MAX];
    int nf;
    int kind;
    const char *codec;
} pimg;

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
            rc = stream_bytes(c, lo, need, need, &b, &have, "palette");
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
static int image_info(pg *c, qpdf_oh oh, pimg *im)
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
    rc = get_filters(c, oh, im->f, &im->nf, what);
    if (rc)
        return rc;
    const char *last = im->nf ? im->f[im->nf - 1].name : "";
    for (int i = 0; i + 1 < im->nf; i++)
        if (is_image_filter(im->f[i].name))
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

static inline uint32_t rgb_word(unsigned r, unsigned g, unsigned b)
{
    return ((uint32_t)r << L_RED_SHIFT) | ((uint32_t)g << L_GREEN_SHIFT) |
           ((uint32_t)b << L_BLUE_SHIFT);
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
                    line[x] = rgb_word(e[0], e[1], e[2]);
            }
        } else if (depth == 8) {
            for (uint32_t x = 0; x < w; x++)
                SET_DATA_BYTE(line, x, lut[0][samp(src, x, im->bpc)]);
        } else if (im->ncomp == 3) {
            for (uint32_t x = 0; x < w; x++) {
                size_t i = 3 * (size_t)x;
                line[x] = rgb_word(lut[0][samp(src, i, im->bpc)],
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
                line[x] = rgb_word(rgb[0], rgb[1], rgb[2]);
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
                line[x] = rgb_word(lut[0][r], lut[1][g], lut[2][b]);
            }
        }
    }
}

/* CCITT data in memory behind a minimal TIFF header, for libtiff. */
typedef struct memtiff {
    const uint8_t *hdr, *data;
    size_t nhdr, ndata;
    uint64_t pos;
} memtiff;

static tmsize_t mt_read(thandle_t h, void *buf, tmsize_t n)
{
    memtiff *m = h;
    uint64_t total = m->nhdr + m->ndata;
    size_t done = 0;
    while (done < (size_t)n && m->pos < total) {
        const uint8_t *src;
        uint64_t k;
        if (m->pos < m->nhdr) {
            src = m->hdr + m->pos;
            k = m->nhdr - m->pos;
        } else {
            src = m->data + (m->pos - m->nhdr);
            k = total - m->pos;
        }
        if (k > (size_t)n - done)
            k = (size_t)n - done;
        memcpy((uint8_t *)buf + done, src, (size_t)k);
        done += (size_t)k;
        m->pos += k;
    }
    return (tmsize_t)done;
}

static tmsize_t mt_write(thandle_t h, void *buf, tmsize_t n)
{
    return -1;
}

static toff_t mt_seek(thandle_t h, toff_t off, int whence)
{
    memtiff *m = h;
    uint64_t base = whence == SEEK_SET   ? 0
                    : whence == SEEK_CUR ? m->pos
                                         : m->nhdr + m->ndata;
    uint64_t pos = base + off;
    if (pos > (uint64_t)INT64_MAX)
        return (toff_t)-1;
    m->pos = pos;
    return pos;
}

static int mt_close(thandle_t h)
{
    return 0;
}

static toff_t mt_size(thandle_t h)
{
    memtiff *m = h;
    return m->nhdr + m->ndata;
}

static int mt_map(thandle_t h, void **base, toff_t *size)
{
    return 0;
}

static void mt_unmap(thandle_t h, void *base, toff_t size) {}

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
    memtiff mt = {hdr, data, 0, n, 0};
    mt.nhdr = fax_header(hdr, im->w, im->h, k < 0, t4, (uint32_t)n);

    TIFFOpenOptions *opts = TIFFOpenOptionsAlloc();
    if (!opts)
        return img_err(c, im, SH_ENOMEM, "out of memory");
    uint64_t capb = (uint64_t)s->lim.max_pixels / 8 + ((uint64_t)64 << 20);
    TIFFOpenOptionsSetMaxSingleMemAlloc(
        opts, capb > (uint64_t)INT64_MAX ? INT64_MAX : (tmsize_t)capb);
    TIFFOpenOptionsSetErrorHandlerExtR(opts, sh__tiff_handle_error, s);
    TIFFOpenOptionsSetWarningHandlerExtR(opts, sh__tiff_handle_warning, s);
    sh__tiff_msg_reset(s);
    tif = TIFFClientOpenExt(s->path, "rm", (thandle_t)&mt, mt_read, mt_write,
                            mt_seek, mt_close, mt_size, mt_map, mt_unmap,
                            opts);
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
        rc = raw_stream(c, gs, &graw, &ngraw, "JBIG2 globals");
        if (!rc)
            rc = get_filters(c, gs, gf, &ngf, "JBIG2 globals");
        if (!rc)
            rc = unfilter(c, gf, ngf, graw, ngraw, 0, (size_t)16 << 20,
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
static int image_pix(pg *c, const pimg *im, int want_pass, sh_frame *sub)
{
    sh_scan *s = c->s;
    uint8_t *raw = NULL, *data = NULL;
    size_t nraw = 0, nd = 0;
    char what[64];
    snprintf(what, sizeof what, "image (object %d)", im->id);
    c->why[0] = 0;
    int rc = raw_stream(c, im->oh, &raw, &nraw, what);
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
        rc = unfilter(c, im->f, im->nf - 1, raw, nraw, 0, cap, &data, &nd,
                      what);
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
        rc = unfilter(c, im->f, im->nf, raw, nraw, need, need, &data, &nd,
                      what);
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

/* ------------------------------------------------------------------ */
/* the page                                                            */
/* ------------------------------------------------------------------ */

/* How matrix m shows the unit square on the page. */
typedef struct geo {
    double lx, ly;   /* displayed length of the image's x and y sides, pt */
    double area;     /* displayed area, pt² */
    int rot;         /* clockwise quarter turn the display applies */
    int mirror;      /* ... then a left-right mirror */
} geo;

static void geo_of(const double m[6], double uu, geo *g)
{
    double det = m[0] * m[3] - m[1] * m[2];
    g->lx = hypot(m[0], m[1]) * uu;
    g->ly = hypot(m[2], m[3]) * uu;
    g->area = fabs(det) * uu * uu;
    g->mirror = det < 0;
    /* the display is Rot(rot) and then, if mirrored, a left-right flip:
       undo the flip on the image's x axis before reading the angle */
    double a = g->mirror ? -m[0] : m[0], b = m[1];
    double cw = -atan2(b, a) * 180.0 / M_PI;   /* y points up in PDF */
    long qt = lround(cw / 90.0);
    g->rot = (int)(((qt % 4) + 4) % 4) * 90;
}

static int cmp_top(const void *a, const void *b, void *ctx)
{
    const drawn *d = ctx;
    const size_t *x = a, *y = b;
    double tx = d[*x].m[5] + d[*x].m[3], ty = d[*y].m[5] + d[*y].m[3];
    return tx > ty ? -1 : tx < ty;
}

/* The images that make the page: one, or strips top to bottom. */
static int select_images(pg *c, size_t *sel, size_t *nsel, int *dropped)
{
    qpdf_data q = c->q;
    size_t main = 0;
    double amain = -1;
    *nsel = 0;
    *dropped = 0;
    for (size_t i = 0; i < c->nd; i++) {
        geo g;
        geo_of(c->d[i].m, 1, &g);
        if (g.area > amain || (g.area == amain && c->d[i].oh)) {
            amain = g.area;
            main = i;
        }
    }
    if (c->nd == 0 || amain <= 1e-9) {
        if (c->inline_imgs)
            return PERR(c, SH_EINPUT, "the page's image is inline in its "
                        "content stream, which is not supported");
        return PERR(c, SH_EINPUT, "the page shows no image (not a scanned "
                    "page?)");
    }
    if (!c->d[main].oh)
        return PERR(c, SH_EINPUT, "the page's image is inline in its content "
                    "stream, which is not supported");
    double small = 0;
    int big_inline = 0;
    for (size_t i = 0; i < c->nd; i++) {
        geo g;
        geo_of(c->d[i].m, 1, &g);
        int dup = 0;
        for (size_t j = 0; j < *nsel && !dup; j++) {
            const drawn *a = &c->d[sel[j]], *b = &c->d[i];
            dup = a->oh && b->oh && a->id == b->id &&
                  !memcmp(a->m, b->m, sizeof a->m);
        }
        if (dup)
            continue;
        if (g.area < SMALL_ONE * amain) {
            small += g.area;
            (*dropped)++;
        } else if (!c->d[i].oh) {
            big_inline = 1;
        } else if (*nsel < DRAWN_MAX) {
            sel[(*nsel)++] = i;
        }
    }
    if (small >= SMALL_ALL * amain || big_inline)
        return PERR(c, SH_EINPUT, "the page shows %zu images besides its "
                    "largest, not strips of one scan: not supported",
                    c->nd - 1);
    if (*nsel == 1)
        return SH_OK;

    /* strips: upright, one pixel width, one column, touching rows */
    const drawn *d0 = &c->d[main];
    long w0 = dint(q, d0->oh, "/Width", 1, LONG_MAX, 0);
    double tolx = fmax(0.5, 0.01 * fabs(d0->m[0]));
    for (size_t j = 0; j < *nsel; j++) {
        const drawn *d = &c->d[sel[j]];
        geo g;
        geo_of(d->m, 1, &g);
        if (g.rot || g.mirror || fabs(d->m[1]) > 1e-6 * fabs(d->m[0]) ||
            fabs(d->m[2]) > 1e-6 * fabs(d->m[3]) ||
            dint(q, d->oh, "/Width", 1, LONG_MAX, -1) != w0 ||
            fabs(d->m[0] - d0->m[0]) > tolx ||
            fabs(d->m[4] - d0->m[4]) > tolx)
            goto not_strips;
    }
    qsort_r(sel, *nsel, sizeof *sel, cmp_top, c->d);
    for (size_t j = 0; j + 1 < *nsel; j++) {
        const drawn *a = &c->d[sel[j]], *b = &c->d[sel[j + 1]];
        long ha = dint(q, a->oh, "/Height", 1, LONG_MAX, 1),
             hb = dint(q, b->oh, "/Height", 1, LONG_MAX, 1);
        double ra = ha / a->m[3], rb = hb / b->m[3];   /* px per pt */
        double tol = fmax(0.75, 2.0 / ra);
        if (fabs(a->m[5] - (b->m[5] + b->m[3])) > tol ||
            fabs(ra - rb) > 0.02 * ra)
            goto not_strips;
    }
    return qpdf_check(c, "image dictionaries");
not_strips:
    return PERR(c, SH_EINPUT, "the page shows %zu images that are not "
                "strips of one scan (one width, stacked): not supported",
                *nsel);
}

/* Stack the strips' pixels top to bottom into one pix. */
static int stack_strips(pg *c, sh_frame *subs, size_t n, PIX **out)
{
    int depth = 1, w = pixGetWidth(subs[0].pix);
    l_int64 h = 0;
    *out = NULL;
    for (size_t i = 0; i < n; i++) {
        int d = pixGetDepth(subs[i].pix);
        depth = d > depth ? d : depth;
        h += pixGetHeight(subs[i].pix);
        if (pixGetWidth(subs[i].pix) != w)
            return PERR(c, SH_EINPUT, "strips of different widths (%d, %d)",
                        w, pixGetWidth(subs[i].pix));
    }
    int rc = sh__check_size(c->s, c->n, (uint64_t)w, (uint64_t)h, c->err);
    if (rc)
        return rc;
    PIX *all = pixCreate(w, (l_int32)h, depth);
    if (!all)
        return PERR(c, SH_ENOMEM, "out of memory for %d x %lld pixels", w,
                    (long long)h);
    int y = 0;
    for (size_t i = 0; i < n; i++) {
        PIX *p = subs[i].pix, *conv = NULL;
        int d = pixGetDepth(p);
        if (d != depth) {
            PIX *p8 = d == 1 ? pixConvert1To8(NULL, p, 255, 0) : pixClone(p);
            conv = depth == 32 && p8 ? pixConvert8To32(p8) : pixClone(p8);
            pixDestroy(&p8);
            if (!conv) {
                pixDestroy(&all);
                return PERR(c, SH_ENOMEM, "out of memory");
            }
            p = conv;
        }
        pixRasterop(all, 0, y, w, pixGetHeight(p), PIX_SRC, p, 0, 0);
        y += pixGetHeight(p);
        pixDestroy(&conv);
    }
    *out = all;
    return SH_OK;
}

/* Annotations that show something (not links or pop-ups, not hidden).
   A damaged annotation is not the page's problem: logged and skipped. */
static int count_annotations(pg *c, qpdf_oh page)
{
    qpdf_data q = c->q;
    qpdf_oh an = dget(q, page, "/Annots");
    int n = 0;
    if (!an || !qpdf_oh_is_array(q, an))
        return 0;
    int cnt = qpdf_oh_get_array_n_items(q, an);
    for (int i = 0; i < cnt && i < 10000; i++) {
        qpdf_oh a = qpdf_oh_get_array_item(q, an, i);
        char sub[32];
        dname(q, a, "/Subtype", sub, sizeof sub);
        if (!strcmp(sub, "Link") || !strcmp(sub, "Popup") ||
            !dget(q, a, "/AP") || (dint(q, a, "/F", 0, INT_MAX, 0) & 2))
            continue;
        n++;
    }
    char text[512];
    if (qpdf_error_text(q, text, sizeof text))
        sh_log(SH_LOG_DEBUG, "%s: page %d: annotations: %s", c->s->path,
               c->n + 1, text);
    return n;
}

int sh__pdf_read(sh_scan *s, int n, sh_frame *f, sh_err *err)
{
    qpdf_data q = s->pdf->q;
    pg c = {.s = s, .n = n, .err = err, .q = q};
    size_t *sel = NULL, nsel = 0;
    pimg *im = NULL;
    sh_frame *subs = NULL;
    int rc = SH_OK, dropped = 0;

    qpdf_oh page = qpdf_get_page_n(q, (size_t)n);
    if ((rc = qpdf_check(&c, "page object")))
        goto out;
    if (!page || !qpdf_oh_is_dictionary(q, page)) {
        rc = PERR(&c, SH_EINPUT, "page object unreadable");
        goto out;
    }
    qpdf_oh res = inherited(q, page, "/Resources");
    if ((rc = page_scan(&c, page, res)))
        goto out;
    sel = malloc((c.nd ? c.nd : 1) * sizeof *sel);
    if (!sel) {
        rc = PERR(&c, SH_ENOMEM, "out of memory");
        goto out;
    }
    if ((rc = select_images(&c, sel, &nsel, &dropped)))
        goto out;

    /* every image's dictionary against the limits before any data */
    im = calloc(nsel, sizeof *im);
    subs = calloc(nsel, sizeof *subs);
    if (!im || !subs) {
        rc = PERR(&c, SH_ENOMEM, "out of memory");
        goto out;
    }
    uint64_t total = 0;
    for (size_t i = 0; i < nsel && !rc; i++) {
        rc = image_info(&c, c.d[sel[i]].oh, &im[i]);
        total += im[i].h;
    }
    if (!rc && nsel > 1)
        rc = sh__check_size(s, n, im[0].w, total, err);
    for (size_t i = 0; i < nsel && !rc; i++)
        rc = image_pix(&c, &im[i], nsel == 1, &subs[i]);
    if (rc)
        goto out;
    const char *codec = im[0].codec;
    for (size_t i = 1; i < nsel; i++)
        if (strcmp(im[i].codec, codec))
            codec = "mixed";

    geo g;
    geo_of(c.d[sel[0]].m, 1, &g);
    double uu = dnum(q, page, "/UserUnit", 1);
    if (!(uu > 0 && uu < 75000))
        uu = 1;
    double ly = 0;
    uint32_t pw = (uint32_t)pixGetWidth(subs[0].pix), ph = 0;
    for (size_t i = 0; i < nsel; i++) {
        geo gi;
        geo_of(c.d[sel[i]].m, uu, &gi);
        ly += gi.ly;
        ph += (uint32_t)pixGetHeight(subs[i].pix);
    }
    if (nsel == 1) {
        f->pix = subs[0].pix;
        f->jpeg = subs[0].jpeg;
        f->njpeg = subs[0].njpeg;
        f->jpeg_components = subs[0].jpeg_components;
        memset(&subs[0], 0, sizeof subs[0]);
    } else if ((rc = stack_strips(&c, subs, nsel, &f->pix))) {
        goto out;
    }
    double lx = g.lx * uu;
    sh__set_res(f, lx > 0 ? pw * 72.0 / lx : 0, ly > 0 ? ph * 72.0 / ly : 0,
                pw, ph);

    /* /Rotate: clockwise, a multiple of 90 (anything else is ignored, as
       viewers do) */
    double rot = 0;
    long prot = 0;
    if (num_of(q, inherited(q, page, "/Rotate"), &rot) && fabs(rot) < 1e6 &&
        rot == floor(rot) && (long)rot % 90 == 0)
        prot = (((long)rot % 360) + 360) % 360;
    f->tag_rot = (int)((g.rot + prot) % 360);
    f->tag_mirror = g.mirror;
    f->codec = codec;
    f->had_text_layer = c.text;
    f->visible_text = c.visible_text;
    f->annotations = count_annotations(&c, page);
    f->dropped_images = dropped;
    rc = qpdf_check(&c, "page");
    if (!rc)
        sh_log(SH_LOG_DEBUG, "%s: page %d: %u x %u %s, %d x %d ppi, turn %d, "
               "%zu image(s), text %d/%d, %d annotation(s), %d left out",
               s->path, n + 1, pw, ph, codec, f->xres, f->yres, f->tag_rot,
               nsel, c.text, c.visible_text, f->annotations, dropped);
out:
    if (subs)
        for (size_t i = 0; i < nsel; i++)
            sh_frame_release(&subs[i]);
    free(subs);
    free(im);
    free(sel);
    free(c.d);
    qpdf_oh_release_all(q);
    drain_warnings(s, n);
    {
        char text[512];   /* nothing left pending for qpdf_cleanup */
        qpdf_error_text(q, text, sizeof text);
    }
    return rc;
}

/* ------------------------------------------------------------------ */
/* open / close                                                        */
/* ------------------------------------------------------------------ */

int sh__pdf_open(sh_scan *s, sh_err *err)
{
    int rc = SH_OK;
    char text[512];
    s->pdf = calloc(1, sizeof *s->pdf);
    if (!s->pdf || !(s->pdf->q = qpdf_init()))
        return sh_errf(err, SH_ENOMEM, "%s: out of memory", s->path);
    qpdf_data q = s->pdf->q;
    qpdf_silence_errors(q);
    qpdf_set_suppress_warnings(q, QPDF_TRUE);

    /* certified copies are often encrypted with an empty user password
       (only the owner's is set): the empty one opens them */
    if (qpdf_read(q, s->path, "") & QPDF_ERRORS) {
        qpdf_error e = qpdf_get_error(q);
        enum qpdf_error_code_e code =
            e ? qpdf_get_error_code(q, e) : qpdf_e_damaged_pdf;
        const char *d = e ? qpdf_get_error_message_detail(q, e) : NULL;
        snprintf(text, sizeof text, "%s", d && *d ? d : "qpdf error");
        if (code == qpdf_e_password)
            rc = sh_errf(err, SH_EINPUT, "%s: the PDF needs a password; "
                         "remove the protection or give an unprotected copy",
                         s->path);
        else if (code == qpdf_e_system)
            rc = sh_errf(err, SH_EIO, "%s: cannot read: %s", s->path, text);
        else
            rc = sh_errf(err, SH_EINPUT, "%s: not a readable PDF: %s",
                         s->path, text);
        goto out;
    }
    int np = qpdf_get_num_pages(q);
    snprintf(text, sizeof text, "no page count");
    if (qpdf_error_text(q, text, sizeof text) || np < 0) {
        rc = sh_errf(err, SH_EINPUT, "%s: the PDF's page tree is unreadable: "
                     "%s", s->path, text);
        goto out;
    }
    if (np == 0) {
        rc = sh_errf(err, SH_EINPUT, "%s: the PDF has no pages", s->path);
        goto out;
    }
    if (np > s->lim.max_frames) {
        rc = sh_errf(err, SH_ELIMIT,
                     "%s: %d pages exceed the limit of %d frames per file",
                     s->path, np, s->lim.max_frames);
        goto out;
    }
    s->nframes = np;
out:
    drain_warnings(s, -1);
    qpdf_error_text(q, text, sizeof text);
    return rc;
}

void sh__pdf_close(sh_scan *s)
{
    if (!s || !s->pdf)
        return;
    if (s->pdf->q)
        qpdf_cleanup(&s->pdf->q);
    free(s->pdf);
    s->pdf = NULL;
}
