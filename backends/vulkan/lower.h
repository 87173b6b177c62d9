/* lower.h — internal to the vulkan compile side (lower*.c, glsl.c): the
 * builder that collects one kernel record per node, the SPIR-V modules and
 * the constants blob of one vulkan section (vk_format.h). */
#ifndef QC_BACKENDS_VULKAN_LOWER_H
#define QC_BACKENDS_VULKAN_LOWER_H

#include <stddef.h>
#include <stdint.h>

#include "backends/vulkan/vk_format.h"
#include "compiler/target.h"
#include "ir/ir.h"
#include "passes/memplan.h"

typedef struct vk_push {
    uint32_t kind, value;
    int64_t a, b;
} vk_push;

typedef struct vk_kernel {
    uint32_t mode, reason, n_variants, variants[QC_VK_MAX_VARIANTS], per_inv;
    int64_t count_a, count_b;
    uint32_t n_push;
    vk_push push[QC_VK_MAX_PUSH];
} vk_kernel;

typedef struct vk_shader {
    uint32_t *words;
    size_t n_words;
    uint32_t local_x, requires;
} vk_shader;

typedef struct vk_builder {
    const qc_graph *g;
    const qc_plan *plan;
    vk_kernel *kernels;          /* g->n_nodes */
    vk_shader *shaders;
    int32_t n_shaders, cap_shaders;
    uint8_t *consts;
    size_t n_consts, cap_consts;
} vk_builder;

/* GLSL compute source -> SPIR-V (Vulkan 1.2 / SPIR-V 1.5) with glslang;
 * `what` names the kernel in errors. words is malloc'd. (glsl.c) */
qc_status qc_vk_compile_glsl(const char *src, const char *what, uint32_t **words, size_t *n);

/* Appends a module compiled from src; *index is its shader index. */
qc_status qc_vk_add_shader(vk_builder *b, const char *src, const char *what, uint32_t local_x,
                           uint32_t requires, uint32_t *index);
/* Appends bytes to the constants blob (16-byte aligned); *off is the byte offset. */
qc_status qc_vk_add_const(vk_builder *b, const void *data, size_t bytes, uint32_t *off);

/* Push constant helpers. */
void qc_vk_push_linear(vk_kernel *k, int64_t a, int64_t bb);
void qc_vk_push_value(vk_kernel *k, int32_t value);

/* Generators: fill b->kernels[node] (a shader, or the ref fallback with a
 * reason). A returned error is a compile failure (glslang, out of memory),
 * never "unsupported". (lower_gemm.c) */
qc_status qc_vk_gen_qgemm(vk_builder *b, int32_t node);
qc_status qc_vk_gen_gemm(vk_builder *b, int32_t node);
/* QuantizeLinear / DequantizeLinear (lower_qdq.c). */
qc_status qc_vk_gen_qdq(vk_builder *b, int32_t node);
/* fp32 unary and broadcasting binary elementwise ops (lower_ew.c). */
qc_status qc_vk_gen_ew(vk_builder *b, int32_t node);
/* qc.Elementwise: the fp32 `program` steps of qc_vk_gen_ew's ops, per
 * element in one shader (lower_ew.c). */
qc_status qc_vk_gen_elementwise(vk_builder *b, int32_t node);
/* Identity / Reshape / Flatten / Squeeze / Unsqueeze: a word copy (lower_ew.c). */
qc_status qc_vk_gen_copy(vk_builder *b, int32_t node);
/* QLinearAdd / QLinearMul: a 64 KiB table of ref's results (lower_qelem.c). */
qc_status qc_vk_gen_qelem(vk_builder *b, int32_t node);
/* MaxPool, AveragePool, GlobalAveragePool (lower_pool.c). */
qc_status qc_vk_gen_pool(vk_builder *b, int32_t node);
/* Softmax and LayerNormalization: one workgroup per row (lower_norm.c). */
qc_status qc_vk_gen_norm(vk_builder *b, int32_t node);

/* Shared by the int8 generators (defined in lower_gemm.c). A constant f32
 * scalar; entry i of a constant int vector of 1 or n entries (absent = 0);
 * entry i of a constant f32 vector of 1 or n entries. False when the value
 * is not a constant of that form. */
bool qc_vk_const_scalar_f32(const vk_builder *b, int32_t v, float *out);
bool qc_vk_const_int_at(const vk_builder *b, int32_t v, int64_t n, int64_t i, int32_t *out);
bool qc_vk_const_f32_at(const vk_builder *b, int32_t v, int64_t n, int64_t i, float *out);
/* QConv (lower_conv.c): int8 direct convolution, 1-D and 2-D NCHW. */
qc_status qc_vk_gen_qconv(vk_builder *b, int32_t node);

/* Growable text for generated GLSL. */
typedef struct vk_text {
    char *s;
    size_t len, cap;
    int oom;
} vk_text;
void qc_vk_text_add(vk_text *t, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* glsl_sum.c: `acc(s, c, x)`, a TwoSum step ((s, c) += x, the rounding
 * error kept exactly in c); and `sum_tree(s, c, lid)`, the workgroup's
 * compensated reduction into rs[0] / rc[0] (needs WG and
 * `shared float rs[WG], rc[WG]` declared before it, and acc). */
void qc_vk_glsl_twosum(vk_text *t);
void qc_vk_glsl_sum_tree(vk_text *t);

/* The element count of t as a + b * batch (every symbolic dim is the
 * batch); false when it does not fit 32-bit shader indexing. */
bool qc_vk_count_linear(const qc_type *t, int64_t *a, int64_t *b);

/* The common head of an elementwise-style shader: version, bindings
 * (binding 0 the arena as uint words, and with b8 also as uint8_t bytes
 * through GL_EXT_shader_8bit_storage; binding 1 the constants), n_push
 * uint32 push constants pc.p[], and QC_GID, the flat invocation index. */
void qc_vk_glsl_head(vk_text *t, bool b8, uint32_t n_push);

/* The end of a shader that packs up to four 8-bit outputs into `word`
 * (element e0 = 4 * gid first): stores it at arena word `yw` (a GLSL
 * expression); when only `left` (an expression, < 4) elements remain, the
 * bytes past them keep what the arena holds there (the slot's padding or
 * the next value). Closes main. */
void qc_vk_glsl_store_word(vk_text *t, const char *yw, const char *left);

/* Compiles qc_vk_glsl_head (no byte view) + body as node's only shader
 * variant with local size local_x, and frees body's text. */
qc_status qc_vk_add_body_shader(vk_builder *b, int32_t node, vk_text *body, uint32_t local_x);

/* GLSL shared by the int8 shaders (lower_gemm.c). int8_dot: `int
 * dot_ab(uint a, uint b)`, the dot product of four packed 8-bit pairs (a's
 * and b's bytes signed or not), and `int sum_a(uint a)`, the sum of a's
 * four; dot = OpSDot/OpUDot/OpSUDot through GL_EXT_spirv_intrinsics (the
 * caller enables that extension), else an int32 unpack. requant: `uint
 * requant(int v, uint ch)`, the output byte of accumulator v for channel
 * ch, bit-identical to qc_requantize + the act clamp; needs the defines
 * MULT (word index of the fp32 multipliers in cst), ZY, LO, HI, AMIN, AMAX. */
void qc_vk_glsl_int8_dot(vk_text *t, bool dot, bool a_signed, bool b_signed);
void qc_vk_glsl_requant(vk_text *t);

#endif
