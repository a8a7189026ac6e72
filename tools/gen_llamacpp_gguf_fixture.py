#!/usr/bin/env python3
"""Writes tests/fixtures/qwen25vl/tiny_a_llamacpp/{text,mmproj}.gguf: the tiny_a Hugging Face fixture
checkpoint as llama.cpp lays Qwen2.5-VL out (a text GGUF, architecture "qwen2vl", plus an mmproj GGUF,
architecture "clip", projector "qwen2.5vl_merger"), written by the `gguf` package (gguf-py, pinned in
tools/requirements-fixtures.txt) independently of hatch's own writer and converter. Matrices F16 and
norms/biases F32 as llama.cpp's converter stores them; the vision tower's fused qkv split into q/k/v and
the Conv3D patch embedding into its two time slices; full-attention layers as clip.vision.n_wa_pattern.

  .venv-tools/bin/python tools/gen_llamacpp_gguf_fixture.py
"""
import json
import os

import gguf
import numpy as np
from safetensors.numpy import load_file

ROOT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "qwen25vl")
SRC = os.path.join(ROOT, "tiny_a")
OUT = os.path.join(ROOT, "tiny_a_llamacpp")


def f16(a):
    return np.ascontiguousarray(a.astype(np.float16))


def f32(a):
    return np.ascontiguousarray(a.astype(np.float32))


def main():
    os.makedirs(OUT, exist_ok=True)
    cfg = json.load(open(os.path.join(SRC, "config.json")))
    text = cfg.get("text_config", cfg)
    vis = cfg["vision_config"]
    w = load_file(os.path.join(SRC, "model.safetensors"))

    def get(*names):
        for n in names:
            if n in w:
                return w[n]
        raise KeyError(names)

    # ---- text model -------------------------------------------------------------------------
    t = gguf.GGUFWriter(os.path.join(OUT, "text.gguf"), arch="qwen2vl")
    t.add_name("tiny_a (llama.cpp layout, gguf-py)")
    t.add_context_length(text["max_position_embeddings"])
    t.add_embedding_length(text["hidden_size"])
    t.add_block_count(text["num_hidden_layers"])
    t.add_feed_forward_length(text["intermediate_size"])
    t.add_head_count(text["num_attention_heads"])
    t.add_head_count_kv(text["num_key_value_heads"])
    rs = text.get("rope_scaling") or text.get("rope_parameters") or {}
    t.add_rope_freq_base(text.get("rope_theta", rs.get("rope_theta", 1e6)))
    t.add_layer_norm_rms_eps(text["rms_norm_eps"])
    rs = text.get("rope_scaling") or text.get("rope_parameters")
    sec = list(rs["mrope_section"]) + [0]
    t.add_rope_dimension_sections(sec[:4])
    tok = json.load(open(os.path.join(SRC, "tokenizer.json")))
    vocab = tok["model"]["vocab"]
    n_vocab = text["vocab_size"]
    tokens = ["[PAD%d]" % i for i in range(n_vocab)]
    types = [gguf.TokenType.UNUSED] * n_vocab
    for s, i in vocab.items():
        tokens[i] = s
        types[i] = gguf.TokenType.NORMAL
    for a in tok["added_tokens"]:
        tokens[a["id"]] = a["content"]
        types[a["id"]] = gguf.TokenType.CONTROL if a["special"] else gguf.TokenType.USER_DEFINED
    merges = [m if isinstance(m, str) else " ".join(m) for m in tok["model"]["merges"]]
    t.add_tokenizer_model("gpt2")
    t.add_tokenizer_pre("qwen2")
    t.add_token_list(tokens)
    t.add_token_types(types)
    t.add_token_merges(merges)
    ids = {a["content"]: a["id"] for a in tok["added_tokens"]}
    t.add_eos_token_id(ids["<|im_end|>"])
    t.add_pad_token_id(ids["<|endoftext|>"])
    t.add_add_bos_token(False)
    t.add_tensor("token_embd.weight", f16(get("model.embed_tokens.weight", "model.language_model.embed_tokens.weight")))
    for l in range(text["num_hidden_layers"]):
        p = "model.layers.%d." % l if "model.layers.0.input_layernorm.weight" in w else "model.language_model.layers.%d." % l
        b = "blk.%d." % l
        t.add_tensor(b + "attn_norm.weight", f32(w[p + "input_layernorm.weight"]))
        for g, h in (("q", "q"), ("k", "k"), ("v", "v")):
            t.add_tensor(b + "attn_%s.weight" % g, f16(w[p + "self_attn.%s_proj.weight" % h]))
            t.add_tensor(b + "attn_%s.bias" % g, f32(w[p + "self_attn.%s_proj.bias" % h]))
        t.add_tensor(b + "attn_output.weight", f16(w[p + "self_attn.o_proj.weight"]))
        t.add_tensor(b + "ffn_norm.weight", f32(w[p + "post_attention_layernorm.weight"]))
        t.add_tensor(b + "ffn_gate.weight", f16(w[p + "mlp.gate_proj.weight"]))
        t.add_tensor(b + "ffn_up.weight", f16(w[p + "mlp.up_proj.weight"]))
        t.add_tensor(b + "ffn_down.weight", f16(w[p + "mlp.down_proj.weight"]))
    t.add_tensor("output_norm.weight", f32(get("model.norm.weight", "model.language_model.norm.weight")))
    if not text.get("tie_word_embeddings", cfg.get("tie_word_embeddings", False)):
        t.add_tensor("output.weight", f16(w["lm_head.weight"]))
    t.write_header_to_file()
    t.write_kv_data_to_file()
    t.write_tensors_to_file()
    t.close()

    # ---- mmproj ------------------------------------------------------------------------------
    v = gguf.GGUFWriter(os.path.join(OUT, "mmproj.gguf"), arch="clip")
    v.add_name("tiny_a mmproj (llama.cpp layout, gguf-py)")
    v.add_string("clip.projector_type", "qwen2.5vl_merger")
    v.add_bool("clip.has_vision_encoder", True)
    v.add_bool("clip.use_silu", True)
    d = vis["hidden_size"]
    v.add_uint32("clip.vision.block_count", vis["depth"])
    v.add_uint32("clip.vision.embedding_length", d)
    v.add_uint32("clip.vision.feed_forward_length", vis["intermediate_size"])
    v.add_uint32("clip.vision.attention.head_count", vis["num_heads"])
    v.add_float32("clip.vision.attention.layer_norm_epsilon", 1e-6)
    v.add_uint32("clip.vision.patch_size", vis["patch_size"])
    v.add_uint32("clip.vision.image_size", 560)
    v.add_uint32("clip.vision.projection_dim", vis["out_hidden_size"])
    v.add_uint32("clip.vision.spatial_merge_size", vis["spatial_merge_size"])
    v.add_uint32("clip.vision.window_size", vis["window_size"])
    full = vis["fullatt_block_indexes"]
    k = full[0] + 1
    assert full == [i * k + k - 1 for i in range(len(full))], "n_wa_pattern needs a regular pattern"
    v.add_uint32("clip.vision.n_wa_pattern", k)
    pp = json.load(open(os.path.join(SRC, "preprocessor_config.json")))
    v.add_array("clip.vision.image_mean", [float(x) for x in pp["image_mean"]])
    v.add_array("clip.vision.image_std", [float(x) for x in pp["image_std"]])
    vp = "visual." if "visual.patch_embed.proj.weight" in w else "model.visual."
    pe = w[vp + "patch_embed.proj.weight"]  # (d, C, T, P, P)
    v.add_tensor("v.patch_embd.weight", f16(pe[:, :, 0]))
    v.add_tensor("v.patch_embd.weight.1", f16(pe[:, :, 1]))
    for l in range(vis["depth"]):
        p = vp + "blocks.%d." % l
        b = "v.blk.%d." % l
        qkv, qkv_b = w[p + "attn.qkv.weight"], w[p + "attn.qkv.bias"]
        for i, g in enumerate("qkv"):
            v.add_tensor(b + "attn_%s.weight" % g, f16(qkv[i * d:(i + 1) * d]))
            v.add_tensor(b + "attn_%s.bias" % g, f32(qkv_b[i * d:(i + 1) * d]))
        v.add_tensor(b + "attn_out.weight", f16(w[p + "attn.proj.weight"]))
        v.add_tensor(b + "attn_out.bias", f32(w[p + "attn.proj.bias"]))
        v.add_tensor(b + "ln1.weight", f32(w[p + "norm1.weight"]))
        v.add_tensor(b + "ln2.weight", f32(w[p + "norm2.weight"]))
        for g in ("gate", "up", "down"):
            v.add_tensor(b + "ffn_%s.weight" % g, f16(w[p + "mlp.%s_proj.weight" % g]))
            v.add_tensor(b + "ffn_%s.bias" % g, f32(w[p + "mlp.%s_proj.bias" % g]))
    v.add_tensor("v.post_ln.weight", f32(w[vp + "merger.ln_q.weight"]))
    v.add_tensor("mm.0.weight", f16(w[vp + "merger.mlp.0.weight"]))
    v.add_tensor("mm.0.bias", f32(w[vp + "merger.mlp.0.bias"]))
    v.add_tensor("mm.2.weight", f16(w[vp + "merger.mlp.2.weight"]))
    v.add_tensor("mm.2.bias", f32(w[vp + "merger.mlp.2.bias"]))
    v.write_header_to_file()
    v.write_kv_data_to_file()
    v.write_tensors_to_file()
    v.close()
    print("wrote", OUT)


if __name__ == "__main__":
    main()
