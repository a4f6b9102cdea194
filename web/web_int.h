/*
 * web_int.h — what the pieces of `sohoa serve` share.  Not for use
 * outside web/.
 *
 *   http.c      libmicrohttpd: the daemon, request bodies and their limit,
 *               URL unescaping, answers with the common headers, cookies,
 *               the gates that bound renders and logins
 *   access.c    the catalog as the session's user may see it (a pool of
 *               read-only connections), the audit journal, the parameters
 *               of a search and of a page URL
 *   auditq.c    the audit journal's writer thread (group commits, audit.db)
 *   pages.c     the HTML frame, the search page, the page view
 *   api.c       /api/search, /api/page
 *   download.c  /page/ID/N.png (scanners/render.c draws it), /pdf/ID
 *   login.c     login, logout, sessions, the same-origin rule for POSTs
 *   throttle.c  the login throttle (declared in web.h: unit-tested)
 *   assets.c    app.css, app.js, the Content-Security-Policy
 *   review.c    the clerk's review queue and page view
 *   review_page.c the clerk's page view (GET /review/ID/N)
 *   review_api.c  the clerk's saves (POST /api/review/ID)
 *   rebuild.c   a saved dossier rebuilt in the background
 *   serve.c     the routes and the command
 *   text.c, words.c: the text helpers declared in web.h
 *
 * Every handler answers through sh__web_reply_* / sh__web_finish, which
 * queue the response with the common headers and log the request.
 */
#ifndef SH_WEB_INT_H
#define SH_WEB_INT_H

#include "web.h"
#include "../index/index.h"
#include "../index/docs.h"
#include "../scanners/geom.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <pthread.h>
#include <sys/socket.h>

#define SH__WEB_RENDER_WIDTH 1000   /* page image width, px             */
#define SH__WEB_COOKIE "sohoa_session"
/* with --secure-cookies: a browser keeps a __Host- cookie only when it is
   Secure, Path=/ and has no Domain, so no sibling host can plant one */
#define SH__WEB_COOKIE_HOST "__Host-sohoa_session"

/* ---- server state (http.c) ---- */

/* At most `free` threads at a time pass a gate. */
typedef struct sh__web_gate {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int free;
} sh__web_gate;

/* Open g for n threads at a time. */
void sh__web_gate_init(sh__web_gate *g, int n);
/* Wait until a place is free and take it; give it back. */
void sh__web_gate_enter(sh__web_gate *g);
void sh__web_gate_leave(sh__web_gate *g);

/* What `sohoa serve` bounds (options; 0 = the default in brackets). */
typedef struct sh__web_limits {
    int max_conns;           /* connections at once, all clients [256]    */
    int per_ip;              /* connections at once from one address [16] */
    int head_timeout;        /* s to send a request head, also the idle
                                wait between keep-alive requests [10]     */
    int idle_timeout;        /* s of silence inside a request (a body
                                being sent, an answer being read) [30]    */
} sh__web_limits;

/* One open connection, for the head deadline (http.c). */
typedef struct sh__web_conn {
    struct sh__web_conn *prev, *next;
    int fd;                  /* our dup of the socket: shutdown() ends it */
    double since;            /* when it began waiting for a request head  */
    int in_request;          /* 1 from the head until the answer is sent  */
    int cut;                 /* 1 once shut down by the reaper            */
} sh__web_conn;

/* A read-only catalog connection kept across requests (access.c), with
   the statements of web/ prepared on it once, by slot. */
enum { SH__WEB_ST_PAGE, SH__WEB_ST_DOCS, SH__WEB_ST_COUNT };
typedef struct sh__web_dbc {
    struct sh__web_dbc *next;
    sqlite3 *db;
    sqlite3_stmt *st[SH__WEB_ST_COUNT];
    sh_search_memo *memo;    /* how its searches' filters were planned   */
    int no_docs;             /* 1: the catalog has no document table     */
} sh__web_dbc;

/* At most max connections, opened on demand; a request takes one for
   its whole length and gives it back (idle: the free ones). */
typedef struct sh__web_pool {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    sh__web_dbc *idle;
    int open, max;
    uint64_t ticket, serving; /* first come, first served: a request takes
                                 the next ticket and is given a connection
                                 when its number comes up */
} sh__web_pool;

/* The audit journal's writer (auditq.c). */
typedef struct sh__web_auditq sh__web_auditq;

typedef struct sh__web_server {
    const char *wh;          /* the site's warehouse: users, sessions,
                                audit, review (= whs[0])                 */
    const char *const *whs;  /* every warehouse searched (shards.c)      */
    int nwh;
    int secure_cookie;
    const char *cookie_name; /* SH__WEB_COOKIE or SH__WEB_COOKIE_HOST     */
    int has_geom;            /* page.geom exists (catalogs from before it
                                keep the geometry in columns only)      */
    int session_idle;        /* s without a request that end a session    */
    char trusted_proxy[INET6_ADDRSTRLEN]; /* "" = none: X-Forwarded-For is
                                honoured only from this address           */
    sh__web_limits lim;
    sh__web_gate renders, logins;
    sh_web_throttle *throttle;
    sh__web_pool pool;       /* read-only catalog connections (access.c) */
    sh__web_auditq *audit;   /* the journal's writer thread (auditq.c)   */
    /* the open connections and their reaper (http.c) */
    pthread_mutex_t conns_mu;
    sh__web_conn *conns;
    pthread_t reaper;
    int reaper_on, stopping;
} sh__web_server;

/* Per-request state (MHD's con_cls). */
typedef struct sh__web_req {
    double t0;
    sh_buf body;
    int too_big;
} sh__web_req;

/* What a handler works with. */
typedef struct sh__web_ctx {
    sh__web_server *srv;
    struct MHD_Connection *con;
    const char *method, *url;
    sh__web_req *rq;
    char addr[INET6_ADDRSTRLEN + 8];
    sqlite3 *db;             /* read-only: the site's warehouse, taken from
                                srv->pool on first use (dbc->db) and given
                                back at the end; or the shard ?shard=K
                                names (shards.c) */
    sh__web_dbc *dbc;
    sqlite3 *db0;            /* the site's, while db is a shard's        */
    sqlite3 **sdb;           /* [nwh] shard connections opened          */
    int shard;               /* which warehouse db reads (0 = the site's) */
    sh_web_user u;           /* u.name[0] == 0: no session */
    char token[65];
} sh__web_ctx;

/* Start the daemon for srv on address ss (one thread per connection,
   request bodies up to 16 KB, srv->lim's connection limits and deadlines,
   a reaper thread that ends connections whose request head is late);
   requests go to sh__web_route.  Returns NULL (errno set) when it cannot
   listen.  Stop it with sh__web_stop. */
struct MHD_Daemon *sh__web_start(sh__web_server *srv,
                                 const struct sockaddr_storage *ss);
void sh__web_stop(sh__web_server *srv, struct MHD_Daemon *d);

/* ---- answers (http.c) ---- */

/* Kinds of answer, for the headers: HTML and JSON are never cached,
   static assets an hour; a file (the PDF) gets no CSP. */
enum { K_HTML, K_JSON, K_STATIC, K_FILE };

/* Queue r (consumed; NULL = out of memory, answered MHD_NO) with the
   common headers and log the request.  ctype [optional].
   extra: NULL or a NULL-terminated list of header name, value pairs. */
enum MHD_Result sh__web_finish(sh__web_ctx *c, struct MHD_Response *r,
                               int status, const char *ctype, int kind,
                               const char *const *extra);
/* Answer with a malloc'd body (taken over, also on failure). */
enum MHD_Result sh__web_reply_take(sh__web_ctx *c, int status,
                                   const char *ctype, int kind, char *data,
                                   size_t n, const char *const *extra);
/* Answer with a static NUL-terminated body. */
enum MHD_Result sh__web_reply_static(sh__web_ctx *c, int status,
                                     const char *ctype, int kind,
                                     const char *data,
                                     const char *const *extra);
/* Answer with the HTML in b (taken over, b emptied; 500 when b holds
   nothing: out of memory). */
enum MHD_Result sh__web_reply_html(sh__web_ctx *c, int status, sh_buf *b,
                                   const char *const *extra);
/* Answer with j (reference taken; NULL = out of memory: 500). */
enum MHD_Result sh__web_reply_json(sh__web_ctx *c, int status, json_t *j);
/* {"error": code, "message": msg} */
enum MHD_Result sh__web_json_error(sh__web_ctx *c, int status,
                                   const char *code, const char *msg);
/* 303 to `to`, with a Set-Cookie header when set_cookie is not NULL. */
enum MHD_Result sh__web_redirect(sh__web_ctx *c, const char *to,
                                 const char *set_cookie);

/* The URL argument name, or NULL when absent or empty. */
const char *sh__web_arg(sh__web_ctx *c, const char *name);

/* ---- cookies (http.c) ---- */

/* The session token of the request's cookie (srv->cookie_name) into
   out[65] when it is sent exactly once and well formed (64 lowercase hex);
   returns out, or NULL (also when the name comes twice: a cookie planted
   beside ours is refused, not guessed between). */
const char *sh__web_cookie(sh__web_ctx *c, char out[65]);
/* The Set-Cookie value giving token to the browser for the session's
   lifetime (Secure when the server was told so), into out[n]. */
void sh__web_cookie_set(const sh__web_ctx *c, const char *token, char *out,
                        size_t n);
/* The Set-Cookie value that removes it, into out[n]. */
void sh__web_cookie_clear(const sh__web_ctx *c, char *out, size_t n);

/* ---- the catalog and the journal (access.c) ---- */

/* c->db: a read-only catalog connection taken from srv->pool on first
   use (waiting while all pool->max are in use).  SH_OK or an error
   already logged. */
int sh__web_ro_db(sh__web_ctx *c);
/* Give c's connection back to the pool (its read transaction ended); a
   request does it at its end, or before a long wait that needs no
   catalog (a render).  No-op without one. */
void sh__web_db_release(sh__web_ctx *c);
/* The pool for at most max connections; all closed at the end. */
void sh__web_pool_init(sh__web_pool *p, int max);
void sh__web_pool_close(sh__web_pool *p);
/* Statement slot of c's connection, prepared from sql the first time
   (c->db must be taken).  Reset it (sh__web_stmt_done) instead of
   finalizing it.  NULL on error (logged). */
sqlite3_stmt *sh__web_stmt(sh__web_ctx *c, int slot, const char *sql);
void sh__web_stmt_done(sqlite3_stmt *st);
/* A read-write connection for one write (close it with sqlite3_close).
   SH_OK or SH_EINDEX, logged. */
int sh__web_rw_db(sh__web_server *s, sqlite3 **db);
/* Journal one action of user (NULL = the session's): the row is queued
   for the writer thread (auditq.c), which commits it within about
   SH__WEB_AUDIT_GATHER_MS.  SH_OK, or an error (logged) when the journal
   cannot be written now: the caller answers 503, not the data. */
int sh__web_audit_as(sh__web_ctx *c, const char *user, const char *action,
                     const char *query, int results, const char *dossier,
                     int page, int status);
/* The same, as the session's user. */
int sh__web_audit(sh__web_ctx *c, const char *action, const char *query,
                  int results, const char *dossier, int page, int status);
/* The same with detail [optional]: what else was asked (JSON text, e.g. a
   search's filters). */
int sh__web_audit_detail(sh__web_ctx *c, const char *action,
                         const char *query, int results, const char *dossier,
                         int page, int status, const char *detail);
/* Journal a request for dossier content that was not answered with it
   (404: no such page, not allowed, or a malformed id): what was asked
   (rest of the URL, cleaned) and by whom, then answer not found. */
enum MHD_Result sh__web_denied(sh__web_ctx *c, const char *action,
                               const char *asked, int page, int api);

/* The parameters of a search (the page / and /api/search). */
typedef struct sh__web_sparams {
    char *q;                /* cleaned UTF-8, at most SH_QUERY_MAX_BYTES */
    int qcut;               /* 1: the typed query was longer             */
    int limit, offset, year;
    const char *agency, *prefix;
    /* the document (văn bản) filters: type, number/notation, issued
       from/to (ISO dates, partial allowed); "" = none */
    const char *dtype, *dcode, *dfrom, *dto;
} sh__web_sparams;

/* Read the search parameters; on a bad one returns -1 with *why set.
   p->q: malloc'd (free it also on error; NULL when out of memory). */
int sh__web_parse_search(sh__web_ctx *c, sh__web_sparams *p,
                         const char **why);
/* Run the search as the user may see it, and journal it.  Returns SH_OK,
   or an error after which the caller answers 503.  Release hits. */
int sh__web_run_search(sh__web_ctx *c, const sh__web_sparams *p,
                       sh_hits *hits);

/* The document (văn bản) holding each hit's page, in one statement:
   *out: hits->n entries (ordinal 0: none, as sh_doc_at), free with
   sh__web_hit_docs_free (also after an error); NULL when there are no
   hits.  Returns SH_OK, SH_ENOMEM or SH_EINDEX (logged). */
int sh__web_hit_docs(sh__web_ctx *c, const sh_hits *hits, sh_docinfo **out);
void sh__web_hit_docs_free(sh_docinfo **d, int n);

/* One page as the catalog has it. */
typedef struct sh__web_pagerow {
    char *agency, *src, *words;
    int pages, frame;
    sh_geom g;               /* ocr_w x ocr_h: the OCR image, box space */
} sh__web_pagerow;

void sh__web_pagerow_release(sh__web_pagerow *r);
/* Look up page N of dossier id as the user may see it: 1 found, 0 not
   found or not allowed, -1 catalog error.  r: release it when 1. */
int sh__web_find_page(sh__web_ctx *c, const char *id, int pageno,
                      sh__web_pagerow *r);
/* Split "ID/N" + suffix into a valid id and a page number: 0, or -1 when
   it is not one. */
int sh__web_parse_id_page(const char *rest, const char *suffix, char *id,
                          size_t idsz, int *page);

/* ---- the audit writer (auditq.c) ---- */

#define SH__WEB_AUDIT_GATHER_MS 50   /* a row waits at most this long
                                       before its group commit starts  */
/* Open WAREHOUSE's catalog for writing (synchronous=FULL: a commit is on
   disk when it returns) and start the writer thread.  NULL (logged) when
   it cannot. */
sh__web_auditq *sh__web_auditq_start(const char *warehouse);
/* Queue a copy of r, stamped with the time now.
   SH_OK, or SH_EINDEX (logged) when the writer is failing with rows
   pending or too many rows wait: the journal cannot take it. */
int sh__web_auditq_put(sh__web_auditq *q, const sh_audit_rec *r);
/* Write every queued row, stop the thread, close the catalog; logs the
   rows written and failures.  Returns the rows that could not be written
   (0 normally).  Accepts NULL; sets *q to NULL. */
int64_t sh__web_auditq_stop(sh__web_auditq **q);
/* Rows written, failed commits, rows waiting (for the log and tests). */
void sh__web_auditq_stats(sh__web_auditq *q, int64_t *written,
                          int64_t *failures, int64_t *pending);
/* ---- shards served together (shards.c) ---- */

/* At start: each warehouse named once, its catalog opens and reads; else
   a message naming it on stderr and SH_EUSAGE. */
int sh__web_shards_check(const char *const *whs, int n);
/* ?shard=K on a page, image, word-box or PDF URL: that shard's catalog
   becomes c->db (with the session's agencies as its user_agency).  0, or
   -1 when K is not a shard or not for this URL (answer not found). */
int sh__web_pick_shard(sh__web_ctx *c, const char *url);
/* The read-only connection to warehouse k (0 = the site's); NULL on an
   error (logged).  Closed at the request's end. */
sqlite3 *sh__web_db_of(sh__web_ctx *c, int k);
/* Append "?shard=K" (first = 1) or "&amp;shard=K" to a link to hit or
   page of shard k; nothing for the site's own warehouse. */
void sh__web_shard_arg(sh_buf *b, const sh__web_ctx *c, int k, int first);
/* Close the request's shard connections (http.c, at its end). */
void sh__web_shards_close(sh__web_ctx *c);

/* ---- HTML frame and pages (pages.c) ---- */

/* The page head, the top bar (user and logout when signed in) and
   <main>; its end. */
void sh__web_html_start(sh_buf *b, sh__web_ctx *c, const char *title);
void sh__web_html_end(sh_buf *b);
/* 404 and 503, as a page or (api = 1) as JSON. */
enum MHD_Result sh__web_not_found(sh__web_ctx *c, int api);
enum MHD_Result sh__web_unavailable(sh__web_ctx *c, int api,
                                    const char *why);
/* Why a search stopped at its time limit (SH_ETIMEOUT), for the API and
   for the page. */
#define SH__WEB_TOO_BROAD_EN                                               \
    "search stopped at its time limit: the words with these filters "      \
    "match too much; narrow the words or the filters"
#define SH__WEB_TOO_BROAD_VI                                               \
    "Tìm kiếm quá rộng, không xong trong thời gian cho phép: hãy thêm từ " \
    "khóa hoặc bớt bộ lọc rồi thử lại."
/* GET /, GET /view/ID/N (rest = "ID/N"). */
enum MHD_Result sh__web_page_search(sh__web_ctx *c);
enum MHD_Result sh__web_page_view(sh__web_ctx *c, const char *rest);

/* ---- JSON API (api.c) ---- */

enum MHD_Result sh__web_api_search(sh__web_ctx *c);
enum MHD_Result sh__web_api_page(sh__web_ctx *c, const char *rest);

/* ---- the clerk's review queue (review.c) ---- */

/* GET /review, GET /api/review: 403 (journalled) unless clerk or admin. */
enum MHD_Result sh__web_page_review(sh__web_ctx *c);
enum MHD_Result sh__web_api_review(sh__web_ctx *c);
/* POST /api/review/ID: one clerk's decision (review_api.c). */
enum MHD_Result sh__web_api_review_save(sh__web_ctx *c, const char *id);
/* GET /review/ID/N (and N.png, the sheet as scanned): the clerk's page
   view; GET /api/review/ID/N: its data (review_page.c). */
enum MHD_Result sh__web_page_review_page(sh__web_ctx *c, const char *rest);
enum MHD_Result sh__web_api_review_page(sh__web_ctx *c, const char *rest);

/* ---- the rebuild after a save (rebuild.c) ---- */

/* Rebuild dossier id in the background (`sohoa run --only`); SH_OK when
   queued.  sh__web_rebuild_busy: 1 while queued or running. */
int sh__web_rebuild(sh__web_server *srv, const char *id);
int sh__web_rebuild_busy(const char *id);

/* ---- files (download.c) ---- */

/* GET /page/ID/N.png (rest = "ID/N.png"), GET /pdf/ID. */
enum MHD_Result sh__web_page_png(sh__web_ctx *c, const char *rest);
enum MHD_Result sh__web_pdf_file(sh__web_ctx *c, const char *id);

/* ---- login, logout, sessions (login.c) ---- */

/* Load the session's user into c->u (and c->token) when the request's
   cookie names a live session; otherwise leave c->u empty. */
void sh__web_session_load(sh__web_ctx *c);
/* GET /login: the form (msg [optional]: an error shown above it). */
enum MHD_Result sh__web_login_page(sh__web_ctx *c, int status,
                                   const char *msg);
/* POST /login, POST /logout. */
enum MHD_Result sh__web_do_login(sh__web_ctx *c);
enum MHD_Result sh__web_do_logout(sh__web_ctx *c);
/* 1 if a POST comes from our own pages (see login.c). */
int sh__web_same_origin(sh__web_ctx *c);

/* ---- routes (serve.c) ---- */

enum MHD_Result sh__web_route(sh__web_ctx *c);

/* ---- assets (assets.c) ---- */

extern const char sh__web_css[];
extern const char sh__web_js[];
extern const char sh__web_review_js[];
extern const char sh__web_csp[];

/* ---- text (text.c) ---- */

/* Value of a hex digit, or -1. */
int sh__web_hexval(char c);
/* JSON string from text that may not be valid UTF-8 (NULL → null). */
json_t *sh__web_jstr(const char *s);

#endif
