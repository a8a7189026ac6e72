/* World generation: a room, named coloured objects (no overlaps, inside the room), and the views of
 * one setting. Every random draw comes from one splitmix64 stream seeded by the seed, so a world is a
 * pure function of (seed, options). An attempt that breaks a rule (an object that does not fit, a view
 * that sees no object) is dropped and the next attempt continues the same stream. */
#include <stdio.h>
#include <string.h>

#include "sim/sim_internal.h"

#define SIM_MAX_ATTEMPTS 64
#define SIM_PLACE_TRIES 60
#define SIM_EYE_HEIGHT 1.5
#define SIM_MIN_VISIBLE 0.004 /* an object counts as seen when it covers this fraction of the image */

typedef struct sim_category {
  const char *name;
  hatch_sim_shape shape;
  double size[3]; /* typical full extent x, y (height), z in metres */
  bool large;     /* may be the central object of AMONG (big enough to be the scene's subject) */
} sim_category;

static const sim_category CATEGORIES[] = {
    {"chair", HATCH_SIM_BOX, {0.55, 0.95, 0.55}, true},   {"table", HATCH_SIM_BOX, {1.3, 0.75, 0.85}, true},
    {"sofa", HATCH_SIM_BOX, {1.9, 0.85, 0.9}, true},      {"cabinet", HATCH_SIM_BOX, {1.0, 1.7, 0.5}, true},
    {"box", HATCH_SIM_BOX, {0.6, 0.6, 0.6}, false},       {"lamp", HATCH_SIM_CYLINDER, {0.35, 1.6, 0.35}, false},
    {"bin", HATCH_SIM_CYLINDER, {0.45, 0.65, 0.45}, false}, {"plant", HATCH_SIM_CONE, {0.75, 1.25, 0.75}, true},
    {"ball", HATCH_SIM_SPHERE, {0.6, 0.6, 0.6}, false},
};
#define N_CATEGORIES ((int)(sizeof CATEGORIES / sizeof *CATEGORIES))

typedef struct sim_colour {
  const char *name;
  uint8_t rgb[3];
} sim_colour;

static const sim_colour COLOURS[] = {
    {"red", {205, 45, 40}},    {"green", {50, 160, 65}},   {"blue", {45, 85, 210}},  {"yellow", {235, 205, 45}},
    {"orange", {240, 135, 35}}, {"purple", {140, 70, 180}}, {"pink", {240, 120, 175}}, {"black", {40, 40, 45}},
};
#define N_COLOURS ((int)(sizeof COLOURS / sizeof *COLOURS))

/* Muted room colours, so that object colours stand out. */
static const uint8_t WALLS[][3] = {{176, 164, 140}, {140, 152, 166}, {150, 164, 140}, {180, 150, 132},
                                   {160, 160, 160}, {150, 140, 160}};
static const uint8_t FLOORS[][3] = {{150, 110, 75}, {115, 115, 120}, {90, 112, 110}, {130, 120, 100}};

/* Where objects may not go: discs around cameras and corridors a view must see through. */
typedef struct sim_keepout {
  int n_discs, n_segments;
  double disc[HATCH_SIM_MAX_VIEWS][3];       /* x, z, radius */
  double segment[HATCH_SIM_MAX_VIEWS][5];    /* x0, z0, x1, z1, clearance */
} sim_keepout;

static double footprint(const hatch_sim_object *o) { return 0.5 * hypot(o->size[0], o->size[2]); }

static double segment_distance(const double s[5], double x, double z) {
  double dx = s[2] - s[0], dz = s[3] - s[1], l2 = dx * dx + dz * dz;
  double t = l2 > 0 ? ((x - s[0]) * dx + (z - s[1]) * dz) / l2 : 0;
  t = t < 0 ? 0 : t > 1 ? 1 : t;
  return hypot(x - (s[0] + t * dx), z - (s[1] + t * dz));
}

/* Does a footprint of radius r at (x, z) fit: inside the room, clear of the objects so far (gap
 * apart) and of the keep-out regions. */
static bool fits(const hatch_sim_world *w, const sim_keepout *ko, double x, double z, double r, double gap) {
  if (fabs(x) + r > 0.5 * w->room[0] - 0.15 || fabs(z) + r > 0.5 * w->room[1] - 0.15) return false;
  for (int i = 0; i < w->n_objects; i++) {
    const hatch_sim_object *o = &w->objects[i];
    if (hypot(x - o->centre[0], z - o->centre[2]) < r + footprint(o) + gap) return false;
  }
  for (int i = 0; i < ko->n_discs; i++)
    if (hypot(x - ko->disc[i][0], z - ko->disc[i][1]) < r + ko->disc[i][2]) return false;
  for (int i = 0; i < ko->n_segments; i++)
    if (segment_distance(ko->segment[i], x, z) < r + ko->segment[i][4]) return false;
  return true;
}

/* Draws the next object's kind: unused categories and colours first, the name always unique; only
 * large categories when large_only. */
static void draw_kind(sim_rng *rng, const hatch_sim_world *w, bool large_only, hatch_sim_object *o) {
  bool cat_used[N_CATEGORIES] = {false}, col_used[N_COLOURS] = {false};
  for (int i = 0; i < w->n_objects; i++) {
    for (int k = 0; k < N_CATEGORIES; k++) cat_used[k] |= !strcmp(w->objects[i].category, CATEGORIES[k].name);
    for (int k = 0; k < N_COLOURS; k++) col_used[k] |= !strcmp(w->objects[i].colour, COLOURS[k].name);
  }
  for (;;) { /* terminates: at most 16 objects of 72 names */
    int k = sim_rng_int(rng, N_CATEGORIES), c = sim_rng_int(rng, N_COLOURS);
    if ((w->n_objects < N_CATEGORIES && cat_used[k]) || (large_only && !CATEGORIES[k].large)) continue;
    if (w->n_objects < N_COLOURS && col_used[c]) continue;
    char name[48];
    snprintf(name, sizeof name, "%s %s", COLOURS[c].name, CATEGORIES[k].name);
    bool taken = false;
    for (int i = 0; i < w->n_objects; i++) taken |= !strcmp(w->objects[i].name, name);
    if (taken) continue;
    memset(o, 0, sizeof *o);
    snprintf(o->category, sizeof o->category, "%s", CATEGORIES[k].name);
    snprintf(o->colour, sizeof o->colour, "%s", COLOURS[c].name);
    snprintf(o->name, sizeof o->name, "%s", name);
    o->shape = CATEGORIES[k].shape;
    memcpy(o->rgb, COLOURS[c].rgb, 3);
    double scale = sim_rng_uniform(rng, 0.9, 1.15);
    for (int j = 0; j < 3; j++) o->size[j] = CATEGORIES[k].size[j] * scale;
    o->yaw_deg = o->shape == HATCH_SIM_BOX ? sim_rng_uniform(rng, -180, 180) : 0;
    o->centre[1] = 0.5 * o->size[1];
    return;
  }
}

/* Places a new object at (x, z) when it fits. */
static bool try_place(hatch_sim_world *w, const sim_keepout *ko, const hatch_sim_object *kind, double x, double z,
                      double gap) {
  if (w->n_objects >= HATCH_SIM_MAX_OBJECTS || !fits(w, ko, x, z, footprint(kind), gap)) return false;
  hatch_sim_object *o = &w->objects[w->n_objects++];
  *o = *kind;
  o->centre[0] = x, o->centre[2] = z;
  return true;
}

/* Places an object anywhere in the room at least min_dist from (cx, cz). */
static bool place_random(hatch_sim_world *w, sim_rng *rng, const sim_keepout *ko, double cx, double cz, double min_dist) {
  hatch_sim_object kind;
  draw_kind(rng, w, false, &kind);
  for (int t = 0; t < SIM_PLACE_TRIES; t++) {
    double x = sim_rng_uniform(rng, -0.5 * w->room[0], 0.5 * w->room[0]);
    double z = sim_rng_uniform(rng, -0.5 * w->room[1], 0.5 * w->room[1]);
    if (hypot(x - cx, z - cz) >= min_dist && try_place(w, ko, &kind, x, z, 0.25)) return true;
  }
  return false;
}

/* Places an object at heading yaw (deg, the convention of the views) from (cx, cz), at a distance in
 * [d0, d1], the heading jittered by +-spread deg. */
static bool place_toward(hatch_sim_world *w, sim_rng *rng, const sim_keepout *ko, double cx, double cz, double yaw,
                         double spread, double d0, double d1, double gap) {
  hatch_sim_object kind;
  draw_kind(rng, w, w->n_objects == 0 && w->setting == HATCH_SIM_AMONG, &kind);
  for (int t = 0; t < SIM_PLACE_TRIES; t++) {
    double a = (yaw + sim_rng_uniform(rng, -spread, spread)) * SIM_DEG, d = sim_rng_uniform(rng, d0, d1);
    if (try_place(w, ko, &kind, cx - sin(a) * d, cz - cos(a) * d, gap)) return true;
  }
  return false;
}

static void set_view(hatch_sim_world *w, int k, const hatch_sim_options *opt, double x, double y, double z, double yaw,
                     double pitch) {
  hatch_sim_camera *c = &w->views[k];
  c->width = opt->width, c->height = opt->height;
  c->fx = c->fy = 0.5 * opt->width / tan(0.5 * opt->hfov_deg * SIM_DEG);
  c->cx = 0.5 * (opt->width - 1), c->cy = 0.5 * (opt->height - 1);
  c->position[0] = x, c->position[1] = y, c->position[2] = z;
  c->yaw_deg = remainder(yaw, 360.0);
  if (c->yaw_deg <= -180) c->yaw_deg += 360;
  c->pitch_deg = pitch;
}

/* Fraction of view k's image each object covers, sampled on a fixed grid of 96 columns over the image
 * (rows in proportion), so that the world a seed gives does not depend on the pixel count. */
static void visible_fractions(const hatch_sim_world *w, int k, double frac[HATCH_SIM_MAX_OBJECTS]) {
  const hatch_sim_camera *cam = &w->views[k];
  int cols = 96, rows = (int)ceil(96.0 * cam->height / cam->width), n = 0;
  int count[HATCH_SIM_MAX_OBJECTS] = {0};
  double R[9];
  hatch_sim_camera_matrix(cam, R, NULL);
  for (int i = 0; i < rows; i++)
    for (int j = 0; j < cols; j++) {
      double dir[3];
      sim_hit h;
      sim_pixel_ray(cam, R, (j + 0.5) * cam->width / cols - 0.5, (i + 0.5) * cam->height / rows - 0.5, dir);
      n++;
      if (sim_cast(w, cam->position, dir, &h) && h.surface >= 0) count[h.surface]++;
    }
  for (int i = 0; i < HATCH_SIM_MAX_OBJECTS; i++) frac[i] = n ? (double)count[i] / n : 0;
}

/* Does view k see one of the objects [first, last) well enough? */
static bool sees_any(const hatch_sim_world *w, int k, int first, int last, double min_frac) {
  double frac[HATCH_SIM_MAX_OBJECTS];
  visible_fractions(w, k, frac);
  for (int i = first; i < last; i++)
    if (frac[i] >= min_frac) return true;
  return false;
}

static void add_disc(sim_keepout *ko, double x, double z, double r) {
  if (ko->n_discs < HATCH_SIM_MAX_VIEWS) ko->disc[ko->n_discs][0] = x, ko->disc[ko->n_discs][1] = z, ko->disc[ko->n_discs++][2] = r;
}

/* One standing point; view k turned right by 90 k deg; objects spread so that each view has its own. */
static bool gen_rotation(hatch_sim_world *w, sim_rng *rng, const hatch_sim_options *opt, int n_obj) {
  sim_keepout ko = {0};
  double x = sim_rng_uniform(rng, -0.6, 0.6), z = sim_rng_uniform(rng, -0.6, 0.6), yaw0 = sim_rng_uniform(rng, -180, 180);
  add_disc(&ko, x, z, 0.9);
  for (int k = 0; k < w->n_views; k++) set_view(w, k, opt, x, SIM_EYE_HEIGHT, z, yaw0 - 90.0 * k, 0);
  for (int i = 0; i < n_obj; i++) {
    bool ok = place_toward(w, rng, &ko, x, z, yaw0 - 90.0 * (i % 4), 32, 1.6, 3.8, 0.25);
    if (!ok && i < w->n_views) return false;
    if (!ok && !place_random(w, rng, &ko, x, z, 1.5)) return false;
  }
  for (int k = 0; k < w->n_views; k++)
    if (!sees_any(w, k, 0, w->n_objects, SIM_MIN_VISIBLE)) return false;
  return true;
}

/* The camera moves clockwise (seen from above) along an arc around a group of 2-4 objects, facing the
 * group's centre; the other objects stand away from the group. */
static bool gen_around(hatch_sim_world *w, sim_rng *rng, const hatch_sim_options *opt, int n_obj) {
  sim_keepout ko = {0};
  double gx = sim_rng_uniform(rng, -0.5, 0.5), gz = sim_rng_uniform(rng, -0.5, 0.5);
  double r_max = fmin(0.5 * w->room[0] - fabs(gx), 0.5 * w->room[1] - fabs(gz)) - 0.6;
  double radius = fmin(sim_rng_uniform(rng, 2.5, 4.0), r_max);
  double arc = sim_rng_uniform(rng, 60, 120), yaw0 = sim_rng_uniform(rng, -180, 180);
  for (int k = 0; k < w->n_views; k++) {
    double yaw = yaw0 - (w->n_views > 1 ? arc * k / (w->n_views - 1) : 0), a = yaw * SIM_DEG;
    double x = gx + sin(a) * radius, z = gz + cos(a) * radius; /* behind the camera's forward (-sin, -cos) */
    set_view(w, k, opt, x, SIM_EYE_HEIGHT, z, yaw, 0);
    add_disc(&ko, x, z, 0.8);
  }
  int n_group = 2 + sim_rng_int(rng, 3);
  if (n_group > n_obj) n_group = n_obj;
  w->n_group = n_group;
  for (int i = 0; i < n_group; i++)
    if (!place_toward(w, rng, &ko, gx, gz, 0, 180, 0.2, 1.1, 0.12)) return false;
  for (int i = n_group; i < n_obj; i++)
    if (!place_random(w, rng, &ko, gx, gz, 2.0)) return false;
  for (int k = 0; k < w->n_views; k++)
    if (!sees_any(w, k, 0, n_group, SIM_MIN_VISIBLE)) return false;
  return true;
}

/* A central object; views front, left, back, right of it as seen from view 0 (view k's heading is view
 * 0's turned right by 90 k deg, so the cameras go clockwise seen from above), each facing the centre;
 * the rest beside and behind, never between a camera and the centre. */
static bool gen_among(hatch_sim_world *w, sim_rng *rng, const hatch_sim_options *opt, int n_obj) {
  sim_keepout ko = {0};
  double cx = sim_rng_uniform(rng, -0.4, 0.4), cz = sim_rng_uniform(rng, -0.4, 0.4);
  double r_max = fmin(0.5 * w->room[0] - fabs(cx), 0.5 * w->room[1] - fabs(cz)) - 0.6;
  double radius = fmin(sim_rng_uniform(rng, 2.5, 3.5), r_max), yaw0 = sim_rng_uniform(rng, -180, 180);
  for (int k = 0; k < w->n_views; k++) {
    double yaw = yaw0 - 90.0 * k, a = yaw * SIM_DEG;
    double x = cx + sin(a) * radius, z = cz + cos(a) * radius;
    set_view(w, k, opt, x, SIM_EYE_HEIGHT, z, yaw, 0);
    add_disc(&ko, x, z, 0.8);
  }
  if (!place_toward(w, rng, &ko, cx, cz, 0, 0, 0, 0, 0)) return false;
  w->central_object = 0;
  for (int k = 0; k < w->n_views; k++) {
    ko.segment[k][0] = w->views[k].position[0], ko.segment[k][1] = w->views[k].position[2];
    ko.segment[k][2] = cx, ko.segment[k][3] = cz, ko.segment[k][4] = 0.2;
  }
  ko.n_segments = w->n_views;
  for (int i = 1; i < n_obj; i++) {
    /* The first four on the diagonals between the views, then anywhere. */
    bool ok = i <= 4 && place_toward(w, rng, &ko, cx, cz, yaw0 - 45.0 - 90.0 * (i - 1), 20, 1.3, radius + 0.6, 0.2);
    if (!ok && !place_random(w, rng, &ko, cx, cz, 1.3)) return false;
  }
  for (int k = 0; k < w->n_views; k++)
    if (!sees_any(w, k, 0, 1, 2.5 * SIM_MIN_VISIBLE)) return false;
  return true;
}

/* Objects anywhere; each camera at a random spot and heading (small pitch) that sees an object. */
static bool gen_free(hatch_sim_world *w, sim_rng *rng, const hatch_sim_options *opt, int n_obj) {
  sim_keepout ko = {0};
  for (int i = 0; i < n_obj; i++)
    if (!place_random(w, rng, &ko, 0, 0, 0)) return false;
  for (int k = 0; k < w->n_views; k++) {
    bool ok = false;
    for (int t = 0; t < SIM_PLACE_TRIES && !ok; t++) {
      double x = sim_rng_uniform(rng, -0.5 * w->room[0] + 0.8, 0.5 * w->room[0] - 0.8);
      double z = sim_rng_uniform(rng, -0.5 * w->room[1] + 0.8, 0.5 * w->room[1] - 0.8);
      double y = sim_rng_uniform(rng, 1.2, 1.8), yaw = sim_rng_uniform(rng, -180, 180), pitch = sim_rng_uniform(rng, -15, 5);
      bool clear = true;
      for (int i = 0; i < w->n_objects; i++)
        clear &= hypot(x - w->objects[i].centre[0], z - w->objects[i].centre[2]) > footprint(&w->objects[i]) + 1.0;
      if (!clear) continue;
      set_view(w, k, opt, x, y, z, yaw, pitch);
      ok = sees_any(w, k, 0, w->n_objects, SIM_MIN_VISIBLE);
    }
    if (!ok) return false;
  }
  return true;
}

static hatch_status bad(char *err, const char *msg, int value) {
  if (err) snprintf(err, 256, "hatch_sim_world_generate: %s (got %d)", msg, value);
  return HATCH_ERR_INVALID_ARGUMENT;
}

hatch_status hatch_sim_world_generate(uint64_t seed, const hatch_sim_options *opt_in, hatch_sim_world *out,
                                      char err[256]) {
  if (err) err[0] = '\0';
  if (!out) return bad(err, "out is NULL", 0);
  hatch_sim_options opt = opt_in ? *opt_in : (hatch_sim_options){0};
  static const int default_views[HATCH_SIM_SETTING_COUNT] = {4, 3, 4, 3};
  static const int max_views[HATCH_SIM_SETTING_COUNT] = {4, HATCH_SIM_MAX_VIEWS, 4, HATCH_SIM_MAX_VIEWS};
  static const int min_objects[HATCH_SIM_SETTING_COUNT] = {1, 2, 1, 1};
  if ((int)opt.setting < 0 || opt.setting >= HATCH_SIM_SETTING_COUNT) return bad(err, "setting out of range", (int)opt.setting);
  if (opt.width == 0) opt.width = 224;
  if (opt.height == 0) opt.height = 224;
  if (opt.hfov_deg == 0) opt.hfov_deg = 90;
  if (opt.n_views == 0) opt.n_views = default_views[opt.setting];
  if (opt.width < 8 || opt.width > 4096) return bad(err, "width must be in 8..4096", opt.width);
  if (opt.height < 8 || opt.height > 4096) return bad(err, "height must be in 8..4096", opt.height);
  if (!(opt.hfov_deg >= 20 && opt.hfov_deg <= 150)) return bad(err, "hfov_deg must be in 20..150", (int)opt.hfov_deg);
  if (opt.n_views < 1 || opt.n_views > max_views[opt.setting])
    return bad(err, opt.setting == HATCH_SIM_ROTATION || opt.setting == HATCH_SIM_AMONG ? "n_views must be in 1..4 for this setting"
                                                                                         : "n_views must be in 1..8", opt.n_views);
  int min_obj = opt.setting == HATCH_SIM_ROTATION ? opt.n_views : min_objects[opt.setting];
  if (opt.n_objects != 0 && (opt.n_objects < min_obj || opt.n_objects > HATCH_SIM_MAX_OBJECTS))
    return bad(err, opt.setting == HATCH_SIM_ROTATION ? "n_objects must be in n_views..16 for rotation (every view sees one)"
                                                      : "n_objects out of range (around needs 2, at most 16)", opt.n_objects);

  sim_rng rng = {seed ^ ((uint64_t)(opt.setting + 1) * 0xd1b54a32d192ed03ull)};
  for (int attempt = 0; attempt < SIM_MAX_ATTEMPTS; attempt++) {
    hatch_sim_world *w = out;
    memset(w, 0, sizeof *w);
    w->seed = seed;
    w->setting = opt.setting;
    w->central_object = -1;
    w->n_views = opt.n_views;
    bool big = opt.setting == HATCH_SIM_AROUND || opt.setting == HATCH_SIM_AMONG;
    w->room[0] = sim_rng_uniform(&rng, big ? 8.5 : 7.0, big ? 11.0 : 10.0);
    w->room[1] = sim_rng_uniform(&rng, big ? 8.5 : 7.0, big ? 11.0 : 10.0);
    w->wall_height = sim_rng_uniform(&rng, 2.7, 3.2);
    memcpy(w->floor_rgb, FLOORS[sim_rng_int(&rng, 4)], 3);
    int order[6] = {0, 1, 2, 3, 4, 5};
    for (int i = 5; i > 0; i--) { /* Fisher-Yates: four distinct wall colours */
      int j = sim_rng_int(&rng, i + 1), t = order[i];
      order[i] = order[j], order[j] = t;
    }
    for (int k = 0; k < 4; k++) memcpy(w->wall_rgb[k], WALLS[order[k]], 3);
    int n_obj = opt.n_objects;
    if (n_obj == 0) {
      int lo = opt.setting == HATCH_SIM_AMONG ? 5 : 4, hi = 8;
      if (opt.setting == HATCH_SIM_ROTATION && lo < opt.n_views) lo = opt.n_views;
      n_obj = lo + sim_rng_int(&rng, hi - lo + 1);
    }
    bool ok = false;
    switch (opt.setting) {
    case HATCH_SIM_ROTATION: ok = gen_rotation(w, &rng, &opt, n_obj); break;
    case HATCH_SIM_AROUND: ok = gen_around(w, &rng, &opt, n_obj); break;
    case HATCH_SIM_AMONG: ok = gen_among(w, &rng, &opt, n_obj); break;
    default: ok = gen_free(w, &rng, &opt, n_obj); break;
    }
    if (ok && w->n_objects == n_obj) return HATCH_OK;
  }
  memset(out, 0, sizeof *out);
  return bad(err, "no world met the rules (objects fit, every view sees one) in 64 attempts; too many objects "
                  "or too narrow a field of view?", opt.n_objects);
}
