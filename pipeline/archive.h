/*
 * archive.h — Vietnamese archival metadata: the batch manifest
 * (manifest.csv), the catalog tables that hold it, and the export of done
 * dossiers for hand-over to an archive (sohoa export).
 *
 *   manifest.c   sh_manifest_load / _parse / _find / _free / _apply
 *                sh_meta_store                     upsert dossier_meta
 *                sh_document_store                 upsert one document row
 *   export.c     sh_export_filename                FileCode → file name
 *                sh_export                         the export itself
 *                sh_cmd_export                     sohoa export
 *
 * ---- Fields and their limits ---------------------------------------------
 * Nghị định 30/2020/NĐ-CP, Phụ lục VI ("Danh mục thông tin đầu vào"):
 * the fields of a hồ sơ and of each văn bản in it, with the English names
 * used as CSV column names, XML element names and catalog columns.  The
 * text of Phụ lục VI itself could not be reached with the project's search
 * tool (docs/pages corpora); the limits below are the published table as
 * we know it, cross-checked against
 *   - lawnet.vn, "Promulgation of Specification Data for Fonts/Works/
 *     Archival Collections in Vietnam" (Thông tư 02/2019/TT-BNV, same
 *     table shape: English name, type, length; agency codes String 13),
 *   - a public SQL schema of a Vietnamese records system built on these
 *     names (tables HoSoLuuTru/VanBan: DocCode 25, CodeNumber 11,
 *     CodeNotation 30, OrganName 200, Subject 500, FileNotation 20,
 *     PageAmount 4 digits, Description 500, OrganId 13).
 * Lengths are counted in characters (Unicode code points after NFC), not
 * bytes.  SheetTotal (số tờ) comes from Thông tư 05/2025/TT-BNV, whose
 * annex we could not read either: it is given the PageTotal limit.
 *
 *   hồ sơ        type         max   notes
 *   FileCode     text          30   mã hồ sơ = OrganId.FileCatalog.FileNotation
 *                                    (over 30: a warning only, since those
 *                                    three may themselves add up to 39)
 *   OrganId      text          13   mã định danh cơ quan (no spaces)
 *   FileCatalog  year           4   năm hình thành hồ sơ, 1800..next year
 *   FileNotation text          20   số và ký hiệu hồ sơ
 *   Title        text        1000   tiêu đề hồ sơ (line breaks allowed)
 *   Maintenance  text          30   "Vĩnh viễn" or "N năm" (N 1..99)
 *   Rights       text          30   chế độ sử dụng
 *   Language     text          50   ngôn ngữ
 *   StartDate    date          10   thời gian bắt đầu  } dd/mm/yyyy or
 *   EndDate      date          10   thời gian kết thúc } yyyy-mm-dd
 *   DocTotal     count          4   tổng số văn bản (0..9999)
 *   PageTotal    count          4   tổng số trang (0..9999)
 *   SheetTotal   count          4   số tờ (TT 05/2025)
 *   Description  text         500   ghi chú (line breaks allowed)
 *   -- sohoa's own columns --
 *   Dossier      text         255   the dossier folder name (required)
 *   Agency       text          64   sohoa agency code (no comma)
 *
 *   văn bản      type         max
 *   DocOrdinal   count          3   số thứ tự văn bản trong hồ sơ
 *   TypeName     text         100   tên loại văn bản
 *   CodeNumber   text          11   số của văn bản
 *   CodeNotation text          30   ký hiệu của văn bản
 *   IssuedDate   date          10   ngày, tháng, năm văn bản
 *   OrganName    text         200   cơ quan, tổ chức ban hành
 *   Subject      text         500   trích yếu nội dung
 *   Language     text          50
 *   PageAmount   count          4   số trang của văn bản
 *   Description  text         500
 *
 * ---- Catalog tables (created by sh_db_open, index/catalog.c) -------------
 *   dossier_meta(dossier TEXT PK, file_code, organ_id, file_catalog INT,
 *        file_notation, title, maintenance, rights, language,
 *        start_date, end_date (ISO yyyy-mm-dd), doc_total INT,
 *        page_total INT, sheet_total INT, description, agency,
 *        manifest (path of the manifest.csv), manifest_row INT (its
 *        spreadsheet row, header = 1), updated (ISO UTC))
 *        -- one row per dossier that a manifest described; written by
 *        sh_meta_store; NULL = the manifest did not give it.  file_code
 *        is computed from OrganId.FileCatalog.FileNotation when the
 *        manifest gave those and no FileCode.  Kept when a later run has
 *        no manifest (metadata is not erased by omission).
 *   document(dossier, ordinal INT, first_page INT, last_page INT,
 *        start_conf REAL, type_name, type_conf REAL, code_number,
 *        code_notation, code_conf REAL, issued_date (ISO), place,
 *        date_conf REAL, organ_name, organ_conf REAL, subject,
 *        subject_conf REAL, origin TEXT 'ocr'|'manifest'|'manual',
 *        PK(dossier, ordinal))
 *        -- the văn bản of a dossier: first_page..last_page are 1-based
 *        pages of the dossier PDF; *_conf in 0..1 (NULL = unknown) for
 *        origin 'ocr' (suggestions read from the pages).  A row whose
 *        origin is not 'ocr' is never overwritten by a suggestion (see
 *        sh_document_store).  Indexes on type_name, issued_date,
 *        code_notation.
 */
#ifndef SH_ARCHIVE_H
#define SH_ARCHIVE_H

#include "../base/common.h"
#include "../base/date.h"
#include "../base/csv.h"   /* sh_csv_*: the manifest's reader */
#include <stdio.h>

struct sqlite3;

/* Limits in characters (see the table above). */
enum {
    SH_MAX_FILE_CODE = 30,
    SH_MAX_ORGAN_ID = 13,
    SH_MAX_FILE_NOTATION = 20,
    SH_MAX_TITLE = 1000,
    SH_MAX_MAINTENANCE = 30,
    SH_MAX_RIGHTS = 30,
    SH_MAX_LANGUAGE = 50,
    SH_MAX_DESCRIPTION = 500,
    SH_MAX_COUNT = 9999,          /* DocTotal, PageTotal, SheetTotal */
    SH_MAX_DOSSIER_ID = 255,
    SH_MAX_AGENCY = 64,
    SH_MAX_TYPE_NAME = 100,
    SH_MAX_CODE_NUMBER = 11,
    SH_MAX_CODE_NOTATION = 30,
    SH_MAX_ORGAN_NAME = 200,
    SH_MAX_SUBJECT = 500
};

/* ==== dates ============================================================== */

/* sh_date_parse: base/date.h (dates as clerks write them). */

/* ==== manifest ============================================================ */

/* One manifest row.  Strings are NFC UTF-8, trimmed, NULL = absent;
   numbers -1 = absent. */
typedef struct sh_meta {
    char *dossier, *file_code, *organ_id, *file_notation, *title,
        *maintenance, *rights, *language, *start_date, *end_date,
        *description, *agency;
    int file_catalog, doc_total, page_total, sheet_total;
    int file_code_computed; /* 1: file_code built from OrganId.FileCatalog.
                               FileNotation (the row gave no FileCode)   */
    int row;                /* spreadsheet row, header = 1               */
} sh_meta;

typedef struct sh_manifest {
    char *path;          /* BATCH/manifest.csv as found                   */
    sh_meta *rows;       /* rows that name a dossier, in file order       */
    int n;
    char **row_errors;   /* [n]: NULL = row ok, else "PATH, row R:
                            column X: …; column Y: …"                    */
    char *fatal;         /* NULL, or why the whole file is refused: then
                            n = 0 and every dossier of the batch fails    */
    char **warnings;     /* unknown columns, rows naming no folder of the
                            batch, folders with no row, legacy values    */
    int nwarnings;
    int *order;          /* internal: rows sorted by dossier              */
} sh_manifest;

/*
 * Load BATCH_DIR/manifest.csv (name matched without regard to case).
 *   *out  NULL when the batch has no manifest (SH_OK); else a manifest,
 *         possibly with fatal set (an unreadable or unparsable file is
 *         not an error of this call: it fails the batch's dossiers)
 * Returns SH_OK, SH_ENOMEM, or SH_EIO when BATCH_DIR cannot be listed.
 * Notes: the file is read whole (at most 16 MiB, else fatal).  Errors
 * name the manifest path, the spreadsheet row (header = row 1) and the
 * column.  A folder of the batch with no row, and a row whose Dossier is
 * no folder of the batch, are warnings.
 */
int sh_manifest_load(const char *batch_dir, sh_manifest **out, sh_err *err);
/* Same from bytes in memory; path is used in messages; batch_dir
   [optional] NULL = no check of rows against the batch's folders. */
int sh_manifest_parse(const char *path, const char *data, size_t n,
                      const char *batch_dir, sh_manifest **out, sh_err *err);
/* The row for dossier, or NULL.  row_error [optional]: set to that row's
   errors or NULL.  m may be NULL. */
const sh_meta *sh_manifest_find(const sh_manifest *m, const char *dossier,
                                const char **row_error);
void sh_manifest_free(sh_manifest **m);

/* Upsert m into dossier_meta (manifest_path and m->row recorded; updated
   = now).  Returns SH_OK, SH_ENOSPC or SH_EINDEX. */
int sh_meta_store(struct sqlite3 *db, const sh_meta *m,
                  const char *manifest_path, sh_err *err);

/*
 * For `sohoa run`, once per dossier of a batch: what the batch's manifest
 * says about it.  m [optional] NULL = no manifest.
 *   *why  NULL: go on (the dossier's row, if any, is stored with
 *         sh_meta_store);  else a malloc'd reason the dossier must fail
 *         (the file's fatal error, or the row's errors), nothing stored
 * Returns SH_OK, or the sh_meta_store error (*why NULL).
 */
int sh_manifest_apply(struct sqlite3 *db, const sh_manifest *m,
                      const char *dossier, char **why, sh_err *err);

/* ==== document rows ======================================================= */

typedef struct sh_document {
    const char *dossier;
    int ordinal;                 /* 1-based, DocOrdinal                    */
    int first_page, last_page;   /* 1-based pages of the dossier PDF      */
    double start_conf;           /* confidences 0..1; < 0 = unknown (NULL) */
    const char *type_name;   double type_conf;
    const char *code_number, *code_notation; double code_conf;
    const char *issued_date;     /* ISO yyyy-mm-dd                        */
    const char *place;       double date_conf;
    const char *organ_name;  double organ_conf;
    const char *subject;     double subject_conf;
    const char *origin;          /* NULL = "ocr"                          */
} sh_document;

/* Upsert one document row.  An "ocr" row never replaces a row of another
   origin (*kept = 1 then; kept [optional]).  Returns SH_OK, SH_EUSAGE
   (ordinal < 1, pages out of order), SH_ENOSPC or SH_EINDEX. */
int sh_document_store(struct sqlite3 *db, const sh_document *d, int *kept,
                      sh_err *err);

/* ==== export ============================================================== */

/*
 * The file name used for a FileCode (also for the dossier's folder):
 * '/', '\\', control characters and the characters Windows refuses
 * (<>:"|?*) become '_'; leading dots and spaces, trailing dots and spaces
 * become '_' too (no hidden files, no "." or ".."); a Windows device name
 * (CON, NUL, COM1…) gets a '_' in front; cut to 120 bytes at a character
 * boundary; invalid UTF-8 bytes become '_'; empty → "_".  Letters with
 * Vietnamese marks are kept.  out: at least 128 bytes.
 */
void sh_export_filename(const char *file_code, char *out, size_t outlen);

typedef struct sh_export_opts {
    const char *warehouse;  /* [optional] where a moved PDF is looked for
                               (WAREHOUSE/pdf/NAME)                       */
    const char *to;         /* the export folder; created if needed       */
    int force;              /* 1: replace an existing export of a dossier */
    int approved_only;      /* 1: only dossiers a clerk approved (others
                               are skipped, and said so)                  */
} sh_export_opts;

typedef struct sh_export_stats {
    int exported, skipped, failed;
    int unapproved;         /* left out by approved_only */
} sh_export_stats;

/*
 * Export the dossiers ids[0..nids) — or, with all = 1, every dossier in
 * state 'done' — to o->to:
 *   TO/<F>/<F>.pdf        the dossier PDF (SHA-256 checked against the
 *                         catalog; a changed file is refused)
 *   TO/<F>/<F>.xml        the hồ sơ fields and the văn bản list
 *   TO/<F>/<F>.NNN.pdf    each văn bản's pages (NNN = DocOrdinal, 3
 *                         digits), split with libqpdf from the dossier PDF
 *   TO/dossiers.csv, TO/documents.csv   one row per dossier / document of
 *                         every dossier exported to TO so far (UTF-8 BOM)
 * where F = sh_export_filename(FileCode).  Each dossier folder is built
 * under a temporary name and renamed into place (an existing one is
 * swapped atomically with --force, else the dossier is skipped).
 * Per-dossier outcomes are logged (sh_log) and counted in st.
 * Returns SH_OK when the run itself worked (some dossiers may have
 * failed: st->failed); SH_EUSAGE (no TO, TO locked by another export),
 * SH_EIO / SH_ENOSPC (TO cannot be created, the CSVs cannot be written),
 * SH_EINDEX (catalog).
 */
int sh_export(struct sqlite3 *db, const sh_export_opts *o, char **ids,
              int nids, int all, sh_export_stats *st, sh_err *err);

/* sohoa export [--warehouse DIR] (DOSSIER... | --all) --to DIR [--force]
   [--quiet]: exit 0 all exported (or already there), 1 some dossier
   failed, 2 usage. */
int sh_cmd_export(int argc, char **argv);

#endif
