/* The in-memory sample stream over synthetic worlds (hatch/sim_dataset.h): one world per scene index,
 * rendered once (RGB, depth, object ids), its questions handed out one sample at a time. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/sim_questions_internal.h"

#define MAX_EMPTY_WORLDS 64 /* worlds in a row with nothing to ask before the stream gives up */

struct hatch_sim_stream {
  hatch_sim_stream_options opt;
  hatch_sim_setting enabled[HATCH_SIM_SETTING_COUNT];
  int n_enabled;
  int64_t scene;    /* current world's scene index; -1 before the first */
  int64_t produced; /* samples returned */
  hatch_sim_world world;
  hatch_sim_question questions[HATCH_SIM_MAX_QUESTIONS];
  int n_questions, next_question;
  char caption[HATCH_SAMPLE_MAX_RESPONSE]; /* the world's caption (captions mode) */
  uint8_t *rgb;  // (HATCH_SIM_MAX_VIEWS, size, size, 3)
  float *depth;  // (HATCH_SIM_MAX_VIEWS, size, size)
  int16_t *ids;  // (size, size)
  int16_t *cells; // (HATCH_SIM_MAX_VIEWS, size / 28, size / 28) object shown by each cell, -1 none; NULL when size % 28
};

static void set_err(char *err, const char *msg) {
  if (err) snprintf(err, 256, "%s", msg);
}

hatch_status hatch_sim_stream_create(const hatch_sim_stream_options *opt, hatch_sim_stream **out, char err[256]) {
  set_err(err, "");
  if (!opt || !out) {
    set_err(err, "sim stream: NULL options or output");
    return HATCH_ERR_INVALID_ARGUMENT;
  }
  *out = NULL;
  hatch_sim_stream_options o = *opt;
  if (o.image_size == 0) o.image_size = 224;
  if (o.questions_per_world == 0) o.questions_per_world = 4;
  if (o.settings == 0) o.settings = (1u << HATCH_SIM_SETTING_COUNT) - 1;
  if (o.image_size < 16 || o.image_size > 4096) {
    if (err) snprintf(err, 256, "sim stream: image_size %d is outside 16..4096", o.image_size);
    return HATCH_ERR_INVALID_ARGUMENT;
  }
  if (o.questions_per_world < 1 || o.questions_per_world > HATCH_SIM_MAX_QUESTIONS) {
    if (err) snprintf(err, 256, "sim stream: questions_per_world %d is outside 1..%d", o.questions_per_world,
                      HATCH_SIM_MAX_QUESTIONS);
    return HATCH_ERR_INVALID_ARGUMENT;
  }
  if (o.n_samples < 0 || (o.settings >> HATCH_SIM_SETTING_COUNT) != 0) {
    set_err(err, "sim stream: negative n_samples or an unknown setting bit");
    return HATCH_ERR_INVALID_ARGUMENT;
  }
  hatch_sim_stream *st = calloc(1, sizeof *st);
  if (!st) goto fail_alloc;
  st->opt = o;
  st->scene = -1;
  for (int s = 0; s < HATCH_SIM_SETTING_COUNT; s++)
    if (o.settings & HATCH_SIM_SETTING_BIT(s)) st->enabled[st->n_enabled++] = (hatch_sim_setting)s;
  size_t px = (size_t)o.image_size * (size_t)o.image_size;
  st->rgb = malloc(px * 3 * HATCH_SIM_MAX_VIEWS);
  st->depth = malloc(px * sizeof(float) * HATCH_SIM_MAX_VIEWS);
  st->ids = malloc(px * sizeof(int16_t));
  int g = o.image_size % HATCH_SAMPLE_CELL ? 0 : o.image_size / HATCH_SAMPLE_CELL;
  if (g) st->cells = malloc(sizeof(int16_t) * (size_t)g * g * HATCH_SIM_MAX_VIEWS);
  if (!st->rgb || !st->depth || !st->ids || (g && !st->cells)) goto fail_buffers;
  *out = st;
  return HATCH_OK;
fail_buffers:
  hatch_sim_stream_destroy(st);
fail_alloc:
  set_err(err, "sim stream: out of memory");
  return HATCH_ERR_OUT_OF_MEMORY;
}

void hatch_sim_stream_destroy(hatch_sim_stream *st) {
  if (!st) return;
  free(st->rgb);
  free(st->depth);
  free(st->ids);
  free(st->cells);
  free(st);
}

/* cells (size / 28, size / 28): the object covering the most of each 28x28 cell of ids if that is at
 * least a tenth of it (objects are small at 112 px: a token must still say what it shows), else -1. */
static void label_cells(const int16_t *ids, int size, int n_objects, int16_t *cells) {
  int g = size / HATCH_SAMPLE_CELL, C = HATCH_SAMPLE_CELL;
  for (int cy = 0; cy < g; cy++)
    for (int cx = 0; cx < g; cx++) {
      int count[HATCH_SIM_MAX_OBJECTS] = {0}, best = -1;
      for (int y = cy * C; y < (cy + 1) * C; y++)
        for (int x = cx * C; x < (cx + 1) * C; x++) {
          int id = ids[y * size + x];
          if (id >= 0 && id < n_objects) count[id]++;
        }
      for (int o = 0; o < n_objects; o++)
        if (count[o] * 10 >= C * C && (best < 0 || count[o] > count[best])) best = o;
      cells[cy * g + cx] = (int16_t)best;
    }
}

/* Builds and renders the next world that has something to ask. */
static hatch_status next_world(hatch_sim_stream *st) {
  for (int tries = 0; tries < MAX_EMPTY_WORLDS; tries++) {
    st->scene++;
    hatch_sim_options wo = {
        .setting = st->enabled[st->scene % st->n_enabled], .width = st->opt.image_size, .height = st->opt.image_size};
    uint64_t seed = hatch_sim_scene_seed(st->opt.seed, st->scene);
    char err[256];
    hatch_status s = hatch_sim_world_generate(seed, &wo, &st->world, err);
    if (s != HATCH_OK) return s;
    if (st->world.n_views < 2 || st->world.n_views > HATCH_SIM_MAX_VIEWS ||
        st->world.views[0].width != st->opt.image_size || st->world.views[0].height != st->opt.image_size)
      return HATCH_ERR_CORRUPT;
    size_t px = (size_t)st->opt.image_size * (size_t)st->opt.image_size;
    hatch_sim_visibility vis;
    hatch_sim_visibility_init(&vis, &st->world);
    for (int v = 0; v < st->world.n_views; v++) {
      s = hatch_sim_render(&st->world, v, st->rgb + px * 3 * (size_t)v, st->depth + px * (size_t)v);
      if (s == HATCH_OK) s = hatch_sim_render_ids(&st->world, v, st->ids);
      if (s == HATCH_OK) s = hatch_sim_visibility_add_ids(&vis, &st->world, v, st->ids);
      if (s != HATCH_OK) return s;
      int g = st->opt.image_size / HATCH_SAMPLE_CELL;
      if (st->cells) label_cells(st->ids, st->opt.image_size, st->world.n_objects, st->cells + (size_t)v * g * g);
    }
    st->next_question = 0;
    if (st->opt.captions) { /* one sample per world: its caption */
      st->n_questions = 1;
      return hatch_sim_caption(&st->world, &vis, st->caption, sizeof st->caption);
    }
    s = (st->opt.grounding ? hatch_sim_grounding_questions_make : hatch_sim_questions_make)(
        &st->world, &vis, seed, st->opt.questions_per_world, st->questions, &st->n_questions);
    if (s != HATCH_OK) return s;
    st->next_question = 0;
    if (st->n_questions > 0) return HATCH_OK;
  }
  return HATCH_ERR_NOT_FOUND; /* the generator keeps making worlds with nothing to ask */
}

/* The text fields of a caption sample: no options, no action, the caption as the response. */
static hatch_status caption_sample(const hatch_sim_stream *st, hatch_train_sample *s) {
  const char *setting = hatch_sim_setting_name(st->world.setting);
  snprintf(s->id, sizeof s->id, "%s_%06lld_caption", setting, (long long)st->scene);
  snprintf(s->setting, sizeof s->setting, "%s", setting);
  snprintf(s->source, sizeof s->source, "sim:seed=%llu:scene=%lld:caption", (unsigned long long)st->world.seed,
           (long long)st->scene);
  snprintf(s->question, sizeof s->question, "%s", HATCH_SIM_CAPTION_QUESTION);
  snprintf(s->response, sizeof s->response, "%s", st->caption);
  return HATCH_OK;
}

hatch_status hatch_sim_stream_next(hatch_sim_stream *st, hatch_train_sample *out) {
  if (!st || !out) return HATCH_ERR_INVALID_ARGUMENT;
  hatch_train_sample_clear(out);
  if (st->opt.n_samples > 0 && st->produced >= st->opt.n_samples) return HATCH_ERR_NOT_FOUND;
  if (st->scene < 0 || st->next_question >= st->n_questions) {
    hatch_status s = next_world(st);
    if (s != HATCH_OK) return s;
  }
  int k = st->next_question++;
  hatch_status s = st->opt.captions ? caption_sample(st, out)
                                    : hatch_sim_question_to_sample(&st->world, &st->questions[k], st->scene, k, out);
  if (s != HATCH_OK) goto fail_sample;
  int size = st->opt.image_size;
  size_t px = (size_t)size * (size_t)size;
  out->n_images = st->world.n_views;
  for (int v = 0; v < st->world.n_views; v++) {
    hatch_sample_image *im = &out->images[v];
    const hatch_sim_camera *cam = &st->world.views[v];
    im->width = size, im->height = size;
    im->rgb = malloc(px * 3);   // (size, size, 3)
    im->depth = malloc(px * sizeof(float)); // (size, size) metres
    if (!im->rgb || !im->depth) {
      s = HATCH_ERR_OUT_OF_MEMORY;
      goto fail_sample;
    }
    memcpy(im->rgb, st->rgb + px * 3 * (size_t)v, px * 3);
    memcpy(im->depth, st->depth + px * (size_t)v, px * sizeof(float));
    if (st->cells) {
      size_t gg = (size_t)(size / HATCH_SAMPLE_CELL) * (size_t)(size / HATCH_SAMPLE_CELL);
      if (!(im->cell_object = malloc(sizeof(int16_t) * gg))) {
        s = HATCH_ERR_OUT_OF_MEMORY;
        goto fail_sample;
      }
      memcpy(im->cell_object, st->cells + gg * (size_t)v, sizeof(int16_t) * gg);
    }
    im->has_camera = true;
    im->camera.width = cam->width, im->camera.height = cam->height;
    im->camera.fx = cam->fx, im->camera.fy = cam->fy, im->camera.cx = cam->cx, im->camera.cy = cam->cy;
    hatch_sim_camera_matrix(cam, im->camera.rotation, im->camera.position);
  }
  out->n_objects = st->world.n_objects < HATCH_SAMPLE_MAX_OBJECTS ? st->world.n_objects : HATCH_SAMPLE_MAX_OBJECTS;
  for (int o = 0; o < out->n_objects; o++) {
    char name[HATCH_PLAN_MAX_TEXT + 1];
    sim_option_text(&st->world.objects[o], name);
    snprintf(out->object_names[o], sizeof out->object_names[o], "%s", name);
  }
  st->produced++;
  return HATCH_OK;
fail_sample:
  hatch_train_sample_clear(out);
  return s;
}

const hatch_sim_world *hatch_sim_stream_world(const hatch_sim_stream *st, int64_t *scene) {
  if (scene) *scene = st && st->produced > 0 ? st->scene : -1;
  return st && st->produced > 0 ? &st->world : NULL;
}

const hatch_sim_question *hatch_sim_stream_question(const hatch_sim_stream *st) {
  return st && st->produced > 0 && !st->opt.captions ? &st->questions[st->next_question - 1] : NULL;
}
