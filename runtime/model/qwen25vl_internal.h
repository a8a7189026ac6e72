/* Internal state of hatch_model: weights (device tensors), the GGUF mappings, KV cache, scratch. */
#ifndef HATCH_QWEN25VL_INTERNAL_H
#define HATCH_QWEN25VL_INTERNAL_H

#include "core/backend_impl.h"
#include "hatch/gguf.h"
#include "hatch/model.h"
#include "hatch/ops.h"

typedef struct vision_layer {
  hatch_tensor *ln1, *ln2;                  /* (d) */
  hatch_tensor *wq, *wk, *wv, *wo;          /* (d, d) */
  hatch_tensor *bq, *bk, *bv, *bo;          /* (d) */
  hatch_tensor *w_gate, *w_up, *w_down;     /* (d, ff), (d, ff), (ff[padded], d) */
  hatch_tensor *b_gate, *b_up, *b_down;     /* (ff), (ff), (d) */
} vision_layer;

typedef struct text_layer {
  hatch_tensor *attn_norm, *ffn_norm;       /* (d) */
  hatch_tensor *wq, *wk, *wv, *wo;          /* (d, H*hd), (d, KV*hd) x2, (H*hd, d) */
  hatch_tensor *bq, *bk, *bv;               /* (H*hd), (KV*hd), (KV*hd) */
  hatch_tensor *w_gate, *w_up, *w_down;     /* (d, ff), (d, ff), (ff[padded], d) */
  hatch_tensor *k_cache, *v_cache;          /* (hd, KV, max_ctx) F16 (default) or F32 */
} text_layer;

typedef struct text_scratch {
  hatch_tensor *x, *t, *q, *k, *v, *o, *a, *g, *u, *pos; /* (d, n) activations, (n, 3) positions */
  hatch_tensor *idx, *sel, *last, *out;                  /* logits rows: (n_logits), (d, n_logits) x2, (vocab, n_logits) */
} text_scratch;

/* One forward shape: its scratch, host staging and (on backends with graphs) the recorded graph of
 * the decoder layers + logits head. n: tokens the shape holds (prefill: a bucket, the prompt's
 * tokens padded up to it); n_logits: logits rows (0: none). */
typedef struct text_plan {
  int n, n_logits;
  text_scratch s;
  float *emb;     /* (n, d) host token embeddings */
  int32_t *pos;   /* (3, n) host positions, component-major with stride n */
  int32_t *sel;   /* (max(n_logits, 1)) rows of x the logits come from */
  hatch_graph *graph; /* NULL until recorded, and always on backends without graphs */
  bool eager;         /* a one-off shape: ops run directly, nothing recorded */
  uint64_t last_use;
} text_plan;

/* Prefill shapes kept (least recently used goes): a query uses one; each holds activations for its
 * bucket (3B, 512 tokens: ~70 MB) plus its graph's scratch. */
#define HATCH_QWEN25VL_PREFILL_PLANS 2

struct hatch_model {
  hatch_backend *be;
  hatch_qwen25vl_config cfg;
  hatch_qwen25vl_derived dv;
  hatch_gguf *text_file, *vision_file; /* vision_file may be text_file */
  /* vision */
  hatch_tensor *patch_w;                    /* (patch_dim, d_vit): both Conv3D time slices, rows (c, t, py, px) */
  vision_layer *vlayers;                    /* (depth) */
  hatch_tensor *merger_norm;                /* (d_vit) */
  hatch_tensor *mm0_w, *mm0_b, *mm2_w, *mm2_b; /* (4 d_vit, 4 d_vit), (4 d_vit), (4 d_vit, d_model), (d_model) */
  /* text */
  const hatch_gguf_tensor *tok_embd_host;   /* (d_model, vocab) in the mapping: host-side lookups */
  hatch_tensor *tok_embd;                   /* on the device when tied (the output projection) */
  text_layer *tlayers;                      /* (n_layers) */
  hatch_tensor *output_norm, *output;       /* output = tok_embd when tied */
  int max_context;
  int n_past;
  hatch_type kv_type;       /* F16 (default) or F32 */
  bool graphs;              /* the backend has graphs and options.no_graphs is off */
  hatch_tensor *past;       /* I32 (1): n_past, read by the forward when it runs (recorded graphs) */
  text_plan dec;            /* decode: n = 1, one logits row; recorded at the first decode */
  text_plan pre[HATCH_QWEN25VL_PREFILL_PLANS]; /* prefill shapes (n = 0: free slot) */
  uint64_t use_clock;
  uint64_t device_bytes;   /* weights + KV cache uploaded at load */
  uint64_t decode_bytes;   /* weight bytes one decoded token reads (text layers + output) */
};

/* qwen25vl_text.c: frees the plans, their graphs and the past tensor. */
void hatch_qwen25vl_text_release(hatch_model *m);

/* qwen25vl_load.c */
hatch_status hatch_qwen25vl_upload(hatch_model *m, const hatch_gguf *g, const char *name, hatch_type want,
                                   int64_t ne0, int64_t ne1, hatch_tensor **out, hatch_model_report *rep);
/* One embedding row as floats (F32/F16/BF16/Q8_0 source). */
hatch_status hatch_qwen25vl_embed_row(const hatch_gguf_tensor *t, int64_t row, float *out);

/* qwen25vl_positions.c: the window order of one image's merged tokens (Qwen2.5-VL get_window_index):
 * order (n_merged) merged-token ids in window order; bounds (n_windows + 1) cumulative patch counts
 * (cu_window_seqlens, empty windows dropped). Returns n_windows or -1 on out of memory. */
int hatch_qwen25vl_window_order(int merged_h, int merged_w, int window_merged, int32_t *order, int32_t *bounds);

/* Small tensor helpers (qwen25vl_vision.c). */
hatch_status hatch_qwen25vl_linear(hatch_backend *be, hatch_tensor *dst, const hatch_tensor *w, const hatch_tensor *b,
                                   const hatch_tensor *x);

#endif
