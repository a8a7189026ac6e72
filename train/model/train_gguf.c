/* hatch_train_model <-> GGUF: the config through the runtime's loader, tensors checked by name and
 * shape and dequantized into the flat host params (then pushed to the backend), and writing through
 * hatch_qwen25vl_write_gguf with a row source over the backend's flat params (the layout is the
 * writer's tensor list, so rows copy straight). */
#include <stdlib.h>
#include <string.h>

#include "hatch/backend.h"
#include "hatch/model.h"
#include "model/train_model_internal.h"

hatch_status hatch_train_config_from_gguf(const char *path, hatch_qwen25vl_config *cfg, hatch_train_report *report) {
  if (report) report->message[0] = 0;
  if (!path || !cfg) return train_fail(report, HATCH_ERR_INVALID_ARGUMENT, "%s", "NULL argument");
  hatch_cpu_options co = {.n_threads = 1};
  hatch_backend *be = NULL;
  hatch_status st = hatch_backend_create_cpu(&co, &be);
  if (st != HATCH_OK) return train_fail(report, st, "%s", "cannot create a CPU backend");
  /* The runtime's loader is the one reader of llama.cpp's keys; it uploads the weights too (a
   * temporary copy), which is the price of not keeping a second config parser. */
  hatch_model_options mo = {.max_context = 8};
  hatch_model *model = NULL;
  hatch_model_report mr = {{0}};
  st = hatch_model_load(be, path, NULL, &mo, &model, &mr);
  if (st == HATCH_OK) *cfg = *hatch_model_config(model);
  else if (report) snprintf(report->message, sizeof report->message, "%s", mr.message);
  hatch_model_destroy(model);
  hatch_backend_destroy(be);
  return st;
}

static float bf16_to_f32(uint16_t h) {
  uint32_t bits = (uint32_t)h << 16;
  float f;
  memcpy(&f, &bits, 4);
  return f;
}

/* Row r of a GGUF tensor (row_len stored elements) as n floats (n <= row_len: Q8_0 pad dropped). */
static hatch_status row_to_f32(const hatch_gguf_tensor *t, int64_t r, int64_t row_len, int64_t n, float *out) {
  const uint8_t *p = t->data;
  switch (t->type) {
  case HATCH_GGML_TYPE_F32: memcpy(out, p + (size_t)(r * row_len) * 4, sizeof(float) * (size_t)n); return HATCH_OK;
  case HATCH_GGML_TYPE_F16:
  case HATCH_GGML_TYPE_BF16:
    for (int64_t i = 0; i < n; i++) {
      uint16_t h;
      memcpy(&h, p + (size_t)(r * row_len + i) * 2, 2);
      out[i] = t->type == HATCH_GGML_TYPE_F16 ? hatch_fp16_to_fp32(h) : bf16_to_f32(h);
    }
    return HATCH_OK;
  case HATCH_GGML_TYPE_Q8_0: {
    int64_t blocks = row_len / 32;
    for (int64_t k = 0; k * 32 < n; k++) {
      hatch_block_q8_0 b;
      float tmp[32];
      memcpy(&b, p + (size_t)(r * blocks + k) * sizeof b, sizeof b);
      hatch_dequantize_row_q8_0(&b, tmp, 32);
      memcpy(out + k * 32, tmp, sizeof(float) * (size_t)(n - k * 32 < 32 ? n - k * 32 : 32));
    }
    return HATCH_OK;
  }
  default: return HATCH_ERR_TYPE;
  }
}

static hatch_status load_tensor(hatch_train_model *m, const hatch_gguf *g, const hatch_train_tensor *t,
                                hatch_train_report *report) {
  const hatch_gguf_tensor *gt = hatch_gguf_find_tensor(g, t->name);
  if (!gt) return train_fail(report, HATCH_ERR_NOT_FOUND, "missing tensor '%s'", t->name);
  bool q8_padded = gt->type == HATCH_GGML_TYPE_Q8_0 && gt->ne[0] == (t->ne[0] + 31) / 32 * 32;
  bool same = (gt->ne[0] == t->ne[0] || q8_padded) && gt->ne[1] == t->ne[1] && gt->ne[2] == t->ne[2] && gt->ne[3] == t->ne[3];
  if (!same) {
    if (report)
      snprintf(report->message, sizeof report->message, "tensor '%s' has shape (%lld, %lld, %lld, %lld), expected (%lld, %lld, %lld, %lld)",
               t->name, (long long)gt->ne[0], (long long)gt->ne[1], (long long)gt->ne[2], (long long)gt->ne[3],
               (long long)t->ne[0], (long long)t->ne[1], (long long)t->ne[2], (long long)t->ne[3]);
    return HATCH_ERR_SHAPE;
  }
  if (gt->type != HATCH_GGML_TYPE_F32 && gt->type != HATCH_GGML_TYPE_F16 && gt->type != HATCH_GGML_TYPE_BF16 &&
      gt->type != HATCH_GGML_TYPE_Q8_0) {
    if (report)
      snprintf(report->message, sizeof report->message, "tensor '%s' has type %s, which the trainer cannot load", t->name,
               hatch_ggml_type_name(gt->type));
    return HATCH_ERR_TYPE;
  }
  int64_t rows = t->count / t->ne[0];
  float *dst = m->host_params + t->offset;
  for (int64_t r = 0; r < rows; r++) {
    hatch_status st = row_to_f32(gt, r, gt->ne[0], t->ne[0], dst + r * t->ne[0]);
    if (st != HATCH_OK) return train_fail(report, st, "tensor '%s': cannot convert", t->name);
  }
  return HATCH_OK;
}

hatch_status hatch_train_model_load_gguf(hatch_train_model *m, const char *path, hatch_train_report *report) {
  if (report) report->message[0] = 0;
  if (!m || !path) return train_fail(report, HATCH_ERR_INVALID_ARGUMENT, "%s", "NULL argument");
  hatch_gguf *g = NULL;
  hatch_gguf_report gr;
  memset(&gr, 0, sizeof gr);
  hatch_status st = hatch_gguf_open(path, &g, &gr);
  if (st != HATCH_OK) return train_fail(report, st, "%s", gr.message);
  for (int i = 0; i < m->n_tensors && st == HATCH_OK; i++) st = load_tensor(m, g, &m->tensors[i], report);
  /* A tensor the config does not know (output.weight in a file of a tied model...) would be dropped
   * silently: refuse it. */
  for (int64_t i = 0; i < hatch_gguf_tensor_count(g) && st == HATCH_OK; i++) {
    const hatch_gguf_tensor *gt = hatch_gguf_tensor_at(g, i);
    if (!hatch_train_model_find(m, gt->name))
      st = train_fail(report, HATCH_ERR_SHAPE, "tensor '%s' is not part of the model's config", gt->name);
  }
  hatch_gguf_close(g);
  if (st == HATCH_OK && (st = train_push_params(m)) != HATCH_OK) train_fail(report, st, "%s", "cannot upload the params");
  if (st != HATCH_OK && report) {
    char msg[sizeof report->message];
    snprintf(msg, sizeof msg, "%s", report->message);
    snprintf(report->message, sizeof report->message, "%.200s: %.300s", path, msg);
  }
  return st;
}

hatch_status hatch_train_model_open(const char *path, const hatch_train_limits *limits, int n_threads,
                                    hatch_train_model **out, hatch_train_report *report) {
  if (!out) return train_fail(report, HATCH_ERR_INVALID_ARGUMENT, "%s", "NULL argument");
  *out = NULL;
  hatch_qwen25vl_config cfg;
  hatch_status st = hatch_train_config_from_gguf(path, &cfg, report);
  if (st != HATCH_OK) return st;
  hatch_train_model *m = NULL;
  if ((st = hatch_train_model_create(&cfg, limits, n_threads, &m, report)) != HATCH_OK) return st;
  if ((st = hatch_train_model_load_gguf(m, path, report)) != HATCH_OK) {
    hatch_train_model_destroy(m);
    return st;
  }
  *out = m;
  return HATCH_OK;
}

typedef struct row_source {
  const hatch_train_model *m;
  int last; /* the writer asks tensor by tensor: the previous hit is the likely one */
} row_source;

static hatch_status param_rows(void *user, const hatch_qwen25vl_tensor_spec *spec, int64_t row0, int64_t n_rows,
                               float *out) {
  row_source *s = user;
  const hatch_train_model *m = s->m;
  const hatch_train_tensor *t = NULL;
  for (int k = 0; k < m->n_tensors && !t; k++) {
    int i = (s->last + k) % m->n_tensors;
    if (!strcmp(m->tensors[i].name, spec->name)) t = &m->tensors[i], s->last = i;
  }
  if (!t || t->ne[0] != spec->ne[0] || (row0 + n_rows) * t->ne[0] > t->count) return HATCH_ERR_INVALID_ARGUMENT;
  return m->b->ops->download(m->b, out, m->params + t->offset + row0 * t->ne[0],
                             sizeof(float) * (size_t)(n_rows * t->ne[0]));
}

hatch_status hatch_train_model_save_gguf(const hatch_train_model *m, const char *path,
                                         const hatch_qwen25vl_write_options *opt, hatch_train_report *report) {
  if (report) report->message[0] = 0;
  if (!m || !path || !opt) return train_fail(report, HATCH_ERR_INVALID_ARGUMENT, "%s", "NULL argument");
  row_source src = {m, 0};
  hatch_gguf_report gr;
  memset(&gr, 0, sizeof gr);
  hatch_status st = hatch_qwen25vl_write_gguf(path, &m->cfg, opt, param_rows, &src, &gr);
  if (st != HATCH_OK) train_fail(report, st, "%s", gr.message[0] ? gr.message : hatch_status_message(st));
  return st;
}
