/* `hatch-train data --out DIR --samples N --seed S [--settings rotation,around,among,free] [--size 224]
 * [--split train] [--questions-per-world 4]` writes a dataset; `--bench` streams the samples in memory
 * instead and reports samples/s. */
#include "cli/cmd_data.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hatch/sim_dataset.h"

static void usage(FILE *f) {
  fprintf(f,
          "usage: hatch-train data --out DIR --samples N --seed S [--settings rotation,around,among,free]\n"
          "                        [--size 224] [--split train] [--questions-per-world 4]\n"
          "       hatch-train data --bench --samples N [--seed S] [--settings ...] [--size 112]\n"
          "Writes DIR/images/*.jpg, DIR/depth/*.png (16-bit mm) and DIR/<split>.jsonl (MindCube records with\n"
          "the geometry under \"hatch\"); --bench renders the same samples in memory and reports samples/s.\n");
}

static bool parse_i64(const char *s, long long lo, long long hi, long long *out) {
  if (!s || !*s) return false;
  char *end = NULL;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (errno || *end || v < lo || v > hi) return false;
  *out = v;
  return true;
}

static bool parse_settings(const char *list, unsigned *mask) {
  *mask = 0;
  char buf[128];
  if (snprintf(buf, sizeof buf, "%s", list) >= (int)sizeof buf) return false;
  for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    int found = -1;
    for (int s = 0; s < HATCH_SIM_SETTING_COUNT; s++)
      if (!strcmp(tok, hatch_sim_setting_name((hatch_sim_setting)s))) found = s;
    if (found < 0) return false;
    *mask |= HATCH_SIM_SETTING_BIT(found);
  }
  return *mask != 0;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int bench(const hatch_sim_stream_options *opt) {
  char err[256];
  hatch_sim_stream *st = NULL;
  if (hatch_sim_stream_create(opt, &st, err) != HATCH_OK) {
    fprintf(stderr, "hatch-train data: %s\n", err);
    return 1;
  }
  hatch_train_sample s = {0};
  long long n = 0;
  double t0 = now_s();
  hatch_status rc;
  while ((rc = hatch_sim_stream_next(st, &s)) == HATCH_OK) n++;
  double dt = now_s() - t0;
  hatch_train_sample_clear(&s);
  hatch_sim_stream_destroy(st);
  if (rc != HATCH_ERR_NOT_FOUND) {
    fprintf(stderr, "hatch-train data: stream failed after %lld samples: %s\n", n, hatch_status_message(rc));
    return 1;
  }
  printf("streamed %lld samples at %dx%d in %.3f s: %.1f samples/s\n", n, opt->image_size, opt->image_size, dt,
         dt > 0 ? (double)n / dt : 0.0);
  return 0;
}

int hatch_train_cmd_data(int argc, char **argv) {
  const char *out = NULL, *split = "train";
  hatch_sim_stream_options opt = {.seed = 0, .image_size = 224, .questions_per_world = 4};
  long long v = 0;
  bool have_samples = false, have_seed = false, do_bench = false;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      usage(stdout);
      return 0;
    } else if (!strcmp(a, "--bench")) {
      do_bench = true;
      continue;
    } else if (!val) {
      fprintf(stderr, "hatch-train data: %s needs a value\n", a);
      return 2;
    } else if (!strcmp(a, "--out")) {
      out = val;
    } else if (!strcmp(a, "--split")) {
      split = val;
    } else if (!strcmp(a, "--samples") && parse_i64(val, 1, (long long)1 << 40, &v)) {
      opt.n_samples = v, have_samples = true;
    } else if (!strcmp(a, "--seed") && parse_i64(val, 0, ((long long)1 << 53) - 1, &v)) {
      opt.seed = (uint64_t)v, have_seed = true;
    } else if (!strcmp(a, "--size") && parse_i64(val, 16, 4096, &v)) {
      opt.image_size = (int)v;
    } else if (!strcmp(a, "--questions-per-world") && parse_i64(val, 1, HATCH_SIM_MAX_QUESTIONS, &v)) {
      opt.questions_per_world = (int)v;
    } else if (!strcmp(a, "--settings") && parse_settings(val, &opt.settings)) {
    } else {
      fprintf(stderr, "hatch-train data: bad option or value: %s %s\n", a, val);
      usage(stderr);
      return 2;
    }
    i++;
  }
  if (!have_samples || (!do_bench && (!out || !have_seed))) {
    fprintf(stderr, "hatch-train data: --samples is required%s\n", do_bench ? "" : ", and --out and --seed");
    usage(stderr);
    return 2;
  }
  if (do_bench) return bench(&opt);
  char err[256];
  hatch_sim_dataset_summary sum;
  double t0 = now_s();
  hatch_status st = hatch_sim_dataset_write(out, split, &opt, &sum, err);
  double dt = now_s() - t0;
  if (st != HATCH_OK) {
    fprintf(stderr, "hatch-train data: %s (%s)\n", err[0] ? err : "failed", hatch_status_name(st));
    return 1;
  }
  printf("wrote %lld samples (%lld worlds) to %s/%s.jsonl in %.1f s:", (long long)sum.samples, (long long)sum.worlds,
         out, split, dt);
  for (int s = 0; s < HATCH_SIM_SETTING_COUNT; s++)
    printf(" %s %lld", hatch_sim_setting_name((hatch_sim_setting)s), (long long)sum.per_setting[s]);
  printf("; answers");
  for (int k = 0; k < HATCH_SIM_MAX_OPTIONS; k++) printf(" %c %lld", 'A' + k, (long long)sum.per_letter[k]);
  printf("; types");
  for (int t = 0; t < HATCH_SIM_Q_TEMPLATE_COUNT; t++)
    printf(" %s %lld", hatch_sim_template_name((hatch_sim_template)t), (long long)sum.per_template[t]);
  printf("\n");
  return 0;
}
