/* hatch-train corpus: the text a small model's tokenizer is trained on: for synthetic samples, the
 * question and both target texts (answer only, action then answer), one per line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "hatch/sim_dataset.h"
#include "hatch/train_prompt.h"

int hatch_train_cmd_corpus(int argc, char **argv) {
  const char *out = NULL;
  hatch_sim_stream_options so = {.seed = 7, .image_size = 56, .questions_per_world = 4, .n_samples = 2000};
  for (int i = 1; i < argc; i++) {
    bool has = i + 1 < argc;
    if (!strcmp(argv[i], "--out") && has) out = argv[++i];
    else if (!strcmp(argv[i], "--samples") && has) so.n_samples = atol(argv[++i]);
    else if (!strcmp(argv[i], "--seed") && has) so.seed = strtoull(argv[++i], NULL, 10);
    else return fprintf(stderr, "usage: hatch-train corpus --out corpus.txt [--samples N (2000)] [--seed S]\n"), 2;
  }
  if (!out || so.n_samples < 1) return fprintf(stderr, "hatch-train corpus: need --out and --samples >= 1\n"), 2;
  hatch_sim_stream *s = NULL;
  char err[256] = "";
  hatch_status st = hatch_sim_stream_create(&so, &s, err);
  if (st != HATCH_OK) return fprintf(stderr, "hatch-train corpus: %s\n", err), 1;
  FILE *f = fopen(out, "w");
  if (!f) {
    hatch_sim_stream_destroy(s);
    return fprintf(stderr, "hatch-train corpus: cannot write %s\n", out), 1;
  }
  hatch_train_sample smp = {0};
  char text[HATCH_SAMPLE_MAX_ACTION + 256];
  long n = 0;
  while ((st = hatch_sim_stream_next(s, &smp)) == HATCH_OK) {
    fprintf(f, "%s\n", smp.question);
    hatch_target_text(&smp, HATCH_TARGET_ANSWER, text, sizeof text);
    fprintf(f, "%s\n", text);
    hatch_target_text(&smp, HATCH_TARGET_ACTION, text, sizeof text);
    fprintf(f, "%s\n", text);
    n++;
  }
  hatch_train_sample_clear(&smp);
  hatch_sim_stream_destroy(s);
  int bad = fclose(f) != 0 || st != HATCH_ERR_NOT_FOUND;
  if (bad) return fprintf(stderr, "hatch-train corpus: failed after %ld samples (%s)\n", n, hatch_status_message(st)), 1;
  printf("hatch-train corpus: %ld samples -> %s\n", n, out);
  return 0;
}
