/*
 * separators.c — `sohoa separators`: printable separator sheets, one per
 * dossier id, to put on top of each dossier of a stack before scanning.
 *
 *   sh_sep_sheet_render   one sheet as a 1 bpp A4 image (cairo)
 *   sh_sep_sheets_write   the sheets of many ids as one PDF/A-2b
 *   sh_cmd_separators     the command: ids from the command line or a file
 *
 * Method.  The sheet is drawn in millimetres on a cairo image surface at
 * the dpi asked for (300 by default): the QR and Code 128 modules as
 * rectangles without anti-aliasing, the text with cairo's toy font API
 * (DejaVu Sans; Vietnamese in NFC is precomposed characters, which the toy
 * API draws one glyph each).  The gray is thresholded to 1 bpp and written
 * by the project's PDF writer (ocr/pdf.c) as a CCITT G4 image, PDF/A-2b
 * like every sohoa PDF, with the id as the page's invisible text.
 */
#include "stream.h"
#include "../base/opts.h"
#include "../ocr/pdf.h"

#include <cairo.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define A4_W_MM 210.0
#define A4_H_MM 297.0
#define QR_MM 100.0          /* the QR code's side, quiet zone outside  */
#define BAND_MM 15.0         /* the black bands' thickness              */

static const char line_vi[] = "T\xe1\xbb\x9d ph\xc3\xa2n c\xc3\xa1" "ch "
                              "h\xe1\xbb\x93 s\xc6\xa1 \xe2\x80\x94 "
                              "kh\xc3\xb4ng l\xc6\xb0u tr\xe1\xbb\xaf";

/* Text centred at x = cx (mm), baseline y, at size mm, shrunk to fit
   max_w mm. */
static void text_centred(cairo_t *cr, const char *s, double y, double size,
                         double max_w, int bold)
{
    cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL,
                           bold ? CAIRO_FONT_WEIGHT_BOLD
                                : CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, size);
    cairo_text_extents_t e;
    cairo_text_extents(cr, s, &e);
    if (e.x_advance > max_w) {
        size *= max_w / e.x_advance;
        cairo_set_font_size(cr, size);
        cairo_text_extents(cr, s, &e);
    }
    cairo_move_to(cr, A4_W_MM / 2 - e.x_advance / 2, y);
    cairo_show_text(cr, s);
}

int sh_sep_sheet_render(const char *id, int dpi, PIX **out, sh_err *err)
{
    *out = NULL;
    const char *why = NULL;
    if (!sh_sep_id_check(id, &why))
        return sh_errf(err, SH_EUSAGE, "'%s': %s", id ? id : "", why);
    if (dpi < 72 || dpi > 600)
        return sh_errf(err, SH_EUSAGE, "separator sheet: dpi %d is not "
                       "72..600", dpi);
    char payload[SH_SEP_ID_MAX + 64];
    snprintf(payload, sizeof payload, "%s%s", SH_SEP_PREFIX, id);
    uint8_t *qr = NULL, bars[4096];
    int qw = 0, nbars = 0;
    int rc = sh_qr_make(payload, strlen(payload), &qr, &qw, err);
    if (rc)
        return rc;
    sh_err berr = {0};
    if (sh_code128_make(payload, bars, sizeof bars, &nbars, &berr)) {
        sh_log(SH_LOG_WARN, "separator %s: no Code 128 (%s); the QR code "
               "carries the id", id, berr.msg);
        nbars = 0;
    }
    int W = (int)(A4_W_MM / 25.4 * dpi + 0.5);
    int H = (int)(A4_H_MM / 25.4 * dpi + 0.5);
    cairo_surface_t *sf = cairo_image_surface_create(CAIRO_FORMAT_RGB24, W, H);
    cairo_t *cr = cairo_create(sf);
    if (cairo_status(cr) != CAIRO_STATUS_SUCCESS) {
        cairo_destroy(cr);
        cairo_surface_destroy(sf);
        free(qr);
        return sh_errf(err, SH_ENOMEM, "separator sheet: cairo: out of "
                       "memory");
    }
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    cairo_scale(cr, dpi / 25.4, dpi / 25.4);
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_set_antialias(cr, CAIRO_ANTIALIAS_NONE);
    /* the bands, 12 mm in from the edges (inside a printer's margin) */
    cairo_rectangle(cr, 12, 12, A4_W_MM - 24, BAND_MM);
    cairo_rectangle(cr, 12, A4_H_MM - 12 - BAND_MM, A4_W_MM - 24, BAND_MM);
    /* the QR code: 100 mm square from y = 52 mm */
    double m = QR_MM / qw, x0 = (A4_W_MM - QR_MM) / 2, y0 = 52;
    for (int y = 0; y < qw; y++)
        for (int x = 0; x < qw; x++)
            if (qr[y * qw + x])
                cairo_rectangle(cr, x0 + x * m, y0 + y * m, m, m);
    /* the Code 128: bars 30 mm tall, modules at most 0.5 mm */
    if (nbars) {
        double bm = (A4_W_MM - 40) / nbars;
        if (bm > 0.5)
            bm = 0.5;
        double bx = (A4_W_MM - bm * nbars) / 2;
        for (int i = 0; i < nbars; i++)
            if (bars[i])
                cairo_rectangle(cr, bx + i * bm, 205, bm, 30);
    }
    cairo_fill(cr);
    cairo_set_antialias(cr, CAIRO_ANTIALIAS_DEFAULT);
    text_centred(cr, line_vi, 40, 8, A4_W_MM - 30, 1);
    text_centred(cr, id, 185, 22, A4_W_MM - 30, 1);
    text_centred(cr, "M\xc3\xa3 h\xe1\xbb\x93 s\xc6\xa1 (dossier id)", 162,
                 5, A4_W_MM - 30, 0);
    text_centred(cr, line_vi, 252, 6, A4_W_MM - 30, 0);
    cairo_surface_flush(sf);
    free(qr);
    int status = cairo_status(cr);
    cairo_destroy(cr);

    PIX *g = status == CAIRO_STATUS_SUCCESS ? pixCreate(W, H, 8) : NULL;
    if (g) {
        const unsigned char *data = cairo_image_surface_get_data(sf);
        int stride = cairo_image_surface_get_stride(sf);
        l_uint32 *pd = pixGetData(g);
        int wpl = pixGetWpl(g);
        for (int y = 0; y < H; y++) {
            const uint32_t *row = (const uint32_t *)(data + (size_t)y *
                                                     (size_t)stride);
            l_uint32 *line = pd + (size_t)y * (size_t)wpl;
            for (int x = 0; x < W; x++)
                SET_DATA_BYTE(line, x, (row[x] >> 8) & 0xff);
        }
        pixSetResolution(g, dpi, dpi);
    }
    cairo_surface_destroy(sf);
    PIX *b = g ? pixThresholdToBinary(g, 128) : NULL;
    pixDestroy(&g);
    if (!b)
        return sh_errf(err, SH_ENOMEM, "separator sheet: out of memory");
    pixSetResolution(b, dpi, dpi);
    *out = b;
    return SH_OK;
}

int sh_sep_sheets_write(const char *path, char **ids, int n, int dpi,
                        sh_err *err)
{
    if (n < 1)
        return sh_errf(err, SH_EUSAGE, "separators: no id");
    sh_pdf *pdf = NULL;
    int rc = sh_pdf_open(path, "T\xe1\xbb\x9d ph\xc3\xa2n c\xc3\xa1" "ch "
                         "h\xe1\xbb\x93 s\xc6\xa1", &pdf, err);
    for (int i = 0; i < n && !rc; i++) {
        PIX *pix = NULL;
        sh_pdf_image img = {0};
        if ((rc = sh_sep_sheet_render(ids[i], dpi, &pix, err)))
            break;
        rc = sh_pdf_image_from_pix(pix, &img, err);
        if (!rc) {
            double wpt = A4_W_MM / 25.4 * 72, hpt = A4_H_MM / 25.4 * 72;
            double k = 72.0 / dpi;
            /* the id as the page's text, over the printed id */
            sh_word wd = {0};
            wd.text = ids[i];
            wd.x0 = (int)(20 / 25.4 * dpi);
            wd.x1 = (int)((A4_W_MM - 20) / 25.4 * dpi);
            wd.y0 = (int)(165 / 25.4 * dpi);
            wd.y1 = (int)(186 / 25.4 * dpi);
            sh_words words = {.w = &wd, .n = 1};
            sh_pdf_page pg = {.w_pt = wpt, .h_pt = hpt, .img = &img,
                              .img_matrix = {wpt, 0, 0, hpt, 0, 0},
                              .words = &words, .pt_per_px = k};
            rc = sh_pdf_add_page(pdf, &pg, err);
        }
        sh_pdf_image_release(&img);
        pixDestroy(&pix);
    }
    if (rc) {
        sh_pdf_abort(&pdf);
        return rc;
    }
    return sh_pdf_commit(&pdf, err);
}

/* ------------------------------------------------------------------ */
/* the command                                                         */

static void usage(FILE *f)
{
    fputs("usage: sohoa separators [--to FILE.pdf] [--from FILE] [--dpi N] "
          "ID...\n"
          "  one printable A4 separator sheet per dossier id (QR code, Code\n"
          "  128, the id in large type), to lay on top of each dossier of a\n"
          "  stack before it is scanned in one go (see `sohoa run`).\n"
          "  --to FILE.pdf  where to write them (default separators.pdf)\n"
          "  --from FILE    ids one per line (blank lines and # comments\n"
          "                 skipped), before those of the command line\n"
          "  --dpi N        resolution of the sheets' image (default 300)\n",
          f);
}

/* Append the ids of file path (one a line) to *v. */
static int read_ids(const char *path, char ***v, int *n, sh_err *err)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return sh_errf(err, SH_EUSAGE, "%s: %s", path, strerror(errno));
    char line[1024];
    int rc = SH_OK;
    while (!rc && fgets(line, sizeof line, f)) {
        char *s = line, *e = line + strlen(line);
        while (e > s && (e[-1] == '\n' || e[-1] == '\r' || e[-1] == ' ' ||
                         e[-1] == '\t'))
            *--e = 0;
        while (*s == ' ' || *s == '\t')
            s++;
        if (!*s || *s == '#')
            continue;
        char **nv = realloc(*v, (size_t)(*n + 1) * sizeof *nv);
        if (!nv || !(nv[*n] = strdup(s))) {
            if (nv)
                *v = nv;
            rc = sh_errf(err, SH_ENOMEM, "out of memory");
            break;
        }
        *v = nv;
        (*n)++;
    }
    fclose(f);
    return rc;
}

int sh_cmd_separators(int argc, char **argv)
{
    const char *to = "separators.pdf", *from = NULL;
    int dpi = 300, c;
    sh_err err = {0};
    static const struct option opts[] = {
        {"to", required_argument, NULL, 'o'},
        {"from", required_argument, NULL, 'f'},
        {"dpi", required_argument, NULL, 'd'},
        SH_LONGOPT_HELP,
        {NULL, 0, NULL, 0},
    };
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:f:d:h", opts, NULL)) != -1) {
        switch (c) {
        case 'o': to = optarg; break;
        case 'f': from = optarg; break;
        case 'd':
            if (sh_opt_int("--dpi", optarg, 72, 600, &dpi, &err)) {
                fprintf(stderr, "sohoa separators: %s\n", err.msg);
                return SH_EXIT_USAGE;
            }
            break;
        case 'h': usage(stdout); return SH_EXIT_OK;
        default: usage(stderr); return SH_EXIT_USAGE;
        }
    }
    char **ids = NULL;
    int n = 0, rc = SH_OK;
    if (from)
        rc = read_ids(from, &ids, &n, &err);
    for (int i = optind; !rc && i < argc; i++) {
        char **nv = realloc(ids, (size_t)(n + 1) * sizeof *nv);
        if (!nv || !(nv[n] = strdup(argv[i]))) {
            if (nv)
                ids = nv;
            rc = sh_errf(&err, SH_ENOMEM, "out of memory");
            break;
        }
        ids = nv;
        n++;
    }
    if (!rc && !n)
        rc = sh_errf(&err, SH_EUSAGE, "name at least one dossier id");
    /* Every id checked before anything is drawn: one bad id, no file. */
    for (int i = 0; !rc && i < n; i++) {
        const char *why = NULL;
        if (!sh_sep_id_check(ids[i], &why))
            rc = sh_errf(&err, SH_EUSAGE, "id '%s' is not a valid dossier "
                         "folder name: %s", ids[i], why);
        for (int k = 0; !rc && k < i; k++)
            if (!strcmp(ids[k], ids[i]))
                rc = sh_errf(&err, SH_EUSAGE, "id '%s' is named twice",
                             ids[i]);
    }
    if (!rc)
        rc = sh_sep_sheets_write(to, ids, n, dpi, &err);
    for (int i = 0; i < n; i++)
        free(ids[i]);
    free(ids);
    if (rc) {
        fprintf(stderr, "sohoa separators: %s\n", err.msg);
        if (rc == SH_EUSAGE)
            usage(stderr);
        return rc == SH_ENOMEM || rc == SH_EIO || rc == SH_ENOSPC ? 1
                                                                  : SH_EXIT_USAGE;
    }
    printf("%s: %d separator sheet%s\n", to, n, n == 1 ? "" : "s");
    return SH_EXIT_OK;
}
