#version 450
#extension GL_GOOGLE_include_directive : require
// Activations to int8 blocks for the integer-dot matvec: one invocation per 32-element block,
// d = max|x| / 127, q = round(x / d) (ggml's Q8_0 rounding), elements past k are zero.
#include "common.glsl"

layout(push_constant) uniform P {
  uint k;        // x row length
  uint n_blocks; // blocks per row (kw / 32)
  uint total;    // n * n_blocks
} p;

layout(binding = 0) readonly buffer X { float x[]; };     // (n, k)
layout(binding = 1) writeonly buffer Q { uint xq[]; };    // (n, n_blocks, 8) int8 packed
layout(binding = 2) writeonly buffer S { float xd[]; };   // (n, n_blocks)

void main() {
  uint id = hatch_global_id();
  if (id >= p.total) return;
  uint row = id / p.n_blocks, block = id % p.n_blocks;
  uint base = row * p.k, e0 = block * 32u;
  float v[32];
  float amax = 0.0;
  [[unroll]] for (uint i = 0; i < 32; i++) {
    v[i] = e0 + i < p.k ? x[base + e0 + i] : 0.0;
    amax = max(amax, abs(v[i]));
  }
  float d = amax / 127.0;
  float inv = d > 0.0 ? 1.0 / d : 0.0;
  [[unroll]] for (uint w = 0; w < 8; w++) {
    uint word = 0u;
    [[unroll]] for (uint j = 0; j < 4; j++) word |= (uint(int(hatch_roundf(v[w * 4 + j] * inv))) & 0xffu) << (8u * j);
    xq[id * 8u + w] = word;
  }
  xd[id] = d;
}
