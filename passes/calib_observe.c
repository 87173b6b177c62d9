/* calib_observe.c — a second driver over qc_ref_eval_node that reports every value
 * to an observer (calibration). It is separate from interp.c so the plain
 * interpreter stays minimal; both evaluate nodes through the same
 * qc_ref_eval_node, so observed values are exactly what qc_ref_run computes.
 * It lives in passes/ (libqcomp), not backends/ref/, because CMake puts
 * every C file of backends/ref/ but interp.c into libqcrt, which must not
 * call the compiler-side qc_ref_eval_node. Memory stays bounded by the live
 * set: intermediates are freed after their last reader, as in interp.c. */
#include <stdlib.h>
#include <string.h>

#include "passes/calib_observe.h"
#include "backends/ref/ref.h"
#include "ir/dtype.h"

#define OBS_MAX_IO 64

typedef struct obs_run {
    const qc_graph *g;
    qc_tensor *vals;
    uint8_t *owned;
    int32_t *last_use;
} obs_run;

static void obs_free(obs_run *r, int32_t id) {
    if (r->owned[id]) free(r->vals[id].data);
    r->owned[id] = 0;
    r->vals[id].data = NULL;
}

/* Binds graph inputs after checking dtype and rank; the kernels' inference
 * checks the concrete dims (and the batch binding) node by node. */
static qc_status obs_bind(obs_run *r, const qc_tensor *inputs, int32_t n_inputs,
                          qc_ref_observer observe, void *user) {
    const qc_graph *g = r->g;
    if (n_inputs != g->n_inputs)
        return qc_error(QC_ERR_INVALID, "graph '%s' takes %d inputs, %d given", g->name,
                        (int)g->n_inputs, (int)n_inputs);
    for (int32_t i = 0; i < n_inputs; i++) {
        const qc_value *v = &g->values[g->inputs[i]];
        const qc_tensor_desc *d = &inputs[i].desc;
        if (d->dtype != v->type.dtype || d->rank != v->type.rank)
            return qc_error(QC_ERR_INVALID, "input '%s': expected %s rank %d, got %s rank %d",
                            v->name, qc_dtype_name(v->type.dtype), (int)v->type.rank,
                            qc_dtype_name(d->dtype), (int)d->rank);
        for (int32_t k = 0; k < d->rank; k++)
            if (v->type.dims[k] != QC_DIM_SYM && v->type.dims[k] != d->dims[k])
                return qc_error(QC_ERR_INVALID, "input '%s': dim %d is %lld, expected %lld",
                                v->name, (int)k, (long long)d->dims[k],
                                (long long)v->type.dims[k]);
        r->vals[g->inputs[i]] = inputs[i];
        qc_status st = observe ? observe(user, g, g->inputs[i], &inputs[i]) : NULL;
        if (st) return st;
    }
    return NULL;
}

static qc_status obs_node(obs_run *r, int32_t ni, qc_ref_observer observe, void *user) {
    const qc_node *n = &r->g->nodes[ni];
    if (n->n_in > OBS_MAX_IO || n->n_out > OBS_MAX_IO)
        return qc_node_error(n, QC_ERR_INVALID, "too many inputs/outputs");
    qc_tensor in[OBS_MAX_IO], out[OBS_MAX_IO];
    for (int32_t k = 0; k < n->n_in; k++) {
        memset(&in[k], 0, sizeof in[k]);
        if (n->in[k] >= 0) in[k] = r->vals[n->in[k]];
    }
    qc_status st = qc_ref_eval_node(r->g, ni, in, out);
    if (st) return st;
    for (int32_t k = 0; k < n->n_out; k++) {
        r->vals[n->out[k]] = out[k];
        r->owned[n->out[k]] = 1;
    }
    for (int32_t k = 0; k < n->n_out && !st; k++)
        if (observe) st = observe(user, r->g, n->out[k], &out[k]);
    for (int32_t k = 0; k < n->n_out; k++)
        if (r->last_use[n->out[k]] < 0) obs_free(r, n->out[k]);
    for (int32_t k = 0; k < n->n_in; k++)
        if (n->in[k] >= 0 && r->last_use[n->in[k]] == ni) obs_free(r, n->in[k]);
    return st;
}

static qc_status obs_outputs(obs_run *r, qc_tensor *outputs, int32_t n_outputs) {
    for (int32_t i = 0; i < n_outputs; i++) {
        const qc_tensor *t = &r->vals[r->g->outputs[i]];
        qc_status st = qc_tensor_alloc(&t->desc, &outputs[i]);
        if (st) {
            for (int32_t k = 0; k < i; k++) qc_tensor_release(&outputs[k]);
            return st;
        }
        size_t bytes = qc_dtype_bytes(t->desc.dtype, qc_type_numel(&t->desc));
        if (bytes) memcpy(outputs[i].data, t->data, bytes);
    }
    return NULL;
}

qc_status qc_ref_run_observed(const qc_graph *g, const qc_tensor *inputs, int32_t n_inputs,
                              qc_tensor *outputs, int32_t n_outputs, qc_ref_observer observe,
                              void *user) {
    if (n_outputs != 0 && n_outputs != g->n_outputs)
        return qc_error(QC_ERR_INVALID, "graph '%s' has %d outputs, %d requested", g->name,
                        (int)g->n_outputs, (int)n_outputs);
    size_t nv = (size_t)g->n_values + 1;
    obs_run r = {g, calloc(nv, sizeof(qc_tensor)), calloc(nv, 1), calloc(nv, sizeof(int32_t))};
    qc_status st = NULL;
    if (!r.vals || !r.owned || !r.last_use)
        st = qc_error(QC_ERR_NOMEM, "out of memory starting the observed interpreter");
    if (!st) {
        for (int32_t i = 0; i < g->n_values; i++) {
            r.last_use[i] = -1;
            if (g->values[i].data) {
                r.vals[i].desc = g->values[i].type;
                r.vals[i].data = g->values[i].data;
            }
        }
        for (int32_t ni = 0; ni < g->n_nodes; ni++)
            for (int32_t k = 0; k < g->nodes[ni].n_in; k++)
                if (g->nodes[ni].in[k] >= 0) r.last_use[g->nodes[ni].in[k]] = ni;
        for (int32_t i = 0; i < g->n_outputs; i++) r.last_use[g->outputs[i]] = g->n_nodes;
        st = obs_bind(&r, inputs, n_inputs, observe, user);
    }
    for (int32_t ni = 0; !st && ni < g->n_nodes; ni++) st = obs_node(&r, ni, observe, user);
    if (!st && n_outputs) st = obs_outputs(&r, outputs, n_outputs);
    for (int32_t i = 0; r.owned && i < g->n_values; i++) obs_free(&r, i);
    free(r.vals);
    free(r.owned);
    free(r.last_use);
    return st;
}
