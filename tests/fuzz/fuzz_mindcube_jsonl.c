/* Fuzz target for the MindCube JSONL record parser (hatch_mindcube_parse_record; no file access).
 * The input is split into lines like a JSONL file; each line is parsed. Invariants: a parsed record
 * has 2..8 images named in files, a letter answer within the option count, NUL-terminated strings
 * and valid pose indexes; a refused one has a message and zeroed outputs.
 * libFuzzer entry point; tests/fuzz/replay.c runs the committed corpus through it in every ctest. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hatch/train_data.h"

static void check_line(const char *text, size_t len, hatch_train_sample *s, hatch_data_files *f) {
  hatch_data_report rep;
  hatch_status st = hatch_mindcube_parse_record(text, len, "fuzz:1", s, f, &rep);
  if (st != HATCH_OK) {
    if (!rep.message[0] || s->n_images || f->n || s->id[0]) __builtin_trap();
    return;
  }
  if (s->n_images < 2 || s->n_images > HATCH_SAMPLE_MAX_IMAGES || f->n != s->n_images) __builtin_trap();
  if (s->gt_answer < 'A' || s->gt_answer > 'Z') __builtin_trap();
  if (s->n_options < 0 || s->n_options > 26 || (s->n_options && s->gt_answer > 'A' + s->n_options - 1)) __builtin_trap();
  if (!s->id[0] || strnlen(s->id, sizeof s->id) == sizeof s->id) __builtin_trap();
  if (strnlen(s->question, sizeof s->question) == sizeof s->question) __builtin_trap();
  if (strnlen(s->answer_text, sizeof s->answer_text) == sizeof s->answer_text) __builtin_trap();
  if (strnlen(s->action, sizeof s->action) == sizeof s->action) __builtin_trap();
  if (s->has_pose && (s->pose_from < 0 || s->pose_from >= s->n_images || s->pose_to < 0 ||
                      s->pose_to >= s->n_images || s->pose_from == s->pose_to))
    __builtin_trap();
  for (int k = 0; k < f->n; k++) {
    if (!f->rgb[k][0] || strnlen(f->rgb[k], HATCH_DATA_MAX_PATH) == HATCH_DATA_MAX_PATH) __builtin_trap();
    if (!(f->depth_scale[k] > 0)) __builtin_trap();
    if (s->images[k].has_camera && hatch_pinhole_check(&s->images[k].camera, NULL, 0) != HATCH_OK) __builtin_trap();
    if (s->images[k].rgb || s->images[k].depth) __builtin_trap(); /* parsing never loads pixels */
  }
  if (hatch_mindcube_count_options(s->question) > 26) __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  hatch_train_sample *s = malloc(sizeof *s);
  hatch_data_files *f = malloc(sizeof *f);
  if (!s || !f) {
    free(s);
    free(f);
    return 0;
  }
  const char *text = (const char *)data;
  size_t start = 0;
  for (size_t i = 0; i <= size; i++)
    if (i == size || text[i] == '\n') {
      if (i > start || i < size) check_line(text + start, i - start, s, f);
      start = i + 1;
    }
  free(s);
  free(f);
  return 0;
}
