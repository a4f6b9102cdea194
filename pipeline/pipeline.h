/*
 * pipeline.h — the stages driven together: batch listing, worker processes,
 * the job journal, dossier assembly, and the CLI commands over them.
 */
#ifndef SH_PIPELINE_H
#define SH_PIPELINE_H

#include "../base/common.h"
#include <jansson.h>

/* ---- batch listing ---- */
typedef struct sh_infile {
    char *name;       /* file name inside the dossier folder */
    char *path;       /* full path */
    int64_t size, mtime;
    char sha256[65];  /* "" when the file could not be read */
    char *error;      /* why it could not be read, or NULL */
    /* A file of a stream (pipeline/stream.h): only these frames (0-based,
       in stream order) belong to the dossier, fsha[k] the SHA-256 of
       frames[k]'s decoded pixels (the key of its OCR cache, so a stream
       file that grows keeps the pages it had).  NULL / 0: every frame. */
    int *frames;
    char (*fsha)[65];
    int nframes;
} sh_infile;

typedef struct sh_dossier_in {
    char *id;         /* folder name = dossier id */
    char *dir;
    char *batch;
    sh_infile *files;
    int nfiles;
    int stream;       /* 1: cut from a stream at separator sheets (dir is
                         the stream's folder) */
} sh_dossier_in;

/* List BATCH_DIR's dossier folders (natural order) and their scanner files
   (natural order), hashing each file.  Appends to *ds / *n. */
int sh_batch_list(const char *batch_dir, sh_dossier_in **ds, int *n,
                  sh_err *err);
void sh_dossiers_free(sh_dossier_in **ds, int n);
/* The scanner files straight in dir (natural order), hashed as
   sh_batch_list hashes them: a stream's files.  *files (caller frees
   with sh_infiles_free) and *n are set on SH_OK; SH_EIO, SH_ENOMEM. */
int sh_batch_files(const char *dir, sh_infile **files, int *n, sh_err *err);
void sh_infiles_free(sh_infile **files, int n);
/* Shard (0..n-1) of a dossier: a stable hash of the batch folder's name
   (not its path) and the dossier id. */
int sh_shard_of(const char *batch, const char *id, int n);

/* ---- worker protocol (one JSON object per line each way) ----
 * job:    {"id":N, "path":"…", "frame":F, "img":"…/N.img", "timeout":S,
 *          "mode":"ocr"|"render"}   (render: re-encode the image only)
 * result: {"id":N, "ok":true, "parts":[{"geom":{…}, "text":"…",
 *          "words":[[…]], "conf":C, "t":{…}}, …], "codec":"…",
 *          "dpi_assumed":B, "t":{…}}   (two parts for a two-up sheet)
 *      or {"id":N, "ok":false, "rc":RC, "error":"…"}
 */
int sh_worker_main(void);

/* ---- commands ---- */
int sh_cmd_run(int argc, char **argv);
int sh_cmd_status(int argc, char **argv);
int sh_cmd_search(int argc, char **argv);


/* ==== run report and fixity check (report.c, verify.c) ================ */

/* The report a run stores in run.report (JSON; every key optional):
 *   {"run":ID, "started":"ISO", "finished":"ISO", "wall_s":X,
 *    "exit_code":N,
 *    "dossiers":{"in","done","failed","up_to_date","left"},
 *    "pages":{"in","out","ocr","cached","failed","quarantined","timed_out",
 *             "blank","split","rotated","low_conf","dpi_assumed"},
 *    "pages_per_min":X,
 *    "failures":[{"dossier","file","page","reason"}], "left":["id",...],
 *    "streams":{"streams":[{"stream","files","pages","separators",
 *               "dossiers","unassigned"}],
 *               "problems":[{"stream","file","page","what","reason"}],
 *               "unassigned":[{"stream","file","page","reason"}]}}
 *    ("streams" only when a batch held a stream: pipeline/stream.h)
 * Also printed when present: "workers", "worker_peak_rss_mb",
 * "deadline_reached", "args" (the run's command line, from run.args).
 * A report rebuilt from the catalog (no run.report: the run was killed or
 * is still running) has "complete":false, "note" (why), "last_seen" and
 * "wall_s_at_least" (from its last event), and pages.recognised_so_far
 * instead of pages.ocr/cached (the catalog does not say which run
 * recognised a page). */
#include <stdio.h>
struct sqlite3;

/* Print report for people on f: how the run ended, what went in and came
   out, failures and quarantines with reasons, rate, wall time, what is
   left.  Missing keys are left out; report NULL or not an object prints
   "(no report)". */
void sh_report_print(json_t *report, FILE *f);

/* Rebuild what the catalog can tell of run `id` (a run killed before it
   stored its report, or still running).  db: open catalog (read-only is
   enough).  Returns a new reference, or NULL if there is no such run or
   the catalog fails. */
json_t *sh_report_from_catalog(struct sqlite3 *db, long long id);

/* Close the journal row `id` of table run (a run or a merge): finished =
   when (ISO), state "done" or, for a non-zero exit_code, "partial",
   exit_code, and report (JSON, [optional]).  Best effort: a catalog
   error leaves the row as it was (sohoa report then rebuilds what it can
   from the catalog). */
void sh_run_record_end(struct sqlite3 *db, long long id, const char *when,
                       int exit_code, json_t *report);

/* Open WAREHOUSE/catalog.db read-only.  On failure prints the reason
   (naming the warehouse) on stderr and returns SH_EXIT_USAGE; else
   SH_EXIT_OK with *db set (close with sh_db_close). */
int sh_catalog_open_ro(const char *wh, struct sqlite3 **db);

/* Re-hash the source files and PDFs of the dossiers named in ids[0..nids)
   (nids = 0: every dossier) against the hashes in the catalog.  Files are
   opened read-only.  wh: the warehouse (a PDF not at its recorded path is
   looked for in wh/pdf/).  *out: a new JSON object {"warehouse",
   "dossiers":[ids], "sources_checked", "sources_unchecked",
   "pdfs_checked", "dossiers_pending", "bytes", "intact":bool,
   "problems":[{"dossier","kind":"source"|"pdf","file","problem":
   "missing"|"unreadable"|"mismatch"|"not recorded","expected","found",
   "detail"}]}.  Returns SH_OK (whatever was found), SH_EUSAGE for an
   unknown dossier id, SH_EINDEX if the catalog fails (*out NULL). */
int sh_verify(struct sqlite3 *db, const char *wh, char **ids, int nids,
              json_t **out, sh_err *err);

/* sohoa report [--warehouse DIR] [--json] [--run ID]: exit 0, or 2 if
   there is no warehouse or no such run. */
int sh_cmd_report(int argc, char **argv);
/* sohoa verify [--warehouse DIR] [--json] [DOSSIER...]: exit 0 all
   intact, 1 a file missing, unreadable or changed, 2 usage. */
int sh_cmd_verify(int argc, char **argv);

/* ==== end of report and fixity check ================================== */

/* ==== merge of shard warehouses (merge.c) ============================= */

/* sohoa merge --into DIR [--expect BATCH_DIR]... [--json] [--quiet]
   SHARD_DIR...: bring the warehouses of `sohoa run --shard K/N` into DIR
   (done dossiers only, each verified against its PDF and page texts, one
   transaction each, under DIR/.lock).  Exit 0 all merged, 1 some dossier
   refused, not done or missing (--expect), 2 usage, 3 DIR locked. */
int sh_cmd_merge(int argc, char **argv);
/* sohoa optimize: the full-text index merged into one b-tree (optimize.c) */
int sh_cmd_optimize(int argc, char **argv);
/* The clerk's review station from the command line (review.c). */
int sh_cmd_review(int argc, char **argv);
int sh_cmd_doc(int argc, char **argv);
int sh_cmd_approve(int argc, char **argv);

/* ==== end of merge ===================================================== */

#endif
