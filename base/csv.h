/*
 * csv.h — CSV (RFC 4180) as spreadsheets write it: a reader that keeps
 * row and column numbers for messages, and a value writer.  Used for the
 * batch manifest (pipeline/manifest.c) and the export tables
 * (pipeline/export*.c); knows nothing of either.
 */
#ifndef SH_CSV_H
#define SH_CSV_H

#include "common.h"

typedef struct sh_csv_row {
    char **f;          /* fields, NUL-terminated bytes as in the file
                          (quotes removed, "" → ", CRLF/CR inside quotes
                          → LF) */
    int n;
} sh_csv_row;

typedef struct sh_csv {
    sh_csv_row *rows;  /* every record, blank ones included, so rows[i]
                          is spreadsheet row i + 1 */
    int n;
    char sep;          /* the separator used */
    int err_row;       /* on SH_EINPUT: 1-based row and column of the  */
    int err_col;       /* fault (0 = not tied to one); else 0          */
} sh_csv;

/*
 * Parse CSV bytes.  A UTF-8 BOM at the start is skipped.
 *   sep   ',' or ';'; 0 = decide from the first record: ';' when it holds
 *         more ';' than ',' outside quotes (Excel in Vietnamese locales
 *         writes ';'), else ','
 *   out   filled (zeroed first); release with sh_csv_release, also after
 *         an error (it then holds the rows before the fault)
 * Records end at LF, CRLF or a lone CR; a final line break adds no record.
 * A '"' inside an unquoted value is taken literally.
 * Returns SH_OK; SH_EINPUT with err "row R, column C: …" for a quoted
 * value never closed, text after a closing quote, a NUL byte (with a
 * UTF-16 hint); SH_ENOMEM.
 */
int sh_csv_parse(const char *data, size_t n, char sep, sh_csv *out,
                 sh_err *err);
void sh_csv_release(sh_csv *c);

/* Append s to b as one CSV value (quoted when it holds sep, '"', CR, LF
   or leading/trailing spaces; '"' doubled).  Returns SH_OK or SH_ENOMEM. */
int sh_csv_add_value(sh_buf *b, const char *s, char sep);

#endif
