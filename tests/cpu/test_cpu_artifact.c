/* test_cpu_artifact.c — bad input for the cpu device: damage to a cpu
 * artifact's sections (ktable.h) gives an error naming the cpu section, never
 * a crash. Every byte of the kernel table flipped (two patterns) with the
 * container's CRCs fixed so the damage reaches hal_ktable.c's validation;
 * raw flips and truncations of the cpu sections (the container's checks);
 * specific damage with the expected messages; a required feature the host
 * lacks; a shared object that is not ELF; a kernel symbol that is missing;
 * and the intact artifact runs and matches ref. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/cpu/hal_ktable.h"
#include "backends/ref/ref.h"
#include "ir/ir.h"
#include "qc_test.h"
#include "qcomp/qcomp.h"
#include "runtime/artifact_format.h"
#include "runtime/crc32.h"

static const char *const MODEL =
    "qcir 1\n"
    "graph small batch N {\n"
    "  input x: f32[N,5]\n"
    "  const w: f32[3,5] = [0.5, -1, 2, 0.25, 1, 1, 1, 1, 0, 0, 0, 3, -2, 0.5, 0.125]\n"
    "  const b: f32[3] = [0.1, 0.2, 0.3]\n"
    "  h: f32[N,3] = Gemm(x, w, b) {transB=1}\n"
    "  r: f32[N,3] = Relu(h)\n"
    "  s: f32[N,3] = Softmax(r) {axis=1}\n"
    "  y: f32[N,3] = Add(s, b)\n"
    "  output y\n"
    "}\n";

typedef struct sec {
    size_t entry, off, len;
} sec;

static bool find_sec(const uint8_t *img, uint32_t kind, sec *s) {
    uint32_t n = qc_le32(img + QC_QCM_H_SECTION_COUNT);
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *e = img + QC_QCM_HEADER_SIZE + i * QC_QCM_ENTRY_SIZE;
        if (qc_le32(e) == kind && qc_le32(e + 4) == 2) {
            *s = (sec){(size_t)(e - img), (size_t)qc_le64(e + 8), (size_t)qc_le64(e + 16)};
            return true;
        }
    }
    return false;
}

static void fix_crcs(uint8_t *img, size_t len) {
    uint32_t n = qc_le32(img + QC_QCM_H_SECTION_COUNT);
    for (uint32_t i = 0; i < n; i++) {
        uint8_t *e = img + QC_QCM_HEADER_SIZE + i * QC_QCM_ENTRY_SIZE;
        uint64_t off = qc_le64(e + 8), slen = qc_le64(e + 16);
        if (off <= len && slen <= len - off) qc_put32(e + 24, qc_crc32(0, img + off, slen));
    }
    qc_put32(img + QC_QCM_H_TABLE_CRC,
             qc_crc32(0, img + QC_QCM_HEADER_SIZE, (size_t)n * QC_QCM_ENTRY_SIZE));
    qc_put32(img + QC_QCM_H_HEADER_CRC, qc_crc32(0, img, QC_QCM_H_HEADER_CRC));
}

/* Loads img on a cpu runtime; returns the status (the model is released). */
static qc_status load(qc_runtime *rt, const uint8_t *img, size_t len) {
    qc_model *m = NULL;
    qc_status st = qc_model_load_memory(rt, img, len, QC_LOAD_COPY, &m);
    qc_model_release(m);
    return st;
}

static void expect_error(qc_runtime *rt, uint8_t *img, size_t len, const char *want) {
    fix_crcs(img, len);
    qc_status st = load(rt, img, len);
    EXPECT(st && strstr(qc_status_message(st), want), "want an error with '%s', got '%s'", want,
           st ? qc_status_message(st) : "success");
    qc_status_free(st);
}

int main(void) {
    qc_graph *g = NULL;
    CHECK_OK(qc_graph_parse(MODEL, strlen(MODEL), "small.qcir", &g));
    if (!g) return qc_test_summary("test_cpu_artifact");
    CHECK_OK(qc_compile_optimize(g));
    qc_compile_options co;
    qc_compile_options_init(&co);
    co.targets = "ref,cpu";
    void *imgv = NULL;
    size_t len = 0;
    CHECK_OK(qc_compile_to_memory_opts(g, &co, &imgv, &len));
    uint8_t *img = imgv, *buf = malloc(len ? len : 1);
    qc_runtime_options ro;
    qc_runtime_options_init(&ro);
    ro.backend = "cpu";
    ro.threads = 1;
    qc_runtime *rt = NULL;
    CHECK_OK(qc_runtime_create(&ro, &rt));
    sec kt = {0}, pk = {0}, so = {0};
    CHECK(img && find_sec(img, QC_CPU_SEC_KTABLE, &kt) && find_sec(img, QC_CPU_SEC_PACKED, &pk) &&
          find_sec(img, QC_CPU_SEC_SO, &so));
    if (!img || !rt || !kt.len || !buf) goto done;

    /* The intact artifact: loads, runs, matches ref (fallback node included). */
    {
        qc_model *m = NULL;
        qc_session *s = NULL;
        qc_tensor_desc d = {QC_F32, 2, {7, 5}};
        qc_tensor x = {0}, got = {0}, want = {0};
        CHECK_OK(qc_tensor_alloc(&d, &x));
        for (int i = 0; x.data && i < 35; i++) ((float *)x.data)[i] = (float)(i % 7) * 0.3f - 1.0f;
        CHECK_OK(qc_model_load_memory(rt, img, len, QC_LOAD_COPY, &m));
        if (m) CHECK_OK(qc_session_create(m, NULL, &s));
        if (s) CHECK_OK(qc_session_run(s, &x, 1, &got, 1));
        CHECK_OK(qc_ref_run(g, &x, 1, &want, 1));
        for (int i = 0; got.data && want.data && i < 21; i++) {
            float a = ((float *)got.data)[i], b = ((float *)want.data)[i];
            EXPECT(a - b < 1e-5f && b - a < 1e-5f, "y[%d]: cpu %g, ref %g", i, a, b);
        }
        qc_session_destroy(s);
        qc_model_release(m);
        qc_tensor_release(&x);
        qc_tensor_release(&got);
        qc_tensor_release(&want);
    }

    /* Every byte of the kernel table, two patterns, CRCs fixed: an error
     * naming the cpu section, or a model that loads (a flip in a string or
     * in a count the validation cannot know the meaning of). */
    int errors = 0, loaded = 0;
    for (size_t i = 0; i < kt.len; i++) {
        static const uint8_t pat[2] = {0x01, 0xff};
        for (int p = 0; p < 2; p++) {
            memcpy(buf, img, len);
            buf[kt.off + i] ^= pat[p];
            fix_crcs(buf, len);
            qc_status st = load(rt, buf, len);
            if (st) {
                errors++;
                EXPECT(strstr(qc_status_message(st), "cpu"), "byte %zu: error does not name cpu: %s",
                       i, qc_status_message(st));
            } else {
                loaded++;
            }
            qc_status_free(st);
        }
    }
    printf("kernel table flips: %d errors, %d loaded, over %zu bytes\n", errors, loaded, kt.len);
    CHECK(errors > (int)kt.len);

    /* Raw flips (no CRC fix) and truncations inside the cpu sections. */
    size_t from = kt.off < pk.off ? kt.off : pk.off;
    if (so.off < from) from = so.off;
    for (size_t i = from; i < len; i += 37) {
        memcpy(buf, img, len);
        buf[i] ^= 0x10;
        qc_status st = load(rt, buf, len);
        EXPECT(st != NULL, "raw flip at %zu was accepted", i);
        qc_status_free(st);
        st = load(rt, img, i);
        EXPECT(st != NULL, "truncation to %zu bytes was accepted", i);
        qc_status_free(st);
    }

    /* Specific damage. */
    uint8_t *e0 = buf + kt.off + QC_CPU_KT_HEADER;   /* node 0: the fused Gemm */
#define FRESH() memcpy(buf, img, len)
    FRESH();
    buf[kt.off] ^= 1;
    expect_error(rt, buf, len, "cpu KTABLE section, byte 0: bad magic");
    FRESH();
    qc_put32(buf + kt.off + QC_CPU_KT_H_VERSION, 9);
    expect_error(rt, buf, len, "version 9");
    FRESH();
    qc_put32(buf + kt.off + QC_CPU_KT_H_NODES, 99);
    expect_error(rt, buf, len, "entry count differs");
    FRESH();
    qc_put32(buf + kt.off + QC_CPU_KT_H_FEATURES, 1u << 20);
    expect_error(rt, buf, len, "unknown feature bits");
    FRESH();
    qc_put32(e0 + QC_CPU_KT_E_KIND, 7);
    expect_error(rt, buf, len, "entry kind");
    FRESH();
    qc_put64(e0 + QC_CPU_KT_E_PACK_OFF, 8);
    expect_error(rt, buf, len, "not 64-aligned");
    FRESH();
    qc_put64(e0 + QC_CPU_KT_E_PACK_LEN, (uint64_t)pk.len + 64);
    expect_error(rt, buf, len, "past the PACKED section");
    FRESH();
    qc_put64(e0 + QC_CPU_KT_E_GRAIN, 0);
    expect_error(rt, buf, len, "grain out of range");
    FRESH();
    qc_put32(e0 + QC_CPU_KT_E_SYMBOL, 0xffffff);
    expect_error(rt, buf, len, "string offset past");
    FRESH();
    {   /* a valid but undefined symbol name */
        uint32_t so_off = qc_le32(e0 + QC_CPU_KT_E_SYMBOL);
        uint8_t *pool = buf + kt.off + QC_CPU_KT_HEADER +
                        (size_t)qc_le32(buf + kt.off + QC_CPU_KT_H_NODES) * QC_CPU_KT_ENTRY;
        pool[so_off] = 'Z';
        expect_error(rt, buf, len, "is not in the SO section");
        pool[so_off] = '-';
        expect_error(rt, buf, len, "outside [A-Za-z0-9_]");
    }
    FRESH();
    buf[so.off + 1] = 'X';
    expect_error(rt, buf, len, "not an ELF file");
    FRESH();
    qc_put32(buf + so.entry, 19);   /* the SO becomes some other cpu section */
    expect_error(rt, buf, len, "no SO section");

    /* A feature the host lacks: the error names it. */
    uint32_t host = qc_cpu_host_features(), lacking = 0;
    for (uint32_t b = 0; b < QC_CPU_FEAT_COUNT && !lacking; b++)
        if (!(host >> b & 1)) lacking = 1u << b;
    if (lacking) {
        FRESH();
        uint32_t f = qc_le32(buf + kt.off + QC_CPU_KT_H_FEATURES);
        qc_put32(buf + kt.off + QC_CPU_KT_H_FEATURES, f | lacking);
        char want[96];
        snprintf(want, sizeof want, "this CPU lacks %s", qc_cpu_feature_name(lacking));
        expect_error(rt, buf, len, want);
    } else {
        printf("skipped: this host has every feature bit, no missing-feature case\n");
    }
done:
    qc_runtime_destroy(rt);
    free(buf);
    free(img);
    qc_graph_destroy(g);
    return qc_test_summary("test_cpu_artifact");
}
