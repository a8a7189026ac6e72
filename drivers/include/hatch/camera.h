/* Cameras: frame sources by URI, reference-counted frames, and synchronized multi-camera frame sets.
 *
 * A hatch_rig opens N cameras from URIs (as jetson-inference users write them):
 *   v4l2:///dev/video0?width=640&height=480&fps=30&format=mjpeg   a V4L2 camera through libv4l2
 *   /dev/video0                                                    the same, shorthand
 *   fake://NAME?width=..&height=..&fps=..&format=..&faults=...     the fake V4L2 device (tests, demos)
 *   file:///path/dir?fps=30&loop=1&pace=realtime|fast              a directory of JPEG/PNG frames, or a
 *                                                                  `hatch capture` directory (manifest.json;
 *                                                                  &camera=NAME|INDEX picks one camera)
 *   file:///path/video.mjpeg?fps=30                                concatenated JPEG frames
 *   sim://NAME?seed=7&setting=among&view=2&width=224&height=224&fps=15
 *                                                                  view `view` of the synthetic world of
 *                                                                  hatch/sim_world.h (also hfov=, views=,
 *                                                                  objects=); RGB24 frames, rendered once,
 *                                                                  served by the timer loop
 * V4L2 and fake cameras are served by one poll loop (one thread) per device-ops table; file sources by a
 * timer loop. Each camera negotiates a format (MJPEG preferred, then YUYV, NV12, RGB24), size and rate,
 * streams through mmap buffers, and decodes every frame to RGB8 on the capture thread (MJPEG through
 * TurboJPEG after cheap validation; YUYV/NV12 converted).
 *
 * Frames are owned by the capture ring: a hatch_frame is a view of a dequeued V4L2 buffer (and its
 * decoded pixels); the buffer is requeued to the driver only when the last reference is dropped. A frame
 * set holds references, not copies. Hold frames briefly: a camera whose buffers are all held drops frames
 * (counted as driver drops).
 *
 * Faults never stop the rig: a corrupt or error-flagged frame is dropped and counted; a camera that
 * disappears (ENODEV) is marked down, reported as missing in frame sets, and reopened with exponential
 * backoff; the other cameras keep delivering. Nothing here prints, exits or blocks without a timeout. */
#ifndef HATCH_CAMERA_H
#define HATCH_CAMERA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hatch/status.h"

#define HATCH_RIG_MAX_CAMERAS 16

typedef struct hatch_error {
  char message[256]; /* names the camera/URI/file and what was wrong; "" when none */
} hatch_error;

/* ---- frames ----------------------------------------------------------------------------------- */

typedef struct hatch_frame {
  int camera;             /* index in the rig (order of the URIs) */
  uint64_t seq;           /* per-camera sequence; the driver's 32-bit counter unwrapped; restarts at
                             0 after a reopen (the stream generation tells streams apart) */
  uint32_t generation;    /* stream generation: 0 for the first stream, +1 per reopen */
  int64_t ts_ns;          /* capture time, CLOCK_MONOTONIC ns */
  int64_t dequeue_ns;     /* when the capture thread took the buffer, CLOCK_MONOTONIC */
  int64_t ready_ns;       /* when the decoded frame was handed to the sync stage */
  uint32_t fourcc;        /* payload pixel format (V4L2 fourcc) */
  int width, height;      /* pixels */
  const uint8_t *payload; /* (payload_size) bytes as the camera sent them (MJPEG: one JPEG) */
  size_t payload_size;
  const uint8_t *rgb;     /* (height, width, 3) RGB8; NULL when the rig does not decode */
  bool decode_warning;    /* libjpeg-turbo warned (e.g. premature end of data); pixels usable */
  bool ts_repaired;       /* the driver's timestamp failed the sanity check; ts_ns = dequeue time */
} hatch_frame;

/* Adds / drops a reference (thread-safe). The last unref returns the buffer to its camera. */
void hatch_frame_ref(const hatch_frame *frame);
void hatch_frame_unref(const hatch_frame *frame); /* NULL-safe */

/* ---- frame sets ------------------------------------------------------------------------------- */

typedef struct hatch_frame_set {
  uint64_t index;        /* 0, 1, 2, ... in the order sets were formed */
  int n_cameras;
  int n_missing;         /* cameras without a frame in this set (down, stalled or unmatched) */
  int64_t ts_ns;         /* the set's reference time: the pivot frame's timestamp */
  int64_t skew_ns;       /* max - min timestamp over the frames present */
  int64_t formed_ns;     /* CLOCK_MONOTONIC when the set was formed */
  const hatch_frame *frames[HATCH_RIG_MAX_CAMERAS]; /* one reference each; NULL = missing */
} hatch_frame_set;

/* Drops the set's references and frees it. NULL-safe. */
void hatch_frame_set_release(hatch_frame_set *set);

/* ---- the rig ---------------------------------------------------------------------------------- */

typedef struct hatch_rig_options {
  int64_t tolerance_ns;      /* max skew of a full set; default HATCH_RIG_TOLERANCE_AUTO: half the longest
                                frame period plus 2 ms (18.7 ms at 30 fps; the expected rates until the
                                timestamps measure them), the least that lets free-running cameras at any
                                phase offset form full sets (below half a period, cameras out of step by
                                more than the tolerance never match); set it (>= 0) for hardware-triggered
                                rigs */
  int64_t max_wait_ns;       /* how long the oldest candidate frame waits for a late camera before the set
                                goes out with that camera missing; default 150 ms */
  int64_t stall_ns;          /* a streaming camera silent this long counts as stalled (missing at once);
                                default 1 s */
  int queue_sets;            /* formed sets kept for the consumer; when full the oldest is dropped
                                (counted); default 2 */
  int buffers;               /* mmap buffers per V4L2 camera, 2..32; default 4 */
  int width, height, fps;    /* defaults for URIs that do not say; default 640x480 @ 30 */
  bool no_decode;            /* frames carry payloads only (rgb = NULL); e.g. `hatch capture` */
  int64_t reopen_min_ns;     /* first reopen delay after a camera goes down; default 100 ms */
  int64_t reopen_max_ns;     /* backoff cap (doubling); default 2 s */
} hatch_rig_options;

#define HATCH_RIG_TOLERANCE_AUTO (-1)

/* Fills the defaults above. */
void hatch_rig_options_default(hatch_rig_options *opt);

typedef enum hatch_camera_state {
  HATCH_CAMERA_STARTING = 0,
  HATCH_CAMERA_STREAMING,
  HATCH_CAMERA_DOWN,     /* disconnected or failing; reopen scheduled */
  HATCH_CAMERA_ENDED,    /* a file source reached its end (loop=0) */
} hatch_camera_state;

const char *hatch_camera_state_name(hatch_camera_state state);

typedef struct hatch_camera_stats {
  hatch_camera_state state;
  uint64_t frames;            /* frames delivered to the sync stage */
  uint64_t driver_drops;      /* sequence gaps: frames the driver dropped (no buffer, USB, ...) */
  uint64_t corrupt;           /* dropped: failed validation or decode */
  uint64_t error_flagged;     /* dropped: V4L2_BUF_FLAG_ERROR */
  uint64_t decode_warnings;   /* kept, flagged */
  uint64_t io_errors;         /* EIO on DQBUF and other transient ioctl failures */
  uint64_t ts_repaired;       /* driver timestamps replaced by the dequeue time */
  uint64_t disconnects;       /* times the camera went down */
  uint64_t reopens;           /* successful reopens */
  uint64_t reopen_failures;   /* failed reopen attempts (including ENOSPC at STREAMON) */
  uint64_t in_sets;           /* frames that made it into a frame set */
  uint64_t unmatched;         /* frames discarded by the sync stage without a set */
  int width, height, fps;     /* negotiated */
  uint32_t fourcc;            /* negotiated */
  char name[64];              /* camera name (URI path or name= option) */
  char last_error[200];       /* the most recent fault, e.g. "/dev/video2: VIDIOC_DQBUF: No such device" */
} hatch_camera_stats;

typedef struct hatch_rig_stats {
  uint64_t sets;              /* sets formed */
  uint64_t sets_dropped;      /* formed but dropped because the consumer queue was full */
  uint64_t sets_partial;      /* formed with at least one camera missing */
} hatch_rig_stats;

typedef struct hatch_rig hatch_rig;
typedef struct hatch_fake_v4l2 hatch_fake_v4l2;

/* Opens every camera (n 1..HATCH_RIG_MAX_CAMERAS) and starts capturing. A camera that cannot be opened
 * now (missing device) starts DOWN and is retried with backoff; a URI that is wrong (unknown scheme,
 * bad option, no such file) fails the whole open: HATCH_ERR_INVALID_ARGUMENT / HATCH_ERR_NOT_FOUND with
 * err naming the URI. opt NULL -> defaults. */
hatch_status hatch_rig_open(const char *const *uris, int n, const hatch_rig_options *opt, hatch_rig **out,
                            hatch_error *err);
/* Stops the capture threads, then frees the rig once every frame and set it handed out is released
 * (frames outlive the rig safely). NULL-safe. */
void hatch_rig_close(hatch_rig *rig);

/* The next formed set, waiting up to timeout_ms (0 = poll, < 0 = not allowed: HATCH_ERR_INVALID_ARGUMENT).
 * HATCH_ERR_TIMEOUT when none came; HATCH_ERR_NOT_FOUND when every camera has ENDED and nothing is left. */
hatch_status hatch_rig_next_set(hatch_rig *rig, int timeout_ms, hatch_frame_set **out);

int hatch_rig_camera_count(const hatch_rig *rig);
/* The sync tolerance in use now: the option, or (AUTO) half the longest frame period + 2 ms, from the
 * expected rates until the timestamps measure them. */
int64_t hatch_rig_tolerance_ns(hatch_rig *rig);
hatch_status hatch_rig_camera_stats(hatch_rig *rig, int camera, hatch_camera_stats *out);
void hatch_rig_stats_get(hatch_rig *rig, hatch_rig_stats *out);

/* The fake device set serving this rig's fake:// cameras (to inject faults at run time), or NULL. */
hatch_fake_v4l2 *hatch_rig_fake_device(hatch_rig *rig);

#endif
