/* The CUDA training backend's one addition to model/train_backend.h: the text of its first error.
 * train_backend_cuda_create is declared there. */
#ifndef HATCH_TRAIN_BACKEND_CUDA_H
#define HATCH_TRAIN_BACKEND_CUDA_H

#ifdef __cplusplus
extern "C" {
#endif

#include "model/train_backend.h" /* a C header without its own extern "C" */

/* What the backend's first failure was ("cudaMalloc (4096 bytes): out of memory", "attention: head
 * size 160 over 128"), "" while healthy or for a backend that is not CUDA. Owned by b. */
const char *train_backend_cuda_error(const train_backend *b);

#ifdef __cplusplus
}
#endif

#endif
