/* One open V4L2 streaming session (fd, mmap buffers, decoded-pixel buffers), reference-counted: the
 * source holds one reference, every frame handed out holds one. Retiring the stream (device gone,
 * source closing) stops streaming and requeueing at once; the fd is closed and the buffers unmapped
 * only when the last frame is released, so readers never see memory vanish. */
#ifndef HATCH_V4L2_STREAM_H
#define HATCH_V4L2_STREAM_H

#include <linux/videodev2.h>
#include <pthread.h>

#include "camera/frame_internal.h"
#include "camera/source.h"
#include "hatch/v4l2_ops.h"

typedef struct hatch_v4l2_stream hatch_v4l2_stream;

typedef struct hatch_v4l2_buffer {
  hatch_frame_slot slot;  /* the frame view of this buffer while dequeued */
  void *map;              /* (map_length) bytes, mmap'd from the driver */
  size_t map_length;
  uint8_t *rgb;           /* (height, width, 3) decoded pixels, or NULL without decoding */
} hatch_v4l2_buffer;

struct hatch_v4l2_stream {
  const hatch_v4l2_ops *ops;
  int fd;
  uint32_t generation;
  pthread_mutex_t lock;   /* guards refs, retired and the QBUF of released frames */
  int refs;
  bool retired;
  uint32_t fourcc;        /* negotiated */
  int width, height, fps;
  uint32_t bytesperline, sizeimage;
  int n_buffers;
  hatch_v4l2_buffer *buffers; /* (n_buffers) */
  char path[256];
  hatch_device_holder *holder; /* retained while the stream exists */
};

typedef struct hatch_v4l2_request {
  const char *path;
  uint32_t fourcc;        /* 0: MJPEG, YUYV, NV12, RGB24, first offered wins */
  int width, height, fps;
  int buffers;            /* 2..32 */
  bool decode;            /* allocate (height, width, 3) RGB buffers */
  uint32_t generation;
  hatch_device_holder *holder;
} hatch_v4l2_request;

/* Opens, negotiates, maps and queues every buffer, and starts streaming. Errors, with err naming the
 * device and the call: HATCH_ERR_NOT_FOUND (no such device), HATCH_ERR_DISCONNECTED (ENODEV),
 * HATCH_ERR_BUSY (EBUSY, or ENOSPC at STREAMON: USB bandwidth), HATCH_ERR_UNSUPPORTED (not a
 * streaming capture device, or none of the formats), HATCH_ERR_OUT_OF_MEMORY, HATCH_ERR_IO. */
hatch_status hatch_v4l2_stream_open(const hatch_v4l2_ops *ops, const hatch_v4l2_request *req,
                                    hatch_v4l2_stream **out, hatch_error *err);

/* DQBUF (non-blocking). HATCH_OK with *buf filled; HATCH_ERR_NOT_FOUND when nothing is ready;
 * HATCH_ERR_DISCONNECTED (ENODEV); HATCH_ERR_IO (EIO and others; errno_out says which). */
hatch_status hatch_v4l2_stream_dequeue(hatch_v4l2_stream *s, struct v4l2_buffer *buf, int *errno_out);

/* Requeues a buffer the caller did not hand out (dropped frame). Silently nothing when retired. */
void hatch_v4l2_stream_requeue(hatch_v4l2_stream *s, int index);

/* Hands buffer `index` out as a frame: stream reference + slot published with one reference. */
const hatch_frame *hatch_v4l2_stream_publish(hatch_v4l2_stream *s, int index);

/* STREAMOFF, no more requeues, and drops the caller's reference. */
void hatch_v4l2_stream_retire(hatch_v4l2_stream *s);

/* "MJPG" for V4L2_PIX_FMT_MJPEG etc.; out must hold 5 bytes. */
void hatch_fourcc_string(uint32_t fourcc, char out[5]);

#endif
