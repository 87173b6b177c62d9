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

#endif
