/* hatch-train bench: training throughput (forward + backward of the SFT step on synthetic samples):
 * tokens/s and model FLOP/s, against the device's peak measured in the same run: the CPU's fp32 FMA
 * ceiling (what `hatch bench ops` measures) or, on CUDA, the backend's own GEMM at its precision
 * (model FLOP utilization). --preset 3b: Qwen2.5-VL-3B's shapes with random weights (the vision
 * tower and the LLM; the small tokenizer's special ids stand in for the 3B ones). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/bench.h"
#include "commands.h"
#include "hatch/train_model.h"

#include "hatch/sim_dataset.h"
#include "hatch/tokenizer.h"
#include "hatch/train_prompt.h"
#include "hatch/trainer.h"

int hatch_train_cmd_bench(int argc, char **argv) {
  const char *tok_path = NULL, *preset = "small", *json = NULL;
  int batch = 8, steps = 3, threads = 0, image = 112;
  hatch_train_device dev = {.kind = HATCH_TRAIN_DEVICE_CPU};
  for (int i = 1; i < argc; i++) {
    bool has = i + 1 < argc;
    if (!strcmp(argv[i], "--tokenizer") && has) tok_path = argv[++i];
    else if (!strcmp(argv[i], "--preset") && has) preset = argv[++i];
    else if (!strcmp(argv[i], "--batch") && has) batch = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--steps") && has) steps = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--threads") && has) threads = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--image-size") && has) image = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--json") && has) json = argv[++i];
    else if (!strcmp(argv[i], "--device") && has) {
      if (!hatch_train_parse_device(argv[++i], &dev))
        return fprintf(stderr, "hatch-train bench: --device: '%s' is not cpu, cuda or cuda:N\n", argv[i]), 2;
    } else if (!strcmp(argv[i], "--bf16")) dev.bf16 = true;
    else return fprintf(stderr, "usage: hatch-train bench --tokenizer T.json [--preset tiny|small|3b] [--device cpu|cuda[:N]] [--bf16]\n"
                                "                         [--batch 8] [--steps 3] [--threads N] [--image-size 112] [--json F]\n"), 2;
  }
  if (!tok_path || batch < 1 || steps < 1) return fprintf(stderr, "hatch-train bench: need --tokenizer, --batch >= 1, --steps >= 1\n"), 2;
  int rc = 1;
  hatch_tokenizer *tok = NULL;
  hatch_train_model *m = NULL;
  hatch_backend *cpu = NULL;
  hatch_sim_stream *stream = NULL;
  hatch_train_sample *s = calloc((size_t)batch, sizeof *s);
  hatch_token_seq *seq = calloc((size_t)batch, sizeof *seq);
  hatch_tokenizer_error te = {""};
  hatch_train_report rep = {""};
  char why[256] = "", text[HATCH_SAMPLE_MAX_ACTION + 256];
  hatch_qwen25vl_config cfg;
  hatch_bench_ceilings ceil = {0};
  hatch_cpu_options co = {.n_threads = threads};
  if (!s || !seq) goto done;
  if (hatch_tokenizer_load_json(tok_path, &tok, &te) != HATCH_OK) {
    fprintf(stderr, "hatch-train bench: %s: %s\n", tok_path, te.message);
    goto done;
  }
  bool big = !strcmp(preset, "3b");
  if (hatch_trainer_preset_config(big ? "small" : preset, tok, &cfg, why) != HATCH_OK) {
    fprintf(stderr, "hatch-train bench: %s\n", why);
    goto done;
  }
  if (big) { /* the 3B shapes; the tokenizer's special ids (all below the 3B vocab) */
    hatch_qwen25vl_config small = cfg;
    cfg = hatch_qwen25vl_config_3b();
    cfg.image_token_id = small.image_token_id, cfg.video_token_id = small.video_token_id;
    cfg.vision_start_token_id = small.vision_start_token_id, cfg.vision_end_token_id = small.vision_end_token_id;
    cfg.text.n_eos = 1, cfg.text.eos_token_id[0] = small.text.eos_token_id[0];
  }
  hatch_train_limits lim = {.max_images = HATCH_SAMPLE_MAX_IMAGES, .max_image_pixels = (int64_t)image * image, .max_tokens = 4096};
  if (hatch_train_model_create_on(&cfg, &lim, threads, &dev, &m, &rep) != HATCH_OK) {
    fprintf(stderr, "hatch-train bench: %s\n", rep.message);
    goto done;
  }
  hatch_train_model_init_random(m, 1);
  /* The device's own GEMM at the linear ops' precision, else (CPU) the FMA ceiling. */
  hatch_status pst = hatch_train_model_peak_flops(m, 8192, 5, &ceil.peak_gflops);
  bool gemm_peak = pst == HATCH_OK;
  if (gemm_peak) {
    ceil.peak_gflops /= 1e9;
  } else if (pst != HATCH_ERR_UNSUPPORTED) {
    fprintf(stderr, "hatch-train bench: cannot measure the %s backend's matmul peak (%s)\n",
            hatch_train_model_backend_name(m), hatch_status_name(pst));
    goto done;
  } else if (hatch_backend_create_cpu(&co, &cpu) != HATCH_OK || hatch_bench_measure_ceilings(cpu, &ceil) != HATCH_OK) {
    fprintf(stderr, "hatch-train bench: cannot measure the CPU's peak\n");
    goto done;
  }
  hatch_sim_stream_options so = {.seed = 11, .image_size = image, .questions_per_world = 2, .n_samples = batch};
  if (hatch_sim_stream_create(&so, &stream, why) != HATCH_OK) {
    fprintf(stderr, "hatch-train bench: %s\n", why);
    goto done;
  }
  int64_t tokens = 0;
  for (int b = 0; b < batch; b++) {
    if (hatch_sim_stream_next(stream, &s[b]) != HATCH_OK) goto done;
    hatch_target_text(&s[b], HATCH_TARGET_ACTION, text, sizeof text);
    if (hatch_token_seq_build(tok, &s[b], text, &seq[b]) != HATCH_OK) goto done;
    tokens += seq[b].n;
  }
  float *d = malloc(sizeof(float) * 4096), *logp = malloc(sizeof(float) * 4096);
  if (!d || !logp) goto done;
  struct timespec t0, t1;
  hatch_train_flops f0 = hatch_train_model_flops(m);
  for (int it = 0; it <= steps; it++) {
    if (it == 1) clock_gettime(CLOCK_MONOTONIC, &t0), f0 = hatch_train_model_flops(m); /* step 0 warms up */
    hatch_train_model_zero_grads(m);
    for (int b = 0; b < batch; b++) {
      hatch_train_image imgs[HATCH_SAMPLE_MAX_IMAGES];
      for (int k = 0; k < s[b].n_images; k++) imgs[k] = (hatch_train_image){s[b].images[k].rgb, s[b].images[k].width, s[b].images[k].height};
      if (hatch_train_forward(m, seq[b].ids, seq[b].n, imgs, s[b].n_images, seq[b].targets, logp) != HATCH_OK) goto done;
      for (int i = 0; i < seq[b].n; i++) d[i] = seq[b].targets[i] >= 0 ? -1e-3f : 0;
      if (hatch_train_backward(m, d) != HATCH_OK) goto done;
    }
    if (hatch_train_model_sync(m) != HATCH_OK) goto done; /* device work is queued: time it whole */
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double sec = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) * 1e-9;
  double flops = (double)(hatch_train_model_flops(m).total - f0.total);
  double gflops = flops / sec / 1e9, tps = (double)tokens * steps / sec;
  const char *backend = hatch_train_model_backend_name(m);
  printf("training throughput (%s model, %lld params, batch %d, %lld tokens/step incl. images, %s%s, %d threads)\n", preset,
         (long long)hatch_train_model_n_params(m), batch, (long long)tokens, backend, dev.bf16 ? " bf16" : "",
         hatch_train_model_n_threads(m));
  printf("  forward+backward: %.3f s/step, %.1f tokens/s, %.2f GFLOP/s\n", sec / steps, tps, gflops);
  printf("  %s peak (same run): %.1f GFLOP/s -> %.1f%% of peak (model FLOP utilization)\n",
         gemm_peak ? (dev.bf16 ? "bf16 GEMM" : "fp32 GEMM") : "CPU fp32 FMA", ceil.peak_gflops,
         100.0 * gflops / ceil.peak_gflops);
  if (json) {
    FILE *f = fopen(json, "w");
    if (f) {
      fprintf(f, "{\"preset\":\"%s\",\"backend\":\"%s\",\"bf16\":%s,\"params\":%lld,\"batch\":%d,\"tokens_per_step\":%lld,\"threads\":%d,\"s_per_step\":%.4f,"
                 "\"tokens_per_s\":%.2f,\"gflops\":%.3f,\"peak_gflops\":%.2f,\"fraction_of_peak\":%.4f}\n",
              preset, backend, dev.bf16 ? "true" : "false", (long long)hatch_train_model_n_params(m), batch, (long long)tokens, hatch_train_model_n_threads(m),
              sec / steps, tps, gflops, ceil.peak_gflops, gflops / ceil.peak_gflops);
      fclose(f);
    }
  }
  free(d), free(logp);
  rc = 0;
done:
  for (int b = 0; s && seq && b < batch; b++) hatch_train_sample_clear(&s[b]), hatch_token_seq_free(&seq[b]);
  free(s), free(seq);
  hatch_sim_stream_destroy(stream);
  hatch_backend_destroy(cpu);
  hatch_train_model_destroy(m);
  hatch_tokenizer_destroy(tok);
  return rc;
}
