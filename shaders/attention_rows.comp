#version 450
#extension GL_GOOGLE_include_directive : require
// Attention for CPU devices (lavapipe): one invocation per (query, head, key chunk) with q and the
// accumulator in registers. d/4 is a specialization constant, so the per-key work is unrolled and
// an invocation loops about once per key; lanes of a workgroup take consecutive queries of one head
// and read the same keys. Online softmax, no score matrix; the partial layout and the combine pass
// are attention.comp's. Per invocation: chunk * (1 + 2*D4) + 34 loop iterations counted (host-checked).
#include "common.glsl"

layout(constant_id = 1) const uint D4 = 1; // d / 4

layout(binding = 0) readonly buffer Q { vec4 q4[]; }; // (n_q, n_head, d/4)
#ifdef KV_F16
layout(binding = 1) readonly buffer K { uvec2 k2[]; }; // (rows, n_kv_head, d/4) four fp16 each
layout(binding = 2) readonly buffer V { uvec2 v2[]; };
vec4 load_k4(uint i) { uvec2 w = k2[i]; return vec4(unpackHalf2x16(w.x), unpackHalf2x16(w.y)); }
vec4 load_v4(uint i) { uvec2 w = v2[i]; return vec4(unpackHalf2x16(w.x), unpackHalf2x16(w.y)); }
#else
layout(binding = 1) readonly buffer K { vec4 k4[]; }; // (rows, n_kv_head, d/4)
layout(binding = 2) readonly buffer V { vec4 v4[]; };
vec4 load_k4(uint i) { return k4[i]; }
vec4 load_v4(uint i) { return v4[i]; }
#endif
layout(binding = 3) readonly buffer W { int win[]; };     // WINDOWED: (n_win + 1) boundaries
layout(binding = 4) writeonly buffer D { vec4 dst4[]; };  // (n_q, n_head, d/4)
layout(binding = 5) writeonly buffer S { float part[]; }; // n_split > 1: (rows*n_split, 2) then (rows*n_split, d)

#include "attention_range.glsl"

void main() {
  uint rows = p.n_q * p.n_head;
  uint gid = hatch_global_id();
  if (gid >= rows * p.n_split) return;
  uint split = gid / rows, hq = gid % rows; // head-major: neighbouring lanes share a head
  uint h = hq / p.n_q, i = hq % p.n_q;
  uint r = i * p.n_head + h, hk = h / p.group;
  vec4 qv[D4];
  [[unroll]] for (uint c = 0; c < D4; c++) qv[c] = q4[r * D4 + c] * p.scale; // scale folded into q
  uint lo, hi;
  key_range(i, lo, hi);
  uint beg = min(hi, lo + split * p.chunk), end = min(hi, beg + p.chunk);

  float m = -1.0 / 0.0, l = 0.0;
  vec4 acc[D4];
  [[unroll]] for (uint c = 0; c < D4; c++) acc[c] = vec4(0.0);
  for (uint t = beg; t < end; t++) {
    uint kb = (t * p.n_kv_head + hk) * D4;
    float s = 0.0;
    [[unroll]] for (uint c = 0; c < D4; c++) s += dot(qv[c], load_k4(kb + c));
    float m2 = max(m, s);
    float corr = exp(m - m2), pj = exp(s - m2); // corr = 0 at the first key (m = -inf)
    l = l * corr + pj;
    [[unroll]] for (uint c = 0; c < D4; c++) acc[c] = acc[c] * corr + pj * load_v4(kb + c);
    m = m2;
  }

  if (p.n_split == 1u) {
    float inv = l > 0.0 ? 1.0 / l : 0.0; // no keys: zeros, as on the CPU
    [[unroll]] for (uint c = 0; c < D4; c++) dst4[r * D4 + c] = acc[c] * inv;
  } else {
    uint pi = r * p.n_split + split;
    part[2u * pi] = m;
    part[2u * pi + 1u] = l;
    uint acc_base = 2u * rows * p.n_split + pi * p.d;
    [[unroll]] for (uint c = 0; c < D4; c++)
      [[unroll]] for (uint j = 0; j < 4; j++) part[acc_base + 4u * c + j] = acc[c][j];
  }
}
