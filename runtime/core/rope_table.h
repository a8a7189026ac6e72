/* RoPE frequency table shared by the CPU and Vulkan backends, so both rotate by bit-identical
 * angles: theta = (float)pos[comp][t] * inv_freq (an F32 product, as in Hugging Face). */
#ifndef HATCH_ROPE_TABLE_H
#define HATCH_ROPE_TABLE_H

#include <math.h>
#include <stdint.h>

#include "hatch/ops.h"

typedef struct hatch_rope_pair {
  float inv_freq; /* base^(-2j/D), computed in double and rounded once */
  int32_t comp;   /* position component this pair reads */
} hatch_rope_pair;
_Static_assert(sizeof(hatch_rope_pair) == 8, "mirrored by shaders/rope.comp");

/* Fills pairs (n_dims/2) from validated params.
 * NEOX:   j = i, D = n_dims, comp 0.
 * MROPE:  j = i (global), D = n_dims, comp = the section holding i (t, h, w).
 * VISION: frequencies restart per section, D = n_dims/2: Qwen2.5-VL's
 *         VisionRotaryEmbedding(head_dim/2) with h and w freqs concatenated. */
static inline void hatch_rope_table(const hatch_rope_params *p, hatch_rope_pair *pairs) {
  int half = p->n_dims / 2;
  double dim = p->mode == HATCH_ROPE_VISION ? (double)half : (double)p->n_dims;
  int comp = 0, section_begin = 0;
  for (int i = 0; i < half; i++) {
    if (p->mode != HATCH_ROPE_NEOX)
      while (comp < 3 && i >= section_begin + p->sections[comp]) section_begin += p->sections[comp++];
    int j = p->mode == HATCH_ROPE_VISION ? i - section_begin : i;
    pairs[i].inv_freq = (float)(1.0 / pow((double)p->freq_base, 2.0 * j / dim));
    pairs[i].comp = comp;
  }
}

#endif
