/* Shared between the question generator and the sample/stream code (train/data/sim_*.c). */
#ifndef HATCH_SIM_QUESTIONS_INTERNAL_H
#define HATCH_SIM_QUESTIONS_INTERNAL_H

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

#endif
