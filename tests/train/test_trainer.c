/* The training run end to end on the tiny preset: every stage runs; a run stopped and resumed from
 * its checkpoint ends bit-identical to one that ran straight through; a NaN stops training with a
 * message instead of a step; bad options are refused; the int8 export agrees with the trainer's fp32
 * forward through the runtime. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hatch/train_model.h"

#include "harness.h"
#include "train/train_test_util.h"
#include "hatch/bpe_train.h"
#include "hatch/convert.h"
#include "hatch/model.h"
#include "hatch/tokenizer.h"
#include "hatch/train_checkpoint.h"
#include "hatch/trainer.h"

#define TOKENIZER TRAIN_TEST_TOKENIZER

static char tmpdir[256];

static void resume_is_bit_identical(hatch_test_ctx *c) {
  char a[300], b[300];
  snprintf(a, sizeof a, "%s/straight", tmpdir);
  snprintf(b, sizeof b, "%s/resumed", tmpdir);
  hatch_trainer_options o;
  hatch_trainer_report rep = {""};
  train_test_tiny_options(&o, a);
  HATCH_EXPECT(c, hatch_trainer_run(&o, &rep) == HATCH_OK, "straight run: %s", rep.message);
  train_test_tiny_options(&o, b);
  o.stop_after = 3; /* inside the qa stage, optimizer moments live */
  HATCH_EXPECT(c, hatch_trainer_run(&o, &rep) == HATCH_OK, "first half: %s", rep.message);
  o.stop_after = 0;
  o.resume = true;
  HATCH_EXPECT(c, hatch_trainer_run(&o, &rep) == HATCH_OK, "resume: %s", rep.message);
  int64_t na = 0, nb = 0;
  float *pa = train_test_checkpoint_params(c, a, &na), *pb = train_test_checkpoint_params(c, b, &nb);
  HATCH_EXPECT(c, pa && pb && na == nb && na > 0, "params %lld vs %lld", (long long)na, (long long)nb);
  if (pa && pb && na == nb) {
    int64_t diff = 0;
    for (int64_t i = 0; i < na; i++) diff += memcmp(&pa[i], &pb[i], 4) != 0;
    HATCH_EXPECT(c, diff == 0, "%lld of %lld parameters differ after resume", (long long)diff, (long long)na);
    float *init = NULL;
    /* ... and training moved them (a test that could not fail otherwise). */
    hatch_train_model *m = NULL;
    hatch_train_report mr;
    hatch_qwen25vl_config cfg;
    hatch_tokenizer *tok = NULL;
    hatch_tokenizer_error te;
    char why[256];
    hatch_tokenizer_load_json(TOKENIZER, &tok, &te);
    hatch_trainer_preset_config("tiny", tok, &cfg, why);
    hatch_train_limits lim = {.max_images = 1, .max_image_pixels = 112 * 112, .max_tokens = 64};
    if (hatch_train_model_create(&cfg, &lim, 1, &m, &mr) == HATCH_OK) {
      hatch_train_model_init_random(m, 3);
      init = hatch_train_model_params(m);
      int64_t moved = 0;
      for (int64_t i = 0; i < na; i++) moved += init[i] != pa[i];
      HATCH_EXPECT(c, moved > na / 2, "only %lld of %lld parameters moved", (long long)moved, (long long)na);
    }
    hatch_train_model_destroy(m);
    hatch_tokenizer_destroy(tok);
  }
  free(pa);
  free(pb);
  /* A run that died past its checkpoint: its later metrics lines are dropped on resume, so every step
   * is logged once. Simulated by appending a line for a step the checkpoint has not reached. */
  {
    hatch_trainer_options o2;
    char c2[300], mpath[340];
    snprintf(c2, sizeof c2, "%s/crashed", tmpdir);
    snprintf(mpath, sizeof mpath, "%s/metrics.jsonl", c2);
    train_test_tiny_options(&o2, c2);
    o2.stop_after = 2;
    HATCH_EXPECT(c, hatch_trainer_run(&o2, &rep) == HATCH_OK, "crashed run: %s", rep.message);
    FILE *f = fopen(mpath, "a");
    if (f) fputs("{\"step\":3,\"stage\":\"pasta\",\"loss\":9}\n", f), fclose(f);
    o2.stop_after = 0;
    o2.resume = true;
    HATCH_EXPECT(c, hatch_trainer_run(&o2, &rep) == HATCH_OK, "resume after crash: %s", rep.message);
    f = fopen(mpath, "r");
    int seen[16] = {0}, twice = 0;
    char line[4096];
    while (f && fgets(line, sizeof line, f)) {
      int step = 0;
      if (sscanf(line, "{\"step\":%d,\"stage\":\"%*[a-z]\",\"loss\"", &step) == 1 && step > 0 && step < 16 &&
          !strstr(line, "\"eval\"") && seen[step]++)
        twice++;
    }
    if (f) fclose(f);
    HATCH_EXPECT(c, twice == 0 && seen[8] == 1, "metrics after a resume: %d steps logged twice, step 8 %d times", twice, seen[8]);
  }
  /* A resume against other options is refused, naming the checkpoint. */
  train_test_tiny_options(&o, b);
  o.resume = true;
  o.seed = 4;
  HATCH_EXPECT(c, hatch_trainer_run(&o, &rep) != HATCH_OK && strstr(rep.message, "checkpoint.bin"),
               "a resume with another seed must be refused: %s", rep.message);
}

/* Weights holding a NaN: the first step's loss is NaN and the run stops with a message. */
static void nan_stops_training(hatch_test_ctx *c) {
  char dir[300], init[320];
  snprintf(dir, sizeof dir, "%s/nan", tmpdir);
  snprintf(init, sizeof init, "%s/nan-init.gguf", tmpdir);
  hatch_tokenizer *tok = NULL;
  hatch_tokenizer_error te;
  hatch_qwen25vl_config cfg;
  char why[256];
  HATCH_EXPECT_OK(c, hatch_tokenizer_load_json(TOKENIZER, &tok, &te));
  HATCH_EXPECT_OK(c, hatch_trainer_preset_config("tiny", tok, &cfg, why));
  hatch_train_limits lim = {.max_images = 1, .max_image_pixels = 112 * 112, .max_tokens = 64};
  hatch_train_model *m = NULL;
  hatch_train_report mr;
  HATCH_EXPECT_OK(c, hatch_train_model_create(&cfg, &lim, 1, &m, &mr));
  if (!m) return;
  hatch_train_model_init_random(m, 1);
  const hatch_train_tensor *norm = hatch_train_model_find(m, "output_norm.weight");
  HATCH_EXPECT(c, norm != NULL, "output_norm.weight");
  if (norm) hatch_train_model_params(m)[norm->offset] = NAN;
  hatch_bpe_gguf_meta meta = {.tok = tok, .n_vocab = cfg.text.vocab_size};
  hatch_qwen25vl_write_options wo = {.name = "nan", .matrix_type = HATCH_TYPE_F32, .add_metadata = hatch_bpe_gguf_add_metadata, .metadata_user = &meta};
  HATCH_EXPECT_OK(c, hatch_train_model_save_gguf(m, init, &wo, &mr));
  hatch_trainer_options o;
  train_test_tiny_options(&o, dir);
  o.init_gguf = init;
  char w2[256];
  hatch_trainer_parse_stages("qa:3", &o, w2);
  hatch_trainer_report rep = {""};
  hatch_status st = hatch_trainer_run(&o, &rep);
  HATCH_EXPECT(c, st != HATCH_OK && (strstr(rep.message, "nan") || strstr(rep.message, "NaN")),
               "a NaN must stop training with a message (got %s: %s)", hatch_status_name(st), rep.message);
  hatch_train_model_destroy(m);
  hatch_tokenizer_destroy(tok);
}

static void bad_options(hatch_test_ctx *c) {
  hatch_trainer_options o;
  hatch_trainer_options_default(&o);
  char why[256] = "";
  HATCH_EXPECT(c, hatch_trainer_parse_stages("qa:10,fly:3", &o, why) != HATCH_OK && strstr(why, "fly"), "unknown stage: %s", why);
  HATCH_EXPECT(c, hatch_trainer_parse_stages("qa:-1", &o, why) != HATCH_OK, "negative steps");
  HATCH_EXPECT(c, hatch_trainer_parse_stages("qa:5@7", &o, why) != HATCH_OK, "lr out of range");
  HATCH_EXPECT(c, hatch_trainer_parse_stages("pasta:1,qa:2@3e-4", &o, why) == HATCH_OK && o.n_stages == 2 &&
                      o.stages[1].lr == 3e-4f, "valid list: %s", why);
  hatch_trainer_options_default(&o);
  o.out_dir = tmpdir;
  o.tokenizer_path = "/nonexistent/tokenizer.json";
  hatch_trainer_parse_stages("qa:1", &o, why);
  hatch_trainer_report rep = {""};
  HATCH_EXPECT(c, hatch_trainer_run(&o, &rep) != HATCH_OK && strstr(rep.message, "/nonexistent/tokenizer.json"),
               "missing tokenizer named: %s", rep.message);
  o.tokenizer_path = TOKENIZER;
  o.batch = HATCH_TRAINER_MAX_BATCH + 1; /* would overrun the per-step tables */
  HATCH_EXPECT(c, hatch_trainer_run(&o, &rep) == HATCH_ERR_INVALID_ARGUMENT && strstr(rep.message, "batch"),
               "batch past the limit refused: %s", rep.message);
}

/* --mrope-section replaces the preset's sections (tiny: 2,3,3) and lands in the exported file; an --init
 * run keeps the file's; sections that do not sum to head_dim / 2 are refused, naming the option. */
static void mrope_section_override(hatch_test_ctx *c) {
  char dir[300], cont[300], f32[340];
  snprintf(dir, sizeof dir, "%s/mrope", tmpdir);
  snprintf(cont, sizeof cont, "%s/mrope-init", tmpdir);
  snprintf(f32, sizeof f32, "%s/model-f32.gguf", dir);
  hatch_trainer_options o;
  hatch_trainer_report rep = {""};
  char why[256];
  train_test_tiny_options(&o, dir);
  hatch_trainer_parse_stages("qa:2", &o, why);
  o.mrope_section[0] = 1, o.mrope_section[1] = 1, o.mrope_section[2] = 6;
  HATCH_EXPECT(c, hatch_trainer_run(&o, &rep) == HATCH_OK, "1,1,6: %s", rep.message);
  hatch_qwen25vl_config cfg;
  hatch_train_report mr = {""};
  HATCH_EXPECT(c, hatch_train_config_from_gguf(f32, &cfg, &mr) == HATCH_OK, "%s", mr.message);
  const int32_t *m = cfg.text.mrope_section;
  HATCH_EXPECT(c, m[0] == 1 && m[1] == 1 && m[2] == 6, "exported sections %d,%d,%d, want 1,1,6", m[0], m[1], m[2]);
  train_test_tiny_options(&o, cont);
  hatch_trainer_parse_stages("qa:1", &o, why);
  o.init_gguf = f32;
  HATCH_EXPECT(c, hatch_trainer_run(&o, &rep) == HATCH_OK, "--init: %s", rep.message);
  snprintf(f32, sizeof f32, "%s/model-f32.gguf", cont);
  HATCH_EXPECT(c, hatch_train_config_from_gguf(f32, &cfg, &mr) == HATCH_OK, "%s", mr.message);
  HATCH_EXPECT(c, m[0] == 1 && m[1] == 1 && m[2] == 6, "--init kept %d,%d,%d, want 1,1,6", m[0], m[1], m[2]);
  o.mrope_section[0] = o.mrope_section[1] = o.mrope_section[2] = 1;
  HATCH_EXPECT(c, hatch_trainer_run(&o, &rep) == HATCH_ERR_INVALID_ARGUMENT && strstr(rep.message, "mrope"),
               "sections 1,1,1 (sum 3, head_dim/2 is 8) refused: %s", rep.message);
  /* A resume must train the sections the checkpoint was written with. */
  train_test_tiny_options(&o, dir);
  hatch_trainer_parse_stages("qa:2", &o, why);
  o.resume = true;
  HATCH_EXPECT(c, hatch_trainer_run(&o, &rep) == HATCH_ERR_INVALID_ARGUMENT && strstr(rep.message, "mRoPE"),
               "a resume without --mrope-section 1,1,6 refused: %s", rep.message);
  o.mrope_section[0] = 1, o.mrope_section[1] = 1, o.mrope_section[2] = 6;
  HATCH_EXPECT(c, hatch_trainer_run(&o, &rep) == HATCH_OK, "a resume with them: %s", rep.message);
}

/* The step's "cells" metric of a run's first line of stage `stage`, -1 if the line has none. */
static double first_cells(const char *dir, const char *stage) {
  char path[340], line[4096], key[64];
  snprintf(path, sizeof path, "%s/metrics.jsonl", dir);
  snprintf(key, sizeof key, "\"stage\":\"%s\"", stage);
  FILE *f = fopen(path, "r");
  double cells = -1;
  while (f && fgets(line, sizeof line, f))
    if (strstr(line, key) && !strstr(line, "\"eval")) {
      const char *p = strstr(line, "\"cells\":");
      cells = p ? atof(p + 8) : -1;
      break;
    }
  if (f) fclose(f);
  return cells;
}

/* --cell-words-stages puts the word-grounded vision loss in the named stages (the caption stage alone by
 * default); --cell-side labels every cell off a view's middle column with its side, so the same batch
 * (same seed, same step) has more labelled cells than its objects alone give. A stage without a vision
 * SFT step is refused. */
static void cell_words_stages_and_side(hatch_test_ctx *c) {
  char plain[300], side[300], why[256];
  snprintf(plain, sizeof plain, "%s/cells-plain", tmpdir);
  snprintf(side, sizeof side, "%s/cells-side", tmpdir);
  hatch_trainer_options o;
  hatch_trainer_report rep = {""};
  train_test_tiny_options(&o, plain);
  hatch_trainer_parse_stages("ground:1,caption:1", &o, why);
  HATCH_EXPECT(c, hatch_trainer_run(&o, &rep) == HATCH_OK, "default stages: %s", rep.message);
  HATCH_EXPECT(c, first_cells(plain, "ground") < 0 && first_cells(plain, "caption") > 0,
               "by default the caption stage alone has cells (ground %g, caption %g)", first_cells(plain, "ground"),
               first_cells(plain, "caption"));
  train_test_tiny_options(&o, side);
  hatch_trainer_parse_stages("ground:1,caption:1", &o, why);
  o.cell_words_stages = 1u << HATCH_STAGE_GROUND | 1u << HATCH_STAGE_CAPTION;
  o.cell_side = true;
  HATCH_EXPECT(c, hatch_trainer_run(&o, &rep) == HATCH_OK, "ground and caption, with sides: %s", rep.message);
  double g = first_cells(side, "ground"), cap = first_cells(side, "caption"), cap0 = first_cells(plain, "caption");
  HATCH_EXPECT(c, g > 0 && cap > cap0, "with sides: ground %g cells, caption %g (%g without sides)", g, cap, cap0);
  char mpath[340], line[4096];
  snprintf(mpath, sizeof mpath, "%s/metrics.jsonl", side);
  FILE *f = fopen(mpath, "r");
  int side_acc = 0;
  while (f && fgets(line, sizeof line, f)) {
    const char *p = strstr(line, "\"cell_side_accuracy\":");
    side_acc += p && atof(p + 21) >= 0 && atof(p + 21) <= 1;
  }
  if (f) fclose(f);
  HATCH_EXPECT(c, side_acc == 2, "both steps report the side words' accuracy (%d)", side_acc);
  train_test_tiny_options(&o, side); /* options that would change nothing are refused */
  hatch_trainer_parse_stages("qa:1", &o, why);
  o.cell_side = true;
  HATCH_EXPECT(c, hatch_trainer_run(&o, &rep) == HATCH_ERR_INVALID_ARGUMENT && strstr(rep.message, "no stage"),
               "--cell-side without a stage using it refused: %s", rep.message);
  o.cell_words_stages = 1u << HATCH_STAGE_QA, o.cell_words = 0;
  HATCH_EXPECT(c, hatch_trainer_run(&o, &rep) == HATCH_ERR_INVALID_ARGUMENT && strstr(rep.message, "--cell-words is 0"),
               "--cell-side with --cell-words 0 refused: %s", rep.message);
  train_test_tiny_options(&o, side);
  hatch_trainer_parse_stages("qa:1", &o, why);
  o.cell_words_stages = 1u << HATCH_STAGE_GRPO;
  HATCH_EXPECT(c, hatch_trainer_run(&o, &rep) == HATCH_ERR_INVALID_ARGUMENT && strstr(rep.message, "cell-words-stages"),
               "grpo refused: %s", rep.message);
}

/* The trained fp32 weights exported as Q8_0 load in the runtime; its logits agree with the trainer's
 * fp32 forward on the same prompt. */
static void int8_export_agrees(hatch_test_ctx *c) {
  char f32[320], q8[320];
  snprintf(f32, sizeof f32, "%s/straight/model-f32.gguf", tmpdir);
  snprintf(q8, sizeof q8, "%s/q8.gguf", tmpdir);
  hatch_train_limits lim = {.max_images = 0, .max_image_pixels = 0, .max_tokens = 64};
  hatch_train_model *m = NULL;
  hatch_train_report mr = {""};
  HATCH_EXPECT(c, hatch_train_model_open(f32, &lim, 1, &m, &mr) == HATCH_OK, "%s", mr.message);
  if (!m) return;
  hatch_tokenizer *tok = NULL;
  hatch_tokenizer_error te;
  hatch_tokenizer_load_json(TOKENIZER, &tok, &te);
  hatch_bpe_gguf_meta meta = {.tok = tok, .n_vocab = hatch_train_model_config(m)->text.vocab_size};
  hatch_qwen25vl_write_options wo = {.name = "q8", .matrix_type = HATCH_TYPE_Q8_0, .add_metadata = hatch_bpe_gguf_add_metadata, .metadata_user = &meta};
  HATCH_EXPECT_OK(c, hatch_train_model_save_gguf(m, q8, &wo, &mr));
  int32_t ids[24];
  size_t n = 0;
  int32_t *enc = NULL;
  const char *text = "<action>{from:0,to:1,action:[{turn left: 90 deg}]}</action><answer>B. Red chair</answer>";
  HATCH_EXPECT_OK(c, hatch_tokenizer_encode(tok, text, strlen(text), false, &enc, &n));
  if (n > 24) n = 24;
  memcpy(ids, enc, sizeof(int32_t) * n);
  free(enc);
  HATCH_EXPECT_OK(c, hatch_train_forward(m, ids, (int)n, NULL, 0, NULL, NULL));
  int nl = 0;
  int64_t vocab = 0;
  const float *ref = hatch_train_logits(m, &nl, &vocab);
  hatch_backend *be = NULL;
  hatch_model *rm = NULL;
  hatch_model_report rr = {""};
  HATCH_EXPECT_OK(c, hatch_backend_create_cpu(NULL, &be));
  HATCH_EXPECT(c, hatch_model_load(be, q8, NULL, NULL, &rm, &rr) == HATCH_OK, "%s", rr.message);
  if (rm && ref) {
    int32_t pos[3 * 24], next;
    HATCH_EXPECT_OK(c, hatch_model_rope_positions(rm, ids, (int)n, NULL, NULL, 0, pos, &next));
    float *got = malloc(sizeof(float) * n * (size_t)vocab);
    HATCH_EXPECT_OK(c, hatch_model_forward(rm, ids, (int)n, pos, NULL, 0, got, (int)n));
    double nmse = hatch_test_nmse(got, ref, (int64_t)n * vocab);
    int same = 0;
    for (size_t t = 0; t < n; t++) {
      int a = 0, b = 0;
      for (int64_t v = 1; v < vocab; v++) {
        if (got[t * vocab + v] > got[t * vocab + a]) a = (int)v;
        if (ref[t * vocab + v] > ref[t * vocab + b]) b = (int)v;
      }
      same += a == b;
    }
    /* Q8_0 weights (8-bit blocks of 32 with an f16 scale) and int8 activations in the matmuls, plus the
     * F16 KV cache: measured nmse ~1e-4 on trained weights; 1e-2 fails on any layout or scale bug
     * (which gives nmse ~ 1). */
    HATCH_EXPECT(c, nmse < 1e-2, "Q8_0 runtime vs fp32 trainer: nmse %g", nmse);
    printf("  int8 export vs fp32 trainer: nmse %.3g, argmax equal at %d of %zu positions\n", nmse, same, n);
    free(got);
  }
  hatch_model_destroy(rm);
  hatch_backend_destroy(be);
  hatch_tokenizer_destroy(tok);
  hatch_train_model_destroy(m);
}

/* The caption and grounding stages and an RGB-D manifest (--rgbd): PaStA pairs come from the manifest (full-size
 * frames, targets before the resize), actor batches are half manifest pairs; the manifest's cursor is
 * in the checkpoint, so a resumed run ends bit-identical to a straight one. */
static void caption_ground_and_rgbd_stages(hatch_test_ctx *c) {
  char a[300], b[300], mpath[340];
  snprintf(a, sizeof a, "%s/rgbd_straight", tmpdir);
  snprintf(b, sizeof b, "%s/rgbd_resumed", tmpdir);
  hatch_trainer_options o;
  hatch_trainer_report rep = {""};
  char why[256], manifest[340];
  /* Three distinct pairs, read two per PaStA step: where the cursor stands after a stop matters. */
  snprintf(manifest, sizeof manifest, "%s/pairs3.json", tmpdir);
  FILE *mf = fopen(manifest, "w");
  if (mf) {
    const char *fx = HATCH_FIXTURE_DIR "/train_data/rgbd/";
    fprintf(mf, "{\"version\":1,\"depth_scale\":0.001,\"intrinsics\":{\"fx\":32,\"fy\":32,\"cx\":15.5,\"cy\":15.5},"
                "\"frames\":[{\"rgb\":\"%scolor/000.jpg\",\"depth\":\"%sdepth/000.png\",\"position\":[0,0,0],"
                "\"rotation\":[1,0,0,0,1,0,0,0,1]},{\"rgb\":\"%scolor/001.jpg\",\"depth\":\"%sdepth/001.png\","
                "\"position\":[0.5,0,0],\"rotation\":[1,0,0,0,1,0,0,0,1]},{\"rgb\":\"%scolor/000.jpg\",\"depth\":"
                "\"%sdepth/000.png\",\"position\":[0.1,0,0],\"rotation\":[1,0,0,0,1,0,0,0,1]}],"
                "\"pairs\":[[0,1],[1,0],[0,2]]}\n",
            fx, fx, fx, fx, fx, fx);
    fclose(mf);
  }
  for (int run = 0; run < 2; run++) {
    train_test_tiny_options(&o, run ? b : a);
    o.rgbd_manifest = manifest;
    HATCH_EXPECT_OK(c, hatch_trainer_parse_stages("caption:2,ground:2,pasta:3,actor:2", &o, why));
    if (run) {
      o.stop_after = 5; /* inside pasta: the manifest cursor is mid-file */
      HATCH_EXPECT(c, hatch_trainer_run(&o, &rep) == HATCH_OK, "first half: %s", rep.message);
      o.stop_after = 0, o.resume = true;
    }
    HATCH_EXPECT(c, hatch_trainer_run(&o, &rep) == HATCH_OK, "run %d: %s", run, rep.message);
  }
  int64_t na = 0, nb = 0;
  float *pa = train_test_checkpoint_params(c, a, &na), *pb = train_test_checkpoint_params(c, b, &nb);
  HATCH_EXPECT(c, pa && pb && na == nb && na > 0 && !memcmp(pa, pb, sizeof(float) * (size_t)na),
               "resumed run differs from the straight one");
  free(pa), free(pb);
  /* Every PaStA step found manifest pairs with correspondence; the stages ran in order. */
  snprintf(mpath, sizeof mpath, "%s/metrics.jsonl", a);
  FILE *f = fopen(mpath, "r");
  char line[4096];
  int caption = 0, ground = 0, pasta_with_pairs = 0, actor = 0;
  while (f && fgets(line, sizeof line, f)) {
    const char *tt = strstr(line, "\"target_tokens\":");
    /* a caption names every view's objects: dozens of target tokens per sample, not an answer's ~10 */
    const char *cl = strstr(line, "\"cell_loss\":"); /* the word-grounded vision loss ran, finite */
    caption += strstr(line, "\"stage\":\"caption\"") && tt && atof(tt + 16) >= 20.0 * o.batch && cl && atof(cl + 12) > 0;
    ground += strstr(line, "\"stage\":\"ground\"") != NULL;
    actor += strstr(line, "\"stage\":\"actor\"") != NULL;
    const char *p = strstr(line, "\"pairs\":");
    if (strstr(line, "\"stage\":\"pasta\"") && p && atof(p + 8) >= 1) pasta_with_pairs++;
  }
  if (f) fclose(f);
  HATCH_EXPECT(c, caption == 2 && ground == 2 && pasta_with_pairs == 3 && actor == 2,
               "metrics: caption %d, ground %d, pasta with pairs %d, actor %d", caption, ground, pasta_with_pairs, actor);
}

/* The device path (the optimizer through the backend's ops, moments in backend memory, pull/push
 * around checkpoints, the GRPO reference model on the device, the caption stage's word-grounded
 * vision loss reading the embeddings back) on the CPU backend with separate memory: every stage, KL
 * on, a stop and resume inside GRPO; the weights must equal a host run's bit for bit. */
static void device_path_is_bit_identical(hatch_test_ctx *c) {
  char a[300], b[300], d[300];
  snprintf(a, sizeof a, "%s/host", tmpdir);
  snprintf(b, sizeof b, "%s/device", tmpdir);
  snprintf(d, sizeof d, "%s/device_resumed", tmpdir);
  hatch_trainer_options o;
  hatch_trainer_report rep = {""};
  const char *dirs[3] = {a, b, d};
  for (int run = 0; run < 3; run++) {
    train_test_tiny_options(&o, dirs[run]);
    o.grpo.kl_beta = 0.05f;
    o.device.cpu_separate_memory = run > 0;
    char why[256];
    HATCH_EXPECT(c, hatch_trainer_parse_stages("caption:2,pasta:2,qa:2,actor:2,grpo:2", &o, why) == HATCH_OK, "%s", why);
    if (run == 2) {
      o.stop_after = 9; /* inside grpo: moments, the reference model and the step count live */
      HATCH_EXPECT(c, hatch_trainer_run(&o, &rep) == HATCH_OK, "device first half: %s", rep.message);
      o.stop_after = 0, o.resume = true;
    }
    HATCH_EXPECT(c, hatch_trainer_run(&o, &rep) == HATCH_OK, "run %d: %s", run, rep.message);
  }
  char metrics[320], line[4096];
  snprintf(metrics, sizeof metrics, "%s/metrics.jsonl", b);
  FILE *f = fopen(metrics, "r");
  int cell_steps = 0;
  while (f && fgets(line, sizeof line, f)) {
    const char *cl = strstr(line, "\"cell_loss\":");
    cell_steps += cl && atof(cl + 12) > 0;
  }
  if (f) fclose(f);
  HATCH_EXPECT(c, cell_steps == 2, "the device run's caption steps must report the cell-words loss (%d)", cell_steps);
  int64_t n[3] = {0};
  float *p[3];
  for (int k = 0; k < 3; k++) p[k] = train_test_checkpoint_params(c, dirs[k], &n[k]);
  for (int k = 1; k < 3; k++) {
    int64_t diff = 0;
    if (p[0] && p[k] && n[0] == n[k])
      for (int64_t i = 0; i < n[0]; i++) diff += memcmp(&p[0][i], &p[k][i], 4) != 0;
    HATCH_EXPECT(c, p[0] && p[k] && n[0] == n[k] && n[0] > 0 && diff == 0, "%s: %lld of %lld weights differ from the host run",
                 dirs[k], (long long)diff, (long long)n[0]);
  }
  for (int k = 0; k < 3; k++) free(p[k]);
}

int main(int argc, char **argv) {
  snprintf(tmpdir, sizeof tmpdir, "/tmp/hatch-test-trainer-XXXXXX");
  if (!mkdtemp(tmpdir)) return perror("mkdtemp"), 1;
  static const hatch_test_case cases[] = {
      {"bad_options", bad_options, false},
      {"resume_is_bit_identical", resume_is_bit_identical, false},
      {"int8_export_agrees", int8_export_agrees, false},
      {"mrope_section_override", mrope_section_override, false},
      {"cell_words_stages_and_side", cell_words_stages_and_side, false},
      {"nan_stops_training", nan_stops_training, false},
      {"caption_ground_and_rgbd_stages", caption_ground_and_rgbd_stages, false},
      {"device_path_is_bit_identical", device_path_is_bit_identical, false},
  };
  int rc = hatch_test_main(argc, argv, cases, sizeof cases / sizeof cases[0]);
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
  return rc;
}
