/*
 * report.c — `sohoa report`: the morning summary of a run.
 *
 *   sh_report_print      a run report (JSON) as plain English for people
 *   sh_report_from_catalog  rebuild what can be known of a run that left
 *                        no report (killed, crashed, or still running)
 *   sh_cmd_report        sohoa report [--warehouse DIR] [--json] [--run ID]
 *   sh_catalog_open_ro   open a warehouse catalog read-only, or say why not
 *
 * Method.  At its end, `sohoa run` stores a JSON report in run.report (the
 * schema is in pipeline.h).  `sohoa report` reads it back and prints it;
 * every key is optional, so a report written by an older or newer sohoa,
 * or rebuilt from the catalog, prints what it has and leaves out the rest.
 * A run killed before its end has no report: the command then rebuilds one
 * from the catalog as it stands — the dossiers of the run's batch folders
 * (from run.args) and their states, their pages' states, and the event rows
 * of that run (failures, assumed resolutions) — marks it "complete": false
 * and says plainly that the run did not finish, or that it is still going
 * (its pid is alive and is a sohoa run).  The catalog is opened read-only;
 * nothing is written, so the command is safe while a run works.
 */
#include "pipeline.h"
#include "../base/opts.h"
#include "../index/db.h"
#include "../index/index.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* ------------------------------------------------------------------ */
/* reading a report that may lack any key                              */

static json_t *jget(json_t *o, const char *k)
{
    return json_is_object(o) ? json_object_get(o, k) : NULL;
}

/* Integer value of o[k], or -1 when absent or not a number. */
static long long jint(json_t *o, const char *k)
{
    json_t *v = jget(o, k);
    if (json_is_integer(v))
        return (long long)json_integer_value(v);
    if (json_is_real(v))
        return (long long)json_real_value(v);
    return -1;
}

static double jnum(json_t *o, const char *k, double dflt)
{
    json_t *v = jget(o, k);
    return json_is_number(v) ? json_number_value(v) : dflt;
}

static const char *jstr(json_t *o, const char *k)
{
    return json_string_value(jget(o, k));
}

static const char *plural(long long n)
{
    return n == 1 ? "" : "s";
}

/* "2026-11-23T22:00:01Z" → "2026-11-23 22:00:01 UTC" */
static void when_str(const char *iso, char *buf, size_t n)
{
    if (!iso || !*iso) {
        snprintf(buf, n, "?");
        return;
    }
    snprintf(buf, n, "%s", iso);
    char *t = strchr(buf, 'T');
    if (t)
        *t = ' ';
    size_t l = strlen(buf);
    if (l && buf[l - 1] == 'Z' && l + 4 < n)
        strcpy(buf + l - 1, " UTC");
}

static void duration_str(double s, char *buf, size_t n)
{
    if (s < 0)
        snprintf(buf, n, "?");
    else if (s < 90)
        snprintf(buf, n, "%.1f s", s);
    else if (s < 3600)
        snprintf(buf, n, "%d min %02d s", (int)(s / 60), (int)s % 60);
    else
        snprintf(buf, n, "%d h %02d min", (int)(s / 3600),
                 (int)(s / 60) % 60);
}

static const char *exit_meaning(long long code)
{
    switch (code) {
    case SH_EXIT_OK: return "everything done";
    case SH_EXIT_PARTIAL: return "some dossiers failed; the rest completed";
    case SH_EXIT_USAGE: return "usage or configuration error";
    case SH_EXIT_LOCKED: return "another run held the warehouse";
    case SH_EXIT_DEADLINE: return "time limit reached with work left";
    default: return "unexpected exit status";
    }
}

/* Append ", N what" to b when N > 0 (N < 0: absent, nothing). */
static void count_part(sh_buf *b, long long n, const char *what)
{
    if (n <= 0)
        return;
    sh_buf_printf(b, "%s%lld %s", b->len ? ", " : "", n, what);
}

static int is_quarantine(const char *reason)
{
    return reason && (strstr(reason, "quarantined") ||
                      strstr(reason, "timed out") ||
                      strstr(reason, "time limit"));
}

/*
 * sh_report_print — print a run report for people (see pipeline.h).
 */
void sh_report_print(json_t *report, FILE *f)
{
    char a[64], b[64], d[64];
    if (!json_is_object(report)) {
        fputs("(no report)\n", f);
        return;
    }
    long long id = jint(report, "run");
    int complete = !json_is_false(jget(report, "complete"));
    long long code = jint(report, "exit_code");
    const char *note = jstr(report, "note");

    /* Headline: which run, how it ended. */
    if (id >= 0)
        fprintf(f, "Run %lld", id);
    else
        fputs("Run", f);
    if (complete && code >= 0)
        fprintf(f, ": %s (exit status %lld)\n", exit_meaning(code), code);
    else if (complete)
        fputc('\n', f);
    else
        fprintf(f, ": %s\n", note ? note : "did not finish");

    if (jstr(report, "started")) {
        when_str(jstr(report, "started"), a, sizeof a);
        fprintf(f, "  started   %s\n", a);
    }
    if (jstr(report, "finished")) {
        when_str(jstr(report, "finished"), b, sizeof b);
        fprintf(f, "  finished  %s\n", b);
    } else if (jstr(report, "last_seen")) {
        when_str(jstr(report, "last_seen"), b, sizeof b);
        fprintf(f, "  last sign of work  %s\n", b);
    }
    double wall = jnum(report, "wall_s", -1);
    if (wall >= 0) {
        duration_str(wall, d, sizeof d);
        fprintf(f, "  wall time %s\n", d);
    } else if ((wall = jnum(report, "wall_s_at_least", -1)) >= 0) {
        duration_str(wall, d, sizeof d);
        fprintf(f, "  worked at least %s\n", d);
    }
    if (jstr(report, "args"))
        fprintf(f, "  command   sohoa %s\n", jstr(report, "args"));
    if (!complete)
        fputs("  (no report was stored by the run; the figures below are "
              "rebuilt from the catalog as it stands now)\n",
              f);

    /* What went in, what came out. */
    json_t *ds = jget(report, "dossiers");
    json_t *pg = jget(report, "pages");
    fputc('\n', f);
    long long din = jint(ds, "in"), pin = jint(pg, "in");
    if (din >= 0 || pin >= 0) {
        fputs("In:    ", f);
        if (din >= 0)
            fprintf(f, "%lld dossier%s", din, plural(din));
        if (pin >= 0)
            fprintf(f, "%s%lld page%s", din >= 0 ? ", " : "", pin,
                    plural(pin));
        fputc('\n', f);
    }
    if (json_is_object(ds)) {
        sh_buf o = {0};
        long long done = jint(ds, "done");
        if (done >= 0)
            sh_buf_printf(&o, "%lld dossier%s done", done, plural(done));
        long long pout = jint(pg, "out");
        if (pout >= 0)
            sh_buf_printf(&o, "%s%lld page%s in %s PDFs", o.len ? " (" : "",
                          pout, plural(pout), done == 1 ? "its" : "their");
        if (pout >= 0 && done >= 0)
            sh_buf_adds(&o, ")");
        long long x = jint(ds, "failed");
        if (x >= 0)
            sh_buf_printf(&o, "%s%lld failed", o.len ? ", " : "", x);
        x = jint(ds, "up_to_date");
        if (x > 0)
            sh_buf_printf(&o, "%s%lld already up to date", o.len ? ", " : "",
                          x);
        x = jint(ds, "left");
        if (x > 0)
            sh_buf_printf(&o, "%s%lld left for the next run",
                          o.len ? ", " : "", x);
        if (o.len)
            fprintf(f, "Out:   %s\n", o.data);
        sh_buf_release(&o);
    }
    if (json_is_object(pg)) {
        sh_buf o = {0};
        count_part(&o, jint(pg, "ocr"), "recognised");
        count_part(&o, jint(pg, "recognised_so_far"),
                   "recognised so far (in this run or before)");
        count_part(&o, jint(pg, "cached"), "from the OCR cache");
        count_part(&o, jint(pg, "failed"), "failed");
        count_part(&o, jint(pg, "quarantined"),
                   "quarantined (the decoder or OCR crashed)");
        count_part(&o, jint(pg, "timed_out"), "timed out");
        if (o.len)
            fprintf(f, "Pages: %s\n", o.data);
        else if (pin > 0)
            fputs("Pages: none recognised yet\n", f);
        sh_buf_release(&o);
        count_part(&o, jint(pg, "blank"), "blank");
        count_part(&o, jint(pg, "split"), "split (two pages on one sheet)");
        count_part(&o, jint(pg, "rotated"), "turned upright");
        count_part(&o, jint(pg, "low_conf"),
                   "with low OCR confidence (worth a look)");
        count_part(&o, jint(pg, "dpi_assumed"),
                   "without a resolution in the file (300 dpi assumed)");
        if (o.len)
            fprintf(f, "       %s\n", o.data);
        sh_buf_release(&o);
    }
    double rate = jnum(report, "pages_per_min", -1);
    if (rate >= 0) {
        fprintf(f, "Rate:  %.1f pages/min", rate);
        long long nw = jint(report, "workers");
        if (nw > 0)
            fprintf(f, " with %lld worker%s", nw, plural(nw));
        double rss = jnum(report, "worker_peak_rss_mb", -1);
        if (rss > 0)
            fprintf(f, " (peak worker memory %.0f MB)", rss);
        fputc('\n', f);
    }
    if (json_is_true(jget(report, "deadline_reached")))
        fputs("       the time limit was reached: no new page was started "
              "after it\n",
              f);

    /* Failures, quarantines first by dossier, with their reasons. */
    json_t *fl = jget(report, "failures");
    size_t nf = json_is_array(fl) ? json_array_size(fl) : 0;
    if (nf) {
        size_t nq = 0;
        for (size_t i = 0; i < nf; i++)
            nq += is_quarantine(jstr(json_array_get(fl, i), "reason"));
        fprintf(f, "\nFailures (%zu", nf);
        if (nq)
            fprintf(f, ", of which %zu quarantined or timed out", nq);
        fputs("):\n", f);
        for (size_t i = 0; i < nf; i++) {
            json_t *e = json_array_get(fl, i);
            const char *dos = jstr(e, "dossier");
            const char *file = jstr(e, "file");
            long long page = jint(e, "page");
            const char *why = jstr(e, "reason");
            fprintf(f, "  %s", dos ? dos : "?");
            if (file)
                fprintf(f, "  %s", file);
            if (page > 0)
                fprintf(f, " page %lld", page);
            fprintf(f, ": %s\n", why ? why : "failed (no reason recorded)");
        }
    } else if (json_is_array(fl)) {
        fputs("\nNo failures.\n", f);
    }

    /* Streams cut at separator sheets: the clerk's mistakes. */
    json_t *sp = jget(jget(report, "streams"), "problems");
    size_t nsp = json_is_array(sp) ? json_array_size(sp) : 0;
    if (nsp) {
        size_t nun = json_array_size(jget(jget(report, "streams"),
                                          "unassigned"));
        fprintf(f, "\nStacks (%zu problem%s, %zu page%s unassigned):\n",
                nsp, nsp == 1 ? "" : "s", nun, nun == 1 ? "" : "s");
        for (size_t i = 0; i < nsp; i++) {
            json_t *e = json_array_get(sp, i);
            const char *file = jstr(e, "file"), *why = jstr(e, "reason");
            fprintf(f, "  %s page %lld: %s\n", file ? file : "?",
                    jint(e, "page"), why ? why : "?");
        }
    }

    json_t *left = jget(report, "left");
    size_t nl = json_is_array(left) ? json_array_size(left) : 0;
    if (nl) {
        fprintf(f, "\nLeft for the next run (%zu dossier%s):", nl,
                nl == 1 ? "" : "s");
        for (size_t i = 0; i < nl; i++) {
            const char *s = json_string_value(json_array_get(left, i));
            fprintf(f, "%s%s", i % 6 ? " " : "\n  ", s ? s : "?");
        }
        fputc('\n', f);
    }
}

/* ------------------------------------------------------------------ */
/* catalog                                                             */

int sh_catalog_open_ro(const char *wh, struct sqlite3 **db)
{
    char p[4096];
    struct stat st;
    *db = NULL;
    snprintf(p, sizeof p, "%s/catalog.db", wh);
    if (stat(p, &st) < 0) {
        fprintf(stderr,
                "sohoa: no warehouse at %s (no catalog.db: %s); run "
                "'sohoa run --warehouse %s BATCH' first\n",
                wh, strerror(errno), wh);
        return SH_EXIT_USAGE;
    }
    sh_err err = {0};
    if (sh_db_open(wh, 1, db, &err)) {
        fprintf(stderr, "sohoa: %s\n", err.msg);
        return SH_EXIT_USAGE;
    }
    return SH_EXIT_OK;
}

static int pid_is_sohoa_run(long long pid)
{
    if (pid <= 0 || (kill((pid_t)pid, 0) < 0 && errno != EPERM))
        return 0;
    char p[64], cmd[4096];
    snprintf(p, sizeof p, "/proc/%lld/cmdline", pid);
    FILE *f = fopen(p, "re");
    if (!f)
        return 0;
    size_t n = fread(cmd, 1, sizeof cmd - 1, f);
    fclose(f);
    cmd[n] = 0;
    /* argv[0] ends with "sohoa", argv[1] is "run" */
    size_t l0 = strlen(cmd);
    return l0 >= 5 && !strcmp(cmd + l0 - 5, "sohoa") && l0 + 1 < n &&
           !strcmp(cmd + l0 + 1, "run");
}

/* Does the run's argument string name batch folder `batch`? */
static int args_name_batch(const char *args, const char *batch)
{
    if (!args || !batch || !*batch)
        return 0;
    size_t lb = strlen(batch);
    for (const char *p = strstr(args, batch); p; p = strstr(p + 1, batch)) {
        int start = p == args || p[-1] == ' ';
        int end = p[lb] == 0 || p[lb] == ' ';
        if (start && end)
            return 1;
    }
    return 0;
}

/* Seconds between two catalog times ("YYYY-MM-DDTHH:MM:SSZ"), or -1. */
static double iso_diff(const char *a, const char *b)
{
    struct tm ta = {0}, tb = {0};
    if (!a || !b || !strptime(a, "%Y-%m-%dT%H:%M:%SZ", &ta) ||
        !strptime(b, "%Y-%m-%dT%H:%M:%SZ", &tb))
        return -1;
    double d = difftime(timegm(&tb), timegm(&ta));
    return d >= 0 ? d : -1;
}

static long long count_q(sqlite3 *db, const char *sql, const char *a,
                         long long b)
{
    sqlite3_stmt *st;
    long long n = 0;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return -1;
    if (a)
        sqlite3_bind_text(st, 1, a, -1, SQLITE_TRANSIENT);
    if (b >= 0)
        sqlite3_bind_int64(st, 2, b);
    if (sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

/*
 * sh_report_from_catalog — a report for run `id` rebuilt from the catalog
 * (see pipeline.h).
 */
json_t *sh_report_from_catalog(struct sqlite3 *db, long long id)
{
    sqlite3_stmt *st = NULL;
    json_t *rep = NULL, *left = NULL, *fails = NULL;
    char *started = NULL, *args = NULL;
    if (sqlite3_prepare_v2(db,
                           "SELECT started, finished, pid, args, state,"
                           " exit_code, (SELECT max(id) FROM run) FROM run"
                           " WHERE id=?",
                           -1, &st, NULL) != SQLITE_OK)
        return NULL;
    sqlite3_bind_int64(st, 1, id);
    if (sqlite3_step(st) != SQLITE_ROW)
        goto out;
    started = sh_strdup((const char *)sqlite3_column_text(st, 0));
    const char *finished = (const char *)sqlite3_column_text(st, 1);
    int ended = finished != NULL;
    long long pid = sqlite3_column_int64(st, 2);
    args = sh_strdup((const char *)sqlite3_column_text(st, 3));
    long long last = sqlite3_column_int64(st, 6);
    rep = json_object();
    json_object_set_new(rep, "run", json_integer(id));
    json_object_set_new(rep, "complete", json_false());
    if (started)
        json_object_set_new(rep, "started", json_string(started));
    if (args)
        json_object_set_new(rep, "args", json_string(args));
    char note[256];
    if (ended) {
        json_object_set_new(rep, "finished", json_string(finished));
        double w = iso_diff(started, finished);
        if (w >= 0)
            json_object_set_new(rep, "wall_s", json_real(w));
        if (sqlite3_column_type(st, 5) == SQLITE_INTEGER)
            json_object_set_new(rep, "exit_code",
                                json_integer(sqlite3_column_int64(st, 5)));
        snprintf(note, sizeof note,
                 "finished (exit status %lld: %s) but stored no report",
                 (long long)sqlite3_column_int64(st, 5),
                 exit_meaning(sqlite3_column_int64(st, 5)));
    } else if (id == last && pid_is_sohoa_run(pid)) {
        snprintf(note, sizeof note, "still running (pid %lld)", pid);
    } else {
        snprintf(note, sizeof note,
                 "did not finish: the run was stopped (killed, crashed or "
                 "the machine went down) before writing its report; the "
                 "next run resumes its work");
    }
    if (id != last) {
        size_t l = strlen(note);
        snprintf(note + l, sizeof note - l,
                 "; later runs have changed the catalog since");
    }
    json_object_set_new(rep, "note", json_string(note));
    sqlite3_finalize(st);
    st = NULL;

    /* Last sign of life: the latest event of the run. */
    if (sqlite3_prepare_v2(db, "SELECT max(time) FROM event WHERE run=?", -1,
                           &st, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, id);
        const char *seen = NULL;
        if (sqlite3_step(st) == SQLITE_ROW)
            seen = (const char *)sqlite3_column_text(st, 0);
        if (seen && !ended) {
            json_object_set_new(rep, "last_seen", json_string(seen));
            double w = iso_diff(started, seen);
            if (w >= 0)
                json_object_set_new(rep, "wall_s_at_least", json_real(w));
        }
        sqlite3_finalize(st);
        st = NULL;
    }

    /* Dossiers of the run's batch folders. */
    long long din = 0, ddone = 0, dfail = 0, dup = 0, dleft = 0;
    long long pin = 0, pout = 0, pocr = 0, pfail = 0, pquar = 0, ptime = 0,
              pblank = 0, pdpi = 0;
    left = json_array();
    if (sqlite3_prepare_v2(db,
                           "SELECT id, batch, state, updated FROM dossier"
                           " ORDER BY id",
                           -1, &st, NULL) != SQLITE_OK)
        goto out;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *did = (const char *)sqlite3_column_text(st, 0);
        const char *batch = (const char *)sqlite3_column_text(st, 1);
        const char *state = (const char *)sqlite3_column_text(st, 2);
        const char *upd = (const char *)sqlite3_column_text(st, 3);
        if (!args_name_batch(args, batch))
            continue;
        din++;
        int touched = upd && started && strcmp(upd, started) >= 0;
        if (state && !strcmp(state, "done"))
            touched ? ddone++ : dup++;
        else if (state && !strcmp(state, "failed"))
            dfail++;
        else {
            dleft++;
            json_array_append_new(left, json_string(did));
        }
        pin += count_q(db, "SELECT count(*) FROM page WHERE dossier=?", did,
                       -1);
        if (state && !strcmp(state, "done"))
            pout += count_q(db,
                            "SELECT count(*) FROM page WHERE dossier=? AND"
                            " pageno IS NOT NULL",
                            did, -1);
        pocr += count_q(db,
                        "SELECT count(*) FROM page WHERE dossier=? AND"
                        " state='ocr'",
                        did, -1);
        pfail += count_q(db,
                         "SELECT count(*) FROM page WHERE dossier=? AND"
                         " state='failed'",
                         did, -1);
        pquar += count_q(db,
                         "SELECT count(*) FROM page WHERE dossier=? AND"
                         " state='quarantined'",
                         did, -1);
        ptime += count_q(db,
                         "SELECT count(*) FROM page WHERE dossier=? AND"
                         " state='timeout'",
                         did, -1);
        pblank += count_q(db,
                          "SELECT count(*) FROM page WHERE dossier=? AND"
                          " kind='blank'",
                          did, -1);
        pdpi += count_q(db,
                        "SELECT count(*) FROM page WHERE dossier=? AND"
                        " dpi_assumed",
                        did, -1);
    }
    sqlite3_finalize(st);
    st = NULL;
    json_object_set_new(rep, "dossiers",
                        json_pack("{sIsIsIsIsI}", "in", (json_int_t)din,
                                  "done", (json_int_t)ddone, "failed",
                                  (json_int_t)dfail, "up_to_date",
                                  (json_int_t)dup, "left",
                                  (json_int_t)dleft));
    /* "ocr" here is every page with a stored recognition, cached or not:
       the catalog does not say which run recognised it. */
    json_t *pages = json_pack("{sIsIsIsIsIsIsI}", "in", (json_int_t)pin,
                              "out", (json_int_t)pout, "failed",
                              (json_int_t)pfail, "quarantined",
                              (json_int_t)pquar, "timed_out",
                              (json_int_t)ptime, "blank", (json_int_t)pblank,
                              "dpi_assumed", (json_int_t)pdpi);
    json_object_set_new(pages, "recognised_so_far", json_integer(pocr));
    json_object_set_new(rep, "pages", pages);
    json_object_set_new(rep, "left", left);
    left = NULL;

    /* Failures: the error events of this run. */
    fails = json_array();
    if (sqlite3_prepare_v2(db,
                           "SELECT dossier, file, frame, reason FROM event"
                           " WHERE run=? AND level='error' ORDER BY id",
                           -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, id);
        while (sqlite3_step(st) == SQLITE_ROW) {
            json_t *e = json_object();
            for (int i = 0; i < 4; i++) {
                static const char *const keys[] = {"dossier", "file", "page",
                                                   "reason"};
                if (sqlite3_column_type(st, i) == SQLITE_NULL)
                    continue;
                if (i == 2)
                    json_object_set_new(
                        e, keys[i],
                        json_integer(sqlite3_column_int64(st, i) + 1));
                else
                    json_object_set_new(
                        e, keys[i],
                        json_string((const char *)sqlite3_column_text(st,
                                                                      i)));
            }
            json_array_append_new(fails, e);
        }
        sqlite3_finalize(st);
        st = NULL;
    }
    json_object_set_new(rep, "failures", fails);
    fails = NULL;
out:
    if (st)
        sqlite3_finalize(st);
    json_decref(left);
    json_decref(fails);
    free(started);
    free(args);
    return rep;
}

/* ------------------------------------------------------------------ */
/* the command                                                         */

static void report_usage(FILE *f)
{
    fputs("usage: sohoa report [--warehouse DIR] [--json] [--run ID]\n"
          "  the summary of the last run (or run ID): what went in, what\n"
          "  came out, failures with their reasons, rate, what is left\n",
          f);
}

int sh_cmd_report(int argc, char **argv)
{
    sh_opts o;
    int c, rc = SH_EXIT_USAGE;
    long long want = -1;
    static const struct option opts[] = {
        SH_LONGOPT_WAREHOUSE, SH_LONGOPT_JSON,
        {"run", required_argument, NULL, 'r'},
        SH_LONGOPT_HELP,
        {NULL, 0, NULL, 0},
    };
    sh_opts_init(&o);
    optind = 1;
    while ((c = getopt_long(argc, argv, SH_OPTS_SHORT "r:", opts, NULL)) !=
           -1) {
        if (c == 'r') {
            int id;
            sh_err oerr = {0};
            if (sh_opt_int("--run", optarg, 1, INT_MAX, &id, &oerr)) {
                fprintf(stderr, "sohoa report: %s (a run number)\n",
                        oerr.msg);
                return SH_EXIT_USAGE;
            }
            want = id;
            continue;
        }
        switch (sh_opt_common(&o, c, optarg)) {
        case SH_OPT_TAKEN: break;
        case SH_OPT_HELP: report_usage(stdout); return SH_EXIT_OK;
        default: report_usage(stderr); return SH_EXIT_USAGE;
        }
    }
    const char *wh = o.warehouse;
    int as_json = o.json;
    if (optind < argc) {
        fprintf(stderr, "sohoa report: unexpected argument '%s'\n",
                argv[optind]);
        report_usage(stderr);
        return SH_EXIT_USAGE;
    }
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    json_t *rep = NULL;
    if ((rc = sh_catalog_open_ro(wh, &db)))
        return rc;
    rc = SH_EXIT_USAGE;
    if (sqlite3_prepare_v2(db,
                           want > 0 ? "SELECT id, report, started, args FROM"
                                      " run WHERE id=?"
                                    : "SELECT id, report, started, args FROM"
                                      " run ORDER BY id DESC LIMIT 1",
                           -1, &st, NULL) != SQLITE_OK) {
        fprintf(stderr, "sohoa report: %s: %s\n", wh, sqlite3_errmsg(db));
        goto out;
    }
    if (want > 0)
        sqlite3_bind_int64(st, 1, want);
    if (sqlite3_step(st) != SQLITE_ROW) {
        if (want > 0)
            fprintf(stderr, "sohoa report: no run %lld in %s\n", want, wh);
        else
            fprintf(stderr, "sohoa report: no run recorded in %s yet\n", wh);
        goto out;
    }
    long long id = sqlite3_column_int64(st, 0);
    const char *text = (const char *)sqlite3_column_text(st, 1);
    if (text && *text) {
        json_error_t je;
        rep = json_loads(text, 0, &je);
        if (!json_is_object(rep)) {
            fprintf(stderr,
                    "sohoa report: run %lld: the stored report is not "
                    "readable JSON (%s, line %d); rebuilding from the "
                    "catalog\n",
                    id, je.text, je.line);
            json_decref(rep);
            rep = NULL;
        }
    }
    /* The run row knows when and how it was started. */
    for (int i = 2; rep && i < 4; i++) {
        const char *k = i == 2 ? "started" : "args";
        const char *v = (const char *)sqlite3_column_text(st, i);
        if (v && !json_object_get(rep, k))
            json_object_set_new(rep, k, json_string(v));
    }
    sqlite3_finalize(st);
    st = NULL;
    if (!rep && !(rep = sh_report_from_catalog(db, id))) {
        fprintf(stderr, "sohoa report: run %lld: %s\n", id,
                sqlite3_errmsg(db));
        goto out;
    }
    if (as_json) {
        json_dumpf(rep, stdout, JSON_INDENT(1));
        fputc('\n', stdout);
    } else {
        sh_report_print(rep, stdout);
    }
    rc = fflush(stdout) == 0 ? SH_EXIT_OK : SH_EXIT_USAGE;
out:
    if (st)
        sqlite3_finalize(st);
    json_decref(rep);
    sh_db_close(&db);
    return rc;
}

void sh_run_record_end(sqlite3 *db, long long id, const char *when,
                       int exit_code, json_t *report)
{
    sqlite3_stmt *st;
    char *rs = report ? json_dumps(report, JSON_COMPACT) : NULL;
    if (!sh_db_prep(db,
                    "UPDATE run SET finished=?, state=?, exit_code=?, report=?"
                    " WHERE id=?",
                    &st, NULL)) {
        sh_db_bind_text(st, 1, when);
        sh_db_bind_text(st, 2, exit_code ? "partial" : "done");
        sqlite3_bind_int(st, 3, exit_code);
        sh_db_bind_text(st, 4, rs);
        sqlite3_bind_int64(st, 5, id);
        sh_db_done(db, st, NULL);
    }
    free(rs);
}
