/* link.h — internal: object file -> ELF shared object with ld.lld (AOT). */
#ifndef QC_BACKENDS_CPU_LINK_H
#define QC_BACKENDS_CPU_LINK_H

#include <stddef.h>
#include <stdint.h>

#include "qcomp/qcrt.h"

/* Links obj into a shared object (malloc'd into *so). A missing linker is
 * QC_ERR_UNSUPPORTED naming what to install; a failing one carries its
 * diagnostics. */
qc_status qc_cpu_link_shared(const uint8_t *obj, size_t len, uint8_t **so, size_t *so_len);

#endif
