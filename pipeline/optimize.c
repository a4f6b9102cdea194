/*
 * optimize.c — `sohoa optimize`: the full-text index merged into one
 * b-tree, a bounded step at a time.
 *
 * Pages are indexed into small new b-trees (segments) that SQLite's FTS5
 * merges by levels as they grow: about 15 of them at 5–10M pages, and a
 * search reads each of its words from every one.  Merged into one,
 * multi-word searches take a half to a quarter of their time at 200k
 * pages, single and two-word ones ~20 % less at 10M (README: "Keeping
 * searches fast"; names at 10M did not gain).  The merge is
 * FTS5's own incremental optimize (index/indexer.c), in steps of STEP
 * pages of 4 KB, each its own transaction: searches go on meanwhile; a
 * stop (--max-minutes, a signal, a full disk) loses at most one step, and
 * the next `sohoa optimize` goes on from there.  It takes the warehouse's
 * lock, as a run does: the nightly timer runs it after the run.
 */
#include "pipeline.h"
#include "../base/opts.h"
#include "../index/index.h"

#include <float.h>
#include <stdio.h>
#include <unistd.h>

#define STEP 2000               /* leaf pages merged per transaction  */
#define CHECKPOINT_EVERY 16     /* steps: the WAL stays ~128 MB        */
#define REPORT_S 30.0           /* seconds between progress lines      */

static void optimize_usage(FILE *f)
{
    fputs("usage: sohoa optimize [--warehouse DIR] [--max-minutes M] "
          "[--json]\n"
          "  merge the full-text index into one b-tree (FTS5 optimize, a\n"
          "  step at a time; searches go on meanwhile).  Run it after a\n"
          "  night's run: a catalog of millions of pages reads each word of\n"
          "  a search from ~15 b-trees until then.  --max-minutes stops it\n"
          "  (exit 4); the next one goes on where it stopped.  Exit 0 done,\n"
          "  2 usage or catalog error, 3 a run holds the warehouse\n",
          f);
}

int sh_cmd_optimize(int argc, char **argv)
{
    sh_opts o;
    sh_err err = {0};
    double max_min = 0;
    int c;
    static const struct option opts[] = {
        SH_LONGOPT_WAREHOUSE, SH_LONGOPT_JSON,
        {"max-minutes", required_argument, NULL, 'm'},
        SH_LONGOPT_HELP, {NULL, 0, NULL, 0},
    };
    sh_opts_init(&o);
    optind = 1;
    while ((c = getopt_long(argc, argv, SH_OPTS_SHORT "m:", opts, NULL)) !=
           -1) {
        switch (c) {
        case 'm':
            if (sh_opt_double("--max-minutes", optarg, 0.01, 1e6, &max_min,
                              &err)) {
                fprintf(stderr, "sohoa optimize: %s\n", err.msg);
                return SH_EXIT_USAGE;
            }
            break;
        default:
            switch (sh_opt_common(&o, c, optarg)) {
            case SH_OPT_TAKEN: break;
            case SH_OPT_HELP: optimize_usage(stdout); return SH_EXIT_OK;
            default: optimize_usage(stderr); return SH_EXIT_USAGE;
            }
        }
    }
    if (optind < argc) {
        optimize_usage(stderr);
        return SH_EXIT_USAGE;
    }
    const char *wh = o.warehouse;
    char path[4096];
    snprintf(path, sizeof path, "%s/catalog.db", wh);
    if (access(path, F_OK) != 0) {
        fprintf(stderr, "sohoa optimize: %s: no catalog here (not a "
                "warehouse?)\n", path);
        return SH_EXIT_USAGE;
    }
    int lockfd = -1, rc;
    if ((rc = sh_lock_warehouse(wh, "optimize", &lockfd, &err))) {
        fprintf(stderr, "sohoa optimize: %s\n", err.msg);
        return rc == SH_ELOCKED ? SH_EXIT_LOCKED : SH_EXIT_USAGE;
    }
    sqlite3 *db = NULL;
    int before = 0, now_n = 0, worked = 1, out = SH_EXIT_OK;
    long steps = 0;
    if (sh_db_open(wh, 0, &db, &err) || sh_index_segments(db, &before, &err))
        goto fail;
    double t0 = sh_now(), last = t0;
    sh_log(SH_LOG_INFO, "optimize: %s: the full-text index is %d b-tree%s",
           path, before, before == 1 ? "" : "s");
    while (worked) {
        if (max_min > 0 && sh_now() - t0 > max_min * 60) {
            out = SH_EXIT_DEADLINE;
            break;
        }
        if (sh_index_optimize_step(db, STEP, &worked, &err))
            goto fail;
        steps += worked;
        if (steps % CHECKPOINT_EVERY == 0)
            sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE,
                                      NULL, NULL);
        if (sh_now() - last >= REPORT_S) {
            last = sh_now();
            if (sh_index_segments(db, &now_n, &err))
                goto fail;
            sh_log(SH_LOG_INFO, "optimize: %d b-tree%s left, about %ld MB "
                   "merged, %.0f s", now_n, now_n == 1 ? "" : "s",
                   steps * STEP * 4 / 1024, last - t0);
        }
    }
    sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL,
                              NULL);
    if (sh_index_segments(db, &now_n, &err))
        goto fail;
    double took = sh_now() - t0;
    if (o.json)
        printf("{\"segments_before\": %d, \"segments\": %d, \"steps\": %ld, "
               "\"seconds\": %.1f, \"done\": %s}\n",
               before, now_n, steps, took,
               out == SH_EXIT_OK ? "true" : "false");
    else if (out == SH_EXIT_OK)
        printf("full-text index in %d b-tree%s (was %d); %ld step%s, "
               "%.0f s\n", now_n, now_n == 1 ? "" : "s", before, steps,
               steps == 1 ? "" : "s", took);
    else
        printf("stopped at --max-minutes with the merge under way: %d "
               "b-trees (was %d); the next 'sohoa optimize' goes on\n",
               now_n, before);
    sh_db_close(&db);
    close(lockfd);
    return fflush(stdout) ? SH_EXIT_USAGE : out;
fail:
    fprintf(stderr, "sohoa optimize: %s: %s%s\n", path, err.msg,
            steps ? " (the steps done are kept; run it again to go on)"
                  : "");
    sh_db_close(&db);
    close(lockfd);
    return SH_EXIT_USAGE;
}
