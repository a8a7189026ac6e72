/* The trainer's whole model (train/model) on a tiny Qwen2.5-VL (GQA, tied embeddings, one window and
 * one full-attention vision block, two images of different sizes):
 * (a) gradients of L = sum_t w_t logp_t against central differences on 30 random parameters
 *     (fp32 model, eps 1e-2 on weights of scale ~0.3, |fd - an| <= 2e-2 |an| + 2e-4),
 * (b) logits equal the runtime's (hatch_model_load on the CPU backend of the F32 GGUF the trainer
 *     saved: normalized error sum (a-b)^2 / sum b^2 < 1e-10), and the vision features equal
 *     hatch_model_encode_image's,
 * (c) save -> load is bitwise, a second save is byte-identical,
 * (d) gradients are bitwise the same with 1 and 3 threads, errors name the tensor.
 * Prints the forward+backward time per sample and GFLOP/s. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "train/train_test_util.h"
#include "hatch/model.h"
#include "hatch/model_write.h"
#include "hatch/train_model.h"

static char g_dir[128];

static hatch_train_model *make_model(hatch_test_ctx *c, const hatch_qwen25vl_config *cfg, int threads) {
  hatch_train_limits lim = {.max_images = 2, .max_image_pixels = 112 * 84, .max_tokens = 96};
  hatch_train_model *m = NULL;
  hatch_train_report rep = {{0}};
  hatch_status st = hatch_train_model_create(cfg, &lim, threads, &m, &rep);
  HATCH_EXPECT(c, st == HATCH_OK, "create: %s %s", hatch_status_name(st), rep.message);
  if (!m) return NULL;
  /* O(1) activations (the runtime's random weights: matrices ~ 1/sqrt(fan-in)) so gradients are
   * large enough for finite differences in fp32. */
  uint64_t seed = 11;
  float *p = hatch_train_model_params(m);
  for (int i = 0; i < hatch_train_model_n_tensors(m); i++) {
    const hatch_train_tensor *t = hatch_train_model_tensor(m, i);
    hatch_qwen25vl_tensor_spec spec = {.n_dims = t->n_dims, .matrix = t->matrix};
    snprintf(spec.name, sizeof spec.name, "%s", t->name);
    memcpy(spec.ne, t->ne, sizeof spec.ne);
    hatch_qwen25vl_random_rows(&seed, &spec, 0, t->count / t->ne[0], p + t->offset);
  }
  return m;
}

static double weighted_logp(hatch_train_model *m, const train_test_sample *s, hatch_status *st) {
  float logp[128];
  *st = hatch_train_forward(m, s->ids, s->n, s->img, 2, s->targets, logp);
  double sum = 0;
  for (int t = 0; t < s->n; t++) sum += (double)s->w[t] * logp[t];
  return sum;
}

static uint8_t *g_px[2];

static void test_gradients(hatch_test_ctx *c) {
  hatch_qwen25vl_config cfg = train_test_tiny_config();
  hatch_train_model *m = make_model(c, &cfg, 0);
  if (!m) return;
  train_test_sample s;
  train_test_build_sample(&cfg, g_px, &s);
  hatch_status st;
  hatch_train_model_zero_grads(m);
  weighted_logp(m, &s, &st);
  HATCH_EXPECT_OK(c, st);
  HATCH_EXPECT_OK(c, hatch_train_backward(m, s.w));
  float *p = hatch_train_model_params(m), *g = hatch_train_model_grads(m);
  uint64_t rng = 12345;
  int checked = 0, bad = 0, n_tensors = hatch_train_model_n_tensors(m);
  double worst = 0;
  /* 30 parameters: a random element of a random tensor (token_embd: a row the sample uses), and
   * every tensor kind is likely hit over the draws. */
  for (int k = 0; k < 30; k++) {
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    const hatch_train_tensor *t = hatch_train_model_tensor(m, (int)((rng >> 33) % (uint64_t)n_tensors));
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    int64_t e = (int64_t)((rng >> 20) % (uint64_t)t->count);
    if (!strcmp(t->name, "token_embd.weight")) e = (int64_t)s.ids[(rng >> 40) % (uint64_t)s.n] * t->ne[0] + e % t->ne[0];
    if (!strcmp(t->name, "token_embd.weight") && s.ids[e / t->ne[0]] == cfg.image_token_id) e = 20 * t->ne[0];
    float *x = p + t->offset + e, save = *x;
    const float eps = 1e-2f;
    *x = save + eps;
    double lp = weighted_logp(m, &s, &st);
    *x = save - eps;
    double lm = weighted_logp(m, &s, &st);
    *x = save;
    double fd = (lp - lm) / (2.0 * (double)eps), an = g[t->offset + e];
    double err = fabs(fd - an) / (fabs(an) + 1e-2);
    if (err > worst) worst = err;
    if (fabs(fd - an) > 2e-2 * fabs(an) + 2e-4) {
      bad++;
      fprintf(stderr, "    %s[%lld]: analytic %.6g, finite difference %.6g\n", t->name, (long long)e, an, fd);
    }
    checked++;
  }
  HATCH_EXPECT(c, bad == 0, "%d of %d gradients disagree with finite differences", bad, checked);
  printf("    %d parameters checked, worst |fd - an| / (|an| + 1e-2) = %.3g\n", checked, worst);
  hatch_train_model_destroy(m);
}

static void test_threads_deterministic(hatch_test_ctx *c) {
  hatch_qwen25vl_config cfg = train_test_tiny_config();
  hatch_train_model *m1 = make_model(c, &cfg, 1), *m3 = make_model(c, &cfg, 3);
  if (!m1 || !m3) goto done;
  train_test_sample s;
  train_test_build_sample(&cfg, g_px, &s);
  float l1 = 0, l3 = 0;
  hatch_train_model_zero_grads(m1);
  hatch_train_model_zero_grads(m3);
  HATCH_EXPECT_OK(c, hatch_train_mean_ce(m1, s.ids, s.n, s.img, 2, s.targets, true, &l1, NULL));
  HATCH_EXPECT_OK(c, hatch_train_mean_ce(m3, s.ids, s.n, s.img, 2, s.targets, true, &l3, NULL));
  HATCH_EXPECT(c, l1 == l3 && l1 > 0, "loss %g (1 thread) vs %g (3 threads)", l1, l3);
  HATCH_EXPECT(c, !memcmp(hatch_train_model_grads(m1), hatch_train_model_grads(m3),
                          sizeof(float) * (size_t)hatch_train_model_n_params(m1)),
               "gradients differ between 1 and 3 threads");
done:
  hatch_train_model_destroy(m1);
  hatch_train_model_destroy(m3);
}

static void test_runtime_parity(hatch_test_ctx *c) {
  hatch_qwen25vl_config cfg = train_test_tiny_config();
  hatch_train_model *m = make_model(c, &cfg, 0);
  if (!m) return;
  char path[256];
  snprintf(path, sizeof path, "%s/parity.gguf", g_dir);
  hatch_qwen25vl_write_options opt = {.name = "tiny", .matrix_type = HATCH_TYPE_F32};
  hatch_train_report rep = {{0}};
  hatch_status st = hatch_train_model_save_gguf(m, path, &opt, &rep);
  HATCH_EXPECT(c, st == HATCH_OK, "save: %s", rep.message);
  train_test_sample s;
  train_test_build_sample(&cfg, g_px, &s);
  HATCH_EXPECT_OK(c, hatch_train_forward(m, s.ids, s.n, s.img, 2, NULL, NULL));
  int n = 0;
  int64_t vocab = 0;
  const float *mine = hatch_train_logits(m, &n, &vocab);
  hatch_model *rm = NULL;
  hatch_model_report mr = {{0}};
  hatch_model_options mo = {.max_context = 128, .kv_f32 = true};
  st = hatch_model_load(c->cpu, path, NULL, &mo, &rm, &mr);
  HATCH_EXPECT(c, st == HATCH_OK, "runtime load: %s", mr.message);
  hatch_tensor *emb[2] = {0};
  float *theirs = calloc((size_t)(n * vocab), sizeof(float));
  int gh[2], gw[2];
  int32_t pos[3 * 128];
  for (int k = 0; k < 2 && st == HATCH_OK; k++) {
    gh[k] = TRAIN_TEST_SAMPLE_H[k] / 28, gw[k] = TRAIN_TEST_SAMPLE_W[k] / 28;
    st = hatch_model_encode_image(rm, g_px[k], TRAIN_TEST_SAMPLE_W[k], TRAIN_TEST_SAMPLE_H[k], &emb[k]);
    HATCH_EXPECT_OK(c, st);
    int64_t row0 = 0, rows = 0;
    HATCH_EXPECT_OK(c, hatch_train_vision_image_rows(m, k, &row0, &rows));
    float *feat = st == HATCH_OK ? hatch_test_read_f32(c, emb[k]) : NULL;
    const float *f = hatch_train_vision_features(m, NULL);
    if (feat && mine) {
      double e = hatch_test_nmse(f + row0 * cfg.text.hidden_size, feat, rows * cfg.text.hidden_size);
      HATCH_EXPECT(c, rows == gh[k] * gw[k] && e < 1e-10, "image %d features: nmse %.3g", k, e);
    }
    free(feat);
  }
  if (st == HATCH_OK) st = hatch_model_rope_positions(rm, s.ids, s.n, gh, gw, 2, pos, NULL);
  if (st == HATCH_OK) st = hatch_model_forward(rm, s.ids, s.n, pos, emb, 2, theirs, s.n);
  HATCH_EXPECT_OK(c, st);
  if (st == HATCH_OK && mine) {
    double e = hatch_test_nmse(mine, theirs, (int64_t)n * vocab);
    printf("    logits (%d, %lld): nmse vs runtime %.3g\n", n, (long long)vocab, e);
    HATCH_EXPECT(c, n == s.n && e < 1e-10, "logits nmse vs runtime %.3g", e);
  }
  for (int k = 0; k < 2; k++) hatch_tensor_destroy(emb[k]);
  free(theirs);
  hatch_model_destroy(rm);
  /* A Q8_0 export loads in the runtime and back into the trainer (dequantized). */
  snprintf(path, sizeof path, "%s/q8.gguf", g_dir);
  opt.matrix_type = HATCH_TYPE_Q8_0;
  HATCH_EXPECT_OK(c, hatch_train_model_save_gguf(m, path, &opt, &rep));
  HATCH_EXPECT_OK(c, hatch_model_load(c->cpu, path, NULL, &mo, &rm, &mr));
  hatch_model_destroy(rm);
  HATCH_EXPECT_OK(c, hatch_train_model_load_gguf(m, path, &rep));
  hatch_train_model_destroy(m);
}

static uint8_t *slurp(const char *path, long *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  *len = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *b = malloc((size_t)*len);
  if (b && fread(b, 1, (size_t)*len, f) != (size_t)*len) free(b), b = NULL;
  fclose(f);
  return b;
}

static void test_round_trip(hatch_test_ctx *c) {
  hatch_qwen25vl_config cfg = train_test_tiny_config();
  cfg.text.tie_word_embeddings = false; /* output.weight too */
  hatch_train_model *m = make_model(c, &cfg, 0), *back = NULL;
  if (!m) return;
  hatch_train_model_init_random(m, 3);
  char a[256], b[256];
  snprintf(a, sizeof a, "%s/a.gguf", g_dir);
  snprintf(b, sizeof b, "%s/b.gguf", g_dir);
  hatch_qwen25vl_write_options opt = {.name = "rt", .matrix_type = HATCH_TYPE_F32};
  hatch_train_report rep = {{0}};
  HATCH_EXPECT_OK(c, hatch_train_model_save_gguf(m, a, &opt, &rep));
  hatch_train_limits lim = *hatch_train_model_limits(m);
  hatch_status st = hatch_train_model_open(a, &lim, 2, &back, &rep);
  HATCH_EXPECT(c, st == HATCH_OK, "open: %s", rep.message);
  if (back) {
    HATCH_EXPECT(c, hatch_train_model_n_params(back) == hatch_train_model_n_params(m) &&
                        !memcmp(hatch_train_model_params(back), hatch_train_model_params(m),
                                sizeof(float) * (size_t)hatch_train_model_n_params(m)),
                 "params differ after save/load");
    const hatch_qwen25vl_config *bc = hatch_train_model_config(back);
    HATCH_EXPECT(c, !bc->text.tie_word_embeddings && bc->image_token_id == cfg.image_token_id &&
                        bc->vision.n_fullatt == 1 && bc->text.mrope_section[1] == 2,
                 "config differs after save/load");
    HATCH_EXPECT_OK(c, hatch_train_model_save_gguf(back, b, &opt, &rep));
    long la = 0, lb = 0;
    uint8_t *fa = slurp(a, &la), *fb = slurp(b, &lb);
    HATCH_EXPECT(c, fa && fb && la == lb && !memcmp(fa, fb, (size_t)la), "second save is not byte-identical");
    free(fa), free(fb);
  }
  /* Loading into a model of another config names the tensor. */
  hatch_qwen25vl_config other = train_test_tiny_config();
  other.text.intermediate_size = 44;
  hatch_train_model *o = make_model(c, &other, 1);
  st = o ? hatch_train_model_load_gguf(o, a, &rep) : HATCH_ERR_OUT_OF_MEMORY;
  HATCH_EXPECT(c, st == HATCH_ERR_SHAPE && strstr(rep.message, "blk.0.ffn_gate.weight"), "wrong config: %s %s",
               hatch_status_name(st), rep.message);
  hatch_train_model_destroy(o);
  hatch_train_model_destroy(back);
  hatch_train_model_destroy(m);
}

/* Depth growth: the grown model (2 -> 4 LLM blocks) gives the source's logits exactly; the new blocks'
 * output projections are zero and the rest random; one backward reaches the new blocks (their output
 * projections get gradients); a device source is read from its backend; block counts out of range are
 * refused by name. */
static void test_grow_depth(hatch_test_ctx *c) {
  hatch_qwen25vl_config cfg = train_test_tiny_config();
  hatch_train_model *m = make_model(c, &cfg, 0), *g = NULL;
  if (!m) return;
  hatch_train_report rep = {{0}};
  hatch_status st = hatch_train_model_grow_depth(m, 4, 7, &g, &rep);
  HATCH_EXPECT(c, st == HATCH_OK && g, "grow: %s %s", hatch_status_name(st), rep.message);
  if (!g) return hatch_train_model_destroy(m);
  HATCH_EXPECT(c, hatch_train_model_config(g)->text.num_hidden_layers == 4, "grown config has %d blocks",
               hatch_train_model_config(g)->text.num_hidden_layers);
  train_test_sample s;
  train_test_build_sample(&cfg, g_px, &s);
  float la[128], lb[128];
  HATCH_EXPECT_OK(c, hatch_train_forward(m, s.ids, s.n, s.img, 2, s.targets, la));
  HATCH_EXPECT_OK(c, hatch_train_forward(g, s.ids, s.n, s.img, 2, s.targets, lb));
  int n = 0, ng = 0;
  int64_t vocab = 0;
  const float *a = hatch_train_logits(m, &n, &vocab), *b = hatch_train_logits(g, &ng, NULL);
  HATCH_EXPECT(c, a && b && n == ng && !memcmp(a, b, sizeof(float) * (size_t)(n * vocab)) && !memcmp(la, lb, sizeof(float) * (size_t)n),
               "the grown model's logits differ from the source's");
  const float *p = hatch_train_model_params(g);
  for (int l = 2; l < 4; l++) {
    static const char *const names[] = {"attn_output.weight", "ffn_down.weight", "attn_q.weight", "ffn_up.weight"};
    for (int k = 0; k < 4; k++) {
      char name[64];
      snprintf(name, sizeof name, "blk.%d.%s", l, names[k]);
      const hatch_train_tensor *t = hatch_train_model_find(g, name);
      double sq = 0;
      for (int64_t i = 0; t && i < t->count; i++) sq += (double)p[t->offset + i] * p[t->offset + i];
      HATCH_EXPECT(c, t && (k < 2 ? sq == 0 : sq > 0), "%s: sum of squares %g (want %s)", name, sq, k < 2 ? "0" : "> 0");
    }
  }
  float d[128];
  for (int t = 0; t < s.n; t++) d[t] = s.targets[t] >= 0 ? -1.0f : 0.0f;
  hatch_train_model_zero_grads(g);
  HATCH_EXPECT_OK(c, hatch_train_forward(g, s.ids, s.n, s.img, 2, s.targets, lb));
  HATCH_EXPECT_OK(c, hatch_train_backward(g, d));
  const hatch_train_tensor *wo = hatch_train_model_find(g, "blk.3.attn_output.weight");
  const float *gr = hatch_train_model_grads(g);
  double sq = 0;
  for (int64_t i = 0; wo && i < wo->count; i++) sq += (double)gr[wo->offset + i] * gr[wo->offset + i];
  HATCH_EXPECT(c, wo && sq > 0, "no gradient reaches the new block's attn_output (%g)", sq);
  hatch_train_model_destroy(g);
  g = NULL;
  /* A source on a device (the CPU behaving as one): its backend params are read, not its host mirror,
   * here made stale on purpose. */
  hatch_train_device dev = {.kind = HATCH_TRAIN_DEVICE_CPU, .cpu_separate_memory = true};
  hatch_train_model *dm = NULL;
  HATCH_EXPECT_OK(c, hatch_train_model_create_on(&cfg, hatch_train_model_limits(m), 0, &dev, &dm, &rep));
  if (dm) {
    size_t bytes = sizeof(float) * (size_t)hatch_train_model_n_params(m);
    memcpy(hatch_train_model_params(dm), hatch_train_model_params(m), bytes);
    HATCH_EXPECT_OK(c, hatch_train_model_push(dm));
    memset(hatch_train_model_params(dm), 0, bytes);
    HATCH_EXPECT_OK(c, hatch_train_model_grow_depth(dm, 3, 7, &g, &rep));
    HATCH_EXPECT_OK(c, hatch_train_forward(m, s.ids, s.n, s.img, 2, s.targets, la));
    if (g) HATCH_EXPECT_OK(c, hatch_train_forward(g, s.ids, s.n, s.img, 2, s.targets, lb));
    HATCH_EXPECT(c, g && !memcmp(la, lb, sizeof(float) * (size_t)s.n), "grown from a device model: log-probs differ");
    hatch_train_model_destroy(g);
    g = NULL;
  }
  hatch_train_model_destroy(dm);
  int bad[] = {2, 1, 0, HATCH_TRAIN_MAX_GROWN_LAYERS + 1};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    st = hatch_train_model_grow_depth(m, bad[i], 7, &g, &rep);
    HATCH_EXPECT(c, st == HATCH_ERR_INVALID_ARGUMENT && !g && strstr(rep.message, "LLM blocks asked"), "%d blocks: %s %s",
                 bad[i], hatch_status_name(st), rep.message);
  }
  hatch_train_model_destroy(m);
}

static void test_bad_input(hatch_test_ctx *c) {
  hatch_qwen25vl_config cfg = train_test_tiny_config();
  hatch_train_model *m = make_model(c, &cfg, 1);
  if (!m) return;
  train_test_sample s;
  train_test_build_sample(&cfg, g_px, &s);
  HATCH_EXPECT(c, hatch_train_forward(m, s.ids, s.n, s.img, 1, NULL, NULL) == HATCH_ERR_SHAPE, "one image for two runs");
  hatch_train_image odd = {g_px[0], 50, 84};
  HATCH_EXPECT(c, hatch_train_forward(m, s.ids, s.n, &odd, 1, NULL, NULL) == HATCH_ERR_SHAPE, "width not a multiple of 28");
  int32_t bad = 97;
  HATCH_EXPECT(c, hatch_train_forward(m, &bad, 1, NULL, 0, NULL, NULL) == HATCH_ERR_INVALID_ARGUMENT, "token >= vocab");
  HATCH_EXPECT(c, hatch_train_backward(m, s.w) == HATCH_ERR_INVALID_ARGUMENT, "backward without a forward");
  int32_t many[200] = {0};
  HATCH_EXPECT(c, hatch_train_forward(m, many, 200, NULL, 0, NULL, NULL) == HATCH_ERR_TOO_LARGE, "past max_tokens");
  hatch_train_limits lim = {.max_images = 1, .max_image_pixels = 784, .max_tokens = 8};
  hatch_train_model *x = NULL;
  hatch_train_report rep = {{0}};
  /* A text-only model (no vision workspace) runs text samples. */
  float loss = 0;
  int32_t text[6] = {1, 2, 3, 4, 5, 6}, tgt[6] = {2, 3, 4, 5, 6, -1};
  HATCH_EXPECT_OK(c, hatch_train_model_create(&cfg, &(hatch_train_limits){.max_tokens = 32}, 1, &x, &rep));
  if (x) {
    HATCH_EXPECT_OK(c, hatch_train_mean_ce(x, text, 6, NULL, 0, tgt, true, &loss, NULL));
    HATCH_EXPECT(c, loss > 0 && isfinite(loss), "text-only loss %g", loss);
    HATCH_EXPECT(c, hatch_train_forward(x, s.ids, s.n, s.img, 2, NULL, NULL) == HATCH_ERR_TOO_LARGE, "images past the limits");
  }
  hatch_train_model_destroy(x);
  x = NULL;
  cfg.text.mrope_section[0] = 3;
  HATCH_EXPECT(c, hatch_train_model_create(&cfg, &lim, 1, &x, &rep) != HATCH_OK && !x && strstr(rep.message, "mrope"),
               "bad config accepted: %s", rep.message);
  hatch_train_model_destroy(m);
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void test_throughput(hatch_test_ctx *c) {
  hatch_qwen25vl_config cfg = train_test_tiny_config();
  hatch_train_model *m = make_model(c, &cfg, 0);
  if (!m) return;
  train_test_sample s;
  train_test_build_sample(&cfg, g_px, &s);
  float loss = 0;
  int reps = 20;
  uint64_t flops = 0;
  double t0 = now_s();
  for (int r = 0; r < reps; r++) {
    hatch_train_model_zero_grads(m);
    HATCH_EXPECT_OK(c, hatch_train_mean_ce(m, s.ids, s.n, s.img, 2, s.targets, true, &loss, NULL));
    hatch_train_flops f = hatch_train_model_flops(m);
    flops += f.forward + f.backward;
  }
  double dt = (now_s() - t0) / reps;
  printf("    tiny config, %d tokens, 2 images, %d threads: forward+backward %.3f ms/sample, %.2f GFLOP/s (%.1f MFLOP)\n",
         s.n, hatch_train_model_n_threads(m), 1e3 * dt, (double)flops / reps / dt * 1e-9, (double)flops / reps * 1e-6);
  hatch_train_model_destroy(m);
}

int main(int argc, char **argv) {
  snprintf(g_dir, sizeof g_dir, "/tmp/hatch_train_model_XXXXXX");
  if (!mkdtemp(g_dir)) return 1;
  for (int k = 0; k < 2; k++) g_px[k] = train_test_image(TRAIN_TEST_SAMPLE_W[k], TRAIN_TEST_SAMPLE_H[k], k);
  static const hatch_test_case cases[] = {
      {"gradients_vs_finite_differences", test_gradients, false},
      {"threads_deterministic", test_threads_deterministic, false},
      {"runtime_parity", test_runtime_parity, false},
      {"round_trip", test_round_trip, false},
      {"grow_depth", test_grow_depth, false},
      {"bad_input", test_bad_input, false},
      {"throughput", test_throughput, false},
  };
  int rc = hatch_test_main(argc, argv, cases, (int)(sizeof cases / sizeof *cases));
  for (int k = 0; k < 2; k++) free(g_px[k]);
  const char *files[] = {"parity.gguf", "q8.gguf", "a.gguf", "b.gguf"};
  char p[256];
  for (size_t i = 0; i < sizeof files / sizeof *files; i++) snprintf(p, sizeof p, "%s/%s", g_dir, files[i]), unlink(p);
  rmdir(g_dir);
  return rc;
}
