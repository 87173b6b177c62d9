/* model.h — internal: a loaded .qcm artifact as the runtime sees it.
 *
 * Produced by the artifact loader (runtime/artifact.c, qc_model_data_parse), which
 * validates everything first, and consumed by sessions and HAL devices. It
 * holds ops/op.h nodes (the same structs the compiler and the ref kernels
 * use) but no qc_graph: the runtime knows the artifact, not the IR. */
#ifndef QC_RUNTIME_MODEL_H
#define QC_RUNTIME_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ops/op.h"
#include "qcomp/qcrt.h"

typedef struct qc_rt_quant {
    int32_t kind, axis, block, count;   /* as qc_quant in ir/ir.h (0 = none) */
    const float *scale;
    const int32_t *zero;
} qc_rt_quant;

typedef struct qc_rt_value {
    const char *name;
    qc_tensor_desc desc;      /* may contain QC_DIM_SYM */
    qc_rt_quant quant;
    const void *data;         /* constant data (inside the artifact), or NULL */
    size_t nbytes;
    int64_t off_a, off_b;     /* arena offset = a + b * batch; -1/-1 for constants */
} qc_rt_value;

/* Target ids, as in the section table (docs/artifact.md). */
enum { QC_TARGET_NONE = 0, QC_TARGET_REF = 1, QC_TARGET_CPU = 2, QC_TARGET_VULKAN = 3,
       QC_TARGET_CUDA = 4 };

typedef struct qc_rt_section {
    uint32_t kind, target;
    const uint8_t *data;
    size_t len;
    uint64_t offset;          /* in the file (for tools) */
    uint32_t crc;             /* as stored (and checked) */
} qc_rt_section;

/* Code that lives in this process instead of in the artifact: the JIT
 * (qc_compile_jit_opts with target cpu) keeps its ORC LLJIT alive and hands
 * the runtime this LLVM-free view of it. The model owns it from the load on
 * (also when the load fails) and calls release(ctx) when its last reference
 * goes, after the device has dropped its per-model state. */
typedef struct qc_code_provider {
    uint32_t target;          /* QC_TARGET_* the code is for; 0 = none */
    void *ctx;
    /* The address of a defined symbol, or NULL when it is not defined. */
    void *(*lookup)(void *ctx, const char *symbol);
    void (*release)(void *ctx);
} qc_code_provider;

typedef struct qc_model_data {
    const char *name;
    const char *batch;        /* symbolic dim name, or NULL */
    int32_t n_values;
    qc_rt_value *values;
    int32_t n_nodes;
    qc_node *nodes;           /* in/out are value indices; topological order */
    int32_t n_inputs, n_outputs;
    int32_t *inputs, *outputs;
    int64_t arena_a, arena_b; /* arena bytes = a + b * batch */
    int32_t n_sections;
    qc_rt_section *sections;  /* every section, for target code lookup */
    uint32_t targets;         /* bit (1 << target) for each target present */
    void *owned;              /* allocations and (optionally) the file bytes */
    qc_code_provider code;    /* in-process code (JIT), or all zero */
} qc_model_data;

/* Parses and validates an artifact image. With copy = false the caller keeps
 * `buf` alive and unchanged for the model's lifetime. Errors name the section
 * and byte offset. */
qc_status qc_model_data_parse(const void *buf, size_t len, bool copy, const char *source,
                              qc_model_data **out);
/* Frees m, releasing m->code first when it has a provider. */
void qc_model_data_free(qc_model_data *m);
/* Reads a .qcm file and parses it (copy mode): the one file-reading path of
 * the runtime API and the CLI (runtime/runtime.c). */
qc_status qc_model_data_read_file(const char *path, qc_model_data **out);

/* qc_model_load_memory for an image whose code lives in this process (the
 * cpu JIT): the model takes ownership of *code (released on the last model
 * release, or right away when this fails), and the device resolves kernels
 * through code->lookup instead of loading a code section. */
qc_status qc_model_load_memory_code(qc_runtime *rt, const void *buf, size_t len,
                                    qc_load_mode mode, const qc_code_provider *code,
                                    qc_model **out);

#endif
