/* Trainer checkpoints: params, the current stage's AdamW moments and step count, the reference
 * policy (GRPO with KL), and the position in the stage list; a resume continues bit-identically
 * (data batches are a pure function of seed, stage and step). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "trainer_internal.h"

hatch_status trainer_checkpoint_write(hatch_trainer *t) {
  int64_t n = hatch_train_model_n_params(t->model);
  hatch_ckpt_writer *w = NULL;
  hatch_status st = trainer_on_device(t) ? trainer_device_optim_pull(t) : HATCH_OK;
  if (st == HATCH_OK && t->ref) st = hatch_train_model_pull(t->ref);
  if (st != HATCH_OK) return trainer_fail(t, st, "checkpoint: reading the weights back from the device");
  st = hatch_ckpt_writer_create(&w);
  char state[600];
  const int32_t *mr = t->cfg.text.mrope_section;
  snprintf(state, sizeof state,
           "{\"global_step\":%lld,\"stage_index\":%d,\"stage_step\":%lld,\"adam_t\":%lld,\"jsonl_consumed\":%lld,"
           "\"rgbd_consumed\":%lld,\"seed\":\"%016llx\",\"n_stages\":%d,\"mrope_section\":[%d,%d,%d]}",
           (long long)t->global_step, t->stage_index, (long long)t->stage_step,
           (long long)hatch_adamw_step_count(t->opt), (long long)t->jsonl_consumed, (long long)t->rgbd_consumed, (unsigned long long)t->o->seed,
           t->o->n_stages, mr[0], mr[1], mr[2]);
  size_t bytes = sizeof(float) * (size_t)n;
  if (st == HATCH_OK) st = hatch_ckpt_writer_add_layout(w, n, t->descs, t->n_descs);
  if (st == HATCH_OK) st = hatch_ckpt_writer_add_copy(w, "state", HATCH_CKPT_JSON, state, strlen(state));
  if (st == HATCH_OK) st = hatch_ckpt_writer_add(w, "params", HATCH_CKPT_F32, hatch_train_model_params(t->model), bytes);
  if (st == HATCH_OK) st = hatch_ckpt_writer_add(w, "adam.m", HATCH_CKPT_F32, hatch_adamw_m(t->opt), bytes);
  if (st == HATCH_OK) st = hatch_ckpt_writer_add(w, "adam.v", HATCH_CKPT_F32, hatch_adamw_v(t->opt), bytes);
  if (st == HATCH_OK && t->ref) st = hatch_ckpt_writer_add(w, "ref.params", HATCH_CKPT_F32, hatch_train_model_params(t->ref), bytes);
  hatch_ckpt_report rep = {"", 0};
  if (st == HATCH_OK) st = hatch_ckpt_writer_write(w, t->path[PATH_CKPT], &rep);
  hatch_ckpt_writer_destroy(w);
  if (st != HATCH_OK) return trainer_fail(t, st, "%s: %s", t->path[PATH_CKPT], rep.message);
  return HATCH_OK;
}

static bool json_int(const cJSON *o, const char *key, long long *out) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
  if (!cJSON_IsNumber(v)) return false;
  *out = (long long)v->valuedouble;
  return true;
}

hatch_status trainer_checkpoint_read(hatch_trainer *t) {
  hatch_ckpt *c = NULL;
  hatch_ckpt_report rep = {"", 0};
  const char *path = t->path[PATH_CKPT];
  hatch_status st = hatch_ckpt_open(path, &c, &rep);
  if (st != HATCH_OK) return trainer_fail(t, st, "resume: %s", rep.message);
  int64_t n = hatch_train_model_n_params(t->model);
  char *state = NULL;
  cJSON *js = NULL;
  long long gs, si, ss, at, jc, ns;
  char seed_hex[17];
  if ((st = hatch_ckpt_check_layout(c, n, t->descs, t->n_descs, &rep)) != HATCH_OK) goto fail;
  if ((st = hatch_ckpt_read_f32(c, "params", hatch_train_model_params(t->model), n, &rep)) != HATCH_OK) goto fail;
  if ((st = hatch_ckpt_read_json(c, "state", &state, &rep)) != HATCH_OK) goto fail;
  js = cJSON_Parse(state);
  if (!js || !json_int(js, "global_step", &gs) || !json_int(js, "stage_index", &si) || !json_int(js, "stage_step", &ss) ||
      !json_int(js, "adam_t", &at) || !json_int(js, "jsonl_consumed", &jc) || !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(js, "seed")) ||
      !json_int(js, "n_stages", &ns)) {
    st = HATCH_ERR_CORRUPT;
    snprintf(rep.message, sizeof rep.message, "%s: section 'state' lacks a field", path);
    goto fail;
  }
  snprintf(seed_hex, sizeof seed_hex, "%016llx", (unsigned long long)t->o->seed);
  /* The seed as hex text: a JSON number would lose bits past 2^53. */
  if (strcmp(cJSON_GetObjectItemCaseSensitive(js, "seed")->valuestring, seed_hex) != 0) {
    st = HATCH_ERR_INVALID_ARGUMENT;
    snprintf(rep.message, sizeof rep.message, "%s: written with seed 0x%s, this run has --seed %llu", path,
             cJSON_GetObjectItemCaseSensitive(js, "seed")->valuestring, (unsigned long long)t->o->seed);
    goto fail;
  }
  /* The model's mRoPE sections (--mrope-section) must be the ones it trained with; older checkpoints
   * lack the field. */
  const cJSON *ms = cJSON_GetObjectItemCaseSensitive(js, "mrope_section");
  const int32_t *sec = t->cfg.text.mrope_section;
  if (ms && (cJSON_GetArraySize(ms) != 3 || cJSON_GetArrayItem(ms, 0)->valuedouble != sec[0] ||
             cJSON_GetArrayItem(ms, 1)->valuedouble != sec[1] || cJSON_GetArrayItem(ms, 2)->valuedouble != sec[2])) {
    st = HATCH_ERR_INVALID_ARGUMENT;
    snprintf(rep.message, sizeof rep.message, "%s: written with other mRoPE sections than this run's %d,%d,%d (--mrope-section)",
             path, sec[0], sec[1], sec[2]);
    goto fail;
  }
  if (ns != t->o->n_stages || si > ns || ss < 0 || (si < ns && ss > t->o->stages[si].steps)) {
    st = HATCH_ERR_INVALID_ARGUMENT;
    snprintf(rep.message, sizeof rep.message, "%s: stage %lld step %lld does not fit this run's --stages", path, si, ss);
    goto fail;
  }
  if ((st = hatch_ckpt_read_f32(c, "adam.m", hatch_adamw_m(t->opt), n, &rep)) != HATCH_OK) goto fail;
  if ((st = hatch_ckpt_read_f32(c, "adam.v", hatch_adamw_v(t->opt), n, &rep)) != HATCH_OK) goto fail;
  if ((st = hatch_adamw_set_step_count(t->opt, at)) != HATCH_OK) goto fail;
  if (hatch_ckpt_find(c, "ref.params")) {
    hatch_train_report mr = {""};
    hatch_train_limits lim = *hatch_train_model_limits(t->model);
    if ((st = hatch_train_model_create_on(&t->cfg, &lim, t->o->threads, &t->o->device, &t->ref, &mr)) != HATCH_OK) {
      snprintf(rep.message, sizeof rep.message, "%s", mr.message);
      goto fail;
    }
    if ((st = hatch_ckpt_read_f32(c, "ref.params", hatch_train_model_params(t->ref), n, &rep)) != HATCH_OK) goto fail;
    if ((st = hatch_train_model_push(t->ref)) != HATCH_OK) goto fail;
  }
  if (trainer_on_device(t) && (st = trainer_device_optim_push(t)) != HATCH_OK) {
    snprintf(rep.message, sizeof rep.message, "cannot upload the weights and moments to the device");
    goto fail;
  }
  t->global_step = gs, t->stage_index = (int)si, t->stage_step = ss;
  /* The JSONL cursor: skip what the run had consumed. */
  for (long long k = 0; t->jsonl && k < jc; k++) {
    hatch_train_sample s = {0};
    hatch_data_report dr = {0};
    hatch_data_step step = hatch_mindcube_reader_next(t->jsonl, &s, &dr);
    hatch_train_sample_clear(&s);
    if (step == HATCH_DATA_END || step == HATCH_DATA_FAILED) break;
  }
  t->jsonl_consumed = jc;
  /* The manifest's cursor likewise (absent in checkpoints of runs before --rgbd: 0). */
  long long rc = 0;
  json_int(js, "rgbd_consumed", &rc);
  for (long long k = 0; t->rgbd && k < rc; k++) {
    hatch_train_sample s = {0};
    hatch_data_report dr = {0};
    hatch_data_step step = hatch_rgbd_reader_next(t->rgbd, &s, &dr);
    hatch_train_sample_clear(&s);
    if (step == HATCH_DATA_END || step == HATCH_DATA_FAILED) break;
  }
  t->rgbd_consumed = rc;
  cJSON_Delete(js);
  free(state);
  hatch_ckpt_close(c);
  return HATCH_OK;
fail:
  cJSON_Delete(js);
  free(state);
  hatch_ckpt_close(c);
  return trainer_fail(t, st, "resume from %s: %s", path, rep.message);
}
