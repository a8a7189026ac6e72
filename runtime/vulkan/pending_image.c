/* TEMPORARY placeholder while the image ops are written: delete when they land. */
#include "vulkan/vk_internal.h"
hatch_status hatch_vk_merge_2x2(hatch_backend *be, hatch_tensor *dst, const hatch_tensor *x, int64_t grid_h, int64_t grid_w) { return HATCH_ERR_UNSUPPORTED; }
hatch_status hatch_vk_image_resize(hatch_backend *be, hatch_tensor *dst, const hatch_tensor *src) { return HATCH_ERR_UNSUPPORTED; }
hatch_status hatch_vk_image_patchify(hatch_backend *be, hatch_tensor *dst, const hatch_tensor *src, const hatch_patchify_params *p) { return HATCH_ERR_UNSUPPORTED; }
