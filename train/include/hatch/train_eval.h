/* Generation and evaluation through the runtime: a trained or exported GGUF is loaded into the
 * runtime's own model (hatch/model.h, CPU backend by default) and answers a sample's question from its
 * images, exactly as `hatch query` does on the robot. GRPO draws its rollouts through the same path
 * (from an F32 export of the current weights), and `hatch-train eval` scores with MindCube's rules
 * (hatch/mindcube.h) plus action accuracy (the pose the plan composes to against the true one).
 *
 * Ownership: a hatch_generator owns its backend, model, tokenizer and buffers. */
#ifndef HATCH_TRAIN_EVAL_H
#define HATCH_TRAIN_EVAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "hatch/backend.h"
#include "hatch/mindcube.h"
#include "hatch/status.h"
#include "hatch/tokenizer.h"
#include "hatch/train_sample.h"

typedef struct hatch_generator hatch_generator;

typedef struct hatch_generate_options {
  float temperature;     /* <= 0: greedy */
  int top_k;
  float top_p;
  uint64_t seed;
  int max_tokens;        /* 0 -> 160 */
  bool constrained;      /* decode through the plan grammar (hatch/plan.h), as hatch query does */
  /* The answer by likelihood (hatch/choice.h): decode up to the answer, then the most likely of the
   * question's inline options is the answer. Questions without inline options decode as usual. */
  bool rank_options;
} hatch_generate_options;

/* path: a GGUF the runtime loads (hatch's single file with tokenizer.ggml.* keys). backend: NULL ->
 * a CPU backend the generator creates (n_threads 0 = all cores). why: message naming the file. */
hatch_status hatch_generator_open(const char *path, int n_threads, hatch_generator **out, char why[384]);
void hatch_generator_close(hatch_generator *g);
const hatch_tokenizer *hatch_generator_tokenizer(const hatch_generator *g);

typedef struct hatch_generation {
  char text[1024];       /* the decoded response (special tokens skipped) */
  int32_t ids[512];      /* the generated token ids (without the stop token) */
  int n_ids;
  bool stopped;          /* ended on EOS / <|im_end|> rather than max_tokens */
  int32_t prompt_tokens;
  bool ranked;           /* the answer was chosen by likelihood (rank_options and inline options) */
} hatch_generation;

/* Answers one sample: images (each resized by the runtime's rules when not already of a valid size),
 * the chat-template prompt with the question, then decoding. */
hatch_status hatch_generator_answer(hatch_generator *g, const hatch_train_sample *s, const hatch_generate_options *opt,
                                    hatch_generation *out);

/* Accumulated evaluation. */
typedef struct hatch_eval_totals {
  hatch_mindcube_score score;
  int n_format_ok;       /* responses that parse as a whole plan */
  int n_with_pose;       /* samples with a true pose */
  int n_action_found;    /* ... whose response has the step pose_from -> pose_to */
  int n_action_close;    /* ... composing to within 0.5 m and 15 deg of the truth */
  double sum_t_err_m, sum_yaw_err_deg; /* over n_action_found */
} hatch_eval_totals;

/* One JSON line for one answered sample (hatch-train eval --answers): id, source (a synthetic sample's
 * names its template), setting, question, truth, answer (the letter MindCube's rules extract, "" for
 * none), correct, ranked, response, and true_action where the sample has a pose.
 * HATCH_ERR_IO when the write fails, HATCH_ERR_OUT_OF_MEMORY. */
hatch_status hatch_eval_answer_write(FILE *f, const hatch_train_sample *s, const hatch_generation *g);

/* Scores one response against its sample into *t. */
void hatch_eval_add(hatch_eval_totals *t, const hatch_train_sample *s, const char *response, size_t len);

/* Captions (the caption stage's task): object names per view against the truth. */
typedef struct hatch_caption_score {
  int captions, captions_exact;     /* every view's list exactly right, order included */
  int views, views_exact;
  int named_true, named_generated, named_correct; /* recall = correct / true, precision = correct / generated */
} hatch_caption_score;

/* Scores one generated caption against the true one ("Image 1: Red box, Blue ball. Image 2: none."). */
void hatch_caption_score_add(hatch_caption_score *t, const char *truth, const char *response, size_t len);

#endif
