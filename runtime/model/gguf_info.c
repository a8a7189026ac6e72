/* `hatch info`: a report on a GGUF file, as text or JSON. The only GGUF code that prints, and only
 * to the FILE* it is given. */
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hatch/gguf.h"
#include "hatch/sha256.h"

#define ARR_SHOWN 8   /* array elements shown before "..." */
#define STR_SHOWN 120 /* string bytes shown before "..." */

typedef struct type_total {
  int64_t count, elems;
  uint64_t bytes;
} type_total;

/* Appends to a bounded buffer; silently truncates. */
static void app(char *buf, size_t cap, size_t *len, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void app(char *buf, size_t cap, size_t *len, const char *fmt, ...) {
  if (*len + 1 >= cap) return;
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf + *len, cap - *len, fmt, ap);
  va_end(ap);
  if (n > 0) *len = *len + (size_t)n < cap ? *len + (size_t)n : cap - 1;
}

/* The shortest decimal that reads back as the same float32 (is_f32) or double: 1e-06, not
 * 9.99999997e-07. */
static void shortest(double x, bool is_f32, char *buf, size_t cap) {
  for (int prec = 6; prec <= 17; prec++) {
    snprintf(buf, cap, "%.*g", prec, x);
    double y = strtod(buf, NULL);
    if (is_f32 ? (float)y == (float)x : y == x) return;
  }
}

static void app_str(char *buf, size_t cap, size_t *len, hatch_gguf_str s) {
  app(buf, cap, len, "\"");
  uint64_t n = s.len > STR_SHOWN ? STR_SHOWN : s.len;
  for (uint64_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s.data[i];
    if (c == '"' || c == '\\') app(buf, cap, len, "\\%c", c);
    else if (c < 0x20 || c == 0x7f) app(buf, cap, len, "\\x%02x", c);
    else app(buf, cap, len, "%c", c);
  }
  app(buf, cap, len, s.len > n ? "\"... (%" PRIu64 " bytes)" : "\"", s.len);
}

static void app_scalar(char *buf, size_t cap, size_t *len, const hatch_gguf_value *v) {
  switch (v->type) {
    case HATCH_GGUF_TYPE_UINT8: case HATCH_GGUF_TYPE_UINT16: case HATCH_GGUF_TYPE_UINT32: case HATCH_GGUF_TYPE_UINT64:
      app(buf, cap, len, "%" PRIu64, v->u); break;
    case HATCH_GGUF_TYPE_INT8: case HATCH_GGUF_TYPE_INT16: case HATCH_GGUF_TYPE_INT32: case HATCH_GGUF_TYPE_INT64:
      app(buf, cap, len, "%" PRId64, v->i); break;
    case HATCH_GGUF_TYPE_FLOAT32: case HATCH_GGUF_TYPE_FLOAT64: {
      char num[40];
      shortest(v->f, v->type == HATCH_GGUF_TYPE_FLOAT32, num, sizeof(num));
      app(buf, cap, len, "%s", num);
      break;
    }
    case HATCH_GGUF_TYPE_BOOL: app(buf, cap, len, "%s", v->b ? "true" : "false"); break;
    case HATCH_GGUF_TYPE_STRING: app_str(buf, cap, len, v->s); break;
    default: app(buf, cap, len, "?"); break;
  }
}

/* One KV's value as text: scalars in full, arrays as their first ARR_SHOWN elements. */
static void format_value(const hatch_gguf *g, int64_t i, char *buf, size_t cap) {
  size_t len = 0;
  buf[0] = 0;
  hatch_gguf_value v;
  if (hatch_gguf_kv_value(g, i, &v) != HATCH_OK) return;
  if (v.type != HATCH_GGUF_TYPE_ARRAY) {
    app_scalar(buf, cap, &len, &v);
    return;
  }
  app(buf, cap, &len, "[");
  const uint8_t *raw = hatch_gguf_arr_data(g, i);
  for (uint64_t j = 0; j < v.arr_len && j < ARR_SHOWN; j++) {
    hatch_gguf_value e = {.type = v.arr_type};
    if (v.arr_type == HATCH_GGUF_TYPE_STRING) {
      hatch_gguf_arr_str(g, i, j, &e.s);
    } else if (v.arr_type == HATCH_GGUF_TYPE_FLOAT32 || v.arr_type == HATCH_GGUF_TYPE_FLOAT64) {
      hatch_gguf_arr_float(g, i, j, &e.f);
    } else if (v.arr_type == HATCH_GGUF_TYPE_UINT64) {
      memcpy(&e.u, raw + 8 * j, 8);
    } else {
      e.type = HATCH_GGUF_TYPE_INT64;
      hatch_gguf_arr_int(g, i, j, &e.i);
      if (v.arr_type == HATCH_GGUF_TYPE_BOOL) e.type = HATCH_GGUF_TYPE_BOOL, e.b = e.i != 0;
    }
    app(buf, cap, &len, j ? ", " : "");
    app_scalar(buf, cap, &len, &e);
  }
  if (v.arr_len > ARR_SHOWN) app(buf, cap, &len, ", ...");
  app(buf, cap, &len, "] (%" PRIu64 " x %s)", v.arr_len, hatch_gguf_type_name(v.arr_type));
}

static void format_shape(const hatch_gguf_tensor *t, char *buf, size_t cap) {
  size_t len = 0;
  app(buf, cap, &len, "[");
  for (int d = 0; d < t->n_dims; d++) app(buf, cap, &len, "%s%" PRId64, d ? ", " : "", t->ne[d]);
  app(buf, cap, &len, "]");
}

static void human_bytes(uint64_t n, char *buf, size_t cap) {
  const char *unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double x = (double)n;
  int u = 0;
  while (x >= 1024 && u < 4) x /= 1024, u++;
  snprintf(buf, cap, u ? "%.1f %s" : "%.0f %s", x, unit[u]);
}

static bool starts_with(const char *s, const char *prefix) { return strncmp(s, prefix, strlen(prefix)) == 0; }

/* Keys describing the model: "<arch>.*", plus "clip.*" for mmproj files. */
static bool is_model_key(const char *key, const char *arch) {
  size_t n = strlen(arch);
  if (strncmp(key, arch, n) == 0 && key[n] == '.') return true;
  return strcmp(arch, "clip") == 0 && starts_with(key, "clip.");
}

static void totals_by_type(const hatch_gguf *g, type_total tot[HATCH_GGML_TYPE_COUNT]) {
  memset(tot, 0, sizeof(type_total) * HATCH_GGML_TYPE_COUNT);
  for (int64_t i = 0; i < hatch_gguf_tensor_count(g); i++) {
    const hatch_gguf_tensor *t = hatch_gguf_tensor_at(g, i);
    tot[t->type].count++;
    tot[t->type].elems += t->n_elems;
    tot[t->type].bytes += t->nbytes;
  }
}

static void print_text(FILE *out, const char *path, const hatch_gguf *g, const char *arch, const char *sha,
                       const hatch_gguf_info_options *o) {
  char val[1024], hb[32];
  human_bytes(hatch_gguf_file_size(g), hb, sizeof(hb));
  fprintf(out, "file:          %s\n", path);
  fprintf(out, "size:          %" PRIu64 " bytes (%s)\n", hatch_gguf_file_size(g), hb);
  if (sha) fprintf(out, "sha256:        %s\n", sha);
  fprintf(out, "gguf:          version %u, alignment %u, data at offset %" PRIu64 "\n", hatch_gguf_version(g),
          hatch_gguf_alignment(g), hatch_gguf_data_offset(g));
  fprintf(out, "architecture:  %s\n", arch);
  int64_t name_kv = hatch_gguf_find_key(g, "general.name");
  if (name_kv >= 0) format_value(g, name_kv, val, sizeof(val));
  fprintf(out, "name:          %s\n", name_kv >= 0 ? val : "(none)");
  fprintf(out, "kv:            %" PRId64 " pairs\n", hatch_gguf_kv_count(g));

  fprintf(out, "\n%s:\n", o->verbose ? "metadata" : "model");
  for (int64_t i = 0; i < hatch_gguf_kv_count(g); i++) {
    const char *key = hatch_gguf_kv_key(g, i);
    if (!o->verbose && !is_model_key(key, arch)) continue;
    format_value(g, i, val, sizeof(val));
    fprintf(out, "  %-44s %s\n", key, val);
  }

  int64_t n_t = hatch_gguf_tensor_count(g);
  int64_t shown = o->verbose ? n_t : (o->max_tensors > 0 ? o->max_tensors : 24);
  if (shown > n_t) shown = n_t;
  int width = 4;
  for (int64_t i = 0; i < shown; i++) {
    int w = (int)strlen(hatch_gguf_tensor_at(g, i)->name);
    width = w > width ? w : width;
  }
  fprintf(out, "\ntensors:       %" PRId64 " (shape in ggml order, ne[0] first)\n", n_t);
  if (shown) fprintf(out, "  %-*s  %-7s %-26s %12s\n", width, "name", "type", "shape", "bytes");
  for (int64_t i = 0; i < shown; i++) {
    const hatch_gguf_tensor *t = hatch_gguf_tensor_at(g, i);
    format_shape(t, val, sizeof(val));
    fprintf(out, "  %-*s  %-7s %-26s %12" PRIu64 "\n", width, t->name, hatch_ggml_type_name(t->type), val, t->nbytes);
  }
  if (shown < n_t) fprintf(out, "  ... %" PRId64 " more tensors (verbose lists all)\n", n_t - shown);

  type_total tot[HATCH_GGML_TYPE_COUNT];
  totals_by_type(g, tot);
  uint64_t bytes = 0;
  int64_t elems = 0;
  fprintf(out, "\nby type:\n");
  for (int t = 0; t < HATCH_GGML_TYPE_COUNT; t++) {
    if (!tot[t].count) continue;
    human_bytes(tot[t].bytes, hb, sizeof(hb));
    fprintf(out, "  %-7s %6" PRId64 " tensors %14" PRId64 " elements %14" PRIu64 " bytes (%s)\n",
            hatch_ggml_type_name((uint32_t)t), tot[t].count, tot[t].elems, tot[t].bytes, hb);
    bytes += tot[t].bytes;
    elems += tot[t].elems;
  }
  human_bytes(bytes, hb, sizeof(hb));
  fprintf(out, "  total   %6" PRId64 " tensors %14" PRId64 " elements %14" PRIu64 " bytes (%s)\n", n_t, elems, bytes, hb);
}

static cJSON *json_scalar(const hatch_gguf_value *v) {
  switch (v->type) {
    case HATCH_GGUF_TYPE_UINT8: case HATCH_GGUF_TYPE_UINT16: case HATCH_GGUF_TYPE_UINT32: case HATCH_GGUF_TYPE_UINT64: {
      if (v->u <= (1ull << 53)) return cJSON_CreateNumber((double)v->u);
      char num[24]; /* past 2^53 a double would round: the exact digits as a raw number */
      snprintf(num, sizeof(num), "%" PRIu64, v->u);
      return cJSON_CreateRaw(num);
    }
    case HATCH_GGUF_TYPE_INT8: case HATCH_GGUF_TYPE_INT16: case HATCH_GGUF_TYPE_INT32: case HATCH_GGUF_TYPE_INT64: {
      if (v->i <= (1ll << 53) && v->i >= -(1ll << 53)) return cJSON_CreateNumber((double)v->i);
      char num[24];
      snprintf(num, sizeof(num), "%" PRId64, v->i);
      return cJSON_CreateRaw(num);
    }
    case HATCH_GGUF_TYPE_FLOAT32: case HATCH_GGUF_TYPE_FLOAT64: {
      char num[40]; /* float32 values as their shortest decimal, so JSON shows 1e-06 */
      shortest(v->f, v->type == HATCH_GGUF_TYPE_FLOAT32, num, sizeof(num));
      return cJSON_CreateNumber(strtod(num, NULL));
    }
    case HATCH_GGUF_TYPE_BOOL: return cJSON_CreateBool(v->b);
    case HATCH_GGUF_TYPE_STRING: {
      char *s = malloc((size_t)v->s.len + 1); /* the file's strings are not NUL-terminated */
      if (!s) return NULL;
      memcpy(s, v->s.data, (size_t)v->s.len);
      s[v->s.len] = 0;
      cJSON *j = cJSON_CreateString(s);
      free(s);
      return j;
    }
    default: return cJSON_CreateNull();
  }
}

/* Arrays up to 16 elements in full; longer ones as {"type", "len", "head": first ARR_SHOWN}. */
static cJSON *json_value(const hatch_gguf *g, int64_t i) {
  hatch_gguf_value v;
  hatch_gguf_kv_value(g, i, &v);
  if (v.type != HATCH_GGUF_TYPE_ARRAY) return json_scalar(&v);
  uint64_t n = v.arr_len <= 16 ? v.arr_len : ARR_SHOWN;
  cJSON *arr = cJSON_CreateArray();
  const uint8_t *raw = hatch_gguf_arr_data(g, i);
  for (uint64_t j = 0; arr && j < n; j++) {
    hatch_gguf_value e = {.type = v.arr_type};
    if (v.arr_type == HATCH_GGUF_TYPE_STRING) hatch_gguf_arr_str(g, i, j, &e.s);
    else if (v.arr_type == HATCH_GGUF_TYPE_FLOAT32 || v.arr_type == HATCH_GGUF_TYPE_FLOAT64) hatch_gguf_arr_float(g, i, j, &e.f);
    else if (v.arr_type == HATCH_GGUF_TYPE_UINT64) memcpy(&e.u, raw + 8 * j, 8);
    else {
      e.type = HATCH_GGUF_TYPE_INT64;
      hatch_gguf_arr_int(g, i, j, &e.i);
      if (v.arr_type == HATCH_GGUF_TYPE_BOOL) e.type = HATCH_GGUF_TYPE_BOOL, e.b = e.i != 0;
    }
    cJSON_AddItemToArray(arr, json_scalar(&e));
  }
  if (v.arr_len <= 16) return arr;
  cJSON *o = cJSON_CreateObject();
  if (!o) {
    cJSON_Delete(arr);
    return NULL;
  }
  cJSON_AddStringToObject(o, "type", hatch_gguf_type_name(v.arr_type));
  cJSON_AddNumberToObject(o, "len", (double)v.arr_len);
  cJSON_AddItemToObject(o, "head", arr);
  return o;
}

static hatch_status print_json(FILE *out, const char *path, const hatch_gguf *g, const char *arch, const char *sha,
                               const hatch_gguf_info_options *o) {
  cJSON *root = cJSON_CreateObject();
  if (!root) return HATCH_ERR_OUT_OF_MEMORY;
  cJSON_AddStringToObject(root, "path", path);
  cJSON_AddNumberToObject(root, "file_size", (double)hatch_gguf_file_size(g));
  if (sha) cJSON_AddStringToObject(root, "sha256", sha);
  cJSON_AddNumberToObject(root, "version", hatch_gguf_version(g));
  cJSON_AddNumberToObject(root, "alignment", hatch_gguf_alignment(g));
  cJSON_AddNumberToObject(root, "data_offset", (double)hatch_gguf_data_offset(g));
  cJSON_AddStringToObject(root, "architecture", arch);
  cJSON_AddNumberToObject(root, "kv_count", (double)hatch_gguf_kv_count(g));
  cJSON *meta = cJSON_AddObjectToObject(root, "metadata");
  for (int64_t i = 0; meta && i < hatch_gguf_kv_count(g); i++) {
    const char *key = hatch_gguf_kv_key(g, i);
    if (o->verbose || is_model_key(key, arch) || starts_with(key, "general."))
      cJSON_AddItemToObject(meta, key, json_value(g, i));
  }
  cJSON *tensors = cJSON_AddArrayToObject(root, "tensors");
  for (int64_t i = 0; tensors && i < hatch_gguf_tensor_count(g); i++) {
    const hatch_gguf_tensor *t = hatch_gguf_tensor_at(g, i);
    cJSON *jt = cJSON_CreateObject();
    if (!jt) break;
    cJSON_AddStringToObject(jt, "name", t->name);
    cJSON_AddStringToObject(jt, "type", hatch_ggml_type_name(t->type));
    cJSON *shape = cJSON_AddArrayToObject(jt, "shape");
    for (int d = 0; shape && d < t->n_dims; d++) cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)t->ne[d]));
    cJSON_AddNumberToObject(jt, "offset", (double)t->offset);
    cJSON_AddNumberToObject(jt, "bytes", (double)t->nbytes);
    cJSON_AddItemToArray(tensors, jt);
  }
  type_total tot[HATCH_GGML_TYPE_COUNT];
  totals_by_type(g, tot);
  cJSON *by = cJSON_AddObjectToObject(root, "by_type");
  uint64_t bytes = 0;
  int64_t elems = 0;
  for (int t = 0; by && t < HATCH_GGML_TYPE_COUNT; t++) {
    if (!tot[t].count) continue;
    cJSON *jt = cJSON_AddObjectToObject(by, hatch_ggml_type_name((uint32_t)t));
    cJSON_AddNumberToObject(jt, "tensors", (double)tot[t].count);
    cJSON_AddNumberToObject(jt, "elements", (double)tot[t].elems);
    cJSON_AddNumberToObject(jt, "bytes", (double)tot[t].bytes);
    bytes += tot[t].bytes;
    elems += tot[t].elems;
  }
  cJSON_AddNumberToObject(root, "tensor_bytes", (double)bytes);
  cJSON_AddNumberToObject(root, "n_params", (double)elems);
  char *text = cJSON_Print(root);
  cJSON_Delete(root);
  if (!text) return HATCH_ERR_OUT_OF_MEMORY;
  fprintf(out, "%s\n", text);
  cJSON_free(text);
  return HATCH_OK;
}

hatch_status hatch_gguf_print_info(FILE *out, const char *path, const hatch_gguf_info_options *opts,
                                   hatch_gguf_report *report) {
  if (!out || !path) return HATCH_ERR_INVALID_ARGUMENT;
  hatch_gguf_info_options o = opts ? *opts : (hatch_gguf_info_options){0};
  hatch_gguf *g;
  hatch_status st = hatch_gguf_open(path, &g, report);
  if (st != HATCH_OK) return st;
  char sha[2 * HATCH_SHA256_DIGEST + 1];
  if (!o.no_hash) {
    uint8_t d[HATCH_SHA256_DIGEST];
    hatch_sha256_buf(hatch_gguf_bytes(g), (size_t)hatch_gguf_file_size(g), d); /* reads the mapping once */
    hatch_sha256_hex(d, sha);
  }
  char arch[96] = "(none)";
  hatch_gguf_str s;
  if (hatch_gguf_get_str(g, "general.architecture", &s) == HATCH_OK) {
    size_t n = s.len < sizeof(arch) - 1 ? (size_t)s.len : sizeof(arch) - 1;
    memcpy(arch, s.data, n);
    arch[n] = 0;
    if (memchr(arch, 0, n)) arch[0] = '?';
  }
  if (o.json) st = print_json(out, path, g, arch, o.no_hash ? NULL : sha, &o);
  else print_text(out, path, g, arch, o.no_hash ? NULL : sha, &o);
  hatch_gguf_close(g);
  return st;
}
