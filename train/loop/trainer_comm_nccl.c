/* The data-parallel float all-reduce on CUDA devices through NCCL (trainer_comm.h): one communicator
 * per local device from ncclCommInitAll, one stream per rank owned here. Each rank thread issues its
 * own in-place ncclAllReduce(sum) on its device's pointer and waits for it; NCCL's ring gives every
 * rank the same result, so the ranks' weights stay identical. Built with NCCL only when the CUDA
 * backend is (HATCH_TRAIN_NCCL, train/CMakeLists.txt); else every call says why it is absent. */
#include <stdio.h>
#include <stdlib.h>

#include "trainer_comm.h"

#ifdef HATCH_TRAIN_NCCL

#include <cuda_runtime.h>
#include <nccl.h>

struct trainer_nccl {
  int n_ranks;
  int *devices;         /* (n_ranks) */
  ncclComm_t *comms;    /* (n_ranks) */
  cudaStream_t *streams; /* (n_ranks) */
};

hatch_status trainer_nccl_create(int n_ranks, const int *devices, trainer_nccl **out, char why[256]) {
  *out = NULL;
  trainer_nccl *n = calloc(1, sizeof *n);
  if (!n) return HATCH_ERR_OUT_OF_MEMORY;
  n->n_ranks = n_ranks;
  n->devices = calloc((size_t)n_ranks, sizeof *n->devices);
  n->comms = calloc((size_t)n_ranks, sizeof *n->comms);
  n->streams = calloc((size_t)n_ranks, sizeof *n->streams);
  if (!n->devices || !n->comms || !n->streams) {
    trainer_nccl_destroy(n);
    return HATCH_ERR_OUT_OF_MEMORY;
  }
  for (int r = 0; r < n_ranks; r++) n->devices[r] = devices[r];
  int count = 0;
  cudaError_t ce = cudaGetDeviceCount(&count);
  if (ce != cudaSuccess || count < 1) {
    snprintf(why, 256, "NCCL: no CUDA device (%s)", ce != cudaSuccess ? cudaGetErrorString(ce) : "count 0");
    trainer_nccl_destroy(n);
    return HATCH_ERR_UNSUPPORTED;
  }
  for (int r = 0; r < n_ranks; r++)
    if (devices[r] < 0 || devices[r] >= count) {
      snprintf(why, 256, "NCCL: rank %d wants cuda:%d but %d device(s) are visible (CUDA_VISIBLE_DEVICES)", r, devices[r], count);
      trainer_nccl_destroy(n);
      return HATCH_ERR_NOT_FOUND;
    }
  ncclResult_t nr = ncclCommInitAll(n->comms, n_ranks, n->devices);
  if (nr != ncclSuccess) {
    snprintf(why, 256, "NCCL: ncclCommInitAll over %d devices: %s", n_ranks, ncclGetErrorString(nr));
    for (int r = 0; r < n_ranks; r++) n->comms[r] = NULL;
    trainer_nccl_destroy(n);
    return HATCH_ERR_UNSUPPORTED;
  }
  for (int r = 0; r < n_ranks; r++) {
    if ((ce = cudaSetDevice(devices[r])) == cudaSuccess) ce = cudaStreamCreateWithFlags(&n->streams[r], cudaStreamNonBlocking);
    if (ce != cudaSuccess) {
      snprintf(why, 256, "NCCL: stream on cuda:%d: %s", devices[r], cudaGetErrorString(ce));
      trainer_nccl_destroy(n);
      return HATCH_ERR_UNSUPPORTED;
    }
  }
  *out = n;
  return HATCH_OK;
}

void trainer_nccl_destroy(trainer_nccl *n) {
  if (!n) return;
  for (int r = 0; n->comms && r < n->n_ranks; r++)
    if (n->comms[r]) ncclCommDestroy(n->comms[r]);
  for (int r = 0; n->streams && r < n->n_ranks; r++)
    if (n->streams[r]) {
      cudaSetDevice(n->devices[r]);
      cudaStreamDestroy(n->streams[r]);
    }
  free(n->devices), free(n->comms), free(n->streams);
  free(n);
}

hatch_status trainer_nccl_allreduce_f32(trainer_nccl *n, int rank, float *x, int64_t count) {
  if (cudaSetDevice(n->devices[rank]) != cudaSuccess) return HATCH_ERR_DEVICE_LOST;
  ncclResult_t nr = ncclAllReduce(x, x, (size_t)count, ncclFloat, ncclSum, n->comms[rank], n->streams[rank]);
  if (nr != ncclSuccess) return HATCH_ERR_DEVICE_LOST;
  return cudaStreamSynchronize(n->streams[rank]) == cudaSuccess ? HATCH_OK : HATCH_ERR_DEVICE_LOST;
}

#else /* built without CUDA: the host all-reduce is the only one */

struct trainer_nccl {
  int unused;
};

hatch_status trainer_nccl_create(int n_ranks, const int *devices, trainer_nccl **out, char why[256]) {
  (void)n_ranks, (void)devices;
  *out = NULL;
  snprintf(why, 256, "hatch was built without CUDA/NCCL: data-parallel CUDA ranks are not available");
  return HATCH_ERR_UNSUPPORTED;
}

void trainer_nccl_destroy(trainer_nccl *n) { free(n); }

hatch_status trainer_nccl_allreduce_f32(trainer_nccl *n, int rank, float *x, int64_t count) {
  (void)n, (void)rank, (void)x, (void)count;
  return HATCH_ERR_UNSUPPORTED;
}

#endif
