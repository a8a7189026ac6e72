/* The synthetic world (drivers/sim): frame conventions and relative poses checked by hand and against
 * the plan's teacher actions, exact depth and ids of analytic primitives, reprojection between views,
 * and the generated worlds of every setting (rules, determinism). Prints the time of one 224x224
 * render. CPU only. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"
#include "hatch/sim_world.h"

#define PI 3.14159265358979323846
#define DEG (PI / 180.0)

static bool near(double a, double b, double tol) { return fabs(a - b) <= tol; }

static double wrap180(double d) {
  d = fmod(d + 180.0, 360.0);
  if (d < 0) d += 360.0;
  return d - 180.0;
}

static hatch_sim_camera camera_at(double x, double y, double z, double yaw, double pitch, int w, int h, double hfov) {
  hatch_sim_camera c = {.width = w, .height = h, .position = {x, y, z}, .yaw_deg = yaw, .pitch_deg = pitch};
  c.fx = c.fy = 0.5 * w / tan(0.5 * hfov * DEG);
  c.cx = 0.5 * (w - 1), c.cy = 0.5 * (h - 1);
  return c;
}

/* An empty 6 x 6 x 3 m room with one camera at (0, 1.5, 0) facing north. */
static hatch_sim_world empty_room(int w, int h) {
  hatch_sim_world world;
  memset(&world, 0, sizeof world);
  world.room[0] = world.room[1] = 6;
  world.wall_height = 3;
  world.central_object = -1;
  world.n_views = 1;
  world.views[0] = camera_at(0, 1.5, 0, 0, 0, w, h, 90);
  memcpy(world.floor_rgb, (uint8_t[3]){120, 100, 80}, 3);
  for (int k = 0; k < 4; k++) memcpy(world.wall_rgb[k], (uint8_t[3]){150, 150, 150}, 3);
  return world;
}

static void add_object(hatch_sim_world *w, hatch_sim_shape shape, double x, double y, double z, double sx, double sy,
                       double sz, double yaw) {
  hatch_sim_object *o = &w->objects[w->n_objects++];
  memset(o, 0, sizeof *o);
  snprintf(o->name, sizeof o->name, "object %d", w->n_objects - 1);
  o->shape = shape;
  o->rgb[0] = 200, o->rgb[1] = 40, o->rgb[2] = 40;
  o->centre[0] = x, o->centre[1] = y, o->centre[2] = z;
  o->size[0] = sx, o->size[1] = sy, o->size[2] = sz;
  o->yaw_deg = yaw;
}

static void test_names(hatch_test_ctx *c) {
  HATCH_EXPECT(c, !strcmp(hatch_sim_setting_name(HATCH_SIM_ROTATION), "rotation") &&
                      !strcmp(hatch_sim_setting_name(HATCH_SIM_AROUND), "around") &&
                      !strcmp(hatch_sim_setting_name(HATCH_SIM_AMONG), "among") &&
                      !strcmp(hatch_sim_setting_name(HATCH_SIM_FREE), "free") && !hatch_sim_setting_name(HATCH_SIM_SETTING_COUNT),
               "setting names");
  HATCH_EXPECT(c, !strcmp(hatch_sim_shape_name(HATCH_SIM_BOX), "box") && !strcmp(hatch_sim_shape_name(HATCH_SIM_CONE), "cone") &&
                      !strcmp(hatch_sim_shape_name(HATCH_SIM_SPHERE), "sphere") &&
                      !strcmp(hatch_sim_shape_name(HATCH_SIM_CYLINDER), "cylinder") && !hatch_sim_shape_name(HATCH_SIM_SHAPE_COUNT),
               "shape names");
}

/* Frame conventions by hand: yaw 0 looks north (-z), yaw 90 west; optical x right, y down. */
static void test_frames(hatch_test_ctx *c) {
  double R[9], p[3];
  hatch_sim_camera north = camera_at(1, 1.5, 2, 0, 0, 64, 64, 90);
  hatch_sim_camera_matrix(&north, R, p);
  const double want_n[9] = {1, 0, 0, 0, -1, 0, 0, 0, -1}; /* columns: right = east, down = -y, forward = -z */
  for (int i = 0; i < 9; i++) HATCH_EXPECT(c, near(R[i], want_n[i], 1e-12), "north R[%d] = %f, want %f", i, R[i], want_n[i]);
  HATCH_EXPECT(c, p[0] == 1 && p[1] == 1.5 && p[2] == 2, "position");
  hatch_sim_camera west = camera_at(0, 1.5, 0, 90, 0, 64, 64, 90);
  hatch_sim_camera_matrix(&west, R, NULL);
  HATCH_EXPECT(c, near(R[2], -1, 1e-12) && near(R[5], 0, 1e-12) && near(R[8], 0, 1e-12), "yaw 90 looks west (-x)");
  HATCH_EXPECT(c, near(R[0], 0, 1e-12) && near(R[6], -1, 1e-12), "yaw 90: right is north (-z)");
  hatch_sim_camera up = camera_at(0, 1.5, 0, 0, 30, 64, 64, 90);
  hatch_sim_camera_matrix(&up, R, NULL);
  HATCH_EXPECT(c, near(R[5], sin(30 * DEG), 1e-12) && near(R[8], -cos(30 * DEG), 1e-12), "pitch 30 looks up");
  /* A point 2 m ahead and 0.5 m to the right of the west-facing camera, 0.3 m below its eye. */
  double q[3], back[3];
  hatch_sim_world_to_camera(&west, (double[3]){-2, 1.2, -0.5}, q);
  HATCH_EXPECT(c, near(q[0], 0.5, 1e-12) && near(q[1], 0.3, 1e-12) && near(q[2], 2, 1e-12), "world_to_camera (%f %f %f)", q[0], q[1], q[2]);
  for (int trial = 0; trial < 50; trial++) {
    hatch_sim_camera cam = camera_at(hatch_test_uniform(c, -3, 3), hatch_test_uniform(c, 0.5, 2), hatch_test_uniform(c, -3, 3),
                                     hatch_test_uniform(c, -180, 180), hatch_test_uniform(c, -40, 40), 64, 64, 90);
    double w[3] = {hatch_test_uniform(c, -5, 5), hatch_test_uniform(c, 0, 3), hatch_test_uniform(c, -5, 5)};
    hatch_sim_world_to_camera(&cam, w, q);
    hatch_sim_camera_to_world(&cam, q, back);
    double e = fabs(back[0] - w[0]) + fabs(back[1] - w[1]) + fabs(back[2] - w[2]);
    hatch_sim_camera_matrix(&cam, R, NULL);
    double det = R[0] * (R[4] * R[8] - R[5] * R[7]) - R[1] * (R[3] * R[8] - R[5] * R[6]) + R[2] * (R[3] * R[7] - R[4] * R[6]);
    HATCH_EXPECT(c, e < 1e-12 && near(det, 1, 1e-12) && near(R[3], 0, 1e-12), "round trip %g, det %f, no roll (right.y %g)", e, det, R[3]);
  }
}

static void test_relative_pose_by_hand(hatch_test_ctx *c) {
  hatch_relative_pose r;
  hatch_sim_camera a = camera_at(0, 1.5, 0, 0, 0, 64, 64, 90);
  hatch_sim_camera b = camera_at(0, 1.5, -2, 0, 0, 64, 64, 90); /* 2 m north, facing north */
  hatch_sim_relative_pose(&a, &b, &r);
  HATCH_EXPECT(c, near(r.t_m[0], 0, 1e-12) && near(r.t_m[1], 0, 1e-12) && near(r.t_m[2], 2, 1e-12) && near(r.yaw_deg, 0, 1e-9) &&
                      near(r.pitch_deg, 0, 1e-9), "B 2 m ahead: t (%f %f %f) yaw %f", r.t_m[0], r.t_m[1], r.t_m[2], r.yaw_deg);
  b.yaw_deg = 90; /* B turned left */
  hatch_sim_relative_pose(&a, &b, &r);
  HATCH_EXPECT(c, near(r.t_m[2], 2, 1e-12) && near(r.yaw_deg, 90, 1e-9), "B turned left: yaw %f", r.yaw_deg);
  b = camera_at(1, 2.0, 0, -90, 0, 64, 64, 90); /* 1 m east (right), 0.5 m up, turned right */
  hatch_sim_relative_pose(&a, &b, &r);
  HATCH_EXPECT(c, near(r.t_m[0], 1, 1e-12) && near(r.t_m[1], -0.5, 1e-12) && near(r.t_m[2], 0, 1e-12) && near(r.yaw_deg, -90, 1e-9),
               "B right and up: t (%f %f %f) yaw %f", r.t_m[0], r.t_m[1], r.t_m[2], r.yaw_deg);
  a.yaw_deg = 90; /* A faces west; B 2 m west of A, facing east (back at A) */
  b = camera_at(-2, 1.5, 0, -90, 0, 64, 64, 90);
  hatch_sim_relative_pose(&a, &b, &r);
  HATCH_EXPECT(c, near(r.t_m[0], 0, 1e-12) && near(r.t_m[2], 2, 1e-12) && near(fabs(r.yaw_deg), 180, 1e-9),
               "B ahead facing back: t (%f %f %f) yaw %f", r.t_m[0], r.t_m[1], r.t_m[2], r.yaw_deg);
  b = camera_at(0, 1.5, 0, 90, 20, 64, 64, 90); /* same spot, looking up */
  hatch_sim_relative_pose(&a, &b, &r);
  HATCH_EXPECT(c, near(r.pitch_deg, 20, 1e-9) && near(r.yaw_deg, 0, 1e-9), "pitch up 20: %f", r.pitch_deg);
}

/* Random camera pairs: teacher actions compose back to the relative pose within the grammar's
 * rounding (integer degrees, 2-decimal metres), and t_m is B's position in A's optical frame. */
static void test_relative_pose_actions(hatch_test_ctx *c) {
  for (int trial = 0; trial < 500; trial++) {
    hatch_sim_camera a = camera_at(hatch_test_uniform(c, -4, 4), hatch_test_uniform(c, 1, 2), hatch_test_uniform(c, -4, 4),
                                   hatch_test_uniform(c, -180, 180), hatch_test_uniform(c, -15, 15), 64, 64, 90);
    hatch_sim_camera b = camera_at(hatch_test_uniform(c, -4, 4), hatch_test_uniform(c, 1, 2), hatch_test_uniform(c, -4, 4),
                                   hatch_test_uniform(c, -180, 180), hatch_test_uniform(c, -15, 15), 64, 64, 90);
    hatch_relative_pose rel, back;
    hatch_sim_relative_pose(&a, &b, &rel);
    double q[3];
    hatch_sim_world_to_camera(&a, b.position, q);
    HATCH_EXPECT(c, near(q[0], rel.t_m[0], 1e-9) && near(q[1], rel.t_m[1], 1e-9) && near(q[2], rel.t_m[2], 1e-9),
                 "t_m is B's position in A's frame");
    hatch_plan_action acts[HATCH_PLAN_MAX_OPS];
    int n = hatch_plan_actions_from_pose(&rel, acts);
    hatch_plan_compose(acts, n, &back);
    double dist = sqrt(rel.t_m[0] * rel.t_m[0] + rel.t_m[1] * rel.t_m[1] + rel.t_m[2] * rel.t_m[2]);
    double dt = sqrt(pow(back.t_m[0] - rel.t_m[0], 2) + pow(back.t_m[1] - rel.t_m[1], 2) + pow(back.t_m[2] - rel.t_m[2], 2));
    /* Direction rounded by <= 0.5 deg in yaw and in pitch (<= 0.71 deg together), distance by <= 0.005 m. */
    double t_tol = 0.005 + dist * sin(0.71 * DEG) + 1e-9;
    HATCH_EXPECT(c, n >= 1 && n <= HATCH_PLAN_MAX_OPS && dt <= t_tol && fabs(wrap180(back.yaw_deg - rel.yaw_deg)) <= 0.5 + 1e-9 &&
                     fabs(back.pitch_deg - rel.pitch_deg) <= 0.5 + 1e-9,
                 "trial %d: |dt| %.4f (tol %.4f), yaw %.3f vs %.3f, pitch %.3f vs %.3f", trial, dt, t_tol, back.yaw_deg,
                 rel.yaw_deg, back.pitch_deg, rel.pitch_deg);
  }
}

/* A camera facing a wall 3 m away: every wall pixel has depth 3; floor pixels 1.5 / y. */
static void test_wall_depth(hatch_test_ctx *c) {
  const int W = 64, H = 48;
  hatch_sim_world world = empty_room(W, H);
  float depth[64 * 48];
  int16_t ids[64 * 48];
  uint8_t rgb[64 * 48 * 3];
  HATCH_EXPECT_OK(c, hatch_sim_render(&world, 0, rgb, depth));
  HATCH_EXPECT_OK(c, hatch_sim_render_ids(&world, 0, ids));
  const hatch_sim_camera *cam = &world.views[0];
  int wall_rows = 0, bad = 0;
  for (int v = 0; v < H; v++) {
    double y = (v - cam->cy) / cam->fy; /* optical y (down) of the ray with z = 1 */
    for (int u = 0; u < W; u++) {
      double d = depth[v * W + u], want = fabs(y) * 3 < 1.5 ? 3.0 : 1.5 / fabs(y); /* wall, else floor/ceiling */
      if (fabs(d - want) > 1e-4 || ids[v * W + u] != -1) bad++;
    }
    if (fabs(y) * 3 < 1.5) wall_rows++;
  }
  HATCH_EXPECT(c, bad == 0 && wall_rows > 0, "%d pixels off the analytic depth (wall rows %d)", bad, wall_rows);
  HATCH_EXPECT(c, hatch_sim_render(&world, 1, rgb, depth) == HATCH_ERR_INVALID_ARGUMENT, "bad view index");
  HATCH_EXPECT(c, hatch_sim_render(NULL, 0, rgb, depth) == HATCH_ERR_INVALID_ARGUMENT, "NULL world");
  world.views[0].position[0] = 9; /* outside the room */
  HATCH_EXPECT(c, hatch_sim_render(&world, 0, rgb, depth) == HATCH_ERR_INVALID_ARGUMENT, "camera outside the room");
}

/* One primitive 2 m ahead of the camera at its centre height; odd image sizes put a pixel centre on
 * the optical axis. Returns the centre depth; ids and (for the sphere) depths checked analytically. */
static double centre_depth(hatch_test_ctx *c, hatch_sim_shape shape, double sx, double sy, double sz, double yaw) {
  enum { W = 65, H = 49 };
  hatch_sim_world world = empty_room(W, H);
  add_object(&world, shape, 0, 1.5, -2, sx, sy, sz, yaw);
  static float depth[W * H];
  static int16_t ids[W * H];
  HATCH_EXPECT_OK(c, hatch_sim_render(&world, 0, NULL, depth));
  HATCH_EXPECT_OK(c, hatch_sim_render_ids(&world, 0, ids));
  int centre = (H / 2) * W + W / 2;
  HATCH_EXPECT(c, ids[centre] == 0, "%s: centre pixel id %d", hatch_sim_shape_name(shape), ids[centre]);
  if (shape == HATCH_SIM_SPHERE) { /* every pixel: hit iff the ray passes within r of the centre */
    const hatch_sim_camera *cam = &world.views[0];
    int bad = 0;
    double r = 0.5 * sx;
    for (int v = 0; v < H; v++)
      for (int u = 0; u < W; u++) {
        double d[3] = {(u - cam->cx) / cam->fx, (v - cam->cy) / cam->fy, 1}; /* centre at (0, 0, 2) in the camera */
        double dd = d[0] * d[0] + d[1] * d[1] + 1, pd = 2, disc = pd * pd - dd * (4 - r * r);
        if (fabs(disc) < 1e-6) continue; /* grazing */
        int want = disc > 0 ? 0 : -1;
        if (ids[v * W + u] != want) bad++;
        if (want == 0 && fabs(depth[v * W + u] - (pd - sqrt(disc)) / dd) > 1e-4) bad++;
      }
    HATCH_EXPECT(c, bad == 0, "sphere: %d pixels off the analytic ids/depth", bad);
  }
  return depth[centre];
}

static void test_primitives(hatch_test_ctx *c) {
  double d = centre_depth(c, HATCH_SIM_SPHERE, 1.0, 1.0, 1.0, 0);
  HATCH_EXPECT(c, near(d, 1.5, 1e-4), "sphere r 0.5 at 2 m: depth %f, want 1.5", d);
  d = centre_depth(c, HATCH_SIM_BOX, 1.0, 1.0, 1.0, 0);
  HATCH_EXPECT(c, near(d, 1.5, 1e-4), "box 1 m at 2 m: depth %f, want 1.5", d);
  d = centre_depth(c, HATCH_SIM_BOX, 1.0, 1.0, 1.0, 45);
  HATCH_EXPECT(c, near(d, 2 - sqrt(0.5), 1e-4), "box yawed 45: depth %f, want %f (its edge)", d, 2 - sqrt(0.5));
  d = centre_depth(c, HATCH_SIM_BOX, 0.6, 1.0, 1.4, 90);
  HATCH_EXPECT(c, near(d, 1.7, 1e-4), "box 0.6 x 1.4 yawed 90: depth %f, want 1.7", d);
  d = centre_depth(c, HATCH_SIM_CYLINDER, 0.6, 1.0, 0.6, 0);
  HATCH_EXPECT(c, near(d, 1.7, 1e-4), "cylinder r 0.3: depth %f, want 1.7", d);
  d = centre_depth(c, HATCH_SIM_CONE, 1.0, 1.2, 1.0, 0); /* at mid height its radius is half the base's */
  HATCH_EXPECT(c, near(d, 1.75, 1e-4), "cone base r 0.5 at mid height: depth %f, want 1.75", d);
}

/* Back-project pixels of a generated view, aim a second camera straight at each point (it lands on a
 * pixel centre: odd image size), and compare that camera's depth with the point's depth. */
static void test_reprojection(hatch_test_ctx *c) {
  hatch_sim_options opt = {.setting = HATCH_SIM_AMONG, .width = 97, .height = 81};
  hatch_sim_world world;
  char err[256];
  HATCH_EXPECT_OK(c, hatch_sim_world_generate(11, &opt, &world, err));
  static float depth_a[97 * 81], depth_b[97 * 81];
  HATCH_EXPECT_OK(c, hatch_sim_render(&world, 0, NULL, depth_a));
  const hatch_sim_camera a = world.views[0];
  int agree = 0, beyond = 0, n = 0, on_objects = 0;
  for (int trial = 0; trial < 120; trial++) {
    int u = (int)hatch_test_uniform(c, 0, 96.99f), v = (int)hatch_test_uniform(c, 0, 80.99f);
    double z = depth_a[v * 97 + u];
    double q[3] = {(u - a.cx) / a.fx * z, (v - a.cy) / a.fy * z, z}, p[3];
    hatch_sim_camera_to_world(&a, q, p);
    /* B halfway between A and the point, moved up to 0.4 m sideways and 0.3 m up or down. */
    double bx = 0.5 * (a.position[0] + p[0]) + hatch_test_uniform(c, -0.4f, 0.4f);
    double by = 0.5 * (a.position[1] + p[1]) + hatch_test_uniform(c, -0.3f, 0.3f);
    double bz = 0.5 * (a.position[2] + p[2]) + hatch_test_uniform(c, -0.4f, 0.4f);
    if (by < 0.1) by = 0.1;
    double dx = p[0] - bx, dy = p[1] - by, dz = p[2] - bz;
    hatch_sim_world wb = world;
    wb.views[1] = camera_at(bx, by, bz, atan2(-dx, -dz) / DEG, atan2(dy, hypot(dx, dz)) / DEG, 97, 81, 90);
    double qb[3];
    hatch_sim_world_to_camera(&wb.views[1], p, qb);
    HATCH_EXPECT(c, near(qb[0], 0, 1e-9) && near(qb[1], 0, 1e-9), "the point projects to B's principal point");
    if (hatch_sim_render(&wb, 1, NULL, depth_b) != HATCH_OK) continue;
    double db = depth_b[40 * 97 + 48];
    n++;
    int16_t ids[97 * 81];
    if (hatch_sim_render_ids(&world, 0, ids) == HATCH_OK && ids[v * 97 + u] >= 0) on_objects++;
    if (fabs(db - qb[2]) <= 1e-4 * qb[2]) agree++;
    else if (db > qb[2]) beyond++; /* B would see through the surface point: never right */
  }
  printf("  reprojection: %d of %d points agree (%d on objects), %d seen beyond\n", agree, n, on_objects, beyond);
  HATCH_EXPECT(c, n >= 100 && agree >= n * 9 / 10 && beyond <= n / 50, "%d of %d agree, %d beyond", agree, n, beyond);
}

static bool overlapping(const hatch_sim_object *a, const hatch_sim_object *b) {
  return hypot(a->centre[0] - b->centre[0], a->centre[2] - b->centre[2]) <
         0.5 * hypot(a->size[0], a->size[2]) + 0.5 * hypot(b->size[0], b->size[2]);
}

/* Every setting, 12 seeds: the rules of hatch_sim_world_generate and of each setting's rig. */
static void test_generate(hatch_test_ctx *c) {
  static int16_t ids[112 * 112];
  for (int s = 0; s < HATCH_SIM_SETTING_COUNT; s++)
    for (uint64_t seed = 1; seed <= 12; seed++) {
      hatch_sim_options opt = {.setting = (hatch_sim_setting)s, .width = 112, .height = 112};
      hatch_sim_world w;
      char err[256];
      hatch_status st = hatch_sim_world_generate(seed, &opt, &w, err);
      HATCH_EXPECT(c, st == HATCH_OK, "%s seed %llu: %s", hatch_sim_setting_name(s), (unsigned long long)seed, err);
      if (st != HATCH_OK) continue;
      const char *name = hatch_sim_setting_name(s);
      static const int views[] = {4, 3, 4, 3};
      HATCH_EXPECT(c, w.n_views == views[s] && w.setting == (hatch_sim_setting)s && w.seed == seed, "%s: %d views", name, w.n_views);
      HATCH_EXPECT(c, w.n_objects >= 2 && w.n_objects <= HATCH_SIM_MAX_OBJECTS, "%s: %d objects", name, w.n_objects);
      for (int i = 0; i < w.n_objects; i++) {
        const hatch_sim_object *o = &w.objects[i];
        double r = 0.5 * hypot(o->size[0], o->size[2]);
        HATCH_EXPECT(c, fabs(o->centre[0]) + r <= 0.5 * w.room[0] && fabs(o->centre[2]) + r <= 0.5 * w.room[1] &&
                            near(o->centre[1], 0.5 * o->size[1], 1e-12) && o->size[1] < w.wall_height,
                     "%s seed %llu: %s outside the room or not on the floor", name, (unsigned long long)seed, o->name);
        char want[48];
        snprintf(want, sizeof want, "%s %s", o->colour, o->category);
        HATCH_EXPECT(c, !strcmp(o->name, want), "name \"%s\" is colour + category", o->name);
        for (int j = 0; j < i; j++) {
          HATCH_EXPECT(c, strcmp(o->name, w.objects[j].name) != 0, "%s: name %s repeated", name, o->name);
          HATCH_EXPECT(c, !overlapping(o, &w.objects[j]), "%s seed %llu: %s overlaps %s", name, (unsigned long long)seed,
                       o->name, w.objects[j].name);
        }
      }
      for (int k = 0; k < w.n_views; k++) {
        const hatch_sim_camera *v = &w.views[k];
        HATCH_EXPECT(c, v->width == 112 && v->height == 112 && near(v->fx, 56, 1e-9) && near(v->cx, 55.5, 1e-12),
                     "intrinsics (hfov 90)");
        HATCH_EXPECT_OK(c, hatch_sim_render_ids(&w, k, ids));
        int seen[HATCH_SIM_MAX_OBJECTS] = {0}, any = 0;
        for (int i = 0; i < 112 * 112; i++)
          if (ids[i] >= 0) seen[ids[i]]++;
        for (int i = 0; i < w.n_objects; i++) any |= seen[i] >= 20;
        HATCH_EXPECT(c, any, "%s seed %llu view %d sees no object", name, (unsigned long long)seed, k);
        if (s != HATCH_SIM_FREE) HATCH_EXPECT(c, v->position[1] == 1.5 && v->pitch_deg == 0, "standing eye height, level");
        if (s == HATCH_SIM_ROTATION) {
          HATCH_EXPECT(c, !memcmp(v->position, w.views[0].position, sizeof v->position) &&
                              near(wrap180(v->yaw_deg - w.views[0].yaw_deg), wrap180(-90.0 * k), 1e-9),
                       "rotation: one point, turned right by 90 per view");
        }
        if (s == HATCH_SIM_AMONG) {
          const hatch_sim_object *ctr = &w.objects[w.central_object];
          double q[3];
          hatch_sim_world_to_camera(v, ctr->centre, q);
          double dist = hypot(q[0], q[2]);
          HATCH_EXPECT(c, w.central_object == 0 && near(q[0], 0, 1e-9) && q[2] > 0 && dist >= 2.2 && dist <= 3.5 + 1e-9 &&
                              seen[0] >= 60 && near(wrap180(v->yaw_deg - w.views[0].yaw_deg), wrap180(-90.0 * k), 1e-9),
                       "among view %d: faces the central object (x %f, dist %f, %d px)", k, q[0], dist, seen[0]);
        }
        if (s == HATCH_SIM_AROUND) { /* faces the group: its centroid within 1.1 m of the optical axis, 2.5-4 m away */
          double g[3] = {0, 1.5, 0}, q[3];
          for (int i = 0; i < w.n_group; i++) g[0] += w.objects[i].centre[0] / w.n_group, g[2] += w.objects[i].centre[2] / w.n_group;
          hatch_sim_world_to_camera(v, g, q);
          HATCH_EXPECT(c, fabs(q[0]) <= 1.1 && q[2] >= 2.5 - 1.1 && q[2] <= 4 + 1.1 && seen[0] + seen[1] + seen[2] + seen[3] >= 20,
                       "around view %d: group at (%f, %f) in the camera", k, q[0], q[2]);
        }
        if (s == HATCH_SIM_AROUND && k > 0) {
          double dyaw = wrap180(v->yaw_deg - w.views[k - 1].yaw_deg) * (w.n_views - 1);
          HATCH_EXPECT(c, dyaw <= -60 + 1e-6 && dyaw >= -120 - 1e-6, "around: the arc goes clockwise, 60..120 deg (%f)", dyaw);
        }
        if (s != HATCH_SIM_AMONG) HATCH_EXPECT(c, w.central_object == -1, "central object only for among");
        HATCH_EXPECT(c, s == HATCH_SIM_AROUND ? w.n_group >= 2 && w.n_group <= 4 : w.n_group == 0, "n_group %d", w.n_group);
      }
    }
}

static void test_determinism(hatch_test_ctx *c) {
  hatch_sim_options opt = {.setting = HATCH_SIM_FREE, .width = 96, .height = 80};
  hatch_sim_world a, b, other;
  char err[256];
  HATCH_EXPECT_OK(c, hatch_sim_world_generate(42, &opt, &a, err));
  HATCH_EXPECT_OK(c, hatch_sim_world_generate(42, &opt, &b, err));
  HATCH_EXPECT_OK(c, hatch_sim_world_generate(43, &opt, &other, err));
  HATCH_EXPECT(c, !memcmp(&a, &b, sizeof a), "same seed, same world");
  HATCH_EXPECT(c, memcmp(&a.objects, &other.objects, sizeof a.objects) != 0, "another seed, another world");
  static uint8_t ra[96 * 80 * 3], rb[96 * 80 * 3];
  HATCH_EXPECT_OK(c, hatch_sim_render(&a, 1, ra, NULL));
  HATCH_EXPECT_OK(c, hatch_sim_render(&b, 1, rb, NULL));
  HATCH_EXPECT(c, !memcmp(ra, rb, sizeof ra), "same pixels");
  /* The world does not depend on the pixel count (only on the aspect ratio). */
  hatch_sim_options big = opt;
  big.width = 192, big.height = 160;
  HATCH_EXPECT_OK(c, hatch_sim_world_generate(42, &big, &b, err));
  bool same = a.n_objects == b.n_objects && a.n_views == b.n_views && !memcmp(a.objects, b.objects, sizeof a.objects);
  for (int k = 0; k < a.n_views; k++)
    same &= !memcmp(a.views[k].position, b.views[k].position, sizeof a.views[k].position) &&
            a.views[k].yaw_deg == b.views[k].yaw_deg && a.views[k].pitch_deg == b.views[k].pitch_deg;
  HATCH_EXPECT(c, same, "96x80 and 192x160 give the same world");
  /* Bad options are named. */
  hatch_sim_options badopt = {.setting = HATCH_SIM_ROTATION, .n_views = 5};
  HATCH_EXPECT(c, hatch_sim_world_generate(1, &badopt, &a, err) == HATCH_ERR_INVALID_ARGUMENT && strstr(err, "n_views"), "%s", err);
  badopt = (hatch_sim_options){.setting = HATCH_SIM_AROUND, .n_objects = 17};
  HATCH_EXPECT(c, hatch_sim_world_generate(1, &badopt, &a, err) == HATCH_ERR_INVALID_ARGUMENT && strstr(err, "n_objects"), "%s", err);
  badopt = (hatch_sim_options){.setting = HATCH_SIM_FREE, .hfov_deg = 190};
  HATCH_EXPECT(c, hatch_sim_world_generate(1, &badopt, &a, err) == HATCH_ERR_INVALID_ARGUMENT && strstr(err, "hfov"), "%s", err);
  badopt = (hatch_sim_options){.setting = HATCH_SIM_SETTING_COUNT};
  HATCH_EXPECT(c, hatch_sim_world_generate(1, &badopt, &a, err) == HATCH_ERR_INVALID_ARGUMENT && strstr(err, "setting"), "%s", err);
  /* Options honoured: view count, object count, size. */
  hatch_sim_options many = {.setting = HATCH_SIM_AROUND, .n_views = 6, .n_objects = 10, .width = 64, .height = 32, .hfov_deg = 70};
  HATCH_EXPECT_OK(c, hatch_sim_world_generate(5, &many, &a, err));
  HATCH_EXPECT(c, a.n_views == 6 && a.n_objects == 10 && a.views[3].width == 64 && a.views[3].height == 32 &&
                      near(a.views[0].fx, 32 / tan(35 * DEG), 1e-9), "options: %d views, %d objects", a.n_views, a.n_objects);
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Not a timing assertion: prints what one 224 x 224 view costs (RGB + depth, then ids). */
static void test_render_time(hatch_test_ctx *c) {
  hatch_sim_world w;
  char err[256];
  HATCH_EXPECT_OK(c, hatch_sim_world_generate(3, &(hatch_sim_options){.setting = HATCH_SIM_AMONG, .n_objects = 12}, &w, err));
  uint8_t *rgb = malloc(224 * 224 * 3);
  float *depth = malloc(224 * 224 * sizeof *depth);
  int16_t *ids = malloc(224 * 224 * sizeof *ids);
  double t0 = now_s(), t1 = t0, t2 = t0;
  if (rgb && depth && ids) {
    int reps = 10;
    for (int i = 0; i < reps; i++) HATCH_EXPECT_OK(c, hatch_sim_render(&w, i % w.n_views, rgb, depth));
    t1 = now_s();
    for (int i = 0; i < reps; i++) HATCH_EXPECT_OK(c, hatch_sim_render_ids(&w, i % w.n_views, ids));
    t2 = now_s();
    printf("  224x224, %d objects: render (rgb + depth) %.2f ms, ids %.2f ms per view\n", w.n_objects,
           (t1 - t0) * 1e3 / reps, (t2 - t1) * 1e3 / reps);
    bool positive = true;
    for (int i = 0; i < 224 * 224; i++) positive &= depth[i] > 0 && isfinite(depth[i]);
    HATCH_EXPECT(c, positive, "depth > 0 everywhere");
  }
  double g0 = now_s();
  for (uint64_t s = 100; s < 110; s++) HATCH_EXPECT_OK(c, hatch_sim_world_generate(s, &(hatch_sim_options){.setting = HATCH_SIM_FREE}, &w, err));
  printf("  world generation (free, 224x224 views): %.2f ms per world\n", (now_s() - g0) * 1e3 / 10);
  free(rgb);
  free(depth);
  free(ids);
}

int main(int argc, char **argv) {
  static const hatch_test_case cases[] = {
      {"names", test_names, false},
      {"frames", test_frames, false},
      {"relative_pose_by_hand", test_relative_pose_by_hand, false},
      {"relative_pose_actions", test_relative_pose_actions, false},
      {"wall_depth", test_wall_depth, false},
      {"primitives", test_primitives, false},
      {"reprojection", test_reprojection, false},
      {"generate", test_generate, false},
      {"determinism", test_determinism, false},
      {"render_time", test_render_time, false},
  };
  return hatch_test_main(argc, argv, cases, (int)(sizeof cases / sizeof *cases));
}
