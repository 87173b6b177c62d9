/* test_const_fold.c — the const_fold pass: plain constant folding, the
 * torch shape pattern with a static and a symbolic batch, chains that must
 * stay, the size cap, quantized weights, idempotence. Every model is run on
 * the ref interpreter before and after folding (for two batch sizes where it
 * has a batch) and the outputs must be bit-identical. Models live in
 * tests/passes/ (run from the source root). */
#include <stdlib.h>
#include <string.h>

#include "backends/ref/ref.h"
#include "ir/dtype.h"
#include "ir/ir.h"
#include "passes/pass.h"
#include "qc_test.h"

#define DIR "tests/passes/"

static qc_graph *load(const char *name) {
    qc_graph *g = NULL;
    qc_status st = qc_graph_parse_file(name, &g);
    CHECK_MSG(!st, "%s", qc_status_message(st));
    qc_status_free(st);
    return g;
}

static int count_op(const qc_graph *g, qc_op op) {
    int c = 0;
    for (int32_t i = 0; i < g->n_nodes; i++) c += g->nodes[i].op == op;
    return c;
}

/* The node producing `name`, or NULL. */
static const qc_node *producer(const qc_graph *g, const char *name) {
    int32_t id = qc_graph_find_value(g, name);
    return id >= 0 && g->values[id].producer >= 0 ? &g->nodes[g->values[id].producer] : NULL;
}

/* True if value id is a constant i64 tensor holding exactly want[0..n). */
static bool const_i64_is(const qc_graph *g, int32_t id, const int64_t *want, int64_t n) {
    if (id < 0 || !g->values[id].data || g->values[id].type.dtype != QC_I64) return false;
    if (qc_type_numel(&g->values[id].type) != n) return false;
    return memcmp(g->values[id].data, want, (size_t)n * sizeof *want) == 0;
}

/* Reshape node `out`'s shape input is the constant want[0..n). */
static bool reshape_shape_is(const qc_graph *g, const char *out, const int64_t *want, int64_t n) {
    const qc_node *r = producer(g, out);
    return r && r->op == QC_OP_RESHAPE && const_i64_is(g, r->in[1], want, n);
}

static char *print(const qc_graph *g) {
    char *s = NULL;
    CHECK_OK(qc_graph_print_string(g, &s));
    return s;
}

static void verify_ok(const qc_graph *g) {
    qc_status st = qc_graph_verify(g);
    CHECK_MSG(!st, "%s", qc_status_message(st));
    qc_status_free(st);
}

/* Runs a and b (same interface) on identical inputs, the symbolic batch bound
 * to `batch`, and checks every output is bit-identical. */
static void check_same_results(const qc_graph *a, const qc_graph *b, int64_t batch) {
    enum { MAX = 8 };
    qc_tensor in[MAX], out_a[MAX], out_b[MAX];
    CHECK(a->n_inputs == b->n_inputs && a->n_outputs == b->n_outputs);
    if (a->n_inputs > MAX || a->n_outputs > MAX || a->n_inputs != b->n_inputs ||
        a->n_outputs != b->n_outputs)
        return;
    for (int32_t i = 0; i < a->n_inputs; i++) {
        qc_tensor_desc d = a->values[a->inputs[i]].type;
        for (int32_t k = 0; k < d.rank; k++)
            if (d.dims[k] == QC_DIM_SYM) d.dims[k] = batch;
        CHECK_OK(qc_tensor_alloc(&d, &in[i]));
        int64_t n = qc_type_numel(&d);
        for (int64_t e = 0; e < n; e++)
            qc_elem_set_f64(d.dtype, in[i].data, e, (double)((e * 37 + i * 11) % 17 - 8) * 0.25);
    }
    qc_status sa = qc_ref_run(a, in, a->n_inputs, out_a, a->n_outputs);
    qc_status sb = qc_ref_run(b, in, b->n_inputs, out_b, b->n_outputs);
    CHECK_MSG(!sa, "before folding, batch %lld: %s", (long long)batch, qc_status_message(sa));
    CHECK_MSG(!sb, "after folding, batch %lld: %s", (long long)batch, qc_status_message(sb));
    for (int32_t i = 0; !sa && !sb && i < a->n_outputs; i++) {
        const qc_tensor_desc *da = &out_a[i].desc, *db = &out_b[i].desc;
        size_t bytes = qc_dtype_bytes(da->dtype, qc_type_numel(da));
        bool same = da->dtype == db->dtype && da->rank == db->rank &&
                    memcmp(da->dims, db->dims, sizeof da->dims[0] * (size_t)da->rank) == 0 &&
                    memcmp(out_a[i].data, out_b[i].data, bytes) == 0;
        CHECK_MSG(same, "output %d differs after folding (batch %lld)", (int)i, (long long)batch);
    }
    for (int32_t i = 0; !sa && i < a->n_outputs; i++) qc_tensor_release(&out_a[i]);
    for (int32_t i = 0; !sb && i < b->n_outputs; i++) qc_tensor_release(&out_b[i]);
    for (int32_t i = 0; i < a->n_inputs; i++) qc_tensor_release(&in[i]);
    qc_status_free(sa);
    qc_status_free(sb);
}

/* Loads `file` twice, folds one copy, checks the fold is idempotent (a
 * second run prints the same IR) and returns both: *before unfolded. */
static qc_graph *fold_file(const char *file, qc_graph **before) {
    *before = load(file);
    qc_graph *g = load(file);
    if (!g || !*before) return g;
    qc_status st = qc_pass_run_pipeline(g, "const_fold");
    CHECK_MSG(!st, "%s: %s", file, qc_status_message(st));
    qc_status_free(st);
    char *once = print(g);
    CHECK_OK(qc_pass_run_pipeline(g, "const_fold"));
    char *twice = print(g);
    CHECK_MSG(once && twice && strcmp(once, twice) == 0, "%s: a second const_fold changed:\n%s\n"
              "---\n%s", file, once ? once : "", twice ? twice : "");
    free(once);
    free(twice);
    return g;
}

static void test_arith(void) {
    qc_graph *before, *g = fold_file(DIR "fold_arith.qcir", &before);
    if (!g || !before) return;
    verify_ok(g);
    CHECK(g->n_nodes == 1 && g->nodes[0].op == QC_OP_ADD);
    int32_t e = qc_graph_find_value(g, "e");
    const float want[3] = {2.0f, 2.5f, 1.0f};   /* ((a + b) * 2) - a */
    CHECK(e >= 0 && g->values[e].data && g->values[e].type.dtype == QC_F32 &&
          memcmp(g->values[e].data, want, sizeof want) == 0);
    /* a, b, two, c, d: read only by folded nodes, gone with them. */
    CHECK(qc_graph_find_value(g, "a") < 0 && qc_graph_find_value(g, "c") < 0 &&
          qc_graph_find_value(g, "two") < 0);
    check_same_results(before, g, 0);
    qc_graph_destroy(before);
    qc_graph_destroy(g);
}

static void test_torch_static(void) {
    qc_graph *before, *g = fold_file(DIR "fold_torch_static.qcir", &before);
    if (!g || !before) return;
    verify_ok(g);
    CHECK(g->n_nodes == 2);
    CHECK(count_op(g, QC_OP_SHAPE) + count_op(g, QC_OP_GATHER) + count_op(g, QC_OP_UNSQUEEZE) +
              count_op(g, QC_OP_CONCAT) == 0);
    const int64_t want[2] = {2, -1};
    CHECK(reshape_shape_is(g, "y", want, 2));
    check_same_results(before, g, 0);
    qc_graph_destroy(before);
    qc_graph_destroy(g);
}

static void test_torch_batch(void) {
    qc_graph *before, *g = fold_file(DIR "fold_torch_batch.qcir", &before);
    if (!g || !before) return;
    verify_ok(g);
    CHECK(g->n_nodes == 2);
    CHECK(count_op(g, QC_OP_SHAPE) + count_op(g, QC_OP_GATHER) + count_op(g, QC_OP_UNSQUEEZE) +
              count_op(g, QC_OP_CONCAT) == 0);
    const int64_t want[2] = {0, -1};   /* 0: copy x's (batch) dim */
    CHECK(reshape_shape_is(g, "y", want, 2));
    char ty[64];
    qc_type_format(&g->values[qc_graph_find_value(g, "z")].type, g->batch, ty, sizeof ty);
    CHECK(strcmp(ty, "f32[N,12]") == 0);
    check_same_results(before, g, 2);
    check_same_results(before, g, 5);
    qc_graph_destroy(before);
    qc_graph_destroy(g);
}

static void test_batch_dims(void) {
    qc_graph *before, *g = fold_file(DIR "fold_batch_dims.qcir", &before);
    if (!g || !before) return;
    verify_ok(g);
    CHECK(g->n_nodes == 4 && count_op(g, QC_OP_RESHAPE) == 4);
    const int64_t y[3] = {0, 3, -1}, f[2] = {0, -1}, gs[3] = {-1, 3, 4};
    CHECK(reshape_shape_is(g, "y", y, 3));
    CHECK(reshape_shape_is(g, "f", f, 2));
    CHECK(reshape_shape_is(g, "g", gs, 3));
    CHECK(reshape_shape_is(g, "h", gs, 3));
    check_same_results(before, g, 2);
    check_same_results(before, g, 5);
    qc_graph_destroy(before);
    qc_graph_destroy(g);
}

/* ConstantOfShape / Mul / Equal / Where / Range / Cast over a static shape. */
static void test_static_chain(void) {
    qc_graph *before, *g = fold_file(DIR "fold_static_chain.qcir", &before);
    if (!g || !before) return;
    verify_ok(g);
    CHECK(g->n_nodes == 3 && count_op(g, QC_OP_EXPAND) == 1 && count_op(g, QC_OP_ADD) == 2);
    const qc_node *e = producer(g, "e");
    const int64_t want[2] = {2, 1};
    CHECK(e && const_i64_is(g, e->in[1], want, 2));
    int32_t rf = qc_graph_find_value(g, "rf");
    const float ramp[3] = {0, 1, 2};
    CHECK(rf >= 0 && g->values[rf].data && memcmp(g->values[rf].data, ramp, sizeof ramp) == 0);
    check_same_results(before, g, 0);
    qc_graph_destroy(before);
    qc_graph_destroy(g);
}

/* Chains that cannot fold stay whole and still compute the right thing. */
static void test_batch_kept(const char *file, int nodes_after) {
    qc_graph *before, *g = fold_file(file, &before);
    if (!g || !before) return;
    CHECK_MSG(g->n_nodes == nodes_after, "%s: %d nodes after folding, expected %d", file,
              (int)g->n_nodes, nodes_after);
    CHECK(count_op(g, QC_OP_SHAPE) == 1);
    check_same_results(before, g, 2);
    check_same_results(before, g, 5);
    qc_graph_destroy(before);
    qc_graph_destroy(g);
}

static void test_quant_weight(void) {
    qc_graph *before, *g = fold_file(DIR "fold_quant_weight.qcir", &before);
    if (!g || !before) return;
    verify_ok(g);
    CHECK(count_op(g, QC_OP_QUANTIZE_LINEAR) == 0 && count_op(g, QC_OP_DEQUANTIZE_LINEAR) == 1);
    CHECK(qc_graph_find_value(g, "w") < 0);   /* the f32 weight is gone */
    int32_t wq = qc_graph_find_value(g, "wq");
    /* round-half-even(w / scale[row]), row scales 0.02, 0.011, 0.025 */
    const int8_t want[12] = {25, -50, 100, 12, 91, 118, -64, 1, 0, 13, -8, 120};
    CHECK(wq >= 0 && g->values[wq].data && g->values[wq].type.dtype == QC_I8 &&
          memcmp(g->values[wq].data, want, sizeof want) == 0);
    check_same_results(before, g, 0);
    qc_graph_destroy(before);
    qc_graph_destroy(g);
}

static void test_big(void) {
    qc_graph *before, *g = fold_file(DIR "fold_big.qcir", &before);
    if (!g || !before) return;
    verify_ok(g);
    /* z (2M elements) stays a node, t (6 elements) is folded. */
    const qc_node *z = producer(g, "z");
    CHECK(z && z->op == QC_OP_CONSTANT_OF_SHAPE);
    int32_t t = qc_graph_find_value(g, "t");
    CHECK(t >= 0 && g->values[t].data && g->values[t].producer < 0 &&
          qc_type_numel(&g->values[t].type) == 6 &&
          ((const float *)g->values[t].data)[5] == 2.0f);
    CHECK(g->n_nodes == 2);
    qc_graph_destroy(before);
    qc_graph_destroy(g);
}

/* What an importer hands over: node outputs without types. Folding the shape
 * chain is what makes Reshape (and everything after it) typable. */
static void test_untyped(void) {
    qc_graph *g = NULL;
    qc_type x_t = {.dtype = QC_F32, .rank = 3, .dims = {QC_DIM_SYM, 3, 4}};
    qc_type idx_t = {.dtype = QC_I64, .rank = 0}, one_t = {.dtype = QC_I64, .rank = 1, .dims = {1}};
    qc_type undef = {.dtype = QC_DT_UNDEF};
    const int64_t zero = 0, minus1 = -1;
    int32_t x, i0, ax, m1, s, b, ub, sh, y, z;
    CHECK_OK(qc_graph_create("untyped", &g));
    CHECK_OK(qc_graph_set_batch(g, "B"));
    CHECK_OK(qc_graph_add_value(g, "x", &x_t, &x));
    CHECK_OK(qc_graph_add_input(g, x));
    CHECK_OK(qc_graph_add_const(g, "i0", &idx_t, &zero, sizeof zero, &i0));
    CHECK_OK(qc_graph_add_const(g, "ax", &one_t, &zero, sizeof zero, &ax));
    CHECK_OK(qc_graph_add_const(g, "m1", &one_t, &minus1, sizeof minus1, &m1));
    const char *names[] = {"s", "b", "ub", "sh", "y", "z"};
    int32_t *ids[] = {&s, &b, &ub, &sh, &y, &z};
    for (int i = 0; i < 6; i++) CHECK_OK(qc_graph_add_value(g, names[i], &undef, ids[i]));
    int32_t n;
    CHECK_OK(qc_graph_add_node(g, QC_OP_SHAPE, "s", &x, 1, &s, 1, NULL));
    CHECK_OK(qc_graph_add_node(g, QC_OP_GATHER, "b", (int32_t[]){s, i0}, 2, &b, 1, &n));
    CHECK_OK(qc_node_set_int(g, n, "axis", 0));
    CHECK_OK(qc_graph_add_node(g, QC_OP_UNSQUEEZE, "ub", (int32_t[]){b, ax}, 2, &ub, 1, NULL));
    CHECK_OK(qc_graph_add_node(g, QC_OP_CONCAT, "sh", (int32_t[]){ub, m1}, 2, &sh, 1, &n));
    CHECK_OK(qc_node_set_int(g, n, "axis", 0));
    CHECK_OK(qc_graph_add_node(g, QC_OP_RESHAPE, "y", (int32_t[]){x, sh}, 2, &y, 1, NULL));
    CHECK_OK(qc_graph_add_node(g, QC_OP_RELU, "z", &y, 1, &z, 1, NULL));
    CHECK_OK(qc_graph_add_output(g, z));
    CHECK_OK(qc_pass_run_pipeline(g, "const_fold,verify"));
    z = qc_graph_find_value(g, "z");
    char ty[64] = "";
    if (z >= 0) qc_type_format(&g->values[z].type, g->batch, ty, sizeof ty);
    CHECK_MSG(strcmp(ty, "f32[B,12]") == 0, "z is %s", ty);
    CHECK(g->n_nodes == 2);
    qc_graph_destroy(g);
}

int main(void) {
    test_arith();
    test_torch_static();
    test_torch_batch();
    test_batch_dims();
    /* Shape, Gather, Mul, Unsqueeze, Concat, Reshape: all six stay. */
    test_batch_kept(DIR "fold_batch_mul.qcir", 6);
    /* the marker at a position where x has a static dim: all five stay */
    test_batch_kept(DIR "fold_batch_moved.qcir", 5);
    /* Mul of constants folds; Shape, Expand, Add stay */
    test_batch_kept(DIR "fold_batch_expand.qcir", 3);
    /* allowzero=1: 0 would be a real 0, so no rewrite; all six stay */
    test_batch_kept(DIR "fold_batch_allowzero.qcir", 6);
    test_static_chain();
    /* Equal on the batch: Shape, Gather, Unsqueeze, Concat, Equal, Where,
     * Expand and the two Adds stay; ConstantOfShape, Mul, the Gather of the
     * static dim, Range and Cast fold. */
    test_batch_kept(DIR "fold_batch_chain.qcir", 9);
    test_quant_weight();
    test_big();
    test_untyped();
    return qc_test_summary("const_fold");
}
