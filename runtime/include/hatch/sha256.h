/* SHA-256 (FIPS 180-4), incremental. Used to identify weights files (`hatch info`, the "model"
 * block of every answer). */
#ifndef HATCH_SHA256_H
#define HATCH_SHA256_H

#include <stddef.h>
#include <stdint.h>

#include "hatch/status.h"

#define HATCH_SHA256_DIGEST 32

typedef struct hatch_sha256 {
  uint32_t h[8];
  uint64_t n_bytes;   /* message bytes so far */
  uint8_t block[64];  /* pending partial block: (n_bytes % 64) */
} hatch_sha256;

void hatch_sha256_init(hatch_sha256 *s);
void hatch_sha256_update(hatch_sha256 *s, const void *data, size_t n);
/* Writes the digest; s must be re-initialized before reuse. */
void hatch_sha256_final(hatch_sha256 *s, uint8_t out[HATCH_SHA256_DIGEST]);

/* One-shot digest of a buffer. */
void hatch_sha256_buf(const void *data, size_t n, uint8_t out[HATCH_SHA256_DIGEST]);
/* Lower-case hex of a digest: 64 characters and a NUL. */
void hatch_sha256_hex(const uint8_t digest[HATCH_SHA256_DIGEST], char out[2 * HATCH_SHA256_DIGEST + 1]);
/* Digest of a file's contents, read in chunks. HATCH_ERR_NOT_FOUND / HATCH_ERR_IO. */
hatch_status hatch_sha256_file(const char *path, uint8_t out[HATCH_SHA256_DIGEST]);

#endif
