/*
 * log.c — error codes as words, the caller-owned error detail (sh_errf),
 * and log lines on stderr (plain or JSON; control characters escaped).
 * A plain line passes sh_fputs_safe: a decoded URL holding %0a or ESC
 * cannot forge a second line or drive the terminal; a JSON line escapes
 * C0, DEL and C1 as \u00NN.
 */
#include "common.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

int sh_log_level = SH_LOG_INFO;
int sh_log_json = 0;
int sh_log_progress = 0;

const char *sh_strerror(int rc)
{
    static const char *names[] = {
        [SH_OK] = "ok",
        [SH_EIO] = "I/O error",
        [SH_ENOMEM] = "out of memory",
        [SH_EINPUT] = "bad input",
        [SH_ELIMIT] = "refused by limit",
        [SH_EOCR] = "OCR failed",
        [SH_EINDEX] = "catalog error",
        [SH_EUSAGE] = "usage error",
        [SH_ETIMEOUT] = "timed out",
        [SH_ENOSPC] = "no space left",
        [SH_ELOCKED] = "warehouse locked",
    };
    if (rc < 0 || (size_t)rc >= SH_ARRAY_LEN(names) || !names[rc])
        return "unknown error";
    return names[rc];
}

int sh_errf(sh_err *err, int rc, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        err->rc = rc;
    }
    return rc;
}

static void json_escape_to(FILE *f, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c == '\n')
            fputs("\\n", f);
        else if (c < 0x20 || c == 0x7f)
            fprintf(f, "\\u%04x", c);
        else if (c == 0xC2 && (unsigned char)s[1] >= 0x80 &&
                 (unsigned char)s[1] <= 0x9F)
            fprintf(f, "\\u%04x", (unsigned char)*++s);
        else
            fputc(c, f);
    }
}

void sh_log(int level, const char *fmt, ...)
{
    static const char *lv[] = {"error", "warn", "info", "debug"};
    if (level > sh_log_level)
        return;
    char msg[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    localtime_r(&ts.tv_sec, &tm);
    char when[64];
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    if (sh_log_progress)
        fputs("\r\033[K", stderr);
    if (sh_log_json) {
        flockfile(stderr);   /* the line's pieces together */
        fprintf(stderr, "{\"time\":\"%s.%03ld\",\"level\":\"%s\",\"msg\":\"",
                when, ts.tv_nsec / 1000000, lv[level]);
        json_escape_to(stderr, msg);
        fputs("\"}\n", stderr);
        funlockfile(stderr);
    } else {
        /* one write per line (stderr is unbuffered, and the server's
           threads log at once): the escaped line is built first */
        sh_buf line = {0};
        sh_buf_printf(&line, "%s %-5s ", when, lv[level]);
        sh_buf_add_safe(&line, msg);
        sh_buf_adds(&line, "\n");
        flockfile(stderr);
        if (line.data) {
            fputs(line.data, stderr);
        } else {
            fprintf(stderr, "%s %-5s ", when, lv[level]);
            sh_fputs_safe(msg, stderr);
            fputc('\n', stderr);
        }
        funlockfile(stderr);
        sh_buf_release(&line);
    }
}
