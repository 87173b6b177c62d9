/* op.c — the op table generated from ops.def. */
#include <string.h>

#include "ops/op.h"

static const qc_op_info qc_op_table[QC_OP_COUNT] = {
    [QC_OP_INVALID] = {"<invalid>", 0, 0, 0, 0},
#define QC_OP(e, name, a, b, c, d) [QC_OP_##e] = {name, a, b, c, d},
#include "ops/ops.def"
#undef QC_OP
};

const qc_op_info *qc_op_get_info(qc_op op) {
    if (op <= QC_OP_INVALID || op >= QC_OP_COUNT) return NULL;
    return &qc_op_table[op];
}

qc_op qc_op_from_name(const char *name) {
    for (int op = QC_OP_INVALID + 1; op < QC_OP_COUNT; op++)
        if (strcmp(qc_op_table[op].name, name) == 0) return (qc_op)op;
    return QC_OP_INVALID;
}
