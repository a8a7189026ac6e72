/* Metrics JSONL writer: one object per step, flushed per line. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hatch/train_metrics.h"

struct hatch_metrics_writer {
  FILE *f;
  char *line; /* (cap) formatting buffer */
  size_t cap;
};

static bool key_ok(const char *k) {
  if (!k || !*k || strcmp(k, "step") == 0) return false;
  for (; *k; k++) {
    char c = *k;
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
          c == ':' || c == '/' || c == '-'))
      return false;
  }
  return true;
}

/* Appends printf output at *at; false when out of room. */
#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
static bool put(char *buf, size_t cap, size_t *at, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int k = *at < cap ? vsnprintf(buf + *at, cap - *at, fmt, ap) : -1;
  va_end(ap);
  if (k < 0 || (size_t)k >= cap - *at) return false;
  *at += (size_t)k;
  return true;
}

static bool put_json_str(char *buf, size_t cap, size_t *at, const char *s) {
  if (!put(buf, cap, at, "\"")) return false;
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    bool ok = c == '"' || c == '\\' ? put(buf, cap, at, "\\%c", c)
              : c < 0x20            ? put(buf, cap, at, "\\u%04x", c)
                                    : put(buf, cap, at, "%c", c);
    if (!ok) return false;
  }
  return put(buf, cap, at, "\"");
}

hatch_status hatch_metrics_format(char *buf, size_t cap, int64_t step, const hatch_metric *m, int n, size_t *len) {
  if (!buf || cap == 0 || n < 0 || (n && !m)) return HATCH_ERR_INVALID_ARGUMENT;
  for (int i = 0; i < n; i++)
    if (!key_ok(m[i].key)) return HATCH_ERR_INVALID_ARGUMENT;
  size_t at = 0;
  bool ok = put(buf, cap, &at, "{\"step\":%lld", (long long)step);
  for (int i = 0; ok && i < n; i++) {
    ok = put(buf, cap, &at, ",\"%s\":", m[i].key);
    if (ok && m[i].str)
      ok = put_json_str(buf, cap, &at, m[i].str);
    else if (ok && isfinite(m[i].value))
      ok = put(buf, cap, &at, "%.17g", m[i].value);
    else if (ok)
      ok = put(buf, cap, &at, "null");
  }
  if (ok) ok = put(buf, cap, &at, "}\n");
  if (!ok) return HATCH_ERR_TOO_LARGE;
  if (len) *len = at;
  return HATCH_OK;
}

hatch_status hatch_metrics_open(const char *path, bool append, hatch_metrics_writer **out) {
  if (!path || !out) return HATCH_ERR_INVALID_ARGUMENT;
  *out = NULL;
  hatch_metrics_writer *w = calloc(1, sizeof *w);
  if (!w) return HATCH_ERR_OUT_OF_MEMORY;
  w->cap = 4096;
  if (!(w->line = malloc(w->cap))) {
    free(w);
    return HATCH_ERR_OUT_OF_MEMORY;
  }
  if (!(w->f = fopen(path, append ? "ab" : "wb"))) {
    free(w->line);
    free(w);
    return HATCH_ERR_IO;
  }
  *out = w;
  return HATCH_OK;
}

hatch_status hatch_metrics_log(hatch_metrics_writer *w, int64_t step, const hatch_metric *m, int n) {
  if (!w) return HATCH_ERR_INVALID_ARGUMENT;
  size_t len = 0;
  hatch_status st;
  while ((st = hatch_metrics_format(w->line, w->cap, step, m, n, &len)) == HATCH_ERR_TOO_LARGE) {
    if (w->cap >= ((size_t)1 << 24)) return st;
    char *p = realloc(w->line, w->cap * 2);
    if (!p) return HATCH_ERR_OUT_OF_MEMORY;
    w->line = p, w->cap *= 2;
  }
  if (st != HATCH_OK) return st;
  if (fwrite(w->line, 1, len, w->f) != len || fflush(w->f) != 0) return HATCH_ERR_IO;
  return HATCH_OK;
}

void hatch_metrics_close(hatch_metrics_writer *w) {
  if (!w) return;
  fflush(w->f);
  fsync(fileno(w->f));
  fclose(w->f);
  free(w->line);
  free(w);
}
