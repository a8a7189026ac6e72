/* Fuzz target for camera frames: hatch_jpeg_validate + probe + decode into a buffer sized from the
 * probe (capped at 1024x1024 by the decoder's limits, so the fuzzer stays fast and small).
 * libFuzzer entry point; tests/fuzz/replay.c runs the committed corpus through it in every ctest. */
#include <stdint.h>
#include <stdlib.h>

#include "hatch/frame_decode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static hatch_jpeg_decoder *dec; /* one for the process, as a capture thread would keep it */
  if (!dec) {
    hatch_jpeg_limits limits = {1024, 1024, 1024 * 1024};
    if (hatch_jpeg_decoder_create(&limits, &dec) != HATCH_OK) __builtin_trap();
  }
  hatch_status st = hatch_jpeg_validate(data, size);
  int w = 0, h = 0;
  if (hatch_jpeg_probe(dec, data, size, &w, &h) == HATCH_OK && (w <= 0 || h <= 0 || w > 1024 || h > 1024))
    __builtin_trap();
  size_t n = (size_t)w * (size_t)h * 3;
  uint8_t *rgb = malloc(n ? n : 3); /* (h, w, 3) */
  if (!rgb) return 0;
  hatch_decode_report rep;
  hatch_status dst = hatch_jpeg_decode_rgb(dec, data, size, rgb, n, &rep);
  if (st != HATCH_OK && dst == HATCH_OK) __builtin_trap(); /* validation gates decoding */
  if (dst == HATCH_OK && (rep.width != w || rep.height != h)) __builtin_trap();
  free(rgb);
  return 0;
}
