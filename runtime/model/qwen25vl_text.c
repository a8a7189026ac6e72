/* The Qwen2.5-VL language model on hatch ops: token embeddings (looked up on the host from the
 * mapped GGUF) with the image embeddings spliced in, decoder layers (RMSNorm, GQA attention with
 * qkv bias and M-RoPE, KV cache, SwiGLU), final norm and the output projection.
 *
 * Each forward shape is a plan (scratch + host staging + recorded graph). The layers read the KV
 * length from m->past (set_rows_at, attention's past), so one recording serves every token: a
 * forward writes its inputs (embeddings, positions, n_past, logits rows), splices images with
 * ordinary ops, then runs the plan's graph (or, without graphs, the same ops directly). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/qwen25vl_internal.h"

#define TRY(expr)                  \
  do {                             \
    if (st == HATCH_OK) st = (expr); \
  } while (0)

#define PREFILL_MIN_BUCKET 16
#define PREFILL_BUCKET_STEP 512 /* past this, buckets grow in steps instead of doubling */

void hatch_model_reset(hatch_model *m) {
  if (m) m->n_past = 0; /* recorded graphs stay valid: the KV length is read at run time */
}

int hatch_model_n_past(const hatch_model *m) { return m ? m->n_past : 0; }

hatch_status hatch_model_rewind(hatch_model *m, int n_past) {
  if (!m || n_past < 0 || n_past > m->n_past) return HATCH_ERR_INVALID_ARGUMENT;
  m->n_past = n_past; /* rows past it are overwritten by the next forward */
  return HATCH_OK;
}

hatch_type hatch_model_kv_type(const hatch_model *m) { return m ? m->kv_type : HATCH_TYPE_F32; }

static void plan_destroy(text_plan *p) {
  hatch_graph_destroy(p->graph); /* before the tensors it uses */
  text_scratch *s = &p->s;
  hatch_tensor *all[] = {s->x, s->t, s->q, s->k, s->v, s->o, s->a, s->g, s->u, s->pos, s->idx, s->sel, s->last, s->out};
  for (size_t i = 0; i < sizeof all / sizeof *all; i++) hatch_tensor_destroy(all[i]);
  free(p->emb);
  free(p->pos);
  free(p->sel);
  memset(p, 0, sizeof *p);
}

void hatch_qwen25vl_text_release(hatch_model *m) {
  plan_destroy(&m->dec);
  for (int i = 0; i < HATCH_QWEN25VL_PREFILL_PLANS; i++) plan_destroy(&m->pre[i]);
  hatch_tensor_destroy(m->past);
  m->past = NULL;
}

static hatch_status make(hatch_backend *be, hatch_type type, int64_t a, int64_t b, hatch_tensor **out) {
  int64_t ne[2] = {a, b};
  return hatch_tensor_create(be, type, 2, ne, out);
}

static hatch_status plan_create(hatch_model *m, int n, int n_logits, text_plan *p) {
  hatch_backend *be = m->be;
  const hatch_qwen25vl_text_config *tc = &m->cfg.text;
  int64_t d = tc->hidden_size, H = tc->num_attention_heads, KV = tc->num_key_value_heads, hd = m->dv.head_dim;
  int64_t ff = tc->intermediate_size, vocab = m->tok_embd_host->ne[1], nl = n_logits ? n_logits : 1;
  memset(p, 0, sizeof *p);
  p->n = n, p->n_logits = n_logits;
  text_scratch *s = &p->s;
  p->emb = calloc((size_t)(d * n), sizeof(float));
  p->pos = calloc((size_t)(3 * n), sizeof(int32_t));
  p->sel = calloc((size_t)nl, sizeof(int32_t));
  hatch_status st = p->emb && p->pos && p->sel ? HATCH_OK : HATCH_ERR_OUT_OF_MEMORY;
  TRY(make(be, HATCH_TYPE_F32, d, n, &s->x));
  TRY(make(be, HATCH_TYPE_F32, d, n, &s->t));
  TRY(make(be, HATCH_TYPE_F32, H * hd, n, &s->q));
  TRY(make(be, HATCH_TYPE_F32, KV * hd, n, &s->k));
  TRY(make(be, HATCH_TYPE_F32, KV * hd, n, &s->v));
  TRY(make(be, HATCH_TYPE_F32, H * hd, n, &s->o));
  TRY(make(be, HATCH_TYPE_F32, d, n, &s->a));
  TRY(make(be, HATCH_TYPE_F32, ff, n, &s->g));
  TRY(make(be, HATCH_TYPE_F32, ff, n, &s->u));
  TRY(make(be, HATCH_TYPE_I32, n, 3, &s->pos));
  int64_t ne_idx[1] = {nl};
  TRY(hatch_tensor_create(be, HATCH_TYPE_I32, 1, ne_idx, &s->idx));
  TRY(make(be, HATCH_TYPE_F32, d, nl, &s->sel));
  TRY(make(be, HATCH_TYPE_F32, d, nl, &s->last));
  TRY(make(be, HATCH_TYPE_F32, vocab, nl, &s->out));
  if (st != HATCH_OK) plan_destroy(p);
  return st;
}

static hatch_status text_layer_forward(hatch_model *m, const text_layer *L, text_scratch *s, int64_t n) {
  hatch_backend *be = m->be;
  const hatch_qwen25vl_text_config *tc = &m->cfg.text;
  int64_t H = tc->num_attention_heads, KV = tc->num_key_value_heads, hd = m->dv.head_dim;
  int64_t ne_q[3] = {hd, H, n}, ne_kv[3] = {hd, KV, n}, ne_qf[2] = {H * hd, n}, ne_kvf[2] = {KV * hd, n};
  hatch_status st = HATCH_OK;
  TRY(hatch_rms_norm(be, s->t, s->x, L->attn_norm, (float)tc->rms_norm_eps));
  TRY(hatch_qwen25vl_linear(be, s->q, L->wq, L->bq, s->t));
  TRY(hatch_qwen25vl_linear(be, s->k, L->wk, L->bk, s->t));
  TRY(hatch_qwen25vl_linear(be, s->v, L->wv, L->bv, s->t));
  TRY(hatch_tensor_reshape(s->q, 3, ne_q));
  TRY(hatch_tensor_reshape(s->k, 3, ne_kv));
  TRY(hatch_tensor_reshape(s->v, 3, ne_kv));
  TRY(hatch_tensor_reshape(s->o, 3, ne_q));
  hatch_rope_params rp = {.mode = HATCH_ROPE_MROPE, .n_dims = (int)hd, .freq_base = (float)tc->rope_theta,
                          .sections = {tc->mrope_section[0], tc->mrope_section[1], tc->mrope_section[2], 0}};
  TRY(hatch_rope(be, s->q, s->q, s->pos, &rp));
  TRY(hatch_rope(be, s->k, s->k, s->pos, &rp));
  /* KV cache append at row n_past * KV, n_past read from m->past when the op runs */
  TRY(hatch_set_rows_at(be, L->k_cache, s->k, m->past, KV));
  TRY(hatch_set_rows_at(be, L->v_cache, s->v, m->past, KV));
  hatch_attn_params ap = {.mode = HATCH_ATTN_CAUSAL, .scale = 1.0f / sqrtf((float)hd), .past = m->past};
  TRY(hatch_attention(be, s->o, s->q, L->k_cache, L->v_cache, &ap));
  TRY(hatch_tensor_reshape(s->q, 2, ne_qf));
  TRY(hatch_tensor_reshape(s->k, 2, ne_kvf));
  TRY(hatch_tensor_reshape(s->v, 2, ne_kvf));
  TRY(hatch_tensor_reshape(s->o, 2, ne_qf));
  TRY(hatch_matmul(be, s->a, L->wo, s->o));
  TRY(hatch_binary(be, s->x, s->x, s->a, HATCH_BINARY_ADD));
  TRY(hatch_rms_norm(be, s->t, s->x, L->ffn_norm, (float)tc->rms_norm_eps));
  TRY(hatch_matmul(be, s->g, L->w_gate, s->t));
  TRY(hatch_matmul(be, s->u, L->w_up, s->t));
  TRY(hatch_swiglu(be, s->g, s->g, s->u));
  TRY(hatch_matmul(be, s->a, L->w_down, s->g));
  TRY(hatch_binary(be, s->x, s->x, s->a, HATCH_BINARY_ADD));
  return st;
}

/* Everything after the inputs: the decoder layers and the logits head. What a graph records. */
static hatch_status plan_ops(hatch_model *m, text_plan *p) {
  const hatch_qwen25vl_text_config *tc = &m->cfg.text;
  hatch_status st = HATCH_OK;
  for (int l = 0; l < tc->num_hidden_layers && st == HATCH_OK; l++) st = text_layer_forward(m, &m->tlayers[l], &p->s, p->n);
  if (p->n_logits > 0) {
    TRY(hatch_get_rows(m->be, p->s.sel, p->s.x, p->s.idx));
    TRY(hatch_rms_norm(m->be, p->s.last, p->s.sel, m->output_norm, (float)tc->rms_norm_eps));
    TRY(hatch_matmul(m->be, p->s.out, m->output, p->s.last));
  }
  return st;
}

/* Runs the plan's ops: through its graph (recorded at the first run) where the backend has graphs. */
static hatch_status plan_run(hatch_model *m, text_plan *p) {
  if (p->eager || !m->graphs) return plan_ops(m, p);
  if (!p->graph) {
    hatch_status st = hatch_graph_capture_begin(m->be, &p->graph);
    if (st == HATCH_OK) st = plan_ops(m, p);
    if (st == HATCH_OK) st = hatch_graph_capture_end(p->graph);
    if (st != HATCH_OK) {
      hatch_graph_destroy(p->graph);
      p->graph = NULL;
      return st;
    }
  }
  return hatch_graph_run(p->graph);
}

/* The bucket a prompt of n tokens is padded to: powers of two from 16, then steps of 512. */
static int prefill_bucket(int n) {
  if (n > PREFILL_BUCKET_STEP) return (n + PREFILL_BUCKET_STEP - 1) / PREFILL_BUCKET_STEP * PREFILL_BUCKET_STEP;
  int b = PREFILL_MIN_BUCKET;
  while (b < n) b *= 2;
  return b;
}

/* The plan for a forward of n tokens with n_logits rows: decode's, or a cached prefill shape (the
 * least recently used goes), or *tmp (run op by op, destroyed by the caller) when padding to the
 * bucket would run past the KV cache. */
static hatch_status plan_for(hatch_model *m, int n, int n_logits, text_plan *tmp, text_plan **out) {
  if (n == 1 && n_logits == 1) {
    *out = &m->dec;
    return m->dec.s.x ? HATCH_OK : plan_create(m, 1, 1, &m->dec);
  }
  bool graphs = m->graphs;
  if (graphs && m->n_past + prefill_bucket(n) > m->max_context) {
    *out = tmp;
    hatch_status st = plan_create(m, n, n_logits, tmp);
    tmp->eager = true;
    return st;
  }
  int nb = graphs ? prefill_bucket(n) : n; /* without graphs a shape costs nothing to set up: no padding */
  text_plan *victim = &m->pre[0];
  for (int i = 0; i < HATCH_QWEN25VL_PREFILL_PLANS; i++) {
    text_plan *p = &m->pre[i];
    if (p->n == nb && p->n_logits == n_logits) {
      *out = p;
      return HATCH_OK;
    }
    if (p->last_use < victim->last_use) victim = p;
  }
  plan_destroy(victim);
  *out = victim;
  return plan_create(m, nb, n_logits, victim);
}

/* Host inputs of the plan for n real tokens (rows n.. are padding: zero embeddings, position 0,
 * their KV rows are written past the cache length and overwritten before anything reads them). */
static hatch_status plan_inputs(hatch_model *m, text_plan *p, const int32_t *ids, int n, const int32_t *pos) {
  int64_t d = m->cfg.text.hidden_size, vocab = m->tok_embd_host->ne[1];
  memset(p->emb + (size_t)n * d, 0, sizeof(float) * (size_t)((p->n - n) * d));
  for (int i = 0; i < n; i++) {
    if (ids[i] < 0 || ids[i] >= vocab) return HATCH_ERR_INVALID_ARGUMENT;
    float *row = p->emb + (size_t)i * d; /* (d) */
    if (ids[i] == m->cfg.image_token_id) {
      memset(row, 0, sizeof(float) * (size_t)d); /* spliced over by the image's embeddings */
      continue;
    }
    hatch_status st = hatch_qwen25vl_embed_row(m->tok_embd_host, ids[i], row);
    if (st != HATCH_OK) return st;
  }
  for (int c = 0; c < 3; c++) {
    memcpy(p->pos + (size_t)c * p->n, pos + (size_t)c * n, sizeof(int32_t) * (size_t)n);
    memset(p->pos + (size_t)c * p->n + n, 0, sizeof(int32_t) * (size_t)(p->n - n));
  }
  int nl = p->n_logits ? p->n_logits : 1;
  for (int i = 0; i < nl; i++) p->sel[i] = n - p->n_logits + i;
  int32_t past = m->n_past;
  hatch_status st = hatch_tensor_write(p->s.x, p->emb, sizeof(float) * (size_t)(d * p->n));
  TRY(hatch_tensor_write(p->s.pos, p->pos, sizeof(int32_t) * (size_t)(3 * p->n)));
  TRY(hatch_tensor_write(p->s.idx, p->sel, sizeof(int32_t) * (size_t)nl));
  TRY(hatch_tensor_write(m->past, &past, sizeof past));
  return st;
}

/* Splices each image's embeddings over its run of image tokens (ordinary ops, before the graph). */
static hatch_status splice_images(hatch_model *m, text_plan *p, const int32_t *ids, int n, hatch_tensor *const *images,
                                  int n_images) {
  int64_t d = m->cfg.text.hidden_size;
  int img = 0;
  for (int i = 0; i < n;) {
    if (ids[i] != m->cfg.image_token_id) {
      i++;
      continue;
    }
    int run = 0;
    while (i + run < n && ids[i + run] == m->cfg.image_token_id) run++;
    if (img >= n_images || hatch_tensor_dim(images[img], 1) != run || hatch_tensor_dim(images[img], 0) != d)
      return HATCH_ERR_SHAPE;
    hatch_status st = hatch_set_rows(m->be, p->s.x, images[img], i);
    if (st != HATCH_OK) return st;
    img++;
    i += run;
  }
  return img == n_images ? HATCH_OK : HATCH_ERR_SHAPE;
}

hatch_status hatch_model_forward(hatch_model *m, const int32_t *ids, int n, const int32_t *pos,
                                 hatch_tensor *const *images, int n_images, float *logits, int n_logits) {
  if (!m || !ids || !pos || n <= 0 || n_logits < 0 || n_logits > n || (n_logits && !logits) || n_images < 0 ||
      (n_images && !images))
    return HATCH_ERR_INVALID_ARGUMENT;
  if (m->n_past + n > m->max_context) return HATCH_ERR_TOO_LARGE;
  int64_t vocab = m->tok_embd_host->ne[1];
  m->use_clock++;
  text_plan tmp = {0}, *p = NULL;
  hatch_status st = plan_for(m, n, n_logits, &tmp, &p);
  if (st != HATCH_OK) return st;
  p->last_use = m->use_clock;
  TRY(plan_inputs(m, p, ids, n, pos));
  TRY(splice_images(m, p, ids, n, images, n_images));
  TRY(plan_run(m, p));
  if (n_logits > 0) TRY(hatch_tensor_read(p->s.out, logits, sizeof(float) * (size_t)(vocab * n_logits)));
  else TRY(hatch_backend_sync(m->be));
  if (st == HATCH_OK) m->n_past += n;
  if (p == &tmp || st != HATCH_OK) plan_destroy(p); /* a failed shape is rebuilt whole next time */
  return st;
}
