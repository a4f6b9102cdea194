/*
 * users.c — web users, their agencies, passwords and sessions; the
 * `sohoa user` command.
 *
 *   sh_web_schema          user, user_agency, session tables, old catalogs
 *                          migrated (the audit journal: audit.c, audit.db)
 *   sh_web_open            catalog connection for the web commands
 *   sh_web_valid_user, sh_web_valid_agency, sh_web_valid_id
 *   sh_web_parse_agencies, sh_web_strv_free
 *   sh_web_hash_password, sh_web_check_password    Argon2id (libsodium)
 *   sh_web_user_load, sh_web_user_release, sh_web_user_may,
 *   sh_web_user_may_review, sh_web_role_name, sh_web_user_set_role
 *   sh_web_user_add, _grant, _revoke, _remove, _passwd, _list
 *   sh_web_login_check     constant-work password check
 *   sh_web_session_new, sh_web_session_user, _user_idle, _touch,
 *   sh_web_session_end, sh_web_token_ok
 *   sh_cmd_user            add | grant | revoke | remove | passwd | list
 *
 * Method.  Passwords are stored only as libsodium crypto_pwhash_str
 * strings (Argon2id, OPSLIMIT/MEMLIMIT_INTERACTIVE: ~64 MiB, ~0.1 s),
 * which carry their own salt and parameters.  A login always runs one
 * verification — against a throw-away hash when the user does not exist —
 * so the answer time does not tell a wrong name from a wrong password.
 * Passwords shorter than SH_WEB_PASSWORD_MIN characters are refused.
 * A session is 256 random bits (randombytes_buf) handed to the browser as
 * 64 hex characters; the catalog keeps only their SHA-256, so a copy of
 * the catalog does not hold usable cookies.  It lives 12 h at most, and
 * ends sooner after an idle time (last_seen); a user holds at most
 * SH_WEB_SESSIONS_MAX, a new login dropping the oldest.  The user's agencies are read
 * again on every request, so a revoke or remove takes effect at once.
 */
#include "web.h"
#include "../index/db.h"
#include "../index/index.h"
#include "../base/opts.h"

#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <unistr.h>

#define PASSWORD_MAX 1024

static const char web_schema[] =
    "CREATE TABLE IF NOT EXISTS user(\n"
    "  name TEXT PRIMARY KEY, hash TEXT NOT NULL,\n"
    "  admin INTEGER NOT NULL DEFAULT 0, created TEXT NOT NULL,\n"
    "  updated TEXT NOT NULL, role TEXT);\n"
    "CREATE TABLE IF NOT EXISTS user_agency(\n"
    "  user TEXT NOT NULL, agency TEXT NOT NULL,\n"
    "  PRIMARY KEY(user, agency)) WITHOUT ROWID;\n"
    "CREATE TABLE IF NOT EXISTS session(\n"
    "  token_sha256 TEXT PRIMARY KEY, user TEXT NOT NULL,\n"
    "  created TEXT NOT NULL, expires INTEGER NOT NULL, addr TEXT,\n"
    "  last_seen INTEGER);\n"
    "CREATE INDEX IF NOT EXISTS session_user ON session(user);\n";

int sh_web_schema(sqlite3 *db, sh_err *err)
{
    int rc = sh_db_exec(db, web_schema, err);
    /* sessions from before the idle time: the column, NULL = unknown
       (then counted from the session's start) */
    if (!rc && sqlite3_table_column_metadata(db, NULL, "session", "last_seen",
                                             NULL, NULL, NULL, NULL,
                                             NULL) != SQLITE_OK)
        rc = sh_db_exec(db, "ALTER TABLE session ADD COLUMN last_seen"
                            " INTEGER", err);
    /* users from before roles: NULL = officer (admin flag: admin) */
    if (!rc && sqlite3_table_column_metadata(db, NULL, "user", "role",
                                             NULL, NULL, NULL, NULL,
                                             NULL) != SQLITE_OK)
        rc = sh_db_exec(db, "ALTER TABLE user ADD COLUMN role TEXT", err);
    return rc;
}

int sh_web_open(const char *warehouse, int rw, sqlite3 **out, sh_err *err)
{
    *out = NULL;
    char p[4096];
    struct stat st;
    int rc;
    if (snprintf(p, sizeof p, "%s/catalog.db", warehouse) >= (int)sizeof p)
        return sh_errf(err, SH_EUSAGE, "%s: warehouse path too long",
                       warehouse);
    if (!rw) {
        if (stat(p, &st) < 0)
            return sh_errf(err, SH_EUSAGE,
                           "no warehouse at %s (no catalog.db); run 'sohoa "
                           "run --warehouse %s BATCH' first",
                           warehouse, warehouse);
        return sh_db_open(warehouse, 1, out, err);
    }
    if ((rc = sh_mkdirs(warehouse, err)))
        return rc;
    sqlite3 *db = NULL;
    if ((rc = sh_db_open(warehouse, 0, &db, err)))
        return rc;
    if ((rc = sh_web_schema(db, err))) {
        sh_db_close(&db);
        return rc;
    }
    *out = db;
    return SH_OK;
}

/* ------------------------------------------------------------------ */
/* names                                                               */

int sh_web_valid_user(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n < 1 || n > SH_WEB_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-' ||
              c == '@'))
            return 0;
    }
    return 1;
}

static int has_control(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 1;
    return 0;
}

int sh_web_valid_agency(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n < 1 || n > SH_WEB_NAME_MAX || strchr(s, ',') || has_control(s) ||
        s[0] == ' ' || s[n - 1] == ' ')
        return 0;
    return u8_check((const uint8_t *)s, n) == NULL;
}

int sh_web_valid_id(const char *id)
{
    size_t n = id ? strlen(id) : 0;
    if (n < 1 || n > SH_WEB_ID_MAX)
        return 0;
    if (strchr(id, '/') || strchr(id, '\\') || strstr(id, "..") ||
        has_control(id) || !strcmp(id, "."))
        return 0;
    return u8_check((const uint8_t *)id, n) == NULL;
}

void sh_web_strv_free(char ***v)
{
    if (v && *v) {
        for (char **p = *v; *p; p++)
            free(*p);
        free(*v);
        *v = NULL;
    }
}

int sh_web_parse_agencies(const char *list, char ***out, int *n,
                          sh_err *err)
{
    *out = NULL;
    if (n)
        *n = 0;
    int rc = SH_OK, k = 0;
    char **v = NULL;
    const char *s = list ? list : "";
    size_t items = 1;
    for (const char *p = s; *p; p++)
        items += *p == ',';
    v = calloc(items + 1, sizeof *v);
    if (!v)
        return sh_errf(err, SH_ENOMEM, "out of memory");
    while (1) {
        const char *e = strchr(s, ',');
        size_t len = e ? (size_t)(e - s) : strlen(s);
        const char *b = s;
        while (len && (*b == ' ' || *b == '\t'))
            b++, len--;
        while (len && (b[len - 1] == ' ' || b[len - 1] == '\t'))
            len--;
        if (!len) {
            rc = sh_errf(err, SH_EUSAGE,
                         "empty agency code in '%s' (give codes separated "
                         "by commas: A,B)",
                         list ? list : "");
            goto out;
        }
        char *code = strndup(b, len);
        if (!code) {
            rc = sh_errf(err, SH_ENOMEM, "out of memory");
            goto out;
        }
        if (!sh_web_valid_agency(code)) {
            rc = sh_errf(err, SH_EUSAGE,
                         "invalid agency code '%s' (1 to %d bytes of UTF-8 "
                         "text, no comma, no control character)",
                         code, SH_WEB_NAME_MAX);
            free(code);
            goto out;
        }
        int dup = 0;
        for (int i = 0; i < k && !dup; i++)
            dup = !strcmp(v[i], code);
        if (dup)
            free(code);
        else
            v[k++] = code;
        if (!e)
            break;
        s = e + 1;
    }
out:
    if (rc) {
        sh_web_strv_free(&v);
        return rc;
    }
    *out = v;
    if (n)
        *n = k;
    return SH_OK;
}

/* ------------------------------------------------------------------ */
/* passwords                                                           */

static int sodium_ready(void)
{
    static int ok = -2;
    static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    pthread_mutex_lock(&mu);
    if (ok == -2)
        ok = sodium_init() >= 0;
    int r = ok;
    pthread_mutex_unlock(&mu);
    return r;
}

int sh_web_hash_password(const char *pw, char out[SH_WEB_HASH_MAX],
                         sh_err *err)
{
    _Static_assert(SH_WEB_HASH_MAX >= crypto_pwhash_STRBYTES,
                   "hash buffer too small");
    out[0] = 0;
    size_t n = pw ? strlen(pw) : 0;
    if (!n)
        return sh_errf(err, SH_EUSAGE, "empty password refused");
    size_t chars = 0;
    for (size_t i = 0; i < n; i++)
        chars += ((unsigned char)pw[i] & 0xC0) != 0x80;
    if (chars < SH_WEB_PASSWORD_MIN)
        return sh_errf(err, SH_EUSAGE,
                       "password too short: at least %d characters",
                       SH_WEB_PASSWORD_MIN);
    if (n > PASSWORD_MAX)
        return sh_errf(err, SH_EUSAGE, "password longer than %d bytes",
                       PASSWORD_MAX);
    if (!sodium_ready())
        return sh_errf(err, SH_ENOMEM, "libsodium cannot start");
    if (crypto_pwhash_str(out, pw, n, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
        out[0] = 0;
        return sh_errf(err, SH_ENOMEM,
                       "password hashing failed (Argon2id needs %zu MiB)",
                       (size_t)crypto_pwhash_MEMLIMIT_INTERACTIVE >> 20);
    }
    return SH_OK;
}

int sh_web_check_password(const char *hash, const char *pw)
{
    if (!hash || !pw || !sodium_ready())
        return 0;
    size_t n = strlen(pw);
    if (n > PASSWORD_MAX || strlen(hash) >= crypto_pwhash_STRBYTES)
        return 0;
    return crypto_pwhash_str_verify(hash, pw, n) == 0;
}

/* ------------------------------------------------------------------ */
/* users                                                               */

static int user_exists(sqlite3 *db, const char *name, int *yes, sh_err *err)
{
    sqlite3_stmt *st;
    *yes = 0;
    int rc = sh_db_prep(db, "SELECT 1 FROM user WHERE name=?", &st, err);
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW)
        *yes = 1;
    else if (r != SQLITE_DONE)
        rc = sh_errf(err, SH_EINDEX, "catalog: %s", sqlite3_errmsg(db));
    sqlite3_finalize(st);
    return rc;
}

void sh_web_user_release(sh_web_user *u)
{
    if (u) {
        sh_web_strv_free(&u->agencies);
        memset(u, 0, sizeof *u);
    }
}

int sh_web_user_load(sqlite3 *db, const char *name, sh_web_user *u,
                     sh_err *err)
{
    memset(u, 0, sizeof *u);
    sqlite3_stmt *st = NULL;
    int rc = SH_OK, cap = 8;
    if (!sh_web_valid_user(name))
        return sh_errf(err, SH_EUSAGE, "invalid user name");
    /* role: a catalog whose user table predates roles has no column */
    int has_role = sqlite3_table_column_metadata(db, NULL, "user", "role",
                                                 NULL, NULL, NULL, NULL,
                                                 NULL) == SQLITE_OK;
    if ((rc = sh_db_prep(db, has_role ? "SELECT admin, role FROM user WHERE"
                                        " name=?"
                                      : "SELECT admin, NULL FROM user WHERE"
                                        " name=?", &st, err)))
        return rc;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
    int r = sqlite3_step(st);
    if (r != SQLITE_ROW) {
        rc = r == SQLITE_DONE
                 ? sh_errf(err, SH_EUSAGE, "no user '%s'", name)
                 : sh_errf(err, SH_EINDEX, "catalog: %s", sqlite3_errmsg(db));
        goto out;
    }
    snprintf(u->name, sizeof u->name, "%s", name);
    u->admin = sqlite3_column_int(st, 0) != 0;
    const char *role = (const char *)sqlite3_column_text(st, 1);
    u->role = u->admin ? SH_WEB_ROLE_ADMIN
              : role && !strcmp(role, "clerk") ? SH_WEB_ROLE_CLERK
              : role && !strcmp(role, "admin") ? SH_WEB_ROLE_ADMIN
                                               : SH_WEB_ROLE_OFFICER;
    u->admin = u->role == SH_WEB_ROLE_ADMIN;
    sqlite3_finalize(st);
    st = NULL;
    u->agencies = calloc((size_t)cap + 1, sizeof *u->agencies);
    if (!u->agencies) {
        rc = sh_errf(err, SH_ENOMEM, "out of memory");
        goto out;
    }
    if ((rc = sh_db_prep(db,
                   "SELECT agency FROM user_agency WHERE user=? ORDER BY"
                   " agency",
                   &st, err)))
        goto out;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        if (u->nagencies == cap) {
            char **v = realloc(u->agencies, ((size_t)cap * 2 + 1) * sizeof *v);
            if (!v) {
                rc = sh_errf(err, SH_ENOMEM, "out of memory");
                goto out;
            }
            cap *= 2;
            u->agencies = v;
        }
        char *a = sh_strdup((const char *)sqlite3_column_text(st, 0));
        if (!a) {
            rc = sh_errf(err, SH_ENOMEM, "out of memory");
            goto out;
        }
        u->agencies[u->nagencies++] = a;
        u->agencies[u->nagencies] = NULL;
    }
    if (r != SQLITE_DONE)
        rc = sh_errf(err, SH_EINDEX, "catalog: %s", sqlite3_errmsg(db));
out:
    sqlite3_finalize(st);
    if (rc)
        sh_web_user_release(u);
    return rc;
}

int sh_web_user_may(const sh_web_user *u, const char *agency)
{
    if (!u || !u->name[0])
        return 0;
    if (u->admin)
        return 1;
    if (!agency || !u->agencies)
        return 0;
    for (char **p = u->agencies; *p; p++)
        if (!strcmp(*p, agency))
            return 1;
    return 0;
}

int sh_web_user_may_review(const sh_web_user *u, const char *agency)
{
    return u && u->role >= SH_WEB_ROLE_CLERK && sh_web_user_may(u, agency);
}

const char *sh_web_role_name(int role)
{
    return role == SH_WEB_ROLE_ADMIN   ? "admin"
           : role == SH_WEB_ROLE_CLERK ? "clerk"
                                       : "officer";
}

int sh_web_role_parse(const char *s)
{
    for (int r = SH_WEB_ROLE_OFFICER; r <= SH_WEB_ROLE_ADMIN; r++)
        if (s && !strcmp(s, sh_web_role_name(r)))
            return r;
    return -1;
}

int sh_web_user_set_role(sqlite3 *db, const char *name, int role,
                         sh_err *err)
{
    char when[21];
    sh_now_iso(when);
    int yes = 0, rc = user_exists(db, name, &yes, err);
    if (rc)
        return rc;
    if (!yes)
        return sh_errf(err, SH_EUSAGE, "no user '%s'", name);
    char admin[2] = {role == SH_WEB_ROLE_ADMIN ? '1' : '0', 0};
    return sh_db_run(db, "UPDATE user SET role=?, admin=?, updated=? WHERE"
                     " name=?", 4,
                     (const char *[]){sh_web_role_name(role), admin, when,
                                      name}, err);
}

int sh_web_user_add(sqlite3 *db, const char *name, const char *pw,
                    char *const *agencies, int admin, sh_err *err)
{
    char hash[SH_WEB_HASH_MAX], when[21];
    int rc, yes;
    if (!sh_web_valid_user(name))
        return sh_errf(err, SH_EUSAGE,
                       "invalid user name '%s' (1 to %d of A-Z a-z 0-9 . _ "
                       "- @)",
                       name ? name : "", SH_WEB_NAME_MAX);
    if (!admin && (!agencies || !agencies[0]))
        return sh_errf(err, SH_EUSAGE,
                       "user '%s' would see nothing: give --agency CODE[,CODE"
                       "...] or --admin",
                       name);
    for (char *const *a = agencies; a && *a; a++)
        if (!sh_web_valid_agency(*a))
            return sh_errf(err, SH_EUSAGE, "invalid agency code '%s'", *a);
    if ((rc = user_exists(db, name, &yes, err)))
        return rc;
    if (yes)
        return sh_errf(err, SH_EUSAGE,
                       "user '%s' exists (use grant, revoke or passwd)", name);
    if ((rc = sh_web_hash_password(pw, hash, err)))
        return rc;
    sh_now_iso(when);
    if ((rc = sh_db_exec(db, "BEGIN IMMEDIATE", err)))
        return rc;
    sqlite3_stmt *st;
    if (!(rc = sh_db_prep(db,
                          "INSERT INTO user(name,hash,admin,created,updated)"
                          " VALUES(?,?,?,?,?4)",
                          &st, err))) {
        sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, hash, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int(st, 3, admin != 0);
        sqlite3_bind_text(st, 4, when, -1, SQLITE_TRANSIENT);
        rc = sh_db_done(db, st, err);
    }
    for (char *const *a = agencies; !rc && a && *a; a++)
        rc = sh_db_run(db, "INSERT OR IGNORE INTO user_agency(user,agency)"
                       " VALUES(?,?)", 2,
                       (const char *[]){name, *a}, err);
    if (rc) {
        sh_db_exec(db, "ROLLBACK", NULL);
        return rc;
    }
    return sh_db_exec(db, "COMMIT", err);
}

static int need_user(sqlite3 *db, const char *name, sh_err *err)
{
    int yes, rc;
    if (!sh_web_valid_user(name))
        return sh_errf(err, SH_EUSAGE, "invalid user name '%s'",
                       name ? name : "");
    if ((rc = user_exists(db, name, &yes, err)))
        return rc;
    return yes ? SH_OK : sh_errf(err, SH_EUSAGE, "no user '%s'", name);
}

int sh_web_user_grant(sqlite3 *db, const char *name, const char *agency,
                      sh_err *err)
{
    int rc = need_user(db, name, err);
    if (rc)
        return rc;
    if (!sh_web_valid_agency(agency))
        return sh_errf(err, SH_EUSAGE, "invalid agency code '%s'",
                       agency ? agency : "");
    char when[21];
    sh_now_iso(when);
    if (!(rc = sh_db_run(db, "INSERT OR IGNORE INTO user_agency(user,agency)"
                         " VALUES(?,?)", 2,
                         (const char *[]){name, agency}, err)))
        rc = sh_db_run(db, "UPDATE user SET updated=?2 WHERE name=?1", 2,
                       (const char *[]){name, when}, err);
    return rc;
}

int sh_web_user_revoke(sqlite3 *db, const char *name, const char *agency,
                       sh_err *err)
{
    int rc = need_user(db, name, err);
    if (rc)
        return rc;
    if ((rc = sh_db_run(db, "DELETE FROM user_agency WHERE user=? AND"
                        " agency=?", 2,
                        (const char *[]){name, agency ? agency : ""}, err)))
        return rc;
    if (sqlite3_changes(db) == 0)
        return sh_errf(err, SH_EUSAGE, "user '%s' has no agency '%s'", name,
                       agency ? agency : "");
    char when[21];
    sh_now_iso(when);
    return sh_db_run(db, "UPDATE user SET updated=?2 WHERE name=?1", 2,
                     (const char *[]){name, when}, err);
}

int sh_web_user_remove(sqlite3 *db, const char *name, sh_err *err)
{
    int rc = need_user(db, name, err);
    if (rc)
        return rc;
    if ((rc = sh_db_exec(db, "BEGIN IMMEDIATE", err)))
        return rc;
    rc = sh_db_run(db, "DELETE FROM session WHERE user=?", 1,
                   (const char *[]){name}, err);
    if (!rc)
        rc = sh_db_run(db, "DELETE FROM user_agency WHERE user=?", 1,
                       (const char *[]){name}, err);
    if (!rc)
        rc = sh_db_run(db, "DELETE FROM user WHERE name=?", 1,
                       (const char *[]){name}, err);
    if (rc) {
        sh_db_exec(db, "ROLLBACK", NULL);
        return rc;
    }
    return sh_db_exec(db, "COMMIT", err);
}

int sh_web_user_passwd(sqlite3 *db, const char *name, const char *pw,
                       sh_err *err)
{
    char hash[SH_WEB_HASH_MAX], when[21];
    int rc = need_user(db, name, err);
    if (rc)
        return rc;
    if ((rc = sh_web_hash_password(pw, hash, err)))
        return rc;
    sh_now_iso(when);
    if ((rc = sh_db_exec(db, "BEGIN IMMEDIATE", err)))
        return rc;
    sqlite3_stmt *st;
    if (!(rc = sh_db_prep(db, "UPDATE user SET hash=?, updated=? WHERE"
                          " name=?", &st,
                          err))) {
        sqlite3_bind_text(st, 1, hash, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, when, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 3, name, -1, SQLITE_TRANSIENT);
        rc = sh_db_done(db, st, err);
    }
    if (!rc)
        rc = sh_db_run(db, "DELETE FROM session WHERE user=?", 1,
                       (const char *[]){name}, err);
    if (rc) {
        sh_db_exec(db, "ROLLBACK", NULL);
        return rc;
    }
    return sh_db_exec(db, "COMMIT", err);
}

int sh_web_user_list(sqlite3 *db, json_t **out, sh_err *err)
{
    *out = NULL;
    sqlite3_stmt *st;
    int rc = sh_db_prep(db,
                  "SELECT u.name, u.admin, u.created, u.updated,"
                  " (SELECT group_concat(agency, char(10)) FROM (SELECT agency"
                  "  FROM user_agency a WHERE a.user=u.name ORDER BY agency)),"
                  " (SELECT count(*) FROM session s WHERE s.user=u.name AND"
                  "  s.expires > ?), u.role"
                  " FROM user u ORDER BY u.name",
                  &st, err);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, (sqlite3_int64)time(NULL));
    json_t *arr = json_array();
    int r;
    while (arr && (r = sqlite3_step(st)) == SQLITE_ROW) {
        json_t *ag = json_array();
        const char *list = (const char *)sqlite3_column_text(st, 4);
        while (ag && list && *list) {
            const char *e = strchr(list, '\n');
            size_t n = e ? (size_t)(e - list) : strlen(list);
            json_array_append_new(ag, json_stringn(list, n));
            list = e ? e + 1 : list + n;
        }
        json_t *o = json_pack(
            "{s:s, s:b, s:o, s:s, s:s, s:i}", "name",
            (const char *)sqlite3_column_text(st, 0), "admin",
            sqlite3_column_int(st, 1), "agencies", ag ? ag : json_array(),
            "created", (const char *)sqlite3_column_text(st, 2), "updated",
            (const char *)sqlite3_column_text(st, 3), "sessions",
            sqlite3_column_int(st, 5));
        const char *role = (const char *)sqlite3_column_text(st, 6);
        if (o)
            json_object_set_new(o, "role", json_string(
                sqlite3_column_int(st, 1) ? "admin"
                : sh_web_role_parse(role) > 0 ? role : "officer"));
        if (!o || json_array_append_new(arr, o)) {
            json_decref(arr);
            arr = NULL;
        }
    }
    if (!arr)
        rc = sh_errf(err, SH_ENOMEM, "out of memory");
    else if (r != SQLITE_DONE)
        rc = sh_errf(err, SH_EINDEX, "catalog: %s", sqlite3_errmsg(db));
    sqlite3_finalize(st);
    if (rc) {
        json_decref(arr);
        return rc;
    }
    *out = arr;
    return SH_OK;
}

/* ------------------------------------------------------------------ */
/* login and sessions                                                  */

static char dummy_hash[SH_WEB_HASH_MAX];
static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;

static void make_dummy(void)
{
    unsigned char r[16];
    char pw[33];
    if (!sodium_ready())
        return;
    randombytes_buf(r, sizeof r);
    sodium_bin2hex(pw, sizeof pw, r, sizeof r);
    sh_web_hash_password(pw, dummy_hash, NULL);
}

int sh_web_login_check(sqlite3 *db, const char *name, const char *pw)
{
    char hash[SH_WEB_HASH_MAX] = "";
    int found = 0;
    pthread_once(&dummy_once, make_dummy);
    if (sh_web_valid_user(name)) {
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(db, "SELECT hash FROM user WHERE name=?", -1,
                               &st, NULL) == SQLITE_OK) {
            sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
            if (sqlite3_step(st) == SQLITE_ROW) {
                const char *h = (const char *)sqlite3_column_text(st, 0);
                if (h && strlen(h) < sizeof hash) {
                    snprintf(hash, sizeof hash, "%s", h);
                    found = 1;
                }
            }
            sqlite3_finalize(st);
        }
    }
    int ok = sh_web_check_password(found ? hash : dummy_hash, pw ? pw : "");
    return found && ok;
}

int sh_web_token_ok(const char *s)
{
    if (!s || strlen(s) != 64)
        return 0;
    for (int i = 0; i < 64; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

int sh_web_session_new(sqlite3 *db, const char *user, int ttl,
                       const char *addr, char token[65], sh_err *err)
{
    unsigned char r[32];
    char sha[65], when[21];
    token[0] = 0;
    if (!sodium_ready())
        return sh_errf(err, SH_ENOMEM, "libsodium cannot start");
    randombytes_buf(r, sizeof r);
    sodium_bin2hex(token, 65, r, sizeof r);
    sodium_memzero(r, sizeof r);
    sh_sha256_buf(token, 64, sha);
    sh_now_iso(when);
    int64_t now = (int64_t)time(NULL);
    sqlite3_stmt *st;
    int rc = sh_db_prep(db, "DELETE FROM session WHERE expires <= ?", &st, err);
    if (!rc) {
        sqlite3_bind_int64(st, 1, now);
        rc = sh_db_done(db, st, err);
    }
    /* at most SH_WEB_SESSIONS_MAX per user: the oldest go */
    if (!rc && !(rc = sh_db_prep(db,
                           "DELETE FROM session WHERE user=?1 AND rowid NOT IN"
                           " (SELECT rowid FROM session WHERE user=?1 ORDER BY"
                           " coalesce(last_seen, 0) DESC, rowid DESC LIMIT ?2)",
                           &st, err))) {
        sqlite3_bind_text(st, 1, user, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int(st, 2, SH_WEB_SESSIONS_MAX - 1);
        rc = sh_db_done(db, st, err);
    }
    if (!rc && !(rc = sh_db_prep(db,
                           "INSERT INTO session(token_sha256,user,created,"
                           "expires,addr) VALUES(?,?,?,?,?)",
                           &st, err))) {
        sqlite3_bind_text(st, 1, sha, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, user, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 3, when, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 4, now + (ttl > 0 ? ttl : SH_WEB_SESSION_TTL));
        if (addr)
            sqlite3_bind_text(st, 5, addr, -1, SQLITE_TRANSIENT);
        rc = sh_db_done(db, st, err);
    }
    if (!rc)
        rc = sh_web_session_touch(db, token, err);
    if (rc)
        token[0] = 0;
    return rc;
}

int sh_web_session_user(sqlite3 *db, const char *token, sh_web_user *u)
{
    return sh_web_session_user_idle(db, token, 0, u, NULL);
}

int sh_web_session_user_idle(sqlite3 *db, const char *token, int idle,
                             sh_web_user *u, int *stale)
{
    memset(u, 0, sizeof *u);
    if (stale)
        *stale = 0;
    if (!sh_web_token_ok(token))
        return 0;
    char sha[65], name[SH_WEB_NAME_MAX + 1] = "";
    sh_sha256_buf(token, 64, sha);
    sqlite3_stmt *st;
    /* last use unknown (a session from before the column): its start */
    if (sqlite3_prepare_v2(db,
                           "SELECT s.user, coalesce(s.last_seen, s.expires -"
                           " ?4) FROM session s JOIN user u ON u.name=s.user"
                           " WHERE s.token_sha256=?1 AND s.expires > ?2 AND"
                           " coalesce(s.last_seen, s.expires - ?4) > ?2 - ?3",
                           -1, &st, NULL) != SQLITE_OK)
        return 0;
    int64_t now = (int64_t)time(NULL);
    sqlite3_bind_text(st, 1, sha, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, now);
    sqlite3_bind_int(st, 3, idle > 0 ? idle : SH_WEB_SESSION_IDLE);
    sqlite3_bind_int(st, 4, SH_WEB_SESSION_TTL);
    if (sqlite3_step(st) == SQLITE_ROW) {
        const char *n = (const char *)sqlite3_column_text(st, 0);
        if (n && strlen(n) <= SH_WEB_NAME_MAX)
            snprintf(name, sizeof name, "%s", n);
        if (stale)
            *stale = now - sqlite3_column_int64(st, 1) > 60;
    }
    sqlite3_finalize(st);
    if (!name[0])
        return 0;
    return sh_web_user_load(db, name, u, NULL) == SH_OK;
}

int sh_web_session_touch(sqlite3 *db, const char *token, sh_err *err)
{
    if (!sh_web_token_ok(token))
        return SH_OK;
    char sha[65], now[24];
    sh_sha256_buf(token, 64, sha);
    snprintf(now, sizeof now, "%lld", (long long)time(NULL));
    return sh_db_run(db, "UPDATE session SET last_seen=CAST(?2 AS INTEGER)"
                     " WHERE token_sha256=?1", 2,
                     (const char *[]){sha, now}, err);
}

int sh_web_session_end(sqlite3 *db, const char *token, sh_err *err)
{
    if (!sh_web_token_ok(token))
        return SH_OK;
    char sha[65];
    sh_sha256_buf(token, 64, sha);
    return sh_db_run(db, "DELETE FROM session WHERE token_sha256=?", 1,
                     (const char *[]){sha}, err);
}

/* ------------------------------------------------------------------ */
/* the command                                                         */

static void user_usage(FILE *f)
{
    fputs("usage: sohoa user [--warehouse DIR] add NAME --agency CODE[,CODE...]"
          " [--role officer|clerk|admin]\n"
          "       sohoa user [--warehouse DIR] role NAME officer|clerk|admin\n"
          "       sohoa user [--warehouse DIR] grant NAME CODE\n"
          "       sohoa user [--warehouse DIR] revoke NAME CODE\n"
          "       sohoa user [--warehouse DIR] remove NAME\n"
          "       sohoa user [--warehouse DIR] passwd NAME\n"
          "       sohoa user [--warehouse DIR] list [--json]\n"
          "add and passwd read the password from standard input (one line).\n"
          "An officer searches and reads the dossiers of their agencies; a\n"
          "clerk also reviews and edits them (/review); an admin sees every\n"
          "agency and manages users (--admin = --role admin).\n",
          f);
}

/* One line from stdin, without echo on a terminal.  *out malloc'd. */
static int read_password(const char *name, char **out, sh_err *err)
{
    *out = NULL;
    struct termios old, quiet;
    int tty = isatty(0) && tcgetattr(0, &old) == 0;
    if (tty) {
        fprintf(stderr, "password for %s: ", name);
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(0, TCSAFLUSH, &quiet);
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, stdin);
    if (tty) {
        tcsetattr(0, TCSAFLUSH, &old);
        fputc('\n', stderr);
    }
    if (n < 0) {
        free(line);
        return sh_errf(err, SH_EUSAGE,
                       "no password on standard input (give it as one line)");
    }
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = 0;
    if ((size_t)n != strlen(line)) {
        sodium_memzero(line, cap);
        free(line);
        return sh_errf(err, SH_EUSAGE, "password contains a NUL byte");
    }
    if (n == 0) {
        free(line);
        return sh_errf(err, SH_EUSAGE, "empty password refused");
    }
    if (n > PASSWORD_MAX) {
        sodium_memzero(line, cap);
        free(line);
        return sh_errf(err, SH_EUSAGE, "password longer than %d bytes",
                       PASSWORD_MAX);
    }
    *out = line;
    return SH_OK;
}

static void free_password(char **pw)
{
    if (*pw) {
        sodium_memzero(*pw, strlen(*pw));
        free(*pw);
        *pw = NULL;
    }
}

int sh_cmd_user(int argc, char **argv)
{
    const char *agency_list = NULL;
    int admin = 0, c, role = SH_WEB_ROLE_OFFICER;
    sh_opts o;
    static const struct option opts[] = {
        SH_LONGOPT_WAREHOUSE,
        {"agency", required_argument, NULL, 'a'},
        {"admin", no_argument, NULL, 'A'},
        {"role", required_argument, NULL, 'R'},
        SH_LONGOPT_JSON, SH_LONGOPT_HELP,
        {NULL, 0, NULL, 0},
    };
    sh_opts_init(&o);
    optind = 1;
    while ((c = getopt_long(argc, argv, SH_OPTS_SHORT "a:", opts, NULL)) !=
           -1) {
        switch (c) {
        case 'a': agency_list = optarg; break;
        case 'A': admin = 1; role = SH_WEB_ROLE_ADMIN; break;
        case 'R':
            if ((role = sh_web_role_parse(optarg)) < 0) {
                fprintf(stderr, "sohoa user: --role is officer, clerk or "
                        "admin, not '%s'\n", optarg);
                return SH_EXIT_USAGE;
            }
            admin = role == SH_WEB_ROLE_ADMIN;
            break;
        default: {
            int k = sh_opt_common(&o, c, optarg);
            if (k != SH_OPT_TAKEN) {
                user_usage(k == SH_OPT_HELP ? stdout : stderr);
                return k == SH_OPT_HELP ? SH_EXIT_OK : SH_EXIT_USAGE;
            }
        }
        }
    }
    const char *wh = o.warehouse;
    int as_json = o.json;
    int npos = argc - optind;
    char **pos = argv + optind;
    const char *sub = npos > 0 ? pos[0] : "";
    struct {
        const char *name;
        int args;   /* positional arguments after the subcommand */
    } subs[] = {{"add", 1}, {"grant", 2}, {"revoke", 2},
                {"remove", 1}, {"passwd", 1}, {"list", 0}, {"role", 2}};
    int known = -1;
    for (size_t i = 0; i < SH_ARRAY_LEN(subs); i++)
        if (!strcmp(sub, subs[i].name))
            known = (int)i;
    if (known < 0 || npos - 1 != subs[known].args ||
        (agency_list && strcmp(sub, "add")) || (admin && strcmp(sub, "add")) ||
        (as_json && strcmp(sub, "list"))) {
        if (known < 0 && npos > 0)
            fprintf(stderr, "sohoa user: unknown subcommand '%s'\n", sub);
        user_usage(stderr);
        return SH_EXIT_USAGE;
    }
    const char *name = npos > 1 ? pos[1] : NULL;
    sh_err err = {0};
    sqlite3 *db = NULL;
    char **agencies = NULL, *pw = NULL;
    int rc = SH_OK;
    json_t *list = NULL;

    if (!strcmp(sub, "add") && agency_list &&
        (rc = sh_web_parse_agencies(agency_list, &agencies, NULL, &err)))
        goto out;
    if (name && !sh_web_valid_user(name)) {
        rc = sh_errf(&err, SH_EUSAGE,
                     "invalid user name '%s' (1 to %d of A-Z a-z 0-9 . _ - @)",
                     name, SH_WEB_NAME_MAX);
        goto out;
    }
    if (!strcmp(sub, "add") && !admin && !agencies) {
        rc = sh_errf(&err, SH_EUSAGE,
                     "user '%s' would see nothing: give --agency "
                     "CODE[,CODE...] or --admin",
                     name);
        goto out;
    }
    /* A mistyped --warehouse must not make a new, empty warehouse. */
    char cat[4096];
    struct stat sb;
    snprintf(cat, sizeof cat, "%s/catalog.db", wh);
    if (stat(cat, &sb) < 0) {
        rc = sh_errf(&err, SH_EUSAGE,
                     "no warehouse at %s (no catalog.db); give --warehouse "
                     "DIR of a warehouse made by 'sohoa run'",
                     wh);
        goto out;
    }
    if ((rc = sh_web_open(wh, strcmp(sub, "list") != 0, &db, &err)))
        goto out;
    if (!strcmp(sub, "list")) {
        /* A catalog from before the web tables: nothing to list. */
        if (sqlite3_table_column_metadata(db, NULL, "user", "name", NULL, NULL,
                                          NULL, NULL, NULL) != SQLITE_OK) {
            list = json_array();
        } else if ((rc = sh_web_user_list(db, &list, &err))) {
            goto out;
        }
        if (as_json) {
            json_dumpf(list, stdout, JSON_INDENT(1));
            fputc('\n', stdout);
        } else {
            size_t i;
            json_t *u;
            json_array_foreach(list, i, u) {
                printf("%-20s %-7s ", json_string_value(json_object_get(u, "name")),
                   json_string_value(json_object_get(u, "role")));
                size_t k;
                json_t *a;
                json_array_foreach(json_object_get(u, "agencies"), k, a)
                    printf("%s%s", k ? "," : "", json_string_value(a));
                printf("  (%d active session%s)\n",
                       (int)json_integer_value(json_object_get(u, "sessions")),
                       json_integer_value(json_object_get(u, "sessions")) == 1
                           ? "" : "s");
            }
            printf("%zu user%s\n", json_array_size(list),
                   json_array_size(list) == 1 ? "" : "s");
        }
        goto out;
    }
    if (!strcmp(sub, "add") || !strcmp(sub, "passwd")) {
        if (!strcmp(sub, "passwd") && (rc = need_user(db, name, &err)))
            goto out;
        if ((rc = read_password(name, &pw, &err)))
            goto out;
        rc = !strcmp(sub, "add")
                 ? sh_web_user_add(db, name, pw, agencies, admin, &err)
                 : sh_web_user_passwd(db, name, pw, &err);
        if (!rc && !strcmp(sub, "add") && role == SH_WEB_ROLE_CLERK)
            rc = sh_web_user_set_role(db, name, role, &err);
        if (!rc)
            fprintf(stderr, "sohoa user: %s %s\n", name,
                    !strcmp(sub, "add") ? "added" : "has a new password");
    } else if (!strcmp(sub, "grant")) {
        if (!(rc = sh_web_user_grant(db, name, pos[2], &err)))
            fprintf(stderr, "sohoa user: %s may now see agency %s\n", name,
                    pos[2]);
    } else if (!strcmp(sub, "revoke")) {
        if (!(rc = sh_web_user_revoke(db, name, pos[2], &err)))
            fprintf(stderr, "sohoa user: %s may no longer see agency %s\n",
                    name, pos[2]);
    } else if (!strcmp(sub, "role")) {
        int r = sh_web_role_parse(pos[2]);
        if (r < 0)
            rc = sh_errf(&err, SH_EUSAGE, "a role is officer, clerk or admin,"
                         " not '%s'", pos[2]);
        else if (!(rc = sh_web_user_set_role(db, name, r, &err)))
            fprintf(stderr, "sohoa user: %s is now %s\n", name,
                    sh_web_role_name(r));
    } else if (!strcmp(sub, "remove")) {
        if (!(rc = sh_web_user_remove(db, name, &err)))
            fprintf(stderr, "sohoa user: %s removed\n", name);
    }
out:
    if (rc)
        fprintf(stderr, "sohoa user %s: %s\n", sub, err.msg);
    free_password(&pw);
    sh_web_strv_free(&agencies);
    json_decref(list);
    sh_db_close(&db);
    return rc ? SH_EXIT_USAGE : SH_EXIT_OK;
}
