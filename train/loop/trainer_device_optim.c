/* The optimizer step on a device model (the model's backend does not share host memory: CUDA, or
 * the CPU backend with separate memory that tests this path): the arithmetic of train/optim
 * (hatch_grad_check_finite, hatch_grad_clip, hatch_adamw_step) through the backend's ops, with
 * AdamW's moments in backend memory. The host hatch_adamw keeps the step count and, around
 * checkpoints, a copy of the moments. On the CPU backend every op is bitwise its host twin, so a
 * separate-memory run equals a shared-memory run bit for bit (tests/train/test_trainer.c). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/train_model_internal.h"
#include "trainer_internal.h"

bool trainer_is_vision_tensor(const char *name) { return !strncmp(name, "v.", 2) || !strncmp(name, "mm.", 3); }

bool trainer_on_device(const hatch_trainer *t) { return !hatch_train_model_backend(t->model)->host_memory; }

hatch_status trainer_device_optim_init(hatch_trainer *t) {
  train_backend *b = hatch_train_model_backend(t->model);
  size_t bytes = sizeof(float) * (size_t)hatch_train_model_n_params(t->model);
  if (!t->dev_m && !(t->dev_m = b->ops->alloc(b, bytes))) return HATCH_ERR_OUT_OF_MEMORY;
  if (!t->dev_v && !(t->dev_v = b->ops->alloc(b, bytes))) return HATCH_ERR_OUT_OF_MEMORY;
  b->ops->zero(b, t->dev_m, hatch_train_model_n_params(t->model));
  b->ops->zero(b, t->dev_v, hatch_train_model_n_params(t->model));
  return HATCH_OK;
}

void trainer_device_optim_free(hatch_trainer *t) {
  if (!t->model) return;
  train_backend *b = hatch_train_model_backend(t->model);
  b->ops->free(b, t->dev_m);
  b->ops->free(b, t->dev_v);
  t->dev_m = t->dev_v = NULL;
}

hatch_status trainer_device_optim_pull(hatch_trainer *t) {
  train_backend *b = hatch_train_model_backend(t->model);
  size_t bytes = sizeof(float) * (size_t)hatch_train_model_n_params(t->model);
  hatch_status st = hatch_train_model_pull(t->model);
  if (st == HATCH_OK) st = b->ops->download(b, hatch_adamw_m(t->opt), t->dev_m, bytes);
  if (st == HATCH_OK) st = b->ops->download(b, hatch_adamw_v(t->opt), t->dev_v, bytes);
  return st;
}

hatch_status trainer_device_optim_push(hatch_trainer *t) {
  train_backend *b = hatch_train_model_backend(t->model);
  size_t bytes = sizeof(float) * (size_t)hatch_train_model_n_params(t->model);
  hatch_status st = hatch_train_model_push(t->model);
  if (st == HATCH_OK) st = b->ops->upload(b, t->dev_m, hatch_adamw_m(t->opt), bytes);
  if (st == HATCH_OK) st = b->ops->upload(b, t->dev_v, hatch_adamw_v(t->opt), bytes);
  return st;
}

/* Frozen text (PaStA): the LLM's tensors are skipped (their gradients are zero by construction;
 * neither weight decay nor moments may move them). The host path updates their moments with zero
 * gradients and restores the weights; the moments differ, the weights do not, and a new stage starts
 * new moments. */
hatch_status trainer_device_optimizer_step(hatch_trainer *t, float lr, bool frozen_text, float *grad_norm) {
  train_backend *b = hatch_train_model_backend(t->model);
  float *p = hatch_train_model_backend_params(t->model), *g = hatch_train_model_backend_grads(t->model);
  int64_t n = hatch_train_model_n_params(t->model);
  if (frozen_text)
    for (int i = 0; i < t->n_descs; i++)
      if (!trainer_is_vision_tensor(t->descs[i].name)) b->ops->zero(b, g + t->descs[i].offset, t->descs[i].n_elems);
  double sum = 0;
  int64_t bad = 0;
  hatch_status st = b->ops->sum_squares(b, g, n, &sum, &bad);
  if (st != HATCH_OK) return trainer_fail(t, st, "step %lld: the %s backend failed", (long long)t->global_step, b->ops->name);
  if (bad > 0) { /* name the first bad element as the host path does */
    hatch_optim_report orep = {"", -1};
    if ((st = hatch_train_model_pull(t->model)) == HATCH_OK)
      st = hatch_grad_check_finite(hatch_train_model_grads(t->model), n, t->descs, t->n_descs, &orep);
    return trainer_fail(t, st != HATCH_OK ? st : HATCH_ERR_CORRUPT, "step %lld: %s: stopping (never a step on NaN)",
                        (long long)t->global_step, orep.message[0] ? orep.message : "a gradient is not finite");
  }
  double norm = sqrt(sum);
  *grad_norm = (float)norm;
  if (!isfinite(norm)) return trainer_fail(t, HATCH_ERR_CORRUPT, "step %lld: gradient norm is not finite", (long long)t->global_step);
  if (t->o->grad_clip > 0) { /* torch's clip_grad_norm_, as hatch_grad_clip */
    float coef = t->o->grad_clip / ((float)norm + 1e-6f);
    if (coef < 1.0f) b->ops->scale(b, g, coef, n);
  }
  /* AdamW's scalars exactly as hatch_adamw_step derives them. */
  int64_t step = hatch_adamw_step_count(t->opt) + 1;
  const hatch_adamw_options *ao = &t->adam_options;
  double bc1 = 1.0 - pow((double)ao->beta1, (double)step), bc2 = 1.0 - pow((double)ao->beta2, (double)step);
  float step_size = (float)((double)lr / bc1), bc2_sqrt = (float)sqrt(bc2);
  float decay_mul = (float)(1.0 - (double)lr * (double)ao->weight_decay);
  for (int i = 0; i < t->n_descs; i++) {
    const hatch_param_desc *d = &t->descs[i];
    if (frozen_text && !trainer_is_vision_tensor(d->name)) continue;
    int64_t o = d->offset;
    b->ops->adamw(b, p + o, g + o, t->dev_m + o, t->dev_v + o, d->n_elems, d->decay ? decay_mul : 1.0f, ao->beta1,
                  ao->beta2, step_size, bc2_sqrt, ao->eps);
  }
  if ((st = b->ops->sync(b)) != HATCH_OK)
    return trainer_fail(t, st, "step %lld: the %s backend failed in the optimizer", (long long)t->global_step, b->ops->name);
  return hatch_adamw_set_step_count(t->opt, step);
}
