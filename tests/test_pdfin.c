/*
 * test_pdfin.c — scanner PDFs as sources (scanners/pdfin.c through
 * scan.h): images taken out of PDF pages without rendering.
 *
 * Fixtures are made at test time: with sohoa's own PDF writer (ocr/pdf.h:
 * G4, Flate and JPEG pages) and with a small PDF builder here, whose
 * image streams are encoded by the test (zlib, PNG/TIFF predictors,
 * ASCIIHex, ASCII85, RunLength) or by libtiff (LZW, CCITT G3), so every
 * filter, colour space, /Decode, /Rotate, matrix and page layout the
 * reader claims to handle is checked pixel for pixel against the picture
 * the test drew.  Encryption uses the qpdf tool.  The real scanner PDFs
 * and the adversarial corpus under ../shared are read when present (else
 * those tests skip); JPEG pass-through bytes are compared with what
 * `pdfimages -j` extracts.  Born-digital pages (no scan: rendered with
 * poppler) are made with cairo's PDF surface and a Debian font.
 */
#include "test.h"
#include "../ocr/pdf.h"
#include "../scanners/scan.h"

#include <dirent.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cairo-pdf.h>
#include <cairo.h>
#include <tiffio.h>
#include <zlib.h>

/* ---- helpers ---------------------------------------------------------- */

static const char *tpath(const char *name)
{
    static char buf[8][512];
    static int i;
    i = (i + 1) % 8;
    snprintf(buf[i], sizeof buf[i], "%s/%s", sh_test_tmpdir(), name);
    return buf[i];
}

/* Sample of component k at (x, y): 0..255, different per component and
   along both axes, so flips, swaps and shifted rows show. */
static unsigned pat(int x, int y, int k)
{
    return (unsigned)(x * (7 + 2 * k) + y * (13 + k) +
                      ((x ^ y) & 0x1f) * (k + 1)) & 0xffu;
}

/* Ink of a bilevel test page: the top-left quadrant and slanted lines. */
static int ink(int x, int y, int w, int h)
{
    return (x < w / 2 && y < h / 2) || (x + 2 * y) % 11 == 0;
}

static PIX *bilevel(int w, int h)
{
    PIX *p = pixCreate(w, h, 1);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            if (ink(x, y, w, h))
                pixSetPixel(p, x, y, 1);
    return p;
}

static PIX *gray(int w, int h)
{
    PIX *p = pixCreate(w, h, 8);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            pixSetPixel(p, x, y, pat(x, y, 0));
    return p;
}

static PIX *rgb(int w, int h)
{
    PIX *p = pixCreate(w, h, 32);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            l_uint32 v;
            composeRGBPixel((l_int32)pat(x, y, 0), (l_int32)pat(x, y, 1),
                            (l_int32)pat(x, y, 2), &v);
            pixSetPixel(p, x, y, v);
        }
    return p;
}

/* 1 if a and b have the same size, depth and pixels. */
static int same(PIX *a, PIX *b)
{
    l_int32 eq = 0;
    if (!a || !b || pixGetDepth(a) != pixGetDepth(b))
        return 0;
    return pixEqual(a, b, &eq) == 0 && eq;
}

static int open_read(const char *path, int n, sh_frame *f, sh_err *err)
{
    sh_scan *s = NULL;
    int rc = sh_scan_open(path, NULL, &s, err);
    if (!rc)
        rc = sh_scan_read(s, n, f, err);
    else
        memset(f, 0, sizeof *f);
    sh_scan_close(&s);
    return rc;
}

static int have_tool(const char *name)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", name);
    return system(cmd) == 0;
}

/* ---- a small PDF builder --------------------------------------------- */

typedef struct mp {
    sh_buf b;
    size_t off[64];
    int n;          /* objects written, numbered 1..n in order */
} mp;

static void mp_start(mp *m)
{
    memset(m, 0, sizeof *m);
    sh_buf_adds(&m->b, "%PDF-1.7\n%\xe2\xe3\xcf\xd3\n");
}

__attribute__((format(printf, 2, 3)))
static int mp_obj(mp *m, const char *fmt, ...)
{
    va_list ap;
    char body[4096];
    va_start(ap, fmt);
    vsnprintf(body, sizeof body, fmt, ap);
    va_end(ap);
    m->off[++m->n] = m->b.len;
    sh_buf_printf(&m->b, "%d 0 obj\n%s\nendobj\n", m->n, body);
    return m->n;
}

static int mp_stream(mp *m, const char *dict, const void *data, size_t n)
{
    m->off[++m->n] = m->b.len;
    sh_buf_printf(&m->b, "%d 0 obj\n<< %s /Length %zu >>\nstream\n", m->n,
                  dict, n);
    sh_buf_add(&m->b, data, n);
    sh_buf_adds(&m->b, "\nendstream\nendobj\n");
    return m->n;
}

/* Cross-reference table, trailer (root = object 1), written to path. */
static int mp_save(mp *m, const char *path)
{
    size_t x = m->b.len;
    sh_buf_printf(&m->b, "xref\n0 %d\n0000000000 65535 f \n", m->n + 1);
    for (int i = 1; i <= m->n; i++)
        sh_buf_printf(&m->b, "%010zu 00000 n \n", m->off[i]);
    sh_buf_printf(&m->b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n"
                  "%zu\n%%%%EOF\n", m->n + 1, x);
    sh_err err = {0};
    int rc = sh_write_atomic(path, m->b.data, m->b.len, &err);
    sh_buf_release(&m->b);
    return rc;
}

typedef struct ximg {
    const char *dict;      /* without /Length */
    const void *data;
    size_t n;
} ximg;

/* One page: 1 Catalog, 2 Pages, 3 Page, 4 content, 5.. images /Im0.. */
static int one_page(const char *path, double wpt, double hpt,
                    const char *page_extra, const char *content,
                    const ximg *im, int nim)
{
    mp m;
    char xo[1024] = "";
    size_t k = 0;
    for (int i = 0; i < nim; i++)
        k += (size_t)snprintf(xo + k, sizeof xo - k, " /Im%d %d 0 R", i,
                              5 + i);
    mp_start(&m);
    mp_obj(&m, "<< /Type /Catalog /Pages 2 0 R >>");
    mp_obj(&m, "<< /Type /Pages /Kids [3 0 R] /Count 1 >>");
    mp_obj(&m, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %g %g] "
           "/Resources << /XObject <<%s >> >> /Contents 4 0 R %s >>", wpt,
           hpt, xo, page_extra ? page_extra : "");
    mp_stream(&m, "", content, strlen(content));
    for (int i = 0; i < nim; i++)
        mp_stream(&m, im[i].dict, im[i].data, im[i].n);
    return mp_save(&m, path);
}

/* ---- encoders for the fixtures --------------------------------------- */

static uint8_t *zip(const uint8_t *in, size_t n, size_t *out)
{
    uLongf cap = compressBound(n);
    uint8_t *z = malloc(cap);
    if (z && compress2(z, &cap, in, n, 9) != Z_OK) {
        free(z);
        return NULL;
    }
    *out = cap;
    return z;
}

/* PNG-filter rows of rb bytes (bpp bytes a pixel), row y with type y%5. */
static uint8_t *png_filter(const uint8_t *in, size_t rb, size_t rows,
                           size_t bpp, size_t *out)
{
    uint8_t *o = malloc(rows * (rb + 1));
    for (size_t y = 0; y < rows; y++) {
        const uint8_t *cur = in + y * rb, *up = y ? cur - rb : NULL;
        uint8_t *d = o + y * (rb + 1);
        int t = (int)(y % 5);
        d[0] = (uint8_t)t;
        for (size_t i = 0; i < rb; i++) {
            int a = i >= bpp ? cur[i - bpp] : 0, b = up ? up[i] : 0,
                c = i >= bpp && up ? up[i - bpp] : 0, pr = 0;
            switch (t) {
            case 1: pr = a; break;
            case 2: pr = b; break;
            case 3: pr = (a + b) / 2; break;
            case 4: {
                int p = a + b - c, pa = abs(p - a), pb = abs(p - b),
                    pc = abs(p - c);
                pr = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
                break;
            }
            }
            d[1 + i] = (uint8_t)(cur[i] - pr);
        }
    }
    *out = rows * (rb + 1);
    return o;
}

static char *ahx(const uint8_t *in, size_t n, size_t *out)
{
    char *o = malloc(3 * n + 2);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        k += (size_t)sprintf(o + k, "%02X", in[i]);
        if (i % 32 == 31)
            o[k++] = '\n';
    }
    o[k++] = '>';
    *out = k;
    return o;
}

static char *a85(const uint8_t *in, size_t n, size_t *out)
{
    char *o = malloc(n / 4 * 5 + 16 + n / 60);
    size_t k = 0;
    for (size_t i = 0; i < n; i += 4) {
        size_t m = n - i < 4 ? n - i : 4;
        uint32_t v = 0;
        for (size_t j = 0; j < 4; j++)
            v = v << 8 | (j < m ? in[i + j] : 0);
        if (v == 0 && m == 4) {
            o[k++] = 'z';
            continue;
        }
        char g[5];
        for (int j = 4; j >= 0; j--) {
            g[j] = (char)('!' + v % 85);
            v /= 85;
        }
        memcpy(o + k, g, m + 1);
        k += m + 1;
        if (i % 120 == 116)
            o[k++] = '\n';
    }
    o[k++] = '~';
    o[k++] = '>';
    *out = k;
    return o;
}

static uint8_t *runlength(const uint8_t *in, size_t n, size_t *out)
{
    uint8_t *o = malloc(n * 2 + 2);
    size_t k = 0, i = 0;
    while (i < n) {
        size_t r = 1;
        while (i + r < n && r < 128 && in[i + r] == in[i])
            r++;
        if (r >= 2) {
            o[k++] = (uint8_t)(257 - r);
            o[k++] = in[i];
            i += r;
            continue;
        }
        size_t l = 1;
        while (i + l < n && l < 128 &&
               !(i + l + 1 < n && in[i + l] == in[i + l + 1]))
            l++;
        o[k++] = (uint8_t)(l - 1);
        memcpy(o + k, in + i, l);
        k += l;
        i += l;
    }
    o[k++] = 128;
    *out = k;
    return o;
}

/* The raw strip libtiff writes for these pixels (one strip): LZW (PDF
   LZWDecode with /EarlyChange 1), or CCITT G3 (t4 options). */
static uint8_t *tiff_strip(const char *name, const uint8_t *rows, int w,
                           int h, int bps, int spp, int comp, uint32_t t4,
                           size_t *out)
{
    const char *path = tpath(name);
    TIFF *t = TIFFOpen(path, "w");
    if (!t)
        return NULL;
    TIFFSetField(t, TIFFTAG_IMAGEWIDTH, w);
    TIFFSetField(t, TIFFTAG_IMAGELENGTH, h);
    TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, bps);
    TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, spp);
    TIFFSetField(t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
    TIFFSetField(t, TIFFTAG_PHOTOMETRIC,
                 spp == 3 ? PHOTOMETRIC_RGB : PHOTOMETRIC_MINISWHITE);
    TIFFSetField(t, TIFFTAG_COMPRESSION, comp);
    if (comp == COMPRESSION_CCITTFAX3)
        TIFFSetField(t, TIFFTAG_GROUP3OPTIONS, t4);
    TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, h);
    size_t rb = ((size_t)w * bps * spp + 7) / 8;
    for (int y = 0; y < h; y++)
        TIFFWriteScanline(t, (void *)(rows + y * rb), (uint32_t)y, 0);
    TIFFClose(t);
    t = TIFFOpen(path, "r");
    if (!t)
        return NULL;
    uint64_t *bc = NULL;
    TIFFGetField(t, TIFFTAG_STRIPBYTECOUNTS, &bc);
    size_t n = bc ? (size_t)bc[0] : 0;
    uint8_t *o = malloc(n ? n : 1);
    if (TIFFReadRawStrip(t, 0, o, (tmsize_t)n) != (tmsize_t)n) {
        free(o);
        o = NULL;
    }
    TIFFClose(t);
    *out = n;
    return o;
}

/* Packed rows of a bilevel page, 1 = ink (fax: 1 = black). */
static uint8_t *ink_rows(int w, int h)
{
    size_t rb = ((size_t)w + 7) / 8;
    uint8_t *r = calloc(rb * h, 1);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            if (ink(x, y, w, h))
                r[y * rb + x / 8] |= (uint8_t)(0x80 >> (x % 8));
    return r;
}

/* ---- our own writer: G4, Flate gray, JPEG, Flate RGB, turned page ---- */

static int add_page(sh_pdf *p, const sh_pdf_image *img, double dpi, int turn)
{
    sh_err err = {0};
    double w = img->w * 72.0 / dpi, h = img->h * 72.0 / dpi;
    sh_pdf_page pg = {.w_pt = w, .h_pt = h, .img = img,
                      .img_matrix = {w, 0, 0, h, 0, 0}, .pt_per_px = 1};
    if (turn) {   /* shown turned 90° clockwise on an h x w page */
        pg.w_pt = h;
        pg.h_pt = w;
        double m[6] = {0, -w, h, 0, 0, w};
        memcpy(pg.img_matrix, m, sizeof m);
    }
    return sh_pdf_add_page(p, &pg, &err);
}

static int test_own_writer(void)
{
    sh_err err = {0};
    PIX *bw = bilevel(333, 217), *g8 = gray(301, 199), *c32 = rgb(257, 181);
    PIX *jsrc = rgb(240, 160);
    l_uint8 *jb = NULL;
    size_t jn = 0;
    CHECK(pixWriteMemJpeg(&jb, &jn, jsrc, 90, 0) == 0);
    sh_pdf_image ibw, ig8, ic32, ijpg;
    CHECK(sh_pdf_image_from_pix(bw, &ibw, &err) == SH_OK);
    CHECK(ibw.filter == SH_PDF_CCITT_G4);
    CHECK(sh_pdf_image_from_pix(g8, &ig8, &err) == SH_OK);
    CHECK(sh_pdf_image_from_pix(c32, &ic32, &err) == SH_OK);
    CHECK(sh_pdf_image_from_jpeg(jb, jn, &ijpg, &err) == SH_OK);

    const char *path = tpath("own.pdf");
    sh_pdf *p = NULL;
    CHECKF(sh_pdf_open(path, "fixture", &p, &err) == SH_OK, "%s", err.msg);
    CHECK(add_page(p, &ibw, 200, 0) == SH_OK);
    CHECK(add_page(p, &ig8, 300, 0) == SH_OK);
    CHECK(add_page(p, &ijpg, 150, 0) == SH_OK);
    CHECK(add_page(p, &ic32, 400, 0) == SH_OK);
    CHECK(add_page(p, &ibw, 200, 1) == SH_OK);
    CHECKF(sh_pdf_commit(&p, &err) == SH_OK, "%s", err.msg);

    /* the JPEG as a plain file, for the decoder's own reading of it */
    const char *jpath = tpath("own.jpg");
    CHECK(sh_write_atomic(jpath, jb, jn, &err) == SH_OK);
    sh_frame fj;
    CHECK(open_read(jpath, 0, &fj, &err) == SH_OK);

    sh_scan *s = NULL;
    CHECKF(sh_scan_open(path, NULL, &s, &err) == SH_OK, "%s", err.msg);
    CHECK(sh_scan_format(s) == SH_FMT_PDF);
    CHECK(sh_scan_frames(s) == 5);
    sh_frame f;
    static const struct { int dpi; const char *codec; } want[] = {
        {200, "g4"}, {300, "deflate"}, {150, "jpeg"}, {400, "deflate"},
        {200, "g4"},
    };
    PIX *orig[5] = {bw, g8, fj.pix, c32, bw};
    for (int i = 0; i < 5; i++) {
        CHECKF(sh_scan_read(s, i, &f, &err) == SH_OK, "%s", err.msg);
        CHECKF(same(f.pix, orig[i]), "page %d pixels differ", i + 1);
        CHECKF(f.xres == want[i].dpi && f.yres == want[i].dpi &&
                   !f.dpi_assumed,
               "page %d: %d x %d dpi", i + 1, f.xres, f.yres);
        CHECK(!strcmp(f.codec, want[i].codec));
        CHECK(f.tag_rot == (i == 4 ? 90 : 0) && f.tag_mirror == 0);
        CHECK(!f.had_text_layer && !f.visible_text && !f.annotations &&
              !f.dropped_images);
        if (i == 2) {
            CHECK(f.jpeg && f.njpeg == jn && !memcmp(f.jpeg, jb, jn));
            CHECK(f.jpeg_components == 3);
        } else {
            CHECK(f.jpeg == NULL);
        }
        sh_frame_release(&f);
    }
    /* out of range, and a page read twice */
    CHECK(sh_scan_read(s, 5, &f, &err) == SH_EUSAGE && f.pix == NULL);
    CHECK(sh_scan_read(s, 0, &f, &err) == SH_OK && same(f.pix, bw));
    sh_frame_release(&f);
    sh_scan_close(&s);
    CHECK(s == NULL);

    sh_frame_release(&fj);
    sh_pdf_image_release(&ibw);
    sh_pdf_image_release(&ig8);
    sh_pdf_image_release(&ic32);
    sh_pdf_image_release(&ijpg);
    lept_free(jb);
    pixDestroy(&bw);
    pixDestroy(&g8);
    pixDestroy(&c32);
    pixDestroy(&jsrc);
    return 0;
}

/* ---- JPEG streams: pass-through and what forbids it ----------------- */

static int jpeg_page(const char *path, const uint8_t *data, size_t n, int w,
                     int h, int ncomp, const char *extra)
{
    char dict[512];
    snprintf(dict, sizeof dict, "/Type /XObject /Subtype /Image /Width %d "
             "/Height %d /ColorSpace %s /BitsPerComponent 8 %s", w, h,
             ncomp == 1 ? "/DeviceGray" : "/DeviceRGB", extra);
    ximg im = {dict, data, n};
    char ct[200];
    snprintf(ct, sizeof ct, "q %g 0 0 %g 0 0 cm /Im0 Do Q", w * 0.36,
             h * 0.36);   /* 200 dpi */
    return one_page(path, w * 0.36, h * 0.36, NULL, ct, &im, 1);
}

static int test_jpeg(void)
{
    sh_err err = {0};
    PIX *g8 = gray(160, 120), *c32 = rgb(160, 120);
    l_uint8 *jg = NULL, *jc = NULL;
    size_t ng = 0, nc = 0;
    CHECK(pixWriteMemJpeg(&jg, &ng, g8, 85, 0) == 0);
    CHECK(pixWriteMemJpeg(&jc, &nc, c32, 85, 0) == 0);
    const char *fg = tpath("g.jpg"), *fc = tpath("c.jpg"),
               *path = tpath("jpeg.pdf");
    CHECK(sh_write_atomic(fg, jg, ng, &err) == SH_OK);
    CHECK(sh_write_atomic(fc, jc, nc, &err) == SH_OK);
    sh_frame dg, dc, f;
    CHECK(open_read(fg, 0, &dg, &err) == SH_OK);
    CHECK(open_read(fc, 0, &dc, &err) == SH_OK);

    /* gray, plain */
    CHECK(jpeg_page(path, jg, ng, 160, 120, 1, "/Filter /DCTDecode") == 0);
    CHECKF(open_read(path, 0, &f, &err) == SH_OK, "%s", err.msg);
    CHECK(same(f.pix, dg.pix) && f.xres == 200 && !strcmp(f.codec, "jpeg"));
    CHECK(f.jpeg && f.njpeg == ng && !memcmp(f.jpeg, jg, ng) &&
          f.jpeg_components == 1);
    sh_frame_release(&f);

    /* colour behind Flate, as certified copies have it */
    size_t nz = 0;
    uint8_t *z = zip(jc, nc, &nz);
    CHECK(jpeg_page(path, z, nz, 160, 120, 3,
                    "/Filter [/FlateDecode /DCTDecode]") == 0);
    free(z);
    CHECKF(open_read(path, 0, &f, &err) == SH_OK, "%s", err.msg);
    CHECK(same(f.pix, dc.pix));
    CHECK(f.jpeg && f.njpeg == nc && !memcmp(f.jpeg, jc, nc) &&
          f.jpeg_components == 3);
    sh_frame_release(&f);

    /* an inverting /Decode: applied, and the bytes alone would not say
       it, so no pass-through */
    CHECK(jpeg_page(path, jg, ng, 160, 120, 1,
                    "/Filter /DCTDecode /Decode [1 0]") == 0);
    CHECKF(open_read(path, 0, &f, &err) == SH_OK, "%s", err.msg);
    PIX *neg = pixInvert(NULL, dg.pix);
    CHECK(same(f.pix, neg) && f.jpeg == NULL);
    pixDestroy(&neg);
    sh_frame_release(&f);

    /* /ColorTransform 0 on YCbCr data: read as RGB, not passed through */
    CHECK(jpeg_page(path, jc, nc, 160, 120, 3,
                    "/Filter /DCTDecode /DecodeParms << /ColorTransform 0 "
                    ">>") == 0);
    CHECKF(open_read(path, 0, &f, &err) == SH_OK, "%s", err.msg);
    CHECK(!same(f.pix, dc.pix) && f.jpeg == NULL);
    sh_frame_release(&f);
    /* ... and /ColorTransform 1, the default, changes nothing */
    CHECK(jpeg_page(path, jc, nc, 160, 120, 3,
                    "/Filter /DCTDecode /DecodeParms << /ColorTransform 1 "
                    ">>") == 0);
    CHECKF(open_read(path, 0, &f, &err) == SH_OK, "%s", err.msg);
    CHECK(same(f.pix, dc.pix) && f.jpeg && f.njpeg == nc);
    sh_frame_release(&f);

    /* cut short: an error naming the page, not a grey band */
    CHECK(jpeg_page(path, jc, nc / 2, 160, 120, 3, "/Filter /DCTDecode") ==
          0);
    int rc = open_read(path, 0, &f, &err);
    CHECKF(rc == SH_EINPUT && !f.pix && !f.jpeg &&
               strstr(err.msg, "page 1 of 1: JPEG"),
           "%d %s", rc, err.msg);

    sh_frame_release(&dg);
    sh_frame_release(&dc);
    lept_free(jg);
    lept_free(jc);
    pixDestroy(&g8);
    pixDestroy(&c32);
    return 0;
}

/* ---- filters and colour spaces, pixel for pixel ---------------------- */

enum { E_NONE, E_AHX, E_A85, E_RL, E_LZW, E_FL, E_FL_PNG, E_FL_TIFF,
       E_A85_FL };
enum { C_GRAY, C_RGB, C_CMYK, C_ICC3, C_IDX_RGB, C_IDX_BW, C_IDX_GRAY,
       C_MASK };

typedef struct frow {
    const char *name;
    int cs, bpc, enc;
    const char *decode;   /* NULL = default */
} frow;

static int ncomp_of(int cs)
{
    return cs == C_RGB || cs == C_ICC3 ? 3 : cs == C_CMYK ? 4 : 1;
}

/* Sample s (bpc bits) of component k at (x, y). */
static unsigned fsample(const frow *r, int x, int y, int k)
{
    if (r->cs == C_IDX_BW || r->cs == C_MASK || r->bpc == 1)
        return ink(x, y, 64, 48) ? 1 : 0;
    unsigned v = pat(x, y, k);
    if (r->bpc == 16)
        return v * 257;
    return v >> (8 - r->bpc);
}

static void pal_entry(int cs, unsigned i, uint8_t e[3])
{
    if (cs == C_IDX_BW) {
        e[0] = e[1] = e[2] = i ? 0 : 255;   /* 1 = black */
    } else if (cs == C_IDX_GRAY) {
        e[0] = e[1] = e[2] = (uint8_t)(255 - i);
    } else {
        e[0] = (uint8_t)i;
        e[1] = (uint8_t)(255 - i);
        e[2] = (uint8_t)(i * 7);
    }
}

/* The pixels the reader must give for row r. */
static PIX *fexpect(const frow *r, int w, int h)
{
    int inv = r->decode != NULL;   /* the rows only use inverting ones */
    int depth = r->cs == C_IDX_BW || r->cs == C_MASK ||
                        (r->cs == C_GRAY && r->bpc == 1)
                    ? 1
                : r->cs == C_GRAY || r->cs == C_IDX_GRAY ? 8
                                                         : 32;
    PIX *p = pixCreate(w, h, depth);
    unsigned maxv = r->bpc == 16 ? 255 : (1u << r->bpc) - 1;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            unsigned s[4];
            for (int k = 0; k < 4; k++) {
                s[k] = fsample(r, x, y, k);
                if (r->bpc == 16)
                    s[k] >>= 8;
                if (inv && r->cs != C_IDX_RGB && r->cs != C_IDX_GRAY &&
                    r->cs != C_IDX_BW)
                    s[k] = maxv - s[k];
            }
            if (depth == 1) {
                /* gray/mask: sample 0 = black; Indexed b/w: entry 1 */
                int black = r->cs == C_IDX_BW ? s[0] == 1 : s[0] == 0;
                if (inv && r->cs == C_IDX_BW)
                    black = !black;
                if (black)
                    pixSetPixel(p, x, y, 1);
                continue;
            }
            uint8_t e[3];
            if (r->cs == C_IDX_RGB || r->cs == C_IDX_GRAY) {
                pal_entry(r->cs, inv ? 255 - s[0] : s[0], e);
            } else if (r->cs == C_CMYK) {
                for (int k = 0; k < 3; k++)
                    e[k] = (uint8_t)((255 - s[k]) * (255 - s[3]) / 255);
            } else {
                for (int k = 0; k < 3; k++) {
                    unsigned v = s[r->cs == C_GRAY ? 0 : k];
                    e[k] = (uint8_t)lround(v * 255.0 / maxv);
                }
            }
            if (depth == 8) {
                pixSetPixel(p, x, y, e[0]);
            } else {
                l_uint32 v;
                composeRGBPixel(e[0], e[1], e[2], &v);
                pixSetPixel(p, x, y, v);
            }
        }
    return p;
}

/* Encode row r's image stream: its dictionary into dict, bytes out. */
static uint8_t *fencode(const frow *r, int w, int h, char *dict, size_t nd,
                        size_t *nout)
{
    int nc = r->cs == C_IDX_RGB || r->cs == C_IDX_BW ||
                     r->cs == C_IDX_GRAY || r->cs == C_MASK
                 ? 1
                 : ncomp_of(r->cs);
    size_t rb = ((size_t)w * nc * r->bpc + 7) / 8, n = rb * h;
    uint8_t *raw = calloc(n, 1);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int k = 0; k < nc; k++) {
                unsigned v = fsample(r, x, y, k);
                size_t i = (size_t)x * nc + k;
                uint8_t *row = raw + y * rb;
                if (r->bpc == 16) {
                    row[2 * i] = (uint8_t)(v >> 8);
                    row[2 * i + 1] = (uint8_t)v;
                } else if (r->bpc == 8) {
                    row[i] = (uint8_t)v;
                } else {
                    size_t bit = i * r->bpc;
                    row[bit / 8] |= (uint8_t)(v << (8 - r->bpc - bit % 8));
                }
            }
    char cs[600];
    switch (r->cs) {
    case C_GRAY: snprintf(cs, sizeof cs, "/DeviceGray"); break;
    case C_RGB: snprintf(cs, sizeof cs, "/DeviceRGB"); break;
    case C_CMYK: snprintf(cs, sizeof cs, "/DeviceCMYK"); break;
    case C_ICC3: snprintf(cs, sizeof cs, "[/ICCBased 6 0 R]"); break;
    case C_MASK: cs[0] = 0; break;
    default: {
        int n_e = r->cs == C_IDX_BW ? 2 : 256;
        size_t k = (size_t)snprintf(cs, sizeof cs, "[/Indexed %s %d <",
                                    r->cs == C_IDX_RGB ? "/DeviceRGB"
                                                       : "/DeviceGray",
                                    n_e - 1);
        for (int i = 0; i < n_e && r->cs != C_IDX_RGB; i++) {
            uint8_t e[3];
            pal_entry(r->cs, (unsigned)i, e);
            k += (size_t)snprintf(cs + k, sizeof cs - k, "%02X", e[0]);
        }
        if (r->cs == C_IDX_RGB)   /* palette as a stream, object 6 */
            snprintf(cs, sizeof cs, "[/Indexed /DeviceRGB 255 6 0 R]");
        else
            snprintf(cs + k, sizeof cs - k, ">]");
    }
    }
    const char *filter = "";
    char parms[200] = "";
    uint8_t *out = NULL;
    size_t no = 0;
    switch (r->enc) {
    case E_NONE:
        out = raw;
        no = n;
        raw = NULL;
        break;
    case E_AHX:
        out = (uint8_t *)ahx(raw, n, &no);
        filter = "/Filter /ASCIIHexDecode";
        break;
    case E_A85:
        out = (uint8_t *)a85(raw, n, &no);
        filter = "/Filter /A85";
        break;
    case E_RL:
        out = runlength(raw, n, &no);
        filter = "/Filter /RunLengthDecode";
        break;
    case E_LZW:
        out = tiff_strip("lzw.tif", raw, w, h, r->bpc, nc, COMPRESSION_LZW,
                         0, &no);
        filter = "/Filter /LZWDecode";
        break;
    case E_FL:
        out = zip(raw, n, &no);
        filter = "/Filter /FlateDecode";
        break;
    case E_FL_PNG: {
        size_t nf = 0;
        uint8_t *f = png_filter(raw, rb, h, ((size_t)nc * r->bpc + 7) / 8,
                                &nf);
        out = zip(f, nf, &no);
        free(f);
        filter = "/Filter /FlateDecode";
        snprintf(parms, sizeof parms, "/DecodeParms << /Predictor 15 "
                 "/Colors %d /BitsPerComponent %d /Columns %d >>", nc,
                 r->bpc, w);
        break;
    }
    case E_FL_TIFF: {
        uint8_t *d = malloc(n);
        memcpy(d, raw, n);
        for (int y = 0; y < h; y++)   /* 8-bit samples only */
            for (size_t i = rb; i-- > (size_t)nc;)
                d[y * rb + i] = (uint8_t)(d[y * rb + i] - d[y * rb + i - nc]);
        out = zip(d, n, &no);
        free(d);
        filter = "/Filter /FlateDecode";
        snprintf(parms, sizeof parms, "/DecodeParms << /Predictor 2 "
                 "/Colors %d /BitsPerComponent 8 /Columns %d >>", nc, w);
        break;
    }
    case E_A85_FL: {
        size_t nz = 0;
        uint8_t *z = zip(raw, n, &nz);
        out = (uint8_t *)a85(z, nz, &no);
        free(z);
        filter = "/Filter [/ASCII85Decode /FlateDecode]";
        break;
    }
    }
    free(raw);
    snprintf(dict, nd, "/Type /XObject /Subtype /Image /Width %d /Height %d"
             " %s%s%s /BitsPerComponent %d %s %s %s%s", w, h,
             r->cs == C_MASK ? "/ImageMask true" : "/ColorSpace ", cs, "",
             r->bpc, filter, parms, r->decode ? "/Decode " : "",
             r->decode ? r->decode : "");
    *nout = no;
    return out;
}

static int test_filters(void)
{
    static const frow rows[] = {
        {"gray8 none", C_GRAY, 8, E_NONE, NULL},
        {"gray8 ahx", C_GRAY, 8, E_AHX, NULL},
        {"gray8 a85", C_GRAY, 8, E_A85, NULL},
        {"gray8 runlength", C_GRAY, 8, E_RL, NULL},
        {"gray8 lzw", C_GRAY, 8, E_LZW, NULL},
        {"gray8 flate", C_GRAY, 8, E_FL, NULL},
        {"gray8 flate png", C_GRAY, 8, E_FL_PNG, NULL},
        {"gray8 flate tiff", C_GRAY, 8, E_FL_TIFF, NULL},
        {"gray8 a85+flate", C_GRAY, 8, E_A85_FL, NULL},
        {"gray8 inverted", C_GRAY, 8, E_FL, "[1 0]"},
        {"gray4", C_GRAY, 4, E_FL, NULL},
        {"gray2 png", C_GRAY, 2, E_FL_PNG, NULL},
        {"gray16", C_GRAY, 16, E_FL, NULL},
        {"gray1", C_GRAY, 1, E_FL, NULL},
        {"gray1 inverted", C_GRAY, 1, E_NONE, "[1 0]"},
        {"mask", C_MASK, 1, E_FL, NULL},
        {"rgb8", C_RGB, 8, E_FL, NULL},
        {"rgb8 lzw", C_RGB, 8, E_LZW, NULL},
        {"rgb8 png", C_RGB, 8, E_FL_PNG, NULL},
        {"rgb8 tiff", C_RGB, 8, E_FL_TIFF, NULL},
        {"rgb16 png", C_RGB, 16, E_FL_PNG, NULL},
        {"rgb8 inverted", C_RGB, 8, E_FL, "[1 0 1 0 1 0]"},
        {"icc3", C_ICC3, 8, E_FL, NULL},
        {"cmyk8", C_CMYK, 8, E_FL, NULL},
        {"indexed rgb", C_IDX_RGB, 8, E_FL, NULL},
        {"indexed rgb inverted", C_IDX_RGB, 8, E_FL, "[255 0]"},
        {"indexed gray", C_IDX_GRAY, 8, E_RL, NULL},
        {"indexed bw", C_IDX_BW, 1, E_FL, NULL},
    };
    const int w = 64, h = 48;   /* 1 inch x 0.75 at 64 dpi ... */
    for (size_t i = 0; i < SH_ARRAY_LEN(rows); i++) {
        const frow *r = &rows[i];
        char dict[1024];
        size_t n = 0;
        uint8_t *data = fencode(r, w, h, dict, sizeof dict, &n);
        CHECKF(data, "%s: no fixture", r->name);
        /* 64 x 48 px shown on 23.04 x 17.28 pt: 200 dpi */
        mp m;
        mp_start(&m);
        mp_obj(&m, "<< /Type /Catalog /Pages 2 0 R >>");
        mp_obj(&m, "<< /Type /Pages /Kids [3 0 R] /Count 1 >>");
        mp_obj(&m, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 23.04 "
               "17.28] /Resources << /XObject << /Im0 5 0 R >> >> "
               "/Contents 4 0 R >>");
        const char *ct = "q 23.04 0 0 17.28 0 0 cm /Im0 Do Q";
        mp_stream(&m, "", ct, strlen(ct));
        mp_stream(&m, dict, data, n);
        if (r->cs == C_ICC3) {
            const char *icc = "not a real profile";
            mp_stream(&m, "/N 3", icc, strlen(icc));
        } else if (r->cs == C_IDX_RGB) {
            uint8_t pal[768];
            for (unsigned k = 0; k < 256; k++)
                pal_entry(C_IDX_RGB, k, pal + 3 * k);
            size_t nz = 0;
            uint8_t *z = zip(pal, sizeof pal, &nz);
            mp_stream(&m, "/Filter /FlateDecode", z, nz);
            free(z);
        }
        const char *path = tpath("filters.pdf");
        CHECK(mp_save(&m, path) == SH_OK);
        free(data);

        sh_err err = {0};
        sh_frame f;
        int rc = open_read(path, 0, &f, &err);
        CHECKF(rc == SH_OK, "%s: %s", r->name, err.msg);
        PIX *want = fexpect(r, w, h);
        CHECKF(same(f.pix, want), "%s: pixels differ (depth %d, want %d)",
               r->name, pixGetDepth(f.pix), pixGetDepth(want));
        CHECKF(f.xres == 200 && f.yres == 200, "%s: %d x %d dpi", r->name,
               f.xres, f.yres);
        pixDestroy(&want);
        sh_frame_release(&f);
    }
    return 0;
}

/* ---- CCITT: G4 options, G3, damage ----------------------------------- */

static int ccitt_page(const char *path, const uint8_t *data, size_t n,
                      int w, int h, const char *extra)
{
    char dict[512];
    snprintf(dict, sizeof dict, "/Type /XObject /Subtype /Image /Width %d "
             "/Height %d /BitsPerComponent 1 /Filter /CCITTFaxDecode %s", w,
             h, extra);
    ximg im = {dict, data, n};
    char ct[200];
    snprintf(ct, sizeof ct, "q %g 0 0 %g 0 0 cm /Im0 Do Q", w * 0.24,
             h * 0.24);   /* 300 dpi */
    return one_page(path, w * 0.24, h * 0.24, NULL, ct, &im, 1);
}

static int test_ccitt(void)
{
    sh_err err = {0};
    const int w = 203, h = 157;
    PIX *bw = bilevel(w, h), *neg = pixInvert(NULL, bw);
    sh_pdf_image g4;
    CHECK(sh_pdf_image_from_pix(bw, &g4, &err) == SH_OK);
    static const struct {
        const char *extra;
        int inverted;
    } rows[] = {
        {"/ColorSpace /DeviceGray /DecodeParms << /K -1 /Columns 203 "
         "/Rows 157 >>", 0},
        {"/ColorSpace /DeviceGray /DecodeParms << /K -1 /Columns 203 >>", 0},
        {"/DecodeParms << /K -1 /Columns 203 /BlackIs1 true >>", 1},
        {"/ColorSpace /DeviceGray /Decode [1 0] /DecodeParms << /K -1 "
         "/Columns 203 >>", 1},
        {"/ColorSpace /DeviceGray /Decode [1 0] /DecodeParms << /K -1 "
         "/Columns 203 /BlackIs1 true >>", 0},
        {"/ImageMask true /DecodeParms << /K -1 /Columns 203 >>", 0},
        {"/ColorSpace /DeviceGray /DecodeParms [<< /K -1 /Columns 203 >>]",
         0},
    };
    const char *path = tpath("ccitt.pdf");
    for (size_t i = 0; i < SH_ARRAY_LEN(rows); i++) {
        CHECK(ccitt_page(path, g4.data, g4.n, w, h, rows[i].extra) == 0);
        sh_frame f;
        CHECKF(open_read(path, 0, &f, &err) == SH_OK, "%zu: %s", i, err.msg);
        CHECKF(same(f.pix, rows[i].inverted ? neg : bw), "row %zu", i);
        CHECK(!strcmp(f.codec, "g4") && f.xres == 300 && f.yres == 300);
        sh_frame_release(&f);
    }

    /* G3 (1D and 2D, with EOLs) as libtiff writes it */
    uint8_t *rowsb = ink_rows(w, h);
    for (int twod = 0; twod <= 1; twod++) {
        size_t n = 0;
        uint8_t *g3 = tiff_strip("g3.tif", rowsb, w, h, 1, 1,
                                 COMPRESSION_CCITTFAX3,
                                 twod ? GROUP3OPT_2DENCODING : 0, &n);
        CHECK(g3 && n > 0);
        char extra[200];
        snprintf(extra, sizeof extra, "/ColorSpace /DeviceGray /DecodeParms "
                 "<< /K %d /Columns 203 /EndOfLine true >>", twod ? 4 : 0);
        CHECK(ccitt_page(path, g3, n, w, h, extra) == 0);
        sh_frame f;
        CHECKF(open_read(path, 0, &f, &err) == SH_OK, "G3 %d: %s", twod,
               err.msg);
        CHECKF(same(f.pix, bw), "G3 2D=%d pixels", twod);
        CHECK(!strcmp(f.codec, "g3"));
        sh_frame_release(&f);
        free(g3);
    }
    free(rowsb);

    /* damage: cut short is an error, never a white band; wrong columns */
    CHECK(ccitt_page(path, g4.data, g4.n / 3, w, h,
                     "/ColorSpace /DeviceGray /DecodeParms << /K -1 "
                     "/Columns 203 >>") == 0);
    sh_frame f;
    int rc = open_read(path, 0, &f, &err);
    CHECKF(rc == SH_EINPUT && f.pix == NULL && strstr(err.msg, path) &&
               strstr(err.msg, "page 1 of 1") && strstr(err.msg, "CCITT"),
           "%d %s", rc, err.msg);
    CHECK(ccitt_page(path, g4.data, g4.n, w, h,
                     "/ColorSpace /DeviceGray /DecodeParms << /K -1 "
                     "/Columns 200 >>") == 0);
    rc = open_read(path, 0, &f, &err);
    CHECKF(rc == SH_EINPUT && strstr(err.msg, "/Columns"), "%s", err.msg);
    CHECK(ccitt_page(path, g4.data, g4.n, w, h,
                     "/ColorSpace /DeviceGray /DecodeParms << /K -1 "
                     "/Columns 203 /EncodedByteAlign true >>") == 0);
    rc = open_read(path, 0, &f, &err);
    CHECKF(rc == SH_EINPUT && strstr(err.msg, "EncodedByteAlign"), "%s",
           err.msg);

    sh_pdf_image_release(&g4);
    pixDestroy(&bw);
    pixDestroy(&neg);
    return 0;
}

/* ---- geometry: /Rotate, matrices, forms, resolution ------------------ */

static int test_geometry(void)
{
    sh_err err = {0};
    const int w = 120, h = 80;
    PIX *g8 = gray(w, h);
    size_t nz = 0;
    uint8_t *raw = malloc((size_t)w * h);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            raw[y * w + x] = (uint8_t)pat(x, y, 0);
    uint8_t *z = zip(raw, (size_t)w * h, &nz);
    char dict[256];
    snprintf(dict, sizeof dict, "/Type /XObject /Subtype /Image /Width %d "
             "/Height %d /ColorSpace /DeviceGray /BitsPerComponent 8 "
             "/Filter /FlateDecode", w, h);
    ximg im = {dict, z, nz};
    /* 120 x 80 px at 200 dpi = 43.2 x 28.8 pt */
    static const struct {
        const char *page, *content;
        int xres, yres, rot, mirror;
    } rows[] = {
        {NULL, "q 43.2 0 0 28.8 0 0 cm /Im0 Do Q", 200, 200, 0, 0},
        {"/Rotate 90", "q 43.2 0 0 28.8 0 0 cm /Im0 Do Q", 200, 200, 90, 0},
        {"/Rotate -90", "q 43.2 0 0 28.8 0 0 cm /Im0 Do Q", 200, 200, 270, 0},
        {"/Rotate 45", "q 43.2 0 0 28.8 0 0 cm /Im0 Do Q", 200, 200, 0, 0},
        /* shown turned 90° clockwise, then the page turned again */
        {NULL, "q 0 -43.2 28.8 0 0 43.2 cm /Im0 Do Q", 200, 200, 90, 0},
        {"/Rotate 90", "q 0 -43.2 28.8 0 0 43.2 cm /Im0 Do Q", 200, 200, 180,
         0},
        {NULL, "q -43.2 0 0 -28.8 43.2 28.8 cm /Im0 Do Q", 200, 200, 180, 0},
        /* upside-down mirror: 180 then left-right */
        {NULL, "q 43.2 0 0 -28.8 0 28.8 cm /Im0 Do Q", 200, 200, 180, 1},
        /* anisotropic: 200 x 100 dpi */
        {NULL, "q 43.2 0 0 57.6 0 0 cm /Im0 Do Q", 200, 100, 0, 0},
        /* cm split in steps, nested q, noise operators around */
        /* (on a sheet the scan covers most of: a stroke beside a scan
           under half the page makes it born-digital, rendered) */
        {"", "1 0 0 RG q 2 0 0 2 5 5 cm q 21.6 0 0 14.4 0 0 cm "
               "0 0 m 1 1 l S /Im0 Do Q Q", 200, 200, 0, 0},
        {"/UserUnit 2", "q 21.6 0 0 14.4 0 0 cm /Im0 Do Q", 200, 200, 0, 0},
        /* a small display: 1200 dpi */
        {NULL, "q 7.2 0 0 4.8 0 0 cm /Im0 Do Q", 1200, 1200, 0, 0},
    };
    const char *path = tpath("geo.pdf");
    for (size_t i = 0; i < SH_ARRAY_LEN(rows); i++) {
        int fit = rows[i].page && !rows[i].page[0];   /* "": 50 x 40 pt */
        CHECK(one_page(path, fit ? 50 : 200, fit ? 40 : 200, rows[i].page,
                       rows[i].content, &im, 1) == 0);
        sh_frame f;
        CHECKF(open_read(path, 0, &f, &err) == SH_OK, "%zu: %s", i, err.msg);
        CHECKF(same(f.pix, g8), "row %zu pixels", i);
        CHECKF(f.xres == rows[i].xres && f.yres == rows[i].yres &&
                   f.tag_rot == rows[i].rot && f.tag_mirror == rows[i].mirror,
               "row %zu: %d x %d dpi, turn %d, mirror %d", i, f.xres, f.yres,
               f.tag_rot, f.tag_mirror);
        sh_frame_release(&f);
    }

    /* the image inside a form inside a form; /Rotate inherited from the
       Pages node; resources inherited too */
    mp m;
    mp_start(&m);
    mp_obj(&m, "<< /Type /Catalog /Pages 2 0 R >>");
    mp_obj(&m, "<< /Type /Pages /Kids [3 0 R] /Count 1 /Rotate 270 "
           "/Resources << /XObject << /Fm0 5 0 R >> >> >>");
    mp_obj(&m, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] "
           "/Contents 4 0 R >>");
    const char *c4 = "q 2 0 0 2 0 0 cm /Fm0 Do Q";
    mp_stream(&m, "", c4, strlen(c4));
    const char *c5 = "/Fm1 Do";
    mp_stream(&m, "/Type /XObject /Subtype /Form /BBox [0 0 100 100] "
              "/Matrix [0.5 0 0 0.5 0 0] /Resources << /XObject << /Fm1 6 0 "
              "R >> >>", c5, strlen(c5));
    const char *c6 = "q 43.2 0 0 28.8 0 0 cm /Im0 Do Q /Fm1 Do";   /* loop */
    mp_stream(&m, "/Type /XObject /Subtype /Form /BBox [0 0 100 100] "
              "/Resources << /XObject << /Im0 7 0 R /Fm1 6 0 R >> >>", c6,
              strlen(c6));
    mp_stream(&m, dict, z, nz);
    CHECK(mp_save(&m, path) == SH_OK);
    sh_frame f;
    CHECKF(open_read(path, 0, &f, &err) == SH_OK, "%s", err.msg);
    CHECK(same(f.pix, g8));
    CHECKF(f.xres == 200 && f.yres == 200 && f.tag_rot == 270, "%d %d %d",
           f.xres, f.yres, f.tag_rot);
    sh_frame_release(&f);

    free(raw);
    free(z);
    pixDestroy(&g8);
    return 0;
}

/* ---- several images: strips, overlays, refusals ---------------------- */

static int test_strips(void)
{
    sh_err err = {0};
    const int w = 90, hs[3] = {40, 40, 25}, H = 105;
    PIX *whole = gray(w, H);
    uint8_t *z[3];
    size_t nz[3];
    char dict[3][256];
    ximg im[4];
    int y0 = 0;
    for (int i = 0; i < 3; i++) {
        uint8_t *raw = malloc((size_t)w * hs[i]);
        for (int y = 0; y < hs[i]; y++)
            for (int x = 0; x < w; x++)
                raw[y * w + x] = (uint8_t)pat(x, y0 + y, 0);
        z[i] = zip(raw, (size_t)w * hs[i], &nz[i]);
        free(raw);
        snprintf(dict[i], sizeof dict[i], "/Type /XObject /Subtype /Image "
                 "/Width %d /Height %d /ColorSpace /DeviceGray "
                 "/BitsPerComponent 8 /Filter /FlateDecode", w, hs[i]);
        im[i] = (ximg){dict[i], z[i], nz[i]};
        y0 += hs[i];
    }
    /* 300 dpi: 90 px = 21.6 pt, 40 px = 9.6 pt, 25 px = 6 pt; drawn
       bottom-up in the content, which must not matter */
    const char *ok =
        "q 21.6 0 0 6 10 10 cm /Im2 Do Q q 21.6 0 0 9.6 10 25.6 cm /Im0 Do Q "
        "q 21.6 0 0 9.6 10 16 cm /Im1 Do Q";
    const char *path = tpath("strips.pdf");
    CHECK(one_page(path, 100, 100, NULL, ok, im, 3) == 0);
    sh_frame f;
    CHECKF(open_read(path, 0, &f, &err) == SH_OK, "%s", err.msg);
    CHECK(same(f.pix, whole));
    CHECKF(f.xres == 300 && f.yres == 300 && f.jpeg == NULL, "%d %d", f.xres,
           f.yres);
    sh_frame_release(&f);

    /* one strip that cannot be read spoils the page, with its reason */
    char jb2[300];
    snprintf(jb2, sizeof jb2, "/Type /XObject /Subtype /Image /Width %d "
             "/Height %d /ColorSpace /DeviceGray /BitsPerComponent 1 "
             "/Filter [/FlateDecode /JBIG2Decode]", w, hs[1]);
    ximg bad[3] = {im[0], {jb2, z[1], nz[1]}, im[2]};
    CHECK(one_page(path, 100, 100, NULL, ok, bad, 3) == 0);
    int rc = open_read(path, 0, &f, &err);
    CHECKF(rc == SH_EINPUT && strstr(err.msg, "JBIG2") && !f.pix, "%s",
           err.msg);

    /* a gap between strips, or strips side by side: refused */
    const char *gap =
        "q 21.6 0 0 6 10 10 cm /Im2 Do Q q 21.6 0 0 9.6 10 35.6 cm /Im0 Do Q "
        "q 21.6 0 0 9.6 10 16 cm /Im1 Do Q";
    CHECK(one_page(path, 100, 100, NULL, gap, im, 3) == 0);
    rc = open_read(path, 0, &f, &err);
    CHECKF(rc == SH_EINPUT && strstr(err.msg, "not strips") && !f.pix, "%s",
           err.msg);
    const char *side = "q 21.6 0 0 9.6 0 0 cm /Im0 Do Q "
                       "q 21.6 0 0 9.6 21.6 0 cm /Im1 Do Q";
    CHECK(one_page(path, 100, 100, NULL, side, im, 2) == 0);
    rc = open_read(path, 0, &f, &err);
    CHECKF(rc == SH_EINPUT && strstr(err.msg, "not strips"), "%s", err.msg);

    /* a small stamp over the scan is left out and counted */
    const char *stamp = "q 90 0 0 40 0 0 cm /Im0 Do Q "
                        "q 9 0 0 2.5 60 30 cm /Im2 Do Q";
    CHECK(one_page(path, 100, 100, NULL, stamp, im, 3) == 0);
    CHECKF(open_read(path, 0, &f, &err) == SH_OK, "%s", err.msg);
    CHECK(f.dropped_images == 1 && pixGetHeight(f.pix) == 40);
    CHECK(f.xres == 72 && f.yres == 72);
    sh_frame_release(&f);
    /* ... but not one a third of its size */
    const char *big2 = "q 90 0 0 40 0 0 cm /Im0 Do Q "
                       "q 30 0 0 13 10 60 cm /Im2 Do Q";
    CHECK(one_page(path, 100, 100, NULL, big2, im, 3) == 0);
    rc = open_read(path, 0, &f, &err);
    CHECKF(rc == SH_EINPUT && strstr(err.msg, "not supported"), "%s",
           err.msg);
    /* the same image drawn twice at the same place counts once */
    const char *twice = "q 90 0 0 40 0 0 cm /Im0 Do Q "
                        "q 90 0 0 40 0 0 cm /Im0 Do Q";
    CHECK(one_page(path, 100, 100, NULL, twice, im, 1) == 0);
    CHECKF(open_read(path, 0, &f, &err) == SH_OK, "%s", err.msg);
    sh_frame_release(&f);

    for (int i = 0; i < 3; i++)
        free(z[i]);
    pixDestroy(&whole);
    return 0;
}

/* ---- text layers and annotations ------------------------------------- */

static int test_text_layer(void)
{
    sh_err err = {0};
    uint8_t px[16 * 16];
    for (int i = 0; i < 256; i++)
        px[i] = (uint8_t)i;
    const char *dict = "/Type /XObject /Subtype /Image /Width 16 /Height 16 "
                       "/ColorSpace /DeviceGray /BitsPerComponent 8";
    ximg im = {dict, px, sizeof px};
    static const struct {
        const char *page, *content;
        int text, visible, annots;
    } rows[] = {
        {NULL, "q 16 0 0 16 0 0 cm /Im0 Do Q", 0, 0, 0},
        {NULL, "q 16 0 0 16 0 0 cm /Im0 Do Q BT 3 Tr /F1 12 Tf 1 0 0 1 5 5 "
               "Tm (CONG HOA \\(XA\\) HOI) Tj ET", 1, 0, 0},
        {NULL, "q 16 0 0 16 0 0 cm /Im0 Do Q 3 Tr BT [(A) -20 (B)] TJ ET "
               "BT 7 Tr (C) ' ET", 1, 0, 0},
        /* mode 3 set inside q..Q is gone after Q: visible */
        {NULL, "q 16 0 0 16 0 0 cm /Im0 Do Q q 3 Tr Q BT (x) Tj ET", 1, 1, 0},
        {NULL, "BT 1 0 0 1 0 0 Tm 0 0 (w) \" ET q 16 0 0 16 0 0 cm /Im0 Do Q",
         1, 1, 0},
        /* strings that look like operators are not */
        {NULL, "q 16 0 0 16 0 0 cm /Im0 Do Q (Tj) pop <54 6a> pop", 0, 0, 0},
        {"/Annots [<< /Type /Annot /Subtype /FreeText /Rect [0 0 9 9] "
         "/AP << /N 6 0 R >> >> << /Type /Annot /Subtype /Link /Rect [0 0 9 "
         "9] >>]",
         "q 16 0 0 16 0 0 cm /Im0 Do Q", 0, 0, 1},
    };
    const char *path = tpath("text.pdf");
    for (size_t i = 0; i < SH_ARRAY_LEN(rows); i++) {
        mp m;
        mp_start(&m);
        mp_obj(&m, "<< /Type /Catalog /Pages 2 0 R >>");
        mp_obj(&m, "<< /Type /Pages /Kids [3 0 R] /Count 1 >>");
        mp_obj(&m, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 16 16] "
               "/Resources << /XObject << /Im0 5 0 R >> /Font << /F1 << "
               "/Type /Font /Subtype /Type1 /BaseFont /Helvetica >> >> >> "
               "/Contents 4 0 R %s >>", rows[i].page ? rows[i].page : "");
        mp_stream(&m, "", rows[i].content, strlen(rows[i].content));
        mp_stream(&m, im.dict, im.data, im.n);
        const char *ap = "";
        mp_stream(&m, "/Type /XObject /Subtype /Form /BBox [0 0 9 9]", ap, 0);
        CHECK(mp_save(&m, path) == SH_OK);
        sh_frame f;
        CHECKF(open_read(path, 0, &f, &err) == SH_OK, "%zu: %s", i, err.msg);
        CHECKF(f.had_text_layer == rows[i].text &&
                   f.visible_text == rows[i].visible &&
                   f.annotations == rows[i].annots,
               "row %zu: text %d visible %d annotations %d", i,
               f.had_text_layer, f.visible_text, f.annotations);
        CHECK(f.xres == 72 && pixGetDepth(f.pix) == 8);
        sh_frame_release(&f);
    }
    return 0;
}

/* ---- born-digital pages: rendered ------------------------------------ */

/* Share of pixels darker than 128 in the rectangle x0..x1, y0..y1 of an
   8 bpp pix (clipped). */
static double dark_in(PIX *p, int x0, int y0, int x1, int y1)
{
    long dark = 0, all = 0;
    int w = pixGetWidth(p), h = pixGetHeight(p);
    for (int y = y0 < 0 ? 0 : y0; y < y1 && y < h; y++)
        for (int x = x0 < 0 ? 0 : x0; x < x1 && x < w; x++) {
            l_uint32 v;
            pixGetPixel(p, x, y, &v);
            dark += v < 128;
            all++;
        }
    return all ? (double)dark / (double)all : 0;
}

/* The rule, row by row, on pages of the small builder: which pages are
   rendered, which keep the image path, and what rendering gives. */
static int test_render_rule(void)
{
    sh_err err = {0};
    uint8_t px[16 * 16];
    for (int i = 0; i < 256; i++)
        px[i] = (uint8_t)(i | 0x80);
    const char *dict = "/Type /XObject /Subtype /Image /Width 16 /Height 16 "
                       "/ColorSpace /DeviceGray /BitsPerComponent 8";
    static const struct {
        double w, h;
        const char *extra, *content;
        int render;            /* 1 rendered, 0 image path */
        double dx, dy;         /* [rendered] a point (share of the frame)
                                  that must be dark; < 0: none */
    } rows[] = {
        /* no image: text, a drawing, nothing at all (a blank page) */
        {100, 100, NULL, "BT /F1 12 Tf 10 10 Td (text) Tj ET", 1, -1, 0},
        {100, 100, NULL, "0 0 50 50 re f", 1, 0.25, 0.75},
        {100, 100, NULL, "", 1, -1, 0},
        /* a scan over 60% of the page with visible text: the image path */
        {100, 100, NULL, "q 77.5 0 0 77.5 0 0 cm /Im0 Do Q BT /F1 9 Tf "
                         "(stamp) Tj ET", 0, 0, 0},
        /* an image over 40% with text or a drawing: a born-digital page */
        {100, 100, NULL, "q 63.3 0 0 63.3 0 0 cm /Im0 Do Q BT /F1 9 Tf "
                         "(text) Tj ET", 1, -1, 0},
        {100, 100, NULL, "q 63.3 0 0 63.3 0 0 cm /Im0 Do Q 0 90 100 10 re "
                         "f", 1, 0.5, 0.05},
        /* ... alone, or under an invisible OCR layer: a small scan */
        {100, 100, NULL, "q 63.3 0 0 63.3 0 0 cm /Im0 Do Q", 0, 0, 0},
        {100, 100, NULL, "q 63.3 0 0 63.3 0 0 cm /Im0 Do Q BT 3 Tr (ocr) Tj "
                         "ET", 0, 0, 0},
        /* an image drawn mostly off the page covers only what is on it */
        {100, 100, NULL, "q 200 0 0 200 -150 -150 cm /Im0 Do Q BT (t) Tj ET",
         1, -1, 0},
        /* /Rotate 90: upright as a viewer shows it (the lower left
           quarter of the unturned page comes to the upper left) */
        {200, 100, "/Rotate 90", "0 0 100 50 re f", 1, 0.25, 0.25},
    };
    const char *path = tpath("render.pdf");
    for (size_t i = 0; i < SH_ARRAY_LEN(rows); i++) {
        ximg im = {dict, px, sizeof px};
        CHECK(one_page(path, rows[i].w, rows[i].h, rows[i].extra,
                       rows[i].content, &im, 1) == 0);
        sh_frame f;
        CHECKF(open_read(path, 0, &f, &err) == SH_OK, "row %zu: %s", i,
               err.msg);
        int rendered = !strcmp(f.codec, "rendered");
        CHECKF(rendered == rows[i].render, "row %zu: codec %s", i, f.codec);
        if (rendered) {
            int turned = rows[i].extra != NULL;
            int ew = (int)lround((turned ? rows[i].h : rows[i].w) * 300 / 72);
            int eh = (int)lround((turned ? rows[i].w : rows[i].h) * 300 / 72);
            int w = pixGetWidth(f.pix), h = pixGetHeight(f.pix);
            CHECKF(w == ew && h == eh && pixGetDepth(f.pix) == 8 &&
                       f.xres == 300 && f.yres == 300 &&
                       pixGetXRes(f.pix) == 300 && !f.dpi_assumed &&
                       f.tag_rot == 0 && !f.had_text_layer &&
                       !f.visible_text,
                   "row %zu: %d x %d (want %d x %d) d%d %d ppi", i, w, h, ew,
                   eh, pixGetDepth(f.pix), f.xres);
            if (rows[i].dx >= 0) {
                int x = (int)(rows[i].dx * w), y = (int)(rows[i].dy * h);
                CHECKF(dark_in(f.pix, x - 2, y - 2, x + 3, y + 3) > 0.9,
                       "row %zu: no ink at %d,%d", i, x, y);
            }
            /* white where nothing is drawn: the corner opposite the ink
               (row 2: the whole page) */
            if (i == 2)
                CHECK(dark_in(f.pix, 0, 0, w, h) == 0);
            if (i == 4 || i == 8) {   /* the light image, bottom left */
                l_uint32 v = 0, o = 0;
                pixGetPixel(f.pix, w / 4, h * 3 / 4, &v);
                pixGetPixel(f.pix, w * 3 / 4, h / 4, &o);
                CHECKF(v >= 120 && v < 250 && o == 255, "row %zu: %u %u", i,
                       v, o);
            }
            if (i == 1 || i == 9)
                CHECKF(dark_in(f.pix, w * 3 / 4, i == 1 ? 0 : h * 3 / 4,
                               w, i == 1 ? h / 4 : h) == 0, "row %zu", i);
        } else {
            CHECK(pixGetWidth(f.pix) == 16 && !strcmp(f.codec, "none"));
        }
        sh_frame_release(&f);
    }

    /* what would render over the limits is refused before drawing */
    static const struct {
        const char *dict, *msg;
        double wpt;
    } big[] = {
        {NULL, "exceeds the limit", 14400},   /* 200 in: 60000 px a side */
        {"/Subtype /Image /Width 60000 /Height 60000 /ColorSpace "
         "/DeviceGray /BitsPerComponent 8", "an image the page draws", 100},
    };
    for (size_t i = 0; i < SH_ARRAY_LEN(big); i++) {
        ximg im = {big[i].dict ? big[i].dict : dict, px, sizeof px};
        CHECK(one_page(path, big[i].wpt, big[i].wpt, NULL,
                       "q 10 0 0 10 0 0 cm /Im0 Do Q 0 0 1 1 re f", &im,
                       1) == 0);
        sh_frame f;
        int rc = open_read(path, 0, &f, &err);
        CHECKF(rc == SH_ELIMIT && !f.pix && strstr(err.msg, path) &&
                   strstr(err.msg, "page 1 of 1") &&
                   strstr(err.msg, big[i].msg),
               "big %zu: %d %s", i, rc, err.msg);
    }
    return 0;
}

/* A Word-like document: cairo's PDF surface, fonts from Debian, two A4
   pages of Vietnamese text (the second with a rule, a small logo and a
   turned line), read back as two rendered frames. */
static int test_render_born_digital(void)
{
    static const char *line1 = "C\u1ed8NG H\u00d2A X\u00c3 H\u1ed8I CH\u1ee6 "
                               "NGH\u0128A VI\u1ec6T NAM";
    static const char *line2 = "C\u1ed9ng h\u00f2a x\u00e3 h\u1ed9i ch\u1ee7 "
                               "ngh\u0129a Vi\u1ec7t Nam";
    const double pw = 595.276, ph = 841.89;   /* A4 */
    const char *path = tpath("word.pdf");
    double tb[2][4];   /* each page's text box: x0 y0 x1 y1, pt */
    cairo_surface_t *sf = cairo_pdf_surface_create(path, pw, ph);
    CHECK(cairo_surface_status(sf) == CAIRO_STATUS_SUCCESS);
    cairo_t *cr = cairo_create(sf);
    for (int pg = 0; pg < 2; pg++) {
        cairo_text_extents_t te;
        const char *t = pg ? line2 : line1;
        cairo_select_font_face(cr, pg ? "Liberation Serif" : "DejaVu Sans",
                               CAIRO_FONT_SLANT_NORMAL,
                               CAIRO_FONT_WEIGHT_BOLD);
        cairo_set_font_size(cr, 20);
        cairo_text_extents(cr, t, &te);
        double x = 72, y = 120;
        cairo_set_source_rgb(cr, 0, 0, 0);
        cairo_move_to(cr, x, y);
        cairo_show_text(cr, t);
        tb[pg][0] = x + te.x_bearing;
        tb[pg][1] = y + te.y_bearing;
        tb[pg][2] = tb[pg][0] + te.width;
        tb[pg][3] = tb[pg][1] + te.height;
        if (pg) {
            /* a rule under the heading, a 2 x 2 cm logo at the top right */
            cairo_set_line_width(cr, 1);
            cairo_move_to(cr, 72, 140);
            cairo_line_to(cr, pw - 72, 140);
            cairo_stroke(cr);
            cairo_surface_t *logo =
                cairo_image_surface_create(CAIRO_FORMAT_RGB24, 40, 40);
            cairo_t *lc = cairo_create(logo);
            cairo_set_source_rgb(lc, 0.8, 0.1, 0.1);
            cairo_paint(lc);
            cairo_destroy(lc);
            cairo_save(cr);
            cairo_translate(cr, pw - 72 - 56.7, 40);
            cairo_scale(cr, 56.7 / 40, 56.7 / 40);
            cairo_set_source_surface(cr, logo, 0, 0);
            cairo_paint(cr);
            cairo_restore(cr);
            cairo_surface_destroy(logo);
        }
        cairo_show_page(cr);
    }
    cairo_destroy(cr);
    cairo_surface_finish(sf);
    CHECK(cairo_surface_status(sf) == CAIRO_STATUS_SUCCESS);
    cairo_surface_destroy(sf);

    sh_err err = {0};
    sh_scan *s = NULL;
    CHECKF(sh_scan_open(path, NULL, &s, &err) == SH_OK, "%s", err.msg);
    CHECK(sh_scan_frames(s) == 2);
    for (int pg = 0; pg < 2; pg++) {
        sh_frame f;
        CHECKF(sh_scan_read(s, pg, &f, &err) == SH_OK, "%s", err.msg);
        int w = pixGetWidth(f.pix), h = pixGetHeight(f.pix);
        CHECKF(abs(w - 2480) <= 2 && abs(h - 3508) <= 2 &&
                   pixGetDepth(f.pix) == 8 && f.xres == 300 &&
                   f.yres == 300 && !strcmp(f.codec, "rendered"),
               "page %d: %d x %d d%d %d ppi %s", pg + 1, w, h,
               pixGetDepth(f.pix), f.xres, f.codec);
        double k = 300 / 72.0;
        double in = dark_in(f.pix, (int)(tb[pg][0] * k), (int)(tb[pg][1] * k),
                            (int)(tb[pg][2] * k), (int)(tb[pg][3] * k));
        double below = dark_in(f.pix, 0, (int)(200 * k), w, h);
        CHECKF(in > 0.1 && in < 0.7 && below == 0,
               "page %d: ink %.3f in the text box, %.5f below", pg + 1, in,
               below);
        if (pg) {
            /* the rule is drawn; the red logo is mid-gray */
            CHECK(dark_in(f.pix, (int)(300 * k), (int)(139 * k) - 1,
                          (int)(300 * k) + 4, (int)(141 * k) + 1) > 0.3);
            l_uint32 v;
            pixGetPixel(f.pix, (int)((pw - 72 - 28) * k), (int)(68 * k), &v);
            CHECKF(v > 40 && v < 120, "logo gray %u", v);
        }
        sh_frame_release(&f);
    }
    sh_scan_close(&s);
    return 0;
}

/* ---- what is refused, and how ---------------------------------------- */

static int test_refusals(void)
{
    sh_err err = {0};
    uint8_t px[64] = {0};
    const char *path = tpath("refuse.pdf");
    static const struct {
        const char *dict, *content, *msg;
        int rc;
    } rows[] = {
        {"/Subtype /Image /Width 8 /Height 8 /ColorSpace /DeviceGray "
         "/BitsPerComponent 1 /Filter /JBIG2Decode",
         "q 8 0 0 8 0 0 cm /Im0 Do Q", "JBIG2 data does not decode",
         SH_EINPUT},
        {"/Subtype /Image /Width 8 /Height 8 /Filter /JPXDecode",
         "q 8 0 0 8 0 0 cm /Im0 Do Q", "JPEG 2000", SH_EINPUT},
        {"/Subtype /Image /Width 8 /Height 8 /ColorSpace [/Lab << /WhitePoint "
         "[1 1 1] >>] /BitsPerComponent 8",
         "q 8 0 0 8 0 0 cm /Im0 Do Q", "colour space /Lab", SH_EINPUT},
        {"/Subtype /Image /Width 8 /Height 8 /ColorSpace /DeviceGray "
         "/BitsPerComponent 8",
         "q 100 0 0 100 0 0 cm BI /W 4 /H 4 /CS /G /BPC 8 ID "
         "0123456789abcdef EI Q",
         "inline", SH_EINPUT},
        /* a header claiming a huge image: refused before any decoding */
        {"/Subtype /Image /Width 60000 /Height 60000 /ColorSpace /DeviceGray "
         "/BitsPerComponent 8 /Filter /FlateDecode",
         "q 8 0 0 8 0 0 cm /Im0 Do Q", "exceeds the limit", SH_ELIMIT},
        {"/Subtype /Image /Width 100000 /Height 10 /ColorSpace /DeviceGray "
         "/BitsPerComponent 8",
         "q 8 0 0 8 0 0 cm /Im0 Do Q", "a side exceeds", SH_ELIMIT},
        /* 64 bytes of an image needing 256 */
        {"/Subtype /Image /Width 16 /Height 16 /ColorSpace /DeviceGray "
         "/BitsPerComponent 8",
         "q 8 0 0 8 0 0 cm /Im0 Do Q", "the data ends after 64 of 256",
         SH_EINPUT},
        {"/Subtype /Image /Width 8 /Height 8 /ColorSpace /DeviceGray "
         "/BitsPerComponent 8 /Filter /BogusDecode",
         "q 8 0 0 8 0 0 cm /Im0 Do Q", "/BogusDecode", SH_EINPUT},
        {"/Subtype /Image /Width 8 /Height 8 /ColorSpace /DeviceGray "
         "/BitsPerComponent 8 /Filter [/DCTDecode /FlateDecode]",
         "q 8 0 0 8 0 0 cm /Im0 Do Q", "before another filter", SH_EINPUT},
        {"/Subtype /Image /Width 8 /Height 8 /ColorSpace /DeviceGray "
         "/BitsPerComponent 8 /Filter /DCTDecode",
         "q 8 0 0 8 0 0 cm /Im0 Do Q", "JPEG", SH_EINPUT},
        {"/Subtype /Image /Height 8 /ColorSpace /DeviceGray "
         "/BitsPerComponent 8",
         "q 8 0 0 8 0 0 cm /Im0 Do Q", "/Width", SH_EINPUT},
    };
    for (size_t i = 0; i < SH_ARRAY_LEN(rows); i++) {
        ximg im = {rows[i].dict, px, sizeof px};
        CHECK(one_page(path, 8, 8, NULL, rows[i].content, &im, 1) == 0);
        sh_frame f;
        int rc = open_read(path, 0, &f, &err);
        CHECKF(rc == rows[i].rc && f.pix == NULL &&
                   strstr(err.msg, rows[i].msg) && strstr(err.msg, path) &&
                   strstr(err.msg, "page 1 of 1"),
               "row %zu: rc %d: %s", i, rc, err.msg);
    }

    /* a Flate bomb as image data stops at what the image needs; as page
       content it is refused at 64 MiB */
    size_t big = (size_t)80 << 20, nz = 0;
    uint8_t *zeros = calloc(big, 1);
    CHECK(zeros);
    uint8_t *bomb = zip(zeros, big, &nz);
    free(zeros);
    CHECK(bomb);
    ximg bim = {"/Subtype /Image /Width 100 /Height 100 /ColorSpace "
                "/DeviceGray /BitsPerComponent 8 /Filter /FlateDecode",
                bomb, nz};
    CHECK(one_page(path, 100, 100, NULL, "q 100 0 0 100 0 0 cm /Im0 Do Q",
                   &bim, 1) == 0);
    sh_frame f;
    CHECKF(open_read(path, 0, &f, &err) == SH_OK, "%s", err.msg);
    CHECK(pixGetWidth(f.pix) == 100 && pixGetDepth(f.pix) == 8);
    sh_frame_release(&f);
    mp m;
    mp_start(&m);
    mp_obj(&m, "<< /Type /Catalog /Pages 2 0 R >>");
    mp_obj(&m, "<< /Type /Pages /Kids [3 0 R] /Count 1 >>");
    mp_obj(&m, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 8 8] "
           "/Contents 4 0 R >>");
    mp_stream(&m, "/Filter /FlateDecode", bomb, nz);
    CHECK(mp_save(&m, path) == SH_OK);
    free(bomb);
    int rc = open_read(path, 0, &f, &err);
    CHECKF(rc == SH_ELIMIT && strstr(err.msg, "64 MiB"), "%d %s", rc,
           err.msg);

    /* not a PDF after all; no pages; too many pages */
    const char *junk = "%PDF-1.4\nthis is not a PDF at all\n";
    CHECK(sh_write_atomic(path, junk, strlen(junk), &err) == SH_OK);
    sh_scan *s = NULL;
    rc = sh_scan_open(path, NULL, &s, &err);
    CHECKF(rc == SH_EINPUT && !s && strstr(err.msg, path) &&
               strstr(err.msg, "not a readable PDF"),
           "%d %s", rc, err.msg);
    mp_start(&m);
    mp_obj(&m, "<< /Type /Catalog /Pages 2 0 R >>");
    mp_obj(&m, "<< /Type /Pages /Kids [] /Count 0 >>");
    CHECK(mp_save(&m, path) == SH_OK);
    rc = sh_scan_open(path, NULL, &s, &err);
    CHECKF(rc == SH_EINPUT && strstr(err.msg, "no pages"), "%s", err.msg);
    mp_start(&m);
    mp_obj(&m, "<< /Type /Catalog /Pages 2 0 R >>");
    mp_obj(&m, "<< /Type /Pages /Kids [3 0 R 3 0 R 3 0 R] /Count 3 >>");
    mp_obj(&m, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 8 8] >>");
    CHECK(mp_save(&m, path) == SH_OK);
    sh_scan_limits lim;
    sh_scan_limits_default(&lim);
    lim.max_frames = 2;
    rc = sh_scan_open(path, &lim, &s, &err);
    CHECKF(rc == SH_ELIMIT && strstr(err.msg, "3 pages"), "%d %s", rc,
           err.msg);
    /* junk before the header is allowed, as readers do */
    ximg im8 = {"/Subtype /Image /Width 8 /Height 8 /ColorSpace /DeviceGray "
                "/BitsPerComponent 8", px, sizeof px};
    CHECK(one_page(path, 8, 8, NULL, "q 8 0 0 8 0 0 cm /Im0 Do Q", &im8,
                   1) == 0);
    uint8_t *d = NULL;
    size_t n = 0;
    CHECK(sh_read_file(path, 0, &d, &n, &err) == SH_OK);
    sh_buf b = {0};
    sh_buf_adds(&b, "JUNK\r\n");
    sh_buf_add(&b, d, n);
    free(d);
    CHECK(sh_write_atomic(path, b.data, b.len, &err) == SH_OK);
    sh_buf_release(&b);
    CHECKF(open_read(path, 0, &f, &err) == SH_OK, "%s", err.msg);
    sh_frame_release(&f);
    return 0;
}

/* ---- encryption ------------------------------------------------------- */

static int test_encrypted(void)
{
    if (!have_tool("qpdf"))
        return SH_SKIP;
    sh_err err = {0};
    PIX *bw = bilevel(100, 60);
    sh_pdf_image g4;
    CHECK(sh_pdf_image_from_pix(bw, &g4, &err) == SH_OK);
    const char *plain = tpath("plain.pdf"), *upw = tpath("upw.pdf"),
               *opw = tpath("opw.pdf");
    sh_pdf *p = NULL;
    CHECK(sh_pdf_open(plain, NULL, &p, &err) == SH_OK);
    CHECK(add_page(p, &g4, 200, 0) == SH_OK);
    CHECK(sh_pdf_commit(&p, &err) == SH_OK);
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "qpdf --encrypt upw opw 256 -- '%s' '%s' && "
             "qpdf --encrypt '' opw 256 -- '%s' '%s'", plain, upw, plain, opw);
    CHECK(system(cmd) == 0);

    sh_scan *s = NULL;
    int rc = sh_scan_open(upw, NULL, &s, &err);
    CHECKF(rc == SH_EINPUT && !s && strstr(err.msg, upw) &&
               strstr(err.msg, "needs a password; remove the protection"),
           "%d %s", rc, err.msg);
    sh_frame f;
    CHECKF(open_read(opw, 0, &f, &err) == SH_OK, "%s", err.msg);
    CHECK(same(f.pix, bw) && f.xres == 200);
    sh_frame_release(&f);
    sh_pdf_image_release(&g4);
    pixDestroy(&bw);
    return 0;
}

/* ---- damaged copies of a good file: no crash, clean errors ----------- */

static int contract_ok(const char *path, int rc_open, sh_scan *s,
                       const sh_err *err)
{
    if (rc_open)
        return (rc_open == SH_EINPUT || rc_open == SH_ELIMIT ||
                rc_open == SH_EIO) &&
               !s && strstr(err->msg, path);
    return sh_scan_frames(s) >= 1;
}

static int test_damaged(void)
{
    sh_err err = {0};
    PIX *bw = bilevel(120, 90), *c32 = rgb(64, 40);
    sh_pdf_image g4, fl;
    CHECK(sh_pdf_image_from_pix(bw, &g4, &err) == SH_OK);
    CHECK(sh_pdf_image_from_pix(c32, &fl, &err) == SH_OK);
    const char *good = tpath("good.pdf"), *bad = tpath("bad.pdf");
    sh_pdf *p = NULL;
    CHECK(sh_pdf_open(good, NULL, &p, &err) == SH_OK);
    CHECK(add_page(p, &g4, 200, 0) == SH_OK);
    CHECK(add_page(p, &fl, 100, 1) == SH_OK);
    CHECK(sh_pdf_commit(&p, &err) == SH_OK);
    uint8_t *d = NULL;
    size_t n = 0;
    CHECK(sh_read_file(good, 0, &d, &n, &err) == SH_OK);
    uint8_t *copy = malloc(n);
    unsigned seed = 12345;
    int opened = 0, decoded = 0, refused = 0;
    int level = sh_log_level;
    sh_log_level = SH_LOG_ERROR;
    for (int t = 0; t < 120; t++) {
        memcpy(copy, d, n);
        size_t len = n;
        if (t < 40) {
            len = 16 + (size_t)t * (n - 16) / 40;   /* cut short */
        } else {
            for (int k = 0; k < 1 + t % 7; k++) {   /* bytes changed */
                seed = seed * 1103515245u + 12345u;
                size_t at = (seed >> 8) % n;
                seed = seed * 1103515245u + 12345u;
                copy[at] = (uint8_t)(seed >> 16);
            }
        }
        CHECK(sh_write_atomic(bad, copy, len, &err) == SH_OK);
        sh_scan *s = NULL;
        err.msg[0] = 0;
        int rc = sh_scan_open(bad, NULL, &s, &err);
        CHECKF(contract_ok(bad, rc, s, &err), "try %d: open rc %d %s", t, rc,
               err.msg);
        if (rc)
            continue;
        opened++;
        for (int i = 0; i < sh_scan_frames(s); i++) {
            sh_frame f;
            err.msg[0] = 0;
            rc = sh_scan_read(s, i, &f, &err);
            if (rc == SH_OK) {
                decoded++;
                CHECK(f.pix && pixGetWidth(f.pix) > 0);
            } else {
                refused++;
                CHECKF((rc == SH_EINPUT || rc == SH_ELIMIT) && !f.pix &&
                           strstr(err.msg, bad),
                       "try %d page %d: rc %d %s", t, i, rc, err.msg);
            }
            sh_frame_release(&f);
        }
        sh_scan_close(&s);
    }
    sh_log_level = level;
    printf("     damaged: %d opened, %d pages decoded, %d refused\n", opened,
           decoded, refused);
    free(copy);
    free(d);
    sh_pdf_image_release(&g4);
    sh_pdf_image_release(&fl);
    pixDestroy(&bw);
    pixDestroy(&c32);
    return 0;
}

static int test_candidate(void)
{
    CHECK(sh_scan_is_candidate("hoso.pdf") == 1);
    CHECK(sh_scan_is_candidate("HOSO.PDF") == 1);
    CHECK(sh_scan_is_candidate("._hoso.pdf") == 0);
    CHECK(sh_scan_is_candidate("hoso.pdf.part") == 0);
    return 0;
}

/* ---- ../shared: the real scanner PDFs -------------------------------- */

/* Fraction of black pixels of a 1 bpp pix. */
static double black_frac(PIX *p)
{
    l_int32 c = 0;
    pixCountPixels(p, &c, NULL);
    return (double)c / ((double)pixGetWidth(p) * pixGetHeight(p));
}

/* f's pass-through bytes equal `pdfimages -j` output number idx. */
static int same_as_pdfimages(const char *pdf, int idx, const sh_frame *f)
{
    char dir[600], cmd[2400], jpg[700];
    snprintf(dir, sizeof dir, "%s/pdfimages", sh_test_tmpdir());
    snprintf(cmd, sizeof cmd, "mkdir -p '%s' && pdfimages -j '%s' '%s/im'",
             dir, pdf, dir);
    snprintf(jpg, sizeof jpg, "%s/im-%03d.jpg", dir, idx);
    if (access(jpg, R_OK) != 0 && system(cmd) != 0)
        return 0;
    uint8_t *d = NULL;
    size_t n = 0;
    sh_err err = {0};
    if (sh_read_file(jpg, 0, &d, &n, &err))
        return 0;
    int eq = f->jpeg && f->njpeg == n && !memcmp(f->jpeg, d, n);
    free(d);
    return eq;
}

static int test_vietadmin(void)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s/real/vietnamese/vietadmin", sh_test_shared);
    if (access(dir, R_OK) != 0)
        return SH_SKIP;
    int tools = have_tool("pdfimages");
    static const struct {
        const char *file;
        int pages, dpi, gray1, text, visible;
        const char *codec;
        int w[6], h[6];
        int annots_p1;
    } rows[] = {
        {"1.pdf", 2, 200, 1, 1, 0, "g4", {1660, 1663}, {2342, 2339}, 1},
        {"2.pdf", 2, 300, 0, 0, 0, "jpeg", {2551, 2552}, {4200, 4200}, 0},
        {"3.pdf", 6, 200, 0, 1, 1, "jpeg",
         {1648, 1646, 1648, 1648, 1648, 1646},
         {2315, 2309, 2307, 2309, 2307, 2312}, 1},
    };
    for (size_t r = 0; r < SH_ARRAY_LEN(rows); r++) {
        char path[700];
        snprintf(path, sizeof path, "%s/%s", dir, rows[r].file);
        if (access(path, R_OK) != 0)
            continue;
        sh_err err = {0};
        sh_scan *s = NULL;
        CHECKF(sh_scan_open(path, NULL, &s, &err) == SH_OK, "%s", err.msg);
        CHECK(sh_scan_format(s) == SH_FMT_PDF);
        CHECKF(sh_scan_frames(s) == rows[r].pages, "%s: %d pages",
               rows[r].file, sh_scan_frames(s));
        for (int i = 0; i < rows[r].pages; i++) {
            sh_frame f;
            CHECKF(sh_scan_read(s, i, &f, &err) == SH_OK, "%s", err.msg);
            CHECKF(pixGetWidth(f.pix) == rows[r].w[i] &&
                       pixGetHeight(f.pix) == rows[r].h[i],
                   "%s p%d: %d x %d", rows[r].file, i + 1,
                   pixGetWidth(f.pix), pixGetHeight(f.pix));
            CHECKF(f.xres == rows[r].dpi && f.yres == rows[r].dpi &&
                       !f.dpi_assumed,
                   "%s p%d: %d x %d dpi", rows[r].file, i + 1, f.xres,
                   f.yres);
            CHECK(!strcmp(f.codec, rows[r].codec) && f.tag_rot == 0);
            CHECK(f.had_text_layer == rows[r].text &&
                  f.visible_text == rows[r].visible);
            CHECK(f.annotations == (i == 0 ? rows[r].annots_p1 : 0));
            if (rows[r].gray1) {
                double b = black_frac(f.pix);
                CHECKF(pixGetDepth(f.pix) == 1 && b > 0.02 && b < 0.20,
                       "%s p%d: black %.3f", rows[r].file, i + 1, b);
                CHECK(f.jpeg == NULL);
            } else {
                /* a scan of black text on white paper, in colour */
                CHECK(pixGetDepth(f.pix) == 32 && f.jpeg_components == 3);
                PIX *g = pixConvertRGBToLuminance(f.pix);
                l_float32 mean = 0;
                pixGetAverageMasked(g, NULL, 0, 0, 1, L_MEAN_ABSVAL, &mean);
                pixDestroy(&g);
                CHECKF(mean > 180 && mean < 250, "%s p%d: mean %.1f",
                       rows[r].file, i + 1, mean);
                if (tools)
                    CHECKF(same_as_pdfimages(path, i, &f),
                           "%s p%d: pass-through bytes differ from pdfimages",
                           rows[r].file, i + 1);
            }
            sh_frame_release(&f);
        }
        sh_scan_close(&s);
        if (tools) {   /* next file's pdfimages output */
            char cmd[700];
            snprintf(cmd, sizeof cmd, "rm -rf '%s/pdfimages'",
                     sh_test_tmpdir());
            CHECK(system(cmd) == 0);
        }
    }
    return 0;
}

/* The PDFs of ../shared that are not scans of ours: contract and the
   facts their MANIFEST gives. */
static int test_shared_corpus(void)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s/adversarial/pdf", sh_test_shared);
    if (access(dir, R_OK) != 0)
        return SH_SKIP;
    const char *dirs[] = {"adversarial/pdf", "real/peers/ocrmypdf",
                          "real/peers/leptonica", "real/vietnamese/vietocr3"};
    int files = 0, pages = 0, ok = 0;
    int level = sh_log_level;
    sh_log_level = SH_LOG_ERROR;
    for (size_t k = 0; k < SH_ARRAY_LEN(dirs); k++) {
        char d[700];
        snprintf(d, sizeof d, "%s/%s", sh_test_shared, dirs[k]);
        DIR *dp = opendir(d);
        if (!dp)
            continue;
        struct dirent *e;
        while ((e = readdir(dp))) {
            size_t ln = strlen(e->d_name);
            if (ln < 5 || strcmp(e->d_name + ln - 4, ".pdf"))
                continue;
            char path[1200];
            snprintf(path, sizeof path, "%s/%s", d, e->d_name);
            files++;
            sh_err err = {0};
            sh_scan *s = NULL;
            int rc = sh_scan_open(path, NULL, &s, &err);
            CHECKF(contract_ok(path, rc, s, &err), "%s: %d %s", path, rc,
                   err.msg);
            for (int i = 0; !rc && i < sh_scan_frames(s); i++) {
                sh_frame f;
                int r = sh_scan_read(s, i, &f, &err);
                pages++;
                CHECKF(r == SH_OK ||
                           ((r == SH_EINPUT || r == SH_ELIMIT) && !f.pix &&
                            strstr(err.msg, path)),
                       "%s p%d: %d %s", path, i + 1, r, err.msg);
                ok += r == SH_OK;
                if (!strcmp(e->d_name, "hugemono.pdf"))
                    CHECKF(r == SH_ELIMIT, "%s", err.msg);
                if (!strcmp(e->d_name, "jbig2.pdf") ||
                    !strcmp(e->d_name, "skew.pdf"))   /* jbig2dec */
                    CHECKF(r == SH_OK && pixGetDepth(f.pix) == 1 &&
                               !strcmp(f.codec, "jbig2"),
                           "%s", err.msg);
                if (!strcmp(e->d_name, "aspect.pdf"))
                    CHECKF(r == SH_OK && f.xres == 200 && f.yres == 100,
                           "%d x %d", f.xres, f.yres);
                if (!strcmp(e->d_name, "ccitt.pdf"))
                    CHECKF(r == SH_OK && f.xres == 300 &&
                               pixGetWidth(f.pix) == 2550 &&
                               black_frac(f.pix) < 0.2,
                           "%s", err.msg);
                if (!strcmp(e->d_name, "vietsample1.pdf"))   /* Word */
                    CHECKF(r == SH_OK && !strcmp(f.codec, "rendered") &&
                               f.xres == 300 && pixGetDepth(f.pix) == 8 &&
                               pixGetWidth(f.pix) == 2550 &&   /* Letter */
                               pixGetHeight(f.pix) == 3300,
                           "%s", err.msg);
                sh_frame_release(&f);
            }
            sh_scan_close(&s);
        }
        closedir(dp);
    }
    sh_log_level = level;
    printf("     shared PDFs: %d files, %d pages, %d decoded\n", files, pages,
           ok);
    CHECK(files > 0);
    return 0;
}

const sh_test sh_tests_pdfin[] = {
    {"pdfin/own_writer", test_own_writer},
    {"pdfin/jpeg", test_jpeg},
    {"pdfin/filters", test_filters},
    {"pdfin/ccitt", test_ccitt},
    {"pdfin/geometry", test_geometry},
    {"pdfin/strips", test_strips},
    {"pdfin/text_layer", test_text_layer},
    {"pdfin/render_rule", test_render_rule},
    {"pdfin/render_born_digital", test_render_born_digital},
    {"pdfin/refusals", test_refusals},
    {"pdfin/encrypted", test_encrypted},
    {"pdfin/damaged", test_damaged},
    {"pdfin/candidate", test_candidate},
    {"pdfin/vietadmin", test_vietadmin},
    {"pdfin/shared_corpus", test_shared_corpus},
    {NULL, NULL},
};
