/*
 * docs.h — the documents (văn bản) of a dossier, as `sohoa run` found them
 * (table document, see pipeline/archive.h): which one holds a page, for
 * search results and the officers' page.
 */
#ifndef SH_DOCS_H
#define SH_DOCS_H

#include "../base/common.h"
#include <jansson.h>
#include <sqlite3.h>

typedef struct sh_docinfo {
    int ordinal;              /* DocOrdinal, 1-based; 0 = no document row  */
    int first_page, last_page;
    char *type_name;          /* each [optional] NULL; UTF-8, malloc'd     */
    char *code;               /* "05/QĐ-UBND" (number/notation as printed) */
    char *issued_date;        /* ISO, possibly "2024-03" or "2024"         */
    char *organ_name;
    char *subject;
    char *origin;             /* "ocr" (suggestions), "manifest", "clerk"  */
} sh_docinfo;

/* The document of dossier that holds PDF page `page` (1-based).  out is
   zeroed first; ordinal stays 0 when no row holds it (an older warehouse,
   or a dossier not yet assembled).  Returns SH_OK, SH_ENOMEM or SH_EINDEX
   (err says why). */
int sh_doc_at(sqlite3 *db, const char *dossier, int page, sh_docinfo *out,
              sh_err *err);
void sh_docinfo_release(sh_docinfo *d);

/* The same as JSON for `sohoa search --json` and /api/search:
   {"ordinal","first_page","last_page","type","code","issued","organ",
   "subject","origin"} (absent values null), or JSON null when no
   document holds the page or the lookup fails.  New reference. */
json_t *sh_doc_json(sqlite3 *db, const char *dossier, int page);

#endif
