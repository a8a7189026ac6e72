#version 450
#extension GL_GOOGLE_include_directive : require
// One workgroup per row: dst = x * rsqrt(mean(x^2) + eps) * w. Each invocation loops n / WG times
// per pass (the host keeps that under the loop budget).
#include "common.glsl"
#include "reduce.glsl"

layout(binding = 0) readonly buffer X { float x[]; };   // (rows, n)
layout(binding = 1) readonly buffer W { float w[]; };   // (n), ignored unless p.has_weight
layout(binding = 2) writeonly buffer D { float dst[]; }; // (rows, n)

layout(push_constant) uniform P {
  uint n, rows, has_weight;
  float eps;
} p;

void main() {
  uint row = hatch_group();
  if (row >= p.rows) return;
  uint base = row * p.n;
  float sum = 0.0;
  for (uint i = gl_LocalInvocationID.x; i < p.n; i += gl_WorkGroupSize.x) sum += x[base + i] * x[base + i];
  float inv = inversesqrt(hatch_group_sum(sum) / float(p.n) + p.eps);
  for (uint i = gl_LocalInvocationID.x; i < p.n; i += gl_WorkGroupSize.x)
    dst[base + i] = x[base + i] * inv * (p.has_weight != 0 ? w[i] : 1.0);
}
