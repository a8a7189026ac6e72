/* The fake camera's ioctl dispatch and its format ioctls: QUERYCAP, ENUM_FMT, ENUM_FRAMESIZES,
 * ENUM_FRAMEINTERVALS (all DISCRETE), G/S/TRY_FMT (nearest offered size, unknown formats fall back
 * to the first), G/S_PARM (nearest offered rate). Anything not listed -> ENOTTY. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_internal.h"

void fake_device_reset(fake_camera *c) {
  c->streaming = false;
  fake_buffers_release(c);
  fake_pool_free(&c->pool);
  c->pool_valid = false;
  c->fmt_gen++;
  c->fmt_index = c->size_index = c->rate_index = 0;
}

static void copy_str(uint8_t *dst, size_t cap, const char *src) { snprintf((char *)dst, cap, "%s", src); }

static const char *format_description(uint32_t pixfmt) {
  switch (pixfmt) {
  case V4L2_PIX_FMT_MJPEG: return "Motion-JPEG";
  case V4L2_PIX_FMT_YUYV: return "YUYV 4:2:2";
  case V4L2_PIX_FMT_NV12: return "Y/UV 4:2:0";
  default: return "24-bit RGB 8-8-8";
  }
}

static int format_index(const fake_camera *c, uint32_t pixfmt) {
  for (int i = 0; i < c->n_formats; i++)
    if (c->formats[i] == pixfmt) return i;
  return -1;
}

static int size_index(const fake_camera *c, uint32_t w, uint32_t h) {
  for (int i = 0; i < c->n_sizes; i++)
    if ((uint32_t)c->sizes[i].width == w && (uint32_t)c->sizes[i].height == h) return i;
  return -1;
}

static int querycap(const fake_camera *c, struct v4l2_capability *cap) {
  memset(cap, 0, sizeof(*cap));
  copy_str(cap->driver, sizeof(cap->driver), "hatch-fake");
  copy_str(cap->card, sizeof(cap->card), c->card);
  snprintf((char *)cap->bus_info, sizeof(cap->bus_info), "platform:hatch-fake-%d", c->index);
  cap->version = (6u << 16) | (1u << 8); /* KERNEL_VERSION(6, 1, 0) */
  cap->device_caps = V4L2_CAP_VIDEO_CAPTURE | V4L2_CAP_STREAMING;
  cap->capabilities = cap->device_caps | V4L2_CAP_DEVICE_CAPS;
  return 0;
}

static int enum_fmt(const fake_camera *c, struct v4l2_fmtdesc *d) {
  if (d->type != V4L2_BUF_TYPE_VIDEO_CAPTURE || d->index >= (uint32_t)c->n_formats) return EINVAL;
  uint32_t index = d->index, type = d->type, pixfmt = c->formats[index];
  memset(d, 0, sizeof(*d));
  d->index = index;
  d->type = type;
  d->pixelformat = pixfmt;
  d->flags = pixfmt == V4L2_PIX_FMT_MJPEG ? V4L2_FMT_FLAG_COMPRESSED : 0;
  copy_str(d->description, sizeof(d->description), format_description(pixfmt));
  return 0;
}

static int enum_framesizes(const fake_camera *c, struct v4l2_frmsizeenum *s) {
  if (format_index(c, s->pixel_format) < 0 || s->index >= (uint32_t)c->n_sizes) return EINVAL;
  s->type = V4L2_FRMSIZE_TYPE_DISCRETE;
  s->discrete.width = (uint32_t)c->sizes[s->index].width;
  s->discrete.height = (uint32_t)c->sizes[s->index].height;
  memset(s->reserved, 0, sizeof(s->reserved));
  return 0;
}

static int enum_frameintervals(const fake_camera *c, struct v4l2_frmivalenum *v) {
  if (format_index(c, v->pixel_format) < 0 || size_index(c, v->width, v->height) < 0 ||
      v->index >= (uint32_t)c->n_rates)
    return EINVAL;
  v->type = V4L2_FRMIVAL_TYPE_DISCRETE;
  v->discrete.numerator = 1;
  v->discrete.denominator = (uint32_t)c->rates[v->index];
  memset(v->reserved, 0, sizeof(v->reserved));
  return 0;
}

static void fill_pix(const fake_camera *c, int fi, int si, struct v4l2_format *f) {
  memset(&f->fmt, 0, sizeof(f->fmt));
  struct v4l2_pix_format *p = &f->fmt.pix;
  p->pixelformat = c->formats[fi];
  p->width = (uint32_t)c->sizes[si].width;
  p->height = (uint32_t)c->sizes[si].height;
  p->field = V4L2_FIELD_NONE;
  fake_format_sizes(p->pixelformat, c->sizes[si].width, c->sizes[si].height, &p->bytesperline, &p->sizeimage);
  p->colorspace = p->pixelformat == V4L2_PIX_FMT_MJPEG ? V4L2_COLORSPACE_JPEG : V4L2_COLORSPACE_SRGB;
}

/* TRY_FMT's choice: the format if offered (else the first), the nearest size by |dw| + |dh|. */
static void try_fmt(const fake_camera *c, const struct v4l2_format *f, int *fi, int *si) {
  *fi = format_index(c, f->fmt.pix.pixelformat);
  if (*fi < 0) *fi = 0;
  int64_t best = INT64_MAX;
  for (int i = 0; i < c->n_sizes; i++) {
    int64_t d = llabs((int64_t)c->sizes[i].width - f->fmt.pix.width) + llabs((int64_t)c->sizes[i].height - f->fmt.pix.height);
    if (d < best) best = d, *si = i;
  }
}

static int fmt_ioctl(fake_camera *c, unsigned long request, struct v4l2_format *f) {
  if (f->type != V4L2_BUF_TYPE_VIDEO_CAPTURE) return EINVAL;
  if (request == VIDIOC_G_FMT) {
    fill_pix(c, c->fmt_index, c->size_index, f);
    return 0;
  }
  if (request == VIDIOC_S_FMT && c->n_buffers > 0) return EBUSY; /* vb2_is_busy */
  int fi = 0, si = 0;
  try_fmt(c, f, &fi, &si);
  fill_pix(c, fi, si, f);
  if (request == VIDIOC_S_FMT && (fi != c->fmt_index || si != c->size_index)) {
    c->fmt_index = fi;
    c->size_index = si;
    c->fmt_gen++;
    fake_pool_free(&c->pool);
    c->pool_valid = false;
  }
  return 0;
}

static int parm_ioctl(fake_camera *c, unsigned long request, struct v4l2_streamparm *p) {
  if (p->type != V4L2_BUF_TYPE_VIDEO_CAPTURE) return EINVAL;
  if (request == VIDIOC_S_PARM) {
    if (c->streaming) return EBUSY;
    uint32_t num = p->parm.capture.timeperframe.numerator, den = p->parm.capture.timeperframe.denominator;
    if (num != 0 && den != 0) { /* 0 -> keep the current rate */
      int64_t best = INT64_MAX;
      for (int i = 0; i < c->n_rates; i++) {
        int64_t d = llabs((int64_t)c->rates[i] * num - den); /* |rate - den / num| * num */
        if (d < best) best = d, c->rate_index = i;
      }
    }
  }
  memset(&p->parm, 0, sizeof(p->parm));
  p->parm.capture.capability = V4L2_CAP_TIMEPERFRAME;
  p->parm.capture.timeperframe.numerator = 1;
  p->parm.capture.timeperframe.denominator = (uint32_t)c->rates[c->rate_index];
  return 0;
}

/* Returns 0 or an errno value. The buffer ioctls take the fd (they may drop the mutex). */
static int dispatch(hatch_fake_v4l2 *f, fake_camera *c, int fd, unsigned long request, void *arg) {
  switch (request) {
  case VIDIOC_QUERYCAP: return querycap(c, arg);
  case VIDIOC_ENUM_FMT: return enum_fmt(c, arg);
  case VIDIOC_ENUM_FRAMESIZES: return enum_framesizes(c, arg);
  case VIDIOC_ENUM_FRAMEINTERVALS: return enum_frameintervals(c, arg);
  case VIDIOC_G_FMT:
  case VIDIOC_S_FMT:
  case VIDIOC_TRY_FMT: return fmt_ioctl(c, request, arg);
  case VIDIOC_G_PARM:
  case VIDIOC_S_PARM: return parm_ioctl(c, request, arg);
  case VIDIOC_REQBUFS: return fake_ioctl_reqbufs(f, fd, arg);
  case VIDIOC_QUERYBUF: return fake_ioctl_querybuf(f, c, arg);
  case VIDIOC_QBUF: return fake_ioctl_qbuf(f, c, fd, arg);
  case VIDIOC_DQBUF: return fake_ioctl_dqbuf(f, fd, arg);
  case VIDIOC_STREAMON: return fake_ioctl_streamon(f, c, fd, arg);
  case VIDIOC_STREAMOFF: return fake_ioctl_streamoff(f, c, fd, arg);
  default: return ENOTTY;
  }
}

int fake_ioctl(void *ctx, int fd, unsigned long request, void *arg) {
  hatch_fake_v4l2 *f = ctx;
  pthread_mutex_lock(&f->mu);
  fake_fd *e;
  fake_camera *c;
  int err = fake_fd_check(f, fd, &e, &c);
  if (!err && !arg) err = EFAULT;
  if (!err && c->faults.eintr_every > 0 && ++c->fault_ioctls % (uint64_t)c->faults.eintr_every == 0) {
    c->stats.ioctl_eintr++;
    err = EINTR;
  } else if (!err) {
    fake_catch_up(f, c, fake_now_ns());
    err = dispatch(f, c, fd, request, arg);
  }
  pthread_mutex_unlock(&f->mu);
  if (err) {
    errno = err;
    return -1;
  }
  return 0;
}
