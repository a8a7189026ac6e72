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

/* ---- stop conditions ---------------------------------------------------------------------------- */

#include "hatch/tokenizer.h"

struct hatch_stop_list {
  int32_t ids[HATCH_STOP_MAX]; /* (n_ids) */
  int n_ids;
  char *strs[HATCH_STOP_MAX]; /* (n_strs) owned copies */
  size_t lens[HATCH_STOP_MAX];
  int n_strs;
};

hatch_status hatch_stop_list_create(hatch_stop_list **out) {
  if (!out) return HATCH_ERR_INVALID_ARGUMENT;
  *out = calloc(1, sizeof(hatch_stop_list));
  return *out ? HATCH_OK : HATCH_ERR_OUT_OF_MEMORY;
}

void hatch_stop_list_destroy(hatch_stop_list *s) {
  if (!s) return;
  for (int i = 0; i < s->n_strs; i++) free(s->strs[i]);
  free(s);
}

bool hatch_stop_list_has_token(const hatch_stop_list *s, int32_t id) {
  for (int i = 0; s && i < s->n_ids; i++)
    if (s->ids[i] == id) return true;
  return false;
}

hatch_status hatch_stop_list_add_token(hatch_stop_list *s, int32_t id) {
  if (!s || id < 0) return HATCH_ERR_INVALID_ARGUMENT;
  if (hatch_stop_list_has_token(s, id)) return HATCH_OK;
  if (s->n_ids == HATCH_STOP_MAX) return HATCH_ERR_TOO_LARGE;
  s->ids[s->n_ids++] = id;
  return HATCH_OK;
}

hatch_status hatch_stop_list_add_string(hatch_stop_list *s, const char *text, size_t len) {
  if (!s || !text || len == 0) return HATCH_ERR_INVALID_ARGUMENT;
  for (int i = 0; i < s->n_strs; i++)
    if (s->lens[i] == len && !memcmp(s->strs[i], text, len)) return HATCH_OK;
  if (s->n_strs == HATCH_STOP_MAX) return HATCH_ERR_TOO_LARGE;
  char *copy = malloc(len);
  if (!copy) return HATCH_ERR_OUT_OF_MEMORY;
  memcpy(copy, text, len);
  s->strs[s->n_strs] = copy;
  s->lens[s->n_strs++] = len;
  return HATCH_OK;
}

hatch_status hatch_stop_list_add_defaults(hatch_stop_list *s, const hatch_tokenizer *tok) {
  if (!s || !tok) return HATCH_ERR_INVALID_ARGUMENT;
  hatch_status st = HATCH_OK;
  int32_t eos = hatch_tokenizer_eos_id(tok);
  if (eos >= 0) st = hatch_stop_list_add_token(s, eos);
  static const char *const names[] = {"<|im_end|>", "<|endoftext|>"};
  for (size_t i = 0; i < sizeof names / sizeof *names && st == HATCH_OK; i++) {
    int32_t id = hatch_tokenizer_find(tok, names[i], strlen(names[i]));
    if (id >= 0) st = hatch_stop_list_add_token(s, id);
  }
  return st;
}

bool hatch_stop_list_check(const hatch_stop_list *s, int32_t id, const char *text, size_t len, size_t new_bytes,
                           size_t *keep) {
  if (!s || new_bytes > len) return false;
  if (hatch_stop_list_has_token(s, id)) {
    if (keep) *keep = len - new_bytes;
    return true;
  }
  if (!text || new_bytes == 0) return false;
  bool hit = false;
  size_t best = len;
  for (int i = 0; i < s->n_strs; i++) {
    size_t n = s->lens[i];
    if (n > len) continue;
    /* only matches that end inside the new bytes: earlier ones would have stopped earlier */
    size_t first_end = len - new_bytes + 1 > n ? len - new_bytes + 1 : n;
    for (size_t end = first_end; end <= len; end++)
      if (!memcmp(text + end - n, s->strs[i], n)) {
        if (end - n < best) best = end - n;
        hit = true;
        break;
      }
  }
  if (hit && keep) *keep = best;
  return hit;
}
