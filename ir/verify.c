/* verify.c — whole-graph type inference and the verifier.
 *
 * Both walk nodes in order and run each op's inference with the constant data
 * known at compile time. The verifier additionally proves the structural
 * invariants every pass and backend relies on, so that they never re-check:
 * ids in range, definitions before uses, one producer per value, no dangling
 * values, declared types equal to inferred ones, consistent quant params. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ir/dtype.h"
#include "ir/ir.h"

#define QC_MAX_NODE_IO 64

/* Runs inference for node `ni` into out[]. */
static qc_status infer_one(const qc_graph *g, int32_t ni, qc_type *out) {
    const qc_node *n = &g->nodes[ni];
    if (n->n_in > QC_MAX_NODE_IO || n->n_out > QC_MAX_NODE_IO)
        return qc_node_error(n, QC_ERR_INVALID, "too many inputs/outputs");
    qc_type in[QC_MAX_NODE_IO];
    const void *data[QC_MAX_NODE_IO];
    for (int32_t i = 0; i < n->n_in; i++) {
        if (n->in[i] < 0) {
            memset(&in[i], 0, sizeof in[i]);
            data[i] = NULL;
            continue;
        }
        in[i] = g->values[n->in[i]].type;
        data[i] = g->values[n->in[i]].data;
    }
    qc_infer_ctx ctx = {g->batch, n, n->n_in, in, data, n->n_out, out};
    return qc_infer_node(&ctx);
}

static qc_status type_mismatch(const qc_graph *g, const qc_node *n, const qc_value *v,
                               const qc_type *inferred) {
    char want[160], have[160];
    qc_type_format(inferred, g->batch, want, sizeof want);
    qc_type_format(&v->type, g->batch, have, sizeof have);
    return qc_node_error(n, QC_ERR_INVALID, "output '%s' is declared %s but the op produces %s",
                         v->name, have, want);
}

qc_status qc_graph_infer(qc_graph *g) {
    for (int32_t ni = 0; ni < g->n_nodes; ni++) {
        const qc_node *n = &g->nodes[ni];
        qc_type out[QC_MAX_NODE_IO];
        qc_status st = infer_one(g, ni, out);
        if (st) return st;
        for (int32_t k = 0; k < n->n_out; k++) {
            qc_value *v = &g->values[n->out[k]];
            if (v->type.dtype == QC_DT_UNDEF) v->type = out[k];
            else if (!qc_type_equal(&v->type, &out[k])) return type_mismatch(g, n, v, &out[k]);
        }
    }
    return NULL;
}

static bool type_has_sym(const qc_type *t) {
    for (int32_t i = 0; i < t->rank; i++)
        if (t->dims[i] == QC_DIM_SYM) return true;
    return false;
}

static qc_status verify_quant(const qc_value *v) {
    const qc_quant *q = &v->quant;
    if (q->kind == QC_Q_NONE) return NULL;
    if (q->kind < QC_Q_NONE || q->kind > QC_Q_BLOCK)
        return qc_error(QC_ERR_INVALID, "value '%s': invalid quant kind %d", v->name, (int)q->kind);
    int64_t want = 1;
    if (q->kind != QC_Q_TENSOR) {
        if (q->axis < 0 || q->axis >= v->type.rank)
            return qc_error(QC_ERR_INVALID, "value '%s': quant axis %d outside rank %d", v->name,
                            (int)q->axis, (int)v->type.rank);
        int64_t d = v->type.dims[q->axis];
        if (d == QC_DIM_SYM)
            return qc_error(QC_ERR_INVALID, "value '%s': quant axis %d is the symbolic dim",
                            v->name, (int)q->axis);
        if (q->kind == QC_Q_AXIS) want = d;
        else {
            if (q->block < 1)
                return qc_error(QC_ERR_INVALID, "value '%s': quant block size %d < 1", v->name,
                                (int)q->block);
            int64_t rest = qc_type_numel(&v->type);
            if (rest < 0)
                return qc_error(QC_ERR_INVALID,
                                "value '%s': blocked quant params need a static shape", v->name);
            want = d ? rest / d * ((d + q->block - 1) / q->block) : 0;
        }
    }
    if (q->count != want)
        return qc_error(QC_ERR_INVALID, "value '%s': %d quant entries, shape needs %lld", v->name,
                        (int)q->count, (long long)want);
    int64_t lo, hi;
    qc_dtype_int_range(v->type.dtype, &lo, &hi);
    for (int32_t i = 0; i < q->count; i++) {
        if (!(q->scale[i] > 0.0f) || !isfinite(q->scale[i]))
            return qc_error(QC_ERR_INVALID, "value '%s': quant scale[%d] = %g is not positive",
                            v->name, (int)i, (double)q->scale[i]);
        if (qc_dtype_is_int(v->type.dtype) && (q->zero[i] < lo || q->zero[i] > hi))
            return qc_error(QC_ERR_INVALID, "value '%s': zero point %d outside %s range", v->name,
                            (int)q->zero[i], qc_dtype_name(v->type.dtype));
    }
    return NULL;
}

static qc_status verify_values(const qc_graph *g, const uint8_t *is_input) {
    for (int32_t i = 0; i < g->n_values; i++) {
        const qc_value *v = &g->values[i];
        if (v->type.rank < 0 || v->type.rank > QC_MAX_RANK || v->type.dtype <= QC_DT_UNDEF ||
            v->type.dtype >= QC_DT_COUNT)
            return qc_error(QC_ERR_INVALID, "value '%s' has no valid type", v->name);
        if (type_has_sym(&v->type) && !g->batch)
            return qc_error(QC_ERR_INVALID,
                            "value '%s' has a symbolic dim but the graph declares no batch name",
                            v->name);
        int defs = (v->producer >= 0) + (v->data != NULL) + is_input[i];
        if (defs == 0)
            return qc_error(QC_ERR_INVALID,
                            "value '%s' is dangling: not an input, constant or node output",
                            v->name);
        if (defs > 1)
            return qc_error(QC_ERR_INVALID, "value '%s' is defined more than once", v->name);
        if (v->data) {
            int64_t n = qc_type_numel(&v->type);
            if (n < 0 || v->nbytes != qc_dtype_bytes(v->type.dtype, n))
                return qc_error(QC_ERR_INVALID, "constant '%s': %zu bytes do not match its type",
                                v->name, v->nbytes);
        }
        qc_status st = verify_quant(v);
        if (st) return st;
    }
    return NULL;
}

static qc_status verify_io(const qc_graph *g, uint8_t *is_input) {
    for (int32_t i = 0; i < g->n_inputs; i++) {
        int32_t id = g->inputs[i];
        if (id < 0 || id >= g->n_values)
            return qc_error(QC_ERR_INVALID, "graph input %d has bad id %d", (int)i, (int)id);
        if (is_input[id])
            return qc_error(QC_ERR_INVALID, "'%s' is listed twice as a graph input",
                            g->values[id].name);
        is_input[id] = 1;
    }
    if (g->n_outputs == 0) return qc_error(QC_ERR_INVALID, "graph '%s' has no outputs", g->name);
    for (int32_t i = 0; i < g->n_outputs; i++)
        if (g->outputs[i] < 0 || g->outputs[i] >= g->n_values)
            return qc_error(QC_ERR_INVALID, "graph output %d has bad id %d", (int)i,
                            (int)g->outputs[i]);
    return NULL;
}

static qc_status verify_nodes(const qc_graph *g, const uint8_t *is_input) {
    for (int32_t ni = 0; ni < g->n_nodes; ni++) {
        const qc_node *n = &g->nodes[ni];
        const qc_op_info *info = qc_op_get_info(n->op);
        if (!info) return qc_error(QC_ERR_INVALID, "node %d has an invalid op", (int)ni);
        if (n->n_in < info->min_in || n->n_in > info->max_in || n->n_out < info->min_out ||
            n->n_out > info->max_out)
            return qc_node_error(n, QC_ERR_INVALID, "%d inputs / %d outputs, op takes %d..%d / %d..%d",
                                 (int)n->n_in, (int)n->n_out, info->min_in, info->max_in,
                                 info->min_out, info->max_out);
        for (int32_t k = 0; k < n->n_in; k++) {
            int32_t id = n->in[k];
            if (id == -1) continue;
            if (id < -1 || id >= g->n_values)
                return qc_node_error(n, QC_ERR_INVALID, "input %d has bad id %d", (int)k, (int)id);
            const qc_value *v = &g->values[id];
            if (!is_input[id] && !v->data && (v->producer < 0 || v->producer >= ni))
                return qc_node_error(n, QC_ERR_INVALID,
                                     "input '%s' is used before it is defined (graph not in "
                                     "topological order, or a cycle)",
                                     v->name);
        }
        for (int32_t k = 0; k < n->n_out; k++) {
            int32_t id = n->out[k];
            if (id < 0 || id >= g->n_values || g->values[id].producer != ni)
                return qc_node_error(n, QC_ERR_INVALID, "output %d (id %d) is not produced here",
                                     (int)k, (int)id);
        }
        qc_type out[QC_MAX_NODE_IO];
        qc_status st = infer_one(g, ni, out);
        if (st) return st;
        for (int32_t k = 0; k < n->n_out; k++) {
            const qc_value *v = &g->values[n->out[k]];
            if (!qc_type_equal(&v->type, &out[k])) return type_mismatch(g, n, v, &out[k]);
        }
    }
    return NULL;
}

qc_status qc_graph_verify(const qc_graph *g) {
    uint8_t *is_input = calloc((size_t)g->n_values + 1, 1);
    if (!is_input) return qc_error(QC_ERR_NOMEM, "out of memory verifying graph");
    qc_status st = verify_io(g, is_input);
    if (!st) st = verify_values(g, is_input);
    if (!st) st = verify_nodes(g, is_input);
    free(is_input);
    return qc_status_wrap(st, "verify graph '%s'", g->name);
}
