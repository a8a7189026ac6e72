#include "hatch/types.h"

#include <math.h>
#include <string.h>

_Static_assert(sizeof(hatch_block_q8_0) == 34, "Q8_0 block must match ggml's 34-byte layout");

static const struct {
  const char *name;
  int64_t block_elems;
  size_t block_bytes;
} type_traits[HATCH_TYPE_COUNT] = {
    [HATCH_TYPE_F32] = {"f32", 1, 4},
    [HATCH_TYPE_F16] = {"f16", 1, 2},
    [HATCH_TYPE_Q8_0] = {"q8_0", HATCH_Q8_0_BLOCK, sizeof(hatch_block_q8_0)},
    [HATCH_TYPE_I32] = {"i32", 1, 4},
    [HATCH_TYPE_U8] = {"u8", 1, 1},
};

const char *hatch_type_name(hatch_type type) {
  return (unsigned)type < HATCH_TYPE_COUNT ? type_traits[type].name : "invalid";
}

int64_t hatch_type_block_elems(hatch_type type) {
  return (unsigned)type < HATCH_TYPE_COUNT ? type_traits[type].block_elems : 0;
}

size_t hatch_type_block_bytes(hatch_type type) {
  return (unsigned)type < HATCH_TYPE_COUNT ? type_traits[type].block_bytes : 0;
}

size_t hatch_type_row_bytes(hatch_type type, int64_t n) {
  int64_t be = hatch_type_block_elems(type);
  if (be == 0 || n < 0 || n % be != 0) return 0;
  return (size_t)(n / be) * hatch_type_block_bytes(type);
}

uint16_t hatch_fp32_to_fp16(float f) {
  uint32_t x;
  memcpy(&x, &f, 4);
  uint32_t sign = (x >> 16) & 0x8000u;
  uint32_t exp = (x >> 23) & 0xffu;
  uint32_t mant = x & 0x7fffffu;
  if (exp == 0xff) return (uint16_t)(sign | 0x7c00u | (mant ? 0x200u : 0));
  int32_t e = (int32_t)exp - 127 + 15;
  if (e >= 31) return (uint16_t)(sign | 0x7c00u);
  if (e <= 0) {
    if (e < -10) return (uint16_t)sign;
    mant |= 0x800000u;
    uint32_t shift = (uint32_t)(14 - e);
    uint32_t half = mant >> shift;
    uint32_t rem = mant & ((1u << shift) - 1);
    uint32_t mid = 1u << (shift - 1);
    if (rem > mid || (rem == mid && (half & 1))) half++;
    return (uint16_t)(sign | half);
  }
  uint32_t half = sign | ((uint32_t)e << 10) | (mant >> 13);
  uint32_t rem = mant & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (half & 1))) half++; /* carry may round up to inf: correct */
  return (uint16_t)half;
}

float hatch_fp16_to_fp32(uint16_t h) { return hatch_fp16_to_fp32_inline(h); }

void hatch_quantize_row_q8_0(const float *x, hatch_block_q8_0 *y, int64_t n) {
  for (int64_t b = 0; b < n / HATCH_Q8_0_BLOCK; b++) {
    const float *xb = x + b * HATCH_Q8_0_BLOCK;
    float amax = 0.0f;
    for (int i = 0; i < HATCH_Q8_0_BLOCK; i++) amax = fmaxf(amax, fabsf(xb[i]));
    float d = amax / 127.0f;
    float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[b].d = hatch_fp32_to_fp16(d);
    for (int i = 0; i < HATCH_Q8_0_BLOCK; i++) y[b].qs[i] = (int8_t)roundf(xb[i] * id);
  }
}

void hatch_dequantize_row_q8_0(const hatch_block_q8_0 *x, float *y, int64_t n) {
  for (int64_t b = 0; b < n / HATCH_Q8_0_BLOCK; b++) {
    float d = hatch_fp16_to_fp32(x[b].d);
    for (int i = 0; i < HATCH_Q8_0_BLOCK; i++) y[b * HATCH_Q8_0_BLOCK + i] = d * (float)x[b].qs[i];
  }
}

void hatch_quantize_row_q8_0_padded(const float *x, int64_t k, hatch_block_q8_0 *y, int64_t k_padded) {
  int64_t full = k / HATCH_Q8_0_BLOCK * HATCH_Q8_0_BLOCK;
  hatch_quantize_row_q8_0(x, y, full);
  for (int64_t b = full / HATCH_Q8_0_BLOCK; b < k_padded / HATCH_Q8_0_BLOCK; b++) {
    float tail[HATCH_Q8_0_BLOCK] = {0};
    for (int i = 0; i < HATCH_Q8_0_BLOCK; i++) {
      int64_t src = b * HATCH_Q8_0_BLOCK + i;
      if (src < k) tail[i] = x[src];
    }
    hatch_quantize_row_q8_0(tail, y + b, HATCH_Q8_0_BLOCK);
  }
}
