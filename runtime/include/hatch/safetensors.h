/* safetensors reader: single files, sharded checkpoints (model.safetensors.index.json) and the
 * checkpoint directories Hugging Face writes. Input of `hatch convert`.
 *
 * Format: u64 little-endian header length N, N bytes of JSON
 *   {"name": {"dtype": "BF16", "shape": [d0, d1, ...], "data_offsets": [begin, end]}, ...,
 *    "__metadata__": {"key": "value", ...}}
 * then the data section; offsets are relative to its start. Files are mmapped read-only.
 *
 * Inputs are untrusted. A file opens only when everything checks out: N <= 100 MB and inside the
 * file, the header is one JSON object, every dtype is known, dims are >= 0 with no overflow in
 * elements * dtype size, every tensor's [begin, end) lies inside the data section and holds exactly
 * its bytes, tensors do not overlap, leave no holes and cover the data section (as the reference
 * implementation requires), names are unique, non-empty and <= 512 bytes. Known but non-float dtypes
 * (I64, U8, BOOL, F64, ...) parse and are listed; only BF16/F16/F32 convert to float32.
 *
 * Every fallible function returns a hatch_status and never prints, exits or aborts; the message goes
 * into a hatch_st_report naming the file, the tensor and the byte offsets
 * ("model-00001-of-00002.safetensors: tensor 'lm_head.weight': data_offsets [0, 96] end past the
 * data section (64 bytes; file bytes 8+120+0..96)"). report may be NULL everywhere.
 *
 * Ownership: a hatch_st_file / hatch_st_checkpoint owns its mapping and its tensor table; the
 * hatch_st_tensor pointers, names and data pointers it hands out live until it is closed. Data
 * pointers are NOT aligned in general (the header length is arbitrary): read through memcpy or the
 * conversion helpers. Closing functions accept NULL. */
#ifndef HATCH_SAFETENSORS_H
#define HATCH_SAFETENSORS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hatch/status.h"

#define HATCH_ST_MAX_HEADER 100000000ull /* bytes of header JSON (the reference's limit) */
#define HATCH_ST_MAX_NAME 512            /* bytes of a tensor name */
#define HATCH_ST_MAX_DIMS 8              /* Qwen2.5-VL needs 5 (the Conv3d patch embedding) */
#define HATCH_ST_MAX_INDEX 67108864ull   /* bytes of a model.safetensors.index.json */
#define HATCH_ST_MAX_SHARDS 4096

/* The dtypes of the safetensors spec with a whole number of bytes per element. */
typedef enum hatch_st_dtype {
  HATCH_ST_BOOL,
  HATCH_ST_U8,
  HATCH_ST_I8,
  HATCH_ST_F8_E5M2,
  HATCH_ST_F8_E4M3,
  HATCH_ST_F8_E8M0,
  HATCH_ST_I16,
  HATCH_ST_U16,
  HATCH_ST_F16,
  HATCH_ST_BF16,
  HATCH_ST_I32,
  HATCH_ST_U32,
  HATCH_ST_F32,
  HATCH_ST_F64,
  HATCH_ST_I64,
  HATCH_ST_U64,
  HATCH_ST_C64,
  HATCH_ST_DTYPE_COUNT
} hatch_st_dtype;

/* "BF16" as the file spells it; "?" outside the enum. */
const char *hatch_st_dtype_name(hatch_st_dtype dtype);
/* Bytes per element; 0 outside the enum. */
size_t hatch_st_dtype_size(hatch_st_dtype dtype);
/* True for BF16, F16 and F32: the dtypes the float32 conversion accepts. */
bool hatch_st_dtype_is_float(hatch_st_dtype dtype);

/* Where and why an open failed; "" on success. */
typedef struct hatch_st_report {
  char message[1024];
} hatch_st_report;

/* One tensor of a file. shape[0] is the outermost (slowest) dim, as in PyTorch. */
typedef struct hatch_st_tensor {
  const char *name;  /* NUL-terminated, <= HATCH_ST_MAX_NAME bytes */
  const char *file;  /* the file it lives in, as named when opened (for messages) */
  hatch_st_dtype dtype;
  int n_dims;                       /* 0 for a scalar */
  int64_t shape[HATCH_ST_MAX_DIMS]; /* (shape[0], ..., shape[n_dims-1]); unused dims 1 */
  int64_t n_elems;                  /* product of shape; 1 for a scalar */
  const uint8_t *data;              /* (nbytes) little-endian, unaligned; valid while open */
  uint64_t nbytes;                  /* n_elems * dtype size */
  uint64_t file_offset;             /* of data[0] in the file: 8 + N + begin */
} hatch_st_tensor;

typedef struct hatch_st_file hatch_st_file;

/* Opens and validates a .safetensors file (mmap). *out NULL on failure.
 * HATCH_ERR_NOT_FOUND (no such file), HATCH_ERR_IO (not a regular file, read/map failed),
 * HATCH_ERR_CORRUPT (truncated, bad JSON, bad offsets/shape/overlap/duplicate),
 * HATCH_ERR_TOO_LARGE (header over 100 MB, a name over 512 bytes, more than 8 dims),
 * HATCH_ERR_UNSUPPORTED (a dtype hatch does not know), HATCH_ERR_OUT_OF_MEMORY,
 * HATCH_ERR_INVALID_ARGUMENT (NULL path/out). */
hatch_status hatch_st_file_open(const char *path, hatch_st_file **out, hatch_st_report *report);
/* The same checks over bytes in memory (the whole file). `bytes` is borrowed: it must outlive the
 * file handle. `name` names the input in messages (may be NULL: "<memory>"). */
hatch_status hatch_st_file_parse(const void *bytes, size_t size, const char *name, hatch_st_file **out,
                                 hatch_st_report *report);
void hatch_st_file_close(hatch_st_file *file);

const char *hatch_st_file_name(const hatch_st_file *file);
int64_t hatch_st_file_count(const hatch_st_file *file);
/* Tensor i in name order (strcmp), 0 <= i < count; NULL outside. */
const hatch_st_tensor *hatch_st_file_tensor(const hatch_st_file *file, int64_t i);
/* Binary search by exact name; NULL when absent. */
const hatch_st_tensor *hatch_st_file_find(const hatch_st_file *file, const char *name);
/* __metadata__: count, entry i (key/value NUL-terminated, owned by the file), lookup by key. */
int64_t hatch_st_file_metadata_count(const hatch_st_file *file);
bool hatch_st_file_metadata_at(const hatch_st_file *file, int64_t i, const char **key, const char **value);
const char *hatch_st_file_metadata_get(const hatch_st_file *file, const char *key);

/* A checkpoint: one file or the shards an index names. Tensors are looked up by name across
 * shards. */
typedef struct hatch_st_checkpoint hatch_st_checkpoint;

/* Opens a Hugging Face checkpoint directory: model.safetensors when present (as transformers
 * prefers), else model.safetensors.index.json. HATCH_ERR_NOT_FOUND when neither exists. */
hatch_status hatch_st_checkpoint_open_dir(const char *dir, hatch_st_checkpoint **out, hatch_st_report *report);
/* Opens a sharded checkpoint from its index: {"metadata": {...}, "weight_map": {tensor: file}}.
 * Shard names are relative to the index's directory and must be plain file names (no '/', no
 * ".."). Every shard is opened once; every tensor of the weight map must exist in its shard
 * (HATCH_ERR_NOT_FOUND otherwise), and every tensor of a shard must be in the weight map with that
 * shard (HATCH_ERR_CORRUPT otherwise), so a name resolves to exactly one tensor. */
hatch_status hatch_st_checkpoint_open_index(const char *index_path, hatch_st_checkpoint **out,
                                            hatch_st_report *report);
/* One .safetensors file as a checkpoint. */
hatch_status hatch_st_checkpoint_open_file(const char *path, hatch_st_checkpoint **out, hatch_st_report *report);
void hatch_st_checkpoint_close(hatch_st_checkpoint *ckpt);

int hatch_st_checkpoint_n_files(const hatch_st_checkpoint *ckpt);
const hatch_st_file *hatch_st_checkpoint_file(const hatch_st_checkpoint *ckpt, int i);
/* All tensors of all shards, in name order; NULL outside [0, count). */
int64_t hatch_st_checkpoint_count(const hatch_st_checkpoint *ckpt);
const hatch_st_tensor *hatch_st_checkpoint_tensor(const hatch_st_checkpoint *ckpt, int64_t i);
const hatch_st_tensor *hatch_st_checkpoint_find(const hatch_st_checkpoint *ckpt, const char *name);
/* Sum of nbytes over all tensors. */
uint64_t hatch_st_checkpoint_data_bytes(const hatch_st_checkpoint *ckpt);

/* Elements [first, first + n) of a BF16/F16/F32 tensor, in storage order, to float32 (exact: every
 * BF16 and F16 value is a float32). dst: (n). HATCH_ERR_TYPE for other dtypes,
 * HATCH_ERR_INVALID_ARGUMENT for a range outside the tensor or NULL pointers. */
hatch_status hatch_st_tensor_to_f32(const hatch_st_tensor *t, int64_t first, int64_t n, float *dst);
/* Row r of the tensor seen as (n_elems / row, row) with row = shape[n_dims-1], the innermost dim
 * (ggml's ne[0]): a (out, in) weight has out rows of in floats, a 1-D tensor and a scalar one row.
 * dst: (dst_len >= row). HATCH_ERR_INVALID_ARGUMENT when r is not a row or dst is too short. */
hatch_status hatch_st_tensor_row_to_f32(const hatch_st_tensor *t, int64_t row, float *dst, int64_t dst_len);

#endif
