/* Fuzz target for the capture manifest parser. Invariants: a parsed manifest passes the same rules
 * the writers apply (header, every set against the one before, stats), every present frame has a
 * safe file name, and freeing leaves nothing behind (ASan).
 * libFuzzer entry point; tests/fuzz/replay.c runs the committed corpus through it in every ctest. */
#include <stdint.h>
#include <stdlib.h>

#include "hatch/frame_files.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  hatch_capture_manifest m;
  hatch_file_error err;
  hatch_status st = hatch_capture_manifest_parse((const char *)data, size, "fuzz", &m, &err);
  if (st != HATCH_OK) {
    if (m.sets || m.storage || !err.message[0]) __builtin_trap();
    return 0;
  }
  if (hatch_capture_header_check(&m.header, "fuzz", &err) != HATCH_OK) __builtin_trap();
  for (size_t i = 0; i < m.n_sets; i++) {
    if (hatch_capture_set_check(&m.header, &m.sets[i], i ? &m.sets[i - 1] : NULL, i, "fuzz", &err) != HATCH_OK)
      __builtin_trap();
    for (int k = 0; k < m.header.n_cameras; k++)
      if (!m.sets[i].frames[k].missing && !hatch_capture_file_name_ok(m.sets[i].frames[k].file)) __builtin_trap();
  }
  if (hatch_capture_stats_check(&m.header, &m.stats, m.n_sets, "fuzz", &err) != HATCH_OK) __builtin_trap();
  hatch_capture_manifest_free(&m);
  return 0;
}
