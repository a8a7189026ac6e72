/* file:// sources through the rig: frame directories (JPEG + PNG, natural order, a corrupt file),
 * MJPEG files with garbage between frames, replay pacing (realtime timestamps, fast consumer-paced,
 * loop), and a capture -> manifest -> replay round trip that keeps bytes, sequence numbers and skews. */
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <turbojpeg.h>
#include <time.h>
#include <unistd.h>

#include "camera/frame_internal.h"
#include "harness.h"
#include "hatch/camera.h"
#include "hatch/frame_decode.h"
#include "hatch/frame_files.h"

#define MS 1000000ll
#define W 96
#define H 64

static char g_tmp[256];

static const char *tmpdir(const char *sub) {
  static char path[512];
  snprintf(path, sizeof path, "%s/%s", g_tmp, sub);
  mkdir(path, 0777);
  return path;
}

/* (H, W, 3) pattern differing per k. */
static void pattern(uint8_t *rgb, int k) {
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++) {
      uint8_t *p = rgb + (y * W + x) * 3;
      p[0] = (uint8_t)(x * 2 + k * 40), p[1] = (uint8_t)(y * 3 + k * 10), p[2] = (uint8_t)((x / 8 + y / 8 + k) % 2 ? 200 : 30);
    }
}

static unsigned char *make_jpeg(int k, unsigned long *size) {
  uint8_t rgb[W * H * 3];
  pattern(rgb, k);
  tjhandle tj = tjInitCompress();
  unsigned char *jpeg = NULL;
  *size = 0;
  tjCompress2(tj, rgb, W, 0, H, TJPF_RGB, &jpeg, size, TJSAMP_422, 90, 0);
  tjDestroy(tj);
  return jpeg;
}

static void write_file(const char *dir, const char *name, const void *data, size_t size) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
  if (f) fwrite(data, 1, size, f), fclose(f);
}

static void write_png(const char *dir, const char *name, int k) {
  uint8_t rgb[W * H * 3];
  pattern(rgb, k);
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  png_image img;
  memset(&img, 0, sizeof img);
  img.version = PNG_IMAGE_VERSION, img.width = W, img.height = H, img.format = PNG_FORMAT_RGB;
  png_image_write_to_file(&img, path, 0, rgb, W * 3, NULL);
}

static hatch_rig *open1(hatch_test_ctx *c, const char *uri) {
  hatch_rig *rig = NULL;
  hatch_error err = {""};
  hatch_status st = hatch_rig_open(&uri, 1, NULL, &rig, &err);
  HATCH_EXPECT(c, st == HATCH_OK, "open %s: %s %s", uri, hatch_status_name(st), err.message);
  return rig;
}

static void test_frame_dir(hatch_test_ctx *c) {
  const char *dir = tmpdir("dir");
  /* Natural order: frame2 before frame10; a PNG among JPEGs; one corrupt file. */
  int order[4] = {1, 2, 3, 4}; /* pattern index by replay position */
  unsigned long n;
  unsigned char *j1 = make_jpeg(1, &n);
  write_file(dir, "frame1.jpg", j1, n);
  tjFree(j1);
  write_png(dir, "frame2.png", 2);
  unsigned char *j3 = make_jpeg(3, &n);
  write_file(dir, "frame9.jpg", j3, n);
  write_file(dir, "frame9b.jpg", j3, n / 3); /* truncated: dropped as corrupt */
  tjFree(j3);
  unsigned char *j4 = make_jpeg(4, &n);
  write_file(dir, "frame10.JPEG", j4, n);
  tjFree(j4);
  write_file(dir, "notes.txt", "x", 1);
  char uri[600];
  snprintf(uri, sizeof uri, "file://%s?fps=50", dir);
  hatch_rig *rig = open1(c, uri);
  if (!rig) return;
  hatch_jpeg_decoder *dec = NULL;
  hatch_jpeg_decoder_create(NULL, &dec);
  int got = 0;
  int64_t first_ts = 0;
  hatch_frame_set *set = NULL;
  while (hatch_rig_next_set(rig, 2000, &set) == HATCH_OK) {
    const hatch_frame *f = set->frames[0];
    if (got < 4 && f) {
      uint8_t want[W * H * 3];
      pattern(want, order[got]);
      /* JPEG is lossy: compare coarsely; the PNG exactly. */
      int64_t err = 0;
      for (int i = 0; i < W * H * 3; i++) err += abs((int)want[i] - f->rgb[i]);
      bool png = got == 1;
      HATCH_EXPECT(c, f->width == W && f->height == H && (png ? err == 0 : err / (W * H * 3) < 6),
                   "frame %d: pattern %d (mean abs err %lld)", got, order[got], (long long)(err / (W * H * 3)));
      if (got == 0) first_ts = f->ts_ns;
      if (got == 3) HATCH_EXPECT(c, f->ts_ns - first_ts == 4 * 20 * MS, "replayed at 50 fps: t(4th) - t(1st) = %lld ms",
                                 (long long)((f->ts_ns - first_ts) / MS));
    }
    got++;
    hatch_frame_set_release(set);
    set = NULL;
  }
  hatch_camera_stats s;
  hatch_rig_camera_stats(rig, 0, &s);
  HATCH_EXPECT(c, got == 4 && s.corrupt == 1 && s.state == HATCH_CAMERA_ENDED && strstr(s.last_error, "frame9b.jpg"),
               "4 frames, 1 corrupt named in the error, then ended (got %d, corrupt %llu, %s, '%s')", got,
               (unsigned long long)s.corrupt, hatch_camera_state_name(s.state), s.last_error);
  HATCH_EXPECT(c, hatch_rig_next_set(rig, 100, &set) == HATCH_ERR_NOT_FOUND, "after the end: HATCH_ERR_NOT_FOUND");
  hatch_jpeg_decoder_destroy(dec);
  hatch_rig_close(rig);
}

static void test_mjpeg_file_fast_loop(hatch_test_ctx *c) {
  const char *dir = tmpdir("mjpeg");
  char path[600];
  snprintf(path, sizeof path, "%s/clip.mjpeg", dir);
  FILE *f = fopen(path, "wb");
  for (int k = 0; k < 6 && f; k++) {
    unsigned long n;
    unsigned char *j = make_jpeg(k, &n);
    fwrite(j, 1, n, f);
    if (k == 2) fwrite("garbage!", 1, 8, f); /* skipped by the splitter's resync */
    tjFree(j);
  }
  if (f) fclose(f);
  char uri[700];
  /* fast + a slow consumer: nothing may be dropped. */
  snprintf(uri, sizeof uri, "file://%s?pace=fast", path);
  hatch_rig *rig = open1(c, uri);
  if (!rig) return;
  int got = 0;
  hatch_frame_set *set = NULL;
  while (hatch_rig_next_set(rig, 2000, &set) == HATCH_OK) {
    nanosleep(&(struct timespec){0, 20 * MS}, NULL);
    HATCH_EXPECT(c, set->frames[0] && set->frames[0]->seq == (uint64_t)got, "fast: frame %d in order", got);
    got++;
    hatch_frame_set_release(set);
  }
  hatch_camera_stats s;
  hatch_rig_camera_stats(rig, 0, &s);
  HATCH_EXPECT(c, got == 6 && s.driver_drops == 0, "6 frames from the MJPEG file, none dropped (got %d)", got);
  hatch_rig_close(rig);
  /* loop=1 keeps going past the end with increasing timestamps. */
  snprintf(uri, sizeof uri, "file://%s?fps=200&loop=1", path);
  rig = open1(c, uri);
  if (!rig) return;
  int64_t last = -1;
  bool increasing = true;
  for (got = 0; got < 15; got++) {
    if (hatch_rig_next_set(rig, 1000, &set) != HATCH_OK) break;
    increasing = increasing && set->frames[0]->ts_ns > last;
    last = set->frames[0]->ts_ns;
    hatch_frame_set_release(set);
  }
  HATCH_EXPECT(c, got == 15 && increasing, "loop: 15 frames out of 6, timestamps increasing (%d)", got);
  hatch_rig_close(rig);
}

/* Live capture of two fake cameras -> files + manifest (the writer `hatch capture` uses) -> replay. */
static void test_capture_round_trip(hatch_test_ctx *c) {
  const char *dir = tmpdir("capture");
  const char *uris[2] = {"fake://a?width=160&height=120&fps=40", "fake://b?width=160&height=120&fps=40&seed=9"};
  hatch_rig *rig = NULL;
  hatch_error err = {""};
  HATCH_EXPECT(c, hatch_rig_open(uris, 2, NULL, &rig, &err) == HATCH_OK, "open: %s", err.message);
  if (!rig) return;
  hatch_capture_header hd;
  memset(&hd, 0, sizeof hd);
  hd.n_cameras = 2;
  hd.tolerance_ns = 15 * MS;
  snprintf(hd.created_utc, sizeof hd.created_utc, "2026-11-21T00:00:00Z");
  for (int k = 0; k < 2; k++)
    hd.cameras[k] = (hatch_capture_camera){.index = k, .width = 160, .height = 120, .pixel_format = "MJPG", .fps = 40};
  snprintf(hd.cameras[0].name, sizeof hd.cameras[0].name, "a");
  snprintf(hd.cameras[1].name, sizeof hd.cameras[1].name, "b");
  snprintf(hd.cameras[0].uri, sizeof hd.cameras[0].uri, "%s", uris[0]);
  snprintf(hd.cameras[1].uri, sizeof hd.cameras[1].uri, "%s", uris[1]);
  hatch_capture_writer *w = NULL;
  hatch_file_error ferr = {""};
  HATCH_EXPECT(c, hatch_capture_manifest_writer_open(dir, &hd, 4, &w, &ferr) == HATCH_OK, "writer: %s", ferr.message);
  enum { N = 12 };
  int64_t skews[N], ts[N][2];
  uint64_t seqs[N][2];
  size_t sizes[N][2];
  for (int i = 0; i < N && w; i++) {
    hatch_frame_set *set = NULL;
    if (hatch_rig_next_set(rig, 2000, &set) != HATCH_OK) break;
    hatch_capture_frame frames[2];
    char names[2][32];
    for (int k = 0; k < 2; k++) {
      const hatch_frame *f = set->frames[k];
      frames[k] = (hatch_capture_frame){.missing = true};
      ts[i][k] = -1;
      if (!f) continue;
      snprintf(names[k], sizeof names[k], "%06d_%c.jpg", i, 'a' + k);
      write_file(dir, names[k], f->payload, f->payload_size);
      frames[k] = (hatch_capture_frame){.file = names[k], .ts_ns = f->ts_ns, .seq = f->seq};
      ts[i][k] = f->ts_ns, seqs[i][k] = f->seq, sizes[i][k] = f->payload_size;
    }
    skews[i] = set->skew_ns;
    hatch_capture_set cs = {.index = i, .ts_ns = set->ts_ns, .skew_ns = set->skew_ns, .frames = frames};
    HATCH_EXPECT(c, hatch_capture_manifest_writer_append_set(w, &cs, &ferr) == HATCH_OK, "append: %s", ferr.message);
    hatch_frame_set_release(set);
  }
  hatch_rig_close(rig);
  HATCH_EXPECT(c, hatch_capture_manifest_writer_close(w, NULL, &ferr) == HATCH_OK, "close: %s", ferr.message);

  char ua[600], ub[600];
  snprintf(ua, sizeof ua, "file://%s?camera=a", dir);
  snprintf(ub, sizeof ub, "file://%s?camera=1", dir);
  const char *replay[2] = {ua, ub};
  HATCH_EXPECT(c, hatch_rig_open(replay, 2, NULL, &rig, &err) == HATCH_OK, "replay open: %s", err.message);
  if (!rig) return;
  int got = 0;
  hatch_frame_set *set = NULL;
  while (hatch_rig_next_set(rig, 2000, &set) == HATCH_OK) {
    if (got < N && ts[got][0] >= 0 && ts[got][1] >= 0) {
      const hatch_frame *fa = set->frames[0], *fb = set->frames[1];
      HATCH_EXPECT(c, fa && fb, "set %d complete", got);
      if (fa && fb) {
        HATCH_EXPECT(c, fa->seq == seqs[got][0] && fb->seq == seqs[got][1], "set %d: recorded sequence numbers", got);
        HATCH_EXPECT(c, fa->payload_size == sizes[got][0] && fb->payload_size == sizes[got][1], "set %d: same bytes", got);
        HATCH_EXPECT(c, set->skew_ns == skews[got], "set %d: skew %lld replayed as %lld", got, (long long)skews[got],
                     (long long)set->skew_ns);
        HATCH_EXPECT(c, (fb->ts_ns - fa->ts_ns) == (ts[got][1] - ts[got][0]), "set %d: relative timing kept", got);
      }
    }
    got++;
    hatch_frame_set_release(set);
  }
  HATCH_EXPECT(c, got == N, "replayed %d sets of %d", got, N);
  hatch_rig_close(rig);
  /* Bad replay URIs. */
  char bad[600];
  snprintf(bad, sizeof bad, "file://%s?camera=zz", dir);
  const char *b = bad;
  err.message[0] = 0;
  HATCH_EXPECT(c, hatch_rig_open(&b, 1, NULL, &rig, &err) == HATCH_ERR_NOT_FOUND && strstr(err.message, "zz"),
               "unknown camera named: %s", err.message);
}

int main(int argc, char **argv) {
  snprintf(g_tmp, sizeof g_tmp, "/tmp/hatch-replay-XXXXXX");
  if (!mkdtemp(g_tmp)) return 1;
  static const hatch_test_case cases[] = {
      {"frame_dir", test_frame_dir, false},
      {"mjpeg_file_fast_loop", test_mjpeg_file_fast_loop, false},
      {"capture_round_trip", test_capture_round_trip, false},
  };
  int rc = hatch_test_main(argc, argv, cases, (int)(sizeof cases / sizeof *cases));
  char cmd[600];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_tmp);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", g_tmp);
  return rc;
}
