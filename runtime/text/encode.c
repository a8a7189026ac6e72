/* Encoding: added tokens split the raw text (leftmost, longest); each other segment is NFC'd, split
 * by any normalized added tokens, pre-tokenized by the Qwen2 scanner, mapped to byte-level symbols
 * and merged by BPE. Also the chat-template encoder's building block (encode_append). */
#include <stdlib.h>
#include <string.h>

#include "text/text_internal.h"

typedef struct enc {
  const hatch_tokenizer *tok;
  bool parse_special;
  int32_t *ids; /* (n, cap) output */
  size_t n, cap;
  hatch_cps cps, tmp; /* units of the current segment, NFC scratch */
  int32_t *sym;       /* (sym_cap) initial symbols of one piece */
  size_t sym_cap;
  uint8_t *buf;       /* (buf_cap) bytes of a normalized segment / a piece's byte-level string */
  size_t buf_cap;
  hatch_bpe_scratch bpe;
} enc;

static hatch_status push_id(enc *e, int32_t id) {
  if (e->n == e->cap) {
    size_t cap = e->cap ? e->cap * 2 : 64;
    int32_t *ids = realloc(e->ids, cap * sizeof(int32_t));
    if (!ids) return HATCH_ERR_OUT_OF_MEMORY;
    e->ids = ids;
    e->cap = cap;
  }
  e->ids[e->n++] = id;
  return HATCH_OK;
}

static hatch_status reserve_buf(enc *e, size_t n) {
  if (n <= e->buf_cap) return HATCH_OK;
  uint8_t *b = realloc(e->buf, n);
  if (!b) return HATCH_ERR_OUT_OF_MEMORY;
  e->buf = b;
  e->buf_cap = n;
  return HATCH_OK;
}

/* Leftmost-longest added token in s[0..n) among those with the given normalized flag; returns its
 * index in tok->added and sets *at, or -1. */
static int32_t find_added(const enc *e, const uint8_t *s, size_t n, bool normalized, size_t *at) {
  const hatch_tokenizer *t = e->tok;
  for (size_t p = 0; p < n; p++) {
    int key = normalized * 256 + s[p];
    for (int32_t j = t->added_start[key]; j < t->added_start[key + 1]; j++) { /* longest first */
      const hatch_token *tk = &t->tokens[t->added[j]];
      if (tk->type == HATCH_TOKEN_CONTROL && !e->parse_special) continue;
      if (tk->text_len <= n - p && memcmp(tk->text, s + p, tk->text_len) == 0) {
        *at = p;
        return j;
      }
    }
  }
  return -1;
}

static hatch_status emit_piece(void *ctx, size_t start, size_t end) {
  enc *e = ctx;
  const hatch_tokenizer *t = e->tok;
  size_t n_units = end - start;
  if (n_units > SIZE_MAX / 16) return HATCH_ERR_TOO_LARGE;
  hatch_status st;
  if (4 * n_units > e->sym_cap) {
    int32_t *sym = realloc(e->sym, 4 * n_units * sizeof(int32_t));
    if (!sym) return HATCH_ERR_OUT_OF_MEMORY;
    e->sym = sym;
    e->sym_cap = 4 * n_units;
  }
  size_t n = 0;
  for (size_t i = start; i < end; i++) {
    uint8_t b[4];
    int k = hatch_utf8_put(e->cps.v[i], b);
    for (int j = 0; j < k; j++) e->sym[n++] = t->byte_ids[b[j]];
  }
  if (t->ignore_merges) { /* a whole piece in the vocab wins over merging */
    if ((st = reserve_buf(e, 2 * n + 1)) != HATCH_OK) return st;
    size_t m = 0;
    for (size_t i = start; i < end; i++) {
      uint8_t b[4];
      int k = hatch_utf8_put(e->cps.v[i], b);
      for (int j = 0; j < k; j++) m += (size_t)hatch_utf8_put(hatch_byte_to_unicode(b[j]), e->buf + m);
    }
    int32_t id = hatch_tok_find_normal(t, (const char *)e->buf, m);
    if (id >= 0) return push_id(e, id);
  }
  return hatch_bpe_merge_word(&t->merges, e->sym, n, &e->bpe, &e->ids, &e->n, &e->cap);
}

/* Pre-tokenizes and merges e->cps (already normalized). */
static hatch_status encode_units(enc *e) { return hatch_pretokenize_qwen2(e->cps.v, e->cps.n, emit_piece, e); }

/* Normalized text (bytes) split by normalized added tokens; the rest through encode_units. */
static hatch_status encode_normalized_bytes(enc *e, const uint8_t *s, size_t n) {
  hatch_status st;
  while (n) {
    size_t at = n;
    int32_t j = find_added(e, s, n, true, &at);
    e->cps.n = 0;
    if ((st = hatch_utf8_decode(s, at, &e->cps)) != HATCH_OK) return st;
    if ((st = encode_units(e)) != HATCH_OK) return st;
    if (j < 0) break;
    int32_t id = e->tok->added[j];
    if ((st = push_id(e, id)) != HATCH_OK) return st;
    s += at + e->tok->tokens[id].text_len;
    n -= at + e->tok->tokens[id].text_len;
  }
  return HATCH_OK;
}

/* A raw segment between added tokens: NFC, then on. */
static hatch_status encode_segment(enc *e, const uint8_t *s, size_t n) {
  if (!n) return HATCH_OK;
  const hatch_tokenizer *t = e->tok;
  e->cps.n = 0;
  hatch_status st = hatch_utf8_decode(s, n, &e->cps);
  if (st != HATCH_OK) return st;
  if (t->nfc && !hatch_uc_nfc_quick(s, n) && (st = hatch_uc_nfc(&e->cps, &e->tmp)) != HATCH_OK) return st;
  if (!t->has_normalized_added) return encode_units(e);
  /* Back to bytes so normalized added tokens can be matched in the NFC text. */
  if (e->cps.n > SIZE_MAX / 4 || (st = reserve_buf(e, 4 * e->cps.n + 1)) != HATCH_OK)
    return st != HATCH_OK ? st : HATCH_ERR_TOO_LARGE;
  size_t m = 0;
  for (size_t i = 0; i < e->cps.n; i++) m += (size_t)hatch_utf8_put(e->cps.v[i], e->buf + m);
  uint8_t *copy = malloc(m ? m : 1); /* e->buf is reused by emit_piece */
  if (!copy) return HATCH_ERR_OUT_OF_MEMORY;
  memcpy(copy, e->buf, m);
  st = encode_normalized_bytes(e, copy, m);
  free(copy);
  return st;
}

static hatch_status encode_run(enc *e, const uint8_t *s, size_t n) {
  hatch_status st;
  while (n) {
    size_t at = n;
    int32_t j = find_added(e, s, n, false, &at);
    if ((st = encode_segment(e, s, at)) != HATCH_OK) return st;
    if (j < 0) break;
    int32_t id = e->tok->added[j];
    if ((st = push_id(e, id)) != HATCH_OK) return st;
    s += at + e->tok->tokens[id].text_len;
    n -= at + e->tok->tokens[id].text_len;
  }
  return HATCH_OK;
}

static void enc_free_scratch(enc *e) {
  hatch_cps_free(&e->cps);
  hatch_cps_free(&e->tmp);
  free(e->sym);
  free(e->buf);
  hatch_bpe_scratch_free(&e->bpe);
}

hatch_status hatch_tok_encode_append(const hatch_tokenizer *tok, const char *text, size_t len, bool parse_special,
                                     int32_t **ids, size_t *n, size_t *cap) {
  enc e = {.tok = tok, .parse_special = parse_special, .ids = *ids, .n = *n, .cap = *cap};
  hatch_status st = encode_run(&e, (const uint8_t *)text, len);
  enc_free_scratch(&e);
  *ids = e.ids;
  *n = e.n;
  *cap = e.cap;
  return st;
}

hatch_status hatch_tokenizer_encode(const hatch_tokenizer *tok, const char *text, size_t len, bool parse_special,
                                    int32_t **ids, size_t *n_ids) {
  if (!ids || !n_ids) return HATCH_ERR_INVALID_ARGUMENT;
  *ids = NULL;
  *n_ids = 0;
  if (!tok || (!text && len)) return HATCH_ERR_INVALID_ARGUMENT;
  int32_t *out = NULL;
  size_t n = 0, cap = 0;
  hatch_status st = hatch_tok_encode_append(tok, text, len, parse_special, &out, &n, &cap);
  if (st != HATCH_OK || n == 0) {
    free(out);
    return st;
  }
  *ids = out;
  *n_ids = n;
  return HATCH_OK;
}
