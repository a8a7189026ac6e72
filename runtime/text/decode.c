/* Decoding: ids -> bytes (each token's byte-level inverse, precomputed), the streaming decoder that
 * only lets complete UTF-8 sequences out, and hatch_text_nfc. */
#include <stdlib.h>
#include <string.h>

#include "text/text_internal.h"

hatch_status hatch_tokenizer_decode(const hatch_tokenizer *tok, const int32_t *ids, size_t n_ids, bool skip_special,
                                    char **out, size_t *out_len) {
  if (!out || !out_len) return HATCH_ERR_INVALID_ARGUMENT;
  *out = NULL;
  *out_len = 0;
  if (!tok || (!ids && n_ids)) return HATCH_ERR_INVALID_ARGUMENT;
  size_t total = 0;
  for (size_t i = 0; i < n_ids; i++) {
    if (ids[i] < 0 || ids[i] >= tok->n_vocab) return HATCH_ERR_INVALID_ARGUMENT;
    if (skip_special && tok->tokens[ids[i]].type == HATCH_TOKEN_CONTROL) continue;
    total += tok->tokens[ids[i]].bytes_len;
  }
  char *s = malloc(total + 1);
  if (!s) return HATCH_ERR_OUT_OF_MEMORY;
  size_t n = 0;
  for (size_t i = 0; i < n_ids; i++) {
    const hatch_token *tk = &tok->tokens[ids[i]];
    if (skip_special && tk->type == HATCH_TOKEN_CONTROL) continue;
    memcpy(s + n, tok->bytes + tk->bytes_off, tk->bytes_len);
    n += tk->bytes_len;
  }
  s[n] = '\0';
  *out = s;
  *out_len = n;
  return HATCH_OK;
}

/* ---- streaming --------------------------------------------------------------------------------- */

struct hatch_detok_stream {
  const hatch_tokenizer *tok;
  bool skip_special;
  uint8_t pending[4]; /* an unfinished UTF-8 sequence (at most 3 bytes) */
  size_t n_pending;
  char *out;          /* (cap) */
  size_t cap;
};

hatch_status hatch_detok_stream_create(const hatch_tokenizer *tok, bool skip_special, hatch_detok_stream **out) {
  if (!out) return HATCH_ERR_INVALID_ARGUMENT;
  *out = NULL;
  if (!tok) return HATCH_ERR_INVALID_ARGUMENT;
  hatch_detok_stream *s = calloc(1, sizeof(*s));
  if (!s) return HATCH_ERR_OUT_OF_MEMORY;
  s->tok = tok;
  s->skip_special = skip_special;
  *out = s;
  return HATCH_OK;
}

void hatch_detok_stream_destroy(hatch_detok_stream *s) {
  if (!s) return;
  free(s->out);
  free(s);
}

/* The sequence at p[0..n): 1 complete and valid (*used = its length), 0 a valid beginning cut off
 * by the end (*used = n), -1 invalid (*used = the maximal valid prefix, at least 1, which
 * from_utf8_lossy turns into one U+FFFD). */
static int utf8_seq(const uint8_t *p, size_t n, size_t *used) {
  uint8_t b0 = p[0];
  int need;
  uint8_t lo = 0x80, hi = 0xBF;
  *used = 1;
  if (b0 < 0x80) return 1;
  if (b0 >= 0xC2 && b0 <= 0xDF)
    need = 1;
  else if (b0 >= 0xE0 && b0 <= 0xEF) {
    need = 2;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    need = 3;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
  } else
    return -1;
  for (int k = 1; k <= need; k++) {
    if ((size_t)k >= n) {
      *used = n;
      return 0;
    }
    uint8_t l = k == 1 ? lo : 0x80, h = k == 1 ? hi : 0xBF;
    if (p[k] < l || p[k] > h) {
      *used = (size_t)k;
      return -1;
    }
  }
  *used = (size_t)need + 1;
  return 1;
}

/* Moves the complete part of p[0..n) to s->out (invalid parts as U+FFFD); keeps an unfinished tail
 * in s->pending unless final. */
static hatch_status stream_emit(hatch_detok_stream *s, const uint8_t *p, size_t n, bool final, size_t *len) {
  if (n > (SIZE_MAX - 1) / 3) return HATCH_ERR_TOO_LARGE;
  size_t need = 3 * n + 1; /* each byte becomes at most one U+FFFD */
  if (need > s->cap) {
    char *o = realloc(s->out, need);
    if (!o) return HATCH_ERR_OUT_OF_MEMORY;
    s->out = o;
    s->cap = need;
  }
  size_t m = 0;
  s->n_pending = 0;
  for (size_t i = 0; i < n;) {
    size_t used;
    int r = utf8_seq(p + i, n - i, &used);
    if (r == 0 && !final) {
      memcpy(s->pending, p + i, used);
      s->n_pending = used;
      break;
    }
    if (r == 1) {
      memcpy(s->out + m, p + i, used);
      m += used;
    } else {
      memcpy(s->out + m, "\xEF\xBF\xBD", 3);
      m += 3;
    }
    i += used;
  }
  s->out[m] = '\0';
  *len = m;
  return HATCH_OK;
}

hatch_status hatch_detok_stream_push(hatch_detok_stream *s, int32_t id, const char **text, size_t *len) {
  if (!s || !text || !len) return HATCH_ERR_INVALID_ARGUMENT;
  *text = "";
  *len = 0;
  if (id < 0 || id >= s->tok->n_vocab) return HATCH_ERR_INVALID_ARGUMENT;
  const hatch_token *tk = &s->tok->tokens[id];
  if (s->skip_special && tk->type == HATCH_TOKEN_CONTROL) return HATCH_OK;
  size_t n = s->n_pending + tk->bytes_len;
  uint8_t small[64];
  uint8_t *work = n <= sizeof(small) ? small : malloc(n);
  if (!work) return HATCH_ERR_OUT_OF_MEMORY;
  memcpy(work, s->pending, s->n_pending);
  memcpy(work + s->n_pending, s->tok->bytes + tk->bytes_off, tk->bytes_len);
  hatch_status st = stream_emit(s, work, n, false, len);
  if (work != small) free(work);
  if (st == HATCH_OK) *text = s->out;
  return st;
}

hatch_status hatch_detok_stream_flush(hatch_detok_stream *s, const char **text, size_t *len) {
  if (!s || !text || !len) return HATCH_ERR_INVALID_ARGUMENT;
  uint8_t work[4];
  size_t n = s->n_pending;
  memcpy(work, s->pending, n);
  *text = "";
  hatch_status st = stream_emit(s, work, n, true, len);
  if (st == HATCH_OK) *text = s->out;
  return st;
}

/* ---- NFC ------------------------------------------------------------------------------------------ */

hatch_status hatch_text_nfc(const char *text, size_t len, char **out, size_t *out_len) {
  if (!out || !out_len) return HATCH_ERR_INVALID_ARGUMENT;
  *out = NULL;
  *out_len = 0;
  if (!text && len) return HATCH_ERR_INVALID_ARGUMENT;
  hatch_cps cps = {0}, tmp = {0};
  hatch_status st = hatch_utf8_decode((const uint8_t *)text, len, &cps);
  if (st == HATCH_OK) st = hatch_uc_nfc(&cps, &tmp);
  char *s = NULL;
  if (st == HATCH_OK && cps.n > (SIZE_MAX - 1) / 4) st = HATCH_ERR_TOO_LARGE;
  if (st == HATCH_OK && !(s = malloc(4 * cps.n + 1))) st = HATCH_ERR_OUT_OF_MEMORY;
  if (st == HATCH_OK) {
    size_t n = 0;
    for (size_t i = 0; i < cps.n; i++) n += (size_t)hatch_utf8_put(cps.v[i], (uint8_t *)s + n);
    s[n] = '\0';
    *out = s;
    *out_len = n;
  }
  hatch_cps_free(&cps);
  hatch_cps_free(&tmp);
  return st;
}
