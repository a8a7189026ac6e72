/* The fake camera's frame clock and buffer queue: frames become due on CLOCK_MONOTONIC and are
 * produced lazily ("caught up") whenever a call touches the camera; REQBUFS, QUERYBUF, QBUF, DQBUF,
 * STREAMON and STREAMOFF with the kernel's (videobuf2's) errors. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fake_internal.h"

#define NS_PER_S 1000000000ll
#define TS_WRAP_START_US (4294967296ull - 2000000ull) /* 2 s below 2^32 us */

static int64_t frame_due_ns(const fake_camera *c, uint64_t i) {
  return c->t0_ns + (int64_t)(i * (uint64_t)NS_PER_S / (uint64_t)c->fps) + c->shift_ns;
}

/* Applies the slow fault to the next frame (once) before its due time is compared with now. */
static void apply_slow(fake_camera *c) {
  const hatch_fake_faults *fl = &c->faults;
  uint64_t k = c->fault_frames + 1;
  if (fl->slow_every > 0 && fl->slow_ms > 0 && k % (uint64_t)fl->slow_every == 0 && c->slow_frame != c->next_frame) {
    c->shift_ns += (int64_t)fl->slow_ms * 1000000;
    c->slow_frame = c->next_frame;
  }
}

int64_t fake_next_due_ns(const fake_camera *c) {
  return c->streaming ? frame_due_ns(c, c->next_frame) : INT64_MAX;
}

static bool every(int n, uint64_t k) { return n > 0 && k % (uint64_t)n == 0; }

/* Frame i (the k-th since the faults were set) into the oldest queued buffer. */
static void deliver(fake_camera *c, uint64_t i, uint64_t k, int64_t due) {
  const hatch_fake_faults *fl = &c->faults;
  int idx = c->queued[0];
  memmove(c->queued, c->queued + 1, (size_t)(--c->n_queued) * sizeof(int));
  fake_buffer *b = &c->bufs[idx];
  int p = (int)(i % HATCH_FAKE_POOL_FRAMES);
  memcpy(b->mem->data, c->pool.data[p], c->pool.size[p]);
  b->bytesused = (uint32_t)c->pool.size[p];
  b->flags = 0;
  if (c->pool.pixfmt == V4L2_PIX_FMT_MJPEG) {
    if (every(fl->corrupt_every, k)) {
      fake_payload_corrupt(b->mem->data, c->pool.size[p], c->pool.sos_end[p], (uint32_t)i);
      c->stats.frames_corrupted++;
    }
    if (every(fl->truncate_every, k)) {
      b->bytesused /= 3;
      c->stats.frames_truncated++;
    }
  }
  if (every(fl->error_flag_every, k)) {
    b->flags |= V4L2_BUF_FLAG_ERROR;
    c->stats.frames_error_flagged++;
  }
  uint64_t us = (uint64_t)due / 1000;
  if (c->ts_unknown) {
    b->flags |= V4L2_BUF_FLAG_TIMESTAMP_UNKNOWN;
    us = 0;
  } else {
    b->flags |= V4L2_BUF_FLAG_TIMESTAMP_MONOTONIC;
    if (c->ts_wrap) us = (uint32_t)(TS_WRAP_START_US + (uint64_t)(due - c->t0_ns) / 1000);
  }
  b->timestamp.tv_sec = (time_t)(us / 1000000);
  b->timestamp.tv_usec = (suseconds_t)(us % 1000000);
  b->sequence = c->seq_base + (uint32_t)i;
  b->state = FAKE_BUF_DONE;
  c->done[c->n_done++] = idx;
  c->stats.frames_delivered++;
}

void fake_catch_up(hatch_fake_v4l2 *f, fake_camera *c, int64_t now) {
  if (!c->streaming) return;
  bool delivered = false;
  const hatch_fake_faults *fl = &c->faults;
  for (;;) {
    apply_slow(c);
    int64_t due = frame_due_ns(c, c->next_frame);
    if (due > now) break;
    if (c->n_queued == 0 && fl->slow_every <= 0) {
      /* Fast path: every frame due by now is dropped (by the drop fault or for want of a buffer);
       * count them without a loop, so a camera left alone for an hour costs nothing. */
      uint64_t d = (uint64_t)(now - c->t0_ns - c->shift_ns); /* >= 0: frame next_frame is due */
      uint64_t last = ((d + 1) * (uint64_t)c->fps - 1) / (uint64_t)NS_PER_S;
      uint64_t n = last + 1 - c->next_frame;
      uint64_t k0 = c->fault_frames;
      uint64_t faulted = fl->drop_every > 0 ? (k0 + n) / (uint64_t)fl->drop_every - k0 / (uint64_t)fl->drop_every : 0;
      c->stats.frames_due += n;
      c->stats.frames_dropped_fault += faulted;
      c->stats.frames_dropped_no_buffer += n - faulted;
      c->fault_frames += n;
      c->next_frame += n;
      break;
    }
    uint64_t i = c->next_frame++, k = ++c->fault_frames;
    c->stats.frames_due++;
    if (every(fl->drop_every, k)) c->stats.frames_dropped_fault++;
    else if (c->n_queued == 0) c->stats.frames_dropped_no_buffer++;
    else {
      deliver(c, i, k, due);
      delivered = true;
    }
  }
  if (delivered) pthread_cond_broadcast(&f->cv);
}

void fake_buffers_release(fake_camera *c) {
  for (int i = 0; i < c->n_buffers; i++) fake_mem_unref(c->bufs[i].mem);
  memset(c->bufs, 0, sizeof(c->bufs));
  c->n_buffers = 0;
  c->buf_length = 0;
  c->n_queued = c->n_done = 0;
  c->owner_fd = 0;
}

void fake_stream_off(hatch_fake_v4l2 *f, fake_camera *c) {
  c->streaming = false;
  for (int i = 0; i < c->n_buffers; i++) c->bufs[i].state = FAKE_BUF_USER;
  c->n_queued = c->n_done = 0;
  pthread_cond_broadcast(&f->cv);
}

static int mapped_count(const hatch_fake_v4l2 *f, const fake_camera *c) {
  int n = 0;
  for (int i = 0; i < f->n_maps; i++)
    for (int b = 0; b < c->n_buffers; b++) n += f->maps[i].mem == c->bufs[b].mem;
  return n;
}

/* Renders the pool for the current format if it is stale; drops the mutex while rendering. */
static int ensure_pool(hatch_fake_v4l2 *f, fake_camera *c) {
  while (!c->pool_valid) {
    uint32_t gen = c->fmt_gen, pixfmt = c->formats[c->fmt_index];
    hatch_fake_size sz = c->sizes[c->size_index];
    fake_pool pool;
    pthread_mutex_unlock(&f->mu);
    hatch_status st = fake_pool_render(&pool, pixfmt, sz.width, sz.height, c->seed, c->pattern);
    pthread_mutex_lock(&f->mu);
    if (st != HATCH_OK) return ENOMEM;
    if (c->fmt_gen == gen && !c->pool_valid) {
      c->pool = pool;
      c->pool_valid = true;
    } else {
      fake_pool_free(&pool); /* the format changed meanwhile: render again */
    }
  }
  return 0;
}

static int busy_owner(const fake_camera *c, int fd) { return c->owner_fd != 0 && c->owner_fd != fd; }

int fake_ioctl_reqbufs(hatch_fake_v4l2 *f, int fd, struct v4l2_requestbuffers *rb) {
  fake_fd *e;
  fake_camera *c;
  int err = fake_fd_check(f, fd, &e, &c);
  if (err) return err;
  if (rb->type != V4L2_BUF_TYPE_VIDEO_CAPTURE || rb->memory != V4L2_MEMORY_MMAP) return EINVAL;
  if (busy_owner(c, fd) || c->streaming) return EBUSY;
  if (c->n_buffers > 0 && mapped_count(f, c) > 0) return EBUSY; /* "memory in use" */
  uint32_t count = rb->count;
  if (count > 0) {
    if ((err = ensure_pool(f, c))) return err;
    if ((err = fake_fd_check(f, fd, &e, &c))) return err; /* the mutex was dropped: look again */
    if (busy_owner(c, fd) || c->streaming || (c->n_buffers > 0 && mapped_count(f, c) > 0)) return EBUSY;
  }
  fake_buffers_release(c);
  memset(rb->reserved, 0, sizeof(rb->reserved));
#ifdef V4L2_BUF_CAP_SUPPORTS_MMAP
  rb->capabilities = V4L2_BUF_CAP_SUPPORTS_MMAP;
#endif
  if (count == 0) {
    rb->count = 0;
    return 0;
  }
  if (c->enomem_left != 0) {
    if (c->enomem_left > 0) c->enomem_left--;
    rb->count = 0;
    return ENOMEM;
  }
  if (count > (uint32_t)c->max_buffers) count = (uint32_t)c->max_buffers;
  uint32_t bpl, sizeimage;
  fake_format_sizes(c->formats[c->fmt_index], c->sizes[c->size_index].width, c->sizes[c->size_index].height, &bpl,
                    &sizeimage);
  size_t length = ((size_t)sizeimage + FAKE_PAGE - 1) / FAKE_PAGE * FAKE_PAGE;
  if (count > UINT32_MAX / length) count = (uint32_t)(UINT32_MAX / length); /* m.offset is 32-bit */
  for (uint32_t i = 0; i < count; i++) {
    fake_mem *m = calloc(1, sizeof(*m));
    uint8_t *data = m ? aligned_alloc(FAKE_PAGE, length) : NULL;
    if (!data) {
      free(m);
      fake_buffers_release(c);
      rb->count = 0;
      return ENOMEM;
    }
    memset(data, 0, length);
    *m = (fake_mem){data, length, 1};
    c->bufs[i] = (fake_buffer){.mem = m, .offset = (uint32_t)(i * length), .state = FAKE_BUF_USER};
    c->n_buffers++;
  }
  c->buf_length = length;
  c->owner_fd = fd;
  rb->count = count;
  return 0;
}


static bool buffer_mapped(const hatch_fake_v4l2 *f, const fake_buffer *b) {
  for (int i = 0; i < f->n_maps; i++)
    if (f->maps[i].mem == b->mem) return true;
  return false;
}

/* What QUERYBUF and DQBUF report about buffer idx. */
static void describe(const hatch_fake_v4l2 *f, const fake_camera *c, int idx, struct v4l2_buffer *out) {
  const fake_buffer *b = &c->bufs[idx];
  memset(out, 0, sizeof(*out));
  out->index = (uint32_t)idx;
  out->type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
  out->memory = V4L2_MEMORY_MMAP;
  out->m.offset = b->offset;
  out->length = (uint32_t)c->buf_length;
  out->field = V4L2_FIELD_NONE;
  out->bytesused = b->bytesused;
  out->sequence = b->sequence;
  out->timestamp = b->timestamp;
  out->flags = b->flags;
  if (!(out->flags & V4L2_BUF_FLAG_TIMESTAMP_MASK) && !c->ts_unknown) out->flags |= V4L2_BUF_FLAG_TIMESTAMP_MONOTONIC;
  if (b->state == FAKE_BUF_QUEUED) out->flags |= V4L2_BUF_FLAG_QUEUED;
  if (b->state == FAKE_BUF_DONE) out->flags |= V4L2_BUF_FLAG_DONE;
  if (buffer_mapped(f, b)) out->flags |= V4L2_BUF_FLAG_MAPPED;
}

int fake_ioctl_querybuf(hatch_fake_v4l2 *f, fake_camera *c, struct v4l2_buffer *b) {
  if (b->type != V4L2_BUF_TYPE_VIDEO_CAPTURE || b->index >= (uint32_t)c->n_buffers) return EINVAL;
  describe(f, c, (int)b->index, b);
  return 0;
}

int fake_ioctl_qbuf(hatch_fake_v4l2 *f, fake_camera *c, int fd, struct v4l2_buffer *b) {
  if (b->type != V4L2_BUF_TYPE_VIDEO_CAPTURE || b->memory != V4L2_MEMORY_MMAP) return EINVAL;
  if (busy_owner(c, fd)) return EBUSY;
  if (b->index >= (uint32_t)c->n_buffers || c->bufs[b->index].state != FAKE_BUF_USER) return EINVAL;
  /* The dispatcher caught up before this: frames due earlier were dropped, not put in this buffer. */
  fake_buffer *buf = &c->bufs[b->index];
  buf->state = FAKE_BUF_QUEUED;
  buf->bytesused = 0;
  c->queued[c->n_queued++] = (int)b->index;
  describe(f, c, (int)b->index, b);
  pthread_cond_broadcast(&f->cv); /* a blocked DQBUF now has a frame to wait for */
  return 0;
}

int fake_ioctl_dqbuf(hatch_fake_v4l2 *f, int fd, struct v4l2_buffer *b) {
  if (b->type != V4L2_BUF_TYPE_VIDEO_CAPTURE || b->memory != V4L2_MEMORY_MMAP) return EINVAL;
  for (;;) {
    fake_fd *e;
    fake_camera *c;
    int err = fake_fd_check(f, fd, &e, &c); /* again after every wait: closed or unplugged meanwhile */
    if (err) return err;
    if (busy_owner(c, fd)) return EBUSY;
    if (!c->streaming) return EINVAL;
    fake_catch_up(f, c, fake_now_ns());
    if (c->n_done > 0) {
      int idx = c->done[0];
      memmove(c->done, c->done + 1, (size_t)(--c->n_done) * sizeof(int));
      if (every(c->faults.eio_every, ++c->fault_dqbufs)) {
        c->bufs[idx].state = FAKE_BUF_QUEUED; /* back to the driver: a later frame refills it */
        c->queued[c->n_queued++] = idx;
        c->stats.dqbuf_eio++;
        return EIO;
      }
      c->bufs[idx].state = FAKE_BUF_USER;
      describe(f, c, idx, b);
      return 0;
    }
    if (e->nonblock) return EAGAIN;
    /* Nothing to wait for without a queued buffer, except another thread's QBUF (it broadcasts). */
    fake_wait(f, c->n_queued > 0 ? fake_next_due_ns(c) : -1);
  }
}

int fake_ioctl_streamon(hatch_fake_v4l2 *f, fake_camera *c, int fd, const int *type) {
  if (*type != V4L2_BUF_TYPE_VIDEO_CAPTURE) return EINVAL;
  if (busy_owner(c, fd)) return EBUSY;
  if (c->n_buffers == 0 || !c->pool_valid) return EINVAL;
  if (c->streaming) return 0;
  if (c->enospc_left != 0) {
    if (c->enospc_left > 0) c->enospc_left--;
    c->stats.streamon_enospc++;
    return ENOSPC;
  }
  c->streaming = true;
  c->t0_ns = fake_now_ns();
  c->fps = c->rates[c->rate_index];
  if (c->phase_locked && c->t0_ns > c->phase_ns) { /* the first grid point k / fps + phase at or after now */
    int64_t d = c->t0_ns - c->phase_ns, fps = c->fps;
    int64_t k = d / NS_PER_S * fps + ((d % NS_PER_S) * fps + NS_PER_S - 1) / NS_PER_S;
    c->t0_ns = k / fps * NS_PER_S + (k % fps) * NS_PER_S / fps + c->phase_ns;
  }
  c->next_frame = 0;
  c->shift_ns = 0;
  c->slow_frame = UINT64_MAX;
  c->seq_base = c->faults.sequence_wrap ? 0xffffff80u : 0;
  c->ts_wrap = c->faults.timestamp_wrap;
  c->ts_unknown = c->faults.timestamp_unknown;
  pthread_cond_broadcast(&f->cv);
  return 0;
}

int fake_ioctl_streamoff(hatch_fake_v4l2 *f, fake_camera *c, int fd, const int *type) {
  if (*type != V4L2_BUF_TYPE_VIDEO_CAPTURE) return EINVAL;
  if (busy_owner(c, fd)) return EBUSY;
  fake_stream_off(f, c);
  return 0;
}
