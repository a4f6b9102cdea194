/*
 * test_vncorrect.c — Vietnamese syllable-aware correction (ocr/vncorrect.c)
 * on pages made by hand: a dropped tone is restored when the recognizer
 * offered it and the pair model agrees, a correct word stays, codes and
 * abbreviations are never touched, case and punctuation are kept, both
 * tone placements are valid, and the page text follows the words.
 */
#include "test.h"
#include "../ocr/vncorrect.h"

#include <stdlib.h>
#include <string.h>
#include <unistr.h>

/* An alternative the "recognizer" offered: word w, letter k (code
   points, from 0), text, confidence. */
typedef struct alt {
    int w, k;
    const char *text;
    float conf;
} alt;

/* A page of one paragraph: the words of line (split at spaces), one sym
   per code point at conf 95, plus the alternatives in alts. */
static int make_page(const char *line, const alt *alts, int nalts,
                     sh_words *ws)
{
    memset(ws, 0, sizeof *ws);
    char *copy = strdup(line);
    if (!copy)
        return 1;
    ws->cap = 64;
    ws->w = calloc((size_t)ws->cap, sizeof *ws->w);
    for (char *save = NULL, *t = strtok_r(copy, " ", &save); t && ws->n < 64;
         t = strtok_r(NULL, " ", &save)) {
        sh_word *w = &ws->w[ws->n];
        w->text = strdup(t);
        w->conf = 90;
        w->x0 = 10 * ws->n;
        w->x1 = w->x0 + 8;
        w->y1 = 10;
        size_t n = u8_mbsnlen((const uint8_t *)t, strlen(t));
        w->syms = calloc(n, sizeof *w->syms);
        w->nsyms = (int)n;
        const uint8_t *p = (const uint8_t *)t;
        for (size_t k = 0; k < n; k++) {
            int len = u8_mblen(p, strlen((const char *)p));
            memcpy(w->syms[k].text, p, (size_t)len);
            w->syms[k].conf = 95;
            p += len;
        }
        for (int a = 0; a < nalts; a++)
            if (alts[a].w == ws->n && alts[a].k < (int)n) {
                sh_sym *y = &w->syms[alts[a].k];
                snprintf(y->alt[y->nalt].text, SH_SYM_TEXT, "%s",
                         alts[a].text);
                y->alt[y->nalt++].conf = alts[a].conf;
            }
        ws->n++;
    }
    free(copy);
    return sh_words_text(ws);
}

/* Correct line with alts; want: the page text after. */
static int check_line(const sh_vnlm *lm, const char *line, const alt *alts,
                      int nalts, const char *want, int want_fixes)
{
    sh_words ws;
    CHECK(make_page(line, alts, nalts, &ws) == 0);
    sh_vnfix *fx = NULL;
    int nfx = -1;
    sh_err err = {0};
    CHECKF(sh_vn_correct(lm, &ws, &fx, &nfx, &err) == SH_OK, "%s", err.msg);
    CHECKF(!strcmp(ws.text, want), "'%s' → '%s', want '%s'", line, ws.text,
           want);
    CHECKF(want_fixes < 0 || nfx == want_fixes, "'%s': %d fixes, want %d",
           line, nfx, want_fixes);
    for (int i = 0; i < nfx; i++) {
        /* each change is recorded and is what the word now says */
        CHECK(fx[i].word >= 0 && fx[i].word < ws.n);
        CHECK(!strcmp(fx[i].fixed, ws.w[fx[i].word].text));
        CHECK(strcmp(fx[i].orig, fx[i].fixed) && fx[i].why[0]);
    }
    sh_vnfixes_free(&fx, nfx);
    CHECK(fx == NULL);
    sh_words_release(&ws);
    return 0;
}

static int test_context(void)
{
    sh_vnlm *lm = NULL;
    sh_err err = {0};
    CHECKF(sh_vnlm_load(&lm, &err) == SH_OK, "%s", err.msg);
    /* the example: ố is the recognizer's second choice (53) */
    static const alt phô[] = {{1, 2, "ố", 53.1f}};
    CHECK(check_line(lm, "thành phô Đà Nẵng", phô, 1, "thành phố Đà Nẵng",
                     1) == 0);
    sh_words ws;
    CHECK(make_page("thành phô Đà Nẵng", phô, 1, &ws) == 0);
    sh_vnfix *fx = NULL;
    int nfx = 0;
    CHECK(sh_vn_correct(lm, &ws, &fx, &nfx, &err) == SH_OK && nfx == 1);
    CHECKF(fx[0].word == 1 && !strcmp(fx[0].orig, "phô") &&
           strstr(fx[0].why, "thành phố"), "%s", fx[0].why);
    sh_vnfixes_free(&fx, nfx);
    /* the word boxes stay; the alternatives stay as read */
    CHECK(ws.w[1].x0 == 10 && !strcmp(ws.w[1].syms[2].text, "ô"));
    sh_words_release(&ws);
    /* đề → để where the context says so, the recognizer offering ể */
    static const alt de[] = {{3, 1, "ể", 70}};
    CHECK(check_line(lm, "biện pháp triệt đề", de, 1, "biện pháp triệt để", 1) ==
          0);
    /* fixes and nfixes are optional */
    CHECK(make_page("thành phô Đà Nẵng", phô, 1, &ws) == 0);
    CHECK(sh_vn_correct(lm, &ws, NULL, NULL, &err) == SH_OK);
    CHECK(!strcmp(ws.text, "thành phố Đà Nẵng"));
    sh_words_release(&ws);
    sh_vnlm_free(&lm);
    CHECK(lm == NULL);
    sh_vnlm_free(&lm);
    return 0;
}

static int test_no_harm(void)
{
    sh_vnlm *lm = NULL;
    sh_err err = {0};
    CHECK(sh_vnlm_load(&lm, &err) == SH_OK);
    /* correct words, alternatives offered but weaker: nothing changes */
    static const alt weak[] = {{1, 2, "ô", 60}, {3, 1, "ă", 40},
                               {6, 1, "í", 40}};
    CHECK(check_line(lm, "thành phố Đà Nẵng và các tỉnh", weak, 3,
                     "thành phố Đà Nẵng và các tỉnh", 0) == 0);
    CHECK(check_line(lm, "Sở Giáo dục và Đào tạo thông báo kết quả", NULL, 0,
                     "Sở Giáo dục và Đào tạo thông báo kết quả", 0) == 0);
    CHECK(check_line(lm, "Cộng hoà xã hội chủ nghĩa Việt Nam", NULL, 0,
                     "Cộng hoà xã hội chủ nghĩa Việt Nam", 0) == 0);
    /* a foreign word or a name that is no syllable, without a strong
       alternative, stays */
    CHECK(check_line(lm, "phòng chống dịch COVID của Microsoft", NULL, 0,
                     "phòng chống dịch COVID của Microsoft", 0) == 0);
    sh_vnlm_free(&lm);
    return 0;
}

static int test_fixed_points(void)
{
    sh_vnlm *lm = NULL;
    sh_err err = {0};
    CHECK(sh_vnlm_load(&lm, &err) == SH_OK);
    /* letters of codes, abbreviations and addresses, however tempting
       the alternatives offered */
    static const alt tempt[] = {{0, 1, "Ư", 90}, {1, 3, "Ở", 90},
                                {2, 4, "Ở", 90}, {3, 0, "ư", 90},
                                {4, 1, "Ư", 90}, {5, 1, "r", 90},
                                {6, 2, "a", 90}};
    const char *line = "UBND 05/QĐ-UBND Số:05/QĐ www.danang.gov.vn QĐ TTr "
                       "HĐND 26/7/2020 info@danang.vn";
    CHECK(check_line(lm, line, tempt, 7, line, 0) == 0);
    sh_vnlm_free(&lm);
    return 0;
}

static int test_case_and_punct(void)
{
    sh_vnlm *lm = NULL;
    sh_err err = {0};
    CHECK(sh_vnlm_load(&lm, &err) == SH_OK);
    /* all capitals: PHÔ / PHÓ → PHỐ, the recognizer offering nothing */
    CHECK(check_line(lm, "UBND THÀNH PHÔ ĐÀ NẴNG", NULL, 0,
                     "UBND THÀNH PHỐ ĐÀ NẴNG", 1) == 0);
    CHECK(check_line(lm, "UBND THÀNH PHÓ ĐÀ NẴNG", NULL, 0,
                     "UBND THÀNH PHỐ ĐÀ NẴNG", 1) == 0);
    /* an alternative offered in capitals serves a lower-case word too */
    static const alt up[] = {{1, 2, "Ố", 50}};
    CHECK(check_line(lm, "Thành Phô Hà Nội", up, 1, "Thành Phố Hà Nội", 1) ==
          0);
    /* punctuation is kept around the word */
    static const alt pc[] = {{1, 2, "ố", 53}};
    CHECK(check_line(lm, "thành phô, tỉnh", pc, 1, "thành phố, tỉnh", 1) ==
          0);
    /* mixed case is left alone */
    CHECK(check_line(lm, "thành pHô", NULL, 0, "thành pHô", 0) == 0);
    sh_vnlm_free(&lm);
    return 0;
}

static int test_valid(void)
{
    sh_vnlm *lm = NULL;
    sh_err err = {0};
    CHECK(sh_vnlm_load(&lm, &err) == SH_OK);
    static const struct {
        const char *s;
        int valid;
    } rows[] = {
        {"hoà", 1}, {"hòa", 1}, {"HOÀ", 1}, {"thuỷ", 1}, {"thủy", 1},
        {"khoẻ", 1}, {"khỏe", 1}, {"quý", 1}, {"nghiêng", 1}, {"giếng", 1},
        {"gì", 1}, {"phố", 1}, {"để", 1}, {"triển", 1},
        {"trỉên", 0},   /* placement-free keys would accept it */
        {"hoàng", 1}, {"hòang", 0},   /* a final consonant: one placement */
        {"ka", 0}, {"ghe", 1}, {"ge", 0}, {"cấp", 1}, {"cẩp", 0},
        {"UBND", 0}, {"", 0}, {"a1", 0},
    };
    for (size_t i = 0; i < SH_ARRAY_LEN(rows); i++)
        CHECKF(sh_vnlm_valid(lm, rows[i].s) == rows[i].valid, "'%s'",
               rows[i].s);
    /* the decomposed spelling is the same syllable */
    CHECK(sh_vnlm_valid(lm, "pho\xcc\x82\xcc\x81"));
    sh_vnlm_free(&lm);
    /* a damaged blob is refused */
    static const char junk[64] = "SHVNLM1";
    CHECK(sh_vnlm_open(junk, sizeof junk, &lm, &err) == SH_EINPUT && !lm);
    CHECK(sh_vnlm_open("x", 1, &lm, &err) == SH_EINPUT && !lm);
    return 0;
}

/* Noise: faint non-words go, with a record; faint real words, numbers,
   codes and abbreviations stay; confident words always stay. */
static int test_noise(void)
{
    sh_vnlm *lm = NULL;
    sh_err err = {0};
    CHECK(sh_vnlm_load(&lm, &err) == SH_OK);
    sh_words ws;
    CHECK(make_page("Giám đốc, lR mm Ÿ Z2 2435 05/QĐ-UBND UBND phô TTr PGD",
                    NULL, 0, &ws) == 0);
    /* confidences: the first two words and PGD sure, the rest faint */
    for (int i = 0; i < ws.n; i++)
        ws.w[i].conf = i < 2 || i == ws.n - 1 ? 93 : 30;
    ws.w[9].conf = 5;          /* TTr, mixed case, very faint: noise */
    sh_vnfix *fx = NULL;
    int nfx = 0;
    CHECKF(sh_vn_drop_noise(lm, 0, &ws, &fx, &nfx, &err) == SH_OK, "%s",
           err.msg);
    CHECKF(!strcmp(ws.text, "Giám đốc, 2435 05/QĐ-UBND UBND phô PGD"),
           "noise left: '%s'", ws.text);
    CHECKF(nfx == 5, "%d dropped, want 5", nfx);
    for (int i = 0; i < nfx; i++)
        CHECKF(!strcmp(fx[i].fixed, "") && strstr(fx[i].why, "dropped") &&
                   fx[i].x1 > fx[i].x0,
               "record %d: '%s' → '%s' (%s)", i, fx[i].orig, fx[i].fixed,
               fx[i].why);
    CHECK(!strcmp(fx[0].orig, "lR") && !strcmp(fx[4].orig, "TTr"));
    /* a second pass finds nothing more */
    int before = ws.n;
    CHECK(sh_vn_drop_noise(lm, 0, &ws, NULL, NULL, &err) == SH_OK &&
          ws.n == before);
    sh_vnfixes_free(&fx, nfx);
    sh_words_release(&ws);
    sh_vnlm_free(&lm);
    return 0;
}

const sh_test sh_tests_vncorrect[] = {
    {"vncorrect_noise", test_noise},
    {"vncorrect_context", test_context},
    {"vncorrect_no_harm", test_no_harm},
    {"vncorrect_fixed_points", test_fixed_points},
    {"vncorrect_case_and_punct", test_case_and_punct},
    {"vncorrect_valid", test_valid},
    {NULL, NULL},
};
