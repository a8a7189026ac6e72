/* ROS camera_info YAML, as camera_calibration / camera_calibration_parsers write it:
 *   image_width, image_height, camera_name, camera_matrix {rows: 3, cols: 3, data: [9]},
 *   distortion_model, distortion_coefficients {rows: 1, cols: n, data: [n]},
 *   rectification_matrix {3x3}, projection_matrix {3x4}.
 * Required: image_width, image_height, camera_matrix. distortion_model defaults to plumb_bob when
 * coefficients are given and to none otherwise; rectification defaults to I, projection to [K | 0]. */
#include <stdio.h>
#include <string.h>

#include "calib_internal.h"

static hatch_status expect_shape(calib_ctx *ctx, const ynode *n, const char *field, int rows, int cols, int want_rows,
                                 int want_cols) {
  if (rows == want_rows && cols == want_cols) return HATCH_OK;
  return calib_fail(ctx, HATCH_ERR_CORRUPT, n->line, "%s is %dx%d, expected %dx%d", field, rows, cols, want_rows,
                    want_cols);
}

hatch_status calib_read_ros(calib_ctx *ctx, const ynode *root, hatch_calib_file *out) {
  out->n_cameras = 1;
  hatch_camera_intrinsics *in = &out->cameras[0].intrinsics;
  hatch_status st = HATCH_OK;
  const ynode *n;
  long v;
  int rows, cols;

  if ((st = ymap_require(ctx, root, "image_width", "image_width", &n)) != HATCH_OK) return st;
  if ((st = ynode_int(ctx, n, "image_width", 1, HATCH_CALIB_MAX_DIM, &v)) != HATCH_OK) return st;
  in->width = (int)v;
  if ((st = ymap_require(ctx, root, "image_height", "image_height", &n)) != HATCH_OK) return st;
  if ((st = ynode_int(ctx, n, "image_height", 1, HATCH_CALIB_MAX_DIM, &v)) != HATCH_OK) return st;
  in->height = (int)v;

  if ((n = ymap_get(ctx, root, "camera_name", "camera_name", &st)) != NULL)
    st = ynode_string(ctx, n, "camera_name", in->name, sizeof(in->name));
  if (st != HATCH_OK) return st;

  double K[16]; /* room for a wrong shape, reported as such */
  const ynode *kn;
  if ((st = ymap_require(ctx, root, "camera_matrix", "camera_matrix", &kn)) != HATCH_OK) return st;
  if ((st = calib_read_matrix(ctx, kn, "camera_matrix", false, K, 16, &rows, &cols)) != HATCH_OK) return st;
  if ((st = expect_shape(ctx, kn, "camera_matrix", rows, cols, 3, 3)) != HATCH_OK) return st;
  if ((st = calib_set_camera_matrix(ctx, in, K, kn->line, "camera_matrix")) != HATCH_OK) return st;

  const ynode *dn = ymap_get(ctx, root, "distortion_coefficients", "distortion_coefficients", &st);
  if (st != HATCH_OK) return st;
  int dist_line = root->line;
  if (dn) {
    dist_line = dn->line;
    if ((st = calib_read_matrix(ctx, dn, "distortion_coefficients", false, in->dist, HATCH_CALIB_MAX_DIST, &rows,
                                &cols)) != HATCH_OK)
      return st;
    if (rows > 1 && cols > 1)
      return calib_fail(ctx, HATCH_ERR_CORRUPT, dn->line, "distortion_coefficients is %dx%d, expected 1xN", rows, cols);
    in->n_dist = rows * cols;
  }
  const ynode *mn = ymap_get(ctx, root, "distortion_model", "distortion_model", &st);
  if (st != HATCH_OK) return st;
  if (mn) {
    if ((st = ynode_string(ctx, mn, "distortion_model", in->distortion_model, sizeof(in->distortion_model))) != HATCH_OK)
      return st;
    if (!dn) dist_line = mn->line;
  } else {
    snprintf(in->distortion_model, sizeof(in->distortion_model), "%s", in->n_dist ? "plumb_bob" : "none");
  }

  const ynode *rn = ymap_get(ctx, root, "rectification_matrix", "rectification_matrix", &st);
  if (st != HATCH_OK) return st;
  if (rn) {
    double R[16];
    if ((st = calib_read_matrix(ctx, rn, "rectification_matrix", false, R, 16, &rows, &cols)) != HATCH_OK) return st;
    if ((st = expect_shape(ctx, rn, "rectification_matrix", rows, cols, 3, 3)) != HATCH_OK) return st;
    memcpy(in->rect, R, sizeof(in->rect));
    char why[96];
    if (!pose_rotation_ok(in->rect, 3, why, sizeof(why)))
      return calib_fail(ctx, HATCH_ERR_CORRUPT, rn->line, "rectification_matrix is not a rotation: %s", why);
  }
  const ynode *pn = ymap_get(ctx, root, "projection_matrix", "projection_matrix", &st);
  if (st != HATCH_OK) return st;
  if (pn) {
    double P[16];
    if ((st = calib_read_matrix(ctx, pn, "projection_matrix", false, P, 16, &rows, &cols)) != HATCH_OK) return st;
    if ((st = expect_shape(ctx, pn, "projection_matrix", rows, cols, 3, 4)) != HATCH_OK) return st;
    memcpy(in->proj, P, sizeof(in->proj));
  }
  calib_default_rect_proj(in, rn != NULL, pn != NULL);
  return calib_finish_intrinsics(ctx, in, root->line, "", "distortion_coefficients", dist_line);
}
