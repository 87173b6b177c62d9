/* cli_compile.c — `qcomp compile MODEL [--target ref,cpu,...] [--cpu NAME] -o OUT.qcm [--batch N]
 * [--emit-object M.o [--emit-header M.h] [--name IDENT]]`.
 *
 * Loads and verifies a model (.qcir or .onnx), optionally fixes its symbolic
 * batch dim, runs the compile pipeline (const_fold, dce, then qdq_fold and
 * fuse where those passes exist), plans memory and writes a .qcm artifact
 * (docs/artifact.md) and/or, for the cpu target, an object + header for
 * static linking (qc_model_load_static). Outputs appear atomically: on any
 * error no file (and no partial file) is left behind. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/target.h"
#include "ir/ir.h"
#include "passes/memplan.h"
#include "passes/pass.h"
#include "qcomp/qcomp.h"
#include "tools/cli.h"
#include "tools/cli_args.h"

#define CMD "compile"
#define MAX_BATCH 1000000000L

typedef struct compile_opts {
    const char *model, *out, *target, *cpu, *object, *header, *name;
    long batch;   /* -1: keep the symbolic dim */
} compile_opts;

static void usage(FILE *f) {
    fprintf(f,
            "usage: qcomp compile MODEL -o OUT.qcm [--target T[,T...]] [--cpu NAME] [--batch N]\n"
            "                     [--emit-object M.o [--emit-header M.h] [--name IDENT]]\n"
            "\n"
            "Compiles MODEL (a .qcir text IR file or an .onnx model) to a .qcm artifact\n"
            "that `qcomp run` and libqcrt load.\n"
            "\n"
            "  -o, --output FILE  the artifact to write (replaced atomically)\n"
            "  --target LIST      comma-separated targets whose code goes into the\n"
            "                     artifact: ref (default; the reference interpreter runs\n"
            "                     the graph), cpu, vulkan, cuda (those built in: %s);\n"
            "                     the runtime picks one at load\n"
            "  --cpu NAME         cpu target: native (default: this host) or an LLVM CPU\n"
            "                     name (x86-64-v3, x86-64-v4, sapphirerapids, znver4, ...)\n"
            "  --batch N          fix the model's symbolic batch dim to N (default: keep\n"
            "                     it symbolic, bound when the model runs)\n"
            "  --emit-object M.o  cpu target: also write the kernels and the artifact\n"
            "                     image as an ELF object to link into a program, which\n"
            "                     loads it with qc_model_load_static (-o is then optional)\n"
            "  --emit-header M.h  with --emit-object: the C header declaring it\n"
            "  --name IDENT       the object's model is qcm_IDENT (default: from the\n"
            "                     graph name)\n"
            "\n"
            "Exit status: 0 ok, 1 error, 2 usage.\n",
            qc_compile_targets_available());
}

static int usage_error(void) {
    usage(stderr);
    return QC_EXIT_USAGE;
}

/* Returns -1 to go on, or the exit code to stop with. */
static int parse_args(int argc, char **argv, compile_opts *o) {
    o->target = "ref";
    o->batch = -1;
    for (int i = 1; i < argc; i++)
        if (qc_cli_is_help(argv[i])) {
            usage(stdout);
            return QC_EXIT_OK;
        }
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        int m;
        if ((m = qc_cli_option(CMD, argc, argv, &i, "-o", &v)) ||
            (m = qc_cli_option(CMD, argc, argv, &i, "--output", &v))) {
            if (m < 0) return usage_error();
            o->out = v;
        } else if ((m = qc_cli_option(CMD, argc, argv, &i, "--target", &v))) {
            if (m < 0) return usage_error();
            o->target = v;
        } else if ((m = qc_cli_option(CMD, argc, argv, &i, "--cpu", &v))) {
            if (m < 0) return usage_error();
            o->cpu = v;
        } else if ((m = qc_cli_option(CMD, argc, argv, &i, "--emit-object", &v))) {
            if (m < 0) return usage_error();
            o->object = v;
        } else if ((m = qc_cli_option(CMD, argc, argv, &i, "--emit-header", &v))) {
            if (m < 0) return usage_error();
            o->header = v;
        } else if ((m = qc_cli_option(CMD, argc, argv, &i, "--name", &v))) {
            if (m < 0) return usage_error();
            o->name = v;
        } else if ((m = qc_cli_option(CMD, argc, argv, &i, "--batch", &v))) {
            if (m < 0) return usage_error();
            if (!qc_cli_parse_int(v, 1, MAX_BATCH, &o->batch)) {
                qc_cli_error(CMD, "--batch needs a whole number from 1 to %ld, got '%s'",
                             MAX_BATCH, v);
                return usage_error();
            }
        } else if (argv[i][0] == '-' && argv[i][1]) {
            qc_cli_error(CMD, "unknown option '%s'", argv[i]);
            return usage_error();
        } else if (o->model) {
            qc_cli_error(CMD, "unexpected argument '%s' (the model is '%s')", argv[i], o->model);
            return usage_error();
        } else {
            o->model = argv[i];
        }
    }
    if (!o->model) {
        qc_cli_error(CMD, "no MODEL given");
        return usage_error();
    }
    if (!o->out && !o->object) {
        qc_cli_error(CMD, "no output given (-o OUT.qcm, or --emit-object M.o)");
        return usage_error();
    }
    if ((o->header || o->name) && !o->object) {
        qc_cli_error(CMD, "--emit-header and --name go with --emit-object");
        return usage_error();
    }
    return -1;
}

/* Replaces the symbolic dim by `batch` everywhere; the graph becomes static. */
static qc_status bind_batch(qc_graph *g, long batch) {
    for (int32_t i = 0; i < g->n_values; i++) {
        qc_type *t = &g->values[i].type;
        for (int32_t d = 0; d < t->rank; d++)
            if (t->dims[d] == QC_DIM_SYM) t->dims[d] = batch;
    }
    return qc_graph_set_batch(g, NULL);
}

static qc_status compile_model(const compile_opts *o) {
    qc_compile_options co;
    qc_compile_options_init(&co);
    co.targets = o->target;
    co.cpu = o->cpu;
    co.emit_object = o->object;
    co.emit_header = o->header;
    co.static_name = o->name;
    uint32_t targets;
    qc_status st = qc_target_list_parse(o->target, &targets);   /* fail before loading */
    if (st) return st;
    if (o->object && !(targets & (1u << QC_TARGET_CPU)))
        return qc_error(QC_ERR_INVALID, "--emit-object needs the cpu target (--target cpu)");
    qc_graph *g = NULL;
    st = qc_cli_load_model(o->model, true, &g);
    if (st) return st;
    if (o->batch > 0 && g->batch) st = bind_batch(g, o->batch);
    if (!st) st = qc_cli_name_file(qc_compile_optimize(g), o->model);
    if (!st && o->out) st = qc_cli_name_file(qc_compile_to_file(g, &co, o->out), o->model);
    if (!st && !o->out) {   /* the object (and header) only */
        void *img = NULL;
        size_t len = 0;
        st = qc_cli_name_file(qc_compile_to_memory_opts(g, &co, &img, &len), o->model);
        free(img);
    }
    qc_graph_destroy(g);
    return st;
}

int qc_cli_compile(int argc, char **argv) {
    compile_opts o = {0};
    int rc = parse_args(argc, argv, &o);
    if (rc >= 0) return rc;
    qc_status st = compile_model(&o);
    return st ? qc_cli_fail(CMD, st) : QC_EXIT_OK;
}
