/* The vision tower and merger, forward and backward, on all images of a sample at once: rows are
 * image by image, each image's merge units in window order with their 4 patches adjacent (the
 * runtime's gather, runtime/model/qwen25vl_vision.c), so windows and images are contiguous row
 * ranges (cu_seqlens) and the merger's 2x2 concat is a reshape. Matmuls run over every image's rows
 * together; attention never crosses an image. Every step is an op of the model's backend; the
 * patches and index tables are built on the host and uploaded once per forward. */
#include <math.h>
#include <string.h>

#include "model/qwen25vl_internal.h" /* hatch_qwen25vl_window_order: the runtime's window order */
#include "model/train_model_internal.h"

/* HF's rescale then normalize in its float32 steps, as runtime/cpu/image.c. */
static inline float normalize_u8(uint8_t u, float mean, float std) {
  float v = (float)((double)u * (1.0 / 255.0));
  return (v - mean) / std;
}

/* One image's patches (gh * gw, pd) in raster order, each row (channel, t, py, px), the still
 * image repeated in time. */
static void patchify(float *dst, const uint8_t *rgb, int w, int P, int T, int64_t gh, int64_t gw,
                     const float *mean, const float *std) {
  int64_t pp = (int64_t)P * P;
  for (int64_t r = 0; r < gh * gw; r++) {
    int64_t gy = r / gw, gx = r % gw;
    float *row = dst + r * 3 * T * pp;
    for (int c = 0; c < 3; c++) {
      float *frame = row + c * T * pp;
      for (int py = 0; py < P; py++) {
        const uint8_t *in = rgb + ((gy * P + py) * w + gx * P) * 3 + c;
        for (int px = 0; px < P; px++) frame[py * P + px] = normalize_u8(in[px * 3], mean[c], std[c]);
      }
      for (int t = 1; t < T; t++) memcpy(frame + t * pp, frame, sizeof(float) * (size_t)pp);
    }
  }
}

static void attn_flops(hatch_train_model *m, const int32_t *bounds, int64_t n_bounds, bool causal, int64_t n,
                       int64_t heads, int64_t hd, bool backward) {
  uint64_t pairs = (uint64_t)attention_pairs_f32(bounds, n_bounds, causal, n);
  if (backward) m->flops.backward += 14u * pairs * (uint64_t)(heads * hd);
  else m->flops.forward += 4u * pairs * (uint64_t)(heads * hd);
}

/* The patches and index tables of all images (window order, 2D RoPE positions, window and image
 * bounds) built on the host in m->vs; sets a->n, nm, n_win, n_images. */
static void build_tables(hatch_train_model *m, const hatch_train_image *images, int n_images, int64_t n) {
  const hatch_qwen25vl_config *cfg = &m->cfg;
  train_vacts *a = &m->va;
  train_vstage *s = &m->vs;
  int P = cfg->vision.patch_size;
  int64_t pd = m->dv.patch_dim;
  int64_t row = 0, mrow = 0, nwin = 0;
  s->win[0] = 0;
  s->full[0] = 0;
  for (int i = 0; i < n_images; i++) {
    int64_t gw = images[i].w / P, gh = images[i].h / P, mw = gw / 2, mh = gh / 2;
    patchify(s->patches + row * pd, images[i].rgb, images[i].w, P, cfg->vision.temporal_patch_size, gh, gw,
             cfg->preprocess.image_mean, cfg->preprocess.image_std);
    int nw = hatch_qwen25vl_window_order((int)mh, (int)mw, m->dv.window_merged, s->order, s->win + nwin);
    for (int k = 0; k <= nw; k++) s->win[nwin + k] += (int32_t)row;
    nwin += nw;
    for (int64_t kk = 0; kk < mh * mw; kk++) {
      int64_t unit = s->order[kk], by = unit / mw, bx = unit % mw;
      s->inv[mrow + unit] = (int32_t)(mrow + kk);
      for (int q = 0; q < 4; q++) {
        int64_t y = 2 * by + q / 2, x = 2 * bx + q % 2, r = row + 4 * kk + q;
        s->perm[r] = (int32_t)(row + y * gw + x);
        s->pos[r] = (int32_t)y;     /* component 0: height */
        s->pos[n + r] = (int32_t)x; /* component 1: width */
      }
    }
    s->img_row0[i] = mrow;
    s->img_rows[i] = mh * mw;
    row += gh * gw;
    mrow += mh * mw;
    s->full[i + 1] = (int32_t)row;
  }
  a->n = n, a->nm = mrow, a->n_win = nwin + 1, a->n_images = n_images;
}

static hatch_status upload_tables(hatch_train_model *m) {
  train_backend *b = m->b;
  const train_vacts *a = &m->va;
  const train_vstage *s = &m->vs;
  size_t i32 = sizeof(int32_t);
  hatch_status st = b->ops->upload(b, a->patches, s->patches, sizeof(float) * (size_t)(a->n * m->dv.patch_dim));
  if (st == HATCH_OK) st = b->ops->upload(b, a->perm, s->perm, i32 * (size_t)a->n);
  if (st == HATCH_OK) st = b->ops->upload(b, a->pos, s->pos, i32 * (size_t)(2 * a->n));
  if (st == HATCH_OK) st = b->ops->upload(b, a->win, s->win, i32 * (size_t)a->n_win);
  if (st == HATCH_OK) st = b->ops->upload(b, a->full, s->full, i32 * (size_t)(a->n_images + 1));
  if (st == HATCH_OK) st = b->ops->upload(b, a->inv, s->inv, i32 * (size_t)a->nm);
  return st;
}

hatch_status train_vision_forward(hatch_train_model *m, const hatch_train_image *images, int n_images) {
  const hatch_qwen25vl_config *cfg = &m->cfg;
  train_backend *b = m->b;
  train_vacts *a = &m->va;
  const train_weights *W = &m->w;
  int P = cfg->vision.patch_size, C = cfg->vision.in_channels;
  int64_t vd = cfg->vision.hidden_size, vff = cfg->vision.intermediate_size, H = cfg->vision.num_heads;
  int64_t hd = m->dv.vision_head_dim, pd = m->dv.patch_dim, dm = cfg->vision.out_hidden_size, NP = m->max_patches;
  float eps = (float)cfg->vision.rms_norm_eps;
  a->valid = false;
  if (n_images == 0) { /* text only: nothing to run (the tables may not exist: max_images 0) */
    a->n = a->nm = 0, a->n_win = 1, a->n_images = 0;
    a->valid = true;
    return HATCH_OK;
  }
  int64_t n = 0;
  for (int i = 0; i < n_images; i++) n += (int64_t)(images[i].w / P) * (images[i].h / P);
  if (n > NP || n_images > m->lim.max_images) return HATCH_ERR_TOO_LARGE;
  build_tables(m, images, n_images, n);
  hatch_status st = upload_tables(m);
  if (st != HATCH_OK) return st;
  /* Patch embedding: both Conv3D time slices side by side, as the runtime's patch matrix: row
   * (o, c) of slice t is columns [(c * 2 + t) P^2, +P^2) of patch_w's row o. */
  int64_t pp = (int64_t)P * P;
  b->ops->copy_2d(b, a->patch_w, 2 * pp, W->patch0, pp, vd * C, pp, false);
  b->ops->copy_2d(b, a->patch_w + pp, 2 * pp, W->patch1, pp, vd * C, pp, false);
  train_linear_fwd(m, a->tmp, a->patches, a->patch_w, NULL, n, pd, vd); /* (n, vd) raster */
  b->ops->gather_rows(b, a->res, a->tmp, a->perm, n, vd);               /* tower order */
  float scale = 1.0f / sqrtf((float)hd);
  for (int l = 0; l < cfg->vision.depth; l++) {
    const train_vlayer *L = &W->v[l];
    bool full = hatch_qwen25vl_vision_layer_is_full(cfg, l);
    const int32_t *bounds = full ? a->full : a->win, *host_bounds = full ? m->vs.full : m->vs.win;
    int64_t n_bounds = full ? n_images + 1 : a->n_win;
    float *res = a->res + l * NP * vd, *next = a->res + (l + 1) * NP * vd;
    float *ln1 = a->ln1 + l * NP * vd, *q = a->q + l * NP * vd, *k = a->k + l * NP * vd, *v = a->v + l * NP * vd;
    float *att = a->att + l * NP * vd, *mid = a->mid + l * NP * vd, *ln2 = a->ln2 + l * NP * vd;
    float *g = a->g + l * NP * vff, *u = a->u + l * NP * vff, *h = a->h + l * NP * vff;
    b->ops->rmsnorm_forward(b, ln1, a->rstd1 + l * NP, res, L->ln1, eps, n, vd);
    train_linear_fwd(m, q, ln1, L->wq, L->bq, n, vd, vd);
    train_linear_fwd(m, k, ln1, L->wk, L->bk, n, vd, vd);
    train_linear_fwd(m, v, ln1, L->wv, L->bv, n, vd, vd);
    b->ops->rope_forward(b, q, q, a->pos, a->rope_freq, a->rope_comp, (int)hd, n, H, hd);
    b->ops->rope_forward(b, k, k, a->pos, a->rope_freq, a->rope_comp, (int)hd, n, H, hd);
    if (!b->ops->attention_forward(b, att, a->lse + l * NP * H, q, k, v, bounds, n_bounds, false, scale, n, H, H, hd))
      return HATCH_ERR_OUT_OF_MEMORY;
    attn_flops(m, host_bounds, n_bounds, false, n, H, hd, false);
    train_linear_fwd(m, a->tmp, att, L->wo, L->bo, n, vd, vd);
    b->ops->add(b, mid, res, a->tmp, n * vd);
    b->ops->rmsnorm_forward(b, ln2, a->rstd2 + l * NP, mid, L->ln2, eps, n, vd);
    train_linear_fwd(m, g, ln2, L->wg, L->bg, n, vd, vff);
    train_linear_fwd(m, u, ln2, L->wu, L->bu, n, vd, vff);
    b->ops->swiglu_forward(b, h, g, u, n * vff);
    train_linear_fwd(m, a->tmp, h, L->wd, L->bd, n, vff, vd);
    b->ops->add(b, next, mid, a->tmp, n * vd);
  }
  /* Merger: RMSNorm per patch, a unit's 4 adjacent rows side by side, Linear-GELU-Linear, back to
   * raster order of each merged grid. */
  int64_t nm = a->nm;
  b->ops->rmsnorm_forward(b, a->lnm, a->rstdm, a->res + (int64_t)cfg->vision.depth * NP * vd, W->post_ln, eps, n, vd);
  train_linear_fwd(m, a->h1, a->lnm, W->mm0_w, W->mm0_b, nm, 4 * vd, 4 * vd);
  b->ops->gelu_forward(b, a->h1g, a->h1, nm * 4 * vd);
  train_linear_fwd(m, a->out, a->h1g, W->mm2_w, W->mm2_b, nm, 4 * vd, dm);
  b->ops->gather_rows(b, a->feat, a->out, a->inv, nm, dm);
  a->valid = true;
  return HATCH_OK;
}

hatch_status train_vision_backward(hatch_train_model *m, const float *d_feat) {
  const hatch_qwen25vl_config *cfg = &m->cfg;
  train_backend *b = m->b;
  train_vacts *a = &m->va;
  const train_weights *W = &m->w, *G = &m->gw;
  int P = cfg->vision.patch_size, C = cfg->vision.in_channels;
  int64_t vd = cfg->vision.hidden_size, vff = cfg->vision.intermediate_size, H = cfg->vision.num_heads;
  int64_t hd = m->dv.vision_head_dim, pd = m->dv.patch_dim, dm = cfg->vision.out_hidden_size, NP = m->max_patches;
  int64_t n = a->n, nm = a->nm;
  if (!a->valid) return HATCH_ERR_INVALID_ARGUMENT;
  if (n == 0) return HATCH_OK;
  b->ops->scatter_rows(b, a->dout, d_feat, a->inv, nm, dm); /* raster -> window order */
  b->ops->zero(b, a->dh1g, nm * 4 * vd);
  train_linear_bwd(m, a->dh1g, G->mm2_w, G->mm2_b, a->dout, a->h1g, W->mm2_w, nm, 4 * vd, dm);
  b->ops->zero(b, a->dh1, nm * 4 * vd);
  b->ops->gelu_backward(b, a->dh1, a->dh1g, a->h1, nm * 4 * vd);
  b->ops->zero(b, a->dln, n * vd);
  train_linear_bwd(m, a->dln, G->mm0_w, G->mm0_b, a->dh1, a->lnm, W->mm0_w, nm, 4 * vd, 4 * vd);
  b->ops->zero(b, a->dres, n * vd);
  b->ops->rmsnorm_backward(b, a->dres, G->post_ln, a->dln, a->res + (int64_t)cfg->vision.depth * NP * vd, W->post_ln,
                           a->rstdm, n, vd);
  float scale = 1.0f / sqrtf((float)hd);
  for (int l = cfg->vision.depth - 1; l >= 0; l--) {
    const train_vlayer *L = &W->v[l], *GL = &G->v[l];
    bool full = hatch_qwen25vl_vision_layer_is_full(cfg, l);
    const int32_t *bounds = full ? a->full : a->win, *host_bounds = full ? m->vs.full : m->vs.win;
    int64_t n_bounds = full ? a->n_images + 1 : a->n_win;
    float *res = a->res + l * NP * vd, *ln1 = a->ln1 + l * NP * vd, *q = a->q + l * NP * vd, *k = a->k + l * NP * vd;
    float *v = a->v + l * NP * vd, *att = a->att + l * NP * vd, *mid = a->mid + l * NP * vd, *ln2 = a->ln2 + l * NP * vd;
    float *g = a->g + l * NP * vff, *u = a->u + l * NP * vff, *h = a->h + l * NP * vff;
    /* MLP branch: dres is dL/d(block output) = dL/dmid through the residual. */
    b->ops->zero(b, a->dh, n * vff);
    train_linear_bwd(m, a->dh, GL->wd, GL->bd, a->dres, h, L->wd, n, vff, vd);
    b->ops->zero(b, a->dg, n * vff);
    b->ops->zero(b, a->du, n * vff);
    b->ops->swiglu_backward(b, a->dg, a->du, a->dh, g, u, n * vff);
    b->ops->zero(b, a->dln, n * vd);
    train_linear_bwd(m, a->dln, GL->wg, GL->bg, a->dg, ln2, L->wg, n, vd, vff);
    train_linear_bwd(m, a->dln, GL->wu, GL->bu, a->du, ln2, L->wu, n, vd, vff);
    b->ops->rmsnorm_backward(b, a->dres, GL->ln2, a->dln, mid, L->ln2, a->rstd2 + l * NP, n, vd);
    /* Attention branch: dres is now dL/dmid = dL/d(block input) through the residual. */
    b->ops->zero(b, a->datt, n * vd);
    train_linear_bwd(m, a->datt, GL->wo, GL->bo, a->dres, att, L->wo, n, vd, vd);
    b->ops->zero(b, a->dq, n * vd);
    b->ops->zero(b, a->dk, n * vd);
    b->ops->zero(b, a->dv, n * vd);
    b->ops->attention_backward(b, a->dq, a->dk, a->dv, a->dsum, a->datt, q, k, v, att, a->lse + l * NP * H, bounds,
                               n_bounds, false, scale, n, H, H, hd);
    attn_flops(m, host_bounds, n_bounds, false, n, H, hd, true);
    b->ops->rope_backward(b, a->dq, a->dq, a->pos, a->rope_freq, a->rope_comp, (int)hd, n, H, hd);
    b->ops->rope_backward(b, a->dk, a->dk, a->pos, a->rope_freq, a->rope_comp, (int)hd, n, H, hd);
    b->ops->zero(b, a->dln, n * vd);
    train_linear_bwd(m, a->dln, GL->wq, GL->bq, a->dq, ln1, L->wq, n, vd, vd);
    train_linear_bwd(m, a->dln, GL->wk, GL->bk, a->dk, ln1, L->wk, n, vd, vd);
    train_linear_bwd(m, a->dln, GL->wv, GL->bv, a->dv, ln1, L->wv, n, vd, vd);
    b->ops->rmsnorm_backward(b, a->dres, GL->ln1, a->dln, res, L->ln1, a->rstd1 + l * NP, n, vd);
  }
  /* Undo the gather (a permutation), then the patch matrix's gradient into both time slices. */
  b->ops->scatter_rows(b, a->tmp, a->dres, a->perm, n, vd);
  b->ops->zero(b, a->dpatch_w, vd * pd);
  train_linear_bwd(m, NULL, a->dpatch_w, NULL, a->tmp, a->patches, a->patch_w, n, pd, vd);
  int64_t pp = (int64_t)P * P;
  b->ops->copy_2d(b, G->patch0, pp, a->dpatch_w, 2 * pp, vd * C, pp, true);
  b->ops->copy_2d(b, G->patch1, pp, a->dpatch_w + pp, 2 * pp, vd * C, pp, true);
  return HATCH_OK;
}
