#version 450
#extension GL_GOOGLE_include_directive : require
// Peak FP32 ceiling for `hatch bench ops`: 8 independent FMA chains, 16 FMAs each per iteration.
#include "common.glsl"

layout(binding = 0) writeonly buffer D { float dst[]; };
layout(push_constant) uniform P { uint iters; float m; float c; } p; // iters <= HATCH_LOOP_BUDGET

void main() {
  float a0 = float(gl_LocalInvocationID.x), a1 = a0 + 1.0, a2 = a0 + 2.0, a3 = a0 + 3.0;
  float a4 = a0 + 4.0, a5 = a0 + 5.0, a6 = a0 + 6.0, a7 = a0 + 7.0;
  for (uint i = 0; i < p.iters; i++) {
    [[unroll]] for (int j = 0; j < 16; j++) {
      a0 = fma(a0, p.m, p.c); a1 = fma(a1, p.m, p.c); a2 = fma(a2, p.m, p.c); a3 = fma(a3, p.m, p.c);
      a4 = fma(a4, p.m, p.c); a5 = fma(a5, p.m, p.c); a6 = fma(a6, p.m, p.c); a7 = fma(a7, p.m, p.c);
    }
  }
  dst[hatch_global_id()] = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7; // keeps the chains alive
}
