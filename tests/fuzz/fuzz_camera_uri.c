/* Fuzz target for camera URIs as users type them: hatch_uri_parse, then the fake:// option and fault
 * parser (hatch_fake_uri_config) and the format option. Nothing is opened.
 * libFuzzer entry point; tests/fuzz/replay.c runs the committed corpus through it in every ctest. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "camera/uri_formats.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = malloc(size + 1);
  if (!text) return 0;
  memcpy(text, data, size);
  text[size] = 0;
  hatch_uri uri;
  hatch_error err = {""};
  if (hatch_uri_parse(text, &uri, &err) == HATCH_OK) {
    if (uri.path[0] == 0) __builtin_trap(); /* an accepted URI always has a path */
    for (int i = 0; i < uri.n_params; i++)
      if (!hatch_uri_param(&uri, uri.keys[i])) __builtin_trap();
    hatch_rig_options opt;
    hatch_rig_options_default(&opt);
    hatch_fake_camera_config cfg;
    hatch_v4l2_source_config src;
    hatch_fake_faults faults;
    bool has_faults = false;
    if (hatch_fake_uri_config(&uri, &opt, &cfg, &src, &faults, &has_faults, &err) == HATCH_OK) {
      if (src.width < 2 || src.height < 2 || src.width % 2 || src.height % 2 || src.fps < 1 || src.buffers < 2) __builtin_trap();
      if (has_faults && (faults.corrupt_every < 0 || faults.slow_ms < 0)) __builtin_trap();
    }
  } else if (!err.message[0]) {
    __builtin_trap(); /* every refusal says why */
  }
  free(text);
  return 0;
}
