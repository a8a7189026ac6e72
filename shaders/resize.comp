#version 450
#extension GL_GOOGLE_include_directive : require
// One pass of Pillow's separable bicubic resize on RGB8 (taps and fixed-point weights come from the
// host, runtime/core/image_resample.c). Each invocation makes one 32-bit word = 4 output bytes, so
// no two invocations write the same word; it loops 4 * taps times (the host keeps that under the
// loop budget, or switches to the split variants below).
//   default: acc = 2^21 + sum(pixel * weight) -> clip(acc >> 22) packed into dst words.
//   PARTIAL: invocation (word, split) sums taps [split * split_taps, +split_taps) -> int partials.
//   PACK:    sums the n_splits partials of each byte, rounds, clips and packs.
#include "common.glsl"

#define BITS 22

layout(push_constant) uniform P {
  uint n_words;     // output words: ceil(out_bytes / 4)
  uint out_bytes;   // 3 * out_w * out_rows
  uint out_w;       // output pixels per row
  uint in_w;        // input pixels per row
  uint ksize;       // weights per output index
  uint bounds_off;  // (out_size, 2) first tap, tap count: int offset in coef
  uint weights_off; // (out_size, ksize): int offset in coef
  int row_offset;   // horizontal: in row = out row + row_offset; vertical: in row = tap - row_offset
  uint vertical;
  uint split_taps;  // PARTIAL: taps per split
  uint n_splits;    // PARTIAL, PACK
} p;

#ifdef PACK
layout(binding = 0) readonly buffer S { int partial[]; };  // (n_splits, n_words, 4)
layout(binding = 1) writeonly buffer D { uint dst[]; };    // (n_words) packed u8
#else
layout(binding = 0) readonly buffer X { uint src[]; };     // (in_rows, in_w, 3) packed u8
layout(binding = 1) readonly buffer C { int coef[]; };     // taps of this pass
#ifdef PARTIAL
layout(binding = 2) writeonly buffer D { int partial[]; }; // (n_splits, n_words, 4)
#else
layout(binding = 2) writeonly buffer D { uint dst[]; };    // (n_words) packed u8
#endif

// Sum over taps [t0, t1) of output byte b, without the rounding term.
int resample_byte(uint b, uint t0, uint t1) {
  uint pixel = b / 3u, c = b - 3u * pixel;
  uint x = pixel % p.out_w, y = pixel / p.out_w;
  uint o = p.vertical != 0u ? y : x; // the output index the taps belong to
  int first = coef[p.bounds_off + 2u * o];
  uint count = uint(coef[p.bounds_off + 2u * o + 1u]);
  uint base, step;
  if (p.vertical != 0u) {
    base = (uint(first - p.row_offset) * p.in_w + x) * 3u + c;
    step = 3u * p.in_w;
  } else {
    base = (uint(int(y) + p.row_offset) * p.in_w + uint(first)) * 3u + c;
    step = 3u;
  }
  uint w = p.weights_off + o * p.ksize;
  int acc = 0;
  for (uint t = t0; t < min(t1, count); t++) acc += int(HATCH_LOAD_U8(src, base + t * step)) * coef[w + t];
  return acc;
}
#endif

uint clip8(int acc) { return acc < 0 ? 0u : uint(min(acc >> BITS, 255)); }

void main() {
#ifdef PARTIAL
  uint g = hatch_global_id();
  if (g >= p.n_words * p.n_splits) return;
  uint wid = g % p.n_words, s = g / p.n_words;
  for (uint j = 0u; j < 4u; j++) {
    uint b = wid * 4u + j;
    int acc = b < p.out_bytes ? resample_byte(b, s * p.split_taps, (s + 1u) * p.split_taps) : 0;
    partial[(s * p.n_words + wid) * 4u + j] = acc;
  }
#else
  uint wid = hatch_global_id();
  if (wid >= p.n_words) return;
  uint word = 0u;
  for (uint j = 0u; j < 4u; j++) {
    uint b = wid * 4u + j;
    if (b >= p.out_bytes) break; // the tail of the last word stays 0
#ifdef PACK
    int acc = 1 << (BITS - 1);
    for (uint s = 0u; s < p.n_splits; s++) acc += partial[(s * p.n_words + wid) * 4u + j];
#else
    int acc = (1 << (BITS - 1)) + resample_byte(b, 0u, 0xffffffffu);
#endif
    word |= clip8(acc) << (8u * j);
  }
  dst[wid] = word;
#endif
}
