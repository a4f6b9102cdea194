/*
 * snippet.c — the snippet of a hit, cut from the page text.
 *
 * Functions:
 *   sh__snippet             the window of words holding the most query
 *                           words, hits in [ ]
 *   (static) snip_each      each word of the text, folded, against the
 *                           query's
 *
 * Method.  Snippets are cut here from the page text rather than by FTS5's
 * snippet(): that needs a MATCH cursor on the row, and FTS5 reaches one
 * row of a long doclist only by reading the doclists up to it (about a
 * millisecond a hit on 100,000 pages).
 */
#include "index_int.h"

#include <stdlib.h>
#include <string.h>

#define SNIPPET_TOKENS 16

typedef struct snip_tok {
    int start, end;
    int hit;                    /* 1 + index of the query token, or 0 */
} snip_tok;

typedef struct snip_ctx {
    const query *q;
    snip_tok *t;
    size_t n, cap;
} snip_ctx;

static int snip_each(void *ctx, const char *tok, int len, int start, int end)
{
    snip_ctx *c = ctx;
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 512;
        snip_tok *t = realloc(c->t, cap * sizeof *t);
        if (!t)
            return SQLITE_NOMEM;
        c->t = t;
        c->cap = cap;
    }
    char f[256];
    int fl = sh_vn_fold_token(tok, len, f, (int)sizeof f);
    int hit = 0;
    for (int i = 0; fl > 0 && i < c->q->ntok && !hit; i++)
        if (strlen(c->q->tok[i].fold) == (size_t)fl &&
            memcmp(c->q->tok[i].fold, f, (size_t)fl) == 0)
            hit = i + 1;
    c->t[c->n++] = (snip_tok){start, end, hit};
    return SQLITE_OK;
}

/* The snippet of a page: the window of SNIPPET_TOKENS words holding the
   most distinct query words (then the most hits, then the earliest),
   widened to show context before the first hit, every word of the query
   (folded) in [ ], "…" where the text goes on.  Words are unicode61's,
   as in the index.  Made here rather than by FTS5's snippet(): that needs
   a MATCH cursor on the row, and FTS5 reaches a row of a long doclist
   only by reading the doclists up to it (~1 ms a hit on 100,000 pages).
   Returns a malloc'd string, or NULL (out of memory). */
char *sh__snippet(search *s, const char *text)
{
    snip_ctx c = {.q = &s->qy};
    sh_buf b = {0};
    int n = (int)strlen(text);
    if (sh__qtok_run(s->qy.tk, text, n, 1, snip_each, &c) != SQLITE_OK)
        goto fail;
    size_t best = 0, w = SNIPPET_TOKENS;
    int best_distinct = -1, best_hits = -1;
    for (size_t i = 0; i == 0 || i + w <= c.n; i++) {
        uint64_t seen = 0;
        int hits = 0, distinct = 0;
        for (size_t k = i; k < i + w && k < c.n; k++)
            if (c.t[k].hit) {
                hits++;
                uint64_t bit = 1ULL << ((c.t[k].hit - 1) & 63);
                distinct += !(seen & bit);
                seen |= bit;
            }
        if (distinct > best_distinct ||
            (distinct == best_distinct && hits > best_hits)) {
            best = i;
            best_distinct = distinct;
            best_hits = hits;
        }
    }
    /* Room left after the last hit goes before the first one. */
    size_t first = best, last = best;
    for (size_t k = best; k < best + w && k < c.n; k++)
        if (c.t[k].hit) {
            if (!c.t[first].hit)
                first = k;
            last = k;
        }
    if (c.n > 0 && c.t[first].hit) {
        size_t room = w - (last - first + 1), lead = room / 2;
        best = first > lead ? first - lead : 0;
        if (best + w > c.n)
            best = c.n > w ? c.n - w : 0;
    }
    size_t end = best + w < c.n ? best + w : c.n;
    int from = best > 0 ? c.t[best].start : 0;
    if (best > 0 && sh_buf_adds(&b, "…"))
        goto fail;
    for (size_t k = best; k < end; k++) {
        int at = k == best ? from : c.t[k - 1].end;
        if (sh_buf_add(&b, text + at, (size_t)(c.t[k].start - at)))
            goto fail;
        const char *w0 = text + c.t[k].start;
        size_t wl = (size_t)(c.t[k].end - c.t[k].start);
        if (c.t[k].hit ? sh_buf_adds(&b, "[") || sh_buf_add(&b, w0, wl) ||
                             sh_buf_adds(&b, "]")
                       : sh_buf_add(&b, w0, wl))
            goto fail;
    }
    if (end == c.n) {           /* the rest of the text, punctuation */
        int at = c.n ? c.t[c.n - 1].end : 0;
        if (sh_buf_add(&b, text + at, (size_t)(n - at)))
            goto fail;
    } else if (sh_buf_adds(&b, "…")) {
        goto fail;
    }
    free(c.t);
    return b.data ? b.data : sh_strdup("");
fail:
    free(c.t);
    sh_buf_release(&b);
    return NULL;
}
