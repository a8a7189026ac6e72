/* The trainer's layers (train/model/layer_*.h) against central finite differences in double: the
 * templates are instantiated here with REAL = double, each backward is checked on odd shapes with
 * loss = sum(out * R) for a random R (eps 1e-6; |fd - analytic| / max(|fd| + |analytic|, 1e-3) <
 * 1e-6), and the library's fp32 instantiation must agree with the double one (outputs and
 * gradients within 1e-5 of the largest magnitude) and be bitwise the same with 1 and 3 threads. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "model/train_layers.h"

#define REAL double
#define SUFFIX f64
#include "model/layers_all.h"
#undef REAL
#undef SUFFIX

#define FD_EPS 1e-6
#define FD_TOL 1e-6
#define F32_TOL 1e-5

static hatch_threadpool *g_pool; /* 3 threads */

static double *rnd(hatch_test_ctx *c, int64_t n, double lo, double hi) {
  double *x = malloc(sizeof(double) * (size_t)(n > 0 ? n : 1));
  for (int64_t i = 0; i < n; i++) x[i] = hatch_test_uniform(c, (float)lo, (float)hi);
  return x;
}

static double *zeros(int64_t n) { return calloc((size_t)(n > 0 ? n : 1), sizeof(double)); }

static float *to_f(const double *x, int64_t n) {
  float *f = malloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
  for (int64_t i = 0; i < n; i++) f[i] = (float)x[i];
  return f;
}

static double dotd(const double *a, const double *b, int64_t n) {
  double s = 0;
  for (int64_t i = 0; i < n; i++) s += a[i] * b[i];
  return s;
}

typedef double (*loss_fn)(void *ctx);

/* Central differences of f over x (n) against analytic (n). */
static void fd_check(hatch_test_ctx *c, const char *what, loss_fn f, void *ctx, double *x, int64_t n,
                     const double *analytic) {
  double worst = 0;
  int64_t at = -1;
  for (int64_t i = 0; i < n; i++) {
    double save = x[i];
    x[i] = save + FD_EPS;
    double lp = f(ctx);
    x[i] = save - FD_EPS;
    double lm = f(ctx);
    x[i] = save;
    double fd = (lp - lm) / (2 * FD_EPS);
    double den = fabs(fd) + fabs(analytic[i]);
    double err = fabs(fd - analytic[i]) / (den > 1e-3 ? den : 1e-3);
    if (err > worst) worst = err, at = i;
  }
  HATCH_EXPECT(c, worst < FD_TOL, "%s: relative error %.3g at %lld", what, worst, (long long)at);
}

/* max |a - b| / max(max |b|, floor) between the fp32 and double results. The floor is the size of
 * the terms that cancel where the exact result is tiny (RMSNorm's dx at d = 1). */
static void f32_check_floor(hatch_test_ctx *c, const char *what, const float *a, const double *b, int64_t n,
                            double floor) {
  double diff = 0, mag = floor > 1e-30 ? floor : 1e-30;
  for (int64_t i = 0; i < n; i++) {
    diff = fmax(diff, fabs((double)a[i] - b[i]));
    mag = fmax(mag, fabs(b[i]));
  }
  HATCH_EXPECT(c, diff / mag < F32_TOL, "%s: fp32 vs double %.3g", what, diff / mag);
}

static void f32_check(hatch_test_ctx *c, const char *what, const float *a, const double *b, int64_t n) {
  f32_check_floor(c, what, a, b, n, 0);
}

/* ---- linear ------------------------------------------------------------------------------------- */

typedef struct lin_ctx {
  double *x, *w, *b, *y, *r;
  int64_t n, in, out;
} lin_ctx;

static double lin_loss(void *p) {
  lin_ctx *k = p;
  linear_forward_f64(g_pool, k->y, k->x, k->w, k->b, k->n, k->in, k->out);
  return dotd(k->y, k->r, k->n * k->out);
}

static void linear_case(hatch_test_ctx *c, int64_t n, int64_t in, int64_t out) {
  lin_ctx k = {rnd(c, n * in, -1, 1), rnd(c, out * in, -1, 1), rnd(c, out, -1, 1), zeros(n * out),
               rnd(c, n * out, -1, 1), n, in, out};
  double *dx = zeros(n * in), *dw = zeros(out * in), *db = zeros(out);
  linear_backward_f64(g_pool, dx, dw, db, k.r, k.x, k.w, n, in, out);
  char what[64];
  snprintf(what, sizeof what, "linear (%lld,%lld,%lld) dx", (long long)n, (long long)in, (long long)out);
  fd_check(c, what, lin_loss, &k, k.x, n * in, dx);
  fd_check(c, "linear dw", lin_loss, &k, k.w, out * in, dw);
  fd_check(c, "linear db", lin_loss, &k, k.b, out, db);
  /* fp32, threaded and serial */
  lin_loss(&k);
  float *x = to_f(k.x, n * in), *w = to_f(k.w, out * in), *b = to_f(k.b, out), *r = to_f(k.r, n * out);
  float *y = calloc((size_t)(n * out), 4), *y1 = calloc((size_t)(n * out), 4);
  float *fdx = calloc((size_t)(n * in), 4), *fdw = calloc((size_t)(out * in), 4), *fdb = calloc((size_t)out, 4);
  float *fdw1 = calloc((size_t)(out * in), 4);
  linear_forward_f32(g_pool, y, x, w, b, n, in, out);
  linear_forward_f32(NULL, y1, x, w, b, n, in, out);
  linear_backward_f32(g_pool, fdx, fdw, fdb, r, x, w, n, in, out);
  linear_backward_f32(NULL, NULL, fdw1, NULL, r, x, w, n, in, out);
  f32_check(c, "linear y", y, k.y, n * out);
  f32_check(c, "linear dx", fdx, dx, n * in);
  f32_check(c, "linear dw", fdw, dw, out * in);
  f32_check(c, "linear db", fdb, db, out);
  HATCH_EXPECT(c, !memcmp(y, y1, sizeof(float) * (size_t)(n * out)) && !memcmp(fdw, fdw1, sizeof(float) * (size_t)(out * in)),
               "linear: threaded and serial results differ");
  free(x), free(w), free(b), free(r), free(y), free(y1), free(fdx), free(fdw), free(fdb), free(fdw1);
  free(k.x), free(k.w), free(k.b), free(k.y), free(k.r), free(dx), free(dw), free(db);
}

static void test_linear(hatch_test_ctx *c) {
  linear_case(c, 1, 1, 1);
  linear_case(c, 3, 13, 5);
  linear_case(c, 13, 17, 67); /* crosses the 8-lane dot, 8-row and 64-column tiles */
}

/* ---- rmsnorm ------------------------------------------------------------------------------------ */

typedef struct rms_ctx {
  double *x, *w, *y, *rstd, *r;
  int64_t n, d;
} rms_ctx;

static double rms_loss(void *p) {
  rms_ctx *k = p;
  rmsnorm_forward_f64(g_pool, k->y, k->rstd, k->x, k->w, 1e-5, k->n, k->d);
  return dotd(k->y, k->r, k->n * k->d);
}

static void rms_case(hatch_test_ctx *c, int64_t n, int64_t d) {
  rms_ctx k = {rnd(c, n * d, -1, 1), rnd(c, d, 0.5, 1.5), zeros(n * d), zeros(n), rnd(c, n * d, -1, 1), n, d};
  rms_loss(&k);
  double *dx = zeros(n * d), *dw = zeros(d);
  rmsnorm_backward_f64(g_pool, dx, dw, k.r, k.x, k.w, k.rstd, n, d);
  fd_check(c, "rmsnorm dx", rms_loss, &k, k.x, n * d, dx);
  fd_check(c, "rmsnorm dw", rms_loss, &k, k.w, d, dw);
  rms_loss(&k);
  float *x = to_f(k.x, n * d), *w = to_f(k.w, d), *r = to_f(k.r, n * d), *y = calloc((size_t)(n * d), 4);
  float *rs = calloc((size_t)n, 4), *fdx = calloc((size_t)(n * d), 4), *fdw = calloc((size_t)d, 4);
  rmsnorm_forward_f32(g_pool, y, rs, x, w, 1e-5f, n, d);
  rmsnorm_backward_f32(g_pool, fdx, fdw, r, x, w, rs, n, d);
  f32_check(c, "rmsnorm y", y, k.y, n * d);
  f32_check_floor(c, "rmsnorm dx", fdx, dx, n * d, 1.0); /* r, w, rstd are O(1) */
  f32_check(c, "rmsnorm dw", fdw, dw, d);
  free(x), free(w), free(r), free(y), free(rs), free(fdx), free(fdw);
  free(k.x), free(k.w), free(k.y), free(k.rstd), free(k.r), free(dx), free(dw);
}

static void test_rmsnorm(hatch_test_ctx *c) {
  rms_case(c, 1, 1);
  rms_case(c, 3, 13);
  rms_case(c, 7, 130);
}

/* ---- rope --------------------------------------------------------------------------------------- */

typedef struct rope_ctx {
  double *x, *y, *r, *freq;
  int32_t *comp, *pos;
  int64_t n, heads, hd;
} rope_ctx;

static double rope_loss(void *p) {
  rope_ctx *k = p;
  rope_forward_f64(g_pool, k->y, k->x, k->pos, k->freq, k->comp, (int)k->hd, k->n, k->heads, k->hd);
  return dotd(k->y, k->r, k->n * k->heads * k->hd);
}

static void rope_case(hatch_test_ctx *c, int mode, int64_t n, int64_t heads, int64_t hd, const int *sections) {
  int64_t len = n * heads * hd;
  rope_ctx k = {rnd(c, len, -1, 1), zeros(len), rnd(c, len, -1, 1), zeros(hd / 2), calloc((size_t)hd, 4),
                calloc((size_t)(3 * n), 4), n, heads, hd};
  for (int64_t i = 0; i < 3 * n; i++) k.pos[i] = (int32_t)(hatch_test_uniform(c, 0, 40));
  rope_table_f64(k.freq, k.comp, mode, (int)hd, 10000.0, sections);
  double *dx = zeros(len);
  rope_backward_f64(g_pool, dx, k.r, k.pos, k.freq, k.comp, (int)hd, n, heads, hd);
  fd_check(c, "rope dx", rope_loss, &k, k.x, len, dx);
  rope_loss(&k);
  float *x = to_f(k.x, len), *r = to_f(k.r, len), *y = calloc((size_t)len, 4), *fdx = calloc((size_t)len, 4);
  float ff[64];
  int32_t fc[64];
  rope_table_f32(ff, fc, mode, (int)hd, 10000.0, sections);
  rope_forward_f32(g_pool, y, x, k.pos, ff, fc, (int)hd, n, heads, hd);
  rope_backward_f32(g_pool, fdx, r, k.pos, ff, fc, (int)hd, n, heads, hd);
  f32_check(c, "rope y", y, k.y, len);
  f32_check(c, "rope dx", fdx, dx, len);
  free(x), free(r), free(y), free(fdx), free(k.x), free(k.y), free(k.r), free(k.freq), free(k.comp), free(k.pos), free(dx);
}

static void test_rope(hatch_test_ctx *c) {
  int mrope[3] = {1, 2, 1}, vision[3] = {2, 2, 0}, neox[3] = {0, 0, 0};
  rope_case(c, LAYER_ROPE_MROPE, 5, 3, 8, mrope);
  rope_case(c, LAYER_ROPE_VISION, 13, 1, 8, vision);
  rope_case(c, LAYER_ROPE_NEOX, 1, 2, 6, neox);
}

/* ---- attention ---------------------------------------------------------------------------------- */

typedef struct attn_ctx {
  double *q, *k, *v, *o, *lse, *r;
  const int32_t *bounds;
  int64_t n_bounds, n, H, KV, hd;
  bool causal;
} attn_ctx;

static double attn_loss(void *p) {
  attn_ctx *a = p;
  attention_forward_f64(g_pool, a->o, a->lse, a->q, a->k, a->v, a->bounds, a->n_bounds, a->causal,
                        1.0 / sqrt((double)a->hd), a->n, a->H, a->KV, a->hd);
  return dotd(a->o, a->r, a->n * a->H * a->hd);
}

static void attn_case(hatch_test_ctx *c, const char *name, int64_t n, int64_t H, int64_t KV, int64_t hd, bool causal,
                      const int32_t *bounds, int64_t n_bounds) {
  int64_t lq = n * H * hd, lk = n * KV * hd;
  attn_ctx a = {rnd(c, lq, -1.5, 1.5), rnd(c, lk, -1.5, 1.5), rnd(c, lk, -1, 1), zeros(lq), zeros(n * H),
                rnd(c, lq, -1, 1), bounds, n_bounds, n, H, KV, hd, causal};
  attn_loss(&a);
  double *dq = zeros(lq), *dk = zeros(lk), *dv = zeros(lk), *dsum = zeros(n * H);
  double scale = 1.0 / sqrt((double)hd);
  attention_backward_f64(g_pool, dq, dk, dv, dsum, a.r, a.q, a.k, a.v, a.o, a.lse, bounds, n_bounds, causal, scale, n, H,
                         KV, hd);
  char what[96];
  snprintf(what, sizeof what, "attention %s dq", name);
  fd_check(c, what, attn_loss, &a, a.q, lq, dq);
  snprintf(what, sizeof what, "attention %s dk", name);
  fd_check(c, what, attn_loss, &a, a.k, lk, dk);
  snprintf(what, sizeof what, "attention %s dv", name);
  fd_check(c, what, attn_loss, &a, a.v, lk, dv);
  attn_loss(&a);
  float *q = to_f(a.q, lq), *k = to_f(a.k, lk), *v = to_f(a.v, lk), *r = to_f(a.r, lq);
  float *o = calloc((size_t)lq, 4), *lse = calloc((size_t)(n * H), 4), *ds = calloc((size_t)(n * H), 4);
  float *fq = calloc((size_t)lq, 4), *fk = calloc((size_t)lk, 4), *fv = calloc((size_t)lk, 4);
  attention_forward_f32(g_pool, o, lse, q, k, v, bounds, n_bounds, causal, (float)scale, n, H, KV, hd);
  attention_backward_f32(g_pool, fq, fk, fv, ds, r, q, k, v, o, lse, bounds, n_bounds, causal, (float)scale, n, H, KV, hd);
  snprintf(what, sizeof what, "attention %s", name);
  f32_check(c, what, o, a.o, lq);
  f32_check(c, what, fq, dq, lq);
  f32_check(c, what, fk, dk, lk);
  f32_check(c, what, fv, dv, lk);
  free(q), free(k), free(v), free(r), free(o), free(lse), free(ds), free(fq), free(fk), free(fv);
  free(a.q), free(a.k), free(a.v), free(a.o), free(a.lse), free(a.r), free(dq), free(dk), free(dv), free(dsum);
}

static void test_attention(hatch_test_ctx *c) {
  static const int32_t win[4] = {0, 2, 5, 7};
  attn_case(c, "full", 5, 2, 2, 4, false, NULL, 0);
  attn_case(c, "causal gqa", 7, 4, 2, 3, true, NULL, 0);
  attn_case(c, "windowed", 7, 2, 1, 9, false, win, 4);
  attn_case(c, "single", 1, 3, 1, 1, true, NULL, 0);
}

/* ---- activations -------------------------------------------------------------------------------- */

typedef struct act_ctx {
  double *g, *u, *y, *r;
  int64_t n;
  bool gelu;
} act_ctx;

static double act_loss(void *p) {
  act_ctx *k = p;
  if (k->gelu) gelu_forward_f64(g_pool, k->y, k->g, k->n);
  else swiglu_forward_f64(g_pool, k->y, k->g, k->u, k->n);
  return dotd(k->y, k->r, k->n);
}

static void test_activations(hatch_test_ctx *c) {
  int64_t n = 13;
  act_ctx k = {rnd(c, n, -4, 4), rnd(c, n, -2, 2), zeros(n), rnd(c, n, -1, 1), n, false};
  double *dg = zeros(n), *du = zeros(n);
  swiglu_backward_f64(g_pool, dg, du, k.r, k.g, k.u, n);
  fd_check(c, "swiglu dg", act_loss, &k, k.g, n, dg);
  fd_check(c, "swiglu du", act_loss, &k, k.u, n, du);
  act_loss(&k);
  float *g = to_f(k.g, n), *u = to_f(k.u, n), *r = to_f(k.r, n), *y = calloc((size_t)n, 4);
  float *fg = calloc((size_t)n, 4), *fu = calloc((size_t)n, 4);
  swiglu_forward_f32(g_pool, y, g, u, n);
  swiglu_backward_f32(g_pool, fg, fu, r, g, u, n);
  f32_check(c, "swiglu y", y, k.y, n);
  f32_check(c, "swiglu dg", fg, dg, n);
  f32_check(c, "swiglu du", fu, du, n);
  k.gelu = true;
  memset(dg, 0, sizeof(double) * (size_t)n);
  gelu_backward_f64(g_pool, dg, k.r, k.g, n);
  fd_check(c, "gelu dx", act_loss, &k, k.g, n, dg);
  act_loss(&k);
  memset(fg, 0, sizeof(float) * (size_t)n);
  gelu_forward_f32(g_pool, y, g, n);
  gelu_backward_f32(g_pool, fg, r, g, n);
  f32_check(c, "gelu y", y, k.y, n);
  f32_check(c, "gelu dx", fg, dg, n);
  free(g), free(u), free(r), free(y), free(fg), free(fu), free(k.g), free(k.u), free(k.y), free(k.r), free(dg), free(du);
}

/* ---- embedding ---------------------------------------------------------------------------------- */

typedef struct emb_ctx {
  double *table, *x, *r;
  const int32_t *ids;
  int64_t n, d;
} emb_ctx;

static double emb_loss(void *p) {
  emb_ctx *k = p;
  memset(k->x, 0, sizeof(double) * (size_t)(k->n * k->d));
  embedding_forward_f64(k->x, k->ids, k->table, 4, k->n, k->d);
  return dotd(k->x, k->r, k->n * k->d);
}

static void test_embedding(hatch_test_ctx *c) {
  static const int32_t ids[6] = {2, 0, 4, 2, 2, 5}; /* repeats; 4 is the skipped (image) id */
  int64_t n = 6, d = 3, vocab = 7;
  emb_ctx k = {rnd(c, vocab * d, -1, 1), zeros(n * d), rnd(c, n * d, -1, 1), ids, n, d};
  double *dt = zeros(vocab * d);
  embedding_backward_f64(dt, k.r, ids, 4, n, d);
  fd_check(c, "embedding dtable", emb_loss, &k, k.table, vocab * d, dt);
  HATCH_EXPECT(c, dt[4 * d] == 0 && dt[6 * d] == 0, "embedding: skipped and unused rows got gradient");
  free(k.table), free(k.x), free(k.r), free(dt);
}

/* ---- log-probability of targets ----------------------------------------------------------------- */

typedef struct xent_ctx {
  double *logits, *logp, *lse, *w;
  const int32_t *targets;
  int64_t n, vocab;
} xent_ctx;

static double xent_loss(void *p) {
  xent_ctx *k = p;
  logprob_forward_f64(g_pool, k->logp, k->lse, k->logits, k->targets, k->n, k->vocab);
  return dotd(k->logp, k->w, k->n);
}

static void test_logprob(hatch_test_ctx *c) {
  static const int32_t targets[4] = {3, -1, 12, 0};
  int64_t n = 4, vocab = 13;
  xent_ctx k = {rnd(c, n * vocab, -3, 3), zeros(n), zeros(n), rnd(c, n, -1, 1), targets, n, vocab};
  k.w[1] = 0; /* no target: no weight, as the trainer passes */
  xent_loss(&k);
  double *dz = zeros(n * vocab);
  logprob_backward_f64(g_pool, dz, k.w, k.logits, k.lse, targets, n, vocab);
  fd_check(c, "logprob dlogits", xent_loss, &k, k.logits, n * vocab, dz);
  xent_loss(&k);
  float *z = to_f(k.logits, n * vocab), *w = to_f(k.w, n), *lp = calloc((size_t)n, 4), *ls = calloc((size_t)n, 4);
  float *fdz = calloc((size_t)(n * vocab), 4);
  logprob_forward_f32(g_pool, lp, ls, z, targets, n, vocab);
  logprob_backward_f32(g_pool, fdz, w, z, ls, targets, n, vocab);
  f32_check(c, "logprob", lp, k.logp, n);
  f32_check(c, "logprob dlogits", fdz, dz, n * vocab);
  HATCH_EXPECT(c, lp[1] == 0, "logprob: position without target is %g", lp[1]);
  free(z), free(w), free(lp), free(ls), free(fdz), free(k.logits), free(k.logp), free(k.lse), free(k.w), free(dz);
}

int main(int argc, char **argv) {
  if (hatch_threadpool_create(3, &g_pool) != HATCH_OK) return 1;
  static const hatch_test_case cases[] = {
      {"linear", test_linear, false},         {"rmsnorm", test_rmsnorm, false},
      {"rope", test_rope, false},             {"attention", test_attention, false},
      {"activations", test_activations, false}, {"embedding", test_embedding, false},
      {"logprob", test_logprob, false},
  };
  int rc = hatch_test_main(argc, argv, cases, (int)(sizeof cases / sizeof *cases));
  hatch_threadpool_destroy(g_pool);
  return rc;
}
