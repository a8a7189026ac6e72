/* Rotary position embedding template (see layer_common.h), the runtime's rotate_half form: pair i =
 * (x[i], x[i + n_dims/2]) turned by theta = (REAL)pos[comp_i][t] * inv_freq_i, cos/sin in double
 * rounded once (as runtime/cpu/rope.c). The backward turns the gradient back by -theta. */
#include "model/layer_common.h"

/* inv_freq, comp (n_dims/2): the runtime's hatch_rope_table. NEOX: comp 0, D = n_dims; MROPE: comp =
 * the section holding i (t, h, w), D = n_dims; VISION: (h, w) sections, frequencies restart per
 * section with D = n_dims/2. */
void FN(rope_table)(REAL *inv_freq, int32_t *comp, int mode, int n_dims, double base, const int *sections) {
  int half = n_dims / 2, c = 0, begin = 0;
  double dim = mode == LAYER_ROPE_VISION ? (double)half : (double)n_dims;
  for (int i = 0; i < half; i++) {
    if (mode != LAYER_ROPE_NEOX)
      while (c < 3 && i >= begin + sections[c]) begin += sections[c++];
    int jj = mode == LAYER_ROPE_VISION ? i - begin : i;
    inv_freq[i] = (REAL)(1.0 / pow(base, 2.0 * jj / dim));
    comp[i] = c;
  }
}

typedef struct FN(rope_job) {
  REAL *y;
  const REAL *x;
  const int32_t *pos;       /* (n_comp, n) */
  const REAL *inv_freq;     /* (half) */
  const int32_t *comp;      /* (half) */
  int64_t n, n_head, head_dim;
  int half;
  bool inverse;
} FN(rope_job);

static void FN(rope_rows)(void *ctx, int64_t begin, int64_t end) {
  const FN(rope_job) *j = ctx;
  for (int64_t t = begin; t < end; t++) {
    const REAL *x = j->x + t * j->n_head * j->head_dim;
    REAL *y = j->y + t * j->n_head * j->head_dim;
    for (int i = 0; i < j->half; i++) {
      REAL theta = (REAL)j->pos[j->comp[i] * j->n + t] * j->inv_freq[i];
      REAL c = (REAL)cos((double)theta), s = (REAL)sin((double)theta);
      if (j->inverse) s = -s;
      for (int64_t h = 0; h < j->n_head; h++) {
        REAL x0 = x[h * j->head_dim + i], x1 = x[h * j->head_dim + i + j->half];
        y[h * j->head_dim + i] = x0 * c - x1 * s;
        y[h * j->head_dim + i + j->half] = x1 * c + x0 * s;
      }
    }
    if (y != x)
      for (int64_t h = 0; h < j->n_head; h++)
        memcpy(y + h * j->head_dim + 2 * j->half, x + h * j->head_dim + 2 * j->half,
               sizeof(REAL) * (size_t)(j->head_dim - 2 * j->half));
  }
}

/* y, x (n, n_head, head_dim), y may alias x; pos (n_comp, n). */
void FN(rope_forward)(hatch_threadpool *pool, REAL *y, const REAL *x, const int32_t *pos, const REAL *inv_freq,
                      const int32_t *comp, int n_dims, int64_t n, int64_t n_head, int64_t head_dim) {
  FN(rope_job) j = {y, x, pos, inv_freq, comp, n, n_head, head_dim, n_dims / 2, false};
  layer_run(pool, n, 1 + 8192 / (n_head * head_dim), FN(rope_rows), &j);
}

/* dx = R(-theta) dy (not accumulated); dx may alias dy. */
void FN(rope_backward)(hatch_threadpool *pool, REAL *dx, const REAL *dy, const int32_t *pos, const REAL *inv_freq,
                       const int32_t *comp, int n_dims, int64_t n, int64_t n_head, int64_t head_dim) {
  FN(rope_job) j = {dx, dy, pos, inv_freq, comp, n, n_head, head_dim, n_dims / 2, true};
  layer_run(pool, n, 1 + 8192 / (n_head * head_dim), FN(rope_rows), &j);
}
