/* lower_pool.c — shader generator for MaxPool (2-D NCHW; f32, u8, i8; the
 * first output only), AveragePool (2-D NCHW, f32) and GlobalAveragePool
 * (f32, rank >= 3). Anything else falls back to ref with a reason.
 *
 * Numerics (backends/ref/nn_pool.c is the oracle; docs/backend-vulkan.md):
 *   - MaxPool is exact everywhere: the comparison is done on integer keys of
 *     the bit patterns (float: order-preserving key with -0 == +0; i8: the
 *     byte ^ 0x80; u8: the byte), in ref's order: the first valid tap in
 *     row-major order starts the maximum, a later tap replaces it only when
 *     strictly greater, a NaN never replaces and a NaN first tap stays
 *     (ref compares doubles with '>'), so no float compare whose NaN
 *     behaviour the spec leaves open is involved. A window made only of
 *     padding gives the type's lowest value (-inf, 0, -128) as ref.
 *   - AveragePool / GlobalAveragePool: ref sums in double and rounds once.
 *     Vulkan has no guaranteed fp64, so the shaders sum in fp32 with an
 *     error-free TwoSum (Knuth) carried alongside: (s, c) is the sum to
 *     ~2^-48 relative of sum|x|, even under cancellation, then one
 *     OpFAdd and one OpFDiv (2.5 ULP). `precise` keeps every step a single
 *     correctly rounded op (no contraction). A non-finite s (inf or NaN
 *     inputs) makes c meaningless, so s alone is divided then, which gives
 *     ref's inf / NaN. Not covered: finite inputs whose fp32 sum overflows
 *     (|sum| > FLT_MAX; ref's double does not). */
#include <stdlib.h>
#include <string.h>

#include "backends/vulkan/lower.h"
#include "ir/dtype.h"
#include "ops/infer_nn.h"

#define LOCAL_X 64
#define GAP_WG 128   /* GlobalAveragePool: one workgroup per plane */

static void fallback(vk_kernel *k, uint32_t reason) {
    *k = (vk_kernel){.mode = QC_VK_MODE_REF, .reason = reason};
}

/* TwoSum accumulate (glsl_sum.c) and a finiteness test on the bits (the
 * spec lets float NaN / inf tests be optimised away). */
static void sum_glsl(vk_text *t) {
    qc_vk_glsl_twosum(t);
    qc_vk_text_add(t, "%s",
                   "bool finite_bits(float v) { return (floatBitsToUint(v) & 0x7f800000u) != 0x7f800000u; }\n");
}

/* N * C as a + b * batch; only N may be symbolic. */
static bool planes_of(const qc_type *x, int64_t *a, int64_t *b) {
    if (x->rank < 3) return false;
    for (int32_t d = 1; d < x->rank; d++)
        if (x->dims[d] == QC_DIM_SYM || x->dims[d] < 1) return false;
    bool sym = x->dims[0] == QC_DIM_SYM;
    *a = sym ? 0 : x->dims[0] * x->dims[1];
    *b = sym ? x->dims[1] : 0;
    return true;
}

static qc_status gen_window(vk_builder *b, int32_t node) {
    const qc_node *n = &b->g->nodes[node];
    vk_kernel *k = &b->kernels[node];
    bool is_max = n->op == QC_OP_MAX_POOL;
    if (n->n_in < 1 || n->in[0] < 0 || n->n_out < 1 || n->out[0] < 0) return fallback(k, QC_VK_FB_SHAPE), NULL;
    /* MaxPool's Indices output is not generated: ref computes both. */
    if (n->n_out > 1 && n->out[1] >= 0) return fallback(k, QC_VK_FB_SHAPE), NULL;
    const qc_value *X = &b->g->values[n->in[0]], *Y = &b->g->values[n->out[0]];
    qc_dtype dt = X->type.dtype;
    bool ok_dt = dt == QC_F32 || (is_max && (dt == QC_U8 || dt == QC_I8));
    if (!ok_dt || Y->type.dtype != dt) return fallback(k, QC_VK_FB_DTYPE), NULL;
    if (X->data) return fallback(k, QC_VK_FB_CONST_INPUT), NULL;
    int64_t pa, pb;
    if (X->type.rank != 4 || Y->type.rank != 4 || !planes_of(&X->type, &pa, &pb))
        return fallback(k, QC_VK_FB_SHAPE), NULL;
    qc_type xs = X->type;
    if (xs.dims[0] == QC_DIM_SYM) xs.dims[0] = 1;   /* the window does not depend on N */
    qc_nn_window win;
    qc_status ws = qc_nn_window_get(n, &xs, NULL, &win);
    if (ws) {   /* inference accepted the node, so this is a case ref handles and we do not */
        qc_status_free(ws);
        return fallback(k, QC_VK_FB_SHAPE), NULL;
    }
    if (win.nsp != 2 || win.out[0] != Y->type.dims[2] || win.out[1] != Y->type.dims[3] || win.out[0] < 1 ||
        win.out[1] < 1)
        return fallback(k, QC_VK_FB_SHAPE), NULL;
    int64_t kvol = win.kernel[0] * win.kernel[1];
    if (kvol < 1 || kvol > 4096) return fallback(k, QC_VK_FB_SHAPE), NULL;
    int64_t ca, cb;
    if (!qc_vk_count_linear(&Y->type, &ca, &cb) || X->type.dims[2] * X->type.dims[3] * X->type.dims[1] > (1 << 30))
        return fallback(k, QC_VK_FB_SIZE), NULL;
    bool bytes = dt != QC_F32;
    bool include_pad = qc_attr_int(n, "count_include_pad", 0) != 0;
    /* Bytes: four outputs per invocation, one uint32 store each (no 8-bit storage needed). */
    *k = (vk_kernel){.mode = QC_VK_MODE_SHADER, .per_inv = bytes ? 4 : 1, .count_a = ca, .count_b = cb};
    qc_vk_push_linear(k, ca, cb);
    qc_vk_push_value(k, n->in[0]);
    qc_vk_push_value(k, n->out[0]);
    vk_text t = {0};
    qc_vk_glsl_head(&t, false, k->n_push);
    qc_vk_text_add(&t,
                   "const uint H = %lluu, W = %lluu, OH = %lluu, OW = %lluu;\n"
                   "const uint KH = %lluu, KW = %lluu, SH = %lluu, SW = %lluu;\n"
                   "const uint DH = %lluu, DW = %lluu;\n"
                   "const int PH = %lld, PW = %lld, PEH = %lld, PEW = %lld;\n"
                   /* tap (kh, kw) of output (oh, ow): inside the input, at row-major `at` */
                   "bool tap(uint oh, uint ow, uint kh, uint kw, out uint at) {\n"
                   "  int ih = int(oh * SH + kh * DH) - PH, iw = int(ow * SW + kw * DW) - PW;\n"
                   "  at = uint(ih) * W + uint(iw);\n"
                   "  return ih >= 0 && ih < int(H) && iw >= 0 && iw < int(W);\n"
                   "}\n",
                   (unsigned long long)win.in[0], (unsigned long long)win.in[1], (unsigned long long)win.out[0],
                   (unsigned long long)win.out[1], (unsigned long long)win.kernel[0],
                   (unsigned long long)win.kernel[1], (unsigned long long)win.stride[0],
                   (unsigned long long)win.stride[1], (unsigned long long)win.dilation[0],
                   (unsigned long long)win.dilation[1], (long long)win.pad_begin[0], (long long)win.pad_begin[1],
                   (long long)win.pad_end[0], (long long)win.pad_end[1]);
    if (is_max && !bytes) {
        /* key(): order-preserving, -0 and +0 equal; NaN is tested apart. */
        qc_vk_text_add(&t,
                       "uint pool1(uint o) {\n"
                       "  uint p = o / (OH * OW), r = o %% (OH * OW), oh = r / OW, ow = r %% OW;\n"
                       "  uint xb = pc.p[1] / 4u + p * H * W;\n"
                       "  bool have = false, bnan = false;\n"
                       "  uint best = 0xff800000u, bkey = 0u;\n"
                       "  for (uint kh = 0u; kh < KH; kh++)\n"
                       "    for (uint kw = 0u; kw < KW; kw++) {\n"
                       "      uint at;\n"
                       "      if (!tap(oh, ow, kh, kw, at)) continue;\n"
                       "      uint v = arena.w[xb + at];\n"
                       "      uint mag = v & 0x7fffffffu;\n"
                       "      bool vnan = mag > 0x7f800000u;\n"
                       "      uint key = (v >> 31) != 0u ? 0x80000000u - mag : 0x80000000u + mag;\n"
                       "      if (!have || (!bnan && !vnan && key > bkey)) {\n"
                       "        best = vnan ? (v | 0x400000u) : v; bkey = key; bnan = vnan; have = true;\n"
                       "      }\n"
                       "    }\n"
                       "  return best;\n"
                       "}\n"
                       "void main() {\n  uint gid = QC_GID;\n  if (gid >= pc.p[0]) return;\n"
                       "  arena.w[pc.p[2] / 4u + gid] = pool1(gid);\n}\n");
    } else if (is_max) {
        bool i8 = dt == QC_I8;
        qc_vk_text_add(&t,
                       "uint byte_at(uint at) { return (arena.w[at >> 2] >> (8u * (at & 3u))) & 0xffu; }\n"
                       "uint pool1(uint o) {\n"
                       "  uint p = o / (OH * OW), r = o %% (OH * OW), oh = r / OW, ow = r %% OW;\n"
                       "  uint xb = pc.p[1] + p * H * W;\n"
                       "  bool have = false;\n"
                       "  uint best = %s, bkey = 0u;\n"
                       "  for (uint kh = 0u; kh < KH; kh++)\n"
                       "    for (uint kw = 0u; kw < KW; kw++) {\n"
                       "      uint at;\n"
                       "      if (!tap(oh, ow, kh, kw, at)) continue;\n"
                       "      uint v = byte_at(xb + at);\n"
                       "      uint key = %s;\n"
                       "      if (!have || key > bkey) { best = v; bkey = key; have = true; }\n"
                       "    }\n"
                       "  return best;\n"
                       "}\n"
                       "void main() {\n"
                       "  uint gid = QC_GID, n = pc.p[0], e0 = gid * 4u;\n"
                       "  if (e0 >= n) return;\n"
                       "  uint word = 0u;\n"
                       "  for (uint j = 0u; j < 4u && e0 + j < n; j++) word |= pool1(e0 + j) << (8u * j);\n",
                       i8 ? "0x80u" : "0u", i8 ? "v ^ 0x80u" : "v");
        qc_vk_glsl_store_word(&t, "pc.p[2] / 4u + gid", "n - e0");
    } else {
        sum_glsl(&t);
        qc_vk_text_add(&t,
                       "float pool1(uint o) {\n"
                       "  uint p = o / (OH * OW), r = o %% (OH * OW), oh = r / OW, ow = r %% OW;\n"
                       "  uint xb = pc.p[1] / 4u + p * H * W;\n"
                       "  float s = 0.0, c = 0.0;\n"
                       "  uint count = 0u, padded = 0u;\n"
                       "  for (uint kh = 0u; kh < KH; kh++) {\n"
                       "    int ih = int(oh * SH + kh * DH) - PH;\n"
                       "    bool hp = ih >= -PH && ih < int(H) + PEH, hin = ih >= 0 && ih < int(H);\n"
                       "    for (uint kw = 0u; kw < KW; kw++) {\n"
                       "      int iw = int(ow * SW + kw * DW) - PW;\n"
                       "      if (hp && iw >= -PW && iw < int(W) + PEW) padded++;\n"
                       "      if (!hin || iw < 0 || iw >= int(W)) continue;\n"
                       "      acc(s, c, uintBitsToFloat(arena.w[xb + uint(ih) * W + uint(iw)]));\n"
                       "      count++;\n"
                       "    }\n"
                       "  }\n"
                       "  precise float d = float(%s);\n"
                       "  precise float tot = finite_bits(s) ? s + c : s;\n"
                       "  precise float y = tot / d;\n"
                       "  return y;\n"
                       "}\n"
                       "void main() {\n  uint gid = QC_GID;\n  if (gid >= pc.p[0]) return;\n"
                       "  arena.w[pc.p[2] / 4u + gid] = floatBitsToUint(pool1(gid));\n}\n",
                       include_pad ? "padded" : "count");
    }
    qc_status st = t.oom ? qc_error(QC_ERR_NOMEM, "out of memory") : NULL;
    if (!st) st = qc_vk_add_shader(b, t.s, n->name ? n->name : qc_op_get_info(n->op)->name, LOCAL_X, 0,
                                   &k->variants[0]);
    free(t.s);
    k->n_variants = 1;
    return st;
}

/* GlobalAveragePool: one workgroup of GAP_WG invocations per [n, c] plane;
 * each strides over the plane with its own (s, c) pair, then a shared-memory
 * tree combines the pairs (the high parts with TwoSum again, the error terms
 * added). */
static qc_status gen_gap(vk_builder *b, int32_t node) {
    const qc_node *n = &b->g->nodes[node];
    vk_kernel *k = &b->kernels[node];
    if (n->n_in < 1 || n->in[0] < 0 || n->n_out < 1 || n->out[0] < 0) return fallback(k, QC_VK_FB_SHAPE), NULL;
    const qc_value *X = &b->g->values[n->in[0]], *Y = &b->g->values[n->out[0]];
    if (X->type.dtype != QC_F32 || Y->type.dtype != QC_F32) return fallback(k, QC_VK_FB_DTYPE), NULL;
    if (X->data) return fallback(k, QC_VK_FB_CONST_INPUT), NULL;
    int64_t pa, pb, inner = 1;
    if (!planes_of(&X->type, &pa, &pb)) return fallback(k, QC_VK_FB_SHAPE), NULL;
    for (int32_t d = 2; d < X->type.rank; d++) inner *= X->type.dims[d];
    if (inner > (1 << 30) || (pa + pb) * GAP_WG > (1 << 30)) return fallback(k, QC_VK_FB_SIZE), NULL;
    int64_t ca = pa * GAP_WG, cb = pb * GAP_WG;
    *k = (vk_kernel){.mode = QC_VK_MODE_SHADER, .per_inv = 1, .count_a = ca, .count_b = cb};
    qc_vk_push_linear(k, ca, cb);
    qc_vk_push_value(k, n->in[0]);
    qc_vk_push_value(k, n->out[0]);
    vk_text t = {0};
    qc_vk_glsl_head(&t, false, k->n_push);
    sum_glsl(&t);
    qc_vk_text_add(&t,
                   "#define WG %du\n"
                   "const uint INNER = %lluu;\n"
                   "shared float rs[WG], rc[WG];\n", GAP_WG, (unsigned long long)inner);
    qc_vk_glsl_sum_tree(&t);
    qc_vk_text_add(&t,
                   "void main() {\n"
                   "  uint gid = QC_GID, lid = gl_LocalInvocationID.x;\n"
                   "  if (gid >= pc.p[0]) return;   /* whole workgroups: uniform */\n"
                   "  uint p = gid / WG, xb = pc.p[1] / 4u + p * INNER;\n"
                   "  float s = 0.0, c = 0.0;\n"
                   "  for (uint j = lid; j < INNER; j += WG) acc(s, c, uintBitsToFloat(arena.w[xb + j]));\n"
                   "  sum_tree(s, c, lid);\n"
                   "  if (lid == 0u) {\n"
                   "    float s0 = rs[0];\n"
                   "    precise float tot = finite_bits(s0) ? s0 + rc[0] : s0;\n"
                   "    precise float y = tot / float(INNER);\n"
                   "    arena.w[pc.p[2] / 4u + p] = floatBitsToUint(y);\n"
                   "  }\n"
                   "}\n");
    qc_status st = t.oom ? qc_error(QC_ERR_NOMEM, "out of memory") : NULL;
    if (!st) st = qc_vk_add_shader(b, t.s, n->name ? n->name : "GlobalAveragePool", GAP_WG, 0, &k->variants[0]);
    free(t.s);
    k->n_variants = 1;
    return st;
}

qc_status qc_vk_gen_pool(vk_builder *b, int32_t node) {
    return b->g->nodes[node].op == QC_OP_GLOBAL_AVERAGE_POOL ? gen_gap(b, node) : gen_window(b, node);
}
