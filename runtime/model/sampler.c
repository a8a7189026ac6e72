/* Sampler: greedy / temperature / top-k / top-p with an allow mask (sampler.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hatch/sampler.h"

typedef struct cand {
  int32_t id;
  float logit;
} cand;

struct hatch_sampler {
  hatch_sampler_params p;
  int32_t n_vocab;
  uint64_t rng;
  cand *cands; /* (n_vocab) */
};

hatch_status hatch_sampler_create(const hatch_sampler_params *p, int32_t n_vocab, hatch_sampler **out) {
  if (!p || !out || n_vocab <= 0) return HATCH_ERR_INVALID_ARGUMENT;
  hatch_sampler *s = calloc(1, sizeof *s);
  if (!s || !(s->cands = malloc(sizeof(cand) * (size_t)n_vocab))) {
    free(s);
    return HATCH_ERR_OUT_OF_MEMORY;
  }
  s->p = *p;
  s->n_vocab = n_vocab;
  s->rng = p->seed * 0x9e3779b97f4a7c15ull + 0x2545f4914f6cdd1dull;
  *out = s;
  return HATCH_OK;
}

void hatch_sampler_destroy(hatch_sampler *s) {
  if (!s) return;
  free(s->cands);
  free(s);
}

static double uniform(hatch_sampler *s) {
  s->rng ^= s->rng << 13;
  s->rng ^= s->rng >> 7;
  s->rng ^= s->rng << 17;
  return (double)(s->rng >> 11) * 0x1.0p-53;
}

static int by_logit_desc(const void *a, const void *b) {
  float x = ((const cand *)a)->logit, y = ((const cand *)b)->logit;
  if (x != y) return x > y ? -1 : 1;
  return ((const cand *)a)->id - ((const cand *)b)->id; /* stable for ties: lower id first */
}

hatch_status hatch_sampler_sample(hatch_sampler *s, const float *logits, const bool *allowed, int32_t *out) {
  if (!s || !logits || !out) return HATCH_ERR_INVALID_ARGUMENT;
  int n = 0;
  for (int32_t i = 0; i < s->n_vocab; i++)
    if ((!allowed || allowed[i]) && !isnan(logits[i])) s->cands[n++] = (cand){i, logits[i]};
  if (n == 0) return HATCH_ERR_NOT_FOUND;
  if (s->p.temperature <= 0) {
    int best = 0;
    for (int i = 1; i < n; i++)
      if (s->cands[i].logit > s->cands[best].logit) best = i;
    *out = s->cands[best].id;
    return HATCH_OK;
  }
  qsort(s->cands, (size_t)n, sizeof(cand), by_logit_desc);
  if (s->p.top_k > 0 && s->p.top_k < n) n = s->p.top_k;
  double max = s->cands[0].logit, sum = 0;
  double *prob = malloc(sizeof(double) * (size_t)n);
  if (!prob) return HATCH_ERR_OUT_OF_MEMORY;
  for (int i = 0; i < n; i++) sum += prob[i] = exp((s->cands[i].logit - max) / s->p.temperature);
  if (s->p.top_p > 0 && s->p.top_p < 1) {
    double acc = 0;
    for (int i = 0; i < n; i++) {
      acc += prob[i] / sum;
      if (acc >= s->p.top_p) {
        n = i + 1;
        break;
      }
    }
    sum = 0;
    for (int i = 0; i < n; i++) sum += prob[i];
  }
  double r = uniform(s) * sum;
  int pick = n - 1;
  for (int i = 0; i < n; i++) {
    r -= prob[i];
    if (r < 0) {
      pick = i;
      break;
    }
  }
  free(prob);
  *out = s->cands[pick].id;
  return HATCH_OK;
}
