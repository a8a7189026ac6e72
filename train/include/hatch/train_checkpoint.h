/* Training checkpoints: a small binary container of named sections, and the trainer's seeded PRNG
 * whose state a checkpoint saves (bit-identical resume).
 *
 * File layout (all integers little-endian), version 1:
 *   offset 0   "HATCHCKP"                          8-byte magic
 *   offset 8   u32 version (1), u32 n_sections (<= HATCH_CKPT_MAX_SECTIONS)
 *   offset 16  n_sections x 80-byte entries:
 *                char name[48]  NUL-padded, 1..47 bytes of [A-Za-z0-9._-]
 *                u32 kind       hatch_ckpt_kind
 *                u32 crc32      CRC-32 (zlib's polynomial) of the payload
 *                u64 offset     absolute, a multiple of 64
 *                u64 size       payload bytes (a multiple of 4 for F32)
 *                u64 reserved   0
 *   then       u32 crc32 of bytes [0, 16 + 80 n_sections)  (the header and table)
 *   payloads   in table order, each at its 64-aligned offset, zero padding between; the file
 *              ends right after the last payload (or after the table CRC when there is none).
 * The usual sections: "config" (JSON), "layout" (JSON, hatch_ckpt_writer_add_layout), "params",
 * "adam.m", "adam.v" (F32), "state" (JSON: step, rng, data cursor, options). The trainer may add
 * any other.
 *
 * Writing is crash-safe: a temporary file beside the target, fsync, rename over it, fsync the
 * directory. Reading checks everything before handing out a byte: magic, version, table CRC, each
 * entry (name, kind, alignment, bounds, overlap, order) and each payload's CRC; a failure is
 * HATCH_ERR_CORRUPT (HATCH_ERR_UNSUPPORTED for another version) with a report naming the section
 * and the file offset. */
#ifndef HATCH_TRAIN_CHECKPOINT_H
#define HATCH_TRAIN_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "hatch/status.h"
#include "hatch/train_optim.h"

#define HATCH_CKPT_VERSION 1u
#define HATCH_CKPT_MAX_NAME 47
#define HATCH_CKPT_MAX_SECTIONS 4096
#define HATCH_CKPT_ALIGN 64u

typedef enum hatch_ckpt_kind {
  HATCH_CKPT_BYTES = 0, /* opaque */
  HATCH_CKPT_JSON = 1,  /* UTF-8 JSON text (not NUL-terminated in the file) */
  HATCH_CKPT_F32 = 2,   /* little-endian float32 array */
  HATCH_CKPT_KIND_COUNT
} hatch_ckpt_kind;

typedef struct hatch_ckpt_report {
  char message[384]; /* e.g. "run/ckpt.bin: section 'adam.v' [offset 4096, 1024 bytes): CRC mismatch" */
  uint64_t offset;   /* file offset where the problem was found (0 if none) */
} hatch_ckpt_report;

/* CRC-32 as zlib's crc32(crc, data, n): start with crc = 0. */
uint32_t hatch_crc32(uint32_t crc, const void *data, size_t n);

/* ---- writer ------------------------------------------------------------------------------------ */

typedef struct hatch_ckpt_writer hatch_ckpt_writer;

hatch_status hatch_ckpt_writer_create(hatch_ckpt_writer **out);
void hatch_ckpt_writer_destroy(hatch_ckpt_writer *w); /* accepts NULL */

/* Adds a section. data is BORROWED (not copied) until the write; names unique, valid as above
 * (HATCH_ERR_INVALID_ARGUMENT otherwise). F32 sizes are in bytes and a multiple of 4. */
hatch_status hatch_ckpt_writer_add(hatch_ckpt_writer *w, const char *name, hatch_ckpt_kind kind, const void *data,
                                   uint64_t size);
/* The same, copying data (for small sections built on the stack: JSON text). */
hatch_status hatch_ckpt_writer_add_copy(hatch_ckpt_writer *w, const char *name, hatch_ckpt_kind kind,
                                        const void *data, uint64_t size);
/* A "layout" JSON section describing the parameter buffer: {"n_params":N,"tensors":[{"name":..,
 * "offset":..,"n":..,"ndim":..}, ...]}, for hatch_ckpt_check_layout. */
hatch_status hatch_ckpt_writer_add_layout(hatch_ckpt_writer *w, int64_t n_params, const hatch_param_desc *descs,
                                          int n_descs);

/* Writes the file crash-safe (see above); on failure `path` is untouched. report may be NULL. */
hatch_status hatch_ckpt_writer_write(const hatch_ckpt_writer *w, const char *path, hatch_ckpt_report *report);
/* The same bytes into a malloc'd buffer (*out, free() it). */
hatch_status hatch_ckpt_writer_write_mem(const hatch_ckpt_writer *w, uint8_t **out, size_t *size);

/* ---- reader ------------------------------------------------------------------------------------ */

typedef struct hatch_ckpt hatch_ckpt;

typedef struct hatch_ckpt_section {
  const char *name;   /* NUL-terminated */
  hatch_ckpt_kind kind;
  uint64_t offset;    /* in the file */
  uint64_t size;
  const void *data;   /* (size) bytes, 64-aligned in memory for hatch_ckpt_open, valid until close */
} hatch_ckpt_section;

/* Reads and validates the whole file (NOT_FOUND, IO, CORRUPT, UNSUPPORTED, OUT_OF_MEMORY). */
hatch_status hatch_ckpt_open(const char *path, hatch_ckpt **out, hatch_ckpt_report *report);
/* The same from memory: data is BORROWED and must outlive the handle; name prefixes messages
 * (NULL -> "checkpoint"). */
hatch_status hatch_ckpt_parse(const void *data, size_t size, const char *name, hatch_ckpt **out,
                              hatch_ckpt_report *report);
void hatch_ckpt_close(hatch_ckpt *c); /* accepts NULL */

int hatch_ckpt_section_count(const hatch_ckpt *c);
/* Section i in file order; NULL when out of range. */
const hatch_ckpt_section *hatch_ckpt_section_at(const hatch_ckpt *c, int i);
/* By name; NULL when absent. */
const hatch_ckpt_section *hatch_ckpt_find(const hatch_ckpt *c, const char *name);

/* Copies F32 section `name` into dst (n floats). HATCH_ERR_NOT_FOUND when absent, HATCH_ERR_TYPE
 * when not F32, HATCH_ERR_SHAPE when it does not hold exactly n floats (report says both counts). */
hatch_status hatch_ckpt_read_f32(const hatch_ckpt *c, const char *name, float *dst, int64_t n,
                                 hatch_ckpt_report *report);
/* JSON section as a malloc'd NUL-terminated string (*out, free() it). */
hatch_status hatch_ckpt_read_json(const hatch_ckpt *c, const char *name, char **out, hatch_ckpt_report *report);

/* Compares the "layout" section with the model's: the same n_params and the same tensors (name,
 * offset, n, ndim) in the same order. HATCH_ERR_SHAPE naming the first difference ("tensor 3
 * 'blk.0.attn_k.weight': checkpoint has 4096 elements, the model 8192"); HATCH_ERR_NOT_FOUND
 * without a layout section. */
hatch_status hatch_ckpt_check_layout(const hatch_ckpt *c, int64_t n_params, const hatch_param_desc *descs,
                                     int n_descs, hatch_ckpt_report *report);

/* ---- the trainer's PRNG ----------------------------------------------------------------------- */

/* xoshiro256** (Blackman & Vigna), seeded through splitmix64. The whole state is the struct: save
 * it with hatch_rng_to_hex into the checkpoint's "state" JSON and resume exactly. */
typedef struct hatch_rng {
  uint64_t s[4];
} hatch_rng;

void hatch_rng_seed(hatch_rng *r, uint64_t seed);
/* Independent stream `stream` of a seed (e.g. one per data worker): seed mixed with stream. */
void hatch_rng_seed_stream(hatch_rng *r, uint64_t seed, uint64_t stream);
uint64_t hatch_rng_next(hatch_rng *r);
/* Uniform in [0, 1) with 53 (double) / 24 (float) random bits. */
double hatch_rng_uniform(hatch_rng *r);
float hatch_rng_uniformf(hatch_rng *r);
/* Uniform integer in [0, n), unbiased (Lemire's method); 0 when n == 0. */
uint64_t hatch_rng_below(hatch_rng *r, uint64_t n);
/* Standard normal (Box-Muller; consumes two draws, no cached spare). */
double hatch_rng_normal(hatch_rng *r);
/* Fisher-Yates shuffle of idx[0..n). */
void hatch_rng_shuffle_i64(hatch_rng *r, int64_t *idx, int64_t n);
/* State as 64 lower-case hex digits (s[0] first, each big-endian), and back. from_hex:
 * HATCH_ERR_CORRUPT unless exactly 64 hex digits; the all-zero state is refused too. */
void hatch_rng_to_hex(const hatch_rng *r, char out[65]);
hatch_status hatch_rng_from_hex(const char *hex, hatch_rng *r);

#endif
