/* Data-parallel training (hatch/trainer.h, --ranks N): N rank threads in this process, one model,
 * optimizer and backend each, all from the same weights. Every rank builds the whole batch (a pure
 * function of seed, stage and step), so normalizations over the batch are known everywhere, and runs
 * forward/backward on its samples (b % N == rank); the gradient sum over ranks then makes every
 * rank's step the one-rank step. Rank 0 writes the metrics, checkpoints and exports. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model/train_model_internal.h"
#include "trainer_internal.h"

hatch_status trainer_reduce_f64(hatch_trainer *t, double *x, int n) {
  if (!t->comm) return HATCH_OK;
  hatch_status st = trainer_comm_allreduce_f64(t->comm, t->rank, x, n);
  if (st != HATCH_OK && !t->report->message[0]) trainer_fail(t, st, "step %lld: stopped with the other ranks", (long long)t->global_step);
  return st;
}

hatch_status trainer_reduce_grads(hatch_trainer *t) {
  if (!t->comm) return HATCH_OK;
  hatch_status st = trainer_comm_allreduce_f32(t->comm, t->rank, hatch_train_model_backend(t->model),
                                               hatch_train_model_backend_grads(t->model), hatch_train_model_n_params(t->model));
  if (st != HATCH_OK && !t->report->message[0])
    trainer_fail(t, st, "step %lld: the gradient all-reduce failed or another rank stopped", (long long)t->global_step);
  return st;
}

typedef struct rank_job {
  hatch_trainer t;
  hatch_trainer_options o;      /* the run's options with this rank's threads and device */
  hatch_trainer_report report;
  hatch_status st;
} rank_job;

static void *rank_main(void *arg) {
  rank_job *j = arg;
  j->st = trainer_run_rank(&j->t);
  return NULL;
}

static hatch_status refuse(hatch_trainer_report *report, const char *why) {
  snprintf(report->message, sizeof report->message, "--ranks %s", why);
  return HATCH_ERR_INVALID_ARGUMENT;
}

hatch_status trainer_run_ranks(const hatch_trainer_options *o, hatch_trainer_report *report) {
  report->message[0] = 0;
  int n = o->ranks;
  if (n < 1) return refuse(report, "must be at least 1");
  if (n > o->batch) {
    snprintf(report->message, sizeof report->message, "--ranks %d exceeds --batch %d: every rank needs a sample of each batch", n, o->batch);
    return HATCH_ERR_INVALID_ARGUMENT;
  }
  if (o->data_jsonl || o->rgbd_manifest)
    return refuse(report, "> 1 trains on the synthetic world only: --data and --rgbd are read in order by one reader "
                          "(run them with --ranks 1)");
  int threads = o->threads;
  if (threads <= 0) {
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    threads = cores > 0 ? (int)cores : 1;
  }
  int *devices = NULL;
  rank_job *jobs = calloc((size_t)n, sizeof *jobs);
  pthread_t *tids = calloc((size_t)n, sizeof *tids);
  if (!jobs || !tids) {
    free(jobs), free(tids);
    return HATCH_ERR_OUT_OF_MEMORY;
  }
  if (o->device.kind == HATCH_TRAIN_DEVICE_CUDA && !(devices = calloc((size_t)n, sizeof *devices))) {
    free(jobs), free(tids);
    return HATCH_ERR_OUT_OF_MEMORY;
  }
  for (int r = 0; devices && r < n; r++) devices[r] = o->device.cuda_device + r;
  trainer_comm *comm = NULL;
  char why[256] = "";
  hatch_status st = trainer_comm_create(n, devices, &comm, why);
  if (st != HATCH_OK) {
    snprintf(report->message, sizeof report->message, "--ranks %d: %s", n, why[0] ? why : hatch_status_message(st));
    free(jobs), free(tids), free(devices);
    return st;
  }
  int started = 0;
  for (int r = 0; r < n; r++) {
    rank_job *j = &jobs[r];
    j->o = *o;
    j->o.threads = threads / n > 0 ? threads / n : 1;
    if (devices) j->o.device.cuda_device = devices[r];
    j->t = (hatch_trainer){.o = &j->o, .report = &j->report, .rank = r, .n_ranks = n, .comm = comm};
    if (pthread_create(&tids[r], NULL, rank_main, j) != 0) {
      trainer_comm_abort(comm, r, HATCH_ERR_OUT_OF_MEMORY); /* the started ranks stop at their next collective */
      snprintf(j->report.message, sizeof j->report.message, "cannot start the thread of rank %d", r);
      j->st = HATCH_ERR_OUT_OF_MEMORY;
      break;
    }
    started++;
  }
  for (int r = 0; r < started; r++) pthread_join(tids[r], NULL);
  /* The rank that failed first has the cause; the others only stopped with it. */
  int failed = trainer_comm_failed_rank(comm);
  st = HATCH_OK;
  if (failed >= 0) {
    st = jobs[failed].st != HATCH_OK ? jobs[failed].st : HATCH_ERR_INVALID_ARGUMENT;
    snprintf(report->message, sizeof report->message, "rank %d: %s", failed, jobs[failed].report.message);
  }
  trainer_comm_destroy(comm);
  free(jobs), free(tids), free(devices);
  return st;
}
