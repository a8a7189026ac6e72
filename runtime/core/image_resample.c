/* Pillow's bicubic resampling taps (see image_resample.h). The double arithmetic follows Pillow's
 * precompute_coeffs() term by term so the rounded integer weights come out identical. */
#include "core/image_resample.h"

#include <math.h>
#include <stdlib.h>

/* No fused multiply-add: Pillow's weights are plain double products and sums (GCC does not
 * contract in -std=c17 mode; clang needs telling). */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

#define BICUBIC_SUPPORT 2.0

static double bicubic(double x) {
  const double a = -0.5;
  if (x < 0.0) x = -x;
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
  if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
  return 0.0;
}

static hatch_status taps_init(int32_t in_size, int32_t out_size, hatch_resample_taps *t) {
  double scale = (double)in_size / out_size;
  double filterscale = scale < 1.0 ? 1.0 : scale; /* downscaling widens the filter (antialias) */
  double support = BICUBIC_SUPPORT * filterscale;
  int32_t ksize = (int32_t)ceil(support) * 2 + 1;
  t->out_size = out_size;
  t->ksize = ksize;
  t->max_count = 0;
  t->data = calloc((size_t)out_size * (size_t)(2 + ksize), sizeof(int32_t));
  double *w = malloc(sizeof(double) * (size_t)ksize); /* (ksize) one output's weights */
  if (!t->data || !w) {
    free(t->data);
    free(w);
    t->data = NULL;
    return HATCH_ERR_OUT_OF_MEMORY;
  }
  int32_t *bounds = t->data;                  /* (out_size, 2) */
  int32_t *k = t->data + 2 * (size_t)out_size; /* (out_size, ksize) */
  double inv_filterscale = 1.0 / filterscale;
  for (int32_t xx = 0; xx < out_size; xx++) {
    double center = (xx + 0.5) * scale;
    int32_t xmin = (int32_t)(center - support + 0.5); /* truncation, as Pillow's (int) cast */
    if (xmin < 0) xmin = 0;
    int32_t xmax = (int32_t)(center + support + 0.5);
    if (xmax > in_size) xmax = in_size;
    int32_t count = xmax - xmin;
    double ww = 0.0;
    for (int32_t x = 0; x < count; x++) {
      w[x] = bicubic((x + xmin - center + 0.5) * inv_filterscale);
      ww += w[x];
    }
    for (int32_t x = 0; x < count; x++) {
      double v = ww != 0.0 ? w[x] / ww : w[x];
      /* Pillow's normalize_coeffs_8bpc: round half away from zero to fixed point. */
      k[(size_t)xx * ksize + x] = (int32_t)(v < 0 ? -0.5 + v * (1 << HATCH_RESAMPLE_BITS)
                                                   : 0.5 + v * (1 << HATCH_RESAMPLE_BITS));
    }
    bounds[2 * xx] = xmin;
    bounds[2 * xx + 1] = count;
    if (count > t->max_count) t->max_count = count;
  }
  free(w);
  return HATCH_OK;
}

hatch_status hatch_resize_plan_init(int64_t src_w, int64_t src_h, int64_t dst_w, int64_t dst_h,
                                    hatch_resize_plan *out) {
  *out = (hatch_resize_plan){0};
  /* Pillow's box arithmetic is float: sizes past 2^24 would round. */
  if (src_w > (1 << 24) || src_h > (1 << 24) || dst_w > (1 << 24) || dst_h > (1 << 24)) return HATCH_ERR_TOO_LARGE;
  if (src_w < 1 || src_h < 1 || dst_w < 1 || dst_h < 1) return HATCH_ERR_SHAPE;
  out->src_w = (int32_t)src_w;
  out->src_h = (int32_t)src_h;
  out->dst_w = (int32_t)dst_w;
  out->dst_h = (int32_t)dst_h;
  out->horizontal = dst_w != src_w;
  out->vertical = dst_h != src_h;
  hatch_status st = taps_init(out->src_h, out->dst_h, &out->v);
  if (st == HATCH_OK && out->horizontal) st = taps_init(out->src_w, out->dst_w, &out->h);
  if (st != HATCH_OK) {
    hatch_resize_plan_free(out);
    return st;
  }
  if (out->horizontal) {
    const int32_t *b = out->v.data;
    out->row_first = b[0];
    out->row_count = b[2 * (out->dst_h - 1)] + b[2 * (out->dst_h - 1) + 1] - b[0];
  } else {
    out->row_first = 0;
    out->row_count = out->src_h;
  }
  return HATCH_OK;
}

void hatch_resize_plan_free(hatch_resize_plan *p) {
  if (!p) return;
  free(p->h.data);
  free(p->v.data);
  p->h.data = p->v.data = NULL;
}
