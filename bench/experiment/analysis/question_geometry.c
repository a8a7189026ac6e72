/* hatch-question-geometry: where each option of the held-out synthetic questions stands, for reading
 * a model's answers (bench/experiment/README.md, follow-up 8). It walks the scenes exactly as
 * `hatch-train eval --sim N` does (the same seed, settings in turn, 2 questions per world, worlds with
 * none skipped) and writes one JSON line per question: its id (as in eval's --answers files), template,
 * teacher view pair, the view whose main object the answer is (-1: none), the correct letter, and per
 * option the object's pixels in each view, whether each view shows it (the generator's visibility
 * test: >= 1/500 of the view, >= 4 px) and its bearing (deg, right positive) from the `from` and `to`
 * views. tools/answers-by-visibility.py joins it with answers.
 *
 *   build/hatch-question-geometry --sim 300 [--grounding] [--seed S] [--image-size 112] > geometry.jsonl */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/sim_questions_internal.h"
#include "hatch/sim_world.h"

static void print_option(const hatch_sim_world *w, const hatch_sim_visibility *vis, const hatch_sim_question *q, int k) {
  int ob = -1;
  for (int j = 0; j < w->n_objects && ob < 0; j++) { /* names are unique within a world */
    char name[HATCH_PLAN_MAX_TEXT + 1];
    sim_option_text(&w->objects[j], name);
    if (!strcmp(name, q->options[k])) ob = j;
  }
  printf("%s{\"letter\":\"%c\",\"name\":\"%s\"", k ? "," : "", 'A' + k, q->options[k]);
  if (ob >= 0) {
    printf(",\"pixels\":[");
    for (int v = 0; v < w->n_views; v++) printf("%s%d", v ? "," : "", vis->pixels[v][ob]);
    printf("],\"seen\":[");
    for (int v = 0; v < w->n_views; v++) printf("%s%s", v ? "," : "", sim_visible_in(vis, v, ob) ? "true" : "false");
    printf("],\"bearing_from\":%.1f,\"bearing_to\":%.1f", sim_bearing(&w->views[q->from], w->objects[ob].centre, NULL),
           sim_bearing(&w->views[q->to], w->objects[ob].centre, NULL));
  }
  printf("}");
}

/* The view whose main object the answer is: `to` when it is, else the first such view, else -1. A
 * rotation question's answer is the main object of the view the turns reach, which is not `to` when
 * the turn and the side cancel ("turn right, then to your left": `to` is the turned view). */
static int answer_view(const hatch_sim_world *w, const hatch_sim_visibility *vis, const hatch_sim_question *q) {
  if (sim_dominant(vis, q->to) == q->answer_object) return q->to;
  for (int v = 0; v < w->n_views; v++)
    if (sim_dominant(vis, v) == q->answer_object) return v;
  return -1;
}

int main(int argc, char **argv) {
  long n_questions = 0;
  int size = 112;
  bool grounding = false;
  uint64_t seed = 0x5eed0000e7a1ull; /* hatch-train eval's held-out seed */
  for (int i = 1; i < argc; i++) {
    bool has = i + 1 < argc;
    if (!strcmp(argv[i], "--sim") && has) n_questions = atol(argv[++i]);
    else if (!strcmp(argv[i], "--seed") && has) seed = strtoull(argv[++i], NULL, 10);
    else if (!strcmp(argv[i], "--image-size") && has) size = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--grounding")) grounding = true;
    else return fprintf(stderr, "usage: hatch-question-geometry --sim N [--grounding] [--seed S] [--image-size 112]\n"), 2;
  }
  if (n_questions <= 0 || size < 28 || size > 1024 || size % 28)
    return fprintf(stderr, "hatch-question-geometry: need --sim N > 0 and an image size in 28..1024, a multiple of 28\n"), 2;
  uint8_t *rgb = malloc((size_t)size * size * 3);
  float *depth = malloc(sizeof(float) * (size_t)size * size);
  int16_t *ids = malloc(sizeof(int16_t) * (size_t)size * size);
  if (!rgb || !depth || !ids) return fprintf(stderr, "hatch-question-geometry: out of memory\n"), 1;
  static const hatch_sim_setting settings[] = {HATCH_SIM_ROTATION, HATCH_SIM_AROUND, HATCH_SIM_AMONG};
  long written = 0;
  int empty_in_a_row = 0;
  for (int64_t scene = 0; written < n_questions; scene++) {
    hatch_sim_setting setting = settings[scene % 3];
    hatch_sim_options wo = {.setting = setting, .width = size, .height = size};
    uint64_t s = hatch_sim_scene_seed(seed, scene);
    hatch_sim_world w;
    hatch_sim_visibility vis;
    char err[256];
    hatch_status st = hatch_sim_world_generate(s, &wo, &w, err);
    if (st == HATCH_OK) {
      hatch_sim_visibility_init(&vis, &w);
      for (int v = 0; v < w.n_views && st == HATCH_OK; v++) {
        st = hatch_sim_render(&w, v, rgb, depth);
        if (st == HATCH_OK) st = hatch_sim_render_ids(&w, v, ids);
        if (st == HATCH_OK) st = hatch_sim_visibility_add_ids(&vis, &w, v, ids);
      }
    }
    hatch_sim_question qs[HATCH_SIM_MAX_QUESTIONS];
    int nq = 0;
    if (st == HATCH_OK)
      st = (grounding ? hatch_sim_grounding_questions_make : hatch_sim_questions_make)(&w, &vis, s, 2, qs, &nq);
    if (st != HATCH_OK) return fprintf(stderr, "hatch-question-geometry: scene %lld: %s %s\n", (long long)scene, hatch_status_name(st), err), 1;
    empty_in_a_row = nq ? 0 : empty_in_a_row + 1;
    if (empty_in_a_row >= 64) /* the stream gives up there too (sim_stream.c) */
      return fprintf(stderr, "hatch-question-geometry: 64 worlds in a row with nothing to ask\n"), 1;
    for (int k = 0; k < nq && written < n_questions; k++, written++) {
      const hatch_sim_question *q = &qs[k];
      printf("{\"id\":\"%s_%06lld_q%d\",\"template\":\"%s\",\"from\":%d,\"to\":%d,\"answer_view\":%d,"
             "\"truth\":\"%c\",\"options\":[",
             hatch_sim_setting_name(setting), (long long)scene, k, hatch_sim_template_name(q->kind), q->from, q->to,
             answer_view(&w, &vis, q), 'A' + q->answer);
      for (int o = 0; o < q->n_options; o++) print_option(&w, &vis, q, o);
      printf("]}\n");
    }
  }
  free(rgb), free(depth), free(ids);
  return 0;
}
