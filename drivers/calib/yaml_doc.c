/* A small YAML document tree over libyaml's event parser: every node keeps its line, the whole tree
 * lives in one arena freed at once. Limits against hostile files: HATCH_CALIB_MAX_FILE_SIZE bytes,
 * HATCH_CALIB_MAX_DEPTH levels, HATCH_CALIB_MAX_NODES nodes; aliases are refused outright (a
 * calibration file has no use for them, and "billion laughs" needs them). */
#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "calib_internal.h"

typedef struct arena_block {
  struct arena_block *next;
  size_t used, cap;
  max_align_t data[]; /* (cap) bytes */
} arena_block;

struct ydoc {
  arena_block *blocks;
  ynode *root;
  bool opencv_tag;
};

#define ARENA_BLOCK_SIZE (64 * 1024)

static void *arena_alloc(ydoc *doc, size_t size) {
  size = (size + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
  arena_block *b = doc->blocks;
  if (!b || b->cap - b->used < size) {
    size_t cap = size > ARENA_BLOCK_SIZE ? size : ARENA_BLOCK_SIZE;
    b = malloc(sizeof(arena_block) + cap);
    if (!b) return NULL;
    b->next = doc->blocks;
    b->used = 0;
    b->cap = cap;
    doc->blocks = b;
  }
  void *p = (char *)b->data + b->used;
  b->used += size;
  return p;
}

void ydoc_free(ydoc *doc) {
  if (!doc) return;
  arena_block *b = doc->blocks;
  while (b) {
    arena_block *next = b->next;
    free(b);
    b = next;
  }
  free(doc);
}

const ynode *ydoc_root(const ydoc *doc) { return doc ? doc->root : NULL; }
bool ydoc_has_opencv_tag(const ydoc *doc) { return doc && doc->opencv_tag; }

static const char *kind_name(ydoc_kind k) {
  return k == YDOC_MAP ? "a mapping" : k == YDOC_SEQ ? "a sequence" : "a scalar";
}

/* Line (1-based) of a byte offset, for libyaml reader errors that carry only an offset. */
static int line_of_offset(const char *text, size_t len, size_t offset) {
  int line = 1;
  for (size_t i = 0; i < offset && i < len; i++)
    if (text[i] == '\n') line++;
  return line;
}

static hatch_status parser_error(calib_ctx *ctx, const yaml_parser_t *p, const char *text, size_t len) {
  const char *problem = p->problem ? p->problem : "unknown error";
  switch (p->error) {
    case YAML_MEMORY_ERROR:
      return calib_fail(ctx, HATCH_ERR_OUT_OF_MEMORY, 0, "out of memory while parsing YAML");
    case YAML_READER_ERROR:
      return calib_fail(ctx, HATCH_ERR_CORRUPT, line_of_offset(text, len, p->problem_offset),
                        "not valid YAML text: %s (byte %zu)", problem, p->problem_offset);
    case YAML_SCANNER_ERROR:
    case YAML_PARSER_ERROR:
      if (p->context && p->context_mark.line != p->problem_mark.line)
        return calib_fail(ctx, HATCH_ERR_CORRUPT, (int)p->problem_mark.line + 1, "YAML syntax error: %s %s (started on line %d)",
                          problem, p->context, (int)p->context_mark.line + 1);
      return calib_fail(ctx, HATCH_ERR_CORRUPT, (int)p->problem_mark.line + 1, "YAML syntax error: %s%s%s", problem,
                        p->context ? " " : "", p->context ? p->context : "");
    default:
      return calib_fail(ctx, HATCH_ERR_CORRUPT, 0, "YAML error: %s", problem);
  }
}

static char *arena_strdup(ydoc *doc, const char *s, size_t n) {
  char *p = arena_alloc(doc, n + 1);
  if (!p) return NULL;
  memcpy(p, s, n);
  p[n] = '\0';
  return p;
}

/* OpenCV writes "%YAML:1.0", which libyaml refuses (it wants "%YAML 1.1" or "1.2"); "%YAML 1.0"
 * is refused too. Such a first line becomes a comment ('%' -> '#'): offsets and lines stay. */
static bool yaml10_directive_at(const char *text, size_t len, size_t *pos) {
  size_t i = 0;
  if (len >= 3 && (unsigned char)text[0] == 0xEF && (unsigned char)text[1] == 0xBB && (unsigned char)text[2] == 0xBF)
    i = 3;
  *pos = i;
  if (len - i >= 6 && memcmp(text + i, "%YAML:", 6) == 0) return true;
  return len - i >= 9 && memcmp(text + i, "%YAML 1.0", 9) == 0;
}

hatch_status ydoc_parse(calib_ctx *ctx, const char *text, size_t len, ydoc **out, bool *opencv_directive) {
  *out = NULL;
  if (opencv_directive) *opencv_directive = false;
  if (len > HATCH_CALIB_MAX_FILE_SIZE)
    return calib_fail(ctx, HATCH_ERR_TOO_LARGE, 0, "file is %zu bytes, more than the %d byte limit", len,
                      HATCH_CALIB_MAX_FILE_SIZE);
  if (len == 0) return calib_fail(ctx, HATCH_ERR_CORRUPT, 0, "file is empty");

  hatch_status st = HATCH_OK;
  ydoc *doc = calloc(1, sizeof(*doc));
  if (!doc) return calib_fail(ctx, HATCH_ERR_OUT_OF_MEMORY, 0, "out of memory");
  char *copy = NULL;
  size_t dpos;
  if (yaml10_directive_at(text, len, &dpos)) {
    if (opencv_directive) *opencv_directive = text[dpos + 5] == ':';
    copy = malloc(len);
    if (!copy) {
      st = calib_fail(ctx, HATCH_ERR_OUT_OF_MEMORY, 0, "out of memory");
      goto free_doc;
    }
    memcpy(copy, text, len);
    copy[dpos] = '#';
    text = copy;
  }

  yaml_parser_t parser;
  if (!yaml_parser_initialize(&parser)) {
    st = calib_fail(ctx, HATCH_ERR_OUT_OF_MEMORY, 0, "out of memory (YAML parser)");
    goto free_copy;
  }
  yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);

  ynode *stack[HATCH_CALIB_MAX_DEPTH + 1]; /* open collections */
  int depth = 0, n_nodes = 0, n_docs = 0;
  bool done = false;
  while (!done) {
    yaml_event_t ev;
    if (!yaml_parser_parse(&parser, &ev)) {
      st = parser_error(ctx, &parser, text, len);
      goto free_parser;
    }
    int line = (int)ev.start_mark.line + 1;
    ynode *node = NULL;
    const yaml_char_t *tag = NULL;
    switch (ev.type) {
      case YAML_STREAM_END_EVENT:
        done = true;
        break;
      case YAML_DOCUMENT_START_EVENT:
        if (++n_docs > 1) st = calib_fail(ctx, HATCH_ERR_CORRUPT, line, "more than one YAML document ('---')");
        break;
      case YAML_ALIAS_EVENT:
        st = calib_fail(ctx, HATCH_ERR_CORRUPT, line, "YAML alias '*%s' is not allowed in calibration files",
                        (const char *)ev.data.alias.anchor);
        break;
      case YAML_SCALAR_EVENT:
      case YAML_SEQUENCE_START_EVENT:
      case YAML_MAPPING_START_EVENT:
        if (++n_nodes > HATCH_CALIB_MAX_NODES) {
          st = calib_fail(ctx, HATCH_ERR_TOO_LARGE, line, "more than %d YAML nodes", HATCH_CALIB_MAX_NODES);
          break;
        }
        node = arena_alloc(doc, sizeof(*node));
        if (!node) {
          st = calib_fail(ctx, HATCH_ERR_OUT_OF_MEMORY, line, "out of memory");
          break;
        }
        memset(node, 0, sizeof(*node));
        node->line = line;
        if (ev.type == YAML_SCALAR_EVENT) {
          node->kind = YDOC_SCALAR;
          tag = ev.data.scalar.tag;
          if (memchr(ev.data.scalar.value, 0, ev.data.scalar.length)) {
            st = calib_fail(ctx, HATCH_ERR_CORRUPT, line, "a string holds a NUL character");
            break;
          }
          node->value = arena_strdup(doc, (const char *)ev.data.scalar.value, ev.data.scalar.length);
          node->quoted = ev.data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
          if (!node->value) st = calib_fail(ctx, HATCH_ERR_OUT_OF_MEMORY, line, "out of memory");
        } else {
          node->kind = ev.type == YAML_MAPPING_START_EVENT ? YDOC_MAP : YDOC_SEQ;
          tag = ev.type == YAML_MAPPING_START_EVENT ? ev.data.mapping_start.tag : ev.data.sequence_start.tag;
        }
        if (st == HATCH_OK && tag) {
          size_t n = strlen((const char *)tag);
          node->tag = arena_strdup(doc, (const char *)tag, n);
          if (!node->tag) st = calib_fail(ctx, HATCH_ERR_OUT_OF_MEMORY, line, "out of memory");
          else if (n >= 13 && strcmp(node->tag + n - 13, "opencv-matrix") == 0) doc->opencv_tag = true;
        }
        if (st != HATCH_OK) break;
        if (depth == 0) {
          doc->root = node;
        } else {
          ynode *parent = stack[depth - 1];
          /* A mapping's value collection reports at its key's line ("camera_matrix:"), not at
           * its first entry's. */
          if (parent->kind == YDOC_MAP && parent->n_children % 2 == 1) node->line = parent->last->line;
          if (parent->last) parent->last->next = node;
          else parent->first = node;
          parent->last = node;
          parent->n_children++;
        }
        if (node->kind != YDOC_SCALAR) {
          if (depth == HATCH_CALIB_MAX_DEPTH) {
            st = calib_fail(ctx, HATCH_ERR_TOO_LARGE, line, "YAML nested more than %d levels deep",
                            HATCH_CALIB_MAX_DEPTH);
            break;
          }
          stack[depth++] = node;
        }
        break;
      case YAML_SEQUENCE_END_EVENT:
      case YAML_MAPPING_END_EVENT:
        if (depth > 0) depth--;
        break;
      default:
        break;
    }
    yaml_event_delete(&ev);
    if (st != HATCH_OK) goto free_parser;
  }

  if (!doc->root) {
    st = calib_fail(ctx, HATCH_ERR_CORRUPT, 0, "file holds no YAML document (empty or only comments)");
  } else if (doc->root->kind != YDOC_MAP) {
    st = calib_fail(ctx, HATCH_ERR_CORRUPT, doc->root->line, "the document is %s, expected a mapping of fields",
                    kind_name(doc->root->kind));
  }

free_parser:
  yaml_parser_delete(&parser);
free_copy:
  free(copy);
free_doc:
  if (st != HATCH_OK) ydoc_free(doc);
  else *out = doc;
  return st;
}

/* ---- typed readers ------------------------------------------------------------------------- */

const ynode *ymap_get(calib_ctx *ctx, const ynode *map, const char *key, const char *field, hatch_status *st) {
  const ynode *found = NULL, *found_key = NULL;
  if (!map || map->kind != YDOC_MAP) return NULL;
  for (const ynode *k = map->first; k && k->next; k = k->next->next) {
    if (k->kind != YDOC_SCALAR || strcmp(k->value, key) != 0) continue;
    if (found) {
      *st = calib_fail(ctx, HATCH_ERR_CORRUPT, k->line, "%s appears twice (lines %d and %d)", field, found_key->line,
                       k->line);
      return NULL;
    }
    found = k->next;
    found_key = k;
  }
  return found;
}

hatch_status ymap_require(calib_ctx *ctx, const ynode *map, const char *key, const char *field, const ynode **out) {
  hatch_status st = HATCH_OK;
  *out = ymap_get(ctx, map, key, field, &st);
  if (st != HATCH_OK) return st;
  if (!*out) return calib_fail(ctx, HATCH_ERR_CORRUPT, map ? map->line : 0, "%s is missing", field);
  return HATCH_OK;
}

hatch_status ymap_only_keys(calib_ctx *ctx, const ynode *map, const char *const *keys, const char *field) {
  for (const ynode *k = map->first; k && k->next; k = k->next->next) {
    if (k->kind != YDOC_SCALAR)
      return calib_fail(ctx, HATCH_ERR_CORRUPT, k->line, "%s has a key that is not a string", field);
    bool known = false;
    for (const char *const *p = keys; *p && !known; p++) known = strcmp(*p, k->value) == 0;
    if (!known)
      return calib_fail(ctx, HATCH_ERR_CORRUPT, k->line, "%s has an unknown key '%.64s'", field, k->value);
  }
  return HATCH_OK;
}

hatch_status ynode_expect(calib_ctx *ctx, const ynode *n, ydoc_kind kind, const char *field) {
  if (n->kind == kind) return HATCH_OK;
  if (n->kind == YDOC_SCALAR)
    return calib_fail(ctx, HATCH_ERR_CORRUPT, n->line, "%s is the scalar '%.40s', expected %s", field, n->value,
                      kind_name(kind));
  return calib_fail(ctx, HATCH_ERR_CORRUPT, n->line, "%s is %s, expected %s", field, kind_name(n->kind),
                    kind_name(kind));
}

/* nan, inf, .nan, -.inf, Infinity...: strtod would read some, YAML spells them with a dot. */
static bool spells_non_finite(const char *s) {
  if (*s == '+' || *s == '-') s++;
  if (*s == '.') s++;
  char low[4] = {0};
  for (int i = 0; i < 3 && s[i]; i++) low[i] = (char)tolower((unsigned char)s[i]);
  return strcmp(low, "nan") == 0 || strcmp(low, "inf") == 0;
}

hatch_status ynode_double(calib_ctx *ctx, const ynode *n, const char *field, double *out) {
  hatch_status st = ynode_expect(ctx, n, YDOC_SCALAR, field);
  if (st != HATCH_OK) return st;
  if (n->quoted)
    return calib_fail(ctx, HATCH_ERR_CORRUPT, n->line, "%s is the string \"%.40s\", expected a number", field,
                      n->value);
  if (spells_non_finite(n->value))
    return calib_fail(ctx, HATCH_ERR_CORRUPT, n->line, "%s is %.20s, expected a finite number", field, n->value);
  char *end = NULL;
  double v = strtod(n->value, &end);
  if (n->value[0] == '\0' || *end != '\0')
    return calib_fail(ctx, HATCH_ERR_CORRUPT, n->line, "%s is '%.40s', expected a number", field, n->value);
  if (!isfinite(v))
    return calib_fail(ctx, HATCH_ERR_CORRUPT, n->line, "%s is %.40s, expected a finite number", field, n->value);
  *out = v;
  return HATCH_OK;
}

hatch_status ynode_int(calib_ctx *ctx, const ynode *n, const char *field, long lo, long hi, long *out) {
  double v;
  hatch_status st = ynode_double(ctx, n, field, &v);
  if (st != HATCH_OK) return st;
  if (v != (double)(long)v || v < -1e15 || v > 1e15)
    return calib_fail(ctx, HATCH_ERR_CORRUPT, n->line, "%s is %.40s, expected a whole number", field, n->value);
  if (v < (double)lo || v > (double)hi)
    return calib_fail(ctx, HATCH_ERR_CORRUPT, n->line, "%s is %.40s, expected %ld..%ld", field, n->value, lo, hi);
  *out = (long)v;
  return HATCH_OK;
}

hatch_status ynode_string(calib_ctx *ctx, const ynode *n, const char *field, char *out, size_t cap) {
  hatch_status st = ynode_expect(ctx, n, YDOC_SCALAR, field);
  if (st != HATCH_OK) return st;
  size_t len = strlen(n->value);
  if (len >= cap)
    return calib_fail(ctx, HATCH_ERR_CORRUPT, n->line, "%s is %zu characters long, at most %zu allowed", field, len,
                      cap - 1);
  memcpy(out, n->value, len + 1);
  return HATCH_OK;
}

hatch_status ynode_numbers(calib_ctx *ctx, const ynode *n, const char *field, bool nested_ok, double *out, int cap,
                           int want, int *n_out) {
  hatch_status st = ynode_expect(ctx, n, YDOC_SEQ, field);
  if (st != HATCH_OK) return st;
  long total = 0; /* counted first so the message can say how many there are */
  for (const ynode *item = n->first; item; item = item->next)
    total += (item->kind == YDOC_SEQ && nested_ok) ? item->n_children : 1;
  if (want >= 0 && total != want)
    return calib_fail(ctx, HATCH_ERR_CORRUPT, n->line, "%s has %ld number%s, expected %d", field, total,
                      total == 1 ? "" : "s", want);
  if (total > cap)
    return calib_fail(ctx, HATCH_ERR_CORRUPT, n->line, "%s has %ld numbers, at most %d allowed", field, total, cap);
  int count = 0;
  for (const ynode *item = n->first; item; item = item->next) {
    bool row = item->kind == YDOC_SEQ && nested_ok;
    for (const ynode *v = row ? item->first : item; v; v = row ? v->next : NULL) {
      char sub[128];
      snprintf(sub, sizeof(sub), "%s[%d]", field, count);
      st = ynode_double(ctx, v, sub, &out[count]);
      if (st != HATCH_OK) return st;
      count++;
    }
  }
  if (n_out) *n_out = count;
  return HATCH_OK;
}
