/* Captions of a synthetic world's views (hatch/sim_dataset.h, hatch_sim_caption): every object that
 * covers >= 1% of a view, ordered left to right by the horizontal centre of its pixels. */
#include <stdio.h>
#include <string.h>

#include "data/sim_questions_internal.h"

/* Appends to buf[*len..cap); false when it does not fit. */
static bool append(char *buf, size_t cap, size_t *len, const char *text) {
  size_t n = strlen(text);
  if (*len + n + 1 > cap) return false;
  memcpy(buf + *len, text, n + 1);
  *len += n;
  return true;
}

/* The objects of view v worth naming, left to right; returns how many. */
static int view_objects(const hatch_sim_visibility *vis, int v, int order[HATCH_SIM_MAX_OBJECTS]) {
  double centre[HATCH_SIM_MAX_OBJECTS];
  int n = 0;
  for (int o = 0; o < vis->n_objects; o++) {
    int p = vis->pixels[v][o];
    if (p <= 0 || (int64_t)p * 100 < vis->view_pixels[v]) continue;
    double c = vis->column_sum[v][o] / p;
    int k = n++;
    for (; k > 0 && centre[k - 1] > c; k--) centre[k] = centre[k - 1], order[k] = order[k - 1]; /* insertion sort */
    centre[k] = c, order[k] = o;
  }
  return n;
}

hatch_status hatch_sim_caption(const hatch_sim_world *world, const hatch_sim_visibility *vis, char *response,
                               size_t cap) {
  if (!world || !vis || !response || cap == 0 || vis->n_views != world->n_views || vis->n_objects != world->n_objects ||
      world->n_views > HATCH_SIM_MAX_VIEWS || world->n_objects > HATCH_SIM_MAX_OBJECTS || world->n_objects < 0)
    return HATCH_ERR_INVALID_ARGUMENT;
  size_t len = 0;
  response[0] = 0;
  for (int v = 0; v < world->n_views; v++) {
    int order[HATCH_SIM_MAX_OBJECTS], n = view_objects(vis, v, order);
    char head[32];
    snprintf(head, sizeof head, "%sImage %d: ", v ? " " : "", v + 1);
    if (!append(response, cap, &len, head)) return HATCH_ERR_TOO_LARGE;
    if (n == 0 && !append(response, cap, &len, "none")) return HATCH_ERR_TOO_LARGE;
    for (int k = 0; k < n; k++) {
      char name[HATCH_PLAN_MAX_TEXT + 1];
      sim_option_text(&world->objects[order[k]], name);
      if ((k && !append(response, cap, &len, ", ")) || !append(response, cap, &len, name))
        return HATCH_ERR_TOO_LARGE;
    }
    if (!append(response, cap, &len, ".")) return HATCH_ERR_TOO_LARGE;
  }
  return HATCH_OK;
}
