/*
 * fields_organ.c — the issuing agency and its parent, from the top of
 * the left block.
 *
 * Functions
 *   sh__fl_find_organ       agency lines → units → organ_name, organ_parent
 *   starts_unit, ends_with_word   where a unit begins
 *   fix_organ               mark slips no agency name holds
 *
 * Method.  The chunks above the Số line are the agency lines: a line that
 * cannot begin a name (not "SỞ", "UBND", "BỘ", "PHÒNG", …, or after a
 * line ending in "VÀ") continues the one above; the last unit is the
 * agency, the one before it the parent; a few misreadings that no agency
 * name holds are mended (THÀNH PHÓ → PHỐ, TÓI CAO → TỐI, KIỀM SÁT →
 * KIỂM, TĨNH → TỈNH but not after HÀ).
 */
#include "fields_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* Agency lines: left chunks of the zone above the Số line (or the date /
   motto when there is no Số line), capitals, nearest first. */
int sh__fl_find_organ(const page *p, found *F, sh_doc_fields *out)
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
        sh__fl_chunk_fold(p, &p->c[F->org[i]], 0, 0, s, map, mcp);
        int cont = i > 0 && (!starts_unit(s) || ends_with_word(prev, "va") ||
                             ends_with_word(prev, "&"));
        if (!cont)
            unit_start[nu++] = i;
        snprintf(prev, sizeof prev, "%s", s);
    }
    unit_start[nu] = F->norg;
    int last = nu - 1;
    /* the agency: the last unit; the parent: the one before it */
    const int *un = F->org + unit_start[last];
    int nun = unit_start[last + 1] - unit_start[last];
    char *name = sh__fl_join_chunks(p, un, nun, 0, ORG_JUNK);
    if (name) {
        sh__fl_trim(name, ".,-_:;");
        name = fix_organ(name);
    }
    int rc = sh__fl_set_field(&out->organ_name, name,
                              sh__fl_mean_conf(p, un, nun));
    if (!rc && nu >= 2) {
        const int *up = F->org + unit_start[last - 1];
        int nup = unit_start[last] - unit_start[last - 1];
        char *par = sh__fl_join_chunks(p, up, nup, 0, ORG_JUNK);
        if (par) {
            sh__fl_trim(par, ".,-_:;");
            par = fix_organ(par);
        }
        rc = sh__fl_set_field(&out->organ_parent, par,
                              sh__fl_mean_conf(p, up, nup));
    }
    return rc;
}
