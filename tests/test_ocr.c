/*
 * test_ocr.c — Tesseract in process on a sample page: the Vietnamese text
 * comes back with its marks, word boxes are sane and ordered, each word
 * carries its symbols and the recognizer's alternatives, the deadline
 * cancels a page, and the osd model finds a quarter turn.
 */
#include "test.h"
#include "../ocr/ocr.h"
#include "../scanners/prep.h"
#include "../scanners/scan.h"

#include <stdlib.h>
#include <string.h>

/* samples/batch/HS-2024-00002/0001.jpg: an upright 300 dpi công văn. */
static int load_sample(PIX **out)
{
    char path[512];
    snprintf(path, sizeof path, "%s/batch/HS-2024-00002/0001.jpg",
             sh_test_samples);
    sh_scan *sc = NULL;
    sh_frame f = {0};
    sh_err err = {0};
    if (sh_scan_open(path, NULL, &sc, &err) || sh_scan_read(sc, 0, &f, &err)) {
        fprintf(stderr, "  %s\n", err.msg);
        sh_scan_close(&sc);
        return 1;
    }
    sh_prep_opts o = {0};
    o.no_orient = 1;
    sh_prepped pp;
    int rc = sh_prep_page(&f, &o, &pp, &err);
    sh_frame_release(&f);
    sh_scan_close(&sc);
    if (rc)
        return 1;
    *out = pp.ocr;
    return 0;
}

static int test_recognise(void)
{
    PIX *pix;
    CHECK(load_sample(&pix) == 0);
    sh_ocr *e;
    sh_err err = {0};
    CHECKF(sh_ocr_new(NULL, NULL, &e, &err) == SH_OK, "%s", err.msg);
    sh_words ws;
    CHECKF(sh_ocr_page(e, pix, 300, 0, &ws, &err) == SH_OK, "%s", err.msg);
    static const char *want[] = {
        "Số: 318/UBND-NN", "Độc lập - Tự do - Hạnh phúc",
        "công trình thủy lợi", "Nghị định số 03/2022/NĐ-CP",
    };
    for (size_t i = 0; i < SH_ARRAY_LEN(want); i++)
        CHECKF(strstr(ws.text, want[i]), "'%s' not in the text", want[i]);
    CHECK(ws.n > 150 && ws.mean_conf > 80);
    /* lstm_choice_mode=2: each word's symbols spell it, and the
       recognizer's other readings of a character come with them */
    int nsym = 0, nalt = 0, spelt = 0;
    for (int i = 0; i < ws.n; i++) {
        const sh_word *x = &ws.w[i];
        char joined[256] = "";
        for (int k = 0; k < x->nsyms; k++) {
            const sh_sym *y = &x->syms[k];
            CHECK(y->text[0] && y->conf >= 0 && y->conf <= 100);
            CHECK(y->nalt >= 0 && y->nalt <= SH_SYM_ALTS);
            for (int a = 0; a < y->nalt; a++)
                CHECK(y->alt[a].text[0] && strcmp(y->alt[a].text, y->text));
            strncat(joined, y->text, sizeof joined - strlen(joined) - 1);
            nsym++;
            nalt += y->nalt;
        }
        spelt += !strcmp(joined, x->text);
    }
    CHECKF(nsym > 500 && nalt > 0 && spelt > ws.n * 9 / 10,
           "%d symbols, %d alternatives, %d of %d words spelt", nsym, nalt,
           spelt, ws.n);
    int w = pixGetWidth(pix), h = pixGetHeight(pix);
    for (int i = 0; i < ws.n; i++) {
        const sh_word *x = &ws.w[i];
        CHECK(x->x0 >= 0 && x->y0 >= 0 && x->x1 <= w && x->y1 <= h);
        CHECK(x->x0 < x->x1 && x->y0 < x->y1);
        CHECK(x->line_h > 0);
        CHECK(x->baseline_y < 0 || (x->baseline_y >= x->y0 &&
                                    x->baseline_y <= x->y1 + x->line_h));
        if (i) { /* reading order: lines never go back */
            CHECK(x->line >= ws.w[i - 1].line);
            CHECK(x->par >= ws.w[i - 1].par);
        }
    }
    sh_words_release(&ws);
    /* The engine is reused for the next page (one per worker life). */
    CHECK(sh_ocr_page(e, pix, 300, 0, &ws, &err) == SH_OK && ws.n > 150);
    sh_words_release(&ws);
    sh_ocr_free(&e);
    CHECK(e == NULL);
    pixDestroy(&pix);
    return 0;
}

static int test_deadline(void)
{
    PIX *pix;
    CHECK(load_sample(&pix) == 0);
    sh_ocr *e;
    sh_err err = {0};
    CHECK(sh_ocr_new(NULL, NULL, &e, &err) == SH_OK);
    sh_words ws;
    CHECK(sh_ocr_page(e, pix, 300, 1, &ws, &err) == SH_ETIMEOUT);
    CHECK(ws.n == 0 && ws.w == NULL);
    CHECK(strstr(err.msg, "cancel") != NULL);
    /* and the engine still works afterwards */
    CHECK(sh_ocr_page(e, pix, 300, 0, &ws, &err) == SH_OK && ws.n > 150);
    sh_words_release(&ws);
    sh_ocr_free(&e);
    pixDestroy(&pix);
    return 0;
}

static int test_osd(void)
{
    PIX *pix;
    CHECK(load_sample(&pix) == 0);
    sh_ocr *e;
    sh_err err = {0};
    CHECK(sh_ocr_new(NULL, NULL, &e, &err) == SH_OK);
    for (int q = 0; q < 4; q++) {
        /* turned q quarters clockwise; upright needs (4-q) more */
        PIX *t = pixRotateOrth(pix, q);
        int deg;
        float conf;
        CHECK(sh_ocr_orient(e, t, 300, &deg, &conf) == 0);
        CHECKF(deg == (4 - q) % 4 * 90, "turn %d: osd says %d", q, deg);
        CHECK(conf > 2);
        pixDestroy(&t);
    }
    sh_ocr_free(&e);
    pixDestroy(&pix);
    return 0;
}

static int test_missing_language(void)
{
    sh_ocr *e = NULL;
    sh_err err = {0};
    CHECK(sh_ocr_new(NULL, "xyz", &e, &err) == SH_EOCR);
    CHECK(e == NULL);
    CHECK(strstr(err.msg, "tesseract-ocr-xyz") != NULL);
    return 0;
}

const sh_test sh_tests_ocr[] = {
    {"ocr/recognise", test_recognise},
    {"ocr/deadline", test_deadline},
    {"ocr/osd", test_osd},
    {"ocr/missing_language", test_missing_language},
    {NULL, NULL},
};
