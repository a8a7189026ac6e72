/* Inline multiple-choice options (hatch/choice.h). */
#include <stdbool.h>
#include <string.h>

#include "hatch/choice.h"

static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/* A marker "X. " for letter X at i: at the start or after white space. */
static bool marker_at(const char *q, size_t i, size_t len, char letter) {
  return i + 2 < len && q[i] == letter && q[i + 1] == '.' && q[i + 2] == ' ' && (i == 0 || is_space(q[i - 1]));
}

static size_t next_marker(const char *q, size_t from, size_t len, char letter) {
  for (size_t i = from; i < len; i++)
    if (marker_at(q, i, len, letter)) return i;
  return len;
}

hatch_status hatch_choice_parse(const char *question, hatch_choice_options *out) {
  memset(out, 0, sizeof *out);
  if (!question) return HATCH_ERR_INVALID_ARGUMENT;
  size_t len = strlen(question), start = len;
  for (size_t i = len; i-- > 0;) /* the last A. that a B. follows */
    if (marker_at(question, i, len, 'A') && next_marker(question, i + 3, len, 'B') < len) {
      start = i;
      break;
    }
  if (start == len) return HATCH_ERR_NOT_FOUND;
  size_t at = start;
  for (int k = 0; k < HATCH_CHOICE_MAX; k++) {
    size_t text = at + 3;
    size_t end = k + 1 < HATCH_CHOICE_MAX ? next_marker(question, text, len, (char)('A' + k + 1)) : len;
    size_t a = text, b = end;
    while (a < b && is_space(question[a])) a++;
    while (b > a && is_space(question[b - 1])) b--;
    if (a == b) return HATCH_ERR_CORRUPT;
    if (b - a > HATCH_PLAN_MAX_TEXT) return HATCH_ERR_TOO_LARGE;
    memcpy(out->text[k], question + a, b - a);
    out->text[k][b - a] = 0;
    out->n = k + 1;
    if (end == len) break;
    at = end;
  }
  return out->n >= 2 ? HATCH_OK : HATCH_ERR_NOT_FOUND;
}
