/* Frame decoding (drivers/decode): JPEG through TurboJPEG against the source image it was made from
 * (made here with tjCompress2 from a synthetic gradient), hostile JPEGs (truncated, corrupted, a
 * 60000x60000 header, no Huffman tables as MJPEG sends them), and YUYV/NV12 against the float
 * BT.601 formula. CPU only. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>

#include "harness.h"
#include "hatch/frame_decode.h"

/* ---- helpers ------------------------------------------------------------------------------- */

typedef struct jpeg_buf {
  uint8_t *data; /* (size), malloc'd with the exact size so ASan sees any overread */
  size_t size;
} jpeg_buf;

static uint64_t xorshift(uint64_t *s) {
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return *s;
}

/* (h, w, 3) smooth gradient: R along x, G along y, B along the diagonal. */
static uint8_t *make_gradient(int w, int h) {
  uint8_t *rgb = malloc((size_t)w * h * 3);
  if (!rgb) return NULL;
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      uint8_t *p = rgb + ((size_t)y * w + x) * 3;
      p[0] = (uint8_t)(w > 1 ? x * 255 / (w - 1) : 0);
      p[1] = (uint8_t)(h > 1 ? y * 255 / (h - 1) : 0);
      p[2] = (uint8_t)((x + y) * 255 / (w + h - 2 > 0 ? w + h - 2 : 1));
    }
  return rgb;
}

static bool make_jpeg(hatch_test_ctx *c, const uint8_t *rgb, int w, int h, int subsamp, int quality, jpeg_buf *out) {
  out->data = NULL;
  out->size = 0;
  tjhandle tj = tjInitCompress();
  HATCH_EXPECT(c, tj != NULL, "tjInitCompress failed");
  if (!tj) return false;
  unsigned char *buf = NULL;
  unsigned long size = 0;
  int rc = tjCompress2(tj, rgb, w, 0, h, TJPF_RGB, &buf, &size, subsamp, quality, 0);
  HATCH_EXPECT(c, rc == 0, "tjCompress2 %dx%d: %s", w, h, tjGetErrorStr2(tj));
  if (rc == 0) {
    out->data = malloc(size);
    if (out->data) {
      memcpy(out->data, buf, size);
      out->size = size;
    }
  }
  tjFree(buf);
  tjDestroy(tj);
  return out->data != NULL;
}

static jpeg_buf copy_prefix(const jpeg_buf *src, size_t n, bool append_eoi) {
  jpeg_buf b = {malloc(n + 2 + 1), n + (append_eoi ? 2 : 0)};
  if (!b.data) return b;
  memcpy(b.data, src->data, n);
  if (append_eoi) {
    b.data[n] = 0xFF;
    b.data[n + 1] = 0xD9;
  }
  return b;
}

static double mean_abs_error(const uint8_t *a, const uint8_t *b, size_t n) {
  double sum = 0;
  for (size_t i = 0; i < n; i++) sum += abs((int)a[i] - (int)b[i]);
  return n ? sum / (double)n : 0;
}

/* Offset of the first marker `code` (FF code) before SOS, walking the segment lengths; 0 if none. */
static size_t find_marker(const jpeg_buf *j, uint8_t code) {
  size_t p = 2;
  while (p + 4 <= j->size && j->data[p] == 0xFF) {
    uint8_t m = j->data[p + 1];
    if (m == code) return p;
    if (m == 0xDA) return 0;
    p += 2 + ((size_t)j->data[p + 2] << 8 | j->data[p + 3]);
  }
  return 0;
}

static hatch_jpeg_decoder *new_decoder(hatch_test_ctx *c, const hatch_jpeg_limits *limits) {
  hatch_jpeg_decoder *dec = NULL;
  HATCH_EXPECT_OK(c, hatch_jpeg_decoder_create(limits, &dec));
  return dec;
}

/* ---- JPEG ---------------------------------------------------------------------------------- */

/* Mean abs error bounds, at quality 90. 4:4:4 keeps full chroma, so only DCT quantization remains:
 * quality 90 halves the standard tables (luma DC step 2-3 and low AC steps 2-8), so a smooth image
 * comes back within about 1 level on average (measured ~0.4-1.0). 4:2:0 additionally averages chroma
 * over 2x2 and upsamples it back; on a gradient that is a linear ramp the error is a fraction of one
 * ramp step, except on tiny frames where a step is large (13x7: G rises 42 per row) — measured ~1-4.
 * Bounds: 2.0 for 4:4:4 and 6.0 for 4:2:0 on 13x7, 2.5 for 4:2:0 at 640x480: a broken decoder
 * (wrong pixel format, swapped channels, shifted rows) is off by tens. */
static void test_jpeg_roundtrip(hatch_test_ctx *c) {
  const struct { int w, h, subsamp; double bound; } cases[] = {
      {13, 7, TJSAMP_444, 2.0}, {13, 7, TJSAMP_420, 6.0}, {640, 480, TJSAMP_444, 2.0}, {640, 480, TJSAMP_420, 2.5},
      {1, 1, TJSAMP_420, 2.0},
  };
  hatch_jpeg_decoder *dec = new_decoder(c, NULL);
  if (!dec) return;
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    int w = cases[i].w, h = cases[i].h;
    uint8_t *src = make_gradient(w, h);
    size_t n = (size_t)w * h * 3;
    uint8_t *out = malloc(n); /* (h, w, 3) */
    jpeg_buf j;
    if (src && out && make_jpeg(c, src, w, h, cases[i].subsamp, 90, &j)) {
      int pw = 0, ph = 0;
      HATCH_EXPECT_OK(c, hatch_jpeg_validate(j.data, j.size));
      HATCH_EXPECT_OK(c, hatch_jpeg_probe(dec, j.data, j.size, &pw, &ph));
      HATCH_EXPECT(c, pw == w && ph == h, "probe %dx%d, want %dx%d", pw, ph, w, h);
      hatch_decode_report rep;
      HATCH_EXPECT_OK(c, hatch_jpeg_decode_rgb(dec, j.data, j.size, out, n, &rep));
      HATCH_EXPECT(c, !rep.warning && rep.width == w && rep.height == h, "report %dx%d warning=%d '%s'", rep.width,
                   rep.height, rep.warning, rep.message);
      double mae = mean_abs_error(out, src, n);
      printf("  %dx%d %s: %zu bytes, mean abs error %.3f (bound %.1f)\n", w, h,
             cases[i].subsamp == TJSAMP_444 ? "4:4:4" : "4:2:0", j.size, mae, cases[i].bound);
      HATCH_EXPECT(c, mae <= cases[i].bound, "%dx%d mean abs error %.3f > %.1f", w, h, mae, cases[i].bound);
      free(j.data);
    }
    free(src);
    free(out);
  }
  hatch_jpeg_decoder_destroy(dec);
}

static void test_jpeg_grayscale(hatch_test_ctx *c) {
  int w = 32, h = 16;
  uint8_t *src = make_gradient(w, h), *out = malloc((size_t)w * h * 3);
  hatch_jpeg_decoder *dec = new_decoder(c, NULL);
  jpeg_buf j;
  if (src && out && dec && make_jpeg(c, src, w, h, TJSAMP_GRAY, 90, &j)) {
    HATCH_EXPECT_OK(c, hatch_jpeg_decode_rgb(dec, j.data, j.size, out, (size_t)w * h * 3, NULL));
    int non_gray = 0;
    for (int i = 0; i < w * h; i++) non_gray += out[3 * i] != out[3 * i + 1] || out[3 * i] != out[3 * i + 2];
    HATCH_EXPECT(c, non_gray == 0, "%d non-gray pixels from a grayscale JPEG", non_gray);
    free(j.data);
  }
  free(src);
  free(out);
  hatch_jpeg_decoder_destroy(dec);
}

/* Cut at many lengths: as is (validation refuses: no EOI), and with FF D9 appended so libjpeg-turbo
 * itself meets the early end (a warning with the frame kept, or an error) — never a crash. */
static void test_jpeg_truncated(hatch_test_ctx *c) {
  int w = 640, h = 480;
  size_t n = (size_t)w * h * 3;
  uint8_t *src = make_gradient(w, h), *out = malloc(n);
  hatch_jpeg_decoder *dec = new_decoder(c, NULL);
  jpeg_buf j;
  if (src && out && dec && make_jpeg(c, src, w, h, TJSAMP_420, 90, &j)) {
    size_t cuts[] = {0, 1, 2, 3, 10, 63, 64, 100, 200, 400, 623, j.size / 8, j.size / 4, j.size / 2, j.size - 100,
                     j.size - 3, j.size - 2, j.size - 1};
    int warnings = 0, errors = 0;
    for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
      for (int eoi = 0; eoi < 2; eoi++) {
        jpeg_buf t = copy_prefix(&j, cuts[i], eoi);
        if (!t.data) continue;
        hatch_decode_report rep;
        hatch_status st = hatch_jpeg_decode_rgb(dec, t.data, t.size, out, n, &rep);
        bool whole = cuts[i] + 2 >= j.size; /* + FF D9 gives the complete stream back (FF fill byte) */
        if (!eoi) HATCH_EXPECT(c, st == HATCH_ERR_CORRUPT, "cut at %zu: %s", cuts[i], hatch_status_name(st));
        else if (whole) HATCH_EXPECT(c, st == HATCH_OK, "cut at %zu + EOI: %s", cuts[i], hatch_status_name(st));
        else
          HATCH_EXPECT(c, st == HATCH_ERR_CORRUPT || (st == HATCH_OK && rep.warning && rep.message[0]),
                       "cut at %zu + EOI: %s warning=%d", cuts[i], hatch_status_name(st), rep.warning);
        warnings += st == HATCH_OK && rep.warning;
        errors += st != HATCH_OK;
        free(t.data);
      }
    }
    printf("  truncations: %d warnings (frame kept), %d errors\n", warnings, errors);
    HATCH_EXPECT(c, warnings > 0, "no truncation reached libjpeg-turbo's premature-end warning");
    free(j.data);
  }
  free(src);
  free(out);
  hatch_jpeg_decoder_destroy(dec);
}

/* Random byte corruption: any outcome but a crash, a sanitizer report or an unexpected status; and
 * the decoder keeps working afterwards. */
static void test_jpeg_corrupt_random(hatch_test_ctx *c) {
  int w = 64, h = 48;
  size_t n = (size_t)w * h * 3;
  uint8_t *src = make_gradient(w, h), *out = malloc(n);
  hatch_jpeg_decoder *dec = new_decoder(c, NULL);
  jpeg_buf j;
  uint64_t seed = 0x9E3779B97F4A7C15ull;
  if (src && out && dec && make_jpeg(c, src, w, h, TJSAMP_420, 85, &j)) {
    int counts[HATCH_STATUS_COUNT] = {0}, warnings = 0;
    for (int iter = 0; iter < 2000; iter++) {
      jpeg_buf t = copy_prefix(&j, j.size, false);
      if (!t.data) break;
      int flips = 1 + (int)(xorshift(&seed) % 8);
      for (int f = 0; f < flips; f++) t.data[xorshift(&seed) % t.size] = (uint8_t)xorshift(&seed);
      hatch_decode_report rep;
      hatch_status st = hatch_jpeg_decode_rgb(dec, t.data, t.size, out, n, &rep);
      HATCH_EXPECT(c, st == HATCH_OK || st == HATCH_ERR_CORRUPT || st == HATCH_ERR_TOO_LARGE || st == HATCH_ERR_SHAPE,
                   "iteration %d: %s", iter, hatch_status_name(st));
      if (st >= 0 && st < HATCH_STATUS_COUNT) counts[st]++;
      warnings += st == HATCH_OK && rep.warning;
      free(t.data);
      /* The same decoder must still take a good frame after any bad one (TurboJPEG 2.1 handles
       * stay broken after some fatal errors; the decoder replaces them). */
      hatch_status again = hatch_jpeg_decode_rgb(dec, j.data, j.size, out, n, &rep);
      HATCH_EXPECT(c, again == HATCH_OK && !rep.warning, "iteration %d: valid frame after a corrupt one: %s '%s'", iter,
                   hatch_status_name(again), rep.message);
      if (c->failures > 10) break;
    }
    printf("  2000 corrupted frames: %d ok (%d with warnings), %d corrupt, %d too large, %d shape\n", counts[HATCH_OK],
           warnings, counts[HATCH_ERR_CORRUPT], counts[HATCH_ERR_TOO_LARGE], counts[HATCH_ERR_SHAPE]);
    free(j.data);
  }
  free(src);
  free(out);
  hatch_jpeg_decoder_destroy(dec);
}

/* MJPEG from UVC cameras has no DHT segment (the standard tables are implied). tjCompress2 writes
 * the standard tables (no optimized coding), so the stripped frame must decode to the same pixels. */
static void test_jpeg_no_huffman_tables(hatch_test_ctx *c) {
  int w = 640, h = 480;
  size_t n = (size_t)w * h * 3;
  uint8_t *src = make_gradient(w, h), *a = malloc(n), *b = malloc(n);
  hatch_jpeg_decoder *dec = new_decoder(c, NULL);
  jpeg_buf j;
  if (src && a && b && dec && make_jpeg(c, src, w, h, TJSAMP_422, 85, &j)) {
    HATCH_EXPECT_OK(c, hatch_jpeg_decode_rgb(dec, j.data, j.size, a, n, NULL));
    jpeg_buf s = copy_prefix(&j, j.size, false);
    int stripped = 0;
    for (size_t p; s.data && (p = find_marker(&s, 0xC4)) != 0; stripped++) {
      size_t len = 2 + ((size_t)s.data[p + 2] << 8 | s.data[p + 3]);
      memmove(s.data + p, s.data + p + len, s.size - p - len);
      s.size -= len;
    }
    HATCH_EXPECT(c, stripped > 0, "no DHT segment to strip");
    hatch_decode_report rep;
    HATCH_EXPECT_OK(c, hatch_jpeg_decode_rgb(dec, s.data, s.size, b, n, &rep));
    HATCH_EXPECT(c, !rep.warning, "warning without DHT: %s", rep.message);
    HATCH_EXPECT(c, memcmp(a, b, n) == 0, "pixels differ without the DHT segments");
    printf("  stripped %d DHT segments (%zu -> %zu bytes), identical pixels\n", stripped, j.size, s.size);
    free(s.data);
    free(j.data);
  }
  free(src);
  free(a);
  free(b);
  hatch_jpeg_decoder_destroy(dec);
}

/* A header claiming 60000x60000 (10.8 GB of RGB) is refused from the header alone: the output
 * buffer here is 3 bytes, so a decode attempt would be an ASan overflow. */
static void test_jpeg_oversized_header(hatch_test_ctx *c) {
  uint8_t *src = make_gradient(16, 16);
  hatch_jpeg_decoder *dec = new_decoder(c, NULL);
  jpeg_buf j;
  if (src && dec && make_jpeg(c, src, 16, 16, TJSAMP_420, 90, &j)) {
    size_t p = find_marker(&j, 0xC0); /* SOF0: FF C0, length(2), precision(1), height(2), width(2) */
    HATCH_EXPECT(c, p != 0, "no SOF0 marker");
    if (p) {
      j.data[p + 5] = 0xEA, j.data[p + 6] = 0x60; /* 60000 */
      j.data[p + 7] = 0xEA, j.data[p + 8] = 0x60;
      int w = 0, h = 0;
      HATCH_EXPECT(c, hatch_jpeg_probe(dec, j.data, j.size, &w, &h) == HATCH_ERR_TOO_LARGE, "probe not TOO_LARGE");
      uint8_t tiny[3];
      hatch_decode_report rep;
      hatch_status st = hatch_jpeg_decode_rgb(dec, j.data, j.size, tiny, sizeof(tiny), &rep);
      HATCH_EXPECT(c, st == HATCH_ERR_TOO_LARGE, "decode: %s", hatch_status_name(st));
      HATCH_EXPECT(c, rep.width == 60000 && rep.height == 60000, "report %dx%d", rep.width, rep.height);
    }
    free(j.data);
  }
  free(src);
  hatch_jpeg_decoder_destroy(dec);
}

static void test_jpeg_limits_and_args(hatch_test_ctx *c) {
  int w = 64, h = 48;
  size_t n = (size_t)w * h * 3;
  uint8_t *src = make_gradient(w, h), *out = malloc(n);
  jpeg_buf j;
  if (src && out && make_jpeg(c, src, w, h, TJSAMP_420, 90, &j)) {
    const struct { hatch_jpeg_limits l; hatch_status want; } cases[] = {
        {{64, 48, 64 * 48}, HATCH_OK},
        {{63, 48, 1 << 20}, HATCH_ERR_TOO_LARGE},
        {{64, 47, 1 << 20}, HATCH_ERR_TOO_LARGE},
        {{1024, 1024, 64 * 48 - 1}, HATCH_ERR_TOO_LARGE},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
      hatch_jpeg_decoder *dec = new_decoder(c, &cases[i].l);
      if (!dec) continue;
      hatch_status st = hatch_jpeg_decode_rgb(dec, j.data, j.size, out, n, NULL);
      HATCH_EXPECT(c, st == cases[i].want, "limits case %zu: %s", i, hatch_status_name(st));
      hatch_jpeg_decoder_destroy(dec);
    }
    hatch_jpeg_decoder *dec = new_decoder(c, NULL);
    hatch_decode_report rep;
    HATCH_EXPECT(c, hatch_jpeg_decode_rgb(dec, j.data, j.size, out, n - 1, &rep) == HATCH_ERR_SHAPE,
                 "small buffer not ERR_SHAPE");
    HATCH_EXPECT(c, rep.width == w && rep.height == h && rep.message[0], "report after ERR_SHAPE");
    HATCH_EXPECT(c, hatch_jpeg_decode_rgb(NULL, j.data, j.size, out, n, NULL) == HATCH_ERR_INVALID_ARGUMENT, "NULL dec");
    HATCH_EXPECT(c, hatch_jpeg_decode_rgb(dec, NULL, 0, out, n, NULL) == HATCH_ERR_INVALID_ARGUMENT, "NULL data");
    HATCH_EXPECT(c, hatch_jpeg_decode_rgb(dec, j.data, j.size, NULL, n, NULL) == HATCH_ERR_INVALID_ARGUMENT, "NULL rgb");
    hatch_jpeg_decoder_destroy(dec);
    free(j.data);
  }
  uint8_t junk[100] = {0xFF, 0xD8, 0xFF};
  HATCH_EXPECT(c, hatch_jpeg_validate(junk, sizeof(junk)) == HATCH_ERR_CORRUPT, "no EOI accepted");
  junk[90] = 0xFF, junk[91] = 0xD9;
  HATCH_EXPECT_OK(c, hatch_jpeg_validate(junk, sizeof(junk))); /* EOI 8 bytes before the end: padding */
  junk[1] = 0xD9;
  HATCH_EXPECT(c, hatch_jpeg_validate(junk, sizeof(junk)) == HATCH_ERR_CORRUPT, "bad SOI accepted");
  HATCH_EXPECT(c, hatch_jpeg_validate(junk, 10) == HATCH_ERR_CORRUPT, "10 bytes accepted");
  hatch_jpeg_limits bad = {0, 10, 10};
  hatch_jpeg_decoder *dec = (hatch_jpeg_decoder *)&bad; /* must be overwritten with NULL */
  HATCH_EXPECT(c, hatch_jpeg_decoder_create(&bad, &dec) == HATCH_ERR_INVALID_ARGUMENT && dec == NULL, "bad limits");
  hatch_jpeg_decoder_destroy(NULL);
  free(src);
  free(out);
}

/* ---- YUV ----------------------------------------------------------------------------------- */

/* The exact BT.601 limited-range formula in floating point. */
static void ref_pixel(int y, int cb, int cr, int rgb[3]) {
  double Y = (y - 16) * 255.0 / 219.0, Cb = (cb - 128) * 255.0 / 224.0, Cr = (cr - 128) * 255.0 / 224.0;
  double v[3] = {Y + 1.402 * Cr, Y - 0.344136 * Cb - 0.714136 * Cr, Y + 1.772 * Cb};
  for (int i = 0; i < 3; i++) rgb[i] = (int)lround(v[i] < 0 ? 0 : v[i] > 255 ? 255 : v[i]);
}

static const struct { const char *name; uint8_t y, cb, cr, r, g, b; } k_colors[] = {
    {"white", 235, 128, 128, 255, 255, 255},
    {"black", 16, 128, 128, 0, 0, 0},
    {"red", 81, 90, 240, 255, 0, 0},
    {"green", 145, 54, 34, 0, 255, 0},
    {"blue", 41, 240, 110, 0, 0, 255},
};

static void test_yuv_known_colors(hatch_test_ctx *c) {
  for (size_t k = 0; k < sizeof(k_colors) / sizeof(k_colors[0]); k++) {
    /* 4x2 frames of one color; YUYV with 4 bytes of row padding (stride 12). */
    uint8_t yuyv[2 * 12], nv12[4 * 2 + 4], rgb[4 * 2 * 3];
    memset(yuyv, 0xAB, sizeof(yuyv));
    for (int r = 0; r < 2; r++)
      for (int m = 0; m < 2; m++) {
        uint8_t *p = yuyv + r * 12 + m * 4;
        p[0] = k_colors[k].y, p[1] = k_colors[k].cb, p[2] = k_colors[k].y, p[3] = k_colors[k].cr;
      }
    memset(nv12, k_colors[k].y, 8);
    for (int i = 0; i < 2; i++) nv12[8 + 2 * i] = k_colors[k].cb, nv12[9 + 2 * i] = k_colors[k].cr;
    for (int fmt = 0; fmt < 2; fmt++) {
      memset(rgb, 0x55, sizeof(rgb));
      hatch_status st = fmt == 0 ? hatch_yuyv_to_rgb(yuyv, sizeof(yuyv), 4, 2, 12, rgb, sizeof(rgb))
                                 : hatch_nv12_to_rgb(nv12, sizeof(nv12), 4, 2, 0, rgb, sizeof(rgb));
      HATCH_EXPECT(c, st == HATCH_OK, "%s %s: %s", fmt ? "nv12" : "yuyv", k_colors[k].name, hatch_status_name(st));
      for (int i = 0; i < 8; i++) {
        const uint8_t *p = rgb + 3 * i;
        HATCH_EXPECT(c, abs(p[0] - k_colors[k].r) <= 1 && abs(p[1] - k_colors[k].g) <= 1 && abs(p[2] - k_colors[k].b) <= 1,
                     "%s %s pixel %d = %d,%d,%d, want %d,%d,%d", fmt ? "nv12" : "yuyv", k_colors[k].name, i, p[0], p[1],
                     p[2], k_colors[k].r, k_colors[k].g, k_colors[k].b);
      }
    }
  }
  /* white, black and red exactly (saturation at the limited-range ends) */
  uint8_t px[4] = {235, 128, 16, 128}, out[6];
  HATCH_EXPECT_OK(c, hatch_yuyv_to_rgb(px, 4, 2, 1, 0, out, 6));
  HATCH_EXPECT(c, out[0] == 255 && out[1] == 255 && out[2] == 255 && out[3] == 0 && out[4] == 0 && out[5] == 0,
               "white/black: %d,%d,%d %d,%d,%d", out[0], out[1], out[2], out[3], out[4], out[5]);
  uint8_t red[4] = {81, 90, 81, 240};
  HATCH_EXPECT_OK(c, hatch_yuyv_to_rgb(red, 4, 2, 1, 0, out, 6));
  HATCH_EXPECT(c, out[0] == 255 && out[1] == 0 && out[2] == 0, "red: %d,%d,%d", out[0], out[1], out[2]);
}

/* Every 3rd Y, Cb, Cr value against the float formula: the 8.8 coefficients stay within 1-2 levels. */
static void test_yuv_against_float_formula(hatch_test_ctx *c) {
  int worst = 0;
  for (int y = 0; y < 256; y += 3)
    for (int cb = 0; cb < 256; cb += 3)
      for (int cr = 0; cr < 256; cr += 3) {
        uint8_t px[4] = {(uint8_t)y, (uint8_t)cb, (uint8_t)y, (uint8_t)cr}, out[6];
        if (hatch_yuyv_to_rgb(px, 4, 2, 1, 0, out, 6) != HATCH_OK) continue;
        int ref[3];
        ref_pixel(y, cb, cr, ref);
        for (int i = 0; i < 3; i++) worst = abs(out[i] - ref[i]) > worst ? abs(out[i] - ref[i]) : worst;
      }
  printf("  yuv->rgb max abs difference to the float formula: %d\n", worst);
  HATCH_EXPECT(c, worst <= 2, "max difference %d > 2", worst);
}

static void test_yuv_shapes(hatch_test_ctx *c) {
  uint8_t buf[64] = {0}, rgb[64 * 3];
  HATCH_EXPECT(c, hatch_yuyv_to_rgb(buf, sizeof(buf), 3, 2, 0, rgb, sizeof(rgb)) == HATCH_ERR_SHAPE, "yuyv odd width");
  HATCH_EXPECT(c, hatch_yuyv_to_rgb(buf, sizeof(buf), 0, 2, 0, rgb, sizeof(rgb)) == HATCH_ERR_SHAPE, "yuyv zero width");
  HATCH_EXPECT(c, hatch_yuyv_to_rgb(buf, sizeof(buf), 4, 2, 6, rgb, sizeof(rgb)) == HATCH_ERR_SHAPE, "yuyv stride < 2w");
  HATCH_EXPECT_OK(c, hatch_yuyv_to_rgb(buf, sizeof(buf), 4, 3, 0, rgb, sizeof(rgb))); /* odd height is fine */
  HATCH_EXPECT(c, hatch_yuyv_to_rgb(buf, 23, 4, 3, 0, rgb, sizeof(rgb)) == HATCH_ERR_INVALID_ARGUMENT, "yuyv short src");
  HATCH_EXPECT(c, hatch_yuyv_to_rgb(buf, sizeof(buf), 4, 3, 0, rgb, 35) == HATCH_ERR_INVALID_ARGUMENT, "yuyv short rgb");
  HATCH_EXPECT(c, hatch_nv12_to_rgb(buf, sizeof(buf), 3, 2, 0, rgb, sizeof(rgb)) == HATCH_ERR_SHAPE, "nv12 odd width");
  HATCH_EXPECT(c, hatch_nv12_to_rgb(buf, sizeof(buf), 4, 3, 0, rgb, sizeof(rgb)) == HATCH_ERR_SHAPE, "nv12 odd height");
  HATCH_EXPECT(c, hatch_nv12_to_rgb(buf, sizeof(buf), 4, -2, 0, rgb, sizeof(rgb)) == HATCH_ERR_SHAPE, "nv12 neg height");
  HATCH_EXPECT_OK(c, hatch_nv12_to_rgb(buf, 12, 4, 2, 0, rgb, 24));
  HATCH_EXPECT(c, hatch_nv12_to_rgb(buf, 11, 4, 2, 0, rgb, 24) == HATCH_ERR_INVALID_ARGUMENT, "nv12 short src");
  HATCH_EXPECT(c, hatch_nv12_to_rgb(NULL, 12, 4, 2, 0, rgb, 24) == HATCH_ERR_INVALID_ARGUMENT, "nv12 NULL");
}

int main(int argc, char **argv) {
  const hatch_test_case cases[] = {
      {"jpeg_roundtrip", test_jpeg_roundtrip, false},
      {"jpeg_grayscale", test_jpeg_grayscale, false},
      {"jpeg_truncated", test_jpeg_truncated, false},
      {"jpeg_corrupt_random", test_jpeg_corrupt_random, false},
      {"jpeg_no_huffman_tables", test_jpeg_no_huffman_tables, false},
      {"jpeg_oversized_header", test_jpeg_oversized_header, false},
      {"jpeg_limits_and_args", test_jpeg_limits_and_args, false},
      {"yuv_known_colors", test_yuv_known_colors, false},
      {"yuv_against_float_formula", test_yuv_against_float_formula, false},
      {"yuv_shapes", test_yuv_shapes, false},
  };
  return hatch_test_main(argc, argv, cases, (int)(sizeof(cases) / sizeof(cases[0])));
}
