/* Word-grounded vision tokens (hatch/train_objectives.h, hatch_cell_words_loss): cross-entropy of each
 * labelled vision token against the tied token embeddings, for its colour word and category word. */
#include <math.h>
#include <stdlib.h>

#include "hatch/train_objectives.h"

hatch_status hatch_cell_words_loss(const float *feat, int64_t n_rows, int dim, const int32_t *targets, const float *embd,
                                   int64_t vocab, float scale, double *loss_sum, float *dfeat, int64_t *n_labelled) {
  if (!feat || !targets || !embd || !dfeat || !loss_sum || n_rows < 0 || dim <= 0 || vocab <= 0)
    return HATCH_ERR_INVALID_ARGUMENT;
  for (int64_t r = 0; r < n_rows; r++) {
    int32_t a = targets[2 * r], b = targets[2 * r + 1];
    if ((a < 0) != (b < 0) || a >= vocab || b >= vocab || a < -1 || b < -1) return HATCH_ERR_INVALID_ARGUMENT;
  }
  double *z = malloc(sizeof(double) * (size_t)vocab); // (vocab) logits, then probabilities
  if (!z) return HATCH_ERR_OUT_OF_MEMORY;
  double sum = 0;
  int64_t labelled = 0;
  for (int64_t r = 0; r < n_rows; r++) {
    const int32_t *tg = targets + 2 * r;
    if (tg[0] < 0) continue;
    const float *f = feat + r * dim;
    double zmax = -INFINITY;
    for (int64_t v = 0; v < vocab; v++) {
      const float *e = embd + v * dim;
      double acc = 0;
      for (int k = 0; k < dim; k++) acc += (double)e[k] * f[k];
      z[v] = acc;
      if (acc > zmax) zmax = acc;
    }
    double den = 0;
    for (int64_t v = 0; v < vocab; v++) den += exp(z[v] - zmax);
    double lse = zmax + log(den);
    sum += 2 * lse - z[tg[0]] - z[tg[1]];
    /* dL/dz = 2 softmax(z) - onehot(colour) - onehot(category); dL/df = E^T dL/dz */
    float *d = dfeat + r * dim;
    for (int64_t v = 0; v < vocab; v++) {
      double g = 2 * exp(z[v] - lse) - (v == tg[0]) - (v == tg[1]);
      if (g == 0) continue;
      const float *e = embd + v * dim;
      for (int k = 0; k < dim; k++) d[k] += (float)(scale * g * e[k]);
    }
    labelled++;
  }
  free(z);
  *loss_sum = sum;
  if (n_labelled) *n_labelled = labelled;
  return HATCH_OK;
}
