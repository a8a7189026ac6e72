/* Internal to the Vulkan backend: the device context, memory, pipelines and command recording.
 * Split by concern: vk_device.c (instance, device choice, features), vk_memory.c, vk_pipeline.c
 * (pipelines + on-disk cache), vk_command.c (recording, barriers, timestamps, submit),
 * vk_backend.c (tensors and the op table), vk_op_*.c (one file per op family). */
#ifndef HATCH_VK_INTERNAL_H
#define HATCH_VK_INTERNAL_H

#include <stdbool.h>
#include <vulkan/vulkan.h>

#include "core/backend_impl.h"

/* lavapipe stops every loop of an invocation after 65,535 iterations in total: kernels size their
 * work so one invocation stays under this budget (docs/platforms.md). */
#define HATCH_VK_LOOP_BUDGET 32768

hatch_status hatch_vk_result(VkResult r);     /* VkResult -> status; VK_TIMEOUT/DEVICE_LOST/OOM on purpose */
const char *hatch_vk_result_name(VkResult r);

/* What the device can do, probed once at creation; printed by `hatch doctor`. */
typedef struct hatch_vk_caps {
  char device_name[VK_MAX_PHYSICAL_DEVICE_NAME_SIZE];
  char driver_name[VK_MAX_DRIVER_NAME_SIZE];
  char driver_info[VK_MAX_DRIVER_INFO_SIZE];
  VkPhysicalDeviceType device_type;
  uint32_t api_version, vendor_id, device_id;
  uint8_t pipeline_cache_uuid[VK_UUID_SIZE];
  bool shader_int8, shader_float16, storage_8bit, storage_16bit;
  bool integer_dot, integer_dot_accelerated; /* 4x8 packed signed */
  bool subgroup_arithmetic;
  uint32_t subgroup_size, min_subgroup_size, max_subgroup_size;
  uint32_t max_shared_memory, max_push_constants, max_workgroup_invocations;
  uint32_t max_workgroup_count[3];
  VkDeviceSize max_storage_buffer_range, max_allocation_size, min_storage_offset_align;
  VkDeviceSize device_local_bytes;
  bool unified_memory; /* a device-local memory type is also host-visible */
  float timestamp_period_ns;
  uint32_t timestamp_valid_bits;
  bool timestamps;
} hatch_vk_caps;

typedef struct hatch_vk_buffer {
  VkBuffer buffer;
  VkDeviceMemory memory;
  VkDeviceSize size;
  void *mapped; /* host pointer when the memory is host-visible and coherent, else NULL */
} hatch_vk_buffer;

/* A tensor's device storage: rows split over chunks so each stays under the binding limits. */
typedef struct hatch_vk_chunk {
  hatch_vk_buffer buf;
  int64_t row_begin, row_count;
  VkDeviceSize scales_offset; /* Q8_0: qs words first, then fp16 scales at this offset */
} hatch_vk_chunk;

typedef struct hatch_vk_tensor {
  int n_chunks;
  hatch_vk_chunk *chunks; /* (n_chunks) */
} hatch_vk_tensor;

typedef struct hatch_vk_binding {
  VkBuffer buffer;
  VkDeviceSize offset, range;
  bool write;
} hatch_vk_binding;

typedef struct hatch_vk_pipeline hatch_vk_pipeline;
typedef struct hatch_vk_pipeline_set hatch_vk_pipeline_set;
typedef struct hatch_vk_recorder hatch_vk_recorder;

/* Fault injection for tests (sqlite's idea): the next `count` calls at a site return `result`
 * instead of calling the driver, so device loss, timeouts and out-of-memory paths can be run on
 * any device. */
typedef enum hatch_vk_fault_site {
  HATCH_VK_FAULT_NONE,
  HATCH_VK_FAULT_SUBMIT,     /* vkQueueSubmit */
  HATCH_VK_FAULT_FENCE_WAIT, /* vkWaitForFences (the work still runs) */
  HATCH_VK_FAULT_ALLOCATE,   /* vkAllocateMemory */
} hatch_vk_fault_site;

typedef struct hatch_vk_fault {
  hatch_vk_fault_site site;
  VkResult result;
  int count;
} hatch_vk_fault;

typedef struct hatch_vk_backend {
  VkInstance instance;
  VkDebugUtilsMessengerEXT messenger;
  VkPhysicalDevice physical;
  VkDevice device;
  VkQueue queue;
  uint32_t queue_family;
  hatch_vk_caps caps;
  bool use_integer_dot;
  bool force_gpu_kernels;
  bool force_staging; /* env HATCH_VK_FORCE_STAGING (tests): never map device memory */
  VkDeviceSize max_chunk_bytes;
  VkDeviceSize allocated_bytes; /* tensors' device memory, checked against the device-local heap */
  hatch_vk_pipeline_set *pipelines;
  hatch_vk_recorder *rec;
  hatch_vk_buffer staging; /* grown on demand for uploads/downloads to non-mappable memory */
  hatch_backend *be;       /* the public handle (for counters) */
  hatch_vk_fault fault;    /* tests only; site NONE otherwise */
} hatch_vk_backend;

void hatch_vk_inject_fault(hatch_vk_backend *vk, hatch_vk_fault_site site, VkResult result, int count);
/* VK_SUCCESS, or the injected result when a fault is armed at `site` (consumes one). */
VkResult hatch_vk_take_fault(hatch_vk_backend *vk, hatch_vk_fault_site site);

static inline hatch_vk_backend *hatch_vk(hatch_backend *be) { return (hatch_vk_backend *)be->impl; }

/* vk_device.c */
hatch_status hatch_vk_device_open(hatch_vk_backend *vk, const hatch_vulkan_options *opt, char *err, size_t err_len);
void hatch_vk_device_close(hatch_vk_backend *vk);
/* Lists devices without opening one (for `hatch doctor`); writes up to max caps, returns count. */
hatch_status hatch_vk_list_devices(hatch_vk_caps *caps, uint32_t max, uint32_t *count);

/* vk_memory.c */
typedef enum hatch_vk_mem_kind {
  HATCH_VK_MEM_DEVICE,  /* device-local, host-visible too when the device has such a type (UMA) */
  HATCH_VK_MEM_STAGING, /* host-visible + coherent */
} hatch_vk_mem_kind;
hatch_status hatch_vk_buffer_create(hatch_vk_backend *vk, VkDeviceSize size, hatch_vk_mem_kind kind,
                                    hatch_vk_buffer *out);
void hatch_vk_buffer_destroy(hatch_vk_backend *vk, hatch_vk_buffer *buf);
/* Host <-> buffer copies through the staging buffer when the buffer is not mapped. */
hatch_status hatch_vk_buffer_upload(hatch_vk_backend *vk, hatch_vk_buffer *dst, VkDeviceSize offset,
                                    const void *src, VkDeviceSize size);
hatch_status hatch_vk_buffer_download(hatch_vk_backend *vk, hatch_vk_buffer *src, VkDeviceSize offset, void *dst,
                                      VkDeviceSize size);

/* vk_pipeline.c: pipelines by shader variant name + specialization constants (ids 0..n-1,
 * id 0 is local_size_x by convention), created on first use, cached on disk across runs. */
#define HATCH_VK_MAX_SPEC 8
#define HATCH_VK_MAX_BINDINGS 8
hatch_status hatch_vk_pipelines_create(hatch_vk_backend *vk, const char *cache_dir);
/* Whether on-disk cache data (untrusted) has a header naming this device; only then is it given
 * to the driver. */
bool hatch_vk_pipeline_cache_matches(const void *data, size_t size, const hatch_vk_caps *caps);
void hatch_vk_pipelines_destroy(hatch_vk_backend *vk);
hatch_status hatch_vk_pipeline_get(hatch_vk_backend *vk, const char *variant, const uint32_t *spec, int n_spec,
                                   int n_bindings, uint32_t push_size, hatch_vk_pipeline **out);
VkPipeline hatch_vk_pipeline_handle(const hatch_vk_pipeline *p);
VkPipelineLayout hatch_vk_pipeline_layout(const hatch_vk_pipeline *p);
VkDescriptorSetLayout hatch_vk_pipeline_set_layout(const hatch_vk_pipeline *p);

/* vk_command.c: one open command buffer collects dispatches; barriers are inserted only where a
 * dispatch touches a buffer an earlier unbarriered dispatch wrote (RAW/WAW) or read (WAR). */
hatch_status hatch_vk_recorder_create(hatch_vk_backend *vk);
void hatch_vk_recorder_destroy(hatch_vk_backend *vk);
typedef struct hatch_vk_dispatch_desc {
  const char *variant;
  uint32_t spec[HATCH_VK_MAX_SPEC];
  int n_spec;
  hatch_vk_binding bindings[HATCH_VK_MAX_BINDINGS];
  int n_bindings;
  const void *push;
  uint32_t push_size;
  uint32_t groups[3];
} hatch_vk_dispatch_desc;
hatch_status hatch_vk_dispatch(hatch_vk_backend *vk, const hatch_vk_dispatch_desc *d);
/* Scratch device memory valid until the next submit (split-K partials, quantized activations). */
hatch_status hatch_vk_scratch(hatch_vk_backend *vk, VkDeviceSize size, hatch_vk_binding *out);
/* Scratch holding a copy of host data (tables computed on the host), read-only binding. */
hatch_status hatch_vk_scratch_upload(hatch_vk_backend *vk, const void *data, VkDeviceSize size, hatch_vk_binding *out);
/* Records a buffer copy (bandwidth ceiling in `hatch bench ops`). */
hatch_status hatch_vk_record_copy(hatch_vk_backend *vk, VkBuffer src, VkBuffer dst, VkDeviceSize size);
/* Submits what is recorded, waits (with a timeout) and measures its GPU time. On ERR_TIMEOUT the
 * work stays queued; the next call waits for it again. */
hatch_status hatch_vk_submit(hatch_vk_backend *vk);
/* Like submit, but waits without a timeout for work in flight: before freeing memory it may use. */
hatch_status hatch_vk_drain(hatch_vk_backend *vk);
uint32_t hatch_vk_pending_dispatches(const hatch_vk_backend *vk);
/* Graphs (the vtable's graph_*): a stream of their own that dispatches go to while capturing. */
hatch_status hatch_vk_graph_begin(hatch_backend *be, void **impl);
hatch_status hatch_vk_graph_end(hatch_backend *be, void *impl);
hatch_status hatch_vk_graph_run(hatch_backend *be, void *impl);
void hatch_vk_graph_free(hatch_backend *be, void *impl);

/* vk_backend.c: bindings for a tensor's storage (single-chunk tensors; others say ERR_TOO_LARGE). */
hatch_status hatch_vk_tensor_binding(const hatch_tensor *t, bool write, hatch_vk_binding *out);
const hatch_vk_tensor *hatch_vk_tensor_of(const hatch_tensor *t);
/* Device bytes of `rows` rows of a tensor of this type and row length (Q8_0: split layout). */
VkDeviceSize hatch_vk_rows_bytes(hatch_type type, int64_t ne0, int64_t rows);

/* Workgroup counts: splits n groups over x and y so that x stays within the device limit. */
void hatch_vk_groups_2d(const hatch_vk_backend *vk, uint64_t n, uint32_t groups[3]);

/* Op families (vk_op_*.c). */
hatch_status hatch_vk_matmul(hatch_backend *be, hatch_tensor *dst, const hatch_tensor *w, const hatch_tensor *x);
hatch_status hatch_vk_rms_norm(hatch_backend *be, hatch_tensor *dst, const hatch_tensor *x,
                               const hatch_tensor *weight, float eps);
hatch_status hatch_vk_softmax(hatch_backend *be, hatch_tensor *dst, const hatch_tensor *x, float scale);
hatch_status hatch_vk_unary(hatch_backend *be, hatch_tensor *dst, const hatch_tensor *x, hatch_unary_op op);
hatch_status hatch_vk_swiglu(hatch_backend *be, hatch_tensor *dst, const hatch_tensor *gate, const hatch_tensor *up);
hatch_status hatch_vk_binary(hatch_backend *be, hatch_tensor *dst, const hatch_tensor *a, const hatch_tensor *b,
                             hatch_binary_op op);
hatch_status hatch_vk_rope(hatch_backend *be, hatch_tensor *dst, const hatch_tensor *x, const hatch_tensor *pos,
                           const hatch_rope_params *p);
hatch_status hatch_vk_attention(hatch_backend *be, hatch_tensor *dst, const hatch_tensor *q, const hatch_tensor *k,
                                const hatch_tensor *v, const hatch_attn_params *p);
hatch_status hatch_vk_get_rows(hatch_backend *be, hatch_tensor *dst, const hatch_tensor *src, const hatch_tensor *idx);
hatch_status hatch_vk_set_rows(hatch_backend *be, hatch_tensor *dst, const hatch_tensor *src, int64_t row_offset,
                               const hatch_tensor *at, int64_t unit);
hatch_status hatch_vk_merge_2x2(hatch_backend *be, hatch_tensor *dst, const hatch_tensor *x, int64_t grid_h,
                                int64_t grid_w);
hatch_status hatch_vk_image_resize(hatch_backend *be, hatch_tensor *dst, const hatch_tensor *src);
hatch_status hatch_vk_image_patchify(hatch_backend *be, hatch_tensor *dst, const hatch_tensor *src,
                                     const hatch_patchify_params *p);

#endif
