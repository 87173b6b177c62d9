/* attr.c — ONNX attributes -> qcomp attributes, and Constant node values.
 *
 * qcomp attributes are INT, FLOAT, STRING, INTS and FLOATS, which is what
 * every op qcomp implements uses. Two TENSOR attributes matter: Constant's
 * value (becomes a constant value, not a node) and ConstantOfShape's fill
 * value, which qcomp spells as `dtype` (a dtype name) + `value` so the IR
 * stays free of tensor-valued attributes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/onnx/onnx_internal.h"
#include "ir/dtype.h"

/* Short names for the attribute kinds Constant uses. */
enum {
    A_FLOAT = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT,
    A_INT = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT,
    A_TENSOR = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR,
    A_FLOATS = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS,
    A_INTS = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS,
};

const Onnx__AttributeProto *qc_onnx_find_attr(const Onnx__NodeProto *np, const char *name) {
    for (size_t i = 0; i < np->n_attribute; i++)
        if (np->attribute[i]->name && !strcmp(np->attribute[i]->name, name))
            return np->attribute[i];
    return NULL;
}

static const char *kind_name(int type) {
    switch (type) {
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT: return "FLOAT";
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT: return "INT";
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING: return "STRING";
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR: return "TENSOR";
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH: return "GRAPH";
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__SPARSE_TENSOR: return "SPARSE_TENSOR";
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TYPE_PROTO: return "TYPE_PROTO";
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS: return "FLOATS";
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS: return "INTS";
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS: return "STRINGS";
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSORS: return "TENSORS";
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPHS: return "GRAPHS";
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__SPARSE_TENSORS: return "SPARSE_TENSORS";
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TYPE_PROTOS: return "TYPE_PROTOS";
    default: return "UNDEFINED";
    }
}

/* An error naming the node, its ONNX op type and the attribute. */
static qc_status attr_error(const Onnx__NodeProto *np, const char *node_name,
                            const Onnx__AttributeProto *a, qc_code code, const char *why) {
    return qc_error(code, "node '%s' (%s): attribute '%s': %s", node_name,
                    np->op_type ? np->op_type : "?", a && a->name ? a->name : "", why);
}

/* ConstantOfShape's one-element `value` tensor -> attrs dtype + value. */
static qc_status constant_of_shape_value(qc_graph *g, int32_t node_id, const Onnx__NodeProto *np,
                                         const Onnx__AttributeProto *a) {
    const char *nm = g->nodes[node_id].name;
    if (!a->t) return attr_error(np, nm, a, QC_ERR_INVALID, "TENSOR attribute has no tensor");
    char what[256];
    snprintf(what, sizeof what, "node '%s' (ConstantOfShape): attribute 'value'", nm);
    qc_type type;
    void *data;
    size_t nbytes;
    /* The value is one element; external data makes no sense for it. */
    qc_status st = qc_onnx_tensor_decode(a->t, what, NULL, &type, &data, &nbytes);
    if (st) return st;
    if (qc_type_numel(&type) != 1) st = attr_error(np, nm, a, QC_ERR_INVALID,
                                                   "must hold exactly one element");
    if (!st) st = qc_node_set_string(g, node_id, "dtype", qc_dtype_name(type.dtype));
    if (!st) {
        if (qc_dtype_is_float(type.dtype))
            st = qc_node_set_float(g, node_id, "value",
                                   (float)qc_elem_get_f64(type.dtype, data, 0));
        else
            st = qc_node_set_int(g, node_id, "value", qc_elem_get_i64(type.dtype, data, 0));
    }
    free(data);
    return st;
}

static qc_status copy_one(qc_graph *g, int32_t node_id, const Onnx__NodeProto *np, qc_op op,
                          const Onnx__AttributeProto *a) {
    const char *nm = g->nodes[node_id].name;
    if (!a->name || !*a->name)
        return attr_error(np, nm, a, QC_ERR_INVALID, "attribute has no name");
    if (a->ref_attr_name && *a->ref_attr_name)
        return attr_error(np, nm, a, QC_ERR_INVALID,
                          "refers to a function attribute, which is only valid inside functions");
    if (!a->has_type) return attr_error(np, nm, a, QC_ERR_INVALID, "attribute has no type");
    switch (a->type) {
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT:
        return qc_node_set_int(g, node_id, a->name, a->i);
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT:
        return qc_node_set_float(g, node_id, a->name, a->f);
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING: {
        /* qcomp strings are C strings: an embedded NUL would silently cut it. */
        if (a->s.len && memchr(a->s.data, 0, a->s.len))
            return attr_error(np, nm, a, QC_ERR_INVALID, "string contains a NUL byte");
        char *s = malloc(a->s.len + 1);
        if (!s) return qc_error(QC_ERR_NOMEM, "out of memory");
        if (a->s.len) memcpy(s, a->s.data, a->s.len);
        s[a->s.len] = 0;
        qc_status st = qc_node_set_string(g, node_id, a->name, s);
        free(s);
        return st;
    }
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS:
        if (a->n_ints > INT32_MAX)
            return attr_error(np, nm, a, QC_ERR_INVALID, "too many ints");
        return qc_node_set_ints(g, node_id, a->name, a->ints, (int32_t)a->n_ints);
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS:
        if (a->n_floats > INT32_MAX)
            return attr_error(np, nm, a, QC_ERR_INVALID, "too many floats");
        return qc_node_set_floats(g, node_id, a->name, a->floats, (int32_t)a->n_floats);
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR:
        if (op == QC_OP_CONSTANT_OF_SHAPE && !strcmp(a->name, "value"))
            return constant_of_shape_value(g, node_id, np, a);
        break;
    default:
        break;
    }
    char why[96];
    snprintf(why, sizeof why, "%s attributes are not supported", kind_name(a->type));
    return attr_error(np, nm, a, QC_ERR_UNSUPPORTED, why);
}

qc_status qc_onnx_copy_attrs(qc_graph *g, int32_t node_id, const Onnx__NodeProto *np, qc_op op) {
    for (size_t i = 0; i < np->n_attribute; i++) {
        const Onnx__AttributeProto *a = np->attribute[i];
        for (size_t k = 0; k < i; k++)
            if (a->name && np->attribute[k]->name && !strcmp(a->name, np->attribute[k]->name))
                return attr_error(np, g->nodes[node_id].name, a, QC_ERR_INVALID, "given twice");
        qc_status st = copy_one(g, node_id, np, op, a);
        if (st) return st;
    }
    return NULL;
}

/* ---- Constant ------------------------------------------------------------------- */

/* A scalar or 1-D constant of `n` elements from value_float(s)/value_int(s). */
static qc_status list_constant(qc_dtype dt, const void *src, size_t n, bool scalar,
                               qc_type *type, void **data, size_t *nbytes) {
    memset(type, 0, sizeof *type);
    type->dtype = dt;
    type->rank = scalar ? 0 : 1;
    type->dims[0] = (int64_t)n;
    size_t bytes = qc_dtype_bytes(dt, (int64_t)n);
    *data = malloc(bytes ? bytes : 1);
    if (!*data) return qc_error(QC_ERR_NOMEM, "out of memory");
    if (bytes) memcpy(*data, src, bytes);
    *nbytes = bytes;
    return NULL;
}

qc_status qc_onnx_constant_value(const Onnx__NodeProto *np, const char *node_name,
                                 const char *base_dir, qc_type *type, void **data,
                                 size_t *nbytes) {
    *data = NULL;
    const Onnx__AttributeProto *value = NULL;
    for (size_t i = 0; i < np->n_attribute; i++) {
        const Onnx__AttributeProto *a = np->attribute[i];
        if (value)
            return attr_error(np, node_name, a, QC_ERR_INVALID,
                              "a Constant takes exactly one value attribute");
        value = a;
    }
    if (!value)
        return qc_error(QC_ERR_INVALID, "node '%s' (Constant): has no value attribute", node_name);
    const char *key = value->name ? value->name : "";
    int want_type = 0;
    if (!strcmp(key, "value")) want_type = A_TENSOR;
    else if (!strcmp(key, "value_float")) want_type = A_FLOAT;
    else if (!strcmp(key, "value_floats")) want_type = A_FLOATS;
    else if (!strcmp(key, "value_int")) want_type = A_INT;
    else if (!strcmp(key, "value_ints")) want_type = A_INTS;
    else if (!strcmp(key, "sparse_value") || !strcmp(key, "value_string") ||
             !strcmp(key, "value_strings"))
        return attr_error(np, node_name, value, QC_ERR_UNSUPPORTED,
                          "this kind of Constant is not supported");
    else
        return attr_error(np, node_name, value, QC_ERR_INVALID, "unknown Constant attribute");
    if (!value->has_type || (int)value->type != want_type)
        return attr_error(np, node_name, value, QC_ERR_INVALID, "has the wrong attribute type");
    switch (want_type) {
    case A_TENSOR: {
        if (!value->t)
            return attr_error(np, node_name, value, QC_ERR_INVALID,
                              "TENSOR attribute has no tensor");
        char what[256];
        snprintf(what, sizeof what, "node '%s' (Constant): value", node_name);
        return qc_onnx_tensor_decode(value->t, what, base_dir, type, data, nbytes);
    }
    case A_FLOAT:
        return list_constant(QC_F32, &value->f, 1, true, type, data, nbytes);
    case A_INT:
        return list_constant(QC_I64, &value->i, 1, true, type, data, nbytes);
    case A_FLOATS:
        return list_constant(QC_F32, value->floats, value->n_floats, false, type, data, nbytes);
    default:
        return list_constant(QC_I64, value->ints, value->n_ints, false, type, data, nbytes);
    }
}
