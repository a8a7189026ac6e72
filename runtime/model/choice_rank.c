/* Multiple-choice answers by likelihood (hatch/choice.h): every whole response is tokenized as one
 * text (so the ids are those training saw, whatever BPE does at "<answer>B"), the part all of them
 * share with what was generated stays in the KV cache, and each response's own tail is run once. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hatch/choice.h"

typedef struct candidate {
  int32_t *ids; /* (n) the response, then the stop */
  size_t n;
} candidate;

/* Bytes of a response before its answer: up to "<answer>", else through a complete "</action>", else 0. */
static size_t answer_prefix_len(const char *response) {
  const char *a = strstr(response, "<answer>");
  if (a) return (size_t)(a - response);
  const char *e = strstr(response, "</action>");
  return e ? (size_t)(e - response) + strlen("</action>") : 0;
}

static size_t common_prefix(const int32_t *a, size_t na, const int32_t *b, size_t nb) {
  size_t i = 0;
  while (i < na && i < nb && a[i] == b[i]) i++;
  return i;
}

/* log softmax(row)[id] over n_vocab logits, in double. */
static double log_prob(const float *row, int64_t n_vocab, int32_t id) {
  float mx = row[0];
  for (int64_t v = 1; v < n_vocab; v++)
    if (row[v] > mx) mx = row[v];
  double sum = 0;
  for (int64_t v = 0; v < n_vocab; v++) sum += exp((double)row[v] - mx);
  return (double)row[id] - mx - log(sum);
}

/* Runs [first, tail[0 .. n_tail-1)] from cache length at (first at position pos) and sums the
 * log-probabilities of tail[0 .. n_tail). logits: (n_tail, n_vocab) scratch. */
static hatch_status score_tail(const hatch_choice_state *s, int at, int32_t first, int32_t pos, const int32_t *tail,
                               int n_tail, int64_t n_vocab, int32_t *ids, int32_t *p3, float *logits, double *out) {
  hatch_status st = hatch_model_rewind(s->model, at);
  if (st != HATCH_OK) return st;
  ids[0] = first;
  memcpy(ids + 1, tail, sizeof(int32_t) * (size_t)(n_tail - 1));
  for (int i = 0; i < n_tail; i++)
    for (int c = 0; c < 3; c++) p3[c * n_tail + i] = pos + i;
  if ((st = hatch_model_forward(s->model, ids, n_tail, p3, NULL, 0, logits, n_tail)) != HATCH_OK) return st;
  double sum = 0;
  for (int i = 0; i < n_tail; i++) sum += log_prob(logits + (size_t)i * n_vocab, n_vocab, tail[i]);
  *out = sum;
  return HATCH_OK;
}

hatch_status hatch_choice_rank(const hatch_choice_state *s, const char *response, const hatch_choice_options *o,
                               hatch_choice_result *out) {
  memset(out, 0, sizeof *out);
  if (!s || !s->model || !s->tok || !response || !o || o->n < 1 || o->n > HATCH_CHOICE_MAX || s->n_prompt < 1 ||
      s->n_generated < 0 || (s->n_generated && !s->generated))
    return HATCH_ERR_INVALID_ARGUMENT;
  int64_t n_vocab = hatch_model_config(s->model)->text.vocab_size;
  candidate cand[HATCH_CHOICE_MAX] = {{0}};
  int32_t *ids = NULL, *p3 = NULL;
  float *logits = NULL;
  hatch_status st = HATCH_OK;
  size_t shared = (size_t)s->n_generated; /* what every candidate shares with the generated tokens */
  int n_prefix = (int)answer_prefix_len(response);
  for (int k = 0; k < o->n && st == HATCH_OK; k++) {
    char text[sizeof out->text];
    int len = snprintf(text, sizeof text, "%.*s<answer>%c. %s</answer>", n_prefix, response, 'A' + k, o->text[k]);
    if (len < 0 || (size_t)len >= sizeof text) {
      st = HATCH_ERR_TOO_LARGE;
      break;
    }
    int32_t *enc = NULL;
    size_t n = 0;
    if ((st = hatch_tokenizer_encode(s->tok, text, (size_t)len, false, &enc, &n)) != HATCH_OK) break;
    if (n + 1 > HATCH_CHOICE_MAX_IDS) {
      free(enc);
      st = HATCH_ERR_TOO_LARGE;
      break;
    }
    if (!(cand[k].ids = malloc(sizeof(int32_t) * (n + 1)))) {
      free(enc);
      st = HATCH_ERR_OUT_OF_MEMORY;
      break;
    }
    memcpy(cand[k].ids, enc, sizeof(int32_t) * n);
    free(enc);
    cand[k].n = n;
    if (s->stop_id >= 0) cand[k].ids[cand[k].n++] = s->stop_id;
    size_t c = common_prefix(cand[k].ids, cand[k].n, s->generated, (size_t)s->n_generated);
    if (c < shared) shared = c;
  }
  for (int k = 0; k < o->n && st == HATCH_OK; k++)
    if (shared >= cand[k].n) shared = cand[k].n - 1; /* every candidate keeps at least one token to score */
  size_t longest = 0;
  for (int k = 0; k < o->n && st == HATCH_OK; k++)
    if (cand[k].n - shared > longest) longest = cand[k].n - shared;
  if (st == HATCH_OK && (!(ids = malloc(sizeof(int32_t) * longest)) || !(p3 = malloc(sizeof(int32_t) * 3 * longest)) ||
                         !(logits = malloc(sizeof(float) * (size_t)n_vocab * longest))))
    st = HATCH_ERR_OUT_OF_MEMORY;
  /* The token before the first scored one: the last shared response token, or the prompt's last. */
  int at = s->n_prompt + (int)shared - 1;
  int32_t first = shared ? s->generated[shared - 1] : s->last_prompt_id;
  int32_t pos = s->first_pos + (int32_t)shared - 1;
  out->best = 0;
  for (int k = 0; k < o->n && st == HATCH_OK; k++) {
    st = score_tail(s, at, first, pos, cand[k].ids + shared, (int)(cand[k].n - shared), n_vocab, ids, p3, logits,
                    &out->logp[k]);
    if (st == HATCH_OK && out->logp[k] > out->logp[out->best]) out->best = k;
  }
  if (st == HATCH_OK) {
    const candidate *b = &cand[out->best];
    out->n_ids = (int)b->n - (s->stop_id >= 0 ? 1 : 0);
    memcpy(out->ids, b->ids, sizeof(int32_t) * (size_t)out->n_ids);
    char *text = NULL;
    size_t len = 0;
    if ((st = hatch_tokenizer_decode(s->tok, out->ids, (size_t)out->n_ids, true, &text, &len)) == HATCH_OK)
      snprintf(out->text, sizeof out->text, "%s", text);
    free(text);
  }
  for (int k = 0; k < HATCH_CHOICE_MAX; k++) free(cand[k].ids);
  free(ids);
  free(p3);
  free(logits);
  return st;
}
