/* GRPO: group rollouts through the runtime from an F32 export of the current weights, rewards
 * λ1·action + λ2·answer + λ3·format, group advantages, the clipped token objective (one policy update
 * per batch of rollouts, TRL's num_iterations = 1, so logp_old = logp_new and the ratio starts at 1),
 * optional k3 KL to the weights the stage started from (hatch/trainer.h). */
#include <stdlib.h>
#include <string.h>

#include "trainer_internal.h"

typedef struct rollout {
  hatch_generation gen;
  hatch_reward_parts reward;
  float advantage;
} rollout;

static uint64_t mix3(uint64_t a, uint64_t b, uint64_t c) {
  uint64_t z = a ^ (b * 0x9e3779b97f4a7c15ull) ^ (c * 0xc2b2ae3d27d4eb4full);
  z = (z ^ (z >> 33)) * 0xff51afd7ed558ccdull;
  return z ^ (z >> 33);
}

/* Policy-gradient backward of one rollout: forward for logp (and the reference's), token objective,
 * backward. weight: the normalization (token-level or per sequence). */
static hatch_status rollout_backward(hatch_trainer *t, const hatch_train_sample *s, const rollout *r, float weight,
                                     double *loss, hatch_grpo_token_stats *stats) {
  hatch_token_seq seq;
  int32_t stop = r->gen.stopped ? hatch_tokenizer_find(t->tok, "<|im_end|>", 10) : -1;
  hatch_status st = hatch_token_seq_from_generation(t->tok, s, r->gen.ids, r->gen.n_ids, stop, &seq);
  if (st != HATCH_OK) return trainer_fail(t, st, "%s: rollout tokens", s->source);
  hatch_train_image imgs[HATCH_SAMPLE_MAX_IMAGES];
  for (int k = 0; k < s->n_images; k++) imgs[k] = (hatch_train_image){s->images[k].rgb, s->images[k].width, s->images[k].height};
  int n = seq.n;
  float *logp = calloc((size_t)n, sizeof(float)), *ref = calloc((size_t)n, sizeof(float));
  float *d = calloc((size_t)n, sizeof(float)), *pn = calloc((size_t)n, sizeof(float)), *pr = calloc((size_t)n, sizeof(float));
  float *dn = calloc((size_t)n, sizeof(float));
  if (!logp || !ref || !d || !pn || !pr || !dn) st = HATCH_ERR_OUT_OF_MEMORY;
  if (st == HATCH_OK && t->ref) st = hatch_train_forward(t->ref, seq.ids, n, imgs, s->n_images, seq.targets, ref);
  if (st == HATCH_OK) st = hatch_train_forward(t->model, seq.ids, n, imgs, s->n_images, seq.targets, logp);
  if (st == HATCH_OK) {
    /* The response's positions, packed: the objective sees only generated tokens. */
    int m = 0;
    for (int i = 0; i < n; i++)
      if (seq.targets[i] >= 0) pn[m] = logp[i], pr[m] = ref[i], m++;
    *loss += hatch_grpo_sequence_loss(pn, pn, t->ref ? pr : NULL, m, r->advantage, weight, &t->o->grpo, dn, stats);
    for (int i = 0, j = 0; i < n; i++) d[i] = seq.targets[i] >= 0 ? dn[j++] : 0.0f;
    st = hatch_train_backward(t->model, d);
  }
  if (st != HATCH_OK && !t->report->message[0]) trainer_fail(t, st, "%s: rollout forward/backward", s->source);
  free(logp), free(ref), free(d), free(pn), free(pr), free(dn);
  hatch_token_seq_free(&seq);
  return st;
}

hatch_status stage_grpo_step(hatch_trainer *t, int64_t step, trainer_step_metrics *sm) {
  int B = t->o->batch, G = t->o->grpo_group;
  hatch_train_sample *batch = calloc((size_t)B, sizeof *batch);
  rollout *ro = calloc((size_t)B * G, sizeof *ro);
  hatch_generator *gen = NULL;
  if (!batch || !ro) {
    free(batch), free(ro);
    return HATCH_ERR_OUT_OF_MEMORY;
  }
  hatch_status st = trainer_samples(t, step, B, batch);
  if (st == HATCH_OK) st = trainer_save_gguf(t, t->path[PATH_ROLLOUT], HATCH_TYPE_F32);
  char why[384] = "";
  if (st == HATCH_OK && (st = hatch_generator_open(t->path[PATH_ROLLOUT], t->o->threads, &gen, why)) != HATCH_OK)
    trainer_fail(t, st, "rollouts: %s", why);
  double reward_sum = 0, answer_sum = 0, action_sum = 0, format_sum = 0;
  int64_t tokens = 0, kept = 0;
  for (int b = 0; b < B && st == HATCH_OK; b++) {
    if (!trainer_owns(t, b)) continue; /* group statistics are per prompt: local to its rank */
    float rewards[HATCH_TRAINER_MAX_GROUP];
    for (int g = 0; g < G && st == HATCH_OK; g++) {
      rollout *r = &ro[b * G + g];
      hatch_generate_options go = {.temperature = t->o->grpo_temperature, .top_p = 1.0f,
                                   .seed = mix3(t->o->seed, (uint64_t)t->global_step, (uint64_t)(b * G + g)),
                                   .max_tokens = t->o->grpo_max_tokens};
      if ((st = hatch_generator_answer(gen, &batch[b], &go, &r->gen)) != HATCH_OK) {
        trainer_fail(t, st, "%s: rollout %d", batch[b].source, g);
        break;
      }
      hatch_plan_limits lim = {.n_views = batch[b].n_images, .n_options = batch[b].n_options};
      r->reward = hatch_reward_score(r->gen.text, strlen(r->gen.text), &lim, batch[b].gt_answer, batch[b].has_pose,
                                     batch[b].pose_from, batch[b].pose_to, &batch[b].pose, &t->o->reward);
      rewards[g] = r->reward.total;
      reward_sum += r->reward.total, answer_sum += r->reward.answer;
      action_sum += r->reward.action, format_sum += r->reward.format;
    }
    if (st != HATCH_OK) break;
    float adv[HATCH_TRAINER_MAX_GROUP];
    bool dropped = hatch_grpo_advantages(rewards, G, &t->o->grpo, adv);
    for (int g = 0; g < G; g++) {
      ro[b * G + g].advantage = adv[g];
      if (!dropped) tokens += ro[b * G + g].gen.n_ids + ro[b * G + g].gen.stopped, kept++;
    }
  }
  hatch_generator_close(gen);
  if (st == HATCH_OK && t->n_ranks > 1) { /* the batch's totals: DAPO's token-level normalization spans every rank */
    double sums[6] = {reward_sum, answer_sum, action_sum, format_sum, (double)tokens, (double)kept};
    if ((st = trainer_reduce_f64(t, sums, 6)) == HATCH_OK) {
      reward_sum = sums[0], answer_sum = sums[1], action_sum = sums[2], format_sum = sums[3];
      tokens = (int64_t)sums[4], kept = (int64_t)sums[5];
    }
  }
  double loss = 0;
  hatch_grpo_token_stats stats = {0};
  for (int b = 0; b < B && st == HATCH_OK; b++)
    for (int g = 0; g < G && st == HATCH_OK && trainer_owns(t, b); g++) {
      rollout *r = &ro[b * G + g];
      if (r->advantage == 0 && !t->ref) continue; /* no signal (and no KL term) */
      int n_resp = r->gen.n_ids + r->gen.stopped;
      if (n_resp == 0) continue;
      float w = t->o->grpo.token_level ? 1.0f / (float)(tokens ? tokens : 1)
                                       : 1.0f / ((float)n_resp * (float)(kept ? kept : 1));
      st = rollout_backward(t, &batch[b], r, w, &loss, &stats);
    }
  if (st == HATCH_OK && t->n_ranks > 1) {
    double sums[3] = {loss, stats.kl_sum, (double)stats.n_tokens};
    if ((st = trainer_reduce_f64(t, sums, 3)) == HATCH_OK) loss = sums[0], stats.kl_sum = sums[1], stats.n_tokens = (int)sums[2];
  }
  int n = B * G;
  sm->loss = loss;
  trainer_metric(sm, "reward", reward_sum / n);
  trainer_metric(sm, "reward_answer", answer_sum / n);
  trainer_metric(sm, "reward_action", action_sum / n);
  trainer_metric(sm, "reward_format", format_sum / n);
  trainer_metric(sm, "rollouts_kept", (double)kept);
  trainer_metric(sm, "tokens", (double)tokens);
  if (t->ref) trainer_metric(sm, "kl", stats.n_tokens ? stats.kl_sum / stats.n_tokens : 0);
  for (int b = 0; b < B; b++) hatch_train_sample_clear(&batch[b]);
  free(batch);
  free(ro);
  return st;
}
