/* Op front end: every check on shapes, types and backends lives here, once for all backends. */
#include <math.h>
#include <stddef.h>

#include "core/backend_impl.h"

#define CHECK(cond, err)      \
  do {                        \
    if (!(cond)) return (err); \
  } while (0)

static bool same_backend(const hatch_backend *be, const hatch_tensor *t) { return !t || t->backend == be; }

static bool same_shape(const hatch_tensor *a, const hatch_tensor *b) {
  for (int i = 0; i < HATCH_MAX_DIMS; i++)
    if (a->ne[i] != b->ne[i]) return false;
  return true;
}

static bool is_float_act(const hatch_tensor *t) { return t->type == HATCH_TYPE_F32; }

#define CHECK_BACKEND(be, t) CHECK(same_backend((be), (t)), HATCH_ERR_BACKEND_MISMATCH)

hatch_status hatch_matmul(hatch_backend *be, hatch_tensor *dst, const hatch_tensor *w, const hatch_tensor *x) {
  CHECK(be && dst && w && x, HATCH_ERR_INVALID_ARGUMENT);
  CHECK_BACKEND(be, dst);
  CHECK_BACKEND(be, w);
  CHECK_BACKEND(be, x);
  CHECK(w->type == HATCH_TYPE_F32 || w->type == HATCH_TYPE_F16 || w->type == HATCH_TYPE_Q8_0, HATCH_ERR_TYPE);
  CHECK(is_float_act(x) && is_float_act(dst), HATCH_ERR_TYPE);
  int64_t k = x->ne[0];
  bool k_fits = w->ne[0] == k || (w->type == HATCH_TYPE_Q8_0 && w->ne[0] == hatch_pad_to_block(k));
  CHECK(k_fits, HATCH_ERR_SHAPE);
  CHECK(w->ne[2] == 1 && w->ne[3] == 1, HATCH_ERR_SHAPE);
  CHECK(dst->ne[0] == w->ne[1] && hatch_tensor_rows(dst) == hatch_tensor_rows(x), HATCH_ERR_SHAPE);
  CHECK(dst != x && dst != w, HATCH_ERR_INVALID_ARGUMENT); /* every output reads a whole row of x */
  return be->vt->matmul(be, dst, w, x);
}

hatch_status hatch_patch_embed(hatch_backend *be, hatch_tensor *dst, const hatch_tensor *w,
                               const hatch_tensor *bias, const hatch_tensor *patches) {
  CHECK(be && dst && w && patches, HATCH_ERR_INVALID_ARGUMENT);
  if (bias) {
    CHECK_BACKEND(be, bias);
    CHECK(bias->type == HATCH_TYPE_F32, HATCH_ERR_TYPE);
    CHECK(bias->ne[0] == dst->ne[0] && hatch_tensor_rows(bias) == 1, HATCH_ERR_SHAPE);
  }
  hatch_status st = hatch_matmul(be, dst, w, patches);
  if (st != HATCH_OK || !bias) return st;
  return hatch_binary(be, dst, dst, bias, HATCH_BINARY_ADD);
}

hatch_status hatch_rms_norm(hatch_backend *be, hatch_tensor *dst, const hatch_tensor *x,
                            const hatch_tensor *weight, float eps) {
  CHECK(be && dst && x, HATCH_ERR_INVALID_ARGUMENT);
  CHECK_BACKEND(be, dst);
  CHECK_BACKEND(be, x);
  CHECK_BACKEND(be, weight);
  CHECK(is_float_act(x) && is_float_act(dst), HATCH_ERR_TYPE);
  CHECK(same_shape(dst, x), HATCH_ERR_SHAPE);
  CHECK(eps > 0.0f && isfinite(eps), HATCH_ERR_INVALID_ARGUMENT);
  if (weight) {
    CHECK(weight->type == HATCH_TYPE_F32, HATCH_ERR_TYPE);
    CHECK(weight->ne[0] == x->ne[0] && hatch_tensor_rows(weight) == 1, HATCH_ERR_SHAPE);
  }
  return be->vt->rms_norm(be, dst, x, weight, eps);
}

hatch_status hatch_softmax(hatch_backend *be, hatch_tensor *dst, const hatch_tensor *x, float scale) {
  CHECK(be && dst && x, HATCH_ERR_INVALID_ARGUMENT);
  CHECK_BACKEND(be, dst);
  CHECK_BACKEND(be, x);
  CHECK(is_float_act(x) && is_float_act(dst), HATCH_ERR_TYPE);
  CHECK(same_shape(dst, x), HATCH_ERR_SHAPE);
  CHECK(isfinite(scale), HATCH_ERR_INVALID_ARGUMENT);
  return be->vt->softmax(be, dst, x, scale);
}

hatch_status hatch_unary(hatch_backend *be, hatch_tensor *dst, const hatch_tensor *x, hatch_unary_op op) {
  CHECK(be && dst && x, HATCH_ERR_INVALID_ARGUMENT);
  CHECK_BACKEND(be, dst);
  CHECK_BACKEND(be, x);
  CHECK(op == HATCH_UNARY_SILU || op == HATCH_UNARY_GELU, HATCH_ERR_INVALID_ARGUMENT);
  CHECK(is_float_act(x) && is_float_act(dst), HATCH_ERR_TYPE);
  CHECK(same_shape(dst, x), HATCH_ERR_SHAPE);
  return be->vt->unary(be, dst, x, op);
}

hatch_status hatch_swiglu(hatch_backend *be, hatch_tensor *dst, const hatch_tensor *gate, const hatch_tensor *up) {
  CHECK(be && dst && gate && up, HATCH_ERR_INVALID_ARGUMENT);
  CHECK_BACKEND(be, dst);
  CHECK_BACKEND(be, gate);
  CHECK_BACKEND(be, up);
  CHECK(is_float_act(dst) && is_float_act(gate) && is_float_act(up), HATCH_ERR_TYPE);
  CHECK(same_shape(dst, gate) && same_shape(dst, up), HATCH_ERR_SHAPE);
  return be->vt->swiglu(be, dst, gate, up);
}

hatch_status hatch_binary(hatch_backend *be, hatch_tensor *dst, const hatch_tensor *a, const hatch_tensor *b,
                          hatch_binary_op op) {
  CHECK(be && dst && a && b, HATCH_ERR_INVALID_ARGUMENT);
  CHECK_BACKEND(be, dst);
  CHECK_BACKEND(be, a);
  CHECK_BACKEND(be, b);
  CHECK(op == HATCH_BINARY_ADD || op == HATCH_BINARY_MUL, HATCH_ERR_INVALID_ARGUMENT);
  CHECK(is_float_act(dst) && is_float_act(a) && is_float_act(b), HATCH_ERR_TYPE);
  CHECK(same_shape(dst, a), HATCH_ERR_SHAPE);
  CHECK(b->ne[0] == a->ne[0] && hatch_tensor_rows(a) % hatch_tensor_rows(b) == 0, HATCH_ERR_SHAPE);
  return be->vt->binary(be, dst, a, b, op);
}

hatch_status hatch_rope(hatch_backend *be, hatch_tensor *dst, const hatch_tensor *x, const hatch_tensor *pos,
                        const hatch_rope_params *p) {
  CHECK(be && dst && x && pos && p, HATCH_ERR_INVALID_ARGUMENT);
  CHECK_BACKEND(be, dst);
  CHECK_BACKEND(be, x);
  CHECK_BACKEND(be, pos);
  CHECK(is_float_act(x) && is_float_act(dst), HATCH_ERR_TYPE);
  CHECK(pos->type == HATCH_TYPE_I32, HATCH_ERR_TYPE);
  CHECK(same_shape(dst, x) && x->ne[3] == 1, HATCH_ERR_SHAPE);
  CHECK(p->n_dims >= 2 && p->n_dims % 2 == 0 && p->n_dims <= x->ne[0], HATCH_ERR_INVALID_ARGUMENT);
  CHECK(p->freq_base > 1.0f && isfinite(p->freq_base), HATCH_ERR_INVALID_ARGUMENT);
  int64_t n_comp = p->mode == HATCH_ROPE_NEOX ? 1 : p->mode == HATCH_ROPE_MROPE ? 3 : 2;
  CHECK(p->mode == HATCH_ROPE_NEOX || p->mode == HATCH_ROPE_MROPE || p->mode == HATCH_ROPE_VISION,
        HATCH_ERR_INVALID_ARGUMENT);
  CHECK(pos->ne[0] == x->ne[2] && pos->ne[1] == n_comp && pos->ne[2] == 1 && pos->ne[3] == 1, HATCH_ERR_SHAPE);
  if (p->mode != HATCH_ROPE_NEOX) {
    int sum = 0;
    for (int i = 0; i < 4; i++) {
      CHECK(p->sections[i] >= 0, HATCH_ERR_INVALID_ARGUMENT);
      CHECK(i < n_comp || p->sections[i] == 0, HATCH_ERR_INVALID_ARGUMENT);
      sum += p->sections[i];
    }
    CHECK(sum == p->n_dims / 2, HATCH_ERR_INVALID_ARGUMENT);
  }
  return be->vt->rope(be, dst, x, pos, p);
}

hatch_status hatch_attention(hatch_backend *be, hatch_tensor *dst, const hatch_tensor *q, const hatch_tensor *k,
                             const hatch_tensor *v, const hatch_attn_params *p) {
  CHECK(be && dst && q && k && v && p, HATCH_ERR_INVALID_ARGUMENT);
  CHECK_BACKEND(be, dst);
  CHECK_BACKEND(be, q);
  CHECK_BACKEND(be, k);
  CHECK_BACKEND(be, v);
  CHECK(is_float_act(q) && is_float_act(dst), HATCH_ERR_TYPE);
  CHECK(k->type == v->type && (k->type == HATCH_TYPE_F32 || k->type == HATCH_TYPE_F16), HATCH_ERR_TYPE);
  CHECK(same_shape(dst, q) && same_shape(k, v) && q->ne[3] == 1 && k->ne[3] == 1, HATCH_ERR_SHAPE);
  CHECK(k->ne[0] == q->ne[0] && q->ne[1] % k->ne[1] == 0, HATCH_ERR_SHAPE);
  CHECK(isfinite(p->scale) && p->scale > 0.0f, HATCH_ERR_INVALID_ARGUMENT);
  CHECK(dst != q && dst != k && dst != v, HATCH_ERR_INVALID_ARGUMENT); /* outputs may not overwrite inputs */
  int64_t n_kv = p->n_kv ? p->n_kv : k->ne[2];
  CHECK(n_kv >= 1 && n_kv <= k->ne[2], HATCH_ERR_SHAPE);
  CHECK(!p->past || p->mode == HATCH_ATTN_CAUSAL, HATCH_ERR_INVALID_ARGUMENT);
  switch (p->mode) {
  case HATCH_ATTN_FULL:
    break;
  case HATCH_ATTN_CAUSAL:
    if (p->past) {
      CHECK_BACKEND(be, p->past);
      CHECK(p->past->type == HATCH_TYPE_I32, HATCH_ERR_TYPE);
      CHECK(q->ne[2] <= k->ne[2], HATCH_ERR_SHAPE);
      n_kv = k->ne[2]; /* the bound; the length itself is read when the op runs */
      break;
    }
    CHECK(p->kv_offset >= 0 && p->kv_offset <= n_kv - q->ne[2], HATCH_ERR_SHAPE); /* no overflow */
    break;
  case HATCH_ATTN_WINDOWED:
    CHECK(p->windows, HATCH_ERR_INVALID_ARGUMENT);
    CHECK_BACKEND(be, p->windows);
    CHECK(p->windows->type == HATCH_TYPE_I32, HATCH_ERR_TYPE);
    CHECK(p->windows->ne[0] >= 2 && hatch_tensor_rows(p->windows) == 1, HATCH_ERR_SHAPE);
    CHECK(n_kv == q->ne[2], HATCH_ERR_SHAPE); /* self-attention over one token set */
    break;
  default:
    return HATCH_ERR_INVALID_ARGUMENT;
  }
  hatch_attn_params resolved = *p;
  resolved.n_kv = n_kv;
  return be->vt->attention(be, dst, q, k, v, &resolved);
}

hatch_status hatch_merge_2x2(hatch_backend *be, hatch_tensor *dst, const hatch_tensor *x, int64_t grid_h,
                             int64_t grid_w) {
  CHECK(be && dst && x, HATCH_ERR_INVALID_ARGUMENT);
  CHECK_BACKEND(be, dst);
  CHECK_BACKEND(be, x);
  CHECK(is_float_act(x) && is_float_act(dst), HATCH_ERR_TYPE);
  CHECK(grid_h >= 2 && grid_w >= 2 && grid_h % 2 == 0 && grid_w % 2 == 0, HATCH_ERR_SHAPE);
  CHECK(hatch_tensor_rows(x) == grid_h * grid_w, HATCH_ERR_SHAPE);
  CHECK(dst->ne[0] == 4 * x->ne[0] && hatch_tensor_rows(dst) == grid_h * grid_w / 4, HATCH_ERR_SHAPE);
  return be->vt->merge_2x2(be, dst, x, grid_h, grid_w);
}

hatch_status hatch_get_rows(hatch_backend *be, hatch_tensor *dst, const hatch_tensor *src, const hatch_tensor *idx) {
  CHECK(be && dst && src && idx, HATCH_ERR_INVALID_ARGUMENT);
  CHECK_BACKEND(be, dst);
  CHECK_BACKEND(be, src);
  CHECK_BACKEND(be, idx);
  CHECK(is_float_act(src) && is_float_act(dst) && idx->type == HATCH_TYPE_I32, HATCH_ERR_TYPE);
  CHECK(dst->ne[0] == src->ne[0] && hatch_tensor_rows(idx) == 1 && idx->ne[0] == hatch_tensor_rows(dst), HATCH_ERR_SHAPE);
  CHECK(dst != src, HATCH_ERR_INVALID_ARGUMENT);
  return be->vt->get_rows(be, dst, src, idx);
}

static hatch_status check_set_rows(hatch_backend *be, hatch_tensor *dst, const hatch_tensor *src) {
  CHECK(be && dst && src, HATCH_ERR_INVALID_ARGUMENT);
  CHECK_BACKEND(be, dst);
  CHECK_BACKEND(be, src);
  CHECK(is_float_act(src) && (dst->type == HATCH_TYPE_F32 || dst->type == HATCH_TYPE_F16), HATCH_ERR_TYPE);
  CHECK(dst->ne[0] == src->ne[0], HATCH_ERR_SHAPE);
  CHECK(dst->type != HATCH_TYPE_F16 || dst->ne[0] % 2 == 0, HATCH_ERR_SHAPE); /* whole fp16 pairs */
  CHECK(hatch_tensor_rows(src) <= hatch_tensor_rows(dst), HATCH_ERR_SHAPE);
  CHECK(dst != src, HATCH_ERR_INVALID_ARGUMENT);
  return HATCH_OK;
}

hatch_status hatch_set_rows(hatch_backend *be, hatch_tensor *dst, const hatch_tensor *src, int64_t row_offset) {
  hatch_status st = check_set_rows(be, dst, src);
  if (st != HATCH_OK) return st;
  CHECK(row_offset >= 0 && row_offset <= hatch_tensor_rows(dst) - hatch_tensor_rows(src), HATCH_ERR_SHAPE);
  return be->vt->set_rows(be, dst, src, row_offset, NULL, 0);
}

hatch_status hatch_set_rows_at(hatch_backend *be, hatch_tensor *dst, const hatch_tensor *src, const hatch_tensor *at,
                               int64_t unit) {
  hatch_status st = check_set_rows(be, dst, src);
  if (st != HATCH_OK) return st;
  CHECK(at, HATCH_ERR_INVALID_ARGUMENT);
  CHECK_BACKEND(be, at);
  CHECK(at->type == HATCH_TYPE_I32, HATCH_ERR_TYPE);
  CHECK(unit >= 1 && unit <= hatch_tensor_rows(dst), HATCH_ERR_INVALID_ARGUMENT);
  return be->vt->set_rows(be, dst, src, 0, at, unit);
}

static bool is_rgb8(const hatch_tensor *t) {
  return t->type == HATCH_TYPE_U8 && t->ne[0] == 3 && t->ne[3] == 1;
}

hatch_status hatch_image_resize(hatch_backend *be, hatch_tensor *dst, const hatch_tensor *src) {
  CHECK(be && dst && src, HATCH_ERR_INVALID_ARGUMENT);
  CHECK_BACKEND(be, dst);
  CHECK_BACKEND(be, src);
  CHECK(src->type == HATCH_TYPE_U8 && dst->type == HATCH_TYPE_U8, HATCH_ERR_TYPE);
  CHECK(is_rgb8(src) && is_rgb8(dst), HATCH_ERR_SHAPE);
  return be->vt->image_resize(be, dst, src);
}

void hatch_patchify_params_qwen2vl(hatch_patchify_params *p) {
  *p = (hatch_patchify_params){
      .patch = 14,
      .temporal = 2,
      .mean = {0.48145466f, 0.4578275f, 0.40821073f},
      .std = {0.26862954f, 0.26130258f, 0.27577711f},
  };
}

hatch_status hatch_image_patchify(hatch_backend *be, hatch_tensor *dst, const hatch_tensor *src,
                                  const hatch_patchify_params *p) {
  CHECK(be && dst && src && p, HATCH_ERR_INVALID_ARGUMENT);
  CHECK_BACKEND(be, dst);
  CHECK_BACKEND(be, src);
  CHECK(src->type == HATCH_TYPE_U8 && dst->type == HATCH_TYPE_F32, HATCH_ERR_TYPE);
  CHECK(is_rgb8(src), HATCH_ERR_SHAPE);
  CHECK(p->patch >= 1 && p->patch <= 64 && p->temporal >= 1 && p->temporal <= 4, HATCH_ERR_INVALID_ARGUMENT);
  for (int c = 0; c < 3; c++) CHECK(p->std[c] > 0.0f && isfinite(p->mean[c]), HATCH_ERR_INVALID_ARGUMENT);
  int64_t w = src->ne[1], h = src->ne[2];
  CHECK(w % p->patch == 0 && h % p->patch == 0, HATCH_ERR_SHAPE);
  int64_t n_patches = (w / p->patch) * (h / p->patch);
  CHECK(dst->ne[0] == 3LL * p->temporal * p->patch * p->patch && hatch_tensor_rows(dst) == n_patches,
        HATCH_ERR_SHAPE);
  return be->vt->image_patchify(be, dst, src, p);
}
