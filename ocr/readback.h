/*
 * readback.h — read a written PDF's text layer back with an independent
 * extractor (poppler, through poppler-glib) and compare it with what OCR
 * gave, before the PDF is renamed into place and indexed.
 *
 * Why: a PDF whose text layer lost its Vietnamese accents ("đất" coming
 * back as "dat" or "đt"), lost characters or whole words is useless for
 * search and looks fine to the eye.  The check catches a font or ToUnicode
 * fault, a wrong mapping in the writer and an extractor that cannot place
 * the text on the page.
 *
 * Comparison rule (sh_text_check):
 *   1. The OCR side goes through the writer's own mappings: words with
 *      empty text or an empty box are left out; each byte that does not
 *      start well-formed UTF-8, controls (U+0000–001F, U+007F–009F),
 *      U+FEFF, U+FFFE, U+FFFF and characters beyond U+FFFF become U+FFFD.
 *   2. Both sides are put in Unicode NFC and cut into tokens at white
 *      space (Unicode spaces, tabs, line and page breaks).
 *   3. Tokens found on both sides (as multisets) are set aside.  What is
 *      left on each side is compared as a multiset of characters: equal
 *      means the extractor only cut or joined words differently (two words
 *      a hair apart read as one, lines of a two-column header read in
 *      another order) and the page passes; any difference (a dropped or
 *      changed diacritic, a wrong, missing or extra character, a missing
 *      word) fails it.
 *   Order is deliberately not compared: poppler's reading order is not
 *   the OCR's for multi-column layouts.  A fault that only permutes
 *   characters between words would pass; losses and substitutions, the
 *   faults seen in practice, cannot.
 *
 * Functions:
 *   sh_pdf_read_text / sh_pdf_texts_free   per-page text through poppler
 *   sh_text_check                          one page: OCR words vs text
 *   sh_readback_new / _add_page / _check / _free
 *                                          the whole document, as an
 *                                          sh_pdf_check_fn for the writer
 *
 * Notes: poppler-glib uses GLib.  Under ASan run with
 * G_SLICE=always-malloc (GLib < 2.76 keeps its own slab allocator
 * otherwise); GLib's type system keeps a few permanent allocations that
 * LeakSanitizer may list as leaks.
 */
#ifndef SH_READBACK_H
#define SH_READBACK_H

#include "../base/common.h"
#include "ocr.h"
#include "pdf.h"

/*
 * Extract the text of every page of the PDF at path with poppler
 * (reading order, as poppler_page_get_text gives it).
 * Poppler reads a private copy-on-write mapping of the file in which the
 * last "/OutputIntents" key (the Catalog's) is renamed: poppler otherwise
 * builds colour transforms from the output-intent ICC profile for every
 * page (about 50 ms a page with the tabulated-curve sRGB profile), which
 * text extraction does not use.  Nothing else differs from the file;
 * when it cannot be mapped, the file is read as it is.
 *   npages  set to the page count
 *   texts   set to an array of npages malloc'd UTF-8 strings ("" for a
 *           page without text); free with sh_pdf_texts_free
 * Returns SH_OK; SH_EUSAGE (NULL argument), SH_EINPUT (poppler cannot
 * open the file: err names it and gives poppler's reason), SH_ENOMEM.
 * On error *npages is 0 and *texts NULL.
 */
int sh_pdf_read_text(const char *path, int *npages, char ***texts,
                     sh_err *err);

/* Free what sh_pdf_read_text gave and set *texts to NULL; accepts NULL. */
void sh_pdf_texts_free(char ***texts, int npages);

/* The outcome of comparing one page. */
typedef struct sh_textcheck {
    int ocr_words;        /* tokens on the OCR side (after the mappings) */
    int pdf_words;        /* tokens in the extracted text                */
    int missing;          /* OCR tokens not found as such in the text    */
    int extra;            /* text tokens not found as such in the OCR    */
    int missing_chars;    /* characters of the OCR side not in the text  */
    int extra_chars;      /* characters of the text not in the OCR side  */
    char first_diff[256]; /* "" when the page passes; else e.g.
                             OCR "đất" is not in the PDF text (it has
                             "dat")                                       */
} sh_textcheck;

/*
 * Compare one page (see the rule at the top).
 *   ocr        [optional] the words as given to sh_pdf_add_page; NULL =
 *              a page without text
 *   extracted  [optional] the page's extracted text; NULL = ""
 *   out        filled in every case but SH_EUSAGE
 * Returns SH_OK (the page passes; missing/extra may still count tokens
 * that were only cut differently), SH_EINPUT (characters differ:
 * out->first_diff says where), SH_EUSAGE (out NULL), SH_ENOMEM.
 */
int sh_text_check(const sh_words *ocr, const char *extracted,
                  sh_textcheck *out);

/*
 * A whole-document check for sh_pdf_set_check:
 *
 *     sh_readback *rb; sh_readback_new(&rb, err);
 *     for each page: sh_pdf_add_page(w, &pg, err);
 *                    sh_readback_add_page(rb, pg.words, err);
 *     sh_pdf_set_check(w, sh_readback_check, rb);
 *     sh_pdf_commit(&w, err);
 *     sh_readback_free(&rb);
 *
 * add_page keeps only the mapped text of the usable words (about 1 byte
 * per character), so the caller may free its words at once.
 * sh_readback_check reads the file with sh_pdf_read_text and runs
 * sh_text_check on every page; it fails (SH_EINPUT) when the page count
 * differs or any page fails, err naming the page and first difference,
 * e.g. "text read-back: page 3: OCR "đất" is not in the PDF text (it has
 * "dat"); 1 of 412 OCR words not found as such (2 characters missing,
 * 2 extra)".
 */
typedef struct sh_readback sh_readback;   /* opaque */

int sh_readback_new(sh_readback **out, sh_err *err);
/* ws [optional]: NULL or no words = a page without text.  Returns SH_OK,
   SH_EUSAGE (rb NULL), SH_ENOMEM. */
int sh_readback_add_page(sh_readback *rb, const sh_words *ws, sh_err *err);
/* The same for a page whose OCR is weak (noise, a blank back read as
   specks): a difference on it does not fail the check; it is kept as a
   note (sh_readback_note). */
int sh_readback_add_lenient(sh_readback *rb, const sh_words *ws,
                            sh_err *err);
/* An sh_pdf_check_fn; ctx is the sh_readback.  Also records the pages
   and time taken (sh_readback_stats). */
int sh_readback_check(const char *pdf_path, void *ctx, sh_err *err);
/* Pages checked and seconds spent by the last sh_readback_check. */
void sh_readback_stats(const sh_readback *rb, int *pages, double *seconds);
/* After sh_readback_check: the 1-based page that failed it (0: none),
   and for page i (1-based) of a lenient page that differed, the
   difference (else NULL; valid until sh_readback_free). */
int sh_readback_failed_page(const sh_readback *rb);
const char *sh_readback_note(const sh_readback *rb, int page);
void sh_readback_free(sh_readback **rb);

#endif
