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
