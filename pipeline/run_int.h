/*
 * run_int.h — inside `sohoa run`: the run's state and the steps its files
 * share.  Not a public header: only pipeline/run*.c include it.
 *
 *   run.c           sh_cmd_run: options, warehouse, batches, steps, exit
 *                   code; the run's event log (sh_run_event,
 *                   sh_run_dossier_error) and work paths (sh_run_img_path)
 *   run_plan.c      sh_run_plan_dossier: which dossiers and pages to do
 *   run_assemble.c  sh_run_maybe_finish: a dossier's PDF, documents, index
 *   run_pool.c      sh_run_pool: worker processes, their results
 *   run_report.c    sh_run_report_build: what the run stores in run.report
 *   run_stream.c    sh_run_streams: a stack scanned at once → dossiers
 *   run_review.c    sh_run_review_*: what the clerks decided (review.h)
 */
#ifndef SH_RUN_INT_H
#define SH_RUN_INT_H

#include "pipeline.h"
#include "archive.h"
#include "../index/db.h"

#include <limits.h>
#include <sys/types.h>

/* ------------------------------------------------------------------ */
/* run state                                                           */


typedef struct job {
    int64_t page_id;
    int d;              /* index into run.ds */
    int render;         /* 1: image only (OCR result cached) */
    char *path, *name;
    int frame;
    int force[3];       /* a clerk's quarter, split, blank as in
                           sh_prep_opts' force_* (0 = detect) */
} job;

typedef struct worker {
    pid_t pid;
    int to, from;       /* pipe ends: jobs out, results in */
    sh_buf in;          /* partial result line */
    int busy;           /* index into run.jobs, -1 idle */
    double started;
} worker;

typedef struct dstate {
    int planned;        /* 1 if this dossier is processed in this run */
    int pending;        /* jobs not yet answered */
    int failed;         /* a page or file failed */
    int done;           /* assembled (or failed) */
    sh_buf errors;      /* "file frame N: reason; …" */
} dstate;

typedef struct run {
    const char *wh;     /* the warehouse (absolute once it exists) */
    char wh_abs[PATH_MAX];
    sqlite3 *db;
    const char *agency;
    int jobs_n;
    int page_timeout;   /* s */
    double stop_at;     /* sh_now() deadline for starting work; 0 = none */
    int quiet;
    int keep_blanks;    /* put blank pages in the PDF too */
    int shard_k, shard_n; /* process only shard k of n (n = 0: all) */
    const char *only;   /* --only ID: this dossier of the batches alone */
    int progress;       /* draw a progress line on the terminal */
    int64_t run_id;
    sh_dossier_in *ds;
    int nds;
    sh_manifest **mf;   /* [nds]: the manifest of each dossier's batch, or
                           NULL (owned by mfs) */
    sh_manifest **mfs;  /* one per batch folder named, NULL entries ok */
    int nmfs;
    dstate *st;
    job *jobs;
    int njobs, capjobs, next;
    worker *w;
    int nw;
    /* counts for the report */
    int d_done, d_failed, d_skipped, p_ocr, p_cached, p_failed;
    int n_render;       /* queued jobs that only re-encode a cached page */
    int d_other_shard;  /* dossiers left to other shards */
    int jobs_done;
    long worker_rss_kb; /* largest worker peak RSS seen */
    double t_start, ocr_time;
    double ocr_cpu;    /* the workers' recognition CPU seconds (ocr_cpu) */
    double t_readback;  /* s spent reading PDFs back */
    int deadline_hit;
    /* streams (run_stream.c) */
    const char *stream_name;  /* --stream NAME: sub-folder that is a stream */
    json_t *stream_report;    /* {"streams":[…], "problems":[…],
                                 "unassigned":[…]} or NULL (no stream) */
    int stream_problems;      /* clerk's mistakes found (exit 1)        */
} run;

/* ---- run.c -------------------------------------------------------- */

/* Record an event of this run in the catalog's event table (level
   "error", "warn" or "info"; dossier, file, what, reason [optional];
   frame 0-based, < 0 = none).  A catalog failure is ignored: the event
   log is a record, not a step. */
void sh_run_event(run *r, const char *level, const char *dossier,
                  const char *file, int frame, const char *what,
                  const char *reason);
/* Dossier d failed at file (frame 0-based, < 0 = the file as a whole):
   marks it failed, adds reason to its error text, logs it and records an
   "error" event.  It is finished (state 'failed') by
   sh_run_maybe_finish. */
void sh_run_dossier_error(run *r, int d, const char *file, int frame,
                          const char *reason);
/* WAREHOUSE/.work/PAGE_ID.img: the re-encoded image a worker leaves for
   page_id (part 0 of a frame), into buf (n bytes). */
void sh_run_img_path(const run *r, int64_t page_id, char *buf, size_t n);

/* ---- run_plan.c --------------------------------------------------- */

/* Decide what dossier d needs and queue its jobs: another shard's, the
   warehouse's own folder and an up-to-date dossier are marked done; any
   other is re-planned in one transaction (dossier row, manifest row,
   sources, pages, unplaced from the index) and its missing pages queued.
   Returns SH_OK, or a catalog error (SH_EINDEX, SH_ENOSPC) or SH_ENOMEM,
   which stop the run: the warehouse is the problem, not the dossier. */
int sh_run_plan_dossier(run *r, int d, sh_err *err);

/* ---- run_assemble.c ----------------------------------------------- */

/* When dossier d is planned, not done and has no job pending: finish it
   (state 'failed' if any page or file failed, else its PDF written and
   read back, its documents stored and its pages placed and indexed in
   one transaction).  A dossier that fails to assemble is failed and the
   run goes on.  Returns SH_OK, or SH_ENOSPC / SH_EINDEX when the
   warehouse cannot be written (the run stops). */
int sh_run_maybe_finish(run *r, int d, sh_err *err);

/* ---- run_pool.c --------------------------------------------------- */

/* Run every queued job on r->nw worker processes until none is left or
   r->stop_at has passed (no new job is started then; the rest is left
   for the next run).  Each result is committed as it comes; finished
   dossiers are assembled at once.  Returns SH_OK, or a catalog, pipe or
   fork error (the run stops; workers are reaped either way). */
int sh_run_pool(run *r, sh_err *err);

/* ---- run_stream.c ------------------------------------------------- */

/* The streams of batch batch_dir, whose folder dossiers are r->ds[first..
   r->nds): the scanner files straight in it and, with r->stream_name,
   that sub-folder (taken out of r->ds).  Each is cut at its separator
   sheets into dossiers appended to r->ds; mistakes are logged, recorded
   (events, r->stream_report, the unassigned table) and counted in
   r->stream_problems.  *alone = 1 when the batch has no dossier folder
   and its files hold no separator (a dossier folder named as a batch;
   nothing recorded).  Returns SH_OK, or a catalog error or SH_ENOMEM
   (the run stops). */
int sh_run_streams(run *r, const char *batch_dir, int first, int *alone,
                   sh_err *err);

/* ---- run_review.c ------------------------------------------------- */

struct sh_doc_fields;
/* How many saves of a clerk changed dossier id's outputs (0: none, or a
   catalog without the review tables). */
int sh_run_review_edits(run *r, const char *id);
/* Dossier d is planned again with base, its inputs signature without the
   clerk's edits (old_sig [optional]: its signature before): when its
   scans or manifest changed, an approval it had is withdrawn (logged, and
   an event); an edit alone withdrew it already, when it was made.  base
   is recorded.  Returns SH_OK or a catalog error. */
int sh_run_review_withdraw(run *r, int d, const char *base,
                           const char *old_sig, sh_err *err);
/* Put the fields a clerk typed for dossier id over f[0..n) (the
   documents read from its pages, by ordinal; conf 1).  A field of a
   document that no longer exists is kept in the catalog and logged.
   Returns SH_OK or SH_ENOMEM. */
int sh_run_review_fields(run *r, const char *id, struct sh_doc_fields *f,
                         int n, sh_err *err);

/* The forced geometry of page p's sheet (alias rp), as the worker's job
   takes it (sh_prep_opts' force_quarter, force_split, force_blank: 0 =
   detect), and as the worker records it in the page's geom ("forced":
   "qQ sS bB"). */
#define SH_RUN_REVIEW_FORCE_COLS                                             \
    "ifnull(rp.quarter + 1, 0), CASE WHEN rp.split IS NULL THEN 0 WHEN"     \
    " rp.split = 0 THEN -1 ELSE rp.split END, CASE WHEN rp.blank IS NULL"   \
    " THEN 0 WHEN rp.blank THEN 1 ELSE -1 END"
#define SH_RUN_REVIEW_FORCE_JOIN                                             \
    "LEFT JOIN review_page rp ON rp.dossier=p.dossier AND"                   \
    " rp.source_name=p.source_name AND rp.frame=p.frame AND"                \
    " (rp.source_sha256 IS NULL OR rp.source_sha256=p.source_sha256)"
/* Forget the pages of dossier id's sheets whose forced geometry is not
   the one they were recognised with: they are queued for OCR again (and
   only they).  Returns SH_OK or a catalog error. */
int sh_run_review_requeue(run *r, const char *id, sh_err *err);
/* What a clerk decided for one page of dossier id (sheet source, frame,
   part) at assembly: the word corrections that still apply are put into
   ws (whose text is then rebuilt: *fixed = 1 when the page has any
   correction, its text to be stored and indexed); *start: 1 the page
   starts a văn bản, 0 it continues one, -1 as read.  Returns SH_OK or
   SH_ENOMEM. */
struct sh_words;
int sh_run_review_page(run *r, const char *id, const char *source,
                       int frame, int part, struct sh_words *ws, int *fixed,
                       int *start, sh_err *err);

/* ---- run_report.c ------------------------------------------------- */

/* The report of this run (see pipeline.h for its keys) from r's counts
   and the catalog; wall in s, left = planned dossiers not done.  Returns
   a new reference. */
json_t *sh_run_report_build(run *r, double wall, int exit_code, int left);

#endif
