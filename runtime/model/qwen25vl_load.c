/* madvise(MADV_DONTNEED) is not POSIX: this file asks for it alone. */
#define _DEFAULT_SOURCE 1
/* Loading a Qwen2.5-VL model from GGUF: the config from llama.cpp's keys (qwen2vl.*, clip.vision.*),
 * every tensor checked for presence, type and shape, converted where the device needs another type
 * (BF16 -> F32, vectors -> F32, the Conv3D's two time slices -> one patch matrix), uploaded once. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "model/qwen25vl_internal.h"

/* Once a tensor is on the backend its pages of the mapping are dropped from this process (they are
 * read again from the file if touched: the host-side embedding lookups), so peak host memory stays
 * near one copy of the weights rather than two. */
static void release_pages(const hatch_gguf_tensor *t) {
  long page = sysconf(_SC_PAGESIZE);
  if (page <= 0) return;
  uintptr_t a = (uintptr_t)t->data, end = a + (uintptr_t)t->nbytes;
  uintptr_t lo = (a + (uintptr_t)page - 1) & ~((uintptr_t)page - 1), hi = end & ~((uintptr_t)page - 1);
  if (hi > lo) (void)madvise((void *)lo, hi - lo, MADV_DONTNEED);
}

static hatch_status fail(hatch_model_report *rep, hatch_status st, const char *fmt, const char *a, const char *b) {
  if (rep) snprintf(rep->message, sizeof rep->message, fmt, a, b);
  return st;
}

static float bf16_to_f32(uint16_t h) {
  uint32_t bits = (uint32_t)h << 16;
  float f;
  memcpy(&f, &bits, 4);
  return f;
}

/* A whole GGUF tensor as floats (n_elems), any supported source type. */
static hatch_status to_f32(const hatch_gguf_tensor *t, float *out) {
  const uint8_t *p = t->data;
  switch (t->type) {
  case HATCH_GGML_TYPE_F32: memcpy(out, p, sizeof(float) * (size_t)t->n_elems); return HATCH_OK;
  case HATCH_GGML_TYPE_F16:
    for (int64_t i = 0; i < t->n_elems; i++) {
      uint16_t h;
      memcpy(&h, p + 2 * i, 2);
      out[i] = hatch_fp16_to_fp32(h);
    }
    return HATCH_OK;
  case HATCH_GGML_TYPE_BF16:
    for (int64_t i = 0; i < t->n_elems; i++) {
      uint16_t h;
      memcpy(&h, p + 2 * i, 2);
      out[i] = bf16_to_f32(h);
    }
    return HATCH_OK;
  case HATCH_GGML_TYPE_Q8_0: {
    int64_t rows = t->n_elems / t->ne[0], blocks = t->ne[0] / 32;
    for (int64_t r = 0; r < rows; r++) {
      hatch_block_q8_0 b[1];
      for (int64_t k = 0; k < blocks; k++) {
        memcpy(b, p + (size_t)(r * blocks + k) * sizeof(hatch_block_q8_0), sizeof b);
        hatch_dequantize_row_q8_0(b, out + r * t->ne[0] + k * 32, 32);
      }
    }
    return HATCH_OK;
  }
  default: return HATCH_ERR_TYPE;
  }
}

hatch_status hatch_qwen25vl_embed_row(const hatch_gguf_tensor *t, int64_t row, float *out) {
  hatch_gguf_tensor one = *t;
  int64_t row_bytes = (int64_t)(t->nbytes / (uint64_t)t->ne[1]);
  one.data = (const uint8_t *)t->data + row * row_bytes;
  one.n_elems = t->ne[0];
  one.ne[1] = 1;
  return to_f32(&one, out);
}

/* Uploads tensor `name` with ggml shape (ne0, ne1) (ne1 = 1 for vectors). want: HATCH_TYPE_F32 to
 * force floats; HATCH_TYPE_COUNT to keep F32/F16/Q8_0 as stored (BF16 becomes F32). */
hatch_status hatch_qwen25vl_upload(hatch_model *m, const hatch_gguf *g, const char *name, hatch_type want,
                                   int64_t ne0, int64_t ne1, hatch_tensor **out, hatch_model_report *rep) {
  const hatch_gguf_tensor *t = hatch_gguf_find_tensor(g, name);
  if (!t) return fail(rep, HATCH_ERR_NOT_FOUND, "missing tensor '%s'%s", name, "");
  bool q8_padded = t->type == HATCH_GGML_TYPE_Q8_0 && t->ne[0] == hatch_pad_to_block(ne0);
  if ((t->ne[0] != ne0 && !q8_padded) || t->ne[1] != ne1 || t->ne[2] != 1 || t->ne[3] != 1) {
    char shape[96];
    snprintf(shape, sizeof shape, "(%lld, %lld), expected (%lld, %lld)", (long long)t->ne[0], (long long)t->ne[1],
             (long long)ne0, (long long)ne1);
    return fail(rep, HATCH_ERR_SHAPE, "tensor '%s' has shape %s", name, shape);
  }
  hatch_type keep;
  bool native = hatch_ggml_to_hatch_type(t->type, &keep) == HATCH_OK &&
                (keep == HATCH_TYPE_F32 || keep == HATCH_TYPE_F16 || keep == HATCH_TYPE_Q8_0);
  int64_t ne[2] = {t->ne[0], ne1};
  hatch_status st;
  if (want == HATCH_TYPE_COUNT && native) {
    if ((st = hatch_tensor_create(m->be, keep, ne1 > 1 ? 2 : 1, ne, out)) != HATCH_OK) return st;
    if ((st = hatch_tensor_write(*out, t->data, (size_t)t->nbytes)) != HATCH_OK) {
      hatch_tensor_destroy(*out);
      *out = NULL;
    }
    if (st == HATCH_OK) release_pages(t);
    return st;
  }
  float *f = malloc(sizeof(float) * (size_t)t->n_elems);
  if (!f) return HATCH_ERR_OUT_OF_MEMORY;
  st = to_f32(t, f);
  if (st != HATCH_OK) {
    free(f);
    return fail(rep, st, "tensor '%s' has type %s, which hatch cannot load", name, hatch_ggml_type_name(t->type));
  }
  ne[0] = t->ne[0];
  st = hatch_tensor_create(m->be, HATCH_TYPE_F32, ne1 > 1 ? 2 : 1, ne, out);
  if (st == HATCH_OK && (st = hatch_tensor_write(*out, f, sizeof(float) * (size_t)t->n_elems)) != HATCH_OK) {
    hatch_tensor_destroy(*out);
    *out = NULL;
  }
  free(f);
  if (st == HATCH_OK) release_pages(t);
  return st;
}

/* ---- config from GGUF keys ------------------------------------------------------------------- */

static hatch_status get_int(const hatch_gguf *g, const char *key, int64_t lo, int64_t hi, int64_t *out, bool required,
                            hatch_model_report *rep) {
  hatch_status st = hatch_gguf_get_int(g, key, lo, hi, out);
  if (st == HATCH_ERR_NOT_FOUND && !required) return HATCH_OK;
  if (st != HATCH_OK) return fail(rep, st == HATCH_ERR_NOT_FOUND ? HATCH_ERR_CORRUPT : st, "key %s: %s", key, hatch_status_message(st));
  return HATCH_OK;
}

static int32_t token_id(const hatch_gguf *g, const char *text, int32_t fallback) {
  int64_t kv;
  hatch_gguf_type type;
  uint64_t len;
  if (hatch_gguf_get_arr(g, "tokenizer.ggml.tokens", &kv, &type, &len) != HATCH_OK || type != HATCH_GGUF_TYPE_STRING)
    return fallback;
  size_t tl = strlen(text);
  for (uint64_t j = 0; j < len; j++) {
    hatch_gguf_str s;
    if (hatch_gguf_arr_str(g, kv, j, &s) == HATCH_OK && s.len == tl && !memcmp(s.data, text, tl)) return (int32_t)j;
  }
  return fallback;
}

static hatch_status read_config(hatch_model *m, const hatch_gguf *tg, const hatch_gguf *vg, hatch_model_report *rep) {
  hatch_qwen25vl_config *c = &m->cfg;
  hatch_qwen25vl_config_defaults(c);
  hatch_qwen25vl_text_config *t = &c->text;
  hatch_qwen25vl_vision_config *v = &c->vision;
  int64_t x = 0;
  hatch_status st = HATCH_OK;
#define INT_KEY(g, key, field, lo, hi, req)                         \
  do {                                                              \
    x = (int64_t)(field);                                           \
    if (st == HATCH_OK) st = get_int(g, key, lo, hi, &x, req, rep); \
    (field) = x;                                                    \
  } while (0)
  INT_KEY(tg, "qwen2vl.embedding_length", t->hidden_size, 1, 65536, true);
  INT_KEY(tg, "qwen2vl.block_count", t->num_hidden_layers, 1, 1024, true);
  INT_KEY(tg, "qwen2vl.feed_forward_length", t->intermediate_size, 1, 1 << 20, true);
  INT_KEY(tg, "qwen2vl.attention.head_count", t->num_attention_heads, 1, 1024, true);
  t->num_key_value_heads = t->num_attention_heads;
  INT_KEY(tg, "qwen2vl.attention.head_count_kv", t->num_key_value_heads, 1, 1024, false);
  INT_KEY(tg, "qwen2vl.context_length", t->max_position_embeddings, 1, 1 << 24, false);
  INT_KEY(vg, "clip.vision.block_count", v->depth, 1, 1024, true);
  INT_KEY(vg, "clip.vision.embedding_length", v->hidden_size, 1, 65536, true);
  INT_KEY(vg, "clip.vision.feed_forward_length", v->intermediate_size, 1, 1 << 20, true);
  INT_KEY(vg, "clip.vision.attention.head_count", v->num_heads, 1, 1024, true);
  INT_KEY(vg, "clip.vision.patch_size", v->patch_size, 1, 1024, false);
  INT_KEY(vg, "clip.vision.spatial_merge_size", v->spatial_merge_size, 1, 16, false);
  INT_KEY(vg, "clip.vision.window_size", v->window_size, 1, 65536, false);
  INT_KEY(vg, "clip.vision.projection_dim", v->out_hidden_size, 1, 65536, false);
  INT_KEY(vg, "hatch.preprocess.min_pixels", c->preprocess.min_pixels, 1, 1ll << 28, false);
  INT_KEY(vg, "hatch.preprocess.max_pixels", c->preprocess.max_pixels, 1, 1ll << 28, false);
#undef INT_KEY
  if (st != HATCH_OK) return st;
  if (!v->out_hidden_size) v->out_hidden_size = (int32_t)t->hidden_size;
  double f;
  if (hatch_gguf_get_float(tg, "qwen2vl.rope.freq_base", &f) == HATCH_OK) t->rope_theta = f;
  if (hatch_gguf_get_float(tg, "qwen2vl.attention.layer_norm_rms_epsilon", &f) == HATCH_OK) t->rms_norm_eps = f;
  if (hatch_gguf_get_float(vg, "clip.vision.attention.layer_norm_epsilon", &f) == HATCH_OK) v->rms_norm_eps = f;
  int64_t kv;
  hatch_gguf_type type;
  uint64_t len;
  if (hatch_gguf_get_arr(tg, "qwen2vl.rope.dimension_sections", &kv, &type, &len) != HATCH_OK || len < 3)
    return fail(rep, HATCH_ERR_CORRUPT, "key %s: missing or shorter than 3%s", "qwen2vl.rope.dimension_sections", "");
  for (int i = 0; i < 3; i++) {
    int64_t sec = 0;
    if (hatch_gguf_arr_int(tg, kv, (uint64_t)i, &sec) != HATCH_OK || sec < 0 || sec > 4096)
      return fail(rep, HATCH_ERR_CORRUPT, "key %s: bad element%s", "qwen2vl.rope.dimension_sections", "");
    t->mrope_section[i] = (int32_t)sec;
  }
  /* Full-attention layers: explicit indexes, or llama.cpp's "every n_wa_pattern-th layer". */
  v->n_fullatt = 0;
  int64_t pattern = 0;
  if (hatch_gguf_get_arr(vg, "clip.vision.wa_layer_indexes", &kv, &type, &len) == HATCH_OK) {
    if (len > HATCH_CONFIG_MAX_FULLATT) return fail(rep, HATCH_ERR_TOO_LARGE, "key %s: too long%s", "clip.vision.wa_layer_indexes", "");
    for (uint64_t j = 0; j < len; j++) {
      int64_t idx;
      if (hatch_gguf_arr_int(vg, kv, j, &idx) != HATCH_OK || idx < 0 || idx >= v->depth)
        return fail(rep, HATCH_ERR_CORRUPT, "key %s: element out of range%s", "clip.vision.wa_layer_indexes", "");
      v->fullatt_block_indexes[v->n_fullatt++] = (int32_t)idx;
    }
  } else if (hatch_gguf_get_int(vg, "clip.vision.n_wa_pattern", 1, 1024, &pattern) == HATCH_OK) {
    for (int l = 0; l < v->depth && v->n_fullatt < HATCH_CONFIG_MAX_FULLATT; l++)
      if ((l + 1) % pattern == 0) v->fullatt_block_indexes[v->n_fullatt++] = l;
  }
  for (int i = 0; i < 3; i++) {
    if (hatch_gguf_get_arr(vg, "clip.vision.image_mean", &kv, &type, &len) == HATCH_OK && len == 3 &&
        hatch_gguf_arr_float(vg, kv, (uint64_t)i, &f) == HATCH_OK)
      c->preprocess.image_mean[i] = (float)f;
    if (hatch_gguf_get_arr(vg, "clip.vision.image_std", &kv, &type, &len) == HATCH_OK && len == 3 &&
        hatch_gguf_arr_float(vg, kv, (uint64_t)i, &f) == HATCH_OK)
      c->preprocess.image_std[i] = (float)f;
  }
  c->preprocess.patch_size = v->patch_size;
  c->preprocess.merge_size = v->spatial_merge_size;
  c->preprocess.temporal_patch_size = v->temporal_patch_size;
  const hatch_gguf_tensor *emb = hatch_gguf_find_tensor(tg, "token_embd.weight");
  if (!emb) return fail(rep, HATCH_ERR_NOT_FOUND, "missing tensor '%s'%s", "token_embd.weight", "");
  t->vocab_size = emb->ne[1];
  t->tie_word_embeddings = hatch_gguf_find_tensor(tg, "output.weight") == NULL;
  int64_t id;
  c->image_token_id = token_id(tg, "<|image_pad|>", c->image_token_id);
  c->vision_start_token_id = token_id(tg, "<|vision_start|>", c->vision_start_token_id);
  c->vision_end_token_id = token_id(tg, "<|vision_end|>", c->vision_end_token_id);
  c->video_token_id = token_id(tg, "<|video_pad|>", c->video_token_id);
  if (hatch_gguf_get_int(tg, "hatch.image_token_id", 0, INT32_MAX, &id) == HATCH_OK) c->image_token_id = (int32_t)id;
  if (hatch_gguf_get_int(tg, "hatch.video_token_id", 0, INT32_MAX, &id) == HATCH_OK) c->video_token_id = (int32_t)id;
  if (hatch_gguf_get_int(tg, "hatch.vision_start_token_id", 0, INT32_MAX, &id) == HATCH_OK) c->vision_start_token_id = (int32_t)id;
  if (hatch_gguf_get_int(tg, "hatch.vision_end_token_id", 0, INT32_MAX, &id) == HATCH_OK) c->vision_end_token_id = (int32_t)id;
  hatch_config_report cr;
  st = hatch_qwen25vl_config_validate(c, "model", &cr);
  if (st == HATCH_OK) st = hatch_qwen25vl_config_derive(c, &m->dv);
  if (st != HATCH_OK) {
    if (rep) snprintf(rep->message, sizeof rep->message, "%.380s", cr.message);
    return st;
  }
  return HATCH_OK;
}

/* ---- weights ------------------------------------------------------------------------------------ */

#define UP(g, name, want, a, b, dst) \
  do {                               \
    if (st == HATCH_OK) st = hatch_qwen25vl_upload(m, g, name, want, a, b, dst, rep); \
  } while (0)
#define KEEP HATCH_TYPE_COUNT
#define F32 HATCH_TYPE_F32

static hatch_status load_patch_embed(hatch_model *m, const hatch_gguf *g, hatch_model_report *rep) {
  const hatch_qwen25vl_vision_config *v = &m->cfg.vision;
  int64_t P = v->patch_size, C = v->in_channels, d = v->hidden_size, pd = m->dv.patch_dim;
  const hatch_gguf_tensor *t0 = hatch_gguf_find_tensor(g, "v.patch_embd.weight");
  const hatch_gguf_tensor *t1 = hatch_gguf_find_tensor(g, "v.patch_embd.weight.1");
  if (!t0 || !t1) return fail(rep, HATCH_ERR_NOT_FOUND, "missing tensor '%s'%s", !t0 ? "v.patch_embd.weight" : "v.patch_embd.weight.1", "");
  if (v->temporal_patch_size != 2 || t0->n_elems != d * C * P * P || t1->n_elems != t0->n_elems)
    return fail(rep, HATCH_ERR_SHAPE, "tensor '%s': expected %s", "v.patch_embd.weight", "two (P, P, C, d) time slices");
  float *a = malloc(sizeof(float) * (size_t)t0->n_elems), *b = malloc(sizeof(float) * (size_t)t0->n_elems);
  float *w = malloc(sizeof(float) * (size_t)(pd * d)); /* (d, pd) rows (c, t, py, px) */
  hatch_status st = a && b && w ? HATCH_OK : HATCH_ERR_OUT_OF_MEMORY;
  if (st == HATCH_OK) st = to_f32(t0, a);
  if (st == HATCH_OK) st = to_f32(t1, b);
  for (int64_t o = 0; st == HATCH_OK && o < d; o++)
    for (int64_t c = 0; c < C; c++)
      for (int t = 0; t < 2; t++)
        memcpy(w + o * pd + (c * 2 + t) * P * P, (t ? b : a) + (o * C + c) * P * P, sizeof(float) * (size_t)(P * P));
  int64_t ne[2] = {pd, d};
  if (st == HATCH_OK) st = hatch_tensor_create(m->be, HATCH_TYPE_F32, 2, ne, &m->patch_w);
  if (st == HATCH_OK) st = hatch_tensor_write(m->patch_w, w, sizeof(float) * (size_t)(pd * d));
  free(a), free(b), free(w);
  return st;
}

static hatch_status load_vision(hatch_model *m, const hatch_gguf *g, hatch_model_report *rep) {
  const hatch_qwen25vl_vision_config *v = &m->cfg.vision;
  int64_t d = v->hidden_size, ff = v->intermediate_size, dm = m->cfg.text.hidden_size;
  hatch_status st = load_patch_embed(m, g, rep);
  m->vlayers = calloc((size_t)v->depth, sizeof *m->vlayers);
  if (!m->vlayers) return HATCH_ERR_OUT_OF_MEMORY;
  char n[96];
  for (int l = 0; l < v->depth && st == HATCH_OK; l++) {
    vision_layer *L = &m->vlayers[l];
#define VN(s) (snprintf(n, sizeof n, "v.blk.%d.%s", l, s), n)
    UP(g, VN("ln1.weight"), F32, d, 1, &L->ln1);
    UP(g, VN("ln2.weight"), F32, d, 1, &L->ln2);
    UP(g, VN("attn_q.weight"), KEEP, d, d, &L->wq);
    UP(g, VN("attn_k.weight"), KEEP, d, d, &L->wk);
    UP(g, VN("attn_v.weight"), KEEP, d, d, &L->wv);
    UP(g, VN("attn_out.weight"), KEEP, d, d, &L->wo);
    UP(g, VN("attn_q.bias"), F32, d, 1, &L->bq);
    UP(g, VN("attn_k.bias"), F32, d, 1, &L->bk);
    UP(g, VN("attn_v.bias"), F32, d, 1, &L->bv);
    UP(g, VN("attn_out.bias"), F32, d, 1, &L->bo);
    UP(g, VN("ffn_gate.weight"), KEEP, d, ff, &L->w_gate);
    UP(g, VN("ffn_up.weight"), KEEP, d, ff, &L->w_up);
    UP(g, VN("ffn_down.weight"), KEEP, ff, d, &L->w_down);
    UP(g, VN("ffn_gate.bias"), F32, ff, 1, &L->b_gate);
    UP(g, VN("ffn_up.bias"), F32, ff, 1, &L->b_up);
    UP(g, VN("ffn_down.bias"), F32, d, 1, &L->b_down);
#undef VN
  }
  UP(g, "v.post_ln.weight", F32, d, 1, &m->merger_norm);
  UP(g, "mm.0.weight", KEEP, 4 * d, 4 * d, &m->mm0_w);
  UP(g, "mm.0.bias", F32, 4 * d, 1, &m->mm0_b);
  UP(g, "mm.2.weight", KEEP, 4 * d, dm, &m->mm2_w);
  UP(g, "mm.2.bias", F32, dm, 1, &m->mm2_b);
  return st;
}

static hatch_status load_text(hatch_model *m, const hatch_gguf *g, hatch_model_report *rep) {
  const hatch_qwen25vl_text_config *t = &m->cfg.text;
  int64_t d = t->hidden_size, ff = t->intermediate_size, q = m->dv.q_dim, kvd = m->dv.kv_dim, vocab = t->vocab_size;
  hatch_status st = HATCH_OK;
  m->tok_embd_host = hatch_gguf_find_tensor(g, "token_embd.weight");
  if (m->tok_embd_host->ne[0] != d) return fail(rep, HATCH_ERR_SHAPE, "tensor '%s': row length is not %s", "token_embd.weight", "the model width");
  m->tlayers = calloc((size_t)t->num_hidden_layers, sizeof *m->tlayers);
  if (!m->tlayers) return HATCH_ERR_OUT_OF_MEMORY;
  char n[96];
  int64_t ne_cache[3] = {m->dv.head_dim, t->num_key_value_heads, m->max_context};
  for (int l = 0; l < t->num_hidden_layers && st == HATCH_OK; l++) {
    text_layer *L = &m->tlayers[l];
#define TN(s) (snprintf(n, sizeof n, "blk.%d.%s", l, s), n)
    UP(g, TN("attn_norm.weight"), F32, d, 1, &L->attn_norm);
    UP(g, TN("ffn_norm.weight"), F32, d, 1, &L->ffn_norm);
    UP(g, TN("attn_q.weight"), KEEP, d, q, &L->wq);
    UP(g, TN("attn_k.weight"), KEEP, d, kvd, &L->wk);
    UP(g, TN("attn_v.weight"), KEEP, d, kvd, &L->wv);
    UP(g, TN("attn_output.weight"), KEEP, q, d, &L->wo);
    UP(g, TN("attn_q.bias"), F32, q, 1, &L->bq);
    UP(g, TN("attn_k.bias"), F32, kvd, 1, &L->bk);
    UP(g, TN("attn_v.bias"), F32, kvd, 1, &L->bv);
    UP(g, TN("ffn_gate.weight"), KEEP, d, ff, &L->w_gate);
    UP(g, TN("ffn_up.weight"), KEEP, d, ff, &L->w_up);
    UP(g, TN("ffn_down.weight"), KEEP, ff, d, &L->w_down);
#undef TN
    if (st == HATCH_OK) st = hatch_tensor_create(m->be, m->kv_type, 3, ne_cache, &L->k_cache);
    if (st == HATCH_OK) st = hatch_tensor_create(m->be, m->kv_type, 3, ne_cache, &L->v_cache);
  }
  UP(g, "output_norm.weight", F32, d, 1, &m->output_norm);
  if (t->tie_word_embeddings) {
    UP(g, "token_embd.weight", KEEP, d, vocab, &m->tok_embd);
    m->output = m->tok_embd;
  } else {
    UP(g, "output.weight", KEEP, d, vocab, &m->output);
  }
  return st;
}

static uint64_t nb(const hatch_tensor *t) { return t ? (uint64_t)hatch_tensor_nbytes(t) : 0; }

static void account(hatch_model *m) {
  uint64_t dev = nb(m->patch_w) + nb(m->merger_norm) + nb(m->mm0_w) + nb(m->mm0_b) + nb(m->mm2_w) + nb(m->mm2_b) +
                 nb(m->output_norm) + nb(m->output) + (m->output != m->tok_embd ? nb(m->tok_embd) : 0);
  for (int l = 0; l < m->cfg.vision.depth; l++) {
    const vision_layer *L = &m->vlayers[l];
    const hatch_tensor *all[] = {L->ln1, L->ln2, L->wq, L->wk, L->wv, L->wo, L->bq, L->bk, L->bv, L->bo,
                                 L->w_gate, L->w_up, L->w_down, L->b_gate, L->b_up, L->b_down};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) dev += nb(all[i]);
  }
  uint64_t dec = nb(m->output) + nb(m->output_norm);
  for (int l = 0; l < m->cfg.text.num_hidden_layers; l++) {
    const text_layer *L = &m->tlayers[l];
    const hatch_tensor *w[] = {L->attn_norm, L->ffn_norm, L->wq, L->wk, L->wv, L->wo, L->bq, L->bk, L->bv,
                               L->w_gate, L->w_up, L->w_down};
    for (size_t i = 0; i < sizeof w / sizeof *w; i++) dec += nb(w[i]);
    dev += nb(L->k_cache) + nb(L->v_cache);
  }
  m->device_bytes = dev + dec - nb(m->output) - nb(m->output_norm);
  m->decode_bytes = dec;
}

uint64_t hatch_model_device_bytes(const hatch_model *m) { return m ? m->device_bytes : 0; }
uint64_t hatch_model_decode_bytes(const hatch_model *m) { return m ? m->decode_bytes : 0; }

void hatch_model_destroy(hatch_model *m) {
  if (!m) return;
  hatch_qwen25vl_text_release(m);
  if (m->vlayers)
    for (int l = 0; l < m->cfg.vision.depth; l++) {
      vision_layer *L = &m->vlayers[l];
      hatch_tensor *all[] = {L->ln1, L->ln2, L->wq, L->wk, L->wv, L->wo, L->bq, L->bk, L->bv, L->bo,
                             L->w_gate, L->w_up, L->w_down, L->b_gate, L->b_up, L->b_down};
      for (size_t i = 0; i < sizeof all / sizeof *all; i++) hatch_tensor_destroy(all[i]);
    }
  if (m->tlayers)
    for (int l = 0; l < m->cfg.text.num_hidden_layers; l++) {
      text_layer *L = &m->tlayers[l];
      hatch_tensor *all[] = {L->attn_norm, L->ffn_norm, L->wq, L->wk, L->wv, L->wo, L->bq, L->bk, L->bv,
                             L->w_gate, L->w_up, L->w_down, L->k_cache, L->v_cache};
      for (size_t i = 0; i < sizeof all / sizeof *all; i++) hatch_tensor_destroy(all[i]);
    }
  free(m->vlayers);
  free(m->tlayers);
  hatch_tensor *top[] = {m->patch_w, m->merger_norm, m->mm0_w, m->mm0_b, m->mm2_w, m->mm2_b, m->output_norm};
  for (size_t i = 0; i < sizeof top / sizeof *top; i++) hatch_tensor_destroy(top[i]);
  if (m->output != m->tok_embd) hatch_tensor_destroy(m->output);
  hatch_tensor_destroy(m->tok_embd);
  if (m->vision_file != m->text_file) hatch_gguf_close(m->vision_file);
  hatch_gguf_close(m->text_file);
  free(m);
}

hatch_status hatch_model_load(hatch_backend *be, const char *path, const char *mmproj_path,
                              const hatch_model_options *opt, hatch_model **out, hatch_model_report *report) {
  hatch_model_report scratch;
  if (!report) report = &scratch;
  report->message[0] = 0;
  if (!be || !path || !out) return HATCH_ERR_INVALID_ARGUMENT;
  *out = NULL;
  hatch_model *m = calloc(1, sizeof *m);
  if (!m) return HATCH_ERR_OUT_OF_MEMORY;
  m->be = be;
  hatch_gguf_report gr;
  hatch_status st = hatch_gguf_open(path, &m->text_file, &gr);
  if (st != HATCH_OK) {
    snprintf(report->message, sizeof report->message, "%s", gr.message);
    goto fail_out;
  }
  m->vision_file = m->text_file;
  if (mmproj_path && (st = hatch_gguf_open(mmproj_path, &m->vision_file, &gr)) != HATCH_OK) {
    m->vision_file = m->text_file;
    snprintf(report->message, sizeof report->message, "%s", gr.message);
    goto fail_out;
  }
  hatch_gguf_str arch;
  if (hatch_gguf_get_str(m->text_file, "general.architecture", &arch) != HATCH_OK || arch.len != 7 ||
      memcmp(arch.data, "qwen2vl", 7) != 0) {
    snprintf(report->message, sizeof report->message, "%s: general.architecture is not \"qwen2vl\"", path);
    st = HATCH_ERR_UNSUPPORTED;
    goto fail_out;
  }
  if ((st = read_config(m, m->text_file, m->vision_file, report)) != HATCH_OK) goto fail_out;
  int ctx = opt && opt->max_context > 0 ? opt->max_context : 4096;
  if (ctx > m->cfg.text.max_position_embeddings) ctx = (int)m->cfg.text.max_position_embeddings;
  m->max_context = ctx;
  m->kv_type = opt && opt->kv_f32 ? HATCH_TYPE_F32 : HATCH_TYPE_F16;
  m->graphs = hatch_backend_supports_graphs(be) && !(opt && opt->no_graphs);
  if (m->kv_type == HATCH_TYPE_F16 && m->dv.head_dim % 2 != 0) m->kv_type = HATCH_TYPE_F32; /* fp16 pairs */
  if ((st = load_vision(m, m->vision_file, report)) != HATCH_OK) goto fail_out;
  if ((st = load_text(m, m->text_file, report)) != HATCH_OK) goto fail_out;
  if ((st = hatch_backend_sync(be)) != HATCH_OK) goto fail_out;
  account(m);
  int64_t ne_past[1] = {1};
  if ((st = hatch_tensor_create(be, HATCH_TYPE_I32, 1, ne_past, &m->past)) != HATCH_OK) goto fail_out;
  *out = m;
  return HATCH_OK;
fail_out:
  if (!report->message[0]) snprintf(report->message, sizeof report->message, "%s: %s", path, hatch_status_message(st));
  hatch_model_destroy(m);
  return st;
}

const hatch_qwen25vl_config *hatch_model_config(const hatch_model *m) { return m ? &m->cfg : NULL; }
hatch_backend *hatch_model_backend(const hatch_model *m) { return m ? m->be : NULL; }
