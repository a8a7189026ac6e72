#version 450
#extension GL_GOOGLE_include_directive : require
// Prefill matmul: dst (n, m) = x (n, k) · w (rows, k)^T for one weight chunk, tiled. A workgroup
// computes a BM (weight rows) x BN (x rows) tile, each invocation a 4 x 4 register tile. Each
// k-step stages a BM x 32 weight tile (dequantized) and a BN x 32 x tile in shared memory, stored
// k-major so an invocation reads its 4 rows as one vec4. Grid z splits k into slices of p.ksteps
// k-steps (the host sizes them to the loop budget); slice z writes plane z of dst, (z, n, m), and
// with more than one slice matmul_reduce.comp adds the planes. Defines: W_F32 | W_F16 | W_Q8_0.
#include "common.glsl"

layout(constant_id = 1) const uint BM = 64; // weight rows per tile, multiple of 4
layout(constant_id = 2) const uint BN = 64; // x rows per tile, multiple of 4; local size = BM/4 * BN/4
#define BK 32u

layout(push_constant) uniform P {
  uint k, kw;     // x row length; weight row length (Q8_0: padded to 32)
  uint rows;      // weight rows in this chunk
  uint row_base;  // dst column of the chunk's first row
  uint m, n;      // dst row length; x rows
  uint ksteps;    // k-steps of BK per z slice
  uint plane;     // n * m: elements per partial-sum plane
} p;

#include "matmul_load.glsl"
layout(binding = 3) writeonly buffer D { float dst[]; }; // (slices, n, m)

shared vec4 sa[BK * BM / 4]; // (BK, BM) weights, k-major
shared vec4 sb[BK * BN / 4]; // (BK, BN) x, k-major

vec4 acc0 = vec4(0.0), acc1 = vec4(0.0), acc2 = vec4(0.0), acc3 = vec4(0.0); // x rows ty*4 + 0..3, 4 weight rows each

// One k-step: stage the tiles at k0 and multiply them; `guarded`: the partial last step of k.
void kstep(uint k0, uint row0, uint col0, uint tx, uint ty, const bool guarded) {
  uint tid = gl_LocalInvocationID.x;
  [[unroll]] for (uint i = 0; i < BM * 8u / gl_WorkGroupSize.x; i++) {
    uint l = tid + i * gl_WorkGroupSize.x;
    uint r = l >> 3, e = k0 + (l & 7u) * 4u;
    uint row = min(row0 + r, p.rows - 1u); // rows past the chunk compute garbage, never stored
    vec4 v = guarded ? load_w4_guarded(row, e) : load_w4(row, e);
#if defined(W_Q8_0)
    v *= load_wscale(row, e >> 5);
#endif
    uint at = ((l & 7u) * 4u) * BM + r;
    [[unroll]] for (uint c = 0; c < 4; c++) sa[(at + c * BM) >> 2][(at + c * BM) & 3u] = v[c];
  }
  [[unroll]] for (uint i = 0; i < BN * 8u / gl_WorkGroupSize.x; i++) {
    uint l = tid + i * gl_WorkGroupSize.x;
    uint r = l >> 3, e = k0 + (l & 7u) * 4u;
    uint xrow = min(col0 + r, p.n - 1u); // likewise for x rows past n
    vec4 v = guarded ? load_x4_guarded(xrow, e) : load_x4(xrow, e);
    uint at = ((l & 7u) * 4u) * BN + r;
    [[unroll]] for (uint c = 0; c < 4; c++) sb[(at + c * BN) >> 2][(at + c * BN) & 3u] = v[c];
  }
  barrier(); // tiles staged before anyone reads them
  [[unroll]] for (uint kk = 0; kk < BK; kk++) {
    vec4 a = sa[kk * (BM / 4u) + tx];
    vec4 b = sb[kk * (BN / 4u) + ty];
    acc0 = fma(a, vec4(b.x), acc0);
    acc1 = fma(a, vec4(b.y), acc1);
    acc2 = fma(a, vec4(b.z), acc2);
    acc3 = fma(a, vec4(b.w), acc3);
  }
  barrier(); // everyone done reading before the next k-step overwrites the tiles
}

void main() {
  uint tid = gl_LocalInvocationID.x;
  uint row0 = gl_WorkGroupID.x * BM, col0 = gl_WorkGroupID.y * BN;
  uint tx = tid % (BM / 4u), ty = tid / (BM / 4u);
  uint full = p.k / BK; // whole k-steps
  uint step_begin = gl_WorkGroupID.z * p.ksteps;
  uint step_end = min(step_begin + p.ksteps, full);
  for (uint s = step_begin; s < step_end; s++) kstep(s * BK, row0, col0, tx, ty, false);
  if (K_TAIL && gl_WorkGroupID.z == gl_NumWorkGroups.z - 1u) kstep(full * BK, row0, col0, tx, ty, true);

  uint out_base = gl_WorkGroupID.z * p.plane + p.row_base;
  vec4 accs[4] = vec4[4](acc0, acc1, acc2, acc3);
  [[unroll]] for (uint j = 0; j < 4; j++) {
    uint xrow = col0 + ty * 4u + j;
    if (xrow >= p.n) break;
    [[unroll]] for (uint i = 0; i < 4; i++) {
      uint row = row0 + tx * 4u + i;
      if (row < p.rows) dst[out_base + xrow * p.m + row] = accs[j][i];
    }
  }
}
