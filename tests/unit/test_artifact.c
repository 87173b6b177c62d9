/* test_artifact.c — the .qcm artifact: writer -> loader round trips over
 * every op case and test model (structure field by field, and outputs
 * bit-identical to the graph interpreter), corruption (every byte flipped,
 * every truncation), CRC-consistent semantic corruption (the validation
 * behind the CRCs), and the atomic file writer. */
#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backends/ref/ref.h"
#include "frontend/onnx/onnx.h"
#include "compiler/artifact_write.h"
#include "ir/dtype.h"
#include "passes/memplan.h"
#include "qc_test.h"
#include "runtime/artifact_format.h"
#include "runtime/crc32.h"
#include "runtime/model.h"
#include "tools/npy.h"

/* ---- comparing a loaded model with the graph it was written from ---------- */

static bool same_str(const char *a, const char *b) {
    return (!a && !b) || (a && b && !strcmp(a, b));
}

static bool same_attr(const qc_attr *a, const qc_attr *b) {
    if (!same_str(a->name, b->name) || a->kind != b->kind) return false;
    switch (a->kind) {
    case QC_ATTR_INT: return a->i == b->i;
    case QC_ATTR_FLOAT: return !memcmp(&a->f, &b->f, sizeof a->f);
    case QC_ATTR_STRING: return same_str(a->s, b->s);
    case QC_ATTR_INTS:
        return a->n == b->n && (!a->n || !memcmp(a->ints, b->ints, (size_t)a->n * 8));
    case QC_ATTR_FLOATS:
        return a->n == b->n && (!a->n || !memcmp(a->floats, b->floats, (size_t)a->n * 4));
    }
    return false;
}

static bool same_node(const qc_node *a, const qc_node *b) {
    if (a->op != b->op || !same_str(a->name, b->name) || a->n_in != b->n_in ||
        a->n_out != b->n_out || a->n_attr != b->n_attr)
        return false;
    if ((a->n_in && memcmp(a->in, b->in, (size_t)a->n_in * sizeof *a->in)) ||
        memcmp(a->out, b->out, (size_t)a->n_out * sizeof *a->out))
        return false;
    for (int32_t k = 0; k < a->n_attr; k++)
        if (!same_attr(&a->attr[k], &b->attr[k])) return false;
    return true;
}

static bool same_value(const qc_value *g, const qc_rt_value *m) {
    if (!same_str(g->name, m->name) || !qc_type_equal(&g->type, &m->desc)) return false;
    const qc_quant *q = &g->quant;
    if ((int32_t)q->kind != m->quant.kind) return false;
    if (q->kind && (q->axis != m->quant.axis || q->block != m->quant.block ||
                    q->count != m->quant.count ||
                    memcmp(q->scale, m->quant.scale, (size_t)q->count * 4) ||
                    memcmp(q->zero, m->quant.zero, (size_t)q->count * 4)))
        return false;
    if (!g->data != !m->data) return false;
    if (g->data && (g->nbytes != m->nbytes || memcmp(g->data, m->data, g->nbytes))) return false;
    /* Constants are 64-byte aligned inside CONSTANTS, and so in memory. */
    if (m->data && ((uintptr_t)m->data % 64)) return false;
    return true;
}

static void compare_model(const char *what, const qc_graph *g, const qc_plan *plan,
                          const qc_model_data *m) {
    EXPECT(same_str(g->name, m->name) && same_str(g->batch, m->batch), "%s: graph name/batch",
           what);
    EXPECT(m->n_values == g->n_values && m->n_nodes == g->n_nodes &&
               m->n_inputs == g->n_inputs && m->n_outputs == g->n_outputs,
           "%s: counts differ", what);
    if (m->n_values != g->n_values || m->n_nodes != g->n_nodes || m->n_inputs != g->n_inputs ||
        m->n_outputs != g->n_outputs)
        return;
    for (int32_t i = 0; i < g->n_values; i++)
        EXPECT(same_value(&g->values[i], &m->values[i]), "%s: value %d ('%s') differs", what,
               (int)i, g->values[i].name);
    for (int32_t i = 0; i < g->n_nodes; i++)
        EXPECT(same_node(&g->nodes[i], &m->nodes[i]), "%s: node %d ('%s') differs", what,
               (int)i, g->nodes[i].name);
    EXPECT((!g->n_inputs || !memcmp(g->inputs, m->inputs, (size_t)g->n_inputs * 4)) &&
               !memcmp(g->outputs, m->outputs, (size_t)g->n_outputs * 4),
           "%s: graph inputs/outputs differ", what);
    EXPECT(m->targets == (1u << QC_TARGET_REF), "%s: targets %#x", what, m->targets);
    if (plan) {
        EXPECT(m->arena_a == plan->size_a && m->arena_b == plan->size_b, "%s: arena size", what);
        for (int32_t i = 0; i < g->n_values; i++)
            EXPECT(m->values[i].off_a == plan->off_a[i] && m->values[i].off_b == plan->off_b[i],
                   "%s: plan offset of value %d", what, (int)i);
    }
}

/* ---- running: the rebuilt graph against the original, bit for bit --------- */

static bool same_tensor(const qc_tensor *a, const qc_tensor *b) {
    if (!qc_type_equal(&a->desc, &b->desc)) return false;
    size_t n = qc_dtype_bytes(a->desc.dtype, qc_type_numel(&a->desc));
    return !n || !memcmp(a->data, b->data, n);
}

/* The artifact through the public runtime API (qc_session_run on the ref
 * device); on success out[] holds the outputs. */
static qc_status run_session(qc_runtime *rt, const uint8_t *img, size_t len, const qc_tensor *in,
                             int32_t ni, qc_tensor *out, int32_t no) {
    qc_model *m = NULL;
    qc_session *s = NULL;
    qc_status st = qc_model_load_memory(rt, img, len, QC_LOAD_COPY, &m);
    if (!st) st = qc_session_create(m, NULL, &s);
    if (!st) st = qc_session_run(s, in, ni, out, no);
    qc_session_destroy(s);
    qc_model_release(m);
    return st;
}

static int n_session_runs;

/* Runs the original graph, the rebuilt graph and (when `img` is given) the
 * artifact through a session on dir/input_<k>.npy; all must agree bit for
 * bit. Skips when the inputs are missing. */
static void compare_runs(const char *what, const char *dir, const qc_graph *g,
                         const qc_graph *g2, qc_runtime *rt, const uint8_t *img, size_t len) {
    int32_t ni = g->n_inputs, no = g->n_outputs;
    qc_tensor *in = calloc((size_t)ni + 1, sizeof *in);
    qc_tensor *o1 = calloc((size_t)no + 1, sizeof *o1), *o2 = calloc((size_t)no + 1, sizeof *o2);
    qc_tensor *o3 = calloc((size_t)no + 1, sizeof *o3);
    bool have = in && o1 && o2 && o3;
    for (int32_t i = 0; i < ni && have; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/input_%d.npy", dir, (int)i);
        qc_status st = qc_npy_read(path, &in[i]);
        have = !st;
        qc_status_free(st);
    }
    if (have) {
        qc_status s1 = qc_ref_run(g, in, ni, o1, no), s2 = qc_ref_run(g2, in, ni, o2, no);
        EXPECT(!s1 == !s2, "%s: one run failed: %s%s", what, qc_status_message(s1),
               qc_status_message(s2));
        if (!s1 && !s2)
            for (int32_t i = 0; i < no; i++)
                EXPECT(same_tensor(&o1[i], &o2[i]), "%s: output %d differs", what, (int)i);
        if (!s1 && rt && img) {
            qc_status s3 = run_session(rt, img, len, in, ni, o3, no);
            EXPECT(!s3, "%s: session run failed: %s", what, qc_status_message(s3));
            for (int32_t i = 0; !s3 && i < no; i++)
                EXPECT(same_tensor(&o1[i], &o3[i]), "%s: session output %d differs from "
                       "qc_ref_run", what, (int)i);
            n_session_runs += !s3;
            qc_status_free(s3);
        }
        qc_status_free(s1);
        qc_status_free(s2);
    }
    for (int32_t i = 0; o1 && o2 && o3 && i < no; i++) {
        qc_tensor_release(&o1[i]);
        qc_tensor_release(&o2[i]);
        qc_tensor_release(&o3[i]);
    }
    for (int32_t i = 0; in && i < ni; i++) qc_tensor_release(&in[i]);
    free(in);
    free(o1);
    free(o2);
    free(o3);
}

static char *print_graph(const qc_graph *g) {
    char *s = NULL;
    qc_status st = qc_graph_print_string(g, &s);
    qc_status_free(st);
    return st ? NULL : s;
}

static int n_round_trips;

/* Writes, parses (without copying), compares, rebuilds and runs one model. */
static void round_trip(qc_runtime *rt, const char *what, const char *dir, const qc_graph *g) {
    qc_plan plan;
    qc_status st = qc_memplan(g, &plan);
    bool planned = !st;
    qc_status_free(st);   /* unplannable (e.g. two batch dims): no PLAN section */
    uint8_t *img = NULL;
    size_t len = 0;
    st = qc_artifact_write_mem(g, planned ? &plan : NULL, &img, &len);
    EXPECT(!st, "%s: write: %s", what, qc_status_message(st));
    qc_status_free(st);
    qc_model_data *m = NULL;
    /* copy = false: the model points into this (64-aligned) buffer. */
    uint8_t *aligned = img ? aligned_alloc(64, (len + 63) / 64 * 64) : NULL;
    if (aligned) {
        memcpy(aligned, img, len);
        st = qc_model_data_parse(aligned, len, false, what, &m);
        EXPECT(!st, "%s: parse: %s", what, qc_status_message(st));
        qc_status_free(st);
    }
    if (m) {
        n_round_trips++;
        /* copy = false: constants and sections point into our buffer. */
        bool inside = true;
        for (int32_t i = 0; i < m->n_values; i++)
            if (m->values[i].data)
                inside &= (const uint8_t *)m->values[i].data >= aligned &&
                          (const uint8_t *)m->values[i].data <= aligned + len;
        for (int32_t i = 0; i < m->n_sections; i++)
            inside &= m->sections[i].data >= aligned && m->sections[i].data <= aligned + len;
        EXPECT(inside, "%s: copy=false model does not point into the buffer", what);
        compare_model(what, g, planned ? &plan : NULL, m);
        qc_graph *g2 = NULL;
        st = qc_artifact_to_graph(m, &g2);
        EXPECT(!st, "%s: rebuild: %s", what, qc_status_message(st));
        qc_status_free(st);
        if (g2) {
            char *t1 = print_graph(g), *t2 = print_graph(g2);
            EXPECT(t1 && t2 && !strcmp(t1, t2), "%s: rebuilt graph prints differently", what);
            free(t1);
            free(t2);
            if (dir) compare_runs(what, dir, g, g2, rt, planned ? img : NULL, len);
            qc_graph_destroy(g2);
        }
    }
    qc_model_data_free(m);
    free(aligned);
    free(img);
    if (planned) qc_plan_free(&plan);
}

static void round_trip_dir(qc_runtime *rt, const char *root, const char *file, bool onnx) {
    DIR *d = opendir(root);
    CHECK_MSG(d != NULL, "cannot open %s", root);
    if (!d) return;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.') continue;
        char dir[1024], path[1100];
        snprintf(dir, sizeof dir, "%s/%s", root, e->d_name);
        snprintf(path, sizeof path, "%s/%s", dir, file);
        if (access(path, R_OK) != 0) continue;
        qc_graph *g = NULL;
        qc_status st = onnx ? qc_onnx_import_file(path, NULL, &g) : qc_graph_parse_file(path, &g);
        if (!st && !onnx) st = qc_graph_verify(g);
        if (!st) round_trip(rt, path, dir, g);
        qc_status_free(st);   /* cases that do not load are test_ops' business */
        qc_graph_destroy(g);
    }
    closedir(d);
}

static void test_round_trips(void) {
    qc_runtime_options ro;
    qc_runtime_options_init(&ro);
    ro.backend = "ref";
    ro.threads = 1;
    qc_runtime *rt = NULL;
    CHECK_OK(qc_runtime_create(&ro, &rt));
    round_trip_dir(rt, "tests/ops/cases", "model.qcir", false);
    round_trip_dir(rt, "tests/models", "model.onnx", true);
    const char *ir[] = {"tests/ir/basic.qcir", "tests/ir/attrs.qcir", "tests/ir/consts.qcir",
                        "tests/ir/names.qcir", "tests/ir/quant.qcir"};
    for (size_t i = 0; i < sizeof ir / sizeof ir[0]; i++) {
        qc_graph *g = NULL;
        qc_status st = qc_graph_parse_file(ir[i], &g);
        CHECK_MSG(!st, "%s: %s", ir[i], qc_status_message(st));
        if (!st) round_trip(rt, ir[i], NULL, g);
        qc_status_free(st);
        qc_graph_destroy(g);
    }
    printf("round trips: %d models, %d also run through a session\n", n_round_trips,
           n_session_runs);
    CHECK(n_round_trips > 600);
    CHECK(n_session_runs > 500);
    qc_runtime_destroy(rt);
}

/* ---- corruption ------------------------------------------------------------- */

static qc_graph *load_small(void) {
    qc_graph *g = NULL;
    qc_status st = qc_graph_parse_file("tests/ir/quant.qcir", &g);
    CHECK_OK(st);
    return g;
}

/* A parse that succeeds on damaged bytes must give the original model. */
static bool same_as_original(const qc_model_data *m, const char *orig_text) {
    qc_graph *g = NULL;
    qc_status st = qc_artifact_to_graph(m, &g);
    qc_status_free(st);
    char *t = g ? print_graph(g) : NULL;
    bool same = t && !strcmp(t, orig_text);
    free(t);
    qc_graph_destroy(g);
    return same;
}

static void test_flips_and_truncation(void) {
    qc_graph *g = load_small();
    if (!g) return;
    qc_plan plan;
    CHECK_OK(qc_memplan(g, &plan));
    uint8_t *img = NULL;
    size_t len = 0;
    CHECK_OK(qc_artifact_write_mem(g, &plan, &img, &len));
    char *orig = print_graph(g);
    uint8_t *buf = malloc(len);
    int errors = 0, same = 0;
    static const uint8_t patterns[] = {0x01, 0x80, 0xff, 0x10, 0x04};
    for (size_t i = 0; img && buf && orig && i < len; i++) {
        for (size_t p = 0; p < sizeof patterns; p++) {
            memcpy(buf, img, len);
            buf[i] ^= patterns[p];
            qc_model_data *m = NULL;
            qc_status st = qc_model_data_parse(buf, len, true, "flip.qcm", &m);
            if (st) errors++;
            else {
                bool ok = same_as_original(m, orig);
                EXPECT(ok, "flipping byte %zu with %#x gave a different model", i, patterns[p]);
                same += ok;
            }
            qc_status_free(st);
            qc_model_data_free(m);
        }
    }
    printf("bit flips: %d errors, %d identical models over %zu bytes\n", errors, same, len);
    for (size_t cut = 0; img && cut < len; cut++) {
        qc_model_data *m = NULL;
        qc_status st = qc_model_data_parse(img, cut, true, "cut.qcm", &m);
        EXPECT(st != NULL, "truncation to %zu bytes parsed", cut);
        qc_status_free(st);
        qc_model_data_free(m);
    }
    free(buf);
    free(orig);
    free(img);
    qc_plan_free(&plan);
    qc_graph_destroy(g);
}

/* Recomputes every CRC, so damage reaches the semantic validation. */
static void fix_crcs(uint8_t *img, size_t len) {
    uint32_t n = qc_le32(img + QC_QCM_H_SECTION_COUNT);
    if (n > QC_QCM_MAX_SECTIONS || QC_QCM_HEADER_SIZE + (size_t)n * QC_QCM_ENTRY_SIZE > len)
        n = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint8_t *e = img + QC_QCM_HEADER_SIZE + i * QC_QCM_ENTRY_SIZE;
        uint64_t off = qc_le64(e + 8), slen = qc_le64(e + 16);
        if (off <= len && slen <= len - off) qc_put32(e + 24, qc_crc32(0, img + off, slen));
    }
    qc_put32(img + QC_QCM_H_TABLE_CRC,
             qc_crc32(0, img + QC_QCM_HEADER_SIZE, (size_t)n * QC_QCM_ENTRY_SIZE));
    qc_put32(img + QC_QCM_H_HEADER_CRC, qc_crc32(0, img, QC_QCM_H_HEADER_CRC));
}

static size_t graph_offset(const uint8_t *img) {
    return (size_t)qc_le64(img + QC_QCM_HEADER_SIZE + 8);   /* GRAPH is the first section */
}

/* Each damaged image must either fail or load a model that verifies. */
static void test_semantic_corruption(void) {
    const char *files[] = {"tests/ir/quant.qcir", "tests/ir/attrs.qcir"};
    uint64_t seed = qc_test_seed("test_artifact");
    qc_rng rng = {seed};
    for (size_t f = 0; f < 2; f++) {
        qc_graph *g = NULL;
        CHECK_OK(qc_graph_parse_file(files[f], &g));
        if (!g) continue;
        qc_plan plan;
        CHECK_OK(qc_memplan(g, &plan));
        uint8_t *img = NULL;
        size_t len = 0;
        CHECK_OK(qc_artifact_write_mem(g, &plan, &img, &len));
        uint8_t *buf = malloc(len);
        int loaded = 0;
        for (int iter = 0; img && buf && iter < 20000; iter++) {
            memcpy(buf, img, len);
            int edits = 1 + (int)(qc_rng_next(&rng) % 4);
            for (int k = 0; k < edits; k++) {
                size_t at = (size_t)(qc_rng_next(&rng) % len);
                uint64_t r = qc_rng_next(&rng);
                if (r % 3 == 0) buf[at] ^= (uint8_t)(1u << (r >> 8) % 8);
                else if (r % 3 == 1) buf[at] = (uint8_t)(r >> 16);
                else if (at + 4 <= len) qc_put32(buf + at, (uint32_t)(r >> 32) % 70);
            }
            fix_crcs(buf, len);
            qc_model_data *m = NULL;
            qc_status st = qc_model_data_parse(buf, len, iter & 1, "mut.qcm", &m);
            if (st) {
                EXPECT(strstr(qc_status_message(st), "mut.qcm: ") == qc_status_message(st),
                       "error does not name the file: %s", qc_status_message(st));
            } else {
                loaded++;
                qc_graph *g2 = NULL;
                qc_status st2 = qc_artifact_to_graph(m, &g2);
                if (!st2) st2 = qc_graph_verify(g2);
                EXPECT(!st2, "a model the loader accepted fails: %s", qc_status_message(st2));
                qc_status_free(st2);
                qc_graph_destroy(g2);
            }
            qc_status_free(st);
            qc_model_data_free(m);
        }
        printf("%s: %d of 20000 CRC-consistent mutations loaded (and verify)\n", files[f],
               loaded);
        free(buf);
        free(img);
        qc_plan_free(&plan);
        qc_graph_destroy(g);
    }
}

/* Specific damage, with CRCs fixed: the message names section and byte. */
static void expect_error(uint8_t *img, size_t len, const char *want) {
    fix_crcs(img, len);
    qc_model_data *m = NULL;
    qc_status st = qc_model_data_parse(img, len, false, "model.qcm", &m);
    EXPECT(st && strstr(qc_status_message(st), want), "want an error with '%s', got '%s'", want,
           st ? qc_status_message(st) : "success");
    qc_status_free(st);
    qc_model_data_free(m);
}

static void test_messages(void) {
    qc_graph *g = load_small();
    if (!g) return;
    uint8_t *img = NULL;
    size_t len = 0;
    CHECK_OK(qc_artifact_write_mem(g, NULL, &img, &len));
    uint8_t *buf = malloc(len);
    if (!img || !buf) goto out;
    /* The string table comes first: find the first value's dtype field by
     * walking it, as the loader does. */
    size_t go = graph_offset(img), p = go;
    uint32_t ns = qc_le32(img + p);
    p += 4;
    for (uint32_t i = 0; i < ns; i++) p += 4 + qc_le32(img + p);
    size_t dtype_at = p + 4 + 4 + 4 + 4;   /* graph name, batch, n_values, value name */
    memcpy(buf, img, len);
    qc_put32(buf + dtype_at, 99);
    char want[128];
    snprintf(want, sizeof want, "model.qcm: GRAPH section, byte %zu (file byte %zu): value 0 "
             "has dtype 99", dtype_at - go, dtype_at);
    expect_error(buf, len, want);
    memcpy(buf, img, len);
    qc_put32(buf + dtype_at + 4, 9);   /* rank */
    expect_error(buf, len, "value 0 has rank 9");
    memcpy(buf, img, len);
    memcpy(buf, "QCMODEX", 8);
    expect_error(buf, len, "bad magic");
    memcpy(buf, img, len);
    qc_put32(buf + QC_QCM_H_VERSION, 2);
    expect_error(buf, len, "format version 2");
    memcpy(buf, img, len);
    qc_put64(buf + QC_QCM_HEADER_SIZE + 8, 32);   /* GRAPH offset into the table */
    expect_error(buf, len, "section table");
    memcpy(buf, img, len);
    buf[go + 3] = 0x7f;   /* string count: huge */
    expect_error(buf, len, "does not fit");
    memcpy(buf, img, len);
    buf[len - 70] ^= 1;   /* CRC left stale */
    qc_model_data *m = NULL;
    qc_status st = qc_model_data_parse(buf, len, false, "model.qcm", &m);
    EXPECT(st && strstr(qc_status_message(st), "CRC mismatch"), "stale CRC: %s",
           qc_status_message(st));
    qc_status_free(st);
    qc_model_data_free(m);
out:
    free(buf);
    free(img);
    qc_graph_destroy(g);
}

/* ---- the file writer ---------------------------------------------------------- */

static void test_write_file(void) {
    qc_graph *g = load_small();
    if (!g) return;
    char dir[] = "/tmp/qc_artifact_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[256], bad[256];
    snprintf(path, sizeof path, "%s/m.qcm", dir);
    snprintf(bad, sizeof bad, "%s/missing/m.qcm", dir);
    CHECK_OK(qc_artifact_write_file(g, NULL, path));
    uint8_t *img = NULL;
    size_t len = 0;
    CHECK_OK(qc_artifact_write_mem(g, NULL, &img, &len));
    FILE *f = fopen(path, "rb");
    CHECK(f != NULL);
    if (f && img) {
        uint8_t *got = malloc(len + 1);
        size_t n = got ? fread(got, 1, len + 1, f) : 0;
        CHECK(n == len && !memcmp(got, img, len));
        free(got);
    }
    if (f) fclose(f);
    qc_status st = qc_artifact_write_file(g, NULL, bad);
    CHECK(st && qc_status_code(st) == QC_ERR_IO);
    qc_status_free(st);
    /* Nothing but m.qcm is left (no temporary files). */
    DIR *d = opendir(dir);
    int entries = 0;
    for (struct dirent *e; d && (e = readdir(d));) entries += e->d_name[0] != '.';
    if (d) closedir(d);
    CHECK(entries == 1);
    remove(path);
    rmdir(dir);
    free(img);
    qc_graph_destroy(g);
}

/* The committed artifacts (fuzz seeds) still load: a format change that
 * breaks existing files must bump the version and regenerate them
 * (tests/artifact/README.md). */
static void test_committed_artifacts(void) {
    DIR *d = opendir("tests/artifact");
    CHECK(d != NULL);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 4, ".qcm")) continue;
        char path[512];
        snprintf(path, sizeof path, "tests/artifact/%s", e->d_name);
        qc_graph *g = NULL;
        qc_model_data *m = NULL;
        FILE *f = fopen(path, "rb");
        uint8_t buf[1 << 16];
        size_t got = f ? fread(buf, 1, sizeof buf, f) : 0;
        if (f) fclose(f);
        qc_status st = qc_model_data_parse(buf, got, true, path, &m);
        if (!st) st = qc_artifact_to_graph(m, &g);
        if (!st) st = qc_graph_verify(g);
        EXPECT(!st, "%s: %s", path, qc_status_message(st));
        n += !st;
        qc_status_free(st);
        qc_graph_destroy(g);
        qc_model_data_free(m);
    }
    if (d) closedir(d);
    CHECK(n >= 5);
}

int main(void) {
    test_committed_artifacts();
    test_round_trips();
    test_messages();
    test_flips_and_truncation();
    test_semantic_corruption();
    test_write_file();
    return qc_test_summary("test_artifact");
}
