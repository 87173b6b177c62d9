/* cg.h — internal: the cpu backend's LLVM code-generation context.
 *
 * One qc_cpu_cg per compiled model: an LLVM context + module + target
 * machine for the chosen CPU, and the CPU features the kernel generators
 * select instructions by. Generators add functions to cg->mod; the lowering
 * then emits ONE object file for the whole model, which both paths use:
 *   AOT  object -> shared object (linked at compile time) -> .qcm section,
 *        dlopen'ed by the runtime (backends/cpu/hal*.c) without LLVM;
 *   JIT  the same object loaded into an ORC LLJIT in this process.
 * So JIT and AOT run the same machine code.
 *
 * Feature detection never assumes: "native" asks LLVM for the host's CPU
 * name and feature string (LLVMGetHostCPUName / LLVMGetHostCPUFeatures);
 * a named CPU takes its features from a table of known CPUs plus explicit
 * "+feature" / "-feature" suffixes ("x86-64-v3,+avxvnni"). Emitting an
 * intrinsic the target lacks aborts LLVM, so generators must check feat. */
#ifndef QC_BACKENDS_CPU_CG_H
#define QC_BACKENDS_CPU_CG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <llvm-c/Core.h>
#include <llvm-c/Target.h>
#include <llvm-c/TargetMachine.h>

#include "qcomp/qcrt.h"

/* x86 features the generators care about (LLVM feature names in comments). */
typedef struct qc_cpu_features {
    bool sse41;        /* sse4.1 */
    bool avx2;         /* avx2 */
    bool fma;          /* fma */
    bool f16c;         /* f16c */
    bool avx512f;      /* avx512f */
    bool avx512bw;     /* avx512bw */
    bool avx512vl;     /* avx512vl */
    bool avx512vnni;   /* avx512vnni: vpdpbusd zmm */
    bool avxvnni;      /* avxvnni: vpdpbusd ymm, VEX */
    bool avx512bf16;   /* avx512bf16 */
    bool avx512fp16;   /* avx512fp16 */
    bool amx_tile;     /* amx-tile */
    bool amx_int8;     /* amx-int8 */
    bool amx_bf16;     /* amx-bf16 */
} qc_cpu_features;

/* Bit set of the features above, in declaration order (bit 0 = sse41). The
 * artifact records the set its code needs; the runtime checks the host. */
uint32_t qc_cpu_features_mask(const qc_cpu_features *f);
void qc_cpu_features_from_mask(uint32_t mask, qc_cpu_features *f);
/* Applies an LLVM feature string ("+avx2,-avx512f,...") on top of *f. */
void qc_cpu_features_apply(const char *llvm_features, qc_cpu_features *f);
/* "avx2 fma avx512f ..." for reports; returns buf. */
const char *qc_cpu_features_format(const qc_cpu_features *f, char *buf, size_t n);

typedef struct qc_cpu_cg {
    LLVMContextRef ctx;
    LLVMModuleRef mod;
    LLVMTargetMachineRef tm;
    LLVMTargetDataRef td;
    char cpu[64];             /* the LLVM CPU name code is generated for */
    char *features;           /* the LLVM feature string given to the target machine */
    qc_cpu_features feat;
    bool native;              /* cpu was "native" (JIT-compatible with this host) */
} qc_cpu_cg;

/* cpu: NULL or "native" for this host, else "NAME[,+feat,-feat...]" with a
 * known or LLVM-accepted CPU name. Errors name the CPU. */
qc_status qc_cpu_cg_create(const char *cpu, const char *module_name, qc_cpu_cg *cg);
void qc_cpu_cg_destroy(qc_cpu_cg *cg);

/* Verifies the module (errors carry LLVM's message), runs the pass
 * pipeline `passes` (LLVMRunPasses syntax, e.g. "default<O2>"; NULL: none)
 * and emits an ELF object into a malloc'd buffer. */
qc_status qc_cpu_cg_emit_object(qc_cpu_cg *cg, const char *passes, uint8_t **obj, size_t *len);

/* An ORC LLJIT holding one object file (host CPU only). */
typedef struct qc_cpu_jit qc_cpu_jit;
qc_status qc_cpu_jit_create(const uint8_t *obj, size_t len, qc_cpu_jit **out);
/* The address of a defined symbol, or NULL with *err set (caller frees). */
void *qc_cpu_jit_lookup(qc_cpu_jit *j, const char *symbol, qc_status *err);
void qc_cpu_jit_destroy(qc_cpu_jit *j);

#endif
