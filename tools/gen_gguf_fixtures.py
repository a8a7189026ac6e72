#!/usr/bin/env python3
"""Writes the GGUF fixtures of tests/unit/test_gguf.c with the `gguf` PyPI package (gguf-py 0.17.1,
llama.cpp's own writer), so hatch's reader is checked against an independent implementation:

  tests/fixtures/gguf/tiny_qwen2vl.gguf   Qwen2.5-VL-shaped text model (arch "qwen2vl", tied output)
  tests/fixtures/gguf/tiny_mmproj.gguf    Qwen2.5-VL vision tower + merger (arch "clip")
  tests/fixtures/gguf/all_types.gguf      every metadata type and ggml raw type, alignment 64
  tests/fixtures/gguf/<name>.txt          sidecar: what the file must contain (see below)
  tests/fuzz/corpus/gguf/*                seeds for fuzz_gguf: small valid files and hostile ones

Random data from a fixed seed; F32/F16/BF16/Q8_0 (+ I8..I64/F64 in all_types) tensors.

Sidecar format, one record per line, whitespace-separated:
  gguf <n_kv> <n_tensors> <file_size> <sha256 of the file> <alignment>
  kv <key> <type> <value>      scalar; ints in decimal, float32/float64 as hex bit patterns,
                               bool 0/1, strings as hex of their UTF-8 bytes ("-" when empty)
  arr <key> <elem_type> <n>    followed by n lines "el <value>" encoded as above
  tensor <name> <ggml type id> <n_dims> <ne0> <ne1> <ne2> <ne3> <nbytes> <sha256 of the data>
  val <flat index> <float32 bits, hex>   dequantized element (gguf.quants.dequantize), ggml order

  --verify FILE REF  reads FILE and REF with gguf.GGUFReader and checks they hold the same KVs and
                     tensors (and the same bytes): run it on the copy test_gguf writes with hatch's
                     writer (HATCH_TEST_GGUF_OUT=dir) to check gguf-py reads what hatch writes.
"""
import hashlib
import pathlib
import struct
import sys

import numpy as np
from gguf import GGMLQuantizationType as Q, GGUFReader, GGUFValueType as V, GGUFWriter, quants

ROOT = pathlib.Path(__file__).resolve().parent.parent
FIX = ROOT / "tests" / "fixtures" / "gguf"
CORPUS = ROOT / "tests" / "fuzz" / "corpus" / "gguf"
rng = np.random.default_rng(20260311)


def f32_bits(x):
    return struct.unpack("<I", struct.pack("<f", float(x)))[0]


def enc(vtype, v):
    if vtype == V.STRING:
        b = v.encode("utf-8") if isinstance(v, str) else bytes(v)
        return b.hex() if b else "-"
    if vtype == V.FLOAT32:
        return "%08x" % f32_bits(v)
    if vtype == V.FLOAT64:
        return "%016x" % struct.unpack("<Q", struct.pack("<d", float(v)))[0]
    if vtype == V.BOOL:
        return "1" if v else "0"
    return str(int(v))


class Fixture:
    """A GGUFWriter plus the record of what went in, for the sidecar."""

    def __init__(self, name, arch, alignment=None):
        self.name, self.arch = name, arch
        self.w = GGUFWriter(str(FIX / f"{name}.gguf"), arch)
        self.kvs = [("general.architecture", V.STRING, arch, None)]
        self.tensors = []
        self.alignment = 32
        if alignment:
            self.w.add_custom_alignment(alignment)
            self.alignment = alignment
            self.kvs.append(("general.alignment", V.UINT32, alignment, None))

    def kv(self, key, vtype, v):
        self.w.add_key_value(key, v, vtype)
        self.kvs.append((key, vtype, v, None))

    def arr(self, key, etype, items):
        self.w.add_key_value(key, list(items), V.ARRAY, sub_type=etype)
        self.kvs.append((key, V.ARRAY, list(items), etype))

    def tensor(self, name, shape, qtype, scale=1.0):
        """shape in torch order (outermost first); ggml ne is its reverse."""
        x = (rng.standard_normal(shape) * scale).astype(np.float32)
        if qtype == Q.F32:
            data = x
        elif qtype == Q.F16:
            data = x.astype(np.float16)
        elif qtype == Q.F64:
            data = x.astype(np.float64)
        elif qtype in (Q.I8, Q.I16, Q.I32, Q.I64):
            dt = {Q.I8: np.int8, Q.I16: np.int16, Q.I32: np.int32, Q.I64: np.int64}[qtype]
            info = np.iinfo(dt)
            data = rng.integers(info.min, info.max, size=shape, dtype=dt, endpoint=True)
        else:  # BF16, Q8_0: byte arrays from gguf-py's reference quantizer
            data = quants.quantize(x, qtype)
        if data.dtype == np.uint8:
            self.w.add_tensor(name, data, raw_dtype=qtype)
        else:
            self.w.add_tensor(name, data)
        self.tensors.append((name, shape, qtype, data))

    def write(self):
        self.w.write_header_to_file()
        self.w.write_kv_data_to_file()
        self.w.write_tensors_to_file()
        self.w.close()
        path = FIX / f"{self.name}.gguf"
        blob = path.read_bytes()
        lines = [f"gguf {len(self.kvs)} {len(self.tensors)} {len(blob)} {hashlib.sha256(blob).hexdigest()} {self.alignment}"]
        for key, vtype, v, etype in self.kvs:
            if vtype == V.ARRAY:
                lines.append(f"arr {key} {etype.name.lower()} {len(v)}")
                lines += [f"el {enc(etype, e)}" for e in v]
            else:
                lines.append(f"kv {key} {vtype.name.lower()} {enc(vtype, v)}")
        for name, shape, qtype, data in self.tensors:
            ne = list(reversed(shape)) + [1] * (4 - len(shape))
            raw = np.ascontiguousarray(data).tobytes()
            lines.append(f"tensor {name} {int(qtype)} {len(shape)} {' '.join(map(str, ne))} {len(raw)} "
                         f"{hashlib.sha256(raw).hexdigest()}")
            if qtype in (Q.F32, Q.F16, Q.BF16, Q.Q8_0):
                deq = data.astype(np.float32) if qtype in (Q.F32, Q.F16) else quants.dequantize(data, qtype)
                flat = deq.reshape(-1).astype(np.float32)
                for i in sorted({0, 1, flat.size // 2, flat.size - 1}):
                    lines.append(f"val {i} {f32_bits(flat[i]):08x}")
        (FIX / f"{self.name}.txt").write_text("\n".join(lines) + "\n")
        print(f"wrote {path.relative_to(ROOT)} ({len(blob)} bytes, {len(self.kvs)} KVs, {len(self.tensors)} tensors)")
        return blob


def tiny_qwen2vl():
    d, n_head, n_kv, hd, ff, n_layer, vocab = 32, 4, 2, 8, 64, 2, 256
    f = Fixture("tiny_qwen2vl", "qwen2vl")
    f.kv("general.type", V.STRING, "model")
    f.kv("general.name", V.STRING, "hatch tiny Qwen2.5-VL (fixture)")
    f.kv("general.file_type", V.UINT32, 7)  # MOSTLY_Q8_0
    f.kv("general.quantization_version", V.UINT32, 2)
    f.kv("qwen2vl.context_length", V.UINT32, 4096)
    f.kv("qwen2vl.embedding_length", V.UINT32, d)
    f.kv("qwen2vl.block_count", V.UINT32, n_layer)
    f.kv("qwen2vl.feed_forward_length", V.UINT32, ff)
    f.kv("qwen2vl.attention.head_count", V.UINT32, n_head)
    f.kv("qwen2vl.attention.head_count_kv", V.UINT32, n_kv)
    f.kv("qwen2vl.rope.freq_base", V.FLOAT32, 1000000.0)
    f.kv("qwen2vl.attention.layer_norm_rms_epsilon", V.FLOAT32, 1e-6)
    f.arr("qwen2vl.rope.dimension_sections", V.INT32, [2, 1, 1, 0])  # sums to hd/2 (3B: 16, 24, 24, 0)
    f.kv("tokenizer.ggml.model", V.STRING, "gpt2")
    f.kv("tokenizer.ggml.pre", V.STRING, "qwen2")
    f.arr("tokenizer.ggml.tokens", V.STRING, [f"tok{i}" if i % 7 else f"Ġ{i}é" for i in range(vocab)])
    f.arr("tokenizer.ggml.token_type", V.INT32, [1] * (vocab - 3) + [3, 3, 3])
    f.arr("tokenizer.ggml.merges", V.STRING, ["Ġ t", "t o", "to k"])
    f.kv("tokenizer.ggml.eos_token_id", V.UINT32, vocab - 2)
    f.kv("tokenizer.ggml.add_bos_token", V.BOOL, False)
    f.tensor("token_embd.weight", (vocab, d), Q.Q8_0)
    for b in range(n_layer):
        p = f"blk.{b}."
        f.tensor(p + "attn_norm.weight", (d,), Q.F32)
        f.tensor(p + "attn_q.weight", (n_head * hd, d), Q.Q8_0)
        f.tensor(p + "attn_q.bias", (n_head * hd,), Q.F32)
        f.tensor(p + "attn_k.weight", (n_kv * hd, d), Q.F16)
        f.tensor(p + "attn_k.bias", (n_kv * hd,), Q.F32)
        f.tensor(p + "attn_v.weight", (n_kv * hd, d), Q.BF16)
        f.tensor(p + "attn_v.bias", (n_kv * hd,), Q.F32)
        f.tensor(p + "attn_output.weight", (d, n_head * hd), Q.Q8_0)
        f.tensor(p + "ffn_norm.weight", (d,), Q.F32)
        f.tensor(p + "ffn_gate.weight", (ff, d), Q.Q8_0)
        f.tensor(p + "ffn_up.weight", (ff, d), Q.F16)
        f.tensor(p + "ffn_down.weight", (d, ff), Q.Q8_0)
    f.tensor("output_norm.weight", (d,), Q.F32)  # output.weight absent: tied to token_embd
    return f.write()


def tiny_mmproj():
    d, ff, n_head, n_layer, patch, merge, d_text = 32, 64, 2, 2, 4, 2, 32
    f = Fixture("tiny_mmproj", "clip")
    f.kv("general.type", V.STRING, "mmproj")
    f.kv("general.name", V.STRING, "hatch tiny Qwen2.5-VL vision (fixture)")
    f.kv("general.file_type", V.UINT32, 1)
    f.kv("clip.has_vision_encoder", V.BOOL, True)
    f.kv("clip.vision.projection_dim", V.UINT32, d_text)
    f.kv("clip.vision.image_size", V.UINT32, 8 * patch)
    f.kv("clip.vision.patch_size", V.UINT32, patch)
    f.kv("clip.vision.embedding_length", V.UINT32, d)
    f.kv("clip.vision.feed_forward_length", V.UINT32, ff)
    f.kv("clip.vision.block_count", V.UINT32, n_layer)
    f.kv("clip.vision.attention.head_count", V.UINT32, n_head)
    f.arr("clip.vision.image_mean", V.FLOAT32, [0.48145466, 0.4578275, 0.40821073])
    f.arr("clip.vision.image_std", V.FLOAT32, [0.26862954, 0.26130258, 0.27577711])
    f.kv("clip.vision.spatial_merge_size", V.UINT32, merge)
    f.kv("clip.projector_type", V.STRING, "qwen2.5vl_merger")
    f.kv("clip.use_silu", V.BOOL, True)
    f.kv("clip.vision.n_wa_pattern", V.UINT32, 2)  # fullatt_block_indexes [1]
    f.kv("clip.vision.window_size", V.UINT32, 2 * patch * merge)
    f.kv("clip.vision.attention.layer_norm_epsilon", V.FLOAT32, 1e-6)
    f.tensor("v.patch_embd.weight", (d, 3, patch, patch), Q.F16)
    f.tensor("v.patch_embd.weight.1", (d, 3, patch, patch), Q.F16)
    for b in range(n_layer):
        p = f"v.blk.{b}."
        for t in ("attn_q", "attn_k", "attn_v", "attn_out"):
            f.tensor(p + t + ".weight", (d, d), Q.F16)
            f.tensor(p + t + ".bias", (d,), Q.F32)
        f.tensor(p + "ln1.weight", (d,), Q.F32)
        f.tensor(p + "ln2.weight", (d,), Q.F32)
        f.tensor(p + "ffn_gate.weight", (ff, d), Q.BF16)
        f.tensor(p + "ffn_gate.bias", (ff,), Q.F32)
        f.tensor(p + "ffn_up.weight", (ff, d), Q.F16)
        f.tensor(p + "ffn_up.bias", (ff,), Q.F32)
        f.tensor(p + "ffn_down.weight", (d, ff), Q.Q8_0)
        f.tensor(p + "ffn_down.bias", (d,), Q.F32)
    f.tensor("v.post_ln.weight", (d,), Q.F32)
    f.tensor("mm.0.weight", (4 * d, 4 * d), Q.Q8_0)
    f.tensor("mm.0.bias", (4 * d,), Q.F32)
    f.tensor("mm.2.weight", (d_text, 4 * d), Q.Q8_0)
    f.tensor("mm.2.bias", (d_text,), Q.F32)
    return f.write()


def all_types():
    f = Fixture("all_types", "hatchtest", alignment=64)
    f.kv("t.u8", V.UINT8, 250)
    f.kv("t.i8", V.INT8, -120)
    f.kv("t.u16", V.UINT16, 65000)
    f.kv("t.i16", V.INT16, -32000)
    f.kv("t.u32", V.UINT32, 4000000000)
    f.kv("t.i32", V.INT32, -2000000000)
    f.kv("t.f32", V.FLOAT32, -1.5e-7)
    f.kv("t.bool", V.BOOL, True)
    f.kv("t.str", V.STRING, "h\u00e9llo w\u00f6rld \u2713")
    f.kv("t.str_empty", V.STRING, "")
    f.kv("t.u64", V.UINT64, 2**63 + 5)
    f.kv("t.i64", V.INT64, -(2**62) - 3)
    f.kv("t.f64", V.FLOAT64, 3.141592653589793)
    f.kv("t.i32_small", V.INT32, 7)
    f.arr("t.arr_u8", V.UINT8, [0, 1, 255])
    f.arr("t.arr_i8", V.INT8, [-128, 0, 127])
    f.arr("t.arr_u16", V.UINT16, [1, 65535])
    f.arr("t.arr_i16", V.INT16, [-32768, 32767])
    f.arr("t.arr_u32", V.UINT32, [0, 4294967295])
    f.arr("t.arr_i32", V.INT32, [-1, 2, -3])
    f.arr("t.arr_f32", V.FLOAT32, [0.5, -2.25, 1e30])
    f.arr("t.arr_bool", V.BOOL, [True, False, True])
    f.arr("t.arr_str", V.STRING, ["a", "", "\u00fcber", "x" * 40])
    f.arr("t.arr_u64", V.UINT64, [2**64 - 1, 0])
    f.arr("t.arr_i64", V.INT64, [-(2**63), 2**63 - 1])
    f.arr("t.arr_f64", V.FLOAT64, [1e-300, -0.0])
    f.tensor("f32_1d", (3,), Q.F32)
    f.tensor("f16_odd", (2, 13), Q.F16)
    f.tensor("bf16", (5,), Q.BF16)
    f.tensor("q8_0", (3, 64), Q.Q8_0)
    f.tensor("i8", (7,), Q.I8)
    f.tensor("i16", (2, 3), Q.I16)
    f.tensor("i32", (4,), Q.I32)
    f.tensor("i64", (3,), Q.I64)
    f.tensor("f64", (2, 2), Q.F64)
    f.tensor("f32_4d", (2, 1, 3, 2), Q.F32)
    return f.write()


# ---- hostile corpus seeds: raw bytes, built by hand -------------------------------------------------

def s(b):
    b = b.encode() if isinstance(b, str) else b
    return struct.pack("<Q", len(b)) + b


def hdr(n_tensors, n_kv, version=3):
    return b"GGUF" + struct.pack("<IQQ", version, n_tensors, n_kv)


def tinfo(name, ne, qtype, off):
    return s(name) + struct.pack("<I", len(ne)) + b"".join(struct.pack("<Q", n) for n in ne) + struct.pack("<IQ", qtype, off)


def pad(b, a=32):
    return b + b"\0" * ((-len(b)) % a)


def corpus(all_types_blob):
    CORPUS.mkdir(parents=True, exist_ok=True)
    for p in CORPUS.glob("*"):
        p.unlink()
    one = pad(hdr(1, 1) + s("general.architecture") + struct.pack("<I", 8) + s("x") + tinfo("t", [8], 0, 0)) + bytes(32)
    seeds = {
        "valid_all_types.gguf": all_types_blob,
        "valid_one_tensor.gguf": one,
        "truncated_all_types.gguf": all_types_blob[: len(all_types_blob) // 3],
        "huge_counts.gguf": hdr(2**60, 2**61),
        "huge_array.gguf": hdr(0, 1) + s("a") + struct.pack("<IIQ", 9, 4, 2**60),
        "huge_string.gguf": hdr(0, 1) + s("a") + struct.pack("<IQ", 8, 2**63) + b"abc",
        "nested_array.gguf": hdr(0, 1) + s("a") + struct.pack("<IIQ", 9, 9, 1) + struct.pack("<IQ", 4, 1) + b"\0" * 4,
        "bad_value_type.gguf": hdr(0, 1) + s("a") + struct.pack("<I", 13) + b"\0" * 8,
        "dup_key.gguf": hdr(0, 2) + (s("k") + struct.pack("<IB", 0, 1)) * 2,
        "dup_tensor.gguf": pad(hdr(2, 0) + tinfo("t", [8], 0, 0) + tinfo("t", [8], 0, 32)) + bytes(64),
        "overlap.gguf": pad(hdr(2, 0) + tinfo("a", [16], 0, 0) + tinfo("b", [8], 0, 32)) + bytes(96),
        "misaligned.gguf": pad(hdr(1, 0) + tinfo("t", [8], 0, 4)) + bytes(64),
        "past_end.gguf": pad(hdr(1, 0) + tinfo("t", [1024], 0, 0)) + bytes(32),
        "bad_ggml_type.gguf": pad(hdr(1, 0) + tinfo("t", [8], 99, 0)) + bytes(32),
        "q8_0_partial_block.gguf": pad(hdr(1, 0) + tinfo("t", [33], 8, 0)) + bytes(64),
        "five_dims.gguf": pad(hdr(1, 0) + tinfo("t", [1, 1, 1, 1, 1], 0, 0)) + bytes(32),
        "ne_overflow.gguf": pad(hdr(1, 0) + tinfo("t", [2**32, 2**32], 0, 0)) + bytes(32),
        "zero_dim.gguf": pad(hdr(1, 0) + tinfo("t", [0], 0, 0)) + bytes(32),
        "alignment_not_pow2.gguf": pad(hdr(1, 1) + s("general.alignment") + struct.pack("<II", 4, 48) + tinfo("t", [8], 0, 0), 48) + bytes(48),
        "alignment_wrong_type.gguf": hdr(0, 1) + s("general.alignment") + struct.pack("<IQ", 10, 32),
        "version1.gguf": hdr(0, 0, version=1),
        "big_endian.gguf": b"GGUF" + struct.pack(">IQQ", 3, 0, 0),
        "bad_utf8.gguf": hdr(0, 1) + s("k") + struct.pack("<I", 8) + s(b"\xff\xfe\xc3"),
        "nul_in_key.gguf": hdr(0, 1) + s(b"a\0b") + struct.pack("<IB", 0, 1),
    }
    for name, blob in seeds.items():
        (CORPUS / name).write_bytes(blob)
    print(f"wrote {len(seeds)} corpus seeds to {CORPUS.relative_to(ROOT)}")


# ---- --verify: gguf-py reads a file and finds the same content as in a reference ---------------------

def summarize(path):
    r = GGUFReader(str(path))
    kvs = {}
    for k, fld in r.fields.items():
        kvs[k] = (tuple(int(t) for t in fld.types), [bytes(fld.parts[i]) for i in fld.data])
    ts = [(t.name, int(t.tensor_type), tuple(int(x) for x in t.shape), bytes(np.ascontiguousarray(t.data).tobytes()))
          for t in r.tensors]
    return kvs, ts


def verify(path, ref):
    a, b = summarize(path), summarize(ref)
    ok = a == b and pathlib.Path(path).read_bytes() == pathlib.Path(ref).read_bytes()
    print(f"{path}: gguf-py reads {len(a[0])} KVs and {len(a[1])} tensors; "
          f"{'same content and bytes as' if ok else 'DIFFERS from'} {ref}")
    return ok


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "--verify":
        sys.exit(0 if verify(sys.argv[2], sys.argv[3]) else 1)
    FIX.mkdir(parents=True, exist_ok=True)
    tiny_qwen2vl()
    tiny_mmproj()
    corpus(all_types())


if __name__ == "__main__":
    main()
