/* The renderer of the synthetic world: one ray per pixel (through the pixel centre) cast against
 * analytic primitives, so depth and ids are exact. Objects are intersected in their unit frame (the
 * object frame scaled by its half sizes: a unit box, sphere, capped cylinder or capped cone), where
 * the ray parameter is unchanged. Shading: two fixed directional lights plus ambient (Lambert), and a
 * world-anchored tile texture on the floor and walls so that views have texture to correspond. */
#include <float.h>
#include <stddef.h>

#include "sim/sim_internal.h"

#define SIM_EPS 1e-9

/* Light directions (unit, pointing toward the light) and weights. */
static const double KEY_L[3] = {0.408248290463863, 0.816496580927726, 0.408248290463863}; /* (1,2,1)/sqrt 6 */
static const double FILL_L[3] = {-0.577350269189626, 0.577350269189626, -0.577350269189626};
#define SIM_AMBIENT 0.42
#define SIM_KEY 0.48
#define SIM_FILL 0.18
static const uint8_t CEILING_RGB[3] = {226, 224, 218};

/* Smallest root t > SIM_EPS of a t^2 + b t + c = 0 whose point's unit-frame y (oy + t dy) lies in
 * [-1, 1]; DBL_MAX when none. */
static double quadric_root(double a, double b, double c, double oy, double dy) {
  if (fabs(a) < 1e-15) {
    if (fabs(b) < 1e-15) return DBL_MAX;
    double t = -c / b;
    return t > SIM_EPS && fabs(oy + t * dy) <= 1.0 ? t : DBL_MAX;
  }
  double disc = b * b - 4 * a * c;
  if (disc < 0) return DBL_MAX;
  double s = sqrt(disc);
  double q = b < 0 ? -0.5 * (b - s) : -0.5 * (b + s); /* stable form */
  double t0 = q / a, t1 = q != 0 ? c / q : t0;
  if (t0 > t1) {
    double tmp = t0;
    t0 = t1, t1 = tmp;
  }
  if (t0 > SIM_EPS && fabs(oy + t0 * dy) <= 1.0) return t0;
  if (t1 > SIM_EPS && fabs(oy + t1 * dy) <= 1.0) return t1;
  return DBL_MAX;
}

/* A cap disc y = yc of radius 1 (x^2 + z^2 <= 1). */
static double cap_root(const double o[3], const double d[3], double yc) {
  if (fabs(d[1]) < 1e-15) return DBL_MAX;
  double t = (yc - o[1]) / d[1];
  if (t <= SIM_EPS) return DBL_MAX;
  double x = o[0] + t * d[0], z = o[2] + t * d[2];
  return x * x + z * z <= 1.0 ? t : DBL_MAX;
}

/* Intersects the unit primitive; *t (in/out) is the nearest so far; n gets the unit-frame normal. */
static int unit_intersect(hatch_sim_shape shape, const double o[3], const double d[3], double *t, double n[3]) {
  double best = *t;
  int got = 0;
  if (shape == HATCH_SIM_BOX) {
    double tn = -DBL_MAX, tf = DBL_MAX;
    int axis = -1;
    for (int k = 0; k < 3; k++) {
      if (fabs(d[k]) < 1e-15) {
        if (fabs(o[k]) > 1.0) return 0;
        continue;
      }
      double a = (-1.0 - o[k]) / d[k], b = (1.0 - o[k]) / d[k];
      if (a > b) {
        double tmp = a;
        a = b, b = tmp;
      }
      if (a > tn) tn = a, axis = k;
      if (b < tf) tf = b;
    }
    if (axis < 0 || tn > tf || tn <= SIM_EPS || tn >= best) return 0;
    *t = tn;
    n[0] = n[1] = n[2] = 0;
    n[axis] = d[axis] > 0 ? -1.0 : 1.0;
    return 1;
  }
  if (shape == HATCH_SIM_SPHERE) {
    double a = d[0] * d[0] + d[1] * d[1] + d[2] * d[2];
    double b = 2 * (o[0] * d[0] + o[1] * d[1] + o[2] * d[2]);
    double c = o[0] * o[0] + o[1] * o[1] + o[2] * o[2] - 1.0;
    double r = quadric_root(a, b, c, 0, 0);
    if (r >= best) return 0;
    *t = r;
    for (int k = 0; k < 3; k++) n[k] = o[k] + r * d[k];
    return 1;
  }
  if (shape == HATCH_SIM_CYLINDER) {
    double r = quadric_root(d[0] * d[0] + d[2] * d[2], 2 * (o[0] * d[0] + o[2] * d[2]),
                            o[0] * o[0] + o[2] * o[2] - 1.0, o[1], d[1]);
    if (r < best) {
      best = r, got = 1;
      n[0] = o[0] + r * d[0], n[1] = 0, n[2] = o[2] + r * d[2];
    }
    for (int s = -1; s <= 1; s += 2) {
      double rc = cap_root(o, d, s);
      if (rc < best) best = rc, got = 1, n[0] = 0, n[1] = s, n[2] = 0;
    }
    if (got) *t = best;
    return got;
  }
  if (shape == HATCH_SIM_CONE) { /* apex at y = 1, base radius 1 at y = -1: x^2 + z^2 = ((1 - y) / 2)^2 */
    double w = 1.0 - o[1];
    double r = quadric_root(d[0] * d[0] + d[2] * d[2] - 0.25 * d[1] * d[1],
                            2 * (o[0] * d[0] + o[2] * d[2]) + 0.5 * w * d[1],
                            o[0] * o[0] + o[2] * o[2] - 0.25 * w * w, o[1], d[1]);
    if (r < best) {
      best = r, got = 1;
      double y = o[1] + r * d[1];
      n[0] = 2 * (o[0] + r * d[0]), n[1] = 0.5 * (1.0 - y), n[2] = 2 * (o[2] + r * d[2]);
    }
    double rc = cap_root(o, d, -1.0);
    if (rc < best) best = rc, got = 1, n[0] = 0, n[1] = -1, n[2] = 0;
    if (got) *t = best;
    return got;
  }
  return 0;
}

static void normalize3(double v[3]) {
  double l = sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);
  if (l > 0) v[0] /= l, v[1] /= l, v[2] /= l;
}

int sim_cast(const hatch_sim_world *world, const double origin[3], const double dir[3], sim_hit *hit) {
  const double lo[3] = {-0.5 * world->room[0], 0.0, -0.5 * world->room[1]};
  const double hi[3] = {0.5 * world->room[0], world->wall_height, 0.5 * world->room[1]};
  for (int k = 0; k < 3; k++)
    if (!(origin[k] > lo[k] && origin[k] < hi[k])) return 0;
  /* The room seen from inside: the nearest exit plane. */
  static const int surf[3][2] = {{SIM_SURF_WALL_W, SIM_SURF_WALL_E}, {SIM_SURF_FLOOR, SIM_SURF_CEILING},
                                 {SIM_SURF_WALL_N, SIM_SURF_WALL_S}};
  double best = DBL_MAX;
  int surface = 0, axis = 0;
  for (int k = 0; k < 3; k++) {
    if (fabs(dir[k]) < 1e-15) continue;
    double t = ((dir[k] > 0 ? hi[k] : lo[k]) - origin[k]) / dir[k];
    if (t < best) best = t, surface = surf[k][dir[k] > 0], axis = k;
  }
  double n[3] = {0, 0, 0};
  n[axis] = dir[axis] > 0 ? -1.0 : 1.0;
  int n_objects = world->n_objects < 0 ? 0 : world->n_objects > HATCH_SIM_MAX_OBJECTS ? HATCH_SIM_MAX_OBJECTS : world->n_objects;
  for (int i = 0; i < n_objects; i++) {
    const hatch_sim_object *ob = &world->objects[i];
    double h[3] = {0.5 * ob->size[0], 0.5 * ob->size[1], 0.5 * ob->size[2]};
    if (!(h[0] > 0 && h[1] > 0 && h[2] > 0)) continue;
    double p[3] = {origin[0] - ob->centre[0], origin[1] - ob->centre[1], origin[2] - ob->centre[2]};
    /* Bounding sphere first: skip objects the ray misses or that lie behind the best hit. */
    double r2 = h[0] * h[0] + h[1] * h[1] + h[2] * h[2];
    double dd = dir[0] * dir[0] + dir[1] * dir[1] + dir[2] * dir[2];
    double pd = p[0] * dir[0] + p[1] * dir[1] + p[2] * dir[2];
    double pp = p[0] * p[0] + p[1] * p[1] + p[2] * p[2];
    if (pd * pd - dd * (pp - r2) < 0) continue;
    if ((-pd - sqrt(pd * pd - dd * (pp - r2))) / dd >= best) continue;
    double c = cos(ob->yaw_deg * SIM_DEG), s = sin(ob->yaw_deg * SIM_DEG);
    /* object = Ry(yaw)^T (world - centre), then divided by the half sizes */
    double o[3] = {(c * p[0] - s * p[2]) / h[0], p[1] / h[1], (s * p[0] + c * p[2]) / h[2]};
    double d[3] = {(c * dir[0] - s * dir[2]) / h[0], dir[1] / h[1], (s * dir[0] + c * dir[2]) / h[2]};
    double t = best, nu[3];
    if (!unit_intersect(ob->shape, o, d, &t, nu)) continue;
    best = t, surface = i;
    double no[3] = {nu[0] / h[0], nu[1] / h[1], nu[2] / h[2]}; /* inverse transpose of the scaling */
    n[0] = c * no[0] + s * no[2], n[1] = no[1], n[2] = -s * no[0] + c * no[2]; /* Ry(yaw) */
  }
  normalize3(n);
  if (n[0] * dir[0] + n[1] * dir[1] + n[2] * dir[2] > 0) n[0] = -n[0], n[1] = -n[1], n[2] = -n[2];
  hit->t = best;
  hit->surface = surface;
  for (int k = 0; k < 3; k++) hit->point[k] = origin[k] + best * dir[k], hit->normal[k] = n[k];
  return 1;
}

/* A brightness factor in [1 - amp, 1 + amp] for integer cell (a, b) of surface s. */
static double cell_noise(int64_t a, int64_t b, int s, double amp) {
  uint64_t z = (uint64_t)a * 0x9e3779b97f4a7c15ull ^ (uint64_t)b * 0xc2b2ae3d27d4eb4full ^ (uint64_t)(s + 16) * 0x165667b19e3779f9ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  z ^= z >> 31;
  return 1.0 + amp * ((double)(z >> 11) * (2.0 / 9007199254740992.0) - 1.0);
}

/* Texture of the room surfaces: 0.5 m floor tiles (checker plus per-tile variation), 0.25 m wall
 * cells and a dark skirting board. */
static double room_texture(const sim_hit *h) {
  const double *p = h->point;
  if (h->surface == SIM_SURF_FLOOR) {
    int64_t a = (int64_t)floor(p[0] / 0.5), b = (int64_t)floor(p[2] / 0.5);
    return ((a + b) & 1 ? 0.9 : 1.05) * cell_noise(a, b, h->surface, 0.06);
  }
  if (h->surface == SIM_SURF_CEILING) return 1.0;
  if (p[1] < 0.1) return 0.55;
  double along = h->surface == SIM_SURF_WALL_N || h->surface == SIM_SURF_WALL_S ? p[0] : p[2];
  return cell_noise((int64_t)floor(along / 0.25), (int64_t)floor(p[1] / 0.25), h->surface, 0.1);
}

static void shade(const hatch_sim_world *world, const sim_hit *h, uint8_t out[3]) {
  const uint8_t *base;
  double tex = 1.0;
  if (h->surface >= 0) base = world->objects[h->surface].rgb;
  else {
    tex = room_texture(h);
    if (h->surface == SIM_SURF_FLOOR) base = world->floor_rgb;
    else if (h->surface == SIM_SURF_CEILING) base = CEILING_RGB;
    else base = world->wall_rgb[SIM_SURF_WALL_N - h->surface]; /* N, W, S, E = 0..3 */
  }
  const double *n = h->normal;
  double key = n[0] * KEY_L[0] + n[1] * KEY_L[1] + n[2] * KEY_L[2];
  double fill = n[0] * FILL_L[0] + n[1] * FILL_L[1] + n[2] * FILL_L[2];
  double light = SIM_AMBIENT + SIM_KEY * (key > 0 ? key : 0) + SIM_FILL * (fill > 0 ? fill : 0);
  if (h->surface == SIM_SURF_CEILING) light = 0.85; /* lit from below by the room: keep it pale */
  for (int k = 0; k < 3; k++) {
    double v = base[k] * light * tex + 0.5;
    out[k] = (uint8_t)(v > 255 ? 255 : v < 0 ? 0 : v);
  }
}

/* Checks the view index and that the camera stands inside the room. */
static hatch_status check_view(const hatch_sim_world *world, int view) {
  if (!world || view < 0 || view >= world->n_views || view >= HATCH_SIM_MAX_VIEWS) return HATCH_ERR_INVALID_ARGUMENT;
  const hatch_sim_camera *cam = &world->views[view];
  if (cam->width <= 0 || cam->height <= 0 || !(cam->fx > 0) || !(cam->fy > 0)) return HATCH_ERR_INVALID_ARGUMENT;
  const double *p = cam->position;
  if (!(fabs(p[0]) < 0.5 * world->room[0] && fabs(p[2]) < 0.5 * world->room[1] && p[1] > 0 && p[1] < world->wall_height))
    return HATCH_ERR_INVALID_ARGUMENT;
  return HATCH_OK;
}

hatch_status hatch_sim_render(const hatch_sim_world *world, int view, uint8_t *rgb, float *depth) {
  hatch_status st = check_view(world, view);
  if (st != HATCH_OK) return st;
  const hatch_sim_camera *cam = &world->views[view];
  double R[9];
  hatch_sim_camera_matrix(cam, R, NULL);
  for (int v = 0; v < cam->height; v++)
    for (int u = 0; u < cam->width; u++) {
      double dir[3];
      sim_hit h;
      sim_pixel_ray(cam, R, u, v, dir);
      if (!sim_cast(world, cam->position, dir, &h)) return HATCH_ERR_INVALID_ARGUMENT;
      size_t i = (size_t)v * (size_t)cam->width + (size_t)u;
      if (depth) depth[i] = (float)h.t; // (height, width)
      if (rgb) shade(world, &h, rgb + 3 * i); // (height, width, 3)
    }
  return HATCH_OK;
}

hatch_status hatch_sim_render_ids(const hatch_sim_world *world, int view, int16_t *ids) {
  hatch_status st = check_view(world, view);
  if (st != HATCH_OK) return st;
  if (!ids) return HATCH_ERR_INVALID_ARGUMENT;
  const hatch_sim_camera *cam = &world->views[view];
  double R[9];
  hatch_sim_camera_matrix(cam, R, NULL);
  for (int v = 0; v < cam->height; v++)
    for (int u = 0; u < cam->width; u++) {
      double dir[3];
      sim_hit h;
      sim_pixel_ray(cam, R, u, v, dir);
      if (!sim_cast(world, cam->position, dir, &h)) return HATCH_ERR_INVALID_ARGUMENT;
      ids[(size_t)v * (size_t)cam->width + (size_t)u] = (int16_t)(h.surface >= 0 ? h.surface : -1); // (height, width)
    }
  return HATCH_OK;
}
