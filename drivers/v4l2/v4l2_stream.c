/* V4L2 streaming session: negotiation, mmap buffers, requeue on release. See v4l2_stream.h. */
#include "v4l2/v4l2_stream.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

static const uint32_t preferred_formats[] = {V4L2_PIX_FMT_MJPEG, V4L2_PIX_FMT_YUYV, V4L2_PIX_FMT_NV12,
                                             V4L2_PIX_FMT_RGB24};

void hatch_fourcc_string(uint32_t fourcc, char out[5]) {
  for (int i = 0; i < 4; i++) {
    char c = (char)((fourcc >> (8 * i)) & 0xff);
    out[i] = (c >= 32 && c < 127) ? c : '?';
  }
  out[4] = 0;
}

static hatch_status status_of_errno(int e) {
  switch (e) {
  case ENOENT: case ENXIO: return HATCH_ERR_NOT_FOUND;
  case ENODEV: return HATCH_ERR_DISCONNECTED;
  case EBUSY: case ENOSPC: return HATCH_ERR_BUSY;
  case ENOMEM: return HATCH_ERR_OUT_OF_MEMORY;
  default: return HATCH_ERR_IO;
  }
}

static hatch_status fail_errno(hatch_error *err, const char *path, const char *what, int e) {
  char buf[96] = "";
  if (strerror_r(e, buf, sizeof buf) != 0) snprintf(buf, sizeof buf, "errno %d", e);
  if (err) snprintf(err->message, sizeof err->message, "%s: %s: %s%s", path, what, buf,
                    e == ENOSPC ? " (USB bandwidth exceeded: try MJPEG, a lower resolution or frame rate)" : "");
  return status_of_errno(e);
}

/* Frees everything; the stream must be unreachable (refs 0). */
static void stream_free(hatch_v4l2_stream *s) {
  for (int i = 0; i < s->n_buffers; i++) {
    if (s->buffers[i].map) s->ops->munmap(s->ops->ctx, s->buffers[i].map, s->buffers[i].map_length);
    free(s->buffers[i].rgb);
  }
  free(s->buffers);
  if (s->fd >= 0) s->ops->close(s->ops->ctx, s->fd);
  pthread_mutex_destroy(&s->lock);
  hatch_device_holder_release(s->holder);
  free(s);
}

static void stream_unref_locked_release(hatch_v4l2_stream *s) {
  /* called with the lock held; unlocks */
  bool last = --s->refs == 0;
  pthread_mutex_unlock(&s->lock);
  if (last) stream_free(s);
}

static void requeue_locked(hatch_v4l2_stream *s, int index) {
  if (s->retired) return;
  struct v4l2_buffer b = {.type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .memory = V4L2_MEMORY_MMAP, .index = (uint32_t)index};
  /* A failure here (device gone) shows up at the next DQBUF/poll; the buffer is simply lost to the
   * stream, which is retired then. */
  (void)hatch_v4l2_xioctl(s->ops, s->fd, VIDIOC_QBUF, &b);
}

/* Last reference to a frame: requeue its buffer (unless retired) and drop the frame's stream ref. */
static void release_frame(hatch_frame_slot *slot) {
  hatch_v4l2_stream *s = slot->owner;
  pthread_mutex_lock(&s->lock);
  requeue_locked(s, slot->index);
  stream_unref_locked_release(s);
}

void hatch_v4l2_stream_requeue(hatch_v4l2_stream *s, int index) {
  pthread_mutex_lock(&s->lock);
  requeue_locked(s, index);
  pthread_mutex_unlock(&s->lock);
}

const hatch_frame *hatch_v4l2_stream_publish(hatch_v4l2_stream *s, int index) {
  pthread_mutex_lock(&s->lock);
  s->refs++;
  pthread_mutex_unlock(&s->lock);
  hatch_frame_slot *slot = &s->buffers[index].slot;
  hatch_frame_slot_publish(slot);
  return &slot->frame;
}

void hatch_v4l2_stream_retire(hatch_v4l2_stream *s) {
  if (!s) return;
  pthread_mutex_lock(&s->lock);
  if (!s->retired) {
    s->retired = true;
    int type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    (void)hatch_v4l2_xioctl(s->ops, s->fd, VIDIOC_STREAMOFF, &type); /* fails harmlessly when gone */
  }
  stream_unref_locked_release(s);
}

hatch_status hatch_v4l2_stream_dequeue(hatch_v4l2_stream *s, struct v4l2_buffer *buf, int *errno_out) {
  memset(buf, 0, sizeof *buf);
  buf->type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
  buf->memory = V4L2_MEMORY_MMAP;
  *errno_out = 0;
  if (hatch_v4l2_xioctl(s->ops, s->fd, VIDIOC_DQBUF, buf) == 0) {
    if (buf->index >= (uint32_t)s->n_buffers) { /* a driver bug; never index out of range */
      *errno_out = EINVAL;
      return HATCH_ERR_IO;
    }
    return HATCH_OK;
  }
  *errno_out = errno;
  if (errno == EAGAIN) return HATCH_ERR_NOT_FOUND;
  if (errno == ENODEV) return HATCH_ERR_DISCONNECTED;
  return HATCH_ERR_IO;
}

/* ---- negotiation -------------------------------------------------------------------------------- */

static hatch_status pick_format(hatch_v4l2_stream *s, uint32_t wanted, hatch_error *err) {
  uint32_t offered[64];
  int n = 0;
  for (uint32_t i = 0; i < 64; i++) {
    struct v4l2_fmtdesc d = {.index = i, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE};
    if (hatch_v4l2_xioctl(s->ops, s->fd, VIDIOC_ENUM_FMT, &d) != 0) break;
    offered[n++] = d.pixelformat;
  }
  for (int i = 0; i < n; i++)
    if (wanted && offered[i] == wanted) return s->fourcc = wanted, HATCH_OK;
  if (wanted) {
    char f[5];
    hatch_fourcc_string(wanted, f);
    snprintf(err->message, sizeof err->message, "%s: format %s is not offered by the device", s->path, f);
    return HATCH_ERR_UNSUPPORTED;
  }
  for (size_t p = 0; p < sizeof preferred_formats / sizeof *preferred_formats; p++)
    for (int i = 0; i < n; i++)
      if (offered[i] == preferred_formats[p]) return s->fourcc = offered[i], HATCH_OK;
  snprintf(err->message, sizeof err->message,
           "%s: none of MJPEG, YUYV, NV12, RGB24 is offered (%d formats enumerated)", s->path, n);
  return HATCH_ERR_UNSUPPORTED;
}

static hatch_status set_format(hatch_v4l2_stream *s, const hatch_v4l2_request *req, hatch_error *err) {
  struct v4l2_format f = {.type = V4L2_BUF_TYPE_VIDEO_CAPTURE};
  f.fmt.pix.width = (uint32_t)req->width;
  f.fmt.pix.height = (uint32_t)req->height;
  f.fmt.pix.pixelformat = s->fourcc;
  f.fmt.pix.field = V4L2_FIELD_NONE;
  if (hatch_v4l2_xioctl(s->ops, s->fd, VIDIOC_S_FMT, &f) != 0) return fail_errno(err, s->path, "VIDIOC_S_FMT", errno);
  if (f.fmt.pix.pixelformat != s->fourcc || f.fmt.pix.width == 0 || f.fmt.pix.height == 0 ||
      f.fmt.pix.width > 16384 || f.fmt.pix.height > 16384) {
    snprintf(err->message, sizeof err->message, "%s: VIDIOC_S_FMT gave an unusable format (%ux%u)", s->path,
             f.fmt.pix.width, f.fmt.pix.height);
    return HATCH_ERR_UNSUPPORTED;
  }
  s->width = (int)f.fmt.pix.width;
  s->height = (int)f.fmt.pix.height;
  s->bytesperline = f.fmt.pix.bytesperline;
  s->sizeimage = f.fmt.pix.sizeimage;
  if ((s->fourcc == V4L2_PIX_FMT_YUYV || s->fourcc == V4L2_PIX_FMT_NV12) && (s->width % 2 || s->height % 2)) {
    snprintf(err->message, sizeof err->message, "%s: odd size %dx%d for a YUV format", s->path, s->width, s->height);
    return HATCH_ERR_UNSUPPORTED;
  }
  /* Frame rate: best effort (many drivers lack S_PARM); read back what is in effect. */
  struct v4l2_streamparm parm = {.type = V4L2_BUF_TYPE_VIDEO_CAPTURE};
  parm.parm.capture.timeperframe.numerator = 1;
  parm.parm.capture.timeperframe.denominator = (uint32_t)req->fps;
  (void)hatch_v4l2_xioctl(s->ops, s->fd, VIDIOC_S_PARM, &parm);
  s->fps = req->fps;
  struct v4l2_streamparm got = {.type = V4L2_BUF_TYPE_VIDEO_CAPTURE};
  if (hatch_v4l2_xioctl(s->ops, s->fd, VIDIOC_G_PARM, &got) == 0 && got.parm.capture.timeperframe.numerator > 0)
    s->fps = (int)(got.parm.capture.timeperframe.denominator / got.parm.capture.timeperframe.numerator);
  return HATCH_OK;
}

static hatch_status map_buffers(hatch_v4l2_stream *s, const hatch_v4l2_request *req, hatch_error *err) {
  struct v4l2_requestbuffers rb = {.count = (uint32_t)req->buffers, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
                                   .memory = V4L2_MEMORY_MMAP};
  if (hatch_v4l2_xioctl(s->ops, s->fd, VIDIOC_REQBUFS, &rb) != 0) return fail_errno(err, s->path, "VIDIOC_REQBUFS", errno);
  if (rb.count < 2 || rb.count > 32) {
    snprintf(err->message, sizeof err->message, "%s: VIDIOC_REQBUFS gave %u buffers (need 2..32)", s->path, rb.count);
    return HATCH_ERR_UNSUPPORTED;
  }
  s->buffers = calloc(rb.count, sizeof *s->buffers);
  if (!s->buffers) return HATCH_ERR_OUT_OF_MEMORY;
  s->n_buffers = (int)rb.count;
  size_t rgb_bytes = (size_t)s->width * (size_t)s->height * 3;
  for (int i = 0; i < s->n_buffers; i++) {
    hatch_v4l2_buffer *b = &s->buffers[i];
    b->slot.owner = s;
    b->slot.index = i;
    b->slot.release = release_frame;
    struct v4l2_buffer q = {.index = (uint32_t)i, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .memory = V4L2_MEMORY_MMAP};
    if (hatch_v4l2_xioctl(s->ops, s->fd, VIDIOC_QUERYBUF, &q) != 0) return fail_errno(err, s->path, "VIDIOC_QUERYBUF", errno);
    if (q.length == 0) {
      snprintf(err->message, sizeof err->message, "%s: buffer %d has length 0", s->path, i);
      return HATCH_ERR_IO;
    }
    void *m = s->ops->mmap(s->ops->ctx, q.length, PROT_READ | PROT_WRITE, MAP_SHARED, s->fd, q.m.offset);
    if (m == MAP_FAILED) return fail_errno(err, s->path, "mmap", errno);
    b->map = m;
    b->map_length = q.length;
    if (req->decode && !(b->rgb = malloc(rgb_bytes))) return HATCH_ERR_OUT_OF_MEMORY;
  }
  for (int i = 0; i < s->n_buffers; i++) {
    struct v4l2_buffer q = {.index = (uint32_t)i, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .memory = V4L2_MEMORY_MMAP};
    if (hatch_v4l2_xioctl(s->ops, s->fd, VIDIOC_QBUF, &q) != 0) return fail_errno(err, s->path, "VIDIOC_QBUF", errno);
  }
  return HATCH_OK;
}

hatch_status hatch_v4l2_stream_open(const hatch_v4l2_ops *ops, const hatch_v4l2_request *req,
                                    hatch_v4l2_stream **out, hatch_error *err) {
  hatch_v4l2_stream *s = calloc(1, sizeof *s);
  if (!s) return HATCH_ERR_OUT_OF_MEMORY;
  s->ops = ops;
  s->refs = 1;
  s->generation = req->generation;
  s->holder = req->holder;
  hatch_device_holder_retain(s->holder);
  snprintf(s->path, sizeof s->path, "%s", req->path);
  pthread_mutex_init(&s->lock, NULL);
  hatch_status st;
  s->fd = ops->open(ops->ctx, req->path, O_RDWR | O_NONBLOCK);
  if (s->fd < 0) {
    st = fail_errno(err, req->path, "open", errno);
    goto fail;
  }
  struct v4l2_capability cap;
  memset(&cap, 0, sizeof cap);
  if (hatch_v4l2_xioctl(ops, s->fd, VIDIOC_QUERYCAP, &cap) != 0) {
    st = fail_errno(err, req->path, "VIDIOC_QUERYCAP", errno);
    goto fail;
  }
  uint32_t caps = (cap.capabilities & V4L2_CAP_DEVICE_CAPS) ? cap.device_caps : cap.capabilities;
  if (!(caps & V4L2_CAP_VIDEO_CAPTURE) || !(caps & V4L2_CAP_STREAMING)) {
    snprintf(err->message, sizeof err->message, "%s: not a streaming video capture device", req->path);
    st = HATCH_ERR_UNSUPPORTED;
    goto fail;
  }
  if ((st = pick_format(s, req->fourcc, err)) != HATCH_OK) goto fail;
  if ((st = set_format(s, req, err)) != HATCH_OK) goto fail;
  if ((st = map_buffers(s, req, err)) != HATCH_OK) goto fail;
  int type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
  if (hatch_v4l2_xioctl(ops, s->fd, VIDIOC_STREAMON, &type) != 0) {
    st = fail_errno(err, req->path, "VIDIOC_STREAMON", errno);
    goto fail;
  }
  *out = s;
  return HATCH_OK;
fail:
  if (st == HATCH_ERR_OUT_OF_MEMORY && err && !err->message[0])
    snprintf(err->message, sizeof err->message, "%s: out of host memory for buffers", req->path);
  stream_free(s);
  return st;
}
