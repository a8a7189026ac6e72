/* Linear layer template (see layer_common.h): y (n, out) = x (n, in) · w (out, in)^T + b (out).
 * Backward accumulates: dx += dy · w, dw += dy^T · x, db += sum_t dy. */
#include "model/layer_common.h"

typedef struct FN(linear_job) {
  REAL *y, *dx, *dw, *db;
  const REAL *x, *w, *b, *dy;
  int64_t n, in, out, n_tb;
} FN(linear_job);

#define LINEAR_TB 8   /* rows of x per forward tile */
#define LINEAR_OB 64  /* rows of w per tile: stay in cache across the x rows */

static inline REAL FN(dot)(const REAL *a, const REAL *b, int64_t len) {
  REAL s[LAYER_LANES] = {0};
  int64_t i = 0;
  for (; i + LAYER_LANES <= len; i += LAYER_LANES)
    for (int l = 0; l < LAYER_LANES; l++) s[l] += a[i + l] * b[i + l];
  for (; i < len; i++) s[0] += a[i] * b[i];
  REAL sum = 0;
  for (int l = 0; l < LAYER_LANES; l++) sum += s[l];
  return sum;
}

static inline void FN(axpy)(REAL *y, REAL a, const REAL *x, int64_t len) {
  for (int64_t i = 0; i < len; i++) y[i] += a * x[i];
}

/* Items: (o block, t block) tiles, o block major. */
static void FN(linear_fwd_tiles)(void *ctx, int64_t begin, int64_t end) {
  const FN(linear_job) *j = ctx;
  for (int64_t it = begin; it < end; it++) {
    int64_t ob = (it / j->n_tb) * LINEAR_OB, tb = (it % j->n_tb) * LINEAR_TB;
    int64_t oe = layer_min(ob + LINEAR_OB, j->out), te = layer_min(tb + LINEAR_TB, j->n);
    for (int64_t t = tb; t < te; t++) {
      const REAL *x = j->x + t * j->in;
      REAL *y = j->y + t * j->out;
      for (int64_t o = ob; o < oe; o++) {
        REAL acc = FN(dot)(x, j->w + o * j->in, j->in);
        y[o] = j->b ? acc + j->b[o] : acc;
      }
    }
  }
}

void FN(linear_forward)(hatch_threadpool *pool, REAL *y, const REAL *x, const REAL *w, const REAL *b, int64_t n,
                        int64_t in, int64_t out) {
  FN(linear_job) j = {.y = y, .x = x, .w = w, .b = b, .n = n, .in = in, .out = out};
  j.n_tb = (n + LINEAR_TB - 1) / LINEAR_TB;
  int64_t n_ob = (out + LINEAR_OB - 1) / LINEAR_OB;
  layer_run(pool, n_ob * j.n_tb, 1, FN(linear_fwd_tiles), &j);
}

/* dx rows: dx[t, :] += sum_o dy[t, o] w[o, :], o ascending. */
static void FN(linear_bwd_dx)(void *ctx, int64_t begin, int64_t end) {
  const FN(linear_job) *j = ctx;
  for (int64_t ob = 0; ob < j->out; ob += LINEAR_OB) {
    int64_t oe = layer_min(ob + LINEAR_OB, j->out);
    for (int64_t t = begin; t < end; t++) {
      REAL *dx = j->dx + t * j->in;
      const REAL *dy = j->dy + t * j->out;
      for (int64_t o = ob; o < oe; o++)
        if (dy[o] != 0) FN(axpy)(dx, dy[o], j->w + o * j->in, j->in);
    }
  }
}

/* dw rows: dw[o, :] += sum_t dy[t, o] x[t, :], t ascending; db[o] likewise. */
static void FN(linear_bwd_dw)(void *ctx, int64_t begin, int64_t end) {
  const FN(linear_job) *j = ctx;
  for (int64_t tb = 0; tb < j->n; tb += 64) {
    int64_t te = layer_min(tb + 64, j->n);
    for (int64_t o = begin; o < end; o++) {
      REAL *dw = j->dw + o * j->in;
      for (int64_t t = tb; t < te; t++) {
        REAL g = j->dy[t * j->out + o];
        if (g != 0) FN(axpy)(dw, g, j->x + t * j->in, j->in);
      }
    }
  }
  if (j->db)
    for (int64_t o = begin; o < end; o++) {
      REAL s = 0;
      for (int64_t t = 0; t < j->n; t++) s += j->dy[t * j->out + o];
      j->db[o] += s;
    }
}

/* dx, dw, db may each be NULL (not wanted). */
void FN(linear_backward)(hatch_threadpool *pool, REAL *dx, REAL *dw, REAL *db, const REAL *dy, const REAL *x,
                         const REAL *w, int64_t n, int64_t in, int64_t out) {
  FN(linear_job) j = {.dx = dx, .dw = dw, .db = db, .dy = dy, .x = x, .w = w, .n = n, .in = in, .out = out};
  int64_t work = in * out; /* per row of dx */
  if (dx) layer_run(pool, n, work >= 16384 ? 1 : 1 + 16384 / (work + 1), FN(linear_bwd_dx), &j);
  if (dw) {
    layer_run(pool, out, 1 + 16384 / (n * in + 1), FN(linear_bwd_dw), &j);
  } else if (db) {
    for (int64_t o = 0; o < out; o++) {
      REAL s = 0;
      for (int64_t t = 0; t < n; t++) s += dy[t * out + o];
      db[o] += s;
    }
  }
}
