/* hatch-train train: the HATCH stages on a model (hatch/trainer.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "hatch/sim_dataset.h"
#include "hatch/trainer.h"

static void usage(void) {
  fprintf(stderr,
          "usage: hatch-train train --out DIR --tokenizer tokenizer.json --stages pasta:N,qa:N,actor:N,grpo:N [options]\n"
          "  --stages LIST        stages in order, NAME:STEPS[@LR] (caption, ground, pasta, qa, actor, grpo)\n"
          "  --preset tiny|small  model size for a fresh model (default small)  --init F.gguf  start from weights\n"
          "  --data F.jsonl       MindCube-format training data instead of the synthetic world (pasta stays synthetic)\n"
          "  --rgbd M.json        RGB-D + pose manifest: PaStA pairs from it, and half of each actor batch\n"
          "  --device cpu|cuda[:N]  train on the CPU (default) or CUDA device N  --bf16  bf16 matmuls on CUDA\n"
          "  --ranks R            data parallel over R ranks (1): with --device cuda:D on cuda:D..D+R-1 through NCCL,\n"
          "                       on the CPU R models of threads/R threads; each batch split by sample, gradients summed\n"
          "                       (1..batch; synthetic data only, not with --data or --rgbd)\n"
          "  --mrope-section T,H,W  the LLM's mRoPE split of rotary pairs (small: 4,6,6; sum head_dim/2), replacing\n"
          "                       the preset's or --init's; 1,1,14 lets the LLM tell columns of a view apart\n"
          "  --seed N  --threads N  --batch N (8)  --image-size N (112)  --settings rotation,around,among,free\n"
          "  --warmup N (20)  --clip F (1.0)  --weight-decay F (0.01)  --min-lr-ratio F (0.1)\n"
          "  --cell-words W (1)    weight of the caption stage's word-grounded vision tokens (0: off)\n"
          "  --cell-words-stages LIST  stages adding that loss (caption; any of caption, ground, qa, actor)\n"
          "  --cell-side          the word-grounded vision tokens also name their half of the view (left, right)\n"
          "  --pasta-tau1 F --pasta-tau2 F (0.1)  --pasta-t-abs M (0.05)  --pasta-grid N (4)\n"
          "  --grpo-group N (4)  --grpo-temperature F (1.0)  --grpo-max-tokens N (96)  --grpo-kl BETA (0)\n"
          "  --grpo-standard      TRL's GRPO (clip 0.2/0.2, sequence mean, no group dropping) instead of DAPO's\n"
          "  --reward W_ACTION,W_ANSWER,W_FORMAT (0.5,1,0.25)\n"
          "  --checkpoint-every N  --eval-every N  --eval-samples N (64)  --eval-seed N\n"
          "  --resume             continue DIR/checkpoint.bin bit-identically   --quiet   --stop-after N\n");
}

bool hatch_train_parse_device(const char *text, hatch_train_device *dev) {
  dev->cpu_separate_memory = false, dev->cuda_device = 0;
  if (!strcmp(text, "cpu") || !strcmp(text, "cpu-separate")) {
    dev->kind = HATCH_TRAIN_DEVICE_CPU;
    dev->cpu_separate_memory = text[3] != 0;
    return true;
  }
  if (strncmp(text, "cuda", 4) || (text[4] && text[4] != ':')) return false;
  dev->kind = HATCH_TRAIN_DEVICE_CUDA;
  if (!text[4]) return true;
  char *end;
  long n = strtol(text + 5, &end, 10);
  if (end == text + 5 || *end || n < 0 || n > 1023) return false;
  dev->cuda_device = (int)n;
  return true;
}

unsigned hatch_train_parse_settings(const char *text) {
  unsigned mask = 0;
  char buf[128];
  snprintf(buf, sizeof buf, "%s", text);
  for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    int found = -1;
    for (int s = 0; s < HATCH_SIM_SETTING_COUNT; s++)
      if (!strcmp(tok, hatch_sim_setting_name((hatch_sim_setting)s))) found = s;
    if (found < 0) return 0;
    mask |= HATCH_SIM_SETTING_BIT(found);
  }
  return mask;
}

/* "caption,ground": a stage bit mask; 0 for an empty list or a stage without a vision SFT step. */
static unsigned parse_cell_words_stages(const char *text) {
  unsigned mask = 0;
  char buf[128];
  snprintf(buf, sizeof buf, "%s", text);
  for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    int s = hatch_stage_from_name(tok);
    if (s < 0 || !(HATCH_CELL_WORDS_STAGES >> s & 1u)) return 0;
    mask |= 1u << s;
  }
  return mask;
}

int hatch_train_cmd_train(int argc, char **argv) {
  hatch_trainer_options o;
  hatch_trainer_options_default(&o);
  const char *stages = NULL;
  char why[256] = "";
  for (int i = 1; i < argc; i++) {
    bool has = i + 1 < argc;
    const char *a = argv[i];
    if (!strcmp(a, "--out") && has) o.out_dir = argv[++i];
    else if (!strcmp(a, "--tokenizer") && has) o.tokenizer_path = argv[++i];
    else if (!strcmp(a, "--stages") && has) stages = argv[++i];
    else if (!strcmp(a, "--preset") && has) o.preset = argv[++i];
    else if (!strcmp(a, "--init") && has) o.init_gguf = argv[++i];
    else if (!strcmp(a, "--data") && has) o.data_jsonl = argv[++i];
    else if (!strcmp(a, "--rgbd") && has) o.rgbd_manifest = argv[++i];
    else if (!strcmp(a, "--device") && has) {
      if (!hatch_train_parse_device(argv[++i], &o.device))
        return fprintf(stderr, "hatch-train train: --device: '%s' is not cpu, cuda or cuda:N\n", argv[i]), 2;
    } else if (!strcmp(a, "--bf16")) o.device.bf16 = true;
    else if (!strcmp(a, "--seed") && has) o.seed = strtoull(argv[++i], NULL, 10);
    else if (!strcmp(a, "--threads") && has) o.threads = atoi(argv[++i]);
    else if (!strcmp(a, "--batch") && has) o.batch = atoi(argv[++i]);
    else if (!strcmp(a, "--ranks") && has) {
      char *end;
      long r = strtol(argv[++i], &end, 10);
      if (end == argv[i] || *end || r < 1 || r > HATCH_TRAINER_MAX_BATCH)
        return fprintf(stderr, "hatch-train train: --ranks: '%s' is not an integer in 1..%d\n", argv[i], HATCH_TRAINER_MAX_BATCH), 2;
      o.ranks = (int)r;
    }
    else if (!strcmp(a, "--image-size") && has) o.image_size = atoi(argv[++i]);
    else if (!strcmp(a, "--mrope-section") && has) {
      char tail;
      int *m = o.mrope_section;
      if (sscanf(argv[++i], "%d,%d,%d%c", &m[0], &m[1], &m[2], &tail) != 3 || m[0] < 1 || m[1] < 1 || m[2] < 1)
        return fprintf(stderr, "hatch-train train: --mrope-section: '%s' is not T,H,W (integers >= 1)\n", argv[i]), 2;
    }
    else if (!strcmp(a, "--settings") && has) {
      if (!(o.settings = hatch_train_parse_settings(argv[++i])))
        return fprintf(stderr, "hatch-train train: --settings: unknown setting in '%s'\n", argv[i]), 2;
    } else if (!strcmp(a, "--warmup") && has) o.warmup_steps = atoi(argv[++i]);
    else if (!strcmp(a, "--clip") && has) o.grad_clip = strtof(argv[++i], NULL);
    else if (!strcmp(a, "--cell-words") && has) o.cell_words = strtof(argv[++i], NULL);
    else if (!strcmp(a, "--cell-words-stages") && has) {
      if (!(o.cell_words_stages = parse_cell_words_stages(argv[++i])))
        return fprintf(stderr, "hatch-train train: --cell-words-stages: '%s' is not a list of caption, ground, qa, actor\n", argv[i]), 2;
    } else if (!strcmp(a, "--cell-side")) o.cell_side = true;
    else if (!strcmp(a, "--weight-decay") && has) o.weight_decay = strtof(argv[++i], NULL);
    else if (!strcmp(a, "--min-lr-ratio") && has) o.min_lr_ratio = strtof(argv[++i], NULL);
    else if (!strcmp(a, "--pasta-tau1") && has) o.pasta.tau1 = strtof(argv[++i], NULL);
    else if (!strcmp(a, "--pasta-tau2") && has) o.pasta.tau2 = strtof(argv[++i], NULL);
    else if (!strcmp(a, "--pasta-t-abs") && has) o.pasta_targets.t_abs = strtod(argv[++i], NULL);
    else if (!strcmp(a, "--pasta-grid") && has) o.pasta.n = o.pasta_targets.grid = atoi(argv[++i]);
    else if (!strcmp(a, "--grpo-group") && has) o.grpo_group = atoi(argv[++i]);
    else if (!strcmp(a, "--grpo-temperature") && has) o.grpo_temperature = strtof(argv[++i], NULL);
    else if (!strcmp(a, "--grpo-max-tokens") && has) o.grpo_max_tokens = atoi(argv[++i]);
    else if (!strcmp(a, "--grpo-kl") && has) o.grpo.kl_beta = strtof(argv[++i], NULL);
    else if (!strcmp(a, "--grpo-standard")) {
      float kl = o.grpo.kl_beta;
      o.grpo = hatch_grpo_defaults();
      o.grpo.kl_beta = kl;
    } else if (!strcmp(a, "--reward") && has) {
      if (sscanf(argv[++i], "%f,%f,%f", &o.reward.w_action, &o.reward.w_answer, &o.reward.w_format) != 3)
        return fprintf(stderr, "hatch-train train: --reward wants W_ACTION,W_ANSWER,W_FORMAT\n"), 2;
    } else if (!strcmp(a, "--checkpoint-every") && has) o.checkpoint_every = atoi(argv[++i]);
    else if (!strcmp(a, "--eval-every") && has) o.eval_every = atoi(argv[++i]);
    else if (!strcmp(a, "--eval-samples") && has) o.eval_samples = atoi(argv[++i]);
    else if (!strcmp(a, "--eval-seed") && has) o.eval_seed = strtoull(argv[++i], NULL, 10);
    else if (!strcmp(a, "--resume")) o.resume = true;
    else if (!strcmp(a, "--quiet")) o.quiet = true;
    else if (!strcmp(a, "--stop-after") && has) o.stop_after = atoll(argv[++i]);
    else if (!strcmp(a, "--help") || !strcmp(a, "-h")) return usage(), 0;
    else return fprintf(stderr, "hatch-train train: unknown or incomplete option '%s'\n", a), usage(), 2;
  }
  if (!o.out_dir || !o.tokenizer_path || !stages) return fprintf(stderr, "hatch-train train: need --out, --tokenizer and --stages\n"), usage(), 2;
  if (hatch_trainer_parse_stages(stages, &o, why) != HATCH_OK) return fprintf(stderr, "hatch-train train: %s\n", why), 2;
  hatch_trainer_report rep = {""};
  hatch_status st = hatch_trainer_run(&o, &rep);
  if (st != HATCH_OK) {
    fprintf(stderr, "hatch-train train: %s (%s)\n", rep.message[0] ? rep.message : hatch_status_message(st), hatch_status_name(st));
    return 1;
  }
  fprintf(stderr, "hatch-train train: done: %s/model-f32.gguf, %s/metrics.jsonl, %s/checkpoint.bin\n", o.out_dir, o.out_dir, o.out_dir);
  return 0;
}
