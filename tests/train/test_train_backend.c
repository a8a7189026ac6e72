/* The trainer's backend layer (train/model/train_backend.h) on the CPU:
 * (a) the model on the CPU backend with separate memory (host mirrors, every crossing through
 *     upload / download: the device code paths) gives bitwise the same logits, logp, vision
 *     features, loss and every gradient as the default model, on a tiny config with two images,
 *     through forward + backward(d_logp), backward_logits, the vision tower alone and mean_ce;
 *     push / pull round trips; GGUF save / load through the backend are byte-identical;
 * (b) every CPU backend op is bitwise its train_layers.h function (odd shapes, accumulating
 *     outputs that start non-zero, 3 threads against serial), sum_squares and scale are bitwise
 *     hatch_grad_norm and hatch_grad_clip, adamw is bitwise hatch_adamw_step over three steps with
 *     decaying and non-decaying spans;
 * (c) a CUDA model in a build or on a machine without CUDA is HATCH_ERR_UNSUPPORTED with a reason
 *     (with a GPU present it must come up as "cuda"). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "train/train_test_util.h"
#include "hatch/train_model.h"
#include "hatch/train_optim.h"
#include "model/train_backend.h"
#include "model/train_layers.h"
#include "model/train_model_internal.h"

/* ---- (a) the model on separate memory -------------------------------------------------------- */

static char g_dir[128];

static uint8_t *g_px[2]; /* the sample's images (train_test_build_sample) */

static const hatch_train_limits g_lim = {.max_images = 2, .max_image_pixels = 112 * 84, .max_tokens = 96};

/* device NULL: the default model. Params: the runtime's random rows (O(1) activations), pushed. */
static hatch_train_model *make_model(hatch_test_ctx *c, const hatch_qwen25vl_config *cfg,
                                     const hatch_train_device *device) {
  hatch_train_model *m = NULL;
  hatch_train_report rep = {{0}};
  hatch_status st = hatch_train_model_create_on(cfg, &g_lim, 2, device, &m, &rep);
  HATCH_EXPECT(c, st == HATCH_OK, "create: %s %s", hatch_status_name(st), rep.message);
  if (!m) return NULL;
  uint64_t seed = 11;
  float *p = hatch_train_model_params(m);
  for (int i = 0; i < hatch_train_model_n_tensors(m); i++) {
    const hatch_train_tensor *t = hatch_train_model_tensor(m, i);
    hatch_qwen25vl_tensor_spec spec = {.n_dims = t->n_dims, .matrix = t->matrix};
    snprintf(spec.name, sizeof spec.name, "%s", t->name);
    memcpy(spec.ne, t->ne, sizeof spec.ne);
    hatch_qwen25vl_random_rows(&seed, &spec, 0, t->count / t->ne[0], p + t->offset);
  }
  HATCH_EXPECT_OK(c, hatch_train_model_push(m));
  return m;
}

static bool same_floats(const float *a, const float *b, int64_t n) {
  return a && b && !memcmp(a, b, sizeof(float) * (size_t)n);
}

static void expect_same_grads(hatch_test_ctx *c, hatch_train_model *ref, hatch_train_model *dev, const char *what) {
  HATCH_EXPECT_OK(c, hatch_train_model_pull(dev));
  int64_t n = hatch_train_model_n_params(ref);
  const float *a = hatch_train_model_grads(ref), *b = hatch_train_model_grads(dev);
  int64_t differ = 0;
  for (int64_t i = 0; i < n; i++) differ += memcmp(&a[i], &b[i], sizeof(float)) != 0;
  HATCH_EXPECT(c, differ == 0, "%s: %lld of %lld gradients differ", what, (long long)differ, (long long)n);
}

static void test_model_separate_memory(hatch_test_ctx *c) {
  hatch_qwen25vl_config cfg = train_test_tiny_config();
  hatch_train_device sep = {.kind = HATCH_TRAIN_DEVICE_CPU, .cpu_separate_memory = true};
  hatch_train_model *ref = make_model(c, &cfg, NULL), *dev = make_model(c, &cfg, &sep);
  if (!ref || !dev) goto done;
  HATCH_EXPECT(c, !strcmp(hatch_train_model_backend_name(dev), "cpu") && !hatch_train_model_backend(dev)->host_memory &&
                      hatch_train_model_backend(ref)->host_memory,
               "backends: %s, host memory %d / %d", hatch_train_model_backend_name(dev),
               hatch_train_model_backend(ref)->host_memory, hatch_train_model_backend(dev)->host_memory);
  HATCH_EXPECT(c, hatch_train_model_params(dev) != hatch_train_model_backend_params(dev) &&
                      hatch_train_model_params(ref) == hatch_train_model_backend_params(ref),
               "host mirrors: separate memory must have its own, shared memory none");
  train_test_sample s;
  train_test_build_sample(&cfg, g_px, &s);
  int64_t V = cfg.text.vocab_size, dm = cfg.vision.out_hidden_size;
  /* forward with targets, backward from d_logp */
  float logp_ref[96], logp_dev[96];
  hatch_train_model_zero_grads(ref);
  hatch_train_model_zero_grads(dev);
  HATCH_EXPECT_OK(c, hatch_train_forward(ref, s.ids, s.n, s.img, 2, s.targets, logp_ref));
  HATCH_EXPECT_OK(c, hatch_train_forward(dev, s.ids, s.n, s.img, 2, s.targets, logp_dev));
  HATCH_EXPECT(c, same_floats(logp_ref, logp_dev, s.n), "logp differ");
  int n_ref = 0, n_dev = 0;
  const float *l_ref = hatch_train_logits(ref, &n_ref, NULL), *l_dev = hatch_train_logits(dev, &n_dev, NULL);
  HATCH_EXPECT(c, n_ref == s.n && n_dev == s.n && same_floats(l_ref, l_dev, s.n * V), "logits differ");
  int64_t rows_ref = 0, rows_dev = 0;
  const float *f_ref = hatch_train_vision_features(ref, &rows_ref), *f_dev = hatch_train_vision_features(dev, &rows_dev);
  HATCH_EXPECT(c, rows_ref == 14 && rows_dev == 14 && same_floats(f_ref, f_dev, rows_ref * dm), "vision features differ");
  /* what a device model hands out is host memory, never its backend buffers */
  HATCH_EXPECT(c, l_dev == dev->ts.logits && f_dev == dev->vs.feat, "separate memory returned backend pointers");
  HATCH_EXPECT_OK(c, hatch_train_backward(ref, s.w));
  HATCH_EXPECT_OK(c, hatch_train_backward(dev, s.w));
  expect_same_grads(c, ref, dev, "backward(d_logp)");
  /* backward from d_logits, accumulating */
  float *dl = malloc(sizeof(float) * (size_t)(s.n * V));
  hatch_test_fill(c, dl, s.n * V, -0.5f, 0.5f);
  HATCH_EXPECT_OK(c, hatch_train_backward_logits(ref, dl));
  HATCH_EXPECT_OK(c, hatch_train_backward_logits(dev, dl));
  expect_same_grads(c, ref, dev, "backward_logits");
  free(dl);
  /* the vision tower alone (PaStA's path) */
  hatch_train_model_zero_grads(ref);
  hatch_train_model_zero_grads(dev);
  HATCH_EXPECT_OK(c, hatch_train_vision_forward(ref, s.img, 2));
  HATCH_EXPECT_OK(c, hatch_train_vision_forward(dev, s.img, 2));
  f_ref = hatch_train_vision_features(ref, &rows_ref), f_dev = hatch_train_vision_features(dev, &rows_dev);
  HATCH_EXPECT(c, same_floats(f_ref, f_dev, rows_ref * dm), "vision-only features differ");
  float *df = malloc(sizeof(float) * (size_t)(rows_ref * dm));
  hatch_test_fill(c, df, rows_ref * dm, -1.0f, 1.0f);
  HATCH_EXPECT_OK(c, hatch_train_vision_backward(ref, df));
  HATCH_EXPECT_OK(c, hatch_train_vision_backward(dev, df));
  expect_same_grads(c, ref, dev, "vision_backward");
  free(df);
  /* mean cross-entropy */
  float loss_ref = 0, loss_dev = 0;
  hatch_train_model_zero_grads(ref);
  hatch_train_model_zero_grads(dev);
  HATCH_EXPECT_OK(c, hatch_train_mean_ce(ref, s.ids, s.n, s.img, 2, s.targets, true, &loss_ref, NULL));
  HATCH_EXPECT_OK(c, hatch_train_mean_ce(dev, s.ids, s.n, s.img, 2, s.targets, true, &loss_dev, NULL));
  HATCH_EXPECT(c, loss_ref == loss_dev && loss_ref > 0, "loss %g vs %g", loss_ref, loss_dev);
  expect_same_grads(c, ref, dev, "mean_ce");
  hatch_train_flops fr = hatch_train_model_flops(ref), fd = hatch_train_model_flops(dev);
  HATCH_EXPECT(c, fr.forward == fd.forward && fr.backward == fd.backward && fr.total == fd.total && fr.total > 0,
               "FLOP accounting differs");
done:
  hatch_train_model_destroy(ref);
  hatch_train_model_destroy(dev);
}

static void test_push_pull(hatch_test_ctx *c) {
  hatch_qwen25vl_config cfg = train_test_tiny_config();
  cfg.text.tie_word_embeddings = false;
  hatch_train_device sep = {.kind = HATCH_TRAIN_DEVICE_CPU, .cpu_separate_memory = true};
  hatch_train_model *ref = make_model(c, &cfg, NULL), *dev = make_model(c, &cfg, &sep);
  if (!ref || !dev) goto done;
  int64_t n = hatch_train_model_n_params(dev);
  size_t bytes = sizeof(float) * (size_t)n;
  float *want_p = malloc(bytes), *want_g = malloc(bytes);
  hatch_test_fill(c, want_p, n, -0.3f, 0.3f);
  hatch_test_fill(c, want_g, n, -1.0f, 1.0f);
  memcpy(hatch_train_model_params(dev), want_p, bytes);
  memcpy(hatch_train_model_grads(dev), want_g, bytes);
  HATCH_EXPECT_OK(c, hatch_train_model_push(dev));
  memset(hatch_train_model_params(dev), 0, bytes);
  memset(hatch_train_model_grads(dev), 0, bytes);
  HATCH_EXPECT_OK(c, hatch_train_model_pull(dev));
  HATCH_EXPECT(c, same_floats(hatch_train_model_params(dev), want_p, n) && same_floats(hatch_train_model_grads(dev), want_g, n),
               "push then pull changed params or grads");
  /* zero_grads zeroes the backend's grads: seen at the next pull */
  hatch_train_model_zero_grads(dev);
  HATCH_EXPECT_OK(c, hatch_train_model_pull(dev));
  float *zeros = calloc((size_t)n, sizeof(float));
  HATCH_EXPECT(c, same_floats(hatch_train_model_grads(dev), zeros, n), "grads not zero after zero_grads + pull");
  /* the pushed params are the ones the backend computes with */
  memcpy(hatch_train_model_params(ref), want_p, bytes);
  HATCH_EXPECT_OK(c, hatch_train_model_push(ref)); /* no-op on shared memory */
  train_test_sample s;
  train_test_build_sample(&cfg, g_px, &s);
  HATCH_EXPECT_OK(c, hatch_train_forward(ref, s.ids, s.n, s.img, 2, NULL, NULL));
  HATCH_EXPECT_OK(c, hatch_train_forward(dev, s.ids, s.n, s.img, 2, NULL, NULL));
  HATCH_EXPECT(c, same_floats(hatch_train_logits(ref, NULL, NULL), hatch_train_logits(dev, NULL, NULL), s.n * cfg.text.vocab_size),
               "logits differ after push");
  /* GGUF through the backend: saves are byte-identical, a load into a separate-memory model lands
   * in the backend (pull shows it) */
  char a[256], b[256];
  snprintf(a, sizeof a, "%s/ref.gguf", g_dir);
  snprintf(b, sizeof b, "%s/dev.gguf", g_dir);
  hatch_qwen25vl_write_options opt = {.name = "bk", .matrix_type = HATCH_TYPE_F32};
  hatch_train_report rep = {{0}};
  HATCH_EXPECT_OK(c, hatch_train_model_save_gguf(ref, a, &opt, &rep));
  memset(hatch_train_model_params(dev), 0, bytes); /* the save must read the backend, not the mirror */
  HATCH_EXPECT_OK(c, hatch_train_model_save_gguf(dev, b, &opt, &rep));
  FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
  bool same = fa && fb;
  for (int x = 0, y = 0; same && (x != EOF || y != EOF);) x = fgetc(fa), y = fgetc(fb), same = x == y;
  if (fa) fclose(fa);
  if (fb) fclose(fb);
  HATCH_EXPECT(c, same, "GGUF saved from separate memory differs from the default model's");
  hatch_train_model_init_random(dev, 99); /* something else in the backend */
  HATCH_EXPECT_OK(c, hatch_train_model_load_gguf(dev, a, &rep));
  memset(hatch_train_model_params(dev), 0, bytes);
  HATCH_EXPECT_OK(c, hatch_train_model_pull(dev));
  HATCH_EXPECT(c, same_floats(hatch_train_model_params(dev), want_p, n), "load_gguf did not reach the backend");
  free(want_p), free(want_g), free(zeros);
  unlink(a), unlink(b);
done:
  hatch_train_model_destroy(ref);
  hatch_train_model_destroy(dev);
}

/* ---- (b) every op against its reference ------------------------------------------------------ */

static train_backend *g_b; /* CPU, 3 threads, separate memory */
static void *g_allocs[64];
static int g_n_allocs;

static float *rnd(hatch_test_ctx *c, int64_t n, float lo, float hi) {
  float *x = malloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
  hatch_test_fill(c, x, n, lo, hi);
  return x;
}

/* A backend copy of host data, freed by release_all. */
static void *dev(hatch_test_ctx *c, const void *host, size_t bytes) {
  void *p = g_b->ops->alloc(g_b, bytes);
  HATCH_EXPECT(c, p && g_n_allocs < 64, "backend alloc of %zu bytes", bytes);
  if (!p || g_n_allocs >= 64) return p;
  g_allocs[g_n_allocs++] = p;
  if (host) HATCH_EXPECT_OK(c, g_b->ops->upload(g_b, p, host, bytes));
  return p;
}
#define DEVF(c, host, n) ((float *)dev(c, host, sizeof(float) * (size_t)(n)))
#define DEVI(c, host, n) ((int32_t *)dev(c, host, sizeof(int32_t) * (size_t)(n)))

static void release_all(void) {
  while (g_n_allocs > 0) g_b->ops->free(g_b, g_allocs[--g_n_allocs]);
}

/* The backend buffer equals the host reference, bit for bit. */
static void expect_same(hatch_test_ctx *c, const char *what, const void *backend, const void *host, size_t bytes) {
  void *got = malloc(bytes ? bytes : 1);
  HATCH_EXPECT_OK(c, g_b->ops->download(g_b, got, backend, bytes));
  HATCH_EXPECT(c, !memcmp(got, host, bytes), "%s differs from its reference", what);
  free(got);
}
#define SAME(c, what, backend, host, n) expect_same(c, what, backend, host, sizeof(*(host)) * (size_t)(n))

static void test_ops_memory(hatch_test_ctx *c) {
  const int64_t n = 1000, rows = 7, d = 13;
  float *x = rnd(c, n, -1, 1), *y = rnd(c, n, -1, 1), *z = calloc((size_t)n, sizeof(float));
  float *p = DEVF(c, NULL, n);
  if (p) expect_same(c, "alloc (zeroed)", p, z, sizeof(float) * (size_t)n);
  HATCH_EXPECT(c, ((uintptr_t)p & 255) == 0, "alloc is not 256-byte aligned");
  float *dx = DEVF(c, x, n), *dy = DEVF(c, y, n), *dz = DEVF(c, NULL, n);
  g_b->ops->copy(g_b, dz, dx, sizeof(float) * (size_t)n);
  SAME(c, "copy", dz, x, n);
  g_b->ops->zero(g_b, dz, n);
  SAME(c, "zero", dz, z, n);
  float *sum = malloc(sizeof(float) * (size_t)n);
  for (int64_t i = 0; i < n; i++) sum[i] = x[i] + y[i];
  g_b->ops->add(g_b, dz, dx, dy, n);
  SAME(c, "add", dz, sum, n);
  g_b->ops->add(g_b, dx, dx, dy, n); /* aliased */
  SAME(c, "add in place", dx, sum, n);
  HATCH_EXPECT_OK(c, g_b->ops->sync(g_b));
  /* gather / scatter by a permutation of rows */
  int32_t idx[7] = {3, 0, 6, 2, 5, 1, 4};
  float *src = rnd(c, rows * d, -1, 1), *gat = malloc(sizeof(float) * (size_t)(rows * d)), *sca = malloc(sizeof(float) * (size_t)(rows * d));
  for (int64_t r = 0; r < rows; r++) {
    memcpy(gat + r * d, src + idx[r] * d, sizeof(float) * (size_t)d);
    memcpy(sca + idx[r] * d, src + r * d, sizeof(float) * (size_t)d);
  }
  float *dsrc = DEVF(c, src, rows * d), *dgat = DEVF(c, NULL, rows * d), *dsca = DEVF(c, NULL, rows * d);
  int32_t *didx = DEVI(c, idx, rows);
  g_b->ops->gather_rows(g_b, dgat, dsrc, didx, rows, d);
  g_b->ops->scatter_rows(g_b, dsca, dsrc, didx, rows, d);
  SAME(c, "gather_rows", dgat, gat, rows * d);
  SAME(c, "scatter_rows", dsca, sca, rows * d);
  /* copy_2d: 5 rows of 4 columns between strides 9 and 6, then accumulated */
  float *a = rnd(c, 5 * 9, -1, 1), *b = rnd(c, 5 * 6, -1, 1), *want = malloc(sizeof(float) * 5 * 9);
  memcpy(want, a, sizeof(float) * 5 * 9);
  for (int r = 0; r < 5; r++)
    for (int k = 0; k < 4; k++) want[r * 9 + 2 + k] = b[r * 6 + 1 + k];
  float *da = DEVF(c, a, 5 * 9), *db = DEVF(c, b, 5 * 6);
  g_b->ops->copy_2d(g_b, da + 2, 9, db + 1, 6, 5, 4, false);
  SAME(c, "copy_2d", da, want, 5 * 9);
  for (int r = 0; r < 5; r++)
    for (int k = 0; k < 4; k++) want[r * 9 + 2 + k] += b[r * 6 + 1 + k];
  g_b->ops->copy_2d(g_b, da + 2, 9, db + 1, 6, 5, 4, true);
  SAME(c, "copy_2d accumulate", da, want, 5 * 9);
  free(x), free(y), free(z), free(sum), free(src), free(gat), free(sca), free(a), free(b), free(want);
  release_all();
}

static void test_ops_layers(hatch_test_ctx *c) {
  const int64_t n = 13, in = 17, out = 11;
  /* linear */
  float *x = rnd(c, n * in, -1, 1), *w = rnd(c, out * in, -1, 1), *bias = rnd(c, out, -1, 1), *y = rnd(c, n * out, -1, 1);
  float *dy = rnd(c, n * out, -1, 1), *dx = rnd(c, n * in, -1, 1), *dw = rnd(c, out * in, -1, 1), *dbias = rnd(c, out, -1, 1);
  float *Dx = DEVF(c, x, n * in), *Dw = DEVF(c, w, out * in), *Db = DEVF(c, bias, out), *Dy = DEVF(c, y, n * out);
  float *Ddy = DEVF(c, dy, n * out), *Ddx = DEVF(c, dx, n * in), *Ddw = DEVF(c, dw, out * in), *Ddb = DEVF(c, dbias, out);
  linear_forward_f32(NULL, y, x, w, bias, n, in, out);
  g_b->ops->linear_forward(g_b, Dy, Dx, Dw, Db, n, in, out);
  SAME(c, "linear_forward", Dy, y, n * out);
  linear_forward_f32(NULL, y, x, w, NULL, n, in, out);
  g_b->ops->linear_forward(g_b, Dy, Dx, Dw, NULL, n, in, out);
  SAME(c, "linear_forward without bias", Dy, y, n * out);
  linear_backward_f32(NULL, dx, dw, dbias, dy, x, w, n, in, out);
  g_b->ops->linear_backward(g_b, Ddx, Ddw, Ddb, Ddy, Dx, Dw, n, in, out);
  SAME(c, "linear_backward dx", Ddx, dx, n * in);
  SAME(c, "linear_backward dw", Ddw, dw, out * in);
  SAME(c, "linear_backward db", Ddb, dbias, out);
  linear_backward_f32(NULL, NULL, dw, NULL, dy, x, w, n, in, out);
  g_b->ops->linear_backward(g_b, NULL, Ddw, NULL, Ddy, Dx, Dw, n, in, out);
  SAME(c, "linear_backward dw only", Ddw, dw, out * in);
  /* rmsnorm (rows of in) */
  float *rw = rnd(c, in, 0.5f, 1.5f), *rstd = rnd(c, n, 0, 1), *ry = rnd(c, n * in, -1, 1);
  float *Drw = DEVF(c, rw, in), *Drstd = DEVF(c, rstd, n), *Dry = DEVF(c, ry, n * in);
  rmsnorm_forward_f32(NULL, ry, rstd, x, rw, 1e-6f, n, in);
  g_b->ops->rmsnorm_forward(g_b, Dry, Drstd, Dx, Drw, 1e-6f, n, in);
  SAME(c, "rmsnorm_forward y", Dry, ry, n * in);
  SAME(c, "rmsnorm_forward rstd", Drstd, rstd, n);
  float *rdw = rnd(c, in, -1, 1), *Drdw = DEVF(c, rdw, in);
  rmsnorm_backward_f32(NULL, dx, rdw, ry, x, rw, rstd, n, in);
  g_b->ops->rmsnorm_backward(g_b, Ddx, Drdw, Dry, Dx, Drw, Drstd, n, in);
  SAME(c, "rmsnorm_backward dx", Ddx, dx, n * in);
  SAME(c, "rmsnorm_backward dw", Drdw, rdw, in);
  /* M-RoPE over 3 heads of 10 (8 rotated dims, 2 passed through) */
  const int64_t H = 3, hd = 10;
  float freq[4];
  int32_t comp[4], pos[3 * 13];
  int sections[3] = {1, 2, 1};
  rope_table_f32(freq, comp, LAYER_ROPE_MROPE, 8, 10000.0, sections);
  for (int i = 0; i < 3 * 13; i++) pos[i] = (i * 7) % 19;
  float *q = rnd(c, n * H * hd, -1, 1), *qo = malloc(sizeof(float) * (size_t)(n * H * hd));
  float *Dq = DEVF(c, q, n * H * hd), *Dqo = DEVF(c, NULL, n * H * hd), *Dfreq = DEVF(c, freq, 4);
  int32_t *Dcomp = DEVI(c, comp, 4), *Dpos = DEVI(c, pos, 3 * 13);
  rope_forward_f32(NULL, qo, q, pos, freq, comp, 8, n, H, hd);
  g_b->ops->rope_forward(g_b, Dqo, Dq, Dpos, Dfreq, Dcomp, 8, n, H, hd);
  SAME(c, "rope_forward", Dqo, qo, n * H * hd);
  rope_backward_f32(NULL, q, q, pos, freq, comp, 8, n, H, hd);
  g_b->ops->rope_backward(g_b, Dq, Dq, Dpos, Dfreq, Dcomp, 8, n, H, hd);
  SAME(c, "rope_backward in place", Dq, q, n * H * hd);
  free(x), free(w), free(bias), free(y), free(dy), free(dx), free(dw), free(dbias), free(rw), free(rstd), free(ry);
  free(rdw), free(q), free(qo);
  release_all();
}

/* Attention: causal GQA (6 heads over 2) without bounds, and windows (bounds) non-causal. */
static void check_attention(hatch_test_ctx *c, const int32_t *bounds, int64_t n_bounds, bool causal, int64_t H, int64_t KV) {
  const int64_t n = 13, hd = 8;
  float scale = 1.0f / sqrtf((float)hd);
  int64_t nq = n * H * hd, nkv = n * KV * hd;
  float *q = rnd(c, nq, -1, 1), *k = rnd(c, nkv, -1, 1), *v = rnd(c, nkv, -1, 1), *o = rnd(c, nq, -1, 1), *lse = rnd(c, n * H, -1, 1);
  float *Dq = DEVF(c, q, nq), *Dk = DEVF(c, k, nkv), *Dv = DEVF(c, v, nkv), *Do = DEVF(c, o, nq), *Dlse = DEVF(c, lse, n * H);
  int32_t *Dbounds = bounds ? DEVI(c, bounds, n_bounds) : NULL;
  bool ok_ref = attention_forward_f32(NULL, o, lse, q, k, v, bounds, n_bounds, causal, scale, n, H, KV, hd);
  bool ok = g_b->ops->attention_forward(g_b, Do, Dlse, Dq, Dk, Dv, Dbounds, n_bounds, causal, scale, n, H, KV, hd);
  HATCH_EXPECT(c, ok && ok_ref, "attention_forward failed");
  SAME(c, "attention_forward out", Do, o, nq);
  SAME(c, "attention_forward lse", Dlse, lse, n * H);
  float *dout = rnd(c, nq, -1, 1), *dq = rnd(c, nq, -1, 1), *dk = rnd(c, nkv, -1, 1), *dv = rnd(c, nkv, -1, 1);
  float *dsum = malloc(sizeof(float) * (size_t)(n * H));
  float *Ddout = DEVF(c, dout, nq), *Ddq = DEVF(c, dq, nq), *Ddk = DEVF(c, dk, nkv), *Ddv = DEVF(c, dv, nkv), *Ddsum = DEVF(c, NULL, n * H);
  attention_backward_f32(NULL, dq, dk, dv, dsum, dout, q, k, v, o, lse, bounds, n_bounds, causal, scale, n, H, KV, hd);
  g_b->ops->attention_backward(g_b, Ddq, Ddk, Ddv, Ddsum, Ddout, Dq, Dk, Dv, Do, Dlse, Dbounds, n_bounds, causal, scale, n,
                               H, KV, hd);
  SAME(c, "attention_backward dq", Ddq, dq, nq);
  SAME(c, "attention_backward dk", Ddk, dk, nkv);
  SAME(c, "attention_backward dv", Ddv, dv, nkv);
  free(q), free(k), free(v), free(o), free(lse), free(dout), free(dq), free(dk), free(dv), free(dsum);
  release_all();
}

static void test_ops_attention(hatch_test_ctx *c) {
  check_attention(c, NULL, 0, true, 6, 2);
  const int32_t windows[4] = {0, 4, 9, 13};
  check_attention(c, windows, 4, false, 2, 2);
}

static void test_ops_pointwise(hatch_test_ctx *c) {
  const int64_t n = 1037, rows = 9, d = 7, vocab = 23;
  float *g = rnd(c, n, -4, 4), *u = rnd(c, n, -4, 4), *h = malloc(sizeof(float) * (size_t)n);
  float *dh = rnd(c, n, -1, 1), *dg = rnd(c, n, -1, 1), *du = rnd(c, n, -1, 1);
  float *Dg = DEVF(c, g, n), *Du = DEVF(c, u, n), *Dh = DEVF(c, NULL, n), *Ddh = DEVF(c, dh, n), *Ddg = DEVF(c, dg, n), *Ddu = DEVF(c, du, n);
  swiglu_forward_f32(NULL, h, g, u, n);
  g_b->ops->swiglu_forward(g_b, Dh, Dg, Du, n);
  SAME(c, "swiglu_forward", Dh, h, n);
  swiglu_backward_f32(NULL, dg, du, dh, g, u, n);
  g_b->ops->swiglu_backward(g_b, Ddg, Ddu, Ddh, Dg, Du, n);
  SAME(c, "swiglu_backward dg", Ddg, dg, n);
  SAME(c, "swiglu_backward du", Ddu, du, n);
  gelu_forward_f32(NULL, h, g, n);
  g_b->ops->gelu_forward(g_b, Dh, Dg, n);
  SAME(c, "gelu_forward", Dh, h, n);
  gelu_backward_f32(NULL, du, dh, g, n);
  g_b->ops->gelu_backward(g_b, Ddu, Ddh, Dg, n);
  SAME(c, "gelu_backward", Ddu, du, n);
  /* embedding: repeated ids add in order, skip_id rows untouched */
  int32_t ids[9] = {3, 5, 3, 20, 1, 5, 20, 0, 3};
  float *table = rnd(c, vocab * d, -1, 1), *x = rnd(c, rows * d, -1, 1), *dtable = rnd(c, vocab * d, -1, 1), *dx = rnd(c, rows * d, -1, 1);
  float *Dtable = DEVF(c, table, vocab * d), *Dx = DEVF(c, x, rows * d), *Ddtable = DEVF(c, dtable, vocab * d), *Ddx = DEVF(c, dx, rows * d);
  int32_t *Dids = DEVI(c, ids, rows);
  embedding_forward_f32(x, ids, table, 20, rows, d);
  g_b->ops->embedding_forward(g_b, Dx, Dids, Dtable, 20, rows, d);
  SAME(c, "embedding_forward", Dx, x, rows * d);
  embedding_backward_f32(dtable, dx, ids, 20, rows, d);
  g_b->ops->embedding_backward(g_b, Ddtable, Ddx, Dids, 20, rows, d);
  SAME(c, "embedding_backward", Ddtable, dtable, vocab * d);
  /* log-probabilities of targets, -1 = none */
  int32_t targets[9] = {4, -1, 22, 0, 7, -1, 13, 1, 9};
  float *logits = rnd(c, rows * vocab, -6, 6), *logp = malloc(sizeof(float) * rows), *lse = malloc(sizeof(float) * rows);
  float *dlogp = rnd(c, rows, -1, 1), *dlogits = rnd(c, rows * vocab, -1, 1);
  float *Dlogits = DEVF(c, logits, rows * vocab), *Dlogp = DEVF(c, NULL, rows), *Dlse = DEVF(c, NULL, rows);
  float *Ddlogp = DEVF(c, dlogp, rows), *Ddlogits = DEVF(c, dlogits, rows * vocab);
  int32_t *Dtargets = DEVI(c, targets, rows);
  logprob_forward_f32(NULL, logp, lse, logits, targets, rows, vocab);
  g_b->ops->logprob_forward(g_b, Dlogp, Dlse, Dlogits, Dtargets, rows, vocab);
  SAME(c, "logprob_forward logp", Dlogp, logp, rows);
  SAME(c, "logprob_forward lse", Dlse, lse, rows);
  logprob_backward_f32(NULL, dlogits, dlogp, logits, lse, targets, rows, vocab);
  g_b->ops->logprob_backward(g_b, Ddlogits, Ddlogp, Dlogits, Dlse, Dtargets, rows, vocab);
  SAME(c, "logprob_backward", Ddlogits, dlogits, rows * vocab);
  free(g), free(u), free(h), free(dh), free(dg), free(du), free(table), free(x), free(dtable), free(dx);
  free(logits), free(logp), free(lse), free(dlogp), free(dlogits);
  release_all();
}

/* ---- (b) optimizer ops against train/optim ----------------------------------------------------- */

static void test_ops_optimizer(hatch_test_ctx *c) {
  const int64_t n = 5000; /* 4 full blocks of 1024 and a partial one */
  float *x = rnd(c, n, -3, 3);
  float *Dx = DEVF(c, x, n);
  double sum = -1;
  int64_t bad = -1;
  HATCH_EXPECT_OK(c, g_b->ops->sum_squares(g_b, Dx, n, &sum, &bad));
  double norm = hatch_grad_norm(x, n), mine = sqrt(sum);
  HATCH_EXPECT(c, !memcmp(&mine, &norm, sizeof norm) && bad == 0, "sum_squares: sqrt %.17g vs hatch_grad_norm %.17g, %lld non-finite",
               mine, norm, (long long)bad);
  /* clipping: scale by hatch_grad_clip's coefficient */
  float max_norm = 1.0f, coef = max_norm / ((float)norm + 1e-6f);
  g_b->ops->scale(g_b, Dx, coef, n);
  HATCH_EXPECT_OK(c, hatch_grad_clip(x, n, max_norm, NULL));
  SAME(c, "scale (clip)", Dx, x, n);
  x[17] = NAN, x[4999] = INFINITY, x[2048] = -INFINITY;
  float *Dy = DEVF(c, x, n);
  HATCH_EXPECT_OK(c, g_b->ops->sum_squares(g_b, Dy, n, &sum, &bad));
  HATCH_EXPECT(c, bad == 3 && !isfinite(sum), "sum_squares with NaN / Inf: %lld non-finite, sum %g", (long long)bad, sum);
  /* AdamW: [0, 1500) decays, [1500, 3200) does not, the rest is in no tensor (no decay) */
  const int64_t np = 4000;
  hatch_param_desc descs[2] = {{"w", 0, 1500, 2, true}, {"norm", 1500, 1700, 1, false}};
  hatch_adamw_options opt = hatch_adamw_defaults();
  opt.beta2 = 0.95f, opt.weight_decay = 0.1f;
  hatch_adamw *ad = NULL;
  HATCH_EXPECT_OK(c, hatch_adamw_create(np, descs, 2, &opt, &ad));
  float *p = rnd(c, np, -1, 1), *grads = malloc(sizeof(float) * (size_t)np);
  float *Dp = DEVF(c, p, np), *Dg = DEVF(c, NULL, np), *Dm = DEVF(c, NULL, np), *Dv = DEVF(c, NULL, np);
  const float lrs[3] = {1e-3f, 3e-4f, 7e-5f};
  for (int t = 1; ad && t <= 3; t++) {
    hatch_test_fill(c, grads, np, -2, 2);
    HATCH_EXPECT_OK(c, g_b->ops->upload(g_b, Dg, grads, sizeof(float) * (size_t)np));
    float lr = lrs[t - 1];
    HATCH_EXPECT_OK(c, hatch_adamw_step(ad, p, grads, lr, NULL));
    /* the scalars as hatch_adamw_step derives them */
    double bc1 = 1.0 - pow((double)opt.beta1, (double)t), bc2 = 1.0 - pow((double)opt.beta2, (double)t);
    float step_size = (float)((double)lr / bc1), bias2_sqrt = (float)sqrt(bc2);
    float decay = (float)(1.0 - (double)lr * (double)opt.weight_decay);
    g_b->ops->adamw(g_b, Dp, Dg, Dm, Dv, 1500, decay, opt.beta1, opt.beta2, step_size, bias2_sqrt, opt.eps);
    g_b->ops->adamw(g_b, Dp + 1500, Dg + 1500, Dm + 1500, Dv + 1500, np - 1500, 1.0f, opt.beta1, opt.beta2, step_size,
                    bias2_sqrt, opt.eps);
  }
  if (ad) {
    SAME(c, "adamw params", Dp, p, np);
    SAME(c, "adamw m", Dm, hatch_adamw_m(ad), np);
    SAME(c, "adamw v", Dv, hatch_adamw_v(ad), np);
  }
  hatch_adamw_destroy(ad);
  free(x), free(p), free(grads);
  release_all();
}

/* ---- (c) CUDA where there is none ------------------------------------------------------------- */

static void test_cuda_unavailable(hatch_test_ctx *c) {
  hatch_qwen25vl_config cfg = train_test_tiny_config();
  hatch_train_device cuda = {.kind = HATCH_TRAIN_DEVICE_CUDA, .cuda_device = 0};
  hatch_train_model *m = NULL;
  hatch_train_report rep = {{0}};
  hatch_status st = hatch_train_model_create_on(&cfg, &g_lim, 1, &cuda, &m, &rep);
  if (st == HATCH_OK) { /* a CUDA build on a machine with a GPU */
    HATCH_EXPECT(c, m && !strcmp(hatch_train_model_backend_name(m), "cuda"), "CUDA model on backend %s",
                 m ? hatch_train_model_backend_name(m) : "(none)");
    printf("    CUDA backend present\n");
  } else {
    HATCH_EXPECT(c, st == HATCH_ERR_UNSUPPORTED && !m && rep.message[0], "CUDA without CUDA: %s, '%s'", hatch_status_name(st),
                 rep.message);
    printf("    CUDA: %s (%s)\n", hatch_status_name(st), rep.message);
  }
  hatch_train_model_destroy(m);
  hatch_train_device bad = {.kind = (hatch_train_device_kind)7};
  st = hatch_train_model_create_on(&cfg, &g_lim, 1, &bad, &m, &rep);
  HATCH_EXPECT(c, st == HATCH_ERR_INVALID_ARGUMENT && !m, "unknown device kind: %s", hatch_status_name(st));
}

int main(int argc, char **argv) {
  snprintf(g_dir, sizeof g_dir, "/tmp/hatch_train_backend_XXXXXX");
  if (!mkdtemp(g_dir)) return 1;
  for (int k = 0; k < 2; k++) g_px[k] = train_test_image(TRAIN_TEST_SAMPLE_W[k], TRAIN_TEST_SAMPLE_H[k], k);
  if (train_backend_cpu_create(3, true, &g_b) != HATCH_OK) return 1;
  static const hatch_test_case cases[] = {
      {"model_separate_memory_bitwise", test_model_separate_memory, false},
      {"push_pull_gguf", test_push_pull, false},
      {"ops_memory", test_ops_memory, false},
      {"ops_layers", test_ops_layers, false},
      {"ops_attention", test_ops_attention, false},
      {"ops_pointwise", test_ops_pointwise, false},
      {"ops_optimizer", test_ops_optimizer, false},
      {"cuda_unavailable", test_cuda_unavailable, false},
  };
  int rc = hatch_test_main(argc, argv, cases, (int)(sizeof cases / sizeof *cases));
  train_backend_destroy(g_b);
  for (int k = 0; k < 2; k++) free(g_px[k]);
  rmdir(g_dir);
  return rc;
}
