/*
 * vnnoise.c — words that are marks on the paper, not writing: dropped
 * from a page's text before it is corrected, stored and indexed.
 *
 *   sh_vn_drop_noise   remove the page's low-confidence non-words
 *   (static) is_noise  the rule for one word
 *
 * Method.  Stamps, signatures, handwriting and speckle reach Tesseract as
 * "words" it reads with low confidence and that spell nothing: "lR",
 * "mm", "Ÿ", "Z2", "TÌk‡" (vietadmin 4_2: 9 of its 12 non-syllables were
 * such marks).  They add nothing a searcher can find and make the text
 * layer and the index noisier.  A word is dropped only when all of these
 * hold:
 *   - the recognizer's confidence is below max_conf;
 *   - it has a letter (numbers, however faint, are kept: a handwritten
 *     "2435" is the document's number);
 *   - no run of its letters is a valid Vietnamese syllable (sh_vnlm_valid
 *     on the exact spelling), so a faint real word stays for the
 *     corrector;
 *   - it holds no '/', '@' or ':' (codes, addresses, times);
 *   - it is not an abbreviation: two or more letters, all capitals, read
 *     with some confidence (≥ max_conf / 2.5: UBND, QĐ, THPT).
 * Every word dropped is reported as a change (new text "") with its
 * confidence, so a reviewer sees what was taken out.
 */
#include "vncorrect.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unictype.h>
#include <unistr.h>

/* Longest letter run checked against the syllable list, bytes. */
#define RUN_MAX 64

static int is_noise(const sh_vnlm *lm, const sh_word *w, double max_conf)
{
    if (w->conf >= max_conf || !w->text)
        return 0;
    const uint8_t *s = (const uint8_t *)w->text;
    size_t n = strlen(w->text);
    int letters = 0, upper = 0;
    char run[RUN_MAX];
    size_t rn = 0;
    for (size_t i = 0; i <= n;) {
        ucs4_t c = 0;
        int len = i < n ? u8_mbtoucr(&c, s + i, n - i) : 1;
        if (len <= 0) {           /* not UTF-8: leave the word alone */
            return 0;
        }
        int letter = i < n && uc_is_alpha(c);
        if (letter) {
            letters++;
            upper += uc_is_upper(c) != 0;
            if (rn + (size_t)len < RUN_MAX)
                memcpy(run + rn, s + i, (size_t)len);
            rn += (size_t)len;
        } else {
            if (rn > 0 && rn < RUN_MAX) {
                run[rn] = 0;
                if (sh_vnlm_valid(lm, run))
                    return 0;     /* a syllable inside: not noise */
            }
            rn = 0;
            if (c == '/' || c == '@' || c == ':')
                return 0;
        }
        i += (size_t)len;
    }
    if (!letters)
        return 0;
    if (letters >= 2 && upper == letters && w->conf >= max_conf / 2.5)
        return 0;
    return 1;
}

int sh_vn_drop_noise(const sh_vnlm *lm, double max_conf, sh_words *ws,
                     sh_vnfix **fixes, int *nfixes, sh_err *err)
{
    if (max_conf <= 0)
        max_conf = SH_VN_NOISE_CONF;
    int nd = 0;
    char *drop = ws->n > 0 ? calloc((size_t)ws->n, 1) : NULL;
    if (ws->n > 0 && !drop)
        return sh_errf(err, SH_ENOMEM, "noise filter: out of memory");
    for (int i = 0; i < ws->n; i++)
        if (is_noise(lm, &ws->w[i], max_conf)) {
            drop[i] = 1;
            nd++;
        }
    if (!nd) {
        free(drop);
        return SH_OK;
    }
    /* the record first, so that running out of memory changes nothing */
    if (fixes) {
        int base = nfixes ? *nfixes : 0;
        sh_vnfix *p = realloc(*fixes, (size_t)(base + nd) * sizeof *p);
        if (!p) {
            free(drop);
            return sh_errf(err, SH_ENOMEM, "noise filter: out of memory");
        }
        *fixes = p;
        int k = base;
        for (int i = 0; i < ws->n; i++) {
            if (!drop[i])
                continue;
            char why[96];
            snprintf(why, sizeof why,
                     "dropped: confidence %.0f, not a Vietnamese word",
                     ws->w[i].conf);
            if (sh_vnfix_fill(&p[k++], ws, i, "", strdup(why))) {
                sh_vnfixes_free(fixes, k);
                if (nfixes)
                    *nfixes = 0;
                free(drop);
                return sh_errf(err, SH_ENOMEM, "noise filter: out of memory");
            }
        }
        if (nfixes)
            *nfixes = k;
    }
    int j = 0;
    for (int i = 0; i < ws->n; i++) {
        if (drop[i]) {
            free(ws->w[i].text);
            free(ws->w[i].syms);
            continue;
        }
        ws->w[j++] = ws->w[i];
    }
    ws->n = j;
    free(drop);
    if (sh_words_text(ws))
        return sh_errf(err, SH_ENOMEM, "noise filter: out of memory");
    return SH_OK;
}
