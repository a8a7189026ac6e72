/* Quick held-out evaluation during training: an F32 export through the runtime, greedy, scored with
 * MindCube's rules and the plan's composed pose (hatch/trainer.h). */
#include <stdlib.h>
#include <string.h>

#include "trainer_internal.h"

hatch_status trainer_eval(hatch_trainer *t, int n_samples, trainer_step_metrics *sm) {
  hatch_train_sample *s = calloc((size_t)n_samples, sizeof *s);
  if (!s) return HATCH_ERR_OUT_OF_MEMORY;
  hatch_generator *gen = NULL;
  char why[384] = "";
  hatch_status st = trainer_eval_samples(t, n_samples, s);
  if (st == HATCH_OK) st = trainer_save_gguf(t, t->path[PATH_ROLLOUT], HATCH_TYPE_F32);
  if (st == HATCH_OK && (st = hatch_generator_open(t->path[PATH_ROLLOUT], t->o->threads, &gen, why)) != HATCH_OK)
    trainer_fail(t, st, "eval: %s", why);
  hatch_eval_totals tot = {0};
  for (int i = 0; i < n_samples && st == HATCH_OK; i++) {
    hatch_generate_options go = {.temperature = 0, .max_tokens = t->o->grpo_max_tokens};
    hatch_generation g;
    if ((st = hatch_generator_answer(gen, &s[i], &go, &g)) != HATCH_OK) trainer_fail(t, st, "eval: %s", s[i].source);
    else hatch_eval_add(&tot, &s[i], g.text, strlen(g.text));
  }
  hatch_generator_close(gen);
  if (st == HATCH_OK) {
    trainer_metric(sm, "eval_accuracy", hatch_mindcube_overall(&tot.score));
    trainer_metric(sm, "eval_format", 100.0 * tot.n_format_ok / n_samples);
    trainer_metric(sm, "eval_action_close", tot.n_with_pose ? 100.0 * tot.n_action_close / tot.n_with_pose : 0);
    for (int k = 0; k < HATCH_MINDCUBE_TRANSLATION; k++) {
      static const char *keys[] = {"eval_around", "eval_rotation", "eval_among"};
      if (tot.score.total[k]) trainer_metric(sm, keys[k], hatch_mindcube_accuracy(&tot.score, (hatch_mindcube_setting)k));
    }
  }
  for (int i = 0; i < n_samples; i++) hatch_train_sample_clear(&s[i]);
  free(s);
  return st;
}
