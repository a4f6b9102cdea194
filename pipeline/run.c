/*
 * run.c — `sohoa run`: batch folders in, searchable PDFs and index out.
 *
 *   sh_cmd_run            the command, as named steps (below)
 *   sh_run_event          a line in the catalog's event log
 *   sh_run_dossier_error  a dossier fails at a file or page
 *   sh_run_img_path       where a page's image waits for assembly
 *
 * Method.  The run lists each batch, hashes every source file and compares
 * each dossier with the catalog: a dossier whose inputs are unchanged and
 * whose PDF is in place is left alone (no OCR, nothing written).  Other
 * dossiers are taken out of the index and re-planned page by page: a page
 * whose source file (by SHA-256) and frame were already recognised keeps
 * its OCR result, so a file added to a dossier costs only its own pages
 * (run_plan.c).
 *
 * Pages go to N worker processes (`sohoa worker`, one per core, each with
 * OMP_THREAD_LIMIT=1 in its environment from exec time and one Tesseract
 * engine for its life) over pipes, one JSON line per job and per result
 * (run_pool.c).  Each result is committed to the catalog at once (the job
 * journal), so a killed run resumes where it stopped.  When every page of
 * a dossier is recognised, the dossier's PDF is written (temp file, fsync,
 * rename) and its pages are placed and indexed in one transaction
 * (run_assemble.c).
 *
 * A worker that dies costs its page only: the page is quarantined with the
 * reason and a new worker is started.  A page that does not decode fails its
 * dossier (reported by file, frame and reason); the rest of the batch goes
 * on.  The run ends with its report (run_report.c) in the run table.
 *
 * sh_cmd_run's steps, in order: parse_args, open_warehouse, record_start,
 * list_batches, plan_all, sh_run_pool, summarise, record_end, run_release.
 */
#include "run_int.h"
#include "../base/opts.h"
#include "../index/index.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------ */
/* the run's event log                                                 */

void sh_run_event(run *r, const char *level, const char *dossier,
                  const char *file, int frame, const char *what,
                  const char *reason)
{
    sqlite3_stmt *st;
    char when[32];
    sh_now_iso(when);
    if (sh_db_prep(r->db,
                   "INSERT INTO event(run,time,level,dossier,file,frame,what,"
                   "reason) VALUES(?,?,?,?,?,?,?,?)",
                   &st, NULL))
        return;
    sqlite3_bind_int64(st, 1, r->run_id);
    sh_db_bind_text(st, 2, when);
    sh_db_bind_text(st, 3, level);
    sh_db_bind_text(st, 4, dossier);
    sh_db_bind_text(st, 5, file);
    sh_db_bind_int_or_null(st, 6, frame);
    sh_db_bind_text(st, 7, what);
    sh_db_bind_text(st, 8, reason);
    sh_db_done(r->db, st, NULL);
}

void sh_run_dossier_error(run *r, int d, const char *file, int frame,
                          const char *reason)
{
    dstate *s = &r->st[d];
    s->failed = 1;
    if (s->errors.len)
        sh_buf_adds(&s->errors, "; ");
    if (frame >= 0)
        sh_buf_printf(&s->errors, "%s frame %d: %s", file, frame + 1, reason);
    else
        sh_buf_printf(&s->errors, "%s: %s", file, reason);
    if (frame >= 0)
        sh_log(SH_LOG_ERROR, "%s/%s page %d: %s", r->ds[d].id, file,
               frame + 1, reason);
    else
        sh_log(SH_LOG_ERROR, "%s/%s: %s", r->ds[d].id, file, reason);
    sh_run_event(r, "error", r->ds[d].id, file, frame, "failed", reason);
}

void sh_run_img_path(const run *r, int64_t page_id, char *buf, size_t n)
{
    snprintf(buf, n, "%s/.work/%lld.img", r->wh, (long long)page_id);
}

/* ------------------------------------------------------------------ */
/* options                                                             */

static void usage(void)
{
    fputs("usage: sohoa run [--warehouse DIR] [--jobs N] [--agency CODE]\n"
          "                 [--page-timeout S] [--max-minutes N]\n"
          "                 [--deadline HH:MM] [--keep-blanks] [--shard K/N]\n"
          "                 [--model fast|best] [--correct on|off]\n"
          "                 [--no-correct] [--stream NAME] [--quiet]\n"
          "                 [--log-json]\n"
          "                 BATCH_DIR...\n"
          "  --jobs N          worker processes (default: one per core)\n"
          "  --agency CODE     agency that owns these dossiers\n"
          "  --page-timeout S  give up on a page after S seconds (default 180)\n"
          "  --max-minutes N   start no new page after N minutes\n"
          "  --deadline HH:MM  start no new page after this local time\n"
          "                    (tomorrow if already past); exit 4 if work is\n"
          "                    left; the next run resumes\n"
          "  --shard K/N       only the dossiers whose stable hash (batch\n"
          "                    folder name + dossier id) falls in shard K of\n"
          "                    N, 0 <= K < N (for clusters; see README)\n"
          "  --model M         Vietnamese model: fast (default; Debian's) or\n"
          "                    best (the larger network, ~1.3x OCR time);\n"
          "                    also SOHOA_MODEL; best falls back to fast\n"
          "                    when not installed (make deps)\n"
          "  --correct on|off  Vietnamese tone-mark correction of the OCR\n"
          "                    (default on; also SOHOA_CORRECT);\n"
          "                    --no-correct = --correct off\n"
          "  --stream NAME     the batch's sub-folder NAME is a stack scanned\n"
          "                    at once, cut into dossiers at its separator\n"
          "                    sheets (files straight in the batch folder\n"
          "                    always are; see `sohoa separators`)\n"
          "  --only ID         only dossier ID of the batches (the review\n"
          "                    station uses it after a clerk's change)\n"
          "  --keep-blanks     keep blank pages in the PDFs (they are always\n"
          "                    recorded in the catalog)\n"
          "  --quiet           warnings and errors only\n"
          "  --log-json        log lines as JSON objects, for collectors\n",
          stderr);
}

/* Seconds from now until local time HH:MM (tomorrow if already past);
   -1 if s is not HH:MM. */
static double seconds_until(const char *s)
{
    int h, m;
    char extra;
    if (sscanf(s, "%d:%d%c", &h, &m, &extra) != 2 || h < 0 || h > 23 ||
        m < 0 || m > 59)
        return -1;
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    tm.tm_hour = h;
    tm.tm_min = m;
    tm.tm_sec = 0;
    tm.tm_isdst = -1;
    time_t t = mktime(&tm);
    if (t <= now)
        t += 24 * 3600;
    return difftime(t, now);
}

/* Step 1.  Options into r (and the deadline into r->stop_at; r->t_start
   is now).  Returns -1 to go on, else the exit status (usage printed). */
static int parse_args(run *r, int argc, char **argv)
{
    double max_minutes = 0;
    const char *deadline = NULL;
    sh_opts ov;
    sh_err oerr = {0};
    static const struct option opts[] = {
        SH_LONGOPT_WAREHOUSE,
        {"jobs", required_argument, NULL, 'j'},
        {"agency", required_argument, NULL, 'a'},
        {"page-timeout", required_argument, NULL, 't'},
        {"max-minutes", required_argument, NULL, 'm'},
        {"deadline", required_argument, NULL, 'D'},
        {"quiet", no_argument, NULL, 'q'},
        {"keep-blanks", no_argument, NULL, 'k'},
        {"shard", required_argument, NULL, 'S'},
        {"model", required_argument, NULL, 'M'},
        {"correct", required_argument, NULL, 'C'},
        {"no-correct", no_argument, NULL, 'N'},
        {"log-json", no_argument, NULL, 'J'},
        {"stream", required_argument, NULL, 's'},
        {"only", required_argument, NULL, 'O'},
        SH_LONGOPT_HELP,
        {NULL, 0, NULL, 0},
    };
    int c;
    sh_opts_init(&ov);
    r->nw = (int)sysconf(_SC_NPROCESSORS_ONLN);
    r->page_timeout = 180;
    optind = 1;
    while ((c = getopt_long(argc, argv, "w:j:a:t:m:D:S:M:C:s:O:qkJh", opts,
                            NULL)) !=
           -1) {
        int bad = 0;
        switch (c) {
        /* -j is --jobs here (run has no --json) */
        case 'j': bad = sh_opt_int("--jobs", optarg, 1, 256, &r->nw, &oerr);
                  break;
        case 'a': r->agency = optarg; break;
        case 't': bad = sh_opt_int("--page-timeout", optarg, 1, INT_MAX,
                                   &r->page_timeout, &oerr);
                  break;
        case 'm': bad = sh_opt_double("--max-minutes", optarg, 0, 1e9,
                                      &max_minutes, &oerr);
                  break;
        case 'D': deadline = optarg; break;
        case 'k': r->keep_blanks = 1; break;
        case 'O': r->only = optarg; break;
        case 's':
            if (!*optarg || strchr(optarg, '/') || optarg[0] == '.') {
                fprintf(stderr, "sohoa run: --stream wants the name of a "
                                "sub-folder of the batch, not '%s'\n", optarg);
                return SH_EXIT_USAGE;
            }
            r->stream_name = optarg;
            break;
        case 'S': {
            char extra;
            if (sscanf(optarg, "%d/%d%c", &r->shard_k, &r->shard_n, &extra) != 2 ||
                r->shard_n < 1 || r->shard_k < 0 || r->shard_k >= r->shard_n) {
                fprintf(stderr, "sohoa run: --shard wants K/N with 0 <= K < N, "
                                "not '%s'\n", optarg);
                return SH_EXIT_USAGE;
            }
            break;
        }
        case 'M':   /* the workers read it from their environment */
            if (strcmp(optarg, "fast") && strcmp(optarg, "best")) {
                fprintf(stderr, "sohoa run: --model is fast or best, not "
                                "'%s'\n", optarg);
                return SH_EXIT_USAGE;
            }
            setenv("SOHOA_MODEL", optarg, 1);
            break;
        case 'C':
            if (strcmp(optarg, "on") && strcmp(optarg, "off")) {
                fprintf(stderr, "sohoa run: --correct is on or off, not "
                                "'%s'\n", optarg);
                return SH_EXIT_USAGE;
            }
            setenv("SOHOA_CORRECT", optarg, 1);
            break;
        case 'N': setenv("SOHOA_CORRECT", "off", 1); break;
        case 'q': sh_log_level = SH_LOG_WARN; r->quiet = 1; break;
        case 'J': sh_log_json = 1; break;
        default:
            switch (sh_opt_common(&ov, c, optarg)) {
            case SH_OPT_TAKEN: break;
            case SH_OPT_HELP: usage(); return SH_EXIT_OK;
            default: usage(); return SH_EXIT_USAGE;
            }
        }
        if (bad) {
            fprintf(stderr, "sohoa run: %s\n", oerr.msg);
            return SH_EXIT_USAGE;
        }
    }
    r->wh = ov.warehouse;
    if (optind >= argc) {
        fprintf(stderr, "sohoa run: name at least one batch folder\n");
        usage();
        return SH_EXIT_USAGE;
    }
    if (r->nw < 1 || r->nw > 256 || r->page_timeout < 1) {
        /* (the default, one per core, on a machine of more than 256) */
        fprintf(stderr, "sohoa run: --jobs must be 1..256 and "
                        "--page-timeout at least 1 second\n");
        return SH_EXIT_USAGE;
    }
    for (int i = optind; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) < 0 || !S_ISDIR(st.st_mode)) {
            fprintf(stderr, "sohoa run: %s: %s\n", argv[i],
                    stat(argv[i], &st) < 0 ? strerror(errno)
                                           : "not a folder");
            return SH_EXIT_USAGE;
        }
    }
    r->t_start = sh_now();
    if (max_minutes > 0)
        r->stop_at = r->t_start + max_minutes * 60;
    if (deadline) {
        double in_s = seconds_until(deadline);
        if (in_s < 0) {
            fprintf(stderr, "sohoa run: --deadline wants HH:MM (24-hour "
                            "local time), not '%s'\n", deadline);
            return SH_EXIT_USAGE;
        }
        if (!r->stop_at || r->t_start + in_s < r->stop_at)
            r->stop_at = r->t_start + in_s;
    }
    r->progress = !r->quiet && !sh_log_json && isatty(2);
    return -1;
}

/* ------------------------------------------------------------------ */
/* the warehouse                                                       */

/* Temporary files a killed run left behind (NAME.tmp.PID).  Only called
   with the lock held, so no live writer owns them. */
static void remove_stale_temps(const char *wh)
{
    static const char *dirs[] = {"pdf", ".work"};
    for (size_t i = 0; i < SH_ARRAY_LEN(dirs); i++) {
        char dir[PATH_MAX + 16];
        snprintf(dir, sizeof dir, "%s/%s", wh, dirs[i]);
        DIR *d = opendir(dir);
        if (!d)
            continue;
        struct dirent *e;
        while ((e = readdir(d)))
            if (strstr(e->d_name, ".tmp.")) {
                char p[PATH_MAX + 300];
                snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
                if (unlink(p) == 0)
                    sh_log(SH_LOG_INFO, "removed %s, left by an interrupted "
                           "run", p);
            }
        closedir(d);
    }
}

/* Step 2.  Create the warehouse's folders, make r->wh absolute, take the
   lock (*lockfd), remove what a killed run left, open the catalog and
   bring its index up to format 2.  Returns SH_EXIT_OK, or the exit
   status (the reason logged; nothing left open). */
static int open_warehouse(run *r, int *lockfd)
{
    sh_err err = {0};
    char work[4096];
    snprintf(work, sizeof work, "%s/.work", r->wh);
    int rc = sh_mkdirs(work, &err);
    if (!rc) {
        char pd[4096];
        snprintf(pd, sizeof pd, "%s/pdf", r->wh);
        rc = sh_mkdirs(pd, &err);
    }
    if (rc) {
        sh_log(SH_LOG_ERROR, "warehouse %s: %s", r->wh, err.msg);
        return SH_EXIT_USAGE;
    }
    /* The catalog records absolute paths, so search, serve and verify
       work from any folder. */
    if (realpath(r->wh, r->wh_abs))
        r->wh = r->wh_abs;
    if ((rc = sh_lock_warehouse(r->wh, "run", lockfd, &err))) {
        sh_log(SH_LOG_ERROR, "%s", err.msg);
        return rc == SH_ELOCKED ? SH_EXIT_LOCKED : SH_EXIT_USAGE;
    }
    remove_stale_temps(r->wh);
    if ((rc = sh_db_open(r->wh, 0, &r->db, &err))) {
        sh_log(SH_LOG_ERROR, "%s", err.msg);
        close(*lockfd);
        *lockfd = -1;
        return SH_EXIT_USAGE;
    }
    if (sh_index_format(r->db) == 1) {
        /* A warehouse from before index format 2: rebuilt once, in one
           transaction (killed midway, it is as it was and the next run
           does it again). */
        double t0 = sh_now();
        sh_log(SH_LOG_INFO, "%s: upgrading the full-text index to format 2 "
               "(once; about 3,000 pages/s)", r->wh);
        if ((rc = sh_index_upgrade(r->db, &err))) {
            sh_log(SH_LOG_ERROR, "%s", err.msg);
            sh_db_close(&r->db);
            close(*lockfd);
            *lockfd = -1;
            return SH_EXIT_USAGE;
        }
        sh_log(SH_LOG_INFO, "index upgraded in %.1f s", sh_now() - t0);
    }
    return SH_EXIT_OK;
}

/* Step 3.  The run's row (state 'running', its command line); r->run_id.
   A catalog failure leaves run_id 0 (no row to finish). */
static void record_start(run *r, int argc, char **argv)
{
    sqlite3_stmt *st;
    char when[32];
    sh_now_iso(when);
    sh_buf a = {0};
    for (int i = 0; i < argc; i++)
        sh_buf_printf(&a, "%s%s", i ? " " : "", argv[i]);
    if (!sh_db_prep(r->db,
                    "INSERT INTO run(started,pid,args,state) VALUES(?,?,?,"
                    "'running')",
                    &st, NULL)) {
        sh_db_bind_text(st, 1, when);
        sqlite3_bind_int(st, 2, (int)getpid());
        sh_db_bind_text(st, 3, a.data);
        sh_db_done(r->db, st, NULL);
        r->run_id = sqlite3_last_insert_rowid(r->db);
    }
    sh_buf_release(&a);
}

/* ------------------------------------------------------------------ */
/* batches and plan                                                    */

/* 1 if folder dir, which holds no dossier folders, is itself a dossier
   folder of its parent (scanner files straight in it). */
static int looks_like_dossier(const char *dir)
{
    sh_dossier_in *one = NULL;
    int n1 = 0, yes = 0;
    sh_err e2 = {0};
    char parent[4096];
    snprintf(parent, sizeof parent, "%s/..", dir);
    if (!sh_batch_list(parent, &one, &n1, &e2))
        for (int k = 0; k < n1; k++) {
            char a1[PATH_MAX], a2[PATH_MAX];
            if (realpath(one[k].dir, a1) && realpath(dir, a2) &&
                !strcmp(a1, a2) && one[k].nfiles > 0)
                yes = 1;
        }
    sh_dossiers_free(&one, n1);
    return yes;
}

/* Step 4.  List the batch folders dirs[0..n): their dossiers into r->ds,
   each batch's manifest.csv (if any) into r->mfs, and r->mf[d] pointing
   at the manifest of dossier d's batch; r->st sized.  Returns SH_OK,
   SH_EUSAGE (a dossier folder named instead of its batch), SH_EIO,
   SH_ENOMEM. */
static int list_batches(run *r, char **dirs, int n, sh_err *err)
{
    int rc = SH_OK;
    int *mf_from = calloc((size_t)n + 1, sizeof *mf_from);
    r->mfs = calloc((size_t)n + 1, sizeof *r->mfs);
    if (!mf_from || !r->mfs)
        rc = sh_errf(err, SH_ENOMEM, "out of memory");
    for (int i = 0; i < n && !rc; i++) {
        int before = r->nds, alone = 0;
        rc = sh_batch_list(dirs[i], &r->ds, &r->nds, err);
        /* Its streams: scanner files straight in it, --stream NAME. */
        if (!rc)
            rc = sh_run_streams(r, dirs[i], before, &alone, err);
        /* The batch's manifest.csv, if any: its dossiers' metadata. */
        mf_from[r->nmfs] = before;
        if (!rc && !(rc = sh_manifest_load(dirs[i], &r->mfs[r->nmfs], err))
            && r->mfs[r->nmfs]) {
            sh_manifest *m = r->mfs[r->nmfs];
            for (int k = 0; k < m->nwarnings; k++)
                sh_log(SH_LOG_WARN, "%s", m->warnings[k]);
            if (m->fatal)
                sh_log(SH_LOG_ERROR, "%s (every dossier of %s fails until "
                       "it is fixed)", m->fatal, dirs[i]);
            else
                sh_log(SH_LOG_INFO, "%s: %d dossier row%s", m->path, m->n,
                       m->n == 1 ? "" : "s");
        }
        r->nmfs++;
        if (!rc && r->nds == before) {
            /* Scanner files straight in the folder and no separator
               sheet: a dossier folder was named instead of its batch. */
            if (alone || looks_like_dossier(dirs[i]))
                rc = sh_errf(err, SH_EUSAGE,
                             "%s holds scanner files but no dossier folders: "
                             "name the batch folder (one sub-folder per "
                             "dossier), e.g. %s/..", dirs[i], dirs[i]);
            else
                sh_log(SH_LOG_WARN, "%s: no dossier folders in this batch",
                       dirs[i]);
        }
    }
    if (!rc) {
        r->st = calloc((size_t)r->nds + 1, sizeof *r->st);
        r->mf = calloc((size_t)r->nds + 1, sizeof *r->mf);
        for (int i = 0; r->mf && i < r->nmfs; i++)
            for (int d = mf_from[i]; d < (i + 1 < r->nmfs ? mf_from[i + 1]
                                                          : r->nds); d++)
                r->mf[d] = r->mfs[i];
        if (!r->st || !r->mf)
            rc = sh_errf(err, SH_ENOMEM, "out of memory");
    }
    free(mf_from);
    return rc;
}

/* Step 5.  Plan every dossier, say what the run will do, and finish the
   dossiers that need no worker (all pages cached).  Returns SH_OK or the
   error that stops the run. */
static int plan_all(run *r, sh_err *err)
{
    int rc = SH_OK;
    for (int d = 0; d < r->nds && !rc; d++)
        rc = sh_run_plan_dossier(r, d, err);
    if (!rc && r->shard_n > 1)
        sh_log(SH_LOG_INFO, "shard %d/%d: %d of %d dossiers are this "
               "shard's", r->shard_k, r->shard_n, r->nds - r->d_other_shard,
               r->nds);
    if (!rc)
        sh_log(SH_LOG_INFO, "%d dossier%s: %d up to date, %d page%s to "
               "recognise, %d to re-encode from cache, with %d worker%s",
               r->nds, r->nds == 1 ? "" : "s", r->d_skipped,
               r->njobs - r->n_render, r->njobs - r->n_render == 1 ? "" : "s",
               r->n_render, r->nw, r->nw == 1 ? "" : "s");
    /* Dossiers with nothing to do (all cached) are assembled now. */
    for (int d = 0; d < r->nds && !rc; d++)
        rc = sh_run_maybe_finish(r, d, err);
    return rc;
}

/* ------------------------------------------------------------------ */
/* the end of a run                                                    */

/* Step 7.  The closing log line and the exit status (exit_code: what the
   run has so far, SH_EXIT_OK or SH_EXIT_USAGE); *report: the report to
   store.  Returns the exit status. */
static int summarise(run *r, int exit_code, json_t **report)
{
    if (r->progress && sh_log_progress) {
        fputs("\r\033[K", stderr);
        sh_log_progress = 0;
    }
    int left = 0;
    for (int d = 0; d < r->nds; d++)
        if (r->st[d].planned && !r->st[d].done)
            left++;
    double wall = sh_now() - r->t_start;
    sh_log(SH_LOG_INFO,
           "run finished in %.1f s: %d dossier%s done, %d failed, %d up to "
           "date, %d left; %d page%s recognised (%.1f pages/min), %d from "
           "cache, %d failed",
           wall, r->d_done, r->d_done == 1 ? "" : "s", r->d_failed,
           r->d_skipped, left, r->p_ocr, r->p_ocr == 1 ? "" : "s",
           wall > 0 ? r->p_ocr * 60.0 / wall : 0, r->p_cached, r->p_failed);
    if (!exit_code)
        exit_code = r->d_failed || r->stream_problems ? SH_EXIT_PARTIAL
                    : left      ? (r->deadline_hit ? SH_EXIT_DEADLINE
                                                   : SH_EXIT_PARTIAL)
                                : SH_EXIT_OK;
    *report = sh_run_report_build(r, wall, exit_code, left);
    return exit_code;
}

/* Step 8.  Finish the run's row: finished, state, exit code, report
   [optional]. */
static void record_end(run *r, int exit_code, json_t *report)
{
    if (!r->db || !r->run_id)
        return;
    char when[32];
    sh_now_iso(when);
    sh_run_record_end(r->db, r->run_id, when, exit_code, report);
}

/* Step 9.  Free what the run holds and close its catalog. */
static void run_release(run *r)
{
    for (int i = 0; i < r->njobs; i++) {
        free(r->jobs[i].path);
        free(r->jobs[i].name);
    }
    free(r->jobs);
    if (r->st)
        for (int d = 0; d < r->nds; d++)
            sh_buf_release(&r->st[d].errors);
    free(r->st);
    free(r->mf);
    for (int i = 0; i < r->nmfs; i++)
        sh_manifest_free(&r->mfs[i]);
    free(r->mfs);
    sh_dossiers_free(&r->ds, r->nds);
    json_decref(r->stream_report);
    sh_db_close(&r->db);
}

/* ------------------------------------------------------------------ */
/* the command                                                         */

int sh_cmd_run(int argc, char **argv)
{
    run R = {0};
    run *r = &R;
    int exit_code = parse_args(r, argc, argv);
    if (exit_code >= 0)
        return exit_code;
    signal(SIGPIPE, SIG_IGN);
    signal(SIGXFSZ, SIG_IGN);   /* a file size limit is a write error */
    int lockfd = -1;
    if ((exit_code = open_warehouse(r, &lockfd)))
        return exit_code;
    record_start(r, argc, argv);

    sh_err err = {0};
    json_t *report = NULL;
    int rc = list_batches(r, argv + optind, argc - optind, &err);
    if (rc) {
        sh_log(SH_LOG_ERROR, "%s", err.msg);
        exit_code = SH_EXIT_USAGE;
        goto out;
    }
    rc = plan_all(r, &err);
    if (!rc && r->njobs)
        rc = sh_run_pool(r, &err);
    if (rc) {
        sh_log(SH_LOG_ERROR, "run stopped: %s", err.msg);
        /* The warehouse cannot be written (disk full, I/O, catalog):
           a configuration matter for ops, not a bad dossier. */
        exit_code = SH_EXIT_USAGE;
    }
    exit_code = summarise(r, exit_code, &report);
out:
    record_end(r, exit_code, report);
    json_decref(report);
    run_release(r);
    if (lockfd >= 0)
        close(lockfd);
    return exit_code;
}
