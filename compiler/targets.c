/* targets.c — which code generators this libqcomp has, and target lists.
 * A constant table (no registration calls, so no global mutable state), as
 * the runtime's device registry (runtime/hal.c) is. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/target.h"
#include "runtime/model.h"

static const qc_target_lowering *const lowerings[] = {
#ifdef QC_HAVE_CPU
    &qc_cpu_lowering,
#endif
#ifdef QC_HAVE_VULKAN
    &qc_vulkan_lowering,
#endif
#ifdef QC_HAVE_CUDA
    &qc_cuda_lowering,
#endif
    NULL,   /* keeps the array non-empty when no backend is built */
};

#define N_LOWERINGS ((int32_t)(sizeof lowerings / sizeof lowerings[0]) - 1)

int32_t qc_target_lowering_count(void) { return N_LOWERINGS; }

const qc_target_lowering *qc_target_lowering_at(int32_t i) {
    return i >= 0 && i < N_LOWERINGS ? lowerings[i] : NULL;
}

const qc_target_lowering *qc_target_lowering_find(const char *name) {
    for (int32_t i = 0; i < N_LOWERINGS; i++)
        if (!strcmp(lowerings[i]->name, name)) return lowerings[i];
    return NULL;
}

const char *qc_compile_targets_available(void) {
    /* Fixed by the build, so a static string is no mutable state. */
    return "ref"
#ifdef QC_HAVE_CPU
           ",cpu"
#endif
#ifdef QC_HAVE_VULKAN
           ",vulkan"
#endif
#ifdef QC_HAVE_CUDA
           ",cuda"
#endif
        ;
}

static qc_status one_target(const char *name, size_t len, uint32_t *targets) {
    char buf[32];
    if (len == 0 || len >= sizeof buf)
        return qc_error(QC_ERR_INVALID, "empty or overlong entry in the target list");
    memcpy(buf, name, len);
    buf[len] = 0;
    if (!strcmp(buf, "ref")) {
        *targets |= 1u << QC_TARGET_REF;
        return NULL;
    }
    const qc_target_lowering *l = qc_target_lowering_find(buf);
    if (l) {
        *targets |= 1u << l->target;
        return NULL;
    }
    if (!strcmp(buf, "cpu") || !strcmp(buf, "vulkan") || !strcmp(buf, "cuda"))
        return qc_error(QC_ERR_UNSUPPORTED,
                        "target '%s' is not built into this qcomp (available: %s; "
                        "scripts/setup.sh installs its packages, then rebuild)",
                        buf, qc_compile_targets_available());
    return qc_error(QC_ERR_NOT_FOUND, "unknown target '%s' (available: %s)", buf,
                    qc_compile_targets_available());
}

qc_status qc_target_list_parse(const char *list, uint32_t *targets) {
    *targets = 0;
    if (!list || !*list) list = "ref";
    for (const char *p = list;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        qc_status st = one_target(p, len, targets);
        if (st) return st;
        if (!comma) break;
        p = comma + 1;
    }
    return NULL;
}

qc_status qc_code_sections_add(qc_code_sections *l, uint32_t kind, uint32_t target,
                               uint8_t *data, size_t len) {
    if (l->n == l->cap) {
        int32_t cap = l->cap ? 2 * l->cap : 8;
        qc_code_section *s = realloc(l->secs, sizeof *s * (size_t)cap);
        if (!s) {
            free(data);
            return qc_error(QC_ERR_NOMEM, "out of memory adding a code section");
        }
        l->secs = s;
        l->cap = cap;
    }
    l->secs[l->n++] = (qc_code_section){kind, target, data, len};
    return NULL;
}

void qc_code_sections_free(qc_code_sections *l) {
    for (int32_t i = 0; i < l->n; i++) free(l->secs[i].data);
    free(l->secs);
    if (l->code.release) l->code.release(l->code.ctx);
    *l = (qc_code_sections){0};
}
