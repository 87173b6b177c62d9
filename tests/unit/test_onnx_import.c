/* test_onnx_import.c — the ONNX importer on handcrafted models
 * (tests/onnx, made by tests/onnx/gen_models.py) and on bytes built here:
 * good models import and compute the right thing; every malformed or
 * hostile one fails with a clear error (checked by message substrings),
 * never a crash, a leak (ASan build) or a partial graph. */
#define _XOPEN_SOURCE 700   /* realpath */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backends/ref/ref.h"
#include "frontend/onnx/onnx.h"
#include "ir/dtype.h"
#include "ir/ir.h"
#include "qc_test.h"

#define D "tests/onnx"

/* ---- helpers ---------------------------------------------------------------------- */

static uint8_t *read_all(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    uint8_t *buf = malloc(1 << 20);
    *len = buf ? fread(buf, 1, 1 << 20, f) : 0;
    fclose(f);
    return buf;
}

/* Import must fail with `code` and a message holding every substring. */
static void expect_fail_status(const char *what, qc_status st, qc_graph *g, qc_code code,
                               const char *const *subs) {
    CHECK_MSG(st != NULL, "%s: import succeeded", what);
    CHECK_MSG(g == NULL, "%s: graph left behind on failure", what);
    if (!st) {
        qc_graph_destroy(g);
        return;
    }
    const char *msg = qc_status_message(st);
    CHECK_MSG(qc_status_code(st) == code, "%s: code %s, expected %s (%s)", what,
              qc_code_name(qc_status_code(st)), qc_code_name(code), msg);
    for (; *subs; subs++) CHECK_MSG(strstr(msg, *subs), "%s: '%s' lacks '%s'", what, msg, *subs);
    qc_status_free(st);
}

#define EXPECT_FAIL(path, code, ...)                                                  \
    do {                                                                              \
        qc_graph *g_ = NULL;                                                          \
        const char *subs_[] = {__VA_ARGS__, NULL};                                    \
        expect_fail_status(path, qc_onnx_import_file(path, NULL, &g_), g_, code, subs_); \
    } while (0)

static qc_graph *import_ok(const char *path, int fold) {
    qc_onnx_options o;
    qc_onnx_options_init(&o);
    o.fold_constants = fold;
    qc_graph *g = NULL;
    CHECK_OK(qc_onnx_import_file(path, &o, &g));
    return g;
}

static qc_tensor f32_tensor(int rank, const int64_t *dims, const float *v) {
    qc_tensor t;
    qc_tensor_desc d = {.dtype = QC_F32, .rank = rank};
    for (int i = 0; i < rank; i++) d.dims[i] = dims[i];
    if (qc_tensor_alloc(&d, &t)) abort();
    memcpy(t.data, v, qc_dtype_bytes(QC_F32, qc_type_numel(&d)));
    return t;
}

/* Runs g on one f32 input; returns output `k` (of n_out) or an empty tensor. */
static qc_tensor run1(const qc_graph *g, const qc_tensor *x, int k, int n_out) {
    qc_tensor out[4];
    memset(out, 0, sizeof out);
    qc_status st = qc_ref_run(g, x, x ? 1 : 0, out, n_out);
    CHECK_OK(st);
    for (int i = 0; i < n_out; i++)
        if (i != k) qc_tensor_release(&out[i]);
    return out[k];
}

/* ---- good models --------------------------------------------------------------------- */

static void test_add_relu(void) {
    qc_graph *g = import_ok(D "/add_relu.onnx", 1);
    if (!g) return;
    static const float w[6] = {0.5f, -1, 2, 0.25f, 1, -3}, xv[6] = {1, 2, -3, -1, 0.5f, 4};
    int64_t dims[2] = {2, 3};
    qc_tensor x = f32_tensor(2, dims, xv), y = run1(g, &x, 0, 1);
    for (int i = 0; y.data && i < 6; i++) {
        float want = xv[i] + w[i] > 0 ? xv[i] + w[i] : 0;
        CHECK_MSG(((float *)y.data)[i] == want, "add_relu[%d] = %g, want %g", i,
                  ((float *)y.data)[i], want);
    }
    CHECK(g->n_inputs == 1 && !strcmp(g->values[g->inputs[0]].name, "x"));
    qc_tensor_release(&x);
    qc_tensor_release(&y);
    qc_graph_destroy(g);
}

/* Typed fields and raw_data holding the same values decode to the same bytes. */
static void test_encodings(void) {
    qc_graph *g = import_ok(D "/encodings.onnx", 0);
    if (!g) return;
    static const char *const keys[] = {"f32", "f64", "i64", "i32", "i16", "i8", "u8",
                                       "bool", "f16", "bf16", "i4"};
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
        char a[32], b[32];
        snprintf(a, sizeof a, "%s_typed", keys[k]);
        snprintf(b, sizeof b, "%s_raw", keys[k]);
        int32_t ia = qc_graph_find_value(g, a), ib = qc_graph_find_value(g, b);
        CHECK_MSG(ia >= 0 && ib >= 0, "%s: constants missing", keys[k]);
        if (ia < 0 || ib < 0) continue;
        const qc_value *va = &g->values[ia], *vb = &g->values[ib];
        CHECK_MSG(qc_type_equal(&va->type, &vb->type), "%s: types differ", keys[k]);
        CHECK_MSG(va->nbytes == vb->nbytes && va->data && vb->data &&
                      !memcmp(va->data, vb->data, va->nbytes),
                  "%s: typed and raw bytes differ", keys[k]);
    }
    int32_t f16 = qc_graph_find_value(g, "f16_typed"), i4 = qc_graph_find_value(g, "i4_typed");
    int32_t i64 = qc_graph_find_value(g, "i64_typed"), bf = qc_graph_find_value(g, "bf16_typed");
    if (f16 >= 0) CHECK(((uint16_t *)g->values[f16].data)[3] == 0x7bff);   /* 65504 */
    if (i64 >= 0) CHECK(((int64_t *)g->values[i64].data)[2] == (int64_t)1 << 40);
    if (bf >= 0) CHECK(qc_bf16_to_f32(((uint16_t *)g->values[bf].data)[0]) == 1.5f);
    if (i4 >= 0) {
        CHECK(g->values[i4].type.dtype == QC_I4 && g->values[i4].nbytes == 2);
        CHECK(qc_elem_get_i64(QC_I4, g->values[i4].data, 0) == -1);
        CHECK(qc_elem_get_i64(QC_I4, g->values[i4].data, 1) == 2);
        CHECK(qc_elem_get_i64(QC_I4, g->values[i4].data, 2) == 7);
    }
    qc_graph_destroy(g);
}

static void test_external_data(void) {
    qc_graph *g = import_ok(D "/external/model.onnx", 1);
    if (!g) return;
    static const float xv[6] = {1, 1, 1, 1, 1, 1};
    int64_t dims[2] = {2, 3};
    qc_tensor x = f32_tensor(2, dims, xv), y = run1(g, &x, 0, 1);
    for (int i = 0; y.data && i < 6; i++)
        CHECK_MSG(((float *)y.data)[i] == 1.0f + (float)i - 2.5f, "external[%d] = %g", i,
                  ((float *)y.data)[i]);
    qc_tensor_release(&x);
    qc_tensor_release(&y);
    qc_graph_destroy(g);
}

/* Softmax-11 on [2,3,4] at axis 1: softmax over each row's 12 elements. */
static void test_softmax_opset11(void) {
    qc_graph *g = import_ok(D "/softmax_opset11.onnx", 1);
    if (!g) return;
    float xv[24];
    for (int i = 0; i < 24; i++) xv[i] = (float)((i * 7) % 11) * 0.3f - 1.0f;
    int64_t dims[3] = {2, 3, 4};
    qc_tensor x = f32_tensor(3, dims, xv), y = run1(g, &x, 0, 1);
    CHECK(y.desc.rank == 3 && y.desc.dims[0] == 2 && y.desc.dims[1] == 3 && y.desc.dims[2] == 4);
    for (int r = 0; y.data && r < 2; r++) {
        double mx = -1e30, sum = 0;
        for (int i = 0; i < 12; i++) mx = fmax(mx, xv[r * 12 + i]);
        for (int i = 0; i < 12; i++) sum += exp(xv[r * 12 + i] - mx);
        for (int i = 0; i < 12; i++) {
            double want = exp(xv[r * 12 + i] - mx) / sum, got = ((float *)y.data)[r * 12 + i];
            CHECK_MSG(fabs(got - want) <= 1e-6, "softmax-11[%d] = %g, want %g", r * 12 + i, got,
                      want);
        }
    }
    qc_tensor_release(&x);
    qc_tensor_release(&y);
    qc_graph_destroy(g);
    EXPECT_FAIL(D "/softmax_opset11_symbolic.onnx", QC_ERR_UNSUPPORTED, "node 'sm' (Softmax)",
                "static input shape");
}

static void test_constants_and_batch(void) {
    qc_graph *g = import_ok(D "/constants_batch.onnx", 1);
    if (!g) return;
    CHECK(g->batch && !strcmp(g->batch, "batch"));
    static const float xv[12] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
    int64_t dims[2] = {3, 4};
    qc_tensor x = f32_tensor(2, dims, xv);
    qc_tensor y = run1(g, &x, 0, 2), z = run1(g, &x, 1, 2);
    for (int i = 0; y.data && i < 12; i++)
        CHECK(((float *)y.data)[i] == 2.0f * xv[i] + (float)(i % 4 + 1));
    CHECK(z.desc.dtype == QC_I64 && z.desc.rank == 2 && z.desc.dims[0] == 3 && z.desc.dims[1] == 4);
    for (int i = 0; z.data && i < 12; i++) CHECK(((int64_t *)z.data)[i] == 7);
    qc_tensor_release(&x);
    qc_tensor_release(&y);
    qc_tensor_release(&z);
    qc_graph_destroy(g);
}

static void test_unsorted_and_bindings(void) {
    qc_graph *g = import_ok(D "/unsorted.onnx", 1);
    if (g) CHECK(g->n_nodes == 2 && g->nodes[0].op == QC_OP_ADD);
    qc_graph_destroy(g);
    /* Binding x makes it a constant: the graph has no inputs left. */
    static const float xv[6] = {1, -2, 3, -4, 5, -6};
    int64_t dims[2] = {2, 3};
    qc_tensor x = f32_tensor(2, dims, xv);
    qc_onnx_binding b = {"x", &x};
    qc_onnx_options o;
    qc_onnx_options_init(&o);
    o.bindings = &b;
    o.n_bindings = 1;
    g = NULL;
    CHECK_OK(qc_onnx_import_file(D "/unsorted.onnx", &o, &g));
    if (g) {
        CHECK(g->n_inputs == 0);
        qc_tensor y = run1(g, NULL, 0, 1);
        for (int i = 0; y.data && i < 6; i++)
            CHECK(((float *)y.data)[i] == (xv[i] > 0 ? 2 * xv[i] : 0));
        qc_tensor_release(&y);
    }
    qc_graph_destroy(g);
    b.name = "nope";
    g = NULL;
    const char *subs[] = {"binding 'nope'", NULL};
    expect_fail_status("bad binding", qc_onnx_import_file(D "/unsorted.onnx", &o, &g), g,
                       QC_ERR_NOT_FOUND, subs);
    qc_tensor_release(&x);
}

/* com.microsoft QLinearAdd and Gelu. */
static void test_contrib_ops(void) {
    qc_graph *g = import_ok(D "/contrib_ops.onnx", 1);
    if (!g) return;
    qc_tensor in[3], out[2];
    memset(out, 0, sizeof out);
    qc_tensor_desc u8 = {.dtype = QC_U8, .rank = 1, .dims = {2}};
    static const float xv[2] = {0.0f, 1.0f};
    int64_t two = 2;
    CHECK_OK(qc_tensor_alloc(&u8, &in[0]));
    CHECK_OK(qc_tensor_alloc(&u8, &in[1]));
    in[2] = f32_tensor(1, &two, xv);
    memcpy(in[0].data, (uint8_t[]){2, 4}, 2);
    memcpy(in[1].data, (uint8_t[]){6, 8}, 2);
    CHECK_OK(qc_ref_run(g, in, 3, out, 2));
    if (out[0].data) {   /* (0.5*2 + 0.5*6) / 1 = 4, (0.5*4 + 0.5*8) = 6 */
        CHECK(((uint8_t *)out[0].data)[0] == 4 && ((uint8_t *)out[0].data)[1] == 6);
        CHECK(fabsf(((float *)out[1].data)[0]) < 1e-7f);
        CHECK(fabsf(((float *)out[1].data)[1] - 0.8413447f) < 1e-6f);
    }
    for (int i = 0; i < 3; i++) qc_tensor_release(&in[i]);
    for (int i = 0; i < 2; i++) qc_tensor_release(&out[i]);
    qc_graph_destroy(g);
}

/* ---- hostile models ------------------------------------------------------------------ */

static void test_bad_tensors(void) {
    EXPECT_FAIL(D "/bad/raw_length.onnx", QC_ERR_INVALID, "bad/raw_length.onnx",
                "initializer 'w': raw_data has 20 bytes, its shape f32[2,3] needs 24");
    EXPECT_FAIL(D "/bad/typed_length.onnx", QC_ERR_INVALID,
                "initializer 'w': float_data has 5 values, its shape f32[2,3] needs 6");
    EXPECT_FAIL(D "/bad/huge_dims_overflow.onnx", QC_ERR_INVALID, "initializer 'w'",
                "element count overflows");
    EXPECT_FAIL(D "/bad/huge_dims.onnx", QC_ERR_INVALID, "initializer 'w': raw_data has 16 bytes");
    EXPECT_FAIL(D "/bad/negative_dims.onnx", QC_ERR_INVALID, "initializer 'w': dim 0 is negative");
    EXPECT_FAIL(D "/bad/int8_range.onnx", QC_ERR_INVALID,
                "initializer 'w': int32_data[5] = 300 is out of range for i8");
    EXPECT_FAIL(D "/bad/string_tensor.onnx", QC_ERR_UNSUPPORTED,
                "initializer 'w': element type STRING is not supported");
}

static void test_bad_graphs(void) {
    EXPECT_FAIL(D "/bad/cycle.onnx", QC_ERR_INVALID, "cycle", "'first'", "'second'");
    EXPECT_FAIL(D "/bad/dangling.onnx", QC_ERR_INVALID,
                "node 'add' (Add): input 'nothere' is not produced by any node");
    EXPECT_FAIL(D "/bad/duplicate_output.onnx", QC_ERR_INVALID,
                "value 'y' is produced by two nodes: 'r1' (Relu) and 'r2' (Sigmoid)");
    EXPECT_FAIL(D "/bad/missing_output.onnx", QC_ERR_INVALID, "graph output 'y' is not produced");
    EXPECT_FAIL(D "/bad/unsupported_ops.onnx", QC_ERR_UNSUPPORTED,
                "unsupported_ops.onnx: 4 unsupported ops: Resize (nodes 'up1', 'up2'), "
                "NonMaxSuppression (node 'nms'), com.example.Frobnicate (node 'frob')");
    EXPECT_FAIL(D "/bad/two_symbols.onnx", QC_ERR_UNSUPPORTED, "2 symbolic dims", "'batch'",
                "'seq'");
    EXPECT_FAIL(D "/bad/opset_too_new.onnx", QC_ERR_UNSUPPORTED, "opset 22 is newer");
    EXPECT_FAIL(D "/bad/old_opset_op.onnx", QC_ERR_UNSUPPORTED, "Clip (node 'Clip_0'",
                "opset 6 means Clip-6");
    EXPECT_FAIL(D "/bad/sequence_input.onnx", QC_ERR_UNSUPPORTED,
                "graph input 'x' is not a tensor");
    EXPECT_FAIL(D "/bad/graph_attr.onnx", QC_ERR_UNSUPPORTED,
                "node 'r' (Relu): attribute 'alpha': GRAPH attributes are not supported");
    EXPECT_FAIL(D "/bad/shape_error.onnx", QC_ERR_INVALID, "node 'mm' (Gemm)");
    qc_graph *g = NULL;
    qc_status st = qc_onnx_import_file(D "/bad/not_onnx.onnx", NULL, &g);
    CHECK(st && !g && strstr(qc_status_message(st), "not_onnx.onnx"));
    qc_status_free(st);
    EXPECT_FAIL(D "/bad/nothere.onnx", QC_ERR_IO, "nothere.onnx", "cannot open ONNX model");
}

static void test_bad_external(void) {
    EXPECT_FAIL(D "/external/escape_dotdot.onnx", QC_ERR_INVALID, "initializer 'w'",
                "'..' component");
    EXPECT_FAIL(D "/external/escape_absolute.onnx", QC_ERR_INVALID, "initializer 'w'",
                "'/etc/hostname' is an absolute path");
    EXPECT_FAIL(D "/external/out_of_range.onnx", QC_ERR_INVALID,
                "[offset 40, length 24] runs past the end");
    EXPECT_FAIL(D "/external/wrong_length.onnx", QC_ERR_INVALID,
                "has 20 bytes, its shape needs 24");
    EXPECT_FAIL(D "/external/missing_file.onnx", QC_ERR_IO, "'nothere.bin'");
    EXPECT_FAIL(D "/external/huge.onnx", QC_ERR_INVALID,
                "has 48 bytes, its shape needs 1099511627776");
    /* From memory there is no directory to resolve against. */
    size_t len;
    uint8_t *buf = read_all(D "/external/model.onnx", &len);
    qc_graph *g = NULL;
    const char *subs[] = {"mem.onnx", "read from memory", NULL};
    if (buf)
        expect_fail_status("memory", qc_onnx_import(buf, len, "mem.onnx", NULL, NULL, &g), g,
                           QC_ERR_INVALID, subs);
    free(buf);
    /* A symlink inside the model's directory pointing outside is refused;
     * one pointing inside is fine. */
    char dir[] = "/tmp/qc_onnx_XXXXXX", path[256], target[4096];
    if (!mkdtemp(dir) || !realpath(D "/external/weights.bin", target)) {
        CHECK(!"mkdtemp/realpath");
        return;
    }
    snprintf(path, sizeof path, "%s/link.bin", dir);
    CHECK(symlink(target, path) == 0);
    buf = read_all(D "/external/symlink.onnx", &len);
    snprintf(path, sizeof path, "%s/model.onnx", dir);
    FILE *f = fopen(path, "wb");
    if (f && buf) fwrite(buf, 1, len, f);
    if (f) fclose(f);
    free(buf);
    EXPECT_FAIL(path, QC_ERR_INVALID, "outside the model's directory");
    char copy[256], link[256];
    snprintf(copy, sizeof copy, "%s/weights_real.bin", dir);
    snprintf(link, sizeof link, "%s/link.bin", dir);
    buf = read_all(target, &len);
    f = fopen(copy, "wb");
    if (f && buf) fwrite(buf, 1, len, f);
    if (f) fclose(f);
    free(buf);
    unlink(link);
    CHECK(symlink("weights_real.bin", link) == 0);
    /* The symlinked file is 48 bytes for a 24-byte tensor with no offset. */
    EXPECT_FAIL(path, QC_ERR_INVALID, "has 48 bytes, its shape needs 24");
    unlink(link);
    unlink(copy);
    unlink(path);
    rmdir(dir);
}

/* Truncated models: every prefix fails cleanly or imports a valid graph. */
static void test_truncated(void) {
    size_t len;
    uint8_t *buf = read_all(D "/add_relu.onnx", &len);
    if (!buf) {
        CHECK(!"read add_relu.onnx");
        return;
    }
    int failed = 0;
    for (size_t cut = 0; cut < len; cut++) {
        qc_graph *g = NULL;
        qc_status st = qc_onnx_import(buf, cut, "cut.onnx", NULL, NULL, &g);
        CHECK(!st == (g != NULL));
        if (st) {
            failed++;
            CHECK_MSG(strstr(qc_status_message(st), "cut.onnx"), "%s", qc_status_message(st));
        }
        qc_status_free(st);
        qc_graph_destroy(g);
    }
    CHECK(failed > (int)len / 2);
    free(buf);
}

/* Protobuf bytes built by hand: nesting Graph -> Node -> Attribute -> Graph
 * ... deep enough to threaten protobuf-c's recursion, and a graph of a
 * million empty nodes that would decode to far more than its size. */
static size_t put_varint(uint8_t *p, uint64_t v) {
    size_t n = 0;
    do {
        p[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        v >>= 7;
    } while (v);
    return n;
}

static void test_hostile_bytes(void) {
    enum { LEVELS = 3000 };
    size_t cap = (size_t)LEVELS * 3 * 12 + 64;
    uint8_t *inner = calloc(cap, 1), *outer = calloc(cap, 1);
    size_t n = 0;
    /* From the inside out, starting from an empty AttributeProto:
     * NodeProto.attribute (5) wraps it, GraphProto.node (1) wraps that,
     * AttributeProto.g (6) wraps the graph, and so on; the last wrap makes
     * a GraphProto. */
    static const uint8_t keys[3] = {(5 << 3) | 2, (1 << 3) | 2, (6 << 3) | 2};
    for (int level = 0; level < LEVELS * 3 - 1; level++) {
        size_t m = 0;
        outer[m++] = keys[level % 3];
        m += put_varint(outer + m, n);
        memcpy(outer + m, inner, n);
        n += m;
        uint8_t *t = inner;
        inner = outer;
        outer = t;
    }
    uint8_t *model = malloc(n + 64);
    size_t m = 0;
    model[m++] = (7 << 3) | 2;
    m += put_varint(model + m, n);
    memcpy(model + m, inner, n);
    m += n;
    qc_graph *g = NULL;
    const char *subs[] = {"deep.onnx", "nested too deeply", NULL};
    expect_fail_status("deep nesting", qc_onnx_import(model, m, "deep.onnx", NULL, NULL, &g), g,
                       QC_ERR_PARSE, subs);
    free(model);
    free(inner);
    free(outer);

    size_t nodes = 2000000, glen = nodes * 2;
    uint8_t *many = malloc(glen + 16);
    m = 0;
    many[m++] = (7 << 3) | 2;
    m += put_varint(many + m, glen);
    for (size_t i = 0; i < nodes; i++) {
        many[m++] = (1 << 3) | 2;
        many[m++] = 0;
    }
    g = NULL;
    const char *subs2[] = {"many.onnx", "would decode to about", NULL};
    expect_fail_status("blow-up", qc_onnx_import(many, m, "many.onnx", NULL, NULL, &g), g,
                       QC_ERR_INVALID, subs2);
    free(many);
}

/* ---- .pb tensor files ------------------------------------------------------------------ */

static void test_tensor_files(void) {
    const char *dir = "/usr/share/libonnx-testdata/data/node/test_add/test_data_set_0";
    char path[512];
    snprintf(path, sizeof path, "%s/input_0.pb", dir);
    if (access(path, R_OK) != 0) {
        printf("test_onnx_import: libonnx-testdata missing, .pb reading test skipped\n");
        return;
    }
    qc_tensor t;
    char *name = NULL;
    CHECK_OK(qc_onnx_read_tensor_file(path, &t, &name));
    CHECK(t.desc.dtype == QC_F32 && t.desc.rank == 3 && t.desc.dims[0] == 3);
    CHECK(name && !strcmp(name, "x"));
    free(name);
    qc_tensor_release(&t);
    qc_status st = qc_onnx_read_tensor_file(D "/bad/not_onnx.onnx", &t, NULL);
    CHECK(st && strstr(qc_status_message(st), "not_onnx.onnx"));
    qc_status_free(st);
}

int main(void) {
    test_add_relu();
    test_encodings();
    test_external_data();
    test_softmax_opset11();
    test_constants_and_batch();
    test_unsorted_and_bindings();
    test_contrib_ops();
    test_bad_tensors();
    test_bad_graphs();
    test_bad_external();
    test_truncated();
    test_hostile_bytes();
    test_tensor_files();
    return qc_test_summary("test_onnx_import");
}
