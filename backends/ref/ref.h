/* ref.h — the reference interpreter: plain C, one kernel per op, the
 * numerics oracle every other backend is tested against. */
#ifndef QC_BACKENDS_REF_REF_H
#define QC_BACKENDS_REF_REF_H

#include "ir/ir.h"

/* Runs a verified graph. inputs[i] binds graph input i (dtype and rank must
 * match; the symbolic batch dim, if any, is bound from the inputs and must be
 * consistent). On success outputs[0..n_outputs) are allocated by the callee
 * and released by the caller with qc_tensor_release(); on failure none are
 * left allocated. */
qc_status qc_ref_run(const qc_graph *g, const qc_tensor *inputs, int32_t n_inputs,
                     qc_tensor *outputs, int32_t n_outputs);

/* Called once per graph input and once per node output, right after the
 * value is bound or computed and before the interpreter may free it (e.g.
 * calibration collects statistics of every intermediate). The tensor is only
 * valid during the call. A non-NULL status stops the run and is returned. */
typedef qc_status (*qc_ref_observer)(void *user, const qc_graph *g, int32_t value_id,
                                     const qc_tensor *t);

/* qc_ref_run, calling `observe` (may be NULL) for every value as it is
 * produced. outputs may be NULL with n_outputs 0 when only the observations
 * matter. */
qc_status qc_ref_run_observed(const qc_graph *g, const qc_tensor *inputs, int32_t n_inputs,
                              qc_tensor *outputs, int32_t n_outputs, qc_ref_observer observe,
                              void *user);

/* Evaluates one node of g on concrete inputs, as the interpreter does for
 * every node: in[0..n_in) are the node's inputs in order (an absent optional
 * input is a zeroed tensor: dtype QC_DT_UNDEF, data NULL). Infers the output
 * types from the actual input types and data, allocates out[0..n_out) and
 * runs the op's kernel. On success the caller owns the outputs (release with
 * qc_tensor_release); on failure none are left allocated. The graph need not
 * be verified: only the node itself is read (passes/const_fold calls this on
 * graphs it is still rewriting). */
qc_status qc_ref_eval_node(const qc_graph *g, int32_t node_id, const qc_tensor *in,
                           qc_tensor *out);

#endif
