/* Qwen2.5-VL model configuration: the Hugging Face config.json (transformers' Qwen2_5_VLConfig,
 * both layouts: text fields at the top level as the published checkpoints have them, or nested under
 * "text_config" as newer transformers write them) and preprocessor_config.json, validated, plus the
 * values derived from them and the real Qwen2.5-VL-3B-Instruct numbers.
 *
 * Every fallible function returns a hatch_status and never prints, exits or aborts; the message goes
 * into a hatch_config_report naming the file and the field
 * ("config.json: vision_config.window_size 100 is not a multiple of patch_size * spatial_merge_size = 28").
 * Inputs are untrusted: every size has an upper bound and the whole model a parameter budget, so a
 * hostile config cannot make a caller allocate terabytes. Config structs are plain values owned by
 * the caller; nothing here keeps memory after a call returns, nothing needs a destroy. */
#ifndef HATCH_MODEL_CONFIG_H
#define HATCH_MODEL_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hatch/status.h"

#define HATCH_CONFIG_MAX_FILE (4u << 20)     /* bytes of a config.json / preprocessor_config.json */
#define HATCH_CONFIG_MAX_VOCAB (1 << 22)     /* 4M tokens (Qwen: 151936) */
#define HATCH_CONFIG_MAX_HIDDEN 32768        /* model width (Qwen2.5-VL-72B: 8192) */
#define HATCH_CONFIG_MAX_FFN (1 << 18)       /* MLP width (72B: 29568) */
#define HATCH_CONFIG_MAX_LAYERS 1024
#define HATCH_CONFIG_MAX_HEADS 1024
#define HATCH_CONFIG_MAX_POSITIONS (1 << 24)
#define HATCH_CONFIG_MAX_PARAMS 200000000000ll /* ~ weights of a 200B model: refuse beyond */
#define HATCH_CONFIG_MAX_FULLATT 256          /* entries of vision_config.fullatt_block_indexes */
#define HATCH_CONFIG_MAX_EOS 8                /* eos_token_id may be a list */
#define HATCH_CONFIG_MAX_PIXELS (1 << 28)     /* preprocessor max_pixels */

typedef struct hatch_config_report {
  char message[512];
} hatch_config_report;

/* The language model (Qwen2 decoder with M-RoPE). */
typedef struct hatch_qwen25vl_text_config {
  int64_t vocab_size;
  int64_t hidden_size;
  int64_t intermediate_size;
  int32_t num_hidden_layers;
  int32_t num_attention_heads;
  int32_t num_key_value_heads;   /* defaults to num_attention_heads */
  double rms_norm_eps;           /* default 1e-5 (transformers) */
  double rope_theta;             /* default 1e6 */
  int64_t max_position_embeddings; /* default 32768 */
  bool tie_word_embeddings;      /* default false */
  int32_t mrope_section[3];      /* rotary pairs for (temporal, height, width); sum = head_dim / 2 */
  char hidden_act[16];           /* "silu" */
  char torch_dtype[16];          /* "bfloat16", "float16", "float32"; "" when absent */
  int32_t bos_token_id;          /* -1 when absent or null */
  int32_t n_eos;                 /* 0..HATCH_CONFIG_MAX_EOS */
  int32_t eos_token_id[HATCH_CONFIG_MAX_EOS];
} hatch_qwen25vl_text_config;

/* The vision tower (ViT with window attention, 2D RoPE) and its 2x2 merger. */
typedef struct hatch_qwen25vl_vision_config {
  int32_t depth;
  int32_t hidden_size;
  int32_t intermediate_size;
  int32_t num_heads;
  int32_t in_channels;           /* "in_channels" or the older "in_chans"; default 3 */
  int32_t patch_size;            /* default 14 */
  int32_t spatial_merge_size;    /* default 2 */
  int32_t temporal_patch_size;   /* default 2 */
  int32_t window_size;           /* pixels; default 112 */
  int32_t out_hidden_size;       /* merger output = text hidden_size */
  int32_t tokens_per_second;     /* video time scale of M-RoPE; default 4 */
  int32_t n_fullatt;
  int32_t fullatt_block_indexes[HATCH_CONFIG_MAX_FULLATT]; /* strictly increasing, < depth */
  char hidden_act[16];           /* "silu" */
  double rope_theta;             /* not in config.json: Qwen2.5-VL fixes 10000 */
  double rms_norm_eps;           /* not in config.json: Qwen2.5-VL fixes 1e-6 */
} hatch_qwen25vl_vision_config;

/* Image preprocessing (preprocessor_config.json, Qwen2VLImageProcessor). */
typedef struct hatch_qwen25vl_preprocess_config {
  int64_t min_pixels;            /* default 3136 (56*56); or size.shortest_edge */
  int64_t max_pixels;            /* default 12845056 (28*28*16384); or size.longest_edge */
  int32_t patch_size;            /* must equal vision patch_size */
  int32_t merge_size;            /* must equal vision spatial_merge_size */
  int32_t temporal_patch_size;   /* must equal vision temporal_patch_size */
  float image_mean[3];           /* CLIP: 0.48145466, 0.4578275, 0.40821073 */
  float image_std[3];            /* CLIP: 0.26862954, 0.26130258, 0.27577711 */
} hatch_qwen25vl_preprocess_config;

typedef struct hatch_qwen25vl_config {
  hatch_qwen25vl_text_config text;
  hatch_qwen25vl_vision_config vision;
  hatch_qwen25vl_preprocess_config preprocess;
  int32_t image_token_id;        /* default 151655 */
  int32_t video_token_id;        /* default 151656 */
  int32_t vision_start_token_id; /* default 151652 */
  int32_t vision_end_token_id;   /* default 151653 */
} hatch_qwen25vl_config;

/* Values every consumer needs, computed once from a valid config. */
typedef struct hatch_qwen25vl_derived {
  int32_t head_dim;              /* hidden / heads (128 for 3B) */
  int32_t n_kv_groups;           /* heads / kv heads: q heads per kv head (8) */
  int32_t q_dim;                 /* heads * head_dim (2048) */
  int32_t kv_dim;                /* kv heads * head_dim (256) */
  int32_t vision_head_dim;       /* vision hidden / heads (80) */
  int32_t merged_width;          /* vision hidden * merge^2: the merger's input (5120) */
  int32_t patch_dim;             /* in_channels * temporal * patch^2: one flattened patch (1176) */
  int32_t window_patches;        /* window_size / patch_size: patches per window side (8) */
  int32_t window_merged;         /* window_size / (patch * merge): merged tokens per side (4) */
  int32_t pixel_multiple;        /* patch * merge: image sides are multiples of this (28) */
  int64_t text_ffn_padded;       /* intermediate_size padded to the Q8_0 block of 32 */
  int64_t vision_ffn_padded;     /* 3420 -> 3424 */
  int64_t n_params;              /* weight count estimate (embeddings once when tied) */
} hatch_qwen25vl_derived;

/* Qwen2.5-VL-3B-Instruct as published (config.json and preprocessor_config.json). */
hatch_qwen25vl_config hatch_qwen25vl_config_3b(void);
/* transformers' defaults for the optional fields, zeros for the required sizes; what the parser
 * starts from. */
void hatch_qwen25vl_config_defaults(hatch_qwen25vl_config *cfg);
void hatch_qwen25vl_preprocess_defaults(hatch_qwen25vl_preprocess_config *pp);

/* Checks a config; HATCH_ERR_INVALID_ARGUMENT / HATCH_ERR_TOO_LARGE / HATCH_ERR_UNSUPPORTED with a
 * message naming the field. `name` prefixes messages ("config.json"; NULL -> "config"). */
hatch_status hatch_qwen25vl_config_validate(const hatch_qwen25vl_config *cfg, const char *name,
                                            hatch_config_report *report);
/* The preprocessor values alone (bounds, std > 0), not against a vision tower. */
hatch_status hatch_qwen25vl_preprocess_validate(const hatch_qwen25vl_preprocess_config *pp, const char *name,
                                                hatch_config_report *report);
/* Fills *out from a config that validates (validates it first). */
hatch_status hatch_qwen25vl_config_derive(const hatch_qwen25vl_config *cfg, hatch_qwen25vl_derived *out);
/* Whether vision block `layer` uses full attention (in fullatt_block_indexes) rather than windows. */
bool hatch_qwen25vl_vision_layer_is_full(const hatch_qwen25vl_config *cfg, int layer);

/* Parses config.json text (len bytes, need not be NUL-terminated) and validates it.
 * cfg->preprocess gets the defaults. HATCH_ERR_CORRUPT for bad JSON or a field of the wrong type,
 * HATCH_ERR_INVALID_ARGUMENT for a missing required field or a failed check, HATCH_ERR_UNSUPPORTED
 * for an activation or rope type hatch does not implement, HATCH_ERR_TOO_LARGE past a bound. */
hatch_status hatch_qwen25vl_config_parse(const char *json, size_t len, const char *name, hatch_qwen25vl_config *cfg,
                                         hatch_config_report *report);
/* Parses preprocessor_config.json over *pp (fields absent keep their values: start from
 * hatch_qwen25vl_preprocess_defaults) and checks it on its own (not against a vision config). */
hatch_status hatch_qwen25vl_preprocess_parse(const char *json, size_t len, const char *name,
                                             hatch_qwen25vl_preprocess_config *pp, hatch_config_report *report);
/* Loads dir/config.json and, when present, dir/preprocessor_config.json, then validates the whole
 * (preprocessor patch/merge/temporal sizes must match the vision tower). */
hatch_status hatch_qwen25vl_config_load_dir(const char *dir, hatch_qwen25vl_config *cfg, hatch_config_report *report);

#endif
