/* Source base helpers and the device holder. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "camera/source.h"

void hatch_source_init(hatch_source *src, const hatch_source_vtable *vt, int camera) {
  src->vt = vt;
  src->camera = camera;
  pthread_mutex_init(&src->stats_lock, NULL);
  src->stats.state = HATCH_CAMERA_STARTING;
}

void hatch_source_fini(hatch_source *src) { pthread_mutex_destroy(&src->stats_lock); }

void hatch_source_set_error(hatch_source *src, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  pthread_mutex_lock(&src->stats_lock);
  vsnprintf(src->stats.last_error, sizeof src->stats.last_error, fmt, ap);
  pthread_mutex_unlock(&src->stats_lock);
  va_end(ap);
}

void hatch_source_set_state(hatch_source *src, hatch_camera_state state) {
  pthread_mutex_lock(&src->stats_lock);
  src->stats.state = state;
  pthread_mutex_unlock(&src->stats_lock);
}

hatch_camera_state hatch_source_state(hatch_source *src) {
  pthread_mutex_lock(&src->stats_lock);
  hatch_camera_state s = src->stats.state;
  pthread_mutex_unlock(&src->stats_lock);
  return s;
}

void hatch_device_holder_release(hatch_device_holder *h) {
  if (h && atomic_fetch_sub(&h->refs, 1) == 1) {
    h->destroy(h->payload);
    free(h);
  }
}

const char *hatch_camera_state_name(hatch_camera_state state) {
  switch (state) {
  case HATCH_CAMERA_STARTING: return "starting";
  case HATCH_CAMERA_STREAMING: return "streaming";
  case HATCH_CAMERA_DOWN: return "down";
  case HATCH_CAMERA_ENDED: return "ended";
  }
  return "unknown";
}
