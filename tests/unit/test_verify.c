/* test_verify.c — qc_graph_verify accepts well-formed graphs and rejects each
 * broken invariant with a message naming the node and value at fault.
 *
 * Graphs are built with the builder API; where the builder itself refuses
 * a defect (it checks arity and double producers up front) the test breaks an
 * already-built graph by hand, the way a buggy pass would. Most cases fail
 * before type inference runs; the type-mismatch and node-bearing good graph
 * cases need Relu/Add inference (ir/infer_tensor.c). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ir/dtype.h"
#include "ir/ir.h"
#include "qc_test.h"

typedef qc_rng rng;

static uint64_t rnd(rng *r) { return qc_rng_next(r); }

static qc_type make_type(qc_dtype dt, const int64_t *dims, int rank) {
    qc_type t = {.dtype = dt, .rank = rank};
    for (int i = 0; i < rank; i++) t.dims[i] = dims[i];
    return t;
}
#define TYPE(dt, ...)                                   \
    make_type(dt, (const int64_t[]){__VA_ARGS__},       \
              (int)(sizeof((const int64_t[]){__VA_ARGS__}) / sizeof(int64_t)))
#define SYM QC_DIM_SYM

static qc_graph *new_graph(const char *batch) {
    qc_graph *g = NULL;
    CHECK_OK(qc_graph_create("g", &g));
    if (batch) CHECK_OK(qc_graph_set_batch(g, batch));
    return g;
}

static int32_t value(qc_graph *g, const char *name, qc_type t) {
    int32_t id = -1;
    CHECK_OK(qc_graph_add_value(g, name, &t, &id));
    return id;
}

static int32_t input(qc_graph *g, const char *name, qc_type t) {
    int32_t id = value(g, name, t);
    CHECK_OK(qc_graph_add_input(g, id));
    return id;
}

/* A constant filled with random (never all-zero) elements valid for its
 * type. */
static int32_t constant(qc_graph *g, rng *r, const char *name, qc_type t) {
    int64_t numel = qc_type_numel(&t);
    size_t nbytes = qc_dtype_bytes(t.dtype, numel);
    uint8_t *data = calloc(1, nbytes + 1);
    int64_t lo = 0, hi = 0;
    qc_dtype_int_range(t.dtype, &lo, &hi);
    for (int64_t i = 0; i < numel; i++) {
        if (qc_dtype_is_float(t.dtype))
            qc_elem_set_f64(t.dtype, data, i, (double)(rnd(r) % 20001) / 1000.0 - 10.0 + 0.001);
        else
            qc_elem_set_i64(t.dtype, data, i, lo + (int64_t)(rnd(r) % (uint64_t)(hi - lo + 1)));
    }
    int32_t id = -1;
    CHECK_OK(qc_graph_add_const(g, name, &t, data, nbytes, &id));
    free(data);
    return id;
}

static int32_t node(qc_graph *g, qc_op op, const char *name, const int32_t *in, int32_t n_in,
                    const int32_t *out, int32_t n_out) {
    int32_t id = -1;
    CHECK_OK(qc_graph_add_node(g, op, name, in, n_in, out, n_out, &id));
    return id;
}

/* One-input, one-output node. */
static int32_t unary(qc_graph *g, qc_op op, const char *name, int32_t in, int32_t out) {
    return node(g, op, name, &in, 1, &out, 1);
}

static void set_quant(qc_graph *g, int32_t id, qc_qkind kind, int32_t axis, int32_t block,
                      const float *scale, const int32_t *zero, int32_t count) {
    qc_quant q = {.kind = kind, .axis = axis, .block = block, .count = count,
                  .scale = (float *)scale, .zero = (int32_t *)zero};
    CHECK_OK(qc_value_set_quant(g, id, &q));
}

/* Verification must fail and its message must contain every given piece;
 * destroys g. */
static void expect_reject(qc_graph *g, const char *what, const char *a, const char *b) {
    qc_status st = qc_graph_verify(g);
    const char *m = qc_status_message(st);
    CHECK_MSG(st && qc_status_code(st) == QC_ERR_INVALID && strstr(m, "verify graph 'g'") &&
                  strstr(m, a) && (!b || strstr(m, b)),
              "%s: got '%s', want '%s'%s%s", what, st ? m : "success", a, b ? " and " : "",
              b ? b : "");
    qc_status_free(st);
    qc_graph_destroy(g);
}

static void expect_accept(qc_graph *g, const char *what) {
    qc_status st = qc_graph_verify(g);
    CHECK_MSG(!st, "%s: %s", what, qc_status_message(st));
    qc_status_free(st);
    qc_graph_destroy(g);
}

/* ---- accepted ------------------------------------------------------------------ */

static void test_good(rng *r) {
    /* No nodes: nothing needs type inference. */
    qc_graph *g = new_graph("N");
    int32_t x = input(g, "x", TYPE(QC_F32, SYM, 4));
    int32_t w = constant(g, r, "w", TYPE(QC_I8, 3, 4));
    float s[3] = {0.5f, 0.25f, 2.0f};
    int32_t z[3] = {-3, 0, 127};
    set_quant(g, w, QC_Q_AXIS, 0, 0, s, z, 3);
    int32_t b = constant(g, r, "b", TYPE(QC_I4, 4, 6));
    float bs[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    int32_t bz[8] = {-8, 7, 0, 1, -1, 2, 3, 4};
    set_quant(g, b, QC_Q_BLOCK, 1, 4, bs, bz, 8);   /* 4 rows x ceil(6/4) blocks */
    CHECK_OK(qc_graph_add_output(g, x));
    CHECK_OK(qc_graph_add_output(g, w));
    CHECK_OK(qc_graph_add_output(g, b));
    expect_accept(g, "graph without nodes");

    /* Relu and Add: needs their type inference (ir/infer_tensor.c). */
    g = new_graph("N");
    x = input(g, "x", TYPE(QC_F32, SYM, 3));
    int32_t c = constant(g, r, "c", TYPE(QC_F32, 3));
    int32_t y = value(g, "y", TYPE(QC_F32, SYM, 3)), sum = value(g, "sum", TYPE(QC_F32, SYM, 3));
    unary(g, QC_OP_RELU, NULL, x, y);
    node(g, QC_OP_ADD, "add", (int32_t[]){y, c}, 2, &sum, 1);
    CHECK_OK(qc_graph_add_output(g, sum));
    expect_accept(g, "Relu + Add");
}

/* ---- order, definitions, arity ----------------------------------------------- */

static void test_structure(rng *r) {
    /* Nodes out of order: 'a' reads h before the node producing h. */
    qc_graph *g = new_graph(NULL);
    int32_t x = input(g, "x", TYPE(QC_F32, 2));
    int32_t h = value(g, "h", TYPE(QC_F32, 2)), a = value(g, "a", TYPE(QC_F32, 2));
    unary(g, QC_OP_RELU, NULL, h, a);
    unary(g, QC_OP_RELU, "makes_h", x, h);
    CHECK_OK(qc_graph_add_output(g, a));
    expect_reject(g, "use before definition", "node 'a' (Relu)", "input 'h' is used before it is defined");

    /* A cycle: a = Relu(b), b = Relu(a). */
    g = new_graph(NULL);
    a = value(g, "a", TYPE(QC_F32, 2));
    int32_t b = value(g, "b", TYPE(QC_F32, 2));
    unary(g, QC_OP_RELU, "first", b, a);
    unary(g, QC_OP_RELU, "second", a, b);
    CHECK_OK(qc_graph_add_output(g, b));
    expect_reject(g, "cycle", "node 'first' (Relu)", "input 'b'");

    /* A node reading its own output. */
    g = new_graph(NULL);
    x = input(g, "x", TYPE(QC_F32, 2));
    a = value(g, "a", TYPE(QC_F32, 2));
    node(g, QC_OP_ADD, "loop", (int32_t[]){x, a}, 2, &a, 1);
    CHECK_OK(qc_graph_add_output(g, a));
    expect_reject(g, "self loop", "node 'loop' (Add)", "input 'a' is used before");

    /* A value used but never defined. */
    g = new_graph(NULL);
    int32_t d = value(g, "d", TYPE(QC_F32, 2));
    a = value(g, "a", TYPE(QC_F32, 2));
    unary(g, QC_OP_RELU, NULL, d, a);
    CHECK_OK(qc_graph_add_output(g, a));
    expect_reject(g, "dangling input", "value 'd' is dangling", NULL);

    /* A graph output that nothing defines. */
    g = new_graph(NULL);
    x = input(g, "x", TYPE(QC_F32, 2));
    CHECK_OK(qc_graph_add_output(g, x));
    CHECK_OK(qc_graph_add_output(g, value(g, "ghost", TYPE(QC_F32, 2))));
    expect_reject(g, "dangling output", "value 'ghost' is dangling", NULL);

    /* A constant also listed as a graph input. */
    g = new_graph(NULL);
    int32_t c = constant(g, r, "c", TYPE(QC_F32, 2));
    CHECK_OK(qc_graph_add_input(g, c));
    CHECK_OK(qc_graph_add_output(g, c));
    expect_reject(g, "const and input", "value 'c' is defined more than once", NULL);

    /* A node output that also carries constant data (the builder refuses
     * this order, so attach the data afterwards). */
    g = new_graph(NULL);
    x = input(g, "x", TYPE(QC_F32, 2));
    a = value(g, "a", TYPE(QC_F32, 2));
    unary(g, QC_OP_RELU, NULL, x, a);
    g->values[a].data = calloc(1, 8);
    g->values[a].nbytes = 8;
    CHECK_OK(qc_graph_add_output(g, a));
    expect_reject(g, "const and node output", "value 'a' is defined more than once", NULL);

    /* A node output also listed as a graph input. */
    g = new_graph(NULL);
    x = input(g, "x", TYPE(QC_F32, 2));
    a = value(g, "a", TYPE(QC_F32, 2));
    unary(g, QC_OP_RELU, NULL, x, a);
    CHECK_OK(qc_graph_add_input(g, a));
    CHECK_OK(qc_graph_add_output(g, a));
    expect_reject(g, "input and node output", "value 'a' is defined more than once", NULL);

    /* The same input listed twice. */
    g = new_graph(NULL);
    x = input(g, "x", TYPE(QC_F32, 2));
    CHECK_OK(qc_graph_add_input(g, x));
    CHECK_OK(qc_graph_add_output(g, x));
    expect_reject(g, "input twice", "'x' is listed twice as a graph input", NULL);

    /* Wrong arity: an Add rewritten into a (unary) Relu. */
    g = new_graph(NULL);
    x = input(g, "x", TYPE(QC_F32, 2));
    a = value(g, "a", TYPE(QC_F32, 2));
    int32_t n = node(g, QC_OP_ADD, "was_add", (int32_t[]){x, x}, 2, &a, 1);
    g->nodes[n].op = QC_OP_RELU;
    CHECK_OK(qc_graph_add_output(g, a));
    expect_reject(g, "arity (too many)", "node 'was_add' (Relu)", "2 inputs / 1 outputs");

    /* Wrong arity: a Gemm that lost an input. */
    g = new_graph(NULL);
    x = input(g, "x", TYPE(QC_F32, 2, 2));
    a = value(g, "a", TYPE(QC_F32, 2, 2));
    n = node(g, QC_OP_GEMM, "fc", (int32_t[]){x, x}, 2, &a, 1);
    g->nodes[n].n_in = 1;
    CHECK_OK(qc_graph_add_output(g, a));
    expect_reject(g, "arity (too few)", "node 'fc' (Gemm)", "1 inputs / 1 outputs, op takes 2..3");

    /* Ids out of range. */
    g = new_graph(NULL);
    x = input(g, "x", TYPE(QC_F32, 2));
    a = value(g, "a", TYPE(QC_F32, 2));
    n = unary(g, QC_OP_RELU, "bad_in", x, a);
    g->nodes[n].in[0] = 99;
    CHECK_OK(qc_graph_add_output(g, a));
    expect_reject(g, "bad input id", "node 'bad_in' (Relu)", "input 0 has bad id 99");

    g = new_graph(NULL);
    x = input(g, "x", TYPE(QC_F32, 2));
    CHECK_OK(qc_graph_add_output(g, x));
    g->outputs[0] = 42;
    expect_reject(g, "bad output id", "graph output 0 has bad id 42", NULL);

    /* No outputs at all. */
    g = new_graph(NULL);
    input(g, "x", TYPE(QC_F32, 2));
    expect_reject(g, "no outputs", "graph 'g' has no outputs", NULL);
}

/* ---- types, constants, quantization -------------------------------------------- */

static void test_types(rng *r) {
    qc_graph *g = new_graph(NULL);
    int32_t x = input(g, "x", TYPE(QC_F32, SYM, 4));
    CHECK_OK(qc_graph_add_output(g, x));
    expect_reject(g, "symbolic dim without batch",
                  "value 'x' has a symbolic dim but the graph declares no batch name", NULL);

    g = new_graph(NULL);
    x = input(g, "x", TYPE(QC_F32, 2));
    int32_t y = value(g, "y", (qc_type){0});
    unary(g, QC_OP_RELU, NULL, x, y);
    CHECK_OK(qc_graph_add_output(g, y));
    expect_reject(g, "untyped value", "value 'y' has no valid type", NULL);

    g = new_graph(NULL);
    int32_t w = constant(g, r, "w", TYPE(QC_F32, 2, 3));
    g->values[w].nbytes = 20;
    CHECK_OK(qc_graph_add_output(g, w));
    expect_reject(g, "constant size", "constant 'w': 20 bytes do not match its type", NULL);

    /* Declared output types must equal what inference computes (needs Relu
     * and Add inference, ir/infer_tensor.c). */
    g = new_graph(NULL);
    x = input(g, "x", TYPE(QC_F32, 2, 3));
    y = value(g, "y", TYPE(QC_F32, 2, 4));
    unary(g, QC_OP_RELU, NULL, x, y);
    CHECK_OK(qc_graph_add_output(g, y));
    expect_reject(g, "Relu type mismatch", "node 'y' (Relu)",
                  "output 'y' is declared f32[2,4] but the op produces f32[2,3]");

    g = new_graph("N");
    x = input(g, "x", TYPE(QC_F32, SYM, 3));
    int32_t c = constant(g, r, "c", TYPE(QC_F32, 2, 1, 3));
    y = value(g, "sum", TYPE(QC_F16, SYM, 3));
    node(g, QC_OP_ADD, "add", (int32_t[]){x, c}, 2, &y, 1);
    CHECK_OK(qc_graph_add_output(g, y));
    expect_reject(g, "Add type mismatch", "node 'add' (Add)",
                  "output 'sum' is declared f16[N,3] but the op produces f32[2,N,3]");
}

/* A graph whose only content is constant 'w' of type t with these quant
 * params; returns the verifier's verdict via expect_reject. */
static void reject_quant(rng *r, qc_type t, qc_qkind kind, int32_t axis, int32_t block,
                         const float *scale, const int32_t *zero, int32_t count, const char *what,
                         const char *msg) {
    qc_graph *g = new_graph("N");
    bool sym = qc_type_numel(&t) < 0;
    int32_t w = sym ? input(g, "w", t) : constant(g, r, "w", t);
    set_quant(g, w, kind, axis, block, scale, zero, count);
    CHECK_OK(qc_graph_add_output(g, w));
    expect_reject(g, what, "value 'w'", msg);
}

static void test_quant(rng *r) {
    const float s1[] = {0.5f, 0.25f, 0.125f, 1.0f, 2.0f, 4.0f, 8.0f, 16.0f, 0.75f};
    const int32_t z0[] = {1, -2, 3, 0, 5, -6, 7, 0, 2};
    qc_type t = TYPE(QC_I8, 3, 4);
    reject_quant(r, t, QC_Q_AXIS, 2, 0, s1, z0, 3, "axis past rank", "quant axis 2 outside rank 2");
    reject_quant(r, t, QC_Q_AXIS, -1, 0, s1, z0, 3, "negative axis", "quant axis -1 outside rank 2");
    reject_quant(r, t, QC_Q_AXIS, 0, 0, s1, z0, 4, "axis count", "4 quant entries, shape needs 3");
    reject_quant(r, t, QC_Q_TENSOR, 0, 0, s1, z0, 2, "tensor count", "2 quant entries, shape needs 1");

    const float zero_scale[] = {0.5f, 0.0f, 1.0f}, neg_scale[] = {-0.5f};
    const float nan_scale[] = {NAN}, inf_scale[] = {INFINITY};
    reject_quant(r, t, QC_Q_AXIS, 0, 0, zero_scale, z0, 3, "zero scale", "quant scale[1] = 0 is not positive");
    reject_quant(r, t, QC_Q_TENSOR, 0, 0, neg_scale, z0, 1, "negative scale", "scale[0] = -0.5 is not positive");
    reject_quant(r, t, QC_Q_TENSOR, 0, 0, nan_scale, z0, 1, "nan scale", "is not positive");
    reject_quant(r, t, QC_Q_TENSOR, 0, 0, inf_scale, z0, 1, "inf scale", "is not positive");

    const int32_t z128[] = {128}, zm1[] = {-1}, z8[] = {8}, z16[] = {16};
    reject_quant(r, t, QC_Q_TENSOR, 0, 0, s1, z128, 1, "i8 zero", "zero point 128 outside i8 range");
    reject_quant(r, TYPE(QC_U8, 4), QC_Q_TENSOR, 0, 0, s1, zm1, 1, "u8 zero", "zero point -1 outside u8 range");
    reject_quant(r, TYPE(QC_I4, 4), QC_Q_TENSOR, 0, 0, s1, z8, 1, "i4 zero", "zero point 8 outside i4 range");
    reject_quant(r, TYPE(QC_U4, 4), QC_Q_TENSOR, 0, 0, s1, z16, 1, "u4 zero", "zero point 16 outside u4 range");

    /* Blocked: i4[4,6], blocks of 4 along axis 1 -> 4 * ceil(6/4) = 8 entries. */
    qc_type bt = TYPE(QC_I4, 4, 6);
    reject_quant(r, bt, QC_Q_BLOCK, 1, 4, s1, z0, 6, "block count", "6 quant entries, shape needs 8");
    reject_quant(r, bt, QC_Q_BLOCK, 1, 0, s1, z0, 8, "block size", "quant block size 0 < 1");
    reject_quant(r, bt, QC_Q_BLOCK, 2, 4, s1, z0, 8, "block axis", "quant axis 2 outside rank 2");
    reject_quant(r, TYPE(QC_I8, SYM, 4), QC_Q_AXIS, 0, 0, s1, z0, 1, "axis on batch dim",
                 "quant axis 0 is the symbolic dim");
    reject_quant(r, TYPE(QC_I8, SYM, 4), QC_Q_BLOCK, 1, 2, s1, z0, 2, "block with batch dim",
                 "blocked quant params need a static shape");
}

int main(void) {
    uint64_t seed = qc_test_seed("test_verify");
    rng r = {seed};
    test_good(&r);
    test_structure(&r);
    test_types(&r);
    test_quant(&r);
    return qc_test_summary("test_verify");
}
