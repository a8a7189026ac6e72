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

static int64_t labelled_cells(const hatch_train_sample *s) {
  int64_t n = 0;
  for (int k = 0; k < s->n_images; k++) {
    const hatch_sample_image *im = &s->images[k];
    int64_t cells = (int64_t)(im->height / HATCH_SAMPLE_CELL) * (im->width / HATCH_SAMPLE_CELL);
    for (int64_t c = 0; im->cell_object && c < cells; c++) n += im->cell_object[c] >= 0;
  }
  return n;
}

/* One sample: vision forward, the loss over its labelled tokens, vision backward. */
static hatch_status sample_cell_words(hatch_trainer *t, const hatch_train_sample *s, const float *embd, float scale,
                                      double *loss_sum) {
  hatch_train_image imgs[HATCH_SAMPLE_MAX_IMAGES];
  for (int k = 0; k < s->n_images; k++) imgs[k] = (hatch_train_image){s->images[k].rgb, s->images[k].width, s->images[k].height};
  hatch_status st = hatch_train_vision_forward(t->model, imgs, s->n_images);
  int64_t rows = 0, dim = t->cfg.vision.out_hidden_size;
  const float *feat = st == HATCH_OK ? hatch_train_vision_features(t->model, &rows) : NULL;
  if (st == HATCH_OK && !feat) st = HATCH_ERR_IO;
  int32_t words[HATCH_SAMPLE_MAX_OBJECTS][2];
  object_tokens(t->tok, s, words);
  int32_t *targets = st == HATCH_OK ? malloc(sizeof(int32_t) * 2 * (size_t)rows) : NULL; // (rows, 2)
  float *dfeat = st == HATCH_OK ? calloc((size_t)(rows * dim), sizeof(float)) : NULL;   // (rows, dim)
  if (st == HATCH_OK && (!targets || !dfeat)) st = HATCH_ERR_OUT_OF_MEMORY;
  for (int k = 0; k < s->n_images && st == HATCH_OK; k++) {
    int64_t r0 = 0, n = 0;
    if ((st = hatch_train_vision_image_rows(t->model, k, &r0, &n)) != HATCH_OK) break;
    const int16_t *cells = s->images[k].cell_object;
    for (int64_t r = 0; r < n; r++) {
      int o = cells ? cells[r] : -1;
      bool ok = o >= 0 && o < s->n_objects && words[o][0] >= 0;
      targets[2 * (r0 + r)] = ok ? words[o][0] : -1;
      targets[2 * (r0 + r) + 1] = ok ? words[o][1] : -1;
    }
  }
  if (st == HATCH_OK)
    st = hatch_cell_words_loss(feat, rows, (int)dim, targets, embd, t->cfg.text.vocab_size, scale, loss_sum, dfeat, NULL);
  if (st == HATCH_OK) st = hatch_train_vision_backward(t->model, dfeat);
  if (st != HATCH_OK) trainer_fail(t, st, "%s: word-grounded vision tokens", s->source);
  free(targets);
  free(dfeat);
  return st;
}

hatch_status stage_cell_words(hatch_trainer *t, const hatch_train_sample *batch, int B, float weight,
                              trainer_step_metrics *sm) {
  double total = 0;
  for (int b = 0; b < B; b++) total += (double)labelled_cells(&batch[b]); /* every rank sees the batch */
  if (total == 0 || weight == 0) return HATCH_OK;
  const hatch_train_tensor *e = hatch_train_model_find(t->model, "token_embd.weight");
  if (!e) return trainer_fail(t, HATCH_ERR_NOT_FOUND, "word-grounded vision tokens: no token_embd.weight");
  hatch_status st = trainer_on_device(t) ? hatch_train_model_pull(t->model) : HATCH_OK; /* E on the host */
  if (st != HATCH_OK) return trainer_fail(t, st, "word-grounded vision tokens: reading the token embeddings");
  const float *embd = hatch_train_model_params(t->model) + e->offset; // (vocab, dim), tied with the LM head
  double loss = 0;
  for (int b = 0; b < B && st == HATCH_OK; b++) {
    if (!trainer_owns(t, b) || labelled_cells(&batch[b]) == 0) continue;
    double sum = 0;
    st = sample_cell_words(t, &batch[b], embd, (float)(weight / total), &sum);
    loss += sum / total;
  }
  if (st == HATCH_OK) st = trainer_reduce_f64(t, &loss, 1);
  if (st == HATCH_OK && !isfinite(loss))
    return trainer_fail(t, HATCH_ERR_CORRUPT, "word-grounded vision tokens: the loss is %g (never a step on NaN)", loss);
  trainer_metric(sm, "cell_loss", loss);
  trainer_metric(sm, "cells", total);
  return st;
}
