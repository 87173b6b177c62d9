/* pass.h — the pass manager: named graph-to-graph passes run in order.
 *
 * A pipeline is a comma-separated list of pass names ("verify,dce,verify").
 * Each pass mutates the graph in place and returns a status; the manager
 * stops at the first failure and prefixes its message with the pass name.
 * Later milestones add shape_infer, const_fold, calibrate, quantize,
 * qdq_fold, fuse, layout and memplan here, one file each. */
#ifndef QC_PASSES_PASS_H
#define QC_PASSES_PASS_H

#include "ir/ir.h"

typedef struct qc_pass {
    const char *name;
    const char *help;
    qc_status (*run)(qc_graph *g);
} qc_pass;

/* The registered passes, terminated by an entry with name == NULL. */
const qc_pass *qc_pass_list(void);
const qc_pass *qc_pass_find(const char *name);
qc_status qc_pass_run_pipeline(qc_graph *g, const char *pipeline);

/* Constant folding (passes/const_fold.c). */
qc_status qc_pass_const_fold(qc_graph *g);
/* const_fold that also folds DequantizeLinear of constants: run after
 * qdq_fold, for the weights of layers that stayed float. */
qc_status qc_pass_const_fold_dq(qc_graph *g);

/* Weight-only GEMMs (decoder of a compressed constant weight + Gemm/MatMul)
 * into qc.WGemm (passes/wgemm_fold.c); run after fuse. */
qc_status qc_pass_wgemm_fold(qc_graph *g);

/* Dead-code elimination (passes/dce.c). */
qc_status qc_pass_dce(qc_graph *g);

/* Folds QDQ / QOperator quantization into integer ops (passes/qdq_fold.c). */
qc_status qc_pass_qdq_fold(qc_graph *g);

/* Fuses BatchNorm into Conv, op + elementwise epilogues and elementwise
 * chains (passes/fuse.c). */
qc_status qc_pass_fuse(qc_graph *g);

/* Target weight pre-packing with the ref target's hook (passes/layout.c;
 * qc_layout_run in passes/layout.h takes any target). */
qc_status qc_pass_layout(qc_graph *g);

/* Plans the arena and checks the plan at several batch sizes; the graph is
 * unchanged (passes/memplan.c). */
qc_status qc_pass_memplan(qc_graph *g);

#endif
