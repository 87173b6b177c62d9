/* glsl_sum.c — compensated fp32 sums for generated GLSL, shared by the
 * pooling and normalization shaders (lower_pool.c, lower_norm.c).
 *
 * The ref sums in double and rounds once; Vulkan guarantees no double, so
 * the shaders carry an exact TwoSum error term next to each fp32 partial
 * sum (`precise`: no reassociation, no contraction), within an invocation
 * and across the workgroup's shared-memory tree. */
#include "backends/vulkan/lower.h"

void qc_vk_glsl_twosum(vk_text *t) {
    qc_vk_text_add(t, "%s",
                   "void acc(inout float s, inout float c, float x) {\n"
                   "  precise float tt = s + x;\n"
                   "  precise float bp = tt - s;\n"
                   "  precise float e = (s - (tt - bp)) + (x - bp);\n"
                   "  s = tt;\n"
                   "  c += e;\n"
                   "}\n");
}

void qc_vk_glsl_sum_tree(vk_text *t) {
    qc_vk_text_add(t, "%s",
                   "void sum_tree(float s, float c, uint lid) {\n"
                   "  rs[lid] = s; rc[lid] = c;\n"
                   "  barrier();\n"
                   "  for (uint h = WG / 2u; h > 0u; h >>= 1) {\n"
                   "    if (lid < h) {\n"
                   "      float s2 = rs[lid], c2 = rc[lid] + rc[lid + h];\n"
                   "      acc(s2, c2, rs[lid + h]);\n"
                   "      rs[lid] = s2; rc[lid] = c2;\n"
                   "    }\n"
                   "    barrier();\n"
                   "  }\n"
                   "}\n");
}
