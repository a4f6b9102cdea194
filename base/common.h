/*
 * common.h — the base room: error codes and detail (log.c), logging
 * (log.c), byte buffers (buf.c), file helpers and the warehouse default
 * (files.c), strings and clocks (str.c).  Every other room builds on it;
 * it includes nothing of theirs.
 *
 * Conventions (see README "For developers"):
 *   - Every fallible call returns int rc: SH_OK (0) or one of SH_E*.
 *   - Detail goes into a caller-owned sh_err (never a global), so pages
 *     can run in parallel.  sh_errf() fills it and returns the rc.
 *   - Destructors take T ** and set the pointer to NULL; they accept NULL.
 */
#ifndef SH_COMMON_H
#define SH_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>

enum {
    SH_OK = 0,
    SH_EIO,      /* file system: open/read/write/fsync/rename failed   */
    SH_ENOMEM,   /* allocation failed                                  */
    SH_EINPUT,   /* input does not decode or is not what it claims     */
    SH_ELIMIT,   /* input refused by a limit (pixels, bytes, frames)   */
    SH_EOCR,     /* Tesseract failed or was cancelled                  */
    SH_EINDEX,   /* SQLite / catalog failure                           */
    SH_EUSAGE,   /* bad argument or configuration                      */
    SH_ETIMEOUT, /* a per-page deadline passed                         */
    SH_ENOSPC,   /* disk full / file size limit                        */
    SH_ELOCKED   /* another run holds the warehouse lock               */
};

/* Exit statuses of the sohoa command (documented in README and --help). */
enum {
    SH_EXIT_OK = 0,        /* everything done                           */
    SH_EXIT_PARTIAL = 1,   /* some dossier failed; the rest completed    */
    SH_EXIT_USAGE = 2,     /* usage or configuration error              */
    SH_EXIT_LOCKED = 3,    /* another run holds the warehouse            */
    SH_EXIT_DEADLINE = 4   /* stopped at the deadline with work left     */
};

typedef struct sh_err {
    int rc;
    char msg[1024];
} sh_err;

const char *sh_strerror(int rc);
/* Set err (may be NULL) to rc and a printf-style message; returns rc. */
int sh_errf(sh_err *err, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- logging: plain timestamped lines on stderr (or JSON lines) ---- */
enum { SH_LOG_ERROR, SH_LOG_WARN, SH_LOG_INFO, SH_LOG_DEBUG };
extern int sh_log_level;   /* default SH_LOG_INFO */
extern int sh_log_json;    /* 1: one JSON object per line */
extern int sh_log_progress; /* 1: a progress line is on the terminal; log
                               lines clear it first */
void sh_log(int level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ---- growable byte buffer; data is always NUL-terminated ---- */
typedef struct sh_buf {
    char *data;
    size_t len, cap;
} sh_buf;

int sh_buf_reserve(sh_buf *b, size_t extra);
int sh_buf_add(sh_buf *b, const void *p, size_t n);
int sh_buf_adds(sh_buf *b, const char *s);
int sh_buf_printf(sh_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void sh_buf_release(sh_buf *b);          /* frees data, zeroes b */

/* ---- text for logs and terminals (str.c) ---- */
/* Append s to b with every control character escaped, so text from a URL,
   a query or the catalog can neither start a line nor drive a terminal:
   C0 (\n \r \t as such, others \xNN), DEL (\x7f), ESC (\x1b), the C1
   controls U+0080..U+009F (\u0080..), and each byte that is not valid
   UTF-8 (\xNN); a backslash stays as it is.  Returns SH_OK or SH_ENOMEM. */
int sh_buf_add_safe(sh_buf *b, const char *s);
/* Write s to f escaped as sh_buf_add_safe does, without a buffer. */
void sh_fputs_safe(const char *s, FILE *f);
/* Dates: base/date.h. */

/* ---- files ---- */
/* Read a whole file (limit: max bytes, 0 = no limit). *out malloc'd. */
int sh_read_file(const char *path, size_t max, uint8_t **out, size_t *n,
                 sh_err *err);
/* Write data to path atomically: path.tmp.PID, fsync, rename, fsync dir. */
int sh_write_atomic(const char *path, const void *data, size_t n, sh_err *err);
/* 0 normally; 1 when SOHOA_BENCH_NO_SYNC=1 is set: no fsync and
   synchronous=OFF, only so `make bench` can measure what durability
   costs.  Never for real work: a crash may then lose or tear outputs. */
int sh_no_sync(void);
/* fsync(fd) unless sh_no_sync(). */
int sh_fsync(int fd);
/* fsync the directory holding path. */
int sh_fsync_dir_of(const char *path);
/* SH_ENOSPC for ENOSPC, EFBIG and EDQUOT (disk full, file too large,
   quota), SH_EIO for any other errno. */
int sh_io_rc(int e);
/* Lock the warehouse wh for a run, a merge or an optimize: flock on
   wh/.lock with "PID WHAT" written in it; *fd_out holds the lock until
   closed.  Returns SH_OK, SH_ELOCKED (another process holds it; err
   names what it is doing, as it wrote it, and its pid) or SH_EIO. */
int sh_lock_warehouse(const char *wh, const char *what, int *fd_out,
                      sh_err *err);
/* mkdir -p; new folders get sh_private_mode(path, 1). */
int sh_mkdirs(const char *path, sh_err *err);
/* The mode for a new file (dir = 0) or folder (dir = 1) at path: private
   to the owner (0600 / 0700), or also readable by the group (0640 /
   0750) when the folder that will hold it is setgid (chmod g+s): the
   warehouse of a service account shared with its group.  The umask still
   applies on top. */
unsigned sh_private_mode(const char *path, int dir);
/* SHA-256 of a file / buffer, as 64 lowercase hex chars + NUL. */
int sh_sha256_file(const char *path, char hex[65], sh_err *err);
void sh_sha256_buf(const void *p, size_t n, char hex[65]);
/* SHA-256 in pieces (files.c: OpenSSL's, which uses the CPU's SHA
   instructions; libsodium's portable C was 4-5x slower on the sources
   and PDFs of large sheets).  sh_sha256_start returns NULL when out of
   memory; sh_sha256_end writes the hex digest and frees the state. */
typedef struct sh_sha256 sh_sha256;
sh_sha256 *sh_sha256_start(void);
void sh_sha256_add(sh_sha256 *st, const void *p, size_t n);
void sh_sha256_end(sh_sha256 *st, char hex[65]);
/* Natural order compare ("2.tif" < "10.tif"), for page order. */
int sh_natcmp(const char *a, const char *b);
/* Monotonic clock in seconds. */
double sh_now(void);
/* The current UTC time as "YYYY-MM-DDTHH:MM:SSZ" (20 chars + NUL). */
#define SH_ISO_LEN 21
void sh_now_iso(char out[SH_ISO_LEN]);
/* Warehouse folder: $SOHOA_WAREHOUSE when set and not empty, else
   "warehouse" (the --warehouse option overrides both). */
const char *sh_warehouse_default(void);
/* strdup that returns NULL on NULL. */
char *sh_strdup(const char *s);

#define SH_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif
