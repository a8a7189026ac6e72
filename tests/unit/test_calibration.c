/* Camera calibration and rig extrinsics (drivers/calib): ROS camera_info, OpenCV FileStorage and
 * Kalibr camchain fixtures read back value for value; a four-camera rig (front/left/right/back,
 * yawed 0/90/-90/180) and a Kalibr chain checked against relative poses worked out by hand; and
 * every error path, each asserting the status AND that the message names the file, field and line.
 * CPU only, no Vulkan. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "hatch/calibration.h"
#include "hatch/camera.h" /* both headers together: no name clashes with the capture rig */

#define FIX HATCH_FIXTURE_DIR "/calib/"

/* ---- helpers ------------------------------------------------------------------------------- */

static void expect_vec(hatch_test_ctx *c, const double *got, const double *want, int n, double tol, const char *what) {
  for (int i = 0; i < n; i++)
    HATCH_EXPECT(c, fabs(got[i] - want[i]) <= tol, "%s[%d] = %.17g, expected %.17g", what, i, got[i], want[i]);
}

static void expect_pose(hatch_test_ctx *c, const hatch_rig_file *rig, const char *from, const char *to, double tx, double ty,
                        double tz, double yaw, double pitch) {
  hatch_relative_pose p;
  hatch_status st = hatch_rig_file_relative_pose(rig, from, to, &p);
  HATCH_EXPECT(c, st == HATCH_OK, "%s -> %s: %s", from, to, hatch_status_name(st));
  if (st != HATCH_OK) return;
  const double t[3] = {tx, ty, tz};
  char what[96];
  snprintf(what, sizeof(what), "%s->%s t_m", from, to);
  expect_vec(c, p.t_m, t, 3, 1e-9, what);
  hatch_relative_pose want = {{tx, ty, tz}, yaw, pitch};
  hatch_pose_error e = hatch_pose_compare(&p, &want);
  HATCH_EXPECT(c, fabs(e.yaw_deg) < 1e-9, "%s -> %s yaw %.12g, expected %g", from, to, p.yaw_deg, yaw);
  HATCH_EXPECT(c, fabs(e.pitch_deg) < 1e-9, "%s -> %s pitch %.12g, expected %g", from, to, p.pitch_deg, pitch);
}

static bool contains(const char *s, const char *sub) { return strstr(s, sub) != NULL; }

/* ---- intrinsics: the three formats --------------------------------------------------------- */

static void test_ros_camera_info(hatch_test_ctx *c) {
  hatch_calib_file *f = malloc(sizeof(*f));
  hatch_calib_report rep;
  HATCH_EXPECT_OK(c, hatch_calib_load_file(FIX "ros_front.yaml", f, &rep));
  HATCH_EXPECT(c, rep.message[0] == '\0' && !rep.warning, "unexpected message '%s'", rep.message);
  HATCH_EXPECT(c, f->format == HATCH_CALIB_FORMAT_ROS, "format %s", hatch_calib_format_name(f->format));
  HATCH_EXPECT(c, f->n_cameras == 1, "n_cameras %d", f->n_cameras);
  const hatch_camera_intrinsics *in = &f->cameras[0].intrinsics;
  HATCH_EXPECT(c, in->width == 1280 && in->height == 720, "size %dx%d", in->width, in->height);
  HATCH_EXPECT(c, strcmp(in->name, "front") == 0, "name '%s'", in->name);
  HATCH_EXPECT(c, in->fx == 912.34512 && in->fy == 910.87744 && in->cx == 641.20031 && in->cy == 362.45018 &&
                      in->skew == 0,
               "K fx %.17g fy %.17g cx %.17g cy %.17g", in->fx, in->fy, in->cx, in->cy);
  HATCH_EXPECT(c, strcmp(in->distortion_model, "plumb_bob") == 0 && in->distortion_known, "model '%s'",
               in->distortion_model);
  const double d[5] = {-0.312047, 0.098722, 0.000213, -0.000431, 0.0};
  HATCH_EXPECT(c, in->n_dist == 5, "n_dist %d", in->n_dist);
  expect_vec(c, in->dist, d, 5, 0, "dist");
  const double I[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1};
  expect_vec(c, in->rect, I, 9, 0, "rect");
  const double P[12] = {845.11743, 0, 642.81205, 0, 0, 871.02002, 361.07391, 0, 0, 0, 1, 0};
  expect_vec(c, in->proj, P, 12, 0, "proj");

  hatch_camera_intrinsics one;
  HATCH_EXPECT_OK(c, hatch_calib_load_intrinsics(FIX "ros_front.yaml", NULL, &one, &rep));
  HATCH_EXPECT(c, memcmp(&one, in, sizeof(one)) == 0, "load_intrinsics differs from load_file");
  HATCH_EXPECT(c, hatch_calib_load_intrinsics(FIX "ros_front.yaml", "rear", &one, &rep) == HATCH_ERR_NOT_FOUND,
               "camera 'rear' should not exist");
  HATCH_EXPECT(c, contains(rep.message, "ros_front.yaml") && contains(rep.message, "rear"), "message '%s'", rep.message);
  free(f);
}

static void test_ros_rational_and_fisheye(hatch_test_ctx *c) {
  hatch_camera_intrinsics in;
  hatch_calib_report rep;
  HATCH_EXPECT_OK(c, hatch_calib_load_intrinsics(FIX "ros_left_rational.yaml", NULL, &in, &rep));
  HATCH_EXPECT(c, strcmp(in.distortion_model, "rational_polynomial") == 0 && in.n_dist == 8, "model %s n %d",
               in.distortion_model, in.n_dist);
  const double d[8] = {2.5, -1.25, 0.0005, -0.00025, 0.125, 2.75, -1.5, 0.25};
  expect_vec(c, in.dist, d, 8, 0, "left dist");
  HATCH_EXPECT(c, in.width == 1920 && in.height == 1080 && in.fx == 1391.5 && in.cy == 541.5, "left K/size");

  HATCH_EXPECT_OK(c, hatch_calib_load_intrinsics(FIX "ros_back_fisheye.yaml", NULL, &in, &rep));
  HATCH_EXPECT(c, strcmp(in.distortion_model, "equidistant") == 0 && in.n_dist == 4, "model %s n %d",
               in.distortion_model, in.n_dist);
  const double e[4] = {-0.0078125, 0.046875, -0.0439453125, 0.0078125};
  expect_vec(c, in.dist, e, 4, 0, "back dist");
  /* no rectification / projection in the file: I and [K | 0] */
  const double I[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1};
  const double P[12] = {285.0625, 0, 319.5, 0, 0, 285.125, 239.75, 0, 0, 0, 1, 0};
  expect_vec(c, in.rect, I, 9, 0, "back rect");
  expect_vec(c, in.proj, P, 12, 0, "back proj");
}

static void test_opencv_filestorage(hatch_test_ctx *c) {
  hatch_calib_file *f = malloc(sizeof(*f));
  hatch_calib_report rep;
  HATCH_EXPECT_OK(c, hatch_calib_load_file(FIX "opencv_right.yml", f, &rep));
  HATCH_EXPECT(c, f->format == HATCH_CALIB_FORMAT_OPENCV, "format %s (%s)", hatch_calib_format_name(f->format),
               rep.message);
  const hatch_camera_intrinsics *in = &f->cameras[0].intrinsics;
  HATCH_EXPECT(c, in->width == 1280 && in->height == 800, "size %dx%d", in->width, in->height);
  HATCH_EXPECT(c, in->fx == 6.5746697944293521e+02 && in->fy == 6.5812500000000000e+02 && in->cx == 639.5 &&
                      in->cy == 399.5,
               "K %.17g %.17g %.17g %.17g", in->fx, in->fy, in->cx, in->cy);
  const double d[5] = {-4.1802327176423804e-01, 5.0715244063187526e-01, 0, 0, -5.7843597214487474e-01};
  HATCH_EXPECT(c, in->n_dist == 5 && strcmp(in->distortion_model, "plumb_bob") == 0, "model %s n %d",
               in->distortion_model, in->n_dist);
  expect_vec(c, in->dist, d, 5, 0, "dist");
  HATCH_EXPECT(c, in->name[0] == '\0', "name '%s'", in->name);
  free(f);
}

static void test_opencv_variants(hatch_test_ctx *c) {
  hatch_calib_file *f = malloc(sizeof(*f));
  hatch_calib_report rep;
  /* No "---" after the directive, cameraMatrix/distCoeffs names, an 8-coefficient model. */
  const char *a = "%YAML:1.0\n"
                  "image_width: 640\nimage_height: 480\n"
                  "cameraMatrix: !!opencv-matrix\n   rows: 3\n   cols: 3\n   dt: d\n"
                  "   data: [ 500., 0., 320., 0., 501., 240., 0., 0., 1. ]\n"
                  "distCoeffs: !!opencv-matrix\n   rows: 1\n   cols: 8\n   dt: d\n"
                  "   data: [ 0.1, 0.01, 0., 0., 0.001, 0.2, 0.02, 0.002 ]\n";
  HATCH_EXPECT_OK(c, hatch_calib_parse(a, strlen(a), "a.yml", HATCH_CALIB_FORMAT_AUTO, f, &rep));
  HATCH_EXPECT(c, f->format == HATCH_CALIB_FORMAT_OPENCV && f->cameras[0].intrinsics.fy == 501 &&
                      strcmp(f->cameras[0].intrinsics.distortion_model, "rational_polynomial") == 0,
               "variant a: %s", rep.message);
  /* K / D as plain lists (rows of K nested), image_size, a fisheye model named explicitly. */
  const char *b = "image_size: [1024, 768]\n"
                  "K: [[400.5, 0, 512], [0, 400.25, 384], [0, 0, 1]]\n"
                  "D: [0.01, -0.002, 0.0003, -0.00004]\n"
                  "distortion_model: fisheye\n";
  HATCH_EXPECT_OK(c, hatch_calib_parse(b, strlen(b), "b.yml", HATCH_CALIB_FORMAT_AUTO, f, &rep));
  const hatch_camera_intrinsics *in = &f->cameras[0].intrinsics;
  HATCH_EXPECT(c, f->format == HATCH_CALIB_FORMAT_OPENCV && in->width == 1024 && in->height == 768 &&
                      in->fx == 400.5 && in->fy == 400.25 && in->cx == 512 && in->cy == 384 && in->n_dist == 4 &&
                      strcmp(in->distortion_model, "equidistant") == 0,
               "variant b: %s", rep.message);
  /* "%YAML 1.0" with a space (libyaml refuses 1.0 too) and no distortion at all. */
  const char *d = "%YAML 1.0\n---\nimage_width: 8\nimage_height: 6\ncamera_matrix: [5, 0, 4, 0, 5, 3, 0, 0, 1]\n";
  HATCH_EXPECT_OK(c, hatch_calib_parse(d, strlen(d), "d.yml", HATCH_CALIB_FORMAT_OPENCV, f, &rep));
  HATCH_EXPECT(c, strcmp(f->cameras[0].intrinsics.distortion_model, "none") == 0, "variant d model '%s'",
               f->cameras[0].intrinsics.distortion_model);
  free(f);
}

static void test_kalibr_camchain(hatch_test_ctx *c) {
  hatch_calib_file *f = malloc(sizeof(*f));
  hatch_calib_report rep;
  HATCH_EXPECT_OK(c, hatch_calib_load_file(FIX "kalibr_camchain.yaml", f, &rep));
  HATCH_EXPECT(c, f->format == HATCH_CALIB_FORMAT_KALIBR && f->n_cameras == 3, "format %s, %d cameras",
               hatch_calib_format_name(f->format), f->n_cameras);
  const hatch_camera_intrinsics *c0 = &f->cameras[0].intrinsics, *c2 = &f->cameras[2].intrinsics;
  HATCH_EXPECT(c, c0->fx == 458.654 && c0->fy == 457.296 && c0->cx == 367.215 && c0->cy == 248.375, "cam0 K");
  HATCH_EXPECT(c, c0->width == 752 && c0->height == 480 && strcmp(c0->name, "cam0") == 0, "cam0 size/name");
  HATCH_EXPECT(c, strcmp(c0->distortion_model, "plumb_bob") == 0 && c0->n_dist == 4, "radtan -> plumb_bob 4, got %s %d",
               c0->distortion_model, c0->n_dist);
  const double d0[4] = {-0.28340811, 0.07395907, 0.00019359, 1.76187114e-05};
  expect_vec(c, c0->dist, d0, 4, 0, "cam0 dist");
  HATCH_EXPECT(c, strcmp(f->cameras[0].rostopic, "/cam0/image_raw") == 0 && !f->cameras[0].has_T_cn_cnm1, "cam0 extras");
  HATCH_EXPECT(c, strcmp(c2->distortion_model, "equidistant") == 0 && c2->n_dist == 4 && c2->width == 512 &&
                      c2->fx == 190.97847715128717,
               "cam2 %s", c2->distortion_model);
  const double T2[16] = {0, 0, -1, -0.02, 0, 1, 0, 0, 1, 0, 0, -0.05, 0, 0, 0, 1};
  HATCH_EXPECT(c, f->cameras[2].has_T_cn_cnm1, "cam2 has no T_cn_cnm1");
  expect_vec(c, f->cameras[2].T_cn_cnm1, T2, 16, 0, "cam2 T_cn_cnm1");
  hatch_camera_intrinsics one;
  HATCH_EXPECT(c, hatch_calib_load_intrinsics(FIX "kalibr_camchain.yaml", NULL, &one, &rep) ==
                      HATCH_ERR_INVALID_ARGUMENT,
               "three cameras need a name");
  HATCH_EXPECT_OK(c, hatch_calib_load_intrinsics(FIX "kalibr_camchain.yaml", "cam1", &one, &rep));
  HATCH_EXPECT(c, one.fx == 457.587, "cam1 fx %.17g", one.fx);
  free(f);
}

/* ---- rigs and relative poses --------------------------------------------------------------- */

static void test_kalibr_chain_rig(hatch_test_ctx *c) {
  hatch_rig_file *rig = malloc(sizeof(*rig));
  hatch_calib_report rep;
  HATCH_EXPECT_OK(c, hatch_rig_file_load(FIX "kalibr_camchain.yaml", rig, &rep));
  HATCH_EXPECT(c, rig->n_cameras == 3 && strcmp(rig->body_frame, "cam0") == 0, "%d cameras, body '%s' (%s)",
               rig->n_cameras, rig->body_frame, rep.message);
  /* cam1 sits 0.1 m to the right of cam0; cam2 sits 0.05 m right of and 0.02 m behind cam1, turned
   * 90 deg right: T_cam0_cam2 = T_cam0_cam1 * T_cam1_cam2 = [R | (0.15, 0, -0.02)]. */
  expect_pose(c, rig, "cam0", "cam1", 0.1, 0, 0, 0, 0);
  expect_pose(c, rig, "cam0", "cam2", 0.15, 0, -0.02, -90, 0);
  expect_pose(c, rig, "cam2", "cam0", -0.02, 0, -0.15, 90, 0);
  expect_pose(c, rig, "cam1", "cam2", 0.05, 0, -0.02, -90, 0);
  const double T02[16] = {0, 0, 1, 0.15, 0, 1, 0, 0, -1, 0, 0, -0.02, 0, 0, 0, 1};
  expect_vec(c, rig->cameras[2].T_body_camera, T02, 16, 1e-12, "T_cam0_cam2");
  HATCH_EXPECT(c, rig->cameras[1].has_intrinsics && rig->cameras[1].intrinsics.fx == 457.587, "cam1 intrinsics");

  /* The same through hatch_rig_file_from_calib; a chain with a link missing fails naming it. */
  hatch_calib_file *f = malloc(sizeof(*f));
  hatch_rig_file *rig2 = malloc(sizeof(*rig2));
  HATCH_EXPECT_OK(c, hatch_calib_load_file(FIX "kalibr_camchain.yaml", f, &rep));
  HATCH_EXPECT_OK(c, hatch_rig_file_from_calib(f, "camchain", rig2, &rep));
  expect_vec(c, rig2->cameras[2].T_body_camera, T02, 16, 1e-12, "from_calib T_cam0_cam2");
  f->cameras[1].has_T_cn_cnm1 = false;
  HATCH_EXPECT(c, hatch_rig_file_from_calib(f, "camchain", rig2, &rep) == HATCH_ERR_CORRUPT, "missing link accepted");
  HATCH_EXPECT(c, contains(rep.message, "camchain") && contains(rep.message, "cam1.T_cn_cnm1"), "message '%s'",
               rep.message);
  free(rig2);
  free(f);
  free(rig);
}

static void test_rig_four_cameras(hatch_test_ctx *c) {
  hatch_rig_file *rig = malloc(sizeof(*rig));
  hatch_calib_report rep;
  hatch_status st = hatch_rig_file_load(FIX "rig_4cam.yaml", rig, &rep);
  HATCH_EXPECT(c, st == HATCH_OK, "%s: %s", hatch_status_name(st), rep.message);
  if (st != HATCH_OK) {
    free(rig);
    return;
  }
  HATCH_EXPECT(c, rig->n_cameras == 4 && rig->version == 1 && strcmp(rig->body_frame, "base_link") == 0, "header");
  const char *names[4] = {"front", "left", "right", "back"};
  for (int i = 0; i < 4; i++) {
    int idx = -1;
    HATCH_EXPECT(c, hatch_rig_file_find_camera(rig, names[i], &idx) == HATCH_OK && idx == i, "%s at %d", names[i], idx);
    HATCH_EXPECT(c, rig->cameras[i].has_intrinsics, "%s has no intrinsics", names[i]);
  }
  HATCH_EXPECT(c, strcmp(rig->cameras[0].uri, "v4l2:///dev/video0") == 0, "uri '%s'", rig->cameras[0].uri);
  HATCH_EXPECT(c, strcmp(rig->cameras[3].camera_info, "ros_back_fisheye.yaml") == 0, "camera_info");
  HATCH_EXPECT(c, rig->cameras[0].intrinsics.fx == 912.34512 && rig->cameras[2].intrinsics.fx == 6.5746697944293521e+02,
               "intrinsics from ROS and OpenCV files");
  /* Front optical frame: z = +x body, x = -y body, y = -z body, at (0.3, 0, 0.5). */
  const double Tf[16] = {0, 0, 1, 0.3, -1, 0, 0, 0, 0, -1, 0, 0.5, 0, 0, 0, 1};
  expect_vec(c, rig->cameras[0].T_body_camera, Tf, 16, 1e-12, "T_body_front");
  /* Right camera from a quaternion: z = -y body, x = -x body, y = -z body. */
  const double Tr[16] = {-1, 0, 0, 0, 0, 0, -1, -0.2, 0, -1, 0, 0.5, 0, 0, 0, 1};
  expect_vec(c, rig->cameras[2].T_body_camera, Tr, 16, 1e-12, "T_body_right");

  int idx;
  HATCH_EXPECT(c, hatch_rig_file_find_camera(rig, "top", &idx) == HATCH_ERR_NOT_FOUND, "top should not exist");
  hatch_relative_pose p;
  HATCH_EXPECT(c, hatch_rig_file_relative_pose(rig, "front", "top", &p) == HATCH_ERR_NOT_FOUND, "front -> top");

  /* By hand: body offsets (target - source) turned into the source's optical frame. */
  expect_pose(c, rig, "front", "front", 0, 0, 0, 0, 0);
  expect_pose(c, rig, "front", "left", -0.2, 0, -0.3, 90, 0);   /* mounted 90 deg left: yaw +90 */
  expect_pose(c, rig, "front", "right", 0.2, 0, -0.3, -90, 0);  /* "turn right 90" */
  expect_pose(c, rig, "front", "back", 0, 0, -0.6, 180, 0);
  expect_pose(c, rig, "left", "back", -0.3, 0, -0.2, 90, 0);    /* facing +y, -x is a left turn */
  expect_pose(c, rig, "left", "front", 0.3, 0, -0.2, -90, 0); /* facing +y, +x is on the right */
  expect_pose(c, rig, "right", "left", 0, 0, -0.4, 180, 0);
  expect_pose(c, rig, "back", "front", 0, 0, -0.6, 180, 0);
  expect_pose(c, rig, "back", "right", -0.2, 0, -0.3, 90, 0);   /* facing -x, -y is on the left */
  free(rig);
}

static void test_rig_stereo_from_kalibr(hatch_test_ctx *c) {
  hatch_rig_file *rig = malloc(sizeof(*rig));
  hatch_calib_report rep;
  hatch_status st = hatch_rig_file_load(FIX "rig_stereo_kalibr.yaml", rig, &rep);
  HATCH_EXPECT(c, st == HATCH_OK, "%s: %s", hatch_status_name(st), rep.message);
  HATCH_EXPECT(c, rig->n_cameras == 2 && rig->cameras[1].intrinsics.fx == 457.587 &&
                      strcmp(rig->cameras[0].intrinsics.name, "cam0") == 0,
               "calib_camera selection");
  /* The rig file's poses (nested 4x4 rows and rpy) agree with the camchain's baseline. */
  expect_pose(c, rig, "stereo_left", "stereo_right", 0.1, 0, 0, 0, 0);
  free(rig);
}

static void test_pitch_and_plan_compare(hatch_test_ctx *c) {
  hatch_rig_file *rig = malloc(sizeof(*rig));
  hatch_calib_report rep;
  /* REP 103: positive pitch turns the nose (optical axis) DOWN; the plan's pitch is positive UP. */
  const char *text = "version: 1\ncameras:\n"
                     "  - {name: front, translation: [0, 0, 1], rotation_rpy_deg: [0, 0, 0]}\n"
                     "  - {name: down, translation: [0, 0, 1], rotation_rpy_deg: [0, 20, 0]}\n"
                     "  - {name: up_left, translation: [1.2, 0, 1], rotation_rpy_deg: [0, -30, 45]}\n"
                     "  - {name: rolled, translation: [0, 0, 1], rotation_rpy_deg: [15, 0, 0]}\n";
  hatch_status st = hatch_rig_file_parse(text, strlen(text), "pitch.yaml", NULL, rig, &rep);
  HATCH_EXPECT(c, st == HATCH_OK, "%s: %s", hatch_status_name(st), rep.message);
  expect_pose(c, rig, "front", "down", 0, 0, 0, 0, -20);
  expect_pose(c, rig, "front", "up_left", 0, 0, 1.2, 45, 30); /* "move forward 1.2 m" is t_m [0, 0, 1.2] */
  expect_pose(c, rig, "front", "rolled", 0, 0, 0, 0, 0);      /* roll moves neither the axis nor the origin */

  /* A plan that says "turn right 120 deg" against a camera really at -120 / at +179 vs -179. */
  hatch_relative_pose plan = {{0, 0, 1.2}, -120, 0}, known = {{0, 0, 1.25}, -120, 0};
  hatch_pose_error e = hatch_pose_compare(&plan, &known);
  HATCH_EXPECT(c, fabs(e.translation_m - 0.05) < 1e-12 && e.yaw_deg == 0, "err %g m %g deg", e.translation_m,
               e.yaw_deg);
  hatch_relative_pose a = {{0, 0, 0}, 179, 0}, b = {{0, 0, 0}, -179, 0};
  e = hatch_pose_compare(&a, &b);
  HATCH_EXPECT(c, fabs(e.yaw_deg - -2) < 1e-9, "wrapped yaw error %g, expected -2", e.yaw_deg);
  e = hatch_pose_compare(&b, &a);
  HATCH_EXPECT(c, fabs(e.yaw_deg - 2) < 1e-9, "wrapped yaw error %g, expected 2", e.yaw_deg);
  hatch_relative_pose n = {{0, 0, 0}, NAN, 0};
  e = hatch_pose_compare(&n, &b);
  HATCH_EXPECT(c, isnan(e.yaw_deg), "NaN yaw must not compare as no error");

  /* The runtime's plan (parsed model text) against the rig, one pose type on both sides. */
  const char *said = "<action>{from:0,to:1,action:[{move forward: 1.2 m}{turn left: 45 deg}{turn up: 30 deg}]}"
                     "</action><answer>A. x</answer>";
  hatch_plan parsed;
  hatch_plan_error pe;
  hatch_relative_pose truth;
  HATCH_EXPECT(c, hatch_plan_parse(said, strlen(said), NULL, &parsed, &pe) == HATCH_OK, "plan: %s", pe.message);
  HATCH_EXPECT(c, hatch_rig_file_relative_pose(rig, "front", "up_left", &truth) == HATCH_OK, "front -> up_left");
  e = hatch_pose_compare(&parsed.steps[0].pose, &truth);
  HATCH_EXPECT(c, e.translation_m < 1e-9 && fabs(e.yaw_deg) < 1e-9 && fabs(e.pitch_deg) < 1e-9,
               "plan vs rig: %g m, %g deg yaw, %g deg pitch", e.translation_m, e.yaw_deg, e.pitch_deg);
  /* Teacher actions from the rig's pose compose back to it within the grammar's rounding. */
  hatch_plan_action acts[HATCH_PLAN_MAX_OPS];
  hatch_relative_pose back;
  hatch_plan_compose(acts, hatch_plan_actions_from_pose(&truth, acts), &back);
  e = hatch_pose_compare(&back, &truth);
  HATCH_EXPECT(c, e.translation_m < 0.03 && fabs(e.yaw_deg) <= 1 && fabs(e.pitch_deg) <= 1, "teacher round trip: %g m",
               e.translation_m);

  /* Quaternion and rpy describe the same mount. */
  double Tq[16], Te[16];
  const double t[3] = {0.1, 0.2, 0.3}, rpy[3] = {0, 0, 90}, q[4] = {0, 0, sqrt(0.5), sqrt(0.5)};
  hatch_pose_from_mount_rpy_deg(t, rpy, Te);
  HATCH_EXPECT_OK(c, hatch_pose_from_mount_quaternion(t, q, Tq));
  expect_vec(c, Tq, Te, 16, 1e-12, "quaternion vs rpy");
  const double bad_q[4] = {0, 0, 0, 0.5};
  HATCH_EXPECT(c, hatch_pose_from_mount_quaternion(t, bad_q, Tq) == HATCH_ERR_INVALID_ARGUMENT, "non-unit quaternion");
  free(rig);
}

/* ---- error paths --------------------------------------------------------------------------- */

typedef struct bad_case {
  const char *what;
  bool rig;             /* hatch_rig_file_parse instead of hatch_calib_parse */
  const char *text;
  hatch_status status;
  int line;             /* expected report.line; -1: any line > 0 */
  const char *needle;   /* must appear in the message */
} bad_case;

#define ROS_K "camera_matrix:\n  rows: 3\n  cols: 3\n  data: [500, 0, 320, 0, 500, 240, 0, 0, 1]\n"

static const bad_case BAD[] = {
    {"empty", false, "", HATCH_ERR_CORRUPT, 0, "file is empty"},
    {"only comments", false, "# nothing here\n\n", HATCH_ERR_CORRUPT, 0, "no YAML document"},
    {"not a mapping", false, "- 1\n- 2\n", HATCH_ERR_CORRUPT, 1, "expected a mapping"},
    {"truncated flow", false, "image_width: 640\nimage_height: 480\ncamera_matrix:\n  rows: 3\n  data: [500, 0, 320,",
     HATCH_ERR_CORRUPT, -1, "YAML syntax error"},
    {"tab indent", false, "image_width: 640\ncamera_matrix:\n\trows: 3\n", HATCH_ERR_CORRUPT, 3, "YAML syntax error"},
    {"unclosed quote", false, "image_width: 640\ncamera_name: \"front\nimage_height: 480\n", HATCH_ERR_CORRUPT, -1,
     "YAML syntax error"},
    {"two documents", false, "image_width: 640\n---\nimage_width: 640\n", HATCH_ERR_CORRUPT, 2, "more than one"},
    {"alias", false, "image_width: &w 640\nimage_height: *w\n" ROS_K, HATCH_ERR_CORRUPT, 2, "alias"},
    {"alias bomb", false,
     "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
     "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n",
     HATCH_ERR_CORRUPT, 2, "alias"},
    {"not calibration", false, "foo: 1\nbar: [2]\n", HATCH_ERR_CORRUPT, 1, "not a calibration file"},
    {"rig as calibration", false, "version: 1\ncameras: []\n", HATCH_ERR_CORRUPT, 1, "rig file"},
    {"missing height", false, "image_width: 640\n" ROS_K, HATCH_ERR_CORRUPT, 1, "image_height is missing"},
    {"missing data", false, "image_width: 640\nimage_height: 480\ncamera_matrix:\n  rows: 3\n  cols: 3\n  dta: []\n",
     HATCH_ERR_CORRUPT, 3, "camera_matrix.data is missing"},
    {"width quoted", false, "image_width: \"640\"\nimage_height: 480\n" ROS_K, HATCH_ERR_CORRUPT, 1,
     "image_width is the string"},
    {"width a list", false, "image_width: [640]\nimage_height: 480\n" ROS_K, HATCH_ERR_CORRUPT, 1,
     "image_width is a sequence"},
    {"width fraction", false, "image_width: 640.5\nimage_height: 480\n" ROS_K, HATCH_ERR_CORRUPT, 1,
     "image_width is 640.5, expected a whole number"},
    {"width zero", false, "image_width: 0\nimage_height: 480\n" ROS_K, HATCH_ERR_CORRUPT, 1, "image_width is 0"},
    {"height huge", false, "image_width: 640\nimage_height: 16385\n" ROS_K, HATCH_ERR_CORRUPT, 2, "1..16384"},
    {"width word", false, "image_width: wide\nimage_height: 480\n" ROS_K, HATCH_ERR_CORRUPT, 1,
     "image_width is 'wide', expected a number"},
    {"matrix scalar", false, "image_width: 640\nimage_height: 480\ncamera_matrix: 5\n", HATCH_ERR_CORRUPT, 3,
     "camera_matrix is the scalar '5', expected a matrix"},
    {"data 8 numbers", false,
     "image_width: 640\nimage_height: 480\ncamera_matrix:\n  rows: 3\n  cols: 3\n  data: [500, 0, 320, 0, 500, 240, 0, 0]\n",
     HATCH_ERR_CORRUPT, 6, "camera_matrix.data has 8 numbers, expected 9"},
    {"matrix 3x4", false,
     "image_width: 640\nimage_height: 480\ncamera_matrix:\n  rows: 3\n  cols: 4\n  data: [500, 0, 320, 0, 0, 500, 240, "
     "0, 0, 0, 1, 0]\n",
     HATCH_ERR_CORRUPT, 3, "camera_matrix is 3x4, expected 3x3"},
    {"projection 3x3", false,
     "image_width: 640\nimage_height: 480\n" ROS_K "projection_matrix:\n  rows: 3\n  cols: 3\n  data: [1, 0, 0, 0, 1, 0, "
     "0, 0, 1]\n",
     HATCH_ERR_CORRUPT, 7, "projection_matrix is 3x3, expected 3x4"},
    {"nan", false, "image_width: 640\nimage_height: 480\ncamera_matrix:\n  rows: 3\n  cols: 3\n  data: [.nan, 0, 320, 0, "
     "500, 240, 0, 0, 1]\n",
     HATCH_ERR_CORRUPT, 6, "camera_matrix.data[0] is .nan, expected a finite number"},
    {"inf overflow", false, "image_width: 640\nimage_height: 480\ncamera_matrix:\n  rows: 3\n  cols: 3\n  data: [500, 0, "
     "1e999, 0, 500, 240, 0, 0, 1]\n",
     HATCH_ERR_CORRUPT, 6, "camera_matrix.data[2] is 1e999, expected a finite number"},
    {"fx zero", false, "image_width: 640\nimage_height: 480\ncamera_matrix:\n  rows: 3\n  cols: 3\n  data: [0, 0, 320, 0, "
     "500, 240, 0, 0, 1]\n",
     HATCH_ERR_CORRUPT, 3, "fx = 0"},
    {"bottom row", false, "image_width: 640\nimage_height: 480\ncamera_matrix:\n  rows: 3\n  cols: 3\n  data: [500, 0, "
     "320, 0, 500, 240, 0, 0, 2]\n",
     HATCH_ERR_CORRUPT, 3, "not a camera matrix"},
    {"distortion count", false,
     "image_width: 640\nimage_height: 480\n" ROS_K "distortion_model: plumb_bob\ndistortion_coefficients:\n  rows: 1\n"
     "  cols: 3\n  data: [0.1, 0.01, 0.001]\n",
     HATCH_ERR_CORRUPT, 8, "distortion_coefficients has 3 numbers"},
    {"rectification skewed", false,
     "image_width: 640\nimage_height: 480\n" ROS_K "rectification_matrix:\n  rows: 3\n  cols: 3\n  data: [1, 0.5, 0, 0, 1, "
     "0, 0, 0, 1]\n",
     HATCH_ERR_CORRUPT, 7, "rectification_matrix is not a rotation"},
    {"duplicate key", false, "image_width: 640\nimage_height: 480\nimage_width: 320\n" ROS_K, HATCH_ERR_CORRUPT, 3,
     "image_width appears twice"},
    {"opencv dt", false,
     "%YAML:1.0\n---\nimage_width: 640\nimage_height: 480\ncamera_matrix: !!opencv-matrix\n   rows: 3\n   cols: 3\n   dt: "
     "u\n   data: [ 5, 0, 3, 0, 5, 2, 0, 0, 1 ]\n",
     HATCH_ERR_CORRUPT, 8, "camera_matrix.dt is 'u'"},
    {"opencv count", false,
     "%YAML:1.0\n---\nimage_width: 640\nimage_height: 480\ncamera_matrix: !!opencv-matrix\n   rows: 3\n   cols: 3\n   dt: "
     "d\n   data: [ 5, 0, 3, 0, 5, 2, 0, 0, 1 ]\ndistortion_coefficients: !!opencv-matrix\n   rows: 6\n   cols: 1\n"
     "   dt: d\n   data: [ 0, 0, 0, 0, 0, 0 ]\n",
     HATCH_ERR_CORRUPT, 10, "distortion_coefficients has 6 numbers"},
    {"opencv no size", false,
     "%YAML:1.0\n---\ncamera_matrix: !!opencv-matrix\n   rows: 3\n   cols: 3\n   dt: d\n   data: [ 5, 0, 3, 0, 5, 2, 0, "
     "0, 1 ]\n",
     HATCH_ERR_CORRUPT, 3, "image_width is missing"},
    {"kalibr omni", false,
     "cam0:\n  camera_model: omni\n  intrinsics: [0.9, 400, 400, 320, 240]\n  distortion_model: radtan\n"
     "  distortion_coeffs: [0, 0, 0, 0]\n  resolution: [640, 480]\n",
     HATCH_ERR_UNSUPPORTED, 2, "cam0.camera_model is 'omni'"},
    {"kalibr intrinsics", false,
     "cam0:\n  camera_model: pinhole\n  intrinsics: [400, 400, 320]\n  distortion_model: radtan\n"
     "  distortion_coeffs: [0, 0, 0, 0]\n  resolution: [640, 480]\n",
     HATCH_ERR_CORRUPT, 3, "cam0.intrinsics has 3 numbers, expected 4"},
    {"kalibr gap", false,
     "cam0:\n  intrinsics: [400, 400, 320, 240]\n  distortion_model: none\n  resolution: [640, 480]\n"
     "cam2:\n  intrinsics: [400, 400, 320, 240]\n  distortion_model: none\n  resolution: [640, 480]\n",
     HATCH_ERR_CORRUPT, 1, "cam1 is missing"},
    {"kalibr resolution", false,
     "cam0:\n  intrinsics: [400, 400, 320, 240]\n  distortion_model: none\n  resolution: [640]\n", HATCH_ERR_CORRUPT, 4,
     "cam0.resolution has 1 number, expected 2"},
    {"kalibr T not rigid", false,
     "cam0:\n  intrinsics: [400, 400, 320, 240]\n  distortion_model: none\n  resolution: [640, 480]\n"
     "cam1:\n  T_cn_cnm1:\n  - [1.0, 0.2, 0.0, -0.1]\n  - [0.0, 1.0, 0.0, 0.0]\n  - [0.0, 0.0, 1.0, 0.0]\n"
     "  - [0.0, 0.0, 0.0, 1.0]\n  intrinsics: [400, 400, 320, 240]\n  distortion_model: none\n  resolution: [640, 480]\n",
     HATCH_ERR_CORRUPT, 6, "cam1.T_cn_cnm1 is not a rigid transform: rotation not orthonormal"},
    {"kalibr T 3 rows", false,
     "cam0:\n  intrinsics: [400, 400, 320, 240]\n  distortion_model: none\n  resolution: [640, 480]\n"
     "cam1:\n  T_cn_cnm1:\n  - [1.0, 0.0, 0.0, -0.1]\n  - [0.0, 1.0, 0.0, 0.0]\n  - [0.0, 0.0, 1.0, 0.0]\n"
     "  intrinsics: [400, 400, 320, 240]\n  distortion_model: none\n  resolution: [640, 480]\n",
     HATCH_ERR_CORRUPT, 6, "cam1.T_cn_cnm1 has 12 numbers, expected 16"},
    /* rig files */
    {"rig version", true, "version: 2\ncameras: []\n", HATCH_ERR_UNSUPPORTED, 1, "version is 2"},
    {"rig no cameras", true, "version: 1\nbody_frame: base_link\n", HATCH_ERR_CORRUPT, 1, "cameras is missing"},
    {"rig empty cameras", true, "version: 1\ncameras: []\n", HATCH_ERR_CORRUPT, 2, "cameras is empty"},
    {"rig unknown key", true, "version: 1\ncameras:\n  - name: front\n    translation: [0, 0, 0]\n"
     "    rotaton_rpy_deg: [0, 0, 0]\n", HATCH_ERR_CORRUPT, 5, "front has an unknown key 'rotaton_rpy_deg'"},
    {"rig no name", true, "version: 1\ncameras:\n  - uri: v4l2:///dev/video0\n", HATCH_ERR_CORRUPT, 3,
     "cameras[0].name is missing"},
    {"rig bad name", true, "version: 1\ncameras:\n  - name: front cam\n    translation: [0, 0, 0]\n", HATCH_ERR_CORRUPT, 3,
     "cameras[0].name 'front cam'"},
    {"rig duplicate", true,
     "version: 1\ncameras:\n  - {name: a, translation: [0, 0, 0], rotation_rpy_deg: [0, 0, 0]}\n"
     "  - {name: a, translation: [0, 0, 0], rotation_rpy_deg: [0, 0, 0]}\n",
     HATCH_ERR_CORRUPT, 4, "camera name 'a' is used twice"},
    {"rig no pose", true, "version: 1\ncameras:\n  - name: front\n    uri: x\n", HATCH_ERR_CORRUPT, 3,
     "front.T_body_camera is missing"},
    {"rig no rotation", true, "version: 1\ncameras:\n  - name: front\n    translation: [0, 0, 0]\n", HATCH_ERR_CORRUPT, 4,
     "front.rotation_rpy_deg (or quaternion_xyzw) is missing"},
    {"rig both poses", true,
     "version: 1\ncameras:\n  - name: front\n    T_body_camera: [1,0,0,0, 0,1,0,0, 0,0,1,0, 0,0,0,1]\n"
     "    translation: [0, 0, 0]\n",
     HATCH_ERR_CORRUPT, 4, "not both"},
    {"rig T 15 numbers", true,
     "version: 1\ncameras:\n  - name: front\n    T_body_camera: [0,0,1,0, -1,0,0,0, 0,-1,0,0, 0,0,0]\n",
     HATCH_ERR_CORRUPT, 4, "front.T_body_camera has 15 numbers, expected 16"},
    {"rig not orthonormal", true,
     "version: 1\ncameras:\n  - name: front\n    T_body_camera: [0,0,1,0, -1,0,0.1,0, 0,-1,0,0, 0,0,0,1]\n",
     HATCH_ERR_CORRUPT, 4, "front.T_body_camera is not a rigid transform: rotation not orthonormal"},
    {"rig reflection", true,
     "version: 1\ncameras:\n  - name: front\n    T_body_camera: [0,0,1,0, 1,0,0,0, 0,-1,0,0, 0,0,0,1]\n",
     HATCH_ERR_CORRUPT, 4, "det -1"},
    {"rig last row", true,
     "version: 1\ncameras:\n  - name: front\n    T_body_camera: [0,0,1,0, -1,0,0,0, 0,-1,0,0, 0,0,1,1]\n",
     HATCH_ERR_CORRUPT, 4, "last row is [0 0 1 1]"},
    {"rig nan translation", true,
     "version: 1\ncameras:\n  - name: front\n    translation: [0, .NaN, 0]\n    rotation_rpy_deg: [0, 0, 0]\n",
     HATCH_ERR_CORRUPT, 4, "front.translation[1] is .NaN"},
    {"rig quaternion norm", true,
     "version: 1\ncameras:\n  - name: front\n    translation: [0, 0, 0]\n    quaternion_xyzw: [0, 0, 0.5, 0.5]\n",
     HATCH_ERR_CORRUPT, 5, "front.quaternion_xyzw is not a unit quaternion"},
    {"rig rpy 2 numbers", true,
     "version: 1\ncameras:\n  - name: front\n    translation: [0, 0, 0]\n    rotation_rpy_deg: [0, 90]\n",
     HATCH_ERR_CORRUPT, 5, "front.rotation_rpy_deg has 2 numbers, expected 3"},
    {"rig camera not a map", true, "version: 1\ncameras:\n  - front\n", HATCH_ERR_CORRUPT, 3,
     "cameras[0] is the scalar 'front', expected a mapping"},
    {"rig kalibr without link", true,
     "cam0:\n  intrinsics: [400, 400, 320, 240]\n  distortion_model: none\n  resolution: [640, 480]\n"
     "cam1:\n  intrinsics: [400, 400, 320, 240]\n  distortion_model: none\n  resolution: [640, 480]\n",
     HATCH_ERR_CORRUPT, 5, "cam1.T_cn_cnm1 is missing"},
};

static void test_error_table(hatch_test_ctx *c) {
  hatch_calib_file *f = malloc(sizeof(*f));
  hatch_rig_file *rig = malloc(sizeof(*rig));
  for (size_t i = 0; i < sizeof(BAD) / sizeof(BAD[0]); i++) {
    const bad_case *b = &BAD[i];
    hatch_calib_report rep;
    memset(&rep, 0x5a, sizeof(rep));
    hatch_status st = b->rig ? hatch_rig_file_parse(b->text, strlen(b->text), "bad.yaml", NULL, rig, &rep)
                             : hatch_calib_parse(b->text, strlen(b->text), "bad.yaml", HATCH_CALIB_FORMAT_AUTO, f, &rep);
    bool terminated = memchr(rep.message, 0, sizeof(rep.message)) != NULL;
    HATCH_EXPECT(c, terminated, "%s: message not terminated", b->what);
    if (!terminated) continue;
    if (getenv("HATCH_TEST_VERBOSE")) printf("  %-22s %s\n", b->what, rep.message);
    HATCH_EXPECT(c, st == b->status, "%s: status %s, expected %s (%s)", b->what, hatch_status_name(st),
                 hatch_status_name(b->status), rep.message);
    HATCH_EXPECT(c, !rep.warning, "%s: warning set on an error", b->what);
    HATCH_EXPECT(c, contains(rep.message, b->needle), "%s: message '%s' lacks '%s'", b->what, rep.message, b->needle);
    char prefix[32];
    if (b->line > 0) snprintf(prefix, sizeof(prefix), "bad.yaml:%d: ", b->line);
    else if (b->line == 0) snprintf(prefix, sizeof(prefix), "bad.yaml: ");
    else snprintf(prefix, sizeof(prefix), "bad.yaml:");
    HATCH_EXPECT(c, strncmp(rep.message, prefix, strlen(prefix)) == 0, "%s: message '%s' should start '%s'", b->what,
                 rep.message, prefix);
    HATCH_EXPECT(c, b->line < 0 ? rep.line > 0 : rep.line == b->line, "%s: line %d, expected %d", b->what, rep.line,
                 b->line);
  }
  free(rig);
  free(f);
}

static void test_unknown_distortion_model(hatch_test_ctx *c) {
  hatch_calib_file *f = malloc(sizeof(*f));
  hatch_calib_report rep;
  const char *text = "image_width: 640\nimage_height: 480\n" ROS_K
                     "distortion_model: double_sphere\ndistortion_coefficients:\n  rows: 1\n  cols: 2\n"
                     "  data: [-0.2, 0.6]\n";
  HATCH_EXPECT_OK(c, hatch_calib_parse(text, strlen(text), "ds.yaml", HATCH_CALIB_FORMAT_AUTO, f, &rep));
  const hatch_camera_intrinsics *in = &f->cameras[0].intrinsics;
  HATCH_EXPECT(c, rep.warning && contains(rep.message, "ds.yaml:8: ") && contains(rep.message, "double_sphere"),
               "warning '%s' line %d", rep.message, rep.line);
  HATCH_EXPECT(c, strcmp(in->distortion_model, "double_sphere") == 0 && !in->distortion_known && in->n_dist == 2 &&
                      in->dist[1] == 0.6,
               "kept as written");
  free(f);
}

static char *repeat(const char *head, const char *unit, int n, const char *tail) {
  size_t hl = strlen(head), ul = strlen(unit), tl = strlen(tail);
  char *s = malloc(hl + ul * (size_t)n + tl + 1);
  if (!s) return NULL;
  memcpy(s, head, hl);
  for (int i = 0; i < n; i++) memcpy(s + hl + ul * (size_t)i, unit, ul);
  memcpy(s + hl + ul * (size_t)n, tail, tl + 1);
  return s;
}

static void test_limits_and_garbage(hatch_test_ctx *c) {
  hatch_calib_file *f = malloc(sizeof(*f));
  hatch_calib_report rep;
  /* 100 levels of flow nesting: refused at level 65, line 1. */
  char *deep = repeat("image_width: ", "[", 100, "");
  char *deep2 = repeat(deep, "]", 100, "\n");
  hatch_status st = hatch_calib_parse(deep2, strlen(deep2), "deep.yaml", HATCH_CALIB_FORMAT_AUTO, f, &rep);
  HATCH_EXPECT(c, st == HATCH_ERR_TOO_LARGE && contains(rep.message, "deep.yaml:1: ") &&
                      contains(rep.message, "nested more than 64"),
               "deep: %s '%s'", hatch_status_name(st), rep.message);
  /* 64 levels exactly (root + 63) is fine for the YAML layer; the format then refuses the field. */
  free(deep);
  free(deep2);
  deep = repeat("image_width: ", "[", 62, "1");
  deep2 = repeat(deep, "]", 62, "\n");
  st = hatch_calib_parse(deep2, strlen(deep2), "deep.yaml", HATCH_CALIB_FORMAT_AUTO, f, &rep);
  HATCH_EXPECT(c, st == HATCH_ERR_CORRUPT && contains(rep.message, "not a calibration file"), "63 deep: %s '%s'",
               hatch_status_name(st), rep.message);
  free(deep);
  free(deep2);
  /* 200k numbers in one list: over the node limit. */
  char *wide = repeat("camera_matrix: [", "0,", 200000, "0]\n");
  st = hatch_calib_parse(wide, strlen(wide), "wide.yaml", HATCH_CALIB_FORMAT_AUTO, f, &rep);
  HATCH_EXPECT(c, st == HATCH_ERR_TOO_LARGE && contains(rep.message, "wide.yaml:1: ") &&
                      contains(rep.message, "more than 100000 YAML nodes"),
               "wide: %s '%s'", hatch_status_name(st), rep.message);
  free(wide);
  /* Over 1 MiB: refused before parsing. */
  size_t big_len = (1 << 20) + 1;
  char *big = malloc(big_len);
  memset(big, ' ', big_len);
  st = hatch_calib_parse(big, big_len, "big.yaml", HATCH_CALIB_FORMAT_AUTO, f, &rep);
  HATCH_EXPECT(c, st == HATCH_ERR_TOO_LARGE && contains(rep.message, "big.yaml: ") && contains(rep.message, "limit"),
               "big: %s '%s'", hatch_status_name(st), rep.message);
  free(big);
  /* Binary garbage (xorshift bytes), several seeds: an error with a message naming the file. */
  uint64_t s = 0x9e3779b97f4a7c15ull;
  unsigned char junk[512];
  for (int round = 0; round < 32; round++) {
    for (size_t i = 0; i < sizeof(junk); i++) {
      s ^= s << 13, s ^= s >> 7, s ^= s << 17;
      junk[i] = (unsigned char)s;
    }
    st = hatch_calib_parse((const char *)junk, sizeof(junk), "junk.bin", HATCH_CALIB_FORMAT_AUTO, f, &rep);
    HATCH_EXPECT(c, st == HATCH_ERR_CORRUPT && strncmp(rep.message, "junk.bin", 8) == 0, "junk %d: %s '%s'", round,
                 hatch_status_name(st), rep.message);
  }
  /* An embedded NUL inside a quoted scalar. */
  const char nul[] = "image_width: 640\ncamera_name: \"a\\0b\"\n";
  st = hatch_calib_parse(nul, sizeof(nul) - 1, "nul.yaml", HATCH_CALIB_FORMAT_AUTO, f, &rep);
  HATCH_EXPECT(c, st == HATCH_ERR_CORRUPT && contains(rep.message, "nul.yaml:2: "), "nul: %s '%s'",
               hatch_status_name(st), rep.message);
  /* Arguments. */
  HATCH_EXPECT(c, hatch_calib_parse(NULL, 3, "x", HATCH_CALIB_FORMAT_AUTO, f, &rep) == HATCH_ERR_INVALID_ARGUMENT,
               "NULL text");
  HATCH_EXPECT(c, hatch_calib_parse("a: 1", 4, "x", HATCH_CALIB_FORMAT_AUTO, NULL, NULL) == HATCH_ERR_INVALID_ARGUMENT,
               "NULL out");
  HATCH_EXPECT(c, hatch_calib_parse("a: 1", 4, "x", (hatch_calib_format)9, f, &rep) == HATCH_ERR_INVALID_ARGUMENT,
               "bad format");
  /* A forced format that does not fit reports the format's own missing field. */
  st = hatch_calib_parse("cam0: {}\n", 9, "x.yaml", HATCH_CALIB_FORMAT_ROS, f, &rep);
  HATCH_EXPECT(c, st == HATCH_ERR_CORRUPT && contains(rep.message, "x.yaml:1: image_width is missing"), "forced: '%s'",
               rep.message);
  free(f);
}

static bool write_file(const char *path, const char *text) {
  FILE *fp = fopen(path, "wb");
  if (!fp) return false;
  bool ok = fwrite(text, 1, strlen(text), fp) == strlen(text);
  return fclose(fp) == 0 && ok;
}

static void test_files_on_disk(hatch_test_ctx *c) {
  hatch_calib_file *f = malloc(sizeof(*f));
  hatch_rig_file *rig = malloc(sizeof(*rig));
  hatch_calib_report rep;
  HATCH_EXPECT(c, hatch_calib_load_file(FIX "no_such_file.yaml", f, &rep) == HATCH_ERR_NOT_FOUND &&
                      contains(rep.message, "no_such_file.yaml"),
               "missing file: '%s'", rep.message);
  HATCH_EXPECT(c, hatch_calib_load_file(FIX, f, &rep) == HATCH_ERR_IO, "a directory: '%s'", rep.message);

  char dir[] = "/tmp/hatch_calib_XXXXXX";
  if (!mkdtemp(dir)) {
    HATCH_EXPECT(c, false, "mkdtemp failed");
    goto free_all;
  }
  char rig_path[64], cam_path[64], bad_path[64];
  snprintf(rig_path, sizeof(rig_path), "%s/rig.yaml", dir);
  snprintf(cam_path, sizeof(cam_path), "%s/cam.yaml", dir);
  snprintf(bad_path, sizeof(bad_path), "%s/bad_cam.yaml", dir);
  /* A camera_info file with an error: the message names that file and its line. */
  HATCH_EXPECT(c, write_file(bad_path, "image_width: 640\nimage_height: 480\ncamera_matrix:\n  rows: 3\n  cols: 3\n"
                                       "  data: [500, 0, 320, 0, 500, 240, 0, 1]\n"),
               "write");
  HATCH_EXPECT(c, write_file(rig_path, "version: 1\ncameras:\n  - name: front\n    camera_info: bad_cam.yaml\n"
                                       "    translation: [0, 0, 0]\n    rotation_rpy_deg: [0, 0, 0]\n"),
               "write");
  hatch_status st = hatch_rig_file_load(rig_path, rig, &rep);
  HATCH_EXPECT(c, st == HATCH_ERR_CORRUPT && contains(rep.message, "bad_cam.yaml:6: camera_matrix.data has 8 numbers, "
                                                                   "expected 9") && rep.line == 6,
               "nested error: %s '%s'", hatch_status_name(st), rep.message);
  /* A camera_info file that does not exist. */
  HATCH_EXPECT(c, write_file(rig_path, "version: 1\ncameras:\n  - name: front\n    camera_info: missing.yaml\n"
                                       "    translation: [0, 0, 0]\n    rotation_rpy_deg: [0, 0, 0]\n"),
               "write");
  st = hatch_rig_file_load(rig_path, rig, &rep);
  HATCH_EXPECT(c, st == HATCH_ERR_NOT_FOUND && contains(rep.message, "missing.yaml"), "missing camera_info: %s '%s'",
               hatch_status_name(st), rep.message);
  /* An absolute camera_info path, and the same rig parsed without base_dir (no file read). */
  char text[512];
  snprintf(text, sizeof(text), "version: 1\ncameras:\n  - name: front\n    camera_info: %s\n"
                               "    translation: [0, 0, 0]\n    rotation_rpy_deg: [0, 0, 0]\n", FIX "ros_front.yaml");
  HATCH_EXPECT(c, write_file(rig_path, text), "write");
  st = hatch_rig_file_load(rig_path, rig, &rep);
  HATCH_EXPECT(c, st == HATCH_OK && rig->cameras[0].has_intrinsics && rig->cameras[0].intrinsics.width == 1280,
               "absolute camera_info: %s '%s'", hatch_status_name(st), rep.message);
  st = hatch_rig_file_parse(text, strlen(text), "rig.yaml", NULL, rig, &rep);
  HATCH_EXPECT(c, st == HATCH_OK && !rig->cameras[0].has_intrinsics, "no base_dir: %s", hatch_status_name(st));
  /* A file over 1 MiB on disk. */
  FILE *fp = fopen(cam_path, "wb");
  if (fp) {
    static char chunk[4096];
    memset(chunk, '#', sizeof(chunk));
    for (int i = 0; i < 257; i++) fwrite(chunk, 1, sizeof(chunk), fp);
    fclose(fp);
  }
  st = hatch_calib_load_file(cam_path, f, &rep);
  HATCH_EXPECT(c, st == HATCH_ERR_TOO_LARGE && contains(rep.message, "cam.yaml"), "big file: %s '%s'",
               hatch_status_name(st), rep.message);
  remove(rig_path);
  remove(cam_path);
  remove(bad_path);
  rmdir(dir);
free_all:
  free(rig);
  free(f);
}

int main(int argc, char **argv) {
  const hatch_test_case cases[] = {
      {"ros_camera_info", test_ros_camera_info, false},
      {"ros_rational_and_fisheye", test_ros_rational_and_fisheye, false},
      {"opencv_filestorage", test_opencv_filestorage, false},
      {"opencv_variants", test_opencv_variants, false},
      {"kalibr_camchain", test_kalibr_camchain, false},
      {"kalibr_chain_rig", test_kalibr_chain_rig, false},
      {"rig_four_cameras", test_rig_four_cameras, false},
      {"rig_stereo_from_kalibr", test_rig_stereo_from_kalibr, false},
      {"pitch_and_plan_compare", test_pitch_and_plan_compare, false},
      {"error_table", test_error_table, false},
      {"unknown_distortion_model", test_unknown_distortion_model, false},
      {"limits_and_garbage", test_limits_and_garbage, false},
      {"files_on_disk", test_files_on_disk, false},
  };
  return hatch_test_main(argc, argv, cases, (int)(sizeof(cases) / sizeof(cases[0])));
}
