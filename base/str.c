/*
 * str.c — small string and clock helpers: natural order, strdup of NULL,
 * the monotonic clock and UTC timestamps, control characters escaped for
 * logs and terminals (sh_buf_add_safe, sh_fputs_safe).
 *
 * Method (escaping).  The text is walked as UTF-8: a valid sequence of a
 * printable character is copied, a C0/DEL byte or a C1 code point (which
 * some terminals obey as ESC-sequences) is written as an escape, and a
 * byte that starts no valid sequence is written as \xNN — so nothing a
 * client typed can start a log line or move a terminal's cursor.
 */
#include "common.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int sh_natcmp(const char *a, const char *b)
{
    while (*a && *b) {
        if (isdigit((unsigned char)*a) && isdigit((unsigned char)*b)) {
            while (*a == '0')
                a++;
            while (*b == '0')
                b++;
            size_t la = 0, lb = 0;
            while (isdigit((unsigned char)a[la]))
                la++;
            while (isdigit((unsigned char)b[lb]))
                lb++;
            if (la != lb)
                return la < lb ? -1 : 1;
            int c = strncmp(a, b, la);
            if (c)
                return c;
            a += la;
            b += lb;
            continue;
        }
        unsigned char ca = (unsigned char)tolower((unsigned char)*a);
        unsigned char cb = (unsigned char)tolower((unsigned char)*b);
        if (ca != cb)
            return ca < cb ? -1 : 1;
        a++;
        b++;
    }
    if (*a || *b)
        return *a ? 1 : -1;
    return 0;
}

double sh_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

char *sh_strdup(const char *s)
{
    return s ? strdup(s) : NULL;
}

void sh_now_iso(char out[SH_ISO_LEN])
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, SH_ISO_LEN, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0. */
static int u8_len(const unsigned char *s, unsigned *cp)
{
    unsigned c = s[0];
    int n;
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xC2 && c <= 0xDF)
        n = 2, c &= 0x1F;
    else if (c >= 0xE0 && c <= 0xEF)
        n = 3, c &= 0x0F;
    else if (c >= 0xF0 && c <= 0xF4)
        n = 4, c &= 0x07;
    else
        return 0;
    for (int i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        c = (c << 6) | (s[i] & 0x3F);
    }
    if ((n == 3 && c < 0x800) || (n == 4 && (c < 0x10000 || c > 0x10FFFF)) ||
        (c >= 0xD800 && c <= 0xDFFF))
        return 0;
    *cp = c;
    return n;
}

/* The escape of the character at s (n bytes, code point cp) into out, or
   "" when it is printed as it is. */
static void esc_of(const unsigned char *s, int n, unsigned cp, char out[8])
{
    out[0] = 0;
    if (!n)
        snprintf(out, 8, "\\x%02x", s[0]);
    else if (cp == '\n')
        snprintf(out, 8, "\\n");
    else if (cp == '\r')
        snprintf(out, 8, "\\r");
    else if (cp == '\t')
        snprintf(out, 8, "\\t");
    else if (cp < 0x20 || cp == 0x7F)
        snprintf(out, 8, "\\x%02x", cp);
    else if (cp >= 0x80 && cp <= 0x9F)
        snprintf(out, 8, "\\u%04x", cp);
}

int sh_buf_add_safe(sh_buf *b, const char *s)
{
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    int rc = SH_OK;
    while (*p && !rc) {
        unsigned cp = 0;
        int n = u8_len(p, &cp);
        char e[8];
        esc_of(p, n, cp, e);
        rc = e[0] ? sh_buf_adds(b, e) : sh_buf_add(b, p, (size_t)n);
        p += n ? n : 1;
    }
    return rc;
}

void sh_fputs_safe(const char *s, FILE *f)
{
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    while (*p) {
        unsigned cp = 0;
        int n = u8_len(p, &cp);
        char e[8];
        esc_of(p, n, cp, e);
        if (e[0])
            fputs(e, f);
        else
            fwrite(p, 1, (size_t)n, f);
        p += n ? n : 1;
    }
}
