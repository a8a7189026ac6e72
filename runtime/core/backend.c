/* Backend-independent parts of backends and tensors: creation, checks, fallback choice. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/backend_impl.h"

void hatch_vulkan_options_default(hatch_vulkan_options *opt) {
  memset(opt, 0, sizeof(*opt));
  opt->device_index = -1;
}

hatch_status hatch_backend_create_vulkan_or_cpu(hatch_backend **out, char *why, size_t why_len) {
  hatch_vulkan_options opt;
  hatch_vulkan_options_default(&opt);
  hatch_status st = hatch_backend_create_vulkan(&opt, out);
  if (st == HATCH_OK) return st;
  if (why && why_len)
    snprintf(why, why_len, "Vulkan unavailable (%s: %s); using the CPU backend", hatch_status_name(st),
             hatch_status_message(st));
  return hatch_backend_create_cpu(NULL, out);
}

hatch_status hatch_backend_create_default(hatch_backend **out, char *why, size_t why_len) {
  if (!out) return HATCH_ERR_INVALID_ARGUMENT;
  const char *mode = getenv("HATCH_BACKEND");
  if (mode && !strcmp(mode, "cpu")) {
    if (why && why_len) snprintf(why, why_len, "HATCH_BACKEND=cpu");
    return hatch_backend_create_cpu(NULL, out);
  }
  if (mode && *mode && strcmp(mode, "vulkan") != 0 && strcmp(mode, "auto") != 0) {
    if (why && why_len) snprintf(why, why_len, "HATCH_BACKEND='%s' is not auto, vulkan or cpu", mode);
    *out = NULL;
    return HATCH_ERR_INVALID_ARGUMENT;
  }
  hatch_status st = hatch_backend_create_vulkan_or_cpu(out, why, why_len);
  if (st != HATCH_OK || (mode && !strcmp(mode, "vulkan")) || !hatch_backend_is_software(*out)) return st;
  if (why && why_len)
    snprintf(why, why_len, "the only Vulkan device is a software one (%s); the CPU backend is usually faster "
             "(HATCH_BACKEND=vulkan uses it anyway)", hatch_backend_name(*out));
  hatch_backend_destroy(*out);
  *out = NULL;
  return hatch_backend_create_cpu(NULL, out);
}

bool hatch_backend_is_software(const hatch_backend *be) { return be && be->software; }

void hatch_backend_destroy(hatch_backend *be) {
  if (!be) return;
  be->vt->destroy(be);
}

hatch_backend_kind hatch_backend_get_kind(const hatch_backend *be) { return be->kind; }
const char *hatch_backend_name(const hatch_backend *be) { return be->name; }
double hatch_backend_last_batch_ns(const hatch_backend *be) { return be->last_batch_ns; }
uint32_t hatch_backend_validation_messages(const hatch_backend *be) { return be->validation_messages; }
uint64_t hatch_backend_allocation_count(const hatch_backend *be) { return be ? be->allocations : 0; }

struct hatch_graph {
  hatch_backend *be;
  void *impl;
  bool capturing;
};

bool hatch_backend_supports_graphs(const hatch_backend *be) { return be && be->vt->graph_begin; }

hatch_status hatch_graph_capture_begin(hatch_backend *be, hatch_graph **out) {
  if (!be || !out) return HATCH_ERR_INVALID_ARGUMENT;
  *out = NULL;
  if (!be->vt->graph_begin) return HATCH_ERR_UNSUPPORTED;
  hatch_graph *g = calloc(1, sizeof(*g));
  if (!g) return HATCH_ERR_OUT_OF_MEMORY;
  g->be = be;
  hatch_status st = be->vt->graph_begin(be, &g->impl);
  if (st != HATCH_OK) {
    free(g);
    return st;
  }
  g->capturing = true;
  *out = g;
  return HATCH_OK;
}

hatch_status hatch_graph_capture_end(hatch_graph *g) {
  if (!g || !g->capturing) return HATCH_ERR_INVALID_ARGUMENT;
  g->capturing = false;
  return g->be->vt->graph_end(g->be, g->impl);
}

hatch_status hatch_graph_run(hatch_graph *g) {
  if (!g || g->capturing) return HATCH_ERR_INVALID_ARGUMENT;
  return g->be->vt->graph_run(g->be, g->impl);
}

void hatch_graph_destroy(hatch_graph *g) {
  if (!g) return;
  if (g->capturing) g->be->vt->graph_end(g->be, g->impl);
  g->be->vt->graph_free(g->be, g->impl);
  free(g);
}

hatch_status hatch_backend_sync(hatch_backend *be) {
  if (!be) return HATCH_ERR_INVALID_ARGUMENT;
  return be->vt->sync(be);
}

hatch_status hatch_tensor_create(hatch_backend *be, hatch_type type, int n_dims, const int64_t *ne,
                                 hatch_tensor **out) {
  if (!be || !out || !ne || n_dims < 1 || n_dims > HATCH_MAX_DIMS) return HATCH_ERR_INVALID_ARGUMENT;
  *out = NULL;
  if ((unsigned)type >= HATCH_TYPE_COUNT) return HATCH_ERR_TYPE;
  int64_t rows = 1;
  for (int i = 0; i < n_dims; i++) {
    if (ne[i] < 1 || ne[i] > ((int64_t)1 << 40)) return HATCH_ERR_SHAPE;
    if (i > 0) {
      if (rows > INT64_MAX / ne[i]) return HATCH_ERR_TOO_LARGE;
      rows *= ne[i];
    }
  }
  size_t row_bytes = hatch_type_row_bytes(type, ne[0]);
  if (row_bytes == 0) return HATCH_ERR_SHAPE; /* Q8_0 rows must be whole blocks */
  /* 2^46 bytes (64 TiB) is past any device; the cap also keeps every later size computation
   * (padding, alignment, offsets) far from wrapping. */
  if ((uint64_t)rows > ((uint64_t)1 << 46) / row_bytes) return HATCH_ERR_TOO_LARGE;

  hatch_tensor *t = calloc(1, sizeof(*t));
  if (!t) return HATCH_ERR_OUT_OF_MEMORY;
  t->backend = be;
  t->type = type;
  t->n_dims = n_dims;
  for (int i = 0; i < HATCH_MAX_DIMS; i++) t->ne[i] = i < n_dims ? ne[i] : 1;
  t->nbytes = row_bytes * (size_t)rows;
  be->allocations++;
  hatch_status st = be->vt->tensor_alloc(be, t);
  if (st != HATCH_OK) {
    free(t);
    return st;
  }
  *out = t;
  return HATCH_OK;
}

void hatch_tensor_destroy(hatch_tensor *t) {
  if (!t) return;
  t->backend->vt->tensor_free(t->backend, t);
  free(t);
}

hatch_type hatch_tensor_type(const hatch_tensor *t) { return t->type; }

hatch_status hatch_tensor_reshape(hatch_tensor *t, int n_dims, const int64_t *ne) {
  if (!t || !ne || n_dims < 1 || n_dims > HATCH_MAX_DIMS) return HATCH_ERR_INVALID_ARGUMENT;
  int64_t full[HATCH_MAX_DIMS], count = 1, old = 1;
  for (int i = 0; i < HATCH_MAX_DIMS; i++) {
    full[i] = i < n_dims ? ne[i] : 1;
    if (full[i] < 1 || full[i] > ((int64_t)1 << 40)) return HATCH_ERR_SHAPE;
    if (count > INT64_MAX / full[i]) return HATCH_ERR_SHAPE;
    count *= full[i];
    old *= t->ne[i];
  }
  if (count != old) return HATCH_ERR_SHAPE;
  if (t->type == HATCH_TYPE_Q8_0 && full[0] != t->ne[0]) return HATCH_ERR_SHAPE;
  if (t->backend->vt->tensor_reshape) {
    hatch_status st = t->backend->vt->tensor_reshape(t->backend, t, full);
    if (st != HATCH_OK) return st;
  }
  for (int i = 0; i < HATCH_MAX_DIMS; i++) t->ne[i] = full[i];
  t->n_dims = n_dims;
  return HATCH_OK;
}
int64_t hatch_tensor_dim(const hatch_tensor *t, int i) { return (i >= 0 && i < HATCH_MAX_DIMS) ? t->ne[i] : 1; }
int64_t hatch_tensor_nelements(const hatch_tensor *t) { return t->ne[0] * hatch_tensor_rows(t); }
size_t hatch_tensor_nbytes(const hatch_tensor *t) { return t->nbytes; }

hatch_status hatch_tensor_write(hatch_tensor *t, const void *data, size_t size) {
  if (!t || !data) return HATCH_ERR_INVALID_ARGUMENT;
  if (size != t->nbytes) return HATCH_ERR_SHAPE;
  return t->backend->vt->tensor_write(t->backend, t, data);
}

hatch_status hatch_tensor_read(hatch_tensor *t, void *data, size_t size) {
  if (!t || !data) return HATCH_ERR_INVALID_ARGUMENT;
  if (size != t->nbytes) return HATCH_ERR_SHAPE;
  return t->backend->vt->tensor_read(t->backend, t, data);
}
