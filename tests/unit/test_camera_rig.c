/* The capture layer end to end against the fake V4L2 device (drivers/fake) through the real capture
 * code (drivers/v4l2, drivers/camera): format negotiation and decode, every fault the fake injects,
 * four cameras where one disconnects mid-stream and returns while another sends corrupt frames,
 * frames outliving the rig, and URI errors. Runs in a few seconds of wall-clock time. */
#include <linux/videodev2.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "camera/frame_internal.h"
#include "harness.h"
#include "hatch/camera.h"
#include "hatch/frame_decode.h"
#include "hatch/v4l2_fake.h"

#define MS 1000000ll

static hatch_rig *open_rig(hatch_test_ctx *c, const char *const *uris, int n, const hatch_rig_options *opt) {
  hatch_rig *rig = NULL;
  hatch_error err = {""};
  hatch_status st = hatch_rig_open(uris, n, opt, &rig, &err);
  HATCH_EXPECT(c, st == HATCH_OK, "hatch_rig_open: %s: %s", hatch_status_name(st), err.message);
  return rig;
}

static hatch_camera_stats cam_stats(hatch_rig *rig, int cam) {
  hatch_camera_stats s;
  memset(&s, 0, sizeof s);
  hatch_rig_camera_stats(rig, cam, &s);
  return s;
}

/* Takes sets for ms milliseconds; returns how many came (releasing them). */
static int drain_for(hatch_rig *rig, int64_t ms) {
  int n = 0;
  int64_t end = hatch_monotonic_ns() + ms * MS;
  while (hatch_monotonic_ns() < end) {
    hatch_frame_set *set = NULL;
    if (hatch_rig_next_set(rig, 20, &set) == HATCH_OK) n++;
    hatch_frame_set_release(set);
  }
  return n;
}

/* One camera with one fault spec: runs ~ms, returns its stats. */
static hatch_camera_stats run_single(hatch_test_ctx *c, const char *uri, int64_t ms, int *sets) {
  hatch_rig_options opt;
  hatch_rig_options_default(&opt);
  opt.reopen_min_ns = 20 * MS;
  opt.reopen_max_ns = 80 * MS;
  hatch_rig *rig = open_rig(c, &uri, 1, &opt);
  hatch_camera_stats s;
  memset(&s, 0, sizeof s);
  if (!rig) return s;
  int n = drain_for(rig, ms);
  if (sets) *sets = n;
  s = cam_stats(rig, 0);
  hatch_rig_close(rig);
  return s;
}

static void test_formats_decode(hatch_test_ctx *c) {
  static const struct { const char *fmt; uint32_t fourcc; } fmts[] = {
      {"mjpeg", V4L2_PIX_FMT_MJPEG}, {"yuyv", V4L2_PIX_FMT_YUYV}, {"nv12", V4L2_PIX_FMT_NV12}, {"rgb24", V4L2_PIX_FMT_RGB24}};
  hatch_jpeg_decoder *dec = NULL;
  hatch_jpeg_decoder_create(NULL, &dec);
  for (size_t i = 0; i < sizeof fmts / sizeof *fmts; i++) {
    char uri[128];
    snprintf(uri, sizeof uri, "fake://cam?width=320&height=240&fps=100&format=%s", fmts[i].fmt);
    const char *u = uri;
    hatch_rig *rig = open_rig(c, &u, 1, NULL);
    if (!rig) continue;
    hatch_frame_set *set = NULL;
    hatch_status st = hatch_rig_next_set(rig, 2000, &set);
    HATCH_EXPECT(c, st == HATCH_OK && set, "%s: a set within 2 s (%s)", fmts[i].fmt, hatch_status_name(st));
    if (set && set->frames[0]) {
      const hatch_frame *f = set->frames[0];
      HATCH_EXPECT(c, f->fourcc == fmts[i].fourcc && f->width == 320 && f->height == 240 && f->rgb,
                   "%s: negotiated %ux%d x %d", fmts[i].fmt, f->fourcc, f->width, f->height);
      /* The frame's pixels are the decode of its payload. */
      uint8_t *want = malloc(320 * 240 * 3);
      hatch_status d = HATCH_ERR_INVALID_ARGUMENT;
      if (fmts[i].fourcc == V4L2_PIX_FMT_MJPEG) d = hatch_jpeg_decode_rgb(dec, f->payload, f->payload_size, want, 320 * 240 * 3, NULL);
      else if (fmts[i].fourcc == V4L2_PIX_FMT_YUYV) d = hatch_yuyv_to_rgb(f->payload, f->payload_size, 320, 240, 0, want, 320 * 240 * 3);
      else if (fmts[i].fourcc == V4L2_PIX_FMT_NV12) d = hatch_nv12_to_rgb(f->payload, f->payload_size, 320, 240, 0, want, 320 * 240 * 3);
      else memcpy(want, f->payload, 320 * 240 * 3), d = HATCH_OK;
      HATCH_EXPECT(c, d == HATCH_OK && memcmp(want, f->rgb, 320 * 240 * 3) == 0, "%s: rgb = decode(payload)", fmts[i].fmt);
      int64_t now = hatch_monotonic_ns();
      HATCH_EXPECT(c, f->ts_ns <= now && f->ts_ns > now - 500 * MS && !f->ts_repaired, "%s: sane monotonic timestamp", fmts[i].fmt);
      HATCH_EXPECT(c, f->dequeue_ns >= f->ts_ns && f->ready_ns >= f->dequeue_ns, "%s: ts <= dequeue <= ready", fmts[i].fmt);
      free(want);
    }
    hatch_frame_set_release(set);
    hatch_camera_stats s = cam_stats(rig, 0);
    HATCH_EXPECT(c, s.state == HATCH_CAMERA_STREAMING && s.fourcc == fmts[i].fourcc && s.fps == 100, "%s: stats %s fps %d",
                 fmts[i].fmt, hatch_camera_state_name(s.state), s.fps);
    hatch_rig_close(rig);
  }
  hatch_jpeg_decoder_destroy(dec);
}

static void test_faults(hatch_test_ctx *c) {
  int sets = 0;
  hatch_camera_stats s;
  s = run_single(c, "fake://e?width=160&height=120&fps=100&faults=error:3", 400, &sets);
  HATCH_EXPECT(c, s.error_flagged > 5 && s.frames > 10 && s.error_flagged * 4 > s.frames / 2 && sets > 10,
               "error-flagged frames dropped and counted (flagged %llu, frames %llu)", (unsigned long long)s.error_flagged,
               (unsigned long long)s.frames);
  s = run_single(c, "fake://d?width=160&height=120&fps=100&faults=drop:4", 400, NULL);
  HATCH_EXPECT(c, s.driver_drops > 5 && s.frames > 10, "driver drops from sequence gaps (%llu)", (unsigned long long)s.driver_drops);
  s = run_single(c, "fake://t?width=160&height=120&fps=100&faults=truncate:3", 400, NULL);
  HATCH_EXPECT(c, s.corrupt > 5 && s.frames > 10, "truncated MJPEG dropped as corrupt (%llu)", (unsigned long long)s.corrupt);
  s = run_single(c, "fake://k?width=160&height=120&fps=100&faults=corrupt:2", 400, NULL);
  HATCH_EXPECT(c, s.corrupt + s.decode_warnings > 5 && s.frames > 5,
               "corrupt entropy data: dropped or warned (corrupt %llu, warnings %llu)", (unsigned long long)s.corrupt,
               (unsigned long long)s.decode_warnings);
  s = run_single(c, "fake://i?width=160&height=120&fps=100&faults=eio:5", 400, NULL);
  HATCH_EXPECT(c, s.io_errors > 3 && s.frames > 10 && s.disconnects == 0, "EIO counted, stream goes on (%llu)",
               (unsigned long long)s.io_errors);
  s = run_single(c, "fake://r?width=160&height=120&fps=100&faults=eintr:2", 400, NULL);
  HATCH_EXPECT(c, s.frames > 20 && s.io_errors == 0 && s.disconnects == 0, "EINTR retried (frames %llu)", (unsigned long long)s.frames);
  s = run_single(c, "fake://w?width=160&height=120&fps=200&faults=seqwrap", 1000, NULL);
  HATCH_EXPECT(c, s.frames > 150 && s.driver_drops < s.frames / 4, "sequence wrap: no phantom drops (frames %llu, drops %llu)",
               (unsigned long long)s.frames, (unsigned long long)s.driver_drops);
  s = run_single(c, "fake://u?width=160&height=120&fps=100&faults=tsunknown", 300, NULL);
  HATCH_EXPECT(c, s.frames > 5 && s.ts_repaired == s.frames, "unknown timestamps all repaired (%llu of %llu)",
               (unsigned long long)s.ts_repaired, (unsigned long long)s.frames);
  s = run_single(c, "fake://n?width=160&height=120&fps=100&faults=enospc:2", 500, NULL);
  HATCH_EXPECT(c, s.reopen_failures >= 1 && s.frames > 5 && s.state == HATCH_CAMERA_STREAMING && strstr(s.last_error, "bandwidth"),
               "ENOSPC at STREAMON: retried, then streaming (failures %llu, frames %llu, '%s')",
               (unsigned long long)s.reopen_failures, (unsigned long long)s.frames, s.last_error);
  s = run_single(c, "fake://m?width=160&height=120&fps=100&faults=enomem:1", 400, NULL);
  HATCH_EXPECT(c, s.frames > 5 && s.state == HATCH_CAMERA_STREAMING, "REQBUFS ENOMEM once: recovered");
  s = run_single(c, "fake://s?width=160&height=120&fps=100&faults=slow:5:150", 600, &sets);
  HATCH_EXPECT(c, s.frames > 10 && s.disconnects == 0 && sets > 10, "slow frames: the stream goes on (frames %llu)",
               (unsigned long long)s.frames);
}

static void test_timestamp_wrap(hatch_test_ctx *c) {
  const char *uri = "fake://tw?width=160&height=120&fps=100&faults=tswrap";
  hatch_rig *rig = open_rig(c, &uri, 1, NULL);
  if (!rig) return;
  int64_t last = 0, n = 0;
  bool monotonic = true;
  int64_t end = hatch_monotonic_ns() + 400 * MS;
  while (hatch_monotonic_ns() < end) {
    hatch_frame_set *set = NULL;
    if (hatch_rig_next_set(rig, 20, &set) == HATCH_OK && set->frames[0]) {
      monotonic = monotonic && set->frames[0]->ts_ns >= last;
      last = set->frames[0]->ts_ns;
      n++;
    }
    hatch_frame_set_release(set);
  }
  hatch_camera_stats s = cam_stats(rig, 0);
  HATCH_EXPECT(c, n > 10 && monotonic && s.ts_repaired > 0, "wrapped timestamps repaired, sets stay monotonic (n %lld, repaired %llu)",
               (long long)n, (unsigned long long)s.ts_repaired);
  hatch_rig_close(rig);
}

/* The scenario: four cameras, one disconnects mid-stream and returns, another sends corrupt
 * frames; sets keep coming from the rest, counters match what the fake did. */
static void test_four_cameras(hatch_test_ctx *c) {
  const char *uris[4] = {"fake://c0?width=320&height=240&fps=50", "fake://c1?width=320&height=240&fps=50",
                         "fake://c2?width=320&height=240&fps=50&faults=corrupt:4", "fake://c3?width=320&height=240&fps=50"};
  hatch_rig_options opt;
  hatch_rig_options_default(&opt);
  opt.reopen_min_ns = 50 * MS;
  opt.reopen_max_ns = 200 * MS;
  opt.tolerance_ns = 25 * MS;
  hatch_rig *rig = open_rig(c, uris, 4, &opt);
  if (!rig) return;
  hatch_fake_v4l2 *fake = hatch_rig_fake_device(rig);
  int full = 0, c1_missing = 0, total = 0, c1_after = 0;
  int64_t worst_gap = 0, last_set = hatch_monotonic_ns();
  int64_t t0 = hatch_monotonic_ns();
  bool disconnected = false, reconnected = false;
  while (hatch_monotonic_ns() - t0 < 3000 * MS) {
    int64_t t = hatch_monotonic_ns() - t0;
    if (!disconnected && t > 800 * MS) disconnected = hatch_fake_v4l2_disconnect(fake, "c1") == HATCH_OK;
    if (!reconnected && t > 1600 * MS) reconnected = hatch_fake_v4l2_reconnect(fake, "c1") == HATCH_OK;
    hatch_frame_set *set = NULL;
    if (hatch_rig_next_set(rig, 50, &set) != HATCH_OK) continue;
    int64_t now = hatch_monotonic_ns();
    if (t > 300 * MS && now - last_set > worst_gap) worst_gap = now - last_set;
    last_set = now;
    total++;
    if (set->n_missing == 0) full++;
    if (!set->frames[1]) c1_missing++;
    if (reconnected && set->frames[1] && t > 2200 * MS) c1_after++;
    /* Sets are consistent: present frames within the tolerance, cameras in their slots. */
    for (int k = 0; k < 4; k++)
      if (set->frames[k]) {
        HATCH_EXPECT(c, set->frames[k]->camera == k && set->frames[k]->rgb, "slot %d holds camera %d", k, set->frames[k]->camera);
        HATCH_EXPECT(c, llabs(set->frames[k]->ts_ns - set->ts_ns) <= opt.tolerance_ns, "within tolerance");
      }
    hatch_frame_set_release(set);
  }
  HATCH_EXPECT(c, disconnected && reconnected, "fault injection");
  HATCH_EXPECT(c, total > 60 && full > 20, "sets kept coming: %d sets, %d full", total, full);
  HATCH_EXPECT(c, worst_gap < 400 * MS, "no stall longer than 400 ms while camera 1 was away (worst %lld ms)",
               (long long)(worst_gap / MS));
  HATCH_EXPECT(c, c1_missing > 10, "camera 1 reported missing while down (%d sets)", c1_missing);
  HATCH_EXPECT(c, c1_after > 10, "camera 1 back in sets after it returned (%d sets)", c1_after);
  hatch_camera_stats s1 = cam_stats(rig, 1), s2 = cam_stats(rig, 2), s0 = cam_stats(rig, 0);
  HATCH_EXPECT(c, s1.disconnects == 1 && s1.reopens == 1 && s1.state == HATCH_CAMERA_STREAMING,
               "camera 1: 1 disconnect, 1 reopen, streaming (got %llu, %llu, %s; %s)", (unsigned long long)s1.disconnects,
               (unsigned long long)s1.reopens, hatch_camera_state_name(s1.state), s1.last_error);
  HATCH_EXPECT(c, s1.reopen_failures >= 1, "reopen attempts failed while unplugged (%llu)", (unsigned long long)s1.reopen_failures);
  hatch_fake_stats f2;
  hatch_fake_v4l2_stats_get(fake, "c2", &f2);
  HATCH_EXPECT(c, s2.corrupt + s2.decode_warnings >= 10, "camera 2: corrupt frames dropped or flagged (%llu + %llu)",
               (unsigned long long)s2.corrupt, (unsigned long long)s2.decode_warnings);
  /* Every frame the fake delivered was either delivered by the source or dropped as corrupt; at most
   * the buffers in flight differ. */
  uint64_t seen = s2.frames + s2.corrupt;
  HATCH_EXPECT(c, f2.frames_delivered >= seen && f2.frames_delivered - seen <= 4, "camera 2 counters: fake delivered %llu, "
               "source saw %llu", (unsigned long long)f2.frames_delivered, (unsigned long long)seen);
  HATCH_EXPECT(c, s2.corrupt <= f2.frames_corrupted, "corrupt <= corrupted by the fake (%llu <= %llu)",
               (unsigned long long)s2.corrupt, (unsigned long long)f2.frames_corrupted);
  HATCH_EXPECT(c, s0.disconnects == 0 && s0.corrupt == 0 && s0.frames > 100, "camera 0 untouched (%llu frames)", (unsigned long long)s0.frames);
  hatch_rig_stats rs;
  hatch_rig_stats_get(rig, &rs);
  HATCH_EXPECT(c, rs.sets >= (uint64_t)total && rs.sets_partial >= (uint64_t)c1_missing, "rig stats");
  /* A set held across the close: its frames stay readable (ASan would see a use after free). */
  hatch_frame_set *held = NULL;
  HATCH_EXPECT(c, hatch_rig_next_set(rig, 1000, &held) == HATCH_OK, "one more set");
  hatch_rig_close(rig);
  if (held) {
    unsigned sum = 0;
    for (int k = 0; k < 4; k++)
      if (held->frames[k]) {
        const hatch_frame *f = held->frames[k];
        for (size_t i = 0; i < (size_t)f->width * f->height * 3; i += 97) sum += f->rgb[i];
        for (size_t i = 0; i < f->payload_size; i += 31) sum += f->payload[i];
      }
    HATCH_EXPECT(c, sum > 0, "held frames readable after close");
    hatch_frame_set_release(held);
  }
}

static void test_missing_device(hatch_test_ctx *c) {
  const char *uris[2] = {"fake://ok?width=160&height=120&fps=100", "v4l2:///dev/video-hatch-missing?fps=30"};
  hatch_rig_options opt;
  hatch_rig_options_default(&opt);
  opt.reopen_min_ns = 20 * MS;
  opt.reopen_max_ns = 40 * MS;
  hatch_rig *rig = open_rig(c, uris, 2, &opt);
  if (!rig) return;
  int partial = 0, n = 0;
  int64_t end = hatch_monotonic_ns() + 500 * MS;
  while (hatch_monotonic_ns() < end) {
    hatch_frame_set *set = NULL;
    if (hatch_rig_next_set(rig, 20, &set) == HATCH_OK) {
      n++;
      if (set->n_missing == 1 && !set->frames[1] && set->frames[0]) partial++;
    }
    hatch_frame_set_release(set);
  }
  hatch_camera_stats s = cam_stats(rig, 1);
  HATCH_EXPECT(c, n > 20 && partial == n, "sets without the missing camera, not waiting for it (%d of %d)", partial, n);
  HATCH_EXPECT(c, s.state == HATCH_CAMERA_DOWN && s.reopen_failures >= 3 && strstr(s.last_error, "/dev/video-hatch-missing"),
               "missing camera DOWN, retried with backoff, named in the error (%s, %llu, '%s')",
               hatch_camera_state_name(s.state), (unsigned long long)s.reopen_failures, s.last_error);
  hatch_rig_close(rig);
}

static void test_held_frames(hatch_test_ctx *c) {
  const char *uri = "fake://h?width=160&height=120&fps=100&buffers=4";
  hatch_rig_options opt;
  hatch_rig_options_default(&opt);
  opt.queue_sets = 8;
  hatch_rig *rig = open_rig(c, &uri, 1, &opt);
  if (!rig) return;
  hatch_frame_set *held[4] = {0};
  int got = 0;
  for (int i = 0; i < 4; i++) got += hatch_rig_next_set(rig, 1000, &held[i]) == HATCH_OK;
  /* Every buffer is out: the driver must drop, the rig must not hang. */
  struct timespec ts = {0, 200 * MS};
  nanosleep(&ts, NULL);
  hatch_fake_stats fs;
  hatch_fake_v4l2_stats_get(hatch_rig_fake_device(rig), "h", &fs);
  HATCH_EXPECT(c, got == 4 && fs.frames_dropped_no_buffer > 5, "buffers held: the driver drops (%llu)",
               (unsigned long long)fs.frames_dropped_no_buffer);
  for (int i = 0; i < 4; i++) hatch_frame_set_release(held[i]);
  int after = drain_for(rig, 200);
  hatch_camera_stats s = cam_stats(rig, 0);
  HATCH_EXPECT(c, after > 5, "released: frames flow again (%d sets)", after);
  /* The gap shows in the sequence numbers once frames flow again. */
  HATCH_EXPECT(c, s.driver_drops >= fs.frames_dropped_no_buffer, "driver drops counted from sequence gaps (%llu >= %llu)",
               (unsigned long long)s.driver_drops, (unsigned long long)fs.frames_dropped_no_buffer);
  hatch_rig_close(rig);
}

/* A frame's RGB is what the runtime's preprocessing reads: U8 (3, w, h) in, resize, then patchify. */
static void test_preprocess_frame(hatch_test_ctx *c) {
  const char *uri = "fake://p?width=320&height=240&fps=60&pattern=scene";
  hatch_rig *rig = open_rig(c, &uri, 1, NULL);
  if (!rig) return;
  hatch_frame_set *set = NULL;
  HATCH_EXPECT(c, hatch_rig_next_set(rig, 2000, &set) == HATCH_OK && set->frames[0], "a frame");
  if (set && set->frames[0]) {
    const hatch_frame *f = set->frames[0];
    int64_t ne_src[3] = {3, f->width, f->height}, ne_dst[3] = {3, 224, 168}, ne_p[2] = {14 * 14 * 3 * 2, 16 * 12};
    hatch_tensor *src = NULL, *dst = NULL, *patches = NULL;
    hatch_status st = hatch_tensor_create(c->cpu, HATCH_TYPE_U8, 3, ne_src, &src);
    if (st == HATCH_OK) st = hatch_tensor_create(c->cpu, HATCH_TYPE_U8, 3, ne_dst, &dst);
    if (st == HATCH_OK) st = hatch_tensor_create(c->cpu, HATCH_TYPE_F32, 2, ne_p, &patches);
    if (st == HATCH_OK) st = hatch_tensor_write(src, f->rgb, (size_t)f->width * f->height * 3);
    if (st == HATCH_OK) st = hatch_image_resize(c->cpu, dst, src);
    hatch_patchify_params pp;
    hatch_patchify_params_qwen2vl(&pp);
    if (st == HATCH_OK) st = hatch_image_patchify(c->cpu, patches, dst, &pp);
    HATCH_EXPECT(c, st == HATCH_OK, "frame -> resize -> patchify: %s", hatch_status_name(st));
    static uint8_t resized[224 * 168 * 3];
    static float rows[16 * 12 * 1176];
    if (st == HATCH_OK && hatch_tensor_read(dst, resized, sizeof resized) == HATCH_OK &&
        hatch_tensor_read(patches, rows, sizeof rows) == HATCH_OK) {
      /* Patch (row 0, col 1), channel 2, t 0, py 3, px 5 <- resized pixel (x = 14 + 5, y = 3), blue. */
      float want = ((float)resized[(3 * 224 + 19) * 3 + 2] / 255.0f - pp.mean[2]) / pp.std[2];
      float got = rows[1 * 1176 + 2 * (2 * 196) + 0 * 196 + 3 * 14 + 5];
      HATCH_EXPECT(c, got > want - 1e-4f && got < want + 1e-4f, "patch value %f, want %f", got, want);
      long sum = 0;
      for (size_t i = 0; i < sizeof resized; i++) sum += resized[i];
      HATCH_EXPECT(c, sum > (long)sizeof resized * 20 && sum < (long)sizeof resized * 235, "the resized frame has content");
    }
    hatch_tensor_destroy(src);
    hatch_tensor_destroy(dst);
    hatch_tensor_destroy(patches);
  }
  hatch_frame_set_release(set);
  hatch_rig_close(rig);
}

/* Two fake cameras at 30 fps whose frame clocks stay 17 ms apart (phase_ms), as free-running cameras
 * can: the default tolerance (AUTO: half the period + 2 ms = 18.7 ms) pairs them, 17 (or 16.3) ms apart; a
 * fixed 15 ms (the default until 2026-11-22) never forms a full set from them. */
static void test_out_of_phase(hatch_test_ctx *c) {
  const char *uris[2] = {"fake://q0?width=160&height=120&fps=30&phase_ms=3",
                         "fake://q1?width=160&height=120&fps=30&phase_ms=20"};
  for (int fixed = 0; fixed < 2; fixed++) {
    hatch_rig_options opt;
    hatch_rig_options_default(&opt);
    if (fixed) opt.tolerance_ns = 15 * MS;
    hatch_rig *rig = open_rig(c, uris, 2, &opt);
    if (!rig) return;
    int full = 0, total = 0, skew_off = 0;
    for (int64_t t0 = hatch_monotonic_ns(); hatch_monotonic_ns() - t0 < 800 * MS;) {
      hatch_frame_set *set = NULL;
      if (hatch_rig_next_set(rig, 50, &set) != HATCH_OK) continue;
      total++;
      /* nearest frames: 17 ms apart, or 33.3 - 17 = 16.3 ms the other way round */
      if (set->n_missing == 0)
        full++, skew_off += llabs(set->skew_ns - 17 * MS) > MS / 100 && llabs(set->skew_ns - (33333333 - 17 * MS)) > MS / 100;
      hatch_frame_set_release(set);
    }
    int64_t tol = hatch_rig_tolerance_ns(rig);
    if (fixed)
      HATCH_EXPECT(c, total > 5 && full == 0 && tol == 15 * MS, "fixed 15 ms: %d full of %d sets (want none), tolerance %lld",
                   full, total, (long long)tol);
    else
      HATCH_EXPECT(c, full >= 5 && 2 * full >= total && skew_off == 0 && llabs(tol - (33333333 / 2 + 2 * MS)) < 1000,
                   "AUTO: %d full of %d sets, %d not 17 or 16.3 ms apart, tolerance %lld ns", full, total, skew_off, (long long)tol);
    hatch_rig_close(rig);
  }
}

static void test_uri_errors(hatch_test_ctx *c) {
  static const struct { const char *uri; hatch_status st; const char *says; } cases[] = {
      {"rtsp://cam", HATCH_ERR_INVALID_ARGUMENT, "unknown scheme"},
      {"video0", HATCH_ERR_INVALID_ARGUMENT, "expected"},
      {"fake://x?fps=0", HATCH_ERR_INVALID_ARGUMENT, "fps"},
      {"fake://x?width=abc", HATCH_ERR_INVALID_ARGUMENT, "width"},
      {"fake://x?colour=red", HATCH_ERR_INVALID_ARGUMENT, "colour"},
      {"fake://x?format=h264", HATCH_ERR_INVALID_ARGUMENT, "h264"},
      {"fake://x?faults=melt:3", HATCH_ERR_INVALID_ARGUMENT, "melt"},
      {"fake://x?fps=30&fps=60", HATCH_ERR_INVALID_ARGUMENT, "repeated"},
      {"fake://x?phase_ms=1000", HATCH_ERR_INVALID_ARGUMENT, "phase_ms"},
      {"v4l2://?fps=30", HATCH_ERR_INVALID_ARGUMENT, "empty path"},
      {"file:///nonexistent/hatch/frames", HATCH_ERR_NOT_FOUND, "/nonexistent/hatch/frames"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    hatch_rig *rig = NULL;
    hatch_error err = {""};
    hatch_status st = hatch_rig_open(&cases[i].uri, 1, NULL, &rig, &err);
    HATCH_EXPECT(c, st == cases[i].st && !rig && strstr(err.message, cases[i].says), "%s -> %s '%s'", cases[i].uri,
                 hatch_status_name(st), err.message);
    hatch_rig_close(rig);
  }
  const char *two[2] = {"fake://same", "fake://same"};
  hatch_rig *rig = NULL;
  hatch_error err = {""};
  HATCH_EXPECT(c, hatch_rig_open(two, 2, NULL, &rig, &err) != HATCH_OK && !rig, "two cameras with one name refused");
  HATCH_EXPECT(c, hatch_rig_open(two, 0, NULL, &rig, &err) == HATCH_ERR_INVALID_ARGUMENT, "zero cameras refused");
}

int main(int argc, char **argv) {
  static const hatch_test_case cases[] = {
      {"formats_decode", test_formats_decode, false}, {"faults", test_faults, false},
      {"timestamp_wrap", test_timestamp_wrap, false}, {"four_cameras", test_four_cameras, false},
      {"missing_device", test_missing_device, false}, {"held_frames", test_held_frames, false},
      {"uri_errors", test_uri_errors, false},    {"preprocess_frame", test_preprocess_frame, false},
      {"out_of_phase", test_out_of_phase, false},
  };
  return hatch_test_main(argc, argv, cases, (int)(sizeof cases / sizeof *cases));
}
