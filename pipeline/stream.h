/*
 * stream.h — a whole stack scanned at once: separator sheets that carry a
 * dossier id (made by `sohoa separators`) cut the stream of scanned pages
 * into dossiers.
 *
 *   separators.c  sh_sep_sheet_render, sh_sep_sheets_write,
 *                 sh_cmd_separators: the printable sheets
 *   stream.c      sh_stream_cut: where a stream's dossiers begin and end,
 *                 and the clerk's mistakes (pure: no I/O)
 *   run_stream.c  inside `sohoa run`: stream files → separator test per
 *                 page (cached in the catalog) → virtual dossiers
 */
#ifndef SH_STREAM_H
#define SH_STREAM_H

#include "../base/common.h"
#include "../scanners/barcode.h"

/* ---- separator sheets (separators.c) ---- */

/*
 * Draw the separator sheet of id: an A4 page at dpi (72..600), 1 bpp:
 * two black bands (top and bottom), the line "Tờ phân cách hồ sơ — không
 * lưu trữ", a 100 mm QR code of SH_SEP_PREFIX id, the id in large type
 * and a Code 128 of the same payload (left out, with a warning, when the
 * id is not printable ASCII).  Text is drawn by cairo with the DejaVu Sans
 * font (fonts-dejavu-core).
 * Returns SH_OK with *out set (caller destroys), SH_EUSAGE (invalid id or
 * dpi: err says why), SH_ELIMIT (id too long for the codes), SH_ENOMEM.
 */
int sh_sep_sheet_render(const char *id, int dpi, PIX **out, sh_err *err);

/*
 * Write the sheets of ids[0..n), one page each in that order, to path as
 * a PDF/A-2b (the project's writer: the sheet as a 1 bpp image, the id
 * as its searchable text).  Returns SH_OK or the error of rendering or
 * writing (nothing left under path on error).
 */
int sh_sep_sheets_write(const char *path, char **ids, int n, int dpi,
                        sh_err *err);

/* sohoa separators [--to FILE.pdf] [--from FILE] [--dpi N] ID...:
   exit 0, 2 usage (an invalid or repeated id included). */
int sh_cmd_separators(int argc, char **argv);

/* ---- cutting a stream (stream.c) ---- */

/* One page of a stream, in stream order. */
typedef struct sh_spage {
    int kind;            /* enum sh_sep_kind                            */
    const char *id;      /* SH_SEP_SHEET: the id read                   */
    int blank;           /* 1 blank, 0 not, -1 unknown                  */
} sh_spage;

/* A run of pages that goes together: a dossier, or pages no separator
   can be trusted for (unassigned, kept for a person to place). */
typedef struct sh_sgroup {
    char *id;            /* dossier id; NULL when unassigned            */
    const char *why;     /* unassigned: why (static text)               */
    int sep;             /* page index of the separator that opened it,
                            -1 for pages before the first separator     */
    int npages;
} sh_sgroup;

/* A clerk's mistake, at a page of the stream. */
typedef struct sh_sproblem {
    int page;            /* page index in the stream                    */
    const char *what;    /* static: "before-first", "empty", "twice",
                            "taken", "bad-id", "unreadable"             */
    char msg[400];
} sh_sproblem;

typedef struct sh_cut {
    int *group;          /* [n]: group of each page; -1 = a separator
                            sheet or its blank other side (in no PDF)   */
    sh_sgroup *g;
    int ng;
    sh_sproblem *p;
    int np;
} sh_cut;

/* 1 if id may not open a dossier of this stream because it already
   names other content (a folder dossier, another stream, the warehouse);
   may fill why[0..n) with where.  ctx is the caller's. */
typedef int (*sh_id_taken_fn)(const char *id, char *why, size_t n,
                              void *ctx);

/*
 * Cut pages[0..n) of one stream.
 *   taken  [optional] the warehouse's test for ids in use elsewhere
 * Rules: a separator opens a dossier with the id it carries; pages before
 * the first separator are an unassigned group ("before-first"); a blank
 * page right after a separator (its back in a duplex feed), or right
 * before one (its blank front), goes in no group; a separator followed
 * at once by another leaves an empty dossier ("empty": it is not made);
 * an id seen before in the stream ("twice"), used elsewhere ("taken") or
 * that is not a folder name ("bad-id"), and a sheet that looks like a
 * separator without a readable code ("unreadable"), open an unassigned
 * group instead: their pages are not guessed into a dossier.  Groups
 * with no page are kept in g (npages 0) only for "empty" dossiers.
 * Returns SH_OK with *out filled (release with sh_cut_release),
 * SH_ENOMEM, SH_EUSAGE.
 */
int sh_stream_cut(const sh_spage *pages, int n, sh_id_taken_fn taken,
                  void *ctx, sh_cut *out, sh_err *err);
void sh_cut_release(sh_cut *c);

#endif
