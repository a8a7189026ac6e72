/* Fuzz target for the checkpoint reader (hatch/train_checkpoint.h): any bytes must parse or fail
 * cleanly with a message; a checkpoint that parses must be safe to walk (typed readers, layout
 * check) and, written again from its sections, parse to the same sections.
 * libFuzzer entry point; tests/fuzz/replay.c runs the committed corpus through it in every ctest. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hatch/train_checkpoint.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  hatch_ckpt *c = NULL;
  hatch_ckpt_report r;
  hatch_status st = hatch_ckpt_parse(data, size, "fuzz.ckpt", &c, &r);
  if (st != HATCH_OK) {
    if (c || r.message[0] == '\0') __builtin_trap(); /* failures say why */
    return 0;
  }
  hatch_ckpt_writer *w = NULL;
  if (hatch_ckpt_writer_create(&w) != HATCH_OK) __builtin_trap();
  int n = hatch_ckpt_section_count(c);
  for (int i = 0; i < n; i++) {
    const hatch_ckpt_section *s = hatch_ckpt_section_at(c, i);
    if (!s || s->offset + s->size > size || hatch_ckpt_find(c, s->name) != s) __builtin_trap();
    if (s->kind == HATCH_CKPT_F32) {
      float *buf = malloc(s->size ? (size_t)s->size : 4);
      if (hatch_ckpt_read_f32(c, s->name, buf, (int64_t)(s->size / 4), &r) != HATCH_OK) __builtin_trap();
      free(buf);
    } else if (s->kind == HATCH_CKPT_JSON) {
      char *json = NULL;
      if (hatch_ckpt_read_json(c, s->name, &json, &r) != HATCH_OK || strlen(json) > s->size) __builtin_trap();
      free(json);
    }
    if (hatch_ckpt_writer_add(w, s->name, s->kind, s->data, s->size) != HATCH_OK) __builtin_trap();
  }
  hatch_param_desc d[2] = {{"a", 0, 4, 2, true}, {"b", 4, 4, 1, false}};
  hatch_ckpt_check_layout(c, 8, d, 2, &r); /* any status; must not crash */
  uint8_t *mem = NULL;
  size_t msize = 0;
  if (hatch_ckpt_writer_write_mem(w, &mem, &msize) != HATCH_OK || msize > size) __builtin_trap();
  hatch_ckpt *again = NULL;
  if (hatch_ckpt_parse(mem, msize, "again", &again, &r) != HATCH_OK || hatch_ckpt_section_count(again) != n)
    __builtin_trap();
  for (int i = 0; i < n; i++) {
    const hatch_ckpt_section *a = hatch_ckpt_section_at(c, i), *b = hatch_ckpt_section_at(again, i);
    if (strcmp(a->name, b->name) || a->kind != b->kind || a->size != b->size ||
        (a->size && memcmp(a->data, b->data, (size_t)a->size)))
      __builtin_trap();
  }
  hatch_ckpt_close(again);
  free(mem);
  hatch_ckpt_writer_destroy(w);
  hatch_ckpt_close(c);
  return 0;
}
