/*
 * fold.c — Vietnamese text normalisation and the "sohoa" FTS5 tokenizer.
 *
 * Functions:
 *   sh_text_norm        NFC, eth read as Đ, one tone placement (hoà → hòa)
 *   sh_text_fold        sh_text_norm + lower case + marks removed + đ → d
 *   sh_index_register   register the "sohoa" tokenizer (and search.c's
 *                       functions) on a connection
 *   sh__qtok_*          the same tokenizer, driven directly (query parsing,
 *                       snippets)
 *   sh__fold_token      fold one token, fast (a table for Latin letters)
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
 * The tokenizer wraps SQLite's unicode61 (remove_diacritics 0), which
 * splits and lower-cases; each token it yields is normalised as above and
 * emitted, and when indexing a document the folded form, if different, is
 * emitted too at the same position (FTS5_TOKEN_COLOCATED).  A query token
 * is emitted only as normalised: "đất" finds only đất, "dat" finds dat and
 * every accented form of it.  Pure-ASCII tokens take a fast path: unicode61
 * already lower-cased them and they have nothing to fold.  For auxiliary
 * functions (snippet, highlight), which only map positions to byte
 * offsets, unicode61's tokens go out as they are.
 *
 * Pairs.  A Vietnamese word is several syllables, each of them common
 * ("nguyễn", "văn", "an"), so most searches are phrases that are rare
 * while their syllables are everywhere, and FTS5 checks a phrase by
 * reading the positions of every page holding all its syllables.  So a
 * document also gets, at each position after the first, the folded pair
 * "previous this" as one more colocated token ("nguyen van" at văn, "van
 * an" at an) and, when it differs, the exact pair ("nguyễn văn"): the
 * phrase a b c is then the pair phrase "a b" "b c", read from doclists as
 * rare as the phrase, with or without its diacritics.  A pair has a space
 * in it, which no unicode61 token has, so pairs never collide with words.  To name them in
 * a query, search.c writes a string that starts with SH__RAW (a control
 * character, never in a token, never in user text that reaches FTS5):
 * such a query string is split on SH__RAW and its pieces are the tokens.
 */
#include "index_int.h"

#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unicase.h>
#include <unictype.h>
#include <uninorm.h>
#include <unistr.h>

/* Code points kept on the stack before falling back to malloc. */
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

/* ---- fast folding of one token ---- */

/* fold_table[c - FT_LO] = the folded letter of code point c (for
   U+00C0–U+024F and U+1E00–U+1EFF when it is one ASCII letter), else 0.
   Built once from text_forms itself, so it cannot disagree with it. */
#define FT_LO 0xC0
#define FT_MID 0x250
#define FT_HI 0x1E00
#define FT_END 0x1F00
static unsigned char fold_table[(FT_MID - FT_LO) + (FT_END - FT_HI)];
static pthread_once_t fold_once = PTHREAD_ONCE_INIT;

static void fold_table_init(void)
{
    for (uint32_t c = FT_LO; c < FT_END; c++) {
        if (c == FT_MID)
            c = FT_HI;
        uint8_t u[4];
        int k = u8_uctomb(u, c, 4);
        sh_buf f = {0};
        unsigned char v = 0;
        if (k > 0 && text_forms((const char *)u, (size_t)k, NULL, &f) == 0 &&
            f.len == 1 && (unsigned char)f.data[0] < 0x80)
            v = (unsigned char)f.data[0];
        sh_buf_release(&f);
        fold_table[c < FT_MID ? c - FT_LO : (FT_MID - FT_LO) + c - FT_HI] = v;
    }
}

static unsigned char fold_fast(ucs4_t c)
{
    if (c >= FT_LO && c < FT_MID)
        return fold_table[c - FT_LO];
    if (c >= FT_HI && c < FT_END)
        return fold_table[(FT_MID - FT_LO) + c - FT_HI];
    return 0;
}

int sh__fold_token(const char *tok, int n, char *out, int cap)
{
    pthread_once(&fold_once, fold_table_init);
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

/* ---- the "sohoa" tokenizer ---- */

typedef struct sohoa_tok {
    fts5_tokenizer inner_api;   /* unicode61's methods */
    Fts5Tokenizer *inner;       /* unicode61 remove_diacritics 0 */
} sohoa_tok;

typedef int (*token_fn)(void *, int, const char *, int, int, int);

typedef struct tok_call {
    void *ctx;
    token_fn emit;
    int document;               /* also emit folded forms and pairs */
    sh_buf norm, fold;          /* this token's forms */
    sh_buf pnorm, pfold;        /* the previous token's (document mode) */
    int have_prev;
    sh_buf pair;
} tok_call;

static int tok_create(void *api_ctx, const char **argv, int argc,
                      Fts5Tokenizer **out)
{
    static const char *inner_args[] = {"remove_diacritics", "0"};
    fts5_api *api = api_ctx;
    *out = NULL;
    if (argc > 0)
        return SQLITE_ERROR;    /* "sohoa" takes no options */
    sohoa_tok *t = sqlite3_malloc(sizeof *t);
    if (!t)
        return SQLITE_NOMEM;
    memset(t, 0, sizeof *t);
    void *uctx = NULL;
    int rc = api->xFindTokenizer(api, "unicode61", &uctx, &t->inner_api);
    if (rc == SQLITE_OK)
        rc = t->inner_api.xCreate(uctx, inner_args, 2, &t->inner);
    if (rc != SQLITE_OK) {
        sqlite3_free(t);
        return rc;
    }
    *out = (Fts5Tokenizer *)t;
    return SQLITE_OK;
}

static void tok_delete(Fts5Tokenizer *p)
{
    sohoa_tok *t = (sohoa_tok *)p;
    if (!t)
        return;
    if (t->inner)
        t->inner_api.xDelete(t->inner);
    sqlite3_free(t);
}

static int same_bytes(const char *a, size_t na, const char *b, size_t nb)
{
    return na == nb && memcmp(a, b, na) == 0;
}

static int emit_pair(tok_call *c, int tflags, const char *a, size_t na,
                     const char *b, size_t nb, int start, int end)
{
    sh_buf *p = &c->pair;
    p->len = 0;
    if (sh_buf_add(p, a, na) || sh_buf_add(p, " ", 1) || sh_buf_add(p, b, nb))
        return SQLITE_NOMEM;
    if (p->len > INT_MAX)
        return SQLITE_TOOBIG;
    return c->emit(c->ctx, tflags | FTS5_TOKEN_COLOCATED, p->data,
                   (int)p->len, start, end);
}

/* Document mode, after this token's own forms (normal nm, folded f): the
   folded pair "previous this" and, when it differs, the exact pair, at
   this position; then this token becomes the previous one. */
static int emit_pairs(tok_call *c, int tflags, const char *nm, size_t nn,
                      const char *f, size_t fn, int start, int end)
{
    int rc = SQLITE_OK;
    if (c->have_prev) {
        rc = emit_pair(c, tflags, c->pfold.data, c->pfold.len, f, fn, start,
                       end);
        if (rc == SQLITE_OK &&
            (!same_bytes(c->pnorm.data, c->pnorm.len, c->pfold.data,
                         c->pfold.len) ||
             !same_bytes(nm, nn, f, fn)))
            rc = emit_pair(c, tflags, c->pnorm.data, c->pnorm.len, nm, nn,
                           start, end);
    }
    c->pnorm.len = c->pfold.len = 0;
    if (rc == SQLITE_OK &&
        (sh_buf_add(&c->pnorm, nm, nn) || sh_buf_add(&c->pfold, f, fn)))
        rc = SQLITE_NOMEM;
    c->have_prev = 1;
    return rc;
}

static int tok_each(void *p, int tflags, const char *tok, int n, int start,
                    int end)
{
    tok_call *c = p;
    int ascii = 1, rc;
    for (int i = 0; i < n; i++)
        if ((unsigned char)tok[i] >= 0x80) {
            ascii = 0;
            break;
        }
    if (ascii || n <= 0) {
        rc = c->emit(c->ctx, tflags, tok, n, start, end);
        if (rc == SQLITE_OK && c->document && n > 0)
            rc = emit_pairs(c, tflags, tok, (size_t)n, tok, (size_t)n, start,
                            end);
        return rc;
    }
    c->norm.len = 0;
    c->fold.len = 0;
    if (text_forms(tok, (size_t)n, &c->norm, c->document ? &c->fold : NULL))
        return SQLITE_NOMEM;
    if (c->norm.len > INT_MAX || c->fold.len > INT_MAX)
        return SQLITE_TOOBIG;
    rc = c->emit(c->ctx, tflags, c->norm.data, (int)c->norm.len, start, end);
    if (rc == SQLITE_OK && c->document && c->fold.len > 0 &&
        !same_bytes(c->fold.data, c->fold.len, c->norm.data, c->norm.len))
        rc = c->emit(c->ctx, tflags | FTS5_TOKEN_COLOCATED, c->fold.data,
                     (int)c->fold.len, start, end);
    if (rc == SQLITE_OK && c->document && c->fold.len > 0)
        rc = emit_pairs(c, tflags, c->norm.data, c->norm.len, c->fold.data,
                        c->fold.len, start, end);
    return rc;
}

/* Query text SH__RAW "tok" SH__RAW "tok"...: the tokens as they are. */
static int raw_tokens(void *ctx, const char *text, int n, token_fn emit)
{
    int i = 1;
    while (i < n) {
        int j = i;
        while (j < n && text[j] != SH__RAW)
            j++;
        if (j > i) {
            int rc = emit(ctx, 0, text + i, j - i, i, j);
            if (rc != SQLITE_OK)
                return rc;
        }
        i = j + 1;
    }
    return SQLITE_OK;
}

static int tok_tokenize(Fts5Tokenizer *p, void *ctx, int flags,
                        const char *text, int n, token_fn emit)
{
    sohoa_tok *t = (sohoa_tok *)p;
    if ((flags & FTS5_TOKENIZE_QUERY) && n > 0 && text[0] == SH__RAW)
        return raw_tokens(ctx, text, n, emit);
    /* Auxiliary functions (snippet, highlight) only map positions to byte
       offsets, which normalising does not change: unicode61 alone. */
    if (flags & FTS5_TOKENIZE_AUX)
        return t->inner_api.xTokenize(t->inner, ctx, flags, text, n, emit);
    tok_call c = {.ctx = ctx,
                  .emit = emit,
                  .document = (flags & FTS5_TOKENIZE_DOCUMENT) != 0};
    int rc = t->inner_api.xTokenize(t->inner, &c, flags, text, n, tok_each);
    sh_buf_release(&c.norm);
    sh_buf_release(&c.fold);
    sh_buf_release(&c.pnorm);
    sh_buf_release(&c.pfold);
    sh_buf_release(&c.pair);
    return rc;
}

static fts5_tokenizer sohoa_methods = {tok_create, tok_delete, tok_tokenize};

fts5_api *sh__fts5_api(sqlite3 *db)
{
    fts5_api *api = NULL;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "SELECT fts5(?1)", -1, &st, NULL) !=
        SQLITE_OK)
        return NULL;
    sqlite3_bind_pointer(st, 1, (void *)&api, "fts5_api_ptr", NULL);
    sqlite3_step(st);
    sqlite3_finalize(st);
    return api && api->iVersion >= 2 ? api : NULL;
}

int sh_index_register(sqlite3 *db, sh_err *err)
{
    fts5_api *api = sh__fts5_api(db);
    if (!api)
        return sh_errf(err, SH_EINDEX,
                       "catalog: this SQLite has no FTS5 (fts5_api): %s",
                       sqlite3_errmsg(db));
    int rc = api->xCreateTokenizer(api, "sohoa", api, &sohoa_methods, NULL);
    if (rc != SQLITE_OK)
        return sh_errf(err, SH_EINDEX,
                       "catalog: cannot register the sohoa tokenizer: %s",
                       sqlite3_errstr(rc));
    return sh__search_register(db, api, err);
}

/* ---- the tokenizer outside FTS5 ---- */

struct sh__qtok {
    Fts5Tokenizer *tok;
};

typedef struct qtok_call {
    int (*each)(void *, const char *, int, int, int);
    void *ctx;
} qtok_call;

static int qtok_each(void *p, int tflags, const char *tok, int n, int start,
                     int end)
{
    qtok_call *c = p;
    if (tflags & FTS5_TOKEN_COLOCATED)
        return SQLITE_OK;
    return c->each(c->ctx, tok, n, start, end);
}

int sh__qtok_open(sqlite3 *db, sh__qtok **out, sh_err *err)
{
    *out = NULL;
    fts5_api *api = sh__fts5_api(db);
    if (!api)
        return sh_errf(err, SH_EINDEX, "search: SQLite has no FTS5");
    sh__qtok *t = calloc(1, sizeof *t);
    if (!t)
        return sh_errf(err, SH_ENOMEM, "search: out of memory");
    int rc = tok_create(api, NULL, 0, &t->tok);
    if (rc != SQLITE_OK) {
        free(t);
        return sh_errf(err, SH_EINDEX,
                       "search: cannot create the sohoa tokenizer: %s",
                       sqlite3_errstr(rc));
    }
    *out = t;
    return SH_OK;
}

int sh__qtok_run(sh__qtok *t, const char *s, int n, int raw,
                 int (*each)(void *ctx, const char *tok, int len, int start,
                             int end),
                 void *ctx)
{
    qtok_call c = {each, ctx};
    return tok_tokenize(t->tok, &c,
                        raw ? FTS5_TOKENIZE_AUX : FTS5_TOKENIZE_QUERY, s, n,
                        qtok_each);
}

void sh__qtok_close(sh__qtok **t)
{
    if (t && *t) {
        tok_delete((*t)->tok);
        free(*t);
        *t = NULL;
    }
}
