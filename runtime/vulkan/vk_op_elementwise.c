/* add, mul (row broadcast), silu, gelu, swiglu: one invocation per element. */
#include "vulkan/vk_internal.h"

#define ELEMENTWISE_WG 256

typedef struct binary_push {
  uint32_t n, b_size;
} binary_push; /* mirrors shaders/binary.comp */
_Static_assert(sizeof(binary_push) == 8, "binary push constants");

typedef struct unary_push {
  uint32_t n;
} unary_push; /* mirrors shaders/unary.comp */

/* tensors[] in the shader's binding order; tensors[dst_index] is written. */
static hatch_status elementwise(hatch_backend *be, const char *variant, const hatch_tensor *const *tensors, int n_tensors,
                                int dst_index, const void *push, uint32_t push_size) {
  hatch_vk_backend *vk = hatch_vk(be);
  int64_t n = hatch_tensor_nelements(tensors[dst_index]);
  if (n > UINT32_MAX) return HATCH_ERR_TOO_LARGE;
  hatch_vk_dispatch_desc d = {.variant = variant, .spec = {ELEMENTWISE_WG}, .n_spec = 1, .n_bindings = n_tensors,
                              .push = push, .push_size = push_size};
  for (int i = 0; i < n_tensors; i++) {
    hatch_status st = hatch_vk_tensor_binding(tensors[i], i == dst_index, &d.bindings[i]);
    if (st != HATCH_OK) return st;
  }
  hatch_vk_groups_2d(vk, ((uint64_t)n + ELEMENTWISE_WG - 1) / ELEMENTWISE_WG, d.groups);
  return hatch_vk_dispatch(vk, &d);
}

hatch_status hatch_vk_binary(hatch_backend *be, hatch_tensor *dst, const hatch_tensor *a, const hatch_tensor *b,
                             hatch_binary_op op) {
  binary_push push = {(uint32_t)hatch_tensor_nelements(a), (uint32_t)hatch_tensor_nelements(b)};
  const hatch_tensor *t[3] = {a, b, dst};
  return elementwise(be, op == HATCH_BINARY_MUL ? "binary_mul" : "binary_add", t, 3, 2, &push, sizeof(push));
}

hatch_status hatch_vk_unary(hatch_backend *be, hatch_tensor *dst, const hatch_tensor *x, hatch_unary_op op) {
  unary_push push = {(uint32_t)hatch_tensor_nelements(x)};
  const hatch_tensor *t[2] = {x, dst};
  return elementwise(be, op == HATCH_UNARY_GELU ? "unary_gelu" : "unary_silu", t, 2, 1, &push, sizeof(push));
}

hatch_status hatch_vk_swiglu(hatch_backend *be, hatch_tensor *dst, const hatch_tensor *gate, const hatch_tensor *up) {
  unary_push push = {(uint32_t)hatch_tensor_nelements(gate)};
  const hatch_tensor *t[3] = {gate, dst, up};
  return elementwise(be, "swiglu", t, 3, 1, &push, sizeof(push));
}
