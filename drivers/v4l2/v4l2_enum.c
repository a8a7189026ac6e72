/* Camera listing: /dev/video* scan and per-device format/size/rate enumeration. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/videodev2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hatch/camera_list.h"
#include "hatch/frame_files.h"

static void copy_field(char *dst, size_t cap, const uint8_t *src, size_t n) {
  size_t i = 0;
  for (; i + 1 < cap && i < n && src[i]; i++) dst[i] = (src[i] >= 32 && src[i] < 127) ? (char)src[i] : '?';
  dst[i] = 0;
}

static void add_rates(const hatch_v4l2_ops *ops, int fd, hatch_camera_mode *m) {
  for (uint32_t i = 0; i < 64 && m->n_rates < HATCH_CAMERA_MAX_RATES; i++) {
    struct v4l2_frmivalenum iv = {.index = i, .pixel_format = m->fourcc, .width = (uint32_t)m->width,
                                  .height = (uint32_t)m->height};
    if (hatch_v4l2_xioctl(ops, fd, VIDIOC_ENUM_FRAMEINTERVALS, &iv) != 0) break;
    const struct v4l2_fract *f = iv.type == V4L2_FRMIVAL_TYPE_DISCRETE ? &iv.discrete : &iv.stepwise.min;
    if (f->numerator > 0) m->fps[m->n_rates++] = (double)f->denominator / f->numerator;
    if (iv.type != V4L2_FRMIVAL_TYPE_DISCRETE) break;
  }
}

hatch_status hatch_camera_describe(const hatch_v4l2_ops *ops, const char *path, hatch_camera_info *out, hatch_error *err) {
  memset(out, 0, sizeof *out);
  snprintf(out->path, sizeof out->path, "%s", path);
  int fd = ops->open(ops->ctx, path, O_RDWR | O_NONBLOCK);
  if (fd < 0) {
    int e = errno;
    snprintf(err->message, sizeof err->message, "%s: open: %s", path, strerror(e));
    return e == ENOENT ? HATCH_ERR_NOT_FOUND : e == ENODEV ? HATCH_ERR_DISCONNECTED : e == EBUSY ? HATCH_ERR_BUSY : HATCH_ERR_IO;
  }
  struct v4l2_capability cap;
  memset(&cap, 0, sizeof cap);
  if (hatch_v4l2_xioctl(ops, fd, VIDIOC_QUERYCAP, &cap) != 0) {
    snprintf(err->message, sizeof err->message, "%s: VIDIOC_QUERYCAP: %s", path, strerror(errno));
    ops->close(ops->ctx, fd);
    return HATCH_ERR_IO;
  }
  copy_field(out->driver, sizeof out->driver, cap.driver, sizeof cap.driver);
  copy_field(out->card, sizeof out->card, cap.card, sizeof cap.card);
  copy_field(out->bus_info, sizeof out->bus_info, cap.bus_info, sizeof cap.bus_info);
  uint32_t caps = (cap.capabilities & V4L2_CAP_DEVICE_CAPS) ? cap.device_caps : cap.capabilities;
  out->capture = (caps & V4L2_CAP_VIDEO_CAPTURE) && (caps & V4L2_CAP_STREAMING);
  for (uint32_t fi = 0; out->capture && fi < 64; fi++) {
    struct v4l2_fmtdesc d = {.index = fi, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE};
    if (hatch_v4l2_xioctl(ops, fd, VIDIOC_ENUM_FMT, &d) != 0) break;
    for (uint32_t si = 0; si < 256; si++) {
      struct v4l2_frmsizeenum fs = {.index = si, .pixel_format = d.pixelformat};
      if (hatch_v4l2_xioctl(ops, fd, VIDIOC_ENUM_FRAMESIZES, &fs) != 0) break;
      if (out->n_modes == HATCH_CAMERA_MAX_MODES) {
        out->truncated = true;
        break;
      }
      hatch_camera_mode *m = &out->modes[out->n_modes++];
      m->fourcc = d.pixelformat;
      copy_field(m->description, sizeof m->description, d.description, sizeof d.description);
      if (fs.type == V4L2_FRMSIZE_TYPE_DISCRETE) {
        m->width = (int)fs.discrete.width;
        m->height = (int)fs.discrete.height;
      } else {
        m->width = (int)fs.stepwise.max_width;
        m->height = (int)fs.stepwise.max_height;
        m->stepwise = true;
      }
      add_rates(ops, fd, m);
      if (fs.type != V4L2_FRMSIZE_TYPE_DISCRETE) break;
    }
  }
  ops->close(ops->ctx, fd);
  return HATCH_OK;
}

static int compare_paths(const void *a, const void *b) { return hatch_natural_compare(a, b); }

hatch_status hatch_camera_scan_nodes(char (*paths)[64], int max, int *n_out) {
  *n_out = 0;
  DIR *d = opendir("/dev");
  if (!d) return HATCH_ERR_IO;
  struct dirent *e;
  while ((e = readdir(d)) && *n_out < max)
    if (strncmp(e->d_name, "video", 5) == 0 && e->d_name[5] >= '0' && e->d_name[5] <= '9' && strlen(e->d_name) < 50)
      snprintf(paths[(*n_out)++], 64, "/dev/%s", e->d_name);
  closedir(d);
  qsort(paths, (size_t)*n_out, sizeof *paths, compare_paths);
  return HATCH_OK;
}
