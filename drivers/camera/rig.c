/* hatch_rig: cameras from URIs, capture threads (one per device-ops poll group, one for timer-driven
 * sources), the sync stage and the consumer's queue of frame sets. */
#include <errno.h>
#include <linux/videodev2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "camera/frame_internal.h"
#include "camera/source.h"
#include "camera/sync.h"
#include "camera/uri_formats.h"
#include "hatch/v4l2_fake.h"

#define HATCH_RIG_MAX_QUEUE 64
/* Capture threads wake at least this often to see a stop request. */
#define HATCH_RIG_MAX_SLEEP_NS 50000000ll

typedef struct poll_group {
  const hatch_v4l2_ops *ops; /* NULL: timer-driven sources */
  int members[HATCH_RIG_MAX_CAMERAS];
  int n_members;
  pthread_t thread;
  bool started;
  struct hatch_rig *rig;
} poll_group;

struct hatch_rig {
  int n;
  hatch_rig_options opt;
  hatch_source *sources[HATCH_RIG_MAX_CAMERAS];
  hatch_fake_v4l2 *fake;        /* owned through fake_holder when any fake:// camera exists */
  hatch_device_holder *fake_holder;
  poll_group groups[HATCH_RIG_MAX_CAMERAS + 1];
  int n_groups;
  atomic_bool stop;

  pthread_mutex_t lock; /* guards everything below */
  pthread_cond_t cond;  /* signalled when a set is queued */
  hatch_sync *sync;
  hatch_frame_set *ready[HATCH_RIG_MAX_QUEUE]; /* ring, oldest at ready_head */
  int ready_head, ready_count;
  hatch_rig_stats stats;
  int64_t last_frame_ns[HATCH_RIG_MAX_CAMERAS];
};

void hatch_rig_options_default(hatch_rig_options *opt) {
  *opt = (hatch_rig_options){.tolerance_ns = HATCH_RIG_TOLERANCE_AUTO, .max_wait_ns = 150000000, .stall_ns = 1000000000,
                             .queue_sets = 2, .buffers = 4, .width = 640, .height = 480, .fps = 30,
                             .reopen_min_ns = 100000000, .reopen_max_ns = 2000000000};
}

hatch_status hatch_uri_format(const hatch_uri *uri, uint32_t *fourcc, hatch_error *err) {
  const char *f = hatch_uri_param(uri, "format");
  *fourcc = 0;
  if (!f) return HATCH_OK;
  if (!strcasecmp(f, "mjpeg") || !strcasecmp(f, "mjpg")) *fourcc = V4L2_PIX_FMT_MJPEG;
  else if (!strcasecmp(f, "yuyv")) *fourcc = V4L2_PIX_FMT_YUYV;
  else if (!strcasecmp(f, "nv12")) *fourcc = V4L2_PIX_FMT_NV12;
  else if (!strcasecmp(f, "rgb24") || !strcasecmp(f, "rgb3")) *fourcc = V4L2_PIX_FMT_RGB24;
  else {
    snprintf(err->message, sizeof err->message, "camera URI %s://%.100s: format=%.30s (use mjpeg, yuyv, nv12, rgb24)",
             uri->scheme, uri->path, f);
    return HATCH_ERR_INVALID_ARGUMENT;
  }
  return HATCH_OK;
}

/* ---- the consumer side --------------------------------------------------------------------------- */

/* Queues a formed set (lock held); drops the oldest when full. */
static void queue_set(hatch_rig *rig, hatch_frame_set *set) {
  rig->stats.sets++;
  if (set->n_missing > 0) rig->stats.sets_partial++;
  if (rig->ready_count == rig->opt.queue_sets) {
    hatch_frame_set_release(rig->ready[rig->ready_head]);
    rig->ready_head = (rig->ready_head + 1) % HATCH_RIG_MAX_QUEUE;
    rig->ready_count--;
    rig->stats.sets_dropped++;
  }
  rig->ready[(rig->ready_head + rig->ready_count) % HATCH_RIG_MAX_QUEUE] = set;
  rig->ready_count++;
  pthread_cond_broadcast(&rig->cond);
}

/* Liveness from source states and silence, then every set that is due (lock held). */
static void form_sets(hatch_rig *rig, int64_t now) {
  for (int c = 0; c < rig->n; c++) {
    hatch_camera_state st = hatch_source_state(rig->sources[c]);
    bool live = (st == HATCH_CAMERA_STREAMING || st == HATCH_CAMERA_STARTING) &&
                now - rig->last_frame_ns[c] < rig->opt.stall_ns;
    hatch_sync_set_live(rig->sync, c, live);
  }
  hatch_frame_set *set;
  while (hatch_sync_next(rig->sync, now, &set) == HATCH_OK) queue_set(rig, set);
}

static void on_frame(void *ctx, const hatch_frame *frame) {
  hatch_rig *rig = ctx;
  int64_t now = hatch_monotonic_ns();
  pthread_mutex_lock(&rig->lock);
  rig->last_frame_ns[frame->camera] = now;
  hatch_sync_push(rig->sync, frame, now);
  form_sets(rig, now);
  pthread_mutex_unlock(&rig->lock);
}

static bool all_ended(hatch_rig *rig) {
  for (int c = 0; c < rig->n; c++)
    if (hatch_source_state(rig->sources[c]) != HATCH_CAMERA_ENDED) return false;
  return true;
}

hatch_status hatch_rig_next_set(hatch_rig *rig, int timeout_ms, hatch_frame_set **out) {
  if (!rig || !out || timeout_ms < 0) return HATCH_ERR_INVALID_ARGUMENT;
  int64_t give_up = hatch_monotonic_ns() + (int64_t)timeout_ms * 1000000;
  pthread_mutex_lock(&rig->lock);
  for (;;) {
    int64_t now = hatch_monotonic_ns();
    form_sets(rig, now);
    if (rig->ready_count > 0) {
      *out = rig->ready[rig->ready_head];
      rig->ready_head = (rig->ready_head + 1) % HATCH_RIG_MAX_QUEUE;
      rig->ready_count--;
      pthread_mutex_unlock(&rig->lock);
      return HATCH_OK;
    }
    if (hatch_sync_queued(rig->sync) == 0 && all_ended(rig)) {
      pthread_mutex_unlock(&rig->lock);
      return HATCH_ERR_NOT_FOUND;
    }
    if (now >= give_up) break;
    /* Wake for a queued set, a partial set falling due, or a camera stalling. */
    int64_t wake = give_up, due = hatch_sync_deadline(rig->sync);
    if (due < wake) wake = due;
    if (now + 20000000 < wake) wake = now + 20000000;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t abs_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec + (wake - now);
    ts.tv_sec = abs_ns / 1000000000;
    ts.tv_nsec = abs_ns % 1000000000;
    pthread_cond_timedwait(&rig->cond, &rig->lock, &ts);
  }
  pthread_mutex_unlock(&rig->lock);
  return HATCH_ERR_TIMEOUT;
}

/* ---- capture threads ----------------------------------------------------------------------------- */

static void sleep_ns(int64_t ns) {
  if (ns <= 0) return;
  struct timespec ts = {.tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

static void *group_main(void *arg) {
  poll_group *g = arg;
  hatch_rig *rig = g->rig;
  struct pollfd fds[HATCH_RIG_MAX_CAMERAS * HATCH_SOURCE_MAX_FDS];
  int first[HATCH_RIG_MAX_CAMERAS], count[HATCH_RIG_MAX_CAMERAS];
  while (!atomic_load(&rig->stop)) {
    int64_t now = hatch_monotonic_ns();
    int64_t wake = now + HATCH_RIG_MAX_SLEEP_NS;
    int n_fds = 0;
    for (int m = 0; m < g->n_members; m++) {
      hatch_source *src = rig->sources[g->members[m]];
      first[m] = n_fds;
      count[m] = src->vt->fds(src, fds + n_fds);
      n_fds += count[m];
      int64_t d = src->vt->deadline_ns(src);
      if (d < wake) wake = d;
    }
    int64_t wait_ns = wake - now;
    if (wait_ns < 0) wait_ns = 0;
    if (g->ops && n_fds > 0) {
      int timeout_ms = (int)((wait_ns + 999999) / 1000000);
      int r = g->ops->poll(g->ops->ctx, fds, (nfds_t)n_fds, timeout_ms);
      if (r < 0)
        for (int i = 0; i < n_fds; i++) fds[i].revents = 0; /* EINTR and the like: just go round */
    } else {
      sleep_ns(wait_ns);
    }
    now = hatch_monotonic_ns();
    for (int m = 0; m < g->n_members; m++) {
      hatch_source *src = rig->sources[g->members[m]];
      src->vt->service(src, fds + first[m], count[m], now);
    }
  }
  return NULL;
}

/* ---- open / close -------------------------------------------------------------------------------- */

static void destroy_fake(void *payload) { hatch_fake_v4l2_destroy(payload); }

static hatch_status ensure_fake(hatch_rig *rig) {
  if (rig->fake) return HATCH_OK;
  hatch_status st = hatch_fake_v4l2_create(&rig->fake);
  if (st != HATCH_OK) return st;
  rig->fake_holder = calloc(1, sizeof *rig->fake_holder);
  if (!rig->fake_holder) {
    hatch_fake_v4l2_destroy(rig->fake);
    rig->fake = NULL;
    return HATCH_ERR_OUT_OF_MEMORY;
  }
  atomic_init(&rig->fake_holder->refs, 1);
  rig->fake_holder->destroy = destroy_fake;
  rig->fake_holder->payload = rig->fake;
  return HATCH_OK;
}

static hatch_status open_v4l2_uri(hatch_rig *rig, const hatch_uri *uri, int camera, hatch_error *err) {
  static const char *const keys[] = {"width", "height", "fps", "format", "buffers", "name", NULL};
  hatch_status st = hatch_uri_check_keys(uri, keys, err);
  long w = rig->opt.width, h = rig->opt.height, fps = rig->opt.fps, buffers = rig->opt.buffers;
  if (st == HATCH_OK) st = hatch_uri_param_int(uri, "width", 1, 16384, &w, err);
  if (st == HATCH_OK) st = hatch_uri_param_int(uri, "height", 1, 16384, &h, err);
  if (st == HATCH_OK) st = hatch_uri_param_int(uri, "fps", 1, 1000, &fps, err);
  if (st == HATCH_OK) st = hatch_uri_param_int(uri, "buffers", 2, 32, &buffers, err);
  hatch_v4l2_source_config cfg = {.ops = hatch_v4l2_ops_libv4l2(), .width = (int)w, .height = (int)h,
                                  .fps = (int)fps, .buffers = (int)buffers, .decode = !rig->opt.no_decode,
                                  .reopen_min_ns = rig->opt.reopen_min_ns, .reopen_max_ns = rig->opt.reopen_max_ns};
  if (st == HATCH_OK) st = hatch_uri_format(uri, &cfg.fourcc, err);
  if (st != HATCH_OK) return st;
  snprintf(cfg.device_path, sizeof cfg.device_path, "%s", uri->path);
  const char *name = hatch_uri_param(uri, "name");
  snprintf(cfg.name, sizeof cfg.name, "%s", name ? name : uri->path);
  return hatch_v4l2_source_create(&cfg, camera, &rig->sources[camera], err);
}

static hatch_status open_fake_uri(hatch_rig *rig, const hatch_uri *uri, int camera, hatch_error *err) {
  hatch_fake_camera_config fc;
  hatch_v4l2_source_config cfg;
  hatch_fake_faults faults;
  bool has_faults = false;
  hatch_status st = hatch_fake_uri_config(uri, &rig->opt, &fc, &cfg, &faults, &has_faults, err);
  if (st != HATCH_OK) return st;
  if ((st = ensure_fake(rig)) != HATCH_OK) return st;
  if ((st = hatch_fake_v4l2_add(rig->fake, &fc)) != HATCH_OK) {
    snprintf(err->message, sizeof err->message, "camera URI fake://%.100s: %s (a repeated name?)", uri->path,
             hatch_status_message(st));
    return st;
  }
  if (has_faults && (st = hatch_fake_v4l2_set_faults(rig->fake, uri->path, &faults)) != HATCH_OK) return st;
  cfg.ops = hatch_fake_v4l2_ops(rig->fake);
  cfg.holder = rig->fake_holder;
  return hatch_v4l2_source_create(&cfg, camera, &rig->sources[camera], err);
}

/* Groups cameras by poll ops, in URI order. */
static void build_groups(hatch_rig *rig) {
  for (int c = 0; c < rig->n; c++) {
    const hatch_v4l2_ops *ops = rig->sources[c]->poll_ops;
    int g = 0;
    while (g < rig->n_groups && rig->groups[g].ops != ops) g++;
    if (g == rig->n_groups) {
      rig->groups[g] = (poll_group){.ops = ops, .rig = rig};
      rig->n_groups++;
    }
    rig->groups[g].members[rig->groups[g].n_members++] = c;
  }
}

/* The frame rate a camera is expected to run at before its timestamps say: the negotiated one when
 * the source knows it already (file, sim), else the URI's fps, else the options'. */
static int expected_fps(hatch_rig *rig, int c, const hatch_uri *uri) {
  hatch_source *src = rig->sources[c];
  pthread_mutex_lock(&src->stats_lock);
  int fps = src->stats.fps;
  pthread_mutex_unlock(&src->stats_lock);
  long want = rig->opt.fps;
  hatch_error ignored;
  if (fps <= 0 && hatch_uri_param_int(uri, "fps", 1, 1000, &want, &ignored) == HATCH_OK) fps = (int)want;
  return fps > 0 ? fps : rig->opt.fps;
}

hatch_status hatch_rig_open(const char *const *uris, int n, const hatch_rig_options *opt, hatch_rig **out,
                            hatch_error *err) {
  hatch_error scratch;
  if (!err) err = &scratch;
  err->message[0] = 0;
  if (!uris || !out || n < 1 || n > HATCH_RIG_MAX_CAMERAS) {
    snprintf(err->message, sizeof err->message, "a rig needs 1..%d cameras (got %d)", HATCH_RIG_MAX_CAMERAS, n);
    return HATCH_ERR_INVALID_ARGUMENT;
  }
  hatch_rig *rig = calloc(1, sizeof *rig);
  if (!rig) return HATCH_ERR_OUT_OF_MEMORY;
  if (opt) rig->opt = *opt;
  else hatch_rig_options_default(&rig->opt);
  hatch_rig_options *o = &rig->opt;
  hatch_status st = HATCH_OK;
  int fps_seen[HATCH_RIG_MAX_CAMERAS] = {0};
  if (o->buffers < 2 || o->buffers > 32 || o->queue_sets < 1 || o->queue_sets > HATCH_RIG_MAX_QUEUE ||
      (o->tolerance_ns < 0 && o->tolerance_ns != HATCH_RIG_TOLERANCE_AUTO) || o->max_wait_ns < 0 || o->stall_ns <= 0 || o->reopen_min_ns <= 0 ||
      o->reopen_max_ns < o->reopen_min_ns || o->width <= 0 || o->height <= 0 || o->fps <= 0) {
    snprintf(err->message, sizeof err->message, "rig options out of range (buffers 2..32, queue_sets 1..%d, "
             "times positive, reopen_max >= reopen_min)", HATCH_RIG_MAX_QUEUE);
    free(rig);
    return HATCH_ERR_INVALID_ARGUMENT;
  }
  pthread_mutex_init(&rig->lock, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&rig->cond, &ca);
  pthread_condattr_destroy(&ca);
  for (int c = 0; c < n; c++) {
    hatch_uri uri;
    if ((st = hatch_uri_parse(uris[c], &uri, err)) != HATCH_OK) goto fail;
    if (!strcmp(uri.scheme, "v4l2")) st = open_v4l2_uri(rig, &uri, c, err);
    else if (!strcmp(uri.scheme, "fake")) st = open_fake_uri(rig, &uri, c, err);
    else if (!strcmp(uri.scheme, "file")) st = hatch_file_source_create(&uri, o, c, &rig->sources[c], err);
    else if (!strcmp(uri.scheme, "sim")) st = hatch_sim_source_create(&uri, o, c, &rig->sources[c], err);
    else {
      snprintf(err->message, sizeof err->message, "camera URI \"%.100s\": unknown scheme %s (v4l2, fake, file, sim)",
               uris[c], uri.scheme);
      st = HATCH_ERR_INVALID_ARGUMENT;
    }
    if (st != HATCH_OK) goto fail;
    rig->n = c + 1;
    fps_seen[c] = expected_fps(rig, c, &uri);
    rig->sources[c]->emit = on_frame;
    rig->sources[c]->emit_ctx = rig;
  }
  /* The sync, once every source exists (no capture thread runs yet). Its depth leaves the driver at
   * least two buffers per camera; an AUTO tolerance starts from the expected rates. */
  int depth = o->buffers - 2 < 1 ? 1 : (o->buffers - 2 > HATCH_SYNC_MAX_DEPTH ? HATCH_SYNC_MAX_DEPTH : o->buffers - 2);
  bool auto_tol = o->tolerance_ns == HATCH_RIG_TOLERANCE_AUTO;
  if ((st = hatch_sync_create(n, depth, auto_tol ? HATCH_SYNC_TOLERANCE_AUTO : o->tolerance_ns, o->max_wait_ns,
                              &rig->sync)) != HATCH_OK)
    goto fail;
  for (int c = 0; c < n && auto_tol; c++) hatch_sync_seed_period(rig->sync, c, 1000000000ll / fps_seen[c]);
  int64_t now = hatch_monotonic_ns();
  for (int c = 0; c < n; c++) rig->last_frame_ns[c] = now, rig->sources[c]->epoch_ns = now;
  build_groups(rig);
  for (int g = 0; g < rig->n_groups; g++) {
    if (pthread_create(&rig->groups[g].thread, NULL, group_main, &rig->groups[g]) != 0) {
      snprintf(err->message, sizeof err->message, "could not start a capture thread");
      st = HATCH_ERR_OUT_OF_MEMORY;
      goto fail;
    }
    rig->groups[g].started = true;
  }
  *out = rig;
  return HATCH_OK;
fail:
  if (!err->message[0]) snprintf(err->message, sizeof err->message, "%s", hatch_status_message(st));
  hatch_rig_close(rig);
  return st;
}

void hatch_rig_close(hatch_rig *rig) {
  if (!rig) return;
  atomic_store(&rig->stop, true);
  for (int g = 0; g < rig->n_groups; g++)
    if (rig->groups[g].started) pthread_join(rig->groups[g].thread, NULL);
  for (int c = 0; c < rig->n; c++) rig->sources[c]->vt->destroy(rig->sources[c]);
  hatch_sync_destroy(rig->sync);
  for (int i = 0; i < rig->ready_count; i++) hatch_frame_set_release(rig->ready[(rig->ready_head + i) % HATCH_RIG_MAX_QUEUE]);
  if (rig->fake_holder) hatch_device_holder_release(rig->fake_holder);
  else hatch_fake_v4l2_destroy(rig->fake);
  pthread_cond_destroy(&rig->cond);
  pthread_mutex_destroy(&rig->lock);
  free(rig);
}

int hatch_rig_camera_count(const hatch_rig *rig) { return rig ? rig->n : 0; }

int64_t hatch_rig_tolerance_ns(hatch_rig *rig) {
  if (!rig) return -1;
  pthread_mutex_lock(&rig->lock);
  int64_t t = hatch_sync_tolerance_ns(rig->sync);
  pthread_mutex_unlock(&rig->lock);
  return t;
}

hatch_status hatch_rig_camera_stats(hatch_rig *rig, int camera, hatch_camera_stats *out) {
  if (!rig || !out || camera < 0 || camera >= rig->n) return HATCH_ERR_INVALID_ARGUMENT;
  hatch_source *src = rig->sources[camera];
  pthread_mutex_lock(&src->stats_lock);
  *out = src->stats;
  pthread_mutex_unlock(&src->stats_lock);
  pthread_mutex_lock(&rig->lock);
  out->in_sets = hatch_sync_in_sets(rig->sync, camera);
  out->unmatched = hatch_sync_unmatched(rig->sync, camera);
  pthread_mutex_unlock(&rig->lock);
  return HATCH_OK;
}

void hatch_rig_stats_get(hatch_rig *rig, hatch_rig_stats *out) {
  pthread_mutex_lock(&rig->lock);
  *out = rig->stats;
  pthread_mutex_unlock(&rig->lock);
}

hatch_fake_v4l2 *hatch_rig_fake_device(hatch_rig *rig) { return rig ? rig->fake : NULL; }
