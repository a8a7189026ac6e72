/* Metrics JSONL reader for plotting: malformed lines are skipped and counted, never fatal. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hatch/train_metrics.h"

#define MAX_FILE_BYTES ((size_t)1 << 30)

void hatch_metrics_table_free(hatch_metrics_table *t) {
  if (!t) return;
  for (int i = 0; i < t->n_series; i++) {
    free(t->series[i].key);
    free(t->series[i].step);
    free(t->series[i].value);
  }
  free(t->series);
  free(t);
}

const hatch_metrics_series *hatch_metrics_find(const hatch_metrics_table *t, const char *key) {
  for (int i = 0; t && key && i < t->n_series; i++)
    if (strcmp(t->series[i].key, key) == 0) return &t->series[i];
  return NULL;
}

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void note(hatch_metrics_table *t, const char *fmt, ...) {
  if (t->n_messages >= HATCH_METRICS_MAX_MESSAGES) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(t->messages[t->n_messages++], sizeof t->messages[0], fmt, ap);
  va_end(ap);
}

/* The series for key, created on first use; NULL when the limit is reached (noted once). */
static hatch_metrics_series *series_for(hatch_metrics_table *t, const char *key, int *cap, bool *full, hatch_status *st,
                                        const char *name) {
  for (int i = 0; i < t->n_series; i++)
    if (strcmp(t->series[i].key, key) == 0) return &t->series[i];
  if (t->n_series >= HATCH_METRICS_MAX_SERIES) {
    if (!*full) note(t, "%.80s: more than %d keys; '%.40s' and later new keys dropped", name, HATCH_METRICS_MAX_SERIES, key);
    *full = true;
    return NULL;
  }
  if (t->n_series == *cap) {
    int nc = *cap ? 2 * *cap : 8;
    hatch_metrics_series *s = realloc(t->series, (size_t)nc * sizeof *s);
    if (!s) return *st = HATCH_ERR_OUT_OF_MEMORY, NULL;
    t->series = s, *cap = nc;
  }
  hatch_metrics_series *s = &t->series[t->n_series];
  memset(s, 0, sizeof *s);
  if (!(s->key = strdup(key))) return *st = HATCH_ERR_OUT_OF_MEMORY, NULL;
  t->n_series++;
  return s;
}

static hatch_status push(hatch_metrics_series *s, int64_t step, double v) {
  /* Capacity doubles at powers of two: n is the only state needed. */
  if ((s->n & (s->n - 1)) == 0) {
    size_t cap = s->n ? 2 * (size_t)s->n : 1;
    int64_t *st = realloc(s->step, cap * sizeof *st);
    if (st) s->step = st;
    double *va = realloc(s->value, cap * sizeof *va);
    if (va) s->value = va;
    if (!st || !va) return HATCH_ERR_OUT_OF_MEMORY;
  }
  s->step[s->n] = step;
  s->value[s->n++] = v;
  return HATCH_OK;
}

hatch_status hatch_metrics_parse(const char *data, size_t len, const char *name, hatch_metrics_table **out) {
  if (!out || (!data && len)) return HATCH_ERR_INVALID_ARGUMENT;
  *out = NULL;
  if (!name) name = "metrics";
  hatch_metrics_table *t = calloc(1, sizeof *t);
  if (!t) return HATCH_ERR_OUT_OF_MEMORY;
  hatch_status st = HATCH_OK;
  int cap = 0;
  bool full = false;
  size_t pos = 0;
  for (int64_t line_no = 1; pos < len && st == HATCH_OK; line_no++) {
    const char *line = data + pos;
    const char *nl = memchr(line, '\n', len - pos);
    size_t n = nl ? (size_t)(nl - line) : len - pos;
    pos += n + (nl != NULL);
    size_t k = 0;
    while (k < n && (line[k] == ' ' || line[k] == '\t' || line[k] == '\r')) k++;
    if (k == n) continue; /* blank */
    t->n_lines++;
    const char *reason = NULL;
    const char *parse_end = NULL;
    cJSON *root = memchr(line, '\0', n) ? NULL : cJSON_ParseWithLengthOpts(line, n, &parse_end, false);
    for (const char *q = parse_end; root && q && q < line + n; q++) /* only whitespace may follow */
      if (*q != ' ' && *q != '\t' && *q != '\r') {
        cJSON_Delete(root);
        root = NULL;
      }
    const cJSON *step = root ? cJSON_GetObjectItemCaseSensitive(root, "step") : NULL;
    if (!cJSON_IsObject(root))
      reason = "not a JSON object";
    else if (!cJSON_IsNumber(step) || !isfinite(step->valuedouble) || step->valuedouble != floor(step->valuedouble) ||
             fabs(step->valuedouble) > 9e15)
      reason = "no integer \"step\"";
    if (reason) {
      t->n_skipped++;
      note(t, "%.80s:%lld: %s (skipped)", name, (long long)line_no, reason);
      cJSON_Delete(root);
      continue;
    }
    int64_t s = (int64_t)step->valuedouble;
    for (const cJSON *it = root->child; it && st == HATCH_OK; it = it->next) {
      if (!it->string || strcmp(it->string, "step") == 0) continue;
      if (!cJSON_IsNumber(it) && !cJSON_IsNull(it)) continue; /* strings, bools, objects: not plotted */
      hatch_metrics_series *se = series_for(t, it->string, &cap, &full, &st, name);
      if (se) st = push(se, s, cJSON_IsNull(it) ? NAN : it->valuedouble);
    }
    cJSON_Delete(root);
  }
  if (st != HATCH_OK) {
    hatch_metrics_table_free(t);
    return st;
  }
  *out = t;
  return HATCH_OK;
}

hatch_status hatch_metrics_read(const char *path, hatch_metrics_table **out) {
  if (!path || !out) return HATCH_ERR_INVALID_ARGUMENT;
  *out = NULL;
  FILE *f = fopen(path, "rb");
  if (!f) return errno == ENOENT ? HATCH_ERR_NOT_FOUND : HATCH_ERR_IO;
  hatch_status st = HATCH_ERR_IO;
  char *buf = NULL;
  long size = -1;
  if (fseek(f, 0, SEEK_END) == 0) size = ftell(f);
  if (size < 0 || fseek(f, 0, SEEK_SET) != 0) goto close_file;
  if ((size_t)size > MAX_FILE_BYTES) {
    st = HATCH_ERR_TOO_LARGE;
    goto close_file;
  }
  if (!(buf = malloc((size_t)size + 1))) {
    st = HATCH_ERR_OUT_OF_MEMORY;
    goto close_file;
  }
  if (fread(buf, 1, (size_t)size, f) == (size_t)size) st = hatch_metrics_parse(buf, (size_t)size, path, out);
  free(buf);
close_file:
  fclose(f);
  return st;
}
