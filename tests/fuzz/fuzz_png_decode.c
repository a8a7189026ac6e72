/* Fuzz target for PNG frames: hatch_png_probe + hatch_png_decode_rgb into a buffer sized from the
 * probe, limits capped at 1024x1024 so the fuzzer stays fast and small. Invariants: a decode never
 * succeeds where the probe failed, and reports the probed size.
 * libFuzzer entry point; tests/fuzz/replay.c runs the committed corpus through it in every ctest. */
#include <stdint.h>
#include <stdlib.h>

#include "hatch/frame_files.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const hatch_jpeg_limits limits = {1024, 1024, 1024 * 1024};
  int w = 0, h = 0;
  hatch_status pst = hatch_png_probe(data, size, &w, &h);
  if (pst == HATCH_OK && (w <= 0 || h <= 0)) __builtin_trap();
  size_t n = pst == HATCH_OK && w <= 1024 && h <= 1024 ? (size_t)w * (size_t)h * 3 : 3;
  uint8_t *rgb = malloc(n); /* (h, w, 3) */
  if (!rgb) return 0;
  hatch_decode_report rep;
  hatch_status st = hatch_png_decode_rgb(data, size, &limits, rgb, n, &rep);
  if (st == HATCH_OK && (pst != HATCH_OK || rep.width != w || rep.height != h)) __builtin_trap();
  if (st == HATCH_OK && (w > 1024 || h > 1024)) __builtin_trap(); /* limits hold */
  free(rgb);
  return 0;
}
