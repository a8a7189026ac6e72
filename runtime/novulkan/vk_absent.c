/* Built with -DHATCH_VULKAN=OFF: the Vulkan backend reports that it is absent. */
#include <stdio.h>

#include "core/backend_impl.h"

hatch_status hatch_backend_create_vulkan(const hatch_vulkan_options *opt, hatch_backend **out) {
  if (out) *out = NULL;
  fprintf(stderr, "hatch: this build has no Vulkan backend (HATCH_VULKAN=OFF)\n");
  return HATCH_ERR_UNSUPPORTED;
}
