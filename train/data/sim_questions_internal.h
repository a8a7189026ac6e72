/* Shared between the question generator and the sample/stream code (train/data/sim_*.c). */
#ifndef HATCH_SIM_QUESTIONS_INTERNAL_H
#define HATCH_SIM_QUESTIONS_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "hatch/sim_dataset.h"

#define SIM_MAX_CANDIDATES 192

/* A question before its options are drawn: the answer object and the distractor pools (preferred
 * first: e.g. the objects that fill other views). */
typedef struct sim_candidate {
  hatch_sim_template kind;
  char stem[400];
  int answer;
  int from, to;
  int n_pref, n_rest;
  int pref[HATCH_SIM_MAX_OBJECTS];
  int rest[HATCH_SIM_MAX_OBJECTS];
} sim_candidate;

typedef struct sim_candidates {
  int n;
  sim_candidate items[SIM_MAX_CANDIDATES];
} sim_candidates;

uint64_t sim_rng_next(uint64_t *state); /* splitmix64 */
double sim_wrap_deg(double a);          /* (-180, 180] */
void sim_option_text(const hatch_sim_object *ob, char out[HATCH_PLAN_MAX_TEXT + 1]); /* "Red chair" */
int sim_rng_below(uint64_t *state, int n);      /* uniform in [0, n); 0 when n <= 1 */

/* Visibility: o covers at least 1/500 of view v (>= 4 px); in some view; the object filling the most
 * of v (>= 1% of it and 1.3x the runner-up, else -1). */
bool sim_visible_in(const hatch_sim_visibility *vis, int v, int o);
bool sim_visible_any(const hatch_sim_visibility *vis, int o);
int sim_dominant(const hatch_sim_visibility *vis, int v);
/* Bearing of world point p from cam, degrees, right positive, (-180, 180]; depth: optical depth (may be NULL). */
double sim_bearing(const hatch_sim_camera *cam, const double p[3], double *depth);
/* Whether world point p stands inside among relation r (0 behind, 1 left, 2 right) of the object at pc
 * (cam's frame), or clearly outside it. */
void sim_among_region(const hatch_sim_camera *cam, const double pc[3], const double p_world[3], int r, bool *in,
                      bool *out);

/* Candidates: add one (NULL when full), add a distractor to its preferred or other pool, and whether
 * it has the two distractors a question needs. */
sim_candidate *sim_cand_add(sim_candidates *cs, hatch_sim_template kind, int answer, int from, int to);
void sim_pool_add(sim_candidate *c, int o, bool preferred);
bool sim_cand_usable(const sim_candidate *c);

/* The generators' shared argument check and their draw: round-robin over templates [first, first +
 * count) that have candidates, from a random one; returns how many questions it wrote. */
bool sim_make_args_ok(const hatch_sim_world *world, const hatch_sim_visibility *vis, int max_questions,
                      const hatch_sim_question *out, const int *n_out);
int sim_draw_questions(const hatch_sim_world *w, const sim_candidates *cs, uint64_t *rng, int first, int count,
                       int max_questions, hatch_sim_question *out);

#endif
