/* The frame-source interface behind hatch_rig: a V4L2/fake camera, a file replay, a view of the
 * simulated world. The rig's capture threads drive sources; a source never runs a thread of its own.
 *
 * A thread serves the sources of one "poll group": sources with the same non-NULL poll_ops share one
 * ops->poll() call over all their fds; sources with poll_ops NULL (files) are served on deadlines only.
 * Per loop turn the thread asks each source for its fds and its next deadline, polls (or sleeps) until
 * an fd is ready or the earliest deadline, then calls service(). A source emits each frame with one
 * reference through emit(). Statistics are read under the source's own lock by other threads. */
#ifndef HATCH_CAMERA_SOURCE_H
#define HATCH_CAMERA_SOURCE_H

#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>

#include "hatch/camera.h"
#include "hatch/v4l2_ops.h"

#define HATCH_SOURCE_MAX_FDS 2

typedef struct hatch_source hatch_source;

typedef void (*hatch_source_emit_fn)(void *ctx, const hatch_frame *frame);

typedef struct hatch_source_vtable {
  /* fds to poll now (0..HATCH_SOURCE_MAX_FDS); the source fills fd and events. */
  int (*fds)(hatch_source *src, struct pollfd *fds);
  /* The next time the source wants service even without fd events; INT64_MAX when none. */
  int64_t (*deadline_ns)(hatch_source *src);
  /* Handle ready fds (revents filled for the fds it gave) and due deadlines. */
  void (*service)(hatch_source *src, const struct pollfd *fds, int n_fds, int64_t now_ns);
  void (*destroy)(hatch_source *src); /* closes the device; frames still out keep their buffers alive */
} hatch_source_vtable;

struct hatch_source {
  const hatch_source_vtable *vt;
  const hatch_v4l2_ops *poll_ops; /* NULL: deadline-only source */
  int camera;                     /* rig index, stamped on every frame */
  int64_t epoch_ns;               /* CLOCK_MONOTONIC when the rig started: replayed time 0 */
  hatch_source_emit_fn emit;
  void *emit_ctx;
  pthread_mutex_t stats_lock;     /* guards stats */
  hatch_camera_stats stats;
};

/* Base-struct helpers for implementations. */
void hatch_source_init(hatch_source *src, const hatch_source_vtable *vt, int camera);
void hatch_source_fini(hatch_source *src);
/* printf-style last_error update (under the lock). */
void hatch_source_set_error(hatch_source *src, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Adds to one stats counter under the lock: e.g. HATCH_SOURCE_COUNT(src, corrupt, 1). */
#define HATCH_SOURCE_COUNT(src, field, n)          \
  do {                                             \
    pthread_mutex_lock(&(src)->stats_lock);        \
    (src)->stats.field += (n);                     \
    pthread_mutex_unlock(&(src)->stats_lock);      \
  } while (0)
void hatch_source_set_state(hatch_source *src, hatch_camera_state state);
hatch_camera_state hatch_source_state(hatch_source *src);

/* ---- URIs -------------------------------------------------------------------------------------- */

#define HATCH_URI_MAX_PARAMS 16

typedef struct hatch_uri {
  char scheme[16];      /* "v4l2", "fake", "file", "sim" */
  char path[1024];      /* "/dev/video0", "front", "/data/run1" */
  int n_params;
  char keys[HATCH_URI_MAX_PARAMS][32];
  char values[HATCH_URI_MAX_PARAMS][256];
} hatch_uri;

/* Parses "scheme://path?k=v&k=v"; a bare "/dev/videoN" is v4l2. Errors name the URI in err. */
hatch_status hatch_uri_parse(const char *text, hatch_uri *out, hatch_error *err);
/* The value of key, or NULL. */
const char *hatch_uri_param(const hatch_uri *uri, const char *key);
/* Integer parameter in [lo, hi]; *out untouched when absent. HATCH_ERR_INVALID_ARGUMENT (err set) when
 * present but not an integer in range. */
hatch_status hatch_uri_param_int(const hatch_uri *uri, const char *key, long lo, long hi, long *out,
                                 hatch_error *err);
/* Fails with HATCH_ERR_INVALID_ARGUMENT naming the first key not in the NULL-terminated allowed list. */
hatch_status hatch_uri_check_keys(const hatch_uri *uri, const char *const *allowed, hatch_error *err);

/* ---- shared ownership of a device backend ---------------------------------------------------------
 * The fake device set must outlive every stream opened on it, and streams outlive the rig while frames
 * are held: streams retain the holder of their ops table (NULL for libv4l2). */
typedef struct hatch_device_holder {
  atomic_int refs;
  void (*destroy)(void *payload);
  void *payload;
} hatch_device_holder;

static inline void hatch_device_holder_retain(hatch_device_holder *h) {
  if (h) atomic_fetch_add(&h->refs, 1);
}
void hatch_device_holder_release(hatch_device_holder *h); /* NULL-safe; destroys on the last release */

/* ---- constructors -------------------------------------------------------------------------------- */

/* V4L2 settings shared by v4l2:// and fake:// cameras. */
typedef struct hatch_v4l2_source_config {
  const hatch_v4l2_ops *ops;
  hatch_device_holder *holder; /* retained by every stream; NULL when ops need no owner */
  char device_path[1024];
  char name[64];
  uint32_t fourcc; /* 0 = MJPEG, then YUYV, NV12, RGB24 in that order of preference */
  int width, height, fps;
  int buffers;
  bool decode;
  int64_t reopen_min_ns, reopen_max_ns;
} hatch_v4l2_source_config;

hatch_status hatch_v4l2_source_create(const hatch_v4l2_source_config *config, int camera, hatch_source **out,
                                      hatch_error *err);

/* file:// sources; uri already parsed. */
hatch_status hatch_file_source_create(const hatch_uri *uri, const hatch_rig_options *opt, int camera,
                                      hatch_source **out, hatch_error *err);

/* sim:// sources (a view of the synthetic world, hatch/sim_world.h); uri already parsed. */
hatch_status hatch_sim_source_create(const hatch_uri *uri, const hatch_rig_options *opt, int camera,
                                     hatch_source **out, hatch_error *err);

#endif
