/* `hatch convert`: a Hugging Face Qwen2.5-VL checkpoint directory (config.json, optional
 * preprocessor_config.json, tokenizer.json, model.safetensors or a sharded index; BF16/F16/F32) to
 * one hatch GGUF (llama.cpp's tensor names and keys, hatch/model_write.h), with the tokenizer in
 * llama.cpp's tokenizer.ggml.* keys. Vision qkv are split into q/k/v; the Conv3D patch embedding into
 * its two time slices. Streams tensor by tensor: memory stays near one tensor's size. */
#ifndef HATCH_CONVERT_H
#define HATCH_CONVERT_H

#include "hatch/status.h"
#include "hatch/tokenizer.h"
#include "hatch/types.h"

typedef struct hatch_convert_report {
  char message[512]; /* names the file and tensor or field */
} hatch_convert_report;

/* matrix_type: HATCH_TYPE_Q8_0 (the runtime default), F16 or F32. name: general.name (NULL: the
 * directory's last component). */
hatch_status hatch_convert_hf(const char *dir, const char *out_path, hatch_type matrix_type, const char *name,
                              hatch_convert_report *report);

/* The tokenizer stored in a GGUF's tokenizer.ggml.* keys (a hatch or llama.cpp file). */
typedef struct hatch_gguf hatch_gguf;
typedef struct hatch_gguf_writer hatch_gguf_writer;
/* Writes tok as llama.cpp's tokenizer.ggml.* keys, padded with "[PAD<id>]" UNUSED tokens to n_vocab
 * (the model's embedding rows). */
hatch_status hatch_gguf_add_tokenizer(hatch_gguf_writer *w, const hatch_tokenizer *tok, int64_t n_vocab);
hatch_status hatch_tokenizer_from_gguf(const hatch_gguf *g, hatch_tokenizer **out, hatch_tokenizer_error *err);

#endif
