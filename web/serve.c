/*
 * serve.c — `sohoa serve`: the officers' search site over HTTP
 * (libmicrohttpd), in Vietnamese.
 *
 *   text helpers (tested in tests/test_web.c):
 *     sh_web_html_escape, sh_web_snippet_html, sh_web_url_encode,
 *     sh_web_url_decode, sh_web_form_value, sh_web_utf8_clean,
 *     sh_web_word_boxes
 *   page image:  scanners/render.c (sh_prep_render_png)
 *   server:      sh_cmd_serve, and the routes below
 *
 * Routes (everything but /login and /static/ needs a session cookie;
 * without one /api/ answers 401 JSON and pages redirect to /login):
 *   GET  /login, POST /login (user, password), POST /logout
 *   GET  /                       search form, results, pagination
 *   GET  /view/ID/N?q=           one page: image, hit boxes, PDF link
 *   GET  /page/ID/N.png          the page rendered from the source scan
 *   GET  /pdf/ID                 the dossier PDF
 *   GET  /api/search?q=&limit=&offset=&agency=&year=&prefix=&type=&code=&from=&to=
 *   GET  /api/page/ID/N?q=       page size in OCR px + boxes of hit words
 *   GET  /static/app.js, /static/app.css
 *
 * Method.  One thread per connection (a page render takes a fraction of a
 * second and must not stall other officers); each request opens its own
 * read-only catalog connection, and a read-write one only for the moment
 * it writes a session or an audit row (WAL: all of it runs while `sohoa
 * run` writes).  Access is decided in SQL from the session's user: a
 * search passes the user's agencies to sh_search, and a page, image, box
 * list or PDF is looked up with the agency condition in the same query,
 * so a dossier that is not allowed is "not found" exactly like one that
 * does not exist.  File paths always come from catalog rows (the PDF from
 * dossier.pdf, the scan from source.path), never from the URL; an id from
 * a URL only has to pass sh_web_valid_id to be looked up.  Views and
 * searches are journalled in the audit table before the answer leaves;
 * if the journal cannot be written the answer is 503, not the data.
 * Passwords are checked two at a time at most (Argon2id takes 64 MiB
 * each) and a failed login answers after a one-second delay; renders run
 * two at a time (a 600 dpi frame decodes to ~100 MB).
 * All HTML is built here with every variable part escaped; the one script
 * is a static file (the CSP forbids inline script and style).
 */
#include "../index/docs.h"
#include "web.h"
#include "../base/vntext.h"
#include "../index/index.h"
#include "../scanners/render.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unicase.h>
#include <unictype.h>
#include <unistd.h>
#include <unistr.h>

#define BODY_MAX 16384          /* request body bytes accepted          */
#define PAGE_LIMIT_MAX 100      /* results per page, web and API        */
#define OFFSET_MAX 100000
#define RENDER_WIDTH 1000       /* page image width, px                 */
#define RENDERS_AT_ONCE 2
#define LOGINS_AT_ONCE 2
#define LOGIN_FAIL_DELAY_US 1000000
#define COOKIE "sohoa_session"

/* ------------------------------------------------------------------ */
/* text helpers                                                        */

int sh_web_html_escape(sh_buf *b, const char *s)
{
    const char *run = s;
    for (; s && *s; s++) {
        const char *rep = NULL;
        switch (*s) {
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '"': rep = "&quot;"; break;
        case '\'': rep = "&#39;"; break;
        default: continue;
        }
        if (sh_buf_add(b, run, (size_t)(s - run)) || sh_buf_adds(b, rep))
            return SH_ENOMEM;
        run = s + 1;
    }
    return s && sh_buf_add(b, run, (size_t)(s - run)) ? SH_ENOMEM : SH_OK;
}

int sh_web_snippet_html(sh_buf *b, const char *snippet)
{
    sh_buf esc = {0};
    int rc = sh_web_html_escape(&esc, snippet ? snippet : "");
    int open = 0;
    /* Escaping never produces '[' or ']', so the markers survive it. */
    for (size_t i = 0; !rc && i < esc.len; i++) {
        char c = esc.data[i];
        if (c == '[' && !open) {
            rc = sh_buf_adds(b, "<mark>");
            open = 1;
        } else if (c == ']' && open) {
            rc = sh_buf_adds(b, "</mark>");
            open = 0;
        } else {
            rc = sh_buf_add(b, &c, 1);
        }
    }
    if (!rc && open)
        rc = sh_buf_adds(b, "</mark>");
    sh_buf_release(&esc);
    return rc ? SH_ENOMEM : SH_OK;
}

int sh_web_url_encode(sh_buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        int keep = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                   (c >= '0' && c <= '9') || c == '-' || c == '.' ||
                   c == '_' || c == '~';
        char e[3] = {'%', hex[c >> 4], hex[c & 15]};
        if (keep ? sh_buf_add(b, s, 1) : sh_buf_add(b, e, 3))
            return SH_ENOMEM;
    }
    return SH_OK;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int sh_web_url_decode(const char *s, size_t n, int plus, char **out,
                      size_t *outn)
{
    *out = NULL;
    if (outn)
        *outn = 0;
    char *d = malloc(n + 1);
    if (!d)
        return SH_ENOMEM;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%') {
            int h, l;
            if (i + 2 >= n || (h = hexval(s[i + 1])) < 0 ||
                (l = hexval(s[i + 2])) < 0) {
                free(d);
                return SH_EINPUT;
            }
            d[k++] = (char)(h * 16 + l);
            i += 2;
        } else if (s[i] == '+' && plus) {
            d[k++] = ' ';
        } else {
            d[k++] = s[i];
        }
    }
    d[k] = 0;
    *out = d;
    if (outn)
        *outn = k;
    return SH_OK;
}

int sh_web_form_value(const char *body, size_t n, const char *name,
                      char **out)
{
    *out = NULL;
    size_t nl = strlen(name);
    const char *p = body, *end = body + n;
    while (p && p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *fe = amp ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(fe - p));
        const char *ke = eq ? eq : fe;
        char *key = NULL;
        size_t kn;
        int rc = sh_web_url_decode(p, (size_t)(ke - p), 1, &key, &kn);
        if (rc)
            return rc;
        int hit = kn == nl && !memcmp(key, name, nl);
        free(key);
        if (hit) {
            const char *v = eq ? eq + 1 : fe;
            size_t vn;
            if ((rc = sh_web_url_decode(v, (size_t)(fe - v), 1, out, &vn)))
                return rc;
            if (vn != strlen(*out)) {
                free(*out);
                *out = NULL;
                return SH_EINPUT;
            }
            return SH_OK;
        }
        p = amp ? amp + 1 : NULL;
    }
    return SH_OK;
}

char *sh_web_utf8_clean(const char *s, size_t max, int *cut)
{
    size_t n = s ? strlen(s) : 0;
    if (cut)
        *cut = 0;
    sh_buf b = {0};
    if (sh_buf_reserve(&b, n < max ? n : max))
        return NULL;
    b.data[0] = 0;
    const uint8_t *p = (const uint8_t *)(s ? s : "");
    size_t i = 0;
    while (i < n) {
        ucs4_t uc;
        int k = u8_mbtoucr(&uc, p + i, n - i);
        const char *add = (const char *)p + i;
        size_t an = (size_t)k;
        if (k < 0) {
            add = "\xEF\xBF\xBD";
            an = 3;
            k = 1;
        }
        if (b.len + an > max) {
            if (cut)
                *cut = 1;
            break;
        }
        if (sh_buf_add(&b, add, an)) {
            sh_buf_release(&b);
            return NULL;
        }
        i += (size_t)k;
    }
    return b.data;
}

/* JSON string from text that may not be valid UTF-8. */
static json_t *jstr(const char *s)
{
    if (!s)
        return json_null();
    json_t *j = json_string(s);
    if (j)
        return j;
    char *c = sh_web_utf8_clean(s, (size_t)-1, NULL);
    j = c ? json_string(c) : NULL;
    free(c);
    return j ? j : json_string("");
}

/* ---- word boxes ---- */

typedef struct wtok {
    char *lower;   /* normalised, lower case */
    char *fold;    /* folded */
    int word;      /* index of the page word (query: unused) */
} wtok;

typedef struct wtoks {
    wtok *t;
    int n, cap;
} wtoks;

static void wtoks_release(wtoks *v)
{
    for (int i = 0; i < v->n; i++) {
        free(v->t[i].lower);
        free(v->t[i].fold);
    }
    free(v->t);
    memset(v, 0, sizeof *v);
}

static int is_tok_char(ucs4_t uc)
{
    return uc_is_general_category(uc, UC_LETTER) ||
           uc_is_general_category(uc, UC_NUMBER) ||
           uc_is_general_category(uc, UC_MARK);
}

/* Append the tokens (runs of letters, marks, digits) of s[0..n). */
static int tokens_of(const char *s, size_t n, int word, int max, wtoks *v)
{
    const uint8_t *p = (const uint8_t *)s;
    size_t i = 0;
    while (i < n && v->n < max) {
        ucs4_t uc;
        int k = u8_mbtoucr(&uc, p + i, n - i);
        if (k < 0 || !is_tok_char(uc)) {
            i += k < 0 ? 1 : (size_t)k;
            continue;
        }
        size_t start = i;
        while (i < n && (k = u8_mbtoucr(&uc, p + i, n - i)) > 0 &&
               is_tok_char(uc))
            i += (size_t)k;
        char *run = strndup(s + start, i - start), *norm = NULL, *fold = NULL;
        uint8_t *low = NULL;
        size_t lown = 0;
        if (run && !sh_text_norm(run, &norm) && !sh_text_fold(run, &fold))
            low = u8_tolower((const uint8_t *)norm, strlen(norm), NULL, NULL,
                             NULL, &lown);
        free(run);
        free(norm);
        char *lower = low ? strndup((const char *)low, lown) : NULL;
        free(low);
        if (lower && fold && v->n == v->cap) {
            int nc = v->cap ? v->cap * 2 : 32;
            wtok *t = realloc(v->t, (size_t)nc * sizeof *t);
            if (t) {
                v->t = t;
                v->cap = nc;
            }
        }
        if (!lower || !fold || v->n == v->cap) {
            free(lower);
            free(fold);
            return SH_ENOMEM;
        }
        v->t[v->n++] = (wtok){lower, fold, word};
    }
    return SH_OK;
}

/* Does page token p match query token q?  A query token typed with
   diacritics (its lower form differs from its folded one) must match the
   page exactly; otherwise folded forms are compared, as sh_search does. */
static int tok_match(const wtok *p, const wtok *q)
{
    if (strcmp(q->lower, q->fold) != 0)
        return !strcmp(p->lower, q->lower);
    return !strcmp(p->fold, q->fold);
}

int sh_web_word_boxes(const char *words_json, const char *query,
                      json_t **out, sh_err *err)
{
    *out = NULL;
    wtoks qt = {0}, pt = {0};
    json_t *words = NULL, *arr = NULL;
    char *marks = NULL;
    int rc = SH_OK;
    json_error_t je;
    words = json_loads(words_json ? words_json : "[]", 0, &je);
    if (!json_is_array(words)) {
        rc = sh_errf(err, SH_EINPUT, "page words are not a JSON array: %s",
                     je.text);
        goto out;
    }
    size_t nw = json_array_size(words);
    size_t qn = query ? strlen(query) : 0;
    if (qn > SH_QUERY_MAX_BYTES)
        qn = SH_QUERY_MAX_BYTES;
    if ((rc = tokens_of(query ? query : "", qn, -1, SH_QUERY_MAX_TOKENS, &qt)))
        goto nomem;
    for (size_t i = 0; i < nw; i++) {
        const char *t = json_string_value(
            json_array_get(json_array_get(words, i), 9));
        if (t && (rc = tokens_of(t, strlen(t), (int)i, 1 << 30, &pt)))
            goto nomem;
    }
    /* marks[i]: 1 = a word of the query, 2 = inside the whole query */
    if (!(marks = calloc(nw + 1, 1)) || !(arr = json_array()))
        goto nomem;
    for (int i = 0; i < pt.n && qt.n; i++) {
        for (int k = 0; k < qt.n; k++)
            if (tok_match(&pt.t[i], &qt.t[k])) {
                if (!marks[pt.t[i].word])
                    marks[pt.t[i].word] = 1;
                break;
            }
        if (qt.n > 1 && i + qt.n <= pt.n) {
            int k = 0;
            while (k < qt.n && tok_match(&pt.t[i + k], &qt.t[k]))
                k++;
            if (k == qt.n)
                for (k = 0; k < qt.n; k++)
                    marks[pt.t[i + k].word] = 2;
        }
    }
    for (size_t i = 0; i < nw; i++) {
        if (!marks[i])
            continue;
        json_t *w = json_array_get(words, i);
        json_t *o = json_pack(
            "{s:I, s:I, s:I, s:I, s:o, s:b}", "x0",
            (json_int_t)json_number_value(json_array_get(w, 0)), "y0",
            (json_int_t)json_number_value(json_array_get(w, 1)), "x1",
            (json_int_t)json_number_value(json_array_get(w, 2)), "y1",
            (json_int_t)json_number_value(json_array_get(w, 3)), "text",
            jstr(json_string_value(json_array_get(w, 9))), "phrase",
            marks[i] == 2);
        if (!o || json_array_append_new(arr, o))
            goto nomem;
    }
    goto out;
nomem:
    rc = sh_errf(err, SH_ENOMEM, "out of memory");
out:
    wtoks_release(&qt);
    wtoks_release(&pt);
    free(marks);
    json_decref(words);
    if (rc)
        json_decref(arr);
    else
        *out = arr;
    return rc;
}

/* ------------------------------------------------------------------ */
/* static assets                                                       */

static const char app_css[] =
    "*{box-sizing:border-box}\n"
    "body{margin:0;font-family:\"Noto Sans\",\"DejaVu Sans\",\"Segoe UI\","
    "Roboto,Arial,sans-serif;font-size:16px;line-height:1.45;color:#1c2733;"
    "background:#f3f5f7}\n"
    "a{color:#0b5cad}\n"
    "header.top{display:flex;align-items:center;justify-content:space-between;"
    "gap:1em;padding:.55em 1.2em;background:#12395f;color:#fff}\n"
    "header.top a.brand{color:#fff;font-weight:600;text-decoration:none;"
    "font-size:1.1em}\n"
    ".who{display:flex;align-items:center;gap:.6em}\n"
    ".who form{margin:0}\n"
    ".who button{background:transparent;color:#fff;border:1px solid #9db5cf;"
    "border-radius:4px;padding:.2em .7em;cursor:pointer}\n"
    "main{max-width:1100px;margin:0 auto;padding:1em 1.2em 3em}\n"
    "h1{font-size:1.35em;margin:.4em 0 .6em}\n"
    "form.search{background:#fff;border:1px solid #d5dce3;border-radius:6px;"
    "padding:1em;margin-bottom:1em}\n"
    ".qrow{display:flex;gap:.5em}\n"
    ".qrow input{flex:1;font-size:1.1em;padding:.45em .6em;border:1px solid "
    "#9aa8b6;border-radius:4px}\n"
    "button.primary,.qrow button{font-size:1em;padding:.45em 1.2em;"
    "background:#0b5cad;color:#fff;border:0;border-radius:4px;cursor:pointer}\n"
    ".filters{display:flex;flex-wrap:wrap;gap:1em;margin-top:.7em;"
    "font-size:.95em}\n"
    ".filters label{display:flex;align-items:center;gap:.4em}\n"
    ".filters input,.filters select{padding:.25em .4em;border:1px solid "
    "#9aa8b6;border-radius:4px}\n"
    ".filters input.year{width:6em}\n"
    ".summary{margin:.4em 0 .8em;color:#3b4a58}\n"
    ".notice{background:#fff4ce;border:1px solid #e9d58a;padding:.5em .8em;"
    "border-radius:4px}\n"
    ".error{background:#fde2e1;border:1px solid #f0a8a4;padding:.5em .8em;"
    "border-radius:4px}\n"
    "ol.hits{list-style:none;padding:0;margin:0}\n"
    "li.hit{background:#fff;border:1px solid #d5dce3;border-radius:6px;"
    "padding:.7em 1em;margin-bottom:.6em}\n"
    ".hit-head{display:flex;flex-wrap:wrap;gap:.3em 1.2em;align-items:baseline}"
    "\n"
    ".hit-head a.open{font-weight:600;text-decoration:none}\n"
    ".meta{color:#52606d;font-size:.92em}\n"
    "p.snippet{margin:.35em 0 0;white-space:pre-line}\n"
    "mark{background:#ffe066;color:inherit;padding:0 .1em;border-radius:2px}\n"
    "nav.pager{display:flex;gap:1em;align-items:center;margin:1em 0}\n"
    "nav.pager span.off{color:#8a96a3}\n"
    ".pagewrap{position:relative;display:inline-block;max-width:100%;"
    "border:1px solid #c3ccd5;background:#fff;line-height:0}\n"
    ".pagewrap img{display:block;max-width:100%;height:auto}\n"
    ".hl{position:absolute;border:2px solid #e8590c;background:"
    "rgba(255,212,59,.30);pointer-events:none;border-radius:2px}\n"
    ".hl.phrase{border-color:#c92a2a;background:rgba(255,146,43,.30)}\n"
    ".boxinfo{color:#52606d;font-size:.92em}\n"
    ".login{max-width:24em;margin:3em auto;background:#fff;border:1px solid "
    "#d5dce3;border-radius:6px;padding:1.5em}\n"
    ".login label{display:block;margin:.6em 0 .2em}\n"
    ".login input{width:100%;padding:.45em;border:1px solid #9aa8b6;"
    "border-radius:4px;font-size:1em}\n"
    ".login button{margin-top:1em;width:100%}\n"
    ".sr{position:absolute;left:-9999px}\n"
    "footer{color:#6b7885;font-size:.85em;text-align:center;padding:1em}\n";

static const char app_js[] =
    "/* sohoa: draws the boxes of the words that match the search over the\n"
    "   page image (positions from /api/page, in OCR pixels). */\n"
    "(function () {\n"
    "  'use strict';\n"
    "  var img = document.getElementById('pageimg');\n"
    "  if (!img) { return; }\n"
    "  var wrap = document.getElementById('pagewrap');\n"
    "  var info = document.getElementById('boxinfo');\n"
    "  var data = null, scrolled = false;\n"
    "  function draw() {\n"
    "    if (!data || !img.complete || !img.naturalWidth) { return; }\n"
    "    var old = wrap.querySelectorAll('.hl');\n"
    "    for (var i = 0; i < old.length; i++) { wrap.removeChild(old[i]); }\n"
    "    var kx = img.clientWidth / data.ocr_w, ky = img.clientHeight / "
    "data.ocr_h;\n"
    "    var first = null;\n"
    "    data.boxes.forEach(function (b) {\n"
    "      var d = document.createElement('div');\n"
    "      d.className = b.phrase ? 'hl phrase' : 'hl';\n"
    "      d.style.left = (b.x0 * kx - 3) + 'px';\n"
    "      d.style.top = (b.y0 * ky - 3) + 'px';\n"
    "      d.style.width = ((b.x1 - b.x0) * kx + 6) + 'px';\n"
    "      d.style.height = ((b.y1 - b.y0) * ky + 6) + 'px';\n"
    "      d.title = b.text;\n"
    "      wrap.appendChild(d);\n"
    "      if (!first) { first = d; }\n"
    "    });\n"
    "    document.body.setAttribute('data-boxes', String(data.boxes.length));\n"
    "    if (info) {\n"
    "      info.textContent = data.boxes.length ?\n"
    "        'Đã đánh dấu ' + data.boxes.length + ' từ khớp với câu tìm kiếm.' "
    ":\n"
    "        (data.query ? 'Không có từ nào khớp trên ảnh trang này.' : '');\n"
    "    }\n"
    "    if (first && !scrolled) {\n"
    "      scrolled = true;\n"
    "      first.scrollIntoView({block: 'center'});\n"
    "    }\n"
    "  }\n"
    "  img.addEventListener('load', draw);\n"
    "  img.addEventListener('error', function () {\n"
    "    if (info) { info.textContent = 'Không hiển thị được ảnh trang.'; }\n"
    "  });\n"
    "  window.addEventListener('resize', draw);\n"
    "  fetch(img.getAttribute('data-boxes'), {credentials: 'same-origin'})\n"
    "    .then(function (r) { return r.ok ? r.json() : null; })\n"
    "    .then(function (j) { if (j) { data = j; draw(); } })\n"
    "    .catch(function () {});\n"
    "})();\n";

/* ------------------------------------------------------------------ */
/* server state                                                        */

typedef struct gate {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int free;
} gate;

static void gate_enter(gate *g)
{
    pthread_mutex_lock(&g->mu);
    while (g->free <= 0)
        pthread_cond_wait(&g->cv, &g->mu);
    g->free--;
    pthread_mutex_unlock(&g->mu);
}

static void gate_leave(gate *g)
{
    pthread_mutex_lock(&g->mu);
    g->free++;
    pthread_cond_signal(&g->cv);
    pthread_mutex_unlock(&g->mu);
}

typedef struct server {
    const char *wh;
    int secure_cookie;
    int has_geom;            /* page.geom exists (catalogs from before it
                                keep the geometry in columns only)      */
    gate renders, logins;
} server;

/* Per-connection request state (MHD's con_cls). */
typedef struct req {
    double t0;
    sh_buf body;
    int too_big;
} req;

/* What a handler works with. */
typedef struct ctx {
    server *srv;
    struct MHD_Connection *con;
    const char *method, *url;
    req *rq;
    char addr[INET6_ADDRSTRLEN + 8];
    sqlite3 *db;             /* read-only, opened on first use */
    sh_web_user u;           /* u.name[0] == 0: no session */
    char token[65];
} ctx;

static const char csp[] =
    "default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'";

enum { K_HTML, K_JSON, K_STATIC, K_FILE };

/* Queue r (consumed) with the common headers and log the request.
   extra: NULL or a NULL-terminated list of header name, value pairs. */
static enum MHD_Result finish(ctx *c, struct MHD_Response *r, int status,
                              const char *ctype, int kind,
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
        MHD_add_response_header(r, "Content-Security-Policy", csp);
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
static enum MHD_Result reply_take(ctx *c, int status, const char *ctype,
                                  int kind, char *data, size_t n,
                                  const char *const *extra)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(n, data, MHD_RESPMEM_MUST_FREE);
    if (!r)
        free(data);
    return finish(c, r, status, ctype, kind, extra);
}

static enum MHD_Result reply_static(ctx *c, int status, const char *ctype,
                                    int kind, const char *data,
                                    const char *const *extra)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(
        strlen(data), (void *)data, MHD_RESPMEM_PERSISTENT);
    return finish(c, r, status, ctype, kind, extra);
}

static enum MHD_Result reply_html(ctx *c, int status, sh_buf *b,
                                  const char *const *extra)
{
    char *d = b->data;
    size_t n = b->len;
    memset(b, 0, sizeof *b);
    if (!d)
        return reply_static(c, 500, "text/plain; charset=utf-8", K_HTML,
                            "out of memory\n", NULL);
    return reply_take(c, status, "text/html; charset=utf-8", K_HTML, d, n,
                      extra);
}

static enum MHD_Result reply_json(ctx *c, int status, json_t *j)
{
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!s)
        return reply_static(c, 500, "application/json", K_JSON,
                            "{\"error\":\"out of memory\"}", NULL);
    return reply_take(c, status, "application/json; charset=utf-8", K_JSON, s,
                      strlen(s), NULL);
}

static enum MHD_Result json_error(ctx *c, int status, const char *code,
                                  const char *msg)
{
    return reply_json(c, status,
                      json_pack("{s:s, s:s}", "error", code, "message", msg));
}

static enum MHD_Result redirect(ctx *c, const char *to,
                                const char *set_cookie)
{
    const char *extra[] = {"Location", to, set_cookie ? "Set-Cookie" : NULL,
                           set_cookie, NULL};
    return reply_static(c, 303, "text/plain; charset=utf-8", K_HTML,
                        "See Other\n", extra);
}

/* ---- catalog access ---- */

static int ro_db(ctx *c)
{
    if (c->db)
        return SH_OK;
    sh_err err = {0};
    int rc = sh_db_open(c->srv->wh, 1, &c->db, &err);
    if (rc)
        sh_log(SH_LOG_ERROR, "%s", err.msg);
    return rc;
}

static int rw_db(server *s, sqlite3 **db)
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
static int audit_as(ctx *c, const char *user, const char *action,
                    const char *query, int results, const char *dossier,
                    int page, int status)
{
    sqlite3 *db = NULL;
    sh_err err = {0};
    int rc = rw_db(c->srv, &db);
    if (!rc) {
        sh_audit_rec r = {user ? user : c->u.name[0] ? c->u.name : NULL,
                          c->addr, action, query, results, dossier, page,
                          status};
        rc = sh_web_audit(db, &r, &err);
        if (rc)
            sh_log(SH_LOG_ERROR, "cannot write the audit journal: %s", err.msg);
    }
    sqlite3_close(db);
    return rc;
}

static int audit(ctx *c, const char *action, const char *query, int results,
                 const char *dossier, int page, int status)
{
    return audit_as(c, NULL, action, query, results, dossier, page, status);
}

static const char *arg(ctx *c, const char *name)
{
    const char *v = MHD_lookup_connection_value(c->con, MHD_GET_ARGUMENT_KIND,
                                                name);
    return v && *v ? v : NULL;
}

/* ---- HTML frame ---- */

static void html_start(sh_buf *b, ctx *c, const char *title)
{
    sh_buf_adds(b, "<!DOCTYPE html>\n<html lang=\"vi\"><head>"
                   "<meta charset=\"utf-8\">"
                   "<meta name=\"viewport\" content=\"width=device-width, "
                   "initial-scale=1\"><title>");
    sh_web_html_escape(b, title);
    sh_buf_adds(b, " — Kho hồ sơ số hóa</title>"
                   "<link rel=\"stylesheet\" href=\"/static/app.css\">"
                   "<script src=\"/static/app.js\" defer></script>"
                   "</head>\n<body><header class=\"top\"><a class=\"brand\" "
                   "href=\"/\">Kho hồ sơ số hóa</a>");
    if (c->u.name[0]) {
        sh_buf_adds(b, "<div class=\"who\"><span class=\"user\">");
        sh_web_html_escape(b, c->u.name);
        sh_buf_adds(b, c->u.admin ? " (quản trị)" : "");
        sh_buf_adds(b, "</span><form method=\"post\" action=\"/logout\">"
                       "<button type=\"submit\">Đăng xuất</button></form>"
                       "</div>");
    }
    sh_buf_adds(b, "</header>\n<main>\n");
}

static void html_end(sh_buf *b)
{
    sh_buf_adds(b, "</main>\n<footer>Dữ liệu cá nhân: mọi lượt tìm kiếm và "
                   "xem hồ sơ đều được ghi nhật ký.</footer>\n</body></html>\n");
}

static enum MHD_Result not_found(ctx *c, int api)
{
    if (api)
        return json_error(c, 404, "not_found", "Không tìm thấy.");
    sh_buf b = {0};
    html_start(&b, c, "Không tìm thấy");
    sh_buf_adds(&b, "<h1>Không tìm thấy</h1><p>Trang hoặc hồ sơ này không "
                    "tồn tại, hoặc bạn không có quyền xem.</p>"
                    "<p><a href=\"/\">Về trang tìm kiếm</a></p>");
    html_end(&b);
    return reply_html(c, 404, &b, NULL);
}

static enum MHD_Result unavailable(ctx *c, int api, const char *why)
{
    if (api)
        return json_error(c, 503, "unavailable", why);
    sh_buf b = {0};
    html_start(&b, c, "Tạm thời không phục vụ được");
    sh_buf_adds(&b, "<h1>Tạm thời không phục vụ được</h1><p class=\"error\">");
    sh_web_html_escape(&b, why);
    sh_buf_adds(&b, "</p>");
    html_end(&b);
    return reply_html(c, 503, &b, NULL);
}

/* ---- search ---- */

typedef struct sparams {
    char *q;                /* cleaned UTF-8, at most SH_QUERY_MAX_BYTES */
    int qcut;               /* 1: the typed query was longer             */
    int limit, offset, year;
    const char *agency, *prefix;
    /* the document (văn bản) filters: type, number/notation, issued
       from/to (ISO dates, partial allowed); "" = none */
    const char *dtype, *dcode, *dfrom, *dto;
} sparams;

/* A date filter: YYYY, YYYY-MM or YYYY-MM-DD (as <input type=date> sends). */
static int valid_date(const char *t)
{
    size_t n = strlen(t);
    if (n != 4 && n != 7 && n != 10)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((i == 4 || i == 7) ? t[i] != '-' : (t[i] < '0' || t[i] > '9'))
            return 0;
    return 1;
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
static int parse_search(ctx *c, sparams *p, const char **why)
{
    memset(p, 0, sizeof *p);
    *why = NULL;
    p->q = sh_web_utf8_clean(arg(c, "q"), SH_QUERY_MAX_BYTES, &p->qcut);
    if (!p->q) {
        *why = "out of memory";
        return -1;
    }
    if (parse_int(arg(c, "limit"), 1, PAGE_LIMIT_MAX, 20, &p->limit))
        *why = "limit: a number from 1 to 100";
    else if (parse_int(arg(c, "offset"), 0, OFFSET_MAX, 0, &p->offset))
        *why = "offset: a number from 0 to 100000";
    else if (parse_int(arg(c, "year"), 1, 9999, 0, &p->year))
        *why = "year: a year such as 2019";
    p->agency = arg(c, "agency");
    p->prefix = arg(c, "prefix");
    if (!*why && p->agency && !sh_web_valid_agency(p->agency))
        *why = "agency: not a valid agency code";
    if (!*why && p->prefix &&
        (strlen(p->prefix) > SH_WEB_ID_MAX ||
         u8_check((const uint8_t *)p->prefix, strlen(p->prefix))))
        *why = "prefix: at most 200 bytes of UTF-8";
    p->dtype = arg(c, "type");
    p->dcode = arg(c, "code");
    p->dfrom = arg(c, "from");
    p->dto = arg(c, "to");
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
static int run_search(ctx *c, const sparams *p, sh_hits *hits)
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
    int rc = ro_db(c);
    if (!rc && (rc = sh_search(c->db, &q, hits, &err)))
        sh_log(SH_LOG_ERROR, "search failed: %s", err.msg);
    if (!rc)
        rc = audit(c, "search", p->q, hits->total, NULL, 0, 200);
    return rc;
}

/* "Văn bản 2 (trang 2–3): Tờ trình số 112/TTr-STNMT ngày 26/02/2024 —
   trích yếu" under a hit, when the run recorded the page's document. */
static void doc_line(sh_buf *b, ctx *c, const sh_hit *h)
{
    sh_docinfo di;
    sh_err err = {0};
    if (sh_doc_at(c->db, h->dossier, h->page, &di, &err) || !di.ordinal) {
        sh_docinfo_release(&di);
        return;
    }
    sh_buf_printf(b, "<p class=\"doc\">Văn bản %d (trang %d–%d)",
                  di.ordinal, di.first_page, di.last_page);
    if (di.type_name || di.code || di.issued_date)
        sh_buf_adds(b, ": ");
    if (di.type_name)
        sh_web_html_escape(b, di.type_name);
    if (di.code) {
        sh_buf_adds(b, di.type_name ? " số " : "Số ");
        sh_web_html_escape(b, di.code);
    }
    if (di.issued_date) {
        /* ISO → dd/mm/yyyy as Vietnamese write it (partial dates as
           they are). */
        int y = 0, m = 0, d = 0;
        int k = sscanf(di.issued_date, "%4d-%2d-%2d", &y, &m, &d);
        if (k == 3)
            sh_buf_printf(b, " ngày %02d/%02d/%04d", d, m, y);
        else if (k == 2)
            sh_buf_printf(b, " tháng %02d/%04d", m, y);
        else if (k == 1)
            sh_buf_printf(b, " năm %04d", y);
    }
    if (di.subject) {
        sh_buf_adds(b, " — ");
        sh_web_html_escape(b, di.subject);
    }
    if (di.origin && !strcmp(di.origin, "ocr"))
        sh_buf_adds(b, " <span class=\"meta\">(đọc tự động, cần "
                       "kiểm tra)</span>");
    sh_buf_adds(b, "</p>");
    sh_docinfo_release(&di);
}

static int search_link(sh_buf *b, const sparams *p, int offset)
{
    sh_buf_adds(b, "/?q=");
    sh_web_url_encode(b, p->q);
    if (p->agency) {
        sh_buf_adds(b, "&amp;agency=");
        sh_web_url_encode(b, p->agency);
    }
    if (p->year)
        sh_buf_printf(b, "&amp;year=%d", p->year);
    if (p->prefix) {
        sh_buf_adds(b, "&amp;prefix=");
        sh_web_url_encode(b, p->prefix);
    }
    const char *dk[] = {"type", "code", "from", "to"};
    const char *dv[] = {p->dtype, p->dcode, p->dfrom, p->dto};
    for (int i = 0; i < 4; i++)
        if (dv[i] && dv[i][0]) {
            sh_buf_printf(b, "&amp;%s=", dk[i]);
            sh_web_url_encode(b, dv[i]);
        }
    if (offset)
        sh_buf_printf(b, "&amp;offset=%d", offset);
    return SH_OK;
}

/* The document types the catalog knows, offered to the type filter. */
static void doc_types(sh_buf *b, ctx *c)
{
    sqlite3_stmt *st;
    sh_buf_adds(b, "<datalist id=\"doctypes\">");
    if (!ro_db(c) && sqlite3_prepare_v2(c->db,
                                        "SELECT DISTINCT type_name FROM "
                                        "document WHERE type_name IS NOT "
                                        "NULL ORDER BY 1 LIMIT 200",
                                        -1, &st, NULL) == SQLITE_OK) {
        while (sqlite3_step(st) == SQLITE_ROW) {
            sh_buf_adds(b, "<option value=\"");
            sh_web_html_escape(b, (const char *)sqlite3_column_text(st, 0));
            sh_buf_adds(b, "\">");
        }
        sqlite3_finalize(st);
    }
    sh_buf_adds(b, "</datalist>");
}

/* The agencies offered in the filter: the user's, or all for an admin. */
static void agency_options(sh_buf *b, ctx *c, const char *sel)
{
    sh_buf_adds(b, "<option value=\"\">Tất cả</option>");
    if (!c->u.admin) {
        for (char **a = c->u.agencies; a && *a; a++) {
            sh_buf_adds(b, "<option value=\"");
            sh_web_html_escape(b, *a);
            sh_buf_adds(b, sel && !strcmp(sel, *a) ? "\" selected>" : "\">");
            sh_web_html_escape(b, *a);
            sh_buf_adds(b, "</option>");
        }
        return;
    }
    sqlite3_stmt *st;
    if (ro_db(c) || sqlite3_prepare_v2(c->db,
                                       "SELECT DISTINCT agency FROM dossier "
                                       "WHERE agency IS NOT NULL ORDER BY 1",
                                       -1, &st, NULL) != SQLITE_OK)
        return;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *a = (const char *)sqlite3_column_text(st, 0);
        sh_buf_adds(b, "<option value=\"");
        sh_web_html_escape(b, a);
        sh_buf_adds(b, sel && !strcmp(sel, a) ? "\" selected>" : "\">");
        sh_web_html_escape(b, a);
        sh_buf_adds(b, "</option>");
    }
    sqlite3_finalize(st);
}

static enum MHD_Result page_search(ctx *c)
{
    sparams p;
    const char *why;
    sh_hits hits = {0};
    sh_buf b = {0};
    int bad = parse_search(c, &p, &why), failed = 0;
    if (!p.q) {
        free(p.q);
        return unavailable(c, 0, "Hết bộ nhớ.");
    }
    if (!bad && p.q[0] && run_search(c, &p, &hits))
        failed = 1;
    html_start(&b, c, p.q[0] ? p.q : "Tìm kiếm hồ sơ");
    sh_buf_adds(&b, "<h1>Tìm kiếm hồ sơ</h1>\n"
                    "<form class=\"search\" method=\"get\" action=\"/\" "
                    "role=\"search\"><div class=\"qrow\">"
                    "<label class=\"sr\" for=\"q\">Từ khóa</label>"
                    "<input id=\"q\" name=\"q\" type=\"search\" "
                    "placeholder=\"Nhập từ cần tìm, có dấu hoặc không dấu\" "
                    "autofocus value=\"");
    sh_web_html_escape(&b, p.q);
    sh_buf_adds(&b, "\"><button type=\"submit\">Tìm kiếm</button></div>"
                    "<div class=\"filters\"><label>Cơ quan "
                    "<select name=\"agency\">");
    agency_options(&b, c, p.agency);
    sh_buf_adds(&b, "</select></label><label>Năm <input class=\"year\" "
                    "name=\"year\" inputmode=\"numeric\" value=\"");
    if (p.year)
        sh_buf_printf(&b, "%d", p.year);
    sh_buf_adds(&b, "\"></label><label>Mã hồ sơ <input name=\"prefix\" "
                    "placeholder=\"VD: HS-2024\" value=\"");
    sh_web_html_escape(&b, p.prefix ? p.prefix : "");
    sh_buf_adds(&b, "\"></label></div><div class=\"filters\"><label>Loại "
                    "văn bản <input name=\"type\" list=\"doctypes\" "
                    "placeholder=\"VD: Quyết định\" value=\"");
    sh_web_html_escape(&b, p.dtype ? p.dtype : "");
    sh_buf_adds(&b, "\"></label><label>Số, ký hiệu <input name=\"code\" "
                    "placeholder=\"VD: QĐ-UBND\" value=\"");
    sh_web_html_escape(&b, p.dcode ? p.dcode : "");
    sh_buf_adds(&b, "\"></label><label>Ban hành từ <input name=\"from\" "
                    "type=\"date\" value=\"");
    sh_web_html_escape(&b, p.dfrom ? p.dfrom : "");
    sh_buf_adds(&b, "\"></label><label>đến <input name=\"to\" "
                    "type=\"date\" value=\"");
    sh_web_html_escape(&b, p.dto ? p.dto : "");
    sh_buf_adds(&b, "\"></label></div>");
    doc_types(&b, c);
    sh_buf_adds(&b, "</form>\n");
    if (bad) {
        sh_buf_adds(&b, "<p class=\"error\">Tham số không hợp lệ: ");
        sh_web_html_escape(&b, why);
        sh_buf_adds(&b, "</p>");
    } else if (failed) {
        sh_hits_release(&hits);
        free(p.q);
        sh_buf_release(&b);
        return unavailable(c, 0,
                           "Không tìm kiếm được hoặc không ghi được nhật ký "
                           "truy cập; vui lòng thử lại sau.");
    } else if (p.q[0]) {
        if (p.qcut)
            sh_buf_printf(&b, "<p class=\"notice\">Câu tìm kiếm quá dài: chỉ "
                              "dùng %d byte đầu.</p>",
                          SH_QUERY_MAX_BYTES);
        if (!hits.total) {
            sh_buf_adds(&b, "<p class=\"summary\"><strong>Không tìm thấy kết "
                            "quả</strong> cho «");
            sh_web_html_escape(&b, p.q);
            sh_buf_adds(&b, "». Thử bỏ bớt từ, hoặc gõ không dấu.</p>");
        } else {
            sh_buf_printf(&b, "<p class=\"summary\">%s <strong>%d</strong> "
                              "trang cho «",
                          hits.approx ? "Khoảng" : "Tìm thấy", hits.total);
            sh_web_html_escape(&b, p.q);
            sh_buf_printf(&b, "»%s</p>\n<ol class=\"hits\" start=\"%d\">",
                          hits.n ? "" : " (không còn kết quả ở trang này)",
                          p.offset + 1);
        }
        for (int i = 0; i < hits.n; i++) {
            sh_hit *h = &hits.h[i];
            sh_buf_adds(&b, "<li class=\"hit\"><div class=\"hit-head\">"
                            "<a class=\"open\" href=\"/view/");
            sh_web_url_encode(&b, h->dossier);
            sh_buf_printf(&b, "/%d?q=", h->page);
            sh_web_url_encode(&b, p.q);
            sh_buf_adds(&b, "\">Hồ sơ ");
            sh_web_html_escape(&b, h->dossier);
            sh_buf_printf(&b, " — Trang %d</a><span class=\"meta\">Mã hồ sơ: ",
                          h->page);
            sh_web_html_escape(&b, h->dossier);
            sh_buf_adds(&b, "</span><span class=\"meta\">Cơ quan: ");
            sh_web_html_escape(&b, h->agency ? h->agency : "—");
            sh_buf_adds(&b, "</span>");
            if (!h->exact)
                sh_buf_adds(&b, "<span class=\"meta\">(khớp khi bỏ dấu)</span>");
            sh_buf_adds(&b, "<a class=\"meta\" href=\"/pdf/");
            sh_web_url_encode(&b, h->dossier);
            sh_buf_printf(&b, "#page=%d\">PDF</a></div>", h->page);
            doc_line(&b, c, h);
            sh_buf_adds(&b, "<p class=\"snippet\">");
            sh_web_snippet_html(&b, h->snippet);
            sh_buf_adds(&b, "</p></li>\n");
        }
        if (hits.total)
            sh_buf_adds(&b, "</ol>\n");
        if (hits.total > p.limit) {
            int pages = (hits.total + p.limit - 1) / p.limit;
            int cur = p.offset / p.limit + 1;
            sh_buf_adds(&b, "<nav class=\"pager\">");
            if (p.offset > 0) {
                sh_buf_adds(&b, "<a rel=\"prev\" href=\"");
                search_link(&b, &p, p.offset > p.limit ? p.offset - p.limit : 0);
                sh_buf_adds(&b, "\">‹ Trang trước</a>");
            } else {
                sh_buf_adds(&b, "<span class=\"off\">‹ Trang trước</span>");
            }
            sh_buf_printf(&b, "<span>Trang %d / %s%d</span>", cur,
                          hits.approx ? "~" : "", pages);
            if (p.offset + p.limit < hits.total) {
                sh_buf_adds(&b, "<a rel=\"next\" href=\"");
                search_link(&b, &p, p.offset + p.limit);
                sh_buf_adds(&b, "\">Trang sau ›</a>");
            } else {
                sh_buf_adds(&b, "<span class=\"off\">Trang sau ›</span>");
            }
            sh_buf_adds(&b, "</nav>\n");
        }
    }
    html_end(&b);
    sh_hits_release(&hits);
    free(p.q);
    return reply_html(c, bad ? 400 : 200, &b, NULL);
}

static enum MHD_Result api_search(ctx *c)
{
    sparams p;
    const char *why;
    sh_hits hits = {0};
    if (parse_search(c, &p, &why)) {
        free(p.q);
        return json_error(c, 400, "bad_request", why);
    }
    if (p.q[0] && run_search(c, &p, &hits)) {
        sh_hits_release(&hits);
        free(p.q);
        return unavailable(c, 1, "search or audit journal unavailable");
    }
    json_t *arr = json_array();
    for (int i = 0; arr && i < hits.n; i++) {
        sh_hit *h = &hits.h[i];
        sh_buf url = {0};
        sh_buf_adds(&url, "/pdf/");
        sh_web_url_encode(&url, h->dossier);
        sh_buf_printf(&url, "#page=%d", h->page);
        json_t *o = json_pack("{s:o, s:i, s:o, s:f, s:b, s:o, s:o}", "dossier",
                              jstr(h->dossier), "page", h->page, "snippet",
                              jstr(h->snippet ? h->snippet : ""), "score",
                              h->score, "exact", h->exact, "agency",
                              jstr(h->agency), "pdf", jstr(url.data));
        sh_buf_release(&url);
        if (o)
            json_object_set_new(o, "document",
                                sh_doc_json(c->db, h->dossier, h->page));
        if (!o || json_array_append_new(arr, o)) {
            json_decref(arr);
            arr = NULL;
        }
    }
    json_t *top = arr ? json_pack("{s:o, s:i, s:b, s:i, s:i, s:b, s:o}",
                                  "query", jstr(p.q), "total", hits.total,
                                  "approx", hits.approx, "offset", p.offset,
                                  "limit", p.limit, "query_truncated", p.qcut,
                                  "hits", arr)
                      : NULL;
    sh_hits_release(&hits);
    free(p.q);
    return reply_json(c, 200, top);
}

/* ---- one page ---- */

typedef struct pagerow {
    char *agency, *src, *words;
    int pages, frame;
    sh_geom g;               /* ocr_w x ocr_h: the OCR image, box space */
} pagerow;

static void pagerow_release(pagerow *r)
{
    free(r->agency);
    free(r->src);
    free(r->words);
    memset(r, 0, sizeof *r);
}

/* Look up page N of dossier id as the user may see it: 1 found, 0 not
   found or not allowed, -1 catalog error. */
static int find_page(ctx *c, const char *id, int pageno, pagerow *r)
{
    memset(r, 0, sizeof *r);
    if (ro_db(c))
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
        pagerow_release(r);
    return found;
}

/* Split "ID/N" + suffix into a valid id and a page number. */
static int parse_id_page(const char *rest, const char *suffix, char *id,
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

static enum MHD_Result page_view(ctx *c, const char *rest)
{
    char id[SH_WEB_ID_MAX + 1];
    int pageno;
    pagerow r;
    if (parse_id_page(rest, "", id, sizeof id, &pageno))
        return not_found(c, 0);
    int f = find_page(c, id, pageno, &r);
    if (f < 0)
        return unavailable(c, 0, "Không đọc được danh mục hồ sơ.");
    if (!f)
        return not_found(c, 0);
    char *q = sh_web_utf8_clean(arg(c, "q"), SH_QUERY_MAX_BYTES, NULL);
    sh_buf b = {0}, title = {0};
    sh_buf_printf(&title, "Hồ sơ %s — Trang %d", id, pageno);
    html_start(&b, c, title.data ? title.data : id);
    sh_buf_adds(&b, "<nav class=\"pager\"><a href=\"/?q=");
    sh_web_url_encode(&b, q);
    sh_buf_adds(&b, "\">← Quay lại kết quả</a></nav><h1>Hồ sơ ");
    sh_web_html_escape(&b, id);
    sh_buf_printf(&b, " — Trang %d", pageno);
    if (r.pages)
        sh_buf_printf(&b, " / %d", r.pages);
    sh_buf_adds(&b, "</h1><p class=\"meta\">Cơ quan: ");
    sh_web_html_escape(&b, r.agency ? r.agency : "—");
    sh_buf_adds(&b, " · Mã hồ sơ: ");
    sh_web_html_escape(&b, id);
    sh_buf_adds(&b, " · <a id=\"pdflink\" href=\"/pdf/");
    sh_web_url_encode(&b, id);
    sh_buf_printf(&b, "#page=%d\">Mở bản PDF tại trang này</a></p>"
                      "<nav class=\"pager\">",
                  pageno);
    for (int k = 0; k < 2; k++) {
        int to = k ? pageno + 1 : pageno - 1;
        const char *label = k ? "Trang sau ›" : "‹ Trang trước";
        if (to < 1 || (r.pages && to > r.pages)) {
            sh_buf_printf(&b, "<span class=\"off\">%s</span>", label);
            continue;
        }
        sh_buf_adds(&b, "<a href=\"/view/");
        sh_web_url_encode(&b, id);
        sh_buf_printf(&b, "/%d?q=", to);
        sh_web_url_encode(&b, q);
        sh_buf_printf(&b, "\">%s</a>", label);
    }
    int w = RENDER_WIDTH;
    int h = r.g.ocr_w > 0 ? (int)lround((double)w * r.g.ocr_h / r.g.ocr_w)
                          : w * 1414 / 1000;
    sh_buf_adds(&b, "</nav><p id=\"boxinfo\" class=\"boxinfo\"></p>"
                    "<div class=\"pagewrap\" id=\"pagewrap\"><img id=\"pageimg\" "
                    "src=\"/page/");
    sh_web_url_encode(&b, id);
    sh_buf_printf(&b, "/%d.png\" width=\"%d\" height=\"%d\" alt=\"Ảnh trang %d "
                      "của hồ sơ ",
                  pageno, w, h, pageno);
    sh_web_html_escape(&b, id);
    sh_buf_adds(&b, "\" data-boxes=\"/api/page/");
    sh_web_url_encode(&b, id);
    sh_buf_printf(&b, "/%d?q=", pageno);
    sh_web_url_encode(&b, q);
    sh_buf_adds(&b, "\"></div>\n");
    html_end(&b);
    free(q);
    sh_buf_release(&title);
    pagerow_release(&r);
    return reply_html(c, 200, &b, NULL);
}

static enum MHD_Result api_page(ctx *c, const char *rest)
{
    char id[SH_WEB_ID_MAX + 1];
    int pageno;
    pagerow r;
    if (parse_id_page(rest, "", id, sizeof id, &pageno))
        return not_found(c, 1);
    int f = find_page(c, id, pageno, &r);
    if (f < 0)
        return unavailable(c, 1, "catalog unavailable");
    if (!f)
        return not_found(c, 1);
    char *q = sh_web_utf8_clean(arg(c, "q"), SH_QUERY_MAX_BYTES, NULL);
    json_t *boxes = NULL;
    sh_err err = {0};
    if (sh_web_word_boxes(r.words, q ? q : "", &boxes, &err)) {
        sh_log(SH_LOG_WARN, "%s page %d: %s", id, pageno, err.msg);
        boxes = json_array();
    }
    sh_buf img = {0};
    sh_buf_adds(&img, "/page/");
    sh_web_url_encode(&img, id);
    sh_buf_printf(&img, "/%d.png", pageno);
    json_t *o = json_pack("{s:o, s:i, s:i, s:o, s:i, s:i, s:o, s:o, s:o}",
                          "dossier", jstr(id), "page", pageno, "pages",
                          r.pages, "agency", jstr(r.agency), "ocr_w",
                          r.g.ocr_w, "ocr_h", r.g.ocr_h, "image", jstr(img.data), "query",
                          jstr(q ? q : ""), "boxes",
                          boxes ? boxes : json_array());
    sh_buf_release(&img);
    free(q);
    pagerow_release(&r);
    return reply_json(c, 200, o);
}

static enum MHD_Result page_png(ctx *c, const char *rest)
{
    char id[SH_WEB_ID_MAX + 1];
    int pageno;
    pagerow r;
    if (parse_id_page(rest, ".png", id, sizeof id, &pageno))
        return not_found(c, 0);
    int f = find_page(c, id, pageno, &r);
    if (f < 0)
        return unavailable(c, 0, "Không đọc được danh mục hồ sơ.");
    if (!f)
        return not_found(c, 0);
    uint8_t *png = NULL;
    size_t n = 0;
    sh_err err = {0};
    gate_enter(&c->srv->renders);
    int rc = sh_prep_render_png(r.src, r.frame, &r.g, RENDER_WIDTH, &png, &n,
                                &err);
    gate_leave(&c->srv->renders);
    pagerow_release(&r);
    int status = rc ? 500 : 200;
    if (rc)
        sh_log(SH_LOG_ERROR, "%s page %d: cannot render: %s", id, pageno,
               err.msg);
    if (audit(c, "page", NULL, -1, id, pageno, status)) {
        free(png);
        return unavailable(c, 0, "Không ghi được nhật ký truy cập.");
    }
    if (rc)
        return reply_static(c, 500, "text/plain; charset=utf-8", K_HTML,
                            "Không hiển thị được ảnh trang (xem nhật ký máy "
                            "chủ).\n",
                            NULL);
    return reply_take(c, 200, "image/png", K_HTML, (char *)png, n, NULL);
}

static enum MHD_Result pdf_file(ctx *c, const char *id)
{
    if (!sh_web_valid_id(id))
        return not_found(c, 0);
    if (ro_db(c))
        return unavailable(c, 0, "Không đọc được danh mục hồ sơ.");
    sqlite3_stmt *st;
    char *pdf = NULL, *agency = NULL;
    int found = 0;
    if (sqlite3_prepare_v2(c->db,
                           "SELECT pdf, agency FROM dossier WHERE id=?1 AND"
                           " state='done' AND pdf IS NOT NULL AND (?2 OR"
                           " agency IN (SELECT agency FROM user_agency"
                           "  WHERE user=?3))",
                           -1, &st, NULL) != SQLITE_OK) {
        sh_log(SH_LOG_ERROR, "catalog: %s", sqlite3_errmsg(c->db));
        return unavailable(c, 0, "Không đọc được danh mục hồ sơ.");
    }
    sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 2, c->u.admin);
    sqlite3_bind_text(st, 3, c->u.name, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st) == SQLITE_ROW) {
        pdf = sh_strdup((const char *)sqlite3_column_text(st, 0));
        agency = sh_strdup((const char *)sqlite3_column_text(st, 1));
        found = pdf && sh_web_user_may(&c->u, agency);
    }
    sqlite3_finalize(st);
    free(agency);
    if (!found) {
        free(pdf);
        return not_found(c, 0);
    }
    int fd = open(pdf, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
        sh_log(SH_LOG_ERROR, "%s: PDF of dossier %s cannot be read: %s", pdf,
               id, fd < 0 ? strerror(errno) : "not a regular file");
        if (fd >= 0)
            close(fd);
        free(pdf);
        audit(c, "pdf", NULL, -1, id, 0, 500);
        return unavailable(c, 0, "Không đọc được tệp PDF của hồ sơ.");
    }
    free(pdf);
    if (audit(c, "pdf", NULL, -1, id, 0, 200)) {
        close(fd);
        return unavailable(c, 0, "Không ghi được nhật ký truy cập.");
    }
    struct MHD_Response *r = MHD_create_response_from_fd64(
        (uint64_t)sb.st_size, fd);
    if (!r)
        close(fd);
    sh_buf disp = {0};
    sh_buf_adds(&disp, "inline; filename*=UTF-8''");
    sh_web_url_encode(&disp, id);
    sh_buf_adds(&disp, ".pdf");
    const char *extra[] = {"Content-Disposition", disp.data, NULL};
    enum MHD_Result ok = finish(c, r, 200, "application/pdf", K_FILE,
                                disp.data ? extra : NULL);
    sh_buf_release(&disp);
    return ok;
}

/* ---- login ---- */

static enum MHD_Result login_page(ctx *c, int status, const char *msg)
{
    sh_buf b = {0};
    html_start(&b, c, "Đăng nhập");
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
    html_end(&b);
    return reply_html(c, status, &b, NULL);
}

static enum MHD_Result do_login(ctx *c)
{
    char *user = NULL, *pw = NULL;
    const char *body = c->rq->body.data ? c->rq->body.data : "";
    size_t n = c->rq->body.len;
    if (sh_web_form_value(body, n, "user", &user) ||
        sh_web_form_value(body, n, "password", &pw) || !user || !pw) {
        free(user);
        free(pw);
        return login_page(c, 400, "Hãy nhập tên đăng nhập và mật khẩu.");
    }
    gate_enter(&c->srv->logins);
    int ok = !ro_db(c) && sh_web_login_check(c->db, user, pw);
    gate_leave(&c->srv->logins);
    sodium_memzero(pw, strlen(pw));
    free(pw);
    int valid_name = sh_web_valid_user(user);
    if (!ok) {
        sh_log(SH_LOG_WARN, "%s: failed login for user '%s'", c->addr,
               valid_name ? user : "(not a valid name)");
        /* the name as typed only if it could be a name: never a
           password typed into the wrong box */
        audit_as(c, valid_name ? user : "?", "login-failed", NULL, -1, NULL, 0,
                 401);
        free(user);
        usleep(LOGIN_FAIL_DELAY_US);
        return login_page(c, 401, "Sai tên đăng nhập hoặc mật khẩu.");
    }
    char token[65];
    sqlite3 *db = NULL;
    sh_err err = {0};
    int rc = rw_db(c->srv, &db);
    if (!rc && (rc = sh_web_session_new(db, user, 0, c->addr, token, &err)))
        sh_log(SH_LOG_ERROR, "cannot create a session: %s", err.msg);
    sqlite3_close(db);
    if (!rc) {
        snprintf(c->u.name, sizeof c->u.name, "%s", user);
        rc = audit(c, "login", NULL, -1, NULL, 0, 303);
    }
    free(user);
    if (rc)
        return unavailable(c, 0, "Không tạo được phiên đăng nhập.");
    char cookie[256];
    snprintf(cookie, sizeof cookie,
             COOKIE "=%s; HttpOnly; SameSite=Strict; Path=/; Max-Age=%d%s",
             token, SH_WEB_SESSION_TTL,
             c->srv->secure_cookie ? "; Secure" : "");
    return redirect(c, "/", cookie);
}

static enum MHD_Result do_logout(ctx *c)
{
    if (c->u.name[0]) {
        sqlite3 *db = NULL;
        sh_err err = {0};
        if (!rw_db(c->srv, &db) && sh_web_session_end(db, c->token, &err))
            sh_log(SH_LOG_ERROR, "cannot end the session: %s", err.msg);
        sqlite3_close(db);
        audit(c, "logout", NULL, -1, NULL, 0, 303);
    }
    return redirect(c, "/login",
                    COOKIE "=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0");
}

/* A POST must come from our own pages.  The cookie is SameSite=Strict;
   besides, a browser's Sec-Fetch-Site (which pages cannot set) must say
   same-origin (or none: typed by the user), and an Origin, when sent,
   must be this host — or "null" (a browser hiding it) together with
   Sec-Fetch-Site: same-origin.  Clients that send neither (curl) pass. */
static int same_origin(ctx *c)
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
    const char *o = !strncmp(origin, "http://", 7)    ? origin + 7
                    : !strncmp(origin, "https://", 8) ? origin + 8
                                                      : NULL;
    return o && !strcmp(o, host);
}

/* ------------------------------------------------------------------ */
/* dispatch                                                            */

static void client_addr(struct MHD_Connection *con, char *out, size_t n)
{
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
}

static int starts(const char *s, const char *prefix)
{
    return !strncmp(s, prefix, strlen(prefix));
}

static enum MHD_Result route(ctx *c)
{
    const char *url = c->url;
    int get = !strcmp(c->method, "GET") || !strcmp(c->method, "HEAD");
    int post = !strcmp(c->method, "POST");
    int api = starts(url, "/api/");

    if (get && !strcmp(url, "/static/app.css"))
        return reply_static(c, 200, "text/css; charset=utf-8", K_STATIC,
                            app_css, NULL);
    if (get && !strcmp(url, "/static/app.js"))
        return reply_static(c, 200, "text/javascript; charset=utf-8",
                            K_STATIC, app_js, NULL);
    if (get && !strcmp(url, "/favicon.ico"))
        return reply_static(c, 404, "text/plain; charset=utf-8", K_STATIC,
                            "no icon\n", NULL);
    if (!get && !post) {
        const char *extra[] = {"Allow", "GET, HEAD, POST", NULL};
        return reply_static(c, 405, "text/plain; charset=utf-8", K_HTML,
                            "Method Not Allowed\n", extra);
    }
    if (post && !same_origin(c))
        return reply_static(c, 403, "text/plain; charset=utf-8", K_HTML,
                            "Forbidden: cross-site request\n", NULL);

    /* the session, if any */
    const char *tok = MHD_lookup_connection_value(c->con, MHD_COOKIE_KIND,
                                                  COOKIE);
    if (tok && sh_web_token_ok(tok) && !ro_db(c) &&
        sh_web_session_user(c->db, tok, &c->u))
        snprintf(c->token, sizeof c->token, "%s", tok);

    if (!strcmp(url, "/login")) {
        if (post)
            return do_login(c);
        if (c->u.name[0])
            return redirect(c, "/", NULL);
        return login_page(c, 200, NULL);
    }
    if (post && !strcmp(url, "/logout"))
        return do_logout(c);
    if (!c->u.name[0]) {
        if (api)
            return json_error(c, 401, "unauthorized",
                              "Chưa đăng nhập hoặc phiên đã hết hạn.");
        return redirect(c, "/login", NULL);
    }
    if (post)
        return not_found(c, api);
    if (!strcmp(url, "/"))
        return page_search(c);
    if (!strcmp(url, "/api/search"))
        return api_search(c);
    if (starts(url, "/api/page/"))
        return api_page(c, url + strlen("/api/page/"));
    if (starts(url, "/view/"))
        return page_view(c, url + strlen("/view/"));
    if (starts(url, "/page/"))
        return page_png(c, url + strlen("/page/"));
    if (starts(url, "/pdf/"))
        return pdf_file(c, url + strlen("/pdf/"));
    return not_found(c, api);
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *con,
                               const char *url, const char *method,
                               const char *version, const char *upload_data,
                               size_t *upload_data_size, void **con_cls)
{
    server *srv = cls;
    req *rq = *con_cls;
    if (!rq) {
        rq = calloc(1, sizeof *rq);
        if (!rq)
            return MHD_NO;
        rq->t0 = sh_now();
        *con_cls = rq;
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
    ctx c = {0};
    c.srv = srv;
    c.con = con;
    c.url = url;
    c.method = method;
    c.rq = rq;
    client_addr(con, c.addr, sizeof c.addr);
    enum MHD_Result ok;
    if (rq->too_big) {
        const char *extra[] = {"Connection", "close", NULL};
        ok = reply_static(&c, 413, "text/plain; charset=utf-8", K_HTML,
                          "Payload Too Large: request bodies are limited to "
                          "16 KB\n",
                          extra);
    } else {
        ok = route(&c);
    }
    sh_web_user_release(&c.u);
    sh_db_close(&c.db);
    return ok;
}

static void completed(void *cls, struct MHD_Connection *con, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    req *rq = *con_cls;
    if (rq) {
        sh_buf_release(&rq->body);
        free(rq);
        *con_cls = NULL;
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
        if (*r == '%' && (h = hexval(r[1])) >= 0 && (l = hexval(r[2])) >= 0) {
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

int sh_cmd_serve(int argc, char **argv)
{
    const char *wh = sh_warehouse_default(), *listen = "127.0.0.1:8080";
    int c, secure = 0;
    static const struct option opts[] = {
        {"warehouse", required_argument, NULL, 'w'},
        {"listen", required_argument, NULL, 'l'},
        {"secure-cookies", no_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    static const char usage[] =
        "usage: sohoa serve [--warehouse DIR] [--listen HOST:PORT]"
        " [--secure-cookies]\n"
        "  --listen          address to listen on (default 127.0.0.1:8080;"
        " port 0 = any free port)\n"
        "  --secure-cookies  mark the session cookie Secure (when an HTTPS"
        " proxy is in front)\n"
        "Users: 'sohoa user add NAME --agency CODE' (see 'sohoa user "
        "--help').\n";
    optind = 1;
    while ((c = getopt_long(argc, argv, "w:l:h", opts, NULL)) != -1) {
        switch (c) {
        case 'w': wh = optarg; break;
        case 'l': listen = optarg; break;
        case 's': secure = 1; break;
        default:
            fputs(usage, c == 'h' ? stdout : stderr);
            return c == 'h' ? SH_EXIT_OK : SH_EXIT_USAGE;
        }
    }
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
    if (sodium_init() < 0) {
        fprintf(stderr, "sohoa serve: libsodium cannot start\n");
        return SH_EXIT_USAGE;
    }

    server srv = {0};
    srv.wh = wh;
    srv.secure_cookie = secure;
    srv.has_geom = has_geom;
    pthread_mutex_init(&srv.renders.mu, NULL);
    pthread_cond_init(&srv.renders.cv, NULL);
    srv.renders.free = RENDERS_AT_ONCE;
    pthread_mutex_init(&srv.logins.mu, NULL);
    pthread_cond_init(&srv.logins.cv, NULL);
    srv.logins.free = LOGINS_AT_ONCE;

    /* Threads inherit this mask; the main thread waits for the signals. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD |
                     MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG;
    if (ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    struct MHD_Daemon *d = MHD_start_daemon(
        flags, 0, NULL, NULL, handler, &srv, MHD_OPTION_EXTERNAL_LOGGER,
        mhd_log, NULL, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *)&ss, MHD_OPTION_CONNECTION_LIMIT, (unsigned)64,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(256 * 1024),
        MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
        MHD_OPTION_UNESCAPE_CALLBACK, unescape, NULL, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "sohoa serve: cannot listen on %s: %s\n", listen,
                strerror(errno));
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
    if (!is_loopback(&ss))
        sh_log(SH_LOG_WARN, "listening beyond this machine without TLS: put an "
                            "HTTPS proxy in front and use --secure-cookies");
    int sig = 0;
    sigwait(&sigs, &sig);
    sh_log(SH_LOG_INFO, "%s: stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
    MHD_stop_daemon(d);
    pthread_sigmask(SIG_UNBLOCK, &sigs, NULL);
    return SH_EXIT_OK;
}
