/* vk_format.h — the vulkan code section (kind QC_SEC_TARGET, target
 * QC_TARGET_VULKAN), shared header-only by the lowering (lower*.c, libqcomp)
 * and the device (hal*.c, libqcrt) so the two cannot drift, as
 * runtime/artifact_format.h is for the container. docs/backend-vulkan.md
 * describes every field; keep it in sync.
 *
 * Layout (little-endian, offsets from the section start):
 *   header      QC_VK_HEADER_SIZE bytes (QC_VK_H_* fields)
 *   kernels     n_nodes records of QC_VK_KERNEL_SIZE: one per graph node,
 *               in node order: "run shader variant ..." or "ref fallback"
 *   shaders     n_shaders records of QC_VK_SHADER_SIZE
 *   SPIR-V      the modules, each 4-byte aligned
 *   constants   one blob (64-byte aligned) uploaded once per model: packed
 *               weights, folded bias, requantization multipliers
 *
 * Every shader sees the same two storage buffers (binding 0: the session's
 * arena, binding 1: the constants blob) and up to QC_VK_MAX_PUSH uint32 push
 * constants; which value lives where is told by the push constants, whose
 * values the device computes from the kernel record at each launch. */
#ifndef QC_BACKENDS_VULKAN_VK_FORMAT_H
#define QC_BACKENDS_VULKAN_VK_FORMAT_H

#include <stdint.h>

#define QC_VK_MAGIC 0x4b564351u          /* "QCVK" */
#define QC_VK_VERSION 2u            /* 2: QC_VK_REQ_INT8_STORAGE; the loader still reads 1 */
#define QC_VK_HEADER_SIZE 64u
#define QC_VK_KERNEL_SIZE 432u
#define QC_VK_SHADER_SIZE 16u
#define QC_VK_MAX_VARIANTS 2u
#define QC_VK_MAX_PUSH 16u
#define QC_VK_PUSH_SIZE 24u
#define QC_VK_CONST_ALIGN 64u

enum {
    QC_VK_H_MAGIC = 0,
    QC_VK_H_VERSION = 4,
    QC_VK_H_N_NODES = 8,
    QC_VK_H_N_SHADERS = 12,
    QC_VK_H_KERNELS_OFF = 16,
    QC_VK_H_SHADERS_OFF = 20,
    QC_VK_H_CONSTS_OFF = 24,
    QC_VK_H_CONSTS_SIZE = 28,   /* u32 */
    QC_VK_H_RESERVED = 32,      /* 32 zero bytes */
};

/* Kernel record fields. */
enum {
    QC_VK_K_MODE = 0,           /* QC_VK_MODE_* */
    QC_VK_K_REASON = 4,         /* QC_VK_FB_* when mode is REF, else 0 */
    QC_VK_K_N_VARIANTS = 8,     /* 0 (ref) or 1..QC_VK_MAX_VARIANTS */
    QC_VK_K_VARIANTS = 12,      /* shader indices, best first */
    QC_VK_K_PER_INV = 20,       /* elements per invocation, >= 1 */
    QC_VK_K_COUNT_A = 24,       /* i64: elements = a + b * batch */
    QC_VK_K_COUNT_B = 32,       /* i64 */
    QC_VK_K_N_PUSH = 40,        /* <= QC_VK_MAX_PUSH */
    QC_VK_K_RESERVED = 44,      /* 0 */
    QC_VK_K_PUSH = 48,          /* QC_VK_MAX_PUSH records of QC_VK_PUSH_SIZE */
};

enum { QC_VK_MODE_REF = 0, QC_VK_MODE_SHADER = 1 };

/* Push constant record: {u32 kind, u32 value, i64 a, i64 b}. */
enum {
    QC_VK_PUSH_LINEAR = 1,      /* a + b * batch, must fit in uint32 */
    QC_VK_PUSH_VALUE_OFFSET = 2 /* byte offset of arena value `value` at this batch */
};

/* Shader record: {u32 spirv offset, u32 spirv bytes, u32 local_size_x,
 * u32 required features (QC_VK_REQ_*)}. local_size_x is specialization
 * constant 0 of the module. */
enum {
    QC_VK_REQ_INT_DOT = 1u,     /* shaderIntegerDotProduct (OpSDot/OpUDot/OpSUDot) */
    QC_VK_REQ_INT8_STORAGE = 2u,/* storageBuffer8BitAccess (uint8_t/int8_t SSBO views; version >= 2) */
    QC_VK_REQ_ALL = 3u,
};

/* Why a node runs the ref kernel instead of a shader (kernel record). */
enum {
    QC_VK_FB_NONE = 0,
    QC_VK_FB_OP = 1,            /* no shader generator for this op yet */
    QC_VK_FB_DTYPE = 2,         /* element types the generator does not cover */
    QC_VK_FB_SHAPE = 3,         /* rank, transposition or broadcast not covered */
    QC_VK_FB_QUANT = 4,         /* quantization parameters not per tensor/column or not constant */
    QC_VK_FB_CONST_INPUT = 5,   /* an input the shader reads from the arena is a constant */
    QC_VK_FB_PROGRAM = 6,       /* an epilogue step or operand the generator does not cover */
    QC_VK_FB_SIZE = 7,          /* too large for 32-bit shader indexing */
    QC_VK_FB_COUNT = 8,
};

static inline const char *qc_vk_reason_name(uint32_t r) {
    static const char *const names[QC_VK_FB_COUNT] = {
        "none", "op has no shader yet", "element types not covered", "shape not covered",
        "quantization parameters not covered", "arena input is a constant",
        "epilogue step not covered", "too large for 32-bit indexing"};
    return r < QC_VK_FB_COUNT ? names[r] : "?";
}

#endif
