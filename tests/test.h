/*
 * test.h — a tiny table-driven test harness.
 *
 * Each tests/test_<module>.c defines
 *     const sh_test sh_tests_<module>[] = { {"name", fn}, ..., {NULL, NULL} };
 * and tests/unit.c lists the tables.  A test returns 0 on pass, 1 on fail,
 * 77 to skip (e.g. ../shared absent); CHECK() prints file:line and the
 * expression.  `build/unit [name-substring]` runs one or all.
 *
 * Tests assert no timings.  Speed figures are benchmarks: a module may
 * define  const sh_test sh_bench_<module>[]  (same form; the function
 * prints its figures) and tests/unit.c lists it; `build/unit --bench
 * [name-substring]` runs those instead (`make bench`).
 */
#ifndef SH_TEST_H
#define SH_TEST_H

#include <stdio.h>

typedef struct sh_test {
    const char *name;
    int (*fn)(void);
} sh_test;

#define SH_SKIP 77

#define CHECK(cond)                                                        \
    do {                                                                   \
        if (!(cond)) {                                                     \
            fprintf(stderr, "  %s:%d: CHECK failed: %s\n", __FILE__,       \
                    __LINE__, #cond);                                      \
            return 1;                                                      \
        }                                                                  \
    } while (0)

#define CHECKF(cond, ...)                                                  \
    do {                                                                   \
        if (!(cond)) {                                                     \
            fprintf(stderr, "  %s:%d: CHECK failed: %s: ", __FILE__,       \
                    __LINE__, #cond);                                      \
            fprintf(stderr, __VA_ARGS__);                                  \
            fputc('\n', stderr);                                           \
            return 1;                                                      \
        }                                                                  \
    } while (0)

/* Folder of the project's samples and of ../shared (set by the runner from
   SOHOA_SAMPLES / SOHOA_SHARED, defaults "samples" and "../shared"). */
extern const char *sh_test_samples;
extern const char *sh_test_shared;
/* A fresh temporary folder for this test (removed by the runner). */
const char *sh_test_tmpdir(void);

#include <stddef.h>
struct sh_buf;
/* Run cmd through the shell; its stdout into out (may be NULL).  Returns
   the exit status, or -1.  (tests/testutil.c) */
int sh_test_run(const char *cmd, struct sh_buf *out);
/* buf = <this test's tmpdir>/name */
void sh_test_path(char *buf, size_t n, const char *name);
/* Number of entries of dir whose name contains sub (-1: no folder). */
int sh_test_count_names(const char *dir, const char *sub);
int sh_test_file_exists(const char *p);

#endif
