/* The plan parser: the grammar machine with a capture attached (plan_grammar.c), then the poses. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan/plan_internal.h"

static hatch_plan_step *cur_step(hatch_plan_capture *c) { return &c->plan->steps[c->plan->n_steps - 1]; }

void hatch_plan_capture_from(hatch_plan_capture *c, int from) {
  if (c->plan->n_steps == 0) c->plan->n_steps = 1;
  cur_step(c)->from = from;
}
void hatch_plan_capture_to(hatch_plan_capture *c, int to) { cur_step(c)->to = to; }
void hatch_plan_capture_verb(hatch_plan_capture *c, int verb) {
  hatch_plan_step *s = cur_step(c);
  s->actions[s->n_actions].verb = (hatch_plan_verb)verb;
  s->actions[s->n_actions].value = 0;
  s->n_actions++;
  c->number_len = 0;
}
void hatch_plan_capture_digit(hatch_plan_capture *c, char ch) {
  if (c->number_len < (int)sizeof c->number - 1) c->number[c->number_len++] = ch;
}
bool hatch_plan_capture_number(hatch_plan_capture *c) {
  c->number[c->number_len] = 0;
  hatch_plan_step *s = cur_step(c);
  s->actions[s->n_actions - 1].value = strtod(c->number, NULL);
  c->number_len = 0;
  return true;
}
void hatch_plan_capture_new_step(hatch_plan_capture *c) { c->plan->n_steps++; }
void hatch_plan_capture_letter(hatch_plan_capture *c, char ch) { c->plan->choice = ch; }
void hatch_plan_capture_text(hatch_plan_capture *c, char ch) {
  size_t n = strlen(c->plan->text);
  if (n < HATCH_PLAN_MAX_TEXT) c->plan->text[n] = ch, c->plan->text[n + 1] = 0;
}

hatch_status hatch_plan_parse(const char *text, size_t len, const hatch_plan_limits *limits, hatch_plan *out,
                              hatch_plan_error *err) {
  hatch_plan_error scratch;
  if (!err) err = &scratch;
  memset(err, 0, sizeof *err);
  if (!text || !out) return HATCH_ERR_INVALID_ARGUMENT;
  memset(out, 0, sizeof *out);
  hatch_plan_matcher m;
  hatch_plan_matcher_init(&m, limits);
  hatch_plan_capture cap = {.plan = out};
  for (size_t i = 0; i < len; i++) {
    if (!hatch_plan_step_byte(&m, (unsigned char)text[i], &cap)) {
      unsigned char c = (unsigned char)text[i];
      char shown[8];
      if (c >= 0x20 && c < 0x7f) snprintf(shown, sizeof shown, "'%c'", c);
      else snprintf(shown, sizeof shown, "0x%02x", c);
      err->offset = i;
      snprintf(err->message, sizeof err->message, "offset %zu: %s does not fit; expected %s", i, shown,
               hatch_plan_expected(&m));
      memset(out, 0, sizeof *out);
      return HATCH_ERR_CORRUPT;
    }
  }
  if (!hatch_plan_matcher_complete(&m)) {
    err->offset = len;
    snprintf(err->message, sizeof err->message, "offset %zu: the plan ends early; expected %s", len, hatch_plan_expected(&m));
    memset(out, 0, sizeof *out);
    return HATCH_ERR_CORRUPT;
  }
  for (int s = 0; s < out->n_steps; s++)
    hatch_plan_compose(out->steps[s].actions, out->steps[s].n_actions, &out->steps[s].pose);
  return HATCH_OK;
}
