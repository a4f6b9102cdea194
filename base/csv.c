/*
 * csv.c — CSV (RFC 4180) reader and value writer (see csv.h).
 *
 *   sh_csv_parse       bytes → rows of fields (row/column of a fault)
 *   sh_csv_release     free what sh_csv_parse made
 *   sh_csv_add_value   one value, quoted when it must be
 *
 * Method.  The bytes are read in one pass, one field per turn: a UTF-8
 * BOM at the start is skipped; the separator is ',' unless the first
 * record holds more ';' outside quotes (Excel in a Vietnamese locale).
 * Quoted values may hold the separator, "" (a quote) and line breaks
 * (CRLF or CR inside quotes become LF); LF, CRLF or a lone CR end a
 * record.  Every record is kept, blank ones too, so rows[i] is the
 * spreadsheet's row i + 1 and a fault is reported as "row R, column C".
 */
#include "csv.h"

#include <stdlib.h>
#include <string.h>

static int row_add(sh_csv_row *r, int *cap, char *f)
{
    if (r->n == *cap) {
        int nc = *cap ? 2 * *cap : 8;
        char **nf = realloc(r->f, (size_t)nc * sizeof *nf);
        if (!nf)
            return SH_ENOMEM;
        r->f = nf;
        *cap = nc;
    }
    r->f[r->n++] = f;
    return SH_OK;
}

static char detect_sep(const char *p, size_t n)
{
    int commas = 0, semis = 0, q = 0;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (c == '"')
            q = !q;
        else if (!q && (c == '\n' || c == '\r'))
            break;
        else if (!q && c == ',')
            commas++;
        else if (!q && c == ';')
            semis++;
    }
    return semis > commas ? ';' : ',';
}

#define NUL_BYTE "a NUL byte (is the file UTF-16? save it as 'CSV UTF-8')"

/* A fault at row, column of the file: kept in out (for the caller's own
   message) and worded in err.  Returns SH_EINPUT. */
static int fault(sh_csv *out, int row, int col, sh_err *err, const char *what)
{
    out->err_row = row;
    out->err_col = col;
    return sh_errf(err, SH_EINPUT, "row %d, column %d: %s", row, col, what);
}

int sh_csv_parse(const char *data, size_t n, char sep, sh_csv *out,
                 sh_err *err)
{
    memset(out, 0, sizeof *out);
    const char *p = data, *end = data + n;
    if (n >= 3 && !memcmp(p, "\xEF\xBB\xBF", 3))
        p += 3;
    if (!sep)
        sep = detect_sep(p, (size_t)(end - p));
    out->sep = sep;
    int rcap = 0, rc = SH_OK;
    sh_buf v = {0};
    while (p < end && !rc) {
        if (out->n == rcap) {
            int nc = rcap ? 2 * rcap : 64;
            sh_csv_row *nr = realloc(out->rows, (size_t)nc * sizeof *nr);
            if (!nr) {
                rc = sh_errf(err, SH_ENOMEM, "out of memory");
                break;
            }
            out->rows = nr;
            rcap = nc;
        }
        sh_csv_row *row = &out->rows[out->n++];
        memset(row, 0, sizeof *row);
        int fcap = 0, rowno = out->n;
        for (;;) {   /* one field per turn */
            v.len = 0;
            if (sh_buf_reserve(&v, 0)) {
                rc = sh_errf(err, SH_ENOMEM, "out of memory");
                break;
            }
            v.data[0] = 0;
            int col = row->n + 1;
            if (p < end && *p == '"') {
                p++;
                int closed = 0;
                while (p < end) {
                    if (*p == '"') {
                        if (p + 1 < end && p[1] == '"') {
                            rc = sh_buf_add(&v, "\"", 1);
                            p += 2;
                            continue;
                        }
                        p++;
                        closed = 1;
                        break;
                    }
                    if (*p == '\r') {   /* CRLF or CR inside quotes → LF */
                        rc = sh_buf_add(&v, "\n", 1);
                        p += (p + 1 < end && p[1] == '\n') ? 2 : 1;
                        continue;
                    }
                    if (!*p)
                        break;
                    rc = sh_buf_add(&v, p, 1);
                    p++;
                }
                if (rc) {
                    sh_errf(err, rc, "out of memory");
                    break;
                }
                if (p < end && !*p) {
                    rc = fault(out, rowno, col, err, NUL_BYTE);
                    break;
                }
                if (!closed) {
                    rc = fault(out, rowno, col, err,
                               "a value opened with a double quote (\") is "
                               "never closed");
                    break;
                }
                if (p < end && *p != sep && *p != '\n' && *p != '\r') {
                    rc = fault(out, rowno, col, err,
                               "text after the closing double quote of a "
                               "quoted value (a quote inside a value must be "
                               "doubled: \"\")");
                    break;
                }
            } else {
                const char *s = p;
                while (p < end && *p != sep && *p != '\n' && *p != '\r' && *p)
                    p++;
                if (p < end && !*p) {
                    rc = fault(out, rowno, col, err, NUL_BYTE);
                    break;
                }
                if (sh_buf_add(&v, s, (size_t)(p - s))) {
                    rc = sh_errf(err, SH_ENOMEM, "out of memory");
                    break;
                }
            }
            char *f = strdup(v.data);
            if (!f || row_add(row, &fcap, f)) {
                free(f);
                rc = sh_errf(err, SH_ENOMEM, "out of memory");
                break;
            }
            if (p < end && *p == sep) {
                p++;
                continue;      /* another field (maybe empty, at the end) */
            }
            if (p < end && *p == '\r')
                p += (p + 1 < end && p[1] == '\n') ? 2 : 1;
            else if (p < end && *p == '\n')
                p++;
            break;
        }
    }
    sh_buf_release(&v);
    return rc;
}

void sh_csv_release(sh_csv *c)
{
    if (!c)
        return;
    for (int i = 0; i < c->n; i++) {
        for (int k = 0; k < c->rows[i].n; k++)
            free(c->rows[i].f[k]);
        free(c->rows[i].f);
    }
    free(c->rows);
    memset(c, 0, sizeof *c);
}

int sh_csv_add_value(sh_buf *b, const char *s, char sep)
{
    if (!s)
        s = "";
    size_t len = strlen(s);
    int q = len && (s[0] == ' ' || s[len - 1] == ' ');
    for (const char *c = s; *c && !q; c++)
        q = *c == sep || *c == '"' || *c == '\n' || *c == '\r';
    if (!q)
        return sh_buf_add(b, s, len);
    int rc = sh_buf_add(b, "\"", 1);
    for (const char *c = s; *c && !rc; c++)
        rc = *c == '"' ? sh_buf_add(b, "\"\"", 2) : sh_buf_add(b, c, 1);
    return rc ? rc : sh_buf_add(b, "\"", 1);
}
