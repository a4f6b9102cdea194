/*
 * vncorrect.h — Vietnamese syllable-aware correction of Tesseract's words
 * (vncorrect.c), with the syllable model built into the program
 * (ocr/data/vnlm.bin, made by ocr/data/mkvnlm.py from tesseract-ocr's
 * langdata, Apache-2.0).
 *
 * Tesseract drops or misplaces tone marks on â/ê/ô (phố → phô, để → đề)
 * and often reads the wrong form as a valid syllable; sh_vn_correct
 * chooses, among the recognizer's own alternatives for each character and
 * a few "more marks" variants, the valid syllables that a syllable-pair
 * model and the recognizer's confidences like best together.
 */
#ifndef SH_VNCORRECT_H
#define SH_VNCORRECT_H

#include "ocr.h"

typedef struct sh_vnlm sh_vnlm;   /* opaque; read-only once loaded */

/* The model built into the program (no file is read; cheap: a few
   pointers into the embedded blob).  Load once per worker; the model may
   be shared by threads.  Returns SH_OK, SH_ENOMEM, or SH_EINPUT when the
   embedded blob is damaged. */
int sh_vnlm_load(sh_vnlm **out, sh_err *err);
/* The same from a blob in memory (n bytes, kept by the caller for the
   model's life), e.g. a model under test. */
int sh_vnlm_open(const void *blob, size_t n, sh_vnlm **out, sh_err *err);
void sh_vnlm_free(sh_vnlm **lm);

/* 1 if s (UTF-8, any case, NFC or not) is a valid Vietnamese syllable
   spelled exactly so (both tone placements hoà/hòa are valid, "trỉên"
   is not), else 0. */
int sh_vnlm_valid(const sh_vnlm *lm, const char *s);

/* One change made: word index in ws->w, the text before and after (the
   whole word with its punctuation) and why, in words. */
typedef struct sh_vnfix {
    int word;
    int x0, y0, x1, y1;  /* the word's box (OCR-image pixels)              */
    char *orig;
    char *fixed;
    char *why;     /* e.g. "pair 'thành phố' over 'thành phô'; ố among
                      the recognizer's choices (53)"                       */
} sh_vnfix;

void sh_vnfixes_free(sh_vnfix **fixes, int n);
/* Fill f for word i of ws changed to fixed because why: the index, the
   word's box and copies of its text and fixed; why (malloc'd, may be
   NULL) becomes f's.  Returns SH_OK, or SH_ENOMEM when a copy (or why)
   is missing (f is then still freed by sh_vnfixes_free). */
int sh_vnfix_fill(sh_vnfix *f, const sh_words *ws, int i, const char *fixed,
                  char *why);

/* Tuning; a zero field means its default. */
typedef struct sh_vn_opts {
    double lambda;      /* weight of log P(word | previous); default 1.5   */
    double alt_conf;    /* LSTM alternatives below this are ignored;
                           default 20 (0..100)                             */
    double mark_conf;   /* the confidence given to a mark the recognizer
                           did not offer ("more marks"); default 4         */
    double keep_bonus;  /* added (natural log) to the word as read, so
                           that only a clear gain changes it; default 1.0 */
} sh_vn_opts;

/*
 * Correct the words of one page in place.
 *   lm      the model (sh_vnlm_load)
 *   o       [optional] tuning; NULL = defaults
 *   ws      a page from sh_ocr_page; words' syms give the alternatives
 *           (without syms only "more marks" variants are tried)
 *   fixes   [optional] *fixes: malloc'd array of *nfixes changes, caller
 *           frees with sh_vnfixes_free (NULL when none)
 *   nfixes  [optional] number of changes
 * Returns SH_OK or SH_ENOMEM (ws is then unchanged).
 * Notes: a changed word's text and the page text ws->text change together
 *   (word boxes and syms stay as read).  Never changed: words with a
 *   digit, '/', '@', or other non-letters inside (05/QĐ-UBND, www.x.vn),
 *   mixed case (TTr), all capitals that are not a syllable (UBND, QĐ),
 *   a single letter that is not a syllable (list marks "c)", a stray l).
 *   Leading/trailing punctuation is kept and breaks the chain of context,
 *   as do paragraph ends.  Case is kept (PHÔ → PHỐ, Phô → Phố).  Words
 *   of the page that are valid syllables form a cache that adds 10 % to
 *   their single-word probability, so a document's own words hold.
 */
int sh_vn_correct(const sh_vnlm *lm, sh_words *ws, sh_vnfix **fixes,
                  int *nfixes, sh_err *err);
int sh_vn_correct_opts(const sh_vnlm *lm, const sh_vn_opts *o, sh_words *ws,
                       sh_vnfix **fixes, int *nfixes, sh_err *err);

/* Confidence under which a non-word may be noise (sh_vn_drop_noise). */
#define SH_VN_NOISE_CONF 50.0

/*
 * Drop from ws the words that are marks on the paper, not writing
 * (vnnoise.c): confidence under max_conf (<= 0: SH_VN_NOISE_CONF), a
 * letter in them, no run of letters that is a valid syllable, no '/',
 * '@' or ':', and not an all-capitals abbreviation read with some
 * confidence.  Numbers are never dropped.  ws->text is rebuilt.
 *   fixes, nfixes  [optional] each word dropped is appended to *fixes
 *                  (realloc'd; *nfixes counts them all) with fixed = ""
 *                  and its confidence in why; word = its index before
 *                  the drop
 * Returns SH_OK or SH_ENOMEM.
 */
int sh_vn_drop_noise(const sh_vnlm *lm, double max_conf, sh_words *ws,
                     sh_vnfix **fixes, int *nfixes, sh_err *err);

#endif
