/*
 * run_stream.c — `sohoa run`, streams: a stack scanned in one go, cut
 * into dossiers at its separator sheets before planning.
 *
 *   sh_run_streams   a batch's streams → virtual dossiers in r->ds
 *   detect_page      one stream page: separator or not (catalog cache)
 *   id_taken         may a separator's id open a dossier here
 *   make_dossiers / record_unassigned / report_problems
 *
 * Method.  A batch's stream is the scanner files straight in its folder
 * and, with --stream NAME, the files of its sub-folder NAME (then not a
 * dossier), each in natural name order, every frame of each file in turn.
 * Every page is decoded once and tested with sh_sep_detect (~100 dpi zbar
 * read; see scanners/barcode.h); the verdict and the SHA-256 of the page's
 * decoded pixels are cached in the catalog (stream_page, keyed by the
 * file's SHA-256 and the frame), so a re-run decodes only new files.
 * sh_stream_cut (stream.c) cuts the pages into groups; each group with an
 * id becomes an ordinary sh_dossier_in whose files carry the frames that
 * are its pages (stream = 1): planning, signatures, workers, assembly,
 * shards and manifest rows work on it as on a folder dossier, and a page
 * keeps its OCR while its pixels are the same (a stream file that grows
 * costs only its new pages).  Separator sheets and their blank sides are
 * in no dossier.  The clerk's mistakes are logged by file and page,
 * recorded as events and in the run report ("streams"), and make the run
 * exit 1; pages no separator can be trusted for are kept in the catalog's
 * unassigned table (stream, file, frame, reason) for a person to place.
 */
#include "run_int.h"
#include "stream.h"
#include "../index/index.h"
#include "../scanners/scan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char stream_sql[] =
    "CREATE TABLE IF NOT EXISTS stream_page(\n"
    "  sha256 TEXT NOT NULL, frame INTEGER NOT NULL, frame_sha TEXT,\n"
    "  kind TEXT, code TEXT, blank INTEGER, PRIMARY KEY(sha256, frame));\n"
    "CREATE TABLE IF NOT EXISTS unassigned(\n"
    "  stream TEXT NOT NULL, file TEXT NOT NULL, frame INTEGER NOT NULL,\n"
    "  path TEXT, sha256 TEXT, reason TEXT, run INTEGER,\n"
    "  PRIMARY KEY(stream, file, frame));\n";

/* One page of a stream. */
typedef struct spage {
    int file, frame;
    int kind;            /* enum sh_sep_kind */
    char *id;
    int blank;
    char fsha[65];
} spage;

typedef struct stream {
    run *r;
    const char *dir;     /* the stream's folder */
    sh_infile *files;
    int nfiles;
    spage *p;
    int np;
} stream;

static const char *kind_name(int k)
{
    return k == SH_SEP_SHEET ? "separator" : k == SH_SEP_UNREADABLE
                                                 ? "unreadable" : "page";
}

/* SHA-256 of a frame's decoded pixels (size, depth and rows, pad bits
   cleared). */
static void pix_sha(PIX *pix, char hex[65])
{
    pixSetPadBits(pix, 0);
    sh_buf b = {0};
    sh_buf_printf(&b, "%d %d %d\n", pixGetWidth(pix), pixGetHeight(pix),
                  pixGetDepth(pix));
    sh_buf_add(&b, pixGetData(pix),
               (size_t)pixGetWpl(pix) * 4 * (size_t)pixGetHeight(pix));
    sh_sha256_buf(b.data ? b.data : "", b.len, hex);
    sh_buf_release(&b);
}

/* Page (f, frame) of the stream into *pg, from the cache or decoded. */
static int detect_page(stream *s, int f, sh_scan *sc, int frame, spage *pg,
                       sh_err *err)
{
    run *r = s->r;
    const sh_infile *in = &s->files[f];
    memset(pg, 0, sizeof *pg);
    pg->file = f;
    pg->frame = frame;
    sqlite3_stmt *st;
    int rc = sh_db_prep(r->db, "SELECT frame_sha, kind, code, blank FROM "
                        "stream_page WHERE sha256=? AND frame=?", &st, err);
    if (rc)
        return rc;
    sh_db_bind_text(st, 1, in->sha256);
    sqlite3_bind_int(st, 2, frame);
    int hit = 0;
    if (sqlite3_step(st) == SQLITE_ROW) {
        const char *fs = (const char *)sqlite3_column_text(st, 0);
        const char *k = (const char *)sqlite3_column_text(st, 1);
        const char *code = (const char *)sqlite3_column_text(st, 2);
        snprintf(pg->fsha, sizeof pg->fsha, "%s", fs ? fs : "");
        pg->kind = k && !strcmp(k, "separator")    ? SH_SEP_SHEET
                   : k && !strcmp(k, "unreadable") ? SH_SEP_UNREADABLE
                                                   : SH_SEP_NONE;
        pg->blank = sqlite3_column_int(st, 3);
        if (code && !(pg->id = strdup(code)))
            rc = sh_errf(err, SH_ENOMEM, "out of memory");
        hit = 1;
    }
    sqlite3_finalize(st);
    if (hit || rc)
        return rc;

    sh_frame fr;
    sh_err ferr = {0};
    if (sh_scan_read(sc, frame, &fr, &ferr)) {
        /* Not a separator as far as we can tell: it stays a page of its
           dossier, whose worker reports why it does not decode. */
        char key[200];
        snprintf(key, sizeof key, "undecodable %s %d", in->sha256, frame);
        sh_sha256_buf(key, strlen(key), pg->fsha);
        return SH_OK;
    }
    if (fr.dpi_assumed)
        sh_frame_guess_dpi(&fr);
    sh_sep sep;
    sh_err derr = {0};
    int dpi = fr.xres < 30 ? 30 : fr.xres > 2400 ? 2400 : fr.xres;
    if ((rc = sh_sep_detect(fr.pix, dpi, 1, &sep, &derr))) {
        sh_frame_release(&fr);
        return sh_errf(err, rc, "%s page %d: %s", in->path, frame + 1,
                       derr.msg);
    }
    pix_sha(fr.pix, pg->fsha);
    sh_frame_release(&fr);
    pg->kind = sep.kind;
    pg->blank = sep.blank == 1;
    if (sep.kind == SH_SEP_SHEET && !(pg->id = strdup(sep.id)))
        return sh_errf(err, SH_ENOMEM, "out of memory");
    if ((rc = sh_db_prep(r->db, "INSERT OR REPLACE INTO stream_page(sha256,"
                         "frame,frame_sha,kind,code,blank) VALUES(?,?,?,?,?,?)",
                         &st, err)))
        return rc;
    sh_db_bind_text(st, 1, in->sha256);
    sqlite3_bind_int(st, 2, frame);
    sh_db_bind_text(st, 3, pg->fsha);
    sh_db_bind_text(st, 4, kind_name(pg->kind));
    sh_db_bind_text(st, 5, pg->id);
    sqlite3_bind_int(st, 6, pg->blank);
    return sh_db_done(r->db, st, err);
}

/* Every page of the stream's files into s->p.  A file that cannot be
   opened is reported (its pages are in no dossier) and passed over. */
static int read_pages(stream *s, int *bad_files, sh_err *err)
{
    int rc = SH_OK;
    *bad_files = 0;
    for (int f = 0; f < s->nfiles && !rc; f++) {
        sh_infile *in = &s->files[f];
        sh_scan *sc = NULL;
        sh_err ferr = {0};
        if (in->error)
            sh_errf(&ferr, SH_EIO, "%s", in->error);
        else
            sh_scan_open(in->path, NULL, &sc, &ferr);
        if (ferr.rc) {
            sh_log(SH_LOG_ERROR, "stream %s: %s: %s; its pages are in no "
                   "dossier", s->dir, in->name, ferr.msg);
            sh_run_event(s->r, "error", NULL, in->path, -1, "stream-file",
                         ferr.msg);
            (*bad_files)++;
            continue;
        }
        int n = sh_scan_frames(sc);
        spage *np = realloc(s->p, (size_t)(s->np + n) * sizeof *np);
        if (!np) {
            sh_scan_close(&sc);
            return sh_errf(err, SH_ENOMEM, "out of memory");
        }
        s->p = np;
        sh_db_exec(s->r->db, "BEGIN IMMEDIATE", NULL);
        for (int k = 0; k < n && !rc; k++)
            if (!(rc = detect_page(s, f, sc, k, &s->p[s->np], err)))
                s->np++;
        if (rc)
            sh_db_exec(s->r->db, "ROLLBACK", NULL);
        else
            rc = sh_db_exec(s->r->db, "COMMIT", err);
        sh_scan_close(&sc);
    }
    return rc;
}

/* sh_id_taken_fn: id is a dossier already listed in this run, or the
   warehouse holds it made from files that are not this stream's. */
static int id_taken(const char *id, char *why, size_t n, void *ctx)
{
    stream *s = ctx;
    run *r = s->r;
    for (int d = 0; d < r->nds; d++)
        if (!strcmp(r->ds[d].id, id)) {
            snprintf(why, n, "%s %s", r->ds[d].stream ? "a dossier of the "
                     "stream in" : "the dossier folder", r->ds[d].dir);
            return 1;
        }
    sqlite3_stmt *st;
    int taken = 0;
    if (sh_db_prep(r->db, "SELECT path FROM source WHERE dossier=?", &st,
                   NULL))
        return 0;
    sh_db_bind_text(st, 1, id);
    while (!taken && sqlite3_step(st) == SQLITE_ROW) {
        const char *p = (const char *)sqlite3_column_text(st, 0);
        int ours = 0;
        for (int f = 0; f < s->nfiles && !ours; f++)
            ours = p && !strcmp(p, s->files[f].path);
        if (!ours) {
            taken = 1;
            snprintf(why, n, "in the warehouse from %s", p ? p : "?");
        }
    }
    sqlite3_finalize(st);
    return taken;
}

/* The groups of cut that have an id and pages → dossiers appended to
   r->ds; *made how many. */
static int make_dossiers(stream *s, const sh_cut *cut, const char *batch,
                         int *made, sh_err *err)
{
    run *r = s->r;
    *made = 0;
    for (int g = 0; g < cut->ng; g++) {
        if (!cut->g[g].id || !cut->g[g].npages)
            continue;
        sh_dossier_in *v = realloc(r->ds, (size_t)(r->nds + 1) * sizeof *v);
        if (!v)
            return sh_errf(err, SH_ENOMEM, "out of memory");
        r->ds = v;
        sh_dossier_in *d = &v[r->nds++];
        memset(d, 0, sizeof *d);
        d->stream = 1;
        d->id = strdup(cut->g[g].id);
        d->dir = strdup(s->dir);
        d->batch = strdup(batch);
        d->files = calloc((size_t)s->nfiles + 1, sizeof *d->files);
        if (!d->id || !d->dir || !d->batch || !d->files)
            return sh_errf(err, SH_ENOMEM, "out of memory");
        (*made)++;
        for (int i = 0; i < s->np; i++) {
            if (cut->group[i] != g)
                continue;
            const spage *pg = &s->p[i];
            const sh_infile *src = &s->files[pg->file];
            sh_infile *f = d->nfiles ? &d->files[d->nfiles - 1] : NULL;
            if (!f || strcmp(f->path, src->path)) {
                f = &d->files[d->nfiles++];
                f->name = strdup(src->name);
                f->path = strdup(src->path);
                f->size = src->size;
                f->mtime = src->mtime;
                memcpy(f->sha256, src->sha256, sizeof f->sha256);
                f->frames = malloc(sizeof *f->frames * (size_t)(s->np + 1));
                f->fsha = malloc(sizeof *f->fsha * (size_t)(s->np + 1));
                if (!f->name || !f->path || !f->frames || !f->fsha)
                    return sh_errf(err, SH_ENOMEM, "out of memory");
            }
            f->frames[f->nframes] = pg->frame;
            memcpy(f->fsha[f->nframes], pg->fsha, 65);
            f->nframes++;
        }
    }
    return SH_OK;
}

/* The unassigned pages of this stream, replacing what an earlier run
   recorded for it. */
static int record_unassigned(stream *s, const sh_cut *cut, int *n,
                             json_t *jun, sh_err *err)
{
    run *r = s->r;
    sqlite3_stmt *st;
    *n = 0;
    int rc = sh_db_exec(r->db, "BEGIN IMMEDIATE", err);
    if (!rc && !(rc = sh_db_prep(r->db, "DELETE FROM unassigned WHERE "
                                 "stream=?", &st, err))) {
        sh_db_bind_text(st, 1, s->dir);
        rc = sh_db_done(r->db, st, err);
    }
    for (int i = 0; !rc && i < s->np; i++) {
        int g = cut->group[i];
        if (g < 0 || cut->g[g].id)
            continue;
        const sh_infile *f = &s->files[s->p[i].file];
        if ((rc = sh_db_prep(r->db, "INSERT OR REPLACE INTO unassigned("
                             "stream,file,frame,path,sha256,reason,run) "
                             "VALUES(?,?,?,?,?,?,?)", &st, err)))
            break;
        sh_db_bind_text(st, 1, s->dir);
        sh_db_bind_text(st, 2, f->name);
        sqlite3_bind_int(st, 3, s->p[i].frame);
        sh_db_bind_text(st, 4, f->path);
        sh_db_bind_text(st, 5, f->sha256);
        sh_db_bind_text(st, 6, cut->g[g].why);
        sqlite3_bind_int64(st, 7, r->run_id);
        if ((rc = sh_db_done(r->db, st, err)))
            break;
        json_array_append_new(jun, json_pack("{s:s, s:s, s:i, s:s}",
                              "stream", s->dir, "file", f->name,
                              "page", s->p[i].frame + 1,
                              "reason", cut->g[g].why));
        (*n)++;
    }
    if (rc)
        sh_db_exec(r->db, "ROLLBACK", NULL);
    else
        rc = sh_db_exec(r->db, "COMMIT", err);
    return rc;
}

static void report_problems(stream *s, const sh_cut *cut, json_t *jp)
{
    for (int i = 0; i < cut->np; i++) {
        const sh_sproblem *p = &cut->p[i];
        const spage *pg = p->page >= 0 && p->page < s->np ? &s->p[p->page]
                                                          : NULL;
        const char *file = pg ? s->files[pg->file].name : "?";
        int frame = pg ? pg->frame : -1;
        sh_log(SH_LOG_ERROR, "stream %s: %s page %d: %s", s->dir, file,
               frame + 1, p->msg);
        sh_run_event(s->r, "error", NULL, pg ? s->files[pg->file].path : NULL,
                     frame, p->what, p->msg);
        json_array_append_new(jp, json_pack("{s:s, s:s, s:i, s:s, s:s}",
                              "stream", s->dir, "file", file,
                              "page", frame + 1, "what", p->what,
                              "reason", p->msg));
        s->r->stream_problems++;
    }
}

/* One stream: files (taken over: freed here) of folder dir. */
static int one_stream(run *r, const char *batch, const char *dir,
                      sh_infile *files, int nfiles, int folder_dossiers,
                      int *nseps, sh_err *err)
{
    stream s = {.r = r, .dir = dir, .files = files, .nfiles = nfiles};
    sh_cut cut = {0};
    int bad = 0, made = 0, nun = 0;
    *nseps = 0;
    int rc = read_pages(&s, &bad, err);
    sh_spage *in = rc ? NULL : calloc((size_t)s.np + 1, sizeof *in);
    if (!rc && !in)
        rc = sh_errf(err, SH_ENOMEM, "out of memory");
    for (int i = 0; !rc && i < s.np; i++) {
        in[i].kind = s.p[i].kind;
        in[i].id = s.p[i].id;
        in[i].blank = s.p[i].blank;
        *nseps += s.p[i].kind != SH_SEP_NONE;
    }
    /* No separator and no dossier folder: a dossier folder named as the
       batch (the caller says so); nothing recorded. */
    if (!rc && (*nseps || folder_dossiers)) {
        if (!r->stream_report)
            r->stream_report = json_pack("{s:[], s:[], s:[]}", "streams",
                                         "problems", "unassigned");
        json_t *jr = r->stream_report;
        if (!jr)
            rc = sh_errf(err, SH_ENOMEM, "out of memory");
        if (!rc)
            rc = sh_stream_cut(in, s.np, id_taken, &s, &cut, err);
        if (!rc)
            rc = make_dossiers(&s, &cut, batch, &made, err);
        if (!rc)
            rc = record_unassigned(&s, &cut, &nun, json_object_get(jr,
                                   "unassigned"), err);
        if (!rc) {
            report_problems(&s, &cut, json_object_get(jr, "problems"));
            r->stream_problems += bad;
            json_array_append_new(json_object_get(jr, "streams"),
                json_pack("{s:s, s:i, s:i, s:i, s:i, s:i}", "stream", dir,
                          "files", nfiles, "pages", s.np, "separators",
                          *nseps, "dossiers", made, "unassigned", nun));
            sh_log(SH_LOG_INFO, "stream %s: %d file%s, %d page%s, %d "
                   "separator%s, %d dossier%s, %d page%s unassigned", dir,
                   nfiles, nfiles == 1 ? "" : "s", s.np, s.np == 1 ? "" : "s",
                   *nseps, *nseps == 1 ? "" : "s", made, made == 1 ? "" : "s",
                   nun, nun == 1 ? "" : "s");
        }
    }
    sh_cut_release(&cut);
    free(in);
    for (int i = 0; i < s.np; i++)
        free(s.p[i].id);
    free(s.p);
    sh_infiles_free(&files, nfiles);
    return rc;
}

/* See run_int.h. */
int sh_run_streams(run *r, const char *batch_dir, int first, int *alone,
                   sh_err *err)
{
    *alone = 0;
    int rc = sh_db_exec(r->db, stream_sql, err);
    if (rc)
        return rc;
    /* The batch folder's absolute path, as sh_batch_list records it. */
    char abs[PATH_MAX];
    const char *batch = realpath(batch_dir, abs) ? abs : batch_dir;
    /* --stream NAME: that sub-folder is a stream, not a dossier. */
    sh_infile *sf = NULL;
    int nsf = 0;
    char *sdir = NULL;
    for (int d = first; r->stream_name && d < r->nds; d++) {
        if (strcmp(r->ds[d].id, r->stream_name))
            continue;
        sf = r->ds[d].files;
        nsf = r->ds[d].nfiles;
        sdir = r->ds[d].dir;
        r->ds[d].files = NULL;
        r->ds[d].nfiles = 0;
        r->ds[d].dir = NULL;
        free(r->ds[d].id);
        free(r->ds[d].batch);
        memmove(&r->ds[d], &r->ds[d + 1], (size_t)(r->nds - d - 1) *
                sizeof *r->ds);
        r->nds--;
        break;
    }
    int folders = r->nds - first;
    sh_infile *lf = NULL;
    int nlf = 0, nseps = 0;
    if (!(rc = sh_batch_files(batch, &lf, &nlf, err)) && nlf) {
        rc = one_stream(r, batch, batch, lf, nlf, folders || sf, &nseps,
                        err);
        *alone = !rc && !nseps && !folders && !sf;
    } else
        sh_infiles_free(&lf, nlf);
    if (sf && !rc && nsf)
        rc = one_stream(r, batch, sdir, sf, nsf, 1, &nseps, err);
    else
        sh_infiles_free(&sf, nsf);
    free(sdir);
    return rc;
}
