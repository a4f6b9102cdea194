/*
 * test_tiffjpeg.c — JPEG-in-TIFF (compression 7) passed through as DCT:
 * scanners/tiff_jpeg.c through sh_scan_read and ocr/pdf_image.c.
 *
 * The TIFFs are written here with libtiff (one strip or several; gray,
 * YCbCr and RGB), read as the worker reads them, and the pass-through
 * bytes are decoded again with libjpeg and compared with what libtiff
 * itself decodes from the file.
 */
#include "test.h"
#include "../base/common.h"
#include "../ocr/pdf.h"
#include "../scanners/scan.h"

#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <tiffio.h>

static const char *jpath(const char *name)
{
    static char buf[4][512];
    static int i;
    i = (i + 1) % 4;
    snprintf(buf[i], sizeof buf[i], "%s/%s", sh_test_tmpdir(), name);
    return buf[i];
}

/* A page with smooth and sharp parts: a gradient, a dark block, red ink. */
static void pattern(int x, int y, int w, int h, uint8_t rgb[3])
{
    int v = 200 + (x * 40) / w;
    rgb[0] = rgb[1] = rgb[2] = (uint8_t)(v > 255 ? 255 : v);
    if (x > w / 8 && x < w / 2 && y > h / 8 && y < h / 3)
        rgb[0] = rgb[1] = rgb[2] = 20;
    if ((x / 3 + y / 5) % 7 == 0 && y > h / 2) {
        rgb[0] = 200;
        rgb[1] = 30;
        rgb[2] = 40;
    }
}

/* spp 1 (MinIsBlack) or 3 (photo YCbCr or RGB); rps = rows per strip. */
static int write_jtiff(const char *path, int w, int h, int spp, int photo,
                       int rps)
{
    TIFF *t = TIFFOpen(path, "w");
    if (!t)
        return -1;
    TIFFSetField(t, TIFFTAG_IMAGEWIDTH, w);
    TIFFSetField(t, TIFFTAG_IMAGELENGTH, h);
    TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 8);
    TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, spp);
    TIFFSetField(t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
    TIFFSetField(t, TIFFTAG_COMPRESSION, COMPRESSION_JPEG);
    TIFFSetField(t, TIFFTAG_PHOTOMETRIC, photo);
    if (photo == PHOTOMETRIC_YCBCR)
        TIFFSetField(t, TIFFTAG_JPEGCOLORMODE, JPEGCOLORMODE_RGB);
    TIFFSetField(t, TIFFTAG_JPEGQUALITY, 85);
    TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, rps);
    TIFFSetField(t, TIFFTAG_XRESOLUTION, 300.0f);
    TIFFSetField(t, TIFFTAG_YRESOLUTION, 300.0f);
    TIFFSetField(t, TIFFTAG_RESOLUTIONUNIT, RESUNIT_INCH);
    uint8_t *row = malloc((size_t)w * spp);
    int ok = row != NULL;
    for (int y = 0; ok && y < h; y++) {
        for (int x = 0; x < w; x++) {
            uint8_t c[3];
            pattern(x, y, w, h, c);
            if (spp == 1)
                row[x] = c[1];
            else
                memcpy(row + 3 * x, c, 3);
        }
        ok = TIFFWriteScanline(t, row, (uint32_t)y, 0) >= 0;
    }
    free(row);
    ok = ok && TIFFWriteDirectory(t);
    TIFFClose(t);
    return ok ? 0 : -1;
}

/* libtiff's own decode of frame 0, as RGBA rows top to bottom. */
static uint32_t *libtiff_rgba(const char *path, int *w, int *h)
{
    TIFF *t = TIFFOpen(path, "r");
    if (!t)
        return NULL;
    uint32_t tw = 0, th = 0;
    TIFFGetField(t, TIFFTAG_IMAGEWIDTH, &tw);
    TIFFGetField(t, TIFFTAG_IMAGELENGTH, &th);
    uint32_t *px = malloc((size_t)tw * th * 4);
    if (px && !TIFFReadRGBAImageOriented(t, tw, th, px, ORIENTATION_TOPLEFT,
                                         0)) {
        free(px);
        px = NULL;
    }
    TIFFClose(t);
    *w = (int)tw;
    *h = (int)th;
    return px;
}

/* libjpeg's decode of the pass-through bytes: RGB or gray rows. */
typedef struct jerr_t {
    struct jpeg_error_mgr pub;
    jmp_buf jb;
} jerr_t;

static void jerr_exit(j_common_ptr c)
{
    longjmp(((jerr_t *)c->err)->jb, 1);
}

static uint8_t *jpeg_pixels(const uint8_t *b, size_t n, int *w, int *h,
                            int *nc)
{
    struct jpeg_decompress_struct ci;
    jerr_t je;
    uint8_t *volatile out = NULL;
    ci.err = jpeg_std_error(&je.pub);
    je.pub.error_exit = jerr_exit;
    if (setjmp(je.jb)) {
        jpeg_destroy_decompress(&ci);
        free(out);
        return NULL;
    }
    jpeg_create_decompress(&ci);
    jpeg_mem_src(&ci, b, (unsigned long)n);
    jpeg_read_header(&ci, TRUE);
    jpeg_start_decompress(&ci);
    *w = (int)ci.output_width;
    *h = (int)ci.output_height;
    *nc = ci.output_components;
    size_t stride = (size_t)*w * *nc;
    out = malloc(stride * *h);
    while (out && ci.output_scanline < ci.output_height) {
        JSAMPROW r = out + stride * ci.output_scanline;
        jpeg_read_scanlines(&ci, &r, 1);
    }
    jpeg_finish_decompress(&ci);
    jpeg_destroy_decompress(&ci);
    return out;
}

/* Largest channel difference between f's pix and libtiff's decode. */
static int diff_libtiff(PIX *pix, const uint32_t *ref)
{
    int w = pixGetWidth(pix), h = pixGetHeight(pix), d = pixGetDepth(pix);
    int maxd = 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint32_t v = ref[(size_t)y * w + x];
            int r = (int)TIFFGetR(v), g = (int)TIFFGetG(v),
                b = (int)TIFFGetB(v);
            l_uint32 p = 0;
            pixGetPixel(pix, x, y, &p);
            int pr, pg, pb;
            if (d == 8) {
                pr = pg = pb = (int)p;
            } else {
                l_int32 a, bb, c;
                extractRGBValues(p, &a, &bb, &c);
                pr = a, pg = bb, pb = c;
            }
            int dd[3] = {abs(pr - r), abs(pg - g), abs(pb - b)};
            for (int k = 0; k < 3; k++)
                if (dd[k] > maxd)
                    maxd = dd[k];
        }
    return maxd;
}

/* Pixels of the pass-through bytes against f's pix: the same decoder on
   the same data, so equal. */
static int same_as_jpeg(PIX *pix, const uint8_t *b, size_t n, int want_nc)
{
    int w, h, nc;
    uint8_t *px = jpeg_pixels(b, n, &w, &h, &nc);
    if (!px)
        return 0;
    int ok = w == pixGetWidth(pix) && h == pixGetHeight(pix) &&
             nc == want_nc;
    for (int y = 0; ok && y < h; y++)
        for (int x = 0; ok && x < w; x++) {
            l_uint32 p = 0;
            pixGetPixel(pix, x, y, &p);
            const uint8_t *q = px + ((size_t)y * w + x) * nc;
            if (nc == 1) {
                ok = p == q[0];
            } else {
                l_int32 r, g, bl;
                extractRGBValues(p, &r, &g, &bl);
                ok = r == q[0] && g == q[1] && bl == q[2];
            }
        }
    free(px);
    return ok;
}

/* One strip, gray and YCbCr: DCT pass-through whose bytes decode to the
   frame, equal to libtiff's decode; the worker's gray read passes the
   same bytes; the PDF image is DCT and survives the hand-off file. */
static int test_tiffjpeg_one_strip(void)
{
    static const struct { int spp, photo, w, h; } rows[] = {
        {1, PHOTOMETRIC_MINISBLACK, 203, 151},
        {3, PHOTOMETRIC_YCBCR, 240, 176},
        {3, PHOTOMETRIC_YCBCR, 203, 151},   /* not a multiple of the MCU */
    };
    for (size_t i = 0; i < SH_ARRAY_LEN(rows); i++) {
        const char *path = jpath("one.tif");
        int w = rows[i].w, h = rows[i].h;
        CHECK(write_jtiff(path, w, h, rows[i].spp, rows[i].photo, h) == 0);
        sh_err err = {0};
        sh_scan *s = NULL;
        CHECKF(sh_scan_open(path, NULL, &s, &err) == SH_OK, "%s", err.msg);
        sh_frame f;
        CHECKF(sh_scan_read(s, 0, &f, &err) == SH_OK, "row %zu: %s", i,
               err.msg);
        CHECKF(f.jpeg && f.njpeg > 100, "row %zu: no pass-through", i);
        CHECK(f.jpeg_components == rows[i].spp);
        CHECK(strcmp(f.codec, "jpeg") == 0 && f.xres == 300);
        CHECK(pixGetWidth(f.pix) == w && pixGetHeight(f.pix) == h);
        CHECK(pixGetDepth(f.pix) == (rows[i].spp == 1 ? 8 : 32));
        CHECKF(same_as_jpeg(f.pix, f.jpeg, f.njpeg, rows[i].spp),
               "row %zu: pass-through bytes decode otherwise", i);
        int rw, rh;
        uint32_t *ref = libtiff_rgba(path, &rw, &rh);
        CHECK(ref && rw == w && rh == h);
        int md = diff_libtiff(f.pix, ref);
        free(ref);
        /* the same data through the same libjpeg: identical */
        CHECKF(md == 0, "row %zu: %d from libtiff's decode", i, md);

        sh_pdf_image pi = {0};
        CHECKF(sh_pdf_image_from_jpeg(f.jpeg, f.njpeg, &pi, &err) == SH_OK,
               "%s", err.msg);
        CHECK(pi.filter == SH_PDF_DCT && pi.w == w && pi.h == h &&
              pi.ncomp == rows[i].spp && pi.n == f.njpeg);
        const char *img = jpath("one.img");
        CHECKF(sh_pdf_image_save(&pi, img, &err) == SH_OK, "%s", err.msg);
        sh_pdf_image back = {0};
        CHECKF(sh_pdf_image_load(img, &back, &err) == SH_OK, "%s", err.msg);
        CHECK(back.filter == SH_PDF_DCT && back.n == pi.n &&
              memcmp(back.data, f.jpeg, back.n) == 0);
        sh_pdf_image_release(&back);
        sh_pdf_image_release(&pi);

        /* as the worker reads it: gray for prep, the same bytes */
        sh_frame g;
        CHECKF(sh_scan_read_gray(s, 0, &g, &err) == SH_OK, "%s", err.msg);
        CHECK(pixGetDepth(g.pix) == 8);
        CHECK(g.gray_of_colour == (rows[i].spp == 3));
        CHECK(g.jpeg && g.njpeg == f.njpeg &&
              memcmp(g.jpeg, f.jpeg, f.njpeg) == 0);
        sh_frame_release(&g);
        sh_frame_release(&f);
        sh_scan_close(&s);
    }
    return 0;
}

/* Several strips, and RGB-coded strips (which a PDF reader would take for
   YCbCr): decoded as before, no pass-through, pixels right. */
static int test_tiffjpeg_old_path(void)
{
    static const struct { int spp, photo, rps; } rows[] = {
        {3, PHOTOMETRIC_YCBCR, 16},
        {1, PHOTOMETRIC_MINISBLACK, 32},
        {3, PHOTOMETRIC_RGB, 1000},
    };
    for (size_t i = 0; i < SH_ARRAY_LEN(rows); i++) {
        const char *path = jpath("old.tif");
        int w = 160, h = 120;
        CHECK(write_jtiff(path, w, h, rows[i].spp, rows[i].photo,
                          rows[i].rps) == 0);
        sh_err err = {0};
        sh_scan *s = NULL;
        CHECKF(sh_scan_open(path, NULL, &s, &err) == SH_OK, "%s", err.msg);
        sh_frame f;
        CHECKF(sh_scan_read(s, 0, &f, &err) == SH_OK, "row %zu: %s", i,
               err.msg);
        CHECKF(f.jpeg == NULL, "row %zu: passed through", i);
        CHECK(strcmp(f.codec, "jpeg") == 0);
        CHECK(pixGetWidth(f.pix) == w && pixGetHeight(f.pix) == h);
        int rw, rh;
        uint32_t *ref = libtiff_rgba(path, &rw, &rh);
        CHECK(ref);
        int md = diff_libtiff(f.pix, ref);
        free(ref);
        CHECKF(md == 0, "row %zu: %d from libtiff's decode", i, md);
        sh_frame_release(&f);
        sh_scan_close(&s);
    }
    return 0;
}

/* A damaged strip: an error naming the file and the frame, never a
   frame (and so never a PDF) made of it. */
static int test_tiffjpeg_corrupt(void)
{
    const char *path = jpath("bad.tif");
    CHECK(write_jtiff(path, 240, 176, 3, PHOTOMETRIC_YCBCR, 176) == 0);
    TIFF *t = TIFFOpen(path, "r");
    CHECK(t);
    uint64_t *off = NULL, *cnt = NULL;
    CHECK(TIFFGetField(t, TIFFTAG_STRIPOFFSETS, &off));
    CHECK(TIFFGetField(t, TIFFTAG_STRIPBYTECOUNTS, &cnt));
    uint64_t o = off[0], c = cnt[0];
    TIFFClose(t);
    CHECK(c > 400);
    FILE *fp = fopen(path, "r+b");
    CHECK(fp);
    /* an end-of-image marker in the middle of the entropy-coded data */
    uint8_t junk[64];
    for (size_t k = 0; k < sizeof junk; k += 2)
        junk[k] = 0xFF, junk[k + 1] = 0xD9;
    CHECK(fseek(fp, (long)(o + c / 2), SEEK_SET) == 0);
    CHECK(fwrite(junk, 1, sizeof junk, fp) == sizeof junk);
    fclose(fp);

    sh_err err = {0};
    sh_scan *s = NULL;
    CHECKF(sh_scan_open(path, NULL, &s, &err) == SH_OK, "%s", err.msg);
    sh_frame f;
    int rc = sh_scan_read(s, 0, &f, &err);
    CHECKF(rc == SH_EINPUT, "rc %d", rc);
    CHECK(f.pix == NULL && f.jpeg == NULL);
    CHECKF(strstr(err.msg, path) && strstr(err.msg, "frame 1 of 1"), "%s",
           err.msg);
    sh_scan_close(&s);
    return 0;
}

const sh_test sh_tests_tiffjpeg[] = {
    {"tiffjpeg_one_strip", test_tiffjpeg_one_strip},
    {"tiffjpeg_old_path", test_tiffjpeg_old_path},
    {"tiffjpeg_corrupt", test_tiffjpeg_corrupt},
    {NULL, NULL},
};
