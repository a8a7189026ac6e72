/* The SPIR-V of every shader variant, embedded at build time (shaders/CMakeLists.txt). */
#ifndef HATCH_VK_SHADERS_H
#define HATCH_VK_SHADERS_H

#include <stddef.h>
#include <stdint.h>

typedef struct hatch_vk_shader_spv {
  const char *name;
  const uint32_t *code;
  size_t size; /* bytes */
} hatch_vk_shader_spv;

extern const hatch_vk_shader_spv hatch_vk_shader_table[];
extern const size_t hatch_vk_shader_count;

const hatch_vk_shader_spv *hatch_vk_shader_find(const char *name);

#endif
