/* add, mul, silu, gelu, swiglu, rms_norm, softmax: Vulkan against the CPU reference. */
#include <math.h>
#include <stdlib.h>

#include "harness.h"

typedef enum { BIN_ADD, BIN_MUL, UN_SILU, UN_GELU, SWIGLU, RMS, RMS_NOW, SOFTMAX } elementwise_kind;

/* Runs one op on both backends over (rows, n) inputs (b: (b_rows, n)) and compares. */
static void check(hatch_test_ctx *c, elementwise_kind kind, int64_t n, int64_t rows, int64_t b_rows, double tol) {
  int64_t ne[2] = {n, rows}, ne_b[2] = {n, b_rows};
  float *a = malloc(sizeof(float) * (size_t)(n * rows));
  float *b = malloc(sizeof(float) * (size_t)(n * (kind == SWIGLU ? rows : b_rows)));
  if (!a || !b) {
    HATCH_EXPECT(c, false, "out of host memory");
    free(a);
    free(b);
    return;
  }
  hatch_test_fill(c, a, n * rows, -4.0f, 4.0f);
  hatch_test_fill(c, b, n * (kind == SWIGLU ? rows : b_rows), -2.0f, 2.0f);
  hatch_tensor *ca, *va, *cb, *vb, *cd, *vd;
  hatch_test_pair(c, HATCH_TYPE_F32, 2, ne, a, &ca, &va);
  hatch_test_pair(c, HATCH_TYPE_F32, 2, kind == SWIGLU ? ne : ne_b, b, &cb, &vb);
  hatch_test_pair(c, HATCH_TYPE_F32, 2, ne, NULL, &cd, &vd);
  hatch_backend *bes[2] = {c->cpu, c->vk};
  hatch_tensor *as[2] = {ca, va}, *bs[2] = {cb, vb}, *ds[2] = {cd, vd};
  for (int i = 0; i < 2; i++) {
    switch (kind) {
    case BIN_ADD: HATCH_EXPECT_OK(c, hatch_binary(bes[i], ds[i], as[i], bs[i], HATCH_BINARY_ADD)); break;
    case BIN_MUL: HATCH_EXPECT_OK(c, hatch_binary(bes[i], ds[i], as[i], bs[i], HATCH_BINARY_MUL)); break;
    case UN_SILU: HATCH_EXPECT_OK(c, hatch_unary(bes[i], ds[i], as[i], HATCH_UNARY_SILU)); break;
    case UN_GELU: HATCH_EXPECT_OK(c, hatch_unary(bes[i], ds[i], as[i], HATCH_UNARY_GELU)); break;
    case SWIGLU: HATCH_EXPECT_OK(c, hatch_swiglu(bes[i], ds[i], as[i], bs[i])); break;
    case RMS: HATCH_EXPECT_OK(c, hatch_rms_norm(bes[i], ds[i], as[i], bs[i], 1e-6f)); break;
    case RMS_NOW: HATCH_EXPECT_OK(c, hatch_rms_norm(bes[i], ds[i], as[i], NULL, 1e-6f)); break;
    case SOFTMAX: HATCH_EXPECT_OK(c, hatch_softmax(bes[i], ds[i], as[i], 0.125f)); break;
    }
  }
  char what[96];
  snprintf(what, sizeof(what), "n=%lld rows=%lld", (long long)n, (long long)rows);
  hatch_test_expect_close(c, cd, vd, tol, what);
  hatch_tensor *all[6] = {ca, va, cb, vb, cd, vd};
  for (int i = 0; i < 6; i++) hatch_tensor_destroy(all[i]);
  free(a);
  free(b);
}

static const int64_t odd_n[] = {1, 13, 127, 1280, 3420};

static void test_add(hatch_test_ctx *c) {
  for (int i = 0; i < 5; i++) check(c, BIN_ADD, odd_n[i], 7, 1, 1e-12); /* bias broadcast */
  check(c, BIN_ADD, 13, 6, 3, 1e-12);
  check(c, BIN_ADD, 127, 13, 13, 1e-12);
}

static void test_mul(hatch_test_ctx *c) {
  for (int i = 0; i < 5; i++) check(c, BIN_MUL, odd_n[i], 5, 1, 1e-12);
  check(c, BIN_MUL, 127, 13, 13, 1e-12);
}

/* More than 65,535 workgroups of 256: the grid must be split over two dimensions. */
static void test_add_huge_grid(hatch_test_ctx *c) { check(c, BIN_ADD, 4099, 4097, 1, 1e-12); }

static void test_silu(hatch_test_ctx *c) {
  for (int i = 0; i < 5; i++) check(c, UN_SILU, odd_n[i], 3, 1, 1e-10);
}

static void test_gelu(hatch_test_ctx *c) {
  for (int i = 0; i < 5; i++) check(c, UN_GELU, odd_n[i], 3, 1, 1e-10);
}

static void test_swiglu(hatch_test_ctx *c) {
  for (int i = 0; i < 5; i++) check(c, SWIGLU, odd_n[i], 3, 3, 1e-10);
}

static void test_rms_norm(hatch_test_ctx *c) {
  for (int i = 0; i < 5; i++) check(c, RMS, odd_n[i], 4, 1, 1e-10);
  check(c, RMS_NOW, 2048, 3, 1, 1e-10);
}

/* A row of 131,072: a kernel giving each row to one invocation would loop past lavapipe's 65,535
 * cap; this one strides the row over 128 invocations (1,024 iterations each per pass). */
static void test_rms_norm_loop_cap(hatch_test_ctx *c) { check(c, RMS, 131072, 2, 1, 1e-10); }

static void test_softmax(hatch_test_ctx *c) {
  for (int i = 0; i < 5; i++) check(c, SOFTMAX, odd_n[i], 4, 1, 1e-10);
}

static void test_softmax_loop_cap(hatch_test_ctx *c) { check(c, SOFTMAX, 131072, 2, 1, 1e-10); }

static const hatch_test_case cases[] = {
    {"add", test_add, true},
    {"mul", test_mul, true},
    {"add_huge_grid", test_add_huge_grid, true},
    {"silu", test_silu, true},
    {"gelu", test_gelu, true},
    {"swiglu", test_swiglu, true},
    {"rms_norm", test_rms_norm, true},
    {"rms_norm_loop_cap", test_rms_norm_loop_cap, true},
    {"softmax", test_softmax, true},
    {"softmax_loop_cap", test_softmax_loop_cap, true},
};

int main(int argc, char **argv) { return hatch_test_main(argc, argv, cases, sizeof(cases) / sizeof(cases[0])); }
