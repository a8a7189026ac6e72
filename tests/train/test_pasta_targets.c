/* PaStA targets from depth reprojection (train/data/pasta_targets.c) and the pinhole helpers.
 * Analytic cases: identical views (identity), a camera shifted by exactly one cell width in the image
 * (a shifted identity), an occluder only one camera sees (zeros where occluded), views facing away
 * (all zero), the depth tolerance on both sides of its edge, unknown depth, odd shapes; a rotated
 * pair against a brute-force count written with the public project/back-project helpers; errors; and
 * the time for two 224x224 views. CPU only. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"
#include "hatch/train_data.h"

/* A camera at `pos` with rotation R (columns = optical axes in the world), fx = fy = f, principal
 * point at the image centre ((w-1)/2, (h-1)/2), and a depth map filled with d. */
static hatch_sample_image make_image(int w, int h, double f, const double R[9], const double pos[3], float d) {
  hatch_sample_image im;
  memset(&im, 0, sizeof im);
  im.width = w;
  im.height = h;
  im.depth = malloc(sizeof(float) * (size_t)w * h); // (h, w)
  for (int k = 0; k < w * h; k++) im.depth[k] = d;
  im.has_camera = true;
  im.camera.width = w;
  im.camera.height = h;
  im.camera.fx = im.camera.fy = f;
  im.camera.cx = (w - 1) / 2.0;
  im.camera.cy = (h - 1) / 2.0;
  memcpy(im.camera.rotation, R, sizeof im.camera.rotation);
  memcpy(im.camera.position, pos, sizeof im.camera.position);
  return im;
}

static const double I3[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1};
static const double ORIGIN[3] = {0, 0, 0};

static void yaw_rotation(double deg, double R[9]) {
  const double a = deg * 3.14159265358979323846 / 180, c = cos(a), s = sin(a);
  const double r[9] = {c, 0, s, 0, 1, 0, -s, 0, c};
  memcpy(R, r, sizeof r);
}

/* Every entry of m (nc x nc) equals want(i, j) within tol. */
static void expect_matrix(hatch_test_ctx *c, const float *m, int n, double (*want)(int n, int i, int j), double tol,
                          const char *what) {
  const int nc = n * n;
  int bad = 0;
  for (int i = 0; i < nc; i++)
    for (int j = 0; j < nc; j++) {
      double w = want(n, i, j);
      if (fabs(m[i * nc + j] - w) > tol && bad++ < 5)
        HATCH_EXPECT(c, false, "%s[%d][%d] = %.6f, expected %.6f", what, i, j, m[i * nc + j], w);
    }
  HATCH_EXPECT(c, bad == 0, "%s: %d entries wrong", what, bad);
}

static double want_identity(int n, int i, int j) { (void)n; return i == j ? 1.0 : 0.0; }
/* X shifted left by one cell in Y: cell (a, b) -> (a, b-1); column 0 leaves the image. */
static double want_shift_xy(int n, int i, int j) { return i % n >= 1 && j == i - 1 ? 1.0 : 0.0; }
static double want_shift_yx(int n, int i, int j) { return i % n <= n - 2 && j == i + 1 ? 1.0 : 0.0; }
static double want_zero(int n, int i, int j) { (void)n; (void)i; (void)j; return 0.0; }

static void test_identical_views(hatch_test_ctx *c) {
  hatch_sample_image x = make_image(64, 64, 64, I3, ORIGIN, 2.0f), y = make_image(64, 64, 64, I3, ORIGIN, 2.0f);
  float mxy[256], myx[256], s[256];
  HATCH_EXPECT_OK(c, hatch_pasta_targets(&x, &y, NULL, mxy, myx, s, NULL));
  expect_matrix(c, mxy, 4, want_identity, 1e-6, "M_XY");
  expect_matrix(c, myx, 4, want_identity, 1e-6, "M_YX");
  expect_matrix(c, s, 4, want_identity, 1e-6, "S");
  free(x.depth);
  free(y.depth);
}

/* Odd sizes: cells of unequal width, and a grid finer than the image (empty cells -> zero rows). */
static void test_odd_shapes(hatch_test_ctx *c) {
  const int sizes[][3] = {{37, 23, 4}, {13, 1, 3}, {5, 5, 8}, {127, 13, 4}};
  for (size_t t = 0; t < sizeof sizes / sizeof sizes[0]; t++) {
    const int w = sizes[t][0], h = sizes[t][1], n = sizes[t][2], nc = n * n;
    hatch_sample_image x = make_image(w, h, 20, I3, ORIGIN, 1.5f), y = make_image(w, h, 20, I3, ORIGIN, 1.5f);
    hatch_pasta_options opt;
    hatch_pasta_options_default(&opt);
    opt.grid = n;
    float *m = malloc(sizeof(float) * nc * nc);
    HATCH_EXPECT_OK(c, hatch_pasta_targets(&x, &y, &opt, m, NULL, NULL, NULL));
    for (int i = 0; i < nc; i++) {
      const int a = i / n, b = i % n;
      const bool empty = (a * h / n) == ((a + 1) * h / n) || (b * w / n) == ((b + 1) * w / n);
      for (int j = 0; j < nc; j++) {
        const float want = (!empty && i == j) ? 1.0f : 0.0f;
        HATCH_EXPECT(c, fabsf(m[i * nc + j] - want) < 1e-6f, "%dx%d n=%d: M[%d][%d] = %g, expected %g", w, h, n, i, j,
                     m[i * nc + j], want);
      }
    }
    free(m);
    free(x.depth);
    free(y.depth);
  }
}

/* A fronto-parallel plane at 2 m; Y sits 0.5 m to the right: with f = 64, a point moves by
 * f * 0.5 / 2 = 16 px = one cell of a 64-px image with n = 4. */
static void test_shift_one_cell(hatch_test_ctx *c) {
  const double right[3] = {0.5, 0, 0};
  hatch_sample_image x = make_image(64, 64, 64, I3, ORIGIN, 2.0f), y = make_image(64, 64, 64, I3, right, 2.0f);
  float mxy[256], myx[256], s[256];
  for (int stride = 1; stride <= 3; stride += 2) {
    hatch_pasta_options opt;
    hatch_pasta_options_default(&opt);
    opt.stride = stride;
    HATCH_EXPECT_OK(c, hatch_pasta_targets(&x, &y, &opt, mxy, myx, s, NULL));
    expect_matrix(c, mxy, 4, want_shift_xy, 1e-6, stride == 1 ? "M_XY" : "M_XY stride 3");
    expect_matrix(c, myx, 4, want_shift_yx, 1e-6, stride == 1 ? "M_YX" : "M_YX stride 3");
    expect_matrix(c, s, 4, want_shift_xy, 1e-6, "S"); /* M_YX^T is the same shifted identity */
  }
  double overlap = -1;
  HATCH_EXPECT_OK(c, hatch_pasta_map(&x, &y, NULL, NULL, &overlap, NULL));
  HATCH_EXPECT(c, fabs(overlap - 0.75) < 1e-9, "overlap %g, expected 0.75 (three of four cell columns)", overlap);
  free(x.depth);
  free(y.depth);
}

/* As the shift case, but Y sees an occluder 0.5 m away over its right half (x in [0.5, 0.75] m in the
 * world, outside X's view): X's column 3 lands there and is hidden; the occluder's pixels leave X. */
static double want_occluded_xy(int n, int i, int j) { return (i % n == 1 || i % n == 2) && j == i - 1 ? 1.0 : 0.0; }
static double want_occluded_yx(int n, int i, int j) { return (i % n == 0 || i % n == 1) && j == i + 1 ? 1.0 : 0.0; }

static void test_occluder(hatch_test_ctx *c) {
  const double right[3] = {0.5, 0, 0};
  hatch_sample_image x = make_image(64, 64, 64, I3, ORIGIN, 2.0f), y = make_image(64, 64, 64, I3, right, 2.0f);
  for (int r = 0; r < 64; r++)
    for (int col = 32; col < 64; col++) y.depth[r * 64 + col] = 0.5f;
  float mxy[256], myx[256];
  HATCH_EXPECT_OK(c, hatch_pasta_targets(&x, &y, NULL, mxy, myx, NULL, NULL));
  expect_matrix(c, mxy, 4, want_occluded_xy, 1e-6, "M_XY");
  expect_matrix(c, myx, 4, want_occluded_yx, 1e-6, "M_YX");
  free(x.depth);
  free(y.depth);
}

static void test_facing_away(hatch_test_ctx *c) {
  double back[9];
  yaw_rotation(180, back);
  hatch_sample_image x = make_image(64, 64, 64, I3, ORIGIN, 2.0f), y = make_image(64, 64, 64, back, ORIGIN, 2.0f);
  float mxy[256], myx[256], s[256];
  HATCH_EXPECT_OK(c, hatch_pasta_targets(&x, &y, NULL, mxy, myx, s, NULL));
  expect_matrix(c, mxy, 4, want_zero, 0, "M_XY");
  expect_matrix(c, myx, 4, want_zero, 0, "M_YX");
  expect_matrix(c, s, 4, want_zero, 0, "S");
  free(x.depth);
  free(y.depth);
}

/* t_abs + t_rel * z = 0.05 + 0.02 * 2 = 0.09 m at 2 m: Y's depth 0.08 m off still agrees, 0.10 m not. */
static void test_depth_tolerance(hatch_test_ctx *c) {
  hatch_sample_image x = make_image(32, 32, 32, I3, ORIGIN, 2.0f), y = make_image(32, 32, 32, I3, ORIGIN, 2.08f);
  float m[256];
  HATCH_EXPECT_OK(c, hatch_pasta_targets(&x, &y, NULL, m, NULL, NULL, NULL));
  expect_matrix(c, m, 4, want_identity, 1e-6, "M_XY (0.08 m off)");
  for (int k = 0; k < 32 * 32; k++) y.depth[k] = 2.10f;
  HATCH_EXPECT_OK(c, hatch_pasta_targets(&x, &y, NULL, m, NULL, NULL, NULL));
  expect_matrix(c, m, 4, want_zero, 0, "M_XY (0.10 m off)");
  hatch_pasta_options opt;
  hatch_pasta_options_default(&opt);
  opt.t_abs = 0.07; /* 0.07 + 0.04 = 0.11 > 0.10 */
  HATCH_EXPECT_OK(c, hatch_pasta_targets(&x, &y, &opt, m, NULL, NULL, NULL));
  expect_matrix(c, m, 4, want_identity, 1e-6, "M_XY (0.10 m off, t_abs 0.07)");
  free(x.depth);
  free(y.depth);
}

/* Unknown depth (0, NaN) in X's cell 0 -> row 0 is zero; unknown in Y's cell 5 -> column 5 is zero;
 * half-unknown cell 10 of X still gives 1 (the fraction is over valid pixels only). */
static void test_unknown_depth(hatch_test_ctx *c) {
  hatch_sample_image x = make_image(32, 32, 32, I3, ORIGIN, 2.0f), y = make_image(32, 32, 32, I3, ORIGIN, 2.0f);
  for (int r = 0; r < 8; r++)
    for (int col = 0; col < 8; col++) {
      x.depth[r * 32 + col] = (r + col) % 2 ? 0.0f : NAN;
      y.depth[(8 + r) * 32 + 8 + col] = 0.0f;
      if (col < 4) x.depth[(16 + r) * 32 + 16 + col] = 0.0f;
    }
  float m[256];
  HATCH_EXPECT_OK(c, hatch_pasta_targets(&x, &y, NULL, m, NULL, NULL, NULL));
  for (int i = 0; i < 16; i++)
    for (int j = 0; j < 16; j++) {
      const float want = (i == j && i != 0 && i != 5) ? 1.0f : 0.0f;
      HATCH_EXPECT(c, fabsf(m[i * 16 + j] - want) < 1e-6f, "M[%d][%d] = %g, expected %g", i, j, m[i * 16 + j], want);
    }
  free(x.depth);
  free(y.depth);
}

/* ---- a rotated pair against a brute-force count ---------------------------------------------- */

/* Depth of the scene (a wall at world z = 3 and a floor at world y = 1, nearest hit) for a camera. */
static void render_depth(hatch_sample_image *im) {
  const hatch_pinhole_camera *cam = &im->camera;
  for (int r = 0; r < im->height; r++)
    for (int col = 0; col < im->width; col++) {
      const double dc[3] = {(col - cam->cx) / cam->fx, (r - cam->cy) / cam->fy, 1};
      double dw[3];
      for (int k = 0; k < 3; k++) dw[k] = cam->rotation[k * 3] * dc[0] + cam->rotation[k * 3 + 1] * dc[1] + cam->rotation[k * 3 + 2] * dc[2];
      double best = INFINITY;
      if (dw[2] > 1e-9) best = fmin(best, (3.0 - cam->position[2]) / dw[2]);
      if (dw[1] > 1e-9) best = fmin(best, (1.0 - cam->position[1]) / dw[1]);
      im->depth[r * im->width + col] = isfinite(best) && best > 0 ? (float)best : 0.0f;
    }
}

static int band_of(int k, int len, int n) {
  for (int a = 0; a < n; a++)
    if (k >= a * len / n && k < (a + 1) * len / n) return a;
  return -1;
}

static void brute_force(const hatch_sample_image *x, const hatch_sample_image *y, int n, float *m) {
  const int nc = n * n;
  double *hit = calloc((size_t)nc * nc, sizeof(double)), *valid = calloc((size_t)nc, sizeof(double));
  for (int r = 0; r < x->height; r++)
    for (int col = 0; col < x->width; col++) {
      const float d = x->depth[r * x->width + col];
      if (!(d > 0)) continue;
      const int i = band_of(r, x->height, n) * n + band_of(col, x->width, n);
      valid[i]++;
      double p[3], u, v, z;
      hatch_pinhole_back_project(&x->camera, col, r, d, p);
      if (!hatch_pinhole_project(&y->camera, p, &u, &v, &z)) continue;
      const long uc = lround(floor(u + 0.5)), vr = lround(floor(v + 0.5));
      if (uc < 0 || uc >= y->width || vr < 0 || vr >= y->height) continue;
      const float dy = y->depth[vr * y->width + uc];
      if (!(dy > 0) || fabs(z - dy) > 0.05 + 0.02 * z) continue;
      hit[i * nc + band_of((int)vr, y->height, n) * n + band_of((int)uc, y->width, n)]++;
    }
  for (int i = 0; i < nc; i++)
    for (int j = 0; j < nc; j++) m[i * nc + j] = valid[i] ? (float)(hit[i * nc + j] / valid[i]) : 0.0f;
  free(hit);
  free(valid);
}

static void test_rotated_pair_brute_force(hatch_test_ctx *c) {
  double R[9];
  yaw_rotation(-25, R);
  const double pos[3] = {0.4, -0.1, 0.3};
  hatch_sample_image x = make_image(96, 72, 70, I3, ORIGIN, 0), y = make_image(96, 72, 70, R, pos, 0);
  render_depth(&x);
  render_depth(&y);
  float fast[256], ref[256], sum = 0;
  HATCH_EXPECT_OK(c, hatch_pasta_targets(&x, &y, NULL, fast, NULL, NULL, NULL));
  brute_force(&x, &y, 4, ref);
  double total_diff = 0;
  for (int k = 0; k < 256; k++) {
    total_diff += fabs(fast[k] - ref[k]);
    sum += ref[k];
  }
  HATCH_EXPECT(c, total_diff < 2e-3, "sum |fast - brute force| = %g", total_diff);
  HATCH_EXPECT(c, sum > 4.0f, "the pair overlaps too little to test anything (sum %g)", sum);
  free(x.depth);
  free(y.depth);
}

/* ---- pinhole helpers ------------------------------------------------------------------------- */

static void test_pinhole_round_trip(hatch_test_ctx *c) {
  double R[9];
  yaw_rotation(40, R);
  const double pos[3] = {1, 2, 3};
  hatch_sample_image im = make_image(224, 224, 200, R, pos, 1);
  double p[3], u, v, z;
  hatch_pinhole_back_project(&im.camera, 17.25, 180.5, 2.5, p);
  HATCH_EXPECT(c, hatch_pinhole_project(&im.camera, p, &u, &v, &z), "point not in front");
  HATCH_EXPECT(c, fabs(u - 17.25) < 1e-9 && fabs(v - 180.5) < 1e-9 && fabs(z - 2.5) < 1e-9, "u %g v %g z %g", u, v, z);
  const double behind[3] = {pos[0] - 2 * R[2], pos[1] - 2 * R[5], pos[2] - 2 * R[8]};
  HATCH_EXPECT(c, !hatch_pinhole_project(&im.camera, behind, &u, &v, &z), "a point behind the camera projected");
  /* relative pose: B 1 m ahead of A, turned 90 deg left (about -y, the up axis) */
  hatch_pinhole_camera a = im.camera, b = im.camera;
  yaw_rotation(0, a.rotation);
  memset(a.position, 0, sizeof a.position);
  const double left90[9] = {0, 0, -1, 0, 1, 0, 1, 0, 0}; /* z axis -> world -x: turned left */
  memcpy(b.rotation, left90, sizeof left90);
  const double ahead[3] = {0, 0, 1};
  memcpy(b.position, ahead, sizeof ahead);
  hatch_relative_pose rp;
  hatch_pinhole_relative_pose(&a, &b, &rp);
  HATCH_EXPECT(c, fabs(rp.t_m[2] - 1) < 1e-12 && fabs(rp.t_m[0]) < 1e-12 && fabs(rp.yaw_deg - 90) < 1e-9,
               "relative pose t (%g %g %g) yaw %g", rp.t_m[0], rp.t_m[1], rp.t_m[2], rp.yaw_deg);
  char action[HATCH_SAMPLE_MAX_ACTION];
  HATCH_EXPECT_OK(c, hatch_data_action_string(&rp, 0, 1, action, sizeof action));
  HATCH_EXPECT(c, strcmp(action, "<action>{from:0,to:1,action:[{move forward: 1.00 m}{turn left: 90 deg}]}</action>") == 0,
               "action '%s'", action);
  free(im.depth);
}

static void test_errors(hatch_test_ctx *c) {
  hatch_sample_image x = make_image(32, 32, 32, I3, ORIGIN, 2.0f), y = make_image(32, 32, 32, I3, ORIGIN, 2.0f);
  float m[256];
  hatch_data_report rep;
  y.width = 31; /* the depth map is not the camera's size */
  HATCH_EXPECT(c, hatch_pasta_targets(&x, &y, NULL, m, NULL, NULL, &rep) == HATCH_ERR_SHAPE, "size mismatch accepted");
  HATCH_EXPECT(c, strstr(rep.message, "image Y") && strstr(rep.message, "31x32"), "message '%s'", rep.message);
  y.width = 32;
  float *d = y.depth;
  y.depth = NULL;
  HATCH_EXPECT(c, hatch_pasta_targets(&x, &y, NULL, m, NULL, NULL, &rep) == HATCH_ERR_SHAPE, "missing depth accepted");
  y.depth = d;
  x.camera.fx = -1;
  HATCH_EXPECT(c, hatch_pasta_targets(&x, &y, NULL, m, NULL, NULL, &rep) == HATCH_ERR_CORRUPT, "fx < 0 accepted");
  HATCH_EXPECT(c, strstr(rep.message, "image X") && strstr(rep.message, "fx"), "message '%s'", rep.message);
  x.camera.fx = 32;
  x.camera.rotation[0] = 2;
  HATCH_EXPECT(c, hatch_pasta_targets(&x, &y, NULL, m, NULL, NULL, &rep) == HATCH_ERR_CORRUPT, "bad rotation accepted");
  x.camera.rotation[0] = 1;
  hatch_pasta_options opt;
  hatch_pasta_options_default(&opt);
  opt.grid = 0;
  HATCH_EXPECT(c, hatch_pasta_targets(&x, &y, &opt, m, NULL, NULL, &rep) == HATCH_ERR_INVALID_ARGUMENT, "grid 0 accepted");
  opt.grid = 4;
  opt.stride = 0;
  HATCH_EXPECT(c, hatch_pasta_targets(&x, &y, &opt, m, NULL, NULL, &rep) == HATCH_ERR_INVALID_ARGUMENT, "stride 0 accepted");
  HATCH_EXPECT(c, hatch_pasta_targets(NULL, &y, NULL, m, NULL, NULL, &rep) == HATCH_ERR_INVALID_ARGUMENT, "NULL accepted");
  free(x.depth);
  free(y.depth);
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void test_speed_224(hatch_test_ctx *c) {
  double R[9];
  yaw_rotation(30, R);
  const double pos[3] = {-0.3, 0, 0.2};
  hatch_sample_image x = make_image(224, 224, 112, I3, ORIGIN, 0), y = make_image(224, 224, 112, R, pos, 0);
  render_depth(&x);
  render_depth(&y);
  float mxy[256], myx[256], s[256];
  const int reps = 20;
  double t0 = now_ms();
  for (int k = 0; k < reps; k++) HATCH_EXPECT_OK(c, hatch_pasta_targets(&x, &y, NULL, mxy, myx, s, NULL));
  double ms = (now_ms() - t0) / reps;
  printf("  pasta targets, two 224x224 views, both directions + S: %.3f ms\n", ms);
  HATCH_EXPECT(c, ms < 50, "%.1f ms is too slow", ms);
  free(x.depth);
  free(y.depth);
}

int main(int argc, char **argv) {
  static const hatch_test_case cases[] = {
      {"identical_views", test_identical_views, false},
      {"odd_shapes", test_odd_shapes, false},
      {"shift_one_cell", test_shift_one_cell, false},
      {"occluder", test_occluder, false},
      {"facing_away", test_facing_away, false},
      {"depth_tolerance", test_depth_tolerance, false},
      {"unknown_depth", test_unknown_depth, false},
      {"rotated_pair_brute_force", test_rotated_pair_brute_force, false},
      {"pinhole_round_trip", test_pinhole_round_trip, false},
      {"errors", test_errors, false},
      {"speed_224", test_speed_224, false},
  };
  return hatch_test_main(argc, argv, cases, (int)(sizeof cases / sizeof cases[0]));
}
