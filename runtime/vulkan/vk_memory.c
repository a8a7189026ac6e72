/* Buffers and their memory: device-local where it exists, host-visible where the CPU must write;
 * copies through a staging buffer when a device-local buffer cannot be mapped. */
#include <string.h>

#include "vulkan/vk_internal.h"

#define STAGING_BYTES ((VkDeviceSize)64 << 20)

/* Records and waits for one copy outside the op batch (vk_command.c). */
hatch_status hatch_vk_copy_now(hatch_vk_backend *vk, VkBuffer src, VkDeviceSize src_off, VkBuffer dst,
                               VkDeviceSize dst_off, VkDeviceSize size);

static int find_memory_type(const VkPhysicalDeviceMemoryProperties *mem, uint32_t bits, VkMemoryPropertyFlags want,
                            VkMemoryPropertyFlags avoid) {
  for (uint32_t i = 0; i < mem->memoryTypeCount; i++) {
    VkMemoryPropertyFlags f = mem->memoryTypes[i].propertyFlags;
    if ((bits & (1u << i)) && (f & want) == want && !(f & avoid)) return (int)i;
  }
  return -1;
}

hatch_status hatch_vk_buffer_create(hatch_vk_backend *vk, VkDeviceSize size, hatch_vk_mem_kind kind,
                                    hatch_vk_buffer *out) {
  memset(out, 0, sizeof(*out));
  if (size == 0) size = 4;
  if (size > vk->caps.max_allocation_size && vk->caps.max_allocation_size) return HATCH_ERR_TOO_LARGE;
  VkBufferCreateInfo bci = {
      .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
      .size = size,
      .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT,
      .sharingMode = VK_SHARING_MODE_EXCLUSIVE,
  };
  VkResult r = vkCreateBuffer(vk->device, &bci, NULL, &out->buffer);
  if (r != VK_SUCCESS) return hatch_vk_result(r);

  VkMemoryRequirements req;
  vkGetBufferMemoryRequirements(vk->device, out->buffer, &req);
  VkPhysicalDeviceMemoryProperties mem;
  vkGetPhysicalDeviceMemoryProperties(vk->physical, &mem);
  const VkMemoryPropertyFlags host = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
  int candidates[3] = {-1, -1, -1};
  if (kind == HATCH_VK_MEM_DEVICE) {
    /* Unified memory (Jetson, lavapipe): device-local + host-visible means zero-copy uploads. */
    candidates[0] = vk->caps.unified_memory ? find_memory_type(&mem, req.memoryTypeBits,
                                                               VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT | host, 0)
                                            : -1;
    candidates[1] = find_memory_type(&mem, req.memoryTypeBits, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT, 0);
    candidates[2] = find_memory_type(&mem, req.memoryTypeBits, host, 0); /* device memory full: host memory */
  } else {
    candidates[0] = find_memory_type(&mem, req.memoryTypeBits, host | VK_MEMORY_PROPERTY_HOST_CACHED_BIT, 0);
    candidates[1] = find_memory_type(&mem, req.memoryTypeBits, host, 0);
  }
  r = VK_ERROR_OUT_OF_DEVICE_MEMORY;
  int chosen = -1;
  for (int i = 0; i < 3 && r != VK_SUCCESS; i++) {
    if (candidates[i] < 0) continue;
    VkMemoryAllocateInfo mai = {
        .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
        .allocationSize = req.size,
        .memoryTypeIndex = (uint32_t)candidates[i],
    };
    r = hatch_vk_take_fault(vk, HATCH_VK_FAULT_ALLOCATE);
    if (r == VK_SUCCESS) r = vkAllocateMemory(vk->device, &mai, NULL, &out->memory);
    if (r == VK_SUCCESS && vk->be) vk->be->allocations++;
    if (r == VK_SUCCESS) chosen = candidates[i];
    else if (r != VK_ERROR_OUT_OF_DEVICE_MEMORY && r != VK_ERROR_OUT_OF_HOST_MEMORY) break;
  }
  if (r != VK_SUCCESS) goto err_destroy_buffer;
  r = vkBindBufferMemory(vk->device, out->buffer, out->memory, 0);
  if (r != VK_SUCCESS) goto err_free_memory;
  /* force_staging (tests): device memory is used as if it could not be mapped, as on a discrete GPU */
  bool map = (mem.memoryTypes[chosen].propertyFlags & host) == host && !(kind == HATCH_VK_MEM_DEVICE && vk->force_staging);
  if (map) {
    r = vkMapMemory(vk->device, out->memory, 0, VK_WHOLE_SIZE, 0, &out->mapped);
    if (r != VK_SUCCESS) goto err_free_memory;
  }
  out->size = size;
  return HATCH_OK;

err_free_memory:
  vkFreeMemory(vk->device, out->memory, NULL);
err_destroy_buffer:
  vkDestroyBuffer(vk->device, out->buffer, NULL);
  memset(out, 0, sizeof(*out));
  return hatch_vk_result(r);
}

void hatch_vk_buffer_destroy(hatch_vk_backend *vk, hatch_vk_buffer *buf) {
  if (!buf || !buf->buffer) return;
  if (buf->mapped) vkUnmapMemory(vk->device, buf->memory);
  vkDestroyBuffer(vk->device, buf->buffer, NULL);
  vkFreeMemory(vk->device, buf->memory, NULL);
  memset(buf, 0, sizeof(*buf));
}

static hatch_status ensure_staging(hatch_vk_backend *vk) {
  if (vk->staging.buffer) return HATCH_OK;
  return hatch_vk_buffer_create(vk, STAGING_BYTES, HATCH_VK_MEM_STAGING, &vk->staging);
}

hatch_status hatch_vk_buffer_upload(hatch_vk_backend *vk, hatch_vk_buffer *dst, VkDeviceSize offset,
                                    const void *src, VkDeviceSize size) {
  if (offset + size > dst->size) return HATCH_ERR_INVALID_ARGUMENT;
  if (dst->mapped) {
    memcpy((char *)dst->mapped + offset, src, size);
    return HATCH_OK;
  }
  hatch_status st = ensure_staging(vk);
  for (VkDeviceSize done = 0; st == HATCH_OK && done < size; done += STAGING_BYTES) {
    VkDeviceSize n = size - done < STAGING_BYTES ? size - done : STAGING_BYTES;
    memcpy(vk->staging.mapped, (const char *)src + done, n);
    st = hatch_vk_copy_now(vk, vk->staging.buffer, 0, dst->buffer, offset + done, n);
  }
  return st;
}

hatch_status hatch_vk_buffer_download(hatch_vk_backend *vk, hatch_vk_buffer *src, VkDeviceSize offset, void *dst,
                                      VkDeviceSize size) {
  if (offset + size > src->size) return HATCH_ERR_INVALID_ARGUMENT;
  if (src->mapped) {
    memcpy(dst, (const char *)src->mapped + offset, size);
    return HATCH_OK;
  }
  hatch_status st = ensure_staging(vk);
  for (VkDeviceSize done = 0; st == HATCH_OK && done < size; done += STAGING_BYTES) {
    VkDeviceSize n = size - done < STAGING_BYTES ? size - done : STAGING_BYTES;
    st = hatch_vk_copy_now(vk, src->buffer, offset + done, vk->staging.buffer, 0, n);
    if (st == HATCH_OK) memcpy((char *)dst + done, vk->staging.mapped, n);
  }
  return st;
}
