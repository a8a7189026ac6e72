/* Calibration files: messages, file reading, checks shared by the three formats, format detection,
 * and the public hatch_calib_* entry points. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "calib_internal.h"

const char *hatch_calib_format_name(hatch_calib_format format) {
  switch (format) {
    case HATCH_CALIB_FORMAT_AUTO: return "auto";
    case HATCH_CALIB_FORMAT_ROS: return "ros";
    case HATCH_CALIB_FORMAT_OPENCV: return "opencv";
    case HATCH_CALIB_FORMAT_KALIBR: return "kalibr";
  }
  return "unknown";
}

/* ---- messages ---------------------------------------------------------------------------------- */

static void vreport(calib_ctx *ctx, int line, const char *fmt, va_list ap) {
  hatch_calib_report *r = ctx->report;
  int n = line > 0 ? snprintf(r->message, sizeof(r->message), "%s:%d: ", ctx->name, line)
                   : snprintf(r->message, sizeof(r->message), "%s: ", ctx->name);
  if (n < 0) n = 0;
  if ((size_t)n < sizeof(r->message)) vsnprintf(r->message + n, sizeof(r->message) - (size_t)n, fmt, ap);
  r->line = line;
}

hatch_status calib_fail(calib_ctx *ctx, hatch_status st, int line, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vreport(ctx, line, fmt, ap);
  va_end(ap);
  ctx->report->warning = false;
  return st;
}

void calib_warn(calib_ctx *ctx, int line, const char *fmt, ...) {
  if (ctx->report->message[0]) return;
  va_list ap;
  va_start(ap, fmt);
  vreport(ctx, line, fmt, ap);
  va_end(ap);
  ctx->report->warning = true;
}

/* ---- shared checks ----------------------------------------------------------------------------- */

hatch_status calib_set_camera_matrix(calib_ctx *ctx, hatch_camera_intrinsics *in, const double K[9], int line,
                                     const char *field) {
  if (!(K[0] > 0) || !(K[4] > 0))
    return calib_fail(ctx, HATCH_ERR_CORRUPT, line, "%s has fx = %g, fy = %g; both must be > 0", field, K[0], K[4]);
  if (K[3] != 0 || K[6] != 0 || K[7] != 0 || fabs(K[8] - 1) > 1e-9)
    return calib_fail(ctx, HATCH_ERR_CORRUPT, line, "%s is not a camera matrix (rows 2 and 3 must be [0 fy cy] and [0 0 1])",
                      field);
  in->fx = K[0];
  in->skew = K[1];
  in->cx = K[2];
  in->fy = K[4];
  in->cy = K[5];
  return HATCH_OK;
}

hatch_status calib_read_matrix(calib_ctx *ctx, const ynode *n, const char *field, bool opencv, double *out, int cap,
                               int *rows, int *cols) {
  hatch_status st = ynode_expect(ctx, n, YDOC_MAP, field);
  if (st != HATCH_OK) return st;
  char sub[128];
  const ynode *r, *c, *d, *dt;
  long nr = 0, nc = 0;
  snprintf(sub, sizeof(sub), "%s.rows", field);
  if ((st = ymap_require(ctx, n, "rows", sub, &r)) != HATCH_OK) return st;
  if ((st = ynode_int(ctx, r, sub, 0, 10000, &nr)) != HATCH_OK) return st;
  snprintf(sub, sizeof(sub), "%s.cols", field);
  if ((st = ymap_require(ctx, n, "cols", sub, &c)) != HATCH_OK) return st;
  if ((st = ynode_int(ctx, c, sub, 0, 10000, &nc)) != HATCH_OK) return st;
  if (opencv) {
    snprintf(sub, sizeof(sub), "%s.dt", field);
    if ((st = ymap_require(ctx, n, "dt", sub, &dt)) != HATCH_OK) return st;
    if ((st = ynode_expect(ctx, dt, YDOC_SCALAR, sub)) != HATCH_OK) return st;
    if (strcmp(dt->value, "d") != 0 && strcmp(dt->value, "f") != 0)
      return calib_fail(ctx, HATCH_ERR_CORRUPT, dt->line, "%s is '%.20s', expected d or f (a real matrix)", sub,
                        dt->value);
  }
  if (nr * nc > cap)
    return calib_fail(ctx, HATCH_ERR_CORRUPT, n->line, "%s is %ldx%ld, more than %d numbers", field, nr, nc, cap);
  snprintf(sub, sizeof(sub), "%s.data", field);
  if ((st = ymap_require(ctx, n, "data", sub, &d)) != HATCH_OK) return st;
  if ((st = ynode_numbers(ctx, d, sub, false, out, cap, (int)(nr * nc), NULL)) != HATCH_OK) return st;
  *rows = (int)nr;
  *cols = (int)nc;
  return HATCH_OK;
}

void calib_default_rect_proj(hatch_camera_intrinsics *in, bool have_rect, bool have_proj) {
  if (!have_rect) {
    memset(in->rect, 0, sizeof(in->rect));
    in->rect[0] = in->rect[4] = in->rect[8] = 1;
  }
  if (!have_proj) {
    const double P[12] = {in->fx, in->skew, in->cx, 0, 0, in->fy, in->cy, 0, 0, 0, 1, 0};
    memcpy(in->proj, P, sizeof(P));
  }
}

static bool count_in(int n, const int *ok, int n_ok) {
  for (int i = 0; i < n_ok; i++)
    if (ok[i] == n) return true;
  return false;
}

hatch_status calib_finish_intrinsics(calib_ctx *ctx, hatch_camera_intrinsics *in, int line, const char *field_prefix,
                                     const char *dist_field, int dist_line) {
  if (in->width < 1 || in->width > HATCH_CALIB_MAX_DIM || in->height < 1 || in->height > HATCH_CALIB_MAX_DIM)
    return calib_fail(ctx, HATCH_ERR_CORRUPT, line, "%simage size %dx%d is outside 1..%d", field_prefix, in->width,
                      in->height, HATCH_CALIB_MAX_DIM);
  const char *m = in->distortion_model;
  static const int none[] = {0}, plumb[] = {4, 5}, rational[] = {8, 12, 14}, equi[] = {4};
  const char *canon = NULL, *need = NULL;
  const int *ok = NULL;
  int n_ok = 0;
  if (m[0] == '\0' || strcasecmp(m, "none") == 0) {
    canon = "none", ok = none, n_ok = 1, need = "0";
  } else if (strcasecmp(m, "plumb_bob") == 0 || strcasecmp(m, "radtan") == 0) {
    canon = "plumb_bob", ok = plumb, n_ok = 2, need = "4 or 5";
  } else if (strcasecmp(m, "rational_polynomial") == 0) {
    canon = "rational_polynomial", ok = rational, n_ok = 3, need = "8, 12 or 14";
  } else if (strcasecmp(m, "equidistant") == 0 || strcasecmp(m, "fisheye") == 0) {
    canon = "equidistant", ok = equi, n_ok = 1, need = "4";
  }
  if (!canon) {
    in->distortion_known = false;
    calib_warn(ctx, dist_line, "%sdistortion_model '%s' is not one hatch knows (plumb_bob, rational_polynomial, "
               "equidistant); kept as written with %d coefficients", field_prefix, m, in->n_dist);
    return HATCH_OK;
  }
  if (!count_in(in->n_dist, ok, n_ok))
    return calib_fail(ctx, HATCH_ERR_CORRUPT, dist_line, "%s has %d numbers, distortion model %s needs %s",
                      dist_field, in->n_dist, m[0] ? m : "(none)", need);
  snprintf(in->distortion_model, sizeof(in->distortion_model), "%s", canon);
  in->distortion_known = true;
  return HATCH_OK;
}

/* ---- detection and entry points ---------------------------------------------------------------- */

static const ynode *peek(const ynode *map, const char *key) {
  for (const ynode *k = map->first; k && k->next; k = k->next->next)
    if (k->kind == YDOC_SCALAR && strcmp(k->value, key) == 0) return k->next;
  return NULL;
}

hatch_status calib_detect(calib_ctx *ctx, const ydoc *doc, bool opencv_directive, hatch_calib_format *out) {
  const ynode *root = ydoc_root(doc);
  const ynode *cm = peek(root, "camera_matrix");
  if (opencv_directive || ydoc_has_opencv_tag(doc)) *out = HATCH_CALIB_FORMAT_OPENCV;
  else if (peek(root, "cam0")) *out = HATCH_CALIB_FORMAT_KALIBR;
  else if (cm && cm->kind == YDOC_MAP && peek(cm, "data")) *out = HATCH_CALIB_FORMAT_ROS;
  else if (cm || peek(root, "K") || peek(root, "cameraMatrix")) *out = HATCH_CALIB_FORMAT_OPENCV;
  else if (peek(root, "cameras") && peek(root, "version"))
    return calib_fail(ctx, HATCH_ERR_CORRUPT, root->line, "this is a hatch rig file, not a camera calibration");
  else
    return calib_fail(ctx, HATCH_ERR_CORRUPT, root->line,
                      "not a calibration file hatch reads: no camera_matrix (ROS, OpenCV), K or cameraMatrix "
                      "(OpenCV) or cam0 (Kalibr) field");
  return HATCH_OK;
}

hatch_status calib_read_doc(calib_ctx *ctx, const ydoc *doc, bool opencv_directive, hatch_calib_format format,
                            hatch_calib_file *out) {
  hatch_status st = HATCH_OK;
  if (format == HATCH_CALIB_FORMAT_AUTO) st = calib_detect(ctx, doc, opencv_directive, &format);
  if (st != HATCH_OK) return st;
  out->format = format;
  switch (format) {
    case HATCH_CALIB_FORMAT_ROS: return calib_read_ros(ctx, ydoc_root(doc), out);
    case HATCH_CALIB_FORMAT_OPENCV: return calib_read_opencv(ctx, ydoc_root(doc), out);
    case HATCH_CALIB_FORMAT_KALIBR: return calib_read_kalibr(ctx, ydoc_root(doc), out);
    default: return calib_fail(ctx, HATCH_ERR_INVALID_ARGUMENT, 0, "unknown calibration format %d", (int)format);
  }
}

hatch_status hatch_calib_parse(const char *text, size_t len, const char *name_for_errors, hatch_calib_format format,
                               hatch_calib_file *out, hatch_calib_report *report) {
  hatch_calib_report scratch;
  if (!report) report = &scratch;
  memset(report, 0, sizeof(*report));
  calib_ctx ctx = {name_for_errors ? name_for_errors : "<memory>", report};
  if (!out || (!text && len > 0) || (int)format < 0 || format > HATCH_CALIB_FORMAT_KALIBR)
    return calib_fail(&ctx, HATCH_ERR_INVALID_ARGUMENT, 0, "invalid argument");
  memset(out, 0, sizeof(*out));
  ydoc *doc = NULL;
  bool directive = false;
  hatch_status st = ydoc_parse(&ctx, text ? text : "", len, &doc, &directive);
  if (st == HATCH_OK) st = calib_read_doc(&ctx, doc, directive, format, out);
  ydoc_free(doc);
  if (st != HATCH_OK) memset(out, 0, sizeof(*out));
  return st;
}

hatch_status calib_read_file(calib_ctx *ctx, const char *path, char **text, size_t *len) {
  *text = NULL;
  *len = 0;
  FILE *f = fopen(path, "rb");
  if (!f) {
    int e = errno;
    return calib_fail(ctx, e == ENOENT || e == ENOTDIR ? HATCH_ERR_NOT_FOUND : HATCH_ERR_IO, 0, "cannot open: %s",
                      strerror(e));
  }
  hatch_status st = HATCH_OK;
  char *buf = malloc(HATCH_CALIB_MAX_FILE_SIZE + 1);
  if (!buf) {
    st = calib_fail(ctx, HATCH_ERR_OUT_OF_MEMORY, 0, "out of memory");
    goto close_file;
  }
  size_t n = fread(buf, 1, HATCH_CALIB_MAX_FILE_SIZE + 1, f);
  if (ferror(f)) {
    st = calib_fail(ctx, HATCH_ERR_IO, 0, "read error: %s", strerror(errno));
    goto free_buf;
  }
  if (n > HATCH_CALIB_MAX_FILE_SIZE) {
    st = calib_fail(ctx, HATCH_ERR_TOO_LARGE, 0, "file is larger than the %d byte limit", HATCH_CALIB_MAX_FILE_SIZE);
    goto free_buf;
  }
  *text = buf;
  *len = n;
  buf = NULL;
free_buf:
  free(buf);
close_file:
  fclose(f);
  return st;
}

hatch_status hatch_calib_load_file(const char *path, hatch_calib_file *out, hatch_calib_report *report) {
  hatch_calib_report scratch;
  if (!report) report = &scratch;
  memset(report, 0, sizeof(*report));
  calib_ctx ctx = {path ? path : "<null>", report};
  if (!path || !out) return calib_fail(&ctx, HATCH_ERR_INVALID_ARGUMENT, 0, "invalid argument");
  char *text = NULL;
  size_t len = 0;
  hatch_status st = calib_read_file(&ctx, path, &text, &len);
  if (st != HATCH_OK) {
    memset(out, 0, sizeof(*out));
    return st;
  }
  st = hatch_calib_parse(text, len, path, HATCH_CALIB_FORMAT_AUTO, out, report);
  free(text);
  return st;
}

hatch_status hatch_calib_load_intrinsics(const char *path, const char *camera, hatch_camera_intrinsics *out,
                                         hatch_calib_report *report) {
  hatch_calib_report scratch;
  if (!report) report = &scratch;
  if (!out) {
    memset(report, 0, sizeof(*report));
    snprintf(report->message, sizeof(report->message), "invalid argument");
    return HATCH_ERR_INVALID_ARGUMENT;
  }
  memset(out, 0, sizeof(*out));
  hatch_calib_file *file = malloc(sizeof(*file));
  if (!file) {
    memset(report, 0, sizeof(*report));
    snprintf(report->message, sizeof(report->message), "out of memory");
    return HATCH_ERR_OUT_OF_MEMORY;
  }
  hatch_status st = hatch_calib_load_file(path, file, report);
  if (st != HATCH_OK) goto free_file;
  calib_ctx ctx = {path, report};
  int found = -1;
  if (!camera) {
    if (file->n_cameras != 1) {
      st = calib_fail(&ctx, HATCH_ERR_INVALID_ARGUMENT, 0, "holds %d cameras; say which one", file->n_cameras);
      goto free_file;
    }
    found = 0;
  } else {
    for (int i = 0; i < file->n_cameras && found < 0; i++)
      if (strcmp(file->cameras[i].intrinsics.name, camera) == 0) found = i;
    if (found < 0) {
      st = calib_fail(&ctx, HATCH_ERR_NOT_FOUND, 0, "no camera named '%.64s'", camera);
      goto free_file;
    }
  }
  *out = file->cameras[found].intrinsics;
free_file:
  free(file);
  return st;
}
