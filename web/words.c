/*
 * words.c — boxes of the words of one page that match a query
 * (sh_web_word_boxes, declared in web.h, tested in tests/test_web.c).
 *
 *   sh_web_word_boxes
 *   (static) tokens_of, tok_match
 *
 * Method.  The query and each OCR word are cut into tokens (runs of
 * letters, marks and digits); each token is kept in two forms made by the
 * one Vietnamese normalisation in base/vntext.c: sh_text_norm's form,
 * lower-cased, and sh_text_fold's form.  A query token typed with
 * diacritics must match a page token's lower form exactly; one typed
 * without matches folded forms — as sh_search ranks "exact" and "folded"
 * hits.  A run of consecutive page tokens matching the whole query in
 * order is a phrase.  Nothing here folds text on its own.
 */
#include "web_int.h"
#include "../base/vntext.h"

#include <stdlib.h>
#include <string.h>
#include <unicase.h>
#include <unictype.h>
#include <unistr.h>

typedef struct wtok {
    char *lower;   /* normalised, lower case */
    char *fold;    /* folded */
    int word;      /* index of the page word (query: unused) */
} wtok;

typedef struct wtoks {
    wtok *t;
    int n, cap;
} wtoks;

static void wtoks_release(wtoks *v)
{
    for (int i = 0; i < v->n; i++) {
        free(v->t[i].lower);
        free(v->t[i].fold);
    }
    free(v->t);
    memset(v, 0, sizeof *v);
}

static int is_tok_char(ucs4_t uc)
{
    return uc_is_general_category(uc, UC_LETTER) ||
           uc_is_general_category(uc, UC_NUMBER) ||
           uc_is_general_category(uc, UC_MARK);
}

/* Append the tokens (runs of letters, marks, digits) of s[0..n). */
static int tokens_of(const char *s, size_t n, int word, int max, wtoks *v)
{
    const uint8_t *p = (const uint8_t *)s;
    size_t i = 0;
    while (i < n && v->n < max) {
        ucs4_t uc;
        int k = u8_mbtoucr(&uc, p + i, n - i);
        if (k < 0 || !is_tok_char(uc)) {
            i += k < 0 ? 1 : (size_t)k;
            continue;
        }
        size_t start = i;
        while (i < n && (k = u8_mbtoucr(&uc, p + i, n - i)) > 0 &&
               is_tok_char(uc))
            i += (size_t)k;
        char *run = strndup(s + start, i - start), *norm = NULL, *fold = NULL;
        uint8_t *low = NULL;
        size_t lown = 0;
        /* Both forms from base/vntext.c; the exact form is only
           lower-cased here (case, not folding: marks and đ are kept). */
        if (run && !sh_text_norm(run, &norm) && !sh_text_fold(run, &fold))
            low = u8_tolower((const uint8_t *)norm, strlen(norm), NULL, NULL,
                             NULL, &lown);
        free(run);
        free(norm);
        char *lower = low ? strndup((const char *)low, lown) : NULL;
        free(low);
        if (lower && fold && v->n == v->cap) {
            int nc = v->cap ? v->cap * 2 : 32;
            wtok *t = realloc(v->t, (size_t)nc * sizeof *t);
            if (t) {
                v->t = t;
                v->cap = nc;
            }
        }
        if (!lower || !fold || v->n == v->cap) {
            free(lower);
            free(fold);
            return SH_ENOMEM;
        }
        v->t[v->n++] = (wtok){lower, fold, word};
    }
    return SH_OK;
}

/* Does page token p match query token q?  A query token typed with
   diacritics (its lower form differs from its folded one) must match the
   page exactly; otherwise folded forms are compared, as sh_search does. */
static int tok_match(const wtok *p, const wtok *q)
{
    if (strcmp(q->lower, q->fold) != 0)
        return !strcmp(p->lower, q->lower);
    return !strcmp(p->fold, q->fold);
}

int sh_web_word_boxes(const char *words_json, const char *query,
                      json_t **out, sh_err *err)
{
    *out = NULL;
    wtoks qt = {0}, pt = {0};
    json_t *words = NULL, *arr = NULL;
    char *marks = NULL;
    int rc = SH_OK;
    json_error_t je;
    words = json_loads(words_json ? words_json : "[]", 0, &je);
    if (!json_is_array(words)) {
        rc = sh_errf(err, SH_EINPUT, "page words are not a JSON array: %s",
                     je.text);
        goto out;
    }
    size_t nw = json_array_size(words);
    size_t qn = query ? strlen(query) : 0;
    if (qn > SH_QUERY_MAX_BYTES)
        qn = SH_QUERY_MAX_BYTES;
    if ((rc = tokens_of(query ? query : "", qn, -1, SH_QUERY_MAX_TOKENS, &qt)))
        goto nomem;
    for (size_t i = 0; i < nw; i++) {
        const char *t = json_string_value(
            json_array_get(json_array_get(words, i), 9));
        if (t && (rc = tokens_of(t, strlen(t), (int)i, 1 << 30, &pt)))
            goto nomem;
    }
    /* marks[i]: 1 = a word of the query, 2 = inside the whole query */
    if (!(marks = calloc(nw + 1, 1)) || !(arr = json_array()))
        goto nomem;
    for (int i = 0; i < pt.n && qt.n; i++) {
        for (int k = 0; k < qt.n; k++)
            if (tok_match(&pt.t[i], &qt.t[k])) {
                if (!marks[pt.t[i].word])
                    marks[pt.t[i].word] = 1;
                break;
            }
        if (qt.n > 1 && i + qt.n <= pt.n) {
            int k = 0;
            while (k < qt.n && tok_match(&pt.t[i + k], &qt.t[k]))
                k++;
            if (k == qt.n)
                for (k = 0; k < qt.n; k++)
                    marks[pt.t[i + k].word] = 2;
        }
    }
    for (size_t i = 0; i < nw; i++) {
        if (!marks[i])
            continue;
        json_t *w = json_array_get(words, i);
        json_t *o = json_pack(
            "{s:I, s:I, s:I, s:I, s:o, s:b}", "x0",
            (json_int_t)json_number_value(json_array_get(w, 0)), "y0",
            (json_int_t)json_number_value(json_array_get(w, 1)), "x1",
            (json_int_t)json_number_value(json_array_get(w, 2)), "y1",
            (json_int_t)json_number_value(json_array_get(w, 3)), "text",
            sh__web_jstr(json_string_value(json_array_get(w, 9))), "phrase",
            marks[i] == 2);
        if (!o || json_array_append_new(arr, o))
            goto nomem;
    }
    goto out;
nomem:
    rc = sh_errf(err, SH_ENOMEM, "out of memory");
out:
    wtoks_release(&qt);
    wtoks_release(&pt);
    free(marks);
    json_decref(words);
    if (rc)
        json_decref(arr);
    else
        *out = arr;
    return rc;
}
