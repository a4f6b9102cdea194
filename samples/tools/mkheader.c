/*
 * mkheader.c — compose a clean page from lines rendered by text2image, for
 * pages laid out as Nghị định 30/2020 first pages (two header columns,
 * centred title, body): the generator of tests/fields.
 *
 * Self-contained: Leptonica only, no sohoa source.
 *
 *   mkheader SPEC      (SPEC "-" = standard input)
 *
 * SPEC holds one command per line ('#' starts a comment):
 *   canvas W H                    a white page W × H px (1 bpp)
 *   render ID TIF BOX [N]         a text2image render (1 bpp TIFF) and its
 *                                 .box file; its text lines are found from
 *                                 the character boxes (see Method); with N,
 *                                 it is an error unless N lines are found
 *   line ID K ANCHOR X BASE       copy text line K (from 0, top to bottom)
 *                                 of render ID so that its baseline lies at
 *                                 y = BASE and its ink's left edge (ANCHOR
 *                                 l), centre (c) or right edge (r) at x = X
 *   block ID X Y [MAXH]           copy the ink box of the whole render with
 *                                 its top-left corner at (X, Y), at most
 *                                 MAXH px of it (body text)
 *   rule X0 X1 Y T                a horizontal rule, T px thick
 *   uline FRAC DY T               a rule under the line placed last,
 *                                 centred on it, FRAC (0..1) of its width,
 *                                 DY px below its baseline, T px thick
 *   out PATH                      write the page (format from the name:
 *                                 .png, else TIFF G4)
 * Every command is checked; an error names the spec line and stops with
 * status 1.  Coordinates are page px, top-left origin.
 *
 * Function index
 *   main          read the spec, run the commands
 *   load_render   read a render and group its character boxes into lines
 *   put_line      copy one line to the page (painted: ink is OR-ed)
 *
 * Method
 *   A .box file row is "CHAR LEFT BOTTOM RIGHT TOP PAGE" with a bottom-left
 *   origin.  Boxes are turned to top-left coordinates and sorted by their
 *   vertical centre; a box whose centre is more than the median box height
 *   below the centre of the line's first box starts a new line (marks
 *   above capitals move the centre far less than that; render with a
 *   generous --leading so that lines stay well apart).  A line's baseline is the
 *   median of its boxes' bottoms; its band runs halfway to the lines above
 *   and below, so marks above and descenders below come along whole.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <leptonica/allheaders.h>

#define MAX_RENDERS 16
#define MAX_LINES 256

typedef struct line_info {
    int x0, x1;            /* ink extent                                  */
    int top, bot;          /* band to copy                                */
    int base;              /* baseline y                                  */
} line_info;

typedef struct render {
    char id[32];
    PIX *pix;              /* 1 bpp                                       */
    int nlines;
    line_info ln[MAX_LINES];
    int ix0, iy0, ix1, iy1; /* ink box of all characters                  */
} render;

typedef struct cbox {
    int x0, y0, x1, y1;
} cbox;

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

static int cmp_cy(const void *a, const void *b)
{
    const cbox *p = a, *q = b;
    int x = p->y0 + p->y1, y = q->y0 + q->y1;
    return (x > y) - (x < y);
}

/* Read TIF and BOX into r; 0 on success, else a message in err. */
static int load_render(render *r, const char *tif, const char *boxf,
                       char *err, size_t errn)
{
    r->pix = pixRead(tif);
    if (!r->pix) {
        snprintf(err, errn, "cannot read image %s", tif);
        return 1;
    }
    if (pixGetDepth(r->pix) != 1) {
        PIX *b = pixConvertTo1(r->pix, 128);
        pixDestroy(&r->pix);
        r->pix = b;
        if (!b) {
            snprintf(err, errn, "cannot binarise %s", tif);
            return 1;
        }
    }
    int H = (int)pixGetHeight(r->pix);
    FILE *fp = fopen(boxf, "r");
    if (!fp) {
        snprintf(err, errn, "cannot open %s", boxf);
        return 1;
    }
    size_t cap = 1024, n = 0;
    cbox *bx = malloc(cap * sizeof *bx);
    char buf[512];
    while (bx && fgets(buf, sizeof buf, fp)) {
        /* the character may be a space or a tab: parse from the end */
        int l, b, rr, t, pg;
        char *p = buf + strlen(buf);
        int field = 0;
        char *fields[5];
        while (p > buf && field < 5) {
            while (p > buf && isspace((unsigned char)p[-1]))
                *--p = 0;
            while (p > buf && !isspace((unsigned char)p[-1]))
                p--;
            fields[4 - field++] = p;
        }
        if (field < 5)
            continue;
        l = atoi(fields[0]);
        b = atoi(fields[1]);
        rr = atoi(fields[2]);
        t = atoi(fields[3]);
        pg = atoi(fields[4]);
        /* spaces and tabs have boxes too: skip them */
        if (p == buf || isspace((unsigned char)buf[0]) || pg != 0 ||
            rr - l < 2 || t - b < 2)
            continue;
        if (n == cap) {
            cap *= 2;
            cbox *nb = realloc(bx, cap * sizeof *bx);
            if (!nb)
                break;
            bx = nb;
        }
        bx[n].x0 = l;
        bx[n].x1 = rr;
        bx[n].y0 = H - t;
        bx[n].y1 = H - b;
        n++;
    }
    fclose(fp);
    if (!bx || n == 0) {
        free(bx);
        snprintf(err, errn, "%s: no character boxes", boxf);
        return 1;
    }
    qsort(bx, n, sizeof *bx, cmp_cy);
    int *hs = malloc(n * sizeof *hs);
    if (!hs) {
        free(bx);
        snprintf(err, errn, "out of memory");
        return 1;
    }
    for (size_t i = 0; i < n; i++)
        hs[i] = bx[i].y1 - bx[i].y0;
    qsort(hs, n, sizeof *hs, cmp_int);
    int hmed = hs[n / 2];
    r->nlines = 0;
    r->ix0 = r->iy0 = 1 << 30;
    r->ix1 = r->iy1 = -1;
    size_t s = 0;
    while (s < n && r->nlines < MAX_LINES) {
        size_t e = s + 1;
        double cy = (bx[s].y0 + bx[s].y1) / 2.0;
        while (e < n && (bx[e].y0 + bx[e].y1) / 2.0 - cy <= hmed)
            e++;
        line_info *li = &r->ln[r->nlines++];
        li->x0 = li->top = 1 << 30;
        li->x1 = li->bot = -1;
        int nb = 0;
        for (size_t k = s; k < e; k++) {
            if (bx[k].x0 < li->x0) li->x0 = bx[k].x0;
            if (bx[k].x1 > li->x1) li->x1 = bx[k].x1;
            if (bx[k].y0 < li->top) li->top = bx[k].y0;
            if (bx[k].y1 > li->bot) li->bot = bx[k].y1;
            hs[nb++] = bx[k].y1;
        }
        qsort(hs, (size_t)nb, sizeof *hs, cmp_int);
        li->base = hs[nb / 2];
        if (li->x0 < r->ix0) r->ix0 = li->x0;
        if (li->x1 > r->ix1) r->ix1 = li->x1;
        if (li->top < r->iy0) r->iy0 = li->top;
        if (li->bot > r->iy1) r->iy1 = li->bot;
        s = e;
    }
    /* bands: halfway to the neighbours, and a margin at the ends */
    for (int i = 0; i < r->nlines; i++) {
        line_info *li = &r->ln[i];
        int top = i ? (r->ln[i - 1].bot + li->top) / 2 : li->top - hmed / 2;
        int bot = i + 1 < r->nlines ? (li->bot + r->ln[i + 1].top) / 2
                                    : li->bot + hmed / 2;
        li->top = top < 0 ? 0 : top;
        li->bot = bot > H ? H : bot;
    }
    free(hs);
    free(bx);
    return 0;
}

/* Paint rectangle (sx, sy, w, h) of src onto dst at (dx, dy). */
static void paint(PIX *dst, int dx, int dy, PIX *src, int sx, int sy, int w,
                  int h)
{
    pixRasterop(dst, dx, dy, w, h, PIX_SRC | PIX_DST, src, sx, sy);
}

/* Where the last line went (for uline). */
static int last_x0 = -1, last_x1, last_base;

static void put_line(PIX *page, const render *r, int k, char anchor, int x,
                     int base)
{
    const line_info *li = &r->ln[k];
    int pad = 4;
    int w = li->x1 - li->x0 + 2 * pad;
    int dx = anchor == 'l' ? x : anchor == 'r' ? x - (li->x1 - li->x0)
                                               : x - (li->x1 - li->x0) / 2;
    int dy = base - (li->base - li->top);
    paint(page, dx - pad, dy, r->pix, li->x0 - pad, li->top, w,
          li->bot - li->top);
    last_x0 = dx;
    last_x1 = dx + (li->x1 - li->x0);
    last_base = base;
}

static render *find_render(render *rs, int n, const char *id)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(rs[i].id, id))
            return &rs[i];
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        fprintf(argc == 2 ? stdout : stderr,
                "usage: mkheader SPEC   (SPEC - = stdin; see mkheader.c)\n");
        return argc == 2 ? 0 : 2;
    }
    setMsgSeverity(L_SEVERITY_NONE);
    FILE *fp = strcmp(argv[1], "-") ? fopen(argv[1], "r") : stdin;
    if (!fp) {
        fprintf(stderr, "mkheader: cannot open %s\n", argv[1]);
        return 1;
    }
    static render rs[MAX_RENDERS];
    int nr = 0, lineno = 0, rc = 0;
    PIX *page = NULL;
    char buf[2048], err[2600] = "";
    while (!rc && fgets(buf, sizeof buf, fp)) {
        lineno++;
        char *hash = strchr(buf, '#');
        if (hash)
            *hash = 0;
        char cmd[32], a[1024], b[1024], c[32];
        int i1, i2, i3, i4;
        if (sscanf(buf, "%31s", cmd) != 1)
            continue;
        if (!strcmp(cmd, "canvas")) {
            if (sscanf(buf, "%*s %d %d", &i1, &i2) != 2 || i1 < 1 || i2 < 1 ||
                i1 > 20000 || i2 > 20000) {
                snprintf(err, sizeof err, "canvas W H expected");
                rc = 1;
                break;
            }
            pixDestroy(&page);
            page = pixCreate(i1, i2, 1);
            pixSetResolution(page, 600, 600);
        } else if (!strcmp(cmd, "render")) {
            char id[32];
            i1 = -1;
            if (sscanf(buf, "%*s %31s %1023s %1023s %d", id, a, b, &i1) < 3 ||
                nr == MAX_RENDERS) {
                snprintf(err, sizeof err, "render ID TIF BOX expected (at "
                         "most %d renders)", MAX_RENDERS);
                rc = 1;
                break;
            }
            render *r = find_render(rs, nr, id);
            if (r)
                pixDestroy(&r->pix);
            else
                r = &rs[nr++];
            memset(r, 0, sizeof *r);
            snprintf(r->id, sizeof r->id, "%s", id);
            rc = load_render(r, a, b, err, sizeof err);
            if (!rc && i1 >= 0 && r->nlines != i1) {
                snprintf(err, sizeof err, "%s: %d lines found, %d expected "
                         "(a line wrapped or split)", b, r->nlines, i1);
                rc = 1;
            }
        } else if (!strcmp(cmd, "line")) {
            char id[32];
            if (sscanf(buf, "%*s %31s %d %31s %d %d", id, &i1, c, &i2, &i3) !=
                    5 || !page) {
                snprintf(err, sizeof err, "line ID K l|c|r X BASE expected "
                         "after canvas");
                rc = 1;
                break;
            }
            render *r = find_render(rs, nr, id);
            if (!r || i1 < 0 || i1 >= r->nlines || !strchr("lcr", c[0])) {
                snprintf(err, sizeof err, "no line %d in render %s (it has "
                         "%d)", i1, id, r ? r->nlines : 0);
                rc = 1;
                break;
            }
            put_line(page, r, i1, c[0], i2, i3);
        } else if (!strcmp(cmd, "block")) {
            char id[32];
            i4 = 1 << 30;
            int got = sscanf(buf, "%*s %31s %d %d %d", id, &i1, &i2, &i4);
            render *r = got >= 3 ? find_render(rs, nr, id) : NULL;
            if (!r || !page) {
                snprintf(err, sizeof err, "block ID X Y [MAXH] expected, "
                         "after canvas and render");
                rc = 1;
                break;
            }
            int h = r->iy1 - r->iy0 + 8;
            if (h > i4)
                h = i4;
            paint(page, i1, i2, r->pix, r->ix0 - 4, r->iy0 - 4,
                  r->ix1 - r->ix0 + 8, h);
        } else if (!strcmp(cmd, "rule")) {
            if (sscanf(buf, "%*s %d %d %d %d", &i1, &i2, &i3, &i4) != 4 ||
                !page || i2 <= i1 || i4 < 1) {
                snprintf(err, sizeof err, "rule X0 X1 Y T expected after "
                         "canvas");
                rc = 1;
                break;
            }
            pixRasterop(page, i1, i3, i2 - i1, i4, PIX_SET, NULL, 0, 0);
        } else if (!strcmp(cmd, "uline")) {
            double frac;
            if (sscanf(buf, "%*s %lf %d %d", &frac, &i1, &i2) != 3 || !page ||
                last_x0 < 0 || frac <= 0 || frac > 1 || i2 < 1) {
                snprintf(err, sizeof err, "uline FRAC DY T expected after "
                         "a line");
                rc = 1;
                break;
            }
            int w = (int)((last_x1 - last_x0) * frac);
            int cx = (last_x0 + last_x1) / 2;
            pixRasterop(page, cx - w / 2, last_base + i1, w, i2, PIX_SET,
                        NULL, 0, 0);
        } else if (!strcmp(cmd, "out")) {
            if (sscanf(buf, "%*s %1023s", a) != 1 || !page) {
                snprintf(err, sizeof err, "out PATH expected after canvas");
                rc = 1;
                break;
            }
            size_t l = strlen(a);
            int fmt = l > 4 && !strcmp(a + l - 4, ".png") ? IFF_PNG
                                                          : IFF_TIFF_G4;
            if (pixWrite(a, page, fmt)) {
                snprintf(err, sizeof err, "cannot write %s", a);
                rc = 1;
            }
        } else {
            snprintf(err, sizeof err, "unknown command '%s'", cmd);
            rc = 1;
        }
    }
    if (rc)
        fprintf(stderr, "mkheader: %s:%d: %s\n", argv[1], lineno, err);
    if (fp != stdin)
        fclose(fp);
    for (int i = 0; i < nr; i++)
        pixDestroy(&rs[i].pix);
    pixDestroy(&page);
    return rc;
}
