/* Hugging Face config.json and preprocessor_config.json of Qwen2.5-VL -> hatch_qwen25vl_config.
 * Field names follow transformers' configuration_qwen2_5_vl.py; both layouts are read: text fields
 * at the top level (published checkpoints) or under "text_config" (transformers >= 4.5x; looked up
 * there first, then at the top level). A JSON null counts as absent (transformers writes nulls for
 * unset fields). Values are checked by hatch_qwen25vl_config_validate (model_config.c). */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hatch/model_config.h"

typedef struct ctx {
  const char *nm; /* file name for messages */
  hatch_config_report *rep;
} ctx;

static hatch_status bad(ctx *x, hatch_status st, const char *fmt, ...) {
  if (x->rep) {
    int n = snprintf(x->rep->message, sizeof(x->rep->message), "%s: ", x->nm);
    if (n < 0 || (size_t)n >= sizeof(x->rep->message)) n = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(x->rep->message + n, sizeof(x->rep->message) - (size_t)n, fmt, ap);
    va_end(ap);
  }
  return st;
}

/* The member `key` of obj; NULL when obj is not an object, the key is absent or its value null. */
static const cJSON *field(const cJSON *obj, const char *key) {
  if (!cJSON_IsObject(obj)) return NULL;
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
  return v && !cJSON_IsNull(v) ? v : NULL;
}

/* A text-model field: text_config first (newer layout), then the top level. */
static const cJSON *text_field(const cJSON *root, const cJSON *tc, const char *key) {
  const cJSON *v = field(tc, key);
  return v ? v : field(root, key);
}

/* An integer in [lo, hi]; v NULL leaves *out alone (optional field). */
static hatch_status get_int(ctx *x, const cJSON *v, const char *path, int64_t lo, int64_t hi, int64_t *out) {
  if (!v) return HATCH_OK;
  if (!cJSON_IsNumber(v)) return bad(x, HATCH_ERR_CORRUPT, "%s is not a number", path);
  double d = v->valuedouble;
  if (!(d >= -9007199254740992.0 && d <= 9007199254740992.0) || d != (double)(int64_t)d)
    return bad(x, HATCH_ERR_CORRUPT, "%s is not an integer", path);
  if ((int64_t)d < lo || (int64_t)d > hi)
    return bad(x, HATCH_ERR_TOO_LARGE, "%s = %.0f is out of range", path, d);
  *out = (int64_t)d;
  return HATCH_OK;
}

static hatch_status get_i32(ctx *x, const cJSON *v, const char *path, int32_t *out) {
  int64_t t = *out;
  hatch_status st = get_int(x, v, path, INT32_MIN, INT32_MAX, &t);
  *out = (int32_t)t;
  return st;
}

static hatch_status get_i64(ctx *x, const cJSON *v, const char *path, int64_t *out) {
  return get_int(x, v, path, -((int64_t)1 << 53), (int64_t)1 << 53, out);
}

static hatch_status need(ctx *x, const cJSON *v, const char *path) {
  return v ? HATCH_OK : bad(x, HATCH_ERR_INVALID_ARGUMENT, "%s is missing", path);
}

static hatch_status get_double(ctx *x, const cJSON *v, const char *path, double *out) {
  if (!v) return HATCH_OK;
  if (!cJSON_IsNumber(v)) return bad(x, HATCH_ERR_CORRUPT, "%s is not a number", path);
  *out = v->valuedouble;
  return HATCH_OK;
}

static hatch_status get_str(ctx *x, const cJSON *v, const char *path, char *out, size_t cap) {
  if (!v) return HATCH_OK;
  if (!cJSON_IsString(v)) return bad(x, HATCH_ERR_CORRUPT, "%s is not a string", path);
  if (strlen(v->valuestring) >= cap) return bad(x, HATCH_ERR_TOO_LARGE, "%s is longer than %zu bytes", path, cap - 1);
  strcpy(out, v->valuestring);
  return HATCH_OK;
}

/* Activation names transformers maps to SiLU are stored as "silu". */
static hatch_status get_act(ctx *x, const cJSON *v, const char *path, char *out, size_t cap) {
  hatch_status st = get_str(x, v, path, out, cap);
  if (st == HATCH_OK && strcmp(out, "swish") == 0) strcpy(out, "silu");
  return st;
}

#define TRY(expr)                       \
  do {                                  \
    hatch_status st_ = (expr);          \
    if (st_ != HATCH_OK) return st_;    \
  } while (0)

static hatch_status parse_rope(ctx *x, const cJSON *root, const cJSON *tc, hatch_qwen25vl_text_config *t) {
  const char *rn = "rope_scaling";
  const cJSON *rope = text_field(root, tc, rn);
  if (!rope) {
    rn = "rope_parameters";
    rope = text_field(root, tc, rn);
  }
  char path[64];
  TRY(get_double(x, text_field(root, tc, "rope_theta"), "rope_theta", &t->rope_theta));
  if (!rope) return bad(x, HATCH_ERR_INVALID_ARGUMENT, "rope_scaling.mrope_section is missing (no rope_scaling)");
  if (!cJSON_IsObject(rope)) return bad(x, HATCH_ERR_CORRUPT, "%s is not an object", rn);
  const char *keys[2] = {"rope_type", "type"};
  for (int k = 0; k < 2; k++) {
    char type[32] = "";
    snprintf(path, sizeof(path), "%s.%s", rn, keys[k]);
    TRY(get_str(x, field(rope, keys[k]), path, type, sizeof(type)));
    if (type[0] && strcmp(type, "mrope") != 0 && strcmp(type, "default") != 0)
      return bad(x, HATCH_ERR_UNSUPPORTED, "%s '%s' is not supported (mrope or default)", path, type);
  }
  const cJSON *il = field(rope, "mrope_interleaved");
  if (il && !cJSON_IsFalse(il))
    return bad(x, HATCH_ERR_UNSUPPORTED, "%s.mrope_interleaved is set (Qwen3-VL layout, not Qwen2.5-VL)", rn);
  snprintf(path, sizeof(path), "%s.rope_theta", rn);
  if (!field(root, "rope_theta") && !field(tc, "rope_theta"))
    TRY(get_double(x, field(rope, "rope_theta"), path, &t->rope_theta));
  snprintf(path, sizeof(path), "%s.mrope_section", rn);
  const cJSON *ms = field(rope, "mrope_section");
  TRY(need(x, ms, path));
  if (!cJSON_IsArray(ms) || cJSON_GetArraySize(ms) != 3)
    return bad(x, HATCH_ERR_INVALID_ARGUMENT, "%s is not an array of 3 integers", path);
  int i = 0;
  for (const cJSON *e = ms->child; e; e = e->next, i++) {
    char p2[80];
    snprintf(p2, sizeof(p2), "%s[%d]", path, i);
    TRY(get_i32(x, e, p2, &t->mrope_section[i]));
  }
  return HATCH_OK;
}

static hatch_status parse_text(ctx *x, const cJSON *root, const cJSON *tc, hatch_qwen25vl_text_config *t) {
  static const char *required[] = {"vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers",
                                   "num_attention_heads"};
  for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++)
    TRY(need(x, text_field(root, tc, required[i]), required[i]));
  TRY(get_i64(x, text_field(root, tc, "vocab_size"), "vocab_size", &t->vocab_size));
  TRY(get_i64(x, text_field(root, tc, "hidden_size"), "hidden_size", &t->hidden_size));
  TRY(get_i64(x, text_field(root, tc, "intermediate_size"), "intermediate_size", &t->intermediate_size));
  TRY(get_i32(x, text_field(root, tc, "num_hidden_layers"), "num_hidden_layers", &t->num_hidden_layers));
  TRY(get_i32(x, text_field(root, tc, "num_attention_heads"), "num_attention_heads", &t->num_attention_heads));
  t->num_key_value_heads = t->num_attention_heads; /* transformers' fallback */
  TRY(get_i32(x, text_field(root, tc, "num_key_value_heads"), "num_key_value_heads", &t->num_key_value_heads));
  TRY(get_double(x, text_field(root, tc, "rms_norm_eps"), "rms_norm_eps", &t->rms_norm_eps));
  TRY(get_i64(x, text_field(root, tc, "max_position_embeddings"), "max_position_embeddings",
              &t->max_position_embeddings));
  const cJSON *tie = text_field(root, tc, "tie_word_embeddings");
  if (tie && !cJSON_IsBool(tie)) return bad(x, HATCH_ERR_CORRUPT, "tie_word_embeddings is not true/false");
  if (tie) t->tie_word_embeddings = cJSON_IsTrue(tie);
  TRY(get_act(x, text_field(root, tc, "hidden_act"), "hidden_act", t->hidden_act, sizeof(t->hidden_act)));
  const cJSON *dt = text_field(root, tc, "torch_dtype");
  TRY(get_str(x, dt ? dt : text_field(root, tc, "dtype"), dt ? "torch_dtype" : "dtype", t->torch_dtype,
              sizeof(t->torch_dtype)));
  const cJSON *sw = text_field(root, tc, "use_sliding_window");
  if (sw && !cJSON_IsFalse(sw)) return bad(x, HATCH_ERR_UNSUPPORTED, "use_sliding_window is set; hatch attends to the full context");
  const cJSON *hd = text_field(root, tc, "head_dim");
  if (hd) {
    int64_t head_dim = 0;
    TRY(get_i64(x, hd, "head_dim", &head_dim));
    if (t->num_attention_heads <= 0 || head_dim * t->num_attention_heads != t->hidden_size)
      return bad(x, HATCH_ERR_UNSUPPORTED, "head_dim %lld is not hidden_size / num_attention_heads (Qwen2.5-VL derives it)",
                 (long long)head_dim);
  }
  TRY(get_i32(x, text_field(root, tc, "bos_token_id"), "bos_token_id", &t->bos_token_id));
  const cJSON *eos = text_field(root, tc, "eos_token_id");
  if (cJSON_IsArray(eos)) {
    if (cJSON_GetArraySize(eos) > HATCH_CONFIG_MAX_EOS)
      return bad(x, HATCH_ERR_TOO_LARGE, "eos_token_id lists more than %d tokens", HATCH_CONFIG_MAX_EOS);
    for (const cJSON *e = eos->child; e; e = e->next) {
      if (!cJSON_IsNumber(e)) return bad(x, HATCH_ERR_CORRUPT, "eos_token_id[%d] is not a number", t->n_eos);
      TRY(get_i32(x, e, "eos_token_id[]", &t->eos_token_id[t->n_eos]));
      t->n_eos++;
    }
  } else if (eos) {
    TRY(get_i32(x, eos, "eos_token_id", &t->eos_token_id[0]));
    t->n_eos = 1;
  }
  return parse_rope(x, root, tc, t);
}

static hatch_status parse_vision(ctx *x, const cJSON *vc, hatch_qwen25vl_vision_config *v) {
  static const struct {
    const char *key;
    size_t off;
    bool required;
  } ints[] = {
      {"depth", offsetof(hatch_qwen25vl_vision_config, depth), true},
      {"hidden_size", offsetof(hatch_qwen25vl_vision_config, hidden_size), true},
      {"intermediate_size", offsetof(hatch_qwen25vl_vision_config, intermediate_size), true},
      {"num_heads", offsetof(hatch_qwen25vl_vision_config, num_heads), true},
      {"out_hidden_size", offsetof(hatch_qwen25vl_vision_config, out_hidden_size), true},
      {"patch_size", offsetof(hatch_qwen25vl_vision_config, patch_size), false},
      {"spatial_merge_size", offsetof(hatch_qwen25vl_vision_config, spatial_merge_size), false},
      {"temporal_patch_size", offsetof(hatch_qwen25vl_vision_config, temporal_patch_size), false},
      {"window_size", offsetof(hatch_qwen25vl_vision_config, window_size), false},
      {"tokens_per_second", offsetof(hatch_qwen25vl_vision_config, tokens_per_second), false},
  };
  char path[64];
  for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
    snprintf(path, sizeof(path), "vision_config.%s", ints[i].key);
    const cJSON *f = field(vc, ints[i].key);
    if (ints[i].required) TRY(need(x, f, path));
    TRY(get_i32(x, f, path, (int32_t *)((char *)v + ints[i].off)));
  }
  const cJSON *ic = field(vc, "in_channels"), *ich = field(vc, "in_chans");
  TRY(get_i32(x, ic, "vision_config.in_channels", &v->in_channels));
  int32_t chans = v->in_channels;
  TRY(get_i32(x, ich, "vision_config.in_chans", &chans));
  if (ic && ich && chans != v->in_channels)
    return bad(x, HATCH_ERR_INVALID_ARGUMENT, "vision_config.in_chans %d differs from vision_config.in_channels %d", chans,
               v->in_channels);
  v->in_channels = chans;
  const cJSON *sp = field(vc, "spatial_patch_size");
  if (sp) {
    int32_t s = 0;
    TRY(get_i32(x, sp, "vision_config.spatial_patch_size", &s));
    if (s != v->patch_size)
      return bad(x, HATCH_ERR_INVALID_ARGUMENT, "vision_config.spatial_patch_size %d differs from vision_config.patch_size %d",
                 s, v->patch_size);
  }
  const cJSON *fa = field(vc, "fullatt_block_indexes");
  if (fa) {
    if (!cJSON_IsArray(fa)) return bad(x, HATCH_ERR_CORRUPT, "vision_config.fullatt_block_indexes is not an array");
    int n = cJSON_GetArraySize(fa);
    if (n > HATCH_CONFIG_MAX_FULLATT)
      return bad(x, HATCH_ERR_TOO_LARGE, "vision_config.fullatt_block_indexes has %d entries, over %d", n,
                 HATCH_CONFIG_MAX_FULLATT);
    int i = 0;
    for (const cJSON *e = fa->child; e; e = e->next, i++) {
      snprintf(path, sizeof(path), "vision_config.fullatt_block_indexes[%d]", i);
      TRY(need(x, cJSON_IsNull(e) ? NULL : e, path));
      TRY(get_i32(x, e, path, &v->fullatt_block_indexes[i]));
    }
    v->n_fullatt = n;
  }
  return get_act(x, field(vc, "hidden_act"), "vision_config.hidden_act", v->hidden_act, sizeof(v->hidden_act));
}

static hatch_status parse_config(ctx *x, const char *json, size_t len, hatch_qwen25vl_config *cfg) {
  hatch_qwen25vl_config_defaults(cfg);
  cJSON *root = cJSON_ParseWithLength(json, len);
  if (!root) return bad(x, HATCH_ERR_CORRUPT, "malformed JSON");
  hatch_status st = HATCH_OK;
  if (!cJSON_IsObject(root)) {
    st = bad(x, HATCH_ERR_CORRUPT, "not a JSON object");
    goto out;
  }
  char mt[32] = "";
  st = get_str(x, field(root, "model_type"), "model_type", mt, sizeof(mt));
  if (st == HATCH_OK && mt[0] && strcmp(mt, "qwen2_5_vl") != 0)
    st = bad(x, HATCH_ERR_UNSUPPORTED, "model_type '%s' is not qwen2_5_vl", mt);
  const cJSON *tc = field(root, "text_config");
  if (st == HATCH_OK && tc && !cJSON_IsObject(tc)) st = bad(x, HATCH_ERR_CORRUPT, "text_config is not an object");
  const cJSON *vc = field(root, "vision_config");
  if (st == HATCH_OK && !vc) st = bad(x, HATCH_ERR_INVALID_ARGUMENT, "vision_config is missing");
  if (st == HATCH_OK && !cJSON_IsObject(vc)) st = bad(x, HATCH_ERR_CORRUPT, "vision_config is not an object");
  if (st == HATCH_OK) st = parse_text(x, root, tc, &cfg->text);
  if (st == HATCH_OK) st = parse_vision(x, vc, &cfg->vision);
  /* Special tokens: the top level first (where Qwen2_5_VLConfig keeps them), then text_config. */
  static const char *tok_keys[4] = {"image_token_id", "video_token_id", "vision_start_token_id", "vision_end_token_id"};
  int32_t *tok[4] = {&cfg->image_token_id, &cfg->video_token_id, &cfg->vision_start_token_id, &cfg->vision_end_token_id};
  for (int i = 0; i < 4 && st == HATCH_OK; i++) {
    const cJSON *v = field(root, tok_keys[i]);
    st = get_i32(x, v ? v : field(tc, tok_keys[i]), tok_keys[i], tok[i]);
  }
out:
  cJSON_Delete(root);
  return st;
}

hatch_status hatch_qwen25vl_config_parse(const char *json, size_t len, const char *name, hatch_qwen25vl_config *cfg,
                                         hatch_config_report *rep) {
  ctx x = {name ? name : "config.json", rep};
  if (rep) rep->message[0] = '\0';
  if (!cfg || (!json && len)) return bad(&x, HATCH_ERR_INVALID_ARGUMENT, "NULL argument");
  if (len > HATCH_CONFIG_MAX_FILE) return bad(&x, HATCH_ERR_TOO_LARGE, "%zu bytes, over the %u-byte limit", len, HATCH_CONFIG_MAX_FILE);
  TRY(parse_config(&x, json ? json : "", len, cfg));
  return hatch_qwen25vl_config_validate(cfg, x.nm, rep);
}

hatch_status hatch_qwen25vl_preprocess_parse(const char *json, size_t len, const char *name,
                                             hatch_qwen25vl_preprocess_config *pp, hatch_config_report *rep) {
  ctx x = {name ? name : "preprocessor_config.json", rep};
  if (rep) rep->message[0] = '\0';
  if (!pp || (!json && len)) return bad(&x, HATCH_ERR_INVALID_ARGUMENT, "NULL argument");
  if (len > HATCH_CONFIG_MAX_FILE) return bad(&x, HATCH_ERR_TOO_LARGE, "%zu bytes, over the %u-byte limit", len, HATCH_CONFIG_MAX_FILE);
  cJSON *root = cJSON_ParseWithLength(json ? json : "", len);
  if (!root) return bad(&x, HATCH_ERR_CORRUPT, "malformed JSON");
  hatch_status st = HATCH_OK;
  hatch_qwen25vl_preprocess_config p = *pp;
  if (!cJSON_IsObject(root)) {
    st = bad(&x, HATCH_ERR_CORRUPT, "not a JSON object");
    goto out;
  }
  /* Newer processors keep the pixel bounds under "size"; explicit min/max_pixels win, as in
   * transformers' Qwen2VLImageProcessor. */
  const cJSON *size = field(root, "size");
  if (size && !cJSON_IsObject(size)) st = bad(&x, HATCH_ERR_CORRUPT, "size is not an object");
  if (st == HATCH_OK) st = get_i64(&x, field(size, "shortest_edge"), "size.shortest_edge", &p.min_pixels);
  if (st == HATCH_OK) st = get_i64(&x, field(size, "longest_edge"), "size.longest_edge", &p.max_pixels);
  if (st == HATCH_OK) st = get_i64(&x, field(root, "min_pixels"), "min_pixels", &p.min_pixels);
  if (st == HATCH_OK) st = get_i64(&x, field(root, "max_pixels"), "max_pixels", &p.max_pixels);
  if (st == HATCH_OK) st = get_i32(&x, field(root, "patch_size"), "patch_size", &p.patch_size);
  if (st == HATCH_OK) st = get_i32(&x, field(root, "merge_size"), "merge_size", &p.merge_size);
  if (st == HATCH_OK) st = get_i32(&x, field(root, "temporal_patch_size"), "temporal_patch_size", &p.temporal_patch_size);
  const char *arr_keys[2] = {"image_mean", "image_std"};
  float *arr[2] = {p.image_mean, p.image_std};
  for (int k = 0; k < 2 && st == HATCH_OK; k++) {
    const cJSON *a = field(root, arr_keys[k]);
    if (!a) continue;
    if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) != 3) {
      st = bad(&x, HATCH_ERR_INVALID_ARGUMENT, "%s is not an array of 3 numbers", arr_keys[k]);
      break;
    }
    int i = 0;
    for (const cJSON *e = a->child; e && st == HATCH_OK; e = e->next, i++) {
      double d = 0;
      if (!cJSON_IsNumber(e)) st = bad(&x, HATCH_ERR_CORRUPT, "%s[%d] is not a number", arr_keys[k], i);
      else d = e->valuedouble;
      arr[k][i] = (float)d;
    }
  }
  if (st == HATCH_OK) st = hatch_qwen25vl_preprocess_validate(&p, x.nm, rep);
  if (st == HATCH_OK) *pp = p;
out:
  cJSON_Delete(root);
  return st;
}

/* Reads path (<= HATCH_CONFIG_MAX_FILE bytes) into a malloc'd buffer. */
static hatch_status slurp(ctx *x, const char *path, char **out, size_t *len) {
  FILE *fp = fopen(path, "rb");
  if (!fp) return bad(x, errno == ENOENT ? HATCH_ERR_NOT_FOUND : HATCH_ERR_IO, "cannot open: %s", strerror(errno));
  char *buf = malloc((size_t)HATCH_CONFIG_MAX_FILE + 1);
  size_t n = buf ? fread(buf, 1, (size_t)HATCH_CONFIG_MAX_FILE + 1, fp) : 0;
  hatch_status st = HATCH_OK;
  if (!buf) st = bad(x, HATCH_ERR_OUT_OF_MEMORY, "out of memory");
  else if (ferror(fp)) st = bad(x, HATCH_ERR_IO, "read error");
  else if (n > HATCH_CONFIG_MAX_FILE) st = bad(x, HATCH_ERR_TOO_LARGE, "over the %u-byte limit", HATCH_CONFIG_MAX_FILE);
  fclose(fp);
  if (st != HATCH_OK) {
    free(buf);
    return st;
  }
  *out = buf;
  *len = n;
  return HATCH_OK;
}

hatch_status hatch_qwen25vl_config_load_dir(const char *dir, hatch_qwen25vl_config *cfg, hatch_config_report *rep) {
  if (rep) rep->message[0] = '\0';
  ctx x = {"config", rep};
  if (!dir || !cfg) return bad(&x, HATCH_ERR_INVALID_ARGUMENT, "NULL argument");
  size_t dl = strlen(dir);
  char *cpath = malloc(dl + 32), *ppath = malloc(dl + 32), *text = NULL;
  size_t len = 0;
  hatch_status st = HATCH_OK;
  if (!cpath || !ppath) {
    st = bad(&x, HATCH_ERR_OUT_OF_MEMORY, "out of memory");
    goto out;
  }
  snprintf(cpath, dl + 32, "%s/config.json", dir);
  snprintf(ppath, dl + 32, "%s/preprocessor_config.json", dir);
  x.nm = cpath;
  st = slurp(&x, cpath, &text, &len);
  if (st == HATCH_OK) st = parse_config(&x, text, len, cfg);
  free(text);
  text = NULL;
  if (st != HATCH_OK) goto out;
  x.nm = ppath;
  st = slurp(&x, ppath, &text, &len);
  if (st == HATCH_ERR_NOT_FOUND) { /* optional: the defaults stay */
    st = HATCH_OK;
    if (rep) rep->message[0] = '\0';
  }
  if (st == HATCH_OK && text) st = hatch_qwen25vl_preprocess_parse(text, len, ppath, &cfg->preprocess, rep);
  if (st == HATCH_OK) st = hatch_qwen25vl_config_validate(cfg, cpath, rep);
out:
  free(text);
  free(cpath);
  free(ppath);
  return st;
}
