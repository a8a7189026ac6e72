/* The recorded forward (runtime/model/qwen25vl_text.c on hatch graphs) and the F16 KV cache, on
 * random weights: Vulkan decode through the recorded graph equals the op-by-op Vulkan path and the
 * CPU reference token by token; after the first decoded token nothing is allocated
 * (hatch_backend_allocation_count); a prefill shape is recorded once and re-run with the same
 * result; padding a prompt to its bucket changes nothing; F16 and F32 caches agree to fp16
 * precision. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "hatch/model.h"
#include "hatch/model_write.h"

#define N_DECODE 12
#define VOCAB 300

static hatch_qwen25vl_config tiny_config(void) {
  hatch_qwen25vl_config c;
  hatch_qwen25vl_config_defaults(&c);
  c.text.vocab_size = VOCAB, c.text.hidden_size = 96, c.text.intermediate_size = 160, c.text.num_hidden_layers = 3;
  c.text.num_attention_heads = 6, c.text.num_key_value_heads = 2, c.text.rms_norm_eps = 1e-6;
  c.text.mrope_section[0] = 2, c.text.mrope_section[1] = 3, c.text.mrope_section[2] = 3;
  c.text.max_position_embeddings = 2048, c.text.tie_word_embeddings = true;
  c.vision.depth = 2, c.vision.hidden_size = 64, c.vision.intermediate_size = 96, c.vision.num_heads = 4;
  c.vision.out_hidden_size = 96, c.vision.window_size = 56, c.vision.n_fullatt = 1;
  c.vision.fullatt_block_indexes[0] = 1;
  c.image_token_id = 290, c.vision_start_token_id = 291, c.vision_end_token_id = 292, c.video_token_id = 293;
  return c;
}

static char g_dir[128];
static char g_path[256];

static const char *model_path(hatch_test_ctx *c) {
  if (g_path[0]) return g_path;
  snprintf(g_path, sizeof g_path, "%s/tiny.gguf", g_dir);
  hatch_qwen25vl_config cfg = tiny_config();
  uint64_t seed = 11;
  hatch_qwen25vl_write_options opt = {.name = "tiny", .matrix_type = HATCH_TYPE_F32};
  hatch_gguf_report rep;
  memset(&rep, 0, sizeof rep);
  hatch_status st = hatch_qwen25vl_write_gguf(g_path, &cfg, &opt, hatch_qwen25vl_random_rows, &seed, &rep);
  HATCH_EXPECT(c, st == HATCH_OK, "write: %s %s", hatch_status_name(st), rep.message);
  return g_path;
}

static hatch_model *load(hatch_test_ctx *c, hatch_backend *be, bool kv_f32, bool no_graphs) {
  hatch_model *m = NULL;
  hatch_model_report rep = {{0}};
  hatch_model_options opt = {.max_context = 60, .kv_f32 = kv_f32, .no_graphs = no_graphs};
  hatch_status st = hatch_model_load(be, model_path(c), NULL, &opt, &m, &rep);
  HATCH_EXPECT(c, st == HATCH_OK, "load: %s %s", hatch_status_name(st), rep.message);
  return m;
}

/* Prefill of n text tokens, then N_DECODE greedy tokens. logits: (1 + N_DECODE, VOCAB): the
 * prompt's last row, then each decode step's. allocs[g]: the allocation count after step g. */
static hatch_status generate(hatch_model *m, int n, float *logits, int32_t *tokens, uint64_t *allocs) {
  int32_t ids[64], pos[3 * 64];
  for (int i = 0; i < n; i++) ids[i] = (int32_t)((7 + 31 * i) % 280);
  for (int comp = 0; comp < 3; comp++)
    for (int i = 0; i < n; i++) pos[comp * n + i] = i;
  hatch_model_reset(m);
  hatch_status st = hatch_model_forward(m, ids, n, pos, NULL, 0, logits, 1);
  for (int g = 0; g < N_DECODE && st == HATCH_OK; g++) {
    const float *last = logits + (size_t)g * VOCAB;
    int32_t best = 0;
    for (int v = 1; v < VOCAB; v++)
      if (last[v] > last[best]) best = v;
    tokens[g] = best;
    int32_t p3[3] = {n + g, n + g, n + g};
    st = hatch_model_forward(m, &best, 1, p3, NULL, 0, logits + (size_t)(g + 1) * VOCAB, 1);
    if (allocs) allocs[g] = hatch_backend_allocation_count(hatch_model_backend(m));
  }
  return st;
}

static double max_step_nmse(const float *a, const float *b) {
  double worst = 0;
  for (int g = 0; g <= N_DECODE; g++) {
    double e = hatch_test_nmse(a + (size_t)g * VOCAB, b + (size_t)g * VOCAB, VOCAB);
    if (e > worst) worst = e;
  }
  return worst;
}

static void test_decode_graph(hatch_test_ctx *c) {
  hatch_model *cpu = load(c, c->cpu, false, false), *vg = load(c, c->vk, false, false), *vo = load(c, c->vk, false, true);
  size_t rows = (size_t)(1 + N_DECODE) * VOCAB;
  float *lc = calloc(rows, sizeof(float)), *lg = calloc(rows, sizeof(float)), *lo = calloc(rows, sizeof(float));
  int32_t tc[N_DECODE], tg[N_DECODE], to[N_DECODE];
  uint64_t allocs[N_DECODE], allocs_ops[N_DECODE];
  if (!cpu || !vg || !vo || !lc || !lg || !lo) goto out;
  HATCH_EXPECT(c, hatch_model_kv_type(vg) == HATCH_TYPE_F16, "default KV type is not F16");
  HATCH_EXPECT_OK(c, generate(cpu, 20, lc, tc, NULL));
  HATCH_EXPECT_OK(c, generate(vo, 20, lo, to, allocs_ops));
  HATCH_EXPECT_OK(c, generate(vg, 20, lg, tg, allocs));
  double e_cpu = max_step_nmse(lg, lc), e_ops = max_step_nmse(lg, lo);
  /* F32 weights: the backends differ only in summation order (measured ~1e-10); the fp16 cache
   * rounds both sides' K/V the same way except where a value sits on a rounding boundary. */
  HATCH_EXPECT(c, e_cpu < 1e-7, "graph vs cpu: worst step nmse %.3g", e_cpu);
  HATCH_EXPECT(c, e_ops < 1e-9, "graph vs op-by-op vulkan: worst step nmse %.3g", e_ops);
  HATCH_EXPECT(c, !memcmp(tg, tc, sizeof tg) && !memcmp(tg, to, sizeof tg), "greedy tokens differ");
  /* Step 0 records the decode graph; every later token allocates nothing. */
  for (int g = 2; g < N_DECODE; g++)
    HATCH_EXPECT(c, allocs[g] == allocs[1], "allocations grew at decode step %d: %llu -> %llu", g,
                 (unsigned long long)allocs[1], (unsigned long long)allocs[g]);
  /* The counter sees what op-by-op recording allocates (a descriptor set per dispatch). */
  HATCH_EXPECT(c, allocs_ops[N_DECODE - 1] > allocs_ops[1], "op-by-op decode allocated nothing: counter broken?");
  printf("  decode: graph vs cpu nmse %.2e, vs op-by-op %.2e, allocations after step 1: %llu (constant)\n", e_cpu,
         e_ops, (unsigned long long)allocs[1]);

  /* The same prompt again: the prefill shape is re-run, not re-recorded, and gives the same logits. */
  uint64_t before = hatch_backend_allocation_count(c->vk);
  HATCH_EXPECT_OK(c, generate(vg, 20, lo, to, NULL));
  uint64_t after = hatch_backend_allocation_count(c->vk);
  HATCH_EXPECT(c, after == before, "a repeated query allocated %llu times", (unsigned long long)(after - before));
  HATCH_EXPECT(c, max_step_nmse(lo, lg) == 0.0, "a re-run graph gives other logits");
  /* Another length in the same bucket (16 < n <= 32) shares the recording; the CPU needs no padding. */
  HATCH_EXPECT_OK(c, generate(vg, 27, lg, tg, NULL));
  HATCH_EXPECT_OK(c, generate(cpu, 27, lc, tc, NULL));
  e_cpu = max_step_nmse(lg, lc);
  HATCH_EXPECT(c, e_cpu < 1e-7, "27-token prompt (bucket 32): graph vs cpu nmse %.3g", e_cpu);
  HATCH_EXPECT(c, hatch_backend_allocation_count(c->vk) == after, "same bucket: recorded again");
  /* Near the end of the cache the padded bucket does not fit: run op by op, still right. */
  HATCH_EXPECT_OK(c, generate(vg, 40, lg, tg, NULL));
  HATCH_EXPECT_OK(c, generate(cpu, 40, lc, tc, NULL));
  e_cpu = max_step_nmse(lg, lc);
  HATCH_EXPECT(c, e_cpu < 1e-7, "40-token prompt (bucket 64 > cache of 60): graph vs cpu nmse %.3g", e_cpu);
  /* The GPU-shaped kernels (workgroup attention, tiled matmul) in a graph, on the same device. */
  if (c->vk_gpu) {
    hatch_model *gk = load(c, c->vk_gpu, false, false);
    if (gk) {
      HATCH_EXPECT_OK(c, generate(gk, 40, lo, to, NULL));
      e_cpu = max_step_nmse(lo, lc);
      HATCH_EXPECT(c, e_cpu < 1e-7, "gpu kernels: graph vs cpu nmse %.3g", e_cpu);
      HATCH_EXPECT_OK(c, generate(gk, 20, lo, to, NULL));
    }
    hatch_model_destroy(gk);
  }
out:
  free(lc), free(lg), free(lo);
  hatch_model_destroy(cpu);
  hatch_model_destroy(vg);
  hatch_model_destroy(vo);
}

/* F16 against F32 caches on the CPU reference: fp16 keeps 11 significant bits, so K and V carry a
 * relative error up to 2^-11 ~ 4.9e-4 each; through softmax and 3 layers the logits' nmse stays
 * far under 1e-4 (measured below), and F32 caches agree across backends as before. */
static void test_kv_types(hatch_test_ctx *c) {
  hatch_model *h16 = load(c, c->cpu, false, false), *h32 = load(c, c->cpu, true, false), *v32 = load(c, c->vk, true, false);
  size_t rows = (size_t)(1 + N_DECODE) * VOCAB;
  float *a = calloc(rows, sizeof(float)), *b = calloc(rows, sizeof(float)), *v = calloc(rows, sizeof(float));
  int32_t ta[N_DECODE], tb[N_DECODE], tv[N_DECODE];
  if (!h16 || !h32 || !v32 || !a || !b || !v) goto out;
  HATCH_EXPECT(c, hatch_model_kv_type(h32) == HATCH_TYPE_F32, "kv_f32 ignored");
  HATCH_EXPECT(c, hatch_model_device_bytes(h32) > hatch_model_device_bytes(h16), "F16 cache is not smaller");
  HATCH_EXPECT_OK(c, generate(h16, 20, a, ta, NULL));
  HATCH_EXPECT_OK(c, generate(h32, 20, b, tb, NULL));
  HATCH_EXPECT_OK(c, generate(v32, 20, v, tv, NULL));
  double e16 = max_step_nmse(a, b), e32 = max_step_nmse(v, b);
  HATCH_EXPECT(c, e16 > 0.0 && e16 < 1e-4, "F16 vs F32 cache: nmse %.3g", e16);
  HATCH_EXPECT(c, e32 < 1e-9, "F32 cache: vulkan graph vs cpu nmse %.3g", e32);
  printf("  F16 vs F32 cache: nmse %.2e; F32 vulkan vs cpu %.2e\n", e16, e32);
out:
  free(a), free(b), free(v);
  hatch_model_destroy(h16);
  hatch_model_destroy(h32);
  hatch_model_destroy(v32);
}

int main(int argc, char **argv) {
  snprintf(g_dir, sizeof g_dir, "/tmp/hatch-graph-XXXXXX");
  if (!mkdtemp(g_dir)) return 1;
  static const hatch_test_case cases[] = {
      {"decode_graph", test_decode_graph, true},
      {"kv_types", test_kv_types, true},
  };
  int rc = hatch_test_main(argc, argv, cases, (int)(sizeof cases / sizeof *cases));
  char cmd[200];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", g_dir);
  return rc;
}
