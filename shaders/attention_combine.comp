#version 450
#extension GL_GOOGLE_include_directive : require
// Merges the per-chunk partials of attention.comp: one workgroup per (query, head) row,
// dst = sum_k acc_k * exp(m_k - M) / sum_k l_k * exp(m_k - M) with M = max_k m_k. Empty chunks
// carry m = -inf and weigh 0. Loops: 2*n_split + DPT*(n_split + 1) per invocation (host-checked).
#include "common.glsl"

layout(binding = 0) readonly buffer S { float part[]; }; // (rows*n_split, 2) then (rows*n_split, d)
layout(binding = 1) writeonly buffer D { float dst[]; }; // (rows, d)

layout(push_constant) uniform P {
  uint d, rows, n_split;
} p;

void main() {
  uint r = hatch_group();
  if (r >= p.rows) return;
  uint first = r * p.n_split;
  float big = -1.0 / 0.0;
  for (uint k = 0u; k < p.n_split; k++) big = max(big, part[2u * (first + k)]);
  float sum = 0.0;
  if (big > -1.0 / 0.0)
    for (uint k = 0u; k < p.n_split; k++) sum += part[2u * (first + k) + 1u] * exp(part[2u * (first + k)] - big);
  uint acc_base = 2u * p.rows * p.n_split;
  for (uint e = gl_LocalInvocationID.x; e < p.d; e += gl_WorkGroupSize.x) {
    float o = 0.0;
    if (sum > 0.0)
      for (uint k = 0u; k < p.n_split; k++) o += part[acc_base + (first + k) * p.d + e] * exp(part[2u * (first + k)] - big);
    dst[r * p.d + e] = sum > 0.0 ? o / sum : 0.0;
  }
}
