/* Shared by the layer templates (layer_*.h): each template is included once per element type with
 * REAL (float, double) and SUFFIX (f32, f64) defined, so the same source is the fp32 trainer and the
 * double-precision instantiation the finite-difference tests check (tests/train/test_train_layers.c).
 * Threading: every output element is computed by one thread in a fixed order, so results do not
 * depend on the thread count; pool may be NULL (serial). */
#ifndef HATCH_TRAIN_LAYER_COMMON_H
#define HATCH_TRAIN_LAYER_COMMON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <tgmath.h>

#include "cpu/threadpool.h"
#include "model/train_layers.h"

#define LAYER_CAT2(a, b) a##_##b
#define LAYER_CAT(a, b) LAYER_CAT2(a, b)
#define LAYER_LANES 8 /* independent partial sums: lets the compiler vectorize dot products */

static inline void layer_run(hatch_threadpool *pool, int64_t n_items, int64_t grain, hatch_range_fn fn, void *ctx) {
  if (n_items <= 0) return;
  if (!pool || n_items <= grain) fn(ctx, 0, n_items);
  else hatch_threadpool_run(pool, n_items, grain, fn, ctx);
}

static inline int64_t layer_min(int64_t a, int64_t b) { return a < b ? a : b; }


#endif

#ifndef REAL
#error "define REAL and SUFFIX before including a layer template"
#endif
#define FN(name) LAYER_CAT(name, SUFFIX)
