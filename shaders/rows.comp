#version 450
#extension GL_GOOGLE_include_directive : require
// Row gather (GET: dst row i = src row idx[i], zeros for an index out of range) and row copy
// (SET: dst row row_offset + i = src row i). One invocation per float.
#include "common.glsl"

layout(push_constant) uniform P {
  uint n;          // floats to write
  uint c;          // row length
  uint m;          // GET: rows of src
  uint row_offset; // SET: first dst row
} p;

#ifdef GET
layout(binding = 0) readonly buffer S { float src[]; };   // (m, c)
layout(binding = 1) readonly buffer I { int idx[]; };     // (n / c)
layout(binding = 2) writeonly buffer D { float dst[]; };  // (n / c, c)
void main() {
  uint e = hatch_global_id();
  if (e >= p.n) return;
  uint row = e / p.c, k = e % p.c;
  int i = idx[row];
  dst[e] = (i < 0 || uint(i) >= p.m) ? 0.0 : src[uint(i) * p.c + k];
}
#else
layout(binding = 0) readonly buffer S { float src[]; };   // (n / c, c)
layout(binding = 1) writeonly buffer D { float dst[]; };  // (rows, c)
void main() {
  uint e = hatch_global_id();
  if (e >= p.n) return;
  dst[p.row_offset * p.c + e] = src[e];
}
#endif
