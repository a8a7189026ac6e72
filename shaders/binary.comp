#version 450
#extension GL_GOOGLE_include_directive : require
// dst = a op b, b broadcast over rows: one invocation per element.
#include "common.glsl"

layout(binding = 0) readonly buffer A { float a[]; };
layout(binding = 1) readonly buffer B { float b[]; };
layout(binding = 2) writeonly buffer D { float dst[]; };

layout(push_constant) uniform P {
  uint n;      // elements of a
  uint b_size; // elements of b (b_rows * ne0)
} p;

void main() {
  uint i = hatch_global_id();
  if (i >= p.n) return;
  float y = b[i % p.b_size];
#ifdef OP_MUL
  dst[i] = a[i] * y;
#else
  dst[i] = a[i] + y;
#endif
}
