#version 450
#extension GL_GOOGLE_include_directive : require
// RoPE, rotate_half form. One invocation per (token, slot, block of heads) looping over the heads
// of its block, so each angle serves several heads: slot s < half rotates pair (s, s + half),
// slot s >= half copies dim s + half (the dims past n_dims). The host sizes head_block under the
// loop budget.
#include "common.glsl"
#include "rope.glsl"

struct rope_pair {
  float inv_freq; // bit-identical to the CPU table (runtime/core/rope_table.h)
  int comp;       // position component
};

layout(binding = 0) readonly buffer X { float x[]; };        // (n_tok, n_head, head_dim)
layout(binding = 1) readonly buffer Pos { int pos[]; };      // (n_comp, n_tok)
layout(binding = 2) readonly buffer T { rope_pair pairs[]; }; // (half)
layout(binding = 3) writeonly buffer D { float dst[]; };     // (n_tok, n_head, head_dim); may alias x

layout(push_constant) uniform P {
  uint head_dim, n_head, n_tok, half_dims, head_block;
} p;

void main() {
  uint n_slots = p.head_dim - p.half_dims;
  uint n_blocks = (p.n_head + p.head_block - 1) / p.head_block;
  uint id = hatch_global_id();
  if (id >= p.n_tok * n_slots * n_blocks) return;
  uint blk = id % n_blocks, s = (id / n_blocks) % n_slots, t = id / n_blocks / n_slots;
  uint base = t * p.n_head * p.head_dim;
  uint h0 = blk * p.head_block, h1 = min(p.n_head, h0 + p.head_block);
  if (s >= p.half_dims) {
    for (uint h = h0; h < h1; h++) dst[base + h * p.head_dim + s + p.half_dims] = x[base + h * p.head_dim + s + p.half_dims];
    return;
  }
  precise float theta = float(pos[uint(pairs[s].comp) * p.n_tok + t]) * pairs[s].inv_freq;
  float r = hatch_reduce_angle(theta);
  float c = cos(r), sn = sin(r);
  for (uint h = h0; h < h1; h++) {
    uint i0 = base + h * p.head_dim + s;
    float x0 = x[i0], x1 = x[i0 + p.half_dims];
    dst[i0] = x0 * c - x1 * sn;
    dst[i0 + p.half_dims] = x1 * c + x0 * sn;
  }
}
