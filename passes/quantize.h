/* quantize.h — post-training quantization: rewrite a float graph into QDQ IR
 * for one scheme (QuantizeLinear/DequantizeLinear around the quantized ops,
 * weights stored quantized + DequantizeLinear: the layout ONNX Runtime's
 * quantize_static / quantize_dynamic emit; qdq_fold turns it into integer
 * ops later), and measure what the rewrite cost (the report).
 *
 * The mixed-precision helper drives this API per node through
 * qc_quant_config.node_scheme. */
#ifndef QC_PASSES_QUANTIZE_H
#define QC_PASSES_QUANTIZE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "ir/ir.h"
#include "passes/calibrate.h"

typedef enum qc_qscheme {
    QC_QS_NONE = 0,        /* keep float (per-node override only) */
    QC_QS_INT8,            /* static: i8 weights, u8/i8 activations from calibration */
    QC_QS_INT8_DYNAMIC,    /* i8 weights; activations DynamicQuantizeLinear at run time */
    QC_QS_INT8_WEIGHT,     /* weight-only, blocked */
    QC_QS_INT4_WEIGHT,     /* weight-only, blocked, packed 4-bit */
    QC_QS_FP16,
    QC_QS_BF16,
    QC_QS_FP8_E4M3,
    QC_QS_FP8_E5M2,
    QC_QS_16X8,            /* i16 activations, i8 weights */
    QC_QS_KMEANS,          /* per-tensor codebook + u8/u4 indices */
    QC_QS_COUNT
} qc_qscheme;

const char *qc_qscheme_name(qc_qscheme s);
bool qc_qscheme_parse(const char *s, qc_qscheme *out);
/* True when the scheme needs calibration data (activation ranges). */
bool qc_qscheme_needs_calib(qc_qscheme s);

typedef struct qc_quant_config {
    qc_qscheme scheme;
    qc_calib_method method;     /* activation ranges; weights always use min/max */
    double percentile;          /* for QC_CALIB_PERCENTILE (default 99.99) */
    bool per_tensor;            /* int8 weights: one scale per tensor instead of per channel */
    bool asymmetric;            /* weights (and i8 activations) with a zero point */
    qc_dtype act_type;          /* QC_U8 (default) or QC_I8 for int8 static */
    int32_t group;              /* weight-only block size (32, 64, 128; default 128) */
    int32_t centroids;          /* kmeans: 16 or 256 (default 256) */
    uint64_t seed;              /* kmeans++ seed (fixed default) */
    /* Optional, indexed by source node id: a per-node scheme (QC_QS_NONE keeps
     * the node float); NULL = cfg.scheme everywhere. */
    const qc_qscheme *node_scheme;
} qc_quant_config;

void qc_quant_config_default(qc_quant_config *c);

typedef struct qc_quant_layer {
    char *node;               /* source node name */
    char *output;             /* its output value (same name in both graphs) */
    qc_op op;
    qc_qscheme scheme;
    float scale_min, scale_max;   /* over every scale this layer uses (weights, activations) */
    int32_t zero_min, zero_max;
    double sqnr_db;           /* of the layer output vs float, on calibration data (NaN: not measured) */
    double rel_err;           /* relative L2 error of the same */
} qc_quant_layer;

typedef struct qc_quant_report {
    qc_quant_layer *layers;
    int32_t n_layers;
    int64_t bytes_before, bytes_after;   /* bytes of constants */
    double acc_before, acc_after;        /* top-1; NaN when not measured */
    int64_t val_samples;
    double output_rel_err;               /* output 0 vs float on the measured batch; NaN if not */
    int64_t measured_rows;
    bool passthrough;                    /* the model was already quantized */
    char note[256];
} qc_quant_report;

void qc_quant_report_free(qc_quant_report *r);

/* True when g already holds quantized ops (QuantizeLinear, DequantizeLinear,
 * QLinear*, MatMulInteger, ConvInteger, DynamicQuantizeLinear). */
bool qc_graph_is_quantized(const qc_graph *g);

/* Builds the quantized graph. `calib` may be NULL for schemes that need no
 * calibration. A pre-quantized graph is copied unchanged with
 * rep->passthrough set and a note. The report's layers and sizes are
 * filled; SQNR and accuracy by the functions below. */
qc_status qc_quantize_graph(const qc_graph *src, const qc_calib *calib, const qc_quant_config *cfg,
                            qc_graph **out, qc_quant_report *rep);

/* Total bytes of constant data. */
int64_t qc_graph_const_bytes(const qc_graph *g);

/* quant_report.c: runs both graphs on one batch and fills each layer's
 * SQNR and relative error from its output value (matched by name). */
qc_status qc_quant_measure_layers(const qc_graph *fp, const qc_graph *q, const qc_tensor *inputs,
                                  int32_t n_inputs, qc_quant_report *rep);
/* Top-1 accuracy of output 0 (argmax over its last dim) on x (one input,
 * rows along dim 0) against integer labels; runs in batches of 64. */
qc_status qc_quant_accuracy(const qc_graph *g, const qc_tensor *x, const qc_tensor *labels,
                            double *acc);
/* Relative L2 error of output 0 of q vs fp on the same inputs. */
qc_status qc_quant_output_error(const qc_graph *fp, const qc_graph *q, const qc_tensor *inputs,
                                int32_t n_inputs, double *rel_err);
void qc_quant_report_print(const qc_quant_report *r, FILE *f);
qc_status qc_quant_report_json(const qc_quant_report *r, FILE *f);
/* The same with one more top-level member: `key` and the JSON value that
 * extra(user, f) writes (the mixed-precision driver adds its choice). */
qc_status qc_quant_report_json_ext(const qc_quant_report *r, const char *key,
                                   void (*extra)(const void *user, FILE *f), const void *user,
                                   FILE *f);

#endif
