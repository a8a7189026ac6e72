/* Fuzz target for the metrics JSONL reader and the SVG plot (hatch/train_metrics.h): any bytes
 * parse (malformed lines are skipped and counted, never fatal), the table is consistent, and it
 * plots to an SVG document.
 * libFuzzer entry point; tests/fuzz/replay.c runs the committed corpus through it in every ctest. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hatch/train_metrics.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  hatch_metrics_table *t = NULL;
  if (hatch_metrics_parse((const char *)data, size, "fuzz.jsonl", &t) != HATCH_OK || !t) __builtin_trap();
  if (t->n_skipped > t->n_lines || t->n_series > HATCH_METRICS_MAX_SERIES || t->n_messages > HATCH_METRICS_MAX_MESSAGES)
    __builtin_trap();
  for (int i = 0; i < t->n_series; i++) {
    const hatch_metrics_series *s = &t->series[i];
    if (!s->key || strcmp(s->key, "step") == 0 || s->n < 1 || s->n > (int64_t)size || hatch_metrics_find(t, s->key) != s)
      __builtin_trap();
  }
  hatch_plot_run run = {"fuzz", t};
  hatch_plot_options o = {NULL, 0, (size % 2) ? 0.9 : 0.0, 0, 0, "fuzz"};
  char *svg = NULL;
  size_t len = 0;
  if (hatch_plot_svg(&run, 1, &o, &svg, &len) != HATCH_OK || len < 20 || strncmp(svg, "<?xml", 5) ||
      !strstr(svg, "</svg>\n"))
    __builtin_trap();
  free(svg);
  hatch_metrics_table_free(t);
  return 0;
}
