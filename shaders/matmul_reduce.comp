#version 450
#extension GL_GOOGLE_include_directive : require
// Adds the split-k partial planes of matmul.comp: dst (n, m) = sum over z of part (z, n, m).
// One invocation per element, p.slices iterations (the host keeps that within the loop budget).
#include "common.glsl"

layout(push_constant) uniform P {
  uint count;  // n * m
  uint slices;
} p;

layout(binding = 0) readonly buffer S { float part[]; };   // (slices, n, m)
layout(binding = 1) writeonly buffer D { float dst[]; };   // (n, m)

void main() {
  uint i = hatch_global_id();
  if (i >= p.count) return;
  float sum = 0.0;
  for (uint z = 0; z < p.slices; z++) sum += part[z * p.count + i];
  dst[i] = sum;
}
