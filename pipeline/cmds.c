/*
 * cmds.c — the read-only commands: status and search.
 *
 *   sh_cmd_status    dossiers, their state, pages and PDF (text or --json)
 *   sh_cmd_search    Vietnamese full-text search (text or --json)
 *   sh_warehouse_default
 *
 * Both open the catalog read-only, so they run while a run writes (WAL).
 */
#include "../base/date.h"
#include "pipeline.h"
#include "../base/opts.h"
#include "../index/docs.h"
#include "../index/index.h"
#include "../index/shards.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static json_t *col_json(sqlite3_stmt *st, int i)
{
    switch (sqlite3_column_type(st, i)) {
    case SQLITE_INTEGER: return json_integer(sqlite3_column_int64(st, i));
    case SQLITE_FLOAT: return json_real(sqlite3_column_double(st, i));
    case SQLITE_NULL: return json_null();
    default: return json_string((const char *)sqlite3_column_text(st, i));
    }
}

int sh_cmd_status(int argc, char **argv)
{
    sh_opts ov;
    int c;
    static const struct option opts[] = {
        SH_LONGOPT_WAREHOUSE, SH_LONGOPT_JSON, SH_LONGOPT_HELP,
        {NULL, 0, NULL, 0},
    };
    sh_opts_init(&ov);
    optind = 1;
    while ((c = getopt_long(argc, argv, SH_OPTS_SHORT, opts, NULL)) != -1) {
        int k = sh_opt_common(&ov, c, optarg);
        if (k != SH_OPT_TAKEN) {
            fputs("usage: sohoa status [--warehouse DIR] [--json]\n", stderr);
            return k == SH_OPT_HELP ? SH_EXIT_OK : SH_EXIT_USAGE;
        }
    }
    const char *wh = ov.warehouse;
    int as_json = ov.json;
    sqlite3 *db;
    int rc = sh_catalog_open_ro(wh, &db);
    if (rc)
        return rc;
    sqlite3_stmt *st;
    /* a catalog from before the review station has no approvals */
    int has_review = sqlite3_table_column_metadata(
        db, NULL, "review_dossier", "approved_by", NULL, NULL, NULL, NULL,
        NULL) == SQLITE_OK;
#define STATUS_COLS                                                        \
    "SELECT d.id, d.pdf, coalesce(d.pages,0) AS pages, d.state,"           \
    " d.agency, d.batch, d.error, d.pdf_sha256, d.pdf_bytes,"              \
    " d.input_bytes, d.sheets, d.blanks, d.updated,"                       \
    " (SELECT count(*) FROM source s WHERE s.dossier=d.id) AS files,"      \
    " (SELECT count(*) FROM page p WHERE p.dossier=d.id AND"               \
    "  p.dpi_assumed) AS pages_dpi_assumed,"                               \
    /* the OCR models its pages were read with ("best", "fast,best") */    \
    " (SELECT group_concat(m) FROM (SELECT DISTINCT"                       \
    "  json_extract(p.geom, '$.model') AS m FROM page p WHERE"             \
    "  p.dossier=d.id AND m IS NOT NULL ORDER BY m)) AS models"
    const char *sql = has_review ?
        STATUS_COLS ","
        /* the clerk's approval (sohoa approve) */
        " r.approved_by IS NOT NULL AS approved, r.approved_by,"
        " r.approved_at, r.withdrawn AS approval_withdrawn"
        " FROM dossier d LEFT JOIN review_dossier r ON r.dossier=d.id"
        " ORDER BY d.id" :
        STATUS_COLS " FROM dossier d ORDER BY d.id";
#undef STATUS_COLS
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        fprintf(stderr, "sohoa: %s\n", sqlite3_errmsg(db));
        sh_db_close(&db);
        return SH_EXIT_USAGE;
    }
    json_t *arr = json_array();
    int n = 0, done = 0, failed = 0, pending = 0, pages = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        json_t *o = json_object();
        for (int i = 0; i < sqlite3_column_count(st); i++)
            json_object_set_new(o, sqlite3_column_name(st, i), col_json(st, i));
        json_object_set_new(o, "approved", json_boolean(json_integer_value(
                                               json_object_get(o, "approved"))));
        const char *state = (const char *)sqlite3_column_text(st, 3);
        n++;
        pages += sqlite3_column_int(st, 2);
        if (state && !strcmp(state, "done"))
            done++;
        else if (state && !strcmp(state, "failed"))
            failed++;
        else
            pending++;
        if (!as_json) {
            printf("%-20s %-7s %4d page%s  %s%s%s\n",
                   sqlite3_column_text(st, 0), state ? state : "?",
                   sqlite3_column_int(st, 2),
                   sqlite3_column_int(st, 2) == 1 ? " " : "s",
                   sqlite3_column_text(st, 1) ? (const char *)sqlite3_column_text(st, 1) : "",
                   sqlite3_column_text(st, 6) ? "  " : "",
                   sqlite3_column_text(st, 6) ? (const char *)sqlite3_column_text(st, 6) : "");
        }
        json_array_append_new(arr, o);
    }
    sqlite3_finalize(st);
    if (as_json) {
        json_t *top = json_pack("{sssosisisisisi}", "warehouse", wh,
                                "dossiers", arr, "total", n, "done", done,
                                "failed", failed, "pending", pending,
                                "pages", pages);
        json_dumpf(top, stdout, JSON_INDENT(1));
        fputc('\n', stdout);
        json_decref(top);
    } else {
        printf("%d dossier%s: %d done, %d failed, %d pending; %d pages\n", n,
               n == 1 ? "" : "s", done, failed, pending, pages);
        json_decref(arr);
    }
    sh_db_close(&db);
    return failed ? SH_EXIT_PARTIAL : SH_EXIT_OK;
}

int sh_cmd_search(int argc, char **argv)
{
    sh_opts ov;
    int c;
    sh_query q = {0};
    q.limit = 20;
    static const struct option opts[] = {
        SH_LONGOPT_WAREHOUSE, SH_LONGOPT_JSON,
        {"limit", required_argument, NULL, 'n'},
        {"offset", required_argument, NULL, 'o'},
        {"agency", required_argument, NULL, 'a'},
        {"year", required_argument, NULL, 'y'},
        {"prefix", required_argument, NULL, 'p'},
        {"type", required_argument, NULL, 'T'},
        {"code", required_argument, NULL, 'C'},
        {"from", required_argument, NULL, 'F'},
        {"to", required_argument, NULL, 'U'},
        SH_LONGOPT_HELP,
        {NULL, 0, NULL, 0},
    };
    static const char usage[] =
        "usage: sohoa search [--warehouse DIR]... [--json] [--limit N] "
        "[--offset N]\n"
        "                    [--agency CODE] [--year YYYY] [--prefix ID]\n"
        "                    [--type 'Quyết định'] [--code QĐ-UBND]\n"
        "                    [--from YYYY[-MM[-DD]]] [--to YYYY[-MM[-DD]]] "
        "QUERY...\n"
        "  --type/--code/--from/--to keep pages of documents (văn bản) of "
        "that type,\n"
        "  whose number/notation holds CODE, issued in that period (as the "
        "run read\n"
        "  them from the document headers; without marks also matches).\n"
        "  Several --warehouse (shards) are searched as one catalog.\n";
    sh_opts_init(&ov);
    sh_err oerr = {0};
    const char *whs[SH_SHARDS_MAX];
    int nwh = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, SH_OPTS_SHORT "n:o:a:", opts,
                            NULL)) != -1) {
        int bad = 0;
        switch (c) {
        case 'w': bad = sh_opt_add("--warehouse", optarg, whs, &nwh,
                                   SH_SHARDS_MAX, &oerr); break;
        case 'n': bad = sh_opt_int("--limit", optarg, 1, INT_MAX, &q.limit,
                                   &oerr); break;
        case 'o': bad = sh_opt_int("--offset", optarg, 0, INT_MAX, &q.offset,
                                   &oerr); break;
        case 'a': q.agency = optarg; break;
        case 'y': bad = sh_opt_int("--year", optarg, 0, 9999, &q.year,
                                   &oerr); break;
        case 'p': q.dossier_prefix = optarg; break;
        case 'T': q.doc_type = optarg; break;
        case 'C': q.doc_code = optarg; break;
        case 'F': q.issued_from = optarg; break;
        case 'U': q.issued_to = optarg; break;
        default: {
            int k = sh_opt_common(&ov, c, optarg);
            if (k != SH_OPT_TAKEN) {
                fputs(usage, k == SH_OPT_HELP ? stdout : stderr);
                return k == SH_OPT_HELP ? SH_EXIT_OK : SH_EXIT_USAGE;
            }
        }
        }
        if (bad) {
            fprintf(stderr, "sohoa search: %s\n", oerr.msg);
            fputs(usage, stderr);
            return SH_EXIT_USAGE;
        }
    }
    if (!nwh)
        whs[nwh++] = ov.warehouse;
    if (sh_shards_distinct(whs, nwh, &oerr)) {
        fprintf(stderr, "sohoa search: %s\n", oerr.msg);
        return SH_EXIT_USAGE;
    }
    int as_json = ov.json;
    const char *dates[] = {q.issued_from, q.issued_to};
    for (int i = 0; i < 2; i++) {
        const char *t = dates[i];
        if (t && !sh_date_valid(t)) {
            fprintf(stderr, "sohoa search: --%s '", i ? "to" : "from");
            sh_fputs_safe(t, stderr);
            fprintf(stderr, "': a real date as YYYY, YYYY-MM or YYYY-MM-DD\n");
            return SH_EXIT_USAGE;
        }
    }
    if (optind >= argc || q.limit < 1 || q.offset < 0) {
        fputs(usage, stderr);
        return SH_EXIT_USAGE;
    }
    sh_buf text = {0};
    for (int i = optind; i < argc; i++)
        sh_buf_printf(&text, "%s%s", i > optind ? " " : "", argv[i]);
    q.text = text.data;
    sqlite3 *dbs[SH_SHARDS_MAX] = {0};
    int rc = SH_OK;
    for (int k = 0; !rc && k < nwh; k++)
        rc = sh_catalog_open_ro(whs[k], &dbs[k]);
    sh_hits hits = {0};
    sh_err err = {0};
    if (!rc && sh_search_shards(dbs, nwh, whs, &q, &hits, &err)) {
        fprintf(stderr, "sohoa search: %s\n", err.msg);
        rc = SH_EXIT_USAGE;
    }
    if (rc) {
        sh_buf_release(&text);
        for (int k = 0; k < nwh; k++)
            sh_db_close(&dbs[k]);
        return rc;
    }
    if (as_json) {
        json_t *arr = json_array();
        for (int i = 0; i < hits.n; i++) {
            sh_hit *h = &hits.h[i];
            json_t *o = json_pack("{sssisssfsb}", "dossier", h->dossier,
                                  "page", h->page, "snippet",
                                  h->snippet ? h->snippet : "", "score",
                                  h->score, "exact", h->exact);
            json_object_set_new(o, "agency", h->agency ? json_string(h->agency)
                                                       : json_null());
            json_object_set_new(o, "pdf", h->pdf ? json_string(h->pdf)
                                                 : json_null());
            json_object_set_new(o, "document",
                                sh_doc_json(dbs[h->shard], h->dossier, h->page));
            if (nwh > 1)
                json_object_set_new(o, "warehouse",
                                    json_string(whs[h->shard]));
            json_array_append_new(arr, o);
        }
        json_t *top = json_pack("{sssisisiso}", "query", q.text, "total",
                                hits.total, "offset", q.offset, "limit",
                                q.limit, "hits", arr);
        json_dumpf(top, stdout, JSON_INDENT(1));
        fputc('\n', stdout);
        json_decref(top);
    } else {
        /* text from the query and the catalog: control characters escaped
           (sh_fputs_safe), so neither can drive the terminal */
        printf("%d page%s found for: ", hits.total,
               hits.total == 1 ? "" : "s");
        sh_fputs_safe(q.text, stdout);
        putchar('\n');
        for (int i = 0; i < hits.n; i++) {
            sh_hit *h = &hits.h[i];
            printf("%3d. ", q.offset + i + 1);
            sh_fputs_safe(h->dossier, stdout);
            printf(" page %d  (", h->page);
            sh_fputs_safe(h->pdf ? h->pdf : "", stdout);
            printf("#page=%d)\n     ", h->page);
            sh_docinfo di;
            sh_err derr = {0};
            if (!sh_doc_at(dbs[h->shard], h->dossier, h->page, &di, &derr) &&
                di.ordinal > 0 && (di.type_name || di.code || di.issued_date)) {
                printf("[document %d, pages %d-%d:", di.ordinal,
                       di.first_page, di.last_page);
                if (di.type_name) {
                    putchar(' ');
                    sh_fputs_safe(di.type_name, stdout);
                }
                if (di.code) {
                    fputs(" số ", stdout);
                    sh_fputs_safe(di.code, stdout);
                }
                if (di.issued_date) {
                    fputs(", ", stdout);
                    sh_fputs_safe(di.issued_date, stdout);
                }
                fputs("]\n     ", stdout);
            }
            sh_docinfo_release(&di);
            /* one line per hit: the page's line breaks become spaces */
            sh_buf line = {0};
            int sp = 0;
            for (const char *ch = h->snippet ? h->snippet : ""; *ch; ch++) {
                int ws = *ch == '\n' || *ch == '\r' || *ch == '\t' || *ch == ' ';
                if (ws && !sp)
                    sh_buf_add(&line, " ", 1);
                else if (!ws)
                    sh_buf_add(&line, ch, 1);
                sp = ws;
            }
            sh_fputs_safe(line.data ? line.data : "", stdout);
            sh_buf_release(&line);
            putchar('\n');
        }
    }
    sh_hits_release(&hits);
    sh_buf_release(&text);
    for (int k = 0; k < nwh; k++)
        sh_db_close(&dbs[k]);
    return SH_EXIT_OK;
}
