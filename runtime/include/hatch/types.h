/* Element types of hatch tensors and their storage layout (ggml-compatible). */
#ifndef HATCH_TYPES_H
#define HATCH_TYPES_H

#include <stddef.h>
#include <stdint.h>

typedef enum hatch_type {
  HATCH_TYPE_F32,
  HATCH_TYPE_F16,
  HATCH_TYPE_Q8_0, /* ggml block: fp16 scale d, then 32 int8 q; x = d * q */
  HATCH_TYPE_I32,
  HATCH_TYPE_U8,
  HATCH_TYPE_COUNT
} hatch_type;

#define HATCH_Q8_0_BLOCK 32

/* ggml's block_q8_0: 34 bytes, no padding. */
typedef struct hatch_block_q8_0 {
  uint16_t d; /* fp16 scale */
  int8_t qs[HATCH_Q8_0_BLOCK];
} hatch_block_q8_0;

const char *hatch_type_name(hatch_type type);
/* Elements per block (32 for Q8_0, 1 otherwise) and bytes per block. */
int64_t hatch_type_block_elems(hatch_type type);
size_t hatch_type_block_bytes(hatch_type type);
/* Bytes of one row of n elements; 0 when n is not a whole number of blocks. */
size_t hatch_type_row_bytes(hatch_type type, int64_t n);

uint16_t hatch_fp32_to_fp16(float f); /* round to nearest even, inf/nan kept */
float hatch_fp16_to_fp32(uint16_t h);

/* Exact fp16 -> fp32 without branches, so loops over it vectorize: shift the exponent and mantissa
 * into place, rebias by multiplying by 2^112 (subnormals come out normalized), then force the
 * exponent of inf/nan and restore the sign. */
static inline float hatch_fp16_to_fp32_inline(uint16_t h) {
  uint32_t bits = (uint32_t)(h & 0x7fffu) << 13;
  float f;
  __builtin_memcpy(&f, &bits, 4);
  f *= 0x1p112f;
  __builtin_memcpy(&bits, &f, 4);
  uint32_t infnan = 0u - (((uint32_t)(h & 0x7c00u) + 0x0400u) >> 15); /* all ones iff exponent 31 */
  bits |= (infnan & 0x7f800000u) | ((uint32_t)(h & 0x8000u) << 16);
  __builtin_memcpy(&f, &bits, 4);
  return f;
}

/* Quantize n floats (n a multiple of 32) into n/32 Q8_0 blocks, ggml's rounding:
 * d = max|x| / 127, q = round(x / d). */
void hatch_quantize_row_q8_0(const float *x, hatch_block_q8_0 *y, int64_t n);
void hatch_dequantize_row_q8_0(const hatch_block_q8_0 *x, float *y, int64_t n);
/* Quantize a row of k floats into k_padded (a multiple of 32, >= k) elements, zero padding the
 * tail: Qwen2.5-VL's 3420-wide MLP becomes 3424 wide in Q8_0. */
void hatch_quantize_row_q8_0_padded(const float *x, int64_t k, hatch_block_q8_0 *y, int64_t k_padded);
static inline int64_t hatch_pad_to_block(int64_t k) { return (k + 31) / 32 * 32; }

#endif
