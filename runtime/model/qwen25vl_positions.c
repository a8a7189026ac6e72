/* Host-side index math of Qwen2.5-VL: image sizes (smart_resize), the window order of the vision
 * tower (get_window_index) and the M-RoPE positions of a prompt (get_rope_index). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/qwen25vl_internal.h"

hatch_status hatch_model_image_size(const hatch_model *m, int w, int h, int *out_w, int *out_h) {
  if (!m || w <= 0 || h <= 0 || !out_w || !out_h) return HATCH_ERR_INVALID_ARGUMENT;
  double factor = m->dv.pixel_multiple;
  if ((double)(w > h ? w : h) / (double)(w < h ? w : h) > 200.0) return HATCH_ERR_SHAPE;
  /* Python's round() is round-half-to-even: nearbyint in the default rounding mode. */
  double hb = nearbyint(h / factor) * factor, wb = nearbyint(w / factor) * factor;
  double min_px = (double)m->cfg.preprocess.min_pixels, max_px = (double)m->cfg.preprocess.max_pixels;
  if (hb * wb > max_px) {
    double beta = sqrt((double)h * w / max_px);
    hb = fmax(factor, floor(h / beta / factor) * factor);
    wb = fmax(factor, floor(w / beta / factor) * factor);
  } else if (hb * wb < min_px) {
    double beta = sqrt(min_px / ((double)h * w));
    hb = ceil(h * beta / factor) * factor;
    wb = ceil(w * beta / factor) * factor;
  }
  if (hb < factor || wb < factor || hb > 65536 || wb > 65536) return HATCH_ERR_SHAPE;
  *out_w = (int)wb;
  *out_h = (int)hb;
  return HATCH_OK;
}

int hatch_qwen25vl_window_order(int merged_h, int merged_w, int ws, int32_t *order, int32_t *bounds) {
  /* Pad the merged grid up to whole windows (Qwen pads by ws - h % ws: a full extra window row when
   * h % ws == 0, which holds nothing and is dropped with the other empty windows). */
  int pad_h = ws - merged_h % ws, pad_w = ws - merged_w % ws;
  int nwh = (merged_h + pad_h) / ws, nww = (merged_w + pad_w) / ws;
  int n = 0, n_windows = 0;
  bounds[0] = 0;
  for (int wy = 0; wy < nwh; wy++)
    for (int wx = 0; wx < nww; wx++) {
      int count = 0;
      for (int y = wy * ws; y < (wy + 1) * ws; y++)
        for (int x = wx * ws; x < (wx + 1) * ws; x++)
          if (y < merged_h && x < merged_w) order[n++] = y * merged_w + x, count++;
      if (count == 0) continue; /* unique_consecutive drops the repeated bound */
      n_windows++;
      bounds[n_windows] = bounds[n_windows - 1] + 4 * count; /* in patches: 4 per merged token */
    }
  return n_windows;
}

hatch_status hatch_model_rope_positions(const hatch_model *m, const int32_t *ids, int n, const int *grid_h,
                                        const int *grid_w, int n_images, int32_t *pos, int32_t *next) {
  if (!m || (!ids && n) || !pos || n < 0 || n_images < 0) return HATCH_ERR_INVALID_ARGUMENT;
  int32_t image_id = m->cfg.image_token_id;
  int32_t cur = 0; /* next text position */
  int img = 0;
  for (int i = 0; i < n;) {
    if (ids[i] != image_id) {
      for (int c = 0; c < 3; c++) pos[c * n + i] = cur;
      cur++, i++;
      continue;
    }
    if (img >= n_images) return HATCH_ERR_SHAPE;
    int gh = grid_h[img], gw = grid_w[img];
    if (gh <= 0 || gw <= 0 || i + gh * gw > n) return HATCH_ERR_SHAPE;
    int32_t maxp = cur;
    for (int r = 0; r < gh; r++)
      for (int q = 0; q < gw; q++) {
        int k = i + r * gw + q;
        if (ids[k] != image_id) return HATCH_ERR_SHAPE;
        pos[0 * n + k] = cur;      /* t: 0 for a still image */
        pos[1 * n + k] = cur + r;  /* h */
        pos[2 * n + k] = cur + q;  /* w */
        if (cur + r > maxp) maxp = cur + r;
        if (cur + q > maxp) maxp = cur + q;
      }
    i += gh * gw;
    if (i < n && ids[i] == image_id) return HATCH_ERR_SHAPE; /* more image tokens than the grid */
    cur = maxp + 1;
    img++;
  }
  if (img != n_images) return HATCH_ERR_SHAPE;
  if (next) *next = cur;
  return HATCH_OK;
}
