/* JPEG decode through the TurboJPEG 2.1 API: cheap validation, header probe with size limits, then
 * tjDecompress2 into the caller's RGB buffer. Warnings (TJERR_WARNING) keep the frame; fatal errors
 * drop it. Nothing is printed: messages go into the report. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>

#include "hatch/frame_decode.h"

struct hatch_jpeg_decoder {
  tjhandle tj; /* owned */
  hatch_jpeg_limits limits;
};

hatch_jpeg_limits hatch_jpeg_limits_default(void) {
  hatch_jpeg_limits l = {HATCH_JPEG_DEFAULT_MAX_WIDTH, HATCH_JPEG_DEFAULT_MAX_HEIGHT, HATCH_JPEG_DEFAULT_MAX_PIXELS};
  return l;
}

hatch_status hatch_jpeg_decoder_create(const hatch_jpeg_limits *limits, hatch_jpeg_decoder **out) {
  if (!out) return HATCH_ERR_INVALID_ARGUMENT;
  *out = NULL;
  hatch_jpeg_limits l = limits ? *limits : hatch_jpeg_limits_default();
  if (l.max_width <= 0 || l.max_height <= 0 || l.max_pixels <= 0) return HATCH_ERR_INVALID_ARGUMENT;
  hatch_jpeg_decoder *dec = calloc(1, sizeof(*dec));
  if (!dec) return HATCH_ERR_OUT_OF_MEMORY;
  dec->tj = tjInitDecompress();
  if (!dec->tj) {
    free(dec);
    return HATCH_ERR_OUT_OF_MEMORY;
  }
  dec->limits = l;
  *out = dec;
  return HATCH_OK;
}

void hatch_jpeg_decoder_destroy(hatch_jpeg_decoder *dec) {
  if (!dec) return;
  if (dec->tj) tjDestroy(dec->tj);
  free(dec);
}

/* TurboJPEG 2.1 leaves a handle unusable after some fatal errors (measured: after a "Bogus Huffman
 * table definition" every later frame, valid ones included, failed the same way), so a fatal error
 * costs a new handle. Valid frames never get here: no allocation per frame on the normal path. */
static void reset_handle(hatch_jpeg_decoder *dec) {
  if (dec->tj) tjDestroy(dec->tj);
  dec->tj = tjInitDecompress(); /* NULL: the next call retries, else reports out of memory */
}

static hatch_status ensure_handle(hatch_jpeg_decoder *dec) {
  if (!dec->tj) dec->tj = tjInitDecompress();
  return dec->tj ? HATCH_OK : HATCH_ERR_OUT_OF_MEMORY;
}

hatch_status hatch_jpeg_validate(const uint8_t *data, size_t size) {
  if (!data) return HATCH_ERR_INVALID_ARGUMENT;
  if (size < HATCH_JPEG_MIN_SIZE) return HATCH_ERR_CORRUPT;
  if (data[0] != 0xFF || data[1] != 0xD8 || data[2] != 0xFF) return HATCH_ERR_CORRUPT;
  size_t first = size > HATCH_JPEG_EOI_WINDOW ? size - HATCH_JPEG_EOI_WINDOW : 0;
  for (size_t i = size - 2; i + 1 > first; i--) /* from the end: EOI is usually the last 2 bytes */
    if (data[i] == 0xFF && data[i + 1] == 0xD9) return HATCH_OK;
  return HATCH_ERR_CORRUPT;
}

static void copy_message(hatch_decode_report *report, const char *msg) {
  if (report) snprintf(report->message, sizeof(report->message), "%s", msg ? msg : "");
}

/* Header read and limit check; report (may be NULL) gets the size and any message. */
static hatch_status probe(hatch_jpeg_decoder *dec, const uint8_t *data, size_t size, int *width, int *height,
                          hatch_decode_report *report) {
  if (size > ULONG_MAX) return HATCH_ERR_TOO_LARGE; /* TurboJPEG sizes are unsigned long */
  hatch_status st = ensure_handle(dec);
  if (st != HATCH_OK) return st;
  int w = 0, h = 0, subsamp = 0, colorspace = 0;
  if (tjDecompressHeader3(dec->tj, data, (unsigned long)size, &w, &h, &subsamp, &colorspace) != 0) {
    /* A warning while reading markers still leaves a usable header. */
    bool usable = tjGetErrorCode(dec->tj) == TJERR_WARNING && w > 0 && h > 0;
    if (!usable) {
      copy_message(report, tjGetErrorStr2(dec->tj));
      reset_handle(dec);
      return HATCH_ERR_CORRUPT;
    }
  }
  if (w <= 0 || h <= 0) {
    copy_message(report, "no image size in the header");
    return HATCH_ERR_CORRUPT;
  }
  if (report) {
    report->width = w;
    report->height = h;
  }
  if (w > dec->limits.max_width || h > dec->limits.max_height || (int64_t)w * h > dec->limits.max_pixels) {
    if (report)
      snprintf(report->message, sizeof(report->message), "%dx%d exceeds the limits %dx%d, %lld pixels", w, h,
               dec->limits.max_width, dec->limits.max_height, (long long)dec->limits.max_pixels);
    return HATCH_ERR_TOO_LARGE;
  }
  *width = w;
  *height = h;
  return HATCH_OK;
}

hatch_status hatch_jpeg_probe(hatch_jpeg_decoder *dec, const uint8_t *data, size_t size, int *width, int *height) {
  if (!dec || !data || !width || !height) return HATCH_ERR_INVALID_ARGUMENT;
  return probe(dec, data, size, width, height, NULL);
}

hatch_status hatch_jpeg_decode_rgb(hatch_jpeg_decoder *dec, const uint8_t *data, size_t size, uint8_t *rgb,
                                   size_t rgb_size, hatch_decode_report *report) {
  if (report) memset(report, 0, sizeof(*report));
  if (!dec || !data || !rgb) return HATCH_ERR_INVALID_ARGUMENT;
  hatch_status st = hatch_jpeg_validate(data, size);
  if (st != HATCH_OK) {
    copy_message(report, "not a JPEG frame (size, SOI or EOI check failed)");
    return st;
  }
  int w = 0, h = 0;
  st = probe(dec, data, size, &w, &h, report);
  if (st != HATCH_OK) return st;
  /* w, h <= INT_MAX and w * h <= max_pixels (int64): the product fits size_t on 64-bit hosts;
   * check anyway for 32-bit ones. */
  if ((uint64_t)w * (uint64_t)h > SIZE_MAX / 3) return HATCH_ERR_TOO_LARGE;
  if (rgb_size < (size_t)w * (size_t)h * 3) {
    if (report) snprintf(report->message, sizeof(report->message), "rgb buffer holds %zu bytes, %dx%d needs %zu",
                         rgb_size, w, h, (size_t)w * (size_t)h * 3);
    return HATCH_ERR_SHAPE;
  }
  /* LIMITSCANS: refuse progressive files with absurd scan counts (a CPU-time attack in 2.1). */
  int flags = TJFLAG_LIMITSCANS;
  if (tjDecompress2(dec->tj, data, (unsigned long)size, rgb, w, 0 /* pitch = w * 3 */, h, TJPF_RGB, flags) != 0) {
    copy_message(report, tjGetErrorStr2(dec->tj));
    if (tjGetErrorCode(dec->tj) != TJERR_WARNING) {
      reset_handle(dec);
      return HATCH_ERR_CORRUPT;
    }
    if (report) report->warning = true;
  }
  return HATCH_OK;
}
