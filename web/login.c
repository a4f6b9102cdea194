/*
 * login.c — signing in and out, and the session of a request.
 *
 *   sh__web_session_load  the user of the request's session cookie
 *   sh__web_login_page    GET /login: the form
 *   sh__web_do_login      POST /login (user, password): a new session
 *   sh__web_do_logout     POST /logout: the session ended
 *   sh__web_same_origin   the rule every POST must pass
 *
 * Method.  An attempt first passes the login throttle (throttle.c) for
 * its (account, address): refused at once (429, Retry-After, journalled
 * as login-throttled) while that pair, the account or the address is
 * waiting out its delay, or while another attempt of the same pair is
 * under way.  Passwords are then checked two at a time at most (Argon2id
 * takes 64 MiB each) and a failed login answers after a one-second delay
 * served while the attempt still holds its pair, so parallel requests
 * cannot bypass it; the password is wiped from memory once checked.  A
 * session is a random token in an HttpOnly, SameSite=Strict cookie
 * (__Host- and Secure with --secure-cookies); the catalog keeps only its
 * SHA-256 (users.c).  It ends after the server's idle time without a
 * request (its last use is written at most once a minute) or 12 h.
 * Logins, failed and refused logins and logouts are journalled; a failed
 * one under the name typed only when it could be a user name.
 */
#include "web_int.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LOGIN_FAIL_DELAY_US 1000000

void sh__web_session_load(sh__web_ctx *c)
{
    char buf[65];
    const char *tok = sh__web_cookie(c, buf);
    int stale = 0;
    if (!tok || sh__web_ro_db(c) ||
        !sh_web_session_user_idle(c->db, tok, c->srv->session_idle, &c->u,
                                  &stale))
        return;
    snprintf(c->token, sizeof c->token, "%s", tok);
    if (stale) {
        sqlite3 *db = NULL;
        sh_err err = {0};
        if (!sh__web_rw_db(c->srv, &db) &&
            sh_web_session_touch(db, tok, &err))
            sh_log(SH_LOG_WARN, "cannot record the session's use: %s",
                   err.msg);
        sqlite3_close(db);
    }
}

enum MHD_Result sh__web_login_page(sh__web_ctx *c, int status, const char *msg)
{
    sh_buf b = {0};
    sh__web_html_start(&b, c, "Đăng nhập");
    sh_buf_adds(&b, "<form class=\"login\" method=\"post\" action=\"/login\">"
                    "<h1>Đăng nhập</h1>");
    if (msg) {
        sh_buf_adds(&b, "<p class=\"error\" id=\"login-error\">");
        sh_web_html_escape(&b, msg);
        sh_buf_adds(&b, "</p>");
    }
    sh_buf_adds(&b, "<label for=\"user\">Tên đăng nhập</label>"
                    "<input id=\"user\" name=\"user\" autocomplete=\"username\" "
                    "required autofocus>"
                    "<label for=\"password\">Mật khẩu</label>"
                    "<input id=\"password\" name=\"password\" type=\"password\" "
                    "autocomplete=\"current-password\" required>"
                    "<button class=\"primary\" type=\"submit\">Đăng nhập"
                    "</button></form>\n");
    sh__web_html_end(&b);
    return sh__web_reply_html(c, status, &b, NULL);
}

enum MHD_Result sh__web_do_login(sh__web_ctx *c)
{
    char *user = NULL, *pw = NULL;
    const char *body = c->rq->body.data ? c->rq->body.data : "";
    size_t n = c->rq->body.len;
    if (sh_web_form_value(body, n, "user", &user) ||
        sh_web_form_value(body, n, "password", &pw) || !user || !pw) {
        free(user);
        free(pw);
        return sh__web_login_page(c, 400,
                                  "Hãy nhập tên đăng nhập và mật khẩu.");
    }
    int valid_name = sh_web_valid_user(user);
    /* the name as typed only if it could be a name: never a password
       typed into the wrong box */
    const char *who = valid_name ? user : "?";
    int wait = sh_web_throttle_begin(c->srv->throttle, who, c->addr,
                                     sh_now());
    if (wait > 0) {
        sodium_memzero(pw, strlen(pw));
        free(pw);
        sh_log(SH_LOG_WARN, "%s: login for user '%s' refused: too many "
               "failures, next try in %d s", c->addr,
               valid_name ? user : "(not a valid name)", wait);
        sh__web_audit_as(c, who, "login-throttled", NULL, -1, NULL, 0, 429);
        free(user);
        char ra[16], msg[160];
        snprintf(ra, sizeof ra, "%d", wait);
        snprintf(msg, sizeof msg, "Đăng nhập sai quá nhiều lần; hãy thử lại "
                 "sau %d giây.", wait);
        sh_buf b = {0};
        sh__web_html_start(&b, c, "Đăng nhập");
        sh_buf_adds(&b, "<h1>Đăng nhập</h1><p class=\"error\" "
                        "id=\"login-error\">");
        sh_web_html_escape(&b, msg);
        sh_buf_adds(&b, "</p><p><a href=\"/login\">Quay lại</a></p>");
        sh__web_html_end(&b);
        const char *extra[] = {"Retry-After", ra, NULL};
        return sh__web_reply_html(c, 429, &b, extra);
    }
    sh__web_gate_enter(&c->srv->logins);
    int ok = !sh__web_ro_db(c) && sh_web_login_check(c->db, user, pw);
    sh__web_gate_leave(&c->srv->logins);
    sodium_memzero(pw, strlen(pw));
    free(pw);
    if (!ok) {
        sh_log(SH_LOG_WARN, "%s: failed login for user '%s'", c->addr,
               valid_name ? user : "(not a valid name)");
        sh__web_audit_as(c, who, "login-failed", NULL, -1, NULL, 0, 401);
        /* the delay is served holding the attempt: a parallel try of
           the same account from the same address is refused meanwhile */
        usleep(LOGIN_FAIL_DELAY_US);
        sh_web_throttle_end(c->srv->throttle, who, c->addr, 0, sh_now());
        free(user);
        return sh__web_login_page(c, 401, "Sai tên đăng nhập hoặc mật khẩu.");
    }
    sh_web_throttle_end(c->srv->throttle, who, c->addr, 1, sh_now());
    char token[65];
    sqlite3 *db = NULL;
    sh_err err = {0};
    int rc = sh__web_rw_db(c->srv, &db);
    if (!rc && (rc = sh_web_session_new(db, user, 0, c->addr, token, &err)))
        sh_log(SH_LOG_ERROR, "cannot create a session: %s", err.msg);
    sqlite3_close(db);
    if (!rc) {
        snprintf(c->u.name, sizeof c->u.name, "%s", user);
        rc = sh__web_audit(c, "login", NULL, -1, NULL, 0, 303);
    }
    free(user);
    if (rc)
        return sh__web_unavailable(c, 0, "Không tạo được phiên đăng nhập.");
    char cookie[256];
    sh__web_cookie_set(c, token, cookie, sizeof cookie);
    return sh__web_redirect(c, "/", cookie);
}

enum MHD_Result sh__web_do_logout(sh__web_ctx *c)
{
    if (c->u.name[0]) {
        sqlite3 *db = NULL;
        sh_err err = {0};
        if (!sh__web_rw_db(c->srv, &db) &&
            sh_web_session_end(db, c->token, &err))
            sh_log(SH_LOG_ERROR, "cannot end the session: %s", err.msg);
        sqlite3_close(db);
        sh__web_audit(c, "logout", NULL, -1, NULL, 0, 303);
    }
    char clear[128];
    sh__web_cookie_clear(c, clear, sizeof clear);
    return sh__web_redirect(c, "/login", clear);
}

/* A POST must come from our own pages.  The cookie is SameSite=Strict;
   besides, a browser's Sec-Fetch-Site (which pages cannot set) must say
   same-origin (or none: typed by the user), and an Origin, when sent,
   must be this scheme and host — https with --secure-cookies (an HTTPS
   proxy in front), else http — or "null" (a browser hiding it) together
   with Sec-Fetch-Site: same-origin.  Clients that send neither (curl)
   pass. */
int sh__web_same_origin(sh__web_ctx *c)
{
    const char *origin = MHD_lookup_connection_value(c->con, MHD_HEADER_KIND,
                                                     "Origin");
    const char *host = MHD_lookup_connection_value(c->con, MHD_HEADER_KIND,
                                                   "Host");
    const char *site = MHD_lookup_connection_value(c->con, MHD_HEADER_KIND,
                                                   "Sec-Fetch-Site");
    if (site && strcmp(site, "same-origin") && strcmp(site, "none"))
        return 0;
    if (!origin)
        return 1;
    if (!strcmp(origin, "null"))
        return site && !strcmp(site, "same-origin");
    if (!host)
        return 0;
    const char *scheme = c->srv->secure_cookie ? "https://" : "http://";
    size_t sl = strlen(scheme);
    return !strncmp(origin, scheme, sl) && !strcmp(origin + sl, host);
}
