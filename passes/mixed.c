/* mixed.c — mixed-precision driver (see mixed.h): per-layer sensitivity,
 * a per-target cost estimate, and a greedy assignment that is measured as a
 * whole after every change, so the result meets the budget as measured and
 * not only as predicted from single-layer numbers. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backends/ref/ref.h"
#include "ir/dtype.h"
#include "ir/json_out.h"
#include "passes/mixed.h"
#include "passes/quant_build.h"
#include "passes/quant_guard.h"

/* ---- cost model ---------------------------------------------------------------
 * Estimated time per sample of one layer = constant bytes x ns_per_byte (the
 * weights must stream from memory at batch 1) + MACs x ns_per_mac / speedup
 * (speedup: the precision's MAC rate relative to f32 on that target).
 *
 * These are placeholder figures for a typical part of each class (cpu: an
 * AVX-512 VNNI desktop core, ~20 GB/s and ~50 f32 GMAC/s; cuda: an
 * H100-class GPU, ~3 TB/s and ~30 f32 TMAC/s; vulkan: a mid-range discrete
 * GPU, ~400 GB/s, ~10 f32 TMAC/s). They will be replaced by measured kernel
 * times (qcomp bench per op, shape and precision) once the cpu, cuda and
 * vulkan kernels exist; only their ratios matter to the choice.
 *
 * Speedups and why: int8 static is VNNI (4 i8 MACs per f32 lane) / int8
 * tensor cores / integer dot product; 16x8 is vpmaddwd on cpu (2x) and has
 * no tensor-core path; fp8 has no cpu or vulkan ALU (dequantized to f32) but
 * fp8 tensor cores on cuda; weight-only schemes dequantize and then run the
 * f32 (cpu, vulkan) or fp16 tensor-core (cuda) kernel; int8-dynamic pays for
 * quantizing activations at run time; kmeans gathers from its codebook. */
static const struct {
    const char *name;
    double ns_per_byte, ns_per_mac;
    double speedup[QC_QS_COUNT];
} targets[QC_MIXED_TARGET_COUNT] = {
    [QC_MIXED_CPU] = {"cpu", 0.05, 0.02,
                      {[QC_QS_NONE] = 1.0, [QC_QS_INT8] = 4.0, [QC_QS_INT8_DYNAMIC] = 3.5,
                       [QC_QS_INT8_WEIGHT] = 0.9, [QC_QS_INT4_WEIGHT] = 0.85, [QC_QS_FP16] = 1.0,
                       [QC_QS_BF16] = 1.0, [QC_QS_FP8_E4M3] = 0.9, [QC_QS_FP8_E5M2] = 0.9,
                       [QC_QS_16X8] = 2.0, [QC_QS_KMEANS] = 0.8}},
    [QC_MIXED_CUDA] = {"cuda", 0.00033, 0.000033,
                       {[QC_QS_NONE] = 1.0, [QC_QS_INT8] = 16.0, [QC_QS_INT8_DYNAMIC] = 14.0,
                        [QC_QS_INT8_WEIGHT] = 8.0, [QC_QS_INT4_WEIGHT] = 8.0, [QC_QS_FP16] = 8.0,
                        [QC_QS_BF16] = 8.0, [QC_QS_FP8_E4M3] = 16.0, [QC_QS_FP8_E5M2] = 16.0,
                        [QC_QS_16X8] = 1.0, [QC_QS_KMEANS] = 4.0}},
    [QC_MIXED_VULKAN] = {"vulkan", 0.0025, 0.0001,
                         {[QC_QS_NONE] = 1.0, [QC_QS_INT8] = 2.0, [QC_QS_INT8_DYNAMIC] = 1.8,
                          [QC_QS_INT8_WEIGHT] = 0.9, [QC_QS_INT4_WEIGHT] = 0.85, [QC_QS_FP16] = 2.0,
                          [QC_QS_BF16] = 1.0, [QC_QS_FP8_E4M3] = 0.9, [QC_QS_FP8_E5M2] = 0.9,
                          [QC_QS_16X8] = 1.0, [QC_QS_KMEANS] = 0.8}},
};

static double est_cost(qc_mixed_target t, qc_qscheme s, int64_t bytes, int64_t macs) {
    return (double)bytes * targets[t].ns_per_byte + (double)macs * targets[t].ns_per_mac /
                                                        targets[t].speedup[s];
}

void qc_mixed_rates(qc_mixed_target t, qc_qscheme s, double *ns_per_byte, double *ns_per_mac) {
    if ((unsigned)t >= QC_MIXED_TARGET_COUNT) t = QC_MIXED_CPU;
    if ((unsigned)s >= QC_QS_COUNT) s = QC_QS_NONE;
    *ns_per_byte = targets[t].ns_per_byte;
    *ns_per_mac = targets[t].ns_per_mac / targets[t].speedup[s];
}

const char *qc_mixed_target_name(qc_mixed_target t) {
    return (unsigned)t < QC_MIXED_TARGET_COUNT ? targets[t].name : "?";
}

bool qc_mixed_target_parse(const char *s, qc_mixed_target *out) {
    for (int i = 0; i < QC_MIXED_TARGET_COUNT; i++)
        if (!strcmp(s, targets[i].name)) {
            *out = (qc_mixed_target)i;
            return true;
        }
    return false;
}

/* ---- option syntax ------------------------------------------------------------ */

static bool parse_nonneg(const char *s, double *v) {
    char *end;
    if (!*s || *s == ' ' || *s == '+' || *s == '-') return false;
    *v = strtod(s, &end);
    return !*end && isfinite(*v) && *v >= 0.0;
}

bool qc_mixed_budget_parse(const char *s, qc_mixed_metric *metric, double *budget) {
    if (!s) return false;
    if (!strncmp(s, "rel=", 4)) {
        *metric = QC_MIXED_REL_ERR;
        return parse_nonneg(s + 4, budget);
    }
    *metric = QC_MIXED_ACC_DROP;
    return parse_nonneg(s, budget) && *budget <= 100.0;
}

/* Schemes that can be set per node (fp16/bf16 rewrite the whole graph). */
static bool per_node(qc_qscheme s) {
    return s != QC_QS_FP16 && s != QC_QS_BF16 && (unsigned)s < QC_QS_COUNT;
}

bool qc_mixed_candidates_parse(const char *list, qc_qscheme *out, int32_t *n) {
    *n = 0;
    if (!list || !*list) return false;
    const char *p = list;
    for (;;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        char name[32];
        if (!len || len >= sizeof name || *n == QC_MIXED_MAX_CAND) return false;
        memcpy(name, p, len);
        name[len] = 0;
        qc_qscheme s;
        if (!strcmp(name, "none") || !strcmp(name, "float")) s = QC_QS_NONE;
        else if (!qc_qscheme_parse(name, &s) || !per_node(s)) return false;
        for (int32_t i = 0; i < *n; i++)
            if (out[i] == s) return false;
        out[(*n)++] = s;
        if (!e) return true;
        p = e + 1;
    }
}

int32_t qc_mixed_default_candidates(qc_qscheme out[QC_MIXED_MAX_CAND]) {
    static const qc_qscheme ladder[] = {QC_QS_INT4_WEIGHT, QC_QS_INT8, QC_QS_FP8_E4M3, QC_QS_16X8,
                                        QC_QS_NONE};
    int32_t n = (int32_t)(sizeof ladder / sizeof ladder[0]);
    memcpy(out, ladder, sizeof ladder);
    return n;
}

void qc_mixed_result_free(qc_mixed_result *r) {
    for (int32_t i = 0; i < r->n_layers; i++) free(r->layers[i].node);
    free(r->layers);
    free(r->node_scheme);
    memset(r, 0, sizeof *r);
}

/* ---- measuring an assignment ----------------------------------------------------- */

typedef struct mctx {
    const qc_graph *g;
    const qc_calib *calib;
    const qc_mixed_config *cfg;
    qc_quant_config qcfg;   /* cfg->base with node_scheme = r->node_scheme */
    qc_mixed_result *r;
    qc_tensor ref;          /* float output 0 on cfg->eval */
    int64_t bytes_float;    /* constants of the float graph */
} mctx;

static qc_status run_out0(const qc_graph *g, const qc_mixed_config *cfg, qc_tensor *out) {
    qc_tensor outs[16];
    if (g->n_outputs < 1 || g->n_outputs > 16)
        return qc_error(QC_ERR_UNSUPPORTED, "mixed: the model has %d outputs (1..16 supported)",
                        (int)g->n_outputs);
    qc_status st = qc_ref_run(g, cfg->eval, cfg->n_eval, outs, g->n_outputs);
    if (st) return st;
    *out = outs[0];
    for (int32_t i = 1; i < g->n_outputs; i++) qc_tensor_release(&outs[i]);
    return NULL;
}

static double metric_of(const qc_mixed_result *r, double rel, double drop) {
    return r->metric == QC_MIXED_ACC_DROP ? drop : rel;
}

/* Quantizes with the current r->node_scheme and measures it. On success
 * with `keep`, the graph and its report are handed to the caller. */
static qc_status measure(mctx *m, double *rel, double *drop, int64_t *bytes, int32_t *n_layers,
                         qc_graph **keep, qc_quant_report *keep_rep) {
    qc_graph *q = NULL;
    qc_quant_report rep;
    qc_tensor out = {{0}, NULL};
    qc_status st = qc_quantize_graph(m->g, m->calib, &m->qcfg, &q, &rep);
    if (st) return st;
    m->r->evaluations++;
    st = run_out0(q, m->cfg, &out);
    if (!st) {
        int64_t n = 1;
        for (int32_t d = 0; d < out.desc.rank; d++) n *= out.desc.dims[d];
        if (out.desc.rank != m->ref.desc.rank ||
            memcmp(out.desc.dims, m->ref.desc.dims, sizeof(int64_t) * (size_t)out.desc.rank))
            st = qc_error(QC_ERR_INTERNAL, "mixed: the quantized output 0 changed shape");
        double sig = 0.0, err = 0.0;
        for (int64_t i = 0; !st && i < n; i++) {
            double a = qc_elem_get_f64(m->ref.desc.dtype, m->ref.data, i);
            double d = qc_elem_get_f64(out.desc.dtype, out.data, i) - a;
            sig += a * a;
            err += d * d;
        }
        *rel = sig > 0.0 ? sqrt(err / sig) : sqrt(err);
    }
    *drop = NAN;
    if (!st && m->cfg->metric == QC_MIXED_ACC_DROP) {
        double acc = 0.0;
        st = qc_quant_accuracy(q, m->cfg->val_x, m->cfg->val_y, &acc);
        *drop = 100.0 * (m->r->acc_float - acc);
    }
    qc_tensor_release(&out);
    if (!st) {
        *bytes = rep.bytes_after;
        if (n_layers) *n_layers = rep.n_layers;
    }
    if (!st && keep) {
        *keep = q;
        *keep_rep = rep;
        return NULL;
    }
    qc_quant_report_free(&rep);
    qc_graph_destroy(q);
    return st;
}

/* ---- sensitivity ---------------------------------------------------------------- */

/* Constant bytes of the layer's float weight and bias. */
static int64_t float_bytes(const qc_graph *g, const qc_node *n) {
    int64_t b = 0;
    for (int32_t k = 1; k < n->n_in && k < 3; k++)
        if (n->in[k] >= 0 && g->values[n->in[k]].data) b += (int64_t)g->values[n->in[k]].nbytes;
    return b;
}

static int cmp_cand(const void *a, const void *b) {
    const qc_mixed_cand *x = a, *y = b;
    if (x->cost != y->cost) return x->cost < y->cost ? -1 : 1;
    return (x->rel_err > y->rel_err) - (x->rel_err < y->rel_err);
}

static qc_status find_layers(mctx *m) {
    const qc_graph *g = m->g;
    qc_mixed_result *r = m->r;
    r->layers = calloc((size_t)g->n_nodes + 1, sizeof *r->layers);
    if (!r->layers) return qc_error(QC_ERR_NOMEM, "mixed: out of memory");
    for (int32_t ni = 0; ni < g->n_nodes; ni++) {
        const qc_node *n = &g->nodes[ni];
        int32_t ch, k;
        if ((n->op != QC_OP_GEMM && n->op != QC_OP_MATMUL && n->op != QC_OP_CONV) ||
            !qc_qb_weight_axes(g, n, &ch, &k))
            continue;
        qc_mixed_layer *l = &r->layers[r->n_layers++];
        l->node = strdup(n->name);
        if (!l->node) return qc_error(QC_ERR_NOMEM, "mixed: out of memory");
        l->node_id = ni;
        l->op = n->op;
        l->macs = qc_layer_macs(g, n, ch);
    }
    return NULL;
}

/* Quantizes each layer alone with each candidate. A candidate the quantizer
 * leaves float on this layer (e.g. a static scheme whose input was not
 * calibrated) is dropped, so its cost is never credited. */
static qc_status sensitivity(mctx *m, const qc_qscheme *cands, int32_t nc) {
    qc_mixed_result *r = m->r;
    for (int32_t li = 0; li < r->n_layers; li++) {
        qc_mixed_layer *l = &r->layers[li];
        int64_t fb = float_bytes(m->g, &m->g->nodes[l->node_id]);
        for (int32_t c = 0; c < nc; c++) {
            qc_mixed_cand *k = &l->cand[l->n_cand];
            k->scheme = cands[c];
            k->bytes = fb;
            k->rel_err = 0.0;
            k->drop_pp = r->metric == QC_MIXED_ACC_DROP ? 0.0 : NAN;
            if (cands[c] != QC_QS_NONE) {
                int64_t bytes = 0;
                int32_t nl = 0;
                r->node_scheme[l->node_id] = cands[c];
                qc_status st = measure(m, &k->rel_err, &k->drop_pp, &bytes, &nl, NULL, NULL);
                r->node_scheme[l->node_id] = QC_QS_NONE;
                if (st)
                    return qc_status_wrap(st, "mixed: layer '%s' with %s", l->node,
                                          qc_qscheme_name(cands[c]));
                if (nl == 0) continue;
                k->bytes = bytes - m->bytes_float + fb;
            }
            k->cost = est_cost(r->target, k->scheme, k->bytes, l->macs);
            l->n_cand++;
        }
        if (!l->n_cand)
            return qc_error(QC_ERR_INVALID, "mixed: no candidate applies to layer '%s'", l->node);
        qsort(l->cand, (size_t)l->n_cand, sizeof l->cand[0], cmp_cand);
    }
    return NULL;
}

/* ---- the choice ------------------------------------------------------------------ */

static void apply(mctx *m) {
    qc_mixed_result *r = m->r;
    for (int32_t i = 0; i < r->n_nodes; i++) r->node_scheme[i] = QC_QS_NONE;
    for (int32_t li = 0; li < r->n_layers; li++) {
        const qc_mixed_layer *l = &r->layers[li];
        r->node_scheme[l->node_id] = l->cand[l->chosen].scheme;
    }
}

static double total_cost(const qc_mixed_result *r) {
    double c = 0.0;
    for (int32_t li = 0; li < r->n_layers; li++) c += r->layers[li].cand[r->layers[li].chosen].cost;
    return c;
}

/* Measures the current assignment; *ok when it meets the budget. */
static qc_status try_assignment(mctx *m, bool *ok, double *value) {
    double rel, drop;
    int64_t bytes;
    apply(m);
    qc_status st = measure(m, &rel, &drop, &bytes, NULL, NULL, NULL);
    if (st) return st;
    *value = metric_of(m->r, rel, drop);
    if (*value < m->r->best_seen) m->r->best_seen = *value;
    /* 1e-9: accuracy drops are differences of ratios k/n */
    *ok = *value <= m->r->budget + 1e-9;
    return NULL;
}

/* The upgrade with the best metric reduction per extra cost; when no move
 * reduces the metric (top-1 drops are coarse steps), the best output-error
 * reduction per cost. False when no layer can improve. */
static bool best_upgrade(const qc_mixed_result *r, int32_t *layer, int32_t *cand) {
    double best1 = 0.0, best2 = 0.0;
    int32_t l1 = -1, c1 = -1, l2 = -1, c2 = -1;
    for (int32_t li = 0; li < r->n_layers; li++) {
        const qc_mixed_layer *l = &r->layers[li];
        const qc_mixed_cand *cur = &l->cand[l->chosen];
        for (int32_t c = l->chosen + 1; c < l->n_cand; c++) {
            const qc_mixed_cand *k = &l->cand[c];
            double dc = k->cost - cur->cost;
            if (dc <= 0.0) dc = 1e-12;
            double dp = metric_of(r, cur->rel_err, cur->drop_pp) - metric_of(r, k->rel_err, k->drop_pp);
            double ds = cur->rel_err - k->rel_err;
            if (dp > 1e-12 && dp / dc > best1) best1 = dp / dc, l1 = li, c1 = c;
            if (ds > 0.0 && ds / dc > best2) best2 = ds / dc, l2 = li, c2 = c;
        }
    }
    *layer = l1 >= 0 ? l1 : l2;
    *cand = l1 >= 0 ? c1 : c2;
    return *layer >= 0;
}

static qc_status choose(mctx *m) {
    qc_mixed_result *r = m->r;
    bool ok = false;
    double v = INFINITY;
    int32_t max_steps = 1;
    for (int32_t li = 0; li < r->n_layers; li++) max_steps += r->layers[li].n_cand;
    qc_status st = NULL;
    for (int32_t step = 0; !st && step < max_steps; step++) {
        st = try_assignment(m, &ok, &v);
        int32_t l, c;
        if (st || ok || !best_upgrade(r, &l, &c)) break;
        r->layers[l].chosen = c;
    }
    if (st || !ok) return st;
    r->achieved = v;
    /* Downgrade pass: the greedy path may have raised a layer that the
     * later raises made unnecessary; try each layer's cheaper candidates,
     * cheapest first, and keep the first that still meets the budget. */
    for (int32_t li = 0; !st && li < r->n_layers; li++) {
        qc_mixed_layer *l = &r->layers[li];
        int32_t was = l->chosen;
        for (int32_t c = 0; !st && c < was; c++) {
            l->chosen = c;
            st = try_assignment(m, &ok, &v);
            if (!st && ok) {
                r->achieved = v;
                break;
            }
            l->chosen = was;
        }
    }
    r->met = !st;
    return st;
}

static qc_status check_config(const qc_graph *g, const qc_calib *calib, const qc_mixed_config *cfg,
                              const qc_qscheme *cands, int32_t nc) {
    if (!(cfg->budget >= 0.0) || !isfinite(cfg->budget))
        return qc_error(QC_ERR_INVALID, "mixed: the accuracy budget must be a finite number >= 0");
    if ((unsigned)cfg->target >= QC_MIXED_TARGET_COUNT)
        return qc_error(QC_ERR_INVALID, "mixed: unknown cost-model target %d", (int)cfg->target);
    if (!cfg->eval || cfg->n_eval != g->n_inputs)
        return qc_error(QC_ERR_INVALID,
                        "mixed: needs evaluation inputs for each of the model's %d inputs "
                        "(calibration data)", (int)g->n_inputs);
    if (cfg->metric == QC_MIXED_ACC_DROP && (!cfg->val_x || !cfg->val_y))
        return qc_error(QC_ERR_INVALID,
                        "mixed: an accuracy-drop budget needs a labeled validation set");
    for (int32_t i = 0; i < nc; i++) {
        if (!per_node(cands[i]))
            return qc_error(QC_ERR_INVALID, "mixed: %s cannot be chosen per layer",
                            qc_qscheme_name(cands[i]));
        if (!calib && qc_qscheme_needs_calib(cands[i]))
            return qc_error(QC_ERR_INVALID, "mixed: candidate %s needs calibration data",
                            qc_qscheme_name(cands[i]));
    }
    return nc > 0 ? NULL : qc_error(QC_ERR_INVALID, "mixed: no candidate schemes");
}

static void cand_list(const qc_qscheme *c, int32_t n, char *buf, size_t cap) {
    size_t at = 0;
    buf[0] = 0;
    for (int32_t i = 0; i < n && at < cap; i++)
        at += (size_t)snprintf(buf + at, cap - at, "%s%s", i ? "," : "", qc_qscheme_name(c[i]));
}

qc_status qc_mixed_quantize(const qc_graph *g, const qc_calib *calib, const qc_mixed_config *cfg,
                            qc_graph **out, qc_quant_report *rep, qc_mixed_result *r) {
    *out = NULL;
    memset(rep, 0, sizeof *rep);
    memset(r, 0, sizeof *r);
    qc_qscheme cands[QC_MIXED_MAX_CAND];
    int32_t nc = cfg->n_candidates;
    if (nc > QC_MIXED_MAX_CAND) return qc_error(QC_ERR_INVALID, "mixed: too many candidates");
    if (nc > 0) memcpy(cands, cfg->candidates, sizeof cands[0] * (size_t)nc);
    else nc = qc_mixed_default_candidates(cands);
    qc_status st = check_config(g, calib, cfg, cands, nc);
    if (st) return st;
    if (qc_graph_is_quantized(g))
        return qc_error(QC_ERR_INVALID, "mixed: the model is already quantized");
    r->metric = cfg->metric;
    r->target = cfg->target;
    r->budget = cfg->budget;
    r->achieved = r->acc_float = NAN;
    r->best_seen = INFINITY;
    r->n_nodes = g->n_nodes;
    r->node_scheme = calloc((size_t)g->n_nodes + 1, sizeof *r->node_scheme);
    mctx m = {.g = g, .calib = calib, .cfg = cfg, .qcfg = cfg->base, .r = r,
              .bytes_float = qc_graph_const_bytes(g)};
    m.qcfg.scheme = QC_QS_NONE;
    m.qcfg.node_scheme = r->node_scheme;
    st = r->node_scheme ? NULL : qc_error(QC_ERR_NOMEM, "mixed: out of memory");
    if (!st) st = run_out0(g, cfg, &m.ref);
    if (!st) r->eval_rows = cfg->eval[0].desc.rank ? cfg->eval[0].desc.dims[0] : 1;
    if (!st && cfg->metric == QC_MIXED_ACC_DROP)
        st = qc_quant_accuracy(g, cfg->val_x, cfg->val_y, &r->acc_float);
    if (!st) st = find_layers(&m);
    if (!st) st = sensitivity(&m, cands, nc);
    if (!st) {
        r->cost_float = r->cost_cheapest = 0.0;
        for (int32_t li = 0; li < r->n_layers; li++) {
            const qc_mixed_layer *l = &r->layers[li];
            int64_t fb = float_bytes(g, &g->nodes[l->node_id]);
            r->cost_float += est_cost(r->target, QC_QS_NONE, fb, l->macs);
            r->cost_cheapest += l->cand[0].cost;
        }
        st = choose(&m);
    }
    if (!st && !r->met) {
        char list[256];
        cand_list(cands, nc, list, sizeof list);
        st = r->metric == QC_MIXED_ACC_DROP
                 ? qc_error(QC_ERR_INVALID,
                            "mixed: accuracy budget %g pp cannot be met with candidates %s: the "
                            "best assignment measured loses %.2f pp of top-1",
                            r->budget, list, r->best_seen)
                 : qc_error(QC_ERR_INVALID,
                            "mixed: relative-error budget %g cannot be met with candidates %s: "
                            "the best assignment measured has relative error %.3g",
                            r->budget, list, r->best_seen);
    }
    if (!st) {   /* build (and measure once more) the chosen assignment */
        double rel, drop;
        int64_t bytes;
        apply(&m);
        st = measure(&m, &rel, &drop, &bytes, NULL, out, rep);
        if (!st) {
            r->achieved = metric_of(r, rel, drop);
            r->cost_after = total_cost(r);
            if (!(r->achieved <= r->budget + 1e-9))   /* the ref interpreter is deterministic */
                st = qc_error(QC_ERR_INTERNAL, "mixed: the chosen assignment measured %g > %g",
                              r->achieved, r->budget);
        }
    }
    qc_tensor_release(&m.ref);
    if (st && *out) {
        qc_graph_destroy(*out);
        qc_quant_report_free(rep);
        *out = NULL;
    }
    return st;
}

/* ---- report ------------------------------------------------------------------------ */

static void fmt_metric(const qc_mixed_result *r, double v, char *buf, size_t n) {
    if (isnan(v)) snprintf(buf, n, "-");
    else if (r->metric == QC_MIXED_ACC_DROP) snprintf(buf, n, "%+.2f pp", v);
    else snprintf(buf, n, "%.3g", v);
}

void qc_mixed_print(const qc_mixed_result *r, FILE *f) {
    bool acc = r->metric == QC_MIXED_ACC_DROP;
    fprintf(f, "mixed precision (cost model: %s, budget: %s <= %g%s)\n", qc_mixed_target_name(r->target),
            acc ? "top-1 drop" : "output relative L2 error", r->budget, acc ? " pp" : "");
    fprintf(f, "%-28s %-6s %10s %-12s %10s %10s %10s\n", "layer", "op", "MACs", "chosen", "cost ns",
            "rel err", "drop");
    for (int32_t li = 0; li < r->n_layers; li++) {
        const qc_mixed_layer *l = &r->layers[li];
        const qc_mixed_cand *k = &l->cand[l->chosen];
        char dr[32];
        fmt_metric(r, acc ? k->drop_pp : NAN, dr, sizeof dr);
        fprintf(f, "%-28s %-6s %10lld %-12s %10.4g %10.3g %10s\n", l->node,
                qc_op_get_info(l->op)->name, (long long)l->macs,
                k->scheme == QC_QS_NONE ? "float" : qc_qscheme_name(k->scheme), k->cost, k->rel_err, dr);
        fputs("    sensitivity (this layer alone):", f);
        for (int32_t c = 0; c < l->n_cand; c++) {
            const qc_mixed_cand *o = &l->cand[c];
            fprintf(f, " %s %.2g", o->scheme == QC_QS_NONE ? "float" : qc_qscheme_name(o->scheme),
                    o->rel_err);
            if (acc) fprintf(f, "/%+.2fpp", o->drop_pp);
            fprintf(f, " (%.3g ns)%s", o->cost, c + 1 < l->n_cand ? "," : "\n");
        }
    }
    fprintf(f, "estimated cost (ns/sample, %s): float %.4g, cheapest %.4g, chosen %.4g",
            qc_mixed_target_name(r->target), r->cost_float, r->cost_cheapest, r->cost_after);
    if (r->cost_after > 0.0) fprintf(f, " (%.2fx below float)", r->cost_float / r->cost_after);
    char v[32];
    fmt_metric(r, r->achieved, v, sizeof v);
    fprintf(f, "\nmeasured %s: %s (budget %g%s, %s; %d evaluations on %lld rows)\n",
            acc ? "top-1 drop" : "output relative L2 error", v, r->budget, acc ? " pp" : "",
            r->met ? "met" : "NOT met", (int)r->evaluations, (long long)r->eval_rows);
}



static void json_cand(FILE *f, const qc_mixed_cand *k) {
    fprintf(f, "{\"scheme\": \"%s\", \"bytes\": %lld, \"cost\": ",
            k->scheme == QC_QS_NONE ? "float" : qc_qscheme_name(k->scheme), (long long)k->bytes);
    qc_json_num(f, k->cost);
    fputs(", \"rel_err\": ", f);
    qc_json_num(f, k->rel_err);
    fputs(", \"drop_pp\": ", f);
    qc_json_num(f, k->drop_pp);
    fputc('}', f);
}

void qc_mixed_json(const qc_mixed_result *r, FILE *f) {
    fprintf(f, "{\"target\": \"%s\", \"metric\": \"%s\", \"budget\": ", qc_mixed_target_name(r->target),
            r->metric == QC_MIXED_ACC_DROP ? "top1_drop_pp" : "rel_err");
    qc_json_num(f, r->budget);
    fputs(", \"achieved\": ", f);
    qc_json_num(f, r->achieved);
    fprintf(f, ", \"met\": %s, \"cost_float\": ", r->met ? "true" : "false");
    qc_json_num(f, r->cost_float);
    fputs(", \"cost_cheapest\": ", f);
    qc_json_num(f, r->cost_cheapest);
    fputs(", \"cost_after\": ", f);
    qc_json_num(f, r->cost_after);
    fputs(", \"accuracy_float\": ", f);
    qc_json_num(f, r->acc_float);
    fprintf(f, ", \"eval_rows\": %lld, \"evaluations\": %d,\n    \"layers\": [",
            (long long)r->eval_rows, (int)r->evaluations);
    for (int32_t li = 0; li < r->n_layers; li++) {
        const qc_mixed_layer *l = &r->layers[li];
        fputs(li ? ",\n      {\"node\": " : "\n      {\"node\": ", f);
        qc_json_str(f, l->node);
        fprintf(f, ", \"op\": \"%s\", \"macs\": %lld, \"chosen\": ", qc_op_get_info(l->op)->name,
                (long long)l->macs);
        json_cand(f, &l->cand[l->chosen]);
        fputs(", \"candidates\": [", f);
        for (int32_t c = 0; c < l->n_cand; c++) {
            if (c) fputs(", ", f);
            json_cand(f, &l->cand[c]);
        }
        fputs("]}", f);
    }
    fputs("\n    ]}", f);
}
