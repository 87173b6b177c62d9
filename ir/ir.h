/* ir.h — qcomp's graph IR: values (SSA tensors), the graph that owns them
 * and its nodes (ops/op.h), the builder API, verification and graph-wide type
 * inference. See docs/ir.md for the textual form.
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

#include "ops/op.h"
#include "qcomp/qcrt.h"

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
