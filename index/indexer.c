/*
 * indexer.c — index maintenance: pages into and out of page_fts, and its
 * format.
 *
 * Functions:
 *   sh_index_add, sh_index_remove   one page into / out of page_fts
 *   sh_indexer_*                    many pages, one prepared statement
 *   sh_index_format, sh_index_upgrade   which index format; 1 → 2
 *   sh_index_segments, sh_index_optimize_step   its b-trees merged into one
 *
 * Method.  One INSERT into the FTS5 table per page (the "sohoa"
 * tokenizer, tokenizer.c, gives the words); a removal is FTS5's 'delete'
 * command with the text that was indexed.  Format 1 (tokenize='sohoa') is
 * rebuilt as format 2 from the page texts, in one transaction.
 */
#include "index_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int db_fail(sqlite3 *db, sh_err *err, const char *fmt, long long id)
{
    int full = sqlite3_errcode(db) == SQLITE_FULL;
    char what[256];
    snprintf(what, sizeof what, fmt, id);
    return sh_errf(err, full ? SH_ENOSPC : SH_EINDEX, "catalog: %s: %s",
                   what, sqlite3_errmsg(db));
}

static const char sql_add[] =
    "INSERT INTO page_fts(rowid, text) VALUES(?1, ?2)";

static int page_fts_run(sqlite3 *db, sqlite3_stmt *st, int64_t page_id,
                        const char *text, const char *what, sh_err *err)
{
    sqlite3_bind_int64(st, 1, page_id);
    sqlite3_bind_text(st, 2, text ? text : "", -1, SQLITE_STATIC);
    int rc = sqlite3_step(st) == SQLITE_DONE
                 ? SH_OK : db_fail(db, err, what, (long long)page_id);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc;
}

static int page_fts_write(sqlite3 *db, const char *sql, int64_t page_id,
                          const char *text, const char *what, sh_err *err)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return db_fail(db, err, what, (long long)page_id);
    int rc = page_fts_run(db, st, page_id, text, what, err);
    sqlite3_finalize(st);
    return rc;
}

int sh_index_add(sqlite3 *db, int64_t page_id, const char *text, sh_err *err)
{
    return page_fts_write(db, sql_add, page_id, text,
                          "indexing page id %lld", err);
}

int sh_index_remove(sqlite3 *db, int64_t page_id, const char *text,
                    sh_err *err)
{
    return page_fts_write(db,
                          "INSERT INTO page_fts(page_fts, rowid, text) "
                          "VALUES('delete', ?1, ?2)",
                          page_id, text, "unindexing page id %lld", err);
}

struct sh_indexer {
    sqlite3 *db;
    sqlite3_stmt *add;
};

int sh_indexer_open(sqlite3 *db, sh_indexer **out, sh_err *err)
{
    *out = NULL;
    sh_indexer *ix = calloc(1, sizeof *ix);
    if (!ix)
        return sh_errf(err, SH_ENOMEM, "catalog: out of memory");
    ix->db = db;
    if (sqlite3_prepare_v3(db, sql_add, -1, SQLITE_PREPARE_PERSISTENT,
                           &ix->add, NULL) != SQLITE_OK) {
        int full = sqlite3_errcode(db) == SQLITE_FULL;
        int rc = sh_errf(err, full ? SH_ENOSPC : SH_EINDEX,
                         "catalog: preparing to index pages: %s",
                         sqlite3_errmsg(db));
        free(ix);
        return rc;
    }
    *out = ix;
    return SH_OK;
}

int sh_indexer_add(sh_indexer *ix, int64_t page_id, const char *text,
                   sh_err *err)
{
    return page_fts_run(ix->db, ix->add, page_id, text,
                        "indexing page id %lld", err);
}

void sh_indexer_close(sh_indexer **ix)
{
    if (ix && *ix) {
        sqlite3_finalize((*ix)->add);
        free(*ix);
        *ix = NULL;
    }
}

int sh_index_format(sqlite3 *db)
{
    sqlite3_stmt *st = NULL;
    int format = 0;
    if (sqlite3_prepare_v2(db,
                           "SELECT sql FROM sqlite_schema WHERE type = "
                           "'table' AND name = 'page_fts'",
                           -1, &st, NULL) != SQLITE_OK)
        return -1;
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        const char *sql = (const char *)sqlite3_column_text(st, 0);
        format = sql && strstr(sql, "tokenize='sohoa 2'") ? 2
                 : sql && strstr(sql, "tokenize='sohoa'") ? 1
                                                           : -1;
    } else if (step != SQLITE_DONE) {
        format = -1;
    }
    sqlite3_finalize(st);
    return format;
}

int sh_index_upgrade(sqlite3 *db, sh_err *err)
{
    int format = sh_index_format(db);
    if (format < 0)
        return sh_errf(err, SH_EINDEX,
                       "catalog: the full-text index (page_fts) is in no "
                       "format this sohoa knows (%s)",
                       sqlite3_errmsg(db));
    if (format != 1)
        return SH_OK;
    int txn = sqlite3_get_autocommit(db);
    int rc = txn ? sh_db_exec(db, "BEGIN IMMEDIATE", err) : SH_OK;
    if (!rc)
        rc = sh_db_exec(db,
                        "DROP TABLE page_fts;\n" SH_INDEX_FTS_SQL
                        "INSERT INTO page_fts(rowid, text) SELECT id, "
                        "coalesce(text, '') FROM page WHERE pageno IS NOT "
                        "NULL;",
                        err);
    if (txn && !rc)
        rc = sh_db_exec(db, "COMMIT", err);
    if (txn && rc)
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

int sh_index_segments(sqlite3 *db, int *n, sh_err *err)
{
    sqlite3_stmt *st = NULL;
    *n = 0;
    int rc = sqlite3_prepare_v2(db,
                                "SELECT count(DISTINCT segid) FROM "
                                "page_fts_idx",
                                -1, &st, NULL) == SQLITE_OK &&
                     sqlite3_step(st) == SQLITE_ROW
                 ? SH_OK
                 : sh_errf(err, SH_EINDEX,
                           "catalog: counting the index's segments: %s",
                           sqlite3_errmsg(db));
    if (!rc)
        *n = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return rc;
}

/* FTS5's 'merge' command with a negative page count merges segments
   whatever their level, as 'optimize' does but a bounded step at a time
   (the input segments are trimmed as their pages are copied, so the
   catalog grows by little more than a step); it changes no row when
   nothing is left to merge. */
int sh_index_optimize_step(sqlite3 *db, int pages, int *worked, sh_err *err)
{
    char sql[96];
    snprintf(sql, sizeof sql,
             "INSERT INTO page_fts(page_fts, rank) VALUES('merge', %d)",
             -(pages > 0 ? pages : 1));
    int64_t before = sqlite3_total_changes64(db);
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return sh_errf(err,
                       sqlite3_errcode(db) == SQLITE_FULL ? SH_ENOSPC
                                                          : SH_EINDEX,
                       "catalog: merging the index: %s", sqlite3_errmsg(db));
    *worked = sqlite3_total_changes64(db) - before > 1;
    return SH_OK;
}
