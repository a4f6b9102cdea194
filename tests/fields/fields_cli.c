/*
 * fields_cli.c — read scans and print the header fields of every page, one
 * JSON object per line; the driver of `make eval-fields`.
 *
 *   fields_cli [--words] IMAGE...       decode → prep → OCR → fields
 *   fields_cli --from-words FILE.jsonl  fields again from words printed
 *                                       earlier with --words (no OCR)
 *
 * Each frame of each file is prepared as pipeline/worker.c does
 * (sh_scan_open/read, sh_prep_sheet with Tesseract's osd for orientation,
 * sh_ocr_page, a Sauvola retry for a weak page), so a two-up sheet gives
 * two lines (part 0 = left page, part 1 = right page) and a blank back one
 * line with "blank": true.  Output per page part:
 *   {"file", "frame", "part", "nparts", "blank", "w", "h", "ms_ocr",
 *    "ms_fields", "start_conf", "fields": {NAME: [value|null, conf], ...},
 *    ["words": [[x0,y0,x1,y1,conf,line,par,text], ...]]}
 * ms_fields is the mean of 20 runs of sh_fields_extract on the page.
 * A file that cannot be read prints {"file", "error"} and the run goes on;
 * the exit status is 1 when any file failed.
 * Run with OMP_THREAD_LIMIT=1 in the environment (Tesseract's OpenMP).
 */
#include "../../ocr/fields.h"
#include "../../ocr/ocr.h"
#include "../../scanners/prep.h"
#include "../../scanners/scan.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TIMING_RUNS 20

static json_t *field_json(const sh_field *f)
{
    return f->value ? json_pack("[sf]", f->value, (double)f->conf)
                    : json_pack("[nf]", (double)f->conf);
}

static json_t *fields_json(const sh_doc_fields *d)
{
    json_t *o = json_object();
    json_object_set_new(o, "organ_parent", field_json(&d->organ_parent));
    json_object_set_new(o, "organ_name", field_json(&d->organ_name));
    json_object_set_new(o, "code_number", field_json(&d->code_number));
    json_object_set_new(o, "code_notation", field_json(&d->code_notation));
    json_object_set_new(o, "place", field_json(&d->place));
    json_object_set_new(o, "issued_date", field_json(&d->issued_date));
    json_object_set_new(o, "type_name", field_json(&d->type_name));
    json_object_set_new(o, "subject", field_json(&d->subject));
    return o;
}

/* Extract fields from ws into obj (start_conf, fields, ms_fields). */
static int add_fields(json_t *obj, const sh_words *ws, int w, int h)
{
    sh_doc_fields d;
    double t = sh_now();
    for (int k = 0; k < TIMING_RUNS; k++) {
        if (sh_fields_extract(ws, w, h, &d) != SH_OK)
            return 1;
        if (k + 1 < TIMING_RUNS)
            sh_doc_fields_release(&d);
    }
    double ms = (sh_now() - t) * 1000.0 / TIMING_RUNS;
    json_object_set_new(obj, "ms_fields", json_real(ms));
    json_object_set_new(obj, "start_conf", json_real(d.start_conf));
    json_object_set_new(obj, "fields", fields_json(&d));
    sh_doc_fields_release(&d);
    return 0;
}

static json_t *words_json(const sh_words *ws)
{
    json_t *a = json_array();
    for (int i = 0; i < ws->n; i++) {
        const sh_word *x = &ws->w[i];
        json_array_append_new(a, json_pack("[iiiifiis]", x->x0, x->y0, x->x1,
                                           x->y1, (double)x->conf, x->line,
                                           x->par, x->text));
    }
    return a;
}

static void print_line(json_t *o)
{
    char *s = json_dumps(o, JSON_COMPACT);
    if (s) {
        puts(s);
        fflush(stdout);
        free(s);
    }
}

static int sure_words(const sh_words *ws)
{
    int n = 0;
    for (int i = 0; i < ws->n; i++)
        n += ws->w[i].conf >= 60;
    return n;
}

/* OCR one prepared page the way the worker does (Sauvola retry when weak). */
static int ocr_part(sh_ocr *eng, sh_prepped *pp, sh_words *ws, sh_err *err)
{
    int dpi = (int)(pp->geom.ocr_dpi + 0.5);
    int rc = sh_ocr_page(eng, pp->ocr, dpi, 180000, ws, err);
    if (rc || (sure_words(ws) >= 10 && ws->mean_conf >= 60))
        return rc;
    sh_words again;
    sh_err e2 = {0};
    sh_ocr_set(eng, "thresholding_method", "2");
    if (sh_ocr_page(eng, pp->ocr, dpi, 180000, &again, &e2) == SH_OK) {
        if (sure_words(&again) > sure_words(ws)) {
            sh_words_release(ws);
            *ws = again;
        } else {
            sh_words_release(&again);
        }
    }
    sh_ocr_set(eng, "thresholding_method", "0");
    return SH_OK;
}

static int run_file(sh_ocr *eng, const char *path, int dump_words)
{
    sh_err err = {0};
    sh_scan *sc = NULL;
    int rc = sh_scan_open(path, NULL, &sc, &err);
    int nframes = rc ? 0 : sh_scan_frames(sc);
    for (int f = 0; f < nframes && !rc; f++) {
        sh_frame fr = {0};
        sh_prepped pp[2] = {{0}, {0}};
        int np = 0;
        rc = sh_scan_read(sc, f, &fr, &err);
        if (!rc) {
            sh_frame_guess_dpi(&fr);      /* as the worker does */
            sh_prep_opts po = {0};
            po.orient = sh_ocr_orient;
            po.orient_ctx = eng;
            rc = sh_prep_sheet(&fr, &po, pp, &np, &err);
        }
        for (int i = 0; i < np && !rc; i++) {
            int w = (int)pixGetWidth(pp[i].ocr), h = (int)pixGetHeight(pp[i].ocr);
            json_t *o = json_pack("{sssisisisbsisi}", "file", path, "frame", f,
                                  "part", i, "nparts", np, "blank",
                                  pp[i].geom.blank, "w", w, "h", h);
            sh_words ws = {0};
            if (!pp[i].geom.blank) {
                double t = sh_now();
                rc = ocr_part(eng, &pp[i], &ws, &err);
                json_object_set_new(o, "ms_ocr",
                                    json_real((sh_now() - t) * 1000.0));
            }
            if (!rc && add_fields(o, &ws, w, h))
                rc = sh_errf(&err, SH_ENOMEM, "%s: out of memory", path);
            if (!rc) {
                if (dump_words)
                    json_object_set_new(o, "words", words_json(&ws));
                print_line(o);
            }
            json_decref(o);
            sh_words_release(&ws);
        }
        sh_prepped_release(&pp[0]);
        sh_prepped_release(&pp[1]);
        sh_frame_release(&fr);
    }
    sh_scan_close(&sc);
    if (rc) {
        json_t *o = json_pack("{ssss}", "file", path, "error",
                              err.msg[0] ? err.msg : sh_strerror(rc));
        print_line(o);
        json_decref(o);
        fprintf(stderr, "fields_cli: %s\n", err.msg[0] ? err.msg : path);
    }
    return rc ? 1 : 0;
}

/* Re-extract from a JSONL file written with --words. */
static int run_words(const char *path)
{
    FILE *fp = fopen(path, "r");
    if (!fp) {
        perror(path);
        return 1;
    }
    char *line = NULL;
    size_t cap = 0;
    int bad = 0, lineno = 0;
    while (getline(&line, &cap, fp) > 0) {
        lineno++;
        json_error_t je;
        json_t *o = json_loads(line, 0, &je);
        json_t *wa = o ? json_object_get(o, "words") : NULL;
        if (!o || !json_is_array(wa)) {
            if (o && !json_object_get(o, "error"))
                fprintf(stderr, "%s:%d: no \"words\" array\n", path, lineno);
            if (o)
                print_line(o);
            bad += !o;
            json_decref(o);
            continue;
        }
        sh_words ws = {0};
        size_t n = json_array_size(wa);
        ws.w = calloc(n ? n : 1, sizeof *ws.w);
        ws.n = ws.cap = (int)n;
        for (size_t i = 0; ws.w && i < n; i++) {
            json_t *a = json_array_get(wa, i);
            sh_word *x = &ws.w[i];
            x->x0 = (int)json_integer_value(json_array_get(a, 0));
            x->y0 = (int)json_integer_value(json_array_get(a, 1));
            x->x1 = (int)json_integer_value(json_array_get(a, 2));
            x->y1 = (int)json_integer_value(json_array_get(a, 3));
            x->conf = (float)json_number_value(json_array_get(a, 4));
            x->line = (int)json_integer_value(json_array_get(a, 5));
            x->par = (int)json_integer_value(json_array_get(a, 6));
            x->text = strdup(json_string_value(json_array_get(a, 7)));
            x->baseline_y = -1;
            x->line_h = x->y1 - x->y0;
        }
        int w = (int)json_integer_value(json_object_get(o, "w"));
        int h = (int)json_integer_value(json_object_get(o, "h"));
        json_object_del(o, "words");
        if (!ws.w || add_fields(o, &ws, w, h))
            bad++;
        else
            print_line(o);
        sh_words_release(&ws);
        json_decref(o);
    }
    free(line);
    fclose(fp);
    return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
    setMsgSeverity(L_SEVERITY_NONE);
    if (argc == 3 && !strcmp(argv[1], "--from-words"))
        return run_words(argv[2]);
    int dump = argc > 1 && !strcmp(argv[1], "--words");
    if (argc < 2 + dump) {
        fprintf(stderr, "usage: fields_cli [--words] IMAGE...\n"
                        "       fields_cli --from-words FILE.jsonl\n");
        return 2;
    }
    sh_err err = {0};
    sh_ocr *eng = NULL;
    if (sh_ocr_new(NULL, NULL, &eng, &err)) {
        fprintf(stderr, "fields_cli: %s\n", err.msg);
        return 2;
    }
    int bad = 0;
    for (int i = 1 + dump; i < argc; i++)
        bad |= run_file(eng, argv[i], dump);
    sh_ocr_free(&eng);
    return bad;
}
