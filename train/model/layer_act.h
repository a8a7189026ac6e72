/* Activation templates (see layer_common.h): SwiGLU h = silu(g) * u and exact (erf) GELU, in the
 * runtime's arithmetic (runtime/cpu/unary.c). Backward accumulates. */
#include "model/layer_common.h"

typedef struct FN(act_job) {
  REAL *y, *dg, *du;
  const REAL *g, *u, *dy;
} FN(act_job);

static void FN(swiglu_fwd)(void *ctx, int64_t begin, int64_t end) {
  const FN(act_job) *j = ctx;
  for (int64_t i = begin; i < end; i++) j->y[i] = j->g[i] / ((REAL)1 + exp(-j->g[i])) * j->u[i];
}

static void FN(swiglu_bwd)(void *ctx, int64_t begin, int64_t end) {
  const FN(act_job) *j = ctx;
  for (int64_t i = begin; i < end; i++) {
    REAL g = j->g[i], sg = (REAL)1 / ((REAL)1 + exp(-g));
    j->dg[i] += j->dy[i] * j->u[i] * sg * ((REAL)1 + g * ((REAL)1 - sg));
    j->du[i] += j->dy[i] * g * sg;
  }
}

/* h, g, u (n) */
void FN(swiglu_forward)(hatch_threadpool *pool, REAL *h, const REAL *g, const REAL *u, int64_t n) {
  FN(act_job) j = {.y = h, .g = g, .u = u};
  layer_run(pool, n, 16384, FN(swiglu_fwd), &j);
}

void FN(swiglu_backward)(hatch_threadpool *pool, REAL *dg, REAL *du, const REAL *dh, const REAL *g, const REAL *u,
                         int64_t n) {
  FN(act_job) j = {.dg = dg, .du = du, .dy = dh, .g = g, .u = u};
  layer_run(pool, n, 16384, FN(swiglu_bwd), &j);
}

static void FN(gelu_fwd)(void *ctx, int64_t begin, int64_t end) {
  const FN(act_job) *j = ctx;
  for (int64_t i = begin; i < end; i++) {
    REAL x = j->g[i];
    j->y[i] = (REAL)0.5 * x * ((REAL)1 + erf(x * (REAL)0.70710678118654752));
  }
}

static void FN(gelu_bwd)(void *ctx, int64_t begin, int64_t end) {
  const FN(act_job) *j = ctx;
  for (int64_t i = begin; i < end; i++) {
    REAL x = j->g[i];
    REAL cdf = (REAL)0.5 * ((REAL)1 + erf(x * (REAL)0.70710678118654752));
    REAL pdf = exp((REAL)-0.5 * x * x) * (REAL)0.39894228040143268; /* 1/sqrt(2 pi) */
    j->dg[i] += j->dy[i] * (cdf + x * pdf);
  }
}

/* y, x (n) */
void FN(gelu_forward)(hatch_threadpool *pool, REAL *y, const REAL *x, int64_t n) {
  FN(act_job) j = {.y = y, .g = x};
  layer_run(pool, n, 16384, FN(gelu_fwd), &j);
}

void FN(gelu_backward)(hatch_threadpool *pool, REAL *dx, const REAL *dy, const REAL *x, int64_t n) {
  FN(act_job) j = {.dg = dx, .dy = dy, .g = x};
  layer_run(pool, n, 16384, FN(gelu_bwd), &j);
}
