/* hal_ktable.h — internal, runtime side: the validated view of a model's cpu
 * sections (ktable.h), for the cpu device and for `qcomp inspect`. LLVM-free. */
#ifndef QC_BACKENDS_CPU_HAL_KTABLE_H
#define QC_BACKENDS_CPU_HAL_KTABLE_H

#include <stdbool.h>
#include <stdint.h>

#include "backends/cpu/kernel_abi.h"
#include "backends/cpu/ktable.h"
#include "runtime/model.h"

typedef struct qc_cpu_kentry {
    uint32_t kind;            /* QC_CPU_KT_GENERATED / QC_CPU_KT_FALLBACK */
    const char *symbol;       /* generated: the kernel's name; else "" */
    const char *text;         /* generated: variant; fallback: the reason */
    int64_t units_a, units_b, grain;
    uint32_t cost_ps;         /* estimated ps per unit, 0 = unknown (a hint only) */
    const uint8_t *packed;    /* into the PACKED section, or NULL */
    uint64_t packed_len;
    uint32_t chain;           /* nodes of the row-blocked chain starting here, 0 = none */
    uint32_t row_bytes;       /* chain head: arena bytes touched per batch row */
} qc_cpu_kentry;

typedef struct qc_cpu_ktable {
    uint32_t features;        /* required mask (QC_CPU_FEAT_*) */
    char cpu[QC_CPU_KT_CPU_LEN + 1];
    int32_t n;                /* == model's node count */
    qc_cpu_kentry *e;         /* malloc'd, n entries; strings point into the section */
    int32_t n_generated;
    const uint8_t *so;        /* the SO section, or NULL */
    size_t so_len;
} qc_cpu_ktable;

/* Checks every field of the cpu sections of m (offsets, lengths, counts,
 * strings, kinds) against each other and the model; errors name the section
 * and byte offset. Does not look at the host. */
qc_status qc_cpu_ktable_parse(const qc_model_data *m, qc_cpu_ktable *out);
void qc_cpu_ktable_free(qc_cpu_ktable *t);

/* The host's features as a QC_CPU_FEAT_* mask (cpuid + xgetbv: a feature
 * counts only when the OS saves its registers). */
uint32_t qc_cpu_host_features(void);
/* The name of one feature bit ("avx512f"), or "?". */
const char *qc_cpu_feature_name(uint32_t bit);
/* QC_ERR_UNSUPPORTED naming the first required feature the host lacks;
 * requests AMX tile data permission from the kernel when AMX is required. */
qc_status qc_cpu_check_host(uint32_t required, const char *cpu);

#endif
