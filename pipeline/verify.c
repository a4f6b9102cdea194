/*
 * verify.c — `sohoa verify`: fixity check of the originals and the PDFs.
 *
 *   sh_verify            re-hash the sources and PDFs of some or all
 *                        dossiers against the catalog; list the problems
 *   sh_cmd_verify        sohoa verify [--warehouse DIR] [--json] [DOSSIER…]
 *   (static) mode_walk   files and folders of the warehouse that other
 *                        accounts may read (a warning, not a problem)
 *
 * Method.  The catalog records the SHA-256 of every source file a run read
 * (source.sha256, with its path) and of every dossier PDF it wrote
 * (dossier.pdf_sha256).  Verify reads each file again, from its first byte
 * to its last, and compares.  A file that is gone, cannot be read, or
 * whose hash differs is a problem, named by dossier and file with the
 * expected and the found hash.  Originals are evidence: they are opened
 * read-only (with O_NOATIME where the kernel allows it, so even their
 * access time stays as it was) and the catalog is opened read-only;
 * nothing is ever written.
 *
 * A dossier's PDF is looked for at the path the catalog recorded and, if
 * the warehouse has moved since, at WAREHOUSE/pdf/<name>.  A source file
 * with no recorded hash (the run could not read it then, and said so) has
 * nothing to be checked against: it is counted as unchecked, not as a
 * problem.  A PDF is expected for every dossier in state "done"; for a
 * failed or pending dossier an older PDF, if one is recorded and present,
 * is checked too.
 *
 * Modes.  The warehouse holds personal data and is private by default
 * (files 0600/0640, folders 0700/0750, base/files.c).  Verify walks it
 * (not following links) and warns about each entry that others may read,
 * write or enter, or that its group may write; the warnings are listed
 * ("wide_modes" in --json) without changing the exit status.
 */
#include "pipeline.h"
#include "../base/opts.h"
#include "../index/index.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Hash a file without changing it (nor, when allowed, its atime).
   Returns 0, or an errno value with *what set to the failing step. */
static int hash_ro(const char *path, char hex[65], long long *bytes,
                   const char **what)
{
    *what = "open";
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOATIME | O_NOCTTY);
    if (fd < 0 && errno == EPERM)   /* O_NOATIME: not the file's owner */
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return errno;
    struct stat sb;
    *what = "stat";
    if (fstat(fd, &sb) < 0) {
        int e = errno;
        close(fd);
        return e;
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        *what = "not a regular file";
        return EINVAL;
    }
    sh_sha256 *hs = sh_sha256_start();
    if (!hs) {
        close(fd);
        return ENOMEM;
    }
    static unsigned char blk[1 << 16];
    long long n = 0;
    *what = "read";
    for (;;) {
        ssize_t r = read(fd, blk, sizeof blk);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            close(fd);
            sh_sha256_end(hs, hex);
            return e;
        }
        if (r == 0)
            break;
        sh_sha256_add(hs, blk, (size_t)r);
        n += r;
    }
    close(fd);
    sh_sha256_end(hs, hex);
    *bytes = n;
    return 0;
}

typedef struct vstate {
    json_t *problems;
    long long sources, pdfs, unchecked, pending, bytes;
} vstate;

static void problem(vstate *v, const char *dossier, const char *kind,
                    const char *file, const char *what, const char *expected,
                    const char *found, const char *detail)
{
    json_t *o = json_pack("{ssssssss}", "dossier", dossier, "kind", kind,
                          "file", file, "problem", what);
    if (expected)
        json_object_set_new(o, "expected", json_string(expected));
    if (found)
        json_object_set_new(o, "found", json_string(found));
    if (detail)
        json_object_set_new(o, "detail", json_string(detail));
    json_array_append_new(v->problems, o);
}

/* Check one file against its recorded hash. */
static void check_file(vstate *v, const char *dossier, const char *kind,
                       const char *path, const char *expected)
{
    char hex[65] = "";
    long long n = 0;
    const char *what;
    int e = hash_ro(path, hex, &n, &what);
    if (e == ENOENT || e == ENOTDIR) {
        problem(v, dossier, kind, path, "missing", expected, NULL,
                path[0] == '/'
                    ? "the file is not there"
                    : "the file is not there; the catalog holds a path "
                      "relative to the folder the run was started from");
        return;
    }
    if (e) {
        char d[256];
        snprintf(d, sizeof d, "%s: %s", what, strerror(e));
        problem(v, dossier, kind, path, "unreadable", expected, NULL, d);
        return;
    }
    v->bytes += n;
    if (strcmp(hex, expected))
        problem(v, dossier, kind, path, "mismatch", expected, hex,
                "the contents differ from what the catalog recorded");
}

static int file_there(const char *p)
{
    struct stat sb;
    return lstat(p, &sb) == 0;
}

/*
 * sh_verify — see pipeline.h.
 */
int sh_verify(struct sqlite3 *db, const char *wh, char **ids, int nids,
              json_t **out, sh_err *err)
{
    *out = NULL;
    sqlite3_stmt *ds = NULL, *ss = NULL;
    vstate v = {0};
    int rc = SH_OK;
    v.problems = json_array();
    json_t *checked = json_array();
    for (int i = 0; i < nids; i++) {
        /* Every named dossier must exist: a typo is not "all intact". */
        long long n = 0;
        sqlite3_stmt *q;
        if (sqlite3_prepare_v2(db, "SELECT count(*) FROM dossier WHERE id=?",
                               -1, &q, NULL) != SQLITE_OK) {
            rc = sh_errf(err, SH_EINDEX, "catalog: %s", sqlite3_errmsg(db));
            goto out;
        }
        sqlite3_bind_text(q, 1, ids[i], -1, SQLITE_TRANSIENT);
        if (sqlite3_step(q) == SQLITE_ROW)
            n = sqlite3_column_int64(q, 0);
        sqlite3_finalize(q);
        if (!n) {
            rc = sh_errf(err, SH_EUSAGE, "no dossier '%s' in %s", ids[i], wh);
            goto out;
        }
    }
    if (sqlite3_prepare_v2(db,
                           "SELECT id, state, pdf, pdf_sha256 FROM dossier"
                           " ORDER BY id",
                           -1, &ds, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db,
                           "SELECT name, path, sha256, state, error FROM"
                           " source WHERE dossier=? ORDER BY seq, name",
                           -1, &ss, NULL) != SQLITE_OK) {
        rc = sh_errf(err, SH_EINDEX, "catalog: %s", sqlite3_errmsg(db));
        goto out;
    }
    int r;
    while ((r = sqlite3_step(ds)) == SQLITE_ROW) {
        const char *id = (const char *)sqlite3_column_text(ds, 0);
        const char *state = (const char *)sqlite3_column_text(ds, 1);
        const char *pdf = (const char *)sqlite3_column_text(ds, 2);
        const char *psha = (const char *)sqlite3_column_text(ds, 3);
        int want = !nids;
        for (int i = 0; i < nids && !want; i++)
            want = !strcmp(ids[i], id);
        if (!want)
            continue;
        json_array_append_new(checked, json_string(id));

        /* The originals. */
        sqlite3_reset(ss);
        sqlite3_bind_text(ss, 1, id, -1, SQLITE_TRANSIENT);
        while (sqlite3_step(ss) == SQLITE_ROW) {
            const char *name = (const char *)sqlite3_column_text(ss, 0);
            const char *path = (const char *)sqlite3_column_text(ss, 1);
            const char *sha = (const char *)sqlite3_column_text(ss, 2);
            if (!path || !*path)
                path = name;
            if (!sha || strlen(sha) != 64) {
                v.unchecked++;   /* never read: nothing to compare with */
                continue;
            }
            v.sources++;
            check_file(&v, id, "source", path, sha);
        }

        /* The PDF.  A pending dossier is being (re)built: its PDF may be
           replaced before the catalog records the new hash. */
        int is_done = state && !strcmp(state, "done");
        if (!is_done && !(state && !strcmp(state, "failed"))) {
            v.pending++;
            continue;
        }
        if (!pdf || !*pdf || !psha || strlen(psha) != 64) {
            if (is_done)
                problem(&v, id, "pdf", pdf ? pdf : "", "not recorded", NULL,
                        NULL,
                        "the dossier is done but the catalog holds no PDF "
                        "hash");
            continue;
        }
        char moved[8192];
        const char *base = strrchr(pdf, '/');
        snprintf(moved, sizeof moved, "%s/pdf/%s", wh, base ? base + 1 : pdf);
        const char *use = file_there(pdf) ? pdf : moved;
        if (!is_done && !file_there(use))
            continue;   /* an old PDF of a dossier being redone: gone is ok */
        v.pdfs++;
        check_file(&v, id, "pdf", use, psha);
    }
    if (r != SQLITE_DONE) {
        rc = sh_errf(err, SH_EINDEX, "catalog: %s", sqlite3_errmsg(db));
        goto out;
    }
    *out = json_pack("{sssOsIsIsIsIsIsbsO}", "warehouse", wh, "dossiers",
                     checked, "sources_checked", (json_int_t)v.sources,
                     "sources_unchecked", (json_int_t)v.unchecked,
                     "pdfs_checked", (json_int_t)v.pdfs, "dossiers_pending",
                     (json_int_t)v.pending, "bytes",
                     (json_int_t)v.bytes, "intact",
                     json_array_size(v.problems) == 0, "problems",
                     v.problems);
    if (!*out)
        rc = sh_errf(err, SH_ENOMEM, "out of memory");
out:
    if (ds)
        sqlite3_finalize(ds);
    if (ss)
        sqlite3_finalize(ss);
    json_decref(checked);
    json_decref(v.problems);
    return rc;
}

/* the entries found by mode_walk (nftw has no user pointer) */
static json_t *wide_modes;

static int mode_entry(const char *path, const struct stat *sb, int type,
                      struct FTW *ftw)
{
    if ((type == FTW_F || type == FTW_D || type == FTW_DP) &&
        (sb->st_mode & 0027) && json_array_size(wide_modes) < 1000) {
        char m[8];
        snprintf(m, sizeof m, "%04o", (unsigned)(sb->st_mode & 07777));
        json_array_append_new(wide_modes,
                              json_pack("{ssss}", "path", path, "mode", m));
    }
    return 0;
}

/* The warehouse's entries that other accounts may read (JSON array). */
static json_t *mode_walk(const char *wh)
{
    wide_modes = json_array();
    if (wide_modes)
        nftw(wh, mode_entry, 16, FTW_PHYS);
    json_t *r = wide_modes;
    wide_modes = NULL;
    return r;
}

static void verify_usage(FILE *f)
{
    fputs("usage: sohoa verify [--warehouse DIR] [--json] [DOSSIER...]\n"
          "  re-hash every source file and dossier PDF (all dossiers, or\n"
          "  those named) against the catalog; exit 0 if all intact, 1 if\n"
          "  any file is missing, unreadable or changed, 2 usage error;\n"
          "  warns about warehouse files other accounts may read\n",
          f);
}

int sh_cmd_verify(int argc, char **argv)
{
    sh_opts o;
    int c;
    static const struct option opts[] = {
        SH_LONGOPT_WAREHOUSE, SH_LONGOPT_JSON, SH_LONGOPT_HELP,
        {NULL, 0, NULL, 0},
    };
    sh_opts_init(&o);
    optind = 1;
    while ((c = getopt_long(argc, argv, SH_OPTS_SHORT, opts, NULL)) != -1) {
        switch (sh_opt_common(&o, c, optarg)) {
        case SH_OPT_TAKEN: break;
        case SH_OPT_HELP: verify_usage(stdout); return SH_EXIT_OK;
        default: verify_usage(stderr); return SH_EXIT_USAGE;
        }
    }
    const char *wh = o.warehouse;
    int as_json = o.json;
    sqlite3 *db = NULL;
    int rc = sh_catalog_open_ro(wh, &db);
    if (rc)
        return rc;
    json_t *res = NULL;
    sh_err err = {0};
    if (sh_verify(db, wh, argv + optind, argc - optind, &res, &err)) {
        fprintf(stderr, "sohoa verify: %s\n", err.msg);
        sh_db_close(&db);
        return SH_EXIT_USAGE;
    }
    sh_db_close(&db);
    json_t *wide = mode_walk(wh);
    size_t nw = json_array_size(wide);
    for (size_t i = 0; i < nw && !as_json; i++) {
        json_t *w = json_array_get(wide, i);
        fprintf(stderr, "sohoa verify: warning: %s is open to other accounts"
                " (mode %s)\n",
                json_string_value(json_object_get(w, "path")),
                json_string_value(json_object_get(w, "mode")));
    }
    if (nw && !as_json)
        fprintf(stderr, "sohoa verify: the warehouse holds personal data: "
                "chmod -R go-w,o-rwx %s\n", wh);
    json_object_set_new(res, "wide_modes", wide ? wide : json_array());
    json_t *probs = json_object_get(res, "problems");
    size_t np = json_array_size(probs);
    if (as_json) {
        json_dumpf(res, stdout, JSON_INDENT(1));
        fputc('\n', stdout);
    } else {
        for (size_t i = 0; i < np; i++) {
            json_t *p = json_array_get(probs, i);
            const char *exp = json_string_value(json_object_get(p, "expected"));
            const char *fnd = json_string_value(json_object_get(p, "found"));
            printf("%s  %s %s: %s", json_string_value(json_object_get(p, "dossier")),
                   json_string_value(json_object_get(p, "kind")),
                   json_string_value(json_object_get(p, "file")),
                   json_string_value(json_object_get(p, "problem")));
            const char *d = json_string_value(json_object_get(p, "detail"));
            if (d)
                printf(" (%s)", d);
            if (exp)
                printf("\n    expected sha256 %s", exp);
            if (fnd)
                printf("\n    found    sha256 %s", fnd);
            putchar('\n');
        }
        long long nd = (long long)json_array_size(json_object_get(res, "dossiers"));
        long long ns = (long long)json_integer_value(json_object_get(res, "sources_checked"));
        long long nu = (long long)json_integer_value(json_object_get(res, "sources_unchecked"));
        long long nf = (long long)json_integer_value(json_object_get(res, "pdfs_checked"));
        long long nb = (long long)json_integer_value(json_object_get(res, "bytes"));
        printf("%lld dossier%s: %lld source file%s and %lld PDF%s checked "
               "(%.1f MB)",
               nd, nd == 1 ? "" : "s", ns, ns == 1 ? "" : "s", nf,
               nf == 1 ? "" : "s", nb / 1e6);
        if (nu)
            printf(", %lld source file%s with no recorded hash (unreadable "
                   "when the run met %s)",
                   nu, nu == 1 ? "" : "s", nu == 1 ? "it" : "them");
        long long npend = (long long)json_integer_value(json_object_get(res, "dossiers_pending"));
        if (npend)
            printf(", %lld pending dossier%s (PDF not checked: %s being "
                   "built)",
                   npend, npend == 1 ? "" : "s", npend == 1 ? "it is" : "they are");
        if (np)
            printf("; %zu problem%s\n", np, np == 1 ? "" : "s");
        else
            printf("; all intact\n");
    }
    int out_rc = fflush(stdout) ? SH_EXIT_USAGE
                 : np       ? SH_EXIT_PARTIAL
                            : SH_EXIT_OK;
    json_decref(res);
    return out_rc;
}
