/*
 * test_archive.c — the batch manifest (CSV edge cases, checks, messages
 * naming file/row/column), the catalog rows it feeds (dossier_meta upsert,
 * document rows that suggestions never overwrite) and the export (files,
 * XML, CSV tables, per-document PDFs checked with libqpdf, refusals,
 * --force).
 */
#include "test.h"
#include "../pipeline/archive.h"
#include "../pipeline/pipeline.h"
#include "../index/index.h"
#include "../ocr/pdf.h"

#include <dirent.h>
#include <qpdf/qpdf-c.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ------------------------------------------------------------------ */
/* CSV                                                                  */

static int test_csv_parse(void)
{
    sh_csv c;
    sh_err err = {0};
    /* BOM, quotes with "" and an embedded CRLF, CRLF records, empty last
       field */
    const char *in = "\xEF\xBB\xBF" "a,b,c\r\n"
                     "\"x, \"\"y\"\"\",\"line1\r\nline2\",\r\n"
                     "1,2,3";
    CHECKF(sh_csv_parse(in, strlen(in), 0, &c, &err) == SH_OK, "%s", err.msg);
    CHECK(c.sep == ',' && c.n == 3);
    CHECK(c.rows[0].n == 3 && !strcmp(c.rows[0].f[0], "a"));
    CHECK(c.rows[1].n == 3);
    CHECK(!strcmp(c.rows[1].f[0], "x, \"y\""));
    CHECK(!strcmp(c.rows[1].f[1], "line1\nline2"));
    CHECK(!strcmp(c.rows[1].f[2], ""));
    CHECK(!strcmp(c.rows[2].f[2], "3"));
    sh_csv_release(&c);

    /* ';' decided from the header; lone CR line ends; final LF adds no
       row */
    in = "Dossier;Title;x,y\r1;\"a;b\";z\n";
    CHECK(sh_csv_parse(in, strlen(in), 0, &c, &err) == SH_OK);
    CHECK(c.sep == ';' && c.n == 2 && c.rows[0].n == 3);
    CHECK(!strcmp(c.rows[0].f[2], "x,y"));
    CHECK(!strcmp(c.rows[1].f[1], "a;b"));
    sh_csv_release(&c);

    /* a quote inside an unquoted value is literal */
    in = "a,b\n5\" floppy,2\n";
    CHECK(sh_csv_parse(in, strlen(in), 0, &c, &err) == SH_OK);
    CHECK(!strcmp(c.rows[1].f[0], "5\" floppy"));
    sh_csv_release(&c);

    /* faults name row and column */
    static const struct { const char *in; int row, col; const char *what; }
    bad[] = {
        {"a,b\n1,\"open\n2,3\n", 2, 2, "never closed"},
        {"a,b\n\"x\"y,2\n", 2, 1, "after the closing"},
        {"a,b\n1,2\n3,\"q\"  \n", 3, 2, "after the closing"},
    };
    for (size_t i = 0; i < SH_ARRAY_LEN(bad); i++) {
        CHECK(sh_csv_parse(bad[i].in, strlen(bad[i].in), 0, &c, &err) ==
              SH_EINPUT);
        CHECKF(c.err_row == bad[i].row && c.err_col == bad[i].col,
               "case %zu: row %d col %d", i, c.err_row, c.err_col);
        CHECKF(strstr(err.msg, bad[i].what) != NULL, "%s", err.msg);
        sh_csv_release(&c);
    }
    const char nul[] = "a,b\n1,\0x\n";
    CHECK(sh_csv_parse(nul, sizeof nul - 1, 0, &c, &err) == SH_EINPUT);
    CHECK(strstr(err.msg, "UTF-16") != NULL);
    sh_csv_release(&c);

    /* writing: quoted only when needed */
    sh_buf b = {0};
    sh_csv_add_value(&b, "plain", ',');
    sh_buf_adds(&b, "|");
    sh_csv_add_value(&b, "a,\"b\"\nc", ',');
    sh_buf_adds(&b, "|");
    sh_csv_add_value(&b, " lead", ',');
    CHECKF(!strcmp(b.data, "plain|\"a,\"\"b\"\"\nc\"|\" lead\""), "%s",
           b.data);
    sh_buf_release(&b);
    return 0;
}

static int test_date_parse(void)
{
    static const struct { const char *in, *iso, *why; } cases[] = {
        {"05/03/2024", "2024-03-05", NULL},
        {"5/3/2024", "2024-03-05", NULL},
        {"05-03-2024", "2024-03-05", NULL},
        {"05.03.2024", "2024-03-05", NULL},
        {"2024-03-05", "2024-03-05", NULL},
        {"29/02/2024", "2024-02-29", NULL},
        {"29/02/2023", NULL, "not a real date"},
        {"31/04/2024", NULL, "not a real date"},
        {"03/25/2024", NULL, "US month/day"},
        {"2024/03/05", NULL, "is not a date"},
        {"05/03/24", NULL, "is not a date"},
        {"ngày 5", NULL, "is not a date"},
        {"", NULL, "is not a date"},
        {"01/01/1700", NULL, "out of range"},
        {"01/01/3024", NULL, "out of range"},
        {"2024-3-5x", NULL, "is not a date"},
    };
    for (size_t i = 0; i < SH_ARRAY_LEN(cases); i++) {
        char iso[11], why[256];
        int r = sh_date_parse(cases[i].in, iso, why, sizeof why);
        if (cases[i].iso) {
            CHECKF(r == 0 && !strcmp(iso, cases[i].iso), "%s → %s (%s)",
                   cases[i].in, iso, why);
        } else {
            CHECKF(r < 0 && strstr(why, cases[i].why), "%s: %s", cases[i].in,
                   why);
            CHECK(!iso[0]);
        }
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* manifest                                                             */

static int parse(const char *text, sh_manifest **m)
{
    sh_err err = {0};
    int rc = sh_manifest_parse("in/manifest.csv", text, strlen(text), NULL, m,
                               &err);
    if (rc)
        fprintf(stderr, "  parse: %s\n", err.msg);
    return rc;
}

static int test_manifest_good(void)
{
    sh_manifest *m = NULL;
    /* Excel, Vietnamese locale: BOM, ';', CRLF, a quoted value with a
       line break, Vietnamese column names for two columns, spaces and a
       no-break space around values, decomposed (NFD) Vietnamese */
    const char *text =
        "\xEF\xBB\xBF" "Dossier;OrganId;FileCatalog;FileNotation;Title;"
        "Thời hạn bảo quản;Rights;StartDate;EndDate;DocTotal;PageTotal;"
        "SheetTotal;Ghi chú;Agency\r\n"
        "HS-1;000.00.00.H12;2024;01.TCCB; Hồ sơ \"đất đai\" ;vinh vien;"
        "Công khai;05/03/2024;2024-12-31;3;12;6;\"dòng 1\r\ndòng 2\";STNMT\r\n"
        ";;;;;;;;;;;;;\r\n"
        "HS-2;;;;Tie\xcc\x82\xcc\x81u \xc2\xa0;10 NĂM;;;;;;;;\r\n";
    CHECK(parse(text, &m) == SH_OK && m && !m->fatal);
    CHECKF(m->n == 2, "%d rows", m->n);
    const char *re = "x";
    const sh_meta *a = sh_manifest_find(m, "HS-1", &re);
    CHECK(a && re == NULL);
    CHECK(a->row == 2);
    CHECK(!strcmp(a->organ_id, "000.00.00.H12") && a->file_catalog == 2024);
    CHECK(!strcmp(a->file_code, "000.00.00.H12.2024.01.TCCB"));
    CHECK(a->file_code_computed == 1);
    CHECKF(!strcmp(a->title, "Hồ sơ \"đất đai\""), "%s", a->title);
    CHECK(!strcmp(a->maintenance, "Vĩnh viễn"));
    CHECK(!strcmp(a->start_date, "2024-03-05"));
    CHECK(!strcmp(a->end_date, "2024-12-31"));
    CHECK(a->doc_total == 3 && a->page_total == 12 && a->sheet_total == 6);
    CHECK(!strcmp(a->description, "dòng 1\ndòng 2"));
    CHECK(!strcmp(a->agency, "STNMT"));
    const sh_meta *b = sh_manifest_find(m, "HS-2", &re);
    CHECK(b && re == NULL && b->row == 4);   /* the blank row 3 counts */
    CHECKF(!strcmp(b->title, "Tiếu"), "%s", b->title);   /* NFC, trimmed */
    CHECK(!strcmp(b->maintenance, "10 năm"));
    CHECK(b->file_code == NULL && b->file_catalog == -1 && b->doc_total == -1);
    CHECK(sh_manifest_find(m, "HS-3", &re) == NULL && re == NULL);
    CHECK(m->nwarnings == 0);
    sh_manifest_free(&m);
    CHECK(m == NULL);
    sh_manifest_free(&m);
    return 0;
}

/* The row error of dossier d must contain every string of want. */
static int row_has(const sh_manifest *m, const char *d, const char *const *want)
{
    const char *re = NULL;
    const sh_meta *r = sh_manifest_find(m, d, &re);
    if (!r || !re) {
        fprintf(stderr, "  %s: no row or no error\n", d);
        return 0;
    }
    for (; *want; want++)
        if (!strstr(re, *want)) {
            fprintf(stderr, "  %s: '%s' not in: %s\n", d, *want, re);
            return 0;
        }
    return 1;
}

static int test_manifest_errors(void)
{
    sh_manifest *m = NULL;
    sh_buf t = {0};
    sh_buf_adds(&t, "Dossier,FileCode,OrganId,FileCatalog,FileNotation,"
                    "Title,StartDate,EndDate,DocTotal,Maintenance,Ghi chú nội bộ\n");
    sh_buf_adds(&t, "OK,,,,,Fine,,,,,ignored\n");                      /* 2 */
    sh_buf_adds(&t, "BADDATE,,,,,T,31/02/2024,,,,\n");                /* 3 */
    sh_buf_adds(&t, "ORDER,,,,,T,05/03/2024,01/01/2024,,,\n");        /* 4 */
    sh_buf_adds(&t, "MISMATCH,X.2024.1,000.00.00.H12,2024,1,T,,,,,\n");/* 5 */
    sh_buf_adds(&t, "COUNTS,,,24,,T,,,-1,,\n");                       /* 6 */
    sh_buf_adds(&t, "UTF8,,,,,bad \xC3\x28 byte,,,,,\n");             /* 7 */
    sh_buf_adds(&t, "LONG,,,,,");                                     /* 8 */
    for (int i = 0; i < 1001; i++)
        sh_buf_adds(&t, "ệ");        /* 1001 characters, 3003 bytes */
    sh_buf_adds(&t, ",,,,,\n");
    sh_buf_adds(&t, "DUP,,,,,T,,,,,\n");                              /* 9 */
    sh_buf_adds(&t, "DUP,,,,,T,,,,,\n");                              /* 10 */
    sh_buf_adds(&t, "NOTITLE,,,,,,,,,,\n");                           /* 11 */
    sh_buf_adds(&t, "MAINT,,,,,T,,,10000,lâu lắm,\n");                /* 12 */
    sh_buf_adds(&t, ",,,,,orphan,,,,,\n");                            /* 13 */
    sh_buf_adds(&t, "EXTRA,,,,,T,,,,,,surplus\n");                    /* 14 */
    sh_buf_adds(&t, "OLD,,,,,T,,,,Lâu dài,\n");                       /* 15 */
    sh_buf_adds(&t, "CTRL,,,,,T,,,,,\n");                             /* 16 */
    sh_buf_adds(&t, "CODE1,A.2024.1,A,2024,1,T,,,,,\n");              /* 17 */
    sh_buf_adds(&t, "CODE2,A.2024.1,,,,T,,,,,\n");                    /* 18 */
    sh_buf_adds(&t, "TAB,,,,\"a\tb\",T,,,,,\n");                      /* 19 */
    sh_buf_adds(&t, "LONGCODE,000.00.00.H12.2024.0123456789AB,000.00.00.H12,"
                    "2024,0123456789AB,T,,,,,\n");                   /* 20 */
    CHECK(parse(t.data, &m) == SH_OK && m && !m->fatal);
    sh_buf_release(&t);

    const char *re = "x";
    CHECK(sh_manifest_find(m, "OK", &re) && re == NULL);
    CHECK(row_has(m, "BADDATE", (const char *[]){"in/manifest.csv, row 3",
          "column StartDate", "not a real date", NULL}));
    CHECK(row_has(m, "ORDER", (const char *[]){"row 4", "column EndDate",
          "2024-01-01 is before StartDate 2024-03-05", NULL}));
    CHECK(row_has(m, "MISMATCH", (const char *[]){"row 5", "column FileCode",
          "'X.2024.1' does not match", "000.00.00.H12.2024.1", NULL}));
    CHECK(row_has(m, "COUNTS", (const char *[]){"row 6",
          "column FileCatalog: '24' is not a year of 4 digits",
          "column DocTotal: '-1' is not a whole number", NULL}));
    CHECK(row_has(m, "UTF8", (const char *[]){"row 7", "column Title",
          "not valid UTF-8", NULL}));
    CHECK(row_has(m, "LONG", (const char *[]){"row 8", "column Title",
          "1001 characters, over the 1000", NULL}));
    CHECK(row_has(m, "DUP", (const char *[]){"column Dossier", NULL}));
    {   /* both rows of the duplicate carry the other's row number */
        int seen9 = 0, seen10 = 0;
        for (int i = 0; i < m->n; i++)
            if (!strcmp(m->rows[i].dossier, "DUP")) {
                CHECK(m->row_errors[i] != NULL);
                if (m->rows[i].row == 9)
                    seen9 = strstr(m->row_errors[i], "also on row 10") != NULL;
                if (m->rows[i].row == 10)
                    seen10 = strstr(m->row_errors[i], "also on row 9") != NULL;
            }
        CHECK(seen9 && seen10);
    }
    CHECK(row_has(m, "NOTITLE", (const char *[]){"row 11", "column Title",
          "required", NULL}));
    CHECK(row_has(m, "MAINT", (const char *[]){"row 12",
          "column DocTotal: '10000' is over 9999",
          "column Maintenance: 'lâu lắm' is not a retention period", NULL}));
    CHECK(row_has(m, "EXTRA", (const char *[]){"row 14", "column 12",
          "only 11 columns", NULL}));
    CHECK(sh_manifest_find(m, "OLD", &re) && re == NULL);   /* warning only */
    CHECK(row_has(m, "CODE1", (const char *[]){"row 17",
          "'A.2024.1' is also the FileCode of dossier 'CODE2' on row 18",
          NULL}));
    CHECK(row_has(m, "CODE2", (const char *[]){"row 18", "dossier 'CODE1'",
          NULL}));
    CHECK(row_has(m, "TAB", (const char *[]){"row 19", "column FileNotation",
          "control character (U+0009)", NULL}));
    /* warnings: the unknown column (named), the orphan row 13, the legacy
       retention class */
    int unknown = 0, orphan = 0, legacy = 0;
    for (int i = 0; i < m->nwarnings; i++) {
        unknown |= strstr(m->warnings[i], "'Ghi chú nội bộ'") != NULL;
        orphan |= strstr(m->warnings[i], "row 13") != NULL &&
                  strstr(m->warnings[i], "Dossier is empty") != NULL;
        legacy |= strstr(m->warnings[i], "row 15") != NULL &&
                  strstr(m->warnings[i], "Lâu dài") != NULL;
    }
    CHECK(unknown && orphan && legacy);
    /* a FileCode over 30 characters (31 here, as OrganId.FileCatalog.
       FileNotation gives it) is a warning, not an error */
    CHECK(sh_manifest_find(m, "LONGCODE", &re) && re == NULL);
    int longcode = 0;
    for (int i = 0; i < m->nwarnings; i++)
        longcode |= strstr(m->warnings[i], "row 20, column FileCode") &&
                    strstr(m->warnings[i], "31 characters, over the 30");
    CHECK(longcode);
    sh_manifest_free(&m);
    return 0;
}

static int test_manifest_fatal(void)
{
    static const struct { const char *text; size_t n; const char *want; }
    cases[] = {
        {"Title,FileCode\nx,y\n", 0, "no Dossier column"},
        {"Dossier,Title,Title\nx,y,z\n", 0, "given twice"},
        {"Dossier,Title\nA,\"never closed\n", 0,
         "row 2, column Title: a value opened"},
        {"\xFF\xFE" "D\0o\0", 6, "UTF-16"},
        {"", 0, "empty"},
        {"Dossier,Ti\xFFtle\nA,b\n", 0, "row 1 (the header), column 2"},
    };
    for (size_t i = 0; i < SH_ARRAY_LEN(cases); i++) {
        sh_manifest *m = NULL;
        sh_err err = {0};
        size_t n = cases[i].n ? cases[i].n : strlen(cases[i].text);
        CHECK(sh_manifest_parse("b/manifest.csv", cases[i].text, n, NULL, &m,
                                &err) == SH_OK);
        CHECKF(m && m->fatal && strstr(m->fatal, cases[i].want) &&
               strstr(m->fatal, "b/manifest.csv"), "case %zu: %s", i,
               m && m->fatal ? m->fatal : "(no fatal)");
        CHECK(m->n == 0);
        char *why = NULL;
        CHECK(sh_manifest_apply(NULL, m, "A", &why, &err) == SH_OK);
        CHECK(why && !strcmp(why, m->fatal));
        free(why);
        sh_manifest_free(&m);
    }
    return 0;
}

static int write_file(const char *path, const char *data)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return 1;
    fputs(data, f);
    return fclose(f) != 0;
}

static int test_manifest_load_batch(void)
{
    char b[512], p[700];
    sh_err err = {0};
    snprintf(b, sizeof b, "%s/batch", sh_test_tmpdir());
    snprintf(p, sizeof p, "%s/HS-A", b);
    CHECK(sh_mkdirs(p, &err) == 0);
    snprintf(p, sizeof p, "%s/HS-B", b);
    CHECK(sh_mkdirs(p, &err) == 0);
    sh_manifest *m = (sh_manifest *)1;
    CHECK(sh_manifest_load(b, &m, &err) == SH_OK && m == NULL);  /* none */
    snprintf(p, sizeof p, "%s/Manifest.CSV", b);       /* any case */
    CHECK(write_file(p, "Dossier,Title\nHS-A,a\nHS-C,c\n") == 0);
    CHECK(sh_manifest_load(b, &m, &err) == SH_OK && m && !m->fatal);
    CHECK(strstr(m->path, "Manifest.CSV") != NULL);
    int notfolder = 0, norow = 0;
    for (int i = 0; i < m->nwarnings; i++) {
        notfolder |= strstr(m->warnings[i], "row 3, column Dossier: 'HS-C' "
                            "is not a folder") != NULL;
        norow |= strstr(m->warnings[i], "'HS-B' has no row") != NULL;
    }
    CHECK(notfolder && norow);
    sh_manifest_free(&m);
    /* batch listing passes the manifest over (it is a file, not a folder) */
    sh_dossier_in *ds = NULL;
    int n = 0;
    CHECK(sh_batch_list(b, &ds, &n, &err) == SH_OK && n == 2);
    sh_dossiers_free(&ds, n);
    CHECK(sh_manifest_load("/nonexistent-batch", &m, &err) == SH_EIO);
    return 0;
}

/* ------------------------------------------------------------------ */
/* catalog rows                                                         */

static int count_rows(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL))
        return -1;
    int n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
    sqlite3_finalize(st);
    return n;
}

static int test_meta_store(void)
{
    sqlite3 *db = NULL;
    sh_err err = {0};
    CHECKF(sh_db_open(sh_test_tmpdir(), 0, &db, &err) == SH_OK, "%s",
           err.msg);
    sh_manifest *m = NULL;
    CHECK(parse("Dossier,Title,FileCatalog,DocTotal\nA,Một,2020,4\n"
                "B,,2021,\n", &m) == SH_OK);
    char *why = NULL;
    CHECK(sh_manifest_apply(db, m, "A", &why, &err) == SH_OK && !why);
    CHECK(sh_manifest_apply(db, m, "B", &why, &err) == SH_OK && why);
    CHECK(strstr(why, "row 3") && strstr(why, "column Title"));
    free(why);
    CHECK(sh_manifest_apply(db, m, "Z", &why, &err) == SH_OK && !why);
    CHECK(sh_manifest_apply(db, NULL, "A", &why, &err) == SH_OK && !why);
    sh_manifest_free(&m);
    CHECK(count_rows(db, "SELECT count(*) FROM dossier_meta") == 1);
    CHECK(count_rows(db, "SELECT count(*) FROM dossier_meta WHERE "
                         "dossier='A' AND title='Một' AND file_catalog=2020 "
                         "AND doc_total=4 AND page_total IS NULL AND "
                         "manifest='in/manifest.csv' AND manifest_row=2 AND "
                         "updated LIKE '20%Z'") == 1);
    /* upsert: a new manifest replaces the values */
    CHECK(parse("Dossier,Title,PageTotal\n\nA,Hai,7\n", &m) == SH_OK);
    CHECK(sh_manifest_apply(db, m, "A", &why, &err) == SH_OK && !why);
    sh_manifest_free(&m);
    CHECK(count_rows(db, "SELECT count(*) FROM dossier_meta") == 1);
    CHECK(count_rows(db, "SELECT count(*) FROM dossier_meta WHERE "
                         "title='Hai' AND page_total=7 AND doc_total IS NULL "
                         "AND file_catalog IS NULL AND manifest_row=3") == 1);
    sh_db_close(&db);
    return 0;
}

static int test_document_store(void)
{
    sqlite3 *db = NULL;
    sh_err err = {0};
    CHECK(sh_db_open(sh_test_tmpdir(), 0, &db, &err) == SH_OK);
    sh_document d = {.dossier = "A", .ordinal = 1, .first_page = 1,
                     .last_page = 2, .start_conf = 0.9,
                     .type_name = "Quyết định", .type_conf = 0.8,
                     .code_conf = -1, .date_conf = -1, .organ_conf = -1,
                     .subject_conf = -1};
    int kept = -1;
    CHECK(sh_document_store(db, &d, &kept, &err) == SH_OK && kept == 0);
    d.type_name = "Tờ trình";          /* a better suggestion replaces it */
    CHECK(sh_document_store(db, &d, &kept, &err) == SH_OK && kept == 0);
    CHECK(count_rows(db, "SELECT count(*) FROM document WHERE "
                         "type_name='Tờ trình' AND origin='ocr' AND "
                         "code_conf IS NULL") == 1);
    d.type_name = "Công văn";
    d.origin = "manual";               /* a person's value replaces it */
    CHECK(sh_document_store(db, &d, &kept, &err) == SH_OK && kept == 0);
    d.type_name = "Thông báo";
    d.origin = NULL;                   /* a suggestion does not */
    CHECK(sh_document_store(db, &d, &kept, &err) == SH_OK && kept == 1);
    CHECK(count_rows(db, "SELECT count(*) FROM document WHERE "
                         "type_name='Công văn' AND origin='manual'") == 1);
    d.first_page = 3;                  /* pages out of order */
    CHECK(sh_document_store(db, &d, NULL, &err) == SH_EUSAGE);
    CHECK(count_rows(db, "SELECT count(*) FROM document") == 1);
    sh_db_close(&db);
    return 0;
}

/* ------------------------------------------------------------------ */
/* export                                                               */

static int test_export_filename(void)
{
    static const struct { const char *in, *out; } cases[] = {
        {"000.00.00.H12.2024.01", "000.00.00.H12.2024.01"},
        {"H12.2024.01/TCCB", "H12.2024.01_TCCB"},
        {"..", "__"},
        {"../etc/passwd", "___etc_passwd"},
        {".hidden", "_hidden"},
        {"a\tb\x01" "c", "a_b_c"},
        {"x<y>:z\"|?*\\", "x_y__z_____"},
        {"trailing. ", "trailing__"},
        {"CON", "_CON"},
        {"nul.2024", "_nul.2024"},
        {"CONSOLE", "CONSOLE"},
        {"Hồ sơ đất đai", "Hồ sơ đất đai"},
        {"bad\xFF" "byte", "bad_byte"},
        {"", "_"},
    };
    for (size_t i = 0; i < SH_ARRAY_LEN(cases); i++) {
        char out[128];
        sh_export_filename(cases[i].in, out, sizeof out);
        CHECKF(!strcmp(out, cases[i].out), "'%s' → '%s'", cases[i].in, out);
    }
    /* cut at 120 bytes, never inside a character */
    sh_buf b = {0};
    for (int i = 0; i < 100; i++)
        sh_buf_adds(&b, "đ");          /* 2 bytes each */
    sh_buf_adds(&b, "x");
    char out[128];
    sh_export_filename(b.data, out, sizeof out);
    CHECK(strlen(out) == 120 && !strncmp(out, b.data, 120));
    sh_buf_release(&b);
    return 0;
}

/* A PDF of n pages; page i is 100*i pt wide (to tell pages apart). */
static int make_pdf(const char *path, int n)
{
    sh_err err = {0};
    sh_pdf *p = NULL;
    PIX *pix = pixCreate(40, 30, 8);
    sh_pdf_image im;
    if (!pix || sh_pdf_image_from_pix(pix, &im, &err) ||
        sh_pdf_open(path, "Hồ sơ thử", &p, &err)) {
        fprintf(stderr, "  make_pdf: %s\n", err.msg);
        pixDestroy(&pix);
        return 1;
    }
    pixDestroy(&pix);
    for (int i = 1; i <= n; i++) {
        sh_pdf_page pg = {.w_pt = 100.0 * i, .h_pt = 200, .img = &im,
                          .img_matrix = {100.0 * i, 0, 0, 200, 0, 0},
                          .pt_per_px = 1};
        if (sh_pdf_add_page(p, &pg, &err)) {
            sh_pdf_abort(&p);
            sh_pdf_image_release(&im);
            return 1;
        }
    }
    sh_pdf_image_release(&im);
    return sh_pdf_commit(&p, &err) != SH_OK;
}

/* Widths (pt / 100) of the pages of a PDF, as digits: "23" = pages 2, 3
   of the dossier. */
static int page_widths(const char *path, char *out, size_t n)
{
    out[0] = 0;
    qpdf_data q = qpdf_init();
    qpdf_silence_errors(q);
    if (qpdf_read(q, path, "") & QPDF_ERRORS) {
        qpdf_cleanup(&q);
        return -1;
    }
    int np = qpdf_get_num_pages(q);
    for (int i = 0; i < np && (size_t)i + 1 < n; i++) {
        qpdf_oh pg = qpdf_get_page_n(q, (size_t)i);
        qpdf_oh mb = qpdf_oh_get_key(q, pg, "/MediaBox");
        double w = 0;
        qpdf_oh_get_value_as_number(q, qpdf_oh_get_array_item(q, mb, 2), &w);
        out[i] = (char)('0' + (int)(w / 100 + 0.5));
        out[i + 1] = 0;
    }
    qpdf_cleanup(&q);
    return np;
}

static char *slurp(const char *path)
{
    uint8_t *d = NULL;
    size_t n = 0;
    if (sh_read_file(path, 0, &d, &n, NULL))
        return NULL;
    return (char *)d;
}

static int count_lines(const char *s)
{
    int n = 0;
    for (; s && *s; s++)
        n += *s == '\n';
    return n;
}

static int add_dossier(sqlite3 *db, const char *id, const char *state,
                       const char *pdf, const char *sha, int pages)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "INSERT INTO dossier(id, state, pdf, "
                           "pdf_sha256, pages, sheets, agency, error)"
                           " VALUES(?,?,?,?,?,?, 'STNMT', ?)",
                           -1, &st, NULL))
        return 1;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, state, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, pdf, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, sha, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 5, pages);
    sqlite3_bind_int(st, 6, pages - 1);
    if (strcmp(state, "done"))
        sqlite3_bind_text(st, 7, "0002.tif: cannot read", -1, SQLITE_STATIC);
    int r = sqlite3_step(st) != SQLITE_DONE;
    sqlite3_finalize(st);
    return r;
}

static int test_export(void)
{
    const char *wh = sh_test_tmpdir();
    char pdfdir[600], p1[700], p5[700], to[600], hex1[65], hex5[65];
    sh_err err = {0};
    snprintf(pdfdir, sizeof pdfdir, "%s/pdf", wh);
    snprintf(to, sizeof to, "%s/out", wh);
    CHECK(sh_mkdirs(pdfdir, &err) == 0);
    snprintf(p1, sizeof p1, "%s/D1.pdf", pdfdir);
    snprintf(p5, sizeof p5, "%s/D5.pdf", pdfdir);
    CHECK(make_pdf(p1, 4) == 0 && make_pdf(p5, 2) == 0);
    CHECK(sh_sha256_file(p1, hex1, &err) == 0);
    CHECK(sh_sha256_file(p5, hex5, &err) == 0);

    sqlite3 *db = NULL;
    CHECK(sh_db_open(wh, 0, &db, &err) == SH_OK);
    CHECK(add_dossier(db, "D1", "done", p1, hex1, 4) == 0);
    CHECK(add_dossier(db, "D2", "failed", NULL, NULL, 1) == 0);
    CHECK(add_dossier(db, "D3", "done", p1, "00ff", 4) == 0);   /* changed */
    CHECK(add_dossier(db, "D5", "done", "/moved/D5.pdf", hex5, 2) == 0);
    /* D1: manifest metadata with a FileCode that is no file name, and a
       title to escape */
    sh_manifest *m = NULL;
    CHECK(parse("Dossier,FileCode,Title,Maintenance,StartDate\n"
                "D1,H12.2024/01,Đất <đai> & \"nhà\",10 năm,\n", &m) == SH_OK);
    char *why = NULL;
    CHECK(sh_manifest_apply(db, m, "D1", &why, &err) == SH_OK && !why);
    sh_manifest_free(&m);
    /* D1 documents: 1 = page 1 (2024-03-05), 2 = pages 2-3 (2024-01-02),
       3 = page 4 (no date); a control character to drop */
    sh_document d = {.dossier = "D1", .ordinal = 1, .first_page = 1,
                     .last_page = 1, .start_conf = -1, .type_conf = 0.91,
                     .type_name = "Quyết định", .code_number = "05",
                     .code_notation = "QĐ-UBND", .code_conf = 0.8,
                     .issued_date = "2024-03-05", .date_conf = 0.7,
                     .organ_conf = -1, .subject = "Về việc\x01 cấp đất",
                     .subject_conf = 0.5};
    CHECK(sh_document_store(db, &d, NULL, &err) == SH_OK);
    d = (sh_document){.dossier = "D1", .ordinal = 2, .first_page = 2,
                      .last_page = 3, .start_conf = -1, .type_conf = -1,
                      .type_name = "Tờ trình", .code_conf = -1,
                      .issued_date = "02/01/2024", .date_conf = -1,
                      .organ_conf = -1, .subject_conf = -1,
                      .origin = "manual"};
    CHECK(sh_document_store(db, &d, NULL, &err) == SH_OK);
    d = (sh_document){.dossier = "D1", .ordinal = 3, .first_page = 4,
                      .last_page = 4, .start_conf = -1, .type_conf = -1,
                      .code_conf = -1, .issued_date = "2024-02",
                      .date_conf = 0.4, .organ_conf = -1,
                      .subject_conf = -1};
    CHECK(sh_document_store(db, &d, NULL, &err) == SH_OK);
    d.ordinal = 4;                     /* same page, unreadable date */
    d.issued_date = "ngày ... tháng";
    CHECK(sh_document_store(db, &d, NULL, &err) == SH_OK);

    sh_export_opts o = {.warehouse = wh, .to = to};
    sh_export_stats st;
    char *ids[] = {"D1", "D2", "D3", "D4", "D5"};
    CHECKF(sh_export(db, &o, ids, 5, 0, &st, &err) == SH_OK, "%s", err.msg);
    CHECKF(st.exported == 2 && st.failed == 3 && st.skipped == 0,
           "%d %d %d", st.exported, st.failed, st.skipped);

    /* D1 → H12.2024_01/ */
    char f[900], w[32];
    snprintf(f, sizeof f, "%s/H12.2024_01/H12.2024_01.pdf", to);
    char hx[65];
    CHECK(sh_sha256_file(f, hx, &err) == 0 && !strcmp(hx, hex1));
    snprintf(f, sizeof f, "%s/H12.2024_01/H12.2024_01.001.pdf", to);
    CHECK(page_widths(f, w, sizeof w) == 1 && !strcmp(w, "1"));
    snprintf(f, sizeof f, "%s/H12.2024_01/H12.2024_01.002.pdf", to);
    CHECKF(page_widths(f, w, sizeof w) == 2 && !strcmp(w, "23"), "%s", w);
    snprintf(f, sizeof f, "%s/H12.2024_01/H12.2024_01.003.pdf", to);
    CHECK(page_widths(f, w, sizeof w) == 1 && !strcmp(w, "4"));
    snprintf(f, sizeof f, "%s/H12.2024_01/H12.2024_01.004.pdf", to);
    CHECK(page_widths(f, w, sizeof w) == 1 && !strcmp(w, "4"));
    snprintf(f, sizeof f, "%s/H12.2024_01/H12.2024_01.xml", to);
    char *x = slurp(f);
    CHECK(x != NULL);
    CHECK(strstr(x, "<Dossier id=\"D1\"") != NULL);
    CHECK(strstr(x, "<FileCode source=\"manifest\">H12.2024/01</FileCode>"));
    CHECK(strstr(x, "<Title source=\"manifest\">Đất &lt;đai&gt; &amp; "
                    "&quot;nhà&quot;</Title>"));
    CHECK(strstr(x, "<Maintenance source=\"manifest\">10 năm</Maintenance>"));
    CHECK(strstr(x, "<StartDate source=\"derived\">2024-01-02</StartDate>"));
    CHECK(strstr(x, "<EndDate source=\"derived\">2024-03-05</EndDate>"));
    CHECK(strstr(x, "<DocTotal source=\"derived\">4</DocTotal>"));
    CHECK(strstr(x, "<PageTotal source=\"derived\">4</PageTotal>"));
    CHECK(strstr(x, "<SheetTotal source=\"derived\">3</SheetTotal>"));
    CHECK(strstr(x, "<Rights/>"));
    CHECK(strstr(x, "<TypeName source=\"ocr\" confidence=\"0.91\">"
                    "Quyết định</TypeName>"));
    CHECK(strstr(x, "<TypeName source=\"manual\">Tờ trình</TypeName>"));
    CHECK(strstr(x, "<Subject source=\"ocr\" confidence=\"0.50\">Về việc cấp "
                    "đất</Subject>"));            /* U+0001 dropped */
    CHECK(strstr(x, "<PageAmount source=\"derived\">2</PageAmount>"));
    /* chronological: 2 (2024-01-02), 3 (2024-02), 1 (2024-03-05), 4 (no
       date) */
    char *o2 = strstr(x, "<DocOrdinal>2<"), *o1 = strstr(x, "<DocOrdinal>1<"),
         *o3 = strstr(x, "<DocOrdinal>3<"), *o4 = strstr(x, "<DocOrdinal>4<");
    CHECK(o1 && o2 && o3 && o4 && o2 < o3 && o3 < o1 && o1 < o4);
    CHECK(strstr(x, "<IssuedDate source=\"ocr\" confidence=\"0.40\">2024-02"
                    "</IssuedDate>"));
    CHECK(strstr(x, "<IssuedDate source=\"ocr\" confidence=\"0.40\">ngày "
                    "... tháng</IssuedDate>"));
    CHECK(strstr(x, "<File>H12.2024_01.002.pdf</File>"));
    free(x);

    /* D5: found in WAREHOUSE/pdf, no documents → one for all pages */
    snprintf(f, sizeof f, "%s/D5/D5.001.pdf", to);
    CHECK(page_widths(f, w, sizeof w) == 2 && !strcmp(w, "12"));
    snprintf(f, sizeof f, "%s/D5/D5.xml", to);
    x = slurp(f);
    CHECK(x && strstr(x, "<FileCode source=\"derived\">D5</FileCode>"));
    CHECK(strstr(x, "<Title source=\"derived\">D5</Title>"));
    CHECK(strstr(x, "<TypeName/>") && strstr(x, "<StartDate/>"));
    free(x);
    /* nothing of the refused dossiers */
    snprintf(f, sizeof f, "%s/D3", to);
    struct stat sb;
    CHECK(stat(f, &sb) < 0);

    /* the CSV tables */
    snprintf(f, sizeof f, "%s/documents.csv", to);
    x = slurp(f);
    CHECK(x && !strncmp(x, "\xEF\xBB\xBF" "FileCode,DocOrdinal,TypeName,", 31));
    CHECK(count_lines(x) == 1 + 4 + 1);
    CHECK(strstr(x, "\r\nD5,1,,,,,,,2,Tiếng Việt,,1,2,D5/D5.001.pdf,D5,"
                    "derived\r\n"));
    CHECK(strstr(x, "H12.2024/01,2,Tờ trình,,,2024-01-02,,,2,Tiếng Việt,,2,3,"
                    "H12.2024_01/H12.2024_01.002.pdf,D1,manual\r\n"));
    free(x);
    snprintf(f, sizeof f, "%s/dossiers.csv", to);
    x = slurp(f);
    CHECK(x && count_lines(x) == 3);
    CHECK(strstr(x, "\"Đất <đai> & \"\"nhà\"\"\""));
    free(x);

    /* again: already there → skipped; --force → replaced; the tables keep
       both dossiers; no temporary left */
    char *one[] = {"D1"};
    CHECK(sh_export(db, &o, one, 1, 0, &st, &err) == SH_OK);
    CHECK(st.skipped == 1 && st.exported == 0);
    o.force = 1;
    CHECK(sh_export(db, &o, one, 1, 0, &st, &err) == SH_OK);
    CHECK(st.exported == 1);
    snprintf(f, sizeof f, "%s/documents.csv", to);
    x = slurp(f);
    CHECK(x && count_lines(x) == 1 + 4 + 1);
    free(x);
    /* what a killed export left is removed (its process is gone); a folder
       whose name merely looks like it is not */
    char junk[900], keep[900];
    snprintf(junk, sizeof junk, "%s/.X.tmp.99999999", to);
    snprintf(keep, sizeof keep, "%s/A.tmp.7", to);
    CHECK(sh_mkdirs(junk, &err) == 0 && sh_mkdirs(keep, &err) == 0);
    /* all = every done dossier (D3 fails again) */
    CHECK(sh_export(db, &o, NULL, 0, 1, &st, &err) == SH_OK);
    CHECK(stat(junk, &sb) < 0 && stat(keep, &sb) == 0);
    CHECK(rmdir(keep) == 0);
    CHECK(st.exported == 2 && st.failed == 1);
    DIR *dir = opendir(to);
    CHECK(dir != NULL);
    struct dirent *e;
    int left = 0;
    while ((e = readdir(dir)))
        left += strstr(e->d_name, ".tmp.") || strstr(e->d_name, ".old.");
    closedir(dir);
    CHECK(left == 0);

    /* D5's FileCode changes: without --force it is already exported (under
       its old name); with --force it moves to the new name, the old
       folder and its rows go */
    sh_meta nm = {.dossier = "D5", .file_code = "NEW-5", .title = "Năm",
                  .file_catalog = -1, .doc_total = -1, .page_total = -1,
                  .sheet_total = -1};
    CHECK(sh_meta_store(db, &nm, NULL, &err) == SH_OK);
    char *five[] = {"D5"};
    o.force = 0;
    CHECK(sh_export(db, &o, five, 1, 0, &st, &err) == SH_OK);
    CHECK(st.skipped == 1 && st.exported == 0);
    o.force = 1;
    CHECK(sh_export(db, &o, five, 1, 0, &st, &err) == SH_OK);
    CHECK(st.exported == 1);
    snprintf(f, sizeof f, "%s/D5", to);
    CHECK(stat(f, &sb) < 0);
    snprintf(f, sizeof f, "%s/NEW-5/NEW-5.002.pdf", to);
    CHECK(stat(f, &sb) < 0);               /* one document: .001 only */
    snprintf(f, sizeof f, "%s/NEW-5/NEW-5.001.pdf", to);
    CHECK(page_widths(f, w, sizeof w) == 2);
    snprintf(f, sizeof f, "%s/documents.csv", to);
    x = slurp(f);
    CHECK(x && count_lines(x) == 1 + 4 + 1 && !strstr(x, "D5/D5.") &&
          strstr(x, "NEW-5/NEW-5.001.pdf"));
    free(x);

    /* a folder of that name that is not this dossier's export is never
       replaced */
    snprintf(f, sizeof f, "%s/NEW-5", to);
    char xml5[1000];
    snprintf(xml5, sizeof xml5, "%s/NEW-5.xml", f);
    CHECK(write_file(xml5, "<Dossier id=\"OTHER\">") == 0);
    CHECK(sh_export(db, &o, five, 1, 0, &st, &err) == SH_OK);
    CHECK(st.failed == 1);
    x = slurp(xml5);
    CHECK(x && !strcmp(x, "<Dossier id=\"OTHER\">"));
    free(x);
    sh_db_close(&db);
    return 0;
}

const sh_test sh_tests_archive[] = {
    {"archive_csv_parse", test_csv_parse},
    {"archive_date_parse", test_date_parse},
    {"archive_manifest_good", test_manifest_good},
    {"archive_manifest_errors", test_manifest_errors},
    {"archive_manifest_fatal", test_manifest_fatal},
    {"archive_manifest_load_batch", test_manifest_load_batch},
    {"archive_meta_store", test_meta_store},
    {"archive_document_store", test_document_store},
    {"archive_export_filename", test_export_filename},
    {"archive_export", test_export},
    {NULL, NULL},
};
