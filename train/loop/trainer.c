/* The training run: setup, the stage loop, optimizer steps, metrics and exports (hatch/trainer.h). */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "hatch/bpe_train.h"
#include "trainer_internal.h"

hatch_status trainer_fail(hatch_trainer *t, hatch_status st, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(t->report->message, sizeof t->report->message, fmt, ap);
  va_end(ap);
  return st;
}

void trainer_metric(trainer_step_metrics *sm, const char *key, double value) {
  if (sm->n < (int)(sizeof sm->m / sizeof sm->m[0])) sm->m[sm->n++] = (hatch_metric){key, value, NULL};
}

hatch_status trainer_optimizer_step(hatch_trainer *t, float lr, bool frozen_text, float *grad_norm) {
  if (trainer_on_device(t)) return trainer_device_optimizer_step(t, lr, frozen_text, grad_norm);
  float *params = hatch_train_model_params(t->model), *grads = hatch_train_model_grads(t->model);
  int64_t n = hatch_train_model_n_params(t->model);
  hatch_optim_report orep = {"", -1};
  hatch_status st = hatch_grad_check_finite(grads, n, t->descs, t->n_descs, &orep);
  if (st != HATCH_OK) return trainer_fail(t, st, "step %lld: %s: stopping (never a step on NaN)", (long long)t->global_step, orep.message);
  if (frozen_text) /* PaStA trains the vision tower alone: the LLM's gradients are zero by construction,
                      and its weights must not move through weight decay or old moments either. */
    for (int i = 0; i < t->n_descs; i++)
      if (!trainer_is_vision_tensor(t->descs[i].name)) memset(grads + t->descs[i].offset, 0, sizeof(float) * t->descs[i].n_elems);
  if ((st = hatch_grad_clip(grads, n, t->o->grad_clip, grad_norm)) != HATCH_OK)
    return trainer_fail(t, st, "step %lld: gradient norm is not finite", (long long)t->global_step);
  float *keep = NULL;
  if (frozen_text) {
    if (!(keep = malloc(sizeof(float) * (size_t)n))) return HATCH_ERR_OUT_OF_MEMORY;
    memcpy(keep, params, sizeof(float) * (size_t)n);
  }
  st = hatch_adamw_step(t->opt, params, grads, lr, &orep);
  if (keep) {
    for (int i = 0; i < t->n_descs; i++)
      if (!trainer_is_vision_tensor(t->descs[i].name))
        memcpy(params + t->descs[i].offset, keep + t->descs[i].offset, sizeof(float) * t->descs[i].n_elems);
    free(keep);
  }
  if (st != HATCH_OK) return trainer_fail(t, st, "step %lld: %s", (long long)t->global_step, orep.message);
  return HATCH_OK;
}

hatch_status trainer_save_gguf(hatch_trainer *t, const char *path, hatch_type matrix_type) {
  hatch_bpe_gguf_meta meta = {.tok = t->tok, .n_vocab = t->cfg.text.vocab_size};
  hatch_qwen25vl_write_options wo = {.name = "hatch-small", .matrix_type = matrix_type,
                                     .add_metadata = hatch_bpe_gguf_add_metadata, .metadata_user = &meta};
  hatch_train_report rep = {""};
  hatch_status st = hatch_train_model_save_gguf(t->model, path, &wo, &rep);
  if (st != HATCH_OK) return trainer_fail(t, st, "%s: %s", path, rep.message);
  return HATCH_OK;
}

static hatch_status new_optimizer(hatch_trainer *t) {
  hatch_adamw_destroy(t->opt);
  t->opt = NULL;
  hatch_adamw_options ao = hatch_adamw_defaults();
  ao.beta2 = 0.95f;
  ao.weight_decay = t->o->weight_decay;
  t->adam_options = ao;
  hatch_status st = hatch_adamw_create(hatch_train_model_n_params(t->model), t->descs, t->n_descs, &ao, &t->opt);
  if (st == HATCH_OK && trainer_on_device(t)) st = trainer_device_optim_init(t);
  return st;
}

hatch_status trainer_model_create(hatch_trainer *t, hatch_train_model **out) {
  hatch_train_limits lim = {.max_images = HATCH_SAMPLE_MAX_IMAGES,
                            .max_image_pixels = (int64_t)t->o->image_size * t->o->image_size,
                            .max_tokens = 1024};
  hatch_train_report rep = {""};
  hatch_status st = hatch_train_model_create_on(&t->cfg, &lim, t->o->threads, &t->o->device, out, &rep);
  if (st != HATCH_OK) return trainer_fail(t, st, "model: %s", rep.message);
  return HATCH_OK;
}

/* --mrope-section: replaces the LLM's mRoPE sections of the preset or the --init file, validated like a
 * loaded config (each >= 1, summing to head_dim / 2). */
static hatch_status apply_mrope_section(hatch_trainer *t) {
  const int *s = t->o->mrope_section;
  if (!s[0] && !s[1] && !s[2]) return HATCH_OK;
  for (int i = 0; i < 3; i++) t->cfg.text.mrope_section[i] = s[i];
  hatch_config_report rep;
  hatch_status st = hatch_qwen25vl_config_validate(&t->cfg, "--mrope-section", &rep);
  return st == HATCH_OK ? st : trainer_fail(t, st, "%s", rep.message);
}

/* On resume: drop the metrics lines of steps after the checkpoint (a run that died past its last
 * checkpoint logged them; the resumed run logs them again). Rewritten beside, then renamed. */
static hatch_status trim_metrics(hatch_trainer *t) {
  const char *path = t->path[PATH_METRICS];
  FILE *in = fopen(path, "r");
  if (!in) return HATCH_OK; /* nothing logged yet */
  char tmp[1100], line[8192];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  FILE *out = fopen(tmp, "w");
  if (!out) {
    fclose(in);
    return trainer_fail(t, HATCH_ERR_IO, "%s: cannot write", tmp);
  }
  while (fgets(line, sizeof line, in)) {
    cJSON *js = cJSON_Parse(line);
    const cJSON *step = cJSON_GetObjectItemCaseSensitive(js, "step");
    bool later = cJSON_IsNumber(step) && step->valuedouble > (double)t->global_step;
    cJSON_Delete(js);
    if (!later) fputs(line, out);
  }
  fclose(in);
  if (fclose(out) != 0 || rename(tmp, path) != 0) return trainer_fail(t, HATCH_ERR_IO, "%s: cannot rewrite", path);
  return HATCH_OK;
}

static hatch_status setup(hatch_trainer *t) {
  const hatch_trainer_options *o = t->o;
  hatch_status st;
  if (o->batch < 1 || o->batch > HATCH_TRAINER_MAX_BATCH || o->grpo_group < 2 || o->grpo_group > HATCH_TRAINER_MAX_GROUP ||
      o->image_size < 56 || o->image_size % 28 || o->eval_samples < 1 || o->n_stages < 1)
    return trainer_fail(t, HATCH_ERR_INVALID_ARGUMENT,
                        "options: batch 1..%d, grpo group 2..%d, image size a multiple of 28 >= 56, eval samples >= 1 "
                        "and at least one stage (got %d, %d, %d, %d, %d)",
                        HATCH_TRAINER_MAX_BATCH, HATCH_TRAINER_MAX_GROUP, o->batch, o->grpo_group, o->image_size,
                        o->eval_samples, o->n_stages);
  if (!(o->cell_words >= 0 && o->cell_words <= 100))
    return trainer_fail(t, HATCH_ERR_INVALID_ARGUMENT, "options: --cell-words %g is outside 0..100", o->cell_words);
  if (o->cell_words_stages & ~HATCH_CELL_WORDS_STAGES)
    return trainer_fail(t, HATCH_ERR_INVALID_ARGUMENT, "options: --cell-words-stages names a stage without a vision SFT step (0x%x)",
                        o->cell_words_stages);
  if (o->cell_side || o->cell_words_stages) { /* options that would change nothing are refused, not ignored */
    bool used = false;
    for (int i = 0; i < o->n_stages; i++) used |= trainer_cell_words_stages(o) >> o->stages[i].stage & 1u;
    if (!used || o->cell_words == 0)
      return trainer_fail(t, HATCH_ERR_INVALID_ARGUMENT, "options: --cell-side / --cell-words-stages do nothing here: %s",
                          o->cell_words == 0 ? "--cell-words is 0" : "no stage of --stages has the word-grounded vision loss");
  }
  if (mkdir(o->out_dir, 0755) != 0 && errno != EEXIST)
    return trainer_fail(t, HATCH_ERR_IO, "%s: cannot create the run directory: %s", o->out_dir, strerror(errno));
  const char *names[4] = {"checkpoint.bin", "metrics.jsonl", "model-f32.gguf", ".rollout-f32.gguf"};
  for (int i = 0; i < 4; i++) snprintf(t->path[i], sizeof t->path[i], "%s/%s", o->out_dir, names[i]);
  if (t->rank > 0) /* each rank draws its rollouts from its own export */
    snprintf(t->path[PATH_ROLLOUT], sizeof t->path[PATH_ROLLOUT], "%s/.rollout-f32.rank%d.gguf", o->out_dir, t->rank);
  hatch_tokenizer_error te = {""};
  if (!o->tokenizer_path) return trainer_fail(t, HATCH_ERR_INVALID_ARGUMENT, "no tokenizer (--tokenizer tokenizer.json)");
  if ((st = hatch_tokenizer_load_json(o->tokenizer_path, &t->tok, &te)) != HATCH_OK)
    return trainer_fail(t, st, "%s: %s", o->tokenizer_path, te.message);
  hatch_train_report rep = {""};
  char why[256] = "";
  if (o->init_gguf) {
    if ((st = hatch_train_config_from_gguf(o->init_gguf, &t->cfg, &rep)) != HATCH_OK)
      return trainer_fail(t, st, "%s: %s", o->init_gguf, rep.message);
    if ((st = apply_mrope_section(t)) != HATCH_OK) return st;
    if ((st = trainer_model_create(t, &t->model)) != HATCH_OK) return st;
    if ((st = hatch_train_model_load_gguf(t->model, o->init_gguf, &rep)) != HATCH_OK)
      return trainer_fail(t, st, "%s: %s", o->init_gguf, rep.message);
  } else {
    if ((st = hatch_trainer_preset_config(o->preset, t->tok, &t->cfg, why)) != HATCH_OK) return trainer_fail(t, st, "%s", why);
    if ((st = apply_mrope_section(t)) != HATCH_OK) return st;
    if ((st = trainer_model_create(t, &t->model)) != HATCH_OK) return st;
    hatch_train_model_init_random(t->model, o->seed);
  }
  t->n_descs = hatch_train_model_n_tensors(t->model);
  if (!(t->descs = calloc((size_t)t->n_descs, sizeof *t->descs))) return HATCH_ERR_OUT_OF_MEMORY;
  for (int i = 0; i < t->n_descs; i++) {
    const hatch_train_tensor *tt = hatch_train_model_tensor(t->model, i);
    t->descs[i] = (hatch_param_desc){tt->name, tt->offset, tt->count, tt->n_dims, tt->matrix};
  }
  if ((st = hatch_backend_create_cpu(NULL, &t->cpu)) != HATCH_OK) return trainer_fail(t, st, "CPU backend");
  if (o->data_jsonl) {
    hatch_data_report dr = {0};
    if ((st = hatch_mindcube_reader_open(o->data_jsonl, NULL, &t->jsonl, &dr)) != HATCH_OK)
      return trainer_fail(t, st, "%s", dr.message);
  }
  if (o->rgbd_manifest) {
    hatch_data_report dr = {0};
    if ((st = hatch_rgbd_reader_open(o->rgbd_manifest, NULL, &t->rgbd, &dr)) != HATCH_OK)
      return trainer_fail(t, st, "%s", dr.message);
  }
  if ((st = new_optimizer(t)) != HATCH_OK) return trainer_fail(t, st, "optimizer");
  if (o->resume && (st = trainer_checkpoint_read(t)) != HATCH_OK) return st;
  if (t->rank > 0) return HATCH_OK; /* rank 0 alone writes the run's files */
  if (o->resume && (st = trim_metrics(t)) != HATCH_OK) return st;
  if ((st = hatch_metrics_open(t->path[PATH_METRICS], o->resume, &t->metrics)) != HATCH_OK)
    return trainer_fail(t, st, "%s: cannot open the metrics log", t->path[PATH_METRICS]);
  return HATCH_OK;
}

static void teardown(hatch_trainer *t) {
  hatch_metrics_close(t->metrics);
  hatch_adamw_destroy(t->opt);
  trainer_device_optim_free(t);
  hatch_train_model_destroy(t->ref);
  hatch_train_model_destroy(t->model);
  hatch_tokenizer_destroy(t->tok);
  hatch_mindcube_reader_close(t->jsonl);
  hatch_rgbd_reader_close(t->rgbd);
  hatch_backend_destroy(t->cpu);
  free(t->descs);
  remove(t->path[PATH_ROLLOUT]);
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static float stage_lr(const hatch_trainer *t, const hatch_stage_plan *sp) {
  hatch_lr_schedule s = {.max_lr = sp->lr, .min_lr = sp->lr * t->o->min_lr_ratio,
                         .warmup_steps = t->o->warmup_steps < sp->steps ? t->o->warmup_steps : 0,
                         .total_steps = sp->steps};
  return hatch_lr_at(&s, t->stage_step);
}

static hatch_status run_step(hatch_trainer *t, const hatch_stage_plan *sp) {
  trainer_step_metrics sm = {0};
  double t0 = now_s();
  hatch_train_model_zero_grads(t->model);
  hatch_train_flops f0 = hatch_train_model_flops(t->model);
  hatch_status st;
  switch (sp->stage) {
  case HATCH_STAGE_PASTA: st = stage_pasta_step(t, t->stage_step, &sm); break;
  case HATCH_STAGE_QA:
  case HATCH_STAGE_GROUND:
  case HATCH_STAGE_CAPTION: st = stage_sft_step(t, HATCH_TARGET_ANSWER, t->stage_step, &sm); break;
  case HATCH_STAGE_ACTOR: st = stage_sft_step(t, HATCH_TARGET_ACTION, t->stage_step, &sm); break;
  default: st = stage_grpo_step(t, t->stage_step, &sm); break;
  }
  if (st == HATCH_OK) st = trainer_reduce_grads(t);
  if (st != HATCH_OK) return st;
  if (!isfinite(sm.loss))
    return trainer_fail(t, HATCH_ERR_CORRUPT, "step %lld (%s): the loss is %g: stopping (never a step on NaN)",
                        (long long)t->global_step, hatch_stage_name(sp->stage), sm.loss);
  float lr = stage_lr(t, sp), norm = 0;
  if ((st = trainer_optimizer_step(t, lr, sp->stage == HATCH_STAGE_PASTA, &norm)) != HATCH_OK) return st;
  hatch_train_flops f1 = hatch_train_model_flops(t->model);
  double flops = (double)(f1.total - f0.total); /* every rank's: the run's throughput */
  if ((st = trainer_reduce_f64(t, &flops, 1)) != HATCH_OK) return st;
  double dt = now_s() - t0;
  trainer_metric(&sm, "lr", lr);
  trainer_metric(&sm, "grad_norm", norm);
  trainer_metric(&sm, "step_s", dt);
  trainer_metric(&sm, "gflops", flops / dt / 1e9);
  hatch_metric all[20];
  int n = 0;
  all[n++] = (hatch_metric){"stage", 0, hatch_stage_name(sp->stage)};
  all[n++] = (hatch_metric){"loss", sm.loss, NULL};
  for (int i = 0; i < sm.n; i++) all[n++] = sm.m[i];
  t->stage_step++;
  t->global_step++;
  if (t->rank == 0 && (st = hatch_metrics_log(t->metrics, t->global_step, all, n)) != HATCH_OK)
    return trainer_fail(t, st, "%s: cannot append", t->path[PATH_METRICS]);
  return HATCH_OK;
}

static hatch_status log_eval(hatch_trainer *t) {
  trainer_step_metrics sm = {0};
  hatch_status st = trainer_eval(t, t->o->eval_samples, &sm);
  if (st != HATCH_OK) return st;
  hatch_metric all[17];
  int n = 0;
  all[n++] = (hatch_metric){"stage", 0, "eval"};
  for (int i = 0; i < sm.n; i++) all[n++] = sm.m[i];
  return hatch_metrics_log(t->metrics, t->global_step, all, n);
}

hatch_status trainer_run_rank(hatch_trainer *t) {
  const hatch_trainer_options *o = t->o;
  bool lead = t->rank == 0; /* writes metrics, checkpoints and exports; runs the held-out evals */
  t->report->message[0] = 0;
  hatch_status st = setup(t);
  /* Every rank set up (a resume has read the checkpoint) before rank 0 may write one. */
  if (st == HATCH_OK && t->comm) st = trainer_comm_barrier(t->comm);
  int64_t total = 0;
  for (int i = 0; i < o->n_stages; i++) total += o->stages[i].steps;
  hatch_progress *bar = NULL;
  if (st == HATCH_OK && !o->quiet && lead) hatch_progress_create(stderr, "train", t->global_step, total, 30, &bar);
  while (st == HATCH_OK && t->stage_index < o->n_stages) {
    const hatch_stage_plan *sp = &o->stages[t->stage_index];
    if (sp->stage == HATCH_STAGE_GRPO && o->grpo.kl_beta > 0 && !t->ref) {
      /* The reference policy: the weights GRPO starts from. */
      st = trainer_model_create(t, &t->ref);
      if (st == HATCH_OK) st = hatch_train_model_pull(t->model);
      if (st == HATCH_OK) {
        memcpy(hatch_train_model_params(t->ref), hatch_train_model_params(t->model),
               sizeof(float) * (size_t)hatch_train_model_n_params(t->model));
        st = hatch_train_model_push(t->ref);
      }
      if (st != HATCH_OK) break;
    }
    while (st == HATCH_OK && t->stage_step < sp->steps) {
      if ((st = run_step(t, sp)) != HATCH_OK) break;
      if (bar) hatch_progress_update(bar, t->global_step - 1, NAN);
      if (lead && o->eval_every > 0 && t->global_step % o->eval_every == 0 && (st = log_eval(t)) != HATCH_OK) break;
      if (lead && o->checkpoint_every > 0 && t->global_step % o->checkpoint_every == 0 &&
          (st = trainer_checkpoint_write(t)) != HATCH_OK)
        break;
      if (o->stop_after > 0 && t->global_step >= o->stop_after) goto stopped;
    }
    if (st != HATCH_OK) break;
    t->stage_index++;
    t->stage_step = 0;
    if ((st = new_optimizer(t)) != HATCH_OK) trainer_fail(t, st, "optimizer");
  }
stopped:
  if (bar) hatch_progress_finish(bar);
  hatch_progress_destroy(bar);
  if (st == HATCH_OK && lead) st = trainer_checkpoint_write(t);
  if (st == HATCH_OK && lead && t->stage_index >= o->n_stages) st = trainer_save_gguf(t, t->path[PATH_EXPORT], HATCH_TYPE_F32);
  if (st != HATCH_OK) trainer_comm_abort(t->comm, t->rank, st); /* no rank waits for this one */
  teardown(t);
  return st;
}

hatch_status hatch_trainer_run(const hatch_trainer_options *o, hatch_trainer_report *report) {
  if (o->ranks != 1) return trainer_run_ranks(o, report);
  hatch_trainer tr = {.o = o, .report = report, .rank = 0, .n_ranks = 1};
  return trainer_run_rank(&tr);
}
