/* Rigid transforms (row-major 4x4), mount angles -> optical-frame poses, and the plan's
 * relative_pose between two cameras. Pure functions, no allocation. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "calib_internal.h"

#define PI 3.14159265358979323846
#define DEG (PI / 180.0)

void hatch_pose_identity(double T[16]) {
  memset(T, 0, 16 * sizeof(double));
  T[0] = T[5] = T[10] = T[15] = 1;
}

void hatch_pose_mul(const double A[16], const double B[16], double out[16]) {
  double r[16];
  for (int i = 0; i < 4; i++)
    for (int j = 0; j < 4; j++) {
      double s = 0;
      for (int k = 0; k < 4; k++) s += A[i * 4 + k] * B[k * 4 + j];
      r[i * 4 + j] = s;
    }
  memcpy(out, r, sizeof(r));
}

void hatch_pose_invert_rigid(const double T[16], double out[16]) {
  double r[16];
  for (int i = 0; i < 3; i++) {
    for (int j = 0; j < 3; j++) r[i * 4 + j] = T[j * 4 + i]; /* R^T */
    r[i * 4 + 3] = -(T[0 * 4 + i] * T[3] + T[1 * 4 + i] * T[7] + T[2 * 4 + i] * T[11]);
  }
  r[12] = r[13] = r[14] = 0;
  r[15] = 1;
  memcpy(out, r, sizeof(r));
}

/* The camera's optical axes in its mount frame (x forward, y left, z up): x_o = -y, y_o = -z,
 * z_o = +x, i.e. rpy (-90, 0, -90) deg as every ROS camera driver publishes it. (3, 3) row-major. */
static const double R_LINK_OPTICAL[9] = {0, 0, 1, -1, 0, 0, 0, -1, 0};

static void pose_from_mount_R(const double t[3], const double R[9], double out[16]) {
  hatch_pose_identity(out);
  for (int i = 0; i < 3; i++) {
    for (int j = 0; j < 3; j++) {
      double s = 0;
      for (int k = 0; k < 3; k++) s += R[i * 3 + k] * R_LINK_OPTICAL[k * 3 + j];
      out[i * 4 + j] = s;
    }
    out[i * 4 + 3] = t[i];
  }
}

void hatch_pose_from_mount_rpy_deg(const double translation[3], const double rpy_deg[3], double out[16]) {
  double cr = cos(rpy_deg[0] * DEG), sr = sin(rpy_deg[0] * DEG);
  double cp = cos(rpy_deg[1] * DEG), sp = sin(rpy_deg[1] * DEG);
  double cy = cos(rpy_deg[2] * DEG), sy = sin(rpy_deg[2] * DEG);
  const double R[9] = { /* Rz(yaw) Ry(pitch) Rx(roll) */
      cy * cp, cy * sp * sr - sy * cr, cy * sp * cr + sy * sr,
      sy * cp, sy * sp * sr + cy * cr, sy * sp * cr - cy * sr,
      -sp,     cp * sr,                cp * cr};
  pose_from_mount_R(translation, R, out);
}

hatch_status hatch_pose_from_mount_quaternion(const double translation[3], const double q_xyzw[4], double out[16]) {
  double x = q_xyzw[0], y = q_xyzw[1], z = q_xyzw[2], w = q_xyzw[3];
  double norm = sqrt(x * x + y * y + z * z + w * w);
  if (!isfinite(norm) || fabs(norm - 1) > 1e-3) return HATCH_ERR_INVALID_ARGUMENT;
  x /= norm, y /= norm, z /= norm, w /= norm;
  const double R[9] = {
      1 - 2 * (y * y + z * z), 2 * (x * y - z * w),     2 * (x * z + y * w),
      2 * (x * y + z * w),     1 - 2 * (x * x + z * z), 2 * (y * z - x * w),
      2 * (x * z - y * w),     2 * (y * z + x * w),     1 - 2 * (x * x + y * y)};
  pose_from_mount_R(translation, R, out);
  return HATCH_OK;
}

bool pose_rotation_ok(const double *R, int stride, char *why, size_t why_size) {
  double worst = 0;
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < 3; j++) {
      double s = 0; /* (R^T R)_ij: columns i and j */
      for (int k = 0; k < 3; k++) s += R[k * stride + i] * R[k * stride + j];
      double e = fabs(s - (i == j ? 1.0 : 0.0));
      if (!(e <= worst)) worst = e; /* NaN sticks */
    }
  double det = R[0] * (R[stride + 1] * R[2 * stride + 2] - R[stride + 2] * R[2 * stride + 1]) -
               R[1] * (R[stride] * R[2 * stride + 2] - R[stride + 2] * R[2 * stride]) +
               R[2] * (R[stride] * R[2 * stride + 1] - R[stride + 1] * R[2 * stride]);
  if (!(worst <= HATCH_CALIB_ORTHO_TOL)) {
    if (why) snprintf(why, why_size, "rotation not orthonormal (|R^T R - I| = %.3g)", worst);
    return false;
  }
  if (!(fabs(det - 1) <= HATCH_CALIB_ORTHO_TOL)) {
    if (why) snprintf(why, why_size, "rotation has det %.3g, expected +1 (a reflection)", det);
    return false;
  }
  return true;
}

hatch_status hatch_pose_validate(const double T[16], char *why, size_t why_size) {
  for (int i = 0; i < 16; i++)
    if (!isfinite(T[i])) {
      if (why) snprintf(why, why_size, "element %d (row %d, column %d) is not finite", i, i / 4, i % 4);
      return HATCH_ERR_CORRUPT;
    }
  if (fabs(T[12]) > 1e-9 || fabs(T[13]) > 1e-9 || fabs(T[14]) > 1e-9 || fabs(T[15] - 1) > 1e-9) {
    if (why) snprintf(why, why_size, "last row is [%g %g %g %g], expected [0 0 0 1]", T[12], T[13], T[14], T[15]);
    return HATCH_ERR_CORRUPT;
  }
  return pose_rotation_ok(T, 4, why, why_size) ? HATCH_OK : HATCH_ERR_CORRUPT;
}

void hatch_pose_relative(const double T_w_a[16], const double T_w_b[16], hatch_relative_pose *out) {
  double inv[16], T_a_b[16];
  hatch_pose_invert_rigid(T_w_a, inv);
  hatch_pose_mul(inv, T_w_b, T_a_b);
  out->t_m[0] = T_a_b[3];
  out->t_m[1] = T_a_b[7];
  out->t_m[2] = T_a_b[11];
  double x = T_a_b[2], y = T_a_b[6], z = T_a_b[10]; /* B's optical axis in A */
  out->yaw_deg = atan2(-x, z) / DEG;
  if (out->yaw_deg <= -180 + 1e-9) out->yaw_deg = 180; /* straight back is +180, whatever the sign of -0 */
  out->pitch_deg = atan2(-y, hypot(x, z)) / DEG;
}

hatch_status hatch_rig_file_relative_pose(const hatch_rig_file *rig, const char *from_cam, const char *to_cam,
                                     hatch_relative_pose *out) {
  if (!rig || !from_cam || !to_cam || !out) return HATCH_ERR_INVALID_ARGUMENT;
  int a, b;
  hatch_status st = hatch_rig_file_find_camera(rig, from_cam, &a);
  if (st == HATCH_OK) st = hatch_rig_file_find_camera(rig, to_cam, &b);
  if (st != HATCH_OK) return st;
  hatch_pose_relative(rig->cameras[a].T_body_camera, rig->cameras[b].T_body_camera, out);
  return HATCH_OK;
}

static double wrap180(double d) {
  if (!isfinite(d)) return NAN;
  d = fmod(d + 180.0, 360.0);
  if (d < 0) d += 360.0;
  return d - 180.0;
}

hatch_pose_error hatch_pose_compare(const hatch_relative_pose *a, const hatch_relative_pose *b) {
  hatch_pose_error e;
  double dx = a->t_m[0] - b->t_m[0], dy = a->t_m[1] - b->t_m[1], dz = a->t_m[2] - b->t_m[2];
  e.translation_m = sqrt(dx * dx + dy * dy + dz * dz);
  e.yaw_deg = wrap180(a->yaw_deg - b->yaw_deg);
  e.pitch_deg = a->pitch_deg - b->pitch_deg;
  return e;
}
