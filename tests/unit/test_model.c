/* The Qwen2.5-VL forward pass (runtime/model) on random weights written through the GGUF writer:
 * Vulkan against the CPU reference (vision tower, prefill logits, greedy tokens), the KV cache
 * (prefill in one go == prefill then decode), Q8_0 weights, positions and window order, and bad
 * files. Agreement with Hugging Face transformers is tests/unit/test_model_reference.c. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "hatch/model.h"
#include "hatch/model_write.h"

static hatch_qwen25vl_config tiny_config(void) {
  hatch_qwen25vl_config c;
  hatch_qwen25vl_config_defaults(&c);
  c.text.vocab_size = 300, c.text.hidden_size = 96, c.text.intermediate_size = 160, c.text.num_hidden_layers = 3;
  c.text.num_attention_heads = 6, c.text.num_key_value_heads = 2, c.text.rms_norm_eps = 1e-6;
  c.text.mrope_section[0] = 2, c.text.mrope_section[1] = 3, c.text.mrope_section[2] = 3;
  c.text.max_position_embeddings = 2048, c.text.tie_word_embeddings = true;
  c.vision.depth = 4, c.vision.hidden_size = 64, c.vision.intermediate_size = 96, c.vision.num_heads = 4;
  c.vision.out_hidden_size = 96, c.vision.window_size = 56, c.vision.n_fullatt = 2;
  c.vision.fullatt_block_indexes[0] = 1, c.vision.fullatt_block_indexes[1] = 3;
  c.image_token_id = 290, c.vision_start_token_id = 291, c.vision_end_token_id = 292, c.video_token_id = 293;
  c.preprocess.max_pixels = 1 << 20;
  return c;
}

static char g_dir[128];

static const char *write_model(hatch_test_ctx *c, const char *name, hatch_qwen25vl_config *cfg, hatch_type mt) {
  static char path[256];
  snprintf(path, sizeof path, "%s/%s", g_dir, name);
  uint64_t seed = 7;
  hatch_qwen25vl_write_options opt = {.name = name, .matrix_type = mt};
  hatch_gguf_report rep;
  memset(&rep, 0, sizeof rep);
  hatch_status st = hatch_qwen25vl_write_gguf(path, cfg, &opt, hatch_qwen25vl_random_rows, &seed, &rep);
  HATCH_EXPECT(c, st == HATCH_OK, "write %s: %s %s", name, hatch_status_name(st), rep.message);
  return path;
}

static hatch_model *load(hatch_test_ctx *c, hatch_backend *be, const char *path) {
  hatch_model *m = NULL;
  hatch_model_report rep = {{0}};
  hatch_model_options opt = {.max_context = 256};
  hatch_status st = hatch_model_load(be, path, NULL, &opt, &m, &rep);
  HATCH_EXPECT(c, st == HATCH_OK, "load %s: %s %s", path, hatch_status_name(st), rep.message);
  return m;
}

/* (h, w, 3) gradient with a block. */
static uint8_t *test_image(int w, int h, int seed) {
  uint8_t *p = malloc((size_t)w * h * 3);
  for (int y = 0; p && y < h; y++)
    for (int x = 0; x < w; x++) {
      uint8_t *q = p + ((size_t)y * w + x) * 3;
      q[0] = (uint8_t)(x * 255 / w), q[1] = (uint8_t)(y * 255 / h), q[2] = (uint8_t)((x / 7 + y / 5 + seed) % 2 ? 220 : 30);
    }
  return p;
}

typedef struct prompt {
  int32_t ids[512];
  int n;
  int gh[4], gw[4], n_images;
} prompt;

/* text, then per image <vision_start> <image_pad> x n <vision_end>, then text. */
static void build_prompt(const hatch_qwen25vl_config *cfg, const int *w, const int *h, int n_images, prompt *p) {
  p->n = 0;
  for (int i = 0; i < 5; i++) p->ids[p->n++] = 10 + i * 7;
  for (int k = 0; k < n_images; k++) {
    p->gh[k] = h[k] / 28, p->gw[k] = w[k] / 28;
    p->ids[p->n++] = cfg->vision_start_token_id;
    for (int i = 0; i < p->gh[k] * p->gw[k]; i++) p->ids[p->n++] = cfg->image_token_id;
    p->ids[p->n++] = cfg->vision_end_token_id;
  }
  for (int i = 0; i < 6; i++) p->ids[p->n++] = 100 + i * 13;
  p->n_images = n_images;
}

/* Runs images + prompt on one model: logits for every prompt token, then `gen` greedy tokens. */
static hatch_status run(hatch_model *m, const prompt *p, uint8_t *const *imgs, const int *w, const int *h, float *logits,
                        int32_t *tokens, int gen) {
  hatch_tensor *emb[4] = {0};
  hatch_status st = HATCH_OK;
  for (int k = 0; k < p->n_images && st == HATCH_OK; k++) st = hatch_model_encode_image(m, imgs[k], w[k], h[k], &emb[k]);
  int32_t pos[3 * 512], next = 0;
  if (st == HATCH_OK) st = hatch_model_rope_positions(m, p->ids, p->n, p->gh, p->gw, p->n_images, pos, &next);
  hatch_model_reset(m);
  if (st == HATCH_OK) st = hatch_model_forward(m, p->ids, p->n, pos, emb, p->n_images, logits, p->n);
  int64_t vocab = hatch_model_config(m)->text.vocab_size;
  const float *last = logits + (size_t)(p->n - 1) * vocab;
  float *step = malloc(sizeof(float) * (size_t)vocab);
  for (int g = 0; g < gen && st == HATCH_OK; g++) {
    int32_t best = 0;
    for (int64_t v = 1; v < vocab; v++)
      if (last[v] > last[best]) best = (int32_t)v;
    tokens[g] = best;
    int32_t pos1[3] = {next, next, next};
    next++;
    st = hatch_model_forward(m, &best, 1, pos1, NULL, 0, step, 1);
    last = step;
  }
  free(step);
  for (int k = 0; k < p->n_images; k++) hatch_tensor_destroy(emb[k]);
  return st;
}

static void parity(hatch_test_ctx *c, const char *file, hatch_type mt, double tol) {
  hatch_qwen25vl_config cfg = tiny_config();
  const char *path = write_model(c, file, &cfg, mt);
  hatch_model *mc = load(c, c->cpu, path), *mv = load(c, c->vk, path);
  if (!mc || !mv) goto out;
  int w[3] = {84, 56, 112}, h[3] = {56, 84, 56};
  uint8_t *imgs[3] = {test_image(w[0], h[0], 0), test_image(w[1], h[1], 1), test_image(w[2], h[2], 2)};
  prompt p;
  build_prompt(&cfg, w, h, 3, &p);
  int64_t vocab = cfg.text.vocab_size;
  float *lc = malloc(sizeof(float) * (size_t)(p.n * vocab)), *lv = malloc(sizeof(float) * (size_t)(p.n * vocab));
  int32_t tc[8], tv[8];
  HATCH_EXPECT_OK(c, run(mc, &p, imgs, w, h, lc, tc, 8));
  HATCH_EXPECT_OK(c, run(mv, &p, imgs, w, h, lv, tv, 8));
  double nmse = hatch_test_nmse(lv, lc, p.n * vocab);
  HATCH_EXPECT(c, nmse < tol, "%s: prefill logits nmse %.3g (tol %.1g) over %d tokens", file, nmse, tol, p.n);
  HATCH_EXPECT(c, !memcmp(tc, tv, sizeof tc), "%s: greedy tokens differ: cpu %d %d %d %d, vk %d %d %d %d", file, tc[0],
               tc[1], tc[2], tc[3], tv[0], tv[1], tv[2], tv[3]);
  printf("  %s: %d prompt tokens (3 images), logits nmse %.2e, tokens %d %d %d %d ...\n", file, p.n, nmse, tc[0], tc[1],
         tc[2], tc[3]);
  /* The KV cache: the last prompt token's logits from prefill(n - 1) + decode(1) equal prefill(n). */
  hatch_tensor *emb[3] = {0};
  for (int k = 0; k < 3; k++) hatch_model_encode_image(mc, imgs[k], w[k], h[k], &emb[k]);
  int32_t pos[3 * 512], next;
  hatch_model_rope_positions(mc, p.ids, p.n, p.gh, p.gw, 3, pos, &next);
  int32_t pos_head[3 * 512], pos_last[3];
  for (int comp = 0; comp < 3; comp++) {
    memcpy(pos_head + comp * (p.n - 1), pos + comp * p.n, sizeof(int32_t) * (size_t)(p.n - 1));
    pos_last[comp] = pos[comp * p.n + p.n - 1];
  }
  hatch_model_reset(mc);
  float *one = malloc(sizeof(float) * (size_t)vocab);
  HATCH_EXPECT_OK(c, hatch_model_forward(mc, p.ids, p.n - 1, pos_head, emb, 3, NULL, 0));
  HATCH_EXPECT_OK(c, hatch_model_forward(mc, p.ids + p.n - 1, 1, pos_last, NULL, 0, one, 1));
  double kv = hatch_test_nmse(one, lc + (size_t)(p.n - 1) * vocab, vocab);
  HATCH_EXPECT(c, kv < 1e-10, "%s: prefill(n-1)+decode(1) vs prefill(n): nmse %.3g", file, kv);
  HATCH_EXPECT(c, hatch_model_n_past(mc) == p.n, "n_past %d", hatch_model_n_past(mc));
  for (int k = 0; k < 3; k++) hatch_tensor_destroy(emb[k]);
  free(one), free(lc), free(lv);
  for (int k = 0; k < 3; k++) free(imgs[k]);
out:
  hatch_model_destroy(mc);
  hatch_model_destroy(mv);
}

static void test_parity_f32(hatch_test_ctx *c) { parity(c, "tiny_f32.gguf", HATCH_TYPE_F32, 1e-8); }
/* Q8_0: Vulkan multiplies int8-quantized activations (32-element blocks, as ggml's q8_1) where the
 * CPU reference uses float activations; each matmul adds ~(1/127)^2 relative error, over 7 layers
 * and the merger measured 4e-4. */
static void test_parity_q8(hatch_test_ctx *c) { parity(c, "tiny_q8.gguf", HATCH_TYPE_Q8_0, 2e-3); }

static void test_positions_and_windows(hatch_test_ctx *c) {
  hatch_qwen25vl_config cfg = tiny_config();
  const char *path = write_model(c, "tiny_pos.gguf", &cfg, HATCH_TYPE_F32);
  hatch_model *m = load(c, c->cpu, path);
  if (!m) return;
  /* text(2) + image 2x3 + text(2): image at t = 2, rows +0..1, cols +0..2; text resumes at 2 + 2 + 1 = 5. */
  int32_t ids[10] = {1, 2, 290, 290, 290, 290, 290, 290, 3, 4}, pos[30], next = 0;
  int gh[1] = {2}, gw[1] = {3};
  HATCH_EXPECT_OK(c, hatch_model_rope_positions(m, ids, 10, gh, gw, 1, pos, &next));
  int32_t want_t[10] = {0, 1, 2, 2, 2, 2, 2, 2, 5, 6}, want_h[10] = {0, 1, 2, 2, 2, 3, 3, 3, 5, 6},
          want_w[10] = {0, 1, 2, 3, 4, 2, 3, 4, 5, 6};
  HATCH_EXPECT(c, !memcmp(pos, want_t, sizeof want_t) && !memcmp(pos + 10, want_h, sizeof want_h) &&
                      !memcmp(pos + 20, want_w, sizeof want_w) && next == 7,
               "M-RoPE positions (next %d)", next);
  HATCH_EXPECT(c, hatch_model_rope_positions(m, ids, 10, gh, gw, 0, pos, &next) == HATCH_ERR_SHAPE, "missing grid");
  int gw2[1] = {2};
  HATCH_EXPECT(c, hatch_model_rope_positions(m, ids, 10, gh, gw2, 1, pos, &next) == HATCH_ERR_SHAPE, "grid too small");
  /* smart_resize rounds like Python (half to even): 70/28 = 2.5 -> 2 and 42/28 = 1.5 -> 2: 56x56;
   * 98x70 -> 3.5 -> 4, 2.5 -> 2: 112x56; a 10x10 image grows to the 56x56 minimum. */
  int ow, oh;
  HATCH_EXPECT(c, hatch_model_image_size(m, 70, 42, &ow, &oh) == HATCH_OK && ow == 56 && oh == 56, "70x42 -> %dx%d", ow, oh);
  HATCH_EXPECT(c, hatch_model_image_size(m, 98, 70, &ow, &oh) == HATCH_OK && ow == 112 && oh == 56, "98x70 -> %dx%d", ow, oh);
  HATCH_EXPECT(c, hatch_model_image_size(m, 10, 10, &ow, &oh) == HATCH_OK && ow == 56 && oh == 56, "10x10 -> %dx%d", ow, oh);
  HATCH_EXPECT(c, hatch_model_image_size(m, 4000, 10, &ow, &oh) == HATCH_ERR_SHAPE, "aspect > 200 refused");
  hatch_model_destroy(m);
}

static void test_bad_files(hatch_test_ctx *c) {
  hatch_model *m = NULL;
  hatch_model_report rep = {{0}};
  HATCH_EXPECT(c, hatch_model_load(c->cpu, "/nonexistent/x.gguf", NULL, NULL, &m, &rep) == HATCH_ERR_NOT_FOUND && !m,
               "missing file: %s", rep.message);
  /* A valid GGUF of another architecture. */
  hatch_gguf_writer *w = NULL;
  hatch_gguf_writer_create(&w);
  hatch_gguf_writer_add_str(w, "general.architecture", "llama");
  char path[256];
  snprintf(path, sizeof path, "%s/llama.gguf", g_dir);
  hatch_gguf_writer_write(w, path, NULL);
  hatch_gguf_writer_destroy(w);
  HATCH_EXPECT(c, hatch_model_load(c->cpu, path, NULL, NULL, &m, &rep) == HATCH_ERR_UNSUPPORTED && strstr(rep.message, "qwen2vl"),
               "other architecture: %s", rep.message);
  /* A model whose keys promise a vision block the file does not have: the key's u32 value, right
   * after "clip.vision.block_count" and its type tag, goes from 2 to 3. */
  hatch_qwen25vl_config cfg = tiny_config();
  cfg.vision.depth = 2, cfg.vision.n_fullatt = 1, cfg.vision.fullatt_block_indexes[0] = 1;
  const char *good = write_model(c, "tiny_small.gguf", &cfg, HATCH_TYPE_F32);
  FILE *pf = fopen(good, "r+b");
  static uint8_t bytes[1 << 16];
  size_t nb = pf ? fread(bytes, 1, sizeof bytes, pf) : 0;
  const char *key = "clip.vision.block_count";
  uint8_t *at = NULL;
  for (size_t i = 0; i + strlen(key) <= nb && !at; i++)
    if (!memcmp(bytes + i, key, strlen(key))) at = bytes + i;
  HATCH_EXPECT(c, at != NULL, "key in the header");
  if (at) {
    uint32_t three = 3;
    fseek(pf, (long)(at - bytes) + (long)strlen(key) + 4, SEEK_SET);
    fwrite(&three, 4, 1, pf);
  }
  if (pf) fclose(pf);
  rep.message[0] = 0;
  HATCH_EXPECT(c, hatch_model_load(c->cpu, good, NULL, NULL, &m, &rep) == HATCH_ERR_NOT_FOUND && !m &&
                      strstr(rep.message, "v.blk.2."),
               "missing tensor named: %s", rep.message);
  good = write_model(c, "tiny_small.gguf", &cfg, HATCH_TYPE_F32);
  /* Truncate the file: the reader refuses it before the model sees it. */
  FILE *f = fopen(good, "r+b");
  if (f) {
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fclose(f);
    HATCH_EXPECT(c, truncate(good, size - 100) == 0, "truncate");
  }
  HATCH_EXPECT(c, hatch_model_load(c->cpu, good, NULL, NULL, &m, &rep) == HATCH_ERR_CORRUPT && !m, "truncated: %s", rep.message);
}

int main(int argc, char **argv) {
  snprintf(g_dir, sizeof g_dir, "/tmp/hatch-model-XXXXXX");
  if (!mkdtemp(g_dir)) return 1;
  static const hatch_test_case cases[] = {
      {"positions_and_windows", test_positions_and_windows, false},
      {"bad_files", test_bad_files, false},
      {"parity_f32", test_parity_f32, true},
      {"parity_q8", test_parity_q8, true},
  };
  int rc = hatch_test_main(argc, argv, cases, (int)(sizeof cases / sizeof *cases));
  char cmd[200];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", g_dir);
  return rc;
}
