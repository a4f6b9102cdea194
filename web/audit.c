/*
 * audit.c — the audit journal of the web site: who searched what and who
 * looked at which page or PDF, and when; the `sohoa audit` command.
 *
 *   sh_web_audit_schema  the table, its migration, its triggers
 *   sh_web_audit_open    WAREHOUSE/audit.db, made (once) from the catalog's
 *   sh_web_audit         append one row (UTC time), chained
 *   sh_web_audit_rows    append a group of rows in one transaction
 *   sh_web_audit_verify  recompute the chain; the first broken row
 *   sh_web_iso_time      normalise a user-typed ISO time for --since
 *   sh_cmd_audit         list rows (text or --json), filtered; --verify
 *   (static) row_hash, last_row, chain_old_rows, insert_row, open_file,
 *            meta_moved, build, create
 *
 * Method.  One append-only table in its own database, WAREHOUSE/audit.db
 * (WAL, synchronous=FULL), not in the catalog: a commit of the journal
 * (up to a few tens a second under load) would change the catalog's data
 * version and make every pooled read connection of the server drop its
 * page cache and its search memo.  A warehouse from before keeps its
 * journal in catalog.db's own audit table: the first open for writing
 * copies those rows unchanged (ids, times, hashes: the chain verifies as
 * before) into a new file written whole and then linked into place, and
 * records meta 'audit' = 'audit.db' in the catalog; that table is left
 * as it was (its triggers refuse DELETE), never read again.  Times are stored as "YYYY-MM-DDTHH:MM:SSZ", which
 * sort as text, so --since is a plain string comparison on an index.
 * Tamper evidence: triggers refuse UPDATE and DELETE, and each row holds
 * SHA-256 (base: sh_sha256_buf) over the previous row's hash and its own fields,
 * each as "length:bytes;" (NULL as "-;"), its id included — so an edited,
 * inserted or deleted row breaks the chain at that row (or the next), even
 * for someone who drops the triggers, unless they rewrite every later
 * hash; `sohoa audit --verify` prints the last hash so that it can be
 * noted elsewhere, which catches that too.  The text output escapes every
 * control character (sh_fputs_safe): a query cannot move the terminal.
 */
#include "web.h"
#include "../index/db.h"
#include "../index/index.h"
#include "../base/opts.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Parse exactly n digits at s; -1 if not digits. */
static int digits(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

int sh_web_iso_time(const char *in, char out[21])
{
    out[0] = 0;
    if (!in)
        return SH_EUSAGE;
    size_t n = strlen(in);
    int y, mo, d, h = 0, mi = 0, s = 0;
    if (n < 10 || (y = digits(in, 4)) < 0 || in[4] != '-' ||
        (mo = digits(in + 5, 2)) < 1 || mo > 12 || in[7] != '-' ||
        (d = digits(in + 8, 2)) < 1 || d > 31)
        return SH_EUSAGE;
    const char *p = in + 10;
    if (*p == 'T' || *p == ' ' || *p == 't') {
        p++;
        if ((h = digits(p, 2)) < 0 || h > 23 || p[2] != ':' ||
            (mi = digits(p + 3, 2)) < 0 || mi > 59)
            return SH_EUSAGE;
        p += 5;
        if (*p == ':') {
            if ((s = digits(p + 1, 2)) < 0 || s > 60)
                return SH_EUSAGE;
            p += 3;
        }
    }
    if (*p == 'Z' || *p == 'z')
        p++;
    if (*p)
        return SH_EUSAGE;
    char tmp[64];
    snprintf(tmp, sizeof tmp, "%04d-%02d-%02dT%02d:%02d:%02dZ", y, mo, d, h,
             mi, s);
    memcpy(out, tmp, 21);
    out[20] = 0;
    return SH_OK;
}

#define AUDIT_FIELDS 11   /* id .. detail, the fields the hash covers */
#define AUDIT_COLS "id, time, user, addr, action, query, results, dossier," \
                   " page, status, detail"

/* hash = SHA-256(prev ";" each field as "len:bytes;" or "-;") in hex. */
static int row_hash(const char *prev, const char *const f[AUDIT_FIELDS],
                    char hex[65])
{
    sh_buf b = {0};
    sh_buf_adds(&b, prev ? prev : "");
    sh_buf_adds(&b, ";");
    for (int i = 0; i < AUDIT_FIELDS; i++) {
        if (!f[i]) {
            sh_buf_adds(&b, "-;");
            continue;
        }
        sh_buf_printf(&b, "%zu:", strlen(f[i]));
        sh_buf_adds(&b, f[i]);
        sh_buf_adds(&b, ";");
    }
    if (!b.data)
        return SH_ENOMEM;
    sh_sha256_buf(b.data, b.len, hex);
    sh_buf_release(&b);
    return SH_OK;
}

/* The fields of the current row of st (selected as AUDIT_COLS, hash
   next) as text, NULL for NULL. */
static void row_fields(sqlite3_stmt *st, const char *f[AUDIT_FIELDS])
{
    for (int i = 0; i < AUDIT_FIELDS; i++)
        f[i] = sqlite3_column_type(st, i) == SQLITE_NULL
                   ? NULL : (const char *)sqlite3_column_text(st, i);
}

/* The last row's id and hash ("" and 0 when the table is empty). */
static int last_row(sqlite3 *db, int64_t *id, char hash[65], sh_err *err)
{
    sqlite3_stmt *st;
    *id = 0;
    hash[0] = 0;
    if (sqlite3_prepare_v2(db, "SELECT id, hash FROM audit ORDER BY id DESC"
                               " LIMIT 1", -1, &st, NULL) != SQLITE_OK)
        return sh_errf(err, SH_EINDEX, "audit: %s", sqlite3_errmsg(db));
    int s = sqlite3_step(st);
    if (s == SQLITE_ROW) {
        *id = sqlite3_column_int64(st, 0);
        const char *h = (const char *)sqlite3_column_text(st, 1);
        snprintf(hash, 65, "%s", h ? h : "");
    }
    sqlite3_finalize(st);
    return s == SQLITE_ROW || s == SQLITE_DONE
               ? SH_OK : sh_errf(err, SH_EINDEX, "audit: %s",
                                 sqlite3_errmsg(db));
}

/* Rows written before the hash column: chained in id order, once (the
   triggers do not exist yet). */
static int chain_old_rows(sqlite3 *db, sh_err *err)
{
    sqlite3_stmt *st, *up;
    if (sqlite3_prepare_v2(db, "SELECT " AUDIT_COLS ", hash FROM audit ORDER"
                               " BY id", -1, &st, NULL) != SQLITE_OK)
        return sh_errf(err, SH_EINDEX, "audit: %s", sqlite3_errmsg(db));
    if (sqlite3_prepare_v2(db, "UPDATE audit SET hash=? WHERE id=?", -1, &up,
                           NULL) != SQLITE_OK) {
        sqlite3_finalize(st);
        return sh_errf(err, SH_EINDEX, "audit: %s", sqlite3_errmsg(db));
    }
    char prev[65] = "", h[65];
    int s, rc = SH_OK, n = 0;
    while (!rc && (s = sqlite3_step(st)) == SQLITE_ROW) {
        const char *f[AUDIT_FIELDS];
        row_fields(st, f);
        const char *have = (const char *)sqlite3_column_text(st, AUDIT_FIELDS);
        if (have) {
            snprintf(prev, sizeof prev, "%s", have);
            continue;
        }
        if ((rc = row_hash(prev, f, h)))
            break;
        sqlite3_bind_text(up, 1, h, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(up, 2, sqlite3_column_int64(st, 0));
        if (sqlite3_step(up) != SQLITE_DONE)
            rc = sh_errf(err, SH_EINDEX, "audit: %s", sqlite3_errmsg(db));
        sqlite3_reset(up);
        memcpy(prev, h, sizeof prev);
        n++;
    }
    sqlite3_finalize(st);
    sqlite3_finalize(up);
    if (!rc && n)
        sh_log(SH_LOG_INFO, "audit: %d row%s from before the hash chain "
               "chained", n, n == 1 ? "" : "s");
    return rc;
}

static const char audit_table[] =
    "CREATE TABLE IF NOT EXISTS audit(\n"
    "  id INTEGER PRIMARY KEY, time TEXT NOT NULL, user TEXT, addr TEXT,\n"
    "  action TEXT NOT NULL, query TEXT, results INTEGER, dossier TEXT,\n"
    "  page INTEGER, status INTEGER, detail TEXT, hash TEXT);\n"
    "CREATE INDEX IF NOT EXISTS audit_time ON audit(time);\n";

int sh_web_audit_schema(sqlite3 *db, sh_err *err)
{
    int rc = sh_db_exec(db, audit_table, err);
    if (rc)
        return rc;
    sqlite3_stmt *st;
    int triggers = 0;
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_master WHERE"
                               " type='trigger' AND tbl_name='audit'", -1,
                           &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW)
            triggers = sqlite3_column_int(st, 0);
        sqlite3_finalize(st);
    }
    if (triggers >= 2)
        return SH_OK;
    /* an older catalog: columns, old rows chained, then the triggers,
       in one transaction */
    if ((rc = sh_db_exec(db, "BEGIN IMMEDIATE", err)))
        return rc;
    const char *cols[] = {"detail", "hash"};
    for (int i = 0; i < 2 && !rc; i++)
        if (sqlite3_table_column_metadata(db, NULL, "audit", cols[i], NULL,
                                          NULL, NULL, NULL,
                                          NULL) != SQLITE_OK) {
            char sql[80];
            snprintf(sql, sizeof sql, "ALTER TABLE audit ADD COLUMN %s TEXT",
                     cols[i]);
            rc = sh_db_exec(db, sql, err);
        }
    if (!rc)
        rc = chain_old_rows(db, err);
    if (!rc)
        rc = sh_db_exec(db,
            "CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON"
            " audit BEGIN SELECT RAISE(ABORT, 'the audit journal is"
            " append-only: rows cannot be changed'); END;\n"
            "CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON"
            " audit BEGIN SELECT RAISE(ABORT, 'the audit journal is"
            " append-only: rows cannot be deleted'); END;\n", err);
    if (rc) {
        sh_db_exec(db, "ROLLBACK", NULL);
        return rc;
    }
    return sh_db_exec(db, "COMMIT", err);
}

/* ---- the journal's file ---- */

#define AUDIT_FILE "audit.db"

/* Open path: read-write (must exist), or read-only — as immutable when
   its folder cannot be written and it has no -shm (a read-only copy). */
static int open_file(const char *dir, const char *path, int readonly,
                     sqlite3 **out, sh_err *err)
{
    char uri[8300];
    const char *name = path;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
    if (readonly) {
        name = sh_db_ro_uri(dir, path, uri, sizeof uri);
        flags = SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX |
                SQLITE_OPEN_URI;
    }
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(name, &db, flags, NULL) != SQLITE_OK) {
        sh_errf(err, SH_EIO, "%s: cannot open the audit journal: %s", path,
                db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return SH_EIO;
    }
    sqlite3_busy_timeout(db, 10000);
    *out = db;
    return SH_OK;
}

/* The error of a warehouse whose catalog says its journal moved to
   path, which is not there. */
static int journal_lost(const char *path, sh_err *err)
{
    return sh_errf(err, SH_EIO, "%s is missing, but the catalog's journal "
                   "was moved there: restore it from the backup (a backup "
                   "holds catalog.db and audit.db)", path);
}

/* 1 if the catalog records that its journal moved to audit.db. */
static int meta_moved(sqlite3 *cat)
{
    sqlite3_stmt *st;
    int moved = 0;
    if (sqlite3_prepare_v2(cat, "SELECT 1 FROM meta WHERE key='audit'", -1,
                           &st, NULL) != SQLITE_OK)
        return 0;
    moved = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    return moved;
}

/* Make the journal in the new file tmp: the table, a copy of the
   catalog's own audit rows as they are when catpath has one (rows from
   before the hash are chained here, as sh_web_audit_schema does), then
   the triggers.  *copied: rows copied. */
static int build(const char *tmp, const char *catpath, int64_t *copied,
                 sh_err *err)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int rc = open_file(NULL, tmp, 0, &db, err);
    *copied = 0;
    if (!rc)
        rc = sh_db_exec(db, audit_table, err);
    if (!rc && catpath) {
        if (sqlite3_prepare_v2(db, "ATTACH ? AS cat", -1, &st, NULL) !=
                SQLITE_OK ||
            sqlite3_bind_text(st, 1, catpath, -1, SQLITE_STATIC) !=
                SQLITE_OK ||
            sqlite3_step(st) != SQLITE_DONE)
            rc = sh_errf(err, SH_EINDEX, "audit: %s: %s", catpath,
                         sqlite3_errmsg(db));
        sqlite3_finalize(st);
        const char *opt[2] = {"detail", "hash"};
        char sql[512];
        int have[2];
        for (int i = 0; i < 2; i++)
            have[i] = sqlite3_table_column_metadata(
                db, "cat", "audit", opt[i], NULL, NULL, NULL, NULL,
                NULL) == SQLITE_OK;
        snprintf(sql, sizeof sql,
                 "INSERT INTO main.audit(" AUDIT_COLS ", hash) SELECT id,"
                 " time, user, addr, action, query, results, dossier, page,"
                 " status, %s, %s FROM cat.audit ORDER BY id",
                 have[0] ? "detail" : "NULL", have[1] ? "hash" : "NULL");
        /* one statement: one transaction, one snapshot of the catalog */
        if (!rc && !(rc = sh_db_exec(db, sql, err)))
            *copied = sqlite3_changes64(db);
        if (!rc)
            rc = sh_db_exec(db, "DETACH cat", err);
    }
    if (!rc)
        rc = sh_web_audit_schema(db, err);
    if (db && sqlite3_close(db) != SQLITE_OK && !rc)
        rc = sh_errf(err, SH_EIO, "audit: %s: cannot close", tmp);
    return rc;
}

/* WAREHOUSE/audit.db is missing: make it, in a temporary file linked
   into place when whole (a second process doing the same meanwhile
   keeps its own: ours is dropped), with the catalog's audit rows when
   it has some and has not moved them before. */
static int create(const char *warehouse, const char *path, sh_err *err)
{
    char catpath[4096], tmp[4200];
    sqlite3 *cat = NULL;
    int64_t copied = 0, old = 0;
    int rc = SH_OK, won = 0;
    snprintf(catpath, sizeof catpath, "%s/catalog.db", warehouse);
    if (access(catpath, F_OK) == 0) {
        if ((rc = sh_db_open(warehouse, 0, &cat, err)))
            return rc;
        if (meta_moved(cat)) {
            sh_db_close(&cat);
            return journal_lost(path, err);
        }
        old = sqlite3_table_column_metadata(cat, NULL, "audit", "id", NULL,
                                            NULL, NULL, NULL,
                                            NULL) == SQLITE_OK;
    }
    snprintf(tmp, sizeof tmp, "%s.new-%ld", path, (long)getpid());
    unlink(tmp);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
                  (mode_t)sh_private_mode(tmp, 0));
    if (fd < 0) {
        rc = sh_errf(err, sh_io_rc(errno), "%s: %s", tmp, strerror(errno));
        goto out;
    }
    close(fd);
    rc = build(tmp, old ? catpath : NULL, &copied, err);
    if (!rc && ((fd = open(tmp, O_RDONLY | O_CLOEXEC)) < 0 || sh_fsync(fd)))
        rc = sh_errf(err, SH_EIO, "%s: %s", tmp, strerror(errno));
    if (fd >= 0)
        close(fd);
    if (!rc) {
        /* link, not rename: never over a journal made meanwhile (rename
           only where the file system has no hard links) */
        won = link(tmp, path) == 0;
        if (!won && errno != EEXIST) {
            if (rename(tmp, path) == 0)
                won = 1;
            else
                rc = sh_errf(err, SH_EIO, "%s: %s", path, strerror(errno));
        }
        if (!rc)
            sh_fsync_dir_of(path);
    }
    unlink(tmp);
    if (!rc && cat) {
        sh_err e2 = {0};
        if (sh_db_exec(cat, "INSERT OR REPLACE INTO meta(key, value)"
                            " VALUES('audit', '" AUDIT_FILE "')", &e2))
            sh_log(SH_LOG_WARN, "audit: %s: cannot record the move: %s",
                   catpath, e2.msg);
    }
    if (!rc && won && copied)
        sh_log(SH_LOG_INFO, "audit: %" PRId64 " journal row%s copied from "
               "catalog.db to " AUDIT_FILE " (the catalog's table is left as "
               "it was)", copied, copied == 1 ? "" : "s");
out:
    sh_db_close(&cat);
    return rc;
}

int sh_web_audit_open(const char *warehouse, int readonly, sqlite3 **out,
                      sh_err *err)
{
    char path[4096];
    sqlite3 *db = NULL;
    int rc;
    *out = NULL;
    if (snprintf(path, sizeof path, "%s/" AUDIT_FILE, warehouse) >=
        (int)sizeof path - 64)
        return sh_errf(err, SH_EUSAGE, "%s: warehouse path too long",
                       warehouse);
    if (readonly) {
        if (access(path, F_OK) == 0)
            return open_file(warehouse, path, 1, out, err);
        /* a warehouse from before audit.db: the catalog's own table */
        if ((rc = sh_db_open(warehouse, 1, &db, err)))
            return rc;
        if (meta_moved(db)) {
            sh_db_close(&db);
            return journal_lost(path, err);
        }
        *out = db;
        return SH_OK;
    }
    if (access(path, F_OK) != 0 && (rc = create(warehouse, path, err)))
        return rc;
    if ((rc = open_file(warehouse, path, 0, &db, err)))
        return rc;
    rc = sh_db_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;",
                    err);
    if (!rc)
        rc = sh_web_audit_schema(db, err);
    if (rc) {
        sh_db_close(&db);
        return rc;
    }
    *out = db;
    return SH_OK;
}

int sh_web_audit_verify(sqlite3 *db, int64_t *bad, int64_t *rows,
                        char head[65], sh_err *err)
{
    *bad = 0;
    if (rows)
        *rows = 0;
    if (head)
        head[0] = 0;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT " AUDIT_COLS ", hash FROM audit ORDER"
                               " BY id", -1, &st, NULL) != SQLITE_OK)
        return sh_errf(err, SH_EINDEX, "audit: %s", sqlite3_errmsg(db));
    char prev[65] = "", h[65];
    int s, rc = SH_OK;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        const char *f[AUDIT_FIELDS];
        row_fields(st, f);
        const char *have = (const char *)sqlite3_column_text(st, AUDIT_FIELDS);
        if ((rc = row_hash(prev, f, h)))
            break;
        if (rows)
            (*rows)++;
        if (!have || strcmp(have, h)) {
            *bad = sqlite3_column_int64(st, 0);
            break;
        }
        memcpy(prev, h, sizeof prev);
    }
    if (!rc && s != SQLITE_ROW && s != SQLITE_DONE)
        rc = sh_errf(err, SH_EINDEX, "audit: %s", sqlite3_errmsg(db));
    sqlite3_finalize(st);
    if (head && !*bad)
        memcpy(head, prev, 65);
    return rc;
}

/* Insert r as row id after the row whose hash is prev; its hash into
   hash. */
static int insert_row(sqlite3 *db, sqlite3_stmt *st, const sh_audit_rec *r,
                      const char *time, int64_t id_, const char *prev,
                      char hash[65], sh_err *err)
{
    char now[21];
    const char *when = time;
    if (!when) {
        sh_now_iso(now);
        when = now;
    }
    char id[24], results[16], page[16], status[16];
    snprintf(id, sizeof id, "%" PRId64, id_);
    snprintf(results, sizeof results, "%d", r->results);
    snprintf(page, sizeof page, "%d", r->page);
    snprintf(status, sizeof status, "%d", r->status);
    const char *f[AUDIT_FIELDS] = {
        id, when, r->user, r->addr, r->action ? r->action : "?", r->query,
        r->results >= 0 ? results : NULL, r->dossier,
        r->page > 0 ? page : NULL, r->status ? status : NULL, r->detail};
    if (row_hash(prev, f, hash))
        return sh_errf(err, SH_ENOMEM, "out of memory");
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    sqlite3_bind_int64(st, 12, id_);
    sqlite3_bind_text(st, 11, hash, -1, SQLITE_TRANSIENT);
    if (r->detail)
        sqlite3_bind_text(st, 10, r->detail, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 1, when, -1, SQLITE_TRANSIENT);
    if (r->user)
        sqlite3_bind_text(st, 2, r->user, -1, SQLITE_TRANSIENT);
    if (r->addr)
        sqlite3_bind_text(st, 3, r->addr, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 4, r->action ? r->action : "?", -1,
                      SQLITE_TRANSIENT);
    if (r->query)
        sqlite3_bind_text(st, 5, r->query, -1, SQLITE_TRANSIENT);
    if (r->results >= 0)
        sqlite3_bind_int(st, 6, r->results);
    if (r->dossier)
        sqlite3_bind_text(st, 7, r->dossier, -1, SQLITE_TRANSIENT);
    if (r->page > 0)
        sqlite3_bind_int(st, 8, r->page);
    if (r->status)
        sqlite3_bind_int(st, 9, r->status);
    int s = sqlite3_step(st);
    if (s != SQLITE_DONE)
        return sh_errf(err, s == SQLITE_FULL ? SH_ENOSPC : SH_EINDEX,
                       "audit: %s", sqlite3_errmsg(db));
    return SH_OK;
}

int sh_web_audit_rows(sqlite3 *db, const sh_audit_rec *r,
                      const char *const *times, int n, sh_err *err)
{
    int rc = sh_db_exec(db, "BEGIN IMMEDIATE", err);
    if (rc)
        return rc;
    int64_t last;
    char prev[65], hash[65];
    sqlite3_stmt *st = NULL;
    if ((rc = last_row(db, &last, prev, err)))
        goto out;
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO audit(time,user,addr,action,query,"
                           "results,dossier,page,status,detail,hash,id)"
                           " VALUES(?,?,?,?,?,?,?,?,?,?,?,?)",
                           -1, &st, NULL) != SQLITE_OK) {
        rc = sh_errf(err, SH_EINDEX, "audit: %s", sqlite3_errmsg(db));
        goto out;
    }
    for (int i = 0; i < n && !rc; i++) {
        rc = insert_row(db, st, &r[i], times ? times[i] : NULL, last + 1 + i,
                        prev, hash, err);
        memcpy(prev, hash, sizeof prev);
    }
out:
    sqlite3_finalize(st);
    if (rc) {
        sh_db_exec(db, "ROLLBACK", NULL);
        return rc;
    }
    return sh_db_exec(db, "COMMIT", err);
}

int sh_web_audit(sqlite3 *db, const sh_audit_rec *r, sh_err *err)
{
    return sh_web_audit_rows(db, r, NULL, 1, err);
}

static json_t *col(sqlite3_stmt *st, int i)
{
    switch (sqlite3_column_type(st, i)) {
    case SQLITE_INTEGER: return json_integer(sqlite3_column_int64(st, i));
    case SQLITE_NULL: return json_null();
    default: {
        /* text written by other versions may not be valid UTF-8 */
        char *c = sh_web_utf8_clean((const char *)sqlite3_column_text(st, i),
                                    (size_t)-1, NULL);
        json_t *j = json_string(c ? c : "");
        free(c);
        return j;
    }
    }
}

static const char *txt(sqlite3_stmt *st, int i, const char *dflt)
{
    const char *s = (const char *)sqlite3_column_text(st, i);
    return s ? s : dflt;
}

int sh_cmd_audit(int argc, char **argv)
{
    const char *user = NULL, *since_arg = NULL;
    char since[21] = "";
    int c, limit = 0, verify = 0;
    sh_opts ov;
    sh_err oerr = {0};
    static const struct option opts[] = {
        SH_LONGOPT_WAREHOUSE,
        {"since", required_argument, NULL, 's'},
        {"user", required_argument, NULL, 'u'},
        {"limit", required_argument, NULL, 'n'},
        {"verify", no_argument, NULL, 'V'},
        SH_LONGOPT_JSON, SH_LONGOPT_HELP,
        {NULL, 0, NULL, 0},
    };
    static const char usage[] =
        "usage: sohoa audit [--warehouse DIR] [--since ISO-TIME] [--user NAME]"
        " [--limit N] [--json]\n"
        "       sohoa audit [--warehouse DIR] --verify [--json]\n"
        "  --since   UTC, YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS][Z]\n"
        "  --limit   the newest N rows (default: all)\n"
        "  --verify  check the hash chain: exit 1 naming the first row that"
        " was changed,\n"
        "            inserted or follows a deleted one; else print the last"
        " hash (note it)\n";
    sh_opts_init(&ov);
    optind = 1;
    while ((c = getopt_long(argc, argv, SH_OPTS_SHORT "s:u:n:", opts,
                            NULL)) != -1) {
        switch (c) {
        case 's': since_arg = optarg; break;
        case 'u': user = optarg; break;
        case 'V': verify = 1; break;
        case 'n':
            if (sh_opt_int("--limit", optarg, 0, INT_MAX, &limit, &oerr)) {
                fprintf(stderr, "sohoa audit: %s\n", oerr.msg);
                fputs(usage, stderr);
                return SH_EXIT_USAGE;
            }
            break;
        default: {
            int k = sh_opt_common(&ov, c, optarg);
            if (k != SH_OPT_TAKEN) {
                fputs(usage, k == SH_OPT_HELP ? stdout : stderr);
                return k == SH_OPT_HELP ? SH_EXIT_OK : SH_EXIT_USAGE;
            }
        }
        }
    }
    const char *wh = ov.warehouse;
    int as_json = ov.json;
    if (optind < argc || limit < 0) {
        fputs(usage, stderr);
        return SH_EXIT_USAGE;
    }
    if (since_arg && sh_web_iso_time(since_arg, since)) {
        fprintf(stderr,
                "sohoa audit: --since '%s' is not an ISO time (UTC): give "
                "YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS]\n",
                since_arg);
        return SH_EXIT_USAGE;
    }
    sqlite3 *db = NULL;
    sh_err err = {0};
    /* the warehouse must exist (sh_web_open says so); the journal is
       opened for writing where it can be (made, or moved from the
       catalog, on the first open), else read as it is */
    if (sh_web_open(wh, 0, &db, &err)) {
        fprintf(stderr, "sohoa audit: %s\n", err.msg);
        return SH_EXIT_USAGE;
    }
    sh_db_close(&db);
    if (sh_web_audit_open(wh, access(wh, W_OK) != 0, &db, &err)) {
        fprintf(stderr, "sohoa audit: %s\n", err.msg);
        return SH_EXIT_USAGE;
    }
    if (verify) {
        int64_t bad = 0, rows = 0;
        char head[65] = "";
        int vrc = sqlite3_table_column_metadata(db, NULL, "audit", "hash",
                                                NULL, NULL, NULL, NULL,
                                                NULL) != SQLITE_OK
                      ? sh_errf(&err, SH_EUSAGE, "no hash chain in this "
                                "journal yet (run 'sohoa audit' on it once "
                                "where it can be written)")
                      : sh_web_audit_verify(db, &bad, &rows, head, &err);
        sh_db_close(&db);
        if (vrc) {
            fprintf(stderr, "sohoa audit: %s\n", err.msg);
            return SH_EXIT_USAGE;
        }
        if (as_json) {
            json_t *o = json_pack("{s:s, s:b, s:I, s:I, s:s}", "warehouse",
                                  wh, "intact", !bad, "rows",
                                  (json_int_t)rows, "first_bad",
                                  (json_int_t)bad, "head", head);
            json_dumpf(o, stdout, JSON_INDENT(1));
            fputc('\n', stdout);
            json_decref(o);
        } else if (bad) {
            printf("audit chain BROKEN at row %" PRId64 ": changed, inserted"
                   " or following a deleted row (%" PRId64 " rows checked)\n",
                   bad, rows);
        } else {
            printf("audit chain intact: %" PRId64 " row%s, last hash %s\n",
                   rows, rows == 1 ? "" : "s", head[0] ? head : "-");
        }
        return bad ? SH_EXIT_PARTIAL : SH_EXIT_OK;
    }
    json_t *arr = json_array();
    int n = 0, rc = SH_EXIT_OK;
    if (sqlite3_table_column_metadata(db, NULL, "audit", "id", NULL, NULL,
                                      NULL, NULL, NULL) == SQLITE_OK) {
        sqlite3_stmt *st;
        /* a journal from before the detail column (read-only here) */
        int has_detail = sqlite3_table_column_metadata(
            db, NULL, "audit", "detail", NULL, NULL, NULL, NULL,
            NULL) == SQLITE_OK;
        const char *sql = has_detail ?
            "SELECT * FROM (SELECT id, time, user, addr, action, query,"
            " results, dossier, page, status, detail FROM audit"
            " WHERE (?1 IS NULL OR time >= ?1) AND (?2 IS NULL OR user = ?2)"
            " ORDER BY id DESC LIMIT ?3) ORDER BY id" :
            "SELECT * FROM (SELECT id, time, user, addr, action, query,"
            " results, dossier, page, status, NULL AS detail FROM audit"
            " WHERE (?1 IS NULL OR time >= ?1) AND (?2 IS NULL OR user = ?2)"
            " ORDER BY id DESC LIMIT ?3) ORDER BY id";
        if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
            fprintf(stderr, "sohoa audit: %s\n", sqlite3_errmsg(db));
            rc = SH_EXIT_USAGE;
            goto out;
        }
        if (since[0])
            sqlite3_bind_text(st, 1, since, -1, SQLITE_TRANSIENT);
        if (user)
            sqlite3_bind_text(st, 2, user, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 3, limit > 0 ? limit : -1);
        int r;
        while ((r = sqlite3_step(st)) == SQLITE_ROW) {
            n++;
            if (as_json) {
                json_t *o = json_object();
                for (int i = 0; i < sqlite3_column_count(st); i++)
                    json_object_set_new(o, sqlite3_column_name(st, i),
                                        col(st, i));
                json_array_append_new(arr, o);
                continue;
            }
            /* one line per row, every control character escaped (DEL,
               ESC and C1 included); a long query is shown by its first
               80 characters (--json has it whole) */
            char w[32];
            printf("%s  ", txt(st, 1, ""));
            const char *cols3[] = {txt(st, 2, "-"), txt(st, 3, "-"),
                                   txt(st, 4, "?")};
            const int width[] = {12, 15, 12};
            for (int k = 0; k < 3; k++) {
                sh_fputs_safe(cols3[k], stdout);
                size_t len = strlen(cols3[k]);
                snprintf(w, sizeof w, "%*s", len < (size_t)width[k]
                         ? width[k] - (int)len : 0, "");
                printf("%s%s", w, k < 2 ? " " : "");
            }
            if (sqlite3_column_type(st, 5) != SQLITE_NULL) {
                printf(" \"");
                const char *q = txt(st, 5, "");
                const char *e = q;
                for (int chars = 0; *e && chars < 80; e++)
                    chars += ((unsigned char)e[1] & 0xC0) != 0x80;
                char *head = strndup(q, (size_t)(e - q));
                sh_fputs_safe(head ? head : "", stdout);
                free(head);
                printf("%s\"", *e ? "…" : "");
            }
            if (sqlite3_column_type(st, 10) != SQLITE_NULL) {
                putchar(' ');
                sh_fputs_safe(txt(st, 10, ""), stdout);
            }
            if (sqlite3_column_type(st, 6) != SQLITE_NULL)
                printf(" %d result%s", sqlite3_column_int(st, 6),
                       sqlite3_column_int(st, 6) == 1 ? "" : "s");
            if (sqlite3_column_type(st, 7) != SQLITE_NULL) {
                putchar(' ');
                sh_fputs_safe(txt(st, 7, ""), stdout);
            }
            if (sqlite3_column_type(st, 8) != SQLITE_NULL)
                printf(" page %d", sqlite3_column_int(st, 8));
            if (sqlite3_column_type(st, 9) != SQLITE_NULL)
                printf(" [%d]", sqlite3_column_int(st, 9));
            putchar('\n');
        }
        if (r != SQLITE_DONE) {
            fprintf(stderr, "sohoa audit: %s\n", sqlite3_errmsg(db));
            rc = SH_EXIT_USAGE;
        }
        sqlite3_finalize(st);
    }
    if (as_json) {
        json_t *top = json_pack("{s:s, s:i, s:O}", "warehouse", wh, "total", n,
                                "rows", arr);
        json_dumpf(top, stdout, JSON_INDENT(1));
        fputc('\n', stdout);
        json_decref(top);
    } else {
        printf("%d audit row%s\n", n, n == 1 ? "" : "s");
    }
out:
    json_decref(arr);
    sh_db_close(&db);
    return rc;
}
