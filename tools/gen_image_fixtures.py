#!/usr/bin/env python3
"""Writes tests/fixtures/image_*.bin: independent references for hatch_image_resize and
hatch_image_patchify, made with Pillow and numpy (no hatch code involved).

- image_resize_<case>.bin: a deterministic RGB test image and Pillow's
  Image.resize((w', h'), Image.BICUBIC) of it, which is what the Hugging Face Qwen2-VL/Qwen2.5-VL
  image processor does (transformers' resize() goes through PIL for uint8 images).
- image_patchify.bin: an RGB image and the processor's flatten_patches, computed with numpy from
  the formulas of transformers' Qwen2VLImageProcessor._preprocess:
    rescale:   float32(image.astype(float64) * (1/255))
    normalize: (x - mean) / std in float32, CLIP mean/std
    patches:   frames (T, C, H, W) with a still image repeated T = temporal_patch_size times,
               reshape (grid_t, T, C, gh/m, m, P, gw/m, m, P).transpose(0, 3, 6, 4, 7, 2, 1, 5, 8)
               -> rows (t, by, bx, my, mx), each row (C, T, P, P).
  HF orders rows by 2x2 merge blocks; hatch_image_patchify writes raster order (gy, gx) and
  hatch_merge_2x2 does the block grouping later. Mapping: HF row ((by * gw/2 + bx) * 2 + my) * 2 + mx
  is raster row (2*by + my) * gw + 2*bx + mx. The fixture stores raster order.

Run: .venv-tools/bin/python tools/gen_image_fixtures.py (tools/setup-fixture-env.sh; Pillow and
numpy versions pinned in tools/requirements-fixtures.txt).

File formats (little-endian):
  resize:   magic "HRSZ", u32 version = 1, u32 src_w, src_h, dst_w, dst_h,
            u8 src (src_h, src_w, 3), u8 dst (dst_h, dst_w, 3)  [RGB interleaved, rows top to bottom]
  patchify: magic "HPCH", u32 version = 1, u32 w, h, patch, temporal, f32 mean[3], f32 std[3],
            u8 src (h, w, 3), f32 patches (h/P * w/P, 3 * temporal * P * P) in raster patch order
"""
import pathlib
import struct

import numpy as np
from PIL import Image

OUT = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures"
CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]


def test_image(w, h, seed):
    """Smooth gradients + noise + a hard-edged checker (bicubic overshoot exercises clipping)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    img = np.empty((h, w, 3), np.float64)
    img[..., 0] = 255 * x / max(w - 1, 1)
    img[..., 1] = 128 + 100 * np.sin(x * 0.7 + y * 0.3)
    img[..., 2] = 255 * y / max(h - 1, 1)
    checker = ((x // 3 + y // 4) % 2 == 0)
    img[checker, 1] = 255
    img[~checker & (x > w / 2), 0] = 0
    img += rng.normal(0, 12, img.shape)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def write_resize(name, w, h, dw, dh, seed):
    src = test_image(w, h, seed)
    dst = np.asarray(Image.fromarray(src, "RGB").resize((dw, dh), Image.BICUBIC))
    assert dst.shape == (dh, dw, 3) and dst.dtype == np.uint8
    path = OUT / f"image_resize_{name}.bin"
    with open(path, "wb") as f:
        f.write(b"HRSZ")
        f.write(struct.pack("<5I", 1, w, h, dw, dh))
        f.write(src.tobytes())
        f.write(dst.tobytes())
    print(f"{path.name}: {path.stat().st_size} bytes")


def hf_flatten_patches(image, patch, temporal, merge):
    """Qwen2VLImageProcessor._preprocess on one already-resized (H, W, 3) uint8 image."""
    x = (image.astype(np.float64) * (1 / 255)).astype(np.float32)  # rescale
    mean = np.array(CLIP_MEAN, dtype=np.float32)
    std = np.array(CLIP_STD, dtype=np.float32)
    x = (x - mean) / std  # normalize, channels last, float32
    frames = np.repeat(x.transpose(2, 0, 1)[None], temporal, axis=0)  # (T, C, H, W)
    t, c, h, w = frames.shape
    gh, gw = h // patch, w // patch
    p = frames.reshape(1, temporal, c, gh // merge, merge, patch, gw // merge, merge, patch)
    p = p.transpose(0, 3, 6, 4, 7, 2, 1, 5, 8)
    return p.reshape(gh * gw, c * temporal * patch * patch), gh, gw


def write_patchify(w, h, patch, temporal, seed):
    src = test_image(w, h, seed)
    hf, gh, gw = hf_flatten_patches(src, patch, temporal, merge=2)
    raster = np.empty_like(hf)
    for by in range(gh // 2):
        for bx in range(gw // 2):
            for my in range(2):
                for mx in range(2):
                    hf_row = ((by * (gw // 2) + bx) * 2 + my) * 2 + mx
                    raster[(2 * by + my) * gw + 2 * bx + mx] = hf[hf_row]
    path = OUT / "image_patchify.bin"
    with open(path, "wb") as f:
        f.write(b"HPCH")
        f.write(struct.pack("<5I", 1, w, h, patch, temporal))
        f.write(np.array(CLIP_MEAN + CLIP_STD, dtype=np.float32).tobytes())
        f.write(src.tobytes())
        f.write(raster.astype("<f4").tobytes())
    print(f"{path.name}: {path.stat().st_size} bytes")


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    write_resize("up_37x23_56x28", 37, 23, 56, 28, seed=1)
    write_resize("down_200x150_84x56", 200, 150, 84, 56, seed=2)
    write_resize("down_31x97_28x84", 31, 97, 28, 84, seed=3)
    write_resize("mixed_40x30_29x61", 40, 30, 29, 61, seed=4)
    write_resize("vonly_37x23_37x40", 37, 23, 37, 40, seed=5)  # Pillow skips the horizontal pass
    write_resize("honly_23x37_50x37", 23, 37, 50, 37, seed=6)  # Pillow skips the vertical pass
    write_resize("thin_1x17_5x9", 1, 17, 5, 9, seed=7)
    write_patchify(56, 28, patch=14, temporal=2, seed=8)


if __name__ == "__main__":
    main()
