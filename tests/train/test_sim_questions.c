/* Synthetic-world questions (hatch/sim_dataset.h): answers on hand-built worlds whose answers are
 * known by construction (checked with direction vectors written here, not the library's frames),
 * then over the rendered stream: determinism, letter balance, every action string parsing and
 * composing to the sample's pose, only visible objects asked about, and a text-only learner that
 * must stay near chance. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "harness.h"
#include "hatch/plan.h"
#include "hatch/sim_dataset.h"

#define PI 3.14159265358979323846

/* ---- hand-built worlds ------------------------------------------------------------------------ */

static hatch_sim_camera cam_at(double x, double z, double yaw) {
  hatch_sim_camera c = {.width = 112, .height = 112, .fx = 56, .fy = 56, .cx = 56, .cy = 56};
  c.position[0] = x, c.position[1] = 1.5, c.position[2] = z;
  c.yaw_deg = yaw;
  return c;
}

static void add_obj(hatch_sim_world *w, const char *colour, const char *category, double x, double z, double size) {
  hatch_sim_object *o = &w->objects[w->n_objects++];
  memset(o, 0, sizeof *o);
  snprintf(o->colour, sizeof o->colour, "%s", colour);
  snprintf(o->category, sizeof o->category, "%s", category);
  snprintf(o->name, sizeof o->name, "%s %s", colour, category);
  o->shape = HATCH_SIM_BOX;
  o->centre[0] = x, o->centre[1] = size / 2, o->centre[2] = z;
  o->size[0] = o->size[1] = o->size[2] = size;
}

static hatch_sim_world base_world(hatch_sim_setting setting) {
  hatch_sim_world w;
  memset(&w, 0, sizeof w);
  w.seed = 7, w.setting = setting, w.room[0] = w.room[1] = 10, w.wall_height = 3, w.central_object = -1;
  return w;
}

/* Viewing direction and right vector on the floor (x, z) for a yaw (0 looks to -z, +90 to -x). */
static void floor_axes(double yaw_deg, double f[2], double r[2]) {
  double a = yaw_deg * PI / 180;
  f[0] = -sin(a), f[1] = -cos(a);
  r[0] = cos(a), r[1] = -sin(a);
}

static int object_by_option(const hatch_sim_world *w, const char *text) {
  for (int o = 0; o < w->n_objects; o++)
    if (!strcasecmp(w->objects[o].name, text)) return o;
  return -1;
}

static int image_number(const char *text, const char *after) {
  const char *p = strstr(text, after);
  return p ? atoi(p + strlen(after)) : -1;
}

static void check_options(hatch_test_ctx *c, const hatch_sim_world *w, const hatch_sim_question *q) {
  HATCH_EXPECT(c, q->n_options >= 3 && q->n_options <= 4, "3-4 options, got %d", q->n_options);
  char want[160];
  snprintf(want, sizeof want, "%c. %s", 'A' + q->answer, q->options[q->answer]);
  HATCH_EXPECT(c, strstr(q->text, want) != NULL, "answer '%s' inline in '%s'", want, q->text);
  for (int k = 0; k < q->n_options; k++) {
    HATCH_EXPECT(c, object_by_option(w, q->options[k]) >= 0, "option '%s' names an object", q->options[k]);
    HATCH_EXPECT(c, !strchr(q->options[k], '<') && strlen(q->options[k]) <= HATCH_PLAN_MAX_TEXT && isupper((unsigned char)q->options[k][0]),
                 "option text '%s'", q->options[k]);
    for (int j = 0; j < k; j++) HATCH_EXPECT(c, strcmp(q->options[k], q->options[j]), "duplicate option %s", q->options[k]);
  }
  HATCH_EXPECT(c, q->from != q->to && q->from >= 0 && q->to >= 0 && q->from < w->n_views && q->to < w->n_views,
               "view pair %d -> %d", q->from, q->to);
}

/* One spot, four views turned right by 90 deg each; object k straight ahead of view k. */
static void test_rotation_answers(hatch_test_ctx *c) {
  hatch_sim_world w = base_world(HATCH_SIM_ROTATION);
  w.n_views = 4;
  for (int k = 0; k < 4; k++) w.views[k] = cam_at(0, 0, -90.0 * k);
  add_obj(&w, "red", "chair", 0, -3, 1);   /* north: view 0 (yaw 0) */
  add_obj(&w, "blue", "lamp", 3, 0, 1);    /* east: view 1 (yaw -90) */
  add_obj(&w, "green", "sofa", 0, 3, 1);   /* south: view 2 */
  add_obj(&w, "yellow", "bin", -3, 0, 1);  /* west: view 3 */
  hatch_sim_visibility vis;
  hatch_sim_visibility_from_geometry(&w, &vis);
  hatch_sim_question qs[HATCH_SIM_MAX_QUESTIONS];
  int n = 0;
  HATCH_EXPECT_OK(c, hatch_sim_questions_make(&w, &vis, 11, HATCH_SIM_MAX_QUESTIONS, qs, &n));
  /* turn: 4 views x (right, left, around); side: 4 x (left, right turn) x (left, right, behind). */
  HATCH_EXPECT(c, n == 36, "36 rotation questions, got %d", n);
  int turns = 0, sides = 0;
  for (int i = 0; i < n; i++) {
    const hatch_sim_question *q = &qs[i];
    check_options(c, &w, q);
    int img = image_number(q->text, "viewpoint of image ") - 1;
    int step = -1; /* quarter turns to the right */
    if (strstr(q->text, "turn 90 degrees to the right")) step = 1;
    else if (strstr(q->text, "turn 90 degrees to the left")) step = 3;
    else if (strstr(q->text, "turn around")) step = 2;
    int view_after_turn = (img + step) % 4;
    if (q->kind == HATCH_SIM_Q_ROTATION_SIDE) {
      sides++;
      if (strstr(q->text, "be to your left")) step += 3;
      else if (strstr(q->text, "be to your right")) step += 1;
      else if (strstr(q->text, "be behind you")) step += 2;
      else step = -100;
    } else {
      turns++;
      HATCH_EXPECT(c, q->kind == HATCH_SIM_Q_ROTATION_TURN, "template %d", q->kind);
    }
    HATCH_EXPECT(c, img >= 0 && img < 4 && step >= 0, "parsed '%s'", q->text);
    if (img < 0 || step < 0) continue;
    int want = (img + step) % 4;
    HATCH_EXPECT(c, !strcasecmp(q->options[q->answer], w.objects[want].name), "'%s': answer %s, want %s", q->text,
                 q->options[q->answer], w.objects[want].name);
    HATCH_EXPECT(c, q->from == img && q->to == (want != img ? want : view_after_turn), "'%s': views %d -> %d", q->text,
                 q->from, q->to);
    HATCH_EXPECT(c, q->n_options == 4, "four objects, four options (%d)", q->n_options);
  }
  HATCH_EXPECT(c, turns == 12 && sides == 24, "turn %d side %d", turns, sides);
}

/* A red chair at the origin, n_views (<= 4) views facing it from 3 m (view k turned right by 90 k), one
 * object on each diagonal; visibility by projection. */
static hatch_sim_world among_world(int n_views, hatch_sim_visibility *vis) {
  hatch_sim_world w = base_world(HATCH_SIM_AMONG);
  w.n_views = n_views;
  for (int k = 0; k < n_views; k++) {
    double yaw = -90.0 * k, a = yaw * PI / 180;
    w.views[k] = cam_at(3 * sin(a), 3 * cos(a), yaw);
  }
  add_obj(&w, "red", "chair", 0, 0, 0.8);
  w.central_object = 0;
  add_obj(&w, "blue", "lamp", -1.4, -1.4, 0.6);
  add_obj(&w, "green", "sofa", 1.4, -1.4, 0.6);
  add_obj(&w, "yellow", "bin", 1.4, 1.4, 0.6);
  add_obj(&w, "white", "table", -1.4, 1.4, 0.6);
  hatch_sim_visibility_from_geometry(&w, vis);
  return w;
}

static int among_questions(hatch_test_ctx *c, const hatch_sim_world *w, const hatch_sim_visibility *vis,
                           hatch_sim_question *qs) {
  int n = 0;
  HATCH_EXPECT_OK(c, hatch_sim_questions_make(w, vis, 5, HATCH_SIM_MAX_QUESTIONS, qs, &n));
  return n;
}

/* A central object, four views facing it (view k turned right by 90 k), one object on each diagonal. */
static void test_among_answers(hatch_test_ctx *c) {
  hatch_sim_visibility vis;
  hatch_sim_world w = among_world(4, &vis);
  hatch_sim_question qs[HATCH_SIM_MAX_QUESTIONS];
  int n = among_questions(c, &w, &vis, qs), among = 0;
  for (int i = 0; i < n; i++) {
    const hatch_sim_question *q = &qs[i];
    check_options(c, &w, q);
    if (q->kind == HATCH_SIM_Q_CLOSEST) continue;
    among++;
    HATCH_EXPECT(c, strstr(q->text, "the red chair?") != NULL, "asks about the central object: %s", q->text);
    int img = image_number(q->text, "viewpoint of image ") - 1;
    HATCH_EXPECT(c, img >= 0 && img < 4, "image in '%s'", q->text);
    if (img < 0 || img > 3) continue;
    double f[2], r[2];
    floor_axes(w.views[img].yaw_deg, f, r);
    int rel = strstr(q->text, "behind") ? 0 : strstr(q->text, "to the left of") ? 1 : strstr(q->text, "to the right of") ? 2 : -1;
    HATCH_EXPECT(c, rel >= 0 && (rel == 0) == (q->kind == HATCH_SIM_Q_AMONG_BEHIND), "relation in '%s'", q->text);
    for (int k = 0; k < q->n_options; k++) {
      int o = object_by_option(&w, q->options[k]);
      if (o < 0) continue;
      double x = w.objects[o].centre[0], z = w.objects[o].centre[2];
      double along = x * f[0] + z * f[1], side = x * r[0] + z * r[1];
      bool holds = rel == 0 ? along > 0 : rel == 1 ? side < 0 : side > 0;
      HATCH_EXPECT(c, holds == (k == q->answer), "'%s': option %s %s", q->text, q->options[k],
                   k == q->answer ? "is the answer but does not hold" : "holds but is not the answer");
    }
    /* The teacher action ends at a view that looks across the chair toward the asked side (left of it
     * from view i: the view at i's right), with the answer beyond the chair. */
    int o = object_by_option(&w, q->options[q->answer]);
    HATCH_EXPECT(c, o > 0 && q->from == img && q->to != img, "'%s': views %d -> %d", q->text, q->from, q->to);
    if (o <= 0 || q->to == img) continue;
    double ft[2], rt[2];
    floor_axes(w.views[q->to].yaw_deg, ft, rt);
    double beyond = w.objects[o].centre[0] * ft[0] + w.objects[o].centre[2] * ft[1];
    double toward = rel == 0 ? 0 : (rel == 1 ? -1 : 1) * (ft[0] * r[0] + ft[1] * r[1]);
    HATCH_EXPECT(c, beyond > 0.5 && (rel == 0 || toward > 0.99), "'%s': reached view %d looks %s (%.2f), answer %.2f m beyond",
                 q->text, q->to, rel == 0 ? "at it" : "toward the asked side", toward, beyond);
  }
  HATCH_EXPECT(c, among == 12, "4 views x (behind, left, right) = 12 among questions, got %d", among);
}

/* The among world with three views (no view at view 0's right): a teacher view that sees the answer
 * beyond the chair when one exists (else where the answer shows), never the asking view. */
static void test_among_three_views(hatch_test_ctx *c) {
  hatch_sim_visibility vis;
  hatch_sim_world w = among_world(3, &vis);
  hatch_sim_question qs[HATCH_SIM_MAX_QUESTIONS];
  int n = among_questions(c, &w, &vis, qs), among = 0;
  for (int i = 0; i < n; i++) {
    const hatch_sim_question *q = &qs[i];
    if (q->kind == HATCH_SIM_Q_CLOSEST) continue;
    among++;
    int o = q->answer_object;
    bool beyond_somewhere = false, beyond_there = false;
    for (int v = 0; v < 3; v++) {
      double f[2], r[2];
      floor_axes(w.views[v].yaw_deg, f, r);
      bool beyond = v != q->from && vis.pixels[v][o] > 0 && w.objects[o].centre[0] * f[0] + w.objects[o].centre[2] * f[1] > 0.5;
      beyond_somewhere |= beyond;
      if (v == q->to) beyond_there = beyond;
    }
    HATCH_EXPECT(c, q->to != q->from && vis.pixels[q->to][o] > 0 && (beyond_there || !beyond_somewhere),
                 "'%s': views %d -> %d (answer beyond the chair there: %d, in some view: %d)", q->text, q->from, q->to,
                 beyond_there, beyond_somewhere);
  }
  HATCH_EXPECT(c, among > 0, "among questions asked (%d)", among);
}

/* An arc of three cameras around a group; side questions checked with floor vectors. */
static void test_around_answers(hatch_test_ctx *c) {
  hatch_sim_world w = base_world(HATCH_SIM_AROUND);
  w.n_views = 3;
  for (int k = 0; k < 3; k++) {
    double yaw = 40 - 40.0 * k, a = yaw * PI / 180;
    w.views[k] = cam_at(3.5 * sin(a), 3.5 * cos(a), yaw);
  }
  add_obj(&w, "red", "chair", -0.8, 0.2, 0.6);
  add_obj(&w, "blue", "lamp", 0.9, -0.3, 0.6);
  add_obj(&w, "green", "sofa", 0.1, -1.2, 0.8);
  add_obj(&w, "yellow", "bin", -1.5, -1.5, 0.5);
  add_obj(&w, "white", "table", 1.8, 1.0, 0.7);
  hatch_sim_visibility vis;
  hatch_sim_visibility_from_geometry(&w, &vis);
  hatch_sim_question qs[HATCH_SIM_MAX_QUESTIONS];
  int n = 0, side_q = 0, closest_q = 0;
  HATCH_EXPECT_OK(c, hatch_sim_questions_make(&w, &vis, 3, HATCH_SIM_MAX_QUESTIONS, qs, &n));
  for (int i = 0; i < n; i++) {
    const hatch_sim_question *q = &qs[i];
    check_options(c, &w, q);
    if (q->kind == HATCH_SIM_Q_AROUND_SIDE) {
      side_q++;
      int from = image_number(q->text, "viewpoint of image ") - 1;
      int to = image_number(q->text, "to the viewpoint of image ") - 1;
      HATCH_EXPECT(c, to >= 0 && to < 3 && from >= 0 && q->from == from && q->to == to, "views in '%s'", q->text);
      if (to < 0 || to > 2) continue;
      bool left = strstr(q->text, "to your left?") != NULL;
      double f[2], r[2];
      floor_axes(w.views[to].yaw_deg, f, r);
      for (int k = 0; k < q->n_options; k++) {
        int o = object_by_option(&w, q->options[k]);
        if (o < 0) continue;
        double x = w.objects[o].centre[0] - w.views[to].position[0], z = w.objects[o].centre[2] - w.views[to].position[2];
        double side = x * r[0] + z * r[1];
        HATCH_EXPECT(c, ((left ? -side : side) > 0) == (k == q->answer), "'%s': option %s side %.2f", q->text,
                     q->options[k], side);
      }
    } else {
      HATCH_EXPECT(c, q->kind == HATCH_SIM_Q_CLOSEST, "around gives side and closest questions only (%d)", q->kind);
      closest_q++;
      int j = image_number(q->text, "camera in image ") - 1;
      HATCH_EXPECT(c, j >= 0 && j < 3 && q->to == j && q->from == (j + 1) % 3, "closest: view pair for '%s'", q->text);
      if (j < 0 || j > 2) continue;
      double f[2], r[2], za = 0;
      floor_axes(w.views[j].yaw_deg, f, r);
      double depth[4];
      for (int k = 0; k < q->n_options; k++) {
        int o = object_by_option(&w, q->options[k]);
        double x = w.objects[o].centre[0] - w.views[j].position[0], z = w.objects[o].centre[2] - w.views[j].position[2];
        depth[k] = x * f[0] + z * f[1];
      }
      za = depth[q->answer];
      for (int k = 0; k < q->n_options; k++)
        if (k != q->answer) HATCH_EXPECT(c, depth[k] >= 1.2 * za - 1e-9, "'%s': %s at %.2f vs answer %.2f", q->text, q->options[k], depth[k], za);
    }
  }
  HATCH_EXPECT(c, side_q >= 4 && closest_q >= 1, "side %d closest %d questions", side_q, closest_q);
}

static void test_bad_input(hatch_test_ctx *c) {
  hatch_sim_world w = base_world(HATCH_SIM_ROTATION);
  hatch_sim_visibility vis;
  hatch_sim_question q[2];
  int n = 5;
  w.n_views = 1;
  hatch_sim_visibility_from_geometry(&w, &vis);
  HATCH_EXPECT(c, hatch_sim_questions_make(&w, &vis, 1, 2, q, &n) == HATCH_ERR_INVALID_ARGUMENT && n == 0, "one view");
  w.n_views = 2;
  HATCH_EXPECT(c, hatch_sim_questions_make(&w, &vis, 1, 2, q, &n) == HATCH_ERR_INVALID_ARGUMENT, "vis for another world");
  hatch_sim_visibility_from_geometry(&w, &vis);
  HATCH_EXPECT_OK(c, hatch_sim_questions_make(&w, &vis, 1, 2, q, &n));
  HATCH_EXPECT(c, n == 0, "no objects: nothing to ask (%d)", n);
  int16_t ids[4] = {0, -1, 3, -2};
  w.views[0].width = 2, w.views[0].height = 2;
  w.n_objects = 1;
  hatch_sim_visibility_init(&vis, &w);
  HATCH_EXPECT(c, hatch_sim_visibility_add_ids(&vis, &w, 0, ids) == HATCH_ERR_CORRUPT, "id out of range");
  HATCH_EXPECT(c, hatch_sim_visibility_add_ids(&vis, &w, 5, ids) == HATCH_ERR_INVALID_ARGUMENT, "bad view");
  char err[256];
  hatch_sim_stream *st = NULL;
  hatch_sim_stream_options o = {.image_size = 8};
  HATCH_EXPECT(c, hatch_sim_stream_create(&o, &st, err) == HATCH_ERR_INVALID_ARGUMENT && st == NULL && strstr(err, "image_size"),
               "tiny images refused: %s", err);
  hatch_sim_stream_destroy(NULL);
}

/* ---- the rendered stream ---------------------------------------------------------------------- */

#define N_STREAM 800
#define N_VISIBILITY 200 /* samples whose answer object is checked against fresh id renders */

static void test_stream(hatch_test_ctx *c) {
  hatch_sim_stream_options o = {.seed = 2024, .image_size = 112, .questions_per_world = 4, .n_samples = N_STREAM};
  hatch_sim_stream *st = NULL;
  char err[256];
  HATCH_EXPECT_OK(c, hatch_sim_stream_create(&o, &st, err));
  if (!st) return;
  hatch_train_sample s = {0};
  int letters[4] = {0}, n = 0, per_setting[HATCH_SIM_SETTING_COUNT] = {0}, per_kind[HATCH_SIM_Q_TEMPLATE_COUNT] = {0};
  double expect[4] = {0};
  int16_t *ids = malloc(112 * 112 * sizeof *ids);
  /* The text-only learner's data: per template, the option texts and the answer. */
  typedef struct { int kind, n_opt, answer; char opt[4][64]; } rec;
  rec *recs = calloc(N_STREAM, sizeof *recs);
  double t0 = (double)clock() / CLOCKS_PER_SEC;
  hatch_status rc;
  while ((rc = hatch_sim_stream_next(st, &s)) == HATCH_OK) {
    int64_t scene = -1;
    const hatch_sim_world *w = hatch_sim_stream_world(st, &scene);
    const hatch_sim_question *q = hatch_sim_stream_question(st);
    HATCH_EXPECT(c, w && q && scene >= 0, "world and question of the sample");
    if (!w || !q) break;
    per_setting[w->setting]++, per_kind[q->kind]++;
    HATCH_EXPECT(c, strstr(s.id, s.setting) == s.id && s.n_images == w->n_views && s.images[0].width == 112 &&
                        s.images[0].rgb && s.images[0].depth && s.images[0].has_camera,
                 "sample %s shape", s.id);
    HATCH_EXPECT(c, s.gt_answer >= 'A' && s.gt_answer < 'A' + s.n_options && s.n_options >= 3 && s.n_options <= 4,
                 "%s: answer %c of %d", s.id, s.gt_answer, s.n_options);
    if (s.gt_answer >= 'A' && s.gt_answer <= 'D') letters[s.gt_answer - 'A']++;
    for (int k = 0; k < s.n_options; k++) expect[k] += 1.0 / s.n_options;
    /* The action parses with the answer appended, and composes to the true pose within rounding. */
    char plan_text[HATCH_SAMPLE_MAX_ACTION + 200];
    snprintf(plan_text, sizeof plan_text, "%s<answer>%c. %s</answer>", s.action, s.gt_answer, s.answer_text);
    hatch_plan p;
    hatch_plan_error pe;
    hatch_plan_limits lim = {.n_views = s.n_images, .n_options = s.n_options};
    hatch_status ps = hatch_plan_parse(plan_text, strlen(plan_text), &lim, &p, &pe);
    HATCH_EXPECT(c, ps == HATCH_OK, "%s: '%s' does not parse: %s", s.id, plan_text, pe.message);
    if (ps == HATCH_OK) {
      hatch_relative_pose comp;
      hatch_plan_compose(p.steps[0].actions, p.steps[0].n_actions, &comp);
      double dist = sqrt(s.pose.t_m[0] * s.pose.t_m[0] + s.pose.t_m[1] * s.pose.t_m[1] + s.pose.t_m[2] * s.pose.t_m[2]);
      double terr = 0;
      for (int k = 0; k < 3; k++) terr = fmax(terr, fabs(comp.t_m[k] - s.pose.t_m[k]));
      double yerr = fabs(remainder(comp.yaw_deg - s.pose.yaw_deg, 360.0));
      /* rounding: whole degrees (<= 0.5 deg per turn, two turns), 1 cm on the distance */
      HATCH_EXPECT(c, yerr <= 1.01 && fabs(comp.pitch_deg - s.pose.pitch_deg) <= 1.01 && terr <= 0.006 + dist * 0.0175,
                   "%s: composed pose off by yaw %.3f deg, t %.4f m (dist %.2f)", s.id, yerr, terr, dist);
      HATCH_EXPECT(c, p.n_steps == 1 && p.steps[0].from == s.pose_from && p.steps[0].to == s.pose_to && p.choice == s.gt_answer &&
                          !strcmp(p.text, s.answer_text),
                   "%s: plan fields", s.id);
    }
    /* Only objects visible in some view are asked about; an among question's teacher action ends at a
     * view that sees its answer when a view other than the asking one does. */
    int seen = 0, seen_in[HATCH_SIM_MAX_VIEWS] = {0}, best_other = 0;
    for (int v = 0; v < w->n_views && ids && n < N_VISIBILITY; v++) {
      if (hatch_sim_render_ids(w, v, ids) != HATCH_OK) continue;
      for (int i = 0; i < 112 * 112; i++) seen_in[v] += ids[i] == q->answer_object;
      seen += seen_in[v];
      if (v != q->from && seen_in[v] > best_other) best_other = seen_in[v];
    }
    HATCH_EXPECT(c, n >= N_VISIBILITY || seen >= 25, "%s: answer object %d covers only %d pixels", s.id, q->answer_object, seen);
    bool among_q = q->kind == HATCH_SIM_Q_AMONG_BEHIND || q->kind == HATCH_SIM_Q_AMONG_SIDE;
    HATCH_EXPECT(c, n >= N_VISIBILITY || !among_q || best_other < 25 || seen_in[q->to] >= 25,
                 "%s: the action's view %d shows the answer in %d pixels, another in %d", s.id, q->to, seen_in[q->to], best_other);
    rec *r = &recs[n];
    r->kind = q->kind, r->n_opt = q->n_options, r->answer = q->answer;
    for (int k = 0; k < q->n_options; k++) snprintf(r->opt[k], sizeof r->opt[k], "%.63s", q->options[k]);
    n++;
  }
  double dt = (double)clock() / CLOCKS_PER_SEC - t0;
  HATCH_EXPECT(c, rc == HATCH_ERR_NOT_FOUND && n == N_STREAM, "stream ended with %s after %d", hatch_status_name(rc), n);
  fprintf(stderr, "  stream: %d samples at 112x112 in %.2f s CPU (%.0f samples/s, visibility checks included)\n", n, dt,
          dt > 0 ? n / dt : 0);
  for (int s2 = 0; s2 < HATCH_SIM_SETTING_COUNT; s2++)
    HATCH_EXPECT(c, per_setting[s2] >= N_STREAM / 8, "setting %s has %d samples", hatch_sim_setting_name(s2), per_setting[s2]);
  for (int k = 0; k < HATCH_SIM_Q_SPATIAL_COUNT; k++) {
    fprintf(stderr, "  %-14s %d\n", hatch_sim_template_name(k), per_kind[k]);
    HATCH_EXPECT(c, per_kind[k] >= 10, "template %s has %d samples", hatch_sim_template_name(k), per_kind[k]);
  }
  /* Letter balance: each letter within 30% of its expected count (~3.5 sd at these counts). */
  for (int k = 0; k < 4; k++) {
    fprintf(stderr, "  letter %c: %d (expected %.1f)\n", 'A' + k, letters[k], expect[k]);
    HATCH_EXPECT(c, fabs(letters[k] - expect[k]) <= 0.3 * expect[k], "letter %c: %d vs %.1f", 'A' + k, letters[k], expect[k]);
  }
  /* Text-only learner: trained on even samples (answer rate of each option text, and of its colour
   * and category words), picks the best-scoring option on odd samples. Must stay near chance. */
  for (int kind = 0; kind < HATCH_SIM_Q_SPATIAL_COUNT; kind++) {
    enum { MAXT = 256 };
    static char names[MAXT][64];
    static int shown[MAXT], won[MAXT];
    int n_names = 0, tested = 0, right = 0, top_count = 0;
    double chance = 0;
    memset(shown, 0, sizeof shown), memset(won, 0, sizeof won);
    for (int pass = 0; pass < 2; pass++) {
      for (int i = pass; i < n; i += 2) {
        const rec *r = &recs[i];
        if (r->kind != kind) continue;
        double best = -1;
        int pick = 0;
        for (int k = 0; k < r->n_opt; k++) {
          /* the whole text, its first word (colour), its last word (category) */
          char keys[3][64];
          snprintf(keys[0], 64, "%.63s", r->opt[k]);
          snprintf(keys[1], 64, "c:%.*s", (int)strcspn(r->opt[k], " "), r->opt[k]);
          const char *sp = strrchr(r->opt[k], ' ');
          snprintf(keys[2], 64, "t:%.61s", sp ? sp + 1 : r->opt[k]);
          double score = 0;
          for (int kk = 0; kk < 3; kk++) {
            int id = -1;
            for (int t = 0; t < n_names; t++)
              if (!strcmp(names[t], keys[kk])) id = t;
            if (id < 0 && n_names < MAXT) memcpy(names[id = n_names++], keys[kk], 64);
            if (id < 0) continue;
            if (pass == 0) shown[id]++, won[id] += k == r->answer;
            else score += (won[id] + 1.0) / (shown[id] + r->n_opt);
          }
          if (pass == 1 && score > best) best = score, pick = k;
        }
        if (pass == 1) tested++, right += pick == r->answer, chance += 1.0 / r->n_opt;
      }
    }
    /* The most frequent answer text of the template, as a share of its questions. */
    for (int t = 0; t < n_names; t++)
      if (names[t][1] != ':' && won[t] > top_count) top_count = won[t];
    if (tested < 20) continue;
    double acc = (double)right / tested, base = chance / tested;
    fprintf(stderr, "  text-only %-14s %.2f (chance %.2f, n %d; top answer text %d of %d)\n", hatch_sim_template_name(kind),
            acc, base, tested, top_count, tested);
    HATCH_EXPECT(c, acc <= base + 0.15, "%s: a text-only learner gets %.2f (chance %.2f)", hatch_sim_template_name(kind), acc, base);
    HATCH_EXPECT(c, top_count <= (base + 0.15) * tested, "%s: one answer text wins %d of %d", hatch_sim_template_name(kind),
                 top_count, tested);
  }
  free(recs);
  free(ids);
  hatch_train_sample_clear(&s);
  hatch_sim_stream_destroy(st);
}

static void test_determinism(hatch_test_ctx *c) {
  hatch_sim_stream_options o = {.seed = 99, .image_size = 64, .questions_per_world = 3, .n_samples = 24};
  hatch_sim_stream *a = NULL, *b = NULL;
  HATCH_EXPECT_OK(c, hatch_sim_stream_create(&o, &a, NULL));
  HATCH_EXPECT_OK(c, hatch_sim_stream_create(&o, &b, NULL));
  o.seed = 100;
  hatch_sim_stream *d = NULL;
  HATCH_EXPECT_OK(c, hatch_sim_stream_create(&o, &d, NULL));
  if (!a || !b || !d) goto done;
  hatch_train_sample x = {0}, y = {0}, z = {0};
  int same_as_other = 0;
  for (int i = 0; i < 24; i++) {
    HATCH_EXPECT_OK(c, hatch_sim_stream_next(a, &x));
    HATCH_EXPECT_OK(c, hatch_sim_stream_next(b, &y));
    HATCH_EXPECT_OK(c, hatch_sim_stream_next(d, &z));
    bool same = !strcmp(x.id, y.id) && !strcmp(x.question, y.question) && !strcmp(x.action, y.action) &&
                x.gt_answer == y.gt_answer && x.n_images == y.n_images;
    for (int k = 0; same && k < x.n_images; k++)
      same = !memcmp(x.images[k].rgb, y.images[k].rgb, 64 * 64 * 3) && !memcmp(x.images[k].depth, y.images[k].depth, 64 * 64 * 4);
    HATCH_EXPECT(c, same, "sample %d differs between two streams with one seed (%s / %s)", i, x.id, y.id);
    same_as_other += !strcmp(x.question, z.question);
  }
  HATCH_EXPECT(c, same_as_other < 12, "another seed gives other questions (%d of 24 equal)", same_as_other);
  HATCH_EXPECT(c, hatch_sim_stream_next(a, &x) == HATCH_ERR_NOT_FOUND, "n_samples ends the stream");
  hatch_train_sample_clear(&x), hatch_train_sample_clear(&y), hatch_train_sample_clear(&z);
done:
  hatch_sim_stream_destroy(a), hatch_sim_stream_destroy(b), hatch_sim_stream_destroy(d);
}

/* Grounding questions against fresh id renders: main_object's answer fills the most pixels of its
 * view (1.3x the runner-up); visible's answer covers >= 1% of the view and no distractor has a pixel. */
static int option_object(const hatch_sim_world *w, const hatch_sim_question *q, int k) {
  for (int o = 0; o < w->n_objects; o++) {
    char text[HATCH_PLAN_MAX_TEXT + 1];
    snprintf(text, sizeof text, "%s", w->objects[o].name);
    if (text[0] >= 'a' && text[0] <= 'z') text[0] = (char)(text[0] - 'a' + 'A');
    if (!strcmp(text, q->options[k])) return o;
  }
  return -1;
}

/* The in-picture relations, checked on the id render and the camera frame rather than by the
 * generator's angles: image_side's answer is seen on the asked half of the picture and every
 * distractor seen in it on the other half; image_relation's answer is seen and stands farther along the
 * line of sight than the named object (behind) or across it on the asked side, drawn on that side of
 * it, every distractor in front of it or on its other side. */
static void check_image_relation(hatch_test_ctx *c, const hatch_sim_world *w, int view, const hatch_sim_question *q,
                                 const int *px, const double *column, const char *id) {
  int a = q->answer_object;
  HATCH_EXPECT(c, px[a] > 0, "%s: the answer has no pixel in the view", id);
  bool left = strstr(q->text, "left") != NULL, behind = strstr(q->text, "behind") != NULL;
  int subject = -1;
  const char *the = NULL, *mark = strchr(q->text, '?'); /* the last " the " before the question mark */
  for (const char *p = strstr(q->text, " the "); p && mark && p < mark; p = strstr(p + 1, " the ")) the = p;
  for (int o = 0; the && o < w->n_objects; o++)
    if (!strncmp(the + 5, w->objects[o].name, strlen(w->objects[o].name)) && the[5 + strlen(w->objects[o].name)] == '?')
      subject = o;
  if (q->kind == HATCH_SIM_Q_IMAGE_RELATION)
    HATCH_EXPECT(c, subject >= 0 && px[subject] * 100 >= 112 * 112, "%s: the named object is not in the picture", id);
  double ps[3] = {0};
  if (subject >= 0) hatch_sim_world_to_camera(&w->views[view], w->objects[subject].centre, ps);
  for (int k = 0; k < q->n_options; k++) {
    int ob = option_object(w, q, k);
    HATCH_EXPECT(c, ob >= 0, "%s: option '%s' is no object", id, q->options[k]);
    if (ob < 0) continue;
    bool asked = k == q->answer;
    if (q->kind == HATCH_SIM_Q_IMAGE_SIDE) {
      if (px[ob] == 0) continue; /* a distractor out of the picture: on the other side, unseen */
      bool on_left = column[ob] < 0;
      HATCH_EXPECT(c, on_left == (asked == left), "%s: '%s' at column %.1f (%s)", id, q->options[k], column[ob],
                   asked ? "answer" : "distractor");
    } else if (subject >= 0) {
      /* along the line of sight to the named object (behind) or across it, right positive */
      double p[3], n = hypot(ps[0], ps[2]), ux = ps[0] / n, uz = ps[2] / n;
      hatch_sim_world_to_camera(&w->views[view], w->objects[ob].centre, p);
      double along = (p[0] - ps[0]) * ux + (p[2] - ps[2]) * uz, across = (p[0] - ps[0]) * uz - (p[2] - ps[2]) * ux;
      double d = behind ? along : left ? -across : across;
      HATCH_EXPECT(c, asked ? d > 0 : d < 0, "%s: '%s' off by %.2f m (%s)", id, q->options[k], d,
                   asked ? "answer" : "distractor");
      if (!behind && px[ob] > 0) /* and drawn on that side of it */
        HATCH_EXPECT(c, ((column[ob] - column[subject]) * (left ? -1 : 1) > 0) == asked,
                     "%s: '%s' drawn at column %.1f, the %s at %.1f", id, q->options[k], column[ob],
                     w->objects[subject].name, column[subject]);
    }
  }
}

static void test_grounding(hatch_test_ctx *c) {
  hatch_sim_stream_options o = {.seed = 77, .image_size = 112, .questions_per_world = 4, .n_samples = 160, .grounding = true};
  hatch_sim_stream *st = NULL;
  HATCH_EXPECT_OK(c, hatch_sim_stream_create(&o, &st, NULL));
  if (!st) return;
  int16_t *ids = malloc(112 * 112 * sizeof *ids);
  int per_kind[HATCH_SIM_Q_TEMPLATE_COUNT] = {0}, letters[4] = {0}, n = 0;
  hatch_train_sample s = {0};
  while (ids && hatch_sim_stream_next(st, &s) == HATCH_OK) {
    const hatch_sim_world *w = hatch_sim_stream_world(st, NULL);
    const hatch_sim_question *q = hatch_sim_stream_question(st);
    per_kind[q->kind]++, n++;
    letters[q->answer]++;
    HATCH_EXPECT(c, q->kind >= HATCH_SIM_Q_MAIN_OBJECT && q->kind < HATCH_SIM_Q_TEMPLATE_COUNT, "%s: kind %s", s.id,
                 hatch_sim_template_name(q->kind));
    HATCH_EXPECT(c, q->n_options >= 3 && option_object(w, q, q->answer) == q->answer_object, "%s: options", s.id);
    /* the view is the question's image number */
    int view = -1;
    const char *img = strstr(q->text, "image ");
    if (img) view = atoi(img + 6) - 1;
    HATCH_EXPECT(c, view == q->from && view >= 0 && view < w->n_views, "%s: asks about view %d, from %d", s.id, view, q->from);
    if (view < 0 || view >= w->n_views || hatch_sim_render_ids(w, view, ids) != HATCH_OK) continue;
    int px[HATCH_SIM_MAX_OBJECTS] = {0};
    double column[HATCH_SIM_MAX_OBJECTS] = {0}; /* mean pixel column, image centre = 0, right positive */
    for (int i = 0; i < 112 * 112; i++)
      if (ids[i] >= 0 && ids[i] < w->n_objects) px[ids[i]]++, column[ids[i]] += i % 112 - 55.5;
    for (int ob = 0; ob < w->n_objects; ob++) column[ob] = px[ob] ? column[ob] / px[ob] : 0;
    if (q->kind == HATCH_SIM_Q_IMAGE_SIDE || q->kind == HATCH_SIM_Q_IMAGE_RELATION) {
      check_image_relation(c, w, view, q, px, column, s.id);
      continue;
    }
    for (int k = 0; k < q->n_options; k++) {
      int ob = option_object(w, q, k);
      HATCH_EXPECT(c, ob >= 0, "%s: option '%s' is no object", s.id, q->options[k]);
      if (ob < 0 || k == q->answer) continue;
      if (q->kind == HATCH_SIM_Q_MAIN_OBJECT)
        HATCH_EXPECT(c, px[q->answer_object] * 10 >= px[ob] * 13, "%s: '%s' (%d px) vs answer (%d px)", s.id,
                     q->options[k], px[ob], px[q->answer_object]);
      else
        HATCH_EXPECT(c, px[ob] == 0, "%s: distractor '%s' has %d px in the view", s.id, q->options[k], px[ob]);
    }
    HATCH_EXPECT(c, px[q->answer_object] * 100 >= 112 * 112, "%s: answer covers %d px", s.id, px[q->answer_object]);
  }
  hatch_train_sample_clear(&s);
  HATCH_EXPECT(c, n == 160, "stream gave %d samples", n);
  for (int k = HATCH_SIM_Q_MAIN_OBJECT; k < HATCH_SIM_Q_TEMPLATE_COUNT; k++)
    HATCH_EXPECT(c, per_kind[k] >= 25, "%s: %d of %d", hatch_sim_template_name((hatch_sim_template)k), per_kind[k], n);
  for (int k = 0; k < 3; k++) HATCH_EXPECT(c, letters[k] >= 20, "letter %c: %d of %d", 'A' + k, letters[k], n);
  free(ids);
  hatch_sim_stream_destroy(st);
}

/* Captions on a hand-built world: one view looking down -z with a box left of centre, a bigger one right
 * of it, one too small to name and one behind; a second view looking away from all of them. */
static void test_caption_hand_built(hatch_test_ctx *c) {
  hatch_sim_world w = base_world(HATCH_SIM_FREE);
  w.n_views = 2;
  w.views[0] = cam_at(0, 0, 0), w.views[1] = cam_at(0, 0, 180);
  add_obj(&w, "red", "box", -1.2, -4, 0.8);
  add_obj(&w, "blue", "ball", 1.0, -4, 1.0);
  add_obj(&w, "green", "bin", 0.2, -9, 0.05);    /* far and tiny: under 1% of the view */
  add_obj(&w, "black", "chair", 0.0, 3, 0.8);   /* behind view 0, in front of view 1 */
  hatch_sim_visibility vis;
  hatch_sim_visibility_from_geometry(&w, &vis);
  char out[256];
  HATCH_EXPECT_OK(c, hatch_sim_caption(&w, &vis, out, sizeof out));
  HATCH_EXPECT(c, !strcmp(out, "Image 1: Red box, Blue ball. Image 2: Black chair."), "caption '%s'", out);
  w.views[1] = cam_at(0, 0, 90); /* looking to -x: nothing in view */
  hatch_sim_visibility_from_geometry(&w, &vis);
  HATCH_EXPECT_OK(c, hatch_sim_caption(&w, &vis, out, sizeof out));
  HATCH_EXPECT(c, !strcmp(out, "Image 1: Red box, Blue ball. Image 2: none."), "caption '%s'", out);
  HATCH_EXPECT(c, hatch_sim_caption(&w, &vis, out, 20) == HATCH_ERR_TOO_LARGE, "short buffer refused");
  HATCH_EXPECT(c, hatch_sim_caption(&w, NULL, out, sizeof out) == HATCH_ERR_INVALID_ARGUMENT, "NULL visibility");
}

/* Stream captions against the id renders: every named object covers >= 1% of its view, every object
 * that does is named, in order of its pixels' mean column; the cell labels and object names the
 * caption stage's vision loss reads. */
static void test_caption_stream(hatch_test_ctx *c) {
  hatch_sim_stream_options o = {.seed = 5, .image_size = 112, .n_samples = 24, .captions = true};
  hatch_sim_stream *st = NULL;
  HATCH_EXPECT_OK(c, hatch_sim_stream_create(&o, &st, NULL));
  if (!st) return;
  int16_t *ids = malloc(112 * 112 * sizeof *ids);
  hatch_train_sample s = {0};
  int n = 0, named = 0, labelled = 0;
  while (ids && hatch_sim_stream_next(st, &s) == HATCH_OK) {
    const hatch_sim_world *w = hatch_sim_stream_world(st, NULL);
    n++;
    HATCH_EXPECT(c, !strcmp(s.question, HATCH_SIM_CAPTION_QUESTION) && s.n_options == 0 && !s.action[0] &&
                        hatch_sim_stream_question(st) == NULL && strstr(s.id, "_caption"),
                 "%s: a caption sample", s.id);
    char want[HATCH_SAMPLE_MAX_RESPONSE] = "";
    HATCH_EXPECT(c, s.n_objects == w->n_objects, "%s: %d object names", s.id, s.n_objects);
    for (int ob = 0; ob < s.n_objects; ob++)
      HATCH_EXPECT(c, !strcasecmp(s.object_names[ob], w->objects[ob].name), "%s: object %d named '%s'", s.id, ob,
                   s.object_names[ob]);
    for (int v = 0; v < w->n_views && hatch_sim_render_ids(w, v, ids) == HATCH_OK; v++) {
      /* cell labels: per 28x28 cell the object with the most pixels, when they are >= 10% of it */
      for (int cell = 0; s.images[v].cell_object && cell < 16; cell++) {
        int cnt[HATCH_SIM_MAX_OBJECTS] = {0}, best = -1;
        for (int y = cell / 4 * 28; y < cell / 4 * 28 + 28; y++)
          for (int x = cell % 4 * 28; x < cell % 4 * 28 + 28; x++)
            if (ids[y * 112 + x] >= 0) cnt[ids[y * 112 + x]]++;
        for (int ob = 0; ob < w->n_objects; ob++)
          if (cnt[ob] >= 79 && (best < 0 || cnt[ob] > cnt[best])) best = ob;
        HATCH_EXPECT(c, s.images[v].cell_object[cell] == best, "%s view %d cell %d: label %d, want %d", s.id, v, cell,
                     s.images[v].cell_object[cell], best);
        labelled += best >= 0;
      }
      HATCH_EXPECT(c, s.images[v].cell_object != NULL, "%s view %d: no cell labels", s.id, v);
      int px[HATCH_SIM_MAX_OBJECTS] = {0};
      double col[HATCH_SIM_MAX_OBJECTS] = {0};
      for (int i = 0; i < 112 * 112; i++)
        if (ids[i] >= 0) px[ids[i]]++, col[ids[i]] += i % 112;
      size_t len = strlen(want);
      snprintf(want + len, sizeof want - len, "%sImage %d:", v ? " " : "", v + 1);
      int done[HATCH_SIM_MAX_OBJECTS] = {0}, k = 0;
      for (;; k++) { /* selection by centre, written independently of the library's sort */
        int best = -1;
        for (int ob = 0; ob < w->n_objects; ob++)
          if (!done[ob] && px[ob] * 100 >= 112 * 112 && (best < 0 || col[ob] / px[ob] < col[best] / px[best])) best = ob;
        if (best < 0) break;
        done[best] = 1, named++;
        char name[64];
        snprintf(name, sizeof name, "%s", w->objects[best].name);
        name[0] = (char)toupper((unsigned char)name[0]);
        len = strlen(want);
        snprintf(want + len, sizeof want - len, "%s %s", k ? "," : "", name);
      }
      len = strlen(want);
      snprintf(want + len, sizeof want - len, "%s.", k ? "" : " none");
    }
    HATCH_EXPECT(c, !strcmp(s.response, want), "%s: caption\n  '%s'\nwant\n  '%s'", s.id, s.response, want);
  }
  hatch_train_sample_clear(&s);
  HATCH_EXPECT(c, n == 24 && named >= 24 * 2 && labelled >= 24 * 4, "%d samples, %d objects named, %d cells labelled", n,
               named, labelled);
  free(ids);
  hatch_sim_stream_destroy(st);
}

int main(int argc, char **argv) {
  static const hatch_test_case cases[] = {
      {"rotation_answers", test_rotation_answers, false},
      {"among_answers", test_among_answers, false},
      {"among_three_views", test_among_three_views, false},
      {"around_answers", test_around_answers, false},
      {"bad_input", test_bad_input, false},
      {"determinism", test_determinism, false},
      {"stream", test_stream, false},
      {"grounding", test_grounding, false},
      {"caption_hand_built", test_caption_hand_built, false},
      {"caption_stream", test_caption_stream, false},
  };
  return hatch_test_main(argc, argv, cases, (int)(sizeof cases / sizeof cases[0]));
}
