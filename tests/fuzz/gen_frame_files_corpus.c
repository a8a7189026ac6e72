/* Writes the committed corpora of fuzz_png_decode, fuzz_mjpeg_stream and fuzz_capture_manifest
 * (tests/fuzz/corpus/{png_decode,mjpeg_stream,capture_manifest}/): small valid files made with
 * libpng and tjCompress2, and broken variants. Run once by hand, not part of the build:
 *   cc tests/fuzz/gen_frame_files_corpus.c -o /tmp/gen $(pkg-config --cflags --libs libpng libturbojpeg)
 *   /tmp/gen tests/fuzz/corpus */
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>

typedef struct mem {
  unsigned char p[1 << 16];
  size_t n;
} mem;

static void put(const char *dir, const char *sub, const char *name, const void *d, size_t n) {
  char path[512];
  snprintf(path, sizeof(path), "%s/%s/%s", dir, sub, name);
  FILE *f = fopen(path, "wb");
  if (!f || fwrite(d, 1, n, f) != n) exit(1);
  fclose(f);
}

static void add(mem *m, const void *d, size_t n) {
  if (m->n + n > sizeof(m->p)) exit(1);
  memcpy(m->p + m->n, d, n);
  m->n += n;
}

static unsigned long crc32_png(const unsigned char *p, size_t n) {
  unsigned long c = 0xFFFFFFFFul;
  for (size_t i = 0; i < n; i++) {
    c ^= p[i];
    for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xEDB88320ul & (0ul - (c & 1ul)));
  }
  return c ^ 0xFFFFFFFFul;
}

static void png_w(png_structp png, png_bytep d, size_t n) { add(png_get_io_ptr(png), d, n); }
static void png_f(png_structp png) { (void)png; }

static void make_png(mem *m, int w, int h, int color, int depth, int interlace) {
  m->n = 0;
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
  png_infop info = png_create_info_struct(png);
  if (!info || setjmp(png_jmpbuf(png))) exit(1);
  png_set_write_fn(png, m, png_w, png_f);
  png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, depth, color, interlace, 0, 0);
  png_color pal[16];
  for (int i = 0; i < 16; i++) pal[i] = (png_color){(png_byte)(i * 16), (png_byte)(255 - i * 16), (png_byte)(i * 5)};
  if (color == PNG_COLOR_TYPE_PALETTE) png_set_PLTE(png, info, pal, 16);
  png_write_info(png, info);
  int ch = color == 0 || color == 3 ? 1 : color == 4 ? 2 : color == 2 ? 3 : 4;
  unsigned char row[32 * 4 * 2];
  if (depth < 8) png_set_packing(png);
  for (int pass = png_set_interlace_handling(png); pass > 0; pass--)
    for (int y = 0; y < h; y++) {
      for (int i = 0; i < w * ch * (depth == 16 ? 2 : 1); i++) row[i] = (unsigned char)((i * 7 + y * 13) % (depth < 8 ? 1 << depth : 256));
      png_write_row(png, row);
    }
  png_write_end(png, NULL);
  png_destroy_write_struct(&png, &info);
}

static void make_jpeg(mem *m, int w, int h, int flags) {
  unsigned char rgb[32 * 32 * 3];
  for (int i = 0; i < w * h * 3; i++) rgb[i] = (unsigned char)(i * 37 + (i >> 5));
  tjhandle tj = tjInitCompress();
  unsigned char *out = NULL;
  unsigned long len = 0;
  if (!tj || tjCompress2(tj, rgb, w, 0, h, TJPF_RGB, &out, &len, TJSAMP_420, 90, flags) != 0) exit(1);
  m->n = 0;
  add(m, out, len);
  tjFree(out);
  tjDestroy(tj);
}

static void gen_png(const char *dir) {
  const char *d = "png_decode";
  mem m;
  make_png(&m, 8, 8, PNG_COLOR_TYPE_RGB, 8, 0), put(dir, d, "rgb8_8x8.png", m.p, m.n);
  make_png(&m, 7, 5, PNG_COLOR_TYPE_RGB_ALPHA, 16, 0), put(dir, d, "rgba16_7x5.png", m.p, m.n);
  make_png(&m, 9, 9, PNG_COLOR_TYPE_GRAY, 1, 0), put(dir, d, "gray1_9x9.png", m.p, m.n);
  make_png(&m, 9, 3, PNG_COLOR_TYPE_GRAY_ALPHA, 8, 0), put(dir, d, "graya8_9x3.png", m.p, m.n);
  make_png(&m, 11, 6, PNG_COLOR_TYPE_PALETTE, 4, 1), put(dir, d, "palette4_11x6_interlaced.png", m.p, m.n);
  make_png(&m, 13, 7, PNG_COLOR_TYPE_RGB, 8, 1), put(dir, d, "rgb8_13x7_interlaced.png", m.p, m.n);
  make_png(&m, 8, 8, PNG_COLOR_TYPE_RGB, 8, 0);
  put(dir, d, "truncated_half.png", m.p, m.n / 2);
  put(dir, d, "no_iend.png", m.p, m.n - 12);
  m.p[m.n - 20] ^= 0x10, put(dir, d, "idat_crc.png", m.p, m.n); /* inside the last IDAT */
  /* signature + IHDR 100000x100000 with a right CRC, then a minimal IEND */
  make_png(&m, 1, 1, PNG_COLOR_TYPE_RGB, 8, 0);
  unsigned char *ihdr = m.p + 16;
  ihdr[0] = 0, ihdr[1] = 1, ihdr[2] = 0x86, ihdr[3] = 0xA0, ihdr[4] = 0, ihdr[5] = 1, ihdr[6] = 0x86, ihdr[7] = 0xA0;
  unsigned long crc = crc32_png(m.p + 12, 17);
  m.p[29] = (unsigned char)(crc >> 24), m.p[30] = (unsigned char)(crc >> 16), m.p[31] = (unsigned char)(crc >> 8),
  m.p[32] = (unsigned char)crc;
  put(dir, d, "ihdr_100000x100000.png", m.p, m.n);
  ihdr[0] = ihdr[1] = ihdr[2] = ihdr[3] = 0; /* width 0, CRC now wrong too */
  put(dir, d, "ihdr_width0.png", m.p, m.n);
  put(dir, d, "empty", "", 0);
}

static void gen_mjpeg(const char *dir) {
  const char *d = "mjpeg_stream";
  mem a, b, s;
  make_jpeg(&a, 16, 16, 0);
  make_jpeg(&b, 24, 8, TJFLAG_PROGRESSIVE);
  put(dir, d, "one_frame.mjpeg", a.p, a.n);
  s.n = 0, add(&s, a.p, a.n), add(&s, b.p, b.n), add(&s, a.p, a.n);
  put(dir, d, "three_frames.mjpeg", s.p, s.n);
  static const unsigned char exif[] = {0xFF, 0xE1, 0, 14, 'E', 'x', 'i', 'f', 0, 0, 0xFF, 0xD8, 0xFF, 0xD9, 0xFF, 0xD9};
  s.n = 0, add(&s, a.p, 2), add(&s, exif, sizeof(exif)), add(&s, a.p + 2, a.n - 2), add(&s, a.p, a.n);
  put(dir, d, "exif_thumbnail_ffd9.mjpeg", s.p, s.n);
  static const unsigned char rst[] = {0xFF, 0xD8, 0xFF, 0xC0, 0, 11, 8, 0, 8, 0, 8, 1, 1, 0x11, 0, 0xFF, 0xDD, 0, 4, 0, 1,
                                      0xFF, 0xDA, 0, 8, 1, 1, 0, 0, 0x3F, 0, 0x12, 0xFF, 0x00, 0xFF, 0xD0, 0x34, 0xFF, 0xFF,
                                      0xD1, 0x56, 0xFF, 0xD9};
  put(dir, d, "restart_markers.mjpeg", rst, sizeof(rst));
  static const unsigned char junk[] = {0x00, 0xFF, 0xD8, 0xFF, 0x12, 0x00, 0xFF, 0xD9, 0x42};
  s.n = 0, add(&s, a.p, a.n), add(&s, junk, sizeof(junk)), add(&s, b.p, b.n);
  put(dir, d, "garbage_between.mjpeg", s.p, s.n);
  s.n = 0, add(&s, a.p, a.n), add(&s, b.p, b.n / 2);
  put(dir, d, "truncated_tail.mjpeg", s.p, s.n);
  s.n = 0, add(&s, a.p, a.n / 2), add(&s, b.p, b.n);
  put(dir, d, "soi_inside_frame.mjpeg", s.p, s.n);
  static const unsigned char no_sos[] = {0xFF, 0xD8, 0xFF, 0xE0, 0, 4, 1, 2, 0xFF, 0xD9};
  put(dir, d, "no_scan.mjpeg", no_sos, sizeof(no_sos));
  static const unsigned char bad_len[] = {0xFF, 0xD8, 0xFF, 0xE0, 0, 1, 0xFF, 0xD9};
  put(dir, d, "segment_length_1.mjpeg", bad_len, sizeof(bad_len));
  static const unsigned char long_len[] = {0xFF, 0xD8, 0xFF, 0xE0, 0xFF, 0xFF, 0xFF, 0xD9};
  put(dir, d, "segment_past_end.mjpeg", long_len, sizeof(long_len));
  put(dir, d, "empty", "", 0);
}

static void gen_manifest(const char *dir) {
  const char *d = "capture_manifest";
  static const char valid[] =
      "{\"format\": \"hatch-capture\", \"version\": 1, \"complete\": true,\n"
      " \"created_utc\": \"2026-11-21T15:00:00Z\", \"tolerance_ns\": 10000000,\n"
      " \"cameras\": [\n"
      "  {\"index\": 0, \"name\": \"front\", \"uri\": \"fake://0\", \"width\": 640, \"height\": 480, \"pixel_format\": \"MJPG\", \"fps\": 30},\n"
      "  {\"index\": 1, \"name\": \"left\", \"uri\": \"fake://1\", \"width\": 320, \"height\": 240, \"pixel_format\": \"YUYV\", \"fps\": 29.97}],\n"
      " \"sets\": [\n"
      "  {\"index\": 0, \"ts_ns\": 123456789, \"skew_ns\": 1200000, \"frames\": [{\"camera\": 0, \"file\": \"000000_front.jpg\", \"ts_ns\": 123456000, \"seq\": 17}, {\"camera\": 1, \"missing\": true}]},\n"
      "  {\"index\": 2, \"ts_ns\": 156789000, \"skew_ns\": 0, \"frames\": [{\"camera\": 0, \"file\": \"000002_front.jpg\", \"ts_ns\": 156789000, \"seq\": 19}, {\"camera\": 1, \"file\": \"000002_left.png\", \"ts_ns\": 156789000, \"seq\": 3}]}\n"
      " ],\n"
      " \"stats\": {\"sets\": 2, \"sets_dropped\": 1, \"cameras\": [\n"
      "  {\"index\": 0, \"frames\": 2, \"dropped\": 1, \"corrupt\": 0, \"error_flagged\": 0, \"disconnects\": 0},\n"
      "  {\"index\": 1, \"frames\": 1, \"dropped\": 0, \"corrupt\": 1, \"error_flagged\": 2, \"disconnects\": 1}]}}\n";
  put(dir, d, "valid_two_cameras.json", valid, strlen(valid));
  static const char empty_sets[] =
      "{\"format\":\"hatch-capture\",\"version\":1,\"complete\":false,\"created_utc\":\"2026-01-01T00:00:00.5Z\",\"tolerance_ns\":0,"
      "\"cameras\":[{\"index\":0,\"name\":\"c\",\"uri\":\"v4l2:///dev/video0\",\"width\":1,\"height\":1,\"pixel_format\":\"GREY\",\"fps\":1000}],"
      "\"sets\":[],\"stats\":{\"sets\":0,\"sets_dropped\":0,\"cameras\":[{\"index\":0,\"frames\":0,\"dropped\":0,\"corrupt\":0,\"error_flagged\":0,\"disconnects\":0}]}}";
  put(dir, d, "checkpoint_no_sets.json", empty_sets, strlen(empty_sets));
  struct { const char *name, *from, *to; } mut[] = {
      {"camera_out_of_range.json", "\"camera\": 1, \"missing", "\"camera\": 7, \"missing"},
      {"path_traversal.json", "\"000002_left.png\"", "\"../../etc/passwd\""},
      {"ts_decreasing.json", "\"ts_ns\": 156789000, \"skew", "\"ts_ns\": 3, \"skew"},
      {"version_2.json", "\"version\": 1", "\"version\": 2"},
      {"ts_over_2p53.json", "\"ts_ns\": 123456000", "\"ts_ns\": 9007199254740993"},
      {"fractional_seq.json", "\"seq\": 17", "\"seq\": 17.5"},
      {"stats_mismatch.json", "\"stats\": {\"sets\": 2", "\"stats\": {\"sets\": 9"},
      {"wrong_types.json", "\"width\": 640", "\"width\": [640]"},
  };
  for (size_t i = 0; i < sizeof(mut) / sizeof(mut[0]); i++) {
    char out[4096];
    const char *at = strstr(valid, mut[i].from);
    if (!at) exit(1);
    snprintf(out, sizeof(out), "%.*s%s%s", (int)(at - valid), valid, mut[i].to, at + strlen(mut[i].from));
    put(dir, d, mut[i].name, out, strlen(out));
  }
  put(dir, d, "truncated.json", valid, strlen(valid) / 2);
  put(dir, d, "empty", "", 0);
}

int main(int argc, char **argv) {
  if (argc != 2) return 2;
  gen_png(argv[1]);
  gen_mjpeg(argv[1]);
  gen_manifest(argv[1]);
  return 0;
}
