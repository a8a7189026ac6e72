#version 450
#extension GL_GOOGLE_include_directive : require
// 2x2 merge gather: dst row (Y, X) = [x(2Y,2X), x(2Y,2X+1), x(2Y+1,2X), x(2Y+1,2X+1)].
// One invocation per output float.
#include "common.glsl"

layout(binding = 0) readonly buffer X { float x[]; };     // (grid_h * grid_w, c)
layout(binding = 1) writeonly buffer D { float dst[]; };  // (grid_h/2 * grid_w/2, 4c)

layout(push_constant) uniform P {
  uint n;      // output elements
  uint c;
  uint grid_w;
} p;

void main() {
  uint e = hatch_global_id();
  if (e >= p.n) return;
  uint row = e / (4u * p.c), i = e % (4u * p.c);
  uint q = i / p.c, k = i % p.c;
  uint half_w = p.grid_w / 2u;
  uint by = row / half_w, bx = row % half_w;
  uint src_row = (2u * by + q / 2u) * p.grid_w + 2u * bx + q % 2u;
  dst[e] = x[src_row * p.c + k];
}
