/* Pillow's separable bicubic resampling plan (libImaging/Resample.c, 8-bit path), shared by both
 * backends so the CPU reference and the Vulkan kernels apply the very same integer weights.
 *
 * Pillow: per output index a window of input taps [first, first + count) with weights
 * bicubic(a = -0.5) evaluated at (tap - center + 0.5) / filterscale (filterscale = max(1, scale):
 * the support widens when downscaling), normalized to sum 1 in double, then rounded half away
 * from zero to fixed point with HATCH_RESAMPLE_BITS fraction bits. A pass computes
 * acc = 2^(BITS-1) + sum(pixel * weight) in int32 and stores clip(acc >> BITS, 0, 255): every pass
 * rounds to 8 bits. Horizontal pass first (only over the source rows the vertical pass reads),
 * then vertical; a pass is skipped when its dimension does not change. */
#ifndef HATCH_IMAGE_RESAMPLE_H
#define HATCH_IMAGE_RESAMPLE_H

#include <stdbool.h>
#include <stdint.h>

#include "hatch/status.h"

#define HATCH_RESAMPLE_BITS 22 /* Pillow's PRECISION_BITS = 32 - 8 - 2 */

/* One pass's taps: data = [bounds (out_size, 2): first tap, tap count | weights (out_size, ksize)]. */
typedef struct hatch_resample_taps {
  int32_t out_size, ksize, max_count;
  int32_t *data;
} hatch_resample_taps;

static inline const int32_t *hatch_resample_weights(const hatch_resample_taps *t) { return t->data + 2 * t->out_size; }

typedef struct hatch_resize_plan {
  int32_t src_w, src_h, dst_w, dst_h;
  bool horizontal, vertical;   /* passes Pillow runs; neither: a plain copy */
  hatch_resample_taps h, v;    /* h valid when horizontal; v always (it gives the rows) */
  int32_t row_first, row_count; /* source rows the vertical pass reads: the horizontal pass makes only these */
} hatch_resize_plan;

hatch_status hatch_resize_plan_init(int64_t src_w, int64_t src_h, int64_t dst_w, int64_t dst_h,
                                    hatch_resize_plan *out);
void hatch_resize_plan_free(hatch_resize_plan *p);

/* Pillow's clip8: acc >> BITS clipped to 0..255 (acc < 0 maps to 0 without shifting a negative). */
static inline uint8_t hatch_resample_clip(int32_t acc) {
  if (acc < 0) return 0;
  int32_t v = acc >> HATCH_RESAMPLE_BITS;
  return (uint8_t)(v > 255 ? 255 : v);
}

#endif
