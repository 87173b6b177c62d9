/* export.c — qc_graph -> ONNX ModelProto (so qcomp's graphs, quantized ones
 * included, can be checked in another runtime such as ONNX Runtime).
 *
 * The protobuf structs are the protoc-c generated ones the importer reads;
 * they are filled in pointing at the graph's own strings and constant bytes
 * wherever possible (packing only reads them), and everything the exporter
 * allocates is recorded in one list freed at the end, so every error path
 * is a single cleanup.
 *
 * Order of work: refuse what ONNX cannot express (internal ops, quant params
 * with no Q/DQ node), pick/check the opset, then inputs, constants, nodes
 * (rewriting attribute/input forms that changed between opsets), outputs,
 * and pack. See docs/onnx.md, "Export". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "frontend/onnx/onnx_internal.h"
#include "ir/dtype.h"

#define QC_ONNX_EXPORT_MIN_OPSET 13
/* Node names listed per error before "and N more". */
#define MAX_LISTED 8

/* TensorProto.DataType numbers (onnx.proto; 17+ postdate the system's copy). */
static int32_t onnx_type(qc_dtype t) {
    switch (t) {
    case QC_F32: return 1;
    case QC_U8: return 2;
    case QC_I8: return 3;
    case QC_I16: return 5;
    case QC_I32: return 6;
    case QC_I64: return 7;
    case QC_BOOL: return 9;
    case QC_F16: return 10;
    case QC_F64: return 11;
    case QC_BF16: return 16;
    case QC_F8E4M3FN: return 17;
    case QC_F8E5M2: return 19;
    case QC_U4: return 21;
    case QC_I4: return 22;
    default: return 0;
    }
}

typedef struct exporter {
    const qc_graph *g;
    int opset;
    bool use_ms;                 /* a node is exported in domain com.microsoft */
    void **allocs;               /* everything allocated for the protobuf structs */
    size_t n_allocs, cap_allocs;
    Onnx__NodeProto **nodes;
    size_t n_nodes;
    Onnx__TensorProto **inits;
    size_t n_inits, cap_inits;
    char empty[1];               /* "" for absent inputs */
} exporter;

/* ---- allocation ---------------------------------------------------------------- */

/* Zeroed memory owned by the exporter; NULL when out of memory. */
static void *ex_alloc(exporter *x, size_t n, size_t size) {
    if (x->n_allocs == x->cap_allocs) {
        size_t cap = x->cap_allocs ? 2 * x->cap_allocs : 256;
        void **p = realloc(x->allocs, cap * sizeof *p);
        if (!p) return NULL;
        x->allocs = p;
        x->cap_allocs = cap;
    }
    void *m = calloc(n ? n : 1, size ? size : 1);
    if (m) x->allocs[x->n_allocs++] = m;
    return m;
}

static char *ex_strdup(exporter *x, const char *s) {
    size_t n = strlen(s) + 1;
    char *p = ex_alloc(x, n, 1);
    if (p) memcpy(p, s, n);
    return p;
}

static void ex_free(exporter *x) {
    for (size_t i = 0; i < x->n_allocs; i++) free(x->allocs[i]);
    free(x->allocs);
}

static qc_status oom(void) { return qc_error(QC_ERR_NOMEM, "out of memory"); }

/* ---- what ONNX cannot express ------------------------------------------------------ */

/* Appends "'name'" to a list of at most MAX_LISTED entries, counting the rest. */
static void list_add(char *buf, size_t n, size_t *count, const char *name) {
    size_t at = strlen(buf);
    if (*count < MAX_LISTED && at < n)
        snprintf(buf + at, n - at, "%s'%s'", *count ? ", " : "", name);
    (*count)++;
}

static void list_end(char *buf, size_t n, size_t count) {
    size_t at = strlen(buf);
    if (count > MAX_LISTED && at < n)
        snprintf(buf + at, n - at, " and %zu more", count - MAX_LISTED);
}

/* Internal ops ("qc.*") exist only after qcomp's own passes; ONNX has no
 * equivalent, so the graph must be exported before them. */
static qc_status check_internal_ops(const qc_graph *g) {
    char list[1024] = "";
    size_t count = 0;
    const char *first = NULL;
    for (int32_t i = 0; i < g->n_nodes; i++) {
        const qc_op_info *info = qc_op_get_info(g->nodes[i].op);
        if (!info) return qc_error(QC_ERR_INTERNAL, "node %d has an invalid op", (int)i);
        if (strncmp(info->name, "qc.", 3)) continue;
        if (!first) first = info->name;
        char item[400];
        snprintf(item, sizeof item, "%s (%s)", g->nodes[i].name, info->name);
        list_add(list, sizeof list, &count, item);
    }
    if (!count) return NULL;
    list_end(list, sizeof list, count);
    return qc_error(QC_ERR_UNSUPPORTED,
                    "%zu node%s use qcomp-internal ops, which ONNX does not have: %s; export "
                    "happens before qdq_fold/fuse (export the imported or quantized graph, not "
                    "the compiled one)", count, count == 1 ? "" : "s", list);
}

/* A value's qc_quant is only representable through a QuantizeLinear that
 * produces it or a DequantizeLinear that reads it (the Q/DQ form). After
 * qdq_fold the params live on the values alone and exporting would silently
 * drop them, so that is an error. */
static qc_status check_quant(const qc_graph *g) {
    uint8_t *ok = calloc((size_t)g->n_values + 1, 1);
    if (!ok) return oom();
    for (int32_t i = 0; i < g->n_nodes; i++) {
        const qc_node *n = &g->nodes[i];
        if (n->op == QC_OP_QUANTIZE_LINEAR) ok[n->out[0]] = 1;
        if (n->op == QC_OP_DEQUANTIZE_LINEAR && n->in[0] >= 0) ok[n->in[0]] = 1;
    }
    char list[1024] = "";
    size_t count = 0;
    for (int32_t v = 0; v < g->n_values; v++)
        if (g->values[v].quant.kind != QC_Q_NONE && !ok[v])
            list_add(list, sizeof list, &count, g->values[v].name);
    free(ok);
    if (!count) return NULL;
    list_end(list, sizeof list, count);
    return qc_error(QC_ERR_UNSUPPORTED,
                    "%zu value%s carry quantization parameters that no QuantizeLinear/"
                    "DequantizeLinear node expresses (%s); ONNX keeps them only in Q/DQ nodes: "
                    "export happens before qdq_fold/fuse", count, count == 1 ? "" : "s", list);
}

/* ---- opset ----------------------------------------------------------------------- */

/* Raises *need to `v` with reason `why` when that is higher. */
static void need(int *need_v, char *why, size_t n, int v, const char *fmt, const char *arg) {
    if (v <= *need_v) return;
    *need_v = v;
    snprintf(why, n, fmt, arg);
}

static bool is_reduce_18(qc_op op) {   /* Reduce* whose axes became an input at 18 */
    switch (op) {
    case QC_OP_REDUCE_MEAN: case QC_OP_REDUCE_MAX: case QC_OP_REDUCE_MIN:
    case QC_OP_REDUCE_PROD: case QC_OP_REDUCE_L1: case QC_OP_REDUCE_L2:
    case QC_OP_REDUCE_SUM_SQUARE: case QC_OP_REDUCE_LOG_SUM: case QC_OP_REDUCE_LOG_SUM_EXP:
        return true;
    default: return false;
    }
}

static bool has_in(const qc_node *n, int32_t i) { return i < n->n_in && n->in[i] >= 0; }

/* The lowest opset that can express the graph (*hard, with the reason), and
 * the one that keeps its forms as they are (*soft >= *hard: e.g. a ReduceMean
 * with an axes input needs no rewrite at 18, while at 13 its constant axes
 * move to an attribute). */
static void required_opset(const qc_graph *g, int *hard, char *why, size_t n, int *soft) {
    *hard = *soft = QC_ONNX_EXPORT_MIN_OPSET;
    char soft_why[200];
    why[0] = 0;
    for (int32_t v = 0; v < g->n_values; v++) {
        qc_dtype t = g->values[v].type.dtype;
        if (t == QC_I4 || t == QC_U4)
            need(hard, why, n, 21, "value '%s' is int4/uint4", g->values[v].name);
        if (t == QC_F8E4M3FN || t == QC_F8E5M2)
            need(hard, why, n, 19, "value '%s' is float8", g->values[v].name);
    }
    for (int32_t i = 0; i < g->n_nodes; i++) {
        const qc_node *nd = &g->nodes[i];
        const char *nm = nd->name;
        switch (nd->op) {
        case QC_OP_LAYER_NORM: need(hard, why, n, 17, "node '%s' is LayerNormalization", nm); break;
        case QC_OP_HARD_SWISH: need(hard, why, n, 14, "node '%s' is HardSwish", nm); break;
        case QC_OP_TRILU: need(hard, why, n, 14, "node '%s' is Trilu", nm); break;
        case QC_OP_CAST_LIKE: need(hard, why, n, 15, "node '%s' is CastLike", nm); break;
        case QC_OP_RESHAPE:
            if (qc_node_attr(nd, "allowzero"))
                need(hard, why, n, 14, "Reshape '%s' has allowzero", nm);
            break;
        case QC_OP_GELU:
            /* Below 20 it goes to com.microsoft, whose Gelu is the erf form. */
            if (strcmp(qc_attr_string(nd, "approximate", "none"), "none"))
                need(hard, why, n, 20, "Gelu '%s' uses approximate=tanh", nm);
            break;
        case QC_OP_QUANTIZE_LINEAR: case QC_OP_DEQUANTIZE_LINEAR: {
            qc_dtype q = g->values[nd->op == QC_OP_QUANTIZE_LINEAR ? nd->out[0] : nd->in[0]]
                             .type.dtype;
            if (qc_node_attr(nd, "block_size"))
                need(hard, why, n, 21, "node '%s' uses blocked quantization", nm);
            if (qc_node_attr(nd, "output_dtype"))
                need(hard, why, n, 21, "node '%s' has output_dtype", nm);
            if (qc_node_attr(nd, "saturate")) need(hard, why, n, 19, "node '%s' has saturate", nm);
            if (q == QC_I16) need(hard, why, n, 21, "node '%s' quantizes to int16", nm);
            qc_dtype xt = g->values[nd->in[0]].type.dtype;
            if (nd->op == QC_OP_QUANTIZE_LINEAR && xt != QC_F32 && xt != QC_I32)
                need(hard, why, n, 19, "QuantizeLinear '%s' takes a non-f32 input", nm);
            break;
        }
        case QC_OP_CAST:
            if (qc_node_attr(nd, "saturate")) need(hard, why, n, 19, "Cast '%s' has saturate", nm);
            break;
        case QC_OP_ADD: case QC_OP_SUB: case QC_OP_MUL: case QC_OP_DIV: case QC_OP_RELU: {
            /* Version 14 added the 8/16-bit integer types (and int32 Relu). */
            qc_dtype t = g->values[nd->in[0]].type.dtype;
            if (t == QC_I8 || t == QC_U8 || t == QC_I16 || (nd->op == QC_OP_RELU && t == QC_I32))
                need(hard, why, n, 14, "node '%s' computes on 8/16-bit integers", nm);
            break;
        }
        case QC_OP_SHAPE:
            if (qc_node_attr(nd, "start") || qc_node_attr(nd, "end"))
                need(hard, why, n, 15, "Shape '%s' has start/end", nm);
            break;
        case QC_OP_AVERAGE_POOL:
            if (qc_node_attr(nd, "dilations"))
                need(hard, why, n, 19, "AveragePool '%s' has dilations", nm);
            break;
        case QC_OP_PAD:
            if (has_in(nd, 3)) need(hard, why, n, 18, "Pad '%s' has an axes input", nm);
            break;
        case QC_OP_SPLIT:
            if (qc_node_attr(nd, "num_outputs")) {
                /* Below 18 the sizes are written out, from the outputs'
                 * static dims along the axis. */
                need(soft, soft_why, sizeof soft_why, 18, "%s", nm);
                const qc_type *t = &g->values[nd->out[0]].type;
                int64_t axis = qc_attr_int(nd, "axis", 0);
                if (axis < 0) axis += t->rank;
                if (axis < 0 || axis >= t->rank || t->dims[axis] == QC_DIM_SYM)
                    need(hard, why, n, 18, "Split '%s' has num_outputs on a symbolic axis", nm);
            }
            break;
        default:
            if (!is_reduce_18(nd->op)) break;
            if (has_in(nd, 1)) {
                need(soft, soft_why, sizeof soft_why, 18, "%s", nm);
                if (!g->values[nd->in[1]].data)
                    need(hard, why, n, 18, "node '%s' has a computed axes input", nm);
            }
            /* "reduce nothing" has no spelling before 18 */
            if (qc_attr_int(nd, "noop_with_empty_axes", 0) && !has_in(nd, 1) &&
                !qc_node_attr(nd, "axes"))
                need(hard, why, n, 18, "node '%s' has noop_with_empty_axes and no axes", nm);
            if ((nd->op == QC_OP_REDUCE_MAX || nd->op == QC_OP_REDUCE_MIN) &&
                g->values[nd->in[0]].type.dtype == QC_BOOL)
                need(hard, why, n, 20, "node '%s' reduces bools", nm);
            break;
        }
    }
    if (*soft < *hard) *soft = *hard;
}

/* ---- protobuf pieces ---------------------------------------------------------------- */

static Onnx__TensorProto *make_tensor(exporter *x, const char *name, const qc_type *t,
                                      const void *data, size_t nbytes) {
    Onnx__TensorProto *tp = ex_alloc(x, 1, sizeof *tp);
    int64_t *dims = ex_alloc(x, (size_t)t->rank, sizeof *dims);
    if (!tp || !dims) return NULL;
    onnx__tensor_proto__init(tp);
    if (name && !(tp->name = ex_strdup(x, name))) return NULL;
    for (int32_t d = 0; d < t->rank; d++) dims[d] = t->dims[d];
    tp->n_dims = (size_t)t->rank;
    tp->dims = dims;
    tp->has_data_type = 1;
    tp->data_type = onnx_type(t->dtype);
    /* raw_data is qcomp's own layout for every type (little endian, bool one
     * byte, int4 packed low nibble first), so the bytes go out as they are. */
    tp->has_raw_data = 1;
    tp->raw_data.len = nbytes;
    tp->raw_data.data = (uint8_t *)(uintptr_t)data;
    return tp;
}

static Onnx__ValueInfoProto *make_value_info(exporter *x, const qc_value *v) {
    Onnx__ValueInfoProto *vi = ex_alloc(x, 1, sizeof *vi);
    Onnx__TypeProto *tp = ex_alloc(x, 1, sizeof *tp);
    Onnx__TypeProto__Tensor *tt = ex_alloc(x, 1, sizeof *tt);
    Onnx__TensorShapeProto *sh = ex_alloc(x, 1, sizeof *sh);
    Onnx__TensorShapeProto__Dimension **dims = ex_alloc(x, (size_t)v->type.rank, sizeof *dims);
    if (!vi || !tp || !tt || !sh || !dims) return NULL;
    onnx__value_info_proto__init(vi);
    onnx__type_proto__init(tp);
    onnx__type_proto__tensor__init(tt);
    onnx__tensor_shape_proto__init(sh);
    for (int32_t d = 0; d < v->type.rank; d++) {
        Onnx__TensorShapeProto__Dimension *dim = ex_alloc(x, 1, sizeof *dim);
        if (!dim) return NULL;
        onnx__tensor_shape_proto__dimension__init(dim);
        if (v->type.dims[d] == QC_DIM_SYM) {
            dim->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
            dim->dim_param = x->g->batch ? x->g->batch : (char *)(uintptr_t)"N";
        } else {
            dim->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
            dim->dim_value = v->type.dims[d];
        }
        dims[d] = dim;
    }
    sh->n_dim = (size_t)v->type.rank;
    sh->dim = dims;
    tt->has_elem_type = 1;
    tt->elem_type = onnx_type(v->type.dtype);
    tt->shape = sh;
    tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    tp->tensor_type = tt;
    vi->name = v->name;
    vi->type = tp;
    return vi;
}

static Onnx__AttributeProto *new_attr(exporter *x, const char *name,
                                      Onnx__AttributeProto__AttributeType type) {
    Onnx__AttributeProto *a = ex_alloc(x, 1, sizeof *a);
    if (!a) return NULL;
    onnx__attribute_proto__init(a);
    a->name = (char *)(uintptr_t)name;
    a->has_type = 1;
    a->type = type;
    return a;
}

static Onnx__AttributeProto *make_attr(exporter *x, const qc_attr *at) {
    Onnx__AttributeProto *a;
    switch (at->kind) {
    case QC_ATTR_INT:
        if ((a = new_attr(x, at->name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT))) {
            a->has_i = 1;
            a->i = at->i;
        }
        return a;
    case QC_ATTR_FLOAT:
        if ((a = new_attr(x, at->name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT))) {
            a->has_f = 1;
            a->f = at->f;
        }
        return a;
    case QC_ATTR_STRING:
        if ((a = new_attr(x, at->name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING))) {
            a->has_s = 1;
            a->s.len = strlen(at->s);
            a->s.data = (uint8_t *)at->s;
        }
        return a;
    case QC_ATTR_INTS:
        if ((a = new_attr(x, at->name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS))) {
            a->n_ints = (size_t)at->n;
            a->ints = at->ints;
        }
        return a;
    case QC_ATTR_FLOATS:
        if ((a = new_attr(x, at->name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS))) {
            a->n_floats = (size_t)at->n;
            a->floats = at->floats;
        }
        return a;
    }
    return NULL;
}

/* A new initializer named "<base>/<suffix>" (made unique), holding a copy of
 * `data`; returns its name, or NULL when out of memory. */
static char *add_generated_const(exporter *x, const char *base, const char *suffix,
                                 const qc_type *t, const void *data) {
    char name[600];
    snprintf(name, sizeof name, "%s/%s", base, suffix);
    for (int k = 2; qc_graph_find_value(x->g, name) >= 0 && k < 1000; k++)
        snprintf(name, sizeof name, "%s/%s_%d", base, suffix, k);
    size_t nbytes = qc_dtype_bytes(t->dtype, qc_type_numel(t));
    void *copy = ex_alloc(x, nbytes, 1);
    if (!copy || x->n_inits == x->cap_inits) return NULL;
    if (nbytes) memcpy(copy, data, nbytes);
    Onnx__TensorProto *tp = make_tensor(x, name, t, copy, nbytes);
    if (!tp) return NULL;
    x->inits[x->n_inits++] = tp;
    return tp->name;
}

/* ---- nodes ------------------------------------------------------------------------ */

/* A node being converted: its ONNX inputs and attributes, editable. */
typedef struct node_form {
    char **in;
    size_t n_in;
    Onnx__AttributeProto **attr;
    size_t n_attr;
    const char *base;            /* names generated constants */
} node_form;

static void drop_attr(node_form *f, const char *name) {
    for (size_t i = 0; i < f->n_attr; i++)
        if (!strcmp(f->attr[i]->name, name)) {
            memmove(&f->attr[i], &f->attr[i + 1], (f->n_attr - i - 1) * sizeof f->attr[0]);
            f->n_attr--;
            return;
        }
}

static Onnx__AttributeProto *find_attr(node_form *f, const char *name) {
    for (size_t i = 0; i < f->n_attr; i++)
        if (!strcmp(f->attr[i]->name, name)) return f->attr[i];
    return NULL;
}

/* Puts `name` at input slot `slot`, filling skipped slots with "". */
static void set_input(exporter *x, node_form *f, size_t slot, char *name) {
    while (f->n_in < slot) f->in[f->n_in++] = x->empty;
    if (slot < f->n_in) f->in[slot] = name;
    else f->in[f->n_in++] = name;
}

/* An INT or INTS attribute -> a constant i64[n] input at `slot` (the opset
 * 13/18 form of axes and split). */
static qc_status ints_attr_to_input(exporter *x, node_form *f, const char *key, size_t slot) {
    Onnx__AttributeProto *a = find_attr(f, key);
    if (!a) return NULL;
    bool one = a->type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
    qc_type t = {.dtype = QC_I64, .rank = 1, .dims = {one ? 1 : (int64_t)a->n_ints}};
    char *nm = add_generated_const(x, f->base, key, &t, one ? &a->i : (const void *)a->ints);
    if (!nm) return oom();
    set_input(x, f, slot, nm);
    drop_attr(f, key);
    return NULL;
}

/* A float attribute of older opsets (Clip min/max, Pad value, Dropout
 * ratio) -> a scalar input of the data's dtype at `slot`. */
static qc_status float_attr_to_input(exporter *x, node_form *f, const char *key, size_t slot,
                                     qc_dtype dt) {
    Onnx__AttributeProto *a = find_attr(f, key);
    if (!a) return NULL;
    uint8_t buf[8] = {0};
    qc_elem_set_f64(dt, buf, 0, a->f);
    qc_type t = {.dtype = dt, .rank = 0};
    char *nm = add_generated_const(x, f->base, key, &t, buf);
    if (!nm) return oom();
    set_input(x, f, slot, nm);
    drop_attr(f, key);
    return NULL;
}

/* Reduce* below opset 18: a constant axes input -> the `axes` attribute. */
static qc_status axes_input_to_attr(exporter *x, const qc_node *n, node_form *f) {
    const qc_value *ax = &x->g->values[n->in[1]];
    if (!ax->data)
        return qc_error(QC_ERR_UNSUPPORTED, "node '%s' (%s): its axes input '%s' is computed, "
                        "which needs opset 18", n->name, qc_op_get_info(n->op)->name, ax->name);
    int64_t cnt = qc_type_numel(&ax->type);
    int64_t *ints = ex_alloc(x, (size_t)cnt, sizeof *ints);
    Onnx__AttributeProto *a = new_attr(x, "axes", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
    if (!ints || !a) return oom();
    for (int64_t k = 0; k < cnt; k++) ints[k] = qc_elem_get_i64(ax->type.dtype, ax->data, k);
    Onnx__AttributeProto *noop = find_attr(f, "noop_with_empty_axes");
    if (noop && noop->i && cnt == 0)
        return qc_error(QC_ERR_UNSUPPORTED, "node '%s' (%s): noop_with_empty_axes with empty "
                        "axes needs opset 18", n->name, qc_op_get_info(n->op)->name);
    drop_attr(f, "noop_with_empty_axes");   /* not an attribute before 18 */
    f->n_in = 1;
    if (cnt) {
        a->n_ints = (size_t)cnt;
        a->ints = ints;
        f->attr[f->n_attr++] = a;
    }
    return NULL;
}

/* Split with num_outputs below opset 18: explicit sizes from the outputs. */
static qc_status num_outputs_to_split(exporter *x, const qc_node *n, node_form *f) {
    const qc_type *xt = &x->g->values[n->in[0]].type;
    int64_t axis = qc_attr_int(n, "axis", 0);
    if (axis < 0) axis += xt->rank;
    int64_t *sizes = ex_alloc(x, (size_t)n->n_out, sizeof *sizes);
    if (!sizes) return oom();
    for (int32_t k = 0; k < n->n_out; k++) {
        const qc_type *t = &x->g->values[n->out[k]].type;
        if (axis < 0 || axis >= t->rank || t->dims[axis] == QC_DIM_SYM)
            return qc_error(QC_ERR_UNSUPPORTED, "node '%s' (Split): num_outputs on a "
                            "symbolic axis needs opset 18", n->name);
        sizes[k] = t->dims[axis];
    }
    qc_type t = {.dtype = QC_I64, .rank = 1, .dims = {n->n_out}};
    char *nm = add_generated_const(x, f->base, "split", &t, sizes);
    if (!nm) return oom();
    set_input(x, f, 1, nm);
    drop_attr(f, "num_outputs");
    return NULL;
}

/* ConstantOfShape: qcomp's dtype + value attributes -> ONNX's one-element
 * TENSOR `value`. */
static qc_status constant_of_shape_value(exporter *x, const qc_node *n, node_form *f) {
    const qc_attr *dt_attr = qc_node_attr(n, "dtype"), *v = qc_node_attr(n, "value");
    drop_attr(f, "dtype");
    drop_attr(f, "value");
    if (!dt_attr && !v) return NULL;   /* ONNX's default: float32 zero */
    qc_dtype dt = dt_attr ? qc_dtype_from_name(qc_attr_string(n, "dtype", "")) : QC_F32;
    if (dt == QC_DT_UNDEF || !onnx_type(dt))
        return qc_error(QC_ERR_INVALID, "node '%s' (ConstantOfShape): bad dtype attribute",
                        n->name);
    uint8_t buf[8] = {0};
    if (v && v->kind == QC_ATTR_FLOAT) qc_elem_set_f64(dt, buf, 0, v->f);
    else if (v) qc_elem_set_i64(dt, buf, 0, v->i);
    void *copy = ex_alloc(x, 8, 1);
    qc_type t = {.dtype = dt, .rank = 1, .dims = {1}};
    Onnx__AttributeProto *a = new_attr(x, "value", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR);
    if (!copy || !a) return oom();
    memcpy(copy, buf, 8);
    if (!(a->t = make_tensor(x, NULL, &t, copy, qc_dtype_bytes(dt, 1)))) return oom();
    f->attr[f->n_attr++] = a;
    return NULL;
}

/* The opset-dependent rewrites of one node (see the file comment). */
static qc_status adapt_form(exporter *x, const qc_node *n, node_form *f, const char **domain) {
    qc_dtype dt = n->n_in && n->in[0] >= 0 ? x->g->values[n->in[0]].type.dtype : QC_F32;
    qc_status st = NULL;
    switch (n->op) {
    case QC_OP_SPLIT:
        st = ints_attr_to_input(x, f, "split", 1);
        if (!st && x->opset < 18 && find_attr(f, "num_outputs")) st = num_outputs_to_split(x, n, f);
        return st;
    case QC_OP_SQUEEZE: case QC_OP_UNSQUEEZE: case QC_OP_REDUCE_SUM:
        return ints_attr_to_input(x, f, "axes", 1);
    case QC_OP_PAD:
        st = ints_attr_to_input(x, f, "pads", 1);
        if (!st) st = float_attr_to_input(x, f, "value", 2, dt);
        return st;
    case QC_OP_CLIP:
        st = float_attr_to_input(x, f, "min", 1, dt);
        if (!st) st = float_attr_to_input(x, f, "max", 2, dt);
        return st;
    case QC_OP_DROPOUT:   /* `ratio` was an attribute before opset 12 */
        return float_attr_to_input(x, f, "ratio", 1, dt);
    case QC_OP_CONSTANT_OF_SHAPE:
        return constant_of_shape_value(x, n, f);
    case QC_OP_GELU:
        if (x->opset < 20) *domain = "com.microsoft";
        if (x->opset < 20) drop_attr(f, "approximate");   /* "none": the contrib op's form */
        return NULL;
    case QC_OP_QLINEAR_ADD: case QC_OP_QLINEAR_MUL:
        if (find_attr(f, "act_min") || find_attr(f, "act_max"))
            return qc_error(QC_ERR_UNSUPPORTED, "node '%s': QLinearAdd/Mul with a folded activation "
                            "clamp (act_min/act_max) has no com.microsoft form", n->name);
        *domain = "com.microsoft";
        return NULL;
    default:
        if (!is_reduce_18(n->op)) return NULL;
        if (x->opset >= 18) return ints_attr_to_input(x, f, "axes", 1);
        if (has_in(n, 1)) return axes_input_to_attr(x, n, f);
        drop_attr(f, "noop_with_empty_axes");   /* 0 here (required_opset): the default */
        return NULL;
    }
}

static qc_status convert_node(exporter *x, const qc_node *n, Onnx__NodeProto **out) {
    const qc_op_info *info = qc_op_get_info(n->op);
    Onnx__NodeProto *np = ex_alloc(x, 1, sizeof *np);
    node_form f = {0};
    f.in = ex_alloc(x, (size_t)n->n_in + 4, sizeof *f.in);
    f.attr = ex_alloc(x, (size_t)n->n_attr + 2, sizeof *f.attr);
    char **outs = ex_alloc(x, (size_t)n->n_out, sizeof *outs);
    if (!np || !f.in || !f.attr || !outs) return oom();
    f.base = x->g->values[n->out[0]].name;
    for (int32_t i = 0; i < n->n_in; i++)
        f.in[f.n_in++] = n->in[i] >= 0 ? x->g->values[n->in[i]].name : x->empty;
    /* "qc."-prefixed attributes are qcomp's annotations (qc.precision from the
     * int8-vs-fp32 guard): not ONNX, which rejects unknown attributes. */
    for (int32_t i = 0; i < n->n_attr; i++)
        if (strncmp(n->attr[i].name, "qc.", 3) &&
            !(f.attr[f.n_attr++] = make_attr(x, &n->attr[i])))
            return oom();
    const char *domain = NULL;
    qc_status st = adapt_form(x, n, &f, &domain);
    if (st) return st;
    if (domain && !strcmp(domain, "com.microsoft")) x->use_ms = true;
    while (f.n_in && f.in[f.n_in - 1] == x->empty) f.n_in--;   /* trailing absent inputs */
    for (int32_t i = 0; i < n->n_out; i++) outs[i] = x->g->values[n->out[i]].name;
    onnx__node_proto__init(np);
    np->n_input = f.n_in;
    np->input = f.in;
    np->n_output = (size_t)n->n_out;
    np->output = outs;
    np->name = n->name ? n->name : x->empty;
    np->op_type = (char *)(uintptr_t)info->name;
    np->domain = (char *)(uintptr_t)(domain ? domain : "");
    np->n_attribute = f.n_attr;
    np->attribute = f.attr;
    *out = np;
    return NULL;
}

/* ---- the model ---------------------------------------------------------------------- */

static qc_status pick_opset(const qc_graph *g, int asked, int *opset) {
    int hard, soft;
    char why[400];
    required_opset(g, &hard, why, sizeof why, &soft);
    if (asked == 0) {
        *opset = soft;
        return NULL;
    }
    if (asked < QC_ONNX_EXPORT_MIN_OPSET || asked > QC_ONNX_MAX_OPSET)
        return qc_error(QC_ERR_UNSUPPORTED, "opset %d: qcomp exports opsets %d to %d (0 picks "
                        "the lowest that fits the graph)", asked, QC_ONNX_EXPORT_MIN_OPSET,
                        QC_ONNX_MAX_OPSET);
    if (asked < hard)
        return qc_error(QC_ERR_UNSUPPORTED, "opset %d cannot express this graph: %s, which "
                        "needs opset %d or later", asked, why, hard);
    *opset = asked;
    return NULL;
}

static Onnx__OperatorSetIdProto *make_opset(exporter *x, const char *domain, int64_t v) {
    Onnx__OperatorSetIdProto *o = ex_alloc(x, 1, sizeof *o);
    if (!o) return NULL;
    onnx__operator_set_id_proto__init(o);
    o->domain = (char *)(uintptr_t)domain;
    o->has_version = 1;
    o->version = v;
    return o;
}

static qc_status build(exporter *x, Onnx__ModelProto *m, Onnx__GraphProto *gp) {
    const qc_graph *g = x->g;
    int32_t n_const = 0;
    for (int32_t v = 0; v < g->n_values; v++) n_const += g->values[v].data != NULL;
    /* Rewrites add at most 2 constants per node. */
    x->cap_inits = (size_t)n_const + 2 * (size_t)g->n_nodes + 1;
    x->inits = ex_alloc(x, x->cap_inits, sizeof *x->inits);
    x->nodes = ex_alloc(x, (size_t)g->n_nodes, sizeof *x->nodes);
    Onnx__ValueInfoProto **ins = ex_alloc(x, (size_t)g->n_inputs, sizeof *ins);
    Onnx__ValueInfoProto **outs = ex_alloc(x, (size_t)g->n_outputs, sizeof *outs);
    if (!x->inits || !x->nodes || !ins || !outs) return oom();
    for (int32_t i = 0; i < g->n_inputs; i++)
        if (!(ins[i] = make_value_info(x, &g->values[g->inputs[i]]))) return oom();
    for (int32_t v = 0; v < g->n_values; v++) {
        const qc_value *val = &g->values[v];
        if (!val->data) continue;
        if (!(x->inits[x->n_inits++] = make_tensor(x, val->name, &val->type, val->data,
                                                   val->nbytes)))
            return oom();
    }
    for (int32_t i = 0; i < g->n_nodes; i++) {
        qc_status st = convert_node(x, &g->nodes[i], &x->nodes[x->n_nodes]);
        if (st) return st;
        x->n_nodes++;
    }
    for (int32_t i = 0; i < g->n_outputs; i++) {
        const qc_value *v = &g->values[g->outputs[i]];
        if (v->type.dtype == QC_DT_UNDEF)
            return qc_error(QC_ERR_INVALID, "graph output '%s' has no type (run inference "
                            "first)", v->name);
        if (!(outs[i] = make_value_info(x, v))) return oom();
    }
    gp->name = g->name;
    gp->n_node = x->n_nodes;
    gp->node = x->nodes;
    gp->n_initializer = x->n_inits;
    gp->initializer = x->inits;
    gp->n_input = (size_t)g->n_inputs;
    gp->input = ins;
    gp->n_output = (size_t)g->n_outputs;
    gp->output = outs;

    Onnx__OperatorSetIdProto **os = ex_alloc(x, 2, sizeof *os);
    if (!os || !(os[0] = make_opset(x, "", x->opset))) return oom();
    m->n_opset_import = 1;
    if (x->use_ms && !(os[m->n_opset_import++] = make_opset(x, "com.microsoft", 1))) return oom();
    m->opset_import = os;
    /* IR version: 8 introduced with opset 17/18, 9 with 19/20, 10 with 21. */
    m->has_ir_version = 1;
    m->ir_version = x->opset <= 18 ? 8 : x->opset <= 20 ? 9 : 10;
    m->producer_name = (char *)(uintptr_t)"qcomp";
    m->producer_version = (char *)(uintptr_t)"0.1.0";
    m->graph = gp;
    return NULL;
}

qc_status qc_onnx_export(const qc_graph *g, int opset, void **buf, size_t *len) {
    *buf = NULL;
    *len = 0;
    exporter x = {.g = g};
    qc_status st = qc_graph_verify(g);
    if (!st) st = check_internal_ops(g);
    if (!st) st = check_quant(g);
    if (!st) st = pick_opset(g, opset, &x.opset);
    Onnx__ModelProto m;
    Onnx__GraphProto gp;
    onnx__model_proto__init(&m);
    onnx__graph_proto__init(&gp);
    if (!st) st = build(&x, &m, &gp);
    if (!st) {
        size_t n = onnx__model_proto__get_packed_size(&m);
        uint8_t *out = malloc(n ? n : 1);
        if (!out) st = oom();
        else {
            *len = onnx__model_proto__pack(&m, out);
            *buf = out;
        }
    }
    ex_free(&x);
    return st ? qc_status_wrap(st, "ONNX export of graph '%s'", g->name) : NULL;
}

qc_status qc_onnx_export_file(const qc_graph *g, int opset, const char *path) {
    void *buf;
    size_t len;
    qc_status st = qc_onnx_export(g, opset, &buf, &len);
    if (st) return st;
    /* Write a temporary file next to the target and rename it over: a
     * failure never leaves a truncated model at `path`. */
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 16);
    if (!tmp) {
        free(buf);
        return oom();
    }
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp.XXXXXX", 12);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        st = qc_error(QC_ERR_IO, "%s: cannot create a temporary file next to it", path);
    } else {
        /* mkstemp makes the file 0600; a model is an ordinary output file. */
        (void)fchmod(fd, 0644);
        FILE *f = fdopen(fd, "wb");
        bool ok = f && fwrite(buf, 1, len, f) == len;
        if (f) ok = (fclose(f) == 0) && ok;
        else close(fd);
        if (!ok) st = qc_error(QC_ERR_IO, "%s: write failed", path);
        else if (rename(tmp, path) != 0) st = qc_error(QC_ERR_IO, "%s: cannot rename the "
                                                       "written file into place", path);
        if (st) unlink(tmp);
    }
    free(tmp);
    free(buf);
    return st;
}
