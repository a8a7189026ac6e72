/* The ActoR reward: λ1·R_action + λ2·R_answer + λ3·R_format (hatch/train_objectives.h). */
#include "hatch/train_objectives.h"

#include <math.h>
#include <string.h>

#include "hatch/calibration.h"
#include "hatch/mindcube.h"

hatch_reward_options hatch_reward_defaults(void) {
  return (hatch_reward_options){.w_action = 0.5f, .w_answer = 1.0f, .w_format = 0.25f, .t_scale_m = 1.0f,
                                .yaw_scale_deg = 30.0f};
}

/* "<answer>X. text</answer>" somewhere in the response, with X a letter and a non-empty text. */
static bool answer_part_ok(const char *r, size_t len) {
  const char *open = "<answer>", *close = "</answer>";
  for (size_t i = 0; i + 8 <= len; i++) {
    if (memcmp(r + i, open, 8) != 0) continue;
    size_t p = i + 8;
    if (p + 3 > len || r[p] < 'A' || r[p] > 'Z' || r[p + 1] != '.' || r[p + 2] != ' ') return false;
    for (size_t q = p + 3; q + 9 <= len; q++)
      if (memcmp(r + q, close, 9) == 0) return q > p + 3;
    return false;
  }
  return false;
}

hatch_reward_parts hatch_reward_score(const char *response, size_t len, const hatch_plan_limits *limits, char gt,
                                      bool has_pose, int pose_from, int pose_to,
                                      const hatch_relative_pose *truth, const hatch_reward_options *opt) {
  hatch_reward_parts out = {.t_err_m = NAN, .yaw_err_deg = NAN, .pitch_err_deg = NAN};
  hatch_plan plan;
  hatch_plan_error err;
  out.parsed = hatch_plan_parse(response, len, limits, &plan, &err) == HATCH_OK;
  out.format = out.parsed ? 1.0f : answer_part_ok(response, len) ? 0.5f : 0.0f;
  char letter = hatch_mindcube_extract_answer(response, len);
  out.answer = letter && letter == gt ? 1.0f : 0.0f;
  if (out.parsed && has_pose && truth) {
    for (int s = 0; s < plan.n_steps; s++) {
      if (plan.steps[s].from != pose_from || plan.steps[s].to != pose_to) continue;
      hatch_pose_error e = hatch_pose_compare(&plan.steps[s].pose, truth);
      out.t_err_m = e.translation_m;
      out.yaw_err_deg = e.yaw_deg;
      out.pitch_err_deg = e.pitch_deg;
      out.action = (float)(exp(-e.translation_m / opt->t_scale_m) * exp(-fabs(e.yaw_deg) / opt->yaw_scale_deg) *
                           exp(-fabs(e.pitch_deg) / opt->yaw_scale_deg));
      if (!isfinite(out.action)) out.action = 0;
      break;
    }
  }
  out.total = opt->w_action * out.action + opt->w_answer * out.answer + opt->w_format * out.format;
  return out;
}
