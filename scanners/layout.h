/*
 * layout.h — page-layout analysis for hard pages: two-up sheets (an A3
 * sheet holding two A4 pages), staples and punch holes, dark scanner
 * borders, blank backs.
 *
 * Pure analysis with Leptonica: every function takes an UPRIGHT image
 * (orientation already fixed), 8 bpp gray (other depths are converted),
 * at its resolution `dpi` (150..400 expected; 30..2400 accepted), and never
 * modifies it.  Decisions carry a confidence; a low one sets `review` so a
 * person looks at the sheet instead of the program guessing silently.
 *
 * Functions:
 *   sh_layout_split     one page or two pages side by side; where to cut
 *   sh_layout_content   content box, dark borders, staples/holes, blank back
 *   sh_content_release  free what an sh_content holds
 *   sh_layout_clean     whiten marks and margins in a copy (the OCR image)
 */
#ifndef SH_LAYOUT_H
#define SH_LAYOUT_H

#include "scan.h"

/* Confidences below this set `review`. */
#define SH_LAYOUT_REVIEW_CONF 0.6

/* Two-up decision for an upright sheet. */
typedef struct sh_split {
    int split;          /* 1: two pages side by side; 0: one page          */
    int cut_x;          /* column of the cut (fold / gutter centre) at the
                           image's vertical centre, px; when split         */
    double cut_dxdy;    /* tilt of the cut line: at row y the cut is at
                           cut_x + cut_dxdy * (y - h/2); 0 = vertical      */
    double conf;        /* 0..1 confidence of the decision (either way)    */
    const char *method; /* "fold", "gutter", "shape" or "none" (static)    */
    int review;         /* 1 when conf < SH_LAYOUT_REVIEW_CONF: flag the
                           sheet for a person                              */
    char why[160];      /* one line for logs: the evidence behind it       */
} sh_split;

/*
 * Decide whether the upright sheet gray holds two pages side by side.
 *   gray  upright image, 8 bpp gray (other depths converted), not modified
 *   dpi   its resolution (square pixels), 30..2400
 *   out   filled on SH_OK (zeroed first in every case)
 * Returns SH_OK, SH_EUSAGE (NULL argument, dpi out of range), SH_EINPUT
 * (image smaller than about 16 px at 100 dpi), SH_ENOMEM.
 * Method, in order: a sheet that is not clearly landscape (w < 1.15 h)
 * is one page.  Otherwise, on a ~100 dpi copy with dark scanner borders
 * left out: a fold — a column band darker than the paper on both sides,
 * at least 2 mm wide, found in most of 12 horizontal strips along one
 * straight line (tilt up to ±6°) in the middle 30 % of the paper — splits,
 * unless text lines run across it (a folded single page); else a gutter —
 * the straight empty band (tilt up to ±5°) through the middle 30 % with
 * the largest clearance, at least 10 mm wide, with at least 3 text lines
 * and a block at least 40 mm (and 18 % of the sheet) wide on each side —
 * splits; text lines, table rules or pictures running across the centre
 * in a quarter of the strips mean one page; a sheet of two-up shape
 * (1.25..1.6) with text on one half only is cut at the centre ("shape",
 * review); anything else is one page with review set.
 * Notes: cut_x is in the full-resolution image.  Dark scanner borders are
 * left out before measuring (the "paper" is what remains).  A fold cut is
 * placed on the fold; a gutter cut on the paper's centre line when that
 * stays 3 mm clear of print, else on the gutter's middle.
 */
int sh_layout_split(PIX *gray, int dpi, sh_split *out, sh_err *err);

/* Content analysis of one page (or one half of a split sheet). */
typedef struct sh_content {
    BOX box;          /* content box (x,y,w,h) inside the page, px: dark
                         borders and the empty margin outside it excluded,
                         2 mm of margin kept around the print (less where
                         a border comes closer); the paper box when the
                         page is blank                                    */
    BOX paper;        /* the paper: the image minus dark borders touching
                         its edges (whole image when there are none)      */
    int border;       /* 1 if dark scanner borders were found and excluded */
    int blank;        /* 1 if the page holds no content (blank back)      */
    double blank_conf;/* 0..1 confidence of `blank` (either way)          */
    BOXA *marks;      /* staples and punch holes found, padded by 1.5 mm
                         (boxes to whiten in the OCR image); owned by the
                         struct; NULL when none                           */
} sh_content;

/*
 * Analyse the content of one upright page.
 *   gray  upright page, 8 bpp gray (other depths converted), not modified
 *   dpi   its resolution, 30..2400
 *   out   filled on SH_OK (zeroed first in every case); release it with
 *         sh_content_release
 * Returns SH_OK, SH_EUSAGE (NULL argument, dpi out of range), SH_EINPUT
 * (image too small), SH_ENOMEM.
 * Method: on a ~100 dpi copy, print is a connected region darker than
 * 70 % of the local paper level that holds a stroke core darker than 55 %
 * of it (bleed-through, at 65..85 % of the paper, is not print); dark
 * scanner borders are regions darker than 55 % of the paper connected to
 * an image edge along at least 10 % of it; shadow bands (a fold at the
 * page's edge) are followed rather than taken for print; punch holes are
 * isolated solid round blobs 4.5..10.5 mm across within 30 mm of a paper
 * edge (dark, gray, or a light hole with a dark rim); staples are isolated
 * bars 6..25 mm long, 0.3..3.5 mm thick, within 45 mm of a corner or
 * 15 mm of an edge (thin bars along the axes are rules, not staples).
 * Print is grouped into line pieces (closed horizontally by 3 mm); a page
 * is blank when no piece at least 3 mm wide and 1.2 mm tall remains, or
 * only one small one (≤ 25 × 8 mm) in the top or bottom 15 %, centred or
 * near a side (a page number).
 * Notes: a page with one short line elsewhere, or two lines, is not blank
 * (blank_conf then says how sure).  The content box holds every line piece
 * (specks under 1 mm aside) and picture, except pieces both small (under
 * 3 mm wide or 1.2 mm tall) and within 5 mm of the paper's edge: shadow
 * and scanner dirt.  On a half cut from a two-up sheet, a fold shadow darker than 55 %
 * of the paper at the cut edge counts as a border.  Light holes without a
 * dark rim are not marks (nothing to whiten).
 */
int sh_layout_content(PIX *gray, int dpi, sh_content *out, sh_err *err);

/* Free the marks; c may be NULL.  Leaves c zeroed. */
void sh_content_release(sh_content *c);

/*
 * A copy of gray with everything outside c->box and inside each of
 * c->marks set to white (the OCR image).  gray is not modified.
 * Returns NULL on NULL arguments or allocation failure.
 * Notes: an empty box (w or h <= 0) means the whole image.
 */
PIX *sh_layout_clean(PIX *gray, const sh_content *c);

#endif
