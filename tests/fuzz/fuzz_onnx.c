/* fuzz_onnx.c — libFuzzer target for the ONNX importer: import arbitrary
 * bytes as a model from memory (no directory, so external data is refused);
 * when they import, print the graph (exercising the printer on whatever the
 * importer accepted). Must never crash, leak, hang or allocate wildly. */
#include <stdint.h>
#include <stdlib.h>

#include "frontend/onnx/onnx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    qc_graph *g = NULL;
    qc_status st = qc_onnx_import(data, size, "fuzz", NULL, NULL, &g);
    if (!st) {
        char *text = NULL;
        qc_status ps = qc_graph_print_string(g, &text);
        free(text);
        qc_status_free(ps);
    }
    qc_status_free(st);
    qc_graph_destroy(g);
    return 0;
}
