/* fake:// URIs: the fake V4L2 device as a camera, with faults chosen in the URI:
 *   fake://NAME?width=640&height=480&fps=30&format=mjpeg|yuyv|nv12|rgb24&seed=N&pattern=bars|scene&phase_ms=P
 *             &faults=corrupt:10,truncate:9,error:5,drop:7,eio:11,eintr:13,slow:20:80,
 *                     seqwrap,tswrap,tsunknown,enospc:2,enomem:1
 * ("every Nth frame / call" as in hatch_fake_faults; enospc/enomem: the next N calls fail).
 * phase_ms (0..999): frames due at k / fps + P ms on CLOCK_MONOTONIC instead of from STREAMON, so
 * cameras of one rate stay a chosen offset apart, as free-running cameras do. */
#include <linux/videodev2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "camera/source.h"
#include "camera/uri_formats.h"
#include "hatch/v4l2_fake.h"

static bool parse_count(const char *s, int *out) {
  char *end;
  long v = strtol(s, &end, 10);
  if (end == s || (*end && *end != ':' && *end != ',') || v < 0 || v > 1000000) return false;
  *out = (int)v;
  return true;
}

/* "name:N[:M]" items separated by commas. */
static hatch_status parse_faults(const char *spec, hatch_fake_faults *f, const char *uri, hatch_error *err) {
  memset(f, 0, sizeof *f);
  const char *p = spec;
  while (*p) {
    const char *comma = strchr(p, ',');
    size_t len = comma ? (size_t)(comma - p) : strlen(p);
    char item[64];
    if (len == 0 || len >= sizeof item) goto bad;
    memcpy(item, p, len);
    item[len] = 0;
    char *colon = strchr(item, ':');
    const char *arg = colon ? colon + 1 : NULL;
    if (colon) *colon = 0;
    static const struct { const char *name; size_t off; } counted[] = {
        {"corrupt", offsetof(hatch_fake_faults, corrupt_every)}, {"truncate", offsetof(hatch_fake_faults, truncate_every)},
        {"error", offsetof(hatch_fake_faults, error_flag_every)}, {"drop", offsetof(hatch_fake_faults, drop_every)},
        {"eio", offsetof(hatch_fake_faults, eio_every)}, {"eintr", offsetof(hatch_fake_faults, eintr_every)},
        {"enospc", offsetof(hatch_fake_faults, streamon_enospc)}, {"enomem", offsetof(hatch_fake_faults, reqbufs_enomem)}};
    bool done = false;
    for (size_t i = 0; i < sizeof counted / sizeof *counted && !done; i++)
      if (strcmp(item, counted[i].name) == 0) {
        if (!arg || !parse_count(arg, (int *)((char *)f + counted[i].off))) goto bad;
        done = true;
      }
    if (!done && strcmp(item, "slow") == 0) {
      const char *ms = arg ? strchr(arg, ':') : NULL;
      if (!arg || !ms || !parse_count(arg, &f->slow_every) || !parse_count(ms + 1, &f->slow_ms)) goto bad;
      done = true;
    }
    if (!done && !arg) {
      if (strcmp(item, "seqwrap") == 0) f->sequence_wrap = done = true;
      else if (strcmp(item, "tswrap") == 0) f->timestamp_wrap = done = true;
      else if (strcmp(item, "tsunknown") == 0) f->timestamp_unknown = done = true;
    }
    if (!done) goto bad;
    p += len;
    if (*p == ',') p++;
  }
  return HATCH_OK;
bad:
  if (err) snprintf(err->message, sizeof err->message,
                    "camera URI %.100s: bad faults=%.60s (items: corrupt:N truncate:N error:N drop:N eio:N eintr:N "
                    "slow:N:MS enospc:N enomem:N seqwrap tswrap tsunknown)", uri, spec);
  return HATCH_ERR_INVALID_ARGUMENT;
}

hatch_status hatch_fake_uri_config(const hatch_uri *uri, const hatch_rig_options *opt, hatch_fake_camera_config *cfg,
                                   hatch_v4l2_source_config *src, hatch_fake_faults *faults, bool *has_faults,
                                   hatch_error *err) {
  static const char *const keys[] = {"width", "height", "fps", "format", "faults", "seed", "buffers", "pattern", "phase_ms", NULL};
  hatch_status st = hatch_uri_check_keys(uri, keys, err);
  long w = opt->width, h = opt->height, fps = opt->fps, seed = 1, buffers = opt->buffers, phase_ms = -1;
  if (st == HATCH_OK) st = hatch_uri_param_int(uri, "width", 2, 8192, &w, err);
  if (st == HATCH_OK) st = hatch_uri_param_int(uri, "height", 2, 8192, &h, err);
  if (st == HATCH_OK) st = hatch_uri_param_int(uri, "fps", 1, 1000, &fps, err);
  if (st == HATCH_OK) st = hatch_uri_param_int(uri, "seed", 0, 0x7fffffff, &seed, err);
  if (st == HATCH_OK) st = hatch_uri_param_int(uri, "buffers", 2, 32, &buffers, err);
  if (st == HATCH_OK) st = hatch_uri_param_int(uri, "phase_ms", 0, 999, &phase_ms, err);
  if (st != HATCH_OK) return st;
  if (w % 2 || h % 2) {
    snprintf(err->message, sizeof err->message, "camera URI fake://%.100s: width and height must be even", uri->path);
    return HATCH_ERR_INVALID_ARGUMENT;
  }
  uint32_t fourcc = 0;
  if ((st = hatch_uri_format(uri, &fourcc, err)) != HATCH_OK) return st;
  memset(cfg, 0, sizeof *cfg);
  cfg->path = uri->path;
  cfg->card = uri->path;
  cfg->formats[0] = V4L2_PIX_FMT_MJPEG;
  cfg->formats[1] = V4L2_PIX_FMT_YUYV;
  cfg->formats[2] = V4L2_PIX_FMT_NV12;
  cfg->formats[3] = V4L2_PIX_FMT_RGB24;
  cfg->n_formats = 4;
  cfg->sizes[0] = (hatch_fake_size){(int)w, (int)h};
  cfg->sizes[1] = (hatch_fake_size){640, 480};
  cfg->sizes[2] = (hatch_fake_size){1280, 720};
  cfg->n_sizes = (w == 640 && h == 480) || (w == 1280 && h == 720) ? 2 : 3;
  if (cfg->n_sizes == 2) cfg->sizes[0] = (hatch_fake_size){640, 480}, cfg->sizes[1] = (hatch_fake_size){1280, 720};
  cfg->rates[0] = (int)fps;
  cfg->n_rates = 1;
  cfg->seed = (uint32_t)seed;
  cfg->phase_locked = phase_ms >= 0;
  cfg->phase_ns = phase_ms >= 0 ? phase_ms * 1000000ll : 0;
  const char *pattern = hatch_uri_param(uri, "pattern");
  if (pattern && strcmp(pattern, "bars") && strcmp(pattern, "scene")) {
    snprintf(err->message, sizeof err->message, "camera URI fake://%.100s: pattern=%.30s (bars or scene)", uri->path, pattern);
    return HATCH_ERR_INVALID_ARGUMENT;
  }
  cfg->pattern = pattern && !strcmp(pattern, "scene") ? HATCH_FAKE_PATTERN_SCENE : HATCH_FAKE_PATTERN_BARS;
  memset(src, 0, sizeof *src);
  snprintf(src->device_path, sizeof src->device_path, "%s", uri->path);
  snprintf(src->name, sizeof src->name, "%s", uri->path);
  src->fourcc = fourcc;
  src->width = (int)w;
  src->height = (int)h;
  src->fps = (int)fps;
  src->buffers = (int)buffers;
  src->decode = !opt->no_decode;
  src->reopen_min_ns = opt->reopen_min_ns;
  src->reopen_max_ns = opt->reopen_max_ns;
  const char *spec = hatch_uri_param(uri, "faults");
  *has_faults = spec != NULL;
  if (spec) return parse_faults(spec, faults, uri->path, err);
  return HATCH_OK;
}
