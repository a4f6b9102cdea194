/*
 * vncorrect.c — Vietnamese syllable-aware correction of Tesseract's words.
 *
 *   sh_vnlm_load        the model embedded in the program (vnlm_blob.c)
 *   sh_vnlm_open        a model from a blob in memory
 *   sh_vnlm_free
 *   sh_vnlm_valid       is this exact spelling a syllable
 *   sh_vn_correct       correct a page's words (default tuning)
 *   sh_vn_correct_opts  the same with tuning
 *   sh_vnfixes_free
 *   (static) form_key, pair_q   look-ups in the model (binary search)
 *   (static) analyse            split a word into punctuation and a
 *                               correctable core, or mark it fixed
 *   (static) candidates         the forms a word may take, with scores
 *   (static) viterbi            best sequence over a chain of words
 *
 * Method (after an evaluation prototype: ../shared/notes/tone-correction.md).
 * Tesseract's errors on Vietnamese are mostly a dropped or wrong tone on
 * â/ê/ô, and the wrong form is usually itself a valid syllable, so only
 * context can tell.  For each word we build candidates: the word as read;
 * every combination of the LSTM's own alternatives for its characters
 * (lstm_choice_mode=2, confidence ≥ alt_conf; sh_word.syms); and, for one
 * letter, the variants carrying strictly more marks than what was read
 * (ô → ố ồ ổ ỗ ộ, ó → ố ớ, o → ô ơ ó …, d → đ), which the LSTM often does
 * not offer.  Only valid syllables, checked on the exact spelling, are
 * kept (the word as read is always kept).  A candidate scores
 *     Σ log(conf of each character / 100)  +  λ · log P(word | previous)
 * where a character the LSTM did not offer gets mark_conf, and
 *     P(w | p) = α P2(w | p) + (1 - α) P1'(w),
 *     P1'(w)   = 0.9 P1(w) + 0.1 cache(w)   (the page's own syllables),
 * P2 and P1 from the model (ranks in langdata's pair and word lists).  A
 * Viterbi pass per chain (a paragraph's words until punctuation or a word
 * that is not a syllable) picks the best sequence; the word as read gets
 * keep_bonus so a change needs a clear gain, and a word read as a valid
 * syllable changes only when a pair with a neighbour backs the new form
 * (single-word frequency alone turned ho → họ, trang → trong).  Case is restored from the
 * word as read (lower, Title, ALL CAPS).
 *
 * The model (ocr/data/mkvnlm.py describes the layout): forms sorted by
 * their bytes, each with a key (lower case, new tone placement), the keys'
 * single-word probabilities, and sorted pairs (id1 << 16 | id2) with the
 * quantised log P(id2 | id1); all looked up by binary search in place.
 */
#include "vncorrect.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unicase.h>
#include <unictype.h>
#include <uninorm.h>
#include <unistr.h>

extern const unsigned char sh_vnlm_blob[], sh_vnlm_blob_end[];

struct sh_vnlm {
    uint32_t nform, nkey, npair, nstr;
    double scale;             /* q units per nat                          */
    const uint32_t *forms;    /* nform × (string offset, key)             */
    const uint32_t *keys;     /* nkey string offsets                      */
    const uint8_t *uni;       /* nkey quantised -ln P1                    */
    const uint32_t *pairs;    /* npair sorted id1 << 16 | id2             */
    const uint8_t *pairq;     /* npair quantised -ln P2(id2 | id1)        */
    const char *str;
};

#define ALPHA 0.7       /* weight of the pair model in P(w | p)           */
#define CACHE_W 0.1     /* weight of the page cache in P1'                */
#define LOGP_OOV -16.0  /* ln P of a word that is not a syllable          */
#define MAXCP 12        /* code points of a correctable core              */
#define MAXC 40         /* candidates per word                            */

/* ---- the model -------------------------------------------------------- */

static uint32_t rd32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

int sh_vnlm_open(const void *blob, size_t n, sh_vnlm **out, sh_err *err)
{
    *out = NULL;
    const unsigned char *b = blob;
    if (n < 32 || memcmp(b, "SHVNLM1", 8) != 0)
        return sh_errf(err, SH_EINPUT, "Vietnamese model: not a model");
    uint32_t nform = rd32(b + 8), nkey = rd32(b + 12), npair = rd32(b + 16);
    uint32_t nstr = rd32(b + 20), scale = rd32(b + 24);
    size_t need = 32 + (size_t)nform * 8 + (size_t)nkey * 4 +
                  ((nkey + 3u) & ~3u) + (size_t)npair * 4 +
                  ((npair + 3u) & ~3u) + nstr;
    const uint16_t one = 1;   /* the tables are read in place: LE only */
    if (need != n || nkey > 65536 || !scale || (uintptr_t)b % 4 ||
        (nstr && b[n - 1] != 0) || *(const uint8_t *)&one != 1)
        return sh_errf(err, SH_EINPUT, "Vietnamese model: damaged");
    sh_vnlm *lm = calloc(1, sizeof *lm);
    if (!lm)
        return sh_errf(err, SH_ENOMEM, "Vietnamese model: out of memory");
    lm->nform = nform;
    lm->nkey = nkey;
    lm->npair = npair;
    lm->nstr = nstr;
    lm->scale = scale;
    const unsigned char *p = b + 32;
    lm->forms = (const uint32_t *)p;
    p += (size_t)nform * 8;
    lm->keys = (const uint32_t *)p;
    p += (size_t)nkey * 4;
    lm->uni = p;
    p += (nkey + 3u) & ~3u;
    lm->pairs = (const uint32_t *)p;
    p += (size_t)npair * 4;
    lm->pairq = p;
    p += (npair + 3u) & ~3u;
    lm->str = (const char *)p;
    for (uint32_t i = 0; i < nform; i++)
        if (lm->forms[2 * i] >= nstr || lm->forms[2 * i + 1] >= nkey) {
            free(lm);
            return sh_errf(err, SH_EINPUT, "Vietnamese model: damaged");
        }
    *out = lm;
    return SH_OK;
}

int sh_vnlm_load(sh_vnlm **out, sh_err *err)
{
    return sh_vnlm_open(sh_vnlm_blob,
                        (size_t)(sh_vnlm_blob_end - sh_vnlm_blob), out, err);
}

void sh_vnlm_free(sh_vnlm **lm)
{
    if (!lm || !*lm)
        return;
    free(*lm);
    *lm = NULL;
}

/* Key id of the exact lower-case NFC form s, or -1. */
static int form_key(const sh_vnlm *lm, const char *s)
{
    uint32_t lo = 0, hi = lm->nform;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        int c = strcmp(lm->str + lm->forms[2 * mid], s);
        if (c == 0)
            return (int)lm->forms[2 * mid + 1];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

/* Quantised -ln P2(b | a), or -1 when the pair is not in the model. */
static int pair_q(const sh_vnlm *lm, int a, int b)
{
    uint32_t k = (uint32_t)a << 16 | (uint32_t)b, lo = 0, hi = lm->npair;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if (lm->pairs[mid] == k)
            return lm->pairq[mid];
        if (lm->pairs[mid] < k)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

/* ---- letters ---------------------------------------------------------- */

/* Vowel rows: no tone, grave, acute, hook, tilde, dot below. */
static const char *const VROWS[12] = {
    "aàáảãạ", "ăằắẳẵặ", "âầấẩẫậ", "eèéẻẽẹ", "êềếểễệ", "iìíỉĩị",
    "oòóỏõọ", "ôồốổỗộ", "ơờớởỡợ", "uùúủũụ", "ưừứửữự", "yỳýỷỹỵ"};
static const char VFAM[12] = "aaaeeiooouuy";
static const int VMARK[12] = {0, 1, 2, 0, 2, 0, 0, 2, 3, 0, 3, 0};
#define CP_DD 0x111    /* đ */

/* Row and tone of lower-case vowel c, or -1. */
static int vowel_of(uint32_t c, int *tone)
{
    for (int r = 0; r < 12; r++) {
        const uint8_t *s = (const uint8_t *)VROWS[r];
        for (int t = 0; t < 6; t++) {
            ucs4_t u;
            s += u8_mbtouc(&u, s, 4);
            if (u == c) {
                *tone = t;
                return r;
            }
        }
    }
    return -1;
}

static uint32_t vowel_cp(int r, int t)
{
    const uint8_t *s = (const uint8_t *)VROWS[r];
    ucs4_t u = 0;
    for (int i = 0; i <= t; i++)
        s += u8_mbtouc(&u, s, 4);
    return u;
}

/* UTF-8 of n code points into out (cap bytes); 0, or -1 if too long. */
static int cps_utf8(const uint32_t *cp, int n, char *out, size_t cap)
{
    size_t len = 0;
    for (int i = 0; i < n; i++) {
        if (len + 5 > cap)
            return -1;
        int k = u8_uctomb((uint8_t *)out + len, cp[i], 4);
        if (k < 0)
            return -1;
        len += (size_t)k;
    }
    out[len] = 0;
    return 0;
}

int sh_vnlm_valid(const sh_vnlm *lm, const char *s)
{
    if (!lm || !s)
        return 0;
    size_t n = 0;
    uint8_t *low = u8_tolower((const uint8_t *)s, strlen(s), NULL,
                              UNINORM_NFC, NULL, &n);
    if (!low)
        return 0;
    char buf[128];
    int ok = 0;
    if (n < sizeof buf) {
        memcpy(buf, low, n);
        buf[n] = 0;
        ok = form_key(lm, buf) >= 0;
    }
    free(low);
    return ok;
}

/* ---- words ------------------------------------------------------------ */

enum { CASE_LOWER, CASE_TITLE, CASE_UPPER };
enum { SRC_READ, SRC_LSTM, SRC_MARK };

typedef struct cand {
    uint32_t cp[MAXCP];   /* lower case                                   */
    int key;              /* model key, -1: not a syllable                */
    float cs;             /* Σ log char conf (+ keep_bonus when as read)   */
    int src;              /* SRC_*                                        */
    int at;               /* position changed (LSTM/MARK), else -1        */
    float altconf;        /* the alternative's confidence (SRC_LSTM)      */
} cand;

typedef struct wstate {
    int fixed;            /* 1: never changed, breaks the chain           */
    int brk_before;       /* leading punctuation: no context from before  */
    int brk_after;        /* trailing punctuation: no context after       */
    int pre, ncore;       /* code points of leading punctuation, of core  */
    int ncp;              /* code points of the whole word                */
    uint32_t cp[64];      /* the whole word, NFC                          */
    int cas;
    int nc;
    cand c[MAXC];
    double dp[MAXC];
    int bp[MAXC];
    int best;
} wstate;

static int is_letter(uint32_t c)
{
    return uc_is_alpha(c);
}

/* Classify word w into s: punctuation around a core of letters, its case,
   and s->c[0] the core as read (lower case); s->fixed when the word is
   never to be changed. */
static void analyse(const sh_vnlm *lm, const sh_word *w, wstate *s)
{
    memset(s, 0, sizeof *s);
    s->fixed = 1;
    size_t n = 0;
    uint32_t *u = u8_to_u32((const uint8_t *)w->text, strlen(w->text), NULL,
                            &n);
    if (!u)
        return;
    uint32_t *v = NULL;
    size_t m = 0;
    v = u32_normalize(UNINORM_NFC, u, n, NULL, &m);
    free(u);
    if (!v)
        return;
    if (m == 0 || m > SH_ARRAY_LEN(s->cp)) {
        free(v);
        return;
    }
    memcpy(s->cp, v, m * sizeof *v);
    free(v);
    s->ncp = (int)m;
    int a = 0, b = (int)m;
    while (a < b && !is_letter(s->cp[a]))
        a++;
    while (b > a && !is_letter(s->cp[b - 1]))
        b--;
    s->pre = a;
    s->ncore = b - a;
    s->brk_before = a > 0;
    s->brk_after = b < (int)m;
    for (int i = 0; i < (int)m; i++) {
        uint32_t c = s->cp[i];
        if (uc_is_digit(c) || c == '/' || c == '@' || c == '\\')
            return;                       /* codes, dates, addresses   */
    }
    if (s->ncore == 0 || s->ncore > 8) {
        s->brk_before = s->brk_after = 1;
        return;
    }
    int nup = 0;
    for (int i = a; i < b; i++) {
        if (!is_letter(s->cp[i]))
            return;                       /* QĐ-UBND, www.x.vn         */
        nup += uc_is_upper(s->cp[i]) != 0;
    }
    if (nup == 0)
        s->cas = CASE_LOWER;
    else if (nup == 1 && uc_is_upper(s->cp[a]))
        s->cas = CASE_TITLE;
    else if (nup == s->ncore)
        s->cas = CASE_UPPER;
    else
        return;                           /* TTr, iPhone               */
    uint32_t low[MAXCP];
    for (int i = 0; i < s->ncore; i++)
        low[i] = uc_tolower(s->cp[a + i]);
    char buf[64];
    if (cps_utf8(low, s->ncore, buf, sizeof buf))
        return;
    int key = form_key(lm, buf);
    if (key < 0 && (s->cas == CASE_UPPER || s->ncore == 1))
        return;                           /* UBND, QĐ, HĐND; a), l, D  */
    s->fixed = 0;
    s->nc = 1;
    memcpy(s->c[0].cp, low, sizeof low);
    s->c[0].key = key;
    s->c[0].src = SRC_READ;
    s->c[0].at = -1;
}

/* Add candidate cp (lower case, ncore code points) if valid and new; a
   duplicate keeps the better score. */
static void add_cand(const sh_vnlm *lm, wstate *s, const uint32_t *cp,
                     float cs, int src, int at, float altconf)
{
    for (int i = 0; i < s->nc; i++)
        if (!memcmp(s->c[i].cp, cp, (size_t)s->ncore * sizeof *cp)) {
            if (i > 0 && cs > s->c[i].cs) {
                s->c[i].cs = cs;
                s->c[i].src = src;
                s->c[i].at = at;
                s->c[i].altconf = altconf;
            }
            return;
        }
    if (s->nc == MAXC)
        return;
    char buf[64];
    if (cps_utf8(cp, s->ncore, buf, sizeof buf))
        return;
    int key = form_key(lm, buf);
    if (key < 0)
        return;
    cand *c = &s->c[s->nc++];
    memset(c, 0, sizeof *c);
    memcpy(c->cp, cp, (size_t)s->ncore * sizeof *cp);
    c->key = key;
    c->cs = cs;
    c->src = src;
    c->at = at;
    c->altconf = altconf;
}

static float lconf(double conf)
{
    if (conf < 1)
        conf = 1;
    if (conf > 100)
        conf = 100;
    return (float)log(conf / 100.0);
}

/* Per core letter: its confidence and the LSTM's other letters (lower
   case, single code points, conf >= alt_conf).  0 when the word's syms do
   not line up with its letters one to one (then only marks are tried). */
typedef struct slot {
    float conf;
    int nalt;
    uint32_t alt[SH_SYM_ALTS];
    float aconf[SH_SYM_ALTS];
} slot;

/* The single NFC code point that UTF-8 t is, or 0. */
static uint32_t one_cp(const char *t)
{
    uint8_t nb[SH_SYM_TEXT * 4];
    size_t nn = sizeof nb;
    uint8_t *r = u8_normalize(UNINORM_NFC, (const uint8_t *)t, strlen(t), nb,
                              &nn);
    if (!r)
        return 0;
    ucs4_t c = 0;
    int len = nn ? u8_mbtouc(&c, r, nn) : 0;
    if (r != nb)
        free(r);
    return len > 0 && (size_t)len == nn ? c : 0;
}

static int slots_of(const sh_word *w, const wstate *s, double alt_conf,
                    slot *sl)
{
    if (!w->syms || w->nsyms != s->ncp)
        return 0;
    for (int i = 0; i < s->ncp; i++)
        if (one_cp(w->syms[i].text) != s->cp[i])
            return 0;
    for (int i = 0; i < s->ncore; i++) {
        const sh_sym *y = &w->syms[s->pre + i];
        slot *t = &sl[i];
        t->conf = y->conf;
        t->nalt = 0;
        for (int k = 0; k < y->nalt; k++) {
            uint32_t c = one_cp(y->alt[k].text);
            if (!c || y->alt[k].conf < alt_conf)
                continue;
            c = uc_tolower(c);
            if (!is_letter(c) || c == uc_tolower(s->cp[s->pre + i]))
                continue;
            t->alt[t->nalt] = c;
            t->aconf[t->nalt++] = y->alt[k].conf;
        }
    }
    return 1;
}

/* Every valid candidate of word state s (s->c[0] is the word as read). */
static void candidates(const sh_vnlm *lm, const sh_vn_opts *o,
                       const sh_word *w, wstate *s)
{
    slot sl[MAXCP];
    int have = slots_of(w, s, o->alt_conf, sl);
    int n = s->ncore;
    float base = 0;
    for (int i = 0; i < n; i++) {
        if (!have)
            sl[i].conf = w->conf, sl[i].nalt = 0;
        base += lconf(sl[i].conf);
    }
    s->c[0].cs = base + (float)o->keep_bonus;
    /* LSTM alternatives: one or two letters changed */
    uint32_t cp[MAXCP];
    for (int i = 0; i < n; i++)
        for (int k = 0; k < sl[i].nalt; k++) {
            memcpy(cp, s->c[0].cp, sizeof cp);
            cp[i] = sl[i].alt[k];
            float cs = base - lconf(sl[i].conf) + lconf(sl[i].aconf[k]);
            add_cand(lm, s, cp, cs, SRC_LSTM, i, sl[i].aconf[k]);
            for (int j = i + 1; j < n; j++)
                for (int l = 0; l < sl[j].nalt; l++) {
                    uint32_t cp2[MAXCP];
                    memcpy(cp2, cp, sizeof cp2);
                    cp2[j] = sl[j].alt[l];
                    add_cand(lm, s, cp2, cs - lconf(sl[j].conf) +
                             lconf(sl[j].aconf[l]), SRC_LSTM, i,
                             sl[i].aconf[k]);
                }
        }
    /* more marks on one letter of the word as read */
    float mc = lconf(o->mark_conf);
    for (int i = 0; i < n; i++) {
        uint32_t c = s->c[0].cp[i];
        float cs = base - lconf(sl[i].conf) + mc;
        memcpy(cp, s->c[0].cp, sizeof cp);
        if (c == 'd') {
            cp[i] = CP_DD;
            add_cand(lm, s, cp, cs, SRC_MARK, i, 0);
            continue;
        }
        int t, r = vowel_of(c, &t);
        if (r < 0)
            continue;
        for (int r2 = 0; r2 < 12; r2++) {
            if (VFAM[r2] != VFAM[r] ||
                (VMARK[r2] != VMARK[r] && VMARK[r] != 0))
                continue;
            for (int t2 = 0; t2 < 6; t2++) {
                if ((t2 != t && t != 0) || (r2 == r && t2 == t))
                    continue;
                cp[i] = vowel_cp(r2, t2);
                add_cand(lm, s, cp, cs, SRC_MARK, i, 0);
            }
        }
    }
}

/* ln P(key | prev) (prev -1: no context); key -1: not a syllable. */
static double logp(const sh_vnlm *lm, const uint32_t *cache, double ctot,
                   int prev, int key)
{
    if (key < 0)
        return LOGP_OOV;
    double p1 = exp(-lm->uni[key] / lm->scale);
    if (ctot > 0)
        p1 = (1 - CACHE_W) * p1 + CACHE_W * cache[key] / ctot;
    double p = (1 - ALPHA) * p1;
    if (prev >= 0) {
        int q = pair_q(lm, prev, key);
        if (q >= 0)
            p += ALPHA * exp(-q / lm->scale);
    }
    return log(p);
}

/* Best sequence over the chain s[0..m); sets each s[i].best. */
static void viterbi(const sh_vnlm *lm, const sh_vn_opts *o,
                    const uint32_t *cache, double ctot, wstate **s, int m)
{
    for (int i = 0; i < m; i++) {
        wstate *x = s[i];
        for (int c = 0; c < x->nc; c++) {
            if (i == 0) {
                x->dp[c] = x->c[c].cs +
                           o->lambda * logp(lm, cache, ctot, -1, x->c[c].key);
                x->bp[c] = -1;
                continue;
            }
            wstate *y = s[i - 1];
            double best = -1e300;
            int arg = 0;
            for (int p = 0; p < y->nc; p++) {
                double v = y->dp[p] + o->lambda * logp(lm, cache, ctot,
                                                       y->c[p].key,
                                                       x->c[c].key);
                if (v > best)
                    best = v, arg = p;
            }
            x->dp[c] = x->c[c].cs + best;
            x->bp[c] = arg;
        }
    }
    int arg = 0;
    for (int c = 1; c < s[m - 1]->nc; c++)
        if (s[m - 1]->dp[c] > s[m - 1]->dp[arg])
            arg = c;
    for (int i = m - 1; i >= 0; i--) {
        s[i]->best = arg;
        arg = s[i]->bp[arg];
    }
}

void sh_vnfixes_free(sh_vnfix **fixes, int n)
{
    if (!fixes || !*fixes)
        return;
    for (int i = 0; i < n; i++) {
        free((*fixes)[i].orig);
        free((*fixes)[i].fixed);
        free((*fixes)[i].why);
    }
    free(*fixes);
    *fixes = NULL;
}

/* Candidate c of s as lower-case UTF-8 core. */
static void core_utf8(const wstate *s, const cand *c, char *out, size_t cap)
{
    if (cps_utf8(c->cp, s->ncore, out, cap))
        out[0] = 0;
}

/* The whole word: punctuation as read around candidate c, case applied. */
static int word_utf8(const wstate *s, const cand *c, char *out, size_t cap)
{
    uint32_t cp[64];
    memcpy(cp, s->cp, (size_t)s->ncp * sizeof *cp);
    for (int i = 0; i < s->ncore; i++) {
        uint32_t x = c->cp[i];
        if (s->cas == CASE_UPPER || (s->cas == CASE_TITLE && i == 0))
            x = uc_toupper(x);
        cp[s->pre + i] = x;
    }
    return cps_utf8(cp, s->ncp, out, cap);
}

/* Why word i changed: the pair that decided, and where the letter came
   from. */
int sh_vnfix_fill(sh_vnfix *f, const sh_words *ws, int i, const char *fixed,
                  char *why)
{
    const sh_word *w = &ws->w[i];
    f->word = i;
    f->x0 = w->x0;
    f->y0 = w->y0;
    f->x1 = w->x1;
    f->y1 = w->y1;
    f->orig = strdup(w->text);
    f->fixed = strdup(fixed);
    f->why = why;
    return f->orig && f->fixed && f->why ? SH_OK : SH_ENOMEM;
}

static char *why_of(const sh_vnlm *lm, wstate *const *st, int i, int m)
{
    const wstate *s = st[i];
    const cand *c = &s->c[s->best], *r = &s->c[0];
    char nw[64], ow[64], ctx[64] = "";
    core_utf8(s, c, nw, sizeof nw);
    core_utf8(s, r, ow, sizeof ow);
    sh_buf b = {0};
    int rc = 0;
    const wstate *p = i > 0 ? st[i - 1] : NULL;
    const wstate *n = i + 1 < m ? st[i + 1] : NULL;
    if (p && pair_q(lm, p->c[p->best].key, c->key) >= 0) {
        core_utf8(p, &p->c[p->best], ctx, sizeof ctx);
        rc = sh_buf_printf(&b, "pair '%s %s' over '%s %s'", ctx, nw, ctx, ow);
    } else if (n && pair_q(lm, c->key, n->c[n->best].key) >= 0) {
        core_utf8(n, &n->c[n->best], ctx, sizeof ctx);
        rc = sh_buf_printf(&b, "pair '%s %s' over '%s %s'", nw, ctx, ow, ctx);
    } else if (r->key < 0) {
        rc = sh_buf_printf(&b, "'%s' is not a syllable, '%s' is", ow, nw);
    } else {
        rc = sh_buf_printf(&b, "'%s' more frequent than '%s'", nw, ow);
    }
    if (!rc && c->at >= 0) {
        char l[8];
        if (!cps_utf8(&c->cp[c->at], 1, l, sizeof l))
            rc = c->src == SRC_LSTM ?
                 sh_buf_printf(&b, "; %s among the recognizer's choices "
                               "(%.0f)", l, c->altconf) :
                 sh_buf_printf(&b, "; %s: a mark the recognizer missed", l);
    }
    if (rc) {
        sh_buf_release(&b);
        return NULL;
    }
    return b.data;
}

int sh_vn_correct(const sh_vnlm *lm, sh_words *ws, sh_vnfix **fixes,
                  int *nfixes, sh_err *err)
{
    return sh_vn_correct_opts(lm, NULL, ws, fixes, nfixes, err);
}

int sh_vn_correct_opts(const sh_vnlm *lm, const sh_vn_opts *opts,
                       sh_words *ws, sh_vnfix **fixes, int *nfixes,
                       sh_err *err)
{
    if (fixes)
        *fixes = NULL;
    if (nfixes)
        *nfixes = 0;
    if (ws->n <= 0)
        return SH_OK;
    size_t nw = (size_t)ws->n;
    sh_vn_opts o = {1.5, 20, 4, 1.0};
    if (opts) {
        if (opts->lambda > 0)
            o.lambda = opts->lambda;
        if (opts->alt_conf > 0)
            o.alt_conf = opts->alt_conf;
        if (opts->mark_conf > 0)
            o.mark_conf = opts->mark_conf;
        if (opts->keep_bonus != 0)
            o.keep_bonus = opts->keep_bonus;
    }
    int rc = SH_OK, nfix = 0;
    wstate *st = malloc(nw * sizeof *st);
    wstate **chain = malloc(nw * sizeof *chain);
    uint32_t *cache = calloc(lm->nkey, sizeof *cache);
    char **newtext = calloc(nw, sizeof *newtext);
    sh_vnfix *fx = NULL;
    if (!st || !chain || !cache || !newtext) {
        rc = sh_errf(err, SH_ENOMEM, "correction: out of memory");
        goto out;
    }
    double ctot = 0;
    for (int i = 0; i < ws->n; i++) {
        analyse(lm, &ws->w[i], &st[i]);
        if (!st[i].fixed && st[i].c[0].key >= 0) {
            cache[st[i].c[0].key]++;
            ctot++;
        }
    }
    for (int i = 0; i < ws->n; i++)
        if (!st[i].fixed)
            candidates(lm, &o, &ws->w[i], &st[i]);
    /* chains: consecutive correctable words of one paragraph, broken by
       punctuation */
    for (int i = 0; i < ws->n;) {
        if (st[i].fixed) {
            i++;
            continue;
        }
        int m = 0;
        chain[m++] = &st[i];
        int j = i + 1;
        while (j < ws->n && !st[j].fixed && !st[j - 1].brk_after &&
               !st[j].brk_before && ws->w[j].par == ws->w[j - 1].par)
            chain[m++] = &st[j++];
        viterbi(lm, &o, cache, ctot, chain, m);
        /* a valid word is changed on context only, never on single-word
           frequency alone */
        for (int k = 0; k < m; k++) {
            wstate *s = chain[k];
            if (s->best == 0 || s->c[0].key < 0)
                continue;
            int key = s->c[s->best].key;
            int pk = k > 0 ? chain[k - 1]->c[chain[k - 1]->best].key : -1;
            int nk = k + 1 < m ? chain[k + 1]->c[chain[k + 1]->best].key : -1;
            if (!(pk >= 0 && pair_q(lm, pk, key) >= 0) &&
                !(nk >= 0 && pair_q(lm, key, nk) >= 0))
                s->best = 0;
        }
        for (int k = 0; k < m; k++) {
            wstate *s = chain[k];
            if (s->best == 0)
                continue;
            char buf[256];
            if (word_utf8(s, &s->c[s->best], buf, sizeof buf))
                continue;
            int wi = i + k;
            if (!strcmp(buf, ws->w[wi].text))
                continue;
            if (!(newtext[wi] = strdup(buf))) {
                rc = sh_errf(err, SH_ENOMEM, "correction: out of memory");
                goto out;
            }
            if (!fixes)
                continue;
            sh_vnfix *p = realloc(fx, (size_t)(nfix + 1) * sizeof *p);
            if (!p) {
                rc = sh_errf(err, SH_ENOMEM, "correction: out of memory");
                goto out;
            }
            fx = p;
            if (sh_vnfix_fill(&fx[nfix++], ws, wi, buf,
                              why_of(lm, chain, k, m))) {
                rc = sh_errf(err, SH_ENOMEM, "correction: out of memory");
                goto out;
            }
        }
        i = j;
    }
    /* commit: words, then the page text; on failure nothing changes */
    char **old = calloc(nw, sizeof *old);
    if (!old) {
        rc = sh_errf(err, SH_ENOMEM, "correction: out of memory");
        goto out;
    }
    int changed = 0;
    for (int i = 0; i < ws->n; i++)
        if (newtext[i]) {
            old[i] = ws->w[i].text;
            ws->w[i].text = newtext[i];
            newtext[i] = NULL;
            changed++;
        }
    if (changed && sh_words_text(ws)) {
        for (int i = 0; i < ws->n; i++)
            if (old[i]) {
                newtext[i] = ws->w[i].text;
                ws->w[i].text = old[i];
                old[i] = NULL;
            }
        rc = sh_errf(err, SH_ENOMEM, "correction: out of memory");
    }
    for (int i = 0; i < ws->n; i++)
        free(old[i]);
    free(old);
out:
    if (newtext)
        for (int i = 0; i < ws->n; i++)
            free(newtext[i]);
    free(newtext);
    free(cache);
    free(chain);
    free(st);
    if (rc) {
        sh_vnfixes_free(&fx, nfix);
        nfix = 0;
    }
    if (fixes)
        *fixes = fx;
    else
        sh_vnfixes_free(&fx, nfix);
    if (nfixes)
        *nfixes = nfix;
    return rc;
}
