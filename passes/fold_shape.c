/* fold_shape.c — folding shape computations over the symbolic batch.
 *
 * torch.onnx.export writes `x.view(x.size(0), -1)` as
 *   Shape(x) -> Gather(0) -> Unsqueeze -> Concat(with [-1]) -> Reshape(x, .)
 * With a static batch every step has constant inputs and the driver folds the
 * chain away. With a symbolic batch (x: f32[N,...]) Shape(x) is not a
 * constant, yet the chain usually means "keep x's batch dim". This file
 * evaluates such chains partially: Shape produces an i64 tensor whose batch
 * entries hold the marker QC_FOLD_BATCH; ops that only move elements (Gather,
 * Slice, Concat, Squeeze, Unsqueeze, ...) run on it with the ordinary ref
 * kernels, which copy the marker like any other value; and the consumer is
 * rewritten where ONNX can say the same thing without knowing the batch:
 * Reshape's shape gets 0 ("copy the input dim") at the marker.
 *
 * The rules keep results exact for every batch size:
 *  - the marker only enters inputs whose values no inference or kernel reads
 *    (data inputs of copy ops, never indices, axes or shapes);
 *  - any op that computes with values (Mul, Add, Equal, ...) gives up: the
 *    node stays and runs at run time with real data;
 *  - a result without a marker no longer depends on the batch (e.g. Gather of
 *    a static dim) and becomes a real constant;
 *  - Expand / ConstantOfShape / Tile / Range fed a marked shape stay nodes:
 *    their output size follows the batch, so there is nothing to fold; the
 *    interpreter computes them from real data at run time. */
#include <stdlib.h>
#include <string.h>

#include "backends/ref/ref.h"
#include "ir/dtype.h"
#include "ops/infer_tensor.h"
#include "passes/fold.h"

#define FOLD_MAX_IO 64   /* the largest arity in ir/ops.def */

static bool has_marker(const qc_type *t, const void *data) {
    if (t->dtype != QC_I64 || !data) return false;
    int64_t n = qc_type_numel(t);
    for (int64_t i = 0; i < n; i++)
        if (((const int64_t *)data)[i] == QC_FOLD_BATCH) return true;
    return false;
}

/* Records node ni's single result: a constant when the batch dropped out of
 * it, a marked tensor (the node stays, as part of a chain) otherwise. */
static void publish(qc_fold *f, int32_t ni, int32_t id, qc_tensor *t) {
    if (has_marker(&t->desc, t->data)) {
        f->marked[id] = *t;
        t->data = NULL;
        f->chain[ni] = 1;
    } else {
        qc_fold_set_const(f, id, t);
        f->folded[ni] = 1;
    }
}

/* ---- sources: Shape and Size ------------------------------------------------ */

qc_status qc_fold_shape_source(qc_fold *f, int32_t ni, bool *handled) {
    const qc_graph *g = f->g;
    const qc_node *n = &g->nodes[ni];
    *handled = n->op == QC_OP_SHAPE || n->op == QC_OP_SIZE;
    if (!*handled || n->n_in < 1 || n->in[0] < 0 || n->n_out != 1) return NULL;
    const qc_type *x = &g->values[n->in[0]].type;
    const qc_type *y = &g->values[n->out[0]].type;
    qc_tensor t;
    qc_status st;
    if (n->op == QC_OP_SIZE) {
        /* numel is -1 with the batch in it: N * k is arithmetic, leave it. */
        int64_t numel = qc_type_numel(x);
        if (numel < 0 || y->dtype != QC_I64 || y->rank != 0) return NULL;
        if ((st = qc_tensor_alloc(y, &t))) return st;
        ((int64_t *)t.data)[0] = numel;
    } else {
        int64_t lo, hi;   /* Shape-15's start/end, the same rule inference uses */
        qc_infer_shape_range(n, x->rank, &lo, &hi);
        if (hi < lo) hi = lo;
        /* Inference typed the output; refuse anything but the expected
         * i64[hi - lo] rather than trust a reading that disagrees. */
        if (y->dtype != QC_I64 || y->rank != 1 || y->dims[0] != hi - lo) return NULL;
        if ((st = qc_tensor_alloc(y, &t))) return st;
        for (int64_t k = lo; k < hi; k++)
            ((int64_t *)t.data)[k - lo] = x->dims[k] == QC_DIM_SYM ? QC_FOLD_BATCH : x->dims[k];
    }
    publish(f, ni, n->out[0], &t);
    return NULL;
}

/* ---- copy ops over marked tensors -------------------------------------------- */

/* May input `k` of `op` hold a marked tensor? Only where the op copies the
 * values without reading them; every other input (indices, axes, shapes,
 * Where's condition) must be an ordinary constant. Cast qualifies only as
 * i64 -> i64 (checked by the caller through the output type). */
static bool marker_may_flow(qc_op op, int32_t k) {
    switch (op) {
    case QC_OP_IDENTITY: case QC_OP_CAST: case QC_OP_SQUEEZE: case QC_OP_UNSQUEEZE:
    case QC_OP_RESHAPE: case QC_OP_FLATTEN: case QC_OP_GATHER: case QC_OP_SLICE:
    case QC_OP_EXPAND:
        return k == 0;
    case QC_OP_CONCAT: return true;
    case QC_OP_WHERE: return k == 1 || k == 2;
    default: return false;
    }
}

qc_status qc_fold_shape_step(qc_fold *f, int32_t ni) {
    const qc_graph *g = f->g;
    const qc_node *n = &g->nodes[ni];
    if (n->n_out != 1 || n->n_in > FOLD_MAX_IO) return NULL;
    const qc_type *y = &g->values[n->out[0]].type;
    int64_t count = qc_type_numel(y);
    if (y->dtype != QC_I64 || count < 0 || count > QC_FOLD_MAX_MARKED) return NULL;
    qc_tensor in[FOLD_MAX_IO];
    for (int32_t k = 0; k < n->n_in; k++) {
        memset(&in[k], 0, sizeof in[k]);
        int32_t id = n->in[k];
        if (id < 0) continue;
        const qc_value *v = &g->values[id];
        if (f->marked[id].data) {
            if (!marker_may_flow(n->op, k)) return NULL;
            in[k] = f->marked[id];
        } else if (v->data && !has_marker(&v->type, v->data)) {
            in[k].desc = v->type;
            in[k].data = v->data;
        } else {
            return NULL;   /* unknown until run time, or a constant that looks like a marker */
        }
    }
    qc_tensor out;
    qc_status st = qc_ref_eval_node(g, ni, in, &out);
    if (st) {
        /* The node will report the same problem at run time, if it is real. */
        bool fatal = qc_status_code(st) == QC_ERR_NOMEM;
        if (!fatal) qc_status_free(st);
        return fatal ? st : NULL;
    }
    if (!qc_type_equal(&out.desc, y)) {
        qc_tensor_release(&out);
        return NULL;
    }
    publish(f, ni, n->out[0], &out);
    qc_tensor_release(&out);   /* no-op when publish took the data */
    return NULL;
}

/* ---- the consumer: Reshape ----------------------------------------------------- */

/* A fresh value name derived from `base` ("sh" -> "sh.fold", "sh.fold2", ...). */
static char *fresh_name(const qc_graph *g, const char *base) {
    size_t len = strlen(base) + 32;
    char *name = malloc(len);
    for (int i = 1; name; i++) {
        if (i == 1) snprintf(name, len, "%s.fold", base);
        else snprintf(name, len, "%s.fold%d", base, i);
        if (qc_graph_find_value(g, name) < 0) break;
    }
    return name;
}

qc_status qc_fold_reshape_batch(qc_fold *f, int32_t ni) {
    qc_graph *g = f->g;
    const qc_node *n = &g->nodes[ni];
    if (n->op != QC_OP_RESHAPE || n->n_in != 2 || n->in[0] < 0 || n->in[1] < 0) return NULL;
    const qc_tensor *s = &f->marked[n->in[1]];
    /* allowzero=1 makes 0 a real zero-sized dim, so 0 cannot mean "copy". */
    if (!s->data || s->desc.rank != 1 || qc_attr_int(n, "allowzero", 0) != 0) return NULL;
    if (g->n_values >= f->cap_values) return NULL;   /* no room in the per-value arrays */
    const qc_type *x = &g->values[n->in[0]].type;
    int64_t shape[QC_FOLD_MAX_MARKED];
    int64_t len = s->desc.dims[0];
    if (len > QC_FOLD_MAX_MARKED) return NULL;
    for (int64_t i = 0; i < len; i++) {
        int64_t v = ((const int64_t *)s->data)[i];
        /* 0 copies x's dim i, which is the batch only where x has it. */
        if (v == QC_FOLD_BATCH && (i >= x->rank || x->dims[i] != QC_DIM_SYM)) return NULL;
        shape[i] = v == QC_FOLD_BATCH ? 0 : v;
    }
    /* Accept the rewrite only if inference agrees with it and with the type
     * the output already has: a Reshape that is wrong at run time stays so. */
    qc_type in_types[2] = {*x, s->desc}, out;
    const void *in_data[2] = {NULL, shape};
    qc_infer_ctx ctx = {g->batch, n, 2, in_types, in_data, 1, &out};
    qc_status st = qc_infer_node(&ctx);
    if (st) {
        qc_status_free(st);
        return NULL;
    }
    const qc_type *declared = &g->values[n->out[0]].type;
    if (declared->dtype != QC_DT_UNDEF && !qc_type_equal(declared, &out)) return NULL;
    int32_t old = n->in[1], id;
    char *name = fresh_name(g, g->values[old].name);
    if (!name) return qc_error(QC_ERR_NOMEM, "out of memory in const_fold");
    st = qc_graph_add_const(g, name, &s->desc, shape, (size_t)len * sizeof shape[0], &id);
    free(name);
    if (st) return st;
    g->nodes[ni].in[1] = id;
    f->touched[old] = 1;
    return NULL;
}
