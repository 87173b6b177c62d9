/* hal.c — the device registry: which drivers exist and how one is chosen.
 * A constant table (no registration calls, so no global mutable state);
 * backends built into libqcrt append their driver here. */
#include <stdio.h>
#include <string.h>

#include "runtime/hal.h"

static const qc_hal_driver *const drivers[] = {
    &qc_hal_ref_driver,
#ifdef QC_HAVE_CPU
    &qc_hal_cpu_driver,
#endif
#ifdef QC_HAVE_VULKAN
    &qc_hal_vulkan_driver,
#endif
#ifdef QC_HAVE_CUDA
    &qc_hal_cuda_driver,
#endif
};

#define N_DRIVERS ((int32_t)(sizeof drivers / sizeof drivers[0]))

int32_t qc_hal_driver_count(void) { return N_DRIVERS; }

const qc_hal_driver *qc_hal_driver_at(int32_t i) {
    return i >= 0 && i < N_DRIVERS ? drivers[i] : NULL;
}

static void list_names(char *buf, size_t n) {
    size_t len = 0;
    buf[0] = 0;
    for (int32_t i = 0; i < N_DRIVERS && len < n; i++)
        len += (size_t)snprintf(buf + len, n - len, "%s%s", i ? ", " : "", drivers[i]->name);
}

qc_status qc_hal_open(const char *name, const qc_hal_create_params *params,
                      const qc_hal_driver **driver, qc_device **out) {
    *driver = NULL;
    *out = NULL;
    if (name) {
        for (int32_t i = 0; i < N_DRIVERS; i++) {
            if (strcmp(drivers[i]->name, name) != 0) continue;
            qc_hal_create_params p = params ? *params : (qc_hal_create_params){0};
            p.requested = true;
            qc_status st = drivers[i]->create(&p, out);
            if (st) return qc_status_wrap(st, "opening device '%s'", name);
            *driver = drivers[i];
            return NULL;
        }
        char names[256];
        list_names(names, sizeof names);
        return qc_error(QC_ERR_NOT_FOUND, "no device named '%s' (available: %s)", name, names);
    }
    /* Best available: try drivers by descending priority; a driver whose
     * hardware is missing fails create and the next one is tried. */
    bool tried[N_DRIVERS];
    memset(tried, 0, sizeof tried);
    for (int32_t round = 0; round < N_DRIVERS; round++) {
        int32_t best = -1;
        for (int32_t i = 0; i < N_DRIVERS; i++)
            if (!tried[i] && (best < 0 || drivers[i]->priority > drivers[best]->priority))
                best = i;
        tried[best] = true;
        qc_hal_create_params p = params ? *params : (qc_hal_create_params){0};
        p.requested = false;
        qc_status st = drivers[best]->create(&p, out);
        if (!st) {
            *driver = drivers[best];
            return NULL;
        }
        qc_status_free(st);
    }
    return qc_error(QC_ERR_NOT_FOUND, "no device could be opened");
}
