/* MindCube-style questions over a synthetic world (hatch/sim_dataset.h for the templates, the ground
 * truth rules and the teacher action's view pair). Candidates are collected per template from the
 * world's geometry and visibility, then questions are drawn round-robin over the templates; options
 * are objects of the same world with the correct letter at a uniform position. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "data/sim_questions_internal.h"

const char *hatch_sim_template_name(hatch_sim_template t) {
  static const char *names[] = {"rotation_turn", "rotation_side", "among_behind", "among_side", "around_side",
                                "closest", "main_object", "visible", "image_side", "image_relation"};
  return (unsigned)t < HATCH_SIM_Q_TEMPLATE_COUNT ? names[t] : "unknown";
}

uint64_t sim_rng_next(uint64_t *s) {
  uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

int sim_rng_below(uint64_t *s, int n) { return n <= 1 ? 0 : (int)(sim_rng_next(s) % (uint64_t)n); }

static void shuffle(uint64_t *s, int *a, int n) {
  for (int i = n - 1; i > 0; i--) {
    int j = sim_rng_below(s, i + 1), t = a[i];
    a[i] = a[j], a[j] = t;
  }
}

uint64_t hatch_sim_scene_seed(uint64_t seed, int64_t scene) {
  uint64_t s = seed ^ 0x5DEECE66Dull;
  uint64_t a = sim_rng_next(&s);
  uint64_t t = a ^ ((uint64_t)scene * 0xD1B54A32D192ED03ull);
  return sim_rng_next(&t) & ((UINT64_C(1) << 53) - 1);
}

double sim_wrap_deg(double a) {
  a = fmod(a, 360.0);
  if (a <= -180.0) a += 360.0;
  if (a > 180.0) a -= 360.0;
  return a;
}

/* ---- visibility helpers --------------------------------------------------------------------- */

static int min_pixels(const hatch_sim_visibility *vis, int v) {
  int m = vis->view_pixels[v] / 500;
  return m < 4 ? 4 : m;
}

bool sim_visible_in(const hatch_sim_visibility *vis, int v, int o) { return vis->pixels[v][o] >= min_pixels(vis, v); }

bool sim_visible_any(const hatch_sim_visibility *vis, int o) {
  for (int v = 0; v < vis->n_views; v++)
    if (sim_visible_in(vis, v, o)) return true;
  return false;
}

/* The object filling the most pixels of view v: >= 1% of the image and 1.3x the runner-up; else -1. */
int sim_dominant(const hatch_sim_visibility *vis, int v) {
  int best = -1, b = 0, second = 0;
  for (int o = 0; o < vis->n_objects; o++) {
    int p = vis->pixels[v][o];
    if (p > b) second = b, b = p, best = o;
    else if (p > second) second = p;
  }
  if (best < 0 || b * 100 < vis->view_pixels[v] || b * 10 < second * 13) return -1;
  return best;
}

/* Bearing of a world point seen from a camera, degrees, right positive, (-180, 180]. */
double sim_bearing(const hatch_sim_camera *cam, const double p[3], double *depth) {
  double c[3];
  hatch_sim_world_to_camera(cam, p, c);
  if (depth) *depth = c[2];
  return atan2(c[0], c[2]) / (3.14159265358979323846 / 180.0);
}

/* The view at the same spot as `from` turned by `turn` degrees (left positive); -1 when none. */
static int view_turned(const hatch_sim_world *w, int from, double turn) {
  const hatch_sim_camera *a = &w->views[from];
  for (int v = 0; v < w->n_views; v++) {
    const hatch_sim_camera *b = &w->views[v];
    double d = hypot(a->position[0] - b->position[0], a->position[2] - b->position[2]);
    if (d < 0.25 && fabs(sim_wrap_deg(b->yaw_deg - a->yaw_deg - turn)) < 15.0) return v;
  }
  return -1;
}

/* ---- candidates ------------------------------------------------------------------------------ */

sim_candidate *sim_cand_add(sim_candidates *cs, hatch_sim_template kind, int answer, int from, int to) {
  if (cs->n >= SIM_MAX_CANDIDATES) return NULL;
  sim_candidate *c = &cs->items[cs->n++];
  memset(c, 0, sizeof *c);
  c->kind = kind, c->answer = answer, c->from = from, c->to = to;
  return c;
}

void sim_pool_add(sim_candidate *c, int o, bool preferred) {
  if (o < 0 || o == c->answer) return;
  for (int i = 0; i < c->n_pref; i++)
    if (c->pref[i] == o) return;
  for (int i = 0; i < c->n_rest; i++)
    if (c->rest[i] == o) {
      if (!preferred) return;
      c->rest[i] = c->rest[--c->n_rest]; /* promote */
      break;
    }
  if (preferred) c->pref[c->n_pref++] = o;
  else c->rest[c->n_rest++] = o;
}

bool sim_cand_usable(const sim_candidate *c) { return c->n_pref + c->n_rest >= 2; }

static void rotation_candidates(const hatch_sim_world *w, const hatch_sim_visibility *vis, sim_candidates *cs) {
  static const struct { double turn; const char *say; } turns[] = {
      {-90, "turn 90 degrees to the right"}, {90, "turn 90 degrees to the left"}, {180, "turn around (180 degrees)"}};
  static const struct { double turn; const char *say; } sides[] = {
      {90, "to your left"}, {-90, "to your right"}, {180, "behind you"}};
  for (int i = 0; i < w->n_views; i++) {
    for (int t = 0; t < 3; t++) {
      for (int s = -1; s < 3; s++) {
        if (s >= 0 && t == 2) continue; /* rotation_side: a 90-degree turn then a side */
        double net = turns[t].turn + (s >= 0 ? sides[s].turn : 0);
        int j = view_turned(w, i, net), a = j < 0 ? -1 : sim_dominant(vis, j);
        if (a < 0) continue;
        int to = j != i ? j : view_turned(w, i, turns[t].turn);
        if (to < 0 || to == i) continue;
        sim_candidate *c = sim_cand_add(cs, s < 0 ? HATCH_SIM_Q_ROTATION_TURN : HATCH_SIM_Q_ROTATION_SIDE, a, i, to);
        if (!c) return;
        if (s < 0)
          snprintf(c->stem, sizeof c->stem,
                   "You are standing at the viewpoint of image %d. If you %s, which object will be directly in front "
                   "of you?", i + 1, turns[t].say);
        else
          snprintf(c->stem, sizeof c->stem,
                   "You are standing at the viewpoint of image %d. If you %s, which object will be %s?", i + 1,
                   turns[t].say, sides[s].say);
        /* Distractors: what fills the other views, so every option is some view's main object. */
        for (int v = 0; v < w->n_views; v++) sim_pool_add(c, sim_dominant(vis, v), true);
        for (int o = 0; o < w->n_objects; o++)
          if (sim_visible_any(vis, o)) sim_pool_add(c, o, false);
        if (!sim_cand_usable(c)) cs->n--;
      }
    }
  }
}

/* The view the teacher action of an among question ends at: the one that looks across the central
 * object toward the asked side (behind: away from view i; left / right: view i's left / right) and
 * toward the answer, so that after the action the answer stands behind the central object, as after a
 * rotation action the answer fills the reached view. Left of the centre from view i is what the view at
 * i's right looks at across it; behind picks the side view that has the answer beyond the centre.
 * Scores in view i's frame: cos(look_v, asked) + cos(look_v, centre -> answer), over the views that
 * see the answer beyond the centre; when none does (fewer views, an answer hidden behind the central
 * object), the view where the answer fills the most pixels. */
static int among_teacher_view(const hatch_sim_world *w, const hatch_sim_visibility *vis, int i, int answer,
                              int relation) {
  double pc[3], pa[3];
  hatch_sim_world_to_camera(&w->views[i], w->objects[w->central_object].centre, pc);
  hatch_sim_world_to_camera(&w->views[i], w->objects[answer].centre, pa);
  const double asked[3][2] = {{0, 1}, {-1, 0}, {1, 0}}; /* (x, z): behind, left, right */
  double ax = pa[0] - pc[0], az = pa[2] - pc[2], an = hypot(ax, az);
  int to = -1, most = -1;
  double best = -1e9;
  for (int v = 0; v < w->n_views; v++) {
    if (v == i || vis->pixels[v][answer] == 0) continue;
    if (most < 0 || vis->pixels[v][answer] > vis->pixels[most][answer]) most = v;
    if (!sim_visible_in(vis, v, answer)) continue;
    double pv[3];
    hatch_sim_world_to_camera(&w->views[i], w->views[v].position, pv);
    double lx = pc[0] - pv[0], lz = pc[2] - pv[2], ln = hypot(lx, lz);
    if (ln < 1e-9 || an < 1e-9) continue;
    double beyond = (lx * ax + lz * az) / (ln * an); /* the answer beyond the centre seen from v */
    double score = (lx * asked[relation][0] + lz * asked[relation][1]) / ln + beyond;
    if (beyond > 0 && score > best) best = score, to = v;
  }
  return to >= 0 ? to : most >= 0 ? most : (i + 1) % w->n_views;
}

/* Whether world point p stands inside relation r (0 behind, 1 left, 2 right) of the object at pc
 * (camera frame of cam), by the angle of p - pc in the x-z plane, measured from the line of sight to
 * pc (0 = behind, farther along it; -90 = left): inside: behind |a| < 80, a side 10..170; clearly
 * outside: |a| > 100, the other side's 10..170. Among's views look at the central object, where the
 * line of sight is the camera's axis. */
void sim_among_region(const hatch_sim_camera *cam, const double pc[3], const double p_world[3], int r, bool *in,
                      bool *out) {
  double p[3];
  hatch_sim_world_to_camera(cam, p_world, p);
  double a = sim_wrap_deg((atan2(p[0] - pc[0], p[2] - pc[2]) - atan2(pc[0], pc[2])) / (3.14159265358979323846 / 180.0));
  double s = r == 1 ? -a : a; /* left: mirror so "inside" is 10..170 */
  *in = r == 0 ? fabs(a) < 80 : (s >= 10 && s <= 170);
  *out = r == 0 ? fabs(a) > 100 : (s <= -10 && s >= -170);
}

/* AMONG: where objects stand around the central one as seen from view i (sim_among_region: angle of
 * object - centre in the x-z plane from the line of sight: 0 = behind, -90 = left, +90 = right). The generator puts objects on the
 * diagonals, so "behind" and "left" overlap: each question's options hold one object of the asked
 * region against objects clearly outside it (behind: |a| < 80 against |a| > 100; left: -170..-10
 * against 10..170), which keeps the answer unique. */
static void among_candidates(const hatch_sim_world *w, const hatch_sim_visibility *vis, uint64_t *rng,
                             sim_candidates *cs) {
  int cen = w->central_object;
  if (cen < 0 || cen >= w->n_objects) return;
  static const struct { const char *fmt; hatch_sim_template kind; } rel[] = {
      {"From the viewpoint of image %d, what is behind the %s?", HATCH_SIM_Q_AMONG_BEHIND},
      {"From the viewpoint of image %d, which object is to the left of the %s?", HATCH_SIM_Q_AMONG_SIDE},
      {"From the viewpoint of image %d, which object is to the right of the %s?", HATCH_SIM_Q_AMONG_SIDE}};
  for (int i = 0; i < w->n_views; i++) {
    double pc[3];
    hatch_sim_world_to_camera(&w->views[i], w->objects[cen].centre, pc);
    for (int r = 0; r < 3; r++) {
      int ans[HATCH_SIM_MAX_OBJECTS], n_ans = 0, other[HATCH_SIM_MAX_OBJECTS], n_other = 0;
      for (int o = 0; o < w->n_objects; o++) {
        if (o == cen || !sim_visible_any(vis, o)) continue;
        bool in, out;
        sim_among_region(&w->views[i], pc, w->objects[o].centre, r, &in, &out);
        if (in) ans[n_ans++] = o;
        if (out) other[n_other++] = o;
      }
      if (n_ans == 0 || n_other < 2) continue;
      int a = ans[sim_rng_below(rng, n_ans)];
      sim_candidate *c = sim_cand_add(cs, rel[r].kind, a, i, among_teacher_view(w, vis, i, a, r));
      if (!c) return;
      snprintf(c->stem, sizeof c->stem, rel[r].fmt, i + 1, w->objects[cen].name);
      for (int k = 0; k < n_other; k++) sim_pool_add(c, other[k], true);
    }
  }
}

/* AROUND / FREE: after moving from view i to view j, which object is to your left (right)? Options:
 * one object clearly on that side (10..150 deg) against objects clearly on the other side. */
static void side_candidates(const hatch_sim_world *w, const hatch_sim_visibility *vis, uint64_t *rng,
                            sim_candidates *cs) {
  for (int i = 0; i < w->n_views; i++) {
    for (int j = 0; j < w->n_views; j++) {
      if (i == j) continue;
      double b[HATCH_SIM_MAX_OBJECTS];
      for (int o = 0; o < w->n_objects; o++) b[o] = sim_bearing(&w->views[j], w->objects[o].centre, NULL);
      for (int side = -1; side <= 1; side += 2) {
        int ans[HATCH_SIM_MAX_OBJECTS], n_ans = 0, n_other = 0;
        for (int o = 0; o < w->n_objects; o++) {
          if (!sim_visible_any(vis, o)) continue;
          double s = b[o] * side;
          if (s >= 10 && s <= 150) ans[n_ans++] = o;
          if (s <= -10 && s >= -150) n_other++;
        }
        if (n_ans == 0 || n_other < 2) continue;
        int a = ans[sim_rng_below(rng, n_ans)];
        sim_candidate *c = sim_cand_add(cs, HATCH_SIM_Q_AROUND_SIDE, a, i, j);
        if (!c) return;
        snprintf(c->stem, sizeof c->stem,
                 "After moving from the viewpoint of image %d to the viewpoint of image %d, which object is to your %s?",
                 i + 1, j + 1, side > 0 ? "right" : "left");
        for (int o = 0; o < w->n_objects; o++) {
          double s = b[o] * side;
          if (sim_visible_any(vis, o) && s <= -10 && s >= -150) sim_pool_add(c, o, true);
        }
      }
    }
  }
}

/* Which object is closest to the camera in image j: options visible in j, the answer at least 1.2x
 * nearer (optical depth of the centres) than every other option. The teacher action ends at the view
 * the question is about (from the next view to j), as every other template's ends at the view that
 * holds the answer. */
static void closest_candidates(const hatch_sim_world *w, const hatch_sim_visibility *vis, sim_candidates *cs) {
  for (int j = 0; j < w->n_views; j++) {
    double z[HATCH_SIM_MAX_OBJECTS];
    int best = -1;
    for (int o = 0; o < w->n_objects; o++) {
      sim_bearing(&w->views[j], w->objects[o].centre, &z[o]);
      if (sim_visible_in(vis, j, o) && z[o] > 0 && (best < 0 || z[o] < z[best])) best = o;
    }
    if (best < 0) continue;
    sim_candidate *c = sim_cand_add(cs, HATCH_SIM_Q_CLOSEST, best, (j + 1) % w->n_views, j);
    if (!c) return;
    snprintf(c->stem, sizeof c->stem, "Which object is closest to the camera in image %d?", j + 1);
    for (int o = 0; o < w->n_objects; o++)
      if (o != best && sim_visible_in(vis, j, o) && z[o] >= 1.2 * z[best]) sim_pool_add(c, o, true);
    if (c->n_pref < 2) cs->n--;
  }
}

/* ---- options --------------------------------------------------------------------------------- */

void sim_option_text(const hatch_sim_object *ob, char out[HATCH_PLAN_MAX_TEXT + 1]) {
  size_t k = 0;
  for (const char *p = ob->name; *p && k < 40; p++) {
    char ch = *p == '<' || (unsigned char)*p < 0x20 ? ' ' : *p;
    out[k] = k == 0 && ch >= 'a' && ch <= 'z' ? (char)(ch - 'a' + 'A') : ch;
    k++;
  }
  out[k] = 0;
  if (k == 0) snprintf(out, HATCH_PLAN_MAX_TEXT + 1, "Object");
}

static void finish(const hatch_sim_world *w, const sim_candidate *c, uint64_t *rng, hatch_sim_question *q) {
  int pref[HATCH_SIM_MAX_OBJECTS], rest[HATCH_SIM_MAX_OBJECTS];
  memcpy(pref, c->pref, sizeof pref), memcpy(rest, c->rest, sizeof rest);
  shuffle(rng, pref, c->n_pref);
  shuffle(rng, rest, c->n_rest);
  int distract[HATCH_SIM_MAX_OPTIONS - 1], n_d = 0;
  for (int i = 0; i < c->n_pref && n_d < HATCH_SIM_MAX_OPTIONS - 1; i++) distract[n_d++] = pref[i];
  for (int i = 0; i < c->n_rest && n_d < HATCH_SIM_MAX_OPTIONS - 1; i++) distract[n_d++] = rest[i];
  memset(q, 0, sizeof *q);
  q->kind = c->kind, q->from = c->from, q->to = c->to, q->answer_object = c->answer;
  q->n_options = n_d + 1;
  q->answer = sim_rng_below(rng, q->n_options);
  for (int k = 0, d = 0; k < q->n_options; k++)
    sim_option_text(&w->objects[k == q->answer ? c->answer : distract[d++]], q->options[k]);
  size_t len = (size_t)snprintf(q->text, sizeof q->text, "%s", c->stem);
  for (int k = 0; k < q->n_options && len < sizeof q->text; k++)
    len += (size_t)snprintf(q->text + len, sizeof q->text - len, " %c. %s", 'A' + k, q->options[k]);
}

/* ---- questions -------------------------------------------------------------------------------- */

bool sim_make_args_ok(const hatch_sim_world *world, const hatch_sim_visibility *vis, int max_questions,
                      const hatch_sim_question *out, const int *n_out) {
  return world && vis && out && n_out && max_questions >= 0 && max_questions <= HATCH_SIM_MAX_QUESTIONS &&
         world->n_views >= 2 && world->n_views <= HATCH_SIM_MAX_VIEWS && world->n_objects >= 0 &&
         world->n_objects <= HATCH_SIM_MAX_OBJECTS && vis->n_views == world->n_views &&
         vis->n_objects == world->n_objects;
}

/* Round-robin over templates [first, first + count) that have candidates, from a random one. */
int sim_draw_questions(const hatch_sim_world *w, const sim_candidates *cs, uint64_t *rng, int first, int count,
                       int max_questions, hatch_sim_question *out) {
  bool used[SIM_MAX_CANDIDATES] = {false};
  int start = sim_rng_below(rng, count), n = 0, left = cs->n;
  for (int round = 0; n < max_questions && left > 0; round++) {
    hatch_sim_template t = (hatch_sim_template)(first + (start + round) % count);
    int idx[SIM_MAX_CANDIDATES], m = 0;
    for (int i = 0; i < cs->n; i++)
      if (!used[i] && cs->items[i].kind == t) idx[m++] = i;
    if (m == 0) continue;
    int pick = idx[sim_rng_below(rng, m)];
    used[pick] = true, left--;
    finish(w, &cs->items[pick], rng, &out[n++]);
  }
  return n;
}

hatch_status hatch_sim_questions_make(const hatch_sim_world *world, const hatch_sim_visibility *vis, uint64_t seed,
                                      int max_questions, hatch_sim_question *out, int *n_out) {
  if (n_out) *n_out = 0;
  if (!sim_make_args_ok(world, vis, max_questions, out, n_out)) return HATCH_ERR_INVALID_ARGUMENT;
  sim_candidates cs; /* ~100 KB on the stack: reentrant, no allocation */
  cs.n = 0;
  uint64_t rng = seed ^ 0xA5A5F00DCAFEull;
  switch (world->setting) {
  case HATCH_SIM_ROTATION: rotation_candidates(world, vis, &cs); break;
  case HATCH_SIM_AMONG: among_candidates(world, vis, &rng, &cs); break;
  case HATCH_SIM_AROUND:
  case HATCH_SIM_FREE: side_candidates(world, vis, &rng, &cs); break;
  default: return HATCH_ERR_INVALID_ARGUMENT;
  }
  closest_candidates(world, vis, &cs);
  *n_out = sim_draw_questions(world, &cs, &rng, 0, HATCH_SIM_Q_SPATIAL_COUNT, max_questions, out);
  return HATCH_OK;
}
