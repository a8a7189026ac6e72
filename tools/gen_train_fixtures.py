#!/usr/bin/env python3
"""The independent reference for hatch-train: builds a small random Qwen2.5-VL checkpoint with Hugging Face
transformers (PyTorch, CPU) and records, for one 2-image chat sample, what PyTorch computes in float64:
logits, the LM loss, the gradient of every GGUF tensor, the PaStA loss and its vision gradients, and three
AdamW steps. Writes tests/fixtures/train/ (layout and formulas: that folder's README.md).

Run (from the repository root):
  tools/setup-model-fixture-env.sh                         # once: .venv-model (pinned torch + transformers)
  .venv-model/bin/python tools/gen_train_fixtures.py
Optional cross-check against the C converter (after generating):
  build/hatch convert tests/fixtures/train/ckpt /tmp/t.gguf --type f32
  .venv-model/bin/python tools/gen_train_fixtures.py --check-gguf /tmp/t.gguf

Deterministic: fixed seeds, single-threaded torch, generated images; re-running rewrites byte-identical files.
Self-checks: HF's own loss equals ours, the merged vision tokens are in raster order of the merged grid, the
converter-style tensor splits cover every parameter, and central finite differences in float64 agree with
autograd on random entries of the LM and PaStA gradients. Nothing is downloaded.
"""
import json
import pathlib
import shutil
import sys

import numpy as np
import torch
import torch.nn.functional as Fn
from PIL import Image

import safetensors.torch
import transformers
from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration
from transformers.models.qwen2_5_vl import modeling_qwen2_5_vl as M
from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import gen_qwen25vl_fixtures as Q  # noqa: E402  (helpers; importing it also keeps RMSNorm/vision RoPE in float64)

ROOT = Q.ROOT
OUT = ROOT / "tests" / "fixtures" / "train"

SEED = 2024
VISION = dict(depth=2, hidden_size=32, num_heads=2, intermediate_size=48, window_size=56, fullatt_block_indexes=[1])
TEXT = dict(hidden_size=48, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, intermediate_size=80,
            rms_norm_eps=1e-6, rope_theta=1e6, mrope_section=[2, 2, 2])
EMBED_STD, HEAD_GAIN = 0.1, 4.0
MIN_PIXELS, MAX_PIXELS = 56 * 56, 28 * 28 * 64
IMAGES = [(140, 112), (112, 168)]  # (width, height): multiples of 28, inside the pixel bounds: no resize
QUESTION = "Where is the red chair?"
ANSWER = "On the left."
PASTA = dict(n=4, tau1=0.1, tau2=0.2, valid_threshold=1e-6)
ADAMW = dict(lr=1e-3, beta1=0.9, beta2=0.95, eps=1e-8, weight_decay_matrix=0.1, weight_decay_vector=0.0,
             clip_grad_norm=1.0, steps=3)
ADAMW_PARAMS = ["blk.0.attn_norm.weight", "v.blk.0.attn_k.bias", "blk.1.attn_k.weight", "mm.2.bias"]
FD_H = 1e-6
FD_RTOL = 1e-6


# ---------------------------------------------------------------------------------------------------------
# float64 everywhere: transformers computes both rotary tables in float32 (inv_freq buffers and cos/sin).
# These replacements compute them in the model's dtype when that is float64 (float32 runs are unchanged).
@torch.no_grad()
def _text_rope_forward(self, x, position_ids):
    wide = torch.promote_types(x.dtype, torch.float32)
    position_ids = position_ids.expand(3, -1, -1)
    freqs = position_ids[..., None].to(wide) * self.inv_freq.to(device=x.device, dtype=wide)
    cos = self.recomposition_frequencies(freqs.cos() * self.attention_scaling)
    sin = self.recomposition_frequencies(freqs.sin() * self.attention_scaling)
    return cos.to(dtype=x.dtype), sin.to(dtype=x.dtype)


@torch.no_grad()
def _vision_rope_forward(self, x, position_ids):
    wide = torch.promote_types(x.dtype, torch.float32)
    freqs = position_ids[..., None].to(wide) * self.inv_freq.to(device=x.device, dtype=wide)
    cos = self.recomposition_frequencies(freqs.cos() * self.attention_scaling)
    sin = self.recomposition_frequencies(freqs.sin() * self.attention_scaling)
    return cos, sin


M.Qwen2_5_VLRotaryEmbedding.forward = _text_rope_forward
M.Qwen2_5_VLVisionRotaryEmbedding.forward = _vision_rope_forward


def to_float64(model, cfg):
    """model.double() plus inverse frequencies recomputed in float64 (the buffers hold float32 roundings)."""
    model.double()
    tc, vc = cfg.text_config, cfg.vision_config
    dim = tc.hidden_size // tc.num_attention_heads
    rot = model.model.language_model.rotary_emb
    rot.inv_freq = 1.0 / (tc.rope_parameters["rope_theta"] ** (torch.arange(0, dim, 2, dtype=torch.float64) / dim))
    vrot = model.model.visual.rotary_pos_emb
    vdim = (vc.hidden_size // vc.num_heads) // 2
    vrot.inv_freq = 1.0 / (vc.rope_parameters["rope_theta"] ** (torch.arange(0, vdim, 2, dtype=torch.float64) / vdim))
    return model


# ---------------------------------------------------------------------------------------------------------
def make_config(tok):
    c = dict(vocab_pad=1, text=TEXT, vision=dict(VISION, out_hidden_size=TEXT["hidden_size"]), tie=True)
    cfg = Q.make_config(c, tok)
    cfg._attn_implementation = "sdpa"
    return cfg


def gguf_tensors(cfg):
    """The GGUF tensors of the model in runtime/model/qwen25vl_write.c's order, each as
    (gguf name, HF parameter name, slice function HF tensor -> GGUF-shaped view). The GGUF tensor's numpy shape
    (reversed ggml ne) equals the HF shape except for the converter's splits (hf_convert.c): the Conv3D patch
    embedding (vd, C, T, P, P) -> time slices [:, :, 0] and [:, :, 1]; the vision qkv rows -> q, k, v."""
    tc, vc = cfg.text_config, cfg.vision_config
    vd = vc.hidden_size
    ident = lambda t: t  # noqa: E731
    out = [("token_embd.weight", "model.language_model.embed_tokens.weight", ident)]
    text = [("attn_norm.weight", "input_layernorm.weight"), ("attn_q.weight", "self_attn.q_proj.weight"),
            ("attn_q.bias", "self_attn.q_proj.bias"), ("attn_k.weight", "self_attn.k_proj.weight"),
            ("attn_k.bias", "self_attn.k_proj.bias"), ("attn_v.weight", "self_attn.v_proj.weight"),
            ("attn_v.bias", "self_attn.v_proj.bias"), ("attn_output.weight", "self_attn.o_proj.weight"),
            ("ffn_norm.weight", "post_attention_layernorm.weight"), ("ffn_gate.weight", "mlp.gate_proj.weight"),
            ("ffn_up.weight", "mlp.up_proj.weight"), ("ffn_down.weight", "mlp.down_proj.weight")]
    for layer in range(tc.num_hidden_layers):
        out += [(f"blk.{layer}.{g}", f"model.language_model.layers.{layer}.{h}", ident) for g, h in text]
    out.append(("output_norm.weight", "model.language_model.norm.weight", ident))
    if not cfg.tie_word_embeddings:
        out.append(("output.weight", "lm_head.weight", ident))
    out.append(("v.patch_embd.weight", "model.visual.patch_embed.proj.weight", lambda t: t[:, :, 0]))
    out.append(("v.patch_embd.weight.1", "model.visual.patch_embed.proj.weight", lambda t: t[:, :, 1]))

    def rows(k):
        return lambda t: t[k * vd:(k + 1) * vd]

    vis = [("ln1.weight", "norm1.weight", ident), ("attn_q.weight", "attn.qkv.weight", rows(0)),
           ("attn_q.bias", "attn.qkv.bias", rows(0)), ("attn_k.weight", "attn.qkv.weight", rows(1)),
           ("attn_k.bias", "attn.qkv.bias", rows(1)), ("attn_v.weight", "attn.qkv.weight", rows(2)),
           ("attn_v.bias", "attn.qkv.bias", rows(2)), ("attn_out.weight", "attn.proj.weight", ident),
           ("attn_out.bias", "attn.proj.bias", ident), ("ln2.weight", "norm2.weight", ident),
           ("ffn_gate.weight", "mlp.gate_proj.weight", ident), ("ffn_gate.bias", "mlp.gate_proj.bias", ident),
           ("ffn_up.weight", "mlp.up_proj.weight", ident), ("ffn_up.bias", "mlp.up_proj.bias", ident),
           ("ffn_down.weight", "mlp.down_proj.weight", ident), ("ffn_down.bias", "mlp.down_proj.bias", ident)]
    for b in range(vc.depth):
        out += [(f"v.blk.{b}.{g}", f"model.visual.blocks.{b}.{h}", f) for g, h, f in vis]
    out += [("v.post_ln.weight", "model.visual.merger.ln_q.weight", ident),
            ("mm.0.weight", "model.visual.merger.mlp.0.weight", ident),
            ("mm.0.bias", "model.visual.merger.mlp.0.bias", ident),
            ("mm.2.weight", "model.visual.merger.mlp.2.weight", ident),
            ("mm.2.bias", "model.visual.merger.mlp.2.bias", ident)]
    return out


def check_coverage(model, tensors):
    """Every parameter element belongs to exactly one GGUF tensor (no gap, no overlap in the splits)."""
    params = dict(model.named_parameters())
    count = {n: torch.zeros_like(p, dtype=torch.int64) for n, p in params.items()}
    for _, h, f in tensors:
        f(count[h]).add_(1)
    for n, cnt in count.items():
        assert bool((cnt == 1).all()), f"{n}: GGUF split coverage {cnt.min().item()}..{cnt.max().item()}"


# ---------------------------------------------------------------------------------------------------------
def lm_loss(model, inputs, labels):
    """HF's causal-LM loss, in the model's dtype: mean cross-entropy of logits[t] against labels[t + 1] over the
    positions whose shifted label is not -100 (transformers' ForCausalLMLoss upcasts to float32; this does not)."""
    model.model.rope_deltas = None
    logits = model(**inputs, use_cache=False).logits[0]  # (n_tokens, vocab)
    loss = Fn.cross_entropy(logits[:-1], labels[1:], ignore_index=-100, reduction="mean")
    return logits, loss


def merged_features(model, pv, grid):
    """The merger output per image, merged tokens in raster order of the merged grid (HF un-permutes the
    window order before returning)."""
    return list(model.model.get_image_features(pv, grid).pooler_output)


def cell_means(f, gh, gw, n):
    """(gh*gw, D) raster-ordered merged features -> (n*n, D) cell means; cell (a, b) = merged rows
    [floor(a*gh/n), floor((a+1)*gh/n)) x cols [floor(b*gw/n), floor((b+1)*gw/n)), index a*n + b."""
    g = f.reshape(gh, gw, -1)
    cells = []
    for a in range(n):
        for b in range(n):
            r0, r1, c0, c1 = a * gh // n, (a + 1) * gh // n, b * gw // n, (b + 1) * gw // n
            assert r1 > r0 and c1 > c0, "empty PaStA cell"
            cells.append(g[r0:r1, c0:c1].reshape(-1, g.shape[-1]).mean(0))
    return torch.stack(cells)


def pasta_loss(fx, gx, fy, gy, S, n, tau1, tau2, thr):
    ex = cell_means(fx, gx[0], gx[1], n)  # (n*n, D)
    ey = cell_means(fy, gy[0], gy[1], n)
    ex = ex / ex.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    ey = ey / ey.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    C = ex @ ey.T  # (n*n, n*n) cosine similarities

    def direction(s, c):
        valid = s.sum(-1) > thr
        p = torch.softmax(s / tau1, dim=-1)
        logq = torch.log_softmax(c / tau2, dim=-1)
        h = -(p * logq).sum(-1)
        return h[valid].mean()

    return 0.5 * (direction(S, C) + direction(S.T, C.T)), C


def make_target(rng, nn_):
    S = rng.uniform(0.0, 1.0, (nn_, nn_))
    S[rng.choice(nn_, 3, replace=False)] = 0.0
    S[:, rng.choice(nn_, 3, replace=False)] = 0.0
    return np.round(S, 4)  # 4 decimals: exact in sample.json, float32 and float64 read the same value


# ---------------------------------------------------------------------------------------------------------
def fd_check(model, tensors, loss_fn, grads, picks, what):
    """Central differences in float64 on the given (gguf name, flat index) entries against autograd."""
    params = dict(model.named_parameters())
    by_name = {g: (h, f) for g, h, f in tensors}
    report = []
    for gname, idx in picks:
        h, f = by_name[gname]
        with torch.no_grad():
            target = f(params[h].data)
            flat_pos = np.unravel_index(idx, tuple(target.shape))
            orig = target[flat_pos].item()
            target[flat_pos] = orig + FD_H
            lp = float(loss_fn())
            target[flat_pos] = orig - FD_H
            lm = float(loss_fn())
            target[flat_pos] = orig
        fd = (lp - lm) / (2 * FD_H)
        g = float(grads[gname].reshape(-1)[idx])
        err = abs(fd - g)
        ok = err <= FD_RTOL * max(abs(g), 1e-3)
        report.append({"tensor": gname, "index": int(idx), "autograd": g, "finite_difference": fd, "abs_err": err})
        print(f"  FD {what} {gname}[{idx}]: autograd {g:+.12e} fd {fd:+.12e} err {err:.2e}")
        assert ok, f"{what} gradient check failed for {gname}[{idx}]"
    return report


def pick_entries(rng, grads, names, k):
    """k entries from different tensors, each drawn among that tensor's larger-magnitude entries (a random entry
    of e.g. an unused vocabulary row would check nothing)."""
    chosen = rng.choice(len(names), k, replace=False)
    picks = []
    for i in chosen:
        g = grads[names[i]].reshape(-1).abs()
        big = torch.nonzero(g >= torch.quantile(g, 0.9)).reshape(-1)
        picks.append((names[i], int(big[rng.integers(len(big))])))
    return picks


def check_raster_order(model, pv, grid, imgs_hw):
    """HF's visual() un-permutes the window order; prove the result is raster order of the merged grid: in a
    copy whose attention outputs are zeroed (tokens no longer mix), changing the patches of merged token k
    (processor rows 4k..4k+3) changes exactly output row k, and those 4 rows hold that 28x28 block of pixels."""
    import copy
    m = copy.deepcopy(model)
    with torch.no_grad():
        for blk in m.model.visual.blocks:
            blk.attn.proj.weight.zero_()
            blk.attn.proj.bias.zero_()
        base = torch.cat(merged_features(m, pv, grid))
        start = 0
        for (h, w), g in zip(imgs_hw, grid.tolist()):
            gh, gw = g[1] // 2, g[2] // 2
            for k in [0, gw - 1, gw + 1, gh * gw - 1]:
                pv2 = pv.clone()
                pv2[4 * (start + k):4 * (start + k) + 4] += 0.5
                d = (torch.cat(merged_features(m, pv2, grid)) - base).abs().sum(-1)
                changed = torch.nonzero(d > 0).reshape(-1).tolist()
                assert changed == [start + k], (changed, start + k)
            start += gh * gw


def check_patch_rows(pv, imgs, grid):
    """Processor row order: rows 4k..4k+3 are the 2x2 patches of merged cell (k // gw, k % gw), in
    (row in block, col in block) order; each row (C, T, 14, 14) with both T slices equal."""
    start = 0
    mean = torch.tensor(Q.CLIP_MEAN, dtype=torch.float64).view(3, 1, 1)
    std = torch.tensor(Q.CLIP_STD, dtype=torch.float64).view(3, 1, 1)
    for im, g in zip(imgs, grid.tolist()):
        x = torch.tensor(np.asarray(im), dtype=torch.float64).permute(2, 0, 1) / 255.0
        x = (x - mean) / std  # (3, h, w)
        gh, gw = g[1] // 2, g[2] // 2
        for k in range(gh * gw):
            r, c = divmod(k, gw)
            for j in range(4):
                py, px = 2 * r + j // 2, 2 * c + j % 2
                want = x[:, 14 * py:14 * py + 14, 14 * px:14 * px + 14]
                row = pv[start + 4 * k + j].reshape(3, 2, 14, 14)
                assert torch.allclose(row[:, 0].double(), want, atol=1e-5) and torch.equal(row[:, 0], row[:, 1])
        start += 4 * gh * gw


# ---------------------------------------------------------------------------------------------------------
def read_gguf_f32(path):
    """{name: float32 array in numpy order (reversed ne)} of an F32 GGUF (v3), for --check-gguf."""
    import struct
    b = pathlib.Path(path).read_bytes()
    pos = 0

    def take(fmt):
        nonlocal pos
        v = struct.unpack_from("<" + fmt, b, pos)
        pos += struct.calcsize("<" + fmt)
        return v[0]

    def string():
        nonlocal pos
        n = take("Q")
        pos += n
        return b[pos - n:pos].decode()

    scalar = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}

    def value(t):
        if t == 8:
            return string()
        if t == 9:
            et, n = take("I"), take("Q")
            return [value(et) for _ in range(n)]
        return take(scalar[t])

    assert b[:4] == b"GGUF" and struct.unpack_from("<I", b, 4)[0] == 3
    pos = 8
    n_t, n_kv = take("Q"), take("Q")
    kv = {}
    for _ in range(n_kv):
        k = string()
        kv[k] = value(take("I"))
    infos = []
    for _ in range(n_t):
        name = string()
        nd = take("I")
        ne = [take("Q") for _ in range(nd)]
        typ, off = take("I"), take("Q")
        assert typ == 0, f"{name}: not F32"
        infos.append((name, ne, off))
    align = kv.get("general.alignment", 32)
    base = -(-pos // align) * align
    return [(n, np.frombuffer(b, np.float32, int(np.prod(ne)), base + off).reshape(ne[::-1])) for n, ne, off in infos]


def check_gguf(path):
    """`hatch convert tests/fixtures/train/ckpt X.gguf --type f32` must hold exactly the tensors whose gradients
    expected.safetensors stores, in the same numpy shapes, with the checkpoint's values under this script's splits."""
    exp = safetensors.torch.load_file(str(OUT / "expected.safetensors"))
    ck = safetensors.torch.load_file(str(OUT / "ckpt" / "model.safetensors"))
    tok = Q.build_tokenizer()
    by_name = {g: (h, f) for g, h, f in gguf_tensors(make_config(tok))}
    got = read_gguf_f32(path)
    assert [n for n, _ in got] == list(by_name), "GGUF tensor list/order differs from gguf_tensors()"
    for n, a in got:
        h, f = by_name[n]
        assert tuple(exp[f"grad.{n}"].shape) == a.shape, (n, a.shape, exp[f"grad.{n}"].shape)
        t = ck[h] if h in ck else ck[Q.legacy_name(h)]  # save_pretrained writes the pre-4.52 key names
        assert np.array_equal(f(t).numpy(), a), f"{n}: GGUF data != checkpoint slice"
    print(f"{path}: {len(got)} tensors match gguf_tensors() and the grad.* shapes")


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--check-gguf":
        return check_gguf(sys.argv[2])
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    torch.manual_seed(SEED)
    rng = np.random.default_rng(SEED)
    tok = Q.build_tokenizer()
    OUT.mkdir(parents=True, exist_ok=True)
    for p in OUT.iterdir():  # everything but the hand-written README.md is regenerated
        if p.name != "README.md":
            shutil.rmtree(p) if p.is_dir() else p.unlink()
    ckpt = OUT / "ckpt"
    ckpt.mkdir()

    # ---- checkpoint: float32 safetensors as transformers 5 writes it, tokenizer + processor config
    cfg = make_config(tok)
    cfg.vision_config.initializer_range = 0.02
    cfg.text_config.initializer_range = 0.02
    model = Qwen2_5_VLForConditionalGeneration(cfg).eval()
    Q.randomize(model, SEED, True, EMBED_STD, HEAD_GAIN)
    model.save_pretrained(str(ckpt), safe_serialization=True)
    Q.save_tokenizer_files(tok, ckpt, dict(min_pixels=MIN_PIXELS, max_pixels=MAX_PIXELS), published=False)
    (ckpt / "generation_config.json").unlink(missing_ok=True)
    for f in ("tokenizer.json", "tokenizer_config.json"):
        same = (ckpt / f).read_bytes() == (Q.OUT / "tiny_a" / f).read_bytes()
        assert same, f"{f} differs from tests/fixtures/qwen25vl/tiny_a/{f}"
    reloaded = Qwen2_5_VLForConditionalGeneration.from_pretrained(str(ckpt), dtype=torch.float32)
    for (n, p), (n2, p2) in zip(model.state_dict().items(), reloaded.state_dict().items()):
        assert n == n2 and torch.equal(p, p2), n
    del reloaded

    # ---- sample: two images, a question, an answer
    for k, (w, h) in enumerate(IMAGES):
        Q.make_image(w, h, k).save(OUT / f"image{k}.png", optimize=False, compress_level=9)
    imgs = [Image.open(OUT / f"image{k}.png").convert("RGB") for k in range(len(IMAGES))]
    ip = Qwen2VLImageProcessorPil.from_pretrained(str(ckpt))
    proc = Q.ImageProcessor(image_processor=ip, tokenizer=tok, video_processor=None, chat_template=Q.CHAT_TEMPLATE)
    user = [{"role": "user", "content": [{"type": "image"}, {"type": "image"}, {"type": "text", "text": QUESTION}]}]
    prompt = proc.apply_chat_template(user, tokenize=False, add_generation_prompt=True)
    full = proc.apply_chat_template(user + [{"role": "assistant", "content": ANSWER}], tokenize=False)
    assert full == prompt + ANSWER + "<|im_end|>\n", full
    inputs = proc(text=[full], images=imgs, return_tensors="pt")
    p_ids = proc(text=[prompt], images=imgs, return_tensors="pt")["input_ids"][0]
    ids = inputs["input_ids"][0]
    grid = inputs["image_grid_thw"]
    pv = inputs["pixel_values"]
    n_tok = ids.shape[0]
    assert torch.equal(ids[:len(p_ids)], p_ids), "the prompt's tokens are not a prefix of the sample's"
    tail = tok.encode("<|im_end|>\n", add_special_tokens=False)
    assert ids[-len(tail):].tolist() == tail
    labels = torch.full_like(ids, -100)
    labels[len(p_ids):n_tok - len(tail) + 1] = ids[len(p_ids):n_tok - len(tail) + 1]  # answer + <|im_end|>
    assert tok.decode(ids[len(p_ids):n_tok - len(tail) + 1]) == ANSWER + "<|im_end|>"
    for (w, h), g in zip(IMAGES, grid.tolist()):
        assert g == [1, h // 14, w // 14], f"image {w}x{h} was resized: grid {g}"
    check_patch_rows(pv, imgs, grid)
    pos, delta = model.model.get_rope_index(inputs["input_ids"], inputs["mm_token_type_ids"], image_grid_thw=grid,
                                            attention_mask=inputs["attention_mask"])

    # ---- float64 from here on
    init_state = {k: v.clone() for k, v in model.state_dict().items()}
    model = to_float64(model, cfg)
    assert model.lm_head.weight.data_ptr() == model.model.language_model.embed_tokens.weight.data_ptr()
    inputs = dict(inputs)
    inputs["pixel_values"] = pv.to(torch.float64)
    pv64 = inputs["pixel_values"]
    tensors = gguf_tensors(cfg)
    check_coverage(model, tensors)
    params = dict(model.named_parameters())
    names = [g for g, _, _ in tensors]
    vis_names = [g for g in names if g.startswith(("v.", "mm."))]
    out = {}

    # ---- LM: logits, loss, every gradient
    model.zero_grad(set_to_none=True)
    logits, loss = lm_loss(model, inputs, labels)
    with torch.no_grad():
        model.model.rope_deltas = None
        hf = model(**inputs, labels=labels[None], use_cache=False).loss  # transformers' own (float32 upcast)
    assert abs(hf.item() - loss.item()) < 1e-5, (hf.item(), loss.item())
    loss.backward()
    grads = {g: f(params[h].grad).detach().clone() for g, h, f in tensors}
    out["logits"] = logits.detach()
    out["loss"] = loss.detach().reshape(1)
    for g in names:
        out[f"grad.{g}"] = grads[g]
    for g in names:
        assert float(grads[g].abs().max()) > 0, f"gradient of {g} is all zero"
    print(f"n_tokens {n_tok}, vocab {logits.shape[1]}, label tokens {int((labels[1:] != -100).sum())}, "
          f"loss {loss.item():.10f}")
    lm_closure = lambda: lm_loss(model, inputs, labels)[1].detach()  # noqa: E731
    fd_lm = fd_check(model, tensors, lm_closure, grads, pick_entries(rng, grads, names, 3), "lm")

    # ---- PaStA on the vision tower
    check_raster_order(model, pv64, grid, [(h, w) for w, h in IMAGES])
    gxy = [(g[1] // 2, g[2] // 2) for g in grid.tolist()]
    nn_ = PASTA["n"] ** 2
    S = make_target(rng, nn_)
    S_t = torch.tensor(S, dtype=torch.float64)

    def pasta_closure():
        fx, fy = merged_features(model, pv64, grid)
        return pasta_loss(fx, gxy[0], fy, gxy[1], S_t, PASTA["n"], PASTA["tau1"], PASTA["tau2"],
                          PASTA["valid_threshold"])[0]

    model.zero_grad(set_to_none=True)
    fx, fy = merged_features(model, pv64, grid)
    pl, cos = pasta_loss(fx, gxy[0], fy, gxy[1], S_t, PASTA["n"], PASTA["tau1"], PASTA["tau2"],
                         PASTA["valid_threshold"])
    pl.backward()
    pgrads = {g: f(params[h].grad).detach().clone() for g, h, f in tensors if g in vis_names}
    for g in names:
        h = dict((a, b) for a, b, _ in tensors)[g]
        if g not in vis_names:
            assert params[h].grad is None or float(params[h].grad.abs().max()) == 0.0, g
    out["pasta.loss"] = pl.detach().reshape(1)
    out["pasta.features"] = torch.cat([fx, fy]).detach()
    out["pasta.cos"] = cos.detach()
    for g in vis_names:
        out[f"pasta.grad.{g}"] = pgrads[g]
    print(f"pasta.loss {float(pl):.10f}")
    fd_pasta = fd_check(model, tensors, lambda: pasta_closure().detach(), pgrads,
                        pick_entries(rng, pgrads, vis_names, 3), "pasta")

    # ---- AdamW: 3 steps from the initial weights on the LM loss
    model.zero_grad(set_to_none=True)
    opt_model = Qwen2_5_VLForConditionalGeneration(cfg).eval()
    opt_model.load_state_dict(init_state)
    opt_model.tie_weights()
    opt_model = to_float64(opt_model, cfg)
    plist = list(opt_model.parameters())
    decay = [p for p in plist if p.ndim >= 2]
    no_decay = [p for p in plist if p.ndim < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": ADAMW["weight_decay_matrix"]},
                             {"params": no_decay, "weight_decay": ADAMW["weight_decay_vector"]}],
                            lr=ADAMW["lr"], betas=(ADAMW["beta1"], ADAMW["beta2"]), eps=ADAMW["eps"],
                            foreach=False)
    losses, norms = [], []
    for _ in range(ADAMW["steps"]):
        opt.zero_grad(set_to_none=True)
        l_step = lm_loss(opt_model, inputs, labels)[1]
        l_step.backward()
        norms.append(float(torch.nn.utils.clip_grad_norm_(plist, ADAMW["clip_grad_norm"])))
        losses.append(float(l_step))
        opt.step()
    with torch.no_grad():
        losses.append(float(lm_loss(opt_model, inputs, labels)[1]))
    assert abs(losses[0] - float(loss)) < 1e-12
    assert norms[0] > ADAMW["clip_grad_norm"], "step 1 does not exercise clipping"
    out["adamw.losses"] = torch.tensor(losses, dtype=torch.float64)
    out["adamw.grad_norm"] = torch.tensor(norms, dtype=torch.float64)
    oparams = dict(opt_model.named_parameters())
    for g, h, f in tensors:
        if g in ADAMW_PARAMS:
            out[f"adamw.param.{g}"] = f(oparams[h]).detach().clone()
    print(f"adamw.losses {losses}\nadamw.grad_norm {norms}")

    # ---- write
    safetensors.torch.save_file({k: v.to(torch.float32).contiguous() for k, v in out.items()},
                                str(OUT / "expected.safetensors"), metadata={"format": "pt"})
    n_labels = int((labels[1:] != -100).sum())
    sample = {
        "generator": "tools/gen_train_fixtures.py",
        "versions": {"python": sys.version.split()[0], "torch": torch.__version__,
                     "transformers": transformers.__version__, "numpy": np.__version__},
        "images": [f"image{k}.png" for k in range(len(IMAGES))],
        "image_sizes_wh": [list(s) for s in IMAGES],
        "image_grid_thw": grid.tolist(),
        "merged_grid_hw": [list(g) for g in gxy],
        "question": QUESTION,
        "answer": ANSWER,
        "n_tokens": n_tok,
        "n_label_tokens": n_labels,
        "input_ids": ids.tolist(),
        "labels": labels.tolist(),
        "position_ids": pos[:, 0, :].tolist(),
        "rope_delta": int(delta[0, 0]),
        "pasta": dict(PASTA, S=S.tolist()),
        "adamw": dict(ADAMW, params=ADAMW_PARAMS),
        "fd_checks": {"h": FD_H, "rtol": FD_RTOL, "lm": fd_lm, "pasta": fd_pasta},
    }
    (OUT / "sample.json").write_text(json.dumps(sample, indent=1) + "\n")
    for p in sorted(OUT.rglob("*")):
        if p.is_file():
            p.chmod(0o644)
    total = sum(p.stat().st_size for p in OUT.rglob("*") if p.is_file())
    print(f"wrote {OUT} ({total} bytes, README.md included if present)")


if __name__ == "__main__":
    main()
