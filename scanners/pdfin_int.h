/*
 * pdfin_int.h — what the files of the scanner-PDF source share: pdfin.c
 * (the qpdf document walk, page by page), pdfin_filter.c (stream
 * filters), pdfin_content.c (the content-stream interpreter),
 * pdfin_image.c (image dictionaries and decoders) and pdfin_render.c
 * (pages that show no scan, rendered).  Only for them; the
 * rest of scanners/ sees sh__pdf_open/read/close in scan_int.h.
 *
 *   dict_of, dget, num_of, dnum, dint, dbool, name_of, dname,
 *   inherited                qpdf object access, references resolved
 *   qpdf_error_text          qpdf's pending error, taken
 *   pg, drawn, PERR          the page being read; what it draws
 *   qpdf_check, why          qpdf's error as the page's; a filter's
 *                            first complaint
 *   hexval, is_ws, is_delim  PDF lexical classes
 *   filt, pimg               a filter chain entry; one image
 *   sh__pdf_raw_stream, sh__pdf_stream_bytes, sh__pdf_get_filters,
 *   sh__pdf_unfilter, sh__pdf_is_image_filter      (pdfin_filter.c)
 *   sh__pdf_page_scan                              (pdfin_content.c)
 *   sh__pdf_image_info, sh__pdf_image_pix          (pdfin_image.c)
 *   sh__pdf_render_wanted, sh__pdf_render_page,
 *   sh__pdf_render_free                            (pdfin_render.c)
 */
#ifndef SH_PDFIN_INT_H
#define SH_PDFIN_INT_H

#include "scan_int.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <qpdf/qpdf-c.h>

#define FORM_DEPTH_MAX 12              /* forms inside forms             */
#define DRAWN_MAX 4096                 /* images drawn per page          */
#define FILTERS_MAX 8                  /* filters in one chain           */

/* ------------------------------------------------------------------ */
/* qpdf access                                                         */
/* ------------------------------------------------------------------ */

/* The dictionary of oh (itself, or a stream's); 0 when neither. */
static inline qpdf_oh dict_of(qpdf_data q, qpdf_oh oh)
{
    if (!oh)
        return 0;
    if (qpdf_oh_is_stream(q, oh))
        return qpdf_oh_get_dict(q, oh);
    return qpdf_oh_is_dictionary(q, oh) ? oh : 0;
}

/* Value of key ("/Name") in oh's dictionary, references resolved; 0 when
   oh has no dictionary, or the key is absent or null. */
static inline qpdf_oh dget(qpdf_data q, qpdf_oh oh, const char *key)
{
    qpdf_oh d = dict_of(q, oh);
    if (!d || !qpdf_oh_has_key(q, d, key))
        return 0;
    qpdf_oh v = qpdf_oh_get_key(q, d, key);
    return v && !qpdf_oh_is_null(q, v) ? v : 0;
}

static inline int num_of(qpdf_data q, qpdf_oh oh, double *v)
{
    return oh && qpdf_oh_get_value_as_number(q, oh, v) && isfinite(*v);
}

static inline double dnum(qpdf_data q, qpdf_oh oh, const char *key,
                          double def)
{
    double v;
    return num_of(q, dget(q, oh, key), &v) ? v : def;
}

/* key as an integer in lo..hi, else def (absent, not a number, out of
   range, or not integral). */
static inline long dint(qpdf_data q, qpdf_oh oh, const char *key, long lo,
                        long hi, long def)
{
    double v;
    if (!num_of(q, dget(q, oh, key), &v) || v < lo || v > hi ||
        v != floor(v))
        return def;
    return (long)v;
}

static inline int dbool(qpdf_data q, qpdf_oh oh, const char *key, int def)
{
    QPDF_BOOL b;
    qpdf_oh v = dget(q, oh, key);
    return v && qpdf_oh_get_value_as_bool(q, v, &b) ? b != 0 : def;
}

/* oh as a name without its slash, copied into buf; 0 if not a name. */
static inline int name_of(qpdf_data q, qpdf_oh oh, char *buf, size_t n)
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

static inline int dname(qpdf_data q, qpdf_oh oh, const char *key,
                        char *buf, size_t n)
{
    return name_of(q, dget(q, oh, key), buf, n);
}

#define PARENT_MAX 64                  /* page-tree levels for inherited */

/* Inheritable page attribute: the page's, else the nearest ancestor's. */
static inline qpdf_oh inherited(qpdf_data q, qpdf_oh page, const char *key)
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

/* Take qpdf's pending error (clearing it) into buf; 0 if there is none. */
static inline int qpdf_error_text(qpdf_data q, char *buf, size_t n)
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
    long paints;                /* paths filled or stroked, shadings */
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
static inline int qpdf_check(pg *c, const char *what)
{
    char text[512];
    if (!qpdf_error_text(c->q, text, sizeof text))
        return SH_OK;
    return PERR(c, SH_EINPUT, "%s: %s", what, text);
}

static inline void why(pg *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static inline void why(pg *c, const char *fmt, ...)
{
    if (c->why[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->why, sizeof c->why, fmt, ap);
    va_end(ap);
}


static inline int hexval(uint8_t ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

static inline int is_ws(uint8_t ch)
{
    return ch == 0 || ch == 9 || ch == 10 || ch == 12 || ch == 13 ||
           ch == 32;
}

static inline int is_delim(uint8_t ch)
{
    return ch && strchr("()<>[]{}/%", ch) != NULL;
}


/* One entry of a stream's filter chain. */
typedef struct filt {
    char name[32];    /* abbreviations expanded */
    qpdf_oh parms;    /* its /DecodeParms; 0 = none */
} filt;


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


/* ------------------------------------------------------------------ */
/* between the files                                                   */
/* ------------------------------------------------------------------ */

/* pdfin_filter.c */

/* The raw bytes of stream st (decrypted, still encoded) into *out
   (malloc'd) and *n.  SH_OK, or SH_EINPUT naming `what` when qpdf cannot
   read it. */
int sh__pdf_raw_stream(pg *c, qpdf_oh st, uint8_t **out, size_t *n,
                       const char *what);

/* /Filter and /DecodeParms of stream st into f[0..*nf) (FILTERS_MAX
   entries; abbreviations expanded).  SH_EINPUT for external data, a
   chain over FILTERS_MAX or a filter that is not a name. */
int sh__pdf_get_filters(pg *c, qpdf_oh st, filt *f, int *nf,
                        const char *what);

/*
 * Undo the general-purpose filters f[0..nf) over in[0..nin).
 *   need > 0: stop once `need` bytes are out (what an image needs);
 *   need == 0: the whole output, at most cap bytes, more is SH_ELIMIT.
 * *out malloc'd (NULL when empty).  A damaged stream keeps what came out;
 * the first complaint is in c->why.  SH_EINPUT for an image filter or an
 * unknown one in the chain, SH_ENOMEM.
 */
int sh__pdf_unfilter(pg *c, const filt *f, int nf, const uint8_t *in,
                     size_t nin, size_t need, size_t cap, uint8_t **out,
                     size_t *nout, const char *what);

/* A stream's data with every (general-purpose) filter undone: get
   filters, raw stream, unfilter, with their errors. */
int sh__pdf_stream_bytes(pg *c, qpdf_oh st, size_t need, size_t cap,
                         uint8_t **out, size_t *n, const char *what);

/* 1 if f names an image codec filter (DCT, CCITT, JBIG2, JPX). */
int sh__pdf_is_image_filter(const char *f);

/* pdfin_content.c */

/* The page's content streams, decoded (at most 64 MiB in all) and
   interpreted from the identity matrix with resources res: every image
   drawn is appended to c->d with its matrix, c->text / visible_text /
   inline_imgs / paints set.  SH_EINPUT, SH_ELIMIT, SH_ENOMEM with the page's
   message. */
int sh__pdf_page_scan(pg *c, qpdf_oh page, qpdf_oh res);

/* pdfin_image.c */

/* What image XObject oh's dictionary says, into im (zeroed first):
   size checked against the limits, colour space, /Decode, filters, the
   decoder kind and codec name.  SH_EINPUT, SH_ELIMIT for what is refused
   (JPX, Lab, Separation, DeviceN, ... by name). */
int sh__pdf_image_info(pg *c, qpdf_oh oh, pimg *im);

/* Decode image im into sub (pix, codec, and for a DCT image whose bytes
   may be passed through when want_pass, f->jpeg).  On error sub is
   released. */
int sh__pdf_image_pix(pg *c, const pimg *im, int want_pass, sh_frame *sub);

/* pdfin_render.c */

/* poppler's document for one sh_scan, opened when a page is rendered. */
typedef struct sh__pdf_render sh__pdf_render;

/*
 * The rule (after sh__pdf_page_scan): 1 when the page is to be rendered,
 * not taken out as an image: no image it draws covers RENDER_COVER
 * (half) of its CropBox (else MediaBox), and it shows visible text, a
 * painted path or shading, or no image at all.  0 keeps the image path.
 *   cover  [optional] the largest image's share of the page, 0..1
 */
int sh__pdf_render_wanted(pg *c, qpdf_oh page, double *cover);

/*
 * Page c->n drawn by poppler-glib on a white cairo surface at 300 dpi,
 * upright (/Rotate applied), into f->pix (8 bpp gray), f->xres/yres 300,
 * f->codec "rendered"; *r is opened on first use (sh__pdf_render_free).
 * SH_ELIMIT (naming file and page) when the rendered size or an image
 * the page draws exceeds the scan limits, checked before drawing;
 * SH_EINPUT when poppler cannot open the file or the page has no size;
 * SH_ENOMEM.  On error f->pix is NULL.
 */
int sh__pdf_render_page(pg *c, sh__pdf_render **r, sh_frame *f);

/* Free *r (poppler's document) and set it to NULL; accepts NULL. */
void sh__pdf_render_free(sh__pdf_render **r);

#endif
