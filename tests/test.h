/*
 * test.h — a tiny table-driven test harness.
 *
 * Each tests/test_<module>.c defines
 *     const sh_test sh_tests_<module>[] = { {"name", fn}, ..., {NULL, NULL} };
 * and tests/unit.c lists the tables.  A test returns 0 on pass, 1 on fail,
 * 77 to skip (e.g. ../shared absent); CHECK() prints file:line and the
 * expression.  `tests/unit [name-substring]` runs one or all.
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

#endif
