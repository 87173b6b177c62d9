/* target.h — internal: the compile side of a backend. Each code-generating
 * backend (backends/<b>/lower*.c, built into libqcomp when its packages are
 * found) provides one qc_target_lowering; compiler/targets.c lists them.
 *
 * A lowering reads the optimized, verified graph and its memory plan and
 * returns the code sections it wants in the artifact (kind QC_SEC_TARGET ..
 * QC_SEC_TARGET_LAST, its own target id): a shared object, SPIR-V modules,
 * cubin + PTX, plus whatever tables its runtime side (backends/<b>/hal*.c)
 * needs to find them. The artifact writer appends them after GRAPH,
 * CONSTANTS and PLAN; the loader checks their CRCs, the backend's hal
 * validates their contents. */
#ifndef QC_COMPILER_TARGET_H
#define QC_COMPILER_TARGET_H

#include <stddef.h>
#include <stdint.h>

#include "ir/ir.h"
#include "qcomp/qcomp.h"
#include "runtime/model.h"

typedef struct qc_plan qc_plan;

/* One section to store; data is malloc'd and owned by the list. */
typedef struct qc_code_section {
    uint32_t kind;     /* QC_SEC_TARGET .. QC_SEC_TARGET_LAST */
    uint32_t target;   /* QC_TARGET_* */
    uint8_t *data;
    size_t len;
} qc_code_section;

typedef struct qc_code_sections {
    qc_code_section *secs;
    int32_t n, cap;
    /* In: the caller runs the code in this process (qc_compile_jit_opts):
     * a lowering may then keep its code in memory instead of storing it. */
    bool jit;
    /* Out, with jit: the in-process code of the (one) lowering that made
     * some, handed to the runtime with the image (qc_model_load_memory_code);
     * released by qc_code_sections_free unless the caller took it. */
    qc_code_provider code;
} qc_code_sections;

/* Appends a section, taking ownership of data (freed on failure too). */
qc_status qc_code_sections_add(qc_code_sections *l, uint32_t kind, uint32_t target,
                               uint8_t *data, size_t len);
void qc_code_sections_free(qc_code_sections *l);

typedef struct qc_target_lowering {
    const char *name;      /* the --target name: "cpu", "vulkan", "cuda" */
    uint32_t target;       /* QC_TARGET_* */
    /* Appends this target's sections for g (optimized, verified) and plan. */
    qc_status (*lower)(const qc_graph *g, const qc_plan *plan, const qc_compile_options *o,
                       qc_code_sections *out);
} qc_target_lowering;

/* Defined by each backend's plugin (libqcomp_<b>.so, built when
 * cmake/backends.cmake enables the backend; QC_HAVE_<B> is then set). */
extern const qc_target_lowering qc_cpu_lowering;      /* backends/cpu */
extern const qc_target_lowering qc_vulkan_lowering;   /* backends/vulkan */
extern const qc_target_lowering qc_cuda_lowering;     /* backends/cuda */

/* The code generators built with this libqcomp, by index; the name and
 * target need no plugin loaded, qc_target_lowering_get loads it (dlopen, on
 * first use) and fails with a clear error when it cannot. */
int32_t qc_target_lowering_count(void);
const char *qc_target_lowering_name(int32_t i);
uint32_t qc_target_lowering_target(int32_t i);
int32_t qc_target_lowering_index(const char *name);   /* -1: not built */
qc_status qc_target_lowering_get(int32_t i, const qc_target_lowering **out);

/* Parses a target list "ref,cpu" into a bit set (1 << QC_TARGET_*); errors
 * name the unknown or unavailable entry and list what this build has. */
qc_status qc_target_list_parse(const char *list, uint32_t *targets);

#endif
