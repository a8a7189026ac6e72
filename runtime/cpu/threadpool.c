#include "cpu/threadpool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

struct hatch_threadpool {
  int n_threads;
  pthread_t *workers; /* (n_threads - 1) */
  pthread_mutex_t lock;
  pthread_cond_t work_ready;
  pthread_cond_t work_done;
  uint64_t generation; /* bumped for each job */
  int busy;            /* workers still inside the current job */
  int stopping;
  /* the current job */
  hatch_range_fn fn;
  void *ctx;
  int64_t n_items, chunk;
  atomic_int_fast64_t next;
};

static void run_chunks(hatch_threadpool *pool) {
  for (;;) {
    int64_t begin = atomic_fetch_add(&pool->next, pool->chunk);
    if (begin >= pool->n_items) return;
    int64_t end = begin + pool->chunk < pool->n_items ? begin + pool->chunk : pool->n_items;
    pool->fn(pool->ctx, begin, end);
  }
}

static void *worker_main(void *arg) {
  hatch_threadpool *pool = arg;
  uint64_t seen = 0;
  pthread_mutex_lock(&pool->lock);
  for (;;) {
    while (!pool->stopping && pool->generation == seen) pthread_cond_wait(&pool->work_ready, &pool->lock);
    if (pool->stopping) break;
    seen = pool->generation;
    pthread_mutex_unlock(&pool->lock);
    run_chunks(pool);
    pthread_mutex_lock(&pool->lock);
    if (--pool->busy == 0) pthread_cond_signal(&pool->work_done);
  }
  pthread_mutex_unlock(&pool->lock);
  return NULL;
}

hatch_status hatch_threadpool_create(int n_threads, hatch_threadpool **out) {
  *out = NULL;
  if (n_threads < 1) n_threads = 1;
  hatch_threadpool *pool = calloc(1, sizeof(*pool));
  if (!pool) return HATCH_ERR_OUT_OF_MEMORY;
  pool->workers = calloc((size_t)n_threads, sizeof(pthread_t));
  if (!pool->workers) goto err_free_pool;
  if (pthread_mutex_init(&pool->lock, NULL) != 0) goto err_free_workers;
  pthread_cond_init(&pool->work_ready, NULL);
  pthread_cond_init(&pool->work_done, NULL);
  pool->n_threads = 1;
  for (int i = 0; i < n_threads - 1; i++) {
    if (pthread_create(&pool->workers[i], NULL, worker_main, pool) != 0) break; /* run with fewer */
    pool->n_threads++;
  }
  *out = pool;
  return HATCH_OK;

err_free_workers:
  free(pool->workers);
err_free_pool:
  free(pool);
  return HATCH_ERR_OUT_OF_MEMORY;
}

void hatch_threadpool_destroy(hatch_threadpool *pool) {
  if (!pool) return;
  pthread_mutex_lock(&pool->lock);
  pool->stopping = 1;
  pthread_cond_broadcast(&pool->work_ready);
  pthread_mutex_unlock(&pool->lock);
  for (int i = 0; i < pool->n_threads - 1; i++) pthread_join(pool->workers[i], NULL);
  pthread_cond_destroy(&pool->work_ready);
  pthread_cond_destroy(&pool->work_done);
  pthread_mutex_destroy(&pool->lock);
  free(pool->workers);
  free(pool);
}

int hatch_threadpool_size(const hatch_threadpool *pool) { return pool->n_threads; }

void hatch_threadpool_run(hatch_threadpool *pool, int64_t n_items, int64_t grain, hatch_range_fn fn, void *ctx) {
  if (n_items <= 0) return;
  if (grain < 1) grain = 1;
  int64_t chunk = (n_items + 4 * pool->n_threads - 1) / (4 * pool->n_threads); /* ~4 chunks per thread */
  if (chunk < grain) chunk = grain;
  if (pool->n_threads == 1 || chunk >= n_items) {
    fn(ctx, 0, n_items);
    return;
  }
  pthread_mutex_lock(&pool->lock);
  pool->fn = fn;
  pool->ctx = ctx;
  pool->n_items = n_items;
  pool->chunk = chunk;
  atomic_store(&pool->next, 0);
  pool->busy = pool->n_threads - 1;
  pool->generation++;
  pthread_cond_broadcast(&pool->work_ready);
  pthread_mutex_unlock(&pool->lock);

  run_chunks(pool);

  pthread_mutex_lock(&pool->lock);
  while (pool->busy > 0) pthread_cond_wait(&pool->work_done, &pool->lock);
  pthread_mutex_unlock(&pool->lock);
}
