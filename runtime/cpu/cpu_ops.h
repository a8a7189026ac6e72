/* The CPU reference backend's ops: plain C, threaded over the backend's pool, one file per op.
 * Arguments arrive validated by runtime/core/ops.c. */
#ifndef HATCH_CPU_OPS_H
#define HATCH_CPU_OPS_H

#include <math.h>

#include "core/backend_impl.h"
#include "cpu/threadpool.h"

hatch_threadpool *hatch_cpu_pool(hatch_backend *be);

hatch_status hatch_cpu_matmul(hatch_backend *be, hatch_tensor *dst, const hatch_tensor *w, const hatch_tensor *x);
hatch_status hatch_cpu_rms_norm(hatch_backend *be, hatch_tensor *dst, const hatch_tensor *x,
                                const hatch_tensor *weight, float eps);
hatch_status hatch_cpu_softmax(hatch_backend *be, hatch_tensor *dst, const hatch_tensor *x, float scale);
hatch_status hatch_cpu_unary(hatch_backend *be, hatch_tensor *dst, const hatch_tensor *x, hatch_unary_op op);
hatch_status hatch_cpu_swiglu(hatch_backend *be, hatch_tensor *dst, const hatch_tensor *gate, const hatch_tensor *up);
hatch_status hatch_cpu_binary(hatch_backend *be, hatch_tensor *dst, const hatch_tensor *a, const hatch_tensor *b,
                              hatch_binary_op op);
hatch_status hatch_cpu_rope(hatch_backend *be, hatch_tensor *dst, const hatch_tensor *x, const hatch_tensor *pos,
                            const hatch_rope_params *p);
hatch_status hatch_cpu_attention(hatch_backend *be, hatch_tensor *dst, const hatch_tensor *q, const hatch_tensor *k,
                                 const hatch_tensor *v, const hatch_attn_params *p);
hatch_status hatch_cpu_merge_2x2(hatch_backend *be, hatch_tensor *dst, const hatch_tensor *x, int64_t grid_h,
                                 int64_t grid_w);
hatch_status hatch_cpu_get_rows(hatch_backend *be, hatch_tensor *dst, const hatch_tensor *src, const hatch_tensor *idx);
hatch_status hatch_cpu_set_rows(hatch_backend *be, hatch_tensor *dst, const hatch_tensor *src, int64_t row_offset,
                                const hatch_tensor *at, int64_t unit);
hatch_status hatch_cpu_image_resize(hatch_backend *be, hatch_tensor *dst, const hatch_tensor *src);
hatch_status hatch_cpu_image_patchify(hatch_backend *be, hatch_tensor *dst, const hatch_tensor *src,
                                      const hatch_patchify_params *p);

/* Scalar math shared by the CPU ops and mirrored in shaders/common.glsl. */
static inline float hatch_silu(float x) { return x / (1.0f + expf(-x)); }
float hatch_gelu_erf(float x);

#endif
