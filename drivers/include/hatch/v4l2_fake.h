/* A fake V4L2 device set for tests and benchmarks, served through a hatch_v4l2_ops table so the real
 * capture code runs unchanged against it (Chromium's FakeV4L2Impl is the public model).
 *
 * Semantics follow the kernel's: QUERYCAP, ENUM_FMT, ENUM_FRAMESIZES, ENUM_FRAMEINTERVALS,
 * G/S/TRY_FMT, G/S_PARM, REQBUFS (V4L2_MEMORY_MMAP only; count 0 frees), QUERYBUF, QBUF, DQBUF
 * (blocking, or EAGAIN with O_NONBLOCK), STREAMON/STREAMOFF; anything else -> ENOTTY. Frames come
 * from CLOCK_MONOTONIC: frame i of a stream is due at STREAMON time + i * frame period. A due frame
 * fills the oldest queued buffer (bytesused, sequence, V4L2_BUF_FLAG_TIMESTAMP_MONOTONIC timestamp
 * = due time); when no buffer is queued the frame is dropped, as a real driver does, and the
 * sequence number still advances. poll() reports POLLIN when a filled buffer can be dequeued,
 * POLLERR when the camera is not streaming (as videobuf2 does), POLLERR|POLLHUP once the device is
 * disconnected, POLLNVAL for an fd not from this set, and sleeps up to its timeout otherwise (a
 * frame, QBUF, STREAMOFF, close or disconnect from another thread wakes it; it never spins).
 *
 * fds are the fake's own integers (1000, 1001, ..., never reused), not kernel fds. Every fd of a
 * camera shares its one device state (format, rate, buffers), as with the kernel: the fd whose
 * REQBUFS allocated the buffers owns the queue (REQBUFS/QBUF/DQBUF/STREAMON/STREAMOFF from another
 * fd -> EBUSY) and its close stops the stream and frees the buffers; mappings stay valid until
 * munmap. S_FMT while buffers are allocated, REQBUFS while streaming or while buffers are mapped,
 * S_PARM while streaming -> EBUSY.
 *
 * Frame content: a pool of HATCH_FAKE_POOL_FRAMES distinct test-pattern frames per stream, rendered
 * (and, for MJPEG, compressed with TurboJPEG at quality 85, 4:2:2) by the first REQBUFS after the
 * format changed (without holding the set's mutex), so DQBUF costs one memcpy and never an encode.
 * Frame i uses pool entry i % pool size. Every format renders the same RGB pattern (per seed and
 * index): YUYV / NV12 through BT.601 limited range, RGB24 as is. MJPEG sizeimage is
 * w * h * 3 / 2 + 4096, an upper bound like UVC's dwMaxVideoFrameSize.
 *
 * Thread safety: every call may come from any thread (one mutex per fake set). */
#ifndef HATCH_V4L2_FAKE_H
#define HATCH_V4L2_FAKE_H

#include <stdbool.h>
#include <stdint.h>

#include "hatch/status.h"
#include "hatch/v4l2_ops.h"

#define HATCH_FAKE_MAX_CAMERAS 16
#define HATCH_FAKE_POOL_FRAMES 8
#define HATCH_FAKE_MAX_FORMATS 4
#define HATCH_FAKE_MAX_SIZES 8
#define HATCH_FAKE_MAX_RATES 4

typedef struct hatch_fake_size {
  int width, height;
} hatch_fake_size;

typedef enum hatch_fake_pattern {
  HATCH_FAKE_PATTERN_BARS = 0, /* gradients, a checker and a moving block: cheap, compresses very well */
  HATCH_FAKE_PATTERN_SCENE,    /* camera-like: textured walls/floor, objects, sensor noise; JPEGs as busy
                                  as real indoor frames (for decode benchmarks) */
} hatch_fake_pattern;

/* The SCENE pattern: (h, w, 3) RGB8; `index` moves the objects. The fake renders index 0 once per
 * stream format and pans it (w / 32 pixels per pool frame) for the rest of its pool. */
void hatch_fake_render_scene(uint8_t *rgb, int w, int h, uint32_t seed, int index);

typedef struct hatch_fake_camera_config {
  const char *path;                               /* what open() answers to, e.g. "/dev/video0"; copied */
  const char *card;                               /* QUERYCAP card name; copied; NULL -> "hatch fake camera" */
  uint32_t formats[HATCH_FAKE_MAX_FORMATS];       /* V4L2_PIX_FMT_MJPEG / YUYV / NV12 / RGB24, ENUM_FMT order */
  int n_formats;                                  /* 0 -> {MJPEG, YUYV} */
  hatch_fake_size sizes[HATCH_FAKE_MAX_SIZES];    /* discrete sizes offered for every format */
  int n_sizes;                                    /* 0 -> {640x480, 1280x720} */
  int rates[HATCH_FAKE_MAX_RATES];                /* frames per second offered for every size */
  int n_rates;                                    /* 0 -> {30, 15} */
  int max_buffers;                                /* REQBUFS clamps count to this; 0 -> 32 */
  uint32_t seed;                                  /* test pattern seed (cameras look different) */
  hatch_fake_pattern pattern;                     /* default BARS */
  bool phase_locked;                              /* false: frame i is due at STREAMON + i / fps; true: frames
                                                     are due at k / fps + phase_ns on CLOCK_MONOTONIC, so
                                                     cameras of one rate keep a fixed offset (free-running
                                                     cameras out of step by a chosen amount) */
  int64_t phase_ns;                               /* 0 <= phase_ns < 1 s */
} hatch_fake_camera_config;

/* Faults, in the spirit of what vivid injects. All counters are per stream frame index or per
 * call, counted from the moment the faults are set; 0 / false = off. */
typedef struct hatch_fake_faults {
  int error_flag_every;   /* every Nth frame is delivered with V4L2_BUF_FLAG_ERROR set */
  int drop_every;         /* every Nth frame is dropped by the "driver" (sequence gap, no buffer used) */
  int corrupt_every;      /* every Nth MJPEG payload has bytes of its entropy-coded data overwritten
                             (FF D8 / FF D9 kept: passes the cheap validation, fails or warns in decode) */
  int truncate_every;     /* every Nth MJPEG payload is cut to a third (no EOI marker) */
  int eio_every;          /* every Nth DQBUF that has a filled buffer to return fails with EIO
                             instead; that buffer goes back to the driver's queue (a later frame
                             refills it, no QBUF needed) */
  int eintr_every;        /* every Nth ioctl call fails with EINTR having done nothing */
  int slow_every;         /* every Nth frame is due slow_ms late (later frames shift with it) */
  int slow_ms;
  /* The next three are read at STREAMON: they apply to every stream started while they are set
   * (not to one already running). */
  bool sequence_wrap;     /* the stream's sequence starts at 0xffffff80 (wraps after 128 frames) */
  bool timestamp_wrap;    /* timestamps start 2 s below 2^32 us on a 32-bit microsecond counter and
                             wrap to ~0 (they jump backwards once); still flagged MONOTONIC */
  bool timestamp_unknown; /* buffers flagged V4L2_BUF_FLAG_TIMESTAMP_UNKNOWN with zero timestamps */
  int streamon_enospc;    /* the next N STREAMON calls fail with ENOSPC; -1 = every call */
  int reqbufs_enomem;     /* the next N REQBUFS calls with count > 0 fail with ENOMEM (buffers
                             allocated before are freed first, as videobuf2 does) */
} hatch_fake_faults;

/* What the fake did, for tests to check the capture code's counters against. */
typedef struct hatch_fake_stats {
  uint64_t frames_due;        /* frames whose due time passed while streaming */
  uint64_t frames_delivered;  /* frames written into a buffer (incl. error-flagged/corrupt/truncated) */
  uint64_t frames_dropped_no_buffer; /* due but no buffer queued */
  uint64_t frames_dropped_fault;     /* drop_every */
  uint64_t frames_error_flagged, frames_corrupted, frames_truncated;
  uint64_t dqbuf_eio, ioctl_eintr, streamon_enospc;
  int open_fds;               /* fds open right now on this camera (dead ones until closed) */
  int mapped_buffers;         /* mmaps not yet unmapped */
  int buffers_allocated;      /* after REQBUFS */
  bool streaming;
} hatch_fake_stats;

typedef struct hatch_fake_v4l2 hatch_fake_v4l2;

/* An empty set; add cameras with hatch_fake_v4l2_add. */
hatch_status hatch_fake_v4l2_create(hatch_fake_v4l2 **out);
/* NULL-safe. Every fd must be closed and every mapping unmapped first (tests check this through
 * stats; destroy frees regardless). */
void hatch_fake_v4l2_destroy(hatch_fake_v4l2 *fake);

/* Adds a camera (config copied). Errors: HATCH_ERR_INVALID_ARGUMENT (bad config: NULL or empty path,
 * duplicate path, sizes <= 0, odd or > 8192, unknown format, rate <= 0 or > 100000, counts outside
 * 0..HATCH_FAKE_MAX_*, max_buffers outside 0..64), HATCH_ERR_TOO_LARGE (more than
 * HATCH_FAKE_MAX_CAMERAS), HATCH_ERR_OUT_OF_MEMORY. */
hatch_status hatch_fake_v4l2_add(hatch_fake_v4l2 *fake, const hatch_fake_camera_config *config);

/* The ops table over this set: valid until destroy. */
const hatch_v4l2_ops *hatch_fake_v4l2_ops(hatch_fake_v4l2 *fake);

/* Faults for the camera at path (replacing the previous ones and restarting their counters; NULL =
 * none). HATCH_ERR_NOT_FOUND: no such path. */
hatch_status hatch_fake_v4l2_set_faults(hatch_fake_v4l2 *fake, const char *path, const hatch_fake_faults *faults);

/* Unplug: every open fd on that camera fails from now on with ENODEV (ioctl, mmap), poll reports
 * POLLERR|POLLHUP, open() fails with ENOENT, blocked DQBUF and poll callers wake up; close() on a
 * dead fd succeeds; existing mappings stay readable until munmap, as with the kernel. Reconnect:
 * open() works again with a fresh device state (default format, no buffers; the old fds stay dead,
 * close them). Faults and stats are kept across the replug. Both are no-ops when already done. */
hatch_status hatch_fake_v4l2_disconnect(hatch_fake_v4l2 *fake, const char *path);
hatch_status hatch_fake_v4l2_reconnect(hatch_fake_v4l2 *fake, const char *path);

hatch_status hatch_fake_v4l2_stats_get(hatch_fake_v4l2 *fake, const char *path, hatch_fake_stats *out);

/* The pool frame a payload came from, for tests: returns the pool index (0..POOL-1) whose bytes equal
 * data[0..size), or -1. Only for the camera's current stream format. */
int hatch_fake_v4l2_pool_index(hatch_fake_v4l2 *fake, const char *path, const uint8_t *data, size_t size);

#endif
