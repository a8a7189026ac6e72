/* Kalibr camchain.yaml: cam0, cam1, ... each
 *   camera_model: pinhole            (omni, ds, eucm: HATCH_ERR_UNSUPPORTED)
 *   intrinsics: [fu, fv, pu, pv]
 *   distortion_model: radtan | equidistant | none   (radtan -> plumb_bob, 4 coefficients)
 *   distortion_coeffs: [...]
 *   resolution: [width, height]
 *   rostopic: /cam0/image_raw         (optional)
 *   T_cn_cnm1: 4x4 rows               (cam1..: cam(n-1) -> cam(n), p_cn = T_cn_cnm1 p_cnm1)
 * Other keys (cam_overlaps, T_cam_imu, timeshift_cam_imu, ...) are ignored. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calib_internal.h"

static hatch_status read_camera(calib_ctx *ctx, const ynode *cam, int index, hatch_calib_camera *out) {
  hatch_camera_intrinsics *in = &out->intrinsics;
  char cname[16], field[64];
  snprintf(cname, sizeof(cname), "cam%d", index);
  snprintf(in->name, sizeof(in->name), "%s", cname);
  hatch_status st = ynode_expect(ctx, cam, YDOC_MAP, cname);
  if (st != HATCH_OK) return st;
  const ynode *n;

  snprintf(field, sizeof(field), "%s.camera_model", cname);
  if ((n = ymap_get(ctx, cam, "camera_model", field, &st)) != NULL) {
    char model[32];
    if ((st = ynode_string(ctx, n, field, model, sizeof(model))) != HATCH_OK) return st;
    if (strcmp(model, "pinhole") != 0)
      return calib_fail(ctx, HATCH_ERR_UNSUPPORTED, n->line, "%s is '%s'; hatch reads pinhole cameras only", field,
                        model);
  }
  if (st != HATCH_OK) return st;

  double k[4];
  snprintf(field, sizeof(field), "%s.intrinsics", cname);
  if ((st = ymap_require(ctx, cam, "intrinsics", field, &n)) != HATCH_OK) return st;
  if ((st = ynode_numbers(ctx, n, field, false, k, 4, 4, NULL)) != HATCH_OK) return st;
  const double K[9] = {k[0], 0, k[2], 0, k[1], k[3], 0, 0, 1};
  if ((st = calib_set_camera_matrix(ctx, in, K, n->line, field)) != HATCH_OK) return st;

  double wh[2];
  snprintf(field, sizeof(field), "%s.resolution", cname);
  if ((st = ymap_require(ctx, cam, "resolution", field, &n)) != HATCH_OK) return st;
  if ((st = ynode_numbers(ctx, n, field, false, wh, 2, 2, NULL)) != HATCH_OK) return st;
  if (wh[0] != (int)wh[0] || wh[1] != (int)wh[1] || wh[0] < 1 || wh[1] < 1 || wh[0] > HATCH_CALIB_MAX_DIM ||
      wh[1] > HATCH_CALIB_MAX_DIM)
    return calib_fail(ctx, HATCH_ERR_CORRUPT, n->line, "%s is [%g, %g], expected whole numbers in 1..%d", field, wh[0],
                      wh[1], HATCH_CALIB_MAX_DIM);
  in->width = (int)wh[0];
  in->height = (int)wh[1];

  snprintf(field, sizeof(field), "%s.distortion_model", cname);
  if ((st = ymap_require(ctx, cam, "distortion_model", field, &n)) != HATCH_OK) return st;
  if ((st = ynode_string(ctx, n, field, in->distortion_model, sizeof(in->distortion_model))) != HATCH_OK) return st;
  char dfield[64];
  snprintf(dfield, sizeof(dfield), "%s.distortion_coeffs", cname);
  const ynode *dn = ymap_get(ctx, cam, "distortion_coeffs", dfield, &st);
  if (st != HATCH_OK) return st;
  int dist_line = n->line;
  if (dn) {
    if ((st = ynode_numbers(ctx, dn, dfield, false, in->dist, HATCH_CALIB_MAX_DIST, -1, &in->n_dist)) != HATCH_OK)
      return st;
    dist_line = dn->line;
  }

  snprintf(field, sizeof(field), "%s.rostopic", cname);
  if ((n = ymap_get(ctx, cam, "rostopic", field, &st)) != NULL)
    st = ynode_string(ctx, n, field, out->rostopic, sizeof(out->rostopic));
  if (st != HATCH_OK) return st;

  snprintf(field, sizeof(field), "%s.T_cn_cnm1", cname);
  if (index > 0 && (n = ymap_get(ctx, cam, "T_cn_cnm1", field, &st)) != NULL) {
    if ((st = ynode_numbers(ctx, n, field, true, out->T_cn_cnm1, 16, 16, NULL)) != HATCH_OK) return st;
    char why[96];
    if (hatch_pose_validate(out->T_cn_cnm1, why, sizeof(why)) != HATCH_OK)
      return calib_fail(ctx, HATCH_ERR_CORRUPT, n->line, "%s is not a rigid transform: %s", field, why);
    out->has_T_cn_cnm1 = true;
  }
  if (st != HATCH_OK) return st;

  calib_default_rect_proj(in, false, false);
  char prefix[20];
  snprintf(prefix, sizeof(prefix), "%s.", cname);
  return calib_finish_intrinsics(ctx, in, cam->line, prefix, dfield, dist_line);
}

/* "cam<digits>" -> index, -1 for other keys. */
static long cam_index(const char *key) {
  if (strncmp(key, "cam", 3) != 0 || key[3] < '0' || key[3] > '9') return -1;
  char *end = NULL;
  long v = strtol(key + 3, &end, 10);
  return *end == '\0' && v >= 0 && v < 1000000 ? v : -1;
}

hatch_status calib_read_kalibr(calib_ctx *ctx, const ynode *root, hatch_calib_file *out) {
  hatch_status st = HATCH_OK;
  long max_index = -1;
  int count = 0;
  const ynode *over = NULL;
  for (const ynode *k = root->first; k && k->next; k = k->next->next) {
    long i = k->kind == YDOC_SCALAR ? cam_index(k->value) : -1;
    if (i < 0) continue;
    count++;
    if (i > max_index) max_index = i;
    if (i >= HATCH_CALIB_MAX_CAMERAS && !over) over = k;
  }
  if (count == 0) return calib_fail(ctx, HATCH_ERR_CORRUPT, root->line, "cam0 is missing (not a Kalibr camchain?)");
  if (over)
    return calib_fail(ctx, HATCH_ERR_TOO_LARGE, over->line, "%s: hatch reads at most %d cameras", over->value,
                      HATCH_CALIB_MAX_CAMERAS);
  for (int i = 0; i <= max_index; i++) {
    char key[16];
    snprintf(key, sizeof(key), "cam%d", i);
    const ynode *cam = ymap_get(ctx, root, key, key, &st);
    if (st != HATCH_OK) return st;
    if (!cam)
      return calib_fail(ctx, HATCH_ERR_CORRUPT, root->line, "%s is missing (cameras must be cam0..cam%ld)", key,
                        max_index);
    if ((st = read_camera(ctx, cam, i, &out->cameras[i])) != HATCH_OK) return st;
  }
  if (count != max_index + 1) /* e.g. "cam01" beside "cam1" */
    return calib_fail(ctx, HATCH_ERR_CORRUPT, root->line, "camera keys are not exactly cam0..cam%ld", max_index);
  out->n_cameras = (int)max_index + 1;
  return HATCH_OK;
}
