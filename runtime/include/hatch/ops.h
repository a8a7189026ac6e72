/* The op set of the Qwen2.5-VL family. Layouts use ggml's dims order: ne[0] first.
 * Unless stated otherwise activations are F32 and dst must already have the output shape. */
#ifndef HATCH_OPS_H
#define HATCH_OPS_H

#include "hatch/backend.h"

/* dst (n, m) = x (n, k) · w (m, k)^T.
 * w: F32, F16 or Q8_0 (ne0 = k, or k padded to 32 for Q8_0: the pad columns are ignored);
 * x: F32 (ne0 = k, ne1 = n); dst: F32 (ne0 = m, ne1 = n). n = 1 is the decode (matvec) path. */
hatch_status hatch_matmul(hatch_backend *be, hatch_tensor *dst, const hatch_tensor *w, const hatch_tensor *x);

/* Patch embedding: dst (n_patches, d) = patches (n_patches, 3*T*P*P) · w^T (+ bias (d) if given).
 * Qwen2.5-VL's Conv3d with stride = kernel is exactly this product on patchified pixels. */
hatch_status hatch_patch_embed(hatch_backend *be, hatch_tensor *dst, const hatch_tensor *w,
                               const hatch_tensor *bias, const hatch_tensor *patches);

/* dst = x / sqrt(mean(x^2) + eps) * weight, per row of ne0; weight (ne0) F32 or NULL. */
hatch_status hatch_rms_norm(hatch_backend *be, hatch_tensor *dst, const hatch_tensor *x,
                            const hatch_tensor *weight, float eps);

/* dst = softmax(x * scale) per row of ne0. */
hatch_status hatch_softmax(hatch_backend *be, hatch_tensor *dst, const hatch_tensor *x, float scale);

typedef enum hatch_unary_op { HATCH_UNARY_SILU, HATCH_UNARY_GELU /* exact, erf */ } hatch_unary_op;
hatch_status hatch_unary(hatch_backend *be, hatch_tensor *dst, const hatch_tensor *x, hatch_unary_op op);
/* dst = silu(gate) * up, same shapes. */
hatch_status hatch_swiglu(hatch_backend *be, hatch_tensor *dst, const hatch_tensor *gate, const hatch_tensor *up);

typedef enum hatch_binary_op { HATCH_BINARY_ADD, HATCH_BINARY_MUL } hatch_binary_op;
/* dst = a op b; b has a's ne0 and a number of rows dividing a's (row r of a meets row r % rows(b)):
 * a bias vector, a per-token scale, or a same-shape tensor. dst may alias a. */
hatch_status hatch_binary(hatch_backend *be, hatch_tensor *dst, const hatch_tensor *a, const hatch_tensor *b,
                          hatch_binary_op op);

typedef enum hatch_rope_mode {
  HATCH_ROPE_NEOX,   /* 1D, rotate_half pairs (i, i + n_dims/2); pos (n_tok) */
  HATCH_ROPE_MROPE,  /* Qwen2-VL M-RoPE: pair i takes position component c by sections; pos (n_tok, 3) */
  HATCH_ROPE_VISION, /* Qwen2.5-VL vision 2D: sections (h, w), frequencies restart per section */
} hatch_rope_mode;

typedef struct hatch_rope_params {
  hatch_rope_mode mode;
  int n_dims;      /* rotated leading dims of each head, even, <= head dim */
  float freq_base; /* theta: 1e6 for the Qwen2.5 LLM, 1e4 for the vision tower */
  int sections[4]; /* pairs per position component; MROPE [16,24,24] for the 3B, VISION [n/4, n/4] */
} hatch_rope_params;

/* x, dst (n_tok, n_head, head_dim): ne0 = head_dim, ne1 = n_head, ne2 = n_tok.
 * pos I32: ne0 = n_tok, ne1 = components (1 for NEOX, 3 for MROPE, 2 for VISION). dst may alias x. */
hatch_status hatch_rope(hatch_backend *be, hatch_tensor *dst, const hatch_tensor *x, const hatch_tensor *pos,
                        const hatch_rope_params *p);

typedef enum hatch_attn_mode {
  HATCH_ATTN_FULL,     /* every query sees every key */
  HATCH_ATTN_CAUSAL,   /* query i sees keys 0 .. kv_offset + i (KV cache decode/prefill) */
  HATCH_ATTN_WINDOWED, /* tokens see only their own window: windows = cu_seqlens boundaries */
} hatch_attn_mode;

typedef struct hatch_attn_params {
  hatch_attn_mode mode;
  float scale;                 /* usually 1/sqrt(head_dim) */
  int64_t n_kv;                /* keys in use (a KV cache may be longer); 0: all of k */
  int64_t kv_offset;           /* CAUSAL: position of query 0 in the key sequence */
  const hatch_tensor *windows; /* WINDOWED: I32 (n_windows + 1), 0 = b0 < b1 < ... = n_tokens */
  const hatch_tensor *past;    /* CAUSAL, optional: I32 (>= 1) whose element 0 is kv_offset, read when the
                                  op runs (recorded graphs); then n_kv = past + n_q and the n_kv and
                                  kv_offset fields are ignored. A value past k's rows is clamped to them. */
} hatch_attn_params;

/* q, dst (n_q, n_head, d): ne0 = d; k, v (n_kv, n_kv_head, d), F32 or F16, n_head % n_kv_head == 0 (GQA).
 * Tiled with an online softmax: no (n_q, n_kv) matrix is ever stored. */
hatch_status hatch_attention(hatch_backend *be, hatch_tensor *dst, const hatch_tensor *q, const hatch_tensor *k,
                             const hatch_tensor *v, const hatch_attn_params *p);

/* 2x2 merge gather: x (grid_h * grid_w, c) in raster patch order -> dst (grid_h/2 * grid_w/2, 4c),
 * row (Y, X) = [x(2Y,2X), x(2Y,2X+1), x(2Y+1,2X), x(2Y+1,2X+1)]. grid_h and grid_w even. */
hatch_status hatch_merge_2x2(hatch_backend *be, hatch_tensor *dst, const hatch_tensor *x, int64_t grid_h,
                             int64_t grid_w);

/* Row gather: dst (n, c) row i = src row idx[i]; src (m, c) F32, idx I32 (n) with 0 <= idx < m
 * (an index out of range makes the row zeros on every backend). The vision tower's window order
 * and its inverse. */
hatch_status hatch_get_rows(hatch_backend *be, hatch_tensor *dst, const hatch_tensor *src, const hatch_tensor *idx);

/* Row copy: dst rows [row_offset, row_offset + n) = src (n, c); src F32, dst F32 or F16 (converted,
 * round to nearest even; F16 needs an even ne0) with the same ne0. The KV cache append and placing
 * image embeddings among token embeddings. */
hatch_status hatch_set_rows(hatch_backend *be, hatch_tensor *dst, const hatch_tensor *src, int64_t row_offset);
/* The same with the first row read when the op runs (recorded graphs): dst rows from at[0] * unit,
 * at I32 (>= 1 element), unit >= 1 (the KV cache: at = n_past, unit = n_kv_head rows per token).
 * Rows that would land outside dst are dropped on Vulkan; the CPU says HATCH_ERR_SHAPE. */
hatch_status hatch_set_rows_at(hatch_backend *be, hatch_tensor *dst, const hatch_tensor *src, const hatch_tensor *at,
                               int64_t unit);

/* Bicubic resize of an RGB8 image, PIL's algorithm (a = -0.5, support widened when downscaling,
 * horizontal then vertical pass, each rounded to 8 bits): src U8 (3, w, h) -> dst U8 (3, w', h'). */
hatch_status hatch_image_resize(hatch_backend *be, hatch_tensor *dst, const hatch_tensor *src);
/* The same from host memory: src (h, w, 3) RGB8 -> dst (oh, ow, 3), through temporary tensors on be. */
hatch_status hatch_image_resize_rgb8(hatch_backend *be, const uint8_t *src, int w, int h, uint8_t *dst, int ow, int oh);

typedef struct hatch_patchify_params {
  int patch;         /* 14 */
  int temporal;      /* 2: a still image is repeated in time */
  float mean[3];     /* CLIP: 0.48145466, 0.4578275, 0.40821073 */
  float std[3];      /* CLIP: 0.26862954, 0.26130258, 0.27577711 */
} hatch_patchify_params;

void hatch_patchify_params_qwen2vl(hatch_patchify_params *p);

/* Normalize and patchify: src U8 (3, w, h) with w, h multiples of patch ->
 * dst F32 (n_patches = (h/patch)*(w/patch) in raster order, 3*temporal*patch*patch) with each row
 * ordered (channel, t, py, px) like Qwen2.5-VL's processor. */
hatch_status hatch_image_patchify(hatch_backend *be, hatch_tensor *dst, const hatch_tensor *src,
                                  const hatch_patchify_params *p);

#endif
