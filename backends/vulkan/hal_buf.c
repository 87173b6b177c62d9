/* hal_buf.c — vulkan buffers and the command recording of an arena.
 *
 * A run over an arena is a sequence of segments: the dispatches of
 * consecutive shader nodes up to a host synchronisation (a ref fallback
 * node, a copy touching the arena, the run's end), each segment recorded
 * into its own command buffer from the arena's own pool (sessions own their
 * arena, so no pool is ever used by two threads). Launches only note the
 * dispatch (vk_entry: model, node, pipeline, workgroups, push constants);
 * the flush records the segment's command buffer only when the noted
 * dispatches differ from what it was recorded with (first run, another
 * batch: other counts and offsets, an aborted run), else resubmits it as
 * it is, so a session running the same batch again records nothing.
 *
 * In a recorded segment consecutive dispatches are separated by a compute
 * -> compute memory barrier (a node reads what the previous ones wrote), the
 * last one by a compute -> host barrier (the outputs are read through the
 * mapping), and, where the queue has timestamps, a timestamp is written
 * before the first dispatch and after each one (n + 1 queries, reset in the
 * same command buffer), read back after the fence: dispatch i took
 * ts[i+1] - ts[i] ticks of timestampPeriod ns (the barrier included). */
#include <stdlib.h>
#include <time.h>
#include <string.h>

#include "backends/vulkan/hal_vk.h"
#include "runtime/artifact_format.h"

/* Bytes past the end a shader may read: the unaligned int8 row loads read
 * the word after the last one they need (lower_gemm.c load_a). */
#define TAIL_PAD 16

static qc_status vk_fail(const char *call, VkResult r) {
    return qc_error(QC_ERR_IO, "vulkan: %s failed: %s (%d)", call, qc_vk_result_name(r), (int)r);
}

/* One VkBuffer bound to its own allocation of memory type `type`. */
static qc_status make_buffer(qc_device *d, size_t size, VkBufferUsageFlags usage, uint32_t type, VkBuffer *buf,
                             VkDeviceMemory *mem) {
    VkBufferCreateInfo bi = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO, .size = size, .usage = usage,
                             .sharingMode = VK_SHARING_MODE_EXCLUSIVE};
    VkResult r = d->fn.vkCreateBuffer(d->dev, &bi, NULL, buf);
    if (r != VK_SUCCESS) return vk_fail("vkCreateBuffer", r);
    VkMemoryRequirements req;
    d->fn.vkGetBufferMemoryRequirements(d->dev, *buf, &req);
    if (!(req.memoryTypeBits & (1u << type)))
        return qc_error(QC_ERR_UNSUPPORTED, "vulkan: these buffers cannot use memory type %u", type);
    VkMemoryAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO, .allocationSize = req.size,
                               .memoryTypeIndex = type};
    if ((r = d->fn.vkAllocateMemory(d->dev, &ai, NULL, mem)) != VK_SUCCESS)
        return qc_error(QC_ERR_NOMEM, "vulkan: vkAllocateMemory of %zu bytes failed: %s", size,
                        qc_vk_result_name(r));
    if ((r = d->fn.vkBindBufferMemory(d->dev, *buf, *mem, 0)) != VK_SUCCESS) return vk_fail("vkBindBufferMemory", r);
    return NULL;
}

qc_status qc_vk_buf_create(qc_device *d, size_t bytes, vk_buf *b) {
    memset(b, 0, sizeof *b);
    if (bytes > SIZE_MAX - 64 - TAIL_PAD)
        return qc_error(QC_ERR_NOMEM, "vulkan: %zu bytes is too large", bytes);
    size_t alloc = (bytes + TAIL_PAD + 63) / 64 * 64;
    b->alloc = alloc;
    b->staged = d->staging;
    /* Staged: the shaders' buffer in device-local memory, never mapped, and
     * a host-visible twin of the same size that copies go through. */
    VkBufferUsageFlags use = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT |
                             (b->staged ? VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT : 0);
    qc_status st = make_buffer(d, alloc, use, b->staged ? d->mem_dev : d->mem_type, &b->buf, &b->mem);
    if (!st && b->staged)
        st = make_buffer(d, alloc, VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT, d->mem_type,
                         &b->sbuf, &b->smem);
    VkResult r;
    if (!st && (r = d->fn.vkMapMemory(d->dev, b->staged ? b->smem : b->mem, 0, VK_WHOLE_SIZE, 0, &b->map)) != VK_SUCCESS)
        st = vk_fail("vkMapMemory", r);
    if (!st) memset(b->map, 0, alloc);   /* the padding is read (and multiplied by zero weights) */
    if (!st && b->staged) st = qc_vk_stage(d, b, true, 0, alloc);
    if (st) {
        qc_vk_buf_destroy(d, b);
        return st;
    }
    b->size = bytes;
    return NULL;
}

/* Command pool and fence of a buffer, made at its first use. */
static qc_status ensure_pool(qc_device *d, vk_buf *b) {
    VkResult r;
    if (b->cmd_pool) return NULL;
    VkCommandPoolCreateInfo pi = {.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
                                  .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
                                  .queueFamilyIndex = d->queue_family};
    if ((r = d->fn.vkCreateCommandPool(d->dev, &pi, NULL, &b->cmd_pool)) != VK_SUCCESS)
        return vk_fail("vkCreateCommandPool", r);
    VkFenceCreateInfo fi = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    if ((r = d->fn.vkCreateFence(d->dev, &fi, NULL, &b->fence)) != VK_SUCCESS) return vk_fail("vkCreateFence", r);
    return NULL;
}

static qc_status submit_wait(qc_device *d, vk_buf *b, VkCommandBuffer cmd) {
    VkSubmitInfo si = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1, .pCommandBuffers = &cmd};
    pthread_mutex_lock(&d->lock);   /* vkQueueSubmit needs the queue externally synchronized */
    VkResult r = d->fn.vkQueueSubmit(d->queue, 1, &si, b->fence);
    pthread_mutex_unlock(&d->lock);
    if (r != VK_SUCCESS) return vk_fail("vkQueueSubmit", r);
    r = d->fn.vkWaitForFences(d->dev, 1, &b->fence, VK_TRUE, UINT64_MAX);
    if (r != VK_SUCCESS) return vk_fail("vkWaitForFences", r);
    if ((r = d->fn.vkResetFences(d->dev, 1, &b->fence)) != VK_SUCCESS) return vk_fail("vkResetFences", r);
    return NULL;
}

qc_status qc_vk_stage(qc_device *d, vk_buf *b, bool up, size_t off, size_t bytes) {
    if (!b->staged || !bytes) return NULL;
    if (off > b->alloc || bytes > b->alloc - off) return qc_error(QC_ERR_INVALID, "vulkan: staging copy out of range");
    qc_status st = ensure_pool(d, b);
    if (st) return st;
    VkResult r;
    if (!b->xcmd) {
        VkCommandBufferAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
                                          .commandPool = b->cmd_pool,
                                          .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY, .commandBufferCount = 1};
        if ((r = d->fn.vkAllocateCommandBuffers(d->dev, &ai, &b->xcmd)) != VK_SUCCESS)
            return vk_fail("vkAllocateCommandBuffers", r);
    }
    VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
                                   .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT};
    if ((r = d->fn.vkBeginCommandBuffer(b->xcmd, &bi)) != VK_SUCCESS) return vk_fail("vkBeginCommandBuffer", r);
    VkBufferCopy region = {off, off, bytes};
    d->fn.vkCmdCopyBuffer(b->xcmd, up ? b->sbuf : b->buf, up ? b->buf : b->sbuf, 1, &region);
    /* The copy's writes before whatever comes next: shaders reading the
     * arena, another copy, the host reading the staging twin. */
    VkMemoryBarrier mb = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER, .srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT,
                          .dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT |
                                           VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT |
                                           VK_ACCESS_HOST_READ_BIT};
    d->fn.vkCmdPipelineBarrier(b->xcmd, VK_PIPELINE_STAGE_TRANSFER_BIT,
                               VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT |
                                   VK_PIPELINE_STAGE_HOST_BIT,
                               0, 1, &mb, 0, NULL, 0, NULL);
    if ((r = d->fn.vkEndCommandBuffer(b->xcmd)) != VK_SUCCESS) return vk_fail("vkEndCommandBuffer", r);
    return submit_wait(d, b, b->xcmd);
}

static void seg_free(qc_device *d, vk_seg *s) {
    if (s->queries) d->fn.vkDestroyQueryPool(d->dev, s->queries, NULL);
    free(s->e);
    memset(s, 0, sizeof *s);
}

void qc_vk_buf_destroy(qc_device *d, vk_buf *b) {
    /* Every submit is waited for (qc_vk_flush), so nothing runs on b now;
     * dispatches noted but not submitted (a failed run) are dropped. */
    for (int32_t i = 0; i < b->n_segs; i++) seg_free(d, &b->segs[i]);
    free(b->segs);
    free(b->ts);
    if (b->fence) d->fn.vkDestroyFence(d->dev, b->fence, NULL);
    if (b->cmd_pool) d->fn.vkDestroyCommandPool(d->dev, b->cmd_pool, NULL);   /* frees the segments' buffers */
    if (b->desc_pool) d->fn.vkDestroyDescriptorPool(d->dev, b->desc_pool, NULL);
    if (b->map) d->fn.vkUnmapMemory(d->dev, b->staged ? b->smem : b->mem);
    if (b->buf) d->fn.vkDestroyBuffer(d->dev, b->buf, NULL);
    if (b->mem) d->fn.vkFreeMemory(d->dev, b->mem, NULL);
    if (b->sbuf) d->fn.vkDestroyBuffer(d->dev, b->sbuf, NULL);
    if (b->smem) d->fn.vkFreeMemory(d->dev, b->smem, NULL);
    memset(b, 0, sizeof *b);
}

/* Command pool, fence and descriptor set of an arena, made at its first
 * dispatch; the set is rewritten when a session of another model reuses the
 * buffer, which invalidates every command buffer that bound it. */
static qc_status arena_prepare(qc_device *d, const vk_model *vm, vk_buf *b) {
    VkResult r;
    qc_status st = ensure_pool(d, b);
    if (st) return st;
    if (!b->desc_pool) {
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
        for (int32_t i = 0; i < b->n_segs; i++) b->segs[i].valid = false;
    }
    return NULL;
}

/* Records segment s (its n dispatches) into its command buffer. */
static qc_status seg_record(qc_device *d, vk_buf *b, vk_seg *s) {
    VkResult r;
    s->valid = false;
    if (!s->cmd) {
        VkCommandBufferAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
                                          .commandPool = b->cmd_pool,
                                          .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY, .commandBufferCount = 1};
        if ((r = d->fn.vkAllocateCommandBuffers(d->dev, &ai, &s->cmd)) != VK_SUCCESS)
            return vk_fail("vkAllocateCommandBuffers", r);
    }
    uint32_t nq = (uint32_t)s->n + 1;
    if (d->timestamps && s->n_queries < nq) {
        if (s->queries) d->fn.vkDestroyQueryPool(d->dev, s->queries, NULL);
        s->queries = VK_NULL_HANDLE;
        s->n_queries = 0;
        VkQueryPoolCreateInfo qi = {.sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO,
                                    .queryType = VK_QUERY_TYPE_TIMESTAMP, .queryCount = nq};
        if ((r = d->fn.vkCreateQueryPool(d->dev, &qi, NULL, &s->queries)) != VK_SUCCESS)
            return vk_fail("vkCreateQueryPool", r);
        s->n_queries = nq;
    }
    if (d->timestamps && b->ts_cap < nq) {
        uint64_t *ts = realloc(b->ts, sizeof *ts * nq);
        if (!ts) return qc_error(QC_ERR_NOMEM, "vulkan: out of memory");
        b->ts = ts;
        b->ts_cap = nq;
    }
    /* No ONE_TIME_SUBMIT: the point is resubmitting it. Begin resets it
     * (the pool has RESET_COMMAND_BUFFER_BIT). */
    VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
    if ((r = d->fn.vkBeginCommandBuffer(s->cmd, &bi)) != VK_SUCCESS) return vk_fail("vkBeginCommandBuffer", r);
    VkCommandBuffer c = s->cmd;
    if (d->timestamps) {
        d->fn.vkCmdResetQueryPool(c, s->queries, 0, nq);
        d->fn.vkCmdWriteTimestamp(c, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, s->queries, 0);
    }
    d->fn.vkCmdBindDescriptorSets(c, VK_PIPELINE_BIND_POINT_COMPUTE, d->pipe_layout, 0, 1, &b->set, 0, NULL);
    VkPipeline bound = VK_NULL_HANDLE;
    for (int32_t i = 0; i < s->n; i++) {
        const vk_entry *e = &s->e[i];
        if (i) {
            VkMemoryBarrier mb = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                                  .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT,
                                  .dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT};
            d->fn.vkCmdPipelineBarrier(c, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                                       0, 1, &mb, 0, NULL, 0, NULL);
        }
        if (e->pipe != bound) d->fn.vkCmdBindPipeline(c, VK_PIPELINE_BIND_POINT_COMPUTE, e->pipe);
        bound = e->pipe;
        d->fn.vkCmdPushConstants(c, d->pipe_layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, QC_VK_MAX_PUSH * 4, e->push);
        d->fn.vkCmdDispatch(c, e->gx, e->gy, 1);
        if (d->timestamps)
            d->fn.vkCmdWriteTimestamp(c, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, s->queries, (uint32_t)i + 1);
    }
    /* The host (outputs, ref nodes) or, staged, a copy reads what the
     * shaders wrote; a staged upload must not overwrite what they read. */
    VkMemoryBarrier hb = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER, .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT,
                          .dstAccessMask = VK_ACCESS_HOST_READ_BIT | VK_ACCESS_TRANSFER_READ_BIT};
    d->fn.vkCmdPipelineBarrier(c, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                               VK_PIPELINE_STAGE_HOST_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 1, &hb, 0, NULL, 0,
                               NULL);
    if ((r = d->fn.vkEndCommandBuffer(c)) != VK_SUCCESS) return vk_fail("vkEndCommandBuffer", r);
    s->valid = true;
    return NULL;
}

/* The segment's timestamps: the run's device time, and the profile. */
static qc_status seg_times(qc_device *d, vk_buf *b, const vk_seg *s) {
    uint32_t nq = (uint32_t)s->n + 1;
    VkResult r = d->fn.vkGetQueryPoolResults(d->dev, s->queries, 0, nq, sizeof *b->ts * nq, b->ts,
                                             sizeof *b->ts, VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT);
    if (r != VK_SUCCESS) return vk_fail("vkGetQueryPoolResults", r);
    uint64_t mask = d->caps.timestamp_bits >= 64 ? UINT64_MAX : (UINT64_C(1) << d->caps.timestamp_bits) - 1;
    for (int32_t i = 0; i < s->n; i++) {
        /* Masked difference: a counter of fewer than 64 bits may wrap. */
        uint64_t ticks = (b->ts[i + 1] - b->ts[i]) & mask;
        int64_t ns = (int64_t)((double)ticks * (double)d->caps.timestamp_period + 0.5);
        b->run_ns += ns;
        const vk_entry *e = &s->e[i];
        if (e->model->prof) {
            vk_prof *p = &e->model->prof[e->node];
            atomic_fetch_add_explicit(&p->ns_total, ns, memory_order_relaxed);
            atomic_store_explicit(&p->ns_last, ns, memory_order_relaxed);
            atomic_fetch_add_explicit(&p->runs, 1, memory_order_relaxed);
        }
    }
    return NULL;
}

qc_status qc_vk_flush(qc_device *d, vk_buf *b) {
    if (b->pos == 0) return NULL;
    vk_seg *s = &b->segs[b->cur];
    int32_t n = b->pos;
    b->pos = 0;
    b->cur++;
    qc_status st = NULL;
    if (!s->valid || s->n != n) {
        s->n = n;
        if ((st = seg_record(d, b, s))) return st;
        b->run_recorded++;
    }
    if ((st = submit_wait(d, b, s->cmd))) return st;
    return d->timestamps ? seg_times(d, b, s) : NULL;
}

void qc_vk_run_begin(vk_buf *b) {
    /* Dispatches a failed run noted but never submitted are forgotten; the
     * segment they went to was marked invalid when they differed. */
    b->cur = 0;
    b->pos = 0;
    b->run_ns = 0;
    b->run_recorded = 0;
}

qc_status qc_vk_run_end(qc_device *d, vk_buf *b, qc_hal_run_stats *stats) {
    qc_status st = qc_vk_flush(d, b);
    stats->device_ns = d->timestamps ? b->run_ns : -1;
    stats->recorded = b->run_recorded;
    b->cur = 0;
    return st;
}

static bool entry_eq(const vk_entry *a, const vk_entry *b) {
    return a->model == b->model && a->node == b->node && a->pipe == b->pipe && a->gx == b->gx &&
           a->gy == b->gy && !memcmp(a->push, b->push, sizeof a->push);
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
    vk_entry e = {.model = vm, .node = l->node, .pipe = vm->pipelines[sh], .gx = (uint32_t)gx,
                  .gy = (uint32_t)gy};
    memcpy(e.push, push, sizeof e.push);
    if (arena->cur == arena->n_segs) {
        if (arena->n_segs >= INT32_MAX / 2) return qc_error(QC_ERR_NOMEM, "vulkan: too many segments");
        vk_seg *segs = realloc(arena->segs, sizeof *segs * (size_t)(arena->n_segs + 1));
        if (!segs) return qc_error(QC_ERR_NOMEM, "vulkan: out of memory");
        arena->segs = segs;
        memset(&segs[arena->n_segs++], 0, sizeof *segs);
    }
    vk_seg *s = &arena->segs[arena->cur];
    int32_t at = arena->pos;
    if (s->valid && at < s->n && entry_eq(&s->e[at], &e)) {   /* as recorded: replay */
        arena->pos++;
        return NULL;
    }
    if (at == s->cap) {
        int32_t cap = s->cap ? 2 * s->cap : 16;
        vk_entry *ne = realloc(s->e, sizeof *ne * (size_t)cap);
        if (!ne) return qc_error(QC_ERR_NOMEM, "vulkan: out of memory");
        s->e = ne;
        s->cap = cap;
    }
    s->valid = false;   /* e[at] changes: the command buffer no longer matches */
    s->e[at] = e;
    arena->pos++;
    return NULL;
}
