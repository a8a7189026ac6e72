/* Action plans (runtime/plan): the strict grammar, its parser and incremental matcher agreeing byte
 * by byte, pose composition with known answers, teacher actions from poses round-tripping through the
 * grammar, and the plan JSON. CPU only. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "hatch/plan.h"

#define PI 3.14159265358979323846
#define PAPER "<action>{from:0,to:1,action:[{turn right: 120 deg}{move forward: 1.2 m}{turn left: 150 deg}]}</action><answer>C. Back, Right</answer>"

static bool near(double a, double b, double tol) { return fabs(a - b) <= tol; }

static void test_paper_example(hatch_test_ctx *c) {
  hatch_plan p;
  hatch_plan_error e;
  hatch_plan_limits lim = {.n_views = 2, .n_options = 4};
  HATCH_EXPECT(c, hatch_plan_parse(PAPER, strlen(PAPER), &lim, &p, &e) == HATCH_OK, "paper example: %s", e.message);
  HATCH_EXPECT(c, p.n_steps == 1 && p.steps[0].from == 0 && p.steps[0].to == 1 && p.steps[0].n_actions == 3, "structure");
  HATCH_EXPECT(c, p.steps[0].actions[0].verb == HATCH_TURN_RIGHT && p.steps[0].actions[0].value == 120 &&
                      p.steps[0].actions[1].verb == HATCH_MOVE_FORWARD && p.steps[0].actions[1].value == 1.2 &&
                      p.steps[0].actions[2].verb == HATCH_TURN_LEFT && p.steps[0].actions[2].value == 150,
               "actions");
  HATCH_EXPECT(c, p.choice == 'C' && !strcmp(p.text, "Back, Right"), "answer '%c' '%s'", p.choice, p.text);
  /* right 120 -> yaw -120: forward is then (sin 120, 0, cos 120) * 1.2 = (1.039, 0, -0.6); left 150 -> yaw 30. */
  const hatch_relative_pose *q = &p.steps[0].pose;
  HATCH_EXPECT(c, near(q->yaw_deg, 30, 1e-9) && q->pitch_deg == 0 && near(q->t_m[0], 1.2 * sin(120 * PI / 180), 1e-9) &&
                      q->t_m[1] == 0 && near(q->t_m[2], -0.6, 1e-9),
               "pose yaw %f t (%f %f %f)", q->yaw_deg, q->t_m[0], q->t_m[1], q->t_m[2]);
}

static void test_compose(hatch_test_ctx *c) {
  hatch_relative_pose q;
  hatch_plan_action fwd[] = {{HATCH_MOVE_FORWARD, 1.2}};
  hatch_plan_compose(fwd, 1, &q);
  HATCH_EXPECT(c, q.t_m[2] == 1.2 && q.t_m[0] == 0 && q.yaw_deg == 0, "forward 1.2 m -> t (0,0,1.2)");
  hatch_plan_action left[] = {{HATCH_TURN_LEFT, 90}, {HATCH_MOVE_FORWARD, 2}};
  hatch_plan_compose(left, 2, &q);
  HATCH_EXPECT(c, near(q.t_m[0], -2, 1e-12) && near(q.t_m[2], 0, 1e-12) && q.yaw_deg == 90, "left 90 then 2 m: x = -2 (left)");
  hatch_plan_action up[] = {{HATCH_TURN_UP, 30}, {HATCH_MOVE_FORWARD, 1}, {HATCH_MOVE_DOWN, 0.5}};
  hatch_plan_compose(up, 3, &q);
  HATCH_EXPECT(c, near(q.t_m[1], -0.5 + 0.5, 1e-12) && near(q.t_m[2], cos(PI / 6), 1e-12) && q.pitch_deg == 30,
               "up 30, 1 m (rises 0.5: y -0.5), down 0.5 m: y 0 (%f)", q.t_m[1]);
  hatch_plan_action spin[] = {{HATCH_TURN_RIGHT, 170}, {HATCH_TURN_RIGHT, 170}};
  hatch_plan_compose(spin, 2, &q);
  HATCH_EXPECT(c, near(q.yaw_deg, 20, 1e-9), "yaw wraps to (-180, 180]: %f", q.yaw_deg);
}

static void test_errors(hatch_test_ctx *c) {
  static const struct { const char *text; size_t offset; const char *says; } bad[] = {
      {"<action>{from:0,to:1,action:[{turn right: 120 dg}]}</action><answer>A. x</answer>", 47, "deg}"},
      {"<action>{from:0,to:1,action:[{turn right: 090 deg}]}</action><answer>A. x</answer>", 43, "degrees"},
      {"<action>{from:0,to:1,action:[{turn right: 181 deg}]}</action><answer>A. x</answer>", 44, "degrees"},
      {"<action>{from:0,to:1,action:[{turn up: 91 deg}]}</action><answer>A. x</answer>", 40, "up/down"},
      {"<action>{from:0,to:1,action:[{move forward: 1.234 m}]}</action><answer>A. x</answer>", 48, "metres"},
      {"<action>{from:0,to:1,action:[{move forward: 1 m}]}</action><answer>A. x</answer>", 45, "metres"},
      {"<action>{from:1,to:1,action:[{turn left: 5 deg}]}</action><answer>A. x</answer>", 19, "different"},
      {"<action>{from:0,to:2,action:[{turn left: 5 deg}]}</action><answer>A. x</answer>", 19, "view index"},
      {"<action>{from:0,to:1,action:[{turn left: 5 deg}]}</action><answer>E. x</answer>", 66, "letter"},
      {"<action>{from:0,to:1,action:[{turn sideways: 5 deg}]}</action><answer>A. x</answer>", 35, "turn left"},
      {"<action>{from:0,to:1,action:[]}</action><answer>A. x</answer>", 29, "expected {"},
      {"<action>{from:0,to:1,action:[{turn left: 5 deg}]}</action><answer>A. </answer>", 69, "answer text"},
      {"<action>{from:0,to:1,action:[{turn left: 5 deg}]}</action><answer>A. x</answer> ", 79, "end of the plan"},
      {"<action>{from:0,to:1,action:[{turn left: 5 deg}]}</action><answer>A. x\n</answer>", 70, "printable"},
      {"<action>{from:0,to:1,action:[{turn left: 5 deg}]}</action>", 58, "ends early"},
      {" <action>", 0, "<action>"},
  };
  hatch_plan_limits lim = {.n_views = 2, .n_options = 4};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    hatch_plan p;
    hatch_plan_error e;
    hatch_status st = hatch_plan_parse(bad[i].text, strlen(bad[i].text), &lim, &p, &e);
    HATCH_EXPECT(c, st == HATCH_ERR_CORRUPT && e.offset == bad[i].offset && strstr(e.message, bad[i].says),
                 "case %zu: %s at %zu (want %zu): '%s'", i, hatch_status_name(st), e.offset, bad[i].offset, e.message);
    /* The matcher dies at exactly the byte the parser rejects (or is alive but incomplete at the end). */
    hatch_plan_matcher m;
    hatch_plan_matcher_init(&m, &lim);
    size_t n = strlen(bad[i].text);
    size_t died = n;
    for (size_t k = 0; k < n; k++)
      if (!hatch_plan_matcher_feed(&m, bad[i].text + k, 1)) { died = k; break; }
    HATCH_EXPECT(c, died == e.offset && !hatch_plan_matcher_complete(&m), "case %zu: matcher died at %zu", i, died);
  }
  /* Limits on counts: 8 actions and 8 steps are fine, 9 are not. */
  char buf[2048];
  strcpy(buf, "<action>{from:0,to:1,action:[");
  for (int i = 0; i < 9; i++) strcat(buf, "{turn left: 1 deg}");
  strcat(buf, "]}</action><answer>A. x</answer>");
  hatch_plan p;
  hatch_plan_error e;
  HATCH_EXPECT(c, hatch_plan_parse(buf, strlen(buf), NULL, &p, &e) == HATCH_ERR_CORRUPT && strstr(e.message, "at most 8"),
               "9 actions refused: %s", e.message);
}

static void test_matcher_prefixes(hatch_test_ctx *c) {
  hatch_plan_limits lim = {.n_views = 3, .n_options = 4};
  const char *ok = "<action>{from:0,to:1,action:[{turn left: 5 deg}{move forward: 0.35 m}]},{from:0,to:2,action:"
                   "[{move up: 1.0 m}]}</action><answer>D. a <tricky> text?</answer>";
  /* '<' inside the answer text would end it: this one must fail where the text has '<'. */
  hatch_plan p;
  hatch_plan_error e;
  HATCH_EXPECT(c, hatch_plan_parse(ok, strlen(ok), &lim, &p, &e) == HATCH_ERR_CORRUPT, "'<' ends the answer text");
  const char *good = "<action>{from:0,to:1,action:[{turn left: 5 deg}{move forward: 0.35 m}]},{from:0,to:2,action:"
                     "[{move up: 1.0 m}]}</action><answer>D. to the left, behind</answer>";
  HATCH_EXPECT(c, hatch_plan_parse(good, strlen(good), &lim, &p, &e) == HATCH_OK && p.n_steps == 2, "two steps: %s", e.message);
  hatch_plan_matcher m;
  hatch_plan_matcher_init(&m, &lim);
  bool alive = true, early_complete = false;
  for (size_t k = 0; k < strlen(good); k++) {
    alive = alive && hatch_plan_matcher_feed(&m, good + k, 1);
    if (k + 1 < strlen(good) && hatch_plan_matcher_complete(&m)) early_complete = true;
  }
  HATCH_EXPECT(c, alive && hatch_plan_matcher_complete(&m) && !early_complete, "every prefix alive, complete only at the end");
  /* Copy semantics: a matcher is a value; trying a token on a copy leaves the original alone. */
  hatch_plan_matcher base;
  hatch_plan_matcher_init(&base, &lim);
  hatch_plan_matcher_feed(&base, "<action>{from:", 14);
  hatch_plan_matcher t1 = base, t2 = base;
  HATCH_EXPECT(c, !hatch_plan_matcher_feed(&t1, "7", 1) && hatch_plan_matcher_feed(&t2, "2,to:0", 6) && !base.dead,
               "token trials on copies");
}

static void test_teacher_round_trip(hatch_test_ctx *c) {
  uint64_t s = 12345;
  int worst_yaw = 0;
  double worst_t = 0;
  for (int i = 0; i < 2000; i++) {
    hatch_relative_pose pose;
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    pose.yaw_deg = (double)((s >> 33) % 36000) / 100.0 - 179.99;
    pose.pitch_deg = (double)((s >> 20) % 6000) / 100.0 - 30.0;
    for (int k = 0; k < 3; k++) {
      s = s * 6364136223846793005ull + 1442695040888963407ull;
      pose.t_m[k] = ((double)((s >> 33) % 20000) / 1000.0 - 10.0) * (k == 1 ? 0.2 : 1.0);
    }
    if (i % 10 == 0) pose.t_m[0] = pose.t_m[1] = pose.t_m[2] = 0; /* pure rotations too */
    hatch_plan plan = {.n_steps = 1, .choice = 'A'};
    strcpy(plan.text, "x");
    plan.steps[0].from = 0, plan.steps[0].to = 1;
    plan.steps[0].n_actions = hatch_plan_actions_from_pose(&pose, plan.steps[0].actions);
    char text[1024];
    size_t n = hatch_plan_format(&plan, text, sizeof text);
    hatch_plan back;
    hatch_plan_error e;
    hatch_status st = hatch_plan_parse(text, n, NULL, &back, &e);
    if (st != HATCH_OK) {
      HATCH_EXPECT(c, false, "teacher text does not parse: %s: %s", text, e.message);
      break;
    }
    const hatch_relative_pose *q = &back.steps[0].pose;
    double dyaw = fabs(fmod(q->yaw_deg - pose.yaw_deg + 540.0, 360.0) - 180.0);
    double dt = 0;
    for (int k = 0; k < 3; k++) dt = fmax(dt, fabs(q->t_m[k] - pose.t_m[k]));
    double dist = sqrt(pose.t_m[0] * pose.t_m[0] + pose.t_m[1] * pose.t_m[1] + pose.t_m[2] * pose.t_m[2]);
    if (dyaw > worst_yaw) worst_yaw = (int)ceil(dyaw * 100) / 100;
    /* Integer-degree turns: position error <= distance * (1 degree) + 1 cm rounding. */
    HATCH_EXPECT(c, dyaw <= 1.0 && fabs(q->pitch_deg - pose.pitch_deg) <= 1.0 && dt <= dist * 0.0175 + 0.006,
                 "pose %d: yaw err %.3f, t err %.4f (dist %.2f): %s", i, dyaw, dt, dist, text);
    worst_t = fmax(worst_t, dt);
    if (c->failures) break;
  }
}

static void test_json(hatch_test_ctx *c) {
  hatch_plan p;
  HATCH_EXPECT(c, hatch_plan_parse(PAPER, strlen(PAPER), NULL, &p, NULL) == HATCH_OK, "parse");
  hatch_plan_view views[2] = {{"front", 0, 1000, 7}, {"left", 1, 1500, 9}};
  hatch_plan_timing t = {.total = 12.5};
  char *json = hatch_plan_to_json(&p, "q-17", "which side?", views, 2, &t, "tiny", "abc");
  cJSON *root = json ? cJSON_Parse(json) : NULL;
  HATCH_EXPECT(c, root != NULL, "valid JSON");
  if (root) {
    cJSON *steps = cJSON_GetObjectItem(root, "steps");
    cJSON *s0 = cJSON_GetArrayItem(steps, 0);
    cJSON *a0 = cJSON_GetArrayItem(cJSON_GetObjectItem(s0, "actions"), 0);
    cJSON *pose = cJSON_GetObjectItem(s0, "relative_pose");
    HATCH_EXPECT(c, !strcmp(cJSON_GetObjectItem(a0, "verb")->valuestring, "turn_right") &&
                        cJSON_GetObjectItem(a0, "value")->valuedouble == 120 &&
                        !strcmp(cJSON_GetObjectItem(a0, "unit")->valuestring, "deg"),
                 "action JSON");
    HATCH_EXPECT(c, cJSON_GetObjectItem(pose, "yaw_deg")->valuedouble == 30 &&
                        cJSON_GetArraySize(cJSON_GetObjectItem(pose, "t_m")) == 3, "relative_pose JSON");
    HATCH_EXPECT(c, !strcmp(cJSON_GetObjectItem(cJSON_GetObjectItem(root, "answer"), "choice")->valuestring, "C") &&
                        !strcmp(cJSON_GetObjectItem(root, "id")->valuestring, "q-17") &&
                        cJSON_GetArraySize(cJSON_GetObjectItem(root, "views")) == 2 &&
                        cJSON_GetObjectItem(cJSON_GetObjectItem(root, "timing_ms"), "total")->valuedouble == 12.5,
                 "answer/id/views/timing");
    cJSON_Delete(root);
  }
  free(json);
}

int main(int argc, char **argv) {
  static const hatch_test_case cases[] = {
      {"paper_example", test_paper_example, false}, {"compose", test_compose, false},
      {"errors", test_errors, false},               {"matcher_prefixes", test_matcher_prefixes, false},
      {"teacher_round_trip", test_teacher_round_trip, false}, {"json", test_json, false},
  };
  return hatch_test_main(argc, argv, cases, (int)(sizeof cases / sizeof *cases));
}
