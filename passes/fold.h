/* fold.h — internal: the state passes/const_fold.c (the driver) shares with
 * passes/fold_shape.c (symbolic evaluation of shape tensors that hold the
 * graph's batch dimension).
 *
 * The folder walks the nodes once, in order. A value it learns the contents
 * of at compile time is either a real constant (qc_value.data) or a small
 * "batch-marked" i64 shape tensor: known integers, with QC_FOLD_BATCH standing
 * for the symbolic batch wherever a dim is QC_DIM_SYM. Marked tensors never
 * become constants; they only let a consumer be rewritten (Reshape) or let a
 * later step prove its result no longer depends on the batch. */
#ifndef QC_PASSES_FOLD_H
#define QC_PASSES_FOLD_H

#include "ir/ir.h"

/* The batch marker inside a marked shape tensor. INT64_MIN is never a dim
 * (dims are >= 0) nor a Reshape code (0, -1); constants that contain it are
 * refused as partners of marked tensors so it cannot be confused. */
#define QC_FOLD_BATCH INT64_MIN

/* Marked tensors are shape vectors (rank <= 8) or a few of them joined;
 * anything larger is not a shape computation worth tracking. */
#define QC_FOLD_MAX_MARKED 64

typedef struct qc_fold {
    qc_graph *g;
    int32_t cap_values;   /* capacity of the per-value arrays (rewrites add constants) */
    qc_tensor *marked;    /* per value: batch-marked i64 tensor, or data == NULL */
    uint8_t *folded;      /* per node: its outputs became constants; the node goes */
    uint8_t *chain;       /* per node: kept for a marked result; goes if unused at the end */
    uint8_t *touched;     /* per value: lost a reader to the folder (may become dead) */
    bool deferred;        /* some node's types need run-time data (left as they were) */
    bool fold_dequantize; /* const_fold_dq: DequantizeLinear of constants too */
} qc_fold;

/* True for a decoder of a compressed GEMM weight that qc_pass_wgemm_fold
 * will fuse into qc.WGemm (passes/wgemm_fold.c): const_fold leaves it, so
 * the weight stays compressed. */
bool qc_wgemm_decoder_kept(const qc_graph *g, int32_t node);

/* Turns value `id` into a constant holding t's data (ownership moves to the
 * graph; t->data is NULL afterwards). */
void qc_fold_set_const(qc_fold *f, int32_t id, qc_tensor *t);

/* Shape / Size of a value whose type is known: a constant when its dims are
 * static, a marked tensor when Shape sees the batch. Sets *handled when the
 * node was folded or marked. */
qc_status qc_fold_shape_source(qc_fold *f, int32_t ni, bool *handled);

/* A node reading at least one marked tensor (the rest constants): evaluated
 * with the ref kernels when the op only moves elements (Gather, Slice,
 * Concat, ...), so the marker travels unchanged; the result is folded when no
 * marker survives and marked otherwise. Arithmetic and everything else leave
 * the node alone. */
qc_status qc_fold_shape_step(qc_fold *f, int32_t ni);

/* Reshape whose shape input is marked: replaced by a constant with 0 ("copy
 * the input dim") at each marker, when the input's dim there is the batch and
 * allowzero is 0, so the node keeps its exact meaning for every batch size. */
qc_status qc_fold_reshape_batch(qc_fold *f, int32_t ni);

#endif
