/* opset.c — what each ONNX node becomes, per domain and opset.
 *
 * Domains: the default one ("" / "ai.onnx") at opsets 11..21, and
 * com.microsoft for QLinearAdd, QLinearMul and Gelu (the contrib ops
 * quantized models use). Everything else is unsupported.
 *
 * Within 11..21 most ops kept their meaning; where an attribute became an
 * input (Split split, Squeeze/Unsqueeze axes, Reduce* axes, Pad pads, Clip
 * min/max) qcomp's kernels accept both forms, so nodes pass through as they
 * are. The one real change of meaning is Softmax/LogSoftmax/Hardmax before
 * opset 13, which coerce the input to 2-D at `axis` (default 1) instead of
 * working along one axis: those are rewritten (qc_onnx_emit_coerce_2d).
 *
 * Models older than opset 11 are accepted op by op: an op whose definition
 * in effect at the model's opset is the same one in effect at opset 11, or
 * an older one listed in `compatible` (reviewed: same meaning), is imported;
 * any other is reported unsupported with the versions involved.
 *
 * The table below holds every default-domain op's since_version list, from
 * ONNX 1.12's schemas (opsets up to 17); ops added later that matter to
 * qcomp are listed with their first version only. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/onnx/onnx_internal.h"

#define MAX_VERSIONS 8

typedef struct op_history {
    const char *name;
    uint8_t since[MAX_VERSIONS];   /* ascending, 0-terminated */
} op_history;

/* Sorted by name (strcmp order) for bsearch. */
static const op_history onnx_ops[] = {
    {"Abs", {1, 6, 13}},
    {"Acos", {7}},
    {"Acosh", {9}},
    {"Add", {1, 6, 7, 13, 14}},
    {"AffineGrid", {20}},
    {"And", {1, 7}},
    {"ArgMax", {1, 11, 12, 13}},
    {"ArgMin", {1, 11, 12, 13}},
    {"Asin", {7}},
    {"Asinh", {9}},
    {"Atan", {7}},
    {"Atanh", {9}},
    {"AveragePool", {1, 7, 10, 11}},
    {"BatchNormalization", {1, 6, 7, 9, 14, 15}},
    {"Bernoulli", {15}},
    {"BitShift", {11}},
    {"BitwiseAnd", {18}},
    {"BitwiseNot", {18}},
    {"BitwiseOr", {18}},
    {"BitwiseXor", {18}},
    {"BlackmanWindow", {17}},
    {"Cast", {1, 6, 9, 13}},
    {"CastLike", {15}},
    {"Ceil", {1, 6, 13}},
    {"Celu", {12}},
    {"CenterCropPad", {18}},
    {"Clip", {1, 6, 11, 12, 13}},
    {"Col2Im", {18}},
    {"Compress", {9, 11}},
    {"Concat", {1, 4, 11, 13}},
    {"ConcatFromSequence", {11}},
    {"Constant", {1, 9, 11, 12, 13}},
    {"ConstantOfShape", {9}},
    {"Conv", {1, 11}},
    {"ConvInteger", {10}},
    {"ConvTranspose", {1, 11}},
    {"Cos", {7}},
    {"Cosh", {9}},
    {"CumSum", {11, 14}},
    {"DFT", {17}},
    {"DepthToSpace", {1, 11, 13}},
    {"DequantizeLinear", {10, 13}},
    {"Det", {11}},
    {"Div", {1, 6, 7, 13, 14}},
    {"Dropout", {1, 6, 7, 10, 12, 13}},
    {"DynamicQuantizeLinear", {11}},
    {"Einsum", {12}},
    {"Elu", {1, 6}},
    {"Equal", {1, 7, 11, 13}},
    {"Erf", {9, 13}},
    {"Exp", {1, 6, 13}},
    {"Expand", {8, 13}},
    {"EyeLike", {9}},
    {"Flatten", {1, 9, 11, 13}},
    {"Floor", {1, 6, 13}},
    {"GRU", {1, 3, 7, 14}},
    {"Gather", {1, 11, 13}},
    {"GatherElements", {11, 13}},
    {"GatherND", {11, 12, 13}},
    {"Gelu", {20}},
    {"Gemm", {1, 6, 7, 9, 11, 13}},
    {"GlobalAveragePool", {1}},
    {"GlobalLpPool", {1, 2}},
    {"GlobalMaxPool", {1}},
    {"Greater", {1, 7, 9, 13}},
    {"GreaterOrEqual", {12, 16}},
    {"GridSample", {16}},
    {"GroupNormalization", {18}},
    {"HammingWindow", {17}},
    {"HannWindow", {17}},
    {"HardSigmoid", {1, 6}},
    {"HardSwish", {14}},
    {"Hardmax", {1, 11, 13}},
    {"Identity", {1, 13, 14, 16}},
    {"If", {1, 11, 13, 16}},
    {"ImageDecoder", {20}},
    {"InstanceNormalization", {1, 6}},
    {"IsInf", {10}},
    {"IsNaN", {9, 13}},
    {"LRN", {1, 13}},
    {"LSTM", {1, 7, 14}},
    {"LayerNormalization", {17}},
    {"LeakyRelu", {1, 6, 16}},
    {"Less", {1, 7, 9, 13}},
    {"LessOrEqual", {12, 16}},
    {"Log", {1, 6, 13}},
    {"LogSoftmax", {1, 11, 13}},
    {"Loop", {1, 11, 13, 16}},
    {"LpNormalization", {1}},
    {"LpPool", {1, 2, 11}},
    {"MatMul", {1, 9, 13}},
    {"MatMulInteger", {10}},
    {"Max", {1, 6, 8, 12, 13}},
    {"MaxPool", {1, 8, 10, 11, 12}},
    {"MaxRoiPool", {1}},
    {"MaxUnpool", {9, 11}},
    {"Mean", {1, 6, 8, 13}},
    {"MeanVarianceNormalization", {9, 13}},
    {"MelWeightMatrix", {17}},
    {"Min", {1, 6, 8, 12, 13}},
    {"Mish", {18}},
    {"Mod", {10, 13}},
    {"Mul", {1, 6, 7, 13, 14}},
    {"Multinomial", {7}},
    {"Neg", {1, 6, 13}},
    {"NegativeLogLikelihoodLoss", {12, 13}},
    {"NonMaxSuppression", {10, 11}},
    {"NonZero", {9, 13}},
    {"Not", {1}},
    {"OneHot", {9, 11}},
    {"Optional", {15}},
    {"OptionalGetElement", {15}},
    {"OptionalHasElement", {15}},
    {"Or", {1, 7}},
    {"PRelu", {1, 6, 7, 9, 16}},
    {"Pad", {1, 2, 11, 13}},
    {"Pow", {1, 7, 12, 13, 15}},
    {"QLinearConv", {10}},
    {"QLinearMatMul", {10}},
    {"QuantizeLinear", {10, 13}},
    {"RNN", {1, 7, 14}},
    {"RandomNormal", {1}},
    {"RandomNormalLike", {1}},
    {"RandomUniform", {1}},
    {"RandomUniformLike", {1}},
    {"Range", {11}},
    {"Reciprocal", {1, 6, 13}},
    {"ReduceL1", {1, 11, 13}},
    {"ReduceL2", {1, 11, 13}},
    {"ReduceLogSum", {1, 11, 13}},
    {"ReduceLogSumExp", {1, 11, 13}},
    {"ReduceMax", {1, 11, 12, 13}},
    {"ReduceMean", {1, 11, 13}},
    {"ReduceMin", {1, 11, 12, 13}},
    {"ReduceProd", {1, 11, 13}},
    {"ReduceSum", {1, 11, 13}},
    {"ReduceSumSquare", {1, 11, 13}},
    {"RegexFullMatch", {20}},
    {"Relu", {1, 6, 13, 14}},
    {"Reshape", {1, 5, 13, 14}},
    {"Resize", {10, 11, 13}},
    {"ReverseSequence", {10}},
    {"RoiAlign", {10, 16}},
    {"Round", {11}},
    {"STFT", {17}},
    {"Scan", {8, 9, 11, 16}},
    {"Scatter", {9, 11}},
    {"ScatterElements", {11, 13, 16}},
    {"ScatterND", {11, 13, 16}},
    {"Selu", {1, 6}},
    {"SequenceAt", {11}},
    {"SequenceConstruct", {11}},
    {"SequenceEmpty", {11}},
    {"SequenceErase", {11}},
    {"SequenceInsert", {11}},
    {"SequenceLength", {11}},
    {"SequenceMap", {17}},
    {"Shape", {1, 13, 15}},
    {"Shrink", {9}},
    {"Sigmoid", {1, 6, 13}},
    {"Sign", {9, 13}},
    {"Sin", {7}},
    {"Sinh", {9}},
    {"Size", {1, 13}},
    {"Slice", {1, 10, 11, 13}},
    {"Softmax", {1, 11, 13}},
    {"SoftmaxCrossEntropyLoss", {12, 13}},
    {"Softplus", {1}},
    {"Softsign", {1}},
    {"SpaceToDepth", {1, 13}},
    {"Split", {1, 2, 11, 13}},
    {"SplitToSequence", {11}},
    {"Sqrt", {1, 6, 13}},
    {"Squeeze", {1, 11, 13}},
    {"StringConcat", {20}},
    {"StringNormalizer", {10}},
    {"StringSplit", {20}},
    {"Sub", {1, 6, 7, 13, 14}},
    {"Sum", {1, 6, 8, 13}},
    {"Tan", {7}},
    {"Tanh", {1, 6, 13}},
    {"TfIdfVectorizer", {9}},
    {"ThresholdedRelu", {10}},
    {"Tile", {1, 6, 13}},
    {"TopK", {1, 10, 11}},
    {"Transpose", {1, 13}},
    {"Trilu", {14}},
    {"Unique", {11}},
    {"Unsqueeze", {1, 11, 13}},
    {"Upsample", {1, 7, 9, 10}},
    {"Where", {9, 16}},
    {"Xor", {1, 7}},
};

static int cmp_history(const void *key, const void *elem) {
    return strcmp((const char *)key, ((const op_history *)elem)->name);
}

static const op_history *find_history(const char *op_type) {
    return bsearch(op_type, onnx_ops, sizeof onnx_ops / sizeof onnx_ops[0], sizeof onnx_ops[0],
                   cmp_history);
}

/* The op version in effect at `opset` (0 if the op did not exist yet). */
static int version_at(const op_history *h, int64_t opset) {
    int v = 0;
    for (int i = 0; i < MAX_VERSIONS && h->since[i]; i++)
        if (h->since[i] <= opset) v = h->since[i];
    return v;
}

/* Marks *out unsupported, with an optional reason. */
static void unsupported(qc_onnx_op *out, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static void unsupported(qc_onnx_op *out, const char *fmt, ...) {
    out->op = QC_OP_INVALID;
    out->why[0] = 0;
    if (!fmt) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out->why, sizeof out->why, fmt, ap);
    va_end(ap);
}

/* Older op versions whose meaning equals the version in effect at opset 11,
 * from comparing ONNX's schemas (same attributes, inputs and outputs) and
 * reading what changed. `cond` names an attribute value that does change
 * the meaning. */
typedef enum compat_cond { C_ALWAYS, C_NO_AUTO_PAD_SAME, C_SPATIAL_1 } compat_cond;

typedef struct compat {
    const char *op;
    uint8_t since;
    compat_cond cond;
} compat;

static const compat compatible[] = {
    /* Opset 11 only allowed negative axes / indices: old models use none. */
    {"ArgMax", 1, C_ALWAYS}, {"ArgMin", 1, C_ALWAYS}, {"Concat", 4, C_ALWAYS},
    {"Flatten", 1, C_ALWAYS}, {"Flatten", 9, C_ALWAYS}, {"Gather", 1, C_ALWAYS},
    {"Hardmax", 1, C_ALWAYS}, {"LogSoftmax", 1, C_ALWAYS}, {"ReduceL1", 1, C_ALWAYS},
    {"ReduceL2", 1, C_ALWAYS}, {"ReduceLogSum", 1, C_ALWAYS}, {"ReduceLogSumExp", 1, C_ALWAYS},
    {"ReduceMax", 1, C_ALWAYS}, {"ReduceMean", 1, C_ALWAYS}, {"ReduceMin", 1, C_ALWAYS},
    {"ReduceProd", 1, C_ALWAYS}, {"ReduceSum", 1, C_ALWAYS}, {"ReduceSumSquare", 1, C_ALWAYS},
    {"Slice", 10, C_ALWAYS}, {"Softmax", 1, C_ALWAYS}, {"Split", 2, C_ALWAYS},
    {"Squeeze", 1, C_ALWAYS}, {"Unsqueeze", 1, C_ALWAYS},
    /* Later versions only added element types. */
    {"Cast", 6, C_ALWAYS}, {"Equal", 7, C_ALWAYS}, {"Greater", 7, C_ALWAYS},
    {"Less", 7, C_ALWAYS}, {"MatMul", 1, C_ALWAYS}, {"PRelu", 7, C_ALWAYS},
    /* Opset 8 added broadcasting, a superset of same-shape inputs. */
    {"Max", 6, C_ALWAYS}, {"Mean", 6, C_ALWAYS}, {"Min", 6, C_ALWAYS}, {"Sum", 6, C_ALWAYS},
    /* Opset 11 defined auto_pad SAME as ceil(input / stride); before, it
     * said "output size matches the input", which differs for strides > 1. */
    {"AveragePool", 10, C_NO_AUTO_PAD_SAME}, {"Conv", 1, C_NO_AUTO_PAD_SAME},
    {"MaxPool", 10, C_NO_AUTO_PAD_SAME},
    /* Opset 9 dropped `spatial`, keeping the spatial=1 meaning. */
    {"BatchNormalization", 7, C_SPATIAL_1},
};

/* Whether op version `v` of np's op means what the opset-11 version means,
 * for this node; *why says what breaks it when not. */
static bool old_version_ok(const Onnx__NodeProto *np, const char *op_type, int v,
                           const char **why) {
    *why = NULL;
    for (size_t i = 0; i < sizeof compatible / sizeof compatible[0]; i++) {
        if (strcmp(compatible[i].op, op_type) || compatible[i].since != v) continue;
        const Onnx__AttributeProto *a;
        switch (compatible[i].cond) {
        case C_ALWAYS: return true;
        case C_NO_AUTO_PAD_SAME:
            a = qc_onnx_find_attr(np, "auto_pad");
            if (a && a->s.len >= 5 && !memcmp(a->s.data, "SAME_", 5)) {
                *why = "auto_pad SAME_* meant another output size before opset 11";
                return false;
            }
            return true;
        case C_SPATIAL_1:
            a = qc_onnx_find_attr(np, "spatial");
            if (a && a->i != 1) {
                *why = "spatial=0 is not supported";
                return false;
            }
            return true;
        }
    }
    return false;
}

static void resolve_default(const qc_onnx_opsets *os, const Onnx__NodeProto *np,
                            const char *op_type, qc_onnx_op *out) {
    const op_history *h = find_history(op_type);
    if (!h) {
        unsupported(out, "not an ONNX operator");
        return;
    }
    int v = version_at(h, os->onnx);
    if (v == 0) {
        unsupported(out, "does not exist in opset %lld", (long long)os->onnx);
        return;
    }
    /* Constant's versions only added ways to spell the value; every one
     * qcomp reads means the same at any opset. */
    if (!strcmp(op_type, "Constant")) {
        out->rule = QC_ONNX_RULE_CONSTANT;
        return;
    }
    if (!strcmp(op_type, "Upsample")) {
        unsupported(out, "deprecated since opset 10; Resize replaces it");
        return;
    }
    out->op = qc_op_from_name(op_type);
    if (out->op == QC_OP_INVALID) {
        unsupported(out, NULL);
        return;
    }
    const char *why;
    if (os->onnx < QC_ONNX_MIN_OPSET) {
        int v11 = version_at(h, QC_ONNX_MIN_OPSET);
        if (v != v11 && !old_version_ok(np, op_type, v, &why)) {
            if (why) unsupported(out, "opset %lld: %s", (long long)os->onnx, why);
            else unsupported(out, "opset %lld means %s-%d; qcomp implements %s-%d and later",
                             (long long)os->onnx, op_type, v, op_type, v11);
            return;
        }
    }
    if ((out->op == QC_OP_SOFTMAX || out->op == QC_OP_LOG_SOFTMAX || out->op == QC_OP_HARDMAX) &&
        v < 13)
        out->rule = QC_ONNX_RULE_COERCE_2D;
}

static void resolve(const qc_onnx_opsets *os, const Onnx__NodeProto *np, const char *domain,
                    const char *op_type, qc_onnx_op *out) {
    static const char *const ms_ops[] = {"QLinearAdd", "QLinearMul", "Gelu"};
    if (!*domain || !strcmp(domain, "ai.onnx")) {
        if (os->onnx) resolve_default(os, np, op_type, out);
        else unsupported(out, "the model imports no ai.onnx opset");
        return;
    }
    if (strcmp(domain, "com.microsoft")) {
        unsupported(out, NULL);
        return;
    }
    if (!os->ms) {
        unsupported(out, "the model imports no com.microsoft opset");
        return;
    }
    for (size_t i = 0; i < sizeof ms_ops / sizeof ms_ops[0]; i++)
        if (!strcmp(op_type, ms_ops[i])) {
            out->op = qc_op_from_name(op_type);
            if (out->op == QC_OP_INVALID) unsupported(out, NULL);
            return;
        }
    unsupported(out, NULL);
}

void qc_onnx_resolve_op(const qc_onnx_opsets *os, const Onnx__NodeProto *np, qc_onnx_op *out) {
    memset(out, 0, sizeof *out);
    resolve(os, np, np->domain ? np->domain : "", np->op_type ? np->op_type : "", out);
    out->supported = out->op != QC_OP_INVALID || out->rule == QC_ONNX_RULE_CONSTANT;
}

/* ---- Softmax / LogSoftmax / Hardmax before opset 13 ------------------------------ */

qc_status qc_onnx_emit_coerce_2d(qc_onnx_builder *b, const Onnx__NodeProto *np,
                                 const char *node_name, qc_op op, int32_t x, int32_t y) {
    const char *op_name = qc_op_get_info(op)->name;
    qc_type t = b->g->values[x].type;
    const Onnx__AttributeProto *ax = qc_onnx_find_attr(np, "axis");
    int64_t axis = ax ? ax->i : 1;
    int32_t rank = t.rank, node;
    qc_status st;
    /* Coercing at the last axis is the same as working along it; axis -1
     * says so without the shape. */
    bool last = axis == -1 || (t.dtype != QC_DT_UNDEF && (rank <= 1 || axis == rank - 1));
    if (last) {
        if ((st = qc_onnx_emit_node(b, op, node_name, &x, 1, &y, 1, &node))) return st;
        if ((st = qc_node_set_int(b->g, node, "axis", -1))) return st;
        return qc_onnx_infer_node(b, node);
    }
    if (t.dtype == QC_DT_UNDEF)
        return qc_error(QC_ERR_UNSUPPORTED,
                        "node '%s' (%s): opset %lld semantics (coerce to 2-D at axis %lld) need "
                        "the input's shape at import, which is not known there",
                        node_name, op_name, (long long)b->opsets.onnx, (long long)axis);
    if (axis < -(int64_t)rank || axis >= rank)
        return qc_error(QC_ERR_INVALID, "node '%s' (%s): axis %lld out of range for rank %d",
                        node_name, op_name, (long long)axis, (int)rank);
    if (axis < 0) axis += rank;   /* not rank - 1: that was `last` */
    for (int32_t i = 0; i < rank; i++)
        if (t.dims[i] == QC_DIM_SYM)
            return qc_error(QC_ERR_UNSUPPORTED,
                            "node '%s' (%s): opset %lld semantics (coerce to 2-D at axis %lld) "
                            "need a static input shape, but dim %d is symbolic",
                            node_name, op_name, (long long)b->opsets.onnx, (long long)axis,
                            (int)i);
    /* y = Reshape(op(Flatten(x, axis), axis=-1), shape of x) */
    int32_t flat, inner, shape;
    qc_type shape_type = {.dtype = QC_I64, .rank = 1, .dims = {rank}};
    char name[512];
    snprintf(name, sizeof name, "%s/flatten", node_name);
    if ((st = qc_onnx_fresh_value(b, node_name, "flat", &flat)) ||
        (st = qc_onnx_emit_node(b, QC_OP_FLATTEN, name, &x, 1, &flat, 1, &node)) ||
        (st = qc_node_set_int(b->g, node, "axis", axis)) || (st = qc_onnx_infer_node(b, node)))
        return st;
    if ((st = qc_onnx_fresh_value(b, node_name, "2d", &inner)) ||
        (st = qc_onnx_emit_node(b, op, node_name, &flat, 1, &inner, 1, &node)) ||
        (st = qc_node_set_int(b->g, node, "axis", -1)) || (st = qc_onnx_infer_node(b, node)))
        return st;
    if ((st = qc_onnx_fresh_const(b, node_name, "shape", &shape_type, t.dims, &shape))) return st;
    int32_t in[2] = {inner, shape};
    snprintf(name, sizeof name, "%s/reshape", node_name);
    if ((st = qc_onnx_emit_node(b, QC_OP_RESHAPE, name, in, 2, &y, 1, &node))) return st;
    return qc_onnx_infer_node(b, node);
}
