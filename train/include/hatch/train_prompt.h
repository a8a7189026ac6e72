/* Token sequences for training: a sample's chat-template prompt (its images' <|image_pad|> runs, the
 * question) followed by the target text and <|im_end|>, with per-position targets so that only the
 * response is learned. The same prompt the runtime builds at inference (hatch_tokenizer_encode_chat),
 * so what is trained is what `hatch query` asks.
 *
 * Target texts (ActoR, shared/docs/method.md §3):
 *   HATCH_TARGET_ANSWER   "<answer>C. Back, Right</answer>"                (QA fine-tuning)
 *   HATCH_TARGET_ACTION   "<action>{from:0,to:1,action:[...]}</action><answer>C. Back, Right</answer>"
 *                         (action-then-answer; samples without an action string fall back to ANSWER) */
#ifndef HATCH_TRAIN_PROMPT_H
#define HATCH_TRAIN_PROMPT_H

#include <stddef.h>
#include <stdint.h>

#include "hatch/status.h"
#include "hatch/tokenizer.h"
#include "hatch/train_sample.h"

typedef enum hatch_target_kind { HATCH_TARGET_ANSWER, HATCH_TARGET_ACTION } hatch_target_kind;

typedef struct hatch_token_seq {
  int32_t *ids;      /* (n) prompt then response */
  int32_t *targets;  /* (n) targets[t] = ids[t + 1] on the positions that predict a response token, else -1 */
  int n;
  int n_prompt;      /* ids[0, n_prompt) is the prompt (ends with "<|im_start|>assistant\n") */
} hatch_token_seq;

void hatch_token_seq_free(hatch_token_seq *s); /* NULL-safe; zeroes */

/* The response text a sample teaches for a target kind (NUL-terminated in buf): ACTION: the action
 * then "<answer>L. text</answer>"; ANSWER: the answer alone. A pose-only sample (n_options 0, an
 * RGB-D manifest pair) teaches its action alone (ANSWER: empty). Returns the length, or the length
 * needed when cap is too small. */
size_t hatch_target_text(const hatch_train_sample *s, hatch_target_kind kind, char *buf, size_t cap);

/* prompt + response + <|im_end|>. response NULL: the prompt only (generation, GRPO rollouts), with
 * targets all -1. Image sizes must be multiples of 28 (the caller resizes). */
hatch_status hatch_token_seq_build(const hatch_tokenizer *tok, const hatch_train_sample *s, const char *response,
                                   hatch_token_seq *out);

/* prompt ids + generated ids (a rollout): targets on the generated part only. */
hatch_status hatch_token_seq_from_generation(const hatch_tokenizer *tok, const hatch_train_sample *s,
                                             const int32_t *gen, int n_gen, int32_t stop_id, hatch_token_seq *out);

#endif
