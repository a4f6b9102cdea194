/*
 * export.c — hand done dossiers over to an archive: per dossier a folder
 * with the PDF, an XML of its Nghị định 30/2020 Phụ lục VI fields and one
 * PDF per văn bản; two CSV tables over everything exported to the folder.
 *
 *   sh_export_filename   FileCode → a safe file name
 *   sh_export            export dossiers (library entry; tests use it)
 *   sh_cmd_export        sohoa export
 *
 * The XML and the CSV tables are written by export_write.c (through
 * export_int.h); this file reads the catalog, checks and copies the PDF,
 * splits it per văn bản and puts each dossier's folder into place.
 *
 * Method.  Each dossier is built in TO/.<F>.tmp.<pid>: the dossier PDF is
 * copied while its SHA-256 is computed and compared with the catalog's
 * (a PDF changed since it was made is refused, nothing is written); each
 * văn bản's PDF is the copy opened with libqpdf, every other page removed,
 * written (the catalog, its XMP metadata and OutputIntent stay as they
 * are; objects only the removed pages used are dropped); the XML is
 * written; every file and the folder are fsync'd; then the folder is
 * renamed to TO/<F> — with --force swapped with the old one in one
 * renameat2(RENAME_EXCHANGE) (two renames where the file system cannot)
 * and the old one removed.  A run killed half-way leaves only .tmp/.old
 * folders, removed by the next export.  One export at a time per folder
 * (flock on TO/.sohoa-export.lock).
 *
 * Values: what dossier_meta holds (the manifest) is written with
 * source="manifest"; what is missing is derived where it can be (FileCode
 * and Title: the dossier id; PageTotal/SheetTotal: the catalog's page and
 * sheet counts; DocTotal: the documents; StartDate/EndDate: the earliest
 * and latest IssuedDate; Language: Tiếng Việt) with source="derived";
 * document fields carry their origin, and OCR suggestions their
 * confidence (0..1).  Absent fields are empty elements (export_write.c).
 */
#include "export_int.h"
#include "../index/review.h"
#include "pipeline.h"
#include "../base/opts.h"
#include "../index/db.h"
#include "../index/index.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <qpdf/qpdf-c.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <unistr.h>

/* ------------------------------------------------------------------ */
/* file names                                                           */

void sh_export_filename(const char *fc, char *out, size_t outlen)
{
    static const char *dev[] = {"CON", "PRN", "AUX", "NUL", "COM1", "COM2",
                                "COM3", "COM4", "COM5", "COM6", "COM7",
                                "COM8", "COM9", "LPT1", "LPT2", "LPT3",
                                "LPT4", "LPT5", "LPT6", "LPT7", "LPT8",
                                "LPT9"};
    size_t cap = outlen < 121 ? outlen - 1 : 120, k = 0;
    const uint8_t *s = (const uint8_t *)(fc ? fc : "");
    size_t len = strlen((const char *)s);
    if (!outlen)
        return;
    for (size_t i = 0; i < len;) {
        ucs4_t uc;
        int n = u8_mbtouc(&uc, s + i, len - i);
        int bad = n < 1 || uc == 0xFFFD;
        if (n < 1)
            n = 1;
        int repl = bad || uc < 0x20 || uc == 0x7F ||
                   (uc >= 0x80 && uc < 0xA0) || strchr("/\\<>:\"|?*", (int)uc)
                   ? 1 : 0;
        if (uc == 0)
            repl = 1;
        size_t need = repl ? 1 : (size_t)n;
        if (k + need > cap)
            break;
        if (repl)
            out[k++] = '_';
        else {
            memcpy(out + k, s + i, (size_t)n);
            k += (size_t)n;
        }
        i += (size_t)n;
    }
    out[k] = 0;
    /* no leading dot/space (hidden, ".", ".."), no trailing dot/space
       (Windows drops them) */
    for (size_t i = 0; i < k && (out[i] == '.' || out[i] == ' '); i++)
        out[i] = '_';
    for (size_t i = k; i > 0 && (out[i - 1] == '.' || out[i - 1] == ' '); i--)
        out[i - 1] = '_';
    if (!k) {
        snprintf(out, outlen, "_");
        return;
    }
    size_t stem = strcspn(out, ".");
    for (size_t d = 0; d < SH_ARRAY_LEN(dev); d++)
        if (stem == strlen(dev[d]) && !strncasecmp(out, dev[d], stem) &&
            k + 1 <= cap) {
            memmove(out + 1, out, k + 1);
            out[0] = '_';
            break;
        }
}

/* ------------------------------------------------------------------ */
/* small file helpers                                                   */

static int rm_one(const char *p, const struct stat *st, int type,
                  struct FTW *f)
{
    (void)st;
    (void)f;
    return type == FTW_DP ? rmdir(p) : unlink(p);
}

static void rm_rf(const char *path)
{
    nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static int fsync_path(const char *path, int dir)
{
    int fd = open(path, (dir ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int r = sh_fsync(fd);
    if (r < 0 && errno == EINVAL)
        r = 0;
    close(fd);
    return r;
}

/* Copy src to dst (new file) computing SHA-256; fsync dst. */
static int copy_hash(const char *src, const char *dst, char hex[65],
                     long long *bytes, sh_err *err)
{
    int in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return sh_errf(err, SH_EIO, "%s: cannot open: %s", src,
                       strerror(errno));
    int out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
                   (mode_t)sh_private_mode(dst, 0));
    if (out < 0) {
        int e = errno;
        close(in);
        return sh_errf(err, sh_io_rc(e), "%s: cannot create: %s", dst,
                       strerror(e));
    }
    sh_sha256 *st = sh_sha256_start();
    if (!st) {
        close(in);
        close(out);
        return sh_errf(err, SH_ENOMEM, "%s: out of memory", dst);
    }
    static unsigned char blk[1 << 16];
    long long total = 0;
    int rc = SH_OK;
    for (;;) {
        ssize_t r = read(in, blk, sizeof blk);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = sh_errf(err, SH_EIO, "%s: read failed: %s", src,
                         strerror(errno));
            break;
        }
        if (r == 0)
            break;
        sh_sha256_add(st, blk, (size_t)r);
        for (ssize_t done = 0; done < r;) {
            ssize_t w = write(out, blk + done, (size_t)(r - done));
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0) {
                int e = w < 0 ? errno : ENOSPC;
                rc = sh_errf(err, sh_io_rc(e), "%s: write failed: %s", dst,
                             strerror(e));
                break;
            }
            done += w;
        }
        if (rc)
            break;
        total += r;
    }
    close(in);
    if (!rc && sh_fsync(out) < 0)
        rc = sh_errf(err, sh_io_rc(errno), "%s: fsync failed: %s", dst,
                     strerror(errno));
    if (close(out) < 0 && !rc)
        rc = sh_errf(err, sh_io_rc(errno), "%s: close failed: %s", dst,
                     strerror(errno));
    sh_sha256_end(st, hex);
    if (rc)
        return rc;
    *bytes = total;
    return SH_OK;
}

/* Write a whole buffer to a new file and fsync it. */
static int write_new(const char *path, const void *p, size_t n, sh_err *err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
                  (mode_t)sh_private_mode(path, 0));
    if (fd < 0)
        return sh_errf(err, sh_io_rc(errno), "%s: cannot create: %s", path,
                       strerror(errno));
    const char *c = p;
    int rc = SH_OK;
    for (size_t done = 0; done < n;) {
        ssize_t w = write(fd, c + done, n - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            int e = w < 0 ? errno : ENOSPC;
            rc = sh_errf(err, sh_io_rc(e), "%s: write failed: %s", path,
                         strerror(e));
            break;
        }
        done += (size_t)w;
    }
    if (!rc && sh_fsync(fd) < 0)
        rc = sh_errf(err, sh_io_rc(errno), "%s: fsync failed: %s", path,
                     strerror(errno));
    if (close(fd) < 0 && !rc)
        rc = sh_errf(err, sh_io_rc(errno), "%s: close failed: %s", path,
                     strerror(errno));
    return rc;
}

/* ------------------------------------------------------------------ */
/* qpdf                                                                 */

static int qpdf_fail(qpdf_data q, const char *path, const char *what,
                     sh_err *err)
{
    const char *d = NULL;
    if (qpdf_has_error(q)) {
        qpdf_error e = qpdf_get_error(q);
        d = e ? qpdf_get_error_full_text(q, e) : NULL;
    }
    return sh_errf(err, SH_EINPUT, "%s: %s: %s", path, what,
                   d && *d ? d : "qpdf error");
}

static int pdf_page_count(const char *path, int *n, sh_err *err)
{
    qpdf_data q = qpdf_init();
    qpdf_silence_errors(q);
    qpdf_set_suppress_warnings(q, QPDF_TRUE);
    int rc = SH_OK;
    if (qpdf_read(q, path, "") & QPDF_ERRORS)
        rc = qpdf_fail(q, path, "cannot read the PDF", err);
    else if ((*n = qpdf_get_num_pages(q)) < 0)
        rc = qpdf_fail(q, path, "cannot count its pages", err);
    qpdf_cleanup(&q);
    return rc;
}

/* dst = pages first..last (1-based) of src. */
static int pdf_extract(const char *src, int first, int last, const char *dst,
                       sh_err *err)
{
    qpdf_data q = qpdf_init();
    qpdf_silence_errors(q);
    qpdf_set_suppress_warnings(q, QPDF_TRUE);
    int rc = SH_OK;
    if (qpdf_read(q, src, "") & QPDF_ERRORS) {
        rc = qpdf_fail(q, src, "cannot read the PDF", err);
        goto out;
    }
    int n = qpdf_get_num_pages(q);
    if (n < 0) {
        rc = qpdf_fail(q, src, "cannot list its pages", err);
        goto out;
    }
    for (int i = n - 1; i >= 0 && !rc; i--) {
        if (i + 1 >= first && i + 1 <= last)
            continue;
        qpdf_oh pg = qpdf_get_page_n(q, (size_t)i);
        if (!pg || (qpdf_remove_page(q, pg) & QPDF_ERRORS))
            rc = qpdf_fail(q, src, "cannot remove a page", err);
    }
    if (rc)
        goto out;
    if ((qpdf_init_write(q, dst) & QPDF_ERRORS)) {
        rc = qpdf_fail(q, dst, "cannot start writing", err);
        goto out;
    }
    qpdf_set_object_stream_mode(q, qpdf_o_preserve);
    qpdf_set_deterministic_ID(q, QPDF_TRUE);
    if (qpdf_write(q) & QPDF_ERRORS)
        rc = qpdf_fail(q, dst, "cannot write", err);
out:
    qpdf_cleanup(&q);
    if (!rc && fsync_path(dst, 0) < 0)
        rc = sh_errf(err, sh_io_rc(errno), "%s: fsync failed: %s", dst,
                     strerror(errno));
    return rc;
}

/* ------------------------------------------------------------------ */
/* catalog reads                                                        */

static void docs_free(doc *d, int n)
{
    for (int i = 0; i < n; i++) {
        free(d[i].type_name);
        free(d[i].code_number);
        free(d[i].code_notation);
        free(d[i].issued_date);
        free(d[i].place);
        free(d[i].organ_name);
        free(d[i].subject);
        free(d[i].origin);
    }
    free(d);
}

static int table_exists(sqlite3 *db, const char *name)
{
    sqlite3_stmt *st;
    if (sh_db_prep(db, "SELECT 1 FROM sqlite_master WHERE type='table' AND"
                   " name=?", &st, NULL))
        return 0;
    sh_db_bind_text(st, 1, name);
    int r = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    return r;
}

static void meta_clear(sh_meta *m)
{
    free(m->dossier);
    free(m->file_code);
    free(m->organ_id);
    free(m->file_notation);
    free(m->title);
    free(m->maintenance);
    free(m->rights);
    free(m->language);
    free(m->start_date);
    free(m->end_date);
    free(m->description);
    free(m->agency);
    memset(m, 0, sizeof *m);
    m->file_catalog = m->doc_total = m->page_total = m->sheet_total = -1;
}

/* dossier_meta row of id into m; 1 found, 0 none, -1 error */
static int load_meta(sqlite3 *db, const char *id, sh_meta *m, sh_err *err)
{
    meta_clear(m);
    sqlite3_stmt *st;
    if (sh_db_prep(db,
                   "SELECT file_code, organ_id, file_catalog, file_notation,"
                   " title, maintenance, rights, language, start_date,"
                   " end_date, doc_total, page_total, sheet_total,"
                   " description, agency FROM dossier_meta WHERE dossier=?",
                   &st, err))
        return -1;
    sh_db_bind_text(st, 1, id);
    int found = 0;
    if (sqlite3_step(st) == SQLITE_ROW) {
        found = 1;
        m->file_code = sh_db_col_dup(st, 0, 1, NULL);
        m->organ_id = sh_db_col_dup(st, 1, 1, NULL);
        m->file_catalog = sh_db_col_int_or(st, 2, -1);
        m->file_notation = sh_db_col_dup(st, 3, 1, NULL);
        m->title = sh_db_col_dup(st, 4, 1, NULL);
        m->maintenance = sh_db_col_dup(st, 5, 1, NULL);
        m->rights = sh_db_col_dup(st, 6, 1, NULL);
        m->language = sh_db_col_dup(st, 7, 1, NULL);
        m->start_date = sh_db_col_dup(st, 8, 1, NULL);
        m->end_date = sh_db_col_dup(st, 9, 1, NULL);
        m->doc_total = sh_db_col_int_or(st, 10, -1);
        m->page_total = sh_db_col_int_or(st, 11, -1);
        m->sheet_total = sh_db_col_int_or(st, 12, -1);
        m->description = sh_db_col_dup(st, 13, 1, NULL);
        m->agency = sh_db_col_dup(st, 14, 1, NULL);
    }
    sqlite3_finalize(st);
    return found;
}

/* The sortable ISO form of an issued date: a full date (ISO or as a
   clerk writes it), or the reduced precision OCR gives when the day or
   month was left blank ("2024-03", "2024"); "" when unreadable. */
static void date_key(const char *s, char iso[11])
{
    iso[0] = 0;
    if (sh_date_parse(s, iso, NULL, 0) == 0)
        return;
    size_t n = strlen(s);
    int ok = (n == 4 || n == 7) && s[0] >= '1' && s[0] <= '2';
    for (size_t i = 0; ok && i < n; i++)
        ok = i == 4 ? s[i] == '-' : (s[i] >= '0' && s[i] <= '9');
    if (ok && n == 7) {
        int m = (s[5] - '0') * 10 + (s[6] - '0');
        ok = m >= 1 && m <= 12;
    }
    if (ok)
        memcpy(iso, s, n + 1);
}

static int load_docs(sqlite3 *db, const char *id, doc **out, int *n,
                     sh_err *err)
{
    *out = NULL;
    *n = 0;
    sqlite3_stmt *st;
    int rc = sh_db_prep(db,
                        "SELECT ordinal, first_page, last_page, type_name,"
                        " type_conf, code_number, code_notation, code_conf,"
                        " issued_date, place, date_conf, organ_name,"
                        " organ_conf, subject, subject_conf, origin FROM"
                        " document WHERE dossier=? ORDER BY ordinal",
                        &st, err);
    if (rc)
        return rc;
    sh_db_bind_text(st, 1, id);
    doc *v = NULL;
    int cnt = 0, cap = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (cnt == cap) {
            cap = cap ? 2 * cap : 16;
            doc *nv = realloc(v, (size_t)cap * sizeof *nv);
            if (!nv) {
                rc = sh_errf(err, SH_ENOMEM, "out of memory");
                break;
            }
            v = nv;
        }
        doc *d = &v[cnt++];
        memset(d, 0, sizeof *d);
        d->ordinal = sqlite3_column_int(st, 0);
        d->first = sqlite3_column_int(st, 1);
        d->last = sqlite3_column_int(st, 2);
        d->type_name = sh_db_col_dup(st, 3, 1, NULL);
        d->type_conf = sh_db_col_double_or(st, 4, -1);
        d->code_number = sh_db_col_dup(st, 5, 1, NULL);
        d->code_notation = sh_db_col_dup(st, 6, 1, NULL);
        d->code_conf = sh_db_col_double_or(st, 7, -1);
        d->issued_date = sh_db_col_dup(st, 8, 1, NULL);
        d->place = sh_db_col_dup(st, 9, 1, NULL);
        d->date_conf = sh_db_col_double_or(st, 10, -1);
        d->organ_name = sh_db_col_dup(st, 11, 1, NULL);
        d->organ_conf = sh_db_col_double_or(st, 12, -1);
        d->subject = sh_db_col_dup(st, 13, 1, NULL);
        d->subject_conf = sh_db_col_double_or(st, 14, -1);
        d->origin = sh_db_col_dup(st, 15, 1, NULL);
        if (d->issued_date)
            date_key(d->issued_date, d->iso);
    }
    sqlite3_finalize(st);
    /* fields a clerk typed: source "manual" (a catalog from before the
       review station has no such table) */
    if (!rc && !sh_db_prep(db, "SELECT ordinal, field FROM review_field"
                           " WHERE dossier=?", &st, NULL)) {
        sh_db_bind_text(st, 1, id);
        while (sqlite3_step(st) == SQLITE_ROW) {
            int ord = sqlite3_column_int(st, 0);
            const char *f = (const char *)sqlite3_column_text(st, 1);
            for (int i = 0; i < cnt; i++)
                for (int k = 0; k < SH_REVIEW_NFIELDS && f; k++)
                    if (v[i].ordinal == ord &&
                        !strcmp(f, SH_REVIEW_FIELDS[k].name))
                        v[i].manual |= 1u << k;
        }
        sqlite3_finalize(st);
    }
    if (rc) {
        docs_free(v, cnt);
        return rc;
    }
    *out = v;
    *n = cnt;
    return SH_OK;
}

/* chronological: IssuedDate, then DocOrdinal; unknown dates last */
static int cmp_doc(const void *a, const void *b)
{
    const doc *x = a, *y = b;
    if (!x->iso[0] != !y->iso[0])
        return x->iso[0] ? -1 : 1;
    int c = strcmp(x->iso, y->iso);
    return c ? c : x->ordinal - y->ordinal;
}

/* ------------------------------------------------------------------ */
/* one dossier                                                          */

typedef struct ctx {
    sqlite3 *db;
    const sh_export_opts *o;
    int has_meta, has_docs;
    char **done_names;     /* folder names exported by this run */
    int ndone;
    char **own_folder;     /* exports found in TO: folder → dossier id */
    char **own_id;
    int nown;
    table dossiers, documents;
    long seq;
    char now[32];
} ctx;

static int name_taken(ctx *c, const char *name)
{
    for (int i = 0; i < c->ndone; i++)
        if (!strcmp(c->done_names[i], name))
            return 1;
    return 0;
}

/* Which dossier the export in folder dir belongs to (from its XML), or
   NULL. */
static char *export_owner(const char *dir, const char *fname)
{
    char p[8192];
    if (snprintf(p, sizeof p, "%s/%s.xml", dir, fname) >= (int)sizeof p)
        return NULL;
    uint8_t *data = NULL;
    size_t n = 0;
    if (sh_read_file(p, 4u << 20, &data, &n, NULL))
        return NULL;
    const char *tag = strstr((const char *)data, "<Dossier id=\"");
    char *id = NULL;
    if (tag) {
        tag += strlen("<Dossier id=\"");
        const char *e = strchr(tag, '"');
        if (e)
            id = strndup(tag, (size_t)(e - tag));
    }
    free(data);
    return id;
}

/* Every export already in TO (folders whose XML names a dossier). */
static int scan_owners(ctx *c)
{
    DIR *d = opendir(c->o->to);
    if (!d)
        return SH_OK;
    struct dirent *e;
    int rc = SH_OK;
    while (!rc && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char p[8192];
        struct stat sb;
        snprintf(p, sizeof p, "%s/%s", c->o->to, e->d_name);
        if (lstat(p, &sb) < 0 || !S_ISDIR(sb.st_mode))
            continue;
        char *id = export_owner(p, e->d_name);
        if (!id)
            continue;
        char **nf = realloc(c->own_folder, (size_t)(c->nown + 1) * sizeof *nf);
        if (nf)
            c->own_folder = nf;
        char **ni = nf ? realloc(c->own_id, (size_t)(c->nown + 1) * sizeof *ni)
                       : NULL;
        if (ni)
            c->own_id = ni;
        char *f = ni ? strdup(e->d_name) : NULL;
        if (!f) {
            free(id);
            rc = SH_ENOMEM;
            break;
        }
        c->own_folder[c->nown] = f;
        c->own_id[c->nown] = id;
        c->nown++;
    }
    closedir(d);
    return rc;
}

/* The dossier whose export is in folder name, or NULL. */
static const char *owner_of(const ctx *c, const char *folder)
{
    for (int i = 0; i < c->nown; i++)
        if (!strcmp(c->own_folder[i], folder))
            return c->own_id[i];
    return NULL;
}

/* Count folder fname as exported by this run. */
static int done_add(ctx *c, const char *fname)
{
    char **nd = realloc(c->done_names, (size_t)(c->ndone + 1) * sizeof *nd);
    if (!nd)
        return SH_ENOMEM;
    c->done_names = nd;
    if (!(nd[c->ndone] = strdup(fname)))
        return SH_ENOMEM;
    c->ndone++;
    return SH_OK;
}

enum { OUT_DONE, OUT_SKIPPED, OUT_FAILED, OUT_UNAPPROVED };

static int export_one(ctx *c, const char *id, sh_err *err)
{
    const sh_export_opts *o = c->o;
    sqlite3_stmt *st;
    char *state = NULL, *pdf = NULL, *sha = NULL, *derr = NULL,
         *agency = NULL;
    int pages = -1, sheets = -1, out = OUT_FAILED, rc = SH_OK;
    sh_meta meta;
    memset(&meta, 0, sizeof meta);
    meta_clear(&meta);
    doc *docs = NULL;
    int ndocs = 0;
    char *stage = NULL, *final = NULL;
    sh_buf xml = {0};

    if (sh_db_prep(c->db,
                   "SELECT state, pdf, pdf_sha256, pages, sheets, error,"
                   " agency FROM dossier WHERE id=?",
                   &st, err))
        return -1;
    sh_db_bind_text(st, 1, id);
    int found = sqlite3_step(st) == SQLITE_ROW;
    if (found) {
        state = sh_db_col_dup(st, 0, 1, NULL);
        pdf = sh_db_col_dup(st, 1, 1, NULL);
        sha = sh_db_col_dup(st, 2, 1, NULL);
        pages = sh_db_col_int_or(st, 3, -1);
        sheets = sh_db_col_int_or(st, 4, -1);
        derr = sh_db_col_dup(st, 5, 1, NULL);
        agency = sh_db_col_dup(st, 6, 1, NULL);
    }
    sqlite3_finalize(st);
    if (!found) {
        sh_log(SH_LOG_ERROR, "%s: no such dossier in the catalog; not "
               "exported", id);
        goto done;
    }
    int version = 0, edits = 0, approved = 0;
    char by[128] = "", at[32] = "";
    sh_review_state(c->db, id, &version, &edits, &approved, by, at,
                    sizeof at < sizeof by ? sizeof at : sizeof by, NULL);
    if (o->approved_only && !approved) {
        sh_log(SH_LOG_INFO, "%s: not approved by a clerk; not exported "
               "(--approved-only)", id);
        out = OUT_UNAPPROVED;
        goto done;
    }
    if (!state || strcmp(state, "done")) {
        sh_log(SH_LOG_ERROR, "%s: the dossier is %s, not done%s%s; not "
               "exported", id, state ? state : "in no state",
               derr ? ": " : "", derr ? derr : "");
        goto done;
    }
    if (!pdf || !sha) {
        sh_log(SH_LOG_ERROR, "%s: the catalog records no PDF or no PDF "
               "SHA-256 for it; not exported", id);
        goto done;
    }
    if (c->has_meta && load_meta(c->db, id, &meta, err) < 0) {
        rc = err->rc;
        goto done;
    }
    if (c->has_docs && (rc = load_docs(c->db, id, &docs, &ndocs, err)))
        goto done;

    /* names */
    const char *file_code = meta.file_code ? meta.file_code : id;
    char fname[128];
    sh_export_filename(file_code, fname, sizeof fname);
    if (name_taken(c, fname)) {
        sh_log(SH_LOG_ERROR, "%s: its FileCode '%s' gives the folder name "
               "'%s', already used by another dossier of this export; not "
               "exported", id, file_code, fname);
        goto done;
    }
    sh_buf p = {0};
    sh_buf_printf(&p, "%s/%s", o->to, fname);
    final = p.data;
    p.data = NULL;
    sh_buf_release(&p);
    sh_buf_printf(&p, "%s/.%s.tmp.%d", o->to, fname, (int)getpid());
    stage = p.data;
    if (!final || !stage) {
        rc = sh_errf(err, SH_ENOMEM, "out of memory");
        goto done;
    }
    struct stat sb;
    int exists = lstat(final, &sb) == 0;
    if (exists) {
        const char *owner = owner_of(c, fname);
        if (!owner || strcmp(owner, id)) {
            sh_log(SH_LOG_ERROR, "%s: %s exists and is not an export of "
                   "this dossier%s%s; not replaced, not exported", id, final,
                   owner ? " but of " : "", owner ? owner : "");
            goto done;
        }
    }
    /* an export of this dossier under another name (its FileCode has
       changed since): replaced too with --force */
    const char *elsewhere = NULL;
    for (int i = 0; i < c->nown && !elsewhere; i++)
        if (!strcmp(c->own_id[i], id) && strcmp(c->own_folder[i], fname))
            elsewhere = c->own_folder[i];
    if ((exists || elsewhere) && !o->force) {
        if (exists)
            sh_log(SH_LOG_WARN, "%s: already exported to %s; skipped "
                   "(--force replaces it)", id, final);
        else
            sh_log(SH_LOG_WARN, "%s: already exported to %s/%s under its "
                   "earlier FileCode (now '%s'); skipped (--force exports "
                   "it again and removes the old folder)", id, o->to,
                   elsewhere, file_code);
        out = OUT_SKIPPED;
        goto done;
    }
    rm_rf(stage);
    if (mkdir(stage, (mode_t)sh_private_mode(stage, 1)) < 0) {
        rc = sh_errf(err, sh_io_rc(errno), "%s: cannot create: %s", stage,
                     strerror(errno));
        goto done;
    }

    /* the dossier PDF, hash checked */
    char src[8192];
    snprintf(src, sizeof src, "%s", pdf);
    if (access(src, F_OK) != 0 && o->warehouse) {
        const char *base = strrchr(pdf, '/');
        snprintf(src, sizeof src, "%s/pdf/%s", o->warehouse,
                 base ? base + 1 : pdf);
    }
    char copy[8400], hex[65];
    long long bytes = 0;
    snprintf(copy, sizeof copy, "%s/%s.pdf", stage, fname);
    sh_err ferr = {0};
    int r = copy_hash(src, copy, hex, &bytes, &ferr);
    if (r == SH_ENOSPC) {
        rc = sh_errf(err, r, "%s", ferr.msg);
        goto done;
    }
    if (r) {
        sh_log(SH_LOG_ERROR, "%s: %s; not exported", id, ferr.msg);
        goto done;
    }
    if (strcmp(hex, sha)) {
        sh_log(SH_LOG_ERROR, "%s: the PDF %s has changed since it was made "
               "(SHA-256 %s, the catalog says %s); not exported — see "
               "'sohoa verify'", id, src, hex, sha);
        goto done;
    }
    int npdf = 0;
    if ((r = pdf_page_count(copy, &npdf, &ferr))) {
        sh_log(SH_LOG_ERROR, "%s: %s; not exported", id, ferr.msg);
        goto done;
    }
    if (pages >= 0 && pages != npdf)
        sh_log(SH_LOG_WARN, "%s: the catalog says %d pages, the PDF has %d",
               id, pages, npdf);

    /* documents: the catalog's, or the whole PDF as one */
    if (ndocs == 0) {
        docs = calloc(1, sizeof *docs);
        if (!docs) {
            rc = sh_errf(err, SH_ENOMEM, "out of memory");
            goto done;
        }
        ndocs = 1;
        docs[0].ordinal = 1;
        docs[0].first = 1;
        docs[0].last = npdf;
        docs[0].type_conf = docs[0].code_conf = docs[0].date_conf =
            docs[0].organ_conf = docs[0].subject_conf = -1;
        docs[0].origin = strdup("derived");
    }
    for (int i = 0; i < ndocs; i++) {
        doc *d = &docs[i];
        if (d->ordinal < 1 || d->first < 1 || d->last < d->first ||
            d->last > npdf) {
            sh_log(SH_LOG_ERROR, "%s: document %d covers pages %d to %d but "
                   "the PDF has pages 1 to %d; not exported", id, d->ordinal,
                   d->first, d->last, npdf);
            goto done;
        }
        for (int k = 0; k < i; k++)
            if (docs[k].first <= d->last && d->first <= docs[k].last)
                sh_log(SH_LOG_WARN, "%s: documents %d (pages %d-%d) and %d "
                       "(pages %d-%d) share pages", id, docs[k].ordinal,
                       docs[k].first, docs[k].last, d->ordinal, d->first,
                       d->last);
    }
    qsort(docs, (size_t)ndocs, sizeof *docs, cmp_doc);
    for (int i = 0; i < ndocs; i++) {
        doc *d = &docs[i];
        snprintf(d->file, sizeof d->file, "%s.%03d.pdf", fname, d->ordinal);
        char dst[8400];
        snprintf(dst, sizeof dst, "%s/%s", stage, d->file);
        if ((r = pdf_extract(copy, d->first, d->last, dst, &ferr))) {
            if (r == SH_ENOSPC) {
                rc = sh_errf(err, r, "%s", ferr.msg);
                goto done;
            }
            sh_log(SH_LOG_ERROR, "%s: document %d: %s; not exported", id,
                   d->ordinal, ferr.msg);
            goto done;
        }
    }

    view v;
    sh_export_view_init(&v, id, file_code, fname, &meta, agency, docs, ndocs,
                        npdf, sheets, bytes, hex);
    v.approved_by = approved ? by : NULL;
    v.approved_at = approved ? at : NULL;
    sh_export_view_xml(&v, c->now, &xml);
    if (!xml.data) {
        rc = sh_errf(err, SH_ENOMEM, "out of memory");
        goto done;
    }
    char xp[8400];
    snprintf(xp, sizeof xp, "%s/%s.xml", stage, fname);
    if ((r = write_new(xp, xml.data, xml.len, &ferr))) {
        rc = sh_errf(err, r, "%s", ferr.msg);
        goto done;
    }
    if (fsync_path(stage, 1) < 0) {
        rc = sh_errf(err, sh_io_rc(errno), "%s: fsync failed: %s", stage,
                     strerror(errno));
        goto done;
    }

    /* into place */
    if (exists) {
        if (renameat2(AT_FDCWD, stage, AT_FDCWD, final, RENAME_EXCHANGE) < 0) {
            if (errno != EINVAL && errno != ENOSYS) {
                rc = sh_errf(err, sh_io_rc(errno), "%s: cannot replace: %s",
                             final, strerror(errno));
                goto done;
            }
            /* no atomic swap here: old aside, new in, old removed */
            char old[8400];
            snprintf(old, sizeof old, "%s/.%s.old.%d", o->to, fname,
                     (int)getpid());
            rm_rf(old);
            if (rename(final, old) < 0 || rename(stage, final) < 0) {
                rc = sh_errf(err, sh_io_rc(errno), "%s: cannot replace: %s",
                             final, strerror(errno));
                goto done;
            }
            rm_rf(old);
        }
        /* after the exchange the stage name holds the old export */
    } else if (rename(stage, final) < 0) {
        rc = sh_errf(err, sh_io_rc(errno), "%s: cannot rename into place: %s",
                     final, strerror(errno));
        goto done;
    }
    rm_rf(stage);
    for (int i = 0; i < c->nown; i++)
        if (!strcmp(c->own_id[i], id) && strcmp(c->own_folder[i], fname)) {
            char old[8400];
            snprintf(old, sizeof old, "%s/%s", o->to, c->own_folder[i]);
            rm_rf(old);
            sh_log(SH_LOG_INFO, "%s: removed its earlier export %s", id, old);
        }
    fsync_path(o->to, 1);

    if ((rc = sh_export_view_rows(&v, &c->dossiers, &c->documents,
                                  &c->seq)) ||
        (rc = done_add(c, v.fname))) {
        sh_errf(err, rc, "out of memory");
        goto done;
    }
    sh_log(SH_LOG_INFO, "%s: exported to %s (%d document%s, %d page%s)", id,
           final, ndocs, ndocs == 1 ? "" : "s", npdf, npdf == 1 ? "" : "s");
    out = OUT_DONE;
done:
    if (stage && out != OUT_DONE)
        rm_rf(stage);
    free(stage);
    free(final);
    sh_buf_release(&xml);
    docs_free(docs, ndocs);
    meta_clear(&meta);
    free(state);
    free(pdf);
    free(sha);
    free(derr);
    free(agency);
    return rc ? -1 : out;
}

/* Remove what a killed export left, when its process is gone: the
   hidden folders .NAME.tmp.PID / .NAME.old.PID (an export folder's own
   name never starts with '.') and the CSV tables' NAME.csv.tmp.PID. */
static void clean_stale(const char *to)
{
    DIR *d = opendir(to);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        const char *t = NULL, *n = e->d_name;
        if (n[0] == '.') {
            t = strstr(n, ".tmp.");
            if (!t)
                t = strstr(n, ".old.");
        } else if (!strncmp(n, "dossiers.csv.tmp.", 17) ||
                   !strncmp(n, "documents.csv.tmp.", 18)) {
            t = strstr(n, ".tmp.");
        }
        if (!t)
            continue;
        const char *pid = t + 5;
        char *endp;
        long v = strtol(pid, &endp, 10);
        if (*endp || v <= 0 || endp == pid)
            continue;
        if (v == (long)getpid() || kill((pid_t)v, 0) == 0 || errno != ESRCH)
            continue;
        char p[8192];
        snprintf(p, sizeof p, "%s/%s", to, e->d_name);
        rm_rf(p);
    }
    closedir(d);
}

int sh_export(sqlite3 *db, const sh_export_opts *o, char **ids, int nids,
              int all, sh_export_stats *st, sh_err *err)
{
    memset(st, 0, sizeof *st);
    if (!o || !o->to || !*o->to)
        return sh_errf(err, SH_EUSAGE, "export: no folder to export to");
    int rc = sh_mkdirs(o->to, err);
    if (rc)
        return rc;
    char lockp[8192];
    snprintf(lockp, sizeof lockp, "%s/.sohoa-export.lock", o->to);
    int lfd = open(lockp, O_RDWR | O_CREAT | O_CLOEXEC,
                   (mode_t)sh_private_mode(lockp, 0));
    if (lfd < 0)
        return sh_errf(err, sh_io_rc(errno), "%s: cannot create: %s", lockp,
                       strerror(errno));
    if (flock(lfd, LOCK_EX | LOCK_NB) < 0) {
        close(lfd);
        return sh_errf(err, SH_EUSAGE, "%s: another sohoa export is writing "
                       "this folder", o->to);
    }
    clean_stale(o->to);
    char **list = ids;
    int n = nids, owned = 0;
    ctx c;
    memset(&c, 0, sizeof c);
    c.db = db;
    c.o = o;
    if ((rc = scan_owners(&c))) {
        sh_errf(err, rc, "out of memory");
        goto out;
    }
    c.has_meta = table_exists(db, "dossier_meta");
    c.has_docs = table_exists(db, "document");
    sh_export_tables_init(&c.dossiers, &c.documents);
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(c.now, sizeof c.now, "%Y-%m-%dT%H:%M:%SZ", &tm);

    if (all) {
        sqlite3_stmt *q;
        list = NULL;
        n = 0;
        owned = 1;
        if ((rc = sh_db_prep(db, "SELECT id FROM dossier WHERE"
                             " state='done' ORDER BY id", &q, err)))
            goto out;
        while (sqlite3_step(q) == SQLITE_ROW) {
            char **nl = realloc(list, (size_t)(n + 1) * sizeof *nl);
            if (!nl || !(nl[n] = sh_db_col_dup(q, 0, 1, NULL))) {
                if (nl)
                    list = nl;
                rc = sh_errf(err, SH_ENOMEM, "out of memory");
                break;
            }
            list = nl;
            n++;
        }
        sqlite3_finalize(q);
        if (rc)
            goto out;
    }
    for (int i = 0; i < n && !rc; i++) {
        int r = export_one(&c, list[i], err);
        if (r < 0)
            rc = err->rc ? err->rc : SH_EIO;
        else if (r == OUT_DONE)
            st->exported++;
        else if (r == OUT_UNAPPROVED)
            st->unapproved++;
        else if (r == OUT_SKIPPED)
            st->skipped++;
        else
            st->failed++;
    }
    if (!rc && st->exported) {
        rc = sh_export_table_write(&c.dossiers, o->to, "dossiers.csv",
                                   c.done_names, c.ndone, err);
        if (!rc)
            rc = sh_export_table_write(&c.documents, o->to, "documents.csv",
                                       c.done_names, c.ndone, err);
    }
out:
    if (owned) {
        for (int i = 0; i < n; i++)
            free(list[i]);
        free(list);
    }
    for (int i = 0; i < c.ndone; i++)
        free(c.done_names[i]);
    free(c.done_names);
    for (int i = 0; i < c.nown; i++) {
        free(c.own_folder[i]);
        free(c.own_id[i]);
    }
    free(c.own_folder);
    free(c.own_id);
    sh_export_table_release(&c.dossiers);
    sh_export_table_release(&c.documents);
    close(lfd);
    return rc;
}

/* ------------------------------------------------------------------ */
/* the command                                                          */

static void export_usage(FILE *f)
{
    fputs("usage: sohoa export [--warehouse DIR] (DOSSIER... | --all) "
          "--to DIR [--force] [--approved-only] [--quiet]\n"
          "  Writes DIR/<FileCode>/<FileCode>.pdf, .xml and one\n"
          "  <FileCode>.NNN.pdf per document, plus DIR/dossiers.csv and\n"
          "  DIR/documents.csv, for dossiers in state 'done'.\n"
          "  --force replaces an existing export of a dossier.\n"
          "  --approved-only exports only dossiers a clerk approved.\n"
          "Exit status: 0 all exported (or already there), 1 some dossier\n"
          "failed (the rest exported), 2 usage or configuration error.\n",
          f);
}

int sh_cmd_export(int argc, char **argv)
{
    const char *to = NULL;
    int all = 0, force = 0, approved_only = 0, c;
    sh_opts ov;
    static const struct option opts[] = {
        SH_LONGOPT_WAREHOUSE,
        {"to", required_argument, NULL, 't'},
        {"all", no_argument, NULL, 'a'},
        {"force", no_argument, NULL, 'f'},
        {"approved-only", no_argument, NULL, 'A'},
        {"quiet", no_argument, NULL, 'q'},
        SH_LONGOPT_HELP,
        {NULL, 0, NULL, 0},
    };
    sh_opts_init(&ov);
    optind = 1;
    while ((c = getopt_long(argc, argv, "w:t:afqh", opts, NULL)) != -1) {
        switch (c) {
        case 't': to = optarg; break;
        case 'a': all = 1; break;
        case 'f': force = 1; break;
        case 'A': approved_only = 1; break;
        case 'q': sh_log_level = SH_LOG_WARN; break;
        default:
            switch (sh_opt_common(&ov, c, optarg)) {
            case SH_OPT_TAKEN: break;
            case SH_OPT_HELP: export_usage(stdout); return SH_EXIT_OK;
            default: export_usage(stderr); return SH_EXIT_USAGE;
            }
        }
    }
    const char *wh = ov.warehouse;
    int nids = argc - optind;
    if (!to || !*to || (all && nids > 0) || (!all && nids == 0)) {
        if (!to || !*to)
            fputs("sohoa export: --to DIR is required\n", stderr);
        else if (all && nids > 0)
            fputs("sohoa export: give dossier ids or --all, not both\n",
                  stderr);
        else
            fputs("sohoa export: give dossier ids, or --all\n", stderr);
        export_usage(stderr);
        return SH_EXIT_USAGE;
    }
    sqlite3 *db;
    int rc = sh_catalog_open_ro(wh, &db);
    if (rc)
        return rc;
    sh_export_opts o = {.warehouse = wh, .to = to, .force = force,
                        .approved_only = approved_only};
    sh_export_stats st;
    sh_err err = {0};
    rc = sh_export(db, &o, argv + optind, nids, all, &st, &err);
    sh_db_close(&db);
    if (rc) {
        fprintf(stderr, "sohoa export: %s\n", err.msg);
        return rc == SH_ENOSPC || rc == SH_EIO || rc == SH_EUSAGE
                   ? SH_EXIT_USAGE : SH_EXIT_PARTIAL;
    }
    printf("export to %s: %d exported, %d already there, %d failed", to,
           st.exported, st.skipped, st.failed);
    if (approved_only)
        printf(", %d not approved", st.unapproved);
    printf("\n");
    return st.failed ? SH_EXIT_PARTIAL : SH_EXIT_OK;
}
