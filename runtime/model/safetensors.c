/* safetensors reader: header validation over a byte range (mmapped file or caller memory), the
 * name-sorted tensor table, sharded checkpoints through model.safetensors.index.json, and float32
 * conversion. Contract and limits in hatch/safetensors.h. */
#include "hatch/safetensors.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hatch/types.h"

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "safetensors data is little-endian; hatch reads it in place");

static const struct {
  const char *name;
  size_t size;
} k_dtypes[HATCH_ST_DTYPE_COUNT] = {
    [HATCH_ST_BOOL] = {"BOOL", 1},       [HATCH_ST_U8] = {"U8", 1},   [HATCH_ST_I8] = {"I8", 1},
    [HATCH_ST_F8_E5M2] = {"F8_E5M2", 1}, [HATCH_ST_F8_E4M3] = {"F8_E4M3", 1},
    [HATCH_ST_F8_E8M0] = {"F8_E8M0", 1}, [HATCH_ST_I16] = {"I16", 2}, [HATCH_ST_U16] = {"U16", 2},
    [HATCH_ST_F16] = {"F16", 2},         [HATCH_ST_BF16] = {"BF16", 2}, [HATCH_ST_I32] = {"I32", 4},
    [HATCH_ST_U32] = {"U32", 4},         [HATCH_ST_F32] = {"F32", 4}, [HATCH_ST_F64] = {"F64", 8},
    [HATCH_ST_I64] = {"I64", 8},         [HATCH_ST_U64] = {"U64", 8}, [HATCH_ST_C64] = {"C64", 8},
};

const char *hatch_st_dtype_name(hatch_st_dtype d) {
  return (unsigned)d < HATCH_ST_DTYPE_COUNT ? k_dtypes[d].name : "?";
}
size_t hatch_st_dtype_size(hatch_st_dtype d) { return (unsigned)d < HATCH_ST_DTYPE_COUNT ? k_dtypes[d].size : 0; }
bool hatch_st_dtype_is_float(hatch_st_dtype d) {
  return d == HATCH_ST_BF16 || d == HATCH_ST_F16 || d == HATCH_ST_F32;
}

struct hatch_st_file {
  char *name;            /* as opened, for messages */
  const uint8_t *bytes;  /* (size) the whole file */
  size_t size;
  void *map;             /* mmap of bytes when opened from a path, else NULL */
  hatch_st_tensor *tensors; /* (n) sorted by name */
  int64_t n;
  const char **meta;     /* (2 * n_meta) key, value pairs */
  int64_t n_meta;
  char *strings;         /* arena holding every name, key and value */
};

struct hatch_st_checkpoint {
  hatch_st_file **files; /* (n_files) */
  int n_files;
  const hatch_st_tensor **all; /* (n_all) sorted by name, pointing into files */
  int64_t n_all;
  uint64_t data_bytes;
};

static hatch_status fail(hatch_st_report *r, hatch_status st, const char *fmt, ...) {
  if (r) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->message, sizeof(r->message), fmt, ap);
    va_end(ap);
  }
  return st;
}

static void report_clear(hatch_st_report *r) {
  if (r) r->message[0] = '\0';
}

/* A JSON number that is an exact non-negative integer <= 2^53 (doubles are exact up to there). */
static bool json_u64(const cJSON *n, uint64_t *out) {
  if (!cJSON_IsNumber(n)) return false;
  double d = n->valuedouble;
  if (!(d >= 0.0 && d <= 9007199254740992.0)) return false;
  uint64_t u = (uint64_t)d;
  if ((double)u != d) return false;
  *out = u;
  return true;
}

static int cmp_tensor_name(const void *a, const void *b) {
  return strcmp(((const hatch_st_tensor *)a)->name, ((const hatch_st_tensor *)b)->name);
}

static int cmp_tensor_offset(const void *a, const void *b) {
  const hatch_st_tensor *x = *(const hatch_st_tensor *const *)a, *y = *(const hatch_st_tensor *const *)b;
  if (x->file_offset != y->file_offset) return x->file_offset < y->file_offset ? -1 : 1;
  if (x->nbytes != y->nbytes) return x->nbytes < y->nbytes ? -1 : 1;
  return 0;
}

static char *arena_put(char **cursor, const char *s) {
  size_t len = strlen(s) + 1;
  char *dst = *cursor;
  memcpy(dst, s, len);
  *cursor += len;
  return dst;
}

/* Fills t from one header entry; offsets relative to the data section (data_size bytes). */
static hatch_status parse_entry(const hatch_st_file *f, const cJSON *e, uint64_t data_base, uint64_t data_size,
                                hatch_st_tensor *t, hatch_st_report *rep) {
  const char *fn = f->name, *nm = e->string;
  if (!cJSON_IsObject(e)) return fail(rep, HATCH_ERR_CORRUPT, "%s: tensor '%s': entry is not a JSON object", fn, nm);
  const cJSON *dt = cJSON_GetObjectItemCaseSensitive(e, "dtype");
  const cJSON *sh = cJSON_GetObjectItemCaseSensitive(e, "shape");
  const cJSON *off = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
  if (!cJSON_IsString(dt)) return fail(rep, HATCH_ERR_CORRUPT, "%s: tensor '%s': no \"dtype\" string", fn, nm);
  t->dtype = HATCH_ST_DTYPE_COUNT;
  for (int d = 0; d < HATCH_ST_DTYPE_COUNT; d++)
    if (strcmp(dt->valuestring, k_dtypes[d].name) == 0) t->dtype = (hatch_st_dtype)d;
  if (t->dtype == HATCH_ST_DTYPE_COUNT)
    return fail(rep, HATCH_ERR_UNSUPPORTED, "%s: tensor '%s': unknown dtype '%.32s'", fn, nm, dt->valuestring);
  if (!cJSON_IsArray(sh)) return fail(rep, HATCH_ERR_CORRUPT, "%s: tensor '%s': no \"shape\" array", fn, nm);
  int n_dims = cJSON_GetArraySize(sh);
  if (n_dims > HATCH_ST_MAX_DIMS)
    return fail(rep, HATCH_ERR_TOO_LARGE, "%s: tensor '%s': %d dims, hatch reads at most %d", fn, nm, n_dims,
                HATCH_ST_MAX_DIMS);
  t->n_dims = n_dims;
  uint64_t elems = 1;
  int i = 0;
  for (const cJSON *d = sh->child; d; d = d->next, i++) {
    uint64_t v;
    if (!json_u64(d, &v))
      return fail(rep, HATCH_ERR_CORRUPT, "%s: tensor '%s': shape[%d] is not an integer >= 0", fn, nm, i);
    if (__builtin_mul_overflow(elems, v, &elems) || elems > (uint64_t)INT64_MAX)
      return fail(rep, HATCH_ERR_CORRUPT, "%s: tensor '%s': shape overflows at dim %d", fn, nm, i);
    t->shape[i] = (int64_t)v;
  }
  for (; i < HATCH_ST_MAX_DIMS; i++) t->shape[i] = 1;
  uint64_t need;
  if (__builtin_mul_overflow(elems, (uint64_t)k_dtypes[t->dtype].size, &need))
    return fail(rep, HATCH_ERR_CORRUPT, "%s: tensor '%s': shape x dtype size overflows", fn, nm);
  uint64_t b, en;
  if (!cJSON_IsArray(off) || cJSON_GetArraySize(off) != 2 || !json_u64(off->child, &b) ||
      !json_u64(off->child->next, &en))
    return fail(rep, HATCH_ERR_CORRUPT, "%s: tensor '%s': \"data_offsets\" is not [begin, end] integers", fn, nm);
  if (en < b)
    return fail(rep, HATCH_ERR_CORRUPT, "%s: tensor '%s': data_offsets [%llu, %llu] end before begin", fn, nm,
                (unsigned long long)b, (unsigned long long)en);
  if (en > data_size)
    return fail(rep, HATCH_ERR_CORRUPT,
                "%s: tensor '%s': data_offsets [%llu, %llu] end past the data section (%llu bytes at file byte %llu; "
                "truncated file?)",
                fn, nm, (unsigned long long)b, (unsigned long long)en, (unsigned long long)data_size,
                (unsigned long long)data_base);
  if (en - b != need)
    return fail(rep, HATCH_ERR_CORRUPT,
                "%s: tensor '%s': data_offsets [%llu, %llu] hold %llu bytes, shape of %llu %s elements needs %llu", fn,
                nm, (unsigned long long)b, (unsigned long long)en, (unsigned long long)(en - b),
                (unsigned long long)elems, k_dtypes[t->dtype].name, (unsigned long long)need);
  t->n_elems = (int64_t)elems;
  t->nbytes = need;
  t->file_offset = data_base + b;
  t->data = f->bytes + t->file_offset;
  t->file = f->name;
  return HATCH_OK;
}

/* Tensors must tile the data section exactly: sorted by offset, each begins where the last ended. */
static hatch_status check_layout(const hatch_st_file *f, uint64_t data_base, uint64_t data_size,
                                 hatch_st_report *rep) {
  if (f->n == 0) {
    if (data_size != 0)
      return fail(rep, HATCH_ERR_CORRUPT, "%s: no tensors but %llu data bytes after the header", f->name,
                  (unsigned long long)data_size);
    return HATCH_OK;
  }
  const hatch_st_tensor **by_off = malloc((size_t)f->n * sizeof(*by_off));
  if (!by_off) return fail(rep, HATCH_ERR_OUT_OF_MEMORY, "%s: out of memory sorting %lld tensors", f->name, (long long)f->n);
  for (int64_t i = 0; i < f->n; i++) by_off[i] = &f->tensors[i];
  qsort(by_off, (size_t)f->n, sizeof(*by_off), cmp_tensor_offset);
  hatch_status st = HATCH_OK;
  uint64_t pos = data_base;
  const hatch_st_tensor *prev = NULL;
  for (int64_t i = 0; i < f->n && st == HATCH_OK; i++) {
    const hatch_st_tensor *t = by_off[i];
    if (t->file_offset < pos)
      st = fail(rep, HATCH_ERR_CORRUPT, "%s: tensor '%s' (file bytes %llu..%llu) overlaps tensor '%s' (file bytes %llu..%llu)",
                f->name, t->name, (unsigned long long)t->file_offset, (unsigned long long)(t->file_offset + t->nbytes),
                prev->name, (unsigned long long)prev->file_offset, (unsigned long long)(prev->file_offset + prev->nbytes));
    else if (t->file_offset > pos)
      st = fail(rep, HATCH_ERR_CORRUPT, "%s: file bytes %llu..%llu before tensor '%s' belong to no tensor", f->name,
                (unsigned long long)pos, (unsigned long long)t->file_offset, t->name);
    pos = t->file_offset + t->nbytes;
    prev = t;
  }
  if (st == HATCH_OK && pos != data_base + data_size)
    st = fail(rep, HATCH_ERR_CORRUPT, "%s: file bytes %llu..%llu after the last tensor belong to no tensor", f->name,
              (unsigned long long)pos, (unsigned long long)(data_base + data_size));
  free(by_off);
  return st;
}

/* Validates the header of f->bytes and builds the tensor table. */
static hatch_status parse_header(hatch_st_file *f, hatch_st_report *rep) {
  const char *fn = f->name;
  if (f->size < 8)
    return fail(rep, HATCH_ERR_CORRUPT, "%s: %zu bytes, shorter than the 8-byte header length", fn, f->size);
  uint64_t n;
  memcpy(&n, f->bytes, 8);
  if (n > HATCH_ST_MAX_HEADER)
    return fail(rep, HATCH_ERR_TOO_LARGE, "%s: header length %llu over the %llu-byte limit", fn, (unsigned long long)n,
                (unsigned long long)HATCH_ST_MAX_HEADER);
  if (n > f->size - 8)
    return fail(rep, HATCH_ERR_CORRUPT, "%s: header length %llu runs past the end of the file (%zu bytes; truncated?)", fn,
                (unsigned long long)n, f->size);
  const char *hdr = (const char *)f->bytes + 8;
  if (n < 2 || hdr[0] != '{')
    return fail(rep, HATCH_ERR_CORRUPT, "%s: header (file bytes 8..%llu) does not start with '{'", fn,
                (unsigned long long)(8 + n));
  const char *end = NULL;
  cJSON *root = cJSON_ParseWithLengthOpts(hdr, (size_t)n, &end, 0);
  if (!root) {
    size_t at = end && end >= hdr && end <= hdr + n ? (size_t)(end - hdr) : 0; /* cJSON sets end to the error */
    return fail(rep, HATCH_ERR_CORRUPT, "%s: header JSON is malformed near file byte %zu", fn, 8 + at);
  }
  hatch_status st = HATCH_OK;
  for (const char *p = end; p < hdr + n; p++)
    if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
      st = fail(rep, HATCH_ERR_CORRUPT, "%s: bytes after the header JSON at file byte %zu", fn, (size_t)(p - hdr) + 8);
      goto out_json;
    }
  if (!cJSON_IsObject(root)) {
    st = fail(rep, HATCH_ERR_CORRUPT, "%s: header is not a JSON object", fn);
    goto out_json;
  }
  /* Pass 1: count entries and the arena they need; check names and __metadata__. */
  size_t arena = 0;
  int64_t n_t = 0, n_meta = 0;
  const cJSON *meta = NULL;
  for (const cJSON *e = root->child; e; e = e->next) {
    size_t len = strlen(e->string);
    if (strcmp(e->string, "__metadata__") == 0) {
      if (meta) {
        st = fail(rep, HATCH_ERR_CORRUPT, "%s: __metadata__ appears twice", fn);
        goto out_json;
      }
      meta = e;
      if (!cJSON_IsObject(e) && !cJSON_IsNull(e)) {
        st = fail(rep, HATCH_ERR_CORRUPT, "%s: __metadata__ is not an object", fn);
        goto out_json;
      }
      for (const cJSON *m = e->child; m; m = m->next) {
        if (!cJSON_IsString(m)) {
          st = fail(rep, HATCH_ERR_CORRUPT, "%s: __metadata__['%.64s'] is not a string", fn, m->string);
          goto out_json;
        }
        arena += strlen(m->string) + strlen(m->valuestring) + 2;
        n_meta++;
      }
      continue;
    }
    if (len == 0 || len > HATCH_ST_MAX_NAME) {
      st = fail(rep, len ? HATCH_ERR_TOO_LARGE : HATCH_ERR_CORRUPT, "%s: tensor name '%.64s...' is %zu bytes (1..%d allowed)",
                fn, e->string, len, HATCH_ST_MAX_NAME);
      goto out_json;
    }
    arena += len + 1;
    n_t++;
  }
  f->strings = malloc(arena + 1);
  f->tensors = calloc((size_t)n_t + 1, sizeof(*f->tensors));
  f->meta = calloc((size_t)n_meta * 2 + 1, sizeof(*f->meta));
  if (!f->strings || !f->tensors || !f->meta) {
    st = fail(rep, HATCH_ERR_OUT_OF_MEMORY, "%s: out of memory for %lld tensors", fn, (long long)n_t);
    goto out_json;
  }
  /* Pass 2: fill the table. */
  char *cur = f->strings;
  uint64_t data_base = 8 + n, data_size = f->size - 8 - n;
  for (const cJSON *e = root->child; e; e = e->next) {
    if (e == meta) continue;
    hatch_st_tensor *t = &f->tensors[f->n];
    t->name = arena_put(&cur, e->string);
    st = parse_entry(f, e, data_base, data_size, t, rep);
    if (st != HATCH_OK) goto out_json;
    f->n++;
  }
  if (meta)
    for (const cJSON *m = meta->child; m; m = m->next) {
      f->meta[2 * f->n_meta] = arena_put(&cur, m->string);
      f->meta[2 * f->n_meta + 1] = arena_put(&cur, m->valuestring);
      f->n_meta++;
    }
  qsort(f->tensors, (size_t)f->n, sizeof(*f->tensors), cmp_tensor_name);
  for (int64_t i = 1; i < f->n; i++)
    if (strcmp(f->tensors[i - 1].name, f->tensors[i].name) == 0) {
      st = fail(rep, HATCH_ERR_CORRUPT, "%s: tensor '%s' appears twice in the header", fn, f->tensors[i].name);
      goto out_json;
    }
  st = check_layout(f, data_base, data_size, rep);
out_json:
  cJSON_Delete(root);
  return st;
}

static hatch_st_file *file_new(const char *name) {
  hatch_st_file *f = calloc(1, sizeof(*f));
  if (!f) return NULL;
  f->name = strdup(name);
  if (!f->name) {
    free(f);
    return NULL;
  }
  return f;
}

void hatch_st_file_close(hatch_st_file *f) {
  if (!f) return;
  if (f->map) munmap(f->map, f->size);
  free(f->tensors);
  free(f->meta);
  free(f->strings);
  free(f->name);
  free(f);
}

hatch_status hatch_st_file_parse(const void *bytes, size_t size, const char *name, hatch_st_file **out,
                                 hatch_st_report *rep) {
  report_clear(rep);
  if (!out || (!bytes && size)) return fail(rep, HATCH_ERR_INVALID_ARGUMENT, "hatch_st_file_parse: NULL argument");
  *out = NULL;
  hatch_st_file *f = file_new(name ? name : "<memory>");
  if (!f) return fail(rep, HATCH_ERR_OUT_OF_MEMORY, "%s: out of memory", name ? name : "<memory>");
  f->bytes = bytes;
  f->size = size;
  hatch_status st = parse_header(f, rep);
  if (st != HATCH_OK) {
    hatch_st_file_close(f);
    return st;
  }
  *out = f;
  return HATCH_OK;
}

hatch_status hatch_st_file_open(const char *path, hatch_st_file **out, hatch_st_report *rep) {
  report_clear(rep);
  if (!path || !out) return fail(rep, HATCH_ERR_INVALID_ARGUMENT, "hatch_st_file_open: NULL argument");
  *out = NULL;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return fail(rep, errno == ENOENT ? HATCH_ERR_NOT_FOUND : HATCH_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
  hatch_status st = HATCH_OK;
  hatch_st_file *f = NULL;
  struct stat sb;
  if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
    st = fail(rep, HATCH_ERR_IO, "%s: not a regular file", path);
    goto out_fd;
  }
  if ((uint64_t)sb.st_size > SIZE_MAX) {
    st = fail(rep, HATCH_ERR_TOO_LARGE, "%s: file too large to map", path);
    goto out_fd;
  }
  f = file_new(path);
  if (!f) {
    st = fail(rep, HATCH_ERR_OUT_OF_MEMORY, "%s: out of memory", path);
    goto out_fd;
  }
  f->size = (size_t)sb.st_size;
  if (f->size > 0) {
    void *m = mmap(NULL, f->size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (m == MAP_FAILED) {
      st = fail(rep, HATCH_ERR_IO, "%s: mmap of %zu bytes failed: %s", path, f->size, strerror(errno));
      goto out_file;
    }
    f->map = m;
    f->bytes = m;
  } else {
    f->bytes = (const uint8_t *)"";
  }
  st = parse_header(f, rep);
  if (st != HATCH_OK) goto out_file;
  *out = f;
  goto out_fd;
out_file:
  hatch_st_file_close(f);
out_fd:
  close(fd);
  return st;
}

const char *hatch_st_file_name(const hatch_st_file *f) { return f ? f->name : NULL; }
int64_t hatch_st_file_count(const hatch_st_file *f) { return f ? f->n : 0; }
const hatch_st_tensor *hatch_st_file_tensor(const hatch_st_file *f, int64_t i) {
  return f && i >= 0 && i < f->n ? &f->tensors[i] : NULL;
}
const hatch_st_tensor *hatch_st_file_find(const hatch_st_file *f, const char *name) {
  if (!f || !name) return NULL;
  hatch_st_tensor key = {.name = name};
  return bsearch(&key, f->tensors, (size_t)f->n, sizeof(key), cmp_tensor_name);
}
int64_t hatch_st_file_metadata_count(const hatch_st_file *f) { return f ? f->n_meta : 0; }
bool hatch_st_file_metadata_at(const hatch_st_file *f, int64_t i, const char **key, const char **value) {
  if (!f || i < 0 || i >= f->n_meta) return false;
  if (key) *key = f->meta[2 * i];
  if (value) *value = f->meta[2 * i + 1];
  return true;
}
const char *hatch_st_file_metadata_get(const hatch_st_file *f, const char *key) {
  for (int64_t i = 0; f && key && i < f->n_meta; i++)
    if (strcmp(f->meta[2 * i], key) == 0) return f->meta[2 * i + 1];
  return NULL;
}

/* ---- checkpoints ------------------------------------------------------------------------------ */

void hatch_st_checkpoint_close(hatch_st_checkpoint *c) {
  if (!c) return;
  for (int i = 0; i < c->n_files; i++) hatch_st_file_close(c->files[i]);
  free(c->files);
  free(c->all);
  free(c);
}

static int cmp_tensor_ptr_name(const void *a, const void *b) {
  return strcmp((*(const hatch_st_tensor *const *)a)->name, (*(const hatch_st_tensor *const *)b)->name);
}

hatch_status hatch_st_checkpoint_open_file(const char *path, hatch_st_checkpoint **out, hatch_st_report *rep) {
  report_clear(rep);
  if (!path || !out) return fail(rep, HATCH_ERR_INVALID_ARGUMENT, "hatch_st_checkpoint_open_file: NULL argument");
  *out = NULL;
  hatch_st_checkpoint *c = calloc(1, sizeof(*c));
  if (c) c->files = calloc(1, sizeof(*c->files));
  if (!c || !c->files) {
    hatch_st_checkpoint_close(c);
    return fail(rep, HATCH_ERR_OUT_OF_MEMORY, "%s: out of memory", path);
  }
  hatch_status st = hatch_st_file_open(path, &c->files[0], rep);
  if (st != HATCH_OK) {
    hatch_st_checkpoint_close(c);
    return st;
  }
  c->n_files = 1;
  c->n_all = c->files[0]->n;
  c->all = malloc(((size_t)c->n_all + 1) * sizeof(*c->all));
  if (!c->all) {
    hatch_st_checkpoint_close(c);
    return fail(rep, HATCH_ERR_OUT_OF_MEMORY, "%s: out of memory", path);
  }
  for (int64_t i = 0; i < c->n_all; i++) {
    c->all[i] = &c->files[0]->tensors[i];
    c->data_bytes += c->all[i]->nbytes;
  }
  *out = c;
  return HATCH_OK;
}

/* Reads a whole small file (<= limit bytes) into a NUL-terminated buffer. */
static hatch_status read_small_file(const char *path, size_t limit, char **out, size_t *len, hatch_st_report *rep) {
  FILE *fp = fopen(path, "rb");
  if (!fp) return fail(rep, errno == ENOENT ? HATCH_ERR_NOT_FOUND : HATCH_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
  hatch_status st = HATCH_OK;
  char *buf = NULL;
  long size = fseek(fp, 0, SEEK_END) == 0 ? ftell(fp) : -1;
  if (size < 0 || fseek(fp, 0, SEEK_SET) != 0) st = fail(rep, HATCH_ERR_IO, "%s: cannot seek", path);
  else if ((unsigned long)size > limit) st = fail(rep, HATCH_ERR_TOO_LARGE, "%s: over the %zu-byte limit", path, limit);
  else if (!(buf = malloc((size_t)size + 1))) st = fail(rep, HATCH_ERR_OUT_OF_MEMORY, "%s: out of memory", path);
  else if (fread(buf, 1, (size_t)size, fp) != (size_t)size) st = fail(rep, HATCH_ERR_IO, "%s: read error", path);
  fclose(fp);
  if (st != HATCH_OK) {
    free(buf);
    return st;
  }
  buf[size] = '\0';
  *out = buf;
  *len = (size_t)size;
  return HATCH_OK;
}

typedef struct index_entry {
  const char *tensor; /* weight_map key */
  int shard;          /* index into the sorted shard names */
} index_entry;

static int cmp_entry(const void *a, const void *b) {
  return strcmp(((const index_entry *)a)->tensor, ((const index_entry *)b)->tensor);
}
static int cmp_str(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

static bool plain_file_name(const char *s) {
  return s[0] && !strchr(s, '/') && !strchr(s, '\\') && strcmp(s, ".") != 0 && strcmp(s, "..") != 0 &&
         strlen(s) <= 255;
}

hatch_status hatch_st_checkpoint_open_index(const char *index_path, hatch_st_checkpoint **out, hatch_st_report *rep) {
  report_clear(rep);
  if (!index_path || !out) return fail(rep, HATCH_ERR_INVALID_ARGUMENT, "hatch_st_checkpoint_open_index: NULL argument");
  *out = NULL;
  const char *ip = index_path;
  char *text = NULL, *path = NULL;
  const char **shards = NULL;
  index_entry *entries = NULL;
  size_t len = 0;
  hatch_status st = read_small_file(ip, HATCH_ST_MAX_INDEX, &text, &len, rep);
  if (st != HATCH_OK) return st;
  cJSON *root = cJSON_ParseWithLength(text, len);
  hatch_st_checkpoint *c = calloc(1, sizeof(*c));
  if (!c) {
    st = fail(rep, HATCH_ERR_OUT_OF_MEMORY, "%s: out of memory", ip);
    goto out;
  }
  const cJSON *wm = cJSON_GetObjectItemCaseSensitive(root, "weight_map");
  if (!root || !cJSON_IsObject(root)) {
    st = fail(rep, HATCH_ERR_CORRUPT, "%s: malformed JSON or not a JSON object", ip);
    goto out;
  }
  if (!cJSON_IsObject(wm)) {
    st = fail(rep, HATCH_ERR_CORRUPT, "%s: no \"weight_map\" object", ip);
    goto out;
  }
  int n_wm = cJSON_GetArraySize(wm);
  shards = malloc(((size_t)n_wm + 1) * sizeof(*shards));
  entries = malloc(((size_t)n_wm + 1) * sizeof(*entries));
  if (!shards || !entries) {
    st = fail(rep, HATCH_ERR_OUT_OF_MEMORY, "%s: out of memory", ip);
    goto out;
  }
  int n_sh = 0;
  for (const cJSON *e = wm->child; e; e = e->next) {
    if (!cJSON_IsString(e) || !plain_file_name(e->valuestring)) {
      st = fail(rep, HATCH_ERR_CORRUPT, "%s: weight_map['%.512s'] is not a plain file name in the index's directory", ip,
                e->string);
      goto out;
    }
    shards[n_sh++] = e->valuestring;
  }
  qsort(shards, (size_t)n_sh, sizeof(*shards), cmp_str);
  int n_unique = 0;
  for (int i = 0; i < n_sh; i++)
    if (n_unique == 0 || strcmp(shards[n_unique - 1], shards[i]) != 0) shards[n_unique++] = shards[i];
  if (n_unique > HATCH_ST_MAX_SHARDS) {
    st = fail(rep, HATCH_ERR_TOO_LARGE, "%s: %d shards, more than %d", ip, n_unique, HATCH_ST_MAX_SHARDS);
    goto out;
  }
  int i_e = 0;
  for (const cJSON *e = wm->child; e; e = e->next, i_e++) {
    const char **s = bsearch(&e->valuestring, shards, (size_t)n_unique, sizeof(*shards), cmp_str);
    entries[i_e] = (index_entry){e->string, (int)(s - shards)};
  }
  qsort(entries, (size_t)n_wm, sizeof(*entries), cmp_entry);
  for (int i = 1; i < n_wm; i++)
    if (strcmp(entries[i - 1].tensor, entries[i].tensor) == 0) {
      st = fail(rep, HATCH_ERR_CORRUPT, "%s: weight_map lists tensor '%.512s' twice", ip, entries[i].tensor);
      goto out;
    }
  /* Open every shard once, next to the index. */
  const char *slash = strrchr(ip, '/');
  size_t dir_len = slash ? (size_t)(slash - ip) + 1 : 0;
  path = malloc(dir_len + 256 + 1);
  c->files = calloc((size_t)n_unique + 1, sizeof(*c->files));
  if (!path || !c->files) {
    st = fail(rep, HATCH_ERR_OUT_OF_MEMORY, "%s: out of memory", ip);
    goto out;
  }
  memcpy(path, ip, dir_len);
  for (int s = 0; s < n_unique; s++) {
    strcpy(path + dir_len, shards[s]);
    st = hatch_st_file_open(path, &c->files[s], rep);
    if (st != HATCH_OK) {
      if (st == HATCH_ERR_NOT_FOUND && rep) {
        char inner[sizeof(rep->message)];
        memcpy(inner, rep->message, sizeof(inner));
        fail(rep, st, "%s: shard '%s' is missing (%.700s)", ip, shards[s], inner);
      }
      goto out;
    }
    c->n_files++;
    /* Every tensor of the shard is listed with this shard. */
    const hatch_st_file *f = c->files[s];
    for (int64_t i = 0; i < f->n; i++) {
      index_entry key = {f->tensors[i].name, 0};
      const index_entry *hit = bsearch(&key, entries, (size_t)n_wm, sizeof(key), cmp_entry);
      if (!hit || hit->shard != s) {
        st = fail(rep, HATCH_ERR_CORRUPT, "%s: shard '%s' holds tensor '%s' which the weight_map %s", ip, shards[s],
                  f->tensors[i].name, hit ? "assigns to another shard" : "does not list");
        goto out;
      }
    }
  }
  c->all = malloc(((size_t)n_wm + 1) * sizeof(*c->all));
  if (!c->all) {
    st = fail(rep, HATCH_ERR_OUT_OF_MEMORY, "%s: out of memory", ip);
    goto out;
  }
  for (int i = 0; i < n_wm; i++) {
    const hatch_st_tensor *t = hatch_st_file_find(c->files[entries[i].shard], entries[i].tensor);
    if (!t) {
      st = fail(rep, HATCH_ERR_NOT_FOUND, "%s: weight_map names tensor '%.512s' in shard '%s', which has no such tensor",
                ip, entries[i].tensor, shards[entries[i].shard]);
      goto out;
    }
    c->all[i] = t;
    c->data_bytes += t->nbytes;
  }
  c->n_all = n_wm;
  *out = c;
  c = NULL;
out:
  hatch_st_checkpoint_close(c);
  free(path);
  free(entries);
  free(shards);
  cJSON_Delete(root);
  free(text);
  return st;
}

hatch_status hatch_st_checkpoint_open_dir(const char *dir, hatch_st_checkpoint **out, hatch_st_report *rep) {
  report_clear(rep);
  if (!dir || !out) return fail(rep, HATCH_ERR_INVALID_ARGUMENT, "hatch_st_checkpoint_open_dir: NULL argument");
  *out = NULL;
  size_t n = strlen(dir);
  char *path = malloc(n + sizeof("/model.safetensors.index.json"));
  if (!path) return fail(rep, HATCH_ERR_OUT_OF_MEMORY, "%s: out of memory", dir);
  struct stat sb;
  hatch_status st;
  sprintf(path, "%s/model.safetensors", dir);
  if (stat(path, &sb) == 0) {
    st = hatch_st_checkpoint_open_file(path, out, rep);
  } else {
    sprintf(path, "%s/model.safetensors.index.json", dir);
    if (stat(path, &sb) == 0)
      st = hatch_st_checkpoint_open_index(path, out, rep);
    else
      st = fail(rep, HATCH_ERR_NOT_FOUND, "%s: neither model.safetensors nor model.safetensors.index.json", dir);
  }
  free(path);
  return st;
}

int hatch_st_checkpoint_n_files(const hatch_st_checkpoint *c) { return c ? c->n_files : 0; }
const hatch_st_file *hatch_st_checkpoint_file(const hatch_st_checkpoint *c, int i) {
  return c && i >= 0 && i < c->n_files ? c->files[i] : NULL;
}
int64_t hatch_st_checkpoint_count(const hatch_st_checkpoint *c) { return c ? c->n_all : 0; }
const hatch_st_tensor *hatch_st_checkpoint_tensor(const hatch_st_checkpoint *c, int64_t i) {
  return c && i >= 0 && i < c->n_all ? c->all[i] : NULL;
}
const hatch_st_tensor *hatch_st_checkpoint_find(const hatch_st_checkpoint *c, const char *name) {
  if (!c || !name) return NULL;
  hatch_st_tensor key = {.name = name};
  const hatch_st_tensor *kp = &key;
  const hatch_st_tensor **hit = bsearch(&kp, c->all, (size_t)c->n_all, sizeof(*c->all), cmp_tensor_ptr_name);
  return hit ? *hit : NULL;
}
uint64_t hatch_st_checkpoint_data_bytes(const hatch_st_checkpoint *c) { return c ? c->data_bytes : 0; }

/* ---- conversion ------------------------------------------------------------------------------- */

hatch_status hatch_st_tensor_to_f32(const hatch_st_tensor *t, int64_t first, int64_t n, float *dst) {
  if (!t || (!dst && n > 0)) return HATCH_ERR_INVALID_ARGUMENT;
  if (!hatch_st_dtype_is_float(t->dtype)) return HATCH_ERR_TYPE;
  if (first < 0 || n < 0 || first > t->n_elems || n > t->n_elems - first) return HATCH_ERR_INVALID_ARGUMENT;
  const uint8_t *src = t->data + (size_t)first * k_dtypes[t->dtype].size;
  switch (t->dtype) {
  case HATCH_ST_F32:
    memcpy(dst, src, (size_t)n * 4);
    break;
  case HATCH_ST_BF16:
    for (int64_t i = 0; i < n; i++) {
      uint16_t h;
      memcpy(&h, src + 2 * i, 2);
      uint32_t bits = (uint32_t)h << 16; /* bf16 is the top half of a float32: exact */
      memcpy(&dst[i], &bits, 4);
    }
    break;
  default: /* F16 */
    for (int64_t i = 0; i < n; i++) {
      uint16_t h;
      memcpy(&h, src + 2 * i, 2);
      dst[i] = hatch_fp16_to_fp32_inline(h);
    }
    break;
  }
  return HATCH_OK;
}

hatch_status hatch_st_tensor_row_to_f32(const hatch_st_tensor *t, int64_t row, float *dst, int64_t dst_len) {
  if (!t) return HATCH_ERR_INVALID_ARGUMENT;
  int64_t row_len = t->n_dims > 0 ? t->shape[t->n_dims - 1] : 1;
  int64_t n_rows = row_len > 0 ? t->n_elems / row_len : 0;
  if (row < 0 || row >= n_rows || dst_len < row_len) return HATCH_ERR_INVALID_ARGUMENT;
  return hatch_st_tensor_to_f32(t, row * row_len, row_len, dst);
}
