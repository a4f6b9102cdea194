/*
 * pdfin_filter.c — the general-purpose stream filters of scanner PDFs,
 * undone with the output bounded in advance.
 *
 *   sh__pdf_raw_stream       a stream's bytes as stored (decrypted)
 *   sh__pdf_get_filters      its /Filter chain and /DecodeParms
 *   sh__pdf_unfilter         the chain undone, output capped
 *   sh__pdf_stream_bytes     the three in one
 *   sh__pdf_is_image_filter  DCT, CCITT, JBIG2, JPX: for the decoders
 *
 * Method.  Stream data is always taken raw from qpdf (qpdf_dl_none) and
 * the filters are undone here — FlateDecode (zlib; a damaged stream is
 * retried raw and keeps what came out), LZWDecode (with /EarlyChange),
 * ASCIIHexDecode, ASCII85Decode, RunLengthDecode, and the PNG (10..15)
 * and TIFF (2) predictors of Flate and LZW (predict.c) — so that every
 * output stops at a limit known in advance: an image stream at the bytes
 * its /Width, /Height and colour need, a content stream at what is left
 * of 64 MiB a page.  qpdf would inflate a decompression bomb in memory
 * before we could look.  A damaged stream gives what came out before the
 * damage, and the first complaint goes to c->why for the caller to log
 * or report.
 */
#include "pdfin_int.h"
#include "predict.h"

#include <limits.h>
#include <stdlib.h>

#include <zlib.h>

/* The raw bytes of a stream (decrypted, still encoded), malloc'd. */
int sh__pdf_raw_stream(pg *c, qpdf_oh st, uint8_t **out, size_t *n,
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
            if (sh_png_unfilter_row(type, src, prev, cur, rb, bpp)) {
                why(c, "PNG predictor: row filter type %u", type);
                goto out;
            }
        } else {
            memcpy(cur, src, rb);
            sh_tiff_unpredict_row(cur, p->colors, (size_t)p->columns, p->bpc);
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

int sh__pdf_is_image_filter(const char *f)
{
    return !strcmp(f, "DCTDecode") || !strcmp(f, "CCITTFaxDecode") ||
           !strcmp(f, "JBIG2Decode") || !strcmp(f, "JPXDecode");
}

/* /Filter and /DecodeParms of stream st. */
int sh__pdf_get_filters(pg *c, qpdf_oh st, filt *f, int *nf,
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
int sh__pdf_unfilter(pg *c, const filt *f, int nf, const uint8_t *in,
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
                      sh__pdf_is_image_filter(fn) ? "before another filter"
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
        if (k)   /* an empty stream's bytes may be NULL */
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
int sh__pdf_stream_bytes(pg *c, qpdf_oh st, size_t need, size_t cap,
                         uint8_t **out, size_t *n, const char *what)
{
    filt f[FILTERS_MAX];
    int nf = 0;
    uint8_t *raw = NULL;
    size_t nraw = 0;
    *out = NULL;
    *n = 0;
    int rc = sh__pdf_get_filters(c, st, f, &nf, what);
    if (!rc)
        rc = sh__pdf_raw_stream(c, st, &raw, &nraw, what);
    if (!rc)
        rc = sh__pdf_unfilter(c, f, nf, raw, nraw, need, cap, out, n, what);
    free(raw);
    return rc;
}
