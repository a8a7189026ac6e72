/* Writes the committed corpus of fuzz_jpeg_decode (tests/fuzz/corpus/jpeg_decode/): tiny valid JPEGs
 * made with tjCompress2, and broken variants. Run once by hand, not part of the build:
 *   cc tests/fuzz/gen_jpeg_decode_corpus.c -o /tmp/gen $(pkg-config --cflags --libs libturbojpeg)
 *   /tmp/gen tests/fuzz/corpus/jpeg_decode */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>

static unsigned char buf[1 << 16];
static unsigned long len;

static void put(const char *dir, const char *name, const unsigned char *d, unsigned long n) {
  char path[512];
  snprintf(path, sizeof(path), "%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
  if (!f || fwrite(d, 1, n, f) != n) exit(1);
  fclose(f);
}

static void make(int w, int h, int subsamp, int quality, int flags) {
  unsigned char rgb[32 * 32 * 3];
  for (int i = 0; i < w * h; i++)
    rgb[3 * i] = (unsigned char)(i % w * 255 / w), rgb[3 * i + 1] = (unsigned char)(i / w * 255 / h),
            rgb[3 * i + 2] = (unsigned char)(i * 7);
  tjhandle tj = tjInitCompress();
  unsigned char *out = NULL;
  if (!tj || tjCompress2(tj, rgb, w, 0, h, TJPF_RGB, &out, &len, subsamp, quality, flags) != 0 || len > sizeof(buf))
    exit(1);
  memcpy(buf, out, len);
  tjFree(out);
  tjDestroy(tj);
}

/* Offset of marker FF code before SOS, 0 if none. */
static unsigned long marker(unsigned char code) {
  for (unsigned long p = 2; p + 4 <= len && buf[p] == 0xFF; p += 2 + ((unsigned long)buf[p + 2] << 8 | buf[p + 3])) {
    if (buf[p + 1] == code) return p;
    if (buf[p + 1] == 0xDA) return 0;
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc != 2) return 2;
  const char *dir = argv[1];
  make(8, 8, TJSAMP_444, 50, 0), put(dir, "valid_8x8_444.jpg", buf, len);
  make(13, 7, TJSAMP_420, 75, 0), put(dir, "valid_13x7_420.jpg", buf, len);
  make(16, 16, TJSAMP_GRAY, 75, 0), put(dir, "valid_16x16_gray.jpg", buf, len);
  make(16, 16, TJSAMP_420, 75, TJFLAG_PROGRESSIVE), put(dir, "valid_16x16_progressive.jpg", buf, len);
  make(16, 8, TJSAMP_422, 75, 0);
  for (unsigned long p; (p = marker(0xC4)) != 0;) { /* MJPEG style: no DHT */
    unsigned long n = 2 + ((unsigned long)buf[p + 2] << 8 | buf[p + 3]);
    memmove(buf + p, buf + p + n, len - p - n);
    len -= n;
  }
  put(dir, "mjpeg_no_dht_16x8_422.jpg", buf, len);
  make(13, 7, TJSAMP_420, 75, 0);
  unsigned char t[1 << 16];
  memcpy(t, buf, len / 2), put(dir, "truncated_half.jpg", t, len / 2);
  memcpy(t, buf, len - 20), t[len - 20] = 0xFF, t[len - 19] = 0xD9, put(dir, "truncated_eoi.jpg", t, len - 18);
  memcpy(t, buf, len);
  for (unsigned long i = len - 60; i < len - 2; i += 7) t[i] ^= 0x5A; /* entropy data */
  put(dir, "corrupt_entropy.jpg", t, len);
  memcpy(t, buf, len), t[marker(0xC4) + 6] = 0xFF, put(dir, "corrupt_dht.jpg", t, len);
  unsigned long sof = marker(0xC0);
  memcpy(t, buf, len), t[sof + 5] = t[sof + 7] = 0xEA, t[sof + 6] = t[sof + 8] = 0x60;
  put(dir, "sof_60000x60000.jpg", t, len);
  memcpy(t, buf, len), t[sof + 5] = t[sof + 6] = 0, put(dir, "sof_height_0.jpg", t, len);
  put(dir, "empty", t, 0);
  return 0;
}
