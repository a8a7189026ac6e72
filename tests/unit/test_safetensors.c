/* safetensors reader (runtime/model/safetensors.c) against files the reference implementation wrote
 * (tools/gen_safetensors_fixtures.py: the `safetensors` package, expected values from numpy):
 * values read exactly, shards resolved; then every validation error path on headers built here
 * (truncated, huge, bad JSON, unknown dtype, offsets, overlap, holes, size mismatch, duplicates,
 * limits) and on sharded checkpoints made in a temp dir (missing shard, weight_map naming a tensor
 * its shard lacks, unlisted tensors, path traversal). CPU only. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "hatch/safetensors.h"

#define FIX HATCH_FIXTURE_DIR "/safetensors"

/* ---- helpers ------------------------------------------------------------------------------- */

static uint8_t *read_all(const char *path, size_t *size) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *buf = malloc(n > 0 ? (size_t)n : 1);
  if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
    free(buf);
    buf = NULL;
  }
  fclose(f);
  *size = (size_t)n;
  return buf;
}

static bool write_all(const char *path, const void *data, size_t n) {
  FILE *f = fopen(path, "wb");
  if (!f) return false;
  bool ok = fwrite(data, 1, n, f) == n;
  return fclose(f) == 0 && ok;
}

/* expected.bin: per tensor u32 name length, name, u32 n, f32[n]. Returns the values of `name`. */
static float *expected_values(const char *path, const char *name, int64_t *n_out) {
  size_t size = 0, pos = 0;
  uint8_t *b = read_all(path, &size);
  float *out = NULL;
  while (b && pos + 8 <= size) {
    uint32_t len, n;
    memcpy(&len, b + pos, 4);
    bool match = len == strlen(name) && memcmp(b + pos + 4, name, len) == 0;
    memcpy(&n, b + pos + 4 + len, 4);
    if (match) {
      out = malloc((size_t)n * 4 + 4);
      if (out) memcpy(out, b + pos + 8 + len, (size_t)n * 4);
      *n_out = n;
      break;
    }
    pos += 8 + len + (size_t)n * 4;
  }
  free(b);
  return out;
}

/* Converts tensor `name` of ckpt and compares bit for bit with expected.bin. */
static void check_values(hatch_test_ctx *c, const hatch_st_tensor *t, const char *expected_bin) {
  HATCH_EXPECT(c, t != NULL, "tensor missing");
  if (!t) return;
  int64_t n = -1;
  float *want = expected_values(expected_bin, t->name, &n);
  HATCH_EXPECT(c, want && n == t->n_elems, "%s: expected.bin has %lld values, tensor %lld", t->name, (long long)n,
               (long long)t->n_elems);
  float *got = malloc((size_t)t->n_elems * 4 + 4);
  if (want && got && n == t->n_elems) {
    HATCH_EXPECT_OK(c, hatch_st_tensor_to_f32(t, 0, t->n_elems, got));
    HATCH_EXPECT(c, memcmp(got, want, (size_t)n * 4) == 0, "%s: values differ from numpy's", t->name);
  }
  free(want);
  free(got);
}

/* A safetensors file in memory: u64 header length, header, `data_len` bytes of pattern. */
static uint8_t *make_st(const char *header, size_t data_len, size_t *size) {
  size_t hl = strlen(header);
  *size = 8 + hl + data_len;
  uint8_t *b = malloc(*size);
  if (!b) return NULL;
  uint64_t n = hl;
  memcpy(b, &n, 8);
  memcpy(b + 8, header, hl);
  for (size_t i = 0; i < data_len; i++) b[8 + hl + i] = (uint8_t)(i * 7 + 1);
  return b;
}

/* Parses a header + data from memory, expects `want`, and a message containing `needle`. */
static void expect_header(hatch_test_ctx *c, const char *header, size_t data_len, hatch_status want,
                          const char *needle) {
  size_t size;
  uint8_t *b = make_st(header, data_len, &size);
  hatch_st_file *f = NULL;
  hatch_st_report rep;
  hatch_status st = hatch_st_file_parse(b, size, "mem.safetensors", &f, &rep);
  HATCH_EXPECT(c, st == want, "header %.80s: got %s, want %s (%s)", header, hatch_status_name(st),
               hatch_status_name(want), rep.message);
  HATCH_EXPECT(c, (st == HATCH_OK) == (f != NULL), "handle iff success");
  if (st != HATCH_OK) {
    HATCH_EXPECT(c, strncmp(rep.message, "mem.safetensors: ", 17) == 0, "message does not name the file: %s", rep.message);
    HATCH_EXPECT(c, !needle || strstr(rep.message, needle), "message '%s' lacks '%s'", rep.message, needle);
  }
  hatch_st_file_close(f);
  free(b);
}

static bool make_tmpdir(hatch_test_ctx *c, char *out, size_t cap) {
  snprintf(out, cap, "/tmp/hatch_st_XXXXXX");
  bool ok = mkdtemp(out) != NULL;
  HATCH_EXPECT(c, ok, "mkdtemp failed");
  return ok;
}

static void rm_tree(const char *dir, const char *const *names, int n) {
  char p[512];
  for (int i = 0; i < n; i++) {
    snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
    unlink(p);
  }
  rmdir(dir);
}

/* ---- reading ------------------------------------------------------------------------------- */

static void test_tiny_values(hatch_test_ctx *c) {
  hatch_st_file *f = NULL;
  hatch_st_report rep;
  HATCH_EXPECT_OK(c, hatch_st_file_open(FIX "/tiny/model.safetensors", &f, &rep));
  if (!f) return;
  HATCH_EXPECT(c, hatch_st_file_count(f) == 6, "count %lld", (long long)hatch_st_file_count(f));
  const char *order[6] = {"a.bf16", "b.f16", "c.f32", "d.i64", "e.scalar", "f.empty"};
  for (int i = 0; i < 6; i++) {
    const hatch_st_tensor *t = hatch_st_file_tensor(f, i);
    HATCH_EXPECT(c, t && strcmp(t->name, order[i]) == 0, "tensor %d is %s", i, t ? t->name : "NULL");
    HATCH_EXPECT(c, hatch_st_file_find(f, order[i]) == t, "find %s", order[i]);
  }
  HATCH_EXPECT(c, hatch_st_file_tensor(f, 6) == NULL && hatch_st_file_tensor(f, -1) == NULL, "out of range");
  HATCH_EXPECT(c, hatch_st_file_find(f, "a.bf1") == NULL && hatch_st_file_find(f, "zzz") == NULL, "absent names");

  const hatch_st_tensor *a = hatch_st_file_find(f, "a.bf16"), *b = hatch_st_file_find(f, "b.f16");
  const hatch_st_tensor *d = hatch_st_file_find(f, "d.i64"), *e = hatch_st_file_find(f, "e.scalar");
  const hatch_st_tensor *z = hatch_st_file_find(f, "f.empty");
  HATCH_EXPECT(c, a->dtype == HATCH_ST_BF16 && a->n_dims == 2 && a->shape[0] == 3 && a->shape[1] == 5 &&
                      a->n_elems == 15 && a->nbytes == 30, "a.bf16 shape");
  HATCH_EXPECT(c, b->dtype == HATCH_ST_F16 && b->n_dims == 3 && b->shape[2] == 4 && b->nbytes == 48, "b.f16 shape");
  HATCH_EXPECT(c, e->n_dims == 0 && e->n_elems == 1 && e->nbytes == 4, "scalar");
  HATCH_EXPECT(c, z->n_elems == 0 && z->nbytes == 0 && z->shape[0] == 0 && z->shape[1] == 3, "empty tensor");
  HATCH_EXPECT(c, d->dtype == HATCH_ST_I64 && !hatch_st_dtype_is_float(d->dtype), "i64 dtype");
  HATCH_EXPECT(c, strcmp(a->file, FIX "/tiny/model.safetensors") == 0, "tensor names its file");
  int64_t iv[2];
  memcpy(iv, d->data, 16);
  HATCH_EXPECT(c, iv[0] == 1 && iv[1] == -1, "i64 data %lld %lld", (long long)iv[0], (long long)iv[1]);
  float tmp[16];
  HATCH_EXPECT(c, hatch_st_tensor_to_f32(d, 0, 2, tmp) == HATCH_ERR_TYPE, "i64 to f32 must be refused");

  /* Hand-checked values, then every float tensor against numpy. */
  HATCH_EXPECT_OK(c, hatch_st_tensor_to_f32(a, 0, 15, tmp));
  HATCH_EXPECT(c, tmp[0] == 1.0f && tmp[1] == -2.5f && tmp[2] == 3.140625f, "bf16 values %g %g %g", tmp[0], tmp[1], tmp[2]);
  HATCH_EXPECT(c, tmp[3] == 0.0f && signbit(tmp[3]) && isinf(tmp[4]) && tmp[4] > 0 && isinf(tmp[5]) && tmp[5] < 0,
               "bf16 -0/inf");
  HATCH_EXPECT(c, tmp[6] == 0x1.fep127f && tmp[7] > 0 && tmp[7] < 0x1p-126f, "bf16 max %a, subnormal %a", tmp[6], tmp[7]);
  HATCH_EXPECT_OK(c, hatch_st_tensor_to_f32(b, 0, 3, tmp));
  HATCH_EXPECT(c, tmp[0] == 65504.0f && signbit(tmp[1]) && tmp[2] == 0x1p-24f, "f16 values %g %g %g", tmp[0], tmp[1], tmp[2]);
  HATCH_EXPECT_OK(c, hatch_st_tensor_to_f32(e, 0, 1, tmp));
  HATCH_EXPECT(c, tmp[0] == 42.0f, "scalar %g", tmp[0]);
  for (int i = 0; i < 6; i++)
    if (hatch_st_dtype_is_float(hatch_st_file_tensor(f, i)->dtype))
      check_values(c, hatch_st_file_tensor(f, i), FIX "/tiny/expected.bin");

  /* Rows are along the innermost dim; ranges are checked. */
  float row[5], all[15];
  HATCH_EXPECT_OK(c, hatch_st_tensor_to_f32(a, 0, 15, all));
  HATCH_EXPECT_OK(c, hatch_st_tensor_row_to_f32(a, 2, row, 5));
  HATCH_EXPECT(c, memcmp(row, all + 10, sizeof(row)) == 0, "row 2 is elements 10..14");
  HATCH_EXPECT(c, hatch_st_tensor_row_to_f32(a, 3, row, 5) == HATCH_ERR_INVALID_ARGUMENT, "row 3 of 3");
  HATCH_EXPECT(c, hatch_st_tensor_row_to_f32(a, 0, row, 4) == HATCH_ERR_INVALID_ARGUMENT, "short dst");
  HATCH_EXPECT(c, hatch_st_tensor_to_f32(a, 10, 6, all) == HATCH_ERR_INVALID_ARGUMENT, "range past the end");
  HATCH_EXPECT(c, hatch_st_tensor_to_f32(a, -1, 1, all) == HATCH_ERR_INVALID_ARGUMENT, "negative first");
  HATCH_EXPECT_OK(c, hatch_st_tensor_to_f32(z, 0, 0, all));
  HATCH_EXPECT(c, hatch_st_tensor_row_to_f32(z, 0, row, 5) == HATCH_ERR_INVALID_ARGUMENT, "no rows in an empty tensor");

  const char *k = NULL, *v = NULL;
  HATCH_EXPECT(c, hatch_st_file_metadata_count(f) == 2, "metadata count");
  HATCH_EXPECT(c, hatch_st_file_metadata_get(f, "format") && strcmp(hatch_st_file_metadata_get(f, "format"), "pt") == 0,
               "metadata format");
  HATCH_EXPECT(c, hatch_st_file_metadata_at(f, 1, &k, &v) && k && v, "metadata at 1");
  HATCH_EXPECT(c, !hatch_st_file_metadata_at(f, 2, &k, &v) && !hatch_st_file_metadata_get(f, "nope"), "metadata absent");
  hatch_st_file_close(f);
}

static void test_parse_from_memory(hatch_test_ctx *c) {
  size_t size = 0;
  uint8_t *bytes = read_all(FIX "/tiny/model.safetensors", &size);
  HATCH_EXPECT(c, bytes != NULL, "read fixture");
  if (!bytes) return;
  hatch_st_file *f = NULL;
  HATCH_EXPECT_OK(c, hatch_st_file_parse(bytes, size, NULL, &f, NULL));
  HATCH_EXPECT(c, f && hatch_st_file_count(f) == 6 && strcmp(hatch_st_file_name(f), "<memory>") == 0, "memory parse");
  if (f) check_values(c, hatch_st_file_find(f, "a.bf16"), FIX "/tiny/expected.bin");
  if (f) HATCH_EXPECT(c, hatch_st_file_find(f, "a.bf16")->data >= bytes, "data points into the caller's bytes");
  hatch_st_file_close(f);
  free(bytes);
}

static void test_checkpoint_single(hatch_test_ctx *c) {
  hatch_st_checkpoint *ck = NULL;
  HATCH_EXPECT_OK(c, hatch_st_checkpoint_open_dir(FIX "/tiny", &ck, NULL));
  if (!ck) return;
  HATCH_EXPECT(c, hatch_st_checkpoint_n_files(ck) == 1 && hatch_st_checkpoint_count(ck) == 6, "single-file checkpoint");
  HATCH_EXPECT(c, hatch_st_checkpoint_data_bytes(ck) == 30 + 48 + 28 + 16 + 4, "data bytes %llu",
               (unsigned long long)hatch_st_checkpoint_data_bytes(ck));
  check_values(c, hatch_st_checkpoint_find(ck, "b.f16"), FIX "/tiny/expected.bin");
  HATCH_EXPECT(c, hatch_st_checkpoint_tensor(ck, 5) && !hatch_st_checkpoint_tensor(ck, 6), "iterate");
  hatch_st_checkpoint_close(ck);
}

static void test_checkpoint_sharded(hatch_test_ctx *c) {
  hatch_st_checkpoint *ck = NULL;
  hatch_st_report rep;
  HATCH_EXPECT_OK(c, hatch_st_checkpoint_open_dir(FIX "/sharded", &ck, &rep));
  if (!ck) return;
  HATCH_EXPECT(c, hatch_st_checkpoint_n_files(ck) == 2 && hatch_st_checkpoint_count(ck) == 4, "2 shards, 4 tensors");
  const char *names[4] = {"lm_head.weight", "model.layers.0.mlp.up_proj.weight", "model.layers.1.mlp.up_proj.weight",
                          "model.norm.weight"};
  const char *shard[4] = {"00002", "00001", "00002", "00001"};
  uint64_t total = 0;
  for (int i = 0; i < 4; i++) {
    const hatch_st_tensor *t = hatch_st_checkpoint_find(ck, names[i]);
    HATCH_EXPECT(c, t && hatch_st_checkpoint_tensor(ck, i) == t, "%s at %d", names[i], i);
    if (!t) continue;
    HATCH_EXPECT(c, strstr(t->file, shard[i]) != NULL, "%s resolved to %s", names[i], t->file);
    check_values(c, t, FIX "/sharded/expected.bin");
    total += t->nbytes;
  }
  HATCH_EXPECT(c, hatch_st_checkpoint_data_bytes(ck) == total, "data bytes");
  HATCH_EXPECT(c, hatch_st_checkpoint_find(ck, "model.embed_tokens.weight") == NULL, "absent tensor");
  HATCH_EXPECT(c, hatch_st_checkpoint_find(ck, "model.layers.1.mlp.up_proj.weight")->shape[1] == 8, "shape from shard 2");
  hatch_st_checkpoint_close(ck);
}

/* ---- errors ------------------------------------------------------------------------------- */

static void test_truncated(hatch_test_ctx *c) {
  size_t size = 0;
  uint8_t *bytes = read_all(FIX "/tiny/model.safetensors", &size);
  if (!bytes) return;
  uint64_t n;
  memcpy(&n, bytes, 8);
  char dir[64], path[128];
  if (!make_tmpdir(c, dir, sizeof(dir))) {
    free(bytes);
    return;
  }
  snprintf(path, sizeof(path), "%s/cut.safetensors", dir);
  const size_t cuts[] = {0, 1, 7, 8, 9, 8 + n / 2, 8 + n - 1, 8 + n, 8 + n + 1, 8 + n + 47, size - 1};
  for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
    hatch_st_file *f = NULL;
    hatch_st_report rep;
    HATCH_EXPECT(c, write_all(path, bytes, cuts[i]), "write cut");
    hatch_status st = hatch_st_file_open(path, &f, &rep);
    HATCH_EXPECT(c, st == HATCH_ERR_CORRUPT && !f, "cut at %zu: %s", cuts[i], hatch_status_name(st));
    HATCH_EXPECT(c, strstr(rep.message, path) == rep.message, "cut at %zu: message %s", cuts[i], rep.message);
    hatch_st_file_close(f);
    st = hatch_st_file_parse(bytes, cuts[i], "m", &f, &rep);
    HATCH_EXPECT(c, st == HATCH_ERR_CORRUPT && !f, "memory cut at %zu: %s", cuts[i], hatch_status_name(st));
  }
  const char *names[] = {"cut.safetensors"};
  rm_tree(dir, names, 1);
  free(bytes);
}

static void test_header_length(hatch_test_ctx *c) {
  uint8_t b[64] = {0};
  hatch_st_file *f = NULL;
  hatch_st_report rep;
  uint64_t huge[] = {HATCH_ST_MAX_HEADER + 1, UINT64_MAX, (uint64_t)1 << 63};
  for (int i = 0; i < 3; i++) {
    memcpy(b, &huge[i], 8);
    hatch_status st = hatch_st_file_parse(b, sizeof(b), "h", &f, &rep);
    HATCH_EXPECT(c, st == HATCH_ERR_TOO_LARGE, "length %llu: %s", (unsigned long long)huge[i], hatch_status_name(st));
    HATCH_EXPECT(c, strstr(rep.message, "header length"), "message %s", rep.message);
  }
  uint64_t past = 57; /* 8 + 57 > 64 */
  memcpy(b, &past, 8);
  HATCH_EXPECT(c, hatch_st_file_parse(b, sizeof(b), "h", &f, &rep) == HATCH_ERR_CORRUPT && strstr(rep.message, "runs past"),
               "length past the end: %s", rep.message);
  expect_header(c, "{}", 0, HATCH_OK, NULL);            /* an empty checkpoint is valid */
  expect_header(c, "{}      ", 0, HATCH_OK, NULL);      /* the writer pads with spaces */
  expect_header(c, "", 0, HATCH_ERR_CORRUPT, "does not start with '{'");
  expect_header(c, "{}", 4, HATCH_ERR_CORRUPT, "no tensors but 4 data bytes");
}

static void test_bad_json(hatch_test_ctx *c) {
  expect_header(c, "[1, 2]", 0, HATCH_ERR_CORRUPT, "does not start with '{'");
  expect_header(c, "{\"a\": {", 0, HATCH_ERR_CORRUPT, "malformed");
  expect_header(c, "{\"a\" 1}", 0, HATCH_ERR_CORRUPT, "malformed");
  expect_header(c, "{} x", 0, HATCH_ERR_CORRUPT, "after the header JSON");
  expect_header(c, "{\"a\": 3}", 0, HATCH_ERR_CORRUPT, "'a': entry is not a JSON object");
  expect_header(c, "{\"a\": {\"shape\": [1], \"data_offsets\": [0, 4]}}", 4, HATCH_ERR_CORRUPT, "'a': no \"dtype\"");
  expect_header(c, "{\"a\": {\"dtype\": \"F32\", \"data_offsets\": [0, 4]}}", 4, HATCH_ERR_CORRUPT, "no \"shape\"");
  expect_header(c, "{\"a\": {\"dtype\": \"F32\", \"shape\": [-1], \"data_offsets\": [0, 4]}}", 4, HATCH_ERR_CORRUPT,
                "shape[0] is not an integer >= 0");
  expect_header(c, "{\"a\": {\"dtype\": \"F32\", \"shape\": [1.5], \"data_offsets\": [0, 4]}}", 4, HATCH_ERR_CORRUPT,
                "shape[0]");
  expect_header(c, "{\"a\": {\"dtype\": \"F32\", \"shape\": [\"1\"], \"data_offsets\": [0, 4]}}", 4, HATCH_ERR_CORRUPT,
                "shape[0]");
  expect_header(c, "{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0]}}", 4, HATCH_ERR_CORRUPT,
                "data_offsets");
  expect_header(c, "{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [4, 0]}}", 4, HATCH_ERR_CORRUPT,
                "end before begin");
  expect_header(c, "{\"__metadata__\": {\"k\": 1}}", 0, HATCH_ERR_CORRUPT, "__metadata__['k'] is not a string");
  expect_header(c, "{\"__metadata__\": [1]}", 0, HATCH_ERR_CORRUPT, "__metadata__ is not an object");
}

static void test_dtypes(hatch_test_ctx *c) {
  expect_header(c, "{\"w\": {\"dtype\": \"F4\", \"shape\": [2], \"data_offsets\": [0, 1]}}", 1, HATCH_ERR_UNSUPPORTED,
                "tensor 'w': unknown dtype 'F4'");
  expect_header(c, "{\"w\": {\"dtype\": \"bf16\", \"shape\": [2], \"data_offsets\": [0, 4]}}", 4, HATCH_ERR_UNSUPPORTED,
                "'bf16'");
  /* Every known dtype parses with its element size. */
  for (int d = 0; d < HATCH_ST_DTYPE_COUNT; d++) {
    char h[160];
    size_t sz = hatch_st_dtype_size((hatch_st_dtype)d);
    snprintf(h, sizeof(h), "{\"t\": {\"dtype\": \"%s\", \"shape\": [3], \"data_offsets\": [0, %zu]}}",
             hatch_st_dtype_name((hatch_st_dtype)d), 3 * sz);
    expect_header(c, h, 3 * sz, HATCH_OK, NULL);
  }
  HATCH_EXPECT(c, strcmp(hatch_st_dtype_name(HATCH_ST_DTYPE_COUNT), "?") == 0 && hatch_st_dtype_size(HATCH_ST_DTYPE_COUNT) == 0,
               "outside the enum");
}

static void test_offsets_and_layout(hatch_test_ctx *c) {
  expect_header(c, "{\"w\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [0, 16]}}", 12, HATCH_ERR_CORRUPT,
                "tensor 'w': data_offsets [0, 16] end past the data section (12 bytes");
  expect_header(c, "{\"w\": {\"dtype\": \"F32\", \"shape\": [2, 3], \"data_offsets\": [0, 20]}}", 20, HATCH_ERR_CORRUPT,
                "hold 20 bytes, shape of 6 F32 elements needs 24");
  expect_header(c, "{\"w\": {\"dtype\": \"BF16\", \"shape\": [1099511627776, 1099511627776], \"data_offsets\": [0, 2]}}", 2,
                HATCH_ERR_CORRUPT, "shape overflows");
  expect_header(c, "{\"w\": {\"dtype\": \"F64\", \"shape\": [2147483648, 2147483648], \"data_offsets\": [0, 8]}}", 8,
                HATCH_ERR_CORRUPT, "overflows");
  expect_header(c,
                "{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]},"
                " \"b\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [4, 12]}}",
                12, HATCH_ERR_CORRUPT, "overlaps tensor 'a'");
  expect_header(c,
                "{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]},"
                " \"b\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]}}",
                8, HATCH_ERR_CORRUPT, "overlaps");
  expect_header(c,
                "{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]},"
                " \"b\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [8, 12]}}",
                12, HATCH_ERR_CORRUPT, "belong to no tensor");
  expect_header(c, "{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}}", 6, HATCH_ERR_CORRUPT,
                "after the last tensor");
  /* Zero-size tensors may sit anywhere on a boundary; out-of-order offsets are fine. */
  expect_header(c,
                "{\"z\": {\"dtype\": \"F32\", \"shape\": [0], \"data_offsets\": [4, 4]},"
                " \"b\": {\"dtype\": \"U8\", \"shape\": [2], \"data_offsets\": [4, 6]},"
                " \"a\": {\"dtype\": \"I32\", \"shape\": [], \"data_offsets\": [0, 4]}}",
                6, HATCH_OK, NULL);
}

static void test_names_and_limits(hatch_test_ctx *c) {
  expect_header(c,
                "{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]},"
                " \"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [4, 8]}}",
                8, HATCH_ERR_CORRUPT, "tensor 'a' appears twice");
  expect_header(c, "{\"__metadata__\": {}, \"__metadata__\": {}}", 0, HATCH_ERR_CORRUPT, "twice");
  expect_header(c, "{\"\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}}", 4, HATCH_ERR_CORRUPT, "0 bytes");
  char h[1200], name[520];
  for (int len = 512; len <= 513; len++) {
    memset(name, 'n', (size_t)len);
    name[len] = '\0';
    snprintf(h, sizeof(h), "{\"%s\": {\"dtype\": \"U8\", \"shape\": [1], \"data_offsets\": [0, 1]}}", name);
    expect_header(c, h, 1, len == 512 ? HATCH_OK : HATCH_ERR_TOO_LARGE, "513 bytes");
  }
  expect_header(c, "{\"d8\": {\"dtype\": \"U8\", \"shape\": [1,1,1,1,1,1,1,1], \"data_offsets\": [0, 1]}}", 1, HATCH_OK, NULL);
  expect_header(c, "{\"d9\": {\"dtype\": \"U8\", \"shape\": [1,1,1,1,1,1,1,1,1], \"data_offsets\": [0, 1]}}", 1,
                HATCH_ERR_TOO_LARGE, "9 dims");
}

static void test_open_errors(hatch_test_ctx *c) {
  hatch_st_file *f = NULL;
  hatch_st_checkpoint *ck = NULL;
  hatch_st_report rep;
  HATCH_EXPECT(c, hatch_st_file_open("/nonexistent/x.safetensors", &f, &rep) == HATCH_ERR_NOT_FOUND && !f, "missing file");
  HATCH_EXPECT(c, hatch_st_file_open(FIX, &f, &rep) == HATCH_ERR_IO && !f, "a directory: %s", rep.message);
  HATCH_EXPECT(c, hatch_st_file_open(NULL, &f, NULL) == HATCH_ERR_INVALID_ARGUMENT, "NULL path");
  HATCH_EXPECT(c, hatch_st_file_parse(NULL, 4, "x", &f, NULL) == HATCH_ERR_INVALID_ARGUMENT, "NULL bytes");
  HATCH_EXPECT(c, hatch_st_checkpoint_open_dir(FIX, &ck, &rep) == HATCH_ERR_NOT_FOUND && !ck, "dir without model");
  HATCH_EXPECT(c, strstr(rep.message, "neither model.safetensors nor"), "message %s", rep.message);
  HATCH_EXPECT(c, hatch_st_checkpoint_open_index("/nonexistent/i.json", &ck, &rep) == HATCH_ERR_NOT_FOUND, "no index");
  hatch_st_file_close(NULL);
  hatch_st_checkpoint_close(NULL);
  HATCH_EXPECT(c, hatch_st_file_count(NULL) == 0 && hatch_st_checkpoint_count(NULL) == 0, "NULL accessors");
}

/* A temp dir with both fixture shards and the given index text; opens it and checks the outcome. */
static void expect_index(hatch_test_ctx *c, const char *index, bool with_shard2, hatch_status want, const char *needle) {
  char dir[64], p[160];
  if (!make_tmpdir(c, dir, sizeof(dir))) return;
  const char *names[3] = {"model.safetensors.index.json", "model-00001-of-00002.safetensors",
                          "model-00002-of-00002.safetensors"};
  for (int i = 1; i < (with_shard2 ? 3 : 2); i++) {
    char src[256];
    size_t n = 0;
    snprintf(src, sizeof(src), "%s/%s", FIX "/sharded", names[i]);
    uint8_t *b = read_all(src, &n);
    snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
    HATCH_EXPECT(c, b && write_all(p, b, n), "copy %s", names[i]);
    free(b);
  }
  snprintf(p, sizeof(p), "%s/%s", dir, names[0]);
  HATCH_EXPECT(c, write_all(p, index, strlen(index)), "write index");
  hatch_st_checkpoint *ck = NULL;
  hatch_st_report rep;
  hatch_status st = hatch_st_checkpoint_open_dir(dir, &ck, &rep);
  HATCH_EXPECT(c, st == want && (st == HATCH_OK) == (ck != NULL), "index %.60s: got %s, want %s (%s)", index,
               hatch_status_name(st), hatch_status_name(want), rep.message);
  HATCH_EXPECT(c, st == HATCH_OK || (strstr(rep.message, "model.safetensors.index.json") && strstr(rep.message, needle)),
               "message '%s' lacks '%s'", rep.message, needle);
  hatch_st_checkpoint_close(ck);
  rm_tree(dir, names, 3);
}

#define S1 "\"model-00001-of-00002.safetensors\""
#define S2 "\"model-00002-of-00002.safetensors\""
#define WM_OK                                                                                            \
  "\"lm_head.weight\": " S2 ", \"model.layers.0.mlp.up_proj.weight\": " S1 ", \"model.layers.1.mlp.up_proj.weight\": " S2 \
  ", \"model.norm.weight\": " S1

static void test_sharded_errors(hatch_test_ctx *c) {
  expect_index(c, "{\"metadata\": {}, \"weight_map\": {" WM_OK "}}", true, HATCH_OK, NULL);
  expect_index(c, "{\"weight_map\": {" WM_OK "}}", false, HATCH_ERR_NOT_FOUND,
               "shard 'model-00002-of-00002.safetensors' is missing");
  expect_index(c, "{\"weight_map\": {" WM_OK ", \"ghost.weight\": " S1 "}}", true, HATCH_ERR_NOT_FOUND,
               "weight_map names tensor 'ghost.weight' in shard 'model-00001-of-00002.safetensors'");
  expect_index(c,
               "{\"weight_map\": {\"lm_head.weight\": " S2 ", \"model.layers.0.mlp.up_proj.weight\": " S1
               ", \"model.layers.1.mlp.up_proj.weight\": " S2 "}}",
               true, HATCH_ERR_CORRUPT, "holds tensor 'model.norm.weight' which the weight_map does not list");
  expect_index(c,
               "{\"weight_map\": {\"lm_head.weight\": " S1 ", \"model.layers.0.mlp.up_proj.weight\": " S1
               ", \"model.layers.1.mlp.up_proj.weight\": " S2 ", \"model.norm.weight\": " S1 "}}",
               true, HATCH_ERR_CORRUPT, "assigns to another shard");
  expect_index(c, "{\"weight_map\": {" WM_OK ", \"x\": \"../model-00001-of-00002.safetensors\"}}", true,
               HATCH_ERR_CORRUPT, "weight_map['x'] is not a plain file name");
  expect_index(c, "{\"weight_map\": {\"x\": \"/etc/passwd\"}}", true, HATCH_ERR_CORRUPT, "plain file name");
  expect_index(c, "{\"weight_map\": {" WM_OK ", \"lm_head.weight\": " S2 "}}", true, HATCH_ERR_CORRUPT,
               "lists tensor 'lm_head.weight' twice");
  expect_index(c, "{\"weight_map\": [1]}", true, HATCH_ERR_CORRUPT, "no \"weight_map\" object");
  expect_index(c, "{\"weight_map\": {", true, HATCH_ERR_CORRUPT, "malformed JSON");
  expect_index(c, "{\"weight_map\": {\"a\": 3}}", true, HATCH_ERR_CORRUPT, "weight_map['a']");
}

int main(int argc, char **argv) {
  const hatch_test_case cases[] = {
      {"tiny_values", test_tiny_values, false},
      {"parse_from_memory", test_parse_from_memory, false},
      {"checkpoint_single", test_checkpoint_single, false},
      {"checkpoint_sharded", test_checkpoint_sharded, false},
      {"truncated", test_truncated, false},
      {"header_length", test_header_length, false},
      {"bad_json", test_bad_json, false},
      {"dtypes", test_dtypes, false},
      {"offsets_and_layout", test_offsets_and_layout, false},
      {"names_and_limits", test_names_and_limits, false},
      {"open_errors", test_open_errors, false},
      {"sharded_errors", test_sharded_errors, false},
  };
  return hatch_test_main(argc, argv, cases, (int)(sizeof(cases) / sizeof(cases[0])));
}
