/*
 * manifest.c — the batch manifest (manifest.csv): archival metadata of
 * each dossier after Nghị định 30/2020/NĐ-CP Phụ lục VI, read, checked
 * and stored in the catalog.  Fields, limits and sources: archive.h.
 *
 *   (sh_date_parse: base/date.c, shared with the review station)
 *   sh_manifest_load / sh_manifest_parse                read and check
 *   sh_manifest_find / sh_manifest_free / sh_manifest_apply
 *   sh_meta_store                                       dossier_meta upsert
 *   sh_document_store                                   document upsert
 *
 * Method.  The file is read whole and cut into records by the CSV reader
 * of base/csv.c (RFC 4180; ',' unless the header line holds more ';', as
 * Excel writes in a Vietnamese locale).  The header names the columns: the
 * Phụ lục VI English names without regard to case, their Vietnamese
 * names (compared without marks: "Thời hạn bảo quản", "thoi han bao
 * quan"), Dossier and Agency.  Each value is checked as UTF-8, trimmed,
 * put in NFC, checked for control characters and counted in characters
 * against its limit, then read by its type.  Every problem of a row is
 * collected (not only the first) into one message naming the file, the
 * row as a spreadsheet counts it (header = row 1) and the column; the
 * dossier of that row fails with it, the others go on.  A file that
 * cannot be read as CSV, or has no Dossier column, fails every dossier.
 */
#include "archive.h"
#include "../base/vntext.h"
#include "../index/db.h"
#include "../index/index.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unicase.h>
#include <unistr.h>

#define MANIFEST_MAX_BYTES (16u << 20)

/* ------------------------------------------------------------------ */
/* values                                                               */

/* ------------------------------------------------------------------ */
/* columns                                                              */

enum kind { K_ID, K_TEXT, K_LONG, K_ORGAN, K_YEAR, K_DATE, K_COUNT,
            K_MAINT, K_AGENCY };

enum { C_DOSSIER, C_FILECODE, C_ORGANID, C_FILECATALOG, C_FILENOTATION,
       C_TITLE, C_MAINTENANCE, C_RIGHTS, C_LANGUAGE, C_STARTDATE,
       C_ENDDATE, C_DOCTOTAL, C_PAGETOTAL, C_SHEETTOTAL, C_DESCRIPTION,
       C_AGENCY, C_N };

static const struct column {
    const char *name;
    int kind, max;
    size_t off;            /* char * or int field of sh_meta */
    const char *aliases;   /* Vietnamese names, folded, '|'-separated */
} columns[C_N] = {
    [C_DOSSIER] = {"Dossier", K_ID, SH_MAX_DOSSIER_ID,
                   offsetof(sh_meta, dossier), "thu muc|thu muc ho so"},
    [C_FILECODE] = {"FileCode", K_TEXT, SH_MAX_FILE_CODE,
                    offsetof(sh_meta, file_code), "ma ho so"},
    [C_ORGANID] = {"OrganId", K_ORGAN, SH_MAX_ORGAN_ID,
                   offsetof(sh_meta, organ_id),
                   "ma dinh danh|ma dinh danh co quan|"
                   "ma dinh danh cua co quan, to chuc|ma co quan"},
    [C_FILECATALOG] = {"FileCatalog", K_YEAR, 4,
                       offsetof(sh_meta, file_catalog),
                       "nam hinh thanh|nam hinh thanh ho so"},
    [C_FILENOTATION] = {"FileNotation", K_TEXT, SH_MAX_FILE_NOTATION,
                        offsetof(sh_meta, file_notation),
                        "so va ky hieu ho so|so, ky hieu ho so|"
                        "so ky hieu ho so|ky hieu ho so"},
    [C_TITLE] = {"Title", K_LONG, SH_MAX_TITLE, offsetof(sh_meta, title),
                 "tieu de|tieu de ho so"},
    [C_MAINTENANCE] = {"Maintenance", K_MAINT, SH_MAX_MAINTENANCE,
                       offsetof(sh_meta, maintenance), "thoi han bao quan"},
    [C_RIGHTS] = {"Rights", K_TEXT, SH_MAX_RIGHTS, offsetof(sh_meta, rights),
                  "che do su dung"},
    [C_LANGUAGE] = {"Language", K_TEXT, SH_MAX_LANGUAGE,
                    offsetof(sh_meta, language), "ngon ngu"},
    [C_STARTDATE] = {"StartDate", K_DATE, 10, offsetof(sh_meta, start_date),
                     "thoi gian bat dau|ngay bat dau"},
    [C_ENDDATE] = {"EndDate", K_DATE, 10, offsetof(sh_meta, end_date),
                   "thoi gian ket thuc|ngay ket thuc"},
    [C_DOCTOTAL] = {"DocTotal", K_COUNT, 4, offsetof(sh_meta, doc_total),
                    "tong so van ban|tong so van ban trong ho so"},
    [C_PAGETOTAL] = {"PageTotal", K_COUNT, 4, offsetof(sh_meta, page_total),
                     "tong so trang|tong so trang cua ho so|so trang"},
    [C_SHEETTOTAL] = {"SheetTotal", K_COUNT, 4,
                      offsetof(sh_meta, sheet_total), "so to|tong so to"},
    [C_DESCRIPTION] = {"Description", K_LONG, SH_MAX_DESCRIPTION,
                       offsetof(sh_meta, description), "ghi chu"},
    [C_AGENCY] = {"Agency", K_AGENCY, SH_MAX_AGENCY,
                  offsetof(sh_meta, agency), NULL},
};

static char **meta_str(sh_meta *m, int c)
{
    return (char **)((char *)m + columns[c].off);
}

static int *meta_int(sh_meta *m, int c)
{
    return (int *)((char *)m + columns[c].off);
}

static int is_int_kind(int k)
{
    return k == K_YEAR || k == K_COUNT;
}

/* Which column a header cell names: index, or -1. */
static int column_of(const char *h)
{
    for (int c = 0; c < C_N; c++)
        if (!strcasecmp(h, columns[c].name))
            return c;
    char *f = NULL;
    if (sh_text_fold(h, &f) || !f)
        return -1;
    int found = -1;
    for (int c = 0; c < C_N && found < 0; c++) {
        const char *a = columns[c].aliases;
        while (a && *a && found < 0) {
            const char *e = strchr(a, '|');
            size_t len = e ? (size_t)(e - a) : strlen(a);
            if (strlen(f) == len && !strncmp(f, a, len))
                found = c;
            a = e ? e + 1 : NULL;
        }
    }
    free(f);
    return found;
}

/* Trim ASCII white space and NO-BREAK SPACE (U+00A0) at both ends, in
   place. */
static void trim(char *s)
{
    size_t n = strlen(s), a = 0;
    for (;;) {
        if (a < n && (s[a] == ' ' || s[a] == '\t' || s[a] == '\n' ||
                      s[a] == '\r'))
            a++;
        else if (a + 1 < n && (unsigned char)s[a] == 0xC2 &&
                 (unsigned char)s[a + 1] == 0xA0)
            a += 2;
        else
            break;
    }
    while (n > a) {
        if (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' ||
            s[n - 1] == '\r')
            n--;
        else if (n - a >= 2 && (unsigned char)s[n - 2] == 0xC2 &&
                 (unsigned char)s[n - 1] == 0xA0)
            n -= 2;
        else
            break;
    }
    memmove(s, s + a, n - a);
    s[n - a] = 0;
}

/* Shown value: the first 40 characters, for messages. */
static void shown(const char *s, char *out, size_t n)
{
    size_t len = strlen(s), cut = 0;
    size_t chars = 0;
    while (cut < len && chars < 40) {
        ucs4_t uc;
        int k = u8_mbtouc(&uc, (const uint8_t *)s + cut, len - cut);
        cut += (size_t)(k > 0 ? k : 1);
        chars++;
    }
    snprintf(out, n, "%.*s%s", (int)cut, s, cut < len ? "…" : "");
}

/* ------------------------------------------------------------------ */
/* the manifest                                                         */

typedef struct rowerr {
    sh_buf b;
    int n;
} rowerr;

static void rowerr_add(rowerr *e, const char *colname, const char *hdr,
                       const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void rowerr_add(rowerr *e, const char *colname, const char *hdr,
                       const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (e->n++)
        sh_buf_adds(&e->b, "; ");
    if (hdr && strcmp(hdr, colname))
        sh_buf_printf(&e->b, "column %s ('%s'): %s", colname, hdr, msg);
    else if (colname)
        sh_buf_printf(&e->b, "column %s: %s", colname, msg);
    else
        sh_buf_adds(&e->b, msg);
}

static int warn(sh_manifest *m, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int warn(sh_manifest *m, const char *fmt, ...)
{
    char msg[1200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    char **nw = realloc(m->warnings, (size_t)(m->nwarnings + 1) * sizeof *nw);
    if (!nw)
        return SH_ENOMEM;
    m->warnings = nw;
    if (!(nw[m->nwarnings] = strdup(msg)))
        return SH_ENOMEM;
    m->nwarnings++;
    return SH_OK;
}

static int set_fatal(sh_manifest *m, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int set_fatal(sh_manifest *m, const char *fmt, ...)
{
    char msg[1600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    free(m->fatal);
    m->fatal = strdup(msg);
    return m->fatal ? SH_OK : SH_ENOMEM;
}

static void meta_release(sh_meta *r)
{
    for (int c = 0; c < C_N; c++)
        if (!is_int_kind(columns[c].kind))
            free(*meta_str(r, c));
}

/*
 * Check and read one cell into r.  raw: the cell as parsed (modified).
 */
static int read_cell(sh_manifest *m, sh_meta *r, rowerr *e, int c,
                     const char *hdr, char *raw, int rowno)
{
    const struct column *col = &columns[c];
    size_t len = strlen(raw);
    const uint8_t *bad = u8_check((const uint8_t *)raw, len);
    if (bad) {
        rowerr_add(e, col->name, hdr,
                   "not valid UTF-8 (byte 0x%02X at byte %zu of the value); "
                   "save the file as 'CSV UTF-8'",
                   *bad, (size_t)(bad - (const uint8_t *)raw) + 1);
        return SH_OK;
    }
    trim(raw);
    if (!*raw)
        return SH_OK;       /* absent */
    size_t nlen = 0;
    char *v;
    if (sh_text_nfc(raw, strlen(raw), &v, &nlen))
        return SH_ENOMEM;
    char sv[200];
    shown(v, sv, sizeof sv);
    /* control characters (C0, DEL, C1); line breaks and tabs only in
       long text */
    const uint8_t *s = (const uint8_t *)v;
    size_t chars = 0;
    for (size_t i = 0; i < nlen;) {
        ucs4_t uc;
        int k = u8_mbtouc(&uc, s + i, nlen - i);
        i += (size_t)(k > 0 ? k : 1);
        chars++;
        int ctl = uc < 0x20 || uc == 0x7F || (uc >= 0x80 && uc < 0xA0);
        if (ctl && !(col->kind == K_LONG && (uc == '\n' || uc == '\t'))) {
            rowerr_add(e, col->name, hdr,
                       uc == '\n' ? "a line break inside the value"
                                  : "a control character (U+%04X) in the value",
                       (unsigned)uc);
            free(v);
            return SH_OK;
        }
    }
    if (c == C_FILECODE && chars > (size_t)col->max) {
        /* OrganId (13) . FileCatalog (4) . FileNotation (20) can itself
           exceed the 30 of Phụ lục VI: a warning, as for a computed one */
        int wrc = warn(m, "%s, row %d, column FileCode: '%s' has %zu "
                       "characters, over the %d of Phụ lục VI", m->path,
                       rowno, sv, chars, col->max);
        if (wrc) {
            free(v);
            return wrc;
        }
    } else if (!is_int_kind(col->kind) && col->kind != K_DATE &&
               chars > (size_t)col->max) {
        rowerr_add(e, col->name, hdr,
                   "%zu characters, over the %d allowed (Nghị định 30/2020 "
                   "Phụ lục VI): '%s'",
                   chars, col->max, sv);
        free(v);
        return SH_OK;
    }
    char why[512];
    switch (col->kind) {
    case K_ID:
        if (strchr(v, '/') || v[0] == '.') {
            rowerr_add(e, col->name, hdr,
                       "'%s' cannot be a folder name (no '/', no leading "
                       "'.')", sv);
            free(v);
            return SH_OK;
        }
        break;
    case K_ORGAN:
        for (const char *q = v; *q; q++)
            if (*q == ' ' || *q == '\t') {
                rowerr_add(e, col->name, hdr,
                           "'%s' has a space; a mã định danh is written "
                           "without spaces (e.g. 000.00.00.H12)", sv);
                free(v);
                return SH_OK;
            }
        break;
    case K_AGENCY:
        if (strchr(v, ',')) {
            rowerr_add(e, col->name, hdr,
                       "'%s' has a comma; give one agency code", sv);
            free(v);
            return SH_OK;
        }
        break;
    case K_YEAR: {
        const char *q = v;
        int nd, y = sh_read_digits(&q, &nd);
        if (*q || nd != 4) {
            rowerr_add(e, col->name, hdr,
                       "'%s' is not a year of 4 digits (năm hình thành hồ "
                       "sơ, e.g. 2024)", sv);
        } else if (y < 1800 || y > sh_this_year() + 1) {
            rowerr_add(e, col->name, hdr,
                       "the year %d is out of range (1800 to %d)", y,
                       sh_this_year() + 1);
        } else {
            *meta_int(r, c) = y;
        }
        free(v);
        return SH_OK;
    }
    case K_COUNT: {
        const char *q = v;
        int nd, x = sh_read_digits(&q, &nd);
        if (*q || nd == 0)
            rowerr_add(e, col->name, hdr,
                       "'%s' is not a whole number of 0 or more", sv);
        else if (nd > 4 || x > SH_MAX_COUNT)
            rowerr_add(e, col->name, hdr,
                       "'%s' is over %d (Phụ lục VI gives this field 4 "
                       "digits)", sv, SH_MAX_COUNT);
        else
            *meta_int(r, c) = x;
        free(v);
        return SH_OK;
    }
    case K_DATE: {
        char iso[11];
        if (sh_date_parse(v, iso, why, sizeof why)) {
            rowerr_add(e, col->name, hdr, "%s", why);
            free(v);
            return SH_OK;
        }
        free(v);
        v = strdup(iso);
        if (!v)
            return SH_ENOMEM;
        break;
    }
    case K_MAINT: {
        /* "Vĩnh viễn" or "N năm", compared folded; stored in that form */
        char *f = NULL;
        if (sh_text_fold(v, &f) || !f) {
            free(v);
            return SH_ENOMEM;
        }
        const char *q = f;
        int nd, years = sh_read_digits(&q, &nd);
        char norm[32] = "";
        if (!strcmp(f, "vinh vien"))
            snprintf(norm, sizeof norm, "Vĩnh viễn");
        else if (nd > 0 && nd <= 2 && years >= 1 &&
                 (!strcmp(q, " nam") || !strcmp(q, "nam")))
            snprintf(norm, sizeof norm, "%d năm", years);
        if (norm[0]) {
            free(v);
            v = strdup(norm);
        } else if (!strcmp(f, "lau dai") || !strcmp(f, "tam thoi")) {
            int wrc = warn(m, "%s, row %d, column %s: '%s' is a retention "
                           "class of the rules before 2011, kept as written;"
                           " Nghị định 30/2020 expects 'Vĩnh viễn' or a "
                           "number of years such as '10 năm'",
                           m->path, rowno, col->name, sv);
            if (wrc) {
                free(f);
                free(v);
                return wrc;
            }
        } else {
            rowerr_add(e, col->name, hdr,
                       "'%s' is not a retention period: write 'Vĩnh viễn' "
                       "or a number of years such as '10 năm'", sv);
            free(v);
            v = NULL;
        }
        free(f);
        if (!v)
            return SH_OK;
        break;
    }
    default:
        break;
    }
    char **slot = meta_str(r, c);
    free(*slot);
    *slot = v;
    return SH_OK;
}

static int cmp_order(const void *a, const void *b, void *ctx)
{
    const sh_manifest *m = ctx;
    const sh_meta *x = &m->rows[*(const int *)a], *y = &m->rows[*(const int *)b];
    int c = strcmp(x->dossier, y->dossier);
    return c ? c : x->row - y->row;
}

/* Append "; msg" (or msg) to row i's errors. */
static int add_row_error(sh_manifest *m, int i, const char *msg)
{
    sh_buf b = {0};
    if (m->row_errors[i])
        sh_buf_printf(&b, "%s; %s", m->row_errors[i], msg);
    else
        sh_buf_printf(&b, "%s, row %d: %s", m->path, m->rows[i].row, msg);
    if (!b.data)
        return SH_ENOMEM;
    free(m->row_errors[i]);
    m->row_errors[i] = b.data;
    return SH_OK;
}

static int is_folder(const char *batch_dir, const char *name)
{
    char p[8192];
    struct stat st;
    snprintf(p, sizeof p, "%s/%s", batch_dir, name);
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int check_batch_folders(sh_manifest *m, const char *batch_dir)
{
    int rc = SH_OK;
    for (int i = 0; i < m->n && !rc; i++)
        if (!is_folder(batch_dir, m->rows[i].dossier))
            rc = warn(m, "%s, row %d, column Dossier: '%s' is not a folder "
                      "of the batch %s; the row is not used",
                      m->path, m->rows[i].row, m->rows[i].dossier, batch_dir);
    DIR *d = opendir(batch_dir);
    if (!d)
        return rc;
    struct dirent *de;
    while (!rc && (de = readdir(d))) {
        if (de->d_name[0] == '.' || !is_folder(batch_dir, de->d_name))
            continue;
        if (!sh_manifest_find(m, de->d_name, NULL))
            rc = warn(m, "%s: the dossier folder '%s' has no row; it is "
                      "processed without archival metadata",
                      m->path, de->d_name);
    }
    closedir(d);
    return rc;
}

int sh_manifest_parse(const char *path, const char *data, size_t n,
                      const char *batch_dir, sh_manifest **out, sh_err *err)
{
    *out = NULL;
    sh_manifest *m = calloc(1, sizeof *m);
    if (!m || !(m->path = strdup(path))) {
        free(m);
        return sh_errf(err, SH_ENOMEM, "out of memory");
    }
    int rc = SH_OK;
    sh_csv csv = {0};
    sh_err perr = {0};
    int map[1024];          /* file column → our column, -1 = unknown */
    const char *hdrs[1024];
    int ncols = 0;

    if (n >= 2 && ((uint8_t)data[0] == 0xFF || (uint8_t)data[0] == 0xFE) &&
        ((uint8_t)data[1] == 0xFE || (uint8_t)data[1] == 0xFF)) {
        rc = set_fatal(m, "%s: the file is UTF-16 (Excel 'Unicode Text'); "
                       "save it as 'CSV UTF-8 (Comma delimited)'", path);
        goto out;
    }
    int prc = sh_csv_parse(data, n, 0, &csv, &perr);
    if (prc == SH_ENOMEM) {
        rc = prc;
        goto out;
    }
    if (prc) {
        /* name the column by its header when the header was read */
        const char *cn = NULL;
        if (csv.err_row > 1 && csv.n > 0 && csv.err_col >= 1 &&
            csv.err_col <= csv.rows[0].n)
            cn = csv.rows[0].f[csv.err_col - 1];
        if (cn && *cn)
            rc = set_fatal(m, "%s: not readable as CSV: row %d, column %s: "
                           "%s", path, csv.err_row, cn,
                           strchr(perr.msg, ':') ? strchr(perr.msg, ':') + 2
                                                 : perr.msg);
        else
            rc = set_fatal(m, "%s: not readable as CSV: %s", path, perr.msg);
        goto out;
    }
    if (csv.n == 0) {
        rc = set_fatal(m, "%s: the file is empty; it needs a header row "
                       "naming the columns (Dossier, Title, …)", path);
        goto out;
    }
    sh_csv_row *h = &csv.rows[0];
    ncols = h->n;
    if (ncols > (int)SH_ARRAY_LEN(map)) {
        rc = set_fatal(m, "%s: row 1 has %d columns; at most %zu are read",
                       path, ncols, SH_ARRAY_LEN(map));
        goto out;
    }
    int have[C_N];
    for (int c = 0; c < C_N; c++)
        have[c] = 0;
    for (int k = 0; k < ncols; k++) {
        char *hv = h->f[k];
        if (u8_check((const uint8_t *)hv, strlen(hv))) {
            rc = set_fatal(m, "%s: row 1 (the header), column %d: not valid "
                           "UTF-8; save the file as 'CSV UTF-8'", path, k + 1);
            goto out;
        }
        trim(hv);
        hdrs[k] = hv;
        map[k] = *hv ? column_of(hv) : -1;
        if (map[k] >= 0) {
            if (have[map[k]]) {
                rc = set_fatal(m, "%s: row 1 (the header): column %s is "
                               "given twice (columns %d and %d)", path,
                               columns[map[k]].name, have[map[k]], k + 1);
                goto out;
            }
            have[map[k]] = k + 1;
        }
    }
    if (!have[C_DOSSIER]) {
        sh_buf cols = {0};
        for (int k = 0; k < ncols; k++)
            sh_buf_printf(&cols, "%s'%s'", k ? ", " : "", hdrs[k]);
        rc = set_fatal(m, "%s: no Dossier column in the header (row 1); "
                       "the Dossier column names each dossier's folder. "
                       "Columns found: %s (separator '%c')", path,
                       cols.data ? cols.data : "none", csv.sep);
        sh_buf_release(&cols);
        goto out;
    }
    /* unknown and unnamed columns: warn once each, when they hold data */
    for (int k = 0; k < ncols && !rc; k++) {
        if (map[k] >= 0)
            continue;
        int used = 0;
        for (int i = 1; i < csv.n && !used; i++)
            used = k < csv.rows[i].n && csv.rows[i].f[k][0];
        if (*hdrs[k])
            rc = warn(m, "%s: column '%s' (column %d) is not a field of "
                      "Nghị định 30/2020 Phụ lục VI nor Dossier/Agency; its "
                      "values are ignored", path, hdrs[k], k + 1);
        else if (used)
            rc = warn(m, "%s: column %d has no name in the header row; its "
                      "values are ignored", path, k + 1);
    }
    if (rc)
        goto out;

    m->rows = calloc((size_t)csv.n, sizeof *m->rows);
    m->row_errors = calloc((size_t)csv.n, sizeof *m->row_errors);
    if (!m->rows || !m->row_errors) {
        rc = SH_ENOMEM;
        goto out;
    }
    for (int i = 1; i < csv.n && !rc; i++) {
        sh_csv_row *cr = &csv.rows[i];
        int rowno = i + 1, blank = 1;
        for (int k = 0; k < cr->n && blank; k++) {
            for (char *q = cr->f[k]; *q && blank; q++)
                blank = *q == ' ' || *q == '\t';
        }
        if (blank)
            continue;       /* an empty spreadsheet row */
        sh_meta r;
        memset(&r, 0, sizeof r);
        r.file_catalog = r.doc_total = r.page_total = r.sheet_total = -1;
        r.row = rowno;
        rowerr e = {0};
        for (int k = 0; k < cr->n && !rc; k++) {
            if (k >= ncols) {
                if (cr->f[k][0])
                    rowerr_add(&e, NULL, NULL,
                               "column %d holds '%.40s' but the header has "
                               "only %d columns", k + 1, cr->f[k], ncols);
                continue;
            }
            if (map[k] >= 0)
                rc = read_cell(m, &r, &e, map[k], hdrs[k], cr->f[k], rowno);
        }
        if (rc) {
            meta_release(&r);
            sh_buf_release(&e.b);
            break;
        }
        if (!r.dossier) {
            /* no dossier to fail: the row can only be reported */
            if (e.n)
                rc = warn(m, "%s, row %d: column Dossier is empty, so no "
                          "dossier gets this row (it also has: %s)",
                          path, rowno, e.b.data);
            else
                rc = warn(m, "%s, row %d: column Dossier is empty; the row "
                          "is not used", path, rowno);
            meta_release(&r);
            sh_buf_release(&e.b);
            continue;
        }
        if (have[C_TITLE] == 0 || !r.title)
            rowerr_add(&e, "Title", NULL,
                       have[C_TITLE] ? "required (tiêu đề hồ sơ), empty"
                                     : "required (tiêu đề hồ sơ); the "
                                       "header has no Title column");
        if (r.start_date && r.end_date && strcmp(r.start_date, r.end_date) > 0)
            rowerr_add(&e, "EndDate", NULL,
                       "%s is before StartDate %s", r.end_date, r.start_date);
        if (r.organ_id && r.file_catalog >= 0 && r.file_notation) {
            sh_buf fc = {0};
            sh_buf_printf(&fc, "%s.%d.%s", r.organ_id, r.file_catalog,
                          r.file_notation);
            if (!fc.data) {
                rc = SH_ENOMEM;
            } else if (r.file_code && strcmp(r.file_code, fc.data)) {
                char sv[200];
                shown(r.file_code, sv, sizeof sv);
                rowerr_add(&e, "FileCode", NULL,
                           "'%s' does not match OrganId.FileCatalog."
                           "FileNotation = '%s'", sv, fc.data);
            } else if (!r.file_code) {
                size_t chars = u8_mbsnlen((const uint8_t *)fc.data, fc.len);
                if (chars > SH_MAX_FILE_CODE)
                    rc = warn(m, "%s, row %d: the FileCode built from "
                              "OrganId.FileCatalog.FileNotation, '%s', has "
                              "%zu characters, over the %d of Phụ lục VI",
                              path, rowno, fc.data, chars, SH_MAX_FILE_CODE);
                r.file_code = fc.data;
                r.file_code_computed = 1;
                fc.data = NULL;
            }
            sh_buf_release(&fc);
        }
        int idx = m->n++;
        m->rows[idx] = r;
        if (e.n) {
            sh_buf b = {0};
            sh_buf_printf(&b, "%s, row %d: %s", path, rowno, e.b.data);
            if (!b.data)
                rc = SH_ENOMEM;
            m->row_errors[idx] = b.data;
        }
        sh_buf_release(&e.b);
    }
    if (rc)
        goto out;
    /* duplicates: the same dossier twice, the same FileCode for two */
    m->order = malloc((size_t)(m->n ? m->n : 1) * sizeof *m->order);
    if (!m->order) {
        rc = SH_ENOMEM;
        goto out;
    }
    for (int i = 0; i < m->n; i++)
        m->order[i] = i;
    qsort_r(m->order, (size_t)m->n, sizeof *m->order, cmp_order, m);
    for (int a = 0; a + 1 < m->n && !rc; a++) {
        int i = m->order[a], j = m->order[a + 1];
        if (strcmp(m->rows[i].dossier, m->rows[j].dossier))
            continue;
        char msg[600];
        snprintf(msg, sizeof msg, "column Dossier: '%s' is also on row %d",
                 m->rows[i].dossier, m->rows[j].row);
        rc = add_row_error(m, i, msg);
        snprintf(msg, sizeof msg, "column Dossier: '%s' is also on row %d",
                 m->rows[j].dossier, m->rows[i].row);
        if (!rc)
            rc = add_row_error(m, j, msg);
    }
    for (int i = 0; i < m->n && !rc; i++)
        for (int j = i + 1; j < m->n && !rc; j++) {
            const sh_meta *x = &m->rows[i], *y = &m->rows[j];
            if (!x->file_code || !y->file_code ||
                strcmp(x->file_code, y->file_code) ||
                !strcmp(x->dossier, y->dossier))
                continue;
            char msg[600];
            snprintf(msg, sizeof msg, "column FileCode: '%s' is also the "
                     "FileCode of dossier '%s' on row %d", x->file_code,
                     y->dossier, y->row);
            rc = add_row_error(m, i, msg);
            snprintf(msg, sizeof msg, "column FileCode: '%s' is also the "
                     "FileCode of dossier '%s' on row %d", y->file_code,
                     x->dossier, x->row);
            if (!rc)
                rc = add_row_error(m, j, msg);
        }
    if (!rc && batch_dir)
        rc = check_batch_folders(m, batch_dir);
out:
    sh_csv_release(&csv);
    if (rc == SH_OK && m->fatal) {
        /* a refused file describes no row */
        for (int i = 0; i < m->n; i++) {
            meta_release(&m->rows[i]);
            free(m->row_errors[i]);
        }
        m->n = 0;
    }
    if (rc) {
        sh_manifest_free(&m);
        return sh_errf(err, rc, "%s: out of memory", path);
    }
    *out = m;
    return SH_OK;
}

int sh_manifest_load(const char *batch_dir, sh_manifest **out, sh_err *err)
{
    *out = NULL;
    DIR *d = opendir(batch_dir);
    if (!d)
        return sh_errf(err, SH_EIO, "%s: cannot open folder: %s", batch_dir,
                       strerror(errno));
    char *names[2] = {NULL, NULL};
    int found = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (strcasecmp(de->d_name, "manifest.csv"))
            continue;
        char p[8192];
        struct stat st;
        snprintf(p, sizeof p, "%s/%s", batch_dir, de->d_name);
        if (stat(p, &st) < 0 || !S_ISREG(st.st_mode))
            continue;
        if (found < 2)
            names[found] = strdup(de->d_name);
        found++;
    }
    closedir(d);
    if (!found)
        return SH_OK;
    int rc = SH_OK;
    sh_buf path = {0};
    sh_buf_printf(&path, "%s/%s", batch_dir, names[0] ? names[0] : "manifest.csv");
    if (!path.data || !names[0]) {
        rc = sh_errf(err, SH_ENOMEM, "out of memory");
        goto done;
    }
    if (found > 1) {
        sh_manifest *m = calloc(1, sizeof *m);
        if (!m || !(m->path = strdup(path.data)) ||
            set_fatal(m, "%s: the batch holds %d manifest files ('%s', "
                      "'%s'…) differing only in case; keep one", batch_dir,
                      found, names[0], names[1] ? names[1] : "")) {
            sh_manifest_free(&m);
            rc = sh_errf(err, SH_ENOMEM, "out of memory");
            goto done;
        }
        *out = m;
        goto done;
    }
    uint8_t *data = NULL;
    size_t n = 0;
    sh_err rerr = {0};
    int r = sh_read_file(path.data, MANIFEST_MAX_BYTES, &data, &n, &rerr);
    if (r == SH_ENOMEM) {
        rc = sh_errf(err, r, "%s", rerr.msg);
        goto done;
    }
    if (r) {
        sh_manifest *m = calloc(1, sizeof *m);
        if (!m || !(m->path = strdup(path.data)) ||
            set_fatal(m, "%s (manifest not read)", rerr.msg)) {
            sh_manifest_free(&m);
            rc = sh_errf(err, SH_ENOMEM, "out of memory");
            goto done;
        }
        *out = m;
        goto done;
    }
    rc = sh_manifest_parse(path.data, (const char *)data, n, batch_dir, out,
                           err);
    free(data);
done:
    free(names[0]);
    free(names[1]);
    sh_buf_release(&path);
    return rc;
}

const sh_meta *sh_manifest_find(const sh_manifest *m, const char *dossier,
                                const char **row_error)
{
    if (row_error)
        *row_error = NULL;
    if (!m || !dossier || !m->order)
        return NULL;
    int lo = 0, hi = m->n - 1, hit = -1;
    while (lo <= hi) {           /* the first row with this dossier */
        int mid = (lo + hi) / 2;
        int c = strcmp(m->rows[m->order[mid]].dossier, dossier);
        if (c >= 0) {
            if (!c)
                hit = mid;
            hi = mid - 1;
        } else {
            lo = mid + 1;
        }
    }
    if (hit < 0)
        return NULL;
    int i = m->order[hit];
    if (row_error)
        *row_error = m->row_errors[i];
    return &m->rows[i];
}

void sh_manifest_free(sh_manifest **pm)
{
    if (!pm || !*pm)
        return;
    sh_manifest *m = *pm;
    for (int i = 0; i < m->n; i++) {
        meta_release(&m->rows[i]);
        if (m->row_errors)
            free(m->row_errors[i]);
    }
    free(m->rows);
    free(m->row_errors);
    for (int i = 0; i < m->nwarnings; i++)
        free(m->warnings[i]);
    free(m->warnings);
    free(m->order);
    free(m->fatal);
    free(m->path);
    free(m);
    *pm = NULL;
}

/* ------------------------------------------------------------------ */
/* catalog                                                              */

int sh_meta_store(struct sqlite3 *db, const sh_meta *m,
                  const char *manifest_path, sh_err *err)
{
    static const char sql[] =
        "INSERT INTO dossier_meta(dossier, file_code, organ_id, file_catalog,"
        " file_notation, title, maintenance, rights, language, start_date,"
        " end_date, doc_total, page_total, sheet_total, description, agency,"
        " manifest, manifest_row, updated)"
        " VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,"
        " ?18, strftime('%Y-%m-%dT%H:%M:%SZ','now'))"
        " ON CONFLICT(dossier) DO UPDATE SET file_code=?2, organ_id=?3,"
        " file_catalog=?4, file_notation=?5, title=?6, maintenance=?7,"
        " rights=?8, language=?9, start_date=?10, end_date=?11,"
        " doc_total=?12, page_total=?13, sheet_total=?14, description=?15,"
        " agency=?16, manifest=?17, manifest_row=?18,"
        " updated=strftime('%Y-%m-%dT%H:%M:%SZ','now')";
    if (!m || !m->dossier)
        return sh_errf(err, SH_EUSAGE, "sh_meta_store: no dossier");
    sqlite3_stmt *st = NULL;
    int rc = sh_db_prep(db, sql, &st, err);
    if (rc)
        return rc;
    sh_db_bind_text(st, 1, m->dossier);
    sh_db_bind_text(st, 2, m->file_code);
    sh_db_bind_text(st, 3, m->organ_id);
    sh_db_bind_int_or_null(st, 4, m->file_catalog);
    sh_db_bind_text(st, 5, m->file_notation);
    sh_db_bind_text(st, 6, m->title);
    sh_db_bind_text(st, 7, m->maintenance);
    sh_db_bind_text(st, 8, m->rights);
    sh_db_bind_text(st, 9, m->language);
    sh_db_bind_text(st, 10, m->start_date);
    sh_db_bind_text(st, 11, m->end_date);
    sh_db_bind_int_or_null(st, 12, m->doc_total);
    sh_db_bind_int_or_null(st, 13, m->page_total);
    sh_db_bind_int_or_null(st, 14, m->sheet_total);
    sh_db_bind_text(st, 15, m->description);
    sh_db_bind_text(st, 16, m->agency);
    sh_db_bind_text(st, 17, manifest_path);
    sh_db_bind_int_or_null(st, 18, m->row > 0 ? m->row : -1);
    return sh_db_done(db, st, err);
}

int sh_manifest_apply(struct sqlite3 *db, const sh_manifest *m,
                      const char *dossier, char **why, sh_err *err)
{
    *why = NULL;
    if (!m)
        return SH_OK;
    if (m->fatal) {
        *why = strdup(m->fatal);
        return *why ? SH_OK : sh_errf(err, SH_ENOMEM, "out of memory");
    }
    const char *rerr = NULL;
    const sh_meta *row = sh_manifest_find(m, dossier, &rerr);
    if (!row)
        return SH_OK;
    if (rerr) {
        *why = strdup(rerr);
        return *why ? SH_OK : sh_errf(err, SH_ENOMEM, "out of memory");
    }
    return sh_meta_store(db, row, m->path, err);
}

int sh_document_store(struct sqlite3 *db, const sh_document *d, int *kept,
                      sh_err *err)
{
    if (kept)
        *kept = 0;
    if (!d || !d->dossier || d->ordinal < 1 || d->first_page < 1 ||
        d->last_page < d->first_page)
        return sh_errf(err, SH_EUSAGE,
                       "document %d of %s: pages %d..%d are not a range of "
                       "the dossier's pages", d ? d->ordinal : 0,
                       d && d->dossier ? d->dossier : "?",
                       d ? d->first_page : 0, d ? d->last_page : 0);
    const char *origin = d->origin ? d->origin : "ocr";
    /* A suggestion never replaces what a person or a manifest gave: the
       upsert's WHERE leaves such a row as it is. */
    static const char sql[] =
        "INSERT INTO document(dossier, ordinal, first_page, last_page,"
        " start_conf, type_name, type_conf, code_number, code_notation,"
        " code_conf, issued_date, place, date_conf, organ_name, organ_conf,"
        " subject, subject_conf, origin)"
        " VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,"
        " ?18)"
        " ON CONFLICT(dossier, ordinal) DO UPDATE SET first_page=?3,"
        " last_page=?4, start_conf=?5, type_name=?6, type_conf=?7,"
        " code_number=?8, code_notation=?9, code_conf=?10, issued_date=?11,"
        " place=?12, date_conf=?13, organ_name=?14, organ_conf=?15,"
        " subject=?16, subject_conf=?17, origin=?18"
        " WHERE ?18 <> 'ocr' OR document.origin = 'ocr'";
    sqlite3_stmt *st = NULL;
    int rc = sh_db_prep(db, sql, &st, err);
    if (rc)
        return rc;
    sh_db_bind_text(st, 1, d->dossier);
    sqlite3_bind_int(st, 2, d->ordinal);
    sqlite3_bind_int(st, 3, d->first_page);
    sqlite3_bind_int(st, 4, d->last_page);
    sh_db_bind_double_or_null(st, 5, d->start_conf);
    sh_db_bind_text(st, 6, d->type_name);
    sh_db_bind_double_or_null(st, 7, d->type_conf);
    sh_db_bind_text(st, 8, d->code_number);
    sh_db_bind_text(st, 9, d->code_notation);
    sh_db_bind_double_or_null(st, 10, d->code_conf);
    sh_db_bind_text(st, 11, d->issued_date);
    sh_db_bind_text(st, 12, d->place);
    sh_db_bind_double_or_null(st, 13, d->date_conf);
    sh_db_bind_text(st, 14, d->organ_name);
    sh_db_bind_double_or_null(st, 15, d->organ_conf);
    sh_db_bind_text(st, 16, d->subject);
    sh_db_bind_double_or_null(st, 17, d->subject_conf);
    sh_db_bind_text(st, 18, origin);
    if (!(rc = sh_db_done(db, st, err)) && kept)
        *kept = sqlite3_changes(db) == 0;   /* the upsert's WHERE said no */
    return rc;
}
