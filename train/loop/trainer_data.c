/* Samples for a step: the synthetic world (a stream seeded by seed, stage and step, so any step's
 * batch is reproducible without a data cursor) or a MindCube JSONL file (read in order, looping). */
#include <stdlib.h>
#include <string.h>

#include "hatch/ops.h"
#include "trainer_internal.h"

static uint64_t mix(uint64_t a, uint64_t b) {
  uint64_t z = a + 0x9e3779b97f4a7c15ull * (b + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return (z ^ (z >> 31)) & ((1ull << 52) - 1);
}

static hatch_status sim_samples(hatch_trainer *t, uint64_t seed, unsigned settings, int n, hatch_train_sample *out) {
  hatch_sim_stream_options so = {.seed = seed, .settings = settings, .image_size = t->o->image_size,
                                 .questions_per_world = 2, .n_samples = n};
  hatch_sim_stream *s = NULL;
  char err[256] = "";
  hatch_status st = hatch_sim_stream_create(&so, &s, err);
  if (st != HATCH_OK) return trainer_fail(t, st, "synthetic data: %s", err);
  for (int k = 0; k < n && st == HATCH_OK; k++)
    if ((st = hatch_sim_stream_next(s, &out[k])) != HATCH_OK) trainer_fail(t, st, "synthetic data: sample %d of seed %llu", k, (unsigned long long)seed);
  hatch_sim_stream_destroy(s);
  return st;
}

/* Resizes every image of s to size x size (training batches have one shape). */
static hatch_status resize_sample(hatch_trainer *t, hatch_train_sample *s, int size) {
  for (int k = 0; k < s->n_images; k++) {
    hatch_sample_image *im = &s->images[k];
    if (im->width == size && im->height == size) continue;
    uint8_t *dst = malloc((size_t)size * size * 3);
    hatch_status st = dst ? hatch_image_resize_rgb8(t->cpu, im->rgb, im->width, im->height, dst, size, size)
                          : HATCH_ERR_OUT_OF_MEMORY;
    if (st != HATCH_OK) {
      free(dst);
      return st;
    }
    free(im->rgb);
    free(im->depth); /* depth no longer matches the pixels */
    im->depth = NULL;
    im->has_camera = false;
    im->rgb = dst, im->width = size, im->height = size;
  }
  return HATCH_OK;
}

static hatch_status jsonl_samples(hatch_trainer *t, int n, hatch_train_sample *out) {
  int got = 0, rewinds = 0;
  while (got < n) {
    hatch_data_report dr = {0};
    hatch_data_step step = hatch_mindcube_reader_next(t->jsonl, &out[got], &dr);
    if (step == HATCH_DATA_SAMPLE) {
      t->jsonl_consumed++;
      hatch_status st = resize_sample(t, &out[got], t->o->image_size);
      if (st != HATCH_OK) return trainer_fail(t, st, "%s: resizing the images", out[got].source);
      got++;
    } else if (step == HATCH_DATA_SKIPPED) {
      t->jsonl_consumed++;
      fprintf(stderr, "hatch-train: skipped %s\n", dr.message);
    } else if (step == HATCH_DATA_END) {
      hatch_data_counts c = hatch_mindcube_reader_counts(t->jsonl);
      if (c.ok == 0 || ++rewinds > 1)
        return trainer_fail(t, HATCH_ERR_NOT_FOUND, "%s: no usable sample (%llu records, %llu skipped)", t->o->data_jsonl,
                            (unsigned long long)c.read, (unsigned long long)c.skipped);
      hatch_mindcube_reader_close(t->jsonl);
      t->jsonl = NULL;
      hatch_status st = hatch_mindcube_reader_open(t->o->data_jsonl, NULL, &t->jsonl, &dr);
      if (st != HATCH_OK) return trainer_fail(t, st, "%s", dr.message);
    } else {
      return trainer_fail(t, dr.status ? dr.status : HATCH_ERR_IO, "%s", dr.message);
    }
  }
  return HATCH_OK;
}

hatch_status trainer_samples(hatch_trainer *t, int64_t step, int n, hatch_train_sample *out) {
  for (int k = 0; k < n; k++) hatch_train_sample_clear(&out[k]);
  hatch_stage stage = t->o->stages[t->stage_index].stage;
  if (t->jsonl && stage != HATCH_STAGE_PASTA) return jsonl_samples(t, n, out);
  unsigned settings = t->o->settings;
  if (stage == HATCH_STAGE_PASTA) {
    /* PaStA needs views that overlap: rotation's 90-degree turns with a 90-degree field of view share
     * (almost) nothing, so its pairs come from the other rigs. */
    settings &= ~HATCH_SIM_SETTING_BIT(HATCH_SIM_ROTATION);
    if (!settings) settings = HATCH_SIM_SETTING_BIT(HATCH_SIM_AROUND) | HATCH_SIM_SETTING_BIT(HATCH_SIM_AMONG);
  }
  return sim_samples(t, mix(mix(t->o->seed, (uint64_t)t->stage_index), (uint64_t)step), settings, n, out);
}

hatch_status trainer_eval_samples(hatch_trainer *t, int n, hatch_train_sample *out) {
  for (int k = 0; k < n; k++) hatch_train_sample_clear(&out[k]);
  return sim_samples(t, t->o->eval_seed, t->o->settings, n, out);
}
