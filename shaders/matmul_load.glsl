// Weight and activation loads shared by the matvec and tiled matmul shaders. The includer declares
// push constants `p` with p.k (x row length) and p.kw (weight row length, elements), then defines
// one of W_F32, W_F16, W_Q8_0 before including this file. Weight rows are chunk-local.
//   binding 0: weights: F32 floats | F16 halves packed two per word | Q8_0 quants (rows, kw/32, 8 words)
//   binding 1: Q8_0 fp16 scales packed two per word (rows, kw/32); other types: unused
//   binding 2: x floats (n, k)
// Hot loops call the unguarded loads; only the last, partial 32-block of k uses the guarded ones.
// Branches are on specialization constants so drivers that run both sides of a branch (llvmpipe)
// compile only one.

layout(constant_id = 3) const bool K_VEC4 = true;   // k % 4 == 0: rows start 16-byte aligned
layout(constant_id = 4) const bool K_TAIL = false;  // k % 32 != 0: the last 32-block is partial

#if defined(W_Q8_0)
layout(binding = 0) readonly buffer WQ { uint wq[]; };     // (rows, kw/32, 8)
layout(binding = 0) readonly buffer WQ4 { uvec4 wq4[]; };  // same memory, (rows, kw/32, 2)
layout(binding = 1) readonly buffer WS { uint ws[]; };     // (rows, kw/32) fp16 pairs
#elif defined(W_F16)
layout(binding = 0) readonly buffer W16 { uint w16[]; };   // (rows, kw) fp16 pairs
layout(binding = 0) readonly buffer W16X2 { uvec2 w16x2[]; };
#else
layout(binding = 0) readonly buffer W32 { float w32[]; };  // (rows, kw)
layout(binding = 0) readonly buffer W32X4 { vec4 w32x4[]; };
#endif
layout(binding = 2) readonly buffer X { float x[]; };      // (n, k)
layout(binding = 2) readonly buffer X4 { vec4 x4[]; };

// x[xrow][e .. e+4) with e + 4 <= k, e % 4 == 0.
vec4 load_x4(uint xrow, uint e) {
  uint base = xrow * p.k + e;
  if (K_VEC4) return x4[base >> 2];
  return vec4(x[base], x[base + 1u], x[base + 2u], x[base + 3u]);
}

// Same, zero past k.
vec4 load_x4_guarded(uint xrow, uint e) {
  uint base = xrow * p.k + e;
  vec4 v = vec4(0.0);
  [[unroll]] for (uint i = 0; i < 4; i++)
    if (e + i < p.k) v[i] = x[base + i];
  return v;
}

#if defined(W_Q8_0)
// Quants of w[row][e .. e+4) as floats (unscaled); e % 4 == 0. Pad columns are zero quants.
vec4 load_wq4(uint row, uint e) {
  uint word = wq[row * (p.kw >> 2) + (e >> 2)];
  return vec4(HATCH_I8(word, 0), HATCH_I8(word, 1), HATCH_I8(word, 2), HATCH_I8(word, 3));
}
float load_wscale(uint row, uint block) {
  uint i = row * (p.kw >> 5) + block;
  return unpackHalf2x16(ws[i >> 1])[i & 1u];
}
vec4 load_w4(uint row, uint e) { return load_wq4(row, e); }
vec4 load_w4_guarded(uint row, uint e) { return load_wq4(row, e); }
#else
// w[row][e .. e+4) with e + 4 <= k, e % 4 == 0 (kw == k for float weights).
vec4 load_w4(uint row, uint e) {
  uint base = row * p.kw + e;
#if defined(W_F16)
  if (K_VEC4) {
    uvec2 h = w16x2[base >> 2];
    return vec4(unpackHalf2x16(h.x), unpackHalf2x16(h.y));
  }
  return vec4(HATCH_LOAD_F16(w16, base), HATCH_LOAD_F16(w16, base + 1u), HATCH_LOAD_F16(w16, base + 2u),
              HATCH_LOAD_F16(w16, base + 3u));
#else
  if (K_VEC4) return w32x4[base >> 2];
  return vec4(w32[base], w32[base + 1u], w32[base + 2u], w32[base + 3u]);
#endif
}

// Same, zero past k.
vec4 load_w4_guarded(uint row, uint e) {
  uint base = row * p.kw + e;
  vec4 v = vec4(0.0);
  [[unroll]] for (uint i = 0; i < 4; i++)
#if defined(W_F16)
    if (e + i < p.k) v[i] = HATCH_LOAD_F16(w16, base + i);
#else
    if (e + i < p.k) v[i] = w32[base + i];
#endif
  return v;
}
#endif
