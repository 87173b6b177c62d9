/* hal_model.c — per-model state of the vulkan device: the vulkan section
 * validated field by field (every offset, count and index before use; errors
 * name the section field or node and its byte offset), the constants blob
 * uploaded once, and one compute pipeline per shader variant chosen for
 * this device, created here at load so that a broken module fails the load,
 * not a run. A model without a vulkan section runs every node on the ref
 * kernels over the mapped arena. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backends/vulkan/hal_vk.h"
#include "runtime/artifact_format.h"

#define SPIRV_MAGIC 0x07230203u

static qc_status bad(size_t off, const char *fmt, const char *what, long long v) {
    char msg[160];
    snprintf(msg, sizeof msg, fmt, what, v);
    return qc_error(QC_ERR_PARSE, "vulkan section, byte %zu: %s", off, msg);
}

static bool range_ok(size_t off, size_t len, size_t total) { return off <= total && len <= total - off; }

/* Structural check of a SPIR-V module: header, every instruction's word
 * count inside the module, the module ending in OpFunctionEnd (so a cut
 * module is caught), and only the capabilities the generators use, the
 * dot product ones only when the record says it needs the feature (a
 * driver must never see a capability it was not asked to enable). Its
 * semantics are trusted as the cpu target trusts its shared object; the
 * container's CRC catches corruption. */
static bool spirv_ok(const uint8_t *p, size_t bytes, uint32_t requires) {
    if (bytes < 24 || bytes % 4 || qc_le32(p) != SPIRV_MAGIC || qc_le32(p + 16) != 0) return false;
    uint32_t version = qc_le32(p + 4);
    if (version < 0x00010000u || version > 0x00010600u) return false;
    size_t words = bytes / 4, last = 0;
    for (size_t i = 5; i < words;) {
        uint32_t w = qc_le32(p + 4 * i), wc = w >> 16, op = w & 0xffffu;
        if (wc == 0 || wc > words - i) return false;
        if (op == 17) {   /* OpCapability */
            uint32_t cap = wc == 2 ? qc_le32(p + 4 * (i + 1)) : 0;
            bool dot = cap == 6016 || cap == 6017 || cap == 6018 || cap == 6019;
            bool b8 = cap == 4448;   /* StorageBuffer8BitAccess */
            if (wc != 2 || (cap != 1 && !dot && !b8) || (dot && !(requires & QC_VK_REQ_INT_DOT)) ||
                (b8 && !(requires & QC_VK_REQ_INT8_STORAGE)))
                return false;
        }
        last = i;
        i += wc;
    }
    return qc_le32(p + 4 * last) == ((1u << 16) | 56u);   /* OpFunctionEnd */
}

static uint32_t device_features(const qc_device *d) {
    return (d->caps.int_dot ? QC_VK_REQ_INT_DOT : 0) | (d->caps.int8_storage ? QC_VK_REQ_INT8_STORAGE : 0);
}

/* Validates the section header and tables against the model. */
static qc_status check_section(const qc_device *d, const qc_model_data *m, const uint8_t *s, size_t len) {
    if (len < QC_VK_HEADER_SIZE) return bad(0, "%s is %lld bytes, shorter than its header", "section", (long long)len);
    if (qc_le32(s + QC_VK_H_MAGIC) != QC_VK_MAGIC) return bad(0, "%s: bad magic %#llx", "header", qc_le32(s));
    /* Version 1 sections (no 8-bit storage variants) are still read. */
    uint32_t version = qc_le32(s + QC_VK_H_VERSION);
    if (version < 1 || version > QC_VK_VERSION)
        return bad(QC_VK_H_VERSION, "%s: version %lld not supported", "header", version);
    uint32_t req_known = version >= 2 ? QC_VK_REQ_ALL : QC_VK_REQ_INT_DOT;
    for (uint32_t i = QC_VK_H_RESERVED; i < QC_VK_HEADER_SIZE; i++)
        if (s[i]) return bad(i, "%s: reserved byte %lld not 0", "header", i);
    uint32_t nn = qc_le32(s + QC_VK_H_N_NODES), ns = qc_le32(s + QC_VK_H_N_SHADERS);
    if (nn != (uint32_t)m->n_nodes)
        return bad(QC_VK_H_N_NODES, "%s: %lld kernel records for a graph of other size", "header", nn);
    size_t ko = qc_le32(s + QC_VK_H_KERNELS_OFF), so = qc_le32(s + QC_VK_H_SHADERS_OFF);
    size_t co = qc_le32(s + QC_VK_H_CONSTS_OFF), cs = qc_le32(s + QC_VK_H_CONSTS_SIZE);
    if (ko < QC_VK_HEADER_SIZE || !range_ok(ko, (size_t)nn * QC_VK_KERNEL_SIZE, len))
        return bad(QC_VK_H_KERNELS_OFF, "%s at %lld outside the section", "kernel table", (long long)ko);
    if (ns > 65536 || !range_ok(so, (size_t)ns * QC_VK_SHADER_SIZE, len))
        return bad(QC_VK_H_SHADERS_OFF, "%s at %lld outside the section", "shader table", (long long)so);
    if (co % QC_VK_CONST_ALIGN || !range_ok(co, cs, len))
        return bad(QC_VK_H_CONSTS_OFF, "%s at %lld misaligned or outside the section", "constants", (long long)co);
    if (so != ko + (size_t)nn * QC_VK_KERNEL_SIZE)
        return bad(QC_VK_H_SHADERS_OFF, "%s at %lld does not follow the kernel table", "shader table", (long long)so);
    size_t spirv_at = so + (size_t)ns * QC_VK_SHADER_SIZE;
    for (uint32_t i = 0; i < ns; i++) {
        const uint8_t *r = s + so + (size_t)i * QC_VK_SHADER_SIZE;
        size_t at = so + (size_t)i * QC_VK_SHADER_SIZE;
        size_t off = qc_le32(r), bytes = qc_le32(r + 4);
        uint32_t local = qc_le32(r + 8), req = qc_le32(r + 12);
        if (req & ~req_known) return bad(at + 12, "%s: unknown feature bits %#llx", "shader", req);
        /* The modules tile the area after the tables in order, so a damaged
         * offset or length cannot make a module out of another's middle. */
        if (off != spirv_at || off % 4 || !range_ok(off, bytes, len) || off + bytes > co ||
            !spirv_ok(s + off, bytes, req))
            return bad(at, "%s %lld: not a well-formed SPIR-V module inside the section", "shader", i);
        if (local == 0 || local > d->caps.max_local_x || local > d->caps.max_invocations)
            return bad(at + 8, "%s: local size %lld not supported by the device", "shader", local);
        spirv_at = off + bytes;
    }
    if (ns && (co < spirv_at || co - spirv_at >= QC_VK_CONST_ALIGN))
        return bad(QC_VK_H_CONSTS_OFF, "%s at %lld do not follow the SPIR-V modules", "constants", (long long)co);
    for (uint32_t i = 0; i < nn; i++) {
        size_t at = ko + (size_t)i * QC_VK_KERNEL_SIZE;
        const uint8_t *k = s + at;
        const qc_node *n = &m->nodes[i];
        uint32_t mode = qc_le32(k + QC_VK_K_MODE), nv = qc_le32(k + QC_VK_K_N_VARIANTS);
        if (qc_le32(k + QC_VK_K_RESERVED)) return bad(at + QC_VK_K_RESERVED, "kernel %s: reserved field not 0 (%lld)", n->name ? n->name : "?", 0);
        if (mode == QC_VK_MODE_REF) {
            if (qc_le32(k + QC_VK_K_REASON) >= QC_VK_FB_COUNT || nv)
                return bad(at, "kernel '%s': bad fallback record (%lld)", n->name ? n->name : "?", nv);
            continue;
        }
        if (mode != QC_VK_MODE_SHADER) return bad(at, "kernel '%s': unknown mode %lld", n->name ? n->name : "?", mode);
        if (nv < 1 || nv > QC_VK_MAX_VARIANTS)
            return bad(at + QC_VK_K_N_VARIANTS, "kernel '%s': %lld variants", n->name ? n->name : "?", nv);
        for (uint32_t v = 0; v < nv; v++)
            if (qc_le32(k + QC_VK_K_VARIANTS + 4 * v) >= ns)
                return bad(at + QC_VK_K_VARIANTS + 4 * v, "kernel '%s': shader index %lld out of range",
                           n->name ? n->name : "?", qc_le32(k + QC_VK_K_VARIANTS + 4 * v));
        int64_t ca = (int64_t)qc_le64(k + QC_VK_K_COUNT_A), cb = (int64_t)qc_le64(k + QC_VK_K_COUNT_B);
        if (qc_le32(k + QC_VK_K_PER_INV) == 0 || ca < 0 || cb < 0 || ca > UINT32_MAX || cb > UINT32_MAX)
            return bad(at + QC_VK_K_PER_INV, "kernel '%s': bad element count (%lld)", n->name ? n->name : "?", ca);
        uint32_t np = qc_le32(k + QC_VK_K_N_PUSH);
        if (np > QC_VK_MAX_PUSH)
            return bad(at + QC_VK_K_N_PUSH, "kernel '%s': %lld push constants", n->name ? n->name : "?", np);
        for (uint32_t p = 0; p < np; p++) {
            size_t pa = at + QC_VK_K_PUSH + p * QC_VK_PUSH_SIZE;
            uint32_t kind = qc_le32(s + pa), v = qc_le32(s + pa + 4);
            bool ok = kind == QC_VK_PUSH_LINEAR ||
                      (kind == QC_VK_PUSH_VALUE_OFFSET && v < (uint32_t)m->n_values && !m->values[v].data &&
                       m->values[v].off_a >= 0);
            if (!ok) return bad(pa, "kernel '%s': bad push constant (kind %lld)", n->name ? n->name : "?", kind);
        }
        /* A shader node's outputs must keep their declared (static) types. */
        if (n->n_out < 1) return bad(at, "kernel '%s': shader for a node without outputs (%lld)", n->name ? n->name : "?", 0);
    }
    return NULL;
}

static qc_status make_pipeline(qc_device *d, VkPipelineCache cache, const uint8_t *s, uint32_t index,
                               VkPipeline *out) {
    const uint8_t *r = s + qc_le32(s + QC_VK_H_SHADERS_OFF) + (size_t)index * QC_VK_SHADER_SIZE;
    size_t off = qc_le32(r), bytes = qc_le32(r + 4);
    uint32_t local = qc_le32(r + 8);
    /* Aligned copy: the section is only byte-aligned inside the image. */
    uint32_t *code = malloc(bytes);
    if (!code) return qc_error(QC_ERR_NOMEM, "vulkan: out of memory");
    memcpy(code, s + off, bytes);
    VkShaderModuleCreateInfo mi = {.sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO, .codeSize = bytes,
                                   .pCode = code};
    VkShaderModule mod;
    VkResult r2 = d->fn.vkCreateShaderModule(d->dev, &mi, NULL, &mod);
    free(code);
    if (r2 != VK_SUCCESS)
        return qc_error(QC_ERR_INVALID, "vulkan: vkCreateShaderModule of shader %u failed: %s", index,
                        qc_vk_result_name(r2));
    /* Specialization constant 0 = local_size_x: the tile size. */
    VkSpecializationMapEntry me = {0, 0, sizeof(uint32_t)};
    VkSpecializationInfo spec = {1, &me, sizeof local, &local};
    VkComputePipelineCreateInfo ci = {
        .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
        .stage = {.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
                  .stage = VK_SHADER_STAGE_COMPUTE_BIT, .module = mod, .pName = "main",
                  .pSpecializationInfo = &spec},
        .layout = d->pipe_layout};
    r2 = d->fn.vkCreateComputePipelines(d->dev, cache, 1, &ci, NULL, out);
    d->fn.vkDestroyShaderModule(d->dev, mod, NULL);
    return r2 == VK_SUCCESS ? NULL
                            : qc_error(QC_ERR_INVALID, "vulkan: vkCreateComputePipelines of shader %u failed: %s",
                                       index, qc_vk_result_name(r2));
}

/* ---- pipeline cache ------------------------------------------------------------
 * One VkPipelineCache per model. With QC_VULKAN_PIPELINE_CACHE=PATH its
 * initial data is read from PATH, when the file's header
 * (VkPipelineCacheHeaderVersionOne) names this very device and driver
 * (vendor, device id, pipelineCacheUUID) — drivers check too, but a stale or
 * foreign file is not worth trusting every driver with — and the cache is
 * written back there (temporary file + rename) when the model is released. */

#define CACHE_MAX_BYTES (256u << 20)

static bool cache_header_ok(const qc_device *d, const uint8_t *p, size_t len) {
    if (len < 32) return false;
    uint32_t hsize = qc_le32(p), ver = qc_le32(p + 4);
    return hsize >= 32 && hsize <= len && ver == VK_PIPELINE_CACHE_HEADER_VERSION_ONE &&
           qc_le32(p + 8) == d->caps.vendor_id && qc_le32(p + 12) == d->caps.device_id &&
           !memcmp(p + 16, d->caps.cache_uuid, VK_UUID_SIZE);
}

/* The file's bytes (malloc'd) when its header fits this device, else NULL. */
static uint8_t *cache_read(const qc_device *d, const char *path, size_t *len, bool verbose) {
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;   /* no cache yet: the first run writes it */
    uint8_t *buf = NULL;
    long n = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    if (n > 0 && (unsigned long)n <= CACHE_MAX_BYTES && fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n)) &&
        fread(buf, 1, (size_t)n, f) == (size_t)n && cache_header_ok(d, buf, (size_t)n)) {
        *len = (size_t)n;
    } else {
        if (verbose) fprintf(stderr, "vulkan: pipeline cache %s ignored (unreadable, or made for another device)\n", path);
        free(buf);
        buf = NULL;
    }
    fclose(f);
    return buf;
}

static void cache_write(qc_device *d, const vk_model *vm, const char *path, bool verbose) {
    size_t n = 0;
    if (d->fn.vkGetPipelineCacheData(d->dev, vm->cache, &n, NULL) != VK_SUCCESS || !n) return;
    uint8_t *buf = malloc(n);
    char tmp[4096];
    int tl = snprintf(tmp, sizeof tmp, "%s.tmp%ld", path, (long)getpid());
    bool ok = buf && tl > 0 && (size_t)tl < sizeof tmp &&
              d->fn.vkGetPipelineCacheData(d->dev, vm->cache, &n, buf) == VK_SUCCESS && cache_header_ok(d, buf, n);
    FILE *f = ok ? fopen(tmp, "wb") : NULL;
    if (f) {
        ok = fwrite(buf, 1, n, f) == n;
        ok &= fclose(f) == 0;
        ok = ok && rename(tmp, path) == 0;
        if (!ok) remove(tmp);
    } else {
        ok = false;
    }
    if (verbose) fprintf(stderr, "vulkan: pipeline cache %s: %s %zu bytes\n", path, ok ? "wrote" : "could not write", n);
    free(buf);
}

static qc_status cache_create(qc_device *d, vk_model *vm) {
    const char *path = getenv("QC_VULKAN_PIPELINE_CACHE");
    size_t len = 0;
    uint8_t *init = path && *path ? cache_read(d, path, &len, getenv("QC_VULKAN_VERBOSE") != NULL) : NULL;
    VkPipelineCacheCreateInfo ci = {.sType = VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO, .initialDataSize = len,
                                    .pInitialData = init};
    VkResult r = d->fn.vkCreatePipelineCache(d->dev, &ci, NULL, &vm->cache);
    if (r != VK_SUCCESS && init) {   /* the driver refused the data: start empty */
        ci.initialDataSize = 0;
        ci.pInitialData = NULL;
        r = d->fn.vkCreatePipelineCache(d->dev, &ci, NULL, &vm->cache);
    }
    free(init);
    if (r != VK_SUCCESS) {
        vm->cache = VK_NULL_HANDLE;
        return qc_error(QC_ERR_IO, "vulkan: vkCreatePipelineCache failed: %s", qc_vk_result_name(r));
    }
    return NULL;
}

/* QC_VULKAN_PROFILE's table, as QC_CPU_PROFILE's (backends/cpu/hal.c). */
static void print_profile(const vk_model *vm) {
    const qc_model_data *m = vm->data;
    int64_t runs = 0;
    for (int32_t i = 0; i < m->n_nodes; i++) {
        int64_t r = atomic_load(&vm->prof[i].runs);
        if (r > runs) runs = r;
    }
    fprintf(stderr, "QC_VULKAN_PROFILE: %lld runs; per node mean / last in us (shaders: device time "
            "from timestamps; ref: host time)\n", (long long)runs);
    double sum_mean = 0, sum_last = 0;
    for (int32_t i = 0; i < m->n_nodes; i++) {
        const vk_prof *p = &vm->prof[i];
        int64_t r = atomic_load(&p->runs);
        double mean = r ? (double)atomic_load(&p->ns_total) / (double)r / 1e3 : 0;
        double last = (double)atomic_load(&p->ns_last) / 1e3;
        sum_mean += mean;
        sum_last += last;
        const qc_op_info *oi = qc_op_get_info(m->nodes[i].op);
        char where[32];
        if (vm->variant[i] >= 0) snprintf(where, sizeof where, "shader %d", (int)vm->variant[i]);
        else snprintf(where, sizeof where, "ref");
        fprintf(stderr, "  %3d %-18s %9.2f %9.2f  %s\n", (int)i, oi ? oi->name : "?", mean, last, where);
    }
    fprintf(stderr, "  sum                    %9.2f %9.2f\n", sum_mean, sum_last);
}

void qc_vk_model_destroy(qc_device *d, vk_model *vm) {
    if (!vm) return;
    if (vm->prof) print_profile(vm);
    const char *path = getenv("QC_VULKAN_PIPELINE_CACHE");
    if (vm->cache && vm->pipelines && path && *path) cache_write(d, vm, path, getenv("QC_VULKAN_VERBOSE") != NULL);
    if (vm->cache) d->fn.vkDestroyPipelineCache(d->dev, vm->cache, NULL);
    for (uint32_t i = 0; vm->pipelines && i < vm->n_shaders; i++)
        if (vm->pipelines[i]) d->fn.vkDestroyPipeline(d->dev, vm->pipelines[i], NULL);
    qc_vk_buf_destroy(d, &vm->consts);
    free(vm->pipelines);
    free(vm->variant);
    free(vm->prof);
    free(vm);
}

qc_status qc_vk_model_create(qc_device *d, const qc_model_data *m, vk_model **out) {
    *out = NULL;
    vk_model *vm = calloc(1, sizeof *vm);
    if (!vm) return qc_error(QC_ERR_NOMEM, "vulkan: out of memory");
    vm->data = m;
    for (int32_t i = 0; i < m->n_sections; i++)
        if (m->sections[i].kind == QC_SEC_TARGET && m->sections[i].target == QC_TARGET_VULKAN) {
            vm->sec = m->sections[i].data;
            vm->sec_len = m->sections[i].len;
        }
    qc_status st = vm->sec ? check_section(d, m, vm->sec, vm->sec_len) : NULL;
    vm->variant = malloc(sizeof *vm->variant * (size_t)(m->n_nodes + 1));
    if (!st && !vm->variant) st = qc_error(QC_ERR_NOMEM, "vulkan: out of memory");
    for (int32_t i = 0; !st && i < m->n_nodes; i++) vm->variant[i] = -1;
    size_t cs = vm->sec ? qc_le32(vm->sec + QC_VK_H_CONSTS_SIZE) : 0;
    if (!st) st = qc_vk_buf_create(d, cs ? cs : 64, &vm->consts);
    if (!st && cs) memcpy(vm->consts.map, vm->sec + qc_le32(vm->sec + QC_VK_H_CONSTS_OFF), cs);
    if (!st && cs) st = qc_vk_stage(d, &vm->consts, true, 0, cs);   /* staged: to device-local memory */
    if (!st && vm->sec) st = cache_create(d, vm);
    if (!st && vm->sec) {
        vm->n_shaders = qc_le32(vm->sec + QC_VK_H_N_SHADERS);
        vm->pipelines = calloc(vm->n_shaders + 1, sizeof *vm->pipelines);
        if (!vm->pipelines) st = qc_error(QC_ERR_NOMEM, "vulkan: out of memory");
    }
    uint32_t have = device_features(d);
    size_t ko = vm->sec ? qc_le32(vm->sec + QC_VK_H_KERNELS_OFF) : 0;
    size_t so = vm->sec ? qc_le32(vm->sec + QC_VK_H_SHADERS_OFF) : 0;
    for (int32_t i = 0; !st && vm->sec && i < m->n_nodes; i++) {
        const uint8_t *k = vm->sec + ko + (size_t)i * QC_VK_KERNEL_SIZE;
        if (qc_le32(k + QC_VK_K_MODE) != QC_VK_MODE_SHADER) continue;
        uint32_t nv = qc_le32(k + QC_VK_K_N_VARIANTS);
        for (uint32_t v = 0; v < nv && vm->variant[i] < 0; v++) {
            uint32_t sh = qc_le32(k + QC_VK_K_VARIANTS + 4 * v);
            uint32_t req = qc_le32(vm->sec + so + (size_t)sh * QC_VK_SHADER_SIZE + 12);
            if ((req & have) != req) continue;
            if (!vm->pipelines[sh]) st = make_pipeline(d, vm->cache, vm->sec, sh, &vm->pipelines[sh]);
            if (!st) vm->variant[i] = (int32_t)sh;
        }
        if (!st && vm->variant[i] < 0)
            st = qc_node_error(&m->nodes[i], QC_ERR_UNSUPPORTED,
                               "vulkan: no shader variant runs on '%s' (missing device features)", d->caps.name);
    }
    const char *pe = getenv("QC_VULKAN_PROFILE");
    if (!st && pe && *pe && strcmp(pe, "0") != 0) {
        vm->prof = calloc((size_t)m->n_nodes + 1, sizeof *vm->prof);
        if (!vm->prof) st = qc_error(QC_ERR_NOMEM, "vulkan: out of memory");
    }
    if (st) {
        free(vm->prof);   /* nothing ran: no table */
        vm->prof = NULL;
        qc_vk_model_destroy(d, vm);
        return st;
    }
    if (getenv("QC_VULKAN_VERBOSE"))   /* which node runs where: a diagnostic, not an API */
        for (int32_t i = 0; i < m->n_nodes; i++) {
            const uint8_t *k = vm->sec ? vm->sec + ko + (size_t)i * QC_VK_KERNEL_SIZE : NULL;
            const qc_op_info *oi = qc_op_get_info(m->nodes[i].op);
            if (vm->variant[i] >= 0) {
                uint32_t req = qc_le32(vm->sec + so + (size_t)vm->variant[i] * QC_VK_SHADER_SIZE + 12);
                fprintf(stderr, "vulkan: node %d '%s' (%s): shader %d%s%s\n", (int)i, m->nodes[i].name ? m->nodes[i].name : "?",
                        oi->name, (int)vm->variant[i], req & QC_VK_REQ_INT_DOT ? " (int8 dot product)" : "",
                        req & QC_VK_REQ_INT8_STORAGE ? " (8-bit storage)" : "");
            }
            else
                fprintf(stderr, "vulkan: node %d '%s' (%s): ref kernel (%s)\n", (int)i,
                        m->nodes[i].name ? m->nodes[i].name : "?", oi->name,
                        k ? qc_vk_reason_name(qc_le32(k + QC_VK_K_REASON)) : "no vulkan section");
        }
    *out = vm;
    return NULL;
}
