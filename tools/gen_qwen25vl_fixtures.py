#!/usr/bin/env python3
"""The independent reference for the Qwen2.5-VL forward pass: builds two tiny random Qwen2.5-VL
checkpoints with Hugging Face transformers (PyTorch, CPU) and records what transformers computes for a
3-image chat prompt. Writes tests/fixtures/qwen25vl/tiny_a/ and tiny_b/ (layout: that folder's README.md).

Run (from the repository root):
  tools/setup-model-fixture-env.sh                         # once: .venv-model (pinned torch + transformers)
  .venv-model/bin/python tools/gen_qwen25vl_fixtures.py

Deterministic: fixed seeds, single-threaded torch, generated images; re-running rewrites identical files
(checked by the script's own reload round trip, not by hashing). Nothing is downloaded.
"""
import hashlib
import json
import math
import pathlib
import shutil
import sys

import numpy as np
import torch
from PIL import Image, ImageDraw

import safetensors
import safetensors.torch
import tokenizers
import transformers
from transformers import (GenerationConfig, PreTrainedTokenizerFast, Qwen2_5_VLConfig,
                          Qwen2_5_VLForConditionalGeneration, Qwen2_5_VLProcessor)
from transformers.models.qwen2_5_vl import modeling_qwen2_5_vl as M
from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil
from transformers.vision_utils import get_vision_cu_seqlens, get_vision_position_ids

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "fixtures" / "qwen25vl"
TOKENIZER = ROOT / "tests" / "fixtures" / "tokenizer" / "tokenizer.json"

# Qwen2.5-VL-3B-Instruct's chat_template (tokenizer_config.json / chat_template.json), verbatim.
CHAT_TEMPLATE = (
    "{% set image_count = namespace(value=0) %}{% set video_count = namespace(value=0) %}{% for message in messages %}"
    "{% if loop.first and message['role'] != 'system' %}<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
    "{% endif %}<|im_start|>{{ message['role'] }}\n{% if message['content'] is string %}{{ message['content'] }}"
    "<|im_end|>\n{% else %}{% for content in message['content'] %}{% if content['type'] == 'image' or 'image' in "
    "content or 'image_url' in content %}{% set image_count.value = image_count.value + 1 %}{% if add_vision_id %}"
    "Picture {{ image_count.value }}: {% endif %}<|vision_start|><|image_pad|><|vision_end|>{% elif content['type'] "
    "== 'video' or 'video' in content %}{% set video_count.value = video_count.value + 1 %}{% if add_vision_id %}"
    "Video {{ video_count.value }}: {% endif %}<|vision_start|><|video_pad|><|vision_end|>{% elif 'text' in content "
    "%}{{ content['text'] }}{% endif %}{% endfor %}<|im_end|>\n{% endif %}{% endfor %}{% if add_generation_prompt %}"
    "<|im_start|>assistant\n{% endif %}"
)
CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]
N_GEN = 16
N_LAST = 8  # prefill positions whose full logits are stored
MIN_MARGIN = 0.03  # smallest (top1 - top2) / std(logits) allowed on the greedy path (prefill last + 16 steps)
MIN_DISTINCT = 8  # generated tokens must not be one token repeated

# The two models. Both: patch 14, spatial merge 2, temporal patch 2, SiLU MLPs, vision RMSNorm eps 1e-6.
CASES = {
    "tiny_a": dict(
        seed=1234,
        save_dtype="float32",
        layout="transformers",  # save_pretrained as transformers 5 writes it: nested text_config, one file
        vision=dict(depth=4, hidden_size=64, num_heads=4, intermediate_size=96, out_hidden_size=96,
                    window_size=56, fullatt_block_indexes=[1, 3]),
        text=dict(hidden_size=96, num_hidden_layers=3, num_attention_heads=6, num_key_value_heads=2,
                  intermediate_size=160, rms_norm_eps=1e-6, rope_theta=1e6, mrope_section=[2, 3, 3]),
        tie=True,
        embed_std=0.1, head_gain=4.0,
        vocab_pad=1,  # vocab_size = tokenizer size
        min_pixels=56 * 56, max_pixels=28 * 28 * 16,
        # (width, height): a plain one, one under min_pixels, one over max_pixels
        images=[(150, 94), (30, 20), (230, 170)],
        question="Von Kamera 2 aus gesehen: wo ist der rote Stuhl? 从第二个摄像头看，红色的椅子在哪里？ A. links B. rechts 🤖",
    ),
    "tiny_b": dict(
        seed=5678,
        save_dtype="bfloat16",
        layout="published",  # flat config.json, rope_scaling, bf16, 2 shards: as Qwen2.5-VL-3B-Instruct ships
        vision=dict(depth=3, hidden_size=64, num_heads=2, intermediate_size=88, out_hidden_size=128,
                    window_size=112, fullatt_block_indexes=[0, 2]),
        text=dict(hidden_size=128, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=1,
                  intermediate_size=200, rms_norm_eps=1e-5, rope_theta=1e4, mrope_section=[4, 6, 6]),
        tie=False,
        embed_std=1.0, head_gain=1.0,
        vocab_pad=128,  # vocab_size rounded up past the tokenizer (as Qwen's 151936 > 151665)
        min_pixels=56 * 56, max_pixels=28 * 28 * 24,
        images=[(61, 200), (45, 33), (250, 110)],
        question="¿Qué hay a la izquierda de la ventana? カメラ２から見てください。 Ответ: A или B?",
    ),
}


def sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def make_image(w, h, k):
    """Deterministic RGB test image: gradients, a disc, a bar and a little noise (seeded)."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    r = 255 * x / max(w - 1, 1)
    g = 255 * y / max(h - 1, 1)
    b = 127.5 + 127.5 * np.sin((x + 2 * y) * (0.21 + 0.05 * k))
    img = np.stack([r, g, b], axis=-1)
    img += np.random.default_rng(100 + k).normal(0, 6, img.shape)
    pil = Image.fromarray(np.clip(np.rint(img), 0, 255).astype(np.uint8), "RGB")
    d = ImageDraw.Draw(pil)
    d.ellipse([w * 0.2, h * 0.25, w * 0.55, h * 0.7], fill=(230, 30 + 60 * k, 40))
    d.rectangle([w * 0.6, h * 0.1, w * 0.8, h * 0.9], fill=(20, 40, 200 - 50 * k))
    return pil


def build_tokenizer():
    tok = PreTrainedTokenizerFast(tokenizer_file=str(TOKENIZER), eos_token="<|im_end|>", pad_token="<|endoftext|>",
                                  unk_token=None, bos_token=None, model_max_length=32768,
                                  clean_up_tokenization_spaces=False, chat_template=CHAT_TEMPLATE)
    return tok


def ids_of(tok, *names):
    ids = [tok.convert_tokens_to_ids(n) for n in names]
    assert all(isinstance(i, int) and i >= 0 for i in ids), (names, ids)
    return ids


def make_config(c, tok):
    endoftext, im_end, v_start, v_end, img, vid = ids_of(
        tok, "<|endoftext|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>", "<|image_pad|>", "<|video_pad|>")
    n_tok = len(tok)
    vocab = -(-n_tok // c["vocab_pad"]) * c["vocab_pad"]
    t = c["text"]
    v = c["vision"]
    return Qwen2_5_VLConfig(
        text_config=dict(
            vocab_size=vocab, hidden_size=t["hidden_size"], intermediate_size=t["intermediate_size"],
            num_hidden_layers=t["num_hidden_layers"], num_attention_heads=t["num_attention_heads"],
            num_key_value_heads=t["num_key_value_heads"], hidden_act="silu", max_position_embeddings=4096,
            rms_norm_eps=t["rms_norm_eps"], use_sliding_window=False, sliding_window=None, max_window_layers=0,
            attention_dropout=0.0, bos_token_id=endoftext, eos_token_id=im_end, pad_token_id=None,
            rope_parameters=dict(rope_type="default", rope_theta=t["rope_theta"], mrope_section=t["mrope_section"]),
        ),
        vision_config=dict(
            depth=v["depth"], hidden_size=v["hidden_size"], hidden_act="silu", intermediate_size=v["intermediate_size"],
            num_heads=v["num_heads"], in_channels=3, patch_size=14, spatial_merge_size=2, temporal_patch_size=2,
            tokens_per_second=2, window_size=v["window_size"], out_hidden_size=v["out_hidden_size"],
            fullatt_block_indexes=v["fullatt_block_indexes"], initializer_range=0.02,
        ),
        image_token_id=img, video_token_id=vid, vision_start_token_id=v_start, vision_end_token_id=v_end,
        tie_word_embeddings=c["tie"],
    )


@torch.no_grad()
def randomize(model, seed, tie, embed_std, head_gain):
    """Replaces transformers' init (std 0.02: near-uniform logits, greedy decisions decided by rounding) with
    O(1) activations: Linear/Conv weights N(0, 1/fan_in), biases N(0, 0.1^2), norm weights 1 + N(0, 0.2^2),
    embeddings N(0, embed_std^2), the final norm's weights times head_gain (the logit scale), an untied lm_head
    N(0, 1/hidden). A small embed_std keeps a tied model from echoing its last input token (the residual
    stream would otherwise be dominated by that token's own embedding). Parameters are visited in name order
    from one generator."""
    g = torch.Generator().manual_seed(seed)
    for name, p in sorted(model.named_parameters(), key=lambda kv: kv[0]):
        if tie and name == "lm_head.weight":
            continue
        if name.endswith("embed_tokens.weight"):
            p.copy_(embed_std * torch.randn(p.shape, generator=g))
        elif name.endswith("language_model.norm.weight"):  # final norm: sets the logit scale when tied
            p.copy_(head_gain * (1 + 0.2 * torch.randn(p.shape, generator=g)))
        elif "norm" in name or "ln_q" in name:
            p.copy_(1 + 0.2 * torch.randn(p.shape, generator=g))
        elif name.endswith(".bias"):
            p.copy_(0.1 * torch.randn(p.shape, generator=g))
        elif name == "lm_head.weight":
            p.copy_(torch.randn(p.shape, generator=g) / math.sqrt(p.shape[1]))
        else:
            fan_in = p[0].numel()
            p.copy_(torch.randn(p.shape, generator=g) / math.sqrt(fan_in))
    if tie:
        model.tie_weights()
        assert model.lm_head.weight.data_ptr() == model.model.language_model.embed_tokens.weight.data_ptr()


# ---------------------------------------------------------------------------------------------------------
# float64 reference: transformers upcasts to float32 in a few places (RMSNorm, vision rotary); make those
# keep float64 when the model runs in float64. float32 runs are unchanged (promote_types(f32, f32) = f32).
_orig_rms = M.Qwen2_5_VLRMSNorm.forward


def _rms_forward(self, hidden_states):
    dt = hidden_states.dtype
    h = hidden_states.to(torch.promote_types(dt, torch.float32))
    h = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + self.variance_epsilon)
    return self.weight * h.to(dt)


def _rot_vision(q, k, cos, sin):
    wide = torch.promote_types(q.dtype, torch.float32)
    qd, kd = q.dtype, k.dtype
    q, k = q.to(wide), k.to(wide)
    cos, sin = cos.unsqueeze(-2).to(wide), sin.unsqueeze(-2).to(wide)
    return ((q * cos) + (M.rotate_half(q) * sin)).to(qd), ((k * cos) + (M.rotate_half(k) * sin)).to(kd)


M.Qwen2_5_VLRMSNorm.forward = _rms_forward
M.apply_rotary_pos_emb_vision = _rot_vision


class ImageProcessor(Qwen2_5_VLProcessor):
    """Qwen2_5_VLProcessor without a video processor: transformers 5's video processor needs torchvision, which
    this environment leaves out. Images and text go through the unchanged Qwen2_5_VLProcessor code."""

    def check_argument_for_proper_class(self, argument_name, argument):
        if argument is None and argument_name == "video_processor":
            return None
        return super().check_argument_for_proper_class(argument_name, argument)


# ---------------------------------------------------------------------------------------------------------
class Recorder:
    """Forward hooks collecting intermediate tensors of one prefill."""

    def __init__(self, model):
        self.t = {}
        vis = model.model.visual
        lm = model.model.language_model
        hs = [vis.patch_embed.register_forward_hook(lambda m, i, o: self.t.__setitem__("patch_embed", o))]
        for j, blk in enumerate(vis.blocks):
            hs.append(blk.register_forward_hook(lambda m, i, o, j=j: self.t.__setitem__(f"vblk{j}", o)))
        hs.append(vis.merger.register_forward_hook(lambda m, i, o: self.t.__setitem__("merger_in", i[0])))
        hs.append(lm.layers[0].register_forward_hook(
            lambda m, i, o: self.t.__setitem__("llm_in", i[0]) if "llm_in" not in self.t else None))
        for j, layer in enumerate(lm.layers):
            hs.append(layer.register_forward_hook(lambda m, i, o, j=j: self.t.__setitem__(f"llm{j}", o)))
        hs.append(lm.norm.register_forward_hook(lambda m, i, o: self.t.__setitem__("final_norm", o)))
        self.hooks = hs

    def close(self):
        for h in self.hooks:
            h.remove()


def prefill(model, inputs):
    rec = Recorder(model)
    try:
        out = model(**inputs, use_cache=False)
    finally:
        rec.close()
    return out.logits[0], rec.t


def unwindow(x, window_index):
    """Rows of x are in window order, in groups of 4 (one merged token); back to the processor's order."""
    n, d = x.shape
    return x.reshape(n // 4, 4, d)[torch.argsort(window_index)].reshape(n, d)


def greedy_manual(model, inputs, n):
    """Greedy decoding without a KV cache: the whole sequence is re-run each step (independent of generate())."""
    ids = inputs["input_ids"]
    mm = inputs["mm_token_type_ids"]
    toks = []
    for _ in range(n):
        kw = dict(inputs)
        kw["input_ids"] = ids
        kw["attention_mask"] = torch.ones_like(ids)
        kw["mm_token_type_ids"] = mm
        model.model.rope_deltas = None
        logits = model(**kw, use_cache=False).logits[0, -1]
        t = int(torch.argmax(logits))
        toks.append(t)
        ids = torch.cat([ids, torch.tensor([[t]])], dim=1)
        mm = torch.cat([mm, torch.zeros((1, 1), dtype=mm.dtype)], dim=1)
    return toks


# ---------------------------------------------------------------------------------------------------------
LEGACY_PREFIXES = [("model.language_model.", "model."), ("model.visual.", "visual.")]


def legacy_name(k):
    for new, old in LEGACY_PREFIXES:
        if k.startswith(new):
            return old + k[len(new):]
    return k


def save_published(model, cfg, d, dtype):
    """The layout of the published Qwen2.5-VL checkpoints: flat config.json, keys model.layers.* / visual.* /
    lm_head.weight, bfloat16, two safetensors shards + model.safetensors.index.json."""
    sd = {legacy_name(k): v.detach().to(dtype).contiguous() for k, v in model.state_dict().items()}
    names = sorted(sd)
    total = sum(sd[n].numel() * sd[n].element_size() for n in names)
    shards, acc = [[], []], 0
    for n in names:  # first shard until half the bytes, then the second
        shards[0 if acc < total / 2 else 1].append(n)
        acc += sd[n].numel() * sd[n].element_size()
    weight_map = {}
    for i, part in enumerate(shards):
        fn = f"model-{i + 1:05d}-of-00002.safetensors"
        safetensors.torch.save_file({n: sd[n] for n in part}, str(d / fn), metadata={"format": "pt"})
        weight_map.update({n: fn for n in part})
    (d / "model.safetensors.index.json").write_text(json.dumps(
        {"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))}, indent=2) + "\n")
    tc, vc = cfg.text_config, cfg.vision_config
    rp = tc.rope_parameters
    flat = {
        "architectures": ["Qwen2_5_VLForConditionalGeneration"],
        "model_type": "qwen2_5_vl",
        "attention_dropout": 0.0,
        "bos_token_id": tc.bos_token_id,
        "eos_token_id": tc.eos_token_id,
        "vision_start_token_id": cfg.vision_start_token_id,
        "vision_end_token_id": cfg.vision_end_token_id,
        "vision_token_id": cfg.image_token_id - 1,
        "image_token_id": cfg.image_token_id,
        "video_token_id": cfg.video_token_id,
        "hidden_act": tc.hidden_act,
        "hidden_size": tc.hidden_size,
        "initializer_range": 0.02,
        "intermediate_size": tc.intermediate_size,
        "max_position_embeddings": tc.max_position_embeddings,
        "max_window_layers": tc.num_hidden_layers,
        "num_attention_heads": tc.num_attention_heads,
        "num_hidden_layers": tc.num_hidden_layers,
        "num_key_value_heads": tc.num_key_value_heads,
        "rms_norm_eps": tc.rms_norm_eps,
        "rope_theta": rp["rope_theta"],
        "sliding_window": 32768,
        "tie_word_embeddings": cfg.tie_word_embeddings,
        "torch_dtype": "bfloat16",
        "transformers_version": "4.49.0",
        "use_cache": True,
        "use_sliding_window": False,
        "vision_config": {
            "depth": vc.depth,
            "hidden_act": vc.hidden_act,
            "hidden_size": vc.hidden_size,
            "intermediate_size": vc.intermediate_size,
            "num_heads": vc.num_heads,
            "in_chans": vc.in_channels,
            "out_hidden_size": vc.out_hidden_size,
            "patch_size": vc.patch_size,
            "spatial_merge_size": vc.spatial_merge_size,
            "spatial_patch_size": vc.patch_size,
            "window_size": vc.window_size,
            "fullatt_block_indexes": list(vc.fullatt_block_indexes),
            "tokens_per_second": vc.tokens_per_second,
            "temporal_patch_size": vc.temporal_patch_size,
        },
        "rope_scaling": {"type": "mrope", "mrope_section": list(rp["mrope_section"])},
        "vocab_size": tc.vocab_size,
    }
    (d / "config.json").write_text(json.dumps(flat, indent=2, ensure_ascii=False) + "\n")


def save_tokenizer_files(tok, d, c, published):
    tok.save_pretrained(str(d))
    # transformers 5 writes the template into chat_template.jinja; the published checkpoints carry it in
    # tokenizer_config.json (and chat_template.json). Keep it in tokenizer_config.json, the common denominator.
    tc_path = d / "tokenizer_config.json"
    tcfg = json.loads(tc_path.read_text())
    tcfg["chat_template"] = CHAT_TEMPLATE
    tcfg["tokenizer_class"] = "Qwen2Tokenizer"
    tcfg["errors"] = "replace"
    tcfg["split_special_tokens"] = False
    tc_path.write_text(json.dumps(tcfg, indent=2, ensure_ascii=False) + "\n")
    for extra in ("chat_template.jinja", "special_tokens_map.json"):
        if (d / extra).exists():
            (d / extra).unlink()
    shutil.copyfile(TOKENIZER, d / "tokenizer.json")  # byte-identical to the shared tokenizer
    if published:
        pp = {"min_pixels": c["min_pixels"], "max_pixels": c["max_pixels"], "patch_size": 14,
              "temporal_patch_size": 2, "merge_size": 2, "image_mean": CLIP_MEAN, "image_std": CLIP_STD,
              "image_processor_type": "Qwen2VLImageProcessor", "processor_class": "Qwen2_5_VLProcessor"}
    else:  # transformers 5 style: the pixel bounds under "size"
        pp = {"do_convert_rgb": True, "do_normalize": True, "do_rescale": True, "do_resize": True,
              "image_mean": CLIP_MEAN, "image_std": CLIP_STD, "image_processor_type": "Qwen2VLImageProcessor",
              "merge_size": 2, "patch_size": 14, "processor_class": "Qwen2_5_VLProcessor", "resample": 3,
              "rescale_factor": 1 / 255, "size": {"longest_edge": c["max_pixels"], "shortest_edge": c["min_pixels"]},
              "temporal_patch_size": 2}
    (d / "preprocessor_config.json").write_text(json.dumps(pp, indent=2) + "\n")


# ---------------------------------------------------------------------------------------------------------
class Files:
    def __init__(self, d):
        self.d = d
        self.entries = {}

    def put(self, name, arr, what):
        a = np.ascontiguousarray(arr)
        kind = {np.dtype(np.float32): "f32", np.dtype(np.int32): "i32"}[a.dtype]
        a.astype(a.dtype.newbyteorder("<"), copy=False).tofile(self.d / name)
        self.entries[name] = {"dtype": kind, "shape": list(a.shape), "what": what}

    def note(self, name, what, **kw):
        self.entries[name] = {"what": what, **kw}


def f32(t):
    return t.detach().to(torch.float32).cpu().numpy()


def i32(t):
    a = t.detach().cpu().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)
    assert a.min() >= -2**31 and a.max() < 2**31
    return a.astype(np.int32)


def stats(logits):
    """Per row: argmax, max, second-best, logsumexp (in float64 of the given values)."""
    l64 = logits.to(torch.float64)
    top2 = torch.topk(l64, 2, dim=-1)
    return (top2.indices[:, 0], top2.values[:, 0], top2.values[:, 1], torch.logsumexp(l64, dim=-1))


def run_case(name, c, tok):
    d = OUT / name
    if d.exists():
        shutil.rmtree(d)
    d.mkdir(parents=True)
    files = Files(d)
    torch.manual_seed(c["seed"])

    cfg = make_config(c, tok)
    cfg._attn_implementation = "sdpa"
    save_tokenizer_files(tok, d, c, c["layout"] == "published")

    # ---- prompt: images, chat template, processor
    imgs = [make_image(w, h, k) for k, (w, h) in enumerate(c["images"])]
    for k, im in enumerate(imgs):
        im.save(d / f"image{k}.png", optimize=False, compress_level=9)
        files.note(f"image{k}.png", f"prompt image {k}, {im.width}x{im.height} RGB (tools/gen_qwen25vl_fixtures.py "
                   "make_image); the processor reads it back from this PNG")
    imgs = [Image.open(d / f"image{k}.png").convert("RGB") for k in range(len(imgs))]
    ip = Qwen2VLImageProcessorPil.from_pretrained(str(d))
    assert ip.size["shortest_edge"] == c["min_pixels"] and ip.size["longest_edge"] == c["max_pixels"], ip.size
    proc = ImageProcessor(image_processor=ip, tokenizer=tok, video_processor=None, chat_template=CHAT_TEMPLATE)
    messages = [{"role": "user", "content": [{"type": "image"}, {"type": "image"}, {"type": "image"},
                                             {"type": "text", "text": c["question"]}]}]
    text = proc.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    inputs = proc(text=[text], images=imgs, return_tensors="pt")
    ids = inputs["input_ids"][0]
    grid = inputs["image_grid_thw"]
    pv = inputs["pixel_values"]
    # The expanded prompt (each <|image_pad|> repeated grid_h*grid_w/4 times) tokenized by `tokenizers` directly
    # must give the same ids: transformers' tokenizer wrapper adds nothing.
    expanded = text
    for g in grid.tolist():
        expanded = expanded.replace("<|image_pad|>", "<|placeholder|>" * (g[1] * g[2] // 4), 1)
    expanded = expanded.replace("<|placeholder|>", "<|image_pad|>")
    direct = tokenizers.Tokenizer.from_file(str(TOKENIZER)).encode(expanded, add_special_tokens=False).ids
    assert direct == ids.tolist(), "processor ids differ from tokenizers' own encoding"
    (d / "prompt.txt").write_bytes(text.encode("utf-8"))
    files.note("prompt.txt", "the chat template rendered (UTF-8, exact bytes, no trailing newline added): one "
               "<|image_pad|> per image before the processor expands it")
    (d / "prompt_expanded.txt").write_bytes(expanded.encode("utf-8"))
    files.note("prompt_expanded.txt", "prompt.txt with each <|image_pad|> repeated grid_h*grid_w/4 times: "
               "the text whose tokenization is input_ids.bin")

    # ---- model: the first seed from c["seed"] on whose greedy run every decision has a clear winner
    save_dtype = getattr(torch, c["save_dtype"])
    gcfg = GenerationConfig(do_sample=False, max_new_tokens=N_GEN, min_new_tokens=0, eos_token_id=None,
                            pad_token_id=tok.pad_token_id, num_beams=1, output_logits=True,
                            return_dict_in_generate=True, temperature=None, top_p=None, top_k=None)
    for seed in range(c["seed"], c["seed"] + 100):
        torch.manual_seed(seed)
        model = Qwen2_5_VLForConditionalGeneration(cfg).eval()
        randomize(model, seed, c["tie"], c["embed_std"], c["head_gain"])
        if save_dtype != torch.float32:  # the reference runs on exactly the stored (rounded) weights
            with torch.no_grad():
                for p in model.parameters():
                    p.copy_(p.to(save_dtype).to(torch.float32))
        model.model.rope_deltas = None
        with torch.no_grad():
            g = model.generate(**inputs, generation_config=gcfg)
        sl = torch.stack([lg[0] for lg in g.logits]).double()
        top2 = torch.topk(sl, 2, dim=-1).values
        margin = float(((top2[:, 0] - top2[:, 1]) / sl.std(dim=-1)).min())
        distinct = len(set(g.sequences[0, inputs["input_ids"].shape[1]:].tolist()))
        print(f"  {name} seed {seed}: min margin/std {margin:.3f}, distinct tokens {distinct}")
        if margin >= MIN_MARGIN and distinct >= MIN_DISTINCT:
            break
    else:
        raise SystemExit(f"{name}: no seed in 100 gives margin >= {MIN_MARGIN} and {MIN_DISTINCT} distinct tokens")
    if c["layout"] == "transformers":
        model.save_pretrained(str(d), safe_serialization=True)
    else:
        save_published(model, cfg, d, save_dtype)
    for p in d.iterdir():
        p.chmod(0o644)

    # ---- float32 prefill (the reference)
    torch.manual_seed(0)
    with torch.no_grad():
        pos, delta = model.model.get_rope_index(inputs["input_ids"], inputs["mm_token_type_ids"],
                                                image_grid_thw=grid, attention_mask=inputs["attention_mask"])
        vis = model.model.visual
        win_idx, cu_win = M.get_vision_window_index(grid, vis.spatial_merge_size, vis.window_size, vis.patch_size)
        cu_full = get_vision_cu_seqlens(grid)
        vpos = get_vision_position_ids(grid, vis.spatial_merge_size)
        logits, t = prefill(model, inputs)
    n, V = logits.shape
    n_patch = pv.shape[0]

    files.put("input_ids.bin", i32(ids), "token ids of the prompt (processor output), n_tokens")
    files.put("image_grid_thw.bin", i32(grid), "per image (t, h, w) in patches; t = 1 for stills")
    pv5 = pv.reshape(n_patch, 3, 2, 14, 14)
    assert torch.equal(pv5[:, :, 0], pv5[:, :, 1]), "a still image's two temporal slices differ"
    files.put("pixel_values.bin", f32(pv5[:, :, 0]), "processor output with the temporal axis dropped "
              "(n_patches x 3 x 14 x 14): the processor's row is (C=3, T=2, 14, 14) flattened and for a still "
              "image both T slices are this one, so row[c][t][y][x] = file[c][y][x]; rows ordered by 2x2 merge "
              "block (block row, block col, row in block, col in block), images concatenated")
    files.put("position_ids.bin", i32(pos[:, 0, :]), "M-RoPE positions (temporal, height, width) x n_tokens "
              "from get_rope_index")
    files.put("vision_position_ids.bin", i32(vpos), "vision rotary positions per patch (h, w), processor order")
    files.put("vision_window_index.bin", i32(win_idx), "get_window_index: merged-token order inside window "
              "attention (entry j = processor-order index of the j-th merged token in window order)")
    files.put("vision_cu_window_seqlens.bin", i32(cu_win), "cumulative patch counts of the attention windows "
              "(after unique_consecutive), window order")
    files.put("vision_cu_seqlens.bin", i32(cu_full), "cumulative patch counts per image (full-attention blocks)")
    files.put("vision_patch_embed.bin", f32(t["patch_embed"]), "patch embedding (Conv3d) output, processor order")
    vblocks = torch.stack([unwindow(t[f"vblk{j}"], win_idx) for j in range(cfg.vision_config.depth)])
    files.put("vision_blocks.bin", f32(vblocks), "output of each vision block, un-permuted to processor order "
              "(depth x n_patches x vision hidden)")
    pre_merger = unwindow(t["merger_in"], win_idx)
    assert torch.equal(pre_merger, vblocks[-1])
    files.put("vision_pre_merger.bin", f32(pre_merger), "vision tower before the merger (= last block), "
              "processor order")
    with torch.no_grad():
        merged = torch.cat(model.model.get_image_features(pv, grid).pooler_output, dim=0)
    files.put("vision_merged.bin", f32(merged), "merger output = the image embeddings written over the "
              "<|image_pad|> rows, processor order (n_image_tokens x LLM hidden)")
    files.put("llm_input.bin", f32(t["llm_in"][0]), "LLM input: token embeddings with image rows replaced "
              "(n_tokens x hidden)")
    llm = torch.stack([t[f"llm{j}"][0] for j in range(cfg.text_config.num_hidden_layers)])
    files.put("llm_layers.bin", f32(llm), "output of each decoder layer (layers x n_tokens x hidden)")
    files.put("final_hidden.bin", f32(t["final_norm"][0]), "after the final RMSNorm (n_tokens x hidden); "
              "logits = final_hidden @ lm_head.weight^T")
    files.put("prefill_logits_last.bin", f32(logits[n - N_LAST:]), f"full float32 logits of the last {N_LAST} "
              f"prompt positions (rows n_tokens-{N_LAST} .. n_tokens-1) x vocab_size")
    am, mx, second, lse = stats(logits)
    files.put("prefill_argmax.bin", i32(am), "per prompt position: argmax of the logits")
    files.put("prefill_max.bin", f32(mx), "per prompt position: max logit")
    files.put("prefill_second.bin", f32(second), "per prompt position: second-largest logit")
    files.put("prefill_logsumexp.bin", f32(lse), "per prompt position: logsumexp of the logits (float64 sum)")

    # ---- greedy generation: generate() with the KV cache, checked against a cache-free loop
    model.model.rope_deltas = None
    with torch.no_grad():
        g = model.generate(**inputs, generation_config=gcfg)
    gen = g.sequences[0, n:]
    assert len(gen) == N_GEN
    step_logits = torch.stack([lg[0] for lg in g.logits])  # N_GEN x V: logits that chose each token
    gam, gmx, gsec, glse = stats(step_logits)
    assert torch.equal(gam, gen), "generate() did not take the argmax"
    manual = greedy_manual(model, inputs, N_GEN)
    assert manual == gen.tolist(), f"cache-free greedy {manual} != generate {gen.tolist()}"
    assert torch.equal(step_logits[0], logits[-1]) or torch.allclose(step_logits[0], logits[-1], atol=1e-4)
    files.put("generated_ids.bin", i32(gen), f"the {N_GEN} greedy tokens (do_sample=False, eos ignored)")
    files.put("generated_max.bin", f32(gmx), "per generated step: the winning (max) logit")
    files.put("generated_second.bin", f32(gsec), "per generated step: the runner-up logit (margin = max - second)")
    files.put("generated_logsumexp.bin", f32(glse), "per generated step: logsumexp of that step's logits")
    files.put("generated_logits.bin", f32(step_logits[:4]), "full logits of the first 4 generated steps "
              "(step 0 = last prompt position) x vocab_size")

    # ---- float64 run of the same weights: the float32 rounding noise of the reference itself
    m64 = Qwen2_5_VLForConditionalGeneration(cfg).eval()
    m64.load_state_dict(model.state_dict())
    if c["tie"]:
        m64.tie_weights()
    m64 = m64.to(torch.float64)
    inp64 = dict(inputs)
    inp64["pixel_values"] = pv.to(torch.float64)
    with torch.no_grad():
        logits64, t64 = prefill(m64, inp64)
        merged64 = torch.cat(m64.model.get_image_features(inp64["pixel_values"], grid).pooler_output, dim=0)
        m64.model.rope_deltas = None
        g64 = m64.generate(**inp64, generation_config=gcfg)
    lg = (logits.double() - logits64).abs()
    tol = {
        "prefill_logits_max_abs_diff": float(lg.max()),
        "prefill_logits_last_max_abs_diff": float(lg[-1].max()),
        "prefill_logits_abs_max": float(logits64.abs().max()),
        "prefill_logits_std": float(logits64.std()),
        "vision_merged_max_abs_diff": float((merged.double() - merged64).abs().max()),
        "vision_merged_abs_max": float(merged64.abs().max()),
        "final_hidden_max_abs_diff": float((t["final_norm"].double() - t64["final_norm"]).abs().max()),
        "float64_generated_ids_equal": g64.sequences[0, n:].tolist() == gen.tolist(),
        "prefill_argmax_equal": bool(torch.equal(am, torch.argmax(logits64, -1))),
        "min_prefill_margin_last": float(mx[-1] - second[-1]),
        "min_generated_margin": float((gmx - gsec).min()),
        "min_generated_margin_over_std": float(((gmx - gsec) / step_logits.double().std(dim=-1)).min()),
    }

    # ---- the saved directory reloads into the same model (checks config.json, key names, shards, dtype)
    re = Qwen2_5_VLForConditionalGeneration.from_pretrained(str(d), dtype=torch.float32).eval()
    assert re.config.text_config.vocab_size == V and re.config.tie_word_embeddings == c["tie"]
    re.config._attn_implementation = "sdpa"
    re_ip = Qwen2VLImageProcessorPil.from_pretrained(str(d))
    re_pv = re_ip(images=imgs, return_tensors="pt")["pixel_values"]
    assert torch.equal(re_pv, pv)
    with torch.no_grad():
        re.model.rope_deltas = None
        re_logits = re(**inputs, use_cache=False).logits[0]
    reload_diff = float((re_logits - logits).abs().max())
    assert reload_diff == 0.0, f"reloaded checkpoint differs by {reload_diff}"

    # ---- manifest
    tc, vc = cfg.text_config, cfg.vision_config
    ckpt = sorted(p.name for p in d.iterdir() if p.suffix in (".safetensors",) or p.name.endswith(".index.json")
                  or p.name in ("config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json",
                                "preprocessor_config.json"))
    manifest = {
        "generator": "tools/gen_qwen25vl_fixtures.py",
        "command": ".venv-model/bin/python tools/gen_qwen25vl_fixtures.py",
        "versions": {"python": sys.version.split()[0], "torch": torch.__version__,
                     "transformers": transformers.__version__, "safetensors": safetensors.__version__,
                     "tokenizers": tokenizers.__version__, "numpy": np.__version__,
                     "Pillow": Image.__version__},
        "seed": seed,
        "seed_search": f"first seed from {c['seed']} with greedy min (top1-top2)/std(logits) >= {MIN_MARGIN} and >= {MIN_DISTINCT} "
                       "distinct generated tokens",
        "init": f"randomize(): Linear/Conv N(0,1/fan_in), bias N(0,0.01), norm weights 1+N(0,0.04), embeddings "
                f"N(0,{c['embed_std']}^2), final norm weight x{c['head_gain']}, untied lm_head N(0,1/hidden)",
        "checkpoint": {"files": ckpt, "dtype": c["save_dtype"], "layout": c["layout"],
                       "tokenizer_json_sha256": sha256(d / "tokenizer.json")},
        "reference_run": "float32 on CPU, attn_implementation sdpa, weights = the stored values upcast to float32",
        "dims": {
            "vocab_size": V, "tokenizer_size": len(tok), "hidden": tc.hidden_size, "layers": tc.num_hidden_layers,
            "heads": tc.num_attention_heads, "kv_heads": tc.num_key_value_heads,
            "head_dim": tc.hidden_size // tc.num_attention_heads, "intermediate": tc.intermediate_size,
            "rms_norm_eps": tc.rms_norm_eps, "rope_theta": tc.rope_parameters["rope_theta"],
            "mrope_section": list(tc.rope_parameters["mrope_section"]), "tie_word_embeddings": c["tie"],
            "vision_depth": vc.depth, "vision_hidden": vc.hidden_size, "vision_heads": vc.num_heads,
            "vision_head_dim": vc.hidden_size // vc.num_heads, "vision_intermediate": vc.intermediate_size,
            "vision_out_hidden": vc.out_hidden_size, "window_size": vc.window_size,
            "window_merged_tokens": vc.window_size // vc.spatial_merge_size // vc.patch_size,
            "fullatt_block_indexes": list(vc.fullatt_block_indexes),
        },
        "special_ids": {"image_pad": cfg.image_token_id, "video_pad": cfg.video_token_id,
                        "vision_start": cfg.vision_start_token_id, "vision_end": cfg.vision_end_token_id,
                        "eos_im_end": tc.eos_token_id, "endoftext": tc.bos_token_id},
        "prompt": {"question": c["question"], "image_sizes_wh": [list(s) for s in c["images"]],
                   "min_pixels": c["min_pixels"], "max_pixels": c["max_pixels"],
                   "resized_hw": [[g[1] * 14, g[2] * 14] for g in grid.tolist()],
                   "n_tokens": n, "n_image_tokens": int((ids == cfg.image_token_id).sum()),
                   "n_patches": n_patch, "rope_delta": int(delta[0, 0]),
                   "decode_position": "generated token k (0-based) sits at sequence index n_tokens+k and has "
                                      "position n_tokens+k+rope_delta in all three M-RoPE components"},
        "generated_ids": gen.tolist(),
        "generated_text": tok.decode(gen.tolist(), skip_special_tokens=False),
        "float32_vs_float64": tol,
        "files": files.entries,
    }
    (d / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    size = sum(p.stat().st_size for p in d.iterdir())
    print(f"{name}: n_tokens {n}, patches {n_patch}, grids {grid.tolist()}, delta {int(delta[0, 0])}, "
          f"gen {gen.tolist()}\n  f32 vs f64 {tol}\n  {size} bytes")
    return size


def main():
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    assert TOKENIZER.exists(), f"{TOKENIZER} missing (tools/gen_tokenizer_fixtures.py writes it)"
    tok = build_tokenizer()
    total = sum(run_case(name, c, tok) for name, c in CASES.items())
    print(f"total {total} bytes")


if __name__ == "__main__":
    main()
