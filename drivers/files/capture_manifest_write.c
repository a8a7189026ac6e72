/* Capture manifest writing: the JSON text (one set per line, the layout in drivers/README.md), the
 * atomic write (temp file, fsync, rename, fsync of the directory) and the incremental writer that a
 * running capture checkpoints through. The text is produced here, not by cJSON, so that integers
 * print exactly and the writer can keep each set's text once instead of a tree of every set. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hatch/frame_files.h"

/* Room the tail ("stats" with 16 cameras of 20-digit counters) can need. */
#define TAIL_RESERVE 4096

typedef struct sbuf {
  char *p;
  size_t n, cap;
  bool oom;
} sbuf;

static void sb_reserve(sbuf *b, size_t extra) {
  if (b->oom || b->cap - b->n > extra) return;
  size_t cap = b->cap ? b->cap : 4096;
  while (cap - b->n <= extra) cap *= 2;
  char *p = realloc(b->p, cap);
  if (!p) {
    b->oom = true;
    return;
  }
  b->p = p, b->cap = cap;
}

static void sb_printf(sbuf *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int k = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (k < 0) {
    b->oom = true;
    return;
  }
  sb_reserve(b, (size_t)k + 1);
  if (b->oom) return;
  va_start(ap, fmt);
  vsnprintf(b->p + b->n, b->cap - b->n, fmt, ap);
  va_end(ap);
  b->n += (size_t)k;
}

/* A JSON string: quotes, backslashes and control characters escaped; UTF-8 passes through. */
static void sb_str(sbuf *b, const char *s) {
  sb_printf(b, "\"");
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') sb_printf(b, "\\%c", c);
    else if (c < 0x20) sb_printf(b, "\\u%04x", c);
    else sb_printf(b, "%c", c);
  }
  sb_printf(b, "\"");
}

/* The shortest %g that reads back as the same double (fps 30 -> "30", 29.97 -> "29.97"). */
static void sb_double(sbuf *b, double v) {
  char t[40];
  for (int prec = 15; prec <= 17; prec++) {
    snprintf(t, sizeof(t), "%.*g", prec, v);
    if (strtod(t, NULL) == v) break;
  }
  sb_printf(b, "%s", t);
}

static void put_head(sbuf *b, const hatch_capture_header *h, bool complete) {
  sb_printf(b, "{\"format\": \"%s\", \"version\": %d, \"complete\": %s,\n \"created_utc\": ", HATCH_CAPTURE_FORMAT,
            HATCH_CAPTURE_VERSION, complete ? "true" : "false");
  sb_str(b, h->created_utc);
  sb_printf(b, ", \"tolerance_ns\": %lld,\n \"cameras\": [", (long long)h->tolerance_ns);
  for (int i = 0; i < h->n_cameras; i++) {
    const hatch_capture_camera *c = &h->cameras[i];
    sb_printf(b, "%s\n  {\"index\": %d, \"name\": ", i ? "," : "", c->index);
    sb_str(b, c->name);
    sb_printf(b, ", \"uri\": ");
    sb_str(b, c->uri);
    sb_printf(b, ", \"width\": %d, \"height\": %d, \"pixel_format\": ", c->width, c->height);
    sb_str(b, c->pixel_format);
    sb_printf(b, ", \"fps\": ");
    sb_double(b, c->fps);
    sb_printf(b, "}");
  }
  sb_printf(b, "],\n \"sets\": [\n");
}

static void put_set(sbuf *b, const hatch_capture_header *h, const hatch_capture_set *s) {
  sb_printf(b, "  {\"index\": %lld, \"ts_ns\": %lld, \"skew_ns\": %lld, \"frames\": [", (long long)s->index,
            (long long)s->ts_ns, (long long)s->skew_ns);
  for (int k = 0; k < h->n_cameras; k++) {
    const hatch_capture_frame *f = &s->frames[k];
    sb_printf(b, "%s{\"camera\": %d, ", k ? ", " : "", k);
    if (f->missing) {
      sb_printf(b, "\"missing\": true}");
      continue;
    }
    sb_printf(b, "\"file\": ");
    sb_str(b, f->file);
    sb_printf(b, ", \"ts_ns\": %lld, \"seq\": %llu}", (long long)f->ts_ns, (unsigned long long)f->seq);
  }
  sb_printf(b, "]}");
}

static void put_tail(sbuf *b, const hatch_capture_header *h, const hatch_capture_stats *st) {
  sb_printf(b, "\n ],\n \"stats\": {\"sets\": %llu, \"sets_dropped\": %llu, \"cameras\": [", (unsigned long long)st->sets,
            (unsigned long long)st->sets_dropped);
  for (int k = 0; k < h->n_cameras; k++) {
    const hatch_capture_camera_stats *c = &st->cameras[k];
    sb_printf(b,
              "%s\n  {\"index\": %d, \"frames\": %llu, \"dropped\": %llu, \"corrupt\": %llu, \"error_flagged\": %llu, "
              "\"disconnects\": %llu}",
              k ? "," : "", k, (unsigned long long)c->frames, (unsigned long long)c->dropped,
              (unsigned long long)c->corrupt, (unsigned long long)c->error_flagged, (unsigned long long)c->disconnects);
  }
  sb_printf(b, "]}}\n");
}

static hatch_status io_fail(hatch_file_error *err, const char *path, const char *what, int e) {
  if (err) snprintf(err->message, sizeof(err->message), "%s: %s: %s", path, what, strerror(e));
  return HATCH_ERR_IO;
}

static bool write_all(int fd, const char *p, size_t n) {
  while (n) {
    ssize_t k = write(fd, p, n);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return false;
    p += k, n -= (size_t)k;
  }
  return true;
}

/* parts[0..n) concatenated into path via <path>.tmp + fsync + rename + fsync(directory). */
static hatch_status write_atomic(const char *path, const sbuf *parts, int n, hatch_file_error *err) {
  size_t plen = strlen(path);
  char *tmp = malloc(plen + 5), *dir = malloc(plen + 2);
  if (!tmp || !dir) {
    free(tmp), free(dir);
    return HATCH_ERR_OUT_OF_MEMORY;
  }
  snprintf(tmp, plen + 5, "%s.tmp", path);
  const char *slash = strrchr(path, '/');
  if (!slash) snprintf(dir, plen + 2, ".");
  else if (slash == path) snprintf(dir, plen + 2, "/");
  else snprintf(dir, plen + 2, "%.*s", (int)(slash - path), path);

  hatch_status st = HATCH_OK;
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    st = io_fail(err, tmp, "cannot create", errno);
    goto done;
  }
  for (int i = 0; i < n && st == HATCH_OK; i++)
    if (!write_all(fd, parts[i].p, parts[i].n)) st = io_fail(err, tmp, "write failed", errno);
  if (st == HATCH_OK && fsync(fd) != 0) st = io_fail(err, tmp, "fsync failed", errno);
  if (close(fd) != 0 && st == HATCH_OK) st = io_fail(err, tmp, "close failed", errno);
  if (st == HATCH_OK && rename(tmp, path) != 0) st = io_fail(err, path, "rename failed", errno);
  if (st != HATCH_OK) {
    unlink(tmp);
    goto done;
  }
  int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC); /* make the rename itself durable */
  if (dfd >= 0) {
    fsync(dfd); /* best effort: some file systems refuse fsync on directories */
    close(dfd);
  }
done:
  free(tmp);
  free(dir);
  return st;
}

hatch_status hatch_capture_manifest_write(const char *path, const hatch_capture_manifest *m, hatch_file_error *err) {
  if (err) err->message[0] = '\0';
  if (!path || !m || (m->n_sets && !m->sets)) return HATCH_ERR_INVALID_ARGUMENT;
  hatch_status st = hatch_capture_header_check(&m->header, path, err);
  if (st != HATCH_OK) return st;
  if (m->n_sets > HATCH_CAPTURE_MAX_SETS) return HATCH_ERR_TOO_LARGE;
  for (size_t i = 0; i < m->n_sets; i++)
    if ((st = hatch_capture_set_check(&m->header, &m->sets[i], i ? &m->sets[i - 1] : NULL, i, path, err)) != HATCH_OK)
      return st;
  if ((st = hatch_capture_stats_check(&m->header, &m->stats, m->n_sets, path, err)) != HATCH_OK) return st;
  sbuf b = {0};
  put_head(&b, &m->header, m->complete);
  for (size_t i = 0; i < m->n_sets && !b.oom && b.n <= HATCH_CAPTURE_MAX_BYTES; i++) {
    if (i) sb_printf(&b, ",\n");
    put_set(&b, &m->header, &m->sets[i]);
  }
  put_tail(&b, &m->header, &m->stats);
  if (b.oom) st = HATCH_ERR_OUT_OF_MEMORY;
  else if (b.n > HATCH_CAPTURE_MAX_BYTES) {
    st = HATCH_ERR_TOO_LARGE;
    if (err) snprintf(err->message, sizeof(err->message), "%s: more than %zu bytes", path, HATCH_CAPTURE_MAX_BYTES);
  } else st = write_atomic(path, &b, 1, err);
  free(b.p);
  return st;
}

/* ---- incremental writer ---------------------------------------------------------------------- */

struct hatch_capture_writer {
  char *path; /* <dir>/manifest.json */
  hatch_capture_header header;
  int checkpoint_sets;
  sbuf head;      /* up to and including "sets": [ — fixed */
  sbuf sets;      /* every set's line, joined by ",\n" */
  size_t n_sets, on_disk;
  hatch_capture_set last; /* index and ts_ns of the last set (frames NULL), for the order checks */
  hatch_capture_stats stats; /* counted from the sets: sets and frames per camera */
};

static hatch_status checkpoint(hatch_capture_writer *w, const hatch_capture_stats *stats, hatch_file_error *err) {
  sbuf tail = {0};
  put_tail(&tail, &w->header, stats ? stats : &w->stats);
  hatch_status st = HATCH_ERR_OUT_OF_MEMORY;
  if (!tail.oom) {
    sbuf parts[3] = {w->head, w->sets, tail};
    st = write_atomic(w->path, parts, 3, err);
  }
  free(tail.p);
  if (st == HATCH_OK) w->on_disk = w->n_sets;
  return st;
}

void hatch_capture_manifest_writer_destroy(hatch_capture_writer *w) {
  if (!w) return;
  free(w->path);
  free(w->head.p);
  free(w->sets.p);
  free(w);
}

hatch_status hatch_capture_manifest_writer_open(const char *dir, const hatch_capture_header *header,
                                                int checkpoint_sets, hatch_capture_writer **out,
                                                hatch_file_error *err) {
  if (err) err->message[0] = '\0';
  if (out) *out = NULL;
  if (!dir || !header || !out || checkpoint_sets < 1) return HATCH_ERR_INVALID_ARGUMENT;
  size_t plen = strlen(dir) + sizeof("/" HATCH_CAPTURE_MANIFEST_NAME);
  hatch_capture_writer *w = calloc(1, sizeof(*w));
  if (!w || !(w->path = malloc(plen))) {
    free(w);
    return HATCH_ERR_OUT_OF_MEMORY;
  }
  snprintf(w->path, plen, "%s/%s", dir, HATCH_CAPTURE_MANIFEST_NAME);
  hatch_status st = hatch_capture_header_check(header, w->path, err);
  if (st == HATCH_OK) {
    w->header = *header;
    w->checkpoint_sets = checkpoint_sets;
    put_head(&w->head, header, false);
    st = w->head.oom ? HATCH_ERR_OUT_OF_MEMORY : checkpoint(w, NULL, err);
  }
  if (st != HATCH_OK) {
    hatch_capture_manifest_writer_destroy(w);
    return st;
  }
  *out = w;
  return HATCH_OK;
}

hatch_status hatch_capture_manifest_writer_append_set(hatch_capture_writer *w, const hatch_capture_set *set,
                                                      hatch_file_error *err) {
  if (err) err->message[0] = '\0';
  if (!w || !set) return HATCH_ERR_INVALID_ARGUMENT;
  hatch_status st = hatch_capture_set_check(&w->header, set, w->n_sets ? &w->last : NULL, w->n_sets, w->path, err);
  if (st != HATCH_OK) return st;
  if (w->n_sets >= HATCH_CAPTURE_MAX_SETS) {
    if (err) snprintf(err->message, sizeof(err->message), "%s: more than %d sets", w->path, HATCH_CAPTURE_MAX_SETS);
    return HATCH_ERR_TOO_LARGE;
  }
  size_t before = w->sets.n;
  if (w->n_sets) sb_printf(&w->sets, ",\n");
  put_set(&w->sets, &w->header, set);
  if (w->sets.oom || w->head.n + w->sets.n + TAIL_RESERVE > HATCH_CAPTURE_MAX_BYTES) {
    st = w->sets.oom ? HATCH_ERR_OUT_OF_MEMORY : HATCH_ERR_TOO_LARGE;
    if (err && st == HATCH_ERR_TOO_LARGE)
      snprintf(err->message, sizeof(err->message), "%s: the manifest would exceed %zu bytes", w->path, HATCH_CAPTURE_MAX_BYTES);
    w->sets.n = before, w->sets.oom = false; /* the set is not added */
    return st;
  }
  w->n_sets++;
  w->last = (hatch_capture_set){.index = set->index, .ts_ns = set->ts_ns};
  w->stats.sets = w->n_sets;
  for (int k = 0; k < w->header.n_cameras; k++) w->stats.cameras[k].frames += !set->frames[k].missing;
  size_t pending = w->n_sets - w->on_disk, every = w->on_disk / 16;
  if (every < (size_t)w->checkpoint_sets) every = (size_t)w->checkpoint_sets;
  return pending >= every ? checkpoint(w, NULL, err) : HATCH_OK;
}

hatch_status hatch_capture_manifest_writer_flush(hatch_capture_writer *w, hatch_file_error *err) {
  if (err) err->message[0] = '\0';
  if (!w) return HATCH_ERR_INVALID_ARGUMENT;
  return checkpoint(w, NULL, err);
}

hatch_status hatch_capture_manifest_writer_close(hatch_capture_writer *w, const hatch_capture_stats *stats,
                                                 hatch_file_error *err) {
  if (err) err->message[0] = '\0';
  if (!w) return HATCH_ERR_INVALID_ARGUMENT;
  hatch_status st = hatch_capture_stats_check(&w->header, stats ? stats : &w->stats, w->n_sets, w->path, err);
  if (st == HATCH_OK) {
    sbuf head = {0};
    put_head(&head, &w->header, true);
    if (head.oom) st = HATCH_ERR_OUT_OF_MEMORY;
    else {
      free(w->head.p);
      w->head = head;
      st = checkpoint(w, stats, err);
    }
    if (st != HATCH_OK && head.oom) free(head.p);
  }
  hatch_capture_manifest_writer_destroy(w);
  return st;
}
