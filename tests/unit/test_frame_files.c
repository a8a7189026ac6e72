/* File formats of the file:// frame source (drivers/files): PNGs made here with libpng's writer in
 * every colour type decode to the exact pixels; corrupt, truncated and oversized PNGs fail the right
 * way; MJPEG streams of tjCompress2 frames (EXIF thumbnails with FF D9, progressive scans, a
 * hand-made frame with restart markers) split into the exact frames, with garbage and cut-off tails;
 * the capture manifest round-trips, each rule fails with its message, the incremental writer leaves a
 * valid manifest after a "crash"; frame directories list in natural order. CPU only. */
#include <dirent.h>
#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <turbojpeg.h>
#include <unistd.h>

#include "harness.h"
#include "hatch/frame_files.h"

/* ---- helpers ------------------------------------------------------------------------------- */

typedef struct mem {
  uint8_t *p;
  size_t n, cap;
} mem;

static bool mem_put(mem *m, const void *d, size_t n) {
  if (m->n + n > m->cap) {
    size_t cap = m->cap ? m->cap : 256;
    while (cap < m->n + n) cap *= 2;
    uint8_t *p = realloc(m->p, cap);
    if (!p) return false;
    m->p = p, m->cap = cap;
  }
  memcpy(m->p + m->n, d, n);
  m->n += n;
  return true;
}

static uint64_t xorshift(uint64_t *s) {
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return *s;
}

static uint32_t crc32_png(const uint8_t *p, size_t n) {
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; i++) {
    c ^= p[i];
    for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
  }
  return c ^ 0xFFFFFFFFu;
}

static void put_be32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

/* Offset of the first chunk of type `type` in a PNG; 0 if none. */
static size_t png_chunk(const mem *png, const char *type) {
  for (size_t p = 8; p + 12 <= png->n;) {
    uint32_t len = (uint32_t)png->p[p] << 24 | (uint32_t)png->p[p + 1] << 16 | (uint32_t)png->p[p + 2] << 8 | png->p[p + 3];
    if (memcmp(png->p + p + 4, type, 4) == 0) return p;
    p += 12 + (size_t)len;
  }
  return 0;
}

/* ---- PNG ----------------------------------------------------------------------------------- */

static void png_mem_write(png_structp png, png_bytep d, size_t n) {
  if (!mem_put(png_get_io_ptr(png), d, n)) png_error(png, "out of memory");
}
static void png_mem_flush(png_structp png) { (void)png; }

typedef struct png_spec {
  int w, h, color, depth;
  bool interlace, text;
} png_spec;

static int channels_of(int color) { return color == 0 || color == 3 ? 1 : color == 4 ? 2 : color == 2 ? 3 : 4; }

/* Writes a PNG from samples (h, w, channels), one uint16 per sample (palette: the index). */
static bool make_png(hatch_test_ctx *c, const png_spec *s, const uint16_t *samples, const png_color *palette, int n_palette,
                     mem *out) {
  memset(out, 0, sizeof(*out));
  int ch = channels_of(s->color), bps = s->depth == 16 ? 2 : 1;
  size_t row_bytes = (size_t)s->w * ch * bps;
  uint8_t *rows = malloc(row_bytes * s->h);
  png_bytep *ptrs = malloc(sizeof(png_bytep) * s->h);
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
  png_infop info = png ? png_create_info_struct(png) : NULL;
  bool ok = rows && ptrs && info;
  if (ok) {
    for (int y = 0; y < s->h; y++) {
      ptrs[y] = rows + (size_t)y * row_bytes;
      for (int i = 0; i < s->w * ch; i++) {
        uint16_t v = samples[(size_t)y * s->w * ch + i];
        if (bps == 2) ptrs[y][2 * i] = (uint8_t)(v >> 8), ptrs[y][2 * i + 1] = (uint8_t)v;
        else ptrs[y][i] = (uint8_t)v;
      }
    }
    if (setjmp(png_jmpbuf(png))) {
      ok = false;
    } else {
      png_set_write_fn(png, out, png_mem_write, png_mem_flush);
      png_set_IHDR(png, info, (png_uint_32)s->w, (png_uint_32)s->h, s->depth, s->color,
                   s->interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                   PNG_FILTER_TYPE_DEFAULT);
      if (palette) png_set_PLTE(png, info, palette, n_palette);
      if (s->color == PNG_COLOR_TYPE_PALETTE) {
        png_byte trans[2] = {0, 128}; /* transparency the decoder must ignore (as for gray below) */
        png_set_tRNS(png, info, trans, 2, NULL);
      }
      if (s->color == PNG_COLOR_TYPE_GRAY) {
        png_color_16 key = {.gray = 1};
        png_set_tRNS(png, info, NULL, 0, &key);
      }
      png_text text = {.compression = PNG_TEXT_COMPRESSION_NONE, .key = "Comment", .text = "hatch test"};
      if (s->text) png_set_text(png, info, &text, 1);
      png_write_info(png, info);
      if (s->depth < 8) png_set_packing(png); /* one sample per byte in, packed out */
      png_write_image(png, ptrs);
      png_write_end(png, NULL);
    }
  }
  png_destroy_write_struct(png ? &png : NULL, info ? &info : NULL);
  free(rows);
  free(ptrs);
  HATCH_EXPECT(c, ok, "libpng could not write %dx%d color %d depth %d", s->w, s->h, s->color, s->depth);
  if (!ok) free(out->p), out->p = NULL;
  return ok;
}

/* The RGB8 a sample array must decode to: 16-bit -> high byte, low gray depths scaled to 0..255,
 * palette looked up, alpha dropped. */
static void expected_rgb(const png_spec *s, const uint16_t *samples, const png_color *palette, uint8_t *rgb) {
  int ch = channels_of(s->color);
  for (int i = 0; i < s->w * s->h; i++) {
    const uint16_t *px = samples + (size_t)i * ch;
    uint8_t *o = rgb + (size_t)i * 3;
    if (s->color == PNG_COLOR_TYPE_PALETTE) {
      o[0] = palette[px[0]].red, o[1] = palette[px[0]].green, o[2] = palette[px[0]].blue;
      continue;
    }
    for (int k = 0; k < 3; k++) {
      uint16_t v = px[ch >= 3 ? k : 0];
      o[k] = (uint8_t)(s->depth == 16 ? v >> 8 : s->depth < 8 ? v * 255 / ((1 << s->depth) - 1) : v);
    }
  }
}

static void test_png_formats(hatch_test_ctx *c) {
  const png_spec specs[] = {
      {13, 7, PNG_COLOR_TYPE_RGB, 8, false, false},        {13, 7, PNG_COLOR_TYPE_RGB_ALPHA, 8, false, true},
      {13, 7, PNG_COLOR_TYPE_GRAY, 8, false, false},       {13, 7, PNG_COLOR_TYPE_GRAY, 1, false, false},
      {13, 7, PNG_COLOR_TYPE_GRAY, 2, false, false},       {13, 7, PNG_COLOR_TYPE_GRAY, 4, false, false},
      {13, 7, PNG_COLOR_TYPE_GRAY_ALPHA, 8, false, false}, {13, 7, PNG_COLOR_TYPE_PALETTE, 8, false, false},
      {13, 7, PNG_COLOR_TYPE_PALETTE, 4, false, false},    {13, 7, PNG_COLOR_TYPE_RGB, 16, false, false},
      {13, 7, PNG_COLOR_TYPE_RGB_ALPHA, 16, false, false}, {13, 7, PNG_COLOR_TYPE_GRAY, 16, false, false},
      {13, 7, PNG_COLOR_TYPE_RGB, 8, true, false},         {37, 23, PNG_COLOR_TYPE_PALETTE, 2, true, false},
      {37, 23, PNG_COLOR_TYPE_GRAY_ALPHA, 16, true, false}, {1, 1, PNG_COLOR_TYPE_RGB, 8, true, false},
      {640, 480, PNG_COLOR_TYPE_RGB, 8, false, false},
  };
  uint64_t rng = 0x9E3779B97F4A7C15ull;
  png_color palette[256];
  for (int i = 0; i < 256; i++)
    palette[i] = (png_color){(png_byte)i, (png_byte)(255 - i), (png_byte)(i * 7)};
  for (size_t t = 0; t < sizeof(specs) / sizeof(specs[0]); t++) {
    const png_spec *s = &specs[t];
    int ch = channels_of(s->color);
    size_t n_px = (size_t)s->w * s->h;
    uint16_t *samples = malloc(n_px * ch * sizeof(uint16_t)); /* (h, w, ch) */
    uint8_t *want = malloc(n_px * 3), *got = malloc(n_px * 3); /* (h, w, 3) */
    mem png;
    if (!samples || !want || !got) goto next;
    int max = (1 << s->depth) - 1;
    for (size_t i = 0; i < n_px * ch; i++) samples[i] = (uint16_t)(xorshift(&rng) % ((uint64_t)max + 1));
    if (!make_png(c, s, samples, s->color == PNG_COLOR_TYPE_PALETTE ? palette : NULL, 1 << (s->depth > 8 ? 8 : s->depth), &png))
      goto next;
    expected_rgb(s, samples, palette, want);
    int w = 0, h = 0;
    HATCH_EXPECT_OK(c, hatch_png_probe(png.p, png.n, &w, &h));
    HATCH_EXPECT(c, w == s->w && h == s->h, "probe %dx%d", w, h);
    hatch_decode_report rep;
    memset(got, 0xAB, n_px * 3);
    hatch_status st = hatch_png_decode_rgb(png.p, png.n, NULL, got, n_px * 3, &rep);
    HATCH_EXPECT(c, st == HATCH_OK, "color %d depth %d interlace %d: %s '%s'", s->color, s->depth, s->interlace,
                 hatch_status_name(st), rep.message);
    HATCH_EXPECT(c, rep.width == s->w && rep.height == s->h && !rep.warning, "report %dx%d warning %d '%s'", rep.width,
                 rep.height, rep.warning, rep.message);
    size_t diff = 0;
    for (size_t i = 0; i < n_px * 3; i++) diff += got[i] != want[i];
    HATCH_EXPECT(c, diff == 0, "color %d depth %d interlace %d %dx%d: %zu bytes differ", s->color, s->depth, s->interlace,
                 s->w, s->h, diff);
    free(png.p);
  next:
    free(samples);
    free(want);
    free(got);
  }
}

static bool make_rgb_png(hatch_test_ctx *c, int w, int h, bool text, mem *png) {
  png_spec s = {w, h, PNG_COLOR_TYPE_RGB, 8, false, text};
  uint16_t *samples = malloc((size_t)w * h * 3 * sizeof(uint16_t));
  if (!samples) return false;
  for (int i = 0; i < w * h * 3; i++) samples[i] = (uint16_t)((i * 37) & 255);
  bool ok = make_png(c, &s, samples, NULL, 0, png);
  free(samples);
  return ok;
}

static void test_png_corrupt(hatch_test_ctx *c) {
  mem png;
  if (!make_rgb_png(c, 32, 16, true, &png)) return;
  uint8_t rgb[32 * 16 * 3];
  struct { const char *chunk; size_t at; const char *what; } flips[] = {
      {"IDAT", 8 + 5, "IDAT data byte (CRC mismatch)"}, {"IDAT", 0, "IDAT CRC"}, {"tEXt", 8 + 2, "tEXt (ancillary) data"},
      {"IEND", 8, "IEND CRC"},
  };
  for (size_t i = 0; i < sizeof(flips) / sizeof(flips[0]); i++) {
    size_t p = png_chunk(&png, flips[i].chunk);
    HATCH_EXPECT(c, p != 0, "no %s chunk", flips[i].chunk);
    if (!p) continue;
    size_t len = (size_t)png.p[p] << 24 | (size_t)png.p[p + 1] << 16 | (size_t)png.p[p + 2] << 8 | png.p[p + 3];
    size_t at = flips[i].at ? p + flips[i].at : p + 8 + len; /* 0: the CRC's first byte */
    png.p[at] ^= 0x40;
    hatch_decode_report rep;
    hatch_status st = hatch_png_decode_rgb(png.p, png.n, NULL, rgb, sizeof(rgb), &rep);
    HATCH_EXPECT(c, st == HATCH_ERR_CORRUPT && strstr(rep.message, "libpng"), "%s flipped: %s '%s'", flips[i].what,
                 hatch_status_name(st), rep.message);
    if (!flips[i].at) HATCH_EXPECT(c, strstr(rep.message, "CRC") != NULL, "CRC error message: '%s'", rep.message);
    png.p[at] ^= 0x40;
  }
  HATCH_EXPECT_OK(c, hatch_png_decode_rgb(png.p, png.n, NULL, rgb, sizeof(rgb), NULL)); /* restored */
  /* Truncated anywhere: never HATCH_OK (IEND is required), never a crash. */
  for (size_t cut = 0; cut < png.n; cut += cut < 64 ? 1 : 7) {
    uint8_t *t = malloc(cut ? cut : 1);
    if (!t) continue;
    memcpy(t, png.p, cut);
    hatch_decode_report rep;
    hatch_status st = hatch_png_decode_rgb(t, cut, NULL, rgb, sizeof(rgb), &rep);
    HATCH_EXPECT(c, st == HATCH_ERR_CORRUPT, "cut at %zu of %zu: %s", cut, png.n, hatch_status_name(st));
    free(t);
  }
  /* An IHDR CRC error is caught by the probe already. */
  png.p[8 + 8 + 3] ^= 1;
  int w, h;
  HATCH_EXPECT(c, hatch_png_probe(png.p, png.n, &w, &h) == HATCH_ERR_CORRUPT, "IHDR CRC not checked");
  free(png.p);
  const uint8_t jpeg_like[40] = {0xFF, 0xD8, 0xFF};
  HATCH_EXPECT(c, hatch_png_probe(jpeg_like, sizeof(jpeg_like), &w, &h) == HATCH_ERR_CORRUPT, "a JPEG is not a PNG");
}

/* Signature + IHDR only, with a correct CRC: the limits must refuse it before libpng reads on (a
 * file that ends after IHDR would otherwise be CORRUPT). */
static void make_ihdr_only(uint8_t out[33], uint32_t w, uint32_t h) {
  static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
  memcpy(out, sig, 8);
  put_be32(out + 8, 13);
  memcpy(out + 12, "IHDR", 4);
  put_be32(out + 16, w);
  put_be32(out + 20, h);
  out[24] = 8, out[25] = 2, out[26] = 0, out[27] = 0, out[28] = 0;
  put_be32(out + 29, crc32_png(out + 12, 17));
}

static void test_png_limits(hatch_test_ctx *c) {
  uint8_t hdr[33], rgb[64 * 3];
  make_ihdr_only(hdr, 100000, 100000);
  int w = 0, h = 0;
  HATCH_EXPECT_OK(c, hatch_png_probe(hdr, sizeof(hdr), &w, &h));
  HATCH_EXPECT(c, w == 100000 && h == 100000, "probe %dx%d", w, h);
  hatch_decode_report rep;
  hatch_status st = hatch_png_decode_rgb(hdr, sizeof(hdr), NULL, rgb, sizeof(rgb), &rep);
  HATCH_EXPECT(c, st == HATCH_ERR_TOO_LARGE && rep.width == 100000, "100000x100000: %s", hatch_status_name(st));
  make_ihdr_only(hdr, 0x80000000u, 1);
  HATCH_EXPECT(c, hatch_png_probe(hdr, sizeof(hdr), &w, &h) == HATCH_ERR_CORRUPT, "width 2^31 accepted");
  make_ihdr_only(hdr, 0, 1);
  HATCH_EXPECT(c, hatch_png_probe(hdr, sizeof(hdr), &w, &h) == HATCH_ERR_CORRUPT, "width 0 accepted");

  mem png;
  if (!make_rgb_png(c, 40, 30, false, &png)) return;
  uint8_t *big = malloc(40 * 30 * 3);
  if (big) {
    hatch_jpeg_limits lim = {39, 1000, 1000000};
    HATCH_EXPECT(c, hatch_png_decode_rgb(png.p, png.n, &lim, big, 40 * 30 * 3, NULL) == HATCH_ERR_TOO_LARGE, "width limit");
    lim = (hatch_jpeg_limits){1000, 29, 1000000};
    HATCH_EXPECT(c, hatch_png_decode_rgb(png.p, png.n, &lim, big, 40 * 30 * 3, NULL) == HATCH_ERR_TOO_LARGE, "height limit");
    lim = (hatch_jpeg_limits){1000, 1000, 1199};
    HATCH_EXPECT(c, hatch_png_decode_rgb(png.p, png.n, &lim, big, 40 * 30 * 3, NULL) == HATCH_ERR_TOO_LARGE, "pixel limit");
    lim = (hatch_jpeg_limits){40, 30, 1200};
    HATCH_EXPECT_OK(c, hatch_png_decode_rgb(png.p, png.n, &lim, big, 40 * 30 * 3, NULL));
    lim.max_pixels = 0;
    HATCH_EXPECT(c, hatch_png_decode_rgb(png.p, png.n, &lim, big, 40 * 30 * 3, NULL) == HATCH_ERR_INVALID_ARGUMENT, "limit 0");
    st = hatch_png_decode_rgb(png.p, png.n, NULL, big, 40 * 30 * 3 - 1, &rep);
    HATCH_EXPECT(c, st == HATCH_ERR_SHAPE && rep.width == 40 && rep.height == 30, "short buffer: %s", hatch_status_name(st));
    HATCH_EXPECT(c, hatch_png_decode_rgb(NULL, 0, NULL, big, 1, NULL) == HATCH_ERR_INVALID_ARGUMENT, "NULL data");
  }
  free(big);
  free(png.p);
}

/* An sBIT chunk with a 0 bit depth is invalid but harmless: libpng warns, the frame is kept. */
static void test_png_warning(hatch_test_ctx *c) {
  mem png, out = {0};
  if (!make_rgb_png(c, 8, 8, false, &png)) return;
  uint8_t chunk[15] = {0, 0, 0, 3, 's', 'B', 'I', 'T', 0, 0, 0};
  put_be32(chunk + 11, crc32_png(chunk + 4, 7));
  size_t after_ihdr = 8 + 25;
  bool ok = mem_put(&out, png.p, after_ihdr) && mem_put(&out, chunk, sizeof(chunk)) &&
            mem_put(&out, png.p + after_ihdr, png.n - after_ihdr);
  uint8_t rgb[8 * 8 * 3], want[8 * 8 * 3];
  if (ok) {
    HATCH_EXPECT_OK(c, hatch_png_decode_rgb(png.p, png.n, NULL, want, sizeof(want), NULL));
    hatch_decode_report rep;
    HATCH_EXPECT_OK(c, hatch_png_decode_rgb(out.p, out.n, NULL, rgb, sizeof(rgb), &rep));
    HATCH_EXPECT(c, rep.warning && strstr(rep.message, "sBIT"), "warning %d '%s'", rep.warning, rep.message);
    HATCH_EXPECT(c, memcmp(rgb, want, sizeof(rgb)) == 0, "pixels differ after a warning");
  }
  free(out.p);
  free(png.p);
}

/* ---- MJPEG ----------------------------------------------------------------------------------- */

static bool make_jpeg(hatch_test_ctx *c, int w, int h, int flags, uint64_t seed, mem *out) {
  memset(out, 0, sizeof(*out));
  uint8_t *rgb = malloc((size_t)w * h * 3);
  tjhandle tj = tjInitCompress();
  unsigned char *buf = NULL;
  unsigned long size = 0;
  bool ok = rgb && tj;
  if (ok) {
    for (int i = 0; i < w * h * 3; i++) rgb[i] = (uint8_t)xorshift(&seed); /* noise: FF 00 stuffing is certain */
    ok = tjCompress2(tj, rgb, w, 0, h, TJPF_RGB, &buf, &size, TJSAMP_420, 95, flags) == 0 && mem_put(out, buf, size);
  }
  HATCH_EXPECT(c, ok, "tjCompress2 %dx%d failed", w, h);
  tjFree(buf);
  if (tj) tjDestroy(tj);
  free(rgb);
  return ok;
}

/* A JPEG with an APP1/EXIF segment after SOI that holds a thumbnail's FF D8 ... FF D9. */
static bool add_exif(const mem *jpeg, mem *out) {
  static const uint8_t thumb[] = {'E', 'x', 'i', 'f', 0, 0, 'M', 'M', 0, 42, 0xFF, 0xD8, 0xFF, 0xDB, 1, 2, 3,
                                  0xFF, 0xD9, 0xFF, 0xD9, 0xFF, 0x00, 7};
  uint8_t seg[4] = {0xFF, 0xE1, 0, (uint8_t)(2 + sizeof(thumb))};
  memset(out, 0, sizeof(*out));
  return mem_put(out, jpeg->p, 2) && mem_put(out, seg, 4) && mem_put(out, thumb, sizeof(thumb)) &&
         mem_put(out, jpeg->p + 2, jpeg->n - 2);
}

/* Hand-made frame (not decodable): DRI, then scan data with FF 00 stuffing, RST0/RST1/RST2, FF fill
 * bytes before a marker; TurboJPEG 2.1 cannot write restart markers. */
static const uint8_t rst_frame[] = {
    0xFF, 0xD8,                                                                   /* SOI */
    0xFF, 0xC0, 0, 11, 8, 0, 8, 0, 8, 1, 1, 0x11, 0,                              /* SOF0 8x8 gray */
    0xFF, 0xDD, 0, 4, 0, 1,                                                       /* DRI */
    0xFF, 0xFF, 0xDA, 0, 8, 1, 1, 0, 0, 0x3F, 0,                                  /* fill + SOS */
    0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD0, 0x56, 0xFF, 0x00, 0xFF, 0xD1, 0x78, 0xFF, 0xFF, 0xD2, 0x9A, /* scan */
    0xFF, 0xFF, 0xD9,                                                             /* fill + EOI */
};

typedef struct stream {
  mem data;
  hatch_mjpeg_span want[8];
  int n;
} stream;

static bool stream_add(stream *s, const void *d, size_t n, bool is_frame) {
  if (is_frame) s->want[s->n++] = (hatch_mjpeg_span){s->data.n, n};
  return mem_put(&s->data, d, n);
}

static void expect_split(hatch_test_ctx *c, const stream *s, const char *what) {
  size_t off = 0, start, size;
  for (int i = 0; i < s->n; i++) {
    hatch_status st = hatch_mjpeg_next(s->data.p, s->data.n, &off, &start, &size);
    HATCH_EXPECT(c, st == HATCH_OK && start == s->want[i].offset && size == s->want[i].size,
                 "%s frame %d: %s at %zu+%zu, want %zu+%zu", what, i, hatch_status_name(st), start, size,
                 s->want[i].offset, s->want[i].size);
  }
  HATCH_EXPECT(c, hatch_mjpeg_next(s->data.p, s->data.n, &off, &start, &size) == HATCH_ERR_NOT_FOUND, "%s: no clean end", what);
  hatch_mjpeg_index idx;
  HATCH_EXPECT_OK(c, hatch_mjpeg_index_build(s->data.p, s->data.n, 0, false, &idx, NULL));
  HATCH_EXPECT(c, idx.count == (size_t)s->n, "%s: index has %zu frames, want %d", what, idx.count, s->n);
  for (size_t i = 0; i < idx.count && i < (size_t)s->n; i++)
    HATCH_EXPECT(c, idx.frames[i].offset == s->want[i].offset && idx.frames[i].size == s->want[i].size, "%s: index[%zu]", what, i);
  hatch_mjpeg_index_free(&idx);
}

static void test_mjpeg_split(hatch_test_ctx *c) {
  mem a, b, p, exif = {0};
  if (!make_jpeg(c, 64, 48, 0, 1, &a) || !make_jpeg(c, 33, 17, 0, 2, &b) || !make_jpeg(c, 40, 24, TJFLAG_PROGRESSIVE, 3, &p) ||
      !add_exif(&b, &exif))
    return;
  /* The test means something: a naive FF D9 search would end the EXIF frame inside APP1. */
  size_t naive = 0;
  for (size_t i = 0; i + 1 < exif.n; i++)
    if (exif.p[i] == 0xFF && exif.p[i + 1] == 0xD9) {
      naive = i + 2;
      break;
    }
  HATCH_EXPECT(c, naive > 0 && naive < exif.n, "EXIF frame has no early FF D9");
  bool stuffed = false;
  for (size_t i = 0; i + 1 < a.n; i++) stuffed |= a.p[i] == 0xFF && a.p[i + 1] == 0x00;
  HATCH_EXPECT(c, stuffed, "noise frame has no FF 00 stuffing");

  stream s = {0};
  stream_add(&s, a.p, a.n, true);
  stream_add(&s, exif.p, exif.n, true);
  stream_add(&s, rst_frame, sizeof(rst_frame), true);
  stream_add(&s, p.p, p.n, true);
  stream_add(&s, a.p, a.n, true);
  expect_split(c, &s, "clean stream");

  /* The split frames decode. */
  hatch_jpeg_decoder *dec = NULL;
  uint8_t *rgb = malloc(64 * 48 * 3);
  if (hatch_jpeg_decoder_create(NULL, &dec) == HATCH_OK && rgb) {
    int frames[] = {0, 1, 3, 4};
    for (int i = 0; i < 4; i++) {
      hatch_mjpeg_span f = s.want[frames[i]];
      HATCH_EXPECT_OK(c, hatch_jpeg_decode_rgb(dec, s.data.p + f.offset, f.size, rgb, 64 * 48 * 3, NULL));
    }
  }
  hatch_jpeg_decoder_destroy(dec);
  free(rgb);

  /* An empty stream ends at once. */
  size_t off = 0, start, size;
  HATCH_EXPECT(c, hatch_mjpeg_next(NULL, 0, &off, &start, &size) == HATCH_ERR_NOT_FOUND, "empty stream");
  free(s.data.p);
  free(a.p), free(b.p), free(p.p), free(exif.p);
}

static void test_mjpeg_damage(hatch_test_ctx *c) {
  mem a, b;
  if (!make_jpeg(c, 32, 32, 0, 4, &a) || !make_jpeg(c, 16, 16, 0, 5, &b)) return;
  static const uint8_t garbage[] = {0x00, 0x11, 0xFF, 0xD8, 0xFF, 0x42, 0x00, 0xFF, 0xD9, 0x77}; /* fake SOI inside */
  stream s = {0};
  stream_add(&s, a.p, a.n, true);
  stream_add(&s, garbage, sizeof(garbage), false);
  stream_add(&s, b.p, b.n, true);
  stream_add(&s, a.p, a.n / 2, false); /* cut off mid-scan, then a whole frame: SOI inside a frame */
  stream_add(&s, b.p, b.n, true);
  stream_add(&s, a.p, a.n - 1, false); /* truncated tail: EOI's last byte missing */
  size_t off = 0, start, size, skipped;
  hatch_file_error err;

  /* Strict: the first frame, then an error naming the garbage's offset. */
  HATCH_EXPECT_OK(c, hatch_mjpeg_next(s.data.p, s.data.n, &off, &start, &size));
  hatch_status st = hatch_mjpeg_next_ex(s.data.p, s.data.n, &off, false, &start, &size, NULL, &err);
  char want_at[32];
  snprintf(want_at, sizeof(want_at), "offset %zu:", a.n);
  HATCH_EXPECT(c, st == HATCH_ERR_CORRUPT && off == a.n && strstr(err.message, want_at), "garbage: %s '%s'",
               hatch_status_name(st), err.message);
  hatch_mjpeg_index idx;
  HATCH_EXPECT(c, hatch_mjpeg_index_build(s.data.p, s.data.n, 0, false, &idx, &err) == HATCH_ERR_CORRUPT && idx.count == 0 &&
                   !idx.frames, "strict index of a damaged stream");

  /* Resync: every whole frame, the damage skipped and counted, then CORRUPT at the tail, then the end. */
  off = 0;
  for (int i = 0; i < s.n; i++) {
    st = hatch_mjpeg_next_ex(s.data.p, s.data.n, &off, true, &start, &size, &skipped, &err);
    HATCH_EXPECT(c, st == HATCH_OK && start == s.want[i].offset && size == s.want[i].size, "resync frame %d: %s at %zu", i,
                 hatch_status_name(st), start);
    if (i == 1) HATCH_EXPECT(c, skipped == sizeof(garbage) && err.message[0], "skipped %zu '%s'", skipped, err.message);
    if (i == 2) HATCH_EXPECT(c, skipped == a.n / 2 && strstr(err.message, "SOI inside"), "skipped %zu '%s'", skipped, err.message);
  }
  st = hatch_mjpeg_next_ex(s.data.p, s.data.n, &off, true, &start, &size, &skipped, &err);
  HATCH_EXPECT(c, st == HATCH_ERR_CORRUPT && off == s.data.n && strstr(err.message, "truncated"), "tail: %s '%s'",
               hatch_status_name(st), err.message);
  HATCH_EXPECT(c, hatch_mjpeg_next_ex(s.data.p, s.data.n, &off, true, &start, &size, &skipped, &err) == HATCH_ERR_NOT_FOUND,
               "after the tail");

  HATCH_EXPECT_OK(c, hatch_mjpeg_index_build(s.data.p, s.data.n, 0, true, &idx, &err));
  HATCH_EXPECT(c, idx.count == 3 && idx.skips == 3 && idx.skipped_bytes == sizeof(garbage) + a.n / 2 + a.n - 1,
               "resync index: %zu frames, %zu skips, %zu bytes", idx.count, idx.skips, idx.skipped_bytes);
  hatch_mjpeg_index_free(&idx);
  HATCH_EXPECT(c, hatch_mjpeg_index_build(s.data.p, s.data.n, 2, true, &idx, &err) == HATCH_ERR_TOO_LARGE, "max_frames cap");

  /* A frame without a scan, a bad segment length. */
  static const uint8_t no_scan[] = {0xFF, 0xD8, 0xFF, 0xE0, 0, 4, 1, 2, 0xFF, 0xD9};
  static const uint8_t bad_len[] = {0xFF, 0xD8, 0xFF, 0xE0, 0, 1, 0xFF, 0xD9};
  off = 0;
  HATCH_EXPECT(c, hatch_mjpeg_next(no_scan, sizeof(no_scan), &off, &start, &size) == HATCH_ERR_CORRUPT && off == 0, "no SOS");
  HATCH_EXPECT(c, hatch_mjpeg_next(bad_len, sizeof(bad_len), &off, &start, &size) == HATCH_ERR_CORRUPT, "length 1");
  /* Every prefix of a frame is truncated, never a frame. */
  for (size_t cut = 0; cut < b.n; cut++) {
    off = 0;
    st = hatch_mjpeg_next(b.p, cut, &off, &start, &size);
    HATCH_EXPECT(c, st == (cut ? HATCH_ERR_CORRUPT : HATCH_ERR_NOT_FOUND), "prefix %zu: %s", cut, hatch_status_name(st));
  }
  free(s.data.p);
  free(a.p), free(b.p);
}

/* ---- capture manifest ------------------------------------------------------------------------ */

static void rm_dir(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return;
  struct dirent *e;
  char path[512];
  while ((e = readdir(d)))
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
      snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
      if (rmdir(path) != 0) unlink(path);
    }
  closedir(d);
  rmdir(dir);
}

static bool make_tmpdir(hatch_test_ctx *c, char *out, size_t cap) {
  snprintf(out, cap, "/tmp/hatch_frame_files_XXXXXX");
  bool ok = mkdtemp(out) != NULL;
  HATCH_EXPECT(c, ok, "mkdtemp failed");
  return ok;
}

static void sample_header(hatch_capture_header *h, int n_cameras) {
  memset(h, 0, sizeof(*h));
  snprintf(h->created_utc, sizeof(h->created_utc), "2026-11-21T15:00:00.123Z");
  h->tolerance_ns = 10000000;
  h->n_cameras = n_cameras;
  const char *names[] = {"front", "left", "right", "rear"};
  for (int i = 0; i < n_cameras; i++) {
    hatch_capture_camera *cam = &h->cameras[i];
    cam->index = i;
    snprintf(cam->name, sizeof(cam->name), "%s", names[i % 4]);
    snprintf(cam->uri, sizeof(cam->uri), i == 1 ? "v4l2:///dev/v \"quoted\" \\ %d" : "fake://%d", i);
    cam->width = 640 + i, cam->height = 480 - i;
    snprintf(cam->pixel_format, sizeof(cam->pixel_format), i ? "YUYV" : "MJPG");
    cam->fps = i ? 29.97 : 30;
  }
}

/* n sets over n_cameras cameras; camera (i % n_cameras) is missing in every third set. */
typedef struct sample_sets {
  hatch_capture_set sets[16];
  hatch_capture_frame frames[16][4];
  char names[16][4][32];
} sample_sets;

static void make_sets(sample_sets *s, int n, int n_cameras) {
  for (int i = 0; i < n; i++) {
    hatch_capture_set *set = &s->sets[i];
    set->index = i + (i > 5); /* a gap: a dropped set */
    set->ts_ns = HATCH_CAPTURE_INT_MAX - 100 + i * 3; /* just under 2^53: still exact */
    set->skew_ns = 1200000 + i;
    set->frames = s->frames[i];
    for (int k = 0; k < n_cameras; k++) {
      hatch_capture_frame *f = &s->frames[i][k];
      memset(f, 0, sizeof(*f));
      if (i % 3 == 2 && k == i % n_cameras) {
        f->missing = true;
        continue;
      }
      snprintf(s->names[i][k], sizeof(s->names[i][k]), "%06d_cam%d.jpg", i, k);
      f->file = s->names[i][k];
      f->ts_ns = set->ts_ns - k;
      f->seq = (uint64_t)(17 + i * 2 + k);
    }
  }
}

static bool manifest_equal(hatch_test_ctx *c, const hatch_capture_manifest *a, const hatch_capture_manifest *b) {
  bool eq = a->n_sets == b->n_sets && a->complete == b->complete &&
            memcmp(&a->header, &b->header, sizeof(a->header)) == 0 && memcmp(&a->stats, &b->stats, sizeof(a->stats)) == 0;
  for (size_t i = 0; eq && i < a->n_sets; i++) {
    const hatch_capture_set *x = &a->sets[i], *y = &b->sets[i];
    eq = x->index == y->index && x->ts_ns == y->ts_ns && x->skew_ns == y->skew_ns;
    for (int k = 0; eq && k < a->header.n_cameras; k++) {
      const hatch_capture_frame *f = &x->frames[k], *g = &y->frames[k];
      eq = f->missing == g->missing && f->ts_ns == g->ts_ns && f->seq == g->seq &&
           (f->missing || (f->file && g->file && strcmp(f->file, g->file) == 0));
      if (!eq) HATCH_EXPECT(c, false, "sets[%zu].frames[%d] differ", i, k);
    }
  }
  return eq;
}

static void test_manifest_roundtrip(hatch_test_ctx *c) {
  char dir[64], path[128];
  if (!make_tmpdir(c, dir, sizeof(dir))) return;
  snprintf(path, sizeof(path), "%s/manifest.json", dir);
  static sample_sets ss;
  hatch_capture_manifest m = {.complete = true, .n_sets = 9, .sets = ss.sets};
  sample_header(&m.header, 3);
  make_sets(&ss, 9, 3);
  m.stats.sets = 9, m.stats.sets_dropped = 1;
  for (int k = 0; k < 3; k++) m.stats.cameras[k] = (hatch_capture_camera_stats){8 + k, (uint64_t)k, 1, 2, 3};
  hatch_file_error err;
  hatch_status st = hatch_capture_manifest_write(path, &m, &err);
  HATCH_EXPECT(c, st == HATCH_OK, "write: %s '%s'", hatch_status_name(st), err.message);
  hatch_capture_manifest back;
  st = hatch_capture_manifest_load(path, &back, &err);
  HATCH_EXPECT(c, st == HATCH_OK, "load: %s '%s'", hatch_status_name(st), err.message);
  if (st == HATCH_OK) HATCH_EXPECT(c, manifest_equal(c, &m, &back), "round trip differs");
  hatch_capture_manifest_free(&back);
  hatch_capture_manifest_free(&back); /* twice: zeroed, harmless */
  char tmp[160];
  snprintf(tmp, sizeof(tmp), "%s.tmp", path);
  HATCH_EXPECT(c, access(tmp, F_OK) != 0, "temp file left behind");

  /* Refused before anything is written: a hostile file name. */
  ss.frames[4][0].file = "../../etc/passwd";
  char path2[128];
  snprintf(path2, sizeof(path2), "%s/other.json", dir);
  st = hatch_capture_manifest_write(path2, &m, &err);
  HATCH_EXPECT(c, st == HATCH_ERR_CORRUPT && strstr(err.message, "sets[4].frames[0].file") && access(path2, F_OK) != 0,
               "hostile name written: %s '%s'", hatch_status_name(st), err.message);
  snprintf(path2, sizeof(path2), "%s/missing.json", dir);
  HATCH_EXPECT(c, hatch_capture_manifest_load(path2, &back, &err) == HATCH_ERR_NOT_FOUND, "load of a missing file");
  rm_dir(dir);
}

static void test_manifest_file_names(hatch_test_ctx *c) {
  char long_name[300];
  memset(long_name, 'a', sizeof(long_name));
  long_name[256] = '\0'; /* 256 bytes */
  const char *bad[] = {"", ".", "..", "../x.jpg", "a/b.jpg", "/etc/passwd", "a\\b.jpg", "x..jpg", "a\nb.jpg", "tab\t.jpg",
                       long_name};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    HATCH_EXPECT(c, !hatch_capture_file_name_ok(bad[i]), "hostile name %zu accepted", i);
  HATCH_EXPECT(c, !hatch_capture_file_name_ok(NULL), "NULL accepted");
  long_name[255] = '\0';
  const char *good[] = {"000000_front.jpg", "a.b.png", ".hidden", "with space.jpg", "caf\xc3\xa9.jpg", long_name};
  for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
    HATCH_EXPECT(c, hatch_capture_file_name_ok(good[i]), "good name %zu refused", i);
}

static const char base_manifest[] =
    "{\"format\": \"hatch-capture\", \"version\": 1, \"created_utc\": \"2026-11-21T15:00:00Z\", \"tolerance_ns\": 10000000,\n"
    " \"extra_key_ignored\": [1, 2],\n"
    " \"cameras\": [{\"index\": 0, \"name\": \"front\", \"uri\": \"fake://0\", \"width\": 640, \"height\": 480, \"pixel_format\": \"MJPG\", \"fps\": 30},\n"
    "             {\"index\": 1, \"name\": \"left\", \"uri\": \"fake://1\", \"width\": 640, \"height\": 480, \"pixel_format\": \"YUYV\", \"fps\": 30}],\n"
    " \"sets\": [{\"index\": 0, \"ts_ns\": 1000, \"skew_ns\": 5, \"frames\": [{\"camera\": 0, \"file\": \"0_front.jpg\", \"ts_ns\": 1000, \"seq\": 1}, {\"camera\": 1, \"file\": \"0_left.jpg\", \"ts_ns\": 995, \"seq\": 1}]},\n"
    "          {\"index\": 1, \"ts_ns\": 2000, \"skew_ns\": 0, \"frames\": [{\"camera\": 0, \"file\": \"1_front.jpg\", \"ts_ns\": 2000, \"seq\": 2}, {\"camera\": 1, \"missing\": true}]}],\n"
    " \"stats\": {\"sets\": 2, \"sets_dropped\": 0, \"cameras\": [{\"index\": 0, \"frames\": 2, \"dropped\": 0, \"corrupt\": 0, \"error_flagged\": 0, \"disconnects\": 0},\n"
    "                                                {\"index\": 1, \"frames\": 1, \"dropped\": 0, \"corrupt\": 0, \"error_flagged\": 0, \"disconnects\": 0}]}}\n";

/* base_manifest with the first `from` replaced by `to`. */
static char *mutate(const char *from, const char *to) {
  const char *at = strstr(base_manifest, from);
  if (!at) return NULL;
  size_t n = strlen(base_manifest) - strlen(from) + strlen(to);
  char *s = malloc(n + 1);
  if (!s) return NULL;
  size_t pre = (size_t)(at - base_manifest);
  memcpy(s, base_manifest, pre);
  strcpy(s + pre, to);
  strcat(s, at + strlen(from));
  return s;
}

static void test_manifest_rules(hatch_test_ctx *c) {
  hatch_capture_manifest m;
  hatch_file_error err;
  hatch_status st = hatch_capture_manifest_parse(base_manifest, strlen(base_manifest), "manifest.json", &m, &err);
  HATCH_EXPECT(c, st == HATCH_OK, "base: %s '%s'", hatch_status_name(st), err.message);
  if (st == HATCH_OK) {
    HATCH_EXPECT(c, m.n_sets == 2 && m.header.n_cameras == 2 && m.complete && m.sets[1].frames[1].missing &&
                        !m.sets[1].frames[1].file && strcmp(m.sets[0].frames[1].file, "0_left.jpg") == 0 &&
                        m.sets[0].frames[1].ts_ns == 995 && m.stats.cameras[1].frames == 1,
                 "base parsed wrong");
    hatch_capture_manifest_free(&m);
  }
  struct { const char *from, *to; hatch_status st; const char *msg; } cases[] = {
      {"\"camera\": 1, \"file\": \"0_left", "\"camera\": 7, \"file\": \"0_left", HATCH_ERR_CORRUPT,
       "manifest.json: sets[0].frames[1].camera 7 is not a camera index (0..1)"},
      {"\"camera\": 1, \"missing", "\"camera\": 0, \"missing", HATCH_ERR_CORRUPT, "sets[1].frames[1].camera 0 is out of order"},
      {"\"hatch-capture\"", "\"hatch-capture2\"", HATCH_ERR_UNSUPPORTED, "format \"hatch-capture2\""},
      {"\"version\": 1", "\"version\": 2", HATCH_ERR_UNSUPPORTED, "version 2 is not supported"},
      {"\"version\": 1", "\"version\": \"1\"", HATCH_ERR_CORRUPT, "version is not a number"},
      {"\"ts_ns\": 2000, \"skew", "\"ts_ns\": 999, \"skew", HATCH_ERR_CORRUPT, "sets[1].ts_ns 999 is less than sets[0].ts_ns 1000"},
      {"\"index\": 1, \"ts_ns\"", "\"index\": 0, \"ts_ns\"", HATCH_ERR_CORRUPT, "sets[1].index 0 is not above sets[0].index 0"},
      {"\"1_front.jpg\"", "\"../1_front.jpg\"", HATCH_ERR_CORRUPT, "sets[1].frames[0].file \"../1_front.jpg\" is not a plain file name"},
      {"\"1_front.jpg\"", "\"/abs.jpg\"", HATCH_ERR_CORRUPT, "sets[1].frames[0].file"},
      {"\"1_front.jpg\"", "\"a\\\\b.jpg\"", HATCH_ERR_CORRUPT, "sets[1].frames[0].file"},
      {"\"1_front.jpg\"", "17", HATCH_ERR_CORRUPT, "sets[1].frames[0].file is not a string"},
      {"\"tolerance_ns\": 10000000,", "", HATCH_ERR_CORRUPT, "manifest.json: tolerance_ns is missing"},
      {"\"width\": 640, \"height\": 480, \"pixel_format\": \"YUYV\"", "\"width\": \"640\", \"height\": 480, \"pixel_format\": \"YUYV\"",
       HATCH_ERR_CORRUPT, "cameras[1].width is not a number"},
      {"\"width\": 640", "\"width\": 0", HATCH_ERR_CORRUPT, "cameras[0].width 0 is not an integer in 1..65535"},
      {"\"seq\": 2", "\"seq\": 2.5", HATCH_ERR_CORRUPT, "sets[1].frames[0].seq 2.5 is not an integer"},
      {"\"seq\": 2", "\"seq\": -1", HATCH_ERR_CORRUPT, "sets[1].frames[0].seq -1 is not an integer in 0..9007199254740991"},
      {"\"ts_ns\": 2000, \"seq\"", "\"ts_ns\": 1e300, \"seq\"", HATCH_ERR_CORRUPT, "sets[1].frames[0].ts_ns"},
      {"\"ts_ns\": 1000, \"skew", "\"ts_ns\": 9007199254740993, \"skew", HATCH_ERR_CORRUPT,
       "sets[0].ts_ns 9007199254740992 is not an integer in -9007199254740991..9007199254740991"}, /* 2^53 + 1 rounds */
      {"\"MJPG\"", "\"MJPEG\"", HATCH_ERR_CORRUPT, "cameras[0].pixel_format is longer than 4 bytes"},
      {"\"MJPG\"", "\"MJ\"", HATCH_ERR_CORRUPT, "cameras[0].pixel_format must be a fourcc"},
      {"\"fps\": 30}", "\"fps\": 0}", HATCH_ERR_CORRUPT, "cameras[0].fps 0 is out of range"},
      {"\"name\": \"front\"", "\"name\": \"\"", HATCH_ERR_CORRUPT, "cameras[0].name must be"},
      {"\"name\": \"left\"", "\"name\": \"a/b\"", HATCH_ERR_CORRUPT, "cameras[1].name must be"},
      {"{\"index\": 1, \"name\"", "{\"index\": 3, \"name\"", HATCH_ERR_CORRUPT, "cameras[1].index 3 must be 1"},
      {"\"2026-11-21T15:00:00Z\"", "\"2026-11-21 15:00:00\"", HATCH_ERR_CORRUPT, "created_utc is not a UTC time"},
      {"\"2026-11-21T15:00:00Z\"", "\"2026-13-21T15:00:00Z\"", HATCH_ERR_CORRUPT, "created_utc"},
      {"\"stats\": {\"sets\": 2", "\"stats\": {\"sets\": 3", HATCH_ERR_CORRUPT, "stats.sets 3 does not match the 2 sets listed"},
      {", {\"camera\": 1, \"missing\": true}", "", HATCH_ERR_CORRUPT, "sets[1].frames has 1 entries, expected 2 (one per camera)"},
      {"\"missing\": true", "\"missing\": 1", HATCH_ERR_CORRUPT, "sets[1].frames[1].missing is not a boolean"},
      {"\"skew_ns\": 5", "\"skew_ns\": -5", HATCH_ERR_CORRUPT, "sets[0].skew_ns -5 is not an integer"},
      {"\"skew_ns\": 0, \"frames\": [", "\"skew_ns\": 0, \"frames\": [{\"camera\": 0, \"missing\": true}, {\"camera\": 1, \"missing\": true}], \"old\": [",
       HATCH_OK, ""}, /* a set with every frame missing is allowed (every file write failed) */
      {"{\"format\"", "[{\"format\"", HATCH_ERR_CORRUPT, "not valid JSON"},
      {"\"disconnects\": 0}]}}", "\"disconnects\": 0}]}} {}", HATCH_ERR_CORRUPT, "text after the JSON object"},
      {"\"index\": 0, \"frames\": 2", "\"index\": 1, \"frames\": 2", HATCH_ERR_CORRUPT, "stats.cameras[0].index 1 is not an integer in 0..0"},
      {"\"sets\": [{", "\"sets\": 5, \"x\": [{", HATCH_ERR_CORRUPT, "sets is not an array"},
      {"\"extra_key_ignored\": [1, 2],", "\"complete\": false,", HATCH_OK, ""},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char *text = mutate(cases[i].from, cases[i].to);
    HATCH_EXPECT(c, text != NULL, "case %zu: '%s' not in the base manifest", i, cases[i].from);
    if (!text) continue;
    memset(&err, 0, sizeof(err));
    st = hatch_capture_manifest_parse(text, strlen(text), "manifest.json", &m, &err);
    HATCH_EXPECT(c, st == cases[i].st && strstr(err.message, cases[i].msg), "case %zu: %s '%s', want %s '%s'", i,
                 hatch_status_name(st), err.message, hatch_status_name(cases[i].st), cases[i].msg);
    HATCH_EXPECT(c, st != HATCH_OK || m.storage, "case %zu: no storage", i);
    if (st == HATCH_OK && strstr(cases[i].to, "complete")) HATCH_EXPECT(c, !m.complete, "complete: false lost");
    hatch_capture_manifest_free(&m);
    HATCH_EXPECT(c, !m.sets && !m.storage, "case %zu: not zeroed", i);
    free(text);
  }
  /* The writers' side of the same rules. */
  hatch_capture_header h;
  sample_header(&h, 1);
  hatch_capture_frame f = {.file = "a.jpg", .ts_ns = 5};
  hatch_capture_set s0 = {.index = 0, .ts_ns = HATCH_CAPTURE_INT_MAX + 1, .frames = &f};
  st = hatch_capture_set_check(&h, &s0, NULL, 0, "w", &err);
  HATCH_EXPECT(c, st == HATCH_ERR_CORRUPT && strstr(err.message, "w: sets[0].ts_ns is out of range"), "2^53 written: '%s'", err.message);
  s0.ts_ns = 0, f.seq = (uint64_t)HATCH_CAPTURE_INT_MAX + 1;
  HATCH_EXPECT(c, hatch_capture_set_check(&h, &s0, NULL, 0, "w", &err) == HATCH_ERR_CORRUPT, "seq 2^53 written");
  f.seq = 0, f.file = "../a.jpg";
  HATCH_EXPECT(c, hatch_capture_set_check(&h, &s0, NULL, 0, "w", &err) == HATCH_ERR_CORRUPT, "hostile name written");
  f.missing = true; /* a missing frame's file is not looked at */
  HATCH_EXPECT_OK(c, hatch_capture_set_check(&h, &s0, NULL, 0, "w", &err));
  /* 17 cameras: over the limit. */
  char text[4096];
  int n = snprintf(text, sizeof(text), "{\"format\": \"hatch-capture\", \"version\": 1, \"created_utc\": \"2026-11-21T15:00:00Z\", \"tolerance_ns\": 0, \"cameras\": [");
  for (int k = 0; k < 17; k++)
    n += snprintf(text + n, sizeof(text) - (size_t)n, "%s{\"index\": %d, \"name\": \"c\", \"uri\": \"u\", \"width\": 1, \"height\": 1, \"pixel_format\": \"GREY\", \"fps\": 1}",
                  k ? "," : "", k);
  snprintf(text + n, sizeof(text) - (size_t)n, "], \"sets\": [], \"stats\": {}}");
  st = hatch_capture_manifest_parse(text, strlen(text), "m", &m, &err);
  HATCH_EXPECT(c, st == HATCH_ERR_TOO_LARGE && strstr(err.message, "17 cameras"), "17 cameras: %s '%s'", hatch_status_name(st), err.message);
  HATCH_EXPECT(c, hatch_capture_manifest_parse("", 0, "m", &m, &err) == HATCH_ERR_CORRUPT, "empty text");
  HATCH_EXPECT(c, hatch_capture_manifest_parse(base_manifest, HATCH_CAPTURE_MAX_BYTES + 1, "m", &m, &err) == HATCH_ERR_TOO_LARGE,
               "length over the cap"); /* refused on the length alone, nothing read */
  /* Not NUL-terminated: the length bounds the parse. */
  size_t len = strlen(base_manifest);
  char *copy = malloc(len);
  if (copy) {
    memcpy(copy, base_manifest, len);
    HATCH_EXPECT_OK(c, hatch_capture_manifest_parse(copy, len, "m", &m, &err));
    hatch_capture_manifest_free(&m);
    HATCH_EXPECT(c, hatch_capture_manifest_parse(copy, len - 3, "m", &m, &err) == HATCH_ERR_CORRUPT, "cut text");
    free(copy);
  }
}

static void test_manifest_writer(hatch_test_ctx *c) {
  char dir[64], path[128];
  if (!make_tmpdir(c, dir, sizeof(dir))) return;
  snprintf(path, sizeof(path), "%s/" HATCH_CAPTURE_MANIFEST_NAME, dir);
  hatch_capture_header h;
  sample_header(&h, 2);
  static sample_sets ss;
  make_sets(&ss, 12, 2);
  hatch_file_error err;
  hatch_capture_manifest m;
  for (int every = 1; every <= 4; every += 3) {
    hatch_capture_writer *w = NULL;
    hatch_status st = hatch_capture_manifest_writer_open(dir, &h, every, &w, &err);
    HATCH_EXPECT(c, st == HATCH_OK, "open: %s '%s'", hatch_status_name(st), err.message);
    if (!w) break;
    HATCH_EXPECT_OK(c, hatch_capture_manifest_load(path, &m, &err)); /* valid from the start */
    HATCH_EXPECT(c, m.n_sets == 0 && !m.complete, "fresh manifest: %zu sets", m.n_sets);
    hatch_capture_manifest_free(&m);
    for (int i = 0; i < 7; i++) {
      st = hatch_capture_manifest_writer_append_set(w, &ss.sets[i], &err);
      HATCH_EXPECT(c, st == HATCH_OK, "append %d: %s '%s'", i, hatch_status_name(st), err.message);
      /* "Crash" here: what is on disk is a valid manifest with the sets of the last checkpoint. */
      st = hatch_capture_manifest_load(path, &m, &err);
      size_t want = every == 1 ? (size_t)i + 1 : (size_t)(i + 1) / 4 * 4;
      HATCH_EXPECT(c, st == HATCH_OK && m.n_sets == want && !m.complete, "every %d, after %d appends: %s, %zu sets (want %zu) '%s'",
                   every, i + 1, hatch_status_name(st), m.n_sets, want, err.message);
      if (st == HATCH_OK && m.n_sets)
        HATCH_EXPECT(c, m.sets[m.n_sets - 1].ts_ns == ss.sets[m.n_sets - 1].ts_ns &&
                            m.stats.sets == m.n_sets, "last set on disk differs");
      hatch_capture_manifest_free(&m);
    }
    /* Refused sets leave the writer as it was. */
    hatch_capture_set bad = ss.sets[7];
    bad.ts_ns = ss.sets[6].ts_ns - 1;
    st = hatch_capture_manifest_writer_append_set(w, &bad, &err);
    HATCH_EXPECT(c, st == HATCH_ERR_CORRUPT && strstr(err.message, "sets[7].ts_ns"), "decreasing ts: %s '%s'", hatch_status_name(st), err.message);
    hatch_capture_frame hostile[2] = {{.file = "../x.jpg"}, {.missing = true}};
    bad = ss.sets[7];
    bad.frames = hostile;
    HATCH_EXPECT(c, hatch_capture_manifest_writer_append_set(w, &bad, &err) == HATCH_ERR_CORRUPT, "hostile name appended");
    if (every == 4) {
      HATCH_EXPECT_OK(c, hatch_capture_manifest_writer_flush(w, &err));
      HATCH_EXPECT_OK(c, hatch_capture_manifest_load(path, &m, &err));
      HATCH_EXPECT(c, m.n_sets == 7, "flush: %zu sets", m.n_sets);
      hatch_capture_manifest_free(&m);
      hatch_capture_manifest_writer_destroy(w); /* a crash after flush: the checkpoint stays */
      HATCH_EXPECT_OK(c, hatch_capture_manifest_load(path, &m, &err));
      HATCH_EXPECT(c, m.n_sets == 7 && !m.complete, "after destroy: %zu sets", m.n_sets);
      hatch_capture_manifest_free(&m);
      continue;
    }
    HATCH_EXPECT_OK(c, hatch_capture_manifest_writer_append_set(w, &ss.sets[7], &err));
    hatch_capture_stats stats = {.sets = 8, .sets_dropped = 1};
    for (int k = 0; k < 2; k++) stats.cameras[k] = (hatch_capture_camera_stats){7, 1, 0, 0, (uint64_t)k};
    st = hatch_capture_manifest_writer_close(w, &stats, &err);
    HATCH_EXPECT(c, st == HATCH_OK, "close: %s '%s'", hatch_status_name(st), err.message);
    /* Closed: complete, the caller's stats, equal to hatch_capture_manifest_write of the same sets. */
    hatch_capture_manifest want = {.header = h, .complete = true, .n_sets = 8, .sets = ss.sets, .stats = stats};
    st = hatch_capture_manifest_load(path, &m, &err);
    HATCH_EXPECT(c, st == HATCH_OK && manifest_equal(c, &want, &m), "closed manifest: %s '%s'", hatch_status_name(st), err.message);
    hatch_capture_manifest_free(&m);
  }
  /* close with stats that do not match: refused, writer freed anyway (ASan checks). */
  hatch_capture_writer *w = NULL;
  if (hatch_capture_manifest_writer_open(dir, &h, 1, &w, &err) == HATCH_OK) {
    hatch_capture_stats stats = {.sets = 5};
    HATCH_EXPECT(c, hatch_capture_manifest_writer_close(w, &stats, &err) == HATCH_ERR_CORRUPT, "stats.sets mismatch");
  }
  HATCH_EXPECT(c, hatch_capture_manifest_writer_open("/nonexistent/dir", &h, 1, &w, &err) == HATCH_ERR_IO && !w,
               "open in a missing directory");
  hatch_capture_header bad_h = h;
  bad_h.n_cameras = 0;
  HATCH_EXPECT(c, hatch_capture_manifest_writer_open(dir, &bad_h, 1, &w, &err) == HATCH_ERR_CORRUPT, "0 cameras");
  rm_dir(dir);
}

/* ---- frame directories --------------------------------------------------------------------- */

static void test_natural_order(hatch_test_ctx *c) {
  const char *sorted[] = {"", "a", "a1", "a01", "a1b", "a1b2", "a1b10", "a2", "a9", "a10", "a010",
                          "a99999999999999999999", "a100000000000000000000", "b", "frame.png", "frame0.png", "frame1.jpg"};
  int n = (int)(sizeof(sorted) / sizeof(sorted[0]));
  for (int i = 0; i < n; i++)
    for (int j = 0; j < n; j++) {
      int r = hatch_natural_compare(sorted[i], sorted[j]);
      int want = i < j ? -1 : i > j;
      HATCH_EXPECT(c, (r > 0) - (r < 0) == want, "compare('%s', '%s') = %d, want %d", sorted[i], sorted[j], r, want);
    }
  HATCH_EXPECT(c, hatch_frame_file_kind_of("x.JPG") == HATCH_FRAME_FILE_JPEG && hatch_frame_file_kind_of("x.Jpeg") == HATCH_FRAME_FILE_JPEG &&
                      hatch_frame_file_kind_of("x.pNg") == HATCH_FRAME_FILE_PNG && hatch_frame_file_kind_of(".x.png") == HATCH_FRAME_FILE_NONE &&
                      hatch_frame_file_kind_of("x.png.txt") == HATCH_FRAME_FILE_NONE && hatch_frame_file_kind_of("jpg") == HATCH_FRAME_FILE_NONE,
               "file kinds");
}

static void test_frame_dir(hatch_test_ctx *c) {
  char dir[64], path[160];
  if (!make_tmpdir(c, dir, sizeof(dir))) return;
  const char *files[] = {"frame10.jpg", "frame2.JPG", "frame1.png", "frame100.jpeg", "frame9.PNG", ".hidden.jpg",
                         "notes.txt", "frame3.jpg.bak", "._frame4.jpg"};
  for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
    snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
    FILE *f = fopen(path, "wb");
    if (f) fclose(f);
  }
  snprintf(path, sizeof(path), "%s/frame5.jpg", dir); /* a directory with a frame name */
  mkdir(path, 0755);
  snprintf(path, sizeof(path), "%s/frame6.jpg", dir); /* a dangling symlink */
  HATCH_EXPECT(c, symlink("/nonexistent/target.jpg", path) == 0, "symlink failed");
  hatch_frame_list list;
  hatch_file_error err;
  HATCH_EXPECT_OK(c, hatch_frame_dir_list(dir, &list, &err));
  const char *want[] = {"frame1.png", "frame2.JPG", "frame9.PNG", "frame10.jpg", "frame100.jpeg"};
  HATCH_EXPECT(c, list.count == 5, "%zu entries, want 5", list.count);
  for (size_t i = 0; i < list.count && i < 5; i++)
    HATCH_EXPECT(c, strcmp(list.names[i], want[i]) == 0, "entry %zu: %s, want %s", i, list.names[i], want[i]);
  hatch_frame_list_free(&list);
  hatch_frame_list_free(&list);
  hatch_frame_list_free(NULL);
  snprintf(path, sizeof(path), "%s/nope", dir);
  HATCH_EXPECT(c, hatch_frame_dir_list(path, &list, &err) == HATCH_ERR_NOT_FOUND && strstr(err.message, "nope") && !list.names,
               "missing directory: '%s'", err.message);
  snprintf(path, sizeof(path), "%s/frame5.jpg", dir); /* empty directory */
  HATCH_EXPECT_OK(c, hatch_frame_dir_list(path, &list, &err));
  HATCH_EXPECT(c, list.count == 0, "empty dir: %zu", list.count);
  hatch_frame_list_free(&list);
  rm_dir(dir);
}

int main(int argc, char **argv) {
  const hatch_test_case cases[] = {
      {"png_formats", test_png_formats, false},
      {"png_corrupt_and_truncated", test_png_corrupt, false},
      {"png_limits", test_png_limits, false},
      {"png_warning", test_png_warning, false},
      {"mjpeg_split", test_mjpeg_split, false},
      {"mjpeg_damage", test_mjpeg_damage, false},
      {"manifest_roundtrip", test_manifest_roundtrip, false},
      {"manifest_file_names", test_manifest_file_names, false},
      {"manifest_rules", test_manifest_rules, false},
      {"manifest_writer", test_manifest_writer, false},
      {"natural_order", test_natural_order, false},
      {"frame_dir", test_frame_dir, false},
  };
  return hatch_test_main(argc, argv, cases, (int)(sizeof(cases) / sizeof(cases[0])));
}
