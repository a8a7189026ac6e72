/* Attention on Vulkan, flash-decoding style: the key range of each (query, head) is cut into
 * chunks; when there is more than one chunk the partial (max, sum, acc) go to scratch and
 * attention_combine.comp merges them. Chunks are sized so that no invocation crosses the loop
 * budget, and split further when there are too few (query, head) rows to fill the device (decode).
 * GPUs: one workgroup per chunk (shaders/attention.comp). CPU devices (lavapipe), where barriers and
 * shared memory are expensive: one invocation per chunk with q and the accumulator in registers
 * (shaders/attention_rows.comp; measured in bench/README.md). */
#include "vulkan/vk_internal.h"

#define ATTN_WG 64            /* keys per tile, accumulator dims per pass */
#define ATTN_MAX_DPT 4        /* d <= ATTN_WG * ATTN_MAX_DPT (mirrors MAX_DPT in the shader) */
#define ATTN_TARGET_GROUPS 256 /* workgroups worth splitting keys for */
#define ATTN_MIN_CHUNK 256    /* below this a split costs more than it gains */
#define ATTN_SEARCH_LOOPS 34  /* window binary search (<= 32) and slack */
#define ROWS_WG 16            /* attention_rows: invocations per workgroup */
#define ROWS_MAX_D4 64        /* attention_rows: d <= 256 */

typedef struct attn_push {
  uint32_t d, n_q, n_head, group, n_kv_head, n_kv, mode, kv_offset, chunk, n_split, n_win;
  float scale;
} attn_push; /* mirrors shaders/attention.comp */
_Static_assert(sizeof(attn_push) == 48, "attention push constants");

typedef struct combine_push {
  uint32_t d, rows, n_split;
} combine_push; /* mirrors shaders/attention_combine.comp */
_Static_assert(sizeof(combine_push) == 12, "attention_combine push constants");

static int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

/* Loop iterations one invocation spends per key tile (see the shader's header). */
static int64_t loops_per_tile(int64_t d, int64_t dpt) { return 1 + d + ATTN_WG + dpt + ATTN_WG * (1 + dpt); }

typedef struct attn_plan {
  int64_t chunk, n_split;
} attn_plan;

/* Chooses the key chunk: as large as the loop budget allows, smaller when rows alone cannot fill
 * the device. bound = the longest key range any query can have. */
static hatch_status plan_chunks(int64_t d, int64_t rows, int64_t bound, attn_plan *out) {
  int64_t dpt = ceil_div(d, ATTN_WG);
  int64_t max_tiles = (HATCH_VK_LOOP_BUDGET - 2 * dpt - ATTN_SEARCH_LOOPS) / loops_per_tile(d, dpt);
  if (max_tiles < 1) return HATCH_ERR_TOO_LARGE;
  int64_t n_split = ceil_div(bound, max_tiles * ATTN_WG);
  int64_t want = ceil_div(ATTN_TARGET_GROUPS, rows), most = ceil_div(bound, ATTN_MIN_CHUNK);
  int64_t extra = want < most ? want : most;
  if (extra > n_split) n_split = extra;
  int64_t chunk = ceil_div(ceil_div(bound, n_split), ATTN_WG) * ATTN_WG;
  n_split = ceil_div(bound, chunk);
  if (2 * n_split + dpt * (n_split + 1) > HATCH_VK_LOOP_BUDGET) return HATCH_ERR_TOO_LARGE; /* combine */
  *out = (attn_plan){chunk, n_split};
  return HATCH_OK;
}

static hatch_status combine(hatch_vk_backend *vk, hatch_tensor *dst, const hatch_vk_binding *part, int64_t d,
                            int64_t rows, int64_t n_split) {
  combine_push push = {(uint32_t)d, (uint32_t)rows, (uint32_t)n_split};
  hatch_vk_dispatch_desc c = {.variant = "attention_combine", .spec = {ATTN_WG}, .n_spec = 1, .n_bindings = 2,
                              .push = &push, .push_size = sizeof(push)};
  c.bindings[0] = *part;
  c.bindings[0].write = false;
  hatch_status st = hatch_vk_tensor_binding(dst, true, &c.bindings[1]);
  if (st != HATCH_OK) return st;
  hatch_vk_groups_2d(vk, (uint64_t)rows, c.groups);
  return hatch_vk_dispatch(vk, &c);
}

/* attention_rows.comp's chunking: each invocation loops (1 + 2*d/4) times per key ([[unroll]] loops
 * counted as loops, in case a driver ignores the hint); enough chunks to give every thread work. */
static hatch_status plan_rows(int64_t d, int64_t rows, int64_t bound, attn_plan *out) {
  int64_t per_key = 1 + 2 * (d / 4);
  /* outside the key loop: q load, accumulator init, output (up to 4 per d/4 when writing partials) */
  int64_t overhead = ATTN_SEARCH_LOOPS + 7 * (d / 4) + 8;
  int64_t max_chunk = (HATCH_VK_LOOP_BUDGET - overhead) / per_key;
  int64_t n_split = ceil_div(bound, max_chunk);
  int64_t want = ceil_div(4 * ROWS_WG, rows), most = ceil_div(bound, ATTN_MIN_CHUNK);
  int64_t extra = want < most ? want : most;
  if (extra > n_split) n_split = extra;
  int64_t chunk = ceil_div(bound, n_split);
  n_split = ceil_div(bound, chunk);
  if (2 * n_split + ceil_div(d, ATTN_WG) * (n_split + 1) > HATCH_VK_LOOP_BUDGET) return HATCH_ERR_TOO_LARGE;
  *out = (attn_plan){chunk, n_split};
  return HATCH_OK;
}

hatch_status hatch_vk_attention(hatch_backend *be, hatch_tensor *dst, const hatch_tensor *q, const hatch_tensor *k,
                                const hatch_tensor *v, const hatch_attn_params *p) {
  hatch_vk_backend *vk = hatch_vk(be);
  int64_t d = q->ne[0], n_head = q->ne[1], n_q = q->ne[2], rows = n_head * n_q;
  if (d > ATTN_WG * ATTN_MAX_DPT) return HATCH_ERR_UNSUPPORTED;
  if (hatch_tensor_nelements(q) > UINT32_MAX || hatch_tensor_nelements(k) > UINT32_MAX) return HATCH_ERR_TOO_LARGE;
  int64_t bound = p->n_kv; /* with past: the cache's rows, so the plan holds for any length */
  if (p->mode == HATCH_ATTN_CAUSAL && !p->past && p->kv_offset + n_q < bound) bound = p->kv_offset + n_q;
  bool by_rows = vk->caps.device_type == VK_PHYSICAL_DEVICE_TYPE_CPU && !vk->force_gpu_kernels && d % 4 == 0 &&
                 d / 4 <= ROWS_MAX_D4;
  attn_plan plan;
  hatch_status st = by_rows ? plan_rows(d, rows, bound, &plan) : plan_chunks(d, rows, bound, &plan);
  if (st != HATCH_OK) return st;
  if ((uint64_t)rows * (uint64_t)plan.n_split * (uint64_t)(2 + d) > UINT32_MAX) return HATCH_ERR_TOO_LARGE;

  const hatch_tensor *win = p->mode == HATCH_ATTN_WINDOWED ? p->windows : NULL;
  attn_push push = {
      .d = (uint32_t)d, .n_q = (uint32_t)n_q, .n_head = (uint32_t)n_head, .group = (uint32_t)(n_head / k->ne[1]),
      .n_kv_head = (uint32_t)k->ne[1], .n_kv = (uint32_t)p->n_kv, .mode = p->past ? 3u /* MODE_CAUSAL_PAST */ : (uint32_t)p->mode,
      .kv_offset = (uint32_t)p->kv_offset, .chunk = (uint32_t)plan.chunk, .n_split = (uint32_t)plan.n_split,
      .n_win = win ? (uint32_t)(win->ne[0] - 1) : 0, .scale = p->scale,
  };
  bool f16 = k->type == HATCH_TYPE_F16;
  hatch_vk_dispatch_desc a = {.variant = by_rows ? (f16 ? "attention_rows_f16" : "attention_rows_f32")
                                                 : (f16 ? "attention_f16" : "attention_f32"),
                              .spec = {ATTN_WG, (uint32_t)ceil_div(d, ATTN_WG)}, .n_spec = 2, .n_bindings = 7,
                              .push = &push, .push_size = sizeof(push)};
  if (by_rows) {
    a.spec[0] = ROWS_WG;
    a.spec[1] = (uint32_t)(d / 4);
  }
  st = hatch_vk_tensor_binding(q, false, &a.bindings[0]);
  if (st == HATCH_OK) st = hatch_vk_tensor_binding(k, false, &a.bindings[1]);
  if (st == HATCH_OK) st = hatch_vk_tensor_binding(v, false, &a.bindings[2]);
  if (st == HATCH_OK) st = hatch_vk_tensor_binding(win ? win : q, false, &a.bindings[3]); /* q: unused stand-in */
  if (st == HATCH_OK) st = hatch_vk_tensor_binding(dst, true, &a.bindings[4]);
  if (st == HATCH_OK) st = hatch_vk_tensor_binding(p->past ? p->past : q, false, &a.bindings[6]); /* q: stand-in */
  if (st != HATCH_OK) return st;
  if (plan.n_split == 1) {
    a.bindings[5] = a.bindings[4]; /* unused stand-in: the single chunk writes dst */
  } else {
    VkDeviceSize bytes = sizeof(float) * (VkDeviceSize)(rows * plan.n_split * (2 + d));
    st = hatch_vk_scratch(vk, bytes, &a.bindings[5]);
    if (st != HATCH_OK) return st;
  }
  uint64_t units = (uint64_t)rows * (uint64_t)plan.n_split; /* workgroups, or invocations by rows */
  hatch_vk_groups_2d(vk, by_rows ? (units + ROWS_WG - 1) / ROWS_WG : units, a.groups);
  st = hatch_vk_dispatch(vk, &a);
  if (st != HATCH_OK || plan.n_split == 1) return st;
  return combine(vk, dst, &a.bindings[5], d, rows, plan.n_split);
}
