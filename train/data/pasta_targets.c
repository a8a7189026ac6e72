/* PaStA correspondence targets from depth reprojection (shared/docs/method.md section 2;
 * hatch/train_data.h states the exact rule). One pass over the source pixels: back-project with the
 * source depth, move into the target camera with one precomposed rigid transform, project, and count
 * the pixel in (source cell, target cell) when the target's depth agrees. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hatch/train_data.h"

void hatch_pasta_options_default(hatch_pasta_options *opt) {
  opt->grid = 4;
  opt->t_abs = 0.05;
  opt->t_rel = 0.02;
  opt->stride = 1;
}

static hatch_status fail(hatch_data_report *rep, hatch_status st, const char *fmt, const char *what, const char *why) {
  if (rep) {
    rep->status = st;
    snprintf(rep->message, sizeof rep->message, fmt, what, why);
  }
  return st;
}

static hatch_status check_image(const hatch_sample_image *im, const char *what, hatch_data_report *rep) {
  if (!im) return fail(rep, HATCH_ERR_INVALID_ARGUMENT, "pasta: %s%s is NULL", what, "");
  if (!im->depth) return fail(rep, HATCH_ERR_SHAPE, "pasta: %s%s has no depth", what, "");
  if (!im->has_camera) return fail(rep, HATCH_ERR_SHAPE, "pasta: %s%s has no camera", what, "");
  if (im->camera.width != im->width || im->camera.height != im->height || im->width <= 0 || im->height <= 0) {
    char why[96];
    snprintf(why, sizeof why, "%dx%d, camera %dx%d", im->width, im->height, im->camera.width, im->camera.height);
    return fail(rep, HATCH_ERR_SHAPE, "pasta: %s: image and camera sizes differ (%s)", what, why);
  }
  char why[160];
  if (hatch_pinhole_check(&im->camera, why, sizeof why) != HATCH_OK)
    return fail(rep, HATCH_ERR_CORRUPT, "pasta: %s camera: %s", what, why);
  return HATCH_OK;
}

static hatch_status check_options(const hatch_pasta_options *opt, hatch_data_report *rep) {
  if (opt->grid < 1 || opt->grid > HATCH_PASTA_MAX_GRID)
    return fail(rep, HATCH_ERR_INVALID_ARGUMENT, "pasta: %s%s", "grid must be 1..32", "");
  if (opt->stride < 1) return fail(rep, HATCH_ERR_INVALID_ARGUMENT, "pasta: %s%s", "stride must be >= 1", "");
  if (!isfinite(opt->t_abs) || opt->t_abs < 0 || !isfinite(opt->t_rel) || opt->t_rel < 0)
    return fail(rep, HATCH_ERR_INVALID_ARGUMENT, "pasta: %s%s", "t_abs and t_rel must be finite and >= 0", "");
  return HATCH_OK;
}

/* cell[k] = the grid band of pixel row (or column) k: a with floor(a*len/n) <= k < floor((a+1)*len/n). */
static void band_table(int len, int n, int *cell) {
  for (int a = 0; a < n; a++) {
    int lo = (int)((int64_t)a * len / n), hi = (int)((int64_t)(a + 1) * len / n);
    for (int k = lo; k < hi; k++) cell[k] = a;
  }
}

/* Counts for x -> y: valid[i] = valid-depth pixels of cell i; hit[i * nc + j] = consistent landings. */
static void count_map(const hatch_sample_image *x, const hatch_sample_image *y, const hatch_pasta_options *opt,
                      const int *xrow, const int *xcol, const int *yrow, const int *ycol, uint32_t *valid,
                      uint32_t *hit) {
  const int n = opt->grid, nc = n * n;
  const hatch_pinhole_camera *cx = &x->camera, *cy = &y->camera;
  /* R_rel = R_y^T R_x, t_rel = R_y^T (p_x - p_y): x's optical frame -> y's optical frame. */
  double R[9], t[3];
  for (int r = 0; r < 3; r++) {
    for (int c = 0; c < 3; c++) {
      double s = 0;
      for (int k = 0; k < 3; k++) s += cy->rotation[k * 3 + r] * cx->rotation[k * 3 + c];
      R[r * 3 + c] = s;
    }
    double s = 0;
    for (int k = 0; k < 3; k++) s += cy->rotation[k * 3 + r] * (cx->position[k] - cy->position[k]);
    t[r] = s;
  }
  const int wx = x->width, hx = x->height, wy = y->width, hy = y->height;
  const double umax = wy - 0.5, vmax = hy - 0.5;
  for (int r = 0; r < hx; r += opt->stride) {
    const double yn = (r - cx->cy) / cx->fy;
    /* The ray through (c, r) is (xn, yn, 1); R_rel * ray = xn * col0 + base. */
    const double b0 = R[1] * yn + R[2], b1 = R[4] * yn + R[5], b2 = R[7] * yn + R[8];
    const float *drow = x->depth + (size_t)r * wx; // (wx)
    const int arow = xrow[r] * n;
    for (int c = 0; c < wx; c += opt->stride) {
      const float d = drow[c];
      if (!(d > 0) || !isfinite(d)) continue;
      const int i = arow + xcol[c];
      valid[i]++;
      const double xn = (c - cx->cx) / cx->fx;
      const double pz = d * (R[6] * xn + b2) + t[2];
      if (!(pz > 1e-9)) continue;
      const double px = d * (R[0] * xn + b0) + t[0], py = d * (R[3] * xn + b1) + t[1];
      const double u = cy->fx * px / pz + cy->cx, v = cy->fy * py / pz + cy->cy;
      if (!(u >= -0.5 && u < umax && v >= -0.5 && v < vmax)) continue;
      const int uc = (int)floor(u + 0.5), vr = (int)floor(v + 0.5);
      const float dy = y->depth[(size_t)vr * wy + uc];
      if (!(dy > 0) || !isfinite(dy)) continue;
      if (fabs(pz - dy) > opt->t_abs + opt->t_rel * pz) continue;
      hit[(size_t)i * nc + yrow[vr] * n + ycol[uc]]++;
    }
  }
}

/* Both directions share the band tables; dir_xy / dir_yx say which to compute. */
static hatch_status pasta_run(const hatch_sample_image *x, const hatch_sample_image *y, const hatch_pasta_options *opt_in,
                              float *m_xy, float *m_yx, float *s, double *overlap, bool want_yx,
                              hatch_data_report *rep) {
  hatch_pasta_options opt;
  if (opt_in) opt = *opt_in;
  else hatch_pasta_options_default(&opt);
  if (rep) {
    rep->status = HATCH_OK;
    rep->message[0] = 0;
  }
  hatch_status st = check_options(&opt, rep);
  if (st == HATCH_OK) st = check_image(x, "image X", rep);
  if (st == HATCH_OK) st = check_image(y, "image Y", rep);
  if (st != HATCH_OK) return st;
  const int n = opt.grid, nc = n * n;
  st = HATCH_ERR_OUT_OF_MEMORY;
  int *bands = malloc(sizeof(int) * (size_t)(x->height + x->width + y->height + y->width));
  uint32_t *valid = calloc((size_t)2 * nc, sizeof(uint32_t));           // (2, nc): x then y
  uint32_t *hit = calloc((size_t)2 * nc * nc, sizeof(uint32_t));        // (2, nc, nc): x->y then y->x
  if (!bands || !valid || !hit) goto free_buffers;
  int *xrow = bands, *xcol = xrow + x->height, *yrow = xcol + x->width, *ycol = yrow + y->height;
  band_table(x->height, n, xrow);
  band_table(x->width, n, xcol);
  band_table(y->height, n, yrow);
  band_table(y->width, n, ycol);
  count_map(x, y, &opt, xrow, xcol, yrow, ycol, valid, hit);
  if (want_yx) count_map(y, x, &opt, yrow, ycol, xrow, xcol, valid + nc, hit + (size_t)nc * nc);
  if (overlap) {
    uint64_t v = 0, h = 0;
    for (int i = 0; i < nc; i++) v += valid[i];
    for (int k = 0; k < nc * nc; k++) h += hit[k];
    *overlap = v ? (double)h / (double)v : 0.0;
  }
  for (int i = 0; i < nc; i++)
    for (int j = 0; j < nc; j++) {
      const float fxy = valid[i] ? (float)((double)hit[(size_t)i * nc + j] / valid[i]) : 0.0f;
      if (m_xy) m_xy[(size_t)i * nc + j] = fxy;
      if (!want_yx) continue;
      const float fyx = valid[nc + i] ? (float)((double)hit[(size_t)nc * nc + (size_t)i * nc + j] / valid[nc + i]) : 0.0f;
      if (m_yx) m_yx[(size_t)i * nc + j] = fyx;
    }
  if (s) {
    /* S[i][j] = 1/2 (M_XY[i][j] + M_YX[j][i]) */
    for (int i = 0; i < nc; i++)
      for (int j = 0; j < nc; j++) {
        const double a = valid[i] ? (double)hit[(size_t)i * nc + j] / valid[i] : 0.0;
        const double b = valid[nc + j] ? (double)hit[(size_t)nc * nc + (size_t)j * nc + i] / valid[nc + j] : 0.0;
        s[(size_t)i * nc + j] = (float)(0.5 * (a + b));
      }
  }
  st = HATCH_OK;
free_buffers:
  free(hit);
  free(valid);
  free(bands);
  if (st == HATCH_ERR_OUT_OF_MEMORY && rep) {
    rep->status = st;
    snprintf(rep->message, sizeof rep->message, "pasta: out of memory");
  }
  return st;
}

hatch_status hatch_pasta_targets(const hatch_sample_image *x, const hatch_sample_image *y, const hatch_pasta_options *opt,
                                 float *m_xy, float *m_yx, float *s, hatch_data_report *report) {
  return pasta_run(x, y, opt, m_xy, m_yx, s, NULL, true, report);
}

hatch_status hatch_pasta_map(const hatch_sample_image *x, const hatch_sample_image *y, const hatch_pasta_options *opt,
                             float *m_xy, double *overlap, hatch_data_report *report) {
  return pasta_run(x, y, opt, m_xy, NULL, NULL, overlap, false, report);
}
