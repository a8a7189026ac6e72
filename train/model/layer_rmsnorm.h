/* RMSNorm template (see layer_common.h): y = x * rstd * w per row of d, rstd = 1/sqrt(mean(x^2) + eps),
 * in the runtime's arithmetic (sum of squares in double, the rest in REAL).
 * Backward accumulates: dx += rstd w dy - rstd^3 x (sum_i w_i dy_i x_i) / d; dw += sum_t dy x rstd. */
#include "model/layer_common.h"

typedef struct FN(rmsnorm_job) {
  REAL *y, *rstd, *dx, *dw;
  const REAL *x, *w, *dy, *rstd_in;
  REAL eps;
  int64_t n, d;
} FN(rmsnorm_job);

static void FN(rmsnorm_fwd_rows)(void *ctx, int64_t begin, int64_t end) {
  const FN(rmsnorm_job) *j = ctx;
  for (int64_t t = begin; t < end; t++) {
    const REAL *x = j->x + t * j->d;
    REAL *y = j->y + t * j->d;
    double sum = 0.0;
    for (int64_t i = 0; i < j->d; i++) sum += (double)x[i] * x[i];
    REAL r = (REAL)1 / sqrt((REAL)(sum / (double)j->d) + j->eps);
    j->rstd[t] = r;
    for (int64_t i = 0; i < j->d; i++) y[i] = x[i] * r * j->w[i];
  }
}

/* y, x (n, d); w (d); rstd (n) saved for the backward. */
void FN(rmsnorm_forward)(hatch_threadpool *pool, REAL *y, REAL *rstd, const REAL *x, const REAL *w, REAL eps,
                         int64_t n, int64_t d) {
  FN(rmsnorm_job) j = {.y = y, .rstd = rstd, .x = x, .w = w, .eps = eps, .n = n, .d = d};
  layer_run(pool, n, 1 + 8192 / d, FN(rmsnorm_fwd_rows), &j);
}

static void FN(rmsnorm_bwd_dx)(void *ctx, int64_t begin, int64_t end) {
  const FN(rmsnorm_job) *j = ctx;
  for (int64_t t = begin; t < end; t++) {
    const REAL *x = j->x + t * j->d, *dy = j->dy + t * j->d;
    REAL *dx = j->dx + t * j->d;
    double dot = 0.0;
    for (int64_t i = 0; i < j->d; i++) dot += (double)j->w[i] * dy[i] * x[i];
    REAL r = j->rstd_in[t];
    REAL c = (REAL)(dot * (double)r * r * r / (double)j->d);
    for (int64_t i = 0; i < j->d; i++) dx[i] += r * j->w[i] * dy[i] - c * x[i];
  }
}

/* Items: blocks of 64 columns; rows summed in order. */
static void FN(rmsnorm_bwd_dw)(void *ctx, int64_t begin, int64_t end) {
  const FN(rmsnorm_job) *j = ctx;
  for (int64_t b = begin; b < end; b++) {
    int64_t i0 = b * 64, i1 = layer_min(i0 + 64, j->d);
    REAL acc[64] = {0};
    for (int64_t t = 0; t < j->n; t++) {
      const REAL *x = j->x + t * j->d, *dy = j->dy + t * j->d;
      REAL r = j->rstd_in[t];
      for (int64_t i = i0; i < i1; i++) acc[i - i0] += dy[i] * x[i] * r;
    }
    for (int64_t i = i0; i < i1; i++) j->dw[i] += acc[i - i0];
  }
}

/* dx (n, d) and dw (d) accumulate; either may be NULL. */
void FN(rmsnorm_backward)(hatch_threadpool *pool, REAL *dx, REAL *dw, const REAL *dy, const REAL *x, const REAL *w,
                          const REAL *rstd, int64_t n, int64_t d) {
  FN(rmsnorm_job) j = {.dx = dx, .dw = dw, .dy = dy, .x = x, .w = w, .rstd_in = rstd, .n = n, .d = d};
  if (dx) layer_run(pool, n, 1 + 8192 / d, FN(rmsnorm_bwd_dx), &j);
  if (dw) layer_run(pool, (d + 63) / 64, 1, FN(rmsnorm_bwd_dw), &j);
}
