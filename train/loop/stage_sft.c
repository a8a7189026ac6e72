/* QA fine-tuning and ActoR cold-start SFT: token-level mean cross-entropy over the response tokens of
 * a batch (hatch/trainer.h). */
#include <stdlib.h>
#include <string.h>

#include "trainer_internal.h"

/* The model's view of a sample's pixels. */
static int model_images(const hatch_train_sample *s, hatch_train_image *out) {
  for (int k = 0; k < s->n_images; k++) out[k] = (hatch_train_image){s->images[k].rgb, s->images[k].width, s->images[k].height};
  return s->n_images;
}

/* Forward + backward of one sequence with d logp = scale at every target (scale = -1/N: a mean CE
 * over the batch's N target tokens). *sum_logp: Σ logp over the targets. */
static hatch_status seq_backward(hatch_trainer *t, const hatch_train_sample *s, const hatch_token_seq *seq, float scale,
                                 double *sum_logp) {
  hatch_train_image imgs[HATCH_SAMPLE_MAX_IMAGES];
  int n_img = model_images(s, imgs);
  float *logp = malloc(sizeof(float) * (size_t)seq->n), *d = malloc(sizeof(float) * (size_t)seq->n);
  hatch_status st = (!logp || !d) ? HATCH_ERR_OUT_OF_MEMORY : HATCH_OK;
  if (st == HATCH_OK) st = hatch_train_forward(t->model, seq->ids, seq->n, imgs, n_img, seq->targets, logp);
  if (st == HATCH_OK) {
    double sum = 0;
    for (int i = 0; i < seq->n; i++) {
      d[i] = seq->targets[i] >= 0 ? scale : 0.0f;
      if (seq->targets[i] >= 0) sum += logp[i];
    }
    *sum_logp = sum;
    st = hatch_train_backward(t->model, d);
  }
  if (st != HATCH_OK) trainer_fail(t, st, "%s: forward/backward of %d tokens", s->source, seq->n);
  free(logp);
  free(d);
  return st;
}

hatch_status stage_sft_step(hatch_trainer *t, hatch_target_kind kind, int64_t step, trainer_step_metrics *sm) {
  int B = t->o->batch;
  hatch_train_sample *batch = calloc((size_t)B, sizeof *batch);
  hatch_token_seq *seqs = calloc((size_t)B, sizeof *seqs);
  if (!batch || !seqs) {
    free(batch), free(seqs);
    return HATCH_ERR_OUT_OF_MEMORY;
  }
  hatch_status st = trainer_samples(t, step, B, batch);
  int64_t n_targets = 0, n_tokens = 0;
  char text[HATCH_SAMPLE_MAX_ACTION + 256];
  for (int b = 0; b < B && st == HATCH_OK; b++) {
    hatch_target_text(&batch[b], kind, text, sizeof text);
    if ((st = hatch_token_seq_build(t->tok, &batch[b], text, &seqs[b])) != HATCH_OK) {
      trainer_fail(t, st, "%s: cannot build the token sequence", batch[b].source);
      break;
    }
    for (int i = 0; i < seqs[b].n; i++) n_targets += seqs[b].targets[i] >= 0;
    n_tokens += seqs[b].n;
  }
  /* Every rank tokenized the whole batch: n_targets, the mean's denominator, is the batch's. */
  double loss = 0;
  for (int b = 0; b < B && st == HATCH_OK; b++) {
    if (!trainer_owns(t, b)) continue;
    double sum = 0;
    st = seq_backward(t, &batch[b], &seqs[b], -1.0f / (float)(n_targets ? n_targets : 1), &sum);
    loss -= sum / (double)(n_targets ? n_targets : 1);
  }
  if (st == HATCH_OK) st = trainer_reduce_f64(t, &loss, 1);
  sm->loss = loss;
  if (st == HATCH_OK && (trainer_cell_words_stages(t->o) >> t->o->stages[t->stage_index].stage & 1u))
    st = stage_cell_words(t, batch, B, t->o->cell_words, sm);
  trainer_metric(sm, "tokens", (double)n_tokens);
  trainer_metric(sm, "target_tokens", (double)n_targets);
  for (int b = 0; b < B; b++) hatch_token_seq_free(&seqs[b]), hatch_train_sample_clear(&batch[b]);
  free(batch);
  free(seqs);
  return st;
}
