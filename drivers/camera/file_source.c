/* file:// sources: replay of a frame directory, an MJPEG file or one camera of a `hatch capture`
 * directory (manifest.json), decoded like live frames.
 *
 *   file:///dir?fps=30&loop=0|1&pace=realtime|fast&name=N        JPEG/PNG files in natural order
 *   file:///video.mjpeg?fps=30&loop=0|1&pace=...                  concatenated JPEG frames
 *   file:///capture_dir?camera=NAME|INDEX&loop=..&pace=...        recorded timestamps from manifest.json
 *
 * Time: frame i is due at rig start + (t_i - t_0), t_i = i / fps or the recorded timestamp (the
 * capture's earliest frame is t_0 for every camera, so replayed cameras keep their recorded skew);
 * frames carry that replayed time as ts_ns. pace=realtime drops a due frame when all `buffers`
 * slots are held (counted as a driver drop, as a camera would); pace=fast emits the next frame as
 * soon as the previous one is released (consumer-paced: nothing is dropped). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "camera/frame_internal.h"
#include "camera/source.h"
#include "hatch/frame_decode.h"
#include "hatch/frame_files.h"

#define HATCH_FILE_MAX_FRAME_BYTES ((size_t)64 << 20)
#define HATCH_FILE_MAX_SLOTS 32

typedef struct file_slot {
  hatch_frame_slot slot;
  uint8_t *payload; /* (payload_cap) file bytes (directory frames) */
  size_t payload_cap;
  uint8_t *rgb;     /* (rgb_cap) (height, width, 3) */
  size_t rgb_cap;
  bool busy;        /* handed out (guarded by the pool lock) */
} file_slot;

/* Slots outlive the source while frames are held (reference-counted like a V4L2 stream). */
typedef struct file_pool {
  pthread_mutex_t lock;
  int refs; /* 1 for the source + 1 per frame out */
  int n_slots;
  file_slot slots[HATCH_FILE_MAX_SLOTS];
  const uint8_t *mapped; /* MJPEG file mapping, (mapped_size) */
  size_t mapped_size;
} file_pool;

typedef enum file_kind { KIND_DIR, KIND_MJPEG, KIND_CAPTURE } file_kind;

typedef struct file_source {
  hatch_source base;
  file_kind kind;
  char dir[1024];
  file_pool *pool;
  size_t n_frames;
  char **names;         /* (n_frames) file names for KIND_DIR / KIND_CAPTURE */
  int64_t *times;       /* (n_frames) t_i - t_0, ns */
  uint64_t *seqs;       /* (n_frames) */
  hatch_frame_list list;
  hatch_mjpeg_index index;
  hatch_capture_manifest manifest;
  int64_t period_ns, duration_ns;
  bool loop, fast, decode;
  size_t next;          /* next frame */
  int64_t loop_offset_ns;
  uint64_t emitted;
  file_slot *last;      /* fast pace: the previous frame's slot */
  hatch_jpeg_decoder *jpeg;
  hatch_jpeg_limits limits;
} file_source;

static void pool_unref_locked(file_pool *p) {
  bool last = --p->refs == 0;
  pthread_mutex_unlock(&p->lock);
  if (!last) return;
  for (int i = 0; i < p->n_slots; i++) {
    free(p->slots[i].payload);
    free(p->slots[i].rgb);
  }
  if (p->mapped) munmap((void *)p->mapped, p->mapped_size);
  pthread_mutex_destroy(&p->lock);
  free(p);
}

static void release_slot(hatch_frame_slot *slot) {
  file_pool *p = slot->owner;
  pthread_mutex_lock(&p->lock);
  p->slots[slot->index].busy = false;
  pool_unref_locked(p);
}

static bool slot_busy(file_pool *p, const file_slot *s) {
  pthread_mutex_lock(&p->lock);
  bool b = s->busy;
  pthread_mutex_unlock(&p->lock);
  return b;
}

static file_slot *take_slot(file_pool *p) {
  file_slot *got = NULL;
  pthread_mutex_lock(&p->lock);
  for (int i = 0; i < p->n_slots && !got; i++)
    if (!p->slots[i].busy) got = &p->slots[i];
  pthread_mutex_unlock(&p->lock);
  return got;
}

static hatch_status fail(hatch_error *err, hatch_status st, const char *fmt, const char *a, const char *b) {
  snprintf(err->message, sizeof err->message, fmt, a, b);
  return st;
}

/* Reads path into slot->payload. */
static hatch_status read_frame_file(const char *path, file_slot *slot, size_t *size) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT ? HATCH_ERR_NOT_FOUND : HATCH_ERR_IO;
  struct stat st;
  hatch_status r = HATCH_OK;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) r = HATCH_ERR_IO;
  else if ((size_t)st.st_size > HATCH_FILE_MAX_FRAME_BYTES) r = HATCH_ERR_TOO_LARGE;
  size_t n = r == HATCH_OK ? (size_t)st.st_size : 0;
  if (r == HATCH_OK && n > slot->payload_cap) {
    uint8_t *grown = realloc(slot->payload, n);
    if (!grown) r = HATCH_ERR_OUT_OF_MEMORY;
    else slot->payload = grown, slot->payload_cap = n;
  }
  size_t done = 0;
  while (r == HATCH_OK && done < n) {
    ssize_t k = read(fd, slot->payload + done, n - done);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) r = HATCH_ERR_IO;
    else done += (size_t)k;
  }
  close(fd);
  *size = done;
  return r;
}

/* Decodes payload into the slot's RGB buffer (grown as needed). */
static hatch_status decode_into(file_source *s, file_slot *slot, const uint8_t *data, size_t size, bool png, int *w,
                                int *h, bool *warning, char *why, size_t why_size) {
  hatch_status st = png ? hatch_png_probe(data, size, w, h) : hatch_jpeg_probe(s->jpeg, data, size, w, h);
  if (st == HATCH_OK && ((int64_t)*w * *h > s->limits.max_pixels || *w > s->limits.max_width || *h > s->limits.max_height))
    st = HATCH_ERR_TOO_LARGE;
  if (st != HATCH_OK) {
    snprintf(why, why_size, "%s", hatch_status_message(st));
    return st;
  }
  size_t need = (size_t)*w * (size_t)*h * 3;
  if (need > slot->rgb_cap) {
    uint8_t *grown = realloc(slot->rgb, need);
    if (!grown) return HATCH_ERR_OUT_OF_MEMORY;
    slot->rgb = grown;
    slot->rgb_cap = need;
  }
  hatch_decode_report rep;
  st = png ? hatch_png_decode_rgb(data, size, &s->limits, slot->rgb, need, &rep)
           : hatch_jpeg_decode_rgb(s->jpeg, data, size, slot->rgb, need, &rep);
  if (st != HATCH_OK) snprintf(why, why_size, "%s%s%s", hatch_status_message(st), rep.message[0] ? ": " : "", rep.message);
  *warning = st == HATCH_OK && rep.warning;
  return st;
}

/* Loads, decodes and emits frame s->next into slot. Returns false when the frame was dropped. */
static bool emit_frame(file_source *s, file_slot *slot, int64_t due_ns, int64_t now_ns) {
  size_t i = s->next;
  const uint8_t *data = NULL;
  size_t size = 0;
  char path[2048], why[240] = "";
  bool png = false;
  hatch_status st = HATCH_OK;
  if (s->kind == KIND_MJPEG) {
    data = s->pool->mapped + s->index.frames[i].offset;
    size = s->index.frames[i].size;
    snprintf(path, sizeof path, "%s frame %zu", s->dir, i);
  } else {
    snprintf(path, sizeof path, "%s/%s", s->dir, s->names[i]);
    png = hatch_frame_file_kind_of(s->names[i]) == HATCH_FRAME_FILE_PNG;
    st = read_frame_file(path, slot, &size);
    data = slot->payload;
    if (st != HATCH_OK) snprintf(why, sizeof why, "cannot read: %s", hatch_status_message(st));
  }
  int w = 0, h = 0;
  bool warning = false;
  if (st == HATCH_OK && s->decode) st = decode_into(s, slot, data, size, png, &w, &h, &warning, why, sizeof why);
  else if (st == HATCH_OK) {
    st = png ? hatch_png_probe(data, size, &w, &h) : hatch_jpeg_validate(data, size);
    if (st == HATCH_OK && !png) st = hatch_jpeg_probe(s->jpeg, data, size, &w, &h);
    if (st != HATCH_OK) snprintf(why, sizeof why, "%s", hatch_status_message(st));
  }
  if (st != HATCH_OK) {
    HATCH_SOURCE_COUNT(&s->base, corrupt, 1);
    hatch_source_set_error(&s->base, "%s: frame dropped: %s", path, why);
    return false;
  }
  if (warning) HATCH_SOURCE_COUNT(&s->base, decode_warnings, 1);
  hatch_frame *f = &slot->slot.frame;
  *f = (hatch_frame){.camera = s->base.camera, .seq = s->seqs ? s->seqs[i] : s->emitted, .ts_ns = due_ns,
                     .dequeue_ns = now_ns, .fourcc = png ? 0x20474e50u /* "PNG " */ : 0x47504a4du /* MJPG */,
                     .width = w, .height = h, .payload = data, .payload_size = size,
                     .rgb = s->decode ? slot->rgb : NULL, .decode_warning = warning};
  pthread_mutex_lock(&s->pool->lock);
  slot->busy = true;
  s->pool->refs++;
  pthread_mutex_unlock(&s->pool->lock);
  hatch_frame_slot_publish(&slot->slot);
  f->ready_ns = hatch_monotonic_ns();
  pthread_mutex_lock(&s->base.stats_lock);
  s->base.stats.frames++;
  s->base.stats.state = HATCH_CAMERA_STREAMING;
  s->base.stats.width = w;
  s->base.stats.height = h;
  pthread_mutex_unlock(&s->base.stats_lock);
  s->emitted++;
  s->last = slot;
  s->base.emit(s->base.emit_ctx, f);
  return true;
}

static int64_t due_of(const file_source *s) { return s->base.epoch_ns + s->loop_offset_ns + s->times[s->next]; }

/* Moves to the next frame; at the end loops or ends. */
static void advance(file_source *s) {
  if (++s->next < s->n_frames) return;
  if (s->loop) {
    s->next = 0;
    s->loop_offset_ns += s->duration_ns;
  } else {
    hatch_source_set_state(&s->base, HATCH_CAMERA_ENDED);
  }
}

static int src_fds(hatch_source *base, struct pollfd *fds) { return 0; }

static int64_t src_deadline(hatch_source *base) {
  file_source *s = (file_source *)base;
  if (hatch_source_state(base) == HATCH_CAMERA_ENDED) return INT64_MAX;
  if (s->fast) return s->last && slot_busy(s->pool, s->last) ? hatch_monotonic_ns() + 1000000 : 0;
  return due_of(s);
}

static void src_service(hatch_source *base, const struct pollfd *fds, int n_fds, int64_t now_ns) {
  file_source *s = (file_source *)base;
  /* At most a handful per turn so other sources in the thread are served too. */
  for (int turn = 0; turn < 4 && hatch_source_state(base) != HATCH_CAMERA_ENDED; turn++) {
    if (s->fast) {
      if (s->last && slot_busy(s->pool, s->last)) return;
      file_slot *slot = take_slot(s->pool);
      if (!slot) return;
      (void)emit_frame(s, slot, due_of(s), now_ns);
      advance(s);
      return; /* one per turn: consumer-paced */
    }
    int64_t due = due_of(s);
    if (due > now_ns) return;
    file_slot *slot = take_slot(s->pool);
    if (!slot) HATCH_SOURCE_COUNT(&s->base, driver_drops, 1);
    else (void)emit_frame(s, slot, due, now_ns);
    advance(s);
  }
}

static void src_destroy(hatch_source *base) {
  file_source *s = (file_source *)base;
  if (s->pool) {
    pthread_mutex_lock(&s->pool->lock);
    pool_unref_locked(s->pool);
  }
  if (s->kind == KIND_CAPTURE) free(s->names); /* the names themselves belong to the manifest */
  hatch_capture_manifest_free(&s->manifest);
  hatch_frame_list_free(&s->list);
  hatch_mjpeg_index_free(&s->index);
  free(s->times);
  free(s->seqs);
  hatch_jpeg_decoder_destroy(s->jpeg);
  hatch_source_fini(&s->base);
  free(s);
}

static const hatch_source_vtable file_vtable = {src_fds, src_deadline, src_service, src_destroy};

/* ---- opening ----------------------------------------------------------------------------------- */

static hatch_status open_mjpeg(file_source *s, const char *path, hatch_error *err) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail(err, HATCH_ERR_NOT_FOUND, "camera URI file://%.200s: %s", path, strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0 || st.st_size == 0) {
    close(fd);
    return fail(err, HATCH_ERR_CORRUPT, "camera URI file://%.200s: %s", path, "empty or unreadable file");
  }
  void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
  close(fd);
  if (m == MAP_FAILED) return fail(err, HATCH_ERR_IO, "camera URI file://%.200s: mmap: %s", path, strerror(errno));
  s->pool->mapped = m;
  s->pool->mapped_size = (size_t)st.st_size;
  hatch_file_error ferr = {""};
  hatch_status r = hatch_mjpeg_index_build(m, (size_t)st.st_size, 0, true, &s->index, &ferr);
  if (r != HATCH_OK) return fail(err, r, "camera URI file://%.200s: %s", path, ferr.message);
  if (s->index.count == 0) return fail(err, HATCH_ERR_CORRUPT, "camera URI file://%.200s: no JPEG frames (%s)", path, ferr.message);
  s->n_frames = s->index.count;
  return HATCH_OK;
}

static hatch_status open_capture(file_source *s, const hatch_uri *uri, const char *manifest_path, hatch_error *err) {
  hatch_file_error ferr = {""};
  hatch_status r = hatch_capture_manifest_load(manifest_path, &s->manifest, &ferr);
  if (r != HATCH_OK) return fail(err, r, "camera URI file://%.200s: %s", uri->path, ferr.message);
  const hatch_capture_header *hd = &s->manifest.header;
  const char *want = hatch_uri_param(uri, "camera");
  int cam = -1;
  if (!want) cam = 0;
  for (int c = 0; c < hd->n_cameras && want && cam < 0; c++)
    if (!strcmp(hd->cameras[c].name, want)) cam = c;
  if (want && cam < 0) {
    char *end;
    long v = strtol(want, &end, 10);
    if (*want && !*end && v >= 0 && v < hd->n_cameras) cam = (int)v;
  }
  if (cam < 0) return fail(err, HATCH_ERR_NOT_FOUND, "camera URI file://%.200s: no camera \"%.40s\" in the manifest", uri->path, want);
  snprintf(s->base.stats.name, sizeof s->base.stats.name, "%s", hd->cameras[cam].name);
  int64_t t0 = INT64_MAX;
  size_t n = 0;
  for (size_t i = 0; i < s->manifest.n_sets; i++)
    for (int c = 0; c < hd->n_cameras; c++) {
      const hatch_capture_frame *f = &s->manifest.sets[i].frames[c];
      if (f->missing) continue;
      if (f->ts_ns < t0) t0 = f->ts_ns;
      if (c == cam) n++;
    }
  if (n == 0) return fail(err, HATCH_ERR_NOT_FOUND, "camera URI file://%.200s: camera %.40s has no frames", uri->path, hd->cameras[cam].name);
  s->names = calloc(n, sizeof *s->names);
  s->times = calloc(n, sizeof *s->times);
  s->seqs = calloc(n, sizeof *s->seqs);
  if (!s->names || !s->times || !s->seqs) return HATCH_ERR_OUT_OF_MEMORY;
  for (size_t i = 0; i < s->manifest.n_sets; i++) {
    const hatch_capture_frame *f = &s->manifest.sets[i].frames[cam];
    if (f->missing) continue;
    s->names[s->n_frames] = f->file;
    s->times[s->n_frames] = f->ts_ns - t0;
    s->seqs[s->n_frames] = f->seq;
    s->n_frames++;
  }
  s->period_ns = hd->cameras[cam].fps > 0 ? (int64_t)(1e9 / hd->cameras[cam].fps) : 33333333;
  return HATCH_OK;
}

hatch_status hatch_file_source_create(const hatch_uri *uri, const hatch_rig_options *opt, int camera,
                                      hatch_source **out, hatch_error *err) {
  static const char *const keys[] = {"fps", "loop", "pace", "camera", "name", NULL};
  hatch_status st = hatch_uri_check_keys(uri, keys, err);
  long fps = opt->fps, loop = 0;
  if (st == HATCH_OK) st = hatch_uri_param_int(uri, "fps", 1, 1000, &fps, err);
  if (st == HATCH_OK) st = hatch_uri_param_int(uri, "loop", 0, 1, &loop, err);
  const char *pace = hatch_uri_param(uri, "pace");
  if (st == HATCH_OK && pace && strcmp(pace, "realtime") && strcmp(pace, "fast"))
    st = fail(err, HATCH_ERR_INVALID_ARGUMENT, "camera URI file://%.200s: pace=%.30s (realtime or fast)", uri->path, pace);
  if (st != HATCH_OK) return st;
  file_source *s = calloc(1, sizeof *s);
  if (!s) return HATCH_ERR_OUT_OF_MEMORY;
  hatch_source_init(&s->base, &file_vtable, camera);
  snprintf(s->dir, sizeof s->dir, "%s", uri->path);
  snprintf(s->base.stats.name, sizeof s->base.stats.name, "%s", uri->path);
  s->loop = loop == 1;
  s->fast = pace && !strcmp(pace, "fast");
  s->decode = !opt->no_decode;
  s->period_ns = 1000000000 / fps;
  s->limits = hatch_jpeg_limits_default();
  s->pool = calloc(1, sizeof *s->pool);
  if (!s->pool || (st = hatch_jpeg_decoder_create(NULL, &s->jpeg)) != HATCH_OK) {
    st = HATCH_ERR_OUT_OF_MEMORY;
    goto fail_out;
  }
  pthread_mutex_init(&s->pool->lock, NULL);
  s->pool->refs = 1;
  s->pool->n_slots = opt->buffers < HATCH_FILE_MAX_SLOTS ? opt->buffers : HATCH_FILE_MAX_SLOTS;
  for (int i = 0; i < s->pool->n_slots; i++)
    s->pool->slots[i].slot = (hatch_frame_slot){.owner = s->pool, .index = i, .release = release_slot};

  struct stat sb;
  if (stat(uri->path, &sb) != 0) {
    st = fail(err, HATCH_ERR_NOT_FOUND, "camera URI file://%.200s: %s", uri->path, strerror(errno));
    goto fail_out;
  }
  char manifest[1200];
  snprintf(manifest, sizeof manifest, "%s/%s", uri->path, HATCH_CAPTURE_MANIFEST_NAME);
  struct stat mb;
  if (S_ISDIR(sb.st_mode) && stat(manifest, &mb) == 0) {
    s->kind = KIND_CAPTURE;
    st = open_capture(s, uri, manifest, err);
  } else if (S_ISDIR(sb.st_mode)) {
    s->kind = KIND_DIR;
    hatch_file_error ferr = {""};
    st = hatch_frame_dir_list(uri->path, &s->list, &ferr);
    if (st != HATCH_OK) fail(err, st, "camera URI file://%.200s: %s", uri->path, ferr.message);
    else if (s->list.count == 0) st = fail(err, HATCH_ERR_NOT_FOUND, "camera URI file://%.200s: %s", uri->path, "no .jpg/.jpeg/.png frames");
    s->names = s->list.names;
    s->n_frames = s->list.count;
  } else {
    s->kind = KIND_MJPEG;
    st = open_mjpeg(s, uri->path, err);
  }
  if (st == HATCH_OK && hatch_uri_param(uri, "camera") && s->kind != KIND_CAPTURE)
    st = fail(err, HATCH_ERR_INVALID_ARGUMENT, "camera URI file://%.200s: %s", uri->path, "camera= needs a capture directory (manifest.json)");
  if (st != HATCH_OK) goto fail_out;
  if (!s->times) {
    if (!(s->times = calloc(s->n_frames, sizeof *s->times))) {
      st = HATCH_ERR_OUT_OF_MEMORY;
      goto fail_out;
    }
    for (size_t i = 0; i < s->n_frames; i++) s->times[i] = (int64_t)i * s->period_ns;
  }
  s->duration_ns = s->times[s->n_frames - 1] + s->period_ns;
  const char *name = hatch_uri_param(uri, "name");
  if (name) snprintf(s->base.stats.name, sizeof s->base.stats.name, "%s", name);
  s->base.stats.fps = (int)(1000000000 / s->period_ns);
  *out = &s->base;
  return HATCH_OK;
fail_out:
  src_destroy(&s->base);
  return st;
}
