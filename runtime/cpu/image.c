/* Image preprocessing on the CPU: Pillow-exact bicubic resize and Qwen2.5-VL patchify. */
#include <stdlib.h>
#include <string.h>

#include "core/image_resample.h"
#include "cpu/cpu_ops.h"

/* One resampling pass over 8-bit RGB rows. Horizontal: out row r reads in row r + row_offset,
 * taps step one pixel. Vertical: out row r reads in rows from its taps, taps step one row. */
typedef struct resample_job {
  uint8_t *dst;            /* (out_rows, out_w, 3) */
  const uint8_t *src;      /* (in_rows, in_w, 3) */
  const hatch_resample_taps *taps;
  int64_t in_w, out_w;
  int64_t row_offset;      /* first source row this pass reads (horizontal pass) / taps' row origin */
  bool vertical;
} resample_job;

static void resample_rows(void *ctx, int64_t begin, int64_t end) {
  const resample_job *j = ctx;
  const int32_t *bounds = j->taps->data;
  const int32_t *weights = hatch_resample_weights(j->taps);
  int64_t ksize = j->taps->ksize;
  for (int64_t y = begin; y < end; y++) {
    uint8_t *out = j->dst + y * j->out_w * 3;
    for (int64_t x = 0; x < j->out_w; x++) {
      int64_t o = j->vertical ? y : x; /* the output index the taps belong to */
      int32_t first = bounds[2 * o], count = bounds[2 * o + 1];
      const int32_t *k = weights + o * ksize;
      const uint8_t *in;
      int64_t step;
      if (j->vertical) {
        in = j->src + ((first - j->row_offset) * j->in_w + x) * 3;
        step = j->in_w * 3;
      } else {
        in = j->src + ((y + j->row_offset) * j->in_w + first) * 3;
        step = 3;
      }
      for (int c = 0; c < 3; c++) {
        int32_t acc = 1 << (HATCH_RESAMPLE_BITS - 1); /* rounds the >> below to nearest */
        for (int32_t t = 0; t < count; t++) acc += (int32_t)in[t * step + c] * k[t];
        out[x * 3 + c] = hatch_resample_clip(acc);
      }
    }
  }
}

static void run_pass(hatch_threadpool *pool, uint8_t *dst, const uint8_t *src, const hatch_resample_taps *taps,
                     int64_t in_w, int64_t out_w, int64_t out_rows, int64_t row_offset, bool vertical) {
  resample_job j = {dst, src, taps, in_w, out_w, row_offset, vertical};
  int64_t work_per_row = out_w * 3 * (taps->max_count > 0 ? taps->max_count : 1);
  hatch_threadpool_run(pool, out_rows, 1 + 65536 / work_per_row, resample_rows, &j);
}

hatch_status hatch_cpu_image_resize(hatch_backend *be, hatch_tensor *dst, const hatch_tensor *src) {
  hatch_resize_plan p;
  hatch_status st = hatch_resize_plan_init(src->ne[1], src->ne[2], dst->ne[1], dst->ne[2], &p);
  if (st != HATCH_OK) return st;
  hatch_threadpool *pool = hatch_cpu_pool(be);
  const uint8_t *in = src->data; /* (src_h, src_w, 3) */
  uint8_t *tmp = NULL;           /* (row_count, dst_w, 3): horizontal pass output */
  if (p.horizontal && p.vertical) {
    tmp = malloc((size_t)p.row_count * (size_t)p.dst_w * 3);
    if (!tmp) {
      hatch_resize_plan_free(&p);
      return HATCH_ERR_OUT_OF_MEMORY;
    }
  }
  if (p.horizontal) {
    uint8_t *out = p.vertical ? tmp : dst->data;
    run_pass(pool, out, in, &p.h, p.src_w, p.dst_w, p.row_count, p.row_first, false);
  }
  if (p.vertical) {
    const uint8_t *vin = p.horizontal ? tmp : in;
    int64_t origin = p.horizontal ? p.row_first : 0; /* tmp starts at source row row_first */
    run_pass(pool, dst->data, vin, &p.v, p.dst_w, p.dst_w, p.dst_h, origin, true);
  }
  if (!p.horizontal && !p.vertical) memmove(dst->data, src->data, (size_t)p.src_w * (size_t)p.src_h * 3); /* dst may be src */
  free(tmp);
  hatch_resize_plan_free(&p);
  return HATCH_OK;
}

typedef struct patchify_job {
  float *dst;         /* (n_patches, 3, temporal, patch, patch) */
  const uint8_t *src; /* (h, w, 3) */
  int64_t w, grid_w;
  int patch, temporal;
  float mean[3], std[3];
} patchify_job;

/* HF's rescale then normalize, in its float32 steps: float(u8 * (1/255) in double), then
 * (v - mean) / std in float. */
static inline float normalize_u8(uint8_t u, float mean, float std) {
  float v = (float)((double)u * (1.0 / 255.0));
  return (v - mean) / std;
}

static void patchify_rows(void *ctx, int64_t begin, int64_t end) {
  const patchify_job *j = ctx;
  int64_t pp = (int64_t)j->patch * j->patch;
  for (int64_t r = begin; r < end; r++) {
    int64_t gy = r / j->grid_w, gx = r % j->grid_w;
    float *row = j->dst + r * 3 * j->temporal * pp;
    for (int c = 0; c < 3; c++) {
      float *frame = row + c * j->temporal * pp; /* (patch, patch) of time step 0 */
      for (int py = 0; py < j->patch; py++) {
        const uint8_t *in = j->src + ((gy * j->patch + py) * j->w + gx * j->patch) * 3 + c;
        for (int px = 0; px < j->patch; px++) frame[py * j->patch + px] = normalize_u8(in[px * 3], j->mean[c], j->std[c]);
      }
      /* A still image repeats along time. */
      for (int t = 1; t < j->temporal; t++) memcpy(frame + t * pp, frame, sizeof(float) * (size_t)pp);
    }
  }
}

hatch_status hatch_cpu_image_patchify(hatch_backend *be, hatch_tensor *dst, const hatch_tensor *src,
                                      const hatch_patchify_params *p) {
  patchify_job j = {dst->data, src->data, src->ne[1], src->ne[1] / p->patch, p->patch, p->temporal,
                    {p->mean[0], p->mean[1], p->mean[2]}, {p->std[0], p->std[1], p->std[2]}};
  hatch_threadpool_run(hatch_cpu_pool(be), hatch_tensor_rows(dst), 16, patchify_rows, &j);
  return HATCH_OK;
}
