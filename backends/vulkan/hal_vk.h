/* hal_vk.h — internal to the vulkan device (hal*.c, libqcrt): the Vulkan
 * entry points resolved at run time (libvulkan.so.1 is opened with dlopen,
 * never linked), the device and buffer structs, and the per-model state. */
#ifndef QC_BACKENDS_VULKAN_HAL_VK_H
#define QC_BACKENDS_VULKAN_HAL_VK_H

#define VK_NO_PROTOTYPES
#include <pthread.h>
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
    X(vkWaitForFences) X(vkResetFences) X(vkDeviceWaitIdle)

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
    float timestamp_period;
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
    bool mem_device_local;
    vk_caps caps;
    VkDescriptorSetLayout set_layout;   /* binding 0: arena, 1: constants */
    VkPipelineLayout pipe_layout;       /* + QC_VK_MAX_PUSH uint32 push constants */
    qc_device *ref;                     /* the ref device for fallback nodes */
    pthread_mutex_t lock;               /* queue submits and the model list */
    vk_model **models;
    int32_t n_models, cap_models;
};

/* One device allocation; arenas also carry their own command recording
 * state, so sessions (which own their arena) never share a command pool. */
typedef struct vk_buf {
    VkBuffer buf;
    VkDeviceMemory mem;
    void *map;
    size_t size;                        /* usable bytes (the allocation is padded) */
    VkCommandPool cmd_pool;
    VkCommandBuffer cmd;
    VkFence fence;
    bool recording;
    VkDescriptorPool desc_pool;
    VkDescriptorSet set;
    const vk_model *set_model;          /* whose constants `set` binds */
} vk_buf;

struct vk_model {
    const qc_model_data *data;
    const uint8_t *sec;                 /* the vulkan section, or NULL: every node on ref */
    size_t sec_len;
    uint32_t n_shaders;
    vk_buf consts;                      /* the constants blob (at least 64 bytes) */
    VkPipeline *pipelines;              /* per shader index; VK_NULL_HANDLE when unused */
    int32_t *variant;                   /* per node: chosen shader index, or -1 (ref) */
};

/* hal_model.c */
qc_status qc_vk_model_create(qc_device *d, const qc_model_data *m, vk_model **out);
void qc_vk_model_destroy(qc_device *d, vk_model *vm);
/* hal_buf.c */
qc_status qc_vk_buf_create(qc_device *d, size_t bytes, vk_buf *b);
void qc_vk_buf_destroy(qc_device *d, vk_buf *b);
/* Ends and submits the arena's recorded commands and waits for them. */
qc_status qc_vk_flush(qc_device *d, vk_buf *arena);
/* Records one shader node into the arena's command buffer. */
qc_status qc_vk_record(qc_device *d, const vk_model *vm, const qc_hal_launch *l, vk_buf *arena);

const char *qc_vk_result_name(VkResult r);

#endif
