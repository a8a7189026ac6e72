/* Training metrics: a JSONL log (one JSON object per step, flushed per line), its reader, SVG plots
 * of it (no dependency), and the progress line on stderr.
 *
 * A metrics line: {"step":12,"loss":2.3125,"lr":0.0003,"reward":0.5,...}: "step" first, then the
 * keys in the order given. Numbers are written with 17 significant digits (doubles round-trip);
 * NaN and Inf have no JSON spelling and are written as null. */
#ifndef HATCH_TRAIN_METRICS_H
#define HATCH_TRAIN_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "hatch/status.h"

/* ---- writing ----------------------------------------------------------------------------------- */

typedef struct hatch_metric {
  const char *key;  /* [A-Za-z0-9_.:/-]+, not "step" */
  double value;     /* used when str is NULL */
  const char *str;  /* a string value instead (e.g. "phase":"grpo"); escaped as JSON */
} hatch_metric;

typedef struct hatch_metrics_writer hatch_metrics_writer;

/* Opens `path` for appending (append = true: keeps what is there, e.g. on resume) or truncating.
 * HATCH_ERR_IO when it cannot be opened. *out owned by the caller: hatch_metrics_close. */
hatch_status hatch_metrics_open(const char *path, bool append, hatch_metrics_writer **out);
/* Appends one line and flushes it. A bad key is HATCH_ERR_INVALID_ARGUMENT (nothing written). */
hatch_status hatch_metrics_log(hatch_metrics_writer *w, int64_t step, const hatch_metric *m, int n);
/* Flushes, fsyncs and closes; accepts NULL. */
void hatch_metrics_close(hatch_metrics_writer *w);

/* Formats one line (with the '\n') into buf (cap bytes). HATCH_ERR_TOO_LARGE if it does not fit. */
hatch_status hatch_metrics_format(char *buf, size_t cap, int64_t step, const hatch_metric *m, int n, size_t *len);

/* ---- reading ----------------------------------------------------------------------------------- */

/* One key's numeric values over the steps that have it (a null value is kept as NaN). */
typedef struct hatch_metrics_series {
  char *key;
  int64_t n;
  int64_t *step;  /* (n) */
  double *value;  /* (n) */
} hatch_metrics_series;

#define HATCH_METRICS_MAX_MESSAGES 16
#define HATCH_METRICS_MAX_SERIES 256

typedef struct hatch_metrics_table {
  hatch_metrics_series *series; /* (n_series), keys in order of first appearance */
  int n_series;
  int64_t n_lines;   /* non-empty lines read */
  int64_t n_skipped; /* malformed lines skipped */
  /* The first HATCH_METRICS_MAX_MESSAGES skip reasons, "run.jsonl:17: not a JSON object". */
  char messages[HATCH_METRICS_MAX_MESSAGES][160];
  int n_messages;
} hatch_metrics_table;

/* Reads a metrics JSONL file. Malformed lines (not a JSON object, no integer "step") are skipped
 * and counted, never fatal; string and boolean values are ignored; series past
 * HATCH_METRICS_MAX_SERIES are dropped (one message). HATCH_ERR_NOT_FOUND / IO for the file.
 * *out owned by the caller: hatch_metrics_table_free. */
hatch_status hatch_metrics_read(const char *path, hatch_metrics_table **out);
/* The same from memory; name prefixes messages. */
hatch_status hatch_metrics_parse(const char *data, size_t len, const char *name, hatch_metrics_table **out);
void hatch_metrics_table_free(hatch_metrics_table *t); /* accepts NULL */
/* Series by key; NULL when absent. */
const hatch_metrics_series *hatch_metrics_find(const hatch_metrics_table *t, const char *key);

/* ---- plotting ---------------------------------------------------------------------------------- */

/* One run (one metrics file): one line per panel. */
typedef struct hatch_plot_run {
  const char *label;                  /* legend text (the file name) */
  const hatch_metrics_table *table;
} hatch_plot_run;

typedef struct hatch_plot_options {
  const char *const *keys; /* (n_keys) one panel each; NULL/0: every key of the first run but "step" */
  int n_keys;
  double smooth;           /* EMA weight in [0, 1): 0 = raw only; else raw drawn faint, the
                              debiased EMA s_k = smooth s_{k-1} + (1 - smooth) x_k drawn over it */
  int width;               /* pixels; <= 0: 900 */
  int panel_height;        /* pixels per panel; <= 0: 260 */
  const char *title;       /* NULL: none */
} hatch_plot_options;

/* An SVG document (*out malloc'd, NUL-terminated): one panel per key stacked vertically, each
 * with axes, "nice" ticks and labels, the key as its title, a legend of runs, and for each run a
 * <polyline> of the raw points (and one of the smoothed points when smooth > 0). Non-finite values
 * are left out. A key no run has makes an empty panel saying so. */
hatch_status hatch_plot_svg(const hatch_plot_run *runs, int n_runs, const hatch_plot_options *opt, char **out,
                            size_t *len);

/* "Nice" axis ticks over [lo, hi] (1, 2, 5 x 10^k steps): at most cap ticks in *ticks, returns the
 * count (>= 2 unless cap < 2). */
int hatch_plot_ticks(double lo, double hi, int max_ticks, double *ticks, int cap);

/* ---- progress ---------------------------------------------------------------------------------- */

typedef struct hatch_progress hatch_progress;

/* A progress display on `out` (usually stderr) for steps [start, total): on a terminal a bar
 * redrawn in place (at most every 0.1 s); otherwise a plain line every plain_interval_s seconds
 * (<= 0: 30). start: the first step (resume), so rates and ETA count only this run's steps. */
hatch_status hatch_progress_create(FILE *out, const char *label, int64_t start, int64_t total,
                                   double plain_interval_s, hatch_progress **out_p);
/* Step `step` done (0-based: step + 1 steps done) with this loss (NaN: not shown). */
void hatch_progress_update(hatch_progress *p, int64_t step, double loss);
/* Final line (ends the bar with a newline). */
void hatch_progress_finish(hatch_progress *p);
void hatch_progress_destroy(hatch_progress *p); /* accepts NULL */

/* The text of one progress line without the bar's carriage return (what update prints):
 * "label 120/1000 12.0% [#####.....] 3.41 it/s ETA 4m18s loss 2.3412". bar_width 0 = no bar. */
void hatch_progress_format(char *buf, size_t cap, const char *label, int64_t done, int64_t total,
                           double elapsed_s, int64_t done_this_run, double loss, int bar_width);

#endif
