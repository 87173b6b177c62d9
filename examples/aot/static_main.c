/* static_main.c — the static-linking path: the model is IN the program.
 * The build runs
 *   qcomp compile tests/models/seed_fnn/model.onnx --target cpu --cpu x86-64-v3 \
 *         --emit-object model.o --emit-header model.h --name model
 * and links model.o with this file and libqcrt: no .qcm file, no dlopen, no
 * LLVM at run time (examples/CMakeLists.txt).
 *
 *   aot_static [BATCH] [BACKEND] */
#include <stdio.h>
#include <stdlib.h>

#include "../example_io.h"
#include "model.h"   /* written by qcomp: extern const qc_static_model qcm_model; */
#include "qcomp/qcrt.h"

int main(int argc, char **argv) {
    if (argc > 3) {
        fprintf(stderr, "usage: aot_static [BATCH] [BACKEND]\n");
        return 2;
    }
    int64_t batch = argc > 1 ? atoll(argv[1]) : 2;
    qc_runtime_options ro;
    qc_runtime_options_init(&ro);
    ro.backend = argc > 2 ? argv[2] : NULL;

    qc_runtime *rt = NULL;
    qc_model *m = NULL;
    qc_status st = qc_runtime_create(&ro, &rt);
    if (!st) st = qc_model_load_static(rt, &qcm_model, &m);
    if (!st) {
        printf("model '%s' on device '%s' (%d threads)\n", qc_model_name(m),
               qc_runtime_device_name(rt), (int)qc_runtime_thread_count(rt));
        st = example_run(m, batch);
    }
    qc_model_release(m);
    qc_runtime_destroy(rt);
    if (st) {
        fprintf(stderr, "aot_static: %s\n", qc_status_message(st));
        qc_status_free(st);
        return 1;
    }
    return 0;
}
