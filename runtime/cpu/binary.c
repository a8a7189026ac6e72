#include "cpu/cpu_ops.h"

typedef struct binary_job {
  float *dst;       /* (rows, n) */
  const float *a;   /* (rows, n) */
  const float *b;   /* (b_rows, n), row r of a meets row r % b_rows */
  int64_t n, b_rows;
  hatch_binary_op op;
} binary_job;

static void binary_rows(void *ctx, int64_t begin, int64_t end) {
  const binary_job *j = ctx;
  for (int64_t r = begin; r < end; r++) {
    const float *a = j->a + r * j->n;
    const float *b = j->b + (r % j->b_rows) * j->n;
    float *d = j->dst + r * j->n;
    if (j->op == HATCH_BINARY_ADD)
      for (int64_t i = 0; i < j->n; i++) d[i] = a[i] + b[i];
    else
      for (int64_t i = 0; i < j->n; i++) d[i] = a[i] * b[i];
  }
}

hatch_status hatch_cpu_binary(hatch_backend *be, hatch_tensor *dst, const hatch_tensor *a, const hatch_tensor *b,
                              hatch_binary_op op) {
  binary_job j = {dst->data, a->data, b->data, a->ne[0], hatch_tensor_rows(b), op};
  hatch_threadpool_run(hatch_cpu_pool(be), hatch_tensor_rows(a), 1 + 16384 / a->ne[0], binary_rows, &j);
  return HATCH_OK;
}
