/* test_quantize.c — post-training quantization end to end on the ref
 * interpreter: accuracy and size targets on the trained digits CNN (this
 * test FAILS when a scheme loses more than its budget), every scheme and
 * calibration method on the seed FNN and the transformer block (verifies,
 * runs, bounded relative error), the numerics of each scheme against values
 * computed independently with numpy (tests/quant/gen_expected.py), and
 * pass-through of pre-quantized models. */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/ref/ref.h"
#include "frontend/onnx/onnx.h"
#include "ir/dtype.h"
#include "ir/ir.h"
#include "ir/quant.h"
#include "passes/calibrate.h"
#include "passes/pass.h"
#include "passes/quantize.h"
#include "qc_test.h"
#include "tools/npy.h"

#define DIGITS "tests/models/digits_cnn/"
#define FP32_ACC 0.9638888888888889

static qc_graph *load(const char *path) {
    qc_graph *g = NULL;
    qc_status st = qc_onnx_import_file(path, NULL, &g);
    if (st) {
        fprintf(stderr, "%s: %s\n", path, qc_status_message(st));
        qc_status_free(st);
    }
    return g;
}

static qc_tensor npy(const char *path) {
    qc_tensor t = {{0}, NULL};
    qc_status st = qc_npy_read(path, &t);
    if (st) {
        fprintf(stderr, "%s\n", qc_status_message(st));
        qc_status_free(st);
    }
    return t;
}

static qc_calib *calibrate(const qc_graph *g, const qc_tensor *x) {
    qc_calib *c = NULL;
    qc_status st = qc_calib_create(g, &c);
    if (!st) st = qc_calib_add_rows(c, x, 1, 64);
    if (st) {
        fprintf(stderr, "calibrate: %s\n", qc_status_message(st));
        qc_status_free(st);
        qc_calib_destroy(c);
        return NULL;
    }
    return c;
}

/* Quantizes g; returns the graph (caller destroys) and fills the report. */
static qc_graph *quantize(const qc_graph *g, const qc_calib *c, const qc_quant_config *cfg,
                          qc_quant_report *rep) {
    qc_graph *q = NULL;
    qc_status st = qc_quantize_graph(g, c, cfg, &q, rep);
    if (st) {
        fprintf(stderr, "quantize %s: %s\n", qc_qscheme_name(cfg->scheme), qc_status_message(st));
        qc_status_free(st);
        return NULL;
    }
    return q;
}

/* The digits CNN budgets: accuracy drop (pp) and constant-size ratio. The
 * size floors are what the per-channel layout can reach on this 1.9k-weight
 * model (scales and biases are 12-18% of it; docs/quantization.md). */
static void test_digits(void) {
    static const struct {
        qc_qscheme s;
        qc_calib_method m;
        double max_drop_pp, min_ratio;
    } cases[] = {
        {QC_QS_INT8, QC_CALIB_MINMAX, 0.3, 3.2},
        {QC_QS_INT8, QC_CALIB_PERCENTILE, 0.3, 3.2},
        {QC_QS_INT8, QC_CALIB_ENTROPY, 0.6, 3.2},
        {QC_QS_INT8, QC_CALIB_MSE, 0.3, 3.2},
        {QC_QS_INT4_WEIGHT, QC_CALIB_MINMAX, 1.0, 6.3},
        {QC_QS_INT8_WEIGHT, QC_CALIB_MINMAX, 0.3, 3.5},
        {QC_QS_FP8_E4M3, QC_CALIB_MINMAX, 0.3, 3.7},
        {QC_QS_FP8_E5M2, QC_CALIB_MINMAX, 1.0, 3.7},
        {QC_QS_16X8, QC_CALIB_MINMAX, 0.3, 3.2},
        {QC_QS_INT8_DYNAMIC, QC_CALIB_MINMAX, 0.3, 3.7},
        {QC_QS_FP16, QC_CALIB_MINMAX, 0.3, 1.99},
        {QC_QS_BF16, QC_CALIB_MINMAX, 0.3, 1.99},
        {QC_QS_KMEANS, QC_CALIB_MINMAX, 0.3, 1.49},
    };
    qc_graph *g = load(DIGITS "model.onnx");
    qc_tensor cx = npy(DIGITS "calib_x.npy"), tx = npy(DIGITS "test_x.npy"),
              ty = npy(DIGITS "test_y.npy");
    CHECK(g && cx.data && tx.data && ty.data);
    if (!g || !cx.data || !tx.data || !ty.data) goto done;
    qc_calib *c = calibrate(g, &cx);
    CHECK(c != NULL);
    double fp = 0.0;
    CHECK_OK(qc_quant_accuracy(g, &tx, &ty, &fp));
    CHECK_MSG(fabs(fp - FP32_ACC) < 1e-9, "fp32 accuracy %.4f", fp);
    for (size_t i = 0; c && i < sizeof cases / sizeof cases[0]; i++) {
        qc_quant_config cfg;
        qc_quant_config_default(&cfg);
        cfg.scheme = cases[i].s;
        cfg.method = cases[i].m;
        qc_quant_report rep;
        qc_graph *q = quantize(g, c, &cfg, &rep);
        CHECK(q != NULL);
        if (!q) continue;
        double acc = 0.0;
        CHECK_OK(qc_quant_accuracy(q, &tx, &ty, &acc));
        double drop = 100.0 * (fp - acc), ratio = (double)rep.bytes_before / (double)rep.bytes_after;
        printf("digits %-12s %-10s acc %.4f (drop %+.2f pp, budget %.1f) size %lld -> %lld (%.2fx)\n",
               qc_qscheme_name(cfg.scheme), qc_calib_method_name(cfg.method), acc, drop,
               cases[i].max_drop_pp, (long long)rep.bytes_before, (long long)rep.bytes_after, ratio);
        CHECK_MSG(drop <= cases[i].max_drop_pp + 1e-9, "%s/%s: drop %.2f pp > %.1f",
                  qc_qscheme_name(cfg.scheme), qc_calib_method_name(cfg.method), drop,
                  cases[i].max_drop_pp);
        CHECK_MSG(ratio >= cases[i].min_ratio, "%s: size ratio %.2f < %.1f",
                  qc_qscheme_name(cfg.scheme), ratio, cases[i].min_ratio);
        CHECK(rep.n_layers == 3);
        qc_quant_report_free(&rep);
        qc_graph_destroy(q);
    }
    qc_calib_destroy(c);
done:
    qc_graph_destroy(g);
    qc_tensor_release(&cx);
    qc_tensor_release(&tx);
    qc_tensor_release(&ty);
}

/* Every scheme on the seed FNN and the transformer block: the result
 * verifies, runs, and its output stays near the float one. */
static void test_models(void) {
    static const struct {
        const char *dir;
        double tol;   /* generous bound on output rel L2 error for 8-bit-ish schemes */
    } models[] = {{"tests/models/seed_fnn/", 0.1}, {"tests/models/transformer_block/", 0.1}};
    for (size_t mi = 0; mi < sizeof models / sizeof models[0]; mi++) {
        char path[512];
        snprintf(path, sizeof path, "%smodel.onnx", models[mi].dir);
        qc_graph *g = load(path);
        snprintf(path, sizeof path, "%sinput_0.npy", models[mi].dir);
        qc_tensor x = npy(path);
        CHECK(g && x.data);
        if (!g || !x.data) {
            qc_graph_destroy(g);
            qc_tensor_release(&x);
            continue;
        }
        if (x.desc.dims[0] > 64) x.desc.dims[0] = 64;   /* bound the run time */
        qc_calib *c = calibrate(g, &x);
        for (int s = 1; c && s < QC_QS_COUNT; s++) {
            qc_quant_config cfg;
            qc_quant_config_default(&cfg);
            cfg.scheme = (qc_qscheme)s;
            if (s == QC_QS_KMEANS) cfg.centroids = 256;
            qc_quant_report rep;
            qc_graph *q = NULL;
            qc_status st = qc_quantize_graph(g, c, &cfg, &q, &rep);
            if (st && qc_status_code(st) == QC_ERR_UNSUPPORTED) {
                printf("%s %-12s unsupported: %s\n", models[mi].dir, qc_qscheme_name(cfg.scheme),
                       qc_status_message(st));
                qc_status_free(st);
                continue;
            }
            CHECK_OK(st);
            if (!q) continue;
            double err = NAN;
            CHECK_OK(qc_quant_output_error(g, q, &x, 1, &err));
            double tol = s == QC_QS_INT4_WEIGHT ? 0.3 : models[mi].tol;
            printf("%s %-12s layers %d  size %lld -> %lld  output rel err %.3g\n", models[mi].dir,
                   qc_qscheme_name(cfg.scheme), (int)rep.n_layers, (long long)rep.bytes_before,
                   (long long)rep.bytes_after, err);
            CHECK_MSG(err <= tol, "%s %s: rel err %g > %g", models[mi].dir,
                      qc_qscheme_name(cfg.scheme), err, tol);
            qc_quant_report_free(&rep);
            qc_graph_destroy(q);
        }
        qc_calib_destroy(c);
        qc_graph_destroy(g);
        qc_tensor_release(&x);
    }
}

/* A model that already holds Q/DQ passes through unchanged, with a note. */
static void test_passthrough(void) {
    qc_graph *g = load("tests/models/digits_cnn_qdq/model.onnx");
    CHECK(g != NULL);
    if (!g) return;
    qc_quant_config cfg;
    qc_quant_config_default(&cfg);
    qc_quant_report rep;
    qc_graph *q = quantize(g, NULL, &cfg, &rep);
    CHECK(q && rep.passthrough && rep.note[0] && rep.n_layers == 0);
    char *a = NULL, *b = NULL;
    if (q) {
        CHECK_OK(qc_graph_print_string(g, &a));
        CHECK_OK(qc_graph_print_string(q, &b));
        CHECK(a && b && !strcmp(a, b));
    }
    free(a);
    free(b);
    qc_quant_report_free(&rep);
    qc_graph_destroy(q);
    qc_graph_destroy(g);
}


/* Each scheme's constants against tests/quant/expected/<scheme>__<value>.npy
 * (numpy, tests/quant/gen_expected.py): exact equality, element by element
 * (integers, fp8/f16/bf16 compared by value). */
static void test_expected(void) {
    qc_graph *g = NULL;
    CHECK_OK(qc_graph_parse_file("tests/quant/small.qcir", &g));
    qc_tensor x = npy("tests/quant/calib_x.npy");
    CHECK(g && x.data);
    qc_calib *c = g && x.data ? calibrate(g, &x) : NULL;
    DIR *d = opendir("tests/quant/expected");
    CHECK(c && d);
    int files = 0;
    struct dirent *e;
    while (c && d && (e = readdir(d))) {
        char scheme[64], value[128], path[512];
        const char *sep = strstr(e->d_name, "__");
        size_t len = strlen(e->d_name);
        if (!sep || len < 5 || strcmp(e->d_name + len - 4, ".npy")) continue;
        snprintf(scheme, sizeof scheme, "%.*s", (int)(sep - e->d_name), e->d_name);
        snprintf(value, sizeof value, "%.*s", (int)(len - 4 - (size_t)(sep + 2 - e->d_name)), sep + 2);
        snprintf(path, sizeof path, "tests/quant/expected/%s", e->d_name);
        qc_quant_config cfg;
        qc_quant_config_default(&cfg);
        cfg.group = 32;
        /* "<scheme>+<flag>+...": the CLI's --per-tensor, --asymmetric, --act-type i8 */
        char *flag = strchr(scheme, '+');
        if (flag) *flag++ = '\0';
        while (flag && *flag) {
            char *next = strchr(flag, '+');
            if (next) *next++ = '\0';
            if (!strcmp(flag, "per-tensor")) cfg.per_tensor = true;
            else if (!strcmp(flag, "asymmetric")) cfg.asymmetric = true;
            else if (!strcmp(flag, "act-i8")) cfg.act_type = QC_I8;
            else CHECK_MSG(0, "unknown flag '%s' in %s", flag, e->d_name);
            flag = next;
        }
        CHECK_MSG(qc_qscheme_parse(scheme, &cfg.scheme), "scheme %s", scheme);
        qc_quant_report rep;
        qc_graph *q = quantize(g, c, &cfg, &rep);
        qc_tensor want = npy(path);
        int32_t id = q ? qc_graph_find_value(q, value) : -1;
        CHECK_MSG(id >= 0 && q->values[id].data, "%s: no constant '%s'", scheme, value);
        if (id >= 0 && want.data && q->values[id].data) {
            const qc_value *v = &q->values[id];
            int64_t n = qc_type_numel(&v->type), bad = 0;
            CHECK_MSG(n == qc_type_numel(&want.desc), "%s %s: %lld vs %lld elements", scheme, value,
                      (long long)n, (long long)qc_type_numel(&want.desc));
            for (int64_t i = 0; i < n && n == qc_type_numel(&want.desc); i++) {
                double a = qc_elem_get_f64(v->type.dtype, v->data, i);
                double b = qc_elem_get_f64(want.desc.dtype, want.data, i);
                if (a != b && bad++ < 3)
                    fprintf(stderr, "%s %s[%lld]: qcomp %.9g, numpy %.9g\n", scheme, value,
                            (long long)i, a, b);
            }
            CHECK_MSG(bad == 0, "%s %s: %lld of %lld elements differ", scheme, value,
                      (long long)bad, (long long)n);
            files++;
        }
        qc_tensor_release(&want);
        qc_quant_report_free(&rep);
        qc_graph_destroy(q);
    }
    if (d) closedir(d);
    printf("expected values: %d files compared\n", files);
    CHECK(files >= 30);
    qc_calib_destroy(c);
    qc_graph_destroy(g);
    qc_tensor_release(&x);
}

/* kmeans has no closed form to compare with; check what Lloyd's algorithm
 * guarantees at convergence: a sorted codebook, every index the nearest
 * centroid, and each used centroid the mean of its members. */
static void test_kmeans(void) {
    qc_graph *g = NULL;
    CHECK_OK(qc_graph_parse_file("tests/quant/small.qcir", &g));
    if (!g) return;
    for (int k = 16; k <= 256; k += 240) {
        qc_quant_config cfg;
        qc_quant_config_default(&cfg);
        cfg.scheme = QC_QS_KMEANS;
        cfg.centroids = k;
        qc_quant_report rep;
        qc_graph *q = quantize(g, NULL, &cfg, &rep);
        int32_t wi = qc_graph_find_value(g, "w");
        int32_t ci = q ? qc_graph_find_value(q, "w_codebook") : -1;
        int32_t ii = q ? qc_graph_find_value(q, "w_indices") : -1;
        CHECK(ci >= 0 && ii >= 0);
        if (ci >= 0 && ii >= 0) {
            const float *cb = q->values[ci].data, *w = g->values[wi].data;
            const qc_value *iv = &q->values[ii];
            CHECK(iv->type.dtype == (k == 16 ? QC_U4 : QC_U8));
            double sum[256] = {0};
            int64_t cnt[256] = {0}, n = qc_type_numel(&iv->type), far = 0;
            for (int j = 1; j < k; j++) CHECK(cb[j - 1] <= cb[j]);
            for (int64_t i = 0; i < n; i++) {
                int64_t a = qc_elem_get_i64(iv->type.dtype, iv->data, i);
                for (int j = 0; j < k; j++)
                    if (fabsf(w[i] - cb[j]) < fabsf(w[i] - cb[a]) - 1e-6f) far++;
                sum[a] += w[i];
                cnt[a]++;
            }
            CHECK_MSG(far == 0, "k=%d: %lld indices not nearest", k, (long long)far);
            for (int j = 0; j < k; j++)
                if (cnt[j]) CHECK(fabs(sum[j] / (double)cnt[j] - cb[j]) < 1e-5);
        }
        qc_quant_report_free(&rep);
        qc_graph_destroy(q);
    }
    qc_graph_destroy(g);
}

/* The int8 graph is in the layout qdq_fold expects (ORT's): after folding,
 * both convolutions are integer ops and the accuracy budget still holds. */
static void test_fold(void) {
    qc_graph *g = load(DIGITS "model.onnx");
    qc_tensor cx = npy(DIGITS "calib_x.npy"), tx = npy(DIGITS "test_x.npy"),
              ty = npy(DIGITS "test_y.npy");
    qc_calib *c = g && cx.data ? calibrate(g, &cx) : NULL;
    CHECK(c && tx.data && ty.data);
    if (c && tx.data && ty.data) {
        qc_quant_config cfg;
        qc_quant_config_default(&cfg);
        qc_quant_report rep;
        qc_graph *q = quantize(g, c, &cfg, &rep);
        if (q) {
            CHECK_OK(qc_pass_run_pipeline(q, "qdq_fold"));
            int convs = 0;
            for (int32_t i = 0; i < q->n_nodes; i++) {
                CHECK(q->nodes[i].op != QC_OP_CONV);
                convs += !strcmp(qc_op_get_info(q->nodes[i].op)->name, "qc.QConv");
            }
            double acc = 0.0;
            CHECK_OK(qc_quant_accuracy(q, &tx, &ty, &acc));
            printf("digits int8 after qdq_fold: %d integer convs, acc %.4f\n", convs, acc);
            CHECK(convs == 2);
            CHECK(100.0 * (FP32_ACC - acc) <= 0.3 + 1e-9);
        }
        qc_quant_report_free(&rep);
        qc_graph_destroy(q);
    }
    qc_calib_destroy(c);
    qc_graph_destroy(g);
    qc_tensor_release(&cx);
    qc_tensor_release(&tx);
    qc_tensor_release(&ty);
}

/* The per-node API the mixed-precision helper drives: one node int8, one
 * int4-weight, the rest float; and a calibrated scheme without calibration
 * is an error naming the node, not a crash. */
static void test_node_scheme(void) {
    qc_graph *g = load(DIGITS "model.onnx");
    qc_tensor cx = npy(DIGITS "calib_x.npy");
    qc_calib *c = g && cx.data ? calibrate(g, &cx) : NULL;
    CHECK(c != NULL);
    if (c) {
        qc_qscheme *per = calloc((size_t)g->n_nodes, sizeof *per);
        for (int32_t i = 0; per && i < g->n_nodes; i++) {
            if (g->nodes[i].op == QC_OP_CONV && i == 0) per[i] = QC_QS_INT8;   /* the first conv */
            if (g->nodes[i].op == QC_OP_GEMM) per[i] = QC_QS_INT4_WEIGHT;
        }
        qc_quant_config cfg;
        qc_quant_config_default(&cfg);
        cfg.node_scheme = per;
        qc_quant_report rep;
        qc_graph *q = quantize(g, c, &cfg, &rep);
        CHECK(q && rep.n_layers == 2);
        if (q && rep.n_layers == 2) {
            CHECK(rep.layers[0].scheme == QC_QS_INT8 && rep.layers[0].op == QC_OP_CONV);
            CHECK(rep.layers[1].scheme == QC_QS_INT4_WEIGHT && rep.layers[1].op == QC_OP_GEMM);
            double err = NAN;
            CHECK_OK(qc_quant_output_error(g, q, &cx, 1, &err));
            CHECK(err < 0.3);
        }
        qc_quant_report_free(&rep);
        qc_graph_destroy(q);
        cfg.scheme = QC_QS_INT8_WEIGHT;   /* needs no calibration, but node 0 is int8 */
        q = NULL;
        qc_status st = qc_quantize_graph(g, NULL, &cfg, &q, &rep);
        CHECK(st && q == NULL && strstr(qc_status_message(st), "needs calibration"));
        qc_status_free(st);
        free(per);
    }
    qc_calib_destroy(c);
    qc_graph_destroy(g);
    qc_tensor_release(&cx);
}

int main(void) {
    test_digits();
    test_models();
    test_passthrough();
    test_expected();
    test_kmeans();
    test_fold();
    test_node_scheme();
    return qc_test_summary("test_quantize");
}
