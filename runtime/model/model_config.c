/* Qwen2.5-VL config values: defaults, the published 3B numbers, validation with messages naming the
 * field, and the derived sizes. JSON parsing is in hf_config.c. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "hatch/model_config.h"
#include "hatch/types.h"

static const float k_clip_mean[3] = {0.48145466f, 0.4578275f, 0.40821073f};
static const float k_clip_std[3] = {0.26862954f, 0.26130258f, 0.27577711f};

void hatch_qwen25vl_preprocess_defaults(hatch_qwen25vl_preprocess_config *pp) {
  *pp = (hatch_qwen25vl_preprocess_config){
      .min_pixels = 56 * 56,
      .max_pixels = 28 * 28 * 16384,
      .patch_size = 14,
      .merge_size = 2,
      .temporal_patch_size = 2,
  };
  memcpy(pp->image_mean, k_clip_mean, sizeof(k_clip_mean));
  memcpy(pp->image_std, k_clip_std, sizeof(k_clip_std));
}

/* transformers' Qwen2_5_VLConfig defaults for the optional fields (configuration_qwen2_5_vl.py). */
void hatch_qwen25vl_config_defaults(hatch_qwen25vl_config *c) {
  memset(c, 0, sizeof(*c));
  hatch_qwen25vl_text_config *t = &c->text;
  t->rms_norm_eps = 1e-5;
  t->rope_theta = 1e6;
  t->max_position_embeddings = 32768;
  t->tie_word_embeddings = false;
  t->mrope_section[0] = t->mrope_section[1] = t->mrope_section[2] = -1; /* required */
  strcpy(t->hidden_act, "silu");
  t->bos_token_id = -1;
  hatch_qwen25vl_vision_config *v = &c->vision;
  v->in_channels = 3;
  v->patch_size = 14;
  v->spatial_merge_size = 2;
  v->temporal_patch_size = 2;
  v->window_size = 112;
  v->tokens_per_second = 4;
  v->n_fullatt = 4;
  const int32_t full[4] = {7, 15, 23, 31};
  memcpy(v->fullatt_block_indexes, full, sizeof(full));
  strcpy(v->hidden_act, "silu");
  v->rope_theta = 10000.0;
  v->rms_norm_eps = 1e-6;
  hatch_qwen25vl_preprocess_defaults(&c->preprocess);
  c->image_token_id = 151655;
  c->video_token_id = 151656;
  c->vision_start_token_id = 151652;
  c->vision_end_token_id = 151653;
}

hatch_qwen25vl_config hatch_qwen25vl_config_3b(void) {
  hatch_qwen25vl_config c;
  hatch_qwen25vl_config_defaults(&c);
  hatch_qwen25vl_text_config *t = &c.text;
  t->vocab_size = 151936;
  t->hidden_size = 2048;
  t->intermediate_size = 11008;
  t->num_hidden_layers = 36;
  t->num_attention_heads = 16;
  t->num_key_value_heads = 2;
  t->rms_norm_eps = 1e-6;
  t->rope_theta = 1e6;
  t->max_position_embeddings = 128000;
  t->tie_word_embeddings = true;
  t->mrope_section[0] = 16;
  t->mrope_section[1] = 24;
  t->mrope_section[2] = 24;
  strcpy(t->torch_dtype, "bfloat16");
  t->bos_token_id = 151643;
  t->n_eos = 1;
  t->eos_token_id[0] = 151645;
  hatch_qwen25vl_vision_config *v = &c.vision;
  v->depth = 32;
  v->hidden_size = 1280;
  v->intermediate_size = 3420;
  v->num_heads = 16;
  v->out_hidden_size = 2048;
  v->tokens_per_second = 2;
  return c;
}

static hatch_status bad(hatch_config_report *r, hatch_status st, const char *fmt, ...) {
  if (r) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->message, sizeof(r->message), fmt, ap);
    va_end(ap);
  }
  return st;
}

/* One bound check: lo <= v <= hi, naming the field. Below lo is invalid, above hi too large. */
#define RANGE(field, v, lo, hi)                                                                              \
  do {                                                                                                       \
    if ((int64_t)(v) < (int64_t)(lo))                                                                        \
      return bad(rep, HATCH_ERR_INVALID_ARGUMENT, "%s: %s is %lld, must be >= %lld", nm, field, (long long)(v), \
                 (long long)(lo));                                                                           \
    if ((int64_t)(v) > (int64_t)(hi))                                                                        \
      return bad(rep, HATCH_ERR_TOO_LARGE, "%s: %s is %lld, over the limit %lld", nm, field, (long long)(v),    \
                 (long long)(hi));                                                                           \
  } while (0)

static int64_t estimate_params(const hatch_qwen25vl_config *c) {
  const hatch_qwen25vl_text_config *t = &c->text;
  const hatch_qwen25vl_vision_config *v = &c->vision;
  int64_t H = t->hidden_size, F = t->intermediate_size, hd = H / t->num_attention_heads;
  int64_t q = t->num_attention_heads * hd, kv = t->num_key_value_heads * hd;
  int64_t layer = H * q + q + 2 * (H * kv + kv) + q * H + 3 * H * F + 2 * H;
  int64_t n = t->vocab_size * H * (t->tie_word_embeddings ? 1 : 2) + t->num_hidden_layers * layer + H;
  int64_t Hv = v->hidden_size, Fv = v->intermediate_size, M = Hv * v->spatial_merge_size * v->spatial_merge_size;
  int64_t patch = (int64_t)v->in_channels * v->temporal_patch_size * v->patch_size * v->patch_size;
  int64_t vlayer = 3 * Hv * Hv + 3 * Hv + Hv * Hv + Hv + 3 * Hv * Fv + 2 * Fv + Hv + 2 * Hv;
  n += patch * Hv + v->depth * vlayer + Hv + M * M + M + M * v->out_hidden_size + v->out_hidden_size;
  return n;
}

static hatch_status validate_text(const hatch_qwen25vl_text_config *t, const char *nm, hatch_config_report *rep) {
  RANGE("vocab_size", t->vocab_size, 1, HATCH_CONFIG_MAX_VOCAB);
  RANGE("hidden_size", t->hidden_size, 1, HATCH_CONFIG_MAX_HIDDEN);
  RANGE("intermediate_size", t->intermediate_size, 1, HATCH_CONFIG_MAX_FFN);
  RANGE("num_hidden_layers", t->num_hidden_layers, 1, HATCH_CONFIG_MAX_LAYERS);
  RANGE("num_attention_heads", t->num_attention_heads, 1, HATCH_CONFIG_MAX_HEADS);
  RANGE("num_key_value_heads", t->num_key_value_heads, 1, t->num_attention_heads);
  RANGE("max_position_embeddings", t->max_position_embeddings, 1, HATCH_CONFIG_MAX_POSITIONS);
  if (t->hidden_size % t->num_attention_heads != 0)
    return bad(rep, HATCH_ERR_INVALID_ARGUMENT, "%s: hidden_size %lld is not a multiple of num_attention_heads %d", nm,
               (long long)t->hidden_size, t->num_attention_heads);
  if (t->num_attention_heads % t->num_key_value_heads != 0)
    return bad(rep, HATCH_ERR_INVALID_ARGUMENT, "%s: num_key_value_heads %d does not divide num_attention_heads %d", nm,
               t->num_key_value_heads, t->num_attention_heads);
  int64_t head_dim = t->hidden_size / t->num_attention_heads;
  if (head_dim % 2 != 0)
    return bad(rep, HATCH_ERR_INVALID_ARGUMENT, "%s: head_dim (hidden_size / num_attention_heads) %lld is odd; RoPE needs pairs",
               nm, (long long)head_dim);
  int64_t sum = 0;
  for (int i = 0; i < 3; i++) {
    if (t->mrope_section[i] < 1)
      return bad(rep, HATCH_ERR_INVALID_ARGUMENT, "%s: rope_scaling.mrope_section[%d] is %d (missing or < 1)", nm, i,
                 t->mrope_section[i]);
    sum += t->mrope_section[i];
  }
  if (sum != head_dim / 2)
    return bad(rep, HATCH_ERR_INVALID_ARGUMENT,
               "%s: rope_scaling.mrope_section [%d, %d, %d] sums to %lld, head_dim / 2 is %lld", nm, t->mrope_section[0],
               t->mrope_section[1], t->mrope_section[2], (long long)sum, (long long)(head_dim / 2));
  if (!(t->rms_norm_eps > 0.0 && t->rms_norm_eps < 1.0))
    return bad(rep, HATCH_ERR_INVALID_ARGUMENT, "%s: rms_norm_eps %g is not in (0, 1)", nm, t->rms_norm_eps);
  if (!(t->rope_theta > 1.0 && isfinite(t->rope_theta)))
    return bad(rep, HATCH_ERR_INVALID_ARGUMENT, "%s: rope_theta %g is not a finite number > 1", nm, t->rope_theta);
  if (strcmp(t->hidden_act, "silu") != 0)
    return bad(rep, HATCH_ERR_UNSUPPORTED, "%s: hidden_act '%.15s' is not silu", nm, t->hidden_act);
  if (t->bos_token_id != -1) RANGE("bos_token_id", t->bos_token_id, 0, t->vocab_size - 1);
  RANGE("number of eos_token_id", t->n_eos, 0, HATCH_CONFIG_MAX_EOS);
  for (int i = 0; i < t->n_eos; i++) RANGE("eos_token_id", t->eos_token_id[i], 0, t->vocab_size - 1);
  return HATCH_OK;
}

static hatch_status validate_vision(const hatch_qwen25vl_vision_config *v, const char *nm, hatch_config_report *rep) {
  RANGE("vision_config.depth", v->depth, 1, HATCH_CONFIG_MAX_LAYERS);
  RANGE("vision_config.hidden_size", v->hidden_size, 1, HATCH_CONFIG_MAX_HIDDEN);
  RANGE("vision_config.intermediate_size", v->intermediate_size, 1, HATCH_CONFIG_MAX_FFN);
  RANGE("vision_config.num_heads", v->num_heads, 1, HATCH_CONFIG_MAX_HEADS);
  RANGE("vision_config.in_channels", v->in_channels, 1, 16);
  RANGE("vision_config.patch_size", v->patch_size, 1, 128);
  RANGE("vision_config.spatial_merge_size", v->spatial_merge_size, 1, 8);
  RANGE("vision_config.temporal_patch_size", v->temporal_patch_size, 1, 8);
  RANGE("vision_config.out_hidden_size", v->out_hidden_size, 1, HATCH_CONFIG_MAX_HIDDEN);
  RANGE("vision_config.tokens_per_second", v->tokens_per_second, 1, 1000);
  RANGE("vision_config.window_size", v->window_size, 1, 8192);
  if (v->hidden_size % v->num_heads != 0)
    return bad(rep, HATCH_ERR_INVALID_ARGUMENT, "%s: vision_config.hidden_size %d is not a multiple of vision_config.num_heads %d",
               nm, v->hidden_size, v->num_heads);
  if ((v->hidden_size / v->num_heads) % 4 != 0)
    return bad(rep, HATCH_ERR_INVALID_ARGUMENT,
               "%s: vision head_dim (vision_config.hidden_size / num_heads) %d is not a multiple of 4 (2D RoPE: y and x pairs)",
               nm, v->hidden_size / v->num_heads);
  int32_t unit = v->patch_size * v->spatial_merge_size;
  if (v->window_size % unit != 0)
    return bad(rep, HATCH_ERR_INVALID_ARGUMENT,
               "%s: vision_config.window_size %d is not a multiple of patch_size * spatial_merge_size = %d", nm,
               v->window_size, unit);
  RANGE("number of vision_config.fullatt_block_indexes", v->n_fullatt, 0, v->depth);
  for (int i = 0; i < v->n_fullatt; i++) {
    if (v->fullatt_block_indexes[i] < 0 || v->fullatt_block_indexes[i] >= v->depth)
      return bad(rep, HATCH_ERR_INVALID_ARGUMENT, "%s: vision_config.fullatt_block_indexes[%d] = %d is outside [0, depth %d)",
                 nm, i, v->fullatt_block_indexes[i], v->depth);
    if (i > 0 && v->fullatt_block_indexes[i] <= v->fullatt_block_indexes[i - 1])
      return bad(rep, HATCH_ERR_INVALID_ARGUMENT, "%s: vision_config.fullatt_block_indexes is not strictly increasing at [%d] = %d",
                 nm, i, v->fullatt_block_indexes[i]);
  }
  if (strcmp(v->hidden_act, "silu") != 0)
    return bad(rep, HATCH_ERR_UNSUPPORTED, "%s: vision_config.hidden_act '%.15s' is not silu", nm, v->hidden_act);
  if (!(v->rope_theta > 1.0 && isfinite(v->rope_theta)) || !(v->rms_norm_eps > 0.0 && v->rms_norm_eps < 1.0))
    return bad(rep, HATCH_ERR_INVALID_ARGUMENT, "%s: vision rope_theta %g or rms_norm_eps %g out of range", nm, v->rope_theta,
               v->rms_norm_eps);
  return HATCH_OK;
}

static hatch_status validate_preprocess(const hatch_qwen25vl_preprocess_config *p, const char *nm,
                                        hatch_config_report *rep) {
  RANGE("preprocessor min_pixels", p->min_pixels, 1, HATCH_CONFIG_MAX_PIXELS);
  RANGE("preprocessor max_pixels", p->max_pixels, p->min_pixels, HATCH_CONFIG_MAX_PIXELS);
  RANGE("preprocessor patch_size", p->patch_size, 1, 128);
  RANGE("preprocessor merge_size", p->merge_size, 1, 8);
  RANGE("preprocessor temporal_patch_size", p->temporal_patch_size, 1, 8);
  for (int i = 0; i < 3; i++) {
    if (!isfinite(p->image_mean[i]))
      return bad(rep, HATCH_ERR_INVALID_ARGUMENT, "%s: preprocessor image_mean[%d] is not finite", nm, i);
    if (!(p->image_std[i] > 0.0f && isfinite(p->image_std[i])))
      return bad(rep, HATCH_ERR_INVALID_ARGUMENT, "%s: preprocessor image_std[%d] = %g is not a finite number > 0", nm, i,
                 (double)p->image_std[i]);
  }
  return HATCH_OK;
}

hatch_status hatch_qwen25vl_preprocess_validate(const hatch_qwen25vl_preprocess_config *p, const char *name,
                                                hatch_config_report *rep) {
  const char *nm = name ? name : "preprocessor_config";
  if (rep) rep->message[0] = '\0';
  if (!p) return bad(rep, HATCH_ERR_INVALID_ARGUMENT, "%s: NULL config", nm);
  return validate_preprocess(p, nm, rep);
}

hatch_status hatch_qwen25vl_config_validate(const hatch_qwen25vl_config *c, const char *name, hatch_config_report *rep) {
  const char *nm = name ? name : "config";
  if (rep) rep->message[0] = '\0';
  if (!c) return bad(rep, HATCH_ERR_INVALID_ARGUMENT, "%s: NULL config", nm);
  hatch_status st = validate_text(&c->text, nm, rep);
  if (st == HATCH_OK) st = validate_vision(&c->vision, nm, rep);
  if (st == HATCH_OK) st = validate_preprocess(&c->preprocess, nm, rep);
  if (st != HATCH_OK) return st;
  const hatch_qwen25vl_vision_config *v = &c->vision;
  const hatch_qwen25vl_preprocess_config *p = &c->preprocess;
  if (v->out_hidden_size != c->text.hidden_size)
    return bad(rep, HATCH_ERR_INVALID_ARGUMENT, "%s: vision_config.out_hidden_size %d differs from hidden_size %lld", nm,
               v->out_hidden_size, (long long)c->text.hidden_size);
  if (p->patch_size != v->patch_size || p->merge_size != v->spatial_merge_size ||
      p->temporal_patch_size != v->temporal_patch_size)
    return bad(rep, HATCH_ERR_INVALID_ARGUMENT,
               "%s: preprocessor patch_size/merge_size/temporal_patch_size %d/%d/%d differ from vision_config %d/%d/%d", nm,
               p->patch_size, p->merge_size, p->temporal_patch_size, v->patch_size, v->spatial_merge_size,
               v->temporal_patch_size);
  int64_t vmax = c->text.vocab_size - 1;
  RANGE("image_token_id", c->image_token_id, 0, vmax);
  RANGE("video_token_id", c->video_token_id, 0, vmax);
  RANGE("vision_start_token_id", c->vision_start_token_id, 0, vmax);
  RANGE("vision_end_token_id", c->vision_end_token_id, 0, vmax);
  int64_t n = estimate_params(c);
  if (n > HATCH_CONFIG_MAX_PARAMS)
    return bad(rep, HATCH_ERR_TOO_LARGE, "%s: the sizes describe %lld weights, over the limit %lld", nm, (long long)n,
               (long long)HATCH_CONFIG_MAX_PARAMS);
  return HATCH_OK;
}

hatch_status hatch_qwen25vl_config_derive(const hatch_qwen25vl_config *c, hatch_qwen25vl_derived *out) {
  if (!out) return HATCH_ERR_INVALID_ARGUMENT;
  hatch_status st = hatch_qwen25vl_config_validate(c, NULL, NULL);
  if (st != HATCH_OK) return st;
  const hatch_qwen25vl_text_config *t = &c->text;
  const hatch_qwen25vl_vision_config *v = &c->vision;
  out->head_dim = (int32_t)(t->hidden_size / t->num_attention_heads);
  out->n_kv_groups = t->num_attention_heads / t->num_key_value_heads;
  out->q_dim = t->num_attention_heads * out->head_dim;
  out->kv_dim = t->num_key_value_heads * out->head_dim;
  out->vision_head_dim = v->hidden_size / v->num_heads;
  out->merged_width = v->hidden_size * v->spatial_merge_size * v->spatial_merge_size;
  out->patch_dim = v->in_channels * v->temporal_patch_size * v->patch_size * v->patch_size;
  out->window_patches = v->window_size / v->patch_size;
  out->window_merged = v->window_size / (v->patch_size * v->spatial_merge_size);
  out->pixel_multiple = v->patch_size * v->spatial_merge_size;
  out->text_ffn_padded = hatch_pad_to_block(t->intermediate_size);
  out->vision_ffn_padded = hatch_pad_to_block(v->intermediate_size);
  out->n_params = estimate_params(c);
  return HATCH_OK;
}

bool hatch_qwen25vl_vision_layer_is_full(const hatch_qwen25vl_config *c, int layer) {
  if (!c) return false;
  for (int i = 0; i < c->vision.n_fullatt && i < HATCH_CONFIG_MAX_FULLATT; i++)
    if (c->vision.fullatt_block_indexes[i] == layer) return true;
  return false;
}
