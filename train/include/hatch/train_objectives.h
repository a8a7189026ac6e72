/* The HATCH objectives on top of the model's outputs (shared/docs/method.md §2-3): the PaStA loss
 * over cell embeddings, GRPO's group advantages and clipped token objective (with DAPO's options),
 * and the ActoR reward R = λ1·R_action + λ2·R_answer + λ3·R_format. Pure functions over host arrays:
 * each returns its loss and the gradient with respect to its input, so the model's backward takes
 * over from there. */
#ifndef HATCH_TRAIN_OBJECTIVES_H
#define HATCH_TRAIN_OBJECTIVES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hatch/plan.h"
#include "hatch/status.h"

/* ---- word-grounded vision tokens ------------------------------------------------------------------
 * The caption stage's auxiliary loss (also ground/qa/actor with --cell-words-stages): each labelled
 * merged vision token's feature f (dim) is scored
 * against the language model's tied token embeddings E (vocab, dim), z = E f, and must name what its
 * 28x28 cell shows: L = mean over labelled rows of Σ_w -log softmax(z)[word w] over the row's words
 * (a mean over rows, not words: with sides every cell is a row, so the object words' share of the
 * gradient falls to the object cells' share of the view; raise --cell-words to keep their weight)
 * (colour and category of the cell's object; with --cell-side also "left" or "right", the half of
 * the picture the cell lies in: the tower itself has only relative 2D RoPE, so where a cell stands in
 * the picture must be learned, and this says it densely).
 * E is a fixed target here (no gradient), so the tower learns to emit tokens the language model reads
 * as words: what lets a model trained from nothing copy what it sees.
 * targets (n_rows, n_words): token ids, -1 for a word a row lacks (a row with none is unlabelled);
 * n_words 1..HATCH_CELL_MAX_WORDS.
 * dfeat (n_rows, dim) is accumulated: += scale * dL_row/df for each labelled row (scale: 1 / labelled
 * rows of the whole batch gives the batch mean). *loss_sum: Σ over labelled rows of the row loss.
 * *n_labelled (may be NULL): rows with targets. HATCH_ERR_INVALID_ARGUMENT for a target outside the vocab. */
#define HATCH_CELL_MAX_WORDS 4
/* The targets of one view's tokens: rows in raster order of its (gh, gw) grid of 28x28 cells (the
 * order of the tower's merged tokens). Row r = (y, x) names cell_object[r]'s (colour, category) from
 * object_words (n_objects rows; both -1 when the cell shows no object, cell_object is NULL, or the
 * object has no words) and, with sides = {" left" id, " right" id} (NULL: none), the half of the view
 * the cell lies in: sides[0] for x < gw / 2, sides[1] past the middle, -1 in the middle column of an
 * odd gw. targets (gh * gw, sides ? 3 : 2). Returns the rows with at least one word. */
int64_t hatch_cell_word_targets(const int16_t *cell_object, int gh, int gw, int n_objects, const int32_t (*object_words)[2],
                                const int32_t sides[2], int32_t *targets);
hatch_status hatch_cell_words_loss(const float *feat, int64_t n_rows, int dim, const int32_t *targets, int n_words,
                                   const float *embd, int64_t vocab, float scale, double *loss_sum, float *dfeat,
                                   int64_t *n_labelled);

/* ---- PaStA ----------------------------------------------------------------------------------------
 * Cell embeddings: the vision features (merged tokens of one image, raster order of its (gh, gw) grid)
 * mean-pooled over an n x n grid of cells (cell (a, b) covers rows [floor(a*gh/n), floor((a+1)*gh/n))
 * and columns likewise; index a*n + b). C = cosine similarities (n², n²) between X's and Y's cells.
 * Target S (n², n²) from depth reprojection (train_data.h); p = softmax(S/τ1) per row,
 * q = softmax(C/τ2) per row, in both directions (S^T, C^T for Y -> X); rows whose S sum is 0 (cells
 * with no correspondence) are left out.
 *   L = ½ (mean_i H(p_XY_i, q_XY_i) + mean_j H(p_YX_j, q_YX_j)),  H(p, q) = -Σ p log q. */
typedef struct hatch_pasta_loss_options {
  int n;       /* cells per side (4) */
  float tau1;  /* target temperature */
  float tau2;  /* prediction temperature */
} hatch_pasta_loss_options;

hatch_pasta_loss_options hatch_pasta_loss_defaults(void); /* n 4, τ1 0.1, τ2 0.1 */

/* fx (ghx*gwx, dim), fy (ghy*gwy, dim); S (n*n, n*n). dfx/dfy (same shapes as fx/fy) receive
 * dL/dfeatures (overwritten; may be NULL). *n_valid: rows counted in each direction (may be NULL).
 * HATCH_ERR_INVALID_ARGUMENT when a grid side is smaller than n; HATCH_ERR_NOT_FOUND when S has no
 * correspondence at all (nothing to learn from this pair: the caller skips it). */
hatch_status hatch_pasta_loss(const float *fx, int ghx, int gwx, const float *fy, int ghy, int gwy, int dim,
                              const float *S, const hatch_pasta_loss_options *opt, double *loss, float *dfx, float *dfy,
                              int n_valid[2]);

/* ---- GRPO -----------------------------------------------------------------------------------------
 * Advantages of one group of rollouts: A_g = (r_g - mean) / (std + 1e-4) (scale_by_std) or
 * r_g - mean. A group whose rewards are all equal carries no signal: with drop_equal_groups (DAPO's
 * dynamic sampling) it is reported dropped and its advantages are 0. */
typedef struct hatch_grpo_options {
  float clip_low;         /* ε_low  (0.2) */
  float clip_high;        /* ε_high (0.2; DAPO clip-higher: 0.28) */
  float kl_beta;          /* β of the k3 KL estimator against the reference policy; 0 = no KL (DAPO) */
  bool scale_by_std;      /* divide advantages by the group's std (GRPO); false = Dr. GRPO */
  bool drop_equal_groups; /* DAPO dynamic sampling */
  bool token_level;       /* DAPO token-level normalization: every generated token of the batch weighs
                             the same; false = mean per sequence, then over sequences (GRPO) */
} hatch_grpo_options;

hatch_grpo_options hatch_grpo_defaults(void);      /* GRPO as in TRL: 0.2/0.2, β 0.04, std scaling */
hatch_grpo_options hatch_grpo_dapo_defaults(void); /* 0.2/0.28, β 0, token-level, drop equal groups */

/* adv (G) out; returns true when the group was dropped. */
bool hatch_grpo_advantages(const float *rewards, int G, const hatch_grpo_options *opt, float *adv);

typedef struct hatch_grpo_token_stats {
  int n_tokens;
  int n_clipped;   /* tokens whose ratio was clipped (no gradient) */
  double kl_sum;   /* Σ k3 KL estimates */
} hatch_grpo_token_stats;

/* One rollout's tokens: logp_new (n) under the current policy, logp_old (n) under the policy that
 * sampled it, logp_ref (n, may be NULL when kl_beta is 0). Returns weight · Σ_t loss_t with
 *   loss_t = -min(ρ_t A, clip(ρ_t, 1-ε_low, 1+ε_high) A) + β k3_t,  ρ_t = exp(logp_new - logp_old),
 *   k3_t = exp(ref - new) - (ref - new) - 1,
 * and d_logp (n) = weight · dloss_t/dlogp_new_t (overwritten). The caller picks weight from the
 * normalization: 1 / (tokens in the batch) for token_level, else 1 / (n · sequences). */
double hatch_grpo_sequence_loss(const float *logp_new, const float *logp_old, const float *logp_ref, int n,
                                float advantage, float weight, const hatch_grpo_options *opt, float *d_logp,
                                hatch_grpo_token_stats *stats);

/* ---- ActoR reward ----------------------------------------------------------------------------------
 * R = λ1·R_action + λ2·R_answer + λ3·R_format for one generated response:
 *   R_format: 1 when the whole response parses as a plan (hatch_plan_parse with the sample's limits);
 *             else 0.5 when only an "<answer>X. ...</answer>" part is well formed; else 0.
 *   R_answer: 1 when the MindCube-extracted letter equals the ground truth, else 0.
 *   R_action: continuous in [0, 1] from the pose the plan's step (pose_from -> pose_to) composes to
 *             against the true relative pose: exp(-|Δt| / t_scale) · exp(-|Δyaw| / yaw_scale)
 *             · exp(-|Δpitch| / yaw_scale); 0 when there is no such step or no parse. */
typedef struct hatch_reward_options {
  float w_action, w_answer, w_format; /* λ1, λ2, λ3 */
  float t_scale_m;                    /* 1.0 m */
  float yaw_scale_deg;                /* 30 deg */
} hatch_reward_options;

hatch_reward_options hatch_reward_defaults(void); /* λ = 0.5, 1.0, 0.25 */

typedef struct hatch_reward_parts {
  float action, answer, format, total;
  bool parsed;
  double t_err_m, yaw_err_deg, pitch_err_deg; /* when parsed with the step; else NaN */
} hatch_reward_parts;

/* truth: the sample's relative pose of view pose_to seen from pose_from (has_pose false: R_action
 * is 0 and its weight is left out of nothing: the reward just lacks that term). */
hatch_reward_parts hatch_reward_score(const char *response, size_t len, const hatch_plan_limits *limits, char gt,
                                      bool has_pose, int pose_from, int pose_to,
                                      const hatch_relative_pose *truth, const hatch_reward_options *opt);

#endif
