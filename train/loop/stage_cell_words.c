/* The caption stage's auxiliary loss (hatch/train_objectives.h, hatch_cell_words_loss): every labelled
 * merged vision token of a batch's images must name its cell's colour and category in the language
 * model's own token embeddings. A vision forward/backward per sample; E is read, never trained here. */
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

/* The side word of a cell in column q of a view gw cells wide: " left" or " right" for the half it lies
 * in, none for the middle column of an odd width. */
static int32_t side_word(const int32_t sides[2], int64_t q, int64_t gw) {
  if (2 * q + 1 == gw) return -1;
  return sides[2 * q + 1 < gw ? 0 : 1];
}

static int64_t labelled_cells(const hatch_train_sample *s, bool with_side) {
  int64_t n = 0;
  for (int k = 0; k < s->n_images; k++) {
    const hatch_sample_image *im = &s->images[k];
    int64_t gw = im->width / HATCH_SAMPLE_CELL, cells = (int64_t)(im->height / HATCH_SAMPLE_CELL) * gw;
    for (int64_t c = 0; c < cells; c++) n += (im->cell_object && im->cell_object[c] >= 0) || (with_side && 2 * (c % gw) + 1 != gw);
  }
  return n;
}

/* One sample: vision forward, the loss over its labelled tokens, vision backward. */
static hatch_status sample_cell_words(hatch_trainer *t, const hatch_train_sample *s, const float *embd, float scale,
                                      const int32_t sides[2], double *loss_sum, double side_hits[2]) {
  hatch_train_image imgs[HATCH_SAMPLE_MAX_IMAGES];
  for (int k = 0; k < s->n_images; k++) imgs[k] = (hatch_train_image){s->images[k].rgb, s->images[k].width, s->images[k].height};
  hatch_status st = hatch_train_vision_forward(t->model, imgs, s->n_images);
  int64_t rows = 0, dim = t->cfg.vision.out_hidden_size;
  const float *feat = st == HATCH_OK ? hatch_train_vision_features(t->model, &rows) : NULL;
  if (st == HATCH_OK && !feat) st = HATCH_ERR_IO;
  int32_t words[HATCH_SAMPLE_MAX_OBJECTS][2];
  object_tokens(t->tok, s, words);
  const int W = sides ? 3 : 2; /* words per row: colour, category[, side] */
  int32_t *targets = st == HATCH_OK ? malloc(sizeof(int32_t) * (size_t)W * (size_t)rows) : NULL; // (rows, W)
  float *dfeat = st == HATCH_OK ? calloc((size_t)(rows * dim), sizeof(float)) : NULL;            // (rows, dim)
  if (st == HATCH_OK && (!targets || !dfeat)) st = HATCH_ERR_OUT_OF_MEMORY;
  for (int k = 0; k < s->n_images && st == HATCH_OK; k++) {
    int64_t r0 = 0, n = 0, gw = s->images[k].width / HATCH_SAMPLE_CELL;
    if ((st = hatch_train_vision_image_rows(t->model, k, &r0, &n)) != HATCH_OK) break;
    const int16_t *cells = s->images[k].cell_object;
    for (int64_t r = 0; r < n; r++) {
      int o = cells ? cells[r] : -1;
      bool ok = o >= 0 && o < s->n_objects && words[o][0] >= 0;
      int32_t *tg = targets + W * (r0 + r);
      tg[0] = ok ? words[o][0] : -1;
      tg[1] = ok ? words[o][1] : -1;
      if (sides) tg[2] = side_word(sides, r % gw, gw); /* rows in raster order of the (gh, gw) grid */
    }
  }
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
  free(targets);
  free(dfeat);
  return st;
}

hatch_status stage_cell_words(hatch_trainer *t, const hatch_train_sample *batch, int B, float weight,
                              trainer_step_metrics *sm) {
  int32_t side_ids[2] = {-1, -1}, *sides = NULL;
  if (t->o->cell_side) {
    side_ids[0] = word_token(t->tok, "left", 4), side_ids[1] = word_token(t->tok, "right", 5);
    if (side_ids[0] < 0 || side_ids[1] < 0)
      return trainer_fail(t, HATCH_ERR_NOT_FOUND, "--cell-side: the tokenizer cannot spell ' left' and ' right'");
    sides = side_ids;
  }
  double total = 0;
  for (int b = 0; b < B; b++) total += (double)labelled_cells(&batch[b], sides != NULL); /* every rank sees the batch */
  if (total == 0 || weight == 0) return HATCH_OK;
  const hatch_train_tensor *e = hatch_train_model_find(t->model, "token_embd.weight");
  if (!e) return trainer_fail(t, HATCH_ERR_NOT_FOUND, "word-grounded vision tokens: no token_embd.weight");
  hatch_status st = trainer_on_device(t) ? hatch_train_model_pull(t->model) : HATCH_OK; /* E on the host */
  if (st != HATCH_OK) return trainer_fail(t, st, "word-grounded vision tokens: reading the token embeddings");
  const float *embd = hatch_train_model_params(t->model) + e->offset; // (vocab, dim), tied with the LM head
  double acc[3] = {0, 0, 0}; /* loss, side words right, side words */
  for (int b = 0; b < B && st == HATCH_OK; b++) {
    if (!trainer_owns(t, b) || labelled_cells(&batch[b], sides != NULL) == 0) continue;
    double sum = 0;
    st = sample_cell_words(t, &batch[b], embd, (float)(weight / total), sides, &sum, acc + 1);
    acc[0] += sum / total;
  }
  if (st == HATCH_OK) st = trainer_reduce_f64(t, acc, 3);
  double loss = acc[0];
  if (st == HATCH_OK && !isfinite(loss))
    return trainer_fail(t, HATCH_ERR_CORRUPT, "word-grounded vision tokens: the loss is %g (never a step on NaN)", loss);
  trainer_metric(sm, "cell_loss", loss);
  trainer_metric(sm, "cells", total);
  if (sides && acc[2] > 0) trainer_metric(sm, "cell_side_accuracy", acc[1] / acc[2]); /* left/right told apart */
  return st;
}
