/*
 * tokenizer.c — the "sohoa" FTS5 tokenizer (Vietnamese forms from
 * base/vntext.c).
 *
 * Functions:
 *   sh_index_register   register the "sohoa" tokenizer (and search.c's
 *                       functions) on a connection
 *   sh__qtok_*          the same tokenizer, driven directly (query parsing,
 *                       snippets)
 *   (static) tok_* (the tokenizer)
 *
 * The tokenizer wraps SQLite's unicode61 (remove_diacritics 0), which
 * splits and lower-cases; each token it yields is normalised (sh_vn_forms) and
 * emitted, and when indexing a document the folded form, if different, is
 * emitted too at the same position (FTS5_TOKEN_COLOCATED).  A query token
 * is emitted only as normalised: "đất" finds only đất, "dat" finds dat and
 * every accented form of it.  For auxiliary functions (snippet,
 * highlight), which only map positions to byte offsets, unicode61's tokens
 * go out as they are.
 *
 * Index formats.  The table declaration names the format:
 * tokenize='sohoa 2' is the above.  tokenize='sohoa' (format 1, catalogs
 * made before) also emitted, at each position after the first, the pair
 * "previous this", folded and (when different) exact, as colocated
 * tokens, so that phrases of common syllables were read from rare
 * doclists; they tripled the cost of indexing a page.  Format 1 still
 * emits them, so a page of such a catalog is unindexed exactly; search.c
 * no longer reads them (see sh_index_upgrade).
 */
#include "index_int.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* ---- the "sohoa" tokenizer ---- */

/* Index formats (the tokenizer's argument in the table declaration):
   1 ("sohoa", the first catalogs) also indexes the pairs "previous this"
   of a document; 2 ("sohoa 2") does not. */
typedef struct sohoa_tok {
    fts5_tokenizer inner_api;   /* unicode61's methods */
    Fts5Tokenizer *inner;       /* unicode61 remove_diacritics 0 */
    int pairs;                  /* format 1 */
} sohoa_tok;

typedef int (*token_fn)(void *, int, const char *, int, int, int);

typedef struct tok_call {
    void *ctx;
    token_fn emit;
    int document;               /* also emit folded forms (and pairs) */
    int pairs;                  /* format 1: pairs                    */
    sh_buf norm, fold;          /* this token's forms */
    sh_buf pnorm, pfold;        /* the previous token's (pairs) */
    int have_prev;
    sh_buf pair;
} tok_call;

static int tok_create(void *api_ctx, const char **argv, int argc,
                      Fts5Tokenizer **out)
{
    static const char *inner_args[] = {"remove_diacritics", "0"};
    fts5_api *api = api_ctx;
    *out = NULL;
    int pairs = 1;
    if (argc == 1 && strcmp(argv[0], "2") == 0)
        pairs = 0;
    else if (argc > 0)
        return SQLITE_ERROR;    /* "sohoa" takes no other option */
    sohoa_tok *t = sqlite3_malloc(sizeof *t);
    if (!t)
        return SQLITE_NOMEM;
    memset(t, 0, sizeof *t);
    t->pairs = pairs;
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

/* Format 1, after this token's own forms (normal nm, folded f): the
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
        /* unicode61 lower-cased it; nothing to normalise or fold */
        rc = c->emit(c->ctx, tflags, tok, n, start, end);
        if (rc == SQLITE_OK && c->pairs && n > 0)
            rc = emit_pairs(c, tflags, tok, (size_t)n, tok, (size_t)n, start,
                            end);
        return rc;
    }
    c->norm.len = 0;
    c->fold.len = 0;
    sh_buf *fold = c->document ? &c->fold : NULL;
    if (sh_vn_forms(tok, (size_t)n, &c->norm, fold))
        return SQLITE_NOMEM;
    if (c->norm.len > INT_MAX || c->fold.len > INT_MAX)
        return SQLITE_TOOBIG;
    rc = c->emit(c->ctx, tflags, c->norm.data, (int)c->norm.len, start, end);
    if (rc == SQLITE_OK && c->document && c->fold.len > 0 &&
        !same_bytes(c->fold.data, c->fold.len, c->norm.data, c->norm.len))
        rc = c->emit(c->ctx, tflags | FTS5_TOKEN_COLOCATED, c->fold.data,
                     (int)c->fold.len, start, end);
    if (rc == SQLITE_OK && c->pairs && c->fold.len > 0)
        rc = emit_pairs(c, tflags, c->norm.data, c->norm.len, c->fold.data,
                        c->fold.len, start, end);
    return rc;
}

static int tok_tokenize(Fts5Tokenizer *p, void *ctx, int flags,
                        const char *text, int n, token_fn emit)
{
    sohoa_tok *t = (sohoa_tok *)p;
    /* Auxiliary functions (snippet, highlight) only map positions to byte
       offsets, which normalising does not change: unicode61 alone. */
    if (flags & FTS5_TOKENIZE_AUX)
        return t->inner_api.xTokenize(t->inner, ctx, flags, text, n, emit);
    tok_call c = {.ctx = ctx, .emit = emit};
    c.document = (flags & FTS5_TOKENIZE_DOCUMENT) != 0;
    c.pairs = c.document && t->pairs;
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
