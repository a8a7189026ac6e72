/* Internals of the fake V4L2 device (hatch/v4l2_fake.h), shared by the files of drivers/fake:
 *   fake_device.c  the set, cameras, fds, mappings, poll, stats, faults (the public API)
 *   fake_stream.c  the frame clock (catch-up) and the buffer ioctls (REQBUFS .. STREAMOFF)
 *   fake_format.c  the ioctl dispatch, QUERYCAP, enumeration, G/S/TRY_FMT, G/S_PARM
 *   fake_frames.c  the test-pattern pool: rendering, YUV conversion, TurboJPEG, corruption
 * Everything here runs with the set's mutex held unless it says otherwise. */
#ifndef HATCH_FAKE_INTERNAL_H
#define HATCH_FAKE_INTERNAL_H

#include <linux/videodev2.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hatch/v4l2_fake.h"

#define FAKE_FD_BASE 1000      /* the fake's fds: 1000, 1001, ... never reused, never kernel fds */
#define FAKE_MAX_BUFFERS 64    /* VIDEO_MAX_FRAME of current kernels; max_buffers above -> invalid */
#define FAKE_MAX_DIM 8192      /* largest width/height a config may offer */
#define FAKE_PAGE 4096u        /* buffer lengths and mmap offsets are multiples of this */

/* ---- frames (fake_frames.c) ---------------------------------------------------------------- */

typedef struct fake_pool {
  uint32_t pixfmt;
  int width, height;
  uint8_t *data[HATCH_FAKE_POOL_FRAMES]; /* (size[i]) payload bytes as DQBUF delivers them */
  size_t size[HATCH_FAKE_POOL_FRAMES];
  size_t sos_end[HATCH_FAKE_POOL_FRAMES]; /* MJPEG: first byte of entropy-coded data; 0 otherwise */
} fake_pool;

bool fake_format_known(uint32_t pixfmt);
/* V4L2 bytesperline / sizeimage of a frame (MJPEG: bytesperline 0, sizeimage an upper bound). */
void fake_format_sizes(uint32_t pixfmt, int width, int height, uint32_t *bytesperline, uint32_t *sizeimage);
/* Renders the HATCH_FAKE_POOL_FRAMES test patterns in pixfmt. Called WITHOUT the mutex (it takes
 * milliseconds). HATCH_ERR_OUT_OF_MEMORY, HATCH_ERR_TOO_LARGE (a JPEG over sizeimage). */
hatch_status fake_pool_render(fake_pool *out, uint32_t pixfmt, int width, int height, uint32_t seed,
                              hatch_fake_pattern pattern);
void fake_pool_free(fake_pool *pool); /* NULL-safe; leaves *pool zeroed */
/* Overwrites a run of bytes in the middle of the entropy-coded data [sos_end, size - 2) with garbage
 * containing a restart marker, so the decoder must warn or fail; SOI and EOI stay. */
void fake_payload_corrupt(uint8_t *data, size_t size, size_t sos_end, uint32_t salt);

/* ---- device state -------------------------------------------------------------------------- */

/* Buffer memory: owned by the queue (one ref) and by each mapping (one ref each), so mappings stay
 * readable after REQBUFS(0) by close, or a disconnect, until munmap, as with the kernel. */
typedef struct fake_mem {
  uint8_t *data; /* (length) bytes, page aligned */
  size_t length;
  int refs;
} fake_mem;

typedef enum fake_buf_state {
  FAKE_BUF_USER,   /* dequeued: the application owns it */
  FAKE_BUF_QUEUED, /* waiting for a frame */
  FAKE_BUF_DONE,   /* filled, waiting for DQBUF */
} fake_buf_state;

typedef struct fake_buffer {
  fake_mem *mem;
  uint32_t offset; /* mmap offset: index * length */
  fake_buf_state state;
  uint32_t bytesused, flags, sequence;
  struct timeval timestamp;
} fake_buffer;

typedef struct fake_camera {
  /* config (immutable after add) */
  int index;
  char *path, *card;
  uint32_t formats[HATCH_FAKE_MAX_FORMATS];
  int n_formats;
  hatch_fake_size sizes[HATCH_FAKE_MAX_SIZES];
  int n_sizes;
  int rates[HATCH_FAKE_MAX_RATES];
  int n_rates;
  int max_buffers;
  uint32_t seed;
  hatch_fake_pattern pattern;
  bool phase_locked; /* frames due on the grid k / fps + phase_ns (hatch_fake_camera_config) */
  int64_t phase_ns;

  bool connected;
  uint32_t generation; /* bumped by disconnect: fds of an older generation are dead */

  /* device state (reset on disconnect) */
  int fmt_index, size_index, rate_index;
  uint32_t fmt_gen; /* bumped by S_FMT; the pool is rendered for one generation */
  fake_pool pool;
  bool pool_valid;
  int owner_fd; /* the fd whose REQBUFS allocated the buffers; 0 = none */
  fake_buffer bufs[FAKE_MAX_BUFFERS];
  int n_buffers;
  size_t buf_length;
  int queued[FAKE_MAX_BUFFERS], n_queued; /* FIFO of buffer indices waiting for a frame */
  int done[FAKE_MAX_BUFFERS], n_done;     /* FIFO of filled buffer indices */

  /* stream (set at STREAMON) */
  bool streaming;
  int64_t t0_ns;        /* CLOCK_MONOTONIC at STREAMON: frame i is due at t0 + i * period + shift */
  int fps;
  uint64_t next_frame;  /* stream index of the next frame to become due */
  int64_t shift_ns;     /* accumulated slow_ms delays */
  uint64_t slow_frame;  /* stream index whose slow delay was applied (UINT64_MAX: none) */
  uint32_t seq_base;
  bool ts_wrap, ts_unknown;

  /* faults */
  hatch_fake_faults faults;
  uint64_t fault_frames, fault_dqbufs, fault_ioctls; /* counted since set_faults */
  int enospc_left, enomem_left;

  hatch_fake_stats stats; /* counters only; the gauges are computed in stats_get */
} fake_camera;

typedef struct fake_fd {
  int fd;
  int cam;
  uint32_t generation;
  bool nonblock;
} fake_fd;

typedef struct fake_map {
  uint8_t *addr;
  size_t length;
  fake_mem *mem;
  int cam;
} fake_map;

struct hatch_fake_v4l2 {
  pthread_mutex_t mu;
  pthread_cond_t cv; /* CLOCK_MONOTONIC; broadcast on every change a waiter may care about */
  hatch_v4l2_ops ops;
  fake_camera *cams[HATCH_FAKE_MAX_CAMERAS];
  int n_cams;
  fake_fd *fds;
  int n_fds, cap_fds, next_fd;
  fake_map *maps;
  int n_maps, cap_maps;
};

/* ---- shared helpers ------------------------------------------------------------------------ */

int64_t fake_now_ns(void);
/* Waits on the set's condvar until woken or until deadline_ns (CLOCK_MONOTONIC; < 0 = no deadline). */
void fake_wait(hatch_fake_v4l2 *f, int64_t deadline_ns);

/* fd -> entry; NULL when unknown. fake_fd_check: 0, EBADF (unknown) or ENODEV (camera unplugged
 * since open), and the camera. */
fake_fd *fake_fd_find(hatch_fake_v4l2 *f, int fd);
int fake_fd_check(hatch_fake_v4l2 *f, int fd, fake_fd **entry, fake_camera **cam);

void fake_mem_unref(fake_mem *mem); /* frees at zero refs */

/* fake_stream.c */
/* Produces every frame due by now_ns: fills the oldest queued buffer or drops it. Broadcasts when
 * a buffer was filled. Cheap when nothing is due. */
void fake_catch_up(hatch_fake_v4l2 *f, fake_camera *c, int64_t now_ns);
/* Due time of the next frame; INT64_MAX when not streaming. */
int64_t fake_next_due_ns(const fake_camera *c);
/* Stops the stream and returns every buffer to the application (STREAMOFF). */
void fake_stream_off(hatch_fake_v4l2 *f, fake_camera *c);
/* Frees the buffers (the queue's references; mappings keep theirs) and clears the owner. */
void fake_buffers_release(fake_camera *c);
/* The buffer ioctls; each returns 0 or an errno value. May drop and retake the mutex (REQBUFS
 * renders the pool, DQBUF waits): they revalidate fd themselves. */
int fake_ioctl_reqbufs(hatch_fake_v4l2 *f, int fd, struct v4l2_requestbuffers *rb);
int fake_ioctl_querybuf(hatch_fake_v4l2 *f, fake_camera *c, struct v4l2_buffer *b);
int fake_ioctl_qbuf(hatch_fake_v4l2 *f, fake_camera *c, int fd, struct v4l2_buffer *b);
int fake_ioctl_dqbuf(hatch_fake_v4l2 *f, int fd, struct v4l2_buffer *b);
int fake_ioctl_streamon(hatch_fake_v4l2 *f, fake_camera *c, int fd, const int *type);
int fake_ioctl_streamoff(hatch_fake_v4l2 *f, fake_camera *c, int fd, const int *type);

/* fake_format.c */
void fake_device_reset(fake_camera *c); /* default format, no pool, no buffers, not streaming */
int fake_ioctl(void *ctx, int fd, unsigned long request, void *arg); /* the ops entry point */

#endif
