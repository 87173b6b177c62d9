/* test_passes.c — the pass manager and dead-code elimination. */
#include <string.h>

#include "ir/ir.h"
#include "passes/pass.h"
#include "qc_test.h"

/* x -> Relu -> a (output); x -> Sigmoid -> dead1 -> Relu -> dead2; const c unused */
static qc_graph *build(void) {
    qc_graph *g = NULL;
    qc_type t = {.dtype = QC_F32, .rank = 2, .dims = {2, 3}};
    int32_t x, a, d1, d2, c;
    float cdata[6] = {1, 2, 3, 4, 5, 6};
    CHECK_OK(qc_graph_create("dce", &g));
    CHECK_OK(qc_graph_add_value(g, "x", &t, &x));
    CHECK_OK(qc_graph_add_input(g, x));
    CHECK_OK(qc_graph_add_const(g, "c", &t, cdata, sizeof cdata, &c));
    CHECK_OK(qc_graph_add_value(g, "dead1", &t, &d1));
    CHECK_OK(qc_graph_add_value(g, "a", &t, &a));
    CHECK_OK(qc_graph_add_value(g, "dead2", &t, &d2));
    CHECK_OK(qc_graph_add_node(g, QC_OP_SIGMOID, "s", &x, 1, &d1, 1, NULL));
    CHECK_OK(qc_graph_add_node(g, QC_OP_RELU, "r", &x, 1, &a, 1, NULL));
    CHECK_OK(qc_graph_add_node(g, QC_OP_RELU, "r2", &d1, 1, &d2, 1, NULL));
    CHECK_OK(qc_graph_add_output(g, a));
    return g;
}

int main(void) {
    qc_graph *g = build();
    CHECK_OK(qc_pass_run_pipeline(g, "verify,dce,verify"));
    CHECK(g->n_nodes == 1);
    CHECK(g->n_values == 2);
    CHECK(g->n_nodes == 1 && strcmp(g->nodes[0].name, "r") == 0);
    CHECK(qc_graph_find_value(g, "a") >= 0 && qc_graph_find_value(g, "dead1") < 0);
    CHECK(qc_graph_find_value(g, "c") < 0 && qc_graph_find_value(g, "x") == g->inputs[0]);
    CHECK(g->values[g->outputs[0]].producer == 0);

    qc_status st = qc_pass_run_pipeline(g, "verify,nosuchpass");
    CHECK(st && strstr(qc_status_message(st), "unknown pass 'nosuchpass'"));
    qc_status_free(st);
    st = qc_pass_run_pipeline(g, "verify,,dce");
    CHECK(st && qc_status_code(st) == QC_ERR_INVALID);
    qc_status_free(st);
    qc_graph_destroy(g);
    return qc_test_summary("passes");
}
