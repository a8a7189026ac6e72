/* Linear layer on cuBLAS: y (n, out) = x (n, in) · w (out, in)^T + b; backward dx += dy · w,
 * dw += dy^T · x, db += column sums of dy. Row-major matrices are handed to column-major cuBLAS as
 * their transposes: a row-major (r, c) matrix is a column-major (c, r) one with leading dimension c.
 *
 * fp32 mode: fp32 inputs, CUBLAS_COMPUTE_32F under CUBLAS_DEFAULT_MATH (no TF32). bf16 mode: the
 * operands are rounded to bf16 into scratch on the fly (the fp32 master copies are untouched),
 * products accumulate in fp32 and land in fp32 outputs (beta = 1 accumulates the gradients).
 * cuBLAS gives bitwise-identical results run to run on one GPU model and toolkit. */
#include <limits.h>

#include "cuda/cuda_backend.h"

/* y (n, out) += bias (out) on every row. Each thread owns distinct elements of y. */
__global__ void add_bias_kernel(float *y, const float *bias, int64_t n, int64_t out) {
  int64_t total = n * out, stride = (int64_t)gridDim.x * blockDim.x;
  for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < total; i += stride) y[i] += bias[i % out];
}

/* C (m x n, column-major, ldc) = op(A) op(B) + beta C; A, B of `type` (fp32 or bf16), C fp32. */
static bool gemm(cuda_backend *cb, cublasOperation_t ta, cublasOperation_t tb, int64_t m, int64_t n, int64_t k,
                 const void *a, int64_t lda, const void *b, int64_t ldb, float beta, float *c, int64_t ldc,
                 cudaDataType_t type, const char *what) {
  if (m > INT_MAX || n > INT_MAX || k > INT_MAX || lda > INT_MAX || ldb > INT_MAX || ldc > INT_MAX) {
    cuda_fail(cb, HATCH_ERR_TOO_LARGE, "linear: a dimension is over 2^31 - 1");
    return false;
  }
  const float alpha = 1.0f;
  return cuda_check_blas(cb,
                         cublasGemmEx(cb->blas, ta, tb, (int)m, (int)n, (int)k, &alpha, a, type, (int)lda, b, type,
                                      (int)ldb, &beta, c, CUDA_R_32F, (int)ldc, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
                         what);
}

/* Elements of a bf16 scratch region rounded up to 256 bytes, so the next region stays aligned. */
static int64_t bf16_region(int64_t elems) { return (elems + 127) / 128 * 128; }

void cuda_linear_forward(train_backend *b, float *y, const float *x, const float *w, const float *bias, int64_t n,
                         int64_t in, int64_t out) {
  cuda_backend *cb = cuda_of(b);
  if (!cuda_begin(cb) || n <= 0 || out <= 0) return;
  if (in <= 0) {
    if (!cuda_check(cb, cudaMemsetAsync(y, 0, (size_t)(n * out) * sizeof(float), cb->stream), "linear: zero y"))
      return;
  } else {
    const void *xa = x, *wa = w;
    cudaDataType_t type = CUDA_R_32F;
    if (cb->bf16) {
      int64_t xe = bf16_region(n * in), we = bf16_region(out * in);
      __nv_bfloat16 *s = (__nv_bfloat16 *)cuda_scratch(cb, (size_t)(xe + we) * sizeof(__nv_bfloat16));
      if (!s) return;
      cuda_to_bf16(cb, s, x, n * in);
      cuda_to_bf16(cb, s + xe, w, out * in);
      xa = s;
      wa = s + xe;
      type = CUDA_R_16BF;
    }
    /* y^T (out x n) = (w^T)^T (out x in) · x^T (in x n): w is stored as column-major (in x out). */
    if (!gemm(cb, CUBLAS_OP_T, CUBLAS_OP_N, out, n, in, wa, in, xa, in, 0.0f, y, out, type, "linear forward"))
      return;
  }
  if (bias) {
    CUDA_LAUNCH(add_bias_kernel, cuda_grid(n * out, 256), 256, 0, cb->stream)(y, bias, n, out);
    cuda_check_launch(cb, "add_bias_kernel");
  }
}

void cuda_linear_backward(train_backend *b, float *dx, float *dw, float *db, const float *dy, const float *x,
                          const float *w, int64_t n, int64_t in, int64_t out) {
  cuda_backend *cb = cuda_of(b);
  if (!cuda_begin(cb) || n <= 0 || out <= 0) return;
  /* db first: it uses the scratch the bf16 copies below may reuse (one stream: in order). */
  if (db) cuda_column_sums(cb, db, dy, NULL, NULL, n, out);
  if (in <= 0 || (!dx && !dw) || !cuda_begin(cb)) return;
  const void *dya = dy, *wa = w, *xa = x;
  cudaDataType_t type = CUDA_R_32F;
  if (cb->bf16) {
    int64_t dye = bf16_region(n * out), we = dx ? bf16_region(out * in) : 0, xe = dw ? bf16_region(n * in) : 0;
    __nv_bfloat16 *s = (__nv_bfloat16 *)cuda_scratch(cb, (size_t)(dye + we + xe) * sizeof(__nv_bfloat16));
    if (!s) return;
    cuda_to_bf16(cb, s, dy, n * out);
    if (dx) cuda_to_bf16(cb, s + dye, w, out * in);
    if (dw) cuda_to_bf16(cb, s + dye + we, x, n * in);
    dya = s;
    wa = s + dye;
    xa = s + dye + we;
    type = CUDA_R_16BF;
  }
  /* dx^T (in x n) += w^T (in x out, w stored column-major as that) · dy^T (out x n). */
  if (dx && !gemm(cb, CUBLAS_OP_N, CUBLAS_OP_N, in, n, out, wa, in, dya, out, 1.0f, dx, in, type, "linear backward dx"))
    return;
  /* dw^T (in x out) += x^T (in x n) · dy (n x out, the transpose of dy^T stored as (out x n)). */
  if (dw) gemm(cb, CUBLAS_OP_N, CUBLAS_OP_T, in, out, n, xa, in, dya, out, 1.0f, dw, in, type, "linear backward dw");
}

#ifndef HATCH_CUDA_EMU /* timing needs a real GPU: the emulation leaves the op NULL */
/* Fills x (n) with values in [-1, 1) from a hash of the index (tensor cores' power, and so their
 * clock, depends on the data: zeros would flatter the peak). */
__global__ void fill_pattern_kernel(float *x, int64_t n) {
  int64_t stride = (int64_t)gridDim.x * blockDim.x;
  for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
    uint32_t h = (uint32_t)(i * 2654435761u) ^ 0x9e3779b9u;
    h ^= h >> 15, h *= 0x2c1b3c6du, h ^= h >> 12;
    x[i] = (float)(h & 0xffff) / 32768.0f - 1.0f;
  }
}

/* The peak of this backend's linear ops: the same gemm (same type, same compute mode) on square
 * n x n x n products, best of reps after one warm-up, timed with events on the backend's stream. */
hatch_status cuda_peak_matmul_flops(train_backend *b, int64_t n, int reps, double *flops_per_s) {
  cuda_backend *cb = cuda_of(b);
  if (!flops_per_s || n <= 0 || reps <= 0) return HATCH_ERR_INVALID_ARGUMENT;
  *flops_per_s = 0;
  if (!cuda_begin(cb)) return cb->status;
  float *a = NULL, *c = NULL;
  cudaEvent_t e0 = NULL, e1 = NULL;
  size_t bytes = (size_t)(n * n) * sizeof(float);
  hatch_status st = HATCH_OK;
  if (!cuda_check(cb, cudaMalloc((void **)&a, bytes), "peak: operand") ||
      !cuda_check(cb, cudaMalloc((void **)&c, bytes), "peak: result") ||
      !cuda_check(cb, cudaEventCreate(&e0), "peak: event") || !cuda_check(cb, cudaEventCreate(&e1), "peak: event"))
    goto done;
  CUDA_LAUNCH(fill_pattern_kernel, cuda_grid(n * n, 256), 256, 0, cb->stream)(a, n * n);
  if (!cuda_check_launch(cb, "fill_pattern_kernel")) goto done;
  {
    const void *op = a;
    cudaDataType_t type = CUDA_R_32F;
    if (cb->bf16) { /* the operand rounded once, as the linear ops round theirs */
      __nv_bfloat16 *s = (__nv_bfloat16 *)cuda_scratch(cb, (size_t)(n * n) * sizeof(__nv_bfloat16));
      if (!s) goto done;
      cuda_to_bf16(cb, s, a, n * n);
      op = s, type = CUDA_R_16BF;
    }
    double best = 0;
    for (int r = 0; r <= reps; r++) {
      if (!cuda_check(cb, cudaEventRecord(e0, cb->stream), "peak: record")) goto done;
      if (!gemm(cb, CUBLAS_OP_T, CUBLAS_OP_N, n, n, n, op, n, op, n, 0.0f, c, n, type, "peak gemm")) goto done;
      if (!cuda_check(cb, cudaEventRecord(e1, cb->stream), "peak: record") ||
          !cuda_check(cb, cudaEventSynchronize(e1), "peak: wait"))
        goto done;
      float ms = 0;
      if (!cuda_check(cb, cudaEventElapsedTime(&ms, e0, e1), "peak: elapsed")) goto done;
      if (r > 0 && ms > 0 && 2.0 * n * n * n / (ms * 1e-3) > best) best = 2.0 * (double)n * n * n / (ms * 1e-3);
    }
    *flops_per_s = best;
  }
done:
  if (e0) cudaEventDestroy(e0);
  if (e1) cudaEventDestroy(e1);
  if (a) cudaFree(a);
  if (c) cudaFree(c);
  if (cb->status != HATCH_OK) st = cb->status;
  return st;
}
#endif
