/* A V4L2 camera as a rig source (v4l2:// and fake://): the open / stream / down / reopen state
 * machine, timestamp and sequence checks, and decode on the capture thread. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "camera/source.h"
#include "hatch/frame_decode.h"
#include "v4l2/v4l2_stream.h"

/* A driver timestamp is believed when it is MONOTONIC-flagged, not after the dequeue time by more
 * than this, not older than HATCH_TS_MAX_AGE_NS, and not before the stream's previous frame. */
#define HATCH_TS_FUTURE_SLACK_NS 5000000ll
#define HATCH_TS_MAX_AGE_NS 1000000000ll
/* After a POLLERR that yielded nothing to dequeue, the fd is left out of poll this long (no spin). */
#define HATCH_POLLERR_PAUSE_NS 10000000ll

typedef struct v4l2_source {
  hatch_source base;
  hatch_v4l2_source_config cfg;
  hatch_v4l2_stream *stream; /* NULL while down */
  hatch_jpeg_decoder *jpeg;
  uint32_t generation;       /* of the next stream */
  bool ever_opened;
  int64_t next_open_ns;      /* when down: next attempt */
  int64_t backoff_ns;
  int64_t pause_until_ns;    /* POLLERR pause */
  bool have_last;            /* per stream: last sequence and timestamp */
  uint32_t last_seq32;
  uint64_t seq64;
  int64_t last_ts_ns;
} v4l2_source;

static void go_down(v4l2_source *s, int64_t now_ns, bool was_streaming) {
  if (s->stream) {
    hatch_v4l2_stream_retire(s->stream);
    s->stream = NULL;
  }
  if (was_streaming) HATCH_SOURCE_COUNT(&s->base, disconnects, 1);
  hatch_source_set_state(&s->base, HATCH_CAMERA_DOWN);
  s->next_open_ns = now_ns + s->backoff_ns;
  s->backoff_ns = s->backoff_ns * 2 > s->cfg.reopen_max_ns ? s->cfg.reopen_max_ns : s->backoff_ns * 2;
}

static void try_open(v4l2_source *s, int64_t now_ns) {
  hatch_v4l2_request req = {
      .path = s->cfg.device_path, .fourcc = s->cfg.fourcc, .width = s->cfg.width, .height = s->cfg.height,
      .fps = s->cfg.fps, .buffers = s->cfg.buffers, .decode = s->cfg.decode, .generation = s->generation,
      .holder = s->cfg.holder};
  hatch_error err = {""};
  hatch_status st = hatch_v4l2_stream_open(s->cfg.ops, &req, &s->stream, &err);
  if (st != HATCH_OK) {
    s->stream = NULL;
    if (s->ever_opened || hatch_source_state(&s->base) == HATCH_CAMERA_DOWN) HATCH_SOURCE_COUNT(&s->base, reopen_failures, 1);
    hatch_source_set_error(&s->base, "%s", err.message[0] ? err.message : hatch_status_message(st));
    go_down(s, now_ns, false);
    return;
  }
  s->generation++;
  s->have_last = false;
  s->pause_until_ns = 0;
  s->backoff_ns = s->cfg.reopen_min_ns;
  pthread_mutex_lock(&s->base.stats_lock);
  if (s->ever_opened) s->base.stats.reopens++;
  s->base.stats.state = HATCH_CAMERA_STREAMING;
  s->base.stats.width = s->stream->width;
  s->base.stats.height = s->stream->height;
  s->base.stats.fps = s->stream->fps;
  s->base.stats.fourcc = s->stream->fourcc;
  pthread_mutex_unlock(&s->base.stats_lock);
  s->ever_opened = true;
}

/* Decodes buffer b (bytesused bytes) into its RGB buffer. HATCH_OK / HATCH_ERR_CORRUPT. */
static hatch_status decode_buffer(v4l2_source *s, hatch_v4l2_buffer *b, size_t used, bool *warning) {
  hatch_v4l2_stream *st = s->stream;
  size_t rgb_size = (size_t)st->width * (size_t)st->height * 3;
  *warning = false;
  switch (st->fourcc) {
  case V4L2_PIX_FMT_MJPEG: {
    if (hatch_jpeg_validate(b->map, used) != HATCH_OK) return HATCH_ERR_CORRUPT;
    if (!b->rgb) return HATCH_OK;
    hatch_decode_report rep;
    hatch_status r = hatch_jpeg_decode_rgb(s->jpeg, b->map, used, b->rgb, rgb_size, &rep);
    if (r == HATCH_OK && (rep.width != st->width || rep.height != st->height)) r = HATCH_ERR_SHAPE;
    if (r != HATCH_OK) {
      hatch_source_set_error(&s->base, "%s: frame dropped: %s%s%s", s->cfg.name, hatch_status_message(r),
                             rep.message[0] ? ": " : "", rep.message);
      return HATCH_ERR_CORRUPT;
    }
    *warning = rep.warning;
    return HATCH_OK;
  }
  case V4L2_PIX_FMT_YUYV:
    if (!b->rgb) return used >= (size_t)st->bytesperline * st->height ? HATCH_OK : HATCH_ERR_CORRUPT;
    return hatch_yuyv_to_rgb(b->map, used, st->width, st->height, st->bytesperline, b->rgb, rgb_size) == HATCH_OK
               ? HATCH_OK : HATCH_ERR_CORRUPT;
  case V4L2_PIX_FMT_NV12:
    if (!b->rgb) return used >= (size_t)st->bytesperline * st->height * 3 / 2 ? HATCH_OK : HATCH_ERR_CORRUPT;
    return hatch_nv12_to_rgb(b->map, used, st->width, st->height, st->bytesperline, b->rgb, rgb_size) == HATCH_OK
               ? HATCH_OK : HATCH_ERR_CORRUPT;
  case V4L2_PIX_FMT_RGB24: {
    size_t row = (size_t)st->width * 3, stride = st->bytesperline ? st->bytesperline : row;
    if (stride < row || used < stride * (size_t)(st->height - 1) + row) return HATCH_ERR_CORRUPT;
    if (b->rgb)
      for (int y = 0; y < st->height; y++) memcpy(b->rgb + row * y, (uint8_t *)b->map + stride * y, row);
    return HATCH_OK;
  }
  default: return HATCH_ERR_CORRUPT;
  }
}

/* One dequeued buffer: checks, decode, emit (or drop and requeue). */
static void handle_buffer(v4l2_source *s, const struct v4l2_buffer *vb, int64_t now_ns) {
  hatch_v4l2_stream *st = s->stream;
  hatch_v4l2_buffer *b = &st->buffers[vb->index];
  /* Sequence: unwrap the 32-bit counter; gaps are frames the driver dropped. */
  if (s->have_last) {
    uint32_t delta = vb->sequence - s->last_seq32; /* modular: survives the wrap */
    if (delta == 0) delta = 1;                     /* drivers that never advance it */
    if (delta > 1 && delta < 0x80000000u) HATCH_SOURCE_COUNT(&s->base, driver_drops, delta - 1);
    s->seq64 += delta < 0x80000000u ? delta : 1;
  } else {
    s->seq64 = vb->sequence;
  }
  s->last_seq32 = vb->sequence;
  /* Timestamp sanity against the dequeue time. */
  int64_t ts = (int64_t)vb->timestamp.tv_sec * 1000000000 + (int64_t)vb->timestamp.tv_usec * 1000;
  bool monotonic = (vb->flags & V4L2_BUF_FLAG_TIMESTAMP_MASK) == V4L2_BUF_FLAG_TIMESTAMP_MONOTONIC;
  bool repaired = !monotonic || ts > now_ns + HATCH_TS_FUTURE_SLACK_NS || ts < now_ns - HATCH_TS_MAX_AGE_NS ||
                  (s->have_last && ts < s->last_ts_ns);
  if (repaired) {
    ts = now_ns;
    HATCH_SOURCE_COUNT(&s->base, ts_repaired, 1);
  }
  s->have_last = true;
  s->last_ts_ns = ts;

  if (vb->flags & V4L2_BUF_FLAG_ERROR) {
    HATCH_SOURCE_COUNT(&s->base, error_flagged, 1);
    hatch_source_set_error(&s->base, "%s: frame %llu flagged V4L2_BUF_FLAG_ERROR, dropped", s->cfg.name,
                           (unsigned long long)s->seq64);
    hatch_v4l2_stream_requeue(st, (int)vb->index);
    return;
  }
  size_t used = vb->bytesused <= b->map_length ? vb->bytesused : b->map_length;
  bool warning = false;
  if (used == 0 || decode_buffer(s, b, used, &warning) != HATCH_OK) {
    HATCH_SOURCE_COUNT(&s->base, corrupt, 1);
    if (used == 0) hatch_source_set_error(&s->base, "%s: empty frame %llu dropped", s->cfg.name, (unsigned long long)s->seq64);
    hatch_v4l2_stream_requeue(st, (int)vb->index);
    return;
  }
  if (warning) HATCH_SOURCE_COUNT(&s->base, decode_warnings, 1);
  hatch_frame *f = &b->slot.frame;
  *f = (hatch_frame){.camera = s->base.camera, .seq = s->seq64, .generation = st->generation, .ts_ns = ts,
                     .dequeue_ns = now_ns, .fourcc = st->fourcc, .width = st->width, .height = st->height,
                     .payload = b->map, .payload_size = used, .rgb = b->rgb, .decode_warning = warning,
                     .ts_repaired = repaired};
  f->ready_ns = hatch_monotonic_ns();
  const hatch_frame *out = hatch_v4l2_stream_publish(st, (int)vb->index);
  HATCH_SOURCE_COUNT(&s->base, frames, 1);
  s->base.emit(s->base.emit_ctx, out);
}

static int src_fds(hatch_source *base, struct pollfd *fds) {
  v4l2_source *s = (v4l2_source *)base;
  if (!s->stream || hatch_monotonic_ns() < s->pause_until_ns) return 0;
  fds[0] = (struct pollfd){.fd = s->stream->fd, .events = POLLIN};
  return 1;
}

static int64_t src_deadline(hatch_source *base) {
  v4l2_source *s = (v4l2_source *)base;
  if (!s->stream) return s->next_open_ns;
  return s->pause_until_ns > 0 ? s->pause_until_ns : INT64_MAX;
}

static void src_service(hatch_source *base, const struct pollfd *fds, int n_fds, int64_t now_ns) {
  v4l2_source *s = (v4l2_source *)base;
  if (!s->stream) {
    if (now_ns >= s->next_open_ns) try_open(s, now_ns);
    return;
  }
  if (s->pause_until_ns && now_ns >= s->pause_until_ns) s->pause_until_ns = 0;
  short revents = n_fds > 0 ? fds[0].revents : 0;
  if (!(revents & (POLLIN | POLLERR | POLLHUP | POLLNVAL))) return;
  int got = 0;
  for (int i = 0; i < s->stream->n_buffers; i++) {
    struct v4l2_buffer vb;
    int e = 0;
    hatch_status st = hatch_v4l2_stream_dequeue(s->stream, &vb, &e);
    if (st == HATCH_ERR_NOT_FOUND) break;
    if (st == HATCH_ERR_DISCONNECTED || (st == HATCH_ERR_IO && e == EINVAL)) {
      hatch_source_set_error(&s->base, "%s: VIDIOC_DQBUF: %s; reopening with backoff", s->cfg.name,
                             e == ENODEV ? "device disconnected (ENODEV)" : "driver error");
      go_down(s, now_ns, true);
      return;
    }
    if (st != HATCH_OK) { /* EIO: the buffer is not safe to use; the stream goes on */
      HATCH_SOURCE_COUNT(&s->base, io_errors, 1);
      hatch_source_set_error(&s->base, "%s: VIDIOC_DQBUF failed (errno %d), continuing", s->cfg.name, e);
      break;
    }
    got++;
    handle_buffer(s, &vb, now_ns);
  }
  if (got == 0 && (revents & (POLLERR | POLLHUP | POLLNVAL))) {
    if (revents & (POLLHUP | POLLNVAL)) {
      hatch_source_set_error(&s->base, "%s: poll reported the device gone; reopening with backoff", s->cfg.name);
      go_down(s, now_ns, true);
      return;
    }
    /* POLLERR with nothing to dequeue: every buffer is held by readers, or a transient error. */
    s->pause_until_ns = now_ns + HATCH_POLLERR_PAUSE_NS;
  }
}

static void src_destroy(hatch_source *base) {
  v4l2_source *s = (v4l2_source *)base;
  if (s->stream) hatch_v4l2_stream_retire(s->stream);
  hatch_jpeg_decoder_destroy(s->jpeg);
  hatch_source_fini(&s->base);
  free(s);
}

static const hatch_source_vtable v4l2_vtable = {src_fds, src_deadline, src_service, src_destroy};

hatch_status hatch_v4l2_source_create(const hatch_v4l2_source_config *config, int camera, hatch_source **out,
                                      hatch_error *err) {
  if (config->buffers < 2 || config->buffers > 32 || config->width <= 0 || config->height <= 0 || config->fps <= 0) {
    snprintf(err->message, sizeof err->message, "%s: buffers must be 2..32 and size/fps positive", config->name);
    return HATCH_ERR_INVALID_ARGUMENT;
  }
  v4l2_source *s = calloc(1, sizeof *s);
  if (!s) return HATCH_ERR_OUT_OF_MEMORY;
  hatch_status st = hatch_jpeg_decoder_create(NULL, &s->jpeg);
  if (st != HATCH_OK) {
    free(s);
    return st;
  }
  hatch_source_init(&s->base, &v4l2_vtable, camera);
  s->base.poll_ops = config->ops;
  s->cfg = *config;
  snprintf(s->base.stats.name, sizeof s->base.stats.name, "%s", config->name);
  s->backoff_ns = config->reopen_min_ns;
  s->next_open_ns = 0; /* open at the first service */
  *out = &s->base;
  return HATCH_OK;
}
