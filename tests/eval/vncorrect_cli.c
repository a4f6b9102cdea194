/*
 * vncorrect_cli.c — see what the Vietnamese correction (ocr/vncorrect.c)
 * changes on real scans.  Built by `make build/tools/vncorrect_cli`.
 *
 *   vncorrect_cli [options] FILE...
 *     --out DIR        write DIR/<name>.before.txt and .after.txt
 *     --dump           also write DIR/<name>.words (words with the
 *                      recognizer's alternatives), to re-run without OCR
 *     --words          FILE... are such .words dumps, not images
 *     --no-correct     OCR only
 *     --choice-mode N  Tesseract's lstm_choice_mode (sohoa sets 2; 0
 *                      gives no alternatives), to measure what it costs
 *     --lambda X --alt X --mark X --keep X   tuning (sh_vn_opts)
 *
 * For each file: the fixes (original → new, why) on stdout, and a line
 * "time: ocr N ms, correct N ms, N fixes".  Images go through the
 * worker's steps (sh_scan_read, sh_frame_guess_dpi, sh_prep_sheet with
 * the osd model, sh_ocr_page); a multi-page file gives all its pages.
 */
#include "../../ocr/ocr.h"
#include "../../ocr/vncorrect.h"
#include "../../scanners/prep.h"
#include "../../scanners/scan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void put_file(const char *dir, const char *name, const char *ext,
                     const char *text)
{
    if (!dir)
        return;
    char p[1024];
    snprintf(p, sizeof p, "%s/%s%s", dir, name, ext);
    FILE *f = fopen(p, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static void dump_words(const char *dir, const char *name, const sh_words *ws)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/%s.words", dir, name);
    FILE *f = fopen(p, "w");
    if (!f)
        return;
    for (int i = 0; i < ws->n; i++) {
        const sh_word *w = &ws->w[i];
        fprintf(f, "W\t%d\t%d\t%.2f\t%s\n", w->par, w->line, w->conf,
                w->text);
        for (int k = 0; k < w->nsyms; k++) {
            fprintf(f, "S\t%s\t%.2f", w->syms[k].text, w->syms[k].conf);
            for (int a = 0; a < w->syms[k].nalt; a++)
                fprintf(f, "\t%s\t%.2f", w->syms[k].alt[a].text,
                        w->syms[k].alt[a].conf);
            fputc('\n', f);
        }
    }
    fclose(f);
}

static int load_words(const char *path, sh_words *ws)
{
    memset(ws, 0, sizeof *ws);
    FILE *f = fopen(path, "r");
    if (!f)
        return 1;
    char line[4096];
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        char *fld[2 + 2 * SH_SYM_ALTS + 2];
        int nf = 0;
        for (char *s = line; nf < (int)SH_ARRAY_LEN(fld);) {
            fld[nf++] = s;
            char *t = strchr(s, '\t');
            if (!t)
                break;
            *t = 0;
            s = t + 1;
        }
        if (!strcmp(fld[0], "W") && nf >= 5) {
            if (ws->n == ws->cap) {
                ws->cap = ws->cap ? 2 * ws->cap : 256;
                ws->w = realloc(ws->w, (size_t)ws->cap * sizeof *ws->w);
            }
            sh_word *w = &ws->w[ws->n++];
            memset(w, 0, sizeof *w);
            w->par = atoi(fld[1]);
            w->line = atoi(fld[2]);
            w->conf = (float)atof(fld[3]);
            w->text = strdup(fld[4]);
        } else if (!strcmp(fld[0], "S") && nf >= 3 && ws->n) {
            sh_word *w = &ws->w[ws->n - 1];
            w->syms = realloc(w->syms, (size_t)(w->nsyms + 1) * sizeof *w->syms);
            sh_sym *y = &w->syms[w->nsyms++];
            memset(y, 0, sizeof *y);
            snprintf(y->text, sizeof y->text, "%s", fld[1]);
            y->conf = (float)atof(fld[2]);
            for (int a = 3; a + 1 < nf && y->nalt < SH_SYM_ALTS; a += 2) {
                snprintf(y->alt[y->nalt].text, SH_SYM_TEXT, "%s", fld[a]);
                y->alt[y->nalt++].conf = (float)atof(fld[a + 1]);
            }
        }
    }
    fclose(f);
    return sh_words_text(ws);
}

static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

static void correct(const sh_vnlm *lm, const sh_vn_opts *o, int no_correct,
                    const char *dir, const char *name, sh_words *ws,
                    double t_ocr)
{
    put_file(dir, name, ".before.txt", ws->text);
    sh_vnfix *fx = NULL;
    int nfx = 0;
    double t0 = sh_now();
    sh_err err = {0};
    if (!no_correct && sh_vn_correct_opts(lm, o, ws, &fx, &nfx, &err))
        fprintf(stderr, "%s: %s\n", name, err.msg);
    double t1 = sh_now();
    for (int i = 0; i < nfx; i++)
        printf("fix\t%s\t%d\t%s\t%s\t%s\n", name, fx[i].word, fx[i].orig,
               fx[i].fixed, fx[i].why);
    put_file(dir, name, ".after.txt", ws->text);
    printf("time\t%s\tocr %.0f ms\tcorrect %.2f ms\t%d words\t%d fixes\n",
           name, t_ocr * 1000, (t1 - t0) * 1000, ws->n, nfx);
    sh_vnfixes_free(&fx, nfx);
}

int main(int argc, char **argv)
{
    const char *dir = NULL;
    int dump = 0, words = 0, no_correct = 0;
    const char *choice_mode = NULL;
    sh_vn_opts o = {0};
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (!strcmp(argv[i], "--out") && i + 1 < argc)
            dir = argv[++i];
        else if (!strcmp(argv[i], "--dump"))
            dump = 1;
        else if (!strcmp(argv[i], "--words"))
            words = 1;
        else if (!strcmp(argv[i], "--no-correct"))
            no_correct = 1;
        else if (!strcmp(argv[i], "--choice-mode") && i + 1 < argc)
            choice_mode = argv[++i];
        else if (!strcmp(argv[i], "--lambda") && i + 1 < argc)
            o.lambda = atof(argv[++i]);
        else if (!strcmp(argv[i], "--alt") && i + 1 < argc)
            o.alt_conf = atof(argv[++i]);
        else if (!strcmp(argv[i], "--mark") && i + 1 < argc)
            o.mark_conf = atof(argv[++i]);
        else if (!strcmp(argv[i], "--keep") && i + 1 < argc)
            o.keep_bonus = atof(argv[++i]);
        else {
            fprintf(stderr, "usage: vncorrect_cli [--out DIR [--dump]] "
                    "[--words] [--no-correct] [--lambda X --alt X --mark X "
                    "--keep X] FILE...\n");
            return 2;
        }
    }
    sh_err err = {0};
    sh_vnlm *lm = NULL;
    if (sh_vnlm_load(&lm, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    sh_ocr *eng = NULL;
    if (!words && sh_ocr_new(NULL, NULL, &eng, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    if (eng && choice_mode)
        sh_ocr_set(eng, "lstm_choice_mode", choice_mode);
    int bad = 0;
    for (; i < argc; i++) {
        if (words) {
            sh_words ws;
            char name[512];
            snprintf(name, sizeof name, "%s", base_name(argv[i]));
            char *dot = strstr(name, ".words");
            if (dot)
                *dot = 0;
            if (load_words(argv[i], &ws)) {
                fprintf(stderr, "%s: cannot read\n", argv[i]);
                bad = 1;
                continue;
            }
            correct(lm, &o, no_correct, dir, name, &ws, 0);
            sh_words_release(&ws);
            continue;
        }
        sh_scan *sc = NULL;
        if (sh_scan_open(argv[i], NULL, &sc, &err)) {
            fprintf(stderr, "%s: %s\n", argv[i], err.msg);
            bad = 1;
            continue;
        }
        int nf = sh_scan_frames(sc);
        for (int f = 0; f < nf; f++) {
            sh_frame fr = {0};
            if (sh_scan_read(sc, f, &fr, &err)) {
                fprintf(stderr, "%s: %s\n", argv[i], err.msg);
                bad = 1;
                break;
            }
            sh_frame_guess_dpi(&fr);
            sh_prep_opts po = {0};
            po.orient = sh_ocr_orient;
            po.orient_ctx = eng;
            sh_prepped pp[2] = {{0}, {0}};
            int np = 0;
            if (sh_prep_sheet(&fr, &po, pp, &np, &err)) {
                fprintf(stderr, "%s: %s\n", argv[i], err.msg);
                sh_frame_release(&fr);
                bad = 1;
                continue;
            }
            for (int k = 0; k < np; k++) {
                char name[600];
                snprintf(name, sizeof name, "%s%s%.0d%s", base_name(argv[i]),
                         nf > 1 || np > 1 ? "-" : "", nf > 1 ? f + 1 : 0,
                         np > 1 ? (k ? "R" : "L") : "");
                sh_words ws;
                double t0 = sh_now();
                clock_t c0 = clock();
                if (sh_ocr_page(eng, pp[k].ocr, (int)pp[k].geom.ocr_dpi,
                                300000, &ws, &err)) {
                    fprintf(stderr, "%s: %s\n", name, err.msg);
                    bad = 1;
                    continue;
                }
                double t1 = sh_now();
                printf("cpu\t%s\tocr %.0f ms\n", name,
                       (double)(clock() - c0) * 1000 / CLOCKS_PER_SEC);
                if (dump && dir)
                    dump_words(dir, name, &ws);
                correct(lm, &o, no_correct, dir, name, &ws, t1 - t0);
                sh_words_release(&ws);
            }
            sh_prepped_release(&pp[0]);
            sh_prepped_release(&pp[1]);
            sh_frame_release(&fr);
        }
        sh_scan_close(&sc);
    }
    sh_ocr_free(&eng);
    sh_vnlm_free(&lm);
    return bad;
}
