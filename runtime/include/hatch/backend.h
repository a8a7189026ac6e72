/* Backends and tensors: one op interface, two implementations (CPU reference, Vulkan).
 *
 * Ownership: a backend owns nothing but its device state; each tensor is owned by its creator and
 * must be destroyed before the backend that made it. Every destroy accepts NULL.
 * Execution: on the CPU ops run when called; on Vulkan they are recorded and run at the next
 * hatch_backend_sync() or hatch_tensor_read(). Ops validate shapes and types first and return
 * HATCH_ERR_SHAPE / HATCH_ERR_TYPE without touching any tensor. */
#ifndef HATCH_BACKEND_H
#define HATCH_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hatch/status.h"
#include "hatch/types.h"

typedef struct hatch_backend hatch_backend;
typedef struct hatch_tensor hatch_tensor;

typedef enum hatch_backend_kind { HATCH_BACKEND_CPU, HATCH_BACKEND_VULKAN } hatch_backend_kind;

typedef struct hatch_cpu_options {
  int n_threads; /* 0: all online cores */
} hatch_cpu_options;

typedef struct hatch_vulkan_options {
  int device_index;              /* -1: pick the best (discrete > integrated > cpu); env HATCH_VK_DEVICE overrides */
  bool disable_integer_dot;      /* force the float decode path even where OpSDot is available */
  bool force_gpu_kernels;        /* on a CPU device (lavapipe) still use the kernels shaped for GPUs:
                                    tiled prefill matmul, workgroup-per-query attention (tests);
                                    env HATCH_VK_GPU_KERNELS=1 */
  bool enable_validation;        /* load VK_LAYER_KHRONOS_validation; messages counted, see below */
  const char *pipeline_cache_dir; /* NULL: $XDG_CACHE_HOME/hatch or ~/.cache/hatch; "" disables */
} hatch_vulkan_options;

void hatch_vulkan_options_default(hatch_vulkan_options *opt);

hatch_status hatch_backend_create_cpu(const hatch_cpu_options *opt, hatch_backend **out);
hatch_status hatch_backend_create_vulkan(const hatch_vulkan_options *opt, hatch_backend **out);
/* The backend hatch runs on, by env HATCH_BACKEND:
 *   unset/"auto": Vulkan on a hardware device; the CPU backend when there is none, or when the only
 *                 Vulkan device is a software one (lavapipe runs shaders on the same cores and
 *                 measured slower than the CPU backend for most ops: bench/README.md);
 *   "vulkan":     Vulkan on any device, the CPU backend only if none works;  "cpu": the CPU backend.
 * *why (if given) says why the choice differs from a hardware Vulkan device. */
hatch_status hatch_backend_create_default(hatch_backend **out, char *why, size_t why_len);
/* Vulkan on any device, else the CPU backend with *why explaining (benchmarks, tests). */
hatch_status hatch_backend_create_vulkan_or_cpu(hatch_backend **out, char *why, size_t why_len);
/* True for a Vulkan backend on a software device (lavapipe / llvmpipe). */
bool hatch_backend_is_software(const hatch_backend *be);
void hatch_backend_destroy(hatch_backend *be);

hatch_backend_kind hatch_backend_get_kind(const hatch_backend *be);
const char *hatch_backend_name(const hatch_backend *be); /* "cpu (16 threads)", "vulkan: NVIDIA H200" */
/* Runs everything recorded so far and waits for it. */
hatch_status hatch_backend_sync(hatch_backend *be);
/* GPU time of the last synced batch in ns measured with timestamp queries; <0 when unknown. */
double hatch_backend_last_batch_ns(const hatch_backend *be);
/* Validation-layer messages seen so far (only with enable_validation; 0 otherwise). */
uint32_t hatch_backend_validation_messages(const hatch_backend *be);
/* Allocations made so far: tensors on every backend; on Vulkan also every device memory
 * allocation (tensors, scratch, staging), descriptor pool and descriptor set. A hot path that
 * allocates nothing leaves it unchanged (tests check decode with it). */
uint64_t hatch_backend_allocation_count(const hatch_backend *be);

/* ---- recorded graphs ----------------------------------------------------------------------------
 * A graph is a sequence of ops recorded once and run many times (Vulkan: one command buffer with
 * its own descriptor sets and scratch, re-submitted as is). Between hatch_graph_capture_begin and
 * hatch_graph_capture_end the backend's ops are recorded into the graph instead of run; tensor
 * reads, writes and syncs are refused (HATCH_ERR_INVALID_ARGUMENT) while capturing. Values that
 * change from run to run must live in tensors written before hatch_graph_run: positions (rope's
 * pos), hatch_set_rows_at's offset, hatch_attn_params.past. Every tensor a graph uses must outlive
 * it and keep its shape. Backends that run ops eagerly (the CPU) have no graphs:
 * hatch_backend_supports_graphs is false and capture_begin says HATCH_ERR_UNSUPPORTED; callers then
 * run the same ops directly. */
typedef struct hatch_graph hatch_graph;
bool hatch_backend_supports_graphs(const hatch_backend *be);
hatch_status hatch_graph_capture_begin(hatch_backend *be, hatch_graph **out);
hatch_status hatch_graph_capture_end(hatch_graph *g);
/* Runs the recorded ops and waits for them. HATCH_ERR_INVALID_ARGUMENT while still capturing. */
hatch_status hatch_graph_run(hatch_graph *g);
void hatch_graph_destroy(hatch_graph *g); /* NULL-safe; ends a capture still open */

/* Tensors: ne[0] is the innermost (contiguous) dimension, as in ggml. Up to 4 dims. */
#define HATCH_MAX_DIMS 4
hatch_status hatch_tensor_create(hatch_backend *be, hatch_type type, int n_dims, const int64_t *ne,
                                 hatch_tensor **out);
void hatch_tensor_destroy(hatch_tensor *t);
hatch_type hatch_tensor_type(const hatch_tensor *t);
int64_t hatch_tensor_dim(const hatch_tensor *t, int i); /* 1 beyond n_dims */
int64_t hatch_tensor_nelements(const hatch_tensor *t);
size_t hatch_tensor_nbytes(const hatch_tensor *t); /* bytes in the host (ggml) layout */
/* Host data in the ggml layout of the tensor's type; size must equal hatch_tensor_nbytes. */
hatch_status hatch_tensor_write(hatch_tensor *t, const void *data, size_t size);
hatch_status hatch_tensor_read(hatch_tensor *t, void *data, size_t size);
/* Gives the tensor a new shape with the same elements in the same order (metadata only: (n, h*d) <->
 * (n, h, d)). Q8_0 tensors keep ne0. HATCH_ERR_SHAPE when the element count differs;
 * HATCH_ERR_UNSUPPORTED when the backend stores the tensor in pieces that the new rows would cross. */
hatch_status hatch_tensor_reshape(hatch_tensor *t, int n_dims, const int64_t *ne);

#endif
