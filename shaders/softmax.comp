#version 450
#extension GL_GOOGLE_include_directive : require
// One workgroup per row: online max/sum in one pass, then the write pass.
#include "common.glsl"
#include "reduce.glsl"

layout(binding = 0) readonly buffer X { float x[]; };   // (rows, n)
layout(binding = 1) writeonly buffer D { float dst[]; }; // (rows, n)

layout(push_constant) uniform P {
  uint n, rows;
  float scale;
} p;

void main() {
  uint row = hatch_group();
  if (row >= p.rows) return;
  uint base = row * p.n;
  float m = -1.0 / 0.0, s = 0.0;
  for (uint i = gl_LocalInvocationID.x; i < p.n; i += gl_WorkGroupSize.x) {
    float v = x[base + i] * p.scale;
    float m2 = max(m, v);
    s = s * exp(m - m2) + exp(v - m2);
    m = m2;
  }
  float gm = hatch_group_max(m);
  float gs = hatch_group_sum(m == -1.0 / 0.0 ? 0.0 : s * exp(m - gm));
  float inv = 1.0 / gs;
  for (uint i = gl_LocalInvocationID.x; i < p.n; i += gl_WorkGroupSize.x)
    dst[base + i] = exp(x[base + i] * p.scale - gm) * inv;
}
