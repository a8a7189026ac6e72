#version 450
#extension GL_GOOGLE_include_directive : require
// Attention, flash-decoding style. One workgroup per (query, head, key chunk): key tiles of WG
// keys, one score per invocation (into shared memory), then each invocation updates the running
// max / sum and the accumulator dims it owns (e = lid + c*WG, c < DPT): an online softmax, no
// score matrix. With n_split > 1 each chunk writes a partial (max, sum, acc[d]) and
// attention_combine.comp merges them; with n_split = 1 the chunk is the whole key range and
// writes dst. Per invocation: ~chunk/WG tiles of (1 + d + WG + DPT + WG*(1 + DPT)) loop
// iterations; the host sizes chunk so that stays under the loop budget.
#include "common.glsl"

layout(constant_id = 1) const uint DPT = 1; // ceil(d / WG) <= MAX_DPT
#define MAX_DPT 4

layout(binding = 0) readonly buffer Q { float q[]; }; // (n_q, n_head, d)
#ifdef KV_F16
layout(binding = 1) readonly buffer K { uint k[]; }; // (rows, n_kv_head, d) fp16 pairs
layout(binding = 2) readonly buffer V { uint v[]; };
#define LOAD_K(i) HATCH_LOAD_F16(k, i)
#define LOAD_V(i) HATCH_LOAD_F16(v, i)
#else
layout(binding = 1) readonly buffer K { float k[]; }; // (rows, n_kv_head, d)
layout(binding = 2) readonly buffer V { float v[]; };
#define LOAD_K(i) k[i]
#define LOAD_V(i) v[i]
#endif
layout(binding = 3) readonly buffer W { int win[]; };     // WINDOWED: (n_win + 1) boundaries
layout(binding = 4) writeonly buffer D { float dst[]; };  // (n_q, n_head, d)
layout(binding = 5) writeonly buffer S { float part[]; }; // n_split > 1: (rows*n_split, 2) then (rows*n_split, d)

#include "attention_range.glsl"

shared float qs[gl_WorkGroupSize.x * MAX_DPT]; // (d)
shared float sc[gl_WorkGroupSize.x];           // scores of the current key tile

void main() {
  uint WG = gl_WorkGroupSize.x, lid = gl_LocalInvocationID.x;
  uint rows = p.n_q * p.n_head;
  uint g = hatch_group();
  if (g >= rows * p.n_split) return;
  uint split = g % p.n_split, r = g / p.n_split;
  uint i = r / p.n_head, hk = (r % p.n_head) / p.group;
  for (uint e = lid; e < p.d; e += WG) qs[e] = q[r * p.d + e];
  uint lo, hi;
  key_range(i, lo, hi);
  uint beg = min(hi, lo + split * p.chunk), end = min(hi, beg + p.chunk);
  barrier();

  float m = -1.0 / 0.0, l = 0.0;
  float acc[MAX_DPT] = float[MAX_DPT](0.0, 0.0, 0.0, 0.0);
  for (uint t0 = beg; t0 < end; t0 += WG) {
    uint n = min(WG, end - t0);
    float s = -1.0 / 0.0;
    if (lid < n) {
      uint kb = ((t0 + lid) * p.n_kv_head + hk) * p.d;
      float dot = 0.0;
      for (uint e = 0u; e < p.d; e++) dot += qs[e] * LOAD_K(kb + e);
      s = dot * p.scale;
    }
    sc[lid] = s;
    barrier();
    float tm = m;
    for (uint j = 0u; j < n; j++) tm = max(tm, sc[j]);
    float corr = exp(m - tm); // 0 on the first tile (m = -inf)
    l *= corr;
    for (uint c = 0u; c < DPT; c++) acc[c] *= corr;
    for (uint j = 0u; j < n; j++) {
      float pj = exp(sc[j] - tm);
      l += pj;
      uint vb = ((t0 + j) * p.n_kv_head + hk) * p.d;
      for (uint c = 0u; c < DPT; c++) {
        uint e = lid + c * WG;
        if (e < p.d) acc[c] += pj * LOAD_V(vb + e);
      }
    }
    m = tm;
    barrier(); // every invocation has read sc before the next tile overwrites it
  }

  if (p.n_split == 1u) {
    float inv = l > 0.0 ? 1.0 / l : 0.0; // no keys: zeros, as on the CPU
    for (uint c = 0u; c < DPT; c++) {
      uint e = lid + c * WG;
      if (e < p.d) dst[r * p.d + e] = acc[c] * inv;
    }
  } else {
    uint pi = r * p.n_split + split;
    if (lid == 0u) {
      part[2u * pi] = m;
      part[2u * pi + 1u] = l;
    }
    uint acc_base = 2u * rows * p.n_split + pi * p.d;
    for (uint c = 0u; c < DPT; c++) {
      uint e = lid + c * WG;
      if (e < p.d) part[acc_base + e] = acc[c];
    }
  }
}
