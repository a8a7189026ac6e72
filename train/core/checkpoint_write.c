/* Checkpoint writer: sections in memory (borrowed or copied), laid out and written crash-safe. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hatch/train_checkpoint.h"
#include "core/checkpoint_internal.h"

typedef struct wsection {
  char name[CKPT_NAME];
  hatch_ckpt_kind kind;
  const void *data; /* (size) borrowed, or `copy` */
  void *copy;
  uint64_t size;
} wsection;

struct hatch_ckpt_writer {
  wsection *s; /* (n, cap) */
  int n, cap;
};

hatch_status hatch_ckpt_writer_create(hatch_ckpt_writer **out) {
  if (!out) return HATCH_ERR_INVALID_ARGUMENT;
  *out = calloc(1, sizeof **out);
  return *out ? HATCH_OK : HATCH_ERR_OUT_OF_MEMORY;
}

void hatch_ckpt_writer_destroy(hatch_ckpt_writer *w) {
  if (!w) return;
  for (int i = 0; i < w->n; i++) free(w->s[i].copy);
  free(w->s);
  free(w);
}

static hatch_status add(hatch_ckpt_writer *w, const char *name, hatch_ckpt_kind kind, const void *data, uint64_t size,
                        bool copy) {
  if (!w || !name || (unsigned)kind >= HATCH_CKPT_KIND_COUNT || (size && !data)) return HATCH_ERR_INVALID_ARGUMENT;
  size_t len = strlen(name);
  if (!ckpt_name_ok(name, len) || (kind == HATCH_CKPT_F32 && size % 4)) return HATCH_ERR_INVALID_ARGUMENT;
  if (w->n >= HATCH_CKPT_MAX_SECTIONS) return HATCH_ERR_TOO_LARGE;
  for (int i = 0; i < w->n; i++)
    if (strcmp(w->s[i].name, name) == 0) return HATCH_ERR_INVALID_ARGUMENT;
  if (w->n == w->cap) {
    int cap = w->cap ? 2 * w->cap : 8;
    wsection *s = realloc(w->s, (size_t)cap * sizeof *s);
    if (!s) return HATCH_ERR_OUT_OF_MEMORY;
    w->s = s, w->cap = cap;
  }
  wsection *s = &w->s[w->n];
  memset(s, 0, sizeof *s);
  memcpy(s->name, name, len);
  s->kind = kind;
  s->size = size;
  s->data = data;
  if (copy && size) {
    if (size > SIZE_MAX || !(s->copy = malloc((size_t)size))) return HATCH_ERR_OUT_OF_MEMORY;
    memcpy(s->copy, data, (size_t)size);
    s->data = s->copy;
  }
  w->n++;
  return HATCH_OK;
}

hatch_status hatch_ckpt_writer_add(hatch_ckpt_writer *w, const char *name, hatch_ckpt_kind kind, const void *data,
                                   uint64_t size) {
  return add(w, name, kind, data, size, false);
}

hatch_status hatch_ckpt_writer_add_copy(hatch_ckpt_writer *w, const char *name, hatch_ckpt_kind kind,
                                        const void *data, uint64_t size) {
  return add(w, name, kind, data, size, true);
}

/* Appends s to a growing string. */
typedef struct sbuf {
  char *p;
  size_t n, cap;
  bool oom;
} sbuf;

static void sb_put(sbuf *b, const char *s, size_t n) {
  if (b->oom) return;
  if (b->n + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->n + n + 1) cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
      b->oom = true;
      return;
    }
    b->p = p, b->cap = cap;
  }
  memcpy(b->p + b->n, s, n);
  b->n += n;
  b->p[b->n] = '\0';
}

static void sb_json_str(sbuf *b, const char *s) {
  sb_put(b, "\"", 1);
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    char esc[8];
    if (c == '"' || c == '\\') {
      esc[0] = '\\', esc[1] = (char)c;
      sb_put(b, esc, 2);
    } else if (c < 0x20) {
      snprintf(esc, sizeof esc, "\\u%04x", c);
      sb_put(b, esc, 6);
    } else {
      sb_put(b, (const char *)&c, 1);
    }
  }
  sb_put(b, "\"", 1);
}

hatch_status hatch_ckpt_writer_add_layout(hatch_ckpt_writer *w, int64_t n_params, const hatch_param_desc *descs,
                                          int n_descs) {
  if (!w || n_params < 0 || n_descs < 0 || (n_descs && !descs)) return HATCH_ERR_INVALID_ARGUMENT;
  sbuf b = {0};
  char num[96];
  snprintf(num, sizeof num, "{\"n_params\":%lld,\"tensors\":[", (long long)n_params);
  sb_put(&b, num, strlen(num));
  for (int i = 0; i < n_descs; i++) {
    sb_put(&b, i ? ",{\"name\":" : "{\"name\":", i ? 9 : 8);
    sb_json_str(&b, descs[i].name ? descs[i].name : "");
    snprintf(num, sizeof num, ",\"offset\":%lld,\"n\":%lld,\"ndim\":%d}", (long long)descs[i].offset,
             (long long)descs[i].n_elems, descs[i].ndim);
    sb_put(&b, num, strlen(num));
  }
  sb_put(&b, "]}", 2);
  hatch_status st = b.oom ? HATCH_ERR_OUT_OF_MEMORY : add(w, "layout", HATCH_CKPT_JSON, b.p, b.n, true);
  free(b.p);
  return st;
}

/* The header, table and table CRC: (table_bytes) in *out; offsets of every payload in off[]. */
static hatch_status layout(const hatch_ckpt_writer *w, uint8_t **out, uint64_t *table_bytes, uint64_t *off,
                           uint64_t *file_size) {
  uint64_t tb = CKPT_HEADER + (uint64_t)CKPT_ENTRY * (uint64_t)w->n + 4;
  uint8_t *h = calloc(1, (size_t)tb);
  if (!h) return HATCH_ERR_OUT_OF_MEMORY;
  memcpy(h, CKPT_MAGIC, 8);
  ckpt_put32(h + 8, HATCH_CKPT_VERSION);
  ckpt_put32(h + 12, (uint32_t)w->n);
  uint64_t at = tb;
  for (int i = 0; i < w->n; i++) {
    const wsection *s = &w->s[i];
    uint8_t *e = h + CKPT_HEADER + (uint64_t)CKPT_ENTRY * (uint64_t)i;
    at = ckpt_align(at);
    off[i] = at;
    memcpy(e, s->name, CKPT_NAME);
    ckpt_put32(e + 48, (uint32_t)s->kind);
    ckpt_put32(e + 52, hatch_crc32(0, s->data, (size_t)s->size));
    ckpt_put64(e + 56, at);
    ckpt_put64(e + 64, s->size);
    at += s->size;
  }
  ckpt_put32(h + tb - 4, hatch_crc32(0, h, (size_t)(tb - 4)));
  *out = h;
  *table_bytes = tb;
  *file_size = at;
  return HATCH_OK;
}

hatch_status hatch_ckpt_writer_write_mem(const hatch_ckpt_writer *w, uint8_t **out, size_t *size) {
  if (!w || !out || !size) return HATCH_ERR_INVALID_ARGUMENT;
  *out = NULL, *size = 0;
  uint64_t *off = malloc((size_t)(w->n ? w->n : 1) * sizeof *off), tb = 0, fs = 0;
  uint8_t *h = NULL, *buf = NULL;
  hatch_status st = off ? layout(w, &h, &tb, off, &fs) : HATCH_ERR_OUT_OF_MEMORY;
  if (st == HATCH_OK && (fs > SIZE_MAX || !(buf = calloc(1, (size_t)fs ? (size_t)fs : 1)))) st = HATCH_ERR_OUT_OF_MEMORY;
  if (st == HATCH_OK) {
    memcpy(buf, h, (size_t)tb);
    for (int i = 0; i < w->n; i++)
      if (w->s[i].size) memcpy(buf + off[i], w->s[i].data, (size_t)w->s[i].size);
    *out = buf, *size = (size_t)fs;
  }
  free(h);
  free(off);
  return st;
}

static bool write_all(int fd, const void *p, uint64_t n) {
  const uint8_t *b = p;
  while (n) {
    size_t chunk = n > (1u << 30) ? (1u << 30) : (size_t)n;
    ssize_t k = write(fd, b, chunk);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return false;
    b += k, n -= (uint64_t)k;
  }
  return true;
}

static void report_set(hatch_ckpt_report *r, const char *path, const char *what) {
  if (r) snprintf(r->message, sizeof r->message, "%.200s: %s (%s)", path, what, strerror(errno));
}

hatch_status hatch_ckpt_writer_write(const hatch_ckpt_writer *w, const char *path, hatch_ckpt_report *report) {
  if (report) report->message[0] = '\0', report->offset = 0;
  if (!w || !path) return HATCH_ERR_INVALID_ARGUMENT;
  static const uint8_t zeros[HATCH_CKPT_ALIGN];
  uint64_t *off = malloc((size_t)(w->n ? w->n : 1) * sizeof *off), tb = 0, fs = 0;
  uint8_t *h = NULL;
  hatch_status st = off ? layout(w, &h, &tb, off, &fs) : HATCH_ERR_OUT_OF_MEMORY;
  if (st != HATCH_OK) goto free_layout;
  size_t plen = strlen(path);
  char *tmp = malloc(plen + 32);
  if (!tmp) {
    st = HATCH_ERR_OUT_OF_MEMORY;
    goto free_layout;
  }
  snprintf(tmp, plen + 32, "%s.tmp.%ld", path, (long)getpid());
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) {
    report_set(report, tmp, "cannot create");
    st = HATCH_ERR_IO;
    goto free_tmp;
  }
  bool ok = write_all(fd, h, tb);
  uint64_t at = tb;
  for (int i = 0; ok && i < w->n; i++) {
    ok = write_all(fd, zeros, off[i] - at) && write_all(fd, w->s[i].data, w->s[i].size);
    at = off[i] + w->s[i].size;
  }
  if (!ok) report_set(report, tmp, "write failed");
  if (ok && fsync(fd) != 0) ok = false, report_set(report, tmp, "fsync failed");
  if (close(fd) != 0 && ok) ok = false, report_set(report, tmp, "close failed");
  if (ok && rename(tmp, path) != 0) ok = false, report_set(report, path, "rename failed");
  if (!ok) {
    unlink(tmp);
    st = HATCH_ERR_IO;
    goto free_tmp;
  }
  /* The rename is durable once the directory is synced. */
  char *dir = strdup(path);
  if (dir) {
    char *slash = strrchr(dir, '/');
    const char *d = slash ? (slash == dir ? "/" : (*slash = '\0', dir)) : ".";
    int dfd = open(d, O_RDONLY);
    if (dfd >= 0) {
      fsync(dfd);
      close(dfd);
    }
    free(dir);
  }
free_tmp:
  free(tmp);
free_layout:
  free(h);
  free(off);
  return st;
}
