/* hatch-train's training run: the HATCH recipe as stages over one model (shared/docs/method.md):
 *   pasta   PaStA on the vision tower only (the LLM frozen), image pairs with depth-derived targets
 *   qa      QA fine-tuning: loss on the "<answer>X. text</answer>" tokens
 *   actor   ActoR cold-start SFT: the teacher "<action>...</action><answer>...</answer>" strings
 *   grpo    GRPO (DAPO options available): group rollouts drawn through the runtime's own model from
 *           an F32 export of the current weights, reward λ1·action + λ2·answer + λ3·format
 * run in the order given, each for its number of steps, with its own AdamW state and schedule.
 * Data: the synthetic world streamed in memory (deterministic per step, so a resume needs no data
 * cursor) or a MindCube-format JSONL file. Every step appends to metrics.jsonl; checkpoints are
 * written every N steps and at the end; a run resumes bit-identically from its checkpoint.
 *
 * Data parallel (ranks > 1): every rank builds the same batch and runs forward/backward on its share;
 * the summed gradients and the same optimizer step keep the ranks' weights identical, and the results
 * equal a one-rank run up to the order of float sums.
 *
 * Ownership: a hatch_trainer owns its model, optimizer, tokenizer and files. Errors are values; the
 * report names the file, stage or sample. A NaN/Inf loss or gradient stops the run with an error
 * (never a silent step). */
#ifndef HATCH_TRAINER_H
#define HATCH_TRAINER_H

#include <stdbool.h>
#include <stdint.h>

#include "hatch/model_config.h"
#include "hatch/status.h"
#include "hatch/train_data.h"
#include "hatch/train_model.h"
#include "hatch/train_objectives.h"

/* ground: QA fine-tuning on the grounding questions (hatch/sim_dataset.h: which object fills / can be
 * seen in image k), the base a from-scratch model needs before the spatial stages.
 * caption: SFT on captions of every view (hatch_sim_caption: the objects of each image, left to right),
 * dense supervision that teaches a from-scratch model to see before it answers multiple choice. */
typedef enum hatch_stage {
  HATCH_STAGE_PASTA,
  HATCH_STAGE_QA,
  HATCH_STAGE_ACTOR,
  HATCH_STAGE_GRPO,
  HATCH_STAGE_GROUND,
  HATCH_STAGE_CAPTION,
  HATCH_STAGE_COUNT
} hatch_stage;

const char *hatch_stage_name(hatch_stage s);
/* "pasta" -> HATCH_STAGE_PASTA...; -1 when unknown. */
int hatch_stage_from_name(const char *name);

#define HATCH_TRAINER_MAX_STAGES 8
#define HATCH_TRAINER_MAX_BATCH 64   /* samples per step */
#define HATCH_TRAINER_MAX_GROUP 64   /* GRPO rollouts per prompt */

typedef struct hatch_stage_plan {
  hatch_stage stage;
  int64_t steps;
  float lr;            /* peak learning rate */
} hatch_stage_plan;

/* The stages with a vision SFT step, where the word-grounded vision loss can run (--cell-words-stages). */
#define HATCH_CELL_WORDS_STAGES \
  (1u << HATCH_STAGE_CAPTION | 1u << HATCH_STAGE_GROUND | 1u << HATCH_STAGE_QA | 1u << HATCH_STAGE_ACTOR)

typedef struct hatch_trainer_options {
  const char *out_dir;         /* metrics.jsonl, checkpoint.bin, model-f32.gguf, plots */
  const char *tokenizer_path;  /* tokenizer.json (hatch-train tokenizer) */
  const char *init_gguf;       /* start from these weights (NULL: random init from seed) */
  const char *preset;          /* model size when init_gguf is NULL: "tiny" or "small" */
  const char *data_jsonl;      /* MindCube JSONL for qa/actor/grpo instead of the synthetic world */
  const char *rgbd_manifest;   /* RGB-D + pose manifest (hatch/train_data.h): PaStA pairs from it instead of
                                  the synthetic world, and half of each ActoR SFT batch (pose-only samples:
                                  the action is the whole response) */
  uint64_t seed;
  int threads;                 /* 0: all cores */
  hatch_train_device device;   /* where the model trains (zero: the CPU); hatch/train_model.h */
  int ranks;                   /* data-parallel ranks (1): threads of this process, one model each, every
                                  step's batch split by sample (b % ranks), gradients summed across ranks
                                  (NCCL on CUDA: rank r on cuda:(device + r); the CPU: threads / ranks
                                  threads each). 1..batch; > 1 only with the synthetic world (no --data,
                                  --rgbd) */
  int image_size;              /* synthetic views (square, multiple of 28) */
  int mrope_section[3];        /* the LLM's mRoPE split of rotary pairs into t, h, w (sum: head_dim / 2),
                                  replacing the preset's or the --init file's; all 0 = keep it. The w
                                  section takes the lowest frequencies: with the preset's 4,6,6 a view's
                                  columns differ by under 0.01 rad, so the LLM cannot tell left from right
                                  in one picture; 1,1,14 gives w pairs from 0.32 rad per column down */
  unsigned settings;           /* HATCH_SIM_SETTING_BIT mask; 0 = rotation | around | among */
  int batch;                   /* samples per step (pairs for pasta, prompts for grpo), 1..HATCH_TRAINER_MAX_BATCH */
  int n_stages;
  hatch_stage_plan stages[HATCH_TRAINER_MAX_STAGES];
  float min_lr_ratio;          /* cosine floor as a fraction of the peak (0.1) */
  int warmup_steps;
  float grad_clip;             /* global norm (1.0) */
  float weight_decay;          /* AdamW, matrices only (0.01) */
  hatch_pasta_loss_options pasta;
  hatch_pasta_options pasta_targets;
  float cell_words;            /* weight of the word-grounded vision tokens (caption stage, cell_words_stages)
                                  (hatch_cell_words_loss): 1; 0 = captions alone */
  unsigned cell_words_stages;  /* bit s: stage s adds that loss (within HATCH_CELL_WORDS_STAGES); 0 = caption only */
  bool cell_side;              /* each vision token also names the half of its view it lies in ("left" or
                                  "right"), so in-picture position is in the token the LLM reads */
  int grpo_group;              /* rollouts per prompt (4), 2..HATCH_TRAINER_MAX_GROUP */
  float grpo_temperature;      /* sampling temperature of rollouts (1.0) */
  int grpo_max_tokens;         /* (96) */
  hatch_grpo_options grpo;
  hatch_reward_options reward;
  int checkpoint_every;        /* steps (0: only at the end) */
  int eval_every;              /* steps between quick held-out evals (0: none) */
  int eval_samples;            /* samples of a quick eval (64) */
  uint64_t eval_seed;          /* held-out synthetic scenes (never the training seed) */
  bool resume;                 /* continue from out_dir/checkpoint.bin */
  bool quiet;                  /* no progress bar */
  int64_t stop_after;          /* stop (with a checkpoint) after this many global steps (tests); 0 = run all */
} hatch_trainer_options;

void hatch_trainer_options_default(hatch_trainer_options *o);
/* "pasta:200,qa:1000,actor:200,grpo:100" (optional "@lr" per stage: "qa:1000@3e-4"). */
hatch_status hatch_trainer_parse_stages(const char *text, hatch_trainer_options *o, char why[256]);

typedef struct hatch_trainer_report {
  char message[768];
} hatch_trainer_report;

/* Runs every stage (from the checkpoint when resuming). */
hatch_status hatch_trainer_run(const hatch_trainer_options *o, hatch_trainer_report *report);

/* The preset model configs ("tiny": tests; "small": the shipped model), with the tokenizer's vocab
 * and special token ids. */
hatch_status hatch_trainer_preset_config(const char *preset, const void *tokenizer, hatch_qwen25vl_config *cfg,
                                         char why[256]);

#endif
