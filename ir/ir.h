/* ir.h — qcomp's graph IR: values (SSA tensors), nodes (op + typed
 * attributes), the graph that owns them, the builder API, verification and
 * type inference. See docs/ir.md for the textual form.
 *
 * Ownership: a qc_graph owns every string, array and constant buffer reachable
 * from it; builder calls copy their arguments. Ids are indices into
 * graph->values / graph->nodes and stay valid until the graph is destroyed
 * (passes that delete things compact explicitly, see qc_graph_compact). */
#ifndef QC_IR_IR_H
#define QC_IR_IR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "qcomp/qcrt.h"

typedef enum qc_op {
    QC_OP_INVALID = 0,
#define QC_OP(e, name, a, b, c, d) QC_OP_##e,
#include "ir/ops.def"
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

/* Quantization parameters attached to a value (after qdq_fold these describe
 * integer tensors; before, they are informational). */
typedef enum qc_qkind {
    QC_Q_NONE = 0,
    QC_Q_TENSOR,   /* one scale/zero point */
    QC_Q_AXIS,     /* one per index along `axis` */
    QC_Q_BLOCK,    /* one per `block` consecutive elements along `axis` */
} qc_qkind;

typedef struct qc_quant {
    qc_qkind kind;
    int32_t axis;   /* QC_Q_AXIS / QC_Q_BLOCK */
    int32_t block;  /* QC_Q_BLOCK */
    int32_t count;  /* number of scale (and zero point) entries */
    float *scale;   /* count entries */
    int32_t *zero;  /* count entries */
} qc_quant;

typedef struct qc_value {
    char *name;
    qc_type type;
    qc_quant quant;
    void *data;          /* constant data (qc_dtype_bytes of numel), or NULL */
    size_t nbytes;
    int32_t producer;    /* node id, or -1 for inputs and constants */
} qc_value;

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

typedef struct qc_graph {
    char *name;
    char *batch;        /* name of the symbolic dim, or NULL if none is used */
    qc_value *values;
    int32_t n_values, cap_values;
    qc_node *nodes;     /* in topological order once verified */
    int32_t n_nodes, cap_nodes;
    int32_t *inputs, n_inputs;
    int32_t *outputs, n_outputs;
    int32_t *name_index;  /* open-addressing hash of value names -> id (-1 empty) */
    int32_t index_cap;    /* power of two, > 2 * n_values */
} qc_graph;

/* ---- builder ------------------------------------------------------------ */

qc_status qc_graph_create(const char *name, qc_graph **out);
void qc_graph_destroy(qc_graph *g);
qc_status qc_graph_set_batch(qc_graph *g, const char *batch_name);

/* Adds a value named `name` (must be unique in the graph). */
qc_status qc_graph_add_value(qc_graph *g, const char *name, const qc_type *type, int32_t *id);
/* Adds a constant; copies nbytes of data (must equal the type's byte size). */
qc_status qc_graph_add_const(qc_graph *g, const char *name, const qc_type *type,
                             const void *data, size_t nbytes, int32_t *id);
qc_status qc_graph_add_input(qc_graph *g, int32_t value_id);
qc_status qc_graph_add_output(qc_graph *g, int32_t value_id);
qc_status qc_value_set_quant(qc_graph *g, int32_t value_id, const qc_quant *q);
int32_t qc_graph_find_value(const qc_graph *g, const char *name);   /* -1 if absent */

/* Appends a node; output values must exist and have no producer yet. */
qc_status qc_graph_add_node(qc_graph *g, qc_op op, const char *name, const int32_t *in,
                            int32_t n_in, const int32_t *out, int32_t n_out, int32_t *node_id);
qc_status qc_node_set_int(qc_graph *g, int32_t node, const char *key, int64_t v);
qc_status qc_node_set_float(qc_graph *g, int32_t node, const char *key, float v);
qc_status qc_node_set_string(qc_graph *g, int32_t node, const char *key, const char *v);
qc_status qc_node_set_ints(qc_graph *g, int32_t node, const char *key, const int64_t *v, int32_t n);
qc_status qc_node_set_floats(qc_graph *g, int32_t node, const char *key, const float *v, int32_t n);

/* Drops every node with keep_node[i] == 0 and value with keep_value[i] == 0,
 * renumbering ids. Kept nodes may only reference kept values, and graph
 * inputs/outputs must be kept (else QC_ERR_INTERNAL, graph unchanged). */
qc_status qc_graph_compact(qc_graph *g, const uint8_t *keep_node, const uint8_t *keep_value);
/* Rebuilds the name index after values were renamed or renumbered. */
qc_status qc_graph_reindex(qc_graph *g);

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
    const qc_graph *graph;   /* may be NULL (then batch name prints as "?") */
    const qc_node *node;
    int32_t n_in;
    const qc_type *in;
    const void *const *in_data;
    int32_t n_out;
    qc_type *out;            /* filled in by inference */
} qc_infer_ctx;

qc_status qc_infer_node(qc_infer_ctx *ctx);

/* Runs inference over the whole graph in order; fills output types of values
 * whose dtype is QC_DT_UNDEF and checks declared ones, naming node and value
 * on mismatch. */
qc_status qc_graph_infer(qc_graph *g);

/* Structural + type verification: op arity, ids in range, every used value
 * defined before use (topological order), single producer, no dangling
 * values, declared types equal to inferred types, quant params consistent. */
qc_status qc_graph_verify(const qc_graph *g);

/* ---- text form (ir/print.c, frontend/text/parse.c) ----------------------- */

/* Writes the textual IR. Round-trips exactly through qc_graph_parse. */
qc_status qc_graph_print(const qc_graph *g, FILE *f);
qc_status qc_graph_print_string(const qc_graph *g, char **out);   /* malloc'd */
/* Parses text; `source` names it in error messages (file:line:col). */
qc_status qc_graph_parse(const char *text, size_t len, const char *source, qc_graph **out);
qc_status qc_graph_parse_file(const char *path, qc_graph **out);

#endif
