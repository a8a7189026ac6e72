/* Writing Qwen2.5-VL GGUF files: the tensor list of a config (llama.cpp's names), a writer that
 * streams every tensor from a row source (random weights, a Hugging Face checkpoint), converting to
 * the stored type, and the metadata keys.
 *
 * hatch's own files are single-file: the text model's keys and tensors ("qwen2vl") and the vision
 * tower's ("clip.vision.*", "v.*", "mm.*") in one GGUF, plus "hatch.*" keys for what llama.cpp keeps
 * elsewhere (image preprocessing limits). Matrices are stored as the caller asks (Q8_0, F16 or F32);
 * a matrix whose rows are not a whole number of Q8_0 blocks (the 3B vision MLP's 3420) is stored as
 * F16, as llama.cpp's quantizer does, so llama.cpp reads the tensors too. Vectors are F32. */
#ifndef HATCH_MODEL_WRITE_H
#define HATCH_MODEL_WRITE_H

#include <stdbool.h>
#include <stdint.h>

#include "hatch/gguf.h"
#include "hatch/model_config.h"

typedef struct hatch_qwen25vl_tensor_spec {
  char name[64];   /* llama.cpp name, e.g. "blk.3.attn_q.weight" */
  int n_dims;
  int64_t ne[4];   /* ggml order: ne[0] innermost */
  bool matrix;     /* a weight matrix (stored in the requested type); false: F32 */
} hatch_qwen25vl_tensor_spec;

/* Every tensor of the model in file order. out may be NULL (count only); at most cap written.
 * Returns the count. */
int hatch_qwen25vl_tensor_specs(const hatch_qwen25vl_config *cfg, hatch_qwen25vl_tensor_spec *out, int cap);

/* Fills rows [row0, row0 + n_rows) of a tensor as floats (row = ne[0] elements; a tensor has
 * ne[1] * ne[2] * ne[3] rows). */
typedef hatch_status (*hatch_qwen25vl_row_fn)(void *user, const hatch_qwen25vl_tensor_spec *spec, int64_t row0,
                                              int64_t n_rows, float *out);

typedef struct hatch_qwen25vl_write_options {
  const char *name;        /* general.name */
  hatch_type matrix_type;  /* HATCH_TYPE_Q8_0, F16 or F32 (no default: F32 is 0) */
  /* Extra metadata (tokenizer arrays...) added after the model keys; may be NULL. */
  hatch_status (*add_metadata)(void *user, hatch_gguf_writer *w);
  void *metadata_user;
} hatch_qwen25vl_write_options;

hatch_status hatch_qwen25vl_write_gguf(const char *path, const hatch_qwen25vl_config *cfg,
                                       const hatch_qwen25vl_write_options *opt, hatch_qwen25vl_row_fn rows,
                                       void *rows_user, hatch_gguf_report *report);

/* A row source of deterministic random weights (uniform, scaled by 1/sqrt(row length) for matrices,
 * norms near 1, small biases) for benchmarks and self-consistency tests. user: a uint64_t seed. */
hatch_status hatch_qwen25vl_random_rows(void *user, const hatch_qwen25vl_tensor_spec *spec, int64_t row0,
                                        int64_t n_rows, float *out);

#endif
