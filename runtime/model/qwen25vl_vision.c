/* The Qwen2.5-VL vision tower on hatch ops: patch embedding, blocks with RMSNorm, 2D RoPE, window
 * attention (full attention at the configured layers), SwiGLU MLP with biases, then the merger
 * (RMSNorm, 2x2 concat, Linear-GELU-Linear).
 *
 * Token order: hatch_image_patchify gives patches in raster order. Qwen's processor orders them by
 * 2x2 merge unit, and the model then reorders the units by window. One gather does both: row 4k + q
 * holds patch q (raster within the unit) of the k-th merge unit in window order. Attention windows
 * are then contiguous row ranges, the merger's 2x2 concat is a reshape, and a last gather puts the
 * merged tokens back in raster order. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/qwen25vl_internal.h"

typedef struct scratch {
  hatch_tensor *t[24];
  int n;
} scratch;

static hatch_tensor *scratch_new(scratch *s, hatch_backend *be, hatch_type type, int n_dims, int64_t a, int64_t b,
                                 int64_t c, hatch_status *st) {
  if (*st != HATCH_OK) return NULL;
  int64_t ne[3] = {a, b, c};
  hatch_tensor *t = NULL;
  *st = hatch_tensor_create(be, type, n_dims, ne, &t);
  if (*st == HATCH_OK) s->t[s->n++] = t;
  return t;
}

static void scratch_free(scratch *s) {
  for (int i = 0; i < s->n; i++) hatch_tensor_destroy(s->t[i]);
  s->n = 0;
}

hatch_status hatch_qwen25vl_linear(hatch_backend *be, hatch_tensor *dst, const hatch_tensor *w, const hatch_tensor *b,
                                   const hatch_tensor *x) {
  hatch_status st = hatch_matmul(be, dst, w, x);
  if (st == HATCH_OK && b) st = hatch_binary(be, dst, dst, b, HATCH_BINARY_ADD);
  return st;
}

#define TRY(expr)                  \
  do {                             \
    if (st == HATCH_OK) st = (expr); \
  } while (0)

/* One block: x (d, n) updated in place. */
static hatch_status vision_block(hatch_model *m, const vision_layer *L, hatch_tensor *x, hatch_tensor *t1,
                                 hatch_tensor *q, hatch_tensor *k, hatch_tensor *v, hatch_tensor *o, hatch_tensor *a,
                                 hatch_tensor *g, hatch_tensor *u, const hatch_tensor *pos, const hatch_tensor *windows,
                                 int64_t n) {
  hatch_backend *be = m->be;
  const hatch_qwen25vl_vision_config *vc = &m->cfg.vision;
  int64_t d = vc->hidden_size, H = vc->num_heads, hd = d / H;
  int64_t ne_flat[2] = {d, n}, ne_heads[3] = {hd, H, n};
  hatch_status st = HATCH_OK;
  TRY(hatch_rms_norm(be, t1, x, L->ln1, (float)vc->rms_norm_eps));
  TRY(hatch_qwen25vl_linear(be, q, L->wq, L->bq, t1));
  TRY(hatch_qwen25vl_linear(be, k, L->wk, L->bk, t1));
  TRY(hatch_qwen25vl_linear(be, v, L->wv, L->bv, t1));
  TRY(hatch_tensor_reshape(q, 3, ne_heads));
  TRY(hatch_tensor_reshape(k, 3, ne_heads));
  TRY(hatch_tensor_reshape(v, 3, ne_heads));
  TRY(hatch_tensor_reshape(o, 3, ne_heads));
  hatch_rope_params rp = {.mode = HATCH_ROPE_VISION, .n_dims = (int)hd, .freq_base = (float)vc->rope_theta,
                          .sections = {(int)(hd / 4), (int)(hd / 4)}};
  TRY(hatch_rope(be, q, q, pos, &rp));
  TRY(hatch_rope(be, k, k, pos, &rp));
  hatch_attn_params ap = {.mode = windows ? HATCH_ATTN_WINDOWED : HATCH_ATTN_FULL, .scale = 1.0f / sqrtf((float)hd),
                          .windows = windows};
  TRY(hatch_attention(be, o, q, k, v, &ap));
  TRY(hatch_tensor_reshape(q, 2, ne_flat));
  TRY(hatch_tensor_reshape(k, 2, ne_flat));
  TRY(hatch_tensor_reshape(v, 2, ne_flat));
  TRY(hatch_tensor_reshape(o, 2, ne_flat));
  TRY(hatch_qwen25vl_linear(be, a, L->wo, L->bo, o));
  TRY(hatch_binary(be, x, x, a, HATCH_BINARY_ADD));
  TRY(hatch_rms_norm(be, t1, x, L->ln2, (float)vc->rms_norm_eps));
  TRY(hatch_qwen25vl_linear(be, g, L->w_gate, L->b_gate, t1));
  TRY(hatch_qwen25vl_linear(be, u, L->w_up, L->b_up, t1));
  TRY(hatch_swiglu(be, g, g, u));
  TRY(hatch_qwen25vl_linear(be, a, L->w_down, L->b_down, g));
  TRY(hatch_binary(be, x, x, a, HATCH_BINARY_ADD));
  return st;
}

hatch_status hatch_model_encode_image(hatch_model *m, const uint8_t *rgb, int w, int h, hatch_tensor **out) {
  if (!m || !rgb || !out || w <= 0 || h <= 0) return HATCH_ERR_INVALID_ARGUMENT;
  *out = NULL;
  const hatch_qwen25vl_vision_config *vc = &m->cfg.vision;
  int P = vc->patch_size, M = vc->spatial_merge_size;
  if (M != 2 || w % (P * M) || h % (P * M)) return HATCH_ERR_SHAPE;
  int64_t gw = w / P, gh = h / P, mw = gw / 2, mh = gh / 2, n = gw * gh, nm = n / 4;
  int64_t d = vc->hidden_size, ff = vc->intermediate_size, dm = m->cfg.text.hidden_size;
  hatch_backend *be = m->be;

  /* Host tables: the gather, its inverse at merged level, RoPE (h, w) per row, window bounds. */
  int32_t *order = malloc(sizeof(int32_t) * (size_t)nm), *bounds = malloc(sizeof(int32_t) * (size_t)(nm + 1));
  int32_t *perm = malloc(sizeof(int32_t) * (size_t)n), *pos = malloc(sizeof(int32_t) * (size_t)(2 * n));
  int32_t *inv = malloc(sizeof(int32_t) * (size_t)nm);
  hatch_status st = (order && bounds && perm && pos && inv) ? HATCH_OK : HATCH_ERR_OUT_OF_MEMORY;
  int n_windows = 0;
  if (st == HATCH_OK) {
    n_windows = hatch_qwen25vl_window_order((int)mh, (int)mw, m->dv.window_merged, order, bounds);
    for (int64_t kk = 0; kk < nm; kk++) {
      int64_t unit = order[kk], by = unit / mw, bx = unit % mw;
      inv[unit] = (int32_t)kk;
      for (int q = 0; q < 4; q++) {
        int64_t y = 2 * by + q / 2, x = 2 * bx + q % 2, r = 4 * kk + q;
        perm[r] = (int32_t)(y * gw + x);
        pos[r] = (int32_t)y;     /* component 0: height */
        pos[n + r] = (int32_t)x; /* component 1: width */
      }
    }
  }
  scratch s = {0};
  hatch_tensor *img = scratch_new(&s, be, HATCH_TYPE_U8, 3, 3, w, h, &st);
  hatch_tensor *patches = scratch_new(&s, be, HATCH_TYPE_F32, 2, m->dv.patch_dim, n, 1, &st);
  hatch_tensor *raster = scratch_new(&s, be, HATCH_TYPE_F32, 2, d, n, 1, &st);
  hatch_tensor *x = scratch_new(&s, be, HATCH_TYPE_F32, 2, d, n, 1, &st);
  hatch_tensor *perm_t = scratch_new(&s, be, HATCH_TYPE_I32, 1, n, 1, 1, &st);
  hatch_tensor *pos_t = scratch_new(&s, be, HATCH_TYPE_I32, 2, n, 2, 1, &st);
  hatch_tensor *win_t = scratch_new(&s, be, HATCH_TYPE_I32, 1, n_windows + 1, 1, 1, &st);
  hatch_tensor *t1 = scratch_new(&s, be, HATCH_TYPE_F32, 2, d, n, 1, &st);
  hatch_tensor *q = scratch_new(&s, be, HATCH_TYPE_F32, 2, d, n, 1, &st);
  hatch_tensor *k = scratch_new(&s, be, HATCH_TYPE_F32, 2, d, n, 1, &st);
  hatch_tensor *v = scratch_new(&s, be, HATCH_TYPE_F32, 2, d, n, 1, &st);
  hatch_tensor *o = scratch_new(&s, be, HATCH_TYPE_F32, 2, d, n, 1, &st);
  hatch_tensor *a = scratch_new(&s, be, HATCH_TYPE_F32, 2, d, n, 1, &st);
  hatch_tensor *g = scratch_new(&s, be, HATCH_TYPE_F32, 2, ff, n, 1, &st);
  hatch_tensor *u = scratch_new(&s, be, HATCH_TYPE_F32, 2, ff, n, 1, &st);
  hatch_tensor *inv_t = scratch_new(&s, be, HATCH_TYPE_I32, 1, nm, 1, 1, &st);
  hatch_tensor *h1 = scratch_new(&s, be, HATCH_TYPE_F32, 2, 4 * d, nm, 1, &st);
  hatch_tensor *h2 = scratch_new(&s, be, HATCH_TYPE_F32, 2, dm, nm, 1, &st);
  hatch_tensor *result = NULL;
  if (st == HATCH_OK) {
    int64_t ne_out[2] = {dm, nm};
    st = hatch_tensor_create(be, HATCH_TYPE_F32, 2, ne_out, &result);
  }
  TRY(hatch_tensor_write(img, rgb, (size_t)w * h * 3));
  TRY(hatch_tensor_write(perm_t, perm, sizeof(int32_t) * (size_t)n));
  TRY(hatch_tensor_write(pos_t, pos, sizeof(int32_t) * (size_t)(2 * n)));
  TRY(hatch_tensor_write(win_t, bounds, sizeof(int32_t) * (size_t)(n_windows + 1)));
  TRY(hatch_tensor_write(inv_t, inv, sizeof(int32_t) * (size_t)nm));
  hatch_patchify_params pp = {.patch = P, .temporal = vc->temporal_patch_size};
  memcpy(pp.mean, m->cfg.preprocess.image_mean, sizeof pp.mean);
  memcpy(pp.std, m->cfg.preprocess.image_std, sizeof pp.std);
  TRY(hatch_image_patchify(be, patches, img, &pp));
  TRY(hatch_matmul(be, raster, m->patch_w, patches));
  TRY(hatch_get_rows(be, x, raster, perm_t));
  for (int l = 0; l < vc->depth && st == HATCH_OK; l++) {
    bool full = hatch_qwen25vl_vision_layer_is_full(&m->cfg, l);
    st = vision_block(m, &m->vlayers[l], x, t1, q, k, v, o, a, g, u, pos_t, full ? NULL : win_t, n);
  }
  /* Merger: RMSNorm per patch, the 4 patches of a unit side by side (a reshape: they are adjacent
   * rows), Linear-GELU-Linear, then merged tokens back to raster order. */
  int64_t ne_merged[2] = {4 * d, nm};
  TRY(hatch_rms_norm(be, t1, x, m->merger_norm, (float)vc->rms_norm_eps));
  TRY(hatch_tensor_reshape(t1, 2, ne_merged));
  TRY(hatch_qwen25vl_linear(be, h1, m->mm0_w, m->mm0_b, t1));
  TRY(hatch_unary(be, h1, h1, HATCH_UNARY_GELU));
  TRY(hatch_qwen25vl_linear(be, h2, m->mm2_w, m->mm2_b, h1));
  TRY(hatch_get_rows(be, result, h2, inv_t));
  TRY(hatch_backend_sync(be));
  scratch_free(&s);
  free(order), free(bounds), free(perm), free(pos), free(inv);
  if (st != HATCH_OK) {
    hatch_tensor_destroy(result);
    return st;
  }
  *out = result;
  return HATCH_OK;
}
