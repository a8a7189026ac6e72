/* The language model, forward and backward, and the public entry points over both towers: token
 * embeddings with the image features spliced over the image-token runs, M-RoPE positions from the
 * runtime's own code, decoder layers (RMSNorm, GQA attention with qkv bias, SwiGLU), final norm,
 * logits and the log-probability of targets. Every step is an op of the model's backend; tokens,
 * targets and positions are staged on the host and uploaded; what the public functions take or
 * return is host memory. */
#include <math.h>
#include <string.h>

#include "model/qwen25vl_internal.h" /* struct hatch_model: the runtime's position code reads its config */
#include "model/train_model_internal.h"

static hatch_status check_images(const hatch_train_model *m, const hatch_train_image *images, int n_images) {
  if (n_images < 0 || (n_images > 0 && !images)) return HATCH_ERR_INVALID_ARGUMENT;
  if (n_images > m->lim.max_images) return HATCH_ERR_TOO_LARGE;
  int mult = m->dv.pixel_multiple;
  for (int i = 0; i < n_images; i++) {
    const hatch_train_image *im = &images[i];
    if (!im->rgb || im->w <= 0 || im->h <= 0) return HATCH_ERR_INVALID_ARGUMENT;
    if (im->w % mult || im->h % mult) return HATCH_ERR_SHAPE;
    if ((int64_t)im->w * im->h > m->lim.max_image_pixels) return HATCH_ERR_TOO_LARGE;
  }
  return HATCH_OK;
}

/* ---- vision, public ----------------------------------------------------------------------------- */

hatch_status hatch_train_vision_forward(hatch_train_model *m, const hatch_train_image *images, int n_images) {
  if (!m) return HATCH_ERR_INVALID_ARGUMENT;
  hatch_status st = check_images(m, images, n_images);
  if (st != HATCH_OK) return st;
  m->ta.valid = false; /* the text activations no longer match the tower's */
  m->flops.forward = 0;
  st = train_vision_forward(m, images, n_images);
  m->flops.total += m->flops.forward;
  return st;
}

const float *hatch_train_vision_features(const hatch_train_model *m, int64_t *n_rows) {
  if (!m || !m->va.valid) return NULL;
  if (n_rows) *n_rows = m->va.nm;
  if (m->b->host_memory || m->va.nm == 0) return m->va.feat;
  size_t bytes = sizeof(float) * (size_t)(m->va.nm * m->cfg.vision.out_hidden_size);
  return m->b->ops->download(m->b, m->vs.feat, m->va.feat, bytes) == HATCH_OK ? m->vs.feat : NULL;
}

hatch_status hatch_train_vision_image_rows(const hatch_train_model *m, int image, int64_t *row0, int64_t *n_rows) {
  if (!m || !m->va.valid || image < 0 || image >= m->va.n_images || !row0 || !n_rows) return HATCH_ERR_INVALID_ARGUMENT;
  *row0 = m->vs.img_row0[image];
  *n_rows = m->vs.img_rows[image];
  return HATCH_OK;
}

hatch_status hatch_train_vision_backward(hatch_train_model *m, const float *d_features) {
  if (!m || (!d_features && m->va.nm > 0)) return HATCH_ERR_INVALID_ARGUMENT;
  if (!m->va.valid) return HATCH_ERR_INVALID_ARGUMENT;
  size_t bytes = sizeof(float) * (size_t)(m->va.nm * m->cfg.vision.out_hidden_size);
  hatch_status st = bytes ? m->b->ops->upload(m->b, m->ta.dfeat, d_features, bytes) : HATCH_OK; /* dfeat: scratch */
  if (st != HATCH_OK) return st;
  m->flops.backward = 0;
  st = train_vision_backward(m, m->ta.dfeat);
  m->flops.total += m->flops.backward;
  return st;
}

/* ---- text --------------------------------------------------------------------------------------- */

hatch_status hatch_train_forward(hatch_train_model *m, const int32_t *ids, int n, const hatch_train_image *images,
                                 int n_images, const int32_t *targets, float *logp) {
  if (!m || !ids || n <= 0) return HATCH_ERR_INVALID_ARGUMENT;
  train_tacts *a = &m->ta;
  a->valid = false;
  if (n > m->lim.max_tokens) return HATCH_ERR_TOO_LARGE;
  hatch_status st = check_images(m, images, n_images);
  if (st != HATCH_OK) return st;
  const hatch_qwen25vl_config *cfg = &m->cfg;
  int64_t V = cfg->text.vocab_size;
  for (int t = 0; t < n; t++) {
    if (ids[t] < 0 || ids[t] >= V) return HATCH_ERR_INVALID_ARGUMENT;
    if (targets && (targets[t] < -1 || targets[t] >= V)) return HATCH_ERR_INVALID_ARGUMENT;
  }
  /* M-RoPE positions by the runtime's get_rope_index (it checks the image runs against the grids). */
  int gh[64], gw[64];
  for (int i = 0; i < n_images; i++) gh[i] = images[i].h / m->dv.pixel_multiple, gw[i] = images[i].w / m->dv.pixel_multiple;
  static const struct hatch_model zero_model;
  struct hatch_model pm = zero_model;
  pm.cfg = *cfg;
  train_tstage *ts = &m->ts;
  if ((st = hatch_model_rope_positions(&pm, ids, n, gh, gw, n_images, ts->pos, NULL)) != HATCH_OK) return st;
  memcpy(ts->ids, ids, sizeof(int32_t) * (size_t)n);
  for (int t = 0; t < n; t++) ts->targets[t] = targets ? targets[t] : -1;
  train_backend *b = m->b;
  size_t i32 = sizeof(int32_t);
  if ((st = b->ops->upload(b, a->ids, ts->ids, i32 * (size_t)n)) != HATCH_OK ||
      (st = b->ops->upload(b, a->targets, ts->targets, i32 * (size_t)n)) != HATCH_OK ||
      (st = b->ops->upload(b, a->pos, ts->pos, i32 * (size_t)(3 * n))) != HATCH_OK)
    return st;
  a->n = n, a->n_images = n_images, a->has_targets = targets != NULL;
  m->flops.forward = 0;
  if ((st = train_vision_forward(m, images, n_images)) != HATCH_OK) return st;

  int64_t d = cfg->text.hidden_size, ff = cfg->text.intermediate_size, H = cfg->text.num_attention_heads;
  int64_t KV = cfg->text.num_key_value_heads, hd = m->dv.head_dim, qd = m->dv.q_dim, kvd = m->dv.kv_dim;
  int64_t NT = m->lim.max_tokens, dm = cfg->vision.out_hidden_size;
  float eps = (float)cfg->text.rms_norm_eps, scale = 1.0f / sqrtf((float)hd);
  const train_weights *W = &m->w;
  b->ops->embedding_forward(b, a->res, a->ids, W->tok_embd, cfg->image_token_id, n, d);
  for (int t = 0, img = 0; t < n; t++) /* run k holds image k's features in order */
    if (ids[t] == cfg->image_token_id) {
      int64_t run = m->vs.img_rows[img];
      b->ops->copy(b, a->res + (int64_t)t * d, m->va.feat + m->vs.img_row0[img] * dm, sizeof(float) * (size_t)(run * dm));
      t += (int)run - 1;
      img++;
    }
  for (int l = 0; l < cfg->text.num_hidden_layers; l++) {
    const train_tlayer *L = &W->t[l];
    float *res = a->res + l * NT * d, *next = a->res + (l + 1) * NT * d;
    float *ln1 = a->ln1 + l * NT * d, *mid = a->mid + l * NT * d, *ln2 = a->ln2 + l * NT * d;
    float *q = a->q + l * NT * qd, *att = a->att + l * NT * qd, *k = a->k + l * NT * kvd, *v = a->v + l * NT * kvd;
    float *g = a->g + l * NT * ff, *u = a->u + l * NT * ff, *h = a->h + l * NT * ff;
    b->ops->rmsnorm_forward(b, ln1, a->rstd1 + l * NT, res, L->attn_norm, eps, n, d);
    train_linear_fwd(m, q, ln1, L->wq, L->bq, n, d, qd);
    train_linear_fwd(m, k, ln1, L->wk, L->bk, n, d, kvd);
    train_linear_fwd(m, v, ln1, L->wv, L->bv, n, d, kvd);
    b->ops->rope_forward(b, q, q, a->pos, a->rope_freq, a->rope_comp, (int)hd, n, H, hd);
    b->ops->rope_forward(b, k, k, a->pos, a->rope_freq, a->rope_comp, (int)hd, n, KV, hd);
    if (!b->ops->attention_forward(b, att, a->lse + l * NT * H, q, k, v, NULL, 0, true, scale, n, H, KV, hd))
      return HATCH_ERR_OUT_OF_MEMORY;
    m->flops.forward += 4u * (uint64_t)attention_pairs_f32(NULL, 0, true, n) * (uint64_t)(H * hd);
    train_linear_fwd(m, a->tmp, att, L->wo, NULL, n, qd, d);
    b->ops->add(b, mid, res, a->tmp, n * d);
    b->ops->rmsnorm_forward(b, ln2, a->rstd2 + l * NT, mid, L->ffn_norm, eps, n, d);
    train_linear_fwd(m, g, ln2, L->wg, NULL, n, d, ff);
    train_linear_fwd(m, u, ln2, L->wu, NULL, n, d, ff);
    b->ops->swiglu_forward(b, h, g, u, n * ff);
    train_linear_fwd(m, a->tmp, h, L->wd, NULL, n, ff, d);
    b->ops->add(b, next, mid, a->tmp, n * d);
  }
  float *last = a->res + (int64_t)cfg->text.num_hidden_layers * NT * d;
  b->ops->rmsnorm_forward(b, a->lnf, a->rstdf, last, W->output_norm, eps, n, d);
  train_linear_fwd(m, a->logits, a->lnf, W->output, NULL, n, d, V);
  b->ops->logprob_forward(b, a->logp, a->lse_v, a->logits, a->targets, n, V);
  if (logp && (st = b->ops->download(b, logp, a->logp, sizeof(float) * (size_t)n)) != HATCH_OK) return st;
  m->flops.total += m->flops.forward;
  a->valid = true;
  return HATCH_OK;
}

const float *hatch_train_logits(const hatch_train_model *m, int *n, int64_t *vocab) {
  if (!m || !m->ta.valid) return NULL;
  if (n) *n = m->ta.n;
  if (vocab) *vocab = m->cfg.text.vocab_size;
  if (m->b->host_memory) return m->ta.logits;
  size_t bytes = sizeof(float) * (size_t)((int64_t)m->ta.n * m->cfg.text.vocab_size);
  return m->b->ops->download(m->b, m->ts.logits, m->ta.logits, bytes) == HATCH_OK ? m->ts.logits : NULL;
}

/* From a->dlogits (n, vocab). */
static hatch_status text_backward(hatch_train_model *m) {
  const hatch_qwen25vl_config *cfg = &m->cfg;
  train_tacts *a = &m->ta;
  const train_weights *W = &m->w, *G = &m->gw;
  train_backend *b = m->b;
  int64_t n = a->n, V = cfg->text.vocab_size, d = cfg->text.hidden_size, ff = cfg->text.intermediate_size;
  int64_t H = cfg->text.num_attention_heads, KV = cfg->text.num_key_value_heads, hd = m->dv.head_dim;
  int64_t qd = m->dv.q_dim, kvd = m->dv.kv_dim, NT = m->lim.max_tokens, dm = cfg->vision.out_hidden_size;
  float scale = 1.0f / sqrtf((float)hd);
  m->flops.backward = 0;
  b->ops->zero(b, a->dln, n * d);
  train_linear_bwd(m, a->dln, G->output, NULL, a->dlogits, a->lnf, W->output, n, d, V);
  b->ops->zero(b, a->dres, n * d);
  b->ops->rmsnorm_backward(b, a->dres, G->output_norm, a->dln, a->res + (int64_t)cfg->text.num_hidden_layers * NT * d,
                           W->output_norm, a->rstdf, n, d);
  for (int l = cfg->text.num_hidden_layers - 1; l >= 0; l--) {
    const train_tlayer *L = &W->t[l], *GL = &G->t[l];
    float *res = a->res + l * NT * d, *ln1 = a->ln1 + l * NT * d, *mid = a->mid + l * NT * d, *ln2 = a->ln2 + l * NT * d;
    float *q = a->q + l * NT * qd, *att = a->att + l * NT * qd, *k = a->k + l * NT * kvd, *v = a->v + l * NT * kvd;
    float *g = a->g + l * NT * ff, *u = a->u + l * NT * ff, *h = a->h + l * NT * ff;
    b->ops->zero(b, a->dh, n * ff);
    train_linear_bwd(m, a->dh, GL->wd, NULL, a->dres, h, L->wd, n, ff, d);
    b->ops->zero(b, a->dg, n * ff);
    b->ops->zero(b, a->du, n * ff);
    b->ops->swiglu_backward(b, a->dg, a->du, a->dh, g, u, n * ff);
    b->ops->zero(b, a->dln, n * d);
    train_linear_bwd(m, a->dln, GL->wg, NULL, a->dg, ln2, L->wg, n, d, ff);
    train_linear_bwd(m, a->dln, GL->wu, NULL, a->du, ln2, L->wu, n, d, ff);
    b->ops->rmsnorm_backward(b, a->dres, GL->ffn_norm, a->dln, mid, L->ffn_norm, a->rstd2 + l * NT, n, d);
    b->ops->zero(b, a->datt, n * qd);
    train_linear_bwd(m, a->datt, GL->wo, NULL, a->dres, att, L->wo, n, qd, d);
    b->ops->zero(b, a->dq, n * qd);
    b->ops->zero(b, a->dk, n * kvd);
    b->ops->zero(b, a->dv, n * kvd);
    b->ops->attention_backward(b, a->dq, a->dk, a->dv, a->dsum, a->datt, q, k, v, att, a->lse + l * NT * H, NULL, 0,
                               true, scale, n, H, KV, hd);
    m->flops.backward += 14u * (uint64_t)attention_pairs_f32(NULL, 0, true, n) * (uint64_t)(H * hd);
    b->ops->rope_backward(b, a->dq, a->dq, a->pos, a->rope_freq, a->rope_comp, (int)hd, n, H, hd);
    b->ops->rope_backward(b, a->dk, a->dk, a->pos, a->rope_freq, a->rope_comp, (int)hd, n, KV, hd);
    b->ops->zero(b, a->dln, n * d);
    train_linear_bwd(m, a->dln, GL->wq, GL->bq, a->dq, ln1, L->wq, n, d, qd);
    train_linear_bwd(m, a->dln, GL->wk, GL->bk, a->dk, ln1, L->wk, n, d, kvd);
    train_linear_bwd(m, a->dln, GL->wv, GL->bv, a->dv, ln1, L->wv, n, d, kvd);
    b->ops->rmsnorm_backward(b, a->dres, GL->attn_norm, a->dln, res, L->attn_norm, a->rstd1 + l * NT, n, d);
  }
  b->ops->embedding_backward(b, G->tok_embd, a->dres, a->ids, cfg->image_token_id, n, d);
  hatch_status st = HATCH_OK;
  if (a->n_images > 0) {
    for (int t = 0, img = 0; t < n; t++) /* image k's rows of dres, in order */
      if (m->ts.ids[t] == cfg->image_token_id) {
        int64_t run = m->vs.img_rows[img];
        b->ops->copy(b, a->dfeat + m->vs.img_row0[img] * dm, a->dres + (int64_t)t * d, sizeof(float) * (size_t)(run * dm));
        t += (int)run - 1;
        img++;
      }
    st = train_vision_backward(m, a->dfeat);
  }
  m->flops.total += m->flops.backward;
  return st;
}

hatch_status hatch_train_backward(hatch_train_model *m, const float *d_logp) {
  if (!m || !d_logp) return HATCH_ERR_INVALID_ARGUMENT;
  train_tacts *a = &m->ta;
  if (!a->valid || !m->va.valid) return HATCH_ERR_INVALID_ARGUMENT;
  int64_t V = m->cfg.text.vocab_size;
  train_backend *b = m->b;
  hatch_status st = b->ops->upload(b, a->dlogp, d_logp, sizeof(float) * (size_t)a->n);
  if (st != HATCH_OK) return st;
  b->ops->zero(b, a->dlogits, a->n * V);
  b->ops->logprob_backward(b, a->dlogits, a->dlogp, a->logits, a->lse_v, a->targets, a->n, V);
  return text_backward(m);
}

hatch_status hatch_train_backward_logits(hatch_train_model *m, const float *d_logits) {
  if (!m || !d_logits) return HATCH_ERR_INVALID_ARGUMENT;
  train_tacts *a = &m->ta;
  if (!a->valid || !m->va.valid) return HATCH_ERR_INVALID_ARGUMENT;
  size_t bytes = sizeof(float) * (size_t)(a->n * m->cfg.text.vocab_size);
  hatch_status st = m->b->ops->upload(m->b, a->dlogits, d_logits, bytes);
  return st == HATCH_OK ? text_backward(m) : st;
}

hatch_status hatch_train_mean_ce(hatch_train_model *m, const int32_t *ids, int n, const hatch_train_image *images,
                                 int n_images, const int32_t *targets, bool backward, float *loss, int *n_targets) {
  if (!m || !targets || !loss) return HATCH_ERR_INVALID_ARGUMENT;
  train_tstage *ts = &m->ts;
  hatch_status st = hatch_train_forward(m, ids, n, images, n_images, targets, ts->logp);
  if (st != HATCH_OK) return st;
  int count = 0;
  double sum = 0.0;
  for (int t = 0; t < n; t++)
    if (targets[t] >= 0) count++, sum += ts->logp[t];
  *loss = count ? (float)(-sum / count) : 0.0f;
  if (n_targets) *n_targets = count;
  if (!backward || count == 0) return HATCH_OK;
  for (int t = 0; t < n; t++) ts->dlogp[t] = targets[t] >= 0 ? -1.0f / (float)count : 0.0f;
  return hatch_train_backward(m, ts->dlogp);
}
