#include <math.h>

#include "cpu/cpu_ops.h"

typedef struct softmax_job {
  float *dst;     /* (rows, n) */
  const float *x; /* (rows, n) */
  int64_t n;
  float scale;
} softmax_job;

static void softmax_rows(void *ctx, int64_t begin, int64_t end) {
  const softmax_job *j = ctx;
  for (int64_t r = begin; r < end; r++) {
    const float *x = j->x + r * j->n;
    float *d = j->dst + r * j->n;
    float max = -INFINITY;
    for (int64_t i = 0; i < j->n; i++) max = fmaxf(max, x[i] * j->scale);
    double sum = 0.0;
    for (int64_t i = 0; i < j->n; i++) {
      d[i] = expf(x[i] * j->scale - max);
      sum += d[i];
    }
    float inv = (float)(1.0 / sum);
    for (int64_t i = 0; i < j->n; i++) d[i] *= inv;
  }
}

hatch_status hatch_cpu_softmax(hatch_backend *be, hatch_tensor *dst, const hatch_tensor *x, float scale) {
  softmax_job j = {dst->data, x->data, x->ne[0], scale};
  hatch_threadpool_run(hatch_cpu_pool(be), hatch_tensor_rows(x), 1 + 8192 / x->ne[0], softmax_rows, &j);
  return HATCH_OK;
}
