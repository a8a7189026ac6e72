/* Row gather (get_rows) and row copy (set_rows). */
#include <string.h>

#include "cpu/cpu_ops.h"

typedef struct gather_job {
  float *dst;          /* (n, c) */
  const float *src;    /* (m, c) */
  const int32_t *idx;  /* (n) */
  int64_t c, m;
} gather_job;

static void gather_rows(void *ctx, int64_t begin, int64_t end) {
  const gather_job *j = ctx;
  for (int64_t r = begin; r < end; r++) {
    int32_t i = j->idx[r];
    if (i < 0 || i >= j->m) memset(j->dst + r * j->c, 0, sizeof(float) * (size_t)j->c);
    else memcpy(j->dst + r * j->c, j->src + (int64_t)i * j->c, sizeof(float) * (size_t)j->c);
  }
}

hatch_status hatch_cpu_get_rows(hatch_backend *be, hatch_tensor *dst, const hatch_tensor *src, const hatch_tensor *idx) {
  gather_job j = {dst->data, src->data, idx->data, src->ne[0], hatch_tensor_rows(src)};
  hatch_threadpool_run(hatch_cpu_pool(be), hatch_tensor_rows(dst), 1 + 16384 / src->ne[0], gather_rows, &j);
  return HATCH_OK;
}

hatch_status hatch_cpu_set_rows(hatch_backend *be, hatch_tensor *dst, const hatch_tensor *src, int64_t row_offset,
                                const hatch_tensor *at, int64_t unit) {
  (void)be;
  int64_t n_rows = hatch_tensor_rows(src);
  if (at) {
    int64_t first = (int64_t)((const int32_t *)at->data)[0];
    if (first < 0 || first > (hatch_tensor_rows(dst) - n_rows) / unit) return HATCH_ERR_SHAPE;
    row_offset += first * unit;
    if (row_offset > hatch_tensor_rows(dst) - n_rows) return HATCH_ERR_SHAPE;
  }
  int64_t n = hatch_tensor_nelements(src), base = row_offset * dst->ne[0];
  const float *s = src->data;
  if (dst->type == HATCH_TYPE_F16) {
    uint16_t *d = (uint16_t *)dst->data + base; /* (rows, c) fp16 */
    for (int64_t i = 0; i < n; i++) d[i] = hatch_fp32_to_fp16(s[i]);
  } else {
    memcpy((float *)dst->data + base, s, sizeof(float) * (size_t)n);
  }
  return HATCH_OK;
}
