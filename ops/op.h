/* op.h — op semantics shared by the compiler and the runtime: the op table
 * (ops.def), nodes with typed attributes, value types, and per-op type
 * inference. Knows nothing of graphs: the compiler's IR (ir/ir.h) owns nodes
 * inside a qc_graph, the runtime builds them from an artifact, and both run
 * the same inference and the same ref kernels on them. */
#ifndef QC_OPS_OP_H
#define QC_OPS_OP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qcomp/qcrt.h"

typedef enum qc_op {
    QC_OP_INVALID = 0,
#define QC_OP(e, name, a, b, c, d) QC_OP_##e,
#include "ops/ops.def"
#undef QC_OP
    QC_OP_COUNT
} qc_op;

typedef struct qc_op_info {
    const char *name;
    int min_in, max_in, min_out, max_out;
} qc_op_info;

const qc_op_info *qc_op_get_info(qc_op op);   /* NULL for out-of-range ops */
qc_op qc_op_from_name(const char *name);     /* QC_OP_INVALID if unknown */

/* A value's type: element type + static shape; QC_DIM_SYM marks the graph's
 * one symbolic (batch) dimension. */
typedef qc_tensor_desc qc_type;

int64_t qc_type_numel(const qc_type *t);      /* -1 if it has a symbolic dim */
bool qc_type_equal(const qc_type *a, const qc_type *b);
/* "f32[N,200]" style; `batch` names the symbolic dim (NULL -> "?"). */
void qc_type_format(const qc_type *t, const char *batch, char *buf, size_t n);

typedef enum qc_attr_kind {
    QC_ATTR_INT = 1,
    QC_ATTR_FLOAT,
    QC_ATTR_STRING,
    QC_ATTR_INTS,
    QC_ATTR_FLOATS,
} qc_attr_kind;

typedef struct qc_attr {
    char *name;
    qc_attr_kind kind;
    int64_t i;
    float f;
    char *s;
    int32_t n;          /* length of ints / floats */
    int64_t *ints;
    float *floats;
} qc_attr;

typedef struct qc_node {
    qc_op op;
    char *name;
    int32_t n_in, n_out, n_attr;
    int32_t *in;        /* value ids; -1 = absent optional input */
    int32_t *out;
    qc_attr *attr;
} qc_node;

/* ---- attribute access (for kernels and inference) ------------------------ */

const qc_attr *qc_node_attr(const qc_node *n, const char *key);   /* NULL if absent */
int64_t qc_attr_int(const qc_node *n, const char *key, int64_t def);
float qc_attr_float(const qc_node *n, const char *key, float def);
const char *qc_attr_string(const qc_node *n, const char *key, const char *def);

/* An error naming the node: "node 'fc1' (Gemm): <message>". */
qc_status qc_node_error(const qc_node *n, qc_code code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* ---- type inference -------------------------------------------------------
 * One entry point for every op. Input types may hold QC_DIM_SYM dims (compile
 * time) or be concrete (run time, where the interpreter also passes every
 * input's data). in_data[i] is non-NULL when input i's contents are known
 * (constants at compile time, everything at run time): ops whose output shape
 * depends on an input's values (Reshape, Slice, Split, ...) need it and fail
 * with a clear error naming the node when it is missing. An absent optional
 * input has dtype QC_DT_UNDEF and NULL data. */
typedef struct qc_infer_ctx {
    const char *batch;       /* name of the symbolic dim for messages, or NULL ("?") */
    const qc_node *node;
    int32_t n_in;
    const qc_type *in;
    const void *const *in_data;
    int32_t n_out;
    qc_type *out;            /* filled in by inference */
} qc_infer_ctx;

qc_status qc_infer_node(qc_infer_ctx *ctx);

#endif
