/* GGUF writer: KVs are serialized as they are added; tensor infos and data are laid out at write
 * time, in gguf-py's order and padding, so the bytes match gguf-py for the same content. Tensor
 * data is either borrowed or pulled from a fill callback in row-aligned chunks, so a model need
 * not be held in memory twice. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gguf_internal.h"

#define FILL_CHUNK (4u << 20) /* bytes per fill callback, rounded down to whole rows */

typedef struct wtensor {
  char *name;
  uint32_t type;
  int n_dims;
  int64_t ne[4];
  uint64_t nbytes;
  const void *data;        /* borrowed, or NULL when fill is set */
  hatch_gguf_fill_fn fill;
  void *user;
} wtensor;

struct hatch_gguf_writer {
  uint8_t *kv;             /* serialized KV section: (kv_len) */
  uint64_t kv_len, kv_cap;
  int64_t n_kv;
  char **keys;             /* (n_kv) for the duplicate check */
  uint64_t keys_cap;
  wtensor *tensors;        /* (n_tensors) */
  int64_t n_tensors;
  uint64_t tensors_cap;
  uint32_t alignment;
};


hatch_status hatch_gguf_writer_create(hatch_gguf_writer **out) {
  if (!out) return HATCH_ERR_INVALID_ARGUMENT;
  *out = calloc(1, sizeof(**out));
  if (!*out) return HATCH_ERR_OUT_OF_MEMORY;
  (*out)->alignment = HATCH_GGUF_DEFAULT_ALIGNMENT;
  return HATCH_OK;
}

void hatch_gguf_writer_destroy(hatch_gguf_writer *w) {
  if (!w) return;
  for (int64_t i = 0; i < w->n_kv; i++) free(w->keys[i]);
  for (int64_t i = 0; i < w->n_tensors; i++) free(w->tensors[i].name);
  free(w->keys);
  free(w->tensors);
  free(w->kv);
  free(w);
}

static bool put(hatch_gguf_writer *w, const void *p, uint64_t n) {
  if (!hatch_gguf_grow((void **)&w->kv, &w->kv_cap, w->kv_len + n, 1)) return false;
  if (n) memcpy(w->kv + w->kv_len, p, (size_t)n);
  w->kv_len += n;
  return true;
}
static bool put_u32(hatch_gguf_writer *w, uint32_t v) { return put(w, &v, 4); }
static bool put_u64(hatch_gguf_writer *w, uint64_t v) { return put(w, &v, 8); }
static bool put_str(hatch_gguf_writer *w, const char *s, uint64_t len) { return put_u64(w, len) && put(w, s, len); }

/* Starts a KV: checks the key, writes it and the value type. On failure the KV section is rolled
 * back by the caller through *mark. */
static hatch_status begin_kv(hatch_gguf_writer *w, const char *key, hatch_gguf_type type, uint64_t *mark) {
  if (!w || !key || !key[0]) return HATCH_ERR_INVALID_ARGUMENT;
  for (int64_t i = 0; i < w->n_kv; i++)
    if (strcmp(w->keys[i], key) == 0) return HATCH_ERR_INVALID_ARGUMENT;
  if (!hatch_gguf_grow((void **)&w->keys, &w->keys_cap, (uint64_t)w->n_kv + 1, sizeof(char *))) return HATCH_ERR_OUT_OF_MEMORY;
  *mark = w->kv_len;
  if (!put_str(w, key, strlen(key)) || !put_u32(w, (uint32_t)type)) return HATCH_ERR_OUT_OF_MEMORY;
  return HATCH_OK;
}

static hatch_status end_kv(hatch_gguf_writer *w, const char *key, bool ok, uint64_t mark) {
  char *k = ok ? strdup(key) : NULL;
  if (!k) {
    w->kv_len = mark;
    return HATCH_ERR_OUT_OF_MEMORY;
  }
  w->keys[w->n_kv++] = k;
  return HATCH_OK;
}

static hatch_status add_scalar(hatch_gguf_writer *w, const char *key, hatch_gguf_type type, const void *v) {
  uint64_t mark;
  hatch_status st = begin_kv(w, key, type, &mark);
  if (st != HATCH_OK) return st;
  return end_kv(w, key, put(w, v, gguf_type_size(type)), mark);
}

#define ADDER(fn, ctype, gtype)                                                  \
  hatch_status fn(hatch_gguf_writer *w, const char *key, ctype v) {              \
    return add_scalar(w, key, gtype, &v);                                        \
  }
ADDER(hatch_gguf_writer_add_u8, uint8_t, HATCH_GGUF_TYPE_UINT8)
ADDER(hatch_gguf_writer_add_i8, int8_t, HATCH_GGUF_TYPE_INT8)
ADDER(hatch_gguf_writer_add_u16, uint16_t, HATCH_GGUF_TYPE_UINT16)
ADDER(hatch_gguf_writer_add_i16, int16_t, HATCH_GGUF_TYPE_INT16)
ADDER(hatch_gguf_writer_add_i32, int32_t, HATCH_GGUF_TYPE_INT32)
ADDER(hatch_gguf_writer_add_u64, uint64_t, HATCH_GGUF_TYPE_UINT64)
ADDER(hatch_gguf_writer_add_i64, int64_t, HATCH_GGUF_TYPE_INT64)
ADDER(hatch_gguf_writer_add_f32, float, HATCH_GGUF_TYPE_FLOAT32)
ADDER(hatch_gguf_writer_add_f64, double, HATCH_GGUF_TYPE_FLOAT64)
#undef ADDER

hatch_status hatch_gguf_writer_add_u32(hatch_gguf_writer *w, const char *key, uint32_t v) {
  bool is_align = key && strcmp(key, "general.alignment") == 0;
  if (is_align && (v == 0 || (v & (v - 1)) != 0)) return HATCH_ERR_INVALID_ARGUMENT;
  hatch_status st = add_scalar(w, key, HATCH_GGUF_TYPE_UINT32, &v);
  if (st == HATCH_OK && is_align) w->alignment = v;
  return st;
}

hatch_status hatch_gguf_writer_add_bool(hatch_gguf_writer *w, const char *key, bool v) {
  uint8_t b = v ? 1 : 0;
  return add_scalar(w, key, HATCH_GGUF_TYPE_BOOL, &b);
}

hatch_status hatch_gguf_writer_add_strn(hatch_gguf_writer *w, const char *key, const char *v, uint64_t len) {
  if (!v && len) return HATCH_ERR_INVALID_ARGUMENT;
  uint64_t mark;
  hatch_status st = begin_kv(w, key, HATCH_GGUF_TYPE_STRING, &mark);
  if (st != HATCH_OK) return st;
  return end_kv(w, key, put_str(w, v, len), mark);
}

hatch_status hatch_gguf_writer_add_str(hatch_gguf_writer *w, const char *key, const char *v) {
  if (!v) return HATCH_ERR_INVALID_ARGUMENT;
  return hatch_gguf_writer_add_strn(w, key, v, strlen(v));
}

hatch_status hatch_gguf_writer_add_arr(hatch_gguf_writer *w, const char *key, hatch_gguf_type elem_type,
                                       const void *items, uint64_t n) {
  uint64_t esz = gguf_type_size(elem_type);
  if (esz == 0 || (!items && n) || n > UINT64_MAX / esz) return HATCH_ERR_INVALID_ARGUMENT;
  if (elem_type == HATCH_GGUF_TYPE_BOOL)
    for (uint64_t j = 0; j < n; j++)
      if (((const uint8_t *)items)[j] > 1) return HATCH_ERR_INVALID_ARGUMENT;
  uint64_t mark;
  hatch_status st = begin_kv(w, key, HATCH_GGUF_TYPE_ARRAY, &mark);
  if (st != HATCH_OK) return st;
  return end_kv(w, key, put_u32(w, (uint32_t)elem_type) && put_u64(w, n) && put(w, items, n * esz), mark);
}

hatch_status hatch_gguf_writer_add_arr_str(hatch_gguf_writer *w, const char *key, const char *const *items,
                                           const uint64_t *lens, uint64_t n) {
  if (!items && n) return HATCH_ERR_INVALID_ARGUMENT;
  for (uint64_t j = 0; j < n; j++)
    if (!items[j] && (!lens || lens[j])) return HATCH_ERR_INVALID_ARGUMENT;
  uint64_t mark;
  hatch_status st = begin_kv(w, key, HATCH_GGUF_TYPE_ARRAY, &mark);
  if (st != HATCH_OK) return st;
  bool ok = put_u32(w, HATCH_GGUF_TYPE_STRING) && put_u64(w, n);
  for (uint64_t j = 0; ok && j < n; j++) ok = put_str(w, items[j], lens ? lens[j] : strlen(items[j]));
  return end_kv(w, key, ok, mark);
}

static hatch_status add_tensor(hatch_gguf_writer *w, const char *name, uint32_t type, int n_dims, const int64_t *ne,
                               const void *data, uint64_t nbytes, hatch_gguf_fill_fn fill, void *user) {
  if (!w || !name || !name[0] || strlen(name) > HATCH_GGUF_MAX_NAME || n_dims < 1 || n_dims > 4 || !ne)
    return HATCH_ERR_INVALID_ARGUMENT;
  int64_t blk;
  uint64_t bsz;
  if (!hatch_ggml_type_block(type, &blk, &bsz)) return HATCH_ERR_TYPE;
  uint64_t n_elems = 1;
  for (int d = 0; d < n_dims; d++) {
    if (ne[d] <= 0 || n_elems > (uint64_t)INT64_MAX / (uint64_t)ne[d]) return HATCH_ERR_SHAPE;
    n_elems *= (uint64_t)ne[d];
  }
  if (ne[0] % blk != 0) return HATCH_ERR_SHAPE;
  if (n_elems / (uint64_t)blk > UINT64_MAX / bsz) return HATCH_ERR_TOO_LARGE;
  uint64_t want = n_elems / (uint64_t)blk * bsz;
  if (!fill && (nbytes != want || !data)) return HATCH_ERR_INVALID_ARGUMENT;
  for (int64_t i = 0; i < w->n_tensors; i++)
    if (strcmp(w->tensors[i].name, name) == 0) return HATCH_ERR_INVALID_ARGUMENT;
  if (!hatch_gguf_grow((void **)&w->tensors, &w->tensors_cap, (uint64_t)w->n_tensors + 1, sizeof(wtensor)))
    return HATCH_ERR_OUT_OF_MEMORY;
  wtensor t = {.name = strdup(name), .type = type, .n_dims = n_dims, .nbytes = want, .data = data, .fill = fill,
               .user = user};
  if (!t.name) return HATCH_ERR_OUT_OF_MEMORY;
  for (int d = 0; d < 4; d++) t.ne[d] = d < n_dims ? ne[d] : 1;
  w->tensors[w->n_tensors++] = t;
  return HATCH_OK;
}

hatch_status hatch_gguf_writer_add_tensor(hatch_gguf_writer *w, const char *name, uint32_t ggml_type, int n_dims,
                                          const int64_t *ne, const void *data, uint64_t nbytes) {
  return add_tensor(w, name, ggml_type, n_dims, ne, data, nbytes, NULL, NULL);
}

hatch_status hatch_gguf_writer_add_tensor_fn(hatch_gguf_writer *w, const char *name, uint32_t ggml_type, int n_dims,
                                             const int64_t *ne, hatch_gguf_fill_fn fill, void *user) {
  if (!fill) return HATCH_ERR_INVALID_ARGUMENT;
  return add_tensor(w, name, ggml_type, n_dims, ne, NULL, 0, fill, user);
}

/* ---- output ---------------------------------------------------------------------------------- */

static hatch_status wfail(hatch_gguf_report *rep, hatch_status st, const char *path, const char *fmt, ...) {
  if (!rep) return st;
  int n = snprintf(rep->message, sizeof(rep->message), "%s: ", path);
  if (n < 0 || (size_t)n >= sizeof(rep->message)) n = 0;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(rep->message + n, sizeof(rep->message) - (size_t)n, fmt, ap);
  va_end(ap);
  return st;
}

static uint64_t pad_of(uint64_t n, uint32_t a) { return (a - n % a) % a; }

static bool wr(FILE *f, const void *p, uint64_t n) { return n == 0 || fwrite(p, 1, (size_t)n, f) == n; }
static bool wr_zeros(FILE *f, uint64_t n) {
  static const uint8_t zeros[256];
  for (; n > 0; n -= n > 256 ? 256 : n)
    if (!wr(f, zeros, n > 256 ? 256 : n)) return false;
  return true;
}

static hatch_status write_tensor_data(const hatch_gguf_writer *w, const wtensor *t, FILE *f, uint8_t **chunk,
                                      const char *path, hatch_gguf_report *rep) {
  if (!t->fill) return wr(f, t->data, t->nbytes) ? HATCH_OK : wfail(rep, HATCH_ERR_IO, path, "write failed: %s", strerror(errno));
  uint64_t row = t->nbytes / ((uint64_t)t->ne[1] * (uint64_t)t->ne[2] * (uint64_t)t->ne[3]);
  uint64_t step = row >= FILL_CHUNK ? row : FILL_CHUNK / row * row;
  if (step > t->nbytes) step = t->nbytes;
  uint8_t *buf = realloc(*chunk, (size_t)step);
  if (!buf) return wfail(rep, HATCH_ERR_OUT_OF_MEMORY, path, "out of memory for a %llu-byte chunk", (unsigned long long)step);
  *chunk = buf;
  for (uint64_t off = 0; off < t->nbytes; off += step) {
    uint64_t n = t->nbytes - off < step ? t->nbytes - off : step;
    hatch_status st = t->fill(t->user, t->name, buf, off, n);
    if (st != HATCH_OK)
      return wfail(rep, st, path, "tensor '%s': filling bytes [%llu, %llu) failed: %s", t->name,
                   (unsigned long long)off, (unsigned long long)(off + n), hatch_status_message(st));
    if (!wr(f, buf, n)) return wfail(rep, HATCH_ERR_IO, path, "write failed: %s", strerror(errno));
  }
  (void)w;
  return HATCH_OK;
}

/* The whole file to f, in gguf-py's layout. */
static hatch_status write_stream(const hatch_gguf_writer *w, FILE *f, const char *path, hatch_gguf_report *rep) {
  uint32_t version = 3;
  uint64_t counts[2] = {(uint64_t)w->n_tensors, (uint64_t)w->n_kv};
  bool ok = wr(f, "GGUF", 4) && wr(f, &version, 4) && wr(f, counts, 16) && wr(f, w->kv, w->kv_len);
  uint64_t pos = 24 + w->kv_len, offset = 0;
  for (int64_t i = 0; ok && i < w->n_tensors; i++) {
    const wtensor *t = &w->tensors[i];
    uint64_t len = strlen(t->name), ne[4];
    uint32_t nd = (uint32_t)t->n_dims;
    for (int d = 0; d < 4; d++) ne[d] = (uint64_t)t->ne[d];
    ok = wr(f, &len, 8) && wr(f, t->name, len) && wr(f, &nd, 4) && wr(f, ne, 8ull * nd) && wr(f, &t->type, 4) &&
         wr(f, &offset, 8);
    pos += 8 + len + 4 + 8ull * nd + 4 + 8;
    offset += t->nbytes + pad_of(t->nbytes, w->alignment);
  }
  ok = ok && wr_zeros(f, pad_of(pos, w->alignment));
  if (!ok) return wfail(rep, HATCH_ERR_IO, path, "write failed: %s", strerror(errno));
  uint8_t *chunk = NULL;
  hatch_status st = HATCH_OK;
  for (int64_t i = 0; st == HATCH_OK && i < w->n_tensors; i++) {
    const wtensor *t = &w->tensors[i];
    st = write_tensor_data(w, t, f, &chunk, path, rep);
    if (st == HATCH_OK && !wr_zeros(f, pad_of(t->nbytes, w->alignment)))
      st = wfail(rep, HATCH_ERR_IO, path, "write failed: %s", strerror(errno));
  }
  free(chunk);
  return st;
}

hatch_status hatch_gguf_writer_write_mem(const hatch_gguf_writer *w, uint8_t **out, size_t *size,
                                         hatch_gguf_report *report) {
  if (report) report->message[0] = 0, report->offset = 0;
  if (!w || !out || !size) return HATCH_ERR_INVALID_ARGUMENT;
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  if (!f) return wfail(report, HATCH_ERR_OUT_OF_MEMORY, "memory", "open_memstream failed");
  hatch_status st = write_stream(w, f, "memory", report);
  if (fclose(f) != 0 && st == HATCH_OK) st = wfail(report, HATCH_ERR_OUT_OF_MEMORY, "memory", "out of memory");
  if (st != HATCH_OK) {
    free(buf);
    return st;
  }
  *out = (uint8_t *)buf;
  *size = len;
  return HATCH_OK;
}

/* fsync of the directory holding path, so the rename itself is durable. Best effort. */
static void sync_dir(const char *path) {
  char *copy = strdup(path);
  if (!copy) return;
  int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    fsync(fd);
    close(fd);
  }
  free(copy);
}

hatch_status hatch_gguf_writer_write(const hatch_gguf_writer *w, const char *path, hatch_gguf_report *report) {
  if (report) report->message[0] = 0, report->offset = 0;
  if (!w || !path || !path[0]) return HATCH_ERR_INVALID_ARGUMENT;
  size_t plen = strlen(path);
  char *tmp = malloc(plen + 16);
  if (!tmp) return HATCH_ERR_OUT_OF_MEMORY;
  memcpy(tmp, path, plen);
  memcpy(tmp + plen, ".tmp.XXXXXX", 12);
  hatch_status st = HATCH_OK;
  int fd = mkstemp(tmp);
  if (fd < 0) {
    st = wfail(report, errno == ENOENT ? HATCH_ERR_NOT_FOUND : HATCH_ERR_IO, path, "cannot create %s: %s", tmp,
               strerror(errno));
    goto free_tmp;
  }
  fchmod(fd, 0644); /* mkstemp makes 0600; a weights file is for everyone to read */
  FILE *f = fdopen(fd, "wb");
  if (!f) {
    st = wfail(report, HATCH_ERR_IO, path, "fdopen failed: %s", strerror(errno));
    close(fd);
    goto unlink_tmp;
  }
  st = write_stream(w, f, path, report);
  if (st == HATCH_OK && (fflush(f) != 0 || fsync(fd) != 0))
    st = wfail(report, HATCH_ERR_IO, path, "flush failed: %s", strerror(errno));
  if (fclose(f) != 0 && st == HATCH_OK) st = wfail(report, HATCH_ERR_IO, path, "close failed: %s", strerror(errno));
  if (st != HATCH_OK) goto unlink_tmp;
  if (rename(tmp, path) != 0) {
    st = wfail(report, HATCH_ERR_IO, path, "rename from %s failed: %s", tmp, strerror(errno));
    goto unlink_tmp;
  }
  sync_dir(path);
  goto free_tmp;
unlink_tmp:
  unlink(tmp);
free_tmp:
  free(tmp);
  return st;
}
