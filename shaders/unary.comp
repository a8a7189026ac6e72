#version 450
#extension GL_GOOGLE_include_directive : require
// dst = f(x) elementwise; SWIGLU: dst = silu(x) * up.
#include "common.glsl"

layout(binding = 0) readonly buffer X { float x[]; };
layout(binding = 1) writeonly buffer D { float dst[]; };
#ifdef OP_SWIGLU
layout(binding = 2) readonly buffer U { float up[]; };
#endif

layout(push_constant) uniform P { uint n; } p;

void main() {
  uint i = hatch_global_id();
  if (i >= p.n) return;
#if defined(OP_SILU)
  dst[i] = hatch_silu(x[i]);
#elif defined(OP_GELU)
  dst[i] = hatch_gelu(x[i]);
#elif defined(OP_SWIGLU)
  dst[i] = hatch_silu(x[i]) * up[i];
#endif
}
