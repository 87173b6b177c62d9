/* test_mixed.c — mixed-precision quantization (passes/mixed.h): the chosen
 * assignment honours the budget as measured here, independently of the
 * driver (top-1 drop on the digits CNN, relative output error on the
 * transformer block and seed FNN); a tighter budget never costs less than a
 * looser one; an unreachable budget fails naming the best value; the budget
 * and candidate syntax. This test FAILS when a budget is exceeded. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/ref/ref.h"
#include "frontend/onnx/onnx.h"
#include "ir/ir.h"
#include "passes/calibrate.h"
#include "passes/mixed.h"
#include "passes/quantize.h"
#include "qc_test.h"
#include "tools/npy.h"

#define DIGITS "tests/models/digits_cnn/"

typedef struct model {
    qc_graph *g;
    qc_tensor x;   /* calibration / evaluation inputs */
    qc_calib *c;
} model;

static bool load(const char *onnx, const char *npy, model *m) {
    memset(m, 0, sizeof *m);
    qc_status st = qc_onnx_import_file(onnx, NULL, &m->g);
    if (!st) st = qc_npy_read(npy, &m->x);
    if (!st) st = qc_calib_create(m->g, &m->c);
    if (!st) st = qc_calib_add_rows(m->c, &m->x, 1, 64);
    if (st) {
        fprintf(stderr, "%s: %s\n", onnx, qc_status_message(st));
        qc_status_free(st);
        return false;
    }
    /* measure on at most 256 rows (as the CLI does), calibrate on all */
    if (m->x.desc.dims[0] > 256) m->x.desc.dims[0] = 256;
    return true;
}

static void unload(model *m) {
    qc_calib_destroy(m->c);
    qc_tensor_release(&m->x);
    qc_graph_destroy(m->g);
}

static void config(qc_mixed_config *mc, const model *m, qc_mixed_metric metric, double budget) {
    memset(mc, 0, sizeof *mc);
    qc_quant_config_default(&mc->base);
    mc->metric = metric;
    mc->budget = budget;
    mc->eval = &m->x;
    mc->n_eval = 1;
}

/* Runs the driver; returns the graph (caller destroys) or NULL. */
static qc_graph *mixed(const model *m, const qc_mixed_config *mc, qc_mixed_result *r) {
    qc_graph *q = NULL;
    qc_quant_report rep;
    qc_status st = qc_mixed_quantize(m->g, m->c, mc, &q, &rep, r);
    if (st) {
        fprintf(stderr, "mixed: %s\n", qc_status_message(st));
        qc_status_free(st);
        return NULL;
    }
    qc_quant_report_free(&rep);
    return q;
}

static void print_choice(const char *what, const qc_mixed_result *r) {
    printf("%s:", what);
    for (int32_t i = 0; i < r->n_layers; i++)
        printf(" %s=%s", r->layers[i].node,
               qc_qscheme_name(r->layers[i].cand[r->layers[i].chosen].scheme));
    printf(" cost %.4g (float %.4g), measured %.4g, %d evaluations\n", r->cost_after,
           r->cost_float, r->achieved, (int)r->evaluations);
}

/* Every layer's chosen scheme is the one set for its node, and the
 * candidates are sorted by cost. */
static void check_consistent(const qc_mixed_result *r) {
    for (int32_t i = 0; i < r->n_layers; i++) {
        const qc_mixed_layer *l = &r->layers[i];
        CHECK(l->chosen >= 0 && l->chosen < l->n_cand);
        CHECK(r->node_scheme[l->node_id] == l->cand[l->chosen].scheme);
        for (int32_t c = 1; c < l->n_cand; c++) CHECK(l->cand[c - 1].cost <= l->cand[c].cost);
    }
    CHECK(r->cost_cheapest <= r->cost_after + 1e-9);
}

static void test_digits_accuracy(void) {
    model m;
    qc_tensor tx = {{0}, NULL}, ty = {{0}, NULL};
    bool ok = load(DIGITS "model.onnx", DIGITS "calib_x.npy", &m);
    CHECK(ok);
    CHECK_OK(qc_npy_read(DIGITS "test_x.npy", &tx));
    CHECK_OK(qc_npy_read(DIGITS "test_y.npy", &ty));
    if (!ok || !tx.data || !ty.data) goto done;
    double fp = 0.0;
    CHECK_OK(qc_quant_accuracy(m.g, &tx, &ty, &fp));
    static const double budgets[] = {0.3, 0.0};
    for (size_t b = 0; b < sizeof budgets / sizeof budgets[0]; b++) {
        qc_mixed_config mc;
        config(&mc, &m, QC_MIXED_ACC_DROP, budgets[b]);
        mc.val_x = &tx;
        mc.val_y = &ty;
        qc_mixed_result r;
        qc_graph *q = mixed(&m, &mc, &r);
        CHECK(q != NULL);
        if (q) {
            double acc = 0.0;
            CHECK_OK(qc_quant_accuracy(q, &tx, &ty, &acc));
            double drop = 100.0 * (fp - acc);
            char what[64];
            snprintf(what, sizeof what, "digits budget %.1f pp (drop %+.2f pp)", budgets[b], drop);
            print_choice(what, &r);
            CHECK_MSG(drop <= budgets[b] + 1e-9, "digits: drop %.2f pp > budget %.1f pp", drop,
                      budgets[b]);
            CHECK(r.met && fabs(r.achieved - drop) < 1e-9);
            CHECK(r.n_layers == 3);
            CHECK(r.cost_after < r.cost_float);   /* something was quantized */
            check_consistent(&r);
            qc_graph_destroy(q);
        }
        qc_mixed_result_free(&r);
    }
done:
    qc_tensor_release(&tx);
    qc_tensor_release(&ty);
    unload(&m);
}

/* Relative output error of output 0, measured here. */
static double rel_err(const qc_graph *fp, const qc_graph *q, const qc_tensor *x) {
    double e = INFINITY;
    qc_status st = qc_quant_output_error(fp, q, x, 1, &e);
    CHECK_OK(st);
    return e;
}

/* Budgets from loose to tight (the first n_budgets of the list; the last,
 * 0, forces every layer float): each met as measured, cost never falling. */
static void test_rel_budgets(const char *name, const char *onnx, const char *npy, size_t n_budgets) {
    model m;
    if (!load(onnx, npy, &m)) {
        CHECK(false);
        return;
    }
    static const double budgets[] = {0.05, 0.01, 0.003, 0.001, 0.0};
    double prev = -1.0;
    for (size_t b = 0; b < n_budgets && b < sizeof budgets / sizeof budgets[0]; b++) {
        qc_mixed_config mc;
        config(&mc, &m, QC_MIXED_REL_ERR, budgets[b]);
        qc_mixed_result r;
        qc_graph *q = mixed(&m, &mc, &r);
        CHECK(q != NULL);
        if (q) {
            double e = rel_err(m.g, q, &m.x);
            char what[96];
            snprintf(what, sizeof what, "%s budget rel=%g (measured %.3g)", name, budgets[b], e);
            print_choice(what, &r);
            CHECK_MSG(e <= budgets[b] * (1.0 + 1e-9), "%s: rel err %.4g > budget %g", name, e,
                      budgets[b]);
            CHECK(fabs(e - r.achieved) <= 1e-9 * (1.0 + e));
            CHECK_MSG(r.cost_after >= prev - 1e-9, "%s: budget %g costs %.4g < looser %.4g", name,
                      budgets[b], r.cost_after, prev);
            check_consistent(&r);
            prev = r.cost_after;
            qc_graph_destroy(q);
        }
        qc_mixed_result_free(&r);
    }
    unload(&m);
}

static void test_unreachable(void) {
    model m;
    if (!load("tests/models/transformer_block/model.onnx", "tests/models/transformer_block/input_0.npy",
              &m)) {
        CHECK(false);
        return;
    }
    qc_mixed_config mc;
    config(&mc, &m, QC_MIXED_REL_ERR, 1e-6);
    mc.n_candidates = 2;
    mc.candidates[0] = QC_QS_INT4_WEIGHT;
    mc.candidates[1] = QC_QS_INT8;
    qc_graph *q = (qc_graph *)1;
    qc_quant_report rep;
    qc_mixed_result r;
    qc_status st = qc_mixed_quantize(m.g, m.c, &mc, &q, &rep, &r);
    CHECK(st && qc_status_code(st) == QC_ERR_INVALID && q == NULL && !r.met);
    if (st) {
        const char *msg = qc_status_message(st);
        printf("unreachable: %s\n", msg);
        CHECK(strstr(msg, "cannot be met") && strstr(msg, "int4-weight,int8") &&
              strstr(msg, "best assignment measured"));
        CHECK(isfinite(r.best_seen) && r.best_seen > 1e-6);
    }
    qc_status_free(st);
    qc_mixed_result_free(&r);
    /* a top-1 budget without labels, and no evaluation data: errors */
    config(&mc, &m, QC_MIXED_ACC_DROP, 0.5);
    st = qc_mixed_quantize(m.g, m.c, &mc, &q, &rep, &r);
    CHECK(st && strstr(qc_status_message(st), "labeled validation set"));
    qc_status_free(st);
    qc_mixed_result_free(&r);
    config(&mc, &m, QC_MIXED_REL_ERR, 0.5);
    mc.eval = NULL;
    st = qc_mixed_quantize(m.g, m.c, &mc, &q, &rep, &r);
    CHECK(st && strstr(qc_status_message(st), "evaluation inputs"));
    qc_status_free(st);
    qc_mixed_result_free(&r);
    /* static candidates need calibration */
    config(&mc, &m, QC_MIXED_REL_ERR, 0.5);
    st = qc_mixed_quantize(m.g, NULL, &mc, &q, &rep, &r);
    CHECK(st && strstr(qc_status_message(st), "needs calibration data"));
    qc_status_free(st);
    qc_mixed_result_free(&r);
    unload(&m);
}

static void test_syntax(void) {
    qc_mixed_metric mt;
    double b;
    CHECK(qc_mixed_budget_parse("0.5", &mt, &b) && mt == QC_MIXED_ACC_DROP && b == 0.5);
    CHECK(qc_mixed_budget_parse("0", &mt, &b) && mt == QC_MIXED_ACC_DROP && b == 0.0);
    CHECK(qc_mixed_budget_parse("rel=0.01", &mt, &b) && mt == QC_MIXED_REL_ERR && b == 0.01);
    CHECK(qc_mixed_budget_parse("rel=1e-3", &mt, &b) && mt == QC_MIXED_REL_ERR && b == 1e-3);
    static const char *const bad[] = {"", "abc", "-1", "+1", "rel=", "rel=-0.1", "nan", "inf",
                                      "101", "0.5pp", " 0.5", "rel=x", "REL=0.1", "1e999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_MSG(!qc_mixed_budget_parse(bad[i], &mt, &b), "budget '%s' accepted", bad[i]);
    CHECK(!qc_mixed_budget_parse(NULL, &mt, &b));
    qc_qscheme c[QC_MIXED_MAX_CAND];
    int32_t n;
    CHECK(qc_mixed_candidates_parse("int8,none", c, &n) && n == 2 && c[0] == QC_QS_INT8 &&
          c[1] == QC_QS_NONE);
    CHECK(qc_mixed_candidates_parse("int4-weight,16x8,fp8-e4m3,float", c, &n) && n == 4);
    static const char *const badc[] = {"", "fp16", "bf16", "int8,int8", "int8,,none", "int9",
                                       "int8,", ",int8", "none,float",
                                       "int8,int8-dynamic,int8-weight,int4-weight,fp8-e4m3,"
                                       "fp8-e5m2,16x8,kmeans,none"};
    for (size_t i = 0; i < sizeof badc / sizeof badc[0]; i++)
        CHECK_MSG(!qc_mixed_candidates_parse(badc[i], c, &n), "candidates '%s' accepted", badc[i]);
    qc_mixed_target t;
    CHECK(qc_mixed_target_parse("cuda", &t) && t == QC_MIXED_CUDA);
    CHECK(!qc_mixed_target_parse("tpu", &t));
    CHECK(qc_mixed_default_candidates(c) == 5 && c[4] == QC_QS_NONE);
}

int main(void) {
    test_syntax();
    test_digits_accuracy();
    test_rel_budgets("transformer", "tests/models/transformer_block/model.onnx",
                     "tests/models/transformer_block/input_0.npy", 5);
    test_rel_budgets("seed_fnn", "tests/models/seed_fnn/model.onnx", "tests/models/seed_fnn/input_0.npy", 4);
    test_unreachable();
    return qc_test_summary("test_mixed");
}
