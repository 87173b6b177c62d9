/* onnx_internal.h — internal: the pieces of the ONNX importer, one file per
 * concept:
 *   import.c  ModelProto -> qc_graph (opsets, values, nodes, pipeline)
 *   order.c   value-name table, topological order, dangling/duplicate names
 *   tensor.c  TensorProto -> element type + bytes (typed fields, raw_data,
 *             external data), .pb tensor files
 *   attr.c    AttributeProto -> qc attributes, Constant node values
 *   opset.c   op resolution per domain/opset, old-semantics rewrites
 *   wire.c    protobuf pre-check (nesting depth, decoded size), file helpers */
#ifndef QC_FRONTEND_ONNX_INTERNAL_H
#define QC_FRONTEND_ONNX_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "frontend/onnx/onnx.h"
#include "ir/ir.h"
#include "onnx.pb-c.h"

/* The opset range qcomp implements for the default domain; older models are
 * accepted op by op when the op's definition did not change (opset.c). */
#define QC_ONNX_MIN_OPSET 11
#define QC_ONNX_MAX_OPSET 21

/* ---- wire.c ------------------------------------------------------------- */

/* Walks the protobuf wire format of `buf` as message `desc` without
 * decoding it, rejecting nesting deeper than protobuf-c can unpack without
 * risking the stack and inputs that would decode to far more memory than
 * their size suggests. Errors name `what` ("the model") and the byte offset;
 * callers prefix the file name. */
qc_status qc_onnx_wire_check(const uint8_t *buf, size_t len,
                             const ProtobufCMessageDescriptor *desc, const char *what);

/* Reads a whole file into a malloc'd buffer (*buf is never NULL on success).
 * `what` names the file's role in errors ("ONNX model", "tensor file"). */
qc_status qc_onnx_read_file(const char *path, const char *what, uint8_t **buf, size_t *len);
/* The directory part of path ("." when there is none), malloc'd; NULL when
 * out of memory. */
char *qc_onnx_dirname(const char *path);

/* ---- tensor.c ----------------------------------------------------------- */

/* ONNX TensorProto.DataType -> qcomp dtype; QC_DT_UNDEF if qcomp has none. */
qc_dtype qc_onnx_dtype(int32_t onnx_type);
/* "FLOAT", "STRING", ... ("type 99" for unknown numbers; static storage for
 * known names, `buf` otherwise). */
const char *qc_onnx_dtype_name(int32_t onnx_type, char *buf, size_t n);

/* Decodes a TensorProto: its type from data_type/dims, its data into a
 * malloc'd buffer of exactly the type's byte size (at least 1 byte is
 * allocated). `what` names the tensor in errors ("initializer 'w'").
 * `base_dir` anchors external data (NULL: external data is refused). */
qc_status qc_onnx_tensor_decode(const Onnx__TensorProto *t, const char *what,
                                const char *base_dir, qc_type *type, void **data,
                                size_t *nbytes);

/* ---- attr.c ------------------------------------------------------------- */

const Onnx__AttributeProto *qc_onnx_find_attr(const Onnx__NodeProto *np, const char *name);

/* Copies every attribute of `np` onto node `node_id`: INT, FLOAT, STRING,
 * INTS and FLOATS as they are; ConstantOfShape's TENSOR `value` as qcomp's
 * `dtype` (string) + `value` (FLOAT or INT). Other kinds are unsupported
 * (errors name the node and attribute). */
qc_status qc_onnx_copy_attrs(qc_graph *g, int32_t node_id, const Onnx__NodeProto *np,
                             qc_op op);

/* The tensor a Constant node defines, from whichever of value, value_float,
 * value_floats, value_int, value_ints it carries (exactly one). */
qc_status qc_onnx_constant_value(const Onnx__NodeProto *np, const char *node_name,
                                 const char *base_dir, qc_type *type, void **data,
                                 size_t *nbytes);

/* ---- opset.c ------------------------------------------------------------ */

typedef struct qc_onnx_opsets {
    int64_t onnx;       /* default domain ("" / "ai.onnx"); 0 if not imported */
    int64_t ms;         /* com.microsoft; 0 if not imported */
} qc_onnx_opsets;

/* How an ONNX node becomes qcomp nodes. */
typedef enum qc_onnx_rule {
    QC_ONNX_RULE_DIRECT = 0,   /* one qcomp node, attributes as they are */
    QC_ONNX_RULE_CONSTANT,     /* Constant: a constant value, no node */
    QC_ONNX_RULE_COERCE_2D,    /* Softmax/LogSoftmax/Hardmax before opset 13 */
} qc_onnx_rule;

typedef struct qc_onnx_op {
    bool supported;
    qc_op op;            /* QC_OP_INVALID for Constant and unsupported ops */
    qc_onnx_rule rule;
    char why[160];       /* when unsupported: a reason, or "" (qcomp lacks the op) */
} qc_onnx_op;

/* Decides what node np (its domain, op_type and, for old opsets, the
 * attributes that changed meaning) becomes under `os`. */
void qc_onnx_resolve_op(const qc_onnx_opsets *os, const Onnx__NodeProto *np, qc_onnx_op *out);

typedef struct qc_onnx_names qc_onnx_names;

/* What node emission needs (import.c owns it). */
typedef struct qc_onnx_builder {
    qc_graph *g;
    const qc_onnx_names *names;   /* every ONNX value name, to keep fresh names fresh */
    const char *base_dir;         /* anchors external data; NULL refuses it */
    qc_onnx_opsets opsets;
} qc_onnx_builder;

/* Emits a node whose ONNX semantics at this opset differ from qcomp's op
 * (QC_ONNX_RULE_COERCE_2D): y = Reshape(op(Flatten(x, axis), axis=-1)). */
qc_status qc_onnx_emit_coerce_2d(qc_onnx_builder *b, const Onnx__NodeProto *np,
                                 const char *node_name, qc_op op, int32_t x, int32_t y);

/* ---- import.c: node emission helpers used by the rewrites ------------------ */

/* A new value (type unset) named "<base>/<suffix>[_k]", a name no ONNX value
 * of the model uses. */
qc_status qc_onnx_fresh_value(qc_onnx_builder *b, const char *base, const char *suffix,
                              int32_t *id);
/* The same for a constant of `type` with `data` (qc_dtype_bytes of it). */
qc_status qc_onnx_fresh_const(qc_onnx_builder *b, const char *base, const char *suffix,
                              const qc_type *type, const void *data, int32_t *id);
/* qc_graph_add_node with errors naming the node. */
qc_status qc_onnx_emit_node(qc_onnx_builder *b, qc_op op, const char *name, const int32_t *in,
                            int32_t n_in, const int32_t *out, int32_t n_out, int32_t *node);
/* Infers node's output types now when every input's type is known, so later
 * rewrites can see shapes. A failure is not an error here: the outputs stay
 * untyped and the whole-graph inference after constant folding reports it
 * (folding may still supply the constants it lacked). */
qc_status qc_onnx_infer_node(qc_onnx_builder *b, int32_t node);

/* ---- order.c ------------------------------------------------------------ */

/* ONNX value names known before any node is emitted: initializers, graph
 * inputs and node outputs, each with its producing node (-1 for graph inputs
 * and initializers). Used for ordering and for generating fresh names. */

/* Builds the table and a topological order of the graph's nodes (the file's
 * order when it already is one). Rejects duplicate definitions, inputs that
 * nothing defines and cycles, naming the node and value. *order has n_node
 * entries (malloc'd). `node_names[i]` names node i in messages. */
qc_status qc_onnx_order_nodes(const Onnx__GraphProto *gp, char *const *node_names,
                              qc_onnx_names **names, int32_t **order);
void qc_onnx_names_free(qc_onnx_names *t);
/* True if `name` is an ONNX value name of the model. */
bool qc_onnx_names_has(const qc_onnx_names *t, const char *name);

#endif
