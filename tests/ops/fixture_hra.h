/* Reader for the rope/attention fixtures written by tools/gen_rope_attention_fixtures.py
 * (format documented there): a few named arrays per file, ne in ggml order. */
#ifndef HATCH_TEST_FIXTURE_HRA_H
#define HATCH_TEST_FIXTURE_HRA_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hatch/types.h"

#define HRA_MAX_ARRAYS 8

typedef struct hra_array {
  char name[17];
  hatch_type type; /* F32, F16 or I32 */
  int n_dims;
  int64_t ne[4];
  void *data; /* host layout of type */
} hra_array;

typedef struct hra_file {
  int n;
  hra_array a[HRA_MAX_ARRAYS];
} hra_file;

static inline void hra_free(hra_file *f) {
  for (int i = 0; i < f->n; i++) free(f->a[i].data);
  f->n = 0;
}

/* Opens HATCH_FIXTURE_DIR/name (env HATCH_FIXTURE_DIR overrides); false on any malformed input. */
static inline bool hra_load(const char *name, hra_file *f) {
  char path[1024];
  const char *dir = getenv("HATCH_FIXTURE_DIR");
#ifdef HATCH_FIXTURE_DIR
  if (!dir) dir = HATCH_FIXTURE_DIR;
#endif
  if (!dir) dir = "tests/fixtures";
  snprintf(path, sizeof(path), "%s/%s", dir, name);
  memset(f, 0, sizeof(*f));
  FILE *fp = fopen(path, "rb");
  if (!fp) {
    fprintf(stderr, "  cannot open fixture %s\n", path);
    return false;
  }
  char magic[4];
  uint32_t n;
  bool ok = fread(magic, 1, 4, fp) == 4 && memcmp(magic, "HRA1", 4) == 0 && fread(&n, 4, 1, fp) == 1 &&
            n <= HRA_MAX_ARRAYS;
  for (uint32_t i = 0; ok && i < n; i++) {
    hra_array *a = &f->a[f->n];
    uint32_t type, n_dims;
    ok = fread(a->name, 1, 16, fp) == 16 && fread(&type, 4, 1, fp) == 1 && fread(&n_dims, 4, 1, fp) == 1 &&
         fread(a->ne, 8, 4, fp) == 4 && type <= 2 && n_dims >= 1 && n_dims <= 4;
    if (!ok) break;
    a->name[16] = '\0';
    a->type = type == 0 ? HATCH_TYPE_F32 : type == 1 ? HATCH_TYPE_F16 : HATCH_TYPE_I32;
    a->n_dims = (int)n_dims;
    int64_t count = 1;
    for (int d = 0; d < 4; d++) {
      ok = ok && a->ne[d] >= 1 && a->ne[d] <= (1 << 20);
      count *= ok ? a->ne[d] : 1;
    }
    size_t bytes = (size_t)count * (type == 1 ? 2 : 4);
    a->data = ok && count <= (1 << 24) ? malloc(bytes) : NULL;
    ok = a->data && fread(a->data, 1, bytes, fp) == bytes;
    if (a->data) f->n++;
  }
  fclose(fp);
  if (!ok) {
    fprintf(stderr, "  malformed fixture %s\n", path);
    hra_free(f);
  }
  return ok;
}

static inline const hra_array *hra_get(const hra_file *f, const char *name) {
  for (int i = 0; i < f->n; i++)
    if (strcmp(f->a[i].name, name) == 0) return &f->a[i];
  return NULL;
}

#endif
