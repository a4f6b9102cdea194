/*
 * mksheet.c — lay text pages out on one large scanned sheet (A3–A0),
 * the large-format input of `make bench` (tests/bench.sh), made at bench
 * time from the project's own sample pages.
 *
 * Self-contained: Leptonica and libtiff, no sohoa source.
 *
 * Function index
 *   main        parse the command line, build the sheet, write it
 *   usage       the command line
 *   paper       paper name (a3, a2, a1, a0) → size in mm (portrait)
 *   add_noise   scanner noise and a slightly yellowed paper tone
 *   write_tiff  LZW TIFF in strips of about 8 KB (libtiff)
 *
 * Method
 *   The sheet is the paper size at --dpi (portrait), white.  It is cut
 *   into a --grid CxR of cells; cell k gets input page k mod n (first
 *   frame of each input), made 8 bpp gray (or 32 bpp colour with
 *   --color), cut to its ink with a 1 % margin (--trim: columns of text
 *   almost touching, as on a sheet of pages laid edge to edge), scaled to fill the cell keeping its aspect (area mapping
 *   when shrinking, linear when enlarging) and centred in it.  Each pixel
 *   then gets N(0, --noise) (one splitmix64 stream seeded by --seed, so a
 *   run is reproducible).  The sheet is written as an LZW TIFF (gray or
 *   RGB) with its resolution, in strips of about 8 KB as scanners
 *   write them.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <leptonica/allheaders.h>
#include <tiffio.h>

static void usage(void)
{
    fprintf(stderr,
            "usage: mksheet --paper a3|a2|a1|a0 --dpi N --grid CxR "
            "[--color] [--trim] [--noise SIGMA] [--seed N] -o OUT.tif PAGE...\n");
}

static int paper(const char *name, double *wmm, double *hmm)
{
    static const struct { const char *n; double w, h; } t[] = {
        {"a4", 210, 297}, {"a3", 297, 420}, {"a2", 420, 594},
        {"a1", 594, 841}, {"a0", 841, 1189}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (!strcmp(t[i].n, name)) {
            *wmm = t[i].w;
            *hmm = t[i].h;
            return 0;
        }
    return -1;
}

static uint64_t rng;

static uint64_t next64(void)
{
    uint64_t z = (rng += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* A cheap normal deviate: the sum of four uniforms, scaled. */
static double gauss(void)
{
    double s = 0;
    for (int i = 0; i < 4; i++)
        s += (double)(next64() >> 11) / 9007199254740992.0;
    return (s - 2.0) * 1.7320508;
}

static int clamp(double v)
{
    return v < 0 ? 0 : v > 255 ? 255 : (int)(v + 0.5);
}

static void add_noise(PIX *pix, double sigma)
{
    int w = pixGetWidth(pix), h = pixGetHeight(pix), d = pixGetDepth(pix);
    int wpl = pixGetWpl(pix);
    l_uint32 *data = pixGetData(pix);
    for (int y = 0; y < h; y++) {
        l_uint32 *line = data + (size_t)y * (size_t)wpl;
        for (int x = 0; x < w; x++) {
            if (d == 8) {
                int v = GET_DATA_BYTE(line, x);
                SET_DATA_BYTE(line, x, clamp(v * 0.94 + 8 + sigma * gauss()));
            } else {
                l_int32 r, g, b;
                extractRGBValues(line[x], &r, &g, &b);
                double n = sigma * gauss();
                composeRGBPixel(clamp(r * 0.93 + 12 + n),
                                clamp(g * 0.93 + 10 + n),
                                clamp(b * 0.88 + 6 + n), &line[x]);
            }
        }
    }
}

/* LZW TIFF in strips of about 8 KB of pixels (libtiff's default strip
   size), as scanners write them; Leptonica would write one strip, which a
   reader must hold whole (an A3 600 dpi colour sheet: 100 MB). */
static int write_tiff(const char *out, PIX *pix)
{
    int w = pixGetWidth(pix), h = pixGetHeight(pix), d = pixGetDepth(pix);
    int spp = d == 32 ? 3 : 1, xres = pixGetXRes(pix);
    TIFF *t = TIFFOpen(out, "w");
    uint8_t *row = malloc((size_t)w * spp);
    int bad = !t || !row;
    if (!bad)
        bad = !TIFFSetField(t, TIFFTAG_IMAGEWIDTH, (uint32_t)w) ||
              !TIFFSetField(t, TIFFTAG_IMAGELENGTH, (uint32_t)h) ||
              !TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 8) ||
              !TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, spp) ||
              !TIFFSetField(t, TIFFTAG_PHOTOMETRIC, spp == 3
                            ? PHOTOMETRIC_RGB : PHOTOMETRIC_MINISBLACK) ||
              !TIFFSetField(t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG) ||
              !TIFFSetField(t, TIFFTAG_COMPRESSION, COMPRESSION_LZW) ||
              !TIFFSetField(t, TIFFTAG_RESOLUTIONUNIT, RESUNIT_INCH) ||
              !TIFFSetField(t, TIFFTAG_XRESOLUTION, (float)xres) ||
              !TIFFSetField(t, TIFFTAG_YRESOLUTION, (float)xres) ||
              !TIFFSetField(t, TIFFTAG_ROWSPERSTRIP,
                            TIFFDefaultStripSize(t, 0));
    for (int y = 0; !bad && y < h; y++) {
        const l_uint32 *line = pixGetData(pix) + (size_t)y * pixGetWpl(pix);
        for (int x = 0; x < w; x++) {
            if (spp == 1) {
                row[x] = (uint8_t)GET_DATA_BYTE(line, x);
            } else {
                row[3 * x] = (uint8_t)(line[x] >> L_RED_SHIFT);
                row[3 * x + 1] = (uint8_t)(line[x] >> L_GREEN_SHIFT);
                row[3 * x + 2] = (uint8_t)(line[x] >> L_BLUE_SHIFT);
            }
        }
        bad = TIFFWriteScanline(t, row, (uint32_t)y, 0) < 0;
    }
    if (t)
        TIFFClose(t);
    free(row);
    return bad;
}

int main(int argc, char **argv)
{
    const char *pname = NULL, *out = NULL;
    int dpi = 300, cols = 1, rows = 1, color = 0, trim = 0, first = 0;
    double noise = 6;
    rng = 2024;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--paper") && i + 1 < argc)
            pname = argv[++i];
        else if (!strcmp(a, "--dpi") && i + 1 < argc)
            dpi = atoi(argv[++i]);
        else if (!strcmp(a, "--grid") && i + 1 < argc) {
            if (sscanf(argv[++i], "%dx%d", &cols, &rows) != 2)
                cols = 0;
        } else if (!strcmp(a, "--color"))
            color = 1;
        else if (!strcmp(a, "--trim"))
            trim = 1;
        else if (!strcmp(a, "--noise") && i + 1 < argc)
            noise = atof(argv[++i]);
        else if (!strcmp(a, "--seed") && i + 1 < argc)
            rng = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(a, "-o") && i + 1 < argc)
            out = argv[++i];
        else if (a[0] == '-') {
            usage();
            return 2;
        } else {
            first = i;
            break;
        }
    }
    double wmm, hmm;
    if (!pname || paper(pname, &wmm, &hmm) || !out || !first ||
        dpi < 50 || dpi > 1200 || cols < 1 || rows < 1 || cols > 10 ||
        rows > 10 || noise < 0) {
        usage();
        return 2;
    }
    int n = argc - first;
    int W = (int)lround(wmm / 25.4 * dpi), H = (int)lround(hmm / 25.4 * dpi);
    PIX *sheet = pixCreate(W, H, color ? 32 : 8);
    if (!sheet) {
        fprintf(stderr, "mksheet: %dx%d: out of memory\n", W, H);
        return 1;
    }
    pixSetAll(sheet);
    pixSetResolution(sheet, dpi, dpi);
    int cw = W / cols, ch = H / rows;
    for (int k = 0; k < cols * rows; k++) {
        const char *in = argv[first + k % n];
        PIX *p = pixRead(in), *g = NULL, *s = NULL;
        if (!p) {
            fprintf(stderr, "mksheet: %s: cannot read\n", in);
            return 1;
        }
        g = color ? pixConvertTo32(p) : pixConvertTo8(p, 0);
        if (trim) {                  /* the page's ink only, 1 % margin */
            PIX *b = pixConvertTo1(g, 160);
            BOX *bx = NULL;
            if (b && !pixClipToForeground(b, NULL, &bx) && bx) {
                int m = pixGetWidth(g) / 100;
                boxAdjustSides(bx, bx, -m, m, -m, m);
                PIX *c = pixClipRectangle(g, bx, NULL);
                if (c) {
                    pixDestroy(&g);
                    g = c;
                }
            }
            boxDestroy(&bx);
            pixDestroy(&b);
        }
        double f = fmin((double)cw / pixGetWidth(g),
                        (double)ch / pixGetHeight(g));
        s = f < 1 ? pixScaleAreaMap(g, (float)f, (float)f)
                  : pixScale(g, (float)f, (float)f);
        if (!s) {
            fprintf(stderr, "mksheet: %s: cannot scale\n", in);
            return 1;
        }
        int x = (k % cols) * cw + (cw - pixGetWidth(s)) / 2;
        int y = (k / cols) * ch + (ch - pixGetHeight(s)) / 2;
        pixRasterop(sheet, x, y, pixGetWidth(s), pixGetHeight(s), PIX_SRC,
                    s, 0, 0);
        pixDestroy(&p);
        pixDestroy(&g);
        pixDestroy(&s);
    }
    add_noise(sheet, noise);
    if (write_tiff(out, sheet)) {
        fprintf(stderr, "mksheet: %s: cannot write\n", out);
        return 1;
    }
    pixDestroy(&sheet);
    return 0;
}
