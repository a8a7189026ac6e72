/* PaStA: soft-target bidirectional cross-entropy over cell cosine similarities
 * (hatch/train_objectives.h; shared/docs/method.md §2). Computed in double: the loss is a handful of
 * (n², n²) matrices, cheap next to the vision tower, and the gradient check wants it exact. */
#include "hatch/train_objectives.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

hatch_pasta_loss_options hatch_pasta_loss_defaults(void) { return (hatch_pasta_loss_options){.n = 4, .tau1 = 0.1f, .tau2 = 0.1f}; }

/* Mean of the features of each cell: emb (n*n, dim); count (n*n). */
static void pool_cells(const float *f, int gh, int gw, int dim, int n, double *emb, int *count) {
  memset(emb, 0, sizeof(double) * (size_t)n * n * dim);
  for (int a = 0; a < n; a++)
    for (int b = 0; b < n; b++) {
      int r0 = a * gh / n, r1 = (a + 1) * gh / n, c0 = b * gw / n, c1 = (b + 1) * gw / n;
      double *e = emb + (size_t)(a * n + b) * dim;
      for (int r = r0; r < r1; r++)
        for (int c = c0; c < c1; c++) {
          const float *x = f + ((size_t)r * gw + c) * dim;
          for (int k = 0; k < dim; k++) e[k] += x[k];
        }
      count[a * n + b] = (r1 - r0) * (c1 - c0);
      for (int k = 0; k < dim; k++) e[k] /= count[a * n + b];
    }
}

/* Normalizes rows in place; norm (rows) keeps |e| (floored so a zero cell does not divide by 0). */
static void normalize_rows(double *e, int rows, int dim, double *norm) {
  for (int i = 0; i < rows; i++) {
    double s = 0;
    for (int k = 0; k < dim; k++) s += e[(size_t)i * dim + k] * e[(size_t)i * dim + k];
    norm[i] = fmax(sqrt(s), 1e-12);
    for (int k = 0; k < dim; k++) e[(size_t)i * dim + k] /= norm[i];
  }
}

static void softmax_row(const double *x, int n, double scale, double *out) {
  double mx = -INFINITY, s = 0;
  for (int j = 0; j < n; j++) mx = fmax(mx, x[j] * scale);
  for (int j = 0; j < n; j++) s += out[j] = exp(x[j] * scale - mx);
  for (int j = 0; j < n; j++) out[j] /= s;
}

/* One direction: rows of C (stride cs, next element at ce) against rows of S likewise. Adds
 * weight * dL/dC into dC (same strides) and returns the row-mean cross-entropy; *n_valid rows used. */
static double direction(const double *C, const float *S, int N, int row_stride, int col_stride, double tau1,
                        double tau2, double *dC, double *buf, int *n_valid) {
  double *srow = buf, *crow = buf + N, *p = buf + 2 * N, *q = buf + 3 * N;
  int valid = 0;
  for (int i = 0; i < N; i++) {
    double sum = 0;
    for (int j = 0; j < N; j++) sum += S[(size_t)i * row_stride + (size_t)j * col_stride];
    valid += sum > 1e-6;
  }
  *n_valid = valid;
  if (!valid) return 0;
  double loss = 0;
  for (int i = 0; i < N; i++) {
    double sum = 0;
    for (int j = 0; j < N; j++) {
      srow[j] = S[(size_t)i * row_stride + (size_t)j * col_stride];
      crow[j] = C[(size_t)i * row_stride + (size_t)j * col_stride];
      sum += srow[j];
    }
    if (!(sum > 1e-6)) continue;
    softmax_row(srow, N, 1.0 / tau1, p);
    softmax_row(crow, N, 1.0 / tau2, q);
    for (int j = 0; j < N; j++) {
      loss -= p[j] * log(fmax(q[j], 1e-300));
      /* d/dC of -Σ p log softmax(C/τ2) = (q - p) / τ2 (Σ p = 1), averaged over valid rows. */
      dC[(size_t)i * row_stride + (size_t)j * col_stride] += 0.5 * (q[j] - p[j]) / tau2 / valid;
    }
  }
  return loss / valid;
}

/* d(features) from d(normalized cell embedding): through the normalization, then spread over the
 * cell's tokens. */
static void backward_cells(const double *ehat, const double *norm, const double *dehat, const int *count, int gh,
                           int gw, int dim, int n, float *df) {
  memset(df, 0, sizeof(float) * (size_t)gh * gw * dim);
  for (int a = 0; a < n; a++)
    for (int b = 0; b < n; b++) {
      int cell = a * n + b;
      const double *e = ehat + (size_t)cell * dim, *de = dehat + (size_t)cell * dim;
      double dot = 0;
      for (int k = 0; k < dim; k++) dot += e[k] * de[k];
      int r0 = a * gh / n, r1 = (a + 1) * gh / n, c0 = b * gw / n, c1 = (b + 1) * gw / n;
      for (int r = r0; r < r1; r++)
        for (int c = c0; c < c1; c++) {
          float *d = df + ((size_t)r * gw + c) * dim;
          for (int k = 0; k < dim; k++) d[k] = (float)((de[k] - e[k] * dot) / norm[cell] / count[cell]);
        }
    }
}

hatch_status hatch_pasta_loss(const float *fx, int ghx, int gwx, const float *fy, int ghy, int gwy, int dim,
                              const float *S, const hatch_pasta_loss_options *opt, double *loss, float *dfx, float *dfy,
                              int n_valid[2]) {
  int n = opt->n, N = n * n;
  if (n < 1 || dim < 1 || ghx < n || gwx < n || ghy < n || gwy < n || !(opt->tau1 > 0) || !(opt->tau2 > 0))
    return HATCH_ERR_INVALID_ARGUMENT;
  size_t ed = (size_t)N * dim;
  double *mem = calloc(4 * ed + 2 * (size_t)N * N + 2 * (size_t)N + 4 * (size_t)N, sizeof(double));
  int *count = malloc(sizeof(int) * 2 * (size_t)N);
  if (!mem || !count) {
    free(mem);
    free(count);
    return HATCH_ERR_OUT_OF_MEMORY;
  }
  double *ex = mem, *ey = ex + ed;                 /* (N, dim) normalized cell embeddings */
  double *dex = ey + ed, *dey = dex + ed;          /* (N, dim) their gradients */
  double *C = dey + ed, *dC = C + (size_t)N * N;   /* (N, N) cosines and dL/dC */
  double *nx = dC + (size_t)N * N, *ny = nx + N;   /* (N) norms */
  double *buf = ny + N;                            /* (4N) row scratch */
  pool_cells(fx, ghx, gwx, dim, n, ex, count);
  pool_cells(fy, ghy, gwy, dim, n, ey, count + N);
  normalize_rows(ex, N, dim, nx);
  normalize_rows(ey, N, dim, ny);
  for (int i = 0; i < N; i++)
    for (int j = 0; j < N; j++) {
      double s = 0;
      for (int k = 0; k < dim; k++) s += ex[(size_t)i * dim + k] * ey[(size_t)j * dim + k];
      C[(size_t)i * N + j] = s;
    }
  int valid[2];
  double l = direction(C, S, N, N, 1, opt->tau1, opt->tau2, dC, buf, &valid[0]) +
             direction(C, S, N, 1, N, opt->tau1, opt->tau2, dC, buf, &valid[1]);
  if (n_valid) n_valid[0] = valid[0], n_valid[1] = valid[1];
  hatch_status st = HATCH_OK;
  if (!valid[0] && !valid[1]) {
    st = HATCH_ERR_NOT_FOUND;
    goto free_mem;
  }
  *loss = 0.5 * l;
  for (int i = 0; i < N; i++)
    for (int j = 0; j < N; j++) {
      double g = dC[(size_t)i * N + j];
      for (int k = 0; k < dim; k++) {
        dex[(size_t)i * dim + k] += g * ey[(size_t)j * dim + k];
        dey[(size_t)j * dim + k] += g * ex[(size_t)i * dim + k];
      }
    }
  if (dfx) backward_cells(ex, nx, dex, count, ghx, gwx, dim, n, dfx);
  if (dfy) backward_cells(ey, ny, dey, count + N, ghy, gwy, dim, n, dfy);
free_mem:
  free(mem);
  free(count);
  return st;
}
