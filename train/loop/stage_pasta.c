/* PaStA: the vision tower alone on image pairs of a scene, targets from depth reprojection
 * (hatch/trainer.h; shared/docs/method.md §2). */
#include <stdlib.h>
#include <string.h>

#include "trainer_internal.h"

/* The pair of views of a sample with the most correspondence (S's total mass), or -1s when none. */
static void best_pair(hatch_trainer *t, const hatch_train_sample *s, float *S, int *a_out, int *b_out) {
  int N = t->o->pasta_targets.grid * t->o->pasta_targets.grid;
  float *tmp = malloc(sizeof(float) * (size_t)N * N);
  double best = 0.5; /* at least half a cell's worth of matches */
  *a_out = *b_out = -1;
  for (int a = 0; tmp && a < s->n_images; a++)
    for (int b = a + 1; b < s->n_images; b++) {
      hatch_data_report dr = {0};
      if (hatch_pasta_targets(&s->images[a], &s->images[b], &t->o->pasta_targets, NULL, NULL, tmp, &dr) != HATCH_OK) continue;
      double mass = 0;
      for (int i = 0; i < N * N; i++) mass += tmp[i];
      if (mass > best) {
        best = mass;
        *a_out = a, *b_out = b;
        memcpy(S, tmp, sizeof(float) * (size_t)N * N);
      }
    }
  free(tmp);
}

hatch_status stage_pasta_step(hatch_trainer *t, int64_t step, trainer_step_metrics *sm) {
  int B = t->o->batch, N = t->o->pasta_targets.grid * t->o->pasta_targets.grid;
  if (t->o->pasta.n != t->o->pasta_targets.grid)
    return trainer_fail(t, HATCH_ERR_INVALID_ARGUMENT, "PaStA: the loss grid (%d) and the target grid (%d) differ",
                        t->o->pasta.n, t->o->pasta_targets.grid);
  hatch_train_sample *batch = calloc((size_t)B, sizeof *batch);
  float *dfeat = NULL;
  if (!batch) return HATCH_ERR_OUT_OF_MEMORY;
  hatch_status st = trainer_samples(t, step, B, batch);
  double loss = 0;
  int used = 0;
  int64_t dim = t->cfg.vision.out_hidden_size;
  /* Pairs first (to know how many count in the mean: over all ranks), then forward/backward per pair. */
  int pa[HATCH_TRAINER_MAX_BATCH], pb[HATCH_TRAINER_MAX_BATCH];
  float *targets = calloc((size_t)B, sizeof(float) * (size_t)N * N);
  if (!targets) st = HATCH_ERR_OUT_OF_MEMORY;
  for (int b = 0; b < B && st == HATCH_OK; b++) {
    pa[b] = pb[b] = -1;
    if (!trainer_owns(t, b)) continue;
    best_pair(t, &batch[b], targets + (size_t)b * N * N, &pa[b], &pb[b]);
    used += pa[b] >= 0;
    /* Targets are per grid cell, so they hold at any resolution: now the model's size (manifest
     * frames come at full size). */
    if (pa[b] >= 0 && (st = trainer_resize_sample(t, &batch[b], t->o->image_size)) != HATCH_OK)
      trainer_fail(t, st, "%s: resizing the images", batch[b].source);
  }
  if (st == HATCH_OK && t->n_ranks > 1) {
    double all = used;
    if ((st = trainer_reduce_f64(t, &all, 1)) == HATCH_OK) used = (int)all;
  }
  for (int b = 0; b < B && st == HATCH_OK; b++) {
    if (pa[b] < 0) continue;
    const hatch_sample_image *x = &batch[b].images[pa[b]], *y = &batch[b].images[pb[b]];
    hatch_train_image imgs[2] = {{x->rgb, x->width, x->height}, {y->rgb, y->width, y->height}};
    if ((st = hatch_train_vision_forward(t->model, imgs, 2)) != HATCH_OK) {
      trainer_fail(t, st, "%s: vision forward", batch[b].source);
      break;
    }
    int64_t rows = 0, r0x, nx, r0y, ny;
    const float *feat = hatch_train_vision_features(t->model, &rows);
    hatch_train_vision_image_rows(t->model, 0, &r0x, &nx);
    hatch_train_vision_image_rows(t->model, 1, &r0y, &ny);
    free(dfeat);
    if (!(dfeat = calloc((size_t)rows * dim, sizeof(float)))) {
      st = HATCH_ERR_OUT_OF_MEMORY;
      break;
    }
    double l = 0;
    st = hatch_pasta_loss(feat + r0x * dim, x->height / 28, x->width / 28, feat + r0y * dim, y->height / 28, y->width / 28,
                          (int)dim, targets + (size_t)b * N * N, &t->o->pasta, &l, dfeat + r0x * dim, dfeat + r0y * dim, NULL);
    if (st != HATCH_OK) {
      trainer_fail(t, st, "%s: PaStA loss on views %d and %d", batch[b].source, pa[b], pb[b]);
      break;
    }
    for (int64_t i = 0; i < rows * dim; i++) dfeat[i] /= (float)used;
    loss += l / used;
    if ((st = hatch_train_vision_backward(t->model, dfeat)) != HATCH_OK) trainer_fail(t, st, "%s: vision backward", batch[b].source);
  }
  if (st == HATCH_OK) st = trainer_reduce_f64(t, &loss, 1);
  sm->loss = used ? loss : 0;
  trainer_metric(sm, "pairs", used);
  for (int b = 0; b < B; b++) hatch_train_sample_clear(&batch[b]);
  free(batch), free(dfeat), free(targets);
  return st;
}
