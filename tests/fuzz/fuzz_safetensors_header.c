/* Fuzz target for the safetensors header parser: the input parsed as a whole file, and again as the
 * header JSON of a file (prefixed with its length) so the fuzzer reaches the JSON checks directly.
 * Checks the contract, not just "no crash": on success every tensor lies inside the input, sizes
 * agree, names are sorted and unique and findable, floats convert; on failure the message names the
 * input. libFuzzer entry point; tests/fuzz/replay.c runs the committed corpus in every ctest. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hatch/safetensors.h"

static void check(const uint8_t *bytes, size_t size) {
  hatch_st_file *f = NULL;
  hatch_st_report rep;
  hatch_status st = hatch_st_file_parse(bytes, size, "fuzz", &f, &rep);
  if (!memchr(rep.message, 0, sizeof(rep.message))) __builtin_trap();
  if ((st == HATCH_OK) != (f != NULL)) __builtin_trap();
  if (st != HATCH_OK) {
    if (strncmp(rep.message, "fuzz", 4) != 0) __builtin_trap();
    return;
  }
  float buf[64];
  for (int64_t i = 0; i < hatch_st_file_count(f); i++) {
    const hatch_st_tensor *t = hatch_st_file_tensor(f, i);
    if (!t || strlen(t->name) == 0 || strlen(t->name) > HATCH_ST_MAX_NAME) __builtin_trap();
    if (hatch_st_file_find(f, t->name) != t) __builtin_trap();
    if (i > 0 && strcmp(hatch_st_file_tensor(f, i - 1)->name, t->name) >= 0) __builtin_trap();
    if (t->n_dims < 0 || t->n_dims > HATCH_ST_MAX_DIMS || t->n_elems < 0) __builtin_trap();
    if (t->nbytes != (uint64_t)t->n_elems * hatch_st_dtype_size(t->dtype)) __builtin_trap();
    if (t->data < bytes || t->file_offset > size || t->nbytes > size - t->file_offset) __builtin_trap();
    if (hatch_st_dtype_is_float(t->dtype)) {
      int64_t n = t->n_elems < 64 ? t->n_elems : 64;
      if (hatch_st_tensor_to_f32(t, t->n_elems - n, n, buf) != HATCH_OK) __builtin_trap();
    } else if (hatch_st_tensor_to_f32(t, 0, 0, buf) != HATCH_ERR_TYPE) {
      __builtin_trap();
    }
  }
  for (int64_t i = 0; i < hatch_st_file_metadata_count(f); i++) {
    const char *k, *v;
    if (!hatch_st_file_metadata_at(f, i, &k, &v) || hatch_st_file_metadata_get(f, k) == NULL) __builtin_trap();
  }
  hatch_st_file_close(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  check(data, size);
  uint8_t *framed = malloc(size + 8);
  if (!framed) return 0;
  uint64_t n = size;
  memcpy(framed, &n, 8);
  if (size) memcpy(framed + 8, data, size);
  check(framed, size + 8);
  free(framed);
  return 0;
}
