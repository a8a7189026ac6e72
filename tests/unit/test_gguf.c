/* GGUF reader/writer and sha256 against independent references: FIPS 180-4 test vectors, and GGUF
 * files written by llama.cpp's gguf-py (tools/gen_gguf_fixtures.py) with a sidecar listing every
 * KV, every tensor's shape/type/sha256 and dequantized sample values. The writer must reproduce
 * those files byte for byte from the same content. Hostile inputs are in test_gguf_hostile.c.
 * HATCH_TEST_GGUF_OUT=dir also writes the C copies there, for `gen_gguf_fixtures.py --verify`. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "hatch/gguf.h"
#include "hatch/sha256.h"

#define FIX HATCH_FIXTURE_DIR "/gguf/"

/* ---- sha256 -------------------------------------------------------------------------------- */

static void expect_digest(hatch_test_ctx *c, const uint8_t d[32], const char *want, const char *what) {
  char hex[65];
  hatch_sha256_hex(d, hex);
  HATCH_EXPECT(c, strcmp(hex, want) == 0, "%s: sha256 %s, want %s", what, hex, want);
}

static void test_sha256_vectors(hatch_test_ctx *c) {
  uint8_t d[32];
  hatch_sha256_buf("", 0, d);
  expect_digest(c, d, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "empty");
  hatch_sha256_buf("abc", 3, d);
  expect_digest(c, d, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "abc");
  const char *m448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  hatch_sha256_buf(m448, strlen(m448), d);
  expect_digest(c, d, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1", "448-bit");
  const char *m896 = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrs"
                     "mnopqrstnopqrstu";
  hatch_sha256_buf(m896, strlen(m896), d);
  expect_digest(c, d, "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1", "896-bit");
  /* One million 'a', fed in uneven pieces so every partial-block path runs. */
  char *a = malloc(1000000);
  if (!a) return;
  memset(a, 'a', 1000000);
  hatch_sha256 s;
  hatch_sha256_init(&s);
  size_t done = 0;
  for (size_t step = 1; done < 1000000; step = step * 7 % 1031 + 1) {
    size_t n = 1000000 - done < step ? 1000000 - done : step;
    hatch_sha256_update(&s, a + done, n);
    done += n;
  }
  hatch_sha256_final(&s, d);
  expect_digest(c, d, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0", "million a");
  /* Every length 0..200 split at every point equals the one-shot digest. */
  for (size_t n = 0; n <= 200; n += 7)
    for (size_t k = 0; k <= n; k++) {
      uint8_t one[32], two[32];
      hatch_sha256_buf(a, n, one);
      hatch_sha256_init(&s);
      hatch_sha256_update(&s, a, k);
      hatch_sha256_update(&s, a + k, n - k);
      hatch_sha256_final(&s, two);
      HATCH_EXPECT(c, memcmp(one, two, 32) == 0, "split %zu/%zu differs", k, n);
    }
  free(a);
  HATCH_EXPECT(c, hatch_sha256_file("/nonexistent/x", d) == HATCH_ERR_NOT_FOUND, "missing file");
}

/* ---- sidecar-driven checks of the gguf-py fixtures ----------------------------------------- */

static bool unhex(const char *h, uint8_t *out, size_t *n) {
  *n = 0;
  if (strcmp(h, "-") == 0) return true;
  size_t len = strlen(h);
  for (size_t i = 0; i + 1 < len + 1 && i < len; i += 2) {
    unsigned v;
    if (sscanf(h + i, "%2x", &v) != 1) return false;
    out[(*n)++] = (uint8_t)v;
  }
  return true;
}

/* Compares one value against its sidecar encoding (see gen_gguf_fixtures.py). */
static void check_value(hatch_test_ctx *c, const char *key, const hatch_gguf_value *v, const char *enc) {
  switch (v->type) {
    case HATCH_GGUF_TYPE_UINT8: case HATCH_GGUF_TYPE_UINT16: case HATCH_GGUF_TYPE_UINT32: case HATCH_GGUF_TYPE_UINT64:
      HATCH_EXPECT(c, v->u == strtoull(enc, NULL, 10), "%s: %llu != %s", key, (unsigned long long)v->u, enc);
      break;
    case HATCH_GGUF_TYPE_INT8: case HATCH_GGUF_TYPE_INT16: case HATCH_GGUF_TYPE_INT32: case HATCH_GGUF_TYPE_INT64:
      HATCH_EXPECT(c, v->i == strtoll(enc, NULL, 10), "%s: %lld != %s", key, (long long)v->i, enc);
      break;
    case HATCH_GGUF_TYPE_FLOAT32: {
      float f = (float)v->f;
      uint32_t bits;
      memcpy(&bits, &f, 4);
      HATCH_EXPECT(c, bits == (uint32_t)strtoul(enc, NULL, 16), "%s: %08x != %s", key, bits, enc);
      break;
    }
    case HATCH_GGUF_TYPE_FLOAT64: {
      uint64_t bits;
      memcpy(&bits, &v->f, 8);
      HATCH_EXPECT(c, bits == strtoull(enc, NULL, 16), "%s: %016llx != %s", key, (unsigned long long)bits, enc);
      break;
    }
    case HATCH_GGUF_TYPE_BOOL: HATCH_EXPECT(c, v->b == (enc[0] == '1'), "%s: bool %d != %s", key, v->b, enc); break;
    case HATCH_GGUF_TYPE_STRING: {
      uint8_t want[512];
      size_t n;
      bool ok = strlen(enc) < 2 * sizeof(want) && unhex(enc, want, &n);
      HATCH_EXPECT(c, ok && v->s.len == n && memcmp(v->s.data, want, n) == 0, "%s: string differs", key);
      break;
    }
    default: HATCH_EXPECT(c, false, "%s: unexpected type %d", key, v->type);
  }
}

static hatch_gguf_type type_by_name(const char *name) {
  for (int t = 0; t < HATCH_GGUF_TYPE_COUNT; t++)
    if (strcmp(hatch_gguf_type_name((hatch_gguf_type)t), name) == 0) return (hatch_gguf_type)t;
  return HATCH_GGUF_TYPE_COUNT;
}

/* Element `flat` of a tensor, dequantized to float32 the way ggml does. */
static float element(const hatch_gguf_tensor *t, int64_t flat) {
  const uint8_t *p = t->data;
  float f = 0;
  uint16_t h;
  switch (t->type) {
    case HATCH_GGML_TYPE_F32: memcpy(&f, p + 4 * flat, 4); break;
    case HATCH_GGML_TYPE_F16: memcpy(&h, p + 2 * flat, 2); f = hatch_fp16_to_fp32(h); break;
    case HATCH_GGML_TYPE_BF16: {
      memcpy(&h, p + 2 * flat, 2);
      uint32_t bits = (uint32_t)h << 16;
      memcpy(&f, &bits, 4);
      break;
    }
    case HATCH_GGML_TYPE_Q8_0: {
      const uint8_t *blk = p + flat / 32 * 34;
      memcpy(&h, blk, 2);
      f = hatch_fp16_to_fp32(h) * (float)(int8_t)blk[2 + flat % 32];
      break;
    }
    default: break;
  }
  return f;
}

/* Checks a fixture against its sidecar: every KV in order, every tensor, sample values. */
static void check_fixture(hatch_test_ctx *c, const char *name) {
  char path[512], line[1024];
  snprintf(path, sizeof(path), FIX "%s.gguf", name);
  hatch_gguf_report rep;
  hatch_gguf *g = NULL;
  hatch_status st = hatch_gguf_open(path, &g, &rep);
  HATCH_EXPECT(c, st == HATCH_OK, "%s: %s", name, rep.message);
  if (st != HATCH_OK) return;
  snprintf(path, sizeof(path), FIX "%s.txt", name);
  FILE *f = fopen(path, "r");
  HATCH_EXPECT(c, f != NULL, "cannot open %s", path);
  int64_t kv = -1, ti = -1;
  uint64_t el = 0;
  const hatch_gguf_tensor *t = NULL;
  int n_val = 0;
  while (f && fgets(line, sizeof(line), f)) {
    char a[256], b[256], d[1024];
    unsigned long long n0, n1, n2;
    if (sscanf(line, "gguf %llu %llu %llu %64s %255s", &n0, &n1, &n2, d, a) == 5) {
      HATCH_EXPECT(c, (uint64_t)hatch_gguf_kv_count(g) == n0 && (uint64_t)hatch_gguf_tensor_count(g) == n1,
                   "%s: %lld KVs, %lld tensors", name, (long long)hatch_gguf_kv_count(g), (long long)hatch_gguf_tensor_count(g));
      HATCH_EXPECT(c, hatch_gguf_file_size(g) == n2, "%s: file size", name);
      HATCH_EXPECT(c, hatch_gguf_alignment(g) == strtoul(a, NULL, 10), "%s: alignment %u", name, hatch_gguf_alignment(g));
      uint8_t dg[32];
      snprintf(path, sizeof(path), FIX "%s.gguf", name);
      HATCH_EXPECT_OK(c, hatch_sha256_file(path, dg));
      expect_digest(c, dg, d, "fixture file");
    } else if (sscanf(line, "kv %255s %255s %1023s", a, b, d) == 3) {
      kv++;
      hatch_gguf_value v;
      HATCH_EXPECT(c, hatch_gguf_kv_key(g, kv) && strcmp(hatch_gguf_kv_key(g, kv), a) == 0, "KV %lld is not %s", (long long)kv, a);
      HATCH_EXPECT(c, hatch_gguf_find_key(g, a) == kv, "find_key(%s)", a);
      if (hatch_gguf_kv_value(g, kv, &v) != HATCH_OK) continue;
      HATCH_EXPECT(c, v.type == type_by_name(b), "%s: type %s, want %s", a, hatch_gguf_type_name(v.type), b);
      if (v.type == type_by_name(b)) check_value(c, a, &v, d);
    } else if (sscanf(line, "arr %255s %255s %llu", a, b, &n0) == 3) {
      kv++;
      el = 0;
      hatch_gguf_type et;
      uint64_t len;
      int64_t idx;
      HATCH_EXPECT_OK(c, hatch_gguf_get_arr(g, a, &idx, &et, &len));
      HATCH_EXPECT(c, idx == kv && et == type_by_name(b) && len == n0, "%s: array %s x %llu", a, hatch_gguf_type_name(et),
                   (unsigned long long)len);
    } else if (sscanf(line, "el %1023s", d) == 1) {
      hatch_gguf_value kvv, v = {0};
      hatch_gguf_kv_value(g, kv, &kvv);
      v.type = kvv.arr_type;
      const char *key = hatch_gguf_kv_key(g, kv);
      if (v.type == HATCH_GGUF_TYPE_STRING) {
        HATCH_EXPECT_OK(c, hatch_gguf_arr_str(g, kv, el, &v.s));
      } else if (v.type == HATCH_GGUF_TYPE_FLOAT32 || v.type == HATCH_GGUF_TYPE_FLOAT64) {
        HATCH_EXPECT_OK(c, hatch_gguf_arr_float(g, kv, el, &v.f));
      } else if (v.type == HATCH_GGUF_TYPE_UINT64) {
        memcpy(&v.u, (const uint8_t *)hatch_gguf_arr_data(g, kv) + 8 * el, 8);
        int64_t x;
        hatch_status s2 = hatch_gguf_arr_int(g, kv, el, &x);
        HATCH_EXPECT(c, v.u > INT64_MAX ? s2 == HATCH_ERR_TOO_LARGE : (s2 == HATCH_OK && (uint64_t)x == v.u), "%s[%llu] as int", key,
                     (unsigned long long)el);
      } else {
        int64_t x = 0;
        HATCH_EXPECT_OK(c, hatch_gguf_arr_int(g, kv, el, &x));
        if (v.type == HATCH_GGUF_TYPE_BOOL) v.b = x != 0;
        else if (v.type == HATCH_GGUF_TYPE_UINT8 || v.type == HATCH_GGUF_TYPE_UINT16 || v.type == HATCH_GGUF_TYPE_UINT32)
          v.u = (uint64_t)x;
        else v.i = x;
      }
      check_value(c, key, &v, d);
      el++;
    } else if (sscanf(line, "tensor %255s %llu %llu", a, &n0, &n1) == 3) {
      ti++;
      long long ne[4], nbytes;
      sscanf(line, "tensor %*s %*s %*s %lld %lld %lld %lld %lld %64s", &ne[0], &ne[1], &ne[2], &ne[3], &nbytes, d);
      t = hatch_gguf_tensor_at(g, ti);
      HATCH_EXPECT(c, t && strcmp(t->name, a) == 0 && hatch_gguf_find_tensor(g, a) == t, "tensor %lld is not %s", (long long)ti, a);
      if (!t) break;
      HATCH_EXPECT(c, t->type == n0 && t->n_dims == (int)n1 && t->nbytes == (uint64_t)nbytes, "%s: type %u dims %d bytes %llu",
                   a, t->type, t->n_dims, (unsigned long long)t->nbytes);
      for (int k = 0; k < 4; k++) HATCH_EXPECT(c, t->ne[k] == ne[k], "%s: ne[%d] %lld != %lld", a, k, (long long)t->ne[k], ne[k]);
      HATCH_EXPECT(c, t->offset % hatch_gguf_alignment(g) == 0 && (uintptr_t)t->data % hatch_gguf_alignment(g) == 0,
                   "%s: data not aligned", a);
      uint8_t dg[32];
      hatch_sha256_buf(t->data, (size_t)t->nbytes, dg);
      expect_digest(c, dg, d, a);
    } else if (t && sscanf(line, "val %llu %255s", &n0, a) == 2) {
      float x = element(t, (int64_t)n0);
      uint32_t bits;
      memcpy(&bits, &x, 4);
      HATCH_EXPECT(c, bits == (uint32_t)strtoul(a, NULL, 16), "%s[%llu]: %08x != %s", t->name, n0, bits, a);
      n_val++;
    }
  }
  HATCH_EXPECT(c, kv + 1 == hatch_gguf_kv_count(g) && ti + 1 == hatch_gguf_tensor_count(g) && n_val > 0,
               "%s: sidecar covered %lld KVs, %lld tensors, %d values", name, (long long)kv + 1, (long long)ti + 1, n_val);
  if (f) fclose(f);
  hatch_gguf_close(g);
}

static void test_fixture_qwen2vl(hatch_test_ctx *c) { check_fixture(c, "tiny_qwen2vl"); }
static void test_fixture_mmproj(hatch_test_ctx *c) { check_fixture(c, "tiny_mmproj"); }
static void test_fixture_all_types(hatch_test_ctx *c) { check_fixture(c, "all_types"); }

static void test_getters(hatch_test_ctx *c) {
  hatch_gguf *g = NULL;
  hatch_gguf_report rep;
  HATCH_EXPECT_OK(c, hatch_gguf_open(FIX "all_types.gguf", &g, &rep));
  if (!g) return;
  uint32_t u32;
  int32_t i32;
  uint64_t u64;
  int64_t i64;
  float f32;
  double f64;
  bool b;
  hatch_gguf_str s;
  HATCH_EXPECT(c, hatch_gguf_get_u32(g, "t.u32", &u32) == HATCH_OK && u32 == 4000000000u, "get_u32");
  HATCH_EXPECT(c, hatch_gguf_get_i32(g, "t.i32", &i32) == HATCH_OK && i32 == -2000000000, "get_i32");
  HATCH_EXPECT(c, hatch_gguf_get_u64(g, "t.u64", &u64) == HATCH_OK && u64 == (1ull << 63) + 5, "get_u64");
  HATCH_EXPECT(c, hatch_gguf_get_i64(g, "t.i64", &i64) == HATCH_OK && i64 == -(1ll << 62) - 3, "get_i64");
  HATCH_EXPECT(c, hatch_gguf_get_f32(g, "t.f32", &f32) == HATCH_OK && f32 == -1.5e-7f, "get_f32");
  HATCH_EXPECT(c, hatch_gguf_get_bool(g, "t.bool", &b) == HATCH_OK && b, "get_bool");
  HATCH_EXPECT(c, hatch_gguf_get_str(g, "t.str_empty", &s) == HATCH_OK && s.len == 0, "empty string");
  HATCH_EXPECT(c, hatch_gguf_get_str(g, "t.str", &s) == HATCH_OK && s.len == 17 && memcmp(s.data, "h\xc3\xa9llo", 6) == 0, "get_str");
  /* strict types */
  HATCH_EXPECT(c, hatch_gguf_get_u32(g, "t.i32_small", &u32) == HATCH_ERR_TYPE, "u32 from int32");
  HATCH_EXPECT(c, hatch_gguf_get_str(g, "t.u8", &s) == HATCH_ERR_TYPE, "str from u8");
  HATCH_EXPECT(c, hatch_gguf_get_f32(g, "t.f64", &f32) == HATCH_ERR_TYPE, "f32 from f64");
  HATCH_EXPECT(c, hatch_gguf_get_u32(g, "no.such.key", &u32) == HATCH_ERR_NOT_FOUND, "missing key");
  /* coercion */
  HATCH_EXPECT(c, hatch_gguf_get_int(g, "t.i32_small", 0, UINT32_MAX, &i64) == HATCH_OK && i64 == 7, "int32 -> int");
  HATCH_EXPECT(c, hatch_gguf_get_int(g, "t.u8", 0, 255, &i64) == HATCH_OK && i64 == 250, "u8 -> int");
  HATCH_EXPECT(c, hatch_gguf_get_int(g, "t.u8", 0, 100, &i64) == HATCH_ERR_TOO_LARGE, "u8 out of range");
  HATCH_EXPECT(c, hatch_gguf_get_int(g, "t.i8", 0, 255, &i64) == HATCH_ERR_TOO_LARGE, "negative into unsigned range");
  HATCH_EXPECT(c, hatch_gguf_get_int(g, "t.u64", INT64_MIN, INT64_MAX, &i64) == HATCH_ERR_TOO_LARGE, "u64 > INT64_MAX");
  HATCH_EXPECT(c, hatch_gguf_get_int(g, "t.f32", INT64_MIN, INT64_MAX, &i64) == HATCH_ERR_TYPE, "float -> int");
  HATCH_EXPECT(c, hatch_gguf_get_int(g, "t.bool", 0, 1, &i64) == HATCH_ERR_TYPE, "bool -> int");
  HATCH_EXPECT(c, hatch_gguf_get_float(g, "t.f64", &f64) == HATCH_OK && f64 == 3.141592653589793, "get_float f64");
  HATCH_EXPECT(c, hatch_gguf_get_float(g, "t.u16", &f64) == HATCH_OK && f64 == 65000, "get_float u16");
  HATCH_EXPECT(c, hatch_gguf_get_float(g, "t.str", &f64) == HATCH_ERR_TYPE, "get_float string");
  /* arrays */
  int64_t idx;
  hatch_gguf_type et;
  uint64_t n;
  HATCH_EXPECT(c, hatch_gguf_get_arr(g, "t.u8", &idx, &et, &n) == HATCH_ERR_TYPE, "scalar as array");
  HATCH_EXPECT_OK(c, hatch_gguf_get_arr(g, "t.arr_str", &idx, &et, &n));
  HATCH_EXPECT(c, hatch_gguf_arr_str(g, idx, 4, &s) == HATCH_ERR_INVALID_ARGUMENT, "index past the end");
  HATCH_EXPECT(c, hatch_gguf_arr_int(g, idx, 0, &i64) == HATCH_ERR_TYPE, "string element as int");
  HATCH_EXPECT(c, hatch_gguf_arr_data(g, idx) == NULL, "raw data of a string array");
  HATCH_EXPECT(c, hatch_gguf_arr_str(g, idx, 3, &s) == HATCH_OK && s.len == 40, "long string element");
  HATCH_EXPECT_OK(c, hatch_gguf_get_arr(g, "t.arr_f32", &idx, &et, &n));
  HATCH_EXPECT(c, hatch_gguf_arr_float(g, idx, 1, &f64) == HATCH_OK && f64 == -2.25, "float element");
  HATCH_EXPECT(c, hatch_gguf_arr_str(g, idx, 0, &s) == HATCH_ERR_TYPE, "float element as string");
  HATCH_EXPECT(c, hatch_gguf_arr_int(g, hatch_gguf_find_key(g, "t.u8"), 0, &i64) == HATCH_ERR_INVALID_ARGUMENT, "not an array");
  HATCH_EXPECT(c, hatch_gguf_kv_key(g, -1) == NULL && hatch_gguf_kv_key(g, 1000) == NULL, "kv_key out of range");
  HATCH_EXPECT(c, hatch_gguf_tensor_at(g, 10) == NULL && hatch_gguf_find_tensor(g, "nope") == NULL, "tensor lookup misses");
  hatch_type ht;
  HATCH_EXPECT(c, hatch_ggml_to_hatch_type(HATCH_GGML_TYPE_Q8_0, &ht) == HATCH_OK && ht == HATCH_TYPE_Q8_0, "Q8_0 -> hatch");
  HATCH_EXPECT(c, hatch_ggml_to_hatch_type(HATCH_GGML_TYPE_BF16, &ht) == HATCH_ERR_TYPE, "BF16 has no hatch type");
  hatch_gguf_close(g);
  hatch_gguf_close(NULL);
}

/* ---- writer ------------------------------------------------------------------------------- */

/* Rebuilds a file's content with the writer, in the file's order. */
static hatch_status copy_into(const hatch_gguf *g, hatch_gguf_writer *w) {
  hatch_status st = HATCH_OK;
  for (int64_t i = 0; st == HATCH_OK && i < hatch_gguf_kv_count(g); i++) {
    const char *k = hatch_gguf_kv_key(g, i);
    hatch_gguf_value v;
    hatch_gguf_kv_value(g, i, &v);
    switch (v.type) {
      case HATCH_GGUF_TYPE_UINT8: st = hatch_gguf_writer_add_u8(w, k, (uint8_t)v.u); break;
      case HATCH_GGUF_TYPE_INT8: st = hatch_gguf_writer_add_i8(w, k, (int8_t)v.i); break;
      case HATCH_GGUF_TYPE_UINT16: st = hatch_gguf_writer_add_u16(w, k, (uint16_t)v.u); break;
      case HATCH_GGUF_TYPE_INT16: st = hatch_gguf_writer_add_i16(w, k, (int16_t)v.i); break;
      case HATCH_GGUF_TYPE_UINT32: st = hatch_gguf_writer_add_u32(w, k, (uint32_t)v.u); break;
      case HATCH_GGUF_TYPE_INT32: st = hatch_gguf_writer_add_i32(w, k, (int32_t)v.i); break;
      case HATCH_GGUF_TYPE_UINT64: st = hatch_gguf_writer_add_u64(w, k, v.u); break;
      case HATCH_GGUF_TYPE_INT64: st = hatch_gguf_writer_add_i64(w, k, v.i); break;
      case HATCH_GGUF_TYPE_FLOAT32: st = hatch_gguf_writer_add_f32(w, k, (float)v.f); break;
      case HATCH_GGUF_TYPE_FLOAT64: st = hatch_gguf_writer_add_f64(w, k, v.f); break;
      case HATCH_GGUF_TYPE_BOOL: st = hatch_gguf_writer_add_bool(w, k, v.b); break;
      case HATCH_GGUF_TYPE_STRING: st = hatch_gguf_writer_add_strn(w, k, v.s.data, v.s.len); break;
      case HATCH_GGUF_TYPE_ARRAY:
        if (v.arr_type != HATCH_GGUF_TYPE_STRING) {
          st = hatch_gguf_writer_add_arr(w, k, v.arr_type, hatch_gguf_arr_data(g, i), v.arr_len);
        } else {
          const char **items = calloc(v.arr_len + 1, sizeof(char *));
          uint64_t *lens = calloc(v.arr_len + 1, sizeof(uint64_t));
          st = items && lens ? HATCH_OK : HATCH_ERR_OUT_OF_MEMORY;
          for (uint64_t j = 0; st == HATCH_OK && j < v.arr_len; j++) {
            hatch_gguf_str s;
            hatch_gguf_arr_str(g, i, j, &s);
            items[j] = s.data, lens[j] = s.len;
          }
          if (st == HATCH_OK) st = hatch_gguf_writer_add_arr_str(w, k, items, lens, v.arr_len);
          free(items);
          free(lens);
        }
        break;
      default: st = HATCH_ERR_TYPE;
    }
  }
  for (int64_t i = 0; st == HATCH_OK && i < hatch_gguf_tensor_count(g); i++) {
    const hatch_gguf_tensor *t = hatch_gguf_tensor_at(g, i);
    st = hatch_gguf_writer_add_tensor(w, t->name, t->type, t->n_dims, t->ne, t->data, t->nbytes);
  }
  return st;
}

static void check_byte_identical(hatch_test_ctx *c, const char *name) {
  char path[512];
  snprintf(path, sizeof(path), FIX "%s.gguf", name);
  hatch_gguf *g = NULL;
  hatch_gguf_writer *w = NULL;
  hatch_gguf_report rep;
  uint8_t *buf = NULL;
  size_t size = 0;
  HATCH_EXPECT_OK(c, hatch_gguf_open(path, &g, &rep));
  HATCH_EXPECT_OK(c, hatch_gguf_writer_create(&w));
  if (!g || !w) goto done;
  HATCH_EXPECT_OK(c, copy_into(g, w));
  HATCH_EXPECT_OK(c, hatch_gguf_writer_write_mem(w, &buf, &size, &rep));
  HATCH_EXPECT(c, buf && size == hatch_gguf_file_size(g) && memcmp(buf, hatch_gguf_bytes(g), size) == 0,
               "%s: C writer output (%zu bytes) differs from gguf-py's (%llu bytes)", name, size,
               (unsigned long long)hatch_gguf_file_size(g));
  const char *dir = getenv("HATCH_TEST_GGUF_OUT");
  if (dir) {
    snprintf(path, sizeof(path), "%s/%s.c.gguf", dir, name);
    HATCH_EXPECT(c, hatch_gguf_writer_write(w, path, &rep) == HATCH_OK, "%s", rep.message);
    printf("  wrote %s\n", path);
  }
done:
  free(buf);
  hatch_gguf_writer_destroy(w);
  hatch_gguf_close(g);
}

static void test_writer_matches_gguf_py(hatch_test_ctx *c) {
  check_byte_identical(c, "tiny_qwen2vl");
  check_byte_identical(c, "tiny_mmproj");
  check_byte_identical(c, "all_types");
}

typedef struct fill_ctx {
  const uint8_t *src;
  uint64_t row, calls, fail_at;
} fill_ctx;

static hatch_status fill_rows(void *user, const char *name, void *buf, uint64_t offset, uint64_t n) {
  fill_ctx *f = user;
  if (++f->calls == f->fail_at) return HATCH_ERR_IO;
  if (offset % f->row || n % f->row) return HATCH_ERR_INVALID_ARGUMENT; /* chunks must be whole rows */
  memcpy(buf, f->src + offset, n);
  return HATCH_OK;
}

static void test_writer_streaming_and_files(hatch_test_ctx *c) {
  /* (1100, 1000) F32 = 4.4 MB: more than one 4 MiB fill chunk; the streamed file equals the
   * borrowed-data one and reads back. */
  const int64_t ne[2] = {1000, 1100};
  uint64_t nbytes = 4ull * ne[0] * ne[1];
  float *x = malloc(nbytes);
  hatch_gguf_writer *a = NULL, *b = NULL;
  HATCH_EXPECT_OK(c, hatch_gguf_writer_create(&a));
  HATCH_EXPECT_OK(c, hatch_gguf_writer_create(&b));
  if (!x || !a || !b) goto done;
  hatch_test_fill(c, x, ne[0] * ne[1], -1, 1);
  fill_ctx fc = {(const uint8_t *)x, 4 * ne[0], 0, 0};
  HATCH_EXPECT_OK(c, hatch_gguf_writer_add_str(a, "general.architecture", "test"));
  HATCH_EXPECT_OK(c, hatch_gguf_writer_add_str(b, "general.architecture", "test"));
  HATCH_EXPECT_OK(c, hatch_gguf_writer_add_tensor(a, "big", HATCH_GGML_TYPE_F32, 2, ne, x, nbytes));
  HATCH_EXPECT_OK(c, hatch_gguf_writer_add_tensor_fn(b, "big", HATCH_GGML_TYPE_F32, 2, ne, fill_rows, &fc));
  uint8_t *ma = NULL, *mb = NULL;
  size_t sa = 0, sb = 0;
  hatch_gguf_report rep;
  HATCH_EXPECT_OK(c, hatch_gguf_writer_write_mem(a, &ma, &sa, &rep));
  HATCH_EXPECT_OK(c, hatch_gguf_writer_write_mem(b, &mb, &sb, &rep));
  HATCH_EXPECT(c, ma && mb && sa == sb && memcmp(ma, mb, sa) == 0 && fc.calls == 2, "streamed output differs (%llu calls)",
               (unsigned long long)fc.calls);
  free(ma);
  free(mb);

  char dir[] = "/tmp/hatch_gguf_XXXXXX", path[128];
  HATCH_EXPECT(c, mkdtemp(dir) != NULL, "mkdtemp");
  snprintf(path, sizeof(path), "%s/out.gguf", dir);
  fc.calls = 0;
  HATCH_EXPECT(c, hatch_gguf_writer_write(b, path, &rep) == HATCH_OK, "%s", rep.message);
  struct stat sb_;
  HATCH_EXPECT(c, stat(path, &sb_) == 0 && (uint64_t)sb_.st_size == sa, "written file size");
  hatch_gguf *g = NULL;
  HATCH_EXPECT_OK(c, hatch_gguf_open(path, &g, &rep));
  const hatch_gguf_tensor *t = hatch_gguf_find_tensor(g, "big");
  HATCH_EXPECT(c, t && t->nbytes == nbytes && memcmp(t->data, x, nbytes) == 0, "read back");
  hatch_gguf_close(g);
  /* A failing fill aborts the write with its status and leaves the old file and no temp file. */
  fc.calls = 0;
  fc.fail_at = 2;
  HATCH_EXPECT(c, hatch_gguf_writer_write(b, path, &rep) == HATCH_ERR_IO && strstr(rep.message, "'big'"), "fill error: %s",
               rep.message);
  HATCH_EXPECT(c, stat(path, &sb_) == 0 && (uint64_t)sb_.st_size == sa, "old file kept");
  char cmd[256];
  snprintf(cmd, sizeof(cmd), "test $(ls -A %s | wc -l) -eq 1", dir);
  HATCH_EXPECT(c, system(cmd) == 0, "temporary file left in %s", dir);
  unlink(path);
  rmdir(dir);
  HATCH_EXPECT(c, hatch_gguf_writer_write(a, "/nonexistent/dir/x.gguf", &rep) == HATCH_ERR_NOT_FOUND && rep.message[0],
               "missing directory");
done:
  hatch_gguf_writer_destroy(a);
  hatch_gguf_writer_destroy(b);
  free(x);
}

static void test_writer_rejects(hatch_test_ctx *c) {
  hatch_gguf_writer *w = NULL;
  HATCH_EXPECT_OK(c, hatch_gguf_writer_create(&w));
  if (!w) return;
  float data[64] = {0};
  int64_t ne1[1] = {64}, ne33[1] = {33}, bad[1] = {0};
  HATCH_EXPECT_OK(c, hatch_gguf_writer_add_u32(w, "k", 1));
  HATCH_EXPECT(c, hatch_gguf_writer_add_u32(w, "k", 2) == HATCH_ERR_INVALID_ARGUMENT, "duplicate key");
  HATCH_EXPECT(c, hatch_gguf_writer_add_str(w, "", "x") == HATCH_ERR_INVALID_ARGUMENT, "empty key");
  HATCH_EXPECT(c, hatch_gguf_writer_add_u32(w, "general.alignment", 48) == HATCH_ERR_INVALID_ARGUMENT, "alignment 48");
  HATCH_EXPECT(c, hatch_gguf_writer_add_arr(w, "a", HATCH_GGUF_TYPE_STRING, data, 1) == HATCH_ERR_INVALID_ARGUMENT,
               "string array through add_arr");
  HATCH_EXPECT_OK(c, hatch_gguf_writer_add_tensor(w, "t", HATCH_GGML_TYPE_F32, 1, ne1, data, sizeof(data)));
  HATCH_EXPECT(c, hatch_gguf_writer_add_tensor(w, "t", HATCH_GGML_TYPE_F32, 1, ne1, data, sizeof(data)) == HATCH_ERR_INVALID_ARGUMENT,
               "duplicate tensor");
  HATCH_EXPECT(c, hatch_gguf_writer_add_tensor(w, "u", HATCH_GGML_TYPE_F32, 1, ne1, data, 8) == HATCH_ERR_INVALID_ARGUMENT,
               "nbytes mismatch");
  HATCH_EXPECT(c, hatch_gguf_writer_add_tensor(w, "u", HATCH_GGML_TYPE_Q8_0, 1, ne33, data, 34) == HATCH_ERR_SHAPE,
               "partial Q8_0 block");
  HATCH_EXPECT(c, hatch_gguf_writer_add_tensor(w, "u", HATCH_GGML_TYPE_F32, 1, bad, data, 0) == HATCH_ERR_SHAPE, "ne 0");
  HATCH_EXPECT(c, hatch_gguf_writer_add_tensor(w, "u", 99, 1, ne1, data, 256) == HATCH_ERR_TYPE, "unknown type");
  HATCH_EXPECT(c, hatch_gguf_writer_add_tensor(w, "u", HATCH_GGML_TYPE_F32, 5, ne1, data, 256) == HATCH_ERR_INVALID_ARGUMENT,
               "5 dims");
  char longname[80];
  memset(longname, 'n', 64);
  longname[64] = 0;
  HATCH_EXPECT(c, hatch_gguf_writer_add_tensor(w, longname, HATCH_GGML_TYPE_F32, 1, ne1, data, 256) == HATCH_ERR_INVALID_ARGUMENT,
               "64-byte name (llama.cpp's limit is 63)");
  /* What was accepted still makes a valid file. */
  uint8_t *buf = NULL;
  size_t size = 0;
  hatch_gguf *g = NULL;
  HATCH_EXPECT_OK(c, hatch_gguf_writer_write_mem(w, &buf, &size, NULL));
  HATCH_EXPECT_OK(c, hatch_gguf_parse(buf, size, "mem", &g, NULL));
  HATCH_EXPECT(c, hatch_gguf_kv_count(g) == 1 && hatch_gguf_tensor_count(g) == 1, "accepted content only");
  hatch_gguf_close(g);
  free(buf);
  hatch_gguf_writer_destroy(w);
  hatch_gguf_writer_destroy(NULL);
}

/* ---- hatch info ----------------------------------------------------------------------------- */

static char *info_text(hatch_test_ctx *c, const char *path, hatch_gguf_info_options o) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  if (!f) return NULL;
  hatch_gguf_report rep;
  hatch_status st = hatch_gguf_print_info(f, path, &o, &rep);
  fclose(f);
  HATCH_EXPECT(c, st == HATCH_OK, "print_info %s: %s", path, rep.message);
  return buf;
}

static void test_info(hatch_test_ctx *c) {
  char *t = info_text(c, FIX "tiny_qwen2vl.gguf", (hatch_gguf_info_options){.max_tensors = 5});
  const char *want[] = {"architecture:  qwen2vl", "qwen2vl.block_count", "qwen2vl.rope.dimension_sections", "[2, 1, 1, 0]",
                        "token_embd.weight", "Q8_0", "[32, 256]", "21 more tensors", "kv:            21 pairs", "BF16",
                        "sha256:", "hatch tiny Qwen2.5-VL"};
  for (size_t i = 0; t && i < sizeof(want) / sizeof(want[0]); i++)
    HATCH_EXPECT(c, strstr(t, want[i]) != NULL, "text info lacks \"%s\":\n%s", want[i], t);
  /* the sha256 printed is the file's (the sidecar's first line holds it) */
  FILE *f = fopen(FIX "tiny_qwen2vl.txt", "r");
  char line[256], sha[80] = "";
  if (f && fgets(line, sizeof(line), f)) sscanf(line, "gguf %*s %*s %*s %64s", sha);
  if (f) fclose(f);
  HATCH_EXPECT(c, t && sha[0] && strstr(t, sha), "sha256 %s not printed", sha);
  free(t);
  t = info_text(c, FIX "tiny_mmproj.gguf", (hatch_gguf_info_options){.verbose = true, .no_hash = true});
  const char *want2[] = {"architecture:  clip", "clip.projector_type", "\"qwen2.5vl_merger\"", "clip.vision.n_wa_pattern",
                         "mm.2.bias", "v.patch_embd.weight.1", "[4, 4, 3, 32]", "general.file_type"};
  for (size_t i = 0; t && i < sizeof(want2) / sizeof(want2[0]); i++)
    HATCH_EXPECT(c, strstr(t, want2[i]) != NULL, "verbose info lacks \"%s\"", want2[i]);
  HATCH_EXPECT(c, t && !strstr(t, "sha256") && !strstr(t, "more tensors"), "no_hash / verbose ignored");
  free(t);
  t = info_text(c, FIX "all_types.gguf", (hatch_gguf_info_options){.json = true, .verbose = true});
  const char *want3[] = {"\"architecture\":\t\"hatchtest\"", "\"t.arr_str\":\t[\"a\", \"\", ", "\"alignment\":\t64",
                         "\"by_type\"", "\"I64\"", "\"sha256\":\t\"a6edb2b5",
                         "\"t.u64\":\t9223372036854775813", "\"t.arr_i64\":\t[-9223372036854775808, 9223372036854775807]",
                         "\"t.f32\":\t-1.5e-07"};
  for (size_t i = 0; t && i < sizeof(want3) / sizeof(want3[0]); i++)
    HATCH_EXPECT(c, strstr(t, want3[i]) != NULL, "JSON info lacks \"%s\":\n%s", want3[i], t);
  free(t);
  hatch_gguf_report rep;
  FILE *null = fopen("/dev/null", "w");
  HATCH_EXPECT(c, hatch_gguf_print_info(null, "/nonexistent.gguf", NULL, &rep) == HATCH_ERR_NOT_FOUND &&
                      strstr(rep.message, "/nonexistent.gguf"), "missing file: %s", rep.message);
  if (null) fclose(null);
}

int main(int argc, char **argv) {
  const hatch_test_case cases[] = {
      {"sha256_vectors", test_sha256_vectors, false},
      {"fixture_qwen2vl", test_fixture_qwen2vl, false},
      {"fixture_mmproj", test_fixture_mmproj, false},
      {"fixture_all_types", test_fixture_all_types, false},
      {"getters", test_getters, false},
      {"writer_matches_gguf_py", test_writer_matches_gguf_py, false},
      {"writer_streaming_and_files", test_writer_streaming_and_files, false},
      {"writer_rejects", test_writer_rejects, false},
      {"info", test_info, false},
  };
  return hatch_test_main(argc, argv, cases, (int)(sizeof(cases) / sizeof(cases[0])));
}
