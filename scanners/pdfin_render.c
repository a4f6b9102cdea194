/*
 * pdfin_render.c — a PDF page that is not a scan (a born-digital page:
 * text drawn with fonts, vector drawing) rasterised as a viewer shows it.
 *
 *   sh__pdf_render_wanted   the rule: scan or born-digital page
 *   sh__pdf_render_page     the page through poppler and cairo at 300 dpi
 *                           into an 8 bpp gray frame
 *   sh__pdf_render_free     the poppler document, if one was opened
 *
 * The rule.  A page is rendered when no image it draws covers half of
 * its box (CropBox, else MediaBox; each image's displayed rectangle
 * clipped to the box) and it shows something besides its images:
 * visible text, a filled or stroked path, a shading, or nothing at all
 * (no image: a blank page renders white).  Everything else keeps the
 * image path of pdfin.c unchanged: a scan with an OCR layer or a
 * certifying stamp over it (the scan covers most of the page), and a
 * small scan alone on a large sheet (no text, no drawing).
 *
 * Method.  poppler-glib opens the file by its path, once per sh_scan and
 * only when a page needs it; the page is drawn on a white cairo RGB24
 * surface at 300 dpi with the page's /Rotate applied (upright, as a
 * viewer shows it), band by band so that cairo's surface stays under
 * 64 MiB whatever the page size, each band turned into gray (Rec. 601
 * luma) rows of the frame.  The size is checked against the scan limits
 * before anything is drawn, and so are the images the page draws (their
 * /Width and /Height): poppler would decode them.  poppler has no
 * render time limit in its GLib API; in `sohoa run` a page that hangs is
 * bounded by the worker pool, which kills a worker past the page
 * timeout and quarantines the page.  poppler's messages about damage go
 * to GLib's info log (not shown).
 */
#include "pdfin_int.h"

#include <limits.h>
#include <stdlib.h>

#include <cairo.h>
#include <poppler.h>

#define RENDER_DPI 300
#define RENDER_COVER 0.5               /* an image this share of the page
                                          is the scan                    */
#define BAND_BYTES ((size_t)64 << 20)  /* cairo surface per band         */
#define CAIRO_SIDE_MAX 32767           /* cairo's image surface limit    */

struct sh__pdf_render {
    PopplerDocument *doc;
};

/* ------------------------------------------------------------------ */
/* the rule                                                            */
/* ------------------------------------------------------------------ */

/* A box array [x0 y0 x1 y1] into b (normalised); 0 if not one or empty. */
static int box_of(qpdf_data q, qpdf_oh oh, double b[4])
{
    if (!oh || !qpdf_oh_is_array(q, oh) ||
        qpdf_oh_get_array_n_items(q, oh) != 4)
        return 0;
    double v[4];
    for (int i = 0; i < 4; i++)
        if (!num_of(q, qpdf_oh_get_array_item(q, oh, i), &v[i]) ||
            fabs(v[i]) > 1e9)
            return 0;
    b[0] = fmin(v[0], v[2]);
    b[1] = fmin(v[1], v[3]);
    b[2] = fmax(v[0], v[2]);
    b[3] = fmax(v[1], v[3]);
    return b[2] - b[0] > 1e-3 && b[3] - b[1] > 1e-3;
}

/* The share (0..1) of box b that the image drawn with matrix m covers:
   its displayed area, at most that of its bounding box clipped to b. */
static double cover_of(const double m[6], const double b[4])
{
    double xs[4] = {m[4], m[4] + m[0], m[4] + m[2], m[4] + m[0] + m[2]};
    double ys[4] = {m[5], m[5] + m[1], m[5] + m[3], m[5] + m[1] + m[3]};
    double x0 = xs[0], x1 = xs[0], y0 = ys[0], y1 = ys[0];
    for (int i = 1; i < 4; i++) {
        x0 = fmin(x0, xs[i]);
        x1 = fmax(x1, xs[i]);
        y0 = fmin(y0, ys[i]);
        y1 = fmax(y1, ys[i]);
    }
    double cw = fmin(x1, b[2]) - fmax(x0, b[0]);
    double ch = fmin(y1, b[3]) - fmax(y0, b[1]);
    if (!(cw > 0 && ch > 0))
        return 0;
    double area = fmin(fabs(m[0] * m[3] - m[1] * m[2]), cw * ch);
    double share = area / ((b[2] - b[0]) * (b[3] - b[1]));
    return isfinite(share) ? fmin(share, 1) : 0;
}

int sh__pdf_render_wanted(pg *c, qpdf_oh page, double *cover)
{
    qpdf_data q = c->q;
    double b[4] = {0, 0, 612, 792};   /* poppler's default, US Letter */
    double best = 0;
    if (!box_of(q, inherited(q, page, "/CropBox"), b))
        box_of(q, inherited(q, page, "/MediaBox"), b);
    for (size_t i = 0; i < c->nd; i++)
        best = fmax(best, cover_of(c->d[i].m, b));
    if (cover)
        *cover = best;
    if (best >= RENDER_COVER)
        return 0;
    return c->nd == 0 || c->visible_text || c->paints > 0;
}

/* ------------------------------------------------------------------ */
/* rendering                                                           */
/* ------------------------------------------------------------------ */

void sh__pdf_render_free(sh__pdf_render **r)
{
    if (!r || !*r)
        return;
    if ((*r)->doc)
        g_object_unref((*r)->doc);
    free(*r);
    *r = NULL;
}

/* poppler's document for c's file, opened on first use into *r. */
static int open_doc(pg *c, sh__pdf_render **r)
{
    if (*r)
        return SH_OK;
    GError *ge = NULL;
    char *abs = realpath(c->s->path, NULL);
    char *uri = abs ? g_filename_to_uri(abs, NULL, &ge) : NULL;
    PopplerDocument *doc =
        uri ? poppler_document_new_from_file(uri, NULL, &ge) : NULL;
    int rc = SH_OK;
    if (!doc)
        rc = PERR(c, SH_EINPUT, "the page shows no scan and poppler cannot "
                  "open the PDF to render it: %s",
                  ge ? ge->message : abs ? "unknown error"
                                         : "path unresolvable");
    else if (!(*r = calloc(1, sizeof **r)))
        rc = PERR(c, SH_ENOMEM, "out of memory");
    if (rc) {
        if (doc)
            g_object_unref(doc);
    } else {
        (*r)->doc = doc;
    }
    if (ge)
        g_error_free(ge);
    g_free(uri);
    free(abs);
    return rc;
}

/* The images the page draws, against the limits: poppler decodes them. */
static int check_images(pg *c)
{
    const sh_scan_limits *lim = &c->s->lim;
    for (size_t i = 0; i < c->nd; i++) {
        if (!c->d[i].oh)
            continue;
        long w = dint(c->q, c->d[i].oh, "/Width", 0, LONG_MAX, 0);
        long h = dint(c->q, c->d[i].oh, "/Height", 0, LONG_MAX, 0);
        if (w > lim->max_side || h > lim->max_side ||
            (double)w * (double)h > (double)lim->max_pixels)
            return PERR(c, SH_ELIMIT, "an image the page draws (object %d, "
                        "%ld x %ld) exceeds the limit of %lld pixels or %d "
                        "per side", c->d[i].id, w, h,
                        (long long)lim->max_pixels, lim->max_side);
    }
    return qpdf_check(c, "image dictionaries");
}

/* Rows y0..y0+bh of the page, drawn at scale k, into rows of pix. */
static int render_band(pg *c, PopplerPage *page, double k, int y0, int bh,
                       PIX *pix)
{
    int w = pixGetWidth(pix);
    cairo_surface_t *sf = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w,
                                                     bh);
    if (cairo_surface_status(sf) != CAIRO_STATUS_SUCCESS) {
        cairo_surface_destroy(sf);
        return PERR(c, SH_ENOMEM, "out of memory for a %d x %d render band",
                    w, bh);
    }
    cairo_t *cr = cairo_create(sf);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    cairo_translate(cr, 0, -y0);
    cairo_scale(cr, k, k);
    poppler_page_render(page, cr);
    cairo_status_t st = cairo_status(cr);
    cairo_destroy(cr);
    cairo_surface_flush(sf);
    if (st != CAIRO_STATUS_SUCCESS) {
        cairo_surface_destroy(sf);
        return PERR(c, st == CAIRO_STATUS_NO_MEMORY ? SH_ENOMEM : SH_EINPUT,
                    "rendering failed: %s", cairo_status_to_string(st));
    }
    const uint8_t *data = cairo_image_surface_get_data(sf);
    int stride = cairo_image_surface_get_stride(sf);
    l_uint32 *pd = pixGetData(pix);
    int wpl = pixGetWpl(pix);
    for (int y = 0; y < bh; y++) {
        const uint32_t *src = (const uint32_t *)(data + (size_t)y * stride);
        l_uint32 *line = pd + (size_t)(y0 + y) * wpl;
        for (int x = 0; x < w; x++) {
            uint32_t v = src[x];   /* 0x00RRGGBB, native order */
            unsigned r = (v >> 16) & 0xff, g = (v >> 8) & 0xff, b = v & 0xff;
            SET_DATA_BYTE(line, x, (r * 77 + g * 150 + b * 29 + 128) >> 8);
        }
    }
    cairo_surface_destroy(sf);
    return SH_OK;
}

int sh__pdf_render_page(pg *c, sh__pdf_render **r, sh_frame *f)
{
    PopplerPage *page = NULL;
    PIX *pix = NULL;
    int rc;
    if ((rc = check_images(c)) || (rc = open_doc(c, r)))
        return rc;
    if (c->n >= poppler_document_get_n_pages((*r)->doc) ||
        !(page = poppler_document_get_page((*r)->doc, c->n)))
        return PERR(c, SH_EINPUT, "the page shows no scan and poppler "
                    "cannot read the page to render it");

    double wpt = 0, hpt = 0, k = RENDER_DPI / 72.0;
    poppler_page_get_size(page, &wpt, &hpt);   /* /Rotate applied */
    double wd = wpt * k, hd = hpt * k;
    if (!isfinite(wd) || !isfinite(hd) || wd < 0.5 || hd < 0.5) {
        rc = PERR(c, SH_EINPUT, "the page has no size to render (%g x %g pt)",
                  wpt, hpt);
        goto out;
    }
    uint64_t w = (uint64_t)fmin(round(wd), 1e12);
    uint64_t h = (uint64_t)fmin(round(hd), 1e12);
    if ((rc = sh__check_size(c->s, c->n, w, h, c->err)))
        goto out;
    if (w > CAIRO_SIDE_MAX) {
        rc = PERR(c, SH_ELIMIT, "the page is %llu px wide at %d dpi, over "
                  "the %d px that can be rendered", (unsigned long long)w,
                  RENDER_DPI, CAIRO_SIDE_MAX);
        goto out;
    }
    if (!(pix = pixCreate((int)w, (int)h, 8))) {
        rc = PERR(c, SH_ENOMEM, "out of memory for %llu x %llu pixels",
                  (unsigned long long)w, (unsigned long long)h);
        goto out;
    }
    size_t rows = BAND_BYTES / ((size_t)w * 4);
    if (rows > CAIRO_SIDE_MAX)
        rows = CAIRO_SIDE_MAX;
    for (int y0 = 0; y0 < (int)h && !rc; y0 += (int)rows) {
        int bh = (int)h - y0 < (int)rows ? (int)h - y0 : (int)rows;
        rc = render_band(c, page, k, y0, bh, pix);
    }
    if (rc)
        goto out;
    pixSetResolution(pix, RENDER_DPI, RENDER_DPI);
    f->pix = pix;
    pix = NULL;
    f->xres = f->yres = RENDER_DPI;
    f->codec = "rendered";
    sh_log(SH_LOG_DEBUG, "%s: page %d: no scan (%zu image(s), text %d/%d, "
           "%ld painting(s)): rendered %llu x %llu at %d dpi", c->s->path,
           c->n + 1, c->nd, c->text, c->visible_text, c->paints,
           (unsigned long long)w, (unsigned long long)h, RENDER_DPI);
out:
    pixDestroy(&pix);
    g_object_unref(page);
    return rc;
}
