/*
 * fields_page.c — the page model of the header-field extractor: words →
 * normalised, folded words → chunks; the Quốc hiệu and motto → column
 * split and header zone.
 *
 * Functions
 *   sh__fl_page_build, sh__fl_page_free   words → chunks, content box
 *   fold_word               one byte per code point (sh_vn_fold_cp: ASCII
 *                           lower case, no marks, đ → d); keeps each
 *                           letter's position
 *   build_chunks, cut_line  Tesseract lines cut into chunks at wide gaps
 *   sh__fl_find_anchors     Quốc hiệu and motto → column split, header zone
 *
 * Method.  Each word is normalised (sh_text_norm) and folded one byte per
 * code point (sh_vn_fold_cp, the folding of base/vntext.c), so a match
 * found in the folded text points back at the word and the letters as
 * printed.  Words that are rules or specks (blank,
 * '_', '¬', '…' words; anything taller than three text heights, a seal or
 * a signature) are dropped.  Tesseract's lines are cut into chunks where
 * two words stand more than two word heights apart (not when the gap
 * follows "ngày" or "tháng": a day or month left blank for the hand).
 * The Quốc hiệu ("CONGHOAXAHOICHUNGHIAVIETNAM" in the letters, a third of
 * them may be wrong) anchors the right block: its left edge is the column
 * split — or, when OCR glued its first word to the end of the left line
 * ("DÂNCỘNG"), the edge that centres it over the motto.  The lines of the
 * header zone are then cut again at any gap of 0.8 word heights near the
 * split, and on the rows of the Quốc hiệu and the motto at any gap at the
 * split.  Chunks whose centre lies left of the split form the left block.
 * A Quốc hiệu at the left margin means a header typed in one column (the
 * project's samples): everything is then "left".
 */
#include "fields_int.h"
#include "../base/vntext.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <unicase.h>
#include <unistr.h>

/* Folded byte of one code point: ASCII as it is, lower-cased; a
   Vietnamese (Latin) letter as base/vntext folds it (sh_vn_fold_cp: no
   marks, đ → d); '-' for dashes and the plain quote for curly ones;
   '?' for anything else. */
static char fold_cp(ucs4_t c)
{
    if (c >= 0x2010 && c <= 0x2015)
        return '-';
    if (c == 0x2018 || c == 0x2019)
        return '\'';
    if (c == 0x201C || c == 0x201D)
        return '"';
    int b = sh_vn_fold_cp(c);
    if (c < 0x80)
        return (char)b;
    return isalpha(b) ? (char)b : '?';
}

/* Fold s (NFC) one byte per code point; count letters, capitals, digits. */
static int fold_word(fw *f)
{
    const uint8_t *s = (const uint8_t *)f->norm;
    size_t n = strlen(f->norm);
    f->fold = malloc(n + 1);
    f->cp_off = malloc((n + 1) * sizeof *f->cp_off);
    if (!f->fold || !f->cp_off)
        return SH_ENOMEM;
    size_t i = 0;
    int k = 0;
    while (i < n) {
        ucs4_t c;
        int len = u8_mbtouc(&c, s + i, n - i);
        if (len <= 0)
            len = 1;
        char b = fold_cp(c);
        f->cp_off[k] = (int)i;
        f->fold[k++] = b;
        if (isalpha((unsigned char)b)) {
            f->nalpha++;
            f->nupper += uc_tolower(c) != c;
        } else if (isdigit((unsigned char)b)) {
            f->ndigit++;
        }
        i += (size_t)len;
    }
    f->cp_off[k] = (int)n;
    f->fold[k] = 0;
    f->ncp = k;
    return SH_OK;
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

static int median(int *v, int n)
{
    if (n <= 0)
        return 0;
    qsort(v, (size_t)n, sizeof *v, cmp_int);
    return v[n / 2];
}

/* Sort word indices ord[0..n) by left edge (insertion sort: a line holds
   a few dozen words; no qsort context, so no global state). */
static void sort_by_x(const page *p, int *ord, int n)
{
    for (int i = 1; i < n; i++) {
        int v = ord[i], x = p->w[v].w->x0, j = i - 1;
        while (j >= 0 && p->w[ord[j]].w->x0 > x) {
            ord[j + 1] = ord[j];
            j--;
        }
        ord[j + 1] = v;
    }
}

static int cmp_chunk_y(const void *a, const void *b)
{
    const chunk *x = a, *y = b;
    int cy = (x->y0 + x->y1) - (y->y0 + y->y1);
    if (cy)
        return (cy > 0) - (cy < 0);
    return (x->x0 > y->x0) - (x->x0 < y->x0);
}

/* A word worth keeping: some letter or digit, not a rule of underscores
   or dashes, not a seal or a signature (far taller than the text). */
static int word_keep(const fw *f, int hmed)
{
    if (f->nalpha + f->ndigit == 0) {
        /* punctuation alone: keep the short marks that belong to a line
           ("/", ":", "-", "&", brackets); drop rules (Tesseract reads a
           rule as a blank or '_' word) and specks ("'", "ˆ", "¬", "…") */
        if (f->ncp > 2 || f->w->conf < 20)
            return 0;
        for (int j = 0; j < f->ncp; j++)
            if (!strchr("/:-&()", f->fold[j]))
                return 0;
        return 1;
    }
    if (hmed > 0 && f->h > 3 * hmed)
        return 0;
    return 1;
}

void sh__fl_page_free(page *p)
{
    for (int i = 0; i < p->nw; i++) {
        free(p->w[i].norm);
        free(p->w[i].fold);
        free(p->w[i].cp_off);
    }
    free(p->w);
    free(p->c);
    free(p->pool);
    memset(p, 0, sizeof *p);
}

static void chunk_finish(const page *p, chunk *c)
{
    int hs[256], nh = 0;
    double conf = 0;
    c->x0 = c->y0 = 1 << 30;
    c->x1 = c->y1 = -1;
    c->nalpha = c->nupper = c->ndigit = 0;
    for (int k = 0; k < c->n; k++) {
        const fw *f = &p->w[c->wi[k]];
        const sh_word *w = f->w;
        if (w->x0 < c->x0) c->x0 = w->x0;
        if (w->y0 < c->y0) c->y0 = w->y0;
        if (w->x1 > c->x1) c->x1 = w->x1;
        if (w->y1 > c->y1) c->y1 = w->y1;
        if (nh < 256 && f->nalpha + f->ndigit > 0)
            hs[nh++] = f->h;
        conf += w->conf;
        c->nalpha += f->nalpha;
        c->nupper += f->nupper;
        c->ndigit += f->ndigit;
    }
    c->h = nh ? median(hs, nh) : (c->y1 - c->y0);
    if (c->h < 1)
        c->h = 1;
    c->conf = c->n ? (float)(conf / c->n) : 0;
}

/* Letters and digits of a word's folded text, at most cap-1 bytes. */
static void word_letters(const fw *f, char *out, int cap)
{
    int n = 0;
    for (int j = 0; j < f->ncp && n < cap - 1; j++)
        if (isalnum((unsigned char)f->fold[j]))
            out[n++] = f->fold[j];
    out[n] = 0;
}

/* A gap left for the hand: "ngày ____ tháng", "tháng ____ năm". */
static int blank_left_for_hand(const fw *a, const fw *b)
{
    char x[32], y[32];
    word_letters(a, x, sizeof x);
    word_letters(b, y, sizeof y);
    size_t lx = strlen(x);
    int a_key = (lx >= 4 && !strcmp(x + lx - 4, "ngay")) ||
                (lx >= 5 && !strcmp(x + lx - 5, "thang"));
    int b_key = !strncmp(y, "thang", 5) || !strncmp(y, "nam", 3) ||
                isdigit((unsigned char)y[0]);
    return a_key && b_key;
}

/* Cut the sorted words ord[0..n) of one line into chunks: at gaps wider
   than twice the line's word height (unless left for a handwritten day or
   month); inside the header zone [zy0, zy1), also at a gap wider than 0.8
   word heights near x_split, and above p->y_top (the Quốc hiệu and motto
   rows) at any gap of 0.3 word heights at x_split. */
static int cut_line(page *p, int *ord, int n, int zy0, int zy1)
{
    int hs[512], nh = 0;
    for (int k = 0; k < n && nh < 512; k++)
        if (p->w[ord[k]].nalpha + p->w[ord[k]].ndigit > 0)
            hs[nh++] = p->w[ord[k]].h;
    int lh = nh ? median(hs, nh) : p->hmed;
    int ly = p->w[ord[0]].w->y0;
    int in_zone = p->x_split > 0 && ly >= zy0 && ly < zy1;
    int in_top = in_zone && ly < p->y_top;
    int start = 0;
    for (int k = 1; k <= n; k++) {
        int cut = k == n;
        if (!cut) {
            const sh_word *a = p->w[ord[k - 1]].w, *b = p->w[ord[k]].w;
            int gap = b->x0 - a->x1;
            cut = gap > 2 * lh && !(gap < 10 * lh &&
                                     blank_left_for_hand(&p->w[ord[k - 1]],
                                                         &p->w[ord[k]]));
            /* the gap between the blocks may be narrow when a line of the
               left block is long: in the header zone, a gap of 0.8 word
               heights near the split divides the blocks */
            if (!cut && in_zone && gap * 5 > 4 * lh &&
                a->x1 <= p->x_split + 4 * lh && b->x0 >= p->x_split - 4 * lh)
                cut = 1;
            /* ... or, on the rows of the Quốc hiệu and the motto, any gap
               right at the split: OCR may set the left block's last word
               a space from the Quốc hiệu */
            if (!cut && in_top && gap * 10 >= 3 * lh &&
                2 * a->x1 <= 2 * p->x_split + lh &&
                2 * b->x0 >= 2 * p->x_split - lh)
                cut = 1;
        }
        if (!cut)
            continue;
        if (p->nc == p->capc) {
            int nc = p->capc ? 2 * p->capc : 64;
            chunk *c2 = realloc(p->c, (size_t)nc * sizeof *c2);
            if (!c2)
                return SH_ENOMEM;
            p->c = c2;
            p->capc = nc;
        }
        chunk *c = &p->c[p->nc++];
        memset(c, 0, sizeof *c);
        c->wi = ord + start;
        c->n = k - start;
        chunk_finish(p, c);
        start = k;
    }
    return SH_OK;
}

/* (Re)build the chunks from the words; x_split and the zone as in
   cut_line.  Chunks end sorted top to bottom, then left to right. */
static int build_chunks(page *p, int zy0, int zy1)
{
    p->nc = 0;
    int *ord = p->pool;
    int n = 0;
    for (int i = 0; i < p->nw; i++)
        if (word_keep(&p->w[i], p->hmed))
            ord[n++] = i;
    /* group by Tesseract line (words arrive in reading order) */
    int s = 0;
    for (int k = 1; k <= n; k++) {
        if (k < n && p->w[ord[k]].w->line == p->w[ord[s]].w->line)
            continue;
        sort_by_x(p, ord + s, k - s);
        int rc = cut_line(p, ord + s, k - s, zy0, zy1);
        if (rc)
            return rc;
        s = k;
    }
    if (p->nc > 1)
        qsort(p->c, (size_t)p->nc, sizeof *p->c, cmp_chunk_y);
    return SH_OK;
}

int sh__fl_page_build(page *p, const sh_words *ws, int W, int H)
{
    memset(p, 0, sizeof *p);
    p->W = W;
    p->H = H;
    p->w = calloc((size_t)(ws->n ? ws->n : 1), sizeof *p->w);
    p->pool = malloc((size_t)(ws->n ? ws->n : 1) * sizeof *p->pool);
    if (!p->w || !p->pool)
        return SH_ENOMEM;
    int *hs = p->pool, nh = 0;
    for (int i = 0; i < ws->n; i++) {
        const sh_word *w = &ws->w[i];
        if (!w->text || !w->text[0] || w->x1 <= w->x0 || w->y1 <= w->y0)
            continue;
        fw *f = &p->w[p->nw++];
        f->w = w;
        f->h = w->y1 - w->y0;
        if (sh_text_norm(w->text, &f->norm) || fold_word(f))
            return SH_ENOMEM;
        if (f->nalpha >= 2)
            hs[nh++] = f->h;
    }
    p->hmed = nh ? median(hs, nh) : 0;
    if (p->hmed < 4)
        p->hmed = H / 100 > 4 ? H / 100 : 4;
    p->cy0 = H;
    for (int i = 0; i < p->nw; i++)
        if (p->w[i].nalpha + p->w[i].ndigit >= 1 && p->w[i].w->y0 < p->cy0)
            p->cy0 = p->w[i].w->y0;
    int rc = build_chunks(p, 0, 0);
    if (rc)
        return rc;
    /* content box: where lines of some length begin and end (a tenth of
       them may stick out: a seal's text, a note in the margin) */
    int *xs = malloc((size_t)(p->nc ? p->nc : 1) * sizeof *xs);
    if (!xs)
        return SH_ENOMEM;
    int nx = 0;
    for (int i = 0; i < p->nc; i++)
        if (p->c[i].n >= 3 && p->c[i].conf >= 40)
            xs[nx++] = p->c[i].x0;
    if (nx >= 3) {
        qsort(xs, (size_t)nx, sizeof *xs, cmp_int);
        p->cx0 = xs[nx / 10];
        nx = 0;
        for (int i = 0; i < p->nc; i++)
            if (p->c[i].n >= 3 && p->c[i].conf >= 40)
                xs[nx++] = p->c[i].x1;
        qsort(xs, (size_t)nx, sizeof *xs, cmp_int);
        p->cx1 = xs[nx - 1 - nx / 10];
    } else {
        p->cx0 = W / 10;
        p->cx1 = W - W / 10;
    }
    free(xs);
    if (p->cx1 <= p->cx0)
        p->cx1 = p->cx0 + 1;
    return SH_OK;
}

/* Best chunk (top half of the page) holding pattern pat in its letters;
   quality 1 - dist/len, accepted at >= min_q.  *wk, *we [optional] = word
   positions of the first and last letters matched; *wk = word position in the
   chunk where the match starts.  Returns the chunk index or -1. */
static int find_pattern(const page *p, const char *pat, int y_from, int y_to,
                        float min_q, float *q, int *wk, int *we)
{
    char s[MAXS];
    int map[MAXS], mcp[MAXS];
    int best = -1;
    float bq = 0;
    int m = (int)strlen(pat);
    for (int i = 0; i < p->nc; i++) {
        const chunk *c = &p->c[i];
        if (c->y0 < y_from || c->y0 >= y_to || c->nalpha < m / 2)
            continue;
        int n = sh__fl_chunk_fold(p, c, 0, 1, s, map, mcp);
        int st = 0, en = 0;
        int d = sh__fl_approx_find(s, n, pat, &st, &en);
        float qq = 1.0f - (float)d / (float)m;
        if (qq >= min_q && qq > bq + 0.01f) {
            bq = qq;
            best = i;
            if (wk)
                *wk = st < n ? map[st] : 0;
            if (we)
                *we = en > 0 ? map[en - 1] : c->n - 1;
        }
    }
    *q = bq;
    return best;
}

static const char QH_PAT[] = "conghoaxahoichunghiavietnam";
static const char MOTTO_PAT[] = "doclaptudohanhphuc";

/* Find the right-hand anchors and set x_split and the header zone; cut
   the chunks again around the split. */
int sh__fl_find_anchors(page *p, found *F)
{
    int hm = p->hmed;
    int wk = 0, we = 0, mk = 0, me = 0;
    F->qh = find_pattern(p, QH_PAT, 0, p->H * 45 / 100, 0.62f, &F->qh_q, &wk,
                         &we);
    int qy0 = -1, qy1 = -1, qx = -1, qx1 = -1, my1 = -1;
    if (F->qh >= 0) {
        const chunk *c = &p->c[F->qh];
        qx = p->w[c->wi[wk]].w->x0;
        qx1 = p->w[c->wi[we]].w->x1;
        qy0 = c->y0;
        qy1 = c->y1;
    }
    F->motto = find_pattern(p, MOTTO_PAT, qy0 >= 0 ? qy0 : 0,
                            qy0 >= 0 ? qy1 + 4 * hm : p->H * 45 / 100, 0.6f,
                            &F->motto_q, &mk, &me);
    if (F->motto >= 0) {
        const chunk *c = &p->c[F->motto];
        int mx0 = p->w[c->wi[mk]].w->x0, mx1 = p->w[c->wi[me]].w->x1;
        my1 = c->y1;
        if (qx < 0) {
            qx = mx0 - 2 * hm;
            qy0 = c->y0 - 2 * c->h;
            qy1 = c->y0;
        } else if (qx1 > mx1) {
            /* the motto is centred under the Quốc hiệu: where the Quốc
               hiệu must begin, when OCR glued its first word to the end
               of the left block's line ("DÂNCỘNG") */
            int est = mx0 + mx1 - qx1;
            if (qx < est - 2 * hm)
                qx = est;
        }
    }
    if (qx >= 0 && qx < p->cx0 + (p->cx1 - p->cx0) / 8) {
        /* the Quốc hiệu at the left margin: a header typed as one column
           (agency, Quốc hiệu, motto, Số, date one under the other) */
        F->single = 1;
        p->x_split = p->W + 1;
        F->zone_y0 = qy0 - 8 * hm;
        F->zone_y1 = qy1 + 12 * hm;
    } else if (qx >= 0) {
        p->x_split = qx - hm / 2;
        F->zone_y0 = qy0 - 3 * hm;
        F->zone_y1 = qy1 + 16 * hm;
        p->y_top = my1 >= 0 ? my1 : qy1 + 2 * hm;
        int rc = build_chunks(p, F->zone_y0, qy1 + 9 * hm);
        if (rc)
            return rc;
        /* chunk indices changed: find the anchors again */
        F->qh = find_pattern(p, QH_PAT, 0, p->H * 45 / 100, 0.62f, &F->qh_q,
                             NULL, NULL);
        if (F->qh >= 0)
            F->motto = find_pattern(p, MOTTO_PAT, p->c[F->qh].y0,
                                    p->c[F->qh].y1 + 4 * hm, 0.6f,
                                    &F->motto_q, NULL, NULL);
        else
            F->motto = find_pattern(p, MOTTO_PAT, 0, p->H * 45 / 100, 0.6f,
                                    &F->motto_q, NULL, NULL);
    } else {
        p->x_split = p->cx0 + (p->cx1 - p->cx0) * 45 / 100;
        F->zone_y0 = p->cy0 - hm;
        F->zone_y1 = p->cy0 + p->H * 30 / 100;
    }
    return SH_OK;
}
