#version 450
#extension GL_GOOGLE_include_directive : require
// Bandwidth ceiling for `hatch bench ops`: a plain vec4 copy, one element per invocation.
#include "common.glsl"

layout(binding = 0) readonly buffer S { vec4 src[]; };
layout(binding = 1) writeonly buffer D { vec4 dst[]; };
layout(push_constant) uniform P { uint n; } p; // vec4 elements

void main() {
  uint i = hatch_global_id();
  if (i < p.n) dst[i] = src[i];
}
