/* `hatch capture --camera URI [--camera URI ...] --out DIR [--sets N | --seconds S]`: synchronized
 * frame sets saved as files plus DIR/manifest.json (drivers/README.md, "Capture manifest"), which
 * `file://DIR?camera=NAME` replays. MJPEG frames are saved byte for byte as the camera sent them
 * (after they decoded cleanly); other formats as PNG of the decoded RGB. Ctrl-C ends the capture
 * cleanly (the manifest is completed). */
#include <errno.h>
#include <png.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <linux/videodev2.h>

#include "cli/cli.h"
#include "hatch/camera.h"
#include "hatch/frame_files.h"
#include "v4l2/v4l2_stream.h"

static volatile sig_atomic_t interrupted;
static void on_sigint(int sig) { interrupted = 1; }

static void usage(void) {
  printf("usage: hatch capture --camera URI [--camera URI ...] --out DIR [options]\n"
         "  --sets N            stop after N frame sets (default 30)\n"
         "  --seconds S         stop after S seconds instead\n"
         "  --tolerance-ms MS   max skew within a set (default: half the frame period + 2 ms)\n"
         "  --width W --height H --fps F   defaults for cameras whose URI does not say (640x480 @ 30)\n"
         "  Camera URIs: v4l2:///dev/video0, fake://NAME?faults=..., file:///dir (see drivers/README.md).\n");
}

/* A file-name-safe camera name: the last path element, [A-Za-z0-9._-] kept, others '_'. */
static void safe_name(const char *in, int index, char *out, size_t cap) {
  const char *slash = strrchr(in, '/');
  const char *p = slash ? slash + 1 : in;
  size_t n = 0;
  for (; *p && n + 1 < cap && n < 40; p++) {
    char ch = *p;
    bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '_';
    out[n++] = ok ? ch : '_';
  }
  out[n] = 0;
  if (n == 0) snprintf(out, cap, "cam%d", index);
}

static bool write_bytes(const char *path, const uint8_t *data, size_t size) {
  FILE *f = fopen(path, "wb");
  if (!f) return false;
  bool ok = fwrite(data, 1, size, f) == size;
  return (fclose(f) == 0) && ok;
}

static bool write_png(const char *path, const hatch_frame *f) {
  png_image img;
  memset(&img, 0, sizeof img);
  img.version = PNG_IMAGE_VERSION;
  img.width = (png_uint_32)f->width;
  img.height = (png_uint_32)f->height;
  img.format = PNG_FORMAT_RGB;
  int ok = png_image_write_to_file(&img, path, 0, f->rgb, f->width * 3, NULL);
  png_image_free(&img);
  return ok != 0;
}

int hatch_cmd_capture(int argc, char **argv) {
  const char *uris[HATCH_RIG_MAX_CAMERAS];
  int n = 0;
  const char *out_dir = NULL;
  long max_sets = 30;
  double seconds = 0;
  hatch_rig_options opt;
  hatch_rig_options_default(&opt);
  opt.queue_sets = 16; /* the writer may lag a little; sets are not dropped for that */
  for (int i = 1; i < argc; i++) {
    bool has = i + 1 < argc;
    if (!strcmp(argv[i], "--camera") && has) {
      if (n == HATCH_RIG_MAX_CAMERAS) return fprintf(stderr, "hatch capture: at most %d cameras\n", HATCH_RIG_MAX_CAMERAS), 2;
      uris[n++] = argv[++i];
    } else if (!strcmp(argv[i], "--out") && has) out_dir = argv[++i];
    else if (!strcmp(argv[i], "--sets") && has) max_sets = atol(argv[++i]);
    else if (!strcmp(argv[i], "--seconds") && has) seconds = atof(argv[++i]);
    else if (!strcmp(argv[i], "--tolerance-ms") && has) {
      double ms = atof(argv[++i]);
      if (!(ms >= 0)) return fprintf(stderr, "hatch capture: --tolerance-ms must be >= 0\n"), 2;
      opt.tolerance_ns = (int64_t)(ms * 1e6);
    }
    else if (!strcmp(argv[i], "--width") && has) opt.width = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--height") && has) opt.height = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--fps") && has) opt.fps = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return usage(), 0;
    else return fprintf(stderr, "hatch capture: unknown or incomplete option '%s'\n", argv[i]), usage(), 2;
  }
  if (n == 0 || !out_dir || max_sets <= 0 || seconds < 0)
    return fprintf(stderr, "hatch capture: need --camera and --out (and positive --sets / --seconds)\n"), usage(), 2;
  if (mkdir(out_dir, 0777) != 0 && errno != EEXIST)
    return fprintf(stderr, "hatch capture: cannot create %s: %s\n", out_dir, strerror(errno)), 1;

  hatch_rig *rig = NULL;
  hatch_error err = {""};
  hatch_status st = hatch_rig_open(uris, n, &opt, &rig, &err);
  if (st != HATCH_OK) return fprintf(stderr, "hatch capture: %s\n", err.message), 1;
  signal(SIGINT, on_sigint);

  hatch_capture_writer *writer = NULL;
  hatch_capture_header header;
  memset(&header, 0, sizeof header);
  char names[HATCH_RIG_MAX_CAMERAS][48];
  hatch_capture_frame frames[HATCH_RIG_MAX_CAMERAS];
  char files[HATCH_RIG_MAX_CAMERAS][96];
  long saved = 0;
  int rc = 0, write_errors = 0;
  int64_t start = 0;
  for (;;) {
    if (interrupted) break;
    hatch_frame_set *set = NULL;
    st = hatch_rig_next_set(rig, 3000, &set);
    if (st == HATCH_ERR_NOT_FOUND) break; /* every source ended (file replay) */
    if (st != HATCH_OK) {
      fprintf(stderr, "hatch capture: no frame set for 3 s from any camera; still trying (Ctrl-C to stop)\n");
      continue;
    }
    if (!writer) { /* the header needs the negotiated formats: open at the first set */
      start = set->formed_ns;
      header.n_cameras = n;
      header.tolerance_ns = hatch_rig_tolerance_ns(rig); /* in use at the first set (AUTO: from the rates) */
      time_t now = time(NULL);
      strftime(header.created_utc, sizeof header.created_utc, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
      for (int k = 0; k < n; k++) {
        hatch_camera_stats cs;
        hatch_rig_camera_stats(rig, k, &cs);
        hatch_capture_camera *cam = &header.cameras[k];
        const hatch_frame *f = set->frames[k];
        cam->index = k;
        safe_name(cs.name, k, names[k], sizeof names[k]);
        for (int j = 0; j < k; j++)
          if (!strcmp(names[j], names[k])) snprintf(names[k], sizeof names[k], "cam%d", k);
        snprintf(cam->name, sizeof cam->name, "%.40s", names[k]);
        snprintf(cam->uri, sizeof cam->uri, "%.500s", uris[k]);
        cam->width = f ? f->width : (cs.width > 0 ? cs.width : opt.width);
        cam->height = f ? f->height : (cs.height > 0 ? cs.height : opt.height);
        hatch_fourcc_string(f ? f->fourcc : (cs.fourcc ? cs.fourcc : V4L2_PIX_FMT_MJPEG), cam->pixel_format);
        cam->fps = cs.fps > 0 ? cs.fps : opt.fps;
      }
      hatch_file_error ferr = {""};
      if (hatch_capture_manifest_writer_open(out_dir, &header, 8, &writer, &ferr) != HATCH_OK) {
        fprintf(stderr, "hatch capture: %s\n", ferr.message);
        hatch_frame_set_release(set);
        rc = 1;
        break;
      }
    }
    for (int k = 0; k < n; k++) {
      const hatch_frame *f = set->frames[k];
      frames[k] = (hatch_capture_frame){.missing = true};
      if (!f) continue;
      bool jpeg = f->fourcc == V4L2_PIX_FMT_MJPEG;
      snprintf(files[k], sizeof files[k], "%06llu_%s.%s", (unsigned long long)set->index, names[k], jpeg ? "jpg" : "png");
      char path[4096];
      snprintf(path, sizeof path, "%s/%s", out_dir, files[k]);
      bool ok = jpeg ? write_bytes(path, f->payload, f->payload_size) : (f->rgb && write_png(path, f));
      if (!ok) {
        if (write_errors++ < 5) fprintf(stderr, "hatch capture: cannot write %s: %s\n", path, strerror(errno));
        continue; /* listed as missing: the manifest only names files that exist */
      }
      frames[k] = (hatch_capture_frame){.file = files[k], .ts_ns = f->ts_ns, .seq = f->seq};
    }
    hatch_capture_set cs = {.index = (int64_t)set->index, .ts_ns = set->ts_ns, .skew_ns = set->skew_ns, .frames = frames};
    hatch_file_error ferr = {""};
    hatch_status ast = hatch_capture_manifest_writer_append_set(writer, &cs, &ferr);
    hatch_frame_set_release(set);
    if (ast != HATCH_OK && ast != HATCH_ERR_IO) {
      fprintf(stderr, "hatch capture: manifest: %s\n", ferr.message);
      rc = 1;
      break;
    }
    saved++;
    if (seconds > 0 ? (double)(cs.ts_ns - start) / 1e9 >= seconds && saved > 0 : saved >= max_sets) break;
  }
  hatch_capture_stats stats;
  memset(&stats, 0, sizeof stats);
  hatch_rig_stats rs;
  hatch_rig_stats_get(rig, &rs);
  stats.sets = (uint64_t)saved;
  stats.sets_dropped = rs.sets_dropped;
  printf("captured %ld sets into %s\n", saved, out_dir);
  for (int k = 0; k < n; k++) {
    hatch_camera_stats cs;
    hatch_rig_camera_stats(rig, k, &cs);
    stats.cameras[k] = (hatch_capture_camera_stats){.frames = cs.frames, .dropped = cs.driver_drops, .corrupt = cs.corrupt,
                                                    .error_flagged = cs.error_flagged, .disconnects = cs.disconnects};
    printf("  %-12s %-9s frames %llu, driver drops %llu, corrupt %llu, decode warnings %llu, error-flagged %llu, disconnects %llu%s%s\n",
           writer ? header.cameras[k].name : cs.name, hatch_camera_state_name(cs.state), (unsigned long long)cs.frames,
           (unsigned long long)cs.driver_drops, (unsigned long long)cs.corrupt, (unsigned long long)cs.decode_warnings, (unsigned long long)cs.error_flagged,
           (unsigned long long)cs.disconnects, cs.last_error[0] ? "; last: " : "", cs.last_error);
  }
  hatch_rig_close(rig);
  if (writer) {
    hatch_file_error ferr = {""};
    if (hatch_capture_manifest_writer_close(writer, &stats, &ferr) != HATCH_OK) {
      fprintf(stderr, "hatch capture: manifest: %s\n", ferr.message);
      rc = 1;
    }
  }
  if (write_errors) rc = 1;
  return rc;
}
