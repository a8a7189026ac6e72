/* Capture manifest: the rules (shared by the readers and the writers), parsing with cJSON, loading,
 * freeing. The format is described in drivers/README.md ("Capture manifest"); writing is in
 * capture_manifest_write.c. Every error names the field and set/frame index. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hatch/frame_files.h"

static hatch_status failf(hatch_file_error *err, hatch_status st, const char *where, const char *fmt, ...) {
  if (err) {
    int n = snprintf(err->message, sizeof(err->message), "%s: ", where ? where : "manifest");
    va_list ap;
    va_start(ap, fmt);
    if (n >= 0 && (size_t)n < sizeof(err->message)) vsnprintf(err->message + n, sizeof(err->message) - (size_t)n, fmt, ap);
    va_end(ap);
  }
  return st;
}

/* ---- rules ----------------------------------------------------------------------------------- */

/* n bytes (< cap), all printable (no C0 controls, no DEL; UTF-8 passes). */
static bool text_ok(const char *s, size_t cap, bool allow_slash) {
  size_t n = strnlen(s, cap);
  if (n == 0 || n == cap) return false;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c < 0x20 || c == 0x7F || (!allow_slash && (c == '/' || c == '\\'))) return false;
  }
  return true;
}

bool hatch_capture_file_name_ok(const char *name) {
  if (!name || !text_ok(name, HATCH_CAPTURE_FILE_MAX + 1, false)) return false;
  return strcmp(name, ".") != 0 && strstr(name, "..") == NULL;
}

static bool digits(const char *s, int n) {
  for (int i = 0; i < n; i++)
    if (s[i] < '0' || s[i] > '9') return false;
  return true;
}

/* "YYYY-MM-DDTHH:MM:SS" + optional ".d+" + "Z" */
static bool utc_ok(const char *s, size_t cap) {
  size_t n = strnlen(s, cap);
  if (n == cap || n < 20 || !digits(s, 4) || s[4] != '-' || !digits(s + 5, 2) || s[7] != '-' || !digits(s + 8, 2) ||
      s[10] != 'T' || !digits(s + 11, 2) || s[13] != ':' || !digits(s + 14, 2) || s[16] != ':' || !digits(s + 17, 2))
    return false;
  int mo = atoi(s + 5), d = atoi(s + 8), h = atoi(s + 11), mi = atoi(s + 14), se = atoi(s + 17);
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60) return false;
  size_t p = 19;
  if (s[p] == '.') {
    p++;
    if (p >= n - 1 || !digits(s + p, (int)(n - 1 - p))) return false;
    p = n - 1;
  }
  return p == n - 1 && s[p] == 'Z';
}

static bool in53(int64_t v) { return v >= -HATCH_CAPTURE_INT_MAX && v <= HATCH_CAPTURE_INT_MAX; }

hatch_status hatch_capture_header_check(const hatch_capture_header *h, const char *where, hatch_file_error *err) {
  const hatch_status C = HATCH_ERR_CORRUPT;
  if (!h) return HATCH_ERR_INVALID_ARGUMENT;
  if (!utc_ok(h->created_utc, sizeof(h->created_utc)))
    return failf(err, C, where, "created_utc is not a UTC time like \"2026-11-21T15:00:00Z\"");
  if (h->tolerance_ns < 0 || !in53(h->tolerance_ns))
    return failf(err, C, where, "tolerance_ns %lld is out of range (0..2^53-1)", (long long)h->tolerance_ns);
  if (h->n_cameras < 1 || h->n_cameras > HATCH_CAPTURE_MAX_CAMERAS)
    return failf(err, C, where, "%d cameras: a capture has 1..%d", h->n_cameras, HATCH_CAPTURE_MAX_CAMERAS);
  for (int i = 0; i < h->n_cameras; i++) {
    const hatch_capture_camera *c = &h->cameras[i];
    if (c->index != i) return failf(err, C, where, "cameras[%d].index %d must be %d (cameras in index order)", i, c->index, i);
    if (!text_ok(c->name, sizeof(c->name), false))
      return failf(err, C, where, "cameras[%d].name must be 1..%d printable bytes without '/' or '\\'", i,
                   HATCH_CAPTURE_NAME_MAX);
    if (!text_ok(c->uri, sizeof(c->uri), true))
      return failf(err, C, where, "cameras[%d].uri must be 1..%d printable bytes", i, HATCH_CAPTURE_URI_MAX);
    if (c->width < 1 || c->width > 65535 || c->height < 1 || c->height > 65535)
      return failf(err, C, where, "cameras[%d] size %dx%d is out of range (1..65535)", i, c->width, c->height);
    bool fourcc = strnlen(c->pixel_format, sizeof(c->pixel_format)) == 4;
    for (int k = 0; fourcc && k < 4; k++) fourcc = c->pixel_format[k] >= 0x20 && c->pixel_format[k] < 0x7F;
    if (!fourcc) return failf(err, C, where, "cameras[%d].pixel_format must be a fourcc (4 printable ASCII characters)", i);
    if (!(c->fps > 0 && c->fps <= 1000)) return failf(err, C, where, "cameras[%d].fps %g is out of range (0..1000]", i, c->fps);
  }
  return HATCH_OK;
}

hatch_status hatch_capture_set_check(const hatch_capture_header *h, const hatch_capture_set *s,
                                     const hatch_capture_set *prev, size_t pos, const char *where,
                                     hatch_file_error *err) {
  const hatch_status C = HATCH_ERR_CORRUPT;
  if (!h || !s) return HATCH_ERR_INVALID_ARGUMENT;
  if (s->index < 0 || !in53(s->index)) return failf(err, C, where, "sets[%zu].index %lld is out of range (0..2^53-1)", pos, (long long)s->index);
  if (prev && s->index <= prev->index)
    return failf(err, C, where, "sets[%zu].index %lld is not above sets[%zu].index %lld (indices must increase)", pos,
                 (long long)s->index, pos - 1, (long long)prev->index);
  if (!in53(s->ts_ns)) return failf(err, C, where, "sets[%zu].ts_ns is out of range (+-(2^53-1))", pos);
  if (prev && s->ts_ns < prev->ts_ns)
    return failf(err, C, where, "sets[%zu].ts_ns %lld is less than sets[%zu].ts_ns %lld (timestamps must not decrease)", pos,
                 (long long)s->ts_ns, pos - 1, (long long)prev->ts_ns);
  if (s->skew_ns < 0 || !in53(s->skew_ns))
    return failf(err, C, where, "sets[%zu].skew_ns %lld is out of range (0..2^53-1)", pos, (long long)s->skew_ns);
  if (!s->frames) return failf(err, C, where, "sets[%zu] has no frames", pos);
  for (int k = 0; k < h->n_cameras; k++) {
    const hatch_capture_frame *f = &s->frames[k];
    if (f->missing) continue;
    if (!hatch_capture_file_name_ok(f->file))
      return failf(err, C, where, "sets[%zu].frames[%d].file \"%.64s\" is not a plain file name (1..%d bytes, no '/', '\\', \"..\" or control characters)",
                   pos, k, f->file ? f->file : "(null)", HATCH_CAPTURE_FILE_MAX);
    if (!in53(f->ts_ns)) return failf(err, C, where, "sets[%zu].frames[%d].ts_ns is out of range (+-(2^53-1))", pos, k);
    if (f->seq > (uint64_t)HATCH_CAPTURE_INT_MAX) return failf(err, C, where, "sets[%zu].frames[%d].seq is out of range (0..2^53-1)", pos, k);
  }
  return HATCH_OK;
}

hatch_status hatch_capture_stats_check(const hatch_capture_header *h, const hatch_capture_stats *st, size_t n_sets,
                                       const char *where, hatch_file_error *err) {
  if (!h || !st) return HATCH_ERR_INVALID_ARGUMENT;
  if (st->sets != n_sets)
    return failf(err, HATCH_ERR_CORRUPT, where, "stats.sets %llu does not match the %zu sets listed", (unsigned long long)st->sets, n_sets);
  bool ok = st->sets_dropped <= (uint64_t)HATCH_CAPTURE_INT_MAX;
  for (int k = 0; ok && k < h->n_cameras; k++) {
    const hatch_capture_camera_stats *c = &st->cameras[k];
    uint64_t m = (uint64_t)HATCH_CAPTURE_INT_MAX;
    ok = c->frames <= m && c->dropped <= m && c->corrupt <= m && c->error_flagged <= m && c->disconnects <= m;
  }
  return ok ? HATCH_OK : failf(err, HATCH_ERR_CORRUPT, where, "stats: a counter is over 2^53-1");
}

/* ---- parsing --------------------------------------------------------------------------------- */

typedef struct arena_block {
  struct arena_block *next;
  size_t used, cap;
  char data[];
} arena_block;

typedef struct manifest_storage {
  hatch_capture_frame *frames; /* (n_sets, n_cameras), one block */
  arena_block *strings;        /* file names */
} manifest_storage;

static char *arena_strdup(manifest_storage *s, const char *str) {
  size_t n = strlen(str) + 1;
  if (!s->strings || s->strings->cap - s->strings->used < n) {
    size_t cap = n > 65536 ? n : 65536;
    arena_block *b = malloc(sizeof(*b) + cap);
    if (!b) return NULL;
    b->next = s->strings, b->used = 0, b->cap = cap;
    s->strings = b;
  }
  char *out = s->strings->data + s->strings->used;
  memcpy(out, str, n);
  s->strings->used += n;
  return out;
}

void hatch_capture_manifest_free(hatch_capture_manifest *m) {
  if (!m) return;
  manifest_storage *s = m->storage;
  if (s) {
    for (arena_block *b = s->strings, *next; b; b = next) next = b->next, free(b);
    free(s->frames);
    free(s);
    free(m->sets);
  }
  memset(m, 0, sizeof(*m));
}

typedef struct pctx {
  const char *name;
  hatch_file_error *err;
} pctx;

/* obj[key] as an integer in lo..hi. path: "sets[3]" etc. ("" at the top level). */
static hatch_status get_int(const pctx *c, const cJSON *obj, const char *path, const char *key, int64_t lo, int64_t hi,
                            int64_t *out) {
  const char *dot = path[0] ? "." : "";
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
  if (!v) return failf(c->err, HATCH_ERR_CORRUPT, c->name, "%s%s%s is missing", path, dot, key);
  if (!cJSON_IsNumber(v)) return failf(c->err, HATCH_ERR_CORRUPT, c->name, "%s%s%s is not a number", path, dot, key);
  double d = v->valuedouble;
  if (!(d >= (double)lo && d <= (double)hi) || floor(d) != d)
    return failf(c->err, HATCH_ERR_CORRUPT, c->name, "%s%s%s %.17g is not an integer in %lld..%lld", path, dot, key, d,
                 (long long)lo, (long long)hi);
  *out = (int64_t)d;
  return HATCH_OK;
}

/* obj[key] as a string; copied into out (cap bytes) when out is not NULL, else returned in *ref. */
static hatch_status get_str(const pctx *c, const cJSON *obj, const char *path, const char *key, char *out, size_t cap,
                            const char **ref) {
  const char *dot = path[0] ? "." : "";
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
  if (!v) return failf(c->err, HATCH_ERR_CORRUPT, c->name, "%s%s%s is missing", path, dot, key);
  if (!cJSON_IsString(v) || !v->valuestring) return failf(c->err, HATCH_ERR_CORRUPT, c->name, "%s%s%s is not a string", path, dot, key);
  if (out) {
    if (strlen(v->valuestring) >= cap)
      return failf(c->err, HATCH_ERR_CORRUPT, c->name, "%s%s%s is longer than %zu bytes", path, dot, key, cap - 1);
    memcpy(out, v->valuestring, strlen(v->valuestring) + 1);
  }
  if (ref) *ref = v->valuestring;
  return HATCH_OK;
}

#define TRY(expr)                   \
  do {                              \
    hatch_status st_ = (expr);      \
    if (st_ != HATCH_OK) return st_; \
  } while (0)

static const int64_t I53 = HATCH_CAPTURE_INT_MAX;

static hatch_status parse_header(const pctx *c, const cJSON *root, hatch_capture_header *h) {
  int64_t v;
  TRY(get_str(c, root, "", "created_utc", h->created_utc, sizeof(h->created_utc), NULL));
  TRY(get_int(c, root, "", "tolerance_ns", 0, I53, &h->tolerance_ns));
  const cJSON *cams = cJSON_GetObjectItemCaseSensitive(root, "cameras");
  if (!cJSON_IsArray(cams)) return failf(c->err, HATCH_ERR_CORRUPT, c->name, "cameras is %s", cams ? "not an array" : "missing");
  int n = cJSON_GetArraySize(cams);
  if (n < 1 || n > HATCH_CAPTURE_MAX_CAMERAS)
    return failf(c->err, n < 1 ? HATCH_ERR_CORRUPT : HATCH_ERR_TOO_LARGE, c->name, "%d cameras: a capture has 1..%d", n,
                 HATCH_CAPTURE_MAX_CAMERAS);
  h->n_cameras = n;
  int i = 0;
  for (const cJSON *o = cams->child; o; o = o->next, i++) {
    char path[32];
    snprintf(path, sizeof(path), "cameras[%d]", i);
    hatch_capture_camera *cam = &h->cameras[i];
    if (!cJSON_IsObject(o)) return failf(c->err, HATCH_ERR_CORRUPT, c->name, "%s is not an object", path);
    TRY(get_int(c, o, path, "index", 0, HATCH_CAPTURE_MAX_CAMERAS - 1, &v));
    cam->index = (int)v;
    TRY(get_str(c, o, path, "name", cam->name, sizeof(cam->name), NULL));
    TRY(get_str(c, o, path, "uri", cam->uri, sizeof(cam->uri), NULL));
    TRY(get_int(c, o, path, "width", 1, 65535, &v));
    cam->width = (int)v;
    TRY(get_int(c, o, path, "height", 1, 65535, &v));
    cam->height = (int)v;
    TRY(get_str(c, o, path, "pixel_format", cam->pixel_format, sizeof(cam->pixel_format), NULL));
    const cJSON *fps = cJSON_GetObjectItemCaseSensitive(o, "fps");
    if (!cJSON_IsNumber(fps)) return failf(c->err, HATCH_ERR_CORRUPT, c->name, "%s.fps is %s", path, fps ? "not a number" : "missing");
    cam->fps = fps->valuedouble;
  }
  return hatch_capture_header_check(h, c->name, c->err);
}

static hatch_status parse_set(const pctx *c, const cJSON *o, size_t pos, const hatch_capture_header *h,
                              manifest_storage *s, hatch_capture_set *set) {
  char path[48];
  snprintf(path, sizeof(path), "sets[%zu]", pos);
  if (!cJSON_IsObject(o)) return failf(c->err, HATCH_ERR_CORRUPT, c->name, "%s is not an object", path);
  TRY(get_int(c, o, path, "index", 0, I53, &set->index));
  TRY(get_int(c, o, path, "ts_ns", -I53, I53, &set->ts_ns));
  TRY(get_int(c, o, path, "skew_ns", 0, I53, &set->skew_ns));
  const cJSON *frames = cJSON_GetObjectItemCaseSensitive(o, "frames");
  if (!cJSON_IsArray(frames)) return failf(c->err, HATCH_ERR_CORRUPT, c->name, "%s.frames is %s", path, frames ? "not an array" : "missing");
  int n = cJSON_GetArraySize(frames);
  if (n != h->n_cameras)
    return failf(c->err, HATCH_ERR_CORRUPT, c->name, "%s.frames has %d entries, expected %d (one per camera)", path, n, h->n_cameras);
  int k = 0;
  for (const cJSON *f = frames->child; f; f = f->next, k++) {
    char fpath[80];
    snprintf(fpath, sizeof(fpath), "%s.frames[%d]", path, k);
    if (!cJSON_IsObject(f)) return failf(c->err, HATCH_ERR_CORRUPT, c->name, "%s is not an object", fpath);
    const cJSON *cam = cJSON_GetObjectItemCaseSensitive(f, "camera");
    if (!cJSON_IsNumber(cam)) return failf(c->err, HATCH_ERR_CORRUPT, c->name, "%s.camera is %s", fpath, cam ? "not a number" : "missing");
    if (!(cam->valuedouble >= 0 && cam->valuedouble < h->n_cameras) || floor(cam->valuedouble) != cam->valuedouble)
      return failf(c->err, HATCH_ERR_CORRUPT, c->name, "%s.camera %.17g is not a camera index (0..%d)", fpath,
                   cam->valuedouble, h->n_cameras - 1);
    if ((int)cam->valuedouble != k)
      return failf(c->err, HATCH_ERR_CORRUPT, c->name, "%s.camera %d is out of order (frames[k] is camera k)", fpath,
                   (int)cam->valuedouble);
    hatch_capture_frame *fr = &set->frames[k];
    const cJSON *missing = cJSON_GetObjectItemCaseSensitive(f, "missing");
    if (missing && !cJSON_IsBool(missing)) return failf(c->err, HATCH_ERR_CORRUPT, c->name, "%s.missing is not a boolean", fpath);
    if (cJSON_IsTrue(missing)) {
      fr->missing = true;
      continue;
    }
    const char *file = NULL;
    TRY(get_str(c, f, fpath, "file", NULL, 0, &file));
    if (!hatch_capture_file_name_ok(file))
      return failf(c->err, HATCH_ERR_CORRUPT, c->name, "%s.file \"%.64s\" is not a plain file name (1..%d bytes, no '/', '\\', \"..\" or control characters)",
                   fpath, file, HATCH_CAPTURE_FILE_MAX);
    if (!(fr->file = arena_strdup(s, file))) return HATCH_ERR_OUT_OF_MEMORY;
    TRY(get_int(c, f, fpath, "ts_ns", -I53, I53, &fr->ts_ns));
    int64_t seq;
    TRY(get_int(c, f, fpath, "seq", 0, I53, &seq));
    fr->seq = (uint64_t)seq;
  }
  return HATCH_OK;
}

static hatch_status parse_stats(const pctx *c, const cJSON *root, const hatch_capture_header *h, hatch_capture_stats *st) {
  const cJSON *o = cJSON_GetObjectItemCaseSensitive(root, "stats");
  if (!cJSON_IsObject(o)) return failf(c->err, HATCH_ERR_CORRUPT, c->name, "stats is %s", o ? "not an object" : "missing");
  int64_t v;
  TRY(get_int(c, o, "stats", "sets", 0, I53, &v));
  st->sets = (uint64_t)v;
  TRY(get_int(c, o, "stats", "sets_dropped", 0, I53, &v));
  st->sets_dropped = (uint64_t)v;
  const cJSON *cams = cJSON_GetObjectItemCaseSensitive(o, "cameras");
  if (!cJSON_IsArray(cams) || cJSON_GetArraySize(cams) != h->n_cameras)
    return failf(c->err, HATCH_ERR_CORRUPT, c->name, "stats.cameras must be an array of %d entries (one per camera)", h->n_cameras);
  int k = 0;
  for (const cJSON *e = cams->child; e; e = e->next, k++) {
    char path[32];
    snprintf(path, sizeof(path), "stats.cameras[%d]", k);
    if (!cJSON_IsObject(e)) return failf(c->err, HATCH_ERR_CORRUPT, c->name, "%s is not an object", path);
    TRY(get_int(c, e, path, "index", k, k, &v));
    hatch_capture_camera_stats *cs = &st->cameras[k];
    struct { const char *key; uint64_t *dst; } f[] = {{"frames", &cs->frames}, {"dropped", &cs->dropped},
        {"corrupt", &cs->corrupt}, {"error_flagged", &cs->error_flagged}, {"disconnects", &cs->disconnects}};
    for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
      TRY(get_int(c, e, path, f[i].key, 0, I53, &v));
      *f[i].dst = (uint64_t)v;
    }
  }
  return HATCH_OK;
}

static hatch_status parse_root(const pctx *c, const cJSON *root, hatch_capture_manifest *m) {
  if (!cJSON_IsObject(root)) return failf(c->err, HATCH_ERR_CORRUPT, c->name, "the top level is not a JSON object");
  const char *format = NULL;
  TRY(get_str(c, root, "", "format", NULL, 0, &format));
  if (strcmp(format, HATCH_CAPTURE_FORMAT) != 0)
    return failf(c->err, HATCH_ERR_UNSUPPORTED, c->name, "format \"%.64s\" is not \"" HATCH_CAPTURE_FORMAT "\"", format);
  int64_t version;
  TRY(get_int(c, root, "", "version", 1, I53, &version));
  if (version != HATCH_CAPTURE_VERSION)
    return failf(c->err, HATCH_ERR_UNSUPPORTED, c->name, "version %lld is not supported (this build reads %d)",
                 (long long)version, HATCH_CAPTURE_VERSION);
  const cJSON *complete = cJSON_GetObjectItemCaseSensitive(root, "complete");
  if (complete && !cJSON_IsBool(complete)) return failf(c->err, HATCH_ERR_CORRUPT, c->name, "complete is not a boolean");
  m->complete = !complete || cJSON_IsTrue(complete);
  TRY(parse_header(c, root, &m->header));

  const cJSON *sets = cJSON_GetObjectItemCaseSensitive(root, "sets");
  if (!cJSON_IsArray(sets)) return failf(c->err, HATCH_ERR_CORRUPT, c->name, "sets is %s", sets ? "not an array" : "missing");
  size_t n = 0;
  for (const cJSON *o = sets->child; o; o = o->next) n++;
  if (n > HATCH_CAPTURE_MAX_SETS)
    return failf(c->err, HATCH_ERR_TOO_LARGE, c->name, "%zu sets: more than %d", n, HATCH_CAPTURE_MAX_SETS);
  manifest_storage *s = calloc(1, sizeof(*s));
  if (!s) return HATCH_ERR_OUT_OF_MEMORY;
  m->storage = s; /* from here on hatch_capture_manifest_free releases everything */
  size_t nc = (size_t)m->header.n_cameras;
  if (n) {
    m->sets = calloc(n, sizeof(*m->sets));
    s->frames = calloc(n * nc, sizeof(*s->frames));
    if (!m->sets || !s->frames) return HATCH_ERR_OUT_OF_MEMORY;
  }
  size_t pos = 0;
  for (const cJSON *o = sets->child; o; o = o->next, pos++) {
    hatch_capture_set *set = &m->sets[pos];
    set->frames = s->frames + pos * nc;
    m->n_sets = pos + 1;
    TRY(parse_set(c, o, pos, &m->header, s, set));
    TRY(hatch_capture_set_check(&m->header, set, pos ? set - 1 : NULL, pos, c->name, c->err));
  }
  TRY(parse_stats(c, root, &m->header, &m->stats));
  return hatch_capture_stats_check(&m->header, &m->stats, m->n_sets, c->name, c->err);
}

hatch_status hatch_capture_manifest_parse(const char *text, size_t len, const char *name, hatch_capture_manifest *out,
                                          hatch_file_error *err) {
  if (err) err->message[0] = '\0';
  if (!out || (!text && len)) return HATCH_ERR_INVALID_ARGUMENT;
  memset(out, 0, sizeof(*out));
  pctx c = {name ? name : "manifest", err};
  if (len > HATCH_CAPTURE_MAX_BYTES)
    return failf(err, HATCH_ERR_TOO_LARGE, c.name, "%zu bytes: more than the %zu a manifest may have", len, HATCH_CAPTURE_MAX_BYTES);
  const char *end = NULL;
  cJSON *root = len ? cJSON_ParseWithLengthOpts(text, len, &end, false) : NULL;
  if (!root) {
    size_t at = end && end >= text && end <= text + len ? (size_t)(end - text) : 0;
    return failf(err, HATCH_ERR_CORRUPT, c.name, "not valid JSON (at byte %zu)", at);
  }
  size_t rest = (size_t)(end - text);
  while (rest < len && (text[rest] == ' ' || text[rest] == '\n' || text[rest] == '\r' || text[rest] == '\t')) rest++;
  hatch_status st = rest < len && text[rest] != '\0'
                        ? failf(err, HATCH_ERR_CORRUPT, c.name, "text after the JSON object (at byte %zu)", rest)
                        : parse_root(&c, root, out);
  cJSON_Delete(root);
  if (st != HATCH_OK) {
    if (st == HATCH_ERR_OUT_OF_MEMORY && err && !err->message[0]) failf(err, st, c.name, "out of memory");
    hatch_capture_manifest_free(out);
  }
  return st;
}

hatch_status hatch_capture_manifest_load(const char *path, hatch_capture_manifest *out, hatch_file_error *err) {
  if (err) err->message[0] = '\0';
  if (!path || !out) return HATCH_ERR_INVALID_ARGUMENT;
  memset(out, 0, sizeof(*out));
  FILE *f = fopen(path, "rb");
  if (!f) {
    int e = errno;
    return failf(err, e == ENOENT ? HATCH_ERR_NOT_FOUND : HATCH_ERR_IO, path, "%s", strerror(e));
  }
  size_t cap = 1 << 16, n = 0;
  char *buf = malloc(cap);
  hatch_status st = buf ? HATCH_OK : HATCH_ERR_OUT_OF_MEMORY;
  while (st == HATCH_OK) {
    if (n == cap) { /* grow up to one byte over the limit, enough to see the file is too big */
      if (cap > HATCH_CAPTURE_MAX_BYTES) {
        st = failf(err, HATCH_ERR_TOO_LARGE, path, "more than %zu bytes", HATCH_CAPTURE_MAX_BYTES);
        break;
      }
      size_t ncap = cap * 2 > HATCH_CAPTURE_MAX_BYTES ? HATCH_CAPTURE_MAX_BYTES + 1 : cap * 2;
      char *grown = realloc(buf, ncap);
      if (!grown) {
        st = HATCH_ERR_OUT_OF_MEMORY;
        break;
      }
      buf = grown, cap = ncap;
    }
    size_t got = fread(buf + n, 1, cap - n, f);
    n += got;
    if (got == 0) {
      if (ferror(f)) st = failf(err, HATCH_ERR_IO, path, "read error");
      break;
    }
  }
  fclose(f);
  if (st == HATCH_OK) st = hatch_capture_manifest_parse(buf, n, path, out, err);
  free(buf);
  return st;
}
