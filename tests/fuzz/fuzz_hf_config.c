/* Fuzz target for the Qwen2.5-VL config parsers: the input as config.json and as
 * preprocessor_config.json. Checks the contract: a config that parses validates again and derives
 * consistent sizes within the documented bounds; a failure carries a message naming the input.
 * libFuzzer entry point; tests/fuzz/replay.c runs the committed corpus in every ctest. */
#include <stdint.h>
#include <string.h>

#include "hatch/model_config.h"

static void check_report(hatch_status st, const hatch_config_report *rep) {
  if (!memchr(rep->message, 0, sizeof(rep->message))) __builtin_trap();
  if (st != HATCH_OK && strncmp(rep->message, "fuzz", 4) != 0) __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static hatch_qwen25vl_config cfg;
  hatch_config_report rep;
  hatch_status st = hatch_qwen25vl_config_parse((const char *)data, size, "fuzz", &cfg, &rep);
  check_report(st, &rep);
  if (st == HATCH_OK) {
    hatch_qwen25vl_derived d;
    if (hatch_qwen25vl_config_validate(&cfg, "fuzz", &rep) != HATCH_OK) __builtin_trap();
    if (hatch_qwen25vl_config_derive(&cfg, &d) != HATCH_OK) __builtin_trap();
    if ((int64_t)d.head_dim * cfg.text.num_attention_heads != cfg.text.hidden_size) __builtin_trap();
    if (d.n_kv_groups * cfg.text.num_key_value_heads != cfg.text.num_attention_heads) __builtin_trap();
    if (cfg.text.mrope_section[0] + cfg.text.mrope_section[1] + cfg.text.mrope_section[2] != d.head_dim / 2)
      __builtin_trap();
    if (d.vision_head_dim * cfg.vision.num_heads != cfg.vision.hidden_size || d.window_merged < 1) __builtin_trap();
    if (d.n_params <= 0 || d.n_params > HATCH_CONFIG_MAX_PARAMS) __builtin_trap();
    for (int i = 0; i < cfg.vision.n_fullatt; i++)
      if (!hatch_qwen25vl_vision_layer_is_full(&cfg, cfg.vision.fullatt_block_indexes[i])) __builtin_trap();
  }
  hatch_qwen25vl_preprocess_config pp;
  hatch_qwen25vl_preprocess_defaults(&pp);
  st = hatch_qwen25vl_preprocess_parse((const char *)data, size, "fuzz", &pp, &rep);
  check_report(st, &rep);
  if (st == HATCH_OK && (pp.min_pixels < 1 || pp.max_pixels < pp.min_pixels || !(pp.image_std[0] > 0)))
    __builtin_trap();
  return 0;
}
