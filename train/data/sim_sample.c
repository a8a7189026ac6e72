/* A synthetic-world question as a hatch_train_sample: id, question, answer, the teacher action string
 * in the plan grammar (hatch/plan.h) and the true relative pose (hatch/sim_dataset.h). */
#include <stdio.h>
#include <string.h>

#include "data/sim_questions_internal.h"

hatch_status hatch_sim_action_string(const hatch_sim_world *world, int from, int to, char *buf, size_t cap,
                                     hatch_relative_pose *pose) {
  if (!world || !buf || cap == 0 || from < 0 || to < 0 || from == to || from >= world->n_views ||
      to >= world->n_views || world->n_views > HATCH_SIM_MAX_VIEWS || to > 9 || from > 9)
    return HATCH_ERR_INVALID_ARGUMENT;
  buf[0] = 0;
  hatch_relative_pose p;
  hatch_sim_relative_pose(&world->views[from], &world->views[to], &p);
  hatch_plan plan;
  memset(&plan, 0, sizeof plan);
  plan.n_steps = 1;
  plan.steps[0].from = from, plan.steps[0].to = to;
  plan.steps[0].n_actions = hatch_plan_actions_from_pose(&p, plan.steps[0].actions);
  plan.choice = 'A';
  snprintf(plan.text, sizeof plan.text, "x");
  char text[1024]; // the whole plan; only its "<action>...</action>" part is kept
  size_t n = hatch_plan_format(&plan, text, sizeof text);
  if (n >= sizeof text) return HATCH_ERR_TOO_LARGE;
  const char *end = strstr(text, "</action>");
  if (!end) return HATCH_ERR_CORRUPT;
  size_t len = (size_t)(end - text) + strlen("</action>");
  if (len + 1 > cap) return HATCH_ERR_TOO_LARGE;
  memcpy(buf, text, len);
  buf[len] = 0;
  if (pose) *pose = p;
  return HATCH_OK;
}

hatch_status hatch_sim_question_to_sample(const hatch_sim_world *world, const hatch_sim_question *q, int64_t scene,
                                          int k, hatch_train_sample *s) {
  if (!world || !q || !s || q->n_options < 2 || q->n_options > HATCH_SIM_MAX_OPTIONS || q->answer < 0 ||
      q->answer >= q->n_options)
    return HATCH_ERR_INVALID_ARGUMENT;
  const char *setting = hatch_sim_setting_name(world->setting);
  snprintf(s->id, sizeof s->id, "%s_%06lld_q%d", setting, (long long)scene, k);
  snprintf(s->setting, sizeof s->setting, "%s", setting);
  snprintf(s->source, sizeof s->source, "sim:seed=%llu:scene=%lld:%s", (unsigned long long)world->seed,
           (long long)scene, hatch_sim_template_name(q->kind));
  snprintf(s->question, sizeof s->question, "%s", q->text);
  s->n_options = q->n_options;
  s->gt_answer = (char)('A' + q->answer);
  snprintf(s->answer_text, sizeof s->answer_text, "%s", q->options[q->answer]);
  hatch_status st = hatch_sim_action_string(world, q->from, q->to, s->action, sizeof s->action, &s->pose);
  if (st != HATCH_OK) return st;
  s->has_pose = true;
  s->pose_from = q->from, s->pose_to = q->to;
  return HATCH_OK;
}
