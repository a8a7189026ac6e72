/* Device helpers shared by the kernels: fixed-order block reductions and grid-stride indexing.
 * Include from .cu files only (after cuda_backend.h). */
#ifndef HATCH_TRAIN_CUDA_DEVICE_H
#define HATCH_TRAIN_CUDA_DEVICE_H

#include "cuda/cuda_backend.h"

#define CUDA_ROW_THREADS 256 /* threads of the one-block-per-row kernels (a power of two) */

/* First item and stride of a grid-stride loop over int64 items. */
__device__ __forceinline__ int64_t grid_first(void) { return (int64_t)blockIdx.x * blockDim.x + threadIdx.x; }
__device__ __forceinline__ int64_t grid_stride(void) { return (int64_t)gridDim.x * blockDim.x; }

/* Sum of v over the block. Every thread of the block calls it (it has barriers); blockDim.x is a
 * power of two; red holds blockDim.x elements of shared memory. A fixed tree: the same result run to
 * run. Step s: threads < s read red[s, 2s) and write red[0, s): disjoint, a barrier between steps. */
template <typename T> __device__ T block_sum(T v, T *red) {
  const int tid = threadIdx.x;
  red[tid] = v;
  __syncthreads();
  for (int s = blockDim.x / 2; s > 0; s >>= 1) {
    if (tid < s) red[tid] = red[tid] + red[tid + s];
    __syncthreads();
  }
  T r = red[0];
  __syncthreads(); /* red is reused by the next call */
  return r;
}

/* Largest v over the block, as the CPU reference compares (a > b ? a : b); same rules as block_sum. */
template <typename T> __device__ T block_max(T v, T *red) {
  const int tid = threadIdx.x;
  red[tid] = v;
  __syncthreads();
  for (int s = blockDim.x / 2; s > 0; s >>= 1) {
    if (tid < s) red[tid] = red[tid + s] > red[tid] ? red[tid + s] : red[tid];
    __syncthreads();
  }
  T r = red[0];
  __syncthreads();
  return r;
}

#endif
