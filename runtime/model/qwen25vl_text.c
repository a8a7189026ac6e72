/* The Qwen2.5-VL language model on hatch ops: token embeddings (looked up on the host from the
 * mapped GGUF) with the image embeddings spliced in, decoder layers (RMSNorm, GQA attention with
 * qkv bias and M-RoPE, KV cache, SwiGLU), final norm and the output projection. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/qwen25vl_internal.h"

#define TRY(expr)                  \
  do {                             \
    if (st == HATCH_OK) st = (expr); \
  } while (0)

void hatch_model_reset(hatch_model *m) {
  if (m) m->n_past = 0;
}

int hatch_model_n_past(const hatch_model *m) { return m ? m->n_past : 0; }

static void scratch_destroy(text_scratch *s) {
  hatch_tensor *all[] = {s->x, s->t, s->q, s->k, s->v, s->o, s->a, s->g, s->u, s->pos, s->idx, s->sel, s->last, s->out};
  for (size_t i = 0; i < sizeof all / sizeof *all; i++) hatch_tensor_destroy(all[i]);
  memset(s, 0, sizeof *s);
}

void hatch_qwen25vl_scratch_destroy(text_scratch *s) { scratch_destroy(s); }

static hatch_status make(hatch_backend *be, hatch_type type, int64_t a, int64_t b, hatch_tensor **out) {
  int64_t ne[2] = {a, b};
  return hatch_tensor_create(be, type, 2, ne, out);
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
  TRY(hatch_set_rows(be, L->k_cache, s->k, (int64_t)m->n_past * KV));
  TRY(hatch_set_rows(be, L->v_cache, s->v, (int64_t)m->n_past * KV));
  hatch_attn_params ap = {.mode = HATCH_ATTN_CAUSAL, .scale = 1.0f / sqrtf((float)hd), .n_kv = m->n_past + n,
                          .kv_offset = m->n_past};
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

/* Host embeddings for the prompt: (d, n) floats, image-token rows left for the spliced images. */
static hatch_status embed_tokens(hatch_model *m, const int32_t *ids, int n, float *emb) {
  int64_t d = m->cfg.text.hidden_size, vocab = m->tok_embd_host->ne[1];
  for (int i = 0; i < n; i++) {
    if (ids[i] < 0 || ids[i] >= vocab) return HATCH_ERR_INVALID_ARGUMENT;
    if (ids[i] == m->cfg.image_token_id) {
      memset(emb + (size_t)i * d, 0, sizeof(float) * (size_t)d);
      continue;
    }
    hatch_status st = hatch_qwen25vl_embed_row(m->tok_embd_host, ids[i], emb + (size_t)i * d);
    if (st != HATCH_OK) return st;
  }
  return HATCH_OK;
}

hatch_status hatch_model_forward(hatch_model *m, const int32_t *ids, int n, const int32_t *pos,
                                 hatch_tensor *const *images, int n_images, float *logits, int n_logits) {
  if (!m || !ids || !pos || n <= 0 || n_logits < 0 || n_logits > n || (n_logits && !logits) || n_images < 0)
    return HATCH_ERR_INVALID_ARGUMENT;
  if (m->n_past + n > m->max_context) return HATCH_ERR_TOO_LARGE;
  hatch_backend *be = m->be;
  const hatch_qwen25vl_text_config *tc = &m->cfg.text;
  int64_t d = tc->hidden_size, H = tc->num_attention_heads, KV = tc->num_key_value_heads, hd = m->dv.head_dim;
  int64_t ff = tc->intermediate_size, vocab = m->tok_embd_host->ne[1];
  /* Decoding one token reuses the model's decode scratch (allocated once, at the first decode):
   * nothing is allocated per generated token. Prefill allocates for its length. */
  bool decode = n == 1 && n_logits <= 1;
  text_scratch local = {0};
  text_scratch *sp = decode ? &m->dec : &local;
  float *emb = decode ? m->dec_emb : malloc(sizeof(float) * (size_t)(d * n));
  int32_t sel_one = 0, *sel_idx = decode ? &sel_one : malloc(sizeof(int32_t) * (size_t)(n_logits ? n_logits : 1));
  hatch_status st = emb && sel_idx ? HATCH_OK : HATCH_ERR_OUT_OF_MEMORY;
  TRY(embed_tokens(m, ids, n, emb));
  if (!sp->x) {
    TRY(make(be, HATCH_TYPE_F32, d, n, &sp->x));
    TRY(make(be, HATCH_TYPE_F32, d, n, &sp->t));
    TRY(make(be, HATCH_TYPE_F32, H * hd, n, &sp->q));
    TRY(make(be, HATCH_TYPE_F32, KV * hd, n, &sp->k));
    TRY(make(be, HATCH_TYPE_F32, KV * hd, n, &sp->v));
    TRY(make(be, HATCH_TYPE_F32, H * hd, n, &sp->o));
    TRY(make(be, HATCH_TYPE_F32, d, n, &sp->a));
    TRY(make(be, HATCH_TYPE_F32, ff, n, &sp->g));
    TRY(make(be, HATCH_TYPE_F32, ff, n, &sp->u));
    TRY(make(be, HATCH_TYPE_I32, n, 3, &sp->pos));
    int64_t nl = n_logits ? n_logits : 1, ne_idx[1] = {nl};
    TRY(hatch_tensor_create(be, HATCH_TYPE_I32, 1, ne_idx, &sp->idx));
    TRY(make(be, HATCH_TYPE_F32, d, nl, &sp->sel));
    TRY(make(be, HATCH_TYPE_F32, d, nl, &sp->last));
    TRY(make(be, HATCH_TYPE_F32, vocab, nl, &sp->out));
  }
  text_scratch s = *sp;
  TRY(hatch_tensor_write(s.x, emb, sizeof(float) * (size_t)(d * n)));
  TRY(hatch_tensor_write(s.pos, pos, sizeof(int32_t) * (size_t)(3 * n)));
  /* Splice each image's embeddings over its run of image tokens. */
  int img = 0;
  for (int i = 0; i < n && st == HATCH_OK;) {
    if (ids[i] != m->cfg.image_token_id) {
      i++;
      continue;
    }
    int run = 0;
    while (i + run < n && ids[i + run] == m->cfg.image_token_id) run++;
    if (img >= n_images || hatch_tensor_dim(images[img], 1) != run || hatch_tensor_dim(images[img], 0) != d) {
      st = HATCH_ERR_SHAPE;
      break;
    }
    st = hatch_set_rows(be, s.x, images[img], i);
    img++;
    i += run;
  }
  if (st == HATCH_OK && img != n_images) st = HATCH_ERR_SHAPE;
  for (int l = 0; l < tc->num_hidden_layers && st == HATCH_OK; l++) st = text_layer_forward(m, &m->tlayers[l], &s, n);
  if (st == HATCH_OK && n_logits > 0) {
    for (int i = 0; i < n_logits; i++) sel_idx[i] = n - n_logits + i;
    TRY(hatch_tensor_write(s.idx, sel_idx, sizeof(int32_t) * (size_t)n_logits));
    TRY(hatch_get_rows(be, s.sel, s.x, s.idx));
    TRY(hatch_rms_norm(be, s.last, s.sel, m->output_norm, (float)tc->rms_norm_eps));
    TRY(hatch_matmul(be, s.out, m->output, s.last));
    TRY(hatch_tensor_read(s.out, logits, sizeof(float) * (size_t)(vocab * n_logits)));
  } else if (st == HATCH_OK) {
    st = hatch_backend_sync(be);
  }
  if (st == HATCH_OK) m->n_past += n;
  if (decode && st != HATCH_OK) scratch_destroy(&m->dec); /* rebuilt whole at the next decode */
  if (!decode) {
    scratch_destroy(&local);
    free(emb);
    free(sel_idx);
  }
  return st;
}
