/* The CPU training backend: the reference. Layer ops are the train_layers.h fp32 functions over the
 * backend's thread pool, memory is aligned host memory, and the optimizer ops repeat
 * train/optim's arithmetic float for float (hatch_grad_norm's blocked sum, hatch_adamw_step's
 * element update), so a model or optimizer run through this backend is bitwise the direct one. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model/train_backend.h"
#include "model/train_model_internal.h"

typedef struct cpu_backend {
  train_backend base;
  hatch_threadpool *pool;
} cpu_backend;

static hatch_threadpool *pool_of(train_backend *b) { return ((cpu_backend *)b)->pool; }

enum { CPU_ALIGN = 256, ELEMENTWISE_GRAIN = 1 << 14 };

/* ---- memory ------------------------------------------------------------------------------------ */

/* calloc (large blocks come as untouched zero pages, as the model's workspace always did), aligned
 * up inside a CPU_ALIGN margin; the block's own pointer sits just below the aligned one. */
static void *cpu_alloc(train_backend *b, size_t bytes) {
  if (bytes > SIZE_MAX - 2 * CPU_ALIGN) return NULL;
  char *raw = calloc(1, bytes + CPU_ALIGN);
  if (!raw) return NULL;
  char *p = (char *)(((uintptr_t)raw + CPU_ALIGN) & ~(uintptr_t)(CPU_ALIGN - 1)); /* >= raw + 16: room for raw */
  ((void **)p)[-1] = raw;
  return p;
}

static void cpu_free(train_backend *b, void *p) {
  if (p) free(((void **)p)[-1]);
}

static hatch_status cpu_upload(train_backend *b, void *dst, const void *host_src, size_t bytes) {
  if (bytes) memcpy(dst, host_src, bytes);
  return HATCH_OK;
}

static hatch_status cpu_download(train_backend *b, void *host_dst, const void *src, size_t bytes) {
  if (bytes) memcpy(host_dst, src, bytes);
  return HATCH_OK;
}

static void cpu_copy(train_backend *b, void *dst, const void *src, size_t bytes) {
  if (bytes) memcpy(dst, src, bytes);
}

static void cpu_zero(train_backend *b, float *p, int64_t n) {
  if (n > 0) memset(p, 0, sizeof(float) * (size_t)n);
}

static hatch_status cpu_sync(train_backend *b) { return HATCH_OK; }

/* ---- element-wise and data movement ------------------------------------------------------------ */

typedef struct add_job {
  float *y;
  const float *x0, *x1;
} add_job;

static void add_range(void *ctx, int64_t begin, int64_t end) {
  const add_job *j = ctx;
  for (int64_t i = begin; i < end; i++) j->y[i] = j->x0[i] + j->x1[i];
}

static void cpu_add(train_backend *b, float *y, const float *x0, const float *x1, int64_t n) {
  add_job j = {y, x0, x1};
  hatch_threadpool_run(pool_of(b), n, ELEMENTWISE_GRAIN, add_range, &j);
}

static void cpu_gather_rows(train_backend *b, float *dst, const float *src, const int32_t *idx, int64_t n, int64_t d) {
  for (int64_t r = 0; r < n; r++) memcpy(dst + r * d, src + (int64_t)idx[r] * d, sizeof(float) * (size_t)d);
}

static void cpu_scatter_rows(train_backend *b, float *dst, const float *src, const int32_t *idx, int64_t n, int64_t d) {
  for (int64_t r = 0; r < n; r++) memcpy(dst + (int64_t)idx[r] * d, src + r * d, sizeof(float) * (size_t)d);
}

static void cpu_copy_2d(train_backend *b, float *dst, int64_t dst_stride, const float *src, int64_t src_stride,
                        int64_t rows, int64_t cols, bool accumulate) {
  for (int64_t r = 0; r < rows; r++) {
    float *out = dst + r * dst_stride;
    const float *in = src + r * src_stride;
    if (accumulate)
      for (int64_t c = 0; c < cols; c++) out[c] += in[c];
    else
      memcpy(out, in, sizeof(float) * (size_t)cols);
  }
}

/* ---- layers: the train_layers.h functions ------------------------------------------------------ */

static void cpu_linear_forward(train_backend *b, float *y, const float *x, const float *w, const float *bias, int64_t n,
                               int64_t in, int64_t out) {
  linear_forward_f32(pool_of(b), y, x, w, bias, n, in, out);
}

static void cpu_linear_backward(train_backend *b, float *dx, float *dw, float *db, const float *dy, const float *x,
                                const float *w, int64_t n, int64_t in, int64_t out) {
  linear_backward_f32(pool_of(b), dx, dw, db, dy, x, w, n, in, out);
}

static void cpu_rmsnorm_forward(train_backend *b, float *y, float *rstd, const float *x, const float *w, float eps,
                                int64_t n, int64_t d) {
  rmsnorm_forward_f32(pool_of(b), y, rstd, x, w, eps, n, d);
}

static void cpu_rmsnorm_backward(train_backend *b, float *dx, float *dw, const float *dy, const float *x, const float *w,
                                 const float *rstd, int64_t n, int64_t d) {
  rmsnorm_backward_f32(pool_of(b), dx, dw, dy, x, w, rstd, n, d);
}

static void cpu_rope_forward(train_backend *b, float *y, const float *x, const int32_t *pos, const float *inv_freq,
                             const int32_t *comp, int n_dims, int64_t n, int64_t n_head, int64_t head_dim) {
  rope_forward_f32(pool_of(b), y, x, pos, inv_freq, comp, n_dims, n, n_head, head_dim);
}

static void cpu_rope_backward(train_backend *b, float *dx, const float *dy, const int32_t *pos, const float *inv_freq,
                              const int32_t *comp, int n_dims, int64_t n, int64_t n_head, int64_t head_dim) {
  rope_backward_f32(pool_of(b), dx, dy, pos, inv_freq, comp, n_dims, n, n_head, head_dim);
}

static bool cpu_attention_forward(train_backend *b, float *o, float *lse, const float *q, const float *k, const float *v,
                                  const int32_t *bounds, int64_t n_bounds, bool causal, float scale, int64_t n,
                                  int64_t n_head, int64_t n_kv_head, int64_t hd) {
  return attention_forward_f32(pool_of(b), o, lse, q, k, v, bounds, n_bounds, causal, scale, n, n_head, n_kv_head, hd);
}

static void cpu_attention_backward(train_backend *b, float *dq, float *dk, float *dv, float *dsum, const float *dout,
                                   const float *q, const float *k, const float *v, const float *out, const float *lse,
                                   const int32_t *bounds, int64_t n_bounds, bool causal, float scale, int64_t n,
                                   int64_t n_head, int64_t n_kv_head, int64_t hd) {
  attention_backward_f32(pool_of(b), dq, dk, dv, dsum, dout, q, k, v, out, lse, bounds, n_bounds, causal, scale, n,
                         n_head, n_kv_head, hd);
}

static void cpu_swiglu_forward(train_backend *b, float *h, const float *g, const float *u, int64_t n) {
  swiglu_forward_f32(pool_of(b), h, g, u, n);
}

static void cpu_swiglu_backward(train_backend *b, float *dg, float *du, const float *dh, const float *g, const float *u,
                                int64_t n) {
  swiglu_backward_f32(pool_of(b), dg, du, dh, g, u, n);
}

static void cpu_gelu_forward(train_backend *b, float *y, const float *x, int64_t n) { gelu_forward_f32(pool_of(b), y, x, n); }

static void cpu_gelu_backward(train_backend *b, float *dx, const float *dy, const float *x, int64_t n) {
  gelu_backward_f32(pool_of(b), dx, dy, x, n);
}

static void cpu_embedding_forward(train_backend *b, float *x, const int32_t *ids, const float *table, int32_t skip_id,
                                  int64_t n, int64_t d) {
  embedding_forward_f32(x, ids, table, skip_id, n, d);
}

static void cpu_embedding_backward(train_backend *b, float *dtable, const float *dx, const int32_t *ids, int32_t skip_id,
                                   int64_t n, int64_t d) {
  embedding_backward_f32(dtable, dx, ids, skip_id, n, d);
}

static void cpu_logprob_forward(train_backend *b, float *logp, float *lse, const float *logits, const int32_t *targets,
                                int64_t n, int64_t vocab) {
  logprob_forward_f32(pool_of(b), logp, lse, logits, targets, n, vocab);
}

static void cpu_logprob_backward(train_backend *b, float *dlogits, const float *dlogp, const float *logits,
                                 const float *lse, const int32_t *targets, int64_t n, int64_t vocab) {
  logprob_backward_f32(pool_of(b), dlogits, dlogp, logits, lse, targets, n, vocab);
}

/* ---- optimizer --------------------------------------------------------------------------------- */

/* hatch_grad_norm's order: blocks of 1024 summed in double, blocks added in order. A finite total
 * means every element is finite (squares are non-negative, so NaN or Inf would propagate), so the
 * count pass runs only when the total is not. */
static hatch_status cpu_sum_squares(train_backend *b, const float *x, int64_t n, double *sum, int64_t *n_nonfinite) {
  double total = 0.0;
  const int64_t block = 1024;
  for (int64_t b0 = 0; b0 < n; b0 += block) {
    int64_t b1 = b0 + block < n ? b0 + block : n;
    double acc = 0.0;
    for (int64_t i = b0; i < b1; i++) acc += (double)x[i] * (double)x[i];
    total += acc;
  }
  int64_t bad = 0;
  if (!isfinite(total))
    for (int64_t i = 0; i < n; i++) bad += !isfinite(x[i]);
  if (sum) *sum = total;
  if (n_nonfinite) *n_nonfinite = bad;
  return HATCH_OK;
}

typedef struct scale_job {
  float *x;
  float s;
} scale_job;

static void scale_range(void *ctx, int64_t begin, int64_t end) {
  const scale_job *j = ctx;
  for (int64_t i = begin; i < end; i++) j->x[i] *= j->s;
}

static void cpu_scale(train_backend *b, float *x, float s, int64_t n) {
  scale_job j = {x, s};
  hatch_threadpool_run(pool_of(b), n, ELEMENTWISE_GRAIN, scale_range, &j);
}

typedef struct adamw_job {
  float *p, *m, *v;
  const float *g;
  float decay, w1, beta2, one_minus_beta2, step_size, bias2_sqrt, eps;
} adamw_job;

/* train/optim/adamw.c's step_span, operation for operation. */
static void adamw_range(void *ctx, int64_t begin, int64_t end) {
  const adamw_job *j = ctx;
  float *restrict p = j->p, *restrict m = j->m, *restrict v = j->v;
  const float *restrict g = j->g;
  for (int64_t i = begin; i < end; i++) {
    float pi = p[i] * j->decay;
    float gi = g[i];
    float mi = m[i] + j->w1 * (gi - m[i]);
    float vi = v[i] * j->beta2 + j->one_minus_beta2 * gi * gi;
    float denom = sqrtf(vi) / j->bias2_sqrt + j->eps;
    p[i] = pi + (-j->step_size) * (mi / denom);
    m[i] = mi;
    v[i] = vi;
  }
}

static void cpu_adamw(train_backend *b, float *p, const float *g, float *m, float *v, int64_t n, float decay, float beta1,
                      float beta2, float step_size, float bias2_sqrt, float eps) {
  /* 1 - beta in double, rounded once, as hatch_adamw_step. */
  adamw_job j = {p, m, v, g, decay, (float)(1.0 - (double)beta1), beta2, (float)(1.0 - (double)beta2), step_size,
                 bias2_sqrt, eps};
  hatch_threadpool_run(pool_of(b), n, ELEMENTWISE_GRAIN, adamw_range, &j);
}

/* ---- lifetime ---------------------------------------------------------------------------------- */

static void cpu_destroy(train_backend *b) {
  if (!b) return;
  hatch_threadpool_destroy(pool_of(b));
  free(b);
}

static const train_ops cpu_ops = {
    .name = "cpu",
    .destroy = cpu_destroy,
    .alloc = cpu_alloc,
    .free = cpu_free,
    .upload = cpu_upload,
    .download = cpu_download,
    .copy = cpu_copy,
    .zero = cpu_zero,
    .sync = cpu_sync,
    .add = cpu_add,
    .gather_rows = cpu_gather_rows,
    .scatter_rows = cpu_scatter_rows,
    .copy_2d = cpu_copy_2d,
    .linear_forward = cpu_linear_forward,
    .linear_backward = cpu_linear_backward,
    .rmsnorm_forward = cpu_rmsnorm_forward,
    .rmsnorm_backward = cpu_rmsnorm_backward,
    .rope_forward = cpu_rope_forward,
    .rope_backward = cpu_rope_backward,
    .attention_forward = cpu_attention_forward,
    .attention_backward = cpu_attention_backward,
    .swiglu_forward = cpu_swiglu_forward,
    .swiglu_backward = cpu_swiglu_backward,
    .gelu_forward = cpu_gelu_forward,
    .gelu_backward = cpu_gelu_backward,
    .embedding_forward = cpu_embedding_forward,
    .embedding_backward = cpu_embedding_backward,
    .logprob_forward = cpu_logprob_forward,
    .logprob_backward = cpu_logprob_backward,
    .sum_squares = cpu_sum_squares,
    .scale = cpu_scale,
    .adamw = cpu_adamw,
};

hatch_status train_backend_cpu_create(int n_threads, bool separate_memory, train_backend **out) {
  if (!out) return HATCH_ERR_INVALID_ARGUMENT;
  *out = NULL;
  if (n_threads <= 0) {
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    n_threads = cores > 0 ? (int)cores : 1;
  }
  cpu_backend *c = calloc(1, sizeof *c);
  if (!c) return HATCH_ERR_OUT_OF_MEMORY;
  c->base.ops = &cpu_ops;
  c->base.host_memory = !separate_memory;
  hatch_status st = hatch_threadpool_create(n_threads, &c->pool);
  if (st != HATCH_OK) {
    free(c);
    return st;
  }
  *out = &c->base;
  return HATCH_OK;
}

int train_backend_cpu_n_threads(const train_backend *b) {
  return b && b->ops == &cpu_ops ? hatch_threadpool_size(((const cpu_backend *)b)->pool) : 0;
}
