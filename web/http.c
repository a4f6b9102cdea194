/*
 * http.c — the HTTP side of `sohoa serve`, over libmicrohttpd.
 *
 *   sh__web_start, sh__web_stop   the daemon: one thread per connection,
 *                         limits, the reaper of late request heads
 *   (static) handler      one request: its body (at most BODY_MAX bytes,
 *                         413 beyond), its context, then sh__web_route
 *   (static) completed, unescape, mhd_log, client_addr, notify_conn,
 *                         reaper, conn_of
 *   sh__web_finish        the common headers (CSP, nosniff, no framing,
 *                         same-origin referrers, caching) and the log line
 *   sh__web_reply_take, _static, _html, _json, sh__web_json_error,
 *   sh__web_redirect      answers built on it
 *   sh__web_arg           a URL argument
 *   sh__web_cookie, sh__web_cookie_set, sh__web_cookie_clear
 *                         the session cookie
 *   sh__web_gate_init, _enter, _leave    bounded concurrency
 *
 * Method.  A request's first call makes its sh__web_req (the start time,
 * the body so far); a Content-Length over the limit is refused before the
 * body is read, and a body that grows past it is dropped and refused.  The
 * last call builds an sh__web_ctx (client address, no session yet), has
 * it routed, and releases what the handlers opened on it (the read-only
 * catalog connection, the user).  Every answer passes sh__web_finish.
 * The URL is unescaped by our own callback so that %00 cannot cut an id.
 *
 * Floods.  One client may hold lim.per_ip connections (MHD refuses the
 * rest at once), all clients lim.max_conns; a connection silent for
 * lim.idle_timeout s is closed by MHD.  Silence alone is not enough: a
 * client trickling one header byte at a time would hold its thread for
 * ever, so each connection is tracked from MHD's "started" notice (with a
 * dup of its socket) and a reaper thread shuts down, once a second, any
 * that has not finished its request head lim.head_timeout s after it
 * opened or after its previous answer (keep-alive).  The dup keeps the
 * socket number ours until MHD's "closed" notice, so the reaper never
 * touches a number reused by another connection.
 *
 * The client address is the socket's, or — only when the socket's is
 * srv->trusted_proxy — the last address of X-Forwarded-For (the one that
 * proxy added; earlier ones are the client's own claims).
 */
#include "web_int.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define BODY_MAX 16384          /* request body bytes accepted          */

void sh__web_gate_init(sh__web_gate *g, int n)
{
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->cv, NULL);
    g->free = n;
}

void sh__web_gate_enter(sh__web_gate *g)
{
    pthread_mutex_lock(&g->mu);
    while (g->free <= 0)
        pthread_cond_wait(&g->cv, &g->mu);
    g->free--;
    pthread_mutex_unlock(&g->mu);
}

void sh__web_gate_leave(sh__web_gate *g)
{
    pthread_mutex_lock(&g->mu);
    g->free++;
    pthread_cond_signal(&g->cv);
    pthread_mutex_unlock(&g->mu);
}

/* Queue r (consumed) with the common headers and log the request.
   extra: NULL or a NULL-terminated list of header name, value pairs. */
enum MHD_Result sh__web_finish(sh__web_ctx *c, struct MHD_Response *r,
                               int status, const char *ctype, int kind,
                               const char *const *extra)
{
    if (!r) {
        sh_log(SH_LOG_ERROR, "%s %s %s: cannot build the response (out of "
                             "memory)", c->addr, c->method, c->url);
        return MHD_NO;
    }
    if (ctype)
        MHD_add_response_header(r, "Content-Type", ctype);
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "X-Frame-Options", "DENY");
    /* same-origin, not no-referrer: with no-referrer a browser sends
       "Origin: null" on our own form posts */
    MHD_add_response_header(r, "Referrer-Policy", "same-origin");
    /* The PDF gets no CSP: Chromium applies it to its viewer. */
    if (kind != K_FILE)
        MHD_add_response_header(r, "Content-Security-Policy",
                                sh__web_csp);
    MHD_add_response_header(r, "Cache-Control",
                            kind == K_STATIC ? "public, max-age=3600"
                                             : "no-store");
    for (const char *const *e = extra; e && e[0]; e += 2)
        MHD_add_response_header(r, e[0], e[1]);
    enum MHD_Result ok = MHD_queue_response(c->con, (unsigned)status, r);
    MHD_destroy_response(r);
    sh_log(status >= 500 ? SH_LOG_WARN : SH_LOG_INFO,
           "%s %s %s %s -> %d (%.0f ms)", c->addr,
           c->u.name[0] ? c->u.name : "-", c->method, c->url, status,
           (sh_now() - c->rq->t0) * 1000);
    return ok;
}

/* Answer with a malloc'd body (taken over). */
enum MHD_Result sh__web_reply_take(sh__web_ctx *c, int status,
                                   const char *ctype, int kind, char *data,
                                   size_t n, const char *const *extra)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(n, data, MHD_RESPMEM_MUST_FREE);
    if (!r)
        free(data);
    return sh__web_finish(c, r, status, ctype, kind, extra);
}

enum MHD_Result sh__web_reply_static(sh__web_ctx *c, int status,
                                     const char *ctype, int kind,
                                     const char *data, const char *const *extra)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(
        strlen(data), (void *)data, MHD_RESPMEM_PERSISTENT);
    return sh__web_finish(c, r, status, ctype, kind, extra);
}

enum MHD_Result sh__web_reply_html(sh__web_ctx *c, int status, sh_buf *b,
                                   const char *const *extra)
{
    char *d = b->data;
    size_t n = b->len;
    memset(b, 0, sizeof *b);
    if (!d)
        return sh__web_reply_static(c, 500, "text/plain; charset=utf-8", K_HTML,
                                    "out of memory\n", NULL);
    return sh__web_reply_take(c, status, "text/html; charset=utf-8", K_HTML, d,
                              n, extra);
}

enum MHD_Result sh__web_reply_json(sh__web_ctx *c, int status, json_t *j)
{
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!s)
        return sh__web_reply_static(c, 500, "application/json", K_JSON,
                                    "{\"error\":\"out of memory\"}", NULL);
    return sh__web_reply_take(c, status, "application/json; charset=utf-8",
                              K_JSON, s, strlen(s), NULL);
}

enum MHD_Result sh__web_json_error(sh__web_ctx *c, int status, const char *code,
                                   const char *msg)
{
    return sh__web_reply_json(
        c, status, json_pack("{s:s, s:s}", "error", code, "message", msg));
}

enum MHD_Result sh__web_redirect(sh__web_ctx *c, const char *to,
                                 const char *set_cookie)
{
    const char *extra[] = {"Location", to, set_cookie ? "Set-Cookie" : NULL,
                           set_cookie, NULL};
    return sh__web_reply_static(c, 303, "text/plain; charset=utf-8", K_HTML,
                                "See Other\n", extra);
}

const char *sh__web_arg(sh__web_ctx *c, const char *name)
{
    const char *v = MHD_lookup_connection_value(c->con, MHD_GET_ARGUMENT_KIND,
                                                name);
    return v && *v ? v : NULL;
}

/* Our cookie in the Cookie headers: how often it comes and its last
   value (at most 64 bytes kept; longer is not a token anyway). */
typedef struct cookie_scan {
    const char *name;
    int seen;
    char val[66];
} cookie_scan;

static enum MHD_Result cookie_header(void *cls, enum MHD_ValueKind kind,
                                     const char *key, const char *value)
{
    cookie_scan *cs = cls;
    if (strcasecmp(key, "Cookie") || !value)
        return MHD_YES;
    size_t nl = strlen(cs->name);
    for (const char *p = value; *p;) {
        while (*p == ' ' || *p == '\t' || *p == ';')
            p++;
        const char *end = strchr(p, ';');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len > nl && !strncmp(p, cs->name, nl) && p[nl] == '=') {
            size_t vl = len - nl - 1;
            cs->seen++;
            snprintf(cs->val, sizeof cs->val, "%.*s",
                     (int)(vl < 65 ? vl : 65), p + nl + 1);
        }
        p += len;
    }
    return MHD_YES;
}

const char *sh__web_cookie(sh__web_ctx *c, char out[65])
{
    cookie_scan cs = {c->srv->cookie_name, 0, ""};
    MHD_get_connection_values(c->con, MHD_HEADER_KIND, cookie_header, &cs);
    out[0] = 0;
    if (cs.seen != 1 || !sh_web_token_ok(cs.val)) {
        if (cs.seen > 1)
            sh_log(SH_LOG_WARN, "%s: %d session cookies in one request: "
                   "none used", c->addr, cs.seen);
        return NULL;
    }
    memcpy(out, cs.val, 65);
    return out;
}

void sh__web_cookie_set(const sh__web_ctx *c, const char *token, char *out,
                        size_t n)
{
    snprintf(out, n, "%s=%s; HttpOnly; SameSite=Strict; Path=/; Max-Age=%d%s",
             c->srv->cookie_name, token, SH_WEB_SESSION_TTL,
             c->srv->secure_cookie ? "; Secure" : "");
}

void sh__web_cookie_clear(const sh__web_ctx *c, char *out, size_t n)
{
    snprintf(out, n, "%s=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0%s",
             c->srv->cookie_name, c->srv->secure_cookie ? "; Secure" : "");
}

/* The last address of an X-Forwarded-For value into out, if it is one. */
static void forwarded_addr(const char *xff, char *out, size_t n)
{
    const char *last = strrchr(xff, ',');
    last = last ? last + 1 : xff;
    while (*last == ' ' || *last == '\t')
        last++;
    char a[INET6_ADDRSTRLEN];
    size_t len = strcspn(last, " \t");
    if (!len || len >= sizeof a)
        return;
    memcpy(a, last, len);
    a[len] = 0;
    unsigned char bin[sizeof(struct in6_addr)];
    if (inet_pton(AF_INET, a, bin) == 1 || inet_pton(AF_INET6, a, bin) == 1)
        snprintf(out, n, "%s", a);
}

static void client_addr(sh__web_server *srv, struct MHD_Connection *con,
                        char *out, size_t n)
{
    const char *xff = NULL;
    if (srv->trusted_proxy[0])
        xff = MHD_lookup_connection_value(con, MHD_HEADER_KIND,
                                          "X-Forwarded-For");
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(con, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    snprintf(out, n, "?");
    if (!ci || !ci->client_addr)
        return;
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
                  out, (socklen_t)n);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6,
                  &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
                  out, (socklen_t)n);
    if (xff && !strcmp(out, srv->trusted_proxy))
        forwarded_addr(xff, out, n);
}

/* Our record of connection con (NULL when MHD has none). */
static sh__web_conn *conn_of(struct MHD_Connection *con)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(con, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

static void notify_conn(void *cls, struct MHD_Connection *con,
                        void **socket_context,
                        enum MHD_ConnectionNotificationCode toe)
{
    sh__web_server *srv = cls;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(con, MHD_CONNECTION_INFO_CONNECTION_FD);
        sh__web_conn *k = calloc(1, sizeof *k);
        if (!k)
            return;
        k->fd = ci ? fcntl(ci->connect_fd, F_DUPFD_CLOEXEC, 0) : -1;
        k->since = sh_now();
        pthread_mutex_lock(&srv->conns_mu);
        k->next = srv->conns;
        if (k->next)
            k->next->prev = k;
        srv->conns = k;
        pthread_mutex_unlock(&srv->conns_mu);
        *socket_context = k;
    } else if (toe == MHD_CONNECTION_NOTIFY_CLOSED && *socket_context) {
        sh__web_conn *k = *socket_context;
        pthread_mutex_lock(&srv->conns_mu);
        if (k->prev)
            k->prev->next = k->next;
        else
            srv->conns = k->next;
        if (k->next)
            k->next->prev = k->prev;
        pthread_mutex_unlock(&srv->conns_mu);
        if (k->fd >= 0)
            close(k->fd);
        free(k);
        *socket_context = NULL;
    }
}

/* Once a second: shut down the connections whose request head is late. */
static void *reaper(void *arg)
{
    sh__web_server *srv = arg;
    pthread_mutex_lock(&srv->conns_mu);
    while (!srv->stopping) {
        double now = sh_now();
        int cut = 0;
        for (sh__web_conn *k = srv->conns; k; k = k->next)
            if (!k->in_request && !k->cut && k->fd >= 0 &&
                now - k->since > srv->lim.head_timeout) {
                shutdown(k->fd, SHUT_RDWR);
                k->cut = 1;
                cut++;
            }
        pthread_mutex_unlock(&srv->conns_mu);
        if (cut)
            sh_log(SH_LOG_INFO, "http: %d connection%s closed: no request "
                   "within %d s", cut, cut == 1 ? "" : "s",
                   srv->lim.head_timeout);
        usleep(250000);
        pthread_mutex_lock(&srv->conns_mu);
    }
    pthread_mutex_unlock(&srv->conns_mu);
    return NULL;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *con,
                               const char *url, const char *method,
                               const char *version, const char *upload_data,
                               size_t *upload_data_size, void **con_cls)
{
    sh__web_server *srv = cls;
    sh__web_req *rq = *con_cls;
    if (!rq) {
        rq = calloc(1, sizeof *rq);
        if (!rq)
            return MHD_NO;
        rq->t0 = sh_now();
        *con_cls = rq;
        sh__web_conn *k = conn_of(con);
        if (k) {
            pthread_mutex_lock(&srv->conns_mu);
            k->in_request = 1;
            pthread_mutex_unlock(&srv->conns_mu);
        }
        const char *cl = MHD_lookup_connection_value(con, MHD_HEADER_KIND,
                                                     "Content-Length");
        if (cl && strtoull(cl, NULL, 10) > BODY_MAX)
            rq->too_big = 1;
        if (!rq->too_big)
            return MHD_YES;
        /* refuse at once, without reading the body */
    } else if (*upload_data_size) {
        if (!rq->too_big && rq->body.len + *upload_data_size > BODY_MAX) {
            rq->too_big = 1;
            sh_buf_release(&rq->body);
        }
        if (!rq->too_big &&
            sh_buf_add(&rq->body, upload_data, *upload_data_size))
            return MHD_NO;
        *upload_data_size = 0;
        return MHD_YES;
    }
    sh__web_ctx c = {0};
    c.srv = srv;
    c.con = con;
    c.url = url;
    c.method = method;
    c.rq = rq;
    client_addr(srv, con, c.addr, sizeof c.addr);
    enum MHD_Result ok;
    if (rq->too_big) {
        const char *extra[] = {"Connection", "close", NULL};
        ok = sh__web_reply_static(
            &c, 413, "text/plain; charset=utf-8", K_HTML,
            "Payload Too Large: request bodies are limited to "
            "16 KB\n",
            extra);
    } else {
        ok = sh__web_route(&c);
    }
    sh_web_user_release(&c.u);
    sh__web_shards_close(&c);
    sh__web_db_release(&c);
    return ok;
}

static void completed(void *cls, struct MHD_Connection *con, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    sh__web_server *srv = cls;
    sh__web_req *rq = *con_cls;
    if (rq) {
        sh_buf_release(&rq->body);
        free(rq);
        *con_cls = NULL;
    }
    /* the next request head (keep-alive) has its own deadline */
    sh__web_conn *k = conn_of(con);
    if (k) {
        pthread_mutex_lock(&srv->conns_mu);
        k->in_request = 0;
        k->since = sh_now();
        pthread_mutex_unlock(&srv->conns_mu);
    }
}

/* Percent-decoding of the URL path and arguments, in place.  As MHD's own
   but a decoded NUL becomes 0x01, so "/pdf/ID%00.pdf" is an invalid id
   (control character) instead of the C string "ID"; an invalid escape is
   kept as it is. */
static size_t unescape(void *cls, struct MHD_Connection *con, char *s)
{
    char *w = s;
    for (const char *r = s; *r; r++) {
        int h, l;
        if (*r == '%' && (h = sh__web_hexval(r[1])) >= 0 &&
            (l = sh__web_hexval(r[2])) >= 0) {
            char c = (char)(h * 16 + l);
            *w++ = c ? c : '\x01';
            r += 2;
        } else {
            *w++ = *r;
        }
    }
    *w = 0;
    return (size_t)(w - s);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[1024];
    vsnprintf(msg, sizeof msg, fmt, ap);
    msg[strcspn(msg, "\n")] = 0;
    sh_log(SH_LOG_WARN, "http: %s", msg);
}

struct MHD_Daemon *sh__web_start(sh__web_server *srv,
                                 const struct sockaddr_storage *ss)
{
    /* poll, not select: more than FD_SETSIZE sockets may be open */
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD |
                     MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL |
                     MHD_USE_ERROR_LOG;
    if (ss->ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    pthread_mutex_init(&srv->conns_mu, NULL);
    srv->stopping = 0;
    struct MHD_Daemon *d = MHD_start_daemon(
        flags, 0, NULL, NULL, handler, srv, MHD_OPTION_EXTERNAL_LOGGER,
        mhd_log, NULL, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *)ss, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)srv->lim.max_conns, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
        (unsigned)srv->lim.per_ip, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)srv->lim.idle_timeout,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(256 * 1024),
        MHD_OPTION_NOTIFY_COMPLETED, completed, srv,
        MHD_OPTION_NOTIFY_CONNECTION, notify_conn, srv,
        MHD_OPTION_UNESCAPE_CALLBACK, unescape, NULL, MHD_OPTION_END);
    if (d && pthread_create(&srv->reaper, NULL, reaper, srv) == 0)
        srv->reaper_on = 1;
    else if (d)
        sh_log(SH_LOG_WARN, "http: no reaper thread: request heads have "
               "only the idle timeout");
    return d;
}

void sh__web_stop(sh__web_server *srv, struct MHD_Daemon *d)
{
    pthread_mutex_lock(&srv->conns_mu);
    srv->stopping = 1;
    pthread_mutex_unlock(&srv->conns_mu);
    if (srv->reaper_on)
        pthread_join(srv->reaper, NULL);
    srv->reaper_on = 0;
    MHD_stop_daemon(d);
}
