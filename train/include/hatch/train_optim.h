/* The trainer's optimizer: AdamW as torch.optim.AdamW computes it, global-norm gradient clipping
 * as torch.nn.utils.clip_grad_norm_, a NaN/Inf guard on the gradients and the learning-rate
 * schedule (linear warmup, cosine decay to min_lr).
 *
 * The model exposes one flat float parameter buffer and a gradient buffer of the same layout, and
 * a table of named tensors inside it (hatch_param_desc). Everything here is element-wise or a
 * fixed-order reduction: results do not depend on threads or timing (bit-identical resume). */
#ifndef HATCH_TRAIN_OPTIM_H
#define HATCH_TRAIN_OPTIM_H

#include <stdbool.h>
#include <stdint.h>

#include "hatch/status.h"

/* One named tensor inside the flat parameter buffer: elements [offset, offset + n_elems). */
typedef struct hatch_param_desc {
  const char *name;
  int64_t offset;
  int64_t n_elems;
  int ndim;   /* the tensor's rank (layout checks; the usual decay rule is ndim >= 2) */
  bool decay; /* AdamW weight decay applies (matrices yes; norms, biases no) */
} hatch_param_desc;

/* Where a check failed: names the tensor and element, e.g.
 * "grad of 'blk.3.attn_q.weight'[17] (flat 123456) is nan". */
typedef struct hatch_optim_report {
  char message[256];
  int64_t index; /* flat index of the first bad element; -1 when none */
} hatch_optim_report;

/* ---- gradient checks ------------------------------------------------------------------------- */

/* HATCH_ERR_CORRUPT when any of grads[0..n) is NaN or +-Inf (report names the first one and, when
 * descs is given, its tensor); HATCH_OK otherwise. descs may be NULL. */
hatch_status hatch_grad_check_finite(const float *grads, int64_t n, const hatch_param_desc *descs, int n_descs,
                                     hatch_optim_report *report);

/* L2 norm of grads[0..n), accumulated in double in a fixed order (deterministic). */
double hatch_grad_norm(const float *grads, int64_t n);

/* torch.nn.utils.clip_grad_norm_(max_norm): norm = ||grads||_2; when max_norm / (norm + 1e-6) < 1
 * every gradient is multiplied by that factor. *norm_out = the norm BEFORE clipping. A non-finite
 * norm is HATCH_ERR_CORRUPT and leaves grads untouched (never step on NaN). max_norm <= 0 means
 * no clipping (the norm is still computed and checked). */
hatch_status hatch_grad_clip(float *grads, int64_t n, float max_norm, float *norm_out);

/* ---- AdamW ------------------------------------------------------------------------------------- */

typedef struct hatch_adamw_options {
  float beta1;        /* 0.9 */
  float beta2;        /* 0.999 (0.95 is common for LLMs) */
  float eps;          /* 1e-8 */
  float weight_decay; /* 0.01 is torch's default; applied only to tensors with decay = true */
} hatch_adamw_options;

/* torch's defaults: 0.9, 0.999, 1e-8, 0.01. */
hatch_adamw_options hatch_adamw_defaults(void);

typedef struct hatch_adamw hatch_adamw;

/* An optimizer for n_params parameters. descs (n_descs, may be 0) say which ranges decay; they must
 * lie inside [0, n_params) and not overlap (HATCH_ERR_INVALID_ARGUMENT otherwise); elements in no
 * tensor do not decay. The descs are copied (names too). m and v start at zero, step count 0.
 * *out owned by the caller: hatch_adamw_destroy. */
hatch_status hatch_adamw_create(int64_t n_params, const hatch_param_desc *descs, int n_descs,
                                const hatch_adamw_options *opt, hatch_adamw **out);
void hatch_adamw_destroy(hatch_adamw *a); /* accepts NULL */

/* One step at learning rate lr (t += 1), per element, exactly torch's _single_tensor_adamw:
 *   p *= 1 - lr * wd                 (decay tensors only)
 *   m  = lerp(m, g, 1 - beta1)       (= beta1 m + (1 - beta1) g)
 *   v  = beta2 v + (1 - beta2) g^2
 *   p -= (lr / (1 - beta1^t)) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
 * The gradients are checked first: on NaN/Inf nothing changes (not even t) and the status is
 * HATCH_ERR_CORRUPT with report naming the element (report may be NULL). */
hatch_status hatch_adamw_step(hatch_adamw *a, float *params, const float *grads, float lr,
                              hatch_optim_report *report);

int64_t hatch_adamw_n_params(const hatch_adamw *a);
int64_t hatch_adamw_step_count(const hatch_adamw *a);
/* The moments, (n_params) each, for checkpoints; writable so a resume can load them. */
float *hatch_adamw_m(hatch_adamw *a);
float *hatch_adamw_v(hatch_adamw *a);
/* Sets the step count (resume). Negative is HATCH_ERR_INVALID_ARGUMENT. */
hatch_status hatch_adamw_set_step_count(hatch_adamw *a, int64_t t);

/* ---- learning-rate schedule ------------------------------------------------------------------- */

typedef struct hatch_lr_schedule {
  float max_lr;
  float min_lr;
  int64_t warmup_steps; /* linear warmup length (0 = none) */
  int64_t total_steps;  /* cosine reaches min_lr here */
} hatch_lr_schedule;

/* Learning rate for 0-based step `step`:
 *   step < warmup:            max_lr * (step + 1) / warmup
 *   warmup <= step < total:   min_lr + 0.5 (1 + cos(pi (step - warmup) / (total - warmup))) (max_lr - min_lr)
 *   step >= total:            min_lr */
float hatch_lr_at(const hatch_lr_schedule *s, int64_t step);

#endif
