/*
 * run_pool.c — `sohoa run`, the worker pool: pages go to `sohoa worker`
 * processes and their results into the catalog (the job journal).
 *
 *   sh_run_pool   run the queued jobs on N workers
 *
 * Method.  Each worker is this program re-executed as `sohoa worker`
 * (/proc/self/exe) with OMP_THREAD_LIMIT=1 in its environment from exec
 * time (Tesseract's OpenMP reads it once) and PR_SET_PDEATHSIG, so it
 * never outlives the run.  Jobs go down a pipe and results come up
 * another, one JSON line each (protocol: pipeline.h); poll() waits on
 * the busy workers.  Each result is committed at once in its own
 * transaction (its parts for a two-up sheet, notes as events), so a
 * killed run resumes where it stopped.  A worker that dies costs its
 * page only: the page is quarantined with the signal or status and a new
 * worker is started on the next turn; a page that runs a minute past
 * --page-timeout has its worker killed.  When the deadline passes no
 * new job is handed out and the loop ends as the busy workers finish.
 */
#include "run_int.h"
#include "../base/vntext.h"
#include "../index/index.h"
#include "../scanners/geom.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

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
    sh_run_img_path(r, j->page_id, ip, sizeof ip);
    json_t *o = json_pack("{sIsssisssiss}", "id", (json_int_t)j->page_id,
                          "path", j->path, "frame", j->frame, "img", ip,
                          "timeout", r->page_timeout, "mode",
                          j->render ? "render" : "ocr");
    if (j->force[0] || j->force[1] || j->force[2])
        json_object_set_new(o, "force", json_pack("{sisisi}", "quarter",
                            j->force[0], "split", j->force[1], "blank",
                            j->force[2]));
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

/* Give idle worker w the next job, unless none is left or the deadline
   has passed (said once). */
static void hand_out(run *r, worker *w)
{
    if (r->next >= r->njobs)
        return;
    if (r->stop_at > 0 && sh_now() >= r->stop_at) {
        if (!r->deadline_hit) {
            r->deadline_hit = 1;
            sh_log(SH_LOG_WARN, "time limit reached: no new pages started; "
                   "%d left for the next run", r->njobs - r->next);
        }
        return;
    }
    if (w->pid <= 0 || w->busy >= 0)
        return;
    int ji = r->next++;
    if (send_job(r, w, ji)) {
        r->next--;              /* died before taking it: give it back */
        w->busy = -1;
    }
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
    int rc = sh_db_prep(r->db,
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
    sh_db_bind_text(st, 1, r->ds[j->d].id);
    sh_db_bind_text(st, 2, j->name);
    sqlite3_bind_int64(st, 3, j->page_id);
    sqlite3_bind_int(st, 4, j->frame);
    sqlite3_bind_int(st, 5, pi);
    sh_db_bind_text(st, 6, g.blank ? "blank" : "page");
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
    sh_db_bind_text(st, 19, crop);
    sh_db_bind_text(st, 20, json_string_value(json_object_get(res, "codec")));
    sh_db_bind_text(st, 21, gs);
    sh_db_bind_text(st, 22, text ? text : "");
    sh_db_bind_text(st, 23, words ? words : "[]");
    sqlite3_bind_double(st, 24, json_number_value(json_object_get(part, "conf")));
    sh_db_bind_text(st, 25, review[0] ? review : NULL);
    /* Frame-level stages (read, encode) are charged to part 0. */
    sqlite3_bind_double(st, 26, pi ? 0 : json_number_value(json_object_get(tt, "read")));
    sqlite3_bind_double(st, 27, json_number_value(json_object_get(t, "prep")));
    sqlite3_bind_double(st, 28, json_number_value(json_object_get(t, "orient")));
    sqlite3_bind_double(st, 29, json_number_value(json_object_get(t, "deskew")));
    sqlite3_bind_double(st, 30, json_number_value(json_object_get(t, "ocr")));
    sqlite3_bind_double(st, 31, pi ? 0 : json_number_value(json_object_get(tt, "encode")));
    rc = sh_db_done(r->db, st, err);
    free(gs);
    free(words);
    free(norm);
    if (!rc && g.review)
        sh_run_event(r, "warn", r->ds[j->d].id, j->name, j->frame, "review", review);
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
        sh_run_dossier_error(r, j->d, j->name, j->frame, msg ? msg : "failed");
        if ((rc = sh_db_prep(r->db, "UPDATE page SET state=?, error=? WHERE id=?",
                       &st, err)))
            return rc;
        sh_db_bind_text(st, 1, state);
        sh_db_bind_text(st, 2, msg);
        sqlite3_bind_int64(st, 3, j->page_id);
        return sh_db_done(r->db, st, err);
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
    if (!rc && !(rc = sh_db_prep(r->db,
                                 "DELETE FROM page WHERE dossier=? AND "
                                 "source_name=? AND frame=? AND part>=?",
                                 &st, err))) {
        sh_db_bind_text(st, 1, did);
        sh_db_bind_text(st, 2, j->name);
        sqlite3_bind_int(st, 3, j->frame);
        sqlite3_bind_int(st, 4, np);
        rc = sh_db_done(r->db, st, err);
    }
    if (rc) {
        sh_db_exec(r->db, "ROLLBACK", NULL);
        return rc;
    }
    if ((rc = sh_db_exec(r->db, "COMMIT", err)))
        return rc;
    r->p_ocr++;
    r->ocr_time += json_number_value(json_object_get(t, "ocr"));
    r->ocr_cpu += json_number_value(json_object_get(t, "ocr_cpu"));
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
            sh_run_event(r, "warn", did, j->name, j->frame, "dpi_assumed", why);
            sh_log(SH_LOG_WARN, "%s/%s page %d: %s", did, j->name,
                   j->frame + 1, why);
            continue;
        }
        sh_run_event(r, notes[k].level, did, j->name, j->frame, notes[k].key,
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
            if ((rc = sh_run_maybe_finish(r, r->jobs[ji].d, err)))
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
        /* The worker's next page first: a finished dossier's assembly
           (PDF, read-back, index) would otherwise keep it idle. */
        if (!rc)
            hand_out(r, w);
        if (!rc)
            rc = sh_run_maybe_finish(r, r->jobs[ji].d, err);
        if (rc)
            return rc;
        progress(r);
    }
    return SH_OK;
}

/* See run_int.h. */
int sh_run_pool(run *r, sh_err *err)
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
        /* Start workers and hand out jobs. */
        live = 0;
        for (int i = 0; i < r->nw; i++) {
            worker *w = &r->w[i];
            if (w->pid < 0 && r->next < r->njobs && !stop) {
                if ((rc = spawn(w, err)))
                    goto out;
            }
            hand_out(r, w);
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

