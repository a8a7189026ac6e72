/* The whole model and the whole trainer on CUDA against the CPU reference (issue 6's parity):
 *   gpu_model_fp32     the tiny test config (GQA, windowed and full vision blocks, two images): logits,
 *                      log-probabilities, vision features, mean cross-entropy and every gradient tensor
 *                      (LM backward, backward from d_logits, the vision tower alone) against the CPU;
 *   gpu_model_small    the same on the "small" preset (the shipped model's shape, 1.1 M parameters);
 *   gpu_model_bf16     the tiny config with bf16 matmuls (fp32 master weights) against the fp32 CPU;
 *   gpu_training_fp32  hatch-train's tiny run on CUDA: caption, PaStA, QA and ActoR steps, losses and
 *                      the weights after 8 optimizer steps against the CPU run; then resumed from the
 *                      checkpoint into GRPO (rollouts, rewards, KL's reference model on the device);
 *   gpu_training_bf16  the same 8 steps with bf16 matmuls against the fp32 CPU losses;
 *   ranks_nccl         2 ranks through NCCL on cuda:0 and cuda:1 against one rank on cuda:0.
 * Errors are max |cuda - cpu| / max |cpu| per tensor (absolute when the CPU's is all zero), each printed.
 *
 * argv[1] selects the cases whose name contains it; without one, the single-GPU cases ("gpu_").
 * Without a CUDA device, or built without CUDA, it prints "SKIP: <why>" and exits 77 (ctest: Skipped);
 * "ranks" also exits 77 without a second device or NCCL. Built with -DHATCH_CUDA_EMU=ON the same
 * checks run the kernels on the CPU emulation (train/cuda/emu), whose cuBLAS is a reference loop:
 * the fp32 errors seen there are smaller than a GPU's. HATCH_TEST_CUDA_DEVICE picks the device (0).
 * HATCH_TEST_CUDA_DRY_RUN=1 runs every case with the CPU backend on separate memory in CUDA's place
 * (the device code paths, bitwise the reference): a check of this test's own logic, not of CUDA;
 * tools/test.sh runs it so. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "train/train_test_util.h"
#include "hatch/tokenizer.h"
#include "hatch/train_model.h"
#include "loop/trainer_comm.h"
#include "model/train_backend.h"

static char g_dir[128];
static int g_cuda_device;
static bool g_dry; /* HATCH_TEST_CUDA_DRY_RUN=1: the "device" is the CPU with separate memory */

static hatch_train_device cuda_device(bool bf16) {
  if (g_dry) return (hatch_train_device){.kind = HATCH_TRAIN_DEVICE_CPU, .cpu_separate_memory = true};
  return (hatch_train_device){.kind = HATCH_TRAIN_DEVICE_CUDA, .cuda_device = g_cuda_device, .bf16 = bf16};
}

/* ---- comparisons ------------------------------------------------------------------------------- */

/* max |got - ref| / max |ref| (absolute when ref is all zero); +inf for a non-finite value in got. */
static double rel_err(const float *got, const float *ref, int64_t n) {
  double worst = 0, scale = 0;
  for (int64_t i = 0; i < n; i++) {
    if (!isfinite(got[i]) || !isfinite(ref[i])) return INFINITY;
    worst = fmax(worst, fabs((double)got[i] - ref[i]));
    scale = fmax(scale, fabs((double)ref[i]));
  }
  return scale > 0 ? worst / scale : worst;
}

static void expect_close(hatch_test_ctx *c, const char *what, const float *got, const float *ref, int64_t n, double tol) {
  double e = got && ref ? rel_err(got, ref, n) : INFINITY;
  printf("    %-34s %.3g (tolerance %.0e)\n", what, e, tol);
  HATCH_EXPECT(c, e <= tol, "%s: relative error %g over %g", what, e, tol);
}

/* Every gradient tensor of dev (pulled) against ref's: the worst tensor printed, every one within tol.
 * Also the cosine of the whole gradient vectors, which must be >= min_cos. */
static void expect_grads_close(hatch_test_ctx *c, hatch_train_model *ref, hatch_train_model *dev, const char *what,
                               double tol, double min_cos) {
  HATCH_EXPECT_OK(c, hatch_train_model_pull(dev));
  const float *a = hatch_train_model_grads(ref), *b = hatch_train_model_grads(dev);
  double worst = 0, ab = 0, aa = 0, bb = 0;
  const char *worst_name = "-";
  int over = 0, nonzero = 0, n_t = hatch_train_model_n_tensors(ref);
  for (int i = 0; i < n_t; i++) {
    const hatch_train_tensor *t = hatch_train_model_tensor(ref, i);
    double e = rel_err(b + t->offset, a + t->offset, t->count);
    for (int64_t k = 0; k < t->count; k++) {
      double x = a[t->offset + k], y = b[t->offset + k];
      ab += x * y, aa += x * x, bb += y * y;
    }
    bool any = false;
    for (int64_t k = 0; k < t->count && !any; k++) any = a[t->offset + k] != 0;
    nonzero += any;
    if (e > tol) {
      over++;
      fprintf(stderr, "  %s: %s relative error %g\n", what, t->name, e);
    }
    if (i == 0 || !(e <= worst)) worst = e, worst_name = t->name;
  }
  double cosine = aa > 0 && bb > 0 ? ab / sqrt(aa * bb) : 0;
  printf("    %-34s worst tensor %s %.3g (tolerance %.0e), cosine 1 - %.2g, %d of %d tensors with a gradient\n", what,
         worst_name, worst, tol, 1 - cosine, nonzero, n_t);
  HATCH_EXPECT(c, over == 0, "%s: %d of %d gradient tensors over %g", what, over, n_t, tol);
  HATCH_EXPECT(c, cosine >= min_cos, "%s: gradient cosine %.9f under %.9f", what, cosine, min_cos);
  /* a check of zeros against zeros proves nothing: most tensors must get a gradient */
  HATCH_EXPECT(c, nonzero * 4 >= n_t * 3, "%s: only %d of %d tensors have a gradient", what, nonzero, n_t);
}

/* ---- the model --------------------------------------------------------------------------------- */

static uint8_t *g_px[2]; /* the sample's images (train_test_build_sample) */

static const hatch_train_limits g_lim = {.max_images = 2, .max_image_pixels = 112 * 84, .max_tokens = 96};

/* device NULL: the CPU reference. The same HF-like random init on both (seed 5). */
static hatch_train_model *make_model(hatch_test_ctx *c, const hatch_qwen25vl_config *cfg, const hatch_train_device *device) {
  hatch_train_model *m = NULL;
  hatch_train_report rep = {{0}};
  hatch_status st = hatch_train_model_create_on(cfg, &g_lim, 2, device, &m, &rep);
  HATCH_EXPECT(c, st == HATCH_OK, "create on %s: %s %s", device ? "cuda" : "cpu", hatch_status_name(st), rep.message);
  if (m) hatch_train_model_init_random(m, 5);
  return m;
}

typedef struct model_tolerances {
  double logits, logp, features, loss, grads, min_cos;
} model_tolerances;

static void model_parity(hatch_test_ctx *c, const hatch_qwen25vl_config *cfg, bool bf16, const model_tolerances *tol) {
  hatch_train_device dev_kind = cuda_device(bf16);
  hatch_train_model *ref = make_model(c, cfg, NULL), *dev = make_model(c, cfg, &dev_kind);
  if (!ref || !dev) goto done;
  HATCH_EXPECT(c, !strcmp(hatch_train_model_backend_name(dev), g_dry ? "cpu" : "cuda"), "backend %s",
               hatch_train_model_backend_name(dev));
  printf("    %lld parameters in %d tensors, %s matmuls\n", (long long)hatch_train_model_n_params(ref),
         hatch_train_model_n_tensors(ref), bf16 ? "bf16" : "fp32");
  train_test_sample s;
  train_test_build_sample(cfg, g_px, &s);
  int64_t V = cfg->text.vocab_size, dm = cfg->vision.out_hidden_size;
  /* forward with targets, backward from d_logp */
  float logp_ref[96], logp_dev[96];
  hatch_train_model_zero_grads(ref);
  hatch_train_model_zero_grads(dev);
  HATCH_EXPECT_OK(c, hatch_train_forward(ref, s.ids, s.n, s.img, 2, s.targets, logp_ref));
  HATCH_EXPECT_OK(c, hatch_train_forward(dev, s.ids, s.n, s.img, 2, s.targets, logp_dev));
  expect_close(c, "log-probabilities of the targets", logp_dev, logp_ref, s.n, tol->logp);
  int n_ref = 0, n_dev = 0;
  const float *l_ref = hatch_train_logits(ref, &n_ref, NULL), *l_dev = hatch_train_logits(dev, &n_dev, NULL);
  HATCH_EXPECT(c, n_ref == s.n && n_dev == s.n, "logit rows %d / %d", n_ref, n_dev);
  int64_t rows_ref = 0, rows_dev = 0;
  const float *f_ref = hatch_train_vision_features(ref, &rows_ref), *f_dev = hatch_train_vision_features(dev, &rows_dev);
  HATCH_EXPECT(c, rows_ref == 14 && rows_dev == 14, "vision rows %lld / %lld", (long long)rows_ref, (long long)rows_dev);
  if (n_ref != s.n || n_dev != s.n || rows_ref != 14 || rows_dev != 14) goto done;
  expect_close(c, "logits", l_dev, l_ref, s.n * V, tol->logits);
  expect_close(c, "vision features (in the LM forward)", f_dev, f_ref, rows_ref * dm, tol->features);
  HATCH_EXPECT_OK(c, hatch_train_backward(ref, s.w));
  HATCH_EXPECT_OK(c, hatch_train_backward(dev, s.w));
  expect_grads_close(c, ref, dev, "backward(d_logp)", tol->grads, tol->min_cos);
  /* backward from d_logits, accumulating onto the grads above */
  float *dl = malloc(sizeof(float) * (size_t)(s.n * V));
  if (!dl) goto done;
  hatch_test_fill(c, dl, s.n * V, -0.5f, 0.5f);
  HATCH_EXPECT_OK(c, hatch_train_backward_logits(ref, dl));
  HATCH_EXPECT_OK(c, hatch_train_backward_logits(dev, dl));
  expect_grads_close(c, ref, dev, "+ backward_logits (accumulated)", tol->grads, tol->min_cos);
  free(dl);
  /* the vision tower alone (PaStA's path) */
  hatch_train_model_zero_grads(ref);
  hatch_train_model_zero_grads(dev);
  HATCH_EXPECT_OK(c, hatch_train_vision_forward(ref, s.img, 2));
  HATCH_EXPECT_OK(c, hatch_train_vision_forward(dev, s.img, 2));
  f_ref = hatch_train_vision_features(ref, &rows_ref), f_dev = hatch_train_vision_features(dev, &rows_dev);
  expect_close(c, "vision features (tower alone)", f_dev, f_ref, rows_ref * dm, tol->features);
  float *df = malloc(sizeof(float) * (size_t)(rows_ref * dm));
  if (!df) goto done;
  hatch_test_fill(c, df, rows_ref * dm, -1.0f, 1.0f);
  HATCH_EXPECT_OK(c, hatch_train_vision_backward(ref, df));
  HATCH_EXPECT_OK(c, hatch_train_vision_backward(dev, df));
  /* only the vision tower has a gradient here: check its tensors by the cosine and per tensor */
  HATCH_EXPECT_OK(c, hatch_train_model_pull(dev));
  double e = rel_err(hatch_train_model_grads(dev), hatch_train_model_grads(ref), hatch_train_model_n_params(ref));
  printf("    %-34s %.3g of the largest (tolerance %.0e)\n", "vision_backward, all gradients", e, tol->grads);
  HATCH_EXPECT(c, e <= tol->grads, "vision_backward: gradients differ by %g", e);
  free(df);
  /* mean cross-entropy (the QA / SFT loss) and its gradients */
  float loss_ref = 0, loss_dev = 0;
  hatch_train_model_zero_grads(ref);
  hatch_train_model_zero_grads(dev);
  HATCH_EXPECT_OK(c, hatch_train_mean_ce(ref, s.ids, s.n, s.img, 2, s.targets, true, &loss_ref, NULL));
  HATCH_EXPECT_OK(c, hatch_train_mean_ce(dev, s.ids, s.n, s.img, 2, s.targets, true, &loss_dev, NULL));
  double le = fabs((double)loss_dev - loss_ref) / fabs((double)loss_ref);
  printf("    %-34s %.9g vs %.9g: %.3g relative (tolerance %.0e)\n", "mean cross-entropy", loss_dev, loss_ref, le, tol->loss);
  HATCH_EXPECT(c, loss_ref > 0 && le <= tol->loss, "loss %g vs %g", loss_dev, loss_ref);
  expect_grads_close(c, ref, dev, "mean_ce gradients", tol->grads, tol->min_cos);
done:
  hatch_train_model_destroy(ref);
  hatch_train_model_destroy(dev);
}

/* fp32: cuBLAS and the fixed-tree reductions sum in another order than the CPU; the differences are
 * float rounding, amplified through the layers: 1e-4 of the largest value is ~800 ulps of headroom. */
static const model_tolerances g_fp32 = {1e-4, 1e-4, 1e-4, 1e-5, 1e-3, 0.999999};

static void gpu_model_fp32(hatch_test_ctx *c) {
  hatch_qwen25vl_config cfg = train_test_tiny_config();
  model_parity(c, &cfg, false, &g_fp32);
}

static void gpu_model_small(hatch_test_ctx *c) {
  hatch_tokenizer *tok = NULL;
  hatch_tokenizer_error te;
  hatch_qwen25vl_config cfg;
  char why[256] = "the tokenizer did not load";
  HATCH_EXPECT_OK(c, hatch_tokenizer_load_json(TRAIN_TEST_TOKENIZER, &tok, &te));
  hatch_status st = tok ? hatch_trainer_preset_config("small", tok, &cfg, why) : HATCH_ERR_NOT_FOUND;
  hatch_tokenizer_destroy(tok);
  HATCH_EXPECT(c, st == HATCH_OK, "small preset: %s", why);
  if (st == HATCH_OK) model_parity(c, &cfg, false, &g_fp32);
}

/* bf16: every matmul operand rounded to 8 significant bits (relative 2^-9), fp32 accumulation. On the
 * emulation (the same rounding, fp32 sums): logits 2.4e-3, features 3.8e-3, the worst gradient tensor
 * 1.6e-2 (a norm weight), gradient cosine 1 - 9e-6, loss 1.7e-5 relative: the bounds sit 3-10x above. */
static void gpu_model_bf16(hatch_test_ctx *c) {
  hatch_qwen25vl_config cfg = train_test_tiny_config();
  static const model_tolerances bf16 = {1e-2, 1e-2, 1e-2, 1e-3, 5e-2, 0.9999};
  model_parity(c, &cfg, true, &bf16);
}

/* ---- the trainer ------------------------------------------------------------------------------- */

/* max |got - ref| within 2e-4 of max |ref| (n weights). */
static void expect_weights_close(hatch_test_ctx *c, const float *got, const float *ref, int64_t n, const char *what) {
  double wmax = 0, dmax = 0;
  for (int64_t i = 0; i < n; i++) wmax = fmax(wmax, fabs(ref[i])), dmax = fmax(dmax, fabs((double)got[i] - ref[i]));
  printf("    %s: max |dw| %.3g = %.3g of max |w| (tolerance 2e-4)\n", what, dmax, wmax > 0 ? dmax / wmax : dmax);
  HATCH_EXPECT(c, wmax > 0 && dmax <= 2e-4 * wmax, "%s: weights differ by %g (max |w| %g)", what, dmax, wmax);
}

#define TRAIN_STAGES "caption:2,pasta:2,qa:2,actor:2,grpo:2"

/* The tiny run (every stage, batch 2, KL on) in dir on device (NULL: the CPU). */
static void tiny_run_options(hatch_test_ctx *c, hatch_trainer_options *o, const char *dir, const hatch_train_device *device) {
  train_test_tiny_options(o, dir);
  o->threads = 2;
  o->grpo.kl_beta = 0.05f;
  if (device) o->device = *device;
  char why[256];
  HATCH_EXPECT(c, hatch_trainer_parse_stages(TRAIN_STAGES, o, why) == HATCH_OK, "%s", why);
}

/* The tiny run stopped after the 8 deterministic steps (before GRPO's sampling, where a
 * rounding-sized difference may pick another token and the runs part ways). */
static hatch_status train_first_8(hatch_test_ctx *c, const char *dir, const hatch_train_device *device, hatch_trainer_report *rep) {
  hatch_trainer_options o;
  tiny_run_options(c, &o, dir, device);
  o.stop_after = 8;
  return hatch_trainer_run(&o, rep);
}

/* Losses of steps 1..8 within loss_tol relative. */
static void expect_losses_close(hatch_test_ctx *c, const char *ref_dir, const char *dir, double loss_tol, const char *what) {
  double a[17], b[17], worst = 0;
  HATCH_EXPECT(c, read_metric(ref_dir, "loss", a) == 8 && read_metric(dir, "loss", b) == 8, "%s: 8 steps logged", what);
  for (int s = 1; s <= 8; s++) {
    double rel = fabs(a[s] - b[s]) / fmax(fabs(a[s]), 1e-3);
    worst = fmax(worst, isnan(rel) ? INFINITY : rel);
  }
  printf("    %s: losses of steps 1-8 within %.3g relative (tolerance %.0e); step 8: %.6g vs %.6g on the CPU\n", what,
         worst, loss_tol, b[8], a[8]);
  HATCH_EXPECT(c, worst <= loss_tol, "%s: a loss differs from the CPU's by %g relative", what, worst);
}

static char g_cpu_run[300];

static bool cpu_run_ready(hatch_test_ctx *c) {
  static int state; /* 0 not run, 1 ok, -1 failed */
  if (state == 0) {
    snprintf(g_cpu_run, sizeof g_cpu_run, "%s/cpu", g_dir);
    hatch_trainer_report rep = {""};
    state = train_first_8(c, g_cpu_run, NULL, &rep) == HATCH_OK ? 1 : -1;
    HATCH_EXPECT(c, state == 1, "CPU run: %s", rep.message);
  }
  return state == 1;
}

/* The first 8 steps on CUDA in g_dir/name, their losses against the CPU run's; false when either run failed. */
static bool train_on_cuda(hatch_test_ctx *c, const char *name, bool bf16, double loss_tol, char dir[300]) {
  if (!cpu_run_ready(c)) return false;
  snprintf(dir, 300, "%s/%s", g_dir, name);
  hatch_train_device d = cuda_device(bf16);
  hatch_trainer_report rep = {""};
  hatch_status st = train_first_8(c, dir, &d, &rep);
  HATCH_EXPECT(c, st == HATCH_OK, "CUDA %s run: %s", name, rep.message);
  if (st == HATCH_OK) expect_losses_close(c, g_cpu_run, dir, loss_tol, name);
  return st == HATCH_OK;
}

static void gpu_training_fp32(hatch_test_ctx *c) {
  char dir[300];
  if (!train_on_cuda(c, "fp32", false, 1e-4, dir)) return;
  static const char *exact[] = {"pairs", "target_tokens", "tokens"};
  for (size_t m = 0; m < sizeof exact / sizeof exact[0]; m++) {
    double a[17], b[17];
    read_metric(g_cpu_run, exact[m], a);
    read_metric(dir, exact[m], b);
    for (int s = 1; s <= 8; s++)
      HATCH_EXPECT(c, (isnan(a[s]) && isnan(b[s])) || a[s] == b[s], "step %d %s %g, CPU %g", s, exact[m], b[s], a[s]);
  }
  int64_t n[2] = {0};
  float *p = train_test_checkpoint_params(c, g_cpu_run, &n[0]), *q = train_test_checkpoint_params(c, dir, &n[1]);
  HATCH_EXPECT(c, p && q && n[0] == n[1] && n[0] > 0, "checkpoint params %lld / %lld", (long long)n[0], (long long)n[1]);
  /* As data-parallel ranks (tests/train/test_trainer_dp.c): sums in another order, carried through 8
   * AdamW steps, where a rounding-sized gradient can move a weight by a fraction of lr. */
  if (p && q && n[0] == n[1]) expect_weights_close(c, q, p, n[0], "weights after 8 steps, cuda vs cpu");
  free(p), free(q);
  /* GRPO on the device from the checkpoint: rollouts, rewards, the KL reference model */
  hatch_trainer_options o;
  hatch_train_device d = cuda_device(false);
  tiny_run_options(c, &o, dir, &d);
  o.resume = true;
  hatch_trainer_report rep = {""};
  HATCH_EXPECT(c, hatch_trainer_run(&o, &rep) == HATCH_OK, "CUDA GRPO after resume: %s", rep.message);
  double loss[17], kept[17];
  HATCH_EXPECT(c, read_metric(dir, "loss", loss) == 10, "10 steps logged after the resume");
  read_metric(dir, "rollouts_kept", kept);
  printf("    GRPO on CUDA after the resume: losses %.4g, %.4g; rollouts kept %g, %g\n", loss[9], loss[10], kept[9], kept[10]);
  HATCH_EXPECT(c, isfinite(loss[9]) && isfinite(loss[10]), "GRPO losses %g %g", loss[9], loss[10]);
}

static void gpu_training_bf16(hatch_test_ctx *c) {
  char dir[300];
  train_on_cuda(c, "bf16", true, 2e-2, dir);
}

/* ---- NCCL ranks -------------------------------------------------------------------------------- */

static void ranks_nccl(hatch_test_ctx *c) {
  char dirs[2][300];
  int64_t n[2] = {0};
  float *p[2] = {NULL, NULL};
  for (int k = 0; k < 2; k++) {
    snprintf(dirs[k], sizeof dirs[k], "%s/nccl_ranks%d", g_dir, k + 1);
    hatch_trainer_options o;
    train_test_tiny_options(&o, dirs[k]);
    o.batch = 4, o.threads = 2, o.ranks = k + 1;
    o.device = cuda_device(false);
    char why[256];
    HATCH_EXPECT(c, hatch_trainer_parse_stages("caption:2,pasta:2,qa:2,actor:2", &o, why) == HATCH_OK, "%s", why);
    hatch_trainer_report rep = {""};
    HATCH_EXPECT(c, hatch_trainer_run(&o, &rep) == HATCH_OK, "%d CUDA ranks: %s", k + 1, rep.message);
    p[k] = train_test_checkpoint_params(c, dirs[k], &n[k]);
  }
  if (p[0] && p[1] && n[0] == n[1] && n[0] > 0) {
    expect_weights_close(c, p[1], p[0], n[0], "weights, 2 NCCL ranks vs 1");
    double a[17], b[17], worst = 0;
    HATCH_EXPECT(c, read_metric(dirs[0], "loss", a) == 8 && read_metric(dirs[1], "loss", b) == 8, "8 steps logged");
    for (int s = 1; s <= 8; s++) {
      double rel = fabs(a[s] - b[s]) / fmax(fabs(a[s]), 1e-3);
      worst = fmax(worst, isnan(rel) ? INFINITY : rel);
    }
    printf("    2 NCCL ranks vs 1: losses within %.3g relative (tolerance 1e-5)\n", worst);
    HATCH_EXPECT(c, worst <= 1e-5, "losses differ by %g relative", worst);
  } else {
    HATCH_EXPECT(c, false, "rank checkpoints: %lld / %lld params", (long long)n[0], (long long)n[1]);
  }
  free(p[0]), free(p[1]);
}

/* ---- main -------------------------------------------------------------------------------------- */

/* NULL when a backend can be made on cuda:device, else why not (static text). */
static const char *cuda_missing(int device) {
  static char why[256];
  train_backend *b = NULL;
  hatch_status st = train_backend_cuda_create(device, false, &b, why);
  train_backend_destroy(b);
  return st == HATCH_OK ? NULL : why;
}

static void remove_tree(const char *dir) {
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
}

int main(int argc, char **argv) {
  const char *filter = argc > 1 ? argv[1] : "gpu_";
  const char *env = getenv("HATCH_TEST_CUDA_DEVICE");
  g_cuda_device = env ? atoi(env) : 0;
  g_dry = getenv("HATCH_TEST_CUDA_DRY_RUN") && !strcmp(getenv("HATCH_TEST_CUDA_DRY_RUN"), "1");
  const char *why = g_dry ? NULL : cuda_missing(g_cuda_device);
  if (g_dry) {
    printf("DRY RUN: the CPU backend with separate memory stands in for CUDA (checks this test, not CUDA)\n");
    if (strstr("ranks_nccl", filter)) return printf("SKIP: no NCCL ranks in a dry run\n"), 77;
  } else if (why) {
    printf("SKIP: no CUDA device %d: %s\n", g_cuda_device, why);
    return 77;
  }
  if (strstr("ranks_nccl", filter)) {
    int devices[2] = {g_cuda_device, g_cuda_device + 1}; /* the trainer's ranks: cuda:(device + r) */
    trainer_comm *comm = NULL;
    char nccl_why[256] = "";
    if ((why = cuda_missing(devices[1])) != NULL) {
      printf("SKIP: NCCL ranks need two CUDA devices: cuda:%d: %s\n", devices[1], why);
      return 77;
    }
    if (trainer_comm_create(2, devices, &comm, nccl_why) != HATCH_OK) {
      printf("SKIP: NCCL ranks: %s\n", nccl_why);
      return 77;
    }
    trainer_comm_destroy(comm);
  }
  snprintf(g_dir, sizeof g_dir, "/tmp/hatch_cuda_model_XXXXXX");
  if (!mkdtemp(g_dir)) return perror("mkdtemp"), 1;
  for (int k = 0; k < 2; k++) g_px[k] = train_test_image(TRAIN_TEST_SAMPLE_W[k], TRAIN_TEST_SAMPLE_H[k], k);
  static const hatch_test_case cases[] = {
      {"gpu_model_fp32", gpu_model_fp32, false},   {"gpu_model_small", gpu_model_small, false},
      {"gpu_model_bf16", gpu_model_bf16, false},   {"gpu_training_fp32", gpu_training_fp32, false},
      {"gpu_training_bf16", gpu_training_bf16, false}, {"ranks_nccl", ranks_nccl, false},
  };
  char *args[2] = {argv[0], (char *)filter};
  int rc = hatch_test_main(2, args, cases, (int)(sizeof cases / sizeof cases[0]));
  for (int k = 0; k < 2; k++) free(g_px[k]);
  remove_tree(g_dir);
  return rc;
}
