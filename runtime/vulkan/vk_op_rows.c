/* Row gather (get_rows) and row copy (set_rows): one invocation per output float. */
#include "vulkan/vk_internal.h"

#define ROWS_WG 64

typedef struct rows_push {
  uint32_t n, c, m, row_offset, limit;
} rows_push; /* mirrors shaders/rows.comp */
_Static_assert(sizeof(rows_push) == 20, "rows push constants");

static hatch_status dispatch_rows(hatch_vk_backend *vk, hatch_vk_dispatch_desc *d, uint64_t n) {
  hatch_vk_groups_2d(vk, (n + ROWS_WG - 1) / ROWS_WG, d->groups);
  return hatch_vk_dispatch(vk, d);
}

hatch_status hatch_vk_get_rows(hatch_backend *be, hatch_tensor *dst, const hatch_tensor *src, const hatch_tensor *idx) {
  hatch_vk_backend *vk = hatch_vk(be);
  uint64_t n = (uint64_t)hatch_tensor_nelements(dst);
  if (n > UINT32_MAX || hatch_tensor_rows(src) > INT32_MAX) return HATCH_ERR_TOO_LARGE;
  rows_push push = {(uint32_t)n, (uint32_t)src->ne[0], (uint32_t)hatch_tensor_rows(src), 0, 0};
  hatch_vk_dispatch_desc d = {.variant = "get_rows", .spec = {ROWS_WG}, .n_spec = 1, .n_bindings = 3,
                              .push = &push, .push_size = sizeof(push)};
  hatch_status st = hatch_vk_tensor_binding(src, false, &d.bindings[0]);
  if (st == HATCH_OK) st = hatch_vk_tensor_binding(idx, false, &d.bindings[1]);
  if (st == HATCH_OK) st = hatch_vk_tensor_binding(dst, true, &d.bindings[2]);
  if (st != HATCH_OK) return st;
  return dispatch_rows(vk, &d, n);
}

hatch_status hatch_vk_set_rows(hatch_backend *be, hatch_tensor *dst, const hatch_tensor *src, int64_t row_offset,
                               const hatch_tensor *at, int64_t unit) {
  hatch_vk_backend *vk = hatch_vk(be);
  uint64_t n = (uint64_t)hatch_tensor_nelements(src);
  if (n > UINT32_MAX || (uint64_t)hatch_tensor_nelements(dst) >= UINT32_MAX) return HATCH_ERR_TOO_LARGE;
  bool f16 = dst->type == HATCH_TYPE_F16;
  rows_push push = {(uint32_t)n, (uint32_t)src->ne[0], at ? (uint32_t)unit : 0, (uint32_t)row_offset,
                    (uint32_t)hatch_tensor_nelements(dst)};
  hatch_vk_dispatch_desc d = {.variant = f16 ? "set_rows_f16" : "set_rows", .spec = {ROWS_WG}, .n_spec = 1,
                              .n_bindings = 3, .push = &push, .push_size = sizeof(push)};
  hatch_status st = hatch_vk_tensor_binding(src, false, &d.bindings[0]);
  if (st == HATCH_OK) st = hatch_vk_tensor_binding(dst, true, &d.bindings[1]);
  if (st == HATCH_OK) st = hatch_vk_tensor_binding(at ? at : src, false, &d.bindings[2]); /* src: unused stand-in */
  if (st != HATCH_OK) return st;
  return dispatch_rows(vk, &d, f16 ? n / 2 : n);
}
