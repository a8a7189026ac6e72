/* The Qwen2.5-VL family on a hatch backend (CPU reference or Vulkan): weights from GGUF (llama.cpp's
 * text model + mmproj pair, or hatch's single file holding both), the vision tower with window and
 * full attention and 2D RoPE, the 2x2 merger, and the language model (GQA with qkv bias, M-RoPE,
 * SwiGLU, RMSNorm, KV cache). Every op runs through hatch/ops.h, so the same code is the CPU
 * reference and the Vulkan forward.
 *
 * Ownership: a hatch_model owns its weights (uploaded once), its KV cache and its scratch tensors;
 * the backend must outlive it. Not thread-safe: one query at a time.
 *
 * The language model's forward is recorded once per shape and re-run (on backends with graphs,
 * backend.h): decode (one token) has one recorded graph, prefill one per bucket of prompt lengths
 * (the prompt padded with inert tokens up to a power of two). Per-token values (position, KV
 * length) are written to small device tensors before each run: nothing is allocated per token. */
#ifndef HATCH_MODEL_H
#define HATCH_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "hatch/backend.h"
#include "hatch/model_config.h"

typedef struct hatch_model_report {
  char message[384]; /* names the file, key or tensor */
} hatch_model_report;

typedef struct hatch_model_options {
  int max_context; /* KV cache length in tokens; 0 -> min(4096, the model's context length) */
  bool kv_f32;     /* KV cache in F32; default (false): F16, half the memory and bandwidth */
  bool no_graphs;  /* run the forward op by op on every call, never recorded (tests, benchmarks) */
} hatch_model_options;

typedef struct hatch_model hatch_model;

/* path: a text GGUF (general.architecture "qwen2vl"); mmproj_path: llama.cpp's vision GGUF
 * ("clip", projector "qwen2.5vl_merger"), or NULL when path holds the vision tensors too.
 * Errors: HATCH_ERR_NOT_FOUND / HATCH_ERR_CORRUPT (file, key or tensor named in report),
 * HATCH_ERR_UNSUPPORTED (another architecture), HATCH_ERR_SHAPE (a tensor of the wrong shape),
 * HATCH_ERR_OUT_OF_MEMORY / HATCH_ERR_OUT_OF_DEVICE_MEMORY. */
hatch_status hatch_model_load(hatch_backend *be, const char *path, const char *mmproj_path,
                              const hatch_model_options *opt, hatch_model **out, hatch_model_report *report);
void hatch_model_destroy(hatch_model *m); /* NULL-safe */

const hatch_qwen25vl_config *hatch_model_config(const hatch_model *m);
/* Bytes the model holds on its backend (weights + KV cache), and the weight bytes one decoded token
 * reads (the text layers' matrices and the output projection): the decode bandwidth model. */
uint64_t hatch_model_device_bytes(const hatch_model *m);
uint64_t hatch_model_decode_bytes(const hatch_model *m);
hatch_backend *hatch_model_backend(const hatch_model *m);

/* ---- images ------------------------------------------------------------------------------------
 * Qwen2-VL's smart_resize: the size an image of w x h is resized to (multiples of patch * merge,
 * pixels within [min_pixels, max_pixels], aspect kept as closely as rounding allows).
 * HATCH_ERR_SHAPE for an aspect ratio over 200 or a side that rounds to nothing. */
hatch_status hatch_model_image_size(const hatch_model *m, int w, int h, int *out_w, int *out_h);

/* Vision tower + merger for one RGB8 image, (h, w, 3) packed, already of a size
 * hatch_model_image_size gives: *out (LLM width, n_tokens) F32 on the model's backend, n_tokens =
 * (h / 28) * (w / 28) merged tokens in raster order (the caller owns *out). */
hatch_status hatch_model_encode_image(hatch_model *m, const uint8_t *rgb, int w, int h, hatch_tensor **out);

/* M-RoPE positions as Qwen2.5-VL's get_rope_index makes them: text tokens count up on all three
 * components; the tokens of image i (grid_h[i] x grid_w[i] merged tokens, placed where the
 * image_token_id runs are) get (t = start, h = start + row, w = start + col); text resumes at the
 * largest position so far + 1. pos: (3, n) component-major. *next: the position of the next token.
 * HATCH_ERR_SHAPE when the image tokens do not match the grids. */
hatch_status hatch_model_rope_positions(const hatch_model *m, const int32_t *ids, int n, const int *grid_h,
                                        const int *grid_w, int n_images, int32_t *pos, int32_t *next);

/* ---- the language model -------------------------------------------------------------------------
 * Clears the KV cache (a new prompt). */
void hatch_model_reset(hatch_model *m);
int hatch_model_n_past(const hatch_model *m);
/* Forgets the cache past its first n_past tokens, so the next forward continues from there (scoring
 * several continuations of one prefix). HATCH_ERR_INVALID_ARGUMENT unless 0 <= n_past <= n_past now. */
hatch_status hatch_model_rewind(hatch_model *m, int n_past);
/* The KV cache's element type: HATCH_TYPE_F16 (default) or HATCH_TYPE_F32 (options.kv_f32). */
hatch_type hatch_model_kv_type(const hatch_model *m);

/* Runs n tokens after the cached ones. ids (n); pos (3, n) from hatch_model_rope_positions;
 * images: the encoded images in prompt order, spliced in at the image_token_id runs (may be NULL
 * with n_images 0). logits: (n_logits, vocab) floats for the last n_logits tokens (1 for generation,
 * n for tests); may be NULL with n_logits 0. Errors: HATCH_ERR_TOO_LARGE (past the KV cache). */
hatch_status hatch_model_forward(hatch_model *m, const int32_t *ids, int n, const int32_t *pos,
                                 hatch_tensor *const *images, int n_images, float *logits, int n_logits);

#endif
