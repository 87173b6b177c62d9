/* mixed.h — mixed-precision quantization: choose a scheme per quantizable
 * layer (Gemm / MatMul / Conv with a constant f32 weight) so that the whole
 * model meets an accuracy budget at the lowest estimated cost.
 *
 * Algorithm (passes/mixed.c):
 *  1. Sensitivity: for every layer and every candidate scheme, quantize that
 *     layer alone (all others float, through qc_quant_config.node_scheme) and
 *     measure the relative L2 error of output 0 on the evaluation inputs, and
 *     with labels also the top-1 drop on the validation set.
 *  2. Cost: per layer and candidate, an estimate of the time per sample on
 *     the target (bytes of the layer's constants, measured on the quantized
 *     graph, over memory bandwidth + MACs over the precision's MAC rate; one
 *     table in mixed.c).
 *  3. Greedy: start from the cheapest candidate everywhere; while the
 *     measured whole-model metric exceeds the budget, make the upgrade with
 *     the best sensitivity reduction per unit of extra cost (top-1 drop
 *     first, output error to break ties / when the drop does not move).
 *     Every step measures the combined assignment, so interactions between
 *     layers are accounted for. Then a downgrade pass tries cheaper
 *     candidates layer by layer, keeping each one that still meets the
 *     budget as measured.
 * The returned graph meets the budget as measured; otherwise the call fails
 * naming the best value it measured. */
#ifndef QC_PASSES_MIXED_H
#define QC_PASSES_MIXED_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "passes/quantize.h"

typedef enum qc_mixed_metric {
    QC_MIXED_REL_ERR = 0,   /* relative L2 error of output 0 vs float on the evaluation inputs */
    QC_MIXED_ACC_DROP,      /* top-1 drop in percentage points on the validation set */
} qc_mixed_metric;

/* Which backend's cost estimate to optimise for. */
typedef enum qc_mixed_target {
    QC_MIXED_CPU = 0,
    QC_MIXED_CUDA,
    QC_MIXED_VULKAN,
    QC_MIXED_TARGET_COUNT
} qc_mixed_target;

#define QC_MIXED_MAX_CAND 8

const char *qc_mixed_target_name(qc_mixed_target t);
/* The cost table's rates for scheme s on target t (the int8-vs-fp32 guard,
 * passes/quant_guard.c, shares them): ns per constant byte streamed and ns
 * per MAC. */
void qc_mixed_rates(qc_mixed_target t, qc_qscheme s, double *ns_per_byte, double *ns_per_mac);
bool qc_mixed_target_parse(const char *s, qc_mixed_target *out);

/* --accuracy-budget syntax: "P" = max top-1 drop in percentage points
 * (a finite number >= 0, e.g. "0.5"), "rel=E" = max relative L2 error of
 * output 0 (finite, >= 0, e.g. "rel=0.01"). False for anything else. */
bool qc_mixed_budget_parse(const char *s, qc_mixed_metric *metric, double *budget);

/* Candidate list syntax: comma-separated scheme names, "none" (or "float")
 * keeps a layer float; at most QC_MIXED_MAX_CAND, no duplicates, and only
 * per-node schemes (not fp16/bf16, which convert the whole graph). */
bool qc_mixed_candidates_parse(const char *list, qc_qscheme *out, int32_t *n);
/* The default ladder: int4-weight, int8, fp8-e4m3, 16x8, none. */
int32_t qc_mixed_default_candidates(qc_qscheme out[QC_MIXED_MAX_CAND]);

typedef struct qc_mixed_config {
    qc_quant_config base;   /* method, group, ... for every candidate; scheme/node_scheme ignored */
    qc_mixed_metric metric;
    double budget;
    qc_mixed_target target;
    qc_qscheme candidates[QC_MIXED_MAX_CAND];
    int32_t n_candidates;   /* 0 = the default ladder */
    /* Inputs for the output-error measurements (one tensor per graph input,
     * rows along dim 0); required. */
    const qc_tensor *eval;
    int32_t n_eval;
    /* Validation set for QC_MIXED_ACC_DROP (one-input models, integer labels). */
    const qc_tensor *val_x, *val_y;
} qc_mixed_config;

typedef struct qc_mixed_cand {
    qc_qscheme scheme;
    int64_t bytes;      /* constant bytes of the layer under this scheme (float: its weights + bias) */
    double cost;        /* estimated ns per sample on the target */
    double rel_err;     /* output 0 rel. L2 error with only this layer quantized */
    double drop_pp;     /* top-1 drop (pp) with only this layer quantized; NaN without labels */
} qc_mixed_cand;

typedef struct qc_mixed_layer {
    char *node;
    int32_t node_id;    /* in the source graph */
    qc_op op;
    int64_t macs;       /* per sample (batch dim 1) */
    qc_mixed_cand cand[QC_MIXED_MAX_CAND];   /* ascending cost */
    int32_t n_cand;
    int32_t chosen;     /* index into cand */
} qc_mixed_layer;

typedef struct qc_mixed_result {
    qc_mixed_layer *layers;
    int32_t n_layers;
    qc_qscheme *node_scheme;   /* per source node: the chosen assignment */
    int32_t n_nodes;
    qc_mixed_metric metric;
    qc_mixed_target target;
    double budget;
    double cost_float;         /* every layer float */
    double cost_cheapest;      /* every layer at its cheapest candidate */
    double cost_after;         /* the chosen assignment */
    double achieved;           /* metric of the chosen assignment, measured */
    double best_seen;          /* lowest metric measured (what a failure reports) */
    double acc_float;          /* top-1 of the float model; NaN without labels */
    int64_t eval_rows;
    int32_t evaluations;       /* whole-model measurements, sensitivity runs included */
    bool met;
} qc_mixed_result;

void qc_mixed_result_free(qc_mixed_result *r);

/* Chooses the assignment and builds it: on success *out is the quantized
 * graph and *rep its report (as from qc_quantize_graph). When the budget
 * cannot be met, returns QC_ERR_INVALID naming the best value measured, with
 * *r filled (r->met false) and *out NULL. `calib` may be NULL only when no
 * candidate needs calibration. */
qc_status qc_mixed_quantize(const qc_graph *g, const qc_calib *calib, const qc_mixed_config *cfg,
                            qc_graph **out, qc_quant_report *rep, qc_mixed_result *r);

/* The per-layer table: MACs, chosen scheme, its cost and sensitivity, every
 * candidate's sensitivity; totals and the measured metric vs the budget. */
void qc_mixed_print(const qc_mixed_result *r, FILE *f);
/* The JSON object body of the same (written as the value of "mixed"). */
void qc_mixed_json(const qc_mixed_result *r, FILE *f);

#endif
