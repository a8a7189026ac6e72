/* `hatch bench model`: vision ms per image at given sizes, prefill and decode tokens/s, memory, and
 * decode as a fraction of the copy-bandwidth ceiling measured in the same run. Without --model the
 * weights are random with the real dims of --config (3b or tiny), written to a temporary GGUF with
 * Q8_0 matrices and loaded like any model file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "cli/bench.h"
#include "cli/cli.h"
#include "hatch/model.h"
#include "hatch/model_write.h"

static hatch_qwen25vl_config tiny(void) {
  hatch_qwen25vl_config c;
  hatch_qwen25vl_config_defaults(&c);
  c.text.vocab_size = 1024, c.text.hidden_size = 256, c.text.intermediate_size = 704, c.text.num_hidden_layers = 4;
  c.text.num_attention_heads = 8, c.text.num_key_value_heads = 2, c.text.rms_norm_eps = 1e-6;
  c.text.mrope_section[0] = 4, c.text.mrope_section[1] = 6, c.text.mrope_section[2] = 6;
  c.text.max_position_embeddings = 4096, c.text.tie_word_embeddings = true;
  c.vision.depth = 4, c.vision.hidden_size = 128, c.vision.intermediate_size = 352, c.vision.num_heads = 4;
  c.vision.out_hidden_size = 256, c.vision.n_fullatt = 1, c.vision.fullatt_block_indexes[0] = 3;
  c.image_token_id = 1000, c.vision_start_token_id = 1001, c.vision_end_token_id = 1002, c.video_token_id = 1003;
  return c;
}

static double peak_rss_mb(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss / 1024.0;
}

int hatch_cmd_bench_model(int argc, char **argv) {
  const char *model = NULL, *mmproj = NULL, *config = "3b", *backend = "auto", *json_path = NULL;
  int prompt = 256, gen = 16;
  int sizes[8][2] = {{448, 448}}, n_sizes = 1;
  bool default_size = true; /* the first --image replaces the default 448x448 */
  bool kv_f32 = false, no_graphs = false;
  for (int i = 1; i < argc; i++) {
    bool has = i + 1 < argc;
    if (!strcmp(argv[i], "--model") && has) model = argv[++i];
    else if (!strcmp(argv[i], "--mmproj") && has) mmproj = argv[++i];
    else if (!strcmp(argv[i], "--config") && has) config = argv[++i];
    else if (!strcmp(argv[i], "--backend") && has) backend = argv[++i];
    else if (!strcmp(argv[i], "--prompt-tokens") && has) prompt = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--decode-tokens") && has) gen = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--json") && has) json_path = argv[++i];
    else if (!strcmp(argv[i], "--kv") && has && (!strcmp(argv[i + 1], "f16") || !strcmp(argv[i + 1], "f32")))
      kv_f32 = !strcmp(argv[++i], "f32");
    else if (!strcmp(argv[i], "--no-graph")) no_graphs = true;
    else if (!strcmp(argv[i], "--image") && has) {
      int w, h;
      if (default_size) n_sizes = 0, default_size = false;
      if (sscanf(argv[++i], "%dx%d", &w, &h) != 2 || w <= 0 || h <= 0 || n_sizes == 8)
        return fprintf(stderr, "hatch bench model: --image WxH, at most 8\n"), 2;
      sizes[n_sizes][0] = w, sizes[n_sizes][1] = h, n_sizes++;
    } else {
      printf("usage: hatch bench model [--config 3b|tiny | --model FILE.gguf [--mmproj FILE]] [--backend auto|cpu|vulkan]\n"
             "                        [--image WxH ...] [--prompt-tokens N (256)] [--decode-tokens N (16)] [--json FILE]\n"
             "                        [--kv f16|f32 (f16)] [--no-graph (run the forward op by op, not recorded)]\n");
      return strcmp(argv[i], "--help") ? 2 : 0;
    }
  }
  if (prompt < 1 || gen < 1) return fprintf(stderr, "hatch bench model: token counts must be positive\n"), 2;
  hatch_backend *be = NULL;
  hatch_status st;
  char why[512] = "";
  if (!strcmp(backend, "cpu")) st = hatch_backend_create_cpu(NULL, &be);
  else if (!strcmp(backend, "vulkan")) st = hatch_backend_create_vulkan_or_cpu(&be, why, sizeof why);
  else st = hatch_backend_create_default(&be, why, sizeof why);
  if (why[0]) fprintf(stderr, "hatch bench model: %s\n", why);
  if (st != HATCH_OK) return fprintf(stderr, "hatch bench model: no backend: %s\n", hatch_status_message(st)), 1;
  char tmp[64] = "";
  if (!model) {
    hatch_qwen25vl_config cfg = !strcmp(config, "tiny") ? tiny() : hatch_qwen25vl_config_3b();
    snprintf(tmp, sizeof tmp, "/tmp/hatch-bench-XXXXXX");
    int fd = mkstemp(tmp);
    if (fd < 0) return fprintf(stderr, "hatch bench model: cannot create a temporary file\n"), 1;
    close(fd);
    uint64_t seed = 1;
    hatch_qwen25vl_write_options wo = {.name = config, .matrix_type = HATCH_TYPE_Q8_0};
    hatch_gguf_report gr;
    memset(&gr, 0, sizeof gr);
    fprintf(stderr, "hatch bench model: writing random %s weights (Q8_0) to %s ...\n", config, tmp);
    double t0 = hatch_bench_now_ns();
    st = hatch_qwen25vl_write_gguf(tmp, &cfg, &wo, hatch_qwen25vl_random_rows, &seed, &gr);
    if (st != HATCH_OK) {
      unlink(tmp);
      return fprintf(stderr, "hatch bench model: %s\n", gr.message), 1;
    }
    fprintf(stderr, "  written in %.1f s\n", (hatch_bench_now_ns() - t0) / 1e9);
    model = tmp;
  }
  hatch_model *m = NULL;
  hatch_model_report rep = {""};
  hatch_model_options mo = {.max_context = prompt + gen + 8, .kv_f32 = kv_f32, .no_graphs = no_graphs};
  double t_load = hatch_bench_now_ns();
  st = hatch_model_load(be, model, mmproj, &mo, &m, &rep);
  t_load = (hatch_bench_now_ns() - t_load) / 1e6;
  if (tmp[0]) unlink(tmp); /* the mapping stays valid until the model is destroyed */
  if (st != HATCH_OK) {
    fprintf(stderr, "hatch bench model: %s\n", rep.message);
    hatch_backend_destroy(be);
    return 1;
  }
  const hatch_qwen25vl_config *cfg = hatch_model_config(m);
  printf("model: %s (%s), backend %s; load %.0f ms\n", model == tmp ? "random weights" : model, config,
         hatch_backend_name(be), t_load);
  double vision_ms[8] = {0};
  int vision_tokens[8] = {0};
  for (int s = 0; s < n_sizes && st == HATCH_OK; s++) {
    int w = sizes[s][0], h = sizes[s][1];
    uint8_t *img = malloc((size_t)w * h * 3);
    if (!img) break;
    for (size_t i = 0; i < (size_t)w * h * 3; i++) img[i] = (uint8_t)(i * 2654435761u >> 24);
    hatch_tensor *emb = NULL;
    st = hatch_model_encode_image(m, img, w, h, &emb); /* warm-up: pipelines, caches */
    hatch_tensor_destroy(emb);
    double t0 = hatch_bench_now_ns();
    if (st == HATCH_OK) st = hatch_model_encode_image(m, img, w, h, &emb);
    vision_ms[s] = (hatch_bench_now_ns() - t0) / 1e6;
    vision_tokens[s] = (w / 28) * (h / 28);
    hatch_tensor_destroy(emb);
    free(img);
    if (st == HATCH_OK) printf("vision %dx%d: %.1f ms (%d merged tokens)\n", w, h, vision_ms[s], vision_tokens[s]);
  }
  int32_t *ids = malloc(sizeof(int32_t) * (size_t)prompt), *pos = malloc(sizeof(int32_t) * 3 * (size_t)prompt);
  float *logits = malloc(sizeof(float) * (size_t)cfg->text.vocab_size);
  double prefill_tps = 0, decode_tps = 0, first_ms = 0;
  uint64_t decode_allocs = 0;
  if (st == HATCH_OK && ids && pos && logits) {
    for (int i = 0; i < prompt; i++) {
      ids[i] = (int32_t)((i * 7919) % 1000);
      pos[i] = pos[prompt + i] = pos[2 * prompt + i] = i;
    }
    /* Warm-up: the first prefill and decode create pipelines and record the forward's graphs;
     * the timed runs below are the steady state a robot sees from its second query on. */
    hatch_model_reset(m);
    double t0 = hatch_bench_now_ns();
    st = hatch_model_forward(m, ids, prompt, pos, NULL, 0, logits, 1);
    int32_t warm = 1, pw[3] = {prompt, prompt, prompt};
    if (st == HATCH_OK) st = hatch_model_forward(m, &warm, 1, pw, NULL, 0, logits, 1);
    first_ms = (hatch_bench_now_ns() - t0) / 1e6;
    hatch_model_reset(m);
    t0 = hatch_bench_now_ns();
    if (st == HATCH_OK) st = hatch_model_forward(m, ids, prompt, pos, NULL, 0, logits, 1);
    prefill_tps = prompt / ((hatch_bench_now_ns() - t0) / 1e9);
    uint64_t a0 = hatch_backend_allocation_count(be);
    t0 = hatch_bench_now_ns();
    for (int g = 0; g < gen && st == HATCH_OK; g++) {
      int32_t id = (int32_t)(g % 1000), p3[3] = {prompt + g, prompt + g, prompt + g};
      st = hatch_model_forward(m, &id, 1, p3, NULL, 0, logits, 1);
    }
    decode_tps = gen / ((hatch_bench_now_ns() - t0) / 1e9);
    decode_allocs = hatch_backend_allocation_count(be) - a0;
  }
  if (st != HATCH_OK) fprintf(stderr, "hatch bench model: %s\n", hatch_status_message(st));
  /* Peak RSS before the ceiling measurement, which allocates large buffers of its own. */
  double rss = peak_rss_mb();
  hatch_bench_ceilings ceil;
  hatch_bench_measure_ceilings(be, &ceil);
  printf("ceilings (same run): copy %.1f GB/s (%s), FMA %.0f GFLOP/s\n", ceil.copy_gbps, ceil.copy_method, ceil.peak_gflops);
  double gbps = decode_tps * (double)hatch_model_decode_bytes(m) / 1e9;
  printf("first prefill + decode (pipelines, recording): %.1f ms; forward %s, KV cache %s\n", first_ms,
         no_graphs || !hatch_backend_supports_graphs(be) ? "op by op" : "recorded once per shape",
         hatch_type_name(hatch_model_kv_type(m)));
  printf("prefill: %d tokens, %.1f tokens/s\n", prompt, prefill_tps);
  printf("decode allocations: %llu over %d tokens\n", (unsigned long long)decode_allocs, gen);
  printf("decode: %d tokens, %.2f tokens/s = %.1f GB/s of weights = %.1f%% of the copy ceiling\n", gen, decode_tps, gbps,
         ceil.copy_gbps > 0 ? 100.0 * gbps / ceil.copy_gbps : 0.0);
  printf("memory: weights + KV cache on the backend %.1f MB; peak host RSS %.1f MB\n",
         hatch_model_device_bytes(m) / 1e6, rss);
  if (json_path) {
    FILE *f = fopen(json_path, "w");
    if (f) {
      fprintf(f, "{\"model\":\"%s\",\"config\":\"%s\",\"backend\":\"%s\",\"copy_gbps\":%.3f,\"vision\":[", model == tmp ? "random" : model,
              config, hatch_backend_name(be), ceil.copy_gbps);
      for (int s = 0; s < n_sizes; s++)
        fprintf(f, "%s{\"width\":%d,\"height\":%d,\"ms\":%.3f,\"tokens\":%d}", s ? "," : "", sizes[s][0], sizes[s][1],
                vision_ms[s], vision_tokens[s]);
      fprintf(f, "],\"prefill_tokens\":%d,\"prefill_tps\":%.3f,\"decode_tokens\":%d,\"decode_tps\":%.4f,\"decode_gbps\":%.3f,"
                 "\"decode_fraction_of_copy\":%.4f,\"device_mb\":%.1f,\"peak_rss_mb\":%.1f}\n",
              prompt, prefill_tps, gen, decode_tps, gbps, ceil.copy_gbps > 0 ? gbps / ceil.copy_gbps : 0.0,
              hatch_model_device_bytes(m) / 1e6, rss);
      fclose(f);
    }
  }
  free(ids), free(pos), free(logits);
  hatch_model_destroy(m);
  hatch_backend_destroy(be);
  return st == HATCH_OK ? 0 : 1;
}
