/* Backends under bad input and at their limits: wrong shapes/types/backends return errors and
 * leave tensors untouched; every type survives a device round trip (chunked too); barriers order
 * dependent ops; the pipeline cache persists and hostile cache files are ignored. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#ifdef HATCH_HAVE_VULKAN
#include "vulkan/vk_internal.h"
#endif

#define EXPECT_STATUS(c, expr, want)                                                                     \
  do {                                                                                                   \
    hatch_status got_ = (expr);                                                                          \
    HATCH_EXPECT(c, got_ == (want), "%s -> %s, expected %s", #expr, hatch_status_name(got_), hatch_status_name(want)); \
  } while (0)

static void bad_input_on(hatch_test_ctx *c, hatch_backend *be, hatch_backend *other) {
  float ones[64 * 4];
  for (int i = 0; i < 64 * 4; i++) ones[i] = 1.0f;
  hatch_tensor *w = hatch_test_tensor(c, be, HATCH_TYPE_F32, 2, (int64_t[]){64, 4}, ones);
  hatch_tensor *x = hatch_test_tensor(c, be, HATCH_TYPE_F32, 2, (int64_t[]){32, 4}, ones);
  hatch_tensor *dst = hatch_test_tensor(c, be, HATCH_TYPE_F32, 2, (int64_t[]){4, 4}, ones);
  hatch_tensor *xh = hatch_test_tensor(c, be, HATCH_TYPE_F16, 2, (int64_t[]){64, 4}, NULL);
  hatch_tensor *foreign = hatch_test_tensor(c, other, HATCH_TYPE_F32, 2, (int64_t[]){64, 4}, ones);
  if (!w || !x || !dst || !xh || !foreign) goto done;

  EXPECT_STATUS(c, hatch_matmul(be, dst, w, x), HATCH_ERR_SHAPE);          /* k 64 vs 32 */
  EXPECT_STATUS(c, hatch_matmul(be, dst, w, xh), HATCH_ERR_TYPE);          /* f16 activations */
  EXPECT_STATUS(c, hatch_matmul(be, dst, w, foreign), HATCH_ERR_BACKEND_MISMATCH);
  EXPECT_STATUS(c, hatch_matmul(NULL, dst, w, x), HATCH_ERR_INVALID_ARGUMENT);
  hatch_tensor *sq = hatch_test_tensor(c, be, HATCH_TYPE_F32, 2, (int64_t[]){4, 4}, ones);
  if (sq) EXPECT_STATUS(c, hatch_matmul(be, sq, sq, sq), HATCH_ERR_INVALID_ARGUMENT); /* dst aliases x */
  hatch_tensor_destroy(sq);
  EXPECT_STATUS(c, hatch_rms_norm(be, w, w, NULL, 0.0f), HATCH_ERR_INVALID_ARGUMENT);
  EXPECT_STATUS(c, hatch_rms_norm(be, dst, w, NULL, 1e-6f), HATCH_ERR_SHAPE);
  EXPECT_STATUS(c, hatch_binary(be, w, w, x, HATCH_BINARY_ADD), HATCH_ERR_SHAPE);
  EXPECT_STATUS(c, hatch_binary(be, w, w, w, (hatch_binary_op)7), HATCH_ERR_INVALID_ARGUMENT);
  EXPECT_STATUS(c, hatch_softmax(be, w, xh, 1.0f), HATCH_ERR_TYPE);
  EXPECT_STATUS(c, hatch_merge_2x2(be, dst, w, 3, 2), HATCH_ERR_SHAPE);
  EXPECT_STATUS(c, hatch_image_resize(be, w, w), HATCH_ERR_TYPE);
  hatch_rope_params rp = {HATCH_ROPE_MROPE, 64, 1e6f, {16, 8, 4, 0}}; /* sections sum 28 != 32 */
  EXPECT_STATUS(c, hatch_rope(be, w, w, x, &rp), HATCH_ERR_TYPE);     /* pos must be I32 (checked first) */
  hatch_attn_params ap = {.mode = HATCH_ATTN_WINDOWED, .scale = 0.1f};  /* no windows */
  EXPECT_STATUS(c, hatch_attention(be, w, w, w, w, &ap), HATCH_ERR_INVALID_ARGUMENT);

  /* tensors the API refuses to create or write */
  hatch_tensor *t = NULL;
  EXPECT_STATUS(c, hatch_tensor_create(be, HATCH_TYPE_Q8_0, 2, (int64_t[]){33, 2}, &t), HATCH_ERR_SHAPE);
  EXPECT_STATUS(c, hatch_tensor_create(be, HATCH_TYPE_F32, 2, (int64_t[]){-1, 2}, &t), HATCH_ERR_SHAPE);
  EXPECT_STATUS(c, hatch_tensor_create(be, HATCH_TYPE_F32, 5, (int64_t[]){1, 1, 1, 1, 1}, &t), HATCH_ERR_INVALID_ARGUMENT);
  EXPECT_STATUS(c, hatch_tensor_create(be, (hatch_type)42, 1, (int64_t[]){4}, &t), HATCH_ERR_TYPE);
  /* 2^64 - 4 bytes: rounding the size up must not wrap to a tiny buffer */
  EXPECT_STATUS(c, hatch_tensor_create(be, HATCH_TYPE_F32, 3, (int64_t[]){2147483647, 3, 715827883}, &t),
                HATCH_ERR_TOO_LARGE);
  HATCH_EXPECT(c, t == NULL, "failed create left a tensor");
  EXPECT_STATUS(c, hatch_tensor_write(w, ones, 12), HATCH_ERR_SHAPE);

  /* failed ops left dst untouched */
  float out[16];
  HATCH_EXPECT_OK(c, hatch_tensor_read(dst, out, sizeof(out)));
  for (int i = 0; i < 16; i++) HATCH_EXPECT(c, out[i] == 1.0f, "dst[%d] changed to %g by a failed op", i, out[i]);
  HATCH_EXPECT_OK(c, hatch_backend_sync(be));
done:
  hatch_tensor_destroy(w);
  hatch_tensor_destroy(x);
  hatch_tensor_destroy(dst);
  hatch_tensor_destroy(xh);
  hatch_tensor_destroy(foreign);
}

static void test_bad_input_cpu(hatch_test_ctx *c) {
  hatch_backend *other = NULL; /* tensors of another backend, even of the same kind, are refused */
  HATCH_EXPECT_OK(c, hatch_backend_create_cpu(&(hatch_cpu_options){.n_threads = 1}, &other));
  if (other) bad_input_on(c, c->cpu, other);
  hatch_backend_destroy(other);
}
static void test_bad_input_vulkan(hatch_test_ctx *c) { bad_input_on(c, c->vk, c->cpu); }

/* Device layouts differ from the host's (F16/U8 packed in words, Q8_0 split): writes must read back. */
static void round_trip(hatch_test_ctx *c, hatch_backend *be) {
  const hatch_type types[] = {HATCH_TYPE_F32, HATCH_TYPE_F16, HATCH_TYPE_Q8_0, HATCH_TYPE_I32, HATCH_TYPE_U8};
  const int64_t shapes[][2] = {{13, 7}, {1, 1}, {3, 127}, {4096, 9}, {96, 33}};
  for (int ti = 0; ti < 5; ti++) {
    for (int si = 0; si < 5; si++) {
      int64_t ne[2] = {shapes[si][0], shapes[si][1]};
      if (types[ti] == HATCH_TYPE_Q8_0) ne[0] = (ne[0] + 31) / 32 * 32;
      hatch_tensor *t = hatch_test_tensor(c, be, types[ti], 2, ne, NULL);
      if (!t) continue;
      size_t n = hatch_tensor_nbytes(t);
      unsigned char *in = malloc(n), *out = malloc(n);
      for (size_t i = 0; i < n; i++) in[i] = (unsigned char)(hatch_test_uniform(c, 0, 255.99f));
      if (types[ti] == HATCH_TYPE_Q8_0) /* keep scales finite fp16 so the bytes are meaningful */
        for (size_t b = 0; b < n / 34; b++) ((hatch_block_q8_0 *)in)[b].d = hatch_fp32_to_fp16(0.5f);
      HATCH_EXPECT_OK(c, hatch_tensor_write(t, in, n));
      HATCH_EXPECT_OK(c, hatch_tensor_read(t, out, n));
      HATCH_EXPECT(c, !memcmp(in, out, n), "%s (%lld, %lld) did not survive a round trip", hatch_type_name(types[ti]),
                   (long long)ne[0], (long long)ne[1]);
      free(in);
      free(out);
      hatch_tensor_destroy(t);
    }
  }
}

static void test_round_trip_vulkan(hatch_test_ctx *c) { round_trip(c, c->vk); }

/* Tensors split over several device buffers (as big weights are) round-trip and refuse ops that
 * need one binding with a clear error. */
static void test_chunked_tensors(hatch_test_ctx *c) {
  setenv("HATCH_VK_MAX_CHUNK_BYTES", "65536", 1);
  hatch_vulkan_options opt;
  hatch_vulkan_options_default(&opt);
  opt.pipeline_cache_dir = "";
  hatch_backend *be = NULL;
  hatch_status st = hatch_backend_create_vulkan(&opt, &be);
  unsetenv("HATCH_VK_MAX_CHUNK_BYTES");
  HATCH_EXPECT(c, st == HATCH_OK, "second Vulkan backend: %s", hatch_status_name(st));
  if (st != HATCH_OK) return;
  round_trip(c, be);
#ifdef HATCH_HAVE_VULKAN
  hatch_tensor *big = hatch_test_tensor(c, be, HATCH_TYPE_F32, 2, (int64_t[]){1024, 100}, NULL);
  if (big) {
    HATCH_EXPECT(c, hatch_vk_tensor_of(big)->n_chunks > 1, "expected several chunks, got %d",
                 hatch_vk_tensor_of(big)->n_chunks);
    EXPECT_STATUS(c, hatch_rms_norm(be, big, big, NULL, 1e-6f), HATCH_ERR_TOO_LARGE);
  }
  hatch_tensor_destroy(big);
#endif
  hatch_backend_destroy(be);
}

/* RAW: each add reads the previous result; WAR: an op overwrites what an earlier op in the same
 * batch still had to read. Wrong or missing barriers give wrong sums. */
static void test_barriers(hatch_test_ctx *c) {
  enum { N = 4099, STEPS = 40 };
  float *a = malloc(sizeof(float) * N), *b = malloc(sizeof(float) * N), *out = malloc(sizeof(float) * N);
  hatch_test_fill(c, a, N, -1, 1);
  hatch_test_fill(c, b, N, -1, 1);
  int64_t ne[1] = {N};
  hatch_tensor *ta = hatch_test_tensor(c, c->vk, HATCH_TYPE_F32, 1, ne, a);
  hatch_tensor *tb = hatch_test_tensor(c, c->vk, HATCH_TYPE_F32, 1, ne, b);
  hatch_tensor *td = hatch_test_tensor(c, c->vk, HATCH_TYPE_F32, 1, ne, NULL);
  if (ta && tb && td) {
    for (int s = 0; s < STEPS; s++) HATCH_EXPECT_OK(c, hatch_binary(c->vk, ta, ta, tb, HATCH_BINARY_ADD));
    HATCH_EXPECT_OK(c, hatch_binary(c->vk, td, ta, tb, HATCH_BINARY_ADD)); /* reads a */
    HATCH_EXPECT_OK(c, hatch_binary(c->vk, ta, tb, tb, HATCH_BINARY_MUL)); /* then overwrites a */
    HATCH_EXPECT_OK(c, hatch_tensor_read(td, out, sizeof(float) * N));
    int bad = 0;
    for (int i = 0; i < N; i++) {
      float want = a[i];
      for (int s = 0; s < STEPS; s++) want += b[i];
      want += b[i];
      if (!(fabsf(out[i] - want) <= 1e-4f * (1.0f + fabsf(want)))) bad++;
    }
    HATCH_EXPECT(c, bad == 0, "%d of %d elements wrong after a dependent chain", bad, N);
    HATCH_EXPECT_OK(c, hatch_tensor_read(ta, out, sizeof(float) * N));
    for (int i = 0; i < N && bad == 0; i++)
      if (out[i] != b[i] * b[i]) bad++;
    HATCH_EXPECT(c, bad == 0, "last write lost");
  }
  hatch_tensor_destroy(ta);
  hatch_tensor_destroy(tb);
  hatch_tensor_destroy(td);
  free(a);
  free(b);
  free(out);
}

/* A huge request fails with a status and the backend keeps working. */
static void test_out_of_memory(hatch_test_ctx *c) {
  hatch_tensor *t = NULL;
  hatch_status st = hatch_tensor_create(c->vk, HATCH_TYPE_F32, 2, (int64_t[]){1 << 20, 1 << 20}, &t);
  HATCH_EXPECT(c, st == HATCH_ERR_OUT_OF_DEVICE_MEMORY || st == HATCH_ERR_TOO_LARGE || st == HATCH_ERR_OUT_OF_MEMORY,
               "4 TiB tensor: %s", hatch_status_name(st));
  HATCH_EXPECT(c, t == NULL, "tensor returned on failure");
  hatch_tensor_destroy(t);
  test_barriers(c); /* still usable */
}

static void write_file(const char *path, const void *data, size_t n) {
  FILE *f = fopen(path, "wb");
  if (!f) return;
  fwrite(data, 1, n, f);
  fclose(f);
}

static hatch_status run_with_cache(hatch_test_ctx *c, const char *dir) {
  hatch_vulkan_options opt;
  hatch_vulkan_options_default(&opt);
  opt.pipeline_cache_dir = dir;
  hatch_backend *be = NULL;
  hatch_status st = hatch_backend_create_vulkan(&opt, &be);
  if (st != HATCH_OK) return st;
  float x[5] = {1, 2, 3, 4, 5}, y[5];
  hatch_tensor *t = hatch_test_tensor(c, be, HATCH_TYPE_F32, 1, (int64_t[]){5}, x);
  if (t) {
    st = hatch_unary(be, t, t, HATCH_UNARY_SILU);
    if (st == HATCH_OK) st = hatch_tensor_read(t, y, sizeof(y));
    if (st == HATCH_OK && !(fabsf(y[4] - 5.0f / (1.0f + expf(-5.0f))) < 1e-5f)) st = HATCH_ERR_CORRUPT;
  }
  hatch_tensor_destroy(t);
  hatch_backend_destroy(be);
  return st;
}

static void test_pipeline_cache(hatch_test_ctx *c) {
  char dir[] = "/tmp/hatch-cache-XXXXXX";
  if (!mkdtemp(dir)) {
    HATCH_EXPECT(c, false, "mkdtemp");
    return;
  }
  HATCH_EXPECT_OK(c, run_with_cache(c, dir));
  char cmd[256], path[512] = "";
  snprintf(cmd, sizeof(cmd), "ls %s/pipelines-*.bin 2>/dev/null", dir);
  FILE *ls = popen(cmd, "r");
  if (ls) {
    if (!fgets(path, sizeof(path), ls)) path[0] = 0;
    pclose(ls);
  }
  path[strcspn(path, "\n")] = 0;
  struct stat sb;
  HATCH_EXPECT(c, path[0] && stat(path, &sb) == 0 && sb.st_size >= 32, "no pipeline cache written in %s", dir);
  HATCH_EXPECT_OK(c, run_with_cache(c, dir)); /* loads it */
  if (path[0]) {
    /* hostile files: truncated, garbage, header claiming another device: ignored, never trusted */
    write_file(path, "HATC", 4);
    HATCH_EXPECT_OK(c, run_with_cache(c, dir));
    unsigned char junk[4096];
    for (size_t i = 0; i < sizeof(junk); i++) junk[i] = (unsigned char)(i * 131 + 7);
    write_file(path, junk, sizeof(junk));
    HATCH_EXPECT_OK(c, run_with_cache(c, dir));
    uint32_t header[8] = {0xffffffffu, 1, 0x10de, 0x2335, 0, 0, 0, 0};
    write_file(path, header, sizeof(header));
    HATCH_EXPECT_OK(c, run_with_cache(c, dir));
  }
  snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
  HATCH_EXPECT(c, system(cmd) == 0, "cleanup");
}

#ifdef HATCH_HAVE_VULKAN
static void test_vk_result_mapping(hatch_test_ctx *c) {
  HATCH_EXPECT(c, hatch_vk_result(VK_SUCCESS) == HATCH_OK, "success");
  HATCH_EXPECT(c, hatch_vk_result(VK_TIMEOUT) == HATCH_ERR_TIMEOUT, "VK_TIMEOUT must not be success");
  HATCH_EXPECT(c, hatch_vk_result(VK_NOT_READY) == HATCH_ERR_TIMEOUT, "VK_NOT_READY must not be success");
  HATCH_EXPECT(c, hatch_vk_result(VK_ERROR_DEVICE_LOST) == HATCH_ERR_DEVICE_LOST, "device lost");
  HATCH_EXPECT(c, hatch_vk_result(VK_ERROR_OUT_OF_DEVICE_MEMORY) == HATCH_ERR_OUT_OF_DEVICE_MEMORY, "device OOM");
  HATCH_EXPECT(c, hatch_vk_result(VK_ERROR_OUT_OF_HOST_MEMORY) == HATCH_ERR_OUT_OF_MEMORY, "host OOM");
  HATCH_EXPECT(c, hatch_vk_result(VK_INCOMPLETE) != HATCH_OK, "VK_INCOMPLETE must not be success");
}
#endif

/* HATCH_BACKEND picks the backend; without it a software Vulkan device loses to the CPU backend. */
static void test_default_backend_choice(hatch_test_ctx *c) {
  const char *saved = getenv("HATCH_BACKEND");
  char why[512];
  hatch_backend *be = NULL;
  setenv("HATCH_BACKEND", "cpu", 1);
  HATCH_EXPECT_OK(c, hatch_backend_create_default(&be, why, sizeof(why)));
  HATCH_EXPECT(c, be && hatch_backend_get_kind(be) == HATCH_BACKEND_CPU, "HATCH_BACKEND=cpu gave %s",
               be ? hatch_backend_name(be) : "nothing");
  hatch_backend_destroy(be);
  be = NULL;
  setenv("HATCH_BACKEND", "gpu-please", 1);
  EXPECT_STATUS(c, hatch_backend_create_default(&be, why, sizeof(why)), HATCH_ERR_INVALID_ARGUMENT);
  HATCH_EXPECT(c, be == NULL && strstr(why, "gpu-please"), "bad HATCH_BACKEND: '%s'", why);
  if (c->vk) {
    setenv("HATCH_BACKEND", "vulkan", 1);
    HATCH_EXPECT_OK(c, hatch_backend_create_default(&be, why, sizeof(why)));
    HATCH_EXPECT(c, be && hatch_backend_get_kind(be) == HATCH_BACKEND_VULKAN, "HATCH_BACKEND=vulkan gave %s",
                 be ? hatch_backend_name(be) : "nothing");
    hatch_backend_destroy(be);
    be = NULL;
    unsetenv("HATCH_BACKEND");
    HATCH_EXPECT_OK(c, hatch_backend_create_default(&be, why, sizeof(why)));
    hatch_backend_kind want = hatch_backend_is_software(c->vk) ? HATCH_BACKEND_CPU : HATCH_BACKEND_VULKAN;
    HATCH_EXPECT(c, be && hatch_backend_get_kind(be) == want, "auto choice on %s gave %s", hatch_backend_name(c->vk),
                 be ? hatch_backend_name(be) : "nothing");
    hatch_backend_destroy(be);
  }
  if (saved) setenv("HATCH_BACKEND", saved, 1);
  else unsetenv("HATCH_BACKEND");
}

#ifdef HATCH_HAVE_VULKAN
/* The validation run is only worth something if misuse is caught: bind a range past a buffer's end
 * on a backend of its own and expect the messenger to count it. */
static void test_validation_detects_misuse(hatch_test_ctx *c) {
  hatch_vulkan_options opt;
  hatch_vulkan_options_default(&opt);
  opt.enable_validation = true;
  opt.pipeline_cache_dir = "";
  hatch_backend *be = NULL;
  hatch_status st = hatch_backend_create_vulkan(&opt, &be);
  HATCH_EXPECT(c, st == HATCH_OK, "backend with validation: %s (is vulkan-validationlayers installed?)",
               hatch_status_name(st));
  if (st != HATCH_OK) return;
  hatch_tensor *t = hatch_test_tensor(c, be, HATCH_TYPE_F32, 1, (int64_t[]){16}, NULL);
  hatch_vk_binding b;
  if (t && hatch_vk_tensor_binding(t, true, &b) == HATCH_OK) {
    b.range = 1 << 20; /* past the 64-byte buffer */
    uint32_t n = 16;
    hatch_vk_dispatch_desc d = {.variant = "unary_silu", .spec = {256}, .n_spec = 1, .n_bindings = 2,
                                .bindings = {b, b}, .push = &n, .push_size = 4, .groups = {1, 1, 1}};
    fprintf(stderr, "  (the next validation message is expected)\n");
    hatch_vk_dispatch(hatch_vk(be), &d);
    hatch_backend_sync(be);
    HATCH_EXPECT(c, hatch_backend_validation_messages(be) > 0, "the validation layer reported nothing");
  }
  hatch_tensor_destroy(t);
  hatch_backend_destroy(be);
}
#endif

#ifdef HATCH_HAVE_VULKAN
/* Chunking costs the alignment slack once per buffer, not per row: a 1080p RGB frame (2M rows of
 * 3 bytes) is one buffer, so the image ops, which need one binding, accept it. */
static void test_camera_frame_single_chunk(hatch_test_ctx *c) {
  hatch_tensor *frame = hatch_test_tensor(c, c->vk, HATCH_TYPE_U8, 3, (int64_t[]){3, 1920, 1080}, NULL);
  hatch_tensor *small = hatch_test_tensor(c, c->vk, HATCH_TYPE_U8, 3, (int64_t[]){3, 448, 252}, NULL);
  if (frame && small) {
    HATCH_EXPECT(c, hatch_vk_tensor_of(frame)->n_chunks == 1, "1080p frame split over %d buffers",
                 hatch_vk_tensor_of(frame)->n_chunks);
    HATCH_EXPECT_OK(c, hatch_image_resize(c->vk, small, frame));
    HATCH_EXPECT_OK(c, hatch_backend_sync(c->vk));
  }
  hatch_tensor_destroy(frame);
  hatch_tensor_destroy(small);
}

/* A backend of its own with one tensor of 5 values, for fault injection. */
static hatch_backend *fault_backend(hatch_test_ctx *c, hatch_tensor **t) {
  hatch_vulkan_options opt;
  hatch_vulkan_options_default(&opt);
  opt.pipeline_cache_dir = "";
  hatch_backend *be = NULL;
  HATCH_EXPECT_OK(c, hatch_backend_create_vulkan(&opt, &be));
  float x[5] = {1, 2, 3, 4, 5};
  *t = be ? hatch_test_tensor(c, be, HATCH_TYPE_F32, 1, (int64_t[]){5}, x) : NULL;
  return be;
}

/* Device loss at submit: the batch reports it, and every later call refuses work with the same
 * status instead of touching a dead device; destroying everything still works. */
static void test_device_lost(hatch_test_ctx *c) {
  hatch_tensor *t = NULL;
  hatch_backend *be = fault_backend(c, &t);
  if (!be || !t) goto done;
  HATCH_EXPECT_OK(c, hatch_unary(be, t, t, HATCH_UNARY_SILU));
  hatch_vk_inject_fault(hatch_vk(be), HATCH_VK_FAULT_SUBMIT, VK_ERROR_DEVICE_LOST, 1);
  fprintf(stderr, "  (the next device-lost message is expected)\n");
  EXPECT_STATUS(c, hatch_backend_sync(be), HATCH_ERR_DEVICE_LOST);
  EXPECT_STATUS(c, hatch_unary(be, t, t, HATCH_UNARY_SILU), HATCH_ERR_DEVICE_LOST);
  float y[5];
  EXPECT_STATUS(c, hatch_tensor_write(t, y, sizeof(y)), HATCH_ERR_DEVICE_LOST);
done:
  hatch_tensor_destroy(t);
  hatch_backend_destroy(be);
}

/* A fence wait that times out: the caller hears ERR_TIMEOUT, the queue is drained, and the next
 * batch runs normally (the timed-out batch's work did happen). */
static void test_timeout_recovers(hatch_test_ctx *c) {
  hatch_tensor *t = NULL;
  hatch_backend *be = fault_backend(c, &t);
  if (!be || !t) goto done;
  HATCH_EXPECT_OK(c, hatch_binary(be, t, t, t, HATCH_BINARY_ADD)); /* 2, 4, 6, 8, 10 */
  hatch_vk_inject_fault(hatch_vk(be), HATCH_VK_FAULT_FENCE_WAIT, VK_TIMEOUT, 1);
  EXPECT_STATUS(c, hatch_backend_sync(be), HATCH_ERR_TIMEOUT);
  HATCH_EXPECT_OK(c, hatch_binary(be, t, t, t, HATCH_BINARY_ADD)); /* 4, 8, ... */
  float y[5] = {0};
  HATCH_EXPECT_OK(c, hatch_tensor_read(t, y, sizeof(y)));
  for (int i = 0; i < 5; i++) HATCH_EXPECT(c, y[i] == 4.0f * (float)(i + 1), "y[%d] = %g after recovery", i, y[i]);
done:
  hatch_tensor_destroy(t);
  hatch_backend_destroy(be);
}

/* Device memory exhausted: allocation falls back to host-visible memory once; when that fails too
 * the tensor is refused with ERR_OUT_OF_DEVICE_MEMORY, nothing leaks, and the next allocation works. */
static void test_device_oom(hatch_test_ctx *c) {
  hatch_tensor *t = NULL, *u = NULL;
  hatch_backend *be = fault_backend(c, &t);
  if (!be || !t) goto done;
  hatch_vk_inject_fault(hatch_vk(be), HATCH_VK_FAULT_ALLOCATE, VK_ERROR_OUT_OF_DEVICE_MEMORY, 3);
  EXPECT_STATUS(c, hatch_tensor_create(be, HATCH_TYPE_F32, 1, (int64_t[]){1024}, &u), HATCH_ERR_OUT_OF_DEVICE_MEMORY);
  HATCH_EXPECT(c, u == NULL, "tensor returned on failure");
  hatch_vk_inject_fault(hatch_vk(be), HATCH_VK_FAULT_ALLOCATE, VK_ERROR_OUT_OF_DEVICE_MEMORY, 1);
  HATCH_EXPECT_OK(c, hatch_tensor_create(be, HATCH_TYPE_F32, 1, (int64_t[]){1024}, &u)); /* next memory type */
  hatch_tensor_destroy(u);
  u = NULL;
  HATCH_EXPECT_OK(c, hatch_unary(be, t, t, HATCH_UNARY_SILU));
  HATCH_EXPECT_OK(c, hatch_backend_sync(be));
done:
  hatch_tensor_destroy(u);
  hatch_tensor_destroy(t);
  hatch_backend_destroy(be);
}
#endif

static const hatch_test_case cases[] = {
    {"bad_input_cpu", test_bad_input_cpu, false},
    {"bad_input_vulkan", test_bad_input_vulkan, true},
    {"round_trip_vulkan", test_round_trip_vulkan, true},
    {"chunked_tensors", test_chunked_tensors, true},
    {"barriers", test_barriers, true},
    {"out_of_memory", test_out_of_memory, true},
    {"pipeline_cache", test_pipeline_cache, true},
    {"default_backend_choice", test_default_backend_choice, false},
#ifdef HATCH_HAVE_VULKAN
    {"vk_result_mapping", test_vk_result_mapping, false},
    {"validation_detects_misuse", test_validation_detects_misuse, true},
    {"device_lost", test_device_lost, true},
    {"timeout_recovers", test_timeout_recovers, true},
    {"device_oom", test_device_oom, true},
    {"camera_frame_single_chunk", test_camera_frame_single_chunk, true},
#endif
};

int main(int argc, char **argv) { return hatch_test_main(argc, argv, cases, sizeof(cases) / sizeof(cases[0])); }
