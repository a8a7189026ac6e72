/* Fuzz target for the one parser of this layer: the on-disk pipeline cache header check, which
 * decides whether untrusted bytes reach the driver. libFuzzer entry point; tests/fuzz/replay.c
 * runs the committed corpus through it in every ctest run. */
#include <stdint.h>
#include <string.h>

#include "vulkan/vk_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  hatch_vk_caps caps;
  memset(&caps, 0, sizeof(caps));
  caps.vendor_id = 0x10005; /* lavapipe's ids: the corpus has files that name it */
  caps.device_id = 0;
  memcpy(caps.pipeline_cache_uuid, "val-%s\0\0\0\0\0\0\0\0\0\0", VK_UUID_SIZE);
  bool ok = hatch_vk_pipeline_cache_matches(data, size, &caps);
  if (ok && (size < 32 || memcmp(data + 16, caps.pipeline_cache_uuid, VK_UUID_SIZE) != 0)) __builtin_trap();
  return 0;
}
