/* PNG frames through libpng 1.6, from memory. The IHDR is parsed and checked against the limits here
 * before libpng is involved, so a hostile header allocates nothing. libpng errors longjmp back to
 * png_run(); everything allocated after setjmp belongs to libpng's structs, which png_run() destroys
 * on both paths. Error and warning callbacks copy libpng's messages: nothing prints. */
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include "hatch/frame_files.h"

#define PNG_CHUNK_MALLOC_MAX 8000000u /* ancillary chunks (text, ICC, ...) larger than this: error */

static const uint8_t png_signature[8] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};

static uint32_t be32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* CRC-32 (ISO 3309, the PNG/zlib one), bitwise: only used on the 17 bytes of IHDR. */
static uint32_t crc32_bytes(const uint8_t *p, size_t n) {
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; i++) {
    c ^= p[i];
    for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
  }
  return c ^ 0xFFFFFFFFu;
}

hatch_status hatch_png_probe(const uint8_t *data, size_t size, int *width, int *height) {
  if (!data || !width || !height) return HATCH_ERR_INVALID_ARGUMENT;
  /* signature (8) + IHDR: length (4) "IHDR" (4) data (13) crc (4) */
  if (size < 33 || memcmp(data, png_signature, 8) != 0) return HATCH_ERR_CORRUPT;
  const uint8_t *c = data + 8;
  if (be32(c) != 13 || memcmp(c + 4, "IHDR", 4) != 0) return HATCH_ERR_CORRUPT;
  if (crc32_bytes(c + 4, 17) != be32(c + 21)) return HATCH_ERR_CORRUPT;
  uint32_t w = be32(c + 8), h = be32(c + 12);
  uint8_t depth = c[16], color = c[17];
  if (w == 0 || h == 0 || w > 0x7FFFFFFFu || h > 0x7FFFFFFFu) return HATCH_ERR_CORRUPT;
  bool ok = false; /* the colour type / bit depth pairs of the PNG spec, table 11.1 */
  switch (color) {
    case 0: ok = depth == 1 || depth == 2 || depth == 4 || depth == 8 || depth == 16; break;
    case 3: ok = depth == 1 || depth == 2 || depth == 4 || depth == 8; break;
    case 2: case 4: case 6: ok = depth == 8 || depth == 16; break;
    default: ok = false;
  }
  if (!ok || c[18] != 0 || c[19] != 0 || c[20] > 1) return HATCH_ERR_CORRUPT; /* compression, filter, interlace */
  *width = (int)w;
  *height = (int)h;
  return HATCH_OK;
}

typedef struct png_src {
  const uint8_t *data;
  size_t size, pos;
  hatch_decode_report *report;
  char error[200]; /* libpng's fatal message */
} png_src;

static void png_read_mem(png_structp png, png_bytep out, size_t n) {
  png_src *src = png_get_io_ptr(png);
  if (n > src->size - src->pos) png_error(png, "unexpected end of data (truncated PNG)");
  memcpy(out, src->data + src->pos, n);
  src->pos += n;
}

static void png_on_error(png_structp png, png_const_charp msg) {
  png_src *src = png_get_error_ptr(png);
  snprintf(src->error, sizeof(src->error), "libpng: %s", msg ? msg : "error");
  png_longjmp(png, 1);
}

static void png_on_warning(png_structp png, png_const_charp msg) {
  png_src *src = png_get_error_ptr(png);
  if (src->report && !src->report->warning) {
    src->report->warning = true;
    snprintf(src->report->message, sizeof(src->report->message), "libpng warning: %s", msg ? msg : "");
  }
}

/* The libpng part. Locals changed after setjmp are not read after longjmp, so none needs volatile:
 * the only state that survives a longjmp lives in *src and in libpng's structs. */
static hatch_status png_run(png_structp png, png_infop info, png_src *src, const hatch_jpeg_limits *lim, uint8_t *rgb,
                            int w, int h) {
  if (setjmp(png_jmpbuf(png))) return HATCH_ERR_CORRUPT;
  png_set_read_fn(png, src, png_read_mem);
  png_set_user_limits(png, (png_uint_32)lim->max_width, (png_uint_32)lim->max_height);
  png_set_chunk_malloc_max(png, PNG_CHUNK_MALLOC_MAX);
  png_set_chunk_cache_max(png, 1000);
  png_set_crc_action(png, PNG_CRC_ERROR_QUIT, PNG_CRC_ERROR_QUIT); /* every CRC error is fatal */
  png_read_info(png, info);
  if ((int)png_get_image_width(png, info) != w || (int)png_get_image_height(png, info) != h)
    png_error(png, "IHDR changed between probe and decode");
  int color = png_get_color_type(png, info);
  int depth = png_get_bit_depth(png, info);
  if (depth == 16) png_set_strip_16(png);            /* high byte */
  if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
  if (color == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
  if (color == PNG_COLOR_TYPE_GRAY || color == PNG_COLOR_TYPE_GRAY_ALPHA) png_set_gray_to_rgb(png);
  /* Alpha dropped, not composited; palette expansion turns tRNS into alpha, which goes the same way. */
  if ((color & PNG_COLOR_MASK_ALPHA) || png_get_valid(png, info, PNG_INFO_tRNS)) png_set_strip_alpha(png);
  int passes = png_set_interlace_handling(png);
  png_read_update_info(png, info);
  if (png_get_rowbytes(png, info) != (size_t)w * 3 || png_get_channels(png, info) != 3)
    png_error(png, "unexpected row layout after transforms");
  /* Rows go straight into the output; for Adam7 each pass fills in its pixels of the same rows. */
  for (int pass = 0; pass < passes; pass++)
    for (int y = 0; y < h; y++) png_read_row(png, rgb + (size_t)y * w * 3, NULL);
  png_read_end(png, NULL); /* the chunks after IDAT, their CRCs and IEND */
  return HATCH_OK;
}

hatch_status hatch_png_decode_rgb(const uint8_t *data, size_t size, const hatch_jpeg_limits *limits, uint8_t *rgb,
                                  size_t rgb_size, hatch_decode_report *report) {
  if (report) memset(report, 0, sizeof(*report));
  hatch_jpeg_limits lim = limits ? *limits : hatch_jpeg_limits_default();
  if (!data || !rgb || lim.max_width <= 0 || lim.max_height <= 0 || lim.max_pixels <= 0)
    return HATCH_ERR_INVALID_ARGUMENT;
  int w = 0, h = 0;
  hatch_status st = hatch_png_probe(data, size, &w, &h);
  if (st != HATCH_OK) {
    if (report) snprintf(report->message, sizeof(report->message), "not a PNG or a bad IHDR chunk");
    return st;
  }
  if (report) report->width = w, report->height = h;
  if (w > lim.max_width || h > lim.max_height || (int64_t)w * h > lim.max_pixels) {
    if (report)
      snprintf(report->message, sizeof(report->message), "PNG %dx%d exceeds the limits (%dx%d, %lld pixels)", w, h,
               lim.max_width, lim.max_height, (long long)lim.max_pixels);
    return HATCH_ERR_TOO_LARGE;
  }
  if ((size_t)w * (size_t)h * 3 > rgb_size) return HATCH_ERR_SHAPE;

  png_src src = {.data = data, .size = size, .report = report};
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &src, png_on_error, png_on_warning);
  png_infop info = png ? png_create_info_struct(png) : NULL;
  if (!info) {
    png_destroy_read_struct(png ? &png : NULL, NULL, NULL);
    return HATCH_ERR_OUT_OF_MEMORY;
  }
  st = png_run(png, info, &src, &lim, rgb, w, h);
  png_destroy_read_struct(&png, &info, NULL);
  if (st != HATCH_OK && report) {
    report->warning = false;
    snprintf(report->message, sizeof(report->message), "%s", src.error);
  }
  return st;
}
