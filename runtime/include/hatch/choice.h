/* Multiple-choice answers by likelihood. A question with its options inline (MindCube's "... A. Wall
 * B. Sliding door C. Open space") has a closed set of answers; instead of letting the decoder commit
 * to a letter first and the option's text after it, the model scores every whole answer
 * "<answer>X. text</answer>" (and the stop) after what it has generated so far, and the most likely
 * one is the response. What the model knows about the text of the options counts, not only whether it
 * learned to bind a letter to an option (lm-eval-harness scores multiple choice the same way).
 *
 * Ownership: nothing is kept; the model's KV cache is rewound and reused. */
#ifndef HATCH_CHOICE_H
#define HATCH_CHOICE_H

#include <stddef.h>
#include <stdint.h>

#include "hatch/model.h"
#include "hatch/plan.h"
#include "hatch/status.h"
#include "hatch/tokenizer.h"

#define HATCH_CHOICE_MAX 8 /* A..H */

typedef struct hatch_choice_options {
  int n;                                              /* options A.. */
  char text[HATCH_CHOICE_MAX][HATCH_PLAN_MAX_TEXT + 1]; /* ("Sliding door"), trimmed */
} hatch_choice_options;

/* The inline options of a question: the last "A. " (at the start or after white space) that a " B. "
 * follows, then each next letter's " X. " in order; each text runs to the next marker (the last to the
 * end) and is trimmed. HATCH_ERR_NOT_FOUND: fewer than two options; HATCH_ERR_CORRUPT: an empty
 * option; HATCH_ERR_TOO_LARGE: an option longer than HATCH_PLAN_MAX_TEXT bytes. Never reads past
 * the NUL. */
hatch_status hatch_choice_parse(const char *question, hatch_choice_options *out);

/* Where the response stands: the model has run the prompt (n_prompt tokens, the last one
 * last_prompt_id; the first response token goes at M-RoPE position first_pos, on all three
 * components) and then the generated tokens, all of them but possibly the last. */
typedef struct hatch_choice_state {
  hatch_model *model;
  const hatch_tokenizer *tok;
  int n_prompt;
  int32_t last_prompt_id;
  int32_t first_pos;
  const int32_t *generated; /* (n_generated) */
  int n_generated;
  int32_t stop_id;          /* scored after each answer (<|im_end|>); < 0: none */
} hatch_choice_state;

#define HATCH_CHOICE_MAX_IDS 512

typedef struct hatch_choice_result {
  int best;                           /* 0.. (the letter 'A' + best) */
  double logp[HATCH_CHOICE_MAX];      /* log-probability of each whole response after the common part */
  int32_t ids[HATCH_CHOICE_MAX_IDS];  /* the best response's tokens, the stop excluded */
  int n_ids;
  char text[2048];                    /* the best response, decoded (special tokens skipped) */
} hatch_choice_result;

/* response: the decoded text generated so far. Its part before the answer (up to "<answer>", else
 * through a complete "</action>", else nothing: the answer alone is scored) is kept, and
 * prefix + "<answer>X. text</answer>" (+ stop) is scored for every option; the most likely is the
 * result, ties to the earlier letter. The model's cache is left at an unspecified length within the
 * prompt + response. HATCH_ERR_TOO_LARGE: a response past HATCH_CHOICE_MAX_IDS tokens or the
 * model's context. */
hatch_status hatch_choice_rank(const hatch_choice_state *s, const char *response, const hatch_choice_options *o,
                               hatch_choice_result *out);

#endif
