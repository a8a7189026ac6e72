/* get_rows, set_rows and tensor reshape: the CPU against the definition written out index by index,
 * Vulkan against the CPU (exact: these are copies), bad arguments refused. */
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static void gather_case(hatch_test_ctx *c, int64_t ch, int64_t m, int64_t n, bool vulkan) {
  float *src = malloc(sizeof(float) * (size_t)(m * ch));
  int32_t *idx = malloc(sizeof(int32_t) * (size_t)n);
  if (!src || !idx) return;
  hatch_test_fill(c, src, m * ch, -2.0f, 2.0f);
  for (int64_t i = 0; i < n; i++) idx[i] = (int32_t)((i * 7 + 3) % m);
  if (n > 2) idx[n - 1] = (int32_t)m; /* out of range: zeros */
  int64_t ne_s[2] = {ch, m}, ne_i[1] = {n}, ne_d[2] = {ch, n};
  hatch_tensor *cs = hatch_test_tensor(c, c->cpu, HATCH_TYPE_F32, 2, ne_s, src);
  hatch_tensor *ci = hatch_test_tensor(c, c->cpu, HATCH_TYPE_I32, 1, ne_i, idx);
  hatch_tensor *cd = hatch_test_tensor(c, c->cpu, HATCH_TYPE_F32, 2, ne_d, NULL);
  if (cs && ci && cd) HATCH_EXPECT_OK(c, hatch_get_rows(c->cpu, cd, cs, ci));
  float *got = cd ? hatch_test_read_f32(c, cd) : NULL;
  int64_t bad = got ? 0 : 1;
  for (int64_t i = 0; got && i < n; i++)
    for (int64_t k = 0; k < ch; k++) {
      float want = idx[i] < m ? src[idx[i] * ch + k] : 0.0f;
      bad += got[i * ch + k] != want;
    }
  HATCH_EXPECT(c, bad == 0, "get_rows c=%lld m=%lld n=%lld: %lld wrong", (long long)ch, (long long)m, (long long)n,
               (long long)bad);
  free(got);
  if (vulkan) {
    hatch_tensor *vs = hatch_test_tensor(c, c->vk, HATCH_TYPE_F32, 2, ne_s, src);
    hatch_tensor *vi = hatch_test_tensor(c, c->vk, HATCH_TYPE_I32, 1, ne_i, idx);
    hatch_tensor *vd = hatch_test_tensor(c, c->vk, HATCH_TYPE_F32, 2, ne_d, NULL);
    if (vs && vi && vd) HATCH_EXPECT_OK(c, hatch_get_rows(c->vk, vd, vs, vi));
    hatch_test_expect_close(c, cd, vd, 0.0, "get_rows vulkan");
    hatch_tensor_destroy(vs), hatch_tensor_destroy(vi), hatch_tensor_destroy(vd);
  }
  hatch_tensor_destroy(cs), hatch_tensor_destroy(ci), hatch_tensor_destroy(cd);
  free(src), free(idx);
}

static void set_case(hatch_test_ctx *c, int64_t ch, int64_t rows, int64_t n, int64_t off, bool vulkan) {
  float *base = malloc(sizeof(float) * (size_t)(rows * ch)), *src = malloc(sizeof(float) * (size_t)(n * ch));
  if (!base || !src) return;
  hatch_test_fill(c, base, rows * ch, -1.0f, 1.0f);
  hatch_test_fill(c, src, n * ch, 5.0f, 6.0f);
  int64_t ne_d[2] = {ch, rows}, ne_s[2] = {ch, n};
  hatch_tensor *cd = hatch_test_tensor(c, c->cpu, HATCH_TYPE_F32, 2, ne_d, base);
  hatch_tensor *cs = hatch_test_tensor(c, c->cpu, HATCH_TYPE_F32, 2, ne_s, src);
  if (cd && cs) HATCH_EXPECT_OK(c, hatch_set_rows(c->cpu, cd, cs, off));
  float *got = cd ? hatch_test_read_f32(c, cd) : NULL;
  int64_t bad = got ? 0 : 1;
  for (int64_t r = 0; got && r < rows; r++)
    for (int64_t k = 0; k < ch; k++) {
      float want = (r >= off && r < off + n) ? src[(r - off) * ch + k] : base[r * ch + k];
      bad += got[r * ch + k] != want;
    }
  HATCH_EXPECT(c, bad == 0, "set_rows c=%lld rows=%lld n=%lld off=%lld: %lld wrong", (long long)ch, (long long)rows,
               (long long)n, (long long)off, (long long)bad);
  free(got);
  if (vulkan) {
    hatch_tensor *vd = hatch_test_tensor(c, c->vk, HATCH_TYPE_F32, 2, ne_d, base);
    hatch_tensor *vs = hatch_test_tensor(c, c->vk, HATCH_TYPE_F32, 2, ne_s, src);
    if (vd && vs) HATCH_EXPECT_OK(c, hatch_set_rows(c->vk, vd, vs, off));
    hatch_test_expect_close(c, cd, vd, 0.0, "set_rows vulkan");
    hatch_tensor_destroy(vd), hatch_tensor_destroy(vs);
  }
  hatch_tensor_destroy(cd), hatch_tensor_destroy(cs);
  free(base), free(src);
}

/* set_rows into an F16 dst (the KV cache), fixed offset or read from `at` when the op runs (graphs):
 * the CPU against hatch_fp32_to_fp16 of each element, bit for bit (round to nearest even), including
 * values on the rounding boundaries, subnormals, overflow to inf; Vulkan against the CPU, bit for bit.
 * For F32 dst with `at`, a plain copy. The dst keeps every row outside the written range. */
static void set_at_case(hatch_test_ctx *c, hatch_type dt, int64_t ch, int64_t rows, int64_t n, int32_t at,
                        int64_t unit, bool vulkan) {
  size_t es = dt == HATCH_TYPE_F16 ? 2 : 4;
  float *src = malloc(sizeof(float) * (size_t)(n * ch));
  uint8_t *base = malloc(es * (size_t)(rows * ch)), *got = malloc(es * (size_t)(rows * ch)), *vgot = malloc(es * (size_t)(rows * ch));
  if (!src || !base || !got || !vgot) goto out;
  for (int64_t i = 0; i < rows * ch * (int64_t)es; i++) base[i] = (uint8_t)(i * 37 + 11);
  hatch_test_fill(c, src, n * ch, -3.0f, 3.0f);
  /* boundaries: halfway between fp16 neighbours (ties to even), subnormals, overflow, negative zero */
  static const float special[] = {1.0f + 1.0f / 2048, 1.0f + 3.0f / 2048, 65504.0f, 65520.0f, 1e6f, -1e6f,
                                  5.96e-8f, 2.98e-8f, 1e-6f, -0.0f, 6.1e-5f, 3.0517578e-5f};
  for (size_t k = 0; k < sizeof special / sizeof *special && (int64_t)k < n * ch; k++) src[k] = special[k];
  int64_t ne_d[2] = {ch, rows}, ne_s[2] = {ch, n}, ne_a[1] = {1};
  int64_t off = (int64_t)at * unit;
  hatch_tensor *cd = hatch_test_tensor(c, c->cpu, dt, 2, ne_d, base);
  hatch_tensor *cs = hatch_test_tensor(c, c->cpu, HATCH_TYPE_F32, 2, ne_s, src);
  hatch_tensor *ca = hatch_test_tensor(c, c->cpu, HATCH_TYPE_I32, 1, ne_a, &at);
  if (!cd || !cs || !ca) goto out_t;
  HATCH_EXPECT_OK(c, unit ? hatch_set_rows_at(c->cpu, cd, cs, ca, unit) : hatch_set_rows(c->cpu, cd, cs, off));
  HATCH_EXPECT_OK(c, hatch_tensor_read(cd, got, es * (size_t)(rows * ch)));
  int64_t bad = 0;
  for (int64_t r = 0; r < rows; r++)
    for (int64_t k = 0; k < ch; k++) {
      size_t i = (size_t)(r * ch + k);
      bool in = r >= off && r < off + n;
      if (dt == HATCH_TYPE_F16) {
        uint16_t want, have;
        memcpy(&have, got + 2 * i, 2);
        if (in) want = hatch_fp32_to_fp16(src[(r - off) * ch + k]);
        else memcpy(&want, base + 2 * i, 2);
        bad += have != want;
      } else {
        float want, have;
        memcpy(&have, got + 4 * i, 4);
        if (in) want = src[(r - off) * ch + k];
        else memcpy(&want, base + 4 * i, 4);
        bad += memcmp(&have, &want, 4) != 0;
      }
    }
  HATCH_EXPECT(c, bad == 0, "set_rows%s %s c=%lld rows=%lld n=%lld at=%d unit=%lld: %lld wrong", unit ? "_at" : "",
               hatch_type_name(dt), (long long)ch, (long long)rows, (long long)n, at, (long long)unit, (long long)bad);
  if (vulkan) {
    hatch_tensor *vd = hatch_test_tensor(c, c->vk, dt, 2, ne_d, base);
    hatch_tensor *vs = hatch_test_tensor(c, c->vk, HATCH_TYPE_F32, 2, ne_s, src);
    hatch_tensor *va = hatch_test_tensor(c, c->vk, HATCH_TYPE_I32, 1, ne_a, &at);
    if (vd && vs && va) {
      HATCH_EXPECT_OK(c, unit ? hatch_set_rows_at(c->vk, vd, vs, va, unit) : hatch_set_rows(c->vk, vd, vs, off));
      HATCH_EXPECT_OK(c, hatch_tensor_read(vd, vgot, es * (size_t)(rows * ch)));
      HATCH_EXPECT(c, !memcmp(got, vgot, es * (size_t)(rows * ch)), "set_rows%s %s vulkan differs from the cpu",
                   unit ? "_at" : "", hatch_type_name(dt));
    }
    hatch_tensor_destroy(vd), hatch_tensor_destroy(vs), hatch_tensor_destroy(va);
  }
out_t:
  hatch_tensor_destroy(cd), hatch_tensor_destroy(cs), hatch_tensor_destroy(ca);
out:
  free(src), free(base), free(got), free(vgot);
}

static void test_rows_f16_and_at(hatch_test_ctx *c) {
  bool vk = c->vk != NULL;
  set_at_case(c, HATCH_TYPE_F16, 64, 40, 2, 5, 0, vk);   /* fixed offset 5 */
  set_at_case(c, HATCH_TYPE_F16, 64, 40, 2, 7, 2, vk);   /* KV append: token 7 of 20, 2 kv heads */
  set_at_case(c, HATCH_TYPE_F16, 14, 33, 33, 0, 1, vk);  /* whole tensor, odd row count */
  set_at_case(c, HATCH_TYPE_F32, 13, 30, 3, 9, 3, vk);   /* F32 dst, at-offset 27 = last rows */
  set_at_case(c, HATCH_TYPE_F16, 128, 64, 16, 3, 16, vk); /* the last block */
}

/* What the CPU refuses and Vulkan drops: an `at` that puts rows outside dst; odd F16 rows. */
static void test_rows_at_bounds(hatch_test_ctx *c) {
  hatch_backend *bes[2] = {c->cpu, c->vk};
  for (int b = 0; b < 2; b++) {
    hatch_backend *be = bes[b];
    if (!be) continue;
    int64_t ne_d[2] = {8, 6}, ne_s[2] = {8, 2}, ne_a[1] = {1}, ne_o[2] = {7, 6}, ne_os[2] = {7, 1};
    float base[48], src[16];
    for (int i = 0; i < 48; i++) base[i] = (float)i;
    for (int i = 0; i < 16; i++) src[i] = -1.0f;
    int32_t at = 3; /* rows 6, 7: past the end */
    hatch_tensor *d = hatch_test_tensor(c, be, HATCH_TYPE_F32, 2, ne_d, base);
    hatch_tensor *s = hatch_test_tensor(c, be, HATCH_TYPE_F32, 2, ne_s, src);
    hatch_tensor *a = hatch_test_tensor(c, be, HATCH_TYPE_I32, 1, ne_a, &at);
    hatch_tensor *o = hatch_test_tensor(c, be, HATCH_TYPE_F16, 2, ne_o, NULL);
    hatch_tensor *os = hatch_test_tensor(c, be, HATCH_TYPE_F32, 2, ne_os, NULL);
    if (d && s && a && o && os) {
      HATCH_EXPECT(c, hatch_set_rows(be, o, os, 0) == HATCH_ERR_SHAPE, "odd F16 rows refused");
      HATCH_EXPECT(c, hatch_set_rows_at(be, d, s, a, 0) == HATCH_ERR_INVALID_ARGUMENT, "unit 0 refused");
      HATCH_EXPECT(c, hatch_set_rows_at(be, d, s, s, 2) == HATCH_ERR_TYPE, "float at refused");
      hatch_status st = hatch_set_rows_at(be, d, s, a, 2);
      float back[48];
      HATCH_EXPECT_OK(c, hatch_tensor_read(d, back, sizeof back));
      if (be == c->cpu) HATCH_EXPECT(c, st == HATCH_ERR_SHAPE, "cpu: at past the end refused (%s)", hatch_status_name(st));
      else HATCH_EXPECT(c, st == HATCH_OK, "vulkan: at past the end recorded (%s)", hatch_status_name(st));
      HATCH_EXPECT(c, !memcmp(back, base, sizeof back), "%s: dst changed by an out-of-range at", hatch_backend_name(be));
    }
    hatch_tensor_destroy(d), hatch_tensor_destroy(s), hatch_tensor_destroy(a), hatch_tensor_destroy(o),
        hatch_tensor_destroy(os);
  }
}

static void test_rows_cpu(hatch_test_ctx *c) {
  gather_case(c, 13, 7, 20, false);
  gather_case(c, 1280, 64, 64, false);
  set_case(c, 13, 10, 3, 7, false);
  set_case(c, 256, 100, 1, 0, false);
}

static void test_rows(hatch_test_ctx *c) {
  gather_case(c, 1, 5, 9, true);
  gather_case(c, 13, 7, 20, true);
  gather_case(c, 1280, 64, 64, true);
  set_case(c, 13, 10, 3, 7, true);
  set_case(c, 127, 33, 33, 0, true);
  set_case(c, 256, 100, 1, 99, true);
}

static void test_bad_args_and_reshape(hatch_test_ctx *c) {
  hatch_backend *bes[2] = {c->cpu, c->vk};
  for (int b = 0; b < 2; b++) {
    hatch_backend *be = bes[b];
    if (!be) continue;
    int64_t ne_a[2] = {8, 4}, ne_b[2] = {8, 2}, ne_i[1] = {3}, ne_odd[2] = {7, 2};
    hatch_tensor *a = hatch_test_tensor(c, be, HATCH_TYPE_F32, 2, ne_a, NULL);
    hatch_tensor *s = hatch_test_tensor(c, be, HATCH_TYPE_F32, 2, ne_b, NULL);
    hatch_tensor *i = hatch_test_tensor(c, be, HATCH_TYPE_I32, 1, ne_i, NULL);
    hatch_tensor *odd = hatch_test_tensor(c, be, HATCH_TYPE_F32, 2, ne_odd, NULL);
    if (!a || !s || !i || !odd) return;
    HATCH_EXPECT(c, hatch_set_rows(be, a, s, 3) == HATCH_ERR_SHAPE, "set_rows past the end");
    HATCH_EXPECT(c, hatch_set_rows(be, a, s, -1) == HATCH_ERR_SHAPE, "negative offset");
    HATCH_EXPECT(c, hatch_set_rows(be, a, odd, 0) == HATCH_ERR_SHAPE, "row length mismatch");
    HATCH_EXPECT(c, hatch_get_rows(be, s, a, i) == HATCH_ERR_SHAPE, "idx count != dst rows");
    HATCH_EXPECT(c, hatch_get_rows(be, s, a, s) == HATCH_ERR_TYPE, "float indexes");
    int64_t r3[3] = {4, 2, 4}, bad[2] = {5, 6};
    HATCH_EXPECT(c, hatch_tensor_reshape(a, 3, r3) == HATCH_OK && hatch_tensor_dim(a, 0) == 4 && hatch_tensor_dim(a, 2) == 4,
                 "reshape (8,4) -> (4,2,4)");
    HATCH_EXPECT(c, hatch_tensor_reshape(a, 2, bad) == HATCH_ERR_SHAPE && hatch_tensor_dim(a, 0) == 4, "count mismatch refused");
    /* Data survive reshapes in both directions. */
    float v[32], back[32];
    for (int k = 0; k < 32; k++) v[k] = (float)k;
    HATCH_EXPECT_OK(c, hatch_tensor_write(a, v, sizeof v));
    HATCH_EXPECT_OK(c, hatch_tensor_reshape(a, 2, ne_a));
    HATCH_EXPECT_OK(c, hatch_tensor_read(a, back, sizeof back));
    HATCH_EXPECT(c, !memcmp(v, back, sizeof v), "same elements after reshape");
    hatch_tensor_destroy(a), hatch_tensor_destroy(s), hatch_tensor_destroy(i), hatch_tensor_destroy(odd);
  }
}

int main(int argc, char **argv) {
  static const hatch_test_case cases[] = {
      {"rows_f16_and_at", test_rows_f16_and_at, true},
      {"rows_at_bounds", test_rows_at_bounds, false},
      {"rows_cpu", test_rows_cpu, false},
      {"rows", test_rows, true},
      {"bad_args_and_reshape", test_bad_args_and_reshape, true},
  };
  return hatch_test_main(argc, argv, cases, (int)(sizeof cases / sizeof *cases));
}
