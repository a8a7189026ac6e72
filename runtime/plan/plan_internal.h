/* Shared between the plan grammar machine and the parser: the capture the parser attaches. */
#ifndef HATCH_PLAN_INTERNAL_H
#define HATCH_PLAN_INTERNAL_H

#include "hatch/plan.h"

typedef struct hatch_plan_capture {
  hatch_plan *plan;
  char number[16]; /* digits of the current number */
  int number_len;
} hatch_plan_capture;

bool hatch_plan_verb_is_turn(hatch_plan_verb v);
bool hatch_plan_step_byte(hatch_plan_matcher *m, unsigned char c, hatch_plan_capture *cap);
const char *hatch_plan_expected(const hatch_plan_matcher *m);

void hatch_plan_capture_from(hatch_plan_capture *c, int from);
void hatch_plan_capture_to(hatch_plan_capture *c, int to);
void hatch_plan_capture_verb(hatch_plan_capture *c, int verb);
void hatch_plan_capture_digit(hatch_plan_capture *c, char ch);
bool hatch_plan_capture_number(hatch_plan_capture *c);
void hatch_plan_capture_new_step(hatch_plan_capture *c);
void hatch_plan_capture_letter(hatch_plan_capture *c, char ch);
void hatch_plan_capture_text(hatch_plan_capture *c, char ch);

#endif
