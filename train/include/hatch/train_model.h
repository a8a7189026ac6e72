/* The Qwen2.5-VL family on the CPU for training: forward and backward in plain fp32 C, threaded over
 * all cores with results that do not depend on the thread count (every output element is summed in
 * a fixed order by one thread). The same config (hatch_qwen25vl_config) and the same GGUF tensor
 * names, shapes and order as the runtime (hatch_qwen25vl_tensor_specs): the parameters are one flat
 * float buffer holding every tensor in file order, so a trained model is written with
 * hatch_qwen25vl_write_gguf and loads in the runtime unchanged. The runtime's forward
 * (runtime/model/qwen25vl_*.c) is the inference truth this code matches.
 *
 * Use: create (sized once for the largest sample: images, pixels, tokens), init_random or load_gguf,
 * then per step: zero_grads, forward, backward (grads accumulate), an optimizer over params/grads.
 * The model runs on a training backend (train/model/train_backend.h): the CPU by default, where
 * params() and grads() are the model's own buffers; on a device (create_on), they are host mirrors
 * that hatch_train_model_pull / hatch_train_model_push synchronize.
 * One model is used by one thread at a time (it runs its own thread pool inside).
 * Every fallible function returns a hatch_status and writes a message naming the tensor, file or
 * field into the report (may be NULL); nothing prints, exits or aborts. */
#ifndef HATCH_TRAIN_MODEL_H
#define HATCH_TRAIN_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "hatch/model_config.h"
#include "hatch/model_write.h"
#include "hatch/status.h"

typedef struct hatch_train_report {
  char message[512];
} hatch_train_report;

/* One parameter tensor: a slice of the flat params (and grads) buffer. */
typedef struct hatch_train_tensor {
  char name[64];   /* llama.cpp name, e.g. "blk.3.attn_q.weight", "v.patch_embd.weight.1" */
  int n_dims;
  int64_t ne[4];   /* ggml order: ne[0] innermost (a matrix (out, in) has ne = {in, out}) */
  int64_t offset;  /* first float in params / grads */
  int64_t count;   /* floats */
  bool matrix;     /* stored in the caller's matrix type on save; weight decay applies */
} hatch_train_tensor;

/* The largest sample the workspace holds (allocated once at create). */
typedef struct hatch_train_limits {
  int max_images;        /* images per sample (0: text only) */
  int64_t max_image_pixels; /* w * h of one image, both multiples of 28 */
  int max_tokens;        /* prompt + answer tokens, image tokens included */
} hatch_train_limits;

/* An RGB8 image (h, w, 3), w and h multiples of patch * merge (28): normalized and patchified
 * exactly as the runtime does (CLIP mean/std of the config). Borrowed for the call. */
typedef struct hatch_train_image {
  const uint8_t *rgb; /* (h, w, 3) */
  int w, h;
} hatch_train_image;

/* Floating-point operations (multiply-add = 2) of the last forward and backward, and the total. */
typedef struct hatch_train_flops {
  uint64_t forward, backward, total;
} hatch_train_flops;

typedef struct hatch_train_model hatch_train_model;

/* ---- lifetime and parameters ------------------------------------------------------------------- */

/* A model for `cfg` (validated here) with params zeroed (call init_random or load_gguf).
 * n_threads: 0 = all online cores. Errors: HATCH_ERR_INVALID_ARGUMENT (config or limits, message
 * names the field), HATCH_ERR_UNSUPPORTED (spatial_merge_size != 2, temporal_patch_size != 2),
 * HATCH_ERR_OUT_OF_MEMORY. */
hatch_status hatch_train_model_create(const hatch_qwen25vl_config *cfg, const hatch_train_limits *limits,
                                      int n_threads, hatch_train_model **out, hatch_train_report *report);

/* Where the model's tensors live and its ops run. */
typedef enum hatch_train_device_kind { HATCH_TRAIN_DEVICE_CPU = 0, HATCH_TRAIN_DEVICE_CUDA = 1 } hatch_train_device_kind;

typedef struct hatch_train_device {
  hatch_train_device_kind kind;
  int cuda_device;          /* CUDA: the device index */
  bool bf16;                /* CUDA: matmuls in bf16 with fp32 accumulation (fp32 master weights) */
  bool cpu_separate_memory; /* CPU: behave as a device (host mirrors, pull / push): tests the device paths */
} hatch_train_device;

/* Create on a device; NULL = the CPU with shared memory (what hatch_train_model_create does).
 * A device that cannot be used (hatch built without CUDA, no GPU) fails with the backend's status
 * (HATCH_ERR_UNSUPPORTED) and its reason in the report. n_threads: the CPU backend's threads. */
hatch_status hatch_train_model_create_on(const hatch_qwen25vl_config *cfg, const hatch_train_limits *limits,
                                         int n_threads, const hatch_train_device *device, hatch_train_model **out,
                                         hatch_train_report *report);
void hatch_train_model_destroy(hatch_train_model *m); /* NULL is fine */
const char *hatch_train_model_backend_name(const hatch_train_model *m); /* "cpu", "cuda"; NULL for NULL */

/* Host mirrors <-> backend, for a model on a device (no-ops, HATCH_OK, when params() and grads() are
 * the backend's own memory). pull: backend params and grads -> the buffers params() / grads()
 * return (call after backward before reading grads on the host, before a checkpoint). push: those
 * buffers -> the backend (after writing params or grads on the host). Forward and backward read and
 * write the backend only; init_random and load_gguf push the params themselves; zero_grads zeroes
 * the backend's grads (the host grads change at the next pull). */
hatch_status hatch_train_model_pull(hatch_train_model *m);
hatch_status hatch_train_model_push(hatch_train_model *m);
/* Waits for the work queued on the model's backend and reports its errors (a no-op on the CPU). */
hatch_status hatch_train_model_sync(hatch_train_model *m);
/* The backend's measured matmul peak at its linear ops' precision (FLOP/s; an n x n x n product, best
 * of reps): the denominator of model FLOP utilization. HATCH_ERR_UNSUPPORTED where the backend has
 * none (the CPU: use the runtime's measured FMA ceiling). */
hatch_status hatch_train_model_peak_flops(hatch_train_model *m, int64_t n, int reps, double *flops_per_s);

const hatch_qwen25vl_config *hatch_train_model_config(const hatch_train_model *m);
const hatch_train_limits *hatch_train_model_limits(const hatch_train_model *m);
int hatch_train_model_n_threads(const hatch_train_model *m);

int64_t hatch_train_model_n_params(const hatch_train_model *m);
float *hatch_train_model_params(hatch_train_model *m); /* (n_params), owned by the model */
float *hatch_train_model_grads(hatch_train_model *m);  /* (n_params), same layout */
int hatch_train_model_n_tensors(const hatch_train_model *m);
const hatch_train_tensor *hatch_train_model_tensor(const hatch_train_model *m, int i); /* NULL out of range */
const hatch_train_tensor *hatch_train_model_find(const hatch_train_model *m, const char *name); /* NULL: absent */

/* HF-like init, deterministic for a seed: matrices, embeddings and the patch embedding N(0, 0.02),
 * RMSNorm weights 1, biases 0. */
void hatch_train_model_init_random(hatch_train_model *m, uint64_t seed);
void hatch_train_model_zero_grads(hatch_train_model *m);

/* ---- files ------------------------------------------------------------------------------------- */

/* The config stored in a hatch / `hatch convert` GGUF (llama.cpp's keys, read by the runtime's loader). */
hatch_status hatch_train_config_from_gguf(const char *path, hatch_qwen25vl_config *cfg, hatch_train_report *report);
/* Reads every tensor of m's config from a GGUF (F32, F16, BF16 or Q8_0, dequantized), checking
 * names and shapes: HATCH_ERR_NOT_FOUND / HATCH_ERR_SHAPE / HATCH_ERR_TYPE name the tensor. */
hatch_status hatch_train_model_load_gguf(hatch_train_model *m, const char *path, hatch_train_report *report);
/* config_from_gguf + create + load_gguf. */
hatch_status hatch_train_model_open(const char *path, const hatch_train_limits *limits, int n_threads,
                                    hatch_train_model **out, hatch_train_report *report);
/* Writes params (the backend's, not the host mirror's) through hatch_qwen25vl_write_gguf:
 * opt->matrix_type F32 for exact round trips, Q8_0 for export; opt->add_metadata adds the tokenizer. */
hatch_status hatch_train_model_save_gguf(const hatch_train_model *m, const char *path,
                                         const hatch_qwen25vl_write_options *opt, hatch_train_report *report);

/* ---- growth ------------------------------------------------------------------------------------ */

#define HATCH_TRAIN_MAX_GROWN_LAYERS 256
/* Depth growth: a new model (on the CPU, src's limits and threads) with src's config but n_layers LLM
 * decoder blocks (more than src's, at most HATCH_TRAIN_MAX_GROWN_LAYERS). It gets src's tensors (read
 * from src's backend, so a device model needs no pull first); each
 * new block, appended after src's, gets random tensors (init_random's, for `seed`) except its two
 * output projections (attn_output, ffn_down), which are zero. Every new block is then an identity,
 * so the grown model's logits equal src's exactly, and training can use the added depth.
 * HATCH_ERR_INVALID_ARGUMENT for a block count out of range (named in the report). */
hatch_status hatch_train_model_grow_depth(const hatch_train_model *src, int n_layers, uint64_t seed,
                                          hatch_train_model **out, hatch_train_report *report);

/* ---- vision tower (PaStA uses this path alone) -------------------------------------------------- */

/* Runs the vision tower + merger over n_images images (the same tower for each; window and full
 * attention never cross images). Features of all images are kept in the workspace, concatenated
 * in image order, each image's merged tokens in raster order of its merged grid (h/28, w/28): what
 * the runtime's hatch_model_encode_image returns. */
hatch_status hatch_train_vision_forward(hatch_train_model *m, const hatch_train_image *images, int n_images);
/* (n_rows, out_hidden) features of the last vision forward; *n_rows = sum of (h/28)*(w/28). Host
 * memory owned by the model (downloaded at each call on a device; NULL if that fails). */
const float *hatch_train_vision_features(const hatch_train_model *m, int64_t *n_rows);
/* Rows [*row0, *row0 + *n_rows) of image i in the features. */
hatch_status hatch_train_vision_image_rows(const hatch_train_model *m, int image, int64_t *row0, int64_t *n_rows);
/* d_features: (n_rows, out_hidden), the features' layout. Accumulates into the vision grads (the
 * patch embedding, blocks and merger); needs the activations of the last vision forward. */
hatch_status hatch_train_vision_backward(hatch_train_model *m, const float *d_features);

/* ---- language model ---------------------------------------------------------------------------- */

/* Forward over token ids (n): images (if any) go through the vision tower and their merged features
 * replace the embeddings of the image_token_id runs (run k has image k's (h/28)*(w/28) tokens);
 * M-RoPE positions as the runtime computes them. Logits (n, vocab) stay in the workspace.
 * targets (n) may be NULL: target[t] is the token to predict at position t, -1 for none; then
 * logp (n, may be NULL) gets log p(target[t] | ids[0..t]) (0 where no target).
 * Errors: HATCH_ERR_TOO_LARGE past the limits, HATCH_ERR_SHAPE when image runs and images disagree,
 * HATCH_ERR_INVALID_ARGUMENT for a token or target outside the vocab. */
hatch_status hatch_train_forward(hatch_train_model *m, const int32_t *ids, int n, const hatch_train_image *images,
                                 int n_images, const int32_t *targets, float *logp);
/* (n, vocab) logits of the last forward. Host memory owned by the model (downloaded at each call
 * on a device; NULL if that fails). */
const float *hatch_train_logits(const hatch_train_model *m, int *n, int64_t *vocab);
/* d_logp (n): dL/dlogp[t] (0 where no target). Accumulates grads into every parameter, through the
 * spliced image features into the vision tower. Needs the last forward's targets. */
hatch_status hatch_train_backward(hatch_train_model *m, const float *d_logp);
/* The same from dL/dlogits (n, vocab) directly (KL terms, distillation). */
hatch_status hatch_train_backward_logits(hatch_train_model *m, const float *d_logits);
/* Mean cross-entropy over the positions with a target (QA SFT): forward, *loss = -mean logp, and
 * when `backward` also d_logp = -1/N and the backward. *n_targets may be NULL; N = 0 gives loss 0
 * and no gradient. */
hatch_status hatch_train_mean_ce(hatch_train_model *m, const int32_t *ids, int n, const hatch_train_image *images,
                                 int n_images, const int32_t *targets, bool backward, float *loss, int *n_targets);

/* ---- accounting -------------------------------------------------------------------------------- */

hatch_train_flops hatch_train_model_flops(const hatch_train_model *m);

#endif
