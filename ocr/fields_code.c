/*
 * fields_code.c — the Số line of a văn bản: number and notation (số, ký
 * hiệu).
 *
 * Functions
 *   sh__fl_find_so          the first left chunk of the zone with the label
 *   so_label, so_label_loose   the label "Số:" as OCR reads it
 *   sh__fl_next_on_row      the notation standing apart after "Số:"
 *   sh__fl_parse_code       "Số: 05/2021/NĐ-CP" → "05", "2021/NĐ-CP"
 *   fix_notation, sh__fl_fix_digits   safe OCR slips mended
 *
 * Method.  In the left block, the Số line is the first chunk of the header
 * zone that begins with s + ô/ơ or a digit OCR reads for it (so, s6, s0,
 * s8), then a colon or the number ("Số:" alone takes the notation
 * standing apart on its row: a number left blank); failing that, 's' +
 * anything and a first word holding "/NOTATION-".  The number is what
 * stands before the first '/', the notation the rest, spaces removed;
 * "QD"/"ND" read as QĐ/NĐ, a doubled Đ mended into a known abbreviation,
 * a lost slash after a year put back.
 */
#include "fields_int.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <unicase.h>
#include <unistr.h>

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
int sh__fl_junk_prefix(const char *s, int n)
{
    int o = 0;
    while (o < n && o < 3 && !isalnum((unsigned char)s[o]))
        o++;
    return o < n ? o : 0;
}

/* Digits the OCR confused with letters, in a token that is mostly digits
   (folded, lower case).  In place. */
void sh__fl_fix_digits(char *t, int force)
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
            if (sh__fl_known_abbr(buf)) {
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
        sh__fl_fix_digits(y, 0);
        int ok = 1;
        for (int i = 0; i < 4; i++)
            ok &= isdigit((unsigned char)y[i]) != 0;
        if (ok)
            memcpy(v, y, 4);
    }
}

/* Parse the Số chunk from folded position 'at' (after the label). */
int sh__fl_parse_code(const page *p, const chunk *c, const char *s, int n,
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
    char *raw = sh__fl_chunk_text(p, c, k0, j0, k1, -1);
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
        sh__fl_trim(num, ":;.,-_");
        sh__fl_fix_digits(num, 0);
        int ok = num[0] != 0;
        for (int i = 0; num[i]; i++)
            ok &= isdigit((unsigned char)num[i]) != 0;
        if (ok && strlen(num) <= 7)
            rc = sh__fl_set_field_copy(&out->code_number, num, conf);
    }
    if (!rc && sl && sl[1]) {
        char *v = malloc(strlen(sl + 1) + 8);
        if (!v) {
            rc = SH_ENOMEM;
        } else {
            memcpy(v, sl + 1, strlen(sl + 1) + 1);
            sh__fl_trim(v, ":;.,_-");
            fix_notation(v);
            rc = sh__fl_set_field(&out->code_notation, v, conf);
        }
    }
    free(raw);
    return rc;
}

/* The chunk right of chunk i on its row, in the left block, not far. */
int sh__fl_next_on_row(const page *p, int i)
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
int sh__fl_find_so(const page *p, found *F, int *at)
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
        int n = sh__fl_chunk_fold(p, c, 0, 0, s, map, mcp);
        int o = sh__fl_junk_prefix(s, n);
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
