/* hal_vk.h — internal to the vulkan device (hal*.c, libqcrt): the Vulkan
 * entry points resolved at run time (libvulkan.so.1 is opened with dlopen,
 * never linked), the device and buffer structs, and the per-model state. */
#ifndef QC_BACKENDS_VULKAN_HAL_VK_H
#define QC_BACKENDS_VULKAN_HAL_VK_H

#define VK_NO_PROTOTYPES
#include <pthread.h>
#include <stdatomic.h>
#include <vulkan/vulkan.h>

#include "backends/vulkan/vk_format.h"
#include "runtime/hal.h"

/* Instance-level entry points (vkGetInstanceProcAddr with the instance). */
#define QC_VK_INSTANCE_FNS(X)                                                               \
    X(vkDestroyInstance) X(vkEnumeratePhysicalDevices) X(vkGetPhysicalDeviceProperties)      \
    X(vkGetPhysicalDeviceProperties2) X(vkGetPhysicalDeviceFeatures2)                        \
    X(vkGetPhysicalDeviceQueueFamilyProperties) X(vkGetPhysicalDeviceMemoryProperties)       \
    X(vkCreateDevice) X(vkGetDeviceProcAddr)

/* Device-level entry points (vkGetDeviceProcAddr). */
#define QC_VK_DEVICE_FNS(X)                                                                 \
    X(vkDestroyDevice) X(vkGetDeviceQueue) X(vkCreateBuffer) X(vkDestroyBuffer)              \
    X(vkGetBufferMemoryRequirements) X(vkAllocateMemory) X(vkFreeMemory)                     \
    X(vkBindBufferMemory) X(vkMapMemory) X(vkUnmapMemory) X(vkCreateShaderModule)            \
    X(vkDestroyShaderModule) X(vkCreateComputePipelines) X(vkDestroyPipeline)                \
    X(vkCreatePipelineLayout) X(vkDestroyPipelineLayout) X(vkCreateDescriptorSetLayout)      \
    X(vkDestroyDescriptorSetLayout) X(vkCreateDescriptorPool) X(vkDestroyDescriptorPool)     \
    X(vkAllocateDescriptorSets) X(vkUpdateDescriptorSets) X(vkCreateCommandPool)             \
    X(vkDestroyCommandPool) X(vkAllocateCommandBuffers) X(vkBeginCommandBuffer)              \
    X(vkEndCommandBuffer) X(vkResetCommandBuffer) X(vkCmdBindPipeline)                       \
    X(vkCmdBindDescriptorSets) X(vkCmdPushConstants) X(vkCmdDispatch)                        \
    X(vkCmdPipelineBarrier) X(vkQueueSubmit) X(vkCreateFence) X(vkDestroyFence)              \
    X(vkWaitForFences) X(vkResetFences) X(vkDeviceWaitIdle) X(vkCreateQueryPool)                \
    X(vkDestroyQueryPool) X(vkCmdResetQueryPool) X(vkCmdWriteTimestamp)                      \
    X(vkGetQueryPoolResults) X(vkCreatePipelineCache) X(vkDestroyPipelineCache)              \
    X(vkGetPipelineCacheData) X(vkCmdCopyBuffer)

typedef struct vk_fns {
    PFN_vkGetInstanceProcAddr vkGetInstanceProcAddr;
    PFN_vkCreateInstance vkCreateInstance;
    PFN_vkEnumerateInstanceVersion vkEnumerateInstanceVersion;   /* may be NULL (1.0 loader) */
#define QC_VK_FIELD(f) PFN_##f f;
    QC_VK_INSTANCE_FNS(QC_VK_FIELD)
    QC_VK_DEVICE_FNS(QC_VK_FIELD)
#undef QC_VK_FIELD
} vk_fns;

/* What the device offers that shader variants may require (QC_VK_REQ_*). */
typedef struct vk_caps {
    uint32_t api;                       /* VkPhysicalDeviceProperties.apiVersion */
    bool int8_storage, shader_int8, shader_f16, int_dot, robust;
    uint32_t subgroup_size;
    uint32_t max_groups_x, max_local_x, max_invocations, max_push;
    uint64_t max_storage_range;
    float timestamp_period;             /* ns per timestamp tick */
    uint32_t timestamp_bits;            /* the queue's timestampValidBits (0: no timestamps) */
    /* VkPhysicalDeviceFloatControlsProperties (Vulkan 1.2 core), fp32:
     * what RoundingModeRTE / DenormPreserve / SignedZeroInfNanPreserve
     * declarations the compile side may rely on (docs/backend-vulkan.md). */
    bool rte32, rtz32, denorm_preserve32, denorm_flush32, szinp32;
    uint32_t vendor_id, device_id;
    uint8_t cache_uuid[VK_UUID_SIZE];   /* pipelineCacheUUID */
    VkPhysicalDeviceType type;
    char name[VK_MAX_PHYSICAL_DEVICE_NAME_SIZE];
} vk_caps;

typedef struct vk_model vk_model;

struct qc_device {
    void *lib;                          /* dlopen("libvulkan.so.1") */
    vk_fns fn;
    VkInstance instance;
    VkPhysicalDevice phys;
    VkDevice dev;
    VkQueue queue;
    uint32_t queue_family;
    uint32_t mem_type;                  /* HOST_VISIBLE | HOST_COHERENT (device-local if offered) */
    uint32_t mem_dev;                   /* DEVICE_LOCAL: staged buffers' memory */
    bool staging;                       /* buffers in mem_dev with a mem_type staging twin */
    bool mem_device_local;
    bool timestamps;                    /* timestamp_bits > 0 and not QC_VULKAN_NO_TIMESTAMPS */
    vk_caps caps;
    VkDescriptorSetLayout set_layout;   /* binding 0: arena, 1: constants */
    VkPipelineLayout pipe_layout;       /* + QC_VK_MAX_PUSH uint32 push constants */
    qc_device *ref;                     /* the ref device for fallback nodes */
    pthread_mutex_t lock;               /* queue submits and the model list */
    vk_model **models;
    int32_t n_models, cap_models;
};

/* One recorded dispatch: everything its commands depend on, so a run whose
 * dispatch equals the recorded one at the same place can replay it. */
typedef struct vk_entry {
    const vk_model *model;
    int32_t node;
    VkPipeline pipe;
    uint32_t gx, gy;
    uint32_t push[QC_VK_MAX_PUSH];
} vk_entry;

/* A segment: the dispatches between two host synchronisations of a run
 * (its start, a ref fallback node, its end), recorded into one command
 * buffer that later runs resubmit while their dispatches stay the same. */
typedef struct vk_seg {
    VkCommandBuffer cmd;                /* from the arena's pool */
    VkQueryPool queries;                /* n + 1 timestamps, or VK_NULL_HANDLE */
    uint32_t n_queries;                 /* the pool's capacity */
    vk_entry *e;                        /* the dispatches cmd was recorded from */
    int32_t n, cap;
    bool valid;                         /* cmd holds exactly e[0..n) */
} vk_seg;

/* One device allocation; arenas also carry their own command recording
 * state, so sessions (which own their arena) never share a command pool. */
typedef struct vk_buf {
    VkBuffer buf;
    VkDeviceMemory mem;
    void *map;                          /* the memory, or staged: the staging twin's */
    size_t size;                        /* usable bytes (the allocation is padded) */
    size_t alloc;                       /* allocated bytes */
    bool staged;                        /* buf is device-local; copies go through sbuf */
    VkBuffer sbuf;
    VkDeviceMemory smem;
    VkCommandBuffer xcmd;               /* staging copies */
    VkCommandPool cmd_pool;
    VkFence fence;
    VkDescriptorPool desc_pool;
    VkDescriptorSet set;
    const vk_model *set_model;          /* whose constants `set` binds */
    vk_seg *segs;                       /* per segment of the run, in order */
    int32_t n_segs;
    int32_t cur, pos;                   /* this run: segment being filled, dispatches in it */
    uint64_t *ts;                       /* timestamp read-back scratch */
    uint32_t ts_cap;
    int64_t run_ns;                     /* this run: device time so far */
    int32_t run_recorded;               /* this run: segments (re)recorded */
} vk_buf;

/* QC_VULKAN_PROFILE: per node device time (shaders) or host time (ref). */
typedef struct vk_prof {
    _Atomic int64_t ns_total, ns_last, runs;
} vk_prof;

struct vk_model {
    const qc_model_data *data;
    const uint8_t *sec;                 /* the vulkan section, or NULL: every node on ref */
    size_t sec_len;
    uint32_t n_shaders;
    vk_buf consts;                      /* the constants blob (at least 64 bytes) */
    VkPipeline *pipelines;              /* per shader index; VK_NULL_HANDLE when unused */
    int32_t *variant;                   /* per node: chosen shader index, or -1 (ref) */
    vk_prof *prof;                      /* [n_nodes] with QC_VULKAN_PROFILE, else NULL */
    VkPipelineCache cache;              /* the model's pipelines' cache */
};

/* hal_model.c */
qc_status qc_vk_model_create(qc_device *d, const qc_model_data *m, vk_model **out);
void qc_vk_model_destroy(qc_device *d, vk_model *vm);
/* hal_buf.c */
qc_status qc_vk_buf_create(qc_device *d, size_t bytes, vk_buf *b);
void qc_vk_buf_destroy(qc_device *d, vk_buf *b);
/* Submits the arena's pending segment (recording it first unless its
 * command buffer already holds those dispatches) and waits for it. */
qc_status qc_vk_flush(qc_device *d, vk_buf *arena);
/* Adds one shader node to the arena's pending segment. */
qc_status qc_vk_record(qc_device *d, const vk_model *vm, const qc_hal_launch *l, vk_buf *arena);
/* Staged buffer: copies [off, off + bytes) from the staging twin to the
 * device buffer (up) or back, and waits; a no-op for other buffers. */
qc_status qc_vk_stage(qc_device *d, vk_buf *b, bool up, size_t off, size_t bytes);
/* A run begins on the arena / ended (flushes; fills *stats). */
void qc_vk_run_begin(vk_buf *arena);
qc_status qc_vk_run_end(qc_device *d, vk_buf *arena, qc_hal_run_stats *stats);

const char *qc_vk_result_name(VkResult r);

#endif
