/* Fuzz target for calibration files: the same bytes parsed as each calibration format (auto, ROS,
 * OpenCV, Kalibr) and as a rig file (base_dir NULL: no file I/O). Checks the contract, not just
 * "no crash": a success holds values in range, a failure carries a message naming the input.
 * libFuzzer entry point; tests/fuzz/replay.c runs the committed corpus through it in every ctest. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hatch/calibration.h"

static void check_intrinsics(const hatch_camera_intrinsics *in) {
  if (in->width < 1 || in->width > HATCH_CALIB_MAX_DIM || in->height < 1 || in->height > HATCH_CALIB_MAX_DIM)
    __builtin_trap();
  if (!(in->fx > 0) || !(in->fy > 0) || !isfinite(in->fx) || !isfinite(in->fy) || !isfinite(in->cx) ||
      !isfinite(in->cy))
    __builtin_trap();
  if (in->n_dist < 0 || in->n_dist > HATCH_CALIB_MAX_DIST) __builtin_trap();
  for (int i = 0; i < in->n_dist; i++)
    if (!isfinite(in->dist[i])) __builtin_trap();
  if (!memchr(in->distortion_model, 0, sizeof(in->distortion_model)) || !memchr(in->name, 0, sizeof(in->name)))
    __builtin_trap();
}

static void check_report(hatch_status st, const hatch_calib_report *rep) {
  if (!memchr(rep->message, 0, sizeof(rep->message))) __builtin_trap();
  if (st != HATCH_OK && strncmp(rep->message, "fuzz", 4) != 0) __builtin_trap(); /* names the input */
  if (st != HATCH_OK && rep->warning) __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static hatch_calib_file calib; /* plain values: static keeps the stack small */
  static hatch_rig_file rig;
  hatch_calib_report rep;
  for (int f = HATCH_CALIB_FORMAT_AUTO; f <= HATCH_CALIB_FORMAT_KALIBR; f++) {
    hatch_status st = hatch_calib_parse((const char *)data, size, "fuzz", (hatch_calib_format)f, &calib, &rep);
    check_report(st, &rep);
    if (st != HATCH_OK) continue;
    if (calib.n_cameras < 1 || calib.n_cameras > HATCH_CALIB_MAX_CAMERAS) __builtin_trap();
    for (int i = 0; i < calib.n_cameras; i++) check_intrinsics(&calib.cameras[i].intrinsics);
  }
  hatch_status st = hatch_rig_file_parse((const char *)data, size, "fuzz", NULL, &rig, &rep);
  check_report(st, &rep);
  if (st == HATCH_OK) {
    if (rig.n_cameras < 1 || rig.n_cameras > HATCH_CALIB_MAX_CAMERAS) __builtin_trap();
    for (int i = 0; i < rig.n_cameras; i++) {
      if (hatch_pose_validate(rig.cameras[i].T_body_camera, NULL, 0) != HATCH_OK) __builtin_trap();
      hatch_relative_pose p;
      if (hatch_rig_file_relative_pose(&rig, rig.cameras[0].name, rig.cameras[i].name, &p) != HATCH_OK) __builtin_trap();
    }
  }
  return 0;
}
