/* Fuzz target for the inline multiple-choice options of a question (hatch/choice.h): any bytes either
 * give 2..HATCH_CHOICE_MAX non-empty, trimmed options that each occur in the question, in order, or a
 * status from the documented set. libFuzzer entry point; tests/fuzz/replay.c runs the committed
 * corpus through it in every ctest. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hatch/choice.h"

static int is_space(char ch) { return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r'; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *q = malloc(size + 1);
  if (!q) return 0;
  memcpy(q, data, size);
  q[size] = 0; /* the parser reads a C string: it stops at the first NUL */
  hatch_choice_options o;
  hatch_status st = hatch_choice_parse(q, &o);
  if (st == HATCH_OK) {
    if (o.n < 2 || o.n > HATCH_CHOICE_MAX) __builtin_trap();
    const char *at = q;
    for (int k = 0; k < o.n; k++) {
      size_t n = strlen(o.text[k]);
      if (n == 0 || n > HATCH_PLAN_MAX_TEXT || is_space(o.text[k][0]) || is_space(o.text[k][n - 1])) __builtin_trap();
      const char *found = strstr(at, o.text[k]);
      if (!found) __builtin_trap();
      at = found + n;
    }
  } else if (st != HATCH_ERR_NOT_FOUND && st != HATCH_ERR_CORRUPT && st != HATCH_ERR_TOO_LARGE) {
    __builtin_trap();
  }
  free(q);
  return 0;
}
