/*
 * serve.c — `sohoa serve`: the officers' search site over HTTP
 * (libmicrohttpd), in Vietnamese; the routes and the command.
 *
 *   sh__web_route   which handler answers a request
 *   sh_cmd_serve    the command: options, the catalog checked, the daemon
 *                   started (http.c), run until SIGINT/SIGTERM
 *   (static) starts, parse_listen, is_loopback
 *
 * Routes (everything but /login and /static/ needs a session cookie;
 * without one /api/ answers 401 JSON and pages redirect to /login):
 *   GET  /login, POST /login (user, password), POST /logout   login.c
 *   GET  /                       search form, results, pagination  pages.c
 *   GET  /view/ID/N?q=           one page: image, hit boxes, PDF link
 *   GET  /page/ID/N.png          the page rendered from the source scan
 *   GET  /pdf/ID                 the dossier PDF               download.c
 *   GET  /api/search?q=&limit=&offset=&agency=&year=&prefix=&type=&code=&from=&to=
 *   GET  /api/page/ID/N?q=       page size in OCR px + boxes of hit words
 *                                                                  api.c
 *   GET  /static/app.js, /static/app.css, /static/review.js     assets.c
 *   GET  /review, /api/review    the clerk's queue (403 to officers) review.c
 *   GET  /review/ID/N, /review/ID/N.png, /api/review/ID/N   a clerk's page
 *                                view, the sheet as scanned, its data
 *                                                              review_page.c
 *   POST /api/review/ID          a clerk's save (JSON)          review_api.c
 *
 * Method.  One thread per connection (a page render takes a fraction of a
 * second and must not stall other officers), bounded per client address
 * and in all, with a deadline for each request head (http.c: one client
 * holding hundreds of idle or trickling sockets cannot take the site
 * away from the others); each request takes a read-only catalog
 * connection from a pool kept for the server's life (2 per core and 2
 * more), and opens a read-write one only for the moment it writes a
 * session (access.c).  Every POST must come
 * from our own pages (sh__web_same_origin); the session is looked up from
 * the cookie before any route that needs it.  Views and searches are
 * journalled in audit.db by one writer thread in group commits
 * (auditq.c: a row is on disk within about 50 ms plus a commit; the answer
 * does not wait for it); while the journal cannot be written the answer is
 * 503, not the data, and a clean stop writes every queued row.  Passwords are
 * checked two at a time at most, behind the login throttle (throttle.c),
 * and renders run two at a time (the gates set up here).  The text helpers are text.c and words.c; the page image
 * is scanners/render.c.
 */
#include "web_int.h"
#include "../base/opts.h"
#include "../index/shards.h"

#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#define RENDERS_AT_ONCE 2
#define LOGINS_AT_ONCE 2
/* read-only catalog connections kept (access.c): 2 per core and 2 more,
   at most 16; requests beyond wait for one */
#define POOL_PER_CORE 2
#define POOL_EXTRA 0
#define POOL_MAX 16

static int starts(const char *s, const char *prefix)
{
    return !strncmp(s, prefix, strlen(prefix));
}

enum MHD_Result sh__web_route(sh__web_ctx *c)
{
    const char *url = c->url;
    int get = !strcmp(c->method, "GET") || !strcmp(c->method, "HEAD");
    int post = !strcmp(c->method, "POST");
    int api = starts(url, "/api/");

    if (get && !strcmp(url, "/static/app.css"))
        return sh__web_reply_static(c, 200, "text/css; charset=utf-8", K_STATIC,
                                    sh__web_css, NULL);
    if (get && !strcmp(url, "/static/app.js"))
        return sh__web_reply_static(c, 200, "text/javascript; charset=utf-8",
                                    K_STATIC, sh__web_js, NULL);
    if (get && !strcmp(url, "/static/review.js"))
        return sh__web_reply_static(c, 200, "text/javascript; charset=utf-8",
                                    K_STATIC, sh__web_review_js, NULL);
    if (get && !strcmp(url, "/favicon.ico"))
        return sh__web_reply_static(c, 404, "text/plain; charset=utf-8",
                                    K_STATIC, "no icon\n", NULL);
    if (!get && !post) {
        const char *extra[] = {"Allow", "GET, HEAD, POST", NULL};
        return sh__web_reply_static(c, 405, "text/plain; charset=utf-8", K_HTML,
                                    "Method Not Allowed\n", extra);
    }
    if (post && !sh__web_same_origin(c))
        return sh__web_reply_static(c, 403, "text/plain; charset=utf-8", K_HTML,
                                    "Forbidden: cross-site request\n", NULL);

    /* the session, if any */
    sh__web_session_load(c);

    if (!strcmp(url, "/login")) {
        if (post)
            return sh__web_do_login(c);
        if (c->u.name[0])
            return sh__web_redirect(c, "/", NULL);
        return sh__web_login_page(c, 200, NULL);
    }
    if (post && !strcmp(url, "/logout"))
        return sh__web_do_logout(c);
    if (!c->u.name[0]) {
        if (api)
            return sh__web_json_error(c, 401, "unauthorized",
                                      "Chưa đăng nhập hoặc phiên đã hết hạn.");
        return sh__web_redirect(c, "/login", NULL);
    }
    if (sh__web_pick_shard(c, url))         /* ?shard=K (shards.c) */
        return sh__web_not_found(c, api);
    if (post && starts(url, "/api/review/"))
        return sh__web_api_review_save(c, url + strlen("/api/review/"));
    if (post)
        return sh__web_not_found(c, api);
    if (!strcmp(url, "/"))
        return sh__web_page_search(c);
    if (!strcmp(url, "/api/search"))
        return sh__web_api_search(c);
    if (!strcmp(url, "/review"))
        return sh__web_page_review(c);
    if (!strcmp(url, "/api/review"))
        return sh__web_api_review(c);
    if (starts(url, "/api/review/"))
        return sh__web_api_review_page(c, url + strlen("/api/review/"));
    if (starts(url, "/review/"))
        return sh__web_page_review_page(c, url + strlen("/review/"));
    if (starts(url, "/api/page/"))
        return sh__web_api_page(c, url + strlen("/api/page/"));
    if (starts(url, "/view/"))
        return sh__web_page_view(c, url + strlen("/view/"));
    if (starts(url, "/page/"))
        return sh__web_page_png(c, url + strlen("/page/"));
    if (starts(url, "/pdf/"))
        return sh__web_pdf_file(c, url + strlen("/pdf/"));
    return sh__web_not_found(c, api);
}

/* ------------------------------------------------------------------ */
/* the command                                                         */

/* "HOST:PORT" or "[V6]:PORT" → socket address. */
static int parse_listen(const char *s, struct sockaddr_storage *ss,
                        socklen_t *len)
{
    char host[128];
    const char *colon;
    memset(ss, 0, sizeof *ss);
    if (s[0] == '[') {
        const char *e = strchr(s, ']');
        if (!e || e[1] != ':' || (size_t)(e - s - 1) >= sizeof host)
            return -1;
        memcpy(host, s + 1, (size_t)(e - s - 1));
        host[e - s - 1] = 0;
        colon = e + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon || (size_t)(colon - s) >= sizeof host)
            return -1;
        memcpy(host, s, (size_t)(colon - s));
        host[colon - s] = 0;
    }
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end || end == colon + 1 || port < 0 || port > 65535)
        return -1;
    struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)port);
        *len = sizeof *a4;
        return 0;
    }
    if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        *len = sizeof *a6;
        return 0;
    }
    return -1;
}

static int is_loopback(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr) >> 24) ==
               127;
    return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)ss)->sin6_addr);
}

/* A numeric IPv4 or IPv6 address, written back in canonical form. */
static int canon_addr(const char *s, char out[INET6_ADDRSTRLEN])
{
    unsigned char bin[sizeof(struct in6_addr)];
    if (inet_pton(AF_INET, s, bin) == 1)
        return inet_ntop(AF_INET, bin, out, INET6_ADDRSTRLEN) ? 0 : -1;
    if (inet_pton(AF_INET6, s, bin) == 1)
        return inet_ntop(AF_INET6, bin, out, INET6_ADDRSTRLEN) ? 0 : -1;
    return -1;
}

int sh_cmd_serve(int argc, char **argv)
{
    const char *listen = "127.0.0.1:8080", *proxy = NULL;
    int c, secure = 0, idle_min = SH_WEB_SESSION_IDLE / 60;
    sh__web_limits lim = {256, 16, 10, 30};
    sh_opts o;
    sh_err oerr = {0};
    sh_opts_init(&o);
    static const struct option opts[] = {
        SH_LONGOPT_WAREHOUSE,
        {"listen", required_argument, NULL, 'l'},
        {"secure-cookies", no_argument, NULL, 's'},
        {"max-connections", required_argument, NULL, 'M'},
        {"per-ip-connections", required_argument, NULL, 'P'},
        {"head-timeout", required_argument, NULL, 'H'},
        {"idle-timeout", required_argument, NULL, 'I'},
        {"session-idle", required_argument, NULL, 'S'},
        {"trusted-proxy", required_argument, NULL, 'T'},
        SH_LONGOPT_HELP,
        {NULL, 0, NULL, 0},
    };
    static const char usage[] =
        "usage: sohoa serve [--warehouse DIR]... [--listen HOST:PORT]"
        " [--secure-cookies]\n"
        "                   [--max-connections N] [--per-ip-connections N]"
        " [--head-timeout S]\n"
        "                   [--idle-timeout S] [--session-idle MIN]"
        " [--trusted-proxy ADDR]\n"
        "  --warehouse           several: shards searched as one; users,"
        " sessions, audit and review live in the first\n"
        "  --listen              address to listen on (default"
        " 127.0.0.1:8080; port 0 = any free port)\n"
        "  --secure-cookies      Secure cookie named __Host-sohoa_session,"
        " Origin must be https (an HTTPS proxy is in front)\n"
        "  --max-connections     connections at once, all clients"
        " (default 256)\n"
        "  --per-ip-connections  connections at once from one address"
        " (default 16; behind a proxy, raise it)\n"
        "  --head-timeout        seconds to send a request head, and to"
        " wait between keep-alive requests (default 10)\n"
        "  --idle-timeout        seconds of silence inside a request"
        " (default 30)\n"
        "  --session-idle        minutes without a request that end a"
        " session (default 30; at most 12 h anyway)\n"
        "  --trusted-proxy       the proxy's address: only its"
        " X-Forwarded-For is believed (audit, throttle)\n"
        "Users: 'sohoa user add NAME --agency CODE' (see 'sohoa user "
        "--help').\n";
    const char *whs[SH_SHARDS_MAX];
    int nwh = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "w:l:h", opts, NULL)) != -1) {
        int bad = 0;
        switch (c) {
        case 'w': bad = sh_opt_add("--warehouse", optarg, whs, &nwh,
                                   SH_SHARDS_MAX, &oerr); break;
        case 'l': listen = optarg; break;
        case 's': secure = 1; break;
        case 'M': bad = sh_opt_int("--max-connections", optarg, 2, 10000,
                                   &lim.max_conns, &oerr); break;
        case 'P': bad = sh_opt_int("--per-ip-connections", optarg, 1, 10000,
                                   &lim.per_ip, &oerr); break;
        case 'H': bad = sh_opt_int("--head-timeout", optarg, 1, 600,
                                   &lim.head_timeout, &oerr); break;
        case 'I': bad = sh_opt_int("--idle-timeout", optarg, 1, 3600,
                                   &lim.idle_timeout, &oerr); break;
        case 'S': bad = sh_opt_int("--session-idle", optarg, 1, 720,
                                   &idle_min, &oerr); break;
        case 'T': proxy = optarg; break;
        default:
            switch (c == 'j' ? SH_OPT_UNKNOWN : sh_opt_common(&o, c, optarg)) {
            case SH_OPT_TAKEN: break;
            case SH_OPT_HELP: fputs(usage, stdout); return SH_EXIT_OK;
            default: fputs(usage, stderr); return SH_EXIT_USAGE;
            }
        }
        if (bad) {
            fprintf(stderr, "sohoa serve: %s\n", oerr.msg);
            fputs(usage, stderr);
            return SH_EXIT_USAGE;
        }
    }
    char proxy_addr[INET6_ADDRSTRLEN] = "";
    if (proxy && canon_addr(proxy, proxy_addr)) {
        fprintf(stderr, "sohoa serve: --trusted-proxy '%s': give the proxy's"
                        " numeric address, e.g. 127.0.0.1\n", proxy);
        return SH_EXIT_USAGE;
    }
    if (lim.per_ip > lim.max_conns)
        lim.per_ip = lim.max_conns;
    if (!nwh)
        whs[nwh++] = o.warehouse;
    const char *wh = whs[0];
    if (optind < argc) {
        fputs(usage, stderr);
        return SH_EXIT_USAGE;
    }
    struct sockaddr_storage ss;
    socklen_t sl;
    if (parse_listen(listen, &ss, &sl)) {
        fprintf(stderr, "sohoa serve: --listen '%s': give HOST:PORT with a "
                        "numeric address, e.g. 127.0.0.1:8080 or [::1]:8080\n",
                listen);
        return SH_EXIT_USAGE;
    }
    /* The catalog must exist; add the web tables to it. */
    sqlite3 *db = NULL;
    sh_err err = {0};
    char p[4096];
    struct stat st;
    snprintf(p, sizeof p, "%s/catalog.db", wh);
    if (stat(p, &st) < 0) {
        fprintf(stderr, "sohoa serve: no warehouse at %s (no catalog.db); run "
                        "'sohoa run --warehouse %s BATCH' first\n",
                wh, wh);
        return SH_EXIT_USAGE;
    }
    if (sh_web_open(wh, 1, &db, &err)) {
        fprintf(stderr, "sohoa serve: %s\n", err.msg);
        return SH_EXIT_USAGE;
    }
    int nusers = 0, has_geom =
        sqlite3_table_column_metadata(db, NULL, "page", "geom", NULL, NULL,
                                      NULL, NULL, NULL) == SQLITE_OK;
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM user", -1, &q, NULL) ==
        SQLITE_OK) {
        if (sqlite3_step(q) == SQLITE_ROW)
            nusers = sqlite3_column_int(q, 0);
        sqlite3_finalize(q);
    }
    /* Paths stored relative to the folder a run was started in only work
       from that folder. */
    int relative = 0;
    if (sqlite3_prepare_v2(db,
                           "SELECT (SELECT count(*) FROM source WHERE path NOT"
                           " LIKE '/%') + (SELECT count(*) FROM dossier WHERE"
                           " pdf NOT LIKE '/%')",
                           -1, &q, NULL) == SQLITE_OK) {
        if (sqlite3_step(q) == SQLITE_ROW)
            relative = sqlite3_column_int(q, 0);
        sqlite3_finalize(q);
    }
    sh_db_close(&db);
    if (nwh > 1 && sh__web_shards_check(whs, nwh))
        return SH_EXIT_USAGE;
    if (sodium_init() < 0) {
        fprintf(stderr, "sohoa serve: libsodium cannot start\n");
        return SH_EXIT_USAGE;
    }

    sh__web_server srv = {0};
    srv.wh = wh;
    srv.whs = whs;
    srv.nwh = nwh;
    srv.secure_cookie = secure;
    srv.cookie_name = secure ? SH__WEB_COOKIE_HOST : SH__WEB_COOKIE;
    srv.has_geom = has_geom;
    srv.session_idle = idle_min * 60;
    srv.lim = lim;
    snprintf(srv.trusted_proxy, sizeof srv.trusted_proxy, "%s", proxy_addr);
    sh__web_gate_init(&srv.renders, RENDERS_AT_ONCE);
    sh__web_gate_init(&srv.logins, LOGINS_AT_ONCE);
    if (!(srv.throttle = sh_web_throttle_new())) {
        fprintf(stderr, "sohoa serve: out of memory\n");
        return SH_EXIT_USAGE;
    }
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int pool = cores > 0 ? (int)cores * POOL_PER_CORE + POOL_EXTRA : 4;
    sh__web_pool_init(&srv.pool, pool < POOL_MAX ? pool : POOL_MAX);
    if (!(srv.audit = sh__web_auditq_start(wh))) {
        fprintf(stderr, "sohoa serve: cannot start the audit journal's "
                        "writer (see above)\n");
        sh_web_throttle_free(&srv.throttle);
        return SH_EXIT_USAGE;
    }
    /* a socket and our dup of it per connection, and some to spare */
    struct rlimit rl;
    rlim_t want = (rlim_t)lim.max_conns * 2 + 64;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < want) {
        rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want
                          ? want : rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        if (rl.rlim_cur < want)
            sh_log(SH_LOG_WARN, "open files limited to %llu: fewer than "
                   "--max-connections %d can be served",
                   (unsigned long long)rl.rlim_cur, lim.max_conns);
    }

    /* Threads inherit this mask; the main thread waits for the signals. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct MHD_Daemon *d = sh__web_start(&srv, &ss);
    if (!d) {
        fprintf(stderr, "sohoa serve: cannot listen on %s: %s\n", listen,
                strerror(errno));
        sh__web_auditq_stop(&srv.audit);
        sh_web_throttle_free(&srv.throttle);
        return SH_EXIT_USAGE;
    }
    const union MHD_DaemonInfo *di =
        MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    char host[INET6_ADDRSTRLEN] = "?";
    if (ss.ss_family == AF_INET)
        inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, host,
                  sizeof host);
    else
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, host,
                  sizeof host);
    int port = di ? di->port : 0;
    sh_log(SH_LOG_INFO, "serving warehouse %s on http://%s%s%s:%d/ (%d user%s)",
           wh, ss.ss_family == AF_INET6 ? "[" : "", host,
           ss.ss_family == AF_INET6 ? "]" : "", port, nusers,
           nusers == 1 ? "" : "s");
    for (int k = 1; k < nwh; k++)
        sh_log(SH_LOG_INFO, "searching shard %d too: warehouse %s (users, "
               "sessions and audit are %s's)", k, whs[k], wh);
    if (!nusers)
        sh_log(SH_LOG_WARN, "no users yet: add one with 'sohoa user add NAME "
                            "--agency CODE --warehouse %s'",
               wh);
    if (relative)
        sh_log(SH_LOG_WARN,
               "%d scan or PDF paths in the catalog are relative: page images "
               "and PDFs are found only if this server runs in the folder "
               "'sohoa run' was started in",
               relative);
    sh_log(SH_LOG_INFO, "limits: %d connections, %d per address, request "
           "head within %d s, idle %d s; sessions end after %d min idle%s%s",
           lim.max_conns, lim.per_ip, lim.head_timeout, lim.idle_timeout,
           idle_min, proxy_addr[0] ? "; X-Forwarded-For from " : "",
           proxy_addr);
    if (!is_loopback(&ss))
        sh_log(SH_LOG_WARN, "listening beyond this machine without TLS: put an "
                            "HTTPS proxy in front and use --secure-cookies");
    int sig = 0;
    sigwait(&sigs, &sig);
    sh_log(SH_LOG_INFO, "%s: stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
    sh__web_stop(&srv, d);
    /* every request has ended: its journal rows are queued; write them */
    int64_t lost = sh__web_auditq_stop(&srv.audit);
    sh__web_pool_close(&srv.pool);
    sh_web_throttle_free(&srv.throttle);
    pthread_sigmask(SIG_UNBLOCK, &sigs, NULL);
    return lost ? SH_EXIT_PARTIAL : SH_EXIT_OK;
}
