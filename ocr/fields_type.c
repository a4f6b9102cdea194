/*
 * fields_type.c — the type of a văn bản (Phụ lục III) and its trích yếu.
 *
 * Functions
 *   sh__fl_find_vv          V/v lines of a công văn → trích yếu
 *   sh__fl_find_title       centred type title, and the trích yếu under it
 *   sh__fl_infer_type       type without a title: V/v, notation
 *   sh__fl_known_abbr       the abbreviations a notation holds
 *   match_type, vv_label    the type names and the V/v label, as OCR reads
 *
 * Method.  Under the Số line, a chunk beginning "V/v" (also V/y, Vlv,
 * V.v) and the left chunks right under it are the trích yếu of a công
 * văn.  Under the header, the first centred chunk in capitals whose
 * letters spell a type of Phụ lục III (within one or two edits) is the
 * title; the lines right under it, centred on it, short of both margins
 * and not in capitals, are the trích yếu.
 */
#include "fields_int.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

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
int sh__fl_known_abbr(const char *a)
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
        int d = sh__fl_edit_dist(s, TYPES[i].fold);
        if (d <= allow && d < bd) {
            bd = d;
            best = &TYPES[i];
        }
    }
    if (best)
        *q = 1.0f - 0.15f * (float)bd;
    return best;
}

static int starts_with_fold(const page *p, const chunk *c, const char *w)
{
    char s[MAXS];
    int map[MAXS], mcp[MAXS];
    sh__fl_chunk_fold(p, c, 0, 0, s, map, mcp);
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

/* V/v line under the Số line and its continuation lines. */
int sh__fl_find_vv(const page *p, found *F, sh_doc_fields *out)
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
        int n = sh__fl_chunk_fold(p, c, 0, 0, s, map, mcp);
        int o = sh__fl_junk_prefix(s, n);
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
            if (sh__fl_parse_date(ds, sh__fl_chunk_fold(p, d, 0, 0, ds, dm, dc),
                                  &dh))
                break;
            idx[ni++] = j;
            y1 = d->y1;
        }
        F->vv = i;
        F->vv_last = idx[ni - 1];
        char *v = sh__fl_join_chunks(p, idx, ni, at, NULL);
        if (v)
            sh__fl_trim_junk(v, SUBJ_JUNK);
        return sh__fl_set_field(&out->subject, v,
                                sh__fl_mean_conf(p, idx, ni));
    }
    return SH_OK;
}

/* Centred title in capitals under the header, then its trích yếu. */
int sh__fl_find_title(const page *p, found *F, int ybot, sh_doc_fields *out)
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
        sh__fl_letters_of(p, c, s);
        float q;
        const type_name *t = match_type(s, &q);
        if (!t)
            continue;
        F->title = i;
        int rc = sh__fl_set_field_copy(&out->type_name, t->name,
                                       q * c->conf / 100);
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
            char *v = sh__fl_join_chunks(p, idx, ni, 0, NULL);
            if (v)
                sh__fl_trim_junk(v, SUBJ_JUNK);
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
            rc = sh__fl_set_field(&out->subject, v,
                                  sh__fl_mean_conf(p, idx, ni));
        }
        return rc;
    }
    return SH_OK;
}

/* Type from the notation's first part, when there is no title. */
int sh__fl_infer_type(const found *F, sh_doc_fields *out)
{
    if (out->type_name.value)
        return SH_OK;
    if (F->vv >= 0)
        return sh__fl_set_field_copy(&out->type_name, "Công văn",
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
            return sh__fl_set_field_copy(&out->type_name, TYPES[i].name,
                                         out->code_notation.conf * 0.6f);
    }
    /* "Số: 318/UBND-NN": an agency's abbreviation first — a công văn */
    if (strchr(seg, '-'))
        return sh__fl_set_field_copy(&out->type_name, "Công văn",
                                     out->code_notation.conf * 0.4f);
    return SH_OK;
}
