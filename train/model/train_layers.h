/* The fp32 instantiation of the layer templates (layer_*.h, compiled in layers_f32.c): the trainer's
 * building blocks. Shapes are (rows, columns), row-major; outputs first, sizes last, as llm.c.
 * Backward functions accumulate (+=) into their gradients unless stated. pool may be NULL. */
#ifndef HATCH_TRAIN_LAYERS_H
#define HATCH_TRAIN_LAYERS_H

#include <stdbool.h>
#include <stdint.h>

#include "cpu/threadpool.h"

/* RoPE kinds (the runtime's hatch_rope_mode, repeated so the layers need no backend header). */
enum { LAYER_ROPE_NEOX = 0, LAYER_ROPE_MROPE = 1, LAYER_ROPE_VISION = 2 };

/* y (n, out) = x (n, in) · w (out, in)^T + b (out, or NULL) */
void linear_forward_f32(hatch_threadpool *pool, float *y, const float *x, const float *w, const float *b, int64_t n,
                        int64_t in, int64_t out);
/* dx (n, in) += dy w; dw (out, in) += dy^T x; db (out) += sum dy. Each may be NULL. */
void linear_backward_f32(hatch_threadpool *pool, float *dx, float *dw, float *db, const float *dy, const float *x,
                         const float *w, int64_t n, int64_t in, int64_t out);

/* y, x (n, d); w (d); rstd (n) */
void rmsnorm_forward_f32(hatch_threadpool *pool, float *y, float *rstd, const float *x, const float *w, float eps,
                         int64_t n, int64_t d);
void rmsnorm_backward_f32(hatch_threadpool *pool, float *dx, float *dw, const float *dy, const float *x, const float *w,
                          const float *rstd, int64_t n, int64_t d);

/* inv_freq, comp (n_dims/2); mode LAYER_ROPE_*; sections (3) */
void rope_table_f32(float *inv_freq, int32_t *comp, int mode, int n_dims, double base, const int *sections);
/* y, x (n, n_head, head_dim), may alias; pos (n_comp, n) */
void rope_forward_f32(hatch_threadpool *pool, float *y, const float *x, const int32_t *pos, const float *inv_freq,
                      const int32_t *comp, int n_dims, int64_t n, int64_t n_head, int64_t head_dim);
/* dx = R(-theta) dy, not accumulated, may alias */
void rope_backward_f32(hatch_threadpool *pool, float *dx, const float *dy, const int32_t *pos, const float *inv_freq,
                       const int32_t *comp, int n_dims, int64_t n, int64_t n_head, int64_t head_dim);

/* o, q (n, n_head, hd); k, v (n, n_kv_head, hd); lse (n, n_head); bounds (n_bounds) or NULL.
 * false: out of memory. */
bool attention_forward_f32(hatch_threadpool *pool, float *o, float *lse, const float *q, const float *k, const float *v,
                           const int32_t *bounds, int64_t n_bounds, bool causal, float scale, int64_t n,
                           int64_t n_head, int64_t n_kv_head, int64_t hd);
/* dq, dk, dv accumulate; dsum (n, n_head) scratch */
void attention_backward_f32(hatch_threadpool *pool, float *dq, float *dk, float *dv, float *dsum, const float *dout,
                            const float *q, const float *k, const float *v, const float *out, const float *lse,
                            const int32_t *bounds, int64_t n_bounds, bool causal, float scale, int64_t n,
                            int64_t n_head, int64_t n_kv_head, int64_t hd);
int64_t attention_pairs_f32(const int32_t *bounds, int64_t n_bounds, bool causal, int64_t n);

void swiglu_forward_f32(hatch_threadpool *pool, float *h, const float *g, const float *u, int64_t n);
void swiglu_backward_f32(hatch_threadpool *pool, float *dg, float *du, const float *dh, const float *g, const float *u,
                         int64_t n);
void gelu_forward_f32(hatch_threadpool *pool, float *y, const float *x, int64_t n);
void gelu_backward_f32(hatch_threadpool *pool, float *dx, const float *dy, const float *x, int64_t n);

/* x (n, d); table (vocab, d); rows with ids == skip_id untouched */
void embedding_forward_f32(float *x, const int32_t *ids, const float *table, int32_t skip_id, int64_t n, int64_t d);
void embedding_backward_f32(float *dtable, const float *dx, const int32_t *ids, int32_t skip_id, int64_t n, int64_t d);

/* logits (n, vocab); lse, logp (n); targets (n), -1 = none */
void logprob_forward_f32(hatch_threadpool *pool, float *logp, float *lse, const float *logits, const int32_t *targets,
                         int64_t n, int64_t vocab);
void logprob_backward_f32(hatch_threadpool *pool, float *dlogits, const float *dlogp, const float *logits,
                          const float *lse, const int32_t *targets, int64_t n, int64_t vocab);

#endif
