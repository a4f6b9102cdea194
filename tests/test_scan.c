/*
 * test_scan.c — scanners/scan.c: format sniffing, limits, TIFF/JPEG/PNG
 * decoding, resolution and orientation tags, damaged input.
 *
 * Fixtures are written at test time into sh_test_tmpdir() with libtiff,
 * libjpeg and libpng directly (so every tag is exactly what the test
 * says).  Drawings: the top-left quadrant is "ink" (black, dark or red),
 * the rest paper, so a reader that flips, inverts or mis-orders rows
 * fails on pixel values.  Tests that use ../shared skip when it is absent.
 */
#include "test.h"
#include "../scanners/scan.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jpeglib.h>
#include <png.h>
#include <tiffio.h>

static const char *tpath(const char *name)
{
    static char buf[8][512];
    static int i;
    i = (i + 1) % 8;
    snprintf(buf[i], sizeof buf[i], "%s/%s", sh_test_tmpdir(), name);
    return buf[i];
}

static int ink(int x, int y, int w, int h)
{
    return x < w / 2 && y < h / 2;
}

/* ---- TIFF fixtures ------------------------------------------------ */

typedef struct tpage {
    int w, h, bps, spp, photo, comp;
    double xres, yres;   /* 0 = no tags */
    int unit;            /* RESUNIT_* (0 = not written) */
    int orient;          /* 0 = not written */
    int tile;            /* tile side, 0 = strips */
    int alpha;           /* spp==4 RGBA: unassociated alpha */
} tpage;

/* Sample value for (x,y,c) of a page, in the file's own terms. */
static unsigned tsample(const tpage *p, int x, int y, int c)
{
    int k = ink(x, y, p->w, p->h);
    unsigned max = (1u << p->bps) - 1;
    switch (p->photo) {
    case PHOTOMETRIC_MINISWHITE:
        return k ? max : 0;
    case PHOTOMETRIC_MINISBLACK:
        return k ? max / 10 : max - max / 10;
    case PHOTOMETRIC_PALETTE:
        return k ? 0 : 1;
    default: {   /* RGB(A) */
        static const unsigned red[4] = {200, 30, 40, 255};
        if (c == 3)   /* alpha: ink opaque, paper transparent black */
            return k ? max : 0;
        if (p->spp == 4 && !k)
            return 0;
        unsigned v8 = k ? red[c] : 250;
        return p->bps == 16 ? v8 * 257 : v8;
    }
    }
}

static void put_sample(uint8_t *row, int bps, size_t i, unsigned v)
{
    if (bps == 8) {
        row[i] = (uint8_t)v;
    } else if (bps == 16) {
        uint16_t s = (uint16_t)v;
        memcpy(row + 2 * i, &s, 2);
    } else {
        size_t bit = i * bps;
        row[bit >> 3] |= (uint8_t)(v << (8 - bps - (bit & 7)));
    }
}

static int write_tiff(const char *path, const tpage *pages, int n)
{
    TIFF *t = TIFFOpen(path, "w");
    if (!t)
        return -1;
    for (int i = 0; i < n; i++) {
        const tpage *p = &pages[i];
        TIFFSetField(t, TIFFTAG_IMAGEWIDTH, p->w);
        TIFFSetField(t, TIFFTAG_IMAGELENGTH, p->h);
        TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, p->bps);
        TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, p->spp);
        TIFFSetField(t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
        TIFFSetField(t, TIFFTAG_COMPRESSION, p->comp);
        if (p->spp == 4) {
            uint16_t ex = EXTRASAMPLE_UNASSALPHA;
            TIFFSetField(t, TIFFTAG_EXTRASAMPLES, 1, &ex);
        }
        if (p->comp == COMPRESSION_JPEG) {
            TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_YCBCR);
            TIFFSetField(t, TIFFTAG_JPEGCOLORMODE, JPEGCOLORMODE_RGB);
            TIFFSetField(t, TIFFTAG_JPEGQUALITY, 90);
        } else {
            TIFFSetField(t, TIFFTAG_PHOTOMETRIC, p->photo);
        }
        if (p->photo == PHOTOMETRIC_PALETTE) {
            uint16_t r[256] = {0}, g[256] = {0}, b[256] = {0};
            /* index 0 = ink, 1 = paper: 1-bit black/white, else red */
            if (p->bps != 1)
                r[0] = 200 * 257, g[0] = 30 * 257, b[0] = 40 * 257;
            r[1] = g[1] = b[1] = 65535;
            TIFFSetField(t, TIFFTAG_COLORMAP, r, g, b);
        }
        if (p->xres > 0)
            TIFFSetField(t, TIFFTAG_XRESOLUTION, (float)p->xres);
        if (p->yres > 0)
            TIFFSetField(t, TIFFTAG_YRESOLUTION, (float)p->yres);
        if (p->unit)
            TIFFSetField(t, TIFFTAG_RESOLUTIONUNIT, p->unit);
        if (p->orient)
            TIFFSetField(t, TIFFTAG_ORIENTATION, p->orient);
        size_t rowbytes = ((size_t)p->w * p->bps * p->spp + 7) / 8;
        if (p->tile) {
            TIFFSetField(t, TIFFTAG_TILEWIDTH, p->tile);
            TIFFSetField(t, TIFFTAG_TILELENGTH, p->tile);
            size_t tb = ((size_t)p->tile * p->bps * p->spp + 7) / 8;
            uint8_t *buf = calloc(tb * p->tile, 1);
            for (int ty = 0; ty < p->h; ty += p->tile)
                for (int tx = 0; tx < p->w; tx += p->tile) {
                    memset(buf, 0, tb * p->tile);
                    for (int y = 0; y < p->tile; y++)
                        for (int x = 0; x < p->tile; x++)
                            for (int c = 0; c < p->spp; c++) {
                                int X = tx + x, Y = ty + y;
                                unsigned v = X < p->w && Y < p->h
                                                 ? tsample(p, X, Y, c) : 0;
                                put_sample(buf + y * tb, p->bps,
                                           (size_t)x * p->spp + c, v);
                            }
                    if (TIFFWriteTile(t, buf, tx, ty, 0, 0) < 0)
                        return free(buf), TIFFClose(t), -1;
                }
            free(buf);
        } else {
            TIFFSetField(t, TIFFTAG_ROWSPERSTRIP,
                         p->comp == COMPRESSION_JPEG ? 16 : p->h);
            uint8_t *row = calloc(rowbytes, 1);
            for (int y = 0; y < p->h; y++) {
                memset(row, 0, rowbytes);
                for (int x = 0; x < p->w; x++)
                    for (int c = 0; c < p->spp; c++)
                        put_sample(row, p->bps, (size_t)x * p->spp + c,
                                   tsample(p, x, y, c));
                if (TIFFWriteScanline(t, row, y, 0) < 0)
                    return free(row), TIFFClose(t), -1;
            }
            free(row);
        }
        if (!TIFFWriteDirectory(t))
            return TIFFClose(t), -1;
    }
    TIFFClose(t);
    return 0;
}

/* ---- checks on decoded frames ------------------------------------- */

static unsigned gray_at(PIX *p, int x, int y)
{
    l_uint32 v = 0;
    pixGetPixel(p, x, y, &v);
    if (pixGetDepth(p) == 32) {
        l_int32 r, g, b;
        extractRGBValues(v, &r, &g, &b);
        return (unsigned)(r + g + b) / 3;
    }
    if (pixGetDepth(p) == 1)
        return v ? 0 : 255;
    return v;
}

/* ink quadrant dark, paper light (or for colour: red ink, light paper) */
static int drawing_ok(PIX *p)
{
    int w = pixGetWidth(p), h = pixGetHeight(p);
    unsigned a = gray_at(p, 1, 1), b = gray_at(p, w - 2, h - 2),
             c = gray_at(p, w - 2, 1), d = gray_at(p, 1, h - 2);
    if (pixGetDepth(p) == 32) {
        l_uint32 v;
        l_int32 r, g, bl;
        pixGetPixel(p, 1, 1, &v);
        extractRGBValues(v, &r, &g, &bl);
        if (!(r > 150 && g < 90 && bl < 90))
            return 0;
        return b > 200 && c > 200 && d > 200;
    }
    return a < 60 && b > 200 && c > 200 && d > 200;
}

static int read_frame(const char *path, int n, sh_frame *f, sh_err *err)
{
    sh_scan *s = NULL;
    int rc = sh_scan_open(path, NULL, &s, err);
    if (!rc)
        rc = sh_scan_read(s, n, f, err);
    sh_scan_close(&s);
    return rc;
}

/* ---- TIFF tests ---------------------------------------------------- */

static int test_tiff_multipage(void)
{
    const tpage pages[3] = {
        {.w = 200, .h = 120, .bps = 1, .spp = 1,
         .photo = PHOTOMETRIC_MINISWHITE, .comp = COMPRESSION_CCITTFAX4,
         .xres = 300, .yres = 300, .unit = RESUNIT_INCH},
        /* 78.74 px/cm = 200 ppi */
        {.w = 150, .h = 100, .bps = 8, .spp = 1,
         .photo = PHOTOMETRIC_MINISBLACK, .comp = COMPRESSION_LZW,
         .xres = 78.74, .yres = 78.74, .unit = RESUNIT_CENTIMETER},
        {.w = 90, .h = 70, .bps = 8, .spp = 3, .photo = PHOTOMETRIC_RGB,
         .comp = COMPRESSION_PACKBITS, .xres = 400, .yres = 600,
         .unit = RESUNIT_INCH},
    };
    const char *path = tpath("three.tif");
    CHECK(write_tiff(path, pages, 3) == 0);

    sh_err err = {0};
    sh_scan *s = NULL;
    CHECKF(sh_scan_open(path, NULL, &s, &err) == SH_OK, "%s", err.msg);
    CHECK(sh_scan_format(s) == SH_FMT_TIFF);
    CHECK(sh_scan_frames(s) == 3);
    static const struct { int depth, xres, yres; const char *codec; } want[3] = {
        {1, 300, 300, "g4"}, {8, 200, 200, "lzw"}, {32, 400, 600, "packbits"}};
    /* read out of order: each frame stands alone */
    static const int order[3] = {2, 0, 1};
    for (int k = 0; k < 3; k++) {
        int i = order[k];
        sh_frame f;
        CHECKF(sh_scan_read(s, i, &f, &err) == SH_OK, "%s", err.msg);
        CHECKF(pixGetDepth(f.pix) == want[i].depth, "frame %d depth %d", i,
               pixGetDepth(f.pix));
        CHECK(pixGetWidth(f.pix) == pages[i].w);
        CHECK(pixGetHeight(f.pix) == pages[i].h);
        CHECKF(f.xres == want[i].xres && f.yres == want[i].yres,
               "frame %d res %d x %d", i, f.xres, f.yres);
        CHECK(!f.dpi_assumed);
        CHECKF(strcmp(f.codec, want[i].codec) == 0, "codec %s", f.codec);
        CHECK(f.tag_rot == 0 && !f.tag_mirror);
        CHECK(f.jpeg == NULL);
        CHECK(pixGetColormap(f.pix) == NULL);
        CHECKF(drawing_ok(f.pix), "frame %d drawing", i);
        sh_frame_release(&f);
        CHECK(f.pix == NULL);
    }
    sh_frame f;
    CHECK(sh_scan_read(s, 3, &f, &err) == SH_EUSAGE);
    CHECK(sh_scan_read(s, -1, &f, &err) == SH_EUSAGE);
    sh_scan_close(&s);
    CHECK(s == NULL);
    sh_scan_close(&s);   /* NULL-safe */
    return 0;
}

/* Photometric and sample layouts: each page must come out with the ink
   black/dark/red in its top-left quadrant. */
static int test_tiff_layouts(void)
{
    static const struct { tpage p; int depth; } rows[] = {
        /* 1-bit MinIsBlack: 0 = black in the file, 1 = black in the PIX */
        {{.w = 33, .h = 20, .bps = 1, .spp = 1, .photo = PHOTOMETRIC_MINISBLACK,
          .comp = COMPRESSION_NONE}, 1},
        {{.w = 64, .h = 20, .bps = 1, .spp = 1, .photo = PHOTOMETRIC_MINISWHITE,
          .comp = COMPRESSION_CCITTFAX3}, 1},
        {{.w = 40, .h = 30, .bps = 8, .spp = 1, .photo = PHOTOMETRIC_MINISWHITE,
          .comp = COMPRESSION_ADOBE_DEFLATE}, 8},
        {{.w = 41, .h = 30, .bps = 4, .spp = 1, .photo = PHOTOMETRIC_MINISBLACK,
          .comp = COMPRESSION_NONE}, 8},
        {{.w = 40, .h = 30, .bps = 16, .spp = 1, .photo = PHOTOMETRIC_MINISBLACK,
          .comp = COMPRESSION_NONE}, 8},
        {{.w = 40, .h = 30, .bps = 16, .spp = 3, .photo = PHOTOMETRIC_RGB,
          .comp = COMPRESSION_LZW}, 32},
        /* palette: 1-bit black/white → 1 bpp; 8-bit with red → 32 bpp */
        {{.w = 40, .h = 30, .bps = 1, .spp = 1, .photo = PHOTOMETRIC_PALETTE,
          .comp = COMPRESSION_PACKBITS}, 1},
        {{.w = 40, .h = 30, .bps = 8, .spp = 1, .photo = PHOTOMETRIC_PALETTE,
          .comp = COMPRESSION_LZW}, 32},
        /* through libtiff's RGBA path: tiles, JPEG-in-TIFF, alpha */
        {{.w = 40, .h = 36, .bps = 8, .spp = 1, .photo = PHOTOMETRIC_MINISBLACK,
          .comp = COMPRESSION_LZW, .tile = 16}, 8},
        {{.w = 40, .h = 36, .bps = 1, .spp = 1, .photo = PHOTOMETRIC_MINISWHITE,
          .comp = COMPRESSION_CCITTFAX4, .tile = 16}, 1},
        {{.w = 64, .h = 48, .bps = 8, .spp = 3, .photo = PHOTOMETRIC_RGB,
          .comp = COMPRESSION_JPEG}, 32},
        {{.w = 40, .h = 30, .bps = 8, .spp = 4, .photo = PHOTOMETRIC_RGB,
          .comp = COMPRESSION_NONE}, 32},
        /* tiles through our own reader: 16-bit RGB, 4-bit palette,
           uncompressed */
        {{.w = 40, .h = 36, .bps = 16, .spp = 3, .photo = PHOTOMETRIC_RGB,
          .comp = COMPRESSION_ADOBE_DEFLATE, .tile = 16}, 32},
        {{.w = 40, .h = 36, .bps = 4, .spp = 1, .photo = PHOTOMETRIC_PALETTE,
          .comp = COMPRESSION_NONE, .tile = 16}, 32},
    };
    for (size_t i = 0; i < SH_ARRAY_LEN(rows); i++) {
        char name[64];
        snprintf(name, sizeof name, "layout%zu.tif", i);
        const char *path = tpath(name);
        CHECKF(write_tiff(path, &rows[i].p, 1) == 0, "row %zu", i);
        sh_frame f;
        sh_err err = {0};
        CHECKF(read_frame(path, 0, &f, &err) == SH_OK, "row %zu: %s", i,
               err.msg);
        CHECKF(pixGetDepth(f.pix) == rows[i].depth, "row %zu: depth %d", i,
               pixGetDepth(f.pix));
        CHECK(pixGetWidth(f.pix) == rows[i].p.w);
        CHECK(pixGetHeight(f.pix) == rows[i].p.h);
        CHECK(pixGetColormap(f.pix) == NULL);
        if (rows[i].p.spp == 4) {
            /* transparent paper composited on white */
            l_uint32 v;
            pixGetPixel(f.pix, rows[i].p.w - 2, rows[i].p.h - 2, &v);
            CHECKF(v >> 8 == 0xffffff, "row %zu: %08x", i, (unsigned)v);
        }
        CHECKF(drawing_ok(f.pix), "row %zu: drawing", i);
        if (pixGetDepth(f.pix) == 1) {
            /* ink is exactly the top-left quadrant */
            l_int32 count = 0;
            pixCountPixels(f.pix, &count, NULL);
            int w = rows[i].p.w, h = rows[i].p.h;
            CHECKF(count == (w / 2) * (h / 2), "row %zu: %d black", i, count);
        }
        sh_frame_release(&f);
    }
    return 0;
}

static int test_tiff_orientation(void)
{
    static const struct { int tag, rot, mirror; } rows[] = {
        {1, 0, 0}, {2, 0, 1}, {3, 180, 0}, {4, 180, 1},
        {5, 90, 1}, {6, 90, 0}, {7, 270, 1}, {8, 270, 0},
    };
    tpage pages[8];
    for (int i = 0; i < 8; i++)
        pages[i] = (tpage){.w = 40, .h = 30, .bps = 8, .spp = 1,
                           .photo = PHOTOMETRIC_MINISBLACK,
                           .comp = COMPRESSION_LZW, .orient = rows[i].tag};
    const char *path = tpath("orient.tif");
    CHECK(write_tiff(path, pages, 8) == 0);
    sh_err err = {0};
    sh_scan *s = NULL;
    CHECKF(sh_scan_open(path, NULL, &s, &err) == SH_OK, "%s", err.msg);
    CHECK(sh_scan_frames(s) == 8);
    for (int i = 0; i < 8; i++) {
        sh_frame f;
        CHECKF(sh_scan_read(s, i, &f, &err) == SH_OK, "%s", err.msg);
        CHECKF(f.tag_rot == rows[i].rot && f.tag_mirror == rows[i].mirror,
               "tag %d: rot %d mirror %d", rows[i].tag, f.tag_rot,
               f.tag_mirror);
        /* stored pixels, tag not applied */
        CHECK(pixGetWidth(f.pix) == 40 && drawing_ok(f.pix));
        sh_frame_release(&f);
    }
    sh_scan_close(&s);

    /* the same through libtiff's RGBA path (alpha, JPEG-in-TIFF) and our
       tile reader: still the stored rows */
    static const tpage others[] = {
        {.w = 40, .h = 32, .bps = 8, .spp = 4, .photo = PHOTOMETRIC_RGB,
         .comp = COMPRESSION_LZW, .orient = 6},
        {.w = 48, .h = 32, .bps = 8, .spp = 3, .photo = PHOTOMETRIC_RGB,
         .comp = COMPRESSION_JPEG, .orient = 8},
        {.w = 40, .h = 32, .bps = 8, .spp = 3, .photo = PHOTOMETRIC_RGB,
         .comp = COMPRESSION_NONE, .orient = 3, .tile = 16},
    };
    static const int rot[] = {90, 270, 180};
    for (size_t i = 0; i < SH_ARRAY_LEN(others); i++) {
        path = tpath("orient-other.tif");
        CHECK(write_tiff(path, &others[i], 1) == 0);
        sh_frame f;
        CHECKF(read_frame(path, 0, &f, &err) == SH_OK, "%s", err.msg);
        CHECKF(f.tag_rot == rot[i] && drawing_ok(f.pix), "case %zu", i);
        sh_frame_release(&f);
    }
    return 0;
}

static int test_tiff_resolution(void)
{
    static const struct { double x, y; int unit, want_x, want_y, assumed; } rows[] = {
        {0, 0, 0, 300, 300, 1},                     /* no tags */
        {10, 10, RESUNIT_INCH, 300, 300, 1},        /* absurd */
        {9000, 9000, RESUNIT_INCH, 300, 300, 1},    /* absurd */
        {300, 300, RESUNIT_NONE, 300, 300, 1},      /* aspect only */
        {118.11, 118.11, RESUNIT_CENTIMETER, 300, 300, 0},
        {600, 0, RESUNIT_INCH, 600, 600, 0},        /* one axis given */
        {200, 400, 0, 200, 400, 0},                 /* unit defaults to inch */
        /* 72 "dpi" on a 4000 px page would be 55 inches: not believed */
        {72, 72, RESUNIT_INCH, 300, 300, 1},
    };
    for (size_t i = 0; i < SH_ARRAY_LEN(rows); i++) {
        tpage p = {.w = i == 7 ? 4000 : 40, .h = 30, .bps = 1, .spp = 1,
                   .photo = PHOTOMETRIC_MINISWHITE,
                   .comp = COMPRESSION_CCITTFAX4, .xres = rows[i].x,
                   .yres = rows[i].y, .unit = rows[i].unit};
        const char *path = tpath("res.tif");
        CHECK(write_tiff(path, &p, 1) == 0);
        sh_frame f;
        sh_err err = {0};
        CHECKF(read_frame(path, 0, &f, &err) == SH_OK, "%s", err.msg);
        CHECKF(f.xres == rows[i].want_x && f.yres == rows[i].want_y &&
                   f.dpi_assumed == rows[i].assumed,
               "row %zu: %d x %d assumed %d", i, f.xres, f.yres,
               f.dpi_assumed);
        l_int32 px, py;
        pixGetResolution(f.pix, &px, &py);
        CHECK(px == f.xres && py == f.yres);
        sh_frame_release(&f);
    }
    /* 72 ppi on a small image is believable */
    tpage p = {.w = 400, .h = 300, .bps = 8, .spp = 1,
               .photo = PHOTOMETRIC_MINISBLACK, .comp = COMPRESSION_NONE,
               .xres = 72, .yres = 72, .unit = RESUNIT_INCH};
    const char *path = tpath("res72.tif");
    CHECK(write_tiff(path, &p, 1) == 0);
    sh_frame f;
    sh_err err = {0};
    CHECK(read_frame(path, 0, &f, &err) == SH_OK);
    CHECK(f.xres == 72 && !f.dpi_assumed);
    sh_frame_release(&f);
    return 0;
}

/* Damage the strip of frame `n` of a TIFF in place. */
static int damage_strip(const char *path, int n)
{
    TIFF *t = TIFFOpen(path, "r");
    if (!t || !TIFFSetDirectory(t, (tdir_t)n))
        return -1;
    uint64_t *off = NULL, *cnt = NULL;
    TIFFGetField(t, TIFFTAG_STRIPOFFSETS, &off);
    TIFFGetField(t, TIFFTAG_STRIPBYTECOUNTS, &cnt);
    uint64_t o = off[0], c = cnt[0];
    TIFFClose(t);
    FILE *fp = fopen(path, "r+b");
    if (!fp || c < 8 || fseek(fp, (long)o + 2, SEEK_SET) != 0)
        return -1;
    for (uint64_t i = 2; i < c; i++)
        fputc(i & 1 ? 0xff : 0x00, fp);
    return fclose(fp);
}

static int test_tiff_bad_frame(void)
{
    tpage pages[3];
    for (int i = 0; i < 3; i++)
        pages[i] = (tpage){.w = 300, .h = 200, .bps = 1, .spp = 1,
                           .photo = PHOTOMETRIC_MINISWHITE,
                           .comp = COMPRESSION_CCITTFAX4, .xres = 300,
                           .yres = 300, .unit = RESUNIT_INCH};
    pages[1].bps = 8;
    pages[1].photo = PHOTOMETRIC_MINISBLACK;
    pages[1].comp = COMPRESSION_LZW;
    const char *path = tpath("damaged.tif");
    CHECK(write_tiff(path, pages, 3) == 0);
    CHECK(damage_strip(path, 1) == 0);
    sh_err err = {0};
    sh_scan *s = NULL;
    CHECKF(sh_scan_open(path, NULL, &s, &err) == SH_OK, "%s", err.msg);
    CHECK(sh_scan_frames(s) == 3);
    sh_frame f;
    CHECK(sh_scan_read(s, 0, &f, &err) == SH_OK);
    sh_frame_release(&f);
    err.msg[0] = 0;
    int rc = sh_scan_read(s, 1, &f, &err);
    CHECKF(rc == SH_EINPUT, "rc %d", rc);
    CHECK(f.pix == NULL);
    CHECKF(strstr(err.msg, path) && strstr(err.msg, "frame 2 of 3"), "%s",
           err.msg);
    CHECK(sh_scan_read(s, 2, &f, &err) == SH_OK);
    CHECK(drawing_ok(f.pix));
    sh_frame_release(&f);
    sh_scan_close(&s);
    return 0;
}

/* Halve the StripByteCounts of the first IFD of a little-endian TIFF,
   as a scan cut short would have it. */
static int halve_strip(const char *path)
{
    FILE *fp = fopen(path, "r+b");
    uint8_t h[8], e[12];
    uint16_t n;
    uint32_t ifd;
    if (!fp || fread(h, 1, 8, fp) != 8 || h[0] != 'I')
        return -1;
    memcpy(&ifd, h + 4, 4);
    if (fseek(fp, ifd, SEEK_SET) != 0 || fread(&n, 2, 1, fp) != 1)
        return -1;
    for (int i = 0; i < n; i++) {
        long pos = ftell(fp);
        if (fread(e, 1, 12, fp) != 12)
            return -1;
        uint16_t tag, type;
        memcpy(&tag, e, 2);
        memcpy(&type, e + 2, 2);
        if (tag != TIFFTAG_STRIPBYTECOUNTS || type != TIFF_LONG)
            continue;
        uint32_t v;
        memcpy(&v, e + 8, 4);
        v /= 2;
        if (fseek(fp, pos + 8, SEEK_SET) != 0 || fwrite(&v, 4, 1, fp) != 1)
            return -1;
        return fclose(fp);
    }
    fclose(fp);
    return -1;
}

/* libtiff's fax decoder only warns when a strip ends early (and fills the
   page with white): that must be an error. */
static int test_tiff_truncated_fax(void)
{
    static const int comps[] = {COMPRESSION_CCITTFAX4, COMPRESSION_CCITTFAX3,
                                COMPRESSION_CCITTRLE, COMPRESSION_LZW,
                                COMPRESSION_PACKBITS};
    for (size_t i = 0; i < SH_ARRAY_LEN(comps); i++) {
        tpage p = {.w = 300, .h = 200, .bps = 1, .spp = 1,
                   .photo = PHOTOMETRIC_MINISWHITE, .comp = comps[i]};
        const char *path = tpath("cut.tif");
        CHECK(write_tiff(path, &p, 1) == 0);
        CHECKF(halve_strip(path) == 0, "compression %d", comps[i]);
        sh_frame f;
        sh_err err = {0};
        int rc = read_frame(path, 0, &f, &err);
        CHECKF(rc == SH_EINPUT && f.pix == NULL, "compression %d: rc %d",
               comps[i], rc);
        CHECKF(strstr(err.msg, path) && strstr(err.msg, "frame 1 of 1") &&
                   strstr(err.msg, "does not decode"),
               "%s", err.msg);
    }
    return 0;
}

static int test_limits(void)
{
    tpage pages[3];
    for (int i = 0; i < 3; i++)
        pages[i] = (tpage){.w = 500, .h = 400, .bps = 1, .spp = 1,
                           .photo = PHOTOMETRIC_MINISWHITE,
                           .comp = COMPRESSION_CCITTFAX4};
    const char *path = tpath("lim.tif");
    CHECK(write_tiff(path, pages, 3) == 0);
    sh_err err = {0};
    sh_scan *s = NULL;

    sh_scan_limits lim;
    sh_scan_limits_default(&lim);
    CHECK(lim.max_pixels == 250000000 && lim.max_side == 60000 &&
          lim.max_frames == 5000 && lim.max_file_bytes == (int64_t)2 << 30);

    lim.max_frames = 2;
    CHECK(sh_scan_open(path, &lim, &s, &err) == SH_ELIMIT);
    CHECK(s == NULL);
    CHECKF(strstr(err.msg, path) && strstr(err.msg, "3 frames"), "%s", err.msg);

    sh_scan_limits_default(&lim);
    lim.max_file_bytes = 100;
    CHECK(sh_scan_open(path, &lim, &s, &err) == SH_ELIMIT);
    CHECK(strstr(err.msg, path) != NULL);

    sh_scan_limits_default(&lim);
    lim.max_side = 450;
    CHECK(sh_scan_open(path, &lim, &s, &err) == SH_OK);
    sh_frame f;
    CHECK(sh_scan_read(s, 1, &f, &err) == SH_ELIMIT);
    CHECKF(strstr(err.msg, "frame 2 of 3") && strstr(err.msg, "500 x 400"),
           "%s", err.msg);
    CHECK(f.pix == NULL);
    sh_scan_close(&s);

    sh_scan_limits_default(&lim);
    lim.max_pixels = 199999;
    CHECK(sh_scan_open(path, &lim, &s, &err) == SH_OK);
    CHECK(sh_scan_read(s, 0, &f, &err) == SH_ELIMIT);
    CHECK(strstr(err.msg, "Mpx") != NULL);
    sh_scan_close(&s);
    return 0;
}

/* ---- JPEG fixtures ------------------------------------------------ */

typedef struct jspec {
    int w, h, comps;      /* 1 gray, 3 RGB, 4 CMYK */
    int jfif, unit, xd, yd;
    const uint8_t *app1;  /* APP1 payload ("Exif\0\0..."), or NULL */
    size_t napp1;
    int progressive;
} jspec;

static int write_jpeg(const char *path, const jspec *j)
{
    FILE *fp = fopen(path, "wb");
    if (!fp)
        return -1;
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr e;
    c.err = jpeg_std_error(&e);
    jpeg_create_compress(&c);
    jpeg_stdio_dest(&c, fp);
    c.image_width = j->w;
    c.image_height = j->h;
    c.input_components = j->comps;
    c.in_color_space = j->comps == 1 ? JCS_GRAYSCALE
                       : j->comps == 3 ? JCS_RGB : JCS_CMYK;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, 92, TRUE);
    c.write_JFIF_header = j->jfif && j->comps != 4;
    c.density_unit = (UINT8)j->unit;
    c.X_density = (UINT16)j->xd;
    c.Y_density = (UINT16)j->yd;
    if (j->progressive)
        jpeg_simple_progression(&c);
    jpeg_start_compress(&c, TRUE);
    if (j->app1)
        jpeg_write_marker(&c, JPEG_APP0 + 1, j->app1, (unsigned)j->napp1);
    JSAMPLE *row = malloc((size_t)j->w * j->comps);
    while (c.next_scanline < c.image_height) {
        int y = (int)c.next_scanline;
        for (int x = 0; x < j->w; x++) {
            int k = ink(x, y, j->w, j->h);
            JSAMPLE *p = row + (size_t)x * j->comps;
            if (j->comps == 1) {
                p[0] = k ? 20 : 235;
            } else if (j->comps == 3) {
                p[0] = k ? 200 : 245, p[1] = k ? 30 : 245, p[2] = k ? 40 : 245;
            } else {
                /* libjpeg marks CMYK with an Adobe APP14, whose convention
                   (Photoshop's) is inverted: 255 = no ink.  Ink here is
                   magenta + yellow + a little black = red. */
                p[0] = 255, p[1] = k ? 35 : 255, p[2] = k ? 55 : 255;
                p[3] = k ? 205 : 250;
            }
        }
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    free(row);
    return fclose(fp);
}

static void be16(uint8_t *p, unsigned v) { p[0] = (uint8_t)(v >> 8), p[1] = (uint8_t)v; }
static void be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

/* An APP1 Exif payload, big-endian ("MM"), with IFD0 holding Orientation
   and, if xres_num, X/YResolution = xres_num/xres_den per `unit`. */
static size_t make_exif(uint8_t *b, int orient, uint32_t xres_num,
                        uint32_t xres_den, unsigned unit)
{
    memcpy(b, "Exif\0\0", 6);
    uint8_t *t = b + 6;   /* TIFF header: offsets count from here */
    memcpy(t, "MM", 2);
    be16(t + 2, 42);
    be32(t + 4, 8);
    int n = (orient ? 1 : 0) + (xres_num ? 3 : 0);
    be16(t + 8, (unsigned)n);
    uint8_t *e = t + 10;
    uint32_t data = 10 + 12 * (uint32_t)n + 4;   /* rationals after IFD */
    if (orient) {
        be16(e, 0x0112), be16(e + 2, 3), be32(e + 4, 1);
        be16(e + 8, (unsigned)orient), be16(e + 10, 0);
        e += 12;
    }
    if (xres_num) {
        for (int k = 0; k < 2; k++) {
            be16(e, k ? 0x011B : 0x011A), be16(e + 2, 5), be32(e + 4, 1);
            be32(e + 8, data + 8 * (uint32_t)k);
            be32(t + data + 8 * k, xres_num);
            be32(t + data + 8 * k + 4, xres_den);
            e += 12;
        }
        be16(e, 0x0128), be16(e + 2, 3), be32(e + 4, 1);
        be16(e + 8, unit), be16(e + 10, 0);
        e += 12;
    }
    be32(e, 0);   /* no next IFD */
    return 6 + data + (xres_num ? 16 : 0);
}

static int test_jpeg_jfif(void)
{
    const char *path = tpath("gray.jpg");
    jspec j = {.w = 120, .h = 80, .comps = 1, .jfif = 1, .unit = 1,
               .xd = 200, .yd = 200};
    CHECK(write_jpeg(path, &j) == 0);
    sh_err err = {0};
    sh_scan *s = NULL;
    CHECKF(sh_scan_open(path, NULL, &s, &err) == SH_OK, "%s", err.msg);
    CHECK(sh_scan_format(s) == SH_FMT_JPEG && sh_scan_frames(s) == 1);
    sh_frame f;
    CHECKF(sh_scan_read(s, 0, &f, &err) == SH_OK, "%s", err.msg);
    sh_scan_close(&s);
    CHECK(pixGetDepth(f.pix) == 8 && pixGetWidth(f.pix) == 120);
    CHECK(f.xres == 200 && f.yres == 200 && !f.dpi_assumed);
    CHECK(strcmp(f.codec, "jpeg") == 0 && f.tag_rot == 0);
    CHECK(drawing_ok(f.pix));
    /* pass-through: the file's bytes, unchanged */
    uint8_t *bytes;
    size_t nb;
    CHECK(sh_read_file(path, 0, &bytes, &nb, &err) == SH_OK);
    CHECK(f.jpeg && f.njpeg == nb && memcmp(f.jpeg, bytes, nb) == 0);
    CHECK(f.jpeg_components == 1);
    free(bytes);
    sh_frame_release(&f);
    CHECK(f.jpeg == NULL && f.pix == NULL);

    /* colour, dots per cm, progressive */
    path = tpath("rgb.jpg");
    j = (jspec){.w = 64, .h = 48, .comps = 3, .jfif = 1, .unit = 2,
                .xd = 118, .yd = 118, .progressive = 1};
    CHECK(write_jpeg(path, &j) == 0);
    CHECKF(read_frame(path, 0, &f, &err) == SH_OK, "%s", err.msg);
    CHECK(pixGetDepth(f.pix) == 32 && f.jpeg_components == 3 && f.jpeg);
    CHECKF(f.xres == 300 && !f.dpi_assumed, "%d", f.xres);
    CHECK(drawing_ok(f.pix));
    sh_frame_release(&f);

    /* JFIF without units, no EXIF: assumed */
    path = tpath("aspect.jpg");
    j = (jspec){.w = 64, .h = 48, .comps = 1, .jfif = 1, .unit = 0,
                .xd = 1, .yd = 1};
    CHECK(write_jpeg(path, &j) == 0);
    CHECK(read_frame(path, 0, &f, &err) == SH_OK);
    CHECK(f.xres == 300 && f.yres == 300 && f.dpi_assumed);
    sh_frame_release(&f);
    return 0;
}

static int test_jpeg_exif(void)
{
    uint8_t ex[256];
    sh_err err = {0};
    sh_frame f;

    /* orientation 8, no JFIF: EXIF resolution 400 dpi */
    size_t n = make_exif(ex, 8, 400, 1, 2);
    const char *path = tpath("exif8.jpg");
    jspec j = {.w = 64, .h = 48, .comps = 3, .jfif = 0, .app1 = ex,
               .napp1 = n};
    CHECK(write_jpeg(path, &j) == 0);
    CHECKF(read_frame(path, 0, &f, &err) == SH_OK, "%s", err.msg);
    CHECKF(f.tag_rot == 270 && !f.tag_mirror, "rot %d", f.tag_rot);
    CHECKF(f.xres == 400 && !f.dpi_assumed, "xres %d", f.xres);
    CHECK(pixGetWidth(f.pix) == 64 && drawing_ok(f.pix));
    sh_frame_release(&f);

    /* JFIF density wins over EXIF; EXIF in cm */
    n = make_exif(ex, 6, 11811, 100, 3);
    path = tpath("exif6.jpg");
    j = (jspec){.w = 64, .h = 48, .comps = 1, .jfif = 1, .unit = 1,
                .xd = 250, .yd = 250, .app1 = ex, .napp1 = n};
    CHECK(write_jpeg(path, &j) == 0);
    CHECK(read_frame(path, 0, &f, &err) == SH_OK);
    CHECK(f.tag_rot == 90 && f.xres == 250);
    sh_frame_release(&f);
    j.jfif = 0;
    CHECK(write_jpeg(path, &j) == 0);
    CHECK(read_frame(path, 0, &f, &err) == SH_OK);
    CHECKF(f.xres == 300 && !f.dpi_assumed, "xres %d", f.xres);
    sh_frame_release(&f);

    /* broken EXIF blocks: read fine, the block ignored (or the sound part
       used) */
    static const struct { const char *what; int rot; } broken[] = {
        {"zero denominator", 90}, {"ifd offset past end", 0},
        {"huge entry count", 90}, {"rational offset past end", 90},
        {"cut short", 0}, {"bad byte order", 0}, {"orientation 9", 0},
    };
    for (size_t i = 0; i < SH_ARRAY_LEN(broken); i++) {
        n = make_exif(ex, i == 6 ? 9 : 6, 300, 1, 2);
        uint8_t *t = ex + 6;
        switch (i) {
        case 0: be32(t + 66, 0), be32(t + 74, 0); break;   /* both dens */
        case 1: be32(t + 4, 60000); break;
        case 2: be16(t + 8, 0xffff); break;
        case 3: be32(t + 10 + 12 + 8, 0xfffffff0u); break;
        case 4: n = 6 + 12; break;
        case 5: memcpy(t, "XX", 2); break;
        default: break;
        }
        path = tpath("broken.jpg");
        j = (jspec){.w = 32, .h = 32, .comps = 1, .app1 = ex, .napp1 = n};
        CHECK(write_jpeg(path, &j) == 0);
        CHECKF(read_frame(path, 0, &f, &err) == SH_OK, "%s: %s",
               broken[i].what, err.msg);
        CHECKF(f.tag_rot == broken[i].rot, "%s: rot %d", broken[i].what,
               f.tag_rot);
        CHECK(f.xres >= 30 && f.xres <= 5000);
        sh_frame_release(&f);
    }
    return 0;
}

static int test_jpeg_cmyk(void)
{
    const char *path = tpath("cmyk.jpg");
    jspec j = {.w = 48, .h = 32, .comps = 4};
    CHECK(write_jpeg(path, &j) == 0);
    sh_frame f;
    sh_err err = {0};
    CHECKF(read_frame(path, 0, &f, &err) == SH_OK, "%s", err.msg);
    CHECK(pixGetDepth(f.pix) == 32);
    CHECK(f.jpeg == NULL && f.njpeg == 0);   /* no CMYK pass-through */
    l_uint32 v;
    l_int32 r, g, b;
    pixGetPixel(f.pix, 1, 1, &v);   /* magenta + yellow ink = red */
    extractRGBValues(v, &r, &g, &b);
    CHECKF(r > 150 && g < 100 && b < 100, "%d %d %d", r, g, b);
    pixGetPixel(f.pix, 40, 28, &v);
    extractRGBValues(v, &r, &g, &b);
    CHECKF(r > 230 && g > 230 && b > 230, "%d %d %d", r, g, b);
    sh_frame_release(&f);
    return 0;
}

static int test_jpeg_truncated(void)
{
    const char *full = tpath("whole.jpg"), *cut = tpath("cut.jpg");
    jspec j = {.w = 256, .h = 256, .comps = 3, .jfif = 1, .unit = 1,
               .xd = 300, .yd = 300};
    CHECK(write_jpeg(full, &j) == 0);
    uint8_t *b;
    size_t n;
    sh_err err = {0};
    CHECK(sh_read_file(full, 0, &b, &n, &err) == SH_OK);
    /* cut at 60%, and also just before the EOI marker */
    static const int pct[2] = {60, 0};
    for (int i = 0; i < 2; i++) {
        size_t keep = pct[i] ? n * pct[i] / 100 : n - 2;
        CHECK(sh_write_atomic(cut, b, keep, &err) == SH_OK);
        sh_frame f;
        int rc = read_frame(cut, 0, &f, &err);
        CHECKF(rc == SH_EINPUT, "cut %zu: rc %d", keep, rc);
        CHECK(f.pix == NULL && f.jpeg == NULL);
        CHECKF(strstr(err.msg, cut) && strstr(err.msg, "Premature end"),
               "%s", err.msg);
    }
    /* only the header */
    CHECK(sh_write_atomic(cut, b, 200, &err) == SH_OK);
    sh_frame f;
    CHECK(read_frame(cut, 0, &f, &err) == SH_EINPUT);
    CHECK(strstr(err.msg, cut) != NULL);

    /* a header claiming 15000 x 15000 (within the pixel limit) over a few
       KB of data is refused before any decoding buffer exists */
    size_t sof = 0;
    for (size_t i = 2; i + 9 < n && !sof; i++)
        if (b[i] == 0xff && b[i + 1] == 0xc0)
            sof = i;
    CHECK(sof);
    be16(b + sof + 5, 15000);
    be16(b + sof + 7, 15000);
    CHECK(sh_write_atomic(cut, b, n, &err) == SH_OK);
    CHECK(read_frame(cut, 0, &f, &err) == SH_EINPUT && f.pix == NULL);
    CHECKF(strstr(err.msg, "15000 x 15000") && strstr(err.msg, "truncated"),
           "%s", err.msg);
    /* and with a tighter limit, the limit speaks first */
    sh_scan_limits lim;
    sh_scan_limits_default(&lim);
    lim.max_pixels = 100000000;
    sh_scan *s = NULL;
    CHECK(sh_scan_open(cut, &lim, &s, &err) == SH_OK);
    CHECK(sh_scan_read(s, 0, &f, &err) == SH_ELIMIT);
    sh_scan_close(&s);
    free(b);
    return 0;
}

/* ---- PNG ----------------------------------------------------------- */

typedef struct pspec {
    int w, h, color_type, bit_depth, interlace;
    uint32_t ppm;   /* pixels per metre, 0 = no pHYs */
    int gray_palette;
} pspec;

static int write_png(const char *path, const pspec *p)
{
    FILE *fp = fopen(path, "wb");
    if (!fp)
        return -1;
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL,
                                              NULL, NULL);
    png_infop info = png_create_info_struct(png);
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        fclose(fp);
        return -1;
    }
    png_init_io(png, fp);
    png_set_IHDR(png, info, p->w, p->h, p->bit_depth, p->color_type,
                 p->interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (p->ppm)
        png_set_pHYs(png, info, p->ppm, p->ppm, PNG_RESOLUTION_METER);
    if (p->color_type == PNG_COLOR_TYPE_PALETTE) {
        png_color pal[2] = {{200, 30, 40}, {255, 255, 255}};
        if (p->gray_palette)
            pal[0] = (png_color){20, 20, 20};
        png_set_PLTE(png, info, pal, 2);
    }
    png_write_info(png, info);
    int ch = p->color_type == PNG_COLOR_TYPE_GRAY ? 1
             : p->color_type == PNG_COLOR_TYPE_GRAY_ALPHA ? 2
             : p->color_type == PNG_COLOR_TYPE_RGB ? 3
             : p->color_type == PNG_COLOR_TYPE_RGBA ? 4 : 1;
    int bd = p->bit_depth;
    size_t rb = ((size_t)p->w * ch * bd + 7) / 8;
    png_bytep *rows = calloc((size_t)p->h, sizeof *rows);
    for (int y = 0; y < p->h; y++) {
        rows[y] = calloc(rb, 1);
        for (int x = 0; x < p->w; x++) {
            int k = ink(x, y, p->w, p->h);
            unsigned v[4];
            unsigned max = (1u << bd) - 1;
            switch (p->color_type) {
            case PNG_COLOR_TYPE_GRAY: v[0] = k ? 0 : max; break;
            case PNG_COLOR_TYPE_GRAY_ALPHA:
                v[0] = k ? max / 12 : 0, v[1] = k ? max : 0;
                break;
            case PNG_COLOR_TYPE_PALETTE: v[0] = k ? 0 : 1; break;
            default:
                v[0] = k ? 200 * max / 255 : 0;
                v[1] = k ? 30 * max / 255 : 0;
                v[2] = k ? 40 * max / 255 : 0;
                v[3] = k ? max : 0;
                if (ch == 3 && !k)
                    v[0] = v[1] = v[2] = max;
                break;
            }
            for (int c = 0; c < ch; c++) {
                size_t i = (size_t)x * ch + c;
                if (bd == 16)
                    rows[y][2 * i] = (uint8_t)(v[c] >> 8),
                    rows[y][2 * i + 1] = (uint8_t)v[c];
                else
                    put_sample(rows[y], bd, i, v[c]);
            }
        }
    }
    png_write_image(png, rows);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    for (int y = 0; y < p->h; y++)
        free(rows[y]);
    free(rows);
    return fclose(fp);
}

static int test_png(void)
{
    static const struct { pspec p; int depth, dpi, assumed; } rows[] = {
        {{.w = 50, .h = 40, .color_type = PNG_COLOR_TYPE_GRAY, .bit_depth = 8,
          .ppm = 15748}, 8, 400, 0},
        {{.w = 50, .h = 40, .color_type = PNG_COLOR_TYPE_GRAY, .bit_depth = 16,
          .ppm = 11811}, 8, 300, 0},
        {{.w = 37, .h = 40, .color_type = PNG_COLOR_TYPE_GRAY, .bit_depth = 1},
         1, 300, 1},
        {{.w = 37, .h = 41, .color_type = PNG_COLOR_TYPE_GRAY, .bit_depth = 1,
          .interlace = 1}, 1, 300, 1},
        {{.w = 50, .h = 40, .color_type = PNG_COLOR_TYPE_GRAY, .bit_depth = 4,
          .interlace = 1}, 8, 300, 1},
        {{.w = 50, .h = 40, .color_type = PNG_COLOR_TYPE_RGB, .bit_depth = 8,
          .ppm = 7874}, 32, 200, 0},
        {{.w = 50, .h = 40, .color_type = PNG_COLOR_TYPE_RGBA, .bit_depth = 16},
         32, 300, 1},
        {{.w = 50, .h = 40, .color_type = PNG_COLOR_TYPE_GRAY_ALPHA,
          .bit_depth = 8}, 8, 300, 1},
        {{.w = 50, .h = 40, .color_type = PNG_COLOR_TYPE_PALETTE,
          .bit_depth = 2}, 32, 300, 1},
        {{.w = 50, .h = 40, .color_type = PNG_COLOR_TYPE_PALETTE,
          .bit_depth = 8, .gray_palette = 1}, 8, 300, 1},
    };
    for (size_t i = 0; i < SH_ARRAY_LEN(rows); i++) {
        const char *path = tpath("t.png");
        CHECKF(write_png(path, &rows[i].p) == 0, "row %zu", i);
        sh_frame f;
        sh_err err = {0};
        CHECKF(read_frame(path, 0, &f, &err) == SH_OK, "row %zu: %s", i,
               err.msg);
        CHECKF(pixGetDepth(f.pix) == rows[i].depth, "row %zu: depth %d", i,
               pixGetDepth(f.pix));
        CHECK(pixGetWidth(f.pix) == rows[i].p.w);
        CHECK(pixGetHeight(f.pix) == rows[i].p.h);
        CHECKF(f.xres == rows[i].dpi && f.yres == rows[i].dpi &&
                   f.dpi_assumed == rows[i].assumed,
               "row %zu: %d dpi assumed %d", i, f.xres, f.dpi_assumed);
        CHECK(strcmp(f.codec, "png") == 0 && f.jpeg == NULL);
        CHECKF(drawing_ok(f.pix), "row %zu: drawing", i);
        if (pixGetDepth(f.pix) == 1) {
            l_int32 count = 0;
            pixCountPixels(f.pix, &count, NULL);
            CHECK(count == (rows[i].p.w / 2) * (rows[i].p.h / 2));
        }
        sh_frame_release(&f);
    }
    /* truncated PNG */
    const char *path = tpath("t.png"), *cut = tpath("cut.png");
    pspec big = {.w = 300, .h = 300, .color_type = PNG_COLOR_TYPE_RGB,
                 .bit_depth = 8};
    CHECK(write_png(path, &big) == 0);
    uint8_t *b;
    size_t n;
    sh_err err = {0};
    CHECK(sh_read_file(path, 0, &b, &n, &err) == SH_OK);
    CHECK(sh_write_atomic(cut, b, n / 2, &err) == SH_OK);
    free(b);
    sh_frame f;
    CHECK(read_frame(cut, 0, &f, &err) == SH_EINPUT);
    CHECKF(strstr(err.msg, cut) && strstr(err.msg, "frame 1 of 1"), "%s",
           err.msg);
    CHECK(f.pix == NULL);
    return 0;
}

/* ---- not images, I/O ---------------------------------------------- */

static int test_not_images(void)
{
    sh_err err = {0};
    sh_scan *s = NULL;
    const char *path = tpath("notes.tif");
    const char *txt = "This is a text file, not a scan.\n";
    CHECK(sh_write_atomic(path, txt, strlen(txt), &err) == SH_OK);
    CHECK(sh_scan_open(path, NULL, &s, &err) == SH_EINPUT && s == NULL);
    CHECKF(strstr(err.msg, path) &&
               strstr(err.msg, "not a TIFF, JPEG or PNG file"),
           "%s", err.msg);

    path = tpath("empty.png");
    CHECK(sh_write_atomic(path, "", 0, &err) == SH_OK);
    CHECK(sh_scan_open(path, NULL, &s, &err) == SH_EINPUT);

    /* a TIFF header and nothing else */
    path = tpath("header.tif");
    CHECK(sh_write_atomic(path, "II*\0\x08\0\0\0", 8, &err) == SH_OK);
    int rc = sh_scan_open(path, NULL, &s, &err);
    CHECKF(rc == SH_EINPUT && strstr(err.msg, path), "%d %s", rc, err.msg);
    CHECK(s == NULL);

    CHECK(sh_scan_open(tpath("missing.tif"), NULL, &s, &err) == SH_EIO);
    CHECK(strstr(err.msg, "missing.tif") != NULL);
    CHECK(sh_scan_open(sh_test_tmpdir(), NULL, &s, &err) == SH_EINPUT);
    CHECK(sh_scan_open(NULL, NULL, &s, &err) == SH_EUSAGE);
    sh_frame f;
    CHECK(sh_scan_read(NULL, 0, &f, &err) == SH_EUSAGE && f.pix == NULL);
    CHECK(sh_scan_frames(NULL) == 0);
    sh_frame_release(NULL);
    return 0;
}

static int test_candidate(void)
{
    static const struct { const char *name; int yes; } rows[] = {
        {"0001.tif", 1}, {"scan.TIFF", 1}, {"a.Jpg", 1}, {"b.jpeg", 1},
        {"c.PNG", 1}, {"d.pdf", 1}, {"tif", 0}, {".tif", 0},
        {"._0001.tif", 0}, {"notes.txt", 0}, {"x.tif.bak", 0}, {"", 0},
        {"dir.tif/x", 0}, {"page.jp2", 0},
    };
    for (size_t i = 0; i < SH_ARRAY_LEN(rows); i++)
        CHECKF(sh_scan_is_candidate(rows[i].name) == rows[i].yes, "%s",
               rows[i].name);
    CHECK(sh_scan_is_candidate(NULL) == 0);
    return 0;
}

/* ---- ../shared ----------------------------------------------------- */

static int test_bomb(void)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/adversarial/bombs/g4-100000x100000.tif",
             sh_test_shared);
    if (access(path, R_OK) != 0)
        return SH_SKIP;
    sh_err err = {0};
    sh_scan *s = NULL;
    CHECKF(sh_scan_open(path, NULL, &s, &err) == SH_OK, "%s", err.msg);
    CHECK(sh_scan_frames(s) == 1);
    sh_frame f;
    CHECK(sh_scan_read(s, 0, &f, &err) == SH_ELIMIT);
    CHECK(f.pix == NULL);
    CHECKF(strstr(err.msg, path) && strstr(err.msg, "frame 1") &&
               strstr(err.msg, "100000 x 100000"),
           "%s", err.msg);
    sh_scan_close(&s);
    return 0;
}

static int test_ifd_loops(void)
{
    static const char *names[] = {
        "libtiff-test_ifd_loop_to_self.tif", "libtiff-test_ifd_loop_to_first.tif",
        "pillow-multipage_single_frame_loop.tiff",
        "pillow-multipage_multiple_frame_loop.tiff",
    };
    int seen = 0;
    for (size_t i = 0; i < SH_ARRAY_LEN(names); i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/adversarial/tiff/%s", sh_test_shared,
                 names[i]);
        if (access(path, R_OK) != 0)
            continue;
        seen++;
        sh_err err = {0};
        sh_scan *s = NULL;
        int rc = sh_scan_open(path, NULL, &s, &err);
        CHECKF(rc == SH_OK || rc == SH_EINPUT, "%s: %d", names[i], rc);
        if (rc)
            continue;
        CHECKF(sh_scan_frames(s) >= 1 && sh_scan_frames(s) < 10, "%s: %d",
               names[i], sh_scan_frames(s));
        sh_scan_close(&s);
    }
    return seen ? 0 : SH_SKIP;
}

typedef struct adv_stats {
    int files, opened, frames, ok, failed;
    int bad;   /* contract violations */
} adv_stats;

static int adv_file(const char *path, adv_stats *st)
{
    sh_err err = {0};
    sh_scan *s = NULL;
    st->files++;
    int rc = sh_scan_open(path, NULL, &s, &err);
    if (rc) {
        if (!err.msg[0] || !strstr(err.msg, path) || s ||
            (rc != SH_EINPUT && rc != SH_ELIMIT && rc != SH_EIO)) {
            fprintf(stderr, "  %s: open rc %d msg '%s'\n", path, rc, err.msg);
            st->bad++;
        }
        return 0;
    }
    st->opened++;
    int n = sh_scan_frames(s);
    if (n < 1) {
        fprintf(stderr, "  %s: %d frames\n", path, n);
        st->bad++;
    }
    for (int i = 0; i < n; i++) {
        sh_frame f;
        err.msg[0] = 0;
        rc = sh_scan_read(s, i, &f, &err);
        st->frames++;
        if (rc == SH_OK) {
            st->ok++;
            int d = pixGetDepth(f.pix);
            if (pixGetWidth(f.pix) < 1 || pixGetHeight(f.pix) < 1 ||
                (d != 1 && d != 8 && d != 32) || pixGetColormap(f.pix) ||
                f.xres < 30 || f.yres < 30 || !f.codec ||
                (f.tag_rot % 90) != 0 || f.tag_rot < 0 || f.tag_rot > 270) {
                fprintf(stderr, "  %s: frame %d: bad frame\n", path, i);
                st->bad++;
            }
        } else {
            st->failed++;
            if (!err.msg[0] || !strstr(err.msg, path) || f.pix ||
                (rc != SH_EINPUT && rc != SH_ELIMIT && rc != SH_ENOMEM)) {
                fprintf(stderr, "  %s: frame %d: rc %d msg '%s'\n", path, i,
                        rc, err.msg);
                st->bad++;
            }
        }
        sh_frame_release(&f);
    }
    sh_scan_close(&s);
    return 0;
}

static void adv_walk(const char *dir, adv_stats *st, int depth)
{
    DIR *d = opendir(dir);
    if (!d || depth > 8) {
        if (d)
            closedir(d);
        return;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char path[2048];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat sb;
        if (lstat(path, &sb) != 0)
            continue;
        if (S_ISDIR(sb.st_mode))
            adv_walk(path, st, depth + 1);
        else if (S_ISREG(sb.st_mode))
            adv_file(path, st);
    }
    closedir(d);
}

static int test_adversarial(void)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/adversarial", sh_test_shared);
    struct stat sb;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return SH_SKIP;
    adv_stats st = {0};
    int level = sh_log_level;
    sh_log_level = SH_LOG_ERROR;   /* damaged-chain warnings by the dozen */
    adv_walk(dir, &st, 0);
    sh_log_level = level;
    printf("     adversarial: %d files, %d opened, %d frames: %d decoded, "
           "%d refused\n", st.files, st.opened, st.frames, st.ok, st.failed);
    CHECK(st.files > 0);
    CHECKF(st.bad == 0, "%d contract violations", st.bad);
    return 0;
}

const sh_test sh_tests_scan[] = {
    {"scan/tiff_multipage", test_tiff_multipage},
    {"scan/tiff_layouts", test_tiff_layouts},
    {"scan/tiff_orientation", test_tiff_orientation},
    {"scan/tiff_resolution", test_tiff_resolution},
    {"scan/tiff_bad_frame", test_tiff_bad_frame},
    {"scan/tiff_truncated_fax", test_tiff_truncated_fax},
    {"scan/limits", test_limits},
    {"scan/jpeg_jfif", test_jpeg_jfif},
    {"scan/jpeg_exif", test_jpeg_exif},
    {"scan/jpeg_cmyk", test_jpeg_cmyk},
    {"scan/jpeg_truncated", test_jpeg_truncated},
    {"scan/png", test_png},
    {"scan/not_images", test_not_images},
    {"scan/candidate", test_candidate},
    {"scan/bomb", test_bomb},
    {"scan/ifd_loops", test_ifd_loops},
    {"scan/adversarial", test_adversarial},
    {NULL, NULL},
};
