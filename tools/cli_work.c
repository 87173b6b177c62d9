/* cli_work.c — the arithmetic work of a model for `qcomp bench`'s GOP/s line:
 * 2 x the multiply-accumulates of its GEMM and convolution layers, with the
 * symbolic batch dim bound. Element-wise ops, pooling and quantize steps are
 * not counted (the usual convention for GOPS figures of int8 networks). */
#include "tools/cli_args.h"

#include "compiler/artifact_write.h"
#include "runtime/model.h"

static double numel(const qc_type *t, int64_t batch) {
    double n = 1;
    for (int32_t d = 0; d < t->rank; d++) n *= (double)(t->dims[d] == QC_DIM_SYM ? batch : t->dims[d]);
    return n;
}

static const qc_type *in_type(const qc_graph *g, const qc_node *n, int32_t k) {
    return k < n->n_in && n->in[k] >= 0 ? &g->values[n->in[k]].type : NULL;
}

/* Multiply-accumulates of one node (0 for the ops not counted). */
static double node_macs(const qc_graph *g, const qc_node *n, int64_t batch) {
    if (n->n_out < 1 || n->out[0] < 0) return 0;
    const qc_type *y = &g->values[n->out[0]].type, *a = in_type(g, n, 0), *w = NULL;
    bool conv = false;
    switch (n->op) {
    case QC_OP_GEMM: case QC_OP_MATMUL: case QC_OP_FUSED_GEMM: case QC_OP_FUSED_MATMUL:
    case QC_OP_MATMUL_INTEGER:
        w = in_type(g, n, 1);
        break;
    case QC_OP_QGEMM: case QC_OP_QLINEAR_MATMUL: w = in_type(g, n, 3); break;
    case QC_OP_CONV: case QC_OP_FUSED_CONV: case QC_OP_CONV_INTEGER:
        w = in_type(g, n, 1);
        conv = true;
        break;
    case QC_OP_QCONV: case QC_OP_QLINEAR_CONV:
        w = in_type(g, n, 3);
        conv = true;
        break;
    default: return 0;
    }
    if (!a || !w || a->rank < 1 || w->rank < 1) return 0;
    if (conv) return numel(y, batch) * numel(w, batch) / (double)(w->dims[0] > 0 ? w->dims[0] : 1);
    bool ta = n->op == QC_OP_GEMM && qc_attr_int(n, "transA", 0);
    int64_t k = ta ? a->dims[0] : a->dims[a->rank - 1];
    return numel(y, batch) * (double)(k > 0 ? k : 1);
}

double qc_cli_graph_ops(const qc_graph *g, int64_t batch) {
    double macs = 0;
    for (int32_t i = 0; i < g->n_nodes; i++) macs += node_macs(g, &g->nodes[i], batch);
    return 2.0 * macs;
}

qc_status qc_cli_model_ops(const char *path, int64_t batch, double *ops) {
    *ops = 0;
    qc_graph *g = NULL;
    qc_status st = NULL;
    if (qc_cli_is_qcm_file(path)) {
        qc_model_data *m = NULL;
        st = qc_model_data_read_file(path, &m);
        if (!st) st = qc_artifact_to_graph(m, &g);
        qc_model_data_free(m);
    } else {
        st = qc_cli_load_model(path, false, &g);
    }
    if (!st) *ops = qc_cli_graph_ops(g, batch);
    qc_graph_destroy(g);
    return st;
}
