/* main.c — the AOT path: a program linked against libqcrt alone (no
 * compiler, no LLVM/protobuf) that loads a .qcm compiled by `qcomp compile`
 * and runs it.
 *
 *   aot_app MODEL.qcm [BATCH] [BACKEND] */
#include <stdio.h>
#include <stdlib.h>

#include "../example_io.h"
#include "qcomp/qcrt.h"

int main(int argc, char **argv) {
    if (argc < 2 || argc > 4) {
        fprintf(stderr, "usage: aot_app MODEL.qcm [BATCH] [BACKEND]\n");
        return 2;
    }
    int64_t batch = argc > 2 ? atoll(argv[2]) : 2;
    qc_runtime_options ro;
    qc_runtime_options_init(&ro);
    ro.backend = argc > 3 ? argv[3] : NULL;

    qc_runtime *rt = NULL;
    qc_model *m = NULL;
    qc_status st = qc_runtime_create(&ro, &rt);
    if (!st) st = qc_model_load_file(rt, argv[1], &m);
    if (!st) {
        printf("model '%s' on device '%s' (%d threads)\n", qc_model_name(m),
               qc_runtime_device_name(rt), (int)qc_runtime_thread_count(rt));
        st = example_run(m, batch);
    }
    qc_model_release(m);
    qc_runtime_destroy(rt);
    if (st) {
        fprintf(stderr, "aot_app: %s\n", qc_status_message(st));
        qc_status_free(st);
        return 1;
    }
    return 0;
}
