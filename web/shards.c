/*
 * shards.c — `sohoa serve --warehouse A --warehouse B …`: several shard
 * warehouses served as one site.
 *
 *   sh__web_shards_check   at start: every shard opens and reads, and is
 *                          named once
 *   sh__web_pick_shard     ?shard=K of a page, image, word-box or PDF
 *                          request: its catalog becomes c->db
 *   sh__web_db_of          the read-only connection to shard K
 *   sh__web_shard_arg      "?shard=K" / "&amp;shard=K" in a link
 *   sh__web_shards_close   a request's shard connections, at its end
 *
 * Method.  The first warehouse is the site's own: users, agencies,
 * sessions, the audit journal and the clerks' review live there (login.c,
 * users.c, audit.c and review*.c use it as before).  A search runs over
 * every shard (access.c: sh_search_shards), and each hit says which shard
 * it comes from; the links to its page, image and PDF carry ?shard=K
 * (K > 0; none for the first), and such a request reads that shard's
 * catalog.  Access stays the first warehouse's rule: a shard connection
 * gets a TEMP table user_agency holding the session user's agencies
 * (loaded from the first warehouse), and SQLite reads temp before main, so
 * every query that asks `d.agency IN (SELECT agency FROM user_agency WHERE
 * user=…)` answers from the session, whatever users the shard's own
 * catalog may hold.
 */
#include "../index/shards.h"
#include "web_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int sh__web_shards_check(const char *const *whs, int n)
{
    sh_err derr = {0};
    if (sh_shards_distinct(whs, n, &derr)) {
        fprintf(stderr, "sohoa serve: %s\n", derr.msg);
        return SH_EUSAGE;
    }
    for (int k = 0; k < n; k++) {
        char p[4096];
        snprintf(p, sizeof p, "%s/catalog.db", whs[k]);
        if (access(p, R_OK) != 0) {
            fprintf(stderr, "sohoa serve: shard %s: no catalog.db that can be "
                            "read (%s)\n", whs[k], strerror(errno));
            return SH_EUSAGE;
        }
        sqlite3 *db = NULL;
        sh_err err = {0};
        sqlite3_stmt *st = NULL;
        int rc = sh_db_open(whs[k], 1, &db, &err);
        if (!rc &&
            (sqlite3_prepare_v2(db, "SELECT count(*) FROM dossier", -1, &st,
                                NULL) != SQLITE_OK ||
             sqlite3_step(st) != SQLITE_ROW))
            rc = sh_errf(&err, SH_EINDEX, "catalog.db: %s",
                         sqlite3_errmsg(db));
        sqlite3_finalize(st);
        sh_db_close(&db);
        if (rc) {
            fprintf(stderr, "sohoa serve: shard %s cannot be read: %s\n",
                    whs[k], err.msg);
            return SH_EUSAGE;
        }
    }
    return SH_OK;
}

/* Shard k's connection, with the session's agencies as temp.user_agency. */
static sqlite3 *open_shard(sh__web_ctx *c, int k)
{
    if (!c->sdb && !(c->sdb = calloc((size_t)c->srv->nwh, sizeof *c->sdb)))
        return NULL;
    if (c->sdb[k])
        return c->sdb[k];
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    sh_err err = {0};
    if (sh_db_open(c->srv->whs[k], 1, &db, &err)) {
        sh_log(SH_LOG_ERROR, "shard %s: %s", c->srv->whs[k], err.msg);
        return NULL;
    }
    int ok = sqlite3_exec(db, "CREATE TEMP TABLE user_agency(user TEXT, "
                              "agency TEXT)", NULL, NULL, NULL) == SQLITE_OK &&
             sqlite3_prepare_v2(db, "INSERT INTO temp.user_agency VALUES(?,?)",
                                -1, &st, NULL) == SQLITE_OK;
    for (char **a = c->u.agencies; ok && a && *a; a++) {
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, c->u.name, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, *a, -1, SQLITE_TRANSIENT);
        ok = sqlite3_step(st) == SQLITE_DONE;
    }
    sqlite3_finalize(st);
    if (!ok) {
        sh_log(SH_LOG_ERROR, "shard %s: cannot set the user's agencies: %s",
               c->srv->whs[k], sqlite3_errmsg(db));
        sh_db_close(&db);
        return NULL;
    }
    return c->sdb[k] = db;
}

sqlite3 *sh__web_db_of(sh__web_ctx *c, int k)
{
    if (k <= 0 || k >= c->srv->nwh) {
        if (c->db0)
            return c->db0;
        return sh__web_ro_db(c) ? NULL : c->db;
    }
    return open_shard(c, k);
}

int sh__web_pick_shard(sh__web_ctx *c, const char *url)
{
    static const char *const content[] = {"/view/", "/page/", "/pdf/",
                                          "/api/page/"};
    const char *a = sh__web_arg(c, "shard");
    int is_content = 0;
    for (size_t i = 0; i < SH_ARRAY_LEN(content); i++)
        is_content |= !strncmp(url, content[i], strlen(content[i]));
    if (!a)
        return 0;
    char *e;
    long k = strtol(a, &e, 10);
    if (!is_content || *e || e == a || k < 0 || k >= c->srv->nwh)
        return -1;
    if (k == 0)
        return 0;
    if (sh__web_ro_db(c))
        return -1;
    sqlite3 *db = open_shard(c, (int)k);
    if (!db)
        return -1;
    c->db0 = c->db;
    c->db = db;
    c->shard = (int)k;
    return 0;
}

void sh__web_shard_arg(sh_buf *b, const sh__web_ctx *c, int k, int first)
{
    if (c->srv->nwh > 1 && k > 0)
        sh_buf_printf(b, "%sshard=%d", first ? "?" : "&amp;", k);
}

void sh__web_shards_close(sh__web_ctx *c)
{
    if (c->db0) {
        c->db = c->db0;         /* the shard's is closed below */
        c->db0 = NULL;
    }
    for (int k = 0; c->sdb && k < c->srv->nwh; k++)
        sh_db_close(&c->sdb[k]);
    free(c->sdb);
    c->sdb = NULL;
}
