/* Pinhole camera helpers (hatch/train_data.h): poses as 4x4 camera-to-world, relative poses through
 * hatch/calibration.h (the project's one pose convention), projection and back-projection, and the
 * ActoR teacher string for a relative pose. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "hatch/calibration.h"
#include "hatch/train_data.h"

void hatch_pinhole_pose_from_rt(const double rotation[9], const double position[3], double T_w_c[16]) {
  for (int r = 0; r < 3; r++) {
    for (int c = 0; c < 3; c++) T_w_c[r * 4 + c] = rotation[r * 3 + c];
    T_w_c[r * 4 + 3] = position[r];
  }
  T_w_c[12] = T_w_c[13] = T_w_c[14] = 0;
  T_w_c[15] = 1;
}

void hatch_pinhole_pose_to_camera(const double T_w_c[16], hatch_pinhole_camera *cam) {
  for (int r = 0; r < 3; r++) {
    for (int c = 0; c < 3; c++) cam->rotation[r * 3 + c] = T_w_c[r * 4 + c];
    cam->position[r] = T_w_c[r * 4 + 3];
  }
}

void hatch_pinhole_pose(const hatch_pinhole_camera *cam, double T_w_c[16]) {
  hatch_pinhole_pose_from_rt(cam->rotation, cam->position, T_w_c);
}

void hatch_pinhole_relative_pose(const hatch_pinhole_camera *a, const hatch_pinhole_camera *b, hatch_relative_pose *out) {
  double Ta[16], Tb[16];
  hatch_pinhole_pose(a, Ta);
  hatch_pinhole_pose(b, Tb);
  hatch_pose_relative(Ta, Tb, out);
}

hatch_status hatch_pinhole_check(const hatch_pinhole_camera *cam, char *why, size_t why_size) {
  char tmp[160];
  if (!why) {
    why = tmp;
    why_size = sizeof tmp;
  }
  why[0] = 0;
  if (cam->width < 1 || cam->width > HATCH_DATA_MAX_DIM || cam->height < 1 || cam->height > HATCH_DATA_MAX_DIM) {
    snprintf(why, why_size, "size %dx%d is outside 1..%d", cam->width, cam->height, HATCH_DATA_MAX_DIM);
    return HATCH_ERR_CORRUPT;
  }
  if (!isfinite(cam->fx) || cam->fx <= 0) {
    snprintf(why, why_size, "fx must be > 0 (got %g)", cam->fx);
    return HATCH_ERR_CORRUPT;
  }
  if (!isfinite(cam->fy) || cam->fy <= 0) {
    snprintf(why, why_size, "fy must be > 0 (got %g)", cam->fy);
    return HATCH_ERR_CORRUPT;
  }
  if (!isfinite(cam->cx) || !isfinite(cam->cy)) {
    snprintf(why, why_size, "cx, cy must be finite");
    return HATCH_ERR_CORRUPT;
  }
  double T[16];
  hatch_pinhole_pose(cam, T);
  char reason[128];
  if (hatch_pose_validate(T, reason, sizeof reason) != HATCH_OK) {
    snprintf(why, why_size, "pose: %s", reason);
    return HATCH_ERR_CORRUPT;
  }
  return HATCH_OK;
}

void hatch_pinhole_back_project(const hatch_pinhole_camera *cam, double u, double v, double depth, double p_world[3]) {
  const double pc[3] = {(u - cam->cx) / cam->fx * depth, (v - cam->cy) / cam->fy * depth, depth};
  const double *R = cam->rotation;
  for (int r = 0; r < 3; r++) p_world[r] = R[r * 3] * pc[0] + R[r * 3 + 1] * pc[1] + R[r * 3 + 2] * pc[2] + cam->position[r];
}

bool hatch_pinhole_project(const hatch_pinhole_camera *cam, const double p_world[3], double *u, double *v, double *z) {
  const double d[3] = {p_world[0] - cam->position[0], p_world[1] - cam->position[1], p_world[2] - cam->position[2]};
  const double *R = cam->rotation;
  double pc[3]; /* R^T d: the point in the camera's optical frame */
  for (int c = 0; c < 3; c++) pc[c] = R[c] * d[0] + R[3 + c] * d[1] + R[6 + c] * d[2];
  if (!(pc[2] > 1e-9)) return false;
  *u = cam->fx * pc[0] / pc[2] + cam->cx;
  *v = cam->fy * pc[1] / pc[2] + cam->cy;
  if (z) *z = pc[2];
  return true;
}

hatch_status hatch_data_action_string(const hatch_relative_pose *pose, int from, int to, char *buf, size_t cap) {
  if (!pose || !buf || cap == 0) return HATCH_ERR_INVALID_ARGUMENT;
  hatch_plan plan;
  memset(&plan, 0, sizeof plan);
  plan.n_steps = 1;
  plan.steps[0].from = from;
  plan.steps[0].to = to;
  plan.steps[0].n_actions = hatch_plan_actions_from_pose(pose, plan.steps[0].actions);
  plan.choice = 'A';
  plan.text[0] = 'x';
  char full[HATCH_SAMPLE_MAX_ACTION + 64];
  size_t n = hatch_plan_format(&plan, full, sizeof full);
  if (n >= sizeof full) return HATCH_ERR_TOO_LARGE;
  char *end = strstr(full, "</action>");
  if (!end) return HATCH_ERR_CORRUPT;
  size_t len = (size_t)(end - full) + strlen("</action>");
  if (len + 1 > cap) {
    buf[0] = 0;
    return HATCH_ERR_TOO_LARGE;
  }
  memcpy(buf, full, len);
  buf[len] = 0;
  return HATCH_OK;
}
