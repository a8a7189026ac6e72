/* Element-wise kernels and data movement: add, row gather / scatter, strided 2D copy, SwiGLU, exact
 * GELU, embedding lookup and its scatter-add, the squared sum (gradient norm), scale, AdamW and the
 * bf16 rounding of matmul operands. Every kernel is a grid-stride loop over int64 items in which
 * each output element is written by exactly one item, so there are no races and no atomics; in-place
 * use (y == x) is safe because an item reads its inputs before writing its own output. Arithmetic as
 * the CPU templates (model/layer_act.h, layer_embedding.h, optim/adamw.c), with _rn intrinsics where
 * the compiler would otherwise contract a multiply-add the reference does not do. */
#include "cuda/cuda_device.h"

#define EW_THREADS 256

/* ---- data movement ---- */

__global__ void add_kernel(float *y, const float *x0, const float *x1, int64_t n) {
  for (int64_t i = grid_first(); i < n; i += grid_stride()) y[i] = x0[i] + x1[i];
}

/* dst (n, d) row r = src row idx[r]. */
__global__ void gather_rows_kernel(float *dst, const float *src, const int32_t *idx, int64_t n, int64_t d) {
  for (int64_t i = grid_first(); i < n * d; i += grid_stride()) {
    const int64_t r = i / d, c = i % d;
    dst[i] = src[(int64_t)idx[r] * d + c];
  }
}

/* dst row idx[r] = src (n, d) row r; idx is a permutation of distinct rows (the op's contract), so
 * no two items write one element. */
__global__ void scatter_rows_kernel(float *dst, const float *src, const int32_t *idx, int64_t n, int64_t d) {
  for (int64_t i = grid_first(); i < n * d; i += grid_stride()) {
    const int64_t r = i / d, c = i % d;
    dst[(int64_t)idx[r] * d + c] = src[i];
  }
}

__global__ void copy_2d_kernel(float *dst, int64_t dst_stride, const float *src, int64_t src_stride, int64_t rows,
                               int64_t cols, bool accumulate) {
  for (int64_t i = grid_first(); i < rows * cols; i += grid_stride()) {
    const int64_t r = i / cols, c = i % cols;
    const float v = src[r * src_stride + c];
    float *o = dst + r * dst_stride + c;
    *o = accumulate ? *o + v : v;
  }
}

/* ---- activations ---- */

/* h = g / (1 + exp(-g)) * u */
__global__ void swiglu_forward_kernel(float *h, const float *g, const float *u, int64_t n) {
  for (int64_t i = grid_first(); i < n; i += grid_stride())
    h[i] = __fmul_rn(__fdiv_rn(g[i], __fadd_rn(1.0f, expf(-g[i]))), u[i]);
}

/* dg += dh u sg (1 + g (1 - sg)), du += dh g sg, sg = 1 / (1 + exp(-g)) */
__global__ void swiglu_backward_kernel(float *dg, float *du, const float *dh, const float *g, const float *u,
                                       int64_t n) {
  for (int64_t i = grid_first(); i < n; i += grid_stride()) {
    const float gi = g[i], dy = dh[i];
    const float sg = __fdiv_rn(1.0f, __fadd_rn(1.0f, expf(-gi)));
    const float f = __fadd_rn(1.0f, __fmul_rn(gi, __fsub_rn(1.0f, sg)));
    dg[i] = __fadd_rn(dg[i], __fmul_rn(__fmul_rn(__fmul_rn(dy, u[i]), sg), f));
    du[i] = __fadd_rn(du[i], __fmul_rn(__fmul_rn(dy, gi), sg));
  }
}

#define GELU_RSQRT2 0.70710678118654752f
#define GELU_RSQRT2PI 0.39894228040143268f /* 1 / sqrt(2 pi) */

/* y = 0.5 x (1 + erf(x / sqrt 2)) */
__global__ void gelu_forward_kernel(float *y, const float *x, int64_t n) {
  for (int64_t i = grid_first(); i < n; i += grid_stride()) {
    const float xi = x[i];
    y[i] = __fmul_rn(__fmul_rn(0.5f, xi), __fadd_rn(1.0f, erff(__fmul_rn(xi, GELU_RSQRT2))));
  }
}

/* dx += dy (cdf + x pdf) */
__global__ void gelu_backward_kernel(float *dx, const float *dy, const float *x, int64_t n) {
  for (int64_t i = grid_first(); i < n; i += grid_stride()) {
    const float xi = x[i];
    const float cdf = __fmul_rn(0.5f, __fadd_rn(1.0f, erff(__fmul_rn(xi, GELU_RSQRT2))));
    const float pdf = __fmul_rn(expf(__fmul_rn(__fmul_rn(-0.5f, xi), xi)), GELU_RSQRT2PI);
    dx[i] = __fadd_rn(dx[i], __fmul_rn(dy[i], __fadd_rn(cdf, __fmul_rn(xi, pdf))));
  }
}

/* ---- embedding ---- */

/* x[t] = table[ids[t]] unless ids[t] == skip_id. */
__global__ void embedding_forward_kernel(float *x, const int32_t *ids, const float *table, int32_t skip_id, int64_t n,
                                         int64_t d) {
  for (int64_t i = grid_first(); i < n * d; i += grid_stride()) {
    const int64_t t = i / d, c = i % d;
    const int32_t id = ids[t];
    if (id != skip_id) x[i] = table[(int64_t)id * d + c];
  }
}

#define EMB_CLASSES 32 /* vocabulary rows are split by id % EMB_CLASSES over blockIdx.y */

/* dtable[id, c] += dx[t, c] for every t with ids[t] == id, t ascending (the reference's order, so the
 * result is bitwise the serial one). Thread (column c, class k) owns every element (id, c) with
 * id % EMB_CLASSES == k: each dtable element has exactly one writer, which scans t in order. No
 * sort, no atomics; the ids are read by every thread of a block (one broadcast load per t). */
__global__ void embedding_backward_kernel(float *dtable, const float *dx, const int32_t *ids, int32_t skip_id,
                                          int64_t n, int64_t d) {
  const int64_t c = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
  const int32_t k = (int32_t)blockIdx.y;
  if (c >= d) return; /* no barriers in this kernel */
  for (int64_t t = 0; t < n; t++) {
    const int32_t id = ids[t];
    if (id == skip_id || id < 0 || id % EMB_CLASSES != k) continue;
    dtable[(int64_t)id * d + c] += dx[t * d + c];
  }
}

/* ---- optimizer ---- */

#define SUMSQ_THREADS 256
#define SUMSQ_MAX_BLOCKS 1024

/* Stage 1: block b sums x[i]^2 (double) and counts non-finite x[i] over its grid-stride share. The
 * grid size depends on n only, so the two-stage sum is the same run to run and GPU to GPU. */
__global__ void sum_squares_partial_kernel(double *partial_sum, unsigned long long *partial_count, const float *x,
                                           int64_t n) {
  __shared__ double red[SUMSQ_THREADS];
  __shared__ unsigned long long red_count[SUMSQ_THREADS];
  double s = 0.0;
  unsigned long long count = 0;
  for (int64_t i = grid_first(); i < n; i += grid_stride()) {
    const float v = x[i];
    s += (double)v * (double)v;
    count += isfinite(v) ? 0 : 1;
  }
  s = block_sum(s, red);
  count = block_sum(count, red_count);
  if (threadIdx.x == 0) {
    partial_sum[blockIdx.x] = s;
    partial_count[blockIdx.x] = count;
  }
}

/* Stage 2, one block: the partials in a fixed order; thread 0 writes the two results. */
__global__ void sum_squares_final_kernel(double *sum, unsigned long long *count, const double *partial_sum,
                                         const unsigned long long *partial_count, int64_t blocks) {
  __shared__ double red[SUMSQ_THREADS];
  __shared__ unsigned long long red_count[SUMSQ_THREADS];
  double s = 0.0;
  unsigned long long c = 0;
  for (int64_t i = threadIdx.x; i < blocks; i += blockDim.x) {
    s += partial_sum[i];
    c += partial_count[i];
  }
  s = block_sum(s, red);
  c = block_sum(c, red_count);
  if (threadIdx.x == 0) {
    *sum = s;
    *count = c;
  }
}

__global__ void scale_kernel(float *x, float s, int64_t n) {
  for (int64_t i = grid_first(); i < n; i += grid_stride()) x[i] = x[i] * s;
}

/* torch's _single_tensor_adamw per element, in optim/adamw.c's float operation order:
 * p *= decay; m = m + w1 (g - m) (lerp, w1 = 1 - beta1 < 0.5); v = v beta2 + (1 - beta2) g g;
 * p += -step_size * m / (sqrt(v) / bias2_sqrt + eps). */
__global__ void adamw_kernel(float *p, const float *g, float *m, float *v, int64_t n, float decay, float w1,
                             float beta2, float one_minus_beta2, float step_size, float bias2_sqrt, float eps) {
  for (int64_t i = grid_first(); i < n; i += grid_stride()) {
    const float pi = __fmul_rn(p[i], decay), gi = g[i], m0 = m[i], v0 = v[i];
    const float mi = __fadd_rn(m0, __fmul_rn(w1, __fsub_rn(gi, m0)));
    const float vi = __fadd_rn(__fmul_rn(v0, beta2), __fmul_rn(__fmul_rn(one_minus_beta2, gi), gi));
    const float denom = __fadd_rn(__fdiv_rn(__fsqrt_rn(vi), bias2_sqrt), eps);
    p[i] = __fadd_rn(pi, __fmul_rn(-step_size, __fdiv_rn(mi, denom)));
    m[i] = mi;
    v[i] = vi;
  }
}

__global__ void to_bf16_kernel(__nv_bfloat16 *dst, const float *src, int64_t n) {
  for (int64_t i = grid_first(); i < n; i += grid_stride()) dst[i] = __float2bfloat16(src[i]); /* nearest even */
}

/* ---- ops ---- */

/* Queue `kernel` over n items (grid-stride) and check the launch. */
#define EW_LAUNCH(cb, n, kernel, ...)                                                                        \
  do {                                                                                                     \
    CUDA_LAUNCH(kernel, cuda_grid((n), EW_THREADS), EW_THREADS, 0, (cb)->stream)(__VA_ARGS__);              \
    cuda_check_launch((cb), #kernel);                                                                      \
  } while (0)

void cuda_add(train_backend *b, float *y, const float *x0, const float *x1, int64_t n) {
  cuda_backend *cb = cuda_of(b);
  if (!cuda_begin(cb) || n <= 0) return;
  EW_LAUNCH(cb, n, add_kernel, y, x0, x1, n);
}

void cuda_gather_rows(train_backend *b, float *dst, const float *src, const int32_t *idx, int64_t n, int64_t d) {
  cuda_backend *cb = cuda_of(b);
  if (!cuda_begin(cb) || n <= 0 || d <= 0) return;
  EW_LAUNCH(cb, n * d, gather_rows_kernel, dst, src, idx, n, d);
}

void cuda_scatter_rows(train_backend *b, float *dst, const float *src, const int32_t *idx, int64_t n, int64_t d) {
  cuda_backend *cb = cuda_of(b);
  if (!cuda_begin(cb) || n <= 0 || d <= 0) return;
  EW_LAUNCH(cb, n * d, scatter_rows_kernel, dst, src, idx, n, d);
}

void cuda_copy_2d(train_backend *b, float *dst, int64_t dst_stride, const float *src, int64_t src_stride, int64_t rows,
                  int64_t cols, bool accumulate) {
  cuda_backend *cb = cuda_of(b);
  if (!cuda_begin(cb) || rows <= 0 || cols <= 0) return;
  EW_LAUNCH(cb, rows * cols, copy_2d_kernel, dst, dst_stride, src, src_stride, rows, cols, accumulate);
}

void cuda_swiglu_forward(train_backend *b, float *h, const float *g, const float *u, int64_t n) {
  cuda_backend *cb = cuda_of(b);
  if (!cuda_begin(cb) || n <= 0) return;
  EW_LAUNCH(cb, n, swiglu_forward_kernel, h, g, u, n);
}

void cuda_swiglu_backward(train_backend *b, float *dg, float *du, const float *dh, const float *g, const float *u,
                          int64_t n) {
  cuda_backend *cb = cuda_of(b);
  if (!cuda_begin(cb) || n <= 0) return;
  EW_LAUNCH(cb, n, swiglu_backward_kernel, dg, du, dh, g, u, n);
}

void cuda_gelu_forward(train_backend *b, float *y, const float *x, int64_t n) {
  cuda_backend *cb = cuda_of(b);
  if (!cuda_begin(cb) || n <= 0) return;
  EW_LAUNCH(cb, n, gelu_forward_kernel, y, x, n);
}

void cuda_gelu_backward(train_backend *b, float *dx, const float *dy, const float *x, int64_t n) {
  cuda_backend *cb = cuda_of(b);
  if (!cuda_begin(cb) || n <= 0) return;
  EW_LAUNCH(cb, n, gelu_backward_kernel, dx, dy, x, n);
}

void cuda_embedding_forward(train_backend *b, float *x, const int32_t *ids, const float *table, int32_t skip_id,
                            int64_t n, int64_t d) {
  cuda_backend *cb = cuda_of(b);
  if (!cuda_begin(cb) || n <= 0 || d <= 0) return;
  EW_LAUNCH(cb, n * d, embedding_forward_kernel, x, ids, table, skip_id, n, d);
}

void cuda_embedding_backward(train_backend *b, float *dtable, const float *dx, const int32_t *ids, int32_t skip_id,
                             int64_t n, int64_t d) {
  cuda_backend *cb = cuda_of(b);
  if (!cuda_begin(cb) || n <= 0 || d <= 0) return;
  if ((d + EW_THREADS - 1) / EW_THREADS > 0x7fffffff) {
    cuda_fail(cb, HATCH_ERR_TOO_LARGE, "embedding backward: row over 2^39 elements");
    return;
  }
  dim3 grid((unsigned)((d + EW_THREADS - 1) / EW_THREADS), EMB_CLASSES);
  CUDA_LAUNCH(embedding_backward_kernel, grid, EW_THREADS, 0, cb->stream)(dtable, dx, ids, skip_id, n, d);
  cuda_check_launch(cb, "embedding_backward_kernel");
}

hatch_status cuda_sum_squares(train_backend *b, const float *x, int64_t n, double *sum, int64_t *n_nonfinite) {
  cuda_backend *cb = cuda_of(b);
  if (sum) *sum = 0.0;
  if (n_nonfinite) *n_nonfinite = 0;
  if (!cuda_begin(cb)) return cb->status;
  if (n <= 0) return HATCH_OK;
  int64_t blocks = (n + SUMSQ_THREADS * 8 - 1) / (SUMSQ_THREADS * 8);
  if (blocks > SUMSQ_MAX_BLOCKS) blocks = SUMSQ_MAX_BLOCKS;
  /* scratch: partial sums (blocks), partial counts (blocks), then the two results */
  char *s = (char *)cuda_scratch(cb, (size_t)(2 * blocks + 2) * 8);
  if (!s) return cb->status;
  double *partial_sum = (double *)s, *result_sum = (double *)(s + (size_t)(2 * blocks) * 8);
  unsigned long long *partial_count = (unsigned long long *)(s + (size_t)blocks * 8);
  unsigned long long *result_count = (unsigned long long *)(s + (size_t)(2 * blocks + 1) * 8);
  CUDA_LAUNCH(sum_squares_partial_kernel, (unsigned)blocks, SUMSQ_THREADS, 0, cb->stream)(partial_sum, partial_count,
                                                                                          x, n);
  if (!cuda_check_launch(cb, "sum_squares_partial_kernel")) return cb->status;
  CUDA_LAUNCH(sum_squares_final_kernel, 1, SUMSQ_THREADS, 0, cb->stream)(result_sum, result_count, partial_sum,
                                                                        partial_count, blocks);
  if (!cuda_check_launch(cb, "sum_squares_final_kernel")) return cb->status;
  double host_sum = 0.0;
  unsigned long long host_count = 0;
  cuda_check(cb, cudaMemcpyAsync(&host_sum, result_sum, 8, cudaMemcpyDeviceToHost, cb->stream), "sum_squares: copy");
  cuda_check(cb, cudaMemcpyAsync(&host_count, result_count, 8, cudaMemcpyDeviceToHost, cb->stream),
             "sum_squares: copy");
  if (cuda_wait(cb, "sum_squares: synchronize") != HATCH_OK) return cb->status;
  if (sum) *sum = host_sum;
  if (n_nonfinite) *n_nonfinite = (int64_t)host_count;
  return HATCH_OK;
}

void cuda_scale(train_backend *b, float *x, float s, int64_t n) {
  cuda_backend *cb = cuda_of(b);
  if (!cuda_begin(cb) || n <= 0) return;
  EW_LAUNCH(cb, n, scale_kernel, x, s, n);
}

void cuda_adamw(train_backend *b, float *p, const float *g, float *m, float *v, int64_t n, float decay, float beta1,
                float beta2, float step_size, float bias2_sqrt, float eps) {
  cuda_backend *cb = cuda_of(b);
  if (!cuda_begin(cb) || n <= 0) return;
  /* As optim/adamw.c: 1 - beta1 and 1 - beta2 from the float betas in double, rounded once. */
  const float w1 = (float)(1.0 - (double)beta1), one_minus_beta2 = (float)(1.0 - (double)beta2);
  EW_LAUNCH(cb, n, adamw_kernel, p, g, m, v, n, decay, w1, beta2, one_minus_beta2, step_size, bias2_sqrt, eps);
}

void cuda_to_bf16(cuda_backend *cb, __nv_bfloat16 *dst, const float *src, int64_t n) {
  if (!cuda_begin(cb) || n <= 0) return;
  EW_LAUNCH(cb, n, to_bf16_kernel, dst, src, n);
}
