/* Image preprocessing (Pillow-exact bicubic resize, patchify) and the 2x2 merge gather.
 * Resize taps and weights are computed on the host (runtime/core/image_resample.c, the same code
 * the CPU reference uses) and uploaded to scratch, so the kernels do integer arithmetic only and
 * match the CPU bit for bit. */
#include <stdlib.h>
#include <string.h>

#include "core/image_resample.h"
#include "vulkan/vk_internal.h"

#define IMAGE_WG 64

typedef struct resize_push {
  uint32_t n_words, out_bytes, out_w, in_w, ksize, bounds_off, weights_off;
  int32_t row_offset;
  uint32_t vertical, split_taps, n_splits;
} resize_push; /* mirrors shaders/resize.comp */
_Static_assert(sizeof(resize_push) == 44, "resize push constants");

typedef struct patchify_push {
  uint32_t n, w, grid_w, patch, temporal;
} patchify_push; /* mirrors shaders/patchify.comp */
_Static_assert(sizeof(patchify_push) == 20, "patchify push constants");

typedef struct merge_push {
  uint32_t n, c, grid_w;
} merge_push; /* mirrors shaders/merge_2x2.comp */
_Static_assert(sizeof(merge_push) == 12, "merge_2x2 push constants");

static hatch_status dispatch_1d(hatch_vk_backend *vk, hatch_vk_dispatch_desc *d, uint64_t invocations) {
  hatch_vk_groups_2d(vk, (invocations + IMAGE_WG - 1) / IMAGE_WG, d->groups);
  return hatch_vk_dispatch(vk, d);
}

/* One resampling pass: src (in_rows, in_w, 3) -> dst (out_rows, out_w, 3), both packed u8.
 * A word's 4 bytes take 4 * taps iterations; past the loop budget the taps are split over
 * invocations writing int partial sums, then a pack pass adds them up. */
static hatch_status resize_pass(hatch_vk_backend *vk, const hatch_vk_binding *src, const hatch_vk_binding *coef,
                                const hatch_vk_binding *dst, const hatch_resample_taps *taps, uint32_t taps_off,
                                uint32_t in_w, uint32_t out_w, uint32_t out_rows, int32_t row_offset, bool vertical) {
  uint64_t out_bytes = 3ull * out_w * out_rows;
  uint64_t n_words = (out_bytes + 3) / 4;
  if (out_bytes > UINT32_MAX) return HATCH_ERR_TOO_LARGE;
  resize_push push = {(uint32_t)n_words, (uint32_t)out_bytes, out_w, in_w, (uint32_t)taps->ksize, taps_off,
                      taps_off + 2u * (uint32_t)taps->out_size, row_offset, vertical, 0, 1};
  /* Iterations per invocation: 4 bytes x (taps + the loop's exit test). */
  uint64_t per_invocation = 4ull * ((uint64_t)taps->max_count + 1);
  if (per_invocation <= HATCH_VK_LOOP_BUDGET) {
    hatch_vk_dispatch_desc d = {.variant = "resize", .spec = {IMAGE_WG}, .n_spec = 1, .n_bindings = 3,
                                .bindings = {*src, *coef, *dst}, .push = &push, .push_size = sizeof(push)};
    return dispatch_1d(vk, &d, n_words);
  }
  uint32_t split_taps = HATCH_VK_LOOP_BUDGET / 4 - 1;
  uint32_t n_splits = ((uint32_t)taps->max_count + split_taps - 1) / split_taps;
  if (4ull * (n_splits + 1) > HATCH_VK_LOOP_BUDGET || n_words * n_splits > UINT32_MAX) return HATCH_ERR_TOO_LARGE;
  push.split_taps = split_taps;
  push.n_splits = n_splits;
  hatch_vk_binding partial; /* (n_splits, n_words, 4) int32 */
  hatch_status st = hatch_vk_scratch(vk, n_words * n_splits * 4 * sizeof(int32_t), &partial);
  if (st != HATCH_OK) return st;
  hatch_vk_dispatch_desc d = {.variant = "resize_partial", .spec = {IMAGE_WG}, .n_spec = 1, .n_bindings = 3,
                              .bindings = {*src, *coef, partial}, .push = &push, .push_size = sizeof(push)};
  st = dispatch_1d(vk, &d, n_words * n_splits);
  if (st != HATCH_OK) return st;
  partial.write = false;
  hatch_vk_dispatch_desc pack = {.variant = "resize_pack", .spec = {IMAGE_WG}, .n_spec = 1, .n_bindings = 2,
                                 .bindings = {partial, *dst}, .push = &push, .push_size = sizeof(push)};
  return dispatch_1d(vk, &pack, n_words);
}

/* Uploads both passes' taps into one scratch table: [v taps | h taps]. */
static hatch_status upload_taps(hatch_vk_backend *vk, const hatch_resize_plan *p, hatch_vk_binding *out,
                                uint32_t *h_off) {
  size_t v_ints = (size_t)p->v.out_size * (size_t)(2 + p->v.ksize);
  size_t h_ints = p->horizontal ? (size_t)p->h.out_size * (size_t)(2 + p->h.ksize) : 0;
  if (v_ints + h_ints > UINT32_MAX) return HATCH_ERR_TOO_LARGE;
  int32_t *table = malloc(sizeof(int32_t) * (v_ints + h_ints)); /* (v_ints + h_ints) */
  if (!table) return HATCH_ERR_OUT_OF_MEMORY;
  memcpy(table, p->v.data, sizeof(int32_t) * v_ints);
  if (h_ints) memcpy(table + v_ints, p->h.data, sizeof(int32_t) * h_ints);
  *h_off = (uint32_t)v_ints;
  hatch_status st = hatch_vk_scratch_upload(vk, table, sizeof(int32_t) * (v_ints + h_ints), out);
  free(table);
  return st;
}

hatch_status hatch_vk_image_resize(hatch_backend *be, hatch_tensor *dst, const hatch_tensor *src) {
  hatch_vk_backend *vk = hatch_vk(be);
  hatch_resize_plan p;
  hatch_status st = hatch_resize_plan_init(src->ne[1], src->ne[2], dst->ne[1], dst->ne[2], &p);
  if (st != HATCH_OK) return st;
  /* Same size: Pillow copies. The identity pass is exact (weights 0, 1, 0, 0: bicubic(0) = 1,
   * bicubic(+-1) = bicubic(2) = 0), so the vertical pass doubles as the copy. */
  bool vertical = p.vertical || !p.horizontal;
  hatch_vk_binding in_b, out_b, coef, tmp;
  uint32_t h_off = 0;
  st = hatch_vk_tensor_binding(src, false, &in_b);
  if (st == HATCH_OK) st = hatch_vk_tensor_binding(dst, true, &out_b);
  if (st == HATCH_OK) st = upload_taps(vk, &p, &coef, &h_off);
  if (st == HATCH_OK && p.horizontal && vertical) {
    VkDeviceSize tmp_bytes = ((VkDeviceSize)p.row_count * (VkDeviceSize)p.dst_w * 3 + 3) / 4 * 4;
    st = hatch_vk_scratch(vk, tmp_bytes, &tmp); /* (row_count, dst_w, 3) packed u8 */
  }
  if (st == HATCH_OK && p.horizontal)
    st = resize_pass(vk, &in_b, &coef, vertical ? &tmp : &out_b, &p.h, h_off, (uint32_t)p.src_w,
                     (uint32_t)p.dst_w, (uint32_t)p.row_count, p.row_first, false);
  if (st == HATCH_OK && vertical) {
    hatch_vk_binding vin = in_b;
    if (p.horizontal) {
      vin = tmp;
      vin.write = false;
    }
    st = resize_pass(vk, &vin, &coef, &out_b, &p.v, 0, (uint32_t)p.dst_w, (uint32_t)p.dst_w, (uint32_t)p.dst_h,
                     p.horizontal ? p.row_first : 0, true);
  }
  hatch_resize_plan_free(&p);
  return st;
}

/* (3, 256) table of normalized values, the CPU's formula: float(u / 255) then (v - mean) / std. */
static void patchify_table(const hatch_patchify_params *p, float *lut) {
  for (int c = 0; c < 3; c++)
    for (int u = 0; u < 256; u++) {
      float v = (float)((double)u * (1.0 / 255.0));
      lut[c * 256 + u] = (v - p->mean[c]) / p->std[c];
    }
}

hatch_status hatch_vk_image_patchify(hatch_backend *be, hatch_tensor *dst, const hatch_tensor *src,
                                     const hatch_patchify_params *p) {
  hatch_vk_backend *vk = hatch_vk(be);
  uint64_t n = (uint64_t)hatch_tensor_rows(dst) * (uint64_t)dst->ne[0];
  if (n > UINT32_MAX || 3ull * src->ne[1] * src->ne[2] > UINT32_MAX) return HATCH_ERR_TOO_LARGE;
  float lut[3 * 256];
  patchify_table(p, lut);
  patchify_push push = {(uint32_t)n, (uint32_t)src->ne[1], (uint32_t)(src->ne[1] / p->patch), (uint32_t)p->patch,
                        (uint32_t)p->temporal};
  hatch_vk_dispatch_desc d = {.variant = "patchify", .spec = {IMAGE_WG}, .n_spec = 1, .n_bindings = 3,
                              .push = &push, .push_size = sizeof(push)};
  hatch_status st = hatch_vk_tensor_binding(src, false, &d.bindings[0]);
  if (st == HATCH_OK) st = hatch_vk_scratch_upload(vk, lut, sizeof(lut), &d.bindings[1]);
  if (st == HATCH_OK) st = hatch_vk_tensor_binding(dst, true, &d.bindings[2]);
  if (st != HATCH_OK) return st;
  return dispatch_1d(vk, &d, n);
}

hatch_status hatch_vk_merge_2x2(hatch_backend *be, hatch_tensor *dst, const hatch_tensor *x, int64_t grid_h,
                                int64_t grid_w) {
  hatch_vk_backend *vk = hatch_vk(be);
  uint64_t n = (uint64_t)hatch_tensor_rows(dst) * (uint64_t)dst->ne[0];
  if (n > UINT32_MAX) return HATCH_ERR_TOO_LARGE;
  merge_push push = {(uint32_t)n, (uint32_t)x->ne[0], (uint32_t)grid_w};
  hatch_vk_dispatch_desc d = {.variant = "merge_2x2", .spec = {IMAGE_WG}, .n_spec = 1, .n_bindings = 2,
                              .push = &push, .push_size = sizeof(push)};
  hatch_status st = hatch_vk_tensor_binding(x, false, &d.bindings[0]);
  if (st == HATCH_OK) st = hatch_vk_tensor_binding(dst, true, &d.bindings[1]);
  if (st != HATCH_OK) return st;
  return dispatch_1d(vk, &d, n);
}
