/* hatch doctor: what the machine offers hatch, and what hatch will use. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "hatch/backend.h"
#ifdef HATCH_HAVE_VULKAN
#include "vulkan/vk_internal.h"
#endif

#ifdef HATCH_HAVE_VULKAN
static const char *device_type_name(VkPhysicalDeviceType t) {
  switch (t) {
  case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return "discrete GPU";
  case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return "integrated GPU";
  case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return "virtual GPU";
  case VK_PHYSICAL_DEVICE_TYPE_CPU: return "CPU (software)";
  default: return "other";
  }
}

static const char *yes(bool b) { return b ? "yes" : "no"; }

static void print_device(uint32_t index, const hatch_vk_caps *c) {
  printf("vulkan device %u: %s\n", index, c->device_name);
  printf("  type            %s, Vulkan %u.%u.%u, driver %s %s\n", device_type_name(c->device_type),
         VK_API_VERSION_MAJOR(c->api_version), VK_API_VERSION_MINOR(c->api_version),
         VK_API_VERSION_PATCH(c->api_version), c->driver_name, c->driver_info);
  printf("  int8 / fp16     shaderInt8 %s, shaderFloat16 %s, 8-bit storage %s, 16-bit storage %s\n",
         yes(c->shader_int8), yes(c->shader_float16), yes(c->storage_8bit), yes(c->storage_16bit));
  printf("  integer dot     %s%s\n", yes(c->integer_dot),
         c->integer_dot ? (c->integer_dot_accelerated ? " (accelerated)" : " (not accelerated)") : "");
  printf("  subgroup        size %u (range %u..%u), arithmetic %s\n", c->subgroup_size, c->min_subgroup_size,
         c->max_subgroup_size, yes(c->subgroup_arithmetic));
  printf("  limits          shared memory %u B, push constants %u B, workgroup invocations %u, groups %u x %u x %u\n",
         c->max_shared_memory, c->max_push_constants, c->max_workgroup_invocations, c->max_workgroup_count[0],
         c->max_workgroup_count[1], c->max_workgroup_count[2]);
  printf("  buffers         storage range %.0f MiB, allocation %.0f MiB, offset alignment %llu B\n",
         (double)c->max_storage_buffer_range / 1048576.0, (double)c->max_allocation_size / 1048576.0,
         (unsigned long long)c->min_storage_offset_align);
  printf("  memory          device-local %.2f GiB, unified (host-visible device memory) %s\n",
         (double)c->device_local_bytes / (1024.0 * 1024.0 * 1024.0), yes(c->unified_memory));
}
#endif

int hatch_cmd_doctor(int argc, char **argv) {
  if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
    printf("usage: hatch doctor\n  Lists Vulkan devices with the features and limits hatch uses, then the backend hatch picks.\n"
           "  HATCH_VK_DEVICE=N picks device N.\n");
    return 0;
  }
  hatch_status st;
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  printf("hatch doctor\n");
  printf("cpu: %ld online cores (the CPU backend threads over all of them)\n", cores);
#ifdef HATCH_HAVE_VULKAN
  hatch_vk_caps caps[8];
  uint32_t n = 0;
  st = hatch_vk_list_devices(caps, 8, &n);
  if (st != HATCH_OK) {
    printf("vulkan: no devices (%s: %s)\n", hatch_status_name(st), hatch_status_message(st));
  } else {
    for (uint32_t i = 0; i < n && i < 8; i++) print_device(i, &caps[i]);
  }
#else
  printf("vulkan: not built (HATCH_VULKAN=OFF)\n");
#endif
  hatch_backend *be = NULL;
  char why[512] = "";
  st = hatch_backend_create_default(&be, why, sizeof(why));
  if (st != HATCH_OK) {
    printf("backend: none could be created (%s)%s%s\n", hatch_status_message(st), why[0] ? ": " : "", why);
    return 1;
  }
  printf("backend: %s\n", hatch_backend_name(be));
  if (why[0]) printf("note: %s\n", why);
  hatch_backend_destroy(be);
  return 0;
}
