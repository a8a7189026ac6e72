/* Shared by the trainer tests (tests/train/test_*.c): a tiny model config and test images for the
 * model tests, the tiny training run's options and its checkpointed weights for the run tests. Header
 * only (static inline): each test program takes what it uses. */
#ifndef HATCH_TRAIN_TEST_UTIL_H
#define HATCH_TRAIN_TEST_UTIL_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "hatch/model_config.h"
#include "hatch/train_checkpoint.h"
#include "hatch/trainer.h"

#define TRAIN_TEST_TOKENIZER HATCH_FIXTURE_DIR "/train_tokenizer/tokenizer.json"

/* A two-layer model with GQA, two vision blocks (one full-attention), odd sizes. */
static inline hatch_qwen25vl_config train_test_tiny_config(void) {
  hatch_qwen25vl_config c;
  hatch_qwen25vl_config_defaults(&c);
  c.text.vocab_size = 97, c.text.hidden_size = 48, c.text.intermediate_size = 40, c.text.num_hidden_layers = 2;
  c.text.num_attention_heads = 6, c.text.num_key_value_heads = 2, c.text.rms_norm_eps = 1e-6;
  c.text.mrope_section[0] = 1, c.text.mrope_section[1] = 2, c.text.mrope_section[2] = 1;
  c.text.max_position_embeddings = 512, c.text.tie_word_embeddings = true;
  c.vision.depth = 2, c.vision.hidden_size = 32, c.vision.intermediate_size = 24, c.vision.num_heads = 2;
  c.vision.out_hidden_size = 48, c.vision.window_size = 56, c.vision.n_fullatt = 1;
  c.vision.fullatt_block_indexes[0] = 1;
  c.image_token_id = 90, c.vision_start_token_id = 91, c.vision_end_token_id = 92, c.video_token_id = 93;
  c.preprocess.max_pixels = 1 << 20;
  return c;
}

/* (h, w, 3) gradient with a checker; caller frees. */
static inline uint8_t *train_test_image(int w, int h, int seed) {
  uint8_t *p = malloc((size_t)w * h * 3);
  for (int y = 0; p && y < h; y++)
    for (int x = 0; x < w; x++) {
      uint8_t *q = p + ((size_t)y * w + x) * 3;
      q[0] = (uint8_t)(x * 255 / w), q[1] = (uint8_t)(y * 255 / h), q[2] = (uint8_t)((x / 7 + y / 5 + seed) % 2 ? 220 : 30);
    }
  return p;
}

/* The model tests' sample: text, <vision_start> image 0 <vision_end>, text, <vision_start> image 1
 * <vision_end>, text; targets on the text tokens with varied weights. Images: px[k] of
 * TRAIN_TEST_SAMPLE_W[k] x TRAIN_TEST_SAMPLE_H[k] (merged grids 3x2, 3 windows, and 2x4, 2 windows). */
static const int TRAIN_TEST_SAMPLE_W[2] = {56, 112}, TRAIN_TEST_SAMPLE_H[2] = {84, 56};

typedef struct train_test_sample {
  int32_t ids[96], targets[96];
  float w[96];
  int n;
  hatch_train_image img[2];
} train_test_sample;

static inline void train_test_build_sample(const hatch_qwen25vl_config *cfg, uint8_t *const px[2], train_test_sample *s) {
  const int *w = TRAIN_TEST_SAMPLE_W, *h = TRAIN_TEST_SAMPLE_H;
  s->n = 0;
  for (int k = 0; k < 2; k++) {
    for (int i = 0; i < 3; i++) s->ids[s->n++] = 5 + (k * 11 + i * 7) % 80;
    s->ids[s->n++] = cfg->vision_start_token_id;
    for (int i = 0; i < (h[k] / 28) * (w[k] / 28); i++) s->ids[s->n++] = cfg->image_token_id;
    s->ids[s->n++] = cfg->vision_end_token_id;
    s->img[k] = (hatch_train_image){px[k], w[k], h[k]};
  }
  for (int i = 0; i < 5; i++) s->ids[s->n++] = 20 + i * 9;
  for (int t = 0; t < s->n; t++) {
    bool in_image = s->ids[t] == cfg->image_token_id || (t + 1 < s->n && s->ids[t + 1] == cfg->image_token_id);
    s->targets[t] = t + 1 < s->n && !in_image ? s->ids[t + 1] : -1;
    s->w[t] = s->targets[t] >= 0 ? 0.5f + 0.1f * (float)(t % 7) : 0.0f;
  }
}

/* The tiny run: every stage, 2 steps each, batch 2, 112x112 views. */
static inline void train_test_tiny_options(hatch_trainer_options *o, const char *out) {
  hatch_trainer_options_default(o);
  o->out_dir = out;
  o->tokenizer_path = TRAIN_TEST_TOKENIZER;
  o->preset = "tiny";
  o->seed = 3;
  o->batch = 2;
  o->image_size = 56 * 2;
  o->grpo_group = 2;
  o->grpo_max_tokens = 12;
  o->warmup_steps = 1;
  o->quiet = true;
  char why[256];
  hatch_trainer_parse_stages("pasta:2,qa:2,actor:2,grpo:2", o, why);
}

/* The weights in DIR/checkpoint.bin (malloc'd, *n floats), NULL when unreadable. */
static inline float *train_test_checkpoint_params(hatch_test_ctx *c, const char *dir, int64_t *n) {
  char path[1100];
  snprintf(path, sizeof path, "%.1000s/checkpoint.bin", dir);
  hatch_ckpt *ck = NULL;
  hatch_ckpt_report rep;
  HATCH_EXPECT_OK(c, hatch_ckpt_open(path, &ck, &rep));
  const hatch_ckpt_section *s = ck ? hatch_ckpt_find(ck, "params") : NULL;
  float *p = NULL;
  if (s && (p = malloc(s->size))) {
    *n = (int64_t)(s->size / 4);
    memcpy(p, s->data, s->size);
  }
  hatch_ckpt_close(ck);
  return p;
}

/* DIR/metrics.jsonl: per training step (1..16) the value of key, NAN where absent (eval lines skipped);
 * returns the number of training steps logged. */
static inline int read_metric(const char *dir, const char *key, double out[17]) {
  char path[512], line[4096], pat[64];
  snprintf(path, sizeof path, "%s/metrics.jsonl", dir);
  snprintf(pat, sizeof pat, "\"%s\":", key);
  for (int i = 0; i < 17; i++) out[i] = NAN;
  FILE *f = fopen(path, "r");
  int steps = 0;
  while (f && fgets(line, sizeof line, f)) {
    int step = 0;
    const char *p = strstr(line, pat);
    if (strstr(line, "\"eval\"") || sscanf(line, "{\"step\":%d", &step) != 1 || step < 1 || step > 16) continue;
    steps++;
    if (p) out[step] = atof(p + strlen(pat));
  }
  if (f) fclose(f);
  return steps;
}

#endif
