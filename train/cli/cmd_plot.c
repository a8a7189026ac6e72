/* hatch-train plot: metrics JSONL files -> one SVG (a panel per key, a line per file). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd_util.h"
#include "hatch/train_metrics.h"

enum { MAX_RUNS = 32, MAX_KEYS = 32 };

static void usage(void) {
  fprintf(stderr,
          "usage: hatch-train plot METRICS.jsonl [MORE.jsonl...] OUT.svg [--keys loss,reward] [--smooth 0.9]\n"
          "                        [--title TEXT] [--width PX] [--panel-height PX]\n"
          "  one panel per key (default: every key of the first file), one line per file; --smooth draws an\n"
          "  EMA over the faint raw curve. A file named metrics.jsonl is labelled by its directory.\n");
}

/* "runs/pasta/metrics.jsonl" -> "pasta"; "a/b.jsonl" -> "b.jsonl". Into buf. */
static const char *label_of(const char *path, char *buf, size_t cap) {
  const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path;
  if (strcmp(base, "metrics.jsonl") == 0 && slash && slash > path) {
    const char *p = slash;
    while (p > path && p[-1] != '/') p--;
    snprintf(buf, cap, "%.*s", (int)(slash - p), p);
  } else {
    snprintf(buf, cap, "%s", base);
  }
  return buf;
}

int hatch_train_cmd_plot(int argc, char **argv) {
  const char *files[MAX_RUNS + 1], *keys[MAX_KEYS];
  int n_files = 0, n_keys = 0;
  char *keys_buf = NULL;
  hatch_plot_options o = {0};
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    bool has = i + 1 < argc;
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) return usage(), 0;
    if (!strcmp(a, "--keys") && has) {
      free(keys_buf);
      keys_buf = strdup(argv[++i]);
      n_keys = 0;
      for (char *save = NULL, *k = keys_buf ? strtok_r(keys_buf, ",", &save) : NULL; k && n_keys < MAX_KEYS;
           k = strtok_r(NULL, ",", &save))
        keys[n_keys++] = k;
    } else if (!strcmp(a, "--smooth") && has) {
      o.smooth = atof(argv[++i]);
    } else if (!strcmp(a, "--title") && has) {
      o.title = argv[++i];
    } else if (!strcmp(a, "--width") && has) {
      o.width = atoi(argv[++i]);
    } else if (!strcmp(a, "--panel-height") && has) {
      o.panel_height = atoi(argv[++i]);
    } else if (a[0] == '-' && a[1]) {
      fprintf(stderr, "hatch-train plot: unknown or incomplete option '%s'\n", a);
      free(keys_buf);
      return usage(), 2;
    } else if (n_files <= MAX_RUNS) {
      files[n_files++] = a;
    } else {
      fprintf(stderr, "hatch-train plot: at most %d metrics files\n", MAX_RUNS);
      free(keys_buf);
      return 2;
    }
  }
  if (n_files < 2) {
    free(keys_buf);
    return usage(), 2;
  }
  if (!(o.smooth >= 0 && o.smooth < 1)) {
    fprintf(stderr, "hatch-train plot: --smooth must be in [0, 1)\n");
    free(keys_buf);
    return 2;
  }
  const char *out_path = files[--n_files];
  o.keys = n_keys ? keys : NULL;
  o.n_keys = n_keys;
  hatch_metrics_table *tables[MAX_RUNS] = {0};
  hatch_plot_run runs[MAX_RUNS];
  char labels[MAX_RUNS][128];
  int rc = 1;
  for (int i = 0; i < n_files; i++) {
    hatch_status st = hatch_metrics_read(files[i], &tables[i]);
    if (st != HATCH_OK) {
      fprintf(stderr, "hatch-train plot: %s: %s\n", files[i], hatch_status_message(st));
      goto free_tables;
    }
    const hatch_metrics_table *t = tables[i];
    for (int k = 0; k < t->n_messages; k++) fprintf(stderr, "warning: %s\n", t->messages[k]);
    if (t->n_skipped)
      fprintf(stderr, "warning: %s: %lld of %lld lines malformed and skipped\n", files[i], (long long)t->n_skipped,
              (long long)t->n_lines);
    runs[i] = (hatch_plot_run){label_of(files[i], labels[i], sizeof labels[i]), t};
  }
  char *svg = NULL;
  size_t len = 0;
  hatch_status st = hatch_plot_svg(runs, n_files, &o, &svg, &len);
  if (st != HATCH_OK) {
    fprintf(stderr, "hatch-train plot: %s\n", hatch_status_message(st));
    goto free_tables;
  }
  FILE *f = fopen(out_path, "wb");
  bool ok = f && fwrite(svg, 1, len, f) == len;
  if (f && fclose(f) != 0) ok = false;
  free(svg);
  if (!ok) {
    fprintf(stderr, "hatch-train plot: cannot write %s\n", out_path);
    goto free_tables;
  }
  int n_panels = n_keys ? n_keys : tables[0]->n_series;
  fprintf(stderr, "wrote %s: %d panel%s, %d run%s\n", out_path, n_panels, n_panels == 1 ? "" : "s", n_files,
          n_files == 1 ? "" : "s");
  rc = 0;
free_tables:
  for (int i = 0; i < n_files; i++) hatch_metrics_table_free(tables[i]);
  free(keys_buf);
  return rc;
}
