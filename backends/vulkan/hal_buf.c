/* hal_buf.c — vulkan buffers and the command recording of an arena.
 *
 * Each arena records the dispatches of consecutive shader nodes into its own
 * command buffer (its own pool: sessions own their arena, so no pool is ever
 * used by two threads); a ref fallback node, a copy touching the arena, or
 * freeing it submits and waits (qc_vk_flush). Consecutive dispatches are
 * separated by a compute -> compute memory barrier, since a node reads what
 * the previous ones wrote. */
#include <stdlib.h>
#include <string.h>

#include "backends/vulkan/hal_vk.h"
#include "runtime/artifact_format.h"

/* Bytes past the end a shader may read: the unaligned int8 row loads read
 * the word after the last one they need (lower_gemm.c load_a). */
#define TAIL_PAD 16

static qc_status vk_fail(const char *call, VkResult r) {
    return qc_error(QC_ERR_IO, "vulkan: %s failed: %s (%d)", call, qc_vk_result_name(r), (int)r);
}

qc_status qc_vk_buf_create(qc_device *d, size_t bytes, vk_buf *b) {
    memset(b, 0, sizeof *b);
    if (bytes > SIZE_MAX - 64 - TAIL_PAD)
        return qc_error(QC_ERR_NOMEM, "vulkan: %zu bytes is too large", bytes);
    size_t alloc = (bytes + TAIL_PAD + 63) / 64 * 64;
    VkBufferCreateInfo bi = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO, .size = alloc,
                             .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT,
                             .sharingMode = VK_SHARING_MODE_EXCLUSIVE};
    VkResult r = d->fn.vkCreateBuffer(d->dev, &bi, NULL, &b->buf);
    if (r != VK_SUCCESS) return vk_fail("vkCreateBuffer", r);
    VkMemoryRequirements req;
    d->fn.vkGetBufferMemoryRequirements(d->dev, b->buf, &req);
    if (!(req.memoryTypeBits & (1u << d->mem_type))) {
        qc_vk_buf_destroy(d, b);
        return qc_error(QC_ERR_UNSUPPORTED, "vulkan: storage buffers cannot use host-visible memory type %u",
                        d->mem_type);
    }
    VkMemoryAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO, .allocationSize = req.size,
                               .memoryTypeIndex = d->mem_type};
    if ((r = d->fn.vkAllocateMemory(d->dev, &ai, NULL, &b->mem)) != VK_SUCCESS) {
        qc_vk_buf_destroy(d, b);
        return qc_error(QC_ERR_NOMEM, "vulkan: vkAllocateMemory of %zu bytes failed: %s", alloc,
                        qc_vk_result_name(r));
    }
    if ((r = d->fn.vkBindBufferMemory(d->dev, b->buf, b->mem, 0)) != VK_SUCCESS ||
        (r = d->fn.vkMapMemory(d->dev, b->mem, 0, VK_WHOLE_SIZE, 0, &b->map)) != VK_SUCCESS) {
        qc_vk_buf_destroy(d, b);
        return vk_fail("vkBindBufferMemory/vkMapMemory", r);
    }
    memset(b->map, 0, alloc);   /* the padding is read (and multiplied by zero weights) */
    b->size = bytes;
    return NULL;
}

void qc_vk_buf_destroy(qc_device *d, vk_buf *b) {
    if (b->recording || b->fence) {
        qc_status st = qc_vk_flush(d, b);   /* nothing may still run on it */
        qc_status_free(st);
    }
    if (b->fence) d->fn.vkDestroyFence(d->dev, b->fence, NULL);
    if (b->cmd_pool) d->fn.vkDestroyCommandPool(d->dev, b->cmd_pool, NULL);
    if (b->desc_pool) d->fn.vkDestroyDescriptorPool(d->dev, b->desc_pool, NULL);
    if (b->map) d->fn.vkUnmapMemory(d->dev, b->mem);
    if (b->buf) d->fn.vkDestroyBuffer(d->dev, b->buf, NULL);
    if (b->mem) d->fn.vkFreeMemory(d->dev, b->mem, NULL);
    memset(b, 0, sizeof *b);
}

qc_status qc_vk_flush(qc_device *d, vk_buf *b) {
    if (!b->recording) return NULL;
    b->recording = false;
    VkResult r = d->fn.vkEndCommandBuffer(b->cmd);
    if (r != VK_SUCCESS) return vk_fail("vkEndCommandBuffer", r);
    VkSubmitInfo si = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1,
                       .pCommandBuffers = &b->cmd};
    pthread_mutex_lock(&d->lock);   /* vkQueueSubmit needs the queue externally synchronized */
    r = d->fn.vkQueueSubmit(d->queue, 1, &si, b->fence);
    pthread_mutex_unlock(&d->lock);
    if (r != VK_SUCCESS) return vk_fail("vkQueueSubmit", r);
    r = d->fn.vkWaitForFences(d->dev, 1, &b->fence, VK_TRUE, UINT64_MAX);
    if (r != VK_SUCCESS) return vk_fail("vkWaitForFences", r);
    r = d->fn.vkResetFences(d->dev, 1, &b->fence);
    return r == VK_SUCCESS ? NULL : vk_fail("vkResetFences", r);
}

/* Command pool, buffer, fence and descriptor set of an arena, made at its
 * first dispatch; the set is rewritten when a session of another model
 * reuses the buffer. */
static qc_status arena_prepare(qc_device *d, const vk_model *vm, vk_buf *b) {
    VkResult r;
    if (!b->cmd_pool) {
        VkCommandPoolCreateInfo pi = {.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
                                      .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
                                      .queueFamilyIndex = d->queue_family};
        if ((r = d->fn.vkCreateCommandPool(d->dev, &pi, NULL, &b->cmd_pool)) != VK_SUCCESS)
            return vk_fail("vkCreateCommandPool", r);
        VkCommandBufferAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
                                          .commandPool = b->cmd_pool,
                                          .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY, .commandBufferCount = 1};
        if ((r = d->fn.vkAllocateCommandBuffers(d->dev, &ai, &b->cmd)) != VK_SUCCESS)
            return vk_fail("vkAllocateCommandBuffers", r);
        VkFenceCreateInfo fi = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
        if ((r = d->fn.vkCreateFence(d->dev, &fi, NULL, &b->fence)) != VK_SUCCESS)
            return vk_fail("vkCreateFence", r);
        VkDescriptorPoolSize ps = {VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 2};
        VkDescriptorPoolCreateInfo dp = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO,
                                         .maxSets = 1, .poolSizeCount = 1, .pPoolSizes = &ps};
        if ((r = d->fn.vkCreateDescriptorPool(d->dev, &dp, NULL, &b->desc_pool)) != VK_SUCCESS)
            return vk_fail("vkCreateDescriptorPool", r);
        VkDescriptorSetAllocateInfo sa = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
                                          .descriptorPool = b->desc_pool, .descriptorSetCount = 1,
                                          .pSetLayouts = &d->set_layout};
        if ((r = d->fn.vkAllocateDescriptorSets(d->dev, &sa, &b->set)) != VK_SUCCESS)
            return vk_fail("vkAllocateDescriptorSets", r);
    }
    if (b->set_model != vm) {
        VkDescriptorBufferInfo bi[2] = {{b->buf, 0, VK_WHOLE_SIZE}, {vm->consts.buf, 0, VK_WHOLE_SIZE}};
        VkWriteDescriptorSet w[2];
        for (int i = 0; i < 2; i++)
            w[i] = (VkWriteDescriptorSet){.sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET, .dstSet = b->set,
                                          .dstBinding = (uint32_t)i, .descriptorCount = 1,
                                          .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                                          .pBufferInfo = &bi[i]};
        d->fn.vkUpdateDescriptorSets(d->dev, 2, w, 0, NULL);
        b->set_model = vm;
    }
    return NULL;
}

/* Evaluates push constant p of kernel record k at this launch. */
static qc_status push_value(const qc_hal_launch *l, const uint8_t *p, uint32_t *out) {
    uint32_t kind = qc_le32(p), v = qc_le32(p + 4);
    int64_t x;
    if (kind == QC_VK_PUSH_LINEAR) {
        int64_t a = (int64_t)qc_le64(p + 8), b = (int64_t)qc_le64(p + 16);
        if (b && (l->batch > INT64_MAX / 4 / (b < 0 ? -b : b))) return qc_error(QC_ERR_INVALID, "overflow");
        x = a + b * l->batch;
    } else {   /* QC_VK_PUSH_VALUE_OFFSET, value checked by qc_vk_model_create */
        const qc_rt_value *rv = &l->model->values[v];
        x = rv->off_a + rv->off_b * l->batch;   /* the session checked it fits the arena */
    }
    if (x < 0 || x > UINT32_MAX)
        return qc_error(QC_ERR_UNSUPPORTED, "push constant %lld does not fit 32 bits", (long long)x);
    *out = (uint32_t)x;
    return NULL;
}

qc_status qc_vk_record(qc_device *d, const vk_model *vm, const qc_hal_launch *l, vk_buf *arena) {
    const qc_node *n = &l->model->nodes[l->node];
    const uint8_t *k = vm->sec + qc_le32(vm->sec + QC_VK_H_KERNELS_OFF) + (size_t)l->node * QC_VK_KERNEL_SIZE;
    int32_t sh = vm->variant[l->node];
    const uint8_t *srec = vm->sec + qc_le32(vm->sec + QC_VK_H_SHADERS_OFF) + (size_t)sh * QC_VK_SHADER_SIZE;
    uint32_t local = qc_le32(srec + 8), per_inv = qc_le32(k + QC_VK_K_PER_INV);
    uint32_t n_push = qc_le32(k + QC_VK_K_N_PUSH), push[QC_VK_MAX_PUSH] = {0};
    if (arena->size > d->caps.max_storage_range || arena->size > UINT32_MAX - 64)
        return qc_node_error(n, QC_ERR_UNSUPPORTED, "vulkan: the %zu-byte arena exceeds the device's "
                             "storage buffer range", arena->size);
    for (uint32_t i = 0; i < n_push; i++) {
        qc_status st = push_value(l, k + QC_VK_K_PUSH + i * QC_VK_PUSH_SIZE, &push[i]);
        if (st) return qc_status_wrap(st, "vulkan: node '%s', push constant %u", n->name ? n->name : "?", i);
    }
    int64_t ca = (int64_t)qc_le64(k + QC_VK_K_COUNT_A), cb = (int64_t)qc_le64(k + QC_VK_K_COUNT_B);
    if (cb && l->batch > (INT64_MAX / 4) / cb)
        return qc_node_error(n, QC_ERR_UNSUPPORTED, "vulkan: element count overflows");
    int64_t count = ca + cb * l->batch;
    if (count > UINT32_MAX)
        return qc_node_error(n, QC_ERR_UNSUPPORTED, "vulkan: %lld elements exceed 32-bit indexing",
                             (long long)count);
    uint64_t inv = ((uint64_t)count + per_inv - 1) / per_inv, groups = (inv + local - 1) / local;
    if (!groups) return NULL;
    uint64_t gx = groups < d->caps.max_groups_x ? groups : d->caps.max_groups_x;
    uint64_t gy = (groups + gx - 1) / gx;
    if (gy > 65535) return qc_node_error(n, QC_ERR_UNSUPPORTED, "vulkan: too many workgroups");
    qc_status st = arena_prepare(d, vm, arena);
    if (st) return st;
    VkResult r;
    if (!arena->recording) {
        VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
                                       .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT};
        if ((r = d->fn.vkBeginCommandBuffer(arena->cmd, &bi)) != VK_SUCCESS)
            return vk_fail("vkBeginCommandBuffer", r);
        arena->recording = true;
    } else {
        VkMemoryBarrier mb = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                              .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT,
                              .dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT};
        d->fn.vkCmdPipelineBarrier(arena->cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                                   VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, 0, 1, &mb, 0, NULL, 0, NULL);
    }
    d->fn.vkCmdBindPipeline(arena->cmd, VK_PIPELINE_BIND_POINT_COMPUTE, vm->pipelines[sh]);
    d->fn.vkCmdBindDescriptorSets(arena->cmd, VK_PIPELINE_BIND_POINT_COMPUTE, d->pipe_layout, 0, 1,
                                  &arena->set, 0, NULL);
    d->fn.vkCmdPushConstants(arena->cmd, d->pipe_layout, VK_SHADER_STAGE_COMPUTE_BIT, 0,
                             QC_VK_MAX_PUSH * 4, push);
    d->fn.vkCmdDispatch(arena->cmd, (uint32_t)gx, (uint32_t)gy, 1);
    return NULL;
}
