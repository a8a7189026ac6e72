/* Status table, fp16 conversion and Q8_0 (de)quantization against numpy and the gguf package's
 * reference quantizer (tests/fixtures/quant_gguf.bin, from tools/gen_quant_fixtures.py). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static void test_status_table(hatch_test_ctx *c) {
  HATCH_EXPECT(c, !strcmp(hatch_status_name(HATCH_OK), "HATCH_OK"), "name of OK");
  HATCH_EXPECT(c, !strcmp(hatch_status_name(HATCH_ERR_SHAPE), "HATCH_ERR_SHAPE"), "name of ERR_SHAPE");
  HATCH_EXPECT(c, !strcmp(hatch_status_name((hatch_status)9999), "HATCH_STATUS_UNKNOWN"), "unknown name");
  for (int s = 0; s < HATCH_STATUS_COUNT; s++) {
    HATCH_EXPECT(c, hatch_status_message((hatch_status)s)[0] != 0, "empty message for %d", s);
    for (int t = 0; t < s; t++)
      HATCH_EXPECT(c, strcmp(hatch_status_name((hatch_status)s), hatch_status_name((hatch_status)t)) != 0,
                   "duplicate status name %d/%d", s, t);
  }
}

typedef struct quant_fixture {
  uint32_t n;
  float *x;                /* (n) */
  hatch_block_q8_0 *q8_0;  /* (n / 32) */
  float *deq;              /* (n) */
  uint16_t *f16;           /* (n) */
  void *blob;
} quant_fixture;

static bool load_fixture(hatch_test_ctx *c, quant_fixture *f) {
  memset(f, 0, sizeof(*f));
  FILE *fp = fopen(HATCH_FIXTURE_DIR "/quant_gguf.bin", "rb");
  HATCH_EXPECT(c, fp != NULL, "cannot open %s", HATCH_FIXTURE_DIR "/quant_gguf.bin");
  if (!fp) return false;
  char magic[4];
  bool ok = fread(magic, 1, 4, fp) == 4 && !memcmp(magic, "HQF1", 4) && fread(&f->n, 4, 1, fp) == 1 &&
            f->n % 32 == 0 && f->n <= 1u << 20;
  if (ok) {
    size_t bytes = (size_t)f->n * 4 + (size_t)f->n / 32 * 34 + (size_t)f->n * 4 + (size_t)f->n * 2;
    f->blob = malloc(bytes);
    ok = f->blob && fread(f->blob, 1, bytes, fp) == bytes;
    if (ok) {
      char *p = f->blob;
      f->x = (float *)p;
      p += (size_t)f->n * 4;
      f->q8_0 = (hatch_block_q8_0 *)p;
      p += (size_t)f->n / 32 * 34;
      f->deq = (float *)p;
      p += (size_t)f->n * 4;
      f->f16 = (uint16_t *)p;
    }
  }
  fclose(fp);
  HATCH_EXPECT(c, ok, "malformed fixture quant_gguf.bin");
  return ok;
}

static void test_fp16_against_numpy(hatch_test_ctx *c) {
  quant_fixture f;
  if (!load_fixture(c, &f)) return;
  int mismatches = 0;
  for (uint32_t i = 0; i < f.n; i++) {
    uint16_t h = hatch_fp32_to_fp16(f.x[i]);
    if (h != f.f16[i] && mismatches++ < 5)
      HATCH_EXPECT(c, false, "fp16(%.9g) = 0x%04x, numpy 0x%04x", f.x[i], h, f.f16[i]);
  }
  HATCH_EXPECT(c, mismatches == 0, "%d fp16 mismatches", mismatches);
  free(f.blob);
}

static void test_fp16_round_trip_all(hatch_test_ctx *c) {
  int bad = 0;
  for (uint32_t h = 0; h < 65536; h++) {
    float x = hatch_fp16_to_fp32((uint16_t)h);
    uint16_t back = hatch_fp32_to_fp16(x);
    bool is_nan = ((h >> 10) & 0x1f) == 0x1f && (h & 0x3ff);
    if (is_nan ? !isnan(x) : back != h) bad++;
  }
  HATCH_EXPECT(c, bad == 0, "%d of 65536 fp16 patterns do not survive fp16 -> fp32 -> fp16", bad);
}

static void test_q8_0_against_gguf(hatch_test_ctx *c) {
  quant_fixture f;
  if (!load_fixture(c, &f)) return;
  float *finite = malloc(sizeof(float) * f.n), *deq = malloc(sizeof(float) * f.n);
  hatch_block_q8_0 *q = malloc(sizeof(hatch_block_q8_0) * (f.n / 32));
  if (!finite || !deq || !q) goto done;
  for (uint32_t i = 0; i < f.n; i++) finite[i] = isfinite(f.x[i]) ? f.x[i] : 0.0f;
  hatch_quantize_row_q8_0(finite, q, f.n);
  HATCH_EXPECT(c, memcmp(q, f.q8_0, sizeof(hatch_block_q8_0) * (f.n / 32)) == 0,
               "Q8_0 blocks differ from the gguf package's reference quantizer");
  hatch_dequantize_row_q8_0(f.q8_0, deq, f.n);
  HATCH_EXPECT(c, memcmp(deq, f.deq, sizeof(float) * f.n) == 0, "Q8_0 dequantization differs from gguf's");
done:
  free(finite);
  free(deq);
  free(q);
  free(f.blob);
}

/* Round-trip error: each element within half a quantization step (d/2) plus fp16 rounding of d. */
static void test_q8_0_round_trip(hatch_test_ctx *c) {
  enum { N = 4096 };
  float x[N], y[N];
  hatch_block_q8_0 q[N / 32];
  hatch_test_fill(c, x, N, -3.0f, 3.0f);
  hatch_quantize_row_q8_0(x, q, N);
  hatch_dequantize_row_q8_0(q, y, N);
  double worst = 0.0;
  for (int b = 0; b < N / 32; b++) {
    float amax = 0.0f;
    for (int i = 0; i < 32; i++) amax = fmaxf(amax, fabsf(x[b * 32 + i]));
    float step = amax / 127.0f;
    for (int i = 0; i < 32; i++) {
      double err = fabs((double)x[b * 32 + i] - y[b * 32 + i]) / step;
      if (err > worst) worst = err;
    }
  }
  HATCH_EXPECT(c, worst <= 0.5 + 127.0 * 0.0005, "round-trip error %.4f steps > 0.5 + fp16 scale rounding", worst);
  HATCH_EXPECT(c, hatch_test_nmse(y, x, N) < 1e-4, "round-trip nmse %.3e", hatch_test_nmse(y, x, N));
}

/* Qwen2.5-VL's 3420-wide MLP: padded to 3424 with zeros that dequantize to exactly 0. */
static void test_q8_0_padded(hatch_test_ctx *c) {
  enum { K = 3420, KP = 3424 };
  float x[K], y[KP];
  hatch_block_q8_0 q[KP / 32];
  hatch_test_fill(c, x, K, -1.0f, 1.0f);
  HATCH_EXPECT(c, hatch_pad_to_block(K) == KP, "pad_to_block(3420) = %lld", (long long)hatch_pad_to_block(K));
  hatch_quantize_row_q8_0_padded(x, K, q, KP);
  hatch_dequantize_row_q8_0(q, y, KP);
  for (int i = K; i < KP; i++) HATCH_EXPECT(c, y[i] == 0.0f, "pad element %d = %g", i, y[i]);
  HATCH_EXPECT(c, hatch_test_nmse(y, x, K) < 1e-4, "padded round trip nmse %.3e", hatch_test_nmse(y, x, K));
  HATCH_EXPECT(c, hatch_type_row_bytes(HATCH_TYPE_Q8_0, K) == 0, "3420 is not whole Q8_0 blocks");
  HATCH_EXPECT(c, hatch_type_row_bytes(HATCH_TYPE_Q8_0, KP) == KP / 32 * 34, "row bytes of 3424");
}

static const hatch_test_case cases[] = {
    {"status_table", test_status_table, false},
    {"fp16_against_numpy", test_fp16_against_numpy, false},
    {"fp16_round_trip_all", test_fp16_round_trip_all, false},
    {"q8_0_against_gguf", test_q8_0_against_gguf, false},
    {"q8_0_round_trip", test_q8_0_round_trip, false},
    {"q8_0_padded", test_q8_0_padded, false},
};

int main(int argc, char **argv) { return hatch_test_main(argc, argv, cases, sizeof(cases) / sizeof(cases[0])); }
