/* OpenCV cv::FileStorage YAML as samples/cpp/calibration.cpp writes it:
 *   %YAML:1.0
 *   ---
 *   image_width: 640
 *   image_height: 480
 *   camera_matrix: !!opencv-matrix {rows: 3, cols: 3, dt: d, data: [9]}
 *   distortion_coefficients: !!opencv-matrix {rows: 5, cols: 1, dt: d, data: [5]}
 * plus fields hatch ignores (nframes, avg_reprojection_error, extrinsic_parameters, ...).
 * Aliases seen in the wild: cameraMatrix / K for the camera matrix, distCoeffs / dist_coeffs / D for
 * the coefficients, image_size / imageSize: [w, h] for the size; a matrix may also be a plain list.
 * The model follows from the count (0 none, 4/5 plumb_bob, 8/12/14 rational_polynomial) unless an
 * optional distortion_model field names it (e.g. equidistant for cv::fisheye files). */
#include <stdio.h>
#include <string.h>

#include "calib_internal.h"

/* The first of keys present in map (its name in *key), NULL when none. */
static const ynode *get_any(calib_ctx *ctx, const ynode *map, const char *const *keys, const char **key,
                            hatch_status *st) {
  for (const char *const *k = keys; *k; k++) {
    const ynode *n = ymap_get(ctx, map, *k, *k, st);
    if (*st != HATCH_OK) return NULL;
    if (n) {
      *key = *k;
      return n;
    }
  }
  return NULL;
}

/* A matrix as !!opencv-matrix (or any {rows, cols, data} mapping) or as a plain list. */
static hatch_status read_any_matrix(calib_ctx *ctx, const ynode *n, const char *field, double *out, int cap,
                                    int *rows, int *cols) {
  if (n->kind == YDOC_MAP) return calib_read_matrix(ctx, n, field, n->tag != NULL, out, cap, rows, cols);
  if (n->kind == YDOC_SCALAR)
    return calib_fail(ctx, HATCH_ERR_CORRUPT, n->line, "%s is the scalar '%.40s', expected a matrix", field, n->value);
  int count = 0;
  hatch_status st = ynode_numbers(ctx, n, field, true, out, cap, -1, &count);
  if (st != HATCH_OK) return st;
  *rows = 1;
  *cols = count;
  if (n->first && n->first->kind == YDOC_SEQ) { /* nested: rows of the list */
    *rows = n->n_children;
    *cols = n->n_children ? count / n->n_children : 0;
  }
  return HATCH_OK;
}

static hatch_status read_size(calib_ctx *ctx, const ynode *root, hatch_camera_intrinsics *in) {
  hatch_status st = HATCH_OK;
  const ynode *w = ymap_get(ctx, root, "image_width", "image_width", &st);
  if (st != HATCH_OK) return st;
  const ynode *h = ymap_get(ctx, root, "image_height", "image_height", &st);
  if (st != HATCH_OK) return st;
  long v;
  if (w || h) {
    if (!w) return calib_fail(ctx, HATCH_ERR_CORRUPT, root->line, "image_width is missing");
    if (!h) return calib_fail(ctx, HATCH_ERR_CORRUPT, root->line, "image_height is missing");
    if ((st = ynode_int(ctx, w, "image_width", 1, HATCH_CALIB_MAX_DIM, &v)) != HATCH_OK) return st;
    in->width = (int)v;
    if ((st = ynode_int(ctx, h, "image_height", 1, HATCH_CALIB_MAX_DIM, &v)) != HATCH_OK) return st;
    in->height = (int)v;
    return HATCH_OK;
  }
  static const char *const size_keys[] = {"image_size", "imageSize", NULL};
  const char *key = NULL;
  const ynode *s = get_any(ctx, root, size_keys, &key, &st);
  if (st != HATCH_OK) return st;
  if (!s)
    return calib_fail(ctx, HATCH_ERR_CORRUPT, root->line,
                      "image_width is missing (OpenCV files need image_width and image_height, or image_size)");
  double wh[2];
  if ((st = ynode_numbers(ctx, s, key, false, wh, 2, 2, NULL)) != HATCH_OK) return st;
  if (wh[0] != (int)wh[0] || wh[1] != (int)wh[1] || wh[0] < 1 || wh[1] < 1 || wh[0] > HATCH_CALIB_MAX_DIM ||
      wh[1] > HATCH_CALIB_MAX_DIM)
    return calib_fail(ctx, HATCH_ERR_CORRUPT, s->line, "%s is [%g, %g], expected whole numbers in 1..%d", key, wh[0],
                      wh[1], HATCH_CALIB_MAX_DIM);
  in->width = (int)wh[0];
  in->height = (int)wh[1];
  return HATCH_OK;
}

hatch_status calib_read_opencv(calib_ctx *ctx, const ynode *root, hatch_calib_file *out) {
  out->n_cameras = 1;
  hatch_camera_intrinsics *in = &out->cameras[0].intrinsics;
  hatch_status st = read_size(ctx, root, in);
  if (st != HATCH_OK) return st;
  int rows, cols;
  const char *key = NULL;

  static const char *const k_keys[] = {"camera_matrix", "cameraMatrix", "K", NULL};
  const ynode *kn = get_any(ctx, root, k_keys, &key, &st);
  if (st != HATCH_OK) return st;
  if (!kn) return calib_fail(ctx, HATCH_ERR_CORRUPT, root->line, "camera_matrix is missing (also looked for cameraMatrix, K)");
  double K[9];
  if ((st = read_any_matrix(ctx, kn, key, K, 9, &rows, &cols)) != HATCH_OK) return st;
  if (rows * cols != 9 || (rows != 3 && rows != 1))
    return calib_fail(ctx, HATCH_ERR_CORRUPT, kn->line, "%s is %dx%d, expected 3x3", key, rows, cols);
  if ((st = calib_set_camera_matrix(ctx, in, K, kn->line, key)) != HATCH_OK) return st;

  static const char *const d_keys[] = {"distortion_coefficients", "distCoeffs", "dist_coeffs", "D", NULL};
  const char *dkey = "distortion_coefficients";
  const ynode *dn = get_any(ctx, root, d_keys, &dkey, &st);
  if (st != HATCH_OK) return st;
  int dist_line = root->line;
  if (dn) {
    dist_line = dn->line;
    if ((st = read_any_matrix(ctx, dn, dkey, in->dist, HATCH_CALIB_MAX_DIST, &rows, &cols)) != HATCH_OK) return st;
    if (rows > 1 && cols > 1)
      return calib_fail(ctx, HATCH_ERR_CORRUPT, dn->line, "%s is %dx%d, expected 1xN or Nx1", dkey, rows, cols);
    in->n_dist = rows * cols;
  }
  const ynode *mn = ymap_get(ctx, root, "distortion_model", "distortion_model", &st);
  if (st != HATCH_OK) return st;
  if (mn) {
    if ((st = ynode_string(ctx, mn, "distortion_model", in->distortion_model, sizeof(in->distortion_model))) != HATCH_OK)
      return st;
  } else {
    const char *model = NULL;
    switch (in->n_dist) {
      case 0: model = "none"; break;
      case 4:
      case 5: model = "plumb_bob"; break;
      case 8:
      case 12:
      case 14: model = "rational_polynomial"; break;
      default:
        return calib_fail(ctx, HATCH_ERR_CORRUPT, dist_line,
                          "%s has %d numbers; OpenCV's models have 4, 5, 8, 12 or 14", dkey, in->n_dist);
    }
    snprintf(in->distortion_model, sizeof(in->distortion_model), "%s", model);
  }

  if ((kn = ymap_get(ctx, root, "camera_name", "camera_name", &st)) != NULL)
    st = ynode_string(ctx, kn, "camera_name", in->name, sizeof(in->name));
  if (st != HATCH_OK) return st;

  const ynode *rn = ymap_get(ctx, root, "rectification_matrix", "rectification_matrix", &st);
  if (st != HATCH_OK) return st;
  if (rn) {
    if ((st = read_any_matrix(ctx, rn, "rectification_matrix", in->rect, 9, &rows, &cols)) != HATCH_OK) return st;
    if (rows * cols != 9)
      return calib_fail(ctx, HATCH_ERR_CORRUPT, rn->line, "rectification_matrix is %dx%d, expected 3x3", rows, cols);
    char why[96];
    if (!pose_rotation_ok(in->rect, 3, why, sizeof(why)))
      return calib_fail(ctx, HATCH_ERR_CORRUPT, rn->line, "rectification_matrix is not a rotation: %s", why);
  }
  const ynode *pn = ymap_get(ctx, root, "projection_matrix", "projection_matrix", &st);
  if (st != HATCH_OK) return st;
  if (pn) {
    if ((st = read_any_matrix(ctx, pn, "projection_matrix", in->proj, 12, &rows, &cols)) != HATCH_OK) return st;
    if (rows * cols != 12)
      return calib_fail(ctx, HATCH_ERR_CORRUPT, pn->line, "projection_matrix is %dx%d, expected 3x4", rows, cols);
  }
  calib_default_rect_proj(in, rn != NULL, pn != NULL);
  return calib_finish_intrinsics(ctx, in, root->line, "", dkey, dist_line);
}
