/*
 * mksample.c — turn a clean rendered page into a simulated scanner file.
 *
 * Used by samples/make-samples.sh to make the project's own test batch.
 * Self-contained: it uses Leptonica, libtiff, libjpeg and libpng, and no
 * sohoa source.
 *
 * Function index
 *   main            parse the command line, run the steps, report errors
 *   parse_args      command line -> struct options (strict number parsing)
 *   load_gray       read the page (or one TIFF frame), give 8 bpp (255 = paper)
 *   rescale         scale to the output resolution (area map when shrinking)
 *   skew_page       small rotation, counter-clockwise positive, white in
 *   quarter_turn    0/90/180/270 counter-clockwise turn
 *   add_speckle     dark dust specks drawn into the 8 bpp page
 *   punch_holes     dark round holes (--hole: a punch or staple through a code)
 *   render_raster   page -> output samples: bilevel, gray or RGB, paper
 *                   tone, ink tone and Gaussian noise
 *   write_tiff      G4 (1 bit) or LZW (8 bit gray/RGB) TIFF, new or appended
 *   write_jpeg      baseline JPEG, gray or RGB, JFIF density in dpi
 *   write_png       8 bit gray or RGB PNG, pHYs only when a dpi is stored
 *   write_output    pick the writer; temporary name + rename, or TIFF append
 *   rng_*           splitmix64 generator and Box-Muller normal deviates
 *
 * Method
 *   The input is a clean page as text2image renders it (1 bpp, usually at
 *   600 dpi; text2image stores 300 dpi whatever it rendered at, so the true
 *   input resolution is given with --in-dpi).  The page is made 8 bpp,
 *   scaled to the output dpi (area mapping gives the anti-aliased edges a
 *   scanner's optics give), skewed by --skew degrees counter-clockwise with
 *   area-map interpolation and white brought in, then turned by --rot
 *   degrees counter-clockwise (the sheet fed sideways or upside down: the
 *   skew is applied first, on the upright sheet).  Dust specks are drawn,
 *   then every pixel v (0 = ink, 255 = paper) becomes
 *   ink + (paper - ink) * v / 255 + N(0, noise) for gray and RGB output (the
 *   RGB paper is slightly yellowed), or black when v < 128 for G4.
 *   All randomness comes from one splitmix64 stream seeded by --seed, so a
 *   run is reproducible byte for byte on the same libraries.
 *
 *   Leptonica's pixRotate() takes radians, clockwise positive, and
 *   pixRotate90() takes +1 for clockwise; this tool's --skew and --rot are
 *   both counter-clockwise positive (the convention of truth.json), so both
 *   are negated on the way in.
 *
 *   Non-append outputs are written to a temporary name beside the target
 *   and renamed into place; --append adds one frame (IFD) to a TIFF.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <leptonica/allheaders.h>
#include <tiffio.h>
#include <jpeglib.h>
#include <png.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

enum { FMT_G4, FMT_LZW, FMT_JPEG, FMT_PNG };
enum { COL_GRAY, COL_RGB };

/* Everything the command line sets; see usage() for meanings and ranges. */
struct options {
    const char *in, *out;
    int format;       /* FMT_* */
    int color;        /* COL_*; ignored for G4 */
    double skew;      /* degrees, counter-clockwise positive */
    int rot;          /* 0, 90, 180, 270 counter-clockwise */
    int dpi;          /* output resolution */
    int in_dpi;       /* input resolution; 0 = the file's, else 300 */
    int in_frame;     /* frame of a multi-page TIFF input, from 0 */
    uint64_t seed;
    double noise;     /* Gaussian sigma in gray levels; gray/RGB only */
    int speckle;      /* number of dust specks */
    int paper, ink;   /* gray levels of paper and ink */
    int quality;      /* JPEG quality */
    int append, no_dpi, verbose;
    const char *right; /* second page: make a two-up sheet (in | right) */
    int blank;         /* make a blank back instead: holes, staple,
                          bleed-through of --in, a page number */
    double holes[4][3]; /* --hole X,Y,D: centre and diameter, mm, on the
                           upright page before skew */
    int nholes;
};

/* An output raster: 8-bit samples, ncomp 1 (gray or bilevel 0/255) or 3. */
struct raster {
    int w, h, ncomp, bilevel;
    unsigned char *px;
};

static const char *prog = "mksample";

static void errf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void errf(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static void usage(FILE *f)
{
    fprintf(f,
        "usage: %s --in PAGE --out FILE --format g4|lzw|jpeg|png [options]\n"
        "Turn a clean rendered page into a simulated scanner file.\n"
        "  --in PAGE        clean page (any format Leptonica reads; 1 bpp text2image TIFF)\n"
        "  --out FILE       output file (written via a temporary name, unless --append)\n"
        "  --format F       g4 (1-bit TIFF CCITT G4), lzw (8-bit TIFF LZW),\n"
        "                   jpeg (baseline JPEG), png (8-bit PNG)\n"
        "  --color C        gray (default) or rgb; not with g4\n"
        "  --skew DEG       skew angle in degrees, counter-clockwise positive, |DEG| <= 45\n"
        "                   (default 0); applied to the upright sheet, before --rot\n"
        "  --rot R          0, 90, 180 or 270: counter-clockwise quarter turn of the\n"
        "                   skewed page (90 = fed sideways, 180 = upside down)\n"
        "  --dpi N          output resolution, 50..1200 (default 300)\n"
        "  --in-dpi N       resolution the input was rendered at (default: the file's,\n"
        "                   300 if it has none); text2image always stores 300\n"
        "  --in-frame N     read frame N (from 0) of a multi-page TIFF input (default 0)\n"
        "  --right PAGE     a two-up sheet: --in on the left, PAGE on the right, with a\n"
        "                   fold shadow between them (skew/rot apply to the whole sheet)\n"
        "  --blank          a blank back of --in's size: two punch holes, a staple,\n"
        "                   --in's text faintly mirrored (bleed-through), a page number\n"
        "  --hole X,Y,D     a dark round hole D mm across centred X,Y mm from the\n"
        "                   upright page's top left (up to 4; a punch through a code)\n"
        "  --seed N         seed of the noise and speckle (default 1)\n"
        "  --noise S        Gaussian noise sigma in gray levels, 0..64 (default 2.0;\n"
        "                   not used for g4)\n"
        "  --speckle N      number of dust specks, 0..100000 (default 120)\n"
        "  --paper L        paper gray level 128..255 (default 236)\n"
        "  --ink L          ink gray level 0..127 (default 28)\n"
        "  --quality Q      JPEG quality 1..100 (default 85)\n"
        "  --append         add the page as a new frame of an existing TIFF (g4/lzw)\n"
        "  --no-dpi         store no resolution in the file (TIFF: no resolution tags;\n"
        "                   JPEG: JFIF density unit 0, 1:1; PNG: no pHYs chunk)\n"
        "  -v, --verbose    print what was written\n"
        "  -h, --help       this text\n", prog);
}

/* ---- random numbers ---------------------------------------------------- */

struct rng {
    uint64_t s;
    int have_spare;
    double spare;
};

static uint64_t rng_next(struct rng *r)
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Uniform in [0, 1). */
static double rng_uniform(struct rng *r)
{
    return (double)(rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

/* Standard normal deviate (Box-Muller, both values used). */
static double rng_gauss(struct rng *r)
{
    double u, v;

    if (r->have_spare) {
        r->have_spare = 0;
        return r->spare;
    }
    do {
        u = rng_uniform(r);
    } while (u <= 1e-300);
    v = rng_uniform(r);
    r->spare = sqrt(-2.0 * log(u)) * sin(2.0 * M_PI * v);
    r->have_spare = 1;
    return sqrt(-2.0 * log(u)) * cos(2.0 * M_PI * v);
}

/* ---- command line ------------------------------------------------------ */

static int parse_long(const char *opt, const char *s, long lo, long hi, long *out)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) {
        errf("%s: '%s' is not an integer in %ld..%ld", opt, s, lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

static int parse_double(const char *opt, const char *s, double lo, double hi, double *out)
{
    char *end;
    double v;

    errno = 0;
    v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v) || v < lo || v > hi) {
        errf("%s: '%s' is not a number in %g..%g", opt, s, lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

/*
 * parse_args(): fill *o from argv.
 * Returns 0 on success, 1 when help was printed, -1 on a usage error
 * (message already printed).
 */
static int parse_args(int argc, char **argv, struct options *o)
{
    enum { O_IN = 256, O_OUT, O_FORMAT, O_COLOR, O_SKEW, O_ROT, O_DPI, O_INDPI, O_INFRAME,
           O_SEED, O_NOISE, O_SPECKLE, O_PAPER, O_INK, O_QUALITY, O_APPEND, O_NODPI };
    static const struct option lo[] = {
        {"right", required_argument, NULL, 'R'},
        {"blank", no_argument, NULL, 'B'},
        {"hole", required_argument, NULL, 'H'},
        {"in", required_argument, NULL, O_IN},
        {"out", required_argument, NULL, O_OUT},
        {"format", required_argument, NULL, O_FORMAT},
        {"color", required_argument, NULL, O_COLOR},
        {"skew", required_argument, NULL, O_SKEW},
        {"rot", required_argument, NULL, O_ROT},
        {"dpi", required_argument, NULL, O_DPI},
        {"in-dpi", required_argument, NULL, O_INDPI},
        {"in-frame", required_argument, NULL, O_INFRAME},
        {"seed", required_argument, NULL, O_SEED},
        {"noise", required_argument, NULL, O_NOISE},
        {"speckle", required_argument, NULL, O_SPECKLE},
        {"paper", required_argument, NULL, O_PAPER},
        {"ink", required_argument, NULL, O_INK},
        {"quality", required_argument, NULL, O_QUALITY},
        {"append", no_argument, NULL, O_APPEND},
        {"no-dpi", no_argument, NULL, O_NODPI},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}
    };
    long l;
    int c, have_format = 0;

    memset(o, 0, sizeof *o);
    o->color = COL_GRAY;
    o->dpi = 300;
    o->seed = 1;
    o->noise = 2.0;
    o->speckle = 120;
    o->paper = 236;
    o->ink = 28;
    o->quality = 85;

    while ((c = getopt_long(argc, argv, "vh", lo, NULL)) != -1) {
        switch (c) {
        case O_IN: o->in = optarg; break;
        case O_OUT: o->out = optarg; break;
        case O_FORMAT:
            have_format = 1;
            if (!strcmp(optarg, "g4")) o->format = FMT_G4;
            else if (!strcmp(optarg, "lzw")) o->format = FMT_LZW;
            else if (!strcmp(optarg, "jpeg") || !strcmp(optarg, "jpg")) o->format = FMT_JPEG;
            else if (!strcmp(optarg, "png")) o->format = FMT_PNG;
            else {
                errf("--format: '%s' is not one of g4, lzw, jpeg, png", optarg);
                return -1;
            }
            break;
        case O_COLOR:
            if (!strcmp(optarg, "gray")) o->color = COL_GRAY;
            else if (!strcmp(optarg, "rgb")) o->color = COL_RGB;
            else {
                errf("--color: '%s' is not gray or rgb", optarg);
                return -1;
            }
            break;
        case O_SKEW:
            if (parse_double("--skew", optarg, -45.0, 45.0, &o->skew)) return -1;
            break;
        case O_ROT:
            if (parse_long("--rot", optarg, 0, 270, &l)) return -1;
            if (l % 90) {
                errf("--rot: '%s' is not 0, 90, 180 or 270", optarg);
                return -1;
            }
            o->rot = (int)l;
            break;
        case O_DPI:
            if (parse_long("--dpi", optarg, 50, 1200, &l)) return -1;
            o->dpi = (int)l;
            break;
        case O_INDPI:
            if (parse_long("--in-dpi", optarg, 50, 2400, &l)) return -1;
            o->in_dpi = (int)l;
            break;
        case O_INFRAME:
            if (parse_long("--in-frame", optarg, 0, 100000, &l)) return -1;
            o->in_frame = (int)l;
            break;
        case O_SEED:
            if (parse_long("--seed", optarg, 0, 2147483647L, &l)) return -1;
            o->seed = (uint64_t)l;
            break;
        case O_NOISE:
            if (parse_double("--noise", optarg, 0.0, 64.0, &o->noise)) return -1;
            break;
        case O_SPECKLE:
            if (parse_long("--speckle", optarg, 0, 100000, &l)) return -1;
            o->speckle = (int)l;
            break;
        case O_PAPER:
            if (parse_long("--paper", optarg, 128, 255, &l)) return -1;
            o->paper = (int)l;
            break;
        case O_INK:
            if (parse_long("--ink", optarg, 0, 127, &l)) return -1;
            o->ink = (int)l;
            break;
        case O_QUALITY:
            if (parse_long("--quality", optarg, 1, 100, &l)) return -1;
            o->quality = (int)l;
            break;
        case O_APPEND: o->append = 1; break;
        case O_NODPI: o->no_dpi = 1; break;
        case 'R':
            o->right = optarg;
            break;
        case 'B':
            o->blank = 1;
            break;
        case 'H': {
            double *hv = o->holes[o->nholes];
            char extra;
            if (o->nholes == 4 || sscanf(optarg, "%lf,%lf,%lf%c", &hv[0], &hv[1],
                                         &hv[2], &extra) != 3 ||
                hv[0] < 0 || hv[1] < 0 || hv[2] <= 0 || hv[2] > 50) {
                errf("--hole: '%s' is not X,Y,D in mm (D 0..50; at most 4 holes)",
                     optarg);
                return -1;
            }
            o->nholes++;
            break;
        }
        case 'v': o->verbose = 1; break;
        case 'h': usage(stdout); return 1;
        default: usage(stderr); return -1;
        }
    }
    if (optind < argc) {
        errf("unexpected argument '%s'", argv[optind]);
        return -1;
    }
    if (!o->in || !o->out || !have_format) {
        errf("--in, --out and --format are required (see --help)");
        return -1;
    }
    if (o->format == FMT_G4 && o->color == COL_RGB) {
        errf("--color rgb cannot be written as G4 (1 bit)");
        return -1;
    }
    if (o->append && o->format != FMT_G4 && o->format != FMT_LZW) {
        errf("--append is only for TIFF output (g4, lzw)");
        return -1;
    }
    return 0;
}

/* ---- image steps ------------------------------------------------------- */

/*
 * load_gray(): read the page at path (frame `frame` of a multi-page TIFF
 * when frame > 0), return it as 8 bpp (0 = ink, 255 = paper), or NULL with
 * a message.  *pdpi is set to the stored x resolution (0 when absent).
 */
static PIX *load_gray(const char *path, int frame, int *pdpi)
{
    PIX *pixs = NULL, *pixg = NULL;
    l_int32 format = IFF_UNKNOWN, nframes = 0;

    *pdpi = 0;
    if (frame > 0) {
        FILE *fp;

        if (findFileFormat(path, &format) || !L_FORMAT_IS_TIFF(format)) {
            errf("%s: --in-frame %d asks for a frame, but this is not a TIFF", path, frame);
            goto out;
        }
        fp = fopen(path, "rb");
        if (!fp || tiffGetCount(fp, &nframes)) {
            errf("%s: cannot count the TIFF frames%s%s", path, fp ? "" : ": ",
                 fp ? "" : strerror(errno));
            if (fp)
                fclose(fp);
            goto out;
        }
        fclose(fp);
        if (frame >= nframes) {
            errf("%s: has %d frame(s); there is no frame %d (counted from 0)", path, nframes, frame);
            goto out;
        }
        pixs = pixReadTiff(path, frame);
    } else {
        pixs = pixRead(path);
    }
    if (!pixs) {
        errf("%s: cannot read the image%s (missing file or unknown format)", path,
             frame > 0 ? " frame" : "");
        goto out;
    }
    *pdpi = pixGetXRes(pixs);
    pixg = pixConvertTo8(pixs, 0);
    if (!pixg)
        errf("%s: cannot convert the %d bpp image to 8 bpp gray", path, pixGetDepth(pixs));
out:
    pixDestroy(&pixs);
    return pixg;
}

/* rescale(): 8 bpp page scaled by f; area map when shrinking. */
static PIX *rescale(PIX *pixg, double f)
{
    if (fabs(f - 1.0) < 1e-9)
        return pixClone(pixg);
    if (f < 1.0)
        return pixScaleAreaMap(pixg, (l_float32)f, (l_float32)f);
    return pixScaleGrayLI(pixg, (l_float32)f, (l_float32)f);
}

/*
 * skew_page(): rotate by deg degrees counter-clockwise (positive = the
 * text lines rise to the right), same size, white brought in.
 * Leptonica's pixRotate() angle is clockwise positive, hence the minus.
 */
/* Two pages side by side on one sheet, with a soft fold shadow. */
static PIX *two_up(PIX *l, PIX *r, int dpi)
{
    int wl = pixGetWidth(l), wr = pixGetWidth(r);
    int h = pixGetHeight(l) > pixGetHeight(r) ? pixGetHeight(l) : pixGetHeight(r);
    PIX *d = pixCreate(wl + wr, h, 8);
    if (!d)
        return NULL;
    pixSetAll(d);
    pixRasterop(d, 0, 0, wl, pixGetHeight(l), PIX_SRC, l, 0, 0);
    pixRasterop(d, wl, 0, wr, pixGetHeight(r), PIX_SRC, r, 0, 0);
    int band = dpi / 8; /* ~3 mm each side of the fold */
    for (int x = wl - band; x < wl + band; x++) {
        double t = 1.0 - fabs((double)(x - wl)) / band; /* 1 at the fold */
        for (int y = 0; y < h; y++) {
            l_uint32 v;
            pixGetPixel(d, x, y, &v);
            pixSetPixel(d, x, y, (l_uint32)(v * (1.0 - 0.45 * t * t)));
        }
    }
    return d;
}

/* A blank back: the front's print faintly mirrored, two punch holes, a
   staple, and a page number at the bottom. */
static PIX *blank_back(PIX *front, int dpi)
{
    int w = pixGetWidth(front), h = pixGetHeight(front);
    PIX *m = pixFlipLR(NULL, front);
    PIX *d = m ? pixCreate(w, h, 8) : NULL;
    if (!d) {
        pixDestroy(&m);
        return NULL;
    }
    /* bleed-through: ink at ~200 on white */
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            l_uint32 v;
            pixGetPixel(m, x, y, &v);
            pixSetPixel(d, x, y, 255 - (255 - v) * 55 / 255);
        }
    pixDestroy(&m);
    double mm = dpi / 25.4;
    for (int k = 0; k < 2; k++) { /* holes 6 mm, 80 mm apart, 12 mm in */
        int cx = (int)(12 * mm), cy = h / 2 + (k ? 40 : -40) * (int)mm;
        int rr = (int)(3 * mm);
        for (int y = -rr; y <= rr; y++)
            for (int x = -rr; x <= rr; x++)
                if (x * x + y * y <= rr * rr)
                    pixSetPixel(d, cx + x, cy + y, 20);
    }
    for (int t = 0; t < (int)(12 * mm); t++) /* staple at 45 degrees */
        for (int u = 0; u < (int)(0.8 * mm); u++)
            pixSetPixel(d, (int)(8 * mm) + t + u, (int)(20 * mm) - t + u, 40);
    L_BMF *bmf = bmfCreate(NULL, 10);
    if (bmf) {
        pixSetTextline(d, bmf, "- 2 -", 0x30303000, w / 2 - dpi / 4,
                       h - (int)(12 * mm), NULL, NULL);
        bmfDestroy(&bmf);
    }
    return d;
}

static PIX *skew_page(PIX *pixg, double deg)
{
    if (deg == 0.0)
        return pixClone(pixg);
    return pixRotate(pixg, (l_float32)(-deg * M_PI / 180.0), L_ROTATE_AREA_MAP,
                     L_BRING_IN_WHITE, 0, 0);
}

/* quarter_turn(): turn by rot (0/90/180/270) degrees counter-clockwise. */
static PIX *quarter_turn(PIX *pixg, int rot)
{
    switch (rot) {
    case 90: return pixRotate90(pixg, -1);   /* -1 = counter-clockwise */
    case 180: return pixRotate180(NULL, pixg);
    case 270: return pixRotate90(pixg, 1);
    default: return pixClone(pixg);
    }
}

/*
 * add_speckle(): draw n dark round specks (radius 0.6..2 px, darkness
 * 40..200) at random places into the 8 bpp page.
 */
static void add_speckle(PIX *pixg, struct rng *r, int n)
{
    l_int32 w, h, wpl = pixGetWpl(pixg);
    l_uint32 *data = pixGetData(pixg);
    int i, x, y, x0, y0, ir;
    double rad, cx, cy;
    unsigned level;

    pixGetDimensions(pixg, &w, &h, NULL);
    for (i = 0; i < n; i++) {
        cx = rng_uniform(r) * w;
        cy = rng_uniform(r) * h;
        rad = 0.6 + 1.4 * rng_uniform(r);
        level = 40u + (unsigned)(160.0 * rng_uniform(r));
        ir = (int)ceil(rad);
        x0 = (int)cx;
        y0 = (int)cy;
        for (y = y0 - ir; y <= y0 + ir; y++) {
            if (y < 0 || y >= h)
                continue;
            for (x = x0 - ir; x <= x0 + ir; x++) {
                double dx = x + 0.5 - cx, dy = y + 0.5 - cy;
                l_uint32 *line = data + (size_t)y * wpl;
                if (x < 0 || x >= w || dx * dx + dy * dy > rad * rad)
                    continue;
                if (GET_DATA_BYTE(line, x) > level)
                    SET_DATA_BYTE(line, x, level);
            }
        }
    }
}

static unsigned char clamp255(double v)
{
    if (v <= 0.0) return 0;
    if (v >= 255.0) return 255;
    return (unsigned char)lround(v);
}

/*
 * render_raster(): page -> output samples in *ras (caller frees ras->px).
 * G4: black where v < 128.  Gray/RGB: ink + (paper - ink) * v / 255 plus
 * N(0, noise); the RGB paper is yellowed (+6 red, -14 blue) and the ink
 * slightly blue.  Returns 0, or -1 when out of memory.
 */
/*
 * punch_holes(): the --hole disks, dark (a hole seen against the scanner's
 * dark backing), drawn into the upright 8 bpp page at dpi.
 */
static void punch_holes(PIX *pixg, const struct options *o, int dpi)
{
    l_int32 w, h, wpl = pixGetWpl(pixg);
    l_uint32 *data = pixGetData(pixg);
    double k = dpi / 25.4;

    pixGetDimensions(pixg, &w, &h, NULL);
    for (int i = 0; i < o->nholes; i++) {
        double cx = o->holes[i][0] * k, cy = o->holes[i][1] * k;
        double rad = o->holes[i][2] * k / 2;
        for (int y = (int)(cy - rad); y <= (int)(cy + rad) + 1; y++)
            for (int x = (int)(cx - rad); x <= (int)(cx + rad) + 1; x++) {
                double dx = x + 0.5 - cx, dy = y + 0.5 - cy;
                if (x < 0 || y < 0 || x >= w || y >= h ||
                    dx * dx + dy * dy > rad * rad)
                    continue;
                SET_DATA_BYTE(data + (size_t)y * wpl, x, 20);
            }
    }
}

static int render_raster(PIX *pixg, const struct options *o, struct rng *r, struct raster *ras)
{
    static const int paper_tint[3] = {6, 0, -14}, ink_tint[3] = {0, 0, 18};
    l_int32 w, h, wpl = pixGetWpl(pixg);
    l_uint32 *data = pixGetData(pixg);
    int x, y, c;
    unsigned char *p;

    pixGetDimensions(pixg, &w, &h, NULL);
    ras->w = w;
    ras->h = h;
    ras->bilevel = o->format == FMT_G4;
    ras->ncomp = (!ras->bilevel && o->color == COL_RGB) ? 3 : 1;
    ras->px = malloc((size_t)w * h * ras->ncomp);
    if (!ras->px) {
        errf("out of memory for a %dx%d page", w, h);
        return -1;
    }
    p = ras->px;
    for (y = 0; y < h; y++) {
        const l_uint32 *line = data + (size_t)y * wpl;
        for (x = 0; x < w; x++) {
            double v = GET_DATA_BYTE(line, x) / 255.0, n;
            if (ras->bilevel) {
                *p++ = v < 0.5 ? 0 : 255;
                continue;
            }
            n = o->noise > 0.0 ? o->noise * rng_gauss(r) : 0.0;
            if (ras->ncomp == 1) {
                *p++ = clamp255(o->ink + (o->paper - o->ink) * v + n);
                continue;
            }
            for (c = 0; c < 3; c++) {
                double pc = o->paper + paper_tint[c], ic = o->ink + ink_tint[c];
                *p++ = clamp255(ic + (pc - ic) * v + n);
            }
        }
    }
    return 0;
}

/* ---- writers ----------------------------------------------------------- */

static void tiff_msg(const char *module, const char *fmt, va_list ap)
{
    fprintf(stderr, "%s: libtiff: %s: ", prog, module ? module : "");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

static void tiff_warn(const char *module, const char *fmt, va_list ap)
{
    (void)module; (void)fmt; (void)ap;    /* unknown-tag chatter: not ours */
}

/*
 * write_tiff(): one frame to path: G4 (1 bit, min-is-white, one strip)
 * or LZW (8 bit gray or RGB, horizontal predictor, 64-row strips).
 * mode "w" creates, "a" appends a frame.  dpi 0 = no resolution tags.
 * Returns 0 or -1.
 */
static int write_tiff(const char *path, const char *mode, const struct raster *ras, int dpi)
{
    TIFF *t = NULL;
    unsigned char *row = NULL;
    size_t rowbytes;
    int x, y, rc = -1;

    t = TIFFOpen(path, mode);
    if (!t) {
        errf("%s: cannot open for %s as TIFF", path, *mode == 'a' ? "appending" : "writing");
        goto out;
    }
    TIFFSetField(t, TIFFTAG_IMAGEWIDTH, (uint32_t)ras->w);
    TIFFSetField(t, TIFFTAG_IMAGELENGTH, (uint32_t)ras->h);
    TIFFSetField(t, TIFFTAG_ORIENTATION, ORIENTATION_TOPLEFT);
    TIFFSetField(t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
    TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, (uint16_t)ras->ncomp);
    if (ras->bilevel) {
        TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, (uint16_t)1);
        TIFFSetField(t, TIFFTAG_COMPRESSION, COMPRESSION_CCITTFAX4);
        TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISWHITE);
        TIFFSetField(t, TIFFTAG_FILLORDER, FILLORDER_MSB2LSB);
        TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, (uint32_t)ras->h);
        rowbytes = ((size_t)ras->w + 7) / 8;
    } else {
        TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, (uint16_t)8);
        TIFFSetField(t, TIFFTAG_COMPRESSION, COMPRESSION_LZW);
        TIFFSetField(t, TIFFTAG_PREDICTOR, PREDICTOR_HORIZONTAL);
        TIFFSetField(t, TIFFTAG_PHOTOMETRIC,
                     ras->ncomp == 3 ? PHOTOMETRIC_RGB : PHOTOMETRIC_MINISBLACK);
        TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, TIFFDefaultStripSize(t, 64));
        rowbytes = (size_t)ras->w * ras->ncomp;
    }
    if (dpi > 0) {
        TIFFSetField(t, TIFFTAG_XRESOLUTION, (float)dpi);
        TIFFSetField(t, TIFFTAG_YRESOLUTION, (float)dpi);
        TIFFSetField(t, TIFFTAG_RESOLUTIONUNIT, RESUNIT_INCH);
    }
    row = malloc(rowbytes);
    if (!row) {
        errf("%s: out of memory", path);
        goto out;
    }
    for (y = 0; y < ras->h; y++) {
        const unsigned char *src = ras->px + (size_t)y * ras->w * ras->ncomp;
        if (ras->bilevel) {
            memset(row, 0, rowbytes);
            for (x = 0; x < ras->w; x++)
                if (!src[x])                      /* black = 1 (min-is-white) */
                    row[x >> 3] |= (unsigned char)(0x80 >> (x & 7));
        } else {
            memcpy(row, src, rowbytes);
        }
        if (TIFFWriteScanline(t, row, (uint32_t)y, 0) < 0) {
            errf("%s: writing row %d failed", path, y);
            goto out;
        }
    }
    if (!TIFFWriteDirectory(t)) {
        errf("%s: writing the TIFF directory failed", path);
        goto out;
    }
    rc = 0;
out:
    if (t)
        TIFFClose(t);
    free(row);
    return rc;
}

struct jpeg_err {
    struct jpeg_error_mgr pub;
    jmp_buf jb;
    char msg[JMSG_LENGTH_MAX];
};

static void jpeg_err_exit(j_common_ptr cinfo)
{
    struct jpeg_err *e = (struct jpeg_err *)cinfo->err;
    (*cinfo->err->format_message)(cinfo, e->msg);
    longjmp(e->jb, 1);
}

/*
 * write_jpeg(): baseline JPEG of ras into the open stream f.  dpi 0 =
 * JFIF density unit 0 (aspect ratio only).  Returns 0 or -1.
 */
static int write_jpeg(FILE *f, const char *path, const struct raster *ras, int quality, int dpi)
{
    struct jpeg_compress_struct cinfo;
    struct jpeg_err jerr;
    JSAMPROW rowp;

    memset(&cinfo, 0, sizeof cinfo);
    cinfo.err = jpeg_std_error(&jerr.pub);
    jerr.pub.error_exit = jpeg_err_exit;
    if (setjmp(jerr.jb)) {
        errf("%s: libjpeg: %s", path, jerr.msg);
        jpeg_destroy_compress(&cinfo);
        return -1;
    }
    jpeg_create_compress(&cinfo);
    jpeg_stdio_dest(&cinfo, f);
    cinfo.image_width = (JDIMENSION)ras->w;
    cinfo.image_height = (JDIMENSION)ras->h;
    cinfo.input_components = ras->ncomp;
    cinfo.in_color_space = ras->ncomp == 3 ? JCS_RGB : JCS_GRAYSCALE;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, quality, TRUE);
    cinfo.write_JFIF_header = TRUE;
    if (dpi > 0) {
        cinfo.density_unit = 1;
        cinfo.X_density = cinfo.Y_density = (UINT16)dpi;
    } else {
        cinfo.density_unit = 0;
        cinfo.X_density = cinfo.Y_density = 1;
    }
    jpeg_start_compress(&cinfo, TRUE);
    while (cinfo.next_scanline < cinfo.image_height) {
        rowp = ras->px + (size_t)cinfo.next_scanline * ras->w * ras->ncomp;
        jpeg_write_scanlines(&cinfo, &rowp, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    return 0;
}

/* Called by libpng on an error: report, then unwind to write_png's setjmp. */
static void png_err(png_structp png, png_const_charp msg)
{
    const char *path = png_get_error_ptr(png);
    errf("%s: libpng: %s", path ? path : "?", msg);
    png_longjmp(png, 1);
}

static void png_warn(png_structp png, png_const_charp msg)
{
    (void)png; (void)msg;
}

/*
 * write_png(): 8-bit gray or RGB PNG of ras into the open stream f,
 * zlib level 9.  A pHYs chunk (pixels per metre) only when dpi > 0.
 * Returns 0 or -1.
 */
static int write_png(FILE *f, const char *path, const struct raster *ras, int dpi)
{
    png_structp png;
    png_infop info = NULL;
    int y;

    png = png_create_write_struct(PNG_LIBPNG_VER_STRING, (png_voidp)path, png_err, png_warn);
    if (!png) {
        errf("%s: cannot create a libpng writer", path);
        return -1;
    }
    info = png_create_info_struct(png);
    if (!info) {
        errf("%s: cannot create a libpng info struct", path);
        png_destroy_write_struct(&png, NULL);
        return -1;
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        return -1;
    }
    png_init_io(png, f);
    png_set_compression_level(png, 9);
    png_set_IHDR(png, info, (png_uint_32)ras->w, (png_uint_32)ras->h, 8,
                 ras->ncomp == 3 ? PNG_COLOR_TYPE_RGB : PNG_COLOR_TYPE_GRAY,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (dpi > 0) {
        png_uint_32 ppm = (png_uint_32)lround(dpi / 0.0254);
        png_set_pHYs(png, info, ppm, ppm, PNG_RESOLUTION_METER);
    }
    png_write_info(png, info);
    for (y = 0; y < ras->h; y++)
        png_write_row(png, ras->px + (size_t)y * ras->w * ras->ncomp);
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    return 0;
}

/*
 * write_output(): write ras as o->format to o->out.  TIFF appends go to
 * the file itself; everything else goes to OUT.tmp.PID, then rename().
 * Returns 0 or -1 (a failed temporary file is removed).
 */
static int write_output(const struct options *o, const struct raster *ras)
{
    int dpi = o->no_dpi ? 0 : o->dpi, rc = -1;
    char *tmp = NULL;
    FILE *f = NULL;

    if (o->append) {
        /* libtiff's "a" silently starts afresh over a file that is not a
         * TIFF: refuse rather than destroy it.  A missing file is created. */
        l_int32 format = IFF_UNKNOWN;
        if (access(o->out, F_OK) == 0 &&
            (findFileFormat(o->out, &format) || !L_FORMAT_IS_TIFF(format))) {
            errf("%s: --append: the file exists and is not a TIFF; not touching it", o->out);
            return -1;
        }
        return write_tiff(o->out, "a", ras, dpi);
    }
    if (asprintf(&tmp, "%s.tmp.%ld", o->out, (long)getpid()) < 0) {
        tmp = NULL;
        errf("%s: out of memory", o->out);
        goto out;
    }
    if (o->format == FMT_G4 || o->format == FMT_LZW) {
        if (write_tiff(tmp, "w", ras, dpi))
            goto out;
    } else {
        f = fopen(tmp, "wb");
        if (!f) {
            errf("%s: cannot create: %s", tmp, strerror(errno));
            goto out;
        }
        if (o->format == FMT_JPEG ? write_jpeg(f, o->out, ras, o->quality, dpi)
                                  : write_png(f, o->out, ras, dpi))
            goto out;
        if (fflush(f) || ferror(f)) {
            errf("%s: write error: %s", tmp, strerror(errno));
            goto out;
        }
        if (fclose(f)) {
            f = NULL;
            errf("%s: close failed: %s", tmp, strerror(errno));
            goto out;
        }
        f = NULL;
    }
    if (rename(tmp, o->out)) {
        errf("cannot rename %s to %s: %s", tmp, o->out, strerror(errno));
        goto out;
    }
    rc = 0;
out:
    if (f)
        fclose(f);
    if (rc && tmp)
        unlink(tmp);
    free(tmp);
    return rc;
}

/* ---- main -------------------------------------------------------------- */

int main(int argc, char **argv)
{
    static const char *fmt_name[] = {"tif-g4", "tif-lzw", "jpg", "png"};
    struct options o;
    struct rng r = {0, 0, 0.0};
    struct raster ras = {0, 0, 0, 0, NULL};
    PIX *pixg = NULL, *pixs = NULL, *pixk = NULL, *pixt = NULL;
    int file_dpi, in_dpi, rc;

    setMsgSeverity(L_SEVERITY_NONE);
    TIFFSetErrorHandler(tiff_msg);
    TIFFSetWarningHandler(tiff_warn);

    rc = parse_args(argc, argv, &o);
    if (rc)
        return rc > 0 ? 0 : 2;
    rc = 1;
    r.s = o.seed * 0x2545F4914F6CDD1Dull + 0x632BE59BD9B4E019ull;

    pixg = load_gray(o.in, o.in_frame, &file_dpi);
    if (!pixg)
        goto out;
    in_dpi = o.in_dpi ? o.in_dpi : file_dpi > 0 ? file_dpi : 300;
    pixs = rescale(pixg, (double)o.dpi / in_dpi);
    if (!pixs) {
        errf("%s: scaling from %d to %d dpi failed", o.in, in_dpi, o.dpi);
        goto out;
    }
    if (o.right || o.blank) {
        PIX *sheet = NULL;
        if (o.right) {
            int rdpi;
            PIX *rg = load_gray(o.right, 0, &rdpi);
            PIX *rs = rg ? rescale(rg, (double)o.dpi / (o.in_dpi ? o.in_dpi
                                   : rdpi > 0 ? rdpi : 300)) : NULL;
            sheet = rs ? two_up(pixs, rs, o.dpi) : NULL;
            pixDestroy(&rg);
            pixDestroy(&rs);
        } else {
            sheet = blank_back(pixs, o.dpi);
        }
        if (!sheet) {
            errf("%s: cannot make the %s", o.in, o.right ? "two-up sheet"
                                                         : "blank back");
            goto out;
        }
        pixDestroy(&pixs);
        pixs = sheet;
    }
    if (o.nholes)
        punch_holes(pixs, &o, o.dpi);
    pixk = skew_page(pixs, o.skew);
    if (!pixk) {
        errf("%s: rotating by %.3f degrees failed", o.in, o.skew);
        goto out;
    }
    pixt = quarter_turn(pixk, o.rot);
    if (!pixt) {
        errf("%s: quarter turn by %d degrees failed", o.in, o.rot);
        goto out;
    }
    /* pixt may share pixels with the input (a clone): draw on a copy. */
    pixDestroy(&pixg);
    pixg = pixCopy(NULL, pixt);
    if (!pixg) {
        errf("%s: out of memory", o.in);
        goto out;
    }
    add_speckle(pixg, &r, o.speckle);
    if (render_raster(pixg, &o, &r, &ras))
        goto out;
    if (write_output(&o, &ras))
        goto out;
    if (o.verbose)
        fprintf(stderr, "%s: %s -> %s%s: %s %dx%d %s, %d dpi%s, skew %+.3f, rot %d, seed %llu\n",
                prog, o.in, o.out, o.append ? " (appended frame)" : "", fmt_name[o.format],
                ras.w, ras.h, ras.bilevel ? "bilevel" : ras.ncomp == 3 ? "rgb" : "gray",
                o.dpi, o.no_dpi ? " (not stored)" : "", o.skew, o.rot,
                (unsigned long long)o.seed);
    rc = 0;
out:
    pixDestroy(&pixg);
    pixDestroy(&pixs);
    pixDestroy(&pixk);
    pixDestroy(&pixt);
    free(ras.px);
    return rc;
}
