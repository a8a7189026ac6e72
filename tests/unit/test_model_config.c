/* Qwen2.5-VL config (runtime/model/hf_config.c, model_config.c): the published 3B config.json
 * against hatch_qwen25vl_config_3b(), both config.json layouts (top-level text fields; text_config +
 * rope_parameters) giving the same model, preprocessor_config.json in both layouts, derived values,
 * and one case per validation rule, each checking the status and that the message names the field.
 * CPU only. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "hatch/model_config.h"

#define FIX HATCH_FIXTURE_DIR "/safetensors"

static char *read_text(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  char *buf = malloc(1 << 16);
  *len = buf ? fread(buf, 1, (1 << 16) - 1, f) : 0;
  if (buf) buf[*len] = '\0';
  fclose(f);
  return buf;
}

static void expect_same_model(hatch_test_ctx *c, const hatch_qwen25vl_config *a, const hatch_qwen25vl_config *b,
                              const char *what) {
  const hatch_qwen25vl_text_config *x = &a->text, *y = &b->text;
  HATCH_EXPECT(c, x->vocab_size == y->vocab_size && x->hidden_size == y->hidden_size &&
                      x->intermediate_size == y->intermediate_size && x->num_hidden_layers == y->num_hidden_layers &&
                      x->num_attention_heads == y->num_attention_heads && x->num_key_value_heads == y->num_key_value_heads,
               "%s: text sizes differ", what);
  HATCH_EXPECT(c, x->rms_norm_eps == y->rms_norm_eps && x->rope_theta == y->rope_theta &&
                      x->max_position_embeddings == y->max_position_embeddings &&
                      x->tie_word_embeddings == y->tie_word_embeddings &&
                      memcmp(x->mrope_section, y->mrope_section, sizeof(x->mrope_section)) == 0,
               "%s: text eps/theta/positions/tie/mrope differ", what);
  HATCH_EXPECT(c, strcmp(x->hidden_act, y->hidden_act) == 0 && strcmp(x->torch_dtype, y->torch_dtype) == 0 &&
                      x->bos_token_id == y->bos_token_id && x->n_eos == y->n_eos && x->eos_token_id[0] == y->eos_token_id[0],
               "%s: text act/dtype/bos/eos differ", what);
  const hatch_qwen25vl_vision_config *v = &a->vision, *w = &b->vision;
  HATCH_EXPECT(c, v->depth == w->depth && v->hidden_size == w->hidden_size && v->intermediate_size == w->intermediate_size &&
                      v->num_heads == w->num_heads && v->in_channels == w->in_channels && v->patch_size == w->patch_size &&
                      v->spatial_merge_size == w->spatial_merge_size && v->temporal_patch_size == w->temporal_patch_size &&
                      v->window_size == w->window_size && v->out_hidden_size == w->out_hidden_size &&
                      v->tokens_per_second == w->tokens_per_second && v->n_fullatt == w->n_fullatt &&
                      memcmp(v->fullatt_block_indexes, w->fullatt_block_indexes, sizeof(int32_t) * (size_t)v->n_fullatt) == 0 &&
                      strcmp(v->hidden_act, w->hidden_act) == 0,
               "%s: vision config differs", what);
  HATCH_EXPECT(c, a->image_token_id == b->image_token_id && a->video_token_id == b->video_token_id &&
                      a->vision_start_token_id == b->vision_start_token_id && a->vision_end_token_id == b->vision_end_token_id,
               "%s: special tokens differ", what);
}

static void test_default_3b(hatch_test_ctx *c) {
  hatch_qwen25vl_config cfg = hatch_qwen25vl_config_3b();
  hatch_config_report rep;
  HATCH_EXPECT_OK(c, hatch_qwen25vl_config_validate(&cfg, "3b", &rep));
  hatch_qwen25vl_derived d;
  HATCH_EXPECT_OK(c, hatch_qwen25vl_config_derive(&cfg, &d));
  HATCH_EXPECT(c, d.head_dim == 128 && d.n_kv_groups == 8 && d.q_dim == 2048 && d.kv_dim == 256, "text derived");
  HATCH_EXPECT(c, d.vision_head_dim == 80 && d.merged_width == 5120 && d.patch_dim == 1176, "vision derived");
  HATCH_EXPECT(c, d.window_patches == 8 && d.window_merged == 4 && d.pixel_multiple == 28, "window derived");
  HATCH_EXPECT(c, d.vision_ffn_padded == 3424 && d.text_ffn_padded == 11008, "padded ffn");
  /* Qwen2.5-VL-3B-Instruct has 3.75e9 parameters (model card; embeddings counted once, tied). */
  HATCH_EXPECT(c, d.n_params > 3.70e9 && d.n_params < 3.80e9, "n_params %lld", (long long)d.n_params);
  for (int l = -1; l <= 32; l++) {
    bool full = l == 7 || l == 15 || l == 23 || l == 31;
    HATCH_EXPECT(c, hatch_qwen25vl_vision_layer_is_full(&cfg, l) == full, "layer %d full=%d", l, full);
  }
  HATCH_EXPECT(c, cfg.preprocess.max_pixels == 12845056 && cfg.preprocess.min_pixels == 3136, "pixel bounds");
  HATCH_EXPECT(c, cfg.preprocess.image_std[2] == 0.27577711f && cfg.preprocess.image_mean[0] == 0.48145466f, "clip");
}

static void test_published_3b(hatch_test_ctx *c) {
  size_t len = 0;
  char *text = read_text(FIX "/qwen25vl_3b_config.json", &len);
  HATCH_EXPECT(c, text != NULL, "fixture");
  if (!text) return;
  hatch_qwen25vl_config cfg, want = hatch_qwen25vl_config_3b();
  hatch_config_report rep;
  HATCH_EXPECT_OK(c, hatch_qwen25vl_config_parse(text, len, "3b/config.json", &cfg, &rep));
  expect_same_model(c, &cfg, &want, "published 3B vs hatch_qwen25vl_config_3b");
  free(text);
  text = read_text(FIX "/qwen25vl_3b_preprocessor_config.json", &len);
  hatch_qwen25vl_preprocess_config pp;
  hatch_qwen25vl_preprocess_defaults(&pp);
  pp.max_pixels = 1; /* the file must set it */
  HATCH_EXPECT_OK(c, hatch_qwen25vl_preprocess_parse(text, len, NULL, &pp, &rep));
  HATCH_EXPECT(c, memcmp(&pp, &want.preprocess, sizeof(pp)) == 0, "published preprocessor vs defaults");
  free(text);
}

static void test_both_layouts(hatch_test_ctx *c) {
  hatch_qwen25vl_config flat, nested;
  hatch_config_report rep;
  HATCH_EXPECT_OK(c, hatch_qwen25vl_config_load_dir(FIX "/tiny", &flat, &rep));
  HATCH_EXPECT_OK(c, hatch_qwen25vl_config_load_dir(FIX "/sharded", &nested, &rep));
  expect_same_model(c, &flat, &nested, "flat vs text_config layout");
  const hatch_qwen25vl_text_config *t = &nested.text;
  HATCH_EXPECT(c, t->vocab_size == 64 && t->hidden_size == 32 && t->num_key_value_heads == 2 && t->tie_word_embeddings &&
                      t->rope_theta == 10000.0 && t->rms_norm_eps == 1e-6 && t->mrope_section[2] == 2 &&
                      t->bos_token_id == 0 && t->n_eos == 1 && t->eos_token_id[0] == 1 &&
                      strcmp(t->torch_dtype, "bfloat16") == 0,
               "nested text values");
  HATCH_EXPECT(c, nested.vision.n_fullatt == 2 && nested.vision.fullatt_block_indexes[1] == 3 &&
                      nested.vision.window_size == 56 && nested.video_token_id == 61,
               "nested vision values");
  HATCH_EXPECT(c, flat.preprocess.max_pixels == 200704 && flat.preprocess.image_mean[1] == 0.4578275f, "flat preprocessor");
  HATCH_EXPECT(c, nested.preprocess.min_pixels == 3136 && nested.preprocess.max_pixels == 401408 &&
                      nested.preprocess.image_std[0] == 0.5f,
               "size-dict preprocessor");
  hatch_qwen25vl_derived d;
  HATCH_EXPECT_OK(c, hatch_qwen25vl_config_derive(&flat, &d));
  HATCH_EXPECT(c, d.head_dim == 8 && d.n_kv_groups == 2 && d.vision_head_dim == 8 && d.merged_width == 64 &&
                      d.window_merged == 2 && d.text_ffn_padded == 64 && d.vision_ffn_padded == 64,
               "small derived");
  HATCH_EXPECT(c, hatch_qwen25vl_vision_layer_is_full(&flat, 1) && !hatch_qwen25vl_vision_layer_is_full(&flat, 2), "full");
}

/* A valid small config, compact so that one field can be replaced by text substitution. */
static const char k_base[] =
    "{\"model_type\":\"qwen2_5_vl\",\"vocab_size\":64,\"hidden_size\":32,\"intermediate_size\":48,"
    "\"num_hidden_layers\":2,\"num_attention_heads\":4,\"num_key_value_heads\":2,\"rms_norm_eps\":1e-06,"
    "\"rope_theta\":10000.0,\"max_position_embeddings\":256,\"tie_word_embeddings\":true,\"hidden_act\":\"silu\","
    "\"bos_token_id\":0,\"eos_token_id\":1,\"rope_scaling\":{\"type\":\"mrope\",\"mrope_section\":[1,1,2]},"
    "\"vision_config\":{\"depth\":4,\"hidden_size\":16,\"intermediate_size\":40,\"num_heads\":2,\"in_chans\":3,"
    "\"out_hidden_size\":32,\"patch_size\":14,\"spatial_merge_size\":2,\"temporal_patch_size\":2,\"window_size\":56,"
    "\"fullatt_block_indexes\":[1,3],\"tokens_per_second\":2,\"hidden_act\":\"silu\"},"
    "\"image_token_id\":60,\"video_token_id\":61,\"vision_start_token_id\":62,\"vision_end_token_id\":63}";

typedef struct mutation {
  const char *find, *repl;
  hatch_status want;
  const char *needle; /* must appear in the message */
} mutation;

static const mutation k_mutations[] = {
    {"", "", HATCH_OK, NULL},
    {"\"num_attention_heads\":4", "\"num_attention_heads\":3", HATCH_ERR_INVALID_ARGUMENT, "multiple of num_attention_heads"},
    {"\"num_key_value_heads\":2", "\"num_key_value_heads\":3", HATCH_ERR_INVALID_ARGUMENT, "num_key_value_heads 3 does not divide"},
    {"\"num_key_value_heads\":2", "\"num_key_value_heads\":8", HATCH_ERR_TOO_LARGE, "num_key_value_heads"},
    {"\"num_key_value_heads\":2,", "", HATCH_OK, NULL}, /* defaults to num_attention_heads */
    {"[1,1,2]", "[1,1,1]", HATCH_ERR_INVALID_ARGUMENT, "mrope_section [1, 1, 1] sums to 3, head_dim / 2 is 4"},
    {"[1,1,2]", "[1,1]", HATCH_ERR_INVALID_ARGUMENT, "rope_scaling.mrope_section"},
    {"[1,1,2]", "[0,2,2]", HATCH_ERR_INVALID_ARGUMENT, "mrope_section[0]"},
    {"\"type\":\"mrope\"", "\"type\":\"yarn\"", HATCH_ERR_UNSUPPORTED, "rope_scaling.type 'yarn'"},
    {"\"type\":\"mrope\"", "\"rope_type\":\"default\",\"mrope_interleaved\":true", HATCH_ERR_UNSUPPORTED, "mrope_interleaved"},
    {"\"rope_scaling\":{\"type\":\"mrope\",\"mrope_section\":[1,1,2]},", "", HATCH_ERR_INVALID_ARGUMENT, "mrope_section is missing"},
    {"\"window_size\":56", "\"window_size\":50", HATCH_ERR_INVALID_ARGUMENT, "vision_config.window_size 50 is not a multiple"},
    {"[1,3]", "[3,1]", HATCH_ERR_INVALID_ARGUMENT, "fullatt_block_indexes is not strictly increasing"},
    {"[1,3]", "[1,4]", HATCH_ERR_INVALID_ARGUMENT, "fullatt_block_indexes[1] = 4 is outside"},
    {"[1,3]", "[]", HATCH_OK, NULL},
    {"[1,3]", "[1,null]", HATCH_ERR_INVALID_ARGUMENT, "fullatt_block_indexes[1]"},
    {"\"depth\":4", "\"depth\":0", HATCH_ERR_INVALID_ARGUMENT, "vision_config.depth is 0"},
    {"\"hidden_size\":16", "\"hidden_size\":12", HATCH_ERR_INVALID_ARGUMENT, "vision head_dim"},
    {"\"num_heads\":2", "\"num_heads\":3", HATCH_ERR_INVALID_ARGUMENT, "vision_config.num_heads 3"},
    {"\"out_hidden_size\":32", "\"out_hidden_size\":64", HATCH_ERR_INVALID_ARGUMENT, "vision_config.out_hidden_size 64 differs"},
    {"\"in_chans\":3", "\"in_chans\":3,\"in_channels\":4", HATCH_ERR_INVALID_ARGUMENT, "in_chans 3 differs"},
    {"\"in_chans\":3", "\"in_channels\":1", HATCH_OK, NULL},
    {"\"in_chans\":3", "\"in_chans\":99", HATCH_ERR_TOO_LARGE, "vision_config.in_channels"},
    {"\"vocab_size\":64", "\"vocab_size\":5000000", HATCH_ERR_TOO_LARGE, "vocab_size is 5000000"},
    {"\"vocab_size\":64", "\"vocab_size\":\"64\"", HATCH_ERR_CORRUPT, "vocab_size is not a number"},
    {"\"vocab_size\":64", "\"vocab_size\":64.5", HATCH_ERR_CORRUPT, "vocab_size is not an integer"},
    {"\"vocab_size\":64", "\"vocab_size\":1e300", HATCH_ERR_CORRUPT, "vocab_size is not an integer"},
    {"\"vocab_size\":64,", "", HATCH_ERR_INVALID_ARGUMENT, "vocab_size is missing"},
    {"\"vocab_size\":64", "\"vocab_size\":null", HATCH_ERR_INVALID_ARGUMENT, "vocab_size is missing"},
    {"\"hidden_size\":32", "\"hidden_size\":1000000000", HATCH_ERR_TOO_LARGE, "hidden_size is 1000000000"},
    {"\"num_hidden_layers\":2", "\"num_hidden_layers\":-2", HATCH_ERR_INVALID_ARGUMENT, "num_hidden_layers is -2"},
    {"\"num_hidden_layers\":2", "\"num_hidden_layers\":4294967296", HATCH_ERR_TOO_LARGE, "num_hidden_layers"},
    {"\"intermediate_size\":48", "\"intermediate_size\":0", HATCH_ERR_INVALID_ARGUMENT, "intermediate_size is 0"},
    {"\"hidden_act\":\"silu\",\"bos", "\"hidden_act\":\"gelu\",\"bos", HATCH_ERR_UNSUPPORTED, "hidden_act 'gelu'"},
    {"\"hidden_act\":\"silu\"}", "\"hidden_act\":\"quick_gelu\"}", HATCH_ERR_UNSUPPORTED, "vision_config.hidden_act"},
    {"\"hidden_act\":\"silu\"}", "\"hidden_act\":\"swish\"}", HATCH_OK, NULL},
    {"\"image_token_id\":60", "\"image_token_id\":64", HATCH_ERR_TOO_LARGE, "image_token_id"},
    {"\"image_token_id\":60,", "", HATCH_ERR_TOO_LARGE, "image_token_id is 151655"},
    {"\"eos_token_id\":1", "\"eos_token_id\":[1,2]", HATCH_OK, NULL},
    {"\"eos_token_id\":1", "\"eos_token_id\":[1,99]", HATCH_ERR_TOO_LARGE, "eos_token_id"},
    {"\"eos_token_id\":1", "\"eos_token_id\":[1,\"x\"]", HATCH_ERR_CORRUPT, "eos_token_id[1]"},
    {"\"bos_token_id\":0", "\"bos_token_id\":null", HATCH_OK, NULL},
    {"\"tie_word_embeddings\":true", "\"tie_word_embeddings\":\"yes\"", HATCH_ERR_CORRUPT, "tie_word_embeddings"},
    {"\"model_type\":\"qwen2_5_vl\"", "\"model_type\":\"qwen2_vl\"", HATCH_ERR_UNSUPPORTED, "model_type 'qwen2_vl'"},
    {"\"rms_norm_eps\":1e-06", "\"rms_norm_eps\":0", HATCH_ERR_INVALID_ARGUMENT, "rms_norm_eps"},
    {"\"rope_theta\":10000.0", "\"rope_theta\":-1", HATCH_ERR_INVALID_ARGUMENT, "rope_theta"},
    {"\"max_position_embeddings\":256", "\"max_position_embeddings\":0", HATCH_ERR_INVALID_ARGUMENT, "max_position_embeddings"},
    {"\"rms_norm_eps\"", "\"head_dim\":16,\"rms_norm_eps\"", HATCH_ERR_UNSUPPORTED, "head_dim 16"},
    {"\"rms_norm_eps\"", "\"head_dim\":8,\"rms_norm_eps\"", HATCH_OK, NULL},
    {"\"rms_norm_eps\"", "\"use_sliding_window\":true,\"rms_norm_eps\"", HATCH_ERR_UNSUPPORTED, "use_sliding_window"},
    {"\"vision_config\":{", "\"vision_config\":7,\"x\":{", HATCH_ERR_CORRUPT, "vision_config is not an object"},
    {"\"vision_config\":{", "\"x\":{", HATCH_ERR_INVALID_ARGUMENT, "vision_config is missing"},
    {"\"model_type\"", "\"text_config\":[],\"model_type\"", HATCH_ERR_CORRUPT, "text_config is not an object"},
    /* text_config wins over top-level fields */
    {"\"model_type\"", "\"text_config\":{\"vocab_size\":32},\"model_type\"", HATCH_ERR_TOO_LARGE, "image_token_id is 60"},
    {"{\"model_type\"", "[{\"model_type\"", HATCH_ERR_CORRUPT, "malformed JSON"},
};

static char *mutate(const char *base, const char *find, const char *repl) {
  const char *at = find[0] ? strstr(base, find) : base;
  if (!at) return NULL;
  size_t n = strlen(base) + strlen(repl) + 1;
  char *out = malloc(n);
  if (!out) return NULL;
  size_t pre = (size_t)(at - base);
  memcpy(out, base, pre);
  strcpy(out + pre, repl);
  strcat(out, at + strlen(find));
  return out;
}

static void test_validation_messages(hatch_test_ctx *c) {
  for (size_t i = 0; i < sizeof(k_mutations) / sizeof(k_mutations[0]); i++) {
    const mutation *m = &k_mutations[i];
    char *json = mutate(k_base, m->find, m->repl);
    HATCH_EXPECT(c, json != NULL, "mutation %zu: '%s' not in the base config", i, m->find);
    if (!json) continue;
    hatch_qwen25vl_config cfg;
    hatch_config_report rep;
    hatch_status st = hatch_qwen25vl_config_parse(json, strlen(json), "t.json", &cfg, &rep);
    HATCH_EXPECT(c, st == m->want, "%s -> %s: got %s, want %s (%s)", m->find, m->repl, hatch_status_name(st),
                 hatch_status_name(m->want), rep.message);
    if (m->want != HATCH_OK) {
      HATCH_EXPECT(c, strncmp(rep.message, "t.json: ", 8) == 0, "message does not name the file: %s", rep.message);
      HATCH_EXPECT(c, strstr(rep.message, m->needle) != NULL, "%s -> %s: message '%s' lacks '%s'", m->find, m->repl,
                   rep.message, m->needle);
    }
    free(json);
  }
  hatch_qwen25vl_config cfg;
  HATCH_EXPECT(c, hatch_qwen25vl_config_parse("", 0, NULL, &cfg, NULL) == HATCH_ERR_CORRUPT, "empty");
  HATCH_EXPECT(c, hatch_qwen25vl_config_parse(NULL, 3, NULL, &cfg, NULL) == HATCH_ERR_INVALID_ARGUMENT, "NULL");
}

static void test_struct_validation(hatch_test_ctx *c) {
  hatch_config_report rep;
  hatch_qwen25vl_config cfg = hatch_qwen25vl_config_3b();
  cfg.text.hidden_size = 32768; /* 256 heads of 128 */
  cfg.text.num_attention_heads = 256;
  cfg.vision.out_hidden_size = 32768;
  cfg.text.num_hidden_layers = 1024;
  cfg.text.intermediate_size = 1 << 18;
  HATCH_EXPECT(c, hatch_qwen25vl_config_validate(&cfg, "big", &rep) == HATCH_ERR_TOO_LARGE && strstr(rep.message, "weights"),
               "parameter budget: %s", rep.message);
  hatch_qwen25vl_derived d;
  HATCH_EXPECT(c, hatch_qwen25vl_config_derive(&cfg, &d) == HATCH_ERR_TOO_LARGE, "derive refuses an invalid config");
  cfg = hatch_qwen25vl_config_3b();
  cfg.preprocess.patch_size = 16;
  HATCH_EXPECT(c, hatch_qwen25vl_config_validate(&cfg, "pp", &rep) == HATCH_ERR_INVALID_ARGUMENT &&
                      strstr(rep.message, "preprocessor patch_size"), "preprocessor vs vision: %s", rep.message);
  cfg = hatch_qwen25vl_config_3b();
  cfg.vision.n_fullatt = 40;
  HATCH_EXPECT(c, hatch_qwen25vl_config_validate(&cfg, "fa", &rep) == HATCH_ERR_TOO_LARGE, "more full layers than depth");
  HATCH_EXPECT(c, hatch_qwen25vl_config_validate(NULL, NULL, &rep) == HATCH_ERR_INVALID_ARGUMENT, "NULL");
  HATCH_EXPECT(c, hatch_qwen25vl_config_derive(&cfg, NULL) == HATCH_ERR_INVALID_ARGUMENT, "NULL out");
  HATCH_EXPECT(c, !hatch_qwen25vl_vision_layer_is_full(NULL, 7), "NULL config");
}

static void test_preprocessor(hatch_test_ctx *c) {
  static const struct {
    const char *json;
    hatch_status want;
    const char *needle;
  } cases[] = {
      {"{}", HATCH_OK, NULL},
      {"{\"min_pixels\": 0}", HATCH_ERR_INVALID_ARGUMENT, "min_pixels is 0"},
      {"{\"min_pixels\": 5000, \"max_pixels\": 4000}", HATCH_ERR_INVALID_ARGUMENT, "max_pixels is 4000"},
      {"{\"max_pixels\": 1e12}", HATCH_ERR_TOO_LARGE, "max_pixels"},
      {"{\"size\": {\"shortest_edge\": 100, \"longest_edge\": 50}}", HATCH_ERR_INVALID_ARGUMENT, "max_pixels is 50"},
      {"{\"size\": {\"shortest_edge\": 1}, \"min_pixels\": 0}", HATCH_ERR_INVALID_ARGUMENT, "min_pixels"},
      {"{\"size\": 3}", HATCH_ERR_CORRUPT, "size is not an object"},
      {"{\"image_std\": [0.5, 0, 0.5]}", HATCH_ERR_INVALID_ARGUMENT, "image_std[1]"},
      {"{\"image_mean\": [0.5, 0.5]}", HATCH_ERR_INVALID_ARGUMENT, "image_mean is not an array of 3"},
      {"{\"image_mean\": [0.5, \"a\", 0.5]}", HATCH_ERR_CORRUPT, "image_mean[1]"},
      {"{\"patch_size\": 0}", HATCH_ERR_INVALID_ARGUMENT, "patch_size"},
      {"{\"merge_size\": 1.5}", HATCH_ERR_CORRUPT, "merge_size is not an integer"},
      {"{\"temporal_patch_size\": 99}", HATCH_ERR_TOO_LARGE, "temporal_patch_size"},
      {"nope", HATCH_ERR_CORRUPT, "malformed"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    hatch_qwen25vl_preprocess_config pp, before;
    hatch_qwen25vl_preprocess_defaults(&pp);
    before = pp;
    hatch_config_report rep;
    hatch_status st = hatch_qwen25vl_preprocess_parse(cases[i].json, strlen(cases[i].json), "p.json", &pp, &rep);
    HATCH_EXPECT(c, st == cases[i].want, "%s: got %s (%s)", cases[i].json, hatch_status_name(st), rep.message);
    if (st != HATCH_OK) {
      HATCH_EXPECT(c, strncmp(rep.message, "p.json: ", 8) == 0 && strstr(rep.message, cases[i].needle),
                   "%s: message '%s' lacks '%s'", cases[i].json, rep.message, cases[i].needle);
      HATCH_EXPECT(c, memcmp(&pp, &before, sizeof(pp)) == 0, "%s: output changed on failure", cases[i].json);
    }
  }
}

static void test_load_dir(hatch_test_ctx *c) {
  hatch_qwen25vl_config cfg;
  hatch_config_report rep;
  HATCH_EXPECT(c, hatch_qwen25vl_config_load_dir("/nonexistent", &cfg, &rep) == HATCH_ERR_NOT_FOUND &&
                      strstr(rep.message, "/nonexistent/config.json"), "missing dir: %s", rep.message);
  /* No preprocessor_config.json: the defaults. */
  char dir[64] = "/tmp/hatch_cfg_XXXXXX", path[128];
  HATCH_EXPECT(c, mkdtemp(dir) != NULL, "mkdtemp");
  snprintf(path, sizeof(path), "%s/config.json", dir);
  FILE *f = fopen(path, "wb");
  if (f) {
    fputs(k_base, f);
    fclose(f);
  }
  HATCH_EXPECT_OK(c, hatch_qwen25vl_config_load_dir(dir, &cfg, &rep));
  HATCH_EXPECT(c, cfg.preprocess.max_pixels == 12845056 && rep.message[0] == '\0', "defaults: %s", rep.message);
  /* A preprocessor that contradicts the vision tower. */
  char ppath[128];
  snprintf(ppath, sizeof(ppath), "%s/preprocessor_config.json", dir);
  f = fopen(ppath, "wb");
  if (f) {
    fputs("{\"merge_size\": 4}", f);
    fclose(f);
  }
  HATCH_EXPECT(c, hatch_qwen25vl_config_load_dir(dir, &cfg, &rep) == HATCH_ERR_INVALID_ARGUMENT &&
                      strstr(rep.message, "merge_size"), "mismatch: %s", rep.message);
  unlink(ppath);
  unlink(path);
  rmdir(dir);
}

int main(int argc, char **argv) {
  const hatch_test_case cases[] = {
      {"default_3b", test_default_3b, false},
      {"published_3b", test_published_3b, false},
      {"both_layouts", test_both_layouts, false},
      {"validation_messages", test_validation_messages, false},
      {"struct_validation", test_struct_validation, false},
      {"preprocessor", test_preprocessor, false},
      {"load_dir", test_load_dir, false},
  };
  return hatch_test_main(argc, argv, cases, (int)(sizeof(cases) / sizeof(cases[0])));
}
