/* A fixed pool of worker threads running one parallel-for at a time. The caller's thread works
 * too, so a pool of n threads starts n - 1 workers. */
#ifndef HATCH_THREADPOOL_H
#define HATCH_THREADPOOL_H

#include <stdint.h>

#include "hatch/status.h"

typedef struct hatch_threadpool hatch_threadpool;

/* Processes items [begin, end). */
typedef void (*hatch_range_fn)(void *ctx, int64_t begin, int64_t end);

hatch_status hatch_threadpool_create(int n_threads, hatch_threadpool **out);
void hatch_threadpool_destroy(hatch_threadpool *pool);
int hatch_threadpool_size(const hatch_threadpool *pool);
/* Splits [0, n_items) into chunks of at least `grain` items and runs fn over them on all threads;
 * returns when every item is done. */
void hatch_threadpool_run(hatch_threadpool *pool, int64_t n_items, int64_t grain, hatch_range_fn fn, void *ctx);

#endif
