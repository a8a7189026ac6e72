/* Samples for a step: the synthetic world (a stream seeded by seed, stage and step, so any step's
 * batch is reproducible without a data cursor), a MindCube JSONL file or an RGB-D manifest (read in
 * order, looping; their cursors are in the checkpoint). */
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

/* Which synthetic samples a stage trains on. */
typedef enum { SIM_SPATIAL, SIM_GROUNDING, SIM_CAPTIONS } sim_kind;

static sim_kind stage_sim_kind(hatch_stage s) {
  return s == HATCH_STAGE_GROUND ? SIM_GROUNDING : s == HATCH_STAGE_CAPTION ? SIM_CAPTIONS : SIM_SPATIAL;
}

static hatch_status sim_samples(hatch_trainer *t, uint64_t seed, unsigned settings, sim_kind kind, int n,
                                hatch_train_sample *out) {
  hatch_sim_stream_options so = {.seed = seed, .settings = settings, .image_size = t->o->image_size,
                                 .questions_per_world = 2, .n_samples = n, .grounding = kind == SIM_GROUNDING,
                                 .captions = kind == SIM_CAPTIONS};
  hatch_sim_stream *s = NULL;
  char err[256] = "";
  hatch_status st = hatch_sim_stream_create(&so, &s, err);
  if (st != HATCH_OK) return trainer_fail(t, st, "synthetic data: %s", err);
  for (int k = 0; k < n && st == HATCH_OK; k++)
    if ((st = hatch_sim_stream_next(s, &out[k])) != HATCH_OK) trainer_fail(t, st, "synthetic data: sample %d of seed %llu", k, (unsigned long long)seed);
  hatch_sim_stream_destroy(s);
  return st;
}

hatch_status trainer_resize_sample(hatch_trainer *t, hatch_train_sample *s, int size) {
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
    free(im->depth); /* depth and cell labels no longer match the pixels */
    free(im->cell_object);
    im->depth = NULL, im->cell_object = NULL;
    im->has_camera = false;
    im->rgb = dst, im->width = size, im->height = size;
  }
  return HATCH_OK;
}

/* A file source read in order, looping once at its end: MindCube JSONL or an RGB-D manifest. */
typedef enum { SOURCE_JSONL, SOURCE_RGBD } file_source;

static hatch_data_step source_next(hatch_trainer *t, file_source src, hatch_train_sample *s, hatch_data_report *dr) {
  return src == SOURCE_JSONL ? hatch_mindcube_reader_next(t->jsonl, s, dr) : hatch_rgbd_reader_next(t->rgbd, s, dr);
}

static hatch_data_counts source_counts(const hatch_trainer *t, file_source src) {
  return src == SOURCE_JSONL ? hatch_mindcube_reader_counts(t->jsonl) : hatch_rgbd_reader_counts(t->rgbd);
}

static hatch_status source_reopen(hatch_trainer *t, file_source src, hatch_data_report *dr) {
  if (src == SOURCE_JSONL) {
    hatch_mindcube_reader_close(t->jsonl);
    t->jsonl = NULL;
    return hatch_mindcube_reader_open(t->o->data_jsonl, NULL, &t->jsonl, dr);
  }
  hatch_rgbd_reader_close(t->rgbd);
  t->rgbd = NULL;
  return hatch_rgbd_reader_open(t->o->rgbd_manifest, NULL, &t->rgbd, dr);
}

/* n samples from a file source; resize: to the run's image size (else full size, depth kept: PaStA
 * computes its targets first). Bad records are skipped with a message naming file and line. */
static hatch_status file_samples(hatch_trainer *t, file_source src, int n, bool resize, hatch_train_sample *out) {
  const char *path = src == SOURCE_JSONL ? t->o->data_jsonl : t->o->rgbd_manifest;
  int64_t *consumed = src == SOURCE_JSONL ? &t->jsonl_consumed : &t->rgbd_consumed;
  int got = 0;
  bool rewound = false, got_since_rewind = false;
  while (got < n) {
    hatch_data_report dr = {0};
    hatch_data_step step = source_next(t, src, &out[got], &dr);
    if (step == HATCH_DATA_SAMPLE) {
      (*consumed)++;
      hatch_status st = resize ? trainer_resize_sample(t, &out[got], t->o->image_size) : HATCH_OK;
      if (st != HATCH_OK) return trainer_fail(t, st, "%s: resizing the images", out[got].source);
      got++;
      got_since_rewind = true;
    } else if (step == HATCH_DATA_SKIPPED) {
      (*consumed)++;
      fprintf(stderr, "hatch-train: skipped %s\n", dr.message);
    } else if (step == HATCH_DATA_END) {
      hatch_data_counts c = source_counts(t, src);
      if (c.ok == 0 || (rewound && !got_since_rewind)) /* a whole pass gave nothing */
        return trainer_fail(t, HATCH_ERR_NOT_FOUND, "%s: no usable sample (%llu records, %llu skipped)", path,
                            (unsigned long long)c.read, (unsigned long long)c.skipped);
      rewound = true, got_since_rewind = false;
      hatch_status st = source_reopen(t, src, &dr);
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
  if (stage == HATCH_STAGE_PASTA && t->rgbd) return file_samples(t, SOURCE_RGBD, n, false, out);
  int n_main = n;
  if (stage == HATCH_STAGE_ACTOR && t->rgbd) { /* the second half of the batch: manifest pairs */
    n_main = n - n / 2;
    hatch_status st = file_samples(t, SOURCE_RGBD, n / 2, true, out + n_main);
    if (st != HATCH_OK) return st;
  }
  if (t->jsonl && stage != HATCH_STAGE_PASTA && stage_sim_kind(stage) == SIM_SPATIAL)
    return file_samples(t, SOURCE_JSONL, n_main, true, out);
  unsigned settings = t->o->settings;
  if (stage == HATCH_STAGE_PASTA) {
    /* PaStA needs views that overlap: rotation's 90-degree turns with a 90-degree field of view share
     * (almost) nothing, so its pairs come from the other rigs. */
    settings &= ~HATCH_SIM_SETTING_BIT(HATCH_SIM_ROTATION);
    if (!settings) settings = HATCH_SIM_SETTING_BIT(HATCH_SIM_AROUND) | HATCH_SIM_SETTING_BIT(HATCH_SIM_AMONG);
  }
  return sim_samples(t, mix(mix(t->o->seed, (uint64_t)t->stage_index), (uint64_t)step), settings,
                     stage_sim_kind(stage), n_main, out);
}

hatch_status trainer_eval_samples(hatch_trainer *t, int n, hatch_train_sample *out) {
  for (int k = 0; k < n; k++) hatch_train_sample_clear(&out[k]);
  /* The quick eval asks what the current stage trains: grounding during "ground" and "caption" (a
   * caption has no letter to score), else spatial. */
  bool grounding = t->stage_index < t->o->n_stages && stage_sim_kind(t->o->stages[t->stage_index].stage) != SIM_SPATIAL;
  return sim_samples(t, t->o->eval_seed, t->o->settings, grounding ? SIM_GROUNDING : SIM_SPATIAL, n, out);
}
