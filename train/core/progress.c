/* Progress on stderr: a bar redrawn in place on a terminal, a plain line now and then otherwise
 * (logs, CI). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hatch/train_metrics.h"

struct hatch_progress {
  FILE *out;
  char label[64];
  int64_t start, total;
  int64_t done;       /* steps done, counting from 0 */
  double loss;
  double t0, last;    /* seconds: creation, last print */
  double interval;    /* plain mode print interval */
  bool tty;
};

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void fmt_duration(char *buf, size_t cap, double s) {
  if (!isfinite(s) || s < 0) {
    snprintf(buf, cap, "?");
    return;
  }
  long long t = (long long)(s + 0.5);
  if (t >= 3600)
    snprintf(buf, cap, "%lldh%02lldm", t / 3600, (t / 60) % 60);
  else if (t >= 60)
    snprintf(buf, cap, "%lldm%02llds", t / 60, t % 60);
  else
    snprintf(buf, cap, "%llds", t);
}

void hatch_progress_format(char *buf, size_t cap, const char *label, int64_t done, int64_t total, double elapsed_s,
                           int64_t done_this_run, double loss, int bar_width) {
  if (!buf || cap == 0) return;
  double frac = total > 0 ? (double)done / (double)total : 0;
  frac = frac < 0 ? 0 : frac > 1 ? 1 : frac;
  double rate = elapsed_s > 0 ? (double)done_this_run / elapsed_s : 0;
  char eta[32], bar[130], rate_s[32], loss_s[32] = "";
  fmt_duration(eta, sizeof eta, rate > 0 ? (double)(total - done) / rate : NAN);
  if (bar_width > 128) bar_width = 128;
  int fill = (int)(frac * bar_width + 1e-9);
  bar[0] = '\0';
  if (bar_width > 0) {
    bar[0] = '[';
    for (int i = 0; i < bar_width; i++) bar[1 + i] = i < fill ? '#' : '.';
    bar[1 + bar_width] = ']';
    bar[2 + bar_width] = ' ';
    bar[3 + bar_width] = '\0';
  }
  if (rate >= 1 || rate == 0)
    snprintf(rate_s, sizeof rate_s, "%.2f it/s", rate);
  else
    snprintf(rate_s, sizeof rate_s, "%.2f s/it", 1 / rate);
  if (isfinite(loss)) snprintf(loss_s, sizeof loss_s, " loss %.4f", loss);
  snprintf(buf, cap, "%s%s%lld/%lld %5.1f%% %s%s ETA %s%s", label ? label : "", label && *label ? " " : "",
           (long long)done, (long long)total, 100 * frac, bar, rate_s, eta, loss_s);
}

hatch_status hatch_progress_create(FILE *out, const char *label, int64_t start, int64_t total, double plain_interval_s,
                                   hatch_progress **out_p) {
  if (!out || !out_p || total < 0 || start < 0) return HATCH_ERR_INVALID_ARGUMENT;
  hatch_progress *p = calloc(1, sizeof *p);
  if (!p) return HATCH_ERR_OUT_OF_MEMORY;
  p->out = out;
  snprintf(p->label, sizeof p->label, "%s", label ? label : "");
  p->start = start, p->total = total, p->done = start;
  p->loss = NAN;
  p->t0 = p->last = now_s();
  p->interval = plain_interval_s > 0 ? plain_interval_s : 30;
  p->tty = isatty(fileno(out)) != 0;
  *out_p = p;
  return HATCH_OK;
}

static void print(hatch_progress *p, bool final) {
  char line[320];
  double t = now_s();
  hatch_progress_format(line, sizeof line, p->label, p->done, p->total, t - p->t0, p->done - p->start, p->loss,
                        p->tty ? 30 : 0);
  if (p->tty)
    fprintf(p->out, "\r%s\033[K%s", line, final ? "\n" : "");
  else
    fprintf(p->out, "%s\n", line);
  fflush(p->out);
  p->last = t;
}

void hatch_progress_update(hatch_progress *p, int64_t step, double loss) {
  if (!p) return;
  p->done = step + 1;
  if (isfinite(loss)) p->loss = loss;
  double t = now_s();
  if (t - p->last >= (p->tty ? 0.1 : p->interval)) print(p, false);
}

void hatch_progress_finish(hatch_progress *p) {
  if (p) print(p, true);
}

void hatch_progress_destroy(hatch_progress *p) { free(p); }
