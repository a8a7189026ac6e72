#!/usr/bin/env python3
"""Writes tests/fixtures/rope_*.bin and attn_*.bin: inputs and expected outputs of hatch_rope and
hatch_attention computed the plain way with numpy, written from the Hugging Face Qwen2.5-VL formulas
(cos/sin tables + rotate_half; softmax(Q K^T * scale) V with a boolean mask), independent of the C code.
Run: .venv-tools/bin/python tools/gen_rope_attention_fixtures.py (tools/setup-fixture-env.sh).

File format (little-endian), one case per file:
  magic "HRA1", u32 n_arrays, then per array:
    char name[16] (NUL padded), u32 type (0 f32, 1 f16 bits, 2 i32), u32 n_dims, i64 ne[4] (ggml order,
    ne[0] innermost, unused dims 1), then the elements.
  rope arrays:      x (head_dim, n_head, n_tok), pos (n_tok, n_comp), iparams = [mode, n_dims, s0, s1, s2, s3],
                    fparams = [freq_base], expected (like x)
  attention arrays: q (d, n_head, n_q), k, v (d, n_kv_head, rows) f32 or f16, iparams = [mode, n_kv, kv_offset],
                    fparams = [scale], windows (n_win + 1, WINDOWED only), expected (like q)
"""
import pathlib
import struct

import numpy as np

OUT = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures"
NEOX, MROPE, VISION = 0, 1, 2
FULL, CAUSAL, WINDOWED = 0, 1, 2
TYPES = {np.float32: 0, np.float16: 1, np.int32: 2}


def write(name, arrays):
    with open(OUT / name, "wb") as f:
        f.write(b"HRA1")
        f.write(struct.pack("<I", len(arrays)))
        for key, a in arrays:
            a = np.ascontiguousarray(a)
            ne = list(a.shape[::-1]) + [1] * (4 - a.ndim)  # numpy (outer..inner) -> ggml ne
            f.write(key.encode().ljust(16, b"\0"))
            f.write(struct.pack("<II4q", TYPES[a.dtype.type], a.ndim, *ne))
            f.write(a.tobytes())
    print(f"{name}: {(OUT / name).stat().st_size} bytes")


def rotate_half(x):
    h = x.shape[-1] // 2
    return np.concatenate([-x[..., h:], x[..., :h]], axis=-1)


def inv_freq(base, dim):
    # HF: 1 / base ** (arange(0, dim, 2) / dim); computed in float64, rounded once to float32.
    return (1.0 / base ** (np.arange(0, dim, 2, dtype=np.float64) / dim)).astype(np.float32)


def rope(x, pos, mode, n_dims, sections, base):
    """x (n_tok, n_head, head_dim) f32, pos (n_comp, n_tok) i32."""
    if mode == NEOX:
        freqs = pos[0].astype(np.float32)[:, None] * inv_freq(base, n_dims)[None, :]  # (n_tok, n_dims/2)
    elif mode == MROPE:
        # apply_multimodal_rotary_pos_emb: freqs per component, then chunk i of the section split
        # takes component i % 3 (sections doubled to cover cat(freqs, freqs)).
        per_comp = [pos[c].astype(np.float32)[:, None] * inv_freq(base, n_dims)[None, :] for c in range(3)]
        emb = [np.concatenate([f, f], axis=-1) for f in per_comp]  # (n_tok, n_dims) each
        splits = np.cumsum(list(sections[:3]) * 2)[:-1]
        chunks = [np.split(e, splits, axis=-1) for e in emb]
        emb = np.concatenate([chunks[i % 3][i] for i in range(6)], axis=-1)
        freqs = emb[:, : n_dims // 2]
    else:
        # Qwen2_5_VisionRotaryEmbedding(head_dim // 2): freqs of h and w concatenated.
        assert sections[0] == sections[1] == n_dims // 4
        table = inv_freq(base, n_dims // 2)
        fh = pos[0].astype(np.float32)[:, None] * table[None, :]
        fw = pos[1].astype(np.float32)[:, None] * table[None, :]
        freqs = np.concatenate([fh, fw], axis=-1)
    emb = np.concatenate([freqs, freqs], axis=-1).astype(np.float32)  # (n_tok, n_dims)
    cos = np.cos(emb.astype(np.float64)).astype(np.float32)[:, None, :]
    sin = np.sin(emb.astype(np.float64)).astype(np.float32)[:, None, :]
    xr = x[..., :n_dims]
    out = x.copy()
    out[..., :n_dims] = xr * cos + rotate_half(xr) * sin
    return out


def attention(q, k, v, mode, n_kv, kv_offset, scale, windows=None):
    """q (n_q, n_head, d); k, v (rows, n_kv_head, d); float64 throughout."""
    n_q, n_head, d = q.shape
    group = n_head // k.shape[1]
    q64, k64, v64 = (a.astype(np.float64) for a in (q, k[:n_kv], v[:n_kv]))
    out = np.zeros((n_q, n_head, d))
    for h in range(n_head):
        s = q64[:, h, :] @ k64[:, h // group, :].T * scale  # (n_q, n_kv)
        mask = np.ones((n_q, n_kv), dtype=bool)
        if mode == CAUSAL:
            mask = np.arange(n_kv)[None, :] <= kv_offset + np.arange(n_q)[:, None]
        elif mode == WINDOWED:
            wid = np.searchsorted(windows, np.arange(n_kv), side="right")
            mask = wid[:, None] == wid[None, :]
        s = np.where(mask, s, -np.inf)
        p = np.exp(s - s.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        out[:, h, :] = p @ v64[:, h // group, :]
    return out.astype(np.float32)


def rope_case(rng, name, mode, n_tok, n_head, head_dim, n_dims, sections, base, n_comp, pos_max):
    x = rng.uniform(-2, 2, (n_tok, n_head, head_dim)).astype(np.float32)
    pos = rng.integers(0, pos_max, (n_comp, n_tok)).astype(np.int32)
    want = rope(x, pos, mode, n_dims, sections, base)
    write(name, [("x", x), ("pos", pos), ("iparams", np.array([mode, n_dims, *sections], np.int32)),
                 ("fparams", np.array([base], np.float32)), ("expected", want)])


def attn_case(rng, name, mode, n_q, n_head, n_kv_head, d, rows, n_kv, kv_offset, kv_type, windows=None):
    q = rng.normal(0, 1, (n_q, n_head, d)).astype(np.float32)
    k = rng.normal(0, 1, (rows, n_kv_head, d)).astype(kv_type)
    v = rng.normal(0, 1, (rows, n_kv_head, d)).astype(kv_type)
    scale = np.float32(1.0 / np.sqrt(d))
    want = attention(q, k, v, mode, n_kv, kv_offset, float(scale), windows)
    arrays = [("q", q), ("k", k), ("v", v), ("iparams", np.array([mode, n_kv, kv_offset], np.int32)),
              ("fparams", np.array([scale], np.float32))]
    if windows is not None:
        arrays.append(("windows", np.array(windows, np.int32)))
    write(name, arrays + [("expected", want)])


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(20260501)
    rope_case(rng, "rope_neox.bin", NEOX, 5, 3, 64, 64, (0, 0, 0, 0), 1e6, 1, 4096)
    rope_case(rng, "rope_neox_partial.bin", NEOX, 3, 2, 80, 32, (0, 0, 0, 0), 1e4, 1, 300)
    rope_case(rng, "rope_mrope.bin", MROPE, 4, 2, 128, 128, (16, 24, 24, 0), 1e6, 3, 2048)
    rope_case(rng, "rope_vision.bin", VISION, 6, 2, 80, 80, (20, 20, 0, 0), 1e4, 2, 64)
    attn_case(rng, "attn_full_gqa.bin", FULL, 5, 4, 2, 16, 7, 7, 0, np.float32)
    attn_case(rng, "attn_causal_f16_cache.bin", CAUSAL, 3, 2, 1, 8, 12, 9, 6, np.float16)
    attn_case(rng, "attn_decode.bin", CAUSAL, 1, 2, 2, 16, 20, 17, 16, np.float32)
    attn_case(rng, "attn_windowed.bin", WINDOWED, 10, 2, 2, 8, 10, 10, 0, np.float32, windows=[0, 3, 7, 10])


if __name__ == "__main__":
    main()
