/* Frame decoding for the camera layer: JPEG (MJPEG) through TurboJPEG, and YUYV / NV12 to RGB8.
 *
 * Every function returns a hatch_status and never exits, aborts or prints: a message, when there is
 * one, goes into a hatch_decode_report. Output buffers belong to the caller; nothing here allocates
 * per frame. Camera bytes are untrusted: the decoder enforces size limits from the header before any
 * pixel is decoded. A hatch_jpeg_decoder is not thread-safe: one per capture thread. */
#ifndef HATCH_FRAME_DECODE_H
#define HATCH_FRAME_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hatch/status.h"

/* ---- JPEG ---------------------------------------------------------------------------------- */

#define HATCH_JPEG_DEFAULT_MAX_WIDTH 8192
#define HATCH_JPEG_DEFAULT_MAX_HEIGHT 8192
#define HATCH_JPEG_DEFAULT_MAX_PIXELS (33ll * 1000 * 1000)
/* hatch_jpeg_validate: smallest plausible frame, and how far from the end FF D9 (EOI) may sit
 * (some UVC cameras pad MJPEG frames after EOI). */
#define HATCH_JPEG_MIN_SIZE 64
#define HATCH_JPEG_EOI_WINDOW 32

typedef struct hatch_jpeg_limits {
  int max_width;      /* pixels; a header wider than this -> HATCH_ERR_TOO_LARGE */
  int max_height;     /* pixels */
  int64_t max_pixels; /* width * height */
} hatch_jpeg_limits;

/* The defaults above: 8192 x 8192, 33 M pixels. */
hatch_jpeg_limits hatch_jpeg_limits_default(void);

typedef struct hatch_decode_report {
  int width, height; /* from the header; set whenever the header could be read */
  bool warning;      /* the frame was decoded but libjpeg-turbo warned (e.g. premature end of data,
                        corrupt entropy data): pixels may be partly gray/garbage, the frame is usable */
  char message[200]; /* TurboJPEG's message for a warning or an error; "" when none */
} hatch_decode_report;

typedef struct hatch_jpeg_decoder hatch_jpeg_decoder;

/* limits: NULL -> hatch_jpeg_limits_default(); values <= 0 -> HATCH_ERR_INVALID_ARGUMENT.
 * Errors: HATCH_ERR_OUT_OF_MEMORY (TurboJPEG handle could not be created). */
hatch_status hatch_jpeg_decoder_create(const hatch_jpeg_limits *limits, hatch_jpeg_decoder **out);
void hatch_jpeg_decoder_destroy(hatch_jpeg_decoder *dec); /* NULL-safe */

/* Cheap checks before any decoding: size >= HATCH_JPEG_MIN_SIZE, starts FF D8 FF (SOI + a marker),
 * FF D9 (EOI) within the last HATCH_JPEG_EOI_WINDOW bytes. HATCH_OK or HATCH_ERR_CORRUPT. */
hatch_status hatch_jpeg_validate(const uint8_t *data, size_t size);

/* Reads the header only. *width, *height set on HATCH_OK. Errors: HATCH_ERR_CORRUPT (no readable
 * header), HATCH_ERR_TOO_LARGE (over the decoder's limits), HATCH_ERR_INVALID_ARGUMENT. */
hatch_status hatch_jpeg_probe(hatch_jpeg_decoder *dec, const uint8_t *data, size_t size, int *width, int *height);

/* validate + probe + decode into rgb, (height, width, 3) RGB8 packed rows, rgb_size bytes.
 * HATCH_OK: pixels written; report->warning says whether libjpeg-turbo warned (message in report).
 * Errors: HATCH_ERR_CORRUPT (validation or a fatal decode error; the buffer may be partly written),
 * HATCH_ERR_TOO_LARGE (header over the limits; nothing decoded), HATCH_ERR_SHAPE (rgb_size smaller
 * than width * height * 3; report->width/height say what is needed), HATCH_ERR_INVALID_ARGUMENT.
 * report may be NULL. Grayscale JPEGs decode to gray RGB; CMYK ones fail with HATCH_ERR_CORRUPT. */
hatch_status hatch_jpeg_decode_rgb(hatch_jpeg_decoder *dec, const uint8_t *data, size_t size, uint8_t *rgb,
                                   size_t rgb_size, hatch_decode_report *report);

/* ---- YUV to RGB8 ----------------------------------------------------------------------------
 * BT.601, limited range (Y 16..235, Cb/Cr 16..240, what UVC cameras send), integer math:
 *   C = Y - 16, D = Cb - 128, E = Cr - 128
 *   R = clamp((298 C          + 409 E + 128) >> 8)
 *   G = clamp((298 C - 100 D  - 208 E + 128) >> 8)
 *   B = clamp((298 C + 516 D          + 128) >> 8)
 * i.e. the 1.164 / 1.596 / 0.392 / 0.813 / 2.017 coefficients in 8.8 fixed point (within 1 of the
 * exact float formula). Chroma is nearest-neighbour (each Cb/Cr sample covers its 2 or 2x2 pixels).
 * stride: bytes per source row (V4L2 bytesperline); 0 = packed. Output rgb: (height, width, 3).
 * Errors: HATCH_ERR_SHAPE (odd width, for NV12 odd height too; width/height <= 0; stride too small),
 * HATCH_ERR_INVALID_ARGUMENT (NULL pointers, a buffer smaller than the frame), HATCH_ERR_TOO_LARGE
 * (sizes that would overflow size_t). */

/* YUYV (YUY2): (height, stride) bytes, each row width/2 macropixels Y0 Cb Y1 Cr. */
hatch_status hatch_yuyv_to_rgb(const uint8_t *yuyv, size_t yuyv_size, int width, int height, size_t stride,
                               uint8_t *rgb, size_t rgb_size);
/* NV12: Y plane (height, stride) then interleaved CbCr plane (height/2, stride), Cb first; the
 * single-buffer V4L2_PIX_FMT_NV12 layout. Needs stride * height * 3 / 2 bytes. */
hatch_status hatch_nv12_to_rgb(const uint8_t *nv12, size_t nv12_size, int width, int height, size_t stride,
                               uint8_t *rgb, size_t rgb_size);

#endif
