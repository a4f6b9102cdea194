/*
 * main.c — the sohoa command: parse the subcommand, dispatch from a table.
 * All real work lives behind the module headers the tests use.
 */
#include "pipeline.h"
#include "archive.h"
#include "stream.h"
#include "../web/web.h"

#include <leptonica/allheaders.h>
#include <sqlite3.h>
#include <tesseract/capi.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#ifndef SH_VERSION
#define SH_VERSION "unknown"   /* the Makefile passes its VERSION */
#endif

/* "sohoa X.Y.Z" and the versions of the libraries it runs with (those
   loaded at run time, not those it was compiled against). */
static int print_version(void)
{
    char *lept = getLeptonicaVersion();
    printf("sohoa %s\n", SH_VERSION);
    printf("tesseract %s\n", TessVersion());
    const char *lv = lept ? lept : "unknown";
    if (!strncmp(lv, "leptonica-", 10))
        lv += 10;
    printf("leptonica %s\n", lv);
    printf("sqlite %s\n", sqlite3_libversion());
    lept_free(lept);
    return fflush(stdout) == 0 && !ferror(stdout) ? SH_EXIT_OK : 1;
}

static int cmd_worker(int argc, char **argv)
{
    return sh_worker_main();
}

static const struct cmd {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *help;
} cmds[] = {
    {"run", sh_cmd_run, "process batch folders into the warehouse"},
    {"search", sh_cmd_search, "full-text search (with or without diacritics)"},
    {"status", sh_cmd_status, "dossiers in the warehouse and their state"},
    {"report", sh_cmd_report, "summary of the last run (or --run ID)"},
    {"verify", sh_cmd_verify, "re-hash originals and PDFs against the catalog"},
    {"serve", sh_cmd_serve, "the officers' search site (HTTP, Vietnamese)"},
    {"user", sh_cmd_user, "web users and the agencies they may see"},
    {"audit", sh_cmd_audit, "who searched and viewed what, and when"},
    {"separators", sh_cmd_separators, "printable separator sheets for a stack"},
    {"merge", sh_cmd_merge, "bring shard warehouses into one"},
    {"optimize", sh_cmd_optimize, "merge the full-text index into one b-tree"},
    {"export", sh_cmd_export, "hand done dossiers to an archive (PDF, XML, CSV)"},
    {"review", sh_cmd_review, "what is left for a clerk to check (list)"},
    {"doc", sh_cmd_doc, "set a document's fields as a clerk (doc set)"},
    {"approve", sh_cmd_approve, "a clerk approves checked dossiers"},
    {"worker", cmd_worker, NULL},   /* internal: started by run */
};

static void usage(FILE *f)
{
    fputs("usage: sohoa COMMAND [options]\n\ncommands:\n", f);
    for (size_t i = 0; i < SH_ARRAY_LEN(cmds); i++)
        if (cmds[i].help)
            fprintf(f, "  %-8s %s\n", cmds[i].name, cmds[i].help);
    fputs("  version  sohoa's version and its libraries' (also --version)\n"
          "\n'sohoa COMMAND --help' for a command's options.\n"
          "Exit status: 0 done, 1 some dossier failed (the rest completed),\n"
          "2 usage or configuration error, 3 another run holds the\n"
          "warehouse, 4 time limit reached with work left.\n",
          f);
}

int main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? SH_EXIT_USAGE : SH_EXIT_OK;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version"))
        return print_version();
    /* Nothing sohoa writes is for other accounts (personal data): with at
       least umask 027, even files made by the libraries (fopen: 0666) are
       never world-readable.  base/files.c narrows its own further. */
    umask(umask(0) | 027);
    /* No allocation statistics: with them (SQLite's default) every
       allocation of every connection takes one global mutex, and the web
       server's threads queue on it (measured: ~9 % of a loaded server's
       CPU in futex wake-ups at 16 connections). */
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    for (size_t i = 0; i < SH_ARRAY_LEN(cmds); i++)
        if (!strcmp(argv[1], cmds[i].name))
            return cmds[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "sohoa: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return SH_EXIT_USAGE;
}
