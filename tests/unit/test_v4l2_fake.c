/* The fake V4L2 device (drivers/fake) driven directly through its ops table with raw V4L2 ioctls:
 * enumeration, format snapping, the buffer lifecycle and its EBUSY/EINVAL cases, a 200 fps stream
 * (sequence, timestamps against CLOCK_MONOTONIC, payloads that decode and match the pool), every
 * fault, poll, unplug waking blocked threads, replug, and the stats. CPU only; about 3.5 s. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "harness.h"
#include "hatch/frame_decode.h"
#include "hatch/v4l2_fake.h"

#include <linux/videodev2.h>

#define CAM0 "/dev/video0"
#define CAM1 "/dev/video1"
#define MAX_BUFS 6

/* ---- helpers ------------------------------------------------------------------------------- */

static int64_t now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
}

static int64_t tv_us(struct timeval tv) { return (int64_t)tv.tv_sec * 1000000 + tv.tv_usec; }

static hatch_fake_camera_config cam_config(const char *path, uint32_t seed) {
  return (hatch_fake_camera_config){
      .path = path,
      .card = "test camera",
      .formats = {V4L2_PIX_FMT_MJPEG, V4L2_PIX_FMT_YUYV, V4L2_PIX_FMT_NV12, V4L2_PIX_FMT_RGB24},
      .n_formats = 4,
      .sizes = {{160, 120}, {320, 240}, {640, 480}},
      .n_sizes = 3,
      .rates = {200, 30, 1000},
      .n_rates = 3,
      .max_buffers = MAX_BUFS,
      .seed = seed,
  };
}

/* A set with CAM0 (seed 1) and CAM1 (seed 2). */
static hatch_fake_v4l2 *fake_new(hatch_test_ctx *c) {
  hatch_fake_v4l2 *f = NULL;
  HATCH_EXPECT_OK(c, hatch_fake_v4l2_create(&f));
  if (!f) return NULL;
  hatch_fake_camera_config a = cam_config(CAM0, 1), b = cam_config(CAM1, 2);
  HATCH_EXPECT_OK(c, hatch_fake_v4l2_add(f, &a));
  HATCH_EXPECT_OK(c, hatch_fake_v4l2_add(f, &b));
  return f;
}

/* Checks that everything was closed and unmapped, then destroys. */
static void fake_done(hatch_test_ctx *c, hatch_fake_v4l2 *f) {
  const char *paths[] = {CAM0, CAM1};
  for (int i = 0; i < 2; i++) {
    hatch_fake_stats st;
    if (hatch_fake_v4l2_stats_get(f, paths[i], &st) != HATCH_OK) continue;
    HATCH_EXPECT(c, st.open_fds == 0 && st.mapped_buffers == 0, "%s left %d fds, %d mappings", paths[i], st.open_fds,
                 st.mapped_buffers);
  }
  hatch_fake_v4l2_destroy(f);
}

typedef struct stream {
  const hatch_v4l2_ops *ops;
  hatch_fake_v4l2 *fake;
  const char *path;
  int fd;
  uint32_t n;              /* buffers */
  uint8_t *mem[MAX_BUFS];  /* (len[i]) mapped bytes */
  size_t len[MAX_BUFS];
  struct v4l2_pix_format pix;
} stream;

/* 0 or the errno of the failed ioctl. */
static int io(const stream *s, unsigned long req, void *arg) {
  return s->ops->ioctl(s->ops->ctx, s->fd, req, arg) == 0 ? 0 : errno;
}

static int qbuf(const stream *s, uint32_t index) {
  struct v4l2_buffer b = {.index = index, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .memory = V4L2_MEMORY_MMAP};
  return io(s, VIDIOC_QBUF, &b);
}

static int dqbuf(const stream *s, struct v4l2_buffer *b) {
  *b = (struct v4l2_buffer){.type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .memory = V4L2_MEMORY_MMAP};
  return io(s, VIDIOC_DQBUF, b);
}

static int stream_on(const stream *s) {
  int type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
  return io(s, VIDIOC_STREAMON, &type);
}

static int stream_off(const stream *s) {
  int type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
  return io(s, VIDIOC_STREAMOFF, &type);
}

/* poll (up to timeout_ms) then DQBUF: 0 or an errno (ETIMEDOUT when poll saw nothing). */
static int next_frame(const stream *s, int timeout_ms, struct v4l2_buffer *b) {
  struct pollfd p = {.fd = s->fd, .events = POLLIN};
  int r = s->ops->poll(s->ops->ctx, &p, 1, timeout_ms);
  if (r < 0) return errno;
  if (r == 0) return ETIMEDOUT;
  if (!(p.revents & POLLIN)) return EIO;
  return dqbuf(s, b);
}

/* open, S_FMT, S_PARM, REQBUFS n, QUERYBUF + mmap each, QBUF each when queue is set. */
static bool stream_open(hatch_test_ctx *c, hatch_fake_v4l2 *f, const char *path, uint32_t pixfmt, int w, int h,
                        int fps, uint32_t n, bool queue, stream *s) {
  memset(s, 0, sizeof(*s));
  s->ops = hatch_fake_v4l2_ops(f);
  s->fake = f;
  s->path = path;
  s->fd = s->ops->open(s->ops->ctx, path, O_RDWR | O_NONBLOCK);
  HATCH_EXPECT(c, s->fd >= 1000, "open %s: fd %d errno %d", path, s->fd, errno);
  if (s->fd < 0) return false;
  struct v4l2_format fmt = {.type = V4L2_BUF_TYPE_VIDEO_CAPTURE};
  fmt.fmt.pix = (struct v4l2_pix_format){.width = (uint32_t)w, .height = (uint32_t)h, .pixelformat = pixfmt};
  int err = io(s, VIDIOC_S_FMT, &fmt);
  HATCH_EXPECT(c, err == 0 && fmt.fmt.pix.pixelformat == pixfmt, "S_FMT: %d", err);
  s->pix = fmt.fmt.pix;
  struct v4l2_streamparm parm = {.type = V4L2_BUF_TYPE_VIDEO_CAPTURE};
  parm.parm.capture.timeperframe = (struct v4l2_fract){1, (uint32_t)fps};
  err = io(s, VIDIOC_S_PARM, &parm);
  HATCH_EXPECT(c, err == 0 && parm.parm.capture.timeperframe.denominator == (uint32_t)fps, "S_PARM %d: %d", fps, err);
  struct v4l2_requestbuffers rb = {.count = n, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .memory = V4L2_MEMORY_MMAP};
  err = io(s, VIDIOC_REQBUFS, &rb);
  HATCH_EXPECT(c, err == 0 && rb.count == n, "REQBUFS %u: err %d count %u", n, err, rb.count);
  if (err || rb.count != n) return false;
  s->n = n;
  for (uint32_t i = 0; i < n; i++) {
    struct v4l2_buffer b = {.index = i, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .memory = V4L2_MEMORY_MMAP};
    HATCH_EXPECT(c, io(s, VIDIOC_QUERYBUF, &b) == 0, "QUERYBUF %u", i);
    void *p = s->ops->mmap(s->ops->ctx, b.length, PROT_READ | PROT_WRITE, MAP_SHARED, s->fd, b.m.offset);
    HATCH_EXPECT(c, p != MAP_FAILED, "mmap %u: errno %d", i, errno);
    if (p == MAP_FAILED) return false;
    s->mem[i] = p;
    s->len[i] = b.length;
    if (queue) HATCH_EXPECT(c, qbuf(s, i) == 0, "QBUF %u", i);
  }
  return true;
}

static void stream_close(hatch_test_ctx *c, stream *s) {
  if (s->fd < 0) return;
  stream_off(s);
  for (uint32_t i = 0; i < s->n; i++)
    if (s->mem[i]) HATCH_EXPECT(c, s->ops->munmap(s->ops->ctx, s->mem[i], s->len[i]) == 0, "munmap %u", i);
  struct v4l2_requestbuffers rb = {.count = 0, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .memory = V4L2_MEMORY_MMAP};
  io(s, VIDIOC_REQBUFS, &rb); /* ENODEV after an unplug: fine */
  HATCH_EXPECT(c, s->ops->close(s->ops->ctx, s->fd) == 0, "close");
  s->fd = -1;
}

static hatch_fake_stats stats_of(hatch_test_ctx *c, hatch_fake_v4l2 *f, const char *path) {
  hatch_fake_stats st = {0};
  HATCH_EXPECT_OK(c, hatch_fake_v4l2_stats_get(f, path, &st));
  return st;
}

static double mean_abs_diff(const uint8_t *a, const uint8_t *b, size_t n) {
  double sum = 0;
  for (size_t i = 0; i < n; i++) sum += abs((int)a[i] - (int)b[i]);
  return n ? sum / (double)n : 0;
}

/* ---- configuration and enumeration ---------------------------------------------------------- */

static void test_config_errors(hatch_test_ctx *c) {
  hatch_fake_v4l2 *f = NULL;
  HATCH_EXPECT_OK(c, hatch_fake_v4l2_create(&f));
  if (!f) return;
  hatch_fake_camera_config cfg = cam_config(NULL, 0);
  HATCH_EXPECT(c, hatch_fake_v4l2_add(f, &cfg) == HATCH_ERR_INVALID_ARGUMENT, "NULL path");
  cfg = cam_config(CAM0, 0);
  cfg.sizes[1].width = 321;
  HATCH_EXPECT(c, hatch_fake_v4l2_add(f, &cfg) == HATCH_ERR_INVALID_ARGUMENT, "odd width");
  cfg = cam_config(CAM0, 0);
  cfg.sizes[0].height = 0;
  HATCH_EXPECT(c, hatch_fake_v4l2_add(f, &cfg) == HATCH_ERR_INVALID_ARGUMENT, "zero height");
  cfg = cam_config(CAM0, 0);
  cfg.formats[2] = V4L2_PIX_FMT_H264;
  HATCH_EXPECT(c, hatch_fake_v4l2_add(f, &cfg) == HATCH_ERR_INVALID_ARGUMENT, "unknown format");
  cfg = cam_config(CAM0, 0);
  cfg.rates[1] = 0;
  HATCH_EXPECT(c, hatch_fake_v4l2_add(f, &cfg) == HATCH_ERR_INVALID_ARGUMENT, "zero rate");
  /* all defaults: {MJPEG, YUYV}, {640x480, 1280x720}, {30, 15} */
  hatch_fake_camera_config def = {.path = CAM0};
  HATCH_EXPECT_OK(c, hatch_fake_v4l2_add(f, &def));
  HATCH_EXPECT(c, hatch_fake_v4l2_add(f, &def) == HATCH_ERR_INVALID_ARGUMENT, "duplicate path");
  char paths[HATCH_FAKE_MAX_CAMERAS + 1][32];
  hatch_status last = HATCH_OK;
  for (int i = 1; i <= HATCH_FAKE_MAX_CAMERAS; i++) {
    snprintf(paths[i], sizeof(paths[i]), "/dev/video%d", i);
    hatch_fake_camera_config more = {.path = paths[i]};
    last = hatch_fake_v4l2_add(f, &more);
    if (i < HATCH_FAKE_MAX_CAMERAS) HATCH_EXPECT_OK(c, last);
  }
  HATCH_EXPECT(c, last == HATCH_ERR_TOO_LARGE, "camera %d: %s", HATCH_FAKE_MAX_CAMERAS + 1, hatch_status_name(last));
  hatch_fake_faults none = {0};
  hatch_fake_stats st;
  HATCH_EXPECT(c, hatch_fake_v4l2_set_faults(f, "/dev/nope", &none) == HATCH_ERR_NOT_FOUND, "faults on unknown");
  HATCH_EXPECT(c, hatch_fake_v4l2_stats_get(f, "/dev/nope", &st) == HATCH_ERR_NOT_FOUND, "stats on unknown");
  HATCH_EXPECT(c, hatch_fake_v4l2_disconnect(f, "/dev/nope") == HATCH_ERR_NOT_FOUND, "unplug unknown");

  const hatch_v4l2_ops *ops = hatch_fake_v4l2_ops(f);
  errno = 0;
  HATCH_EXPECT(c, ops->open(ops->ctx, "/dev/nope", O_RDWR) == -1 && errno == ENOENT, "open unknown: errno %d", errno);
  errno = 0;
  struct v4l2_capability cap;
  HATCH_EXPECT(c, ops->ioctl(ops->ctx, 999, VIDIOC_QUERYCAP, &cap) == -1 && errno == EBADF, "ioctl bad fd");
  HATCH_EXPECT(c, ops->close(ops->ctx, 1234567) == -1 && errno == EBADF, "close bad fd");
  int fd = ops->open(ops->ctx, CAM0, O_RDWR);
  stream s = {.ops = ops, .fd = fd};
  uint32_t want_fmt[] = {V4L2_PIX_FMT_MJPEG, V4L2_PIX_FMT_YUYV};
  for (uint32_t i = 0; i < 3; i++) {
    struct v4l2_fmtdesc d = {.index = i, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE};
    int err = io(&s, VIDIOC_ENUM_FMT, &d);
    if (i < 2) HATCH_EXPECT(c, err == 0 && d.pixelformat == want_fmt[i], "default format %u", i);
    else HATCH_EXPECT(c, err == EINVAL, "default formats: 2");
  }
  int want_wh[][2] = {{640, 480}, {1280, 720}};
  for (uint32_t i = 0; i < 2; i++) {
    struct v4l2_frmsizeenum fs = {.index = i, .pixel_format = V4L2_PIX_FMT_YUYV};
    HATCH_EXPECT(c, io(&s, VIDIOC_ENUM_FRAMESIZES, &fs) == 0 && fs.discrete.width == (uint32_t)want_wh[i][0] &&
                        fs.discrete.height == (uint32_t)want_wh[i][1],
                 "default size %u", i);
    struct v4l2_frmivalenum fi = {.index = i, .pixel_format = V4L2_PIX_FMT_MJPEG, .width = 1280, .height = 720};
    HATCH_EXPECT(c, io(&s, VIDIOC_ENUM_FRAMEINTERVALS, &fi) == 0 && fi.discrete.denominator == (i ? 15u : 30u),
                 "default rate %u", i);
  }
  ops->close(ops->ctx, fd);
  hatch_fake_v4l2_destroy(f);
  hatch_fake_v4l2_destroy(NULL);
}

static void test_enumerate(hatch_test_ctx *c) {
  hatch_fake_v4l2 *f = fake_new(c);
  if (!f) return;
  const hatch_v4l2_ops *ops = hatch_fake_v4l2_ops(f);
  stream s = {.ops = ops, .fd = ops->open(ops->ctx, CAM1, O_RDWR)};
  int fd2 = ops->open(ops->ctx, CAM1, O_RDWR);
  HATCH_EXPECT(c, s.fd >= 1000 && fd2 >= 1000 && fd2 != s.fd, "fds %d %d", s.fd, fd2);
  struct v4l2_capability cap;
  memset(&cap, 0xAB, sizeof(cap));
  HATCH_EXPECT(c, io(&s, VIDIOC_QUERYCAP, &cap) == 0, "QUERYCAP");
  HATCH_EXPECT(c, strcmp((char *)cap.driver, "hatch-fake") == 0, "driver '%.16s'", (char *)cap.driver);
  HATCH_EXPECT(c, strcmp((char *)cap.card, "test camera") == 0, "card '%.32s'", (char *)cap.card);
  HATCH_EXPECT(c, strncmp((char *)cap.bus_info, "platform:", 9) == 0, "bus_info '%.32s'", (char *)cap.bus_info);
  HATCH_EXPECT(c, cap.device_caps == (V4L2_CAP_VIDEO_CAPTURE | V4L2_CAP_STREAMING), "device_caps %#x", cap.device_caps);
  HATCH_EXPECT(c, (cap.capabilities & (V4L2_CAP_VIDEO_CAPTURE | V4L2_CAP_STREAMING | V4L2_CAP_DEVICE_CAPS)) ==
                      (V4L2_CAP_VIDEO_CAPTURE | V4L2_CAP_STREAMING | V4L2_CAP_DEVICE_CAPS),
               "capabilities %#x", cap.capabilities);
  HATCH_EXPECT(c, cap.reserved[0] == 0, "reserved not cleared");

  uint32_t want[] = {V4L2_PIX_FMT_MJPEG, V4L2_PIX_FMT_YUYV, V4L2_PIX_FMT_NV12, V4L2_PIX_FMT_RGB24};
  for (uint32_t i = 0; i <= 4; i++) {
    struct v4l2_fmtdesc d = {.index = i, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE};
    int err = io(&s, VIDIOC_ENUM_FMT, &d);
    if (i == 4) {
      HATCH_EXPECT(c, err == EINVAL, "ENUM_FMT past the end: %d", err);
      break;
    }
    HATCH_EXPECT(c, err == 0 && d.pixelformat == want[i] && d.index == i && d.description[0], "ENUM_FMT %u", i);
    HATCH_EXPECT(c, ((d.flags & V4L2_FMT_FLAG_COMPRESSED) != 0) == (i == 0), "COMPRESSED flag on %u", i);
  }
  struct v4l2_fmtdesc out = {.index = 0, .type = V4L2_BUF_TYPE_VIDEO_OUTPUT};
  HATCH_EXPECT(c, io(&s, VIDIOC_ENUM_FMT, &out) == EINVAL, "ENUM_FMT output type");
  int sizes[][2] = {{160, 120}, {320, 240}, {640, 480}};
  for (uint32_t i = 0; i <= 3; i++) {
    struct v4l2_frmsizeenum fs = {.index = i, .pixel_format = V4L2_PIX_FMT_NV12};
    int err = io(&s, VIDIOC_ENUM_FRAMESIZES, &fs);
    if (i == 3) HATCH_EXPECT(c, err == EINVAL, "ENUM_FRAMESIZES past the end");
    else
      HATCH_EXPECT(c, err == 0 && fs.type == V4L2_FRMSIZE_TYPE_DISCRETE && fs.discrete.width == (uint32_t)sizes[i][0] &&
                          fs.discrete.height == (uint32_t)sizes[i][1],
                   "ENUM_FRAMESIZES %u: %ux%u", i, fs.discrete.width, fs.discrete.height);
  }
  struct v4l2_frmsizeenum bad = {.index = 0, .pixel_format = V4L2_PIX_FMT_H264};
  HATCH_EXPECT(c, io(&s, VIDIOC_ENUM_FRAMESIZES, &bad) == EINVAL, "ENUM_FRAMESIZES unknown format");
  uint32_t rates[] = {200, 30, 1000};
  for (uint32_t i = 0; i <= 3; i++) {
    struct v4l2_frmivalenum fi = {.index = i, .pixel_format = V4L2_PIX_FMT_RGB24, .width = 640, .height = 480};
    int err = io(&s, VIDIOC_ENUM_FRAMEINTERVALS, &fi);
    if (i == 3) HATCH_EXPECT(c, err == EINVAL, "ENUM_FRAMEINTERVALS past the end");
    else
      HATCH_EXPECT(c, err == 0 && fi.type == V4L2_FRMIVAL_TYPE_DISCRETE && fi.discrete.numerator == 1 &&
                          fi.discrete.denominator == rates[i],
                   "ENUM_FRAMEINTERVALS %u", i);
  }
  struct v4l2_frmivalenum odd = {.index = 0, .pixel_format = V4L2_PIX_FMT_MJPEG, .width = 641, .height = 480};
  HATCH_EXPECT(c, io(&s, VIDIOC_ENUM_FRAMEINTERVALS, &odd) == EINVAL, "ENUM_FRAMEINTERVALS unoffered size");
  int input = 0;
  HATCH_EXPECT(c, io(&s, VIDIOC_G_INPUT, &input) == ENOTTY, "unknown ioctl -> ENOTTY");
  ops->close(ops->ctx, s.fd);
  ops->close(ops->ctx, fd2);
  HATCH_EXPECT(c, ops->close(ops->ctx, fd2) == -1 && errno == EBADF, "double close");
  fake_done(c, f);
}

static void test_format_snapping(hatch_test_ctx *c) {
  hatch_fake_v4l2 *f = fake_new(c);
  if (!f) return;
  const hatch_v4l2_ops *ops = hatch_fake_v4l2_ops(f);
  stream s = {.ops = ops, .fd = ops->open(ops->ctx, CAM0, O_RDWR)};
  struct v4l2_format g = {.type = V4L2_BUF_TYPE_VIDEO_CAPTURE};
  HATCH_EXPECT(c, io(&s, VIDIOC_G_FMT, &g) == 0 && g.fmt.pix.pixelformat == V4L2_PIX_FMT_MJPEG &&
                      g.fmt.pix.width == 160 && g.fmt.pix.height == 120,
               "default format: first format, first size");
  struct {
    uint32_t req_fmt, req_w, req_h, fmt, w, h, bpl, sizeimage;
  } cases[] = {
      {V4L2_PIX_FMT_YUYV, 300, 250, V4L2_PIX_FMT_YUYV, 320, 240, 640, 320 * 240 * 2},
      {V4L2_PIX_FMT_NV12, 5000, 4000, V4L2_PIX_FMT_NV12, 640, 480, 640, 640 * 480 * 3 / 2},
      {V4L2_PIX_FMT_RGB24, 1, 1, V4L2_PIX_FMT_RGB24, 160, 120, 480, 160 * 120 * 3},
      {v4l2_fourcc('A', 'B', 'C', 'D'), 330, 230, V4L2_PIX_FMT_MJPEG, 320, 240, 0, 0},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    struct v4l2_format fm = {.type = V4L2_BUF_TYPE_VIDEO_CAPTURE};
    fm.fmt.pix = (struct v4l2_pix_format){.width = cases[i].req_w, .height = cases[i].req_h,
                                          .pixelformat = cases[i].req_fmt, .field = V4L2_FIELD_INTERLACED};
    HATCH_EXPECT(c, io(&s, VIDIOC_S_FMT, &fm) == 0, "S_FMT %zu", i);
    struct v4l2_pix_format *p = &fm.fmt.pix;
    HATCH_EXPECT(c, p->pixelformat == cases[i].fmt && p->width == cases[i].w && p->height == cases[i].h,
                 "S_FMT %zu -> %.4s %ux%u", i, (char *)&p->pixelformat, p->width, p->height);
    HATCH_EXPECT(c, p->field == V4L2_FIELD_NONE, "field %u", p->field);
    if (cases[i].fmt == V4L2_PIX_FMT_MJPEG)
      HATCH_EXPECT(c, p->sizeimage >= cases[i].w * cases[i].h && p->sizeimage < cases[i].w * cases[i].h * 4,
                   "MJPEG sizeimage %u", p->sizeimage);
    else
      HATCH_EXPECT(c, p->bytesperline == cases[i].bpl && p->sizeimage == cases[i].sizeimage, "%zu: bpl %u size %u", i,
                   p->bytesperline, p->sizeimage);
    struct v4l2_format back = {.type = V4L2_BUF_TYPE_VIDEO_CAPTURE};
    HATCH_EXPECT(c, io(&s, VIDIOC_G_FMT, &back) == 0 && memcmp(&back.fmt.pix, p, sizeof(*p)) == 0, "G_FMT after S_FMT %zu",
                 i);
  }
  struct v4l2_format t = {.type = V4L2_BUF_TYPE_VIDEO_CAPTURE};
  t.fmt.pix = (struct v4l2_pix_format){.width = 640, .height = 480, .pixelformat = V4L2_PIX_FMT_YUYV};
  HATCH_EXPECT(c, io(&s, VIDIOC_TRY_FMT, &t) == 0 && t.fmt.pix.width == 640, "TRY_FMT");
  HATCH_EXPECT(c, io(&s, VIDIOC_G_FMT, &g) == 0 && g.fmt.pix.pixelformat == V4L2_PIX_FMT_MJPEG && g.fmt.pix.width == 320,
               "TRY_FMT must not change the format");
  struct v4l2_format out = {.type = V4L2_BUF_TYPE_VIDEO_OUTPUT};
  HATCH_EXPECT(c, io(&s, VIDIOC_S_FMT, &out) == EINVAL, "S_FMT output type");

  struct v4l2_streamparm parm = {.type = V4L2_BUF_TYPE_VIDEO_CAPTURE};
  HATCH_EXPECT(c, io(&s, VIDIOC_G_PARM, &parm) == 0 && parm.parm.capture.timeperframe.numerator == 1 &&
                      parm.parm.capture.timeperframe.denominator == 200 &&
                      (parm.parm.capture.capability & V4L2_CAP_TIMEPERFRAME),
               "default G_PARM 1/200");
  struct {
    uint32_t num, den, want;
  } rates[] = {{1, 100, 30}, {1, 700, 1000}, {1001, 30000, 30}, {1, 180, 200}, {0, 0, 200}, {2, 1, 30}};
  for (size_t i = 0; i < sizeof(rates) / sizeof(rates[0]); i++) {
    parm = (struct v4l2_streamparm){.type = V4L2_BUF_TYPE_VIDEO_CAPTURE};
    parm.parm.capture.timeperframe = (struct v4l2_fract){rates[i].num, rates[i].den};
    HATCH_EXPECT(c, io(&s, VIDIOC_S_PARM, &parm) == 0 && parm.parm.capture.timeperframe.numerator == 1 &&
                        parm.parm.capture.timeperframe.denominator == rates[i].want,
                 "S_PARM %u/%u -> 1/%u, want 1/%u", rates[i].num, rates[i].den, parm.parm.capture.timeperframe.denominator,
                 rates[i].want);
    struct v4l2_streamparm back = {.type = V4L2_BUF_TYPE_VIDEO_CAPTURE};
    HATCH_EXPECT(c, io(&s, VIDIOC_G_PARM, &back) == 0 && back.parm.capture.timeperframe.denominator == rates[i].want,
                 "G_PARM after S_PARM %zu", i);
  }
  ops->close(ops->ctx, s.fd);
  fake_done(c, f);
}

/* ---- buffer lifecycle ----------------------------------------------------------------------- */

static void test_buffers_and_busy(hatch_test_ctx *c) {
  hatch_fake_v4l2 *f = fake_new(c);
  if (!f) return;
  const hatch_v4l2_ops *ops = hatch_fake_v4l2_ops(f);
  stream s = {.ops = ops, .fd = ops->open(ops->ctx, CAM0, O_RDWR | O_NONBLOCK)};
  stream other = {.ops = ops, .fd = ops->open(ops->ctx, CAM0, O_RDWR | O_NONBLOCK)};
  struct v4l2_format fm = {.type = V4L2_BUF_TYPE_VIDEO_CAPTURE};
  fm.fmt.pix = (struct v4l2_pix_format){.width = 320, .height = 240, .pixelformat = V4L2_PIX_FMT_MJPEG};
  HATCH_EXPECT(c, io(&s, VIDIOC_S_FMT, &fm) == 0, "S_FMT");
  HATCH_EXPECT(c, stream_on(&s) == EINVAL, "STREAMON without buffers");
  struct v4l2_requestbuffers rb = {.count = 4, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .memory = V4L2_MEMORY_USERPTR};
  HATCH_EXPECT(c, io(&s, VIDIOC_REQBUFS, &rb) == EINVAL, "REQBUFS USERPTR");
  rb = (struct v4l2_requestbuffers){.count = 4, .type = V4L2_BUF_TYPE_VIDEO_OUTPUT, .memory = V4L2_MEMORY_MMAP};
  HATCH_EXPECT(c, io(&s, VIDIOC_REQBUFS, &rb) == EINVAL, "REQBUFS output type");
  rb = (struct v4l2_requestbuffers){.count = 100, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .memory = V4L2_MEMORY_MMAP};
  HATCH_EXPECT(c, io(&s, VIDIOC_REQBUFS, &rb) == 0 && rb.count == MAX_BUFS, "REQBUFS 100 -> %u, want %d", rb.count, MAX_BUFS);
  HATCH_EXPECT(c, stats_of(c, f, CAM0).buffers_allocated == MAX_BUFS, "buffers_allocated");
  uint32_t offsets[MAX_BUFS];
  uint8_t *mem[MAX_BUFS];
  size_t len = 0;
  for (uint32_t i = 0; i < MAX_BUFS; i++) {
    struct v4l2_buffer b = {.index = i, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .memory = V4L2_MEMORY_MMAP};
    HATCH_EXPECT(c, io(&s, VIDIOC_QUERYBUF, &b) == 0, "QUERYBUF %u", i);
    HATCH_EXPECT(c, b.length >= fm.fmt.pix.sizeimage && b.m.offset % 4096 == 0 && b.index == i, "QUERYBUF %u: %u @ %u", i,
                 b.length, b.m.offset);
    HATCH_EXPECT(c, !(b.flags & (V4L2_BUF_FLAG_QUEUED | V4L2_BUF_FLAG_DONE | V4L2_BUF_FLAG_MAPPED)), "fresh flags %#x",
                 b.flags);
    offsets[i] = b.m.offset;
    for (uint32_t j = 0; j < i; j++) HATCH_EXPECT(c, offsets[j] != b.m.offset, "offsets %u and %u equal", j, i);
    len = b.length;
  }
  struct v4l2_buffer past = {.index = MAX_BUFS, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .memory = V4L2_MEMORY_MMAP};
  HATCH_EXPECT(c, io(&s, VIDIOC_QUERYBUF, &past) == EINVAL, "QUERYBUF past the end");
  HATCH_EXPECT(c, io(&s, VIDIOC_S_FMT, &fm) == EBUSY, "S_FMT with buffers");
  rb = (struct v4l2_requestbuffers){.count = 2, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .memory = V4L2_MEMORY_MMAP};
  HATCH_EXPECT(c, io(&other, VIDIOC_REQBUFS, &rb) == EBUSY, "REQBUFS from another fd");
  HATCH_EXPECT(c, qbuf(&other, 0) == EBUSY, "QBUF from another fd");
  HATCH_EXPECT(c, ops->mmap(ops->ctx, len, PROT_READ, MAP_SHARED, s.fd, 4096 * 1000) == MAP_FAILED && errno == EINVAL,
               "mmap bad offset");
  HATCH_EXPECT(c, ops->mmap(ops->ctx, len, PROT_READ, MAP_PRIVATE, s.fd, offsets[0]) == MAP_FAILED && errno == EINVAL,
               "mmap MAP_PRIVATE");
  HATCH_EXPECT(c, ops->mmap(ops->ctx, len + 4096, PROT_READ, MAP_SHARED, s.fd, offsets[0]) == MAP_FAILED && errno == EINVAL,
               "mmap too long");
  HATCH_EXPECT(c, ops->mmap(ops->ctx, len, PROT_READ, MAP_SHARED, 4242, offsets[0]) == MAP_FAILED && errno == EBADF,
               "mmap bad fd");
  for (uint32_t i = 0; i < MAX_BUFS; i++) {
    mem[i] = ops->mmap(ops->ctx, len, PROT_READ | PROT_WRITE, MAP_SHARED, s.fd, offsets[i]);
    HATCH_EXPECT(c, mem[i] != MAP_FAILED, "mmap %u", i);
    if (mem[i] == MAP_FAILED) return;
    for (uint32_t j = 0; j < i; j++) HATCH_EXPECT(c, mem[j] != mem[i], "mappings %u and %u alias", j, i);
    mem[i][0] = (uint8_t)i, mem[i][len - 1] = (uint8_t)i; /* whole length writable (ASan checks) */
  }
  HATCH_EXPECT(c, stats_of(c, f, CAM0).mapped_buffers == MAX_BUFS, "mapped_buffers");
  rb = (struct v4l2_requestbuffers){.count = 0, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .memory = V4L2_MEMORY_MMAP};
  HATCH_EXPECT(c, io(&s, VIDIOC_REQBUFS, &rb) == EBUSY, "REQBUFS 0 while mapped");
  HATCH_EXPECT(c, qbuf(&s, 0) == 0, "QBUF 0");
  HATCH_EXPECT(c, qbuf(&s, 0) == EINVAL, "QBUF 0 twice");
  HATCH_EXPECT(c, qbuf(&s, 99) == EINVAL, "QBUF bad index");
  struct v4l2_buffer b = {.index = 0, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .memory = V4L2_MEMORY_MMAP};
  HATCH_EXPECT(c, io(&s, VIDIOC_QUERYBUF, &b) == 0 && (b.flags & V4L2_BUF_FLAG_QUEUED) && (b.flags & V4L2_BUF_FLAG_MAPPED),
               "QUERYBUF flags after QBUF: %#x", b.flags);
  HATCH_EXPECT(c, dqbuf(&s, &b) == EINVAL, "DQBUF before STREAMON");
  HATCH_EXPECT(c, qbuf(&s, 1) == 0 && qbuf(&s, 2) == 0, "QBUF 1, 2");
  HATCH_EXPECT(c, stream_on(&s) == 0, "STREAMON");
  HATCH_EXPECT(c, stream_on(&s) == 0, "STREAMON twice is fine");
  HATCH_EXPECT(c, stream_on(&other) == EBUSY, "STREAMON from another fd");
  rb = (struct v4l2_requestbuffers){.count = 2, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .memory = V4L2_MEMORY_MMAP};
  HATCH_EXPECT(c, io(&s, VIDIOC_REQBUFS, &rb) == EBUSY, "REQBUFS while streaming");
  struct v4l2_streamparm parm = {.type = V4L2_BUF_TYPE_VIDEO_CAPTURE};
  parm.parm.capture.timeperframe = (struct v4l2_fract){1, 30};
  HATCH_EXPECT(c, io(&s, VIDIOC_S_PARM, &parm) == EBUSY, "S_PARM while streaming");
  HATCH_EXPECT(c, stats_of(c, f, CAM0).streaming, "stats.streaming");
  sleep_ms(8); /* frames 0 and 1 are due: buffers 0 and 1 filled, 2 still queued */
  HATCH_EXPECT(c, stream_off(&s) == 0, "STREAMOFF");
  for (uint32_t i = 0; i < MAX_BUFS; i++) {
    b = (struct v4l2_buffer){.index = i, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .memory = V4L2_MEMORY_MMAP};
    HATCH_EXPECT(c, io(&s, VIDIOC_QUERYBUF, &b) == 0 && !(b.flags & (V4L2_BUF_FLAG_QUEUED | V4L2_BUF_FLAG_DONE)),
                 "buffer %u not returned by STREAMOFF: %#x", i, b.flags);
  }
  HATCH_EXPECT(c, qbuf(&s, 0) == 0 && qbuf(&s, 1) == 0, "QBUF after STREAMOFF");
  HATCH_EXPECT(c, dqbuf(&s, &b) == EINVAL, "DQBUF after STREAMOFF");
  HATCH_EXPECT(c, !stats_of(c, f, CAM0).streaming, "stats.streaming after STREAMOFF");
  for (uint32_t i = 0; i < MAX_BUFS; i++) {
    HATCH_EXPECT(c, ops->munmap(ops->ctx, mem[i], len) == 0, "munmap %u", i);
  }
  HATCH_EXPECT(c, ops->munmap(ops->ctx, mem[0], len) == -1 && errno == EINVAL, "munmap twice");
  HATCH_EXPECT(c, io(&s, VIDIOC_REQBUFS, &rb) == 0 && rb.count == 2, "REQBUFS 2 after unmapping");
  rb.count = 0;
  HATCH_EXPECT(c, io(&s, VIDIOC_REQBUFS, &rb) == 0 && rb.count == 0, "REQBUFS 0");
  HATCH_EXPECT(c, stats_of(c, f, CAM0).buffers_allocated == 0, "buffers freed");
  HATCH_EXPECT(c, io(&other, VIDIOC_S_FMT, &fm) == 0, "S_FMT from the other fd once freed");
  rb.count = 1;
  HATCH_EXPECT(c, io(&other, VIDIOC_REQBUFS, &rb) == 0 && rb.count == 1, "the other fd owns the queue now");
  ops->close(ops->ctx, other.fd);
  HATCH_EXPECT(c, stats_of(c, f, CAM0).buffers_allocated == 0, "the owner's close frees the buffers");
  ops->close(ops->ctx, s.fd);
  fake_done(c, f);
}

static void test_close_owner_keeps_mappings(hatch_test_ctx *c) {
  hatch_fake_v4l2 *f = fake_new(c);
  if (!f) return;
  stream s;
  if (stream_open(c, f, CAM0, V4L2_PIX_FMT_YUYV, 160, 120, 200, 3, true, &s)) {
    HATCH_EXPECT(c, stream_on(&s) == 0, "STREAMON");
    int fd2 = s.ops->open(s.ops->ctx, CAM0, O_RDWR);
    hatch_fake_stats st = stats_of(c, f, CAM0);
    HATCH_EXPECT(c, st.open_fds == 2 && st.mapped_buffers == 3 && st.buffers_allocated == 3 && st.streaming,
                 "stats: fds %d maps %d bufs %d", st.open_fds, st.mapped_buffers, st.buffers_allocated);
    HATCH_EXPECT(c, s.ops->close(s.ops->ctx, s.fd) == 0, "close owner");
    st = stats_of(c, f, CAM0);
    HATCH_EXPECT(c, st.open_fds == 1 && st.mapped_buffers == 3 && st.buffers_allocated == 0 && !st.streaming,
                 "after closing the owner: fds %d maps %d bufs %d", st.open_fds, st.mapped_buffers, st.buffers_allocated);
    unsigned sum = 0;
    for (uint32_t i = 0; i < 3; i++)
      for (size_t k = 0; k < s.len[i]; k++) sum += s.mem[i][k]; /* still readable (ASan would object) */
    HATCH_EXPECT(c, sum > 0, "mapped frames were filled");
    for (uint32_t i = 0; i < 3; i++) HATCH_EXPECT(c, s.ops->munmap(s.ops->ctx, s.mem[i], s.len[i]) == 0, "munmap");
    s.ops->close(s.ops->ctx, fd2);
  }
  fake_done(c, f);
}

/* ---- streaming ------------------------------------------------------------------------------ */

static void test_stream_mjpeg_200fps(hatch_test_ctx *c) {
  hatch_fake_v4l2 *f = fake_new(c);
  hatch_jpeg_decoder *dec = NULL;
  HATCH_EXPECT_OK(c, hatch_jpeg_decoder_create(NULL, &dec));
  stream s;
  uint8_t *rgb = malloc(320 * 240 * 3), *prev_rgb = malloc(320 * 240 * 3); /* (240, 320, 3) */
  if (!f || !dec || !rgb || !prev_rgb || !stream_open(c, f, CAM0, V4L2_PIX_FMT_MJPEG, 320, 240, 200, 4, true, &s)) goto out;
  int64_t start = now_us();
  HATCH_EXPECT(c, stream_on(&s) == 0, "STREAMON");
  int received = 0, punctual = 0, gaps = 0, decoded = 0;
  int64_t first_ts = 0;
  uint32_t first_seq = 0, last_seq = 0;
  for (int n = 0; n < 60; n++) {
    struct v4l2_buffer b;
    int err = next_frame(&s, 1000, &b);
    HATCH_EXPECT(c, err == 0, "frame %d: %d", n, err);
    if (err) break;
    int64_t now = now_us(), ts = tv_us(b.timestamp);
    HATCH_EXPECT(c, b.index < 4 && b.bytesused > 0 && b.bytesused <= s.len[b.index] && b.field == V4L2_FIELD_NONE,
                 "frame %d: index %u bytesused %u field %u", n, b.index, b.bytesused, b.field);
    HATCH_EXPECT(c, (b.flags & V4L2_BUF_FLAG_TIMESTAMP_MASK) == V4L2_BUF_FLAG_TIMESTAMP_MONOTONIC &&
                        !(b.flags & (V4L2_BUF_FLAG_ERROR | V4L2_BUF_FLAG_QUEUED | V4L2_BUF_FLAG_DONE)),
                 "frame %d flags %#x", n, b.flags);
    HATCH_EXPECT(c, ts <= now && now - ts < 200000, "frame %d: timestamp %lld us vs now %lld", n, (long long)ts,
                 (long long)now);
    punctual += now - ts < 5000;
    if (received == 0) {
      first_ts = ts, first_seq = b.sequence;
      HATCH_EXPECT(c, ts >= start && ts - start < 20000, "first frame due at STREAMON: %lld us late",
                   (long long)(ts - start));
    } else {
      HATCH_EXPECT(c, b.sequence > last_seq, "sequence %u after %u", b.sequence, last_seq);
      gaps += (int)(b.sequence - last_seq - 1);
    }
    /* exactly one frame period (5 ms) per sequence step */
    HATCH_EXPECT(c, ts - first_ts == (int64_t)(b.sequence - first_seq) * 5000, "seq %u: ts step %lld us", b.sequence,
                 (long long)(ts - first_ts));
    last_seq = b.sequence;
    const uint8_t *data = s.mem[b.index];
    int pool = hatch_fake_v4l2_pool_index(f, CAM0, data, b.bytesused);
    HATCH_EXPECT(c, pool == (int)(b.sequence % HATCH_FAKE_POOL_FRAMES), "seq %u: pool index %d", b.sequence, pool);
    HATCH_EXPECT(c, hatch_fake_v4l2_pool_index(f, CAM1, data, b.bytesused) == -1, "CAM1 has its own frames");
    if (n < 6) {
      hatch_decode_report rep;
      HATCH_EXPECT_OK(c, hatch_jpeg_validate(data, b.bytesused));
      hatch_status st = hatch_jpeg_decode_rgb(dec, data, b.bytesused, rgb, 320 * 240 * 3, &rep);
      HATCH_EXPECT(c, st == HATCH_OK && !rep.warning && rep.width == 320 && rep.height == 240, "decode: %s %s",
                   hatch_status_name(st), rep.message);
      if (decoded > 0)
        HATCH_EXPECT(c, mean_abs_diff(rgb, prev_rgb, 320 * 240 * 3) > 2.0, "consecutive frames look the same");
      memcpy(prev_rgb, rgb, 320 * 240 * 3);
      decoded++;
    }
    received++;
    HATCH_EXPECT(c, qbuf(&s, b.index) == 0, "requeue");
  }
  HATCH_EXPECT(c, first_seq == 0, "first sequence %u", first_seq);
  HATCH_EXPECT(c, punctual * 10 >= received * 7, "only %d of %d frames within 5 ms of their timestamp", punctual, received);
  HATCH_EXPECT(c, stream_off(&s) == 0, "STREAMOFF");
  int64_t elapsed = now_us() - start;
  hatch_fake_stats st = stats_of(c, f, CAM0);
  HATCH_EXPECT(c, st.frames_delivered >= (uint64_t)received && st.frames_dropped_fault == 0, "delivered %llu",
               (unsigned long long)st.frames_delivered);
  HATCH_EXPECT(c, st.frames_due == st.frames_delivered + st.frames_dropped_no_buffer, "due %llu != %llu + %llu",
               (unsigned long long)st.frames_due, (unsigned long long)st.frames_delivered,
               (unsigned long long)st.frames_dropped_no_buffer);
  HATCH_EXPECT(c, st.frames_due >= (uint64_t)last_seq + 1 && st.frames_due <= (uint64_t)(elapsed / 5000) + 2,
               "frames_due %llu for %lld us", (unsigned long long)st.frames_due, (long long)elapsed);
  HATCH_EXPECT(c, (uint64_t)gaps <= st.frames_dropped_no_buffer, "gaps %d > drops", gaps);
  stream_close(c, &s);
out:
  free(rgb);
  free(prev_rgb);
  hatch_jpeg_decoder_destroy(dec);
  if (f) fake_done(c, f);
}

/* Every format of one camera renders the same RGB pattern: RGB24 frames are the reference the
 * YUYV, NV12 (through the decode module's inverse BT.601) and MJPEG frames are compared with. */
static void test_stream_formats(hatch_test_ctx *c) {
  hatch_fake_v4l2 *f = fake_new(c);
  hatch_jpeg_decoder *dec = NULL;
  HATCH_EXPECT_OK(c, hatch_jpeg_decoder_create(NULL, &dec));
  enum { W = 160, H = 120, RGB_SIZE = W * H * 3 };
  uint8_t *ref[HATCH_FAKE_POOL_FRAMES] = {0}, *rgb = malloc(RGB_SIZE);
  uint32_t fmts[] = {V4L2_PIX_FMT_RGB24, V4L2_PIX_FMT_YUYV, V4L2_PIX_FMT_NV12, V4L2_PIX_FMT_MJPEG};
  uint32_t sizes[] = {RGB_SIZE, W * H * 2, W * H * 3 / 2, 0};
  double tol[] = {0, 3.0, 4.0, 6.0};
  for (int fi = 0; f && dec && rgb && fi < 4; fi++) {
    stream s;
    if (!stream_open(c, f, CAM0, fmts[fi], W, H, 200, 4, true, &s)) break;
    HATCH_EXPECT(c, stream_on(&s) == 0, "STREAMON");
    int compared = 0;
    for (int n = 0; n < 12; n++) {
      struct v4l2_buffer b;
      if (next_frame(&s, 1000, &b) != 0) {
        HATCH_EXPECT(c, false, "format %d: no frame", fi);
        break;
      }
      const uint8_t *data = s.mem[b.index];
      int p = hatch_fake_v4l2_pool_index(f, CAM0, data, b.bytesused);
      HATCH_EXPECT(c, p == (int)(b.sequence % HATCH_FAKE_POOL_FRAMES), "format %d seq %u pool %d", fi, b.sequence, p);
      if (sizes[fi]) HATCH_EXPECT(c, b.bytesused == sizes[fi], "format %d bytesused %u", fi, b.bytesused);
      hatch_status st = HATCH_OK;
      if (fmts[fi] == V4L2_PIX_FMT_RGB24) {
        if (p >= 0 && !ref[p] && (ref[p] = malloc(RGB_SIZE))) memcpy(ref[p], data, RGB_SIZE);
      } else if (fmts[fi] == V4L2_PIX_FMT_YUYV) {
        for (uint32_t k = 0; k < b.bytesused; k += 2)
          HATCH_EXPECT(c, data[k] >= 16 && data[k] <= 235 && data[k + 1] >= 16 && data[k + 1] <= 240,
                       "YUYV out of limited range at %u", k);
        st = hatch_yuyv_to_rgb(data, b.bytesused, W, H, s.pix.bytesperline, rgb, RGB_SIZE);
      } else if (fmts[fi] == V4L2_PIX_FMT_NV12) {
        st = hatch_nv12_to_rgb(data, b.bytesused, W, H, s.pix.bytesperline, rgb, RGB_SIZE);
      } else {
        hatch_decode_report rep;
        st = hatch_jpeg_decode_rgb(dec, data, b.bytesused, rgb, RGB_SIZE, &rep);
        HATCH_EXPECT(c, !rep.warning, "MJPEG warning: %s", rep.message);
      }
      HATCH_EXPECT(c, st == HATCH_OK, "format %d convert: %s", fi, hatch_status_name(st));
      if (fi > 0 && st == HATCH_OK && p >= 0 && ref[p]) {
        double err = mean_abs_diff(rgb, ref[p], RGB_SIZE);
        HATCH_EXPECT(c, err < tol[fi], "format %d pool %d: mean abs error %.2f vs RGB24", fi, p, err);
        int other = (p + 1) % HATCH_FAKE_POOL_FRAMES;
        if (ref[other])
          HATCH_EXPECT(c, mean_abs_diff(rgb, ref[other], RGB_SIZE) > tol[fi] * 2, "pool %d looks like pool %d", p, other);
        compared++;
      }
      HATCH_EXPECT(c, qbuf(&s, b.index) == 0, "requeue");
    }
    if (fi > 0) HATCH_EXPECT(c, compared >= 4, "format %d: only %d frames compared", fi, compared);
    stream_close(c, &s);
  }
  /* CAM1 (another seed) looks different */
  stream s1;
  if (f && rgb && stream_open(c, f, CAM1, V4L2_PIX_FMT_RGB24, W, H, 200, 2, true, &s1)) {
    struct v4l2_buffer b;
    HATCH_EXPECT(c, stream_on(&s1) == 0 && next_frame(&s1, 1000, &b) == 0, "CAM1 frame");
    int p = (int)(b.sequence % HATCH_FAKE_POOL_FRAMES);
    if (ref[p]) HATCH_EXPECT(c, mean_abs_diff(s1.mem[b.index], ref[p], RGB_SIZE) > 10, "seeds 1 and 2 look alike");
    stream_close(c, &s1);
  }
  for (int i = 0; i < HATCH_FAKE_POOL_FRAMES; i++) free(ref[i]);
  free(rgb);
  hatch_jpeg_decoder_destroy(dec);
  if (f) fake_done(c, f);
}

static void test_no_buffer_drops(hatch_test_ctx *c) {
  hatch_fake_v4l2 *f = fake_new(c);
  stream s;
  if (!f || !stream_open(c, f, CAM0, V4L2_PIX_FMT_YUYV, 160, 120, 200, 2, true, &s)) goto out;
  HATCH_EXPECT(c, stream_on(&s) == 0, "STREAMON");
  sleep_ms(100); /* ~20 frames due, 2 buffers */
  struct v4l2_buffer b;
  HATCH_EXPECT(c, dqbuf(&s, &b) == 0 && b.sequence == 0, "first: seq %u", b.sequence);
  HATCH_EXPECT(c, dqbuf(&s, &b) == 0 && b.sequence == 1, "second: seq %u", b.sequence);
  HATCH_EXPECT(c, dqbuf(&s, &b) == EAGAIN, "O_NONBLOCK with nothing ready -> EAGAIN");
  hatch_fake_stats st = stats_of(c, f, CAM0);
  HATCH_EXPECT(c, st.frames_delivered == 2 && st.frames_due >= 19 && st.frames_due <= 40 &&
                      st.frames_dropped_no_buffer == st.frames_due - 2,
               "due %llu delivered %llu dropped %llu", (unsigned long long)st.frames_due,
               (unsigned long long)st.frames_delivered, (unsigned long long)st.frames_dropped_no_buffer);
  HATCH_EXPECT(c, qbuf(&s, 0) == 0, "QBUF");
  HATCH_EXPECT(c, next_frame(&s, 1000, &b) == 0, "frame after the gap");
  /* the frames due meanwhile were dropped, not saved up: the buffer got a frame due after QBUF */
  hatch_fake_stats st2 = stats_of(c, f, CAM0);
  HATCH_EXPECT(c, b.sequence >= st.frames_due && st2.frames_delivered == 3 &&
                      st2.frames_dropped_no_buffer == st2.frames_due - 3,
               "seq %u after %llu due; now due %llu dropped %llu", b.sequence, (unsigned long long)st.frames_due,
               (unsigned long long)st2.frames_due, (unsigned long long)st2.frames_dropped_no_buffer);
  stream_close(c, &s);
out:
  if (f) fake_done(c, f);
}

/* ---- faults --------------------------------------------------------------------------------- */

static void test_fault_error_flag_and_drop(hatch_test_ctx *c) {
  hatch_fake_v4l2 *f = fake_new(c);
  stream s;
  hatch_fake_faults fl = {.error_flag_every = 3, .drop_every = 4};
  if (!f || !stream_open(c, f, CAM0, V4L2_PIX_FMT_YUYV, 160, 120, 200, 4, true, &s)) goto out;
  HATCH_EXPECT_OK(c, hatch_fake_v4l2_set_faults(f, CAM0, &fl));
  HATCH_EXPECT(c, stream_on(&s) == 0, "STREAMON");
  int flagged = 0, received = 0;
  uint32_t last = 0;
  while (received < 24) {
    struct v4l2_buffer b;
    if (next_frame(&s, 1000, &b) != 0) {
      HATCH_EXPECT(c, false, "no frame");
      break;
    }
    uint32_t k = b.sequence + 1; /* faults set before STREAMON: frame i is the (i+1)-th */
    HATCH_EXPECT(c, k % 4 != 0, "seq %u should have been dropped", b.sequence);
    HATCH_EXPECT(c, ((b.flags & V4L2_BUF_FLAG_ERROR) != 0) == (k % 3 == 0), "seq %u error flag %d", b.sequence,
                 (b.flags & V4L2_BUF_FLAG_ERROR) != 0);
    HATCH_EXPECT(c, hatch_fake_v4l2_pool_index(f, CAM0, s.mem[b.index], b.bytesused) >= 0, "flagged payload intact");
    flagged += (k % 3 == 0);
    last = b.sequence;
    received++;
    HATCH_EXPECT(c, qbuf(&s, b.index) == 0, "requeue");
  }
  HATCH_EXPECT(c, last >= 30, "24 frames with every 4th dropped reach seq %u >= 30", last);
  /* take every buffer back and wait: the frames due with nothing queued take the counting path */
  for (int i = 0; i < 4; i++) {
    struct v4l2_buffer b;
    HATCH_EXPECT(c, next_frame(&s, 1000, &b) == 0, "drain %d", i);
  }
  sleep_ms(60);
  hatch_fake_stats st = stats_of(c, f, CAM0);
  HATCH_EXPECT(c, st.frames_dropped_fault == st.frames_due / 4, "dropped_fault %llu of %llu due",
               (unsigned long long)st.frames_dropped_fault, (unsigned long long)st.frames_due);
  HATCH_EXPECT(c, st.frames_error_flagged >= (uint64_t)flagged && st.frames_error_flagged <= st.frames_due / 3,
               "error_flagged %llu, saw %d", (unsigned long long)st.frames_error_flagged, flagged);
  HATCH_EXPECT(c, st.frames_due == st.frames_delivered + st.frames_dropped_fault + st.frames_dropped_no_buffer,
               "due = delivered + dropped");
  stream_close(c, &s);
out:
  if (f) fake_done(c, f);
}

static void test_fault_corrupt_truncate(hatch_test_ctx *c) {
  hatch_fake_v4l2 *f = fake_new(c);
  hatch_jpeg_decoder *dec = NULL;
  HATCH_EXPECT_OK(c, hatch_jpeg_decoder_create(NULL, &dec));
  uint8_t *rgb = malloc(320 * 240 * 3);
  stream s;
  hatch_fake_faults fl = {.corrupt_every = 2, .truncate_every = 3};
  if (!f || !dec || !rgb || !stream_open(c, f, CAM0, V4L2_PIX_FMT_MJPEG, 320, 240, 1000, 4, true, &s)) goto out;
  HATCH_EXPECT_OK(c, hatch_fake_v4l2_set_faults(f, CAM0, &fl));
  HATCH_EXPECT(c, stream_on(&s) == 0, "STREAMON");
  int n_corrupt = 0, n_trunc = 0, n_clean = 0;
  for (int n = 0; n < 18; n++) {
    struct v4l2_buffer b;
    if (next_frame(&s, 1000, &b) != 0) {
      HATCH_EXPECT(c, false, "no frame");
      break;
    }
    const uint8_t *data = s.mem[b.index];
    uint32_t k = b.sequence + 1;
    hatch_decode_report rep;
    int pool = hatch_fake_v4l2_pool_index(f, CAM0, data, b.bytesused);
    if (k % 3 == 0) {
      HATCH_EXPECT(c, hatch_jpeg_validate(data, b.bytesused) == HATCH_ERR_CORRUPT, "seq %u truncated must fail validation",
                   b.sequence);
      HATCH_EXPECT(c, pool == -1 && b.bytesused < s.pix.sizeimage / 4, "truncated: pool %d bytesused %u", pool, b.bytesused);
      n_trunc++;
    } else if (k % 2 == 0) {
      HATCH_EXPECT_OK(c, hatch_jpeg_validate(data, b.bytesused));
      hatch_status st = hatch_jpeg_decode_rgb(dec, data, b.bytesused, rgb, 320 * 240 * 3, &rep);
      HATCH_EXPECT(c, st == HATCH_ERR_CORRUPT || (st == HATCH_OK && rep.warning), "seq %u corrupt decoded cleanly: %s",
                   b.sequence, hatch_status_name(st));
      HATCH_EXPECT(c, pool == -1, "corrupt payload matches pool %d", pool);
      n_corrupt++;
    } else {
      hatch_status st = hatch_jpeg_decode_rgb(dec, data, b.bytesused, rgb, 320 * 240 * 3, &rep);
      HATCH_EXPECT(c, st == HATCH_OK && !rep.warning, "seq %u clean frame: %s %s", b.sequence, hatch_status_name(st),
                   rep.message);
      HATCH_EXPECT(c, pool == (int)(b.sequence % HATCH_FAKE_POOL_FRAMES), "clean pool %d", pool);
      n_clean++;
    }
    HATCH_EXPECT(c, qbuf(&s, b.index) == 0, "requeue");
  }
  HATCH_EXPECT(c, n_corrupt >= 3 && n_trunc >= 3 && n_clean >= 3, "corrupt %d truncated %d clean %d", n_corrupt, n_trunc,
               n_clean);
  stream_close(c, &s);
  hatch_fake_stats st = stats_of(c, f, CAM0);
  HATCH_EXPECT(c, st.frames_corrupted >= (uint64_t)n_corrupt && st.frames_truncated >= (uint64_t)n_trunc,
               "stats corrupted %llu truncated %llu", (unsigned long long)st.frames_corrupted,
               (unsigned long long)st.frames_truncated);
  /* MJPEG only: a YUYV stream with the same faults is delivered intact */
  if (stream_open(c, f, CAM0, V4L2_PIX_FMT_YUYV, 160, 120, 1000, 2, true, &s)) {
    HATCH_EXPECT_OK(c, hatch_fake_v4l2_set_faults(f, CAM0, &(hatch_fake_faults){.corrupt_every = 1, .truncate_every = 1}));
    HATCH_EXPECT(c, stream_on(&s) == 0, "STREAMON");
    struct v4l2_buffer b;
    HATCH_EXPECT(c, next_frame(&s, 1000, &b) == 0 && b.bytesused == 160 * 120 * 2 &&
                        hatch_fake_v4l2_pool_index(f, CAM0, s.mem[b.index], b.bytesused) >= 0,
                 "YUYV untouched by MJPEG faults");
    stream_close(c, &s);
    hatch_fake_stats st2 = stats_of(c, f, CAM0);
    HATCH_EXPECT(c, st2.frames_corrupted == st.frames_corrupted && st2.frames_truncated == st.frames_truncated,
                 "YUYV counted as corrupted");
  }
out:
  free(rgb);
  hatch_jpeg_decoder_destroy(dec);
  if (f) fake_done(c, f);
}

static void test_fault_eio_eintr(hatch_test_ctx *c) {
  hatch_fake_v4l2 *f = fake_new(c);
  stream s;
  if (!f || !stream_open(c, f, CAM0, V4L2_PIX_FMT_YUYV, 160, 120, 200, 1, true, &s)) goto out;
  HATCH_EXPECT_OK(c, hatch_fake_v4l2_set_faults(f, CAM0, &(hatch_fake_faults){.eio_every = 2}));
  HATCH_EXPECT(c, stream_on(&s) == 0, "STREAMON");
  struct v4l2_buffer b;
  HATCH_EXPECT(c, next_frame(&s, 1000, &b) == 0 && b.index == 0, "DQBUF 1 succeeds");
  uint32_t seq1 = b.sequence;
  HATCH_EXPECT(c, qbuf(&s, 0) == 0, "QBUF");
  HATCH_EXPECT(c, next_frame(&s, 1000, &b) == EIO, "DQBUF 2 -> EIO");
  /* the only buffer went back to the driver: a later frame refills it without a QBUF */
  HATCH_EXPECT(c, next_frame(&s, 1000, &b) == 0 && b.index == 0 && b.sequence > seq1 + 1, "DQBUF 3 after EIO: seq %u",
               b.sequence);
  HATCH_EXPECT(c, qbuf(&s, 0) == 0, "QBUF");
  HATCH_EXPECT(c, next_frame(&s, 1000, &b) == EIO, "DQBUF 4 -> EIO");
  HATCH_EXPECT(c, stats_of(c, f, CAM0).dqbuf_eio == 2, "dqbuf_eio");
  stream_off(&s);

  HATCH_EXPECT_OK(c, hatch_fake_v4l2_set_faults(f, CAM0, &(hatch_fake_faults){.eintr_every = 3}));
  struct v4l2_capability cap;
  int results[6];
  for (int i = 0; i < 6; i++) results[i] = io(&s, VIDIOC_QUERYCAP, &cap);
  for (int i = 0; i < 6; i++)
    HATCH_EXPECT(c, results[i] == ((i + 1) % 3 == 0 ? EINTR : 0), "ioctl %d: %d", i + 1, results[i]);
  for (int i = 0; i < 6; i++)
    HATCH_EXPECT(c, hatch_v4l2_xioctl(s.ops, s.fd, VIDIOC_QUERYCAP, &cap) == 0, "xioctl retries EINTR");
  /* calls 3 and 6 above; then the xioctls make calls 7..14 with 9 and 12 failing and retried */
  HATCH_EXPECT(c, stats_of(c, f, CAM0).ioctl_eintr == 2 + 2, "ioctl_eintr %llu",
               (unsigned long long)stats_of(c, f, CAM0).ioctl_eintr);
  /* EINTR does nothing: an S_PARM that failed with EINTR left the rate alone */
  HATCH_EXPECT_OK(c, hatch_fake_v4l2_set_faults(f, CAM0, &(hatch_fake_faults){.eintr_every = 1}));
  struct v4l2_streamparm parm = {.type = V4L2_BUF_TYPE_VIDEO_CAPTURE};
  parm.parm.capture.timeperframe = (struct v4l2_fract){1, 30};
  HATCH_EXPECT(c, io(&s, VIDIOC_S_PARM, &parm) == EINTR, "S_PARM -> EINTR");
  HATCH_EXPECT_OK(c, hatch_fake_v4l2_set_faults(f, CAM0, NULL));
  parm = (struct v4l2_streamparm){.type = V4L2_BUF_TYPE_VIDEO_CAPTURE};
  HATCH_EXPECT(c, io(&s, VIDIOC_G_PARM, &parm) == 0 && parm.parm.capture.timeperframe.denominator == 200,
               "rate changed by an EINTR'd S_PARM: 1/%u", parm.parm.capture.timeperframe.denominator);
  stream_close(c, &s);
out:
  if (f) fake_done(c, f);
}

static void test_fault_slow(hatch_test_ctx *c) {
  hatch_fake_v4l2 *f = fake_new(c);
  stream s;
  if (!f || !stream_open(c, f, CAM0, V4L2_PIX_FMT_YUYV, 160, 120, 200, 4, true, &s)) goto out;
  HATCH_EXPECT_OK(c, hatch_fake_v4l2_set_faults(f, CAM0, &(hatch_fake_faults){.slow_every = 5, .slow_ms = 40}));
  HATCH_EXPECT(c, stream_on(&s) == 0, "STREAMON");
  int64_t ts0 = 0, prev_arrival = 0, max_wait = 0;
  for (int n = 0; n < 12; n++) {
    struct v4l2_buffer b;
    if (next_frame(&s, 1000, &b) != 0) {
      HATCH_EXPECT(c, false, "no frame");
      break;
    }
    int64_t ts = tv_us(b.timestamp), arrival = now_us();
    if (n == 0) ts0 = ts;
    /* frames 4 and 9 (the 5th and 10th) are 40 ms late and shift everything after them */
    int64_t want = (int64_t)b.sequence * 5000 + 40000 * (int64_t)((b.sequence + 1) / 5);
    HATCH_EXPECT(c, ts - ts0 == want, "seq %u: at %lld us, want %lld", b.sequence, (long long)(ts - ts0), (long long)want);
    HATCH_EXPECT(c, arrival >= ts, "delivered before its (late) due time");
    if (n > 0 && arrival - prev_arrival > max_wait) max_wait = arrival - prev_arrival;
    prev_arrival = arrival;
    HATCH_EXPECT(c, qbuf(&s, b.index) == 0, "requeue");
  }
  HATCH_EXPECT(c, max_wait >= 35000, "the slow frame did not make the consumer wait (%lld us)", (long long)max_wait);
  stream_close(c, &s);
out:
  if (f) fake_done(c, f);
}

static void test_fault_sequence_wrap_and_timestamp_unknown(hatch_test_ctx *c) {
  hatch_fake_v4l2 *f = fake_new(c);
  stream s;
  if (!f || !stream_open(c, f, CAM0, V4L2_PIX_FMT_YUYV, 160, 120, 1000, 4, true, &s)) goto out;
  HATCH_EXPECT_OK(c, hatch_fake_v4l2_set_faults(f, CAM0, &(hatch_fake_faults){.sequence_wrap = true}));
  HATCH_EXPECT(c, stream_on(&s) == 0, "STREAMON");
  struct v4l2_buffer b;
  HATCH_EXPECT(c, next_frame(&s, 1000, &b) == 0 && b.sequence == 0xffffff80u, "first sequence %#x", b.sequence);
  int64_t ts0 = tv_us(b.timestamp);
  for (int i = 1; i < 4; i++) {
    HATCH_EXPECT(c, next_frame(&s, 1000, &b) == 0 && b.sequence == 0xffffff80u + (uint32_t)i, "sequence %#x", b.sequence);
  }
  sleep_ms(140); /* > 128 frames at 1000 fps, all dropped (nothing queued) */
  for (uint32_t i = 0; i < 4; i++) qbuf(&s, i);
  HATCH_EXPECT(c, next_frame(&s, 1000, &b) == 0, "frame after the wrap");
  uint32_t steps = (uint32_t)((tv_us(b.timestamp) - ts0) / 1000);
  HATCH_EXPECT(c, b.sequence < 0x1000 && b.sequence == 0xffffff80u + steps && steps >= 128,
               "sequence %#x after %u frames: not wrapped", b.sequence, steps);
  HATCH_EXPECT(c, (b.flags & V4L2_BUF_FLAG_TIMESTAMP_MASK) == V4L2_BUF_FLAG_TIMESTAMP_MONOTONIC, "monotonic");
  stream_off(&s);
  HATCH_EXPECT_OK(c, hatch_fake_v4l2_set_faults(f, CAM0, &(hatch_fake_faults){.timestamp_unknown = true}));
  for (uint32_t i = 0; i < 4; i++) qbuf(&s, i);
  HATCH_EXPECT(c, stream_on(&s) == 0, "STREAMON");
  HATCH_EXPECT(c, next_frame(&s, 1000, &b) == 0 && b.sequence == 0, "faults cleared: sequence restarts at 0, got %#x",
               b.sequence);
  HATCH_EXPECT(c, (b.flags & V4L2_BUF_FLAG_TIMESTAMP_MASK) == V4L2_BUF_FLAG_TIMESTAMP_UNKNOWN &&
                      b.timestamp.tv_sec == 0 && b.timestamp.tv_usec == 0,
               "timestamp_unknown: flags %#x ts %lld", b.flags, (long long)tv_us(b.timestamp));
  stream_close(c, &s);
out:
  if (f) fake_done(c, f);
}

/* The one slow case: the 32-bit microsecond counter needs 2 s of stream to wrap. */
static void test_fault_timestamp_wrap(hatch_test_ctx *c) {
  hatch_fake_v4l2 *f = fake_new(c);
  stream s;
  if (!f || !stream_open(c, f, CAM0, V4L2_PIX_FMT_YUYV, 160, 120, 200, 2, true, &s)) goto out;
  HATCH_EXPECT_OK(c, hatch_fake_v4l2_set_faults(f, CAM0, &(hatch_fake_faults){.timestamp_wrap = true}));
  int64_t start = now_us();
  HATCH_EXPECT(c, stream_on(&s) == 0, "STREAMON");
  struct v4l2_buffer b;
  const int64_t wrap_start = 4294967296ll - 2000000;
  HATCH_EXPECT(c, next_frame(&s, 1000, &b) == 0 && tv_us(b.timestamp) == wrap_start && b.sequence == 0,
               "first timestamp %lld, want %lld", (long long)tv_us(b.timestamp), (long long)wrap_start);
  HATCH_EXPECT(c, next_frame(&s, 1000, &b) == 0 && tv_us(b.timestamp) == wrap_start + 5000 * (int64_t)b.sequence,
               "second timestamp");
  int64_t left = start + 2030000 - now_us();
  if (left > 0) sleep_ms((int)(left / 1000) + 1);
  qbuf(&s, 0);
  HATCH_EXPECT(c, next_frame(&s, 1000, &b) == 0, "frame after 2 s");
  int64_t ts = tv_us(b.timestamp);
  HATCH_EXPECT(c, b.sequence >= 400 && ts < 1000000 && ts == wrap_start + 5000 * (int64_t)b.sequence - 4294967296ll,
               "seq %u timestamp %lld: did not wrap", b.sequence, (long long)ts);
  stream_close(c, &s);
out:
  if (f) fake_done(c, f);
}

static void test_fault_enospc_enomem(hatch_test_ctx *c) {
  hatch_fake_v4l2 *f = fake_new(c);
  stream s;
  if (!f || !stream_open(c, f, CAM0, V4L2_PIX_FMT_MJPEG, 160, 120, 30, 2, true, &s)) goto out;
  HATCH_EXPECT_OK(c, hatch_fake_v4l2_set_faults(f, CAM0, &(hatch_fake_faults){.streamon_enospc = 2}));
  HATCH_EXPECT(c, stream_on(&s) == ENOSPC && stream_on(&s) == ENOSPC, "two STREAMONs -> ENOSPC");
  HATCH_EXPECT(c, !stats_of(c, f, CAM0).streaming, "not streaming after ENOSPC");
  HATCH_EXPECT(c, stream_on(&s) == 0, "third STREAMON works");
  HATCH_EXPECT(c, stats_of(c, f, CAM0).streamon_enospc == 2, "streamon_enospc");
  stream_off(&s);
  HATCH_EXPECT_OK(c, hatch_fake_v4l2_set_faults(f, CAM0, &(hatch_fake_faults){.streamon_enospc = -1}));
  for (int i = 0; i < 5; i++) HATCH_EXPECT(c, stream_on(&s) == ENOSPC, "-1: STREAMON %d -> ENOSPC", i);
  HATCH_EXPECT(c, stats_of(c, f, CAM0).streamon_enospc == 7, "streamon_enospc 7");
  for (uint32_t i = 0; i < s.n; i++) s.ops->munmap(s.ops->ctx, s.mem[i], s.len[i]);
  memset(s.mem, 0, sizeof(s.mem));
  HATCH_EXPECT_OK(c, hatch_fake_v4l2_set_faults(f, CAM0, &(hatch_fake_faults){.reqbufs_enomem = 1}));
  struct v4l2_requestbuffers rb = {.count = 0, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .memory = V4L2_MEMORY_MMAP};
  HATCH_EXPECT(c, io(&s, VIDIOC_REQBUFS, &rb) == 0, "REQBUFS 0 is not counted");
  rb.count = 3;
  HATCH_EXPECT(c, io(&s, VIDIOC_REQBUFS, &rb) == ENOMEM, "REQBUFS -> ENOMEM");
  HATCH_EXPECT(c, stats_of(c, f, CAM0).buffers_allocated == 0, "nothing allocated on ENOMEM");
  rb.count = 3;
  HATCH_EXPECT(c, io(&s, VIDIOC_REQBUFS, &rb) == 0 && rb.count == 3, "second REQBUFS works");
  s.n = 0;
  stream_close(c, &s);
out:
  if (f) fake_done(c, f);
}

/* ---- poll, unplug, replug ------------------------------------------------------------------- */

static void test_poll_semantics(hatch_test_ctx *c) {
  hatch_fake_v4l2 *f = fake_new(c);
  stream s;
  if (!f || !stream_open(c, f, CAM0, V4L2_PIX_FMT_YUYV, 160, 120, 30, 2, false, &s)) goto out;
  struct pollfd p[3] = {{.fd = s.fd, .events = POLLIN}, {.fd = 4242, .events = POLLIN}, {.fd = -1, .events = POLLIN}};
  HATCH_EXPECT(c, s.ops->poll(s.ops->ctx, p, 3, 0) == 2 && p[0].revents == POLLERR && p[1].revents == POLLNVAL &&
                      p[2].revents == 0,
               "not streaming -> POLLERR, unknown fd -> POLLNVAL, negative fd ignored: %#x %#x %#x", p[0].revents,
               p[1].revents, p[2].revents);
  HATCH_EXPECT(c, stream_on(&s) == 0, "STREAMON");
  int64_t t = now_us();
  HATCH_EXPECT(c, s.ops->poll(s.ops->ctx, p, 1, 0) == 0 && p[0].revents == 0, "timeout 0: nothing ready");
  HATCH_EXPECT(c, s.ops->poll(s.ops->ctx, p, 1, 40) == 0, "nothing queued: poll times out");
  int64_t waited = now_us() - t;
  HATCH_EXPECT(c, waited >= 39000 && waited < 500000, "poll(40 ms) took %lld us", (long long)waited);
  HATCH_EXPECT(c, qbuf(&s, 0) == 0, "QBUF");
  t = now_us();
  HATCH_EXPECT(c, s.ops->poll(s.ops->ctx, p, 1, -1) == 1 && (p[0].revents & POLLIN), "poll(-1) wakes for the frame");
  waited = now_us() - t;
  HATCH_EXPECT(c, waited < 100000, "at 30 fps the next frame took %lld us", (long long)waited);
  struct v4l2_buffer b;
  HATCH_EXPECT(c, dqbuf(&s, &b) == 0, "DQBUF");
  stream_close(c, &s);
out:
  if (f) fake_done(c, f);
}

typedef struct waiter {
  const hatch_v4l2_ops *ops;
  int fd;
  bool use_poll;
  int result, err;
  short revents;
  int64_t elapsed_us;
  atomic_bool done;
} waiter;

static void *waiter_run(void *arg) {
  waiter *w = arg;
  int64_t t = now_us();
  if (w->use_poll) {
    struct pollfd p = {.fd = w->fd, .events = POLLIN};
    w->result = w->ops->poll(w->ops->ctx, &p, 1, 3000);
    w->revents = p.revents;
  } else {
    struct v4l2_buffer b = {.type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .memory = V4L2_MEMORY_MMAP};
    w->result = w->ops->ioctl(w->ops->ctx, w->fd, VIDIOC_DQBUF, &b);
  }
  w->err = errno;
  w->elapsed_us = now_us() - t;
  atomic_store(&w->done, true);
  return NULL;
}

static void test_blocking_dqbuf_woken_by_qbuf(hatch_test_ctx *c) {
  hatch_fake_v4l2 *f = fake_new(c);
  stream s;
  if (!f || !stream_open(c, f, CAM0, V4L2_PIX_FMT_YUYV, 160, 120, 200, 2, false, &s)) goto out;
  int fd = s.ops->open(s.ops->ctx, CAM0, O_RDWR); /* blocking, but not the queue's owner */
  HATCH_EXPECT(c, stream_on(&s) == 0, "STREAMON");
  waiter w = {.ops = s.ops, .fd = fd};
  pthread_t th;
  waiter_run(&w);
  HATCH_EXPECT(c, w.result == -1 && w.err == EBUSY, "DQBUF from a non-owner -> EBUSY");
  s.ops->close(s.ops->ctx, fd);
  stream_close(c, &s);
  /* a blocking owner (no O_NONBLOCK); the format stays what the last S_FMT set */
  stream bl = {.ops = s.ops};
  bl.fd = bl.ops->open(bl.ops->ctx, CAM0, O_RDWR);
  struct v4l2_requestbuffers rb = {.count = 1, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .memory = V4L2_MEMORY_MMAP};
  HATCH_EXPECT(c, io(&bl, VIDIOC_REQBUFS, &rb) == 0 && stream_on(&bl) == 0, "REQBUFS + STREAMON");
  w = (waiter){.ops = bl.ops, .fd = bl.fd};
  if (pthread_create(&th, NULL, waiter_run, &w) == 0) {
    sleep_ms(30); /* the waiter blocks with no buffer queued */
    HATCH_EXPECT(c, qbuf(&bl, 0) == 0, "QBUF from another thread");
    pthread_join(th, NULL);
    HATCH_EXPECT(c, w.result == 0 && w.elapsed_us >= 25000 && w.elapsed_us < 500000, "blocked DQBUF: %d after %lld us",
                 w.result, (long long)w.elapsed_us);
  }
  /* STREAMOFF from another thread ends a blocked DQBUF with EINVAL */
  w = (waiter){.ops = bl.ops, .fd = bl.fd};
  if (pthread_create(&th, NULL, waiter_run, &w) == 0) {
    sleep_ms(20);
    HATCH_EXPECT(c, stream_off(&bl) == 0, "STREAMOFF");
    pthread_join(th, NULL);
    HATCH_EXPECT(c, w.result == -1 && w.err == EINVAL, "DQBUF after STREAMOFF: %d errno %d", w.result, w.err);
  }
  bl.ops->close(bl.ops->ctx, bl.fd);
out:
  if (f) fake_done(c, f);
}

static void test_disconnect_reconnect(hatch_test_ctx *c) {
  hatch_fake_v4l2 *f = fake_new(c);
  const hatch_v4l2_ops *ops = f ? hatch_fake_v4l2_ops(f) : NULL;
  stream s;
  if (!f || !stream_open(c, f, CAM0, V4L2_PIX_FMT_MJPEG, 320, 240, 200, 2, true, &s)) goto out;
  /* a blocking fd that owns the queue, for the blocked DQBUF */
  int blocking = ops->open(ops->ctx, CAM1, O_RDWR);
  stream s1 = {.ops = ops, .fd = blocking};
  struct v4l2_requestbuffers rb = {.count = 1, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .memory = V4L2_MEMORY_MMAP};
  HATCH_EXPECT(c, io(&s1, VIDIOC_REQBUFS, &rb) == 0 && stream_on(&s1) == 0, "CAM1 streaming, nothing queued");
  int spare = ops->open(ops->ctx, CAM0, O_RDWR); /* left open across the replug */
  HATCH_EXPECT(c, stream_on(&s) == 0, "STREAMON");
  struct v4l2_buffer b;
  HATCH_EXPECT(c, next_frame(&s, 1000, &b) == 0 && next_frame(&s, 1000, &b) == 0, "two frames");
  /* nothing queued now: a poll on CAM0 sleeps until the unplug */
  waiter wp = {.ops = ops, .fd = s.fd, .use_poll = true}, wd = {.ops = ops, .fd = blocking};
  pthread_t tp, td;
  bool started_p = pthread_create(&tp, NULL, waiter_run, &wp) == 0;
  bool started_d = pthread_create(&td, NULL, waiter_run, &wd) == 0;
  sleep_ms(50);
  HATCH_EXPECT_OK(c, hatch_fake_v4l2_disconnect(f, CAM0));
  HATCH_EXPECT_OK(c, hatch_fake_v4l2_disconnect(f, CAM1));
  if (started_p) pthread_join(tp, NULL); /* (its 3 s timeout bounds the wait) */
  HATCH_EXPECT(c, wp.result == 1 && wp.revents == (POLLERR | POLLHUP) && wp.elapsed_us < 1000000,
               "poll woken by the unplug: %d revents %#x after %lld us", wp.result, wp.revents, (long long)wp.elapsed_us);
  struct v4l2_capability cap;
  HATCH_EXPECT(c, io(&s, VIDIOC_QUERYCAP, &cap) == ENODEV, "QUERYCAP after unplug");
  HATCH_EXPECT(c, qbuf(&s, 0) == ENODEV, "QBUF after unplug");
  HATCH_EXPECT(c, ops->mmap(ops->ctx, s.len[0], PROT_READ, MAP_SHARED, s.fd, 0) == MAP_FAILED && errno == ENODEV,
               "mmap after unplug");
  HATCH_EXPECT(c, ops->open(ops->ctx, CAM0, O_RDWR) == -1 && errno == ENOENT, "open after unplug");
  struct pollfd p = {.fd = s.fd, .events = POLLIN};
  HATCH_EXPECT(c, ops->poll(ops->ctx, &p, 1, 1000) == 1 && p.revents == (POLLERR | POLLHUP), "poll on a dead fd");
  hatch_fake_stats st = stats_of(c, f, CAM0);
  HATCH_EXPECT(c, !st.streaming && st.buffers_allocated == 0 && st.mapped_buffers == 2 && st.open_fds == 2,
               "after unplug: streaming %d bufs %d maps %d fds %d", st.streaming, st.buffers_allocated, st.mapped_buffers,
               st.open_fds);
  /* the mappings still hold the last frames */
  HATCH_EXPECT(c, hatch_jpeg_validate(s.mem[b.index], b.bytesused) == HATCH_OK, "mapping readable after unplug");
  stream_close(c, &s); /* munmap + close on a dead fd succeed */
  for (int i = 0; i < 1000 && started_d && !atomic_load(&wd.done); i++) sleep_ms(1);
  HATCH_EXPECT(c, ops->close(ops->ctx, blocking) == 0, "close dead CAM1 fd");
  /* joined only now: if the unplug failed to wake it, the closes above did, and elapsed says so */
  if (started_d) pthread_join(td, NULL);
  HATCH_EXPECT(c, wd.result == -1 && (wd.err == ENODEV || wd.err == EBADF) && wd.elapsed_us < 1000000,
               "blocked DQBUF woken by the unplug: %d errno %d after %lld us", wd.result, wd.err, (long long)wd.elapsed_us);
  HATCH_EXPECT(c, wd.err == ENODEV, "blocked DQBUF: errno %d, want ENODEV", wd.err);
  HATCH_EXPECT_OK(c, hatch_fake_v4l2_reconnect(f, CAM0));
  HATCH_EXPECT(c, io(&(stream){.ops = ops, .fd = spare}, VIDIOC_QUERYCAP, &cap) == ENODEV, "old fd stays dead");
  stream s2 = {.ops = ops, .fd = ops->open(ops->ctx, CAM0, O_RDWR | O_NONBLOCK)};
  HATCH_EXPECT(c, s2.fd > spare, "fresh fd %d", s2.fd);
  struct v4l2_format g = {.type = V4L2_BUF_TYPE_VIDEO_CAPTURE};
  HATCH_EXPECT(c, io(&s2, VIDIOC_G_FMT, &g) == 0 && g.fmt.pix.width == 160 && g.fmt.pix.pixelformat == V4L2_PIX_FMT_MJPEG,
               "fresh state after replug: %ux%u", g.fmt.pix.width, g.fmt.pix.height);
  ops->close(ops->ctx, s2.fd);
  if (stream_open(c, f, CAM0, V4L2_PIX_FMT_YUYV, 320, 240, 200, 2, true, &s2)) {
    HATCH_EXPECT(c, stream_on(&s2) == 0 && next_frame(&s2, 1000, &b) == 0 && b.sequence == 0, "streams again");
    stream_close(c, &s2);
  }
  HATCH_EXPECT(c, ops->close(ops->ctx, spare) == 0, "close the old fd");
  HATCH_EXPECT(c, hatch_fake_v4l2_reconnect(f, CAM1) == HATCH_OK, "replug CAM1");
out:
  if (f) fake_done(c, f);
}

int main(int argc, char **argv) {
  const hatch_test_case cases[] = {
      {"config_errors", test_config_errors, false},
      {"enumerate", test_enumerate, false},
      {"format_snapping", test_format_snapping, false},
      {"buffers_and_busy", test_buffers_and_busy, false},
      {"close_owner_keeps_mappings", test_close_owner_keeps_mappings, false},
      {"stream_mjpeg_200fps", test_stream_mjpeg_200fps, false},
      {"stream_formats", test_stream_formats, false},
      {"no_buffer_drops", test_no_buffer_drops, false},
      {"fault_error_flag_and_drop", test_fault_error_flag_and_drop, false},
      {"fault_corrupt_truncate", test_fault_corrupt_truncate, false},
      {"fault_eio_eintr", test_fault_eio_eintr, false},
      {"fault_slow", test_fault_slow, false},
      {"fault_sequence_wrap_and_timestamp_unknown", test_fault_sequence_wrap_and_timestamp_unknown, false},
      {"fault_timestamp_wrap", test_fault_timestamp_wrap, false},
      {"fault_enospc_enomem", test_fault_enospc_enomem, false},
      {"poll_semantics", test_poll_semantics, false},
      {"blocking_dqbuf_woken_by_qbuf", test_blocking_dqbuf_woken_by_qbuf, false},
      {"disconnect_reconnect", test_disconnect_reconnect, false},
  };
  return hatch_test_main(argc, argv, cases, (int)(sizeof(cases) / sizeof(cases[0])));
}
