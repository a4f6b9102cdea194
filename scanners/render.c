/*
 * render.c — one page of a source scan drawn for display (the officers'
 * web page shows it under the boxes of the words that matched).
 *
 *   sh_prep_render      the page as a PIX
 *   sh_prep_render_png  the same, encoded as PNG
 *
 * Method.  The frame is decoded again from the source file (sh_scan_*),
 * shown in gray (1 bpp converted) or in colour as scanned, turned by the
 * page's quarter turns, scaled once so that the page's region comes out
 * width px wide, cut out of the sheet (one half of a two-up sheet), and
 * deskewed by prep's own rotation (sh_prep_deskew).  Everything follows
 * the geometry prep recorded (sh_geom), so the result lines up with the
 * OCR image that the word boxes are measured on; only the scale differs.
 */
#include "render.h"
#include "prep.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int sh_prep_render(const char *path, int frame, const sh_geom *g, int width,
                   PIX **out, sh_err *err)
{
    *out = NULL;
    sh_scan *sc = NULL;
    sh_frame f = {0};
    PIX *gray = NULL, *turned = NULL, *scaled = NULL, *reg = NULL;
    PIX *desk = NULL;
    BOX *box = NULL;
    int rc;
    if (width < 16 || width > 4000)
        return sh_errf(err, SH_EUSAGE, "page width %d px out of 16..4000",
                       width);
    if ((rc = sh_scan_open(path, NULL, &sc, err)))
        goto out;
    if (frame < 0 || frame >= sh_scan_frames(sc)) {
        rc = sh_errf(err, SH_EINPUT, "%s: no frame %d (the file has %d)",
                     path, frame, sh_scan_frames(sc));
        goto out;
    }
    if ((rc = sh_scan_read(sc, frame, &f, err)))
        goto out;
    /* 1 bpp is shown as gray so the reduction keeps strokes readable. */
    int d = pixGetDepth(f.pix);
    gray = d == 1 ? pixConvert1To8(NULL, f.pix, 255, 0)
         : d == 8 || d == 32 ? pixClone(f.pix)
                             : pixConvertTo8(f.pix, 0);
    turned = gray ? pixRotateOrth(gray, ((g->quarter % 4) + 4) % 4) : NULL;
    if (!turned) {
        rc = sh_errf(err, SH_ENOMEM, "%s frame %d: cannot turn the page", path,
                     frame);
        goto out;
    }
    /* The sheet and the region in OCR px. */
    int tw = pixGetWidth(turned), th = pixGetHeight(turned);
    int fw = g->full_w, fh = g->full_h;
    int rx = g->reg_x, ry = g->reg_y, rw = g->reg_w, rh = g->reg_h;
    if (fw <= 0 || fh <= 0 || rw <= 0 || rh <= 0) {
        fw = g->ocr_w > 0 && g->ocr_h > 0 ? g->ocr_w : tw;
        fh = g->ocr_w > 0 && g->ocr_h > 0 ? g->ocr_h : th;
        rx = ry = 0;
        rw = fw;
        rh = fh;
    }
    if (rx < 0 || ry < 0 || rx + rw > fw || ry + rh > fh) {
        rc = sh_errf(err, SH_EUSAGE,
                     "%s frame %d: page region %d,%d %dx%d outside the sheet "
                     "%dx%d",
                     path, frame, rx, ry, rw, rh, fw, fh);
        goto out;
    }
    double k = (double)width / rw;   /* display px per OCR px */
    int sw = (int)lround(fw * k), sh = (int)lround(fh * k);
    scaled = pixScale(turned, (float)sw / (float)tw, (float)sh / (float)th);
    if (!scaled) {
        rc = sh_errf(err, SH_ENOMEM, "%s frame %d: cannot scale the page",
                     path, frame);
        goto out;
    }
    if (rw == fw && rh == fh) {
        reg = pixClone(scaled);
    } else {
        int h = (int)lround(rh * k);
        box = boxCreate((int)lround(rx * k), (int)lround(ry * k), width,
                        h > 0 ? h : 1);
        reg = box ? pixClipRectangle(scaled, box, NULL) : NULL;
    }
    if (!reg) {
        rc = sh_errf(err, SH_ENOMEM, "%s frame %d: cannot cut the page out",
                     path, frame);
        goto out;
    }
    if (!(desk = sh_prep_deskew(reg, g->skew_deg))) {
        rc = sh_errf(err, SH_ENOMEM, "%s frame %d: cannot deskew the page",
                     path, frame);
        goto out;
    }
out:
    if (!rc) {
        *out = desk;
        desk = NULL;
    }
    boxDestroy(&box);
    pixDestroy(&gray);
    pixDestroy(&turned);
    pixDestroy(&scaled);
    pixDestroy(&reg);
    pixDestroy(&desk);
    sh_frame_release(&f);
    sh_scan_close(&sc);
    return rc;
}

int sh_prep_render_png(const char *path, int frame, const sh_geom *g,
                       int width, uint8_t **png, size_t *n, sh_err *err)
{
    *png = NULL;
    *n = 0;
    PIX *pix = NULL;
    l_uint8 *data = NULL;
    size_t size = 0;
    int rc = sh_prep_render(path, frame, g, width, &pix, err);
    if (rc)
        goto out;
    if (pixWriteMem(&data, &size, pix, IFF_PNG) != 0 || !data) {
        rc = sh_errf(err, SH_ENOMEM, "%s frame %d: cannot encode PNG", path,
                     frame);
        goto out;
    }
    if (!(*png = malloc(size))) {
        rc = sh_errf(err, SH_ENOMEM, "out of memory");
        goto out;
    }
    memcpy(*png, data, size);
    *n = size;
out:
    lept_free(data);
    pixDestroy(&pix);
    return rc;
}
