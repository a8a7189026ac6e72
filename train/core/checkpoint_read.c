/* Checkpoint reader: every field is checked before use; a file that opens is safe to walk. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hatch/train_checkpoint.h"
#include "core/checkpoint_internal.h"

struct hatch_ckpt {
  uint8_t *owned;          /* file contents when read by open (64-aligned), else NULL */
  const uint8_t *data;     /* (size) */
  size_t size;
  hatch_ckpt_section *sec; /* (n) */
  char (*names)[CKPT_NAME];/* (n) */
  int n;
  char label[200];         /* file name for messages */
};

#if defined(__GNUC__)
__attribute__((format(printf, 5, 6)))
#endif
static hatch_status fail(hatch_ckpt_report *r, hatch_status st, const char *label, uint64_t offset, const char *fmt,
                         ...) {
  if (r) {
    char msg[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(r->message, sizeof r->message, "%s: %s", label, msg);
    r->offset = offset;
  }
  return st;
}

void hatch_ckpt_close(hatch_ckpt *c) {
  if (!c) return;
  free(c->owned);
  free(c->sec);
  free(c->names);
  free(c);
}

static hatch_status parse_entries(hatch_ckpt *c, uint32_t n, hatch_ckpt_report *r) {
  const uint8_t *d = c->data;
  const char *L = c->label;
  uint64_t table_end = CKPT_HEADER + (uint64_t)CKPT_ENTRY * n + 4, prev_end = table_end;
  for (uint32_t i = 0; i < n; i++) {
    uint64_t eo = CKPT_HEADER + (uint64_t)CKPT_ENTRY * i;
    const uint8_t *e = d + eo;
    size_t len = strnlen((const char *)e, CKPT_NAME);
    if (len == CKPT_NAME || !ckpt_name_ok((const char *)e, len))
      return fail(r, HATCH_ERR_CORRUPT, L, eo, "section %u: name is not 1..47 characters of [A-Za-z0-9._-]", i);
    for (size_t k = len; k < CKPT_NAME; k++)
      if (e[k]) return fail(r, HATCH_ERR_CORRUPT, L, eo + k, "section %u: name not NUL-padded", i);
    memcpy(c->names[i], e, CKPT_NAME);
    const char *name = c->names[i];
    for (uint32_t j = 0; j < i; j++)
      if (strcmp(c->names[j], name) == 0)
        return fail(r, HATCH_ERR_CORRUPT, L, eo, "section '%s' appears twice (entries %u and %u)", name, j, i);
    uint32_t kind = ckpt_get32(e + 48), crc = ckpt_get32(e + 52);
    uint64_t off = ckpt_get64(e + 56), size = ckpt_get64(e + 64), reserved = ckpt_get64(e + 72);
    if (kind >= HATCH_CKPT_KIND_COUNT)
      return fail(r, HATCH_ERR_CORRUPT, L, eo + 48, "section '%s': unknown kind %u", name, kind);
    if (reserved) return fail(r, HATCH_ERR_CORRUPT, L, eo + 72, "section '%s': reserved field is not 0", name);
    if (off % HATCH_CKPT_ALIGN || off < prev_end)
      return fail(r, HATCH_ERR_CORRUPT, L, eo + 56,
                  "section '%s': offset %" PRIu64 " is not 64-aligned or overlaps what comes before (ends at %" PRIu64 ")",
                  name, off, prev_end);
    if (off > c->size || size > c->size - off)
      return fail(r, HATCH_ERR_CORRUPT, L, off,
                  "section '%s' [offset %" PRIu64 ", %" PRIu64 " bytes) runs past the end of the file (size %zu): truncated?",
                  name, off, size, c->size);
    for (uint64_t k = prev_end; k < off; k++)
      if (d[k]) return fail(r, HATCH_ERR_CORRUPT, L, k, "non-zero padding before section '%s'", name);
    if (kind == HATCH_CKPT_F32 && size % 4)
      return fail(r, HATCH_ERR_CORRUPT, L, eo + 64, "section '%s': F32 size %" PRIu64 " is not a multiple of 4", name,
                  size);
    if (hatch_crc32(0, d + off, (size_t)size) != crc)
      return fail(r, HATCH_ERR_CORRUPT, L, off, "section '%s' [offset %" PRIu64 ", %" PRIu64 " bytes): CRC mismatch",
                  name, off, size);
    c->sec[i] = (hatch_ckpt_section){name, (hatch_ckpt_kind)kind, off, size, d + off};
    prev_end = off + size;
  }
  if (prev_end != c->size)
    return fail(r, HATCH_ERR_CORRUPT, L, prev_end, "%zu trailing bytes after the last section (ends at %" PRIu64 ")",
                c->size - (size_t)prev_end, prev_end);
  return HATCH_OK;
}

static hatch_status parse(hatch_ckpt *c, hatch_ckpt_report *r) {
  const uint8_t *d = c->data;
  const char *L = c->label;
  if (c->size < CKPT_HEADER)
    return fail(r, HATCH_ERR_CORRUPT, L, 0, "truncated: %zu bytes, the header alone is 16", c->size);
  if (memcmp(d, CKPT_MAGIC, 8) != 0) return fail(r, HATCH_ERR_CORRUPT, L, 0, "not a hatch checkpoint (bad magic)");
  uint32_t version = ckpt_get32(d + 8), n = ckpt_get32(d + 12);
  if (version != HATCH_CKPT_VERSION)
    return fail(r, HATCH_ERR_UNSUPPORTED, L, 8, "version %u (this build reads %u)", version, HATCH_CKPT_VERSION);
  if (n > HATCH_CKPT_MAX_SECTIONS)
    return fail(r, HATCH_ERR_CORRUPT, L, 12, "%u sections, past the limit of %d", n, HATCH_CKPT_MAX_SECTIONS);
  uint64_t table_end = CKPT_HEADER + (uint64_t)CKPT_ENTRY * n + 4;
  if (table_end > c->size)
    return fail(r, HATCH_ERR_CORRUPT, L, c->size,
                "truncated section table: %u sections need %" PRIu64 " bytes, the file has %zu", n, table_end, c->size);
  if (hatch_crc32(0, d, (size_t)table_end - 4) != ckpt_get32(d + table_end - 4))
    return fail(r, HATCH_ERR_CORRUPT, L, table_end - 4, "section table CRC mismatch");
  c->sec = calloc(n ? n : 1, sizeof *c->sec);
  c->names = calloc(n ? n : 1, sizeof *c->names);
  if (!c->sec || !c->names) return HATCH_ERR_OUT_OF_MEMORY;
  c->n = (int)n;
  return parse_entries(c, n, r);
}

hatch_status hatch_ckpt_parse(const void *data, size_t size, const char *name, hatch_ckpt **out,
                              hatch_ckpt_report *report) {
  if (report) report->message[0] = '\0', report->offset = 0;
  if (!out) return HATCH_ERR_INVALID_ARGUMENT;
  *out = NULL;
  if (!data && size) return HATCH_ERR_INVALID_ARGUMENT;
  hatch_ckpt *c = calloc(1, sizeof *c);
  if (!c) return HATCH_ERR_OUT_OF_MEMORY;
  c->data = data, c->size = size;
  snprintf(c->label, sizeof c->label, "%s", name ? name : "checkpoint");
  hatch_status st = parse(c, report);
  if (st != HATCH_OK) {
    hatch_ckpt_close(c);
    return st;
  }
  *out = c;
  return HATCH_OK;
}

hatch_status hatch_ckpt_open(const char *path, hatch_ckpt **out, hatch_ckpt_report *report) {
  if (report) report->message[0] = '\0', report->offset = 0;
  if (!out || !path) return HATCH_ERR_INVALID_ARGUMENT;
  *out = NULL;
  FILE *f = fopen(path, "rb");
  if (!f) return fail(report, errno == ENOENT ? HATCH_ERR_NOT_FOUND : HATCH_ERR_IO, path, 0, "cannot open (%s)", strerror(errno));
  hatch_status st = HATCH_OK;
  uint8_t *buf = NULL;
  long size = -1;
  if (fseek(f, 0, SEEK_END) == 0) size = ftell(f);
  if (size < 0 || fseek(f, 0, SEEK_SET) != 0) {
    st = fail(report, HATCH_ERR_IO, path, 0, "cannot seek");
    goto close_file;
  }
  size_t cap = ckpt_align((uint64_t)size ? (uint64_t)size : 1);
  if (!(buf = aligned_alloc(HATCH_CKPT_ALIGN, cap))) {
    st = HATCH_ERR_OUT_OF_MEMORY;
    goto close_file;
  }
  if (fread(buf, 1, (size_t)size, f) != (size_t)size) {
    st = fail(report, HATCH_ERR_IO, path, 0, "short read");
    goto free_buf;
  }
  hatch_ckpt *c = NULL;
  if ((st = hatch_ckpt_parse(buf, (size_t)size, path, &c, report)) != HATCH_OK) goto free_buf;
  c->owned = buf;
  *out = c;
  fclose(f);
  return HATCH_OK;
free_buf:
  free(buf);
close_file:
  fclose(f);
  return st;
}

int hatch_ckpt_section_count(const hatch_ckpt *c) { return c ? c->n : 0; }

const hatch_ckpt_section *hatch_ckpt_section_at(const hatch_ckpt *c, int i) {
  return c && i >= 0 && i < c->n ? &c->sec[i] : NULL;
}

const hatch_ckpt_section *hatch_ckpt_find(const hatch_ckpt *c, const char *name) {
  for (int i = 0; c && name && i < c->n; i++)
    if (strcmp(c->sec[i].name, name) == 0) return &c->sec[i];
  return NULL;
}

hatch_status hatch_ckpt_read_f32(const hatch_ckpt *c, const char *name, float *dst, int64_t n,
                                 hatch_ckpt_report *report) {
  if (report) report->message[0] = '\0', report->offset = 0;
  if (!c || !name || (n && !dst) || n < 0) return HATCH_ERR_INVALID_ARGUMENT;
  const hatch_ckpt_section *s = hatch_ckpt_find(c, name);
  if (!s) return fail(report, HATCH_ERR_NOT_FOUND, c->label, 0, "no section '%.60s'", name);
  if (s->kind != HATCH_CKPT_F32) return fail(report, HATCH_ERR_TYPE, c->label, s->offset, "section '%s' is not F32", name);
  if (s->size / 4 != (uint64_t)n)
    return fail(report, HATCH_ERR_SHAPE, c->label, s->offset, "section '%s' holds %" PRIu64 " floats, expected %lld",
                name, s->size / 4, (long long)n);
  memcpy(dst, s->data, (size_t)s->size);
  return HATCH_OK;
}

hatch_status hatch_ckpt_read_json(const hatch_ckpt *c, const char *name, char **out, hatch_ckpt_report *report) {
  if (report) report->message[0] = '\0', report->offset = 0;
  if (!c || !name || !out) return HATCH_ERR_INVALID_ARGUMENT;
  *out = NULL;
  const hatch_ckpt_section *s = hatch_ckpt_find(c, name);
  if (!s) return fail(report, HATCH_ERR_NOT_FOUND, c->label, 0, "no section '%.60s'", name);
  if (s->kind != HATCH_CKPT_JSON) return fail(report, HATCH_ERR_TYPE, c->label, s->offset, "section '%s' is not JSON", name);
  if (!(*out = malloc((size_t)s->size + 1))) return HATCH_ERR_OUT_OF_MEMORY;
  memcpy(*out, s->data, (size_t)s->size);
  (*out)[s->size] = '\0';
  return HATCH_OK;
}

static bool get_i64(const cJSON *o, const char *key, int64_t *v) {
  const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key);
  if (!cJSON_IsNumber(j) || j->valuedouble != (double)(int64_t)j->valuedouble) return false;
  *v = (int64_t)j->valuedouble;
  return true;
}

hatch_status hatch_ckpt_check_layout(const hatch_ckpt *c, int64_t n_params, const hatch_param_desc *descs,
                                     int n_descs, hatch_ckpt_report *report) {
  if (report) report->message[0] = '\0', report->offset = 0;
  if (!c || n_descs < 0 || (n_descs && !descs)) return HATCH_ERR_INVALID_ARGUMENT;
  const hatch_ckpt_section *s = hatch_ckpt_find(c, "layout");
  if (!s) return fail(report, HATCH_ERR_NOT_FOUND, c->label, 0, "no 'layout' section");
  const char *L = c->label;
  cJSON *root = cJSON_ParseWithLength(s->data, (size_t)s->size);
  const cJSON *tensors = cJSON_GetObjectItemCaseSensitive(root, "tensors");
  int64_t np = 0;
  hatch_status st = HATCH_OK;
  if (!cJSON_IsObject(root) || !get_i64(root, "n_params", &np) || !cJSON_IsArray(tensors)) {
    st = fail(report, HATCH_ERR_CORRUPT, L, s->offset, "section 'layout': not {\"n_params\":N,\"tensors\":[...]}");
    goto free_json;
  }
  if (np != n_params) {
    st = fail(report, HATCH_ERR_SHAPE, L, s->offset, "layout: checkpoint has %lld parameters, the model %lld",
              (long long)np, (long long)n_params);
    goto free_json;
  }
  int nt = cJSON_GetArraySize(tensors);
  if (nt != n_descs) {
    st = fail(report, HATCH_ERR_SHAPE, L, s->offset, "layout: checkpoint has %d tensors, the model %d", nt, n_descs);
    goto free_json;
  }
  int i = 0;
  for (const cJSON *t = tensors->child; t; t = t->next, i++) {
    const hatch_param_desc *d = &descs[i];
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(t, "name");
    int64_t off, n, ndim;
    if (!cJSON_IsString(name) || !get_i64(t, "offset", &off) || !get_i64(t, "n", &n) || !get_i64(t, "ndim", &ndim)) {
      st = fail(report, HATCH_ERR_CORRUPT, L, s->offset, "layout.tensors[%d]: expected name, offset, n, ndim", i);
      goto free_json;
    }
    const char *dn = d->name ? d->name : "";
    if (strcmp(name->valuestring, dn) != 0) {
      st = fail(report, HATCH_ERR_SHAPE, L, s->offset, "tensor %d: checkpoint has '%.80s', the model '%.80s'", i,
                name->valuestring, dn);
    } else if (n != d->n_elems || off != d->offset || ndim != d->ndim) {
      st = fail(report, HATCH_ERR_SHAPE, L, s->offset,
                "tensor %d '%.80s': checkpoint has %lld elements at %lld (ndim %lld), the model %lld at %lld (ndim %d)", i,
                dn, (long long)n, (long long)off, (long long)ndim, (long long)d->n_elems, (long long)d->offset, d->ndim);
    }
    if (st != HATCH_OK) goto free_json;
  }
free_json:
  cJSON_Delete(root);
  return st;
}
