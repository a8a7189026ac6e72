/* BPE training, part 2: learning merges. Pair counts are kept incrementally: each pair knows the
 * words it occurs in, a merge rewrites only those words, and a lazy max-heap ordered by (count
 * desc, left asc, right asc) gives the next merge; entries whose count went stale are re-pushed
 * with the current count when they come up. */
#include <stdlib.h>
#include <string.h>

#include "tokenizer/bpe_internal.h"

typedef struct pair {
  int32_t a, b;
  int64_t count;
  int32_t *words; /* (n_words, cap) word indices, maybe stale or repeated */
  int32_t n_words, cap;
  int32_t touched; /* merge number that last pushed it */
  bool done;       /* merged or skipped */
} pair;

typedef struct heap_item {
  int64_t count;
  int32_t a, b, pair;
} heap_item;

typedef struct state {
  hatch_bpe_trainer *t;
  pair *pairs; /* (n_pairs, cap) */
  int32_t n_pairs, cap;
  hatch_map64 index; /* (a << 32 | b) -> pair index */
  heap_item *heap;   /* (n_heap, heap_cap) */
  size_t n_heap, heap_cap;
  hatch_map64 tok_index; /* hash(bytes) -> token id (chain through tok_next) */
  int32_t *tok_next;     /* (tok_cap) */
  int32_t tok_cap;
  uint64_t tb_len, tb_cap;
} state;

static bool before(const heap_item *x, const heap_item *y) {
  if (x->count != y->count) return x->count > y->count;
  if (x->a != y->a) return x->a < y->a;
  return x->b < y->b;
}

static hatch_status heap_push(state *s, heap_item it) {
  if (s->n_heap == s->heap_cap) {
    size_t cap = s->heap_cap ? 2 * s->heap_cap : 1024;
    heap_item *h = realloc(s->heap, cap * sizeof *h);
    if (!h) return HATCH_ERR_OUT_OF_MEMORY;
    s->heap = h, s->heap_cap = cap;
  }
  size_t i = s->n_heap++;
  while (i > 0 && before(&it, &s->heap[(i - 1) / 2])) {
    s->heap[i] = s->heap[(i - 1) / 2];
    i = (i - 1) / 2;
  }
  s->heap[i] = it;
  return HATCH_OK;
}

static heap_item heap_pop(state *s) {
  heap_item top = s->heap[0], last = s->heap[--s->n_heap];
  size_t i = 0, n = s->n_heap;
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= n) break;
    if (c + 1 < n && before(&s->heap[c + 1], &s->heap[c])) c++;
    if (!before(&s->heap[c], &last)) break;
    s->heap[i] = s->heap[c];
    i = c;
  }
  if (n) s->heap[i] = last;
  return top;
}

/* Index of pair (a, b), created with count 0 when new; -1 out of memory. */
static int32_t pair_get(state *s, int32_t a, int32_t b) {
  uint64_t key = (uint64_t)(uint32_t)a << 32 | (uint32_t)b, v;
  if (hatch_map64_get(&s->index, key, &v)) return (int32_t)v;
  if (s->n_pairs == s->cap) {
    if (s->cap > INT32_MAX / 4) return -1;
    int32_t cap = s->cap ? 2 * s->cap : 4096;
    pair *p = realloc(s->pairs, (size_t)cap * sizeof *p);
    if (!p) return -1;
    s->pairs = p, s->cap = cap;
  }
  s->pairs[s->n_pairs] = (pair){a, b, 0, NULL, 0, 0, -1, false};
  if (hatch_map64_put(&s->index, key, (uint64_t)s->n_pairs) != HATCH_OK) return -1;
  return s->n_pairs++;
}

static hatch_status pair_add_word(pair *p, int32_t w) {
  if (p->n_words && p->words[p->n_words - 1] == w) return HATCH_OK;
  if (p->n_words == p->cap) {
    int32_t cap = p->cap ? 2 * p->cap : 4;
    int32_t *ws = realloc(p->words, (size_t)cap * sizeof *ws);
    if (!ws) return HATCH_ERR_OUT_OF_MEMORY;
    p->words = ws, p->cap = cap;
  }
  p->words[p->n_words++] = w;
  return HATCH_OK;
}

int32_t hatch_bpe_add_token(hatch_bpe_trainer *t, const uint8_t *bytes, int32_t len) {
  /* Capacity grows with n_tokens at powers of two (>= 512). */
  int32_t n = t->n_tokens;
  if (n >= 512 && (n & (n - 1)) == 0) {
    uint64_t *off = realloc(t->tok_off, 2 * (size_t)n * sizeof *off);
    if (off) t->tok_off = off;
    int32_t *tl = realloc(t->tok_len, 2 * (size_t)n * sizeof *tl);
    if (tl) t->tok_len = tl;
    if (!off || !tl) return -1;
  } else if (n == 0) {
    t->tok_off = malloc(512 * sizeof *t->tok_off);
    t->tok_len = malloc(512 * sizeof *t->tok_len);
    if (!t->tok_off || !t->tok_len) return -1;
  }
  uint64_t used = n ? t->tok_off[n - 1] + (uint64_t)t->tok_len[n - 1] : 0;
  uint8_t *tb = realloc(t->tok_bytes, (size_t)(used + (uint64_t)len + 1));
  if (!tb) return -1;
  t->tok_bytes = tb;
  memcpy(tb + used, bytes, (size_t)len);
  t->tok_off[n] = used;
  t->tok_len[n] = len;
  return t->n_tokens++;
}

/* The id of the token spelled bytes[0..len), or -1. */
static int32_t tok_find(const state *s, const uint8_t *bytes, int32_t len, uint64_t h) {
  uint64_t v;
  if (!hatch_map64_get(&s->tok_index, h, &v)) return -1;
  for (int32_t id = (int32_t)v; id >= 0; id = s->tok_next[id])
    if (s->t->tok_len[id] == len && memcmp(s->t->tok_bytes + s->t->tok_off[id], bytes, (size_t)len) == 0) return id;
  return -1;
}

static hatch_status tok_index_add(state *s, int32_t id, uint64_t h) {
  if (id >= s->tok_cap) {
    int32_t cap = s->tok_cap ? 2 * s->tok_cap : 1024;
    int32_t *nx = realloc(s->tok_next, (size_t)cap * sizeof *nx);
    if (!nx) return HATCH_ERR_OUT_OF_MEMORY;
    s->tok_next = nx, s->tok_cap = cap;
  }
  uint64_t v;
  s->tok_next[id] = hatch_map64_get(&s->tok_index, h, &v) ? (int32_t)v : -1;
  return hatch_map64_put(&s->tok_index, h, (uint64_t)id);
}

/* Adds (sign = +1) or removes (-1) the pairs of word w; when adding, pairs holding new_id get the
 * word in their list and go into touched[] (once per merge) to be pushed on the heap. */
static hatch_status word_pairs(state *s, int32_t w, int sign, int32_t new_id, int32_t merge_no, int32_t *touched,
                               int32_t *n_touched) {
  const bpe_word *wd = &s->t->words[w];
  for (int32_t i = 0; i + 1 < wd->len; i++) {
    int32_t pi = pair_get(s, wd->syms[i], wd->syms[i + 1]);
    if (pi < 0) return HATCH_ERR_OUT_OF_MEMORY;
    pair *p = &s->pairs[pi];
    p->count += sign * wd->count;
    if (sign > 0 && (p->a == new_id || p->b == new_id)) {
      hatch_status st = pair_add_word(p, w);
      if (st != HATCH_OK) return st;
      if (p->touched != merge_no) {
        p->touched = merge_no;
        touched[(*n_touched)++] = pi;
      }
    }
  }
  return HATCH_OK;
}

static hatch_status push_merge(hatch_bpe_trainer *t, int32_t a, int32_t b) {
  if ((t->n_merges & (t->n_merges - 1)) == 0) {
    size_t cap = t->n_merges ? 2 * (size_t)t->n_merges : 1;
    int32_t(*m)[2] = realloc(t->merges, cap * sizeof *m);
    if (!m) return HATCH_ERR_OUT_OF_MEMORY;
    t->merges = m;
  }
  t->merges[t->n_merges][0] = a;
  t->merges[t->n_merges][1] = b;
  t->n_merges++;
  return HATCH_OK;
}

/* Merges (a, b) -> id in every word that has it. */
static hatch_status apply_merge(state *s, int32_t pi, int32_t id, int32_t merge_no, int32_t **touched, size_t *tcap,
                                int32_t *n_touched) {
  hatch_bpe_trainer *t = s->t;
  int32_t a = s->pairs[pi].a, b = s->pairs[pi].b;
  int32_t *words = s->pairs[pi].words, n_words = s->pairs[pi].n_words; /* (a, b) gets no new words below */
  hatch_status st = HATCH_OK;
  *n_touched = 0;
  for (int32_t k = 0; k < n_words && st == HATCH_OK; k++) {
    bpe_word *wd = &t->words[words[k]];
    bool has = false;
    for (int32_t i = 0; i + 1 < wd->len && !has; i++) has = wd->syms[i] == a && wd->syms[i + 1] == b;
    if (!has) continue; /* stale entry */
    if ((size_t)(*n_touched + wd->len) > *tcap) {
      size_t cap = 2 * (*tcap + (size_t)wd->len);
      int32_t *tt = realloc(*touched, cap * sizeof *tt);
      if (!tt) return HATCH_ERR_OUT_OF_MEMORY;
      *touched = tt, *tcap = cap;
    }
    if ((st = word_pairs(s, words[k], -1, id, merge_no, *touched, n_touched)) != HATCH_OK) break;
    int32_t n = 0;
    for (int32_t i = 0; i < wd->len; i++) {
      if (i + 1 < wd->len && wd->syms[i] == a && wd->syms[i + 1] == b) {
        wd->syms[n++] = id;
        i++;
      } else {
        wd->syms[n++] = wd->syms[i];
      }
    }
    wd->len = n;
    st = word_pairs(s, words[k], +1, id, merge_no, *touched, n_touched);
  }
  return st;
}

static hatch_status init_state(state *s) {
  hatch_bpe_trainer *t = s->t;
  hatch_status st;
  if ((st = hatch_map64_init(&s->index, (size_t)t->n_words * 2)) != HATCH_OK) return st;
  if ((st = hatch_map64_init(&s->tok_index, (size_t)t->opt.vocab_size)) != HATCH_OK) return st;
  for (int b = 0; b < 256; b++) {
    uint8_t byte = (uint8_t)b;
    if (hatch_bpe_add_token(t, &byte, 1) != b) return HATCH_ERR_OUT_OF_MEMORY;
    if ((st = tok_index_add(s, b, hatch_hash_bytes(&byte, 1))) != HATCH_OK) return st;
  }
  for (int32_t w = 0; w < t->n_words; w++) {
    bpe_word *wd = &t->words[w];
    if (!(wd->syms = malloc((size_t)(wd->len ? wd->len : 1) * sizeof *wd->syms))) return HATCH_ERR_OUT_OF_MEMORY;
    for (int32_t i = 0; i < wd->len; i++) wd->syms[i] = t->piece_bytes[wd->off + (uint64_t)i];
    for (int32_t i = 0; i + 1 < wd->len; i++) {
      int32_t pi = pair_get(s, wd->syms[i], wd->syms[i + 1]);
      if (pi < 0) return HATCH_ERR_OUT_OF_MEMORY;
      s->pairs[pi].count += wd->count;
      if ((st = pair_add_word(&s->pairs[pi], w)) != HATCH_OK) return st;
    }
  }
  for (int32_t i = 0; i < s->n_pairs; i++)
    if ((st = heap_push(s, (heap_item){s->pairs[i].count, s->pairs[i].a, s->pairs[i].b, i})) != HATCH_OK) return st;
  return HATCH_OK;
}

static hatch_status merge_loop(state *s) {
  hatch_bpe_trainer *t = s->t;
  int32_t target = t->opt.vocab_size - t->n_specials;
  int32_t *touched = NULL, n_touched = 0;
  size_t tcap = 0;
  uint8_t *buf = malloc((size_t)t->opt.max_token_bytes);
  hatch_status st = buf ? HATCH_OK : HATCH_ERR_OUT_OF_MEMORY;
  while (st == HATCH_OK && t->n_tokens < target && s->n_heap > 0) {
    heap_item top = heap_pop(s);
    pair *p = &s->pairs[top.pair];
    if (p->done || p->count <= 0) continue;
    if (top.count != p->count) { /* stale: counts only fall outside new pairs */
      st = heap_push(s, (heap_item){p->count, p->a, p->b, top.pair});
      continue;
    }
    if (t->opt.min_frequency > 1 && p->count < t->opt.min_frequency) break;
    p->done = true;
    int32_t la = t->tok_len[p->a], lb = t->tok_len[p->b];
    if (la + lb > t->opt.max_token_bytes) continue;
    memcpy(buf, t->tok_bytes + t->tok_off[p->a], (size_t)la);
    memcpy(buf + la, t->tok_bytes + t->tok_off[p->b], (size_t)lb);
    uint64_t h = hatch_hash_bytes(buf, (size_t)(la + lb));
    int32_t id = tok_find(s, buf, la + lb, h);
    if (id < 0) { /* a new token (else the merge only spells an existing one) */
      if ((id = hatch_bpe_add_token(t, buf, la + lb)) < 0) st = HATCH_ERR_OUT_OF_MEMORY;
      if (st == HATCH_OK) st = tok_index_add(s, id, h);
    }
    if (st == HATCH_OK) st = push_merge(t, p->a, p->b);
    if (st == HATCH_OK) st = apply_merge(s, top.pair, id, t->n_merges, &touched, &tcap, &n_touched);
    for (int32_t k = 0; k < n_touched && st == HATCH_OK; k++) {
      const pair *q = &s->pairs[touched[k]];
      if (q->count > 0) st = heap_push(s, (heap_item){q->count, q->a, q->b, touched[k]});
    }
  }
  free(buf);
  free(touched);
  return st;
}

hatch_status hatch_bpe_trainer_train(hatch_bpe_trainer *t) {
  if (!t || t->trained) return HATCH_ERR_INVALID_ARGUMENT;
  state s = {.t = t};
  hatch_status st = init_state(&s);
  if (st == HATCH_OK) st = merge_loop(&s);
  for (int32_t i = 0; i < s.n_pairs; i++) free(s.pairs[i].words);
  free(s.pairs);
  free(s.heap);
  free(s.tok_next);
  hatch_map64_free(&s.index);
  hatch_map64_free(&s.tok_index);
  if (st == HATCH_OK) t->trained = true;
  return st;
}

int32_t hatch_bpe_trainer_n_vocab(const hatch_bpe_trainer *t) {
  return t && t->trained ? t->n_tokens + t->n_specials : 0;
}
int32_t hatch_bpe_trainer_n_merges(const hatch_bpe_trainer *t) { return t ? t->n_merges : 0; }
int64_t hatch_bpe_trainer_n_pieces(const hatch_bpe_trainer *t) { return t ? t->n_words : 0; }
