/*
 * db.c — SQLite statement helpers (see db.h).
 */
#include "db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

int sh_db_prep(sqlite3 *db, const char *sql, sqlite3_stmt **st, sh_err *err)
{
    if (sqlite3_prepare_v2(db, sql, -1, st, NULL) != SQLITE_OK) {
        *st = NULL;
        return sh_errf(err, SH_EINDEX, "catalog: %s", sqlite3_errmsg(db));
    }
    return SH_OK;
}

int sh_db_done(sqlite3 *db, sqlite3_stmt *st, sh_err *err)
{
    int r = sqlite3_step(st);
    int rc = SH_OK;
    if (r != SQLITE_DONE && r != SQLITE_ROW)
        rc = sh_errf(err, r == SQLITE_FULL ? SH_ENOSPC : SH_EINDEX,
                     "catalog: %s", sqlite3_errmsg(db));
    sqlite3_finalize(st);
    return rc;
}

int sh_db_run(sqlite3 *db, const char *sql, int n, const char *const *args,
              sh_err *err)
{
    sqlite3_stmt *st;
    int rc = sh_db_prep(db, sql, &st, err);
    if (rc)
        return rc;
    for (int i = 0; i < n; i++)
        sh_db_bind_text(st, i + 1, args[i]);
    return sh_db_done(db, st, err);
}

int sh_db_int(sqlite3 *db, const char *sql, const char *arg)
{
    sqlite3_stmt *st;
    int n = 0;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return 0;
    sh_db_bind_text(st, 1, arg);
    if (sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return n;
}

void sh_db_bind_text(sqlite3_stmt *st, int i, const char *s)
{
    if (s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, i);
}

void sh_db_bind_int_or_null(sqlite3_stmt *st, int i, int v)
{
    if (v >= 0)
        sqlite3_bind_int(st, i, v);
    else
        sqlite3_bind_null(st, i);
}

void sh_db_bind_double_or_null(sqlite3_stmt *st, int i, double v)
{
    if (v >= 0)
        sqlite3_bind_double(st, i, v);
    else
        sqlite3_bind_null(st, i);
}

char *sh_db_col_dup(sqlite3_stmt *st, int i, int empty_is_null, int *oom)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    if (!t || (empty_is_null && !*t))
        return NULL;
    char *s = strdup((const char *)t);
    if (!s && oom)
        *oom = 1;
    return s;
}

int sh_db_col_int_or(sqlite3_stmt *st, int i, int null_value)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL
               ? null_value : sqlite3_column_int(st, i);
}

double sh_db_col_double_or(sqlite3_stmt *st, int i, double null_value)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL
               ? null_value : sqlite3_column_double(st, i);
}

const char *sh_db_ro_uri(const char *dir, const char *path, char *uri,
                         size_t n)
{
    struct statvfs vfs;
    char shm[4200];
    snprintf(shm, sizeof shm, "%s-shm", path);
    int immutable = (statvfs(dir, &vfs) == 0 && (vfs.f_flag & ST_RDONLY)) ||
                    (access(dir, W_OK) != 0 && access(shm, F_OK) != 0);
    size_t k = (size_t)snprintf(uri, n, "file:");
    for (const char *c = path; *c && k + 4 < n; c++) {
        if (*c == '%' || *c == '?' || *c == '#')
            k += (size_t)snprintf(uri + k, n - k, "%%%02X", (unsigned char)*c);
        else
            uri[k++] = *c;
    }
    if (k < n)
        snprintf(uri + k, n - k, "?mode=ro%s", immutable ? "&immutable=1" : "");
    return uri;
}
