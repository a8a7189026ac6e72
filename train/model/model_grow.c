/* Depth growth of a trained model (hatch/train_model.h, hatch_train_model_grow_depth): the LLM gets
 * more decoder blocks, each new one an identity at first. A block computes x + attn(norm(x)) and then
 * x + ffn(norm(x)); with its two output projections (attn_output, ffn_down) zero both branches add
 * exactly 0, so the grown model's logits equal the source's bit for bit. Its other tensors start
 * random (N(0, 0.02), as init_random gives) so that once the output projections move, the rest of the
 * block has gradients to learn from (the zero-initialized residual branch of ReZero / "Fixup"). */
#include <stdio.h>
#include <string.h>

#include "hatch/train_model.h"
#include "model/train_model_internal.h"

/* The LLM block index of a tensor name "blk.N.*", or -1 (vision "v.blk.*" and the rest). */
static int text_block(const char *name) {
  int l = -1, n = 0;
  if (sscanf(name, "blk.%d.%n", &l, &n) == 1 && n > 0) return l;
  return -1;
}

static bool zero_at_start(const char *name) {
  const char *dot = strchr(name + 4, '.'); /* past "blk." and the index */
  return dot && (!strcmp(dot + 1, "attn_output.weight") || !strcmp(dot + 1, "ffn_down.weight"));
}

hatch_status hatch_train_model_grow_depth(const hatch_train_model *src, int n_layers, uint64_t seed,
                                          hatch_train_model **out, hatch_train_report *report) {
  if (report) report->message[0] = 0;
  if (!src || !out) return train_fail(report, HATCH_ERR_INVALID_ARGUMENT, "grow: %s", "NULL model or output");
  *out = NULL;
  hatch_qwen25vl_config cfg = *hatch_train_model_config(src);
  int n_src = cfg.text.num_hidden_layers;
  if (n_layers <= n_src || n_layers > HATCH_TRAIN_MAX_GROWN_LAYERS) {
    char msg[160];
    snprintf(msg, sizeof msg, "%d LLM blocks asked: a grown model needs more than the source's %d and at most %d",
             n_layers, n_src, HATCH_TRAIN_MAX_GROWN_LAYERS);
    return train_fail(report, HATCH_ERR_INVALID_ARGUMENT, "grow: %s", msg);
  }
  cfg.text.num_hidden_layers = n_layers;
  hatch_train_model *dst = NULL;
  hatch_status st = hatch_train_model_create(&cfg, hatch_train_model_limits(src), hatch_train_model_n_threads(src), &dst, report);
  if (st != HATCH_OK) return st;
  hatch_train_model_init_random(dst, seed);
  float *pd = hatch_train_model_params(dst);
  for (int i = 0; i < hatch_train_model_n_tensors(dst) && st == HATCH_OK; i++) {
    const hatch_train_tensor *t = hatch_train_model_tensor(dst, i);
    if (text_block(t->name) >= n_src) { /* a new block: random, but its residual branches add nothing yet */
      if (zero_at_start(t->name)) memset(pd + t->offset, 0, sizeof(float) * (size_t)t->count);
      continue;
    }
    const hatch_train_tensor *s = hatch_train_model_find(src, t->name);
    if (!s || s->count != t->count || memcmp(s->ne, t->ne, sizeof s->ne)) {
      st = train_fail(report, HATCH_ERR_SHAPE, "grow: tensor %s is missing from the source or has another shape", t->name);
    } else { /* the backend's own params, not a host mirror that may be stale (a device model) */
      st = src->b->ops->download(src->b, pd + t->offset, src->params + s->offset, sizeof(float) * (size_t)t->count);
    }
  }
  if (st == HATCH_OK) st = hatch_train_model_push(dst);
  if (st != HATCH_OK) return hatch_train_model_destroy(dst), st;
  *out = dst;
  return HATCH_OK;
}
