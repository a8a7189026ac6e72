/* Instance, physical device choice (with an override), feature probing and the logical device. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vulkan/vk_internal.h"

#define VALIDATION_LAYER "VK_LAYER_KHRONOS_validation"

static VKAPI_ATTR VkBool32 VKAPI_CALL on_validation_message(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                                                            VkDebugUtilsMessageTypeFlagsEXT types,
                                                            const VkDebugUtilsMessengerCallbackDataEXT *data,
                                                            void *user) {
  hatch_vk_backend *vk = user;
  if (severity >= VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT) {
    if (vk->be) vk->be->validation_messages++;
    fprintf(stderr, "hatch: vulkan validation: %s\n", data->pMessage);
  }
  return VK_FALSE;
}

static bool has_layer(const char *name) {
  uint32_t n = 0;
  if (vkEnumerateInstanceLayerProperties(&n, NULL) != VK_SUCCESS || n == 0) return false;
  VkLayerProperties *props = calloc(n, sizeof(*props));
  if (!props) return false;
  bool found = false;
  if (vkEnumerateInstanceLayerProperties(&n, props) == VK_SUCCESS)
    for (uint32_t i = 0; i < n && !found; i++) found = strcmp(props[i].layerName, name) == 0;
  free(props);
  return found;
}

static hatch_status create_instance(VkInstance *out, bool validation, char *err, size_t err_len) {
  VkApplicationInfo app = {
      .sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
      .pApplicationName = "hatch",
      .pEngineName = "hatch",
      .apiVersion = VK_API_VERSION_1_2,
  };
  const char *layers[] = {VALIDATION_LAYER};
  const char *exts[] = {VK_EXT_DEBUG_UTILS_EXTENSION_NAME};
  /* With validation, synchronization validation too: lavapipe runs dispatches in order, so a
   * missing barrier never shows as a wrong result there; only this layer catches it. */
  VkValidationFeatureEnableEXT enables[] = {VK_VALIDATION_FEATURE_ENABLE_SYNCHRONIZATION_VALIDATION_EXT};
  VkValidationFeaturesEXT features = {
      .sType = VK_STRUCTURE_TYPE_VALIDATION_FEATURES_EXT,
      .enabledValidationFeatureCount = 1,
      .pEnabledValidationFeatures = enables,
  };
  VkInstanceCreateInfo ci = {
      .sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
      .pNext = validation ? &features : NULL,
      .pApplicationInfo = &app,
      .enabledLayerCount = validation ? 1 : 0,
      .ppEnabledLayerNames = layers,
      .enabledExtensionCount = validation ? 1 : 0,
      .ppEnabledExtensionNames = exts,
  };
  VkResult r = vkCreateInstance(&ci, NULL, out);
  if (r != VK_SUCCESS) {
    snprintf(err, err_len, "vkCreateInstance failed: %s (is a Vulkan driver installed?)", hatch_vk_result_name(r));
    return r == VK_ERROR_INCOMPATIBLE_DRIVER ? HATCH_ERR_NO_DEVICE : hatch_vk_result(r);
  }
  return HATCH_OK;
}

static bool has_device_extension(VkPhysicalDevice pd, const char *name) {
  uint32_t n = 0;
  if (vkEnumerateDeviceExtensionProperties(pd, NULL, &n, NULL) != VK_SUCCESS) return false;
  VkExtensionProperties *props = calloc(n ? n : 1, sizeof(*props));
  if (!props) return false;
  bool found = false;
  if (vkEnumerateDeviceExtensionProperties(pd, NULL, &n, props) == VK_SUCCESS)
    for (uint32_t i = 0; i < n && !found; i++) found = strcmp(props[i].extensionName, name) == 0;
  free(props);
  return found;
}

/* Appends s to a pNext chain when `when`. */
static void chain(VkBaseOutStructure **tail, void *s, bool when) {
  if (!when) return;
  (*tail)->pNext = s;
  *tail = s;
}

static void probe_caps(VkPhysicalDevice pd, hatch_vk_caps *c) {
  memset(c, 0, sizeof(*c));
  VkPhysicalDeviceShaderIntegerDotProductProperties dot_props = {
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_INTEGER_DOT_PRODUCT_PROPERTIES};
  VkPhysicalDeviceSubgroupSizeControlProperties sg_size = {
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_SIZE_CONTROL_PROPERTIES};
  VkPhysicalDeviceSubgroupProperties sg = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES};
  VkPhysicalDeviceMaintenance3Properties m3 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES};
  VkPhysicalDeviceDriverProperties driver = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES};
  VkPhysicalDeviceProperties2 props = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2};
  VkPhysicalDeviceProperties base;
  vkGetPhysicalDeviceProperties(pd, &base);
  /* The instance asks for 1.2: newer structs are chained only where 1.2 or an extension allows them. */
  bool api12 = base.apiVersion >= VK_API_VERSION_1_2;
  bool has_driver = api12 || has_device_extension(pd, VK_KHR_DRIVER_PROPERTIES_EXTENSION_NAME);
  bool has_dot = has_device_extension(pd, VK_KHR_SHADER_INTEGER_DOT_PRODUCT_EXTENSION_NAME);
  bool has_sg_size = has_device_extension(pd, VK_EXT_SUBGROUP_SIZE_CONTROL_EXTENSION_NAME);
  bool has_f16i8 = api12 || has_device_extension(pd, VK_KHR_SHADER_FLOAT16_INT8_EXTENSION_NAME);
  bool has_s8 = api12 || has_device_extension(pd, VK_KHR_8BIT_STORAGE_EXTENSION_NAME);
  VkBaseOutStructure *tail = (VkBaseOutStructure *)&props;
  chain(&tail, &sg, true);
  chain(&tail, &m3, true);
  chain(&tail, &driver, has_driver);
  chain(&tail, &dot_props, has_dot);
  chain(&tail, &sg_size, has_sg_size);
  vkGetPhysicalDeviceProperties2(pd, &props);

  const VkPhysicalDeviceProperties *p = &props.properties;
  snprintf(c->device_name, sizeof(c->device_name), "%s", p->deviceName);
  snprintf(c->driver_name, sizeof(c->driver_name), "%s", has_driver ? driver.driverName : "unknown");
  snprintf(c->driver_info, sizeof(c->driver_info), "%s", has_driver ? driver.driverInfo : "");
  memcpy(c->pipeline_cache_uuid, p->pipelineCacheUUID, VK_UUID_SIZE);
  c->device_type = p->deviceType;
  c->api_version = p->apiVersion;
  c->vendor_id = p->vendorID;
  c->device_id = p->deviceID;
  c->subgroup_size = sg.subgroupSize;
  c->subgroup_arithmetic = (sg.supportedOperations & VK_SUBGROUP_FEATURE_ARITHMETIC_BIT) &&
                           (sg.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT);
  c->min_subgroup_size = has_sg_size ? sg_size.minSubgroupSize : sg.subgroupSize;
  c->max_subgroup_size = has_sg_size ? sg_size.maxSubgroupSize : sg.subgroupSize;
  c->max_shared_memory = p->limits.maxComputeSharedMemorySize;
  c->max_push_constants = p->limits.maxPushConstantsSize;
  c->max_workgroup_invocations = p->limits.maxComputeWorkGroupInvocations;
  for (int i = 0; i < 3; i++) c->max_workgroup_count[i] = p->limits.maxComputeWorkGroupCount[i];
  c->max_storage_buffer_range = p->limits.maxStorageBufferRange;
  c->max_allocation_size = m3.maxMemoryAllocationSize;
  c->min_storage_offset_align = p->limits.minStorageBufferOffsetAlignment;
  c->timestamp_period_ns = p->limits.timestampPeriod;

  VkPhysicalDeviceShaderIntegerDotProductFeatures dot_feat = {
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_INTEGER_DOT_PRODUCT_FEATURES};
  VkPhysicalDevice8BitStorageFeatures s8 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_8BIT_STORAGE_FEATURES};
  VkPhysicalDevice16BitStorageFeatures s16 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES};
  VkPhysicalDeviceShaderFloat16Int8Features f16i8 = {
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES};
  VkPhysicalDeviceFeatures2 feats = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2};
  tail = (VkBaseOutStructure *)&feats;
  chain(&tail, &s16, true);
  chain(&tail, &f16i8, has_f16i8);
  chain(&tail, &s8, has_s8);
  chain(&tail, &dot_feat, has_dot);
  vkGetPhysicalDeviceFeatures2(pd, &feats);
  c->shader_int8 = f16i8.shaderInt8;
  c->shader_float16 = f16i8.shaderFloat16;
  c->storage_8bit = s8.storageBuffer8BitAccess;
  c->storage_16bit = s16.storageBuffer16BitAccess;
  c->integer_dot = has_dot && dot_feat.shaderIntegerDotProduct;
  c->integer_dot_accelerated = c->integer_dot && dot_props.integerDotProduct4x8BitPackedSignedAccelerated;

  VkPhysicalDeviceMemoryProperties mem;
  vkGetPhysicalDeviceMemoryProperties(pd, &mem);
  for (uint32_t i = 0; i < mem.memoryHeapCount; i++)
    if (mem.memoryHeaps[i].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) c->device_local_bytes += mem.memoryHeaps[i].size;
  for (uint32_t i = 0; i < mem.memoryTypeCount; i++) {
    VkMemoryPropertyFlags f = mem.memoryTypes[i].propertyFlags;
    if ((f & VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT) && (f & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT) &&
        (f & VK_MEMORY_PROPERTY_HOST_COHERENT_BIT) && c->device_type != VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU)
      c->unified_memory = true;
  }
}

static int device_rank(const hatch_vk_caps *c) {
  switch (c->device_type) {
  case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU:
    return 4;
  case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU:
    return 3;
  case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU:
    return 2;
  case VK_PHYSICAL_DEVICE_TYPE_CPU:
    return 1;
  default:
    return 0;
  }
}

static hatch_status enumerate(VkInstance inst, VkPhysicalDevice **out, uint32_t *count) {
  *out = NULL;
  *count = 0;
  VkResult r = vkEnumeratePhysicalDevices(inst, count, NULL);
  if (r != VK_SUCCESS) return hatch_vk_result(r);
  if (*count == 0) return HATCH_ERR_NO_DEVICE;
  *out = calloc(*count, sizeof(**out));
  if (!*out) return HATCH_ERR_OUT_OF_MEMORY;
  r = vkEnumeratePhysicalDevices(inst, count, *out);
  if (r != VK_SUCCESS && r != VK_INCOMPLETE) {
    free(*out);
    *out = NULL;
    return hatch_vk_result(r);
  }
  return HATCH_OK;
}

hatch_status hatch_vk_list_devices(hatch_vk_caps *caps, uint32_t max, uint32_t *count) {
  *count = 0;
  VkInstance inst;
  char err[256];
  hatch_status st = create_instance(&inst, false, err, sizeof(err));
  if (st != HATCH_OK) return st;
  VkPhysicalDevice *pds;
  uint32_t n;
  st = enumerate(inst, &pds, &n);
  if (st == HATCH_OK) {
    for (uint32_t i = 0; i < n && i < max; i++) probe_caps(pds[i], &caps[i]);
    *count = n;
    free(pds);
  }
  vkDestroyInstance(inst, NULL);
  return st;
}

static hatch_status pick_device(hatch_vk_backend *vk, int requested, char *err, size_t err_len) {
  VkPhysicalDevice *pds;
  uint32_t n;
  hatch_status st = enumerate(vk->instance, &pds, &n);
  if (st != HATCH_OK) {
    snprintf(err, err_len, "no Vulkan physical device found");
    return st == HATCH_ERR_NO_DEVICE ? st : st;
  }
  const char *env = getenv("HATCH_VK_DEVICE");
  if (env && *env) {
    char *end = NULL;
    long v = strtol(env, &end, 10);
    if (*end != '\0' || v < 0 || v > 255) {
      snprintf(err, err_len, "HATCH_VK_DEVICE='%s' is not a device index (see hatch doctor)", env);
      free(pds);
      return HATCH_ERR_INVALID_ARGUMENT;
    }
    requested = (int)v;
  }
  int best = -1, best_rank = -1;
  if (requested >= 0) {
    if ((uint32_t)requested >= n) {
      snprintf(err, err_len, "Vulkan device %d requested (HATCH_VK_DEVICE or option) but only %u present",
               requested, n);
      free(pds);
      return HATCH_ERR_NO_DEVICE;
    }
    hatch_vk_caps c;
    probe_caps(pds[requested], &c);
    if (c.api_version < VK_API_VERSION_1_1) {
      snprintf(err, err_len, "Vulkan device %d (%s) is Vulkan 1.0; hatch needs 1.1", requested, c.device_name);
      free(pds);
      return HATCH_ERR_NO_DEVICE;
    }
    best = requested;
  } else {
    for (uint32_t i = 0; i < n; i++) {
      hatch_vk_caps c;
      probe_caps(pds[i], &c);
      if (c.api_version < VK_API_VERSION_1_1) continue;
      if (device_rank(&c) > best_rank) {
        best_rank = device_rank(&c);
        best = (int)i;
      }
    }
  }
  if (best < 0) {
    snprintf(err, err_len, "no Vulkan 1.1 device among %u", n);
    free(pds);
    return HATCH_ERR_NO_DEVICE;
  }
  vk->physical = pds[best];
  probe_caps(vk->physical, &vk->caps);
  free(pds);
  return HATCH_OK;
}

static hatch_status create_device(hatch_vk_backend *vk, char *err, size_t err_len) {
  uint32_t nq = 0;
  vkGetPhysicalDeviceQueueFamilyProperties(vk->physical, &nq, NULL);
  VkQueueFamilyProperties *qf = calloc(nq ? nq : 1, sizeof(*qf));
  if (!qf) return HATCH_ERR_OUT_OF_MEMORY;
  vkGetPhysicalDeviceQueueFamilyProperties(vk->physical, &nq, qf);
  int family = -1;
  /* Prefer a compute queue without graphics (async compute), else any compute queue. */
  for (uint32_t i = 0; i < nq && family < 0; i++)
    if ((qf[i].queueFlags & VK_QUEUE_COMPUTE_BIT) && !(qf[i].queueFlags & VK_QUEUE_GRAPHICS_BIT)) family = (int)i;
  for (uint32_t i = 0; i < nq && family < 0; i++)
    if (qf[i].queueFlags & VK_QUEUE_COMPUTE_BIT) family = (int)i;
  if (family >= 0) {
    vk->caps.timestamp_valid_bits = qf[family].timestampValidBits;
    vk->caps.timestamps = qf[family].timestampValidBits > 0;
  }
  free(qf);
  if (family < 0) {
    snprintf(err, err_len, "%s has no compute queue", vk->caps.device_name);
    return HATCH_ERR_NO_DEVICE;
  }
  vk->queue_family = (uint32_t)family;

  float priority = 1.0f;
  VkDeviceQueueCreateInfo qci = {
      .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
      .queueFamilyIndex = vk->queue_family,
      .queueCount = 1,
      .pQueuePriorities = &priority,
  };
  const char *exts[1];
  uint32_t n_ext = 0;
  /* The instance asks for Vulkan 1.2, so integer dot product is an extension even on 1.3 devices. */
  if (vk->caps.integer_dot && has_device_extension(vk->physical, VK_KHR_SHADER_INTEGER_DOT_PRODUCT_EXTENSION_NAME))
    exts[n_ext++] = VK_KHR_SHADER_INTEGER_DOT_PRODUCT_EXTENSION_NAME;
  else if (vk->caps.integer_dot)
    vk->caps.integer_dot = vk->caps.integer_dot_accelerated = false; /* core-only 1.3 feature we can't reach */
  /* Enable only what the device has; shaders needing more are never selected. */
  VkPhysicalDeviceShaderIntegerDotProductFeatures dot = {
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_INTEGER_DOT_PRODUCT_FEATURES,
      .shaderIntegerDotProduct = vk->caps.integer_dot};
  VkPhysicalDeviceShaderFloat16Int8Features f16i8 = {
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES,
      .shaderFloat16 = vk->caps.shader_float16,
      .shaderInt8 = vk->caps.shader_int8,
      .pNext = vk->caps.integer_dot ? &dot : NULL};
  /* On a Vulkan 1.1 device the 1.2 feature struct is not allowed: int8/fp16 stay off there. */
  bool core_12 = vk->caps.api_version >= VK_API_VERSION_1_2;
  if (!core_12) vk->caps.shader_float16 = vk->caps.shader_int8 = false;
  VkDeviceCreateInfo dci = {
      .sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
      .pNext = core_12 ? (void *)&f16i8 : (vk->caps.integer_dot ? (void *)&dot : NULL),
      .queueCreateInfoCount = 1,
      .pQueueCreateInfos = &qci,
      .enabledExtensionCount = n_ext,
      .ppEnabledExtensionNames = exts,
  };
  VkResult r = vkCreateDevice(vk->physical, &dci, NULL, &vk->device);
  if (r != VK_SUCCESS) {
    snprintf(err, err_len, "vkCreateDevice on %s failed: %s", vk->caps.device_name, hatch_vk_result_name(r));
    return hatch_vk_result(r);
  }
  vkGetDeviceQueue(vk->device, vk->queue_family, 0, &vk->queue);
  return HATCH_OK;
}

hatch_status hatch_vk_device_open(hatch_vk_backend *vk, const hatch_vulkan_options *opt, char *err, size_t err_len) {
  bool validation = opt->enable_validation;
  if (validation && !has_layer(VALIDATION_LAYER)) {
    snprintf(err, err_len, "validation requested but %s is not installed (apt-get install vulkan-validationlayers)",
             VALIDATION_LAYER);
    return HATCH_ERR_UNSUPPORTED;
  }
  hatch_status st = create_instance(&vk->instance, validation, err, err_len);
  if (st != HATCH_OK) return st;
  if (validation) {
    PFN_vkCreateDebugUtilsMessengerEXT create_messenger =
        (PFN_vkCreateDebugUtilsMessengerEXT)vkGetInstanceProcAddr(vk->instance, "vkCreateDebugUtilsMessengerEXT");
    VkDebugUtilsMessengerCreateInfoEXT mci = {
        .sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT,
        .messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT,
        .messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                       VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT,
        .pfnUserCallback = on_validation_message,
        .pUserData = vk,
    };
    if (!create_messenger || create_messenger(vk->instance, &mci, NULL, &vk->messenger) != VK_SUCCESS) {
      snprintf(err, err_len, "could not create the validation messenger");
      return HATCH_ERR_UNSUPPORTED;
    }
  }
  st = pick_device(vk, opt->device_index, err, err_len);
  if (st != HATCH_OK) return st;
  return create_device(vk, err, err_len);
}

void hatch_vk_device_close(hatch_vk_backend *vk) {
  if (vk->device) vkDestroyDevice(vk->device, NULL);
  if (vk->messenger) {
    PFN_vkDestroyDebugUtilsMessengerEXT destroy_messenger =
        (PFN_vkDestroyDebugUtilsMessengerEXT)vkGetInstanceProcAddr(vk->instance, "vkDestroyDebugUtilsMessengerEXT");
    if (destroy_messenger) destroy_messenger(vk->instance, vk->messenger, NULL);
  }
  if (vk->instance) vkDestroyInstance(vk->instance, NULL);
  vk->device = VK_NULL_HANDLE;
  vk->instance = VK_NULL_HANDLE;
}
