/* The CUDA backend's constructor in a build without CUDA (HATCH_CUDA off or nvcc not found): says why. */
#include <stdio.h>

#include "cuda/train_backend_cuda.h"

hatch_status train_backend_cuda_create(int device, bool bf16, train_backend **out, char *why) {
  (void)device;
  (void)bf16;
  if (out) *out = NULL;
#ifdef HATCH_CUDA_DISABLED
  if (why) snprintf(why, 256, "hatch was built without CUDA (configured with HATCH_CUDA=OFF)");
#else
  if (why) snprintf(why, 256, "hatch was built without CUDA (nvcc not found at configure time)");
#endif
  return HATCH_ERR_UNSUPPORTED;
}

const char *train_backend_cuda_error(const train_backend *b) {
  (void)b;
  return "";
}
