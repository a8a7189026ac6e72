/* The CUDA training backend's internals (issue 6): the backend state shared by the .cu files, error
 * recording, launch helpers and the op entry points each file implements. The public constructor is
 * train_backend_cuda_create (model/train_backend.h); the ops table is filled in cuda_backend.cu.
 *
 * Error model: the first failing CUDA / cuBLAS call (or a shape the kernels do not support) is
 * recorded in the backend (status + message). From then on every op is a no-op and sync / download
 * / upload / sum_squares return that status; nothing aborts. Ops never wait except where the
 * header says so (download, upload, sum_squares, sync, free).
 *
 * With HATCH_CUDA_EMU defined the same sources compile with a host C++ compiler against
 * cuda/emu/cuda_emu.h, a CPU emulation of the few CUDA and cuBLAS calls used here (see
 * train/cuda/README.md): the kernels' logic can then be run and checked without a GPU. */
#ifndef HATCH_TRAIN_CUDA_BACKEND_H
#define HATCH_TRAIN_CUDA_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef HATCH_CUDA_EMU
#include "cuda/emu/cuda_emu.h"
#else
#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>
/* kernel<<<grid, block, shared bytes, stream>>>(args): a macro so the emulation can replace it. */
#define CUDA_LAUNCH(kernel, grid, block, smem, stream) kernel<<<(grid), (block), (smem), (stream)>>>
/* The kernel's dynamic shared memory (the launch's smem bytes) as an array of type. */
#define CUDA_DYNAMIC_SMEM(type, name) extern __shared__ type name[]
#endif

#include "cuda/train_backend_cuda.h" /* and model/train_backend.h, as C */

/* Largest head size the attention kernels take (Qwen2.5-VL: 128 in the LLM, 80 in the vision tower). */
#define CUDA_ATTN_MAX_HD 128

typedef struct cuda_backend {
  train_backend base; /* first: a train_backend * is a cuda_backend * */
  int device;
  bool bf16; /* matmul inputs rounded to bf16, fp32 accumulation and outputs */
  cudaStream_t stream;    /* every op is queued here, in call order */
  cublasHandle_t blas;    /* bound to stream */
  hatch_status status;    /* first error; HATCH_OK while healthy */
  char message[256];      /* what failed, for train_backend_cuda_error */
  void *scratch;          /* device scratch, scratch_bytes: bf16 operands, reduction partials */
  size_t scratch_bytes;
} cuda_backend;

static inline cuda_backend *cuda_of(train_backend *b) { return (cuda_backend *)b; }

/* ---- errors (cuda_backend.cu) ---- */
/* Record e as the backend's error when it is the first; true when e is cudaSuccess. */
bool cuda_check(cuda_backend *cb, cudaError_t e, const char *what);
bool cuda_check_blas(cuda_backend *cb, cublasStatus_t s, const char *what);
/* The launch just queued: cudaGetLastError (configuration errors, earlier faults). */
bool cuda_check_launch(cuda_backend *cb, const char *kernel);
/* Record a non-CUDA error (unsupported shape, size over a limit). */
void cuda_fail(cuda_backend *cb, hatch_status status, const char *what);
/* Start of every op: false (do nothing) when the backend has failed; makes the device current. */
bool cuda_begin(cuda_backend *cb);
/* Waits for the stream and reports queued work's errors; the backend's status. */
hatch_status cuda_wait(cuda_backend *cb, const char *what);
/* Device scratch of at least `bytes` (grown on demand, synchronizing); NULL after recording an error.
 * Valid until the next cuda_scratch call; queued kernels may use it since every op is on one stream. */
void *cuda_scratch(cuda_backend *cb, size_t bytes);

/* Grid of blocks for a grid-stride loop over n items. */
static inline unsigned cuda_grid(int64_t n, int threads) {
  int64_t blocks = (n + threads - 1) / threads;
  if (blocks < 1) blocks = 1;
  if (blocks > (1 << 20)) blocks = 1 << 20;
  return (unsigned)blocks;
}

/* ---- ops (train_ops semantics, see model/train_backend.h) ---- */
/* cuda_linear.cu */
void cuda_linear_forward(train_backend *b, float *y, const float *x, const float *w, const float *bias, int64_t n,
                         int64_t in, int64_t out);
void cuda_linear_backward(train_backend *b, float *dx, float *dw, float *db, const float *dy, const float *x,
                          const float *w, int64_t n, int64_t in, int64_t out);
#ifndef HATCH_CUDA_EMU
/* train_ops.peak_matmul_flops: the linear ops' own gemm on n x n x n products (cuda_linear.cu). */
hatch_status cuda_peak_matmul_flops(train_backend *b, int64_t n, int reps, double *flops_per_s);
#endif

/* cuda_rows.cu */
void cuda_rmsnorm_forward(train_backend *b, float *y, float *rstd, const float *x, const float *w, float eps,
                          int64_t n, int64_t d);
void cuda_rmsnorm_backward(train_backend *b, float *dx, float *dw, const float *dy, const float *x, const float *w,
                           const float *rstd, int64_t n, int64_t d);
void cuda_rope_forward(train_backend *b, float *y, const float *x, const int32_t *pos, const float *inv_freq,
                       const int32_t *comp, int n_dims, int64_t n, int64_t n_head, int64_t head_dim);
void cuda_rope_backward(train_backend *b, float *dx, const float *dy, const int32_t *pos, const float *inv_freq,
                        const int32_t *comp, int n_dims, int64_t n, int64_t n_head, int64_t head_dim);
void cuda_logprob_forward(train_backend *b, float *logp, float *lse, const float *logits, const int32_t *targets,
                          int64_t n, int64_t vocab);
void cuda_logprob_backward(train_backend *b, float *dlogits, const float *dlogp, const float *logits,
                           const float *lse, const int32_t *targets, int64_t n, int64_t vocab);
/* out (d) += sum over rows t of dy[t, c] (x == NULL) or dy[t, c] * x[t, c] * rstd[t]; fixed order. */
void cuda_column_sums(cuda_backend *cb, float *out, const float *dy, const float *x, const float *rstd, int64_t n,
                      int64_t d);

/* cuda_attention.cu */
bool cuda_attention_init(cuda_backend *cb); /* kernel attributes (shared memory over 48 KiB) */
bool cuda_attention_forward(train_backend *b, float *o, float *lse, const float *q, const float *k, const float *v,
                            const int32_t *bounds, int64_t n_bounds, bool causal, float scale, int64_t n,
                            int64_t n_head, int64_t n_kv_head, int64_t hd);
void cuda_attention_backward(train_backend *b, float *dq, float *dk, float *dv, float *dsum, const float *dout,
                             const float *q, const float *k, const float *v, const float *out, const float *lse,
                             const int32_t *bounds, int64_t n_bounds, bool causal, float scale, int64_t n,
                             int64_t n_head, int64_t n_kv_head, int64_t hd);

/* cuda_elementwise.cu */
void cuda_add(train_backend *b, float *y, const float *x0, const float *x1, int64_t n);
void cuda_gather_rows(train_backend *b, float *dst, const float *src, const int32_t *idx, int64_t n, int64_t d);
void cuda_scatter_rows(train_backend *b, float *dst, const float *src, const int32_t *idx, int64_t n, int64_t d);
void cuda_copy_2d(train_backend *b, float *dst, int64_t dst_stride, const float *src, int64_t src_stride, int64_t rows,
                  int64_t cols, bool accumulate);
void cuda_swiglu_forward(train_backend *b, float *h, const float *g, const float *u, int64_t n);
void cuda_swiglu_backward(train_backend *b, float *dg, float *du, const float *dh, const float *g, const float *u,
                          int64_t n);
void cuda_gelu_forward(train_backend *b, float *y, const float *x, int64_t n);
void cuda_gelu_backward(train_backend *b, float *dx, const float *dy, const float *x, int64_t n);
void cuda_embedding_forward(train_backend *b, float *x, const int32_t *ids, const float *table, int32_t skip_id,
                            int64_t n, int64_t d);
void cuda_embedding_backward(train_backend *b, float *dtable, const float *dx, const int32_t *ids, int32_t skip_id,
                             int64_t n, int64_t d);
hatch_status cuda_sum_squares(train_backend *b, const float *x, int64_t n, double *sum, int64_t *n_nonfinite);
void cuda_scale(train_backend *b, float *x, float s, int64_t n);
void cuda_adamw(train_backend *b, float *p, const float *g, float *m, float *v, int64_t n, float decay, float beta1,
                float beta2, float step_size, float bias2_sqrt, float eps);
/* bf16 copy of x (n) for the matmuls (round to nearest even). */
void cuda_to_bf16(cuda_backend *cb, __nv_bfloat16 *dst, const float *src, int64_t n);

#endif
