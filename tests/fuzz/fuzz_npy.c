/* fuzz_npy.c — libFuzzer target for the .npy reader. */
#include <stdint.h>

#include "tools/npy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    qc_tensor t;
    qc_status st = qc_npy_parse(data, size, "fuzz", &t);
    if (!st) qc_tensor_release(&t);
    qc_status_free(st);
    return 0;
}
