/* Multiple-choice answers by likelihood (hatch/choice.h): the inline option parser on MindCube's
 * and the synthetic world's phrasing and on malformed questions; hatch_choice_rank's scores, which
 * reuse the KV cache and rewind it, against each whole response run from an empty cache. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "hatch/bpe_train.h"
#include "hatch/choice.h"
#include "hatch/model.h"
#include "hatch/train_model.h"
#include "hatch/trainer.h"
#include "train_test_util.h"

static char tmpdir[64];

static void parse_cases(hatch_test_ctx *c) {
  hatch_choice_options o;
  HATCH_EXPECT_OK(c, hatch_choice_parse("If you are at the third viewpoint and turn 90 degrees to the left, what is to your "
                                        "left? A. Metal bin B. Table C. Pathway D. Bookcase", &o));
  HATCH_EXPECT(c, o.n == 4 && !strcmp(o.text[0], "Metal bin") && !strcmp(o.text[1], "Table") &&
                      !strcmp(o.text[2], "Pathway") && !strcmp(o.text[3], "Bookcase"),
               "MindCube example: %d options, '%s' '%s' '%s' '%s'", o.n, o.text[0], o.text[1], o.text[2], o.text[3]);
  /* An earlier "A." that no B. follows is text; the options are the last run. Newlines separate too. */
  HATCH_EXPECT_OK(c, hatch_choice_parse("Plan A. is good. Which?\nA.  Red chair \nB. Blue box\n", &o));
  HATCH_EXPECT(c, o.n == 2 && !strcmp(o.text[0], "Red chair") && !strcmp(o.text[1], "Blue box"), "trimmed: '%s' '%s'",
               o.text[0], o.text[1]);
  /* Letters inside words or without the space are text ("U.S.A. B.B.") */
  HATCH_EXPECT_OK(c, hatch_choice_parse("A. Back, Right B. Front C.Left", &o));
  HATCH_EXPECT(c, o.n == 2 && !strcmp(o.text[1], "Front C.Left"), "C. needs a space: %d '%s'", o.n, o.text[1]);
  HATCH_EXPECT(c, hatch_choice_parse("Which side is the chair on?", &o) == HATCH_ERR_NOT_FOUND, "no options");
  HATCH_EXPECT(c, hatch_choice_parse("Which? A. Chair", &o) == HATCH_ERR_NOT_FOUND, "one option is no choice");
  HATCH_EXPECT(c, hatch_choice_parse("Which? A. Chair B.  C. Box", &o) == HATCH_ERR_CORRUPT, "an empty option");
  char longq[400];
  snprintf(longq, sizeof longq, "Which? A. %0200d B. Box", 0);
  HATCH_EXPECT(c, hatch_choice_parse(longq, &o) == HATCH_ERR_TOO_LARGE, "an option past HATCH_PLAN_MAX_TEXT");
  HATCH_EXPECT(c, hatch_choice_parse(NULL, &o) == HATCH_ERR_INVALID_ARGUMENT, "NULL");
}

/* The whole sequence prompt + response from an empty cache: sum of log p(response[i]). */
static double direct_logp(hatch_model *m, const int32_t *prompt, int n_prompt, const int32_t *pos, hatch_tensor *img,
                          int32_t next, const int32_t *resp, int n_resp) {
  int n = n_prompt + n_resp;
  int32_t *ids = malloc(sizeof(int32_t) * (size_t)n), *p3 = malloc(sizeof(int32_t) * 3 * (size_t)n);
  int64_t vocab = hatch_model_config(m)->text.vocab_size;
  float *logits = malloc(sizeof(float) * (size_t)(vocab * n));
  memcpy(ids, prompt, sizeof(int32_t) * (size_t)n_prompt);
  memcpy(ids + n_prompt, resp, sizeof(int32_t) * (size_t)n_resp);
  for (int c = 0; c < 3; c++) {
    memcpy(p3 + (size_t)c * n, pos + (size_t)c * n_prompt, sizeof(int32_t) * (size_t)n_prompt);
    for (int i = 0; i < n_resp; i++) p3[(size_t)c * n + n_prompt + i] = next + i;
  }
  hatch_model_reset(m);
  double sum = NAN;
  if (hatch_model_forward(m, ids, n, p3, &img, 1, logits, n) == HATCH_OK) {
    sum = 0;
    for (int i = 0; i < n_resp; i++) {
      const float *row = logits + (size_t)(n_prompt + i - 1) * vocab;
      double mx = row[0], z = 0;
      for (int64_t v = 1; v < vocab; v++) mx = row[v] > mx ? row[v] : mx;
      for (int64_t v = 0; v < vocab; v++) z += exp(row[v] - mx);
      sum += row[resp[i]] - mx - log(z);
    }
  }
  free(ids), free(p3), free(logits);
  return sum;
}

/* be: the backend the model runs on; tol: how far ranked and whole-sequence scores may disagree
 * beyond their shared constant (the same backend runs both; only the batching differs). */
static void rank_on(hatch_test_ctx *c, hatch_backend *be, double tol) {
  char path[128];
  snprintf(path, sizeof path, "%s/tiny.gguf", tmpdir);
  hatch_tokenizer *tok = NULL;
  hatch_tokenizer_error te;
  hatch_qwen25vl_config cfg;
  char why[256];
  HATCH_EXPECT_OK(c, hatch_tokenizer_load_json(TRAIN_TEST_TOKENIZER, &tok, &te));
  HATCH_EXPECT_OK(c, hatch_trainer_preset_config("tiny", tok, &cfg, why));
  hatch_train_limits lim = {.max_images = 1, .max_image_pixels = 56 * 56, .max_tokens = 64};
  hatch_train_model *tm = NULL;
  hatch_train_report tr;
  HATCH_EXPECT_OK(c, hatch_train_model_create(&cfg, &lim, 1, &tm, &tr));
  if (!tm || !tok) return;
  hatch_train_model_init_random(tm, 5);
  hatch_bpe_gguf_meta meta = {.tok = tok, .n_vocab = cfg.text.vocab_size};
  hatch_qwen25vl_write_options wo = {.name = "choice", .matrix_type = HATCH_TYPE_F32,
                                     .add_metadata = hatch_bpe_gguf_add_metadata, .metadata_user = &meta};
  HATCH_EXPECT_OK(c, hatch_train_model_save_gguf(tm, path, &wo, &tr));
  hatch_train_model_destroy(tm);

  hatch_model *m = NULL;
  hatch_model_report mr = {""};
  hatch_model_options mo = {.max_context = 256, .kv_f32 = true};
  HATCH_EXPECT(c, hatch_model_load(be, path, NULL, &mo, &m, &mr) == HATCH_OK, "load: %s", mr.message);
  uint8_t *rgb = train_test_image(56, 56, 1);
  hatch_tensor *img = NULL;
  int32_t *prompt = NULL, *pos = NULL, next = 0;
  size_t n_prompt = 0;
  if (m) HATCH_EXPECT_OK(c, hatch_model_encode_image(m, rgb, 56, 56, &img));
  const char *question = "Which object is behind the table? A. Red box B. Blue ball C. Green sofa";
  int32_t pads = 4, gh = 2, gw = 2;
  hatch_chat_prompt cp = {.image_tokens = &pads, .n_images = 1, .question = question};
  HATCH_EXPECT_OK(c, hatch_tokenizer_encode_chat(tok, &cp, &prompt, &n_prompt));
  if (!m || !img || !prompt) goto done;
  pos = malloc(sizeof(int32_t) * 3 * n_prompt);
  HATCH_EXPECT_OK(c, hatch_model_rope_positions(m, prompt, (int)n_prompt, &gh, &gw, 1, pos, &next));
  hatch_choice_options o;
  HATCH_EXPECT_OK(c, hatch_choice_parse(question, &o));
  int32_t stop = hatch_tokenizer_find(tok, "<|im_end|>", 10);
  /* Generated so far, and the part rank must keep before the answer: up to "<answer>", else through a
   * complete action, else nothing (an unfinished action is dropped). */
  static const char *const generated_text[] = {"<answer>C", "<action>{from:0,to:1,action:[{turn left: 90 deg}]}</action><ans",
                                               "<action>{from:0,to:1,act"};
  static const char *const prefixes[] = {"", "<action>{from:0,to:1,action:[{turn left: 90 deg}]}</action>", ""};
  for (int t = 0; t < 3; t++) {
    int32_t *gen = NULL;
    size_t n_gen = 0;
    HATCH_EXPECT_OK(c, hatch_tokenizer_encode(tok, generated_text[t], strlen(generated_text[t]), false, &gen, &n_gen));
    float *scratch = malloc(sizeof(float) * (size_t)cfg.text.vocab_size * (n_prompt + n_gen));
    int32_t *p3 = malloc(sizeof(int32_t) * 3 * (n_prompt + n_gen));
    /* The cache as a generation leaves it: prompt, then every generated token but the last. */
    hatch_model_reset(m);
    HATCH_EXPECT_OK(c, hatch_model_forward(m, prompt, (int)n_prompt, pos, &img, 1, scratch, 1));
    for (size_t i = 0; i + 1 < n_gen; i++) {
      int32_t q[3] = {next + (int32_t)i, next + (int32_t)i, next + (int32_t)i};
      HATCH_EXPECT_OK(c, hatch_model_forward(m, &gen[i], 1, q, NULL, 0, scratch, 1));
    }
    hatch_choice_state cs = {.model = m, .tok = tok, .n_prompt = (int)n_prompt, .last_prompt_id = prompt[n_prompt - 1],
                             .first_pos = next, .generated = gen, .n_generated = (int)n_gen, .stop_id = stop};
    hatch_choice_result r;
    HATCH_EXPECT_OK(c, hatch_choice_rank(&cs, generated_text[t], &o, &r));
    int best = 0;
    double worst_diff = 0, spread = 0;
    for (int k = 0; k < o.n; k++) {
      char text[512];
      snprintf(text, sizeof text, "%s<answer>%c. %s</answer>", prefixes[t], 'A' + k, o.text[k]);
      int32_t *resp = NULL;
      size_t n_resp = 0;
      HATCH_EXPECT_OK(c, hatch_tokenizer_encode(tok, text, strlen(text), false, &resp, &n_resp));
      resp = realloc(resp, sizeof(int32_t) * (n_resp + 1));
      resp[n_resp++] = stop;
      /* rank scores the response after the part every option shares with the generation: add that
       * part's log-probability, the same for every option, from the first option's full score. */
      double whole = direct_logp(m, prompt, (int)n_prompt, pos, img, next, resp, (int)n_resp);
      double d = whole - r.logp[k];
      if (k == 0) spread = d;
      else if (fabs(d - spread) > worst_diff) worst_diff = fabs(d - spread);
      if (r.logp[k] > r.logp[best]) best = k;
      if (k == r.best) HATCH_EXPECT(c, !strcmp(r.text, text), "best response '%s' != '%s'", r.text, text);
      free(resp);
    }
    printf("  prefix %d: logp %.4f %.4f %.4f, best %c; whole-sequence minus ranked differs across options by %.2g\n", t,
           r.logp[0], r.logp[1], r.logp[2], 'A' + r.best, worst_diff);
    HATCH_EXPECT(c, worst_diff < tol, "ranked scores are not whole-sequence scores up to a shared constant (%.3g)",
                 worst_diff);
    HATCH_EXPECT(c, best == r.best && r.logp[0] < 0 && isfinite(r.logp[0]), "best %d vs %d", r.best, best);
    free(gen), free(scratch), free(p3);
  }
  hatch_choice_state bad = {.model = m, .tok = tok, .n_prompt = 0};
  hatch_choice_result r;
  HATCH_EXPECT(c, hatch_choice_rank(&bad, "", &o, &r) == HATCH_ERR_INVALID_ARGUMENT, "an empty prompt is refused");
  HATCH_EXPECT(c, hatch_model_rewind(m, hatch_model_n_past(m) + 1) == HATCH_ERR_INVALID_ARGUMENT, "rewind forward");
done:
  free(rgb), free(prompt), free(pos);
  hatch_tensor_destroy(img);
  hatch_model_destroy(m);
  hatch_tokenizer_destroy(tok);
}

static void rank_matches_whole_sequences(hatch_test_ctx *c) { rank_on(c, c->cpu, 1e-9); }
static void rank_on_vulkan(hatch_test_ctx *c) { rank_on(c, c->vk, 1e-3); }

int main(int argc, char **argv) {
  snprintf(tmpdir, sizeof tmpdir, "/tmp/hatch-test-choice-XXXXXX");
  if (!mkdtemp(tmpdir)) return perror("mkdtemp"), 1;
  static const hatch_test_case cases[] = {
      {"parse_cases", parse_cases, false},
      {"rank_matches_whole_sequences", rank_matches_whole_sequences, false},
      {"rank_on_vulkan", rank_on_vulkan, true},
  };
  int rc = hatch_test_main(argc, argv, cases, sizeof cases / sizeof cases[0]);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
  return rc;
}
