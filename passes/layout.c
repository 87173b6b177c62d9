/* layout.c — the per-target weight layout hooks (passes/layout.h). */
#include <string.h>

#include "passes/layout.h"
#include "passes/pass.h"

/* Only the ref backend exists in this build; its kernels read the standard
 * layouts, so its hook is the identity. Other backends add entries here. */
static const qc_layout_hook qc_layout_hooks[] = {
    {"ref", NULL},
};

const qc_layout_hook *qc_layout_find(const char *target) {
    for (size_t i = 0; i < sizeof qc_layout_hooks / sizeof qc_layout_hooks[0]; i++)
        if (strcmp(qc_layout_hooks[i].target, target) == 0) return &qc_layout_hooks[i];
    return NULL;
}

qc_status qc_layout_run(qc_graph *g, const char *target) {
    const qc_layout_hook *h = qc_layout_find(target);
    if (!h) return qc_error(QC_ERR_NOT_FOUND, "layout: no layout hook for target '%s'", target);
    if (!h->pack_node) return NULL;
    /* Hooks only add constants, never nodes, so the node count is stable. */
    for (int32_t n = 0; n < g->n_nodes; n++) {
        qc_status st = h->pack_node(g, n);
        if (st) return st;
    }
    return qc_graph_verify(g);
}

/* The "layout" pass in a pipeline: the pass signature has no target, so it
 * runs the ref hook (the compile driver calls qc_layout_run for others). */
qc_status qc_pass_layout(qc_graph *g) { return qc_layout_run(g, "ref"); }
