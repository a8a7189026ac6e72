/* Files the data loaders share (hatch/train_data.h): path joining, RGB images through the drivers'
 * JPEG / PNG decoders, and 16-bit depth PNGs (libpng directly: the drivers' PNG decoder gives RGB8
 * and keeps only the high byte of 16-bit samples). */
#include <errno.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hatch/frame_files.h"
#include "hatch/train_data.h"

hatch_status hatch_data_path_join(const char *dir, const char *name, char *out, size_t cap) {
  if (!name || !out || cap == 0) return HATCH_ERR_INVALID_ARGUMENT;
  int n;
  if (name[0] == '/' || !dir || !dir[0]) n = snprintf(out, cap, "%s", name);
  else n = snprintf(out, cap, "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", name);
  if (n < 0 || (size_t)n >= cap) {
    out[0] = 0;
    return HATCH_ERR_TOO_LARGE;
  }
  return HATCH_OK;
}

/* Reads a whole file of at most HATCH_DATA_MAX_FILE bytes into a malloc'd buffer. */
static hatch_status read_file(const char *path, uint8_t **data, size_t *size, char *why, size_t why_size) {
  *data = NULL;
  *size = 0;
  FILE *f = fopen(path, "rb");
  if (!f) {
    int e = errno;
    snprintf(why, why_size, "cannot open: %s", strerror(e));
    return e == ENOENT || e == ENOTDIR ? HATCH_ERR_NOT_FOUND : HATCH_ERR_IO;
  }
  hatch_status st = HATCH_ERR_IO;
  uint8_t *buf = NULL;
  if (fseek(f, 0, SEEK_END) != 0) goto close_file;
  long len = ftell(f);
  if (len < 0 || fseek(f, 0, SEEK_SET) != 0) {
    snprintf(why, why_size, "cannot size the file (not a regular file?)");
    goto close_file;
  }
  if ((size_t)len > HATCH_DATA_MAX_FILE) {
    snprintf(why, why_size, "file is %ld bytes, over the %zu byte limit", len, HATCH_DATA_MAX_FILE);
    st = HATCH_ERR_TOO_LARGE;
    goto close_file;
  }
  buf = malloc(len ? (size_t)len : 1);
  if (!buf) {
    snprintf(why, why_size, "out of memory");
    st = HATCH_ERR_OUT_OF_MEMORY;
    goto close_file;
  }
  if (fread(buf, 1, (size_t)len, f) != (size_t)len) {
    snprintf(why, why_size, "read error");
    free(buf);
    goto close_file;
  }
  *data = buf;
  *size = (size_t)len;
  st = HATCH_OK;
close_file:
  fclose(f);
  return st;
}

hatch_status hatch_data_load_rgb(const char *path, hatch_jpeg_decoder *dec, uint8_t **rgb, int *width, int *height,
                                 char *why, size_t why_size) {
  if (!path || !rgb || !width || !height || !why || why_size == 0) return HATCH_ERR_INVALID_ARGUMENT;
  *rgb = NULL;
  *width = *height = 0;
  why[0] = 0;
  uint8_t *data;
  size_t size;
  hatch_status st = read_file(path, &data, &size, why, why_size);
  if (st != HATCH_OK) return st;
  hatch_jpeg_decoder *own = NULL;
  uint8_t *pixels = NULL;
  int w = 0, h = 0;
  const bool is_jpeg = size >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF;
  const bool is_png = size >= 8 && memcmp(data, "\x89PNG\r\n\x1a\n", 8) == 0;
  if (!is_jpeg && !is_png) {
    snprintf(why, why_size, "neither a JPEG nor a PNG");
    st = HATCH_ERR_CORRUPT;
    goto free_data;
  }
  if (is_jpeg && !dec) {
    st = hatch_jpeg_decoder_create(NULL, &own);
    if (st != HATCH_OK) {
      snprintf(why, why_size, "cannot create a JPEG decoder");
      goto free_data;
    }
    dec = own;
  }
  st = is_jpeg ? hatch_jpeg_probe(dec, data, size, &w, &h) : hatch_png_probe(data, size, &w, &h);
  if (st == HATCH_OK && (w < 1 || h < 1 || w > HATCH_DATA_MAX_DIM || h > HATCH_DATA_MAX_DIM)) st = HATCH_ERR_TOO_LARGE;
  if (st != HATCH_OK) {
    snprintf(why, why_size, "%s header: %s", is_jpeg ? "JPEG" : "PNG", hatch_status_message(st));
    goto destroy_decoder;
  }
  const size_t n = (size_t)w * h * 3;
  pixels = malloc(n); // (h, w, 3)
  if (!pixels) {
    snprintf(why, why_size, "out of memory");
    st = HATCH_ERR_OUT_OF_MEMORY;
    goto destroy_decoder;
  }
  hatch_decode_report rep = {0};
  st = is_jpeg ? hatch_jpeg_decode_rgb(dec, data, size, pixels, n, &rep) : hatch_png_decode_rgb(data, size, NULL, pixels, n, &rep);
  if (st != HATCH_OK) {
    snprintf(why, why_size, "%s decode: %s%s%s", is_jpeg ? "JPEG" : "PNG", hatch_status_message(st),
             rep.message[0] ? ": " : "", rep.message);
    free(pixels);
    pixels = NULL;
    goto destroy_decoder;
  }
  *rgb = pixels;
  *width = w;
  *height = h;
destroy_decoder:
  hatch_jpeg_decoder_destroy(own);
free_data:
  free(data);
  return st;
}

/* ---- 16-bit depth PNG ---------------------------------------------------------------------- */

typedef struct png_ctx {
  const uint8_t *data;
  size_t size, pos;
  char message[160];
} png_ctx;

static void png_on_error(png_structp png, png_const_charp msg) {
  png_ctx *c = png_get_error_ptr(png);
  snprintf(c->message, sizeof c->message, "%s", msg);
  png_longjmp(png, 1);
}

static void png_on_warning(png_structp png, png_const_charp msg) {
  (void)png;
  (void)msg;
}

static void png_mem_read(png_structp png, png_bytep out, size_t n) {
  png_ctx *c = png_get_io_ptr(png);
  if (n > c->size - c->pos) png_error(png, "file is truncated");
  memcpy(out, c->data + c->pos, n);
  c->pos += n;
}

hatch_status hatch_depth_png_decode(const uint8_t *data, size_t size, double scale, float **depth, int *width,
                                    int *height, char *why, size_t why_size) {
  if (!data || !depth || !width || !height || !why || why_size == 0) return HATCH_ERR_INVALID_ARGUMENT;
  *depth = NULL;
  *width = *height = 0;
  why[0] = 0;
  if (!(scale > 0) || scale > 1e6) {
    snprintf(why, why_size, "depth_scale must be > 0 (got %g)", scale);
    return HATCH_ERR_INVALID_ARGUMENT;
  }
  int w, h;
  if (hatch_png_probe(data, size, &w, &h) != HATCH_OK) {
    snprintf(why, why_size, "not a PNG (bad signature or IHDR)");
    return HATCH_ERR_CORRUPT;
  }
  if (w < 1 || h < 1 || w > HATCH_DATA_MAX_DIM || h > HATCH_DATA_MAX_DIM) {
    snprintf(why, why_size, "depth PNG is %dx%d, outside 1..%d", w, h, HATCH_DATA_MAX_DIM);
    return HATCH_ERR_TOO_LARGE;
  }
  png_ctx ctx = {.data = data, .size = size};
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &ctx, png_on_error, png_on_warning);
  png_infop info = png ? png_create_info_struct(png) : NULL;
  if (!info) {
    png_destroy_read_struct(png ? &png : NULL, NULL, NULL);
    snprintf(why, why_size, "out of memory");
    return HATCH_ERR_OUT_OF_MEMORY;
  }
  /* volatile: they change between setjmp and a longjmp back to it */
  uint8_t *volatile raw = NULL;
  png_bytep *volatile rows = NULL;
  float *volatile out = NULL;
  volatile hatch_status st = HATCH_ERR_CORRUPT;
  if (setjmp(png_jmpbuf(png))) {
    snprintf(why, why_size, "depth PNG: %s", ctx.message);
    goto free_rows;
  }
  png_set_user_limits(png, HATCH_DATA_MAX_DIM, HATCH_DATA_MAX_DIM);
  png_set_chunk_malloc_max(png, 8u << 20);
  png_set_read_fn(png, &ctx, png_mem_read);
  png_read_info(png, info);
  const int bit_depth = png_get_bit_depth(png, info), color = png_get_color_type(png, info);
  if (bit_depth != 16 || color != PNG_COLOR_TYPE_GRAY) {
    snprintf(why, why_size, "depth PNG must be 16-bit gray (got %d-bit, colour type %d)", bit_depth, color);
    st = HATCH_ERR_UNSUPPORTED;
    goto free_rows;
  }
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  raw = malloc((size_t)w * h * 2);              // (h, w) big-endian uint16
  rows = malloc(sizeof(png_bytep) * (size_t)h); // (h)
  out = malloc(sizeof(float) * (size_t)w * h);  // (h, w) metres
  if (!raw || !rows || !out) {
    snprintf(why, why_size, "out of memory");
    st = HATCH_ERR_OUT_OF_MEMORY;
    goto free_rows;
  }
  for (int r = 0; r < h; r++) rows[r] = raw + (size_t)r * w * 2;
  png_read_image(png, rows);
  png_read_end(png, NULL);
  for (size_t k = 0; k < (size_t)w * h; k++) out[k] = (float)(((unsigned)raw[2 * k] << 8 | raw[2 * k + 1]) * scale);
  *depth = out;
  out = NULL;
  *width = w;
  *height = h;
  st = HATCH_OK;
free_rows:
  free(out);
  free(rows);
  free(raw);
  png_destroy_read_struct(&png, &info, NULL);
  return st;
}

hatch_status hatch_depth_png_load(const char *path, double scale, float **depth, int *width, int *height, char *why,
                                  size_t why_size) {
  if (!path || !depth || !width || !height || !why || why_size == 0) return HATCH_ERR_INVALID_ARGUMENT;
  *depth = NULL;
  uint8_t *data;
  size_t size;
  hatch_status st = read_file(path, &data, &size, why, why_size);
  if (st != HATCH_OK) return st;
  st = hatch_depth_png_decode(data, size, scale, depth, width, height, why, why_size);
  free(data);
  return st;
}

hatch_status hatch_depth_png_write(const char *path, const float *depth, int width, int height, double scale) {
  if (!path || !depth || width < 1 || height < 1 || width > HATCH_DATA_MAX_DIM || height > HATCH_DATA_MAX_DIM ||
      !(scale > 0))
    return HATCH_ERR_INVALID_ARGUMENT;
  uint8_t *row = malloc((size_t)width * 2); // (width) big-endian uint16
  if (!row) return HATCH_ERR_OUT_OF_MEMORY;
  FILE *f = fopen(path, "wb");
  if (!f) {
    free(row);
    return HATCH_ERR_IO;
  }
  png_ctx ctx = {0};
  hatch_status st = HATCH_ERR_IO;
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &ctx, png_on_error, png_on_warning);
  png_infop info = png ? png_create_info_struct(png) : NULL;
  if (!info) {
    st = HATCH_ERR_OUT_OF_MEMORY;
    goto destroy_png;
  }
  if (setjmp(png_jmpbuf(png))) goto destroy_png;
  png_init_io(png, f);
  png_set_IHDR(png, info, (png_uint_32)width, (png_uint_32)height, 16, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  for (int r = 0; r < height; r++) {
    for (int c = 0; c < width; c++) {
      const double d = depth[(size_t)r * width + c];
      double v = d > 0 && d < 1e300 ? d / scale + 0.5 : 0;
      const unsigned u = v >= 65535 ? 65535u : (unsigned)v;
      row[2 * c] = (uint8_t)(u >> 8);
      row[2 * c + 1] = (uint8_t)(u & 0xFF);
    }
    png_write_row(png, row);
  }
  png_write_end(png, NULL);
  st = HATCH_OK;
destroy_png:
  png_destroy_write_struct(png ? &png : NULL, info ? &info : NULL);
  if (fclose(f) != 0 && st == HATCH_OK) st = HATCH_ERR_IO;
  free(row);
  return st;
}
