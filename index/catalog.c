/*
 * catalog.c — open the warehouse catalog and create its schema.
 *
 * One SQLite database per warehouse (WAL: readers are never blocked by the
 * run that writes).  The schema is the contract between the pipeline (which
 * writes dossiers, sources, pages and runs) and search/status/report.
 */
#include "db.h"
#include "index.h"
#include "review.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);\n"
    "CREATE TABLE IF NOT EXISTS dossier(\n"
    "  id TEXT PRIMARY KEY, batch TEXT, agency TEXT,\n"
    "  state TEXT NOT NULL DEFAULT 'pending',\n"   /* pending|done|failed */
    "  pdf TEXT, pdf_sha256 TEXT, pdf_bytes INTEGER, input_bytes INTEGER,\n"
    "  pages INTEGER, sheets INTEGER, blanks INTEGER DEFAULT 0,\n"
    "  inputs_sig TEXT, error TEXT, updated TEXT);\n"
    "CREATE TABLE IF NOT EXISTS source(\n"
    "  dossier TEXT NOT NULL, seq INTEGER NOT NULL, name TEXT NOT NULL,\n"
    "  path TEXT, size INTEGER, mtime INTEGER, sha256 TEXT, format TEXT,\n"
    "  frames INTEGER, state TEXT, error TEXT,\n"
    "  PRIMARY KEY(dossier, name));\n"
    "CREATE TABLE IF NOT EXISTS page(\n"
    "  id INTEGER PRIMARY KEY, dossier TEXT NOT NULL, pageno INTEGER,\n"
    "  source_name TEXT NOT NULL, source_sha256 TEXT NOT NULL,\n"
    "  frame INTEGER NOT NULL, part INTEGER NOT NULL DEFAULT 0,\n"
    "  state TEXT NOT NULL DEFAULT 'pending',\n" /* pending|ocr|failed|timeout|quarantined */
    "  kind TEXT DEFAULT 'page',\n"              /* page|blank */
    "  quarter INTEGER, tag_rot INTEGER, skew REAL, skew_conf REAL,\n"
    "  osd_conf REAL, dpi REAL, dpi_assumed INTEGER, ocr_dpi REAL,\n"
    "  ocr_w INTEGER, ocr_h INTEGER, page_w_pt REAL, page_h_pt REAL,\n"
    "  crop TEXT, codec TEXT, geom TEXT, text TEXT, words TEXT, conf REAL,\n"
    "  review TEXT, error TEXT,\n"
    "  t_read REAL, t_prep REAL, t_orient REAL, t_deskew REAL, t_ocr REAL,\n"
    "  t_encode REAL,\n"
    "  UNIQUE(dossier, source_name, frame, part));\n"
    "CREATE INDEX IF NOT EXISTS page_dossier ON page(dossier, pageno);\n"
    /* a page's dossier and place by its id, from a narrow b-tree: a
       search checks many candidates it does not show (index/walk.c
       sh__search_open_check), and a page row, text and all, is a disk
       read of its own in a catalog larger than memory */
    "CREATE INDEX IF NOT EXISTS page_key ON page(id, dossier, pageno);\n"
    "CREATE INDEX IF NOT EXISTS dossier_agency ON dossier(agency, state);\n"
    /* the pages a search may not show: few, read whole by a search that
       counts its matches without reading each (index/check.c) */
    "CREATE INDEX IF NOT EXISTS page_unplaced ON page(id) "
    "WHERE pageno IS NULL;\n"
    "CREATE INDEX IF NOT EXISTS dossier_open ON dossier(id) "
    "WHERE state <> 'done';\n"
    "CREATE TABLE IF NOT EXISTS run(\n"
    "  id INTEGER PRIMARY KEY, started TEXT, finished TEXT, pid INTEGER,\n"
    "  args TEXT, state TEXT, exit_code INTEGER, report TEXT);\n"
    "CREATE TABLE IF NOT EXISTS event(\n"
    "  id INTEGER PRIMARY KEY, run INTEGER, time TEXT, level TEXT,\n"
    "  dossier TEXT, file TEXT, frame INTEGER, what TEXT, reason TEXT);\n"
    /* archival metadata (Nghị định 30/2020/NĐ-CP Phụ lục VI); columns,
       units and who writes them: pipeline/archive.h */
    "CREATE TABLE IF NOT EXISTS dossier_meta(\n"
    "  dossier TEXT PRIMARY KEY, file_code TEXT, organ_id TEXT,\n"
    "  file_catalog INTEGER, file_notation TEXT, title TEXT,\n"
    "  maintenance TEXT, rights TEXT, language TEXT,\n"
    "  start_date TEXT, end_date TEXT,\n"              /* ISO yyyy-mm-dd */
    "  doc_total INTEGER, page_total INTEGER, sheet_total INTEGER,\n"
    "  description TEXT, agency TEXT, manifest TEXT, manifest_row INTEGER,\n"
    "  updated TEXT);\n"
    "CREATE INDEX IF NOT EXISTS dossier_meta_code ON dossier_meta(file_code);\n"
    "CREATE TABLE IF NOT EXISTS document(\n"
    "  dossier TEXT NOT NULL, ordinal INTEGER NOT NULL,\n"
    "  first_page INTEGER NOT NULL, last_page INTEGER NOT NULL,\n"
    "  start_conf REAL, type_name TEXT, type_conf REAL,\n"
    "  code_number TEXT, code_notation TEXT, code_conf REAL,\n"
    "  issued_date TEXT, place TEXT, date_conf REAL,\n"
    "  organ_name TEXT, organ_conf REAL, subject TEXT, subject_conf REAL,\n"
    "  origin TEXT NOT NULL DEFAULT 'ocr',\n"    /* ocr|manifest|manual */
    "  PRIMARY KEY(dossier, ordinal));\n"
    "CREATE INDEX IF NOT EXISTS document_type ON document(type_name);\n"
    "CREATE INDEX IF NOT EXISTS document_date ON document(issued_date);\n"
    "CREATE INDEX IF NOT EXISTS document_notation ON document(code_notation);\n"
    SH_REVIEW_SQL
    SH_INDEX_FTS_SQL;

/* A catalog made before page_key (or page_unplaced) existed gets it at
   its first writing open: a read of every page row, minutes for millions
   of pages, said before it starts (in a catalog of over 100,000 pages). */
static void note_new_indexes(sqlite3 *db, const char *path)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db,
                           "SELECT (SELECT max(id) FROM page), "
                           "group_concat(x.n, ' and ') FROM sqlite_master, "
                           "(SELECT 'page_key' AS n UNION ALL "
                           "SELECT 'page_unplaced') x WHERE name = 'page' "
                           "AND NOT EXISTS (SELECT 1 FROM sqlite_master "
                           "WHERE name = x.n)",
                           -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW &&
        sqlite3_column_int64(st, 0) > 100000)
        sh_log(SH_LOG_INFO,
               "%s: adding the index %s (once, for faster searches) over "
               "%lld pages: a read of every page; minutes for millions of "
               "pages",
               path, (const char *)sqlite3_column_text(st, 1),
               (long long)sqlite3_column_int64(st, 0));
    sqlite3_finalize(st);
}

int sh_db_exec(sqlite3 *db, const char *sql, sh_err *err)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        int full = sqlite3_errcode(db) == SQLITE_FULL;
        sh_errf(err, full ? SH_ENOSPC : SH_EINDEX, "catalog: %s",
                msg ? msg : sqlite3_errmsg(db));
        sqlite3_free(msg);
        return full ? SH_ENOSPC : SH_EINDEX;
    }
    return SH_OK;
}

int sh_db_open(const char *warehouse, int readonly, sqlite3 **out,
               sh_err *err)
{
    *out = NULL;
    char path[4096];
    snprintf(path, sizeof path, "%s/catalog.db", warehouse);
    sqlite3 *db = NULL;
    int flags = readonly ? SQLITE_OPEN_READONLY
                         : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    char uri[8300];
    const char *name = path;
    if (!readonly && access(path, F_OK) != 0) {
        /* a new catalog is created private (SQLite's own default is 0644
           less the umask); its -wal and -shm files take its mode */
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
                      (mode_t)sh_private_mode(path, 0));
        if (fd >= 0)
            close(fd);
    }
    if (readonly) {
        /* A WAL catalog on a read-only medium (an archive copy, a read-only
           mount) cannot create its -shm file: open it as immutable. */
        name = sh_db_ro_uri(warehouse, path, uri, sizeof uri);
        flags |= SQLITE_OPEN_URI;
    }
    if (sqlite3_open_v2(name, &db, flags | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        sh_errf(err, readonly ? SH_EUSAGE : SH_EIO,
                "%s: cannot open catalog: %s", path,
                db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return err ? err->rc : SH_EIO;
    }
    sqlite3_busy_timeout(db, 10000);
    int rc = sh_index_register(db, err);
    if (!rc && !readonly)
        rc = sh_db_exec(db,
                        sh_no_sync() ? "PRAGMA journal_mode=WAL; "
                                       "PRAGMA synchronous=OFF;"
                                     : "PRAGMA journal_mode=WAL; "
                                       "PRAGMA synchronous=NORMAL;",
                        err);
    if (!rc && !readonly)
        note_new_indexes(db, path);
    if (!rc && !readonly)
        rc = sh_db_exec(db, schema, err);
    if (!rc && readonly)   /* searches: keep more of the index in memory */
        rc = sh_db_exec(db, "PRAGMA cache_size=-65536", err);
    if (rc) {
        sqlite3_close(db);
        return rc;
    }
    *out = db;
    return SH_OK;
}

void sh_db_close(sqlite3 **db)
{
    if (db && *db) {
        sqlite3_close(*db);
        *db = NULL;
    }
}
