/* Internal state of hatch_train_model: the backend the model runs on, the tensor table over the flat
 * params, per-layer views of it, the workspace (one backend allocation carved into activations,
 * backward scratch and the index tables the ops read, like llm.c) and the host staging where those
 * tables are built before upload. */
#ifndef HATCH_TRAIN_MODEL_INTERNAL_H
#define HATCH_TRAIN_MODEL_INTERNAL_H

#include <stdio.h>

#include "hatch/train_model.h"
#include "model/train_backend.h"
#include "model/train_layers.h"

typedef struct train_vlayer {
  float *ln1, *ln2;            /* (vd) */
  float *wq, *wk, *wv, *wo;    /* (vd, vd) */
  float *bq, *bk, *bv, *bo;    /* (vd) */
  float *wg, *wu;              /* (vff, vd) */
  float *bg, *bu;              /* (vff) */
  float *wd;                   /* (vd, vff) */
  float *bd;                   /* (vd) */
} train_vlayer;

typedef struct train_tlayer {
  float *attn_norm, *ffn_norm; /* (d) */
  float *wq;                   /* (qd, d) */
  float *wk, *wv;              /* (kvd, d) */
  float *bq, *bk, *bv;         /* (qd), (kvd), (kvd) */
  float *wo;                   /* (d, qd) */
  float *wg, *wu;              /* (ff, d) */
  float *wd;                   /* (d, ff) */
} train_tlayer;

/* Views of one flat buffer (params or grads) by tensor. */
typedef struct train_weights {
  float *tok_embd;             /* (vocab, d) */
  float *output_norm;          /* (d) */
  float *output;               /* (vocab, d); = tok_embd when tied */
  float *patch0, *patch1;      /* (vd, C, P, P) each: the Conv3D's two time slices */
  float *post_ln;              /* (vd) the merger's RMSNorm */
  float *mm0_w, *mm0_b;        /* (4vd, 4vd), (4vd) */
  float *mm2_w, *mm2_b;        /* (dm, 4vd), (dm) */
  train_vlayer *v;             /* (depth) */
  train_tlayer *t;             /* (n_layers) */
} train_weights;

/* Vision activations, backend memory. NP: patches of the largest sample (all images), NM = NP / 4.
 * Rows are in the tower's order: image by image, merge units in window order, 4 patches per unit
 * (row 4k + q). The int32 tables are uploaded from train_vstage each forward. */
typedef struct train_vacts {
  float *patches;              /* (NP, pd) normalized pixels, raster order per image */
  float *patch_w, *dpatch_w;   /* (vd, pd) both time slices side by side, columns (c, t, py, px) */
  float *res;                  /* (depth + 1, NP, vd) block inputs; [depth] = tower output */
  float *ln1, *q, *k, *v, *att, *mid, *ln2; /* (depth, NP, vd); q, k after RoPE */
  float *rstd1, *rstd2;        /* (depth, NP) */
  float *lse;                  /* (depth, NP, H) */
  float *g, *u, *h;            /* (depth, NP, vff) */
  float *lnm, *rstdm;          /* (NP, vd), (NP): merger RMSNorm */
  float *h1, *h1g;             /* (NM, 4vd): before and after GELU */
  float *out;                  /* (NM, dm) window order */
  float *feat;                 /* (NM, dm) raster order of each image's merged grid */
  float *tmp;                  /* (NP, vd) */
  float *dres, *dln, *dq, *dk, *dv, *datt; /* (NP, vd) */
  float *dg, *du, *dh;         /* (NP, vff) */
  float *dsum;                 /* (NP, H) */
  float *dh1, *dh1g;           /* (NM, 4vd) */
  float *dout;                 /* (NM, dm) */
  float *rope_freq;            /* (vhd/2) */
  int32_t *rope_comp;          /* (vhd/2) */
  int32_t *perm;               /* (NP) tower row -> patch row (raster, image offset) */
  int32_t *pos;                /* (2, NP) as (2, n): row's (y, x) in its patch grid */
  int32_t *win;                /* (NM + max_images + 1) window bounds over the rows */
  int32_t *full;               /* (max_images + 1) image bounds over the rows */
  int32_t *inv;                /* (NM) merged raster row -> merged tower row */
  int n_images;
  int64_t n, nm, n_win;        /* rows, merged rows, windows + 1 of the last forward */
  bool valid;
} train_vacts;

/* Host side of the vision tower: the tables built for the last forward (their backend twins in
 * train_vacts), scratch, and the features' host copy when the backend memory is not host memory. */
typedef struct train_vstage {
  float *patches;              /* (NP, pd) */
  float *rope_freq;            /* (vhd/2) */
  int32_t *rope_comp;          /* (vhd/2) */
  int32_t *perm, *pos, *win, *full, *inv; /* as in train_vacts */
  int32_t *order;              /* (NM) one image's merge units in window order (scratch) */
  int64_t *img_row0, *img_rows; /* (max_images) merged rows of each image in feat */
  float *feat;                 /* (NM, dm) download target; NULL when the backend has host memory */
} train_vstage;

/* Text activations, backend memory. NT: max tokens. */
typedef struct train_tacts {
  float *res;                  /* (L + 1, NT, d) layer inputs; [L] = last hidden */
  float *ln1, *mid, *ln2;      /* (L, NT, d) */
  float *rstd1, *rstd2;        /* (L, NT) */
  float *q, *att;              /* (L, NT, qd); q after RoPE */
  float *k, *v;                /* (L, NT, kvd); k after RoPE */
  float *lse;                  /* (L, NT, H) */
  float *g, *u, *h;            /* (L, NT, ff) */
  float *lnf, *rstdf;          /* (NT, d), (NT) */
  float *logits, *dlogits;     /* (NT, vocab) */
  float *lse_v, *logp, *dlogp; /* (NT) */
  float *tmp, *dres, *dln;     /* (NT, d) */
  float *dq, *datt;            /* (NT, qd) */
  float *dk, *dv;              /* (NT, kvd) */
  float *dg, *du, *dh;         /* (NT, ff) */
  float *dsum;                 /* (NT, H) */
  float *dfeat;                /* (NM, dm) gradient of the spliced image features */
  float *rope_freq;            /* (hd/2) */
  int32_t *rope_comp;          /* (hd/2) */
  int32_t *ids, *targets;      /* (NT) */
  int32_t *pos;                /* (3, NT) as (3, n) */
  int n, n_images;
  bool has_targets, valid;
} train_tacts;

/* Host side of the language model: the last forward's tokens, targets and positions (uploaded to
 * their train_tacts twins), log-probabilities, and the logits' host copy for device backends. */
typedef struct train_tstage {
  float *rope_freq;            /* (hd/2) */
  int32_t *rope_comp;          /* (hd/2) */
  int32_t *ids, *targets;      /* (NT) */
  int32_t *pos;                /* (3, NT) as (3, n) */
  float *logp, *dlogp;         /* (NT) */
  float *logits;               /* (NT, vocab) download target; NULL when the backend has host memory */
} train_tstage;

struct hatch_train_model {
  hatch_qwen25vl_config cfg;
  hatch_qwen25vl_derived dv;
  hatch_train_limits lim;
  train_backend *b;            /* owned; every compute step is one of its ops */
  int n_threads;
  int n_tensors;
  hatch_train_tensor *tensors; /* (n_tensors) in GGUF file order */
  int64_t n_params;
  float *params, *grads;       /* (n_params) backend memory */
  float *host_params, *host_grads; /* (n_params) what params() / grads() return: params, grads themselves
                                      when the backend has host memory, else host mirrors (pull / push) */
  train_weights w, gw;         /* views of params and grads (backend) */
  int64_t max_patches;         /* NP */
  void *arena;                 /* the workspace: backend memory */
  size_t arena_bytes;
  void *stage;                 /* host staging, one allocation */
  train_vacts va;
  train_vstage vs;
  train_tacts ta;
  train_tstage ts;
  hatch_train_flops flops;
};

/* train_vision.c: the tower over images already checked (count, sizes); d_feat (nm, dm) is backend
 * memory. */
hatch_status train_vision_forward(hatch_train_model *m, const hatch_train_image *images, int n_images);
hatch_status train_vision_backward(hatch_train_model *m, const float *d_feat);

/* Linear layers with FLOP accounting. */
void train_linear_fwd(hatch_train_model *m, float *y, const float *x, const float *w, const float *b, int64_t n,
                      int64_t in, int64_t out);
void train_linear_bwd(hatch_train_model *m, float *dx, float *dw, float *db, const float *dy, const float *x,
                      const float *w, int64_t n, int64_t in, int64_t out);

/* train_params.c: host params -> backend (no-op when the backend has host memory). */
hatch_status train_push_params(hatch_train_model *m);

/* For the trainer's device optimizer: the backend and its params / grads (n_params each). Host code
 * reads them only when backend->host_memory. */
train_backend *hatch_train_model_backend(const hatch_train_model *m);
float *hatch_train_model_backend_params(hatch_train_model *m);
float *hatch_train_model_backend_grads(hatch_train_model *m);

/* train_backend_cpu.c: the CPU backend's thread count (0 for another backend). */
int train_backend_cpu_n_threads(const train_backend *b);

static inline hatch_status train_fail(hatch_train_report *r, hatch_status st, const char *fmt, const char *a) {
  if (r) snprintf(r->message, sizeof r->message, fmt, a);
  return st;
}

#endif
