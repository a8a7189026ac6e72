#include <math.h>

#include "cpu/cpu_ops.h"

typedef struct rms_norm_job {
  float *dst;          /* (rows, n) */
  const float *x;      /* (rows, n) */
  const float *weight; /* (n) or NULL */
  int64_t n;
  float eps;
} rms_norm_job;

static void rms_norm_rows(void *ctx, int64_t begin, int64_t end) {
  const rms_norm_job *j = ctx;
  for (int64_t r = begin; r < end; r++) {
    const float *x = j->x + r * j->n;
    float *d = j->dst + r * j->n;
    double sum = 0.0;
    for (int64_t i = 0; i < j->n; i++) sum += (double)x[i] * x[i];
    float inv = 1.0f / sqrtf((float)(sum / (double)j->n) + j->eps);
    for (int64_t i = 0; i < j->n; i++) d[i] = x[i] * inv * (j->weight ? j->weight[i] : 1.0f);
  }
}

hatch_status hatch_cpu_rms_norm(hatch_backend *be, hatch_tensor *dst, const hatch_tensor *x,
                                const hatch_tensor *weight, float eps) {
  rms_norm_job j = {dst->data, x->data, weight ? weight->data : NULL, x->ne[0], eps};
  hatch_threadpool_run(hatch_cpu_pool(be), hatch_tensor_rows(x), 1 + 8192 / x->ne[0], rms_norm_rows, &j);
  return HATCH_OK;
}
