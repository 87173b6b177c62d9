/* quant_guard.c — the int8-vs-fp32 guard (see quant_guard.h): a per-layer
 * time estimate for the integer and the float kernel on the target, and the
 * decision, its report and its qc.precision attribute. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ir/json_out.h"
#include "passes/quant_build.h"
#include "passes/quant_guard.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define QC_GUARD_X86 1
#endif

/* ---- the rate table -------------------------------------------------------------
 * Every number and where it comes from. All cpu figures are single thread on
 * the project's reference host (AMD EPYC Zen 5 "znver5" under KVM, nominal
 * 2596 MHz from /proc/cpuinfo). They are a MODEL: measured kernel times per
 * op, shape and precision (qcomp bench / build/tests/qgemm_bench) replace
 * them when available; only the int/float ratio per layer matters.
 *
 * int8 GEMM GOPS (static int8, qc.QGemm family): measured, docs/backend-cpu.md
 *   "int8 kernels" / Measured, shape 1000x200x128 (the lower of the two
 *   shapes): avx512vnni 855, avxvnni 393, avx2 143, sse2 54.
 * int8 conv GOPS (qc.QConv, im2col-gather bound): measured 3x3 64->64 56x56:
 *   avx512vnni 323, avx2 113; avxvnni and sse2 not measured, scaled from
 *   their GEMM rate by the measured conv/GEMM ratio of the nearest variant
 *   (393 x 323/855 = 148; 54 x 113/143 = 43).
 * int8 1x1 conv GOPS: without AVX-512 VNNI a 1x1 layer runs the im2col GEMM
 *   (gen_qpw.c's pointwise kernel is avx512vnni), whose gather is a plain
 *   transpose there: measured on an avx2-only EPYC (qcomp bench --threads 1)
 *   1x1 64->64 56x56 ~51 GOPS vs 110 for the 3x3 layer, ratio 0.46, applied
 *   to the conv rates: avx2 52, avxvnni 68, sse2 20; avx512vnni keeps its
 *   conv rate (the pointwise kernel is faster than im2col).
 * fp32 GFLOPS: peak from the FMA width at the nominal clock, 2 vector FMA
 *   units x lanes x 2 flops x 2.596 GHz: avx512 (16 lanes) 166, avx2 /
 *   avxvnni (8 lanes, fma) 83, sse2 (4 lanes, no FMA: mul and add on two
 *   ports) 41.5. Peak, not measured: the float kernels reach less, so this
 *   errs towards keeping float (the safe side of "never slower").
 * int8-dynamic on cpu, GEMM layers: DynamicQuantizeLinear and MatMulInteger
 *   with a runtime zero point are generated (backends/cpu/gen_dynq.c): the
 *   GEMM runs at the static rate (measured: seed FNN layer 1, 59 us for
 *   51.2 MOPs on one core = 868 GOPS vs 67 us static); its i32 output is then
 *   read twice more (Cast, rescale: 8 + 7.7 us for 128k elements), so the
 *   dequantize side is charged 2 passes. Dynamic convolutions (ConvInteger
 *   with a runtime zero point) and 16x8 (i16 activations) still run on the
 *   ref kernels inside the cpu device: 2.4 GOPS (seed FNN int8-dynamic was
 *   30 ms for 73 MOPs on ref kernels, docs/benchmarks.md).
 * fp32 convolutions on cpu: generated (backends/cpu/gen_fconv.c) and charged
 *   the fp32 peak above like the float GEMMs. Measured single thread on an
 *   avx2-only AMD EPYC (2026-12-03, qcomp bench --threads 1, batch 1):
 *   3x3 64->64 56x56 32.7 GFLOPS, 1x1 64->64 56x56 74.6, 3x3 depthwise 128
 *   28x28 6.8 — below the peak, so again the float side is favoured.
 * Q/DQ elements per ns: avx512 9.7, measured (docs/benchmarks.md seed FNN
 *   per-node profile: QuantizeLinear of 1000x200 f32 in 10.3 us on 2
 *   threads); avx2 / avxvnni 4.85 (half the lanes); sse2 1.5 (a quarter of
 *   the lanes, and x 5/8 for the |x| + 2^23 rounding trick the baseline needs
 *   instead of roundeven). Dequantize is charged at the same rate.
 * Dispatch per extra kernel (the Q before and DQ after an integer layer):
 *   cpu 0.1 us (same profile: the DequantizeLinear of 8 values, 0.1 us);
 *   cuda 2 us and vulkan 5 us, typical launch + barrier latency, NOT measured.
 * Weight bytes over memory bandwidth, and cuda / vulkan compute rates: the
 *   mixed-precision table (passes/mixed.c, qc_mixed_rates), shared. */
typedef struct isa_rates {
    const char *name;
    qc_mixed_target target;
    double gemm_gops, conv_gops;   /* static int8; 0 = from the mixed table */
    double pw_gops;                /* static int8 1x1 conv */
    double fp_gflops;              /* 0 = from the mixed table */
    double qdq_per_ns;             /* 0 = memory-bound: 5 bytes per element at the table's bandwidth */
    double dispatch_ns;
} isa_rates;

static const isa_rates isas[QC_GUARD_ISA_COUNT] = {
    [QC_GUARD_SSE2] = {"sse2", QC_MIXED_CPU, 54.0, 43.0, 20.0, 41.5, 1.5, 100.0},
    [QC_GUARD_AVX2] = {"avx2", QC_MIXED_CPU, 143.0, 113.0, 52.0, 83.0, 4.85, 100.0},
    [QC_GUARD_AVXVNNI] = {"avxvnni", QC_MIXED_CPU, 393.0, 148.0, 68.0, 83.0, 4.85, 100.0},
    [QC_GUARD_AVX512VNNI] = {"avx512vnni", QC_MIXED_CPU, 855.0, 323.0, 323.0, 166.0, 9.7, 100.0},
    [QC_GUARD_CUDA] = {"cuda", QC_MIXED_CUDA, 0.0, 0.0, 0.0, 0.0, 0.0, 2000.0},
    [QC_GUARD_VULKAN] = {"vulkan", QC_MIXED_VULKAN, 0.0, 0.0, 0.0, 0.0, 0.0, 5000.0},
};
#define CPU_REF_GOPS 2.4   /* 16x8, dynamic conv on cpu: ref kernels (see above) */

const char *qc_guard_isa_name(qc_guard_isa i) {
    return (unsigned)i < QC_GUARD_ISA_COUNT ? isas[i].name : "?";
}

bool qc_guard_isa_parse(const char *s, qc_guard_isa *out) {
    for (int i = 0; i < QC_GUARD_ISA_COUNT; i++)
        if (!strcmp(s, isas[i].name)) {
            *out = (qc_guard_isa)i;
            return true;
        }
    return false;
}

#ifdef QC_GUARD_X86
static uint64_t xgetbv0(void) {
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return (uint64_t)hi << 32 | lo;
}
#endif

/* The same bits backends/cpu/hal_features.c reads (passes/ may not include
 * backends/), reduced to the variant the int8 generators would pick. */
qc_guard_isa qc_guard_host_isa(void) {
#ifdef QC_GUARD_X86
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return QC_GUARD_SSE2;
    uint64_t xcr0 = (c >> 27 & 1) ? xgetbv0() : 0;     /* OSXSAVE */
    bool os_avx = (xcr0 & 0x6) == 0x6;                 /* XMM + YMM */
    bool os_avx512 = os_avx && (xcr0 & 0xe0) == 0xe0;  /* opmask, ZMM state */
    if (__get_cpuid_max(0, NULL) < 7) return QC_GUARD_SSE2;
    __cpuid_count(7, 0, a, b, c, d);
    bool avx2 = os_avx && (b >> 5 & 1);
    bool vnni512 = os_avx512 && (b >> 16 & 1) && (b >> 30 & 1) && (c >> 11 & 1);   /* f, bw, vnni */
    bool vl = os_avx512 && (b >> 31 & 1) && (c >> 11 & 1);   /* avx512vl + avx512vnni */
    bool avxvnni = false;
    if (a >= 1) {
        __cpuid_count(7, 1, a, b, c, d);
        avxvnni = os_avx && (a >> 4 & 1);
    }
    if (vnni512) return QC_GUARD_AVX512VNNI;
    if (avxvnni || vl) return QC_GUARD_AVXVNNI;   /* vl: avx512 vnni on ymm without bw */
    if (avx2) return QC_GUARD_AVX2;
#endif
    return QC_GUARD_SSE2;
}

qc_guard_isa qc_guard_isa_for_target(qc_mixed_target t) {
    return t == QC_MIXED_CUDA ? QC_GUARD_CUDA : t == QC_MIXED_VULKAN ? QC_GUARD_VULKAN
                                                                      : qc_guard_host_isa();
}

bool qc_guard_applies(qc_qscheme s) {
    return s == QC_QS_INT8 || s == QC_QS_INT8_DYNAMIC || s == QC_QS_16X8;
}

int64_t qc_layer_macs(const qc_graph *g, const qc_node *n, int32_t ch) {
    const qc_type *o = &g->values[n->out[0]].type, *w = &g->values[n->in[1]].type;
    int64_t on = 1, wn = 1;
    for (int32_t d = 0; d < o->rank; d++) on *= o->dims[d] > 0 ? o->dims[d] : 1;
    for (int32_t d = 0; d < w->rank; d++) wn *= w->dims[d];
    return w->dims[ch] > 0 ? on * (wn / w->dims[ch]) : 0;
}

static int64_t numel_b(const qc_type *t, int64_t batch) {   /* symbolic dims = batch */
    int64_t n = 1;
    for (int32_t d = 0; d < t->rank; d++) n *= t->dims[d] > 0 ? t->dims[d] : batch;
    return n;
}

/* ---- the estimate ----------------------------------------------------------------
 * Per call with the symbolic batch dim bound to `batch`, in ns:
 *   float = max(2 MACs / fp rate, 4 bytes x weights / bandwidth)
 *   int   = max(2 MACs / int rate, 1 byte x weights / bandwidth)
 *         + [input elements x passes / Q/DQ rate + dispatch]     (the Q before)
 *         + [output elements / Q/DQ rate + dispatch]              (the DQ after)
 * passes = 1 (static: quantize), 2 (dynamic: the min/max reduction, then
 * quantize). Static int8 only: a bracket is not paid where the neighbour on
 * that side is an integer layer too (directly or through Relu), because
 * qdq_fold + fuse remove the DQ -> Q pair between them (the seed FNN's int8
 * chain runs one quantize and one dequantize in all). */
typedef struct lcost {
    double k_int, k_fp;     /* the kernels alone */
    double q_in, dq_out;    /* the brackets */
    int32_t src;            /* layer feeding input 0 (through Relu), -1 */
    bool out_ext;           /* output 0 reaches something other than a layer */
} lcost;

/* A 1x1 convolution (every spatial dim of the filter 1). */
static bool pointwise(const qc_graph *g, const qc_node *n) {
    const qc_type *w = &g->values[n->in[1]].type;
    bool one = w->rank >= 3;
    for (int32_t d = 2; d < w->rank; d++) one = one && w->dims[d] == 1;
    return one;
}

static void estimate(const qc_graph *g, const qc_node *n, int64_t macs, int64_t batch,
                     qc_qscheme s, qc_guard_isa isa, lcost *c) {
    const isa_rates *r = &isas[isa];
    double npb, npm_fp, npm_int;
    qc_mixed_rates(r->target, QC_QS_NONE, &npb, &npm_fp);
    qc_mixed_rates(r->target, s, &npb, &npm_int);
    double fp_flops = r->fp_gflops > 0.0 ? r->fp_gflops : 2.0 / npm_fp;   /* per ns */
    double int_ops = 2.0 / npm_int;
    if (r->target == QC_MIXED_CPU)
        int_ops = n->op == QC_OP_CONV ? (s == QC_QS_INT8 ? (pointwise(g, n) ? r->pw_gops : r->conv_gops)
                                                         : CPU_REF_GOPS)
                  : s == QC_QS_INT8 || s == QC_QS_INT8_DYNAMIC ? r->gemm_gops : CPU_REF_GOPS;
    double qdq = r->qdq_per_ns > 0.0 ? r->qdq_per_ns : 1.0 / (5.0 * npb);
    const qc_type *yt = &g->values[n->out[0]].type;
    double w = (double)numel_b(&g->values[n->in[1]].type, 1);
    double x = (double)numel_b(&g->values[n->in[0]].type, batch);
    double y = (double)numel_b(yt, batch);
    double m2 = 2.0 * (double)macs * ((double)numel_b(yt, batch) / (double)numel_b(yt, 1));
    c->k_fp = fmax(m2 / fp_flops, 4.0 * w * npb);
    c->k_int = fmax(m2 / int_ops, w * npb);
    c->q_in = x * (s == QC_QS_INT8_DYNAMIC ? 2.0 : 1.0) / qdq + r->dispatch_ns;
    /* Dynamic: the i32 accumulator is read by a Cast and by the rescale. */
    c->dq_out = y * (s == QC_QS_INT8_DYNAMIC ? 2.0 : 1.0) / qdq + r->dispatch_ns;
}

static bool transparent(qc_op op) { return op == QC_OP_RELU; }

/* The layer (index into r->layers via lid[]) whose output reaches value v
 * through Relu only, or -1. */
static int32_t source_layer(const qc_graph *g, const int32_t *prod, const int32_t *lid, int32_t v) {
    for (int32_t hops = 0; v >= 0 && hops < g->n_nodes; hops++) {
        int32_t p = prod[v];
        if (p < 0) return -1;
        if (lid[p] >= 0) return lid[p];
        if (!transparent(g->nodes[p].op)) return -1;
        v = g->nodes[p].in[0];
    }
    return -1;
}

/* True when value v is used by anything but layers (through Relu): a graph
 * output, or another op. */
static bool reaches_outside(const qc_graph *g, const int32_t *lid, int32_t v, int32_t depth) {
    for (int32_t i = 0; i < g->n_outputs; i++)
        if (g->outputs[i] == v) return true;
    for (int32_t ni = 0; ni < g->n_nodes; ni++) {
        const qc_node *n = &g->nodes[ni];
        for (int32_t k = 0; k < n->n_in; k++) {
            if (n->in[k] != v) continue;
            if (lid[ni] >= 0 && k == 0) continue;
            if (!transparent(n->op) || depth > 16 || reaches_outside(g, lid, n->out[0], depth + 1))
                return true;
        }
    }
    return false;
}

/* The integer estimate of layer i given the current decisions q[] of the
 * others: the DQ after is saved only when every consumer is an integer
 * layer; the Q before when its source layer is. */
static double int_cost(const qc_guard_result *r, const lcost *c, const bool *q,
                       const int32_t *const *cons, const int32_t *n_cons, int32_t i) {
    double t = c[i].k_int;
    bool share = r->scheme == QC_QS_INT8;
    if (!share || c[i].src < 0 || !q[c[i].src]) t += c[i].q_in;
    bool out_int = share && !c[i].out_ext && n_cons[i] > 0;
    for (int32_t k = 0; out_int && k < n_cons[i]; k++) out_int = q[cons[i][k]];
    if (!out_int) t += c[i].dq_out;
    return t;
}

void qc_guard_result_free(qc_guard_result *r) {
    for (int32_t i = 0; i < r->n_layers; i++) free(r->layers[i].node);
    free(r->layers);
    free(r->node_scheme);
    memset(r, 0, sizeof *r);
}

qc_status qc_guard_decide(const qc_graph *g, qc_qscheme scheme, qc_guard_isa isa, int64_t batch,
                          bool force, qc_guard_result *r) {
    memset(r, 0, sizeof *r);
    r->batch = batch = batch > 0 ? batch : 1;
    r->scheme = scheme;
    r->isa = (unsigned)isa < QC_GUARD_ISA_COUNT ? isa : QC_GUARD_SSE2;
    r->force = force;
    r->n_nodes = g->n_nodes;
    size_t nn = (size_t)g->n_nodes + 1;
    r->node_scheme = malloc(sizeof *r->node_scheme * nn);
    r->layers = calloc(nn, sizeof *r->layers);
    int32_t *lid = malloc(sizeof *lid * nn), *prod = malloc(sizeof *prod * ((size_t)g->n_values + 1));
    int32_t *n_cons = calloc(nn, sizeof *n_cons), **cons = calloc(nn, sizeof *cons);
    lcost *c = calloc(nn, sizeof *c);
    bool *q = calloc(nn, sizeof *q);
    qc_status st = NULL;
    if (!r->node_scheme || !r->layers || !lid || !prod || !n_cons || !cons || !c || !q)
        st = qc_error(QC_ERR_NOMEM, "guard: out of memory");
    for (int32_t v = 0; !st && v < g->n_values; v++) prod[v] = -1;
    for (int32_t ni = 0; !st && ni < g->n_nodes; ni++) {
        const qc_node *n = &g->nodes[ni];
        int32_t ch, k;
        for (int32_t o = 0; o < n->n_out; o++)
            if (n->out[o] >= 0) prod[n->out[o]] = ni;
        r->node_scheme[ni] = scheme;
        lid[ni] = -1;
        if (!qc_guard_applies(scheme) ||
            (n->op != QC_OP_GEMM && n->op != QC_OP_MATMUL && n->op != QC_OP_CONV) ||
            !qc_qb_weight_axes(g, n, &ch, &k))
            continue;
        qc_guard_layer *l = &r->layers[r->n_layers];
        if (!(l->node = strdup(n->name ? n->name : ""))) {
            st = qc_error(QC_ERR_NOMEM, "guard: out of memory");
            break;
        }
        lid[ni] = r->n_layers++;
        l->node_id = ni;
        l->op = n->op;
        l->macs = qc_layer_macs(g, n, ch);
        estimate(g, n, l->macs, batch, scheme, r->isa, &c[lid[ni]]);
    }
    /* neighbours: the source layer of each input, the consumer layers of each output */
    for (int32_t i = 0; !st && i < r->n_layers; i++) {
        const qc_node *n = &g->nodes[r->layers[i].node_id];
        c[i].src = source_layer(g, prod, lid, n->in[0]);
        c[i].out_ext = reaches_outside(g, lid, n->out[0], 0);
        q[i] = true;
    }
    for (int32_t i = 0; !st && i < r->n_layers; i++) {
        int32_t s = c[i].src;
        if (s < 0) continue;
        int32_t *nc = realloc(cons[s], sizeof *nc * (size_t)(n_cons[s] + 1));
        if (!nc) {
            st = qc_error(QC_ERR_NOMEM, "guard: out of memory");
            break;
        }
        cons[s] = nc;
        nc[n_cons[s]++] = i;
    }
    /* From all-integer, turn float every layer not faster given its
     * neighbours until nothing changes (only int -> float moves: it ends).
     * Each layer left integer is then faster than its float version with
     * the brackets it really pays, so the sum is too. */
    for (bool changed = !st && !force; changed;) {
        changed = false;
        for (int32_t i = 0; i < r->n_layers; i++)
            if (q[i] && int_cost(r, c, q, (const int32_t *const *)cons, n_cons, i) >= c[i].k_fp) {
                q[i] = false;
                changed = true;
            }
    }
    for (int32_t i = 0; !st && i < r->n_layers; i++) {
        qc_guard_layer *l = &r->layers[i];
        bool was = q[i];
        q[i] = true;   /* the estimate of this layer as integer, the others as decided */
        l->int_us = int_cost(r, c, q, (const int32_t *const *)cons, n_cons, i) / 1000.0;
        q[i] = was;
        l->fp_us = c[i].k_fp / 1000.0;
        bool faster = l->int_us < l->fp_us;
        l->quantize = q[i];
        l->forced = force && !faster;
        if (!l->quantize) {
            r->node_scheme[l->node_id] = QC_QS_NONE;
            r->kept_float++;
        }
    }
    for (int32_t i = 0; cons && i < (int32_t)nn; i++) free(cons[i]);
    free(cons);
    free(n_cons);
    free(lid);
    free(prod);
    free(c);
    free(q);
    if (st) qc_guard_result_free(r);
    return st;
}

void qc_guard_reason(const qc_guard_result *r, const qc_guard_layer *l, char *buf, size_t n) {
    const char *s = qc_qscheme_name(r->scheme), *isa = qc_guard_isa_name(r->isa);
    if (!l->quantize)
        snprintf(buf, n, "kept float: %s est %.3g us >= fp32 %.3g us on %s", s, l->int_us,
                 l->fp_us, isa);
    else if (l->forced)
        snprintf(buf, n, "%s (forced): %s est %.3g us >= fp32 %.3g us on %s", s, s, l->int_us,
                 l->fp_us, isa);
    else
        snprintf(buf, n, "%s: est %.3g us < fp32 %.3g us on %s", s, l->int_us, l->fp_us, isa);
}

void qc_guard_print(const qc_guard_result *r, FILE *f) {
    if (!r->n_layers) return;
    fprintf(f, "int8-vs-fp32 guard (%s on %s, batch %lld%s; estimated time per call):\n",
            qc_qscheme_name(r->scheme), qc_guard_isa_name(r->isa), (long long)r->batch,
            r->force ? ", --force" : "");
    for (int32_t i = 0; i < r->n_layers; i++) {
        char why[192];
        qc_guard_reason(r, &r->layers[i], why, sizeof why);
        fprintf(f, "  %-28s %-8s %s\n", r->layers[i].node, qc_op_get_info(r->layers[i].op)->name,
                why);
    }
    fprintf(f, "guard: %d of %d layers kept float\n", (int)r->kept_float, (int)r->n_layers);
}


void qc_guard_json(const qc_guard_result *r, FILE *f) {
    fprintf(f, "{\"scheme\": \"%s\", \"isa\": \"%s\", \"batch\": %lld, \"force\": %s, "
               "\"kept_float\": %d, \"layers\": [",
            qc_qscheme_name(r->scheme), qc_guard_isa_name(r->isa), (long long)r->batch,
            r->force ? "true" : "false", (int)r->kept_float);
    for (int32_t i = 0; i < r->n_layers; i++) {
        const qc_guard_layer *l = &r->layers[i];
        char why[192];
        qc_guard_reason(r, l, why, sizeof why);
        fputs(i ? ",\n    {\"node\": " : "\n    {\"node\": ", f);
        qc_json_str(f, l->node);
        fprintf(f, ", \"op\": \"%s\", \"macs\": %lld, \"int_us\": %.6g, \"fp32_us\": %.6g, "
                   "\"quantized\": %s, \"forced\": %s, \"reason\": ",
                qc_op_get_info(l->op)->name, (long long)l->macs, l->int_us, l->fp_us,
                l->quantize ? "true" : "false", l->forced ? "true" : "false");
        qc_json_str(f, why);
        fputc('}', f);
    }
    fputs("]}", f);
}

qc_status qc_guard_annotate(const qc_guard_result *r, qc_graph *q) {
    for (int32_t i = 0; i < r->n_layers; i++) {
        const qc_guard_layer *l = &r->layers[i];
        char why[192];
        qc_guard_reason(r, l, why, sizeof why);
        for (int32_t ni = 0; ni < q->n_nodes; ni++) {
            if (!q->nodes[ni].name || strcmp(q->nodes[ni].name, l->node)) continue;
            qc_status st = qc_node_set_string(q, ni, "qc.precision", why);
            if (st) return st;
            break;
        }
    }
    return NULL;
}
