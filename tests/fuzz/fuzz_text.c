/* fuzz_text.c — libFuzzer target for the textual IR parser: parse arbitrary
 * bytes; when they parse, verify and print (exercising the printer on
 * whatever the parser accepted). Must never crash, leak or hang. */
#include <stdint.h>
#include <stdlib.h>

#include "ir/ir.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    qc_graph *g = NULL;
    qc_status st = qc_graph_parse((const char *)data, size, "fuzz", &g);
    if (!st) {
        qc_status vs = qc_graph_verify(g);
        char *text = NULL;
        qc_status ps = qc_graph_print_string(g, &text);
        free(text);
        qc_status_free(ps);
        qc_status_free(vs);
    }
    qc_status_free(st);
    qc_graph_destroy(g);
    return 0;
}
