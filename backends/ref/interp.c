/* interp.c — the reference interpreter's driver.
 *
 * Walks the nodes in order. For each node it infers the concrete output types
 * from the actual inputs (so shape-dependent ops see real data), allocates
 * the outputs, runs the kernel, and frees every intermediate after its last
 * use so peak memory stays near the live set rather than the whole graph.
 * The per-node step (qc_ref_eval_node) is public: passes/const_fold evaluates
 * constant nodes with it, so a folded constant is exactly what the
 * interpreter would have computed at run time. */
#include <stdlib.h>
#include <string.h>

#include "backends/ref/kernels.h"
#include "backends/ref/ref.h"
#include "ir/dtype.h"

#define QC_REF_MAX_IO 64

typedef struct interp {
    const qc_graph *g;
    qc_tensor *vals;       /* per value: bound tensor (data NULL if not live) */
    uint8_t *owned;        /* per value: vals[i].data is ours to free */
    int32_t *last_use;     /* per value: last node index reading it, or n_nodes for outputs */
    qc_ref_observer observe;   /* optional: sees every input and node output */
    void *user;
} interp;

/* Shows value `id` to the observer (if any) while it is still alive. */
static qc_status observe_value(const interp *it, int32_t id) {
    return it->observe ? it->observe(it->user, it->g, id, &it->vals[id]) : NULL;
}

static qc_status bind_inputs(interp *it, const qc_tensor *inputs, int32_t n_inputs) {
    const qc_graph *g = it->g;
    if (n_inputs != g->n_inputs)
        return qc_error(QC_ERR_INVALID, "graph '%s' takes %d inputs, %d given", g->name,
                        (int)g->n_inputs, (int)n_inputs);
    int64_t batch = -1;
    for (int32_t i = 0; i < n_inputs; i++) {
        const qc_value *v = &g->values[g->inputs[i]];
        const qc_tensor_desc *d = &inputs[i].desc;
        if (d->dtype != v->type.dtype || d->rank != v->type.rank)
            return qc_error(QC_ERR_INVALID, "input '%s': expected %s rank %d, got %s rank %d",
                            v->name, qc_dtype_name(v->type.dtype), (int)v->type.rank,
                            qc_dtype_name(d->dtype), (int)d->rank);
        for (int32_t k = 0; k < d->rank; k++) {
            int64_t want = v->type.dims[k];
            if (want == QC_DIM_SYM) {
                if (batch >= 0 && d->dims[k] != batch)
                    return qc_error(QC_ERR_INVALID,
                                    "input '%s': dim %d is %lld but %s was bound to %lld",
                                    v->name, (int)k, (long long)d->dims[k],
                                    g->batch ? g->batch : "the batch dim", (long long)batch);
                batch = d->dims[k];
                if (batch < 0)
                    return qc_error(QC_ERR_INVALID, "input '%s': dim %d is negative", v->name, (int)k);
            } else if (d->dims[k] != want) {
                return qc_error(QC_ERR_INVALID, "input '%s': dim %d is %lld, expected %lld",
                                v->name, (int)k, (long long)d->dims[k], (long long)want);
            }
        }
        if (!inputs[i].data && qc_type_numel(&v->type) != 0)
            return qc_error(QC_ERR_INVALID, "input '%s' has no data", v->name);
        it->vals[g->inputs[i]] = inputs[i];
        qc_status st = observe_value(it, g->inputs[i]);
        if (st) return st;
    }
    return NULL;
}

static void compute_last_use(interp *it) {
    const qc_graph *g = it->g;
    for (int32_t i = 0; i < g->n_values; i++) it->last_use[i] = -1;
    for (int32_t ni = 0; ni < g->n_nodes; ni++)
        for (int32_t k = 0; k < g->nodes[ni].n_in; k++)
            if (g->nodes[ni].in[k] >= 0) it->last_use[g->nodes[ni].in[k]] = ni;
    for (int32_t i = 0; i < g->n_outputs; i++) it->last_use[g->outputs[i]] = g->n_nodes;
}

static void free_value(interp *it, int32_t id) {
    if (it->owned[id]) free(it->vals[id].data);
    it->owned[id] = 0;
    it->vals[id].data = NULL;
}

qc_status qc_ref_eval_node(const qc_graph *g, int32_t node_id, const qc_tensor *in,
                           qc_tensor *out) {
    if (node_id < 0 || node_id >= g->n_nodes)
        return qc_error(QC_ERR_INVALID, "graph '%s' has no node %d", g->name, (int)node_id);
    const qc_node *n = &g->nodes[node_id];
    if (n->n_in > QC_REF_MAX_IO || n->n_out > QC_REF_MAX_IO)
        return qc_node_error(n, QC_ERR_INVALID, "too many inputs/outputs");
    qc_type in_types[QC_REF_MAX_IO], out_types[QC_REF_MAX_IO];
    const void *in_data[QC_REF_MAX_IO];
    for (int32_t k = 0; k < n->n_in; k++) {
        in_types[k] = in[k].desc;
        in_data[k] = in[k].data;
    }
    qc_infer_ctx ctx = {g->batch, n, n->n_in, in_types, in_data, n->n_out, out_types};
    qc_status st = qc_infer_node(&ctx);
    if (st) return st;
    memset(out, 0, sizeof out[0] * (size_t)n->n_out);
    for (int32_t k = 0; k < n->n_out && !st; k++) st = qc_tensor_alloc(&out_types[k], &out[k]);
    if (!st) {
        qc_ref_args a = {n, n->n_in, in, n->n_out, out};
        st = qc_ref_run_kernel(&a);
    }
    if (st)
        for (int32_t k = 0; k < n->n_out; k++) qc_tensor_release(&out[k]);
    return st;
}

static qc_status run_node(interp *it, int32_t ni) {
    const qc_node *n = &it->g->nodes[ni];
    if (n->n_in > QC_REF_MAX_IO || n->n_out > QC_REF_MAX_IO)
        return qc_node_error(n, QC_ERR_INVALID, "too many inputs/outputs");
    qc_tensor in[QC_REF_MAX_IO], out[QC_REF_MAX_IO];
    for (int32_t k = 0; k < n->n_in; k++) {
        memset(&in[k], 0, sizeof in[k]);
        if (n->in[k] >= 0) in[k] = it->vals[n->in[k]];
    }
    qc_status st = qc_ref_eval_node(it->g, ni, in, out);
    if (st) return st;
    for (int32_t k = 0; k < n->n_out; k++) {
        it->vals[n->out[k]] = out[k];
        it->owned[n->out[k]] = 1;
    }
    for (int32_t k = 0; k < n->n_out && !st; k++) st = observe_value(it, n->out[k]);
    for (int32_t k = 0; k < n->n_out; k++)
        if (it->last_use[n->out[k]] < 0) free_value(it, n->out[k]);   /* never read */
    for (int32_t k = 0; k < n->n_in; k++)
        if (n->in[k] >= 0 && it->last_use[n->in[k]] == ni) free_value(it, n->in[k]);
    return st;
}

/* Hands graph outputs to the caller; an output listed twice, or that is a
 * graph input or constant, is copied so the caller owns every buffer. */
static qc_status take_outputs(interp *it, qc_tensor *outputs, int32_t n_outputs) {
    const qc_graph *g = it->g;
    for (int32_t i = 0; i < n_outputs; i++) {
        int32_t id = g->outputs[i];
        const qc_tensor *t = &it->vals[id];
        if (it->owned[id]) {
            outputs[i] = *t;
            it->owned[id] = 0;
            continue;
        }
        qc_status st = qc_tensor_alloc(&t->desc, &outputs[i]);
        if (st) {
            for (int32_t k = 0; k < i; k++) qc_tensor_release(&outputs[k]);
            return st;
        }
        int64_t numel = qc_type_numel(&t->desc);
        size_t bytes = qc_dtype_bytes(t->desc.dtype, numel);
        if (bytes) memcpy(outputs[i].data, t->data, bytes);
    }
    return NULL;
}

qc_status qc_ref_run(const qc_graph *g, const qc_tensor *inputs, int32_t n_inputs,
                     qc_tensor *outputs, int32_t n_outputs) {
    return qc_ref_run_observed(g, inputs, n_inputs, outputs, n_outputs, NULL, NULL);
}

qc_status qc_ref_run_observed(const qc_graph *g, const qc_tensor *inputs, int32_t n_inputs,
                              qc_tensor *outputs, int32_t n_outputs, qc_ref_observer observe,
                              void *user) {
    bool want_outputs = outputs || n_outputs;
    if (want_outputs && n_outputs != g->n_outputs)
        return qc_error(QC_ERR_INVALID, "graph '%s' has %d outputs, %d requested", g->name,
                        (int)g->n_outputs, (int)n_outputs);
    interp it = {g, calloc((size_t)g->n_values + 1, sizeof(qc_tensor)),
                 calloc((size_t)g->n_values + 1, 1),
                 calloc((size_t)g->n_values + 1, sizeof(int32_t)), observe, user};
    qc_status st = NULL;
    if (!it.vals || !it.owned || !it.last_use)
        st = qc_error(QC_ERR_NOMEM, "out of memory starting the ref interpreter");
    if (!st) {
        for (int32_t i = 0; i < g->n_values; i++)
            if (g->values[i].data) {
                it.vals[i].desc = g->values[i].type;
                it.vals[i].data = g->values[i].data;
            }
        compute_last_use(&it);
        st = bind_inputs(&it, inputs, n_inputs);
    }
    for (int32_t ni = 0; !st && ni < g->n_nodes; ni++) st = run_node(&it, ni);
    if (!st && want_outputs) st = take_outputs(&it, outputs, n_outputs);
    for (int32_t i = 0; it.owned && i < g->n_values; i++) free_value(&it, i);
    free(it.vals);
    free(it.owned);
    free(it.last_use);
    return st;
}
