/* static_emit.h — internal, compile side: the model as an ELF object for
 * static linking (qc_compile_options.emit_object; static_emit.c). */
#ifndef QC_BACKENDS_CPU_STATIC_EMIT_H
#define QC_BACKENDS_CPU_STATIC_EMIT_H

#include "backends/cpu/cg.h"
#include "compiler/target.h"
#include "ir/ir.h"
#include "passes/memplan.h"
#include "qcomp/qcomp.h"

/* The generated kernels' symbols, in node order. */
typedef struct qc_cpu_ktable_view {
    int32_t n;
    const char *const *symbols;
} qc_cpu_ktable_view;

/* Adds the image (g, plan and cpu_sections: KTABLE and PACKED) and the
 * kernel table to cg's module as `qcm_<name>`, makes every function
 * internal, emits the object to o->emit_object and, if set, the header to
 * o->emit_header (both written atomically; neither is left on error). The
 * module is only fit for this object afterwards. */
qc_status qc_cpu_emit_static(qc_cpu_cg *cg, const qc_graph *g, const qc_plan *plan,
                             const qc_code_sections *cpu_sections, const qc_cpu_ktable_view *kt,
                             const qc_compile_options *o);

#endif
