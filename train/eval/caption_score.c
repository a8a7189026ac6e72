/* Scoring a generated caption against the true one (hatch/train_eval.h, hatch_caption_score_add):
 * both are split into "Image k: a, b." views; per view the named objects are matched as sets
 * (precision / recall over object names, case-insensitive) and the view counts as exact when the
 * whole list, order included, is equal. A view the response never mentions counts as naming nothing. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hatch/train_eval.h"

#define MAX_NAMES 16
#define NAME_LEN 48

typedef struct view_names {
  int n;
  char names[MAX_NAMES][NAME_LEN];
} view_names;

/* The names listed after "Image k:" up to the next '.', "none" meaning no names. */
static void parse_view(const char *text, size_t len, int view, view_names *out) {
  out->n = 0;
  char head[24];
  int hn = snprintf(head, sizeof head, "Image %d:", view + 1);
  const char *p = NULL;
  for (size_t i = 0; i + (size_t)hn <= len; i++)
    if (!strncmp(text + i, head, (size_t)hn)) {
      p = text + i + hn;
      break;
    }
  if (!p) return;
  const char *end = text + len;
  while (p < end && *p != '.') {
    while (p < end && (*p == ' ' || *p == ',')) p++;
    const char *q = p;
    while (q < end && *q != ',' && *q != '.') q++;
    size_t n = (size_t)(q - p);
    while (n > 0 && isspace((unsigned char)p[n - 1])) n--;
    if (n > 0 && n < NAME_LEN && out->n < MAX_NAMES && !(n == 4 && !strncasecmp(p, "none", 4))) {
      memcpy(out->names[out->n], p, n);
      out->names[out->n++][n] = 0;
    }
    p = q;
  }
}

static int count_views(const char *text, size_t len) {
  int n = 0;
  for (size_t i = 0; i + 6 <= len; i++) n += !strncmp(text + i, "Image ", 6);
  return n;
}

void hatch_caption_score_add(hatch_caption_score *t, const char *truth, const char *response, size_t len) {
  size_t tlen = strlen(truth);
  int views = count_views(truth, tlen);
  t->captions++;
  bool all_exact = true;
  for (int v = 0; v < views; v++) {
    view_names want, got;
    parse_view(truth, tlen, v, &want);
    parse_view(response, len, v, &got);
    bool used[MAX_NAMES] = {false};
    int hits = 0;
    for (int i = 0; i < got.n; i++)
      for (int j = 0; j < want.n; j++)
        if (!used[j] && !strcasecmp(got.names[i], want.names[j])) {
          used[j] = true, hits++;
          break;
        }
    bool exact = got.n == want.n;
    for (int i = 0; exact && i < got.n; i++) exact = !strcasecmp(got.names[i], want.names[i]);
    t->views++, t->views_exact += exact, all_exact &= exact;
    t->named_true += want.n, t->named_generated += got.n, t->named_correct += hits;
  }
  t->captions_exact += all_exact && views > 0;
}
