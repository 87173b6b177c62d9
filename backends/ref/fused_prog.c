/* fused_prog.c — ref kernels of qc.Elementwise and qc.Fused{Conv,Gemm,MatMul}:
 * the base op (if any), then the node's `program` (docs/ir.md; parsed by
 * ops/prog.c, shared with the cpu generators).
 *
 * Each step runs the very kernel of the unfused op on whole tensors, so the
 * fused result is bit-identical to the unfused graph by construction (the
 * steps are elementwise, so a backend may instead evaluate the program per
 * element with the same scalar functions). The ref backend is the oracle, not
 * the fast path: the temporaries here cost memory, never accuracy. */
#include <stdlib.h>
#include <string.h>

#include "backends/ref/kernels.h"
#include "ir/dtype.h"
#include "ops/prog.h"

#define MAX_ARGS QC_PROG_MAX_ARGS

/* Runs the program on `cur` (owned when cur_owned), writing a->out[0]. */
static qc_status run_program(const qc_ref_args *a, qc_tensor cur, bool cur_owned) {
    const char *prog = qc_attr_string(a->node, "program", "");
    qc_status st = NULL;
    const char *p = prog;
    if (!*p) {   /* empty epilogue: the base result is the output */
        if (cur_owned) {
            memcpy(a->out[0].data, cur.data,
                   qc_dtype_bytes(cur.desc.dtype, qc_type_numel(&cur.desc)));
            qc_tensor_release(&cur);
        }
        return NULL;
    }
    while (*p && !st) {
        qc_prog_step s;
        if (!qc_prog_parse_step(&p, a->n_in, &s)) {
            st = qc_node_error(a->node, QC_ERR_INVALID, "bad program '%s'", prog);
            break;
        }
        qc_attr attrs[MAX_ARGS];
        for (int32_t k = 0; k < s.n_attr; k++)
            attrs[k] = (qc_attr){.name = s.attr_name[k], .kind = QC_ATTR_FLOAT, .f = s.attr_val[k]};
        int32_t ids[MAX_ARGS], out_id = 0;
        qc_tensor in[MAX_ARGS];
        for (int32_t k = 0; k < s.n_in; k++) {
            ids[k] = k;
            in[k] = s.in[k] < 0 ? cur : a->in[s.in[k]];
        }
        qc_node view = {.op = s.op, .name = a->node->name, .n_in = s.n_in,
                        .n_out = 1, .n_attr = s.n_attr, .in = ids, .out = &out_id, .attr = attrs};
        if (view.op == QC_OP_INVALID) {
            st = qc_node_error(a->node, QC_ERR_INVALID, "program step '%s': unknown op", s.op_name);
            break;
        }
        bool last = *p == 0;
        qc_tensor dst = {0};
        if (last) dst = a->out[0];
        else if ((st = qc_tensor_alloc(&a->out[0].desc, &dst))) break;
        qc_ref_args sa = {.node = &view, .n_in = s.n_in, .in = in, .n_out = 1, .out = &dst};
        st = qc_ref_run_kernel(&sa);
        if (cur_owned) qc_tensor_release(&cur);
        cur = dst;
        cur_owned = !last;
        if (st && cur_owned) qc_tensor_release(&cur);
        cur_owned = cur_owned && !st;
    }
    if (cur_owned) qc_tensor_release(&cur);
    return st;
}

static qc_status ref_fused_base(const qc_ref_args *a, qc_op base) {
    int32_t nb = (int32_t)qc_attr_int(a->node, "n_base", a->n_in);
    qc_node view = *a->node;
    view.op = base;
    view.n_in = nb;
    qc_tensor tmp;
    qc_status st = qc_tensor_alloc(&a->out[0].desc, &tmp);
    if (st) return st;
    qc_ref_args ba = {.node = &view, .n_in = nb, .in = a->in, .n_out = 1, .out = &tmp};
    st = qc_ref_run_kernel(&ba);
    if (st) {
        qc_tensor_release(&tmp);
        return st;
    }
    return run_program(a, tmp, true);
}

qc_status qc_ref_fused_prog(const qc_ref_args *a, bool *handled) {
    *handled = true;
    switch (a->node->op) {
    case QC_OP_FUSED_CONV: return ref_fused_base(a, QC_OP_CONV);
    case QC_OP_FUSED_GEMM: return ref_fused_base(a, QC_OP_GEMM);
    case QC_OP_FUSED_MATMUL: return ref_fused_base(a, QC_OP_MATMUL);
    case QC_OP_ELEMENTWISE: return run_program(a, a->in[0], false);
    default: *handled = false; return NULL;
    }
}
