/* Fuzz target for the RGB-D manifest parser (hatch_rgbd_manifest_parse; no file access).
 * Invariants: a parsed manifest has frames, pairs within range with two different frames, every bad
 * frame says why, every good frame has a file name and a usable camera; a refused one has a message
 * and owns nothing. Freeing leaves nothing behind (ASan).
 * libFuzzer entry point; tests/fuzz/replay.c runs the committed corpus through it in every ctest. */
#include <stdint.h>
#include <string.h>

#include "hatch/train_data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  hatch_rgbd_manifest m;
  hatch_data_report rep;
  hatch_status st = hatch_rgbd_manifest_parse((const char *)data, size, "fuzz", &m, &rep);
  if (st != HATCH_OK) {
    if (m.frames || m.pairs || !rep.message[0]) __builtin_trap();
    return 0;
  }
  if (m.version != 1 || m.n_frames < 1 || !m.frames || !m.pairs) __builtin_trap();
  if (m.default_pairs && m.n_pairs != m.n_frames - 1) __builtin_trap();
  for (size_t p = 0; p < m.n_pairs; p++) {
    const int a = m.pairs[p][0], b = m.pairs[p][1];
    if (a < 0 || b < 0 || (size_t)a >= m.n_frames || (size_t)b >= m.n_frames || a == b) __builtin_trap();
  }
  size_t bad = 0;
  for (size_t k = 0; k < m.n_frames; k++) {
    const hatch_rgbd_frame *f = &m.frames[k];
    if (f->bad) {
      bad++;
      if (!f->why[0]) __builtin_trap();
      continue;
    }
    if (!f->rgb[0] || strnlen(f->rgb, sizeof f->rgb) == sizeof f->rgb || !(f->depth_scale > 0)) __builtin_trap();
    hatch_pinhole_camera cam = f->camera;
    if (!cam.width) cam.width = 1;
    if (!cam.height) cam.height = 1;
    if (hatch_pinhole_check(&cam, NULL, 0) != HATCH_OK) __builtin_trap();
  }
  if (bad != m.bad_frames) __builtin_trap();
  hatch_rgbd_manifest_free(&m);
  if (m.frames || m.n_frames) __builtin_trap();
  return 0;
}
