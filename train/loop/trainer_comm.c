/* Host collectives for the data-parallel ranks (trainer_comm.h): a barrier with a generation count
 * and an abort flag; all-reduces through per-rank published host pointers, each rank summing one
 * slice of the elements in rank order 0..N-1 into a shared result that every rank then copies. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "trainer_comm.h"

struct trainer_comm {
  int n_ranks;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int waiting;           /* ranks in the current barrier */
  uint64_t generation;   /* barriers completed */
  hatch_status failed;   /* HATCH_OK until a rank aborts */
  int failed_rank;
  const void **in;       /* (n_ranks) each rank's published host data for the current all-reduce */
  float **stage;         /* (n_ranks) host staging of a separate-memory backend's floats, grown on demand */
  int64_t *stage_n;      /* (n_ranks) floats allocated in stage[r] */
  float *sum_f32;        /* (sum_n) the float result */
  int64_t sum_n;
  double *sum_f64;       /* (sum_f64_n) the double result */
  int sum_f64_n;
  trainer_nccl *nccl;    /* NULL: host all-reduce */
};

hatch_status trainer_comm_create(int n_ranks, const int *cuda_devices, trainer_comm **out, char why[256]) {
  *out = NULL;
  if (n_ranks < 1) return HATCH_ERR_INVALID_ARGUMENT;
  trainer_comm *c = calloc(1, sizeof *c);
  if (!c) return HATCH_ERR_OUT_OF_MEMORY;
  c->n_ranks = n_ranks;
  c->failed_rank = -1;
  c->in = calloc((size_t)n_ranks, sizeof *c->in);
  c->stage = calloc((size_t)n_ranks, sizeof *c->stage);
  c->stage_n = calloc((size_t)n_ranks, sizeof *c->stage_n);
  pthread_mutex_init(&c->mu, NULL);
  pthread_cond_init(&c->cv, NULL);
  hatch_status st = (!c->in || !c->stage || !c->stage_n) ? HATCH_ERR_OUT_OF_MEMORY : HATCH_OK;
  if (st == HATCH_OK && cuda_devices) st = trainer_nccl_create(n_ranks, cuda_devices, &c->nccl, why);
  if (st != HATCH_OK) {
    trainer_comm_destroy(c);
    return st;
  }
  *out = c;
  return HATCH_OK;
}

void trainer_comm_destroy(trainer_comm *c) {
  if (!c) return;
  trainer_nccl_destroy(c->nccl);
  for (int r = 0; c->stage && r < c->n_ranks; r++) free(c->stage[r]);
  free(c->stage), free(c->stage_n), free(c->in);
  free(c->sum_f32), free(c->sum_f64);
  pthread_cond_destroy(&c->cv);
  pthread_mutex_destroy(&c->mu);
  free(c);
}

int trainer_comm_size(const trainer_comm *c) { return c ? c->n_ranks : 1; }

void trainer_comm_abort(trainer_comm *c, int rank, hatch_status st) {
  if (!c) return;
  pthread_mutex_lock(&c->mu);
  if (c->failed == HATCH_OK) c->failed = st != HATCH_OK ? st : HATCH_ERR_INVALID_ARGUMENT, c->failed_rank = rank;
  pthread_cond_broadcast(&c->cv);
  pthread_mutex_unlock(&c->mu);
}

int trainer_comm_failed_rank(const trainer_comm *c) {
  if (!c) return -1;
  pthread_mutex_lock((pthread_mutex_t *)&c->mu);
  int r = c->failed_rank;
  pthread_mutex_unlock((pthread_mutex_t *)&c->mu);
  return r;
}

hatch_status trainer_comm_barrier(trainer_comm *c) {
  pthread_mutex_lock(&c->mu);
  hatch_status st = c->failed;
  if (st == HATCH_OK) {
    uint64_t gen = c->generation;
    if (++c->waiting == c->n_ranks) {
      c->waiting = 0;
      c->generation++;
      pthread_cond_broadcast(&c->cv);
    } else {
      while (gen == c->generation && c->failed == HATCH_OK) pthread_cond_wait(&c->cv, &c->mu);
      if (gen == c->generation) st = c->failed; /* woken by an abort, not by the last rank */
    }
  }
  pthread_mutex_unlock(&c->mu);
  return st;
}

/* Rank 0 sizes the shared results between the first two barriers of a collective (nobody reads
 * them then). */
static hatch_status ensure_results(trainer_comm *c, int64_t n_f32, int n_f64) {
  if (n_f32 > c->sum_n) {
    float *p = realloc(c->sum_f32, sizeof(float) * (size_t)n_f32);
    if (!p) return HATCH_ERR_OUT_OF_MEMORY;
    c->sum_f32 = p, c->sum_n = n_f32;
  }
  if (n_f64 > c->sum_f64_n) {
    double *p = realloc(c->sum_f64, sizeof(double) * (size_t)n_f64);
    if (!p) return HATCH_ERR_OUT_OF_MEMORY;
    c->sum_f64 = p, c->sum_f64_n = n_f64;
  }
  return HATCH_OK;
}

/* Elements [lo, hi) of this rank's slice of n. */
static void slice(const trainer_comm *c, int rank, int64_t n, int64_t *lo, int64_t *hi) {
  *lo = n * rank / c->n_ranks;
  *hi = n * (rank + 1) / c->n_ranks;
}

/* The three phases of an all-reduce: published inputs and sized results | slices summed | results
 * copied out (the last barrier keeps a fast rank's next collective off the results still read). */
hatch_status trainer_comm_allreduce_f64(trainer_comm *c, int rank, double *x, int n) {
  c->in[rank] = x;
  hatch_status st = rank == 0 ? ensure_results(c, 0, n) : HATCH_OK;
  if (st != HATCH_OK) trainer_comm_abort(c, rank, st);
  if ((st = trainer_comm_barrier(c)) != HATCH_OK) return st;
  int64_t lo, hi;
  slice(c, rank, n, &lo, &hi);
  for (int64_t i = lo; i < hi; i++) {
    double s = ((const double *)c->in[0])[i];
    for (int r = 1; r < c->n_ranks; r++) s += ((const double *)c->in[r])[i];
    c->sum_f64[i] = s;
  }
  if ((st = trainer_comm_barrier(c)) != HATCH_OK) return st;
  memcpy(x, c->sum_f64, sizeof(double) * (size_t)n);
  return trainer_comm_barrier(c);
}

static hatch_status allreduce_f32_host(trainer_comm *c, int rank, train_backend *b, float *x, int64_t n) {
  hatch_status st = HATCH_OK;
  float *host = x;
  if (!b->host_memory) { /* download into this rank's staging */
    if (c->stage_n[rank] < n) {
      free(c->stage[rank]);
      c->stage_n[rank] = 0;
      if (!(c->stage[rank] = malloc(sizeof(float) * (size_t)n))) st = HATCH_ERR_OUT_OF_MEMORY;
      else c->stage_n[rank] = n;
    }
    host = c->stage[rank];
    if (st == HATCH_OK) st = b->ops->download(b, host, x, sizeof(float) * (size_t)n);
  } else if ((st = b->ops->sync(b)) != HATCH_OK) {
    host = NULL;
  }
  c->in[rank] = host;
  if (st == HATCH_OK && rank == 0) st = ensure_results(c, n, 0);
  if (st != HATCH_OK) trainer_comm_abort(c, rank, st);
  if ((st = trainer_comm_barrier(c)) != HATCH_OK) return st;
  int64_t lo, hi;
  slice(c, rank, n, &lo, &hi);
  for (int64_t i = lo; i < hi; i++) {
    float s = ((const float *)c->in[0])[i];
    for (int r = 1; r < c->n_ranks; r++) s += ((const float *)c->in[r])[i];
    c->sum_f32[i] = s;
  }
  if ((st = trainer_comm_barrier(c)) != HATCH_OK) return st;
  /* Every slice is summed: no rank reads another's input any more, so x may be overwritten. */
  if (b->host_memory) memcpy(x, c->sum_f32, sizeof(float) * (size_t)n);
  else if ((st = b->ops->upload(b, x, c->sum_f32, sizeof(float) * (size_t)n)) != HATCH_OK) trainer_comm_abort(c, rank, st);
  hatch_status st2 = trainer_comm_barrier(c);
  return st != HATCH_OK ? st : st2;
}

hatch_status trainer_comm_allreduce_f32(trainer_comm *c, int rank, train_backend *b, float *x, int64_t n) {
  if (!c->nccl) return allreduce_f32_host(c, rank, b, x, n);
  /* Every rank alive and its backward finished before the device collective (NCCL cannot be woken
   * by an abort on the host). */
  hatch_status st = b->ops->sync(b);
  if (st != HATCH_OK) trainer_comm_abort(c, rank, st);
  if ((st = trainer_comm_barrier(c)) != HATCH_OK) return st;
  if ((st = trainer_nccl_allreduce_f32(c->nccl, rank, x, n)) != HATCH_OK) trainer_comm_abort(c, rank, st);
  return st;
}
