/* Fuzz target for model output: the plan parser and the constrained-decoding matcher must agree on
 * every input (the matcher dies exactly where the parser reports the error; a parsed plan re-formats
 * into text that parses to the same plan). The first byte picks the limits.
 * libFuzzer entry point; tests/fuzz/replay.c runs the committed corpus through it in every ctest. */
#include <stdint.h>
#include <string.h>

#include "hatch/plan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  hatch_plan_limits lim = {.n_views = data[0] & 15, .n_options = (data[0] >> 4) & 15};
  const char *text = (const char *)data + 1;
  size_t len = size - 1;
  hatch_plan p;
  hatch_plan_error e;
  hatch_status st = hatch_plan_parse(text, len, &lim, &p, &e);
  hatch_plan_matcher m;
  hatch_plan_matcher_init(&m, &lim);
  size_t died = len;
  for (size_t i = 0; i < len; i++)
    if (!hatch_plan_matcher_feed(&m, text + i, 1)) {
      died = i;
      break;
    }
  if (st == HATCH_OK) {
    if (died != len || !hatch_plan_matcher_complete(&m)) __builtin_trap();
    char buf[4096];
    size_t n = hatch_plan_format(&p, buf, sizeof buf);
    hatch_plan q;
    if (n >= sizeof buf || hatch_plan_parse(buf, n, &lim, &q, NULL) != HATCH_OK) __builtin_trap();
    if (q.n_steps != p.n_steps || q.choice != p.choice || strcmp(q.text, p.text) != 0) __builtin_trap();
    for (int s = 0; s < p.n_steps; s++)
      for (int a = 0; a < p.steps[s].n_actions; a++)
        if (q.steps[s].actions[a].verb != p.steps[s].actions[a].verb) __builtin_trap();
  } else {
    if (st != HATCH_ERR_CORRUPT || !e.message[0]) __builtin_trap();
    if (e.offset != died) __builtin_trap();
    if (died == len && hatch_plan_matcher_complete(&m)) __builtin_trap();
  }
  return 0;
}
