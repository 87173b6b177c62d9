/* prog.h — the elementwise `program` of qc.Elementwise and of the
 * qc.Fused{Conv,Gemm,MatMul} epilogues (docs/ir.md; written by
 * passes/fuse.c), parsed once here for every backend that reads it (the ref
 * kernels, the cpu generators):
 *
 *   program := step {';' step}       step := OpName '(' arg {',' arg} ')'
 *   arg := '$' (the running value) | '%' k (node input k) | name '=' number */
#ifndef QC_OPS_PROG_H
#define QC_OPS_PROG_H

#include <stdbool.h>
#include <stdint.h>

#include "ops/op.h"

#define QC_PROG_MAX_ARGS 8

typedef struct qc_prog_step {
    qc_op op;                     /* QC_OP_INVALID when op_name is unknown */
    char op_name[32];
    int32_t n_in;
    int32_t in[QC_PROG_MAX_ARGS]; /* -1: the running value, else a node input */
    int32_t n_attr;
    char attr_name[QC_PROG_MAX_ARGS][24];
    float attr_val[QC_PROG_MAX_ARGS];
} qc_prog_step;

/* Parses the step at *p (inputs %k must be in [0, n_inputs)), advancing past
 * it and a trailing ';'. False on any syntax error; *p is then unchanged. */
bool qc_prog_parse_step(const char **p, int32_t n_inputs, qc_prog_step *s);

/* The step's attribute `name`, or def. */
float qc_prog_step_attr(const qc_prog_step *s, const char *name, float def);

#endif
