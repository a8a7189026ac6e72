/* Test harness for op tests: seeded random data, the same inputs on the CPU reference and on
 * Vulkan, normalized error, and a closing "N passed, N failed, N skipped" line.
 *
 * A test program calls hatch_test_main(argc, argv, cases, n) with a table of cases; each case
 * gets a context holding both backends. Without a Vulkan device, parity cases are skipped and the
 * program exits 77 (ctest shows SKIPPED), never silently passing. */
#ifndef HATCH_TEST_HARNESS_H
#define HATCH_TEST_HARNESS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "hatch/backend.h"
#include "hatch/ops.h"

typedef struct hatch_test_ctx {
  hatch_backend *cpu;
  hatch_backend *vk;     /* NULL when no device */
  hatch_backend *vk_gpu; /* the same device with force_gpu_kernels: on a CPU device (lavapipe) the
                            GPU-shaped kernels still get tested; NULL when no device */
  uint64_t rng;
  const char *case_name;
  int failures; /* checks failed within the current case */
} hatch_test_ctx;

typedef struct hatch_test_case {
  const char *name;
  void (*run)(hatch_test_ctx *ctx);
  bool needs_vulkan;
} hatch_test_case;

int hatch_test_main(int argc, char **argv, const hatch_test_case *cases, int n_cases);

/* Random numbers: deterministic per case (seeded from the case name). */
float hatch_test_uniform(hatch_test_ctx *c, float lo, float hi);
void hatch_test_fill(hatch_test_ctx *c, float *x, int64_t n, float lo, float hi);

/* Creates a tensor on `be` and writes `data` to it (data in the host layout of `type`). */
hatch_tensor *hatch_test_tensor(hatch_test_ctx *c, hatch_backend *be, hatch_type type, int n_dims,
                                const int64_t *ne, const void *data);
/* Same data on both backends: *cpu_out and *vk_out. */
void hatch_test_pair(hatch_test_ctx *c, hatch_type type, int n_dims, const int64_t *ne, const void *data,
                     hatch_tensor **cpu_out, hatch_tensor **vk_out);
/* Reads an F32 tensor into a new malloc'd array. */
float *hatch_test_read_f32(hatch_test_ctx *c, hatch_tensor *t);

/* sum((a - b)^2) / sum(b^2), the normalized error of test-backend-ops; NaN anywhere -> +inf. */
double hatch_test_nmse(const float *a, const float *b, int64_t n);
/* Compares dst on both backends: fails the case when nmse > tol. Returns the nmse. */
double hatch_test_expect_close(hatch_test_ctx *c, hatch_tensor *cpu_dst, hatch_tensor *vk_dst, double tol,
                               const char *what);

#define HATCH_EXPECT(c, cond, ...)                                         \
  do {                                                                     \
    if (!(cond)) {                                                         \
      fprintf(stderr, "  FAIL %s: %s:%d: ", (c)->case_name, __FILE__, __LINE__); \
      fprintf(stderr, __VA_ARGS__);                                        \
      fprintf(stderr, "\n");                                               \
      (c)->failures++;                                                     \
    }                                                                      \
  } while (0)

#define HATCH_EXPECT_OK(c, expr)                                                                  \
  do {                                                                                            \
    hatch_status st_ = (expr);                                                                    \
    HATCH_EXPECT(c, st_ == HATCH_OK, "%s returned %s", #expr, hatch_status_name(st_));             \
  } while (0)

#endif
