// Shared by attention.comp and attention_rows.comp: push constants and the key range of a query.
// Needs the windows buffer `win` declared before it is included; declares `past` (binding 6).
layout(push_constant) uniform P {
  uint d, n_q, n_head, group, n_kv_head, n_kv, mode, kv_offset, chunk, n_split, n_win;
  float scale;
} p;

// MODE_CAUSAL_PAST: causal with kv_offset = past[0] read here (a recorded graph's KV length),
// clamped to [0, n_kv - n_q]; n_kv is then the cache's rows.
layout(binding = 6) readonly buffer Past { int past[]; };

const uint MODE_CAUSAL = 1u, MODE_WINDOWED = 2u, MODE_CAUSAL_PAST = 3u;

// Keys [lo, hi) query i sees; the same rule as runtime/cpu/attention.c (log2(n_win) iterations).
void key_range(uint i, out uint lo, out uint hi) {
  lo = 0u;
  hi = p.n_kv;
  if (p.mode == MODE_CAUSAL) {
    hi = min(p.n_kv, p.kv_offset + i + 1u);
  } else if (p.mode == MODE_CAUSAL_PAST) {
    uint off = uint(clamp(past[0], 0, int(p.n_kv - p.n_q)));
    hi = min(p.n_kv, off + i + 1u);
  } else if (p.mode == MODE_WINDOWED) {
    uint a = 0u, b = p.n_win;
    while (b - a > 1u) {
      uint mid = (a + b) / 2u;
      if (win[mid] <= int(i)) a = mid;
      else b = mid;
    }
    int w0 = win[a], w1 = win[a + 1u];
    lo = uint(max(w0, 0));
    hi = uint(clamp(w1, 0, int(p.n_kv)));
    if (!(w0 <= int(i) && int(i) < w1) || hi < lo) hi = lo;
  }
}
