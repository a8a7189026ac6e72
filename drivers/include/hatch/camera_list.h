/* Listing V4L2 cameras: device nodes, and per device its capture formats, frame sizes and rates
 * (VIDIOC_QUERYCAP, ENUM_FMT, ENUM_FRAMESIZES, ENUM_FRAMEINTERVALS), through an ops table so the
 * fake device answers the same way. `hatch cameras` prints this. */
#ifndef HATCH_CAMERA_LIST_H
#define HATCH_CAMERA_LIST_H

#include <stdint.h>

#include "hatch/camera.h"
#include "hatch/v4l2_ops.h"

#define HATCH_CAMERA_MAX_MODES 96
#define HATCH_CAMERA_MAX_RATES 8

typedef struct hatch_camera_mode {
  uint32_t fourcc;                       /* V4L2 pixel format */
  char description[32];                  /* from ENUM_FMT, e.g. "Motion-JPEG" */
  int width, height;                     /* a discrete size, or the max of a stepwise range */
  bool stepwise;                         /* the driver reports a range (min..max by step), not sizes */
  int n_rates;
  double fps[HATCH_CAMERA_MAX_RATES];    /* discrete frame rates (highest first as reported) */
} hatch_camera_mode;

typedef struct hatch_camera_info {
  char path[256];
  char driver[16], card[32], bus_info[32];
  bool capture;                          /* a streaming video-capture node (metadata nodes are not) */
  int n_modes;
  hatch_camera_mode modes[HATCH_CAMERA_MAX_MODES];
  bool truncated;                        /* more modes than HATCH_CAMERA_MAX_MODES */
} hatch_camera_info;

/* Opens path through ops, asks, closes. Errors: HATCH_ERR_NOT_FOUND, HATCH_ERR_DISCONNECTED,
 * HATCH_ERR_BUSY, HATCH_ERR_IO, each with err naming the device and the call. */
hatch_status hatch_camera_describe(const hatch_v4l2_ops *ops, const char *path, hatch_camera_info *out, hatch_error *err);

/* /dev/video* nodes in natural order (video2 before video10). *n_out <= max. */
hatch_status hatch_camera_scan_nodes(char (*paths)[64], int max, int *n_out);

#endif
