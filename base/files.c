/*
 * files.c — whole-file reads, atomic writes (temp, fsync, rename, fsync the
 * folder), mkdir -p, SHA-256 of files and buffers (OpenSSL's libcrypto), the
 * warehouse default, and errno → rc.
 *
 * Modes.  The warehouse holds personal data: what sohoa creates is private
 * to its owner (files 0600, folders 0700) — or, under a setgid folder
 * (the service account's group, `chmod 2750 WAREHOUSE`), readable by that
 * group too (0640, 0750; Linux gives new folders the setgid bit and the
 * group of their parent).  sh_private_mode decides, from the parent.
 */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <openssl/evp.h>
#include <sys/file.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

int sh_io_rc(int e)
{
    return (e == ENOSPC || e == EFBIG || e == EDQUOT) ? SH_ENOSPC : SH_EIO;
}

unsigned sh_private_mode(const char *path, int dir)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", path);
    size_t n = strlen(buf);
    while (n > 1 && buf[n - 1] == '/')
        buf[--n] = 0;
    char *slash = strrchr(buf, '/');
    const char *parent = ".";
    if (slash == buf)
        parent = "/";
    else if (slash) {
        *slash = 0;
        parent = buf;
    }
    struct stat st;
    int shared = stat(parent, &st) == 0 && (st.st_mode & S_ISGID);
    if (dir)
        return shared ? 0750 : 0700;
    return shared ? 0640 : 0600;
}

int sh_write_atomic(const char *path, const void *data, size_t n, sh_err *err)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                  (mode_t)sh_private_mode(path, 0));
    if (fd < 0)
        return sh_errf(err, sh_io_rc(errno), "%s: cannot create: %s", tmp,
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
            return sh_errf(err, sh_io_rc(e), "%s: write failed: %s", path,
                           strerror(e));
        }
        done += (size_t)w;
    }
    if (sh_fsync(fd) < 0) {
        int e = errno;
        close(fd);
        unlink(tmp);
        return sh_errf(err, sh_io_rc(e), "%s: fsync failed: %s", path,
                       strerror(e));
    }
    if (close(fd) < 0 || rename(tmp, path) < 0) {
        int e = errno;
        unlink(tmp);
        return sh_errf(err, sh_io_rc(e), "%s: cannot rename into place: %s",
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
        if (mkdir(buf, (mode_t)sh_private_mode(buf, 1)) < 0 && errno != EEXIST)
            return sh_errf(err, sh_io_rc(errno), "%s: cannot create: %s", buf,
                           strerror(errno));
        *p = '/';
    }
    if (mkdir(buf, (mode_t)sh_private_mode(buf, 1)) < 0 && errno != EEXIST)
        return sh_errf(err, sh_io_rc(errno), "%s: cannot create: %s", buf,
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

sh_sha256 *sh_sha256_start(void)
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    if (c && EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(c);
        c = NULL;
    }
    return (sh_sha256 *)c;
}

void sh_sha256_add(sh_sha256 *st, const void *p, size_t n)
{
    if (st && n)
        EVP_DigestUpdate((EVP_MD_CTX *)st, p, n);
}

void sh_sha256_end(sh_sha256 *st, char hex[65])
{
    unsigned char h[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (!st || EVP_DigestFinal_ex((EVP_MD_CTX *)st, h, &n) != 1 || n != 32)
        memset(h, 0, 32);
    EVP_MD_CTX_free((EVP_MD_CTX *)st);
    to_hex(h, hex);
}

void sh_sha256_buf(const void *p, size_t n, char hex[65])
{
    unsigned char h[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (EVP_Digest(p, n, h, &len, EVP_sha256(), NULL) != 1 || len != 32)
        memset(h, 0, 32);
    to_hex(h, hex);
}

int sh_sha256_file(const char *path, char hex[65], sh_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return sh_errf(err, SH_EIO, "%s: cannot open: %s", path,
                       strerror(errno));
    sh_sha256 *st = sh_sha256_start();
    if (!st) {
        close(fd);
        return sh_errf(err, SH_ENOMEM, "%s: out of memory", path);
    }
    static __thread unsigned char blk[1 << 16];
    for (;;) {
        ssize_t r = read(fd, blk, sizeof blk);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            close(fd);
            sh_sha256_end(st, hex);
            return sh_errf(err, SH_EIO, "%s: read failed: %s", path,
                           strerror(e));
        }
        if (r == 0)
            break;
        sh_sha256_add(st, blk, (size_t)r);
    }
    close(fd);
    sh_sha256_end(st, hex);
    return SH_OK;
}

const char *sh_warehouse_default(void)
{
    const char *e = getenv("SOHOA_WAREHOUSE");
    return e && *e ? e : "warehouse";
}

int sh_lock_warehouse(const char *wh, const char *what, int *fd_out,
                      sh_err *err)
{
    char p[PATH_MAX + 16];
    snprintf(p, sizeof p, "%s/.lock", wh);
    int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC,
                  (mode_t)sh_private_mode(p, 0));
    if (fd < 0)
        return sh_errf(err, SH_EIO, "%s: cannot open lock file: %s", p,
                       strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        /* the holder wrote "PID WHAT" (older ones the pid alone) */
        char line[64] = "", holder[24] = "";
        ssize_t k = pread(fd, line, sizeof line - 1, 0);
        line[k > 0 ? k : 0] = 0;
        line[strcspn(line, "\n")] = 0;
        char *sp = strchr(line, ' ');
        if (sp) {
            *sp = 0;
            snprintf(holder, sizeof holder, "%.20s", sp + 1);
        }
        close(fd);
        return sh_errf(err, SH_ELOCKED,
                       "another sohoa %s (pid %s) is working on %s; try "
                       "again when it ends",
                       holder[0] ? holder
                       : !strcmp(what, "merge") ? "run or merge" : what,
                       line[0] ? line : "?", wh);
    }
    char s[48];
    int n = snprintf(s, sizeof s, "%d %s\n", (int)getpid(), what);
    if (ftruncate(fd, 0) == 0 && pwrite(fd, s, (size_t)n, 0) != n)
        sh_log(SH_LOG_DEBUG, "could not write pid to %s", p);
    *fd_out = fd;
    return SH_OK;
}
