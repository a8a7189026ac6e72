/* The Vulkan backend: creation, tensor storage and the op table.
 *
 * Device layouts: F32, I32 as on the host; F16 and U8 flat, read as 32-bit words (no 8/16-bit
 * storage needed); Q8_0 split per chunk into int8 quants packed four per word,
 * (rows, k/32, 8 words), followed by the fp16 scales packed two per word, (rows, k/32). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vulkan/vk_internal.h"

VkDeviceSize hatch_vk_rows_bytes(hatch_type type, int64_t ne0, int64_t rows) {
  if (type == HATCH_TYPE_Q8_0) return (VkDeviceSize)(rows * ne0); /* quants only; scales are placed after */
  return (hatch_type_row_bytes(type, ne0) * (VkDeviceSize)rows + 3) / 4 * 4;
}

static VkDeviceSize align_up(VkDeviceSize x, VkDeviceSize a) { return (x + a - 1) / a * a; }

static VkDeviceSize chunk_bytes(const hatch_vk_backend *vk, hatch_type type, int64_t ne0, int64_t rows,
                                VkDeviceSize *scales_offset) {
  VkDeviceSize bytes = hatch_vk_rows_bytes(type, ne0, rows);
  *scales_offset = 0;
  if (type == HATCH_TYPE_Q8_0) {
    VkDeviceSize align = vk->caps.min_storage_offset_align ? vk->caps.min_storage_offset_align : 16;
    *scales_offset = align_up(bytes, align);
    bytes = *scales_offset + align_up((VkDeviceSize)(rows * (ne0 / 32)) * 2, 4);
  }
  return bytes;
}

static hatch_status vk_tensor_alloc(hatch_backend *be, hatch_tensor *t) {
  hatch_vk_backend *vk = hatch_vk(be);
  int64_t rows = hatch_tensor_rows(t);
  VkDeviceSize so;
  /* Per row: the row's bytes (Q8_0: quants + fp16 scales); per chunk, once: the scales' alignment
   * and the rounding of each region to whole words. */
  VkDeviceSize row_bytes = t->type == HATCH_TYPE_Q8_0 ? (VkDeviceSize)(t->ne[0] + t->ne[0] / 16)
                                                      : hatch_type_row_bytes(t->type, t->ne[0]);
  VkDeviceSize slack = (vk->caps.min_storage_offset_align ? vk->caps.min_storage_offset_align : 16) + 8;
  if (vk->max_chunk_bytes <= slack) return HATCH_ERR_TOO_LARGE;
  int64_t rows_per_chunk = (int64_t)((vk->max_chunk_bytes - slack) / row_bytes);
  if (rows_per_chunk < 1) return HATCH_ERR_TOO_LARGE; /* one row over the binding limit */
  if (rows_per_chunk > rows) rows_per_chunk = rows;
  int64_t n_chunks64 = (rows + rows_per_chunk - 1) / rows_per_chunk;
  /* Drivers may allocate lazily (lavapipe over-commits host memory): refuse what the heap can't hold. */
  VkDeviceSize total = (VkDeviceSize)n_chunks64 * chunk_bytes(vk, t->type, t->ne[0], rows_per_chunk, &so);
  if (n_chunks64 > (1 << 20) || vk->allocated_bytes + total > vk->caps.device_local_bytes) {
    fprintf(stderr, "hatch: vulkan: a %.1f MiB tensor does not fit in %.1f MiB of device memory (%.1f MiB in use)\n",
            (double)total / 1048576.0, (double)vk->caps.device_local_bytes / 1048576.0,
            (double)vk->allocated_bytes / 1048576.0);
    return HATCH_ERR_OUT_OF_DEVICE_MEMORY;
  }
  int n_chunks = (int)n_chunks64;
  hatch_vk_tensor *vt = calloc(1, sizeof(*vt));
  if (!vt) return HATCH_ERR_OUT_OF_MEMORY;
  vt->chunks = calloc((size_t)n_chunks, sizeof(*vt->chunks));
  if (!vt->chunks) {
    free(vt);
    return HATCH_ERR_OUT_OF_MEMORY;
  }
  t->impl = vt;
  hatch_status st = HATCH_OK;
  for (int i = 0; i < n_chunks && st == HATCH_OK; i++) {
    hatch_vk_chunk *c = &vt->chunks[i];
    c->row_begin = i * rows_per_chunk;
    c->row_count = rows - c->row_begin < rows_per_chunk ? rows - c->row_begin : rows_per_chunk;
    VkDeviceSize bytes = chunk_bytes(vk, t->type, t->ne[0], c->row_count, &c->scales_offset);
    st = hatch_vk_buffer_create(vk, bytes, HATCH_VK_MEM_DEVICE, &c->buf);
    if (st == HATCH_OK) {
      vt->n_chunks++;
      vk->allocated_bytes += c->buf.size;
    }
  }
  if (st != HATCH_OK) be->vt->tensor_free(be, t);
  return st;
}

/* Chunks hold whole rows of the old shape: only a single-chunk tensor can take any new row length. */
static hatch_status vk_tensor_reshape(hatch_backend *be, hatch_tensor *t, const int64_t *ne) {
  hatch_vk_tensor *vt = (hatch_vk_tensor *)hatch_vk_tensor_of(t);
  if (ne[0] == t->ne[0]) return HATCH_OK; /* same rows: the chunks stay valid */
  if (vt->n_chunks != 1) return HATCH_ERR_UNSUPPORTED;
  vt->chunks[0].row_count = ne[1] * ne[2] * ne[3]; /* one chunk holds every row of any row length */
  return HATCH_OK;
}

static void vk_tensor_free(hatch_backend *be, hatch_tensor *t) {
  hatch_vk_tensor *vt = t->impl;
  if (!vt) return;
  /* Work recorded against this tensor must finish before its memory goes. */
  hatch_vk_drain(hatch_vk(be));
  for (int i = 0; i < vt->n_chunks; i++) {
    hatch_vk(be)->allocated_bytes -= vt->chunks[i].buf.size;
    hatch_vk_buffer_destroy(hatch_vk(be), &vt->chunks[i].buf);
  }
  free(vt->chunks);
  free(vt);
  t->impl = NULL;
}

const hatch_vk_tensor *hatch_vk_tensor_of(const hatch_tensor *t) { return t->impl; }

/* Host Q8_0 blocks <-> split device layout, for `rows` rows of k elements. */
static void q8_0_to_device(const hatch_block_q8_0 *src, int64_t rows, int64_t k, uint8_t *qs, uint16_t *scales) {
  int64_t nb = rows * (k / 32);
  for (int64_t b = 0; b < nb; b++) {
    memcpy(qs + b * 32, src[b].qs, 32);
    scales[b] = src[b].d;
  }
}

static void q8_0_from_device(const uint8_t *qs, const uint16_t *scales, int64_t rows, int64_t k,
                             hatch_block_q8_0 *dst) {
  int64_t nb = rows * (k / 32);
  for (int64_t b = 0; b < nb; b++) {
    memcpy(dst[b].qs, qs + b * 32, 32);
    dst[b].d = scales[b];
  }
}

static hatch_status vk_tensor_write(hatch_backend *be, hatch_tensor *t, const void *data) {
  hatch_vk_backend *vk = hatch_vk(be);
  hatch_status st = hatch_vk_submit(vk); /* recorded work may still read the old contents */
  if (st != HATCH_OK) return st;
  hatch_vk_tensor *vt = t->impl;
  size_t row_bytes = hatch_type_row_bytes(t->type, t->ne[0]);
  for (int i = 0; i < vt->n_chunks && st == HATCH_OK; i++) {
    hatch_vk_chunk *c = &vt->chunks[i];
    const char *src = (const char *)data + (size_t)c->row_begin * row_bytes;
    if (t->type != HATCH_TYPE_Q8_0) {
      st = hatch_vk_buffer_upload(vk, &c->buf, 0, src, row_bytes * (size_t)c->row_count);
      continue;
    }
    size_t qs_bytes = (size_t)(c->row_count * t->ne[0]);
    uint8_t *tmp = malloc(c->buf.size);
    if (!tmp) return HATCH_ERR_OUT_OF_MEMORY;
    memset(tmp, 0, c->buf.size);
    q8_0_to_device((const hatch_block_q8_0 *)src, c->row_count, t->ne[0], tmp,
                   (uint16_t *)(tmp + c->scales_offset));
    (void)qs_bytes;
    st = hatch_vk_buffer_upload(vk, &c->buf, 0, tmp, c->buf.size);
    free(tmp);
  }
  return st;
}

static hatch_status vk_tensor_read(hatch_backend *be, hatch_tensor *t, void *data) {
  hatch_vk_backend *vk = hatch_vk(be);
  hatch_status st = hatch_vk_submit(vk);
  if (st != HATCH_OK) return st;
  hatch_vk_tensor *vt = t->impl;
  size_t row_bytes = hatch_type_row_bytes(t->type, t->ne[0]);
  for (int i = 0; i < vt->n_chunks && st == HATCH_OK; i++) {
    hatch_vk_chunk *c = &vt->chunks[i];
    char *dst = (char *)data + (size_t)c->row_begin * row_bytes;
    if (t->type != HATCH_TYPE_Q8_0) {
      st = hatch_vk_buffer_download(vk, &c->buf, 0, dst, row_bytes * (size_t)c->row_count);
      continue;
    }
    uint8_t *tmp = malloc(c->buf.size);
    if (!tmp) return HATCH_ERR_OUT_OF_MEMORY;
    st = hatch_vk_buffer_download(vk, &c->buf, 0, tmp, c->buf.size);
    if (st == HATCH_OK)
      q8_0_from_device(tmp, (const uint16_t *)(tmp + c->scales_offset), c->row_count, t->ne[0],
                       (hatch_block_q8_0 *)dst);
    free(tmp);
  }
  return st;
}

hatch_status hatch_vk_tensor_binding(const hatch_tensor *t, bool write, hatch_vk_binding *out) {
  const hatch_vk_tensor *vt = t->impl;
  if (vt->n_chunks != 1) {
    fprintf(stderr, "hatch: tensor of %lld rows is split over %d buffers; only matmul weights may be\n",
            (long long)hatch_tensor_rows(t), vt->n_chunks);
    return HATCH_ERR_TOO_LARGE;
  }
  *out = (hatch_vk_binding){vt->chunks[0].buf.buffer, 0, vt->chunks[0].buf.size, write};
  return HATCH_OK;
}

void hatch_vk_groups_2d(const hatch_vk_backend *vk, uint64_t n, uint32_t groups[3]) {
  uint64_t max_x = vk->caps.max_workgroup_count[0] < 65535 ? vk->caps.max_workgroup_count[0] : 65535;
  if (n == 0) n = 1;
  if (n <= max_x) {
    groups[0] = (uint32_t)n;
    groups[1] = 1;
  } else {
    groups[0] = (uint32_t)max_x;
    groups[1] = (uint32_t)((n + max_x - 1) / max_x);
  }
  groups[2] = 1;
}

static hatch_status vk_sync(hatch_backend *be) { return hatch_vk_submit(hatch_vk(be)); }

static void vk_destroy(hatch_backend *be) {
  hatch_vk_backend *vk = hatch_vk(be);
  if (vk->device && vk->rec) hatch_vk_drain(vk);
  if (vk->device) vkDeviceWaitIdle(vk->device);
  hatch_vk_buffer_destroy(vk, &vk->staging);
  hatch_vk_recorder_destroy(vk);
  if (vk->device) hatch_vk_pipelines_destroy(vk);
  hatch_vk_device_close(vk);
  free(vk);
  free(be);
}

static const hatch_backend_vtable vk_vtable = {
    .tensor_alloc = vk_tensor_alloc,
    .tensor_free = vk_tensor_free,
    .tensor_reshape = vk_tensor_reshape,
    .tensor_write = vk_tensor_write,
    .tensor_read = vk_tensor_read,
    .sync = vk_sync,
    .graph_begin = hatch_vk_graph_begin,
    .graph_end = hatch_vk_graph_end,
    .graph_run = hatch_vk_graph_run,
    .graph_free = hatch_vk_graph_free,
    .destroy = vk_destroy,
    .matmul = hatch_vk_matmul,
    .rms_norm = hatch_vk_rms_norm,
    .softmax = hatch_vk_softmax,
    .unary = hatch_vk_unary,
    .swiglu = hatch_vk_swiglu,
    .binary = hatch_vk_binary,
    .rope = hatch_vk_rope,
    .attention = hatch_vk_attention,
    .merge_2x2 = hatch_vk_merge_2x2,
    .get_rows = hatch_vk_get_rows,
    .set_rows = hatch_vk_set_rows,
    .image_resize = hatch_vk_image_resize,
    .image_patchify = hatch_vk_image_patchify,
};

hatch_status hatch_backend_create_vulkan(const hatch_vulkan_options *opt, hatch_backend **out) {
  if (!out) return HATCH_ERR_INVALID_ARGUMENT;
  *out = NULL;
  hatch_vulkan_options defaults;
  if (!opt) {
    hatch_vulkan_options_default(&defaults);
    opt = &defaults;
  }
  hatch_backend *be = calloc(1, sizeof(*be));
  hatch_vk_backend *vk = calloc(1, sizeof(*vk));
  if (!be || !vk) {
    free(be);
    free(vk);
    return HATCH_ERR_OUT_OF_MEMORY;
  }
  be->vt = &vk_vtable;
  be->kind = HATCH_BACKEND_VULKAN;
  be->impl = vk;
  be->last_batch_ns = -1.0;
  vk->be = be;
  char err[512] = "";
  hatch_status st = hatch_vk_device_open(vk, opt, err, sizeof(err));
  if (st != HATCH_OK) {
    fprintf(stderr, "hatch: vulkan: %s\n", err[0] ? err : hatch_status_message(st));
    goto err_destroy;
  }
  /* OpSDot where the driver accelerates it, and on CPU devices, where lavapipe's emulation still
   * beats dequantizing (measured 2x at n = 1); elsewhere a slow emulation would lose to floats. */
  bool dot_pays = vk->caps.integer_dot_accelerated || vk->caps.device_type == VK_PHYSICAL_DEVICE_TYPE_CPU;
  vk->use_integer_dot = vk->caps.integer_dot && dot_pays && !opt->disable_integer_dot &&
                        !getenv("HATCH_VK_NO_INTEGER_DOT");
  vk->force_gpu_kernels = opt->force_gpu_kernels || getenv("HATCH_VK_GPU_KERNELS");
  vk->force_staging = getenv("HATCH_VK_FORCE_STAGING") != NULL;
  vk->max_chunk_bytes = vk->caps.max_storage_buffer_range;
  if (vk->caps.max_allocation_size && vk->caps.max_allocation_size < vk->max_chunk_bytes)
    vk->max_chunk_bytes = vk->caps.max_allocation_size;
  if (vk->max_chunk_bytes > ((VkDeviceSize)1 << 31)) vk->max_chunk_bytes = (VkDeviceSize)1 << 31;
  const char *chunk_env = getenv("HATCH_VK_MAX_CHUNK_BYTES"); /* tests force the split path with it */
  if (chunk_env && atoll(chunk_env) >= 4096 && (VkDeviceSize)atoll(chunk_env) < vk->max_chunk_bytes)
    vk->max_chunk_bytes = (VkDeviceSize)atoll(chunk_env);
  st = hatch_vk_pipelines_create(vk, opt->pipeline_cache_dir); /* "" keeps the cache in memory only */
  if (st != HATCH_OK) goto err_destroy;
  st = hatch_vk_recorder_create(vk);
  if (st != HATCH_OK) goto err_destroy;
  snprintf(be->name, sizeof(be->name), "vulkan: %s (%s)", vk->caps.device_name, vk->caps.driver_name);
  be->software = vk->caps.device_type == VK_PHYSICAL_DEVICE_TYPE_CPU;
  *out = be;
  return HATCH_OK;

err_destroy:
  vk_destroy(be);
  return st;
}
