/* RGB-D manifests (hatch/train_data.h; format in train/data/README.md): frames with colour, 16-bit
 * depth, intrinsics and camera-to-world poses, and the pairs to train on. Parsing is from memory
 * (no file access; a frame that breaks a rule is kept, marked bad, with the field named); the reader
 * loads the frames of each pair (a two-frame cache: consecutive pairs share a frame) and yields a
 * sample with both images, their depth and cameras, the true relative pose and the ActoR teacher
 * string. */
#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hatch/calibration.h"
#include "hatch/train_data.h"

static hatch_status report_set(hatch_data_report *rep, hatch_status st, const char *fmt, ...) {
  if (!rep) return st;
  rep->status = st;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(rep->message, sizeof rep->message, fmt, ap);
  va_end(ap);
  return st;
}

/* ---- one frame ----------------------------------------------------------------------------- */

/* Marks the frame bad: "frames[k].field: why". Returns false so callers can `return frame_bad(...)`. */
static bool frame_bad(hatch_rgbd_frame *f, size_t k, const char *field, const char *fmt, ...) {
  f->bad = true;
  int n = snprintf(f->why, sizeof f->why, "frames[%zu]%s%s: ", k, field[0] ? "." : "", field);
  if (n < 0 || (size_t)n >= sizeof f->why) return false;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(f->why + n, sizeof f->why - (size_t)n, fmt, ap);
  va_end(ap);
  return false;
}

static bool numbers(const cJSON *v, int n, double *out) {
  if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) != n) return false;
  int k = 0;
  for (const cJSON *e = v->child; e; e = e->next, k++) {
    if (!cJSON_IsNumber(e) || !isfinite(e->valuedouble)) return false;
    out[k] = e->valuedouble;
  }
  return true;
}

static bool path_field(const cJSON *obj, const char *key, char *out, bool *present) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
  *present = v != NULL;
  if (!v) return true;
  if (!cJSON_IsString(v) || !v->valuestring || !v->valuestring[0] || strlen(v->valuestring) >= HATCH_DATA_MAX_PATH)
    return false;
  strcpy(out, v->valuestring);
  return true;
}

/* Manifest-level defaults a frame may override. */
typedef struct frame_defaults {
  double depth_scale;
  bool opengl;
  const cJSON *intrinsics; /* NULL when none */
} frame_defaults;

static bool parse_intrinsics(hatch_rgbd_frame *f, size_t k, const cJSON *in) {
  if (!cJSON_IsObject(in)) return frame_bad(f, k, "intrinsics", "missing or not an object");
  static const char *const keys[4] = {"fx", "fy", "cx", "cy"};
  double val[4];
  for (int i = 0; i < 4; i++) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(in, keys[i]);
    char field[32];
    snprintf(field, sizeof field, "intrinsics.%s", keys[i]);
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble)) return frame_bad(f, k, field, "missing or not a finite number");
    val[i] = v->valuedouble;
    if (i < 2 && !(val[i] > 0)) return frame_bad(f, k, field, "must be > 0 (got %g)", val[i]);
  }
  f->camera.fx = val[0];
  f->camera.fy = val[1];
  f->camera.cx = val[2];
  f->camera.cy = val[3];
  static const char *const dims[2] = {"width", "height"};
  for (int i = 0; i < 2; i++) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(in, dims[i]);
    if (!v) continue;
    char field[32];
    snprintf(field, sizeof field, "intrinsics.%s", dims[i]);
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) || v->valuedouble < 1 ||
        v->valuedouble > HATCH_DATA_MAX_DIM)
      return frame_bad(f, k, field, "must be an integer in 1..%d", HATCH_DATA_MAX_DIM);
    if (i == 0) f->camera.width = (int)v->valuedouble;
    else f->camera.height = (int)v->valuedouble;
  }
  return true;
}

static bool parse_pose(hatch_rgbd_frame *f, size_t k, const cJSON *fr, bool opengl) {
  const cJSON *T = cJSON_GetObjectItemCaseSensitive(fr, "camera_to_world");
  const cJSON *R = cJSON_GetObjectItemCaseSensitive(fr, "rotation");
  const cJSON *p = cJSON_GetObjectItemCaseSensitive(fr, "position");
  double M[16];
  if (T && (R || p)) return frame_bad(f, k, "camera_to_world", "give camera_to_world or rotation + position, not both");
  if (T) {
    if (!numbers(T, 16, M)) return frame_bad(f, k, "camera_to_world", "must be an array of 16 finite numbers (row-major 4x4)");
  } else {
    if (!R && !p) return frame_bad(f, k, "camera_to_world", "missing (or rotation + position)");
    double rot[9], pos[3];
    if (!numbers(R, 9, rot)) return frame_bad(f, k, "rotation", "must be an array of 9 finite numbers (row-major 3x3)");
    if (!numbers(p, 3, pos)) return frame_bad(f, k, "position", "must be an array of 3 finite numbers");
    hatch_pinhole_pose_from_rt(rot, pos, M);
  }
  char why[160];
  if (hatch_pose_validate(M, why, sizeof why) != HATCH_OK) return frame_bad(f, k, T ? "camera_to_world" : "rotation", "%s", why);
  if (opengl) /* OpenGL camera axes (x right, y up, z back) -> OpenCV (x right, y down, z forward) */
    for (int r = 0; r < 3; r++) {
      M[r * 4 + 1] = -M[r * 4 + 1];
      M[r * 4 + 2] = -M[r * 4 + 2];
    }
  hatch_pinhole_pose_to_camera(M, &f->camera);
  return true;
}

static bool parse_convention(hatch_rgbd_frame *f, size_t k, const cJSON *v, bool *opengl) {
  if (!v) return true;
  if (cJSON_IsString(v) && v->valuestring && strcmp(v->valuestring, "opencv") == 0) *opengl = false;
  else if (cJSON_IsString(v) && v->valuestring && strcmp(v->valuestring, "opengl") == 0) *opengl = true;
  else return frame_bad(f, k, "convention", "must be \"opencv\" or \"opengl\"");
  return true;
}

static void parse_frame(hatch_rgbd_frame *f, size_t k, const cJSON *fr, const frame_defaults *def) {
  f->depth_scale = def->depth_scale;
  if (!cJSON_IsObject(fr)) {
    frame_bad(f, k, "", "not an object");
    return;
  }
  bool present;
  if (!path_field(fr, "rgb", f->rgb, &present) || !present) {
    frame_bad(f, k, "rgb", "missing or not a non-empty path under %d bytes", HATCH_DATA_MAX_PATH);
    return;
  }
  if (!path_field(fr, "depth", f->depth, &present)) {
    frame_bad(f, k, "depth", "not a non-empty path under %d bytes", HATCH_DATA_MAX_PATH);
    return;
  }
  const cJSON *ds = cJSON_GetObjectItemCaseSensitive(fr, "depth_scale");
  if (ds) {
    if (!cJSON_IsNumber(ds) || !(ds->valuedouble > 0) || !isfinite(ds->valuedouble)) {
      frame_bad(f, k, "depth_scale", "must be a number > 0");
      return;
    }
    f->depth_scale = ds->valuedouble;
  }
  bool opengl = def->opengl;
  if (!parse_convention(f, k, cJSON_GetObjectItemCaseSensitive(fr, "convention"), &opengl)) return;
  const cJSON *in = cJSON_GetObjectItemCaseSensitive(fr, "intrinsics");
  if (!parse_intrinsics(f, k, in ? in : def->intrinsics)) return;
  parse_pose(f, k, fr, opengl);
}

/* ---- the manifest -------------------------------------------------------------------------- */

void hatch_rgbd_manifest_free(hatch_rgbd_manifest *m) {
  if (!m) return;
  free(m->frames);
  free(m->pairs);
  memset(m, 0, sizeof *m);
}

static hatch_status parse_pairs(const cJSON *pairs, const char *name, hatch_rgbd_manifest *m, hatch_data_report *rep) {
  if (!cJSON_IsArray(pairs)) return report_set(rep, HATCH_ERR_CORRUPT, "%s: pairs: not an array", name);
  int n = cJSON_GetArraySize(pairs);
  if (n > HATCH_RGBD_MAX_PAIRS)
    return report_set(rep, HATCH_ERR_TOO_LARGE, "%s: pairs: %d entries, over the limit of %d", name, n, HATCH_RGBD_MAX_PAIRS);
  m->pairs = malloc(sizeof *m->pairs * (size_t)(n ? n : 1));
  if (!m->pairs) return report_set(rep, HATCH_ERR_OUT_OF_MEMORY, "%s: out of memory", name);
  size_t k = 0;
  for (const cJSON *e = pairs->child; e; e = e->next, k++) {
    double ab[2];
    if (!numbers(e, 2, ab) || ab[0] != floor(ab[0]) || ab[1] != floor(ab[1]) || ab[0] < 0 || ab[1] < 0 ||
        ab[0] >= (double)m->n_frames || ab[1] >= (double)m->n_frames || ab[0] == ab[1])
      return report_set(rep, HATCH_ERR_CORRUPT, "%s: pairs[%zu]: must be [a, b], two different frame indexes in 0..%zu",
                        name, k, m->n_frames - 1);
    m->pairs[k][0] = (int)ab[0];
    m->pairs[k][1] = (int)ab[1];
  }
  m->n_pairs = k;
  return HATCH_OK;
}

static hatch_status parse_root(const cJSON *root, const char *name, hatch_rgbd_manifest *m, hatch_data_report *rep) {
  if (!cJSON_IsObject(root)) return report_set(rep, HATCH_ERR_CORRUPT, "%s: not a JSON object", name);
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "version");
  if (!cJSON_IsNumber(v)) return report_set(rep, HATCH_ERR_CORRUPT, "%s: version: missing or not a number", name);
  if (v->valuedouble != 1)
    return report_set(rep, HATCH_ERR_UNSUPPORTED, "%s: version: %g is not supported (only 1)", name, v->valuedouble);
  m->version = 1;
  frame_defaults def = {.depth_scale = 0.001};
  const cJSON *ds = cJSON_GetObjectItemCaseSensitive(root, "depth_scale");
  if (ds) {
    if (!cJSON_IsNumber(ds) || !(ds->valuedouble > 0) || !isfinite(ds->valuedouble))
      return report_set(rep, HATCH_ERR_CORRUPT, "%s: depth_scale: must be a number > 0", name);
    def.depth_scale = ds->valuedouble;
  }
  const cJSON *conv = cJSON_GetObjectItemCaseSensitive(root, "convention");
  if (conv) {
    if (!cJSON_IsString(conv) || !conv->valuestring ||
        (strcmp(conv->valuestring, "opencv") != 0 && strcmp(conv->valuestring, "opengl") != 0))
      return report_set(rep, HATCH_ERR_CORRUPT, "%s: convention: must be \"opencv\" or \"opengl\"", name);
    def.opengl = strcmp(conv->valuestring, "opengl") == 0;
  }
  def.intrinsics = cJSON_GetObjectItemCaseSensitive(root, "intrinsics");
  m->min_overlap = 0.1;
  const cJSON *mo = cJSON_GetObjectItemCaseSensitive(root, "min_overlap");
  if (mo) {
    if (!cJSON_IsNumber(mo) || !(mo->valuedouble >= 0 && mo->valuedouble <= 1))
      return report_set(rep, HATCH_ERR_CORRUPT, "%s: min_overlap: must be a number in 0..1", name);
    m->min_overlap = mo->valuedouble;
  }
  const cJSON *frames = cJSON_GetObjectItemCaseSensitive(root, "frames");
  if (!cJSON_IsArray(frames) || cJSON_GetArraySize(frames) < 1)
    return report_set(rep, HATCH_ERR_CORRUPT, "%s: frames: missing, not an array, or empty", name);
  int n = cJSON_GetArraySize(frames);
  if (n > HATCH_RGBD_MAX_FRAMES)
    return report_set(rep, HATCH_ERR_TOO_LARGE, "%s: frames: %d entries, over the limit of %d", name, n, HATCH_RGBD_MAX_FRAMES);
  m->frames = calloc((size_t)n, sizeof *m->frames);
  if (!m->frames) return report_set(rep, HATCH_ERR_OUT_OF_MEMORY, "%s: out of memory", name);
  m->n_frames = (size_t)n;
  size_t k = 0;
  for (const cJSON *fr = frames->child; fr; fr = fr->next, k++) {
    parse_frame(&m->frames[k], k, fr, &def);
    if (m->frames[k].bad) m->bad_frames++;
  }
  const cJSON *pairs = cJSON_GetObjectItemCaseSensitive(root, "pairs");
  if (pairs) return parse_pairs(pairs, name, m, rep);
  m->default_pairs = true;
  m->n_pairs = m->n_frames - 1;
  m->pairs = malloc(sizeof *m->pairs * (m->n_pairs ? m->n_pairs : 1));
  if (!m->pairs) return report_set(rep, HATCH_ERR_OUT_OF_MEMORY, "%s: out of memory", name);
  for (size_t i = 0; i < m->n_pairs; i++) {
    m->pairs[i][0] = (int)i;
    m->pairs[i][1] = (int)i + 1;
  }
  return HATCH_OK;
}

hatch_status hatch_rgbd_manifest_parse(const char *text, size_t len, const char *name, hatch_rgbd_manifest *out,
                                       hatch_data_report *report) {
  if (report) {
    report->status = HATCH_OK;
    report->message[0] = 0;
  }
  if (!out || (!text && len)) return HATCH_ERR_INVALID_ARGUMENT;
  memset(out, 0, sizeof *out);
  if (!name) name = "manifest";
  if (len > HATCH_RGBD_MAX_BYTES)
    return report_set(report, HATCH_ERR_TOO_LARGE, "%s: %zu bytes, over the %zu byte limit", name, len, HATCH_RGBD_MAX_BYTES);
  const char *end = NULL;
  cJSON *root = cJSON_ParseWithLengthOpts(text ? text : "", len, &end, 0);
  if (!root) {
    size_t off = end && end >= text && end <= text + len ? (size_t)(end - text) : 0;
    return report_set(report, HATCH_ERR_CORRUPT, "%s: not valid JSON (at byte %zu)", name, off);
  }
  hatch_status st = HATCH_OK;
  for (const char *p = end; p && p < text + len; p++)
    if (!isspace((unsigned char)*p)) {
      st = report_set(report, HATCH_ERR_CORRUPT, "%s: text after the JSON object (at byte %zu)", name, (size_t)(p - text));
      break;
    }
  if (st == HATCH_OK) st = parse_root(root, name, out, report);
  cJSON_Delete(root);
  if (st != HATCH_OK) hatch_rgbd_manifest_free(out);
  return st;
}

/* ---- the reader ---------------------------------------------------------------------------- */

typedef struct frame_slot {
  long index; /* frame index, -1 when empty */
  int width, height;
  uint8_t *rgb; // (height, width, 3)
  float *depth; // (height, width) metres, NULL when the frame has none
} frame_slot;

struct hatch_rgbd_reader {
  hatch_rgbd_manifest m;
  char path[HATCH_DATA_MAX_PATH];
  char root[HATCH_DATA_MAX_PATH];
  char stem[64];
  hatch_pasta_options overlap;
  hatch_jpeg_decoder *dec;
  size_t next_pair;
  frame_slot slots[2];
  hatch_data_counts counts;
};

static void slot_clear(frame_slot *s) {
  free(s->rgb);
  free(s->depth);
  memset(s, 0, sizeof *s);
  s->index = -1;
}

/* Reads a whole manifest file (at most HATCH_RGBD_MAX_BYTES). */
static hatch_status read_text(const char *path, char **text, size_t *len, hatch_data_report *rep) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    int e = errno;
    return report_set(rep, e == ENOENT || e == ENOTDIR ? HATCH_ERR_NOT_FOUND : HATCH_ERR_IO, "%s: cannot open: %s", path,
                      strerror(e));
  }
  hatch_status st = HATCH_OK;
  size_t cap = 1 << 16, n = 0;
  char *buf = malloc(cap);
  while (buf) {
    n += fread(buf + n, 1, cap - n, f);
    if (n < cap) break;
    if (cap > HATCH_RGBD_MAX_BYTES) {
      st = report_set(rep, HATCH_ERR_TOO_LARGE, "%s: over the %zu byte limit", path, HATCH_RGBD_MAX_BYTES);
      break;
    }
    char *p = realloc(buf, cap * 2);
    if (!p) {
      free(buf);
      buf = NULL;
      break;
    }
    buf = p;
    cap *= 2;
  }
  if (!buf) st = report_set(rep, HATCH_ERR_OUT_OF_MEMORY, "%s: out of memory", path);
  else if (st == HATCH_OK && ferror(f)) st = report_set(rep, HATCH_ERR_IO, "%s: read error", path);
  fclose(f);
  if (st != HATCH_OK) {
    free(buf);
    return st;
  }
  *text = buf;
  *len = n;
  return HATCH_OK;
}

/* The id stem: the file name without its extension, or the directory's name for "manifest.json". */
static void make_stem(const char *path, char *stem, size_t cap) {
  const char *slash = strrchr(path, '/');
  const char *base = slash ? slash + 1 : path;
  const char *dot = strrchr(base, '.');
  size_t n = dot && dot > base ? (size_t)(dot - base) : strlen(base);
  if (n == 8 && strncmp(base, "manifest", 8) == 0 && slash && slash > path) {
    const char *d = slash;
    while (d > path && d[-1] != '/') d--;
    if (slash - d > 0 && !(slash - d == 1 && d[0] == '.')) {
      base = d;
      n = (size_t)(slash - d);
    }
  }
  snprintf(stem, cap, "%.*s", (int)n, base);
}

hatch_status hatch_rgbd_reader_open(const char *path, const hatch_rgbd_options *opt, hatch_rgbd_reader **out,
                                    hatch_data_report *report) {
  if (report) {
    report->status = HATCH_OK;
    report->message[0] = 0;
  }
  if (!path || !out) return HATCH_ERR_INVALID_ARGUMENT;
  *out = NULL;
  if (strlen(path) >= HATCH_DATA_MAX_PATH) return report_set(report, HATCH_ERR_TOO_LARGE, "manifest path too long");
  hatch_rgbd_reader *r = calloc(1, sizeof *r);
  if (!r) return report_set(report, HATCH_ERR_OUT_OF_MEMORY, "%s: out of memory", path);
  slot_clear(&r->slots[0]);
  slot_clear(&r->slots[1]);
  snprintf(r->path, sizeof r->path, "%s", path);
  make_stem(path, r->stem, sizeof r->stem);
  hatch_pasta_options_default(&r->overlap);
  r->overlap.stride = 4;
  if (opt && opt->overlap.grid > 0) r->overlap = opt->overlap;
  hatch_status st;
  if (opt && opt->root) {
    if (strlen(opt->root) >= sizeof r->root) {
      st = report_set(report, HATCH_ERR_TOO_LARGE, "%s: root path too long", path);
      goto free_reader;
    }
    snprintf(r->root, sizeof r->root, "%s", opt->root);
  } else {
    const char *slash = strrchr(path, '/');
    if (slash) snprintf(r->root, sizeof r->root, "%.*s", (int)(slash - path + 1), path);
  }
  char *text = NULL;
  size_t len = 0;
  if ((st = read_text(path, &text, &len, report)) != HATCH_OK) goto free_reader;
  st = hatch_rgbd_manifest_parse(text, len, path, &r->m, report);
  free(text);
  if (st != HATCH_OK) goto free_reader;
  if ((st = hatch_jpeg_decoder_create(NULL, &r->dec)) != HATCH_OK) {
    report_set(report, st, "%s: cannot create a JPEG decoder", path);
    goto free_manifest;
  }
  *out = r;
  return HATCH_OK;
free_manifest:
  hatch_rgbd_manifest_free(&r->m);
free_reader:
  free(r);
  return st;
}

/* Loads frame k into a slot (not the one holding frame keep). On failure the frame is marked bad
 * (why says what) so later pairs skip it without touching the disk again. */
static frame_slot *load_frame(hatch_rgbd_reader *r, size_t k, long keep) {
  for (int i = 0; i < 2; i++)
    if (r->slots[i].index == (long)k) return &r->slots[i];
  frame_slot *s = r->slots[0].index == keep ? &r->slots[1] : &r->slots[0];
  slot_clear(s);
  hatch_rgbd_frame *f = &r->m.frames[k];
  char path[HATCH_DATA_MAX_PATH], why[256];
  if (hatch_data_path_join(r->root, f->rgb, path, sizeof path) != HATCH_OK) {
    frame_bad(f, k, "rgb", "path too long");
    return NULL;
  }
  if (hatch_data_load_rgb(path, r->dec, &s->rgb, &s->width, &s->height, why, sizeof why) != HATCH_OK) {
    frame_bad(f, k, "rgb", "'%s': %s", path, why);
    goto clear_slot;
  }
  if ((f->camera.width && f->camera.width != s->width) || (f->camera.height && f->camera.height != s->height)) {
    frame_bad(f, k, "rgb", "'%s' is %dx%d but intrinsics say %dx%d", path, s->width, s->height, f->camera.width,
              f->camera.height);
    goto clear_slot;
  }
  if (f->depth[0]) {
    int dw, dh;
    if (hatch_data_path_join(r->root, f->depth, path, sizeof path) != HATCH_OK) {
      frame_bad(f, k, "depth", "path too long");
      goto clear_slot;
    }
    if (hatch_depth_png_load(path, f->depth_scale, &s->depth, &dw, &dh, why, sizeof why) != HATCH_OK) {
      frame_bad(f, k, "depth", "'%s': %s", path, why);
      goto clear_slot;
    }
    if (dw != s->width || dh != s->height) {
      frame_bad(f, k, "depth", "'%s' is %dx%d but the colour image is %dx%d", path, dw, dh, s->width, s->height);
      goto clear_slot;
    }
  }
  f->camera.width = s->width;
  f->camera.height = s->height;
  s->index = (long)k;
  return s;
clear_slot:
  slot_clear(s);
  return NULL;
}

/* Copies a loaded frame into sample image i (the sample owns its buffers). */
static bool fill_image(hatch_sample_image *im, const frame_slot *s, const hatch_rgbd_frame *f) {
  const size_t n = (size_t)s->width * s->height;
  im->rgb = malloc(n * 3);
  im->depth = s->depth ? malloc(n * sizeof(float)) : NULL;
  if (!im->rgb || (s->depth && !im->depth)) return false;
  memcpy(im->rgb, s->rgb, n * 3);
  if (s->depth) memcpy(im->depth, s->depth, n * sizeof(float));
  im->width = s->width;
  im->height = s->height;
  im->has_camera = true;
  im->camera = f->camera;
  return true;
}

hatch_data_step hatch_rgbd_reader_next(hatch_rgbd_reader *r, hatch_train_sample *sample, hatch_data_report *report) {
  if (report) {
    report->status = HATCH_OK;
    report->message[0] = 0;
  }
  if (!r || !sample) {
    report_set(report, HATCH_ERR_INVALID_ARGUMENT, "rgbd: NULL reader or sample");
    return HATCH_DATA_FAILED;
  }
  hatch_train_sample_clear(sample);
  if (r->next_pair >= r->m.n_pairs) return HATCH_DATA_END;
  const size_t p = r->next_pair++;
  const int a = r->m.pairs[p][0], b = r->m.pairs[p][1];
  r->counts.read++;
  hatch_rgbd_frame *fa = &r->m.frames[a], *fb = &r->m.frames[b];
  frame_slot *sa = fa->bad ? NULL : load_frame(r, (size_t)a, b);
  frame_slot *sb = fa->bad || fb->bad ? NULL : load_frame(r, (size_t)b, a);
  if (!sa || !sb) {
    const hatch_rgbd_frame *bad = fa->bad ? fa : fb;
    report_set(report, HATCH_ERR_CORRUPT, "%s: pairs[%zu] (%d, %d) skipped: %s", r->path, p, a, b, bad->why);
    r->counts.skipped++;
    return HATCH_DATA_SKIPPED;
  }
  hatch_data_step step = HATCH_DATA_SKIPPED;
  if (!fill_image(&sample->images[0], sa, fa) || !fill_image(&sample->images[1], sb, fb)) {
    report_set(report, HATCH_ERR_OUT_OF_MEMORY, "%s: pairs[%zu]: out of memory", r->path, p);
    step = HATCH_DATA_FAILED;
    goto clear_sample;
  }
  sample->n_images = 2;
  char why[160];
  for (int i = 0; i < 2; i++)
    if (hatch_pinhole_check(&sample->images[i].camera, why, sizeof why) != HATCH_OK) {
      report_set(report, HATCH_ERR_CORRUPT, "%s: pairs[%zu] (%d, %d) skipped: frames[%d]: %s", r->path, p, a, b,
                 i ? b : a, why);
      goto clear_sample;
    }
  if (r->m.default_pairs && sa->depth && sb->depth) {
    double overlap = 0;
    hatch_data_report prep;
    if (hatch_pasta_map(&sample->images[0], &sample->images[1], &r->overlap, NULL, &overlap, &prep) != HATCH_OK) {
      report_set(report, prep.status, "%s: pairs[%zu] (%d, %d) skipped: %s", r->path, p, a, b, prep.message);
      goto clear_sample;
    }
    if (overlap < r->m.min_overlap) {
      report_set(report, HATCH_ERR_NOT_FOUND, "%s: pairs[%zu] (%d, %d) skipped: overlap %.3f < min_overlap %.3f",
                 r->path, p, a, b, overlap, r->m.min_overlap);
      goto clear_sample;
    }
  }
  snprintf(sample->id, sizeof sample->id, "rgbd_%s_%d_%d", r->stem, a, b);
  snprintf(sample->setting, sizeof sample->setting, "free");
  snprintf(sample->source, sizeof sample->source, "%s:pairs[%zu]", r->path, p);
  snprintf(sample->question, sizeof sample->question, "%s", HATCH_RGBD_QUESTION);
  sample->n_options = 0;
  sample->gt_answer = 0;
  sample->has_pose = true;
  sample->pose_from = 0;
  sample->pose_to = 1;
  hatch_pinhole_relative_pose(&sample->images[0].camera, &sample->images[1].camera, &sample->pose);
  if (hatch_data_action_string(&sample->pose, 0, 1, sample->action, sizeof sample->action) != HATCH_OK) {
    report_set(report, HATCH_ERR_TOO_LARGE, "%s: pairs[%zu]: action string does not fit", r->path, p);
    goto clear_sample;
  }
  r->counts.ok++;
  return HATCH_DATA_SAMPLE;
clear_sample:
  hatch_train_sample_clear(sample);
  if (step == HATCH_DATA_SKIPPED) r->counts.skipped++;
  return step;
}

hatch_data_counts hatch_rgbd_reader_counts(const hatch_rgbd_reader *r) {
  hatch_data_counts zero = {0};
  return r ? r->counts : zero;
}

const hatch_rgbd_manifest *hatch_rgbd_reader_manifest(const hatch_rgbd_reader *r) { return r ? &r->m : NULL; }

void hatch_rgbd_reader_close(hatch_rgbd_reader *r) {
  if (!r) return;
  slot_clear(&r->slots[0]);
  slot_clear(&r->slots[1]);
  hatch_jpeg_decoder_destroy(r->dec);
  hatch_rgbd_manifest_free(&r->m);
  free(r);
}
