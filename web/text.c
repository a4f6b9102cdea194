/*
 * text.c — text for the web pages (declared in web.h, tested in
 * tests/test_web.c): HTML escaping, search snippets as HTML, URL
 * percent-encoding and -decoding, form fields, UTF-8 clean-up.
 *
 *   sh_web_html_escape, sh_web_snippet_html, sh_web_url_encode,
 *   sh_web_url_decode, sh_web_form_value, sh_web_utf8_clean
 *   sh__web_hexval, sh__web_jstr (web_int.h)
 *
 * Method.  Everything appends to an sh_buf or returns a malloc'd string;
 * nothing is escaped twice (the snippet's hit markers '[' ']' survive
 * escaping because it never produces them).  Text from the catalog may
 * not be valid UTF-8 (OCR output of old files): sh_web_utf8_clean puts
 * U+FFFD for each bad byte, and sh__web_jstr uses it when jansson refuses
 * a string.
 */
#include "web_int.h"

#include <stdlib.h>
#include <string.h>
#include <unistr.h>

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

int sh__web_hexval(char c)
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
            if (i + 2 >= n || (h = sh__web_hexval(s[i + 1])) < 0 ||
                (l = sh__web_hexval(s[i + 2])) < 0) {
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
json_t *sh__web_jstr(const char *s)
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
