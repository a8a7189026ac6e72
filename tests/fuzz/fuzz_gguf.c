/* Fuzz target for the GGUF reader: parses the bytes from memory and, when they parse, walks every
 * KV, every array element and every tensor's first and last byte. Checks the contract, not just
 * "no crash": a failure carries a message naming the input, a success hands out only in-bounds
 * views. libFuzzer entry point; tests/fuzz/replay.c runs the committed corpus in every ctest. */
#include <stdint.h>
#include <string.h>

#include "hatch/gguf.h"

static int inside(const void *p, uint64_t n, const uint8_t *data, size_t size) {
  const uint8_t *q = p;
  return q >= data && n <= size && (size_t)(q - data) <= size - n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  hatch_gguf *g = NULL;
  hatch_gguf_report rep;
  hatch_status st = hatch_gguf_parse(data, size, "fuzz", &g, &rep);
  if (!memchr(rep.message, 0, sizeof(rep.message))) __builtin_trap();
  if (st != HATCH_OK) {
    if (g || strncmp(rep.message, "fuzz: ", 6) != 0) __builtin_trap();
    return 0;
  }
  volatile uint8_t sink = 0;
  for (int64_t i = 0; i < hatch_gguf_kv_count(g); i++) {
    const char *key = hatch_gguf_kv_key(g, i);
    if (!key || hatch_gguf_find_key(g, key) != i) __builtin_trap();
    hatch_gguf_value v;
    if (hatch_gguf_kv_value(g, i, &v) != HATCH_OK) __builtin_trap();
    if (v.type == HATCH_GGUF_TYPE_STRING && !inside(v.s.data, v.s.len, data, size)) __builtin_trap();
    if (v.type != HATCH_GGUF_TYPE_ARRAY) continue;
    const uint8_t *raw = hatch_gguf_arr_data(g, i);
    if (raw && v.arr_len && !inside(raw, v.arr_len, data, size)) __builtin_trap();
    for (uint64_t j = 0; j < v.arr_len; j++) {
      hatch_gguf_str s;
      int64_t x;
      double f;
      if (hatch_gguf_arr_str(g, i, j, &s) == HATCH_OK) {
        if (!inside(s.data, s.len, data, size)) __builtin_trap();
        if (s.len) sink ^= (uint8_t)s.data[s.len - 1];
      }
      if (hatch_gguf_arr_int(g, i, j, &x) == HATCH_OK) sink ^= (uint8_t)x;
      if (hatch_gguf_arr_float(g, i, j, &f) == HATCH_OK) sink ^= (uint8_t)(f != f);
    }
  }
  uint64_t total = 0;
  for (int64_t i = 0; i < hatch_gguf_tensor_count(g); i++) {
    const hatch_gguf_tensor *t = hatch_gguf_tensor_at(g, i);
    if (!t || hatch_gguf_find_tensor(g, t->name) != t) __builtin_trap();
    if (t->n_dims < 0 || t->n_dims > 4 || !hatch_ggml_type_name(t->type)) __builtin_trap();
    if (!inside(t->data, t->nbytes, data, size) || t->offset % hatch_gguf_alignment(g)) __builtin_trap();
    int64_t n = 1;
    for (int d = 0; d < 4; d++) {
      if (t->ne[d] < 1) __builtin_trap();
      n *= t->ne[d];
    }
    if (n != t->n_elems) __builtin_trap();
    const uint8_t *p = t->data;
    sink ^= p[0] ^ p[t->nbytes - 1];
    total += t->nbytes;
  }
  if (total > size) __builtin_trap(); /* tensors never overlap */
  (void)sink;
  hatch_gguf_close(g);
  return 0;
}
