/* Scoring one response: MindCube letter accuracy per setting, plan format, action accuracy
 * (hatch/train_eval.h). */
#include "hatch/train_eval.h"

#include <math.h>

#include "hatch/calibration.h"
#include "hatch/plan.h"

void hatch_eval_add(hatch_eval_totals *t, const hatch_train_sample *s, const char *response, size_t len) {
  const char *id = s->id[0] ? s->id : s->setting;
  hatch_mindcube_score_add(&t->score, id, hatch_mindcube_extract_answer(response, len), s->gt_answer);
  hatch_plan plan;
  hatch_plan_error err;
  hatch_plan_limits lim = {.n_views = s->n_images, .n_options = s->n_options};
  bool parsed = hatch_plan_parse(response, len, &lim, &plan, &err) == HATCH_OK;
  t->n_format_ok += parsed;
  if (!s->has_pose) return;
  t->n_with_pose++;
  if (!parsed) return;
  for (int k = 0; k < plan.n_steps; k++) {
    if (plan.steps[k].from != s->pose_from || plan.steps[k].to != s->pose_to) continue;
    hatch_pose_error e = hatch_pose_compare(&plan.steps[k].pose, &s->pose);
    t->n_action_found++;
    t->sum_t_err_m += e.translation_m;
    t->sum_yaw_err_deg += fabs(e.yaw_deg);
    t->n_action_close += e.translation_m <= 0.5 && fabs(e.yaw_deg) <= 15 && fabs(e.pitch_deg) <= 15;
    return;
  }
}
