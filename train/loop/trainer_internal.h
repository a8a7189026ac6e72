/* The trainer's state, shared by its stage files (hatch/trainer.h). */
#ifndef HATCH_TRAINER_INTERNAL_H
#define HATCH_TRAINER_INTERNAL_H

#include "hatch/train_model.h"

#include "hatch/backend.h"
#include "hatch/sim_dataset.h"
#include "hatch/tokenizer.h"
#include "hatch/train_checkpoint.h"
#include "hatch/train_data.h"
#include "hatch/train_eval.h"
#include "hatch/train_metrics.h"
#include "hatch/train_optim.h"
#include "hatch/train_prompt.h"
#include "hatch/trainer.h"
#include "trainer_comm.h"

typedef struct hatch_trainer {
  const hatch_trainer_options *o;
  hatch_trainer_report *report;
  hatch_tokenizer *tok;
  hatch_qwen25vl_config cfg;
  hatch_train_model *model;
  hatch_train_model *ref;          /* GRPO's reference policy (kl_beta > 0), params frozen at stage start */
  hatch_param_desc *descs;         /* (n_descs) the model's tensors, for the optimizer and checkpoints */
  int n_descs;
  hatch_adamw *opt;                /* the current stage's optimizer (its moments: host copies on a device) */
  hatch_adamw_options adam_options;
  float *dev_m, *dev_v;            /* (n_params) AdamW moments in backend memory, on a device model only */
  hatch_metrics_writer *metrics;
  hatch_backend *cpu;              /* image resizing for JSONL data */
  hatch_mindcube_reader *jsonl;
  int64_t jsonl_consumed;          /* records handed out (resume skips as many) */
  hatch_rgbd_reader *rgbd;
  int64_t rgbd_consumed;           /* manifest pairs handed out (resume skips as many) */
  int stage_index;                 /* into o->stages */
  int64_t stage_step;              /* steps done in the current stage */
  int64_t global_step;             /* steps done over all stages */
  char path[4][1024];              /* checkpoint, metrics, f32 export, rollout export (one per rank) */
  int rank, n_ranks;               /* data parallel: this rank of n_ranks (0 of 1 without) */
  trainer_comm *comm;              /* NULL with one rank */
} hatch_trainer;

enum { PATH_CKPT, PATH_METRICS, PATH_EXPORT, PATH_ROLLOUT };

/* printf into the report; returns st. */
hatch_status trainer_fail(hatch_trainer *t, hatch_status st, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Data parallel: whether this rank runs sample b of a batch; the sum of x (n doubles: partial sums of
 * metrics, counts) over the ranks, in place (nothing with one rank); the gradient sum. */
static inline bool trainer_owns(const hatch_trainer *t, int b) { return b % t->n_ranks == t->rank; }
hatch_status trainer_reduce_f64(hatch_trainer *t, double *x, int n);
hatch_status trainer_reduce_grads(hatch_trainer *t);

/* n samples for step `step` of the current stage (deterministic by seed, stage and step), images of
 * model-ready size (multiples of 28). Clears each out[k] first. */
hatch_status trainer_samples(hatch_trainer *t, int64_t step, int n, hatch_train_sample *out);
/* Resizes every image of s to size x size (RGB only: depth and camera are dropped, they no longer
 * match the pixels). */
hatch_status trainer_resize_sample(hatch_trainer *t, hatch_train_sample *s, int size);
/* Held-out samples: scene seeds from o->eval_seed. */
hatch_status trainer_eval_samples(hatch_trainer *t, int n, hatch_train_sample *out);

/* One optimizer step over the accumulated grads (clip, NaN guard, AdamW at lr). frozen_text: leave
 * every non-vision tensor unchanged (PaStA). *grad_norm: before clipping. */
hatch_status trainer_optimizer_step(hatch_trainer *t, float lr, bool frozen_text, float *grad_norm);

/* The optimizer on a device model (trainer_device_optim.c): moments in backend memory, the same
 * arithmetic as the host step through the backend's ops. pull / push move params and moments
 * between the backend and the host copies (checkpoints). */
bool trainer_on_device(const hatch_trainer *t);
bool trainer_is_vision_tensor(const char *name);
hatch_status trainer_device_optim_init(hatch_trainer *t); /* allocates once, zeroes the moments */
void trainer_device_optim_free(hatch_trainer *t);
hatch_status trainer_device_optimizer_step(hatch_trainer *t, float lr, bool frozen_text, float *grad_norm);
hatch_status trainer_device_optim_pull(hatch_trainer *t);
hatch_status trainer_device_optim_push(hatch_trainer *t);
/* A model of the run's config on the run's device (o->device), params zeroed. */
hatch_status trainer_model_create(hatch_trainer *t, hatch_train_model **out);

/* Writes the current weights to path (F32 for rollouts / round trips, Q8_0 for export), with the
 * tokenizer. */
hatch_status trainer_save_gguf(hatch_trainer *t, const char *path, hatch_type matrix_type);

/* The stage steps: each computes grads for one batch and fills metrics (key/value pairs, at most 16). */
typedef struct trainer_step_metrics {
  int n;
  hatch_metric m[16];
  double loss;
} trainer_step_metrics;
void trainer_metric(trainer_step_metrics *sm, const char *key, double value);

hatch_status stage_sft_step(hatch_trainer *t, hatch_target_kind kind, int64_t step, trainer_step_metrics *sm);
/* The word-grounded vision loss over a batch (weight: its factor; adds cell_loss and cells to sm), in the
 * stages of trainer_cell_words_stages. */
hatch_status stage_cell_words(hatch_trainer *t, const hatch_train_sample *batch, int B, float weight,
                              trainer_step_metrics *sm);
/* Bit s set: stage s adds the word-grounded vision loss (the caption stage unless --cell-words-stages). */
static inline unsigned trainer_cell_words_stages(const hatch_trainer_options *o) {
  return o->cell_words_stages ? o->cell_words_stages : 1u << HATCH_STAGE_CAPTION;
}
hatch_status stage_pasta_step(hatch_trainer *t, int64_t step, trainer_step_metrics *sm);
hatch_status stage_grpo_step(hatch_trainer *t, int64_t step, trainer_step_metrics *sm);

/* Quick held-out evaluation through the runtime on an F32 export: accuracy (MindCube scoring),
 * format and action accuracy into sm. */
hatch_status trainer_eval(hatch_trainer *t, int n_samples, trainer_step_metrics *sm);

hatch_status trainer_checkpoint_write(hatch_trainer *t);

/* One rank's whole run (setup, stages, files, teardown): the run itself with one rank. */
hatch_status trainer_run_rank(hatch_trainer *t);
/* o->ranks rank threads over one trainer_comm (trainer_parallel.c). */
hatch_status trainer_run_ranks(const hatch_trainer_options *o, hatch_trainer_report *report);
hatch_status trainer_checkpoint_read(hatch_trainer *t);

#endif
