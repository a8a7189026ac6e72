/* Internals of the synthetic world (drivers/sim): the PRNG, small vector helpers and the ray caster
 * that generation (visibility checks) and rendering share. */
#ifndef HATCH_SIM_INTERNAL_H
#define HATCH_SIM_INTERNAL_H

#include <math.h>
#include <stdint.h>

#include "hatch/sim_world.h"

#define SIM_PI 3.14159265358979323846
#define SIM_DEG (SIM_PI / 180.0)

/* splitmix64: integer-only, the same sequence everywhere. */
typedef struct sim_rng {
  uint64_t state;
} sim_rng;

static inline uint64_t sim_rng_next(sim_rng *r) {
  uint64_t z = (r->state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/* Uniform in [lo, hi), from the top 53 bits. */
static inline double sim_rng_uniform(sim_rng *r, double lo, double hi) {
  return lo + (hi - lo) * ((double)(sim_rng_next(r) >> 11) * (1.0 / 9007199254740992.0));
}

/* Uniform integer in [0, n). */
static inline int sim_rng_int(sim_rng *r, int n) { return (int)(sim_rng_next(r) % (uint64_t)n); }

/* What a ray hits: depth along the optical axis (the ray's parameter with its camera-z component 1),
 * the surface id (object index, or a SIM_SURF_* room surface), the world point and the unit normal
 * facing the ray. */
enum { SIM_SURF_FLOOR = -1, SIM_SURF_CEILING = -2, SIM_SURF_WALL_N = -3, SIM_SURF_WALL_W = -4,
       SIM_SURF_WALL_S = -5, SIM_SURF_WALL_E = -6 };

typedef struct sim_hit {
  double t;
  int surface;
  double point[3];
  double normal[3];
} sim_hit;

/* Casts the ray origin + t * dir (dir in the world, any length) against the objects and the room.
 * The room encloses the origin, so something is always hit: returns 1, or 0 only when the origin is
 * outside the room (then *hit is untouched). */
int sim_cast(const hatch_sim_world *world, const double origin[3], const double dir[3], sim_hit *hit);

/* The world direction of the ray through pixel (u, v) (pixel centres at integer coordinates), scaled
 * so that its optical-z component is 1 (then a hit's t is its depth). */
void sim_pixel_ray(const hatch_sim_camera *cam, const double R[9], double u, double v, double dir[3]);

#endif
