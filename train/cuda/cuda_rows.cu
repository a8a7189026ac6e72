/* Row kernels: RMSNorm, rotary embedding, log-probabilities (fused log-softmax), and the fixed-order
 * column sums behind the bias and RMSNorm weight gradients. Arithmetic follows the CPU templates
 * (model/layer_rmsnorm.h, layer_rope.h, layer_xent.h) step by step: the same double sums, the same
 * float operation order, explicit _rn intrinsics where the compiler would otherwise fuse a
 * multiply-add the reference does not. Row reductions run in one block per row with a fixed tree
 * (cuda_device.h), so results do not change run to run. */
#include "cuda/cuda_device.h"

/* ---- column sums: out (d) += sum_t value(t, c), value = dy[t, c] or dy[t, c] * x[t, c] * rstd[t] ---- */

#define COL_TILE 32   /* columns per block (threadIdx.x) */
#define COL_STRIPES 8 /* row stripes per block (threadIdx.y) */

/* partial (n_chunks, d): block (column tile, chunk) sums rows [chunk * rows_per_chunk, +rows_per_chunk).
 * Each partial element is written by one thread (threadIdx.y == 0 of its block). */
__global__ void column_partials_kernel(float *partial, const float *dy, const float *x, const float *rstd, int64_t n,
                                       int64_t d, int64_t rows_per_chunk) {
  __shared__ float red[COL_STRIPES][COL_TILE + 1];
  const int64_t c = (int64_t)blockIdx.x * COL_TILE + threadIdx.x;
  const int64_t t0 = (int64_t)blockIdx.y * rows_per_chunk;
  const int64_t t1 = t0 + rows_per_chunk < n ? t0 + rows_per_chunk : n;
  float s = 0.0f;
  if (c < d)
    for (int64_t t = t0 + threadIdx.y; t < t1; t += COL_STRIPES) {
      float v = dy[t * d + c];
      if (x) v = __fmul_rn(__fmul_rn(v, x[t * d + c]), rstd[t]); /* (dy * x) * r as the reference */
      s += v;
    }
  red[threadIdx.y][threadIdx.x] = s;
  __syncthreads();
  if (threadIdx.y == 0 && c < d) {
    float total = 0.0f;
    for (int k = 0; k < COL_STRIPES; k++) total += red[k][threadIdx.x];
    partial[(int64_t)blockIdx.y * d + c] = total;
  }
}

/* out[c] += sum over chunks, ascending; one thread per column. */
__global__ void column_finish_kernel(float *out, const float *partial, int64_t n_chunks, int64_t d) {
  for (int64_t c = grid_first(); c < d; c += grid_stride()) {
    float s = 0.0f;
    for (int64_t k = 0; k < n_chunks; k++) s += partial[k * d + c];
    out[c] += s;
  }
}

void cuda_column_sums(cuda_backend *cb, float *out, const float *dy, const float *x, const float *rstd, int64_t n,
                      int64_t d) {
  if (!cuda_begin(cb) || n <= 0 || d <= 0) return;
  int64_t n_chunks = (n + 63) / 64;
  if (n_chunks > 256) n_chunks = 256;
  const int64_t rows_per_chunk = (n + n_chunks - 1) / n_chunks;
  n_chunks = (n + rows_per_chunk - 1) / rows_per_chunk;
  float *partial = (float *)cuda_scratch(cb, (size_t)(n_chunks * d) * sizeof(float));
  if (!partial) return;
  dim3 grid((unsigned)((d + COL_TILE - 1) / COL_TILE), (unsigned)n_chunks), block(COL_TILE, COL_STRIPES);
  CUDA_LAUNCH(column_partials_kernel, grid, block, 0, cb->stream)(partial, dy, x, rstd, n, d, rows_per_chunk);
  if (!cuda_check_launch(cb, "column_partials_kernel")) return;
  CUDA_LAUNCH(column_finish_kernel, cuda_grid(d, 256), 256, 0, cb->stream)(out, partial, n_chunks, d);
  cuda_check_launch(cb, "column_finish_kernel");
}

/* ---- RMSNorm ---- */

/* One block per row t (grid-stride over rows, uniform per block): rstd[t] and y[t, :] are written by
 * this block only; y may alias x (each thread reads x[i] before writing y[i], the sum is complete
 * before any write: block_sum ends in a barrier). */
__global__ void rmsnorm_forward_kernel(float *y, float *rstd, const float *x, const float *w, float eps, int64_t n,
                                       int64_t d) {
  __shared__ double red[CUDA_ROW_THREADS];
  for (int64_t t = blockIdx.x; t < n; t += gridDim.x) {
    const float *xr = x + t * d;
    float *yr = y + t * d;
    double s = 0.0;
    for (int64_t i = threadIdx.x; i < d; i += blockDim.x) s += (double)xr[i] * (double)xr[i];
    s = block_sum(s, red);
    /* (REAL)1 / sqrt((REAL)(sum / d) + eps), float steps */
    const float r = __fdiv_rn(1.0f, __fsqrt_rn(__fadd_rn((float)(s / (double)d), eps)));
    if (threadIdx.x == 0) rstd[t] = r;
    for (int64_t i = threadIdx.x; i < d; i += blockDim.x) yr[i] = __fmul_rn(__fmul_rn(xr[i], r), w[i]);
  }
}

/* dx[t, :] += r w dy - c x with c = (sum_i w dy x) r^3 / d in double; one block per row, each
 * element of dx written by one thread. */
__global__ void rmsnorm_backward_dx_kernel(float *dx, const float *dy, const float *x, const float *w,
                                           const float *rstd, int64_t n, int64_t d) {
  __shared__ double red[CUDA_ROW_THREADS];
  for (int64_t t = blockIdx.x; t < n; t += gridDim.x) {
    const float *xr = x + t * d, *dyr = dy + t * d;
    float *dxr = dx + t * d;
    double s = 0.0;
    for (int64_t i = threadIdx.x; i < d; i += blockDim.x) s += (double)w[i] * (double)dyr[i] * (double)xr[i];
    s = block_sum(s, red);
    const float r = rstd[t];
    const float c = (float)(s * (double)r * (double)r * (double)r / (double)d);
    for (int64_t i = threadIdx.x; i < d; i += blockDim.x)
      dxr[i] = __fadd_rn(dxr[i], __fsub_rn(__fmul_rn(__fmul_rn(r, w[i]), dyr[i]), __fmul_rn(c, xr[i])));
  }
}

void cuda_rmsnorm_forward(train_backend *b, float *y, float *rstd, const float *x, const float *w, float eps,
                          int64_t n, int64_t d) {
  cuda_backend *cb = cuda_of(b);
  if (!cuda_begin(cb) || n <= 0 || d <= 0) return;
  CUDA_LAUNCH(rmsnorm_forward_kernel, cuda_grid(n, 1), CUDA_ROW_THREADS, 0, cb->stream)(y, rstd, x, w, eps, n, d);
  cuda_check_launch(cb, "rmsnorm_forward_kernel");
}

void cuda_rmsnorm_backward(train_backend *b, float *dx, float *dw, const float *dy, const float *x, const float *w,
                           const float *rstd, int64_t n, int64_t d) {
  cuda_backend *cb = cuda_of(b);
  if (!cuda_begin(cb) || n <= 0 || d <= 0) return;
  if (dx) {
    CUDA_LAUNCH(rmsnorm_backward_dx_kernel, cuda_grid(n, 1), CUDA_ROW_THREADS, 0, cb->stream)(dx, dy, x, w, rstd, n,
                                                                                               d);
    if (!cuda_check_launch(cb, "rmsnorm_backward_dx_kernel")) return;
  }
  if (dw) cuda_column_sums(cb, dw, dy, x, rstd, n, d);
}

/* ---- rotary embedding (rotate-half) ---- */

/* Items (t, j), j < head_dim - half: j < half turns the pair (j, j + half) of every head by theta
 * (-theta for the inverse); j >= half copies tail column half + j (>= 2 half) when y != x. Every
 * element of y is written by exactly one item, after that item read it: y may alias x. */
__global__ void rope_kernel(float *y, const float *x, const int32_t *pos, const float *inv_freq, const int32_t *comp,
                            int64_t half, int64_t n, int64_t n_head, int64_t head_dim, bool inverse) {
  const int64_t per_row = head_dim - half, total = n * per_row;
  for (int64_t it = grid_first(); it < total; it += grid_stride()) {
    const int64_t t = it / per_row, j = it % per_row;
    const float *xr = x + t * n_head * head_dim;
    float *yr = y + t * n_head * head_dim;
    if (j < half) {
      const float theta = __fmul_rn((float)pos[(int64_t)comp[j] * n + t], inv_freq[j]);
      const float c = (float)cos((double)theta);
      float s = (float)sin((double)theta);
      if (inverse) s = -s;
      for (int64_t h = 0; h < n_head; h++) {
        const float x0 = xr[h * head_dim + j], x1 = xr[h * head_dim + j + half];
        yr[h * head_dim + j] = __fsub_rn(__fmul_rn(x0, c), __fmul_rn(x1, s));
        yr[h * head_dim + j + half] = __fadd_rn(__fmul_rn(x1, c), __fmul_rn(x0, s));
      }
    } else if (y != x) {
      for (int64_t h = 0; h < n_head; h++) yr[h * head_dim + half + j] = xr[h * head_dim + half + j];
    }
  }
}

static void rope(train_backend *b, float *y, const float *x, const int32_t *pos, const float *inv_freq,
                 const int32_t *comp, int n_dims, int64_t n, int64_t n_head, int64_t head_dim, bool inverse) {
  cuda_backend *cb = cuda_of(b);
  const int64_t half = n_dims / 2;
  if (!cuda_begin(cb) || n <= 0 || n_head <= 0 || head_dim <= 0) return;
  if (half < 0 || 2 * half > head_dim) {
    cuda_fail(cb, HATCH_ERR_SHAPE, "rope: n_dims over head_dim");
    return;
  }
  CUDA_LAUNCH(rope_kernel, cuda_grid(n * (head_dim - half), 256), 256, 0, cb->stream)(y, x, pos, inv_freq, comp, half,
                                                                                      n, n_head, head_dim, inverse);
  cuda_check_launch(cb, "rope_kernel");
}

void cuda_rope_forward(train_backend *b, float *y, const float *x, const int32_t *pos, const float *inv_freq,
                       const int32_t *comp, int n_dims, int64_t n, int64_t n_head, int64_t head_dim) {
  rope(b, y, x, pos, inv_freq, comp, n_dims, n, n_head, head_dim, false);
}

void cuda_rope_backward(train_backend *b, float *dx, const float *dy, const int32_t *pos, const float *inv_freq,
                        const int32_t *comp, int n_dims, int64_t n, int64_t n_head, int64_t head_dim) {
  rope(b, dx, dy, pos, inv_freq, comp, n_dims, n, n_head, head_dim, true);
}

/* ---- log-probabilities of targets ---- */

/* One block per row t: lse[t] = m + log(sum exp((double)(z - m))) (sum in double), logp[t] =
 * z[target] - lse[t], 0 without a target, NaN for a target past the vocabulary. Thread 0 writes
 * both. */
__global__ void logprob_forward_kernel(float *logp, float *lse, const float *logits, const int32_t *targets, int64_t n,
                                       int64_t vocab) {
  __shared__ double red_d[CUDA_ROW_THREADS];
  __shared__ float red_f[CUDA_ROW_THREADS];
  for (int64_t t = blockIdx.x; t < n; t += gridDim.x) {
    const float *z = logits + t * vocab;
    float m = -INFINITY;
    for (int64_t v = threadIdx.x; v < vocab; v += blockDim.x) m = z[v] > m ? z[v] : m;
    m = block_max(m, red_f);
    double s = 0.0;
    for (int64_t v = threadIdx.x; v < vocab; v += blockDim.x) s += exp((double)__fsub_rn(z[v], m));
    s = block_sum(s, red_d);
    if (threadIdx.x == 0) {
      const float l = __fadd_rn(m, (float)log(s));
      lse[t] = l;
      if (logp) {
        const int32_t tg = targets ? targets[t] : -1;
        logp[t] = tg < 0 ? 0.0f : tg < vocab ? __fsub_rn(z[tg], l) : NAN;
      }
    }
  }
}

/* dlogits[t, v] += dlogp[t] (1[v = target] - exp(z - lse)); rows without a target or with a zero
 * gradient untouched. One block per row, each element written by one thread. */
__global__ void logprob_backward_kernel(float *dlogits, const float *dlogp, const float *logits, const float *lse,
                                        const int32_t *targets, int64_t n, int64_t vocab) {
  for (int64_t t = blockIdx.x; t < n; t += gridDim.x) {
    const float g = dlogp[t], l = lse[t];
    const int32_t tg = targets[t];
    if (tg < 0 || g == 0.0f) continue; /* the same for the whole block: no barrier below */
    const float *z = logits + t * vocab;
    float *dz = dlogits + t * vocab;
    for (int64_t v = threadIdx.x; v < vocab; v += blockDim.x) {
      float d = __fsub_rn(dz[v], __fmul_rn(g, expf(__fsub_rn(z[v], l))));
      if (v == tg) d = __fadd_rn(d, g); /* the reference adds g after the subtraction */
      dz[v] = d;
    }
  }
}

void cuda_logprob_forward(train_backend *b, float *logp, float *lse, const float *logits, const int32_t *targets,
                          int64_t n, int64_t vocab) {
  cuda_backend *cb = cuda_of(b);
  if (!cuda_begin(cb) || n <= 0 || vocab <= 0) return;
  CUDA_LAUNCH(logprob_forward_kernel, cuda_grid(n, 1), CUDA_ROW_THREADS, 0, cb->stream)(logp, lse, logits, targets, n,
                                                                                         vocab);
  cuda_check_launch(cb, "logprob_forward_kernel");
}

void cuda_logprob_backward(train_backend *b, float *dlogits, const float *dlogp, const float *logits,
                           const float *lse, const int32_t *targets, int64_t n, int64_t vocab) {
  cuda_backend *cb = cuda_of(b);
  if (!cuda_begin(cb) || n <= 0 || vocab <= 0) return;
  CUDA_LAUNCH(logprob_backward_kernel, cuda_grid(n, 1), CUDA_ROW_THREADS, 0, cb->stream)(dlogits, dlogp, logits, lse,
                                                                                          targets, n, vocab);
  cuda_check_launch(cb, "logprob_backward_kernel");
}
