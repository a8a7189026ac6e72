/* Fuzz target for the MJPEG stream splitter: strict and resyncing walks plus the index. Invariants:
 * every frame lies inside the data, starts FF D8 and ends FF D9, frames do not overlap and come in
 * order, offsets only move forward (so a walk ends), and the index agrees with the walk.
 * libFuzzer entry point; tests/fuzz/replay.c runs the committed corpus through it in every ctest. */
#include <stdint.h>
#include <stdlib.h>

#include "hatch/frame_files.h"

static size_t walk(const uint8_t *data, size_t size, bool resync) {
  size_t off = 0, start, n, skipped, count = 0, prev_end = 0;
  hatch_file_error err;
  for (;;) {
    size_t before = off;
    hatch_status st = hatch_mjpeg_next_ex(data, size, &off, resync, &start, &n, &skipped, &err);
    if (st == HATCH_ERR_NOT_FOUND) break;
    if (st != HATCH_OK) {
      if (resync && off != size) __builtin_trap(); /* resync gives up only at the end */
      if (!resync && off != before) __builtin_trap();
      break;
    }
    if (start < prev_end || start < before || n < 4 || start + n > size || off != start + n || off <= before) __builtin_trap();
    if (data[start] != 0xFF || data[start + 1] != 0xD8 || data[start + n - 2] != 0xFF || data[start + n - 1] != 0xD9)
      __builtin_trap();
    if (skipped != start - before) __builtin_trap();
    prev_end = off;
    count++;
  }
  return count;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  for (int resync = 0; resync < 2; resync++) {
    size_t count = walk(data, size, resync);
    hatch_mjpeg_index idx;
    hatch_status st = hatch_mjpeg_index_build(data, size, 0, resync, &idx, NULL);
    if (st == HATCH_OK && idx.count != count) __builtin_trap();
    if (resync && st != HATCH_OK) __builtin_trap(); /* resync never fails on content */
    hatch_mjpeg_index_free(&idx);
  }
  return 0;
}
