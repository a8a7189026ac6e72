/* Collectives between the ranks of a data-parallel run (hatch-train train --ranks N): N threads of
 * one process, one model per rank. Every rank calls the same collectives in the same order.
 *
 * The host implementation (trainer_comm.c) sums with pthreads through host memory, in rank order
 * 0..N-1, so a result is deterministic and identical on every rank. With CUDA devices the float
 * all-reduce goes through NCCL (trainer_comm_nccl.c) on the backends' device pointers.
 *
 * Failure: a rank that fails calls trainer_comm_abort; every rank waiting in a collective, and every
 * later collective, returns that status at once (no rank is left waiting for a dead one).
 *
 * Ownership: one trainer_comm per run, created before the rank threads start, destroyed after they
 * are joined. */
#ifndef HATCH_TRAINER_COMM_H
#define HATCH_TRAINER_COMM_H

#include <stdint.h>

#include "hatch/status.h"
#include "model/train_backend.h"

typedef struct trainer_comm trainer_comm;

/* n_ranks >= 1 ranks. cuda_devices: NULL for the host all-reduce, else (n_ranks) CUDA device
 * indices, one per rank, for NCCL (HATCH_ERR_UNSUPPORTED when hatch was built without CUDA/NCCL,
 * with the reason in why, 256 bytes). */
hatch_status trainer_comm_create(int n_ranks, const int *cuda_devices, trainer_comm **out, char why[256]);
void trainer_comm_destroy(trainer_comm *c); /* NULL is fine */
int trainer_comm_size(const trainer_comm *c);

/* Marks the group failed with st (the first abort wins) and wakes every waiting rank. */
void trainer_comm_abort(trainer_comm *c, int rank, hatch_status st);
/* The rank that aborted first, or -1. */
int trainer_comm_failed_rank(const trainer_comm *c);

hatch_status trainer_comm_barrier(trainer_comm *c);
/* x (n host doubles) <- the sum over ranks of every rank's x, in rank order. */
hatch_status trainer_comm_allreduce_f64(trainer_comm *c, int rank, double *x, int n);
/* x (n floats of backend b's memory) <- the sum over ranks, identical on every rank. Host path:
 * through b's download / upload when b does not share host memory; NCCL: on the device pointer. */
hatch_status trainer_comm_allreduce_f32(trainer_comm *c, int rank, train_backend *b, float *x, int64_t n);

/* ---- NCCL (trainer_comm_nccl.c; a stub that says why when built without CUDA) ---------------- */
typedef struct trainer_nccl trainer_nccl;
/* ncclCommInitAll over devices (n_ranks), one comm-owned stream per rank. */
hatch_status trainer_nccl_create(int n_ranks, const int *devices, trainer_nccl **out, char why[256]);
void trainer_nccl_destroy(trainer_nccl *n); /* NULL is fine */
/* In-place ncclAllReduce(sum) of x (n device floats) on rank's stream, then waits for it. The
 * caller has synchronized the backend that wrote x (the all-reduce does not overlap the backward). */
hatch_status trainer_nccl_allreduce_f32(trainer_nccl *n, int rank, float *x, int64_t count);

#endif
