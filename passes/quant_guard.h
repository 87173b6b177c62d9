/* quant_guard.h — "int8 never slower than fp32": before an integer scheme
 * (int8, int8-dynamic, 16x8) rewrites a layer, estimate the layer's time as
 * an integer kernel (plus the QuantizeLinear / DequantizeLinear it adds at its
 * boundaries) and as the float kernel on the target, and keep it float when
 * the integer estimate is not faster, unless the user forces the scheme.
 *
 * The estimate is a model (one rate table in quant_guard.c: measured int8
 * kernel rates per ISA variant, fp32 peak from the FMA width, Q/DQ element
 * rates, per-kernel dispatch cost); measured per-shape kernel times replace
 * it when they exist. The decision is a per-node scheme array for
 * qc_quant_config.node_scheme, a per-layer table for the report, and a
 * "qc.precision" string attribute on each layer of the quantized graph, so
 * `qcomp inspect` shows what was chosen and why. */
#ifndef QC_PASSES_QUANT_GUARD_H
#define QC_PASSES_QUANT_GUARD_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "passes/mixed.h"
#include "passes/quantize.h"

/* The kernel family the estimate is for: the cpu backend's int8 variants
 * (backends/cpu "int8 kernels"), or a GPU target as a whole. */
typedef enum qc_guard_isa {
    QC_GUARD_SSE2 = 0,      /* x86-64 baseline: pmaddwd, 4 lanes */
    QC_GUARD_AVX2,          /* pmaddwd on ymm, 8 lanes */
    QC_GUARD_AVXVNNI,       /* vpdpbusd ymm */
    QC_GUARD_AVX512VNNI,    /* vpdpbusd zmm */
    QC_GUARD_CUDA,
    QC_GUARD_VULKAN,
    QC_GUARD_ISA_COUNT
} qc_guard_isa;

const char *qc_guard_isa_name(qc_guard_isa i);
bool qc_guard_isa_parse(const char *s, qc_guard_isa *out);
/* The best cpu variant this host runs, read with cpuid + xgetbv (an AVX /
 * AVX-512 feature counts only when the OS saves its state); sse2 off x86. */
qc_guard_isa qc_guard_host_isa(void);
/* cpu: the host's variant; cuda / vulkan: their entry. */
qc_guard_isa qc_guard_isa_for_target(qc_mixed_target t);

/* True for the schemes the guard judges (integer kernels with a float
 * alternative): int8, int8-dynamic, 16x8. */
bool qc_guard_applies(qc_qscheme s);

/* MACs per sample of a Gemm / MatMul / Conv (symbolic dims count 1): output
 * elements x the weight's elements per output channel `ch`. */
int64_t qc_layer_macs(const qc_graph *g, const qc_node *n, int32_t ch);

typedef struct qc_guard_layer {
    char *node;
    int32_t node_id;        /* in the source graph */
    qc_op op;
    int64_t macs;           /* per sample */
    double int_us, fp_us;   /* estimated time per call: integer scheme (with its Q/DQ), float */
    bool quantize;          /* the decision */
    bool forced;            /* quantized only because of force */
} qc_guard_layer;

typedef struct qc_guard_result {
    qc_guard_layer *layers;
    int32_t n_layers;
    qc_qscheme *node_scheme;   /* per source node, for qc_quant_config.node_scheme */
    int32_t n_nodes;
    qc_qscheme scheme;
    qc_guard_isa isa;
    int64_t batch;             /* the symbolic batch dim's value in the estimate */
    bool force;
    int32_t kept_float;
} qc_guard_result;

void qc_guard_result_free(qc_guard_result *r);

/* Decides per layer for `scheme` on `isa`, estimating one call with the
 * symbolic batch dim bound to `batch` (<= 0: 1; the dispatch and Q/DQ
 * costs weigh most at batch 1). Nodes that are not layers keep `scheme`
 * (the quantizer handles them as before). */
qc_status qc_guard_decide(const qc_graph *g, qc_qscheme scheme, qc_guard_isa isa, int64_t batch,
                          bool force, qc_guard_result *r);

/* One line per layer ("kept float: int8 est X us >= fp32 Y us on sse2"). */
void qc_guard_print(const qc_guard_result *r, FILE *f);
/* The JSON object body of the same (the value of "guard"). */
void qc_guard_json(const qc_guard_result *r, FILE *f);
/* The text of the qc.precision attribute for layer l. */
void qc_guard_reason(const qc_guard_result *r, const qc_guard_layer *l, char *buf, size_t n);
/* Sets qc.precision on every judged layer of the quantized graph q (the
 * node of the same name; a quantized layer's rewritten node keeps it). */
qc_status qc_guard_annotate(const qc_guard_result *r, qc_graph *q);

#endif
