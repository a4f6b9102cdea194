/*
 * util.c — error strings, logging, byte buffers, atomic file writes,
 * hashing (libsodium SHA-256), natural sort and clocks.
 */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <ctype.h>

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
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
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
        fprintf(stderr, "{\"time\":\"%s.%03ld\",\"level\":\"%s\",\"msg\":\"",
                when, ts.tv_nsec / 1000000, lv[level]);
        json_escape_to(stderr, msg);
        fputs("\"}\n", stderr);
    } else {
        fprintf(stderr, "%s %-5s %s\n", when, lv[level], msg);
    }
}

int sh_buf_reserve(sh_buf *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap)
        return SH_OK;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1)
        cap *= 2;
    char *p = realloc(b->data, cap);
    if (!p)
        return SH_ENOMEM;
    b->data = p;
    b->cap = cap;
    p[b->len] = 0;   /* an empty buffer is a valid empty string */
    return SH_OK;
}

int sh_buf_add(sh_buf *b, const void *p, size_t n)
{
    if (sh_buf_reserve(b, n))
        return SH_ENOMEM;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = 0;
    return SH_OK;
}

int sh_buf_adds(sh_buf *b, const char *s)
{
    return sh_buf_add(b, s, strlen(s));
}

int sh_buf_printf(sh_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || sh_buf_reserve(b, (size_t)n))
        return SH_ENOMEM;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return SH_OK;
}

void sh_buf_release(sh_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

int sh_read_file(const char *path, size_t max, uint8_t **out, size_t *n,
                 sh_err *err)
{
    *out = NULL;
    *n = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return sh_errf(err, SH_EIO, "%s: cannot open: %s", path,
                       strerror(errno));
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return sh_errf(err, SH_EIO, "%s: not a regular file", path);
    }
    if (max && (size_t)st.st_size > max) {
        close(fd);
        return sh_errf(err, SH_ELIMIT, "%s: %lld bytes, over the limit of %zu",
                       path, (long long)st.st_size, max);
    }
    size_t size = (size_t)st.st_size;
    uint8_t *p = malloc(size + 1);
    if (!p) {
        close(fd);
        return sh_errf(err, SH_ENOMEM, "%s: out of memory", path);
    }
    size_t got = 0;
    while (got < size) {
        ssize_t r = read(fd, p + got, size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            free(p);
            close(fd);
            return sh_errf(err, SH_EIO, "%s: read failed: %s", path,
                           r < 0 ? strerror(errno) : "short file");
        }
        got += (size_t)r;
    }
    close(fd);
    p[size] = 0;
    *out = p;
    *n = size;
    return SH_OK;
}

int sh_no_sync(void)
{
    static int v = -1;
    if (v < 0) {
        const char *e = getenv("SOHOA_BENCH_NO_SYNC");
        v = e && !strcmp(e, "1");
    }
    return v;
}

int sh_fsync(int fd)
{
    return sh_no_sync() ? 0 : fsync(fd);
}

int sh_fsync_dir_of(const char *path)
{
    char *copy = strdup(path);
    if (!copy)
        return SH_ENOMEM;
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(copy);
    if (fd < 0)
        return SH_EIO;
    int rc = sh_fsync(fd) < 0 && errno != EINVAL ? SH_EIO : SH_OK;
    close(fd);
    return rc;
}

static int io_rc(int e)
{
    return (e == ENOSPC || e == EFBIG || e == EDQUOT) ? SH_ENOSPC : SH_EIO;
}

int sh_write_atomic(const char *path, const void *data, size_t n, sh_err *err)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return sh_errf(err, io_rc(errno), "%s: cannot create: %s", tmp,
                       strerror(errno));
    const uint8_t *p = data;
    size_t done = 0;
    while (done < n) {
        ssize_t w = write(fd, p + done, n - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            int e = w < 0 ? errno : ENOSPC;
            close(fd);
            unlink(tmp);
            return sh_errf(err, io_rc(e), "%s: write failed: %s", path,
                           strerror(e));
        }
        done += (size_t)w;
    }
    if (sh_fsync(fd) < 0) {
        int e = errno;
        close(fd);
        unlink(tmp);
        return sh_errf(err, io_rc(e), "%s: fsync failed: %s", path,
                       strerror(e));
    }
    if (close(fd) < 0 || rename(tmp, path) < 0) {
        int e = errno;
        unlink(tmp);
        return sh_errf(err, io_rc(e), "%s: cannot rename into place: %s",
                       path, strerror(e));
    }
    sh_fsync_dir_of(path);
    return SH_OK;
}

int sh_mkdirs(const char *path, sh_err *err)
{
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
        return sh_errf(err, SH_EUSAGE, "%s: path too long", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(buf, 0755) < 0 && errno != EEXIST)
            return sh_errf(err, io_rc(errno), "%s: cannot create: %s", buf,
                           strerror(errno));
        *p = '/';
    }
    if (mkdir(buf, 0755) < 0 && errno != EEXIST)
        return sh_errf(err, io_rc(errno), "%s: cannot create: %s", buf,
                       strerror(errno));
    return SH_OK;
}

static void to_hex(const unsigned char *h, char hex[65])
{
    static const char d[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        hex[2 * i] = d[h[i] >> 4];
        hex[2 * i + 1] = d[h[i] & 15];
    }
    hex[64] = 0;
}

void sh_sha256_buf(const void *p, size_t n, char hex[65])
{
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, p, n);
    to_hex(h, hex);
}

int sh_sha256_file(const char *path, char hex[65], sh_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return sh_errf(err, SH_EIO, "%s: cannot open: %s", path,
                       strerror(errno));
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    static __thread unsigned char blk[1 << 16];
    for (;;) {
        ssize_t r = read(fd, blk, sizeof blk);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            close(fd);
            return sh_errf(err, SH_EIO, "%s: read failed: %s", path,
                           strerror(errno));
        }
        if (r == 0)
            break;
        crypto_hash_sha256_update(&st, blk, (unsigned long long)r);
    }
    close(fd);
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_final(&st, h);
    to_hex(h, hex);
    return SH_OK;
}

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
