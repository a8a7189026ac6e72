/* Metrics JSONL (write, read back exactly, malformed lines skipped and named), SVG plots (parsed
 * back: well-formed XML, one polyline per run and key (two with smoothing), every point, inside
 * its panel's frame, ticks covering the data) and the progress line. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "hatch/train_metrics.h"

static void test_metrics_round_trip(hatch_test_ctx *c) {
  char path[] = "/tmp/hatch_metrics_XXXXXX";
  int fd = mkstemp(path);
  if (fd >= 0) close(fd);
  hatch_metrics_writer *w = NULL;
  HATCH_EXPECT_OK(c, hatch_metrics_open(path, false, &w));
  if (!w) return;
  for (int s = 0; s < 50; s++) {
    hatch_metric m[4] = {{"loss", 3.0 / (s + 1) + 1e-9 * s, NULL}, {"lr", s * 1.234567890123e-5, NULL},
                         {"reward", s == 7 ? NAN : sin(s), NULL}, {"phase", 0, s < 25 ? "sft" : "gr\"po"}};
    HATCH_EXPECT_OK(c, hatch_metrics_log(w, s, m, s % 10 == 3 ? 2 : 4)); /* some steps lack reward */
  }
  hatch_metric bad = {"step", 1, NULL};
  HATCH_EXPECT(c, hatch_metrics_log(w, 99, &bad, 1) == HATCH_ERR_INVALID_ARGUMENT, "key 'step' accepted");
  hatch_metric bad2 = {"a\"b", 1, NULL};
  HATCH_EXPECT(c, hatch_metrics_log(w, 99, &bad2, 1) == HATCH_ERR_INVALID_ARGUMENT, "quote in key accepted");
  hatch_metrics_close(w);
  /* Append after a "resume" and add junk lines by hand. */
  HATCH_EXPECT_OK(c, hatch_metrics_open(path, true, &w));
  hatch_metric m = {"loss", 0.5, NULL};
  HATCH_EXPECT_OK(c, hatch_metrics_log(w, 50, &m, 1));
  hatch_metrics_close(w);
  FILE *f = fopen(path, "ab");
  fputs("garbage\n\n{\"loss\":1}\n{\"step\":1.5,\"loss\":1}\n{\"step\":51,\"loss\":0.25,\"extra\":[1,2]}\n{\"step\":52,\"lo", f);
  fclose(f);
  hatch_metrics_table *t = NULL;
  HATCH_EXPECT_OK(c, hatch_metrics_read(path, &t));
  if (t) {
    HATCH_EXPECT(c, t->n_skipped == 4 && t->n_lines == 56, "lines %lld skipped %lld", (long long)t->n_lines,
                 (long long)t->n_skipped);
    HATCH_EXPECT(c, t->n_messages == 4 && strstr(t->messages[0], ":52: not a JSON object") &&
                        strstr(t->messages[1], ":54: no integer \"step\"") && strstr(t->messages[3], ":57: "),
                 "messages: %s | %s | %s", t->messages[0], t->n_messages > 1 ? t->messages[1] : "",
                 t->n_messages > 3 ? t->messages[3] : "");
    const hatch_metrics_series *loss = hatch_metrics_find(t, "loss"), *rw = hatch_metrics_find(t, "reward");
    HATCH_EXPECT(c, t->n_series == 3 && !hatch_metrics_find(t, "phase") && !hatch_metrics_find(t, "extra"),
                 "%d series", t->n_series);
    HATCH_EXPECT(c, loss && loss->n == 52 && loss->step[51] == 51 && loss->value[51] == 0.25, "loss series");
    bool exact = loss != NULL;
    for (int s = 0; loss && s < 50; s++) exact = exact && loss->value[s] == 3.0 / (s + 1) + 1e-9 * s;
    HATCH_EXPECT(c, exact, "loss values do not round-trip exactly");
    HATCH_EXPECT(c, rw && rw->n == 45 && isnan(rw->value[6]) && rw->step[7] == 8 && rw->value[7] == sin(8), "reward series (n %lld)",
                 rw ? (long long)rw->n : -1ll);
  }
  hatch_metrics_table_free(t);
  unlink(path);
  HATCH_EXPECT(c, hatch_metrics_read("/nonexistent/m.jsonl", &t) == HATCH_ERR_NOT_FOUND && !t, "missing file");
  char line[64];
  hatch_metric one = {"loss", 1.5, NULL};
  HATCH_EXPECT(c, hatch_metrics_format(line, 10, 1, &one, 1, NULL) == HATCH_ERR_TOO_LARGE, "small buffer");
  size_t len = 0;
  HATCH_EXPECT_OK(c, hatch_metrics_format(line, sizeof line, 7, &one, 1, &len));
  HATCH_EXPECT(c, strcmp(line, "{\"step\":7,\"loss\":1.5}\n") == 0 && len == strlen(line), "line: %s", line);
}

/* ---- a small XML checker --------------------------------------------------------------------- */

typedef struct svg_stats {
  bool well_formed;
  char error[128];
  int polylines, raw, smooth, panels;
  int64_t points[64];      /* per polyline */
  int outside;             /* points outside their panel's frame */
  double ytick_min[16], ytick_max[16];
} svg_stats;

static const char *attr(const char *tag, const char *end, const char *name, size_t *len) {
  size_t nl = strlen(name);
  for (const char *p = tag; p + nl + 2 < end; p++)
    if ((p[-1] == ' ' || p[-1] == '\n') && strncmp(p, name, nl) == 0 && p[nl] == '=' && p[nl + 1] == '"') {
      const char *v = p + nl + 2, *q = memchr(v, '"', (size_t)(end - v));
      if (!q) return NULL;
      *len = (size_t)(q - v);
      return v;
    }
  return NULL;
}

static double num_attr(const char *tag, const char *end, const char *name) {
  size_t len;
  const char *v = attr(tag, end, name, &len);
  return v ? atof(v) : NAN;
}

static void check_svg(const char *svg, svg_stats *st) {
  memset(st, 0, sizeof *st);
  const char *stack[64];
  size_t stack_len[64];
  int depth = 0;
  double fx = 0, fy = 0, fw = 0, fh = 0; /* current panel frame */
  bool in_ytick = false;
  for (int i = 0; i < 16; i++) st->ytick_min[i] = INFINITY, st->ytick_max[i] = -INFINITY;
  const char *p = svg;
  while (*p) {
    if (*p != '<') {
      if (*p == '&' && strncmp(p, "&amp;", 5) && strncmp(p, "&lt;", 4) && strncmp(p, "&gt;", 4) && strncmp(p, "&quot;", 6)) {
        snprintf(st->error, sizeof st->error, "bare & at %ld", (long)(p - svg));
        return;
      }
      if (in_ytick && st->panels > 0 && st->panels <= 16) {
        double v = atof(p);
        st->ytick_min[st->panels - 1] = fmin(st->ytick_min[st->panels - 1], v);
        st->ytick_max[st->panels - 1] = fmax(st->ytick_max[st->panels - 1], v);
        in_ytick = false;
      }
      p++;
      continue;
    }
    const char *end = strchr(p, '>');
    if (!end) {
      snprintf(st->error, sizeof st->error, "unclosed tag at %ld", (long)(p - svg));
      return;
    }
    if (p[1] == '?') {
      p = end + 1;
      continue;
    }
    if (memchr(p + 1, '<', (size_t)(end - p - 1))) {
      snprintf(st->error, sizeof st->error, "'<' inside a tag at %ld", (long)(p - svg));
      return;
    }
    if (p[1] == '/') {
      size_t n = strcspn(p + 2, " >");
      if (depth == 0 || n != stack_len[depth - 1] || strncmp(p + 2, stack[depth - 1], n) != 0) {
        snprintf(st->error, sizeof st->error, "mismatched close tag at %ld", (long)(p - svg));
        return;
      }
      depth--;
      p = end + 1;
      continue;
    }
    size_t n = strcspn(p + 1, " />\n");
    /* Attribute quotes balance. */
    int quotes = 0;
    for (const char *q = p; q < end; q++) quotes += *q == '"';
    if (quotes % 2) {
      snprintf(st->error, sizeof st->error, "odd quotes at %ld", (long)(p - svg));
      return;
    }
    bool self = end[-1] == '/';
    if (n == 1 && p[1] == 'g') {
      st->panels++;
      fw = 0;
    }
    if (n == 4 && strncmp(p + 1, "rect", 4) == 0) {
      size_t l;
      const char *fill = attr(p, end, "fill", &l);
      if (fill && l == 4 && strncmp(fill, "none", 4) == 0)
        fx = num_attr(p, end, "x"), fy = num_attr(p, end, "y"), fw = num_attr(p, end, "width"), fh = num_attr(p, end, "height");
    }
    if (n == 4 && strncmp(p + 1, "text", 4) == 0) {
      size_t l;
      const char *cls = attr(p, end, "class", &l);
      in_ytick = cls && l == 5 && strncmp(cls, "ytick", 5) == 0;
    }
    if (n == 8 && strncmp(p + 1, "polyline", 8) == 0 && st->polylines < 64) {
      size_t l;
      const char *cls = attr(p, end, "class", &l), *pts = attr(p, end, "points", &l);
      st->raw += cls && strncmp(cls, "raw", 3) == 0;
      st->smooth += cls && strncmp(cls, "smooth", 6) == 0;
      int64_t k = 0;
      for (const char *q = pts; q && q < pts + l;) {
        char *e1, *e2;
        double x = strtod(q, &e1);
        if (*e1 != ',') break;
        double y = strtod(e1 + 1, &e2);
        k++;
        if (x < fx - 0.01 || x > fx + fw + 0.01 || y < fy - 0.01 || y > fy + fh + 0.01) st->outside++;
        q = e2;
        while (*q == ' ') q++;
      }
      st->points[st->polylines++] = k;
    }
    if (!self) {
      if (depth == 64) return;
      stack[depth] = p + 1, stack_len[depth++] = n;
    }
    p = end + 1;
  }
  if (depth != 0) {
    snprintf(st->error, sizeof st->error, "%d unclosed elements", depth);
    return;
  }
  st->well_formed = true;
}

static void test_plot(hatch_test_ctx *c) {
  /* Two runs: loss and reward, the second run shorter and without reward. */
  char run_a[8192], run_b[8192];
  size_t na = 0, nb = 0;
  double loss_min = INFINITY, loss_max = -INFINITY;
  for (int s = 0; s < 40; s++) {
    double l = 2.5 * exp(-s / 10.0) + 0.1 * sin(s), r = s * 0.02;
    loss_min = fmin(loss_min, l), loss_max = fmax(loss_max, l);
    na += (size_t)snprintf(run_a + na, sizeof run_a - na, "{\"step\":%d,\"loss\":%.17g,\"reward\":%s}\n", 100 + s * 5,
                           l, s == 10 ? "null" : (snprintf(run_b, 32, "%.17g", r), run_b));
  }
  for (int s = 0; s < 25; s++) {
    double l = 3.0 * exp(-s / 8.0) + 0.4;
    loss_min = fmin(loss_min, l), loss_max = fmax(loss_max, l);
    nb += (size_t)snprintf(run_b + nb, sizeof run_b - nb, "{\"step\":%d,\"loss\":%.17g}\n", 100 + s * 7, l);
  }
  hatch_metrics_table *ta = NULL, *tb = NULL;
  HATCH_EXPECT_OK(c, hatch_metrics_parse(run_a, na, "a.jsonl", &ta));
  HATCH_EXPECT_OK(c, hatch_metrics_parse(run_b, nb, "b.jsonl", &tb));
  if (!ta || !tb) return;
  hatch_plot_run runs[2] = {{"run <a> & co", ta}, {"b", tb}};
  const char *keys[3] = {"loss", "reward", "missing"};
  hatch_plot_options o = {keys, 3, 0.9, 800, 240, "HATCH \"demo\""};
  char *svg = NULL;
  size_t len = 0;
  HATCH_EXPECT_OK(c, hatch_plot_svg(runs, 2, &o, &svg, &len));
  if (!svg) return;
  svg_stats st;
  check_svg(svg, &st);
  HATCH_EXPECT(c, st.well_formed, "SVG not well-formed: %s", st.error);
  /* loss: 2 runs x (raw + smooth); reward: run a only (b lacks it); missing: none. */
  HATCH_EXPECT(c, st.panels == 3 && st.polylines == 6 && st.raw == 3 && st.smooth == 3, "panels %d polylines %d (raw %d smooth %d)",
               st.panels, st.polylines, st.raw, st.smooth);
  HATCH_EXPECT(c, st.points[0] == 40 && st.points[1] == 40 && st.points[2] == 25 && st.points[3] == 25 &&
                      st.points[4] == 39 && st.points[5] == 39,
               "points %lld %lld %lld %lld %lld %lld", (long long)st.points[0], (long long)st.points[1],
               (long long)st.points[2], (long long)st.points[3], (long long)st.points[4], (long long)st.points[5]);
  HATCH_EXPECT(c, st.outside == 0, "%d points outside their panel", st.outside);
  HATCH_EXPECT(c, st.ytick_min[0] <= loss_min && st.ytick_max[0] >= loss_max && st.ytick_max[0] < loss_max * 1.5,
               "loss ticks [%g, %g] vs data [%g, %g]", st.ytick_min[0], st.ytick_max[0], loss_min, loss_max);
  HATCH_EXPECT(c, st.ytick_min[1] <= 0 && st.ytick_max[1] >= 0.78, "reward ticks [%g, %g]", st.ytick_min[1], st.ytick_max[1]);
  HATCH_EXPECT(c, strstr(svg, "run &lt;a&gt; &amp; co") && strstr(svg, "no data for 'missing'"), "legend / empty panel");
  free(svg);
  /* All keys of the first run, no smoothing. */
  HATCH_EXPECT_OK(c, hatch_plot_svg(runs, 1, NULL, &svg, &len));
  check_svg(svg, &st);
  HATCH_EXPECT(c, st.well_formed && st.panels == 2 && st.polylines == 2 && st.smooth == 0, "default plot: %d panels %d lines",
               st.panels, st.polylines);
  free(svg);
  hatch_plot_options bad = {NULL, 0, 1.0, 0, 0, NULL};
  HATCH_EXPECT(c, hatch_plot_svg(runs, 1, &bad, &svg, &len) == HATCH_ERR_INVALID_ARGUMENT, "smooth 1.0 accepted");
  hatch_metrics_table_free(ta);
  hatch_metrics_table_free(tb);
}

static void test_ticks(hatch_test_ctx *c) {
  double t[16];
  int n = hatch_plot_ticks(0, 1, 6, t, 16);
  HATCH_EXPECT(c, n == 6 && t[0] == 0 && fabs(t[5] - 1) < 1e-12 && fabs(t[1] - 0.2) < 1e-12, "ticks(0,1): n %d", n);
  n = hatch_plot_ticks(3, 97, 8, t, 16);
  HATCH_EXPECT(c, n >= 4 && n <= 8 && t[0] >= 3 && t[n - 1] <= 97, "ticks(3,97): n %d [%g..%g]", n, t[0], t[n - 1]);
  n = hatch_plot_ticks(-0.003, 0.0041, 6, t, 16);
  bool zero = false;
  for (int i = 0; i < n; i++) zero = zero || t[i] == 0;
  HATCH_EXPECT(c, n >= 3 && zero, "ticks across zero: n %d, zero %d", n, zero);
  n = hatch_plot_ticks(5, 5, 6, t, 16);
  HATCH_EXPECT(c, n >= 2, "degenerate range gives %d ticks", n);
}

static void test_progress(hatch_test_ctx *c) {
  char buf[256];
  hatch_progress_format(buf, sizeof buf, "train", 120, 1000, 40.0, 120, 2.34119, 10);
  HATCH_EXPECT(c, strcmp(buf, "train 120/1000  12.0% [#.........] 3.00 it/s ETA 4m53s loss 2.3412") == 0, "line: '%s'", buf);
  /* Resumed at 500: the rate counts only this run's 100 steps. */
  hatch_progress_format(buf, sizeof buf, "", 600, 1000, 50.0, 100, NAN, 0);
  HATCH_EXPECT(c, strcmp(buf, "600/1000  60.0% 2.00 it/s ETA 3m20s") == 0, "line: '%s'", buf);
  hatch_progress_format(buf, sizeof buf, "x", 1, 10, 100.0, 1, NAN, 0);
  HATCH_EXPECT(c, strstr(buf, "100.00 s/it ETA 15m00s") != NULL, "slow line: '%s'", buf);
  /* Plain mode (not a tty): a line at finish. */
  FILE *f = tmpfile();
  hatch_progress *p = NULL;
  HATCH_EXPECT_OK(c, hatch_progress_create(f, "t", 0, 10, 1000, &p));
  for (int s = 0; s < 10; s++) hatch_progress_update(p, s, 1.0 / (s + 1));
  hatch_progress_finish(p);
  hatch_progress_destroy(p);
  rewind(f);
  char got[256] = "";
  size_t k = fread(got, 1, sizeof got - 1, f);
  got[k] = 0;
  fclose(f);
  HATCH_EXPECT(c, strncmp(got, "t 10/10 100.0% ", 15) == 0 && strstr(got, "loss 0.1000\n") && !strchr(got, '\r'),
               "plain output: '%s'", got);
}

int main(int argc, char **argv) {
  static const hatch_test_case cases[] = {
      {"metrics_round_trip", test_metrics_round_trip, false},
      {"plot", test_plot, false},
      {"ticks", test_ticks, false},
      {"progress", test_progress, false},
  };
  return hatch_test_main(argc, argv, cases, (int)(sizeof cases / sizeof cases[0]));
}
