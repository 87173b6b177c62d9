/* host_app.c — the JIT path: a host program that imports an ONNX model with
 * the compiler API, compiles it in memory (no file is written) and runs it
 * through the runtime API.
 *
 *   host_app MODEL.onnx [BATCH] [BACKEND]
 *
 * Inputs are a fixed pattern (examples/example_io.h), so its output can be
 * compared with examples/aot on the same model compiled ahead of time. */
#include <stdio.h>
#include <stdlib.h>

#include "example_io.h"
#include "frontend/onnx/onnx.h"
#include "qcomp/qcomp.h"

int main(int argc, char **argv) {
    if (argc < 2 || argc > 4) {
        fprintf(stderr, "usage: host_app MODEL.onnx [BATCH] [BACKEND]\n");
        return 2;
    }
    int64_t batch = argc > 2 ? atoll(argv[2]) : 2;
    qc_runtime_options ro;
    qc_runtime_options_init(&ro);
    ro.backend = argc > 3 ? argv[3] : NULL;   /* NULL: best available device */

    qc_runtime *rt = NULL;
    qc_graph *g = NULL;
    qc_model *m = NULL;
    qc_status st = qc_runtime_create(&ro, &rt);
    if (!st) st = qc_onnx_import_file(argv[1], NULL, &g);   /* ONNX -> graph */
    if (!st) st = qc_compile_optimize(g);                   /* the passes `qcomp compile` runs */
    if (!st) st = qc_compile_jit(rt, g, &m);                /* graph -> model, in memory */
    qc_graph_destroy(g);                                    /* the model owns what it needs */
    if (!st) {
        printf("model '%s' on device '%s' (%d threads)\n", qc_model_name(m),
               qc_runtime_device_name(rt), (int)qc_runtime_thread_count(rt));
        st = example_run(m, batch);
    }
    qc_model_release(m);
    qc_runtime_destroy(rt);
    if (st) {
        fprintf(stderr, "host_app: %s\n", qc_status_message(st));
        qc_status_free(st);
        return 1;
    }
    return 0;
}
