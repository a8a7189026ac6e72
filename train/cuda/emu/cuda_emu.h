/* A CPU emulation of the CUDA runtime, cuBLAS and device-code features the training backend uses, so
 * the unchanged train/cuda .cu sources can be compiled with a host C++ compiler (-DHATCH_CUDA_EMU)
 * and their kernels' logic run and checked on a machine without a GPU (HATCH_CUDA_EMU=ON in CMake).
 *
 * What it models: a kernel launch runs every block of the grid in turn, each block on blockDim real
 * threads (std::thread), so __syncthreads is a real barrier and missing barriers show up as wrong
 * results or, under ThreadSanitizer, as reported races. Warp shuffles exchange through a per-warp
 * barrier. Dynamic shared memory is a fresh allocation of exactly the launch's size (AddressSanitizer
 * sees overruns), filled with NaN before each block (uninitialized reads poison the result); launch
 * limits (block size, grid size, dynamic shared memory over 48 KiB without the attribute) fail the
 * launch as CUDA does. A __syncthreads reached by some threads of a block while others wait at a
 * different barrier (divergent barrier) aborts with a message.
 *
 * What it does not model: warp-synchronous timing, the memory model between blocks, atomics,
 * streams (everything is synchronous), performance, or the GPU's math library (host libm here).
 * Header-only; not for production. */
#ifndef HATCH_CUDA_EMU_H
#define HATCH_CUDA_EMU_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <atomic>
#include <map>
#include <thread>
#include <vector>

/* ---- device-code qualifiers and types ---- */
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __shared__ static /* one block runs at a time: a static is the block's shared memory */

struct dim3 {
  unsigned x, y, z;
  dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};

inline thread_local dim3 emu_thread_idx, emu_block_idx, emu_block_dim, emu_grid_dim;
#define threadIdx emu_thread_idx
#define blockIdx emu_block_idx
#define blockDim emu_block_dim
#define gridDim emu_grid_dim

/* ---- errors ---- */
typedef enum cudaError {
  cudaSuccess = 0,
  cudaErrorInvalidValue = 1,
  cudaErrorMemoryAllocation = 2,
  cudaErrorInsufficientDriver = 35,
  cudaErrorNoDevice = 100,
  cudaErrorInvalidConfiguration = 9,
  cudaErrorNoKernelImageForDevice = 209,
  cudaErrorUnsupportedPtxVersion = 222,
  cudaErrorLaunchOutOfResources = 701,
} cudaError_t;

inline thread_local cudaError_t emu_last_error = cudaSuccess;

inline cudaError_t emu_fail(cudaError_t e) {
  emu_last_error = e;
  return e;
}

inline const char *cudaGetErrorString(cudaError_t e) {
  switch (e) {
  case cudaSuccess: return "no error";
  case cudaErrorInvalidValue: return "invalid argument";
  case cudaErrorMemoryAllocation: return "out of memory";
  case cudaErrorNoDevice: return "no CUDA-capable device is detected";
  case cudaErrorInvalidConfiguration: return "invalid configuration argument";
  case cudaErrorLaunchOutOfResources: return "too many resources requested for launch";
  default: return "emulated CUDA error";
  }
}
inline const char *cudaGetErrorName(cudaError_t e) {
  switch (e) {
  case cudaSuccess: return "cudaSuccess";
  case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
  case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
  case cudaErrorNoDevice: return "cudaErrorNoDevice";
  case cudaErrorInvalidConfiguration: return "cudaErrorInvalidConfiguration";
  case cudaErrorLaunchOutOfResources: return "cudaErrorLaunchOutOfResources";
  default: return "cudaErrorUnknown";
  }
}
inline cudaError_t cudaGetLastError(void) {
  cudaError_t e = emu_last_error;
  emu_last_error = cudaSuccess;
  return e;
}

/* ---- device, streams, memory ---- */
typedef struct emu_stream *cudaStream_t;
#define cudaStreamNonBlocking 1
struct cudaDeviceProp {
  char name[256];
  int major, minor;
};
enum cudaDeviceAttr { cudaDevAttrMaxSharedMemoryPerBlockOptin = 97 };
enum cudaFuncAttribute { cudaFuncAttributeMaxDynamicSharedMemorySize = 8 };
enum cudaMemcpyKind { cudaMemcpyHostToDevice = 1, cudaMemcpyDeviceToHost = 2, cudaMemcpyDeviceToDevice = 3 };

#define EMU_SMEM_OPTIN (227 * 1024) /* an H100 / H200 */
#define EMU_SMEM_DEFAULT (48 * 1024)

/* HATCH_CUDA_EMU_NO_DEVICE=1: no device (the skip path). HATCH_CUDA_EMU_MALLOC_LIMIT=N: cudaMalloc of
 * more than N bytes fails (out-of-memory paths). */
inline long long emu_env(const char *name, long long fallback) {
  const char *s = getenv(name);
  return s && *s ? atoll(s) : fallback;
}

inline cudaError_t cudaGetDeviceCount(int *count) {
  if (emu_env("HATCH_CUDA_EMU_NO_DEVICE", 0)) {
    *count = 0;
    return emu_fail(cudaErrorNoDevice);
  }
  *count = 1;
  return cudaSuccess;
}
inline cudaError_t cudaGetDeviceProperties(cudaDeviceProp *p, int device) {
  if (device != 0) return emu_fail(cudaErrorInvalidValue);
  snprintf(p->name, sizeof p->name, "hatch CUDA emulation");
  p->major = 9;
  p->minor = 0;
  return cudaSuccess;
}
inline cudaError_t cudaSetDevice(int device) { return device == 0 ? cudaSuccess : emu_fail(cudaErrorInvalidValue); }
inline cudaError_t cudaDeviceGetAttribute(int *v, cudaDeviceAttr attr, int device) {
  (void)attr;
  (void)device;
  *v = EMU_SMEM_OPTIN;
  return cudaSuccess;
}
inline cudaError_t cudaStreamCreateWithFlags(cudaStream_t *s, unsigned flags) {
  (void)flags;
  *s = (cudaStream_t)malloc(1);
  return cudaSuccess;
}
inline cudaError_t cudaStreamDestroy(cudaStream_t s) {
  free(s);
  return cudaSuccess;
}
inline cudaError_t cudaStreamSynchronize(cudaStream_t s) {
  (void)s;
  return cudaSuccess;
}
inline cudaError_t cudaMalloc(void **p, size_t bytes) {
  if ((long long)bytes > emu_env("HATCH_CUDA_EMU_MALLOC_LIMIT", (long long)1 << 40)) return emu_fail(cudaErrorMemoryAllocation);
  *p = aligned_alloc(256, (bytes + 255) / 256 * 256);
  if (!*p) return emu_fail(cudaErrorMemoryAllocation);
  memset(*p, 0xff, bytes); /* NaN: device memory is not zeroed */
  return cudaSuccess;
}
inline cudaError_t cudaFree(void *p) {
  free(p);
  return cudaSuccess;
}
inline cudaError_t cudaMemsetAsync(void *p, int value, size_t bytes, cudaStream_t s) {
  (void)s;
  memset(p, value, bytes);
  return cudaSuccess;
}
inline cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind, cudaStream_t s) {
  (void)kind;
  (void)s;
  memmove(dst, src, bytes);
  return cudaSuccess;
}

/* cudaFuncSetAttribute(kernel, MaxDynamicSharedMemorySize, bytes): remembered per kernel. */
inline std::map<const void *, int> &emu_smem_limits(void) {
  static std::map<const void *, int> limits;
  return limits;
}
template <typename F> cudaError_t cudaFuncSetAttribute(F *kernel, cudaFuncAttribute attr, int value) {
  (void)attr;
  if (value > EMU_SMEM_OPTIN) return emu_fail(cudaErrorInvalidValue);
  emu_smem_limits()[(const void *)kernel] = value;
  return cudaSuccess;
}

/* ---- block execution: barriers, shuffles, dynamic shared memory ---- */

/* A barrier for `count` threads (C++20 atomic wait, no thundering herd on a mutex). Every arrival
 * names its site; one generation mixing sites is a divergent barrier (a CUDA bug this emulation
 * reports). The last arrival's release publishes every arrival's writes to all waiters. */
struct emu_barrier {
  std::atomic<unsigned> arrived{0};
  std::atomic<unsigned long> generation{0};
  std::vector<int> sites; /* per member, written before arriving */
  unsigned count = 0;
  void init(unsigned n) {
    count = n;
    sites.assign(n, 0);
  }
  void wait(unsigned member, int site) {
    const unsigned long g = generation.load(std::memory_order_acquire);
    sites[member] = site;
    if (arrived.fetch_add(1, std::memory_order_acq_rel) + 1 == count) {
      for (unsigned i = 0; i < count; i++)
        if (sites[i] != site) {
          fprintf(stderr, "cuda_emu: divergent barrier (threads wait at different __syncthreads)\n");
          abort();
        }
      arrived.store(0, std::memory_order_relaxed);
      generation.fetch_add(1, std::memory_order_release);
      generation.notify_all();
    } else {
      while (generation.load(std::memory_order_acquire) == g) generation.wait(g, std::memory_order_acquire);
    }
  }
};

struct emu_block {
  emu_barrier all;
  std::vector<emu_barrier> warps; /* (threads + 31) / 32 */
  std::vector<uint64_t> lanes; /* one exchange slot per thread (shuffles) */
  void *smem = NULL;
};
inline emu_block *emu_current_block = NULL; /* the one block running */
inline thread_local unsigned emu_tid = 0;

#define EMU_SITE_SYNCTHREADS 1
#define EMU_SITE_BLOCK_END 2
inline void __syncthreads(void) { emu_current_block->all.wait(emu_tid, EMU_SITE_SYNCTHREADS); }

template <typename T> T __shfl_xor_sync(unsigned mask, T v, int lane_mask) {
  (void)mask;
  emu_block *b = emu_current_block;
  unsigned warp = emu_tid / 32, base = warp * 32, lane = emu_tid % 32, other = lane ^ (unsigned)lane_mask;
  static_assert(sizeof(T) <= sizeof(uint64_t), "shuffle of a wide type");
  if (base + other >= b->lanes.size()) {
    fprintf(stderr, "cuda_emu: shuffle with a lane outside the block\n");
    abort();
  }
  memcpy(&b->lanes[emu_tid], &v, sizeof v);
  b->warps[warp].wait(lane, 0);
  T r;
  memcpy(&r, &b->lanes[base + other], sizeof r);
  b->warps[warp].wait(lane, 0); /* nobody overwrites a slot before every lane has read */
  return r;
}

#define CUDA_DYNAMIC_SMEM(type, name) type *name = (type *)emu_current_block->smem

/* Runs body() for every thread of every block of the grid. */
template <typename Body> void emu_run(const void *kernel, dim3 grid, dim3 block, size_t smem, Body body) {
  const unsigned long long threads = (unsigned long long)block.x * block.y * block.z;
  if (threads == 0 || threads > 1024 || block.z > 64 || grid.x == 0 || grid.y == 0 || grid.z == 0 ||
      grid.x > 0x7fffffffu || grid.y > 65535 || grid.z > 65535) {
    emu_fail(cudaErrorInvalidConfiguration);
    return;
  }
  int limit = EMU_SMEM_DEFAULT;
  auto it = emu_smem_limits().find(kernel);
  if (it != emu_smem_limits().end() && it->second > limit) limit = it->second;
  if (smem > (size_t)limit) {
    emu_fail(cudaErrorInvalidValue); /* what CUDA reports for too much dynamic shared memory */
    return;
  }
  emu_block b;
  b.all.init((unsigned)threads);
  b.warps = std::vector<emu_barrier>((threads + 31) / 32);
  for (size_t w = 0; w < b.warps.size(); w++) b.warps[w].init((unsigned)(threads - 32 * w < 32 ? threads - 32 * w : 32));
  b.lanes.assign(threads, 0);
  b.smem = smem ? malloc(smem) : NULL;
  emu_current_block = &b;
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < threads; t++)
    pool.emplace_back([&, t] {
      emu_tid = t;
      emu_thread_idx = dim3(t % block.x, t / block.x % block.y, t / (block.x * block.y));
      emu_block_dim = block;
      emu_grid_dim = grid;
      for (unsigned z = 0; z < grid.z; z++)
        for (unsigned y = 0; y < grid.y; y++)
          for (unsigned x = 0; x < grid.x; x++) {
            if (t == 0 && b.smem) memset(b.smem, 0xff, smem); /* NaN: uninitialized shared memory */
            b.all.wait(t, EMU_SITE_BLOCK_END);
            emu_block_idx = dim3(x, y, z);
            body();
            b.all.wait(t, EMU_SITE_BLOCK_END); /* the block is done before the next reuses shared memory */
          }
    });
  for (auto &th : pool) th.join();
  emu_current_block = NULL;
  free(b.smem);
}

template <typename... P> struct emu_launch {
  void (*kernel)(P...);
  dim3 grid, block;
  size_t smem;
  template <typename... A> void operator()(A... args) const {
    void (*k)(P...) = kernel;
    emu_run((const void *)kernel, grid, block, smem, [=] { k(args...); });
  }
};
template <typename... P> emu_launch<P...> emu_bind(void (*kernel)(P...), dim3 grid, dim3 block, size_t smem) {
  return emu_launch<P...>{kernel, grid, block, smem};
}
#define CUDA_LAUNCH(kernel, grid, block, smem, stream) emu_bind(kernel, dim3(grid), dim3(block), (size_t)(smem))

/* ---- device math ---- */
inline float __fadd_rn(float a, float b) { return a + b; }
inline float __fsub_rn(float a, float b) { return a - b; }
inline float __fmul_rn(float a, float b) { return a * b; }
inline float __fdiv_rn(float a, float b) { return a / b; }
inline float __fsqrt_rn(float a) { return sqrtf(a); }

struct __nv_bfloat16 {
  uint16_t bits;
};
inline __nv_bfloat16 __float2bfloat16(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  __nv_bfloat16 r;
  if ((u & 0x7fffffffu) > 0x7f800000u) r.bits = (uint16_t)((u >> 16) | 0x40); /* quiet NaN */
  else r.bits = (uint16_t)((u + 0x7fffu + ((u >> 16) & 1)) >> 16);        /* nearest, ties to even */
  return r;
}
inline float emu_bf16_to_float(__nv_bfloat16 h) {
  uint32_t u = (uint32_t)h.bits << 16;
  float f;
  memcpy(&f, &u, 4);
  return f;
}

/* ---- cuBLAS: the handle calls and GemmEx (column-major, fp32 or bf16 inputs, fp32 output) ---- */
typedef struct emu_blas *cublasHandle_t;
typedef enum cublasStatus {
  CUBLAS_STATUS_SUCCESS = 0,
  CUBLAS_STATUS_ALLOC_FAILED = 3,
  CUBLAS_STATUS_INVALID_VALUE = 7,
  CUBLAS_STATUS_ARCH_MISMATCH = 8,
  CUBLAS_STATUS_NOT_SUPPORTED = 15,
} cublasStatus_t;
typedef enum { CUBLAS_OP_N = 0, CUBLAS_OP_T = 1 } cublasOperation_t;
typedef enum { CUDA_R_32F = 0, CUDA_R_16BF = 14 } cudaDataType_t;
typedef enum { CUBLAS_COMPUTE_32F = 68 } cublasComputeType_t;
typedef enum { CUBLAS_GEMM_DEFAULT = -1 } cublasGemmAlgo_t;
typedef enum { CUBLAS_DEFAULT_MATH = 0 } cublasMath_t;

inline cublasStatus_t cublasCreate(cublasHandle_t *h) {
  *h = (cublasHandle_t)malloc(1);
  return CUBLAS_STATUS_SUCCESS;
}
inline cublasStatus_t cublasDestroy(cublasHandle_t h) {
  free(h);
  return CUBLAS_STATUS_SUCCESS;
}
inline cublasStatus_t cublasSetStream(cublasHandle_t h, cudaStream_t s) {
  (void)h;
  (void)s;
  return CUBLAS_STATUS_SUCCESS;
}
inline cublasStatus_t cublasSetMathMode(cublasHandle_t h, cublasMath_t m) {
  (void)h;
  (void)m;
  return CUBLAS_STATUS_SUCCESS;
}
inline const char *cublasGetStatusString(cublasStatus_t s) { return s == CUBLAS_STATUS_SUCCESS ? "success" : "error"; }

inline float emu_elem(const void *p, cudaDataType_t type, int64_t i) {
  return type == CUDA_R_16BF ? emu_bf16_to_float(((const __nv_bfloat16 *)p)[i]) : ((const float *)p)[i];
}

/* C (m x n, ldc) = alpha op(A) op(B) + beta C; op(A) is m x k, op(B) k x n; C not read when beta is 0. */
inline cublasStatus_t cublasGemmEx(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                                   const void *alpha, const void *a, cudaDataType_t at, int lda, const void *b,
                                   cudaDataType_t bt, int ldb, const void *beta, void *c, cudaDataType_t ct, int ldc,
                                   cublasComputeType_t compute, cublasGemmAlgo_t algo) {
  (void)h;
  (void)algo;
  if (ct != CUDA_R_32F || compute != CUBLAS_COMPUTE_32F || at != bt || m < 0 || n < 0 || k < 0 ||
      lda < (ta == CUBLAS_OP_N ? m : k) || ldb < (tb == CUBLAS_OP_N ? k : n) || ldc < m || lda < 1 || ldb < 1)
    return CUBLAS_STATUS_INVALID_VALUE;
  const float al = *(const float *)alpha, be = *(const float *)beta;
  float *cf = (float *)c;
  for (int j = 0; j < n; j++)
    for (int i = 0; i < m; i++) {
      float s = 0.0f;
      for (int l = 0; l < k; l++) {
        float av = emu_elem(a, at, ta == CUBLAS_OP_N ? i + (int64_t)l * lda : l + (int64_t)i * lda);
        float bv = emu_elem(b, bt, tb == CUBLAS_OP_N ? l + (int64_t)j * ldb : j + (int64_t)l * ldb);
        s += av * bv;
      }
      float *out = &cf[i + (int64_t)j * ldc];
      *out = be == 0.0f ? al * s : al * s + be * *out;
    }
  return CUBLAS_STATUS_SUCCESS;
}

#endif
