/*
 * ocr.c — Tesseract in process (C API), one engine per worker for its life.
 *
 *   sh_ocr_new      create the recognition ("vie") and orientation ("osd")
 *                   TessBaseAPIs
 *   sh_ocr_free
 *   sh_ocr_model_dir  where the best-accuracy Vietnamese model lives
 *   sh_ocr_orient   orientation by the osd model (sh_orient_fn)
 *   sh_ocr_page     recognise one page into words with boxes and lines
 *   sh_words_release
 *   sh_words_text   (re)build the page text from the words
 *   (static) word_syms  a word's symbols and the recognizer's alternatives
 *
 * Method: the page image arrives prepared (upright, deskewed, ~300 dpi).
 * Recognition runs under an ETEXT_DESC monitor whose cancel callback
 * enforces the per-page deadline, so a pathological page costs at most the
 * timeout.  Words are read with the result iterator at RIL_WORD; text lines
 * give each word its baseline and line height, which the PDF text layer
 * uses to lie on the printed word.  With lstm_choice_mode=2 the LSTM keeps,
 * for each character it output, the other characters it considered there
 * with their confidences; word_syms walks the word's symbols (RIL_SYMBOL,
 * on a copy of the iterator) and keeps up to SH_SYM_ALTS of them per
 * symbol, so that ocr/vncorrect.c can choose a tone mark the recognizer
 * ranked second.  The mode costs ~9 % of recognition CPU (4 real pages,
 * twice each: 1.47 → 1.61 s a page).
 */
#include "ocr.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <tesseract/capi.h>
#include <unistd.h>

struct sh_ocr {
    TessBaseAPI *api;   /* recognition */
    TessBaseAPI *osd;   /* orientation; NULL if osd.traineddata missing */
};

int sh_ocr_new(const char *datapath, const char *lang, sh_ocr **out,
               sh_err *err)
{
    *out = NULL;
    sh_ocr *e = calloc(1, sizeof *e);
    if (!e)
        return sh_errf(err, SH_ENOMEM, "OCR engine: out of memory");
    if (!lang)
        lang = "vie";
    e->api = TessBaseAPICreate();
    if (!e->api ||
        TessBaseAPIInit3(e->api, datapath, lang) != 0) {
        sh_ocr_free(&e);
        return sh_errf(err, SH_EOCR,
                       "Tesseract cannot load language '%s' (install "
                       "tesseract-ocr-%s, or set TESSDATA_PREFIX)",
                       lang, lang);
    }
    TessBaseAPISetPageSegMode(e->api, PSM_AUTO);
    /* Keep the LSTM's per-character alternatives (word_syms). */
    TessBaseAPISetVariable(e->api, "lstm_choice_mode", "2");
    /* Quiet: no "Estimating resolution" chatter on stderr. */
    TessBaseAPISetVariable(e->api, "debug_file", "/dev/null");
    /* A model folder may hold vie only: osd then comes from Tesseract's
       own folder. */
    int osd_ok = 0;
    for (int k = datapath ? 0 : 1; k < 2 && !osd_ok; k++) {
        if (e->osd)
            TessBaseAPIDelete(e->osd);
        e->osd = TessBaseAPICreate();
        osd_ok = e->osd && TessBaseAPIInit3(e->osd, k ? NULL : datapath,
                                            "osd") == 0;
    }
    if (!osd_ok) {
        sh_ocr_free(&e);
        return sh_errf(err, SH_EOCR,
                       "Tesseract cannot load the 'osd' model (install "
                       "tesseract-ocr-osd)");
    }
    TessBaseAPISetVariable(e->osd, "debug_file", "/dev/null");
    TessBaseAPISetPageSegMode(e->osd, PSM_OSD_ONLY);
    *out = e;
    return SH_OK;
}

/* Is DIR/vie.traineddata there?  Copies dir into out when it is. */
static int model_in(const char *dir, char *out, size_t cap)
{
    char p[4096];
    if (!dir || !dir[0] ||
        snprintf(p, sizeof p, "%s/vie.traineddata", dir) >= (int)sizeof p ||
        access(p, R_OK) != 0 || (size_t)snprintf(out, cap, "%s", dir) >= cap)
        return 0;
    return 1;
}

int sh_ocr_model_dir(const char *model, char *dir, size_t cap)
{
    if (cap)
        dir[0] = 0;
    if (!model || strcmp(model, SH_MODEL_BEST) != 0)
        return 0;
    if (model_in(getenv("SOHOA_TESSDATA"), dir, cap))
        return 1;
    /* Next to the binary: build/sohoa → build/tessdata (make deps), and
       PREFIX/bin/sohoa → PREFIX/share/sohoa/tessdata (make install). */
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 64);
    if (n > 0) {
        exe[n] = 0;
        char *slash = strrchr(exe, '/');
        if (slash) {
            strcpy(slash, "/tessdata");
            if (model_in(exe, dir, cap))
                return 1;
            strcpy(slash, "/../share/sohoa/tessdata");
            if (model_in(exe, dir, cap))
                return 1;
        }
    }
#ifdef SH_DATADIR
    if (model_in(SH_DATADIR "/tessdata", dir, cap))
        return 1;
#endif
    return 0;
}

void sh_ocr_free(sh_ocr **pe)
{
    if (!pe || !*pe)
        return;
    sh_ocr *e = *pe;
    if (e->api) {
        TessBaseAPIEnd(e->api);
        TessBaseAPIDelete(e->api);
    }
    if (e->osd) {
        TessBaseAPIEnd(e->osd);
        TessBaseAPIDelete(e->osd);
    }
    free(e);
    *pe = NULL;
}

int sh_ocr_set(sh_ocr *e, const char *name, const char *value)
{
    return TessBaseAPISetVariable(e->api, name, value) ? SH_OK : SH_EUSAGE;
}

int sh_ocr_orient(void *ctx, PIX *pix, int dpi, int *deg, float *conf)
{
    sh_ocr *e = ctx;
    *deg = 0;
    *conf = 0;
    if (!e || !e->osd)
        return -1;
    TessBaseAPISetImage2(e->osd, pix);
    TessBaseAPISetSourceResolution(e->osd, dpi);
    int od = 0;
    float oc = 0, sc = 0;
    const char *script = NULL;
    BOOL ok = TessBaseAPIDetectOrientationScript(e->osd, &od, &oc, &script,
                                                 &sc);
    TessBaseAPIClear(e->osd);
    if (!ok)
        return -1;
    /* od is the page's rotation; turning it upright takes (360 - od). */
    *deg = (360 - od) % 360;
    *conf = oc;
    return 0;
}

void sh_words_release(sh_words *ws)
{
    if (!ws)
        return;
    for (int i = 0; i < ws->n; i++) {
        free(ws->w[i].text);
        free(ws->w[i].syms);
    }
    free(ws->w);
    free(ws->text);
    memset(ws, 0, sizeof *ws);
}

static int words_push(sh_words *ws, const sh_word *w)
{
    if (ws->n == ws->cap) {
        int cap = ws->cap ? 2 * ws->cap : 256;
        sh_word *p = realloc(ws->w, (size_t)cap * sizeof *p);
        if (!p)
            return SH_ENOMEM;
        ws->w = p;
        ws->cap = cap;
    }
    ws->w[ws->n++] = *w;
    return SH_OK;
}

/* The symbols of the word at it, each with the recognizer's alternatives
   (choice iterator), into w->syms/w->nsyms.  A word whose symbols cannot
   be read gets none (not an error).  Returns SH_OK or SH_ENOMEM. */
static int word_syms(const TessResultIterator *it, sh_word *w)
{
    TessResultIterator *s = TessResultIteratorCopy(it);
    if (!s)
        return SH_ENOMEM;
    TessPageIterator *sp = TessResultIteratorGetPageIterator(s);
    int rc = SH_OK, cap = 0;
    for (;;) {
        char *t = TessResultIteratorGetUTF8Text(s, RIL_SYMBOL);
        if (t && t[0] && strlen(t) < SH_SYM_TEXT) {
            if (w->nsyms == cap) {
                cap = cap ? 2 * cap : 8;
                sh_sym *p = realloc(w->syms, (size_t)cap * sizeof *p);
                if (!p) {
                    TessDeleteText(t);
                    rc = SH_ENOMEM;
                    break;
                }
                w->syms = p;
            }
            sh_sym *y = &w->syms[w->nsyms++];
            memset(y, 0, sizeof *y);
            strcpy(y->text, t);
            y->conf = TessResultIteratorConfidence(s, RIL_SYMBOL);
            TessChoiceIterator *ci = TessResultIteratorGetChoiceIterator(s);
            if (ci) {
                do {
                    const char *ct = TessChoiceIteratorGetUTF8Text(ci);
                    if (!ct || !ct[0] || strlen(ct) >= SH_SYM_TEXT ||
                        !strcmp(ct, y->text) || y->nalt == SH_SYM_ALTS)
                        continue;
                    int dup = 0;
                    for (int k = 0; k < y->nalt; k++)
                        dup |= !strcmp(y->alt[k].text, ct);
                    if (dup)
                        continue;
                    strcpy(y->alt[y->nalt].text, ct);
                    y->alt[y->nalt++].conf = TessChoiceIteratorConfidence(ci);
                } while (TessChoiceIteratorNext(ci));
                TessChoiceIteratorDelete(ci);
            }
        }
        if (t)
            TessDeleteText(t);
        if (TessPageIteratorIsAtFinalElement(sp, RIL_WORD, RIL_SYMBOL) ||
            !TessResultIteratorNext(s, RIL_SYMBOL))
            break;
    }
    TessResultIteratorDelete(s);
    if (rc) {
        free(w->syms);
        w->syms = NULL;
        w->nsyms = 0;
    }
    return rc;
}

typedef struct deadline {
    double end;       /* sh_now() seconds; 0 = none */
    int hit;
} deadline;

static bool cancel_cb(void *cancel_this, int words)
{
    deadline *d = cancel_this;
    if (d->end > 0 && sh_now() > d->end) {
        d->hit = 1;
        return true;
    }
    return false;
}

int sh_words_text(sh_words *ws)
{
    sh_buf b = {0};
    int rc = sh_buf_reserve(&b, 64);
    for (int i = 0; !rc && i < ws->n; i++) {
        if (i > 0) {
            const sh_word *p = &ws->w[i - 1], *w = &ws->w[i];
            if (w->par != p->par)
                rc = sh_buf_adds(&b, "\n\n");
            else if (w->line != p->line)
                rc = sh_buf_adds(&b, "\n");
            else
                rc = sh_buf_adds(&b, " ");
        }
        if (!rc)
            rc = sh_buf_adds(&b, ws->w[i].text);
    }
    if (rc) {
        sh_buf_release(&b);
        return rc;
    }
    free(ws->text);
    ws->text = b.data;
    return SH_OK;
}

int sh_ocr_page(sh_ocr *e, PIX *pix, int dpi, int timeout_ms, sh_words *out,
                sh_err *err)
{
    memset(out, 0, sizeof *out);
    int rc = SH_OK;
    ETEXT_DESC *mon = TessMonitorCreate();
    deadline dl = {timeout_ms > 0 ? sh_now() + timeout_ms / 1000.0 : 0, 0};
    TessResultIterator *it = NULL;
    if (!mon)
        return sh_errf(err, SH_ENOMEM, "OCR: out of memory");
    TessMonitorSetCancelFunc(mon, cancel_cb);
    TessMonitorSetCancelThis(mon, &dl);

    TessBaseAPISetImage2(e->api, pix);
    TessBaseAPISetSourceResolution(e->api, dpi);
    int r = TessBaseAPIRecognize(e->api, mon);
    if (dl.hit) {
        rc = sh_errf(err, SH_ETIMEOUT, "OCR cancelled after %d s",
                     timeout_ms / 1000);
        goto out;
    }
    if (r != 0) {
        rc = sh_errf(err, SH_EOCR, "Tesseract recognition failed");
        goto out;
    }
    it = TessBaseAPIGetIterator(e->api);
    if (!it)
        goto text; /* empty page */
    TessPageIterator *pit = TessResultIteratorGetPageIterator(it);
    int line = -1, par = -1;
    int lx0 = 0, ly0 = 0, lx1 = 0, ly1 = 0;     /* line box */
    int bx1 = 0, by1 = 0, bx2 = 0, by2 = 0;     /* line baseline */
    int have_base = 0;
    float csum = 0;
    do {
        if (TessPageIteratorIsAtBeginningOf(pit, RIL_PARA))
            par++;
        if (TessPageIteratorIsAtBeginningOf(pit, RIL_TEXTLINE)) {
            line++;
            if (par < 0)
                par = 0;
            TessPageIteratorBoundingBox(pit, RIL_TEXTLINE, &lx0, &ly0, &lx1,
                                        &ly1);
            have_base = TessPageIteratorBaseline(pit, RIL_TEXTLINE, &bx1,
                                                 &by1, &bx2, &by2);
        }
        char *txt = TessResultIteratorGetUTF8Text(it, RIL_WORD);
        if (!txt)
            continue;
        if (!txt[0]) {
            TessDeleteText(txt);
            continue;
        }
        sh_word w = {0};
        w.text = strdup(txt);
        TessDeleteText(txt);
        if (!w.text) {
            rc = sh_errf(err, SH_ENOMEM, "OCR: out of memory");
            goto out;
        }
        TessPageIteratorBoundingBox(pit, RIL_WORD, &w.x0, &w.y0, &w.x1,
                                    &w.y1);
        w.conf = TessResultIteratorConfidence(it, RIL_WORD);
        if (word_syms(it, &w)) {
            free(w.text);
            rc = sh_errf(err, SH_ENOMEM, "OCR: out of memory");
            goto out;
        }
        w.line = line < 0 ? 0 : line;
        w.par = par < 0 ? 0 : par;
        w.line_h = ly1 - ly0;
        w.baseline_y = -1;
        if (have_base) {
            int cx = (w.x0 + w.x1) / 2;
            double t = bx2 != bx1 ? (double)(cx - bx1) / (bx2 - bx1) : 0;
            int by = (int)(by1 + t * (by2 - by1) + 0.5);
            /* trust the baseline only if it lies within the word's box */
            if (by >= w.y0 && by <= w.y1 + w.line_h / 2)
                w.baseline_y = by;
        }
        if (words_push(out, &w)) {
            free(w.text);
            free(w.syms);
            rc = sh_errf(err, SH_ENOMEM, "OCR: out of memory");
            goto out;
        }
        csum += w.conf;
    } while (TessResultIteratorNext(it, RIL_WORD));
    out->mean_conf = out->n ? csum / out->n : 0;
text:
    if (sh_words_text(out))
        rc = sh_errf(err, SH_ENOMEM, "OCR: out of memory");
out:
    if (it)
        TessResultIteratorDelete(it);
    TessBaseAPIClear(e->api);
    TessMonitorDelete(mon);
    if (rc)
        sh_words_release(out);
    return rc;
}
