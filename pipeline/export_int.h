/*
 * export_int.h — inside `sohoa export`: what export.c (the per-dossier
 * export) hands to export_write.c (the writers of its XML and of the CSV
 * tables).  Not a public header: only pipeline/export*.c include it.
 */
#ifndef SH_EXPORT_INT_H
#define SH_EXPORT_INT_H

#include "archive.h"

/* One văn bản of a dossier, as the catalog's document table has it (or
   the whole PDF as one, origin "derived"). */
typedef struct doc {
    int ordinal, first, last;
    char *type_name, *code_number, *code_notation, *issued_date, *place,
        *organ_name, *subject, *origin;
    double type_conf, code_conf, date_conf, organ_conf, subject_conf;
    char iso[11];         /* issued date as ISO, "" = unknown */
    unsigned manual;      /* bit i: field SH_REVIEW_FIELDS[i] was typed by a
                             clerk (source "manual") */
    char file[200];
} doc;

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
    const char *approved_by, *approved_at;  /* NULL = not approved */
} view;

/* A CSV table: its column names and rows (ncols fields each), sorted by
   first field (FileCode) then seq when written. */
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

/* Fill v from what export.c has read (pointers are kept, not copied; v
   lives no longer than they do): StartDate/EndDate from the documents
   when the manifest gave none; a manifest PageTotal or DocTotal that
   disagrees with the PDF or the catalog is logged as a warning. */
void sh_export_view_init(view *v, const char *id, const char *file_code,
                         const char *fname, const sh_meta *meta,
                         const char *agency, const doc *docs, int ndocs,
                         int npdf, int sheets, long long bytes,
                         const char *sha);
/* Append the dossier's XML (Phụ lục VI element names, source= and
   confidence= attributes; now: the export time, ISO UTC) to xml.  Out of
   memory shows as xml->data NULL. */
void sh_export_view_xml(const view *v, const char *now, sh_buf *xml);
/* Add the dossier's row to dossiers and its documents' rows to
   documents, numbered from *seq on.  Returns SH_OK or SH_ENOMEM. */
int sh_export_view_rows(const view *v, table *dossiers, table *documents,
                        long *seq);

/* Set up the two tables' columns (empty, no rows). */
void sh_export_tables_init(table *dossiers, table *documents);
/* Write table t as TO/name (UTF-8 BOM, CRLF, atomically), keeping the
   rows of an existing TO/name whose folder is still in TO and was not
   exported again now (done[0..ndone): the folders of this run); rows
   kept are moved into t.  An existing file not as sohoa writes it is
   rebuilt from t alone (with a warning).  Returns SH_OK, SH_ENOMEM,
   SH_EIO or SH_ENOSPC. */
int sh_export_table_write(table *t, const char *to, const char *name,
                          char *const *done, int ndone, sh_err *err);
void sh_export_table_release(table *t);

#endif
