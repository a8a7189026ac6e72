/* `hatch cameras [URI ...] [--json]`: V4L2 devices (every /dev/video* node, or the given v4l2:// and
 * fake:// cameras) with their formats, frame sizes and rates. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "camera/uri_formats.h"
#include "cli/cli.h"
#include "hatch/camera_list.h"
#include "hatch/v4l2_fake.h"
#include "v4l2/v4l2_stream.h"

static void usage(void) {
  printf("usage: hatch cameras [URI ...] [--json]\n"
         "  Lists V4L2 capture devices with formats, sizes and frame rates. Without URIs: every /dev/video*.\n"
         "  URIs: v4l2:///dev/videoN, /dev/videoN, fake://NAME?width=..&height=..&fps=.. (the fake device)\n");
}

static void print_text(const hatch_camera_info *info) {
  printf("%s: %s (driver %s, bus %s)%s\n", info->path, info->card, info->driver, info->bus_info,
         info->capture ? "" : "  [not a capture node]");
  uint32_t last = 0;
  for (int i = 0; i < info->n_modes; i++) {
    const hatch_camera_mode *m = &info->modes[i];
    char f[5];
    hatch_fourcc_string(m->fourcc, f);
    if (m->fourcc != last) printf("  %s (%s)\n", f, m->description);
    last = m->fourcc;
    printf("    %dx%d%s  fps:", m->width, m->height, m->stepwise ? " (max of a range)" : "");
    for (int r = 0; r < m->n_rates; r++) printf(" %g", m->fps[r]);
    printf("\n");
  }
  if (info->truncated) printf("  (more modes not shown)\n");
}

static void print_json(const hatch_camera_info *info, bool first) {
  printf("%s{\"path\":\"%s\",\"card\":\"%s\",\"driver\":\"%s\",\"bus\":\"%s\",\"capture\":%s,\"modes\":[", first ? "" : ",",
         info->path, info->card, info->driver, info->bus_info, info->capture ? "true" : "false");
  for (int i = 0; i < info->n_modes; i++) {
    const hatch_camera_mode *m = &info->modes[i];
    char f[5];
    hatch_fourcc_string(m->fourcc, f);
    printf("%s{\"format\":\"%s\",\"width\":%d,\"height\":%d,\"fps\":[", i ? "," : "", f, m->width, m->height);
    for (int r = 0; r < m->n_rates; r++) printf("%s%g", r ? "," : "", m->fps[r]);
    printf("]}");
  }
  printf("]}");
}

/* Describes one URI; fake:// cameras get a fake device set of their own. */
static hatch_status describe_uri(const char *text, hatch_camera_info *info, hatch_error *err) {
  hatch_uri uri;
  hatch_status st = hatch_uri_parse(text, &uri, err);
  if (st != HATCH_OK) return st;
  if (!strcmp(uri.scheme, "v4l2")) return hatch_camera_describe(hatch_v4l2_ops_libv4l2(), uri.path, info, err);
  if (strcmp(uri.scheme, "fake") != 0) {
    snprintf(err->message, sizeof err->message, "%s: only v4l2:// and fake:// cameras can be listed", text);
    return HATCH_ERR_INVALID_ARGUMENT;
  }
  hatch_rig_options opt;
  hatch_rig_options_default(&opt);
  hatch_fake_camera_config cfg;
  hatch_v4l2_source_config src;
  hatch_fake_faults faults;
  bool has_faults;
  if ((st = hatch_fake_uri_config(&uri, &opt, &cfg, &src, &faults, &has_faults, err)) != HATCH_OK) return st;
  hatch_fake_v4l2 *fake = NULL;
  if ((st = hatch_fake_v4l2_create(&fake)) == HATCH_OK && (st = hatch_fake_v4l2_add(fake, &cfg)) == HATCH_OK)
    st = hatch_camera_describe(hatch_fake_v4l2_ops(fake), uri.path, info, err);
  hatch_fake_v4l2_destroy(fake);
  return st;
}

int hatch_cmd_cameras(int argc, char **argv) {
  bool json = false;
  const char *uris[64];
  int n_uris = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--json")) json = true;
    else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return usage(), 0;
    else if (argv[i][0] == '-') return fprintf(stderr, "hatch cameras: unknown option '%s'\n", argv[i]), usage(), 2;
    else if (n_uris < 64) uris[n_uris++] = argv[i];
  }
  static char nodes[64][64];
  static char node_uris[64][80];
  if (n_uris == 0) {
    int n = 0;
    if (hatch_camera_scan_nodes(nodes, 64, &n) != HATCH_OK || n == 0) {
      if (json) printf("[]\n");
      else printf("no V4L2 devices (/dev/video* is empty). Try a fake camera: hatch cameras fake://demo\n");
      return 0;
    }
    for (int i = 0; i < n; i++) {
      snprintf(node_uris[i], sizeof node_uris[i], "v4l2://%s", nodes[i]);
      uris[n_uris++] = node_uris[i];
    }
  }
  hatch_camera_info *info = malloc(sizeof *info);
  if (!info) return 1;
  int failures = 0;
  if (json) printf("[");
  for (int i = 0; i < n_uris; i++) {
    hatch_error err = {""};
    hatch_status st = describe_uri(uris[i], info, &err);
    if (st != HATCH_OK) {
      fprintf(stderr, "hatch cameras: %s\n", err.message[0] ? err.message : hatch_status_message(st));
      failures++;
      continue;
    }
    if (json) print_json(info, i == failures);
    else print_text(info);
  }
  if (json) printf("]\n");
  free(info);
  return failures ? 1 : 0;
}
