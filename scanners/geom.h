/*
 * geom.h — the geometry of one page (sh_geom) and its JSON form (geom.c).
 *
 * Plain numbers only, no pixels: the catalog stores it with each page, the
 * worker sends it to its run, the web page and the review station read it
 * back.  Nothing here needs Leptonica.
 */
#ifndef SH_GEOM_H
#define SH_GEOM_H

#include "../base/common.h"
#include <jansson.h>

/* Geometry of one page: everything needed to map between the original
   pixels, the OCR image and the PDF page.  Stored with the page. */
typedef struct sh_geom {
    int src_w, src_h;       /* original pixels as stored                   */
    double src_xres, src_yres;
    int quarter;            /* total clockwise quarter turns applied to the
                               stored pixels (tag + detected), 0..3        */
    int tag_rot;            /* part of quarter that came from the file tag */
    double skew_deg;        /* residual skew of the upright page, degrees,
                               counter-clockwise positive; the page is
                               rotated by -skew_deg to deskew it            */
    double skew_conf;       /* Leptonica confidence (0 = none)            */
    double osd_conf;        /* Tesseract OSD orientation confidence; 0 when
                               the fast test below settled it              */
    double up_conf;         /* Leptonica pixOrientDetect: text upright (+) or
                               upside down (-)                             */
    double left_conf;       /* ... and turned sideways (|left| large)      */
    int full_w, full_h;     /* the whole upright sheet at ocr_dpi, px      */
    int reg_x, reg_y, reg_w, reg_h; /* this page's region of that sheet,
                               before its own deskew (the whole sheet, or
                               one half of a two-up sheet)                 */
    int part, nparts;       /* 0-based part of the sheet; 1 or 2 parts     */
    int ocr_w, ocr_h;       /* OCR image size, px (= reg_w × reg_h)        */
    double ocr_dpi;         /* OCR image resolution (square pixels)        */
    double page_w_pt, page_h_pt;  /* PDF page size (the region's physical
                               size)                                       */
    int crop_x, crop_y, crop_w, crop_h; /* content box in OCR px (whole
                               image when nothing cropped)                 */
    int border;             /* dark scanner borders kept out of the OCR    */
    int marks;              /* staples / punch holes kept out of the OCR   */
    int blank;              /* 1: a blank page (back of a sheet)           */
    double blank_conf;
    double split_conf;      /* confidence of the split / no-split decision */
    int review;             /* 1: low-confidence decision, for a person    */
} sh_geom;

/* g as a new JSON object, one number per field (keys = field names).
   Returns NULL out of memory. */
json_t *sh_geom_json(const sh_geom *g);
/* Fill g from j (as sh_geom_json writes it).  g is zeroed first.
   Returns SH_OK, or SH_EINPUT when j is not an object or a field is
   missing or not a number. */
int sh_geom_from_json(json_t *j, sh_geom *g);

#endif
