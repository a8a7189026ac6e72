/* RMSNorm and softmax: one workgroup per row, shared-memory reductions. */
#include "vulkan/vk_internal.h"

#define ROW_WG 128

typedef struct rms_norm_push {
  uint32_t n, rows, has_weight;
  float eps;
} rms_norm_push; /* mirrors shaders/rms_norm.comp */
_Static_assert(sizeof(rms_norm_push) == 16, "rms_norm push constants");

typedef struct softmax_push {
  uint32_t n, rows;
  float scale;
} softmax_push; /* mirrors shaders/softmax.comp */
_Static_assert(sizeof(softmax_push) == 12, "softmax push constants");

/* Two passes over the row, n / ROW_WG iterations each, must stay within the loop budget. */
static hatch_status check_row(const hatch_tensor *x) {
  int64_t per_invocation = 2 * ((x->ne[0] + ROW_WG - 1) / ROW_WG);
  if (per_invocation > HATCH_VK_LOOP_BUDGET || hatch_tensor_rows(x) > UINT32_MAX) return HATCH_ERR_TOO_LARGE;
  return HATCH_OK;
}

hatch_status hatch_vk_rms_norm(hatch_backend *be, hatch_tensor *dst, const hatch_tensor *x,
                               const hatch_tensor *weight, float eps) {
  hatch_vk_backend *vk = hatch_vk(be);
  hatch_status st = check_row(x);
  if (st != HATCH_OK) return st;
  rms_norm_push push = {(uint32_t)x->ne[0], (uint32_t)hatch_tensor_rows(x), weight != NULL, eps};
  hatch_vk_dispatch_desc d = {.variant = "rms_norm", .spec = {ROW_WG}, .n_spec = 1, .n_bindings = 3,
                              .push = &push, .push_size = sizeof(push)};
  st = hatch_vk_tensor_binding(x, false, &d.bindings[0]);
  if (st == HATCH_OK) st = hatch_vk_tensor_binding(weight ? weight : x, false, &d.bindings[1]);
  if (st == HATCH_OK) st = hatch_vk_tensor_binding(dst, true, &d.bindings[2]);
  if (st != HATCH_OK) return st;
  hatch_vk_groups_2d(vk, push.rows, d.groups);
  return hatch_vk_dispatch(vk, &d);
}

hatch_status hatch_vk_softmax(hatch_backend *be, hatch_tensor *dst, const hatch_tensor *x, float scale) {
  hatch_vk_backend *vk = hatch_vk(be);
  hatch_status st = check_row(x);
  if (st != HATCH_OK) return st;
  softmax_push push = {(uint32_t)x->ne[0], (uint32_t)hatch_tensor_rows(x), scale};
  hatch_vk_dispatch_desc d = {.variant = "softmax", .spec = {ROW_WG}, .n_spec = 1, .n_bindings = 2,
                              .push = &push, .push_size = sizeof(push)};
  st = hatch_vk_tensor_binding(x, false, &d.bindings[0]);
  if (st == HATCH_OK) st = hatch_vk_tensor_binding(dst, true, &d.bindings[1]);
  if (st != HATCH_OK) return st;
  hatch_vk_groups_2d(vk, push.rows, d.groups);
  return hatch_vk_dispatch(vk, &d);
}
