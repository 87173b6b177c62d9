/* cli_quantize.c — `qcomp quantize MODEL --scheme S [--calib DATA.npy ...]
 * [--method M] [--percentile P] [--per-tensor] [--asymmetric] [--act-type
 * u8|i8] [--group G] [--centroids K] [--val X.npy --labels Y.npy]
 * [--report FILE.json] -o OUT.qcir|OUT.onnx` (.onnx: standard QDQ ONNX), and
 * `--scheme mixed --accuracy-budget B [--candidates LIST] [--target T]`
 * (passes/mixed.h: a scheme per layer chosen to meet B at the lowest cost).
 * Integer schemes (int8, int8-dynamic, 16x8) go through the int8-vs-fp32
 * guard (passes/quant_guard.h) for --target T [--isa V]: a layer whose
 * integer kernel is not estimated faster stays float unless --force.
 *
 * Post-training quantization in one command: load, calibrate (float graph on
 * the ref interpreter, batches of 64 rows), rewrite to QDQ IR
 * (passes/quantize.h), measure (per-layer SQNR on the first calibration
 * batch, top-1 accuracy before/after on --val/--labels), print the table on
 * stdout and write the model. Output files are written to a temporary name
 * and renamed, so a failure leaves no partial file. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ir/dtype.h"
#include "frontend/onnx/onnx.h"
#include "ir/ir.h"
#include "passes/calibrate.h"
#include "passes/mixed.h"
#include "passes/quant_guard.h"
#include "passes/quantize.h"
#include "tools/cli.h"
#include "tools/cli_args.h"

#define CMD "quantize"
#define MAX_CALIB 64
#define CALIB_BATCH 64
#define MIXED_EVAL_ROWS 256   /* rows of the first --calib file the mixed search measures on */

typedef struct q_opts {
    const char *model, *out, *report, *val, *labels;
    const char *calib[MAX_CALIB];
    int n_calib;
    qc_quant_config cfg;
    bool mixed, force;
    long batch;   /* guard: the symbolic batch dim's value (default 1) */
    const char *budget, *candidates, *target, *isa;
    qc_mixed_config mcfg;
} q_opts;

static void usage(FILE *f) {
    fprintf(f,
            "usage: qcomp quantize MODEL --scheme S [--calib DATA.npy]... [--method M]\n"
            "                      [--percentile P] [--per-tensor] [--asymmetric]\n"
            "                      [--act-type u8|i8] [--group 32|64|128] [--centroids 16|256]\n"
            "                      [--val X.npy --labels Y.npy] [--target T [--isa V]] [--batch N] [--force]\n"
            "                      [--report FILE.json] -o OUT.qcir|OUT.onnx\n"
            "       qcomp quantize MODEL --scheme mixed --accuracy-budget B [--calib DATA.npy]...\n"
            "                      [--val X.npy --labels Y.npy] [--candidates LIST] [--target T] -o OUT\n"
            "\n"
            "Post-training quantization of a float model (.onnx or .qcir) into QDQ IR.\n"
            "\n"
            "  --scheme S        int8, int8-dynamic, int8-weight, int4-weight, fp16, bf16,\n"
            "                    fp8-e4m3, fp8-e5m2, 16x8, kmeans, or mixed (a scheme per layer)\n"
            "  --calib FILE      calibration inputs (.npy, batch dim first; repeat for more\n"
            "                    files; NAME=FILE for models with several inputs); needed by\n"
            "                    int8, 16x8 and the fp8 schemes\n"
            "  --method M        activation ranges: minmax (default), percentile, entropy, mse\n"
            "  --percentile P    for --method percentile (default 99.99)\n"
            "  --per-tensor      int8 weights: one scale per tensor (default per channel)\n"
            "  --asymmetric      weights (and i8 activations) with a zero point\n"
            "  --act-type T      int8 activations u8 (default, asymmetric) or i8 (symmetric)\n"
            "  --group G         weight-only block size (default 128)\n"
            "  --centroids K     kmeans codebook size, 16 or 256 (default 256)\n"
            "  --val X --labels Y  top-1 accuracy before/after (argmax of output 0)\n"
            "  --report FILE     write the report as JSON\n"
            "  --accuracy-budget B  mixed: P = max top-1 drop in percentage points (needs\n"
            "                    --val/--labels), e.g. 0.5; rel=E = max relative L2 error\n"
            "                    of output 0 on the first --calib file, e.g. rel=0.01\n"
            "  --candidates LIST mixed: schemes to choose from, comma-separated; none = keep\n"
            "                    float (default int4-weight,int8,fp8-e4m3,16x8,none)\n"
            "  --target T        cpu (default), cuda or vulkan: the cost model of mixed, and\n"
            "                    the int8-vs-fp32 guard of int8, int8-dynamic and 16x8: a layer\n"
            "                    whose integer kernel is not estimated faster than fp32 on T\n"
            "                    stays float (reported, and qc.precision on the node)\n"
            "  --isa V           cpu guard: estimate for sse2, avx2, avxvnni or avx512vnni\n"
            "                    instead of this host's best variant\n"
            "  --batch N         guard: estimate calls with the batch dim = N (default 1)\n"
            "  --force           quantize every layer with S even where the guard would not\n"
            "  -o OUT            write the quantized model (.qcir text IR)\n"
            "\n"
            "Prints a per-layer table (scales, zero points, SQNR, relative error) and the\n"
            "model size before/after. Exit status: 0 ok, 1 error, 2 usage.\n");
}

static int usage_error(void) {
    usage(stderr);
    return QC_EXIT_USAGE;
}

/* --target / --isa (the guard and mixed), and the mixed-precision options:
 * only with --scheme mixed, which needs a well-formed budget (a top-1 budget
 * needs labels). */
static int parse_mixed(q_opts *o) {
    qc_mixed_config *mc = &o->mcfg;
    if (o->target && !qc_mixed_target_parse(o->target, &mc->target)) {
        qc_cli_error(CMD, "--target is cpu, cuda or vulkan, got '%s'", o->target);
        return usage_error();
    }
    qc_guard_isa isa;
    if (o->isa && (!qc_guard_isa_parse(o->isa, &isa) || isa >= QC_GUARD_CUDA)) {
        qc_cli_error(CMD, "--isa is sse2, avx2, avxvnni or avx512vnni, got '%s'", o->isa);
        return usage_error();
    }
    if (o->isa && mc->target != QC_MIXED_CPU) {
        qc_cli_error(CMD, "--isa goes with --target cpu");
        return usage_error();
    }
    if (!o->mixed) {
        const char *opt = o->budget ? "--accuracy-budget" : o->candidates ? "--candidates" : NULL;
        if (!opt) return -1;
        qc_cli_error(CMD, "%s goes with --scheme mixed", opt);
        return usage_error();
    }
    if (!o->budget) {
        qc_cli_error(CMD, "--scheme mixed needs --accuracy-budget B (P percentage points of "
                          "top-1 with --val/--labels, or rel=E)");
        return usage_error();
    }
    if (!qc_mixed_budget_parse(o->budget, &mc->metric, &mc->budget)) {
        qc_cli_error(CMD, "--accuracy-budget '%s' is neither P (top-1 drop in percentage points, "
                          "0..100) nor rel=E (relative output error, E >= 0)", o->budget);
        return usage_error();
    }
    if (mc->metric == QC_MIXED_ACC_DROP && !o->val) {
        qc_cli_error(CMD, "--accuracy-budget %s is a top-1 drop in percentage points and needs "
                          "--val and --labels (rel=E budgets the relative output error)", o->budget);
        return usage_error();
    }
    if (o->candidates && !qc_mixed_candidates_parse(o->candidates, mc->candidates,
                                                    &mc->n_candidates)) {
        qc_cli_error(CMD, "--candidates '%s': give up to %d distinct per-layer schemes separated "
                          "by commas (int8, int8-dynamic, int8-weight, int4-weight, fp8-e4m3, "
                          "fp8-e5m2, 16x8, kmeans, none)", o->candidates, QC_MIXED_MAX_CAND);
        return usage_error();
    }
    return -1;
}

static int parse_args(int argc, char **argv, q_opts *o) {
    qc_quant_config_default(&o->cfg);
    o->cfg.scheme = QC_QS_NONE;
    for (int i = 1; i < argc; i++)
        if (qc_cli_is_help(argv[i])) {
            usage(stdout);
            return QC_EXIT_OK;
        }
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        int m;
        long n;
        if ((m = qc_cli_option(CMD, argc, argv, &i, "--scheme", &v))) {
            if (m < 0) return usage_error();
            o->mixed = !strcmp(v, "mixed");
            if (!o->mixed && !qc_qscheme_parse(v, &o->cfg.scheme)) {
                qc_cli_error(CMD, "unknown scheme '%s'", v);
                return usage_error();
            }
        } else if ((m = qc_cli_option(CMD, argc, argv, &i, "--calib", &v))) {
            if (m < 0) return usage_error();
            if (o->n_calib == MAX_CALIB) {
                qc_cli_error(CMD, "at most %d --calib files", MAX_CALIB);
                return usage_error();
            }
            o->calib[o->n_calib++] = v;
        } else if ((m = qc_cli_option(CMD, argc, argv, &i, "--method", &v))) {
            if (m < 0) return usage_error();
            if (!qc_calib_method_parse(v, &o->cfg.method)) {
                qc_cli_error(CMD, "unknown method '%s' (minmax, percentile, entropy, mse)", v);
                return usage_error();
            }
        } else if ((m = qc_cli_option(CMD, argc, argv, &i, "--percentile", &v))) {
            if (m < 0) return usage_error();
            char *end;
            o->cfg.percentile = strtod(v, &end);
            if (*end || !(o->cfg.percentile > 0.0 && o->cfg.percentile <= 100.0)) {
                qc_cli_error(CMD, "--percentile needs a number in (0, 100], got '%s'", v);
                return usage_error();
            }
        } else if ((m = qc_cli_option(CMD, argc, argv, &i, "--act-type", &v))) {
            if (m < 0) return usage_error();
            if (strcmp(v, "u8") && strcmp(v, "i8")) {
                qc_cli_error(CMD, "--act-type is u8 or i8, got '%s'", v);
                return usage_error();
            }
            o->cfg.act_type = v[0] == 'u' ? QC_U8 : QC_I8;
        } else if ((m = qc_cli_option(CMD, argc, argv, &i, "--group", &v))) {
            if (m < 0) return usage_error();
            if (!qc_cli_parse_int(v, 1, 1 << 20, &n) || (n != 32 && n != 64 && n != 128)) {
                qc_cli_error(CMD, "--group is 32, 64 or 128, got '%s'", v);
                return usage_error();
            }
            o->cfg.group = (int32_t)n;
        } else if ((m = qc_cli_option(CMD, argc, argv, &i, "--centroids", &v))) {
            if (m < 0) return usage_error();
            if (!qc_cli_parse_int(v, 1, 1 << 20, &n) || (n != 16 && n != 256)) {
                qc_cli_error(CMD, "--centroids is 16 or 256, got '%s'", v);
                return usage_error();
            }
            o->cfg.centroids = (int32_t)n;
        } else if ((m = qc_cli_option(CMD, argc, argv, &i, "--val", &v))) {
            if (m < 0) return usage_error();
            o->val = v;
        } else if ((m = qc_cli_option(CMD, argc, argv, &i, "--labels", &v))) {
            if (m < 0) return usage_error();
            o->labels = v;
        } else if ((m = qc_cli_option(CMD, argc, argv, &i, "--accuracy-budget", &v))) {
            if (m < 0) return usage_error();
            o->budget = v;
        } else if ((m = qc_cli_option(CMD, argc, argv, &i, "--candidates", &v))) {
            if (m < 0) return usage_error();
            o->candidates = v;
        } else if ((m = qc_cli_option(CMD, argc, argv, &i, "--target", &v))) {
            if (m < 0) return usage_error();
            o->target = v;
        } else if ((m = qc_cli_option(CMD, argc, argv, &i, "--batch", &v))) {
            if (m < 0) return usage_error();
            if (!qc_cli_parse_int(v, 1, 1 << 24, &o->batch)) {
                qc_cli_error(CMD, "--batch needs an integer in 1..%d, got '%s'", 1 << 24, v);
                return usage_error();
            }
        } else if ((m = qc_cli_option(CMD, argc, argv, &i, "--isa", &v))) {
            if (m < 0) return usage_error();
            o->isa = v;
        } else if ((m = qc_cli_option(CMD, argc, argv, &i, "--report", &v))) {
            if (m < 0) return usage_error();
            o->report = v;
        } else if ((m = qc_cli_option(CMD, argc, argv, &i, "-o", &v)) ||
                   (m = qc_cli_option(CMD, argc, argv, &i, "--output", &v))) {
            if (m < 0) return usage_error();
            o->out = v;
        } else if (!strcmp(argv[i], "--force")) {
            o->force = true;
        } else if (!strcmp(argv[i], "--per-tensor")) {
            o->cfg.per_tensor = true;
        } else if (!strcmp(argv[i], "--asymmetric")) {
            o->cfg.asymmetric = true;
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
    const char *missing = !o->model ? "no MODEL given"
                          : o->cfg.scheme == QC_QS_NONE && !o->mixed ? "no --scheme given"
                          : !o->out ? "no output given (-o OUT.qcir)"
                          : (!o->val != !o->labels) ? "--val and --labels go together"
                                                    : NULL;
    if (missing) {
        qc_cli_error(CMD, "%s", missing);
        return usage_error();
    }
    return parse_mixed(o);
}

/* Binds each --calib argument to a graph input: plain FILE for one-input
 * models (every file is more rows of that input), NAME=FILE otherwise. */
static qc_status load_calib(const qc_graph *g, const q_opts *o, qc_calib *c) {
    if (g->n_inputs < 1 || g->n_inputs > 16)
        return qc_error(QC_ERR_UNSUPPORTED, "calibration supports models with 1..16 inputs");
    int32_t ni = g->n_inputs;
    qc_tensor set[16];
    const char *src[16];
    int32_t have = 0;
    memset(set, 0, sizeof set);
    qc_status st = NULL;
    for (int f = 0; f < o->n_calib && !st; f++) {
        const char *arg = o->calib[f], *path = arg;
        int32_t idx = 0;
        if (ni > 1) {
            const char *eq = strchr(arg, '=');
            idx = -1;
            for (int32_t i = 0; eq && i < ni; i++)
                if (!strncmp(arg, g->values[g->inputs[i]].name, (size_t)(eq - arg)) &&
                    !g->values[g->inputs[i]].name[eq - arg])
                    idx = i;
            if (idx < 0) {
                st = qc_error(QC_ERR_INVALID,
                              "--calib '%s': the model has %d inputs; use NAME=FILE with an input name",
                              arg, (int)ni);
                break;
            }
            path = eq + 1;
        }
        qc_tensor_release(&set[idx]);
        st = qc_cli_read_tensor(path, &set[idx]);
        if (!st) st = qc_calib_check_input(g, idx, &set[idx], path);
        src[idx] = path;
        if (!st) have |= 1 << idx;
        if (!st && have == (1 << ni) - 1) {
            st = qc_calib_add_rows(c, set, ni, CALIB_BATCH);
            if (st) st = qc_status_wrap(st, "calibration data '%s'", src[0]);
            for (int32_t i = 0; i < ni; i++) qc_tensor_release(&set[i]);
            have = 0;
        }
    }
    if (!st && have)
        st = qc_error(QC_ERR_INVALID, "--calib: not every model input was given a file");
    for (int32_t i = 0; i < ni; i++) qc_tensor_release(&set[i]);
    return st;
}

/* The first calibration file's first batch, for per-layer SQNR. */
static qc_status first_batch(const qc_graph *g, const q_opts *o, qc_tensor *t) {
    const char *path = o->n_calib ? o->calib[0] : o->val;
    if (!path || g->n_inputs != 1) return qc_error(QC_ERR_NOT_FOUND, "no data");
    qc_status st = qc_cli_read_tensor(path, t);
    if (!st) st = qc_calib_check_input(g, 0, t, path);
    if (!st && t->desc.dims[0] > CALIB_BATCH) t->desc.dims[0] = CALIB_BATCH;
    return st;
}

static void mixed_json(const void *r, FILE *f) { qc_mixed_json(r, f); }
static void guard_json(const void *r, FILE *f) { qc_guard_json(r, f); }

static qc_status write_text(const char *path, const qc_graph *g, const qc_quant_report *r,
                            const qc_mixed_result *mr, const qc_guard_result *gr) {
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f) return qc_error(QC_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
    qc_status st = g    ? qc_graph_print(g, f)
                   : mr ? qc_quant_report_json_ext(r, "mixed", mixed_json, mr, f)
                   : gr ? qc_quant_report_json_ext(r, "guard", guard_json, gr, f)
                        : qc_quant_report_json(r, f);
    if (fclose(f) != 0 && !st) st = qc_error(QC_ERR_IO, "%s: write failed", path);
    if (!st && rename(tmp, path) != 0)
        st = qc_error(QC_ERR_IO, "%s: cannot rename into place: %s", path, strerror(errno));
    if (st) remove(tmp);
    return st;
}

/* --scheme mixed: measures on the first --calib file (at most
 * MIXED_EVAL_ROWS rows), or on --val when there is no calibration data; a
 * failed search still prints what it measured. */
static qc_status run_mixed(const qc_graph *g, const qc_calib *calib, q_opts *o, qc_graph **q,
                           qc_quant_report *rep, qc_mixed_result *mr) {
    qc_tensor ex = {0}, vx = {0}, vy = {0};
    const char *path = o->n_calib ? o->calib[0] : o->val;
    if (g->n_inputs != 1)
        return qc_error(QC_ERR_UNSUPPORTED,
                        "--scheme mixed measures models with one input (this one has %d)",
                        (int)g->n_inputs);
    if (!path)
        return qc_error(QC_ERR_INVALID,
                        "--scheme mixed needs data to measure on: give --calib DATA.npy");
    qc_status st = qc_cli_read_tensor(path, &ex);
    if (!st) st = qc_calib_check_input(g, 0, &ex, path);
    if (!st && ex.desc.dims[0] > MIXED_EVAL_ROWS) ex.desc.dims[0] = MIXED_EVAL_ROWS;
    if (!st && o->val) {
        st = qc_cli_read_tensor(o->val, &vx);
        if (!st) st = qc_cli_read_tensor(o->labels, &vy);
    }
    qc_mixed_config mc = o->mcfg;
    mc.base = o->cfg;
    mc.eval = &ex;
    mc.n_eval = 1;
    mc.val_x = o->val ? &vx : NULL;
    mc.val_y = o->val ? &vy : NULL;
    if (!st) {
        st = qc_mixed_quantize(g, calib, &mc, q, rep, mr);
        if (st && mr->n_layers && mr->layers[0].n_cand) qc_mixed_print(mr, stdout);
    }
    qc_tensor_release(&ex);
    qc_tensor_release(&vx);
    qc_tensor_release(&vy);
    return st;
}

static bool ends_with(const char *s, const char *suf) {
    size_t n = strlen(s), k = strlen(suf);
    return n >= k && !strcmp(s + n - k, suf);
}

int qc_cli_quantize(int argc, char **argv) {
    q_opts o;
    memset(&o, 0, sizeof o);
    int rc = parse_args(argc, argv, &o);
    if (rc >= 0) return rc;
    qc_graph *g = NULL, *q = NULL;
    qc_calib *calib = NULL;
    qc_quant_report rep;
    memset(&rep, 0, sizeof rep);
    qc_tensor batch = {0}, vx = {0}, vy = {0};
    qc_mixed_result mres;
    memset(&mres, 0, sizeof mres);
    qc_guard_result gres;
    memset(&gres, 0, sizeof gres);
    bool guarded = false;
    qc_status st = qc_cli_load_model(o.model, true, &g);
    bool pre = !st && qc_graph_is_quantized(g);
    if (!st && !pre && qc_qscheme_needs_calib(o.cfg.scheme) && !o.n_calib)
        st = qc_error(QC_ERR_INVALID, "scheme %s needs calibration data: give --calib DATA.npy",
                      qc_qscheme_name(o.cfg.scheme));
    if (!st && !pre && o.n_calib) {
        st = qc_calib_create(g, &calib);
        if (!st) {
            calib->progress = isatty(2);
            st = load_calib(g, &o, calib);
        }
    }
    if (!st && o.mixed) {
        st = run_mixed(g, calib, &o, &q, &rep, &mres);
    } else if (!st) {
        if (!pre && qc_guard_applies(o.cfg.scheme)) {
            qc_guard_isa isa = qc_guard_isa_for_target(o.mcfg.target);
            if (o.isa) qc_guard_isa_parse(o.isa, &isa);
            st = qc_guard_decide(g, o.cfg.scheme, isa, o.batch, o.force, &gres);
            guarded = !st;
            if (guarded) o.cfg.node_scheme = gres.node_scheme;
        }
        if (!st) st = qc_quantize_graph(g, calib, &o.cfg, &q, &rep);
        if (!st && guarded) st = qc_guard_annotate(&gres, q);
    }
    if (!st && !pre) {   /* measured on the first calibration (or validation) batch */
        qc_status bs = first_batch(g, &o, &batch);
        if (!bs && rep.n_layers) st = qc_quant_measure_layers(g, q, &batch, 1, &rep);
        if (!bs && !st) st = qc_quant_output_error(g, q, &batch, 1, &rep.output_rel_err);
        if (!bs && !st) rep.measured_rows = batch.desc.dims[0];
        qc_status_free(bs);
    }
    if (!st && o.val) {
        st = qc_cli_read_tensor(o.val, &vx);
        if (!st) st = qc_cli_read_tensor(o.labels, &vy);
        if (!st) st = qc_quant_accuracy(g, &vx, &vy, &rep.acc_before);
        if (!st) st = qc_quant_accuracy(q, &vx, &vy, &rep.acc_after);
        if (!st) rep.val_samples = vx.desc.dims[0];
        if (st) st = qc_status_wrap(st, "validation '%s'", o.val);
    }
    if (!st) {
        qc_quant_report_print(&rep, stdout);
        if (o.mixed) qc_mixed_print(&mres, stdout);
        if (guarded) qc_guard_print(&gres, stdout);
        if (!qc_cli_flush(CMD, stdout, "the report")) rc = QC_EXIT_ERROR;
    }
    if (!st && o.report)
        st = write_text(o.report, NULL, &rep, o.mixed ? &mres : NULL, guarded ? &gres : NULL);
    /* .onnx: a standard QDQ model ONNX Runtime can run (export picks the
     * lowest opset that fits); anything else: qcomp's text IR. */
    if (!st) st = ends_with(o.out, ".onnx") ? qc_onnx_export_file(q, 0, o.out)
                                            : write_text(o.out, q, &rep, NULL, NULL);
    qc_tensor_release(&batch);
    qc_tensor_release(&vx);
    qc_tensor_release(&vy);
    qc_quant_report_free(&rep);
    qc_mixed_result_free(&mres);
    qc_guard_result_free(&gres);
    qc_calib_destroy(calib);
    qc_graph_destroy(q);
    qc_graph_destroy(g);
    if (st) return qc_cli_fail(CMD, st);
    return rc >= 0 ? rc : QC_EXIT_OK;
}
