/* Attention (FULL, CAUSAL with a KV cache, WINDOWED; GQA; F32/F16 K/V): the CPU reference against
 * numpy fixtures (tools/gen_rope_attention_fixtures.py), then Vulkan against the CPU. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fixture_hra.h"
#include "harness.h"

/* CPU vs fixtures: F32 online softmax vs a float64 plain softmax on the same (exactly stored)
 * inputs: F32 rounding only, nmse ~1e-14. */
#define TOL_FIXTURE 1e-10
/* Vulkan vs CPU: same math, different summation order, exp and chunk merging: nmse ~1e-13. A
 * dropped key, a wrong mask or a missed rescale gives >1e-4. */
#define TOL_VULKAN 1e-9

static void fixture_case(hatch_test_ctx *c, const char *file) {
  hra_file f;
  if (!hra_load(file, &f)) {
    HATCH_EXPECT(c, false, "fixture %s", file);
    return;
  }
  const hra_array *q = hra_get(&f, "q"), *k = hra_get(&f, "k"), *v = hra_get(&f, "v"), *ip = hra_get(&f, "iparams"),
                  *fp = hra_get(&f, "fparams"), *w = hra_get(&f, "windows"), *want = hra_get(&f, "expected");
  if (!q || !k || !v || !ip || !fp || !want) {
    HATCH_EXPECT(c, false, "%s: missing arrays", file);
    hra_free(&f);
    return;
  }
  const int32_t *iv = ip->data;
  hatch_tensor *tq = hatch_test_tensor(c, c->cpu, HATCH_TYPE_F32, 3, q->ne, q->data);
  hatch_tensor *tk = hatch_test_tensor(c, c->cpu, k->type, 3, k->ne, k->data);
  hatch_tensor *tv = hatch_test_tensor(c, c->cpu, v->type, 3, v->ne, v->data);
  hatch_tensor *tw = w ? hatch_test_tensor(c, c->cpu, HATCH_TYPE_I32, 1, w->ne, w->data) : NULL;
  hatch_tensor *td = hatch_test_tensor(c, c->cpu, HATCH_TYPE_F32, 3, q->ne, NULL);
  hatch_attn_params p = {.mode = (hatch_attn_mode)iv[0], .n_kv = iv[1], .kv_offset = iv[2],
                         .scale = ((float *)fp->data)[0], .windows = tw};
  if (tq && tk && tv && td && (tw || !w)) {
    HATCH_EXPECT_OK(c, hatch_attention(c->cpu, td, tq, tk, tv, &p));
    float *got = hatch_test_read_f32(c, td);
    double err = got ? hatch_test_nmse(got, want->data, hatch_tensor_nelements(td)) : INFINITY;
    HATCH_EXPECT(c, err <= TOL_FIXTURE, "%s: nmse %.3e > %.1e", file, err, TOL_FIXTURE);
    if (getenv("HATCH_TEST_VERBOSE")) fprintf(stderr, "  %s: nmse %.3e\n", file, err);
    free(got);
  }
  hatch_tensor *all[5] = {tq, tk, tv, tw, td};
  for (int i = 0; i < 5; i++) hatch_tensor_destroy(all[i]);
  hra_free(&f);
}

static void test_fixtures(hatch_test_ctx *c) {
  fixture_case(c, "attn_full_gqa.bin");
  fixture_case(c, "attn_causal_f16_cache.bin");
  fixture_case(c, "attn_decode.bin");
  fixture_case(c, "attn_windowed.bin");
}

typedef struct attn_shape {
  hatch_attn_mode mode;
  int64_t n_q, n_head, n_kv_head, d;
  int64_t cache_rows; /* rows of k/v; n_kv <= cache_rows */
  int64_t n_kv, kv_offset;
  hatch_type kv_type;
  const int32_t *windows; /* WINDOWED: n_win + 1 boundaries */
  int n_win;
  bool past; /* CAUSAL with n_kv = kv_offset + n_q: Vulkan and a second CPU run read kv_offset from a
                tensor (hatch_attn_params.past, recorded graphs); the reference uses the fields */
} attn_shape;

/* Vulkan vs CPU on random q, k, v. */
static void check(hatch_test_ctx *c, const attn_shape *s) {
  int64_t ne_q[3] = {s->d, s->n_head, s->n_q}, ne_kv[3] = {s->d, s->n_kv_head, s->cache_rows};
  int64_t nq = s->d * s->n_head * s->n_q, nkv = s->d * s->n_kv_head * s->cache_rows;
  float *q = malloc(sizeof(float) * (size_t)nq), *k = malloc(sizeof(float) * (size_t)nkv);
  float *v = malloc(sizeof(float) * (size_t)nkv);
  uint16_t *k16 = malloc(sizeof(uint16_t) * (size_t)nkv), *v16 = malloc(sizeof(uint16_t) * (size_t)nkv);
  if (!q || !k || !v || !k16 || !v16) {
    HATCH_EXPECT(c, false, "out of host memory");
  } else {
    hatch_test_fill(c, q, nq, -1.0f, 1.0f);
    hatch_test_fill(c, k, nkv, -1.0f, 1.0f);
    hatch_test_fill(c, v, nkv, -1.0f, 1.0f);
    for (int64_t i = 0; i < nkv; i++) {
      k16[i] = hatch_fp32_to_fp16(k[i]);
      v16[i] = hatch_fp32_to_fp16(v[i]);
    }
    bool f16 = s->kv_type == HATCH_TYPE_F16;
    hatch_tensor *cq, *vq, *ck, *vk, *cv, *vv, *cd, *vd, *cw = NULL, *vw = NULL;
    hatch_test_pair(c, HATCH_TYPE_F32, 3, ne_q, q, &cq, &vq);
    hatch_test_pair(c, s->kv_type, 3, ne_kv, f16 ? (void *)k16 : (void *)k, &ck, &vk);
    hatch_test_pair(c, s->kv_type, 3, ne_kv, f16 ? (void *)v16 : (void *)v, &cv, &vv);
    hatch_test_pair(c, HATCH_TYPE_F32, 3, ne_q, NULL, &cd, &vd);
    if (s->windows) {
      int64_t ne_w[1] = {s->n_win + 1};
      hatch_test_pair(c, HATCH_TYPE_I32, 1, ne_w, s->windows, &cw, &vw);
    }
    hatch_attn_params p = {.mode = s->mode, .scale = 1.0f / sqrtf((float)s->d), .n_kv = s->n_kv,
                           .kv_offset = s->kv_offset, .windows = cw};
    HATCH_EXPECT_OK(c, hatch_attention(c->cpu, cd, cq, ck, cv, &p));
    hatch_tensor *cp = NULL, *vp = NULL, *gp = NULL;
    if (s->past) {
      int32_t off = (int32_t)s->kv_offset;
      int64_t ne_p[1] = {1};
      hatch_test_pair(c, HATCH_TYPE_I32, 1, ne_p, &off, &cp, &vp);
      gp = hatch_test_tensor(c, c->vk_gpu, HATCH_TYPE_I32, 1, ne_p, &off);
      hatch_tensor *cd2 = hatch_test_tensor(c, c->cpu, HATCH_TYPE_F32, 3, ne_q, NULL);
      hatch_attn_params pp = {.mode = HATCH_ATTN_CAUSAL, .scale = p.scale, .n_kv = 1, .kv_offset = 99999, .past = cp};
      HATCH_EXPECT_OK(c, hatch_attention(c->cpu, cd2, cq, ck, cv, &pp)); /* n_kv, kv_offset ignored */
      hatch_test_expect_close(c, cd, cd2, 0.0, "cpu: past tensor vs fields");
      hatch_tensor_destroy(cd2);
      p.n_kv = 0, p.kv_offset = 0;
    }
    p.past = vp;
    p.windows = vw;
    char what[200];
    snprintf(what, sizeof(what), "mode=%d n_q=%lld heads=%lld/%lld d=%lld n_kv=%lld/%lld off=%lld %s", (int)s->mode,
             (long long)s->n_q, (long long)s->n_head, (long long)s->n_kv_head, (long long)s->d, (long long)s->n_kv,
             (long long)s->cache_rows, (long long)s->kv_offset, f16 ? "f16" : "f32");
    if (s->past) strncat(what, " past-tensor", sizeof(what) - strlen(what) - 1);
    HATCH_EXPECT_OK(c, hatch_attention(c->vk, vd, vq, vk, vv, &p));
    hatch_test_expect_close(c, cd, vd, TOL_VULKAN, what);
    /* the same inputs through the GPU-shaped kernel (differs from the default only on CPU devices) */
    hatch_tensor *gq, *gk, *gv, *gd, *gw = NULL;
    gq = hatch_test_tensor(c, c->vk_gpu, HATCH_TYPE_F32, 3, ne_q, q);
    gk = hatch_test_tensor(c, c->vk_gpu, s->kv_type, 3, ne_kv, f16 ? (void *)k16 : (void *)k);
    gv = hatch_test_tensor(c, c->vk_gpu, s->kv_type, 3, ne_kv, f16 ? (void *)v16 : (void *)v);
    gd = hatch_test_tensor(c, c->vk_gpu, HATCH_TYPE_F32, 3, ne_q, NULL);
    if (s->windows) gw = hatch_test_tensor(c, c->vk_gpu, HATCH_TYPE_I32, 1, (int64_t[]){s->n_win + 1}, s->windows);
    p.windows = gw;
    p.past = gp;
    HATCH_EXPECT_OK(c, hatch_attention(c->vk_gpu, gd, gq, gk, gv, &p));
    strncat(what, " gpu-kernel", sizeof(what) - strlen(what) - 1);
    hatch_test_expect_close(c, cd, gd, TOL_VULKAN, what);
    hatch_tensor *alt[5] = {gq, gk, gv, gd, gw};
    for (int i = 0; i < 5; i++) hatch_tensor_destroy(alt[i]);
    hatch_tensor *all[13] = {cq, vq, ck, vk, cv, vv, cd, vd, cw, vw, cp, vp, gp};
    for (int i = 0; i < 13; i++) hatch_tensor_destroy(all[i]);
  }
  free(q);
  free(k);
  free(v);
  free(k16);
  free(v16);
}

static const int64_t odd_n[] = {1, 13, 127};
static const int64_t head_dims[] = {64, 80, 128};

static void test_full(hatch_test_ctx *c) {
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < 3; j++)
      check(c, &(attn_shape){HATCH_ATTN_FULL, odd_n[i], 2, 2, head_dims[j], odd_n[i], odd_n[i], 0, HATCH_TYPE_F32, NULL, 0, false});
  check(c, &(attn_shape){HATCH_ATTN_FULL, 13, 3, 3, 13, 200, 200, 0, HATCH_TYPE_F32, NULL, 0, false}); /* d odd, n_q != n_kv */
}

static void test_causal(hatch_test_ctx *c) {
  for (int i = 0; i < 3; i++)
    check(c, &(attn_shape){HATCH_ATTN_CAUSAL, odd_n[i], 2, 2, 80, odd_n[i], odd_n[i], 0, HATCH_TYPE_F32, NULL, 0, false});
}

/* Qwen2.5-VL-3B's 16 query heads over 2 KV heads. */
static void test_gqa(hatch_test_ctx *c) {
  check(c, &(attn_shape){HATCH_ATTN_CAUSAL, 13, 16, 2, 128, 13, 13, 0, HATCH_TYPE_F32, NULL, 0, false});
  check(c, &(attn_shape){HATCH_ATTN_FULL, 13, 6, 2, 64, 127, 127, 0, HATCH_TYPE_F16, NULL, 0, false});
}

static void test_f16_kv(hatch_test_ctx *c) {
  for (int j = 0; j < 3; j++)
    check(c, &(attn_shape){HATCH_ATTN_CAUSAL, 127, 2, 1, head_dims[j], 127, 127, 0, HATCH_TYPE_F16, NULL, 0, false});
}

/* Decode and chunked prefill over a KV cache longer than the keys in use. */
static void test_kv_cache(hatch_test_ctx *c) {
  check(c, &(attn_shape){HATCH_ATTN_CAUSAL, 1, 16, 2, 128, 300, 201, 200, HATCH_TYPE_F16, NULL, 0, false});
  check(c, &(attn_shape){HATCH_ATTN_CAUSAL, 13, 4, 2, 128, 256, 113, 100, HATCH_TYPE_F16, NULL, 0, false});
  check(c, &(attn_shape){HATCH_ATTN_CAUSAL, 1, 4, 4, 64, 4000, 3001, 3000, HATCH_TYPE_F32, NULL, 0, false}); /* split keys */
}

/* The same through hatch_attn_params.past (the recorded decode/prefill): the kernels are planned
 * for the whole cache and stop at the length they read, including a short length in a long cache. */
static void test_kv_cache_past(hatch_test_ctx *c) {
  check(c, &(attn_shape){HATCH_ATTN_CAUSAL, 1, 16, 2, 128, 300, 201, 200, HATCH_TYPE_F16, NULL, 0, true});
  check(c, &(attn_shape){HATCH_ATTN_CAUSAL, 13, 4, 2, 128, 256, 113, 100, HATCH_TYPE_F16, NULL, 0, true});
  check(c, &(attn_shape){HATCH_ATTN_CAUSAL, 1, 16, 2, 128, 4096, 6, 5, HATCH_TYPE_F16, NULL, 0, true});
  check(c, &(attn_shape){HATCH_ATTN_CAUSAL, 16, 2, 2, 64, 4096, 16, 0, HATCH_TYPE_F32, NULL, 0, true});
  check(c, &(attn_shape){HATCH_ATTN_CAUSAL, 1, 4, 4, 64, 4000, 3001, 3000, HATCH_TYPE_F32, NULL, 0, true});
}

/* Vision window attention with uneven windows (edge windows are smaller in Qwen2.5-VL). */
static void test_windowed(hatch_test_ctx *c) {
  static const int32_t w127[] = {0, 5, 6, 40, 100, 127}, w13[] = {0, 13}, w1[] = {0, 1};
  check(c, &(attn_shape){HATCH_ATTN_WINDOWED, 127, 2, 2, 80, 127, 127, 0, HATCH_TYPE_F32, w127, 5, false});
  check(c, &(attn_shape){HATCH_ATTN_WINDOWED, 13, 2, 2, 80, 13, 13, 0, HATCH_TYPE_F32, w13, 1, false});
  check(c, &(attn_shape){HATCH_ATTN_WINDOWED, 1, 2, 2, 64, 1, 1, 0, HATCH_TYPE_F32, w1, 1, false});
  check(c, &(attn_shape){HATCH_ATTN_WINDOWED, 127, 2, 1, 128, 127, 127, 0, HATCH_TYPE_F16, w127, 5, false});
}

/* Decode over 70,000 keys (long context): with one (query, head) row per KV head the key range is
 * split for parallelism anyway, far below the loop budget; this case checks the many-chunk combine.
 * The budget itself is exercised by the two *_loop_cap cases below. */
static void test_decode_long_context(hatch_test_ctx *c) {
  check(c, &(attn_shape){HATCH_ATTN_CAUSAL, 1, 2, 1, 16, 70000, 70000, 69999, HATCH_TYPE_F16, NULL, 0, false});
}

/* 256 queries over 36,000 F16 keys: enough rows that no split is wanted for parallelism, so the
 * key split of the workgroup-per-query kernel (vk_gpu) comes from the loop budget alone: unsplit,
 * one invocation would loop ~563 tiles x ~210 = ~118,000 times. */
static void test_prefill_loop_cap(hatch_test_ctx *c) {
  check(c, &(attn_shape){HATCH_ATTN_CAUSAL, 256, 1, 1, 16, 36000, 36000, 36000 - 256, HATCH_TYPE_F16, NULL, 0, false});
}

/* 64 queries of one head over 70,000 keys: enough rows that only the loop budget asks for a key
 * split; an invocation of the register kernel (attention_rows, CPU devices) looping over every key
 * would cross lavapipe's cap (checked: it fails with the split disabled). */
static void test_rows_loop_cap(hatch_test_ctx *c) {
  check(c, &(attn_shape){HATCH_ATTN_FULL, 64, 1, 1, 16, 70000, 70000, 0, HATCH_TYPE_F16, NULL, 0, false});
}

static void test_bad_params(hatch_test_ctx *c) {
  int64_t ne_q[3] = {16, 3, 4}, ne_kv[3] = {16, 2, 8}, ne_kv1[3] = {16, 1, 8};
  hatch_tensor *q = hatch_test_tensor(c, c->cpu, HATCH_TYPE_F32, 3, ne_q, NULL);
  hatch_tensor *d = hatch_test_tensor(c, c->cpu, HATCH_TYPE_F32, 3, ne_q, NULL);
  hatch_tensor *k2 = hatch_test_tensor(c, c->cpu, HATCH_TYPE_F32, 3, ne_kv, NULL);
  hatch_tensor *k1 = hatch_test_tensor(c, c->cpu, HATCH_TYPE_F32, 3, ne_kv1, NULL);
  hatch_tensor *k16 = hatch_test_tensor(c, c->cpu, HATCH_TYPE_F16, 3, ne_kv1, NULL);
  hatch_attn_params ok = {.mode = HATCH_ATTN_FULL, .scale = 0.25f};
  hatch_attn_params zero_scale = {.mode = HATCH_ATTN_FULL, .scale = 0.0f};
  hatch_attn_params past_end = {.mode = HATCH_ATTN_CAUSAL, .scale = 0.25f, .kv_offset = 5};
  hatch_attn_params no_windows = {.mode = HATCH_ATTN_WINDOWED, .scale = 0.25f};
  hatch_attn_params long_kv = {.mode = HATCH_ATTN_FULL, .scale = 0.25f, .n_kv = 9};
  hatch_attn_params huge_offset = {.mode = HATCH_ATTN_CAUSAL, .scale = 0.25f, .kv_offset = INT64_MAX};
  HATCH_EXPECT(c, hatch_attention(c->cpu, d, q, k2, k2, &ok) == HATCH_ERR_SHAPE, "3 heads over 2 KV heads accepted");
  HATCH_EXPECT(c, hatch_attention(c->cpu, d, q, k1, k16, &ok) == HATCH_ERR_TYPE, "K F32 with V F16 accepted");
  HATCH_EXPECT(c, hatch_attention(c->cpu, d, q, k1, k1, &zero_scale) == HATCH_ERR_INVALID_ARGUMENT, "scale 0 accepted");
  HATCH_EXPECT(c, hatch_attention(c->cpu, d, q, k1, k1, &past_end) == HATCH_ERR_SHAPE, "kv_offset + n_q > n_kv accepted");
  HATCH_EXPECT(c, hatch_attention(c->cpu, d, q, k1, k1, &no_windows) == HATCH_ERR_INVALID_ARGUMENT,
               "WINDOWED without windows accepted");
  HATCH_EXPECT(c, hatch_attention(c->cpu, d, q, k1, k1, &long_kv) == HATCH_ERR_SHAPE, "n_kv > cache rows accepted");
  HATCH_EXPECT(c, hatch_attention(c->cpu, d, q, k1, k1, &huge_offset) == HATCH_ERR_SHAPE,
               "kv_offset INT64_MAX accepted (kv_offset + n_q overflows)");
  HATCH_EXPECT(c, hatch_attention(c->cpu, q, q, k1, k1, &ok) == HATCH_ERR_INVALID_ARGUMENT, "dst aliasing q accepted");
  HATCH_EXPECT_OK(c, hatch_attention(c->cpu, d, q, k1, k1, &ok));
  hatch_tensor *all[5] = {q, d, k2, k1, k16};
  for (int i = 0; i < 5; i++) hatch_tensor_destroy(all[i]);
}

static const hatch_test_case cases[] = {
    {"attention_fixtures", test_fixtures, false},
    {"attention_bad_params", test_bad_params, false},
    {"attention_full", test_full, true},
    {"attention_causal", test_causal, true},
    {"attention_gqa", test_gqa, true},
    {"attention_f16_kv", test_f16_kv, true},
    {"attention_kv_cache", test_kv_cache, true},
    {"attention_kv_cache_past", test_kv_cache_past, true},
    {"attention_windowed", test_windowed, true},
    {"attention_decode_long_context", test_decode_long_context, true},
    {"attention_prefill_loop_cap", test_prefill_loop_cap, true},
    {"attention_rows_loop_cap", test_rows_loop_cap, true},
};

int main(int argc, char **argv) { return hatch_test_main(argc, argv, cases, sizeof(cases) / sizeof(cases[0])); }
