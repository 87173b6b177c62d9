/* qc_test.h — a minimal test harness: CHECK records a failure and goes on;
 * QC_TEST_MAIN's summary prints "N passed, M failed" and sets the exit code. */
#ifndef QC_TESTS_QC_TEST_H
#define QC_TESTS_QC_TEST_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

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

/* Like CHECK_MSG, but only the first QC_MAX_REPORTS failures print: an
 * exhaustive test of a broken function would otherwise print millions of
 * lines. Every comparison still counts. */
#ifndef QC_MAX_REPORTS
#define QC_MAX_REPORTS 40
#endif
#define EXPECT(cond, ...)                                                      \
    do {                                                                       \
        if (cond) qc_test_passed++;                                            \
        else if (qc_test_failed++ < QC_MAX_REPORTS) {                          \
            fprintf(stderr, "%s:%d: FAILED: ", __FILE__, __LINE__);            \
            fprintf(stderr, __VA_ARGS__);                                      \
            fputc('\n', stderr);                                               \
        }                                                                      \
    } while (0)

/* splitmix64: small, fast, good enough for test data. */
typedef struct qc_rng {
    uint64_t s;
} qc_rng;

static inline uint64_t qc_rng_next(qc_rng *r) {
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Tests use a fresh seed per run (random data, never the same blind spot
 * twice) and print it; QC_SEED=<n> replays a run. */
static inline uint64_t qc_test_seed(const char *test_name) {
    const char *env = getenv("QC_SEED");
    uint64_t seed;
    if (env && *env) seed = strtoull(env, NULL, 0);
    else {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        seed = (uint64_t)ts.tv_sec * 1000000007ull ^ (uint64_t)ts.tv_nsec;
    }
    printf("%s: seed %llu (QC_SEED=%llu replays this run)\n", test_name,
           (unsigned long long)seed, (unsigned long long)seed);
    return seed;
}

static inline int qc_test_summary(const char *name) {
    printf("%s: %d passed, %d failed\n", name, qc_test_passed, qc_test_failed);
    return qc_test_failed ? 1 : 0;
}

#endif
