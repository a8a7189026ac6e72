/* A training backend: where the model's tensors live and the ops over them (issue 6). The model
 * (train_vision.c, train_text.c) runs every step through these ops, so the CPU reference and the
 * CUDA backend share one orchestration and differ only in kernels.
 *
 * Pointers given to ops are backend pointers: host memory for the CPU backend, device memory for
 * CUDA. Host data crosses only through upload / download. Every layer op has exactly the semantics
 * of its train_layers.h counterpart (the CPU reference is the truth): outputs first, sizes last,
 * backward ops accumulate (+=) unless stated. Ops are queued in call order on one stream; errors of
 * queued work surface at the next sync / download (as a hatch_status), never as an abort.
 *
 * Ownership: a backend is created by its constructor and destroyed by train_backend_destroy; a
 * model that is given one owns it from then on. Memory from alloc is freed with free of the same
 * backend. */
#ifndef HATCH_TRAIN_BACKEND_H
#define HATCH_TRAIN_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hatch/status.h"

typedef struct train_backend train_backend;

typedef struct train_ops {
  const char *name; /* "cpu", "cuda" */
  void (*destroy)(train_backend *b); /* frees the backend itself (train_backend_destroy calls it) */

  /* ---- memory ---- */
  void *(*alloc)(train_backend *b, size_t bytes); /* zeroed, 256-byte aligned; NULL when out of memory */
  void (*free)(train_backend *b, void *p);        /* NULL is fine */
  hatch_status (*upload)(train_backend *b, void *dst, const void *host_src, size_t bytes);
  hatch_status (*download)(train_backend *b, void *host_dst, const void *src, size_t bytes); /* waits */
  void (*copy)(train_backend *b, void *dst, const void *src, size_t bytes); /* no overlap */
  void (*zero)(train_backend *b, float *p, int64_t n);
  hatch_status (*sync)(train_backend *b); /* waits for queued work; reports its errors */

  /* ---- element-wise and data movement (float rows of d elements) ---- */
  void (*add)(train_backend *b, float *y, const float *x0, const float *x1, int64_t n); /* y = x0 + x1; may alias */
  void (*gather_rows)(train_backend *b, float *dst, const float *src, const int32_t *idx, int64_t n, int64_t d);
  /* dst[r] = src[idx[r]], r < n */
  void (*scatter_rows)(train_backend *b, float *dst, const float *src, const int32_t *idx, int64_t n, int64_t d);
  /* dst[idx[r]] = src[r], r < n (idx a permutation: no two r write one row) */
  void (*copy_2d)(train_backend *b, float *dst, int64_t dst_stride, const float *src, int64_t src_stride,
                  int64_t rows, int64_t cols, bool accumulate);
  /* dst[r * dst_stride + c] (=|+=) src[r * src_stride + c], r < rows, c < cols */

  /* ---- layers: train_layers.h semantics; pos / comp / bounds / ids / targets are backend int32 ---- */
  void (*linear_forward)(train_backend *b, float *y, const float *x, const float *w, const float *bias, int64_t n,
                         int64_t in, int64_t out);
  void (*linear_backward)(train_backend *b, float *dx, float *dw, float *db, const float *dy, const float *x,
                          const float *w, int64_t n, int64_t in, int64_t out);
  void (*rmsnorm_forward)(train_backend *b, float *y, float *rstd, const float *x, const float *w, float eps,
                          int64_t n, int64_t d);
  void (*rmsnorm_backward)(train_backend *b, float *dx, float *dw, const float *dy, const float *x, const float *w,
                           const float *rstd, int64_t n, int64_t d);
  void (*rope_forward)(train_backend *b, float *y, const float *x, const int32_t *pos, const float *inv_freq,
                       const int32_t *comp, int n_dims, int64_t n, int64_t n_head, int64_t head_dim);
  void (*rope_backward)(train_backend *b, float *dx, const float *dy, const int32_t *pos, const float *inv_freq,
                        const int32_t *comp, int n_dims, int64_t n, int64_t n_head, int64_t head_dim);
  /* false: out of memory. bounds has n_bounds entries (or NULL); the CPU reference's window rules. */
  bool (*attention_forward)(train_backend *b, float *o, float *lse, const float *q, const float *k, const float *v,
                            const int32_t *bounds, int64_t n_bounds, bool causal, float scale, int64_t n,
                            int64_t n_head, int64_t n_kv_head, int64_t hd);
  void (*attention_backward)(train_backend *b, float *dq, float *dk, float *dv, float *dsum, const float *dout,
                             const float *q, const float *k, const float *v, const float *out, const float *lse,
                             const int32_t *bounds, int64_t n_bounds, bool causal, float scale, int64_t n,
                             int64_t n_head, int64_t n_kv_head, int64_t hd);
  void (*swiglu_forward)(train_backend *b, float *h, const float *g, const float *u, int64_t n);
  void (*swiglu_backward)(train_backend *b, float *dg, float *du, const float *dh, const float *g, const float *u,
                          int64_t n);
  void (*gelu_forward)(train_backend *b, float *y, const float *x, int64_t n);
  void (*gelu_backward)(train_backend *b, float *dx, const float *dy, const float *x, int64_t n);
  void (*embedding_forward)(train_backend *b, float *x, const int32_t *ids, const float *table, int32_t skip_id,
                            int64_t n, int64_t d);
  void (*embedding_backward)(train_backend *b, float *dtable, const float *dx, const int32_t *ids, int32_t skip_id,
                             int64_t n, int64_t d);
  void (*logprob_forward)(train_backend *b, float *logp, float *lse, const float *logits, const int32_t *targets,
                          int64_t n, int64_t vocab);
  void (*logprob_backward)(train_backend *b, float *dlogits, const float *dlogp, const float *logits,
                           const float *lse, const int32_t *targets, int64_t n, int64_t vocab);

  /* ---- optimizer (hatch/train_optim.h semantics) ---- */
  /* sum of x[i]^2 in double, and the count of non-finite x[i]; waits. */
  hatch_status (*sum_squares)(train_backend *b, const float *x, int64_t n, double *sum, int64_t *n_nonfinite);
  void (*scale)(train_backend *b, float *x, float s, int64_t n); /* x *= s */
  /* torch's _single_tensor_adamw on n elements; decay = 1 - lr * weight_decay (1 for no decay),
   * step_size = lr / (1 - beta1^t), bias2_sqrt = sqrt(1 - beta2^t). */
  void (*adamw)(train_backend *b, float *p, const float *g, float *m, float *v, int64_t n, float decay, float beta1,
                float beta2, float step_size, float bias2_sqrt, float eps);

  /* ---- benchmarks (may be NULL) ---- */
  /* The measured peak of this backend's matmul at the precision its linear ops use: FLOP/s (2 n^3
   * per product) of an n x n x n product, the best of `reps` timed runs after a warm-up. The
   * denominator of `hatch-train bench`'s model FLOP utilization. NULL on the CPU backend (the
   * runtime's measured FMA ceiling is used there). */
  hatch_status (*peak_matmul_flops)(train_backend *b, int64_t n, int reps, double *flops_per_s);
} train_ops;

/* Every backend starts with this header; its own state follows. */
struct train_backend {
  const train_ops *ops;
  bool host_memory; /* backend pointers are host pointers the caller may read directly */
};

/* The CPU reference backend over n_threads (0: all cores): the train_layers.h functions.
 * separate_memory: behave like a device (alloc'd memory is not to be read by the caller, the model
 * keeps host mirrors and crosses with upload / download) so the device paths are tested on the CPU. */
hatch_status train_backend_cpu_create(int n_threads, bool separate_memory, train_backend **out);

/* The CUDA backend on device `device`; bf16: matmuls in bf16 with fp32 accumulation (fp32 master
 * weights stay in the model), else fp32. HATCH_ERR_UNSUPPORTED when hatch was built without CUDA or
 * no device is present; why (256 bytes, may be NULL) says which. */
hatch_status train_backend_cuda_create(int device, bool bf16, train_backend **out, char *why);

void train_backend_destroy(train_backend *b); /* NULL is fine */

#endif
