/*
 * fields_text.c — approximate matching and the text of chunks, for the
 * header-field extractor (fields.c).
 *
 * Functions
 *   sh__fl_approx_find, sh__fl_edit_dist   approximate matching (Sellers;
 *                                          Levenshtein), over edit_core
 *   sh__fl_chunk_fold       a chunk's folded text, and where each byte is
 *   sh__fl_chunk_text       a chunk's text as read, between two positions
 *   sh__fl_letters_of       a chunk's folded letters and digits
 *   sh__fl_join_chunks      the text of several chunks for a field
 *   sh__fl_trim, sh__fl_trim_junk   ends trimmed of rule bits and specks
 *   sh__fl_set_field[_copy], sh__fl_mean_conf   field values, confidence
 *
 * Method.  Matching is done on the folded text (one byte per code point,
 * so a pattern found there has a word and a letter as printed); the
 * values are cut from the normalised text at those positions.
 */
#include "fields_int.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* Edit distance of pattern p (m bytes, m <= 63) against s (n bytes):
   anywhere = 0, plain Levenshtein of the whole strings; anywhere = 1, the
   smallest distance to any substring of s (Sellers' algorithm), *end
   [optional] = index in s just after the best match (the earliest of
   equals).  O(n·m). */
static int edit_core(const char *s, int n, const char *p, int m, int anywhere,
                     int *end)
{
    int col[64];
    for (int j = 0; j <= m; j++)
        col[j] = j;
    int best = m, bend = 0;
    for (int i = 1; i <= n; i++) {
        int diag = col[0];
        col[0] = anywhere ? 0 : i;
        for (int j = 1; j <= m; j++) {
            int up = col[j];
            int v = diag + (s[i - 1] != p[j - 1]);
            if (up + 1 < v)
                v = up + 1;
            if (col[j - 1] + 1 < v)
                v = col[j - 1] + 1;
            diag = up;
            col[j] = v;
        }
        if (anywhere && col[m] < best) {
            best = col[m];
            bend = i;
        }
    }
    if (end)
        *end = bend;
    return anywhere ? best : col[m];
}

static int approx_end(const char *s, int n, const char *p, int m, int *end)
{
    return edit_core(s, n, p, m, 1, end);
}

/* As approx_end, also giving the start (a second pass, reversed, over
   s[0..end)). */
int sh__fl_approx_find(const char *s, int n, const char *p, int *start,
                       int *end)
{
    int m = (int)strlen(p);
    if (m > 63 || n <= 0)
        return m;
    int d = approx_end(s, n, p, m, end);
    char rs[MAXS], rp[64];
    int e = *end;
    for (int i = 0; i < e; i++)
        rs[i] = s[e - 1 - i];
    for (int j = 0; j < m; j++)
        rp[j] = p[m - 1 - j];
    int rend;
    approx_end(rs, e, rp, m, &rend);
    *start = e - rend;
    return d;
}

/* Plain edit distance of a and b (both <= 63 bytes, else large). */
int sh__fl_edit_dist(const char *a, const char *b)
{
    int n = (int)strlen(a), m = (int)strlen(b);
    if (n > 63 || m > 63)
        return 99;
    return edit_core(a, n, b, m, 0, NULL);
}

/* The folded text of chunk c from its word a on: words joined by one
   space (or, letters_only, only its letters and digits).  map[i] = word
   position in the chunk (k) of byte i, mcp[i] its code point there.
   Returns the length (at most MAXS-1). */
int sh__fl_chunk_fold(const page *p, const chunk *c, int a, int letters_only,
                      char *s, int *map, int *mcp)
{
    int n = 0;
    for (int k = a; k < c->n; k++) {
        const fw *f = &p->w[c->wi[k]];
        if (!letters_only && k > a && n < MAXS - 1) {
            map[n] = k;
            mcp[n] = -1;
            s[n++] = ' ';
        }
        for (int j = 0; j < f->ncp && n < MAXS - 1; j++) {
            char b = f->fold[j];
            if (letters_only && !isalnum((unsigned char)b))
                continue;
            map[n] = k;
            mcp[n] = j;
            s[n++] = b;
        }
    }
    s[n] = 0;
    return n;
}

/* Original (normalised) text of chunk c from word position k0 code point
   j0 up to word k1 code point j1 (exclusive; j1 < 0 = whole word k1),
   words joined by one space.  NULL when empty or out of memory. */
char *sh__fl_chunk_text(const page *p, const chunk *c, int k0, int j0, int k1,
                        int j1)
{
    sh_buf b = {0};
    for (int k = k0; k <= k1 && k < c->n; k++) {
        const fw *f = &p->w[c->wi[k]];
        int from = k == k0 ? j0 : 0;
        int to = (k == k1 && j1 >= 0) ? j1 : f->ncp;
        if (from >= to)
            continue;
        if (b.len && sh_buf_add(&b, " ", 1))
            goto oom;
        if (sh_buf_add(&b, f->norm + f->cp_off[from],
                       (size_t)(f->cp_off[to] - f->cp_off[from])))
            goto oom;
    }
    return b.data;
oom:
    sh_buf_release(&b);
    return NULL;
}

/* Trim leading/trailing bytes of s that are in set, and inner runs of
   spaces to one; in place. */
void sh__fl_trim(char *s, const char *set)
{
    if (!s)
        return;
    size_t n = strlen(s), a = 0;
    while (a < n && (strchr(set, s[a]) || s[a] == ' '))
        a++;
    while (n > a && (strchr(set, s[n - 1]) || s[n - 1] == ' '))
        n--;
    size_t o = 0;
    for (size_t i = a; i < n; i++) {
        if (s[i] == ' ' && o && s[o - 1] == ' ')
            continue;
        s[o++] = s[i];
    }
    s[o] = 0;
}

/* Trim, at both ends, ASCII bytes in set and the marks OCR makes of
   rules and specks (… “ ” ‘ ’ — –), and spaces; in place. */
void sh__fl_trim_junk(char *s, const char *set)
{
    static const char *const multi[] = {"\xe2\x80\xa6", "\xe2\x80\x9c",
        "\xe2\x80\x9d", "\xe2\x80\x98", "\xe2\x80\x99",
        "\xe2\x80\x94", "\xe2\x80\x93"};
    size_t n = strlen(s), a = 0;
    for (int changed = 1; changed;) {
        changed = 0;
        while (a < n && (s[a] == ' ' || strchr(set, s[a]))) {
            a++;
            changed = 1;
        }
        while (n > a && (s[n - 1] == ' ' || strchr(set, s[n - 1]))) {
            n--;
            changed = 1;
        }
        for (size_t k = 0; k < SH_ARRAY_LEN(multi); k++) {
            if (n - a >= 3 && !memcmp(s + a, multi[k], 3)) {
                a += 3;
                changed = 1;
            }
            if (n - a >= 3 && !memcmp(s + n - 3, multi[k], 3)) {
                n -= 3;
                changed = 1;
            }
        }
    }
    memmove(s, s + a, n - a);
    s[n - a] = 0;
}

int sh__fl_set_field(sh_field *f, char *v, float conf)
{
    free(f->value);
    f->value = NULL;
    f->conf = 0;
    if (!v)
        return SH_OK;
    if (!v[0]) {
        free(v);
        return SH_OK;
    }
    f->value = v;
    f->conf = clamp01(conf);
    return SH_OK;
}

int sh__fl_set_field_copy(sh_field *f, const char *v, float conf)
{
    char *d = v ? strdup(v) : NULL;
    if (v && !d)
        return SH_ENOMEM;
    return sh__fl_set_field(f, d, conf);
}

int sh__fl_letters_of(const page *p, const chunk *c, char *s)
{
    int map[MAXS], mcp[MAXS];
    return sh__fl_chunk_fold(p, c, 0, 1, s, map, mcp);
}

/* Join chunk texts for a field: chunks idx[0..n), first from folded
   position 'at' of the first; each part trimmed of the bytes in 'junk' at
   both ends (NULL: none). */
char *sh__fl_join_chunks(const page *p, const int *idx, int n, int at0,
                         const char *junk)
{
    sh_buf b = {0};
    for (int i = 0; i < n; i++) {
        const chunk *c = &p->c[idx[i]];
        char *t;
        if (i == 0 && at0 > 0) {
            char s[MAXS];
            int map[MAXS], mcp[MAXS];
            int len = sh__fl_chunk_fold(p, c, 0, 0, s, map, mcp);
            if (at0 >= len)
                continue;
            int k0 = map[at0], j0 = mcp[at0];
            if (j0 < 0) {
                k0++;
                j0 = 0;
            }
            t = sh__fl_chunk_text(p, c, k0, j0, c->n - 1, -1);
        } else {
            t = sh__fl_chunk_text(p, c, 0, 0, c->n - 1, -1);
        }
        if (!t)
            continue;
        if (junk)
            sh__fl_trim_junk(t, junk);
        /* a point at the end of a line that the text goes on after is a
           speck */
        size_t tl = strlen(t);
        if (i + 1 < n && tl > 1 && t[tl - 1] == '.' && t[tl - 2] != '.')
            t[tl - 1] = 0;
        if (!t[0]) {
            free(t);
            continue;
        }
        int bad = (b.len && sh_buf_add(&b, " ", 1)) || sh_buf_adds(&b, t);
        free(t);
        if (bad) {
            sh_buf_release(&b);
            return NULL;
        }
    }
    if (b.data)
        sh__fl_trim(b.data, "");
    return b.data;
}

float sh__fl_mean_conf(const page *p, const int *idx, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++)
        s += p->c[idx[i]].conf;
    return n ? (float)(s / n / 100.0) : 0;
}
