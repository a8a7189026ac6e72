/* `hatch bench cameras`: (1) MJPEG decode frames/s per core at 640x480 and 1280x720 on camera-like
 * content, measured in thread CPU time; (2) N fake MJPEG cameras at 640x480 @ 30 fps through the real
 * capture path (poll loop, dequeue, validation, decode, sync) for S seconds: CPU cores used by the
 * whole process (capture + decode + the fake device's own memcpy) and the latency from buffer dequeue
 * to decoded frame and to a formed frame set. Target (issue 4): four cameras with < 0.5 core. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <turbojpeg.h>

#include "cli/cli.h"
#include "hatch/camera.h"
#include "hatch/frame_decode.h"
#include "hatch/v4l2_fake.h"

static double thread_cpu_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double process_cpu_s(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 + (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec * 1e-6;
}

static double wall_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

typedef struct decode_result {
  int width, height;
  double kb_per_frame, frames_per_core_s, ms_per_frame;
  double peer_frames_per_core_s; /* bare tjDecompress2 on the same bytes: the peer */
} decode_result;

static int bench_decode(int w, int h, double min_s, decode_result *out) {
  uint8_t *rgb = malloc((size_t)w * h * 3);
  tjhandle tj = tjInitCompress();
  unsigned char *jpeg = NULL;
  unsigned long size = 0;
  hatch_jpeg_decoder *dec = NULL;
  int rc = 1;
  if (!rgb || !tj) goto done;
  hatch_fake_render_scene(rgb, w, h, 1, 0);
  /* What a UVC camera sends: 4:2:2, quality ~85. */
  if (tjCompress2(tj, rgb, w, 0, h, TJPF_RGB, &jpeg, &size, TJSAMP_422, 85, 0) != 0) goto done;
  if (hatch_jpeg_decoder_create(NULL, &dec) != HATCH_OK) goto done;
  int n = 0;
  double t0 = thread_cpu_s(), w0 = wall_s();
  do {
    if (hatch_jpeg_decode_rgb(dec, jpeg, size, rgb, (size_t)w * h * 3, NULL) != HATCH_OK) goto done;
    n++;
  } while (thread_cpu_s() - t0 < min_s || n < 10);
  double cpu = thread_cpu_s() - t0;
  (void)w0;
  /* Peer: TurboJPEG alone (no validation, no probe, no limits), same flags hatch uses. */
  tjhandle dj = tjInitDecompress();
  if (!dj) goto done;
  int m = 0;
  double p0 = thread_cpu_s();
  do {
    if (tjDecompress2(dj, jpeg, size, rgb, w, 0, h, TJPF_RGB, TJFLAG_LIMITSCANS) != 0) break;
    m++;
  } while (thread_cpu_s() - p0 < min_s || m < 10);
  double peer_cpu = thread_cpu_s() - p0;
  tjDestroy(dj);
  *out = (decode_result){w, h, size / 1024.0, n / cpu, cpu * 1e3 / n, m / peer_cpu};
  rc = 0;
done:
  hatch_jpeg_decoder_destroy(dec);
  tjFree(jpeg);
  if (tj) tjDestroy(tj);
  free(rgb);
  return rc;
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

static double pct_ms(int64_t *v, int n, double p) {
  if (n == 0) return 0;
  qsort(v, (size_t)n, sizeof *v, cmp_i64);
  int i = (int)(p * (n - 1) + 0.5);
  return v[i] / 1e6;
}

int hatch_cmd_bench_cameras(int argc, char **argv) {
  double seconds = 5, min_decode_s = 1;
  int n_cams = 4, fps = 30;
  const char *json_path = NULL;
  for (int i = 1; i < argc; i++) {
    bool has = i + 1 < argc;
    if (!strcmp(argv[i], "--seconds") && has) seconds = atof(argv[++i]);
    else if (!strcmp(argv[i], "--cameras") && has) n_cams = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--fps") && has) fps = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--decode-seconds") && has) min_decode_s = atof(argv[++i]);
    else if (!strcmp(argv[i], "--json") && has) json_path = argv[++i];
    else {
      printf("usage: hatch bench cameras [--seconds S (5)] [--cameras N (4)] [--fps F (30)] [--decode-seconds S (1)] "
             "[--json FILE]\n");
      return strcmp(argv[i], "--help") && strcmp(argv[i], "-h") ? 2 : 0;
    }
  }
  if (n_cams < 1 || n_cams > HATCH_RIG_MAX_CAMERAS || seconds <= 0 || fps <= 0) return fprintf(stderr, "hatch bench cameras: bad options\n"), 2;

  decode_result dr[2];
  static const int sizes[2][2] = {{640, 480}, {1280, 720}};
  printf("MJPEG decode (TurboJPEG, 4:2:2 q85 camera-like content, one thread, CPU time):\n");
  for (int i = 0; i < 2; i++) {
    if (bench_decode(sizes[i][0], sizes[i][1], min_decode_s, &dr[i]) != 0) return fprintf(stderr, "decode bench failed\n"), 1;
    printf("  %4dx%-4d %6.1f KB/frame  %7.1f frames/s per core  (%.2f ms/frame); bare tjDecompress2 %7.1f/s: ratio %.2f\n",
           dr[i].width, dr[i].height, dr[i].kb_per_frame, dr[i].frames_per_core_s, dr[i].ms_per_frame,
           dr[i].peer_frames_per_core_s, dr[i].frames_per_core_s / dr[i].peer_frames_per_core_s);
  }

  const char *uris[HATCH_RIG_MAX_CAMERAS];
  char uri_text[HATCH_RIG_MAX_CAMERAS][128];
  for (int k = 0; k < n_cams; k++) {
    snprintf(uri_text[k], sizeof uri_text[k], "fake://bench%d?width=640&height=480&fps=%d&format=mjpeg&seed=%d&pattern=scene", k,
             fps, k + 1);
    uris[k] = uri_text[k];
  }
  hatch_rig *rig = NULL;
  hatch_error err = {""};
  if (hatch_rig_open(uris, n_cams, NULL, &rig, &err) != HATCH_OK) return fprintf(stderr, "hatch bench cameras: %s\n", err.message), 1;
  /* Warm up (streams start, first sets), then measure. */
  hatch_frame_set *set = NULL;
  for (int i = 0; i < 5; i++) {
    if (hatch_rig_next_set(rig, 2000, &set) == HATCH_OK) hatch_frame_set_release(set);
    set = NULL;
  }
  int cap = (int)(seconds * fps * 2) + 64;
  int64_t *to_set = malloc(sizeof(int64_t) * cap * n_cams), *to_ready = malloc(sizeof(int64_t) * cap * n_cams);
  int n_set = 0, n_ready = 0, sets = 0, full = 0;
  uint64_t frames0 = 0, corrupt0 = 0, drops0 = 0; /* counters over the measured window only */
  for (int k = 0; k < n_cams; k++) {
    hatch_camera_stats cs;
    hatch_rig_camera_stats(rig, k, &cs);
    frames0 += cs.frames, corrupt0 += cs.corrupt, drops0 += cs.driver_drops;
  }
  double c0 = process_cpu_s(), w0 = wall_s();
  while (wall_s() - w0 < seconds) {
    if (hatch_rig_next_set(rig, 200, &set) != HATCH_OK) continue;
    sets++;
    full += set->n_missing == 0;
    for (int k = 0; k < n_cams; k++) {
      const hatch_frame *f = set->frames[k];
      if (!f || n_set >= cap * n_cams) continue;
      to_set[n_set++] = set->formed_ns - f->dequeue_ns;
      to_ready[n_ready++] = f->ready_ns - f->dequeue_ns;
    }
    hatch_frame_set_release(set);
    set = NULL;
  }
  double cpu = process_cpu_s() - c0, wall = wall_s() - w0;
  uint64_t frames = 0, corrupt = 0, drops = 0;
  for (int k = 0; k < n_cams; k++) {
    hatch_camera_stats cs;
    hatch_rig_camera_stats(rig, k, &cs);
    frames += cs.frames;
    corrupt += cs.corrupt;
    drops += cs.driver_drops;
  }
  hatch_rig_close(rig);
  frames -= frames0, corrupt -= corrupt0, drops -= drops0;
  double cores = cpu / wall;
  double p50r = pct_ms(to_ready, n_ready, 0.5), p99r = pct_ms(to_ready, n_ready, 0.99);
  double p50s = pct_ms(to_set, n_set, 0.5), p99s = pct_ms(to_set, n_set, 0.99);
  printf("\n%d fake MJPEG cameras, 640x480 @ %d fps, camera-like content, %.1f s:\n", n_cams, fps, wall);
  printf("  sets %d (%d full), frames %llu, corrupt %llu, driver drops %llu\n", sets, full, (unsigned long long)frames,
         (unsigned long long)corrupt, (unsigned long long)drops);
  printf("  CPU: %.3f cores for the whole process (target < 0.5 for 4 cameras at 30 fps): %s\n", cores,
         n_cams == 4 && fps == 30 ? (cores < 0.5 ? "met" : "NOT met") : "n/a (not the target configuration)");
  printf("  dequeue -> decoded frame: p50 %.2f ms, p99 %.2f ms\n", p50r, p99r);
  printf("  dequeue -> frame set formed: p50 %.2f ms, p99 %.2f ms (includes waiting for the other cameras' frames)\n", p50s, p99s);
  if (json_path) {
    FILE *f = fopen(json_path, "w");
    if (!f) return fprintf(stderr, "cannot write %s\n", json_path), 1;
    fprintf(f, "{\"decode\":[");
    for (int i = 0; i < 2; i++)
      fprintf(f, "%s{\"width\":%d,\"height\":%d,\"kb_per_frame\":%.1f,\"frames_per_core_s\":%.1f,\"ms_per_frame\":%.3f,"
                 "\"peer_tjdecompress2_frames_per_core_s\":%.1f}",
              i ? "," : "", dr[i].width, dr[i].height, dr[i].kb_per_frame, dr[i].frames_per_core_s, dr[i].ms_per_frame,
              dr[i].peer_frames_per_core_s);
    fprintf(f, "],\"rig\":{\"cameras\":%d,\"width\":640,\"height\":480,\"fps\":%d,\"seconds\":%.2f,\"sets\":%d,\"full_sets\":%d,"
               "\"frames\":%llu,\"corrupt\":%llu,\"driver_drops\":%llu,\"cpu_cores\":%.4f,"
               "\"dequeue_to_ready_ms\":{\"p50\":%.3f,\"p99\":%.3f},\"dequeue_to_set_ms\":{\"p50\":%.3f,\"p99\":%.3f}}}\n",
            n_cams, fps, wall, sets, full, (unsigned long long)frames, (unsigned long long)corrupt, (unsigned long long)drops, cores,
            p50r, p99r, p50s, p99s);
    fclose(f);
  }
  free(to_set);
  free(to_ready);
  return 0;
}
