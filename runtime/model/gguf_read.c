/* GGUF reader: validates a whole file before anything is handed out. Every length and count is
 * checked against the bytes left before it is used, so a hostile header fails fast instead of
 * allocating; arrays grow with what was actually parsed. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gguf_internal.h"

typedef struct parser {
  const uint8_t *p; /* (size) */
  uint64_t size, pos;
  const char *name; /* file name for messages */
  hatch_gguf_report *rep;
  hatch_gguf *g;
  uint64_t kv_cap, t_cap, str_cap, n_str;
  uint64_t *kv_name_off, *t_name_off; /* arena offsets of keys / tensor names, resolved at the end */
  uint64_t *kv_at, *t_at;             /* file offsets where each KV / tensor info starts */
  uint64_t arena_len, arena_cap;
} parser;

static hatch_status fail(parser *ps, hatch_status st, uint64_t off, const char *fmt, ...) {
  if (!ps->rep) return st;
  int n = snprintf(ps->rep->message, sizeof(ps->rep->message), "%s: ", ps->name);
  if (n < 0 || (size_t)n >= sizeof(ps->rep->message)) n = 0;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(ps->rep->message + n, sizeof(ps->rep->message) - (size_t)n, fmt, ap);
  va_end(ap);
  ps->rep->offset = off;
  return st;
}

/* Printable copy of a name for messages: at most 80 bytes, non-printable bytes as '?'. */
static const char *quote(char dst[96], const char *s, uint64_t len) {
  uint64_t n = len > 80 ? 80 : len, k = 0;
  for (uint64_t i = 0; i < n; i++) dst[k++] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
  if (len > n) dst[k++] = '.', dst[k++] = '.', dst[k++] = '.';
  dst[k] = 0;
  return dst;
}

static uint64_t left(const parser *ps) { return ps->size - ps->pos; }

static hatch_status need(parser *ps, uint64_t n, const char *what, const char *who) {
  if (n <= left(ps)) return HATCH_OK;
  return fail(ps, HATCH_ERR_CORRUPT, ps->pos, "%s%s at offset %llu needs %llu bytes, the file ends after %llu (size %llu)",
              who, what, (unsigned long long)ps->pos, (unsigned long long)n, (unsigned long long)left(ps),
              (unsigned long long)ps->size);
}

static hatch_status read_str(parser *ps, const char *who, const char *what, hatch_gguf_str *out) {
  uint64_t at = ps->pos;
  hatch_status st = need(ps, 8, what, who);
  if (st != HATCH_OK) return st;
  uint64_t len = gguf_rd_u64(ps->p + ps->pos);
  ps->pos += 8;
  if (len > left(ps))
    return fail(ps, HATCH_ERR_CORRUPT, at, "%s%s at offset %llu: length %llu runs past the end of the file (size %llu)",
                who, what, (unsigned long long)at, (unsigned long long)len, (unsigned long long)ps->size);
  out->data = (const char *)ps->p + ps->pos;
  out->len = len;
  ps->pos += len;
  return HATCH_OK;
}


/* Room for entry i of an entry array and its two parallel offset arrays (same capacity). */
static bool grow3(void **arr, size_t elem, uint64_t **name_off, uint64_t **at, uint64_t *cap, uint64_t i) {
  if (i < *cap) return true;
  uint64_t c = *cap, c1 = c, c2 = c;
  void *a = *name_off, *b = *at;
  if (!hatch_gguf_grow(&a, &c1, i + 1, 8)) return false;
  *name_off = a;
  if (!hatch_gguf_grow(&b, &c2, i + 1, 8)) return false;
  *at = b;
  return hatch_gguf_grow(arr, cap, i + 1, elem);
}

/* Copies a key or tensor name into the arena; rejects empty names and embedded NULs. */
static hatch_status arena_add(parser *ps, hatch_gguf_str s, uint64_t at, const char *kind, uint64_t *off) {
  char q[96];
  if (s.len == 0) return fail(ps, HATCH_ERR_CORRUPT, at, "%s at offset %llu is empty", kind, (unsigned long long)at);
  if (memchr(s.data, 0, (size_t)s.len))
    return fail(ps, HATCH_ERR_CORRUPT, at, "%s '%s' at offset %llu contains a NUL byte", kind, quote(q, s.data, s.len),
                (unsigned long long)at);
  if (!hatch_gguf_grow((void **)&ps->g->names, &ps->arena_cap, ps->arena_len + s.len + 1, 1))
    return fail(ps, HATCH_ERR_OUT_OF_MEMORY, at, "out of memory");
  memcpy(ps->g->names + ps->arena_len, s.data, (size_t)s.len);
  ps->g->names[ps->arena_len + s.len] = 0;
  *off = ps->arena_len;
  ps->arena_len += s.len + 1;
  return HATCH_OK;
}

static hatch_status parse_kv(parser *ps, int64_t i) {
  hatch_gguf *g = ps->g;
  char who[160], q[96];
  uint64_t at = ps->pos;
  snprintf(who, sizeof(who), "KV %lld: ", (long long)i);
  hatch_gguf_str key;
  hatch_status st = read_str(ps, who, "key", &key);
  if (st != HATCH_OK) return st;
  if (!grow3((void **)&g->kv, sizeof(gguf_kv), &ps->kv_name_off, &ps->kv_at, &ps->kv_cap, (uint64_t)i))
    return fail(ps, HATCH_ERR_OUT_OF_MEMORY, at, "out of memory");
  st = arena_add(ps, key, at, "key", &ps->kv_name_off[i]);
  if (st != HATCH_OK) return st;
  ps->kv_at[i] = at;
  snprintf(who, sizeof(who), "KV '%s': ", quote(q, key.data, key.len));

  gguf_kv *kv = &g->kv[i];
  memset(kv, 0, sizeof(*kv));
  if ((st = need(ps, 4, "value type", who)) != HATCH_OK) return st;
  uint32_t type = gguf_rd_u32(ps->p + ps->pos);
  if (type >= HATCH_GGUF_TYPE_COUNT)
    return fail(ps, HATCH_ERR_CORRUPT, ps->pos, "%sunknown value type %u at offset %llu", who, type,
                (unsigned long long)ps->pos);
  ps->pos += 4;
  kv->type = (hatch_gguf_type)type;
  if (type == HATCH_GGUF_TYPE_STRING) {
    kv->value_off = ps->pos;
    hatch_gguf_str s;
    return read_str(ps, who, "string value", &s);
  }
  if (type != HATCH_GGUF_TYPE_ARRAY) {
    kv->value_off = ps->pos;
    if ((st = need(ps, gguf_type_size(kv->type), "value", who)) != HATCH_OK) return st;
    ps->pos += gguf_type_size(kv->type);
    return HATCH_OK;
  }
  uint64_t arr_at = ps->pos;
  if ((st = need(ps, 12, "array header", who)) != HATCH_OK) return st;
  uint32_t et = gguf_rd_u32(ps->p + ps->pos);
  uint64_t n = gguf_rd_u64(ps->p + ps->pos + 4);
  ps->pos += 12;
  if (et == HATCH_GGUF_TYPE_ARRAY)
    return fail(ps, HATCH_ERR_CORRUPT, arr_at, "%snested arrays are not supported (offset %llu)", who,
                (unsigned long long)arr_at);
  if (et >= HATCH_GGUF_TYPE_COUNT)
    return fail(ps, HATCH_ERR_CORRUPT, arr_at, "%sunknown array element type %u at offset %llu", who, et,
                (unsigned long long)arr_at);
  kv->arr_type = (hatch_gguf_type)et;
  kv->arr_len = n;
  kv->value_off = ps->pos;
  uint64_t esz = et == HATCH_GGUF_TYPE_STRING ? 8 : gguf_type_size(kv->arr_type);
  if (n > left(ps) / esz)
    return fail(ps, HATCH_ERR_CORRUPT, arr_at,
                "%sarray of %llu %s elements at offset %llu cannot fit in the %llu bytes left (file size %llu)", who,
                (unsigned long long)n, hatch_gguf_type_name(kv->arr_type), (unsigned long long)arr_at,
                (unsigned long long)left(ps), (unsigned long long)ps->size);
  if (et != HATCH_GGUF_TYPE_STRING) {
    ps->pos += n * esz;
    return HATCH_OK;
  }
  kv->str_first = ps->n_str;
  for (uint64_t j = 0; j < n; j++) {
    /* grown per element, so memory follows what actually parsed, not what the count claims */
    if (!hatch_gguf_grow((void **)&g->str_offs, &ps->str_cap, ps->n_str + 1, 8))
      return fail(ps, HATCH_ERR_OUT_OF_MEMORY, arr_at, "out of memory");
    g->str_offs[ps->n_str++] = ps->pos;
    if (left(ps) >= 8 && gguf_rd_u64(ps->p + ps->pos) <= left(ps) - 8) { /* fast path: no message to build */
      ps->pos += 8 + gguf_rd_u64(ps->p + ps->pos);
      continue;
    }
    char what[48];
    snprintf(what, sizeof(what), "element %llu", (unsigned long long)j);
    hatch_gguf_str s;
    return read_str(ps, who, what, &s); /* fails, with the message */
  }
  return HATCH_OK;
}

static hatch_status parse_tensor_info(parser *ps, int64_t i) {
  hatch_gguf *g = ps->g;
  char who[160], q[96];
  uint64_t at = ps->pos;
  snprintf(who, sizeof(who), "tensor %lld: ", (long long)i);
  hatch_gguf_str name;
  hatch_status st = read_str(ps, who, "name", &name);
  if (st != HATCH_OK) return st;
  if (!grow3((void **)&g->tensors, sizeof(hatch_gguf_tensor), &ps->t_name_off, &ps->t_at, &ps->t_cap, (uint64_t)i))
    return fail(ps, HATCH_ERR_OUT_OF_MEMORY, at, "out of memory");
  if ((st = arena_add(ps, name, at, "tensor name", &ps->t_name_off[i])) != HATCH_OK) return st;
  ps->t_at[i] = at;
  snprintf(who, sizeof(who), "tensor '%s': ", quote(q, name.data, name.len));

  hatch_gguf_tensor *t = &g->tensors[i];
  memset(t, 0, sizeof(*t));
  if ((st = need(ps, 4, "n_dims", who)) != HATCH_OK) return st;
  uint32_t n_dims = gguf_rd_u32(ps->p + ps->pos);
  if (n_dims > HATCH_GGUF_MAX_DIMS)
    return fail(ps, HATCH_ERR_CORRUPT, ps->pos, "%s%u dimensions at offset %llu (at most 4)", who, n_dims,
                (unsigned long long)ps->pos);
  ps->pos += 4;
  t->n_dims = (int)n_dims;
  if ((st = need(ps, 8ull * n_dims + 12, "shape, type and offset", who)) != HATCH_OK) return st;
  int64_t n_elems = 1;
  for (int d = 0; d < 4; d++) {
    uint64_t ne = 1;
    if (d < (int)n_dims) {
      ne = gguf_rd_u64(ps->p + ps->pos);
      if (ne == 0 || ne > (uint64_t)INT64_MAX)
        return fail(ps, HATCH_ERR_CORRUPT, ps->pos, "%sdimension %d has %llu elements at offset %llu", who, d,
                    (unsigned long long)ne, (unsigned long long)ps->pos);
      if ((uint64_t)n_elems > (uint64_t)INT64_MAX / ne)
        return fail(ps, HATCH_ERR_CORRUPT, ps->pos, "%selement count overflows at dimension %d (offset %llu)", who, d,
                    (unsigned long long)ps->pos);
      ps->pos += 8;
    }
    t->ne[d] = (int64_t)ne;
    n_elems *= (int64_t)ne;
  }
  t->n_elems = n_elems;
  uint64_t type_at = ps->pos;
  t->type = gguf_rd_u32(ps->p + ps->pos);
  ps->pos += 4;
  int64_t blk;
  uint64_t bsz;
  if (!hatch_ggml_type_block(t->type, &blk, &bsz))
    return fail(ps, HATCH_ERR_UNSUPPORTED, type_at, "%sunknown ggml type %u at offset %llu", who, t->type,
                (unsigned long long)type_at);
  if (t->ne[0] % blk != 0)
    return fail(ps, HATCH_ERR_CORRUPT, type_at, "%srow of %lld elements is not a whole number of %s blocks of %lld",
                who, (long long)t->ne[0], hatch_ggml_type_name(t->type), (long long)blk);
  uint64_t n_blocks = (uint64_t)n_elems / (uint64_t)blk;
  if (n_blocks > UINT64_MAX / bsz)
    return fail(ps, HATCH_ERR_CORRUPT, type_at, "%sbyte size overflows", who);
  t->nbytes = n_blocks * bsz;
  t->offset = gguf_rd_u64(ps->p + ps->pos); /* relative until the data section is known */
  ps->pos += 8;
  return HATCH_OK;
}

static uint64_t pow2_at_least(uint64_t n) {
  uint64_t s = 16;
  while (s < n * 2) s *= 2;
  return s;
}

/* Builds an index of names; a repeated name is reported through *dup_a / *dup_b. */
static bool build_index(const char *(*name_of)(const hatch_gguf *, int64_t), const hatch_gguf *g, int64_t n,
                        int64_t **index, uint64_t *size, int64_t *dup_a, int64_t *dup_b) {
  *size = pow2_at_least((uint64_t)n);
  *index = malloc((size_t)*size * sizeof(int64_t));
  if (!*index) return false;
  for (uint64_t k = 0; k < *size; k++) (*index)[k] = -1;
  *dup_a = *dup_b = -1;
  for (int64_t i = 0; i < n; i++) {
    const char *s = name_of(g, i);
    uint64_t h = gguf_hash(s) & (*size - 1);
    while ((*index)[h] >= 0) {
      if (strcmp(name_of(g, (*index)[h]), s) == 0) {
        *dup_a = (*index)[h];
        *dup_b = i;
        return true;
      }
      h = (h + 1) & (*size - 1);
    }
    (*index)[h] = i;
  }
  return true;
}

static const char *kv_name(const hatch_gguf *g, int64_t i) { return g->kv[i].key; }
static const char *tensor_name(const hatch_gguf *g, int64_t i) { return g->tensors[i].name; }

static hatch_status check_alignment(parser *ps) {
  hatch_gguf *g = ps->g;
  g->alignment = HATCH_GGUF_DEFAULT_ALIGNMENT;
  int64_t i = hatch_gguf_find_key(g, "general.alignment");
  if (i < 0) return HATCH_OK;
  if (g->kv[i].type != HATCH_GGUF_TYPE_UINT32)
    return fail(ps, HATCH_ERR_CORRUPT, ps->kv_at[i], "KV 'general.alignment' has type %s, expected uint32",
                hatch_gguf_type_name(g->kv[i].type));
  uint32_t a = gguf_rd_u32(g->base + g->kv[i].value_off);
  if (a == 0 || (a & (a - 1)) != 0)
    return fail(ps, HATCH_ERR_CORRUPT, g->kv[i].value_off, "KV 'general.alignment' = %u is not a power of two", a);
  g->alignment = a;
  return HATCH_OK;
}

typedef struct span {
  uint64_t offset;
  int64_t index;
} span;
static int by_offset(const void *a, const void *b) {
  const span *x = a, *y = b;
  return x->offset < y->offset ? -1 : x->offset > y->offset;
}

static hatch_status check_tensor_data(parser *ps) {
  hatch_gguf *g = ps->g;
  uint64_t pad = (g->alignment - ps->pos % g->alignment) % g->alignment;
  g->data_offset = ps->pos + pad;
  if (g->n_tensors == 0) return HATCH_OK;
  if (g->data_offset > ps->size)
    return fail(ps, HATCH_ERR_CORRUPT, ps->pos, "data section would start at offset %llu, past the end of the file (size %llu)",
                (unsigned long long)g->data_offset, (unsigned long long)ps->size);
  uint64_t avail = ps->size - g->data_offset;
  char q[96];
  for (int64_t i = 0; i < g->n_tensors; i++) {
    hatch_gguf_tensor *t = &g->tensors[i];
    uint64_t rel = t->offset;
    if (rel % g->alignment != 0)
      return fail(ps, HATCH_ERR_CORRUPT, ps->t_at[i], "tensor '%s': data offset %llu is not a multiple of the alignment %u",
                  quote(q, t->name, strlen(t->name)), (unsigned long long)rel, g->alignment);
    if (rel > avail || t->nbytes > avail - rel) {
      uint64_t abs_off;
      if (__builtin_add_overflow(rel, g->data_offset, &abs_off)) abs_off = rel;
      return fail(ps, HATCH_ERR_CORRUPT, ps->t_at[i],
                  "tensor '%s': data [offset %llu, %llu bytes) runs past the end of the file (size %llu)",
                  quote(q, t->name, strlen(t->name)), (unsigned long long)abs_off, (unsigned long long)t->nbytes,
                  (unsigned long long)ps->size);
    }
    t->offset = g->data_offset + rel;
    t->data = g->base + t->offset;
  }
  span *order = malloc((size_t)g->n_tensors * sizeof(span));
  if (!order) return fail(ps, HATCH_ERR_OUT_OF_MEMORY, 0, "out of memory");
  for (int64_t i = 0; i < g->n_tensors; i++) order[i] = (span){g->tensors[i].offset, i};
  qsort(order, (size_t)g->n_tensors, sizeof(span), by_offset);
  hatch_status st = HATCH_OK;
  for (int64_t k = 1; k < g->n_tensors && st == HATCH_OK; k++) {
    const hatch_gguf_tensor *a = &g->tensors[order[k - 1].index], *b = &g->tensors[order[k].index];
    if (a->offset + a->nbytes > b->offset) {
      char q2[96];
      st = fail(ps, HATCH_ERR_CORRUPT, b->offset,
                "tensors '%s' [offset %llu, %llu bytes) and '%s' [offset %llu, %llu bytes) overlap",
                quote(q, a->name, strlen(a->name)), (unsigned long long)a->offset, (unsigned long long)a->nbytes,
                quote(q2, b->name, strlen(b->name)), (unsigned long long)b->offset, (unsigned long long)b->nbytes);
    }
  }
  free(order);
  return st;
}

static hatch_status parse(parser *ps) {
  hatch_gguf *g = ps->g;
  hatch_status st;
  if (ps->size < 4 || memcmp(ps->p, "GGUF", 4) != 0)
    return fail(ps, HATCH_ERR_CORRUPT, 0, "not a GGUF file (no \"GGUF\" magic at offset 0)");
  if ((st = need(ps, 24, "header", "")) != HATCH_OK) return st;
  uint32_t version = gguf_rd_u32(ps->p + 4);
  if (version == 0x02000000u || version == 0x03000000u)
    return fail(ps, HATCH_ERR_UNSUPPORTED, 4, "big-endian GGUF files are not supported");
  if (version != 2 && version != 3)
    return fail(ps, HATCH_ERR_UNSUPPORTED, 4, "GGUF version %u is not supported (2 and 3 are)", version);
  g->version = version;
  uint64_t n_tensors = gguf_rd_u64(ps->p + 8), n_kv = gguf_rd_u64(ps->p + 16);
  ps->pos = 24;
  /* A KV takes at least 13 bytes (key length, type, 1-byte value), a tensor info 24. */
  if (n_kv > left(ps) / 13 || n_tensors > left(ps) / 24 || n_kv * 13 + n_tensors * 24 > left(ps))
    return fail(ps, HATCH_ERR_CORRUPT, 8, "header claims %llu tensors and %llu KVs: cannot fit in a file of %llu bytes",
                (unsigned long long)n_tensors, (unsigned long long)n_kv, (unsigned long long)ps->size);
  for (uint64_t i = 0; i < n_kv; i++) {
    if ((st = parse_kv(ps, (int64_t)i)) != HATCH_OK) return st;
    g->n_kv = (int64_t)i + 1;
  }
  for (int64_t i = 0; i < g->n_kv; i++) g->kv[i].key = g->names + ps->kv_name_off[i];
  int64_t da, db;
  if (!build_index(kv_name, g, g->n_kv, &g->kv_index, &g->kv_index_size, &da, &db))
    return fail(ps, HATCH_ERR_OUT_OF_MEMORY, 0, "out of memory");
  if (da >= 0) {
    char q[96];
    return fail(ps, HATCH_ERR_CORRUPT, ps->kv_at[db], "duplicate key '%s' (KV %lld at offset %llu repeats KV %lld)",
                quote(q, g->kv[db].key, strlen(g->kv[db].key)), (long long)db, (unsigned long long)ps->kv_at[db],
                (long long)da);
  }
  if ((st = check_alignment(ps)) != HATCH_OK) return st;
  for (uint64_t i = 0; i < n_tensors; i++) {
    if ((st = parse_tensor_info(ps, (int64_t)i)) != HATCH_OK) return st;
    g->n_tensors = (int64_t)i + 1;
  }
  /* Tensor names grew the arena: re-point the keys too. */
  for (int64_t i = 0; i < g->n_kv; i++) g->kv[i].key = g->names + ps->kv_name_off[i];
  for (int64_t i = 0; i < g->n_tensors; i++) g->tensors[i].name = g->names + ps->t_name_off[i];
  if (!build_index(tensor_name, g, g->n_tensors, &g->tensor_index, &g->tensor_index_size, &da, &db))
    return fail(ps, HATCH_ERR_OUT_OF_MEMORY, 0, "out of memory");
  if (da >= 0) {
    char q[96];
    return fail(ps, HATCH_ERR_CORRUPT, ps->t_at[db], "duplicate tensor name '%s' (tensor %lld at offset %llu repeats tensor %lld)",
                quote(q, g->tensors[db].name, strlen(g->tensors[db].name)), (long long)db,
                (unsigned long long)ps->t_at[db], (long long)da);
  }
  return check_tensor_data(ps);
}

static hatch_status parse_into(hatch_gguf *g, const char *name, hatch_gguf **out, hatch_gguf_report *rep) {
  parser ps = {.p = g->base, .size = g->size, .name = name ? name : "gguf", .rep = rep, .g = g};
  hatch_status st = parse(&ps);
  free(ps.kv_name_off);
  free(ps.t_name_off);
  free(ps.kv_at);
  free(ps.t_at);
  if (st != HATCH_OK) {
    hatch_gguf_close(g);
    return st;
  }
  *out = g;
  return HATCH_OK;
}

hatch_status hatch_gguf_parse(const void *data, size_t size, const char *name, hatch_gguf **out,
                              hatch_gguf_report *report) {
  if (report) report->message[0] = 0, report->offset = 0;
  if (!out || (!data && size)) return HATCH_ERR_INVALID_ARGUMENT;
  *out = NULL;
  hatch_gguf *g = calloc(1, sizeof(*g));
  if (!g) return HATCH_ERR_OUT_OF_MEMORY;
  g->base = data ? data : (const uint8_t *)"";
  g->size = size;
  return parse_into(g, name, out, report);
}

hatch_status hatch_gguf_open(const char *path, hatch_gguf **out, hatch_gguf_report *report) {
  if (report) report->message[0] = 0, report->offset = 0;
  if (!path || !out) return HATCH_ERR_INVALID_ARGUMENT;
  *out = NULL;
  parser ps = {.name = path, .rep = report};
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    return fail(&ps, e == ENOENT ? HATCH_ERR_NOT_FOUND : HATCH_ERR_IO, 0, "cannot open: %s", strerror(e));
  }
  struct stat sb;
  if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
    close(fd);
    return fail(&ps, HATCH_ERR_IO, 0, "not a regular file");
  }
  if (sb.st_size < 24) {
    close(fd);
    return fail(&ps, HATCH_ERR_CORRUPT, 0, "%lld bytes is too short for a GGUF header (24 bytes)", (long long)sb.st_size);
  }
  if ((uint64_t)sb.st_size > SIZE_MAX) {
    close(fd);
    return fail(&ps, HATCH_ERR_TOO_LARGE, 0, "file of %lld bytes cannot be mapped", (long long)sb.st_size);
  }
  void *map = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
  int e = errno;
  close(fd); /* the mapping keeps the file */
  if (map == MAP_FAILED)
    return fail(&ps, e == ENOMEM ? HATCH_ERR_OUT_OF_MEMORY : HATCH_ERR_IO, 0, "mmap failed: %s", strerror(e));
  hatch_gguf *g = calloc(1, sizeof(*g));
  if (!g) {
    munmap(map, (size_t)sb.st_size);
    return HATCH_ERR_OUT_OF_MEMORY;
  }
  g->map = map;
  g->map_size = (size_t)sb.st_size;
  g->base = map;
  g->size = (uint64_t)sb.st_size;
  return parse_into(g, path, out, report);
}

void hatch_gguf_close(hatch_gguf *g) {
  if (!g) return;
  if (g->map) munmap(g->map, g->map_size);
  free(g->kv);
  free(g->tensors);
  free(g->str_offs);
  free(g->names);
  free(g->kv_index);
  free(g->tensor_index);
  free(g);
}
