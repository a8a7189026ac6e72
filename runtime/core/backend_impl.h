/* Internal: what a backend implements. Op entry points receive arguments already validated by
 * runtime/core/ops.c (shapes, types, same backend), so backends check only their own limits. */
#ifndef HATCH_BACKEND_IMPL_H
#define HATCH_BACKEND_IMPL_H

#include "hatch/backend.h"
#include "hatch/ops.h"

struct hatch_tensor {
  hatch_backend *backend;
  hatch_type type;
  int n_dims;
  int64_t ne[HATCH_MAX_DIMS]; /* dims beyond n_dims are 1 */
  size_t nbytes;              /* host layout size */
  void *data;                 /* CPU backend: the elements; Vulkan: NULL */
  void *impl;                 /* backend-private storage */
};

/* Row count of a tensor (all dims but ne0). */
static inline int64_t hatch_tensor_rows(const hatch_tensor *t) { return t->ne[1] * t->ne[2] * t->ne[3]; }

typedef struct hatch_backend_vtable {
  hatch_status (*tensor_alloc)(hatch_backend *be, hatch_tensor *t);
  void (*tensor_free)(hatch_backend *be, hatch_tensor *t);
  hatch_status (*tensor_write)(hatch_backend *be, hatch_tensor *t, const void *data);
  hatch_status (*tensor_read)(hatch_backend *be, hatch_tensor *t, void *data);
  hatch_status (*sync)(hatch_backend *be);
  void (*destroy)(hatch_backend *be);
  /* Optional: may refuse a reshape the storage cannot follow (NULL: always fine). */
  hatch_status (*tensor_reshape)(hatch_backend *be, hatch_tensor *t, const int64_t *ne);
  /* Optional (NULL: no graphs, ops run eagerly): capture into a new graph, end it, run it, free it. */
  hatch_status (*graph_begin)(hatch_backend *be, void **impl);
  hatch_status (*graph_end)(hatch_backend *be, void *impl);
  hatch_status (*graph_run)(hatch_backend *be, void *impl);
  void (*graph_free)(hatch_backend *be, void *impl);

  hatch_status (*matmul)(hatch_backend *be, hatch_tensor *dst, const hatch_tensor *w, const hatch_tensor *x);
  hatch_status (*rms_norm)(hatch_backend *be, hatch_tensor *dst, const hatch_tensor *x, const hatch_tensor *weight,
                           float eps);
  hatch_status (*softmax)(hatch_backend *be, hatch_tensor *dst, const hatch_tensor *x, float scale);
  hatch_status (*unary)(hatch_backend *be, hatch_tensor *dst, const hatch_tensor *x, hatch_unary_op op);
  hatch_status (*swiglu)(hatch_backend *be, hatch_tensor *dst, const hatch_tensor *gate, const hatch_tensor *up);
  hatch_status (*binary)(hatch_backend *be, hatch_tensor *dst, const hatch_tensor *a, const hatch_tensor *b,
                         hatch_binary_op op);
  hatch_status (*rope)(hatch_backend *be, hatch_tensor *dst, const hatch_tensor *x, const hatch_tensor *pos,
                       const hatch_rope_params *p);
  hatch_status (*attention)(hatch_backend *be, hatch_tensor *dst, const hatch_tensor *q, const hatch_tensor *k,
                            const hatch_tensor *v, const hatch_attn_params *p);
  hatch_status (*merge_2x2)(hatch_backend *be, hatch_tensor *dst, const hatch_tensor *x, int64_t grid_h,
                            int64_t grid_w);
  hatch_status (*get_rows)(hatch_backend *be, hatch_tensor *dst, const hatch_tensor *src, const hatch_tensor *idx);
  /* at: NULL (rows from row_offset) or I32 whose element 0 times `unit` is added to row_offset when
   * the op runs. dst F32 or F16 (converted, round to nearest even). */
  hatch_status (*set_rows)(hatch_backend *be, hatch_tensor *dst, const hatch_tensor *src, int64_t row_offset,
                           const hatch_tensor *at, int64_t unit);
  hatch_status (*image_resize)(hatch_backend *be, hatch_tensor *dst, const hatch_tensor *src);
  hatch_status (*image_patchify)(hatch_backend *be, hatch_tensor *dst, const hatch_tensor *src,
                                 const hatch_patchify_params *p);
} hatch_backend_vtable;

struct hatch_backend {
  const hatch_backend_vtable *vt;
  hatch_backend_kind kind;
  bool software; /* a Vulkan device that runs on the CPU (lavapipe) */
  char name[600];
  double last_batch_ns;
  uint32_t validation_messages;
  uint64_t allocations; /* hatch_backend_allocation_count */
  void *impl;
};

#endif
