/* The CPU backend: host memory tensors, ops run on the caller's thread plus a worker pool. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cpu/cpu_ops.h"

typedef struct cpu_backend {
  hatch_threadpool *pool;
} cpu_backend;

hatch_threadpool *hatch_cpu_pool(hatch_backend *be) { return ((cpu_backend *)be->impl)->pool; }

static hatch_status cpu_tensor_alloc(hatch_backend *be, hatch_tensor *t) {
  t->data = aligned_alloc(64, (t->nbytes + 63) / 64 * 64);
  if (!t->data) return HATCH_ERR_OUT_OF_MEMORY;
  return HATCH_OK;
}

static void cpu_tensor_free(hatch_backend *be, hatch_tensor *t) {
  free(t->data);
  t->data = NULL;
}

static hatch_status cpu_tensor_write(hatch_backend *be, hatch_tensor *t, const void *data) {
  memcpy(t->data, data, t->nbytes);
  return HATCH_OK;
}

static hatch_status cpu_tensor_read(hatch_backend *be, hatch_tensor *t, void *data) {
  memcpy(data, t->data, t->nbytes);
  return HATCH_OK;
}

static hatch_status cpu_sync(hatch_backend *be) { return HATCH_OK; }

static void cpu_destroy(hatch_backend *be) {
  cpu_backend *cpu = be->impl;
  hatch_threadpool_destroy(cpu->pool);
  free(cpu);
  free(be);
}

static const hatch_backend_vtable cpu_vtable = {
    .tensor_alloc = cpu_tensor_alloc,
    .tensor_free = cpu_tensor_free,
    .tensor_write = cpu_tensor_write,
    .tensor_read = cpu_tensor_read,
    .sync = cpu_sync,
    .destroy = cpu_destroy,
    .matmul = hatch_cpu_matmul,
    .rms_norm = hatch_cpu_rms_norm,
    .softmax = hatch_cpu_softmax,
    .unary = hatch_cpu_unary,
    .swiglu = hatch_cpu_swiglu,
    .binary = hatch_cpu_binary,
    .rope = hatch_cpu_rope,
    .attention = hatch_cpu_attention,
    .merge_2x2 = hatch_cpu_merge_2x2,
    .get_rows = hatch_cpu_get_rows,
    .set_rows = hatch_cpu_set_rows,
    .image_resize = hatch_cpu_image_resize,
    .image_patchify = hatch_cpu_image_patchify,
};

hatch_status hatch_backend_create_cpu(const hatch_cpu_options *opt, hatch_backend **out) {
  if (!out) return HATCH_ERR_INVALID_ARGUMENT;
  *out = NULL;
  int n_threads = opt ? opt->n_threads : 0;
  if (n_threads <= 0) {
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    n_threads = online > 0 ? (int)online : 1;
  }
  hatch_backend *be = calloc(1, sizeof(*be));
  cpu_backend *cpu = calloc(1, sizeof(*cpu));
  if (!be || !cpu) goto err_free;
  hatch_status st = hatch_threadpool_create(n_threads, &cpu->pool);
  if (st != HATCH_OK) goto err_free;
  be->vt = &cpu_vtable;
  be->kind = HATCH_BACKEND_CPU;
  be->impl = cpu;
  be->last_batch_ns = -1.0;
  snprintf(be->name, sizeof(be->name), "cpu (%d threads)", hatch_threadpool_size(cpu->pool));
  *out = be;
  return HATCH_OK;

err_free:
  free(cpu);
  free(be);
  return HATCH_ERR_OUT_OF_MEMORY;
}
