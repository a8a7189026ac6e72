/* The CUDA training backend (train/cuda) op by op against the CPU reference: the train_layers.h
 * *_f32 functions and the optimizer of train/optim (the truth the backend header points to), on the
 * same random inputs, odd shapes. Errors are max |gpu - ref| / max |ref| over each output; fp32
 * tolerances 1e-5 for element-wise, norm, rope, embedding and AdamW, 1e-4 for attention, linear and
 * log-probabilities; bf16 linear 2e-2; sum_squares 1e-9 on the double. Gradients start from random
 * values so accumulation (+=) is checked too. One line per check with the measured error.
 *
 * argv[1] (optional) runs only the groups whose name contains it: memory, movement, linear,
 * rmsnorm, rope, attention, activations, embedding, logprob, sum_squares, adamw, errors.
 * Without a CUDA device (or in a build without CUDA) it prints "SKIP: <why>" and exits 77. Built
 * with -DHATCH_CUDA_EMU=ON the same checks run the kernels on the CPU emulation (train/cuda/emu). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda/train_backend_cuda.h"
#include "hatch/train_optim.h"
#include "model/train_layers.h"

static int g_failures, g_checks;
static const char *g_only; /* argv[1]: run only the groups whose name contains it */

static bool wanted(const char *group) { return !g_only || strstr(group, g_only) != NULL; }

/* ---- host data ---- */

static uint64_t g_rng = 0x9e3779b97f4a7c15ull;

static float uniform(float lo, float hi) {
  g_rng = g_rng * 6364136223846793005ull + 1442695040888963407ull;
  return lo + (hi - lo) * (float)((g_rng >> 40) * (1.0 / 16777216.0));
}

static float *rnd(int64_t n, float lo, float hi) {
  float *x = malloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
  for (int64_t i = 0; i < n; i++) x[i] = uniform(lo, hi);
  return x;
}

static float *dup(const float *x, int64_t n) {
  float *y = malloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
  memcpy(y, x, sizeof(float) * (size_t)n);
  return y;
}

/* ---- checks ---- */

/* max |got - ref| / max |ref| (absolute when ref is all zero); +inf when got has a NaN or Inf where
 * ref is finite. */
static double rel_err(const float *got, const float *ref, int64_t n) {
  double worst = 0, scale = 0;
  for (int64_t i = 0; i < n; i++) {
    if (isfinite(ref[i]) && !isfinite(got[i])) return INFINITY;
    if (!isfinite(ref[i])) {
      if (!(got[i] == ref[i] || (isnan(got[i]) && isnan(ref[i])))) return INFINITY;
      continue;
    }
    double d = fabs((double)got[i] - ref[i]);
    worst = d > worst ? d : worst;
    scale = fabs(ref[i]) > scale ? fabs(ref[i]) : scale;
  }
  return scale > 0 ? worst / scale : worst;
}

static bool expect(bool ok, const char *op, const char *shape, const char *what) {
  g_checks++;
  if (!ok) g_failures++;
  printf("%-22s %-40s %-28s %s\n", op, shape, what, ok ? "ok" : "FAIL");
  return ok;
}

static double expect_close(const char *op, const char *shape, const char *what, const float *got, const float *ref,
                           int64_t n, double tol) {
  double err = rel_err(got, ref, n);
  char text[64];
  snprintf(text, sizeof text, "%s err %.2e (tol %.0e)", what, err, tol);
  expect(err < tol, op, shape, text);
  return err;
}

/* ---- device data ---- */

static train_backend *g_b; /* the backend under test */

static void *dev_bytes(const void *host, size_t bytes) {
  void *p = g_b->ops->alloc(g_b, bytes);
  if (!p) {
    fprintf(stderr, "alloc of %zu bytes failed: %s\n", bytes, train_backend_cuda_error(g_b));
    exit(1);
  }
  if (host && g_b->ops->upload(g_b, p, host, bytes) != HATCH_OK) {
    fprintf(stderr, "upload failed: %s\n", train_backend_cuda_error(g_b));
    exit(1);
  }
  return p;
}
static float *dev_f(const float *host, int64_t n) { return dev_bytes(host, sizeof(float) * (size_t)(n > 0 ? n : 1)); }
static int32_t *dev_i(const int32_t *host, int64_t n) {
  return dev_bytes(host, sizeof(int32_t) * (size_t)(n > 0 ? n : 1));
}

/* A malloc'd host copy of n floats of device memory; exits on failure (a backend error). */
static float *host_f(const float *dev, int64_t n) {
  float *h = malloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
  hatch_status st = g_b->ops->download(g_b, h, dev, sizeof(float) * (size_t)n);
  if (st != HATCH_OK) {
    fprintf(stderr, "download failed: %s: %s\n", hatch_status_name(st), train_backend_cuda_error(g_b));
    exit(1);
  }
  return h;
}

static void dev_free(void *p) { g_b->ops->free(g_b, p); }

/* ---- memory and data movement ---- */

static void test_memory(void) {
  const char *op = "memory";
  float *d = g_b->ops->alloc(g_b, 4099 * sizeof(float));
  float *z = host_f(d, 4099);
  bool zero = true;
  for (int i = 0; i < 4099; i++) zero = zero && z[i] == 0.0f;
  expect(zero, op, "alloc 4099 floats", "zeroed");
  expect(((uintptr_t)d & 255) == 0, op, "alloc 4099 floats", "256-byte aligned");
  void *empty = g_b->ops->alloc(g_b, 0);
  expect(empty != NULL, op, "alloc 0 bytes", "not NULL");
  dev_free(empty);
  float *x = rnd(4099, -1, 1);
  g_b->ops->upload(g_b, d, x, 4099 * sizeof(float));
  float *e = dev_f(NULL, 4099);
  g_b->ops->copy(g_b, e, d, 4099 * sizeof(float));
  float *back = host_f(e, 4099);
  expect(memcmp(back, x, 4099 * sizeof(float)) == 0, op, "upload, copy, download", "bitwise");
  g_b->ops->zero(g_b, e + 7, 100);
  float *partly = host_f(e, 4099);
  bool ok = true;
  for (int i = 0; i < 4099; i++) ok = ok && partly[i] == (i >= 7 && i < 107 ? 0.0f : x[i]);
  expect(ok, op, "zero 100 at 7", "only those");
  expect(g_b->ops->sync(g_b) == HATCH_OK, op, "sync", "HATCH_OK");
  void *huge = g_b->ops->alloc(g_b, (size_t)1 << 50);
  expect(huge == NULL && g_b->ops->sync(g_b) == HATCH_OK, op, "alloc 2^50 bytes", "NULL, backend still healthy");
  free(z), free(x), free(back), free(partly);
  dev_free(d), dev_free(e);
}

static void test_movement(void) {
  const int64_t n = 37, d = 19, n_src = 41;
  char shape[64];
  snprintf(shape, sizeof shape, "n %lld d %lld", (long long)n, (long long)d);
  float *x0 = rnd(n * d, -2, 2), *x1 = rnd(n * d, -2, 2), *src = rnd(n_src * d, -1, 1);
  int32_t idx[37], perm[37];
  for (int64_t r = 0; r < n; r++) idx[r] = (int32_t)((r * 7 + 3) % n_src), perm[r] = (int32_t)((r * 5 + 2) % n);
  /* add, in place */
  float *dx0 = dev_f(x0, n * d), *dx1 = dev_f(x1, n * d);
  g_b->ops->add(g_b, dx0, dx0, dx1, n * d);
  float *sum = host_f(dx0, n * d), *ref = malloc(sizeof(float) * (size_t)(n * d));
  for (int64_t i = 0; i < n * d; i++) ref[i] = x0[i] + x1[i];
  expect_close("add", shape, "y = x0 + x1 (y == x0)", sum, ref, n * d, 1e-5);
  /* gather */
  float *dsrc = dev_f(src, n_src * d), *dst = dev_f(NULL, n * d);
  int32_t *didx = dev_i(idx, n), *dperm = dev_i(perm, n);
  g_b->ops->gather_rows(g_b, dst, dsrc, didx, n, d);
  float *got = host_f(dst, n * d);
  for (int64_t r = 0; r < n; r++) memcpy(ref + r * d, src + (int64_t)idx[r] * d, sizeof(float) * (size_t)d);
  expect_close("gather_rows", shape, "dst[r] = src[idx[r]]", got, ref, n * d, 1e-5);
  free(got);
  /* scatter by a permutation */
  g_b->ops->scatter_rows(g_b, dst, dx1, dperm, n, d);
  got = host_f(dst, n * d);
  for (int64_t r = 0; r < n; r++) memcpy(ref + (int64_t)perm[r] * d, x1 + r * d, sizeof(float) * (size_t)d);
  expect_close("scatter_rows", shape, "dst[perm[r]] = src[r]", got, ref, n * d, 1e-5);
  free(got);
  /* copy_2d: a 13 x 7 block out of rows of 19 into rows of 11, set then accumulate */
  float *base = rnd(13 * 11, -1, 1), *dbase = dev_f(base, 13 * 11);
  g_b->ops->copy_2d(g_b, dbase, 11, dsrc + 2, 19, 13, 7, false);
  g_b->ops->copy_2d(g_b, dbase + 3, 11, dsrc + 5, 19, 13, 7, true);
  got = host_f(dbase, 13 * 11);
  for (int r = 0; r < 13; r++)
    for (int c = 0; c < 7; c++) base[r * 11 + c] = src[r * 19 + 2 + c];
  for (int r = 0; r < 13; r++)
    for (int c = 0; c < 7; c++) base[r * 11 + 3 + c] += src[r * 19 + 5 + c];
  expect_close("copy_2d", "13 x 7, strides 19 -> 11", "set, then accumulate", got, base, 13 * 11, 1e-5);
  free(got);
  /* scale */
  g_b->ops->scale(g_b, dx1, 0.37f, n * d);
  got = host_f(dx1, n * d);
  for (int64_t i = 0; i < n * d; i++) ref[i] = x1[i] * 0.37f;
  expect_close("scale", shape, "x *= 0.37", got, ref, n * d, 1e-5);
  free(got);
  free(x0), free(x1), free(src), free(sum), free(ref), free(base);
  dev_free(dx0), dev_free(dx1), dev_free(dsrc), dev_free(dst), dev_free(didx), dev_free(dperm), dev_free(dbase);
}

/* ---- linear ---- */

static void test_linear(int64_t n, int64_t in, int64_t out, bool bias, bool want_dx, bool want_dw, double tol,
                        const char *mode) {
  char shape[96];
  snprintf(shape, sizeof shape, "%s n %lld in %lld out %lld%s%s%s", mode, (long long)n, (long long)in,
           (long long)out, bias ? " +b" : "", want_dx ? "" : " no-dx", want_dw ? "" : " no-dw");
  float *x = rnd(n * in, -1, 1), *w = rnd(out * in, -0.5f, 0.5f), *b = rnd(out, -1, 1), *dy = rnd(n * out, -1, 1);
  float *dx0 = rnd(n * in, -1, 1), *dw0 = rnd(out * in, -1, 1), *db0 = rnd(out, -1, 1);
  float *y_ref = malloc(sizeof(float) * (size_t)(n * out));
  float *dx_ref = dup(dx0, n * in), *dw_ref = dup(dw0, out * in), *db_ref = dup(db0, out);
  linear_forward_f32(NULL, y_ref, x, w, bias ? b : NULL, n, in, out);
  linear_backward_f32(NULL, want_dx ? dx_ref : NULL, want_dw ? dw_ref : NULL, bias ? db_ref : NULL, dy, x, w, n, in,
                      out);
  float *dx_ = dev_f(x, n * in), *dw_ = dev_f(w, out * in), *db_ = dev_f(b, out), *ddy = dev_f(dy, n * out);
  float *dyout = dev_f(NULL, n * out), *ddx = dev_f(dx0, n * in), *ddw = dev_f(dw0, out * in), *ddb = dev_f(db0, out);
  g_b->ops->linear_forward(g_b, dyout, dx_, dw_, bias ? db_ : NULL, n, in, out);
  g_b->ops->linear_backward(g_b, want_dx ? ddx : NULL, want_dw ? ddw : NULL, bias ? ddb : NULL, ddy, dx_, dw_, n, in,
                            out);
  float *y = host_f(dyout, n * out), *gdx = host_f(ddx, n * in), *gdw = host_f(ddw, out * in), *gdb = host_f(ddb, out);
  expect_close("linear_forward", shape, "y", y, y_ref, n * out, tol);
  expect_close("linear_backward", shape, "dx", gdx, dx_ref, n * in, tol);
  expect_close("linear_backward", shape, "dw", gdw, dw_ref, out * in, tol);
  expect_close("linear_backward", shape, "db", gdb, db_ref, out, tol);
  free(x), free(w), free(b), free(dy), free(dx0), free(dw0), free(db0), free(y_ref), free(dx_ref), free(dw_ref);
  free(db_ref), free(y), free(gdx), free(gdw), free(gdb);
  dev_free(dx_), dev_free(dw_), dev_free(db_), dev_free(ddy), dev_free(dyout), dev_free(ddx), dev_free(ddw);
  dev_free(ddb);
}

/* ---- RMSNorm ---- */

static void test_rmsnorm(int64_t n, int64_t d) {
  char shape[64];
  snprintf(shape, sizeof shape, "n %lld d %lld", (long long)n, (long long)d);
  float *x = rnd(n * d, -2, 2), *w = rnd(d, 0.5f, 1.5f), *dy = rnd(n * d, -1, 1);
  float *dx0 = rnd(n * d, -1, 1), *dw0 = rnd(d, -1, 1);
  float *y_ref = malloc(sizeof(float) * (size_t)(n * d)), *rstd_ref = malloc(sizeof(float) * (size_t)n);
  float *dx_ref = dup(dx0, n * d), *dw_ref = dup(dw0, d);
  rmsnorm_forward_f32(NULL, y_ref, rstd_ref, x, w, 1e-6f, n, d);
  rmsnorm_backward_f32(NULL, dx_ref, dw_ref, dy, x, w, rstd_ref, n, d);
  float *dxd = dev_f(x, n * d), *dwd = dev_f(w, d), *ddy = dev_f(dy, n * d), *dyd = dev_f(NULL, n * d);
  float *drstd = dev_f(NULL, n), *ddx = dev_f(dx0, n * d), *ddw = dev_f(dw0, d);
  g_b->ops->rmsnorm_forward(g_b, dyd, drstd, dxd, dwd, 1e-6f, n, d);
  g_b->ops->rmsnorm_backward(g_b, ddx, ddw, ddy, dxd, dwd, drstd, n, d);
  float *y = host_f(dyd, n * d), *rstd = host_f(drstd, n), *gdx = host_f(ddx, n * d), *gdw = host_f(ddw, d);
  expect_close("rmsnorm_forward", shape, "y", y, y_ref, n * d, 1e-5);
  expect_close("rmsnorm_forward", shape, "rstd", rstd, rstd_ref, n, 1e-5);
  expect_close("rmsnorm_backward", shape, "dx", gdx, dx_ref, n * d, 1e-5);
  expect_close("rmsnorm_backward", shape, "dw", gdw, dw_ref, d, 1e-5);
  /* in place: y == x */
  g_b->ops->rmsnorm_forward(g_b, dxd, drstd, dxd, dwd, 1e-6f, n, d);
  float *y2 = host_f(dxd, n * d);
  expect_close("rmsnorm_forward", shape, "y (in place)", y2, y_ref, n * d, 1e-5);
  free(x), free(w), free(dy), free(dx0), free(dw0), free(y_ref), free(rstd_ref), free(dx_ref), free(dw_ref);
  free(y), free(rstd), free(gdx), free(gdw), free(y2);
  dev_free(dxd), dev_free(dwd), dev_free(ddy), dev_free(dyd), dev_free(drstd), dev_free(ddx), dev_free(ddw);
}

/* ---- RoPE ---- */

static void test_rope(int mode, int n_dims, int64_t n, int64_t n_head, int64_t head_dim) {
  static const char *names[] = {"neox", "mrope", "vision"};
  char shape[96];
  snprintf(shape, sizeof shape, "%s n %lld heads %lld hd %lld dims %d", names[mode], (long long)n, (long long)n_head,
           (long long)head_dim, n_dims);
  int half = n_dims / 2, n_comp = mode == LAYER_ROPE_VISION ? 2 : 3;
  int sections[3] = {half / 4, half - 2 * (half / 4) - half / 8, half / 4 + half / 8};
  if (mode == LAYER_ROPE_VISION) sections[0] = half / 2, sections[1] = half - half / 2, sections[2] = 0;
  float *inv_freq = malloc(sizeof(float) * (size_t)half);
  int32_t *comp = malloc(sizeof(int32_t) * (size_t)half), *pos = malloc(sizeof(int32_t) * (size_t)(n_comp * n));
  rope_table_f32(inv_freq, comp, mode, n_dims, 10000.0, sections);
  for (int64_t i = 0; i < n_comp * n; i++) pos[i] = (int32_t)(uniform(0, 700));
  int64_t len = n * n_head * head_dim;
  float *x = rnd(len, -1, 1), *y_ref = malloc(sizeof(float) * (size_t)len), *dx_ref = malloc(sizeof(float) * (size_t)len);
  rope_forward_f32(NULL, y_ref, x, pos, inv_freq, comp, n_dims, n, n_head, head_dim);
  rope_backward_f32(NULL, dx_ref, x, pos, inv_freq, comp, n_dims, n, n_head, head_dim);
  float *dxd = dev_f(x, len), *dyd = dev_f(NULL, len), *dfreq = dev_f(inv_freq, half);
  int32_t *dcomp = dev_i(comp, half), *dpos = dev_i(pos, n_comp * n);
  g_b->ops->rope_forward(g_b, dyd, dxd, dpos, dfreq, dcomp, n_dims, n, n_head, head_dim);
  float *y = host_f(dyd, len);
  expect_close("rope_forward", shape, "y", y, y_ref, len, 1e-5);
  g_b->ops->rope_backward(g_b, dyd, dxd, dpos, dfreq, dcomp, n_dims, n, n_head, head_dim);
  float *dx = host_f(dyd, len);
  expect_close("rope_backward", shape, "dx", dx, dx_ref, len, 1e-5);
  g_b->ops->rope_forward(g_b, dxd, dxd, dpos, dfreq, dcomp, n_dims, n, n_head, head_dim);
  float *y2 = host_f(dxd, len);
  expect_close("rope_forward", shape, "y (in place)", y2, y_ref, len, 1e-5);
  free(inv_freq), free(comp), free(pos), free(x), free(y_ref), free(dx_ref), free(y), free(dx), free(y2);
  dev_free(dxd), dev_free(dyd), dev_free(dfreq), dev_free(dcomp), dev_free(dpos);
}

/* ---- attention ---- */

typedef struct attn_case {
  const char *name;
  int64_t n, n_head, n_kv_head, hd;
  bool causal;
  int n_bounds; /* 0: none */
  int32_t bounds[8];
} attn_case;

static void test_attention(const attn_case *c) {
  char shape[96];
  snprintf(shape, sizeof shape, "%s n %lld h %lld/%lld hd %lld", c->name, (long long)c->n, (long long)c->n_head,
           (long long)c->n_kv_head, (long long)c->hd);
  int64_t n = c->n, H = c->n_head, KV = c->n_kv_head, hd = c->hd;
  int64_t lq = n * H * hd, lk = n * KV * hd;
  const int32_t *bounds = c->n_bounds ? c->bounds : NULL;
  float scale = 1.0f / sqrtf((float)hd);
  float *q = rnd(lq, -1.5f, 1.5f), *k = rnd(lk, -1.5f, 1.5f), *v = rnd(lk, -1, 1), *dout = rnd(lq, -1, 1);
  float *dq0 = rnd(lq, -1, 1), *dk0 = rnd(lk, -1, 1), *dv0 = rnd(lk, -1, 1);
  float *o_ref = malloc(sizeof(float) * (size_t)lq), *lse_ref = malloc(sizeof(float) * (size_t)(n * H));
  float *dsum_ref = malloc(sizeof(float) * (size_t)(n * H));
  float *dq_ref = dup(dq0, lq), *dk_ref = dup(dk0, lk), *dv_ref = dup(dv0, lk);
  if (!attention_forward_f32(NULL, o_ref, lse_ref, q, k, v, bounds, c->n_bounds, c->causal, scale, n, H, KV, hd)) {
    expect(false, "attention_forward", shape, "CPU reference ran out of memory");
    return;
  }
  attention_backward_f32(NULL, dq_ref, dk_ref, dv_ref, dsum_ref, dout, q, k, v, o_ref, lse_ref, bounds, c->n_bounds,
                         c->causal, scale, n, H, KV, hd);
  float *dqd = dev_f(q, lq), *dkd = dev_f(k, lk), *dvd = dev_f(v, lk), *dod = dev_f(NULL, lq);
  float *dlse = dev_f(NULL, n * H), *ddsum = dev_f(NULL, n * H), *ddout = dev_f(dout, lq);
  float *gq = dev_f(dq0, lq), *gk = dev_f(dk0, lk), *gv = dev_f(dv0, lk);
  int32_t *dbounds = bounds ? dev_i(bounds, c->n_bounds) : NULL;
  bool ok = g_b->ops->attention_forward(g_b, dod, dlse, dqd, dkd, dvd, dbounds, c->n_bounds, c->causal, scale, n, H,
                                        KV, hd);
  expect(ok, "attention_forward", shape, "returns true");
  g_b->ops->attention_backward(g_b, gq, gk, gv, ddsum, ddout, dqd, dkd, dvd, dod, dlse, dbounds, c->n_bounds,
                               c->causal, scale, n, H, KV, hd);
  float *o = host_f(dod, lq), *lse = host_f(dlse, n * H), *dsum = host_f(ddsum, n * H);
  float *dq = host_f(gq, lq), *dk = host_f(gk, lk), *dv = host_f(gv, lk);
  expect_close("attention_forward", shape, "o", o, o_ref, lq, 1e-4);
  expect_close("attention_forward", shape, "lse", lse, lse_ref, n * H, 1e-4);
  expect_close("attention_backward", shape, "dsum", dsum, dsum_ref, n * H, 1e-4);
  expect_close("attention_backward", shape, "dq", dq, dq_ref, lq, 1e-4);
  expect_close("attention_backward", shape, "dk", dk, dk_ref, lk, 1e-4);
  expect_close("attention_backward", shape, "dv", dv, dv_ref, lk, 1e-4);
  /* Run to run: the same gradients bitwise from the same start. */
  g_b->ops->upload(g_b, gq, dq0, sizeof(float) * (size_t)lq);
  g_b->ops->upload(g_b, gk, dk0, sizeof(float) * (size_t)lk);
  g_b->ops->upload(g_b, gv, dv0, sizeof(float) * (size_t)lk);
  g_b->ops->attention_backward(g_b, gq, gk, gv, ddsum, ddout, dqd, dkd, dvd, dod, dlse, dbounds, c->n_bounds,
                               c->causal, scale, n, H, KV, hd);
  float *dq2 = host_f(gq, lq), *dk2 = host_f(gk, lk), *dv2 = host_f(gv, lk);
  expect(!memcmp(dq, dq2, sizeof(float) * (size_t)lq) && !memcmp(dk, dk2, sizeof(float) * (size_t)lk) &&
             !memcmp(dv, dv2, sizeof(float) * (size_t)lk),
         "attention_backward", shape, "deterministic (bitwise rerun)");
  free(q), free(k), free(v), free(dout), free(dq0), free(dk0), free(dv0), free(o_ref), free(lse_ref), free(dsum_ref);
  free(dq_ref), free(dk_ref), free(dv_ref), free(o), free(lse), free(dsum), free(dq), free(dk), free(dv);
  free(dq2), free(dk2), free(dv2);
  dev_free(dqd), dev_free(dkd), dev_free(dvd), dev_free(dod), dev_free(dlse), dev_free(ddsum), dev_free(ddout);
  dev_free(gq), dev_free(gk), dev_free(gv), dev_free(dbounds);
}

/* ---- activations ---- */

static void test_activations(int64_t n) {
  char shape[32];
  snprintf(shape, sizeof shape, "n %lld", (long long)n);
  float *g = rnd(n, -6, 6), *u = rnd(n, -2, 2), *dh = rnd(n, -1, 1), *dg0 = rnd(n, -1, 1), *du0 = rnd(n, -1, 1);
  float *h_ref = malloc(sizeof(float) * (size_t)n), *dg_ref = dup(dg0, n), *du_ref = dup(du0, n);
  swiglu_forward_f32(NULL, h_ref, g, u, n);
  swiglu_backward_f32(NULL, dg_ref, du_ref, dh, g, u, n);
  float *gd = dev_f(g, n), *ud = dev_f(u, n), *dhd = dev_f(dh, n), *hd = dev_f(NULL, n), *dgd = dev_f(dg0, n);
  float *dud = dev_f(du0, n);
  g_b->ops->swiglu_forward(g_b, hd, gd, ud, n);
  g_b->ops->swiglu_backward(g_b, dgd, dud, dhd, gd, ud, n);
  float *h = host_f(hd, n), *dg = host_f(dgd, n), *du = host_f(dud, n);
  expect_close("swiglu_forward", shape, "h", h, h_ref, n, 1e-5);
  expect_close("swiglu_backward", shape, "dg", dg, dg_ref, n, 1e-5);
  expect_close("swiglu_backward", shape, "du", du, du_ref, n, 1e-5);
  free(h), free(dg);
  float *y_ref = malloc(sizeof(float) * (size_t)n), *dx_ref = dup(dg0, n);
  gelu_forward_f32(NULL, y_ref, g, n);
  gelu_backward_f32(NULL, dx_ref, dh, g, n);
  g_b->ops->upload(g_b, dgd, dg0, sizeof(float) * (size_t)n);
  g_b->ops->gelu_forward(g_b, hd, gd, n);
  g_b->ops->gelu_backward(g_b, dgd, dhd, gd, n);
  h = host_f(hd, n), dg = host_f(dgd, n);
  expect_close("gelu_forward", shape, "y", h, y_ref, n, 1e-5);
  expect_close("gelu_backward", shape, "dx", dg, dx_ref, n, 1e-5);
  free(g), free(u), free(dh), free(dg0), free(du0), free(h_ref), free(dg_ref), free(du_ref), free(h), free(dg), free(du);
  free(y_ref), free(dx_ref);
  dev_free(gd), dev_free(ud), dev_free(dhd), dev_free(hd), dev_free(dgd), dev_free(dud);
}

/* ---- embedding ---- */

static void test_embedding(int64_t vocab, int64_t n, int64_t d) {
  char shape[64];
  snprintf(shape, sizeof shape, "vocab %lld n %lld d %lld", (long long)vocab, (long long)n, (long long)d);
  const int32_t skip = 5;
  int32_t *ids = malloc(sizeof(int32_t) * (size_t)n);
  for (int64_t t = 0; t < n; t++) ids[t] = t % 9 == 4 ? skip : (int32_t)uniform(0, (float)vocab) % (int32_t)vocab;
  ids[n - 1] = ids[0] == skip ? 1 : ids[0]; /* a repeat for certain */
  float *table = rnd(vocab * d, -1, 1), *x0 = rnd(n * d, -1, 1), *dx = rnd(n * d, -1, 1), *dt0 = rnd(vocab * d, -1, 1);
  float *x_ref = dup(x0, n * d), *dt_ref = dup(dt0, vocab * d);
  embedding_forward_f32(x_ref, ids, table, skip, n, d);
  embedding_backward_f32(dt_ref, dx, ids, skip, n, d);
  int32_t *did = dev_i(ids, n);
  float *dtable = dev_f(table, vocab * d), *dxd = dev_f(x0, n * d), *ddx = dev_f(dx, n * d), *ddt = dev_f(dt0, vocab * d);
  g_b->ops->embedding_forward(g_b, dxd, did, dtable, skip, n, d);
  g_b->ops->embedding_backward(g_b, ddt, ddx, did, skip, n, d);
  float *x = host_f(dxd, n * d), *dt = host_f(ddt, vocab * d);
  expect_close("embedding_forward", shape, "x (skip rows kept)", x, x_ref, n * d, 1e-5);
  expect_close("embedding_backward", shape, "dtable", dt, dt_ref, vocab * d, 1e-5);
  expect(!memcmp(dt, dt_ref, sizeof(float) * (size_t)(vocab * d)), "embedding_backward", shape,
         "bitwise the reference (same order)");
  free(ids), free(table), free(x0), free(dx), free(dt0), free(x_ref), free(dt_ref), free(x), free(dt);
  dev_free(did), dev_free(dtable), dev_free(dxd), dev_free(ddx), dev_free(ddt);
}

/* ---- log-probabilities ---- */

static void test_logprob(int64_t n, int64_t vocab) {
  char shape[64];
  snprintf(shape, sizeof shape, "n %lld vocab %lld", (long long)n, (long long)vocab);
  float *logits = rnd(n * vocab, -5, 5), *dlogp = rnd(n, -1, 1), *dz0 = rnd(n * vocab, -1, 1);
  int32_t *targets = malloc(sizeof(int32_t) * (size_t)n);
  for (int64_t t = 0; t < n; t++) targets[t] = t % 4 == 1 ? -1 : (int32_t)((t * 7919 + 13) % vocab);
  targets[n - 1] = (int32_t)(vocab - 1);
  dlogp[0] = 0.0f; /* a zero gradient row stays untouched */
  float *logp_ref = malloc(sizeof(float) * (size_t)n), *lse_ref = malloc(sizeof(float) * (size_t)n);
  float *dz_ref = dup(dz0, n * vocab);
  logprob_forward_f32(NULL, logp_ref, lse_ref, logits, targets, n, vocab);
  logprob_backward_f32(NULL, dz_ref, dlogp, logits, lse_ref, targets, n, vocab);
  float *dlog = dev_f(logits, n * vocab), *ddlogp = dev_f(dlogp, n), *ddz = dev_f(dz0, n * vocab);
  float *dlogp_out = dev_f(NULL, n), *dlse = dev_f(NULL, n);
  int32_t *dtg = dev_i(targets, n);
  g_b->ops->logprob_forward(g_b, dlogp_out, dlse, dlog, dtg, n, vocab);
  g_b->ops->logprob_backward(g_b, ddz, ddlogp, dlog, dlse, dtg, n, vocab);
  float *logp = host_f(dlogp_out, n), *lse = host_f(dlse, n), *dz = host_f(ddz, n * vocab);
  expect_close("logprob_forward", shape, "logp", logp, logp_ref, n, 1e-4);
  expect_close("logprob_forward", shape, "lse", lse, lse_ref, n, 1e-4);
  expect_close("logprob_backward", shape, "dlogits", dz, dz_ref, n * vocab, 1e-4);
  /* no targets, no logp: lse only */
  g_b->ops->zero(g_b, dlse, n);
  g_b->ops->logprob_forward(g_b, NULL, dlse, dlog, NULL, n, vocab);
  free(lse);
  lse = host_f(dlse, n);
  expect_close("logprob_forward", shape, "lse (no targets)", lse, lse_ref, n, 1e-4);
  free(logits), free(dlogp), free(dz0), free(targets), free(logp_ref), free(lse_ref), free(dz_ref), free(logp);
  free(lse), free(dz);
  dev_free(dlog), dev_free(ddlogp), dev_free(ddz), dev_free(dlogp_out), dev_free(dlse), dev_free(dtg);
}

/* ---- optimizer ---- */

static void test_sum_squares(int64_t n) {
  char shape[32];
  snprintf(shape, sizeof shape, "n %lld", (long long)n);
  float *x = rnd(n, -3, 3);
  double ref = 0;
  for (int64_t i = 0; i < n; i++) ref += (double)x[i] * x[i];
  float *d = dev_f(x, n);
  double sum = -1;
  int64_t bad = -1;
  hatch_status st = g_b->ops->sum_squares(g_b, d, n, &sum, &bad);
  double err = fabs(sum - ref) / ref;
  char text[64];
  snprintf(text, sizeof text, "sum err %.2e (tol 1e-09)", err);
  expect(st == HATCH_OK && err < 1e-9 && bad == 0, "sum_squares", shape, text);
  double again = -1;
  g_b->ops->sum_squares(g_b, d, n, &again, &bad);
  expect(again == sum, "sum_squares", shape, "deterministic (bitwise rerun)");
  x[3] = INFINITY, x[n / 2] = -INFINITY, x[n - 1] = NAN;
  g_b->ops->upload(g_b, d, x, sizeof(float) * (size_t)n);
  st = g_b->ops->sum_squares(g_b, d, n, &sum, &bad);
  snprintf(text, sizeof text, "non-finite counted: %lld", (long long)bad);
  expect(st == HATCH_OK && bad == 3 && !isfinite(sum), "sum_squares", shape, text);
  free(x);
  dev_free(d);
}

/* Three AdamW steps against hatch_adamw_step (torch's formula as train/optim computes it), with and
 * without weight decay. */
static void test_adamw(int64_t n, bool decay) {
  char shape[48];
  snprintf(shape, sizeof shape, "n %lld %s", (long long)n, decay ? "decay 0.1" : "no decay");
  hatch_adamw_options opt = hatch_adamw_defaults();
  opt.weight_decay = 0.1f;
  opt.beta2 = 0.95f;
  hatch_param_desc desc = {.name = "w", .offset = 0, .n_elems = n, .ndim = 2, .decay = decay};
  hatch_adamw *a = NULL;
  if (hatch_adamw_create(n, &desc, 1, &opt, &a) != HATCH_OK) {
    expect(false, "adamw", shape, "hatch_adamw_create");
    return;
  }
  float *p = rnd(n, -1, 1), *p_ref = dup(p, n);
  float *dp = dev_f(p, n), *dg = dev_f(NULL, n), *dm = dev_f(NULL, n), *dv = dev_f(NULL, n);
  for (int t = 1; t <= 3; t++) {
    float lr = 1e-2f * (float)t;
    float *g = rnd(n, -1, 1);
    g[0] = 0.0f;
    hatch_adamw_step(a, p_ref, g, lr, NULL);
    g_b->ops->upload(g_b, dg, g, sizeof(float) * (size_t)n);
    /* the scalars as hatch_adamw_step derives them */
    double bc1 = 1.0 - pow(opt.beta1, t), bc2 = 1.0 - pow(opt.beta2, t);
    float decay_mul = decay ? (float)(1.0 - (double)lr * (double)opt.weight_decay) : 1.0f;
    g_b->ops->adamw(g_b, dp, dg, dm, dv, n, decay_mul, opt.beta1, opt.beta2, (float)((double)lr / bc1),
                    (float)sqrt(bc2), opt.eps);
    free(g);
  }
  float *gp = host_f(dp, n), *gm = host_f(dm, n), *gv = host_f(dv, n);
  expect_close("adamw", shape, "params after 3 steps", gp, p_ref, n, 1e-5);
  expect_close("adamw", shape, "m", gm, hatch_adamw_m(a), n, 1e-5);
  expect_close("adamw", shape, "v", gv, hatch_adamw_v(a), n, 1e-5);
  /* The kernel spells out optim/adamw.c's float operations (no contraction): bitwise equal. */
  expect(!memcmp(gp, p_ref, sizeof(float) * (size_t)n) && !memcmp(gm, hatch_adamw_m(a), sizeof(float) * (size_t)n) &&
             !memcmp(gv, hatch_adamw_v(a), sizeof(float) * (size_t)n),
         "adamw", shape, "bitwise the reference");
  hatch_adamw_destroy(a);
  free(p), free(p_ref), free(gp), free(gm), free(gv);
  dev_free(dp), dev_free(dg), dev_free(dm), dev_free(dv);
}

/* ---- errors: recorded once, reported at sync / download, later ops no-ops ---- */

static void test_errors(void) {
  train_backend *b = NULL;
  char why[256];
  if (train_backend_cuda_create(0, false, &b, why) != HATCH_OK) {
    expect(false, "errors", "second backend", why);
    return;
  }
  const int64_t n = 4, H = 1, hd = 160; /* over the kernels' 128 */
  float *q = b->ops->alloc(b, sizeof(float) * (size_t)(n * H * hd)), *o = b->ops->alloc(b, sizeof(float) * (size_t)(n * H * hd));
  float *lse = b->ops->alloc(b, sizeof(float) * (size_t)(n * H));
  b->ops->attention_forward(b, o, lse, q, q, q, NULL, 0, true, 1.0f, n, H, H, hd);
  hatch_status st = b->ops->sync(b);
  const char *msg = train_backend_cuda_error(b);
  char text[200];
  snprintf(text, sizeof text, "sync: %s \"%s\"", hatch_status_name(st), msg);
  expect(st == HATCH_ERR_UNSUPPORTED && strstr(msg, "head size") != NULL, "errors", "attention hd 160", text);
  float host[4];
  expect(b->ops->download(b, host, lse, sizeof host) == st, "errors", "attention hd 160", "download reports it too");
  expect(b->ops->alloc(b, 64) == NULL, "errors", "after a failure", "alloc returns NULL");
  b->ops->free(b, q), b->ops->free(b, o), b->ops->free(b, lse);
  b->ops->destroy(b);
}

int main(int argc, char **argv) {
  g_only = argc > 1 ? argv[1] : NULL;
  char why[256] = "";
  hatch_status st = train_backend_cuda_create(0, false, &g_b, why);
  if (st == HATCH_ERR_UNSUPPORTED) {
    printf("SKIP: %s\n", why);
    return 77;
  }
  if (st != HATCH_OK) {
    fprintf(stderr, "train_backend_cuda_create: %s: %s\n", hatch_status_name(st), why);
    return 1;
  }
  printf("backend %s (fp32)\n", g_b->ops->name);
  if (wanted("memory")) test_memory();
  if (wanted("movement")) test_movement();
  if (wanted("linear")) {
    test_linear(37, 70, 53, true, true, true, 1e-4, "fp32");
    test_linear(300, 257, 129, false, true, false, 1e-4, "fp32");
    test_linear(65, 33, 260, true, false, true, 1e-4, "fp32");
  }
  if (wanted("rmsnorm")) test_rmsnorm(19, 300), test_rmsnorm(3, 2048);
  if (wanted("rope")) {
    test_rope(LAYER_ROPE_NEOX, 32, 23, 3, 40);
    test_rope(LAYER_ROPE_MROPE, 64, 17, 4, 64);
    test_rope(LAYER_ROPE_VISION, 80, 29, 2, 80);
  }
  static const attn_case cases[] = {
      {"causal gqa", 77, 6, 2, 24, true, 0, {0}},
      {"windows", 100, 4, 4, 80, false, 5, {0, 10, 45, 46, 100}},
      {"full gqa", 130, 2, 1, 128, false, 0, {0}},
      {"causal", 200, 4, 2, 64, true, 0, {0}},
      {"windows long", 150, 2, 2, 40, false, 4, {0, 70, 71, 150}},
      {"causal 1 token", 1, 2, 1, 16, true, 0, {0}},
      {"full odd hd", 45, 3, 3, 7, false, 0, {0}},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0] && wanted("attention"); i++) test_attention(&cases[i]);
  if (wanted("activations")) test_activations(1000);
  if (wanted("embedding")) test_embedding(97, 200, 33);
  if (wanted("logprob")) test_logprob(13, 1001), test_logprob(3, 32771);
  if (wanted("sum_squares")) test_sum_squares(250007);
  if (wanted("adamw")) test_adamw(10007, true), test_adamw(4099, false);
  if (wanted("errors")) test_errors();
  st = g_b->ops->sync(g_b);
  expect(st == HATCH_OK, "backend", "end of the fp32 checks", st == HATCH_OK ? "healthy" : train_backend_cuda_error(g_b));
  g_b->ops->destroy(g_b);

  /* bf16 matmuls: operands rounded to bf16, fp32 accumulation. */
  st = train_backend_cuda_create(0, true, &g_b, why);
  if (st != HATCH_OK) {
    expect(false, "backend", "bf16", why);
  } else {
    printf("backend %s (bf16)\n", g_b->ops->name);
    if (wanted("linear")) {
      test_linear(37, 70, 53, true, true, true, 2e-2, "bf16");
      test_linear(300, 257, 129, true, true, true, 2e-2, "bf16");
    }
    st = g_b->ops->sync(g_b);
    expect(st == HATCH_OK, "backend", "end of the bf16 checks", st == HATCH_OK ? "healthy" : train_backend_cuda_error(g_b));
    g_b->ops->destroy(g_b);
  }
  printf("%d checks, %d failed\n", g_checks, g_failures);
  return g_failures ? 1 : 0;
}
