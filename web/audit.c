/*
 * audit.c — the audit journal of the web site: who searched what and who
 * looked at which page or PDF, and when; the `sohoa audit` command.
 *
 *   sh_web_audit       append one row (UTC time)
 *   sh_web_iso_time    normalise a user-typed ISO time for --since
 *   sh_cmd_audit       list rows (text or --json), filtered
 *
 * Method.  One append-only table in the catalog (WAL, so it is written
 * while a run works).  Times are stored as "YYYY-MM-DDTHH:MM:SSZ", which
 * sort as text, so --since is a plain string comparison on an index.
 */
#include "web.h"
#include "../index/index.h"
#include "../base/opts.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

int sh_web_audit(sqlite3 *db, const sh_audit_rec *r, sh_err *err)
{
    char when[21];
    sh_now_iso(when);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO audit(time,user,addr,action,query,"
                           "results,dossier,page,status)"
                           " VALUES(?,?,?,?,?,?,?,?,?)",
                           -1, &st, NULL) != SQLITE_OK)
        return sh_errf(err, SH_EINDEX, "audit: %s", sqlite3_errmsg(db));
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
    sqlite3_finalize(st);
    if (s != SQLITE_DONE) {
        int full = s == SQLITE_FULL;
        return sh_errf(err, full ? SH_ENOSPC : SH_EINDEX, "audit: %s",
                       sqlite3_errmsg(db));
    }
    return SH_OK;
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
    int c, limit = 0;
    sh_opts ov;
    sh_err oerr = {0};
    static const struct option opts[] = {
        SH_LONGOPT_WAREHOUSE,
        {"since", required_argument, NULL, 's'},
        {"user", required_argument, NULL, 'u'},
        {"limit", required_argument, NULL, 'n'},
        SH_LONGOPT_JSON, SH_LONGOPT_HELP,
        {NULL, 0, NULL, 0},
    };
    static const char usage[] =
        "usage: sohoa audit [--warehouse DIR] [--since ISO-TIME] [--user NAME]"
        " [--limit N] [--json]\n"
        "  --since  UTC, YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS][Z]\n"
        "  --limit  the newest N rows (default: all)\n";
    sh_opts_init(&ov);
    optind = 1;
    while ((c = getopt_long(argc, argv, SH_OPTS_SHORT "s:u:n:", opts,
                            NULL)) != -1) {
        switch (c) {
        case 's': since_arg = optarg; break;
        case 'u': user = optarg; break;
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
    if (sh_web_open(wh, 0, &db, &err)) {
        fprintf(stderr, "sohoa audit: %s\n", err.msg);
        return SH_EXIT_USAGE;
    }
    json_t *arr = json_array();
    int n = 0, rc = SH_EXIT_OK;
    if (sqlite3_table_column_metadata(db, NULL, "audit", "id", NULL, NULL,
                                      NULL, NULL, NULL) == SQLITE_OK) {
        sqlite3_stmt *st;
        const char *sql =
            "SELECT * FROM (SELECT id, time, user, addr, action, query,"
            " results, dossier, page, status FROM audit"
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
            const char *action = txt(st, 4, "?");
            printf("%s  %-12s %-15s %-12s", txt(st, 1, ""), txt(st, 2, "-"),
                   txt(st, 3, "-"), action);
            if (sqlite3_column_type(st, 5) != SQLITE_NULL) {
                /* one line per row: control characters become spaces,
                   and a long query is shown by its first 80 characters
                   (--json has it whole) */
                printf(" \"");
                const char *q = txt(st, 5, "");
                int chars = 0;
                for (; *q && chars < 80; q++) {
                    putchar((unsigned char)*q < 0x20 ? ' ' : *q);
                    chars += ((unsigned char)q[1] & 0xC0) != 0x80;
                }
                printf("%s\"", *q ? "…" : "");
            }
            if (sqlite3_column_type(st, 6) != SQLITE_NULL)
                printf(" %d result%s", sqlite3_column_int(st, 6),
                       sqlite3_column_int(st, 6) == 1 ? "" : "s");
            if (sqlite3_column_type(st, 7) != SQLITE_NULL)
                printf(" %s", txt(st, 7, ""));
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
