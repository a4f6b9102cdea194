/*
 * pdfin.c — scanner PDFs as a source: each page's embedded image taken
 * out as it is stored, never rendered (a page that shows no scan is
 * rendered instead, by the rule of pdfin_render.c).  The qpdf document
 * walk.
 *
 *   sh__pdf_open    qpdf reads the file (damage repaired, empty user
 *                   password tried), pages counted
 *   sh__pdf_read    one page: what its content draws (pdfin_content.c),
 *                   scan or born-digital (pdfin_render.c renders the
 *                   latter), which images make the scan, their
 *                   dictionaries and pixels (pdfin_image.c), strips
 *                   joined, the turn and resolution the page gives them
 *   sh__pdf_close   free the qpdf handle (and poppler's, if opened)
 *
 * Method.  qpdf (libqpdf, C API) parses the file: cross-reference tables
 * and streams, object streams, repair of damaged files, decryption, the
 * page tree.  Everything qpdf is asked for is checked for an error after
 * the call (qpdf_silence_errors: nothing reaches stderr, no exception
 * crosses into C), and qpdf's warnings go to the debug log.  Stream data
 * is always taken raw and the general-purpose filters are undone with
 * bounded output in pdfin_filter.c.
 *
 * The image drawn largest is the scan; others under 2% of its area
 * (together under 5%) are left out and counted; images of one width that
 * tile the page top to bottom are strips of one scan and are joined;
 * anything else is refused.  The matrix gives the resolution (pixels over
 * displayed size) and the turn (with the page's /Rotate) that the viewer
 * applies, which becomes tag_rot.
 */
#include "pdfin_int.h"

#include <limits.h>
#include <stdlib.h>

#define WARN_LOG_MAX 20                /* qpdf warnings logged per call  */
#define SMALL_ONE 0.02                 /* a left-out image: < 2% of the
                                          scan's area ...                */
#define SMALL_ALL 0.05                 /* ... all of them < 5%           */

struct sh_pdfin {
    qpdf_data q;
    sh__pdf_render *render;   /* poppler, for pages that show no scan */
};

/* qpdf's warnings since the last call, into the debug log. */
static void drain_warnings(const sh_scan *s, int n)
{
    qpdf_data q = s->pdf->q;
    int k = 0;
    while (qpdf_more_warnings(q)) {
        qpdf_error e = qpdf_next_warning(q);
        if (e && k++ < WARN_LOG_MAX) {
            const char *d = qpdf_get_error_message_detail(q, e);
            if (n >= 0)
                sh_log(SH_LOG_DEBUG, "%s: page %d: qpdf: %s", s->path, n + 1,
                       d ? d : "");
            else
                sh_log(SH_LOG_DEBUG, "%s: qpdf: %s", s->path, d ? d : "");
        }
    }
}

/* ------------------------------------------------------------------ */
/* the page                                                            */
/* ------------------------------------------------------------------ */

/* How matrix m shows the unit square on the page. */
typedef struct geo {
    double lx, ly;   /* displayed length of the image's x and y sides, pt */
    double area;     /* displayed area, pt² */
    int rot;         /* clockwise quarter turn the display applies */
    int mirror;      /* ... then a left-right mirror */
} geo;

static void geo_of(const double m[6], double uu, geo *g)
{
    double det = m[0] * m[3] - m[1] * m[2];
    g->lx = hypot(m[0], m[1]) * uu;
    g->ly = hypot(m[2], m[3]) * uu;
    g->area = fabs(det) * uu * uu;
    g->mirror = det < 0;
    /* the display is Rot(rot) and then, if mirrored, a left-right flip:
       undo the flip on the image's x axis before reading the angle */
    double a = g->mirror ? -m[0] : m[0], b = m[1];
    double cw = -atan2(b, a) * 180.0 / M_PI;   /* y points up in PDF */
    long qt = lround(cw / 90.0);
    g->rot = (int)(((qt % 4) + 4) % 4) * 90;
}

static int cmp_top(const void *a, const void *b, void *ctx)
{
    const drawn *d = ctx;
    const size_t *x = a, *y = b;
    double tx = d[*x].m[5] + d[*x].m[3], ty = d[*y].m[5] + d[*y].m[3];
    return tx > ty ? -1 : tx < ty;
}

/* The images that make the page: one, or strips top to bottom. */
static int select_images(pg *c, size_t *sel, size_t *nsel, int *dropped)
{
    qpdf_data q = c->q;
    size_t main = 0;
    double amain = -1;
    *nsel = 0;
    *dropped = 0;
    for (size_t i = 0; i < c->nd; i++) {
        geo g;
        geo_of(c->d[i].m, 1, &g);
        if (g.area > amain || (g.area == amain && c->d[i].oh)) {
            amain = g.area;
            main = i;
        }
    }
    if (c->nd == 0 || amain <= 1e-9) {
        if (c->inline_imgs)
            return PERR(c, SH_EINPUT, "the page's image is inline in its "
                        "content stream, which is not supported");
        return PERR(c, SH_EINPUT, "the page shows no image (not a scanned "
                    "page?)");
    }
    if (!c->d[main].oh)
        return PERR(c, SH_EINPUT, "the page's image is inline in its content "
                    "stream, which is not supported");
    double small = 0;
    int big_inline = 0;
    for (size_t i = 0; i < c->nd; i++) {
        geo g;
        geo_of(c->d[i].m, 1, &g);
        int dup = 0;
        for (size_t j = 0; j < *nsel && !dup; j++) {
            const drawn *a = &c->d[sel[j]], *b = &c->d[i];
            dup = a->oh && b->oh && a->id == b->id &&
                  !memcmp(a->m, b->m, sizeof a->m);
        }
        if (dup)
            continue;
        if (g.area < SMALL_ONE * amain) {
            small += g.area;
            (*dropped)++;
        } else if (!c->d[i].oh) {
            big_inline = 1;
        } else if (*nsel < DRAWN_MAX) {
            sel[(*nsel)++] = i;
        }
    }
    if (small >= SMALL_ALL * amain || big_inline)
        return PERR(c, SH_EINPUT, "the page shows %zu images besides its "
                    "largest, not strips of one scan: not supported",
                    c->nd - 1);
    if (*nsel == 1)
        return SH_OK;

    /* strips: upright, one pixel width, one column, touching rows */
    const drawn *d0 = &c->d[main];
    long w0 = dint(q, d0->oh, "/Width", 1, LONG_MAX, 0);
    double tolx = fmax(0.5, 0.01 * fabs(d0->m[0]));
    for (size_t j = 0; j < *nsel; j++) {
        const drawn *d = &c->d[sel[j]];
        geo g;
        geo_of(d->m, 1, &g);
        if (g.rot || g.mirror || fabs(d->m[1]) > 1e-6 * fabs(d->m[0]) ||
            fabs(d->m[2]) > 1e-6 * fabs(d->m[3]) ||
            dint(q, d->oh, "/Width", 1, LONG_MAX, -1) != w0 ||
            fabs(d->m[0] - d0->m[0]) > tolx ||
            fabs(d->m[4] - d0->m[4]) > tolx)
            goto not_strips;
    }
    qsort_r(sel, *nsel, sizeof *sel, cmp_top, c->d);
    for (size_t j = 0; j + 1 < *nsel; j++) {
        const drawn *a = &c->d[sel[j]], *b = &c->d[sel[j + 1]];
        long ha = dint(q, a->oh, "/Height", 1, LONG_MAX, 1),
             hb = dint(q, b->oh, "/Height", 1, LONG_MAX, 1);
        double ra = ha / a->m[3], rb = hb / b->m[3];   /* px per pt */
        double tol = fmax(0.75, 2.0 / ra);
        if (fabs(a->m[5] - (b->m[5] + b->m[3])) > tol ||
            fabs(ra - rb) > 0.02 * ra)
            goto not_strips;
    }
    return qpdf_check(c, "image dictionaries");
not_strips:
    return PERR(c, SH_EINPUT, "the page shows %zu images that are not "
                "strips of one scan (one width, stacked): not supported",
                *nsel);
}

/* Stack the strips' pixels top to bottom into one pix. */
static int stack_strips(pg *c, sh_frame *subs, size_t n, PIX **out)
{
    int depth = 1, w = pixGetWidth(subs[0].pix);
    l_int64 h = 0;
    *out = NULL;
    for (size_t i = 0; i < n; i++) {
        int d = pixGetDepth(subs[i].pix);
        depth = d > depth ? d : depth;
        h += pixGetHeight(subs[i].pix);
        if (pixGetWidth(subs[i].pix) != w)
            return PERR(c, SH_EINPUT, "strips of different widths (%d, %d)",
                        w, pixGetWidth(subs[i].pix));
    }
    int rc = sh__check_size(c->s, c->n, (uint64_t)w, (uint64_t)h, c->err);
    if (rc)
        return rc;
    PIX *all = pixCreate(w, (l_int32)h, depth);
    if (!all)
        return PERR(c, SH_ENOMEM, "out of memory for %d x %lld pixels", w,
                    (long long)h);
    int y = 0;
    for (size_t i = 0; i < n; i++) {
        PIX *p = subs[i].pix, *conv = NULL;
        int d = pixGetDepth(p);
        if (d != depth) {
            PIX *p8 = d == 1 ? pixConvert1To8(NULL, p, 255, 0) : pixClone(p);
            conv = depth == 32 && p8 ? pixConvert8To32(p8) : pixClone(p8);
            pixDestroy(&p8);
            if (!conv) {
                pixDestroy(&all);
                return PERR(c, SH_ENOMEM, "out of memory");
            }
            p = conv;
        }
        pixRasterop(all, 0, y, w, pixGetHeight(p), PIX_SRC, p, 0, 0);
        y += pixGetHeight(p);
        pixDestroy(&conv);
    }
    *out = all;
    return SH_OK;
}

/* Annotations that show something (not links or pop-ups, not hidden).
   A damaged annotation is not the page's problem: logged and skipped. */
static int count_annotations(pg *c, qpdf_oh page)
{
    qpdf_data q = c->q;
    qpdf_oh an = dget(q, page, "/Annots");
    int n = 0;
    if (!an || !qpdf_oh_is_array(q, an))
        return 0;
    int cnt = qpdf_oh_get_array_n_items(q, an);
    for (int i = 0; i < cnt && i < 10000; i++) {
        qpdf_oh a = qpdf_oh_get_array_item(q, an, i);
        char sub[32];
        dname(q, a, "/Subtype", sub, sizeof sub);
        if (!strcmp(sub, "Link") || !strcmp(sub, "Popup") ||
            !dget(q, a, "/AP") || (dint(q, a, "/F", 0, INT_MAX, 0) & 2))
            continue;
        n++;
    }
    char text[512];
    if (qpdf_error_text(q, text, sizeof text))
        sh_log(SH_LOG_DEBUG, "%s: page %d: annotations: %s", c->s->path,
               c->n + 1, text);
    return n;
}

int sh__pdf_read(sh_scan *s, int n, sh_frame *f, sh_err *err)
{
    qpdf_data q = s->pdf->q;
    pg c = {.s = s, .n = n, .err = err, .q = q};
    size_t *sel = NULL, nsel = 0;
    pimg *im = NULL;
    sh_frame *subs = NULL;
    int rc = SH_OK, dropped = 0;

    qpdf_oh page = qpdf_get_page_n(q, (size_t)n);
    if ((rc = qpdf_check(&c, "page object")))
        goto out;
    if (!page || !qpdf_oh_is_dictionary(q, page)) {
        rc = PERR(&c, SH_EINPUT, "page object unreadable");
        goto out;
    }
    qpdf_oh res = inherited(q, page, "/Resources");
    if ((rc = sh__pdf_page_scan(&c, page, res)))
        goto out;
    if (sh__pdf_render_wanted(&c, page, NULL)) {
        /* born-digital: what it shows is in the pixels, nothing is left
           out of them (text, annotations, small images: all drawn) */
        rc = sh__pdf_render_page(&c, &s->pdf->render, f);
        goto out;
    }
    sel = malloc((c.nd ? c.nd : 1) * sizeof *sel);
    if (!sel) {
        rc = PERR(&c, SH_ENOMEM, "out of memory");
        goto out;
    }
    if ((rc = select_images(&c, sel, &nsel, &dropped)))
        goto out;

    /* every image's dictionary against the limits before any data */
    im = calloc(nsel, sizeof *im);
    subs = calloc(nsel, sizeof *subs);
    if (!im || !subs) {
        rc = PERR(&c, SH_ENOMEM, "out of memory");
        goto out;
    }
    uint64_t total = 0;
    for (size_t i = 0; i < nsel && !rc; i++) {
        rc = sh__pdf_image_info(&c, c.d[sel[i]].oh, &im[i]);
        total += im[i].h;
    }
    if (!rc && nsel > 1)
        rc = sh__check_size(s, n, im[0].w, total, err);
    for (size_t i = 0; i < nsel && !rc; i++)
        rc = sh__pdf_image_pix(&c, &im[i], nsel == 1, &subs[i]);
    if (rc)
        goto out;
    const char *codec = im[0].codec;
    for (size_t i = 1; i < nsel; i++)
        if (strcmp(im[i].codec, codec))
            codec = "mixed";

    geo g;
    geo_of(c.d[sel[0]].m, 1, &g);
    double uu = dnum(q, page, "/UserUnit", 1);
    if (!(uu > 0 && uu < 75000))
        uu = 1;
    double ly = 0;
    uint32_t pw = (uint32_t)pixGetWidth(subs[0].pix), ph = 0;
    for (size_t i = 0; i < nsel; i++) {
        geo gi;
        geo_of(c.d[sel[i]].m, uu, &gi);
        ly += gi.ly;
        ph += (uint32_t)pixGetHeight(subs[i].pix);
    }
    if (nsel == 1) {
        f->pix = subs[0].pix;
        f->jpeg = subs[0].jpeg;
        f->njpeg = subs[0].njpeg;
        f->jpeg_components = subs[0].jpeg_components;
        memset(&subs[0], 0, sizeof subs[0]);
    } else if ((rc = stack_strips(&c, subs, nsel, &f->pix))) {
        goto out;
    }
    double lx = g.lx * uu;
    sh__set_res(f, lx > 0 ? pw * 72.0 / lx : 0, ly > 0 ? ph * 72.0 / ly : 0,
                pw, ph);

    /* /Rotate: clockwise, a multiple of 90 (anything else is ignored, as
       viewers do) */
    double rot = 0;
    long prot = 0;
    if (num_of(q, inherited(q, page, "/Rotate"), &rot) && fabs(rot) < 1e6 &&
        rot == floor(rot) && (long)rot % 90 == 0)
        prot = (((long)rot % 360) + 360) % 360;
    f->tag_rot = (int)((g.rot + prot) % 360);
    f->tag_mirror = g.mirror;
    f->codec = codec;
    f->had_text_layer = c.text;
    f->visible_text = c.visible_text;
    f->annotations = count_annotations(&c, page);
    f->dropped_images = dropped;
    rc = qpdf_check(&c, "page");
    if (!rc)
        sh_log(SH_LOG_DEBUG, "%s: page %d: %u x %u %s, %d x %d ppi, turn %d, "
               "%zu image(s), text %d/%d, %d annotation(s), %d left out",
               s->path, n + 1, pw, ph, codec, f->xres, f->yres, f->tag_rot,
               nsel, c.text, c.visible_text, f->annotations, dropped);
out:
    if (subs)
        for (size_t i = 0; i < nsel; i++)
            sh_frame_release(&subs[i]);
    free(subs);
    free(im);
    free(sel);
    free(c.d);
    qpdf_oh_release_all(q);
    drain_warnings(s, n);
    {
        char text[512];   /* nothing left pending for qpdf_cleanup */
        qpdf_error_text(q, text, sizeof text);
    }
    return rc;
}

/* ------------------------------------------------------------------ */
/* open / close                                                        */
/* ------------------------------------------------------------------ */

int sh__pdf_open(sh_scan *s, sh_err *err)
{
    int rc = SH_OK;
    char text[512];
    s->pdf = calloc(1, sizeof *s->pdf);
    if (!s->pdf || !(s->pdf->q = qpdf_init()))
        return sh_errf(err, SH_ENOMEM, "%s: out of memory", s->path);
    qpdf_data q = s->pdf->q;
    qpdf_silence_errors(q);
    qpdf_set_suppress_warnings(q, QPDF_TRUE);

    /* certified copies are often encrypted with an empty user password
       (only the owner's is set): the empty one opens them */
    if (qpdf_read(q, s->path, "") & QPDF_ERRORS) {
        qpdf_error e = qpdf_get_error(q);
        enum qpdf_error_code_e code =
            e ? qpdf_get_error_code(q, e) : qpdf_e_damaged_pdf;
        const char *d = e ? qpdf_get_error_message_detail(q, e) : NULL;
        snprintf(text, sizeof text, "%s", d && *d ? d : "qpdf error");
        if (code == qpdf_e_password)
            rc = sh_errf(err, SH_EINPUT, "%s: the PDF needs a password; "
                         "remove the protection or give an unprotected copy",
                         s->path);
        else if (code == qpdf_e_system)
            rc = sh_errf(err, SH_EIO, "%s: cannot read: %s", s->path, text);
        else
            rc = sh_errf(err, SH_EINPUT, "%s: not a readable PDF: %s",
                         s->path, text);
        goto out;
    }
    int np = qpdf_get_num_pages(q);
    snprintf(text, sizeof text, "no page count");
    if (qpdf_error_text(q, text, sizeof text) || np < 0) {
        rc = sh_errf(err, SH_EINPUT, "%s: the PDF's page tree is unreadable: "
                     "%s", s->path, text);
        goto out;
    }
    if (np == 0) {
        rc = sh_errf(err, SH_EINPUT, "%s: the PDF has no pages", s->path);
        goto out;
    }
    if (np > s->lim.max_frames) {
        rc = sh_errf(err, SH_ELIMIT,
                     "%s: %d pages exceed the limit of %d frames per file",
                     s->path, np, s->lim.max_frames);
        goto out;
    }
    s->nframes = np;
out:
    drain_warnings(s, -1);
    qpdf_error_text(q, text, sizeof text);
    return rc;
}

void sh__pdf_close(sh_scan *s)
{
    if (!s || !s->pdf)
        return;
    sh__pdf_render_free(&s->pdf->render);
    if (s->pdf->q)
        qpdf_cleanup(&s->pdf->q);
    free(s->pdf);
    s->pdf = NULL;
}
