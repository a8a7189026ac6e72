/* Gradient checks: the NaN/Inf guard, the global L2 norm and clip_grad_norm_. */
#include <math.h>
#include <stdio.h>

#include "hatch/train_optim.h"

/* Tensor holding flat index i, or NULL. */
static const hatch_param_desc *desc_of(const hatch_param_desc *descs, int n_descs, int64_t i) {
  for (int k = 0; descs && k < n_descs; k++)
    if (i >= descs[k].offset && i - descs[k].offset < descs[k].n_elems) return &descs[k];
  return NULL;
}

hatch_status hatch_grad_check_finite(const float *grads, int64_t n, const hatch_param_desc *descs, int n_descs,
                                     hatch_optim_report *report) {
  if (report) report->message[0] = '\0', report->index = -1;
  if (!grads || n < 0) return HATCH_ERR_INVALID_ARGUMENT;
  /* Fast pass: a sum of x * 0 is NaN exactly when some x is NaN or Inf (vectorizes). */
  int64_t bad = -1;
  const int64_t chunk = 4096;
  for (int64_t c0 = 0; c0 < n && bad < 0; c0 += chunk) {
    int64_t c1 = c0 + chunk < n ? c0 + chunk : n;
    float acc = 0.0f;
    for (int64_t i = c0; i < c1; i++) acc += grads[i] * 0.0f;
    if (acc == acc) continue;
    for (int64_t i = c0; i < c1; i++)
      if (!isfinite(grads[i])) {
        bad = i;
        break;
      }
  }
  if (bad < 0) return HATCH_OK;
  if (report) {
    report->index = bad;
    const hatch_param_desc *d = desc_of(descs, n_descs, bad);
    const char *what = isnan(grads[bad]) ? "nan" : grads[bad] > 0 ? "+inf" : "-inf";
    if (d)
      snprintf(report->message, sizeof report->message, "grad of '%.120s'[%lld] (flat %lld) is %s",
               d->name ? d->name : "?", (long long)(bad - d->offset), (long long)bad, what);
    else
      snprintf(report->message, sizeof report->message, "grad[%lld] is %s", (long long)bad, what);
  }
  return HATCH_ERR_CORRUPT;
}

double hatch_grad_norm(const float *grads, int64_t n) {
  /* Fixed-order blocked sum: float lanes inside a block (vectorizes), double across blocks. */
  double total = 0.0;
  const int64_t block = 1024;
  for (int64_t b0 = 0; b0 < n; b0 += block) {
    int64_t b1 = b0 + block < n ? b0 + block : n;
    double acc = 0.0;
    for (int64_t i = b0; i < b1; i++) acc += (double)grads[i] * (double)grads[i];
    total += acc;
  }
  return sqrt(total);
}

hatch_status hatch_grad_clip(float *grads, int64_t n, float max_norm, float *norm_out) {
  if (!grads || n < 0) return HATCH_ERR_INVALID_ARGUMENT;
  double norm = hatch_grad_norm(grads, n);
  if (norm_out) *norm_out = (float)norm;
  if (!isfinite(norm)) return HATCH_ERR_CORRUPT;
  if (max_norm <= 0.0f) return HATCH_OK;
  /* torch: clip_coef = max_norm / (total_norm + 1e-6), clamped to 1, computed in float32. */
  float coef = max_norm / ((float)norm + 1e-6f);
  if (coef < 1.0f)
    for (int64_t i = 0; i < n; i++) grads[i] *= coef;
  return HATCH_OK;
}
