/* Word-grounded vision tokens (hatch/train_objectives.h, hatch_cell_words_loss): cross-entropy of each
 * labelled vision token against the tied token embeddings, for each of its words (colour, category, and
 * optionally the side of the picture the cell is on). */
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>

#include "hatch/train_objectives.h"

hatch_status hatch_cell_words_loss(const float *feat, int64_t n_rows, int dim, const int32_t *targets, int n_words,
                                   const float *embd, int64_t vocab, float scale, double *loss_sum, float *dfeat,
                                   int64_t *n_labelled) {
  if (!feat || !targets || !embd || !dfeat || !loss_sum || n_rows < 0 || dim <= 0 || vocab <= 0 || n_words < 1 ||
      n_words > HATCH_CELL_MAX_WORDS)
    return HATCH_ERR_INVALID_ARGUMENT;
  for (int64_t r = 0; r < n_rows; r++)
    for (int w = 0; w < n_words; w++)
      if (targets[r * n_words + w] < -1 || targets[r * n_words + w] >= vocab) return HATCH_ERR_INVALID_ARGUMENT;
  double *z = malloc(sizeof(double) * (size_t)vocab); // (vocab) logits
  if (!z) return HATCH_ERR_OUT_OF_MEMORY;
  double sum = 0;
  int64_t labelled = 0;
  for (int64_t r = 0; r < n_rows; r++) {
    const int32_t *tg = targets + r * n_words;
    int words = 0;
    for (int w = 0; w < n_words; w++) words += tg[w] >= 0;
    if (!words) continue;
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
    sum += words * lse;
    for (int w = 0; w < n_words; w++) sum -= tg[w] >= 0 ? z[tg[w]] : 0;
    /* dL/dz = words * softmax(z) - Σ_w onehot(word w); dL/df = E^T dL/dz */
    float *d = dfeat + r * dim;
    for (int64_t v = 0; v < vocab; v++) {
      double g = words * exp(z[v] - lse);
      for (int w = 0; w < n_words; w++) g -= tg[w] == v;
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

int64_t hatch_cell_word_targets(const int16_t *cell_object, int gh, int gw, int n_objects, const int32_t (*object_words)[2],
                                const int32_t sides[2], int32_t *targets) {
  const int W = sides ? 3 : 2;
  int64_t labelled = 0;
  for (int r = 0; r < gh; r++)
    for (int q = 0; q < gw; q++) {
      int32_t *tg = targets + (int64_t)W * (r * gw + q);
      int o = cell_object ? cell_object[r * gw + q] : -1;
      bool named = o >= 0 && o < n_objects && object_words[o][0] >= 0 && object_words[o][1] >= 0;
      tg[0] = named ? object_words[o][0] : -1;
      tg[1] = named ? object_words[o][1] : -1;
      if (sides) tg[2] = 2 * q + 1 == gw ? -1 : sides[2 * q + 1 < gw ? 0 : 1];
      labelled += named || (sides && tg[2] >= 0);
    }
  return labelled;
}
