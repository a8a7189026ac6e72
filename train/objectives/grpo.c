/* GRPO's group advantages and clipped token objective, with DAPO's options
 * (hatch/train_objectives.h; shared/docs/method.md §3). */
#include "hatch/train_objectives.h"

#include <math.h>

hatch_grpo_options hatch_grpo_defaults(void) {
  return (hatch_grpo_options){.clip_low = 0.2f, .clip_high = 0.2f, .kl_beta = 0.04f, .scale_by_std = true,
                              .drop_equal_groups = false, .token_level = false};
}

hatch_grpo_options hatch_grpo_dapo_defaults(void) {
  return (hatch_grpo_options){.clip_low = 0.2f, .clip_high = 0.28f, .kl_beta = 0.0f, .scale_by_std = true,
                              .drop_equal_groups = true, .token_level = true};
}

bool hatch_grpo_advantages(const float *rewards, int G, const hatch_grpo_options *opt, float *adv) {
  double mean = 0, var = 0;
  for (int g = 0; g < G; g++) mean += rewards[g];
  mean /= G > 0 ? G : 1;
  for (int g = 0; g < G; g++) var += (rewards[g] - mean) * (rewards[g] - mean);
  /* Sample std (torch.std's default, as TRL computes it). */
  double std = G > 1 ? sqrt(var / (G - 1)) : 0;
  bool equal = std < 1e-9;
  for (int g = 0; g < G; g++) {
    double a = rewards[g] - mean;
    if (opt->scale_by_std) a /= std + 1e-4;
    adv[g] = (equal && opt->drop_equal_groups) ? 0.0f : (float)a;
  }
  return equal && opt->drop_equal_groups;
}

double hatch_grpo_sequence_loss(const float *logp_new, const float *logp_old, const float *logp_ref, int n,
                                float advantage, float weight, const hatch_grpo_options *opt, float *d_logp,
                                hatch_grpo_token_stats *stats) {
  double total = 0;
  for (int t = 0; t < n; t++) {
    double ratio = exp((double)logp_new[t] - logp_old[t]);
    double lo = 1.0 - opt->clip_low, hi = 1.0 + opt->clip_high;
    double clipped = ratio < lo ? lo : ratio > hi ? hi : ratio;
    double unclipped_obj = ratio * advantage, clipped_obj = clipped * advantage;
    double obj, dobj;
    /* min(ρA, clip(ρ)A): the gradient flows only through the unclipped term when it is the min. */
    if (unclipped_obj <= clipped_obj) {
      obj = unclipped_obj;
      dobj = ratio * advantage; /* d(ρA)/dlogp_new = ρA */
    } else {
      obj = clipped_obj;
      dobj = 0;
      if (stats) stats->n_clipped++;
    }
    double loss = -obj, dloss = -dobj;
    if (opt->kl_beta > 0 && logp_ref) {
      double diff = (double)logp_ref[t] - logp_new[t];
      double k3 = exp(diff) - diff - 1;
      loss += opt->kl_beta * k3;
      dloss += opt->kl_beta * (1 - exp(diff)); /* d k3 / dlogp_new */
      if (stats) stats->kl_sum += k3;
    }
    total += loss;
    d_logp[t] = (float)(weight * dloss);
  }
  if (stats) stats->n_tokens += n;
  return weight * total;
}
