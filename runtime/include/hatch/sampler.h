/* Token sampling: greedy, temperature, top-k, top-p (nucleus), a seed, and a mask (constrained
 * decoding: tokens the grammar cannot accept are never drawn). Deterministic for a given seed. */
#ifndef HATCH_SAMPLER_H
#define HATCH_SAMPLER_H

#include <stdbool.h>
#include <stdint.h>

#include "hatch/status.h"

typedef struct hatch_sampler_params {
  float temperature; /* <= 0: greedy (argmax) */
  int top_k;         /* <= 0: all */
  float top_p;       /* >= 1 or <= 0: all */
  uint64_t seed;
} hatch_sampler_params;

typedef struct hatch_sampler hatch_sampler;

hatch_status hatch_sampler_create(const hatch_sampler_params *p, int32_t n_vocab, hatch_sampler **out);
void hatch_sampler_destroy(hatch_sampler *s); /* NULL-safe */

/* Draws a token from logits (n_vocab). allowed: NULL (all) or (n_vocab) flags. HATCH_ERR_NOT_FOUND
 * when no token is allowed; logits with NaN never win. */
hatch_status hatch_sampler_sample(hatch_sampler *s, const float *logits, const bool *allowed, int32_t *out);

#endif
