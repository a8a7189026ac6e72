#version 450
#extension GL_GOOGLE_include_directive : require
// Decode matvec with 4x8-bit integer dot products: dst (NX, m) = x (NX, k) · w (rows, k)^T where x
// was quantized to int8 blocks by quantize_q8.comp. Same work split as matvec.comp: ROWS weight
// rows per workgroup, invocations stride over blocks, shared-memory reduction.
#include "common.glsl"
#extension GL_EXT_spirv_intrinsics : require

spirv_instruction(extensions = ["SPV_KHR_integer_dot_product"], capabilities = [6019, 6018], id = 4450)
int sdot4x8(uint a, uint b, spirv_literal int fmt); // fmt 0 = PackedVectorFormat4x8Bit

layout(constant_id = 1) const uint NX = 1;   // x rows (== n)
layout(constant_id = 2) const uint ROWS = 1; // weight rows per workgroup

layout(push_constant) uniform P { // the same layout as matvec.comp's
  uint k, kw;     // x row length; weight row length (padded to 32): kw / 32 blocks per row
  uint rows;      // weight rows in this chunk
  uint row_base;  // dst column of the chunk's first row
  uint m;         // dst row length
  uint x_row0;    // first x row of this dispatch (prefill on CPU devices walks x in blocks of NX)
} p;

layout(binding = 0) readonly buffer WQ4 { uvec4 wq4[]; };  // (rows, n_blocks, 2)
layout(binding = 1) readonly buffer WS { uint ws[]; };     // (rows, n_blocks) fp16 pairs
layout(binding = 2) readonly buffer XQ4 { uvec4 xq4[]; };  // (NX, n_blocks, 2)
layout(binding = 3) readonly buffer XD { float xd[]; };    // (NX, n_blocks)
layout(binding = 4) writeonly buffer D { float dst[]; };   // (NX, m)

shared float red[ROWS * NX * gl_WorkGroupSize.x];

int dot8(uvec4 a0, uvec4 a1, uvec4 b0, uvec4 b1) {
  return sdot4x8(a0.x, b0.x, 0) + sdot4x8(a0.y, b0.y, 0) + sdot4x8(a0.z, b0.z, 0) + sdot4x8(a0.w, b0.w, 0) +
         sdot4x8(a1.x, b1.x, 0) + sdot4x8(a1.y, b1.y, 0) + sdot4x8(a1.z, b1.z, 0) + sdot4x8(a1.w, b1.w, 0);
}

void main() {
  uint n_blocks = p.kw >> 5;
  uint row0 = hatch_group() * ROWS;
  if (row0 >= p.rows) return; // whole workgroup leaves together
  uint tid = gl_LocalInvocationID.x;
  float acc[ROWS * NX];
  [[unroll]] for (uint i = 0; i < ROWS * NX; i++) acc[i] = 0.0;
  for (uint b = tid; b < n_blocks; b += gl_WorkGroupSize.x) {
    uvec4 w0[ROWS], w1[ROWS];
    float wd[ROWS];
    [[unroll]] for (uint r = 0; r < ROWS; r++) {
      uint blk = min(row0 + r, p.rows - 1u) * n_blocks + b; // rows past the chunk are never stored
      w0[r] = wq4[blk * 2u];
      w1[r] = wq4[blk * 2u + 1u];
      wd[r] = unpackHalf2x16(ws[blk >> 1])[blk & 1u];
    }
    [[unroll]] for (uint j = 0; j < NX; j++) {
      uint xb = (p.x_row0 + j) * n_blocks + b;
      uvec4 x0 = xq4[xb * 2u], x1 = xq4[xb * 2u + 1u];
      float d = xd[xb];
      [[unroll]] for (uint r = 0; r < ROWS; r++)
        acc[r * NX + j] = fma(float(dot8(w0[r], w1[r], x0, x1)), wd[r] * d, acc[r * NX + j]);
    }
  }
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
