/* qc_test.h — a minimal test harness: CHECK records a failure and goes on;
 * QC_TEST_MAIN's summary prints "N passed, M failed" and sets the exit code. */
#ifndef QC_TESTS_QC_TEST_H
#define QC_TESTS_QC_TEST_H

#include <stdio.h>
#include <stdlib.h>

#include "qcomp/qcrt.h"

static int qc_test_passed, qc_test_failed;

#define CHECK(cond)                                                                  \
    do {                                                                             \
        if (cond) qc_test_passed++;                                                  \
        else {                                                                       \
            qc_test_failed++;                                                        \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                            \
    } while (0)

#define CHECK_MSG(cond, ...)                                                         \
    do {                                                                             \
        if (cond) qc_test_passed++;                                                  \
        else {                                                                       \
            qc_test_failed++;                                                        \
            fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                            \
            fputc('\n', stderr);                                                     \
        }                                                                            \
    } while (0)

/* Checks a status is OK; prints and frees it otherwise. */
#define CHECK_OK(expr)                                                                \
    do {                                                                              \
        qc_status st_ = (expr);                                                       \
        if (!st_) qc_test_passed++;                                                   \
        else {                                                                        \
            qc_test_failed++;                                                         \
            fprintf(stderr, "%s:%d: %s failed: %s\n", __FILE__, __LINE__, #expr,      \
                    qc_status_message(st_));                                          \
            qc_status_free(st_);                                                      \
        }                                                                             \
    } while (0)

static inline int qc_test_summary(const char *name) {
    printf("%s: %d passed, %d failed\n", name, qc_test_passed, qc_test_failed);
    return qc_test_failed ? 1 : 0;
}

#endif
