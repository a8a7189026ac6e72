#version 450
#extension GL_GOOGLE_include_directive : require
// Decode matvec: dst (NX, m) = x (NX, k) · w (rows, k)^T for one weight chunk, NX <= 8 x rows at
// once so each weight is read once. A workgroup owns ROWS weight rows; its invocations stride over
// 32-element blocks of k, then reduce through shared memory. Loops per invocation:
// ceil(k/32 / WG) blocks (the host checks the budget). Defines: W_F32 | W_F16 | W_Q8_0.
#include "common.glsl"

layout(constant_id = 1) const uint NX = 1;   // x rows (== n)
layout(constant_id = 2) const uint ROWS = 1; // weight rows per workgroup

layout(push_constant) uniform P {
  uint k, kw;     // x row length; weight row length (Q8_0: padded to 32)
  uint rows;      // weight rows in this chunk
  uint row_base;  // dst column of the chunk's first row
  uint m;         // dst row length
  uint x_row0;    // first x row of this dispatch (prefill on CPU devices walks x in blocks of NX)
} p;

#include "matmul_load.glsl"
layout(binding = 3) writeonly buffer D { float dst[]; }; // (NX, m)

shared float red[ROWS * NX * gl_WorkGroupSize.x];

float acc[ROWS * NX]; // (ROWS, NX) this invocation's partial sums

// Adds block b (elements b*32 .. b*32+32) of the workgroup's rows; `guarded`: the partial last block.
void add_block(uint row0, uint b, const bool guarded) {
  float s[ROWS * NX]; // this block's dot products, scaled once at the end (Q8_0)
  [[unroll]] for (uint i = 0; i < ROWS * NX; i++) s[i] = 0.0;
  [[dont_unroll]] for (uint q = 0; q < 8; q++) { // a real loop: unrolled, compile time on llvmpipe grows 8x
    uint e = b * 32u + q * 4u;
    vec4 wv[ROWS];
    [[unroll]] for (uint r = 0; r < ROWS; r++) {
      uint row = min(row0 + r, p.rows - 1u); // rows past the chunk compute garbage, never stored
      wv[r] = guarded ? load_w4_guarded(row, e) : load_w4(row, e);
    }
    [[unroll]] for (uint j = 0; j < NX; j++) {
      vec4 xv = guarded ? load_x4_guarded(p.x_row0 + j, e) : load_x4(p.x_row0 + j, e);
      [[unroll]] for (uint r = 0; r < ROWS; r++) s[r * NX + j] += dot(wv[r], xv);
    }
  }
  [[unroll]] for (uint r = 0; r < ROWS; r++) {
#if defined(W_Q8_0)
    float d = load_wscale(min(row0 + r, p.rows - 1u), b);
#else
    float d = 1.0;
#endif
    [[unroll]] for (uint j = 0; j < NX; j++) acc[r * NX + j] = fma(d, s[r * NX + j], acc[r * NX + j]);
  }
}

void main() {
  uint row0 = hatch_group() * ROWS;
  if (row0 >= p.rows) return; // whole workgroup leaves together
  uint tid = gl_LocalInvocationID.x;
  [[unroll]] for (uint i = 0; i < ROWS * NX; i++) acc[i] = 0.0;
  uint full = p.k >> 5; // whole 32-blocks of k
  for (uint b = tid; b < full; b += gl_WorkGroupSize.x) add_block(row0, b, false);
  if (K_TAIL && tid == full % gl_WorkGroupSize.x) add_block(row0, full, true);
  [[unroll]] for (uint i = 0; i < ROWS * NX; i++) red[i * gl_WorkGroupSize.x + tid] = acc[i];
  barrier();
  for (uint h = gl_WorkGroupSize.x / 2u; h > 0u; h >>= 1) {
    if (tid < h)
      [[unroll]] for (uint i = 0; i < ROWS * NX; i++)
        red[i * gl_WorkGroupSize.x + tid] += red[i * gl_WorkGroupSize.x + tid + h];
    barrier();
  }
  for (uint i = tid; i < ROWS * NX; i += gl_WorkGroupSize.x) { // ROWS * NX may exceed the workgroup
    uint r = i / NX, j = i % NX;
    if (row0 + r < p.rows) dst[(p.x_row0 + j) * p.m + p.row_base + row0 + r] = red[i * gl_WorkGroupSize.x];
  }
}
