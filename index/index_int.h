/*
 * index_int.h — internals shared by fold.c (tokenizer) and search.c
 * (search, ranking function).  Not for use outside index/.
 */
#ifndef SH_INDEX_INT_H
#define SH_INDEX_INT_H

#include "index.h"
#include "../base/vntext.h"

/* The FTS5 API of db, or NULL when SQLite was built without FTS5. */
fts5_api *sh__fts5_api(sqlite3 *db);

/* Register search.c's SQL functions on db: the FTS5 auxiliary function
   sohoa_rank() and the scalar functions sohoa_in(), sohoa_year(). */
int sh__search_register(sqlite3 *db, fts5_api *api, sh_err *err);

/* A "sohoa" tokenizer instance used outside FTS5 (query parsing,
   snippets). */
typedef struct sh__qtok sh__qtok;
int sh__qtok_open(sqlite3 *db, sh__qtok **out, sh_err *err);
/* Tokenize n bytes: raw = 0 as FTS5 does for a query (each normalised,
   lower-case token), raw = 1 as unicode61 alone (lower case, not
   normalised: for locating words in a text).  each(ctx, token, len,
   start, end) gets every token (not NUL-terminated) and its byte range
   in s; a non-zero return from each stops and is returned. */
int sh__qtok_run(sh__qtok *t, const char *s, int n, int raw,
                 int (*each)(void *ctx, const char *tok, int len, int start,
                             int end),
                 void *ctx);
void sh__qtok_close(sh__qtok **t);

#endif
