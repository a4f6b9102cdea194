/*
 * review.c — the clerk's review station from the command line.
 *
 *   sh_cmd_review    review list [--json]: what is left to check
 *   sh_cmd_doc       doc set DOSSIER DOCORDINAL FIELD=VALUE...
 *   sh_cmd_approve   approve DOSSIER... [--user NAME] [--withdraw]
 *
 * Method.  The same catalog calls as the web station (index/review.h):
 * a field is checked as the manifest checks its values, stored as the
 * clerk's ("manual") and journalled (audit.db) with its value before
 * and after; the save counts as an edit, so the next `sohoa run`
 * re-assembles the dossier from cached OCR with it (and an approval is
 * withdrawn, with a message).  Each change is one write transaction,
 * followed by its audit row (which chains to the row before in its own,
 * in the journal's file).
 * The user is --user, else $SUDO_USER, else $USER.
 */
#include "pipeline.h"
#include "../index/db.h"
#include "../index/index.h"
#include "../index/review.h"
#include "../web/web.h"
#include "../base/opts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *cli_user(const char *given)
{
    const char *u = given ? given : getenv("SUDO_USER");
    if (!u || !*u)
        u = getenv("USER");
    return u && *u ? u : "unknown";
}

/* One audit row of a review action from the command line. */
static int audit(sqlite3 *db, const char *user, const char *action,
                 const char *dossier, json_t *detail, sh_err *err)
{
    char *d = detail ? json_dumps(detail, JSON_COMPACT) : NULL;
    sh_audit_rec r = {user, "cli", action, NULL, -1, dossier, 0, 200, d};
    int rc = sh_web_audit(db, &r, err);
    free(d);
    return rc;
}

static int parse_common(int argc, char **argv, const char *usage,
                        sh_opts *o, const char **user, int *withdraw)
{
    static const struct option opts[] = {
        SH_LONGOPT_WAREHOUSE, SH_LONGOPT_JSON, SH_LONGOPT_HELP,
        {"user", required_argument, NULL, 'u'},
        {"withdraw", no_argument, NULL, 'W'},
        {NULL, 0, NULL, 0},
    };
    int c;
    sh_opts_init(o);
    optind = 1;
    while ((c = getopt_long(argc, argv, SH_OPTS_SHORT "u:", opts, NULL)) !=
           -1) {
        if (c == 'u' && user)
            *user = optarg;
        else if (c == 'W' && withdraw)
            *withdraw = 1;
        else {
            int k = sh_opt_common(o, c, optarg);
            if (k != SH_OPT_TAKEN) {
                fputs(usage, k == SH_OPT_HELP ? stdout : stderr);
                return k == SH_OPT_HELP ? SH_EXIT_OK : SH_EXIT_USAGE;
            }
        }
    }
    return -1;
}

int sh_cmd_review(int argc, char **argv)
{
    static const char usage[] =
        "usage: sohoa review [--warehouse DIR] list [--json]\n"
        "  The dossiers with something for a clerk to check, oldest batch\n"
        "  first: split uncertain, low confidence, blank?, turned, fields\n"
        "  to confirm, manifest error, corrections by the Vietnamese\n"
        "  post-correction.  Approved dossiers are not listed.\n";
    sh_opts o;
    int k = parse_common(argc, argv, usage, &o, NULL, NULL);
    if (k >= 0)
        return k;
    if (argc - optind != 1 || strcmp(argv[optind], "list")) {
        fputs(usage, stderr);
        return SH_EXIT_USAGE;
    }
    sh_err err = {0};
    sqlite3 *db = NULL;
    json_t *items = NULL;
    int rc = sh_web_open(o.warehouse, 1, &db, &err);
    if (!rc)
        rc = sh_review_queue(db, NULL, &items, &err);
    sh_db_close(&db);
    if (rc) {
        fprintf(stderr, "sohoa review: %s\n", err.msg);
        return SH_EXIT_USAGE;
    }
    if (o.json) {
        json_t *top = json_pack("{sO}", "items", items);
        json_dumpf(top, stdout, JSON_INDENT(1));
        fputc('\n', stdout);
        json_decref(top);
    } else {
        size_t i;
        json_t *it;
        json_array_foreach(items, i, it) {
            json_t *pg = json_object_get(it, "page");
            char page[16] = "-";
            if (json_is_integer(pg))
                snprintf(page, sizeof page, "%d", (int)json_integer_value(pg));
            const char *ag = json_string_value(json_object_get(it, "agency"));
            printf("%-20s %-8s page %-4s %s\n",
                   json_string_value(json_object_get(it, "dossier")),
                   ag ? ag : "-", page,
                   json_string_value(json_object_get(it, "reason")));
        }
        printf("%zu item%s to check\n", json_array_size(items),
               json_array_size(items) == 1 ? "" : "s");
    }
    json_decref(items);
    return SH_EXIT_OK;
}

int sh_cmd_doc(int argc, char **argv)
{
    static const char usage[] =
        "usage: sohoa doc [--warehouse DIR] [--user NAME] set DOSSIER "
        "DOCORDINAL FIELD=VALUE...\n"
        "  FIELD: TypeName, CodeNumber, CodeNotation, IssuedDate, Place,\n"
        "  OrganName, Subject; checked as the manifest's values (lengths,\n"
        "  real dates dd/mm/yyyy or yyyy-mm-dd); an empty VALUE clears it.\n"
        "  The value becomes the clerk's (source \"manual\"): no later run\n"
        "  overwrites it; the next run rebuilds the dossier's PDF with it.\n";
    sh_opts o;
    const char *user = NULL;
    int k = parse_common(argc, argv, usage, &o, &user, NULL);
    if (k >= 0)
        return k;
    int npos = argc - optind;
    char **pos = argv + optind;
    if (npos < 4 || strcmp(pos[0], "set")) {
        fputs(usage, stderr);
        return SH_EXIT_USAGE;
    }
    const char *id = pos[1];
    char *end = NULL;
    long ord = strtol(pos[2], &end, 10);
    if (!end || *end || ord < 1 || ord > 999) {
        fprintf(stderr, "sohoa doc: '%s' is not a document number (1..999)"
                "\n", pos[2]);
        return SH_EXIT_USAGE;
    }
    user = cli_user(user);
    sh_err err = {0};
    sqlite3 *db = NULL;
    sqlite3 *adb = NULL;
    int rc = sh_web_open(o.warehouse, 1, &db, &err), withdrawn = 0;
    if (!rc)
        rc = sh_web_audit_open(o.warehouse, 0, &adb, &err);
    json_t *changes = json_array();
    if (!rc)
        rc = sh_db_exec(db, "BEGIN IMMEDIATE", &err);
    if (!rc)
        rc = sh_review_begin(db, id, -1, 1, "a field was edited", NULL,
                             &withdrawn, &err);
    for (int i = 3; !rc && i < npos; i++) {
        char *eq = strchr(pos[i], '=');
        if (!eq) {
            rc = sh_errf(&err, SH_EUSAGE, "'%s' is not FIELD=VALUE", pos[i]);
            break;
        }
        *eq = 0;
        char *val = NULL, *before = NULL;
        const sh_review_field_def *def = NULL;
        rc = sh_review_field_check(pos[i], eq + 1, &val, &def, &err);
        if (!rc)
            rc = sh_review_set_field(db, id, (int)ord, def, val, user,
                                     &before, &err);
        if (!rc)
            json_array_append_new(changes, json_pack(
                "{sisssoso}", "document", (int)ord, "field", def->name,
                "before", before ? json_string(before) : json_null(),
                "after", val ? json_string(val) : json_null()));
        free(val);
        free(before);
    }
    if (!rc)
        rc = sh_db_exec(db, "COMMIT", &err);
    else if (db)
        sh_db_exec(db, "ROLLBACK", NULL);
    /* the journal row chains to the one before in its own transaction */
    if (!rc)
        rc = audit(adb, user, "review-field", id, changes, &err);
    sh_db_close(&adb);
    sh_db_close(&db);
    if (rc) {
        fprintf(stderr, "sohoa doc: %s\n", err.msg);
        json_decref(changes);
        return rc == SH_EINPUT || rc == SH_EUSAGE ? SH_EXIT_USAGE
                                                  : SH_EXIT_PARTIAL;
    }
    size_t i;
    json_t *ch;
    json_array_foreach(changes, i, ch)
        printf("%s document %ld: %s = %s (was %s)\n", id, ord,
               json_string_value(json_object_get(ch, "field")),
               json_is_string(json_object_get(ch, "after"))
                   ? json_string_value(json_object_get(ch, "after")) : "(empty)",
               json_is_string(json_object_get(ch, "before"))
                   ? json_string_value(json_object_get(ch, "before"))
                   : "(empty)");
    if (withdrawn)
        printf("%s: its approval is withdrawn (the dossier changed); approve "
               "it again once checked\n", id);
    printf("%s: the next 'sohoa run' rebuilds its PDF with the clerk's "
           "values\n", id);
    json_decref(changes);
    return SH_EXIT_OK;
}

int sh_cmd_approve(int argc, char **argv)
{
    static const char usage[] =
        "usage: sohoa approve [--warehouse DIR] [--user NAME] [--withdraw] "
        "DOSSIER...\n"
        "  Marks each dossier (state done) approved by the named clerk now\n"
        "  (--withdraw takes the approval back).  Changing an approved\n"
        "  dossier later (an edit, a run with new pages) withdraws it.\n";
    sh_opts o;
    const char *user = NULL;
    int withdraw = 0;
    int k = parse_common(argc, argv, usage, &o, &user, &withdraw);
    if (k >= 0)
        return k;
    if (argc - optind < 1) {
        fputs(usage, stderr);
        return SH_EXIT_USAGE;
    }
    user = cli_user(user);
    sh_err err = {0};
    sqlite3 *db = NULL;
    sqlite3 *adb = NULL;
    int rc = sh_web_open(o.warehouse, 1, &db, &err), failed = 0;
    if (!rc)
        rc = sh_web_audit_open(o.warehouse, 0, &adb, &err);
    for (int i = optind; !rc && i < argc; i++) {
        const char *id = argv[i];
        sh_err e1 = {0};
        int r = sh_db_exec(db, "BEGIN IMMEDIATE", &e1);
        if (!r)
            r = sh_review_approve(db, id, user, !withdraw, &e1);
        if (!r)
            r = sh_db_exec(db, "COMMIT", &e1);
        else
            sh_db_exec(db, "ROLLBACK", NULL);
        if (!r)
            r = audit(adb, user, withdraw ? "review-withdraw" : "review-approve",
                      id, NULL, &e1);
        if (r) {
            fprintf(stderr, "sohoa approve: %s\n", e1.msg);
            failed++;
            if (r != SH_EUSAGE)
                rc = r;
        } else {
            printf("%s: %s by %s\n", id, withdraw ? "approval withdrawn"
                                                  : "approved", user);
        }
    }
    sh_db_close(&adb);
    sh_db_close(&db);
    if (rc && !failed)
        fprintf(stderr, "sohoa approve: %s\n", err.msg);
    return rc ? SH_EXIT_USAGE : failed ? SH_EXIT_PARTIAL : SH_EXIT_OK;
}
