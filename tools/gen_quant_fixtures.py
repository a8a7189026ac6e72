#!/usr/bin/env python3
"""Writes tests/fixtures/quant_gguf.bin: Q8_0 blocks and fp16 values computed by the `gguf` PyPI
package (ggml's reference quantizer, bit-exact with ggml-quants.c) and numpy, for hatch's C
quantizer and fp16 conversion to be checked against.

Format (little-endian):
  magic "HQF1"
  u32 n                      number of floats (a multiple of 32)
  f32[n]    x                inputs (a few are +-inf: those are quantized as 0)
  u8[n/32*34] q8_0           gguf.quants.quantize(x with non-finite values set to 0, Q8_0)
  f32[n]    deq              gguf.quants.dequantize(q8_0, Q8_0)
  u16[n]    f16              x.astype(float16) bit patterns (round to nearest even)
"""
import pathlib
import struct

import numpy as np
from gguf import GGMLQuantizationType, quants

rng = np.random.default_rng(20261121)
blocks = [
    rng.uniform(-1, 1, 32 * 6),
    rng.normal(0, 30, 32 * 4),
    np.zeros(32),                               # all-zero block: d = 0
    np.full(32, 1e-6),                          # scale below fp16's normal range
    np.concatenate([[1e4], rng.uniform(-1, 1, 31)]),  # one outlier dominates the block
    np.array([(-1) ** i * 65504.0 for i in range(32)]),  # fp16 max
    rng.uniform(-1e-3, 1e-3, 32),
]
x = np.concatenate(blocks).astype(np.float32)
specials = np.array([0.0, -0.0, 1.0, -2.5, 65504.0, 65520.0, 1e6, -1e6, 6.1e-5, 5.96e-8, 2.9e-8, 3.0e-8, 1e-9,
                     np.inf, -np.inf, 0.333333, 1.0009765625, 1.00048828125, 1.0014648437, 2049.0, 2051.0,
                     -7.62939453125e-06, 1.1920929e-07, 0.1, 0.2, 0.3, 1234.5678, -0.000061035156, 4096.5, 8191.0,
                     32768.0, 100000.0], dtype=np.float32)
x = np.concatenate([x, specials[:32]]).astype(np.float32)
assert x.size % 32 == 0

finite = np.where(np.isfinite(x), x, 0).astype(np.float32)  # quantize finite data only
q = quants.quantize(finite.reshape(-1, 32), GGMLQuantizationType.Q8_0)
deq = quants.dequantize(q, GGMLQuantizationType.Q8_0).astype(np.float32).reshape(-1)
with np.errstate(over="ignore"):
    f16 = x.astype(np.float16).view(np.uint16)

out = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "quant_gguf.bin"
out.parent.mkdir(parents=True, exist_ok=True)
with open(out, "wb") as f:
    f.write(b"HQF1")
    f.write(struct.pack("<I", x.size))
    f.write(x.tobytes())
    f.write(np.ascontiguousarray(q).tobytes())
    f.write(deq.tobytes())
    f.write(f16.tobytes())
print(f"wrote {out} ({out.stat().st_size} bytes), {x.size} values")
