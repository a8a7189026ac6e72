/* hatch bench ops: per op and shape, time, GB/s and GFLOP/s, each with its ratio to the copy
 * bandwidth and FMA peak measured on the same backend in the same run. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/bench.h"
#include "cli/cli.h"
#include "hatch/ops.h"

typedef enum bench_op {
  OP_MATMUL, OP_RMS_NORM, OP_SOFTMAX, OP_SILU, OP_ADD, OP_ROPE, OP_ATTENTION, OP_RESIZE, OP_PATCHIFY
} bench_op;

static const char *const op_names[] = {"matmul", "rms_norm", "softmax", "silu", "add",
                                       "rope", "attention", "resize", "patchify"};

typedef struct bench_case {
  const char *set;  /* llama | qwen3b | ops | quick */
  const char *what; /* model tensor or purpose */
  bench_op op;
  hatch_type type;  /* matmul weights; attention K/V */
  int64_t a, b, c, d; /* matmul: m, k, n | rows ops: ne0, rows | rope: head_dim, heads, tokens |
                         attention: d, heads, kv_heads, n_kv (n_q = 1 decode, else windowed n_q = n_kv) |
                         resize: w, h, w', h' | patchify: w, h */
  int mode;         /* attention: hatch_attn_mode */
} bench_case;

#define MM(set, what, t, m, k, n) {set, what, OP_MATMUL, HATCH_TYPE_##t, m, k, n, 0, 0}
static const bench_case cases[] = {
    /* llama.cpp test-backend-ops perf -o MUL_MAT: m=4096, k=14336 */
    MM("llama", "test-backend-ops", Q8_0, 4096, 14336, 1), MM("llama", "test-backend-ops", Q8_0, 4096, 14336, 2),
    MM("llama", "test-backend-ops", Q8_0, 4096, 14336, 4), MM("llama", "test-backend-ops", Q8_0, 4096, 14336, 8),
    MM("llama", "test-backend-ops", Q8_0, 4096, 14336, 512),
    MM("llama", "test-backend-ops", F16, 4096, 14336, 1), MM("llama", "test-backend-ops", F16, 4096, 14336, 2),
    MM("llama", "test-backend-ops", F16, 4096, 14336, 4), MM("llama", "test-backend-ops", F16, 4096, 14336, 8),
    MM("llama", "test-backend-ops", F16, 4096, 14336, 512),
    MM("llama", "test-backend-ops", F32, 4096, 14336, 1), MM("llama", "test-backend-ops", F32, 4096, 14336, 2),
    MM("llama", "test-backend-ops", F32, 4096, 14336, 4), MM("llama", "test-backend-ops", F32, 4096, 14336, 8),
    MM("llama", "test-backend-ops", F32, 4096, 14336, 512),
    /* Qwen2.5-VL-3B LLM decode (n = 1) and prefill (n = 512), Q8_0 */
    MM("qwen3b", "llm attn q/o 2048x2048", Q8_0, 2048, 2048, 1), MM("qwen3b", "llm attn k/v 256x2048", Q8_0, 256, 2048, 1),
    MM("qwen3b", "llm mlp gate/up 11008x2048", Q8_0, 11008, 2048, 1),
    MM("qwen3b", "llm mlp down 2048x11008", Q8_0, 2048, 11008, 1),
    MM("qwen3b", "llm lm_head 151936x2048", Q8_0, 151936, 2048, 1),
    MM("qwen3b", "llm mlp gate/up prefill", Q8_0, 11008, 2048, 512),
    /* Qwen2.5-VL-3B vision tower on a 448x448 image: 1024 patches, 256 merged tokens */
    MM("qwen3b", "vit qkv 3840x1280", Q8_0, 3840, 1280, 1024), MM("qwen3b", "vit mlp gate/up 3420x1280", Q8_0, 3424, 1280, 1024),
    MM("qwen3b", "vit mlp down 1280x3420(pad 3424)", Q8_0, 1280, 3424, 1024),
    MM("qwen3b", "vit patch embed 1280x1176", F32, 1280, 1176, 1024),
    MM("qwen3b", "merger fc1 5120x5120", Q8_0, 5120, 5120, 256), MM("qwen3b", "merger fc2 2048x5120", Q8_0, 2048, 5120, 256),
    {"ops", "llm hidden", OP_RMS_NORM, HATCH_TYPE_F32, 2048, 512, 0, 0, 0},
    {"ops", "vit hidden", OP_RMS_NORM, HATCH_TYPE_F32, 1280, 1024, 0, 0, 0},
    {"ops", "scores row", OP_SOFTMAX, HATCH_TYPE_F32, 4096, 512, 0, 0, 0},
    {"ops", "llm mlp", OP_SILU, HATCH_TYPE_F32, 11008, 512, 0, 0, 0},
    {"ops", "residual", OP_ADD, HATCH_TYPE_F32, 2048, 512, 0, 0, 0},
    {"ops", "llm q m-rope", OP_ROPE, HATCH_TYPE_F32, 128, 16, 512, 0, 0},
    {"ops", "llm decode, 4096 ctx", OP_ATTENTION, HATCH_TYPE_F16, 128, 16, 2, 4096, HATCH_ATTN_CAUSAL},
    {"ops", "vit window attn 1024 tok", OP_ATTENTION, HATCH_TYPE_F32, 80, 16, 16, 1024, HATCH_ATTN_WINDOWED},
    {"ops", "vit full attn 1024 tok", OP_ATTENTION, HATCH_TYPE_F32, 80, 16, 16, 1024, HATCH_ATTN_FULL},
    {"ops", "camera 640x480 -> 448x448", OP_RESIZE, HATCH_TYPE_U8, 640, 480, 448, 448, 0},
    {"ops", "448x448 -> patches", OP_PATCHIFY, HATCH_TYPE_U8, 448, 448, 0, 0, 0},
    /* quick: small shapes for a smoke run (CI) */
    MM("quick", "smoke", Q8_0, 512, 1024, 1), MM("quick", "smoke", F16, 512, 1024, 4),
    MM("quick", "smoke", F32, 256, 512, 64),
    {"quick", "smoke", OP_RMS_NORM, HATCH_TYPE_F32, 1024, 8, 0, 0, 0},
};
#define N_CASES ((int)(sizeof(cases) / sizeof(cases[0])))

typedef struct bench_state {
  hatch_tensor *t[6];
  int n;
  double bytes, flops;
  hatch_attn_params attn;
  hatch_rope_params rope;
  hatch_patchify_params patchify;
} bench_state;

static uint64_t bench_rng = 88172645463325252ull;
static uint32_t next_u32(void) {
  bench_rng ^= bench_rng << 13;
  bench_rng ^= bench_rng >> 7;
  bench_rng ^= bench_rng << 17;
  return (uint32_t)(bench_rng >> 32);
}

/* A tensor of random but valid contents for its type. */
static hatch_status make_tensor(hatch_backend *be, bench_state *s, hatch_type type, int n_dims, int64_t ne0,
                                int64_t ne1, int64_t ne2) {
  int64_t ne[3] = {ne0, ne1, ne2};
  hatch_tensor *t;
  hatch_status st = hatch_tensor_create(be, type, n_dims, ne, &t);
  if (st != HATCH_OK) return st;
  s->t[s->n++] = t;
  size_t bytes = hatch_tensor_nbytes(t);
  uint8_t *data = malloc(bytes);
  if (!data) return HATCH_ERR_OUT_OF_MEMORY;
  int64_t n = hatch_tensor_nelements(t);
  switch (type) {
  case HATCH_TYPE_F32:
    for (int64_t i = 0; i < n; i++) ((float *)data)[i] = (float)(next_u32() % 2001) / 1000.0f - 1.0f;
    break;
  case HATCH_TYPE_F16:
    for (int64_t i = 0; i < n; i++) ((uint16_t *)data)[i] = hatch_fp32_to_fp16((float)(next_u32() % 2001) / 1000.0f - 1.0f);
    break;
  case HATCH_TYPE_Q8_0:
    for (int64_t b = 0; b < n / 32; b++) {
      hatch_block_q8_0 *blk = (hatch_block_q8_0 *)data + b;
      blk->d = hatch_fp32_to_fp16(0.01f);
      for (int i = 0; i < 32; i++) blk->qs[i] = (int8_t)(next_u32() % 255 - 127);
    }
    break;
  default:
    for (size_t i = 0; i < bytes; i++) data[i] = (uint8_t)next_u32();
  }
  st = hatch_tensor_write(t, data, bytes);
  free(data);
  return st;
}

static hatch_status setup(hatch_backend *be, const bench_case *c, bench_state *s) {
  memset(s, 0, sizeof(*s));
  hatch_status st = HATCH_OK;
#define MAKE(...)                                   \
  do {                                              \
    if (st == HATCH_OK) st = make_tensor(be, s, __VA_ARGS__); \
  } while (0)
  switch (c->op) {
  case OP_MATMUL: /* t0 w (m, k), t1 x (n, k), t2 dst (n, m) */
    MAKE(c->type, 2, c->b, c->a, 1);
    MAKE(HATCH_TYPE_F32, 2, c->b, c->c, 1);
    MAKE(HATCH_TYPE_F32, 2, c->a, c->c, 1);
    s->bytes = (double)hatch_type_row_bytes(c->type, c->b) * (double)c->a + 4.0 * (double)(c->b * c->c + c->a * c->c);
    s->flops = 2.0 * (double)c->a * (double)c->b * (double)c->c;
    break;
  case OP_RMS_NORM: case OP_SOFTMAX: case OP_SILU: case OP_ADD:
    MAKE(HATCH_TYPE_F32, 2, c->a, c->b, 1);
    MAKE(HATCH_TYPE_F32, 2, c->a, c->b, 1);
    MAKE(HATCH_TYPE_F32, 1, c->a, 1, 1);
    s->bytes = 4.0 * (double)(c->a * c->b) * (c->op == OP_ADD ? 3.0 : 2.0);
    s->flops = (double)(c->a * c->b) * (c->op == OP_SOFTMAX ? 5.0 : c->op == OP_RMS_NORM ? 4.0 : 1.0);
    break;
  case OP_ROPE: /* t0 x (tok, heads, hd), t1 pos (tok, 3), t2 dst */
    MAKE(HATCH_TYPE_F32, 3, c->a, c->b, c->c);
    MAKE(HATCH_TYPE_I32, 2, c->c, 3, 1);
    MAKE(HATCH_TYPE_F32, 3, c->a, c->b, c->c);
    if (st == HATCH_OK) { /* positions must be sane: 0..tok */
      int32_t *pos = malloc(sizeof(int32_t) * (size_t)(3 * c->c));
      if (!pos) return HATCH_ERR_OUT_OF_MEMORY;
      for (int64_t i = 0; i < 3 * c->c; i++) pos[i] = (int32_t)(i % c->c);
      st = hatch_tensor_write(s->t[1], pos, sizeof(int32_t) * (size_t)(3 * c->c));
      free(pos);
    }
    s->rope = (hatch_rope_params){HATCH_ROPE_MROPE, (int)c->a, 1e6f, {16, 24, 24, 0}};
    s->bytes = 8.0 * (double)(c->a * c->b * c->c);
    s->flops = 3.0 * (double)(c->a * c->b * c->c);
    break;
  case OP_ATTENTION: { /* t0 q, t1 k, t2 v, t3 dst, t4 windows */
    int64_t n_q = c->mode == HATCH_ATTN_CAUSAL ? 1 : c->d;
    MAKE(HATCH_TYPE_F32, 3, c->a, c->b, n_q);
    MAKE(c->type, 3, c->a, c->c, c->d);
    MAKE(c->type, 3, c->a, c->c, c->d);
    MAKE(HATCH_TYPE_F32, 3, c->a, c->b, n_q);
    int64_t keys_per_query = c->d;
    s->attn = (hatch_attn_params){.mode = (hatch_attn_mode)c->mode, .scale = 1.0f / sqrtf((float)c->a)};
    if (c->mode == HATCH_ATTN_CAUSAL) s->attn.kv_offset = c->d - 1;
    if (c->mode == HATCH_ATTN_WINDOWED && st == HATCH_OK) { /* 64-token windows (8x8 patches = 112 px) */
      int64_t n_win = (c->d + 63) / 64;
      MAKE(HATCH_TYPE_I32, 1, n_win + 1, 1, 1);
      if (st == HATCH_OK) {
        int32_t *cu = malloc(sizeof(int32_t) * (size_t)(n_win + 1));
        if (!cu) return HATCH_ERR_OUT_OF_MEMORY;
        for (int64_t i = 0; i <= n_win; i++) cu[i] = (int32_t)(i * 64 < c->d ? i * 64 : c->d);
        st = hatch_tensor_write(s->t[4], cu, sizeof(int32_t) * (size_t)(n_win + 1));
        free(cu);
        s->attn.windows = s->t[4];
      }
      keys_per_query = 64;
    }
    double kv_bytes = 2.0 * (double)hatch_type_row_bytes(c->type, c->a) * (double)(c->c * c->d);
    s->bytes = kv_bytes + 8.0 * (double)(c->a * c->b * n_q);
    s->flops = 4.0 * (double)(n_q * keys_per_query * c->a * c->b);
    break;
  }
  case OP_RESIZE:
    MAKE(HATCH_TYPE_U8, 3, 3, c->a, c->b);
    MAKE(HATCH_TYPE_U8, 3, 3, c->c, c->d);
    s->bytes = 3.0 * (double)(c->a * c->b + c->c * c->d);
    s->flops = 0.0;
    break;
  case OP_PATCHIFY:
    hatch_patchify_params_qwen2vl(&s->patchify);
    MAKE(HATCH_TYPE_U8, 3, 3, c->a, c->b);
    MAKE(HATCH_TYPE_F32, 2, 3 * 2 * 14 * 14, (c->a / 14) * (c->b / 14), 1);
    s->bytes = 3.0 * (double)(c->a * c->b) * (1.0 + 2.0 * 4.0);
    s->flops = 0.0;
    break;
  }
#undef MAKE
  return st;
}

static hatch_status run_once(hatch_backend *be, const bench_case *c, bench_state *s) {
  hatch_tensor **t = s->t;
  switch (c->op) {
  case OP_MATMUL: return hatch_matmul(be, t[2], t[0], t[1]);
  case OP_RMS_NORM: return hatch_rms_norm(be, t[1], t[0], t[2], 1e-6f);
  case OP_SOFTMAX: return hatch_softmax(be, t[1], t[0], 0.08f);
  case OP_SILU: return hatch_unary(be, t[1], t[0], HATCH_UNARY_SILU);
  case OP_ADD: return hatch_binary(be, t[1], t[0], t[1], HATCH_BINARY_ADD);
  case OP_ROPE: return hatch_rope(be, t[2], t[0], t[1], &s->rope);
  case OP_ATTENTION: return hatch_attention(be, t[3], t[0], t[1], t[2], &s->attn);
  case OP_RESIZE: return hatch_image_resize(be, t[1], t[0]);
  case OP_PATCHIFY: return hatch_image_patchify(be, t[1], t[0], &s->patchify);
  }
  return HATCH_ERR_INVALID_ARGUMENT;
}

/* Seconds per op: `reps` ops recorded back to back then synced; GPU timestamps where present. */
static hatch_status time_reps(hatch_backend *be, const bench_case *c, bench_state *s, int reps, double *ns_per_op) {
  double t0 = hatch_bench_now_ns();
  hatch_status st = HATCH_OK;
  for (int r = 0; r < reps && st == HATCH_OK; r++) st = run_once(be, c, s);
  if (st == HATCH_OK) st = hatch_backend_sync(be);
  double wall = hatch_bench_now_ns() - t0;
  double gpu = hatch_backend_last_batch_ns(be);
  *ns_per_op = (hatch_backend_get_kind(be) == HATCH_BACKEND_VULKAN && gpu > 0 ? gpu : wall) / reps;
  return st;
}

static void shape_text(const bench_case *c, char *out, size_t len) {
  switch (c->op) {
  case OP_MATMUL: snprintf(out, len, "m=%lld k=%lld n=%lld", (long long)c->a, (long long)c->b, (long long)c->c); break;
  case OP_ROPE: snprintf(out, len, "hd=%lld heads=%lld tok=%lld", (long long)c->a, (long long)c->b, (long long)c->c); break;
  case OP_ATTENTION:
    snprintf(out, len, "d=%lld h=%lld kvh=%lld kv=%lld %s", (long long)c->a, (long long)c->b, (long long)c->c,
             (long long)c->d, c->mode == HATCH_ATTN_CAUSAL ? "decode" : c->mode == HATCH_ATTN_WINDOWED ? "window" : "full");
    break;
  case OP_RESIZE: snprintf(out, len, "%lldx%lld->%lldx%lld", (long long)c->a, (long long)c->b, (long long)c->c, (long long)c->d); break;
  case OP_PATCHIFY: snprintf(out, len, "%lldx%lld", (long long)c->a, (long long)c->b); break;
  default: snprintf(out, len, "n=%lld rows=%lld", (long long)c->a, (long long)c->b);
  }
}

static bool in_set(const bench_case *c, const char *set) {
  if (!strcmp(set, "all")) return strcmp(c->set, "quick") != 0;
  return !strcmp(set, c->set);
}

static void usage(void) {
  printf("usage: hatch bench ops [--backend vulkan|cpu] [--set all|llama|qwen3b|ops|quick] [--op NAME]\n"
         "                       [--json FILE] [--min-ms MS]\n"
         "  Times each op and shape; GB/s and GFLOP/s are divided by the copy bandwidth and FMA peak\n"
         "  measured on the same backend in the same run. Vulkan times come from GPU timestamps.\n");
}

int hatch_cmd_bench(int argc, char **argv) {
  if (argc < 2 || strcmp(argv[1], "ops") != 0) {
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
      usage();
      return 0;
    }
    usage();
    return 2;
  }
  const char *backend = "vulkan", *set = "all", *only = NULL, *json_path = NULL;
  double min_ms = 300.0;
  for (int i = 2; i < argc; i++) {
    bool has = i + 1 < argc;
    if (!strcmp(argv[i], "--backend") && has) backend = argv[++i];
    else if (!strcmp(argv[i], "--set") && has) set = argv[++i];
    else if (!strcmp(argv[i], "--op") && has) only = argv[++i];
    else if (!strcmp(argv[i], "--json") && has) json_path = argv[++i];
    else if (!strcmp(argv[i], "--min-ms") && has) min_ms = atof(argv[++i]);
    else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) { usage(); return 0; }
    else { fprintf(stderr, "hatch bench ops: unknown or incomplete option '%s'\n", argv[i]); usage(); return 2; }
  }
  hatch_backend *be = NULL;
  hatch_status st;
  if (!strcmp(backend, "cpu")) {
    st = hatch_backend_create_cpu(NULL, &be);
  } else if (!strcmp(backend, "vulkan")) {
    char why[512] = "";
    st = hatch_backend_create_vulkan_or_cpu(&be, why, sizeof(why)); /* lavapipe too: it is what CI has */
    if (why[0]) fprintf(stderr, "hatch bench: %s\n", why);
  } else {
    fprintf(stderr, "hatch bench ops: unknown backend '%s' (vulkan or cpu)\n", backend);
    return 2;
  }
  if (st != HATCH_OK) {
    fprintf(stderr, "hatch bench ops: no backend: %s\n", hatch_status_message(st));
    return 1;
  }
  hatch_bench_ceilings ceil;
  st = hatch_bench_measure_ceilings(be, &ceil);
  if (st != HATCH_OK) {
    fprintf(stderr, "hatch bench ops: measuring ceilings failed: %s\n", hatch_status_message(st));
    hatch_backend_destroy(be);
    return 1;
  }
  printf("backend: %s\n", hatch_backend_name(be));
  printf("ceilings: copy %.1f GB/s (%s), fp32 FMA peak %.1f GFLOP/s\n", ceil.copy_gbps, ceil.copy_method,
         ceil.peak_gflops);
  printf("%-9s %-5s %-30s %-34s %11s %9s %6s %9s %6s\n", "op", "type", "shape", "what", "us", "GB/s", "%bw",
         "GFLOP/s", "%peak");
  FILE *json = NULL;
  if (json_path) {
    json = fopen(json_path, "w");
    if (!json) {
      fprintf(stderr, "hatch bench ops: cannot write %s\n", json_path);
      hatch_backend_destroy(be);
      return 1;
    }
    fprintf(json, "{\"backend\":\"%s\",\"copy_gbps\":%.3f,\"copy_method\":\"%s\",\"peak_gflops\":%.3f,\"results\":[",
            hatch_backend_name(be), ceil.copy_gbps, ceil.copy_method, ceil.peak_gflops);
  }
  int failures = 0, emitted = 0;
  for (int i = 0; i < N_CASES; i++) {
    const bench_case *c = &cases[i];
    if (!in_set(c, set) || (only && strcmp(only, op_names[c->op]) != 0)) continue;
    char shape[96];
    shape_text(c, shape, sizeof(shape));
    bench_state s;
    double ns = 0;
    st = setup(be, c, &s);
    if (st == HATCH_OK) st = time_reps(be, c, &s, 1, &ns); /* warm-up: pipelines, caches, page faults */
    if (st == HATCH_OK) {
      int reps = ns > 0 ? (int)(min_ms * 1e6 / ns) : 1;
      reps = reps < 1 ? 1 : reps > 200 ? 200 : reps;
      st = time_reps(be, c, &s, reps, &ns);
    }
    for (int k = 0; k < s.n; k++) hatch_tensor_destroy(s.t[k]);
    if (st != HATCH_OK) {
      printf("%-9s %-5s %-30s %-34s %s\n", op_names[c->op], hatch_type_name(c->type), shape, c->what,
             hatch_status_name(st));
      failures++;
      continue;
    }
    double gbps = s.bytes / ns, gflops = s.flops / ns;
    printf("%-9s %-5s %-30s %-34s %11.1f %9.2f %5.1f%% %9.2f %5.1f%%\n", op_names[c->op], hatch_type_name(c->type),
           shape, c->what, ns / 1e3, gbps, 100.0 * gbps / ceil.copy_gbps, gflops, 100.0 * gflops / ceil.peak_gflops);
    fflush(stdout);
    if (json)
      fprintf(json,
              "%s\n{\"op\":\"%s\",\"type\":\"%s\",\"shape\":\"%s\",\"what\":\"%s\",\"us\":%.3f,\"gbps\":%.3f,"
              "\"bw_ratio\":%.4f,\"gflops\":%.3f,\"peak_ratio\":%.4f}",
              emitted ? "," : "", op_names[c->op], hatch_type_name(c->type), shape, c->what, ns / 1e3, gbps,
              gbps / ceil.copy_gbps, gflops, gflops / ceil.peak_gflops);
    emitted++;
  }
  if (json) {
    fprintf(json, "\n]}\n");
    fclose(json);
  }
  hatch_backend_destroy(be);
  return failures ? 1 : 0;
}
