/*
 * vntext.c — the one Vietnamese normalisation and folding of sohoa, used
 * by recognition (ocr/), the catalog and its tokenizer (index/) and the
 * web pages (web/).
 *
 * Functions:
 *   sh_text_norm        NFC, eth read as Đ, one tone placement (hoà → hòa)
 *   sh_text_fold        sh_text_norm + lower case + marks removed + đ → d
 *   sh_text_nfc         NFC alone, into a new string
 *   sh_vn_forms         both forms of one token, appended to buffers
 *   sh_vn_fold_token    fold one token, fast (a table for Latin letters)
 *   sh_vn_fold_cp       fold one code point to one ASCII byte (or 0)
 *   (static) text_forms (the exact way), forms_fast (the table way)
 *
 * Method.  Text is decoded to code points (an invalid UTF-8 byte becomes
 * U+FFFD, so nothing here fails on content), Ð/ð (U+00D0/U+00F0, Icelandic
 * eth, which OCR and old fonts produce in place of Đ/đ) become Đ/đ, and
 * the text is decomposed (NFD): every letter is then a base character
 * followed by its marks, the tone mark (grave, acute, tilde, hook above,
 * dot below) being one of them.  Vietnamese writes the tone of the open
 * diphthongs oa, oe, uy either on the first vowel (hòa, khỏe, thủy) or on
 * the second (hoà, khoẻ, thuỷ); both are in use and a searcher cannot know
 * which the scribe chose, so we settle on the first: when a word ends in
 * o+a, o+e or u+y, neither carrying a vowel mark, the second carrying the
 * only tone, and the pair is not preceded by another vowel (nor, for uy,
 * by q: in "quý" the u belongs to "qu" and the y is the vowel), the tone
 * moves to the first.  Words with a final consonant (hoàng, toán, thuyền,
 * quỳnh) already agree in both styles and are left alone.  Recomposition
 * (NFC) gives the normal form; folding lower-cases the decomposed text,
 * drops U+0300–U+036F and maps đ to d.
 *
 * Speed.  A token of ASCII and
 * precomposed Latin letters (every Vietnamese word in NFC) goes through
 * forms_fast: such a letter is its own normal form, so only the tone rule
 * above can change the word, and folding is one table look-up a letter;
 * the table (latin_table) is filled once from text_forms itself, letter by
 * letter, so the two cannot disagree (tests/test_index.c checks them on
 * every vowel, tone and neighbour the rule looks at).  Anything else
 * (decomposed text, other scripts, eth) takes text_forms, with
 * libunistring.
 *
 */
#include "vntext.h"

#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unicase.h>
#include <unictype.h>
#include <uninorm.h>
#include <unistr.h>

#define CP_STACK 128

static int is_tone(uint32_t c)
{
    return c == 0x300 || c == 0x301 || c == 0x303 || c == 0x309 ||
           c == 0x323;
}

static int is_mark(uint32_t c)
{
    return c >= 0x300 && uc_is_general_category(c, UC_CATEGORY_M);
}

static int is_letter(uint32_t c)
{
    if (c < 0x80)
        return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
    return uc_is_general_category(c, UC_CATEGORY_L);
}

static uint32_t ascii_lower(uint32_t c)
{
    return c >= 'A' && c <= 'Z' ? c | 0x20 : c;
}

static int is_vowel_base(uint32_t c)
{
    c = ascii_lower(c);
    return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u' ||
           c == 'y';
}

/* Decode n bytes of UTF-8 into cp (room for n code points); an invalid
   byte, or a sequence cut by the end, becomes U+FFFD; eth becomes Đ/đ.
   Returns the count. */
static size_t decode(const char *s, size_t n, uint32_t *cp)
{
    const uint8_t *p = (const uint8_t *)s, *end = p + n;
    size_t m = 0;
    while (p < end) {
        ucs4_t uc;
        int k = u8_mbtoucr(&uc, p, (size_t)(end - p));
        if (k == -2) {          /* truncated at the end: one U+FFFD */
            uc = 0xFFFD;
            k = (int)(end - p);
        } else if (k < 0) {     /* invalid byte */
            uc = 0xFFFD;
            k = 1;
        }
        if (uc == 0xD0)
            uc = 0x110;
        else if (uc == 0xF0)
            uc = 0x111;
        cp[m++] = uc;
        p += k;
    }
    return m;
}

/* Move the tone of a word-final oa/oe/uy (NFD, in place) to its first
   vowel; see the method paragraph above. */
static void tone_fix(uint32_t *a, size_t n)
{
    size_t i = 0;
    while (i < n) {
        if (!is_letter(a[i])) {
            i++;
            continue;
        }
        /* One word: letters, each a base followed by its marks.  Track the
           starts of the last three letters. */
        size_t p0 = 0, p1 = 0, p2 = i, count = 0, j = i;
        while (j < n && (is_letter(a[j]) || is_mark(a[j]))) {
            if (is_letter(a[j])) {
                p0 = p1;
                p1 = p2;
                p2 = j;
                count++;
            }
            j++;
        }
        /* Letter A = [p1, p2), letter B = [p2, j). */
        if (count >= 2 && p2 - p1 == 1 && j - p2 == 2 && is_tone(a[p2 + 1])) {
            uint32_t x = ascii_lower(a[p1]), y = ascii_lower(a[p2]);
            int pair = (x == 'o' && (y == 'a' || y == 'e')) ||
                       (x == 'u' && y == 'y');
            if (pair && count >= 3) {
                uint32_t w = ascii_lower(a[p0]);
                if (is_vowel_base(w) || (x == 'u' && w == 'q'))
                    pair = 0;
            }
            if (pair) {
                uint32_t tone = a[p2 + 1], base = a[p2];
                a[p1 + 1] = tone;
                a[p1 + 2] = base;
            }
        }
        i = j;
    }
}

static int put_utf8(sh_buf *b, const uint32_t *cp, size_t n)
{
    if (sh_buf_reserve(b, n * 4))
        return SH_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        int k = u8_uctomb((uint8_t *)b->data + b->len, cp[i], 4);
        if (k > 0)
            b->len += (size_t)k;
    }
    b->data[b->len] = 0;
    return SH_OK;
}

/* The normal form (norm) and/or the folded form (fold) of n bytes of
   UTF-8, appended to the buffers given (either may be NULL). */
static int text_forms(const char *s, size_t n, sh_buf *norm, sh_buf *fold)
{
    uint32_t st_dec[CP_STACK], st_nfd[CP_STACK], st_out[CP_STACK];
    uint32_t *dec = st_dec, *nfd = NULL, *out = NULL, *out2 = NULL;
    int rc = SH_ENOMEM;
    if (n == 0) {
        if (norm && sh_buf_add(norm, "", 0))
            return SH_ENOMEM;
        if (fold && sh_buf_add(fold, "", 0))
            return SH_ENOMEM;
        return SH_OK;
    }
    if (n > CP_STACK && !(dec = malloc(n * sizeof *dec)))
        goto out;
    size_t m = decode(s, n, dec);
    size_t nl = CP_STACK;
    if (!(nfd = u32_normalize(UNINORM_NFD, dec, m, st_nfd, &nl)))
        goto out;
    tone_fix(nfd, nl);
    if (norm) {
        size_t ol = CP_STACK;
        if (!(out = u32_normalize(UNINORM_NFC, nfd, nl, st_out, &ol)))
            goto out;
        if (put_utf8(norm, out, ol))
            goto out;
        if (out != st_out)
            free(out);
        out = NULL;
    }
    if (fold) {
        size_t ol = CP_STACK;
        if (!(out = u32_tolower(nfd, nl, NULL, UNINORM_NFD, st_out, &ol)))
            goto out;
        size_t k = 0;
        int high = 0;
        for (size_t i = 0; i < ol; i++) {
            uint32_t c = out[i];
            if (c >= 0x300 && c <= 0x36F)
                continue;
            if (c == 0x111 || c == 0x110)
                c = 'd';
            high |= c >= 0x300;
            out[k++] = c;
        }
        if (high) {
            /* Another script's marks: recompose what NFD split (Hangul). */
            size_t l2 = 0;
            if (!(out2 = u32_normalize(UNINORM_NFC, out, k, NULL, &l2)))
                goto out;
            if (put_utf8(fold, out2, l2))
                goto out;
        } else if (put_utf8(fold, out, k)) {
            goto out;
        }
    }
    rc = SH_OK;
out:
    if (dec != st_dec)
        free(dec);
    if (nfd != st_nfd)
        free(nfd);
    if (out != st_out)
        free(out);
    free(out2);
    return rc;
}

static int text_to(const char *in, char **out, int folded)
{
    *out = NULL;
    sh_buf b = {0};
    if (!in)
        in = "";
    int rc = folded ? text_forms(in, strlen(in), NULL, &b)
                    : text_forms(in, strlen(in), &b, NULL);
    if (rc) {
        sh_buf_release(&b);
        return rc;
    }
    *out = b.data;
    return SH_OK;
}

int sh_text_norm(const char *in, char **out)
{
    return text_to(in, out, 0);
}

int sh_text_fold(const char *in, char **out)
{
    return text_to(in, out, 1);
}

/* ---- the Latin table: fast folding and normalising ---- */

/* What text_forms does to each code point of the Latin blocks
   (U+00C0–U+024F, U+1E00–U+1EFF), taken from text_forms itself once, so
   that the fast paths cannot disagree with it. */
#define FT_LO 0xC0
#define FT_MID 0x250
#define FT_HI 0x1E00
#define FT_END 0x1F00
#define FT_SIZE ((FT_MID - FT_LO) + (FT_END - FT_HI))

typedef struct latin {
    unsigned char fold;         /* its folded form, one ASCII letter; 0:
                                   anything else */
    unsigned char plain;        /* 1: a letter whose normal form is itself
                                   (every precomposed Vietnamese letter) */
    unsigned char base;         /* its NFD base when an ASCII letter, else
                                   0 (đ)                                  */
    unsigned char tone;         /* 1..5: NFD is base + this tone alone
                                   (tones[tone - 1]); 0: other marks too,
                                   or none                               */
} latin;

static const uint32_t tones[5] = {0x300, 0x301, 0x303, 0x309, 0x323};
static latin latin_table[FT_SIZE];
/* toned[v][t]: o, u, O, U (v 0..3) carrying tones[t] (NFC). */
static uint32_t toned[4][5];
static pthread_once_t latin_once = PTHREAD_ONCE_INIT;

static void latin_init(void)
{
    for (uint32_t c = FT_LO; c < FT_END; c++) {
        if (c == FT_MID)
            c = FT_HI;
        latin *l = &latin_table[c < FT_MID ? c - FT_LO
                                           : (FT_MID - FT_LO) + c - FT_HI];
        uint8_t u[4];
        int k = u8_uctomb(u, c, 4);
        sh_buf f = {0}, nm = {0};
        if (k > 0 && text_forms((const char *)u, (size_t)k, &nm, &f) == 0) {
            if (f.len == 1 && (unsigned char)f.data[0] < 0x80)
                l->fold = (unsigned char)f.data[0];
            l->plain = l->fold && is_letter(c) && nm.len == (size_t)k &&
                       memcmp(nm.data, u, (size_t)k) == 0;
        }
        sh_buf_release(&f);
        sh_buf_release(&nm);
        uint32_t d[8];
        size_t dl = SH_ARRAY_LEN(d);
        uint32_t *nfd = u32_normalize(UNINORM_NFD, &c, 1, d, &dl);
        if (nfd && dl >= 1 && nfd[0] < 0x80 && is_letter(nfd[0]))
            l->base = (unsigned char)nfd[0];
        for (int t = 0; nfd && l->base && dl == 2 && t < 5; t++)
            if (nfd[1] == tones[t])
                l->tone = (unsigned char)(t + 1);
        if (nfd && nfd != d)
            free(nfd);
    }
    static const uint32_t vowels[4] = {'o', 'u', 'O', 'U'};
    for (int v = 0; v < 4; v++)
        for (int t = 0; t < 5; t++) {
            uint32_t in[2] = {vowels[v], tones[t]}, o[4];
            size_t ol = SH_ARRAY_LEN(o);
            uint32_t *r = u32_normalize(UNINORM_NFC, in, 2, o, &ol);
            toned[v][t] = r && ol == 1 ? r[0] : 0;
            if (r && r != o)
                free(r);
        }
}

static const latin *latin_of(ucs4_t c)
{
    if (c >= FT_LO && c < FT_MID)
        return &latin_table[c - FT_LO];
    if (c >= FT_HI && c < FT_END)
        return &latin_table[(FT_MID - FT_LO) + c - FT_HI];
    return NULL;
}

static unsigned char fold_fast(ucs4_t c)
{
    const latin *l = latin_of(c);
    return l ? l->fold : 0;
}

int sh_vn_fold_token(const char *tok, int n, char *out, int cap)
{
    pthread_once(&latin_once, latin_init);
    const uint8_t *p = (const uint8_t *)tok;
    int k = 0;
    for (int i = 0; i < n;) {
        if (p[i] < 0x80) {
            if (k >= cap)
                return -1;
            out[k++] = (char)(p[i] >= 'A' && p[i] <= 'Z' ? p[i] | 0x20 : p[i]);
            i++;
            continue;
        }
        ucs4_t c;
        int len = u8_mbtoucr(&c, p + i, (size_t)(n - i));
        unsigned char f = len > 0 ? fold_fast(c) : 0;
        if (len > 0 && c >= 0x300 && c <= 0x36F) {
            i += len;           /* a mark of decomposed text */
            continue;
        }
        if (!f) {               /* anything else: the exact way */
            sh_buf b = {0};
            int rc = text_forms(tok, (size_t)n, NULL, &b);
            int m = rc || b.len > (size_t)cap ? -1 : (int)b.len;
            if (m > 0)
                memcpy(out, b.data, (size_t)m);
            sh_buf_release(&b);
            return m;
        }
        if (k >= cap)
            return -1;
        out[k++] = (char)f;
        i += len;
    }
    return k;
}

int sh_vn_fold_cp(uint32_t cp)
{
    if (cp < 0x80)
        return (int)ascii_lower(cp);
    pthread_once(&latin_once, latin_init);
    const latin *l = latin_of(cp);
    if (l)
        return l->fold;
    /* anything else: the exact way */
    uint8_t u[4];
    int k = u8_uctomb(u, cp, 4);
    if (k <= 0)
        return 0;
    sh_buf f = {0};
    int b = 0;
    if (text_forms((const char *)u, (size_t)k, NULL, &f) == SH_OK &&
        f.len == 1 && (unsigned char)f.data[0] < 0x80)
        b = (unsigned char)f.data[0];
    sh_buf_release(&f);
    return b;
}

/* Longest token taken by forms_fast (code points). */
#define FAST_MAX 64

/* The normal and folded forms of a token made of ASCII and of "plain"
   Latin letters (see latin): what text_forms gives, without
   libunistring.  Such a token is its own NFC; what can change is the tone
   of a final oa/oe/uy (tone_fix's rule, on precomposed letters) and, in
   the folded form, each letter.  Returns 1 with the forms appended to
   norm and fold (fold may be NULL), 0 when the token is not of that kind
   (nothing appended), -1 out of memory. */
static int forms_fast(const char *tok, int n, sh_buf *norm, sh_buf *fold)
{
    uint32_t cp[FAST_MAX];
    const latin *lt[FAST_MAX];
    const uint8_t *p = (const uint8_t *)tok;
    int m = 0;
    for (int i = 0; i < n; m++) {
        if (m == FAST_MAX)
            return 0;
        if (p[i] < 0x80) {
            cp[m] = p[i++];
            lt[m] = NULL;
            continue;
        }
        ucs4_t c;
        int len = u8_mbtoucr(&c, p + i, (size_t)(n - i));
        if (len <= 0 || !(lt[m] = latin_of(c)) || !lt[m]->plain)
            return 0;
        cp[m] = c;
        i += len;
    }
    /* tone_fix: in each word (run of letters), a final A B with A plain o
       or u and B a, e (after o) or y (after u) carrying a tone and no
       other mark, not after another vowel (nor q, for uy). */
    for (int i = 0; i < m;) {
        if (!lt[i] && !is_letter(cp[i])) {
            i++;
            continue;
        }
        int j = i;
        while (j < m && (lt[j] || is_letter(cp[j])))
            j++;
        if (j - i >= 2 && lt[j - 1] && lt[j - 1]->tone) {
            uint32_t x = cp[j - 2], y = lt[j - 1]->base;
            int v = x == 'o' ? 0 : x == 'u' ? 1 : x == 'O' ? 2 : x == 'U' ? 3
                                                                          : -1;
            uint32_t xl = ascii_lower(x), yl = ascii_lower(y);
            int pair = v >= 0 && ((xl == 'o' && (yl == 'a' || yl == 'e')) ||
                                  (xl == 'u' && yl == 'y'));
            if (pair && j - i >= 3) {
                uint32_t w = lt[j - 3] ? lt[j - 3]->base : cp[j - 3];
                if (is_vowel_base(w) || (xl == 'u' && ascii_lower(w) == 'q'))
                    pair = 0;
            }
            if (pair && toned[v][lt[j - 1]->tone - 1]) {
                cp[j - 2] = toned[v][lt[j - 1]->tone - 1];
                lt[j - 2] = latin_of(cp[j - 2]);
                cp[j - 1] = y;
                lt[j - 1] = NULL;
            }
        }
        i = j;
    }
    if (put_utf8(norm, cp, (size_t)m))
        return -1;
    if (fold) {
        if (sh_buf_reserve(fold, (size_t)m))
            return -1;
        for (int i = 0; i < m; i++)
            fold->data[fold->len++] =
                (char)(lt[i] ? lt[i]->fold : ascii_lower(cp[i]));
        fold->data[fold->len] = 0;
    }
    return 1;
}

int sh_vn_forms(const char *tok, size_t n, sh_buf *norm, sh_buf *fold)
{
    pthread_once(&latin_once, latin_init);
    int fast = n <= INT_MAX ? forms_fast(tok, (int)n, norm, fold) : 0;
    if (fast < 0 || (!fast && text_forms(tok, n, norm, fold)))
        return SH_ENOMEM;
    return SH_OK;
}

int sh_text_nfc(const char *in, size_t n, char **out, size_t *len)
{
    size_t nn = 0;
    uint8_t *nfc = u8_normalize(UNINORM_NFC, (const uint8_t *)in, n, NULL,
                                &nn);
    char *s = nfc ? malloc(nn + 1) : NULL;
    if (s) {
        memcpy(s, nfc, nn);
        s[nn] = 0;
    }
    free(nfc);
    *out = s;
    if (len)
        *len = s ? nn : 0;
    return s ? SH_OK : SH_ENOMEM;
}
