/*
 * mktextpdf.c — a born-digital PDF, as a word processor prints one: text
 * drawn with an embedded font, no image.  The fixture of the end-to-end
 * test of rendered pages (tests/e2e.sh t_born_digital).
 *
 * Self-contained: cairo only (its PDF surface; fonts through fontconfig),
 * no sohoa source.
 *
 *   mktextpdf OUT.pdf [--font FAMILY] [--size PT] LINE... [--page LINE...]
 *
 * A4 pages; each LINE (UTF-8) is set at 72 pt from the left, one line
 * every 1.5 x the size, from 100 pt below the top; "--page" starts a new
 * page.  Defaults: "DejaVu Sans", 14 pt.  Exit status 1 with a message
 * on an error (cairo's status).
 *
 * Function index
 *   main    parse the arguments, draw the pages, finish the file
 */
#include <cairo-pdf.h>
#include <cairo.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define A4_W 595.276
#define A4_H 841.89

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: mktextpdf OUT.pdf [--font FAMILY] [--size PT]"
                        " LINE... [--page LINE...]\n");
        return 2;
    }
    const char *font = "DejaVu Sans";
    double size = 14, y = 100;
    cairo_surface_t *sf = cairo_pdf_surface_create(argv[1], A4_W, A4_H);
    cairo_t *cr = cairo_create(sf);
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--font") && i + 1 < argc) {
            font = argv[++i];
        } else if (!strcmp(argv[i], "--size") && i + 1 < argc) {
            size = atof(argv[++i]);
        } else if (!strcmp(argv[i], "--page")) {
            cairo_show_page(cr);
            y = 100;
        } else {
            cairo_select_font_face(cr, font, CAIRO_FONT_SLANT_NORMAL,
                                   CAIRO_FONT_WEIGHT_NORMAL);
            cairo_set_font_size(cr, size > 0 ? size : 14);
            cairo_set_source_rgb(cr, 0, 0, 0);
            cairo_move_to(cr, 72, y);
            cairo_show_text(cr, argv[i]);
            y += 1.5 * (size > 0 ? size : 14);
        }
    }
    cairo_show_page(cr);
    cairo_status_t st = cairo_status(cr);
    cairo_destroy(cr);
    cairo_surface_finish(sf);
    if (st == CAIRO_STATUS_SUCCESS)
        st = cairo_surface_status(sf);
    cairo_surface_destroy(sf);
    if (st != CAIRO_STATUS_SUCCESS) {
        fprintf(stderr, "mktextpdf: %s: %s\n", argv[1],
                cairo_status_to_string(st));
        return 1;
    }
    return 0;
}
