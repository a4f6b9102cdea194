/*
 * fields_date.c — place and date of issue: "Bắc Ninh, ngày 05 tháng 3
 * năm 2024".
 *
 * Functions
 *   sh__fl_find_date        the first date line of the right block
 *   sh__fl_parse_date, date_tokens   [ngày [D]] tháng [M] năm YYYY
 *   sh__fl_put_date         issued_date (ISO 8601) and place
 *
 * Method.  The date is the first chunk of the right block whose tokens
 * read [ngày] [D] tháng [M] năm YYYY (keywords within one or two edits,
 * digits confused with letters repaired, a speck for a handwritten day
 * skipped); the place is what precedes "ngày".
 */
#include "fields_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
        sh__fl_fix_digits(word, 0);
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

/* Find "[ngày [D]] tháng [M] năm YYYY" in folded s.  Returns 1 if found. */
int sh__fl_parse_date(const char *s, int n, date_hit *h)
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
        if (!tv[k].alpha || sh__fl_edit_dist(tv[k].t, "nam") > 1)
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
            sh__fl_edit_dist(tv[k - 1].t, "thang") <= 2) {
            k--;
            q -= 0.1f;
        }
        if (k >= 0 && tv[k].alpha && sh__fl_edit_dist(tv[k].t, "thang") <= 2) {
            have_thang = 1;
            q -= 0.1f * (float)sh__fl_edit_dist(tv[k].t, "thang");
            k--;
            if (k >= 0 && !tv[k].alpha) {
                d = atoi(tv[k].t);
                k--;
            } else if (k >= 1 && tv[k].alpha && strlen(tv[k].t) <= 2 &&
                       sh__fl_edit_dist(tv[k - 1].t, "ngay") <= 1) {
                k--;    /* "ngày (Ö tháng": the day unread */
                q -= 0.1f;
            }
            if (k >= 0 && tv[k].alpha &&
                sh__fl_edit_dist(tv[k].t, "ngay") <= 1) {
                have_ngay = 1;
                ngay_pos = tv[k].pos;
                q -= 0.1f * (float)sh__fl_edit_dist(tv[k].t, "ngay");
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

int sh__fl_find_date(const page *p, const found *F, date_hit *best)
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
        int n = sh__fl_chunk_fold(p, c, 0, 0, s, map, mcp);
        date_hit h;
        if (sh__fl_parse_date(s, n, &h)) {
            /* the first one down the page (a body line may cite a date) */
            *best = h;
            bi = i;
            break;
        }
    }
    return bi;
}

int sh__fl_put_date(const page *p, const chunk *c, const date_hit *h,
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
    int rc = sh__fl_set_field_copy(&out->issued_date, buf, conf);
    if (rc || h->ngay_pos <= 0)
        return rc;
    char s[MAXS];
    int map[MAXS], mcp[MAXS];
    sh__fl_chunk_fold(p, c, 0, 0, s, map, mcp);
    int e = h->ngay_pos;
    int k1 = map[e], j1 = mcp[e];
    if (j1 < 0)
        j1 = 0;
    char *pl = sh__fl_chunk_text(p, c, 0, 0, k1, j1);
    if (!pl)
        return SH_OK;
    sh__fl_trim(pl, ",.;:-_");
    return sh__fl_set_field(&out->place, pl, c->conf / 100.0f * h->q);
}
