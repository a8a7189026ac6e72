#include "harness.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SKIP_EXIT 77

static uint64_t seed_of(const char *s) {
  uint64_t h = 1469598103934665603ull; /* FNV-1a */
  for (; *s; s++) h = (h ^ (uint8_t)*s) * 1099511628211ull;
  return h ? h : 1;
}

float hatch_test_uniform(hatch_test_ctx *c, float lo, float hi) {
  c->rng ^= c->rng << 13; /* xorshift64 */
  c->rng ^= c->rng >> 7;
  c->rng ^= c->rng << 17;
  return lo + (hi - lo) * (float)((c->rng >> 40) * (1.0 / 16777216.0));
}

void hatch_test_fill(hatch_test_ctx *c, float *x, int64_t n, float lo, float hi) {
  for (int64_t i = 0; i < n; i++) x[i] = hatch_test_uniform(c, lo, hi);
}

hatch_tensor *hatch_test_tensor(hatch_test_ctx *c, hatch_backend *be, hatch_type type, int n_dims,
                                const int64_t *ne, const void *data) {
  hatch_tensor *t = NULL;
  hatch_status st = hatch_tensor_create(be, type, n_dims, ne, &t);
  HATCH_EXPECT(c, st == HATCH_OK, "tensor_create on %s: %s", hatch_backend_name(be), hatch_status_name(st));
  if (st != HATCH_OK) return NULL;
  if (data) {
    st = hatch_tensor_write(t, data, hatch_tensor_nbytes(t));
    HATCH_EXPECT(c, st == HATCH_OK, "tensor_write: %s", hatch_status_name(st));
  }
  return t;
}

void hatch_test_pair(hatch_test_ctx *c, hatch_type type, int n_dims, const int64_t *ne, const void *data,
                     hatch_tensor **cpu_out, hatch_tensor **vk_out) {
  *cpu_out = hatch_test_tensor(c, c->cpu, type, n_dims, ne, data);
  *vk_out = c->vk ? hatch_test_tensor(c, c->vk, type, n_dims, ne, data) : NULL;
}

float *hatch_test_read_f32(hatch_test_ctx *c, hatch_tensor *t) {
  float *out = malloc(hatch_tensor_nbytes(t));
  if (!out) return NULL;
  hatch_status st = hatch_tensor_read(t, out, hatch_tensor_nbytes(t));
  HATCH_EXPECT(c, st == HATCH_OK, "tensor_read: %s", hatch_status_name(st));
  return out;
}

double hatch_test_nmse(const float *a, const float *b, int64_t n) {
  double num = 0.0, den = 0.0;
  for (int64_t i = 0; i < n; i++) {
    if (!isfinite(a[i]) || !isfinite(b[i])) return INFINITY;
    double d = (double)a[i] - (double)b[i];
    num += d * d;
    den += (double)b[i] * (double)b[i];
  }
  return den > 0.0 ? num / den : num;
}

double hatch_test_expect_close(hatch_test_ctx *c, hatch_tensor *cpu_dst, hatch_tensor *vk_dst, double tol,
                               const char *what) {
  if (!cpu_dst || !vk_dst) {
    HATCH_EXPECT(c, false, "%s: missing tensor", what);
    return INFINITY;
  }
  float *ref = hatch_test_read_f32(c, cpu_dst);
  float *got = hatch_test_read_f32(c, vk_dst);
  double err = INFINITY;
  if (ref && got) err = hatch_test_nmse(got, ref, hatch_tensor_nelements(cpu_dst));
  HATCH_EXPECT(c, err <= tol, "%s: nmse %.3e > tolerance %.1e", what, err, tol);
  if (getenv("HATCH_TEST_VERBOSE")) fprintf(stderr, "  %s %s: nmse %.3e (tol %.1e)\n", c->case_name, what, err, tol);
  free(ref);
  free(got);
  return err;
}

static uint32_t validation_messages(const hatch_test_ctx *c) {
  return (c->vk ? hatch_backend_validation_messages(c->vk) : 0) +
         (c->vk_gpu ? hatch_backend_validation_messages(c->vk_gpu) : 0);
}

int hatch_test_main(int argc, char **argv, const hatch_test_case *cases, int n_cases) {
  const char *filter = argc > 1 ? argv[1] : NULL;
  hatch_test_ctx ctx = {0};
  hatch_status st = hatch_backend_create_cpu(NULL, &ctx.cpu);
  if (st != HATCH_OK) {
    fprintf(stderr, "cannot create the CPU backend: %s\n", hatch_status_name(st));
    return 1;
  }
  hatch_vulkan_options opt;
  hatch_vulkan_options_default(&opt);
  opt.enable_validation = getenv("HATCH_TEST_VALIDATION") != NULL;
  opt.pipeline_cache_dir = ""; /* tests never depend on a cache from an earlier run */
  /* Programs with no Vulkan case (drivers, parsers) never load the Vulkan loader: they then run
   * under LeakSanitizer without the loader's and Mesa's process-lifetime allocations. */
  bool any_vulkan = false;
  for (int i = 0; i < n_cases; i++) any_vulkan = any_vulkan || cases[i].needs_vulkan;
  st = any_vulkan ? hatch_backend_create_vulkan(&opt, &ctx.vk) : HATCH_ERR_NO_DEVICE;
  if (!any_vulkan) {
    ctx.vk = NULL;
  } else if (st != HATCH_OK) {
    fprintf(stderr, "SKIP: no Vulkan backend (%s): parity cases are skipped, not passed\n", hatch_status_name(st));
    ctx.vk = NULL;
    if (opt.enable_validation) {
      /* A device without the layer cannot be validated: that is a failure, not a skip. */
      opt.enable_validation = false;
      hatch_backend *plain = NULL;
      if (hatch_backend_create_vulkan(&opt, &plain) == HATCH_OK) {
        hatch_backend_destroy(plain);
        hatch_backend_destroy(ctx.cpu);
        fprintf(stderr, "FAIL: a Vulkan device exists but the validation layer could not be loaded\n");
        return 1;
      }
    }
  } else {
    fprintf(stderr, "backends: %s | %s%s\n", hatch_backend_name(ctx.cpu), hatch_backend_name(ctx.vk),
            opt.enable_validation ? " + validation layer" : "");
    opt.force_gpu_kernels = true;
    st = hatch_backend_create_vulkan(&opt, &ctx.vk_gpu);
    if (st != HATCH_OK) {
      fprintf(stderr, "cannot create a second Vulkan backend: %s\n", hatch_status_name(st));
      hatch_backend_destroy(ctx.vk);
      hatch_backend_destroy(ctx.cpu);
      return 1;
    }
  }
  int passed = 0, failed = 0, skipped = 0;
  for (int i = 0; i < n_cases; i++) {
    if (filter && !strstr(cases[i].name, filter)) continue;
    if (cases[i].needs_vulkan && !ctx.vk) {
      printf("SKIP %s (no Vulkan device)\n", cases[i].name);
      skipped++;
      continue;
    }
    ctx.case_name = cases[i].name;
    ctx.rng = seed_of(cases[i].name);
    ctx.failures = 0;
    uint32_t messages_before = validation_messages(&ctx);
    cases[i].run(&ctx);
    uint32_t messages = validation_messages(&ctx) - messages_before;
    if (messages > 0) {
      fprintf(stderr, "  FAIL %s: %u validation messages\n", cases[i].name, messages);
      ctx.failures++;
    }
    printf("%s %s\n", ctx.failures ? "FAIL" : "ok  ", cases[i].name);
    fflush(stdout);
    if (ctx.failures) failed++;
    else passed++;
  }
  uint32_t validation = validation_messages(&ctx);
  hatch_backend_destroy(ctx.vk_gpu);
  hatch_backend_destroy(ctx.vk);
  hatch_backend_destroy(ctx.cpu);
  printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
  if (validation) return 1;
  if (failed) return 1;
  if (passed == 0 && skipped > 0) return SKIP_EXIT;
  return 0;
}
