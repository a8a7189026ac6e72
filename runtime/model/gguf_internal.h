/* Internals shared by the GGUF reader files (gguf_read.c, gguf_kv.c). */
#ifndef HATCH_GGUF_INTERNAL_H
#define HATCH_GGUF_INTERNAL_H

#include <stdlib.h>
#include <string.h>

#include "hatch/gguf.h"

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "GGUF is read in place: little-endian hosts only");

typedef struct gguf_kv {
  const char *key;       /* NUL-terminated, in the handle's name arena */
  hatch_gguf_type type;
  hatch_gguf_type arr_type;
  uint64_t arr_len;
  uint64_t value_off;    /* file offset of the value; arrays: of the first element */
  uint64_t str_first;    /* string arrays: index of element 0 in the handle's str_offs */
} gguf_kv;

struct hatch_gguf {
  const uint8_t *base;   /* (size) */
  uint64_t size;
  void *map;             /* mmap'd region or NULL (parse from memory) */
  size_t map_size;
  uint32_t version;
  uint32_t alignment;
  uint64_t data_offset;
  int64_t n_kv;
  gguf_kv *kv;           /* (n_kv) */
  int64_t n_tensors;
  hatch_gguf_tensor *tensors; /* (n_tensors) */
  uint64_t *str_offs;    /* offsets of the length field of every string-array element */
  char *names;           /* arena of NUL-terminated keys and tensor names */
  /* open-addressing hash indexes (power-of-two sizes), -1 = empty */
  int64_t *kv_index, *tensor_index;
  uint64_t kv_index_size, tensor_index_size;
};

static inline uint64_t gguf_rd_u64(const uint8_t *p) {
  uint64_t v;
  memcpy(&v, p, 8);
  return v;
}
static inline uint32_t gguf_rd_u32(const uint8_t *p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return v;
}

/* FNV-1a over a NUL-terminated string. */
static inline uint64_t gguf_hash(const char *s) {
  uint64_t h = 1469598103934665603ull;
  for (; *s; s++) h = (h ^ (uint8_t)*s) * 1099511628211ull;
  return h;
}

/* Bytes of one element of a fixed-size metadata type; 0 for STRING, ARRAY and unknown types. */
uint64_t gguf_type_size(hatch_gguf_type t);

/* Grows *arr (elem-sized items, capacity *cap) to hold need_n, doubling from 16. */
static inline bool hatch_gguf_grow(void **arr, uint64_t *cap, uint64_t need_n, size_t elem) {
  if (need_n <= *cap) return true;
  uint64_t c = *cap ? *cap : 16;
  while (c < need_n) c *= 2;
  void *p = realloc(*arr, (size_t)c * elem);
  if (!p) return false;
  *arr = p;
  *cap = c;
  return true;
}

#endif
