/*
 * fields.c — header fields of a văn bản (NĐ 30/2020) from OCR words, and
 * whether the page begins a document.
 *
 * Function index
 *   sh_fields_extract       the whole extraction (public)
 *   sh_doc_fields_release   free the values (public)
 *   page_build, page_free   words → normalised, folded words → chunks
 *   fold_word               one byte per code point (sh_vn_fold_cp: ASCII
 *                           lower case, no marks, đ → d); keeps each
 *                           letter's position
 *   build_chunks, cut_line  Tesseract lines cut into chunks at wide gaps
 *   approx_find, edit_dist  approximate matching (Sellers; Levenshtein)
 *   find_anchors            Quốc hiệu and motto → column split, header zone
 *   find_so, so_label, so_label_loose, parse_code   "Số:" → number, notation
 *   find_date, parse_date, put_date                 "Place, ngày … năm …"
 *   find_organ, starts_unit, fix_organ              the agency block
 *   find_vv                 V/v lines of a công văn → trích yếu
 *   find_title              centred type title, and the trích yếu under it
 *   infer_type              type without a title: V/v, notation
 *   annex_top               a "PHỤ LỤC" page
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
 *
 * In the left block, the Số line is the first chunk of the header zone
 * that begins with s + ô/ơ or a digit OCR reads for it (so, s6, s0, s8),
 * then a colon or the number ("Số:" alone takes the notation standing
 * apart on its row: a number left blank); failing that, 's' + anything
 * and a first word holding "/NOTATION-".  The chunks above it are the
 * agency lines: a line that cannot begin a name (not "SỞ", "UBND", "BỘ",
 * "PHÒNG", …, or after a line ending in "VÀ") continues the one above;
 * the last unit is the agency, the one before it the parent; a few
 * misreadings that no agency name holds are mended (THÀNH PHÓ → PHỐ, TÓI
 * CAO → TỐI, KIỀM SÁT → KIỂM, TĨNH → TỈNH but not after HÀ).  Under the
 * Số line, a chunk beginning "V/v" (also V/y, Vlv, V.v) and the left
 * chunks right under it are the trích yếu of a công văn.  The date is the
 * first chunk of the right block whose tokens read [ngày] [D] tháng [M]
 * năm YYYY (keywords within one or two edits, digits confused with letters
 * repaired, a speck for a handwritten day skipped); the place is what
 * precedes "ngày".  Under the header, the first centred chunk in capitals
 * whose letters spell a type of Phụ lục III (within one or two edits) is
 * the title; the lines right under it, centred on it, short of both
 * margins and not in capitals, are the trích yếu.
 *
 * start_conf weighs the anchors: Quốc hiệu 0.40, motto 0.15, Số line 0.20
 * (0.12 without a number or notation), date 0.15, agency 0.05, title or
 * V/v 0.05, each by its match quality; × 0.8 without Quốc hiệu and motto;
 * × 0.3 when a centred "PHỤ LỤC" stands near the top.
 */
#include "fields.h"
#include "../base/vntext.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unicase.h>
#include <unistr.h>

#define MAXS 1024          /* folded chunk text kept, bytes               */
#define MAXORG 6           /* agency lines read                           */

/* A word as the extractor sees it. */
typedef struct fw {
    const sh_word *w;
    char *norm;            /* sh_text_norm of the text                    */
    char *fold;            /* one byte per code point of norm             */
    int *cp_off;           /* byte offset in norm of each code point      */
    int ncp;
    int nalpha, nupper, ndigit;
    int h;                 /* box height                                  */
} fw;

/* A run of words on one line, left to right, without a wide gap. */
typedef struct chunk {
    int *wi;               /* indices into page.w                         */
    int n;
    int x0, y0, x1, y1;
    int h;                 /* median word height                          */
    int nalpha, nupper, ndigit;
    float conf;            /* mean word confidence 0..100                 */
} chunk;

typedef struct page {
    fw *w;
    int nw;
    chunk *c;
    int nc, capc;
    int *pool;             /* word indices of every chunk                 */
    int W, H;
    int hmed;              /* median word height on the page              */
    int cx0, cx1, cy0;     /* content box: left, right, top               */
    int x_split;           /* left/right column boundary, px              */
    int y_top;             /* below the motto's row                       */
} page;

/* What the anchors gave. */
typedef struct found {
    int qh, motto, so, date, vv, title, vv_last, subj_last;
    int single;            /* 1: header typed as one column               */
    float qh_q, motto_q;
    int org[MAXORG], norg;
    int zone_y0, zone_y1;  /* header zone                                 */
} found;

/* ---- folding ---------------------------------------------------------- */

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

/* ---- approximate matching -------------------------------------------- */

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
static int approx_find(const char *s, int n, const char *p, int *start,
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
static int edit_dist(const char *a, const char *b)
{
    int n = (int)strlen(a), m = (int)strlen(b);
    if (n > 63 || m > 63)
        return 99;
    return edit_core(a, n, b, m, 0, NULL);
}

/* ---- page model -------------------------------------------------------- */

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

static void page_free(page *p)
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

static int page_build(page *p, const sh_words *ws, int W, int H)
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

/* ---- chunk text -------------------------------------------------------- */

/* The folded text of chunk c from its word a on: words joined by one
   space (or, letters_only, only its letters and digits).  map[i] = word
   position in the chunk (k) of byte i, mcp[i] its code point there.
   Returns the length (at most MAXS-1). */
static int chunk_fold(const page *p, const chunk *c, int a, int letters_only,
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
static char *chunk_text(const page *p, const chunk *c, int k0, int j0, int k1,
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
static void trim(char *s, const char *set)
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
static void trim_junk(char *s, const char *set)
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

static float clamp01(float v)
{
    return v < 0 ? 0 : v > 1 ? 1 : v;
}

static int set_field(sh_field *f, char *v, float conf)
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

static int set_field_copy(sh_field *f, const char *v, float conf)
{
    char *d = v ? strdup(v) : NULL;
    if (v && !d)
        return SH_ENOMEM;
    return set_field(f, d, conf);
}

static int chunk_centre(const chunk *c)
{
    return (c->x0 + c->x1) / 2;
}

static int is_caps(const chunk *c)
{
    return c->nalpha >= 2 && c->nupper * 10 >= c->nalpha * 8;
}

/* ---- anchors of the right block --------------------------------------- */

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
        int n = chunk_fold(p, c, 0, 1, s, map, mcp);
        int st = 0, en = 0;
        int d = approx_find(s, n, pat, &st, &en);
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

/* ---- Số line ------------------------------------------------------------ */

/* If chunk c begins with the Số label, the folded position after it (and
   after any ':' '.' and spaces) in s; else -1. */
static int so_label(const char *s, int n)
{
    if (n < 3 || s[0] != 's')
        return -1;
    int i = 1;
    if (!strchr("o0689", s[i]))
        return -1;
    i++;
    int had_colon = 0;
    while (i < n && strchr(":;., ", s[i])) {
        had_colon |= s[i] != ' ';
        i++;
    }
    /* "so" alone as a word must be followed by a colon or a number part */
    if (i < n && !had_colon && isalpha((unsigned char)s[i]) &&
        !(s[i] == 'o' && i + 1 < n && isdigit((unsigned char)s[i + 1])))
        return -1;
    if (i >= n)
        return had_colon ? i : -1;
    /* what follows must look like a number or notation: digits or '/'
       within the next few bytes, before a run of 3 letters */
    int run = 0;
    for (int k = i; k < n && k < i + 12; k++) {
        if (isdigit((unsigned char)s[k]) || s[k] == '/')
            return i;
        run = isalpha((unsigned char)s[k]) ? run + 1 : 0;
        if (run >= 3 && !had_colon)
            return -1;
    }
    return had_colon ? i : -1;
}

/* A damaged label: 's', a vowel or junk, then a first word holding
   "/NOTATION-..." ("Sáz?68/QĐ-VKSTC"): the position after "s?" (the
   number is then kept only if what stands before '/' reads as digits);
   else -1. */
static int so_label_loose(const char *s, int n)
{
    if (n < 6 || s[0] != 's' || !strchr("oa0689eu?", s[1]))
        return -1;
    int sl = -1;
    for (int i = 2; i < n && s[i] != ' '; i++)
        if (s[i] == '/') {
            sl = i;
            break;
        }
    if (sl < 0 || sl > 10)
        return -1;
    /* a notation after the slash: letters, then '-' */
    int k = sl + 1, letters = 0;
    while (k < n && (isalnum((unsigned char)s[k]) || s[k] == '/')) {
        letters += isalpha((unsigned char)s[k]) != 0;
        k++;
    }
    if (letters < 2 || k >= n || s[k] != '-')
        return -1;
    return 2;
}

/* Leading bytes OCR makes of specks before a label ("'V/v", "„Số"). */
static int junk_prefix(const char *s, int n)
{
    int o = 0;
    while (o < n && o < 3 && !isalnum((unsigned char)s[o]))
        o++;
    return o < n ? o : 0;
}

/* Digits the OCR confused with letters, in a token that is mostly digits
   (folded, lower case).  In place. */
static void fix_digits(char *t, int force)
{
    int n = (int)strlen(t), nd = 0, nl = 0;
    for (int i = 0; i < n; i++) {
        nd += isdigit((unsigned char)t[i]) != 0;
        nl += isalpha((unsigned char)t[i]) != 0;
    }
    if (!force && (nd == 0 || nd < nl))
        return;
    for (int i = 0; i < n; i++) {
        switch (t[i]) {
        case 'o': case 'O': case 'q': case 'Q': case 'D': t[i] = '0'; break;
        case 'l': case 'I': case 'i': case '|': case '!': t[i] = '1'; break;
        case 'z': case 'Z': t[i] = '2'; break;
        case 's': case 'S': t[i] = '5'; break;
        case 'b': case 'B': t[i] = '8'; break;
        case 'g': t[i] = '9'; break;
        default: break;
        }
    }
}

static int known_abbr(const char *a);

/* Notation first parts that OCR writes without the stroke of Đ; a year
   glued to the type ("2016QĐ-UBND": the slash lost) gets its slash back
   (v has room for 2 more bytes). */
static void fix_notation(char *v)
{
    if (strlen(v) > 5 && (!strncmp(v, "19", 2) || !strncmp(v, "20", 2)) &&
        isdigit((unsigned char)v[2]) && isdigit((unsigned char)v[3]) &&
        isupper((unsigned char)v[4]) && strchr(v, '-')) {
        memmove(v + 5, v + 4, strlen(v + 4) + 1);
        v[4] = '/';
    }
    /* skip a year part "2021/" */
    char *seg = v;
    char *sl = strchr(v, '/');
    if (sl && sl - v == 4 && isdigit((unsigned char)v[0]))
        seg = sl + 1;
    size_t len = strcspn(seg, "-/");
    if (len == 2 && seg[1] == 'D' && (seg[0] == 'Q' || seg[0] == 'N')) {
        /* "QD" → "QĐ": Đ is 2 bytes in UTF-8 */
        size_t rest = strlen(seg + 2);
        memmove(seg + 3, seg + 2, rest + 1);
        seg[1] = (char)0xC4;
        seg[2] = (char)0x90;
    }
    /* "QĐĐ-", "HĐĐND": Tesseract doubles the Đ of an abbreviation; mend
       only a part that then reads as a known one ("QLĐĐ", quản lý đất
       đai, has two) */
    for (char *seg2 = v; *seg2;) {
        size_t sl2 = strcspn(seg2, "-/");
        char buf[32];
        if (sl2 < sizeof buf && memmem(seg2, sl2, "\xc4\x90\xc4\x90", 4)) {
            size_t o = 0;
            for (size_t i = 0; i < sl2; i++) {
                if (i >= 2 && o >= 2 && !memcmp(seg2 + i, "\xc4\x90", 2) &&
                    !memcmp(buf + o - 2, "\xc4\x90", 2)) {
                    i++;
                    continue;
                }
                buf[o++] = seg2[i];
            }
            buf[o] = 0;
            if (known_abbr(buf)) {
                memmove(seg2 + o, seg2 + sl2, strlen(seg2 + sl2) + 1);
                memcpy(seg2, buf, o);
                sl2 = o;
            }
        }
        seg2 += sl2;
        if (*seg2)
            seg2++;
    }
    /* the year inside a notation: "2O21/" */
    if (sl && sl - v == 4) {
        char y[5];
        memcpy(y, v, 4);
        y[4] = 0;
        fix_digits(y, 0);
        int ok = 1;
        for (int i = 0; i < 4; i++)
            ok &= isdigit((unsigned char)y[i]) != 0;
        if (ok)
            memcpy(v, y, 4);
    }
}

/* Parse the Số chunk from folded position 'at' (after the label). */
static int parse_code(const page *p, const chunk *c, const char *s, int n,
                      const int *map, const int *mcp, int at,
                      sh_doc_fields *out)
{
    if (at >= n)
        return SH_OK;
    /* the original text from 'at' on; stop at a word with two lower-case
       letters in a row and no '/' or '-' (the start of a place name when
       the date line was not cut away) */
    int k0 = map[at], j0 = mcp[at] < 0 ? 0 : mcp[at];
    if (mcp[at] < 0)
        k0++;
    int k1 = k0;
    for (int k = k0; k < c->n; k++) {
        const fw *f = &p->w[c->wi[k]];
        int stop = 0;
        if (k > k0 && !strpbrk(f->fold, "/-")) {
            const uint8_t *u = (const uint8_t *)f->norm;
            size_t ln = strlen(f->norm), i = 0;
            int run = 0;
            while (i < ln) {
                ucs4_t ch;
                int l = u8_mbtouc(&ch, u + i, ln - i);
                if (l <= 0)
                    l = 1;
                int lower = uc_toupper(ch) != ch;
                run = lower ? run + 1 : 0;
                if (run >= 2)
                    stop = 1;
                i += (size_t)l;
            }
        }
        if (stop)
            break;
        k1 = k;
    }
    char *raw = chunk_text(p, c, k0, j0, k1, -1);
    if (!raw)
        return SH_OK;
    /* spaces out: "1535 /SGDĐT-CTrTT" → "1535/SGDĐT-CTrTT" */
    size_t o = 0;
    for (size_t i = 0; raw[i]; i++)
        if (raw[i] != ' ')
            raw[o++] = raw[i];
    raw[o] = 0;
    float conf = c->conf / 100.0f;
    char *sl = strchr(raw, '/');
    int rc = SH_OK;
    char num[32];
    size_t nl = sl ? (size_t)(sl - raw) : strlen(raw);
    if (nl > 0 && nl < sizeof num) {
        memcpy(num, raw, nl);
        num[nl] = 0;
        trim(num, ":;.,-_");
        fix_digits(num, 0);
        int ok = num[0] != 0;
        for (int i = 0; num[i]; i++)
            ok &= isdigit((unsigned char)num[i]) != 0;
        if (ok && strlen(num) <= 7)
            rc = set_field_copy(&out->code_number, num, conf);
    }
    if (!rc && sl && sl[1]) {
        char *v = malloc(strlen(sl + 1) + 8);
        if (!v) {
            rc = SH_ENOMEM;
        } else {
            memcpy(v, sl + 1, strlen(sl + 1) + 1);
            trim(v, ":;.,_-");
            fix_notation(v);
            rc = set_field(&out->code_notation, v, conf);
        }
    }
    free(raw);
    return rc;
}

/* ---- date ---------------------------------------------------------------- */

typedef struct tok {
    char t[24];
    int alpha;             /* 1 letters, 0 digits                          */
    int pos;               /* folded position of its first byte            */
} tok;

/* Tokens of folded text s: letter runs and digit runs (digits repaired
   inside mostly-digit words first). */
static int date_tokens(const char *s, int n, tok *tv, int max)
{
    int nt = 0, i = 0;
    while (i < n && nt < max) {
        while (i < n && !isalnum((unsigned char)s[i]))
            i++;
        int a = i;
        while (i < n && isalnum((unsigned char)s[i]))
            i++;
        if (i == a)
            break;
        char word[64];
        int wl = i - a < 63 ? i - a : 63;
        memcpy(word, s + a, (size_t)wl);
        word[wl] = 0;
        fix_digits(word, 0);
        int j = 0;
        while (j < wl && nt < max) {
            int al = isalpha((unsigned char)word[j]) != 0;
            int b = j;
            while (j < wl && (isalpha((unsigned char)word[j]) != 0) == al)
                j++;
            tok *t = &tv[nt++];
            int l = j - b < 23 ? j - b : 23;
            memcpy(t->t, word + b, (size_t)l);
            t->t[l] = 0;
            t->alpha = al;
            t->pos = a + b;
        }
    }
    return nt;
}

typedef struct date_hit {
    int y, m, d;           /* 0 = blank                                    */
    int ngay_pos;          /* folded position of "ngày", or -1             */
    float q;
} date_hit;

/* Find "[ngày [D]] tháng [M] năm YYYY" in folded s.  Returns 1 if found. */
static int parse_date(const char *s, int n, date_hit *h)
{
    tok tv[64];
    int nt = date_tokens(s, n, tv, 64);
    memset(h, 0, sizeof *h);
    h->ngay_pos = -1;
    for (int i = nt - 1; i >= 1; i--) {
        if (tv[i].alpha || strlen(tv[i].t) != 4)
            continue;
        int y = atoi(tv[i].t);
        if (y < 1900 || y > 2100)
            continue;
        int k = i - 1;
        if (!tv[k].alpha || edit_dist(tv[k].t, "nam") > 1)
            continue;
        float q = 1.0f;
        k--;
        int m = 0, d = 0, have_thang = 0, have_ngay = 0, ngay_pos = -1;
        if (k >= 0 && !tv[k].alpha) {
            m = atoi(tv[k].t);
            k--;
        }
        /* a speck where the month was written by hand: "tháng - năm" */
        if (k >= 1 && tv[k].alpha && strlen(tv[k].t) <= 2 &&
            edit_dist(tv[k - 1].t, "thang") <= 2) {
            k--;
            q -= 0.1f;
        }
        if (k >= 0 && tv[k].alpha && edit_dist(tv[k].t, "thang") <= 2) {
            have_thang = 1;
            q -= 0.1f * (float)edit_dist(tv[k].t, "thang");
            k--;
            if (k >= 0 && !tv[k].alpha) {
                d = atoi(tv[k].t);
                k--;
            } else if (k >= 1 && tv[k].alpha && strlen(tv[k].t) <= 2 &&
                       edit_dist(tv[k - 1].t, "ngay") <= 1) {
                k--;    /* "ngày (Ö tháng": the day unread */
                q -= 0.1f;
            }
            if (k >= 0 && tv[k].alpha && edit_dist(tv[k].t, "ngay") <= 1) {
                have_ngay = 1;
                ngay_pos = tv[k].pos;
                q -= 0.1f * (float)edit_dist(tv[k].t, "ngay");
            }
        }
        if (!have_thang)
            continue;
        if (m < 1 || m > 12) {
            m = 0;
            d = 0;
        }
        if (d < 1 || d > 31)
            d = 0;
        h->y = y;
        h->m = m;
        h->d = d;
        h->ngay_pos = ngay_pos;
        h->q = q * (have_ngay ? 1.0f : 0.8f);
        return 1;
    }
    return 0;
}

/* ---- agency ---------------------------------------------------------- */

/* What OCR leaves at the ends of a header line: rule fragments, specks. */
#define ORG_JUNK ".,;:-_=~`'\"*^|!"
#define SUBJ_JUNK "-_=~`'\"*^|;:"

/* Folded words that begin the name of an agency (a unit of the block). */
static const char *const HEADS[] = {
    "ubnd", "uy ban", "hdnd", "hoi dong", "so", "phong", "ban", "cuc",
    "chi cuc", "tong cuc", "vu", "vien", "bo", "van phong", "trung tam",
    "cong an", "toa an", "truong", "benh vien", "dai hoc", "hoc vien",
    "kho bac", "thanh tra", "tinh uy", "thanh uy", "huyen uy", "quan uy",
    "thi uy", "dang uy", "dang bo", "doan", "mat tran", "lien doan", "hoi",
    "chi nhanh", "cong ty", "tap doan", "tong cong ty", "ngan hang",
    "bao hiem", "bo chi huy", "bo tu lenh", "canh sat", "chinh phu",
    "quoc hoi", "kiem toan", "hai quan", "doi", "ubmttq", "hop tac xa",
    "chi bo", "cong doan", "tong lien doan", "vp", "ttg", "bch", "ccb",
    "ttxvn", "xi nghiep",
};

/* Mark slips OCR makes in agency names, where the misread word cannot
   stand: word → replacement, when the word before is 'after' (NULL: any
   but 'not_after'). */
static const struct organ_fix {
    const char *word, *fix, *after, *not_after;
} ORGAN_FIXES[] = {
    {"PHÓ", "PHỐ", "THÀNH", NULL},   {"PHÔ", "PHỐ", "THÀNH", NULL},
    {"PHỔ", "PHỐ", "THÀNH", NULL},   {"TÓI", "TỐI", NULL, NULL},
    {"TÔI", "TỐI", NULL, NULL},      {"KIỀM", "KIỂM", NULL, NULL},
    {"TRIỀN", "TRIỂN", "PHÁT", NULL}, {"TĨNH", "TỈNH", NULL, "HÀ"},
    {"TÍNH", "TỈNH", NULL, NULL},
};

/* Apply ORGAN_FIXES to an agency line: a new string (v is freed), or v
   itself when out of memory. */
static char *fix_organ(char *v)
{
    sh_buf b = {0};
    const char *prev = "", *p = v;
    size_t prevl = 0;
    while (*p) {
        while (*p == ' ')
            p++;
        const char *e = p;
        while (*e && *e != ' ')
            e++;
        size_t l = (size_t)(e - p);
        const char *w = p;
        size_t wl = l;
        /* "GIÁO." inside a name: a speck ("TP." keeps its point) */
        if (l > 3 && p[l - 1] == '.' && *e)
            wl = --l;
        for (size_t i = 0; i < SH_ARRAY_LEN(ORGAN_FIXES); i++) {
            const struct organ_fix *f = &ORGAN_FIXES[i];
            if (strlen(f->word) != l || strncmp(p, f->word, l))
                continue;
            int after = f->after ? strlen(f->after) == prevl &&
                                       !strncmp(prev, f->after, prevl)
                                 : 1;
            int not_after = f->not_after && strlen(f->not_after) == prevl &&
                            !strncmp(prev, f->not_after, prevl);
            if (after && !not_after) {
                w = f->fix;
                wl = strlen(f->fix);
            }
            break;
        }
        if (l && ((b.len && sh_buf_add(&b, " ", 1)) || sh_buf_add(&b, w, wl))) {
            sh_buf_release(&b);
            return v;
        }
        prev = p;
        prevl = l;
        p = e;
    }
    if (!b.data)
        return v;
    free(v);
    return b.data;
}

static int starts_unit(const char *s)
{
    while (*s && !isalpha((unsigned char)*s))
        s++;
    for (size_t i = 0; i < SH_ARRAY_LEN(HEADS); i++) {
        size_t l = strlen(HEADS[i]);
        if (!strncmp(s, HEADS[i], l) && (s[l] == ' ' || s[l] == 0))
            return 1;
    }
    return 0;
}

static int ends_with_word(const char *s, const char *w)
{
    size_t n = strlen(s), l = strlen(w);
    return n >= l && !strcmp(s + n - l, w) && (n == l || s[n - l - 1] == ' ');
}

/* ---- types ------------------------------------------------------------- */

typedef struct type_name {
    const char *fold;      /* letters only                                 */
    const char *abbr;      /* in a notation (Phụ lục III), or NULL         */
    const char *name;
} type_name;

static const type_name TYPES[] = {
    {"nghiquyet", "NQ", "Nghị quyết"},   {"quyetdinh", "QĐ", "Quyết định"},
    {"chithi", "CT", "Chỉ thị"},         {"quyche", "QC", "Quy chế"},
    {"quydinh", "QyĐ", "Quy định"},      {"thongcao", "TC", "Thông cáo"},
    {"thongbao", "TB", "Thông báo"},     {"huongdan", "HD", "Hướng dẫn"},
    {"chuongtrinh", "CTr", "Chương trình"}, {"kehoach", "KH", "Kế hoạch"},
    {"phuongan", "PA", "Phương án"},     {"dean", "ĐA", "Đề án"},
    {"duan", "DA", "Dự án"},             {"baocao", "BC", "Báo cáo"},
    {"bienban", "BB", "Biên bản"},       {"totrinh", "TTr", "Tờ trình"},
    {"hopdong", "HĐ", "Hợp đồng"},       {"congvan", "CV", "Công văn"},
    {"congdien", "CĐ", "Công điện"},     {"banghinho", "BGN", "Bản ghi nhớ"},
    {"banthoathuan", "BTT", "Bản thỏa thuận"},
    {"giayuyquyen", "GUQ", "Giấy ủy quyền"}, {"giaymoi", "GM", "Giấy mời"},
    {"giaygioithieu", "GGT", "Giấy giới thiệu"},
    {"giaynghiphep", "GNP", "Giấy nghỉ phép"},
    {"phieugui", "PG", "Phiếu gửi"},     {"phieuchuyen", "PC", "Phiếu chuyển"},
    {"phieubao", "PB", "Phiếu báo"},     {"thucong", NULL, "Thư công"},
    {"nghidinh", "NĐ", "Nghị định"},     {"thongtu", "TT", "Thông tư"},
    {"thongtulientich", "TTLT", "Thông tư liên tịch"},
    {"phaplenh", NULL, "Pháp lệnh"},     {"luat", NULL, "Luật"},
    {"lenh", NULL, "Lệnh"},              {"giaychungnhan", NULL, "Giấy chứng nhận"},
};

/* An abbreviation of a type (Phụ lục III) or a common agency: what a
   doubled Đ is mended into. */
static int known_abbr(const char *a)
{
    static const char *const more[] = {"HĐND", "UBND", "VKSND", "TAND"};
    for (size_t i = 0; i < SH_ARRAY_LEN(TYPES); i++)
        if (TYPES[i].abbr && !strcmp(a, TYPES[i].abbr))
            return 1;
    for (size_t i = 0; i < SH_ARRAY_LEN(more); i++)
        if (!strcmp(a, more[i]))
            return 1;
    return 0;
}

/* Type whose letters equal s within 0 (<= 5 letters), 1 (<= 9) or 2
   edits; quality in *q. */
static const type_name *match_type(const char *s, float *q)
{
    const type_name *best = NULL;
    int bd = 99;
    for (size_t i = 0; i < SH_ARRAY_LEN(TYPES); i++) {
        int l = (int)strlen(TYPES[i].fold);
        int allow = l <= 5 ? 0 : l <= 9 ? 1 : 2;
        int d = edit_dist(s, TYPES[i].fold);
        if (d <= allow && d < bd) {
            bd = d;
            best = &TYPES[i];
        }
    }
    if (best)
        *q = 1.0f - 0.15f * (float)bd;
    return best;
}

/* ---- the extraction ---------------------------------------------------- */

static int letters_of(const page *p, const chunk *c, char *s)
{
    int map[MAXS], mcp[MAXS];
    return chunk_fold(p, c, 0, 1, s, map, mcp);
}

static int starts_with_fold(const page *p, const chunk *c, const char *w)
{
    char s[MAXS];
    int map[MAXS], mcp[MAXS];
    chunk_fold(p, c, 0, 0, s, map, mcp);
    return !strncmp(s, w, strlen(w));
}

/* V/v label at the start of folded s: a first word of two or three
   bytes, 'v', maybe a separator OCR makes of the slash (/ l . | 1 i # \),
   then v, w or y (V/v, V/V, Vv, VW, V#W, V/y), or "v/" alone (the second
   v lost).  The caller only asks right under the Số line.  Returns the
   position after it and a following colon; else -1. */
static int vv_label(const char *s, int n)
{
    int e = 0;
    while (e < n && s[e] != ' ')
        e++;
    while (e > 2 && strchr(":;.,", s[e - 1]))
        e--;   /* "V/v:" */
    if (e < 2 || e > 3 || s[0] != 'v')
        return -1;
    int ok = e == 2 ? (strchr("vwy/", s[1]) != NULL)
                    : (strchr("/l.|1i#\\", s[1]) && strchr("vwy", s[2]));
    if (!ok)
        return -1;
    int i = e;
    while (i < n && strchr(":;., ", s[i]))
        i++;
    return i;
}

/* Join chunk texts for a field: chunks idx[0..n), first from folded
   position 'at' of the first; each part trimmed of the bytes in 'junk' at
   both ends (NULL: none). */
static char *join_chunks(const page *p, const int *idx, int n, int at0,
                         const char *junk)
{
    sh_buf b = {0};
    for (int i = 0; i < n; i++) {
        const chunk *c = &p->c[idx[i]];
        char *t;
        if (i == 0 && at0 > 0) {
            char s[MAXS];
            int map[MAXS], mcp[MAXS];
            int len = chunk_fold(p, c, 0, 0, s, map, mcp);
            if (at0 >= len)
                continue;
            int k0 = map[at0], j0 = mcp[at0];
            if (j0 < 0) {
                k0++;
                j0 = 0;
            }
            t = chunk_text(p, c, k0, j0, c->n - 1, -1);
        } else {
            t = chunk_text(p, c, 0, 0, c->n - 1, -1);
        }
        if (!t)
            continue;
        if (junk)
            trim_junk(t, junk);
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
        trim(b.data, "");
    return b.data;
}

static float mean_conf(const page *p, const int *idx, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++)
        s += p->c[idx[i]].conf;
    return n ? (float)(s / n / 100.0) : 0;
}

/* Find the right-hand anchors and set x_split and the header zone; cut
   the chunks again around the split. */
static int find_anchors(page *p, found *F)
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

static int is_left(const page *p, const chunk *c)
{
    return chunk_centre(c) < p->x_split;
}

/* The chunk right of chunk i on its row, in the left block, not far. */
static int next_on_row(const page *p, int i)
{
    const chunk *c = &p->c[i];
    int best = -1;
    for (int j = 0; j < p->nc; j++) {
        const chunk *d = &p->c[j];
        if (j == i || d->x0 < c->x1 || d->x0 - c->x1 > 10 * c->h ||
            abs((d->y0 + d->y1) - (c->y0 + c->y1)) > c->h || !is_left(p, d))
            continue;
        if (best < 0 || d->x0 < p->c[best].x0)
            best = j;
    }
    return best;
}

/* The Số line: first left chunk of the zone with the label. */
static int find_so(const page *p, found *F, int *at)
{
    char s[MAXS];
    int map[MAXS], mcp[MAXS];
    int loose = -1, loose_at = 0;
    for (int i = 0; i < p->nc; i++) {
        const chunk *c = &p->c[i];
        if (c->y0 < F->zone_y0 || c->y0 >= F->zone_y1 || !is_left(p, c))
            continue;
        if (c->x0 > p->cx0 + (p->cx1 - p->cx0) / 3)
            continue;
        int n = chunk_fold(p, c, 0, 0, s, map, mcp);
        int o = junk_prefix(s, n);
        int a = so_label(s + o, n - o);
        if (a < 0 && loose < 0) {
            int b = so_label_loose(s + o, n - o);
            if (b >= 0) {
                loose = i;
                loose_at = b + o;
            }
        }
        if (a >= 0) {
            *at = a + o;
            return i;
        }
    }
    if (loose >= 0)
        *at = loose_at;
    return loose;
}

static int find_date(const page *p, const found *F, date_hit *best)
{
    char s[MAXS];
    int map[MAXS], mcp[MAXS];
    int bi = -1;
    for (int i = 0; i < p->nc; i++) {
        const chunk *c = &p->c[i];
        if (c->y0 < F->zone_y0 || c->y0 >= F->zone_y1)
            continue;
        /* in the right block; without the Quốc hiệu, only a date
           starting right of the split (an annex's "Kèm theo … ngày …" is
           centred and long) */
        if (!F->single && (chunk_centre(c) < p->x_split ||
                           c->x0 < p->x_split - 3 * p->hmed))
            continue;
        if (F->qh < 0 && F->motto < 0 && c->x0 < p->x_split)
            continue;
        int n = chunk_fold(p, c, 0, 0, s, map, mcp);
        date_hit h;
        if (parse_date(s, n, &h)) {
            /* the first one down the page (a body line may cite a date) */
            *best = h;
            bi = i;
            break;
        }
    }
    return bi;
}

static int put_date(const page *p, const chunk *c, const date_hit *h,
                    sh_doc_fields *out)
{
    char buf[16];
    if (h->m && h->d)
        snprintf(buf, sizeof buf, "%04d-%02d-%02d", h->y, h->m, h->d);
    else if (h->m)
        snprintf(buf, sizeof buf, "%04d-%02d", h->y, h->m);
    else
        snprintf(buf, sizeof buf, "%04d", h->y);
    float conf = c->conf / 100.0f * h->q * (h->m && h->d ? 1.0f : 0.8f);
    int rc = set_field_copy(&out->issued_date, buf, conf);
    if (rc || h->ngay_pos <= 0)
        return rc;
    char s[MAXS];
    int map[MAXS], mcp[MAXS];
    chunk_fold(p, c, 0, 0, s, map, mcp);
    int e = h->ngay_pos;
    int k1 = map[e], j1 = mcp[e];
    if (j1 < 0)
        j1 = 0;
    char *pl = chunk_text(p, c, 0, 0, k1, j1);
    if (!pl)
        return SH_OK;
    trim(pl, ",.;:-_");
    return set_field(&out->place, pl, c->conf / 100.0f * h->q);
}

/* Agency lines: left chunks of the zone above the Số line (or the date /
   motto when there is no Số line), capitals, nearest first. */
static int find_organ(const page *p, found *F, sh_doc_fields *out)
{
    int hm = p->hmed;
    int ybot;
    if (F->so >= 0)
        ybot = p->c[F->so].y0;
    else if (F->date >= 0)
        ybot = p->c[F->date].y0;
    else if (F->motto >= 0)
        ybot = p->c[F->motto].y1 + 2 * hm;
    else if (F->qh >= 0)
        ybot = p->c[F->qh].y1 + 4 * hm;
    else
        return SH_OK;
    int ytop = F->qh >= 0 && !F->single ? p->c[F->qh].y0 - 2 * hm
                                         : ybot - 8 * hm;
    int idx[MAXORG], n = 0;
    for (int i = 0; i < p->nc && n < MAXORG; i++) {
        const chunk *c = &p->c[i];
        if (c->y0 < ytop || c->y1 > ybot + hm / 2 || i == F->so ||
            i == F->qh || i == F->motto || i == F->date || !is_left(p, c) ||
            c->nalpha < 2)
            continue;
        if (c->nupper * 10 < c->nalpha * 6)
            continue;
        idx[n++] = i;
    }
    /* keep the lines nearest the Số line: at most a gap of 3 line heights
       between consecutive lines */
    int first = 0;
    for (int i = n - 1; i > 0; i--)
        if (p->c[idx[i]].y0 - p->c[idx[i - 1]].y1 > 3 * hm) {
            first = i;
            break;
        }
    F->norg = 0;
    for (int i = first; i < n; i++)
        F->org[F->norg++] = idx[i];
    if (!F->norg)
        return SH_OK;
    /* units: a line that cannot start a name continues the one above */
    int unit_start[MAXORG], nu = 0;
    char prev[MAXS] = "";
    for (int i = 0; i < F->norg; i++) {
        char s[MAXS];
        int map[MAXS], mcp[MAXS];
        chunk_fold(p, &p->c[F->org[i]], 0, 0, s, map, mcp);
        int cont = i > 0 && (!starts_unit(s) || ends_with_word(prev, "va") ||
                             ends_with_word(prev, "&"));
        if (!cont)
            unit_start[nu++] = i;
        snprintf(prev, sizeof prev, "%s", s);
    }
    unit_start[nu] = F->norg;
    int last = nu - 1;
    char *name = join_chunks(p, F->org + unit_start[last],
                             unit_start[last + 1] - unit_start[last], 0,
                             ORG_JUNK);
    if (name) {
        trim(name, ".,-_:;");
        name = fix_organ(name);
    }
    int rc = set_field(&out->organ_name, name,
                       mean_conf(p, F->org + unit_start[last],
                                 unit_start[last + 1] - unit_start[last]));
    if (!rc && nu >= 2) {
        char *par = join_chunks(p, F->org + unit_start[last - 1],
                                unit_start[last] - unit_start[last - 1], 0,
                                ORG_JUNK);
        if (par) {
            trim(par, ".,-_:;");
            par = fix_organ(par);
        }
        rc = set_field(&out->organ_parent, par,
                       mean_conf(p, F->org + unit_start[last - 1],
                                 unit_start[last] - unit_start[last - 1]));
    }
    return rc;
}

/* V/v line under the Số line and its continuation lines. */
static int find_vv(const page *p, found *F, sh_doc_fields *out)
{
    if (F->so < 0)
        return SH_OK;
    const chunk *so = &p->c[F->so];
    char s[MAXS];
    int map[MAXS], mcp[MAXS];
    int hm = p->hmed;
    for (int i = 0; i < p->nc; i++) {
        const chunk *c = &p->c[i];
        if (c->y0 <= so->y0 || c->y0 > so->y1 + 3 * hm || !is_left(p, c))
            continue;
        int n = chunk_fold(p, c, 0, 0, s, map, mcp);
        int o = junk_prefix(s, n);
        int at = vv_label(s + o, n - o);
        if (at < 0)
            continue;
        at += o;
        int idx[8], ni = 0;
        idx[ni++] = i;
        int y1 = c->y1, x0 = c->x0, h = c->h;
        for (int j = i + 1; j < p->nc && ni < 8; j++) {
            const chunk *d = &p->c[j];
            if (d->y0 <= y1 - h / 2)
                continue;   /* same row, right column */
            if (!is_left(p, d))
                continue;
            if (d->y0 - y1 > 1 * h + h / 2)
                break;
            if (d->x0 < x0 - 4 * h || starts_with_fold(p, d, "kinh gui") ||
                is_caps(d))
                break;
            char ds[MAXS];
            int dm[MAXS], dc[MAXS];
            date_hit dh;
            if (parse_date(ds, chunk_fold(p, d, 0, 0, ds, dm, dc), &dh))
                break;
            idx[ni++] = j;
            y1 = d->y1;
        }
        F->vv = i;
        F->vv_last = idx[ni - 1];
        char *v = join_chunks(p, idx, ni, at, NULL);
        if (v)
            trim_junk(v, SUBJ_JUNK);
        return set_field(&out->subject, v, mean_conf(p, idx, ni));
    }
    return SH_OK;
}

/* Centred title in capitals under the header, then its trích yếu. */
static int find_title(const page *p, found *F, int ybot, sh_doc_fields *out)
{
    int hm = p->hmed;
    int cw = p->cx1 - p->cx0, ccx = (p->cx0 + p->cx1) / 2;
    char s[MAXS];
    for (int i = 0; i < p->nc; i++) {
        const chunk *c = &p->c[i];
        if (c->y0 < ybot || c->y0 > ybot + 14 * hm)
            continue;
        if (abs(chunk_centre(c) - ccx) > cw * 15 / 100 || !is_caps(c))
            continue;
        letters_of(p, c, s);
        float q;
        const type_name *t = match_type(s, &q);
        if (!t)
            continue;
        F->title = i;
        int rc = set_field_copy(&out->type_name, t->name, q * c->conf / 100);
        if (rc || out->subject.value)
            return rc;
        /* trích yếu: centred lines right under the title */
        int idx[6], ni = 0;
        int y1 = c->y1;
        for (int j = i + 1; j < p->nc && ni < 6; j++) {
            const chunk *d = &p->c[j];
            if (d->nalpha + d->ndigit < 2)
                continue;   /* a speck */
            int gap = d->y0 - y1;
            int hh = d->h > c->h ? d->h : c->h;
            if (gap > hh + hh / 4)
                break;
            /* centred under the title, short of both margins (a body line
               runs to the right margin; its first line is only indented) */
            int lg = d->x0 - p->cx0, rg = p->cx1 - d->x1;
            int tol = cw * 4 / 100 > 2 * hm ? cw * 4 / 100 : 2 * hm;
            if (2 * lg < hm || 2 * rg < hm ||
                abs(chunk_centre(d) - chunk_centre(c)) > tol || is_caps(d))
                break;
            if (starts_with_fold(p, d, "can cu") ||
                starts_with_fold(p, d, "kinh gui") ||
                starts_with_fold(p, d, "theo de nghi") ||
                starts_with_fold(p, d, "xet de nghi"))
                break;
            idx[ni++] = j;
            y1 = d->y1;
        }
        if (ni) {
            F->subj_last = idx[ni - 1];
            char *v = join_chunks(p, idx, ni, 0, NULL);
            if (v)
                trim_junk(v, SUBJ_JUNK);
            if (v && v[0]) {
                /* "(Về việc …)" keeps its words, not the brackets */
                size_t l = strlen(v);
                if (v[0] == '(' && v[l - 1] == ')') {
                    memmove(v, v + 1, l - 2);
                    v[l - 2] = 0;
                }
                const char *vv = v;
                if (!strncmp(v, "V/v ", 4))
                    vv = v + 4;
                memmove(v, vv, strlen(vv) + 1);
            }
            rc = set_field(&out->subject, v, mean_conf(p, idx, ni));
        }
        return rc;
    }
    return SH_OK;
}

/* Type from the notation's first part, when there is no title. */
static int infer_type(const found *F, sh_doc_fields *out)
{
    if (out->type_name.value)
        return SH_OK;
    if (F->vv >= 0)
        return set_field_copy(&out->type_name, "Công văn",
                              out->subject.conf * 0.9f);
    const char *nt = out->code_notation.value;
    if (!nt)
        return SH_OK;
    const char *seg = nt;
    const char *sl = strchr(nt, '/');
    if (sl && sl - nt == 4 && isdigit((unsigned char)nt[0]))
        seg = sl + 1;
    size_t len = strcspn(seg, "-/");
    for (size_t i = 0; i < SH_ARRAY_LEN(TYPES); i++) {
        const char *a = TYPES[i].abbr;
        if (a && strlen(a) == len && !strncmp(seg, a, len))
            return set_field_copy(&out->type_name, TYPES[i].name,
                                  out->code_notation.conf * 0.6f);
    }
    /* "Số: 318/UBND-NN": an agency's abbreviation first — a công văn */
    if (strchr(seg, '-'))
        return set_field_copy(&out->type_name, "Công văn",
                              out->code_notation.conf * 0.4f);
    return SH_OK;
}

/* A centred "PHỤ LỤC" among the first lines: an annex, not a new
   document. */
static int annex_top(const page *p, int ybot)
{
    char s[MAXS];
    int cw = p->cx1 - p->cx0, ccx = (p->cx0 + p->cx1) / 2;
    int ymax = ybot >= 0 ? ybot + 8 * p->hmed : p->cy0 + 8 * p->hmed;
    for (int i = 0; i < p->nc && p->c[i].y0 < ymax; i++) {
        const chunk *c = &p->c[i];
        if (abs(chunk_centre(c) - ccx) > cw / 5)
            continue;
        letters_of(p, c, s);
        if (!strncmp(s, "phuluc", 6))
            return 1;
    }
    return 0;
}

int sh_fields_extract(const sh_words *words, int w_px, int h_px,
                      sh_doc_fields *out)
{
    if (!out)
        return SH_EUSAGE;
    memset(out, 0, sizeof *out);
    if (!words)
        return SH_EUSAGE;
    if (words->n <= 0 || w_px <= 0 || h_px <= 0)
        return SH_OK;
    page p;
    found F;
    memset(&F, 0, sizeof F);
    F.qh = F.motto = F.so = F.date = F.vv = F.title = -1;
    F.vv_last = F.subj_last = -1;
    int rc = page_build(&p, words, w_px, h_px);
    if (!rc && p.nc)
        rc = find_anchors(&p, &F);
    if (rc || !p.nc)
        goto out;

    int at = 0;
    F.so = find_so(&p, &F, &at);
    if (F.so >= 0) {
        char s[MAXS];
        int map[MAXS], mcp[MAXS];
        const chunk *c = &p.c[F.so];
        int n = chunk_fold(&p, c, 0, 0, s, map, mcp);
        if (at >= n) {
            /* "Số:" alone: the number was left blank for the hand, and the
               notation stands apart on the same row */
            int j = next_on_row(&p, F.so);
            if (j >= 0) {
                c = &p.c[j];
                n = chunk_fold(&p, c, 0, 0, s, map, mcp);
                at = 0;
            }
        }
        rc = parse_code(&p, c, s, n, map, mcp, at, out);
        if (rc)
            goto out;
    }
    date_hit dh = {0, 0, 0, -1, 0};
    F.date = find_date(&p, &F, &dh);
    if (F.date >= 0 && (rc = put_date(&p, &p.c[F.date], &dh, out)))
        goto out;
    if ((rc = find_organ(&p, &F, out)) || (rc = find_vv(&p, &F, out)))
        goto out;
    /* bottom of the header: the lowest anchor found */
    int ybot = -1;
    int anchors[] = {F.qh, F.motto, F.so, F.date, F.vv_last};
    for (size_t i = 0; i < SH_ARRAY_LEN(anchors); i++)
        if (anchors[i] >= 0 && p.c[anchors[i]].y1 > ybot)
            ybot = p.c[anchors[i]].y1;
    for (int i = 0; i < F.norg; i++)
        if (p.c[F.org[i]].y1 > ybot)
            ybot = p.c[F.org[i]].y1;
    if (ybot >= 0 && (rc = find_title(&p, &F, ybot, out)))
        goto out;
    if ((rc = infer_type(&F, out)))
        goto out;

    /* start_conf */
    float s = 0;
    if (F.qh >= 0)
        s += 0.40f * F.qh_q;
    if (F.motto >= 0)
        s += 0.15f * F.motto_q;
    if (F.so >= 0)
        s += out->code_notation.value || out->code_number.value ? 0.20f
                                                                 : 0.12f;
    if (F.date >= 0)
        s += 0.15f * dh.q;
    if (out->organ_name.value)
        s += 0.05f;
    if (F.title >= 0 || F.vv >= 0)
        s += 0.05f;
    if (F.qh < 0 && F.motto < 0)
        s *= 0.8f;
    if (annex_top(&p, ybot))
        s *= 0.3f;
    out->start_conf = clamp01(s);

out:
    page_free(&p);
    if (rc)
        sh_doc_fields_release(out);
    return rc;
}

void sh_doc_fields_release(sh_doc_fields *f)
{
    if (!f)
        return;
    sh_field *all[] = {&f->organ_parent, &f->organ_name, &f->code_number,
                       &f->code_notation, &f->place, &f->issued_date,
                       &f->type_name, &f->subject};
    for (size_t i = 0; i < SH_ARRAY_LEN(all); i++)
        free(all[i]->value);
    memset(f, 0, sizeof *f);
}
