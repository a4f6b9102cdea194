/*
 * ocr.h — Tesseract (vie) in process, through its C API.
 *
 * One sh_ocr engine per worker process, kept for the worker's whole life:
 * a TessBaseAPI for recognition ("vie") and one for orientation ("osd").
 * The worker's environment must carry OMP_THREAD_LIMIT=1 from exec time.
 */
#ifndef SH_OCR_H
#define SH_OCR_H

#include "../base/common.h"
#include <leptonica/allheaders.h>

/* One symbol (character) of a word as the recognizer read it, and the
   other readings it considered for that place (lstm_choice_mode=2: the
   LSTM's own alternatives), best first.  Texts are UTF-8, NUL-terminated;
   a reading longer than SH_SYM_TEXT - 1 bytes is dropped. */
#define SH_SYM_TEXT 16
#define SH_SYM_ALTS 4
typedef struct sh_sym_alt {
    char text[SH_SYM_TEXT];
    float conf;          /* 0..100                                       */
} sh_sym_alt;

typedef struct sh_sym {
    char text[SH_SYM_TEXT];   /* the reading that is in the word's text  */
    float conf;               /* 0..100                                  */
    int nalt;                 /* 0..SH_SYM_ALTS                          */
    sh_sym_alt alt[SH_SYM_ALTS]; /* other readings, not text, best first */
} sh_sym;

/* One recognised word.  Box in OCR-image pixels, top-left origin,
   x1/y1 exclusive.  baseline_y: y of the line's baseline under the word
   (px), or -1 when Tesseract gave none. */
typedef struct sh_word {
    char *text;          /* UTF-8, NFC                                   */
    int x0, y0, x1, y1;
    float conf;          /* 0..100                                       */
    int line;            /* line number on the page, from 0              */
    int par;             /* paragraph number on the page, from 0         */
    int baseline_y;
    int line_h;          /* height of the word's text line, px           */
    sh_sym *syms;        /* [nsyms] the word's symbols with alternatives,
                            owned; NULL when Tesseract gave none.  Their
                            texts joined are the word's text as read
                            (before any correction)                      */
    int nsyms;
} sh_word;

typedef struct sh_words {
    sh_word *w;
    int n, cap;
    char *text;          /* page text, UTF-8 NFC: words joined by spaces,
                            lines by '\n', paragraphs by a blank line    */
    float mean_conf;
} sh_words;

/* Frees every word's text and syms, the page text; zeroes ws. */
void sh_words_release(sh_words *ws);
/* (Re)build ws->text from the words: spaces within a line, '\n' between
   lines, a blank line between paragraphs (the old text is freed).
   Returns SH_OK or SH_ENOMEM (ws->text then unchanged). */
int sh_words_text(sh_words *ws);

typedef struct sh_ocr sh_ocr;   /* opaque */

/*
 * Create an engine.
 *   datapath [optional] tessdata folder; NULL = Tesseract's default
 *   lang     [optional] recognition languages; NULL = "vie"
 * Returns SH_OK or SH_EOCR (traineddata missing: err says which).
 */
int sh_ocr_new(const char *datapath, const char *lang, sh_ocr **out,
               sh_err *err);
void sh_ocr_free(sh_ocr **e);

/* The Vietnamese models.  "fast": Debian's tesseract-ocr-vie (tessdata_fast,
   Tesseract's default folder).  "best": tessdata 4.0.0_best_int, the larger
   LSTM (npm @tesseract.js-data/vie 1.0.0, installed by make deps); on the
   real scans 96.1 % vs 95.9 % valid syllables, ~1.25x the OCR time. */
#define SH_MODEL_FAST "fast"
#define SH_MODEL_BEST "best"
/* What a worker reads with when nothing says otherwise. */
/* The default: fast + the Vietnamese correction reads the real scans as
   well as best + correction (97.4 vs 97.5 % valid syllables, 3.0 vs 2.9 %
   of truth words missed) at 0.81x its CPU; best costs 1.37x today's
   seconds per page on dense 300 dpi pages (README, "Model"). */
#define SH_MODEL_DEFAULT SH_MODEL_FAST

/*
 * Folder holding the model's vie.traineddata, for sh_ocr_new's datapath.
 *   model  SH_MODEL_FAST or SH_MODEL_BEST (anything else reads as fast)
 *   dir    [out] the folder ("" for fast: Tesseract's default)
 * Returns 1 when the best model was found (looked for in $SOHOA_TESSDATA,
 * then next to the binary: DIR/tessdata and DIR/../share/sohoa/tessdata,
 * then PREFIX/share/sohoa/tessdata), 0 otherwise (fast, or best absent:
 * the caller falls back to fast).
 */
int sh_ocr_model_dir(const char *model, char *dir, size_t cap);

/* Set a Tesseract variable on the recognition engine (e.g.
   "thresholding_method", "2").  Returns SH_OK or SH_EUSAGE. */
int sh_ocr_set(sh_ocr *e, const char *name, const char *value);

/* Orientation with the osd model: clockwise degrees to turn pix upright.
   Matches sh_orient_fn (ctx = sh_ocr *).  Returns 0 on success. */
int sh_ocr_orient(void *ctx, PIX *pix, int dpi, int *deg, float *conf);

/*
 * Recognise pix (8 bpp gray or 1 bpp) at dpi.
 *   timeout_ms  0 = none; else the page is cancelled after this long
 *               (Tesseract's progress/cancel monitor) → SH_ETIMEOUT
 * Word boxes are in pix's coordinates.  *out is filled (zeroed first).
 */
int sh_ocr_page(sh_ocr *e, PIX *pix, int dpi, int timeout_ms, sh_words *out,
                sh_err *err);

/*
 * Recognise pix as sh_ocr_page does, in horizontal bands when it is large:
 * a page over SH_OCR_BAND_PX pixels (A1, A0 and large A2 sheets read at
 * 300 dpi) is cut into bands of about SH_OCR_BAND_PX / 2 pixels, each cut
 * at the emptiest row (fewest dark pixels) within a quarter band of its
 * place, so a line of text is never cut where the page has white between
 * its lines; each band is read on its own (Tesseract's copies of the image
 * then scale with the band, not the sheet) and its words moved to the
 * page's coordinates, with lines and paragraphs numbered on after the
 * band above.  The timeout is for the whole page.
 * Returns what sh_ocr_page returns; *out holds the whole page's words.
 */
#define SH_OCR_BAND_PX (36 * 1000 * 1000)
int sh_ocr_page_banded(sh_ocr *e, PIX *pix, int dpi, int timeout_ms,
                       sh_words *out, sh_err *err);

#endif
