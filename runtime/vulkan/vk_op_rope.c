/* RoPE on Vulkan: the host computes the (inv_freq, component) table once per call, exactly as the
 * CPU reference does, and uploads it to scratch; one invocation per (token, slot, block of heads). */
#include <stdlib.h>

#include "core/rope_table.h"
#include "vulkan/vk_internal.h"

#define ROPE_WG 64
#define ROPE_HEAD_BLOCK 1024 /* heads one invocation loops over: far under the loop budget */

typedef struct rope_push {
  uint32_t head_dim, n_head, n_tok, half_dims, head_block;
} rope_push; /* mirrors shaders/rope.comp */
_Static_assert(sizeof(rope_push) == 20, "rope push constants");

hatch_status hatch_vk_rope(hatch_backend *be, hatch_tensor *dst, const hatch_tensor *x, const hatch_tensor *pos,
                           const hatch_rope_params *p) {
  hatch_vk_backend *vk = hatch_vk(be);
  int64_t half = p->n_dims / 2, slots = x->ne[0] - half;
  int64_t blocks = (x->ne[1] + ROPE_HEAD_BLOCK - 1) / ROPE_HEAD_BLOCK;
  uint64_t invocations = (uint64_t)x->ne[2] * (uint64_t)slots * (uint64_t)blocks;
  if (invocations > UINT32_MAX || hatch_tensor_nelements(x) > UINT32_MAX) return HATCH_ERR_TOO_LARGE;
  hatch_rope_pair *pairs = malloc(sizeof(*pairs) * (size_t)half); /* (half) */
  if (!pairs) return HATCH_ERR_OUT_OF_MEMORY;
  hatch_rope_table(p, pairs);
  rope_push push = {(uint32_t)x->ne[0], (uint32_t)x->ne[1], (uint32_t)x->ne[2], (uint32_t)half, ROPE_HEAD_BLOCK};
  hatch_vk_dispatch_desc d = {.variant = "rope", .spec = {ROPE_WG}, .n_spec = 1, .n_bindings = 4,
                              .push = &push, .push_size = sizeof(push)};
  hatch_status st = hatch_vk_tensor_binding(x, false, &d.bindings[0]);
  if (st == HATCH_OK) st = hatch_vk_tensor_binding(pos, false, &d.bindings[1]);
  if (st == HATCH_OK) st = hatch_vk_scratch_upload(vk, pairs, sizeof(*pairs) * (size_t)half, &d.bindings[2]);
  if (st == HATCH_OK) st = hatch_vk_tensor_binding(dst, true, &d.bindings[3]);
  free(pairs);
  if (st != HATCH_OK) return st;
  hatch_vk_groups_2d(vk, (invocations + ROPE_WG - 1) / ROPE_WG, d.groups);
  return hatch_vk_dispatch(vk, &d);
}
