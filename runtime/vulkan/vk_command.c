/* Recording: dispatches go into one open command buffer; a compute->compute barrier is recorded
 * only when a dispatch touches memory that an earlier dispatch since the last barrier wrote (RAW,
 * WAW) or that it writes and an earlier one read (WAR). Submit waits on a fence with a timeout.
 *
 * Where they go is a stream: the backend's own (reset and reused after every submit) or a graph's
 * (kept after submit: its command buffer, descriptor sets and scratch are re-submitted as they are,
 * so a replay allocates nothing). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vulkan/vk_internal.h"

#define SETS_PER_POOL 256
#define SCRATCH_MIN_BYTES ((VkDeviceSize)32 << 20)
#define GRAPH_SCRATCH_MIN_BYTES ((VkDeviceSize)4 << 20) /* a graph keeps its scratch: smaller blocks */
#define MAX_TRACKED 256
#define DEFAULT_FENCE_TIMEOUT_NS 120000000000ull /* lavapipe is slow: 2 minutes before we give up */

typedef struct tracked_range {
  VkBuffer buffer;
  VkDeviceSize begin, end;
} tracked_range;

typedef struct scratch_block {
  hatch_vk_buffer buf;
  VkDeviceSize used;
} scratch_block;

typedef struct vk_stream {
  VkCommandBuffer cmd;
  bool open;
  bool graph;    /* a recorded graph: nothing is reset after a submit */
  bool recorded; /* graph: capture ended, the command buffer is executable */
  uint32_t n_dispatches;

  VkDescriptorPool *desc_pools; /* (n_desc_pools); the backend's stream resets them at submit */
  int n_desc_pools, desc_pool_cap, desc_pool_current, sets_in_current;

  scratch_block *scratch; /* (n_scratch); the backend's stream reuses them after each submit */
  int n_scratch;

  tracked_range written[MAX_TRACKED], read[MAX_TRACKED];
  int n_written, n_read;
} vk_stream;

struct hatch_vk_recorder {
  VkCommandPool pool;
  VkCommandBuffer copy_cmd;
  VkFence fence;
  VkQueryPool timestamps;
  bool in_flight; /* submitted, completion not yet seen (a wait timed out) */
  bool lost;      /* after VK_ERROR_DEVICE_LOST nothing more is submitted */
  uint64_t fence_timeout_ns;
  vk_stream main;    /* the backend's batch */
  vk_stream *cur;    /* where dispatches go: &main, or the graph being captured */
  vk_stream *flight; /* the stream submitted last */
};

static hatch_status wait_in_flight(hatch_vk_backend *vk);

static hatch_status mark_lost(hatch_vk_backend *vk, VkResult r) {
  if (r == VK_ERROR_DEVICE_LOST) {
    vk->rec->lost = true;
    fprintf(stderr, "hatch: vulkan device '%s' lost; the backend refuses further work\n", vk->caps.device_name);
  }
  return hatch_vk_result(r);
}

hatch_status hatch_vk_recorder_create(hatch_vk_backend *vk) {
  hatch_vk_recorder *rec = calloc(1, sizeof(*rec));
  if (!rec) return HATCH_ERR_OUT_OF_MEMORY;
  vk->rec = rec;
  rec->fence_timeout_ns = DEFAULT_FENCE_TIMEOUT_NS;
  const char *env = getenv("HATCH_VK_TIMEOUT_MS");
  if (env && atoll(env) > 0) rec->fence_timeout_ns = (uint64_t)atoll(env) * 1000000ull;

  VkCommandPoolCreateInfo pci = {
      .sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
      .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
      .queueFamilyIndex = vk->queue_family,
  };
  VkResult r = vkCreateCommandPool(vk->device, &pci, NULL, &rec->pool);
  if (r != VK_SUCCESS) return hatch_vk_result(r);
  VkCommandBuffer cmds[2];
  VkCommandBufferAllocateInfo cai = {
      .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
      .commandPool = rec->pool,
      .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
      .commandBufferCount = 2,
  };
  r = vkAllocateCommandBuffers(vk->device, &cai, cmds);
  if (r != VK_SUCCESS) return hatch_vk_result(r);
  rec->main.cmd = cmds[0];
  rec->copy_cmd = cmds[1];
  rec->cur = rec->flight = &rec->main;
  VkFenceCreateInfo fci = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
  r = vkCreateFence(vk->device, &fci, NULL, &rec->fence);
  if (r != VK_SUCCESS) return hatch_vk_result(r);
  if (vk->caps.timestamps) {
    VkQueryPoolCreateInfo qci = {
        .sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO, .queryType = VK_QUERY_TYPE_TIMESTAMP, .queryCount = 2};
    if (vkCreateQueryPool(vk->device, &qci, NULL, &rec->timestamps) != VK_SUCCESS) rec->timestamps = VK_NULL_HANDLE;
  }
  return HATCH_OK;
}

static void stream_release(hatch_vk_backend *vk, vk_stream *s) {
  for (int i = 0; i < s->n_scratch; i++) hatch_vk_buffer_destroy(vk, &s->scratch[i].buf);
  free(s->scratch);
  for (int i = 0; i < s->n_desc_pools; i++) vkDestroyDescriptorPool(vk->device, s->desc_pools[i], NULL);
  free(s->desc_pools);
  s->scratch = NULL, s->desc_pools = NULL;
  s->n_scratch = s->n_desc_pools = 0;
}

void hatch_vk_recorder_destroy(hatch_vk_backend *vk) {
  hatch_vk_recorder *rec = vk->rec;
  if (!rec) return;
  stream_release(vk, &rec->main);
  if (rec->timestamps) vkDestroyQueryPool(vk->device, rec->timestamps, NULL);
  if (rec->fence) vkDestroyFence(vk->device, rec->fence, NULL);
  if (rec->pool) vkDestroyCommandPool(vk->device, rec->pool, NULL);
  free(rec);
  vk->rec = NULL;
}

uint32_t hatch_vk_pending_dispatches(const hatch_vk_backend *vk) { return vk->rec->cur->n_dispatches; }

/* Compute and transfer writes before it become visible to compute and transfer work after it. */
static void record_barrier(VkCommandBuffer cmd) {
  VkMemoryBarrier mb = {
      .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
      .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
      .dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_READ_BIT |
                       VK_ACCESS_TRANSFER_WRITE_BIT,
  };
  VkPipelineStageFlags stages = VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT;
  vkCmdPipelineBarrier(cmd, stages, stages, 0, 1, &mb, 0, NULL, 0, NULL);
}

static hatch_status begin_if_needed(hatch_vk_backend *vk) {
  hatch_vk_recorder *rec = vk->rec;
  vk_stream *s = rec->cur;
  if (rec->lost) return HATCH_ERR_DEVICE_LOST;
  if (s->open) return HATCH_OK;
  if (s->recorded) return HATCH_ERR_INVALID_ARGUMENT; /* a finished graph takes no more work */
  hatch_status st = wait_in_flight(vk); /* a timed-out batch still owns the command buffer */
  if (st != HATCH_OK) return st;
  /* A graph is submitted again and again (one submission at a time: every run waits). */
  VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
                                 .flags = s->graph ? 0 : VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT};
  VkResult r = vkBeginCommandBuffer(s->cmd, &bi);
  if (r != VK_SUCCESS) return hatch_vk_result(r);
  if (rec->timestamps) {
    vkCmdResetQueryPool(s->cmd, rec->timestamps, 0, 2);
    vkCmdWriteTimestamp(s->cmd, VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, rec->timestamps, 0);
  }
  /* why: writes of earlier submissions (batches, staging copies, host writes) must be visible to
   * this batch; a fence orders execution only, a barrier's first scope reaches back through
   * submission order */
  record_barrier(s->cmd);
  s->open = true;
  s->n_written = s->n_read = 0;
  return HATCH_OK;
}

static hatch_status allocate_set(hatch_vk_backend *vk, VkDescriptorSetLayout layout, VkDescriptorSet *out) {
  vk_stream *rec = vk->rec->cur;
  if (rec->n_desc_pools == 0 || rec->sets_in_current == SETS_PER_POOL) {
    if (rec->desc_pool_current + 1 < rec->n_desc_pools) {
      rec->desc_pool_current++; /* a pool kept from an earlier batch */
    } else {
      if (rec->n_desc_pools == rec->desc_pool_cap) {
        int cap = rec->desc_pool_cap ? 2 * rec->desc_pool_cap : 4;
        VkDescriptorPool *pools = realloc(rec->desc_pools, sizeof(*pools) * (size_t)cap);
        if (!pools) return HATCH_ERR_OUT_OF_MEMORY;
        rec->desc_pools = pools;
        rec->desc_pool_cap = cap;
      }
      VkDescriptorPoolSize size = {VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, SETS_PER_POOL * HATCH_VK_MAX_BINDINGS};
      VkDescriptorPoolCreateInfo ci = {
          .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO,
          .maxSets = SETS_PER_POOL,
          .poolSizeCount = 1,
          .pPoolSizes = &size,
      };
      VkResult r = vkCreateDescriptorPool(vk->device, &ci, NULL, &rec->desc_pools[rec->n_desc_pools]);
      if (r != VK_SUCCESS) return hatch_vk_result(r);
      vk->be->allocations++;
      rec->desc_pool_current = rec->n_desc_pools++;
    }
    rec->sets_in_current = 0;
  }
  VkDescriptorSetAllocateInfo ai = {
      .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
      .descriptorPool = rec->desc_pools[rec->desc_pool_current],
      .descriptorSetCount = 1,
      .pSetLayouts = &layout,
  };
  VkResult r = vkAllocateDescriptorSets(vk->device, &ai, out);
  if (r != VK_SUCCESS) return hatch_vk_result(r);
  rec->sets_in_current++;
  vk->be->allocations++;
  return HATCH_OK;
}

static bool overlaps(const tracked_range *set, int n, const hatch_vk_binding *b) {
  for (int i = 0; i < n; i++)
    if (set[i].buffer == b->buffer && set[i].begin < b->offset + b->range && b->offset < set[i].end) return true;
  return false;
}

static void track(tracked_range *set, int *n, const hatch_vk_binding *b) {
  if (*n < MAX_TRACKED) set[(*n)++] = (tracked_range){b->buffer, b->offset, b->offset + b->range};
}

/* Records the barrier that orders this dispatch after the ones before it, if it needs one. */
static void order_after_previous(vk_stream *rec, const hatch_vk_binding *b, int n) {
  bool hazard = rec->n_written == MAX_TRACKED || rec->n_read == MAX_TRACKED;
  for (int i = 0; i < n && !hazard; i++)
    hazard = overlaps(rec->written, rec->n_written, &b[i]) || (b[i].write && overlaps(rec->read, rec->n_read, &b[i]));
  if (hazard) {
    /* why: a later dispatch reads what an earlier one wrote (or overwrites what it read). */
    record_barrier(rec->cmd);
    rec->n_written = rec->n_read = 0;
  }
  for (int i = 0; i < n; i++) track(b[i].write ? rec->written : rec->read, b[i].write ? &rec->n_written : &rec->n_read, &b[i]);
}

hatch_status hatch_vk_dispatch(hatch_vk_backend *vk, const hatch_vk_dispatch_desc *d) {
  for (int i = 0; i < 3; i++)
    if (d->groups[i] == 0 || d->groups[i] > vk->caps.max_workgroup_count[i]) return HATCH_ERR_TOO_LARGE;
  hatch_vk_pipeline *p;
  hatch_status st = hatch_vk_pipeline_get(vk, d->variant, d->spec, d->n_spec, d->n_bindings, d->push_size, &p);
  if (st != HATCH_OK) return st;
  st = begin_if_needed(vk);
  if (st != HATCH_OK) return st;
  VkDescriptorSet set;
  st = allocate_set(vk, hatch_vk_pipeline_set_layout(p), &set);
  if (st != HATCH_OK) return st;

  VkDescriptorBufferInfo infos[HATCH_VK_MAX_BINDINGS];
  VkWriteDescriptorSet writes[HATCH_VK_MAX_BINDINGS];
  for (int i = 0; i < d->n_bindings; i++) {
    infos[i] = (VkDescriptorBufferInfo){d->bindings[i].buffer, d->bindings[i].offset, d->bindings[i].range};
    writes[i] = (VkWriteDescriptorSet){
        .sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET,
        .dstSet = set,
        .dstBinding = (uint32_t)i,
        .descriptorCount = 1,
        .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
        .pBufferInfo = &infos[i],
    };
  }
  vkUpdateDescriptorSets(vk->device, (uint32_t)d->n_bindings, writes, 0, NULL);

  vk_stream *rec = vk->rec->cur;
  order_after_previous(rec, d->bindings, d->n_bindings);
  vkCmdBindPipeline(rec->cmd, VK_PIPELINE_BIND_POINT_COMPUTE, hatch_vk_pipeline_handle(p));
  vkCmdBindDescriptorSets(rec->cmd, VK_PIPELINE_BIND_POINT_COMPUTE, hatch_vk_pipeline_layout(p), 0, 1, &set, 0, NULL);
  if (d->push_size)
    vkCmdPushConstants(rec->cmd, hatch_vk_pipeline_layout(p), VK_SHADER_STAGE_COMPUTE_BIT, 0, d->push_size, d->push);
  vkCmdDispatch(rec->cmd, d->groups[0], d->groups[1], d->groups[2]);
  rec->n_dispatches++;
  return HATCH_OK;
}

hatch_status hatch_vk_record_copy(hatch_vk_backend *vk, VkBuffer src, VkBuffer dst, VkDeviceSize size) {
  hatch_status st = begin_if_needed(vk);
  if (st != HATCH_OK) return st;
  hatch_vk_binding b[2] = {{src, 0, size, false}, {dst, 0, size, true}};
  order_after_previous(vk->rec->cur, b, 2);
  VkBufferCopy region = {0, 0, size};
  vkCmdCopyBuffer(vk->rec->cur->cmd, src, dst, 1, &region);
  vk->rec->cur->n_dispatches++;
  return HATCH_OK;
}

hatch_status hatch_vk_scratch(hatch_vk_backend *vk, VkDeviceSize size, hatch_vk_binding *out) {
  vk_stream *rec = vk->rec->cur;
  VkDeviceSize align = vk->caps.min_storage_offset_align ? vk->caps.min_storage_offset_align : 16;
  if (size > vk->caps.max_storage_buffer_range) return HATCH_ERR_TOO_LARGE;
  for (int i = 0; i < rec->n_scratch; i++) {
    scratch_block *s = &rec->scratch[i];
    VkDeviceSize at = (s->used + align - 1) / align * align;
    if (at + size <= s->buf.size) {
      *out = (hatch_vk_binding){s->buf.buffer, at, size, true};
      s->used = at + size;
      return HATCH_OK;
    }
  }
  scratch_block *grown = realloc(rec->scratch, sizeof(*grown) * (size_t)(rec->n_scratch + 1));
  if (!grown) return HATCH_ERR_OUT_OF_MEMORY;
  rec->scratch = grown;
  scratch_block *s = &rec->scratch[rec->n_scratch];
  VkDeviceSize min_bytes = rec->graph ? GRAPH_SCRATCH_MIN_BYTES : SCRATCH_MIN_BYTES;
  VkDeviceSize bytes = size > min_bytes ? size : min_bytes;
  if (bytes > vk->caps.max_storage_buffer_range) bytes = vk->caps.max_storage_buffer_range;
  hatch_status st = hatch_vk_buffer_create(vk, bytes, HATCH_VK_MEM_DEVICE, &s->buf);
  if (st != HATCH_OK) return st;
  rec->n_scratch++;
  s->used = size;
  *out = (hatch_vk_binding){s->buf.buffer, 0, size, true};
  return HATCH_OK;
}

hatch_status hatch_vk_scratch_upload(hatch_vk_backend *vk, const void *data, VkDeviceSize size, hatch_vk_binding *out) {
  hatch_status st = hatch_vk_scratch(vk, size, out);
  if (st != HATCH_OK) return st;
  out->write = false;
  /* The range is fresh in this batch: no recorded dispatch touches it, so writing it now is safe. */
  vk_stream *s = vk->rec->cur;
  for (int i = 0; i < s->n_scratch; i++)
    if (s->scratch[i].buf.buffer == out->buffer) return hatch_vk_buffer_upload(vk, &s->scratch[i].buf, out->offset, data, size);
  return HATCH_ERR_INVALID_ARGUMENT;
}

/* The batch is over: its fence is free again, and for the backend's stream its descriptor sets,
 * scratch and command buffer too (a graph keeps them for the next run). */
static hatch_status finish_batch(hatch_vk_backend *vk, bool completed) {
  hatch_vk_recorder *rec = vk->rec;
  vk_stream *s = rec->flight;
  rec->in_flight = false;
  if (completed && rec->timestamps) {
    uint64_t ts[2];
    if (vkGetQueryPoolResults(vk->device, rec->timestamps, 0, 2, sizeof(ts), ts, sizeof(uint64_t),
                              VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT) == VK_SUCCESS) {
      uint64_t mask = vk->caps.timestamp_valid_bits >= 64 ? ~0ull : (1ull << vk->caps.timestamp_valid_bits) - 1;
      vk->be->last_batch_ns = (double)((ts[1] - ts[0]) & mask) * vk->caps.timestamp_period_ns;
    }
  }
  VkResult r = completed ? vkResetFences(vk->device, 1, &rec->fence) : VK_SUCCESS;
  rec->flight = &rec->main;
  if (s->graph) return hatch_vk_result(r);
  for (int i = 0; i < s->n_desc_pools; i++) vkResetDescriptorPool(vk->device, s->desc_pools[i], 0);
  s->desc_pool_current = 0;
  s->sets_in_current = 0;
  for (int i = 0; i < s->n_scratch; i++) s->scratch[i].used = 0;
  s->n_dispatches = 0;
  VkResult reset = vkResetCommandBuffer(s->cmd, 0);
  return hatch_vk_result(r != VK_SUCCESS ? r : reset);
}

/* Waits (up to the timeout) for the submitted batch. On VK_TIMEOUT the batch stays in flight and
 * owns its command buffer, descriptor sets and scratch: the caller hears ERR_TIMEOUT at once and
 * the next call waits again before reusing anything. Any other failure means the device is gone. */
static hatch_status wait_in_flight(hatch_vk_backend *vk) {
  hatch_vk_recorder *rec = vk->rec;
  if (!rec->in_flight) return HATCH_OK;
  VkResult r = hatch_vk_take_fault(vk, HATCH_VK_FAULT_FENCE_WAIT);
  if (r == VK_SUCCESS) r = vkWaitForFences(vk->device, 1, &rec->fence, VK_TRUE, rec->fence_timeout_ns);
  if (r == VK_TIMEOUT) {
    fprintf(stderr, "hatch: GPU work not finished after %.1f s (HATCH_VK_TIMEOUT_MS); it stays queued and the next "
            "call waits for it again\n", (double)rec->fence_timeout_ns * 1e-9);
    return HATCH_ERR_TIMEOUT;
  }
  if (r != VK_SUCCESS) {
    rec->lost = true;
    fprintf(stderr, "hatch: waiting for the GPU failed (%s); the backend refuses further work\n",
            hatch_vk_result_name(r));
    return hatch_vk_result(r);
  }
  return finish_batch(vk, true);
}

/* Drains the batch in flight without a timeout: only before memory it may use is freed. */
hatch_status hatch_vk_drain(hatch_vk_backend *vk) {
  hatch_status st = hatch_vk_submit(vk);
  if (st == HATCH_ERR_TIMEOUT && !vk->rec->lost) {
    VkResult r = vkQueueWaitIdle(vk->queue);
    st = r == VK_SUCCESS ? finish_batch(vk, true) : mark_lost(vk, r);
  }
  return st;
}

hatch_status hatch_vk_copy_now(hatch_vk_backend *vk, VkBuffer src, VkDeviceSize src_off, VkBuffer dst,
                               VkDeviceSize dst_off, VkDeviceSize size) {
  hatch_vk_recorder *rec = vk->rec;
  if (rec->lost) return HATCH_ERR_DEVICE_LOST;
  hatch_status st = wait_in_flight(vk); /* the fence is shared with batches */
  if (st != HATCH_OK) return st;
  VkCommandBufferBeginInfo bi = {
      .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO, .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT};
  VkResult r = vkBeginCommandBuffer(rec->copy_cmd, &bi);
  if (r != VK_SUCCESS) return hatch_vk_result(r);
  /* why: earlier batches' shader writes must be visible to this copy, and its writes to later ones
   * (a fence alone orders execution, not memory) */
  VkMemoryBarrier mb = {
      .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
      .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT | VK_ACCESS_HOST_WRITE_BIT,
      .dstAccessMask = VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
  };
  vkCmdPipelineBarrier(rec->copy_cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT |
                       VK_PIPELINE_STAGE_HOST_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 1, &mb, 0, NULL, 0, NULL);
  VkBufferCopy region = {src_off, dst_off, size};
  vkCmdCopyBuffer(rec->copy_cmd, src, dst, 1, &region);
  r = vkEndCommandBuffer(rec->copy_cmd);
  if (r != VK_SUCCESS) return hatch_vk_result(r);
  VkSubmitInfo si = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1, .pCommandBuffers = &rec->copy_cmd};
  r = vkQueueSubmit(vk->queue, 1, &si, rec->fence);
  if (r != VK_SUCCESS) return mark_lost(vk, r);
  /* A copy is short: one that outlives the timeout is treated as a hung device. */
  r = vkWaitForFences(vk->device, 1, &rec->fence, VK_TRUE, rec->fence_timeout_ns);
  if (r == VK_TIMEOUT) r = VK_ERROR_DEVICE_LOST;
  if (r != VK_SUCCESS) return mark_lost(vk, r);
  return hatch_vk_result(vkResetFences(vk->device, 1, &rec->fence));
}

/* Ends and submits stream s (the fence signals its end) and waits for it. */
static hatch_status submit_stream(hatch_vk_backend *vk, vk_stream *s) {
  hatch_vk_recorder *rec = vk->rec;
  if (s->open) {
    s->open = false;
    if (rec->timestamps) vkCmdWriteTimestamp(s->cmd, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, rec->timestamps, 1);
    VkResult r = vkEndCommandBuffer(s->cmd);
    if (r != VK_SUCCESS) {
      rec->flight = s;
      finish_batch(vk, false);
      return hatch_vk_result(r);
    }
  }
  VkSubmitInfo si = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1, .pCommandBuffers = &s->cmd};
  VkResult r = hatch_vk_take_fault(vk, HATCH_VK_FAULT_SUBMIT);
  if (r == VK_SUCCESS) r = vkQueueSubmit(vk->queue, 1, &si, rec->fence);
  rec->flight = s;
  if (r != VK_SUCCESS) {
    hatch_status st = mark_lost(vk, r);
    finish_batch(vk, false); /* nothing was queued: everything is free again */
    return st;
  }
  rec->in_flight = true;
  return wait_in_flight(vk);
}

hatch_status hatch_vk_submit(hatch_vk_backend *vk) {
  hatch_vk_recorder *rec = vk->rec;
  if (rec->lost) return HATCH_ERR_DEVICE_LOST;
  if (rec->cur != &rec->main) return HATCH_ERR_INVALID_ARGUMENT; /* a graph is being captured */
  if (!rec->main.open) return wait_in_flight(vk);
  return submit_stream(vk, &rec->main);
}

/* ---- graphs: a stream of their own, recorded once ---- */

hatch_status hatch_vk_graph_begin(hatch_backend *be, void **impl) {
  hatch_vk_backend *vk = hatch_vk(be);
  hatch_vk_recorder *rec = vk->rec;
  if (rec->cur != &rec->main) return HATCH_ERR_INVALID_ARGUMENT; /* one capture at a time */
  hatch_status st = hatch_vk_submit(vk); /* work recorded before the capture runs before it */
  if (st != HATCH_OK) return st;
  vk_stream *s = calloc(1, sizeof(*s));
  if (!s) return HATCH_ERR_OUT_OF_MEMORY;
  VkCommandBufferAllocateInfo cai = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
                                     .commandPool = rec->pool, .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
                                     .commandBufferCount = 1};
  VkResult r = vkAllocateCommandBuffers(vk->device, &cai, &s->cmd);
  if (r != VK_SUCCESS) {
    free(s);
    return hatch_vk_result(r);
  }
  be->allocations++;
  s->graph = true;
  rec->cur = s;
  *impl = s;
  return HATCH_OK;
}

hatch_status hatch_vk_graph_end(hatch_backend *be, void *impl) {
  hatch_vk_backend *vk = hatch_vk(be);
  vk_stream *s = impl;
  if (vk->rec->cur == s) vk->rec->cur = &vk->rec->main;
  if (!s->open) return s->n_dispatches ? HATCH_OK : HATCH_ERR_INVALID_ARGUMENT; /* nothing recorded */
  s->open = false;
  if (vk->rec->timestamps) vkCmdWriteTimestamp(s->cmd, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, vk->rec->timestamps, 1);
  VkResult r = vkEndCommandBuffer(s->cmd);
  if (r != VK_SUCCESS) return hatch_vk_result(r);
  s->recorded = true;
  return HATCH_OK;
}

hatch_status hatch_vk_graph_run(hatch_backend *be, void *impl) {
  hatch_vk_backend *vk = hatch_vk(be);
  vk_stream *s = impl;
  if (!s->recorded) return HATCH_ERR_INVALID_ARGUMENT;
  hatch_status st = hatch_vk_submit(vk); /* earlier recorded work first, and the fence free */
  if (st != HATCH_OK) return st;
  return submit_stream(vk, s);
}

void hatch_vk_graph_free(hatch_backend *be, void *impl) {
  hatch_vk_backend *vk = hatch_vk(be);
  vk_stream *s = impl;
  if (!s) return;
  if (vk->rec->cur == s) vk->rec->cur = &vk->rec->main;
  if (vk->rec->flight == s && vk->rec->in_flight) hatch_vk_drain(vk);
  if (vk->rec->flight == s) vk->rec->flight = &vk->rec->main;
  stream_release(vk, s);
  vkFreeCommandBuffers(vk->device, vk->rec->pool, 1, &s->cmd);
  free(s);
}
