#include <math.h>

#include "cpu/cpu_ops.h"

float hatch_gelu_erf(float x) { return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f)); }

typedef struct unary_job {
  float *dst;
  const float *x;
  const float *up; /* swiglu only */
  hatch_unary_op op;
} unary_job;

static void unary_range(void *ctx, int64_t begin, int64_t end) {
  const unary_job *j = ctx;
  for (int64_t i = begin; i < end; i++)
    j->dst[i] = j->op == HATCH_UNARY_SILU ? hatch_silu(j->x[i]) : hatch_gelu_erf(j->x[i]);
}

static void swiglu_range(void *ctx, int64_t begin, int64_t end) {
  const unary_job *j = ctx;
  for (int64_t i = begin; i < end; i++) j->dst[i] = hatch_silu(j->x[i]) * j->up[i];
}

hatch_status hatch_cpu_unary(hatch_backend *be, hatch_tensor *dst, const hatch_tensor *x, hatch_unary_op op) {
  unary_job j = {dst->data, x->data, NULL, op};
  hatch_threadpool_run(hatch_cpu_pool(be), hatch_tensor_nelements(x), 16384, unary_range, &j);
  return HATCH_OK;
}

hatch_status hatch_cpu_swiglu(hatch_backend *be, hatch_tensor *dst, const hatch_tensor *gate, const hatch_tensor *up) {
  unary_job j = {dst->data, gate->data, up->data, HATCH_UNARY_SILU};
  hatch_threadpool_run(hatch_cpu_pool(be), hatch_tensor_nelements(gate), 16384, swiglu_range, &j);
  return HATCH_OK;
}
