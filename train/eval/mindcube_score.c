/* MindCube answer extraction and accuracy (hatch/mindcube.h). */
#include "hatch/mindcube.h"

#include <ctype.h>
#include <string.h>

static int is_choice(char c) { return c >= 'A' && c <= 'E'; }
static int is_word(char c) { return isalnum((unsigned char)c) || c == '_'; }

/* Letter at r[i] standing alone: no word character before it. */
static int letter_starts_word(const char *r, size_t i) { return i == 0 || !is_word(r[i - 1]); }

/* Rule 1: the last "X." whose X begins a word. */
static char last_letter_dot(const char *r, size_t len) {
  for (size_t i = len; i >= 2; i--) {
    size_t at = i - 2;
    if (r[at + 1] == '.' && is_choice(r[at]) && letter_starts_word(r, at)) return r[at];
  }
  return 0;
}

/* Case-insensitive search for needle in r[from, len). Returns the offset or len. */
static size_t find_ci(const char *r, size_t len, size_t from, const char *needle) {
  size_t n = strlen(needle);
  for (size_t i = from; i + n <= len; i++) {
    size_t k = 0;
    while (k < n && tolower((unsigned char)r[i + k]) == tolower((unsigned char)needle[k])) k++;
    if (k == n) return i;
  }
  return len;
}

/* A choice letter (either case accepted after the phrase) standing as its own word at r[i]. */
static char word_letter_at(const char *r, size_t len, size_t i) {
  if (i >= len) return 0;
  char c = (char)toupper((unsigned char)r[i]);
  if (!is_choice(c)) return 0;
  if (i + 1 < len && is_word(r[i + 1])) return 0;
  return c;
}

static size_t skip_spaces(const char *r, size_t len, size_t i) {
  while (i < len && (isspace((unsigned char)r[i]) || r[i] == ':' || r[i] == '(')) i++;
  return i;
}

char hatch_mindcube_extract_answer(const char *r, size_t len) {
  if (!r) return 0;
  char c = last_letter_dot(r, len);
  if (c) return c;
  size_t tag = find_ci(r, len, 0, "<answer>");
  if (tag < len) {
    for (size_t i = tag + 8; i < len; i++)
      if (is_choice(r[i]) && letter_starts_word(r, i) && !(i + 1 < len && is_word(r[i + 1]))) return r[i];
  }
  for (size_t at = find_ci(r, len, 0, "the answer is"); at < len; at = find_ci(r, len, at + 1, "the answer is")) {
    c = word_letter_at(r, len, skip_spaces(r, len, at + 13));
    if (c) return c;
  }
  size_t b = skip_spaces(r, len, 0), e = len;
  while (e > b && (isspace((unsigned char)r[e - 1]) || r[e - 1] == ')' || r[e - 1] == '.')) e--;
  if (e == b + 1) {
    c = (char)toupper((unsigned char)r[b]);
    if (is_choice(c)) return c;
  }
  return 0;
}

hatch_mindcube_setting hatch_mindcube_setting_of(const char *id) {
  if (!id) return HATCH_MINDCUBE_OTHER;
  if (strstr(id, "around")) return HATCH_MINDCUBE_AROUND;
  if (strstr(id, "rotation")) return HATCH_MINDCUBE_ROTATION;
  if (strstr(id, "among")) return HATCH_MINDCUBE_AMONG;
  if (strstr(id, "translation")) return HATCH_MINDCUBE_TRANSLATION;
  return HATCH_MINDCUBE_OTHER;
}

const char *hatch_mindcube_setting_name(hatch_mindcube_setting s) {
  static const char *const names[] = {"around", "rotation", "among", "translation", "other"};
  return s >= 0 && s < HATCH_MINDCUBE_SETTING_COUNT ? names[s] : "?";
}

void hatch_mindcube_score_add(hatch_mindcube_score *s, const char *id, char predicted, char gt) {
  hatch_mindcube_setting k = hatch_mindcube_setting_of(id);
  s->total[k]++;
  if (predicted && toupper((unsigned char)predicted) == toupper((unsigned char)gt)) s->correct[k]++;
}

double hatch_mindcube_accuracy(const hatch_mindcube_score *s, hatch_mindcube_setting k) {
  return s->total[k] ? 100.0 * s->correct[k] / s->total[k] : 0.0;
}

int hatch_mindcube_overall_total(const hatch_mindcube_score *s) {
  int n = 0;
  for (int k = 0; k < HATCH_MINDCUBE_SETTING_COUNT; k++)
    if (k != HATCH_MINDCUBE_TRANSLATION) n += s->total[k];
  return n;
}

double hatch_mindcube_overall(const hatch_mindcube_score *s) {
  int c = 0, n = hatch_mindcube_overall_total(s);
  for (int k = 0; k < HATCH_MINDCUBE_SETTING_COUNT; k++)
    if (k != HATCH_MINDCUBE_TRANSLATION) c += s->correct[k];
  return n ? 100.0 * c / n : 0.0;
}
