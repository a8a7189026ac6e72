/* Hugging Face Qwen2.5-VL checkpoint -> hatch GGUF (convert.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hatch/convert.h"
#include "hatch/gguf.h"
#include "hatch/model_config.h"
#include "hatch/model_write.h"
#include "hatch/safetensors.h"

typedef struct hf_source {
  const hatch_st_checkpoint *ckpt;
  const hatch_qwen25vl_config *cfg;
  char missing[160]; /* the first tensor that could not be found */
} hf_source;

/* The checkpoint tensor under either layout: "model.X" / "visual.X" (transformers < 4.52) or
 * "model.language_model.X" / "model.visual.X". */
static const hatch_st_tensor *find(const hf_source *s, const char *text_or_visual, const char *rest) {
  char a[200], b[200];
  if (!strcmp(text_or_visual, "visual")) {
    snprintf(a, sizeof a, "visual.%s", rest);
    snprintf(b, sizeof b, "model.visual.%s", rest);
  } else if (!strcmp(text_or_visual, "lm_head")) {
    snprintf(a, sizeof a, "lm_head.%s", rest);
    snprintf(b, sizeof b, "model.lm_head.%s", rest);
  } else {
    snprintf(a, sizeof a, "model.%s", rest);
    snprintf(b, sizeof b, "model.language_model.%s", rest);
  }
  const hatch_st_tensor *t = hatch_st_checkpoint_find(s->ckpt, a);
  return t ? t : hatch_st_checkpoint_find(s->ckpt, b);
}

/* Where a GGUF tensor's data comes from: the HF tensor and the first element (split qkv). */
static const hatch_st_tensor *map_name(hf_source *s, const char *g, int64_t *elem_offset) {
  *elem_offset = 0;
  char rest[160];
  int l;
  int64_t vd = s->cfg->vision.hidden_size;
  static const struct { const char *gguf, *hf; } text_map[] = {
      {"attn_norm.weight", "input_layernorm.weight"}, {"ffn_norm.weight", "post_attention_layernorm.weight"},
      {"attn_q.weight", "self_attn.q_proj.weight"},   {"attn_q.bias", "self_attn.q_proj.bias"},
      {"attn_k.weight", "self_attn.k_proj.weight"},   {"attn_k.bias", "self_attn.k_proj.bias"},
      {"attn_v.weight", "self_attn.v_proj.weight"},   {"attn_v.bias", "self_attn.v_proj.bias"},
      {"attn_output.weight", "self_attn.o_proj.weight"}, {"ffn_gate.weight", "mlp.gate_proj.weight"},
      {"ffn_up.weight", "mlp.up_proj.weight"},        {"ffn_down.weight", "mlp.down_proj.weight"}};
  static const struct { const char *gguf, *hf; int qkv; } vis_map[] = {
      {"ln1.weight", "norm1.weight", -1},         {"ln2.weight", "norm2.weight", -1},
      {"attn_q.weight", "attn.qkv.weight", 0},    {"attn_k.weight", "attn.qkv.weight", 1},
      {"attn_v.weight", "attn.qkv.weight", 2},    {"attn_q.bias", "attn.qkv.bias", 0},
      {"attn_k.bias", "attn.qkv.bias", 1},        {"attn_v.bias", "attn.qkv.bias", 2},
      {"attn_out.weight", "attn.proj.weight", -1}, {"attn_out.bias", "attn.proj.bias", -1},
      {"ffn_gate.weight", "mlp.gate_proj.weight", -1}, {"ffn_gate.bias", "mlp.gate_proj.bias", -1},
      {"ffn_up.weight", "mlp.up_proj.weight", -1}, {"ffn_up.bias", "mlp.up_proj.bias", -1},
      {"ffn_down.weight", "mlp.down_proj.weight", -1}, {"ffn_down.bias", "mlp.down_proj.bias", -1}};
  int used = 0;
  if (!strcmp(g, "token_embd.weight")) return find(s, "model", "embed_tokens.weight");
  if (!strcmp(g, "output_norm.weight")) return find(s, "model", "norm.weight");
  if (!strcmp(g, "output.weight")) return find(s, "lm_head", "weight");
  if (!strcmp(g, "v.post_ln.weight")) return find(s, "visual", "merger.ln_q.weight");
  if (!strncmp(g, "mm.", 3)) {
    snprintf(rest, sizeof rest, "merger.mlp.%s", g + 3);
    return find(s, "visual", rest);
  }
  if (!strncmp(g, "v.patch_embd.weight", 19)) return find(s, "visual", "patch_embed.proj.weight");
  if (sscanf(g, "v.blk.%d.%n", &l, &used) == 1 && used > 0) {
    for (size_t i = 0; i < sizeof vis_map / sizeof *vis_map; i++)
      if (!strcmp(g + used, vis_map[i].gguf)) {
        snprintf(rest, sizeof rest, "blocks.%d.%s", l, vis_map[i].hf);
        const hatch_st_tensor *t = find(s, "visual", rest);
        if (t && vis_map[i].qkv >= 0) *elem_offset = vis_map[i].qkv * vd * (t->n_dims == 2 ? vd : 1);
        return t;
      }
    return NULL;
  }
  if (sscanf(g, "blk.%d.%n", &l, &used) == 1 && used > 0)
    for (size_t i = 0; i < sizeof text_map / sizeof *text_map; i++)
      if (!strcmp(g + used, text_map[i].gguf)) {
        snprintf(rest, sizeof rest, "layers.%d.%s", l, text_map[i].hf);
        return find(s, "model", rest);
      }
  return NULL;
}

static hatch_status hf_rows(void *user, const hatch_qwen25vl_tensor_spec *spec, int64_t row0, int64_t n_rows,
                            float *out) {
  hf_source *s = user;
  int64_t off = 0;
  const hatch_st_tensor *t = map_name(s, spec->name, &off);
  if (!t) {
    snprintf(s->missing, sizeof s->missing, "%s", spec->name);
    return HATCH_ERR_NOT_FOUND;
  }
  int64_t ne0 = spec->ne[0];
  if (!strncmp(spec->name, "v.patch_embd.weight", 19)) {
    /* GGUF (P, P, C, d) of time slice t; HF Conv3D (d, C, T, P, P). Row = ((o * C) + c) * P + py. */
    int64_t P = spec->ne[0], C = spec->ne[2], T = s->cfg->vision.temporal_patch_size;
    int ts = spec->name[19] == '.' ? 1 : 0;
    if (t->n_elems != spec->ne[3] * C * T * P * P) return HATCH_ERR_SHAPE;
    for (int64_t r = 0; r < n_rows; r++) {
      int64_t row = row0 + r, py = row % P, c = (row / P) % C, o = row / (P * C);
      int64_t src = (((o * C + c) * T + ts) * P + py) * P;
      hatch_status st = hatch_st_tensor_to_f32(t, src, P, out + r * P);
      if (st != HATCH_OK) return st;
    }
    return HATCH_OK;
  }
  int64_t rows_total = spec->ne[1] * spec->ne[2] * spec->ne[3];
  if (off + rows_total * ne0 > t->n_elems) return HATCH_ERR_SHAPE;
  return hatch_st_tensor_to_f32(t, off + row0 * ne0, n_rows * ne0, out);
}

/* tokenizer.ggml.* from the checkpoint's tokenizer.json, padded to the model's vocab. */
typedef struct tok_meta {
  const hatch_tokenizer *tok;
  int64_t vocab;
} tok_meta;

static hatch_status add_tokenizer(void *user, hatch_gguf_writer *w) {
  const tok_meta *tm = user;
  return hatch_gguf_add_tokenizer(w, tm->tok, tm->vocab);
}

hatch_status hatch_gguf_add_tokenizer(hatch_gguf_writer *w, const hatch_tokenizer *tok, int64_t n) {
  int64_t nt = hatch_tokenizer_n_vocab(tok);
  if (nt > n) return HATCH_ERR_SHAPE;
  size_t nm = hatch_tokenizer_n_merges(tok);
  const char **tokens = calloc((size_t)n, sizeof *tokens);
  uint64_t *lens = calloc((size_t)n, sizeof *lens);
  int32_t *types = calloc((size_t)n, sizeof *types);
  char **pads = calloc((size_t)n, sizeof *pads);
  char **merges = calloc(nm ? nm : 1, sizeof *merges);
  hatch_status st = tokens && lens && types && pads && merges ? HATCH_OK : HATCH_ERR_OUT_OF_MEMORY;
  for (int64_t i = 0; i < n && st == HATCH_OK; i++) {
    size_t len = 0;
    if (i < nt && hatch_tokenizer_token_text(tok, (int32_t)i, &tokens[i], &len) == HATCH_OK) {
      lens[i] = len;
      types[i] = hatch_tokenizer_token_type(tok, (int32_t)i);
      continue;
    }
    pads[i] = malloc(32); /* llama.cpp fills unused ids with "[PAD<id>]" */
    if (!pads[i]) {
      st = HATCH_ERR_OUT_OF_MEMORY;
      break;
    }
    snprintf(pads[i], 32, "[PAD%lld]", (long long)(i % 1000000000000ll));
    tokens[i] = pads[i], lens[i] = strlen(pads[i]), types[i] = HATCH_TOKEN_UNUSED;
  }
  for (size_t r = 0; r < nm && st == HATCH_OK; r++) {
    int32_t a, b;
    const char *ta, *tb;
    size_t la, lb;
    st = hatch_tokenizer_merge(tok, r, &a, &b);
    if (st == HATCH_OK) st = hatch_tokenizer_token_text(tok, a, &ta, &la);
    if (st == HATCH_OK) st = hatch_tokenizer_token_text(tok, b, &tb, &lb);
    if (st == HATCH_OK && !(merges[r] = malloc(la + lb + 2))) st = HATCH_ERR_OUT_OF_MEMORY;
    if (st == HATCH_OK) {
      memcpy(merges[r], ta, la);
      merges[r][la] = ' ';
      memcpy(merges[r] + la + 1, tb, lb);
      merges[r][la + lb + 1] = 0;
    }
  }
  if (st == HATCH_OK) st = hatch_gguf_writer_add_str(w, "tokenizer.ggml.model", "gpt2");
  if (st == HATCH_OK) st = hatch_gguf_writer_add_str(w, "tokenizer.ggml.pre", "qwen2");
  if (st == HATCH_OK) st = hatch_gguf_writer_add_arr_str(w, "tokenizer.ggml.tokens", tokens, lens, (uint64_t)n);
  if (st == HATCH_OK) st = hatch_gguf_writer_add_arr(w, "tokenizer.ggml.token_type", HATCH_GGUF_TYPE_INT32, types, (uint64_t)n);
  if (st == HATCH_OK) st = hatch_gguf_writer_add_arr_str(w, "tokenizer.ggml.merges", (const char *const *)merges, NULL, nm);
  int32_t eos = hatch_tokenizer_eos_id(tok), pad = hatch_tokenizer_pad_id(tok);
  if (st == HATCH_OK && eos >= 0) st = hatch_gguf_writer_add_u32(w, "tokenizer.ggml.eos_token_id", (uint32_t)eos);
  if (st == HATCH_OK && pad >= 0) st = hatch_gguf_writer_add_u32(w, "tokenizer.ggml.padding_token_id", (uint32_t)pad);
  if (st == HATCH_OK) st = hatch_gguf_writer_add_bool(w, "tokenizer.ggml.add_bos_token", false);
  for (int64_t i = 0; pads && i < n; i++) free(pads[i]);
  for (size_t r = 0; merges && r < nm; r++) free(merges[r]);
  free(tokens), free(lens), free(types), free(pads), free(merges);
  return st;
}

hatch_status hatch_convert_hf(const char *dir, const char *out_path, hatch_type matrix_type, const char *name,
                              hatch_convert_report *report) {
  hatch_convert_report scratch;
  if (!report) report = &scratch;
  report->message[0] = 0;
  if (!dir || !out_path) return HATCH_ERR_INVALID_ARGUMENT;
  if (matrix_type != HATCH_TYPE_Q8_0 && matrix_type != HATCH_TYPE_F16 && matrix_type != HATCH_TYPE_F32)
    return HATCH_ERR_TYPE;
  hatch_qwen25vl_config cfg;
  hatch_config_report cr;
  hatch_status st = hatch_qwen25vl_config_load_dir(dir, &cfg, &cr);
  if (st != HATCH_OK) {
    snprintf(report->message, sizeof report->message, "%s", cr.message);
    return st;
  }
  hatch_st_checkpoint *ckpt = NULL;
  hatch_st_report sr;
  if ((st = hatch_st_checkpoint_open_dir(dir, &ckpt, &sr)) != HATCH_OK) {
    snprintf(report->message, sizeof report->message, "%.500s", sr.message);
    return st;
  }
  char tok_path[4096];
  snprintf(tok_path, sizeof tok_path, "%s/tokenizer.json", dir);
  hatch_tokenizer *tok = NULL;
  hatch_tokenizer_error te = {""};
  if ((st = hatch_tokenizer_load_json(tok_path, &tok, &te)) != HATCH_OK) {
    snprintf(report->message, sizeof report->message, "%.200s: %.300s", tok_path, te.message);
    hatch_st_checkpoint_close(ckpt);
    return st;
  }
  hf_source src = {.ckpt = ckpt, .cfg = &cfg};
  tok_meta tm = {tok, cfg.text.vocab_size};
  const char *base = strrchr(dir, '/');
  hatch_qwen25vl_write_options opt = {.name = name ? name : (base && base[1] ? base + 1 : dir), .matrix_type = matrix_type,
                                      .add_metadata = add_tokenizer, .metadata_user = &tm};
  hatch_gguf_report gr;
  memset(&gr, 0, sizeof gr);
  st = hatch_qwen25vl_write_gguf(out_path, &cfg, &opt, hf_rows, &src, &gr);
  if (st != HATCH_OK) {
    if (src.missing[0])
      snprintf(report->message, sizeof report->message, "%s: no checkpoint tensor for %s (looked for the "
               "transformers names under model./visual. and model.language_model./model.visual.)", dir, src.missing);
    else
      snprintf(report->message, sizeof report->message, "%s: %s", out_path, gr.message[0] ? gr.message : hatch_status_message(st));
  }
  hatch_tokenizer_destroy(tok);
  hatch_st_checkpoint_close(ckpt);
  return st;
}

/* ---- tokenizer from GGUF ------------------------------------------------------------------------- */

hatch_status hatch_tokenizer_from_gguf(const hatch_gguf *g, hatch_tokenizer **out, hatch_tokenizer_error *err) {
  int64_t kt, km, kty;
  hatch_gguf_type type;
  uint64_t nt, nm, nty;
  if (hatch_gguf_get_arr(g, "tokenizer.ggml.tokens", &kt, &type, &nt) != HATCH_OK || type != HATCH_GGUF_TYPE_STRING) {
    if (err) snprintf(err->message, sizeof err->message, "tokenizer.ggml.tokens: missing (no tokenizer in this file)");
    return HATCH_ERR_NOT_FOUND;
  }
  if (hatch_gguf_get_arr(g, "tokenizer.ggml.merges", &km, &type, &nm) != HATCH_OK || type != HATCH_GGUF_TYPE_STRING) {
    if (err) snprintf(err->message, sizeof err->message, "tokenizer.ggml.merges: missing");
    return HATCH_ERR_CORRUPT;
  }
  const char **tokens = calloc(nt ? nt : 1, sizeof *tokens), **merges = calloc(nm ? nm : 1, sizeof *merges);
  size_t *tl = calloc(nt ? nt : 1, sizeof *tl), *ml = calloc(nm ? nm : 1, sizeof *ml);
  int32_t *types = NULL;
  hatch_status st = tokens && merges && tl && ml ? HATCH_OK : HATCH_ERR_OUT_OF_MEMORY;
  for (uint64_t i = 0; i < nt && st == HATCH_OK; i++) {
    hatch_gguf_str s;
    st = hatch_gguf_arr_str(g, kt, i, &s);
    tokens[i] = s.data, tl[i] = (size_t)s.len;
  }
  for (uint64_t i = 0; i < nm && st == HATCH_OK; i++) {
    hatch_gguf_str s;
    st = hatch_gguf_arr_str(g, km, i, &s);
    merges[i] = s.data, ml[i] = (size_t)s.len;
  }
  if (st == HATCH_OK && hatch_gguf_get_arr(g, "tokenizer.ggml.token_type", &kty, &type, &nty) == HATCH_OK && nty == nt) {
    types = calloc(nt ? nt : 1, sizeof *types);
    for (uint64_t i = 0; types && i < nt && st == HATCH_OK; i++) {
      int64_t v;
      st = hatch_gguf_arr_int(g, kty, i, &v);
      types[i] = (int32_t)v;
    }
    if (!types) st = HATCH_ERR_OUT_OF_MEMORY;
  }
  hatch_gguf_str model = {"gpt2", 4}, pre = {"qwen2", 5};
  hatch_gguf_get_str(g, "tokenizer.ggml.model", &model);
  hatch_gguf_get_str(g, "tokenizer.ggml.pre", &pre);
  char model_s[32], pre_s[32];
  snprintf(model_s, sizeof model_s, "%.*s", (int)(model.len < 31 ? model.len : 31), model.data);
  snprintf(pre_s, sizeof pre_s, "%.*s", (int)(pre.len < 31 ? pre.len : 31), pre.data);
  int64_t eos = -1, pad = -1, bos = -1;
  hatch_gguf_get_int(g, "tokenizer.ggml.eos_token_id", 0, INT32_MAX, &eos);
  hatch_gguf_get_int(g, "tokenizer.ggml.padding_token_id", 0, INT32_MAX, &pad);
  hatch_gguf_get_int(g, "tokenizer.ggml.bos_token_id", 0, INT32_MAX, &bos);
  if (st == HATCH_OK) {
    hatch_tokenizer_arrays a = {.model = model_s, .pre = pre_s, .tokens = tokens, .token_lens = tl, .n_tokens = (size_t)nt,
                                .token_types = types, .merges = merges, .merge_lens = ml, .n_merges = (size_t)nm,
                                .bos_id = (int32_t)bos, .eos_id = (int32_t)eos, .pad_id = (int32_t)pad};
    st = hatch_tokenizer_from_arrays(&a, out, err);
  }
  free(tokens), free(merges), free(tl), free(ml), free(types);
  return st;
}
