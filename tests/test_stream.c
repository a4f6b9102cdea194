/*
 * test_stream.c — separator sheets and streams: the codes made and read
 * back, the separator test on turned, skewed, low-resolution, 1-bit and
 * holed sheets and on ordinary pages, the id rule, and the cutting rules
 * (table-driven, one row per clerk's mistake).
 */
#include "test.h"
#include "../pipeline/stream.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Code 128: start + data + check + stop modules, bars at both ends, and
   the refusals.  (That the bars are right is checked by reading them back
   with zbar in stream_sheet_detect, where the QR code is blotted out.) */
static int t_code128_widths(void)
{
    uint8_t mod[512];
    int n = 0;
    CHECK(sh_code128_make("AB", mod, sizeof mod, &n, NULL) == SH_OK);
    CHECK(n == 11 * 5 + 2);
    CHECK(mod[0] == 1 && mod[n - 1] == 1 && mod[n - 2] == 1); /* bars at both ends */
    CHECK(sh_code128_make("ờ", mod, sizeof mod, &n, NULL) == SH_EINPUT);
    CHECK(sh_code128_make("ABC", mod, 20, &n, NULL) == SH_ELIMIT);
    CHECK(sh_code128_make("", mod, sizeof mod, &n, NULL) == SH_EUSAGE);
    return 0;
}

static int t_id_check(void)
{
    static const struct { const char *id; int ok; } rows[] = {
        {"HS-2024-00001", 1}, {"QĐ_12", 1}, {"a.b", 1},
        {"", 0}, {".hidden", 0}, {"a/b", 0}, {"a\\b", 0}, {"tab\there", 0},
        {"end.", 0}, {"end ", 0}, {" lead", 0}, {"\xff\xfe", 0},
        {"\xc3", 0},                       /* cut UTF-8 */
        {"\xed\xa0\x80", 0},               /* a surrogate */
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        CHECKF(sh_sep_id_check(rows[i].id, NULL) == rows[i].ok, "row %zu '%s'",
               i, rows[i].id);
    char big[300];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    CHECK(!sh_sep_id_check(big, NULL));
    return 0;
}

/* The sheet rendered, degraded and read back. */
static int t_sheet_detect(void)
{
    static const struct {
        int dpi;         /* rendered at */
        int turn;        /* quarter turns clockwise */
        double skew;     /* degrees */
        int bits;        /* 1 or 8 */
        int hole;        /* a 9 mm hole through a QR finder and the bars */
    } rows[] = {
        {150, 0, 0, 1, 0}, {150, 2, 3, 8, 0}, {200, 1, -4, 1, 0},
        {300, 3, 2, 8, 1}, {300, 0, 0, 1, 1}, {600, 2, -1.5, 1, 0},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        PIX *pix = NULL;
        sh_err err = {0};
        CHECKF(sh_sep_sheet_render("HS-2024-00042", rows[i].dpi, &pix,
                                   &err) == SH_OK, "%s", err.msg);
        double k = rows[i].dpi / 25.4;
        if (rows[i].hole) {
            BOX *h1 = boxCreate((l_int32)(62 * k), (l_int32)(60 * k), (l_int32)(9 * k), (l_int32)(9 * k));
            BOX *h2 = boxCreate((l_int32)(100 * k), (l_int32)(215 * k), (l_int32)(9 * k), (l_int32)(9 * k));
            pixSetInRect(pix, h1);
            pixSetInRect(pix, h2);
            boxDestroy(&h1);
            boxDestroy(&h2);
        }
        PIX *g = rows[i].bits == 8 ? pixConvertTo8(pix, 0) : pixClone(pix);
        PIX *s = pixRotate(g, (float)(rows[i].skew * M_PI / 180),
                           L_ROTATE_AREA_MAP, L_BRING_IN_WHITE, 0, 0);
        if (rows[i].bits == 1 && pixGetDepth(s) != 1) {
            PIX *b = pixThresholdToBinary(s, 128);
            pixDestroy(&s);
            s = b;
        }
        PIX *t = rows[i].turn ? pixRotateOrth(s, rows[i].turn) : pixClone(s);
        sh_sep sep;
        int rc = sh_sep_detect(t, rows[i].dpi, 0, &sep, &err);
        pixDestroy(&pix);
        pixDestroy(&g);
        pixDestroy(&s);
        pixDestroy(&t);
        CHECKF(rc == SH_OK, "%s", err.msg);
        CHECKF(sep.kind == SH_SEP_SHEET && !strcmp(sep.id, "HS-2024-00042"),
               "row %zu: kind %d id '%s'", i, sep.kind, sep.id);
        CHECK(sep.bands || !sep.full_pass);
    }
    return 0;
}

/* An ordinary page (a sample) is not a separator, and a sheet whose
   codes are blotted out is "unreadable", not a page. */
static int t_not_a_separator(void)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/batch/HS-2024-00001/0001.tif",
             sh_test_samples);
    PIX *pix = pixRead(path);
    if (!pix)
        return SH_SKIP;
    sh_sep sep;
    CHECK(sh_sep_detect(pix, 300, 1, &sep, NULL) == SH_OK);
    CHECK(sep.kind == SH_SEP_NONE && !sep.bands && sep.blank == 0);
    pixDestroy(&pix);

    CHECK(sh_sep_sheet_render("X-1", 150, &pix, NULL) == SH_OK);
    double k = 150 / 25.4;
    BOX *b1 = boxCreate((l_int32)(50 * k), (l_int32)(50 * k), (l_int32)(110 * k), (l_int32)(110 * k));
    BOX *b2 = boxCreate((l_int32)(20 * k), (l_int32)(200 * k), (l_int32)(170 * k), (l_int32)(40 * k));
    pixSetInRect(pix, b1);
    pixSetInRect(pix, b2);
    boxDestroy(&b1);
    boxDestroy(&b2);
    CHECK(sh_sep_detect(pix, 150, 0, &sep, NULL) == SH_OK);
    CHECKF(sep.kind == SH_SEP_UNREADABLE, "kind %d", sep.kind);
    pixDestroy(&pix);
    return 0;
}

static int cut_taken(const char *id, char *why, size_t wn, void *ctx)
{
    (void)ctx;
    snprintf(why, wn, "elsewhere");
    return !strcmp(id, "TAKEN");
}

/* Cutting: pages as letters: P page, B blank page, S:id separator,
   U unreadable separator.  Expected: each page's group as a letter
   ('-' in none; 'a', 'b', ... in order of groups), the problems. */
static int t_cut_rules(void)
{
    static const struct {
        const char *pages;
        const char *groups;
        const char *problems;   /* "what@page,..." (pages from 0) */
    } rows[] = {
        {"S:A P P S:B P", "-aa-b", ""},
        {"P S:A P", "a-b", "before-first@0"},
        {"S:A B P S:B P", "--a-b", ""},               /* blank back */
        {"S:A P B S:B P", "-a--b", ""},               /* blank front */
        {"S:A S:B P", "--a", "empty@0"},
        {"S:A P S:B", "-a-", "empty@2"},
        {"S:A P S:A P", "-a-b", "twice@2"},
        {"S:A P U P S:B P", "-a-b-c", "unreadable@2"},
        {"S:a/b P", "-a", "bad-id@0"},
        {"S:TAKEN P", "-a", "taken@0"},
        {"B P", "aa", "before-first@0"},
    };
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        sh_spage pg[16];
        char ids[16][16];
        int n = 0;
        char buf[128];
        snprintf(buf, sizeof buf, "%s", rows[r].pages);
        for (char *tok = strtok(buf, " "); tok; tok = strtok(NULL, " ")) {
            memset(&pg[n], 0, sizeof pg[n]);
            pg[n].blank = tok[0] == 'B';
            pg[n].kind = tok[0] == 'S' ? SH_SEP_SHEET
                         : tok[0] == 'U' ? SH_SEP_UNREADABLE : SH_SEP_NONE;
            if (tok[0] == 'S') {
                snprintf(ids[n], sizeof ids[n], "%s", tok + 2);
                pg[n].id = ids[n];
            }
            n++;
        }
        sh_cut c;
        /* with a "taken" test: ids named TAKEN are in use elsewhere */
        CHECK(sh_stream_cut(pg, n, cut_taken, NULL, &c, NULL) == SH_OK);
        char got[32] = "";
        for (int i = 0; i < n; i++)
            got[i] = c.group[i] < 0 ? '-' : (char)('a' + c.group[i]);
        got[n] = 0;
        char probs[256] = "";
        for (int i = 0; i < c.np; i++)
            snprintf(probs + strlen(probs), sizeof probs - strlen(probs),
                     "%s%s@%d", i ? "," : "", c.p[i].what, c.p[i].page);
        /* group letters count every group, empty ones included: map the
           expected letters onto the groups that hold pages */
        char norm[32] = "";
        char map[26] = {0};
        int next = 0;
        for (int i = 0; i < n; i++) {
            if (got[i] == '-') {
                norm[i] = '-';
                continue;
            }
            int g = got[i] - 'a';
            if (!map[g])
                map[g] = (char)('a' + next++);
            norm[i] = map[g];
        }
        norm[n] = 0;
        CHECKF(!strcmp(norm, rows[r].groups) && !strcmp(probs, rows[r].problems),
               "row %zu '%s': groups %s (want %s), problems '%s' (want '%s')",
               r, rows[r].pages, norm, rows[r].groups, probs, rows[r].problems);
        sh_cut_release(&c);
    }
    return 0;
}


/* The PDF of the sheets: one page per id, every id refused as a whole
   when one is bad. */
static int t_sheets_pdf(void)
{
    char p[4096];
    sh_test_path(p, sizeof p, "sep.pdf");
    char *ids[] = {"A-1", "B-2"};
    sh_err err = {0};
    CHECKF(sh_sep_sheets_write(p, ids, 2, 150, &err) == SH_OK, "%s", err.msg);
    CHECK(sh_test_file_exists(p));
    char *bad[] = {"ok", "a/b"};
    sh_test_path(p, sizeof p, "bad.pdf");
    CHECK(sh_sep_sheets_write(p, bad, 2, 150, &err) == SH_EUSAGE);
    CHECK(!sh_test_file_exists(p));
    return 0;
}

const sh_test sh_tests_stream[] = {
    {"stream_code128", t_code128_widths},
    {"stream_id_check", t_id_check},
    {"stream_sheet_detect", t_sheet_detect},
    {"stream_not_a_separator", t_not_a_separator},
    {"stream_cut_rules", t_cut_rules},
    {"stream_sheets_pdf", t_sheets_pdf},
    {NULL, NULL},
};
