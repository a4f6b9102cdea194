/*
 * run_plan.c — `sohoa run`, planning: which dossiers and pages this run
 * does.
 *
 *   sh_run_plan_dossier   compare a dossier with the catalog; queue jobs
 *
 * Method.  A dossier's inputs signature is the SHA-256 of its output
 * version, its files' names and hashes and its manifest row (or the
 * manifest's verdict on it).  A dossier in state 'done' with the same
 * signature, agency and its PDF in place is up to date: nothing is
 * written.  Any other is re-planned in one transaction: its dossier row
 * is reset to 'pending', its pages are taken out of the index, its
 * manifest row is stored, each source file is opened to count its frames
 * and recorded, and pages whose source bytes changed (or that are gone)
 * are forgotten.  Then a job is queued for each page still to recognise,
 * and a render-only job for each recognised page whose image is no
 * longer in .work/; a page quarantined or timed out before on the same
 * bytes fails its dossier without being tried again.
 */
#include "run_int.h"
#include "../index/index.h"
#include "../scanners/scan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Take a dossier out of the index (its rows stay, unplaced). */
static int unplace(run *r, const char *id, sh_err *err)
{
    sqlite3_stmt *st;
    int rc = sh_db_prep(r->db,
                  "SELECT id, text FROM page WHERE dossier=? AND pageno IS "
                  "NOT NULL",
                  &st, err);
    if (rc)
        return rc;
    sh_db_bind_text(st, 1, id);
    while (!rc && sqlite3_step(st) == SQLITE_ROW)
        rc = sh_index_remove(r->db, sqlite3_column_int64(st, 0),
                             (const char *)sqlite3_column_text(st, 1), err);
    sqlite3_finalize(st);
    if (rc)
        return rc;
    if ((rc = sh_db_prep(r->db, "UPDATE page SET pageno=NULL WHERE dossier=?", &st,
                   err)))
        return rc;
    sh_db_bind_text(st, 1, id);
    return sh_db_done(r->db, st, err);
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

static void inputs_sig(const sh_dossier_in *d, const sh_manifest *m,
                       int edits, char hex[65])
{
    sh_buf b = {0};
    /* What a dossier's outputs are made of changes with the version of
       its PDF and catalog rows: 2 = PDF/A-2b, read back, with documents.
       A dossier made by an earlier version is re-assembled once, from its
       cached OCR (no page is recognised again). */
    sh_buf_adds(&b, "output\t2\n");
    for (int i = 0; i < d->nfiles; i++) {
        const sh_infile *f = &d->files[i];
        sh_buf_printf(&b, "%s\t%s\n", f->name, f->sha256);
        /* a stream dossier: which frames, and their pixels */
        for (int k = 0; k < f->nframes; k++)
            sh_buf_printf(&b, "\tframe %d %s\n", f->frames[k], f->fsha[k]);
    }
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
    /* A clerk's edits (review station) are an input too; nothing is
       added for a dossier no clerk changed. */
    if (edits > 0)
        sh_buf_printf(&b, "review\t%d\n", edits);
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

/* A stream file's pages in dossier id: forget those of frames no longer
   in the dossier or whose pixels changed (fsha); the rest keep their OCR. */
static int keep_stream_pages(run *r, const char *id, const sh_infile *f,
                             sh_err *err)
{
    sqlite3_stmt *st;
    int rc = sh_db_prep(r->db, "SELECT id, frame, source_sha256 FROM page "
                        "WHERE dossier=? AND source_name=?", &st, err);
    if (rc)
        return rc;
    sh_db_bind_text(st, 1, id);
    sh_db_bind_text(st, 2, f->name);
    int64_t *gone = NULL;
    int ngone = 0;
    while (!rc && sqlite3_step(st) == SQLITE_ROW) {
        int fr = sqlite3_column_int(st, 1), keep = 0;
        const char *sha = (const char *)sqlite3_column_text(st, 2);
        for (int k = 0; k < f->nframes && !keep; k++)
            keep = f->frames[k] == fr && sha && !strcmp(sha, f->fsha[k]);
        if (keep)
            continue;
        int64_t *ng = realloc(gone, (size_t)(ngone + 1) * sizeof *ng);
        if (!ng)
            rc = sh_errf(err, SH_ENOMEM, "out of memory");
        else
            (gone = ng)[ngone++] = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    for (int i = 0; !rc && i < ngone; i++)
        if (!(rc = sh_db_prep(r->db, "DELETE FROM page WHERE id=?", &st,
                              err))) {
            sqlite3_bind_int64(st, 1, gone[i]);
            rc = sh_db_done(r->db, st, err);
        }
    free(gone);
    return rc;
}

/* See run_int.h. */
int sh_run_plan_dossier(run *r, int d, sh_err *err)
{
    sh_dossier_in *in = &r->ds[d];
    dstate *s = &r->st[d];
    char sig[65];
    if (r->only && strcmp(in->id, r->only)) {
        s->done = 1;         /* --only another dossier */
        return SH_OK;
    }
    if (r->shard_n > 1 && sh_shard_of(in->batch, in->id, r->shard_n) !=
                              r->shard_k) {
        s->done = 1;         /* another shard's dossier */
        r->d_other_shard++;
        return SH_OK;
    }
    /* The warehouse itself inside a batch folder is not a dossier (its
       PDFs must never be read back as scans). */
    char rd[PATH_MAX], rw[PATH_MAX];
    if (!in->stream && realpath(in->dir, rd) && realpath(r->wh, rw) &&
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
    int edits = sh_run_review_edits(r, in->id);
    char base[65], old_sig[65] = "";
    inputs_sig(in, mf, edits, sig);
    inputs_sig(in, mf, 0, base);

    sqlite3_stmt *st;
    int rc = sh_db_prep(r->db,
                  "SELECT state, inputs_sig, pdf, agency FROM dossier WHERE "
                  "id=?",
                  &st, err);
    if (rc)
        return rc;
    sh_db_bind_text(st, 1, in->id);
    int up_to_date = 0;
    if (sqlite3_step(st) == SQLITE_ROW) {
        const char *state = (const char *)sqlite3_column_text(st, 0);
        const char *osig = (const char *)sqlite3_column_text(st, 1);
        const char *pdf = (const char *)sqlite3_column_text(st, 2);
        const char *ag = (const char *)sqlite3_column_text(st, 3);
        if (osig)
            snprintf(old_sig, sizeof old_sig, "%s", osig);
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
    rc = sh_db_prep(r->db,
              "INSERT INTO dossier(id,batch,agency,state,inputs_sig,updated)"
              " VALUES(?1,?2,?3,'pending',?4,?5) ON CONFLICT(id) DO UPDATE SET"
              " batch=?2, agency=coalesce(?3,agency), state='pending',"
              " inputs_sig=?4, error=NULL, updated=?5",
              &st, err);
    if (!rc) {
        sh_db_bind_text(st, 1, in->id);
        sh_db_bind_text(st, 2, in->batch);
        sh_db_bind_text(st, 3, agency);
        sh_db_bind_text(st, 4, sig);
        sh_db_bind_text(st, 5, when);
        rc = sh_db_done(r->db, st, err);
    }
    if (!rc)
        rc = unplace(r, in->id, err);
    /* made again from other scans or manifest: a clerk's approval no
       longer holds (an edit withdrew it already) */
    if (!rc)
        rc = sh_run_review_withdraw(r, d, base, old_sig[0] ? old_sig : NULL,
                                    err);
    /* a sheet whose geometry a clerk changed is recognised again */
    if (!rc)
        rc = sh_run_review_requeue(r, in->id, err);
    char *mwhy = NULL;
    if (!rc && mf)
        rc = sh_manifest_apply(r->db, mf, in->id, &mwhy, err);
    /* Forget sources and pages that are no longer in the folder. */
    if (!rc && !(rc = sh_db_prep(r->db,
                           "UPDATE source SET state='gone' WHERE dossier=?",
                           &st, err))) {
        sh_db_bind_text(st, 1, in->id);
        rc = sh_db_done(r->db, st, err);
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
        rc = sh_db_prep(r->db,
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
        sh_db_bind_text(st, 1, in->id);
        sqlite3_bind_int(st, 2, i);
        sh_db_bind_text(st, 3, f->name);
        sh_db_bind_text(st, 4, f->path);
        sqlite3_bind_int64(st, 5, f->size);
        sqlite3_bind_int64(st, 6, f->mtime);
        sh_db_bind_text(st, 7, f->sha256);
        sh_db_bind_text(st, 8, fmt);
        sqlite3_bind_int(st, 9, frames);
        sh_db_bind_text(st, 10, ferr.rc ? "failed" : "ok");
        sh_db_bind_text(st, 11, ferr.rc ? ferr.msg : NULL);
        if ((rc = sh_db_done(r->db, st, err)))
            break;
        if (ferr.rc) {
            sh_run_dossier_error(r, d, f->name, -1, ferr.msg);
            continue;
        }
        /* Pages of this file: keep OCR results made from the same bytes
           (a stream file's frames: from the same pixels). */
        rc = f->nframes ? keep_stream_pages(r, in->id, f, err)
                        : sh_db_prep(r->db,
                        "DELETE FROM page WHERE dossier=? AND source_name=? AND"
                        " (source_sha256<>? OR frame>=?)",
                        &st, err);
        if (rc)
            break;
        if (!f->nframes) {
            sh_db_bind_text(st, 1, in->id);
            sh_db_bind_text(st, 2, f->name);
            sh_db_bind_text(st, 3, f->sha256);
            sqlite3_bind_int(st, 4, frames);
            if ((rc = sh_db_done(r->db, st, err)))
                break;
        }
        for (int k = 0; !rc && k < (f->nframes ? f->nframes : frames); k++) {
            int fr = f->nframes ? f->frames[k] : k;
            if (fr >= frames) {
                sh_run_dossier_error(r, d, f->name, fr, "this page is no "
                                     "longer in the file");
                continue;
            }
            rc = sh_db_prep(r->db,
                      "INSERT INTO page(dossier,source_name,source_sha256,"
                      "frame) VALUES(?,?,?,?) ON CONFLICT DO NOTHING",
                      &st, err);
            if (rc)
                break;
            sh_db_bind_text(st, 1, in->id);
            sh_db_bind_text(st, 2, f->name);
            sh_db_bind_text(st, 3, f->nframes ? f->fsha[k] : f->sha256);
            sqlite3_bind_int(st, 4, fr);
            rc = sh_db_done(r->db, st, err);
        }
    }
    if (!rc && !(rc = sh_db_prep(r->db,
                           "DELETE FROM page WHERE dossier=?1 AND source_name"
                           " IN (SELECT name FROM source WHERE dossier=?1 AND"
                           " state='gone')",
                           &st, err))) {
        sh_db_bind_text(st, 1, in->id);
        rc = sh_db_done(r->db, st, err);
        if (!rc && !(rc = sh_db_prep(r->db,
                                     "DELETE FROM source WHERE dossier=? AND "
                                     "state='gone'",
                                     &st, err))) {
            sh_db_bind_text(st, 1, in->id);
            rc = sh_db_done(r->db, st, err);
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
        sh_run_dossier_error(r, d, mf->path, -1, mwhy);
        free(mwhy);
    }
    if (in->nfiles == 0)
        sh_run_dossier_error(r, d, in->dir, -1,
                      "no scanner files (TIFF, JPEG or PNG) in this folder");

    /* Queue what is missing: OCR for new pages, images for cached ones. */
    rc = sh_db_prep(r->db,
              "SELECT p.id, p.source_name, p.frame, p.state, p.quarter,"
              " p.tag_rot, p.skew, p.skew_conf, p.osd_conf, p.ocr_w, p.ocr_h,"
              " p.ocr_dpi, p.page_w_pt, p.page_h_pt, p.error, s.path, "
              SH_RUN_REVIEW_FORCE_COLS
              " FROM page p JOIN source s ON s.dossier=p.dossier AND"
              " s.name=p.source_name " SH_RUN_REVIEW_FORCE_JOIN
              " WHERE p.dossier=? AND p.part=0"
              " ORDER BY s.seq, p.frame",
              &st, err);
    if (rc)
        return rc;
    sh_db_bind_text(st, 1, in->id);
    while (!rc && sqlite3_step(st) == SQLITE_ROW) {
        job j = {0};
        j.page_id = sqlite3_column_int64(st, 0);
        j.d = d;
        const char *state = (const char *)sqlite3_column_text(st, 3);
        const char *name = (const char *)sqlite3_column_text(st, 1);
        j.frame = sqlite3_column_int(st, 2);
        for (int k = 0; k < 3; k++)
            j.force[k] = sqlite3_column_int(st, 16 + k);
        if (state && (!strcmp(state, "quarantined") ||
                      !strcmp(state, "timeout"))) {
            /* Same bytes crashed or timed out before: do not retry. */
            const char *e = (const char *)sqlite3_column_text(st, 14);
            sh_run_dossier_error(r, d, name, j.frame, e ? e : state);
            continue;
        }
        if (state && !strcmp(state, "ocr")) {
            char ip[4096];
            sh_run_img_path(r, j.page_id, ip, sizeof ip);
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

