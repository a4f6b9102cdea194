/*
 * run.c — `sohoa run`: batch folders in, searchable PDFs and index out.
 *
 *   sh_cmd_run        options, lock, plan, worker pool, assembly, exit code
 *
 * Method.  The run lists each batch, hashes every source file and compares
 * each dossier with the catalog: a dossier whose inputs are unchanged and
 * whose PDF is in place is left alone (no OCR, nothing written).  Other
 * dossiers are taken out of the index and re-planned page by page: a page
 * whose source file (by SHA-256) and frame were already recognised keeps
 * its OCR result, so a file added to a dossier costs only its own pages.
 *
 * Pages go to N worker processes (`sohoa worker`, one per core, each with
 * OMP_THREAD_LIMIT=1 in its environment from exec time and one Tesseract
 * engine for its life) over pipes, one JSON line per job and per result.
 * Each result is committed to the catalog at once (the job journal), so a
 * killed run resumes where it stopped.  When every page of a dossier is
 * recognised, the dossier's PDF is written (temp file, fsync, rename) and
 * its pages are placed and indexed in one transaction.
 *
 * A worker that dies costs its page only: the page is quarantined with the
 * reason and a new worker is started.  A page that does not decode fails its
 * dossier (reported by file, frame and reason); the rest of the batch goes
 * on.
 */
#include "pipeline.h"
#include "archive.h"
#include "../base/vntext.h"
#include "../index/index.h"
#include "../ocr/fields.h"
#include "../ocr/pdf.h"
#include "../ocr/readback.h"
#include "../scanners/prep.h"
#include "../scanners/scan.h"

#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <dirent.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------ */
/* run state                                                           */

typedef struct job {
    int64_t page_id;
    int d;              /* index into run.ds */
    int render;         /* 1: image only (OCR result cached) */
    char *path, *name;
    int frame;
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
    const char *wh;
    sqlite3 *db;
    const char *agency;
    int jobs_n;
    int page_timeout;   /* s */
    double stop_at;     /* sh_now() deadline for starting work; 0 = none */
    int quiet;
    int keep_blanks;    /* put blank pages in the PDF too */
    int shard_k, shard_n; /* process only shard k of n (n = 0: all) */
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
    double t_readback;  /* s spent reading PDFs back */
    int deadline_hit;
} run;

static void usage(void)
{
    fputs("usage: sohoa run [--warehouse DIR] [--jobs N] [--agency CODE]\n"
          "                 [--page-timeout S] [--max-minutes N]\n"
          "                 [--deadline HH:MM] [--keep-blanks] [--shard K/N]\n"
          "                 [--model fast|best] [--correct on|off] [--quiet]\n"
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
          "  --model M         Vietnamese model: best (default; the larger\n"
          "                    network, ~1.25x OCR time) or fast (Debian's);\n"
          "                    also SOHOA_MODEL; best falls back to fast\n"
          "                    when not installed (make deps)\n"
          "  --correct on|off  Vietnamese tone-mark correction of the OCR\n"
          "                    (default on; also SOHOA_CORRECT)\n"
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

/* ------------------------------------------------------------------ */
/* catalog helpers                                                     */

static int stmt(sqlite3 *db, const char *sql, sqlite3_stmt **st, sh_err *err)
{
    if (sqlite3_prepare_v2(db, sql, -1, st, NULL) != SQLITE_OK)
        return sh_errf(err, SH_EINDEX, "catalog: %s", sqlite3_errmsg(db));
    return SH_OK;
}

static int step_done(sqlite3 *db, sqlite3_stmt *st, sh_err *err)
{
    int r = sqlite3_step(st);
    int rc = SH_OK;
    if (r != SQLITE_DONE && r != SQLITE_ROW)
        rc = sh_errf(err, r == SQLITE_FULL ? SH_ENOSPC : SH_EINDEX,
                     "catalog: %s", sqlite3_errmsg(db));
    sqlite3_finalize(st);
    return rc;
}

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
    if (s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, i);
}

static void event(run *r, const char *level, const char *dossier,
                  const char *file, int frame, const char *what,
                  const char *reason)
{
    sqlite3_stmt *st;
    char when[32];
    sh_now_iso(when);
    if (stmt(r->db,
             "INSERT INTO event(run,time,level,dossier,file,frame,what,reason)"
             " VALUES(?,?,?,?,?,?,?,?)",
             &st, NULL))
        return;
    sqlite3_bind_int64(st, 1, r->run_id);
    bind_text(st, 2, when);
    bind_text(st, 3, level);
    bind_text(st, 4, dossier);
    bind_text(st, 5, file);
    if (frame >= 0)
        sqlite3_bind_int(st, 6, frame);
    bind_text(st, 7, what);
    bind_text(st, 8, reason);
    step_done(r->db, st, NULL);
}

static void dossier_error(run *r, int d, const char *file, int frame,
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
    event(r, "error", r->ds[d].id, file, frame, "failed", reason);
}

/* Take a dossier out of the index (its rows stay, unplaced). */
static int unplace(run *r, const char *id, sh_err *err)
{
    sqlite3_stmt *st;
    int rc = stmt(r->db,
                  "SELECT id, text FROM page WHERE dossier=? AND pageno IS "
                  "NOT NULL",
                  &st, err);
    if (rc)
        return rc;
    bind_text(st, 1, id);
    while (!rc && sqlite3_step(st) == SQLITE_ROW)
        rc = sh_index_remove(r->db, sqlite3_column_int64(st, 0),
                             (const char *)sqlite3_column_text(st, 1), err);
    sqlite3_finalize(st);
    if (rc)
        return rc;
    if ((rc = stmt(r->db, "UPDATE page SET pageno=NULL WHERE dossier=?", &st,
                   err)))
        return rc;
    bind_text(st, 1, id);
    return step_done(r->db, st, err);
}

static void img_path(const run *r, int64_t page_id, char *buf, size_t n)
{
    snprintf(buf, n, "%s/.work/%lld.img", r->wh, (long long)page_id);
}

static int push_job(run *r, const job *j)
{
    if (r->njobs == r->capjobs) {
        int cap = r->capjobs ? 2 * r->capjobs : 64;
        job *p = realloc(r->jobs, (size_t)cap * sizeof *p);
        if (!p)
            return SH_ENOMEM;
        r->jobs = p;
        r->capjobs = cap;
    }
    r->jobs[r->njobs++] = *j;
    return SH_OK;
}

/* ------------------------------------------------------------------ */
/* planning                                                            */

static void inputs_sig(const sh_dossier_in *d, const sh_manifest *m,
                       char hex[65])
{
    sh_buf b = {0};
    /* What a dossier's outputs are made of changes with the version of
       its PDF and catalog rows: 2 = PDF/A-2b, read back, with documents.
       A dossier made by an earlier version is re-assembled once, from its
       cached OCR (no page is recognised again). */
    sh_buf_adds(&b, "output\t2\n");
    for (int i = 0; i < d->nfiles; i++)
        sh_buf_printf(&b, "%s\t%s\n", d->files[i].name, d->files[i].sha256);
    /* The dossier's manifest row (or the manifest's verdict on it) is an
       input too: it goes into the PDF's XMP.  Nothing is added without a
       manifest, so warehouses made before manifests stay up to date. */
    if (m) {
        const char *why = NULL;
        const sh_meta *x = sh_manifest_find(m, d->id, &why);
        if (m->fatal)
            sh_buf_printf(&b, "manifest-fatal\t%s\n", m->fatal);
        else if (why)
            sh_buf_printf(&b, "manifest-error\t%s\n", why);
        else if (x) {
            const char *v[] = {x->file_code, x->organ_id, x->file_notation,
                               x->title, x->maintenance, x->rights,
                               x->language, x->start_date, x->end_date,
                               x->description, x->agency};
            sh_buf_adds(&b, "manifest");
            for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
                sh_buf_printf(&b, "\t%s", v[i] ? v[i] : "\x01");
            sh_buf_printf(&b, "\t%d\t%d\t%d\t%d\n", x->file_catalog,
                          x->doc_total, x->page_total, x->sheet_total);
        }
    }
    sh_sha256_buf(b.data ? b.data : "", b.len, hex);
    sh_buf_release(&b);
}

static int file_exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

/* 1 if path a is b or lies inside folder b. */
static int within(const char *a, const char *b)
{
    size_t n = strlen(b);
    return !strncmp(a, b, n) && (a[n] == 0 || a[n] == '/');
}

/* Decide what dossier d needs; queue its jobs.  Returns SH_OK or a
   catalog error (which stops the run: the warehouse is the problem). */
static int plan_dossier(run *r, int d, sh_err *err)
{
    sh_dossier_in *in = &r->ds[d];
    dstate *s = &r->st[d];
    char sig[65];
    if (r->shard_n > 1 && sh_shard_of(in->batch, in->id, r->shard_n) !=
                              r->shard_k) {
        s->done = 1;         /* another shard's dossier */
        r->d_other_shard++;
        return SH_OK;
    }
    /* The warehouse itself inside a batch folder is not a dossier (its
       PDFs must never be read back as scans). */
    char rd[PATH_MAX], rw[PATH_MAX];
    if (realpath(in->dir, rd) && realpath(r->wh, rw) &&
        (within(rw, rd) || within(rd, rw))) {
        sh_log(SH_LOG_WARN, "%s: this folder holds the warehouse; not a "
               "dossier, passed over", in->dir);
        s->done = 1;
        return SH_OK;
    }
    const sh_manifest *mf = r->mf ? r->mf[d] : NULL;
    const char *row_error = NULL;
    const sh_meta *meta = sh_manifest_find(mf, in->id, &row_error);
    /* The manifest's agency is the dossier's; --agency is for the rest. */
    const char *agency = meta && !row_error && meta->agency ? meta->agency
                                                             : r->agency;
    inputs_sig(in, mf, sig);

    sqlite3_stmt *st;
    int rc = stmt(r->db,
                  "SELECT state, inputs_sig, pdf, agency FROM dossier WHERE "
                  "id=?",
                  &st, err);
    if (rc)
        return rc;
    bind_text(st, 1, in->id);
    int up_to_date = 0;
    if (sqlite3_step(st) == SQLITE_ROW) {
        const char *state = (const char *)sqlite3_column_text(st, 0);
        const char *osig = (const char *)sqlite3_column_text(st, 1);
        const char *pdf = (const char *)sqlite3_column_text(st, 2);
        const char *ag = (const char *)sqlite3_column_text(st, 3);
        int same_agency = !agency || (ag && !strcmp(ag, agency));
        up_to_date = state && !strcmp(state, "done") && osig &&
                     !strcmp(osig, sig) && pdf && file_exists(pdf) &&
                     same_agency;
    }
    sqlite3_finalize(st);
    if (up_to_date) {
        r->d_skipped++;
        s->done = 1;
        sh_log(SH_LOG_DEBUG, "%s: up to date", in->id);
        return SH_OK;
    }
    s->planned = 1;

    if ((rc = sh_db_exec(r->db, "BEGIN IMMEDIATE", err)))
        return rc;
    char when[32];
    sh_now_iso(when);
    rc = stmt(r->db,
              "INSERT INTO dossier(id,batch,agency,state,inputs_sig,updated)"
              " VALUES(?1,?2,?3,'pending',?4,?5) ON CONFLICT(id) DO UPDATE SET"
              " batch=?2, agency=coalesce(?3,agency), state='pending',"
              " inputs_sig=?4, error=NULL, updated=?5",
              &st, err);
    if (!rc) {
        bind_text(st, 1, in->id);
        bind_text(st, 2, in->batch);
        bind_text(st, 3, agency);
        bind_text(st, 4, sig);
        bind_text(st, 5, when);
        rc = step_done(r->db, st, err);
    }
    if (!rc)
        rc = unplace(r, in->id, err);
    char *mwhy = NULL;
    if (!rc && mf)
        rc = sh_manifest_apply(r->db, mf, in->id, &mwhy, err);
    /* Forget sources and pages that are no longer in the folder. */
    if (!rc && !(rc = stmt(r->db,
                           "UPDATE source SET state='gone' WHERE dossier=?",
                           &st, err))) {
        bind_text(st, 1, in->id);
        rc = step_done(r->db, st, err);
    }
    for (int i = 0; !rc && i < in->nfiles; i++) {
        sh_infile *f = &in->files[i];
        sh_scan *sc = NULL;
        sh_err ferr = {0};
        int frames = 0;
        const char *fmt = "";
        if (f->error)
            sh_errf(&ferr, SH_EIO, "%s", f->error);
        else if (!sh_scan_open(f->path, NULL, &sc, &ferr)) {
            frames = sh_scan_frames(sc);
            enum sh_format k = sh_scan_format(sc);
            fmt = k == SH_FMT_TIFF   ? "tiff"
                  : k == SH_FMT_JPEG ? "jpeg"
                  : k == SH_FMT_PNG  ? "png"
                  : k == SH_FMT_PDF  ? "pdf"
                                     : "";
            sh_scan_close(&sc);
        }
        rc = stmt(r->db,
                  "INSERT INTO source(dossier,seq,name,path,size,mtime,sha256,"
                  "format,frames,state,error) VALUES(?,?,?,?,?,?,?,?,?,?,?)"
                  " ON CONFLICT(dossier,name) DO UPDATE SET seq=excluded.seq,"
                  " path=excluded.path, size=excluded.size,"
                  " mtime=excluded.mtime, sha256=excluded.sha256,"
                  " format=excluded.format, frames=excluded.frames,"
                  " state=excluded.state, error=excluded.error",
                  &st, err);
        if (rc)
            break;
        bind_text(st, 1, in->id);
        sqlite3_bind_int(st, 2, i);
        bind_text(st, 3, f->name);
        bind_text(st, 4, f->path);
        sqlite3_bind_int64(st, 5, f->size);
        sqlite3_bind_int64(st, 6, f->mtime);
        bind_text(st, 7, f->sha256);
        bind_text(st, 8, fmt);
        sqlite3_bind_int(st, 9, frames);
        bind_text(st, 10, ferr.rc ? "failed" : "ok");
        bind_text(st, 11, ferr.rc ? ferr.msg : NULL);
        if ((rc = step_done(r->db, st, err)))
            break;
        if (ferr.rc) {
            dossier_error(r, d, f->name, -1, ferr.msg);
            continue;
        }
        /* Pages of this file: keep OCR results made from the same bytes. */
        rc = stmt(r->db,
                  "DELETE FROM page WHERE dossier=? AND source_name=? AND"
                  " (source_sha256<>? OR frame>=?)",
                  &st, err);
        if (rc)
            break;
        bind_text(st, 1, in->id);
        bind_text(st, 2, f->name);
        bind_text(st, 3, f->sha256);
        sqlite3_bind_int(st, 4, frames);
        if ((rc = step_done(r->db, st, err)))
            break;
        for (int fr = 0; !rc && fr < frames; fr++) {
            rc = stmt(r->db,
                      "INSERT INTO page(dossier,source_name,source_sha256,"
                      "frame) VALUES(?,?,?,?) ON CONFLICT DO NOTHING",
                      &st, err);
            if (rc)
                break;
            bind_text(st, 1, in->id);
            bind_text(st, 2, f->name);
            bind_text(st, 3, f->sha256);
            sqlite3_bind_int(st, 4, fr);
            rc = step_done(r->db, st, err);
        }
    }
    if (!rc && !(rc = stmt(r->db,
                           "DELETE FROM page WHERE dossier=?1 AND source_name"
                           " IN (SELECT name FROM source WHERE dossier=?1 AND"
                           " state='gone')",
                           &st, err))) {
        bind_text(st, 1, in->id);
        rc = step_done(r->db, st, err);
        if (!rc && !(rc = stmt(r->db,
                               "DELETE FROM source WHERE dossier=? AND "
                               "state='gone'",
                               &st, err))) {
            bind_text(st, 1, in->id);
            rc = step_done(r->db, st, err);
        }
    }
    if (rc) {
        sh_db_exec(r->db, "ROLLBACK", NULL);
        free(mwhy);
        return rc;
    }
    if ((rc = sh_db_exec(r->db, "COMMIT", err))) {
        free(mwhy);
        return rc;
    }
    if (mwhy) {
        /* Its pages are still recognised (kept for the next run), but no
           PDF goes out with metadata the clerk must correct. */
        dossier_error(r, d, mf->path, -1, mwhy);
        free(mwhy);
    }
    if (in->nfiles == 0)
        dossier_error(r, d, in->dir, -1,
                      "no scanner files (TIFF, JPEG or PNG) in this folder");

    /* Queue what is missing: OCR for new pages, images for cached ones. */
    rc = stmt(r->db,
              "SELECT p.id, p.source_name, p.frame, p.state, p.quarter,"
              " p.tag_rot, p.skew, p.skew_conf, p.osd_conf, p.ocr_w, p.ocr_h,"
              " p.ocr_dpi, p.page_w_pt, p.page_h_pt, p.error, s.path"
              " FROM page p JOIN source s ON s.dossier=p.dossier AND"
              " s.name=p.source_name WHERE p.dossier=? AND p.part=0"
              " ORDER BY s.seq, p.frame",
              &st, err);
    if (rc)
        return rc;
    bind_text(st, 1, in->id);
    while (!rc && sqlite3_step(st) == SQLITE_ROW) {
        job j = {0};
        j.page_id = sqlite3_column_int64(st, 0);
        j.d = d;
        const char *state = (const char *)sqlite3_column_text(st, 3);
        const char *name = (const char *)sqlite3_column_text(st, 1);
        j.frame = sqlite3_column_int(st, 2);
        if (state && (!strcmp(state, "quarantined") ||
                      !strcmp(state, "timeout"))) {
            /* Same bytes crashed or timed out before: do not retry. */
            const char *e = (const char *)sqlite3_column_text(st, 14);
            dossier_error(r, d, name, j.frame, e ? e : state);
            continue;
        }
        if (state && !strcmp(state, "ocr")) {
            char ip[4096];
            img_path(r, j.page_id, ip, sizeof ip);
            r->p_cached++;
            if (file_exists(ip))
                continue;
            j.render = 1;
        }
        j.name = strdup(name);
        j.path = strdup((const char *)sqlite3_column_text(st, 15));
        r->n_render += j.render;
        if (!j.name || !j.path || push_job(r, &j)) {
            free(j.name);
            free(j.path);
            rc = sh_errf(err, SH_ENOMEM, "out of memory");
            break;
        }
        s->pending++;
    }
    sqlite3_finalize(st);
    return rc;
}

/* ------------------------------------------------------------------ */
/* assembly                                                            */

static int words_from_json(const char *s, sh_words *ws)
{
    memset(ws, 0, sizeof *ws);
    json_error_t je;
    json_t *a = json_loads(s ? s : "[]", 0, &je);
    if (!json_is_array(a)) {
        json_decref(a);
        return SH_EINPUT;
    }
    size_t n = json_array_size(a);
    ws->w = calloc(n + 1, sizeof *ws->w);
    if (!ws->w) {
        json_decref(a);
        return SH_ENOMEM;
    }
    ws->cap = (int)n + 1;
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(a, i);
        sh_word *w = &ws->w[ws->n];
        double conf = 0;
        const char *t = NULL;
        if (json_unpack(e, "[iiiifiiiis]", &w->x0, &w->y0, &w->x1, &w->y1,
                        &conf, &w->line, &w->par, &w->baseline_y, &w->line_h,
                        &t) != 0)
            continue;
        w->conf = (float)conf;
        w->text = strdup(t);
        if (!w->text)
            break;
        ws->n++;
    }
    json_decref(a);
    return SH_OK;
}

static void finish_failed(run *r, int d)
{
    dstate *s = &r->st[d];
    sqlite3_stmt *st;
    char when[32];
    sh_now_iso(when);
    if (!stmt(r->db,
              "UPDATE dossier SET state='failed', error=?, updated=? WHERE "
              "id=?",
              &st, NULL)) {
        bind_text(st, 1, s->errors.data ? s->errors.data : "failed");
        bind_text(st, 2, when);
        bind_text(st, 3, r->ds[d].id);
        step_done(r->db, st, NULL);
    }
    s->done = 1;
    r->d_failed++;
    sh_log(SH_LOG_ERROR, "%s: FAILED (%s)", r->ds[d].id,
           s->errors.data ? s->errors.data : "failed");
}

/* The documents (văn bản) of a dossier: a page whose header block says
   it begins a new one starts a document; the first page always does. */
#define DOC_START_CONF 0.5f
/* Pages whose words' mean confidence is below this (0..100) are noise to
   Tesseract too; their text layer is not held to the read-back. */
#define READBACK_MIN_CONF 60.0

typedef struct docs {
    sh_doc_fields *f;   /* [n]: the fields read from each first page */
    int *first;         /* [n]: its 1-based PDF page */
    int n, cap;
} docs;

static void docs_release(docs *x)
{
    for (int i = 0; i < x->n; i++)
        sh_doc_fields_release(&x->f[i]);
    free(x->f);
    free(x->first);
    memset(x, 0, sizeof *x);
}

/* Page pageno (1-based) has fields f: keep them if it starts a document
   (f is then owned by x), else release them. */
static int docs_page(docs *x, int pageno, sh_doc_fields *f)
{
    if (pageno > 1 && f->start_conf < DOC_START_CONF) {
        sh_doc_fields_release(f);
        return SH_OK;
    }
    if (x->n == x->cap) {
        int cap = x->cap ? 2 * x->cap : 8;
        sh_doc_fields *nf = realloc(x->f, (size_t)cap * sizeof *nf);
        if (nf)
            x->f = nf;
        int *np = realloc(x->first, (size_t)cap * sizeof *np);
        if (np)
            x->first = np;
        if (!nf || !np) {
            sh_doc_fields_release(f);
            return SH_ENOMEM;
        }
        x->cap = cap;
    }
    x->f[x->n] = *f;
    x->first[x->n++] = pageno;
    memset(f, 0, sizeof *f);
    return SH_OK;
}

/* The documents' rows: suggestions (origin 'ocr') replace the earlier
   suggestions; rows a person or a manifest gave are kept. */
static int docs_store(run *r, const char *id, const docs *x, int npages,
                      sh_err *err)
{
    sqlite3_stmt *st;
    int rc = stmt(r->db, "DELETE FROM document WHERE dossier=? AND "
                  "origin='ocr'", &st, err);
    if (rc)
        return rc;
    bind_text(st, 1, id);
    if ((rc = step_done(r->db, st, err)))
        return rc;
    for (int i = 0; !rc && i < x->n; i++) {
        const sh_doc_fields *f = &x->f[i];
        sh_document doc = {
            .dossier = id,
            .ordinal = i + 1,
            .first_page = x->first[i],
            .last_page = i + 1 < x->n ? x->first[i + 1] - 1 : npages,
            .start_conf = f->start_conf,
            .type_name = f->type_name.value,
            .type_conf = f->type_name.conf,
            .code_number = f->code_number.value,
            .code_notation = f->code_notation.value,
            .code_conf = f->code_notation.value ? f->code_notation.conf
                                                : f->code_number.conf,
            .issued_date = f->issued_date.value,
            .place = f->place.value,
            .date_conf = f->issued_date.value ? f->issued_date.conf
                                              : f->place.conf,
            .organ_name = f->organ_name.value,
            .organ_conf = f->organ_name.conf,
            .subject = f->subject.value,
            .subject_conf = f->subject.conf,
            .origin = "ocr",
        };
        rc = sh_document_store(r->db, &doc, NULL, err);
    }
    return rc;
}

/* XMP metadata of the dossier's PDF: the manifest row (NĐ 30/2020 Phụ lục
   VI names) and what the run counted; dates from the documents when the
   manifest gave none. */
static int set_pdf_meta(run *r, const char *id, sh_pdf *w, const docs *x,
                        int npages, int sheets, sh_err *err)
{
    sqlite3_stmt *st;
    int rc = stmt(r->db,
                  "SELECT file_code, organ_id, file_catalog, file_notation,"
                  " title, maintenance, rights, language, start_date,"
                  " end_date, description, agency FROM dossier_meta WHERE"
                  " dossier=?",
                  &st, err);
    if (rc)
        return rc;
    bind_text(st, 1, id);
    char *v[12] = {0};
    if (sqlite3_step(st) == SQLITE_ROW)
        for (int i = 0; i < 12; i++)
            if (sqlite3_column_type(st, i) != SQLITE_NULL)
                v[i] = strdup((const char *)sqlite3_column_text(st, i));
    sqlite3_finalize(st);
    char *agency = NULL;
    if (!v[11] && !stmt(r->db, "SELECT agency FROM dossier WHERE id=?", &st,
                        NULL)) {
        bind_text(st, 1, id);
        if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
            agency = strdup((const char *)sqlite3_column_text(st, 0));
        sqlite3_finalize(st);
    }
    /* Earliest and latest issued dates read from the documents. */
    const char *d0 = NULL, *d1 = NULL;
    for (int i = 0; i < x->n; i++) {
        const char *dt = x->f[i].issued_date.value;
        if (!dt)
            continue;
        if (!d0 || strcmp(dt, d0) < 0)
            d0 = dt;
        if (!d1 || strcmp(dt, d1) > 0)
            d1 = dt;
    }
    char nd[16], np[16], ns[16];
    snprintf(nd, sizeof nd, "%d", x->n);
    snprintf(np, sizeof np, "%d", npages);
    snprintf(ns, sizeof ns, "%d", sheets);
    sh_pdf_field fl[] = {
        {"DossierId", id},
        {"FileCode", v[0]},
        {"OrganId", v[1]},
        {"FileCatalog", v[2]},
        {"FileNotation", v[3]},
        {"Title", v[4]},
        {"Maintenance", v[5]},
        {"Rights", v[6]},
        {"Language", v[7] ? v[7] : "vi"},
        {"StartDate", v[8] ? v[8] : d0},
        {"EndDate", v[9] ? v[9] : d1},
        {"DocTotal", nd},
        {"PageTotal", np},
        {"SheetTotal", ns},
        {"Description", v[10]},
        {"Agency", v[11] ? v[11] : agency},
    };
    sh_pdf_meta m = {
        .title = v[4] ? v[4] : id,
        .language = "vi",
        .creator = v[11] ? v[11] : agency,
        .description = v[10],
        .fields = fl,
        .nfields = (int)(sizeof fl / sizeof fl[0]),
    };
    rc = sh_pdf_set_meta(w, &m, err);
    for (int i = 0; i < 12; i++)
        free(v[i]);
    free(agency);
    return rc;
}

/* Write the dossier's PDF and place + index its pages in one transaction. */
static int assemble(run *r, int d, sh_err *err)
{
    sh_dossier_in *in = &r->ds[d];
    char pdf[8192];
    snprintf(pdf, sizeof pdf, "%s/pdf/%s.pdf", r->wh, in->id);
    sqlite3_stmt *st = NULL;
    sh_pdf *w = NULL;
    int rc, npages = 0;
    int64_t *ids = NULL;
    int cap = 0;
    docs dx = {0};
    sh_buf where = {0};     /* "file page N\0" per PDF page, for messages */
    size_t *where_at = NULL;
    sh_readback *rb = NULL;
    if ((rc = sh_readback_new(&rb, err)))
        return rc;

    rc = stmt(r->db,
              "SELECT p.id, p.geom, p.words, p.kind,"
              " (SELECT q.id FROM page q WHERE q.dossier=p.dossier AND"
              "  q.source_name=p.source_name AND q.frame=p.frame AND"
              "  q.part=0) AS img_id, p.source_name, p.frame"
              " FROM page p JOIN source s ON s.dossier=p.dossier AND"
              " s.name=p.source_name WHERE p.dossier=? ORDER BY s.seq,"
              " p.frame, p.part",
              &st, err);
    if (rc)
        return rc;
    bind_text(st, 1, in->id);
    if ((rc = sh_pdf_open(pdf, in->id, &w, err)))
        goto out;
    int64_t prev_img = -1;
    int sheets = 0, blanks = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(st, 0);
        int64_t img_id = sqlite3_column_int64(st, 4);
        const char *kind = (const char *)sqlite3_column_text(st, 3);
        int blank = kind && !strcmp(kind, "blank");
        if (img_id != prev_img)
            sheets++;
        blanks += blank;
        if (blank && !r->keep_blanks) {
            /* A blank back: counted, recorded, not in the PDF. */
            if (img_id != prev_img)
                prev_img = -2;
            continue;
        }
        sh_geom g;
        json_error_t je;
        json_t *gj = json_loads((const char *)sqlite3_column_text(st, 1)
                                    ? (const char *)sqlite3_column_text(st, 1)
                                    : "",
                                0, &je);
        int bad = sh_geom_from_json(gj, &g);
        json_decref(gj);
        if (bad) {
            rc = sh_errf(err, SH_EINDEX, "page %lld: no geometry in the "
                         "catalog", (long long)id);
            goto out;
        }
        char ip[4096];
        img_path(r, img_id, ip, sizeof ip);
        sh_pdf_image img = {0};
        int reuse = img_id == prev_img;
        if ((rc = sh_pdf_image_load(ip, &img, err)))
            goto out;
        prev_img = img_id;
        sh_words ws;
        words_from_json((const char *)sqlite3_column_text(st, 2), &ws);
        sh_pdf_page pg = {0};
        pg.w_pt = g.page_w_pt;
        pg.h_pt = g.page_h_pt;
        pg.img = &img;
        sh_geom_image_matrix(&g, pg.img_matrix);
        pg.words = &ws;
        pg.pt_per_px = sh_geom_pt_per_px(&g);
        pg.reuse_image = reuse;
        /* PDF/A pages are at least 3 pt a side: a scan smaller than that
           (a few pixels) is shown magnified, with its text layer. */
        double small = pg.w_pt < pg.h_pt ? pg.w_pt : pg.h_pt;
        if (small > 0 && small < 3) {
            double k = 3 / small;
            pg.w_pt *= k;
            pg.h_pt *= k;
            for (int m = 0; m < 6; m++)
                pg.img_matrix[m] *= k;
            pg.pt_per_px *= k;
        }
        rc = sh_pdf_add_page(w, &pg, err);
        sh_doc_fields f;
        if (!rc && !(rc = sh_fields_extract(&ws, g.ocr_w, g.ocr_h, &f)))
            rc = docs_page(&dx, npages + 1, &f);
        /* Weak OCR (noise, specks) is not held to the read-back: a
           difference there is logged, not fatal. */
        double conf = 0;
        for (int k = 0; k < ws.n; k++)
            conf += ws.w[k].conf;
        int weak = ws.n > 0 && conf / ws.n < READBACK_MIN_CONF;
        if (!rc)
            rc = weak ? sh_readback_add_lenient(rb, &ws, err)
                      : sh_readback_add_page(rb, &ws, err);
        if (!rc) {
            size_t *wa = realloc(where_at, (size_t)(npages + 1) *
                                               sizeof *wa);
            if (wa) {
                where_at = wa;
                where_at[npages] = where.len;
                sh_buf_printf(&where, "%s page %d",
                              (const char *)sqlite3_column_text(st, 5),
                              sqlite3_column_int(st, 6) + 1);
                sh_buf_add(&where, "", 1);
            }
        }
        else if (rc == SH_ENOMEM)
            sh_errf(err, rc, "out of memory");
        sh_words_release(&ws);
        sh_pdf_image_release(&img);
        if (rc)
            goto out;
        if (npages == cap) {
            cap = cap ? 2 * cap : 64;
            int64_t *p = realloc(ids, (size_t)cap * sizeof *p);
            if (!p) {
                rc = sh_errf(err, SH_ENOMEM, "out of memory");
                goto out;
            }
            ids = p;
        }
        ids[npages++] = id;
    }
    sqlite3_finalize(st);
    st = NULL;
    if (npages == 0) {
        /* Every page blank: a wrong-side feed more likely than an empty
           dossier; a person should look. */
        rc = sh_errf(err, SH_EINPUT, "all %d page%s blank; nothing to put "
                     "in a PDF (check the feed, or --keep-blanks)",
                     blanks, blanks == 1 ? " is" : "s are");
        goto out;
    }
    if ((rc = set_pdf_meta(r, in->id, w, &dx, npages, sheets, err)))
        goto out;
    /* The text layer is read back from the finished file (another PDF
       reader's view) and compared with the OCR before the file gets its
       name and its pages are indexed. */
    sh_pdf_set_check(w, sh_readback_check, rb);
    if ((rc = sh_pdf_commit(&w, err))) {
        int fp = sh_readback_failed_page(rb);
        if (fp > 0 && where_at && where.data) {
            char msg[sizeof err->msg];
            snprintf(msg, sizeof msg, "%s", err->msg);
            sh_errf(err, rc, "%s: the PDF's text layer does not read back "
                    "as recognised (%s)", where.data + where_at[fp - 1], msg);
        }
        goto out;
    }
    for (int i = 1; i <= npages; i++) {
        const char *note = sh_readback_note(rb, i);
        if (note && where_at && where.data) {
            sh_log(SH_LOG_WARN, "%s/%s: weak OCR; its text layer reads back "
                   "differently: %s", in->id, where.data + where_at[i - 1],
                   note);
            event(r, "warn", in->id, where.data + where_at[i - 1], -1,
                  "readback", note);
        }
    }

    char sha[65];
    struct stat sb;
    if ((rc = sh_sha256_file(pdf, sha, err)))
        goto out;
    stat(pdf, &sb);
    int64_t in_bytes = 0;
    for (int i = 0; i < in->nfiles; i++)
        in_bytes += in->files[i].size;

    if ((rc = sh_db_exec(r->db, "BEGIN IMMEDIATE", err)))
        goto out;
    rc = docs_store(r, in->id, &dx, npages, err);
    sh_indexer *ix = NULL;
    if (!rc)
        rc = sh_indexer_open(r->db, &ix, err);
    for (int i = 0; !rc && i < npages; i++) {
        if ((rc = stmt(r->db,
                       "UPDATE page SET pageno=? WHERE id=? RETURNING text",
                       &st, err)))
            break;
        sqlite3_bind_int(st, 1, i + 1);
        sqlite3_bind_int64(st, 2, ids[i]);
        if (sqlite3_step(st) == SQLITE_ROW)
            rc = sh_indexer_add(ix, ids[i],
                                (const char *)sqlite3_column_text(st, 0), err);
        else
            rc = sh_errf(err, SH_EINDEX, "catalog: %s",
                         sqlite3_errmsg(r->db));
        sqlite3_finalize(st);
        st = NULL;
    }
    sh_indexer_close(&ix);
    char when[32];
    sh_now_iso(when);
    if (!rc && !(rc = stmt(r->db,
                           "UPDATE dossier SET state='done', pdf=?, "
                           "pdf_sha256=?, pdf_bytes=?, input_bytes=?, pages=?,"
                           " sheets=?, blanks=?, error=NULL, updated=? WHERE"
                           " id=?",
                           &st, err))) {
        bind_text(st, 1, pdf);
        bind_text(st, 2, sha);
        sqlite3_bind_int64(st, 3, sb.st_size);
        sqlite3_bind_int64(st, 4, in_bytes);
        sqlite3_bind_int(st, 5, npages);
        sqlite3_bind_int(st, 6, sheets);
        sqlite3_bind_int(st, 7, blanks);
        bind_text(st, 8, when);
        bind_text(st, 9, in->id);
        rc = step_done(r->db, st, err);
        st = NULL;
    }
    if (rc) {
        sh_db_exec(r->db, "ROLLBACK", NULL);
        goto out;
    }
    if ((rc = sh_db_exec(r->db, "COMMIT", err)))
        goto out;
    if (!stmt(r->db, "SELECT id FROM page WHERE dossier=? AND part=0", &st,
              NULL)) {
        bind_text(st, 1, in->id);
        while (sqlite3_step(st) == SQLITE_ROW) {
            char ip[4096];
            img_path(r, sqlite3_column_int64(st, 0), ip, sizeof ip);
            unlink(ip);
        }
        sqlite3_finalize(st);
        st = NULL;
    }
    r->d_done++;
    r->st[d].done = 1;
    int rb_pages = 0;
    double rb_s = 0;
    sh_readback_stats(rb, &rb_pages, &rb_s);
    r->t_readback += rb_s;
    sh_log(SH_LOG_INFO, "%s: %d page%s from %d sheet%s%s, %d document%s -> "
           "%s (%.1f MB from %.1f MB of scans; text layer read back in "
           "%.0f ms)", in->id, npages, npages == 1 ? "" : "s",
           sheets, sheets == 1 ? "" : "s", blanks ? ", blanks left out" : "",
           dx.n, dx.n == 1 ? "" : "s", pdf, sb.st_size / 1e6,
           in_bytes / 1e6, rb_s * 1000);
out:
    if (st)
        sqlite3_finalize(st);
    sh_pdf_abort(&w);
    sh_readback_free(&rb);
    docs_release(&dx);
    sh_buf_release(&where);
    free(where_at);
    free(ids);
    return rc;
}

static int maybe_finish(run *r, int d, sh_err *err)
{
    dstate *s = &r->st[d];
    if (!s->planned || s->done || s->pending > 0)
        return SH_OK;
    if (s->failed) {
        finish_failed(r, d);
        return SH_OK;
    }
    sh_err aerr = {0};
    int rc = assemble(r, d, &aerr);
    if (rc == SH_ENOSPC || rc == SH_EINDEX) {
        /* The warehouse is the problem, not the dossier: stop the run. */
        return sh_errf(err, rc, "%s: %s", r->ds[d].id, aerr.msg);
    }
    if (rc) {
        dossier_error(r, d, r->ds[d].id, -1, aerr.msg);
        finish_failed(r, d);
    }
    return SH_OK;
}

/* ------------------------------------------------------------------ */
/* workers                                                             */

static int spawn(worker *w, sh_err *err)
{
    int in[2], out[2];
    if (pipe2(in, O_CLOEXEC) < 0)
        return sh_errf(err, SH_EIO, "pipe: %s", strerror(errno));
    if (pipe2(out, O_CLOEXEC) < 0) {
        close(in[0]);
        close(in[1]);
        return sh_errf(err, SH_EIO, "pipe: %s", strerror(errno));
    }
    pid_t pid = fork();
    if (pid < 0) {
        close(in[0]);
        close(in[1]);
        close(out[0]);
        close(out[1]);
        return sh_errf(err, SH_EIO, "fork: %s", strerror(errno));
    }
    if (pid == 0) {
        /* A worker never outlives its run (kill, OOM killer). */
        pid_t parent = getppid();
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(1);
        dup2(in[0], 0);
        dup2(out[1], 1);
        /* Tesseract's OpenMP must see this before the process starts. */
        setenv("OMP_THREAD_LIMIT", "1", 1);
        execl("/proc/self/exe", "sohoa", "worker", (char *)NULL);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    w->pid = pid;
    w->to = in[1];
    w->from = out[0];
    w->busy = -1;
    w->in.len = 0;
    return SH_OK;
}

static void reap(worker *w, int sig)
{
    /* Closing its stdin tells an idle worker to exit. */
    if (w->to >= 0)
        close(w->to);
    if (w->pid > 0) {
        if (sig)
            kill(w->pid, sig);
        waitpid(w->pid, NULL, 0);
    }
    if (w->from >= 0)
        close(w->from);
    w->pid = -1;
    w->to = w->from = -1;
}

static int send_job(run *r, worker *w, int ji)
{
    job *j = &r->jobs[ji];
    char ip[4096];
    img_path(r, j->page_id, ip, sizeof ip);
    json_t *o = json_pack("{sIsssisssiss}", "id", (json_int_t)j->page_id,
                          "path", j->path, "frame", j->frame, "img", ip,
                          "timeout", r->page_timeout, "mode",
                          j->render ? "render" : "ocr");
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!s)
        return SH_ENOMEM;
    size_t n = strlen(s);
    s[n] = '\n';
    size_t off = 0;
    int rc = SH_OK;
    while (off < n + 1) {
        ssize_t k = write(w->to, s + off, n + 1 - off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            rc = SH_EIO;
            break;
        }
        off += (size_t)k;
    }
    free(s);
    w->busy = ji;
    w->started = sh_now();
    return rc;
}

/* One line on the terminal: pages done/total, rate, time left. */
static void progress(run *r)
{
    if (!r->progress || !r->njobs)
        return;
    double el = sh_now() - r->t_start;
    double rate = el > 0 ? r->jobs_done * 60.0 / el : 0;
    int left = r->njobs - r->jobs_done;
    int eta = rate > 0 ? (int)(left * 60.0 / rate) : 0;
    int width = 30, fill = r->jobs_done * width / r->njobs;
    char bar[64];
    for (int i = 0; i < width; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[width] = 0;
    fprintf(stderr, "\r\033[K[%s] %d/%d pages  %.1f pages/min  ETA %d:%02d:%02d",
            bar, r->jobs_done, r->njobs, rate, eta / 3600, eta / 60 % 60,
            eta % 60);
    sh_log_progress = 1;
}

/* Store part pi (0 = the frame's own row) of a recognised frame. */
static int store_part(run *r, job *j, int pi, json_t *part, json_t *res,
                      sh_err *err)
{
    sh_geom g;
    sqlite3_stmt *st;
    json_t *gj = json_object_get(part, "geom");
    if (sh_geom_from_json(gj, &g))
        return sh_errf(err, SH_EINDEX, "worker sent no geometry");
    json_t *t = json_object_get(part, "t");
    json_t *tt = json_object_get(res, "t");
    char crop[96];
    snprintf(crop, sizeof crop, "%d,%d,%d,%d", g.crop_x, g.crop_y, g.crop_w,
             g.crop_h);
    char review[160] = "";
    if (g.review)
        snprintf(review, sizeof review,
                 "%s decision uncertain (confidence %.2f): check this sheet",
                 g.nparts > 1 ? "two-up split" : "single-page (no split)",
                 g.split_conf);
    int rc = stmt(r->db,
        "INSERT INTO page(dossier, source_name, source_sha256, frame, part,"
        " state, kind, quarter, tag_rot, skew, skew_conf, osd_conf, dpi,"
        " dpi_assumed, ocr_dpi, ocr_w, ocr_h, page_w_pt, page_h_pt, crop,"
        " codec, geom, text, words, conf, review, error, t_read, t_prep,"
        " t_orient, t_deskew, t_ocr, t_encode)"
        " VALUES(?1,?2,(SELECT source_sha256 FROM page WHERE id=?3),?4,?5,"
        " 'ocr',?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20,?21,"
        " ?22,?23,?24,?25,NULL,?26,?27,?28,?29,?30,?31)"
        " ON CONFLICT(dossier, source_name, frame, part) DO UPDATE SET"
        " state='ocr', kind=?6, quarter=?7, tag_rot=?8, skew=?9,"
        " skew_conf=?10, osd_conf=?11, dpi=?12, dpi_assumed=?13,"
        " ocr_dpi=?14, ocr_w=?15, ocr_h=?16, page_w_pt=?17, page_h_pt=?18,"
        " crop=?19, codec=?20, geom=?21, text=?22, words=?23, conf=?24,"
        " review=?25, error=NULL, t_read=?26, t_prep=?27, t_orient=?28,"
        " t_deskew=?29, t_ocr=?30, t_encode=?31",
        &st, err);
    if (rc)
        return rc;
    char *gs = json_dumps(gj, JSON_COMPACT);
    char *words = json_dumps(json_object_get(part, "words"), JSON_COMPACT);
    char *norm = NULL;
    const char *text = json_string_value(json_object_get(part, "text"));
    if (sh_text_norm(text ? text : "", &norm) == SH_OK)
        text = norm;
    bind_text(st, 1, r->ds[j->d].id);
    bind_text(st, 2, j->name);
    sqlite3_bind_int64(st, 3, j->page_id);
    sqlite3_bind_int(st, 4, j->frame);
    sqlite3_bind_int(st, 5, pi);
    bind_text(st, 6, g.blank ? "blank" : "page");
    sqlite3_bind_int(st, 7, g.quarter);
    sqlite3_bind_int(st, 8, g.tag_rot);
    sqlite3_bind_double(st, 9, g.skew_deg);
    sqlite3_bind_double(st, 10, g.skew_conf);
    sqlite3_bind_double(st, 11, g.osd_conf);
    sqlite3_bind_double(st, 12, json_number_value(json_object_get(res, "dpi")));
    sqlite3_bind_int(st, 13, json_is_true(json_object_get(res, "dpi_assumed")));
    sqlite3_bind_double(st, 14, g.ocr_dpi);
    sqlite3_bind_int(st, 15, g.ocr_w);
    sqlite3_bind_int(st, 16, g.ocr_h);
    sqlite3_bind_double(st, 17, g.page_w_pt);
    sqlite3_bind_double(st, 18, g.page_h_pt);
    bind_text(st, 19, crop);
    bind_text(st, 20, json_string_value(json_object_get(res, "codec")));
    bind_text(st, 21, gs);
    bind_text(st, 22, text ? text : "");
    bind_text(st, 23, words ? words : "[]");
    sqlite3_bind_double(st, 24, json_number_value(json_object_get(part, "conf")));
    bind_text(st, 25, review[0] ? review : NULL);
    /* Frame-level stages (read, encode) are charged to part 0. */
    sqlite3_bind_double(st, 26, pi ? 0 : json_number_value(json_object_get(tt, "read")));
    sqlite3_bind_double(st, 27, json_number_value(json_object_get(t, "prep")));
    sqlite3_bind_double(st, 28, json_number_value(json_object_get(t, "orient")));
    sqlite3_bind_double(st, 29, json_number_value(json_object_get(t, "deskew")));
    sqlite3_bind_double(st, 30, json_number_value(json_object_get(t, "ocr")));
    sqlite3_bind_double(st, 31, pi ? 0 : json_number_value(json_object_get(tt, "encode")));
    rc = step_done(r->db, st, err);
    free(gs);
    free(words);
    free(norm);
    if (!rc && g.review)
        event(r, "warn", r->ds[j->d].id, j->name, j->frame, "review", review);
    if (!rc && g.blank)
        sh_log(SH_LOG_INFO, "%s/%s page %d%s: blank, left out of the PDF",
               r->ds[j->d].id, j->name, j->frame + 1,
               g.nparts > 1 ? (pi ? " (right half)" : " (left half)") : "");
    return rc;
}

/* Record one page's outcome.  Returns a catalog error only. */
static int page_result(run *r, int ji, json_t *res, sh_err *err)
{
    job *j = &r->jobs[ji];
    dstate *s = &r->st[j->d];
    const char *did = r->ds[j->d].id;
    s->pending--;
    r->jobs_done++;
    int ok = json_is_true(json_object_get(res, "ok"));
    sqlite3_stmt *st;
    int rc;
    if (!ok) {
        int prc = (int)json_integer_value(json_object_get(res, "rc"));
        const char *msg = json_string_value(json_object_get(res, "error"));
        if (prc == SH_ENOSPC ||
            json_is_true(json_object_get(res, "warehouse"))) {
            /* The worker could not write into the warehouse: that is the
               warehouse's trouble, not the page's.  Stop; the page stays
               pending for the next run. */
            return sh_errf(err, prc, "%s/%s page %d: %s", did, j->name,
                           j->frame + 1, msg ? msg : "cannot write");
        }
        const char *state = prc == SH_ETIMEOUT ? "timeout"
                            : prc == -1     ? "quarantined"
                                            : "failed";
        r->p_failed++;
        dossier_error(r, j->d, j->name, j->frame, msg ? msg : "failed");
        if ((rc = stmt(r->db, "UPDATE page SET state=?, error=? WHERE id=?",
                       &st, err)))
            return rc;
        bind_text(st, 1, state);
        bind_text(st, 2, msg);
        sqlite3_bind_int64(st, 3, j->page_id);
        return step_done(r->db, st, err);
    }
    if (j->render)
        return SH_OK;
    json_t *t = json_object_get(res, "t");
    json_t *parts = json_object_get(res, "parts");
    int np = (int)json_array_size(parts);
    if ((rc = sh_db_exec(r->db, "BEGIN IMMEDIATE", err)))
        return rc;
    for (int pi = 0; pi < np && !rc; pi++)
        rc = store_part(r, j, pi, json_array_get(parts, pi), res, err);
    /* A sheet that was split before and is not now (or the reverse). */
    if (!rc && !(rc = stmt(r->db,
                           "DELETE FROM page WHERE dossier=? AND "
                           "source_name=? AND frame=? AND part>=?",
                           &st, err))) {
        bind_text(st, 1, did);
        bind_text(st, 2, j->name);
        sqlite3_bind_int(st, 3, j->frame);
        sqlite3_bind_int(st, 4, np);
        rc = step_done(r->db, st, err);
    }
    if (rc) {
        sh_db_exec(r->db, "ROLLBACK", NULL);
        return rc;
    }
    if ((rc = sh_db_exec(r->db, "COMMIT", err)))
        return rc;
    r->p_ocr++;
    r->ocr_time += json_number_value(json_object_get(t, "ocr"));
    long rss = (long)json_integer_value(json_object_get(res, "maxrss_kb"));
    if (rss > r->worker_rss_kb)
        r->worker_rss_kb = rss;
    /* What the source had that our PDF does not carry: say so. */
    static const struct {
        const char *key, *what, *level;
    } notes[] = {
        {"dpi_assumed", "no resolution in the file; 300 dpi assumed", "warn"},
        {"had_text_layer", "already had a text layer (scanner OCR); it is "
         "replaced by sohoa's", "info"},
        {"visible_text", "shows typed text over the scan (a stamp or "
         "watermark) that is not carried into sohoa's PDF", "warn"},
        {"annotations", "has annotations (notes, signature fields) that are "
         "not carried into sohoa's PDF", "warn"},
        {"dropped_images", "has small images drawn over the scan that are "
         "not carried into sohoa's PDF", "warn"},
    };
    int est = (int)json_integer_value(json_object_get(res, "dpi_estimated"));
    for (size_t k = 0; k < SH_ARRAY_LEN(notes); k++) {
        if (!json_is_true(json_object_get(res, notes[k].key)))
            continue;
        if (k == 0 && est > 0) {
            char why[160];
            snprintf(why, sizeof why, "no resolution in the file, and at 300 "
                     "dpi the sheet would be smaller than A6; taken as an A4 "
                     "sheet at %d dpi", est);
            event(r, "warn", did, j->name, j->frame, "dpi_assumed", why);
            sh_log(SH_LOG_WARN, "%s/%s page %d: %s", did, j->name,
                   j->frame + 1, why);
            continue;
        }
        event(r, notes[k].level, did, j->name, j->frame, notes[k].key,
              notes[k].what);
        sh_log(notes[k].level[0] == 'w' ? SH_LOG_WARN : SH_LOG_INFO,
               "%s/%s page %d: %s", did, j->name, j->frame + 1,
               notes[k].what);
    }
    return rc;
}

/* Handle whatever the worker sent; returns a catalog error only. */
static int read_worker(run *r, worker *w, sh_err *err)
{
    char buf[65536];
    ssize_t k = read(w->from, buf, sizeof buf);
    if (k < 0 && errno == EINTR)
        return SH_OK;
    if (k <= 0) {
        /* The worker died. */
        int status = 0;
        pid_t pid = w->pid;
        if (pid > 0)
            waitpid(pid, &status, 0);
        w->pid = -1;
        reap(w, 0);
        int ji = w->busy;
        w->busy = -1;
        if (ji >= 0) {
            char why[256];
            if (WIFSIGNALED(status))
                snprintf(why, sizeof why,
                         "the decoder or OCR crashed on this page (signal "
                         "%d); page quarantined",
                         WTERMSIG(status));
            else
                snprintf(why, sizeof why,
                         "the worker exited (status %d) on this page; page "
                         "quarantined",
                         WEXITSTATUS(status));
            json_t *res = json_pack("{sbsiss}", "ok", 0, "rc", -1, "error",
                                    why);
            int rc = page_result(r, ji, res, err);
            json_decref(res);
            if (rc)
                return rc;
            if ((rc = maybe_finish(r, r->jobs[ji].d, err)))
                return rc;
        }
        return SH_OK;   /* the main loop restarts it */
    }
    sh_buf_add(&w->in, buf, (size_t)k);
    char *nl;
    while (w->in.len && (nl = memchr(w->in.data, '\n', w->in.len))) {
        *nl = 0;
        json_error_t je;
        json_t *res = json_loads(w->in.data, 0, &je);
        size_t used = (size_t)(nl - w->in.data) + 1;
        memmove(w->in.data, nl + 1, w->in.len - used);
        w->in.len -= used;
        w->in.data[w->in.len] = 0;
        int ji = w->busy;
        w->busy = -1;
        if (ji < 0)
            continue;
        if (!res)
            res = json_pack("{sbsiss}", "ok", 0, "rc", SH_EINPUT, "error",
                            "worker sent an unreadable result");
        int rc = page_result(r, ji, res, err);
        json_decref(res);
        if (!rc)
            rc = maybe_finish(r, r->jobs[ji].d, err);
        if (rc)
            return rc;
        progress(r);
    }
    return SH_OK;
}

static int pool_run(run *r, sh_err *err)
{
    int rc = SH_OK;
    int live = 0;
    r->w = calloc((size_t)r->nw, sizeof *r->w);
    if (!r->w)
        return sh_errf(err, SH_ENOMEM, "out of memory");
    for (int i = 0; i < r->nw; i++)
        r->w[i].pid = -1, r->w[i].to = r->w[i].from = -1, r->w[i].busy = -1;
    struct pollfd *pf = calloc((size_t)r->nw, sizeof *pf);
    if (!pf)
        return sh_errf(err, SH_ENOMEM, "out of memory");
    for (;;) {
        int stop = r->stop_at > 0 && sh_now() >= r->stop_at;
        if (stop && r->next < r->njobs && !r->deadline_hit) {
            r->deadline_hit = 1;
            sh_log(SH_LOG_WARN, "time limit reached: no new pages started; "
                   "%d left for the next run", r->njobs - r->next);
        }
        /* Start workers and hand out jobs. */
        live = 0;
        for (int i = 0; i < r->nw; i++) {
            worker *w = &r->w[i];
            if (w->pid < 0 && r->next < r->njobs && !stop) {
                if ((rc = spawn(w, err)))
                    goto out;
            }
            if (w->pid > 0 && w->busy < 0 && r->next < r->njobs && !stop) {
                int ji = r->next++;
                if (send_job(r, w, ji)) {
                    /* died before taking it: give it back */
                    r->next--;
                    w->busy = -1;
                }
            }
            if (w->pid > 0 && w->busy >= 0)
                live++;
        }
        if (!live)
            break;
        int np = 0;
        for (int i = 0; i < r->nw; i++)
            if (r->w[i].pid > 0 && r->w[i].busy >= 0) {
                pf[np].fd = r->w[i].from;
                pf[np].events = POLLIN;
                pf[np].revents = 0;
                np++;
            }
        int k = poll(pf, (nfds_t)np, 1000);
        if (k < 0 && errno != EINTR) {
            rc = sh_errf(err, SH_EIO, "poll: %s", strerror(errno));
            goto out;
        }
        for (int i = 0; i < r->nw; i++) {
            worker *w = &r->w[i];
            if (w->pid <= 0 || w->busy < 0)
                continue;
            for (int q = 0; q < np; q++)
                if (pf[q].fd == w->from && pf[q].revents) {
                    if ((rc = read_worker(r, w, err)))
                        goto out;
                    break;
                }
            /* A page that outlives the OCR deadline by far is hung in a
               decoder: kill the worker; the page is quarantined. */
            if (w->pid > 0 && w->busy >= 0 &&
                sh_now() - w->started > r->page_timeout + 60)
                kill(w->pid, SIGKILL);
        }
    }
out:
    for (int i = 0; i < r->nw; i++)
        if (r->w[i].pid > 0)
            reap(&r->w[i], 0);
    for (int i = 0; i < r->nw; i++)
        sh_buf_release(&r->w[i].in);
    free(pf);
    free(r->w);
    r->w = NULL;
    return rc;
}

/* ------------------------------------------------------------------ */
/* the morning report                                                  */

static int count_sql(sqlite3 *db, const char *sql, const char *id)
{
    sqlite3_stmt *st;
    int n = 0;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return 0;
    bind_text(st, 1, id);
    if (sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return n;
}

/* What went in, what came out, what failed and what is left: stored in
   run.report and printed by `sohoa report`. */
static json_t *build_report(run *r, double wall, int exit_code, int left)
{
    int p_in = 0, p_out = 0, blank = 0, split = 0, rotated = 0, low = 0;
    int dpi_assumed = 0, quarantined = 0, timed_out = 0;
    json_t *left_ids = json_array();
    for (int d = 0; d < r->nds; d++) {
        const char *id = r->ds[d].id;
        p_in += count_sql(r->db, "SELECT count(DISTINCT source_name||'/'||"
                          "frame) FROM page WHERE dossier=?", id);
        p_out += count_sql(r->db, "SELECT coalesce(pages,0) FROM dossier "
                           "WHERE id=? AND state='done'", id);
        blank += count_sql(r->db, "SELECT count(*) FROM page WHERE "
                           "dossier=? AND kind='blank'", id);
        split += count_sql(r->db, "SELECT count(*) FROM page WHERE "
                           "dossier=? AND part=1", id);
        rotated += count_sql(r->db, "SELECT count(*) FROM page WHERE "
                             "dossier=? AND quarter<>0", id);
        low += count_sql(r->db, "SELECT count(*) FROM page WHERE dossier=?"
                         " AND state='ocr' AND (conf<70 OR review IS NOT "
                         "NULL)", id);
        dpi_assumed += count_sql(r->db, "SELECT count(*) FROM page WHERE "
                                 "dossier=? AND dpi_assumed", id);
        quarantined += count_sql(r->db, "SELECT count(*) FROM page WHERE "
                                 "dossier=? AND state='quarantined'", id);
        timed_out += count_sql(r->db, "SELECT count(*) FROM page WHERE "
                               "dossier=? AND state='timeout'", id);
        if (r->st[d].planned && !r->st[d].done)
            json_array_append_new(left_ids, json_string(id));
    }
    json_t *fails = json_array();
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(r->db,
                           "SELECT dossier, file, frame, reason FROM event "
                           "WHERE run=? AND level='error' ORDER BY id",
                           -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, r->run_id);
        while (sqlite3_step(st) == SQLITE_ROW) {
            json_t *f = json_object();
            json_object_set_new(f, "dossier", json_string((const char *)sqlite3_column_text(st, 0)));
            json_object_set_new(f, "file", json_string((const char *)sqlite3_column_text(st, 1)));
            json_object_set_new(f, "page", sqlite3_column_type(st, 2) == SQLITE_NULL
                                ? json_null() : json_integer(sqlite3_column_int(st, 2) + 1));
            json_object_set_new(f, "reason", json_string((const char *)sqlite3_column_text(st, 3)));
            json_array_append_new(fails, f);
        }
        sqlite3_finalize(st);
    }
    char when[32];
    sh_now_iso(when);
    json_t *rep = json_pack(
        "{sIsssfsisi}", "run", (json_int_t)r->run_id, "finished", when,
        "wall_s", wall, "exit_code", exit_code, "workers", r->nw);
    json_object_set_new(rep, "dossiers", json_pack("{sisisisisi}", "in", r->nds,
        "done", r->d_done, "failed", r->d_failed, "up_to_date", r->d_skipped,
        "left", left));
    json_object_set_new(rep, "pages", json_pack(
        "{sisisisisisisisisisisisi}", "in", p_in, "out", p_out, "ocr",
        r->p_ocr, "cached", r->p_cached, "failed", r->p_failed, "quarantined",
        quarantined, "timed_out", timed_out, "blank", blank, "split", split,
        "rotated", rotated, "low_conf", low, "dpi_assumed", dpi_assumed));
    json_object_set_new(rep, "pages_per_min",
                        json_real(wall > 0 ? r->p_ocr * 60.0 / wall : 0));
    json_object_set_new(rep, "ocr_s", json_real(r->ocr_time));
    json_object_set_new(rep, "worker_peak_rss_mb",
                        json_real(r->worker_rss_kb / 1024.0));
    json_object_set_new(rep, "deadline_reached", json_boolean(r->deadline_hit));
    json_object_set_new(rep, "failures", fails);
    json_object_set_new(rep, "left", left_ids);
    return rep;
}

/* ------------------------------------------------------------------ */
/* the command                                                         */

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

static int take_lock(const char *wh, int *fd_out, sh_err *err)
{
    char p[PATH_MAX + 16];
    snprintf(p, sizeof p, "%s/.lock", wh);
    int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return sh_errf(err, SH_EIO, "%s: cannot open lock file: %s", p,
                       strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        char pid[32] = "";
        ssize_t k = pread(fd, pid, sizeof pid - 1, 0);
        pid[k > 0 ? k : 0] = 0;
        pid[strcspn(pid, "\n")] = 0;
        close(fd);
        return sh_errf(err, SH_ELOCKED,
                       "another sohoa run (pid %s) is working on %s; try "
                       "again when it ends",
                       pid[0] ? pid : "?", wh);
    }
    char s[32];
    int n = snprintf(s, sizeof s, "%d\n", (int)getpid());
    if (ftruncate(fd, 0) == 0 && pwrite(fd, s, (size_t)n, 0) != n)
        sh_log(SH_LOG_DEBUG, "could not write pid to %s", p);
    *fd_out = fd;
    return SH_OK;
}

int sh_cmd_run(int argc, char **argv)
{
    run R = {0};
    run *r = &R;
    r->wh = sh_warehouse_default();
    r->nw = (int)sysconf(_SC_NPROCESSORS_ONLN);
    r->page_timeout = 180;
    double max_minutes = 0;
    int *mf_from = NULL;    /* first dossier of each batch with a manifest */
    static const struct option opts[] = {
        {"warehouse", required_argument, NULL, 'w'},
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
        {"log-json", no_argument, NULL, 'J'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    optind = 1;
    const char *deadline = NULL;
    while ((c = getopt_long(argc, argv, "w:j:a:t:m:D:S:M:C:qkJh", opts, NULL)) != -1) {
        switch (c) {
        case 'w': r->wh = optarg; break;
        case 'j': r->nw = atoi(optarg); break;
        case 'a': r->agency = optarg; break;
        case 't': r->page_timeout = atoi(optarg); break;
        case 'm': max_minutes = atof(optarg); break;
        case 'D': deadline = optarg; break;
        case 'k': r->keep_blanks = 1; break;
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
        case 'q': sh_log_level = SH_LOG_WARN; r->quiet = 1; break;
        case 'J': sh_log_json = 1; break;
        case 'h': usage(); return SH_EXIT_OK;
        default: usage(); return SH_EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "sohoa run: name at least one batch folder\n");
        usage();
        return SH_EXIT_USAGE;
    }
    if (r->nw < 1 || r->nw > 256 || r->page_timeout < 1) {
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
    signal(SIGPIPE, SIG_IGN);
    signal(SIGXFSZ, SIG_IGN);   /* a file size limit is a write error */
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

    sh_err err = {0};
    int lockfd = -1, exit_code = SH_EXIT_OK;
    json_t *report = NULL;
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
    static char wh_abs[PATH_MAX];
    if (realpath(r->wh, wh_abs))
        r->wh = wh_abs;
    if ((rc = take_lock(r->wh, &lockfd, &err))) {
        sh_log(SH_LOG_ERROR, "%s", err.msg);
        return rc == SH_ELOCKED ? SH_EXIT_LOCKED : SH_EXIT_USAGE;
    }
    remove_stale_temps(r->wh);
    if ((rc = sh_db_open(r->wh, 0, &r->db, &err))) {
        sh_log(SH_LOG_ERROR, "%s", err.msg);
        close(lockfd);
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
            close(lockfd);
            return SH_EXIT_USAGE;
        }
        sh_log(SH_LOG_INFO, "index upgraded in %.1f s", sh_now() - t0);
    }
    {
        sqlite3_stmt *st;
        char when[32];
        sh_now_iso(when);
        sh_buf a = {0};
        for (int i = 0; i < argc; i++)
            sh_buf_printf(&a, "%s%s", i ? " " : "", argv[i]);
        if (!stmt(r->db,
                  "INSERT INTO run(started,pid,args,state) VALUES(?,?,?,"
                  "'running')",
                  &st, NULL)) {
            bind_text(st, 1, when);
            sqlite3_bind_int(st, 2, (int)getpid());
            bind_text(st, 3, a.data);
            step_done(r->db, st, NULL);
            r->run_id = sqlite3_last_insert_rowid(r->db);
        }
        sh_buf_release(&a);
    }

    mf_from = calloc((size_t)argc + 1, sizeof *mf_from);
    r->mfs = calloc((size_t)argc + 1, sizeof *r->mfs);
    if (!mf_from || !r->mfs)
        rc = sh_errf(&err, SH_ENOMEM, "out of memory");
    for (int i = optind; i < argc && !rc; i++) {
        int before = r->nds;
        rc = sh_batch_list(argv[i], &r->ds, &r->nds, &err);
        /* The batch's manifest.csv, if any: its dossiers' metadata. */
        mf_from[r->nmfs] = before;
        if (!rc && !(rc = sh_manifest_load(argv[i], &r->mfs[r->nmfs], &err))
            && r->mfs[r->nmfs]) {
            sh_manifest *m = r->mfs[r->nmfs];
            for (int k = 0; k < m->nwarnings; k++)
                sh_log(SH_LOG_WARN, "%s", m->warnings[k]);
            if (m->fatal)
                sh_log(SH_LOG_ERROR, "%s (every dossier of %s fails until "
                       "it is fixed)", m->fatal, argv[i]);
            else
                sh_log(SH_LOG_INFO, "%s: %d dossier row%s", m->path, m->n,
                       m->n == 1 ? "" : "s");
        }
        r->nmfs++;
        if (!rc && r->nds == before) {
            /* Scanner files straight in the folder: a dossier folder was
               named instead of its batch. */
            sh_dossier_in *one = NULL;
            int n1 = 0;
            sh_err e2 = {0};
            int looks_like_dossier = 0;
            char parent[4096];
            snprintf(parent, sizeof parent, "%s/..", argv[i]);
            if (!sh_batch_list(parent, &one, &n1, &e2))
                for (int k = 0; k < n1; k++) {
                    char a1[PATH_MAX], a2[PATH_MAX];
                    if (realpath(one[k].dir, a1) && realpath(argv[i], a2) &&
                        !strcmp(a1, a2) && one[k].nfiles > 0)
                        looks_like_dossier = 1;
                }
            sh_dossiers_free(&one, n1);
            if (looks_like_dossier) {
                rc = sh_errf(&err, SH_EUSAGE,
                             "%s holds scanner files but no dossier folders: "
                             "name the batch folder (one sub-folder per "
                             "dossier), e.g. %s/..", argv[i], argv[i]);
            } else {
                sh_log(SH_LOG_WARN, "%s: no dossier folders in this batch",
                       argv[i]);
            }
        }
    }
    if (rc) {
        sh_log(SH_LOG_ERROR, "%s", err.msg);
        exit_code = SH_EXIT_USAGE;
        goto out;
    }
    r->st = calloc((size_t)r->nds + 1, sizeof *r->st);
    r->mf = calloc((size_t)r->nds + 1, sizeof *r->mf);
    for (int i = 0; r->mf && i < r->nmfs; i++)
        for (int d = mf_from[i]; d < (i + 1 < r->nmfs ? mf_from[i + 1]
                                                      : r->nds); d++)
            r->mf[d] = r->mfs[i];
    if (!r->st || !r->mf) {
        exit_code = SH_EXIT_USAGE;
        goto out;
    }
    for (int d = 0; d < r->nds && !rc; d++)
        rc = plan_dossier(r, d, &err);
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
        rc = maybe_finish(r, d, &err);
    if (!rc && r->njobs)
        rc = pool_run(r, &err);
    if (rc) {
        sh_log(SH_LOG_ERROR, "run stopped: %s", err.msg);
        /* The warehouse cannot be written (disk full, I/O, catalog):
           a configuration matter for ops, not a bad dossier. */
        exit_code = SH_EXIT_USAGE;
    }
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
        exit_code = r->d_failed ? SH_EXIT_PARTIAL
                    : left      ? (r->deadline_hit ? SH_EXIT_DEADLINE
                                                   : SH_EXIT_PARTIAL)
                                : SH_EXIT_OK;
    report = build_report(r, wall, exit_code, left);
out:
    if (r->db && r->run_id) {
        sqlite3_stmt *st;
        char when[32];
        sh_now_iso(when);
        char *rs = report ? json_dumps(report, JSON_COMPACT) : NULL;
        if (!stmt(r->db,
                  "UPDATE run SET finished=?, state=?, exit_code=?, report=?"
                  " WHERE id=?",
                  &st, NULL)) {
            bind_text(st, 1, when);
            bind_text(st, 2, exit_code ? "partial" : "done");
            sqlite3_bind_int(st, 3, exit_code);
            bind_text(st, 4, rs);
            sqlite3_bind_int64(st, 5, r->run_id);
            step_done(r->db, st, NULL);
        }
        free(rs);
    }
    json_decref(report);
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
    free(mf_from);
    sh_dossiers_free(&r->ds, r->nds);
    sh_db_close(&r->db);
    if (lockfd >= 0)
        close(lockfd);
    return exit_code;
}
