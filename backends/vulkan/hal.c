/* hal.c — the vulkan device: libvulkan opened with dlopen, one instance,
 * one physical device (QC_VULKAN_DEVICE = index or name substring, else the
 * best: discrete GPU, then integrated, then virtual, then CPU, i.e.
 * lavapipe), one compute queue.
 *
 * First design (docs/backend-vulkan.md): arenas live in HOST_VISIBLE |
 * HOST_COHERENT memory, device-local where the device offers that
 * combination (UMA, resizable BAR, lavapipe), so inputs and outputs are
 * memcpy'd and nodes without a shader run the ref kernel on the mapped
 * arena after the queued dispatches finished. Devices without such a heap
 * (or QC_VULKAN_FORCE_STAGING=1) get DEVICE_LOCAL buffers with host-visible
 * staging twins that every copy goes through (hal_buf.c qc_vk_stage).
 *
 * Environment (diagnostics and tests, read at device creation):
 *   QC_VULKAN_DEVICE=I|NAME   pick physical device I or the first whose name contains NAME
 *   QC_VULKAN_NO_INT_DOT=1    ignore shaderIntegerDotProduct (runs the unpack variants)
 *   QC_VULKAN_NO_INT8_STORAGE=1  ignore storageBuffer8BitAccess (runs the uint32-packed variants)
 *   QC_VULKAN_VERBOSE=1       print the device, its features and where each node runs
 *   QC_VULKAN_NO_TIMESTAMPS=1 no timestamp queries (device time not measured)
 *   QC_VULKAN_PROFILE=1       per node device time, printed when the model is released
 *   QC_VULKAN_PIPELINE_CACHE=PATH  load / save the pipeline cache there (hal_model.c)
 *   QC_VULKAN_FORCE_STAGING=1 device-local buffers + staging copies even with a host-visible heap */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backends/vulkan/hal_vk.h"

const char *qc_vk_result_name(VkResult r) {
    switch (r) {
    case VK_SUCCESS: return "VK_SUCCESS";
    case VK_NOT_READY: return "VK_NOT_READY";
    case VK_TIMEOUT: return "VK_TIMEOUT";
    case VK_ERROR_OUT_OF_HOST_MEMORY: return "VK_ERROR_OUT_OF_HOST_MEMORY";
    case VK_ERROR_OUT_OF_DEVICE_MEMORY: return "VK_ERROR_OUT_OF_DEVICE_MEMORY";
    case VK_ERROR_INITIALIZATION_FAILED: return "VK_ERROR_INITIALIZATION_FAILED";
    case VK_ERROR_DEVICE_LOST: return "VK_ERROR_DEVICE_LOST";
    case VK_ERROR_MEMORY_MAP_FAILED: return "VK_ERROR_MEMORY_MAP_FAILED";
    case VK_ERROR_EXTENSION_NOT_PRESENT: return "VK_ERROR_EXTENSION_NOT_PRESENT";
    case VK_ERROR_FEATURE_NOT_PRESENT: return "VK_ERROR_FEATURE_NOT_PRESENT";
    case VK_ERROR_INCOMPATIBLE_DRIVER: return "VK_ERROR_INCOMPATIBLE_DRIVER";
    default: return "VkResult error";
    }
}

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static qc_status vk_fail(const char *call, VkResult r) {
    return qc_error(QC_ERR_IO, "vulkan: %s failed: %s (%d)", call, qc_vk_result_name(r), (int)r);
}

static qc_status load_library(qc_device *d) {
    d->lib = dlopen("libvulkan.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!d->lib)
        return qc_error(QC_ERR_NOT_FOUND, "no Vulkan device: cannot open libvulkan.so.1 (%s)",
                        dlerror());
    /* dlsym returns void *; POSIX guarantees it converts to a function pointer. */
    void *sym = dlsym(d->lib, "vkGetInstanceProcAddr");
    if (!sym) return qc_error(QC_ERR_NOT_FOUND, "no Vulkan device: libvulkan.so.1 has no vkGetInstanceProcAddr");
    memcpy(&d->fn.vkGetInstanceProcAddr, &sym, sizeof sym);
    d->fn.vkCreateInstance = (PFN_vkCreateInstance)d->fn.vkGetInstanceProcAddr(NULL, "vkCreateInstance");
    d->fn.vkEnumerateInstanceVersion =
        (PFN_vkEnumerateInstanceVersion)d->fn.vkGetInstanceProcAddr(NULL, "vkEnumerateInstanceVersion");
    if (!d->fn.vkCreateInstance)
        return qc_error(QC_ERR_NOT_FOUND, "no Vulkan device: the loader has no vkCreateInstance");
    return NULL;
}

static qc_status create_instance(qc_device *d) {
    uint32_t ver = VK_API_VERSION_1_0;
    if (d->fn.vkEnumerateInstanceVersion) d->fn.vkEnumerateInstanceVersion(&ver);
    if (ver < VK_API_VERSION_1_2)
        return qc_error(QC_ERR_NOT_FOUND, "no Vulkan device: the Vulkan loader offers %u.%u, 1.2 is needed",
                        VK_VERSION_MAJOR(ver), VK_VERSION_MINOR(ver));
    VkApplicationInfo app = {.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO, .pApplicationName = "qcomp",
                             .pEngineName = "qcrt", .apiVersion = ver >= VK_API_VERSION_1_3 ? VK_API_VERSION_1_3 : VK_API_VERSION_1_2};
    VkInstanceCreateInfo ci = {.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO, .pApplicationInfo = &app};
    VkResult r = d->fn.vkCreateInstance(&ci, NULL, &d->instance);
    if (r != VK_SUCCESS)
        return qc_error(QC_ERR_NOT_FOUND, "no Vulkan device: vkCreateInstance failed: %s", qc_vk_result_name(r));
#define QC_VK_LOAD(f)                                                                        \
    if (!(d->fn.f = (PFN_##f)d->fn.vkGetInstanceProcAddr(d->instance, #f)))                   \
        return qc_error(QC_ERR_NOT_FOUND, "no Vulkan device: the loader has no %s", #f);
    QC_VK_INSTANCE_FNS(QC_VK_LOAD)
#undef QC_VK_LOAD
    return NULL;
}

static int type_rank(VkPhysicalDeviceType t) {
    switch (t) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return 4;
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return 3;
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return 2;
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return 1;
    default: return 0;
    }
}

/* QC_VULKAN_DEVICE: a decimal index, or a substring of the device name. */
static qc_status pick_physical(qc_device *d, bool requested) {
    uint32_t n = 0;
    VkResult r = d->fn.vkEnumeratePhysicalDevices(d->instance, &n, NULL);
    if (r != VK_SUCCESS || n == 0) return qc_error(QC_ERR_NOT_FOUND, "no Vulkan device");
    VkPhysicalDevice *list = calloc(n, sizeof *list);
    if (!list) return qc_error(QC_ERR_NOMEM, "vulkan: out of memory");
    d->fn.vkEnumeratePhysicalDevices(d->instance, &n, list);
    const char *want = getenv("QC_VULKAN_DEVICE");
    char *end = NULL;
    long idx = want && *want ? strtol(want, &end, 10) : -1;
    bool by_index = want && *want && end && !*end;
    int best = -1, best_rank = -1;
    for (uint32_t i = 0; i < n; i++) {
        VkPhysicalDeviceProperties p;
        d->fn.vkGetPhysicalDeviceProperties(list[i], &p);
        if (p.apiVersion < VK_API_VERSION_1_2) continue;
        if (by_index ? (long)i != idx : want && *want && !strstr(p.deviceName, want)) continue;
        if (type_rank(p.deviceType) > best_rank) best = (int)i, best_rank = type_rank(p.deviceType);
    }
    /* Not picked by "best available" on a CPU implementation (lavapipe):
     * the cpu and ref devices run the same model faster there. Asking for
     * it (--backend vulkan or QC_VULKAN_DEVICE) still gets it. */
    bool cpu_only = best >= 0 && best_rank == type_rank(VK_PHYSICAL_DEVICE_TYPE_CPU);
    if (best >= 0) d->phys = list[best];
    free(list);
    if (cpu_only && !requested && !(want && *want))
        return qc_error(QC_ERR_NOT_FOUND, "vulkan: only a CPU implementation found; not picked "
                        "by default (ask for it with --backend vulkan)");
    if (best < 0)
        return want && *want ? qc_error(QC_ERR_NOT_FOUND, "no Vulkan device matches QC_VULKAN_DEVICE='%s' "
                                        "(a Vulkan 1.2 device; see vulkaninfo --summary)", want)
                             : qc_error(QC_ERR_NOT_FOUND, "no Vulkan device (none offers Vulkan 1.2)");
    return NULL;
}

static void query_caps(qc_device *d, VkPhysicalDeviceFeatures2 *f2, VkPhysicalDeviceVulkan12Features *f12,
                       VkPhysicalDeviceVulkan13Features *f13) {
    VkPhysicalDeviceProperties p;
    d->fn.vkGetPhysicalDeviceProperties(d->phys, &p);
    vk_caps *c = &d->caps;
    c->api = p.apiVersion;
    c->type = p.deviceType;
    snprintf(c->name, sizeof c->name, "%s", p.deviceName);
    c->max_groups_x = p.limits.maxComputeWorkGroupCount[0];
    c->max_local_x = p.limits.maxComputeWorkGroupSize[0];
    c->max_invocations = p.limits.maxComputeWorkGroupInvocations;
    c->max_push = p.limits.maxPushConstantsSize;
    c->max_storage_range = p.limits.maxStorageBufferRange;
    c->timestamp_period = p.limits.timestampPeriod;
    c->vendor_id = p.vendorID;
    c->device_id = p.deviceID;
    memcpy(c->cache_uuid, p.pipelineCacheUUID, VK_UUID_SIZE);
    /* Float controls are Vulkan 1.2 core (the device is 1.2+). */
    VkPhysicalDeviceFloatControlsProperties fc = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FLOAT_CONTROLS_PROPERTIES};
    VkPhysicalDeviceSubgroupProperties sg = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES,
                                             .pNext = &fc};
    VkPhysicalDeviceProperties2 p2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, .pNext = &sg};
    d->fn.vkGetPhysicalDeviceProperties2(d->phys, &p2);
    c->subgroup_size = sg.subgroupSize;
    c->rte32 = fc.shaderRoundingModeRTEFloat32;
    c->rtz32 = fc.shaderRoundingModeRTZFloat32;
    c->denorm_preserve32 = fc.shaderDenormPreserveFloat32;
    c->denorm_flush32 = fc.shaderDenormFlushToZeroFloat32;
    c->szinp32 = fc.shaderSignedZeroInfNanPreserveFloat32;
    *f13 = (VkPhysicalDeviceVulkan13Features){.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_3_FEATURES};
    *f12 = (VkPhysicalDeviceVulkan12Features){.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES,
                                              .pNext = c->api >= VK_API_VERSION_1_3 ? f13 : NULL};
    *f2 = (VkPhysicalDeviceFeatures2){.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, .pNext = f12};
    d->fn.vkGetPhysicalDeviceFeatures2(d->phys, f2);
    c->int8_storage = f12->storageBuffer8BitAccess;
    c->shader_int8 = f12->shaderInt8;
    c->shader_f16 = f12->shaderFloat16;
    c->int_dot = c->api >= VK_API_VERSION_1_3 && f13->shaderIntegerDotProduct;
    /* QC_VULKAN_NO_INT_DOT: act as if the dot product were missing, so the
     * unpack variants are tested on devices that have it. */
    if (getenv("QC_VULKAN_NO_INT_DOT")) c->int_dot = false;
    /* QC_VULKAN_NO_INT8_STORAGE: the same for 8-bit storage buffer access
     * (the uint32-packed variants of the byte kernels). */
    if (getenv("QC_VULKAN_NO_INT8_STORAGE")) c->int8_storage = false;
    c->robust = f2->features.robustBufferAccess;
}

static qc_status create_device(qc_device *d) {
    VkPhysicalDeviceFeatures2 have2;
    VkPhysicalDeviceVulkan12Features have12;
    VkPhysicalDeviceVulkan13Features have13;
    query_caps(d, &have2, &have12, &have13);
    uint32_t nq = 0;
    d->fn.vkGetPhysicalDeviceQueueFamilyProperties(d->phys, &nq, NULL);
    VkQueueFamilyProperties qf[32];
    if (nq > 32) nq = 32;
    d->fn.vkGetPhysicalDeviceQueueFamilyProperties(d->phys, &nq, qf);
    int fam = -1;
    for (uint32_t i = 0; i < nq && fam < 0; i++)
        if (qf[i].queueFlags & VK_QUEUE_COMPUTE_BIT) fam = (int)i;
    if (fam < 0) return qc_error(QC_ERR_NOT_FOUND, "no Vulkan device: '%s' has no compute queue", d->caps.name);
    d->queue_family = (uint32_t)fam;
    d->caps.timestamp_bits = qf[fam].timestampValidBits;
    /* QC_VULKAN_NO_TIMESTAMPS: no queries at all (to see what they cost). */
    d->timestamps = d->caps.timestamp_bits > 0 && d->caps.timestamp_period > 0 &&
                    !getenv("QC_VULKAN_NO_TIMESTAMPS");
    /* Enable only what shaders may use; robustBufferAccess contains a bad
     * artifact's out-of-range accesses inside the buffers. */
    VkPhysicalDeviceVulkan13Features en13 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_3_FEATURES,
                                             .shaderIntegerDotProduct = d->caps.int_dot};
    VkPhysicalDeviceVulkan12Features en12 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES,
                                             .pNext = d->caps.int_dot ? &en13 : NULL,
                                             .storageBuffer8BitAccess = d->caps.int8_storage,
                                             .shaderInt8 = have12.shaderInt8};
    VkPhysicalDeviceFeatures2 en2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, .pNext = &en12};
    en2.features.robustBufferAccess = have2.features.robustBufferAccess;
    float prio = 1.0f;
    VkDeviceQueueCreateInfo qci = {.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
                                   .queueFamilyIndex = d->queue_family, .queueCount = 1,
                                   .pQueuePriorities = &prio};
    VkDeviceCreateInfo dci = {.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO, .pNext = &en2,
                              .queueCreateInfoCount = 1, .pQueueCreateInfos = &qci};
    VkResult r = d->fn.vkCreateDevice(d->phys, &dci, NULL, &d->dev);
    if (r != VK_SUCCESS) return vk_fail("vkCreateDevice", r);
#define QC_VK_LOAD(f)                                                                        \
    if (!(d->fn.f = (PFN_##f)d->fn.vkGetDeviceProcAddr(d->dev, #f)))                          \
        return qc_error(QC_ERR_NOT_FOUND, "vulkan: the device has no %s", #f);
    QC_VK_DEVICE_FNS(QC_VK_LOAD)
#undef QC_VK_LOAD
    d->fn.vkGetDeviceQueue(d->dev, d->queue_family, 0, &d->queue);
    /* Memory: host-visible + coherent, preferring a device-local heap. */
    VkPhysicalDeviceMemoryProperties mp;
    d->fn.vkGetPhysicalDeviceMemoryProperties(d->phys, &mp);
    const VkMemoryPropertyFlags hv = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
    int best = -1;
    for (uint32_t i = 0; i < mp.memoryTypeCount; i++) {
        VkMemoryPropertyFlags f = mp.memoryTypes[i].propertyFlags;
        if ((f & hv) != hv) continue;
        bool dl = f & VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT;
        if (best < 0 || (dl && !d->mem_device_local)) best = (int)i, d->mem_device_local = dl;
    }
    if (best < 0) return qc_error(QC_ERR_UNSUPPORTED, "vulkan: '%s' has no host-visible coherent memory", d->caps.name);
    d->mem_type = (uint32_t)best;
    /* Without a host-visible device-local heap (a discrete GPU without
     * resizable BAR), or asked with QC_VULKAN_FORCE_STAGING=1 (tests run the
     * path on lavapipe): buffers in DEVICE_LOCAL memory, preferably not
     * host-visible, copied through host-visible staging twins. */
    int dev = -1;
    for (uint32_t i = 0; i < mp.memoryTypeCount; i++) {
        VkMemoryPropertyFlags f = mp.memoryTypes[i].propertyFlags;
        if (!(f & VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT)) continue;
        if (dev < 0 || ((mp.memoryTypes[dev].propertyFlags & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT) &&
                        !(f & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT)))
            dev = (int)i;
    }
    const char *fs = getenv("QC_VULKAN_FORCE_STAGING");
    bool force = fs && *fs && strcmp(fs, "0") != 0;
    d->staging = dev >= 0 && (force || !d->mem_device_local);
    d->mem_dev = dev >= 0 ? (uint32_t)dev : d->mem_type;
    VkDescriptorSetLayoutBinding bind[2] = {
        {0, VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 1, VK_SHADER_STAGE_COMPUTE_BIT, NULL},
        {1, VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 1, VK_SHADER_STAGE_COMPUTE_BIT, NULL}};
    VkDescriptorSetLayoutCreateInfo sl = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
                                          .bindingCount = 2, .pBindings = bind};
    if ((r = d->fn.vkCreateDescriptorSetLayout(d->dev, &sl, NULL, &d->set_layout)) != VK_SUCCESS)
        return vk_fail("vkCreateDescriptorSetLayout", r);
    if (d->caps.max_push < QC_VK_MAX_PUSH * 4)
        return qc_error(QC_ERR_UNSUPPORTED, "vulkan: '%s' offers %u bytes of push constants, %u needed",
                        d->caps.name, d->caps.max_push, QC_VK_MAX_PUSH * 4);
    VkPushConstantRange pr = {VK_SHADER_STAGE_COMPUTE_BIT, 0, QC_VK_MAX_PUSH * 4};
    VkPipelineLayoutCreateInfo pl = {.sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO, .setLayoutCount = 1,
                                     .pSetLayouts = &d->set_layout, .pushConstantRangeCount = 1,
                                     .pPushConstantRanges = &pr};
    if ((r = d->fn.vkCreatePipelineLayout(d->dev, &pl, NULL, &d->pipe_layout)) != VK_SUCCESS)
        return vk_fail("vkCreatePipelineLayout", r);
    return NULL;
}

static void vk_destroy(qc_device *d) {
    if (!d) return;
    while (d->n_models) qc_vk_model_destroy(d, d->models[--d->n_models]);
    free(d->models);
    if (d->dev) {
        d->fn.vkDeviceWaitIdle(d->dev);
        if (d->pipe_layout) d->fn.vkDestroyPipelineLayout(d->dev, d->pipe_layout, NULL);
        if (d->set_layout) d->fn.vkDestroyDescriptorSetLayout(d->dev, d->set_layout, NULL);
        d->fn.vkDestroyDevice(d->dev, NULL);
    }
    if (d->instance) d->fn.vkDestroyInstance(d->instance, NULL);
    if (d->lib) dlclose(d->lib);
    if (d->ref) qc_hal_ref_driver.destroy(d->ref);
    pthread_mutex_destroy(&d->lock);
    free(d);
}

static qc_status vk_create(const qc_hal_create_params *params, qc_device **out) {
    *out = NULL;
    qc_device *d = calloc(1, sizeof *d);
    if (!d) return qc_error(QC_ERR_NOMEM, "vulkan: out of memory");
    pthread_mutex_init(&d->lock, NULL);
    qc_status st = qc_hal_ref_driver.create(params, &d->ref);
    if (!st) st = load_library(d);
    if (!st) st = create_instance(d);
    if (!st) st = pick_physical(d, params && params->requested);
    if (!st) st = create_device(d);
    if (st) {
        vk_destroy(d);
        return st;
    }
    if (getenv("QC_VULKAN_VERBOSE")) {
        fprintf(stderr, "vulkan: %s (Vulkan %u.%u), int8 storage %d, int8 %d, fp16 %d, int dot %d, "
                "subgroup %u, %s memory\n", d->caps.name, VK_VERSION_MAJOR(d->caps.api),
                VK_VERSION_MINOR(d->caps.api), d->caps.int8_storage, d->caps.shader_int8,
                d->caps.shader_f16, d->caps.int_dot, d->caps.subgroup_size,
                d->staging ? "device-local (staged)"
                : d->mem_device_local ? "device-local host-visible" : "host-visible (not device-local)");
        fprintf(stderr, "vulkan: fp32 float controls: RoundingModeRTE %d, RTZ %d, DenormPreserve %d, "
                "DenormFlushToZero %d, SignedZeroInfNanPreserve %d\n", d->caps.rte32, d->caps.rtz32,
                d->caps.denorm_preserve32, d->caps.denorm_flush32, d->caps.szinp32);
        fprintf(stderr, "vulkan: timestamps: %u valid bits, %.3f ns per tick%s\n", d->caps.timestamp_bits,
                (double)d->caps.timestamp_period, d->timestamps ? "" : " (not used)");
    }
    *out = d;
    return NULL;
}

/* ---- buffers and copies --------------------------------------------------------- */

static qc_status vk_alloc(qc_device *d, size_t bytes, qc_hal_buffer *out) {
    memset(out, 0, sizeof *out);
    vk_buf *b = calloc(1, sizeof *b);
    if (!b) return qc_error(QC_ERR_NOMEM, "vulkan: out of memory");
    qc_status st = qc_vk_buf_create(d, bytes, b);
    if (st) {
        free(b);
        return st;
    }
    out->host = b->map;
    out->handle = (uint64_t)(uintptr_t)b;
    out->size = bytes;
    return NULL;
}

static void vk_free(qc_device *d, qc_hal_buffer *buf) {
    vk_buf *b = (vk_buf *)(uintptr_t)buf->handle;
    if (b) {
        qc_vk_buf_destroy(d, b);
        free(b);
    }
    memset(buf, 0, sizeof *buf);
}

static qc_status vk_copy(qc_device *d, const qc_hal_copy *c) {
    /* The memory is coherent; only queued dispatches on the arena must end
     * first. Staged buffers: the host side of the copy is the staging
     * twin (qc_hal_buffer.host), brought down before and sent up after. */
    vk_buf *dst = c->dst ? (vk_buf *)(uintptr_t)c->dst->handle : NULL;
    vk_buf *src = c->src ? (vk_buf *)(uintptr_t)c->src->handle : NULL;
    qc_status st = NULL;
    if (dst) st = qc_vk_flush(d, dst);
    if (!st && src) st = qc_vk_flush(d, src);
    if (!st && src) st = qc_vk_stage(d, src, false, c->src_off, c->bytes);
    if (!st) st = qc_hal_ref_driver.copy(d->ref, c);
    if (!st && dst) st = qc_vk_stage(d, dst, true, c->dst_off, c->bytes);
    return st;
}

/* ---- models and launches -------------------------------------------------------- */

static vk_model *find_model(qc_device *d, const qc_model_data *m) {
    vk_model *vm = NULL;
    pthread_mutex_lock(&d->lock);
    for (int32_t i = 0; i < d->n_models && !vm; i++)
        if (d->models[i]->data == m) vm = d->models[i];
    pthread_mutex_unlock(&d->lock);
    return vm;
}

static qc_status vk_check_model(qc_device *d, const qc_model_data *m) {
    qc_status st = qc_hal_ref_driver.check_model(d->ref, m);
    if (st) return st;
    vk_model *vm = NULL;
    if ((st = qc_vk_model_create(d, m, &vm))) return st;
    pthread_mutex_lock(&d->lock);
    if (d->n_models == d->cap_models) {
        int32_t cap = d->cap_models ? 2 * d->cap_models : 8;
        vk_model **l = realloc(d->models, sizeof *l * (size_t)cap);
        if (l) d->models = l, d->cap_models = cap;
    }
    bool ok = d->n_models < d->cap_models;
    if (ok) d->models[d->n_models++] = vm;
    pthread_mutex_unlock(&d->lock);
    if (!ok) {
        qc_vk_model_destroy(d, vm);
        return qc_error(QC_ERR_NOMEM, "vulkan: out of memory");
    }
    return NULL;
}

static void vk_release_model(qc_device *d, const qc_model_data *m) {
    vk_model *vm = NULL;
    pthread_mutex_lock(&d->lock);
    for (int32_t i = 0; i < d->n_models; i++)
        if (d->models[i]->data == m) {
            vm = d->models[i];
            d->models[i] = d->models[--d->n_models];
            break;
        }
    pthread_mutex_unlock(&d->lock);
    if (vm) qc_vk_model_destroy(d, vm);
}

static qc_status vk_launch(qc_device *d, const qc_hal_launch *l) {
    vk_model *vm = find_model(d, l->model);
    vk_buf *arena = (vk_buf *)(uintptr_t)l->arena->handle;
    if (!vm || !arena)
        return qc_error(QC_ERR_INVALID, "vulkan: launch of a model this device did not check, or a foreign arena");
    if (vm->variant[l->node] >= 0) return qc_vk_record(d, vm, l, arena);
    /* Ref fallback on the mapped arena, after the queued work ended. */
    qc_status st = qc_vk_flush(d, arena);
    /* Staged: the whole arena down and up again around the ref node
     * (correct, not fast: copying only its inputs and outputs is next). */
    if (!st) st = qc_vk_stage(d, arena, false, 0, arena->alloc);
    if (st) return st;
    int64_t t0 = vm->prof ? now_ns() : 0;   /* the profile's host time of a ref node */
    st = qc_hal_ref_driver.launch(d->ref, l);
    if (!st) st = qc_vk_stage(d, arena, true, 0, arena->alloc);
    if (!vm->prof) return st;
    int64_t ns = now_ns() - t0;
    vk_prof *p = &vm->prof[l->node];
    atomic_fetch_add_explicit(&p->ns_total, ns, memory_order_relaxed);
    atomic_store_explicit(&p->ns_last, ns, memory_order_relaxed);
    atomic_fetch_add_explicit(&p->runs, 1, memory_order_relaxed);
    return st;
}

static qc_status vk_run_begin(qc_device *d, qc_hal_buffer *arena) {
    (void)d;
    vk_buf *b = (vk_buf *)(uintptr_t)arena->handle;
    if (b) qc_vk_run_begin(b);
    return NULL;
}

static qc_status vk_run_end(qc_device *d, qc_hal_buffer *arena, qc_hal_run_stats *stats) {
    vk_buf *b = (vk_buf *)(uintptr_t)arena->handle;
    return b ? qc_vk_run_end(d, b, stats) : NULL;
}

static qc_status vk_sync(qc_device *d) {
    (void)d;   /* each arena is flushed by the copy that reads it (vk_copy) */
    return NULL;
}

const qc_hal_driver qc_hal_vulkan_driver = {
    .name = "vulkan",
    .target = QC_TARGET_VULKAN,
    .priority = 10,   /* below cpu (20), above ref (0) */
    .create = vk_create,
    .destroy = vk_destroy,
    .alloc = vk_alloc,
    .free = vk_free,
    .copy = vk_copy,
    .check_model = vk_check_model,
    .release_model = vk_release_model,
    .launch = vk_launch,
    .sync = vk_sync,
    .run_begin = vk_run_begin,
    .run_end = vk_run_end,
};
