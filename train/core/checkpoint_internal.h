/* Shared by the checkpoint writer and reader: the on-disk layout constants (hatch/train_checkpoint.h
 * documents the format). */
#ifndef HATCH_CHECKPOINT_INTERNAL_H
#define HATCH_CHECKPOINT_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "checkpoints are written in host order, which must be little-endian"
#endif

#define CKPT_MAGIC "HATCHCKP"
#define CKPT_HEADER 16u
#define CKPT_ENTRY 80u
#define CKPT_NAME 48u

static inline uint64_t ckpt_align(uint64_t x) { return (x + HATCH_CKPT_ALIGN - 1) & ~(uint64_t)(HATCH_CKPT_ALIGN - 1); }

static inline void ckpt_put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static inline void ckpt_put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static inline uint32_t ckpt_get32(const uint8_t *p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return v;
}
static inline uint64_t ckpt_get64(const uint8_t *p) {
  uint64_t v;
  memcpy(&v, p, 8);
  return v;
}

/* 1..47 bytes of [A-Za-z0-9._-]. */
static inline bool ckpt_name_ok(const char *s, size_t n) {
  if (n == 0 || n > HATCH_CKPT_MAX_NAME) return false;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
          c == '-'))
      return false;
  }
  return true;
}

#endif
