/* The Qwen2.5-VL forward pass against Hugging Face transformers (tests/fixtures/qwen25vl, made by
 * tools/gen_qwen25vl_fixtures.py with torch 2.15 / transformers 5.23): two small random checkpoints
 * with different dims (head dim 16 / 32, GQA 3 / 4, windows 56 / 112 px, full-attention layers [1,3] /
 * [0,2], tied / untied, float32 single file / bfloat16 sharded), each converted with hatch_convert_hf,
 * then on the CPU reference and on Vulkan: tokenizer ids of the expanded prompt, image sizes, M-RoPE
 * positions, the merger output per image, prefill logits and the 16 greedy tokens.
 *
 * Tolerance: float32 vs float64 runs of the same model differ by 2.4e-5 (tiny_a) and 7e-6 (tiny_b) in
 * the logits (fixture README); hatch's order of summation differs from torch's, so logits must agree
 * within 1e-3 x max|logit| and the merger output within 1e-3 x max|value|; every greedy token must
 * match (the smallest greedy margins are 0.117 and 0.062, far above these errors). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "hatch/convert.h"
#include "hatch/frame_decode.h"
#include "hatch/frame_files.h"
#include "hatch/model.h"
#include "hatch/ops.h"
#include "hatch/tokenizer.h"

static char g_tmp[128];

static void *load_bin(const char *dir, const char *name, size_t *size) {
  char path[512];
  snprintf(path, sizeof path, "%s/qwen25vl/%s/%s", HATCH_FIXTURE_DIR, dir, name);
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  void *d = malloc(n > 0 ? (size_t)n : 1);
  if (d && fread(d, 1, (size_t)n, f) != (size_t)n) free(d), d = NULL;
  fclose(f);
  *size = (size_t)n;
  return d;
}

static double max_abs(const float *a, size_t n) {
  double m = 0;
  for (size_t i = 0; i < n; i++) m = fmax(m, fabs(a[i]));
  return m;
}

static double max_diff(const float *a, const float *b, size_t n) {
  double m = 0;
  for (size_t i = 0; i < n; i++) m = fmax(m, fabs((double)a[i] - b[i]));
  return isnan(m) ? INFINITY : m;
}

typedef struct fixture {
  const char *dir;
  int32_t *ids;
  size_t n;
  int32_t *grid; /* (n_images, 3) t, h, w in patches */
  int32_t *pos;  /* (3, n) */
  float *merged; /* (n_image_tokens, hidden) */
  float *last8;  /* (8, vocab) */
  int32_t *argmax, *gen;
  float *pmax, *psecond;
  size_t n_merged_floats;
} fixture;

static bool fixture_load(fixture *f, const char *dir) {
  size_t s;
  memset(f, 0, sizeof *f);
  f->dir = dir;
  f->ids = load_bin(dir, "input_ids.bin", &s);
  f->n = s / 4;
  f->grid = load_bin(dir, "image_grid_thw.bin", &s);
  f->pos = load_bin(dir, "position_ids.bin", &s);
  f->merged = load_bin(dir, "vision_merged.bin", &f->n_merged_floats);
  f->n_merged_floats /= 4;
  f->last8 = load_bin(dir, "prefill_logits_last.bin", &s);
  f->argmax = load_bin(dir, "prefill_argmax.bin", &s);
  f->pmax = load_bin(dir, "prefill_max.bin", &s);
  f->psecond = load_bin(dir, "prefill_second.bin", &s);
  f->gen = load_bin(dir, "generated_ids.bin", &s);
  return f->ids && f->grid && f->pos && f->merged && f->last8 && f->argmax && f->pmax && f->psecond && f->gen;
}

static void fixture_free(fixture *f) {
  free(f->ids), free(f->grid), free(f->pos), free(f->merged), free(f->last8), free(f->argmax), free(f->pmax),
      free(f->psecond), free(f->gen);
}

/* PNG -> model size (smart_resize) -> Pillow-exact bicubic on the CPU reference. */
/* forced: use *ow x *oh (the fixture's grid) instead of the model's smart_resize (llama.cpp files do
 * not carry the checkpoint's min/max pixels). */
static uint8_t *prepared_image(hatch_test_ctx *c, hatch_model *m, const char *dir, int k, int *ow, int *oh, bool forced) {
  char name[32];
  snprintf(name, sizeof name, "image%d.png", k);
  size_t size;
  uint8_t *png = load_bin(dir, name, &size), *rgb = NULL, *out = NULL;
  int w = 0, h = 0;
  if (!png || hatch_png_probe(png, size, &w, &h) != HATCH_OK) goto done;
  rgb = malloc((size_t)w * h * 3);
  if (!rgb || hatch_png_decode_rgb(png, size, NULL, rgb, (size_t)w * h * 3, NULL) != HATCH_OK) goto done;
  if (!forced && hatch_model_image_size(m, w, h, ow, oh) != HATCH_OK) goto done;
  int64_t ne_s[3] = {3, w, h}, ne_d[3] = {3, *ow, *oh};
  hatch_tensor *a = hatch_test_tensor(c, c->cpu, HATCH_TYPE_U8, 3, ne_s, rgb);
  hatch_tensor *b = hatch_test_tensor(c, c->cpu, HATCH_TYPE_U8, 3, ne_d, NULL);
  out = malloc((size_t)*ow * *oh * 3);
  if (a && b && out && (hatch_image_resize(c->cpu, b, a) != HATCH_OK || hatch_tensor_read(b, out, (size_t)*ow * *oh * 3) != HATCH_OK))
    free(out), out = NULL;
  hatch_tensor_destroy(a), hatch_tensor_destroy(b);
done:
  free(png), free(rgb);
  return out;
}

static void check_model(hatch_test_ctx *c, hatch_backend *be, const char *gguf, const char *mmproj, fixture *f,
                        const char *what, double tol) {
  hatch_model *m = NULL;
  hatch_model_report rep = {""};
  hatch_status st = hatch_model_load(be, gguf, mmproj, NULL, &m, &rep);
  HATCH_EXPECT(c, st == HATCH_OK, "%s: load: %s", what, rep.message);
  if (!m) return;
  const hatch_qwen25vl_config *cfg = hatch_model_config(m);
  int64_t d = cfg->text.hidden_size, vocab = cfg->text.vocab_size;
  hatch_tensor *emb[3] = {0};
  int gh[3], gw[3];
  size_t merged_off = 0;
  for (int k = 0; k < 3; k++) {
    int ow = f->grid[3 * k + 2] * 14, oh = f->grid[3 * k + 1] * 14;
    uint8_t *img = prepared_image(c, m, f->dir, k, &ow, &oh, mmproj != NULL);
    HATCH_EXPECT(c, img && oh == f->grid[3 * k + 1] * 14 && ow == f->grid[3 * k + 2] * 14,
                 "%s: image %d resized to %dx%d, transformers: %dx%d", what, k, ow, oh, f->grid[3 * k + 2] * 14,
                 f->grid[3 * k + 1] * 14);
    if (!img) continue;
    gh[k] = oh / 28, gw[k] = ow / 28;
    HATCH_EXPECT_OK(c, hatch_model_encode_image(m, img, ow, oh, &emb[k]));
    free(img);
    if (!emb[k]) continue;
    size_t nf = (size_t)(gh[k] * gw[k] * d);
    float *got = hatch_test_read_f32(c, emb[k]);
    if (got && merged_off + nf <= f->n_merged_floats) {
      double diff = max_diff(got, f->merged + merged_off, nf), scale = max_abs(f->merged + merged_off, nf);
      HATCH_EXPECT(c, diff <= tol * scale, "%s: image %d merger output: max diff %.3g (scale %.3g)", what, k, diff, scale);
      printf("  %s image %d (%dx%d): merger output max diff %.2e of %.2f\n", what, k, ow, oh, diff, scale);
    }
    free(got);
    merged_off += nf;
  }
  int32_t *pos = malloc(sizeof(int32_t) * 3 * f->n), next = 0;
  HATCH_EXPECT_OK(c, hatch_model_rope_positions(m, f->ids, (int)f->n, gh, gw, 3, pos, &next));
  HATCH_EXPECT(c, !memcmp(pos, f->pos, sizeof(int32_t) * 3 * f->n), "%s: M-RoPE positions equal get_rope_index", what);
  float *logits = malloc(sizeof(float) * (size_t)(f->n * vocab));
  hatch_model_reset(m);
  HATCH_EXPECT_OK(c, hatch_model_forward(m, f->ids, (int)f->n, pos, emb, 3, logits, (int)f->n));
  const float *last = logits + (f->n - 8) * (size_t)vocab;
  double diff = max_diff(last, f->last8, (size_t)(8 * vocab)), scale = max_abs(f->last8, (size_t)(8 * vocab));
  HATCH_EXPECT(c, diff <= tol * scale, "%s: last 8 prefill logits: max diff %.3g (scale %.3g)", what, diff, scale);
  int bad_argmax = 0;
  for (size_t i = 0; i < f->n; i++) {
    const float *row = logits + i * (size_t)vocab;
    int32_t best = 0;
    for (int64_t v = 1; v < vocab; v++)
      if (row[v] > row[best]) best = (int32_t)v;
    if (best != f->argmax[i] && f->pmax[i] - f->psecond[i] > 2 * tol * scale) bad_argmax++;
  }
  HATCH_EXPECT(c, bad_argmax == 0, "%s: %d prompt positions with a different argmax", what, bad_argmax);
  /* Greedy: 16 tokens. */
  int32_t tokens[16];
  float *step = malloc(sizeof(float) * (size_t)vocab);
  const float *cur = logits + (f->n - 1) * (size_t)vocab;
  for (int g = 0; g < 16; g++) {
    int32_t best = 0;
    for (int64_t v = 1; v < vocab; v++)
      if (cur[v] > cur[best]) best = (int32_t)v;
    tokens[g] = best;
    int32_t p3[3] = {next + g, next + g, next + g};
    if (hatch_model_forward(m, &best, 1, p3, NULL, 0, step, 1) != HATCH_OK) break;
    cur = step;
  }
  HATCH_EXPECT(c, !memcmp(tokens, f->gen, sizeof tokens), "%s: greedy tokens %d %d %d %d ... vs transformers %d %d %d %d ...",
               what, tokens[0], tokens[1], tokens[2], tokens[3], f->gen[0], f->gen[1], f->gen[2], f->gen[3]);
  printf("  %s: %zu prompt tokens, last-8 logits max diff %.2e of %.1f, 16 greedy tokens %s\n", what, f->n, diff, scale,
         memcmp(tokens, f->gen, sizeof tokens) ? "DIFFER" : "equal");
  free(step), free(logits), free(pos);
  for (int k = 0; k < 3; k++) hatch_tensor_destroy(emb[k]);
  hatch_model_destroy(m);
}

static void run_fixture(hatch_test_ctx *c, const char *dir, bool vulkan) {
  fixture f;
  if (!fixture_load(&f, dir)) {
    HATCH_EXPECT(c, false, "fixture %s incomplete", dir);
    fixture_free(&f);
    return;
  }
  char src[512], gguf[256];
  snprintf(src, sizeof src, "%s/qwen25vl/%s", HATCH_FIXTURE_DIR, dir);
  snprintf(gguf, sizeof gguf, "%s/%s.gguf", g_tmp, dir);
  hatch_convert_report rep = {""};
  if (access(gguf, R_OK) != 0) {
    hatch_status st = hatch_convert_hf(src, gguf, HATCH_TYPE_F32, dir, &rep);
    HATCH_EXPECT(c, st == HATCH_OK, "convert %s: %s", dir, rep.message);
  }
  /* The tokenizer gives the processor's ids for the expanded prompt. */
  char tok_path[600];
  snprintf(tok_path, sizeof tok_path, "%s/tokenizer.json", src);
  hatch_tokenizer *tok = NULL;
  size_t plen;
  char *prompt = load_bin(dir, "prompt_expanded.txt", &plen);
  if (hatch_tokenizer_load_json(tok_path, &tok, NULL) == HATCH_OK && prompt) {
    int32_t *ids = NULL;
    size_t n = 0;
    HATCH_EXPECT_OK(c, hatch_tokenizer_encode(tok, prompt, plen, true, &ids, &n));
    HATCH_EXPECT(c, n == f.n && ids && !memcmp(ids, f.ids, sizeof(int32_t) * n), "%s: tokenizer ids of the prompt", dir);
    free(ids);
  }
  free(prompt);
  hatch_tokenizer_destroy(tok);
  char what[64];
  snprintf(what, sizeof what, "%s %s", dir, vulkan ? "vulkan" : "cpu");
  check_model(c, vulkan ? c->vk : c->cpu, gguf, NULL, &f, what, 1e-3);
  fixture_free(&f);
}

static void test_tiny_a_cpu(hatch_test_ctx *c) { run_fixture(c, "tiny_a", false); }

/* llama.cpp's layout, written by the gguf package (tools/gen_llamacpp_gguf_fixture.py): text GGUF +
 * mmproj GGUF, F16 matrices (as llama.cpp's converter stores them), n_wa_pattern. F16 weights move the
 * logits by ~1e-3 relative; tolerance 1e-2 x max|logit|; greedy tokens must still match (margins >= 0.117). */
static void llamacpp_pair(hatch_test_ctx *c, hatch_backend *be, const char *what) {
  fixture f;
  if (!fixture_load(&f, "tiny_a")) {
    HATCH_EXPECT(c, false, "fixture tiny_a incomplete");
    fixture_free(&f);
    return;
  }
  char text[512], mmproj[512];
  snprintf(text, sizeof text, "%s/qwen25vl/tiny_a_llamacpp/text.gguf", HATCH_FIXTURE_DIR);
  snprintf(mmproj, sizeof mmproj, "%s/qwen25vl/tiny_a_llamacpp/mmproj.gguf", HATCH_FIXTURE_DIR);
  check_model(c, be, text, mmproj, &f, what, 1e-2);
  fixture_free(&f);
}
/* hatch convert's default: Q8_0 matrices. On these random weights int8 moves the merger output by
 * 1.4% and the logits by 1.6% of their range (measured); tolerance 2e-2 x max|value|; all 16 greedy
 * tokens must still match (margins >= 0.117). */
static void test_tiny_a_q8_cpu(hatch_test_ctx *c) {
  fixture f;
  if (!fixture_load(&f, "tiny_a")) {
    HATCH_EXPECT(c, false, "fixture tiny_a incomplete");
    fixture_free(&f);
    return;
  }
  char src[512], gguf[256];
  snprintf(src, sizeof src, "%s/qwen25vl/tiny_a", HATCH_FIXTURE_DIR);
  snprintf(gguf, sizeof gguf, "%s/tiny_a_q8.gguf", g_tmp);
  hatch_convert_report rep = {""};
  HATCH_EXPECT(c, hatch_convert_hf(src, gguf, HATCH_TYPE_Q8_0, "tiny_a q8", &rep) == HATCH_OK, "convert: %s", rep.message);
  check_model(c, c->cpu, gguf, NULL, &f, "tiny_a q8_0 cpu", 2e-2);
  fixture_free(&f);
}

static void test_llamacpp_pair_cpu(hatch_test_ctx *c) { llamacpp_pair(c, c->cpu, "tiny_a llama.cpp pair cpu"); }
static void test_llamacpp_pair_vulkan(hatch_test_ctx *c) { llamacpp_pair(c, c->vk, "tiny_a llama.cpp pair vulkan"); }
static void test_tiny_b_cpu(hatch_test_ctx *c) { run_fixture(c, "tiny_b", false); }
static void test_tiny_a_vulkan(hatch_test_ctx *c) { run_fixture(c, "tiny_a", true); }
static void test_tiny_b_vulkan(hatch_test_ctx *c) { run_fixture(c, "tiny_b", true); }

int main(int argc, char **argv) {
  snprintf(g_tmp, sizeof g_tmp, "/tmp/hatch-ref-XXXXXX");
  if (!mkdtemp(g_tmp)) return 1;
  static const hatch_test_case cases[] = {
      {"tiny_a_cpu", test_tiny_a_cpu, false},
      {"tiny_b_cpu", test_tiny_b_cpu, false},
      {"tiny_a_vulkan", test_tiny_a_vulkan, true},
      {"tiny_b_vulkan", test_tiny_b_vulkan, true},
      {"llamacpp_pair_cpu", test_llamacpp_pair_cpu, false},
      {"tiny_a_q8_cpu", test_tiny_a_q8_cpu, false},
      {"llamacpp_pair_vulkan", test_llamacpp_pair_vulkan, true},
  };
  int rc = hatch_test_main(argc, argv, cases, (int)(sizeof cases / sizeof *cases));
  char cmd[200];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_tmp);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", g_tmp);
  return rc;
}
