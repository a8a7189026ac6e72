/* hatch-train eval: a GGUF through the runtime on MindCube-format JSONL or held-out synthetic scenes,
 * scored with MindCube's rules per setting and overall, plus plan format and action accuracy. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "hatch/sim_dataset.h"
#include "hatch/train_data.h"
#include "hatch/train_eval.h"


static void usage(void) {
  fprintf(stderr,
          "usage: hatch-train eval --model M.gguf (--data F.jsonl | --sim N [--seed S] [--image-size 112] [--settings LIST] [--grounding | --captions])\n"
          "                        [--constrained] [--rank-options] [--max-tokens N] [--threads N] [--json OUT.json] [--show N]\n"
          "                        [--answers OUT.jsonl]\n"
          "  --answers: one JSON line per question (id, source with the synthetic template, truth, answer, response)\n"
          "  --rank-options: the answer is the most likely of the question's inline options (hatch/choice.h), scored\n"
          "                  after the decoded action; without it the decoder's own letter counts (MindCube's protocol).\n");
}

static void print_totals(const char *model, const hatch_eval_totals *t, int n, int skipped, int ranked, FILE *f,
                         bool json) {
  const hatch_mindcube_score *s = &t->score;
  if (json) {
    fprintf(f, "{\"model\":\"%s\",\"samples\":%d,\"skipped\":%d,\"ranked\":%d,\"overall\":%.2f,\"overall_n\":%d", model,
            n, skipped, ranked, hatch_mindcube_overall(s), hatch_mindcube_overall_total(s));
    for (int k = 0; k < HATCH_MINDCUBE_SETTING_COUNT; k++)
      if (s->total[k])
        fprintf(f, ",\"%s\":%.2f,\"%s_n\":%d", hatch_mindcube_setting_name((hatch_mindcube_setting)k),
                hatch_mindcube_accuracy(s, (hatch_mindcube_setting)k), hatch_mindcube_setting_name((hatch_mindcube_setting)k), s->total[k]);
    fprintf(f, ",\"format\":%.2f,\"with_pose\":%d,\"action_found\":%d,\"action_close\":%.2f,\"mean_t_err_m\":%.3f,\"mean_yaw_err_deg\":%.2f}\n",
            n ? 100.0 * t->n_format_ok / n : 0, t->n_with_pose, t->n_action_found,
            t->n_with_pose ? 100.0 * t->n_action_close / t->n_with_pose : 0,
            t->n_action_found ? t->sum_t_err_m / t->n_action_found : 0,
            t->n_action_found ? t->sum_yaw_err_deg / t->n_action_found : 0);
    return;
  }
  fprintf(f, "model: %s\nsamples: %d (%d skipped)\n", model, n, skipped);
  if (ranked) fprintf(f, "answers chosen by likelihood over the options: %d\n", ranked);
  for (int k = 0; k < HATCH_MINDCUBE_SETTING_COUNT; k++)
    if (s->total[k])
      fprintf(f, "  %-11s %6.2f%%  (%d/%d)\n", hatch_mindcube_setting_name((hatch_mindcube_setting)k),
              hatch_mindcube_accuracy(s, (hatch_mindcube_setting)k), s->correct[k], s->total[k]);
  fprintf(f, "  %-11s %6.2f%%  (%d questions; translation excluded)\n", "overall", hatch_mindcube_overall(s),
          hatch_mindcube_overall_total(s));
  fprintf(f, "plan format: %.1f%% parse as a whole plan\n", n ? 100.0 * t->n_format_ok / n : 0);
  if (t->n_with_pose)
    fprintf(f, "action: %d/%d with the step; within 0.5 m / 15 deg: %.1f%%; mean error %.2f m, %.1f deg\n",
            t->n_action_found, t->n_with_pose, 100.0 * t->n_action_close / t->n_with_pose,
            t->n_action_found ? t->sum_t_err_m / t->n_action_found : 0,
            t->n_action_found ? t->sum_yaw_err_deg / t->n_action_found : 0);
}

static double pct(int a, int b) { return b ? 100.0 * a / b : 0; }

static void print_captions(const char *model, const hatch_caption_score *c, int skipped, FILE *f, bool json) {
  if (json) {
    fprintf(f, "{\"model\":\"%s\",\"captions\":%d,\"skipped\":%d,\"object_recall\":%.2f,\"object_precision\":%.2f,"
               "\"views_exact\":%.2f,\"captions_exact\":%.2f}\n", model, c->captions, skipped,
            pct(c->named_correct, c->named_true), pct(c->named_correct, c->named_generated), pct(c->views_exact, c->views),
            pct(c->captions_exact, c->captions));
    return;
  }
  fprintf(f, "model: %s\ncaptions: %d (%d skipped)\n", model, c->captions, skipped);
  fprintf(f, "  objects named: recall %.1f%% (%d/%d), precision %.1f%% (%d generated)\n", pct(c->named_correct, c->named_true),
          c->named_correct, c->named_true, pct(c->named_correct, c->named_generated), c->named_generated);
  fprintf(f, "  views exactly right (order included): %.1f%% of %d; whole captions: %.1f%%\n", pct(c->views_exact, c->views),
          c->views, pct(c->captions_exact, c->captions));
}

int hatch_train_cmd_eval(int argc, char **argv) {
  const char *model = NULL, *data = NULL, *json = NULL, *answers_path = NULL;
  long n_sim = 0;
  int show = 0, threads = 0;
  bool max_tokens_set = false;
  hatch_sim_stream_options so = {.seed = 0x5eed0000e7a1ull, .image_size = 112, .questions_per_world = 2,
                                 .settings = HATCH_SIM_SETTING_BIT(HATCH_SIM_ROTATION) | HATCH_SIM_SETTING_BIT(HATCH_SIM_AROUND) |
                                             HATCH_SIM_SETTING_BIT(HATCH_SIM_AMONG)};
  hatch_generate_options go = {.temperature = 0, .max_tokens = 128};
  for (int i = 1; i < argc; i++) {
    bool has = i + 1 < argc;
    const char *a = argv[i];
    if (!strcmp(a, "--model") && has) model = argv[++i];
    else if (!strcmp(a, "--data") && has) data = argv[++i];
    else if (!strcmp(a, "--sim") && has) n_sim = atol(argv[++i]);
    else if (!strcmp(a, "--seed") && has) so.seed = strtoull(argv[++i], NULL, 10);
    else if (!strcmp(a, "--image-size") && has) so.image_size = atoi(argv[++i]);
    else if (!strcmp(a, "--settings") && has) {
      if (!(so.settings = hatch_train_parse_settings(argv[++i]))) return fprintf(stderr, "hatch-train eval: bad --settings\n"), 2;
    } else if (!strcmp(a, "--grounding")) so.grounding = true; /* the ground stage's questions */
    else if (!strcmp(a, "--captions")) so.captions = true; /* the caption stage's task */
    else if (!strcmp(a, "--constrained")) go.constrained = true;
    else if (!strcmp(a, "--rank-options")) go.rank_options = true;
    else if (!strcmp(a, "--max-tokens") && has) go.max_tokens = atoi(argv[++i]), max_tokens_set = true;
    else if (!strcmp(a, "--threads") && has) threads = atoi(argv[++i]);
    else if (!strcmp(a, "--json") && has) json = argv[++i];
    else if (!strcmp(a, "--answers") && has) answers_path = argv[++i];
    else if (!strcmp(a, "--show") && has) show = atoi(argv[++i]);
    else if (!strcmp(a, "--help") || !strcmp(a, "-h")) return usage(), 0;
    else return fprintf(stderr, "hatch-train eval: unknown or incomplete option '%s'\n", a), usage(), 2;
  }
  if (so.captions && !max_tokens_set) go.max_tokens = 192; /* a caption names every view's objects */
  if (so.captions && (data || so.grounding || go.rank_options))
    return fprintf(stderr, "hatch-train eval: --captions scores synthetic captions (--sim N), not with --data, --grounding "
                           "or --rank-options\n"), 2;
  if (!model || (!data) == (n_sim <= 0)) return fprintf(stderr, "hatch-train eval: need --model and one of --data / --sim N\n"), usage(), 2;
  if (answers_path && so.captions) return fprintf(stderr, "hatch-train eval: --answers is for questions, not --captions\n"), 2;
  hatch_generator *gen = NULL;
  hatch_mindcube_reader *reader = NULL;
  hatch_sim_stream *stream = NULL;
  FILE *answers = NULL;
  char why[384] = "", err[256] = "";
  int rc = 1, n = 0, skipped = 0, ranked = 0;
  hatch_eval_totals tot = {0};
  hatch_caption_score caps = {0};
  hatch_train_sample s = {0};
  hatch_status st = hatch_generator_open(model, threads, &gen, why);
  if (st != HATCH_OK) {
    fprintf(stderr, "hatch-train eval: %s\n", why);
    goto done;
  }
  hatch_data_report dr = {0};
  if (data && (st = hatch_mindcube_reader_open(data, NULL, &reader, &dr)) != HATCH_OK) {
    fprintf(stderr, "hatch-train eval: %s\n", dr.message);
    goto done;
  }
  if (answers_path && !(answers = fopen(answers_path, "w"))) {
    fprintf(stderr, "hatch-train eval: cannot write %s\n", answers_path);
    goto done;
  }
  so.n_samples = n_sim;
  if (!data && (st = hatch_sim_stream_create(&so, &stream, err)) != HATCH_OK) {
    fprintf(stderr, "hatch-train eval: synthetic data: %s\n", err);
    goto done;
  }
  for (;;) {
    if (reader) {
      hatch_data_step step = hatch_mindcube_reader_next(reader, &s, &dr);
      if (step == HATCH_DATA_END) break;
      if (step == HATCH_DATA_SKIPPED) {
        fprintf(stderr, "hatch-train eval: skipped %s\n", dr.message);
        skipped++;
        continue;
      }
      if (step == HATCH_DATA_FAILED) {
        fprintf(stderr, "hatch-train eval: %s\n", dr.message);
        goto done;
      }
    } else if ((st = hatch_sim_stream_next(stream, &s)) == HATCH_ERR_NOT_FOUND) {
      break;
    } else if (st != HATCH_OK) {
      fprintf(stderr, "hatch-train eval: synthetic sample %d: %s\n", n, hatch_status_message(st));
      goto done;
    }
    hatch_generation g;
    if ((st = hatch_generator_answer(gen, &s, &go, &g)) != HATCH_OK) {
      fprintf(stderr, "hatch-train eval: %s: %s (skipped)\n", s.source, hatch_status_message(st));
      skipped++;
      hatch_train_sample_clear(&s);
      continue;
    }
    ranked += g.ranked;
    if (so.captions) hatch_caption_score_add(&caps, s.response, g.text, strlen(g.text));
    else hatch_eval_add(&tot, &s, g.text, strlen(g.text));
    if (answers && (st = hatch_eval_answer_write(answers, &s, &g)) != HATCH_OK) {
      fprintf(stderr, "hatch-train eval: writing %s: %s\n", answers_path, hatch_status_message(st));
      goto done;
    }
    if (n < show && so.captions) printf("[%s]\n  truth     %s\n  generated %s\n", s.id, s.response, g.text);
    else if (n < show) printf("[%s] gt %c | %s\n", s.id, s.gt_answer, g.text);
    n++;
    hatch_train_sample_clear(&s);
  }
  if (so.captions) print_captions(model, &caps, skipped, stdout, false);
  else print_totals(model, &tot, n, skipped, ranked, stdout, false);
  if (json) {
    FILE *f = fopen(json, "w");
    if (!f) {
      fprintf(stderr, "hatch-train eval: cannot write %s\n", json);
      goto done;
    }
    if (so.captions) print_captions(model, &caps, skipped, f, true);
    else print_totals(model, &tot, n, skipped, ranked, f, true);
    fclose(f);
  }
  rc = 0;
done:
  if (answers && fclose(answers) != 0 && rc == 0) {
    fprintf(stderr, "hatch-train eval: writing %s failed\n", answers_path);
    rc = 1;
  }
  hatch_train_sample_clear(&s);
  hatch_sim_stream_destroy(stream);
  hatch_mindcube_reader_close(reader);
  hatch_generator_close(gen);
  return rc;
}
