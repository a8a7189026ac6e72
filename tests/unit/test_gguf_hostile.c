/* GGUF reader against hostile input: a valid file truncated at every byte, hand-made headers that
 * break one rule each (each must give the right status and a message naming the problem), random
 * corruption, and open() errors. Every input sits in a buffer of its exact size so ASan sees any
 * overread. */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "hatch/gguf.h"

#define FIX HATCH_FIXTURE_DIR "/gguf/"

typedef struct bytes {
  uint8_t *p;
  size_t n, cap;
} bytes;

static void put(bytes *b, const void *p, size_t n) {
  if (n == 0) return;
  if (b->n + n > b->cap) {
    b->cap = (b->n + n) * 2;
    b->p = realloc(b->p, b->cap);
    if (!b->p) abort(); /* test code */
  }
  memcpy(b->p + b->n, p, n);
  b->n += n;
}
static void u32(bytes *b, uint32_t v) { put(b, &v, 4); }
static void u64(bytes *b, uint64_t v) { put(b, &v, 8); }
static void str(bytes *b, const char *s) { u64(b, strlen(s)), put(b, s, strlen(s)); }
static void hdr(bytes *b, uint64_t n_tensors, uint64_t n_kv) { put(b, "GGUF", 4), u32(b, 3), u64(b, n_tensors), u64(b, n_kv); }
static void tinfo(bytes *b, const char *name, int n_dims, const uint64_t *ne, uint32_t type, uint64_t off) {
  str(b, name), u32(b, (uint32_t)n_dims);
  for (int d = 0; d < n_dims; d++) u64(b, ne[d]);
  u32(b, type), u64(b, off);
}
static void zeros(bytes *b, size_t n) {
  static const uint8_t z[4096];
  put(b, z, n);
}
static void pad(bytes *b, size_t a) { zeros(b, (a - b->n % a) % a); }

static hatch_status parse(const void *p, size_t n, hatch_gguf_report *rep) {
  uint8_t *copy = malloc(n ? n : 1); /* exact size: an overread is an ASan error */
  if (!copy) return HATCH_ERR_OUT_OF_MEMORY;
  if (n) memcpy(copy, p, n);
  hatch_gguf *g = NULL;
  hatch_status st = hatch_gguf_parse(copy, n, "evil.gguf", &g, rep);
  hatch_gguf_close(g);
  free(copy);
  return st;
}

static void expect_fail(hatch_test_ctx *c, bytes *b, hatch_status want, const char *needle, const char *what) {
  hatch_gguf_report rep;
  hatch_status st = parse(b->p, b->n, &rep);
  HATCH_EXPECT(c, st == want, "%s: %s, want %s (%s)", what, hatch_status_name(st), hatch_status_name(want), rep.message);
  HATCH_EXPECT(c, strncmp(rep.message, "evil.gguf: ", 11) == 0 && strstr(rep.message, needle), "%s: message \"%s\" lacks \"%s\"",
               what, rep.message, needle);
  free(b->p);
  *b = (bytes){0};
}

static uint8_t *read_file(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long size = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *p = malloc((size_t)size);
  *n = p ? fread(p, 1, (size_t)size, f) : 0;
  fclose(f);
  return p;
}

static void test_truncated_every_byte(hatch_test_ctx *c) {
  const char *files[] = {FIX "all_types.gguf", FIX "tiny_qwen2vl.gguf"};
  for (int k = 0; k < 2; k++) {
    size_t n = 0;
    uint8_t *full = read_file(files[k], &n);
    HATCH_EXPECT(c, full && n > 0, "cannot read %s", files[k]);
    if (!full) continue;
    hatch_gguf *g = NULL;
    HATCH_EXPECT_OK(c, hatch_gguf_parse(full, n, "full", &g, NULL));
    uint64_t data_end = 0; /* the file stays valid once every tensor's bytes are there */
    for (int64_t i = 0; i < hatch_gguf_tensor_count(g); i++) {
      const hatch_gguf_tensor *t = hatch_gguf_tensor_at(g, i);
      if (t->offset + t->nbytes > data_end) data_end = t->offset + t->nbytes;
    }
    hatch_gguf_close(g);
    /* Every byte of the metadata; then every 97th of the data (the qwen2vl file is 42 KB). */
    int bad = 0;
    for (size_t len = 0; len < n; len += (len < 4096 || k == 0) ? 1 : 97) {
      hatch_gguf_report rep;
      hatch_status st = parse(full, len, &rep);
      bool ok = len >= data_end ? st == HATCH_OK : (st == HATCH_ERR_CORRUPT && strncmp(rep.message, "evil.gguf: ", 11) == 0);
      if (!ok && bad++ < 5)
        HATCH_EXPECT(c, false, "%s cut at %zu: %s (%s)", files[k], len, hatch_status_name(st), rep.message);
    }
    HATCH_EXPECT(c, bad == 0, "%d truncations misjudged", bad);
    free(full);
  }
}

static void test_crafted(hatch_test_ctx *c) {
  bytes b = {0};
  const uint64_t ne8[1] = {8}, ne16[1] = {16}, ne1024[1] = {1024}, ne33[1] = {33}, ne0[1] = {0};
  const uint64_t ne5[5] = {1, 1, 1, 1, 1}, neov[2] = {1ull << 32, 1ull << 32}, nebig[1] = {1ull << 63};

  put(&b, "GGUX", 4), zeros(&b, 20);
  expect_fail(c, &b, HATCH_ERR_CORRUPT, "no \"GGUF\" magic", "bad magic");
  expect_fail(c, &b, HATCH_ERR_CORRUPT, "magic", "empty input");
  put(&b, "GGUF", 4), u32(&b, 3);
  expect_fail(c, &b, HATCH_ERR_CORRUPT, "header at offset 0 needs 24 bytes", "short header");
  put(&b, "GGUF", 4), u32(&b, 1), u64(&b, 0), u64(&b, 0);
  expect_fail(c, &b, HATCH_ERR_UNSUPPORTED, "version 1", "version 1");
  put(&b, "GGUF", 4), u32(&b, 0x03000000u), u64(&b, 0), u64(&b, 0);
  expect_fail(c, &b, HATCH_ERR_UNSUPPORTED, "big-endian", "big-endian");

  hdr(&b, 1ull << 60, 1ull << 61);
  expect_fail(c, &b, HATCH_ERR_CORRUPT, "cannot fit in a file of 24 bytes", "huge counts");
  hdr(&b, 0, 1), str(&b, "tokens"), u32(&b, HATCH_GGUF_TYPE_ARRAY), u32(&b, HATCH_GGUF_TYPE_UINT32), u64(&b, 1ull << 60);
  expect_fail(c, &b, HATCH_ERR_CORRUPT, "KV 'tokens': array of 1152921504606846976 uint32 elements at offset 42", "huge array");
  hdr(&b, 0, 1), str(&b, "tokens"), u32(&b, HATCH_GGUF_TYPE_ARRAY), u32(&b, HATCH_GGUF_TYPE_STRING), u64(&b, 1ull << 60);
  expect_fail(c, &b, HATCH_ERR_CORRUPT, "array of 1152921504606846976 string elements", "huge string array");
  hdr(&b, 0, 1), str(&b, "tokens"), u32(&b, HATCH_GGUF_TYPE_ARRAY), u32(&b, HATCH_GGUF_TYPE_STRING), u64(&b, 2), str(&b, "a");
  u64(&b, 1000), put(&b, "xyz", 3);
  expect_fail(c, &b, HATCH_ERR_CORRUPT, "KV 'tokens': element 1 at offset 63: length 1000 runs past the end", "string element");
  hdr(&b, 0, 1), str(&b, "name"), u32(&b, HATCH_GGUF_TYPE_STRING), u64(&b, 1ull << 63), put(&b, "abc", 3);
  expect_fail(c, &b, HATCH_ERR_CORRUPT, "KV 'name': string value at offset 40: length 9223372036854775808", "huge string");
  hdr(&b, 0, 1), u64(&b, 1ull << 62), zeros(&b, 8);
  expect_fail(c, &b, HATCH_ERR_CORRUPT, "KV 0: key at offset 24", "huge key length");
  hdr(&b, 0, 1), str(&b, "a"), u32(&b, HATCH_GGUF_TYPE_ARRAY), u32(&b, HATCH_GGUF_TYPE_ARRAY), u64(&b, 1), zeros(&b, 16);
  expect_fail(c, &b, HATCH_ERR_CORRUPT, "KV 'a': nested arrays", "nested array");
  hdr(&b, 0, 1), str(&b, "a"), u32(&b, 13), zeros(&b, 8);
  expect_fail(c, &b, HATCH_ERR_CORRUPT, "KV 'a': unknown value type 13 at offset 33", "bad value type");
  hdr(&b, 0, 1), str(&b, "a"), u32(&b, HATCH_GGUF_TYPE_ARRAY), u32(&b, 77), u64(&b, 1), zeros(&b, 8);
  expect_fail(c, &b, HATCH_ERR_CORRUPT, "unknown array element type 77", "bad element type");
  hdr(&b, 0, 2), str(&b, "k"), u32(&b, HATCH_GGUF_TYPE_UINT8), zeros(&b, 1), str(&b, "k"), u32(&b, HATCH_GGUF_TYPE_UINT8), zeros(&b, 1);
  expect_fail(c, &b, HATCH_ERR_CORRUPT, "duplicate key 'k' (KV 1 at offset 38 repeats KV 0)", "duplicate key");
  hdr(&b, 0, 1), u64(&b, 3), put(&b, "a\0b", 3), u32(&b, HATCH_GGUF_TYPE_UINT8), zeros(&b, 1);
  expect_fail(c, &b, HATCH_ERR_CORRUPT, "contains a NUL byte", "NUL in key");
  hdr(&b, 0, 1), str(&b, ""), u32(&b, HATCH_GGUF_TYPE_UINT8), zeros(&b, 1);
  expect_fail(c, &b, HATCH_ERR_CORRUPT, "key at offset 24 is empty", "empty key");
  hdr(&b, 1, 1), str(&b, "general.alignment"), u32(&b, HATCH_GGUF_TYPE_UINT32), u32(&b, 48), tinfo(&b, "t", 1, ne8, 0, 0);
  pad(&b, 48), zeros(&b, 48);
  expect_fail(c, &b, HATCH_ERR_CORRUPT, "general.alignment' = 48 is not a power of two", "alignment 48");
  hdr(&b, 0, 1), str(&b, "general.alignment"), u32(&b, HATCH_GGUF_TYPE_UINT64), u64(&b, 32);
  expect_fail(c, &b, HATCH_ERR_CORRUPT, "has type uint64, expected uint32", "alignment type");

  hdr(&b, 2, 0), tinfo(&b, "t", 1, ne8, 0, 0), tinfo(&b, "t", 1, ne8, 0, 32), pad(&b, 32), zeros(&b, 64);
  expect_fail(c, &b, HATCH_ERR_CORRUPT, "duplicate tensor name 't' (tensor 1 at offset 57 repeats tensor 0)", "dup tensor");
  hdr(&b, 2, 0), tinfo(&b, "a", 1, ne16, 0, 0), tinfo(&b, "b", 1, ne8, 0, 32), pad(&b, 32), zeros(&b, 96);
  expect_fail(c, &b, HATCH_ERR_CORRUPT, "tensors 'a' [offset 96, 64 bytes) and 'b' [offset 128, 32 bytes) overlap", "overlap");
  hdr(&b, 1, 0), tinfo(&b, "t", 1, ne8, 0, 4), pad(&b, 32), zeros(&b, 64);
  expect_fail(c, &b, HATCH_ERR_CORRUPT, "tensor 't': data offset 4 is not a multiple of the alignment 32", "misaligned");
  hdr(&b, 1, 0), tinfo(&b, "blk.3.attn_q.weight", 1, ne1024, 0, 0), pad(&b, 32), zeros(&b, 32);
  expect_fail(c, &b, HATCH_ERR_CORRUPT,
              "tensor 'blk.3.attn_q.weight': data [offset 96, 4096 bytes) runs past the end of the file (size 128)", "past end");
  hdr(&b, 1, 0), tinfo(&b, "t", 1, ne8, 0, 1ull << 63), pad(&b, 32), zeros(&b, 32);
  expect_fail(c, &b, HATCH_ERR_CORRUPT, "runs past the end of the file", "offset near 2^63");
  hdr(&b, 1, 0), tinfo(&b, "t", 1, ne8, 0, 0);
  expect_fail(c, &b, HATCH_ERR_CORRUPT, "data section would start at offset 64, past the end of the file (size 57)", "no data");
  hdr(&b, 1, 0), tinfo(&b, "blk.0.ffn_up.weight", 1, ne8, 99, 0), pad(&b, 32), zeros(&b, 32);
  expect_fail(c, &b, HATCH_ERR_UNSUPPORTED, "tensor 'blk.0.ffn_up.weight': unknown ggml type 99", "unknown type");
  hdr(&b, 1, 0), tinfo(&b, "t", 1, ne8, 4, 0), pad(&b, 32), zeros(&b, 32);
  expect_fail(c, &b, HATCH_ERR_UNSUPPORTED, "unknown ggml type 4", "removed type Q4_2");
  hdr(&b, 1, 0), tinfo(&b, "q", 1, ne33, HATCH_GGML_TYPE_Q8_0, 0), pad(&b, 32), zeros(&b, 96);
  expect_fail(c, &b, HATCH_ERR_CORRUPT, "row of 33 elements is not a whole number of Q8_0 blocks of 32", "partial block");
  hdr(&b, 1, 0), tinfo(&b, "t", 5, ne5, 0, 0), pad(&b, 32), zeros(&b, 32);
  expect_fail(c, &b, HATCH_ERR_CORRUPT, "tensor 't': 5 dimensions", "5 dims");
  hdr(&b, 1, 0), tinfo(&b, "t", 2, neov, 0, 0), zeros(&b, 64);
  expect_fail(c, &b, HATCH_ERR_CORRUPT, "element count overflows at dimension 1", "ne product overflow");
  hdr(&b, 1, 0), tinfo(&b, "t", 1, ne0, 0, 0), zeros(&b, 64);
  expect_fail(c, &b, HATCH_ERR_CORRUPT, "dimension 0 has 0 elements", "ne 0");
  hdr(&b, 1, 0), tinfo(&b, "t", 1, nebig, 0, 0), zeros(&b, 64);
  expect_fail(c, &b, HATCH_ERR_CORRUPT, "dimension 0 has 9223372036854775808 elements", "ne > INT64_MAX");
  hdr(&b, 1, 0), tinfo(&b, "", 1, ne8, 0, 0), pad(&b, 32), zeros(&b, 32);
  expect_fail(c, &b, HATCH_ERR_CORRUPT, "tensor name at offset 24 is empty", "empty tensor name");
  hdr(&b, 1, 0), tinfo(&b, "t", 1, ne8, 0, 0), zeros(&b, 20);
  expect_fail(c, &b, HATCH_ERR_CORRUPT, "data [offset 64, 32 bytes) runs past", "data cut short");

  /* Accepted: bad UTF-8 in a string (kept as bytes), zero tensors without a data section, v2. */
  hatch_gguf_report rep;
  hdr(&b, 0, 1), str(&b, "k"), u32(&b, HATCH_GGUF_TYPE_STRING), u64(&b, 3), put(&b, "\xff\xfe\xc3", 3);
  HATCH_EXPECT(c, parse(b.p, b.n, &rep) == HATCH_OK, "bad UTF-8 rejected: %s", rep.message);
  free(b.p), b = (bytes){0};
  put(&b, "GGUF", 4), u32(&b, 2), u64(&b, 0), u64(&b, 0);
  HATCH_EXPECT(c, parse(b.p, b.n, &rep) == HATCH_OK, "v2 rejected: %s", rep.message);
  free(b.p), b = (bytes){0};
  hdr(&b, 1, 0), tinfo(&b, "s", 0, NULL, 0, 0), pad(&b, 32), zeros(&b, 4);
  HATCH_EXPECT(c, parse(b.p, b.n, &rep) == HATCH_OK, "0-dim scalar rejected: %s", rep.message);
  free(b.p);
}

static void test_random_corruption(hatch_test_ctx *c) {
  size_t n = 0;
  uint8_t *full = read_file(FIX "all_types.gguf", &n);
  HATCH_EXPECT(c, full != NULL, "cannot read all_types.gguf");
  if (!full) return;
  uint8_t *m = malloc(n);
  int ok = 0, failed = 0;
  for (int it = 0; m && it < 3000; it++) {
    memcpy(m, full, n);
    int flips = 1 + (int)hatch_test_uniform(c, 0, 4);
    for (int k = 0; k < flips; k++) {
      /* mostly in the metadata, where the structure is */
      size_t at = (size_t)hatch_test_uniform(c, 0, (float)(it % 4 ? 900 : n));
      if (at >= n) at = n - 1;
      m[at] = (uint8_t)hatch_test_uniform(c, 0, 256);
    }
    hatch_gguf_report rep;
    hatch_gguf *g = NULL;
    hatch_status st = hatch_gguf_parse(m, n, "evil.gguf", &g, &rep);
    if (st == HATCH_OK) {
      ok++;
      /* a file that opens is safe to walk */
      for (int64_t i = 0; i < hatch_gguf_kv_count(g); i++) {
        hatch_gguf_value v;
        hatch_gguf_kv_value(g, i, &v);
        for (uint64_t j = 0; v.type == HATCH_GGUF_TYPE_ARRAY && j < v.arr_len; j++) {
          hatch_gguf_str s;
          int64_t x;
          if (hatch_gguf_arr_str(g, i, j, &s) == HATCH_OK && s.len) (void)*(volatile const char *)(s.data + s.len - 1);
          hatch_gguf_arr_int(g, i, j, &x);
        }
      }
      for (int64_t i = 0; i < hatch_gguf_tensor_count(g); i++) {
        const hatch_gguf_tensor *t = hatch_gguf_tensor_at(g, i);
        HATCH_EXPECT(c, t->offset + t->nbytes <= n, "tensor past the end accepted");
      }
    } else {
      failed++;
      HATCH_EXPECT(c, strncmp(rep.message, "evil.gguf: ", 11) == 0 && strlen(rep.message) > 14, "empty message for %s",
                   hatch_status_name(st));
    }
    hatch_gguf_close(g);
  }
  printf("  random corruption: %d parsed, %d rejected\n", ok, failed);
  HATCH_EXPECT(c, failed > 100, "corruption is hardly ever detected (%d)", failed);
  free(m);
  free(full);
}

static void test_open_errors(hatch_test_ctx *c) {
  hatch_gguf *g = (hatch_gguf *)1;
  hatch_gguf_report rep;
  HATCH_EXPECT(c, hatch_gguf_open("/nonexistent/model.gguf", &g, &rep) == HATCH_ERR_NOT_FOUND && g == NULL, "missing file");
  HATCH_EXPECT(c, strstr(rep.message, "/nonexistent/model.gguf: cannot open") != NULL, "message: %s", rep.message);
  HATCH_EXPECT(c, hatch_gguf_open(HATCH_FIXTURE_DIR, &g, &rep) == HATCH_ERR_IO, "directory: %s", rep.message);
  HATCH_EXPECT(c, hatch_gguf_open(FIX "all_types.txt", &g, &rep) == HATCH_ERR_CORRUPT && strstr(rep.message, "magic"),
               "text file: %s", rep.message);
  HATCH_EXPECT(c, hatch_gguf_open(NULL, &g, &rep) == HATCH_ERR_INVALID_ARGUMENT, "NULL path");
  HATCH_EXPECT(c, hatch_gguf_parse(NULL, 5, "x", &g, NULL) == HATCH_ERR_INVALID_ARGUMENT, "NULL data");
}

int main(int argc, char **argv) {
  const hatch_test_case cases[] = {
      {"truncated_every_byte", test_truncated_every_byte, false},
      {"crafted", test_crafted, false},
      {"random_corruption", test_random_corruption, false},
      {"open_errors", test_open_errors, false},
  };
  return hatch_test_main(argc, argv, cases, (int)(sizeof(cases) / sizeof(cases[0])));
}
