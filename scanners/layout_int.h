/*
 * layout_int.h — what layout.c (content box, marks, blank pages, the
 * shared measurements) and layout_split.c (one page or two) share.  Not
 * for other modules: they use layout.h.
 *
 *   ibox, ana                  a box in working pixels; the measurements
 *                              of one image
 *   imin, imax, iclamp, dclamp, mm, mmi, tomm
 *                              small arithmetic; millimetres ↔ working px
 *   sh__layout_ana_init/free   measure an image once, at a working dpi
 *   sh__layout_find_marks      punch holes and staples
 *   sh__layout_print_boxes     print grouped into line pieces
 *   sh__layout_significant     a line piece that may be text
 */
#ifndef SH_LAYOUT_INT_H
#define SH_LAYOUT_INT_H

#include "layout.h"

typedef struct ibox {
    int x, y, w, h;
} ibox;

/* Everything measured once per image, in working pixels. */
typedef struct ana {
    PIX *r;          /* 8 bpp rank-reduced copy                       */
    int f;           /* full px per working px                        */
    double wd;       /* working dpi                                   */
    int w, h;        /* size of r                                     */
    int fw, fh;      /* size of the full image                        */
    int paper;       /* paper gray level                              */
    PIX *bgs;        /* background at 1/BG_RED of r                   */
    PIX *border;     /* 1 bpp, r size: dark borders                   */
    PIX *border_dil; /* the same, widened by 1.5 mm                   */
    int has_border;
    ibox pb;         /* paper box                                     */
    PIX *ink;        /* 1 bpp, r size: print, borders and bands out   */
    ibox *figs;      /* dark background regions that are content      */
    int nfigs;
    ibox *bands;     /* long narrow dark regions (shadow bands)       */
    int nbands;
    double faint;    /* fraction of the paper that is faint (not print)
                        but darker than FAINT_REL of its background     */
} ana;

static inline int imin(int a, int b) { return a < b ? a : b; }
static inline int imax(int a, int b) { return a > b ? a : b; }
static inline int iclamp(int v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}
static inline double dclamp(double v, double lo, double hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* Millimetres → working pixels. */
static inline double mm(const ana *a, double v) { return v * a->wd / 25.4; }
static inline int mmi(const ana *a, double v)
{
    int p = (int)(mm(a, v) + 0.5);
    return p < 1 ? 1 : p;
}
/* Working pixels → millimetres. */
static inline double tomm(const ana *a, double px) { return px * 25.4 / a->wd; }


/* Measure gray (8 bpp, dpi) once at about work_dpi into a (zeroed
   first): the rank-reduced copy, paper level, background, borders and
   paper box, bands, pictures and print.  SH_OK, SH_EUSAGE (no usable
   image), SH_ENOMEM; on error a holds nothing. */
int sh__layout_ana_init(PIX *gray, int dpi, double work_dpi, ana *a,
                        sh_err *err);

/* Free what a holds; a is then zeroed. */
void sh__layout_ana_free(ana *a);

/* Find marks inside `search` (working px), skipping `skip` (may be NULL).
   positional: apply the rules on where holes and staples sit on a page.
   Returns the padded boxes (working px) in *out (NULL when none); 0 or -1. */
int sh__layout_find_marks(const ana *a, ibox search, const ibox *skip,
                          int positional, ibox **out, int *nout);

/* Print grouped into line pieces: the print mask with the marks cleared,
   closed horizontally by 3 mm, its connected components, plus the
   pictures.  Specks (both sides under 1 mm) are dropped; vert_out: also
   tall thin pieces (rules, creases).  Returns 0 or -1; *out malloc'd. */
int sh__layout_print_boxes(const ana *a, const ibox *marks, int nmarks,
                           int vert_out, ibox **out, int *nout);

/* 1 if line piece b may be text: at least 1.2 mm tall and 3 mm wide. */
int sh__layout_significant(const ana *a, const ibox *b);

#endif
