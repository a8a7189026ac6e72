/* GGUF: ggml's weights file (versions 2 and 3, little-endian), read through a read-only mmap and
 * written byte-compatible with the `gguf` Python package (gguf-py 0.17.1).
 *
 * File layout (all integers little-endian):
 *   "GGUF" u32 version, u64 n_tensors, u64 n_kv
 *   n_kv x { string key, u32 value type, value }        string = u64 length + bytes (no NUL)
 *                                                        array  = u32 elem type, u64 n, n items
 *   n_tensors x { string name, u32 n_dims (<= 4), u64 ne[n_dims], u32 ggml type, u64 offset }
 *   zero padding to general.alignment (default 32), then the data section; each tensor's offset
 *   is relative to it and a multiple of the alignment.
 * ne[0] is the innermost (row) dimension: a torch tensor of shape (out, in) has ne = {in, out}.
 *
 * Names llama.cpp uses for Qwen2.5-VL (checked against gguf-py constants.py/tensor_mapping.py,
 * convert_hf_to_gguf.py Qwen2VLVisionModel and tools/mtmd/clip-impl.h):
 *
 *   text model, general.architecture = "qwen2vl"
 *     qwen2vl.context_length  .embedding_length  .block_count  .feed_forward_length   u32
 *     qwen2vl.attention.head_count  .attention.head_count_kv                           u32
 *     qwen2vl.rope.freq_base  qwen2vl.attention.layer_norm_rms_epsilon                f32
 *     qwen2vl.rope.dimension_sections                       i32[4]  (M-RoPE t/h/w/unused)
 *     token_embd.weight                 (d_model, n_vocab)
 *     blk.N.attn_norm.weight            (d_model)
 *     blk.N.attn_{q,k,v}.weight/.bias   (d_model, n_head*hd) / (n_head_kv*hd) for k, v
 *     blk.N.attn_output.weight          (n_head*hd, d_model)
 *     blk.N.ffn_norm.weight             (d_model)
 *     blk.N.ffn_{gate,up}.weight        (d_model, d_ff);  blk.N.ffn_down.weight (d_ff, d_model)
 *     output_norm.weight                (d_model)
 *     output.weight                     (d_model, n_vocab), absent when tied to token_embd
 *
 *   vision tower + merger ("mmproj"), general.architecture = "clip"
 *     clip.projector_type = "qwen2.5vl_merger"   clip.has_vision_encoder (bool)   clip.use_silu
 *     clip.vision.block_count .embedding_length .feed_forward_length .attention.head_count
 *     clip.vision.attention.layer_norm_epsilon .patch_size .image_size .projection_dim
 *     clip.vision.spatial_merge_size .n_wa_pattern (or .wa_layer_indexes) .window_size
 *     clip.vision.image_mean / .image_std   f32[3]
 *     v.patch_embd.weight, v.patch_embd.weight.1  (p, p, 3, d_vit): the Conv3D's two time slices
 *     v.blk.N.attn_{q,k,v}.weight/.bias, v.blk.N.attn_out.weight/.bias
 *     v.blk.N.ln1.weight, v.blk.N.ln2.weight      (RMSNorm, no bias)
 *     v.blk.N.ffn_{gate,up,down}.weight/.bias
 *     v.post_ln.weight                            (the merger's ln_q)
 *     mm.0.weight/.bias  (4*d_vit, 4*d_vit)       mm.2.weight/.bias  (4*d_vit, d_model)
 *
 * Ownership: a hatch_gguf owns its mapping; every pointer it hands out (names, strings, tensor
 * data) stays valid until hatch_gguf_close. Strings inside the file are views (hatch_gguf_str),
 * not NUL-terminated; keys and tensor names are NUL-terminated copies. */
#ifndef HATCH_GGUF_H
#define HATCH_GGUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "hatch/status.h"
#include "hatch/types.h"

#define HATCH_GGUF_DEFAULT_ALIGNMENT 32u
#define HATCH_GGUF_MAX_DIMS 4
#define HATCH_GGUF_MAX_NAME 63 /* writer limit: llama.cpp's GGML_MAX_NAME - 1 */

/* Metadata value types, numbered as in the file. */
typedef enum hatch_gguf_type {
  HATCH_GGUF_TYPE_UINT8 = 0,
  HATCH_GGUF_TYPE_INT8 = 1,
  HATCH_GGUF_TYPE_UINT16 = 2,
  HATCH_GGUF_TYPE_INT16 = 3,
  HATCH_GGUF_TYPE_UINT32 = 4,
  HATCH_GGUF_TYPE_INT32 = 5,
  HATCH_GGUF_TYPE_FLOAT32 = 6,
  HATCH_GGUF_TYPE_BOOL = 7,
  HATCH_GGUF_TYPE_STRING = 8,
  HATCH_GGUF_TYPE_ARRAY = 9,
  HATCH_GGUF_TYPE_UINT64 = 10,
  HATCH_GGUF_TYPE_INT64 = 11,
  HATCH_GGUF_TYPE_FLOAT64 = 12,
  HATCH_GGUF_TYPE_COUNT
} hatch_gguf_type;

/* ggml tensor types, numbered as in ggml.h. The reader knows the block layout of all of them (so
 * it can validate and list any llama.cpp file); what the runtime can compute with is up to the
 * loader (see hatch_ggml_to_hatch_type). */
typedef enum hatch_ggml_type {
  HATCH_GGML_TYPE_F32 = 0,
  HATCH_GGML_TYPE_F16 = 1,
  HATCH_GGML_TYPE_Q4_0 = 2,
  HATCH_GGML_TYPE_Q4_1 = 3,
  HATCH_GGML_TYPE_Q5_0 = 6,
  HATCH_GGML_TYPE_Q5_1 = 7,
  HATCH_GGML_TYPE_Q8_0 = 8,
  HATCH_GGML_TYPE_Q8_1 = 9,
  HATCH_GGML_TYPE_Q2_K = 10,
  HATCH_GGML_TYPE_Q3_K = 11,
  HATCH_GGML_TYPE_Q4_K = 12,
  HATCH_GGML_TYPE_Q5_K = 13,
  HATCH_GGML_TYPE_Q6_K = 14,
  HATCH_GGML_TYPE_Q8_K = 15,
  HATCH_GGML_TYPE_IQ2_XXS = 16,
  HATCH_GGML_TYPE_IQ2_XS = 17,
  HATCH_GGML_TYPE_IQ3_XXS = 18,
  HATCH_GGML_TYPE_IQ1_S = 19,
  HATCH_GGML_TYPE_IQ4_NL = 20,
  HATCH_GGML_TYPE_IQ3_S = 21,
  HATCH_GGML_TYPE_IQ2_S = 22,
  HATCH_GGML_TYPE_IQ4_XS = 23,
  HATCH_GGML_TYPE_I8 = 24,
  HATCH_GGML_TYPE_I16 = 25,
  HATCH_GGML_TYPE_I32 = 26,
  HATCH_GGML_TYPE_I64 = 27,
  HATCH_GGML_TYPE_F64 = 28,
  HATCH_GGML_TYPE_IQ1_M = 29,
  HATCH_GGML_TYPE_BF16 = 30,
  HATCH_GGML_TYPE_TQ1_0 = 34,
  HATCH_GGML_TYPE_TQ2_0 = 35,
  HATCH_GGML_TYPE_MXFP4 = 39,
  HATCH_GGML_TYPE_COUNT = 40
} hatch_ggml_type;

/* "F32", "Q8_0", ... as ggml spells them; NULL for a type the reader does not know. */
const char *hatch_ggml_type_name(uint32_t type);
/* Block layout: elements per block and bytes per block. false for an unknown type. */
bool hatch_ggml_type_block(uint32_t type, int64_t *block_elems, uint64_t *block_bytes);
/* The hatch tensor type for a ggml type (F32, F16, Q8_0, I32); HATCH_ERR_TYPE otherwise. */
hatch_status hatch_ggml_to_hatch_type(uint32_t type, hatch_type *out);
/* "uint32", "string", "array", ...; "?" outside the enum. */
const char *hatch_gguf_type_name(hatch_gguf_type type);

/* Where and why a parse or write failed. message names the file and the key/tensor/field, e.g.
 * "model.gguf: tensor 'blk.3.attn_q.weight': data [offset 123456, 456 bytes) runs past the end of
 * the file (size 1000)". offset: byte offset in the file the problem was found at (0 if none). */
typedef struct hatch_gguf_report {
  char message[384];
  uint64_t offset;
} hatch_gguf_report;

/* A string inside the file: not NUL-terminated, not validated as UTF-8. */
typedef struct hatch_gguf_str {
  const char *data;
  uint64_t len;
} hatch_gguf_str;

/* One metadata value. Scalars fill the matching member (u for unsigned and bool, i for signed, f
 * for floats, s for strings); arrays fill arr_type and arr_len (elements through hatch_gguf_arr_*). */
typedef struct hatch_gguf_value {
  hatch_gguf_type type;
  hatch_gguf_type arr_type;
  uint64_t arr_len;
  union {
    uint64_t u;
    int64_t i;
    double f;
    bool b;
    hatch_gguf_str s;
  };
} hatch_gguf_value;

/* One tensor of an open file. */
typedef struct hatch_gguf_tensor {
  const char *name;  /* NUL-terminated */
  uint32_t type;     /* hatch_ggml_type */
  int n_dims;        /* 0..4 */
  int64_t ne[4];     /* elements per dimension, ne[0] innermost; dims past n_dims are 1 */
  int64_t n_elems;
  uint64_t offset;   /* absolute byte offset of the data in the file */
  uint64_t nbytes;
  const void *data;  /* into the mapping: (nbytes); aligned to the file's alignment when the
                        mapping is (always for hatch_gguf_open) */
} hatch_gguf_tensor;

typedef struct hatch_gguf hatch_gguf;

/* Opens and validates `path` (mmap, read-only). Every count, length, type, offset and size is
 * checked before use: a file that opens is safe to walk. Errors: HATCH_ERR_NOT_FOUND (no file),
 * HATCH_ERR_IO, HATCH_ERR_CORRUPT (malformed), HATCH_ERR_UNSUPPORTED (version, big-endian file,
 * unknown tensor type), HATCH_ERR_OUT_OF_MEMORY. report may be NULL. */
hatch_status hatch_gguf_open(const char *path, hatch_gguf **out, hatch_gguf_report *report);
/* The same from memory: `data` is borrowed (not copied) and must outlive the handle. `name`
 * prefixes messages (NULL -> "gguf"). */
hatch_status hatch_gguf_parse(const void *data, size_t size, const char *name, hatch_gguf **out,
                              hatch_gguf_report *report);
/* Unmaps and frees; NULL is fine. */
void hatch_gguf_close(hatch_gguf *g);

uint32_t hatch_gguf_version(const hatch_gguf *g);
uint32_t hatch_gguf_alignment(const hatch_gguf *g);
uint64_t hatch_gguf_file_size(const hatch_gguf *g);
uint64_t hatch_gguf_data_offset(const hatch_gguf *g); /* start of the data section */
const void *hatch_gguf_bytes(const hatch_gguf *g);    /* the whole file: (file_size) */

/* ---- metadata ---------------------------------------------------------------------------------- */

int64_t hatch_gguf_kv_count(const hatch_gguf *g);
/* Index of `key`, -1 when absent. */
int64_t hatch_gguf_find_key(const hatch_gguf *g, const char *key);
/* Key of KV i (NUL-terminated); NULL when i is out of range. */
const char *hatch_gguf_kv_key(const hatch_gguf *g, int64_t i);
/* Value of KV i. HATCH_ERR_INVALID_ARGUMENT when i is out of range. */
hatch_status hatch_gguf_kv_value(const hatch_gguf *g, int64_t i, hatch_gguf_value *out);

/* Typed getters by key. HATCH_ERR_NOT_FOUND when absent, HATCH_ERR_TYPE when the stored type is
 * not exactly the one asked for (get_str: STRING; get_f32: FLOAT32; ...). */
hatch_status hatch_gguf_get_u32(const hatch_gguf *g, const char *key, uint32_t *out);
hatch_status hatch_gguf_get_i32(const hatch_gguf *g, const char *key, int32_t *out);
hatch_status hatch_gguf_get_u64(const hatch_gguf *g, const char *key, uint64_t *out);
hatch_status hatch_gguf_get_i64(const hatch_gguf *g, const char *key, int64_t *out);
hatch_status hatch_gguf_get_f32(const hatch_gguf *g, const char *key, float *out);
hatch_status hatch_gguf_get_bool(const hatch_gguf *g, const char *key, bool *out);
hatch_status hatch_gguf_get_str(const hatch_gguf *g, const char *key, hatch_gguf_str *out);
/* Coercing getters: any integer type (not bool) whose value lies in [lo, hi] (HATCH_ERR_TOO_LARGE
 * otherwise); any float type, or an integer, as double. */
hatch_status hatch_gguf_get_int(const hatch_gguf *g, const char *key, int64_t lo, int64_t hi, int64_t *out);
hatch_status hatch_gguf_get_float(const hatch_gguf *g, const char *key, double *out);
/* Array by key: its KV index, element type and length. HATCH_ERR_TYPE when the value is not an
 * array. Pass the index to hatch_gguf_arr_*. */
hatch_status hatch_gguf_get_arr(const hatch_gguf *g, const char *key, int64_t *kv_index,
                                hatch_gguf_type *elem_type, uint64_t *len);
/* Element j of array KV i, without copying: integer elements (not bool) as int64 (a uint64 above
 * INT64_MAX is HATCH_ERR_TOO_LARGE), float elements as double, bool as 0/1 through arr_int,
 * strings as views. HATCH_ERR_TYPE on an element-type mismatch, HATCH_ERR_INVALID_ARGUMENT for an
 * index out of range or a KV that is not an array. */
hatch_status hatch_gguf_arr_int(const hatch_gguf *g, int64_t i, uint64_t j, int64_t *out);
hatch_status hatch_gguf_arr_float(const hatch_gguf *g, int64_t i, uint64_t j, double *out);
hatch_status hatch_gguf_arr_str(const hatch_gguf *g, int64_t i, uint64_t j, hatch_gguf_str *out);
/* Raw little-endian elements of a fixed-size array (not strings): (len * elem size) bytes, maybe
 * unaligned; NULL for string arrays or a bad index. */
const void *hatch_gguf_arr_data(const hatch_gguf *g, int64_t i);

/* ---- tensors ----------------------------------------------------------------------------------- */

int64_t hatch_gguf_tensor_count(const hatch_gguf *g);
/* Tensor i in file order; NULL when out of range. */
const hatch_gguf_tensor *hatch_gguf_tensor_at(const hatch_gguf *g, int64_t i);
/* By name; NULL when absent. */
const hatch_gguf_tensor *hatch_gguf_find_tensor(const hatch_gguf *g, const char *name);

/* ---- writer ------------------------------------------------------------------------------------
 * Builds a GGUF v3 in order, the way gguf-py's GGUFWriter lays it out: header, KVs in the order
 * added, tensor infos in the order added, zero padding to the alignment, then each tensor's data
 * followed by zero padding to the alignment (also after the last one). The same content added in
 * the same order gives the same bytes as gguf-py 0.17.1. Adding "general.alignment" (u32, a power of
 * two) changes the alignment, as gguf-py's add_custom_alignment does. */

typedef struct hatch_gguf_writer hatch_gguf_writer;

/* Streams tensor data at write time: fill buf with bytes [offset, offset + n) of the tensor's data
 * (n is a whole number of rows of ne[0] elements, unless one row alone exceeds the chunk size).
 * A non-OK status aborts the write and is returned. */
typedef hatch_status (*hatch_gguf_fill_fn)(void *user, const char *name, void *buf, uint64_t offset, uint64_t n);

hatch_status hatch_gguf_writer_create(hatch_gguf_writer **out);
void hatch_gguf_writer_destroy(hatch_gguf_writer *w);

/* KVs. Keys are non-empty, unique (HATCH_ERR_INVALID_ARGUMENT otherwise). */
hatch_status hatch_gguf_writer_add_u8(hatch_gguf_writer *w, const char *key, uint8_t v);
hatch_status hatch_gguf_writer_add_i8(hatch_gguf_writer *w, const char *key, int8_t v);
hatch_status hatch_gguf_writer_add_u16(hatch_gguf_writer *w, const char *key, uint16_t v);
hatch_status hatch_gguf_writer_add_i16(hatch_gguf_writer *w, const char *key, int16_t v);
hatch_status hatch_gguf_writer_add_u32(hatch_gguf_writer *w, const char *key, uint32_t v);
hatch_status hatch_gguf_writer_add_i32(hatch_gguf_writer *w, const char *key, int32_t v);
hatch_status hatch_gguf_writer_add_u64(hatch_gguf_writer *w, const char *key, uint64_t v);
hatch_status hatch_gguf_writer_add_i64(hatch_gguf_writer *w, const char *key, int64_t v);
hatch_status hatch_gguf_writer_add_f32(hatch_gguf_writer *w, const char *key, float v);
hatch_status hatch_gguf_writer_add_f64(hatch_gguf_writer *w, const char *key, double v);
hatch_status hatch_gguf_writer_add_bool(hatch_gguf_writer *w, const char *key, bool v);
hatch_status hatch_gguf_writer_add_str(hatch_gguf_writer *w, const char *key, const char *v);
hatch_status hatch_gguf_writer_add_strn(hatch_gguf_writer *w, const char *key, const char *v, uint64_t len);
/* Array of a fixed-size type (not STRING/ARRAY): items is (n) elements in host (little-endian)
 * layout, bool as one byte 0/1. Copied. */
hatch_status hatch_gguf_writer_add_arr(hatch_gguf_writer *w, const char *key, hatch_gguf_type elem_type,
                                       const void *items, uint64_t n);
/* Array of strings: lens NULL means NUL-terminated items. Copied. */
hatch_status hatch_gguf_writer_add_arr_str(hatch_gguf_writer *w, const char *key, const char *const *items,
                                           const uint64_t *lens, uint64_t n);

/* Tensors: name unique, <= HATCH_GGUF_MAX_NAME bytes; 1..4 dims, ne > 0, ne[0] a whole number of
 * blocks; nbytes must equal the size the type and shape give. `data` is borrowed until the write
 * (not copied). add_tensor_fn streams the data through fill at write time instead. */
hatch_status hatch_gguf_writer_add_tensor(hatch_gguf_writer *w, const char *name, uint32_t ggml_type, int n_dims,
                                          const int64_t *ne, const void *data, uint64_t nbytes);
hatch_status hatch_gguf_writer_add_tensor_fn(hatch_gguf_writer *w, const char *name, uint32_t ggml_type,
                                             int n_dims, const int64_t *ne, hatch_gguf_fill_fn fill, void *user);

/* Writes the file: to a temporary file beside `path`, fsync, rename over `path`, fsync the
 * directory; on failure `path` is untouched and the temporary file removed. report may be NULL. */
hatch_status hatch_gguf_writer_write(const hatch_gguf_writer *w, const char *path, hatch_gguf_report *report);
/* The same bytes into a malloc'd buffer (*out, free() it). */
hatch_status hatch_gguf_writer_write_mem(const hatch_gguf_writer *w, uint8_t **out, size_t *size,
                                         hatch_gguf_report *report);

/* ---- hatch info -------------------------------------------------------------------------------- */

typedef struct hatch_gguf_info_options {
  bool verbose;     /* every KV (arrays abbreviated) and every tensor */
  bool json;        /* one JSON object instead of text */
  bool no_hash;     /* skip the sha256 of the file */
  int max_tensors;  /* tensor rows shown when not verbose; <= 0 -> 24 */
} hatch_gguf_info_options;

/* Prints a report on the GGUF file at `path` to `out`: architecture, name, the model's
 * dimensions (the "<arch>." keys; clip.* for mmproj files), KV count, the tensor table, bytes per
 * type, file size and sha256. opts NULL -> defaults. On a parse error nothing is printed and the
 * status and report come back (the CLI prints them). */
hatch_status hatch_gguf_print_info(FILE *out, const char *path, const hatch_gguf_info_options *opts,
                                   hatch_gguf_report *report);

#endif
