/* Qwen2.5-VL GGUF writer: tensor list, metadata keys, streamed conversion (model_write.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hatch/model_write.h"

static void spec_set(hatch_qwen25vl_tensor_spec *s, const char *name, int n_dims, int64_t a, int64_t b, int64_t c,
                     int64_t d, bool matrix) {
  snprintf(s->name, sizeof s->name, "%s", name);
  s->n_dims = n_dims;
  s->ne[0] = a, s->ne[1] = b, s->ne[2] = c, s->ne[3] = d;
  s->matrix = matrix;
}

int hatch_qwen25vl_tensor_specs(const hatch_qwen25vl_config *cfg, hatch_qwen25vl_tensor_spec *out, int cap) {
  const hatch_qwen25vl_text_config *t = &cfg->text;
  const hatch_qwen25vl_vision_config *v = &cfg->vision;
  int64_t d = t->hidden_size, ff = t->intermediate_size, hd = d / t->num_attention_heads;
  int64_t q = t->num_attention_heads * hd, kv = t->num_key_value_heads * hd;
  int64_t vd = v->hidden_size, vff = v->intermediate_size, P = v->patch_size;
  int n = 0;
  char name[64];
#define ADD(nm, nd, a, b, c, dd, mat)                                 \
  do {                                                                 \
    if (out && n < cap) spec_set(&out[n], nm, nd, a, b, c, dd, mat);   \
    n++;                                                               \
  } while (0)
  ADD("token_embd.weight", 2, d, t->vocab_size, 1, 1, true);
  for (int l = 0; l < t->num_hidden_layers; l++) {
#define L(s) (snprintf(name, sizeof name, "blk.%d.%s", l, s), name)
    ADD(L("attn_norm.weight"), 1, d, 1, 1, 1, false);
    ADD(L("attn_q.weight"), 2, d, q, 1, 1, true);
    ADD(L("attn_q.bias"), 1, q, 1, 1, 1, false);
    ADD(L("attn_k.weight"), 2, d, kv, 1, 1, true);
    ADD(L("attn_k.bias"), 1, kv, 1, 1, 1, false);
    ADD(L("attn_v.weight"), 2, d, kv, 1, 1, true);
    ADD(L("attn_v.bias"), 1, kv, 1, 1, 1, false);
    ADD(L("attn_output.weight"), 2, q, d, 1, 1, true);
    ADD(L("ffn_norm.weight"), 1, d, 1, 1, 1, false);
    ADD(L("ffn_gate.weight"), 2, d, ff, 1, 1, true);
    ADD(L("ffn_up.weight"), 2, d, ff, 1, 1, true);
    ADD(L("ffn_down.weight"), 2, ff, d, 1, 1, true);
#undef L
  }
  ADD("output_norm.weight", 1, d, 1, 1, 1, false);
  if (!t->tie_word_embeddings) ADD("output.weight", 2, d, t->vocab_size, 1, 1, true);
  ADD("v.patch_embd.weight", 4, P, P, v->in_channels, vd, false);
  ADD("v.patch_embd.weight.1", 4, P, P, v->in_channels, vd, false);
  for (int l = 0; l < v->depth; l++) {
#define L(s) (snprintf(name, sizeof name, "v.blk.%d.%s", l, s), name)
    ADD(L("ln1.weight"), 1, vd, 1, 1, 1, false);
    ADD(L("attn_q.weight"), 2, vd, vd, 1, 1, true);
    ADD(L("attn_q.bias"), 1, vd, 1, 1, 1, false);
    ADD(L("attn_k.weight"), 2, vd, vd, 1, 1, true);
    ADD(L("attn_k.bias"), 1, vd, 1, 1, 1, false);
    ADD(L("attn_v.weight"), 2, vd, vd, 1, 1, true);
    ADD(L("attn_v.bias"), 1, vd, 1, 1, 1, false);
    ADD(L("attn_out.weight"), 2, vd, vd, 1, 1, true);
    ADD(L("attn_out.bias"), 1, vd, 1, 1, 1, false);
    ADD(L("ln2.weight"), 1, vd, 1, 1, 1, false);
    ADD(L("ffn_gate.weight"), 2, vd, vff, 1, 1, true);
    ADD(L("ffn_gate.bias"), 1, vff, 1, 1, 1, false);
    ADD(L("ffn_up.weight"), 2, vd, vff, 1, 1, true);
    ADD(L("ffn_up.bias"), 1, vff, 1, 1, 1, false);
    ADD(L("ffn_down.weight"), 2, vff, vd, 1, 1, true);
    ADD(L("ffn_down.bias"), 1, vd, 1, 1, 1, false);
#undef L
  }
  ADD("v.post_ln.weight", 1, vd, 1, 1, 1, false);
  ADD("mm.0.weight", 2, 4 * vd, 4 * vd, 1, 1, true);
  ADD("mm.0.bias", 1, 4 * vd, 1, 1, 1, false);
  ADD("mm.2.weight", 2, 4 * vd, d, 1, 1, true);
  ADD("mm.2.bias", 1, d, 1, 1, 1, false);
#undef ADD
  return n;
}

/* ---- streaming conversion ------------------------------------------------------------------------ */

typedef struct tensor_job {
  hatch_qwen25vl_tensor_spec spec;
  uint32_t ggml_type;
  hatch_qwen25vl_row_fn rows;
  void *user;
} tensor_job;

static uint64_t row_bytes(uint32_t type, int64_t ne0) {
  switch (type) {
  case HATCH_GGML_TYPE_F32: return 4ull * (uint64_t)ne0;
  case HATCH_GGML_TYPE_F16: return 2ull * (uint64_t)ne0;
  default: return (uint64_t)(ne0 / 32) * sizeof(hatch_block_q8_0);
  }
}

static hatch_status fill(void *user, const char *name, void *buf, uint64_t offset, uint64_t n) {
  const tensor_job *j = user;
  int64_t ne0 = j->spec.ne[0];
  uint64_t rb = row_bytes(j->ggml_type, ne0);
  if (offset % rb || n % rb) return HATCH_ERR_INVALID_ARGUMENT; /* the writer hands out whole rows */
  int64_t row0 = (int64_t)(offset / rb), n_rows = (int64_t)(n / rb);
  float *f = malloc(sizeof(float) * (size_t)ne0);
  if (!f) return HATCH_ERR_OUT_OF_MEMORY;
  hatch_status st = HATCH_OK;
  for (int64_t r = 0; r < n_rows && st == HATCH_OK; r++) {
    st = j->rows(j->user, &j->spec, row0 + r, 1, f);
    uint8_t *dst = (uint8_t *)buf + (uint64_t)r * rb;
    if (st != HATCH_OK) break;
    if (j->ggml_type == HATCH_GGML_TYPE_F32) {
      memcpy(dst, f, (size_t)rb);
    } else if (j->ggml_type == HATCH_GGML_TYPE_F16) {
      for (int64_t i = 0; i < ne0; i++) {
        uint16_t h = hatch_fp32_to_fp16(f[i]);
        memcpy(dst + 2 * i, &h, 2);
      }
    } else {
      hatch_quantize_row_q8_0(f, (hatch_block_q8_0 *)(void *)dst, ne0);
    }
  }
  free(f);
  return st;
}

static hatch_status add_keys(hatch_gguf_writer *w, const hatch_qwen25vl_config *cfg, const char *name) {
  const hatch_qwen25vl_text_config *t = &cfg->text;
  const hatch_qwen25vl_vision_config *v = &cfg->vision;
  hatch_status st = HATCH_OK;
#define K(call) \
  if (st == HATCH_OK) st = (call)
  K(hatch_gguf_writer_add_str(w, "general.architecture", "qwen2vl"));
  K(hatch_gguf_writer_add_str(w, "general.name", name ? name : "qwen2.5-vl"));
  K(hatch_gguf_writer_add_u32(w, "qwen2vl.context_length", (uint32_t)t->max_position_embeddings));
  K(hatch_gguf_writer_add_u32(w, "qwen2vl.embedding_length", (uint32_t)t->hidden_size));
  K(hatch_gguf_writer_add_u32(w, "qwen2vl.block_count", (uint32_t)t->num_hidden_layers));
  K(hatch_gguf_writer_add_u32(w, "qwen2vl.feed_forward_length", (uint32_t)t->intermediate_size));
  K(hatch_gguf_writer_add_u32(w, "qwen2vl.attention.head_count", (uint32_t)t->num_attention_heads));
  K(hatch_gguf_writer_add_u32(w, "qwen2vl.attention.head_count_kv", (uint32_t)t->num_key_value_heads));
  K(hatch_gguf_writer_add_f32(w, "qwen2vl.rope.freq_base", (float)t->rope_theta));
  K(hatch_gguf_writer_add_f32(w, "qwen2vl.attention.layer_norm_rms_epsilon", (float)t->rms_norm_eps));
  int32_t sections[4] = {t->mrope_section[0], t->mrope_section[1], t->mrope_section[2], 0};
  K(hatch_gguf_writer_add_arr(w, "qwen2vl.rope.dimension_sections", HATCH_GGUF_TYPE_INT32, sections, 4));
  K(hatch_gguf_writer_add_str(w, "clip.projector_type", "qwen2.5vl_merger"));
  K(hatch_gguf_writer_add_bool(w, "clip.has_vision_encoder", true));
  K(hatch_gguf_writer_add_bool(w, "clip.use_silu", true));
  K(hatch_gguf_writer_add_u32(w, "clip.vision.block_count", (uint32_t)v->depth));
  K(hatch_gguf_writer_add_u32(w, "clip.vision.embedding_length", (uint32_t)v->hidden_size));
  K(hatch_gguf_writer_add_u32(w, "clip.vision.feed_forward_length", (uint32_t)v->intermediate_size));
  K(hatch_gguf_writer_add_u32(w, "clip.vision.attention.head_count", (uint32_t)v->num_heads));
  K(hatch_gguf_writer_add_f32(w, "clip.vision.attention.layer_norm_epsilon", (float)v->rms_norm_eps));
  K(hatch_gguf_writer_add_u32(w, "clip.vision.patch_size", (uint32_t)v->patch_size));
  K(hatch_gguf_writer_add_u32(w, "clip.vision.image_size", 560));
  K(hatch_gguf_writer_add_u32(w, "clip.vision.projection_dim", (uint32_t)v->out_hidden_size));
  K(hatch_gguf_writer_add_u32(w, "clip.vision.spatial_merge_size", (uint32_t)v->spatial_merge_size));
  K(hatch_gguf_writer_add_u32(w, "clip.vision.window_size", (uint32_t)v->window_size));
  int32_t full[HATCH_CONFIG_MAX_FULLATT];
  for (int i = 0; i < v->n_fullatt; i++) full[i] = v->fullatt_block_indexes[i];
  K(hatch_gguf_writer_add_arr(w, "clip.vision.wa_layer_indexes", HATCH_GGUF_TYPE_INT32, full, (uint64_t)v->n_fullatt));
  /* llama.cpp's older readers want n_wa_pattern: written when the full layers are every k-th. */
  bool regular = v->n_fullatt > 0;
  int k = v->n_fullatt > 0 ? v->fullatt_block_indexes[0] + 1 : 0;
  for (int i = 0; i < v->n_fullatt && regular; i++) regular = v->fullatt_block_indexes[i] == (i + 1) * k - 1;
  if (regular && v->n_fullatt == v->depth / k) K(hatch_gguf_writer_add_u32(w, "clip.vision.n_wa_pattern", (uint32_t)k));
  K(hatch_gguf_writer_add_arr(w, "clip.vision.image_mean", HATCH_GGUF_TYPE_FLOAT32, cfg->preprocess.image_mean, 3));
  K(hatch_gguf_writer_add_arr(w, "clip.vision.image_std", HATCH_GGUF_TYPE_FLOAT32, cfg->preprocess.image_std, 3));
  K(hatch_gguf_writer_add_u64(w, "hatch.preprocess.min_pixels", (uint64_t)cfg->preprocess.min_pixels));
  K(hatch_gguf_writer_add_u64(w, "hatch.preprocess.max_pixels", (uint64_t)cfg->preprocess.max_pixels));
  K(hatch_gguf_writer_add_i32(w, "hatch.image_token_id", cfg->image_token_id));
  K(hatch_gguf_writer_add_i32(w, "hatch.video_token_id", cfg->video_token_id));
  K(hatch_gguf_writer_add_i32(w, "hatch.vision_start_token_id", cfg->vision_start_token_id));
  K(hatch_gguf_writer_add_i32(w, "hatch.vision_end_token_id", cfg->vision_end_token_id));
#undef K
  return st;
}

hatch_status hatch_qwen25vl_write_gguf(const char *path, const hatch_qwen25vl_config *cfg,
                                       const hatch_qwen25vl_write_options *opt, hatch_qwen25vl_row_fn rows,
                                       void *rows_user, hatch_gguf_report *report) {
  if (!path || !cfg || !opt || !rows) return HATCH_ERR_INVALID_ARGUMENT;
  int n = hatch_qwen25vl_tensor_specs(cfg, NULL, 0);
  hatch_qwen25vl_tensor_spec *specs = calloc((size_t)n, sizeof *specs);
  tensor_job *jobs = calloc((size_t)n, sizeof *jobs);
  hatch_gguf_writer *w = NULL;
  hatch_status st = specs && jobs ? hatch_gguf_writer_create(&w) : HATCH_ERR_OUT_OF_MEMORY;
  if (st == HATCH_OK) st = add_keys(w, cfg, opt->name);
  if (st == HATCH_OK && opt->add_metadata) st = opt->add_metadata(opt->metadata_user, w);
  if (st == HATCH_OK) hatch_qwen25vl_tensor_specs(cfg, specs, n);
  for (int i = 0; i < n && st == HATCH_OK; i++) {
    tensor_job *j = &jobs[i];
    j->spec = specs[i];
    j->rows = rows;
    j->user = rows_user;
    j->ggml_type = HATCH_GGML_TYPE_F32;
    if (specs[i].matrix && opt->matrix_type == HATCH_TYPE_F16) j->ggml_type = HATCH_GGML_TYPE_F16;
    if (specs[i].matrix && opt->matrix_type == HATCH_TYPE_Q8_0)
      j->ggml_type = specs[i].ne[0] % 32 == 0 ? HATCH_GGML_TYPE_Q8_0 : HATCH_GGML_TYPE_F16;
    st = hatch_gguf_writer_add_tensor_fn(w, specs[i].name, j->ggml_type, specs[i].n_dims, specs[i].ne, fill, j);
  }
  if (st == HATCH_OK) st = hatch_gguf_writer_write(w, path, report);
  hatch_gguf_writer_destroy(w);
  free(specs);
  free(jobs);
  return st;
}

/* ---- random weights ------------------------------------------------------------------------------ */

static uint64_t mix(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

hatch_status hatch_qwen25vl_random_rows(void *user, const hatch_qwen25vl_tensor_spec *spec, int64_t row0,
                                        int64_t n_rows, float *out) {
  uint64_t seed = user ? *(const uint64_t *)user : 1;
  uint64_t h = 1469598103934665603ull;
  for (const char *c = spec->name; *c; c++) h = (h ^ (uint8_t)*c) * 1099511628211ull;
  size_t len = strlen(spec->name);
  bool bias = len > 5 && !strcmp(spec->name + len - 5, ".bias");
  bool norm = !spec->matrix && !bias && strstr(spec->name, "patch_embd") == NULL;
  double scale = spec->matrix ? 1.0 / sqrt((double)spec->ne[0])
                              : strstr(spec->name, "patch_embd") ? 1.0 / sqrt(6.0 * spec->ne[0] * spec->ne[1]) : 0.02;
  int64_t ne0 = spec->ne[0];
  for (int64_t r = 0; r < n_rows; r++) {
    uint64_t s = mix(h ^ mix(seed) ^ (uint64_t)(row0 + r) * 0x9e3779b97f4a7c15ull);
    for (int64_t i = 0; i < ne0; i++) {
      s = mix(s + 0x9e3779b97f4a7c15ull);
      double u = (double)(s >> 11) * 0x1.0p-53 * 2.0 - 1.0; /* [-1, 1) */
      out[r * ne0 + i] = (float)(norm ? 1.0 + 0.1 * u : scale * u * sqrt(3.0));
    }
  }
  return HATCH_OK;
}
