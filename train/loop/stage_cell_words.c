/* The word-grounded vision loss (hatch/train_objectives.h, hatch_cell_words_loss) of the caption stage and
 * of those --cell-words-stages names: every labelled merged vision token of a batch's images must name
 * its cell's colour and category (and with --cell-side its half of the view) in the language model's
 * own token embeddings. A vision forward/backward per sample; E is read, never trained here. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "trainer_internal.h"

/* The first token of " word" (how a caption or an option spells it after a space), -1 if none. */
static int32_t word_token(const hatch_tokenizer *tok, const char *word, size_t len) {
  char text[HATCH_SAMPLE_MAX_OBJECT_NAME + 2];
  if (len == 0 || len > HATCH_SAMPLE_MAX_OBJECT_NAME) return -1;
  text[0] = ' ';
  memcpy(text + 1, word, len);
  int32_t *ids = NULL;
  size_t n = 0;
  int32_t id = hatch_tokenizer_encode(tok, text, len + 1, false, &ids, &n) == HATCH_OK && n > 0 ? ids[0] : -1;
  free(ids);
  return id;
}

/* (colour, category) token ids of each object of s: the name's first word and the rest. */
static void object_tokens(const hatch_tokenizer *tok, const hatch_train_sample *s, int32_t out[][2]) {
  for (int o = 0; o < s->n_objects; o++) {
    const char *name = s->object_names[o], *sp = strchr(name, ' ');
    out[o][0] = out[o][1] = -1;
    if (!sp || !sp[1]) continue;
    out[o][0] = word_token(tok, name, (size_t)(sp - name));
    out[o][1] = word_token(tok, sp + 1, strlen(sp + 1));
    if (out[o][0] < 0 || out[o][1] < 0) out[o][0] = out[o][1] = -1;
  }
}

/* The targets of sample s's tokens, images in order: (rows, W) with W = sides ? 3 : 2, malloc'd into
 * *out; *labelled: rows with a word. */
static hatch_status sample_targets(const hatch_tokenizer *tok, const hatch_train_sample *s, const int32_t sides[2],
                                   int32_t **out, int64_t *rows, int64_t *labelled) {
  int32_t words[HATCH_SAMPLE_MAX_OBJECTS][2];
  object_tokens(tok, s, words);
  const int W = sides ? 3 : 2;
  *rows = 0, *labelled = 0, *out = NULL;
  for (int k = 0; k < s->n_images; k++) *rows += (int64_t)(s->images[k].height / HATCH_SAMPLE_CELL) * (s->images[k].width / HATCH_SAMPLE_CELL);
  if (!(*out = malloc(sizeof(int32_t) * (size_t)W * (size_t)(*rows ? *rows : 1)))) return HATCH_ERR_OUT_OF_MEMORY;
  int64_t r0 = 0;
  for (int k = 0; k < s->n_images; k++) {
    const hatch_sample_image *im = &s->images[k];
    int gh = im->height / HATCH_SAMPLE_CELL, gw = im->width / HATCH_SAMPLE_CELL;
    *labelled += hatch_cell_word_targets(im->cell_object, gh, gw, s->n_objects, (const int32_t(*)[2])words, sides, *out + W * r0);
    r0 += (int64_t)gh * gw;
  }
  return HATCH_OK;
}

/* One sample: vision forward, the loss over its labelled tokens (targets from sample_targets),
 * vision backward; side_hits += (side words whose left/right logits are in the right order, side words). */
static hatch_status sample_cell_words(hatch_trainer *t, const hatch_train_sample *s, const int32_t *targets,
                                      int64_t n_targets, const float *embd, float scale, const int32_t sides[2],
                                      double *loss_sum, double side_hits[2]) {
  hatch_train_image imgs[HATCH_SAMPLE_MAX_IMAGES];
  for (int k = 0; k < s->n_images; k++) imgs[k] = (hatch_train_image){s->images[k].rgb, s->images[k].width, s->images[k].height};
  hatch_status st = hatch_train_vision_forward(t->model, imgs, s->n_images);
  int64_t rows = 0, dim = t->cfg.vision.out_hidden_size;
  const float *feat = st == HATCH_OK ? hatch_train_vision_features(t->model, &rows) : NULL;
  if (st == HATCH_OK && !feat) st = HATCH_ERR_IO;
  if (st == HATCH_OK && rows != n_targets) st = HATCH_ERR_SHAPE; /* one token per 28x28 cell */
  const int W = sides ? 3 : 2;
  float *dfeat = st == HATCH_OK ? calloc((size_t)(rows * dim), sizeof(float)) : NULL; // (rows, dim)
  if (st == HATCH_OK && !dfeat) st = HATCH_ERR_OUT_OF_MEMORY;
  if (st == HATCH_OK)
    st = hatch_cell_words_loss(feat, rows, (int)dim, targets, W, embd, t->cfg.text.vocab_size, scale, loss_sum, dfeat, NULL);
  for (int64_t r = 0; sides && st == HATCH_OK && r < rows; r++) { /* is the right side the likelier of the two? */
    int32_t want = targets[W * r + 2];
    if (want < 0) continue;
    double z[2] = {0, 0};
    for (int w = 0; w < 2; w++)
      for (int64_t k = 0; k < dim; k++) z[w] += (double)embd[sides[w] * dim + k] * feat[r * dim + k];
    side_hits[0] += (z[0] > z[1]) == (want == sides[0]), side_hits[1]++;
  }
  if (st == HATCH_OK) st = hatch_train_vision_backward(t->model, dfeat);
  if (st != HATCH_OK) trainer_fail(t, st, "%s: word-grounded vision tokens", s->source);
  free(dfeat);
  return st;
}

hatch_status stage_cell_words(hatch_trainer *t, const hatch_train_sample *batch, int B, float weight,
                              trainer_step_metrics *sm) {
  int32_t side_ids[2] = {-1, -1}, *sides = NULL;
  if (t->o->cell_side) {
    side_ids[0] = word_token(t->tok, "left", 4), side_ids[1] = word_token(t->tok, "right", 5);
    if (side_ids[0] < 0 || side_ids[1] < 0 || side_ids[0] == side_ids[1])
      return trainer_fail(t, HATCH_ERR_NOT_FOUND, "--cell-side: the tokenizer has no distinct first tokens for ' left' and ' right'");
    sides = side_ids;
  }
  int32_t *targets[HATCH_TRAINER_MAX_BATCH] = {NULL};
  int64_t rows[HATCH_TRAINER_MAX_BATCH], labelled[HATCH_TRAINER_MAX_BATCH];
  hatch_status st = HATCH_OK;
  double total = 0; /* every rank sees the batch: the mean's denominator is the batch's */
  for (int b = 0; b < B && st == HATCH_OK; b++)
    if ((st = sample_targets(t->tok, &batch[b], sides, &targets[b], &rows[b], &labelled[b])) == HATCH_OK) total += (double)labelled[b];
  if (st != HATCH_OK) trainer_fail(t, st, "word-grounded vision tokens: targets");
  bool active = st == HATCH_OK && total > 0 && weight != 0;
  const hatch_train_tensor *e = hatch_train_model_find(t->model, "token_embd.weight");
  if (active && !e) st = trainer_fail(t, HATCH_ERR_NOT_FOUND, "word-grounded vision tokens: no token_embd.weight");
  if (active && st == HATCH_OK && trainer_on_device(t) && (st = hatch_train_model_pull(t->model)) != HATCH_OK)
    trainer_fail(t, st, "word-grounded vision tokens: reading the token embeddings"); /* E on the host */
  double acc[3] = {0, 0, 0}; /* loss, side words right, side words */
  if (active && st == HATCH_OK) {
    const float *embd = hatch_train_model_params(t->model) + e->offset; // (vocab, dim), tied with the LM head
    for (int b = 0; b < B && st == HATCH_OK; b++) {
      if (!trainer_owns(t, b) || labelled[b] == 0) continue;
      double sum = 0;
      st = sample_cell_words(t, &batch[b], targets[b], rows[b], embd, (float)(weight / total), sides, &sum, acc + 1);
      acc[0] += sum / total;
    }
    if (st == HATCH_OK) st = trainer_reduce_f64(t, acc, 3);
    if (st == HATCH_OK && !isfinite(acc[0]))
      st = trainer_fail(t, HATCH_ERR_CORRUPT, "word-grounded vision tokens: the loss is %g (never a step on NaN)", acc[0]);
    if (st == HATCH_OK) {
      trainer_metric(sm, "cell_loss", acc[0]);
      trainer_metric(sm, "cells", total);
      if (sides && acc[2] > 0) trainer_metric(sm, "cell_side_accuracy", acc[1] / acc[2]); /* left/right told apart */
    }
  }
  for (int b = 0; b < B; b++) free(targets[b]);
  return st;
}
