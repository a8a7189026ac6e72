/* 2x2 merge gather: the four patches of each 2x2 block side by side in one row. */
#include <string.h>

#include "cpu/cpu_ops.h"

typedef struct merge_job {
  float *dst;     /* (grid_h/2 * grid_w/2, 4c) */
  const float *x; /* (grid_h * grid_w, c) */
  int64_t c, grid_w;
} merge_job;

static void merge_rows(void *ctx, int64_t begin, int64_t end) {
  const merge_job *j = ctx;
  int64_t half_w = j->grid_w / 2;
  size_t bytes = sizeof(float) * (size_t)j->c;
  for (int64_t r = begin; r < end; r++) {
    int64_t by = r / half_w, bx = r % half_w;
    for (int q = 0; q < 4; q++) { /* (0,0) (0,1) (1,0) (1,1) */
      int64_t src_row = (2 * by + q / 2) * j->grid_w + 2 * bx + q % 2;
      memcpy(j->dst + (r * 4 + q) * j->c, j->x + src_row * j->c, bytes);
    }
  }
}

hatch_status hatch_cpu_merge_2x2(hatch_backend *be, hatch_tensor *dst, const hatch_tensor *x, int64_t grid_h,
                                 int64_t grid_w) {
  merge_job j = {dst->data, x->data, x->ne[0], grid_w};
  hatch_threadpool_run(hatch_cpu_pool(be), grid_h * grid_w / 4, 1 + 16384 / (4 * x->ne[0]), merge_rows, &j);
  return HATCH_OK;
}
