/* The fake camera's frame pool: HATCH_FAKE_POOL_FRAMES test patterns rendered once per format in
 * RGB, then converted to the stream format (MJPEG through TurboJPEG, YUYV / NV12 through BT.601
 * limited range, RGB24 raw), so delivering a frame is one memcpy. */
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>

#include "fake_internal.h"

bool fake_format_known(uint32_t pixfmt) {
  return pixfmt == V4L2_PIX_FMT_MJPEG || pixfmt == V4L2_PIX_FMT_YUYV || pixfmt == V4L2_PIX_FMT_NV12 ||
         pixfmt == V4L2_PIX_FMT_RGB24;
}

void fake_format_sizes(uint32_t pixfmt, int width, int height, uint32_t *bytesperline, uint32_t *sizeimage) {
  uint32_t w = (uint32_t)width, h = (uint32_t)height; /* <= FAKE_MAX_DIM: no overflow */
  switch (pixfmt) {
  case V4L2_PIX_FMT_YUYV:
    *bytesperline = w * 2;
    *sizeimage = w * 2 * h;
    break;
  case V4L2_PIX_FMT_NV12:
    *bytesperline = w;
    *sizeimage = w * h * 3 / 2;
    break;
  case V4L2_PIX_FMT_RGB24:
    *bytesperline = w * 3;
    *sizeimage = w * 3 * h;
    break;
  default: /* MJPEG: an upper bound, as UVC's dwMaxVideoFrameSize; the patterns compress far below */
    *bytesperline = 0;
    *sizeimage = w * h * 3 / 2 + 4096;
    break;
  }
}

/* (h, w, 3) RGB: colour gradients offset by seed and index, a seed-coloured 16 px checker in blue,
 * and a bright block whose position walks with the pool index. */
static void render_rgb(uint8_t *rgb, int w, int h, uint32_t seed, int index) {
  uint32_t s = seed * 2654435761u + 0x9e3779b9u;
  int r0 = (int)(s & 255) + index * 29, g0 = (int)((s >> 8) & 255) + index * 13, b0 = (int)((s >> 16) & 255);
  int bw = w / 8 > 2 ? w / 8 : 2, bh = h / 8 > 2 ? h / 8 : 2;
  int bx = (w - bw) * index / (HATCH_FAKE_POOL_FRAMES - 1);
  int by = (h - bh) * (int)((index * 3 + (s >> 24)) % HATCH_FAKE_POOL_FRAMES) / (HATCH_FAKE_POOL_FRAMES - 1);
  for (int y = 0; y < h; y++) {
    uint8_t *row = rgb + (size_t)y * w * 3;
    for (int x = 0; x < w; x++) {
      uint8_t *p = row + (size_t)x * 3;
      if (x >= bx && x < bx + bw && y >= by && y < by + bh) {
        p[0] = 250, p[1] = 250, p[2] = 240;
        continue;
      }
      p[0] = (uint8_t)((r0 + x * 255 / w) & 255);
      p[1] = (uint8_t)((g0 + y * 255 / h) & 255);
      p[2] = (uint8_t)((((x >> 4) + (y >> 4)) & 1) ? b0 : 255 - b0);
    }
  }
}

/* BT.601 limited range, 8.8 fixed point; the +32768 offsets keep the shifts on non-negative values. */
static inline int rgb_y(const uint8_t *p) { return (66 * p[0] + 129 * p[1] + 25 * p[2] + 4224) >> 8; }
static inline int rgb_cb(const uint8_t *p) { return (-38 * p[0] - 74 * p[1] + 112 * p[2] + 32896) >> 8; }
static inline int rgb_cr(const uint8_t *p) { return (112 * p[0] - 94 * p[1] - 18 * p[2] + 32896) >> 8; }

/* YUYV: (h, w * 2); each chroma sample is the mean of its 2 pixels. */
static void rgb_to_yuyv(const uint8_t *rgb, int w, int h, uint8_t *out) {
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x += 2) {
      const uint8_t *a = rgb + ((size_t)y * w + x) * 3, *b = a + 3;
      uint8_t *o = out + (size_t)y * w * 2 + (size_t)x * 2;
      o[0] = (uint8_t)rgb_y(a);
      o[1] = (uint8_t)((rgb_cb(a) + rgb_cb(b) + 1) >> 1);
      o[2] = (uint8_t)rgb_y(b);
      o[3] = (uint8_t)((rgb_cr(a) + rgb_cr(b) + 1) >> 1);
    }
}

/* NV12: Y plane (h, w), then CbCr plane (h / 2, w) with the mean over each 2x2 block. */
static void rgb_to_nv12(const uint8_t *rgb, int w, int h, uint8_t *out) {
  for (size_t i = 0; i < (size_t)w * h; i++) out[i] = (uint8_t)rgb_y(rgb + i * 3);
  uint8_t *uv = out + (size_t)w * h;
  for (int y = 0; y < h; y += 2)
    for (int x = 0; x < w; x += 2) {
      const uint8_t *p00 = rgb + ((size_t)y * w + x) * 3, *p01 = p00 + 3;
      const uint8_t *p10 = p00 + (size_t)w * 3, *p11 = p10 + 3;
      uint8_t *o = uv + (size_t)(y / 2) * w + x;
      o[0] = (uint8_t)((rgb_cb(p00) + rgb_cb(p01) + rgb_cb(p10) + rgb_cb(p11) + 2) >> 2);
      o[1] = (uint8_t)((rgb_cr(p00) + rgb_cr(p01) + rgb_cr(p10) + rgb_cr(p11) + 2) >> 2);
    }
}

/* Offset just past the SOS header (start of entropy-coded data), walking the marker segments;
 * 0 when the stream has no SOS. */
static size_t jpeg_sos_end(const uint8_t *d, size_t n) {
  size_t p = 2;
  while (p + 4 <= n && d[p] == 0xFF) {
    uint8_t m = d[p + 1];
    size_t len = ((size_t)d[p + 2] << 8) | d[p + 3];
    if (m == 0xDA) return p + 2 + len <= n ? p + 2 + len : 0;
    p += 2 + len;
  }
  return 0;
}

static hatch_status compress_mjpeg(tjhandle tj, const uint8_t *rgb, int w, int h, uint32_t limit, fake_pool *pool,
                                   int i) {
  unsigned char *jpeg = NULL;
  unsigned long size = 0;
  if (tjCompress2(tj, rgb, w, 0, h, TJPF_RGB, &jpeg, &size, TJSAMP_422, 85, TJFLAG_FASTDCT) != 0) {
    tjFree(jpeg);
    return HATCH_ERR_OUT_OF_MEMORY; /* the only way a valid RGB image fails to compress */
  }
  hatch_status st = HATCH_OK;
  if (size > limit) st = HATCH_ERR_TOO_LARGE;
  else if (!(pool->data[i] = malloc(size))) st = HATCH_ERR_OUT_OF_MEMORY;
  else {
    memcpy(pool->data[i], jpeg, size);
    pool->size[i] = size;
    pool->sos_end[i] = jpeg_sos_end(jpeg, size);
  }
  tjFree(jpeg);
  return st;
}

hatch_status fake_pool_render(fake_pool *out, uint32_t pixfmt, int width, int height, uint32_t seed,
                              hatch_fake_pattern pattern) {
  memset(out, 0, sizeof(*out));
  out->pixfmt = pixfmt;
  out->width = width;
  out->height = height;
  uint32_t bpl, sizeimage;
  fake_format_sizes(pixfmt, width, height, &bpl, &sizeimage);
  uint8_t *rgb = malloc((size_t)width * height * 3); /* (h, w, 3) */
  /* SCENE: rendered once (the costly part), then panned per pool frame. (h, w, 3) */
  uint8_t *scene = pattern == HATCH_FAKE_PATTERN_SCENE ? malloc((size_t)width * height * 3) : NULL;
  tjhandle tj = pixfmt == V4L2_PIX_FMT_MJPEG ? tjInitCompress() : NULL;
  hatch_status st = HATCH_OK;
  if (!rgb || (pattern == HATCH_FAKE_PATTERN_SCENE && !scene) || (pixfmt == V4L2_PIX_FMT_MJPEG && !tj)) {
    st = HATCH_ERR_OUT_OF_MEMORY;
    goto done;
  }
  for (int i = 0; i < HATCH_FAKE_POOL_FRAMES; i++) {
    if (pattern == HATCH_FAKE_PATTERN_SCENE) {
      if (i == 0) hatch_fake_render_scene(scene, width, height, seed, 0);
      size_t row = (size_t)width * 3, shift = (size_t)(i * (width / 32)) * 3 % row; /* pan left */
      for (int y = 0; y < height; y++) {
        const uint8_t *src = scene + row * y;
        memcpy(rgb + row * y, src + shift, row - shift);
        memcpy(rgb + row * y + (row - shift), src, shift);
      }
    } else {
      render_rgb(rgb, width, height, seed, i);
    }
    if (pixfmt == V4L2_PIX_FMT_MJPEG) {
      st = compress_mjpeg(tj, rgb, width, height, sizeimage, out, i);
      if (st != HATCH_OK) goto done;
      continue;
    }
    if (!(out->data[i] = malloc(sizeimage))) {
      st = HATCH_ERR_OUT_OF_MEMORY;
      goto done;
    }
    out->size[i] = sizeimage;
    if (pixfmt == V4L2_PIX_FMT_YUYV) rgb_to_yuyv(rgb, width, height, out->data[i]);
    else if (pixfmt == V4L2_PIX_FMT_NV12) rgb_to_nv12(rgb, width, height, out->data[i]);
    else memcpy(out->data[i], rgb, sizeimage);
  }
done:
  if (tj) tjDestroy(tj);
  free(rgb);
  free(scene);
  if (st != HATCH_OK) fake_pool_free(out);
  return st;
}

void fake_pool_free(fake_pool *pool) {
  if (!pool) return;
  for (int i = 0; i < HATCH_FAKE_POOL_FRAMES; i++) free(pool->data[i]);
  memset(pool, 0, sizeof(*pool));
}

void fake_payload_corrupt(uint8_t *data, size_t size, size_t sos_end, uint32_t salt) {
  if (sos_end == 0 || size < sos_end + 2 + 16) return; /* no entropy-coded data worth the name */
  size_t span = size - 2 - sos_end;                     /* [sos_end, size - 2): before EOI */
  size_t run = span / 4 < 64 ? span / 4 : 64;
  size_t start = sos_end + (span - run) / 2;
  uint32_t s = salt * 2654435761u | 1u;
  for (size_t i = 0; i < run; i++) {
    s ^= s << 13, s ^= s >> 17, s ^= s << 5; /* xorshift32 */
    uint8_t v = (uint8_t)(s >> 24);
    data[start + i] = v == 0xFF ? 0xFE : v; /* no accidental markers ... */
  }
  /* ... but one deliberate RSTn: the Huffman decoder hits a marker mid-scan, which libjpeg always
   * reports (JWRN_HIT_MARKER), so the corruption cannot decode silently. */
  data[start + run / 2] = 0xFF;
  data[start + run / 2 + 1] = (uint8_t)(0xD0 + (salt & 7));
}
