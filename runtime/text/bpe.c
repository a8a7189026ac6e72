/* The BPE core: a 64-bit open-addressing hash map (vocab and merge ranks), GPT-2's byte-to-unicode
 * table, and merging one word by rank with a binary heap over a linked list of symbols, O(n log n)
 * in the word length (the order tokenizers' BPE uses: lowest rank first, then leftmost). */
#include <stdlib.h>
#include <string.h>

#include "text/text_internal.h"

/* ---- hash map ---------------------------------------------------------------------------------- */

static uint64_t mix64(uint64_t x) { /* splitmix64 finalizer */
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

uint64_t hatch_hash_bytes(const void *p, size_t n) { /* FNV-1a, then mixed */
  const uint8_t *s = p;
  uint64_t h = 0xcbf29ce484222325ULL;
  for (size_t i = 0; i < n; i++) {
    h ^= s[i];
    h *= 0x100000001b3ULL;
  }
  return mix64(h ^ n);
}

hatch_status hatch_map64_init(hatch_map64 *m, size_t expected) {
  memset(m, 0, sizeof(*m));
  size_t cap = 16;
  while (cap < expected * 2 + 16) {
    if (cap > SIZE_MAX / 32) return HATCH_ERR_TOO_LARGE;
    cap *= 2;
  }
  m->keys = malloc(cap * sizeof(uint64_t));
  m->vals = malloc(cap * sizeof(uint64_t));
  m->used = calloc(cap, 1);
  if (!m->keys || !m->vals || !m->used) {
    hatch_map64_free(m);
    return HATCH_ERR_OUT_OF_MEMORY;
  }
  m->cap = cap;
  return HATCH_OK;
}

void hatch_map64_free(hatch_map64 *m) {
  free(m->keys);
  free(m->vals);
  free(m->used);
  memset(m, 0, sizeof(*m));
}

static hatch_status map_grow(hatch_map64 *m) {
  hatch_map64 bigger;
  hatch_status st = hatch_map64_init(&bigger, m->cap);
  if (st != HATCH_OK) return st;
  for (size_t i = 0; i < m->cap; i++)
    if (m->used[i]) hatch_map64_put(&bigger, m->keys[i], m->vals[i]); /* cannot fail: room enough */
  hatch_map64_free(m);
  *m = bigger;
  return HATCH_OK;
}

hatch_status hatch_map64_put(hatch_map64 *m, uint64_t key, uint64_t val) {
  if ((m->n + 1) * 2 > m->cap) {
    hatch_status st = map_grow(m);
    if (st != HATCH_OK) return st;
  }
  size_t mask = m->cap - 1, i = (size_t)mix64(key) & mask;
  while (m->used[i] && m->keys[i] != key) i = (i + 1) & mask;
  if (!m->used[i]) {
    m->used[i] = 1;
    m->keys[i] = key;
    m->n++;
  }
  m->vals[i] = val;
  return HATCH_OK;
}

bool hatch_map64_get(const hatch_map64 *m, uint64_t key, uint64_t *val) {
  if (!m->cap) return false;
  size_t mask = m->cap - 1, i = (size_t)mix64(key) & mask;
  while (m->used[i]) {
    if (m->keys[i] == key) {
      *val = m->vals[i];
      return true;
    }
    i = (i + 1) & mask;
  }
  return false;
}

/* ---- byte level ----------------------------------------------------------------------------- */

/* Bytes that are printable in Latin-1 stand for themselves; the others (0-32, 127-160, 173) are
 * numbered from U+0100 in byte order. */
static bool byte_printable(unsigned b) { return (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174; }

uint32_t hatch_byte_to_unicode(uint8_t b) {
  if (byte_printable(b)) return b;
  unsigned k = 0;
  for (unsigned x = 0; x < b; x++) k += !byte_printable(x);
  return 256 + k;
}

int hatch_unicode_to_byte(uint32_t cp) {
  if (cp < 256) return byte_printable(cp) ? (int)cp : -1;
  if (cp >= 256 + 68) return -1; /* 68 bytes are not printable */
  unsigned k = 0;
  for (unsigned b = 0; b < 256; b++)
    if (!byte_printable(b) && k++ == cp - 256) return (int)b;
  return -1;
}

/* ---- merging one word -------------------------------------------------------------------------- */

typedef struct hatch_bpe_sym {
  int32_t id;
  int32_t prev, next; /* -1 at the ends */
  bool gone;          /* merged into its left neighbour */
} hatch_bpe_sym;

typedef struct hatch_bpe_item {
  uint32_t rank;
  uint32_t pos;    /* left symbol */
  int32_t new_id;
} hatch_bpe_item;

void hatch_bpe_scratch_free(hatch_bpe_scratch *s) {
  free(s->syms);
  free(s->heap);
  memset(s, 0, sizeof(*s));
}

static bool item_less(const hatch_bpe_item *a, const hatch_bpe_item *b) {
  return a->rank != b->rank ? a->rank < b->rank : a->pos < b->pos;
}

static void heap_push(hatch_bpe_item *h, size_t *n, hatch_bpe_item it) {
  size_t i = (*n)++;
  while (i > 0) {
    size_t p = (i - 1) / 2;
    if (!item_less(&it, &h[p])) break;
    h[i] = h[p];
    i = p;
  }
  h[i] = it;
}

static hatch_bpe_item heap_pop(hatch_bpe_item *h, size_t *n) {
  hatch_bpe_item top = h[0], last = h[--(*n)];
  size_t i = 0;
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, m = i;
    const hatch_bpe_item *best = &last;
    if (l < *n && item_less(&h[l], best)) {
      m = l;
      best = &h[l];
    }
    if (r < *n && item_less(&h[r], best)) m = r;
    if (m == i) break;
    h[i] = h[m];
    i = m;
  }
  if (*n) h[i] = last;
  return top;
}

static bool lookup_merge(const hatch_map64 *merges, int32_t a, int32_t b, hatch_bpe_item *it, uint32_t pos) {
  uint64_t v;
  if (!hatch_map64_get(merges, ((uint64_t)(uint32_t)a << 32) | (uint32_t)b, &v)) return false;
  it->rank = (uint32_t)(v >> 32);
  it->new_id = (int32_t)(uint32_t)v;
  it->pos = pos;
  return true;
}

hatch_status hatch_bpe_merge_word(const hatch_map64 *merges, const int32_t *ids, size_t n, hatch_bpe_scratch *s,
                                  int32_t **out, size_t *n_out, size_t *cap_out) {
  if (n == 0) return HATCH_OK;
  if (n > UINT32_MAX / 4) return HATCH_ERR_TOO_LARGE;
  if (n > s->cap) {
    hatch_bpe_sym *syms = realloc(s->syms, n * sizeof(*syms));
    if (!syms) return HATCH_ERR_OUT_OF_MEMORY;
    s->syms = syms;
    s->cap = n;
  }
  /* Each merge pushes at most 2 items on top of the n - 1 initial ones. */
  size_t heap_need = 3 * n + 1;
  if (heap_need > s->heap_cap) {
    hatch_bpe_item *heap = realloc(s->heap, heap_need * sizeof(*heap));
    if (!heap) return HATCH_ERR_OUT_OF_MEMORY;
    s->heap = heap;
    s->heap_cap = heap_need;
  }
  hatch_bpe_sym *sym = s->syms;
  size_t hn = 0;
  for (size_t i = 0; i < n; i++) {
    sym[i] = (hatch_bpe_sym){ids[i], (int32_t)i - 1, i + 1 < n ? (int32_t)i + 1 : -1, false};
    hatch_bpe_item it;
    if (i + 1 < n && lookup_merge(merges, ids[i], ids[i + 1], &it, (uint32_t)i)) heap_push(s->heap, &hn, it);
  }
  while (hn) {
    hatch_bpe_item top = heap_pop(s->heap, &hn);
    hatch_bpe_sym *left = &sym[top.pos];
    if (left->gone || left->next < 0) continue;
    hatch_bpe_sym *right = &sym[left->next];
    hatch_bpe_item cur;
    /* Stale entry: the pair at pos changed since it was pushed. */
    if (!lookup_merge(merges, left->id, right->id, &cur, top.pos) || cur.new_id != top.new_id) continue;
    left->id = top.new_id;
    right->gone = true;
    left->next = right->next;
    if (right->next >= 0) sym[right->next].prev = (int32_t)top.pos;
    hatch_bpe_item it;
    if (left->prev >= 0 && lookup_merge(merges, sym[left->prev].id, left->id, &it, (uint32_t)left->prev))
      heap_push(s->heap, &hn, it);
    if (left->next >= 0 && lookup_merge(merges, left->id, sym[left->next].id, &it, top.pos))
      heap_push(s->heap, &hn, it);
  }
  for (int32_t i = 0; i >= 0; i = sym[i].next) {
    if (*n_out == *cap_out) {
      size_t cap = *cap_out ? *cap_out * 2 : 64;
      int32_t *grown = realloc(*out, cap * sizeof(int32_t));
      if (!grown) return HATCH_ERR_OUT_OF_MEMORY;
      *out = grown;
      *cap_out = cap;
    }
    (*out)[(*n_out)++] = sym[i].id;
  }
  return HATCH_OK;
}
