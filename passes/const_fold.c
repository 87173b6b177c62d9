/* const_fold.c — constant folding.
 *
 * One walk over the nodes, in order (so a node sees every fold upstream of
 * it). For each node:
 *  1. its output types are refreshed by type inference with the constant
 *     data known so far; importers may leave types undefined downstream of a
 *     shape computation, and a fold upstream is what makes them inferable;
 *  2. if every present input is a constant, the node is evaluated with the
 *     ref interpreter's own per-node step (qc_ref_eval_node) and its outputs
 *     become constants: the folded value is bit-for-bit what the interpreter
 *     would compute at run time, with no second implementation of any op
 *     (ONNX Runtime and TVM fold with their CPU kernels for the same reason);
 *  3. shape computations over the symbolic batch are folded partially
 *     (passes/fold_shape.c).
 * Folded nodes are then removed, along with the shape chains and constants
 * that only they used, and the graph is re-typed.
 *
 * What stays a node on purpose:
 *  - outputs above FOLD_MAX_ELEMS / FOLD_MAX_BYTES: ConstantOfShape, Expand,
 *    Tile or Range can turn a few input bytes into a huge tensor that is
 *    cheaper to compute at run time than to store in every artifact;
 *  - DequantizeLinear: folding it would turn a pre-quantized integer weight
 *    back into f32 and hide the Q/DQ pattern qdq_fold turns into integer ops
 *    (ONNX Runtime's folder skips it too when QDQ optimizations follow). QuantizeLinear of a
 *    constant f32 weight *is* folded: that yields the integer weight. The
 *    variant const_fold_dq runs after qdq_fold and folds the DequantizeLinear
 *    of constants that qdq_fold left (a layer whose activations stayed float):
 *    dequantizing the same weight on every run is pure waste;
 *  - the decoder of a compressed Gemm/MatMul weight (weight-only schemes:
 *    DequantizeLinear of an int8/int4 constant, the kmeans codebook's Cast +
 *    Gather): wgemm_fold makes it part of a qc.WGemm that decodes inside the
 *    GEMM, so the artifact keeps the compressed weight (docs/quantization.md);
 *  - a node whose evaluation fails: it reports the same error at run time;
 *  - a node whose types need run-time data (a Reshape fed a batch-dependent
 *    shape the folder could not rewrite, ...): it keeps its declared types,
 *    and the final re-typing is skipped since no static typing exists. */
#include <stdlib.h>
#include <string.h>

#include "backends/ref/ref.h"
#include "ir/dtype.h"
#include "passes/fold.h"
#include "passes/pass.h"

#define FOLD_MAX_IO 64                     /* the largest arity in ir/ops.def */
#define FOLD_MAX_ELEMS ((int64_t)1 << 20)  /* per folded output */
#define FOLD_MAX_BYTES ((size_t)16 << 20)

void qc_fold_set_const(qc_fold *f, int32_t id, qc_tensor *t) {
    qc_value *v = &f->g->values[id];
    v->type = t->desc;
    v->data = t->data;
    v->nbytes = qc_dtype_bytes(t->desc.dtype, qc_type_numel(&t->desc));
    v->producer = -1;
    t->data = NULL;
}

/* ---- step 1: types ---------------------------------------------------------------- */

/* Refreshes node ni's output types: fills undefined ones, checks declared
 * ones. *ok is false when inference needs data only the run time has (or the
 * op has no inference yet): the node is then left exactly as it is. */
static qc_status refresh_types(qc_fold *f, int32_t ni, bool *ok) {
    qc_graph *g = f->g;
    const qc_node *n = &g->nodes[ni];
    qc_type in[FOLD_MAX_IO], out[FOLD_MAX_IO];
    const void *data[FOLD_MAX_IO];
    *ok = false;
    if (n->n_in > FOLD_MAX_IO || n->n_out > FOLD_MAX_IO) {
        f->deferred = true;
        return NULL;
    }
    for (int32_t k = 0; k < n->n_in; k++) {
        memset(&in[k], 0, sizeof in[k]);
        data[k] = NULL;
        if (n->in[k] < 0) continue;
        const qc_value *v = &g->values[n->in[k]];
        if (v->type.dtype == QC_DT_UNDEF) {   /* upstream was not typed either */
            f->deferred = true;
            return NULL;
        }
        in[k] = v->type;
        data[k] = v->data;
    }
    qc_infer_ctx ctx = {g->batch, n, n->n_in, in, data, n->n_out, out};
    qc_status st = qc_infer_node(&ctx);
    if (st && qc_status_code(st) == QC_ERR_UNSUPPORTED) {
        qc_status_free(st);
        f->deferred = true;
        return NULL;
    }
    if (st) return st;
    for (int32_t k = 0; k < n->n_out; k++) {
        qc_value *v = &g->values[n->out[k]];
        if (v->type.dtype == QC_DT_UNDEF) {
            v->type = out[k];
        } else if (!qc_type_equal(&v->type, &out[k])) {
            char want[160], have[160];
            qc_type_format(&out[k], g->batch, want, sizeof want);
            qc_type_format(&v->type, g->batch, have, sizeof have);
            return qc_node_error(n, QC_ERR_INVALID,
                                 "output '%s' is declared %s but the op produces %s", v->name,
                                 have, want);
        }
    }
    *ok = true;
    return NULL;
}

/* ---- step 2: all-constant nodes ------------------------------------------------------ */

static bool worth_folding(const qc_fold *f, const qc_node *n) {
    const qc_graph *g = f->g;
    if (n->op == QC_OP_DEQUANTIZE_LINEAR && !f->fold_dequantize) return false;   /* see the top */
    if (qc_wgemm_decoder_kept(g, (int32_t)(n - g->nodes))) return false;         /* see the top */
    for (int32_t k = 0; k < n->n_out; k++) {
        const qc_type *t = &g->values[n->out[k]].type;
        int64_t numel = qc_type_numel(t);
        if (numel < 0 || numel > FOLD_MAX_ELEMS || qc_dtype_bytes(t->dtype, numel) > FOLD_MAX_BYTES)
            return false;
    }
    return true;
}

static qc_status fold_constant(qc_fold *f, int32_t ni) {
    const qc_graph *g = f->g;
    const qc_node *n = &g->nodes[ni];
    if (!worth_folding(f, n)) return NULL;
    qc_tensor in[FOLD_MAX_IO], out[FOLD_MAX_IO];
    for (int32_t k = 0; k < n->n_in; k++) {
        memset(&in[k], 0, sizeof in[k]);
        if (n->in[k] < 0) continue;
        in[k].desc = g->values[n->in[k]].type;
        in[k].data = g->values[n->in[k]].data;
    }
    qc_status st = qc_ref_eval_node(g, ni, in, out);
    if (st) {
        /* Not ours to report: the node stays and fails the same way at run
         * time (or a later pass names it). Out of memory is ours. */
        if (qc_status_code(st) == QC_ERR_NOMEM) return st;
        qc_status_free(st);
        return NULL;
    }
    for (int32_t k = 0; k < n->n_out; k++) qc_fold_set_const(f, n->out[k], &out[k]);
    f->folded[ni] = 1;
    return NULL;
}

/* ---- the walk ------------------------------------------------------------------------ */

typedef enum { INPUTS_UNKNOWN, INPUTS_CONST, INPUTS_MARKED } input_kind;

/* INPUTS_CONST: every present input is a constant (and there is one);
 * INPUTS_MARKED: constants and at least one batch-marked shape tensor. */
static input_kind classify_inputs(const qc_fold *f, const qc_node *n) {
    bool any = false, marked = false;
    for (int32_t k = 0; k < n->n_in; k++) {
        int32_t id = n->in[k];
        if (id < 0) continue;
        any = true;
        if (f->marked[id].data) marked = true;
        else if (!f->g->values[id].data) return INPUTS_UNKNOWN;
    }
    if (!any) return INPUTS_UNKNOWN;
    return marked ? INPUTS_MARKED : INPUTS_CONST;
}

static qc_status fold_node(qc_fold *f, int32_t ni) {
    bool ok, handled;
    /* The Reshape rewrite comes first: it is what makes the node typable. */
    qc_status st = qc_fold_reshape_batch(f, ni);
    if (!st) st = refresh_types(f, ni, &ok);
    if (st || !ok) return st;
    if ((st = qc_fold_shape_source(f, ni, &handled)) || handled) return st;
    switch (classify_inputs(f, &f->g->nodes[ni])) {
    case INPUTS_CONST: return fold_constant(f, ni);
    case INPUTS_MARKED: return qc_fold_shape_step(f, ni);
    default: return NULL;
    }
}

/* ---- cleanup ------------------------------------------------------------------------- */

/* Drops folded nodes, chain nodes nothing reads any more, and the values
 * only they produced or read. It is not a general dce: code that was dead
 * before folding, and unused constants the folder never touched, stay (the
 * dce pass decides about those). Works backwards, so every reader of a value
 * is decided before the value is. */
static qc_status remove_dead(qc_fold *f) {
    qc_graph *g = f->g;
    uint8_t *used = calloc((size_t)g->n_values + 1, 1);
    uint8_t *keep_value = calloc((size_t)g->n_values + 1, 1);
    uint8_t *keep_node = calloc((size_t)g->n_nodes + 1, 1);
    qc_status st = NULL;
    if (!used || !keep_value || !keep_node)
        st = qc_error(QC_ERR_NOMEM, "out of memory in const_fold");
    for (int32_t i = 0; !st && i < g->n_outputs; i++) used[g->outputs[i]] = 1;
    for (int32_t ni = g->n_nodes - 1; !st && ni >= 0; ni--) {
        const qc_node *n = &g->nodes[ni];
        bool keep = !f->folded[ni];
        if (keep && f->chain[ni]) {
            keep = false;
            for (int32_t k = 0; k < n->n_out; k++) keep |= used[n->out[k]] != 0;
        }
        keep_node[ni] = keep;
        for (int32_t k = 0; k < n->n_in; k++) {
            if (n->in[k] < 0) continue;
            if (keep) used[n->in[k]] = 1;
            else f->touched[n->in[k]] = 1;
        }
        for (int32_t k = 0; !keep && k < n->n_out; k++) f->touched[n->out[k]] = 1;
    }
    if (!st) {
        for (int32_t i = 0; i < g->n_values; i++) keep_value[i] = !f->touched[i] || used[i];
        for (int32_t i = 0; i < g->n_inputs; i++) keep_value[g->inputs[i]] = 1;
        for (int32_t ni = 0; ni < g->n_nodes; ni++)
            for (int32_t k = 0; keep_node[ni] && k < g->nodes[ni].n_out; k++)
                keep_value[g->nodes[ni].out[k]] = 1;
        st = qc_graph_compact(g, keep_node, keep_value);
    }
    free(used);
    free(keep_value);
    free(keep_node);
    return st;
}

static qc_status const_fold(qc_graph *g, bool fold_dequantize) {
    /* Room for one new constant per node (the Reshape rewrite adds them). */
    int32_t cap = g->n_values + g->n_nodes + 1;
    qc_fold f = {.g = g,
                 .fold_dequantize = fold_dequantize,
                 .cap_values = cap,
                 .marked = calloc((size_t)cap, sizeof(qc_tensor)),
                 .folded = calloc((size_t)g->n_nodes + 1, 1),
                 .chain = calloc((size_t)g->n_nodes + 1, 1),
                 .touched = calloc((size_t)cap, 1)};
    qc_status st = NULL;
    if (!f.marked || !f.folded || !f.chain || !f.touched)
        st = qc_error(QC_ERR_NOMEM, "out of memory in const_fold");
    for (int32_t ni = 0; !st && ni < g->n_nodes; ni++) st = fold_node(&f, ni);
    /* Even after an error: folded values no longer name their producer, so
     * the graph is only consistent again once those nodes are gone. */
    if (f.marked && f.folded && f.chain && f.touched) {
        qc_status st2 = remove_dead(&f);
        if (!st) st = st2;
        else qc_status_free(st2);
    }
    for (int32_t i = 0; f.marked && i < cap; i++) qc_tensor_release(&f.marked[i]);
    free(f.marked);
    free(f.folded);
    free(f.chain);
    free(f.touched);
    /* Every node was typed during the walk; this re-checks the result as a
     * whole. Skipped when some node's types need run-time data: such a graph
     * has no complete static typing to check. */
    if (!st && !f.deferred) st = qc_graph_infer(g);
    return st;
}

qc_status qc_pass_const_fold(qc_graph *g) { return const_fold(g, false); }

qc_status qc_pass_const_fold_dq(qc_graph *g) { return const_fold(g, true); }
