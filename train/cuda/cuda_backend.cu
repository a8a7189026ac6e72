/* The CUDA training backend: lifecycle, memory, data movement, error recording and the ops table.
 * Kernels live in cuda_linear.cu, cuda_rows.cu, cuda_attention.cu and cuda_elementwise.cu. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda/cuda_backend.h"

/* ---- errors ---- */

static hatch_status status_of_cuda(cudaError_t e) {
  switch (e) {
  case cudaErrorMemoryAllocation: return HATCH_ERR_OUT_OF_DEVICE_MEMORY;
  case cudaErrorInvalidValue: return HATCH_ERR_INVALID_ARGUMENT;
  case cudaErrorNoKernelImageForDevice:
  case cudaErrorUnsupportedPtxVersion:
  case cudaErrorInsufficientDriver: return HATCH_ERR_UNSUPPORTED;
  default: return HATCH_ERR_DEVICE_LOST; /* launch failures, illegal addresses: the context is gone */
  }
}

static hatch_status status_of_blas(cublasStatus_t s) {
  switch (s) {
  case CUBLAS_STATUS_ALLOC_FAILED: return HATCH_ERR_OUT_OF_DEVICE_MEMORY;
  case CUBLAS_STATUS_INVALID_VALUE: return HATCH_ERR_INVALID_ARGUMENT;
  case CUBLAS_STATUS_NOT_SUPPORTED:
  case CUBLAS_STATUS_ARCH_MISMATCH: return HATCH_ERR_UNSUPPORTED;
  default: return HATCH_ERR_DEVICE_LOST;
  }
}

void cuda_fail(cuda_backend *cb, hatch_status status, const char *what) {
  if (cb->status != HATCH_OK) return; /* keep the first error: later ones are usually its echo */
  cb->status = status;
  snprintf(cb->message, sizeof cb->message, "%s", what);
}

bool cuda_check(cuda_backend *cb, cudaError_t e, const char *what) {
  if (e == cudaSuccess) return true;
  char text[256];
  snprintf(text, sizeof text, "%s: %s (%s)", what, cudaGetErrorString(e), cudaGetErrorName(e));
  cuda_fail(cb, status_of_cuda(e), text);
  return false;
}

bool cuda_check_blas(cuda_backend *cb, cublasStatus_t s, const char *what) {
  if (s == CUBLAS_STATUS_SUCCESS) return true;
  char text[256];
  snprintf(text, sizeof text, "%s: %s", what, cublasGetStatusString(s));
  cuda_fail(cb, status_of_blas(s), text);
  return false;
}

bool cuda_check_launch(cuda_backend *cb, const char *kernel) { return cuda_check(cb, cudaGetLastError(), kernel); }

bool cuda_begin(cuda_backend *cb) {
  if (cb->status != HATCH_OK) return false;
  /* Per-thread state: a caller driving several GPUs from one thread switches between backends. */
  return cuda_check(cb, cudaSetDevice(cb->device), "cudaSetDevice");
}

hatch_status cuda_wait(cuda_backend *cb, const char *what) {
  if (cuda_check(cb, cudaStreamSynchronize(cb->stream), what)) cuda_check(cb, cudaGetLastError(), what);
  return cb->status;
}

void *cuda_scratch(cuda_backend *cb, size_t bytes) {
  if (bytes == 0) bytes = 1; /* a valid pointer even for nothing */
  if (bytes <= cb->scratch_bytes) return cb->scratch;
  if (bytes > ((size_t)1 << 48)) {
    cuda_fail(cb, HATCH_ERR_TOO_LARGE, "scratch request over 2^48 bytes");
    return NULL;
  }
  size_t want = bytes + bytes / 4;
  want = (want + ((size_t)1 << 20) - 1) & ~(((size_t)1 << 20) - 1); /* whole MiB */
  if (cb->scratch) {
    /* Queued kernels may still read the old scratch: wait before freeing it. */
    if (cuda_wait(cb, "scratch: synchronize") != HATCH_OK) return NULL;
    cudaError_t e = cudaFree(cb->scratch);
    cb->scratch = NULL;
    cb->scratch_bytes = 0;
    if (!cuda_check(cb, e, "scratch: cudaFree")) return NULL;
  }
  void *p = NULL;
  if (!cuda_check(cb, cudaMalloc(&p, want), "scratch: cudaMalloc")) return NULL;
  cb->scratch = p;
  cb->scratch_bytes = want;
  return p;
}

/* ---- memory and data movement ---- */

static void *op_alloc(train_backend *b, size_t bytes) {
  cuda_backend *cb = cuda_of(b);
  if (!cuda_begin(cb) || bytes > SIZE_MAX - 255) return NULL;
  size_t size = bytes ? (bytes + 255) & ~(size_t)255 : 256; /* cudaMalloc aligns to 256 bytes */
  void *p = NULL;
  cudaError_t e = cudaMalloc(&p, size);
  if (e == cudaErrorMemoryAllocation) {
    cudaGetLastError(); /* out of memory is the caller's to handle (NULL), not a backend failure */
    return NULL;
  }
  if (!cuda_check(cb, e, "cudaMalloc")) return NULL;
  if (!cuda_check(cb, cudaMemsetAsync(p, 0, size, cb->stream), "alloc: cudaMemsetAsync")) {
    cudaFree(p);
    return NULL;
  }
  return p;
}

static void op_free(train_backend *b, void *p) {
  if (!p) return;
  cuda_backend *cb = cuda_of(b);
  /* Freed even after a failure (no leak); queued work may still use p, so wait first. */
  cuda_check(cb, cudaSetDevice(cb->device), "free: cudaSetDevice");
  cuda_check(cb, cudaStreamSynchronize(cb->stream), "free: synchronize");
  cuda_check(cb, cudaFree(p), "cudaFree");
}

static hatch_status op_upload(train_backend *b, void *dst, const void *host_src, size_t bytes) {
  cuda_backend *cb = cuda_of(b);
  if (!cuda_begin(cb)) return cb->status;
  if (bytes == 0) return HATCH_OK;
  if (!dst || !host_src) return HATCH_ERR_INVALID_ARGUMENT;
  cuda_check(cb, cudaMemcpyAsync(dst, host_src, bytes, cudaMemcpyHostToDevice, cb->stream), "upload");
  /* Waits: the caller may reuse host_src at once, pinned or not. */
  return cuda_wait(cb, "upload: synchronize");
}

static hatch_status op_download(train_backend *b, void *host_dst, const void *src, size_t bytes) {
  cuda_backend *cb = cuda_of(b);
  if (!cuda_begin(cb)) return cb->status;
  if (bytes == 0) return cuda_wait(cb, "download: synchronize");
  if (!host_dst || !src) return HATCH_ERR_INVALID_ARGUMENT;
  cuda_check(cb, cudaMemcpyAsync(host_dst, src, bytes, cudaMemcpyDeviceToHost, cb->stream), "download");
  return cuda_wait(cb, "download: synchronize");
}

static void op_copy(train_backend *b, void *dst, const void *src, size_t bytes) {
  cuda_backend *cb = cuda_of(b);
  if (!cuda_begin(cb) || bytes == 0) return;
  cuda_check(cb, cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, cb->stream), "copy");
}

static void op_zero(train_backend *b, float *p, int64_t n) {
  cuda_backend *cb = cuda_of(b);
  if (!cuda_begin(cb) || n <= 0) return;
  cuda_check(cb, cudaMemsetAsync(p, 0, (size_t)n * sizeof(float), cb->stream), "zero");
}

static hatch_status op_sync(train_backend *b) {
  cuda_backend *cb = cuda_of(b);
  if (!cuda_begin(cb)) return cb->status;
  return cuda_wait(cb, "sync");
}

/* ---- lifecycle ---- */

static void op_destroy(train_backend *b) {
  if (!b) return;
  cuda_backend *cb = cuda_of(b);
  cudaSetDevice(cb->device);
  if (cb->stream) cudaStreamSynchronize(cb->stream);
  if (cb->scratch) cudaFree(cb->scratch);
  if (cb->blas) cublasDestroy(cb->blas);
  if (cb->stream) cudaStreamDestroy(cb->stream);
  cudaGetLastError(); /* leave no error of ours for the thread's next CUDA user */
  free(cb);
}

static train_ops make_ops(void) {
  train_ops o;
  memset(&o, 0, sizeof o);
  o.name = "cuda";
  o.destroy = op_destroy;
  o.alloc = op_alloc;
  o.free = op_free;
  o.upload = op_upload;
  o.download = op_download;
  o.copy = op_copy;
  o.zero = op_zero;
  o.sync = op_sync;
  o.add = cuda_add;
  o.gather_rows = cuda_gather_rows;
  o.scatter_rows = cuda_scatter_rows;
  o.copy_2d = cuda_copy_2d;
  o.linear_forward = cuda_linear_forward;
  o.linear_backward = cuda_linear_backward;
  o.rmsnorm_forward = cuda_rmsnorm_forward;
  o.rmsnorm_backward = cuda_rmsnorm_backward;
  o.rope_forward = cuda_rope_forward;
  o.rope_backward = cuda_rope_backward;
  o.attention_forward = cuda_attention_forward;
  o.attention_backward = cuda_attention_backward;
  o.swiglu_forward = cuda_swiglu_forward;
  o.swiglu_backward = cuda_swiglu_backward;
  o.gelu_forward = cuda_gelu_forward;
  o.gelu_backward = cuda_gelu_backward;
  o.embedding_forward = cuda_embedding_forward;
  o.embedding_backward = cuda_embedding_backward;
  o.logprob_forward = cuda_logprob_forward;
  o.logprob_backward = cuda_logprob_backward;
  o.sum_squares = cuda_sum_squares;
  o.scale = cuda_scale;
  o.adamw = cuda_adamw;
#ifndef HATCH_CUDA_EMU
  o.peak_matmul_flops = cuda_peak_matmul_flops;
#endif
  return o;
}

static const train_ops *cuda_ops(void) {
  static const train_ops ops = make_ops(); /* C++ static: initialized once, thread-safe */
  return &ops;
}

hatch_status train_backend_cuda_create(int device, bool bf16, train_backend **out, char *why) {
  if (why) why[0] = '\0';
  if (!out) return HATCH_ERR_INVALID_ARGUMENT;
  *out = NULL;
  int count = 0;
  cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess || count == 0) {
    if (why) snprintf(why, 256, "no CUDA device: %s", e != cudaSuccess ? cudaGetErrorString(e) : "none found");
    cudaGetLastError();
    return HATCH_ERR_UNSUPPORTED;
  }
  if (device < 0 || device >= count) {
    if (why) snprintf(why, 256, "CUDA device %d does not exist (%d found)", device, count);
    return HATCH_ERR_INVALID_ARGUMENT;
  }
  cudaDeviceProp prop;
  e = cudaGetDeviceProperties(&prop, device);
  if (e != cudaSuccess) {
    if (why) snprintf(why, 256, "cudaGetDeviceProperties: %s", cudaGetErrorString(e));
    cudaGetLastError();
    return HATCH_ERR_UNSUPPORTED;
  }
  if (prop.major < 8) { /* bf16 matmuls, the kernels' shared memory */
    if (why)
      snprintf(why, 256, "%s: compute capability %d.%d, the CUDA backend needs 8.0 or newer", prop.name, prop.major,
               prop.minor);
    return HATCH_ERR_UNSUPPORTED;
  }
  cuda_backend *cb = (cuda_backend *)calloc(1, sizeof *cb);
  if (!cb) return HATCH_ERR_OUT_OF_MEMORY;
  cb->base.ops = cuda_ops();
  cb->base.host_memory = false;
  cb->device = device;
  cb->bf16 = bf16;
  cb->status = HATCH_OK;
  bool ok = cuda_check(cb, cudaSetDevice(device), "cudaSetDevice") &&
            cuda_check(cb, cudaStreamCreateWithFlags(&cb->stream, cudaStreamNonBlocking), "cudaStreamCreate") &&
            cuda_check_blas(cb, cublasCreate(&cb->blas), "cublasCreate") &&
            cuda_check_blas(cb, cublasSetStream(cb->blas, cb->stream), "cublasSetStream") &&
            /* No TF32: fp32 mode is true fp32, so parity with the CPU reference is tight. */
            cuda_check_blas(cb, cublasSetMathMode(cb->blas, CUBLAS_DEFAULT_MATH), "cublasSetMathMode") &&
            cuda_attention_init(cb);
  if (!ok) {
    hatch_status st = cb->status;
    if (why) snprintf(why, 256, "%s", cb->message);
    op_destroy(&cb->base);
    return st;
  }
  *out = &cb->base;
  return HATCH_OK;
}

const char *train_backend_cuda_error(const train_backend *b) {
  if (!b || !b->ops || strcmp(b->ops->name, "cuda") != 0) return "";
  return ((const cuda_backend *)b)->message;
}
