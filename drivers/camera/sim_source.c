/* sim:// sources: one view of the synthetic world (hatch/sim_world.h) as a camera.
 *
 *   sim://NAME?seed=7&setting=among&view=2&width=224&height=224&fps=15&hfov=90&views=4&objects=6
 *
 * The world is generated and the view rendered once at open (the world is static); every frame is
 * that image as an RGB24 payload (rgb points at the same pixels). Frame i is due at rig start
 * + i / fps and carries that time as ts_ns, so sim cameras of one rig are in step. Deadline-only,
 * like file:// replay: when all `buffers` slots are held a due frame is dropped (a driver drop). */
#include <linux/videodev2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "camera/frame_internal.h"
#include "camera/source.h"
#include "hatch/sim_world.h"

#define HATCH_SIM_MAX_SLOTS 32

typedef struct sim_slot {
  hatch_frame_slot slot;
  bool busy; /* handed out (guarded by the pool lock) */
} sim_slot;

/* Slots and the pixels outlive the source while frames are held. */
typedef struct sim_pool {
  pthread_mutex_t lock;
  int refs; /* 1 for the source + 1 per frame out */
  int n_slots;
  sim_slot slots[HATCH_SIM_MAX_SLOTS];
  uint8_t *rgb; /* (height, width, 3) the rendered view, shared by every frame */
} sim_pool;

typedef struct sim_source {
  hatch_source base;
  sim_pool *pool;
  int width, height;
  int64_t period_ns;
  uint64_t next; /* next frame's sequence number */
  bool decode;
} sim_source;

static void pool_unref_locked(sim_pool *p) {
  bool last = --p->refs == 0;
  pthread_mutex_unlock(&p->lock);
  if (!last) return;
  free(p->rgb);
  pthread_mutex_destroy(&p->lock);
  free(p);
}

static void release_slot(hatch_frame_slot *slot) {
  sim_pool *p = slot->owner;
  pthread_mutex_lock(&p->lock);
  p->slots[slot->index].busy = false;
  pool_unref_locked(p);
}

/* Takes a free slot (marked busy, the pool retained for it), or NULL. */
static sim_slot *take_slot(sim_pool *p) {
  sim_slot *got = NULL;
  pthread_mutex_lock(&p->lock);
  for (int i = 0; i < p->n_slots && !got; i++)
    if (!p->slots[i].busy) got = &p->slots[i];
  if (got) got->busy = true, p->refs++;
  pthread_mutex_unlock(&p->lock);
  return got;
}

static void emit_frame(sim_source *s, sim_slot *slot, int64_t due_ns, int64_t now_ns) {
  hatch_frame *f = &slot->slot.frame;
  size_t size = (size_t)s->width * (size_t)s->height * 3;
  *f = (hatch_frame){.camera = s->base.camera, .seq = s->next, .ts_ns = due_ns, .dequeue_ns = now_ns,
                     .fourcc = V4L2_PIX_FMT_RGB24, .width = s->width, .height = s->height, .payload = s->pool->rgb,
                     .payload_size = size, .rgb = s->decode ? s->pool->rgb : NULL};
  hatch_frame_slot_publish(&slot->slot);
  f->ready_ns = hatch_monotonic_ns();
  pthread_mutex_lock(&s->base.stats_lock);
  s->base.stats.frames++;
  s->base.stats.state = HATCH_CAMERA_STREAMING;
  pthread_mutex_unlock(&s->base.stats_lock);
  s->base.emit(s->base.emit_ctx, f);
}

static int src_fds(hatch_source *base, struct pollfd *fds) {
  (void)base, (void)fds;
  return 0;
}

static int64_t due_of(const sim_source *s) { return s->base.epoch_ns + (int64_t)s->next * s->period_ns; }

static int64_t src_deadline(hatch_source *base) { return due_of((sim_source *)base); }

static void src_service(hatch_source *base, const struct pollfd *fds, int n_fds, int64_t now_ns) {
  (void)fds, (void)n_fds;
  sim_source *s = (sim_source *)base;
  /* At most a handful per turn so other sources in the thread are served too. */
  for (int turn = 0; turn < 4; turn++) {
    int64_t due = due_of(s);
    if (due > now_ns) return;
    sim_slot *slot = take_slot(s->pool);
    if (!slot) HATCH_SOURCE_COUNT(&s->base, driver_drops, 1);
    else emit_frame(s, slot, due, now_ns);
    s->next++;
  }
}

static void src_destroy(hatch_source *base) {
  sim_source *s = (sim_source *)base;
  if (s->pool) {
    pthread_mutex_lock(&s->pool->lock);
    pool_unref_locked(s->pool);
  }
  hatch_source_fini(&s->base);
  free(s);
}

static const hatch_source_vtable sim_vtable = {src_fds, src_deadline, src_service, src_destroy};

static hatch_status fail(hatch_error *err, const hatch_uri *uri, const char *why) {
  snprintf(err->message, sizeof err->message, "camera URI sim://%.100s: %s", uri->path, why);
  return HATCH_ERR_INVALID_ARGUMENT;
}

/* Reads the URI into world options and the view index. */
static hatch_status parse_options(const hatch_uri *uri, const hatch_rig_options *opt, uint64_t *seed,
                                  hatch_sim_options *so, long *view, long *fps, hatch_error *err) {
  static const char *const keys[] = {"seed", "setting", "view", "width", "height", "fps", "hfov", "views", "objects",
                                     "name", NULL};
  hatch_status st = hatch_uri_check_keys(uri, keys, err);
  long seed_l = 0, width = opt->width, height = opt->height, hfov = 90, views = 0, objects = 0;
  *view = 0, *fps = opt->fps;
  if (st == HATCH_OK) st = hatch_uri_param_int(uri, "seed", 0, 0x7fffffffL, &seed_l, err);
  if (st == HATCH_OK) st = hatch_uri_param_int(uri, "view", 0, HATCH_SIM_MAX_VIEWS - 1, view, err);
  if (st == HATCH_OK) st = hatch_uri_param_int(uri, "width", 8, 4096, &width, err);
  if (st == HATCH_OK) st = hatch_uri_param_int(uri, "height", 8, 4096, &height, err);
  if (st == HATCH_OK) st = hatch_uri_param_int(uri, "fps", 1, 1000, fps, err);
  if (st == HATCH_OK) st = hatch_uri_param_int(uri, "hfov", 20, 150, &hfov, err);
  if (st == HATCH_OK) st = hatch_uri_param_int(uri, "views", 1, HATCH_SIM_MAX_VIEWS, &views, err);
  if (st == HATCH_OK) st = hatch_uri_param_int(uri, "objects", 1, HATCH_SIM_MAX_OBJECTS, &objects, err);
  if (st != HATCH_OK) return st;
  const char *setting = hatch_uri_param(uri, "setting");
  int found = setting ? -1 : HATCH_SIM_ROTATION;
  for (int k = 0; setting && k < HATCH_SIM_SETTING_COUNT; k++)
    if (!strcmp(setting, hatch_sim_setting_name((hatch_sim_setting)k))) found = k;
  if (found < 0) {
    char why[120];
    snprintf(why, sizeof why, "setting=%.30s (rotation, around, among or free)", setting);
    return fail(err, uri, why);
  }
  *seed = (uint64_t)seed_l;
  *so = (hatch_sim_options){.setting = (hatch_sim_setting)found, .width = (int)width, .height = (int)height,
                            .hfov_deg = (double)hfov, .n_views = (int)views, .n_objects = (int)objects};
  return HATCH_OK;
}

hatch_status hatch_sim_source_create(const hatch_uri *uri, const hatch_rig_options *opt, int camera,
                                     hatch_source **out, hatch_error *err) {
  uint64_t seed;
  hatch_sim_options so;
  long view, fps;
  hatch_status st = parse_options(uri, opt, &seed, &so, &view, &fps, err);
  if (st != HATCH_OK) return st;
  hatch_sim_world *world = malloc(sizeof *world); /* ~10 KB: not on a caller's stack */
  if (!world) return HATCH_ERR_OUT_OF_MEMORY;
  char why[256];
  st = hatch_sim_world_generate(seed, &so, world, why);
  if (st != HATCH_OK) {
    char msg[200];
    snprintf(msg, sizeof msg, "%.190s", why);
    free(world);
    return fail(err, uri, msg);
  }
  if (view >= world->n_views) {
    snprintf(why, sizeof why, "view=%ld is not below the world's %d views (setting %s)", view, world->n_views,
             hatch_sim_setting_name(so.setting));
    free(world);
    return fail(err, uri, why);
  }
  sim_source *s = calloc(1, sizeof *s);
  if (!s) {
    free(world);
    return HATCH_ERR_OUT_OF_MEMORY;
  }
  hatch_source_init(&s->base, &sim_vtable, camera);
  s->width = so.width, s->height = so.height;
  s->period_ns = 1000000000 / fps;
  s->decode = !opt->no_decode;
  s->pool = calloc(1, sizeof *s->pool);
  if (!s->pool) {
    st = HATCH_ERR_OUT_OF_MEMORY;
    goto fail_source;
  }
  pthread_mutex_init(&s->pool->lock, NULL);
  s->pool->refs = 1;
  s->pool->n_slots = opt->buffers < HATCH_SIM_MAX_SLOTS ? opt->buffers : HATCH_SIM_MAX_SLOTS;
  for (int i = 0; i < s->pool->n_slots; i++)
    s->pool->slots[i].slot = (hatch_frame_slot){.owner = s->pool, .index = i, .release = release_slot};
  s->pool->rgb = malloc((size_t)so.width * (size_t)so.height * 3);
  if (!s->pool->rgb) {
    st = HATCH_ERR_OUT_OF_MEMORY;
    goto fail_source;
  }
  if ((st = hatch_sim_render(world, (int)view, s->pool->rgb, NULL)) != HATCH_OK) {
    fail(err, uri, "the view could not be rendered");
    goto fail_source;
  }
  const char *name = hatch_uri_param(uri, "name");
  snprintf(s->base.stats.name, sizeof s->base.stats.name, "%s", name ? name : uri->path);
  s->base.stats.width = so.width, s->base.stats.height = so.height;
  s->base.stats.fps = (int)fps;
  s->base.stats.fourcc = V4L2_PIX_FMT_RGB24;
  free(world);
  *out = &s->base;
  return HATCH_OK;
fail_source:
  free(world);
  src_destroy(&s->base);
  return st;
}
