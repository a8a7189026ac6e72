/* MindCube scoring (shared/docs/method.md §5): the answer letter a response gives, and per-setting
 * accuracy. The extraction follows MindCube's rules in order:
 *   1. the last "X." with X in A..E standing as its own word ("... so C. Back" -> C);
 *   2. else the first such letter after an "<answer>" tag;
 *   3. else "the answer is X" (any case);
 *   4. else a response that is a bare letter ("B", " b ", "B)").
 * A response with none of these scores as wrong. */
#ifndef HATCH_MINDCUBE_H
#define HATCH_MINDCUBE_H

#include <stddef.h>

/* The extracted letter ('A'..'E'), or 0 when the response gives none. */
char hatch_mindcube_extract_answer(const char *response, size_t len);

/* MindCube settings counted in the overall score (translation is reported but excluded). */
typedef enum hatch_mindcube_setting {
  HATCH_MINDCUBE_AROUND,
  HATCH_MINDCUBE_ROTATION,
  HATCH_MINDCUBE_AMONG,
  HATCH_MINDCUBE_TRANSLATION,
  HATCH_MINDCUBE_OTHER,
  HATCH_MINDCUBE_SETTING_COUNT
} hatch_mindcube_setting;

/* The setting an id names (substring "around", "rotation", "among", "translation"; else OTHER). */
hatch_mindcube_setting hatch_mindcube_setting_of(const char *id);
const char *hatch_mindcube_setting_name(hatch_mindcube_setting s);

typedef struct hatch_mindcube_score {
  int correct[HATCH_MINDCUBE_SETTING_COUNT];
  int total[HATCH_MINDCUBE_SETTING_COUNT];
} hatch_mindcube_score;

/* Counts one answered question. */
void hatch_mindcube_score_add(hatch_mindcube_score *s, const char *id, char predicted, char gt);
/* Accuracy in percent of one setting (0 when it has no questions), and overall: every setting but
 * translation (OTHER counts: synthetic "free" rigs land there). */
double hatch_mindcube_accuracy(const hatch_mindcube_score *s, hatch_mindcube_setting setting);
double hatch_mindcube_overall(const hatch_mindcube_score *s);
int hatch_mindcube_overall_total(const hatch_mindcube_score *s);

#endif
