/*
 * worker.c — one worker process: reads jobs on stdin, answers on stdout.
 *
 *   sh_worker_main     the loop (sohoa worker, started by sohoa run)
 *
 * A worker keeps one OCR engine (Tesseract vie + osd) for its whole life.
 * It is started with OMP_THREAD_LIMIT=1 in its environment (see run.c), so
 * the two cores run two workers instead of fighting over OpenMP threads.
 * For each job it decodes the frame, then prepares and recognises it
 * while a second thread encodes the archived image for the PDF into
 * job.img (atomic write; one encode per sheet, whatever the number of
 * pages cut from it), and answers with the geometry, words and timings.
 * The encoder thread reads the frame's pixels through a PIX header of its
 * own (Leptonica's reference counts are not atomic), and nothing else
 * writes them while it runs.  A colour frame is read as gray for prep
 * (sh_scan_read_gray); its RGB rows are handed, as they are decoded, to
 * the encoder (started before the read; tee_q, a 16 MB ring) which
 * Flate-codes them straight into job.img: one decoding of the file, no
 * 32 bpp frame and no whole code in memory (an A3 600 dpi colour sheet:
 * worker peak 745 MB -> about 250 MB); when the rows cannot be handed on
 * (not a TIFF in RGB strips or tiles) the encoder reads the colour again
 * with a scan of its own.  The gray is freed once prep is done.  In "render" mode (OCR already in
 * the catalog) it only re-encodes the image.  A crash here costs the page
 * only: the parent sees the pipe close, quarantines the page and starts a
 * new worker.
 */
#include "pipeline.h"
#include "../ocr/ocr.h"
#include "../ocr/pdf.h"
#include "../ocr/vncorrect.h"
#include "../scanners/prep.h"
#include "../scanners/scan.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static json_t *words_json(const sh_words *ws)
{
    json_t *a = json_array();
    for (int i = 0; i < ws->n; i++) {
        const sh_word *w = &ws->w[i];
        json_array_append_new(
            a, json_pack("[iiiifiiiis]", w->x0, w->y0, w->x1, w->y1,
                         (double)w->conf, w->line, w->par, w->baseline_y,
                         w->line_h, w->text));
    }
    return a;
}

static json_t *fail(json_int_t id, int rc, const char *msg)
{
    return json_pack("{sIsbsiss}", "id", id, "ok", 0, "rc", rc, "error", msg);
}

/* Words Tesseract is fairly sure of. */
static int sure_words(const sh_words *ws)
{
    int n = 0;
    for (int i = 0; i < ws->n; i++)
        n += ws->w[i].conf >= 60;
    return n;
}

/* Tesseract's global threshold can lose a stained or faded page whole:
   few words, little confidence. */
static int weak_result(const sh_words *ws)
{
    return sure_words(ws) < 10 || ws->mean_conf < 60;
}

/* Read the page again with Sauvola thresholding; keep the better result. */
static void retry_sauvola(sh_ocr *eng, sh_prepped *pp, int timeout_ms,
                          sh_words *ws)
{
    if (timeout_ms <= 1000)
        return;
    sh_words again;
    sh_err e2 = {0};
    sh_ocr_set(eng, "thresholding_method", "2");
    int rc = sh_ocr_page_banded(eng, pp->ocr, (int)(pp->geom.ocr_dpi + 0.5),
                         timeout_ms, &again, &e2);
    sh_ocr_set(eng, "thresholding_method", "0");
    if (rc)
        return;
    if (sure_words(&again) > sure_words(ws)) {
        sh_words_release(ws);
        *ws = again;
    } else {
        sh_words_release(&again);
    }
}

/* The archived image of one sheet, encoded beside the recognition. */
typedef struct enc_job {
    PIX *pix;                /* own header over the frame's pixels, or
                                NULL (colour: from the file)             */
    const uint8_t *jpeg;     /* the scanner's JPEG bytes, or NULL        */
    size_t njpeg;
    const char *path;        /* colour: the source file and frame, read  */
    int frame, colour;       /* again here (the frame is its gray)       */
    const char *img;         /* the hand-off file                        */
    sh_pdf_image pi;         /* out: what was encoded (data not kept)    */
    sh_err err;
    int rc, write_failed;
    double cpu;              /* out: the encoder thread's CPU seconds    */
    struct tee_q *tee;       /* colour rows from the reader (see below)  */
} enc_job;

/* A PIX header of its own over src's pixels (see the top comment); free
   with unshare_pix.  NULL on OOM. */
static PIX *share_pix(PIX *src)
{
    PIX *h = pixCreateHeader(pixGetWidth(src), pixGetHeight(src),
                             pixGetDepth(src));
    if (!h)
        return NULL;
    pixSetSpp(h, pixGetSpp(src));
    pixCopyResolution(h, src);
    PIXCMAP *cm = pixGetColormap(src);
    if (cm) {
        PIXCMAP *c2 = pixcmapCopy(cm);
        if (!c2) {
            pixDestroy(&h);
            return NULL;
        }
        pixSetColormap(h, c2);
    }
    pixSetData(h, pixGetData(src));
    return h;
}

static void unshare_pix(PIX **h)
{
    if (*h)
        pixSetData(*h, NULL);
    pixDestroy(h);
}

static double thread_cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int colour_row(void *ctx, int y, uint8_t *row, sh_err *err)
{
    return sh_scan_rows_next(ctx, row, err);
}

/* A frame read as gray (sh_scan_read_gray): its colour pixels from the
   file, through an sh_scan of this thread's own, streamed row by row into
   the hand-off file; a source that gives no rows is decoded whole. */
static int encode_colour(enc_job *ej)
{
    sh_scan *sc = NULL;
    sh_scan_rows *rows = NULL;
    sh_frame fr = {0};
    int w = 0, h = 0;
    int rc = sh_scan_open(ej->path, NULL, &sc, &ej->err);
    if (!rc)
        rc = sh_scan_rows_open(sc, ej->frame, &rows, &w, &h, &ej->err);
    if (!rc) {
        rc = sh_pdf_image_save_rows(ej->img, w, h, 3, colour_row, rows,
                                    &ej->pi, &ej->err);
    } else if (rc == SH_EUSAGE && sc) {
        memset(&ej->err, 0, sizeof ej->err);
        rc = sh_scan_read(sc, ej->frame, &fr, &ej->err);
        if (!rc)
            rc = sh_pdf_image_save_pix(fr.pix, ej->img, &ej->pi, &ej->err);
    }
    sh_scan_rows_close(&rows);
    sh_frame_release(&fr);
    sh_scan_close(&sc);
    return rc;
}

/* The colour rows of a frame, handed from the reader to the encoder as
   they are decoded (sh_scan_set_tee): the file decoded once, not once as
   gray for prep and again as colour for the PDF (an A3 600 dpi LZW sheet:
   0.65 s of CPU).  A ring of TEE_BYTES of rows; the reader waits while it
   is full.  state: TEE_WAIT until the read either hands a first row
   (TEE_ROWS: w, h set, the encoder codes from the ring) or ends without
   (TEE_NONE: the encoder does as before, from ej's frame; TEE_FAIL: the
   read failed, nothing to code). */
#define TEE_BYTES ((size_t)16 << 20)
enum { TEE_WAIT, TEE_ROWS, TEE_NONE, TEE_FAIL };

typedef struct tee_q {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int state, w, h;
    int read_end;            /* TEE_ROWS: the reader hands no more rows   */
    int enc_gone;            /* the encoder takes no more rows            */
    uint8_t *buf;
    size_t bpr, cap, head, count;
} tee_q;

/* Reader side (sh_scan_tee_fn): copy row y into the ring. */
static int tee_push(void *ctx, int y, int w, int h, const uint8_t *rgb)
{
    tee_q *q = ctx;
    pthread_mutex_lock(&q->mu);
    if (y == 0 && q->state == TEE_WAIT) {
        q->bpr = 3 * (size_t)w;
        q->cap = TEE_BYTES / q->bpr;
        if (q->cap < 1)
            q->cap = 1;
        if (q->cap > (size_t)h)
            q->cap = (size_t)h;
        q->buf = malloc(q->cap * q->bpr);
        if (!q->buf) {              /* the encoder reads the file itself */
            pthread_mutex_unlock(&q->mu);
            return 1;
        }
        q->w = w;
        q->h = h;
        q->state = TEE_ROWS;
        pthread_cond_broadcast(&q->cv);
    }
    if (q->state != TEE_ROWS) {
        pthread_mutex_unlock(&q->mu);
        return 1;
    }
    while (!q->enc_gone && q->count == q->cap)
        pthread_cond_wait(&q->cv, &q->mu);
    int stop = q->enc_gone;
    if (!stop) {
        memcpy(q->buf + (q->head + q->count) % q->cap * q->bpr, rgb, q->bpr);
        q->count++;
        pthread_cond_broadcast(&q->cv);
    }
    pthread_mutex_unlock(&q->mu);
    return stop;
}

/* Reader side, once the read is over (rc its result). */
static void tee_read_done(tee_q *q, int rc)
{
    pthread_mutex_lock(&q->mu);
    if (q->state == TEE_ROWS)
        q->read_end = 1;
    else
        q->state = rc ? TEE_FAIL : TEE_NONE;
    pthread_cond_broadcast(&q->cv);
    pthread_mutex_unlock(&q->mu);
}

/* Encoder side (sh_pdf_row_fn): the next row from the ring. */
static int tee_row(void *ctx, int y, uint8_t *row, sh_err *err)
{
    tee_q *q = ctx;
    pthread_mutex_lock(&q->mu);
    while (q->count == 0 && !q->read_end)
        pthread_cond_wait(&q->cv, &q->mu);
    int rc = SH_OK;
    if (q->count == 0) {
        rc = sh_errf(err, SH_EINPUT, "the frame's rows stopped at row %d "
                     "(the read failed)", y);
    } else {
        memcpy(row, q->buf + q->head * q->bpr, q->bpr);
        q->head = (q->head + 1) % q->cap;
        q->count--;
        pthread_cond_broadcast(&q->cv);
    }
    pthread_mutex_unlock(&q->mu);
    return rc;
}

static void *encode_run(void *arg);

/* Encoder thread started before the read: codes the teed rows, or, when
   none come, does what encode_run does once the read has filled ej. */
static void *encode_tee(void *arg)
{
    enc_job *ej = arg;
    tee_q *q = ej->tee;
    pthread_mutex_lock(&q->mu);
    while (q->state == TEE_WAIT)
        pthread_cond_wait(&q->cv, &q->mu);
    int st = q->state;
    pthread_mutex_unlock(&q->mu);
    if (st == TEE_NONE)
        return encode_run(ej);
    double c0 = thread_cpu();
    int rc = st == TEE_ROWS
                 ? sh_pdf_image_save_rows(ej->img, q->w, q->h, 3, tee_row, q,
                                          &ej->pi, &ej->err)
                 : sh_errf(&ej->err, SH_EINPUT, "the frame was not read");
    pthread_mutex_lock(&q->mu);
    q->enc_gone = 1;
    pthread_cond_broadcast(&q->cv);
    pthread_mutex_unlock(&q->mu);
    ej->write_failed = rc == SH_EIO || rc == SH_ENOSPC;
    ej->rc = rc;
    ej->cpu = thread_cpu() - c0;
    return NULL;
}

/* Encode and save (thread body): JPEG bytes passed through, else the
   pixels (ocr/pdf_image.c), Flate streamed into the file. */
static void *encode_run(void *arg)
{
    enc_job *ej = arg;
    double c0 = thread_cpu();
    int rc = SH_EINPUT;
    if (ej->jpeg &&
        !(rc = sh_pdf_image_from_jpeg(ej->jpeg, ej->njpeg, &ej->pi,
                                      &ej->err))) {
        rc = sh_pdf_image_save(&ej->pi, ej->img, &ej->err);
        free(ej->pi.data);
        ej->pi.data = NULL;
    } else if (ej->colour) {
        memset(&ej->err, 0, sizeof ej->err);
        rc = encode_colour(ej);
    } else if (ej->pix) {
        memset(&ej->err, 0, sizeof ej->err);
        rc = sh_pdf_image_save_pix(ej->pix, ej->img, &ej->pi, &ej->err);
    } else {
        rc = sh_errf(&ej->err, SH_ENOMEM, "out of memory");
    }
    /* the warehouse, not the page, is at fault */
    ej->write_failed = rc == SH_EIO || rc == SH_ENOSPC;
    ej->rc = rc;
    ej->cpu = thread_cpu() - c0;
    return NULL;
}

/* Decode, prepare, OCR and encode one job.  Returns the reply object. */
/* Drop noise and correct the tones of ws; record in gj "vn_fixes" (how
   many words changed) and "corrections" ([{"from","to","why","box"}], to
   "" for a word dropped).  Returns SH_OK or SH_ENOMEM. */
static int correct_page(const sh_vnlm *lm, sh_words *ws, json_t *gj,
                        sh_err *err)
{
    sh_vnfix *fx = NULL, *cx = NULL;
    int nfx = 0, ncx = 0;
    int rc = sh_vn_drop_noise(lm, 0, ws, &fx, &nfx, err);
    if (!rc)
        rc = sh_vn_correct(lm, ws, &cx, &ncx, err);
    json_t *list = json_array();
    for (int k = 0; !rc && k < nfx + ncx; k++) {
        const sh_vnfix *f = k < nfx ? &fx[k] : &cx[k - nfx];
        json_array_append_new(list,
            json_pack("{s:s, s:s, s:s, s:[iiii]}", "from", f->orig, "to",
                      f->fixed, "why", f->why, "box", f->x0, f->y0, f->x1,
                      f->y1));
    }
    json_object_set_new(gj, "vn_fixes", json_integer(nfx + ncx));
    json_object_set_new(gj, "corrections", list);
    sh_vnfixes_free(&fx, nfx);
    sh_vnfixes_free(&cx, ncx);
    return rc ? SH_ENOMEM : SH_OK;
}

static json_t *do_job(sh_ocr *eng, const char *model, const sh_vnlm *lm,
                      json_t *job)
{
    json_int_t id = json_integer_value(json_object_get(job, "id"));
    const char *path = json_string_value(json_object_get(job, "path"));
    const char *img = json_string_value(json_object_get(job, "img"));
    const char *mode = json_string_value(json_object_get(job, "mode"));
    int frame = (int)json_integer_value(json_object_get(job, "frame"));
    int timeout = (int)json_integer_value(json_object_get(job, "timeout"));
    int render_only = mode && !strcmp(mode, "render");
    if (!path || !img)
        return fail(id, SH_EUSAGE, "job without path or img");

    sh_err err = {0};
    sh_scan *sc = NULL;
    sh_frame fr = {0};
    sh_prepped pp[2] = {{0}, {0}};
    int np = 0;
    enc_job ej;
    memset(&ej, 0, sizeof ej);
    pthread_t enc_th;
    int enc_running = 0, write_failed = 0;
    json_t *reply = NULL, *parts = json_array();
    double t0 = sh_now(), t_read, t_prep = 0, t_ocr = 0, t_ocr_cpu = 0;
    double t_wait;
    tee_q q = {.state = TEE_WAIT};
    int tee_locks = 0;
    ej.img = img;
    ej.path = path;
    ej.frame = frame;
    int rc = sh_scan_open(path, NULL, &sc, &err);
    /* The encoder waits for the read's colour rows (tee_q) */
    if (!rc && !render_only && pthread_mutex_init(&q.mu, NULL) == 0) {
        if (pthread_cond_init(&q.cv, NULL) == 0) {
            tee_locks = 1;
            ej.tee = &q;
            if (pthread_create(&enc_th, NULL, encode_tee, &ej) == 0) {
                enc_running = 1;
                sh_scan_set_tee(sc, tee_push, &q);
            }
        } else {
            pthread_mutex_destroy(&q.mu);
        }
    }
    if (!rc)
        rc = sh_scan_read_gray(sc, frame, &fr, &err);
    sh_scan_set_tee(sc, NULL, NULL);
    t_read = sh_now() - t0;
    /* what the encoder does from here is decided once ej is filled */
    if (rc && enc_running)
        tee_read_done(&q, rc);
    if (rc)
        goto out;

    /* The archived image, encoded by a second thread while this one
       prepares and recognises (inline when no thread can be had). */
    ej.jpeg = fr.jpeg;
    ej.njpeg = fr.njpeg;
    ej.colour = fr.gray_of_colour;
    ej.pix = fr.pix && !ej.colour ? share_pix(fr.pix) : NULL;
    if (enc_running)
        tee_read_done(&q, SH_OK);   /* rows handed, or ej says what to do */
    else if (render_only ||
             pthread_create(&enc_th, NULL, encode_run, &ej) != 0)
        encode_run(&ej);
    else
        enc_running = 1;

    /* No resolution in the file: see sh_frame_guess_dpi. */
    int est_dpi = sh_frame_guess_dpi(&fr);

    if (!render_only) {
        double t = sh_now();
        sh_prep_opts po = {0};
        po.orient = sh_ocr_orient;
        po.orient_ctx = eng;
        /* a clerk's geometry for this sheet (run_plan.c: review_page) */
        json_t *force = json_object_get(job, "force");
        po.force_quarter = (int)json_integer_value(json_object_get(force,
                                                                   "quarter"));
        po.force_split = (int)json_integer_value(json_object_get(force,
                                                                 "split"));
        po.force_blank = (int)json_integer_value(json_object_get(force,
                                                                 "blank"));
        rc = sh_prep_sheet(&fr, &po, pp, &np, &err);
        t_prep = sh_now() - t;
        /* The gray of a colour frame is prep's alone (the encoder reads
           the colour from the file): gone before the recognition. */
        if (ej.colour)
            pixDestroy(&fr.pix);
        if (rc)
            goto out;
        for (int i = 0; i < np && !rc; i++) {
            sh_words ws = {0};
            json_t *gj = sh_geom_json(&pp[i].geom);
            /* Beside the geometry, for the catalog: the model, the text's
               x-height in OCR px and whether it was read as soft. */
            json_object_set_new(gj, "model", json_string(model));
            json_object_set_new(gj, "text_px", json_real(pp[i].text_px));
            json_object_set_new(gj, "soft", json_integer(pp[i].soft));
            if (force)
                json_object_set_new(gj, "forced", json_sprintf(
                    "q%d s%d b%d", po.force_quarter, po.force_split,
                    po.force_blank));
            json_t *part = json_pack("{so}", "geom", gj);
            json_object_set_new(part, "t", json_pack(
                "{sfsfsf}", "orient", pp[i].t_orient, "deskew",
                pp[i].t_deskew, "prep", pp[i].t_orient + pp[i].t_deskew +
                pp[i].t_other));
            if (pp[i].geom.blank) {
                /* A blank back: recorded, not read. */
                json_object_set_new(part, "text", json_string(""));
                json_object_set_new(part, "words", json_array());
                json_object_set_new(part, "conf", json_real(0));
                json_array_append_new(parts, part);
                continue;
            }
            t = sh_now();
            int left_ms = timeout * 1000 - (int)((sh_now() - t0) * 1000);
            /* Small blurred text: Sauvola from the start (4_2 blurred copy:
               55.7 % of words missed with the global threshold, 21.7 %). */
            double c0 = thread_cpu();
            if (pp[i].soft)
                sh_ocr_set(eng, "thresholding_method", "2");
            rc = sh_ocr_page_banded(eng, pp[i].ocr,
                                    (int)(pp[i].geom.ocr_dpi + 0.5),
                                    left_ms > 1000 ? left_ms : 1000, &ws,
                                    &err);
            if (pp[i].soft)
                sh_ocr_set(eng, "thresholding_method", "0");
            else if (!rc && weak_result(&ws))
                retry_sauvola(eng, &pp[i],
                              timeout * 1000 - (int)((sh_now() - t0) * 1000),
                              &ws);
            double oc = thread_cpu() - c0;    /* the engine's own CPU */
            t_ocr_cpu += oc;
            /* Marks that are not writing out, then the tone marks: the
               syllable-aware correction (vncorrect.h); every change is
               kept with the page (geom "corrections") for a reviewer. */
            if (!rc && lm)
                rc = correct_page(lm, &ws, gj, &err);
            else if (!lm)
                json_object_set_new(gj, "vn_fixes", json_integer(-1));
            double to = sh_now() - t;
            t_ocr += to;
            json_object_set_new(json_object_get(part, "t"), "ocr",
                                json_real(to));
            json_object_set_new(json_object_get(part, "t"), "ocr_cpu",
                                json_real(oc));
            if (!rc) {
                json_object_set_new(part, "text",
                                    json_string(ws.text ? ws.text : ""));
                json_object_set_new(part, "words", words_json(&ws));
                json_object_set_new(part, "conf", json_real(ws.mean_conf));
            }
            json_array_append_new(parts, part);
            sh_words_release(&ws);
        }
        if (rc)
            goto out;
    }

    double t = sh_now();
    if (enc_running) {
        pthread_join(enc_th, NULL);
        enc_running = 0;
    }
    t_wait = sh_now() - t;
    rc = ej.rc;
    write_failed = ej.write_failed;
    if (rc) {
        err = ej.err;
        goto out;
    }

    reply = json_pack("{sIsbsOsssf}", "id", id, "ok", 1, "parts", parts,
                      "codec", fr.codec ? fr.codec : "", "image_bytes",
                      (double)ej.pi.n);
    json_object_set_new(reply, "dpi_assumed", json_boolean(fr.dpi_assumed));
    json_object_set_new(reply, "dpi_estimated", json_integer(est_dpi));
    json_object_set_new(reply, "had_text_layer",
                        json_boolean(fr.had_text_layer));
    json_object_set_new(reply, "visible_text", json_boolean(fr.visible_text));
    json_object_set_new(reply, "annotations", json_boolean(fr.annotations));
    json_object_set_new(reply, "dropped_images",
                        json_boolean(fr.dropped_images));
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0)
        json_object_set_new(reply, "maxrss_kb", json_integer(ru.ru_maxrss));
    json_object_set_new(reply, "dpi", json_real(fr.xres));
    json_object_set_new(reply, "filter",
                        json_string(ej.pi.filter == SH_PDF_DCT ? "jpeg"
                                    : ej.pi.filter == SH_PDF_CCITT_G4 ? "g4"
                                                                   : "flate"));
    /* encode: the encoder thread's CPU time; encode_wait: how long the
       recognition then waited for it (wall); ocr_cpu: the recognition's
       own CPU time (Tesseract, this thread), which a busy machine does not
       inflate as it does the wall-clock ocr */
    json_object_set_new(
        reply, "t",
        json_pack("{sfsfsfsfsfsf}", "read", t_read, "prep", t_prep, "ocr",
                  t_ocr, "ocr_cpu", t_ocr_cpu, "encode", ej.cpu,
                  "encode_wait", t_wait));
out:
    if (enc_running)
        pthread_join(enc_th, NULL);
    if (tee_locks) {
        pthread_mutex_destroy(&q.mu);
        pthread_cond_destroy(&q.cv);
    }
    free(q.buf);
    if (!reply) {
        reply = fail(id, rc ? rc : SH_EINPUT, err.msg[0] ? err.msg : sh_strerror(rc));
        if (write_failed)   /* the warehouse, not the page, is at fault */
            json_object_set_new(reply, "warehouse", json_true());
    }
    json_decref(parts);
    sh_pdf_image_release(&ej.pi);
    unshare_pix(&ej.pix);
    sh_prepped_release(&pp[0]);
    sh_prepped_release(&pp[1]);
    sh_frame_release(&fr);
    sh_scan_close(&sc);
    return reply;
}

int sh_worker_main(void)
{
    sh_err err = {0};
    sh_ocr *eng = NULL;
    /* The model: SOHOA_MODEL (sohoa run --model sets it), else the
       default; best falls back to fast when it is not installed. */
    const char *want = getenv("SOHOA_MODEL");
    int asked = want && want[0];
    if (!asked)
        want = SH_MODEL_DEFAULT;
    char dir[4096] = "";
    const char *model = SH_MODEL_FAST;
    if (!strcmp(want, SH_MODEL_BEST)) {
        if (sh_ocr_model_dir(want, dir, sizeof dir))
            model = SH_MODEL_BEST;
        else if (asked)
            sh_log(SH_LOG_WARN, "worker: the best model is not installed "
                   "(make deps); reading with the fast one");
    }
    /* The Vietnamese correction: on unless SOHOA_CORRECT=off (sohoa run
       --correct). */
    const char *corr = getenv("SOHOA_CORRECT");
    sh_vnlm *lm = NULL;
    if (!(corr && !strcmp(corr, "off")) && sh_vnlm_load(&lm, &err)) {
        sh_log(SH_LOG_WARN, "worker: %s; no Vietnamese correction", err.msg);
        lm = NULL;
    }
    if (sh_ocr_new(dir[0] ? dir : NULL, NULL, &eng, &err)) {
        sh_vnlm_free(&lm);
        sh_log(SH_LOG_ERROR, "worker: %s", err.msg);
        return 2;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, stdin)) > 0) {
        json_error_t je;
        json_t *job = json_loads(line, 0, &je);
        json_t *reply = job ? do_job(eng, model, lm, job)
                            : fail(-1, SH_EUSAGE, "unreadable job line");
        char *s = json_dumps(reply, JSON_COMPACT);
        if (s) {
            fputs(s, stdout);
            fputc('\n', stdout);
            fflush(stdout);
            free(s);
        }
        json_decref(reply);
        json_decref(job);
    }
    free(line);
    sh_ocr_free(&eng);
    sh_vnlm_free(&lm);
    return 0;
}
