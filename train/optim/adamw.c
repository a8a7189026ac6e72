/* AdamW, element for element as torch.optim.AdamW (foreach=False, the CPU default), and the
 * learning-rate schedule. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hatch/train_optim.h"

static const double PI = 3.14159265358979323846;

/* A run of elements that decay or not. */
typedef struct span {
  int64_t begin, end;
  bool decay;
} span;

struct hatch_adamw {
  hatch_adamw_options opt;
  int64_t n;          /* parameters */
  int64_t t;          /* steps taken */
  float *m, *v;       /* (n) first and second moments */
  span *spans;        /* (n_spans) covering [0, n) in order */
  int n_spans;
  hatch_param_desc *descs; /* (n_descs) copied, for error messages */
  char *names;        /* the descs' names, one block */
  int n_descs;
};

hatch_adamw_options hatch_adamw_defaults(void) {
  return (hatch_adamw_options){.beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f, .weight_decay = 0.01f};
}

static int cmp_desc(const void *a, const void *b) {
  const hatch_param_desc *x = *(const hatch_param_desc *const *)a, *y = *(const hatch_param_desc *const *)b;
  return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* Spans over [0, n): decaying tensors as given, everything else not decaying. */
static hatch_status build_spans(hatch_adamw *a, const hatch_param_desc *descs, int n_descs) {
  hatch_status st = HATCH_OK;
  const hatch_param_desc **sorted = malloc((size_t)(n_descs ? n_descs : 1) * sizeof *sorted);
  a->spans = malloc((size_t)(2 * n_descs + 1) * sizeof *a->spans);
  if (!sorted || !a->spans) {
    st = HATCH_ERR_OUT_OF_MEMORY;
    goto free_sorted;
  }
  for (int k = 0; k < n_descs; k++) sorted[k] = &descs[k];
  qsort(sorted, (size_t)n_descs, sizeof *sorted, cmp_desc);
  int64_t at = 0;
  for (int k = 0; k < n_descs; k++) {
    const hatch_param_desc *d = sorted[k];
    if (d->offset < at || d->n_elems < 0 || d->offset > a->n - d->n_elems) {
      st = HATCH_ERR_INVALID_ARGUMENT; /* overlap or out of range */
      goto free_sorted;
    }
    if (d->offset > at) a->spans[a->n_spans++] = (span){at, d->offset, false};
    if (d->n_elems > 0) a->spans[a->n_spans++] = (span){d->offset, d->offset + d->n_elems, d->decay};
    at = d->offset + d->n_elems;
  }
  if (at < a->n) a->spans[a->n_spans++] = (span){at, a->n, false};
free_sorted:
  free(sorted);
  return st;
}

static hatch_status copy_descs(hatch_adamw *a, const hatch_param_desc *descs, int n_descs) {
  size_t bytes = 1;
  for (int k = 0; k < n_descs; k++) bytes += strlen(descs[k].name ? descs[k].name : "") + 1;
  a->descs = malloc((size_t)(n_descs ? n_descs : 1) * sizeof *a->descs);
  a->names = malloc(bytes);
  if (!a->descs || !a->names) return HATCH_ERR_OUT_OF_MEMORY;
  char *p = a->names;
  for (int k = 0; k < n_descs; k++) {
    const char *name = descs[k].name ? descs[k].name : "";
    size_t len = strlen(name) + 1;
    memcpy(p, name, len);
    a->descs[k] = descs[k];
    a->descs[k].name = p;
    p += len;
  }
  a->n_descs = n_descs;
  return HATCH_OK;
}

hatch_status hatch_adamw_create(int64_t n_params, const hatch_param_desc *descs, int n_descs,
                                const hatch_adamw_options *opt, hatch_adamw **out) {
  if (!out) return HATCH_ERR_INVALID_ARGUMENT;
  *out = NULL;
  if (n_params <= 0 || n_descs < 0 || (n_descs > 0 && !descs) || (uint64_t)n_params > SIZE_MAX / sizeof(float))
    return HATCH_ERR_INVALID_ARGUMENT;
  hatch_adamw_options o = opt ? *opt : hatch_adamw_defaults();
  if (!(o.beta1 >= 0 && o.beta1 < 1) || !(o.beta2 >= 0 && o.beta2 < 1) || !(o.eps >= 0) || !(o.weight_decay >= 0))
    return HATCH_ERR_INVALID_ARGUMENT;
  hatch_adamw *a = calloc(1, sizeof *a);
  if (!a) return HATCH_ERR_OUT_OF_MEMORY;
  a->opt = o;
  a->n = n_params;
  hatch_status st = HATCH_ERR_OUT_OF_MEMORY;
  a->m = calloc((size_t)n_params, sizeof(float));
  a->v = calloc((size_t)n_params, sizeof(float));
  if (!a->m || !a->v) goto destroy_adamw;
  if ((st = copy_descs(a, descs, n_descs)) != HATCH_OK) goto destroy_adamw;
  if ((st = build_spans(a, descs, n_descs)) != HATCH_OK) goto destroy_adamw;
  *out = a;
  return HATCH_OK;
destroy_adamw:
  hatch_adamw_destroy(a);
  return st;
}

void hatch_adamw_destroy(hatch_adamw *a) {
  if (!a) return;
  free(a->m);
  free(a->v);
  free(a->spans);
  free(a->descs);
  free(a->names);
  free(a);
}

/* One span: p, g, m, v are (n) slices. Scalars as torch passes them: python floats (double)
 * turned into the float32 op math of the CPU kernels. */
static void step_span(float *restrict p, const float *restrict g, float *restrict m, float *restrict v, int64_t n,
                      float decay_mul, float w1, float beta2, float one_minus_beta2, float step_size,
                      float bc2_sqrt, float eps) {
  for (int64_t i = 0; i < n; i++) {
    float pi = p[i] * decay_mul;                        /* param.mul_(1 - lr * wd) */
    float gi = g[i];
    float mi = m[i] + w1 * (gi - m[i]);                 /* exp_avg.lerp_(grad, 1 - beta1), weight < 0.5 */
    float vi = v[i] * beta2 + one_minus_beta2 * gi * gi; /* exp_avg_sq.mul_(beta2).addcmul_(g, g, 1 - beta2) */
    float denom = sqrtf(vi) / bc2_sqrt + eps;           /* (exp_avg_sq.sqrt() / bc2_sqrt).add_(eps) */
    p[i] = pi + (-step_size) * (mi / denom);            /* param.addcdiv_(exp_avg, denom, -step_size) */
    m[i] = mi;
    v[i] = vi;
  }
}

hatch_status hatch_adamw_step(hatch_adamw *a, float *params, const float *grads, float lr,
                              hatch_optim_report *report) {
  if (report) report->message[0] = '\0', report->index = -1;
  if (!a || !params || !grads || !isfinite(lr) || lr < 0) return HATCH_ERR_INVALID_ARGUMENT;
  hatch_status st = hatch_grad_check_finite(grads, a->n, a->descs, a->n_descs, report);
  if (st != HATCH_OK) return st;
  int64_t t = a->t + 1;
  double b1 = a->opt.beta1, b2 = a->opt.beta2;
  double bc1 = 1.0 - pow(b1, (double)t), bc2 = 1.0 - pow(b2, (double)t);
  float step_size = (float)((double)lr / bc1);
  float bc2_sqrt = (float)sqrt(bc2);
  float w1 = (float)(1.0 - b1), omb2 = (float)(1.0 - b2);
  /* torch computes 1 - lr * wd in double (python floats) and multiplies in float32. */
  float decay_mul = (float)(1.0 - (double)lr * (double)a->opt.weight_decay);
  if (w1 >= 0.5f) return HATCH_ERR_UNSUPPORTED; /* torch's lerp switches formula at weight 0.5 */
  for (int s = 0; s < a->n_spans; s++) {
    const span *sp = &a->spans[s];
    step_span(params + sp->begin, grads + sp->begin, a->m + sp->begin, a->v + sp->begin, sp->end - sp->begin,
              sp->decay ? decay_mul : 1.0f, w1, a->opt.beta2, omb2, step_size, bc2_sqrt, a->opt.eps);
  }
  a->t = t;
  return HATCH_OK;
}

int64_t hatch_adamw_n_params(const hatch_adamw *a) { return a ? a->n : 0; }
int64_t hatch_adamw_step_count(const hatch_adamw *a) { return a ? a->t : 0; }
float *hatch_adamw_m(hatch_adamw *a) { return a ? a->m : NULL; }
float *hatch_adamw_v(hatch_adamw *a) { return a ? a->v : NULL; }

hatch_status hatch_adamw_set_step_count(hatch_adamw *a, int64_t t) {
  if (!a || t < 0) return HATCH_ERR_INVALID_ARGUMENT;
  a->t = t;
  return HATCH_OK;
}

float hatch_lr_at(const hatch_lr_schedule *s, int64_t step) {
  if (!s) return 0.0f;
  if (step < 0) step = 0;
  if (step < s->warmup_steps) return (float)((double)s->max_lr * (double)(step + 1) / (double)s->warmup_steps);
  if (step >= s->total_steps) return s->min_lr;
  double ratio = (double)(step - s->warmup_steps) / (double)(s->total_steps - s->warmup_steps);
  double coeff = 0.5 * (1.0 + cos(PI * ratio));
  return (float)((double)s->min_lr + coeff * ((double)s->max_lr - (double)s->min_lr));
}
