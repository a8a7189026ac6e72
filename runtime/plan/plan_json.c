/* Plans out: the grammar text (training targets) and the plan JSON of ARCHITECTURE.md. */
#include <cjson/cJSON.h>
#include <stdarg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan/plan_internal.h"

/* Appends printf output at *len when it fits; always advances *len by the length it needs. */
static void put(char *buf, size_t cap, size_t *len, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void put(char *buf, size_t cap, size_t *len, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char tmp[256];
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if (*len + (size_t)n < cap) memcpy(buf + *len, tmp, (size_t)n + 1);
  *len += (size_t)n;
}

size_t hatch_plan_format(const hatch_plan *plan, char *buf, size_t cap) {
  size_t len = 0;
  if (cap) buf[0] = 0;
  put(buf, cap, &len, "<action>");
  for (int s = 0; s < plan->n_steps; s++) {
    const hatch_plan_step *st = &plan->steps[s];
    put(buf, cap, &len, "%s{from:%d,to:%d,action:[", s ? "," : "", st->from, st->to);
    for (int a = 0; a < st->n_actions; a++) {
      const hatch_plan_action *ac = &st->actions[a];
      if (hatch_plan_verb_is_turn(ac->verb)) put(buf, cap, &len, "{%s: %ld deg}", hatch_plan_verb_text(ac->verb), lround(ac->value));
      else put(buf, cap, &len, "{%s: %.2f m}", hatch_plan_verb_text(ac->verb), ac->value);
    }
    put(buf, cap, &len, "]}");
  }
  put(buf, cap, &len, "</action><answer>%c. %s</answer>", plan->choice, plan->text);
  return len;
}

static cJSON *pose_json(const hatch_relative_pose *p) {
  cJSON *o = cJSON_CreateObject();
  if (!o) return NULL;
  cJSON_AddNumberToObject(o, "yaw_deg", round(p->yaw_deg * 1000) / 1000);
  cJSON_AddNumberToObject(o, "pitch_deg", round(p->pitch_deg * 1000) / 1000);
  double t[3];
  for (int k = 0; k < 3; k++) t[k] = round(p->t_m[k] * 10000) / 10000 + 0.0;
  cJSON_AddItemToObject(o, "t_m", cJSON_CreateDoubleArray(t, 3));
  return o;
}

char *hatch_plan_to_json(const hatch_plan *plan, const char *id, const char *question, const hatch_plan_view *views,
                         int n_views, const hatch_plan_timing *timing, const char *model_name,
                         const char *model_sha256) {
  cJSON *root = cJSON_CreateObject();
  if (!root) return NULL;
  cJSON_AddStringToObject(root, "id", id ? id : "");
  cJSON_AddStringToObject(root, "question", question ? question : "");
  cJSON *jv = cJSON_AddArrayToObject(root, "views");
  for (int i = 0; jv && i < n_views; i++) {
    cJSON *v = cJSON_CreateObject();
    cJSON_AddStringToObject(v, "camera", views[i].camera ? views[i].camera : "");
    cJSON_AddNumberToObject(v, "index", views[i].index);
    cJSON_AddNumberToObject(v, "ts_ns", (double)views[i].ts_ns);
    cJSON_AddNumberToObject(v, "seq", (double)views[i].seq);
    cJSON_AddItemToArray(jv, v);
  }
  cJSON *js = cJSON_AddArrayToObject(root, "steps");
  for (int s = 0; js && s < plan->n_steps; s++) {
    const hatch_plan_step *st = &plan->steps[s];
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "from", st->from);
    cJSON_AddNumberToObject(o, "to", st->to);
    cJSON *ja = cJSON_AddArrayToObject(o, "actions");
    for (int a = 0; ja && a < st->n_actions; a++) {
      cJSON *ac = cJSON_CreateObject();
      cJSON_AddStringToObject(ac, "verb", hatch_plan_verb_json_name(st->actions[a].verb));
      cJSON_AddNumberToObject(ac, "value", st->actions[a].value);
      cJSON_AddStringToObject(ac, "unit", hatch_plan_verb_is_turn(st->actions[a].verb) ? "deg" : "m");
      cJSON_AddItemToArray(ja, ac);
    }
    cJSON_AddItemToObject(o, "relative_pose", pose_json(&st->pose));
    cJSON_AddItemToArray(js, o);
  }
  cJSON *ans = cJSON_AddObjectToObject(root, "answer");
  char choice[2] = {plan->choice, 0};
  if (ans) {
    cJSON_AddStringToObject(ans, "choice", choice);
    cJSON_AddStringToObject(ans, "text", plan->text);
  }
  hatch_plan_timing zero = {0};
  if (!timing) timing = &zero;
  cJSON *t = cJSON_AddObjectToObject(root, "timing_ms");
  if (t) {
    cJSON_AddNumberToObject(t, "capture", timing->capture);
    cJSON_AddNumberToObject(t, "preprocess", timing->preprocess);
    cJSON_AddNumberToObject(t, "vision", timing->vision);
    cJSON_AddNumberToObject(t, "prefill", timing->prefill);
    cJSON_AddNumberToObject(t, "decode", timing->decode);
    cJSON_AddNumberToObject(t, "total", timing->total);
  }
  cJSON *mo = cJSON_AddObjectToObject(root, "model");
  if (mo) {
    cJSON_AddStringToObject(mo, "name", model_name ? model_name : "");
    cJSON_AddStringToObject(mo, "sha256", model_sha256 ? model_sha256 : "");
  }
  char *out = cJSON_PrintUnformatted(root);
  cJSON_Delete(root);
  return out;
}
