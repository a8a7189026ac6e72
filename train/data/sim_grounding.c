/* Grounding questions over a synthetic world (hatch/sim_dataset.h: main_object, visible, image_side,
 * image_relation): what a view shows and where things stand in the picture, the skill a pretrained VLM
 * brings to the paper's recipe. The trainer's "ground" stage; candidates and the round-robin draw are
 * sim_questions.c's. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "data/sim_questions_internal.h"

static void main_object_candidates(const hatch_sim_world *w, const hatch_sim_visibility *vis, sim_candidates *cs) {
  for (int v = 0; v < w->n_views; v++) {
    int a = sim_dominant(vis, v);
    if (a < 0) continue;
    sim_candidate *c = sim_cand_add(cs, HATCH_SIM_Q_MAIN_OBJECT, a, v, (v + 1) % w->n_views);
    if (!c) return;
    snprintf(c->stem, sizeof c->stem, "Which object fills the largest part of image %d?", v + 1);
    for (int u = 0; u < w->n_views; u++) sim_pool_add(c, sim_dominant(vis, u), true);
    for (int o = 0; o < w->n_objects; o++)
      if (sim_visible_any(vis, o)) sim_pool_add(c, o, false);
    if (!sim_cand_usable(c)) cs->n--;
  }
}

/* One candidate per view and clearly visible object (>= 1% of the view), against objects with no
 * pixel in the view (those seen in other views first). */
static void visible_candidates(const hatch_sim_world *w, const hatch_sim_visibility *vis, sim_candidates *cs) {
  for (int v = 0; v < w->n_views; v++) {
    for (int a = 0; a < w->n_objects; a++) {
      if (vis->pixels[v][a] * 100 < vis->view_pixels[v]) continue;
      sim_candidate *c = sim_cand_add(cs, HATCH_SIM_Q_VISIBLE, a, v, (v + 1) % w->n_views);
      if (!c) return;
      snprintf(c->stem, sizeof c->stem, "Which of these objects can be seen in image %d?", v + 1);
      for (int o = 0; o < w->n_objects; o++)
        if (vis->pixels[v][o] == 0) sim_pool_add(c, o, sim_visible_any(vis, o));
      if (!sim_cand_usable(c)) cs->n--;
    }
  }
}

/* The object nearest the middle of view k (smallest |bearing|) among those covering >= 1% of it: what
 * the view looks at (the central object in among rigs). -1 when none. */
static int view_subject(const hatch_sim_world *w, const hatch_sim_visibility *vis, int k) {
  int best = -1;
  double best_b = 1e9;
  for (int o = 0; o < w->n_objects; o++) {
    if (vis->pixels[k][o] * 100 < vis->view_pixels[k]) continue;
    double b = fabs(sim_bearing(&w->views[k], w->objects[o].centre, NULL));
    if (b < best_b) best_b = b, best = o;
  }
  return best;
}

/* Whether object o, where view k shows it, is drawn on side `side` (+1 right, -1 left) of pixel column
 * ref: its pixels' mean column. Objects with no pixel in k pass (only the geometry places them). */
static bool drawn_on_side(const hatch_sim_visibility *vis, int k, int o, double ref, int side) {
  if (vis->pixels[k][o] <= 0) return true;
  return (vis->column_sum[k][o] / vis->pixels[k][o] - ref) * side > 0;
}

/* IMAGE_SIDE: what view k shows on your left (right): one object seen in k at 10..60 deg to that side
 * against objects clearly on the other side (those seen in k first); every object the question names
 * is also drawn on its side of the picture's middle column. around_side after the action ends at view
 * j asks this of image j when its answer is in the picture (36 of 48 held-out ones). */
static void image_side_candidates(const hatch_sim_world *w, const hatch_sim_visibility *vis, uint64_t *rng,
                                  sim_candidates *cs) {
  for (int k = 0; k < w->n_views; k++) {
    double mid = 0.5 * (w->views[k].width - 1); /* the picture's middle column */
    for (int side = -1; side <= 1; side += 2) {
      int ans[HATCH_SIM_MAX_OBJECTS], n_ans = 0, other[HATCH_SIM_MAX_OBJECTS], n_other = 0;
      for (int o = 0; o < w->n_objects; o++) {
        double s = sim_bearing(&w->views[k], w->objects[o].centre, NULL) * side;
        if (sim_visible_in(vis, k, o) && s >= 10 && s <= 60 && drawn_on_side(vis, k, o, mid, side)) ans[n_ans++] = o;
        if (sim_visible_any(vis, o) && s <= -10 && s >= -150 && drawn_on_side(vis, k, o, mid, -side)) other[n_other++] = o;
      }
      if (n_ans == 0 || n_other < 2) continue;
      sim_candidate *c = sim_cand_add(cs, HATCH_SIM_Q_IMAGE_SIDE, ans[sim_rng_below(rng, n_ans)], k, (k + 1) % w->n_views);
      if (!c) return;
      snprintf(c->stem, sizeof c->stem, "In image %d, which object is to your %s?", k + 1, side > 0 ? "right" : "left");
      for (int i = 0; i < n_other; i++) sim_pool_add(c, other[i], sim_visible_in(vis, k, other[i]));
    }
  }
}

/* IMAGE_RELATION: where objects stand around the object view k looks at (view_subject), in the
 * picture: behind it / to its left / right, by among's angles from the line of sight to it
 * (sim_among_region), with the answer seen in k; for left / right every object the question names is
 * also drawn on its side of the subject's pixels. After an among action the answer stands behind the
 * central object in the reached view: this is the question that view poses. */
static void image_relation_candidates(const hatch_sim_world *w, const hatch_sim_visibility *vis, uint64_t *rng,
                                      sim_candidates *cs) {
  static const char *const fmt[] = {"In image %d, what is behind the %s?",
                                    "In image %d, which object is to the left of the %s?",
                                    "In image %d, which object is to the right of the %s?"};
  for (int k = 0; k < w->n_views; k++) {
    int x = view_subject(w, vis, k);
    if (x < 0) continue;
    double px[3], ref = vis->column_sum[k][x] / vis->pixels[k][x]; /* the subject's pixel column */
    hatch_sim_world_to_camera(&w->views[k], w->objects[x].centre, px);
    for (int r = 0; r < 3; r++) {
      int ans[HATCH_SIM_MAX_OBJECTS], n_ans = 0, other[HATCH_SIM_MAX_OBJECTS], n_other = 0;
      for (int o = 0; o < w->n_objects; o++) {
        if (o == x || !sim_visible_any(vis, o)) continue;
        bool in, out;
        sim_among_region(&w->views[k], px, w->objects[o].centre, r, &in, &out);
        int side = r == 1 ? -1 : 1; /* left, right; behind: no picture order */
        if (r != 0) in = in && drawn_on_side(vis, k, o, ref, side), out = out && drawn_on_side(vis, k, o, ref, -side);
        if (in && sim_visible_in(vis, k, o)) ans[n_ans++] = o;
        if (out) other[n_other++] = o;
      }
      if (n_ans == 0 || n_other < 2) continue;
      sim_candidate *c = sim_cand_add(cs, HATCH_SIM_Q_IMAGE_RELATION, ans[sim_rng_below(rng, n_ans)], k, (k + 1) % w->n_views);
      if (!c) return;
      snprintf(c->stem, sizeof c->stem, fmt[r], k + 1, w->objects[x].name);
      for (int i = 0; i < n_other; i++) sim_pool_add(c, other[i], sim_visible_in(vis, k, other[i]));
    }
  }
}

hatch_status hatch_sim_grounding_questions_make(const hatch_sim_world *world, const hatch_sim_visibility *vis,
                                                uint64_t seed, int max_questions, hatch_sim_question *out, int *n_out) {
  if (n_out) *n_out = 0;
  if (!sim_make_args_ok(world, vis, max_questions, out, n_out)) return HATCH_ERR_INVALID_ARGUMENT;
  sim_candidates cs;
  cs.n = 0;
  uint64_t rng = seed ^ 0x6E0D0B1EC7ull;
  main_object_candidates(world, vis, &cs);
  image_side_candidates(world, vis, &rng, &cs); /* before visible's up to views x objects */
  image_relation_candidates(world, vis, &rng, &cs);
  visible_candidates(world, vis, &cs);
  *n_out = sim_draw_questions(world, &cs, &rng, HATCH_SIM_Q_MAIN_OBJECT, HATCH_SIM_Q_TEMPLATE_COUNT - HATCH_SIM_Q_MAIN_OBJECT,
                              max_questions, out);
  return HATCH_OK;
}
