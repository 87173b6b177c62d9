/* wgemm_fold.c — weight-only GEMMs as one node, qc.WGemm (ops.def).
 *
 * The weight-only schemes (docs/quantization.md) store a GEMM's weight
 * compressed and decode it in the graph:
 *   int8-weight / int4-weight  DequantizeLinear(w i8|u8|i4|u4, scale, zp?)
 *                              (blocked along K, per axis or per tensor)
 *   kmeans                     Gather(codebook f32[k], Cast(indices u8|u4, to=i32))
 * feeding input 1 (B) of a Gemm / MatMul (or the qc.Fused* that `fuse` made of
 * one). Folding the decoder at compile time (const_fold_dq; plain const_fold
 * for the Cast + Gather) would be fast but store the weight as f32 again,
 * losing the size that is the point of these schemes. So const_fold leaves
 * exactly these decoders alone (qc_wgemm_decoder_kept), and this pass, after
 * `fuse`, replaces decoder + GEMM by one qc.WGemm holding the compressed
 * constants; a backend then decodes in registers inside its GEMM (cpu:
 * backends/cpu/gen_wgemm.c). The ref kernel runs the replaced chain's own
 * kernels, so the rewrite is exact.
 *
 * Matched only when the decoder's output has that one reader (a weight
 * shared by two GEMMs keeps its decoder) and every decoder input is a
 * constant. */
#include <stdlib.h>
#include <string.h>

#include "ir/dtype.h"
#include "ops/op.h"
#include "passes/fold.h"
#include "passes/pass.h"

#define ONNX_INT32 6

static bool is_const(const qc_graph *g, int32_t v) { return v >= 0 && g->values[v].data; }

static bool is_gemm_family(qc_op op) {
    return op == QC_OP_GEMM || op == QC_OP_MATMUL || op == QC_OP_FUSED_GEMM ||
           op == QC_OP_FUSED_MATMUL;
}

/* The one node reading v and the input slot it reads it at, or -1 (several
 * readers, a graph output, or none). */
static int32_t sole_reader(const qc_graph *g, int32_t v, int32_t *slot) {
    for (int32_t i = 0; i < g->n_outputs; i++)
        if (g->outputs[i] == v) return -1;
    int32_t found = -1;
    for (int32_t n = 0; n < g->n_nodes; n++)
        for (int32_t k = 0; k < g->nodes[n].n_in; k++) {
            if (g->nodes[n].in[k] != v) continue;
            if (found >= 0) return -1;
            found = n;
            *slot = k;
        }
    return found;
}

/* v is read once, as the weight (input 1) of a Gemm / MatMul. */
static bool feeds_gemm_weight(const qc_graph *g, int32_t v) {
    int32_t slot = -1, r = sole_reader(g, v, &slot);
    return r >= 0 && slot == 1 && is_gemm_family(g->nodes[r].op);
}

static bool is_int_weight(qc_dtype t) {
    return t == QC_I8 || t == QC_U8 || t == QC_I4 || t == QC_U4;
}

/* DequantizeLinear of a constant 2-D integer weight with constant params. */
static bool dq_decoder(const qc_graph *g, const qc_node *n) {
    if (n->op != QC_OP_DEQUANTIZE_LINEAR || n->n_in < 2 || n->n_out != 1) return false;
    for (int32_t k = 0; k < n->n_in; k++)
        if (n->in[k] >= 0 && !is_const(g, n->in[k])) return false;
    const qc_value *x = &g->values[n->in[0]];
    return is_int_weight(x->type.dtype) && x->type.rank == 2 &&
           g->values[n->out[0]].type.dtype == QC_F32;
}

/* Cast(constant u8|u4 indices, to=i32) read once as the indices of a
 * Gather(constant 1-D f32 codebook, axis 0): the kmeans reconstruction.
 * *gather gets the Gather's node id. */
static bool codebook_cast(const qc_graph *g, const qc_node *n, int32_t *gather) {
    if (n->op != QC_OP_CAST || n->n_in != 1 || n->n_out != 1 || !is_const(g, n->in[0]) ||
        qc_attr_int(n, "to", 0) != ONNX_INT32)
        return false;
    qc_dtype it = g->values[n->in[0]].type.dtype;
    if ((it != QC_U8 && it != QC_U4) || g->values[n->in[0]].type.rank != 2) return false;
    int32_t slot = -1, r = sole_reader(g, n->out[0], &slot);
    if (r < 0 || slot != 1) return false;
    const qc_node *ga = &g->nodes[r];
    if (ga->op != QC_OP_GATHER || ga->n_in != 2 || ga->n_out != 1 || !is_const(g, ga->in[0]) ||
        qc_attr_int(ga, "axis", 0) != 0)
        return false;
    const qc_type *cb = &g->values[ga->in[0]].type;
    if (cb->dtype != QC_F32 || cb->rank != 1) return false;
    *gather = r;
    return true;
}

bool qc_wgemm_decoder_kept(const qc_graph *g, int32_t node) {
    const qc_node *n = &g->nodes[node];
    int32_t ga = -1;
    if (dq_decoder(g, n)) return feeds_gemm_weight(g, n->out[0]);
    if (codebook_cast(g, n, &ga)) return feeds_gemm_weight(g, g->nodes[ga].out[0]);
    return false;
}

/* Node gi (a GEMM) becomes qc.WGemm(its inputs with w at 1, dec...). */
static qc_status rewrite(qc_graph *g, int32_t gi, int32_t w, const int32_t *dec, int32_t n_dec,
                         const qc_node *dq) {
    qc_node *n = &g->nodes[gi];
    int32_t base_in = n->n_in;
    const char *base = qc_op_get_info(n->op)->name;
    int32_t *in = realloc(n->in, sizeof(int32_t) * (size_t)(base_in + n_dec));
    if (!in) return qc_error(QC_ERR_NOMEM, "wgemm_fold: out of memory");
    in[1] = w;
    for (int32_t k = 0; k < n_dec; k++) in[base_in + k] = dec[k];
    n->in = in;
    n->n_in = base_in + n_dec;
    n->op = QC_OP_WGEMM;
    qc_status st = qc_node_set_string(g, gi, "base", base);
    if (!st) st = qc_node_set_int(g, gi, "w_dec", base_in);
    if (!st) st = qc_node_set_string(g, gi, "w_kind", dq ? "dq" : "codebook");
    if (!st && dq) st = qc_node_set_int(g, gi, "axis", qc_attr_int(dq, "axis", 1));
    if (!st && dq && qc_attr_int(dq, "block_size", 0))
        st = qc_node_set_int(g, gi, "block_size", qc_attr_int(dq, "block_size", 0));
    return st;
}

qc_status qc_pass_wgemm_fold(qc_graph *g) {
    bool changed = false;
    qc_status st = NULL;
    for (int32_t gi = 0; gi < g->n_nodes && !st; gi++) {
        const qc_node *n = &g->nodes[gi];
        if (!is_gemm_family(n->op) || n->n_in < 2 || n->n_in > 16 || n->in[1] < 0) continue;
        int32_t p = g->values[n->in[1]].producer, slot = -1;
        if (p < 0 || sole_reader(g, n->in[1], &slot) != gi) continue;
        const qc_node *d = &g->nodes[p];
        if (dq_decoder(g, d)) {
            int32_t dec[2] = {d->in[1], d->n_in > 2 ? d->in[2] : -1};
            qc_node dq = *d;   /* its attrs stay valid: rewrite() only touches node gi */
            st = rewrite(g, gi, d->in[0], dec, dec[1] >= 0 ? 2 : 1, &dq);
            changed = true;
        } else if (d->op == QC_OP_GATHER && d->n_in == 2 && d->in[1] >= 0 &&
                   g->values[d->in[1]].producer >= 0) {
            const qc_node *c = &g->nodes[g->values[d->in[1]].producer];
            int32_t ga = -1;
            if (!codebook_cast(g, c, &ga) || ga != p) continue;
            int32_t dec[1] = {d->in[0]};
            st = rewrite(g, gi, c->in[0], dec, 1, NULL);
            changed = true;
        }
    }
    /* the replaced decoders are dead now */
    if (!st && changed) st = qc_pass_dce(g);
    if (!st && changed) st = qc_graph_infer(g);
    return st;
}
