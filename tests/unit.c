/*
 * unit.c — runs every table of unit tests, or those whose name contains
 * argv[1].  Ends with the line "N passed, N failed, N skipped".
 * `unit --bench [name]` runs the benchmark tables instead (speed figures,
 * printed, for `make bench`).
 */
#include "test.h"

#include <leptonica/allheaders.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Weak, so a helper can link the runner with only its own module's table. */
#define TABLE(m) extern const sh_test sh_tests_##m[] __attribute__((weak));
TABLE(util) TABLE(scan) TABLE(prep) TABLE(ocr) TABLE(pdf) TABLE(index)
TABLE(pipeline) TABLE(pdfin) TABLE(layout) TABLE(web)
TABLE(pdfa) TABLE(fields) TABLE(archive) TABLE(vncorrect) TABLE(stream)
TABLE(large) TABLE(tiffjpeg)
extern const sh_test sh_bench_layout[] __attribute__((weak));
#undef TABLE

static const sh_test *tables[] = {
    sh_tests_util, sh_tests_scan,  sh_tests_prep,     sh_tests_ocr,
    sh_tests_pdf,  sh_tests_index, sh_tests_pipeline, sh_tests_pdfin,
    sh_tests_layout, sh_tests_web, sh_tests_pdfa, sh_tests_fields,
    sh_tests_archive, sh_tests_vncorrect, sh_tests_stream, sh_tests_large,
    sh_tests_tiffjpeg,
};

static const sh_test *bench_tables[] = {
    sh_bench_layout,
};

const char *sh_test_samples = "samples";
const char *sh_test_shared = "../shared";
static char tmpdir[256];

const char *sh_test_tmpdir(void)
{
    if (!tmpdir[0]) {
        snprintf(tmpdir, sizeof tmpdir, "/tmp/sohoa-unit-XXXXXX");
        if (!mkdtemp(tmpdir))
            return "/tmp";
    }
    return tmpdir;
}

static void cleanup_tmp(void)
{
    if (tmpdir[0]) {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", tmpdir);
        tmpdir[0] = 0;
    }
}

int main(int argc, char **argv)
{
    const sh_test *const *tabs = tables;
    size_t ntabs = sizeof tables / sizeof tables[0];
    const char *kind = "unit";
    if (argc > 1 && !strcmp(argv[1], "--bench")) {
        tabs = bench_tables;
        ntabs = sizeof bench_tables / sizeof bench_tables[0];
        kind = "bench";
        argc--, argv++;
    }
    const char *filter = argc > 1 ? argv[1] : NULL;
    if (getenv("SOHOA_SAMPLES"))
        sh_test_samples = getenv("SOHOA_SAMPLES");
    if (getenv("SOHOA_SHARED"))
        sh_test_shared = getenv("SOHOA_SHARED");
    setMsgSeverity(L_SEVERITY_NONE);
    int pass = 0, fail = 0, skip = 0;
    for (size_t t = 0; t < ntabs; t++) {
        if (!tabs[t])
            continue;
        for (const sh_test *c = tabs[t]; c->name; c++) {
            if (filter && !strstr(c->name, filter))
                continue;
            int r = c->fn();
            cleanup_tmp();
            const char *what = r == 0 ? "ok" : r == SH_SKIP ? "skip" : "FAIL";
            printf("%-4s %s\n", what, c->name);
            fflush(stdout);
            if (r == 0)
                pass++;
            else if (r == SH_SKIP)
                skip++;
            else
                fail++;
        }
    }
    printf("%s: %d passed, %d failed, %d skipped\n", kind, pass, fail, skip);
    return fail ? 1 : 0;
}
