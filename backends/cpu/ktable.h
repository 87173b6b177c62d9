/* ktable.h — the cpu backend's artifact sections (docs/backend-cpu.md),
 * header-only and LLVM-free: the lowering (lower*.c) writes them, the cpu
 * device (hal*.c) validates and reads them. All fields little-endian.
 *
 *   kind 16 KTABLE  header (64 bytes), one 64-byte entry per graph node (in
 *                   node order), then a string pool of NUL-terminated names
 *   kind 17 PACKED  the pre-packed constants of every kernel, each region
 *                   starting at a multiple of 64 within the section
 *   kind 18 SO      the kernels linked into an ELF shared object (AOT only;
 *                   a JIT-compiled model resolves its symbols in process) */
#ifndef QC_BACKENDS_CPU_KTABLE_H
#define QC_BACKENDS_CPU_KTABLE_H

#include <stdint.h>

#define QC_CPU_KT_MAGIC 0x55504351u   /* "QCPU" */
#define QC_CPU_KT_VERSION 2u            /* 2: chain fields; version 1 tables still load */
#define QC_CPU_KT_HEADER 64u
#define QC_CPU_KT_ENTRY 64u
#define QC_CPU_KT_CPU_LEN 32u         /* NUL-padded CPU name field */
#define QC_CPU_KT_MAX_STRING 256u     /* symbol / variant / reason, with NUL */
#define QC_CPU_PACK_ALIGN 64u

enum {
    QC_CPU_SEC_KTABLE = 16,
    QC_CPU_SEC_PACKED = 17,
    QC_CPU_SEC_SO = 18,
};

/* Header field offsets. */
enum {
    QC_CPU_KT_H_MAGIC = 0,
    QC_CPU_KT_H_VERSION = 4,
    QC_CPU_KT_H_FEATURES = 8,     /* u32: required feature mask (kernel_abi.h bits) */
    QC_CPU_KT_H_NODES = 12,       /* u32: entry count == the graph's node count */
    QC_CPU_KT_H_STRINGS = 16,     /* u32: string pool bytes */
    QC_CPU_KT_H_FLAGS = 20,       /* u32: 0 (reserved) */
    QC_CPU_KT_H_CPU = 24,         /* char[32]: the CPU the code was generated for */
    /* 56..63: zero */
};

/* Entry kinds. */
enum { QC_CPU_KT_FALLBACK = 0, QC_CPU_KT_GENERATED = 1 };

/* Entry field offsets. */
enum {
    QC_CPU_KT_E_KIND = 0,         /* u32 */
    QC_CPU_KT_E_SYMBOL = 4,       /* u32: string pool offset; generated only */
    QC_CPU_KT_E_TEXT = 8,         /* u32: string pool offset: variant, or fallback reason */
    QC_CPU_KT_E_COST = 12,        /* u32: estimated ps of work per unit (0 = unknown; a hint) */
    QC_CPU_KT_E_UNITS_A = 16,     /* i64: units = a + b * batch */
    QC_CPU_KT_E_UNITS_B = 24,     /* i64 */
    QC_CPU_KT_E_GRAIN = 32,       /* i64 >= 1 */
    QC_CPU_KT_E_PACK_OFF = 40,    /* u64: offset in PACKED (multiple of 64) */
    QC_CPU_KT_E_PACK_LEN = 48,    /* u64: 0 = no packed constants */
    QC_CPU_KT_E_CHAIN = 56,       /* u32: nodes of the row-blocked chain starting here
                                   * (0 = none, else >= 2; chain.c); version 2 */
    QC_CPU_KT_E_ROW_BYTES = 60,   /* u32: arena bytes the chain touches per batch row */
};

#endif
