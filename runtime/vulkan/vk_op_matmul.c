/* dst (n, m) = x (n, k) · w (m, k)^T on Vulkan.
 *
 * Decode (n <= MATVEC_MAX_N): matvec shaders, one workgroup per few weight rows, all n x rows
 * in one pass so each weight is read once (on CPU devices prefill too, in blocks of x rows); Q8_0 uses integer dot products on int8-quantized
 * activations when the device has them (vk->use_integer_dot), else dequantizes to float.
 * Prefill: a tiled matmul (shared-memory tiles, 4x4 register tiles) whose k loop is split over grid z
 * into partial planes plus a reduce pass when one invocation would loop past HATCH_VK_LOOP_BUDGET.
 * Weights may be split by rows over several buffers (chunks): one dispatch per chunk, each writing
 * its own dst columns. Loop counts below count every loop, [[unroll]] ones included, so the budget
 * holds even on a driver that ignores the hint. */
#include <stdio.h>

#include "vulkan/vk_internal.h"

#define MATVEC_MAX_N 8
#define QUANT_WG 64
#define REDUCE_WG 256
#define BK 32

typedef struct matvec_push {
  uint32_t k, kw, rows, row_base, m, x_row0;
} matvec_push; /* mirrors shaders/matvec.comp and shaders/matvec_q8_dot.comp */
_Static_assert(sizeof(matvec_push) == 24, "matvec push constants");

typedef struct quantize_push {
  uint32_t k, n_blocks, total;
} quantize_push; /* mirrors shaders/quantize_q8.comp */
_Static_assert(sizeof(quantize_push) == 12, "quantize_q8 push constants");

typedef struct matmul_push {
  uint32_t k, kw, rows, row_base, m, n, ksteps, plane;
} matmul_push; /* mirrors shaders/matmul.comp */
_Static_assert(sizeof(matmul_push) == 32, "matmul push constants");

typedef struct reduce_push {
  uint32_t count, slices;
} reduce_push; /* mirrors shaders/matmul_reduce.comp */
_Static_assert(sizeof(reduce_push) == 8, "matmul_reduce push constants");

/* Specialization constants 3 and 4 of shaders/matmul_load.glsl. */
#define K_VEC4(x) ((x)->ne[0] % 4 == 0)
#define K_TAIL(x) ((x)->ne[0] % 32 != 0)

static int64_t cdiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

static int log2i(int64_t v) {
  int l = 0;
  while ((1LL << l) < v) l++;
  return l;
}

/* Loop iterations of one matvec invocation (matvec.comp / matvec_q8_dot.comp, the larger). */
static int64_t matvec_iterations(int64_t k, int64_t nx, int64_t wg, int64_t rows) {
  int64_t per_block = 1 + rows * nx + 8 * (1 + rows * 5 + nx * (5 + rows)) + rows * (1 + nx);
  int64_t reduce = rows * nx + log2i(wg) * (1 + rows * nx) + cdiv(rows * nx, wg);
  return cdiv(cdiv(k, 32), wg) * per_block + reduce;
}

typedef struct matvec_shape {
  uint32_t wg, rows; /* invocations per workgroup, weight rows per workgroup */
} matvec_shape;

/* Measured on lavapipe (m = 4096, k = 14336): a CPU device wants narrow workgroups owning many rows
 * (8 x 8 rows: 12 ms vs 41 ms at 64 x 2 for Q8_0 n = 1); GPUs want wide coalesced workgroups.
 * The workgroup widens until the loop budget holds; false when even the widest would not. */
static bool matvec_pick(const hatch_vk_backend *vk, int64_t k, int64_t n, matvec_shape *out) {
  bool cpu = vk->caps.device_type == VK_PHYSICAL_DEVICE_TYPE_CPU;
  uint32_t rows = cpu ? (n <= 2 ? 8 : 4) : 2;
  uint32_t max_wg = vk->caps.max_workgroup_invocations < 256 ? vk->caps.max_workgroup_invocations : 256;
  for (uint32_t wg = cpu ? (n <= 4 ? 8 : 16) : 64; wg <= max_wg; wg *= 2) {
    if ((uint64_t)rows * (uint64_t)n * wg * sizeof(float) > vk->caps.max_shared_memory) break; /* red[] */
    if (matvec_iterations(k, n, wg, rows) <= HATCH_VK_LOOP_BUDGET) {
      *out = (matvec_shape){wg, rows};
      return true;
    }
  }
  return false;
}

/* Binds chunk c of w as bindings 0 (weights / Q8_0 quants) and 1 (Q8_0 scales; else w again). */
static void bind_chunk(const hatch_vk_chunk *c, hatch_type type, hatch_vk_binding *b) {
  if (type == HATCH_TYPE_Q8_0) {
    b[0] = (hatch_vk_binding){c->buf.buffer, 0, c->scales_offset, false};
    b[1] = (hatch_vk_binding){c->buf.buffer, c->scales_offset, c->buf.size - c->scales_offset, false};
  } else {
    b[0] = b[1] = (hatch_vk_binding){c->buf.buffer, 0, c->buf.size, false};
  }
}

static const char *type_suffix(hatch_type type) {
  return type == HATCH_TYPE_F32 ? "f32" : type == HATCH_TYPE_F16 ? "f16" : "q8_0";
}

/* Dispatches a matvec pipeline (d: bindings 2.. already set, spec[1] = x rows) once per block of
 * up to MATVEC_MAX_N x rows and per weight chunk. */
static hatch_status matvec_blocks(hatch_vk_backend *vk, hatch_vk_dispatch_desc *d, hatch_tensor *dst,
                                  const hatch_tensor *w, const hatch_tensor *x, matvec_shape sh) {
  const hatch_vk_tensor *vw = hatch_vk_tensor_of(w);
  int64_t n = hatch_tensor_rows(x);
  hatch_status st = HATCH_OK;
  for (int64_t x0 = 0; x0 < n && st == HATCH_OK; x0 += MATVEC_MAX_N) {
    d->spec[1] = (uint32_t)(n - x0 < MATVEC_MAX_N ? n - x0 : MATVEC_MAX_N);
    for (int i = 0; i < vw->n_chunks && st == HATCH_OK; i++) {
      const hatch_vk_chunk *c = &vw->chunks[i];
      matvec_push push = {(uint32_t)x->ne[0], (uint32_t)w->ne[0], (uint32_t)c->row_count,
                          (uint32_t)c->row_begin, (uint32_t)dst->ne[0], (uint32_t)x0};
      bind_chunk(c, w->type, d->bindings);
      d->push = &push;
      d->push_size = sizeof(push);
      hatch_vk_groups_2d(vk, (uint64_t)cdiv(c->row_count, sh.rows), d->groups);
      st = hatch_vk_dispatch(vk, d);
    }
  }
  return st;
}

static hatch_status matvec_float(hatch_vk_backend *vk, hatch_tensor *dst, const hatch_tensor *w,
                                 const hatch_tensor *x, matvec_shape sh) {
  char variant[32];
  snprintf(variant, sizeof(variant), "matvec_%s", type_suffix(w->type));
  hatch_vk_dispatch_desc d = {.variant = variant, .spec = {sh.wg, 0, sh.rows, K_VEC4(x), K_TAIL(x)}, .n_spec = 5,
                              .n_bindings = 4};
  hatch_status st = hatch_vk_tensor_binding(x, false, &d.bindings[2]);
  if (st == HATCH_OK) st = hatch_vk_tensor_binding(dst, true, &d.bindings[3]);
  if (st == HATCH_OK) st = matvec_blocks(vk, &d, dst, w, x, sh);
  return st;
}

/* Quantizes x (n, k) into int8 blocks + float scales in scratch, then integer-dot matvec per chunk. */
static hatch_status matvec_dot(hatch_vk_backend *vk, hatch_tensor *dst, const hatch_tensor *w,
                               const hatch_tensor *x, matvec_shape sh) {
  int64_t n = hatch_tensor_rows(x), n_blocks = w->ne[0] / 32;
  hatch_vk_binding xq, xd;
  hatch_status st = hatch_vk_scratch(vk, (VkDeviceSize)(n * n_blocks * 32), &xq); /* (n, n_blocks, 32) int8 */
  if (st == HATCH_OK) st = hatch_vk_scratch(vk, (VkDeviceSize)(n * n_blocks * 4), &xd); /* (n, n_blocks) */
  if (st != HATCH_OK) return st;

  quantize_push qp = {(uint32_t)x->ne[0], (uint32_t)n_blocks, (uint32_t)(n * n_blocks)};
  hatch_vk_dispatch_desc q = {.variant = "quantize_q8", .spec = {QUANT_WG}, .n_spec = 1, .n_bindings = 3,
                              .push = &qp, .push_size = sizeof(qp)};
  st = hatch_vk_tensor_binding(x, false, &q.bindings[0]);
  q.bindings[1] = xq;
  q.bindings[2] = xd;
  hatch_vk_groups_2d(vk, (uint64_t)cdiv(qp.total, QUANT_WG), q.groups);
  if (st == HATCH_OK) st = hatch_vk_dispatch(vk, &q);

  hatch_vk_dispatch_desc d = {.variant = "matvec_q8_0_dot", .spec = {sh.wg, 0, sh.rows}, .n_spec = 3,
                              .n_bindings = 5};
  d.bindings[2] = xq;
  d.bindings[3] = xd;
  d.bindings[2].write = d.bindings[3].write = false;
  if (st == HATCH_OK) st = hatch_vk_tensor_binding(dst, true, &d.bindings[4]);
  if (st == HATCH_OK) st = matvec_blocks(vk, &d, dst, w, x, sh);
  return st;
}

/* Tiled matmul; bm = bn is the tile edge picked from the device's shared memory and workgroup limits. */
static hatch_status matmul_tiled(hatch_vk_backend *vk, hatch_tensor *dst, const hatch_tensor *w,
                                 const hatch_tensor *x) {
  const hatch_vk_tensor *vw = hatch_vk_tensor_of(w);
  uint32_t tile = 64;
  if (vk->caps.max_shared_memory < 2 * 64 * BK * 4 || vk->caps.max_workgroup_invocations < 256) tile = 32;
  uint32_t wg = (tile / 4) * (tile / 4);
  int64_t n = hatch_tensor_rows(x), m = dst->ne[0];
  /* Per k-step: the step loop, two tile loads (each with a 4-wide guard loop and a 4-wide store
   * loop) and the BK-long product loop; the final store is 4 x (1 + 4). */
  int64_t per_step = 1 + 2 * (tile * 8 / wg) * 9 + BK;
  int64_t max_steps = (HATCH_VK_LOOP_BUDGET - 20) / per_step;
  int64_t steps = cdiv(x->ne[0], BK);
  int64_t slices = cdiv(steps, max_steps);
  int64_t steps_per_slice = cdiv(steps, slices);
  if (n * m > UINT32_MAX || cdiv(n, tile) > vk->caps.max_workgroup_count[1] ||
      slices > vk->caps.max_workgroup_count[2] || slices > HATCH_VK_LOOP_BUDGET)
    return HATCH_ERR_TOO_LARGE;

  char variant[32];
  snprintf(variant, sizeof(variant), "matmul_%s", type_suffix(w->type));
  hatch_vk_dispatch_desc d = {.variant = variant, .spec = {wg, tile, tile, K_VEC4(x), K_TAIL(x)}, .n_spec = 5, .n_bindings = 4};
  hatch_status st = hatch_vk_tensor_binding(x, false, &d.bindings[2]);
  hatch_vk_binding out = {0};
  if (st == HATCH_OK) st = hatch_vk_tensor_binding(dst, true, &out);
  hatch_vk_binding part = out;
  if (st == HATCH_OK && slices > 1) /* (slices, n, m) partial sums */
    st = hatch_vk_scratch(vk, (VkDeviceSize)(slices * n * m) * sizeof(float), &part);
  d.bindings[3] = part;
  for (int i = 0; i < vw->n_chunks && st == HATCH_OK; i++) {
    const hatch_vk_chunk *c = &vw->chunks[i];
    matmul_push push = {(uint32_t)x->ne[0], (uint32_t)w->ne[0], (uint32_t)c->row_count, (uint32_t)c->row_begin,
                        (uint32_t)m, (uint32_t)n, (uint32_t)steps_per_slice, (uint32_t)(n * m)};
    bind_chunk(c, w->type, d.bindings);
    d.push = &push;
    d.push_size = sizeof(push);
    d.groups[0] = (uint32_t)cdiv(c->row_count, tile);
    d.groups[1] = (uint32_t)cdiv(n, tile);
    d.groups[2] = (uint32_t)slices;
    st = hatch_vk_dispatch(vk, &d);
  }
  if (st != HATCH_OK || slices == 1) return st;

  reduce_push rp = {(uint32_t)(n * m), (uint32_t)slices};
  hatch_vk_dispatch_desc r = {.variant = "matmul_reduce", .spec = {REDUCE_WG}, .n_spec = 1, .n_bindings = 2,
                              .push = &rp, .push_size = sizeof(rp)};
  r.bindings[0] = part;
  r.bindings[0].write = false;
  r.bindings[1] = out;
  hatch_vk_groups_2d(vk, (uint64_t)cdiv(rp.count, REDUCE_WG), r.groups);
  return hatch_vk_dispatch(vk, &r);
}

hatch_status hatch_vk_matmul(hatch_backend *be, hatch_tensor *dst, const hatch_tensor *w, const hatch_tensor *x) {
  hatch_vk_backend *vk = hatch_vk(be);
  int64_t n = hatch_tensor_rows(x);
  if (x->ne[0] > UINT32_MAX / 4 || hatch_tensor_rows(w) > UINT32_MAX / 4 || n * x->ne[0] > UINT32_MAX / 4)
    return HATCH_ERR_TOO_LARGE; /* word indices in the shaders are 32-bit */
  matvec_shape sh;
  /* On a CPU device (lavapipe) shared-memory tiles and barriers cost more than they save: prefill
   * walks x in blocks of MATVEC_MAX_N rows through the matvec kernels instead (measured: see
   * bench/README.md). GPUs take the tiled kernel. */
  bool blocked = n <= MATVEC_MAX_N || (vk->caps.device_type == VK_PHYSICAL_DEVICE_TYPE_CPU && !vk->force_gpu_kernels);
  int64_t block = n < MATVEC_MAX_N ? n : MATVEC_MAX_N;
  if (blocked && matvec_pick(vk, w->ne[0], block, &sh)) {
    if (w->type == HATCH_TYPE_Q8_0 && vk->use_integer_dot) return matvec_dot(vk, dst, w, x, sh);
    return matvec_float(vk, dst, w, x, sh);
  }
  return matmul_tiled(vk, dst, w, x);
}
