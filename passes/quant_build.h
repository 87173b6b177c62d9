/* quant_build.h — internal to the quantizer: the graph rewriter shared by
 * quantize.c (driver, static/weight-only schemes) and quant_schemes.c
 * (dynamic, fp16/bf16, kmeans). Not a public API. */
#ifndef QC_PASSES_QUANT_BUILD_H
#define QC_PASSES_QUANT_BUILD_H

#include "passes/quantize.h"

typedef struct qc_qbuild {
    const qc_graph *src;
    qc_graph *dst;
    const qc_calib *calib;
    const qc_quant_config *cfg;
    qc_quant_report *rep;
    int32_t *map;       /* src value id -> dst id of the same (float) value, -1 if not yet */
    int32_t *qdq;       /* src value id -> dst id of its fake-quantized (Q->DQ) version, -1 */
    float *q_scale;     /* src value id -> the scale its Q/DQ uses (0: none) */
    int32_t *q_zero;    /* ... and its zero point */
    uint8_t *pending;   /* src value id -> scheme whose output Q/DQ goes after its producer */
    int32_t *dyn;       /* src value id -> dst id of its DynamicQuantizeLinear output, -1 */
    qc_quant_layer *cur;   /* layer being built (scale/zero ranges), or NULL */
} qc_qbuild;

/* dst id of src value `id` (constants are copied on first use). */
qc_status qc_qb_get(qc_qbuild *b, int32_t id, int32_t *out);
/* A fresh value name "<base><suffix>" not yet in dst. */
void qc_qb_name(qc_qbuild *b, const char *base, const char *suffix, char *buf, size_t n);
qc_status qc_qb_const(qc_qbuild *b, const char *name, qc_dtype dt, int32_t rank,
                      const int64_t *dims, const void *data, int32_t *id);
/* Adds a one-output node whose output type is left to inference. */
qc_status qc_qb_node(qc_qbuild *b, qc_op op, const char *node_name, const int32_t *in,
                     int32_t n_in, const char *out_name, int32_t *out_id, int32_t *node_id);
/* Copies src node `ni` with its inputs replaced by in[] (dst ids). */
qc_status qc_qb_copy_node(qc_qbuild *b, int32_t ni, const int32_t *in);
void qc_qb_note_scale(qc_qbuild *b, float s, int32_t zp);
/* Starts a report row for src node ni (b->cur points at it until reset). */
qc_status qc_qb_begin_layer(qc_qbuild *b, int32_t ni, qc_qscheme s);

/* Which axis of a weight holds output channels and which the reduction (K).
 * False if the node's weight is not a layout we quantize. */
bool qc_qb_weight_axes(const qc_graph *g, const qc_node *n, int32_t *ch_axis, int32_t *k_axis);

/* quant_schemes.c */
qc_status qc_qs_dynamic_node(qc_qbuild *b, int32_t ni, bool *done);
qc_status qc_qs_kmeans_node(qc_qbuild *b, int32_t ni, bool *done);
qc_status qc_qs_half_graph(qc_qbuild *b, qc_dtype half);

#endif
