/* RoPE (NEOX, M-RoPE, vision 2D): the CPU reference against numpy fixtures
 * (tools/gen_rope_attention_fixtures.py), then Vulkan against the CPU on fresh random data. */
#include <math.h>
#include <stdlib.h>

#include "fixture_hra.h"
#include "harness.h"

/* CPU vs fixtures: the same F32 formula (bit-identical angles, cos/sin correctly rounded on both
 * sides), so only last-bit rounding differs: nmse ~1e-15. */
#define TOL_FIXTURE 1e-10
/* Vulkan vs CPU: identical angles (same F32 table and product); the GPU's reduced-range sin/cos
 * differ by ~1e-7 absolute: nmse ~1e-14 on lavapipe. A wrong pair, section or frequency gives >1e-3. */
#define TOL_VULKAN 1e-10

static void fixture_case(hatch_test_ctx *c, const char *file) {
  hra_file f;
  if (!hra_load(file, &f)) {
    HATCH_EXPECT(c, false, "fixture %s", file);
    return;
  }
  const hra_array *x = hra_get(&f, "x"), *pos = hra_get(&f, "pos"), *ip = hra_get(&f, "iparams"),
                  *fp = hra_get(&f, "fparams"), *want = hra_get(&f, "expected");
  if (!x || !pos || !ip || !fp || !want) {
    HATCH_EXPECT(c, false, "%s: missing arrays", file);
    hra_free(&f);
    return;
  }
  const int32_t *iv = ip->data;
  hatch_rope_params p = {.mode = (hatch_rope_mode)iv[0], .n_dims = iv[1], .freq_base = ((float *)fp->data)[0],
                         .sections = {iv[2], iv[3], iv[4], iv[5]}};
  for (int in_place = 0; in_place < 2; in_place++) {
    hatch_tensor *tx = hatch_test_tensor(c, c->cpu, HATCH_TYPE_F32, 3, x->ne, x->data);
    hatch_tensor *tp = hatch_test_tensor(c, c->cpu, HATCH_TYPE_I32, 2, pos->ne, pos->data);
    hatch_tensor *td = in_place ? tx : hatch_test_tensor(c, c->cpu, HATCH_TYPE_F32, 3, x->ne, NULL);
    if (tx && tp && td) {
      HATCH_EXPECT_OK(c, hatch_rope(c->cpu, td, tx, tp, &p));
      float *got = hatch_test_read_f32(c, td);
      double err = got ? hatch_test_nmse(got, want->data, hatch_tensor_nelements(td)) : INFINITY;
      HATCH_EXPECT(c, err <= TOL_FIXTURE, "%s%s: nmse %.3e > %.1e", file, in_place ? " in place" : "", err,
                   TOL_FIXTURE);
      if (getenv("HATCH_TEST_VERBOSE")) fprintf(stderr, "  %s: nmse %.3e\n", file, err);
      free(got);
    }
    if (!in_place) hatch_tensor_destroy(td);
    hatch_tensor_destroy(tx);
    hatch_tensor_destroy(tp);
  }
  hra_free(&f);
}

static void test_fixtures(hatch_test_ctx *c) {
  fixture_case(c, "rope_neox.bin");
  fixture_case(c, "rope_neox_partial.bin");
  fixture_case(c, "rope_mrope.bin");
  fixture_case(c, "rope_vision.bin");
}

/* Vulkan vs CPU on random x (n_tok, n_head, head_dim) and positions in [0, pos_max). */
static void check(hatch_test_ctx *c, hatch_rope_mode mode, int64_t n_tok, int64_t n_head, int64_t head_dim,
                  int n_dims, const int *sections, float base, int pos_max, bool in_place) {
  int n_comp = mode == HATCH_ROPE_NEOX ? 1 : mode == HATCH_ROPE_MROPE ? 3 : 2;
  int64_t ne[3] = {head_dim, n_head, n_tok}, ne_pos[2] = {n_tok, n_comp};
  float *x = malloc(sizeof(float) * (size_t)(n_tok * n_head * head_dim));
  int32_t *pos = malloc(sizeof(int32_t) * (size_t)(n_tok * n_comp));
  if (!x || !pos) {
    HATCH_EXPECT(c, false, "out of host memory");
    free(x);
    free(pos);
    return;
  }
  hatch_test_fill(c, x, n_tok * n_head * head_dim, -3.0f, 3.0f);
  for (int64_t i = 0; i < n_tok * n_comp; i++) pos[i] = (int32_t)hatch_test_uniform(c, 0.0f, (float)pos_max);
  hatch_rope_params p = {.mode = mode, .n_dims = n_dims, .freq_base = base};
  for (int i = 0; sections && i < 4; i++) p.sections[i] = sections[i];
  hatch_tensor *cx, *vx, *cp, *vp, *cd, *vd;
  hatch_test_pair(c, HATCH_TYPE_F32, 3, ne, x, &cx, &vx);
  hatch_test_pair(c, HATCH_TYPE_I32, 2, ne_pos, pos, &cp, &vp);
  if (in_place) {
    cd = cx;
    vd = vx;
  } else {
    hatch_test_pair(c, HATCH_TYPE_F32, 3, ne, NULL, &cd, &vd);
  }
  HATCH_EXPECT_OK(c, hatch_rope(c->cpu, cd, cx, cp, &p));
  HATCH_EXPECT_OK(c, hatch_rope(c->vk, vd, vx, vp, &p));
  char what[128];
  snprintf(what, sizeof(what), "mode=%d n_tok=%lld n_head=%lld head_dim=%lld n_dims=%d%s", (int)mode,
           (long long)n_tok, (long long)n_head, (long long)head_dim, n_dims, in_place ? " in place" : "");
  hatch_test_expect_close(c, cd, vd, TOL_VULKAN, what);
  if (!in_place) {
    hatch_tensor_destroy(cd);
    hatch_tensor_destroy(vd);
  }
  hatch_tensor *all[4] = {cx, vx, cp, vp};
  for (int i = 0; i < 4; i++) hatch_tensor_destroy(all[i]);
  free(x);
  free(pos);
}

static const int64_t odd_tok[] = {1, 13, 127};

static void test_neox(hatch_test_ctx *c) {
  static const int64_t dims[] = {64, 80, 128};
  for (int t = 0; t < 3; t++)
    for (int d = 0; d < 3; d++) check(c, HATCH_ROPE_NEOX, odd_tok[t], 3, dims[d], (int)dims[d], NULL, 1e6f, 32768, false);
}

/* n_dims < head_dim: the tail dims pass through. */
static void test_neox_partial(hatch_test_ctx *c) {
  check(c, HATCH_ROPE_NEOX, 13, 2, 80, 32, NULL, 1e4f, 4096, false);
  check(c, HATCH_ROPE_NEOX, 127, 3, 128, 2, NULL, 1e6f, 4096, false);
}

static void test_mrope(hatch_test_ctx *c) {
  static const int qwen3b[4] = {16, 24, 24, 0}, uneven[4] = {5, 1, 10, 0};
  for (int t = 0; t < 3; t++) check(c, HATCH_ROPE_MROPE, odd_tok[t], 4, 128, 128, qwen3b, 1e6f, 8192, false);
  check(c, HATCH_ROPE_MROPE, 13, 2, 64, 32, uneven, 1e6f, 2048, false);
}

static void test_vision(hatch_test_ctx *c) {
  static const int s80[4] = {20, 20, 0, 0}, s64[4] = {16, 16, 0, 0}, s128[4] = {32, 32, 0, 0};
  for (int t = 0; t < 3; t++) check(c, HATCH_ROPE_VISION, odd_tok[t], 4, 80, 80, s80, 1e4f, 128, false);
  check(c, HATCH_ROPE_VISION, 13, 2, 64, 64, s64, 1e4f, 128, false);
  check(c, HATCH_ROPE_VISION, 13, 2, 128, 128, s128, 1e4f, 128, false);
}

static void test_in_place(hatch_test_ctx *c) {
  static const int s[4] = {16, 24, 24, 0};
  check(c, HATCH_ROPE_MROPE, 13, 4, 128, 128, s, 1e6f, 8192, true);
  check(c, HATCH_ROPE_NEOX, 13, 2, 80, 40, NULL, 1e4f, 8192, true);
}

/* 70,000 heads of one token: one invocation looping over all heads would cross lavapipe's cap. */
static void test_rope_loop_cap(hatch_test_ctx *c) { check(c, HATCH_ROPE_NEOX, 1, 70000, 4, 2, NULL, 1e4f, 1000, false); }

static void test_bad_params(hatch_test_ctx *c) {
  int64_t ne[3] = {64, 2, 5}, ne_pos[2] = {5, 1}, ne_pos3[2] = {5, 3};
  hatch_tensor *x = hatch_test_tensor(c, c->cpu, HATCH_TYPE_F32, 3, ne, NULL);
  hatch_tensor *pos = hatch_test_tensor(c, c->cpu, HATCH_TYPE_I32, 2, ne_pos, NULL);
  hatch_tensor *pos3 = hatch_test_tensor(c, c->cpu, HATCH_TYPE_I32, 2, ne_pos3, NULL);
  hatch_rope_params odd = {.mode = HATCH_ROPE_NEOX, .n_dims = 63, .freq_base = 1e4f};
  hatch_rope_params wide = {.mode = HATCH_ROPE_NEOX, .n_dims = 66, .freq_base = 1e4f};
  hatch_rope_params sections = {.mode = HATCH_ROPE_MROPE, .n_dims = 64, .freq_base = 1e4f, .sections = {16, 8, 4}};
  hatch_rope_params neox = {.mode = HATCH_ROPE_NEOX, .n_dims = 64, .freq_base = 1e4f};
  HATCH_EXPECT(c, hatch_rope(c->cpu, x, x, pos, &odd) == HATCH_ERR_INVALID_ARGUMENT, "odd n_dims accepted");
  HATCH_EXPECT(c, hatch_rope(c->cpu, x, x, pos, &wide) == HATCH_ERR_INVALID_ARGUMENT, "n_dims > head_dim accepted");
  HATCH_EXPECT(c, hatch_rope(c->cpu, x, x, pos3, &sections) == HATCH_ERR_INVALID_ARGUMENT,
               "sections not summing to n_dims/2 accepted");
  HATCH_EXPECT(c, hatch_rope(c->cpu, x, x, pos3, &neox) == HATCH_ERR_SHAPE, "NEOX with 3 position rows accepted");
  HATCH_EXPECT(c, hatch_rope(c->cpu, x, x, x, &neox) == HATCH_ERR_TYPE, "F32 positions accepted");
  hatch_tensor_destroy(x);
  hatch_tensor_destroy(pos);
  hatch_tensor_destroy(pos3);
}

static const hatch_test_case cases[] = {
    {"rope_fixtures", test_fixtures, false},
    {"rope_bad_params", test_bad_params, false},
    {"rope_neox", test_neox, true},
    {"rope_neox_partial", test_neox_partial, true},
    {"rope_mrope", test_mrope, true},
    {"rope_vision", test_vision, true},
    {"rope_in_place", test_in_place, true},
    {"rope_loop_cap", test_rope_loop_cap, true},
};

int main(int argc, char **argv) { return hatch_test_main(argc, argv, cases, sizeof(cases) / sizeof(cases[0])); }
