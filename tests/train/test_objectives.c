/* The HATCH objectives: PaStA loss and gradient (finite differences), GRPO advantages and the clipped
 * token objective, the ActoR reward, MindCube answer extraction and scoring. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "harness.h"
#include "hatch/safetensors.h"
#include "hatch/mindcube.h"
#include "hatch/train_eval.h"
#include "hatch/train_objectives.h"

static double pasta_at(const float *fx, int ghx, int gwx, const float *fy, int ghy, int gwy, int dim, const float *S,
                      const hatch_pasta_loss_options *o) {
  double l = NAN;
  hatch_pasta_loss(fx, ghx, gwx, fy, ghy, gwy, dim, S, o, &l, NULL, NULL, NULL);
  return l;
}

/* Gradient against central differences on odd grids (5x6 and 4x7, cells of unequal size), with rows
 * and columns of S left empty. */
static void pasta_gradient(hatch_test_ctx *c) {
  enum { GHX = 5, GWX = 6, GHY = 4, GWY = 7, D = 13, N = 16 };
  hatch_pasta_loss_options o = {.n = 4, .tau1 = 0.1f, .tau2 = 0.2f};
  float fx[GHX * GWX * D], fy[GHY * GWY * D], S[N * N], dfx[GHX * GWX * D], dfy[GHY * GWY * D];
  hatch_test_fill(c, fx, GHX * GWX * D, -1, 1);
  hatch_test_fill(c, fy, GHY * GWY * D, -1, 1);
  hatch_test_fill(c, S, N * N, 0, 1);
  for (int j = 0; j < N; j++) S[3 * N + j] = S[9 * N + j] = 0; /* X cells 3, 9: no match */
  for (int i = 0; i < N; i++) S[i * N + 5] = 0;                 /* Y cell 5: no match */
  double loss;
  int valid[2];
  HATCH_EXPECT_OK(c, hatch_pasta_loss(fx, GHX, GWX, fy, GHY, GWY, D, S, &o, &loss, dfx, dfy, valid));
  HATCH_EXPECT(c, valid[0] == 14 && valid[1] == 15, "valid rows %d %d, want 14 15", valid[0], valid[1]);
  HATCH_EXPECT(c, loss > 0 && isfinite(loss), "loss %g", loss);
  double worst = 0;
  for (int which = 0; which < 2; which++)
    for (int k = 0; k < 40; k++) {
      float *f = which ? fy : fx;
      int n = which ? GHY * GWY * D : GHX * GWX * D;
      int at = (int)(hatch_test_uniform(c, 0, 1) * n) % n;
      float keep = f[at], up = keep + 1e-3f, down = keep - 1e-3f;
      f[at] = up;
      double lp = pasta_at(fx, GHX, GWX, fy, GHY, GWY, D, S, &o);
      f[at] = down;
      double lm = pasta_at(fx, GHX, GWX, fy, GHY, GWY, D, S, &o);
      f[at] = keep;
      double fd = (lp - lm) / ((double)up - down), an = which ? dfy[at] : dfx[at];
      double err = fabs(fd - an) / fmax(1e-3, fabs(fd) + fabs(an));
      if (err > worst) worst = err;
    }
  /* The loss is computed and returned in double, the step is the exact float difference: central
   * differences with h = 1e-3 carry O(h²) ~ 1e-6 curvature error; the analytic gradient is stored
   * as float (1e-7 relative). */
  HATCH_EXPECT(c, worst < 1e-5, "worst relative gradient error %g", worst);
}

/* Aligned cell embeddings with an identity target give a lower loss than shuffled ones; an empty
 * target is refused; grids smaller than the cell grid are refused. */
static void pasta_semantics(hatch_test_ctx *c) {
  enum { G = 4, D = 8, N = 16 };
  hatch_pasta_loss_options o = {.n = 4, .tau1 = 0.05f, .tau2 = 0.1f};
  float fx[G * G * D], fy[G * G * D], S[N * N] = {0}, shuffled[G * G * D];
  hatch_test_fill(c, fx, G * G * D, -1, 1);
  memcpy(fy, fx, sizeof fx);
  for (int i = 0; i < N; i++) S[i * N + i] = 1;
  for (int i = 0; i < N; i++) memcpy(shuffled + i * D, fx + ((i * 7 + 3) % N) * D, sizeof(float) * D);
  double aligned = pasta_at(fx, G, G, fy, G, G, D, S, &o), mixed = pasta_at(fx, G, G, shuffled, G, G, D, S, &o);
  HATCH_EXPECT(c, aligned < mixed, "aligned %g not below shuffled %g", aligned, mixed);
  float zero[N * N] = {0};
  double l;
  HATCH_EXPECT(c, hatch_pasta_loss(fx, G, G, fy, G, G, D, zero, &o, &l, NULL, NULL, NULL) == HATCH_ERR_NOT_FOUND,
               "an all-zero target must be refused");
  HATCH_EXPECT(c, hatch_pasta_loss(fx, 3, 5, fy, G, G, D, S, &o, &l, NULL, NULL, NULL) == HATCH_ERR_INVALID_ARGUMENT,
               "a 3-row grid cannot hold 4 cells");
}

static char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *buf = malloc((size_t)n + 1);
  if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) free(buf), buf = NULL;
  if (buf) buf[n] = 0, *len = (size_t)n;
  fclose(f);
  return buf;
}

/* The PaStA loss on the vision features transformers computed (float64, tests/fixtures/train,
 * tools/gen_train_fixtures.py) against its loss there: the same definition, cells of unequal size
 * (merged grids 4x5 and 6x4), rows and columns without correspondence. */
static void pasta_matches_pytorch(hatch_test_ctx *c) {
  size_t len = 0;
  char *text = slurp(HATCH_FIXTURE_DIR "/train/sample.json", &len);
  HATCH_EXPECT(c, text != NULL, "tests/fixtures/train/sample.json missing");
  if (!text) return;
  cJSON *js = cJSON_Parse(text);
  hatch_st_file *st = NULL;
  hatch_st_report rep;
  HATCH_EXPECT_OK(c, hatch_st_file_open(HATCH_FIXTURE_DIR "/train/expected.safetensors", &st, &rep));
  const cJSON *p = cJSON_GetObjectItem(js, "pasta"), *grid = cJSON_GetObjectItem(js, "merged_grid_hw");
  const cJSON *S = cJSON_GetObjectItem(p, "S");
  const hatch_st_tensor *feat = st ? hatch_st_file_find(st, "pasta.features") : NULL;
  const hatch_st_tensor *want = st ? hatch_st_file_find(st, "pasta.loss") : NULL;
  HATCH_EXPECT(c, feat && want && cJSON_GetArraySize(S) == 16 && feat->n_dims == 2, "fixture fields");
  if (feat && want && cJSON_GetArraySize(S) == 16) {
    int gh0 = cJSON_GetArrayItem(cJSON_GetArrayItem(grid, 0), 0)->valueint, gw0 = cJSON_GetArrayItem(cJSON_GetArrayItem(grid, 0), 1)->valueint;
    int gh1 = cJSON_GetArrayItem(cJSON_GetArrayItem(grid, 1), 0)->valueint, gw1 = cJSON_GetArrayItem(cJSON_GetArrayItem(grid, 1), 1)->valueint;
    int dim = (int)feat->shape[1];
    float *f = malloc(sizeof(float) * (size_t)feat->n_elems), Sm[256], expect;
    hatch_st_tensor_to_f32(feat, 0, feat->n_elems, f);
    hatch_st_tensor_to_f32(want, 0, 1, &expect);
    for (int i = 0; i < 16; i++)
      for (int j = 0; j < 16; j++) Sm[i * 16 + j] = (float)cJSON_GetArrayItem(cJSON_GetArrayItem(S, i), j)->valuedouble;
    hatch_pasta_loss_options o = {.n = 4, .tau1 = (float)cJSON_GetObjectItem(p, "tau1")->valuedouble,
                                  .tau2 = (float)cJSON_GetObjectItem(p, "tau2")->valuedouble};
    double loss = 0;
    HATCH_EXPECT_OK(c, hatch_pasta_loss(f, gh0, gw0, f + (size_t)gh0 * gw0 * dim, gh1, gw1, dim, Sm, &o, &loss, NULL, NULL, NULL));
    /* Inputs are the float32 roundings of float64 values: 1e-6 relative covers them. */
    HATCH_EXPECT(c, fabs(loss - expect) <= 1e-6 * fabs(expect), "PaStA loss %.9g, PyTorch %.9g", loss, expect);
    free(f);
  }
  hatch_st_file_close(st);
  cJSON_Delete(js);
  free(text);
}

static void grpo_advantages(hatch_test_ctx *c) {
  hatch_grpo_options o = hatch_grpo_defaults();
  float r[4] = {1, 0, 0, 1}, a[4];
  HATCH_EXPECT(c, !hatch_grpo_advantages(r, 4, &o, a), "not dropped");
  /* mean 0.5, sample std sqrt(1/3) = 0.57735 */
  HATCH_EXPECT(c, fabsf(a[0] - 0.5f / (0.57735027f + 1e-4f)) < 1e-5f && fabsf(a[1] + a[0]) < 1e-6f, "adv %g %g", a[0], a[1]);
  float same[3] = {0.7f, 0.7f, 0.7f};
  hatch_grpo_options dapo = hatch_grpo_dapo_defaults();
  HATCH_EXPECT(c, hatch_grpo_advantages(same, 3, &dapo, a) && a[0] == 0 && a[2] == 0, "equal group dropped");
  o.scale_by_std = false;
  hatch_grpo_advantages(r, 4, &o, a);
  HATCH_EXPECT(c, a[0] == 0.5f && a[1] == -0.5f, "unscaled adv %g %g", a[0], a[1]);
}

/* d loss / d logp_new against central differences where the objective is smooth, zero where the
 * ratio is clipped, and the k3 KL term's gradient. */
static void grpo_token_gradient(hatch_test_ctx *c) {
  hatch_grpo_options o = hatch_grpo_defaults();
  o.kl_beta = 0.1f;
  float lnew[4] = {-1.0f, -2.0f, -0.5f, -3.0f}, lold[4] = {-1.1f, -1.5f, -0.5f, -3.5f}, lref[4] = {-1.2f, -2.1f, -0.4f, -2.9f};
  float d[4];
  for (int sign = -1; sign <= 1; sign += 2) {
    float adv = 0.8f * sign;
    hatch_grpo_token_stats st = {0};
    hatch_grpo_sequence_loss(lnew, lold, lref, 4, adv, 0.25f, &o, d, &st);
    HATCH_EXPECT(c, st.n_tokens == 4, "tokens %d", st.n_tokens);
    for (int t = 0; t < 4; t++) {
      float keep = lnew[t], eps = 1e-3f, dd[4];
      lnew[t] = keep + eps;
      double lp = hatch_grpo_sequence_loss(lnew, lold, lref, 4, adv, 0.25f, &o, dd, NULL);
      lnew[t] = keep - eps;
      double lm = hatch_grpo_sequence_loss(lnew, lold, lref, 4, adv, 0.25f, &o, dd, NULL);
      lnew[t] = keep;
      double fd = (lp - lm) / (2 * eps);
      HATCH_EXPECT(c, fabs(fd - d[t]) < 2e-3, "adv %g token %d: fd %g analytic %g", adv, t, fd, d[t]);
    }
  }
  /* Token 1 has ratio exp(-0.5) = 0.61 < 0.8: with A < 0 the clipped term is the min -> no policy
   * gradient, only the KL part. */
  o.kl_beta = 0;
  hatch_grpo_token_stats st = {0};
  hatch_grpo_sequence_loss(lnew, lold, NULL, 4, -1.0f, 1.0f, &o, d, &st);
  HATCH_EXPECT(c, d[1] == 0 && st.n_clipped >= 1, "clipped token has gradient %g", d[1]);
  HATCH_EXPECT(c, fabsf(d[2] - 1.0f) < 1e-6f, "on-policy token: d = -A·1 = %g", d[2]);
}

static void reward_parts(hatch_test_ctx *c) {
  hatch_reward_options o = hatch_reward_defaults();
  hatch_plan_limits lim = {.n_views = 4, .n_options = 4};
  hatch_relative_pose truth = {.t_m = {0, 0, 1.2}, .yaw_deg = -120, .pitch_deg = 0};
  const char *good = "<action>{from:0,to:1,action:[{turn right: 120 deg}{move forward: 1.2 m}]}</action>"
                     "<answer>C. Back, Right</answer>";
  /* turn right 120 then forward: the position ends 1.2 m along the turned axis, not straight ahead. */
  hatch_relative_pose exact;
  hatch_plan_action acts[2] = {{HATCH_TURN_RIGHT, 120}, {HATCH_MOVE_FORWARD, 1.2}};
  hatch_plan_compose(acts, 2, &exact);
  hatch_reward_parts p = hatch_reward_score(good, strlen(good), &lim, 'C', true, 0, 1, &exact, &o);
  HATCH_EXPECT(c, p.parsed && p.format == 1 && p.answer == 1 && p.action > 0.999f, "good: %g %g %g", p.format,
               p.answer, p.action);
  HATCH_EXPECT(c, fabsf(p.total - (o.w_action + o.w_answer + o.w_format)) < 1e-3f, "total %g", p.total);
  p = hatch_reward_score(good, strlen(good), &lim, 'C', true, 0, 1, &truth, &o);
  HATCH_EXPECT(c, p.action > 0 && p.action < 0.5f && p.t_err_m > 1.0, "pose off by %g m: action %g", p.t_err_m, p.action);
  p = hatch_reward_score(good, strlen(good), &lim, 'B', true, 0, 2, &exact, &o);
  HATCH_EXPECT(c, p.answer == 0 && p.action == 0, "wrong letter / no such step: %g %g", p.answer, p.action);
  const char *answer_only = "I think <answer>C. Back, Right</answer>";
  p = hatch_reward_score(answer_only, strlen(answer_only), &lim, 'C', true, 0, 1, &exact, &o);
  HATCH_EXPECT(c, !p.parsed && p.format == 0.5f && p.answer == 1 && p.action == 0, "answer only: %g %g", p.format, p.answer);
  p = hatch_reward_score("zzz", 3, &lim, 'C', true, 0, 1, &exact, &o);
  HATCH_EXPECT(c, p.total == 0, "garbage scores %g", p.total);
}

static void mindcube_extraction(hatch_test_ctx *c) {
  static const struct { const char *text; char want; } cases[] = {
      {"<answer>C. Back, Right</answer>", 'C'},
      {"A. Wall is wrong; the right one is B. Sliding door", 'B'},
      {"The answer is d", 'D'},
      {"the answer is: (E)", 'E'},
      {"  b ", 'B'},
      {"B)", 'B'},
      {"<answer>A</answer>", 'A'},
      {"Plan A.B is fine", 0}, /* "A." inside a word run is still a letter-dot: MindCube takes it */
      {"no idea", 0},
      {"", 0},
      {"F. nothing", 0},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char got = hatch_mindcube_extract_answer(cases[i].text, strlen(cases[i].text));
    char want = cases[i].want;
    if (i == 7) want = 'A';
    HATCH_EXPECT(c, got == want, "\"%s\": got %c want %c", cases[i].text, got ? got : '0', want ? want : '0');
  }
  hatch_mindcube_score s = {0};
  hatch_mindcube_score_add(&s, "among_001", 'A', 'A');
  hatch_mindcube_score_add(&s, "among_002", 'B', 'A');
  hatch_mindcube_score_add(&s, "rotation_1", 'C', 'C');
  hatch_mindcube_score_add(&s, "translation_1", 'C', 'C');
  hatch_mindcube_score_add(&s, "around_9", 0, 'C');
  HATCH_EXPECT(c, hatch_mindcube_accuracy(&s, HATCH_MINDCUBE_AMONG) == 50.0, "among");
  HATCH_EXPECT(c, hatch_mindcube_overall_total(&s) == 4 && hatch_mindcube_overall(&s) == 50.0,
               "overall excludes translation: %g of %d", hatch_mindcube_overall(&s), hatch_mindcube_overall_total(&s));
}

/* Word-grounded vision tokens: the loss of a row is one cross-entropy over z = E f per word it has
 * (W words per row, -1 for a word a row lacks: a cell with no object still names its side), checked
 * against a direct double computation; the gradient (accumulated with a scale) against central
 * differences; rows with no word add nothing; targets outside the vocab are refused. */
enum { CW_WORDS = 3 };
static double cell_words_row(const float *f, const float *E, int V, int D, const int32_t *tg) {
  double z[16], m = -1e300, den = 0, loss = 0;
  for (int v = 0; v < V; v++) {
    z[v] = 0;
    for (int k = 0; k < D; k++) z[v] += (double)E[v * D + k] * f[k];
    m = fmax(m, z[v]);
  }
  for (int v = 0; v < V; v++) den += exp(z[v] - m);
  for (int w = 0; w < CW_WORDS; w++) loss += tg[w] >= 0 ? m + log(den) - z[tg[w]] : 0;
  return loss;
}

static void cell_words(hatch_test_ctx *c) {
  enum { R = 6, D = 7, V = 11, W = CW_WORDS };
  float f[R * D], E[V * D], d[R * D];
  int32_t tg[R * W] = {3, 7, 1, -1, -1, -1, 0, 10, 2, 4, 4, 1, 9, 2, -1, -1, -1, 2};
  hatch_test_fill(c, f, R * D, -1, 1);
  hatch_test_fill(c, E, V * D, -1, 1);
  for (int i = 0; i < R * D; i++) d[i] = 0.25f; /* accumulated into */
  double sum = 0;
  int64_t n = 0;
  HATCH_EXPECT_OK(c, hatch_cell_words_loss(f, R, D, tg, W, E, V, 0.5f, &sum, d, &n));
  double want = 0;
  for (int r = 0; r < R; r++) want += cell_words_row(f + r * D, E, V, D, tg + W * r);
  HATCH_EXPECT(c, n == 5 && fabs(sum - want) < 1e-9 * fabs(want), "loss %.12g want %.12g (%lld rows)", sum, want, (long long)n);
  for (int k = 0; k < D; k++) HATCH_EXPECT(c, d[1 * D + k] == 0.25f, "unlabelled row 1 got a gradient");
  double worst = 0;
  for (int r = 0; r < R; r++) {
    if (r == 1) continue;
    for (int k = 0; k < D; k++) {
      float keep = f[r * D + k], h = 1e-3f;
      f[r * D + k] = keep + h;
      double lp = cell_words_row(f + r * D, E, V, D, tg + W * r);
      f[r * D + k] = keep - h;
      double lm = cell_words_row(f + r * D, E, V, D, tg + W * r);
      f[r * D + k] = keep;
      double fd = 0.5 * (lp - lm) / ((double)(keep + h) - (keep - h)), an = d[r * D + k] - 0.25;
      worst = fmax(worst, fabs(fd - an) / fmax(1e-3, fabs(fd) + fabs(an)));
    }
  }
  HATCH_EXPECT(c, worst < 1e-4, "worst relative gradient error %g", worst);
  int32_t outside[2] = {3, V}, below[2] = {-2, 3};
  HATCH_EXPECT(c, hatch_cell_words_loss(f, 1, D, outside, 2, E, V, 1, &sum, d, NULL) == HATCH_ERR_INVALID_ARGUMENT, "outside vocab");
  HATCH_EXPECT(c, hatch_cell_words_loss(f, 1, D, below, 2, E, V, 1, &sum, d, NULL) == HATCH_ERR_INVALID_ARGUMENT, "id -2");
  HATCH_EXPECT(c, hatch_cell_words_loss(f, 1, D, below + 1, HATCH_CELL_MAX_WORDS + 1, E, V, 1, &sum, d, NULL) == HATCH_ERR_INVALID_ARGUMENT,
               "too many words per row");
}

/* The targets of one view: raster order, object words from the cell's object (none for no object, an
 * object past n_objects, or one without words), the side word by column: left of the middle, right
 * past it, none in the middle column of an odd width. */
static void cell_word_targets(hatch_test_ctx *c) {
  const int16_t cells[2 * 5] = {0, -1, 1, 2, 7, -1, 0, 0, 1, 1}; /* (2, 5): object 2 has no words, 7 is past n */
  const int32_t words[3][2] = {{10, 11}, {20, 21}, {-1, -1}}, sides[2] = {5, 6};
  int32_t tg[10 * 3];
  int64_t n = hatch_cell_word_targets(cells, 2, 5, 3, words, sides, tg);
  const int32_t want[10 * 3] = {10, 11, 5, -1, -1, 5, 20, 21, -1, -1, -1, 6, -1, -1, 6,
                                -1, -1, 5, 10, 11, 5, 10, 11, -1, 20, 21, 6, 20, 21, 6};
  HATCH_EXPECT(c, n == 10 && !memcmp(tg, want, sizeof want), "(2, 5) with sides: %lld labelled", (long long)n);
  n = hatch_cell_word_targets(cells, 2, 5, 3, words, NULL, tg);
  const int32_t want2[10 * 2] = {10, 11, -1, -1, 20, 21, -1, -1, -1, -1, -1, -1, 10, 11, 10, 11, 20, 21, 20, 21};
  HATCH_EXPECT(c, n == 6 && !memcmp(tg, want2, sizeof want2), "(2, 5) without sides: %lld labelled", (long long)n);
  n = hatch_cell_word_targets(NULL, 1, 4, 0, words, sides, tg);
  const int32_t want3[4 * 3] = {-1, -1, 5, -1, -1, 5, -1, -1, 6, -1, -1, 6};
  HATCH_EXPECT(c, n == 4 && !memcmp(tg, want3, sizeof want3), "(1, 4), no objects: %lld labelled", (long long)n);
}

/* Caption scoring: names matched per view as sets (case-insensitive), exact views in order, a view the
 * response skips names nothing, "none" names nothing. */
static void caption_scoring(hatch_test_ctx *c) {
  const char *truth = "Image 1: Red box, Blue ball. Image 2: none. Image 3: Black chair.";
  hatch_caption_score s = {0};
  hatch_caption_score_add(&s, truth, truth, strlen(truth));
  HATCH_EXPECT(c, s.captions == 1 && s.captions_exact == 1 && s.views == 3 && s.views_exact == 3 && s.named_true == 3 &&
                      s.named_generated == 3 && s.named_correct == 3, "identical caption");
  const char *swapped = "Image 1: blue ball, Red box, Green bin. Image 3: Black chair";
  hatch_caption_score_add(&s, truth, swapped, strlen(swapped));
  /* view 1: 2 of 3 generated are right, order wrong; view 2 skipped (= none, exact); view 3 exact */
  HATCH_EXPECT(c, s.captions == 2 && s.captions_exact == 1 && s.views == 6 && s.views_exact == 5, "views %d exact %d",
               s.views, s.views_exact);
  HATCH_EXPECT(c, s.named_true == 6 && s.named_generated == 7 && s.named_correct == 6, "named %d/%d/%d", s.named_true,
               s.named_generated, s.named_correct);
  const char *wrong = "Image 1: Red box. Image 2: Red box. Image 3: none.";
  hatch_caption_score_add(&s, truth, wrong, strlen(wrong));
  HATCH_EXPECT(c, s.views_exact == 5 && s.named_generated == 9 && s.named_correct == 7, "wrong caption: %d exact, %d/%d",
               s.views_exact, s.named_correct, s.named_generated);
  hatch_caption_score_add(&s, truth, "", 0);
  HATCH_EXPECT(c, s.captions == 4 && s.named_true == 12 && s.named_correct == 7 && s.views_exact == 6, "empty response");
}

int main(int argc, char **argv) {
  static const hatch_test_case cases[] = {
      {"pasta_gradient", pasta_gradient, false},   {"pasta_semantics", pasta_semantics, false},
      {"pasta_matches_pytorch", pasta_matches_pytorch, false},
      {"grpo_advantages", grpo_advantages, false}, {"grpo_token_gradient", grpo_token_gradient, false},
      {"reward_parts", reward_parts, false},       {"mindcube_extraction", mindcube_extraction, false},
      {"caption_scoring", caption_scoring, false},
      {"cell_word_targets", cell_word_targets, false},
      {"cell_words", cell_words, false},
  };
  return hatch_test_main(argc, argv, cases, sizeof cases / sizeof cases[0]);
}
