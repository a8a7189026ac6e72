/* Training token sequences (hatch/train_prompt.h). */
#include "hatch/train_prompt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void hatch_token_seq_free(hatch_token_seq *s) {
  if (!s) return;
  free(s->ids);
  free(s->targets);
  memset(s, 0, sizeof *s);
}

size_t hatch_target_text(const hatch_train_sample *s, hatch_target_kind kind, char *buf, size_t cap) {
  const char *action = kind == HATCH_TARGET_ACTION ? s->action : "";
  if (s->response[0]) { /* a caption sample: the response is the target */
    int n = snprintf(buf, cap, "%s", s->response);
    return n < 0 ? 0 : (size_t)n;
  }
  if (s->n_options == 0) { /* a pose-only sample (RGB-D manifest pair): the action is the answer */
    int n = snprintf(buf, cap, "%s", action);
    return n < 0 ? 0 : (size_t)n;
  }
  int n = snprintf(buf, cap, "%s<answer>%c. %s</answer>", action, s->gt_answer,
                   s->answer_text[0] ? s->answer_text : "?");
  return n < 0 ? 0 : (size_t)n;
}

static hatch_status prompt_ids(const hatch_tokenizer *tok, const hatch_train_sample *s, int32_t **ids, size_t *n) {
  int32_t pads[HATCH_SAMPLE_MAX_IMAGES];
  if (s->n_images < 0 || s->n_images > HATCH_SAMPLE_MAX_IMAGES) return HATCH_ERR_INVALID_ARGUMENT;
  for (int k = 0; k < s->n_images; k++) {
    if (s->images[k].width % 28 || s->images[k].height % 28 || s->images[k].width <= 0 || s->images[k].height <= 0)
      return HATCH_ERR_SHAPE;
    pads[k] = (s->images[k].width / 28) * (s->images[k].height / 28);
  }
  hatch_chat_prompt cp = {.image_tokens = pads, .n_images = s->n_images, .question = s->question};
  return hatch_tokenizer_encode_chat(tok, &cp, ids, n);
}

/* Joins prompt and response ids (+ stop) and sets the targets of the response part. */
static hatch_status join(int32_t *prompt, size_t n_prompt, const int32_t *resp, size_t n_resp, int32_t stop,
                         hatch_token_seq *out) {
  size_t n = n_prompt + n_resp + (stop >= 0 && n_resp ? 1 : 0);
  out->ids = malloc(sizeof(int32_t) * (n ? n : 1));
  out->targets = malloc(sizeof(int32_t) * (n ? n : 1));
  if (!out->ids || !out->targets) {
    free(prompt);
    hatch_token_seq_free(out);
    return HATCH_ERR_OUT_OF_MEMORY;
  }
  memcpy(out->ids, prompt, sizeof(int32_t) * n_prompt);
  free(prompt);
  memcpy(out->ids + n_prompt, resp, sizeof(int32_t) * n_resp);
  if (n > n_prompt + n_resp) out->ids[n - 1] = stop;
  for (size_t t = 0; t < n; t++) out->targets[t] = (t + 1 >= n_prompt && t + 1 < n) ? out->ids[t + 1] : -1;
  out->n = (int)n;
  out->n_prompt = (int)n_prompt;
  return HATCH_OK;
}

hatch_status hatch_token_seq_build(const hatch_tokenizer *tok, const hatch_train_sample *s, const char *response,
                                   hatch_token_seq *out) {
  memset(out, 0, sizeof *out);
  int32_t *prompt = NULL, *resp = NULL;
  size_t n_prompt = 0, n_resp = 0;
  hatch_status st = prompt_ids(tok, s, &prompt, &n_prompt);
  if (st != HATCH_OK) return st;
  if (response && (st = hatch_tokenizer_encode(tok, response, strlen(response), false, &resp, &n_resp)) != HATCH_OK) {
    free(prompt);
    return st;
  }
  int32_t stop = hatch_tokenizer_find(tok, "<|im_end|>", 10);
  st = join(prompt, n_prompt, resp, n_resp, stop, out);
  free(resp);
  return st;
}

hatch_status hatch_token_seq_from_generation(const hatch_tokenizer *tok, const hatch_train_sample *s,
                                             const int32_t *gen, int n_gen, int32_t stop_id, hatch_token_seq *out) {
  memset(out, 0, sizeof *out);
  int32_t *prompt = NULL;
  size_t n_prompt = 0;
  hatch_status st = prompt_ids(tok, s, &prompt, &n_prompt);
  if (st != HATCH_OK) return st;
  return join(prompt, n_prompt, gen, (size_t)(n_gen > 0 ? n_gen : 0), stop_id, out);
}
