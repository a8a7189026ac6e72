/* hatch_train_model lifetime: the backend, the tensor table (hatch_qwen25vl_tensor_specs order) over
 * one flat params buffer and a same-layout grads buffer (backend memory, with host mirrors when the
 * backend is a device), per-layer views, the workspace carved from one backend allocation and the
 * host staging from one host allocation, random init. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model/train_model_internal.h"

/* ---- tensor table ------------------------------------------------------------------------------ */

static hatch_status build_table(hatch_train_model *m) {
  int n = hatch_qwen25vl_tensor_specs(&m->cfg, NULL, 0);
  hatch_qwen25vl_tensor_spec *specs = calloc((size_t)n, sizeof *specs);
  m->tensors = calloc((size_t)n, sizeof *m->tensors);
  if (!specs || !m->tensors) {
    free(specs);
    return HATCH_ERR_OUT_OF_MEMORY;
  }
  hatch_qwen25vl_tensor_specs(&m->cfg, specs, n);
  int64_t off = 0;
  for (int i = 0; i < n; i++) {
    hatch_train_tensor *t = &m->tensors[i];
    snprintf(t->name, sizeof t->name, "%s", specs[i].name);
    t->n_dims = specs[i].n_dims;
    t->count = 1;
    for (int k = 0; k < 4; k++) t->ne[k] = specs[i].ne[k], t->count *= specs[i].ne[k];
    t->matrix = specs[i].matrix;
    t->offset = off;
    off += t->count;
  }
  m->n_tensors = n;
  m->n_params = off;
  free(specs);
  return HATCH_OK;
}

const hatch_train_tensor *hatch_train_model_find(const hatch_train_model *m, const char *name) {
  if (!m || !name) return NULL;
  for (int i = 0; i < m->n_tensors; i++)
    if (!strcmp(m->tensors[i].name, name)) return &m->tensors[i];
  return NULL;
}

static float *view(const hatch_train_model *m, float *base, const char *fmt, int layer) {
  char name[64];
  snprintf(name, sizeof name, fmt, layer);
  const hatch_train_tensor *t = hatch_train_model_find(m, name);
  return t ? base + t->offset : NULL;
}

/* Views of base (params or grads); every tensor exists by construction of the table. */
static hatch_status bind(hatch_train_model *m, float *base, train_weights *w) {
  const hatch_qwen25vl_config *c = &m->cfg;
  w->v = calloc((size_t)c->vision.depth, sizeof *w->v);
  w->t = calloc((size_t)c->text.num_hidden_layers, sizeof *w->t);
  if (!w->v || !w->t) return HATCH_ERR_OUT_OF_MEMORY;
  w->tok_embd = view(m, base, "token_embd.weight", 0);
  w->output_norm = view(m, base, "output_norm.weight", 0);
  w->output = c->text.tie_word_embeddings ? w->tok_embd : view(m, base, "output.weight", 0);
  w->patch0 = view(m, base, "v.patch_embd.weight", 0);
  w->patch1 = view(m, base, "v.patch_embd.weight.1", 0);
  w->post_ln = view(m, base, "v.post_ln.weight", 0);
  w->mm0_w = view(m, base, "mm.0.weight", 0);
  w->mm0_b = view(m, base, "mm.0.bias", 0);
  w->mm2_w = view(m, base, "mm.2.weight", 0);
  w->mm2_b = view(m, base, "mm.2.bias", 0);
  for (int l = 0; l < c->text.num_hidden_layers; l++) {
    train_tlayer *L = &w->t[l];
    L->attn_norm = view(m, base, "blk.%d.attn_norm.weight", l);
    L->wq = view(m, base, "blk.%d.attn_q.weight", l);
    L->bq = view(m, base, "blk.%d.attn_q.bias", l);
    L->wk = view(m, base, "blk.%d.attn_k.weight", l);
    L->bk = view(m, base, "blk.%d.attn_k.bias", l);
    L->wv = view(m, base, "blk.%d.attn_v.weight", l);
    L->bv = view(m, base, "blk.%d.attn_v.bias", l);
    L->wo = view(m, base, "blk.%d.attn_output.weight", l);
    L->ffn_norm = view(m, base, "blk.%d.ffn_norm.weight", l);
    L->wg = view(m, base, "blk.%d.ffn_gate.weight", l);
    L->wu = view(m, base, "blk.%d.ffn_up.weight", l);
    L->wd = view(m, base, "blk.%d.ffn_down.weight", l);
  }
  for (int l = 0; l < c->vision.depth; l++) {
    train_vlayer *L = &w->v[l];
    L->ln1 = view(m, base, "v.blk.%d.ln1.weight", l);
    L->wq = view(m, base, "v.blk.%d.attn_q.weight", l);
    L->bq = view(m, base, "v.blk.%d.attn_q.bias", l);
    L->wk = view(m, base, "v.blk.%d.attn_k.weight", l);
    L->bk = view(m, base, "v.blk.%d.attn_k.bias", l);
    L->wv = view(m, base, "v.blk.%d.attn_v.weight", l);
    L->bv = view(m, base, "v.blk.%d.attn_v.bias", l);
    L->wo = view(m, base, "v.blk.%d.attn_out.weight", l);
    L->bo = view(m, base, "v.blk.%d.attn_out.bias", l);
    L->ln2 = view(m, base, "v.blk.%d.ln2.weight", l);
    L->wg = view(m, base, "v.blk.%d.ffn_gate.weight", l);
    L->bg = view(m, base, "v.blk.%d.ffn_gate.bias", l);
    L->wu = view(m, base, "v.blk.%d.ffn_up.weight", l);
    L->bu = view(m, base, "v.blk.%d.ffn_up.bias", l);
    L->wd = view(m, base, "v.blk.%d.ffn_down.weight", l);
    L->bd = view(m, base, "v.blk.%d.ffn_down.bias", l);
  }
  return HATCH_OK;
}

/* ---- workspace ---------------------------------------------------------------------------------- */

typedef struct carver {
  char *base; /* NULL: sizing pass */
  size_t off;
} carver;

static void *carve(carver *c, size_t elems, size_t size) {
  size_t o = (c->off + 255) & ~(size_t)255; /* a device's widest loads */
  c->off = o + elems * size;
  return c->base ? c->base + o : NULL;
}
#define F(n) ((float *)carve(c, (size_t)(n), sizeof(float)))
#define I(n) ((int32_t *)carve(c, (size_t)(n), sizeof(int32_t)))

/* The backend workspace: activations, scratch, the tables the ops read. */
static void layout(hatch_train_model *m, carver *c) {
  const hatch_qwen25vl_config *cfg = &m->cfg;
  int64_t vd = cfg->vision.hidden_size, vff = cfg->vision.intermediate_size, vH = cfg->vision.num_heads;
  int64_t depth = cfg->vision.depth, pd = m->dv.patch_dim, dm = cfg->vision.out_hidden_size;
  int64_t NP = m->max_patches, NM = NP / 4, mi = m->lim.max_images;
  train_vacts *va = &m->va;
  if (NP > 0) {
    va->patches = F(NP * pd);
    va->patch_w = F(vd * pd), va->dpatch_w = F(vd * pd);
    va->res = F((depth + 1) * NP * vd);
    va->ln1 = F(depth * NP * vd), va->q = F(depth * NP * vd), va->k = F(depth * NP * vd), va->v = F(depth * NP * vd);
    va->att = F(depth * NP * vd), va->mid = F(depth * NP * vd), va->ln2 = F(depth * NP * vd);
    va->rstd1 = F(depth * NP), va->rstd2 = F(depth * NP), va->lse = F(depth * NP * vH);
    va->g = F(depth * NP * vff), va->u = F(depth * NP * vff), va->h = F(depth * NP * vff);
    va->lnm = F(NP * vd), va->rstdm = F(NP), va->h1 = F(NM * 4 * vd), va->h1g = F(NM * 4 * vd);
    va->out = F(NM * dm), va->feat = F(NM * dm), va->tmp = F(NP * vd);
    va->dres = F(NP * vd), va->dln = F(NP * vd), va->dq = F(NP * vd), va->dk = F(NP * vd), va->dv = F(NP * vd);
    va->datt = F(NP * vd), va->dg = F(NP * vff), va->du = F(NP * vff), va->dh = F(NP * vff), va->dsum = F(NP * vH);
    va->dh1 = F(NM * 4 * vd), va->dh1g = F(NM * 4 * vd), va->dout = F(NM * dm);
    va->perm = I(NP), va->pos = I(2 * NP), va->win = I(NM + mi + 1), va->full = I(mi + 1), va->inv = I(NM);
  }
  va->rope_freq = F(m->dv.vision_head_dim / 2), va->rope_comp = I(m->dv.vision_head_dim / 2);

  int64_t d = cfg->text.hidden_size, ff = cfg->text.intermediate_size, L = cfg->text.num_hidden_layers;
  int64_t qd = m->dv.q_dim, kvd = m->dv.kv_dim, H = cfg->text.num_attention_heads, V = cfg->text.vocab_size;
  int64_t NT = m->lim.max_tokens;
  train_tacts *ta = &m->ta;
  ta->res = F((L + 1) * NT * d);
  ta->ln1 = F(L * NT * d), ta->mid = F(L * NT * d), ta->ln2 = F(L * NT * d);
  ta->rstd1 = F(L * NT), ta->rstd2 = F(L * NT);
  ta->q = F(L * NT * qd), ta->att = F(L * NT * qd), ta->k = F(L * NT * kvd), ta->v = F(L * NT * kvd);
  ta->lse = F(L * NT * H);
  ta->g = F(L * NT * ff), ta->u = F(L * NT * ff), ta->h = F(L * NT * ff);
  ta->lnf = F(NT * d), ta->rstdf = F(NT), ta->logits = F(NT * V), ta->dlogits = F(NT * V);
  ta->lse_v = F(NT), ta->logp = F(NT), ta->dlogp = F(NT);
  ta->tmp = F(NT * d), ta->dres = F(NT * d), ta->dln = F(NT * d);
  ta->dq = F(NT * qd), ta->datt = F(NT * qd), ta->dk = F(NT * kvd), ta->dv = F(NT * kvd);
  ta->dg = F(NT * ff), ta->du = F(NT * ff), ta->dh = F(NT * ff), ta->dsum = F(NT * H);
  ta->dfeat = F(NM > 0 ? NM * dm : 1);
  ta->rope_freq = F(m->dv.head_dim / 2), ta->rope_comp = I(m->dv.head_dim / 2);
  ta->ids = I(NT), ta->targets = I(NT), ta->pos = I(3 * NT);
}

/* The host staging: the tables built on the host, and download targets for a device backend. */
static void layout_stage(hatch_train_model *m, carver *c) {
  const hatch_qwen25vl_config *cfg = &m->cfg;
  int64_t pd = m->dv.patch_dim, dm = cfg->vision.out_hidden_size, NP = m->max_patches, NM = NP / 4;
  int64_t mi = m->lim.max_images, NT = m->lim.max_tokens, V = cfg->text.vocab_size;
  bool device = !m->b->host_memory;
  train_vstage *vs = &m->vs;
  if (NP > 0) {
    vs->patches = F(NP * pd);
    vs->perm = I(NP), vs->pos = I(2 * NP), vs->win = I(NM + mi + 1), vs->full = I(mi + 1), vs->inv = I(NM), vs->order = I(NM);
    vs->img_row0 = (int64_t *)carve(c, (size_t)mi, sizeof(int64_t));
    vs->img_rows = (int64_t *)carve(c, (size_t)mi, sizeof(int64_t));
    vs->feat = device ? F(NM * dm) : NULL;
  }
  vs->rope_freq = F(m->dv.vision_head_dim / 2), vs->rope_comp = I(m->dv.vision_head_dim / 2);
  train_tstage *ts = &m->ts;
  ts->rope_freq = F(m->dv.head_dim / 2), ts->rope_comp = I(m->dv.head_dim / 2);
  ts->ids = I(NT), ts->targets = I(NT), ts->pos = I(3 * NT);
  ts->logp = F(NT), ts->dlogp = F(NT);
  ts->logits = device ? F(NT * V) : NULL;
}
#undef F
#undef I

/* Rough bytes of the workspace in double, to refuse absurd limits before size_t arithmetic. */
static double workspace_estimate(const hatch_train_model *m) {
  const hatch_qwen25vl_config *c = &m->cfg;
  double NP = (double)m->max_patches, NT = m->lim.max_tokens;
  double vis = NP * (m->dv.patch_dim + c->vision.depth * (12.0 * c->vision.hidden_size + 3.0 * c->vision.intermediate_size) +
                     20.0 * c->vision.hidden_size + 4.0 * c->vision.intermediate_size + 2.0 * c->vision.out_hidden_size);
  double txt = NT * (c->text.num_hidden_layers * (4.0 * c->text.hidden_size + 4.0 * m->dv.q_dim + 3.0 * c->text.intermediate_size) +
                     2.0 * c->text.vocab_size + 8.0 * c->text.hidden_size + 3.0 * c->text.intermediate_size);
  return 4.0 * (vis + txt);
}

/* ---- create / destroy --------------------------------------------------------------------------- */

static hatch_status check_shape(const hatch_qwen25vl_config *cfg, const hatch_train_limits *limits,
                                hatch_train_report *report) {
  hatch_config_report cr;
  hatch_status st = hatch_qwen25vl_config_validate(cfg, "config", &cr);
  if (st != HATCH_OK) return train_fail(report, st, "%s", cr.message);
  if (cfg->vision.spatial_merge_size != 2 || cfg->vision.temporal_patch_size != 2 || cfg->vision.in_channels != 3)
    return train_fail(report, HATCH_ERR_UNSUPPORTED, "%s",
                      "config: the trainer supports spatial_merge_size 2, temporal_patch_size 2 and in_channels 3 only");
  if (cfg->vision.out_hidden_size != cfg->text.hidden_size)
    return train_fail(report, HATCH_ERR_INVALID_ARGUMENT, "%s", "config: vision_config.out_hidden_size must equal hidden_size");
  if (limits->max_images < 0 || limits->max_images > 64)
    return train_fail(report, HATCH_ERR_INVALID_ARGUMENT, "%s", "limits: max_images must be in [0, 64]");
  if (limits->max_tokens < 1 || limits->max_tokens > (1 << 20))
    return train_fail(report, HATCH_ERR_INVALID_ARGUMENT, "%s", "limits: max_tokens must be in [1, 1048576]");
  if (limits->max_images > 0 && (limits->max_image_pixels < 28 * 28 || limits->max_image_pixels > (1 << 26)))
    return train_fail(report, HATCH_ERR_INVALID_ARGUMENT, "%s", "limits: max_image_pixels must be in [784, 2^26]");
  return HATCH_OK;
}

static hatch_status create_backend(const hatch_train_device *device, int n_threads, train_backend **out,
                                   hatch_train_report *report) {
  hatch_train_device cpu = {.kind = HATCH_TRAIN_DEVICE_CPU};
  if (!device) device = &cpu;
  if (device->kind == HATCH_TRAIN_DEVICE_CPU) return train_backend_cpu_create(n_threads, device->cpu_separate_memory, out);
  if (device->kind != HATCH_TRAIN_DEVICE_CUDA)
    return train_fail(report, HATCH_ERR_INVALID_ARGUMENT, "%s", "device: unknown kind");
  char why[256] = "";
  hatch_status st = train_backend_cuda_create(device->cuda_device, device->bf16, out, why);
  if (st != HATCH_OK) train_fail(report, st, "CUDA backend: %s", why[0] ? why : hatch_status_message(st));
  return st;
}

/* The rope tables, computed on the host and uploaded once. */
static hatch_status upload_rope_tables(hatch_train_model *m) {
  const hatch_qwen25vl_config *cfg = &m->cfg;
  train_backend *b = m->b;
  int vhalf = m->dv.vision_head_dim / 2, half = m->dv.head_dim / 2;
  int sections_v[3] = {m->dv.vision_head_dim / 4, m->dv.vision_head_dim / 4, 0};
  rope_table_f32(m->vs.rope_freq, m->vs.rope_comp, LAYER_ROPE_VISION, m->dv.vision_head_dim, cfg->vision.rope_theta,
                 sections_v);
  int sections_t[3] = {cfg->text.mrope_section[0], cfg->text.mrope_section[1], cfg->text.mrope_section[2]};
  rope_table_f32(m->ts.rope_freq, m->ts.rope_comp, LAYER_ROPE_MROPE, m->dv.head_dim, cfg->text.rope_theta, sections_t);
  hatch_status st = b->ops->upload(b, m->va.rope_freq, m->vs.rope_freq, sizeof(float) * (size_t)vhalf);
  if (st == HATCH_OK) st = b->ops->upload(b, m->va.rope_comp, m->vs.rope_comp, sizeof(int32_t) * (size_t)vhalf);
  if (st == HATCH_OK) st = b->ops->upload(b, m->ta.rope_freq, m->ts.rope_freq, sizeof(float) * (size_t)half);
  if (st == HATCH_OK) st = b->ops->upload(b, m->ta.rope_comp, m->ts.rope_comp, sizeof(int32_t) * (size_t)half);
  return st;
}

/* params, grads and the workspace on the backend; host mirrors and staging on the host. */
static hatch_status allocate(hatch_train_model *m) {
  train_backend *b = m->b;
  size_t param_bytes = sizeof(float) * (size_t)m->n_params;
  m->params = b->ops->alloc(b, param_bytes);
  m->grads = b->ops->alloc(b, param_bytes);
  if (!m->params || !m->grads) return HATCH_ERR_OUT_OF_MEMORY;
  if (b->host_memory) {
    m->host_params = m->params, m->host_grads = m->grads;
  } else {
    m->host_params = calloc((size_t)m->n_params, sizeof(float));
    m->host_grads = calloc((size_t)m->n_params, sizeof(float));
    if (!m->host_params || !m->host_grads) return HATCH_ERR_OUT_OF_MEMORY;
  }
  hatch_status st;
  if ((st = bind(m, m->params, &m->w)) != HATCH_OK || (st = bind(m, m->grads, &m->gw)) != HATCH_OK) return st;
  carver sizing = {NULL, 0};
  layout(m, &sizing);
  m->arena_bytes = sizing.off;
  if (!(m->arena = b->ops->alloc(b, m->arena_bytes))) return HATCH_ERR_OUT_OF_MEMORY;
  carver real = {m->arena, 0}; /* alloc aligns to 256 */
  layout(m, &real);
  carver stage_sizing = {NULL, 0};
  layout_stage(m, &stage_sizing);
  if (!(m->stage = calloc(1, stage_sizing.off))) return HATCH_ERR_OUT_OF_MEMORY;
  carver stage = {m->stage, 0};
  layout_stage(m, &stage);
  return HATCH_OK;
}

hatch_status hatch_train_model_create_on(const hatch_qwen25vl_config *cfg, const hatch_train_limits *limits,
                                         int n_threads, const hatch_train_device *device, hatch_train_model **out,
                                         hatch_train_report *report) {
  if (report) report->message[0] = 0;
  if (!cfg || !limits || !out) return train_fail(report, HATCH_ERR_INVALID_ARGUMENT, "%s", "NULL argument");
  *out = NULL;
  hatch_status st = check_shape(cfg, limits, report);
  if (st != HATCH_OK) return st;
  hatch_train_model *m = calloc(1, sizeof *m);
  if (!m) return HATCH_ERR_OUT_OF_MEMORY;
  m->cfg = *cfg;
  m->lim = *limits;
  if (m->lim.max_images == 0) m->lim.max_image_pixels = 0;
  if ((st = hatch_qwen25vl_config_derive(cfg, &m->dv)) != HATCH_OK) goto fail_free;
  int64_t patch_px = (int64_t)cfg->vision.patch_size * cfg->vision.patch_size;
  m->max_patches = (int64_t)m->lim.max_images * (m->lim.max_image_pixels / (4 * patch_px)) * 4;
  if (workspace_estimate(m) > 256e9) {
    st = train_fail(report, HATCH_ERR_TOO_LARGE, "%s", "limits: the workspace would exceed 256 GB");
    goto fail_free;
  }
  if ((st = build_table(m)) != HATCH_OK) goto fail_free;
  if (n_threads <= 0) {
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    n_threads = cores > 0 ? (int)cores : 1;
  }
  if ((st = create_backend(device, n_threads, &m->b, report)) != HATCH_OK) goto fail_free;
  int cpu_threads = train_backend_cpu_n_threads(m->b);
  m->n_threads = cpu_threads > 0 ? cpu_threads : n_threads;
  if ((st = allocate(m)) != HATCH_OK) goto fail_free;
  if ((st = upload_rope_tables(m)) != HATCH_OK) goto fail_free;
  *out = m;
  return HATCH_OK;
fail_free:
  if (report && !report->message[0]) snprintf(report->message, sizeof report->message, "%s", hatch_status_message(st));
  hatch_train_model_destroy(m);
  return st;
}

hatch_status hatch_train_model_create(const hatch_qwen25vl_config *cfg, const hatch_train_limits *limits,
                                      int n_threads, hatch_train_model **out, hatch_train_report *report) {
  return hatch_train_model_create_on(cfg, limits, n_threads, NULL, out, report);
}

void hatch_train_model_destroy(hatch_train_model *m) {
  if (!m) return;
  train_backend *b = m->b;
  if (b) {
    if (!b->host_memory) free(m->host_params), free(m->host_grads);
    b->ops->free(b, m->arena);
    b->ops->free(b, m->params);
    b->ops->free(b, m->grads);
  }
  train_backend_destroy(b);
  free(m->stage);
  free(m->w.v), free(m->w.t), free(m->gw.v), free(m->gw.t);
  free(m->tensors);
  free(m);
}

/* ---- accessors ---------------------------------------------------------------------------------- */

const hatch_qwen25vl_config *hatch_train_model_config(const hatch_train_model *m) { return m ? &m->cfg : NULL; }
const hatch_train_limits *hatch_train_model_limits(const hatch_train_model *m) { return m ? &m->lim : NULL; }
int hatch_train_model_n_threads(const hatch_train_model *m) { return m ? m->n_threads : 0; }
int64_t hatch_train_model_n_params(const hatch_train_model *m) { return m ? m->n_params : 0; }
float *hatch_train_model_params(hatch_train_model *m) { return m ? m->host_params : NULL; }
float *hatch_train_model_grads(hatch_train_model *m) { return m ? m->host_grads : NULL; }
int hatch_train_model_n_tensors(const hatch_train_model *m) { return m ? m->n_tensors : 0; }
const hatch_train_tensor *hatch_train_model_tensor(const hatch_train_model *m, int i) {
  return m && i >= 0 && i < m->n_tensors ? &m->tensors[i] : NULL;
}
hatch_train_flops hatch_train_model_flops(const hatch_train_model *m) {
  hatch_train_flops z = {0, 0, 0};
  return m ? m->flops : z;
}
const char *hatch_train_model_backend_name(const hatch_train_model *m) { return m ? m->b->ops->name : NULL; }
train_backend *hatch_train_model_backend(const hatch_train_model *m) { return m ? m->b : NULL; }
float *hatch_train_model_backend_params(hatch_train_model *m) { return m ? m->params : NULL; }
float *hatch_train_model_backend_grads(hatch_train_model *m) { return m ? m->grads : NULL; }

void hatch_train_model_zero_grads(hatch_train_model *m) {
  if (m) m->b->ops->zero(m->b, m->grads, m->n_params);
}

/* ---- host mirrors ------------------------------------------------------------------------------- */

hatch_status train_push_params(hatch_train_model *m) {
  if (m->b->host_memory) return HATCH_OK;
  return m->b->ops->upload(m->b, m->params, m->host_params, sizeof(float) * (size_t)m->n_params);
}

hatch_status hatch_train_model_push(hatch_train_model *m) {
  if (!m) return HATCH_ERR_INVALID_ARGUMENT;
  if (m->b->host_memory) return HATCH_OK;
  hatch_status st = train_push_params(m);
  if (st == HATCH_OK) st = m->b->ops->upload(m->b, m->grads, m->host_grads, sizeof(float) * (size_t)m->n_params);
  return st;
}

hatch_status hatch_train_model_sync(hatch_train_model *m) {
  if (!m) return HATCH_ERR_INVALID_ARGUMENT;
  return m->b->ops->sync(m->b);
}

hatch_status hatch_train_model_peak_flops(hatch_train_model *m, int64_t n, int reps, double *flops_per_s) {
  if (!m || !flops_per_s) return HATCH_ERR_INVALID_ARGUMENT;
  if (!m->b->ops->peak_matmul_flops) return HATCH_ERR_UNSUPPORTED;
  return m->b->ops->peak_matmul_flops(m->b, n, reps, flops_per_s);
}

hatch_status hatch_train_model_pull(hatch_train_model *m) {
  if (!m) return HATCH_ERR_INVALID_ARGUMENT;
  if (m->b->host_memory) return HATCH_OK;
  size_t bytes = sizeof(float) * (size_t)m->n_params;
  hatch_status st = m->b->ops->download(m->b, m->host_params, m->params, bytes);
  if (st == HATCH_OK) st = m->b->ops->download(m->b, m->host_grads, m->grads, bytes);
  return st;
}

/* ---- random init -------------------------------------------------------------------------------- */

static uint64_t splitmix(uint64_t *s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/* Standard normal (Box-Muller on two 53-bit uniforms). */
static double normal(uint64_t *s) {
  double u1 = ((double)(splitmix(s) >> 11) + 1.0) * 0x1.0p-53; /* (0, 1] */
  double u2 = (double)(splitmix(s) >> 11) * 0x1.0p-53;
  return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

void hatch_train_model_init_random(hatch_train_model *m, uint64_t seed) {
  if (!m) return;
  for (int i = 0; i < m->n_tensors; i++) {
    const hatch_train_tensor *t = &m->tensors[i];
    float *p = m->host_params + t->offset;
    size_t len = strlen(t->name);
    bool bias = len > 5 && !strcmp(t->name + len - 5, ".bias");
    bool patch = strstr(t->name, "patch_embd") != NULL;
    uint64_t s = seed * 0x9e3779b97f4a7c15ull;
    for (const char *ch = t->name; *ch; ch++) s = (s ^ (uint8_t)*ch) * 1099511628211ull; /* per-tensor stream */
    for (int64_t k = 0; k < t->count; k++) {
      if (bias) p[k] = 0.0f;
      else if (t->matrix || patch) p[k] = (float)(0.02 * normal(&s));
      else p[k] = 1.0f; /* RMSNorm weights */
    }
  }
  (void)train_push_params(m); /* a device's failure shows at its next sync or download */
}

/* ---- linear with FLOP accounting ---------------------------------------------------------------- */

void train_linear_fwd(hatch_train_model *m, float *y, const float *x, const float *w, const float *b, int64_t n,
                      int64_t in, int64_t out) {
  m->b->ops->linear_forward(m->b, y, x, w, b, n, in, out);
  m->flops.forward += (uint64_t)(2 * n * in * out);
}

void train_linear_bwd(hatch_train_model *m, float *dx, float *dw, float *db, const float *dy, const float *x,
                      const float *w, int64_t n, int64_t in, int64_t out) {
  m->b->ops->linear_backward(m->b, dx, dw, db, dy, x, w, n, in, out);
  m->flops.backward += (uint64_t)((dx ? 2 : 0) * n * in * out + (dw ? 2 : 0) * n * in * out);
}
