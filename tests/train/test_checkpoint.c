/* Checkpoint container: bitwise round trip (file and memory), crash-safe replacement, every
 * truncation and every single-byte corruption refused with a message naming the place, layout
 * checks; and the trainer's PRNG (reference values, state save/restore). */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "hatch/train_checkpoint.h"

enum { NP = 1000 };

typedef struct sample {
  float params[NP], m[NP], v[NP];
  char state[128];
  hatch_param_desc descs[3];
} sample;

static void make_sample(hatch_test_ctx *c, sample *s) {
  hatch_test_fill(c, s->params, NP, -3, 3);
  hatch_test_fill(c, s->m, NP, -1e-3f, 1e-3f);
  hatch_test_fill(c, s->v, NP, 0, 1e-6f);
  /* Values whose bits matter: -0, a denormal, a NaN payload, inf. */
  s->params[0] = -0.0f;
  s->params[1] = 1e-40f;
  uint32_t nan_bits = 0x7fc01234u;
  memcpy(&s->params[2], &nan_bits, 4);
  s->params[3] = INFINITY;
  snprintf(s->state, sizeof s->state, "{\"step\":123,\"rng\":\"%064d\",\"cursor\":77}", 1);
  s->descs[0] = (hatch_param_desc){"token_embd.weight", 0, 600, 2, true};
  s->descs[1] = (hatch_param_desc){"blk.0.attn_norm.weight", 600, 40, 1, false};
  s->descs[2] = (hatch_param_desc){"blk.0.ffn_up.weight", 640, 360, 2, true};
}

static hatch_ckpt_writer *make_writer(hatch_test_ctx *c, const sample *s) {
  hatch_ckpt_writer *w = NULL;
  HATCH_EXPECT_OK(c, hatch_ckpt_writer_create(&w));
  static const char config[] = "{\"d_model\":64,\"n_layers\":2}";
  HATCH_EXPECT_OK(c, hatch_ckpt_writer_add(w, "config", HATCH_CKPT_JSON, config, sizeof config - 1));
  HATCH_EXPECT_OK(c, hatch_ckpt_writer_add_layout(w, NP, s->descs, 3));
  HATCH_EXPECT_OK(c, hatch_ckpt_writer_add(w, "params", HATCH_CKPT_F32, s->params, sizeof s->params));
  HATCH_EXPECT_OK(c, hatch_ckpt_writer_add(w, "adam.m", HATCH_CKPT_F32, s->m, sizeof s->m));
  HATCH_EXPECT_OK(c, hatch_ckpt_writer_add(w, "adam.v", HATCH_CKPT_F32, s->v, sizeof s->v));
  HATCH_EXPECT_OK(c, hatch_ckpt_writer_add_copy(w, "state", HATCH_CKPT_JSON, s->state, strlen(s->state)));
  HATCH_EXPECT_OK(c, hatch_ckpt_writer_add(w, "empty", HATCH_CKPT_BYTES, NULL, 0));
  return w;
}

static char *tmp_dir(void) {
  char *d = malloc(64);
  snprintf(d, 64, "/tmp/hatch_ckpt_test_XXXXXX");
  return mkdtemp(d) ? d : NULL;
}

static void test_round_trip(hatch_test_ctx *c) {
  static sample s;
  make_sample(c, &s);
  hatch_ckpt_writer *w = make_writer(c, &s);
  char *dir = tmp_dir(), path[128];
  snprintf(path, sizeof path, "%s/ckpt.bin", dir);
  hatch_ckpt_report r;
  HATCH_EXPECT_OK(c, hatch_ckpt_writer_write(w, path, &r));
  uint8_t *mem = NULL;
  size_t size = 0;
  HATCH_EXPECT_OK(c, hatch_ckpt_writer_write_mem(w, &mem, &size));
  /* File and memory give the same bytes. */
  FILE *f = fopen(path, "rb");
  uint8_t *file = malloc(size + 1);
  size_t got = f ? fread(file, 1, size + 1, f) : 0;
  if (f) fclose(f);
  HATCH_EXPECT(c, got == size && memcmp(file, mem, size) == 0, "file (%zu bytes) differs from memory (%zu)", got, size);
  hatch_ckpt *ck = NULL;
  HATCH_EXPECT_OK(c, hatch_ckpt_open(path, &ck, &r));
  if (ck) {
    HATCH_EXPECT(c, hatch_ckpt_section_count(ck) == 7, "%d sections", hatch_ckpt_section_count(ck));
    const char *order[] = {"config", "layout", "params", "adam.m", "adam.v", "state", "empty"};
    for (int i = 0; i < 7; i++) {
      const hatch_ckpt_section *sec = hatch_ckpt_section_at(ck, i);
      HATCH_EXPECT(c, sec && strcmp(sec->name, order[i]) == 0, "section %d is %s", i, sec ? sec->name : "?");
      HATCH_EXPECT(c, sec && sec->offset % 64 == 0 && ((uintptr_t)sec->data % 64 == 0 || sec->size == 0),
                   "section %d not 64-aligned", i);
    }
    static float back[NP];
    HATCH_EXPECT_OK(c, hatch_ckpt_read_f32(ck, "params", back, NP, &r));
    HATCH_EXPECT(c, memcmp(back, s.params, sizeof back) == 0, "params not bit-identical");
    HATCH_EXPECT_OK(c, hatch_ckpt_read_f32(ck, "adam.v", back, NP, &r));
    HATCH_EXPECT(c, memcmp(back, s.v, sizeof back) == 0, "adam.v not bit-identical");
    char *json = NULL;
    HATCH_EXPECT_OK(c, hatch_ckpt_read_json(ck, "state", &json, &r));
    HATCH_EXPECT(c, json && strcmp(json, s.state) == 0, "state: %s", json ? json : "(null)");
    free(json);
    HATCH_EXPECT_OK(c, hatch_ckpt_check_layout(ck, NP, s.descs, 3, &r));
    /* Errors of the typed readers. */
    HATCH_EXPECT(c, hatch_ckpt_read_f32(ck, "params", back, NP - 1, &r) == HATCH_ERR_SHAPE &&
                        strstr(r.message, "1000 floats, expected 999"), "count mismatch: %s", r.message);
    HATCH_EXPECT(c, hatch_ckpt_read_f32(ck, "state", back, 1, &r) == HATCH_ERR_TYPE, "kind mismatch");
    HATCH_EXPECT(c, hatch_ckpt_read_f32(ck, "nope", back, 1, &r) == HATCH_ERR_NOT_FOUND, "missing section");
    HATCH_EXPECT(c, hatch_ckpt_find(ck, "empty") && hatch_ckpt_find(ck, "empty")->size == 0, "empty section");
  }
  hatch_ckpt_close(ck);
  /* Overwriting replaces the file and leaves no temporary behind. */
  s.params[500] = 42.0f;
  HATCH_EXPECT_OK(c, hatch_ckpt_writer_write(w, path, &r));
  ck = NULL;
  HATCH_EXPECT_OK(c, hatch_ckpt_open(path, &ck, &r));
  static float back2[NP];
  if (ck) HATCH_EXPECT_OK(c, hatch_ckpt_read_f32(ck, "params", back2, NP, &r));
  HATCH_EXPECT(c, back2[500] == 42.0f, "overwrite did not take");
  hatch_ckpt_close(ck);
  int n_files = 0;
  DIR *dd = opendir(dir);
  for (struct dirent *e; dd && (e = readdir(dd));) n_files += e->d_name[0] != '.';
  if (dd) closedir(dd);
  HATCH_EXPECT(c, n_files == 1, "%d files in the directory after writing (temporary left behind?)", n_files);
  /* A directory that does not exist: an error naming the path, nothing written. */
  char bad[160];
  snprintf(bad, sizeof bad, "%s/missing/ckpt.bin", dir);
  HATCH_EXPECT(c, hatch_ckpt_writer_write(w, bad, &r) == HATCH_ERR_IO && strstr(r.message, "missing"), "bad dir: %s",
               r.message);
  HATCH_EXPECT(c, hatch_ckpt_open(bad, &ck, &r) == HATCH_ERR_NOT_FOUND && !ck, "open of a missing file");
  unlink(path);
  rmdir(dir);
  free(dir), free(file), free(mem);
  hatch_ckpt_writer_destroy(w);
}

static void test_hostile(hatch_test_ctx *c) {
  static sample s;
  make_sample(c, &s);
  hatch_ckpt_writer *w = make_writer(c, &s);
  uint8_t *mem = NULL;
  size_t size = 0;
  HATCH_EXPECT_OK(c, hatch_ckpt_writer_write_mem(w, &mem, &size));
  hatch_ckpt_writer_destroy(w);
  if (!mem) return;
  hatch_ckpt *ck = NULL;
  hatch_ckpt_report r;
  /* Every truncation fails, with a message. */
  int bad_trunc = 0;
  for (size_t n = 0; n < size; n++) {
    hatch_status st = hatch_ckpt_parse(mem, n, "t.ckpt", &ck, &r);
    if (st != HATCH_ERR_CORRUPT || ck || strncmp(r.message, "t.ckpt: ", 8) != 0) bad_trunc++;
    hatch_ckpt_close(ck);
    ck = NULL;
  }
  HATCH_EXPECT(c, bad_trunc == 0, "%d truncations not refused cleanly", bad_trunc);
  /* A cut inside adam.v names that section. */
  hatch_ckpt *parsed = NULL;
  HATCH_EXPECT_OK(c, hatch_ckpt_parse(mem, size, "t.ckpt", &parsed, &r));
  const hatch_ckpt_section *adam_v = parsed ? hatch_ckpt_find(parsed, "adam.v") : NULL;
  HATCH_EXPECT(c, adam_v && hatch_ckpt_parse(mem, adam_v->offset + 100, "t.ckpt", &ck, &r) == HATCH_ERR_CORRUPT &&
                      strstr(r.message, "section 'adam.v'") && strstr(r.message, "runs past the end"),
               "cut: %s", r.message);
  hatch_ckpt_close(parsed);
  /* Every single-byte change is refused (CRCs cover header, table and payloads). */
  int accepted = 0;
  uint8_t *copy = malloc(size);
  for (size_t i = 0; i < size; i++) {
    memcpy(copy, mem, size);
    copy[i] ^= (uint8_t)(1u << (i % 8));
    hatch_status st = hatch_ckpt_parse(copy, size, "t.ckpt", &ck, &r);
    if (st == HATCH_OK) accepted++;
    hatch_ckpt_close(ck);
    ck = NULL;
  }
  HATCH_EXPECT(c, accepted == 0, "%d corrupted files accepted", accepted);
  /* Payload corruption names the section and its offset. */
  hatch_ckpt *good = NULL;
  HATCH_EXPECT_OK(c, hatch_ckpt_parse(mem, size, "t.ckpt", &good, &r));
  const hatch_ckpt_section *v = good ? hatch_ckpt_find(good, "adam.v") : NULL;
  if (v) {
    memcpy(copy, mem, size);
    copy[v->offset + 17] ^= 0x40;
    char want[96];
    snprintf(want, sizeof want, "section 'adam.v' [offset %llu, 4000 bytes): CRC mismatch", (unsigned long long)v->offset);
    HATCH_EXPECT(c, hatch_ckpt_parse(copy, size, "t.ckpt", &ck, &r) == HATCH_ERR_CORRUPT && strstr(r.message, want) &&
                        r.offset == v->offset,
                 "message: %s", r.message);
  }
  hatch_ckpt_close(good);
  /* Another version: unsupported, not corrupt. (Patch the table CRC so only the version differs.) */
  memcpy(copy, mem, size);
  copy[8] = 2;
  HATCH_EXPECT(c, hatch_ckpt_parse(copy, size, "t.ckpt", &ck, &r) == HATCH_ERR_UNSUPPORTED && strstr(r.message, "version 2"),
               "version: %s", r.message);
  /* Trailing garbage. */
  uint8_t *longer = calloc(1, size + 8);
  memcpy(longer, mem, size);
  HATCH_EXPECT(c, hatch_ckpt_parse(longer, size + 8, "t.ckpt", &ck, &r) == HATCH_ERR_CORRUPT && strstr(r.message, "trailing"),
               "trailing: %s", r.message);
  free(longer), free(copy), free(mem);
}

static void test_layout_mismatch(hatch_test_ctx *c) {
  static sample s;
  make_sample(c, &s);
  hatch_ckpt_writer *w = make_writer(c, &s);
  uint8_t *mem = NULL;
  size_t size = 0;
  HATCH_EXPECT_OK(c, hatch_ckpt_writer_write_mem(w, &mem, &size));
  hatch_ckpt_writer_destroy(w);
  hatch_ckpt *ck = NULL;
  hatch_ckpt_report r;
  HATCH_EXPECT_OK(c, hatch_ckpt_parse(mem, size, "t.ckpt", &ck, &r));
  if (!ck) return;
  hatch_param_desc d[3];
  memcpy(d, s.descs, sizeof d);
  HATCH_EXPECT(c, hatch_ckpt_check_layout(ck, NP + 1, d, 3, &r) == HATCH_ERR_SHAPE && strstr(r.message, "1000 parameters"),
               "n_params: %s", r.message);
  HATCH_EXPECT(c, hatch_ckpt_check_layout(ck, NP, d, 2, &r) == HATCH_ERR_SHAPE, "tensor count");
  d[1].name = "blk.0.ffn_norm.weight";
  HATCH_EXPECT(c, hatch_ckpt_check_layout(ck, NP, d, 3, &r) == HATCH_ERR_SHAPE && strstr(r.message, "blk.0.attn_norm.weight"),
               "name: %s", r.message);
  memcpy(d, s.descs, sizeof d);
  d[2].n_elems = 300, d[1].n_elems = 100;
  HATCH_EXPECT(c, hatch_ckpt_check_layout(ck, NP, d, 3, &r) == HATCH_ERR_SHAPE && strstr(r.message, "tensor 1 'blk.0.attn_norm.weight'"),
               "size: %s", r.message);
  hatch_ckpt_close(ck);
  free(mem);
  /* A checkpoint without layout. */
  hatch_ckpt_writer_create(&w);
  hatch_ckpt_writer_add(w, "params", HATCH_CKPT_F32, s.params, 16);
  hatch_ckpt_writer_write_mem(w, &mem, &size);
  hatch_ckpt_writer_destroy(w);
  ck = NULL;
  HATCH_EXPECT_OK(c, hatch_ckpt_parse(mem, size, "t.ckpt", &ck, &r));
  HATCH_EXPECT(c, hatch_ckpt_check_layout(ck, 4, NULL, 0, &r) == HATCH_ERR_NOT_FOUND, "no layout section");
  hatch_ckpt_close(ck);
  free(mem);
}

static void test_writer_checks(hatch_test_ctx *c) {
  hatch_ckpt_writer *w = NULL;
  HATCH_EXPECT_OK(c, hatch_ckpt_writer_create(&w));
  float x[3] = {1, 2, 3};
  HATCH_EXPECT(c, hatch_ckpt_writer_add(w, "", HATCH_CKPT_BYTES, x, 4) == HATCH_ERR_INVALID_ARGUMENT, "empty name");
  HATCH_EXPECT(c, hatch_ckpt_writer_add(w, "a b", HATCH_CKPT_BYTES, x, 4) == HATCH_ERR_INVALID_ARGUMENT, "space in name");
  HATCH_EXPECT(c, hatch_ckpt_writer_add(w, "0123456789012345678901234567890123456789012345678", HATCH_CKPT_BYTES, x, 4) ==
                      HATCH_ERR_INVALID_ARGUMENT, "48-byte name");
  HATCH_EXPECT(c, hatch_ckpt_writer_add(w, "f", HATCH_CKPT_F32, x, 6) == HATCH_ERR_INVALID_ARGUMENT, "F32 size 6");
  HATCH_EXPECT_OK(c, hatch_ckpt_writer_add(w, "f", HATCH_CKPT_F32, x, 12));
  HATCH_EXPECT(c, hatch_ckpt_writer_add(w, "f", HATCH_CKPT_F32, x, 12) == HATCH_ERR_INVALID_ARGUMENT, "duplicate name");
  /* A checkpoint with no section at all is valid. */
  hatch_ckpt_writer *e = NULL;
  hatch_ckpt_writer_create(&e);
  uint8_t *mem = NULL;
  size_t size = 0;
  HATCH_EXPECT_OK(c, hatch_ckpt_writer_write_mem(e, &mem, &size));
  hatch_ckpt *ck = NULL;
  HATCH_EXPECT(c, size == 20 && hatch_ckpt_parse(mem, size, NULL, &ck, NULL) == HATCH_OK && hatch_ckpt_section_count(ck) == 0,
               "empty checkpoint (%zu bytes)", size);
  hatch_ckpt_close(ck);
  free(mem);
  hatch_ckpt_writer_destroy(e);
  hatch_ckpt_writer_destroy(w);
  hatch_ckpt_writer_destroy(NULL);
  hatch_ckpt_close(NULL);
  /* zlib's check value for CRC-32. */
  HATCH_EXPECT(c, hatch_crc32(0, "123456789", 9) == 0xCBF43926u, "crc32 check value %08x", hatch_crc32(0, "123456789", 9));
  HATCH_EXPECT(c, hatch_crc32(hatch_crc32(0, "12345", 5), "6789", 4) == 0xCBF43926u, "crc32 incremental");
}

static void test_rng(hatch_test_ctx *c) {
  hatch_rng r;
  hatch_rng_seed(&r, 0);
  /* splitmix64's first output from state 0 (Vigna's reference). */
  HATCH_EXPECT(c, r.s[0] == 0xe220a8397b1dcdafull, "splitmix64(0) = %016llx", (unsigned long long)r.s[0]);
  hatch_rng_seed(&r, 42);
  uint64_t want[3] = {0x15780b2e0c2ec716ull, 0x6104d9866d113a7eull, 0xae17533239e499a1ull};
  for (int i = 0; i < 3; i++) {
    uint64_t x = hatch_rng_next(&r);
    HATCH_EXPECT(c, x == want[i], "xoshiro256** output %d: %016llx", i, (unsigned long long)x);
  }
  /* Save, draw, restore, draw again: the same numbers. */
  char hex[65];
  hatch_rng_to_hex(&r, hex);
  double a[5], b[5];
  for (int i = 0; i < 5; i++) a[i] = hatch_rng_normal(&r);
  hatch_rng back;
  HATCH_EXPECT_OK(c, hatch_rng_from_hex(hex, &back));
  for (int i = 0; i < 5; i++) b[i] = hatch_rng_normal(&back);
  HATCH_EXPECT(c, memcmp(a, b, sizeof a) == 0, "restored stream differs");
  HATCH_EXPECT(c, hatch_rng_from_hex("00", &back) == HATCH_ERR_CORRUPT, "short hex accepted");
  char zeros[65];
  memset(zeros, '0', 64), zeros[64] = 0;
  HATCH_EXPECT(c, hatch_rng_from_hex(zeros, &back) == HATCH_ERR_CORRUPT, "all-zero state accepted");
  hex[10] = 'g';
  HATCH_EXPECT(c, hatch_rng_from_hex(hex, &back) == HATCH_ERR_CORRUPT, "bad digit accepted");
  /* Ranges and rough moments. */
  double sum = 0, sum2 = 0;
  int counts[7] = {0};
  bool in_range = true;
  for (int i = 0; i < 70000; i++) {
    double u = hatch_rng_uniform(&r);
    float uf = hatch_rng_uniformf(&r);
    in_range = in_range && u >= 0 && u < 1 && uf >= 0 && uf < 1;
    counts[hatch_rng_below(&r, 7)]++;
    double z = hatch_rng_normal(&r);
    sum += z, sum2 += z * z;
  }
  HATCH_EXPECT(c, in_range, "uniform out of [0, 1)");
  for (int k = 0; k < 7; k++) HATCH_EXPECT(c, abs(counts[k] - 10000) < 500, "below(7): bucket %d has %d", k, counts[k]);
  HATCH_EXPECT(c, fabs(sum / 70000) < 0.02 && fabs(sum2 / 70000 - 1) < 0.03, "normal mean %.4f var %.4f", sum / 70000,
               sum2 / 70000);
  HATCH_EXPECT(c, hatch_rng_below(&r, 0) == 0 && hatch_rng_below(&r, 1) == 0, "below(0/1)");
  /* Streams differ; shuffles are permutations. */
  hatch_rng s1, s2;
  hatch_rng_seed_stream(&s1, 7, 0);
  hatch_rng_seed_stream(&s2, 7, 1);
  HATCH_EXPECT(c, hatch_rng_next(&s1) != hatch_rng_next(&s2), "streams 0 and 1 agree");
  int64_t idx[50];
  for (int i = 0; i < 50; i++) idx[i] = i;
  hatch_rng_shuffle_i64(&s1, idx, 50);
  int64_t seen = 0, moved = 0;
  for (int i = 0; i < 50; i++) seen |= 1ll << idx[i], moved += idx[i] != i;
  HATCH_EXPECT(c, seen == (1ll << 50) - 1 && moved > 30, "shuffle: not a permutation or barely moved (%lld)", (long long)moved);
}

int main(int argc, char **argv) {
  static const hatch_test_case cases[] = {
      {"round_trip", test_round_trip, false},         {"hostile", test_hostile, false},
      {"layout_mismatch", test_layout_mismatch, false}, {"writer_checks", test_writer_checks, false},
      {"rng", test_rng, false},
  };
  return hatch_test_main(argc, argv, cases, (int)(sizeof cases / sizeof cases[0]));
}
