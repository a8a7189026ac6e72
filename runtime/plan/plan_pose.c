/* Composing actions into a relative pose, and teacher actions for a pose (plan.h for the frames). */
#include <math.h>
#include <stdlib.h>

#include "plan/plan_internal.h"

#define DEG (3.14159265358979323846 / 180.0)

static double wrap_deg(double a) {
  a = fmod(a, 360.0);
  if (a <= -180.0) a += 360.0;
  if (a > 180.0) a -= 360.0;
  return a;
}

void hatch_plan_compose(const hatch_plan_action *actions, int n, hatch_relative_pose *out) {
  double yaw = 0, pitch = 0, t[3] = {0, 0, 0};
  for (int i = 0; i < n; i++) {
    double v = actions[i].value;
    switch (actions[i].verb) {
    case HATCH_TURN_LEFT: yaw += v; break;
    case HATCH_TURN_RIGHT: yaw -= v; break;
    case HATCH_TURN_UP: pitch += v; break;
    case HATCH_TURN_DOWN: pitch -= v; break;
    case HATCH_MOVE_FORWARD: /* along the viewing direction: yaw about up (-y), pitch toward up */
      t[0] += -sin(yaw * DEG) * cos(pitch * DEG) * v;
      t[1] += -sin(pitch * DEG) * v;
      t[2] += cos(yaw * DEG) * cos(pitch * DEG) * v;
      break;
    case HATCH_MOVE_UP: t[1] -= v; break;
    case HATCH_MOVE_DOWN: t[1] += v; break;
    default: break;
    }
    if (pitch > 90) pitch = 90;
    if (pitch < -90) pitch = -90;
  }
  out->yaw_deg = wrap_deg(yaw);
  out->pitch_deg = pitch;
  for (int k = 0; k < 3; k++) out->t_m[k] = fabs(t[k]) < 1e-12 ? 0.0 : t[k];
}

/* A turn rounded to whole degrees; up/down turns are split at the grammar's 90 degrees. */
static void push_turn(hatch_plan_action *out, int *n, double deg, hatch_plan_verb pos, hatch_plan_verb neg) {
  long r = labs(lround(deg));
  long max = pos == HATCH_TURN_UP ? 90 : 180;
  while (r > 0) {
    long part = r > max ? max : r;
    out[(*n)++] = (hatch_plan_action){deg > 0 ? pos : neg, (double)part};
    r -= part;
  }
}

int hatch_plan_actions_from_pose(const hatch_relative_pose *pose, hatch_plan_action *out) {
  int n = 0;
  double x = pose->t_m[0], y = pose->t_m[1], z = pose->t_m[2];
  double dist = sqrt(x * x + y * y + z * z);
  double dist_r = round(dist * 100.0) / 100.0;
  double yaw_now = 0, pitch_now = 0;
  if (dist_r >= 0.01) {
    /* Face the target position, then move; yaw of the direction (left positive), elevation (up). */
    double dir_yaw = atan2(-x, z) / DEG, dir_pitch = atan2(-y, hypot(x, z)) / DEG;
    long yaw_r = lround(dir_yaw), pitch_r = lround(dir_pitch);
    push_turn(out, &n, (double)yaw_r, HATCH_TURN_LEFT, HATCH_TURN_RIGHT);
    push_turn(out, &n, (double)pitch_r, HATCH_TURN_UP, HATCH_TURN_DOWN);
    yaw_now = (double)yaw_r;
    pitch_now = (double)pitch_r;
    if (dist_r > 99.99) dist_r = 99.99;
    out[n++] = (hatch_plan_action){HATCH_MOVE_FORWARD, dist_r};
  }
  /* Then turn to the target's heading (pitch back first, then yaw). */
  push_turn(out, &n, pose->pitch_deg - pitch_now, HATCH_TURN_UP, HATCH_TURN_DOWN);
  push_turn(out, &n, wrap_deg(pose->yaw_deg - yaw_now), HATCH_TURN_LEFT, HATCH_TURN_RIGHT);
  if (n == 0) out[n++] = (hatch_plan_action){HATCH_TURN_LEFT, 0};
  return n;
}
