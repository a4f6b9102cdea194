/*
 * access.c — the catalog as the session's user may see it, and the audit
 * journal.
 *
 *   sh__web_ro_db, sh__web_rw_db      the two connections of a request
 *   sh__web_audit_as, sh__web_audit, sh__web_audit_detail   one journal
 *                                     row
 *   sh__web_denied                    a refused request for content,
 *                                     journalled, answered 404
 *   sh__web_parse_search              the parameters of a search
 *   sh__web_run_search                the search, journalled
 *   sh__web_find_page                 one page, with the agency condition
 *   sh__web_pagerow_release
 *   sh__web_parse_id_page             "ID/N" from a URL
 *
 * Method.  Each request opens its own read-only catalog connection, and a
 * read-write one only for the moment it writes a session or an audit row
 * (WAL: all of it runs while `sohoa run` writes).  Access is decided in
 * SQL from the session's user: a search passes the user's agencies to
 * sh_search, and a page is looked up with the agency condition in the same
 * query, so a dossier that is not allowed is "not found" exactly like one
 * that does not exist.  File paths come from catalog rows (source.path),
 * never from the URL; an id from a URL only has to pass sh_web_valid_id
 * to be looked up.  Every read of dossier content is journalled with its
 * user: a search with its filters (detail, JSON), a page view, image,
 * word boxes, a PDF — and so is every such request answered "not found",
 * with what was asked, so probing other agencies' ids leaves a trace.
 */
#include "../base/date.h"
#include "../index/shards.h"
#include "web_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistr.h>

#define PAGE_LIMIT_MAX 100      /* results per page, web and API        */
#define OFFSET_MAX 100000

int sh__web_ro_db(sh__web_ctx *c)
{
    if (c->db)
        return SH_OK;
    sh_err err = {0};
    int rc = sh_db_open(c->srv->wh, 1, &c->db, &err);
    if (rc)
        sh_log(SH_LOG_ERROR, "%s", err.msg);
    return rc;
}

int sh__web_rw_db(sh__web_server *s, sqlite3 **db)
{
    char p[4096];
    snprintf(p, sizeof p, "%s/catalog.db", s->wh);
    if (sqlite3_open_v2(p, db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        sh_log(SH_LOG_ERROR, "%s: cannot open for writing: %s", p,
               *db ? sqlite3_errmsg(*db) : "out of memory");
        sqlite3_close(*db);
        *db = NULL;
        return SH_EINDEX;
    }
    sqlite3_busy_timeout(*db, 10000);
    return SH_OK;
}

/* Journal one action of user (NULL = the session's); SH_OK or an error
   already logged. */
static int audit_row(sh__web_ctx *c, const char *user, const char *action,
                     const char *query, int results, const char *dossier,
                     int page, int status, const char *detail)
{
    sqlite3 *db = NULL;
    sh_err err = {0};
    int rc = sh__web_rw_db(c->srv, &db);
    if (!rc) {
        sh_audit_rec r = {user ? user : c->u.name[0] ? c->u.name : NULL,
                          c->addr, action, query, results, dossier, page,
                          status, detail};
        rc = sh_web_audit(db, &r, &err);
        if (rc)
            sh_log(SH_LOG_ERROR, "cannot write the audit journal: %s", err.msg);
    }
    sqlite3_close(db);
    return rc;
}

int sh__web_audit_as(sh__web_ctx *c, const char *user, const char *action,
                     const char *query, int results, const char *dossier,
                     int page, int status)
{
    return audit_row(c, user, action, query, results, dossier, page, status,
                     NULL);
}

int sh__web_audit(sh__web_ctx *c, const char *action, const char *query,
                  int results, const char *dossier, int page, int status)
{
    return audit_row(c, NULL, action, query, results, dossier, page, status,
                     NULL);
}

int sh__web_audit_detail(sh__web_ctx *c, const char *action,
                         const char *query, int results, const char *dossier,
                         int page, int status, const char *detail)
{
    return audit_row(c, NULL, action, query, results, dossier, page, status,
                     detail);
}

enum MHD_Result sh__web_denied(sh__web_ctx *c, const char *action,
                               const char *asked, int page, int api)
{
    /* what was asked, cut to an id's length and made valid UTF-8 (the
       journal's text is escaped again when shown) */
    char *a = sh_web_utf8_clean(asked, SH_WEB_ID_MAX, NULL);
    sh_log(SH_LOG_WARN, "%s %s: %s of '%s' refused: not found or not "
           "allowed", c->addr, c->u.name[0] ? c->u.name : "-", action,
           a ? a : "?");
    sh__web_audit(c, action, NULL, -1, a, page, 404);
    free(a);
    return sh__web_not_found(c, api);
}

/* A date filter: YYYY, YYYY-MM or YYYY-MM-DD (as <input type=date>
   sends), a real date. */
static int valid_date(const char *t)
{
    return sh_date_valid(t);
}

static int parse_int(const char *s, int lo, int hi, int dflt, int *out)
{
    *out = dflt;
    if (!s)
        return 0;
    char *e;
    errno = 0;
    long v = strtol(s, &e, 10);
    if (errno || *e || e == s || v < lo || v > hi)
        return -1;
    *out = (int)v;
    return 0;
}

/* Read the search parameters; on a bad one returns -1 with *why set. */
int sh__web_parse_search(sh__web_ctx *c, sh__web_sparams *p, const char **why)
{
    memset(p, 0, sizeof *p);
    *why = NULL;
    p->q = sh_web_utf8_clean(sh__web_arg(c, "q"), SH_QUERY_MAX_BYTES, &p->qcut);
    if (!p->q) {
        *why = "out of memory";
        return -1;
    }
    if (parse_int(sh__web_arg(c, "limit"), 1, PAGE_LIMIT_MAX, 20, &p->limit))
        *why = "limit: a number from 1 to 100";
    else if (parse_int(sh__web_arg(c, "offset"), 0, OFFSET_MAX, 0, &p->offset))
        *why = "offset: a number from 0 to 100000";
    else if (parse_int(sh__web_arg(c, "year"), 1, 9999, 0, &p->year))
        *why = "year: a year such as 2019";
    p->agency = sh__web_arg(c, "agency");
    p->prefix = sh__web_arg(c, "prefix");
    if (!*why && p->agency && !sh_web_valid_agency(p->agency))
        *why = "agency: not a valid agency code";
    if (!*why && p->prefix &&
        (strlen(p->prefix) > SH_WEB_ID_MAX ||
         u8_check((const uint8_t *)p->prefix, strlen(p->prefix))))
        *why = "prefix: at most 200 bytes of UTF-8";
    p->dtype = sh__web_arg(c, "type");
    p->dcode = sh__web_arg(c, "code");
    p->dfrom = sh__web_arg(c, "from");
    p->dto = sh__web_arg(c, "to");
    const char *tx[] = {p->dtype, p->dcode};
    for (int i = 0; i < 2 && !*why; i++)
        if (tx[i] && (strlen(tx[i]) > SH_WEB_ID_MAX ||
                      u8_check((const uint8_t *)tx[i], strlen(tx[i]))))
            *why = i ? "code: at most 200 bytes of UTF-8"
                     : "type: at most 200 bytes of UTF-8";
    if (!*why && p->dfrom && p->dfrom[0] && !valid_date(p->dfrom))
        *why = "from: a date as YYYY-MM-DD (or YYYY-MM, YYYY)";
    if (!*why && p->dto && p->dto[0] && !valid_date(p->dto))
        *why = "to: a date as YYYY-MM-DD (or YYYY-MM, YYYY)";
    return *why ? -1 : 0;
}

/* Run the search as the user may see it, and journal it.  Returns SH_OK,
   or an error after which the caller answers 503. */
int sh__web_run_search(sh__web_ctx *c, const sh__web_sparams *p, sh_hits *hits)
{
    memset(hits, 0, sizeof *hits);
    sh_query q = {0};
    q.text = p->q;
    q.limit = p->limit;
    q.offset = p->offset;
    q.year = p->year;
    q.agency = p->agency;
    q.dossier_prefix = p->prefix;
    q.doc_type = p->dtype;
    q.doc_code = p->dcode;
    q.issued_from = p->dfrom;
    q.issued_to = p->dto;
    q.agencies = c->u.admin ? NULL : (const char *const *)c->u.agencies;
    sh_err err = {0};
    int rc = sh__web_ro_db(c);
    sqlite3 *dbs[SH_SHARDS_MAX];
    for (int k = 0; !rc && k < c->srv->nwh; k++)
        if (!(dbs[k] = sh__web_db_of(c, k)))
            rc = SH_EINDEX;
    if (!rc && (rc = sh_search_shards(dbs, c->srv->nwh, c->srv->whs, &q,
                                      hits, &err)))
        sh_log(SH_LOG_ERROR, "search failed: %s", err.msg);
    if (!rc) {
        /* the filters, as asked (only those given) */
        json_t *f = json_object();
        const char *k[] = {"agency", "prefix", "type", "code", "from", "to"};
        const char *v[] = {p->agency, p->prefix, p->dtype, p->dcode,
                           p->dfrom, p->dto};
        for (int i = 0; f && i < 6; i++)
            if (v[i] && v[i][0])
                json_object_set_new(f, k[i], sh__web_jstr(v[i]));
        if (f && p->year)
            json_object_set_new(f, "year", json_integer(p->year));
        if (f && p->offset)
            json_object_set_new(f, "offset", json_integer(p->offset));
        char *detail = f && json_object_size(f)
                           ? json_dumps(f, JSON_COMPACT | JSON_SORT_KEYS)
                           : NULL;
        json_decref(f);
        rc = sh__web_audit_detail(c, "search", p->q, hits->total, NULL, 0,
                                  200, detail);
        free(detail);
    }
    return rc;
}

void sh__web_pagerow_release(sh__web_pagerow *r)
{
    free(r->agency);
    free(r->src);
    free(r->words);
    memset(r, 0, sizeof *r);
}

/* Look up page N of dossier id as the user may see it: 1 found, 0 not
   found or not allowed, -1 catalog error. */
int sh__web_find_page(sh__web_ctx *c, const char *id, int pageno,
                      sh__web_pagerow *r)
{
    memset(r, 0, sizeof *r);
    if (sh__web_ro_db(c))
        return -1;
    sqlite3_stmt *st;
#define PAGE_COLS                                                          \
    "SELECT d.agency, coalesce(d.pages,0), s.path, p.frame,"              \
    " coalesce(p.quarter,0), coalesce(p.skew,0), coalesce(p.ocr_w,0),"     \
    " coalesce(p.ocr_h,0), p.words"
#define PAGE_FROM                                                          \
    " FROM dossier d JOIN page p ON p.dossier=d.id"                        \
    " JOIN source s ON s.dossier=p.dossier AND s.name=p.source_name"       \
    " WHERE d.id=?1 AND d.state='done' AND p.pageno=?2 AND"                \
    " (?3 OR d.agency IN (SELECT agency FROM user_agency WHERE user=?4))" \
    " LIMIT 1"
    if (sqlite3_prepare_v2(c->db,
                           c->srv->has_geom ? PAGE_COLS ", p.geom" PAGE_FROM
                                            : PAGE_COLS ", NULL" PAGE_FROM,
            -1, &st, NULL) != SQLITE_OK) {
        sh_log(SH_LOG_ERROR, "catalog: %s", sqlite3_errmsg(c->db));
        return -1;
    }
    sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 2, pageno);
    sqlite3_bind_int(st, 3, c->u.admin);
    sqlite3_bind_text(st, 4, c->u.name, -1, SQLITE_TRANSIENT);
    int s = sqlite3_step(st), found = 0;
    if (s == SQLITE_ROW) {
        r->agency = sh_strdup((const char *)sqlite3_column_text(st, 0));
        r->pages = sqlite3_column_int(st, 1);
        r->src = sh_strdup((const char *)sqlite3_column_text(st, 2));
        r->frame = sqlite3_column_int(st, 3);
        r->words = sh_strdup((const char *)sqlite3_column_text(st, 8));
        /* The geometry as stored (JSON); from the columns for rows made
           before it was stored. */
        const char *gs = (const char *)sqlite3_column_text(st, 9);
        json_t *gj = gs ? json_loads(gs, 0, NULL) : NULL;
        if (!gj || sh_geom_from_json(gj, &r->g)) {
            memset(&r->g, 0, sizeof r->g);
            r->g.quarter = sqlite3_column_int(st, 4);
            r->g.skew_deg = sqlite3_column_double(st, 5);
            r->g.ocr_w = sqlite3_column_int(st, 6);
            r->g.ocr_h = sqlite3_column_int(st, 7);
        }
        json_decref(gj);
        found = r->src ? 1 : -1;
        /* belt and braces: the SQL condition above is the rule */
        if (found == 1 && !sh_web_user_may(&c->u, r->agency))
            found = 0;
    } else if (s != SQLITE_DONE) {
        sh_log(SH_LOG_ERROR, "catalog: %s", sqlite3_errmsg(c->db));
        found = -1;
    }
    sqlite3_finalize(st);
    if (found != 1)
        sh__web_pagerow_release(r);
    return found;
}

/* Split "ID/N" + suffix into a valid id and a page number. */
int sh__web_parse_id_page(const char *rest, const char *suffix, char *id,
                          size_t idsz, int *page)
{
    const char *slash = strrchr(rest, '/');
    if (!slash || (size_t)(slash - rest) >= idsz)
        return -1;
    memcpy(id, rest, (size_t)(slash - rest));
    id[slash - rest] = 0;
    const char *num = slash + 1;
    size_t sl = strlen(suffix), nl = strlen(num);
    if (nl <= sl || strcmp(num + nl - sl, suffix))
        return -1;
    nl -= sl;
    if (nl > 6)
        return -1;
    int v = 0;
    for (size_t i = 0; i < nl; i++) {
        if (num[i] < '0' || num[i] > '9')
            return -1;
        v = v * 10 + (num[i] - '0');
    }
    if (v < 1 || !sh_web_valid_id(id))
        return -1;
    *page = v;
    return 0;
}
