/* Camera poses of the synthetic world: yaw/pitch -> optical axes in the world, point transforms, and
 * the relative pose between two views through the project's one pose convention (hatch_pose_relative
 * on 4x4 camera-to-world transforms, hatch/calibration.h). */
#include <stddef.h>

#include "hatch/calibration.h"
#include "sim/sim_internal.h"

const char *hatch_sim_setting_name(hatch_sim_setting s) {
  switch (s) {
  case HATCH_SIM_ROTATION: return "rotation";
  case HATCH_SIM_AROUND: return "around";
  case HATCH_SIM_AMONG: return "among";
  case HATCH_SIM_FREE: return "free";
  default: return NULL;
  }
}

const char *hatch_sim_shape_name(hatch_sim_shape s) {
  switch (s) {
  case HATCH_SIM_BOX: return "box";
  case HATCH_SIM_CYLINDER: return "cylinder";
  case HATCH_SIM_SPHERE: return "sphere";
  case HATCH_SIM_CONE: return "cone";
  default: return NULL;
  }
}

void hatch_sim_camera_matrix(const hatch_sim_camera *cam, double rotation[9], double position[3]) {
  double cy = cos(cam->yaw_deg * SIM_DEG), sy = sin(cam->yaw_deg * SIM_DEG);
  double cp = cos(cam->pitch_deg * SIM_DEG), sp = sin(cam->pitch_deg * SIM_DEG);
  /* Yaw is a right-handed turn about world +y applied to the north-facing camera (forward -z). */
  const double f[3] = {-sy * cp, sp, -cy * cp}; /* optical z: forward */
  const double r[3] = {cy, 0, -sy};             /* optical x: right (horizontal, no roll) */
  const double d[3] = {f[1] * r[2] - f[2] * r[1], f[2] * r[0] - f[0] * r[2], f[0] * r[1] - f[1] * r[0]}; /* y = z x x */
  for (int i = 0; i < 3; i++) {
    rotation[i * 3 + 0] = r[i];
    rotation[i * 3 + 1] = d[i];
    rotation[i * 3 + 2] = f[i];
    if (position) position[i] = cam->position[i];
  }
}

void hatch_sim_world_to_camera(const hatch_sim_camera *cam, const double world[3], double out[3]) {
  double R[9];
  hatch_sim_camera_matrix(cam, R, NULL);
  double d[3] = {world[0] - cam->position[0], world[1] - cam->position[1], world[2] - cam->position[2]};
  double o[3];
  for (int j = 0; j < 3; j++) o[j] = R[0 * 3 + j] * d[0] + R[1 * 3 + j] * d[1] + R[2 * 3 + j] * d[2]; /* R^T d */
  for (int j = 0; j < 3; j++) out[j] = o[j];
}

void hatch_sim_camera_to_world(const hatch_sim_camera *cam, const double cam_pt[3], double out[3]) {
  double R[9];
  hatch_sim_camera_matrix(cam, R, NULL);
  double o[3];
  for (int i = 0; i < 3; i++)
    o[i] = R[i * 3 + 0] * cam_pt[0] + R[i * 3 + 1] * cam_pt[1] + R[i * 3 + 2] * cam_pt[2] + cam->position[i];
  for (int i = 0; i < 3; i++) out[i] = o[i];
}

/* (4, 4) row-major camera-to-world transform. */
static void camera_transform(const hatch_sim_camera *cam, double T[16]) {
  double R[9], p[3];
  hatch_sim_camera_matrix(cam, R, p);
  hatch_pose_identity(T);
  for (int i = 0; i < 3; i++) {
    for (int j = 0; j < 3; j++) T[i * 4 + j] = R[i * 3 + j];
    T[i * 4 + 3] = p[i];
  }
}

void hatch_sim_relative_pose(const hatch_sim_camera *from, const hatch_sim_camera *to, hatch_relative_pose *out) {
  double Ta[16], Tb[16];
  camera_transform(from, Ta);
  camera_transform(to, Tb);
  hatch_pose_relative(Ta, Tb, out);
}

void sim_pixel_ray(const hatch_sim_camera *cam, const double R[9], double u, double v, double dir[3]) {
  double x = (u - cam->cx) / cam->fx, y = (v - cam->cy) / cam->fy;
  for (int i = 0; i < 3; i++) dir[i] = R[i * 3 + 0] * x + R[i * 3 + 1] * y + R[i * 3 + 2];
}
