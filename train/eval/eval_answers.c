/* One JSON line per evaluated question (hatch-train eval --answers): what was asked, the truth and what
 * the model answered, for looking at failures by template or scene. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "hatch/mindcube.h"
#include "hatch/train_eval.h"

hatch_status hatch_eval_answer_write(FILE *f, const hatch_train_sample *s, const hatch_generation *g) {
  if (!f || !s || !g) return HATCH_ERR_INVALID_ARGUMENT;
  size_t len = strnlen(g->text, sizeof g->text);
  char got = hatch_mindcube_extract_answer(g->text, len);
  char letter[2] = {got, 0}, truth[2] = {s->gt_answer, 0};
  cJSON *o = cJSON_CreateObject();
  bool ok = o && cJSON_AddStringToObject(o, "id", s->id) && cJSON_AddStringToObject(o, "source", s->source) &&
            cJSON_AddStringToObject(o, "setting", s->setting) && cJSON_AddStringToObject(o, "question", s->question) &&
            cJSON_AddStringToObject(o, "truth", truth) && cJSON_AddStringToObject(o, "answer", letter) &&
            cJSON_AddBoolToObject(o, "correct", got != 0 && got == s->gt_answer) &&
            cJSON_AddBoolToObject(o, "ranked", g->ranked) && cJSON_AddStringToObject(o, "response", g->text);
  if (ok && s->has_pose) ok = cJSON_AddStringToObject(o, "true_action", s->action) != NULL;
  char *line = ok ? cJSON_PrintUnformatted(o) : NULL;
  cJSON_Delete(o);
  if (!line) return HATCH_ERR_OUT_OF_MEMORY;
  bool written = fprintf(f, "%s\n", line) > 0;
  free(line);
  return written ? HATCH_OK : HATCH_ERR_IO;
}
