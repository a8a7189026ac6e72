/* YUYV and NV12 to RGB8, BT.601 limited range in 8.8 fixed point (formula in hatch/frame_decode.h).
 * Chroma is nearest-neighbour: each Cb/Cr pair covers 2 (YUYV) or 2x2 (NV12) pixels. */
#include "hatch/frame_decode.h"

static inline uint8_t clamp_shift(int v) {
  if (v < 0) return 0; /* before the shift: >> of a negative int is implementation-defined */
  v >>= 8;
  return (uint8_t)(v > 255 ? 255 : v);
}

/* One pixel: Y, Cb, Cr -> 3 bytes at out. */
static inline void yuv_pixel(int y, int cb, int cr, uint8_t *out) {
  int c = 298 * (y - 16) + 128, d = cb - 128, e = cr - 128;
  out[0] = clamp_shift(c + 409 * e);
  out[1] = clamp_shift(c - 100 * d - 208 * e);
  out[2] = clamp_shift(c + 516 * d);
}

/* Size checks common to both formats; src_rows = source rows of `stride` bytes the frame needs. */
static hatch_status check_frame(const uint8_t *src, size_t src_size, int width, int height, size_t stride,
                                size_t min_stride, size_t src_rows, const uint8_t *rgb, size_t rgb_size) {
  if (!src || !rgb) return HATCH_ERR_INVALID_ARGUMENT;
  if (stride < min_stride) return HATCH_ERR_SHAPE;
  if (src_rows != 0 && stride > SIZE_MAX / src_rows) return HATCH_ERR_TOO_LARGE;
  if ((size_t)width > SIZE_MAX / 3 / (size_t)height) return HATCH_ERR_TOO_LARGE;
  if (src_size < stride * src_rows) return HATCH_ERR_INVALID_ARGUMENT;
  if (rgb_size < (size_t)width * (size_t)height * 3) return HATCH_ERR_INVALID_ARGUMENT;
  return HATCH_OK;
}

hatch_status hatch_yuyv_to_rgb(const uint8_t *yuyv, size_t yuyv_size, int width, int height, size_t stride,
                               uint8_t *rgb, size_t rgb_size) {
  if (width <= 0 || height <= 0 || width % 2 != 0) return HATCH_ERR_SHAPE;
  size_t row = (size_t)width * 2;
  if (stride == 0) stride = row;
  hatch_status st = check_frame(yuyv, yuyv_size, width, height, stride, row, (size_t)height, rgb, rgb_size);
  if (st != HATCH_OK) return st;
  for (int y = 0; y < height; y++) {
    const uint8_t *s = yuyv + (size_t)y * stride; /* (width / 2, 4): Y0 Cb Y1 Cr */
    uint8_t *d = rgb + (size_t)y * width * 3;     /* (width, 3) */
    for (int x = 0; x < width; x += 2, s += 4, d += 6) {
      yuv_pixel(s[0], s[1], s[3], d);
      yuv_pixel(s[2], s[1], s[3], d + 3);
    }
  }
  return HATCH_OK;
}

hatch_status hatch_nv12_to_rgb(const uint8_t *nv12, size_t nv12_size, int width, int height, size_t stride,
                               uint8_t *rgb, size_t rgb_size) {
  if (width <= 0 || height <= 0 || width % 2 != 0 || height % 2 != 0) return HATCH_ERR_SHAPE;
  if (stride == 0) stride = (size_t)width;
  size_t rows = (size_t)height + (size_t)height / 2; /* Y plane, then CbCr plane */
  hatch_status st = check_frame(nv12, nv12_size, width, height, stride, (size_t)width, rows, rgb, rgb_size);
  if (st != HATCH_OK) return st;
  const uint8_t *uv_plane = nv12 + stride * (size_t)height; /* (height / 2, width / 2, 2) in rows of stride */
  for (int y = 0; y < height; y++) {
    const uint8_t *luma = nv12 + (size_t)y * stride;        /* (width) */
    const uint8_t *uv = uv_plane + (size_t)(y / 2) * stride; /* (width / 2, 2): Cb Cr */
    uint8_t *d = rgb + (size_t)y * width * 3;                /* (width, 3) */
    for (int x = 0; x < width; x += 2, uv += 2, d += 6) {
      yuv_pixel(luma[x], uv[0], uv[1], d);
      yuv_pixel(luma[x + 1], uv[0], uv[1], d + 3);
    }
  }
  return HATCH_OK;
}
