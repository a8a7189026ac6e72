#include "vulkan/vk_internal.h"

hatch_status hatch_vk_result(VkResult r) {
  switch (r) {
  case VK_SUCCESS:
    return HATCH_OK;
  case VK_TIMEOUT:
  case VK_NOT_READY:
    return HATCH_ERR_TIMEOUT; /* never success: the work has not finished */
  case VK_ERROR_DEVICE_LOST:
    return HATCH_ERR_DEVICE_LOST;
  case VK_ERROR_OUT_OF_HOST_MEMORY:
    return HATCH_ERR_OUT_OF_MEMORY;
  case VK_ERROR_OUT_OF_DEVICE_MEMORY:
  case VK_ERROR_OUT_OF_POOL_MEMORY:
  case VK_ERROR_FRAGMENTED_POOL:
  case VK_ERROR_FRAGMENTATION:
    return HATCH_ERR_OUT_OF_DEVICE_MEMORY;
  case VK_ERROR_INITIALIZATION_FAILED:
  case VK_ERROR_INCOMPATIBLE_DRIVER:
    return HATCH_ERR_NO_DEVICE;
  case VK_ERROR_FEATURE_NOT_PRESENT:
  case VK_ERROR_EXTENSION_NOT_PRESENT:
  case VK_ERROR_LAYER_NOT_PRESENT:
    return HATCH_ERR_UNSUPPORTED;
  default:
    return HATCH_ERR_VULKAN;
  }
}

const char *hatch_vk_result_name(VkResult r) {
  switch (r) {
#define NAME(x) \
  case x:       \
    return #x;
    NAME(VK_SUCCESS)
    NAME(VK_NOT_READY)
    NAME(VK_TIMEOUT)
    NAME(VK_INCOMPLETE)
    NAME(VK_ERROR_OUT_OF_HOST_MEMORY)
    NAME(VK_ERROR_OUT_OF_DEVICE_MEMORY)
    NAME(VK_ERROR_INITIALIZATION_FAILED)
    NAME(VK_ERROR_DEVICE_LOST)
    NAME(VK_ERROR_MEMORY_MAP_FAILED)
    NAME(VK_ERROR_LAYER_NOT_PRESENT)
    NAME(VK_ERROR_EXTENSION_NOT_PRESENT)
    NAME(VK_ERROR_FEATURE_NOT_PRESENT)
    NAME(VK_ERROR_INCOMPATIBLE_DRIVER)
    NAME(VK_ERROR_TOO_MANY_OBJECTS)
    NAME(VK_ERROR_FORMAT_NOT_SUPPORTED)
    NAME(VK_ERROR_FRAGMENTED_POOL)
    NAME(VK_ERROR_OUT_OF_POOL_MEMORY)
    NAME(VK_ERROR_FRAGMENTATION)
#undef NAME
  default:
    return "VkResult(other)";
  }
}

void hatch_vk_inject_fault(hatch_vk_backend *vk, hatch_vk_fault_site site, VkResult result, int count) {
  vk->fault = (hatch_vk_fault){site, result, count};
}

VkResult hatch_vk_take_fault(hatch_vk_backend *vk, hatch_vk_fault_site site) {
  if (vk->fault.site != site || vk->fault.count <= 0) return VK_SUCCESS;
  if (--vk->fault.count == 0) vk->fault.site = HATCH_VK_FAULT_NONE;
  return vk->fault.result;
}
