#!/usr/bin/env python3
"""Writes tests/fixtures/safetensors/: checkpoints written by the `safetensors` PyPI package (the
reference implementation, Rust core) for hatch's reader to be checked against, with the expected
float32 values computed by numpy, plus Qwen2.5-VL config files.

  tiny/model.safetensors            one file: BF16, F16, F32, I64, a scalar, an empty tensor, metadata
  tiny/expected.bin                 float32 values of tiny's float tensors (see below)
  tiny/config.json                  small Qwen2.5-VL, text fields at the top level (published layout)
  tiny/preprocessor_config.json     min_pixels/max_pixels at the top level
  sharded/model-0000{1,2}-of-00002.safetensors + model.safetensors.index.json
  sharded/expected.bin
  sharded/config.json               the same small model, text fields under "text_config",
                                    rope_parameters (transformers >= 4.5x layout)
  sharded/preprocessor_config.json  pixel bounds under "size" (fast-processor layout)
  qwen25vl_3b_config.json           Qwen/Qwen2.5-VL-3B-Instruct's published config.json
  qwen25vl_3b_preprocessor_config.json

expected.bin (little-endian): for each float tensor in name order: u32 name length, name bytes,
u32 n, f32[n] values. BF16 tensors are written from raw bit patterns (numpy has no bfloat16; the
package's serialize() takes raw bytes with dtype "bfloat16"), their expected values are the float32
whose top half is those bits (numpy view), F16 expected values are numpy's float16 -> float32.
"""
import json
import pathlib
import struct

import numpy as np
import safetensors

OUT = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "safetensors"
rng = np.random.default_rng(20261122)


def bf16_tensor(values_f32):
    """float32 values -> (bf16 bit patterns, exact float32 values): truncate to the top 16 bits."""
    bits32 = np.asarray(values_f32, dtype=np.float32).view(np.uint32) & np.uint32(0xFFFF0000)
    return (bits32 >> 16).astype("<u2"), bits32.view(np.float32)


def raw(dtype, arr):
    return {"dtype": dtype, "shape": list(arr.shape), "data": arr.tobytes()}


def write(path, tensors, metadata=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    safetensors.serialize_file(tensors, str(path), metadata=metadata)


def write_expected(path, expected):
    with open(path, "wb") as f:
        for name in sorted(expected):
            v = np.asarray(expected[name], dtype="<f4").reshape(-1)
            f.write(struct.pack("<I", len(name)) + name.encode() + struct.pack("<I", v.size) + v.tobytes())


def tiny():
    bf_vals = np.concatenate([
        np.array([1.0, -2.5, 3.140625, -0.0, np.inf, -np.inf, 3.3895314e38, 9.2e-41, 1.1754944e-38], np.float32),
        rng.normal(0, 3, 6).astype(np.float32)])
    bf_bits, bf_f32 = bf16_tensor(bf_vals)
    f16 = np.concatenate([np.array([65504, -0.0, 5.96e-8, 6.1e-5, np.inf, 0.333], np.float16),
                          rng.normal(0, 10, 18).astype(np.float16)]).reshape(2, 3, 4).astype("<f2")
    f32 = rng.normal(0, 1, 7).astype("<f4")
    scalar = np.array(42.0, dtype="<f4")
    tensors = {
        "a.bf16": raw("bfloat16", bf_bits.reshape(3, 5)),
        "b.f16": raw("float16", f16),
        "c.f32": raw("float32", f32),
        "d.i64": raw("int64", np.array([1, -1], dtype="<i8")),
        "e.scalar": raw("float32", scalar),
        "f.empty": raw("float32", np.zeros((0, 3), dtype="<f4")),
    }
    write(OUT / "tiny" / "model.safetensors", tensors, metadata={"format": "pt", "producer": "hatch-fixtures"})
    write_expected(OUT / "tiny" / "expected.bin", {
        "a.bf16": bf_f32, "b.f16": f16.astype(np.float32), "c.f32": f32, "e.scalar": scalar,
        "f.empty": np.zeros(0, np.float32)})


def sharded():
    w0_bits, w0 = bf16_tensor(rng.normal(0, 0.05, 24).astype(np.float32))
    w1 = rng.normal(0, 0.05, (3, 8)).astype("<f2")
    head = rng.normal(0, 0.02, (5, 4)).astype("<f4")
    norm_bits, norm = bf16_tensor(np.linspace(0.5, 1.5, 4, dtype=np.float32))
    d = OUT / "sharded"
    shards = {
        "model-00001-of-00002.safetensors": {
            "model.layers.0.mlp.up_proj.weight": raw("bfloat16", w0_bits.reshape(4, 6)),
            "model.norm.weight": raw("bfloat16", norm_bits),
        },
        "model-00002-of-00002.safetensors": {
            "model.layers.1.mlp.up_proj.weight": raw("float16", w1),
            "lm_head.weight": raw("float32", head),
        },
    }
    weight_map, total = {}, 0
    for fname, tensors in shards.items():
        write(d / fname, tensors, metadata={"format": "pt"})
        for name, t in tensors.items():
            weight_map[name] = fname
            total += len(t["data"])
    index = {"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))}
    (d / "model.safetensors.index.json").write_text(json.dumps(index, indent=2) + "\n")
    write_expected(d / "expected.bin", {
        "model.layers.0.mlp.up_proj.weight": w0, "model.norm.weight": norm,
        "model.layers.1.mlp.up_proj.weight": w1.astype(np.float32), "lm_head.weight": head})


# A small member of the family: head_dim 8 (mrope [1, 1, 2]), vision head_dim 8, window 56 px.
SMALL_TEXT = {
    "vocab_size": 64, "hidden_size": 32, "intermediate_size": 48, "num_hidden_layers": 2,
    "num_attention_heads": 4, "num_key_value_heads": 2, "hidden_act": "silu", "max_position_embeddings": 256,
    "rms_norm_eps": 1e-06, "rope_theta": 10000.0, "tie_word_embeddings": True, "use_sliding_window": False,
    "sliding_window": None, "bos_token_id": 0, "eos_token_id": 1, "torch_dtype": "bfloat16",
}
SMALL_VISION = {
    "depth": 4, "hidden_size": 16, "intermediate_size": 40, "num_heads": 2, "in_chans": 3, "out_hidden_size": 32,
    "patch_size": 14, "spatial_merge_size": 2, "spatial_patch_size": 14, "temporal_patch_size": 2,
    "window_size": 56, "fullatt_block_indexes": [1, 3], "tokens_per_second": 2, "hidden_act": "silu",
}
TOKENS = {"image_token_id": 60, "video_token_id": 61, "vision_start_token_id": 62, "vision_end_token_id": 63}
CLIP = {"image_mean": [0.48145466, 0.4578275, 0.40821073], "image_std": [0.26862954, 0.26130258, 0.27577711]}


def configs():
    flat = {"architectures": ["Qwen2_5_VLForConditionalGeneration"], "model_type": "qwen2_5_vl", **SMALL_TEXT,
            "rope_scaling": {"type": "mrope", "mrope_section": [1, 1, 2]}, "vision_config": SMALL_VISION, **TOKENS}
    (OUT / "tiny" / "config.json").write_text(json.dumps(flat, indent=2) + "\n")
    (OUT / "tiny" / "preprocessor_config.json").write_text(json.dumps(
        {"min_pixels": 3136, "max_pixels": 200704, "patch_size": 14, "temporal_patch_size": 2, "merge_size": 2,
         **CLIP, "image_processor_type": "Qwen2VLImageProcessor", "processor_class": "Qwen2_5_VLProcessor"},
        indent=2) + "\n")
    text = {**SMALL_TEXT, "model_type": "qwen2_5_vl_text", "video_token_id": None,
            "rope_parameters": {"rope_type": "default", "mrope_section": [1, 1, 2], "rope_theta": 10000.0}}
    del text["rope_theta"]
    vision = {k: v for k, v in SMALL_VISION.items() if k not in ("in_chans", "spatial_patch_size")}
    vision["in_channels"] = 3
    nested = {"architectures": ["Qwen2_5_VLForConditionalGeneration"], "model_type": "qwen2_5_vl",
              "text_config": text, "vision_config": vision, "tie_word_embeddings": True, **TOKENS,
              "transformers_version": "4.57.1"}
    (OUT / "sharded" / "config.json").write_text(json.dumps(nested, indent=2) + "\n")
    (OUT / "sharded" / "preprocessor_config.json").write_text(json.dumps(
        {"size": {"shortest_edge": 3136, "longest_edge": 401408}, "patch_size": 14, "temporal_patch_size": 2,
         "merge_size": 2, "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5], "min_pixels": None,
         "max_pixels": None, "image_processor_type": "Qwen2VLImageProcessorFast"}, indent=2) + "\n")
    # Qwen/Qwen2.5-VL-3B-Instruct config.json and preprocessor_config.json as published.
    qwen3b = {
        "architectures": ["Qwen2_5_VLForConditionalGeneration"], "attention_dropout": 0.0, "bos_token_id": 151643,
        "eos_token_id": 151645, "vision_start_token_id": 151652, "vision_end_token_id": 151653,
        "vision_token_id": 151654, "image_token_id": 151655, "video_token_id": 151656, "hidden_act": "silu",
        "hidden_size": 2048, "initializer_range": 0.02, "intermediate_size": 11008, "max_position_embeddings": 128000,
        "max_window_layers": 70, "model_type": "qwen2_5_vl", "num_attention_heads": 16, "num_hidden_layers": 36,
        "num_key_value_heads": 2, "rms_norm_eps": 1e-06, "rope_theta": 1000000.0, "sliding_window": 32768,
        "tie_word_embeddings": True, "torch_dtype": "bfloat16", "transformers_version": "4.41.2", "use_cache": True,
        "use_sliding_window": False,
        "vision_config": {"depth": 32, "hidden_act": "silu", "hidden_size": 1280, "intermediate_size": 3420,
                          "num_heads": 16, "in_chans": 3, "out_hidden_size": 2048, "patch_size": 14,
                          "spatial_merge_size": 2, "spatial_patch_size": 14, "window_size": 112,
                          "fullatt_block_indexes": [7, 15, 23, 31], "tokens_per_second": 2,
                          "temporal_patch_size": 2},
        "rope_scaling": {"type": "mrope", "mrope_section": [16, 24, 24]}, "vocab_size": 151936,
    }
    (OUT / "qwen25vl_3b_config.json").write_text(json.dumps(qwen3b, indent=2) + "\n")
    (OUT / "qwen25vl_3b_preprocessor_config.json").write_text(json.dumps(
        {"min_pixels": 3136, "max_pixels": 12845056, "patch_size": 14, "temporal_patch_size": 2, "merge_size": 2,
         **CLIP, "image_processor_type": "Qwen2VLImageProcessor", "processor_class": "Qwen2_5_VLProcessor"},
        indent=2) + "\n")


if __name__ == "__main__":
    tiny()
    sharded()
    configs()
    total = sum(p.stat().st_size for p in OUT.rglob("*") if p.is_file())
    assert total < 200_000, total
    print(f"wrote {OUT} ({total} bytes)")
