/*
 * db.h — small SQLite statement helpers for every room that talks to the
 * catalog (pipeline, web, index itself), so that errors read the same
 * everywhere ("catalog: <sqlite message>", SH_ENOSPC on a full disk).
 */
#ifndef SH_DB_H
#define SH_DB_H

#include "../base/common.h"
#include <sqlite3.h>

/* The name that opens the SQLite file path (in folder dir) read-only,
   written into uri[n]: "file:PATH?mode=ro" (%, ? and # escaped), with
   &immutable=1 when dir is on a read-only file system, or cannot be
   written and path has no -shm (a WAL database on a read-only copy can
   neither read nor make its -shm).  Open it with SQLITE_OPEN_URI. */
const char *sh_db_ro_uri(const char *dir, const char *path, char *uri,
                         size_t n);

/* Prepare sql on db.  *st is NULL on error.  Returns SH_OK or SH_EINDEX
   (err: "catalog: <why>"). */
int sh_db_prep(sqlite3 *db, const char *sql, sqlite3_stmt **st, sh_err *err);
/* Step st once (a statement that returns no row, or whose first row is
   not wanted) and finalize it.  Returns SH_OK, SH_ENOSPC (disk full) or
   SH_EINDEX. */
int sh_db_done(sqlite3 *db, sqlite3_stmt *st, sh_err *err);
/* Prepare sql, bind up to n text parameters (NULL binds NULL), run it to
   completion and finalize.  Returns as sh_db_done. */
int sh_db_run(sqlite3 *db, const char *sql, int n, const char *const *args,
              sh_err *err);

/* The first column of the first row of sql, with arg (NULL binds NULL)
   as its one parameter, as an int; 0 when there is no row or the
   statement fails (for counts and flags where "none" and "cannot tell"
   are read alike). */
int sh_db_int(sqlite3 *db, const char *sql, const char *arg);

/* Bind s (copied) at i; NULL binds NULL. */
void sh_db_bind_text(sqlite3_stmt *st, int i, const char *s);
/* Bind v at i; a negative v (unknown) binds NULL. */
void sh_db_bind_int_or_null(sqlite3_stmt *st, int i, int v);
void sh_db_bind_double_or_null(sqlite3_stmt *st, int i, double v);

/* Column i as a malloc'd string; NULL for SQL NULL (and, with
   empty_is_null, for ""), or out of memory (then *oom = 1 when oom is not
   NULL). */
char *sh_db_col_dup(sqlite3_stmt *st, int i, int empty_is_null, int *oom);
/* Column i as int / double; -1 for SQL NULL. */
int sh_db_col_int_or(sqlite3_stmt *st, int i, int null_value);
double sh_db_col_double_or(sqlite3_stmt *st, int i, double null_value);

#endif
