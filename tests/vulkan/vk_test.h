/* vk_test.h — helpers shared by the vulkan tests: a seeded generator, text
 * IR building, running a graph through the JIT on a named device, and the
 * vulkan section of a compiled image. Exit 77 = "skipped" (ctest
 * SKIP_RETURN_CODE) when no Vulkan device opens. */
#ifndef QC_TESTS_VK_TEST_H
#define QC_TESTS_VK_TEST_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "qcomp/qcomp.h"
#include "qcomp/qcrt.h"
#include "backends/vulkan/vk_format.h"
#include "runtime/artifact_format.h"

/* A failed check: printed with its place, counted in the including test's
 * `static int failures` (declared before the first use). */
#define CHECK(cond, ...)                                                                   \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            printf("FAIL %s:%d: ", __FILE__, __LINE__);                                    \
            printf(__VA_ARGS__);                                                           \
            printf("\n");                                                                  \
            failures++;                                                                    \
        }                                                                                  \
    } while (0)

typedef struct rng {
    uint64_t s;
} rng;

static inline uint32_t rng_u32(rng *r) {
    r->s = r->s * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(r->s >> 33);
}
static inline int rng_int(rng *r, int lo, int hi) { return lo + (int)(rng_u32(r) % (uint32_t)(hi - lo + 1)); }
static inline float rng_float(rng *r, float lo, float hi) {
    return lo + (hi - lo) * (float)(rng_u32(r) & 0xffffff) / (float)0x1000000;
}

typedef struct text {
    char *s;
    size_t len, cap;
} text;

static inline void tadd(text *t, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char buf[256];
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof buf) abort();
    if (t->len + (size_t)n + 1 > t->cap) {
        t->cap = (t->len + (size_t)n + 1) * 2;
        t->s = realloc(t->s, t->cap);
        if (!t->s) abort();
    }
    memcpy(t->s + t->len, buf, (size_t)n + 1);
    t->len += (size_t)n;
}

/* Opens `device`; false (and a message) when it does not open. */
static inline bool vt_device_opens(const char *device) {
    qc_runtime_options ro;
    qc_runtime_options_init(&ro);
    ro.backend = device;
    ro.threads = 1;
    qc_runtime *rt = NULL;
    qc_status st = qc_runtime_create(&ro, &rt);
    if (st) printf("skipped: no Vulkan device (%s)\n", qc_status_message(st));
    qc_status_free(st);
    qc_runtime_destroy(rt);
    return rt != NULL;
}

/* Parses `src`, optimizes it, runs it on `device` through the JIT. */
/* The run's seed: QC_TEST_SEED when set, else a fresh one; printed so that
 * a failing run can be reproduced. */
static inline uint64_t vt_seed(void) {
    const char *env = getenv("QC_TEST_SEED");
    uint64_t seed = env ? strtoull(env, NULL, 0) : (uint64_t)time(NULL) ^ ((uint64_t)clock() << 20);
    printf("seed %llu (QC_TEST_SEED=%llu reproduces)\n", (unsigned long long)seed,
           (unsigned long long)seed);
    return seed;
}

/* A runtime on `device` (one thread) and src compiled (optimized) into a
 * JIT model on it; on error *rt / *m are whatever was made (NULL or to be
 * released). */
static inline qc_status vt_open(const char *src, const char *device, qc_runtime **rt, qc_model **m) {
    qc_graph *g = NULL;
    qc_runtime_options ro;
    qc_runtime_options_init(&ro);
    ro.backend = device;
    ro.threads = 1;
    *rt = NULL;
    *m = NULL;
    qc_status st = qc_graph_parse(src, strlen(src), "<test>", &g);
    if (!st) st = qc_compile_optimize(g);
    if (!st) st = qc_runtime_create(&ro, rt);
    if (!st) st = qc_compile_jit(*rt, g, m);
    qc_graph_destroy(g);
    return st;
}

static inline qc_status vt_run(const char *src, const char *device, const qc_tensor *in, int32_t n_in,
                        qc_tensor *out, int32_t n_out) {
    qc_runtime *rt = NULL;
    qc_model *m = NULL;
    qc_session *s = NULL;
    qc_status st = vt_open(src, device, &rt, &m);
    if (!st) st = qc_session_create(m, NULL, &s);
    for (int32_t i = 0; i < n_out; i++) out[i].data = NULL;
    if (!st) st = qc_session_run(s, in, n_in, out, n_out);
    qc_session_destroy(s);
    qc_model_release(m);
    qc_runtime_destroy(rt);
    return st;
}

/* Compiles `src` (optimized) for `targets` into an image (malloc'd). */
static inline qc_status vt_compile(const char *src, const char *targets, uint8_t **img, size_t *len) {
    qc_graph *g = NULL;
    qc_status st = qc_graph_parse(src, strlen(src), "<test>", &g);
    if (!st) st = qc_compile_optimize(g);
    qc_compile_options o;
    qc_compile_options_init(&o);
    o.targets = targets;
    void *buf = NULL;
    if (!st) st = qc_compile_to_memory_opts(g, &o, &buf, len);
    qc_graph_destroy(g);
    *img = buf;
    return st;
}

/* The vulkan section (kind 16, target 3) of an image: entry index or -1. */
static inline int vt_find_section(const uint8_t *img, size_t len, size_t *off, size_t *slen) {
    if (len < QC_QCM_HEADER_SIZE) return -1;
    uint32_t count = qc_le32(img + QC_QCM_H_SECTION_COUNT), toff = qc_le32(img + QC_QCM_H_TABLE_OFFSET);
    for (uint32_t i = 0; i < count; i++) {
        const uint8_t *e = img + toff + 32 * i;
        if (qc_le32(e) == QC_SEC_TARGET && qc_le32(e + 4) == 3) {
            *off = (size_t)qc_le64(e + 8);
            *slen = (size_t)qc_le64(e + 16);
            return (int)i;
        }
    }
    return -1;
}

/* Number of nodes that run a shader in the vulkan section of src. */
static inline int vt_shader_nodes(const char *src) {
    uint8_t *img = NULL;
    size_t len = 0, off = 0, slen = 0;
    qc_status st = vt_compile(src, "vulkan", &img, &len);
    int count = -1;
    if (!st && vt_find_section(img, len, &off, &slen) >= 0) {
        const uint8_t *s = img + off;
        uint32_t nn = qc_le32(s + QC_VK_H_N_NODES), ko = qc_le32(s + QC_VK_H_KERNELS_OFF);
        count = 0;
        for (uint32_t i = 0; i < nn; i++) count += qc_le32(s + ko + i * QC_VK_KERNEL_SIZE) == QC_VK_MODE_SHADER;
    }
    if (st) printf("compile failed: %s\n", qc_status_message(st));
    qc_status_free(st);
    free(img);
    return count;
}

static inline uint32_t vt_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

/* Runs src (one node) on vulkan and on ref with the same inputs into got /
 * want (released by the caller), checking that the node ran as a shader;
 * true when both ran. Failed checks add to *fails. */
static inline bool vt_run_both(const char *what, const char *src, const qc_tensor *in, int n_in,
                               qc_tensor *got, qc_tensor *want, int *fails) {
    int failures = 0;   /* what CHECK counts */
    int sh = vt_shader_nodes(src);
    CHECK(sh == 1, "%s: %d nodes run a shader, want 1\n%s", what, sh, src);
    qc_status sv = vt_run(src, "vulkan", in, n_in, got, 1);
    qc_status sr = vt_run(src, "ref", in, n_in, want, 1);
    CHECK(!sv && !sr, "%s: vulkan: %s / ref: %s", what, qc_status_message(sv), qc_status_message(sr));
    bool ok = !sv && !sr;
    qc_status_free(sv);
    qc_status_free(sr);
    *fails += failures;
    return ok;
}

#endif
