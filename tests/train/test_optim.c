/* The optimizer: AdamW against torch.optim.AdamW + clip_grad_norm_ (fixture from
 * tests/fixtures/optim/gen_adamw_torch.py) and against an independent double-precision AdamW
 * written here; clipping; the NaN/Inf guard; the learning-rate schedule. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "hatch/train_optim.h"

/* ---- torch fixture ----------------------------------------------------------------------------- */

typedef struct fixture {
  int32_t n, steps, n_tensors;
  float beta1, beta2, eps, wd, max_norm;
  int32_t elems[16], decay[16];
  float *lr, *p0, *grads, *norms, *after; /* (steps) (n) (steps, n) (steps) (steps, n) */
  uint8_t *blob;
} fixture;

static bool load_fixture(fixture *f) {
  FILE *fp = fopen(HATCH_FIXTURE_DIR "/optim/adamw_torch.bin", "rb");
  if (!fp) return false;
  f->blob = malloc(1 << 20);
  size_t size = fread(f->blob, 1, 1 << 20, fp);
  fclose(fp);
  uint8_t *p = f->blob;
  if (size < 32) return false;
  memcpy(&f->n, p, 4), memcpy(&f->steps, p + 4, 4), memcpy(&f->n_tensors, p + 8, 4);
  memcpy(&f->beta1, p + 12, 4), memcpy(&f->beta2, p + 16, 4), memcpy(&f->eps, p + 20, 4);
  memcpy(&f->wd, p + 24, 4), memcpy(&f->max_norm, p + 28, 4);
  if (f->n_tensors > 16 || f->n <= 0 || f->steps <= 0) return false;
  p += 32;
  for (int i = 0; i < f->n_tensors; i++, p += 8) memcpy(&f->elems[i], p, 4), memcpy(&f->decay[i], p + 4, 4);
  size_t need = (size_t)(p - f->blob) + 4 * ((size_t)f->steps * (2 + 2 * (size_t)f->n) + (size_t)f->n);
  if (size != need) return false;
  f->lr = (float *)p, p += 4 * f->steps;
  f->p0 = (float *)p, p += 4 * (size_t)f->n;
  f->grads = (float *)p, p += 4 * (size_t)f->steps * (size_t)f->n;
  f->norms = (float *)p, p += 4 * f->steps;
  f->after = (float *)p;
  return true;
}

static void test_adamw_vs_torch(hatch_test_ctx *c) {
  fixture f = {0};
  HATCH_EXPECT(c, load_fixture(&f), "cannot load optim/adamw_torch.bin");
  if (c->failures) {
    free(f.blob);
    return;
  }
  hatch_param_desc d[16];
  int64_t off = 0;
  for (int i = 0; i < f.n_tensors; i++) {
    d[i] = (hatch_param_desc){"t", off, f.elems[i], f.decay[i] ? 2 : 1, f.decay[i] != 0};
    off += f.elems[i];
  }
  HATCH_EXPECT(c, off == f.n, "tensor sizes add up to %lld, not %d", (long long)off, f.n);
  hatch_adamw_options o = {f.beta1, f.beta2, f.eps, f.wd};
  hatch_adamw *a = NULL;
  HATCH_EXPECT_OK(c, hatch_adamw_create(f.n, d, f.n_tensors, &o, &a));
  float *p = malloc((size_t)f.n * sizeof *p), *g = malloc((size_t)f.n * sizeof *g);
  memcpy(p, f.p0, (size_t)f.n * sizeof *p);
  double worst = 0;
  int exact = 0;
  for (int s = 0; a && s < f.steps; s++) {
    memcpy(g, f.grads + (size_t)s * (size_t)f.n, (size_t)f.n * sizeof *g);
    float norm = 0;
    HATCH_EXPECT_OK(c, hatch_grad_clip(g, f.n, f.max_norm, &norm));
    HATCH_EXPECT(c, fabsf(norm - f.norms[s]) <= 1e-6f * f.norms[s], "step %d: norm %.9g, torch %.9g", s, norm,
                 f.norms[s]);
    HATCH_EXPECT_OK(c, hatch_adamw_step(a, p, g, f.lr[s], NULL));
    const float *want = f.after + (size_t)s * (size_t)f.n;
    for (int i = 0; i < f.n; i++) {
      double err = fabs((double)p[i] - want[i]) / (fabs(want[i]) + 1e-3);
      if (err > worst) worst = err;
      exact += p[i] == want[i];
    }
  }
  /* The same float32 op order as torch: differences come only from the clip norm's summation
   * order (double here, float32 pairwise there). */
  HATCH_EXPECT(c, worst < 2e-6, "params differ from torch by %.3g (relative)", worst);
  fprintf(stderr, "  adamw vs torch: %d of %d values bit-identical, worst relative error %.3g\n", exact,
          f.n * f.steps, worst);
  HATCH_EXPECT(c, hatch_adamw_step_count(a) == f.steps, "step count %lld", (long long)hatch_adamw_step_count(a));
  hatch_adamw_destroy(a);
  free(p), free(g), free(f.blob);
}

/* ---- independent reference --------------------------------------------------------------------- */

/* Textbook decoupled AdamW in double. */
static void ref_step(double *p, const double *g, double *m, double *v, int n, const bool *decay, double lr, double b1,
                     double b2, double eps, double wd, int t) {
  for (int i = 0; i < n; i++) {
    if (decay[i]) p[i] -= lr * wd * p[i];
    m[i] = b1 * m[i] + (1 - b1) * g[i];
    v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
    double mh = m[i] / (1 - pow(b1, t)), vh = v[i] / (1 - pow(b2, t));
    p[i] -= lr * mh / (sqrt(vh) + eps);
  }
}

static void test_adamw_vs_reference(hatch_test_ctx *c) {
  enum { N = 37, STEPS = 25 };
  /* Tensors: [0, 12) decays (a 3x4 matrix), [12, 15) not (bias), gap [15, 17) (no tensor: no
   * decay), [17, 37) decays. Odd sizes on purpose. */
  hatch_param_desc d[3] = {{"w1", 0, 12, 2, true}, {"b1", 12, 3, 1, false}, {"w2", 17, 20, 2, true}};
  bool decay[N];
  for (int i = 0; i < N; i++) decay[i] = i < 12 || i >= 17;
  hatch_adamw_options o = {0.85f, 0.98f, 1e-6f, 0.2f};
  hatch_adamw *a = NULL;
  HATCH_EXPECT_OK(c, hatch_adamw_create(N, d, 3, &o, &a));
  if (!a) return;
  float p[N], g[N];
  double rp[N], rg[N], rm[N] = {0}, rv[N] = {0};
  hatch_test_fill(c, p, N, -1, 1);
  for (int i = 0; i < N; i++) rp[i] = p[i];
  double worst = 0;
  for (int t = 1; t <= STEPS; t++) {
    hatch_test_fill(c, g, N, -2, 2);
    if (t == 3) g[5] = 0; /* a zero gradient: only decay moves it */
    for (int i = 0; i < N; i++) rg[i] = g[i];
    float lr = 0.01f * (float)t / STEPS;
    HATCH_EXPECT_OK(c, hatch_adamw_step(a, p, g, lr, NULL));
    ref_step(rp, rg, rm, rv, N, decay, lr, o.beta1, o.beta2, o.eps, o.weight_decay, t);
    for (int i = 0; i < N; i++) worst = fmax(worst, fabs(p[i] - rp[i]));
  }
  HATCH_EXPECT(c, worst < 2e-6, "AdamW differs from the double reference by %.3g", worst);
  /* The moments are exposed for checkpoints. */
  HATCH_EXPECT(c, fabs(hatch_adamw_m(a)[7] - rm[7]) < 1e-6 && fabs(hatch_adamw_v(a)[7] - rv[7]) < 1e-6,
               "moments m %.9g/%.9g v %.9g/%.9g", hatch_adamw_m(a)[7], rm[7], hatch_adamw_v(a)[7], rv[7]);
  hatch_adamw_destroy(a);
}

static void test_adamw_decay_only(hatch_test_ctx *c) {
  /* Zero gradients: m = v = 0, the Adam term is 0/(0 + eps) = 0, so decaying tensors shrink by
   * exactly (1 - lr wd) per step and the others stay put. */
  hatch_param_desc d[2] = {{"w", 0, 4, 2, true}, {"norm", 4, 4, 1, false}};
  hatch_adamw_options o = hatch_adamw_defaults();
  o.weight_decay = 0.5f;
  hatch_adamw *a = NULL;
  HATCH_EXPECT_OK(c, hatch_adamw_create(8, d, 2, &o, &a));
  float p[8] = {1, 2, 3, 4, 1, 2, 3, 4}, g[8] = {0};
  HATCH_EXPECT_OK(c, hatch_adamw_step(a, p, g, 0.1f, NULL));
  float k = (float)(1.0 - (double)0.1f * (double)0.5f); /* torch: 1 - lr wd in double */
  for (int i = 0; i < 4; i++) HATCH_EXPECT(c, p[i] == (float)(i + 1) * k, "p[%d] = %.9g", i, p[i]);
  for (int i = 4; i < 8; i++) HATCH_EXPECT(c, p[i] == (float)(i - 3), "norm p[%d] = %.9g moved", i, p[i]);
  hatch_adamw_destroy(a);
}

static void test_adamw_bad_descs(hatch_test_ctx *c) {
  hatch_adamw *a = NULL;
  hatch_param_desc overlap[2] = {{"a", 0, 10, 2, true}, {"b", 5, 10, 2, true}};
  HATCH_EXPECT(c, hatch_adamw_create(20, overlap, 2, NULL, &a) == HATCH_ERR_INVALID_ARGUMENT && !a, "overlap accepted");
  hatch_param_desc past[1] = {{"a", 15, 10, 2, true}};
  HATCH_EXPECT(c, hatch_adamw_create(20, past, 1, NULL, &a) == HATCH_ERR_INVALID_ARGUMENT && !a, "out of range accepted");
  hatch_adamw_options bad = {1.0f, 0.9f, 1e-8f, 0};
  HATCH_EXPECT(c, hatch_adamw_create(20, NULL, 0, &bad, &a) == HATCH_ERR_INVALID_ARGUMENT, "beta1 = 1 accepted");
  hatch_adamw_destroy(NULL);
}

/* ---- NaN guard ----------------------------------------------------------------------------------- */

static void test_nan_guard(hatch_test_ctx *c) {
  hatch_param_desc d[2] = {{"tok_embd", 0, 100, 2, true}, {"blk.0.attn_norm.weight", 100, 20, 1, false}};
  hatch_adamw *a = NULL;
  HATCH_EXPECT_OK(c, hatch_adamw_create(120, d, 2, NULL, &a));
  if (!a) return;
  float p[120], g[120], p_before[120];
  hatch_test_fill(c, p, 120, -1, 1);
  hatch_test_fill(c, g, 120, -1, 1);
  HATCH_EXPECT_OK(c, hatch_adamw_step(a, p, g, 1e-3f, NULL));
  memcpy(p_before, p, sizeof p);
  float m7 = hatch_adamw_m(a)[7];
  const float bad[3] = {NAN, INFINITY, -INFINITY};
  for (int k = 0; k < 3; k++) {
    float g2[120];
    memcpy(g2, g, sizeof g2);
    g2[107] = bad[k];
    g2[115] = NAN; /* the first bad one is reported */
    hatch_optim_report r;
    hatch_status st = hatch_adamw_step(a, p, g2, 1e-3f, &r);
    HATCH_EXPECT(c, st == HATCH_ERR_CORRUPT, "non-finite grad: %s", hatch_status_name(st));
    HATCH_EXPECT(c, r.index == 107, "reported index %lld", (long long)r.index);
    HATCH_EXPECT(c, strstr(r.message, "blk.0.attn_norm.weight'[7]") != NULL, "message: %s", r.message);
    HATCH_EXPECT(c, memcmp(p, p_before, sizeof p) == 0 && hatch_adamw_m(a)[7] == m7 && hatch_adamw_step_count(a) == 1,
                 "state changed by a refused step");
    float norm = 0;
    HATCH_EXPECT(c, hatch_grad_clip(g2, 120, 1.0f, &norm) == HATCH_ERR_CORRUPT, "clip accepted a NaN");
    HATCH_EXPECT(c, g2[0] == g[0], "clip changed grads on NaN");
  }
  /* Large finite gradients are fine; a huge one that overflows the float sum is not an issue in double. */
  g[3] = 3e38f;
  HATCH_EXPECT_OK(c, hatch_grad_check_finite(g, 120, d, 2, NULL));
  hatch_adamw_destroy(a);
}

/* ---- clipping ------------------------------------------------------------------------------------ */

static void test_clip(hatch_test_ctx *c) {
  float g[2] = {3, 4}, norm = 0;
  HATCH_EXPECT_OK(c, hatch_grad_clip(g, 2, 10.0f, &norm));
  HATCH_EXPECT(c, norm == 5.0f && g[0] == 3 && g[1] == 4, "no clip expected: norm %g, g %g %g", norm, g[0], g[1]);
  HATCH_EXPECT_OK(c, hatch_grad_clip(g, 2, 1.0f, &norm));
  float coef = 1.0f / (5.0f + 1e-6f);
  HATCH_EXPECT(c, norm == 5.0f && g[0] == 3 * coef && g[1] == 4 * coef, "clip: norm %g, g %.9g %.9g", norm, g[0], g[1]);
  HATCH_EXPECT(c, fabs(hatch_grad_norm(g, 2) - 1.0) < 1e-6, "after clip the norm is %.9g", hatch_grad_norm(g, 2));
  /* Long vector: the norm matches a plain double sum. */
  enum { N = 100003 };
  float *big = malloc(N * sizeof *big);
  hatch_test_fill(c, big, N, -1, 1);
  double ref = 0;
  for (int i = 0; i < N; i++) ref += (double)big[i] * big[i];
  HATCH_EXPECT(c, fabs(hatch_grad_norm(big, N) - sqrt(ref)) < 1e-9 * sqrt(ref), "long norm");
  free(big);
}

/* ---- schedule ------------------------------------------------------------------------------------ */

static void test_lr_schedule(hatch_test_ctx *c) {
  hatch_lr_schedule s = {1e-3f, 1e-4f, 10, 110};
  HATCH_EXPECT(c, fabsf(hatch_lr_at(&s, 0) - 1e-4f) < 1e-10f, "lr(0) = %.9g", hatch_lr_at(&s, 0));
  HATCH_EXPECT(c, fabsf(hatch_lr_at(&s, 4) - 5e-4f) < 1e-10f, "lr(4) = %.9g", hatch_lr_at(&s, 4));
  HATCH_EXPECT(c, hatch_lr_at(&s, 9) == 1e-3f && hatch_lr_at(&s, 10) == 1e-3f, "peak %.9g %.9g", hatch_lr_at(&s, 9),
               hatch_lr_at(&s, 10));
  HATCH_EXPECT(c, fabsf(hatch_lr_at(&s, 60) - 5.5e-4f) < 1e-9f, "midpoint lr(60) = %.9g", hatch_lr_at(&s, 60));
  HATCH_EXPECT(c, fabsf(hatch_lr_at(&s, 35) - (1e-4f + 0.9e-3f * 0.5f * (1 + cosf(3.14159265f / 4)))) < 1e-9f,
               "quarter lr(35) = %.9g", hatch_lr_at(&s, 35));
  HATCH_EXPECT(c, hatch_lr_at(&s, 110) == 1e-4f && hatch_lr_at(&s, 5000) == 1e-4f, "after total");
  for (int64_t t = 10; t < 110; t++)
    HATCH_EXPECT(c, hatch_lr_at(&s, t + 1) <= hatch_lr_at(&s, t), "not decreasing at %lld", (long long)t);
  hatch_lr_schedule nowarm = {2e-3f, 0, 0, 100};
  HATCH_EXPECT(c, hatch_lr_at(&nowarm, 0) == 2e-3f, "no warmup: lr(0) = %.9g", hatch_lr_at(&nowarm, 0));
}

int main(int argc, char **argv) {
  static const hatch_test_case cases[] = {
      {"adamw_vs_torch", test_adamw_vs_torch, false},     {"adamw_vs_reference", test_adamw_vs_reference, false},
      {"adamw_decay_only", test_adamw_decay_only, false}, {"adamw_bad_descs", test_adamw_bad_descs, false},
      {"nan_guard", test_nan_guard, false},               {"clip", test_clip, false},
      {"lr_schedule", test_lr_schedule, false},
  };
  return hatch_test_main(argc, argv, cases, (int)(sizeof cases / sizeof cases[0]));
}
