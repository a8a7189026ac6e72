/* GGUF type tables and the read-side accessors: KV lookup, typed and coercing getters, array
 * elements and tensors. Everything here reads a file gguf_read.c already validated. */
#include "gguf_internal.h"

static const struct {
  const char *name;
  int64_t block_elems;
  uint64_t block_bytes;
} ggml_types[HATCH_GGML_TYPE_COUNT] = {
    [HATCH_GGML_TYPE_F32] = {"F32", 1, 4},          [HATCH_GGML_TYPE_F16] = {"F16", 1, 2},
    [HATCH_GGML_TYPE_Q4_0] = {"Q4_0", 32, 18},      [HATCH_GGML_TYPE_Q4_1] = {"Q4_1", 32, 20},
    [HATCH_GGML_TYPE_Q5_0] = {"Q5_0", 32, 22},      [HATCH_GGML_TYPE_Q5_1] = {"Q5_1", 32, 24},
    [HATCH_GGML_TYPE_Q8_0] = {"Q8_0", 32, 34},      [HATCH_GGML_TYPE_Q8_1] = {"Q8_1", 32, 36},
    [HATCH_GGML_TYPE_Q2_K] = {"Q2_K", 256, 84},     [HATCH_GGML_TYPE_Q3_K] = {"Q3_K", 256, 110},
    [HATCH_GGML_TYPE_Q4_K] = {"Q4_K", 256, 144},    [HATCH_GGML_TYPE_Q5_K] = {"Q5_K", 256, 176},
    [HATCH_GGML_TYPE_Q6_K] = {"Q6_K", 256, 210},    [HATCH_GGML_TYPE_Q8_K] = {"Q8_K", 256, 292},
    [HATCH_GGML_TYPE_IQ2_XXS] = {"IQ2_XXS", 256, 66}, [HATCH_GGML_TYPE_IQ2_XS] = {"IQ2_XS", 256, 74},
    [HATCH_GGML_TYPE_IQ3_XXS] = {"IQ3_XXS", 256, 98}, [HATCH_GGML_TYPE_IQ1_S] = {"IQ1_S", 256, 50},
    [HATCH_GGML_TYPE_IQ4_NL] = {"IQ4_NL", 32, 18},  [HATCH_GGML_TYPE_IQ3_S] = {"IQ3_S", 256, 110},
    [HATCH_GGML_TYPE_IQ2_S] = {"IQ2_S", 256, 82},   [HATCH_GGML_TYPE_IQ4_XS] = {"IQ4_XS", 256, 136},
    [HATCH_GGML_TYPE_I8] = {"I8", 1, 1},            [HATCH_GGML_TYPE_I16] = {"I16", 1, 2},
    [HATCH_GGML_TYPE_I32] = {"I32", 1, 4},          [HATCH_GGML_TYPE_I64] = {"I64", 1, 8},
    [HATCH_GGML_TYPE_F64] = {"F64", 1, 8},          [HATCH_GGML_TYPE_IQ1_M] = {"IQ1_M", 256, 56},
    [HATCH_GGML_TYPE_BF16] = {"BF16", 1, 2},        [HATCH_GGML_TYPE_TQ1_0] = {"TQ1_0", 256, 54},
    [HATCH_GGML_TYPE_TQ2_0] = {"TQ2_0", 256, 66},   [HATCH_GGML_TYPE_MXFP4] = {"MXFP4", 32, 17},
};

const char *hatch_ggml_type_name(uint32_t type) {
  return type < HATCH_GGML_TYPE_COUNT ? ggml_types[type].name : NULL;
}

bool hatch_ggml_type_block(uint32_t type, int64_t *block_elems, uint64_t *block_bytes) {
  if (type >= HATCH_GGML_TYPE_COUNT || !ggml_types[type].name) return false;
  if (block_elems) *block_elems = ggml_types[type].block_elems;
  if (block_bytes) *block_bytes = ggml_types[type].block_bytes;
  return true;
}

hatch_status hatch_ggml_to_hatch_type(uint32_t type, hatch_type *out) {
  switch (type) {
    case HATCH_GGML_TYPE_F32: *out = HATCH_TYPE_F32; return HATCH_OK;
    case HATCH_GGML_TYPE_F16: *out = HATCH_TYPE_F16; return HATCH_OK;
    case HATCH_GGML_TYPE_Q8_0: *out = HATCH_TYPE_Q8_0; return HATCH_OK;
    case HATCH_GGML_TYPE_I32: *out = HATCH_TYPE_I32; return HATCH_OK;
    default: return HATCH_ERR_TYPE;
  }
}

static const char *const value_type_names[HATCH_GGUF_TYPE_COUNT] = {
    "uint8", "int8", "uint16", "int16", "uint32", "int32", "float32",
    "bool",  "string", "array", "uint64", "int64", "float64",
};

const char *hatch_gguf_type_name(hatch_gguf_type type) {
  return (unsigned)type < HATCH_GGUF_TYPE_COUNT ? value_type_names[type] : "?";
}

uint64_t gguf_type_size(hatch_gguf_type t) {
  switch (t) {
    case HATCH_GGUF_TYPE_UINT8: case HATCH_GGUF_TYPE_INT8: case HATCH_GGUF_TYPE_BOOL: return 1;
    case HATCH_GGUF_TYPE_UINT16: case HATCH_GGUF_TYPE_INT16: return 2;
    case HATCH_GGUF_TYPE_UINT32: case HATCH_GGUF_TYPE_INT32: case HATCH_GGUF_TYPE_FLOAT32: return 4;
    case HATCH_GGUF_TYPE_UINT64: case HATCH_GGUF_TYPE_INT64: case HATCH_GGUF_TYPE_FLOAT64: return 8;
    default: return 0;
  }
}

uint32_t hatch_gguf_version(const hatch_gguf *g) { return g ? g->version : 0; }
uint32_t hatch_gguf_alignment(const hatch_gguf *g) { return g ? g->alignment : 0; }
uint64_t hatch_gguf_file_size(const hatch_gguf *g) { return g ? g->size : 0; }
uint64_t hatch_gguf_data_offset(const hatch_gguf *g) { return g ? g->data_offset : 0; }
const void *hatch_gguf_bytes(const hatch_gguf *g) { return g ? g->base : NULL; }
int64_t hatch_gguf_kv_count(const hatch_gguf *g) { return g ? g->n_kv : 0; }
int64_t hatch_gguf_tensor_count(const hatch_gguf *g) { return g ? g->n_tensors : 0; }

int64_t hatch_gguf_find_key(const hatch_gguf *g, const char *key) {
  if (!g || !key || !g->kv_index) return -1;
  for (uint64_t h = gguf_hash(key) & (g->kv_index_size - 1);; h = (h + 1) & (g->kv_index_size - 1)) {
    int64_t i = g->kv_index[h];
    if (i < 0) return -1;
    if (strcmp(g->kv[i].key, key) == 0) return i;
  }
}

const char *hatch_gguf_kv_key(const hatch_gguf *g, int64_t i) {
  return g && i >= 0 && i < g->n_kv ? g->kv[i].key : NULL;
}

/* A scalar of type t at p, into the matching member of v. */
static void read_scalar(hatch_gguf_type t, const uint8_t *p, hatch_gguf_value *v) {
  switch (t) {
    case HATCH_GGUF_TYPE_UINT8: v->u = p[0]; break;
    case HATCH_GGUF_TYPE_INT8: v->i = (int8_t)p[0]; break;
    case HATCH_GGUF_TYPE_UINT16: { uint16_t x; memcpy(&x, p, 2); v->u = x; break; }
    case HATCH_GGUF_TYPE_INT16: { int16_t x; memcpy(&x, p, 2); v->i = x; break; }
    case HATCH_GGUF_TYPE_UINT32: v->u = gguf_rd_u32(p); break;
    case HATCH_GGUF_TYPE_INT32: v->i = (int32_t)gguf_rd_u32(p); break;
    case HATCH_GGUF_TYPE_UINT64: v->u = gguf_rd_u64(p); break;
    case HATCH_GGUF_TYPE_INT64: v->i = (int64_t)gguf_rd_u64(p); break;
    case HATCH_GGUF_TYPE_FLOAT32: { float x; memcpy(&x, p, 4); v->f = x; break; }
    case HATCH_GGUF_TYPE_FLOAT64: memcpy(&v->f, p, 8); break;
    case HATCH_GGUF_TYPE_BOOL: v->b = p[0] != 0; break;
    case HATCH_GGUF_TYPE_STRING: v->s.len = gguf_rd_u64(p); v->s.data = (const char *)p + 8; break;
    default: break;
  }
}

hatch_status hatch_gguf_kv_value(const hatch_gguf *g, int64_t i, hatch_gguf_value *out) {
  if (!g || !out || i < 0 || i >= g->n_kv) return HATCH_ERR_INVALID_ARGUMENT;
  const gguf_kv *kv = &g->kv[i];
  memset(out, 0, sizeof(*out));
  out->type = kv->type;
  if (kv->type == HATCH_GGUF_TYPE_ARRAY) {
    out->arr_type = kv->arr_type;
    out->arr_len = kv->arr_len;
  } else {
    read_scalar(kv->type, g->base + kv->value_off, out);
  }
  return HATCH_OK;
}

static hatch_status lookup(const hatch_gguf *g, const char *key, hatch_gguf_type want, hatch_gguf_value *v) {
  if (!g || !key) return HATCH_ERR_INVALID_ARGUMENT;
  int64_t i = hatch_gguf_find_key(g, key);
  if (i < 0) return HATCH_ERR_NOT_FOUND;
  hatch_gguf_kv_value(g, i, v);
  return (want == HATCH_GGUF_TYPE_COUNT || v->type == want) ? HATCH_OK : HATCH_ERR_TYPE;
}

#define GETTER(fn, ctype, gtype, member)                                          \
  hatch_status fn(const hatch_gguf *g, const char *key, ctype *out) {            \
    hatch_gguf_value v;                                                          \
    hatch_status st = lookup(g, key, gtype, &v);                                 \
    if (st == HATCH_OK && out) *out = (ctype)v.member;                           \
    return st;                                                                   \
  }
GETTER(hatch_gguf_get_u32, uint32_t, HATCH_GGUF_TYPE_UINT32, u)
GETTER(hatch_gguf_get_i32, int32_t, HATCH_GGUF_TYPE_INT32, i)
GETTER(hatch_gguf_get_u64, uint64_t, HATCH_GGUF_TYPE_UINT64, u)
GETTER(hatch_gguf_get_i64, int64_t, HATCH_GGUF_TYPE_INT64, i)
GETTER(hatch_gguf_get_f32, float, HATCH_GGUF_TYPE_FLOAT32, f)
GETTER(hatch_gguf_get_bool, bool, HATCH_GGUF_TYPE_BOOL, b)
GETTER(hatch_gguf_get_str, hatch_gguf_str, HATCH_GGUF_TYPE_STRING, s)
#undef GETTER

static bool is_unsigned(hatch_gguf_type t) {
  return t == HATCH_GGUF_TYPE_UINT8 || t == HATCH_GGUF_TYPE_UINT16 || t == HATCH_GGUF_TYPE_UINT32 ||
         t == HATCH_GGUF_TYPE_UINT64;
}
static bool is_signed(hatch_gguf_type t) {
  return t == HATCH_GGUF_TYPE_INT8 || t == HATCH_GGUF_TYPE_INT16 || t == HATCH_GGUF_TYPE_INT32 ||
         t == HATCH_GGUF_TYPE_INT64;
}

/* An integer value as int64 (HATCH_ERR_TOO_LARGE above INT64_MAX), HATCH_ERR_TYPE otherwise. */
static hatch_status as_int(const hatch_gguf_value *v, hatch_gguf_type t, int64_t *out) {
  if (is_signed(t)) {
    *out = v->i;
    return HATCH_OK;
  }
  if (!is_unsigned(t)) return HATCH_ERR_TYPE;
  if (v->u > (uint64_t)INT64_MAX) return HATCH_ERR_TOO_LARGE;
  *out = (int64_t)v->u;
  return HATCH_OK;
}

hatch_status hatch_gguf_get_int(const hatch_gguf *g, const char *key, int64_t lo, int64_t hi, int64_t *out) {
  hatch_gguf_value v;
  hatch_status st = lookup(g, key, HATCH_GGUF_TYPE_COUNT, &v);
  int64_t x = 0;
  if (st == HATCH_OK) st = as_int(&v, v.type, &x);
  if (st == HATCH_OK && (x < lo || x > hi)) st = HATCH_ERR_TOO_LARGE;
  if (st == HATCH_OK && out) *out = x;
  return st;
}

hatch_status hatch_gguf_get_float(const hatch_gguf *g, const char *key, double *out) {
  hatch_gguf_value v;
  hatch_status st = lookup(g, key, HATCH_GGUF_TYPE_COUNT, &v);
  if (st != HATCH_OK) return st;
  double x;
  if (v.type == HATCH_GGUF_TYPE_FLOAT32 || v.type == HATCH_GGUF_TYPE_FLOAT64) x = v.f;
  else if (is_signed(v.type)) x = (double)v.i;
  else if (is_unsigned(v.type)) x = (double)v.u;
  else return HATCH_ERR_TYPE;
  if (out) *out = x;
  return HATCH_OK;
}

hatch_status hatch_gguf_get_arr(const hatch_gguf *g, const char *key, int64_t *kv_index, hatch_gguf_type *elem_type,
                                uint64_t *len) {
  hatch_gguf_value v;
  hatch_status st = lookup(g, key, HATCH_GGUF_TYPE_ARRAY, &v);
  if (st != HATCH_OK) return st;
  if (kv_index) *kv_index = hatch_gguf_find_key(g, key);
  if (elem_type) *elem_type = v.arr_type;
  if (len) *len = v.arr_len;
  return HATCH_OK;
}

/* Element j of array KV i, or NULL for a bad index / non-array. */
static const gguf_kv *arr_kv(const hatch_gguf *g, int64_t i, uint64_t j) {
  if (!g || i < 0 || i >= g->n_kv) return NULL;
  const gguf_kv *kv = &g->kv[i];
  return kv->type == HATCH_GGUF_TYPE_ARRAY && j < kv->arr_len ? kv : NULL;
}

static hatch_status arr_elem(const hatch_gguf *g, int64_t i, uint64_t j, hatch_gguf_value *v) {
  const gguf_kv *kv = arr_kv(g, i, j);
  if (!kv) return HATCH_ERR_INVALID_ARGUMENT;
  memset(v, 0, sizeof(*v));
  v->type = kv->arr_type;
  const uint8_t *p = kv->arr_type == HATCH_GGUF_TYPE_STRING ? g->base + g->str_offs[kv->str_first + j]
                                                              : g->base + kv->value_off + j * gguf_type_size(kv->arr_type);
  read_scalar(kv->arr_type, p, v);
  return HATCH_OK;
}

hatch_status hatch_gguf_arr_int(const hatch_gguf *g, int64_t i, uint64_t j, int64_t *out) {
  hatch_gguf_value v;
  hatch_status st = arr_elem(g, i, j, &v);
  if (st != HATCH_OK) return st;
  int64_t x;
  if (v.type == HATCH_GGUF_TYPE_BOOL) x = v.b;
  else if ((st = as_int(&v, v.type, &x)) != HATCH_OK) return st;
  if (out) *out = x;
  return HATCH_OK;
}

hatch_status hatch_gguf_arr_float(const hatch_gguf *g, int64_t i, uint64_t j, double *out) {
  hatch_gguf_value v;
  hatch_status st = arr_elem(g, i, j, &v);
  if (st != HATCH_OK) return st;
  if (v.type != HATCH_GGUF_TYPE_FLOAT32 && v.type != HATCH_GGUF_TYPE_FLOAT64) return HATCH_ERR_TYPE;
  if (out) *out = v.f;
  return HATCH_OK;
}

hatch_status hatch_gguf_arr_str(const hatch_gguf *g, int64_t i, uint64_t j, hatch_gguf_str *out) {
  hatch_gguf_value v;
  hatch_status st = arr_elem(g, i, j, &v);
  if (st != HATCH_OK) return st;
  if (v.type != HATCH_GGUF_TYPE_STRING) return HATCH_ERR_TYPE;
  if (out) *out = v.s;
  return HATCH_OK;
}

const void *hatch_gguf_arr_data(const hatch_gguf *g, int64_t i) {
  if (!g || i < 0 || i >= g->n_kv) return NULL;
  const gguf_kv *kv = &g->kv[i];
  if (kv->type != HATCH_GGUF_TYPE_ARRAY || kv->arr_type == HATCH_GGUF_TYPE_STRING) return NULL;
  return g->base + kv->value_off;
}

const hatch_gguf_tensor *hatch_gguf_tensor_at(const hatch_gguf *g, int64_t i) {
  return g && i >= 0 && i < g->n_tensors ? &g->tensors[i] : NULL;
}

const hatch_gguf_tensor *hatch_gguf_find_tensor(const hatch_gguf *g, const char *name) {
  if (!g || !name || !g->tensor_index) return NULL;
  for (uint64_t h = gguf_hash(name) & (g->tensor_index_size - 1);; h = (h + 1) & (g->tensor_index_size - 1)) {
    int64_t i = g->tensor_index[h];
    if (i < 0) return NULL;
    if (strcmp(g->tensors[i].name, name) == 0) return &g->tensors[i];
  }
}
