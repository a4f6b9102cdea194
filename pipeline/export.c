/*
 * export.c — hand done dossiers over to an archive: per dossier a folder
 * with the PDF, an XML of its Nghị định 30/2020 Phụ lục VI fields and one
 * PDF per văn bản; two CSV tables over everything exported to the folder.
 *
 *   sh_export_filename   FileCode → a safe file name
 *   sh_export            export dossiers (library entry; tests use it)
 *   sh_cmd_export        sohoa export
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
 * confidence (0..1).  Absent fields are empty elements.
 */
#include "archive.h"
#include "pipeline.h"
#include "../base/opts.h"
#include "../index/index.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <qpdf/qpdf-c.h>
#include <signal.h>
#include <sodium.h>
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
    int out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (out < 0) {
        int e = errno;
        close(in);
        return sh_errf(err, sh_io_rc(e), "%s: cannot create: %s", dst,
                       strerror(e));
    }
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
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
        crypto_hash_sha256_update(&st, blk, (unsigned long long)r);
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
    if (rc)
        return rc;
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_final(&st, h);
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", h[i]);
    *bytes = total;
    return SH_OK;
}

/* Write a whole buffer to a new file and fsync it. */
static int write_new(const char *path, const void *p, size_t n, sh_err *err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
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
/* XML                                                                  */

/* s as XML character data: & < > " ' escaped, characters XML 1.0 does
   not allow (C0 controls but TAB/LF/CR, U+FFFE/U+FFFF, invalid UTF-8)
   dropped. */
static void xml_text(sh_buf *b, const char *s)
{
    const uint8_t *p = (const uint8_t *)(s ? s : "");
    size_t len = strlen((const char *)p);
    for (size_t i = 0; i < len;) {
        ucs4_t uc;
        int n = u8_mbtouc(&uc, p + i, len - i);
        if (n < 1)
            n = 1;
        int invalid = uc == 0xFFFD && !(n == 3 && p[i] == 0xEF &&
                                        p[i + 1] == 0xBF && p[i + 2] == 0xBD);
        if (!invalid && (uc == 0x9 || uc == 0xA || uc == 0xD ||
                         (uc >= 0x20 && uc != 0xFFFE && uc != 0xFFFF))) {
            switch (uc) {
            case '&': sh_buf_adds(b, "&amp;"); break;
            case '<': sh_buf_adds(b, "&lt;"); break;
            case '>': sh_buf_adds(b, "&gt;"); break;
            case '"': sh_buf_adds(b, "&quot;"); break;
            case '\'': sh_buf_adds(b, "&apos;"); break;
            case '\r': sh_buf_adds(b, "&#13;"); break;
            default: sh_buf_add(b, p + i, (size_t)n);
            }
        }
        i += (size_t)n;
    }
}

/* <name source="src" confidence="c">value</name>, or <name/> */
static void xml_field(sh_buf *b, int indent, const char *name,
                      const char *value, const char *src, double conf)
{
    sh_buf_printf(b, "%*s<%s", indent, "", name);
    if (!value) {
        sh_buf_adds(b, "/>\n");
        return;
    }
    if (src)
        sh_buf_printf(b, " source=\"%s\"", src);
    if (conf >= 0)
        sh_buf_printf(b, " confidence=\"%.2f\"", conf);
    sh_buf_adds(b, ">");
    xml_text(b, value);
    sh_buf_printf(b, "</%s>\n", name);
}

static void xml_int(sh_buf *b, int indent, const char *name, int v,
                    const char *src)
{
    char s[24];
    snprintf(s, sizeof s, "%d", v);
    xml_field(b, indent, name, v >= 0 ? s : NULL, src, -1);
}

/* ------------------------------------------------------------------ */
/* catalog reads                                                        */

typedef struct doc {
    int ordinal, first, last;
    char *type_name, *code_number, *code_notation, *issued_date, *place,
        *organ_name, *subject, *origin;
    double type_conf, code_conf, date_conf, organ_conf, subject_conf;
    char iso[11];         /* issued date as ISO, "" = unknown */
    char file[200];
} doc;

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

static char *col_str(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t && *t ? strdup((const char *)t) : NULL;
}

static int col_int(sqlite3_stmt *st, int i)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL ? -1
                                                     : sqlite3_column_int(st, i);
}

static double col_conf(sqlite3_stmt *st, int i)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL
               ? -1 : sqlite3_column_double(st, i);
}

static int table_exists(sqlite3 *db, const char *name)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master WHERE "
                           "type='table' AND name=?", -1, &st, NULL))
        return 0;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
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
    if (sqlite3_prepare_v2(db,
                           "SELECT file_code, organ_id, file_catalog,"
                           " file_notation, title, maintenance, rights,"
                           " language, start_date, end_date, doc_total,"
                           " page_total, sheet_total, description, agency"
                           " FROM dossier_meta WHERE dossier=?",
                           -1, &st, NULL)) {
        sh_errf(err, SH_EINDEX, "catalog: %s", sqlite3_errmsg(db));
        return -1;
    }
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    int found = 0;
    if (sqlite3_step(st) == SQLITE_ROW) {
        found = 1;
        m->file_code = col_str(st, 0);
        m->organ_id = col_str(st, 1);
        m->file_catalog = col_int(st, 2);
        m->file_notation = col_str(st, 3);
        m->title = col_str(st, 4);
        m->maintenance = col_str(st, 5);
        m->rights = col_str(st, 6);
        m->language = col_str(st, 7);
        m->start_date = col_str(st, 8);
        m->end_date = col_str(st, 9);
        m->doc_total = col_int(st, 10);
        m->page_total = col_int(st, 11);
        m->sheet_total = col_int(st, 12);
        m->description = col_str(st, 13);
        m->agency = col_str(st, 14);
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
    if (sqlite3_prepare_v2(db,
                           "SELECT ordinal, first_page, last_page, type_name,"
                           " type_conf, code_number, code_notation,"
                           " code_conf, issued_date, place, date_conf,"
                           " organ_name, organ_conf, subject, subject_conf,"
                           " origin FROM document WHERE dossier=?"
                           " ORDER BY ordinal",
                           -1, &st, NULL))
        return sh_errf(err, SH_EINDEX, "catalog: %s", sqlite3_errmsg(db));
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    doc *v = NULL;
    int cnt = 0, cap = 0, rc = SH_OK;
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
        d->type_name = col_str(st, 3);
        d->type_conf = col_conf(st, 4);
        d->code_number = col_str(st, 5);
        d->code_notation = col_str(st, 6);
        d->code_conf = col_conf(st, 7);
        d->issued_date = col_str(st, 8);
        d->place = col_str(st, 9);
        d->date_conf = col_conf(st, 10);
        d->organ_name = col_str(st, 11);
        d->organ_conf = col_conf(st, 12);
        d->subject = col_str(st, 13);
        d->subject_conf = col_conf(st, 14);
        d->origin = col_str(st, 15);
        if (d->issued_date)
            date_key(d->issued_date, d->iso);
    }
    sqlite3_finalize(st);
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
/* CSV tables                                                           */

static const char *const dossier_cols[] = {
    "FileCode", "Dossier", "OrganId", "FileCatalog", "FileNotation", "Title",
    "Maintenance", "Rights", "Language", "StartDate", "EndDate", "DocTotal",
    "PageTotal", "SheetTotal", "Description", "Agency", "File"};
static const char *const document_cols[] = {
    "FileCode", "DocOrdinal", "TypeName", "CodeNumber", "CodeNotation",
    "IssuedDate", "OrganName", "Subject", "PageAmount", "Language",
    "Description", "FirstPage", "LastPage", "File", "Dossier", "Origin"};

typedef struct trow {
    char **f;
    int n;
    long seq;
} trow;

typedef struct table {
    const char *const *cols;
    int ncols;
    trow *r;
    int n, cap;
} table;

static int table_add(table *t, char **f, long seq)
{
    if (t->n == t->cap) {
        int nc = t->cap ? 2 * t->cap : 32;
        trow *nr = realloc(t->r, (size_t)nc * sizeof *nr);
        if (!nr)
            return SH_ENOMEM;
        t->r = nr;
        t->cap = nc;
    }
    t->r[t->n].f = f;
    t->r[t->n].n = t->ncols;
    t->r[t->n].seq = seq;
    t->n++;
    return SH_OK;
}

/* New row from ncols strings (copied; NULL = empty). */
static int table_addv(table *t, const char *const *v, long seq)
{
    char **f = calloc((size_t)t->ncols, sizeof *f);
    if (!f)
        return SH_ENOMEM;
    for (int i = 0; i < t->ncols; i++)
        if (!(f[i] = strdup(v[i] ? v[i] : ""))) {
            for (int k = 0; k < i; k++)
                free(f[k]);
            free(f);
            return SH_ENOMEM;
        }
    if (table_add(t, f, seq)) {
        for (int k = 0; k < t->ncols; k++)
            free(f[k]);
        free(f);
        return SH_ENOMEM;
    }
    return SH_OK;
}

static void table_release(table *t)
{
    for (int i = 0; i < t->n; i++) {
        for (int k = 0; k < t->r[i].n; k++)
            free(t->r[i].f[k]);
        free(t->r[i].f);
    }
    free(t->r);
    t->r = NULL;
    t->n = t->cap = 0;
}

static int cmp_trow(const void *a, const void *b)
{
    const trow *x = a, *y = b;
    int c = strcmp(x->f[0], y->f[0]);
    if (c)
        return c;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
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

enum { OUT_DONE, OUT_SKIPPED, OUT_FAILED };

static const char *src_of(const char *origin)
{
    return origin ? origin : "ocr";
}

static double conf_of(const char *origin, double conf)
{
    return (!origin || !strcmp(origin, "ocr")) ? conf : -1;
}

/* What is written for one dossier: the catalog's values, the manifest's,
   and what is derived when both are silent. */
typedef struct view {
    const char *id, *file_code, *fname, *lang, *agency;
    const char *start, *end, *start_src, *end_src;
    const sh_meta *meta;
    const doc *docs;
    int ndocs, npdf, sheets;
    long long bytes;
    const char *sha;
} view;

static void view_init(view *v, const char *id, const char *file_code,
                      const char *fname, const sh_meta *meta,
                      const char *agency, const doc *docs, int ndocs,
                      int npdf, int sheets, long long bytes, const char *sha)
{
    memset(v, 0, sizeof *v);
    v->id = id;
    v->file_code = file_code;
    v->fname = fname;
    v->meta = meta;
    v->docs = docs;
    v->ndocs = ndocs;
    v->npdf = npdf;
    v->sheets = sheets;
    v->bytes = bytes;
    v->sha = sha;
    v->lang = meta->language ? meta->language : "Tiếng Việt";
    v->agency = meta->agency ? meta->agency : agency;
    v->start = meta->start_date;
    v->end = meta->end_date;
    v->start_src = v->end_src = "manifest";
    /* the earliest and latest IssuedDate when the manifest gave none */
    const char *lo = NULL, *hi = NULL;
    for (int i = 0; i < ndocs; i++)
        if (docs[i].iso[0]) {
            if (!lo || strcmp(docs[i].iso, lo) < 0)
                lo = docs[i].iso;
            if (!hi || strcmp(docs[i].iso, hi) > 0)
                hi = docs[i].iso;
        }
    if (!v->start) {
        v->start = lo;
        v->start_src = "derived";
    }
    if (!v->end) {
        v->end = hi;
        v->end_src = "derived";
    }
    if (meta->page_total >= 0 && meta->page_total != npdf)
        sh_log(SH_LOG_WARN, "%s: the manifest's PageTotal is %d, the PDF has "
               "%d pages", id, meta->page_total, npdf);
    int real_docs = !(ndocs == 1 && docs[0].origin &&
                      !strcmp(docs[0].origin, "derived"));
    if (meta->doc_total >= 0 && real_docs && meta->doc_total != ndocs)
        sh_log(SH_LOG_WARN, "%s: the manifest's DocTotal is %d, the catalog "
               "has %d documents", id, meta->doc_total, ndocs);
}

static int view_doc_total(const view *v)
{
    return v->meta->doc_total >= 0 ? v->meta->doc_total : v->ndocs;
}

static int view_page_total(const view *v)
{
    return v->meta->page_total >= 0 ? v->meta->page_total : v->npdf;
}

static int view_sheet_total(const view *v)
{
    return v->meta->sheet_total >= 0 ? v->meta->sheet_total : v->sheets;
}

static const char *mf(const void *given)
{
    return given ? "manifest" : "derived";
}

static void view_xml(const view *v, const char *now, sh_buf *xml)
{
    const sh_meta *m = v->meta;
    sh_buf_adds(xml, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                "<!-- Hồ sơ and văn bản fields of Nghị định 30/2020/NĐ-CP "
                "Phụ lục VI (element names as there).\n"
                "     source=\"manifest\": from the batch's manifest.csv; "
                "\"ocr\": suggested from the page text\n"
                "     (confidence 0..1); \"derived\": computed by sohoa; "
                "\"manual\": entered by a person.\n"
                "     Empty element: not known. Dates are yyyy-mm-dd "
                "(yyyy-mm or yyyy when the day or month is blank). -->\n");
    sh_buf_adds(xml, "<Dossier id=\"");
    xml_text(xml, v->id);
    sh_buf_printf(xml, "\" exported=\"%s\" generator=\"sohoa\">\n", now);
    xml_field(xml, 2, "FileCode", v->file_code, mf(m->file_code), -1);
    xml_field(xml, 2, "OrganId", m->organ_id, "manifest", -1);
    xml_int(xml, 2, "FileCatalog", m->file_catalog, "manifest");
    xml_field(xml, 2, "FileNotation", m->file_notation, "manifest", -1);
    xml_field(xml, 2, "Title", m->title ? m->title : v->id, mf(m->title), -1);
    xml_field(xml, 2, "Maintenance", m->maintenance, "manifest", -1);
    xml_field(xml, 2, "Rights", m->rights, "manifest", -1);
    xml_field(xml, 2, "Language", v->lang, mf(m->language), -1);
    xml_field(xml, 2, "StartDate", v->start, v->start_src, -1);
    xml_field(xml, 2, "EndDate", v->end, v->end_src, -1);
    xml_int(xml, 2, "DocTotal", view_doc_total(v),
            m->doc_total >= 0 ? "manifest" : "derived");
    xml_int(xml, 2, "PageTotal", view_page_total(v),
            m->page_total >= 0 ? "manifest" : "derived");
    xml_int(xml, 2, "SheetTotal", view_sheet_total(v),
            m->sheet_total >= 0 ? "manifest" : "derived");
    xml_field(xml, 2, "Description", m->description, "manifest", -1);
    xml_field(xml, 2, "Agency", v->agency, m->agency ? "manifest" : NULL, -1);
    sh_buf_printf(xml, "  <PdfFile pages=\"%d\" bytes=\"%lld\" "
                  "sha256=\"%s\">", v->npdf, v->bytes, v->sha);
    xml_text(xml, v->fname);
    sh_buf_adds(xml, ".pdf</PdfFile>\n  <Documents>\n");
    for (int i = 0; i < v->ndocs; i++) {
        const doc *d = &v->docs[i];
        const char *s = src_of(d->origin);
        char ord[16], amount[16], fp[16], lp[16];
        snprintf(ord, sizeof ord, "%d", d->ordinal);
        snprintf(amount, sizeof amount, "%d", d->last - d->first + 1);
        snprintf(fp, sizeof fp, "%d", d->first);
        snprintf(lp, sizeof lp, "%d", d->last);
        const char *date = d->iso[0] ? d->iso : d->issued_date;
        sh_buf_adds(xml, "    <Document>\n");
        xml_field(xml, 6, "DocOrdinal", ord, NULL, -1);
        xml_field(xml, 6, "TypeName", d->type_name, s,
                  conf_of(d->origin, d->type_conf));
        xml_field(xml, 6, "CodeNumber", d->code_number, s,
                  conf_of(d->origin, d->code_conf));
        xml_field(xml, 6, "CodeNotation", d->code_notation, s,
                  conf_of(d->origin, d->code_conf));
        xml_field(xml, 6, "IssuedDate", date, s,
                  conf_of(d->origin, d->date_conf));
        xml_field(xml, 6, "Place", d->place, s,
                  conf_of(d->origin, d->date_conf));
        xml_field(xml, 6, "OrganName", d->organ_name, s,
                  conf_of(d->origin, d->organ_conf));
        xml_field(xml, 6, "Subject", d->subject, s,
                  conf_of(d->origin, d->subject_conf));
        xml_field(xml, 6, "PageAmount", amount, "derived", -1);
        xml_field(xml, 6, "Language", v->lang, mf(m->language), -1);
        xml_field(xml, 6, "Description", NULL, NULL, -1);
        xml_field(xml, 6, "FirstPage", fp, NULL, -1);
        xml_field(xml, 6, "LastPage", lp, NULL, -1);
        xml_field(xml, 6, "File", d->file, NULL, -1);
        sh_buf_adds(xml, "    </Document>\n");
    }
    sh_buf_adds(xml, "  </Documents>\n</Dossier>\n");
}

/* The dossier's row and its documents' rows for the CSV tables; the
   folder counted as exported by this run. */
static int view_rows(ctx *c, const view *v)
{
    const sh_meta *m = v->meta;
    char cat[16] = "", dt[16], pt[16], stt[16] = "", rel[300];
    if (m->file_catalog >= 0)
        snprintf(cat, sizeof cat, "%d", m->file_catalog);
    snprintf(dt, sizeof dt, "%d", view_doc_total(v));
    snprintf(pt, sizeof pt, "%d", view_page_total(v));
    if (view_sheet_total(v) >= 0)
        snprintf(stt, sizeof stt, "%d", view_sheet_total(v));
    snprintf(rel, sizeof rel, "%s/%s.pdf", v->fname, v->fname);
    const char *dv[] = {v->file_code, v->id, m->organ_id, cat,
                        m->file_notation, m->title ? m->title : v->id,
                        m->maintenance, m->rights, v->lang, v->start, v->end,
                        dt, pt, stt, m->description, v->agency, rel};
    int rc = table_addv(&c->dossiers, dv, c->seq++);
    for (int i = 0; i < v->ndocs && !rc; i++) {
        const doc *d = &v->docs[i];
        char ord[16], amount[16], fp[16], lp[16], drel[400];
        snprintf(ord, sizeof ord, "%d", d->ordinal);
        snprintf(amount, sizeof amount, "%d", d->last - d->first + 1);
        snprintf(fp, sizeof fp, "%d", d->first);
        snprintf(lp, sizeof lp, "%d", d->last);
        snprintf(drel, sizeof drel, "%s/%s", v->fname, d->file);
        const char *r[] = {v->file_code, ord, d->type_name, d->code_number,
                           d->code_notation,
                           d->iso[0] ? d->iso : d->issued_date,
                           d->organ_name, d->subject, amount, v->lang, NULL,
                           fp, lp, drel, v->id, src_of(d->origin)};
        rc = table_addv(&c->documents, r, c->seq++);
    }
    if (rc)
        return rc;
    char **nd = realloc(c->done_names, (size_t)(c->ndone + 1) * sizeof *nd);
    if (!nd)
        return SH_ENOMEM;
    c->done_names = nd;
    if (!(nd[c->ndone] = strdup(v->fname)))
        return SH_ENOMEM;
    c->ndone++;
    return SH_OK;
}

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

    if (sqlite3_prepare_v2(c->db,
                           "SELECT state, pdf, pdf_sha256, pages, sheets,"
                           " error, agency FROM dossier WHERE id=?",
                           -1, &st, NULL)) {
        sh_errf(err, SH_EINDEX, "catalog: %s", sqlite3_errmsg(c->db));
        return -1;
    }
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    int found = sqlite3_step(st) == SQLITE_ROW;
    if (found) {
        state = col_str(st, 0);
        pdf = col_str(st, 1);
        sha = col_str(st, 2);
        pages = col_int(st, 3);
        sheets = col_int(st, 4);
        derr = col_str(st, 5);
        agency = col_str(st, 6);
    }
    sqlite3_finalize(st);
    if (!found) {
        sh_log(SH_LOG_ERROR, "%s: no such dossier in the catalog; not "
               "exported", id);
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
    if (mkdir(stage, 0755) < 0) {
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
    view_init(&v, id, file_code, fname, &meta, agency, docs, ndocs, npdf,
              sheets, bytes, hex);
    view_xml(&v, c->now, &xml);
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

    if ((rc = view_rows(c, &v))) {
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

/* ------------------------------------------------------------------ */
/* the CSV tables over the whole export folder                          */

static int write_table(ctx *c, table *t, const char *name, sh_err *err)
{
    char path[8192];
    snprintf(path, sizeof path, "%s/%s", c->o->to, name);
    /* keep the rows of dossiers exported before (their folder still
       there, not exported again now) */
    uint8_t *data = NULL;
    size_t n = 0;
    if (access(path, F_OK) == 0 &&
        sh_read_file(path, 256u << 20, &data, &n, NULL) == SH_OK) {
        sh_csv old = {0};
        int fileCol = -1;
        for (int k = 0; k < t->ncols; k++)
            if (!strcmp(t->cols[k], "File"))
                fileCol = k;
        int ok = sh_csv_parse((const char *)data, n, ',', &old, NULL) == SH_OK
                 && old.n > 0 && old.rows[0].n == t->ncols;
        for (int k = 0; ok && k < t->ncols; k++)
            ok = !strcmp(old.rows[0].f[k], t->cols[k]);
        if (!ok)
            sh_log(SH_LOG_WARN, "%s: not as sohoa writes it; rebuilt from "
                   "this export only", path);
        for (int i = 1; ok && i < old.n; i++) {
            sh_csv_row *r = &old.rows[i];
            if (r->n != t->ncols)
                continue;
            const char *rel = r->f[fileCol];
            const char *slash = strchr(rel, '/');
            if (!slash)
                continue;
            char folder[300];
            snprintf(folder, sizeof folder, "%.*s", (int)(slash - rel), rel);
            char fp[8600];
            struct stat sb;
            snprintf(fp, sizeof fp, "%s/%s", c->o->to, folder);
            if (name_taken(c, folder) || stat(fp, &sb) < 0 ||
                !S_ISDIR(sb.st_mode))
                continue;
            if (table_add(t, r->f, -1 - (long)(old.n - i))) {
                sh_csv_release(&old);
                free(data);
                return sh_errf(err, SH_ENOMEM, "out of memory");
            }
            r->f = NULL;    /* now the table's */
            r->n = 0;
        }
        sh_csv_release(&old);
        free(data);
    }
    qsort(t->r, (size_t)t->n, sizeof *t->r, cmp_trow);
    sh_buf b = {0};
    sh_buf_adds(&b, "\xEF\xBB\xBF");
    for (int k = 0; k < t->ncols; k++) {
        if (k)
            sh_buf_adds(&b, ",");
        sh_csv_add_value(&b, t->cols[k], ',');
    }
    sh_buf_adds(&b, "\r\n");
    for (int i = 0; i < t->n; i++) {
        for (int k = 0; k < t->ncols; k++) {
            if (k)
                sh_buf_adds(&b, ",");
            sh_csv_add_value(&b, t->r[i].f[k], ',');
        }
        sh_buf_adds(&b, "\r\n");
    }
    if (!b.data)
        return sh_errf(err, SH_ENOMEM, "out of memory");
    int rc = sh_write_atomic(path, b.data, b.len, err);
    sh_buf_release(&b);
    return rc;
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
    int lfd = open(lockp, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
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
    c.dossiers.cols = dossier_cols;
    c.dossiers.ncols = (int)SH_ARRAY_LEN(dossier_cols);
    c.documents.cols = document_cols;
    c.documents.ncols = (int)SH_ARRAY_LEN(document_cols);
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(c.now, sizeof c.now, "%Y-%m-%dT%H:%M:%SZ", &tm);

    if (all) {
        sqlite3_stmt *q;
        list = NULL;
        n = 0;
        owned = 1;
        if (sqlite3_prepare_v2(db, "SELECT id FROM dossier WHERE state='done'"
                               " ORDER BY id", -1, &q, NULL)) {
            rc = sh_errf(err, SH_EINDEX, "catalog: %s", sqlite3_errmsg(db));
            goto out;
        }
        while (sqlite3_step(q) == SQLITE_ROW) {
            char **nl = realloc(list, (size_t)(n + 1) * sizeof *nl);
            if (!nl || !(nl[n] = col_str(q, 0))) {
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
        else if (r == OUT_SKIPPED)
            st->skipped++;
        else
            st->failed++;
    }
    if (!rc && st->exported) {
        rc = write_table(&c, &c.dossiers, "dossiers.csv", err);
        if (!rc)
            rc = write_table(&c, &c.documents, "documents.csv", err);
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
    table_release(&c.dossiers);
    table_release(&c.documents);
    close(lfd);
    return rc;
}

/* ------------------------------------------------------------------ */
/* the command                                                          */

static void export_usage(FILE *f)
{
    fputs("usage: sohoa export [--warehouse DIR] (DOSSIER... | --all) "
          "--to DIR [--force] [--quiet]\n"
          "  Writes DIR/<FileCode>/<FileCode>.pdf, .xml and one\n"
          "  <FileCode>.NNN.pdf per document, plus DIR/dossiers.csv and\n"
          "  DIR/documents.csv, for dossiers in state 'done'.\n"
          "  --force replaces an existing export of a dossier.\n"
          "Exit status: 0 all exported (or already there), 1 some dossier\n"
          "failed (the rest exported), 2 usage or configuration error.\n",
          f);
}

int sh_cmd_export(int argc, char **argv)
{
    const char *to = NULL;
    int all = 0, force = 0, c;
    sh_opts ov;
    static const struct option opts[] = {
        SH_LONGOPT_WAREHOUSE,
        {"to", required_argument, NULL, 't'},
        {"all", no_argument, NULL, 'a'},
        {"force", no_argument, NULL, 'f'},
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
    sh_export_opts o = {.warehouse = wh, .to = to, .force = force};
    sh_export_stats st;
    sh_err err = {0};
    rc = sh_export(db, &o, argv + optind, nids, all, &st, &err);
    sh_db_close(&db);
    if (rc) {
        fprintf(stderr, "sohoa export: %s\n", err.msg);
        return rc == SH_ENOSPC || rc == SH_EIO || rc == SH_EUSAGE
                   ? SH_EXIT_USAGE : SH_EXIT_PARTIAL;
    }
    printf("export to %s: %d exported, %d already there, %d failed\n", to,
           st.exported, st.skipped, st.failed);
    return st.failed ? SH_EXIT_PARTIAL : SH_EXIT_OK;
}
