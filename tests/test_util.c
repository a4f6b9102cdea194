/* test_util.c — common helpers: natural order, buffers, atomic write. */
#include "../base/date.h"
#include "test.h"
#include "../base/common.h"
#include "../base/opts.h"

#include <limits.h>

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int test_natcmp(void)
{
    static const struct { const char *a, *b; int sign; } rows[] = {
        {"2.tif", "10.tif", -1},
        {"page10", "page9", 1},
        {"0001.tif", "0002.tif", -1},
        {"a.tif", "A.tif", 0},
        {"scan_2_b", "scan_2_a", 1},
        {"x", "x1", -1},
    };
    for (size_t i = 0; i < SH_ARRAY_LEN(rows); i++) {
        int c = sh_natcmp(rows[i].a, rows[i].b);
        int s = c < 0 ? -1 : c > 0 ? 1 : 0;
        CHECKF(s == rows[i].sign, "%s vs %s", rows[i].a, rows[i].b);
    }
    return 0;
}

static int test_atomic_write(void)
{
    char path[512];
    snprintf(path, sizeof path, "%s/out.bin", sh_test_tmpdir());
    sh_err err = {0};
    CHECK(sh_write_atomic(path, "hello", 5, &err) == SH_OK);
    uint8_t *p;
    size_t n;
    CHECK(sh_read_file(path, 0, &p, &n, &err) == SH_OK);
    CHECK(n == 5 && memcmp(p, "hello", 5) == 0);
    free(p);
    char hex[65];
    CHECK(sh_sha256_file(path, hex, &err) == SH_OK);
    CHECK(strcmp(hex, "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824") == 0);
    /* a write into a missing folder fails cleanly, naming the path */
    CHECK(sh_write_atomic("/nonexistent-dir/x", "a", 1, &err) == SH_EIO);
    CHECK(strstr(err.msg, "/nonexistent-dir/x") != NULL);
    return 0;
}

static int test_buf(void)
{
    sh_buf b = {0};
    for (int i = 0; i < 1000; i++)
        CHECK(sh_buf_printf(&b, "%d,", i) == SH_OK);
    CHECK(strncmp(b.data, "0,1,2,", 6) == 0);
    CHECK(b.len == strlen(b.data));
    sh_buf_release(&b);
    CHECK(b.data == NULL && b.len == 0);
    return 0;
}

/* Checked option values: garbage, trailing text and out-of-range numbers
   are refused with a message naming the option. */
static int test_opt_int(void)
{
    static const struct { const char *text; int lo, hi, ok, want; } rows[] = {
        {"4", 1, 256, 1, 4},
        {" 12 ", 1, 256, 1, 12},
        {"256", 1, 256, 1, 256},
        {"0", 1, 256, 0, 0},
        {"257", 1, 256, 0, 0},
        {"-3", 0, INT_MAX, 0, 0},
        {"abc", 1, 256, 0, 0},
        {"8x", 1, 256, 0, 0},
        {"", 1, 256, 0, 0},
        {"99999999999999", 0, INT_MAX, 0, 0},
    };
    for (size_t i = 0; i < SH_ARRAY_LEN(rows); i++) {
        sh_err err = {0};
        int v = -7;
        int rc = sh_opt_int("--jobs", rows[i].text, rows[i].lo, rows[i].hi,
                            &v, &err);
        CHECKF(rows[i].ok ? rc == SH_OK && v == rows[i].want
                          : rc == SH_EUSAGE && v == -7 &&
                                strstr(err.msg, "--jobs"),
               "'%s': rc %d v %d (%s)", rows[i].text, rc, v, err.msg);
    }
    double d = 0;
    sh_err err = {0};
    CHECK(sh_opt_double("--max-minutes", "0.05", 0, 1e9, &d, &err) == SH_OK &&
          d == 0.05);
    CHECK(sh_opt_double("--max-minutes", "nan", 0, 1e9, &d, &err) ==
          SH_EUSAGE);
    CHECK(sh_opt_double("--max-minutes", "1m", 0, 1e9, &d, &err) ==
          SH_EUSAGE && strstr(err.msg, "--max-minutes"));
    sh_opts o;
    sh_opts_init(&o);
    CHECK(sh_opt_common(&o, 'w', "/x") == SH_OPT_TAKEN &&
          !strcmp(o.warehouse, "/x"));
    CHECK(sh_opt_common(&o, 'j', NULL) == SH_OPT_TAKEN && o.json == 1);
    CHECK(sh_opt_common(&o, 'h', NULL) == SH_OPT_HELP);
    CHECK(sh_opt_common(&o, '?', NULL) == SH_OPT_UNKNOWN);
    return 0;
}

/* Control characters escaped for logs and terminals; real dates. */
static int test_safe_text(void)
{
    static const struct {
        const char *in, *out;
    } rows[] = {
        {"GET /a b", "GET /a b"},
        {"x\ny", "x\\ny"},                       /* %0a: no new line   */
        {"\x1b[2Jx", "\\x1b[2Jx"},                /* ESC                */
        {"a\x7f", "a\\x7f"},                     /* DEL                */
        {"\xc2\x9b" "31m", "\\u009b31m"},         /* C1 CSI as UTF-8    */
        {"\x9b", "\\x9b"},                        /* a lone byte        */
        {"đất đai", "đất đai"},                   /* UTF-8 kept         */
        {"\xff", "\\xff"},
        {"tab\there", "tab\\there"},
    };
    for (size_t i = 0; i < SH_ARRAY_LEN(rows); i++) {
        sh_buf b = {0};
        CHECK(sh_buf_add_safe(&b, rows[i].in) == SH_OK);
        CHECKF(!strcmp(b.data ? b.data : "", rows[i].out), "'%s' -> '%s'",
               rows[i].out, b.data ? b.data : "");
        sh_buf_release(&b);
    }
    static const struct {
        const char *d;
        int ok;
    } dates[] = {
        {"2024", 1}, {"2024-02", 1}, {"2024-02-29", 1}, {"2023-02-29", 0},
        {"1900-02-29", 0}, {"2000-02-29", 1}, {"2024-13-45", 0},
        {"2024-04-31", 0}, {"2024-00", 0}, {"0000", 0}, {"2024/06", 0},
        {"2024-6-1", 0}, {"", 0}, {"2024-12-31", 1},
    };
    for (size_t i = 0; i < SH_ARRAY_LEN(dates); i++)
        CHECKF(sh_date_valid(dates[i].d) == dates[i].ok, "'%s'", dates[i].d);
    return 0;
}

const sh_test sh_tests_util[] = {
    {"util/safe_text", test_safe_text},
    {"util/natcmp", test_natcmp},
    {"util/atomic_write", test_atomic_write},
    {"util/buf", test_buf},
    {"util/opt_int", test_opt_int},
    {NULL, NULL},
};
