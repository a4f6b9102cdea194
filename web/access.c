/*
 * access.c — the catalog as the session's user may see it, and the audit
 * journal.
 *
 *   sh__web_pool_init, sh__web_pool_close   the read-only connections
 *   sh__web_ro_db, sh__web_db_release  a request's, taken and given back
 *   sh__web_stmt, sh__web_stmt_done   statements kept on a connection
 *   sh__web_rw_db                     a read-write one, for one write
 *   sh__web_audit_as, sh__web_audit, sh__web_audit_detail   one journal
 *                                     row
 *   sh__web_denied                    a refused request for content,
 *                                     journalled, answered 404
 *   sh__web_parse_search              the parameters of a search
 *   sh__web_run_search                the search, journalled
 *   sh__web_hit_docs, _free           the documents of the hits, in one
 *                                     statement
 *   sh__web_find_page                 one page, with the agency condition
 *   sh__web_pagerow_release
 *   sh__web_parse_id_page             "ID/N" from a URL
 *
 * Method.  A request takes a read-only catalog connection from the
 * server's pool (opened once, kept with its page cache, its registered
 * functions and the statements prepared on it; at most pool.max at once,
 * more requests wait for one) and gives it back at its end with no read
 * transaction left open, so the next request sees the catalog as it then
 * is (WAL: all of it runs while `sohoa run` writes).  A read-write
 * connection is opened only for the moment a session is written; audit
 * rows go to the journal's writer thread (auditq.c).  Access is decided in
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
/* A search that would hold a pooled connection longer is stopped (and
   answered "too broad"): a few such searches would stall the site. */
#define SEARCH_TIME_LIMIT_MS 10000

void sh__web_pool_init(sh__web_pool *p, int max)
{
    memset(p, 0, sizeof *p);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    p->max = max > 0 ? max : 1;
}

static void dbc_close(sh__web_dbc *k)
{
    for (int i = 0; i < SH__WEB_ST_COUNT; i++)
        sqlite3_finalize(k->st[i]);
    sh_search_memo_close(&k->memo);
    sh_db_close(&k->db);
    free(k);
}

void sh__web_pool_close(sh__web_pool *p)
{
    pthread_mutex_lock(&p->mu);
    while (p->idle) {
        sh__web_dbc *k = p->idle;
        p->idle = k->next;
        p->open--;
        dbc_close(k);
    }
    pthread_mutex_unlock(&p->mu);
}

int sh__web_ro_db(sh__web_ctx *c)
{
    if (c->db)
        return SH_OK;
    sh__web_pool *p = &c->srv->pool;
    sh__web_dbc *k = NULL;
    pthread_mutex_lock(&p->mu);
    /* In arrival order: a condition variable wakes any waiter, and under
       load some requests would wait for many turns (the p99 latency). */
    uint64_t mine = p->ticket++;
    while (mine != p->serving || (!p->idle && p->open >= p->max))
        pthread_cond_wait(&p->cv, &p->mu);
    p->serving++;
    pthread_cond_broadcast(&p->cv);     /* the next ticket's turn */
    if (p->idle) {
        k = p->idle;
        p->idle = k->next;
    } else {
        p->open++;   /* ours to open, outside the lock */
    }
    pthread_mutex_unlock(&p->mu);
    if (!k) {
        sh_err err = {0};
        int rc = SH_ENOMEM;
        if ((k = calloc(1, sizeof *k)) &&
            (rc = sh_db_open(c->srv->wh, 1, &k->db, &err)))
            sh_log(SH_LOG_ERROR, "%s", err.msg);
        if (rc) {
            free(k);
            pthread_mutex_lock(&p->mu);
            p->open--;
            pthread_cond_broadcast(&p->cv);
            pthread_mutex_unlock(&p->mu);
            return rc;
        }
    }
    k->next = NULL;
    c->dbc = k;
    c->db = k->db;
    return SH_OK;
}

void sh__web_db_release(sh__web_ctx *c)
{
    sh__web_dbc *k = c->dbc;
    if (!k)
        return;
    c->dbc = NULL;
    c->db = NULL;
    /* no statement left running, no read transaction left open: the
       next request must see the catalog as it is then */
    for (sqlite3_stmt *st = sqlite3_next_stmt(k->db, NULL); st;
         st = sqlite3_next_stmt(k->db, st))
        if (sqlite3_stmt_busy(st))
            sqlite3_reset(st);
    if (!sqlite3_get_autocommit(k->db))
        sqlite3_exec(k->db, "ROLLBACK", NULL, NULL, NULL);
    sh__web_pool *p = &c->srv->pool;
    pthread_mutex_lock(&p->mu);
    k->next = p->idle;
    p->idle = k;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

sqlite3_stmt *sh__web_stmt(sh__web_ctx *c, int slot, const char *sql)
{
    sh__web_dbc *k = c->dbc;
    if (!k || slot < 0 || slot >= SH__WEB_ST_COUNT)
        return NULL;
    if (!k->st[slot] &&
        sqlite3_prepare_v3(k->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
                           &k->st[slot], NULL) != SQLITE_OK) {
        sh_log(SH_LOG_ERROR, "catalog: %s", sqlite3_errmsg(k->db));
        sqlite3_finalize(k->st[slot]);
        k->st[slot] = NULL;
    }
    return k->st[slot];
}

void sh__web_stmt_done(sqlite3_stmt *st)
{
    if (st) {
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
    }
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
    sh_audit_rec r = {user ? user : c->u.name[0] ? c->u.name : NULL,
                      c->addr, action, query, results, dossier, page,
                      status, detail};
    return sh__web_auditq_put(c->srv->audit, &r);
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
    q.time_limit_ms = SEARCH_TIME_LIMIT_MS;
    sh_err err = {0};
    int rc = sh__web_ro_db(c);
    /* the pooled connection's memo: a filter planned once (an agency's
       page bitmap, the estimate over dossiers) serves its next searches */
    if (!rc && !c->dbc->memo && sh_search_memo_open(&c->dbc->memo))
        rc = SH_ENOMEM;
    if (!rc)
        q.memo = c->dbc->memo;
    sqlite3 *dbs[SH_SHARDS_MAX];
    for (int k = 0; !rc && k < c->srv->nwh; k++)
        if (!(dbs[k] = sh__web_db_of(c, k)))
            rc = SH_EINDEX;
    if (!rc && (rc = sh_search_shards(dbs, c->srv->nwh, c->srv->whs, &q,
                                      hits, &err)))
        sh_log(rc == SH_ETIMEOUT ? SH_LOG_WARN : SH_LOG_ERROR,
               "search by %s failed: %s", c->u.name[0] ? c->u.name : "-",
               err.msg);
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

/* The hits as JSON [[dossier, page], ...] for json_each; null for a
   hit of another shard (its document is looked up in its own catalog). */
static char *hits_json(const sh_hits *hits)
{
    json_t *a = json_array();
    for (int i = 0; a && i < hits->n; i++)
        if (json_array_append_new(a, hits->h[i].shard > 0
                                         ? json_null()
                                         : json_pack("[s?i]",
                                                     hits->h[i].dossier,
                                                     hits->h[i].page))) {
            json_decref(a);
            a = NULL;
        }
    char *s = a ? json_dumps(a, JSON_COMPACT) : NULL;
    json_decref(a);
    return s;
}

int sh__web_hit_docs(sh__web_ctx *c, const sh_hits *hits, sh_docinfo **out)
{
    *out = NULL;
    if (!hits->n)
        return SH_OK;
    sh_docinfo *d = calloc((size_t)hits->n, sizeof *d);
    char *arg = hits_json(hits);
    if (!d || !arg) {
        free(d);
        free(arg);
        return SH_ENOMEM;
    }
    *out = d;
    /* a catalog from before documents were recorded has no table: no
       document, not an error (as sh_doc_at) */
    sqlite3_stmt *st = NULL;
    int rc = sh__web_ro_db(c);
    if (!rc && !c->dbc->st[SH__WEB_ST_DOCS])
        c->dbc->no_docs = sqlite3_table_column_metadata(
            c->db, NULL, "document", "dossier", NULL, NULL, NULL, NULL,
            NULL) != SQLITE_OK;
    if (!rc && !c->dbc->no_docs)
        st = sh__web_stmt(c, SH__WEB_ST_DOCS,
              "SELECT h.key, t.ordinal, t.first_page, t.last_page,"
              " t.type_name, t.code_number, t.code_notation, t.issued_date,"
              " t.organ_name, t.subject, t.origin"
              " FROM json_each(?1) AS h CROSS JOIN document AS t"
              " ON t.dossier = json_extract(h.value, '$[0]')"
              " AND t.first_page <= json_extract(h.value, '$[1]')"
              " AND t.last_page >= json_extract(h.value, '$[1]')"
              " ORDER BY h.key, t.ordinal");
    if (rc || !st) {
        free(arg);
        return rc ? rc : c->dbc->no_docs ? SH_OK : SH_EINDEX;
    }
    sqlite3_bind_text(st, 1, arg, -1, SQLITE_STATIC);
    int s, oom = 0;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        int i = sqlite3_column_int(st, 0);
        if (i < 0 || i >= hits->n || d[i].ordinal)
            continue;   /* the first document holding the page */
        sh_docinfo *x = &d[i];
        x->ordinal = sqlite3_column_int(st, 1);
        x->first_page = sqlite3_column_int(st, 2);
        x->last_page = sqlite3_column_int(st, 3);
        const char *t[] = {NULL, NULL, NULL, NULL, NULL, NULL, NULL};
        for (int k = 4; k <= 10; k++)
            t[k - 4] = (const char *)sqlite3_column_text(st, k);
        x->type_name = t[0] ? strdup(t[0]) : NULL;
        if (t[1] || t[2]) {
            size_t n = (t[1] ? strlen(t[1]) : 0) + (t[2] ? strlen(t[2]) : 0) + 2;
            if ((x->code = malloc(n)))
                snprintf(x->code, n, "%s%s%s", t[1] ? t[1] : "",
                         t[2] ? "/" : "", t[2] ? t[2] : "");
        }
        x->issued_date = t[3] ? strdup(t[3]) : NULL;
        x->organ_name = t[4] ? strdup(t[4]) : NULL;
        x->subject = t[5] ? strdup(t[5]) : NULL;
        x->origin = t[6] ? strdup(t[6]) : NULL;
        oom |= (t[0] && !x->type_name) || ((t[1] || t[2]) && !x->code) ||
               (t[3] && !x->issued_date) || (t[4] && !x->organ_name) ||
               (t[5] && !x->subject) || (t[6] && !x->origin);
    }
    if (s != SQLITE_DONE) {
        sh_log(SH_LOG_ERROR, "catalog: %s", sqlite3_errmsg(c->db));
        rc = SH_EINDEX;
    }
    sh__web_stmt_done(st);
    free(arg);
    /* hits of the other shards, one by one in their own catalogs */
    for (int i = 0; !rc && i < hits->n; i++) {
        const sh_hit *h = &hits->h[i];
        sqlite3 *sdb = h->shard > 0 ? sh__web_db_of(c, h->shard) : NULL;
        sh_err err = {0};
        if (sdb && sh_doc_at(sdb, h->dossier, h->page, &d[i], &err)) {
            sh_log(SH_LOG_ERROR, "shard %d: %s", h->shard, err.msg);
            rc = SH_EINDEX;
        }
    }
    return rc ? rc : oom ? SH_ENOMEM : SH_OK;
}

void sh__web_hit_docs_free(sh_docinfo **d, int n)
{
    for (int i = 0; *d && i < n; i++)
        sh_docinfo_release(&(*d)[i]);
    free(*d);
    *d = NULL;
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
