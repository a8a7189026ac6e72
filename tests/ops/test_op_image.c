/* image_resize, image_patchify, merge_2x2, patch_embed.
 * CPU against independent fixtures (Pillow's BICUBIC resize, numpy's Qwen2VLImageProcessor
 * patches: tools/gen_image_fixtures.py), then Vulkan against the CPU. Resize must be bit-exact:
 * both backends use Pillow's integer weights computed once on the host (core/image_resample.c). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#ifndef HATCH_FIXTURE_DIR
#define HATCH_FIXTURE_DIR "tests/fixtures"
#endif

/* ---- helpers ---- */

static uint8_t *load_file(hatch_test_ctx *c, const char *name, size_t *size) {
  char path[512];
  snprintf(path, sizeof(path), "%s/%s", HATCH_FIXTURE_DIR, name);
  FILE *f = fopen(path, "rb");
  HATCH_EXPECT(c, f != NULL, "cannot open fixture %s", path);
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *buf = n > 0 ? malloc((size_t)n) : NULL;
  size_t got = buf ? fread(buf, 1, (size_t)n, f) : 0;
  fclose(f);
  HATCH_EXPECT(c, buf && got == (size_t)n, "cannot read fixture %s", path);
  if (!buf || got != (size_t)n) {
    free(buf);
    return NULL;
  }
  *size = (size_t)n;
  return buf;
}

static uint32_t rd_u32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }

static hatch_tensor *rgb_tensor(hatch_test_ctx *c, hatch_backend *be, int64_t w, int64_t h, const uint8_t *data) {
  int64_t ne[3] = {3, w, h};
  return hatch_test_tensor(c, be, HATCH_TYPE_U8, 3, ne, data);
}

static uint8_t *read_u8(hatch_test_ctx *c, hatch_tensor *t) {
  if (!t) return NULL;
  uint8_t *out = malloc(hatch_tensor_nbytes(t));
  if (!out) return NULL;
  hatch_status st = hatch_tensor_read(t, out, hatch_tensor_nbytes(t));
  HATCH_EXPECT(c, st == HATCH_OK, "tensor_read: %s", hatch_status_name(st));
  return out;
}

/* Fails unless got == want byte for byte; reports how many differ and by how much. */
static void expect_same_bytes(hatch_test_ctx *c, const uint8_t *got, const uint8_t *want, size_t n, const char *what) {
  if (!got || !want) {
    HATCH_EXPECT(c, false, "%s: missing data", what);
    return;
  }
  size_t differ = 0;
  int max_diff = 0;
  for (size_t i = 0; i < n; i++) {
    int d = abs((int)got[i] - (int)want[i]);
    if (d) differ++;
    if (d > max_diff) max_diff = d;
  }
  HATCH_EXPECT(c, differ == 0, "%s: %zu of %zu bytes differ (max |diff| %d)", what, differ, n, max_diff);
}

static void random_image(hatch_test_ctx *c, uint8_t *img, size_t n) {
  for (size_t i = 0; i < n; i++) img[i] = (uint8_t)hatch_test_uniform(c, 0.0f, 256.0f);
}

/* ---- resize ---- */

static const char *resize_fixtures[] = {
    "image_resize_up_37x23_56x28.bin",    "image_resize_down_200x150_84x56.bin", "image_resize_down_31x97_28x84.bin",
    "image_resize_mixed_40x30_29x61.bin", "image_resize_vonly_37x23_37x40.bin",  "image_resize_honly_23x37_50x37.bin",
    "image_resize_thin_1x17_5x9.bin",
};

/* Resizes each fixture's image on `be` and compares with Pillow's output, byte for byte. */
static void resize_vs_fixtures(hatch_test_ctx *c, hatch_backend *be) {
  for (size_t f = 0; f < sizeof(resize_fixtures) / sizeof(resize_fixtures[0]); f++) {
    size_t size = 0;
    uint8_t *buf = load_file(c, resize_fixtures[f], &size);
    if (!buf) continue;
    uint32_t w = rd_u32(buf + 8), h = rd_u32(buf + 12), dw = rd_u32(buf + 16), dh = rd_u32(buf + 20);
    size_t src_bytes = 3ull * w * h, dst_bytes = 3ull * dw * dh;
    bool ok = size == 24 + src_bytes + dst_bytes && memcmp(buf, "HRSZ", 4) == 0 && rd_u32(buf + 4) == 1;
    HATCH_EXPECT(c, ok, "%s: bad fixture header/size", resize_fixtures[f]);
    if (ok) {
      hatch_tensor *src = rgb_tensor(c, be, w, h, buf + 24);
      hatch_tensor *dst = rgb_tensor(c, be, dw, dh, NULL);
      if (src && dst) HATCH_EXPECT_OK(c, hatch_image_resize(be, dst, src));
      uint8_t *got = read_u8(c, dst);
      expect_same_bytes(c, got, buf + 24 + src_bytes, dst_bytes, resize_fixtures[f]);
      free(got);
      hatch_tensor_destroy(src);
      hatch_tensor_destroy(dst);
    }
    free(buf);
  }
}

static void test_resize_fixtures_cpu(hatch_test_ctx *c) { resize_vs_fixtures(c, c->cpu); }
static void test_resize_fixtures_vulkan(hatch_test_ctx *c) { resize_vs_fixtures(c, c->vk); }

/* A random image resized on both backends: bit-exact (same integer weights, same int32 sums). */
static void resize_pair(hatch_test_ctx *c, int64_t w, int64_t h, int64_t dw, int64_t dh) {
  size_t n = (size_t)(3 * w * h);
  uint8_t *img = malloc(n);
  if (!img) {
    HATCH_EXPECT(c, false, "out of host memory");
    return;
  }
  random_image(c, img, n);
  hatch_tensor *cs = rgb_tensor(c, c->cpu, w, h, img), *vs = rgb_tensor(c, c->vk, w, h, img);
  hatch_tensor *cd = rgb_tensor(c, c->cpu, dw, dh, NULL), *vd = rgb_tensor(c, c->vk, dw, dh, NULL);
  if (cs && vs && cd && vd) {
    HATCH_EXPECT_OK(c, hatch_image_resize(c->cpu, cd, cs));
    HATCH_EXPECT_OK(c, hatch_image_resize(c->vk, vd, vs));
  }
  uint8_t *want = read_u8(c, cd), *got = read_u8(c, vd);
  char what[96];
  snprintf(what, sizeof(what), "%lldx%lld -> %lldx%lld", (long long)w, (long long)h, (long long)dw, (long long)dh);
  expect_same_bytes(c, got, want, (size_t)(3 * dw * dh), what);
  free(want);
  free(got);
  hatch_tensor *all[4] = {cs, vs, cd, vd};
  for (int i = 0; i < 4; i++) hatch_tensor_destroy(all[i]);
  free(img);
}

static void test_resize_upscale(hatch_test_ctx *c) {
  resize_pair(c, 13, 13, 127, 29);
  resize_pair(c, 37, 23, 56, 28);
  resize_pair(c, 100, 61, 448, 252);
}

static void test_resize_downscale(hatch_test_ctx *c) {
  resize_pair(c, 127, 97, 13, 29);
  resize_pair(c, 640, 480, 84, 56);
  resize_pair(c, 1000, 250, 56, 28); /* ~18x: 73 taps per output pixel */
}

/* 1 px edges, identity size, one dimension only (Pillow skips the other pass). */
static void test_resize_odd(hatch_test_ctx *c) {
  resize_pair(c, 1, 13, 1, 127);
  resize_pair(c, 1, 1, 13, 13);
  resize_pair(c, 13, 1, 1, 1);
  resize_pair(c, 127, 13, 127, 13);
  resize_pair(c, 127, 13, 56, 13);
  resize_pair(c, 13, 127, 13, 28);
  resize_pair(c, 29, 31, 28, 30); /* slight downscale: filter barely wider than 4 taps */
}

/* 6000x4 -> 1200x2: one invocation per output row would loop 1200 * 3 * 21 = 75,600 times;
 * 40000x2 -> 3x1: one output pixel alone has ~26,700 taps, 4 bytes per word would loop ~107,000
 * times: the taps are split over invocations (partial sums, then a pack pass). */
static void test_resize_loop_cap(hatch_test_ctx *c) {
  resize_pair(c, 6000, 4, 1200, 2);
  resize_pair(c, 40000, 2, 3, 1);
}

/* ---- patchify ---- */

static void test_patchify_fixture_cpu(hatch_test_ctx *c) {
  size_t size = 0;
  uint8_t *buf = load_file(c, "image_patchify.bin", &size);
  if (!buf) return;
  uint32_t w = rd_u32(buf + 8), h = rd_u32(buf + 12), patch = rd_u32(buf + 16), temporal = rd_u32(buf + 20);
  size_t header = 24 + 6 * sizeof(float), src_bytes = 3ull * w * h;
  int64_t row = 3ll * temporal * patch * patch, n_patches = (int64_t)(w / patch) * (h / patch);
  bool ok = memcmp(buf, "HPCH", 4) == 0 && size == header + src_bytes + sizeof(float) * (size_t)(row * n_patches);
  HATCH_EXPECT(c, ok, "image_patchify.bin: bad header/size");
  if (ok) {
    hatch_patchify_params p;
    hatch_patchify_params_qwen2vl(&p);
    HATCH_EXPECT(c, (int)patch == p.patch && (int)temporal == p.temporal, "fixture is not Qwen2-VL's patch/temporal");
    float mean_std[6];
    memcpy(mean_std, buf + 24, sizeof(mean_std));
    for (int i = 0; i < 3; i++)
      HATCH_EXPECT(c, mean_std[i] == p.mean[i] && mean_std[3 + i] == p.std[i], "CLIP mean/std differ from the fixture's");
    float *want = malloc(sizeof(float) * (size_t)(row * n_patches));
    if (want) memcpy(want, buf + header + src_bytes, sizeof(float) * (size_t)(row * n_patches));
    hatch_tensor *src = rgb_tensor(c, c->cpu, w, h, buf + 24 + 6 * sizeof(float));
    int64_t ne[2] = {row, n_patches};
    hatch_tensor *dst = hatch_test_tensor(c, c->cpu, HATCH_TYPE_F32, 2, ne, NULL);
    if (src && dst) HATCH_EXPECT_OK(c, hatch_image_patchify(c->cpu, dst, src, &p));
    float *got = dst ? hatch_test_read_f32(c, dst) : NULL;
    /* Same float32 steps as the processor (rescale in double, normalize in float): expect 0;
     * 1e-12 allows a last-bit difference in a few values. */
    double err = got && want ? hatch_test_nmse(got, want, row * n_patches) : INFINITY;
    HATCH_EXPECT(c, err <= 1e-12, "patchify vs numpy: nmse %.3e > 1e-12", err);
    if (getenv("HATCH_TEST_VERBOSE")) fprintf(stderr, "  patchify vs numpy fixture: nmse %.3e\n", err);
    free(got);
    free(want);
    hatch_tensor_destroy(src);
    hatch_tensor_destroy(dst);
  }
  free(buf);
}

static void patchify_pair(hatch_test_ctx *c, int64_t w, int64_t h, int patch, int temporal) {
  hatch_patchify_params p;
  hatch_patchify_params_qwen2vl(&p);
  p.patch = patch;
  p.temporal = temporal;
  size_t n = (size_t)(3 * w * h);
  uint8_t *img = malloc(n);
  if (!img) return;
  random_image(c, img, n);
  int64_t ne[2] = {3ll * temporal * patch * patch, (w / patch) * (h / patch)};
  hatch_tensor *cs = rgb_tensor(c, c->cpu, w, h, img), *vs = rgb_tensor(c, c->vk, w, h, img);
  hatch_tensor *cd, *vd;
  hatch_test_pair(c, HATCH_TYPE_F32, 2, ne, NULL, &cd, &vd);
  if (cs && vs && cd && vd) {
    HATCH_EXPECT_OK(c, hatch_image_patchify(c->cpu, cd, cs, &p));
    HATCH_EXPECT_OK(c, hatch_image_patchify(c->vk, vd, vs, &p));
  }
  char what[96];
  snprintf(what, sizeof(what), "%lldx%lld patch %d temporal %d", (long long)w, (long long)h, patch, temporal);
  /* Both read the same host-computed table of normalized values: a pure gather, exact. */
  hatch_test_expect_close(c, cd, vd, 0.0, what);
  hatch_tensor *all[4] = {cs, vs, cd, vd};
  for (int i = 0; i < 4; i++) hatch_tensor_destroy(all[i]);
  free(img);
}

static void test_patchify(hatch_test_ctx *c) {
  patchify_pair(c, 56, 28, 14, 2);
  patchify_pair(c, 448, 252, 14, 2);
  patchify_pair(c, 39, 26, 13, 1);
  patchify_pair(c, 5, 10, 5, 3);
  patchify_pair(c, 1, 1, 1, 2);
}

/* ---- merge_2x2 ---- */

static void merge_pair(hatch_test_ctx *c, int64_t ch, int64_t gh, int64_t gw, bool vulkan) {
  int64_t rows = gh * gw;
  float *x = malloc(sizeof(float) * (size_t)(rows * ch));
  if (!x) return;
  hatch_test_fill(c, x, rows * ch, -3.0f, 3.0f);
  int64_t ne_x[2] = {ch, rows}, ne_d[2] = {4 * ch, rows / 4};
  hatch_tensor *cx, *vx = NULL, *cd, *vd = NULL;
  if (vulkan) {
    hatch_test_pair(c, HATCH_TYPE_F32, 2, ne_x, x, &cx, &vx);
    hatch_test_pair(c, HATCH_TYPE_F32, 2, ne_d, NULL, &cd, &vd);
  } else {
    cx = hatch_test_tensor(c, c->cpu, HATCH_TYPE_F32, 2, ne_x, x);
    cd = hatch_test_tensor(c, c->cpu, HATCH_TYPE_F32, 2, ne_d, NULL);
  }
  if (cx && cd) HATCH_EXPECT_OK(c, hatch_merge_2x2(c->cpu, cd, cx, gh, gw));
  char what[96];
  snprintf(what, sizeof(what), "c=%lld grid %lldx%lld", (long long)ch, (long long)gh, (long long)gw);
  if (vulkan) {
    if (vx && vd) HATCH_EXPECT_OK(c, hatch_merge_2x2(c->vk, vd, vx, gh, gw));
    hatch_test_expect_close(c, cd, vd, 0.0, what); /* a copy: exact */
  } else {
    /* The CPU against ops.h's definition, written out index by index. */
    float *got = cd ? hatch_test_read_f32(c, cd) : NULL;
    int64_t bad = got ? 0 : 1;
    for (int64_t Y = 0; got && Y < gh / 2; Y++)
      for (int64_t X = 0; X < gw / 2; X++) {
        const float *out = got + (Y * (gw / 2) + X) * 4 * ch;
        int64_t src[4] = {2 * Y * gw + 2 * X, 2 * Y * gw + 2 * X + 1, (2 * Y + 1) * gw + 2 * X,
                          (2 * Y + 1) * gw + 2 * X + 1};
        for (int q = 0; q < 4; q++)
          for (int64_t k = 0; k < ch; k++) bad += out[q * ch + k] != x[src[q] * ch + k];
      }
    HATCH_EXPECT(c, bad == 0, "%s: %lld values misplaced", what, (long long)bad);
    free(got);
  }
  hatch_tensor *all[4] = {cx, vx, cd, vd};
  for (int i = 0; i < 4; i++) hatch_tensor_destroy(all[i]);
  free(x);
}

static const int64_t merge_ch[] = {1, 13, 127, 1280};

static void test_merge_2x2_cpu(hatch_test_ctx *c) {
  for (int i = 0; i < 4; i++) merge_pair(c, merge_ch[i], 4, 6, false);
  merge_pair(c, 13, 2, 2, false);
  merge_pair(c, 3, 10, 14, false);
}

static void test_merge_2x2(hatch_test_ctx *c) {
  for (int i = 0; i < 4; i++) merge_pair(c, merge_ch[i], 4, 6, true);
  merge_pair(c, 13, 2, 2, true);
  merge_pair(c, 127, 6, 4, true);
  merge_pair(c, 3, 10, 14, true);
}

/* 72 x 64 patches of 1024: 4.7M outputs = more than 65,535 workgroups of 64 (2D grid). */
static void test_merge_2x2_2d_grid(hatch_test_ctx *c) { merge_pair(c, 1024, 72, 64, true); }

/* ---- patch_embed ---- */

#define EMBED_K 1176 /* 3 * 2 * 14 * 14 */
#define EMBED_KQ 1184 /* padded to Q8_0 blocks */
#define EMBED_D 96

typedef struct embed_case {
  float *w;                       /* (d, k) */
  hatch_block_q8_0 *wq;           /* (d, kq / 32) */
  float *w_deq;                   /* (d, k): what Q8_0 weights really hold */
  float bias[EMBED_D];            /* (d) */
  uint8_t *img;                   /* (h, w, 3) */
  int64_t iw, ih, n_patches;
} embed_case;

static bool embed_init(hatch_test_ctx *c, embed_case *e, int64_t iw, int64_t ih) {
  *e = (embed_case){.iw = iw, .ih = ih, .n_patches = (iw / 14) * (ih / 14)};
  e->w = malloc(sizeof(float) * EMBED_D * EMBED_K);
  e->wq = malloc(sizeof(hatch_block_q8_0) * EMBED_D * (EMBED_KQ / 32));
  e->w_deq = malloc(sizeof(float) * EMBED_D * EMBED_KQ);
  e->img = malloc((size_t)(3 * iw * ih));
  if (!e->w || !e->wq || !e->w_deq || !e->img) return false;
  hatch_test_fill(c, e->w, EMBED_D * EMBED_K, -0.05f, 0.05f);
  hatch_test_fill(c, e->bias, EMBED_D, -0.5f, 0.5f);
  random_image(c, e->img, (size_t)(3 * iw * ih));
  for (int r = 0; r < EMBED_D; r++) {
    hatch_quantize_row_q8_0_padded(e->w + r * EMBED_K, EMBED_K, e->wq + r * (EMBED_KQ / 32), EMBED_KQ);
    hatch_dequantize_row_q8_0(e->wq + r * (EMBED_KQ / 32), e->w_deq + r * EMBED_KQ, EMBED_KQ);
  }
  return true;
}

static void embed_free(embed_case *e) {
  free(e->w);
  free(e->wq);
  free(e->w_deq);
  free(e->img);
}

/* patchify -> patch_embed on `be`; returns the embeddings (n_patches, d) as a tensor. */
static hatch_tensor *embed_run(hatch_test_ctx *c, hatch_backend *be, const embed_case *e, bool q8) {
  hatch_patchify_params p;
  hatch_patchify_params_qwen2vl(&p);
  int64_t ne_p[2] = {EMBED_K, e->n_patches}, ne_w[2] = {q8 ? EMBED_KQ : EMBED_K, EMBED_D};
  int64_t ne_b[1] = {EMBED_D}, ne_d[2] = {EMBED_D, e->n_patches};
  hatch_tensor *img = rgb_tensor(c, be, e->iw, e->ih, e->img);
  hatch_tensor *patches = hatch_test_tensor(c, be, HATCH_TYPE_F32, 2, ne_p, NULL);
  hatch_tensor *w = hatch_test_tensor(c, be, q8 ? HATCH_TYPE_Q8_0 : HATCH_TYPE_F32, 2, ne_w,
                                      q8 ? (const void *)e->wq : (const void *)e->w);
  hatch_tensor *bias = hatch_test_tensor(c, be, HATCH_TYPE_F32, 1, ne_b, e->bias);
  hatch_tensor *dst = hatch_test_tensor(c, be, HATCH_TYPE_F32, 2, ne_d, NULL);
  if (img && patches && w && bias && dst) {
    HATCH_EXPECT_OK(c, hatch_image_patchify(be, patches, img, &p));
    HATCH_EXPECT_OK(c, hatch_patch_embed(be, dst, w, bias, patches));
    HATCH_EXPECT_OK(c, hatch_backend_sync(be));
  }
  hatch_tensor_destroy(img);
  hatch_tensor_destroy(patches);
  hatch_tensor_destroy(w);
  hatch_tensor_destroy(bias);
  return dst;
}

/* CPU patch_embed against a plain double dot product over the CPU's own patches. */
static void test_patch_embed_cpu(hatch_test_ctx *c) {
  embed_case e;
  if (!embed_init(c, &e, 70, 42)) { /* 5 x 3 patches */
    HATCH_EXPECT(c, false, "out of host memory");
    embed_free(&e);
    return;
  }
  hatch_patchify_params p;
  hatch_patchify_params_qwen2vl(&p);
  int64_t ne_p[2] = {EMBED_K, e.n_patches};
  hatch_tensor *img = rgb_tensor(c, c->cpu, e.iw, e.ih, e.img);
  hatch_tensor *pt = hatch_test_tensor(c, c->cpu, HATCH_TYPE_F32, 2, ne_p, NULL);
  if (img && pt) HATCH_EXPECT_OK(c, hatch_image_patchify(c->cpu, pt, img, &p));
  float *patches = pt ? hatch_test_read_f32(c, pt) : NULL; /* (n_patches, k) */
  float *want = malloc(sizeof(float) * (size_t)(EMBED_D * e.n_patches));
  for (int q8 = 0; q8 < 2 && patches && want; q8++) {
    for (int64_t i = 0; i < e.n_patches; i++)
      for (int r = 0; r < EMBED_D; r++) {
        double s = e.bias[r];
        for (int k = 0; k < EMBED_K; k++)
          s += (double)patches[i * EMBED_K + k] * (q8 ? e.w_deq[r * EMBED_KQ + k] : e.w[r * EMBED_K + k]);
        want[i * EMBED_D + r] = (float)s;
      }
    hatch_tensor *dst = embed_run(c, c->cpu, &e, q8);
    float *got = dst ? hatch_test_read_f32(c, dst) : NULL;
    /* float32 accumulation over 1176 terms vs double: ~1e-13 expected. */
    double err = got ? hatch_test_nmse(got, want, EMBED_D * e.n_patches) : INFINITY;
    HATCH_EXPECT(c, err <= 1e-10, "%s weights: nmse %.3e > 1e-10", q8 ? "Q8_0" : "F32", err);
    free(got);
    hatch_tensor_destroy(dst);
  }
  free(patches);
  free(want);
  hatch_tensor_destroy(img);
  hatch_tensor_destroy(pt);
  embed_free(&e);
}

static void test_patch_embed(hatch_test_ctx *c) {
  embed_case e;
  if (!embed_init(c, &e, 56, 28)) {
    HATCH_EXPECT(c, false, "out of host memory");
    embed_free(&e);
    return;
  }
  for (int q8 = 0; q8 < 2; q8++) {
    hatch_tensor *cd = embed_run(c, c->cpu, &e, q8), *vd = embed_run(c, c->vk, &e, q8);
    /* F32: summation order only (~1e-13). Q8_0: the Vulkan path may quantize activations to int8
     * per 32-block for integer dot products: ~(max/127)^2/12 relative, about 2e-5 here. */
    hatch_test_expect_close(c, cd, vd, q8 ? 1e-4 : 1e-10, q8 ? "Q8_0 weights" : "F32 weights");
    hatch_tensor_destroy(cd);
    hatch_tensor_destroy(vd);
  }
  embed_free(&e);
}

static const hatch_test_case cases[] = {
    {"resize_fixtures_cpu", test_resize_fixtures_cpu, false},
    {"patchify_fixture_cpu", test_patchify_fixture_cpu, false},
    {"merge_2x2_cpu", test_merge_2x2_cpu, false},
    {"patch_embed_cpu", test_patch_embed_cpu, false},
    {"resize_fixtures_vulkan", test_resize_fixtures_vulkan, true},
    {"resize_upscale", test_resize_upscale, true},
    {"resize_downscale", test_resize_downscale, true},
    {"resize_odd", test_resize_odd, true},
    {"resize_loop_cap", test_resize_loop_cap, true},
    {"patchify", test_patchify, true},
    {"merge_2x2", test_merge_2x2, true},
    {"merge_2x2_2d_grid", test_merge_2x2_2d_grid, true},
    {"patch_embed", test_patch_embed, true},
};

int main(int argc, char **argv) { return hatch_test_main(argc, argv, cases, sizeof(cases) / sizeof(cases[0])); }
