/* TEMPORARY placeholder while the matmul ops are written: delete when they land. */
#include "vulkan/vk_internal.h"
hatch_status hatch_vk_matmul(hatch_backend *be, hatch_tensor *dst, const hatch_tensor *w, const hatch_tensor *x) { return HATCH_ERR_UNSUPPORTED; }
