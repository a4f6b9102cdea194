/*
 * query.c — the user's text → query words and groups → FTS5 expressions.
 *
 * Functions:
 *   sh__query_parse, sh__query_release   text → tokens and groups
 *   sh__expr_build          the FTS5 expression of a query, and its layout
 *                           for sohoa_rank() (rank.c)
 *   sh__expr_put_token      one token as a quoted FTS5 string
 *   (static) add_group, split_words, stable_token, put_phrase, put_either,
 *            put_group
 *
 * Method.  The user's text is never FTS5 syntax.  It is cut to
 * SH_QUERY_MAX_BYTES, invalid UTF-8 and control characters become spaces,
 * balanced "double quotes" delimit explicit phrases (an unmatched quote is
 * ignored), the rest splits on white space.  Each word or quoted phrase is
 * run through the "sohoa" tokenizer itself, so punctuation goes exactly
 * where the index put it, and becomes a group: the phrase of its tokens
 * ("30/2020/NĐ-CP" is the phrase 30 2020 nđ cp).  At most
 * SH_QUERY_MAX_TOKENS tokens are kept, and only tokens that tokenize back
 * to themselves.  Every token goes into the FTS5 expression as a quoted
 * string ("" doubled), folded.  A one-token group typed with diacritics is
 * written ("fold" OR "exact"): the same pages (the index holds the folded
 * form at every accented position), but the ranking sees where the exact
 * form is.  A group of several tokens is their folded phrase "f1 f2", and
 * for each accented token AND ("fi" OR "ei"), so that the ranking sees
 * where the exact forms are (a token typed without marks stands for
 * itself folded, which matches every form).  Groups are ANDed: a page
 * matches when it holds every group, diacritics or not.
 */
#include "index_int.h"

#include <stdlib.h>
#include <string.h>
#include <unistr.h>

void sh__query_release(query *q)
{
    for (int i = 0; i < q->ntok; i++) {
        free(q->tok[i].exact);
        free(q->tok[i].fold);
    }
    for (int i = 0; i < q->nseg; i++)
        free(q->seg[i]);
    q->ntok = q->nseg = q->ngrp = 0;
    sh__qtok_close(&q->tk);
}

static int seg_token(void *ctx, const char *tok, int n, int start, int end)
{
    query *q = ctx;
    if (q->ntok + q->nseg >= SH_QUERY_MAX_TOKENS)
        return SQLITE_DONE;     /* enough: the rest is ignored */
    char *s = malloc((size_t)n + 1);
    if (!s) {
        q->nomem = 1;
        return SQLITE_NOMEM;
    }
    memcpy(s, tok, (size_t)n);
    s[n] = 0;
    q->seg[q->nseg++] = s;
    return SQLITE_OK;
}

typedef struct one_tok {
    const char *want;
    int count, equal;
} one_tok;

static int one_token(void *ctx, const char *tok, int n, int start, int end)
{
    one_tok *o = ctx;
    o->count++;
    o->equal = strlen(o->want) == (size_t)n && memcmp(o->want, tok, n) == 0;
    return SQLITE_OK;
}

/* Does s tokenize back to exactly itself?  (So that quoting it in the
   FTS5 expression means this token, never an empty or split phrase.) */
static int stable_token(query *q, const char *s)
{
    one_tok o = {s, 0, 0};
    if (!*s || sh__qtok_run(q->tk, s, (int)strlen(s), 0, one_token, &o))
        return 0;
    return o.count == 1 && o.equal;
}

/* Tokenize one word or quoted phrase and append it as a group. */
static int add_group(query *q, const char *s, size_t n)
{
    if (n == 0 || q->ntok >= SH_QUERY_MAX_TOKENS)
        return SH_OK;
    q->nseg = 0;
    int trc = sh__qtok_run(q->tk, s, (int)n, 0, seg_token, q);
    if (q->nomem || (trc != SQLITE_OK && trc != SQLITE_DONE))
        return q->nomem || trc == SQLITE_NOMEM ? SH_ENOMEM : SH_EINDEX;
    qgroup *g = &q->grp[q->ngrp];
    g->first = q->ntok;
    g->n = 0;
    g->same = 1;
    int rc = SH_OK;
    for (int i = 0; i < q->nseg; i++) {
        char *exact = q->seg[i], *fold = NULL;
        q->seg[i] = NULL;
        if (sh_text_fold(exact, &fold)) {
            free(exact);
            rc = SH_ENOMEM;
            continue;
        }
        if (!stable_token(q, exact) || !stable_token(q, fold)) {
            free(exact);
            free(fold);
            continue;
        }
        q->tok[q->ntok] = (qtok){.exact = exact, .fold = fold, .df = -1};
        q->ntok++;
        g->n++;
        if (strcmp(exact, fold) != 0)
            g->same = 0;
    }
    q->nseg = 0;
    if (g->n > 0) {
        q->ngrp++;
        if (!g->same)
            q->diacritics = 1;
    }
    return rc;
}

/* White space: ASCII controls and space, NBSP, U+2000–U+200B, U+202F,
   U+205F, U+3000.  Returns its length in bytes at s, or 0. */
static size_t space_at(const unsigned char *s, size_t n)
{
    if (s[0] <= 0x20)
        return 1;
    if (n >= 2 && s[0] == 0xC2 && s[1] == 0xA0)
        return 2;
    if (n >= 3 && s[0] == 0xE2 && s[1] == 0x80 &&
        (s[2] <= 0x8B || s[2] == 0xAF))
        return 3;
    if (n >= 3 && s[0] == 0xE2 && s[1] == 0x81 && s[2] == 0x9F)
        return 3;
    if (n >= 3 && s[0] == 0xE3 && s[1] == 0x80 && s[2] == 0x80)
        return 3;
    return 0;
}

static int split_words(query *q, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        size_t k;
        while (i < n && (k = space_at(p + i, n - i)) > 0)
            i += k;
        size_t start = i;
        while (i < n && space_at(p + i, n - i) == 0)
            i++;
        int rc = add_group(q, s + start, i - start);
        if (rc)
            return rc;
    }
    return SH_OK;
}

int sh__query_parse(sqlite3 *db, const char *text, query *q, sh_err *err)
{
    memset(q, 0, sizeof *q);
    int rc = sh__qtok_open(db, &q->tk, err);
    if (rc)
        return rc;
    if (!text)
        return SH_OK;
    /* Cut to the byte limit at a character boundary; invalid UTF-8 and
       control characters become spaces. */
    size_t n = strnlen(text, SH_QUERY_MAX_BYTES + 1);
    if (n > SH_QUERY_MAX_BYTES) {
        n = SH_QUERY_MAX_BYTES;
        while (n > 0 && ((unsigned char)text[n] & 0xC0) == 0x80)
            n--;
    }
    char *s = malloc(n + 1);
    if (!s)
        return sh_errf(err, SH_ENOMEM, "search: out of memory");
    size_t nquotes = 0;
    for (size_t i = 0; i < n;) {
        ucs4_t uc;
        int k = u8_mbtoucr(&uc, (const uint8_t *)text + i, n - i);
        if (k < 0) {
            s[i++] = ' ';
            continue;
        }
        memcpy(s + i, text + i, (size_t)k);
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            s[i] = ' ';         /* controls: space */
        nquotes += text[i] == '"';
        i += (size_t)k;
    }
    s[n] = 0;
    /* An odd quote out (the last) is read as a space. */
    if (nquotes % 2) {
        char *last = strrchr(s, '"');
        *last = ' ';
    }
    size_t i = 0;
    int quoted = 0;
    while (!rc && i <= n) {
        char *qt = memchr(s + i, '"', n - i);
        size_t end = qt ? (size_t)(qt - s) : n;
        if (quoted)
            rc = add_group(q, s + i, end - i);
        else
            rc = split_words(q, s + i, end - i);
        quoted = !quoted;
        i = end + 1;
    }
    free(s);
    if (rc)
        return sh_errf(err, rc, "search: %s while reading the query",
                       sh_strerror(rc));
    return SH_OK;
}

static int accented(const qtok *t)
{
    return strcmp(t->exact, t->fold) != 0;
}

static int put_quoted(sh_buf *b, const char *t)
{
    for (; *t; t++)
        if (sh_buf_add(b, t, 1) || (*t == '"' && sh_buf_add(b, t, 1)))
            return SH_ENOMEM;
    return SH_OK;
}

/* "tok" */
int sh__expr_put_token(sh_buf *b, const char *t)
{
    if (sh_buf_add(b, "\"", 1) || put_quoted(b, t))
        return SH_ENOMEM;
    return sh_buf_add(b, "\"", 1);
}

/* The phrase of tokens [first, first + n), n >= 2, folded (exact = 0) or
   as typed (exact = 1: each token in its exact form, which the index holds
   only where the text has it; a token typed without marks is its folded
   form, which matches every form). */
static int put_phrase(sh_buf *b, const query *q, int first, int n, int exact)
{
    if (sh_buf_add(b, "\"", 1))
        return SH_ENOMEM;
    for (int i = first; i < first + n; i++) {
        const qtok *t = &q->tok[i];
        if ((i > first && sh_buf_add(b, " ", 1)) ||
            put_quoted(b, exact ? t->exact : t->fold))
            return SH_ENOMEM;
    }
    return sh_buf_add(b, "\"", 1);
}

/* ("f" OR "e") for token t accented: the pages of f (the index holds the
   folded form at every accented position), and the ranking sees where the
   exact form is.  Its phrases are *ph (f) and *ph + 1 (e). */
static int put_either(sh_buf *b, const qtok *t, rexpr *rx, int at, int *ph)
{
    rx->etok[at] = *ph + 1;
    *ph += 2;
    if (sh_buf_adds(b, "(") || sh__expr_put_token(b, t->fold) ||
        sh_buf_adds(b, " OR ") || sh__expr_put_token(b, t->exact) ||
        sh_buf_adds(b, ")"))
        return SH_ENOMEM;
    return SH_OK;
}

/* One group, from phrase number *ph on:
     one token:   "f", or ("f" OR "e") when accented;
     several:     their folded phrase "f1 f2 f3", and for each accented
                  token AND ("fi" OR "ei").
   The exact forms are single tokens, not an exact phrase: FTS5 finds a
   phrase by checking its positions on every page holding all its tokens,
   while a token is only sought at the pages the folded phrase found. */
static int put_group(sh_buf *b, const query *q, int first, int n, rexpr *rx,
                     int *ph)
{
    rgroup *g = &rx->g[rx->ng++];
    *g = (rgroup){.first = first, .n = n};
    if (n == 1) {
        const qtok *t = &q->tok[first];
        if (!accented(t)) {
            g->ph = (*ph)++;
            return sh__expr_put_token(b, t->fold);
        }
        g->ph = *ph;
        return put_either(b, t, rx, first, ph);
    }
    g->ph = (*ph)++;
    if (put_phrase(b, q, first, n, 0))
        return SH_ENOMEM;
    for (int i = first; i < first + n; i++)
        if (accented(&q->tok[i]) &&
            (sh_buf_adds(b, " AND ") || put_either(b, &q->tok[i], rx, i, ph)))
            return SH_ENOMEM;
    return SH_OK;
}

/* The expression of one kind (EXPR_*) into b, and its layout into rx.
   EXPR_MATCH: every group, ANDed.  EXPR_PHRASE: the pages holding the
   whole query as typed, as a phrase. */
int sh__expr_build(const query *q, int kind, rexpr *rx, sh_buf *b)
{
    int ph = 0;
    b->len = 0;
    memset(rx, 0, sizeof *rx);
    for (int i = 0; i < SH_QUERY_MAX_TOKENS; i++)
        rx->etok[i] = -1;
    if (kind == EXPR_MATCH) {
        for (int gi = 0; gi < q->ngrp; gi++)
            if ((gi && sh_buf_adds(b, " AND ")) ||
                put_group(b, q, q->grp[gi].first, q->grp[gi].n, rx, &ph))
                return SH_ENOMEM;
        return SH_OK;
    }
    rx->g[rx->ng++] = (rgroup){.n = q->ntok};
    if (q->ntok == 1)
        return sh__expr_put_token(b, q->tok[0].exact);
    return put_phrase(b, q, 0, q->ntok, 1);
}
