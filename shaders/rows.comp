#version 450
#extension GL_GOOGLE_include_directive : require
// Row gather (GET: dst row i = src row idx[i], zeros for an index out of range) and row copy
// (SET: dst row r0 + i = src row i, r0 = row_offset + at[0] * unit when unit > 0, read here so a
// recorded graph appends to the KV cache at the current length). SET: one invocation per float;
// SET_F16: one per pair of floats, converted to fp16 (round to nearest even, as the CPU's
// hatch_fp32_to_fp16) and stored as one word. Writes at or past `limit` dst elements are dropped.
#include "common.glsl"

layout(push_constant) uniform P {
  uint n;          // floats to write (SET_F16: even)
  uint c;          // row length (SET_F16: even)
  uint m;          // GET: rows of src; SET: unit (0: at unused)
  uint row_offset; // SET: first dst row, before at[0] * unit
  uint limit;      // SET: dst elements
} p;

#ifdef GET
layout(binding = 0) readonly buffer S { float src[]; };   // (m, c)
layout(binding = 1) readonly buffer I { int idx[]; };     // (n / c)
layout(binding = 2) writeonly buffer D { float dst[]; };  // (n / c, c)
void main() {
  uint e = hatch_global_id();
  if (e >= p.n) return;
  uint row = e / p.c, k = e % p.c;
  int i = idx[row];
  dst[e] = (i < 0 || uint(i) >= p.m) ? 0.0 : src[uint(i) * p.c + k];
}
#else
layout(binding = 0) readonly buffer S { float src[]; };  // (n / c, c)
layout(binding = 2) readonly buffer A { int at[]; };     // (>= 1) when unit > 0
// A negative or huge at[0] drops the rows (no 32-bit wrap back into dst).
bool at_ok() { return p.m == 0u || (at[0] >= 0 && uint(at[0]) <= p.limit / (p.m * p.c)); }
uint first_row() { return p.m == 0u ? p.row_offset : p.row_offset + uint(at[0]) * p.m; }
#ifdef SET_F16
layout(binding = 1) writeonly buffer D { uint dst[]; };  // (rows, c) fp16 pairs

uint f32_to_f16(float f) {
  uint x = floatBitsToUint(f);
  uint sign = (x >> 16) & 0x8000u, e = (x >> 23) & 0xffu, m = x & 0x7fffffu;
  if (e == 0xffu) return sign | 0x7c00u | (m != 0u ? 0x200u | (m >> 13) : 0u);
  int ee = int(e) - 112; // fp16 biased exponent
  if (ee >= 31) return sign | 0x7c00u;
  if (ee <= 0) { // subnormal or zero
    if (ee < -10) return sign;
    m |= 0x800000u;
    uint shift = uint(14 - ee), hm = m >> shift, rem = m & ((1u << shift) - 1u), halfway = 1u << (shift - 1u);
    if (rem > halfway || (rem == halfway && (hm & 1u) != 0u)) hm++;
    return sign | hm;
  }
  uint h = (uint(ee) << 10) | (m >> 13), rem = m & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1u) != 0u)) h++; // a carry rounds up to the next exponent / inf
  return sign | h;
}

void main() {
  uint e = hatch_global_id();
  if (2u * e >= p.n) return;
  if (!at_ok()) return;
  uint w = first_row() * (p.c / 2u) + e;
  if (2u * w + 1u >= p.limit) return;
  dst[w] = f32_to_f16(src[2u * e]) | (f32_to_f16(src[2u * e + 1u]) << 16);
}
#else
layout(binding = 1) writeonly buffer D { float dst[]; }; // (rows, c)
void main() {
  uint e = hatch_global_id();
  if (e >= p.n) return;
  if (!at_ok()) return;
  uint o = first_row() * p.c + e;
  if (o >= p.limit) return;
  dst[o] = src[e];
}
#endif
#endif
