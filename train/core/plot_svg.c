/* SVG line charts of metrics: one panel per key, one line per run, optional EMA smoothing drawn
 * over the faint raw line. Plain SVG 1.1, no scripts, no external resources. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hatch/train_metrics.h"

enum { MARGIN_L = 72, MARGIN_R = 24, MARGIN_T = 30, MARGIN_B = 42, TITLE_H = 34, MAX_TICKS = 8 };

static const char *const COLORS[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
                                     "#9467bd", "#8c564b", "#e377c2", "#17becf"};
enum { N_COLORS = sizeof COLORS / sizeof COLORS[0] };

typedef struct sbuf {
  char *p;
  size_t n, cap;
  bool oom;
} sbuf;

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void out(sbuf *b, const char *fmt, ...) {
  if (b->oom) return;
  for (;;) {
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(b->p + b->n, b->cap - b->n, fmt, ap);
    va_end(ap);
    if (k < 0) {
      b->oom = true;
      return;
    }
    if ((size_t)k < b->cap - b->n) {
      b->n += (size_t)k;
      return;
    }
    size_t cap = b->cap * 2 + (size_t)k;
    char *p = realloc(b->p, cap);
    if (!p) {
      b->oom = true;
      return;
    }
    b->p = p, b->cap = cap;
  }
}

/* Text content / attribute value with &, <, >, " escaped. */
static void out_esc(sbuf *b, const char *s) {
  for (; s && *s; s++) {
    switch (*s) {
      case '&': out(b, "&amp;"); break;
      case '<': out(b, "&lt;"); break;
      case '>': out(b, "&gt;"); break;
      case '"': out(b, "&quot;"); break;
      default:
        if ((unsigned char)*s >= 0x20 || *s == '\t') out(b, "%c", *s); /* XML 1.0 forbids other controls */
    }
  }
}

int hatch_plot_ticks(double lo, double hi, int max_ticks, double *ticks, int cap) {
  if (cap < 2 || !ticks || !isfinite(lo) || !isfinite(hi)) return 0;
  if (hi < lo) {
    double t = lo;
    lo = hi, hi = t;
  }
  if (max_ticks < 2) max_ticks = 2;
  if (max_ticks > cap) max_ticks = cap;
  double span = hi - lo;
  if (!(span > 0)) span = fabs(lo) > 0 ? fabs(lo) : 1.0;
  double raw = span / (max_ticks - 1), mag = pow(10.0, floor(log10(raw))), step = 10 * mag;
  static const double mults[] = {1, 2, 2.5, 5, 10};
  for (int i = 0; i < 5; i++)
    if (mults[i] * mag >= raw) {
      step = mults[i] * mag;
      break;
    }
  double first = ceil(lo / step - 1e-9) * step;
  int n = 0;
  for (double t = first; t <= hi + step * 1e-9 && n < cap; t = first + n * step) ticks[n++] = fabs(t) < step * 1e-9 ? 0.0 : t;
  if (n < 2) { /* a degenerate range: its two ends */
    ticks[0] = lo, ticks[1] = hi > lo ? hi : lo + step;
    n = 2;
  }
  return n;
}

/* Extends [*lo, *hi] outwards to multiples of a nice step. */
static void nice_range(double *lo, double *hi) {
  if (!(*hi > *lo)) {
    double pad = fabs(*lo) > 0 ? fabs(*lo) * 0.1 : 1.0;
    *lo -= pad, *hi += pad;
  }
  double t[MAX_TICKS + 2];
  int n = hatch_plot_ticks(*lo, *hi, MAX_TICKS - 2, t, MAX_TICKS + 2);
  if (n < 2) return;
  double step = t[1] - t[0];
  *lo = floor(*lo / step + 1e-9) * step;
  *hi = ceil(*hi / step - 1e-9) * step;
}

typedef struct panel {
  double x0, x1, y0, y1;      /* data range */
  double px, py, pw, ph;      /* plot area in pixels */
} panel;

static double X(const panel *p, double x) { return p->px + (x - p->x0) / (p->x1 - p->x0) * p->pw; }
static double Y(const panel *p, double y) { return p->py + p->ph - (y - p->y0) / (p->y1 - p->y0) * p->ph; }

static void out_num(sbuf *b, double v) {
  double a = fabs(v);
  if (a != 0 && (a >= 1e6 || a < 1e-3))
    out(b, "%.3g", v);
  else
    out(b, "%.6g", v);
}

/* One polyline of a series (raw or EMA-smoothed), finite values only. */
static void polyline(sbuf *b, const panel *p, const hatch_metrics_series *s, double smooth, const char *color,
                     double width, double opacity, const char *cls) {
  out(b, "<polyline class=\"%s\" fill=\"none\" stroke=\"%s\" stroke-width=\"%.1f\" stroke-opacity=\"%.2f\" points=\"",
      cls, color, width, opacity);
  double ema = 0, w = 1;
  bool first = true;
  for (int64_t i = 0; i < s->n; i++) {
    double v = s->value[i];
    if (!isfinite(v)) continue;
    if (smooth > 0) {
      ema = smooth * ema + (1 - smooth) * v;
      w *= smooth;
      v = ema / (1 - w); /* debiased */
    }
    out(b, "%s%.2f,%.2f", first ? "" : " ", X(p, (double)s->step[i]), Y(p, v));
    first = false;
  }
  out(b, "\"/>\n");
}

static void draw_panel(sbuf *b, const hatch_plot_run *runs, int n_runs, const char *key, double smooth, double top,
                       double width, double height) {
  panel p = {INFINITY, -INFINITY, INFINITY, -INFINITY, MARGIN_L, top + MARGIN_T, width - MARGIN_L - MARGIN_R,
             height - MARGIN_T - MARGIN_B};
  int64_t n_points = 0;
  for (int r = 0; r < n_runs; r++) {
    const hatch_metrics_series *s = hatch_metrics_find(runs[r].table, key);
    for (int64_t i = 0; s && i < s->n; i++) {
      if (!isfinite(s->value[i])) continue;
      double x = (double)s->step[i], y = s->value[i];
      p.x0 = fmin(p.x0, x), p.x1 = fmax(p.x1, x), p.y0 = fmin(p.y0, y), p.y1 = fmax(p.y1, y);
      n_points++;
    }
  }
  out(b, "<g class=\"panel\" data-key=\"");
  out_esc(b, key);
  out(b, "\">\n<text x=\"%.1f\" y=\"%.1f\" font-size=\"14\" font-weight=\"bold\">", p.px, top + 20);
  out_esc(b, key);
  out(b, "</text>\n<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" stroke=\"#444\"/>\n", p.px,
      p.py, p.pw, p.ph);
  if (n_points == 0) {
    out(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" fill=\"#888\">no data for '", p.px + p.pw / 2,
        p.py + p.ph / 2);
    out_esc(b, key);
    out(b, "'</text>\n</g>\n");
    return;
  }
  nice_range(&p.x0, &p.x1);
  nice_range(&p.y0, &p.y1);
  double t[MAX_TICKS + 4];
  int nt = hatch_plot_ticks(p.x0, p.x1, MAX_TICKS, t, MAX_TICKS + 4);
  for (int i = 0; i < nt; i++) {
    double x = X(&p, t[i]);
    out(b, "<line class=\"grid\" x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"#ddd\"/>\n", x, p.py, x,
        p.py + p.ph);
    out(b, "<text class=\"xtick\" x=\"%.2f\" y=\"%.2f\" font-size=\"11\" text-anchor=\"middle\">", x, p.py + p.ph + 15);
    out_num(b, t[i]);
    out(b, "</text>\n");
  }
  nt = hatch_plot_ticks(p.y0, p.y1, 6, t, MAX_TICKS + 4);
  for (int i = 0; i < nt; i++) {
    double y = Y(&p, t[i]);
    out(b, "<line class=\"grid\" x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"#ddd\"/>\n", p.px, y,
        p.px + p.pw, y);
    out(b, "<text class=\"ytick\" x=\"%.2f\" y=\"%.2f\" font-size=\"11\" text-anchor=\"end\">", p.px - 6, y + 4);
    out_num(b, t[i]);
    out(b, "</text>\n");
  }
  out(b, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"12\" text-anchor=\"middle\">step</text>\n", p.px + p.pw / 2,
      p.py + p.ph + 32);
  out(b, "<text font-size=\"12\" text-anchor=\"middle\" transform=\"translate(%.1f,%.1f) rotate(-90)\">", 16.0,
      p.py + p.ph / 2);
  out_esc(b, key);
  out(b, "</text>\n");
  for (int r = 0; r < n_runs; r++) {
    const hatch_metrics_series *s = hatch_metrics_find(runs[r].table, key);
    if (!s) continue;
    const char *color = COLORS[r % N_COLORS];
    polyline(b, &p, s, 0, color, smooth > 0 ? 1.0 : 1.5, smooth > 0 ? 0.3 : 1.0, "raw");
    if (smooth > 0) polyline(b, &p, s, smooth, color, 2.0, 1.0, "smooth");
  }
  /* Legend, top right inside the plot area. */
  for (int r = 0; r < n_runs; r++) {
    double ly = p.py + 14 + 16 * r, lx = p.px + p.pw - 190;
    out(b, "<rect class=\"legend\" x=\"%.1f\" y=\"%.1f\" width=\"14\" height=\"4\" fill=\"%s\"/>", lx, ly - 5,
        COLORS[r % N_COLORS]);
    out(b, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\">", lx + 20, ly);
    out_esc(b, runs[r].label ? runs[r].label : "run");
    out(b, "%s</text>\n", hatch_metrics_find(runs[r].table, key) ? "" : " (none)");
  }
  out(b, "</g>\n");
}

hatch_status hatch_plot_svg(const hatch_plot_run *runs, int n_runs, const hatch_plot_options *opt, char **svg,
                            size_t *len) {
  if (!runs || n_runs <= 0 || !svg) return HATCH_ERR_INVALID_ARGUMENT;
  *svg = NULL;
  for (int r = 0; r < n_runs; r++)
    if (!runs[r].table) return HATCH_ERR_INVALID_ARGUMENT;
  hatch_plot_options o = opt ? *opt : (hatch_plot_options){0};
  if (!(o.smooth >= 0 && o.smooth < 1) || o.n_keys < 0 || (o.n_keys && !o.keys)) return HATCH_ERR_INVALID_ARGUMENT;
  double width = o.width > 0 ? o.width : 900, ph = o.panel_height > 0 ? o.panel_height : 260;
  width = fmin(fmax(width, 300), 20000), ph = fmin(fmax(ph, 120), 5000);
  /* Keys: as given, else every series of the first run. */
  int n_keys = o.n_keys ? o.n_keys : runs[0].table->n_series;
  double title_h = o.title ? TITLE_H : 0, height = title_h + ph * (n_keys ? n_keys : 1);
  sbuf b = {malloc(1 << 16), 0, 1 << 16, false};
  if (!b.p) return HATCH_ERR_OUT_OF_MEMORY;
  out(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
  out(&b, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
      "font-family=\"sans-serif\">\n", width, height, width, height);
  out(&b, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
  if (o.title) {
    out(&b, "<text x=\"%.1f\" y=\"24\" font-size=\"16\" font-weight=\"bold\" text-anchor=\"middle\">", width / 2);
    out_esc(&b, o.title);
    out(&b, "</text>\n");
  }
  for (int k = 0; k < n_keys; k++) {
    const char *key = o.n_keys ? o.keys[k] : runs[0].table->series[k].key;
    draw_panel(&b, runs, n_runs, key ? key : "", o.smooth, title_h + ph * k, width, ph);
  }
  if (n_keys == 0) out(&b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">no metrics</text>\n", width / 2, height / 2);
  out(&b, "</svg>\n");
  if (b.oom) {
    free(b.p);
    return HATCH_ERR_OUT_OF_MEMORY;
  }
  *svg = b.p;
  if (len) *len = b.n;
  return HATCH_OK;
}
