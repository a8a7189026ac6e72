/* Compute pipelines, created on first use from the embedded SPIR-V and kept for the backend's
 * lifetime; a VkPipelineCache persisted on disk makes later runs skip driver compilation. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vulkan/vk_internal.h"
#include "vulkan/vk_shaders.h"

struct hatch_vk_pipeline {
  char variant[64];
  uint32_t spec[HATCH_VK_MAX_SPEC];
  int n_spec, n_bindings;
  uint32_t push_size;
  VkShaderModule module;
  VkDescriptorSetLayout set_layout;
  VkPipelineLayout layout;
  VkPipeline pipeline;
};

struct hatch_vk_pipeline_set {
  hatch_vk_pipeline **items; /* (count) */
  int count, capacity;
  VkPipelineCache cache;
  char cache_path[1024]; /* "" when not persisted */
  bool dirty;
};

const hatch_vk_shader_spv *hatch_vk_shader_find(const char *name) {
  for (size_t i = 0; i < hatch_vk_shader_count; i++)
    if (strcmp(hatch_vk_shader_table[i].name, name) == 0) return &hatch_vk_shader_table[i];
  return NULL;
}

static void cache_path_for(const hatch_vk_caps *caps, const char *dir, char *out, size_t len) {
  char uuid[2 * VK_UUID_SIZE + 1];
  for (unsigned i = 0; i < VK_UUID_SIZE; i++) snprintf(uuid + 2 * i, 3, "%02x", caps->pipeline_cache_uuid[i]);
  snprintf(out, len, "%s/pipelines-%04x-%04x-%s.bin", dir, caps->vendor_id, caps->device_id, uuid);
}

static bool make_dirs(const char *path) {
  char tmp[1024];
  snprintf(tmp, sizeof(tmp), "%s", path);
  for (char *p = tmp + 1; *p; p++) {
    if (*p != '/') continue;
    *p = 0;
    if (mkdir(tmp, 0755) != 0 && errno != EEXIST) return false;
    *p = '/';
  }
  return mkdir(tmp, 0755) == 0 || errno == EEXIST;
}

bool hatch_vk_pipeline_cache_matches(const void *data, size_t size, const hatch_vk_caps *caps) {
  if (size < 32) return false;
  uint32_t header[4]; /* length, version, vendor, device; then the 16-byte cache UUID */
  memcpy(header, data, sizeof(header));
  return header[0] >= 32 && header[0] <= size && header[1] == VK_PIPELINE_CACHE_HEADER_VERSION_ONE &&
         header[2] == caps->vendor_id && header[3] == caps->device_id &&
         memcmp((const char *)data + 16, caps->pipeline_cache_uuid, VK_UUID_SIZE) == 0;
}

/* Reads the cache file if its header names this device; anything else is ignored, never trusted. */
static void *load_cache(const char *path, const hatch_vk_caps *caps, size_t *size) {
  *size = 0;
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  void *data = NULL;
  if (fseek(f, 0, SEEK_END) != 0) goto done;
  long n = ftell(f);
  if (n < 32 || n > (64L << 20) || fseek(f, 0, SEEK_SET) != 0) goto done;
  data = malloc((size_t)n);
  if (!data || fread(data, 1, (size_t)n, f) != (size_t)n) goto drop;
  if (!hatch_vk_pipeline_cache_matches(data, (size_t)n, caps)) goto drop;
  *size = (size_t)n;
  goto done;
drop:
  free(data);
  data = NULL;
done:
  fclose(f);
  return data;
}

hatch_status hatch_vk_pipelines_create(hatch_vk_backend *vk, const char *cache_dir) {
  hatch_vk_pipeline_set *set = calloc(1, sizeof(*set));
  if (!set) return HATCH_ERR_OUT_OF_MEMORY;
  char dir[900] = "";
  if (cache_dir) {
    snprintf(dir, sizeof(dir), "%s", cache_dir);
  } else if (getenv("XDG_CACHE_HOME") && *getenv("XDG_CACHE_HOME")) {
    snprintf(dir, sizeof(dir), "%s/hatch", getenv("XDG_CACHE_HOME"));
  } else if (getenv("HOME") && *getenv("HOME")) {
    snprintf(dir, sizeof(dir), "%s/.cache/hatch", getenv("HOME"));
  }
  void *initial = NULL;
  size_t initial_size = 0;
  if (dir[0]) {
    cache_path_for(&vk->caps, dir, set->cache_path, sizeof(set->cache_path));
    initial = load_cache(set->cache_path, &vk->caps, &initial_size);
  }
  VkPipelineCacheCreateInfo ci = {
      .sType = VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO,
      .initialDataSize = initial_size,
      .pInitialData = initial,
  };
  VkResult r = vkCreatePipelineCache(vk->device, &ci, NULL, &set->cache);
  if (r != VK_SUCCESS && initial) { /* a driver may still reject it: start empty */
    ci.initialDataSize = 0;
    ci.pInitialData = NULL;
    r = vkCreatePipelineCache(vk->device, &ci, NULL, &set->cache);
  }
  free(initial);
  if (r != VK_SUCCESS) {
    free(set);
    return hatch_vk_result(r);
  }
  vk->pipelines = set;
  return HATCH_OK;
}

static void save_cache(hatch_vk_backend *vk, hatch_vk_pipeline_set *set) {
  if (!set->dirty || !set->cache_path[0]) return;
  size_t size = 0;
  if (vkGetPipelineCacheData(vk->device, set->cache, &size, NULL) != VK_SUCCESS || size == 0) return;
  void *data = malloc(size);
  if (!data) return;
  char dir[1024], tmp[1100];
  snprintf(dir, sizeof(dir), "%s", set->cache_path);
  char *slash = strrchr(dir, '/');
  if (slash) *slash = 0;
  snprintf(tmp, sizeof(tmp), "%s.XXXXXX", set->cache_path); /* unique: two processes may save at once */
  if (vkGetPipelineCacheData(vk->device, set->cache, &size, data) == VK_SUCCESS && make_dirs(dir)) {
    int fd = mkstemp(tmp); /* write beside, then rename: a crash never leaves half a cache */
    FILE *f = fd >= 0 ? fdopen(fd, "wb") : NULL;
    if (f) {
      bool ok = fwrite(data, 1, size, f) == size;
      ok = fclose(f) == 0 && ok;
      if (ok) ok = rename(tmp, set->cache_path) == 0;
      if (!ok) remove(tmp);
    } else if (fd >= 0) {
      close(fd);
      remove(tmp);
    }
  }
  free(data);
}

static void pipeline_destroy(hatch_vk_backend *vk, hatch_vk_pipeline *p) {
  if (!p) return;
  if (p->pipeline) vkDestroyPipeline(vk->device, p->pipeline, NULL);
  if (p->layout) vkDestroyPipelineLayout(vk->device, p->layout, NULL);
  if (p->set_layout) vkDestroyDescriptorSetLayout(vk->device, p->set_layout, NULL);
  if (p->module) vkDestroyShaderModule(vk->device, p->module, NULL);
  free(p);
}

void hatch_vk_pipelines_destroy(hatch_vk_backend *vk) {
  hatch_vk_pipeline_set *set = vk->pipelines;
  if (!set) return;
  save_cache(vk, set);
  for (int i = 0; i < set->count; i++) pipeline_destroy(vk, set->items[i]);
  free(set->items);
  vkDestroyPipelineCache(vk->device, set->cache, NULL);
  free(set);
  vk->pipelines = NULL;
}

static hatch_status pipeline_build(hatch_vk_backend *vk, hatch_vk_pipeline *p) {
  const hatch_vk_shader_spv *spv = hatch_vk_shader_find(p->variant);
  if (!spv) {
    fprintf(stderr, "hatch: no embedded shader variant named '%s'\n", p->variant);
    return HATCH_ERR_UNSUPPORTED;
  }
  VkShaderModuleCreateInfo smci = {
      .sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO, .codeSize = spv->size, .pCode = spv->code};
  VkResult r = vkCreateShaderModule(vk->device, &smci, NULL, &p->module);
  if (r != VK_SUCCESS) return hatch_vk_result(r);

  VkDescriptorSetLayoutBinding bindings[HATCH_VK_MAX_BINDINGS];
  for (int i = 0; i < p->n_bindings; i++)
    bindings[i] = (VkDescriptorSetLayoutBinding){
        .binding = (uint32_t)i,
        .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
        .descriptorCount = 1,
        .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT,
    };
  VkDescriptorSetLayoutCreateInfo dslci = {
      .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
      .bindingCount = (uint32_t)p->n_bindings,
      .pBindings = bindings,
  };
  r = vkCreateDescriptorSetLayout(vk->device, &dslci, NULL, &p->set_layout);
  if (r != VK_SUCCESS) return hatch_vk_result(r);

  VkPushConstantRange range = {.stageFlags = VK_SHADER_STAGE_COMPUTE_BIT, .offset = 0, .size = p->push_size};
  VkPipelineLayoutCreateInfo plci = {
      .sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
      .setLayoutCount = 1,
      .pSetLayouts = &p->set_layout,
      .pushConstantRangeCount = p->push_size ? 1 : 0,
      .pPushConstantRanges = &range,
  };
  r = vkCreatePipelineLayout(vk->device, &plci, NULL, &p->layout);
  if (r != VK_SUCCESS) return hatch_vk_result(r);

  VkSpecializationMapEntry entries[HATCH_VK_MAX_SPEC];
  for (int i = 0; i < p->n_spec; i++)
    entries[i] = (VkSpecializationMapEntry){.constantID = (uint32_t)i, .offset = 4u * (uint32_t)i, .size = 4};
  VkSpecializationInfo si = {
      .mapEntryCount = (uint32_t)p->n_spec,
      .pMapEntries = entries,
      .dataSize = 4u * (uint32_t)p->n_spec,
      .pData = p->spec,
  };
  VkComputePipelineCreateInfo cpci = {
      .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
      .stage =
          {
              .sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
              .stage = VK_SHADER_STAGE_COMPUTE_BIT,
              .module = p->module,
              .pName = "main",
              .pSpecializationInfo = p->n_spec ? &si : NULL,
          },
      .layout = p->layout,
  };
  r = vkCreateComputePipelines(vk->device, vk->pipelines->cache, 1, &cpci, NULL, &p->pipeline);
  if (r != VK_SUCCESS) return hatch_vk_result(r);
  vk->pipelines->dirty = true;
  return HATCH_OK;
}

hatch_status hatch_vk_pipeline_get(hatch_vk_backend *vk, const char *variant, const uint32_t *spec, int n_spec,
                                   int n_bindings, uint32_t push_size, hatch_vk_pipeline **out) {
  hatch_vk_pipeline_set *set = vk->pipelines;
  if (n_spec > HATCH_VK_MAX_SPEC || n_bindings > HATCH_VK_MAX_BINDINGS || strlen(variant) >= 64 ||
      push_size > vk->caps.max_push_constants || push_size % 4 != 0)
    return HATCH_ERR_INVALID_ARGUMENT;
  for (int i = 0; i < set->count; i++) {
    hatch_vk_pipeline *p = set->items[i];
    if (p->n_spec == n_spec && p->n_bindings == n_bindings && p->push_size == push_size &&
        strcmp(p->variant, variant) == 0 && memcmp(p->spec, spec, sizeof(uint32_t) * (size_t)n_spec) == 0) {
      *out = p;
      return HATCH_OK;
    }
  }
  if (set->count == set->capacity) {
    int cap = set->capacity ? 2 * set->capacity : 32;
    hatch_vk_pipeline **items = realloc(set->items, sizeof(*items) * (size_t)cap);
    if (!items) return HATCH_ERR_OUT_OF_MEMORY;
    set->items = items;
    set->capacity = cap;
  }
  hatch_vk_pipeline *p = calloc(1, sizeof(*p));
  if (!p) return HATCH_ERR_OUT_OF_MEMORY;
  snprintf(p->variant, sizeof(p->variant), "%s", variant);
  if (n_spec) memcpy(p->spec, spec, sizeof(uint32_t) * (size_t)n_spec);
  p->n_spec = n_spec;
  p->n_bindings = n_bindings;
  p->push_size = push_size;
  hatch_status st = pipeline_build(vk, p);
  if (st != HATCH_OK) {
    pipeline_destroy(vk, p);
    return st;
  }
  set->items[set->count++] = p;
  *out = p;
  return HATCH_OK;
}

VkPipeline hatch_vk_pipeline_handle(const hatch_vk_pipeline *p) { return p->pipeline; }
VkPipelineLayout hatch_vk_pipeline_layout(const hatch_vk_pipeline *p) { return p->layout; }
VkDescriptorSetLayout hatch_vk_pipeline_set_layout(const hatch_vk_pipeline *p) { return p->set_layout; }
