/* The tokenizer object: the builder both loaders use (slots, vocab index, merges, decoded bytes,
 * added-token index), construction from GGUF-style arrays, and the queries. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text/text_internal.h"

void hatch_tok_errorf(hatch_tokenizer_error *err, const char *fmt, ...) {
  if (!err) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err->message, sizeof(err->message), fmt, ap);
  va_end(ap);
}

/* ---- builder ------------------------------------------------------------------------------------- */

hatch_status hatch_tok_alloc(int32_t n_vocab, hatch_tokenizer **out) {
  *out = NULL;
  hatch_tokenizer *t = calloc(1, sizeof(*t));
  if (!t) return HATCH_ERR_OUT_OF_MEMORY;
  t->n_vocab = n_vocab;
  t->tokens = calloc((size_t)n_vocab, sizeof(hatch_token));
  t->vocab_next = malloc((size_t)n_vocab * sizeof(int32_t));
  if (!t->tokens || !t->vocab_next) {
    hatch_tokenizer_destroy(t);
    return HATCH_ERR_OUT_OF_MEMORY;
  }
  for (int32_t i = 0; i < n_vocab; i++) t->tokens[i].type = HATCH_TOKEN_UNUSED;
  t->bos_id = t->eos_id = t->pad_id = -1;
  *out = t;
  return HATCH_OK;
}

void hatch_tokenizer_destroy(hatch_tokenizer *t) {
  if (!t) return;
  if (t->tokens)
    for (int32_t i = 0; i < t->n_vocab; i++) free(t->tokens[i].text);
  free(t->tokens);
  free(t->vocab_next);
  hatch_map64_free(&t->vocab);
  hatch_map64_free(&t->merges);
  free(t->merge_list);
  free(t->bytes);
  free(t->added);
  free(t);
}

static bool valid_utf8(const char *s, size_t n) {
  for (size_t i = 0; i < n;) {
    size_t len;
    if (hatch_utf8_next((const uint8_t *)s + i, n - i, &len) >= HATCH_UC_RAW_BYTE) return false;
    i += len;
  }
  return true;
}

hatch_status hatch_tok_set(hatch_tokenizer *t, int32_t id, const char *text, size_t len, int type, bool added,
                           bool normalized, hatch_tokenizer_error *err, const char *where) {
  if (id < 0 || id >= t->n_vocab) {
    hatch_tok_errorf(err, "%s: id %ld out of range [0, %ld)", where, (long)id, (long)t->n_vocab);
    return HATCH_ERR_CORRUPT;
  }
  if (len == 0 || len > HATCH_TOKENIZER_MAX_TOKEN_BYTES) {
    hatch_tok_errorf(err, "%s: token %ld is %zu bytes (1..%d allowed)", where, (long)id, len,
                     HATCH_TOKENIZER_MAX_TOKEN_BYTES);
    return len ? HATCH_ERR_TOO_LARGE : HATCH_ERR_CORRUPT;
  }
  if (!valid_utf8(text, len) || memchr(text, 0, len)) {
    hatch_tok_errorf(err, "%s: token %ld is not valid UTF-8 text", where, (long)id);
    return HATCH_ERR_CORRUPT;
  }
  hatch_token *tk = &t->tokens[id];
  if (tk->text) {
    hatch_tok_errorf(err, "%s: id %ld is used twice", where, (long)id);
    return HATCH_ERR_CORRUPT;
  }
  tk->text = malloc(len + 1);
  if (!tk->text) return HATCH_ERR_OUT_OF_MEMORY;
  memcpy(tk->text, text, len);
  tk->text[len] = '\0';
  tk->text_len = (uint32_t)len;
  tk->type = (uint8_t)type;
  tk->added = added;
  tk->normalized = normalized;
  tk->in_vocab = type == HATCH_TOKEN_NORMAL;
  return HATCH_OK;
}

int32_t hatch_tok_find_normal(const hatch_tokenizer *t, const char *text, size_t len) {
  uint64_t head;
  if (!hatch_map64_get(&t->vocab, hatch_hash_bytes(text, len), &head)) return -1;
  for (int32_t i = (int32_t)head; i >= 0; i = t->vocab_next[i]) {
    const hatch_token *tk = &t->tokens[i];
    if (tk->text_len == len && memcmp(tk->text, text, len) == 0) return i;
  }
  return -1;
}

hatch_status hatch_tok_index(hatch_tokenizer *t, hatch_tokenizer_error *err, const char *where) {
  hatch_status st = hatch_map64_init(&t->vocab, (size_t)t->n_vocab);
  if (st != HATCH_OK) return st;
  for (int32_t i = 0; i < t->n_vocab; i++) {
    hatch_token *tk = &t->tokens[i];
    t->vocab_next[i] = -1;
    if (!tk->in_vocab) continue;
    int32_t dup = hatch_tok_find_normal(t, tk->text, tk->text_len);
    if (dup >= 0) {
      hatch_tok_errorf(err, "%s: token '%.64s' has two ids, %ld and %ld", where, tk->text, (long)dup, (long)i);
      return HATCH_ERR_CORRUPT;
    }
    uint64_t key = hatch_hash_bytes(tk->text, tk->text_len), head;
    if (hatch_map64_get(&t->vocab, key, &head)) t->vocab_next[i] = (int32_t)head;
    if ((st = hatch_map64_put(&t->vocab, key, (uint64_t)i)) != HATCH_OK) return st;
  }
  for (int b = 0; b < 256; b++) {
    uint8_t u[4];
    int n = hatch_utf8_put(hatch_byte_to_unicode((uint8_t)b), u);
    t->byte_ids[b] = hatch_tok_find_normal(t, (const char *)u, (size_t)n);
    if (t->byte_ids[b] < 0) {
      hatch_tok_errorf(err, "%s: no token for byte 0x%02X ('%.*s'): byte-level BPE needs all 256", where, b, n,
                       (const char *)u);
      return HATCH_ERR_CORRUPT;
    }
  }
  return hatch_map64_init(&t->merges, 1024);
}

hatch_status hatch_tok_add_merge(hatch_tokenizer *t, uint32_t rank, const char *left, size_t left_len,
                                 const char *right, size_t right_len, hatch_tokenizer_error *err,
                                 const char *where) {
  int32_t a = hatch_tok_find_normal(t, left, left_len);
  int32_t b = hatch_tok_find_normal(t, right, right_len);
  if (a < 0 || b < 0) {
    const char *which = a < 0 ? left : right;
    int wl = (int)(a < 0 ? left_len : right_len);
    hatch_tok_errorf(err, "%s: '%.*s' is not in the vocab", where, wl > 64 ? 64 : wl, which);
    return HATCH_ERR_CORRUPT;
  }
  size_t n = left_len + right_len;
  if (n > HATCH_TOKENIZER_MAX_TOKEN_BYTES) {
    hatch_tok_errorf(err, "%s: merged token is %zu bytes", where, n);
    return HATCH_ERR_CORRUPT;
  }
  char buf[HATCH_TOKENIZER_MAX_TOKEN_BYTES];
  memcpy(buf, left, left_len);
  memcpy(buf + left_len, right, right_len);
  int32_t m = hatch_tok_find_normal(t, buf, n);
  if (m < 0) {
    hatch_tok_errorf(err, "%s: '%.*s' + '%.*s' gives a token not in the vocab", where, (int)(left_len > 48 ? 48 : left_len),
                     left, (int)(right_len > 48 ? 48 : right_len), right);
    return HATCH_ERR_CORRUPT;
  }
  if (t->n_merges == t->merges_cap) {
    uint32_t cap = t->merges_cap ? t->merges_cap * 2 : 1024;
    int32_t *g = realloc(t->merge_list, (size_t)cap * 2 * sizeof(int32_t));
    if (!g) return HATCH_ERR_OUT_OF_MEMORY;
    t->merge_list = g;
    t->merges_cap = cap;
  }
  t->merge_list[2 * t->n_merges] = a;
  t->merge_list[2 * t->n_merges + 1] = b;
  t->n_merges++;
  /* A repeated pair keeps its last rank, as tokenizers' merge map does. */
  return hatch_map64_put(&t->merges, ((uint64_t)(uint32_t)a << 32) | (uint32_t)b, ((uint64_t)rank << 32) | (uint32_t)m);
}

/* The bytes a token decodes to, by tokenizers' ByteLevel decoder rule: when every character of the
 * token is a byte-level symbol, those bytes; otherwise the token's own UTF-8. */
static size_t token_bytes(const hatch_token *tk, uint8_t *out) {
  if (!tk->text) return 0;
  size_t n = 0;
  for (uint32_t i = 0; i < tk->text_len;) {
    size_t len;
    int b = hatch_unicode_to_byte(hatch_utf8_next((const uint8_t *)tk->text + i, tk->text_len - i, &len));
    if (b < 0) {
      memcpy(out, tk->text, tk->text_len);
      return tk->text_len;
    }
    out[n++] = (uint8_t)b;
    i += (uint32_t)len;
  }
  return n;
}

typedef struct added_key {
  uint32_t key; /* normalized * 256 + first byte */
  uint32_t len;
  int32_t id;
} added_key;

/* By key, then longest first (leftmost-longest matching tries them in this order), then id. */
static int added_cmp(const void *pa, const void *pb) {
  const added_key *a = pa, *b = pb;
  if (a->key != b->key) return a->key < b->key ? -1 : 1;
  if (a->len != b->len) return a->len > b->len ? -1 : 1;
  return a->id < b->id ? -1 : a->id > b->id;
}

hatch_status hatch_tok_finish(hatch_tokenizer *t, hatch_tokenizer_error *err) {
  size_t total = 0;
  for (int32_t i = 0; i < t->n_vocab; i++) {
    if (t->tokens[i].type == HATCH_TOKEN_UNUSED && !t->tokens[i].in_vocab) continue;
    total += t->tokens[i].text_len;
    t->n_added += t->tokens[i].added;
  }
  t->bytes = malloc(total ? total : 1);
  t->added = malloc(((size_t)t->n_added + 1) * sizeof(int32_t));
  if (!t->bytes || !t->added) return HATCH_ERR_OUT_OF_MEMORY;
  int32_t k = 0;
  for (int32_t i = 0; i < t->n_vocab; i++) {
    hatch_token *tk = &t->tokens[i];
    tk->bytes_off = (uint32_t)t->bytes_len;
    tk->bytes_len = 0;
    if (tk->type == HATCH_TOKEN_UNUSED && !tk->in_vocab) continue;
    tk->bytes_len = (uint32_t)token_bytes(tk, t->bytes + t->bytes_len);
    t->bytes_len += tk->bytes_len;
    if (tk->added) {
      t->added[k++] = i;
      t->has_normalized_added |= tk->normalized;
    }
  }
  added_key *keys = malloc(((size_t)t->n_added + 1) * sizeof(added_key));
  if (!keys) return HATCH_ERR_OUT_OF_MEMORY;
  for (int32_t j = 0; j < t->n_added; j++) {
    const hatch_token *tk = &t->tokens[t->added[j]];
    keys[j] = (added_key){tk->normalized * 256u + (uint8_t)tk->text[0], tk->text_len, t->added[j]};
  }
  qsort(keys, (size_t)t->n_added, sizeof(added_key), added_cmp);
  for (int32_t j = 0; j < t->n_added; j++) t->added[j] = keys[j].id;
  free(keys);
  /* added_start[key]: first index in added[] whose key (normalized * 256 + first byte) is >= key. */
  memset(t->added_start, 0, sizeof(t->added_start));
  for (int32_t j = 0; j < t->n_added; j++) {
    const hatch_token *tk = &t->tokens[t->added[j]];
    t->added_start[tk->normalized * 256 + (uint8_t)tk->text[0] + 1]++;
  }
  for (int key = 1; key <= 512; key++) t->added_start[key] += t->added_start[key - 1];
  const int32_t ids[3] = {t->bos_id, t->eos_id, t->pad_id};
  const char *names[3] = {"bos", "eos", "padding"};
  for (int i = 0; i < 3; i++)
    if (ids[i] < -1 || ids[i] >= t->n_vocab) {
      hatch_tok_errorf(err, "tokenizer.ggml.%s_token_id: %ld out of range [0, %ld)", names[i], (long)ids[i],
                       (long)t->n_vocab);
      return HATCH_ERR_CORRUPT;
    }
  return HATCH_OK;
}

/* ---- from GGUF-style arrays ------------------------------------------------------------------------ */

hatch_status hatch_tokenizer_from_arrays(const hatch_tokenizer_arrays *a, hatch_tokenizer **out,
                                         hatch_tokenizer_error *err) {
  if (err) err->message[0] = '\0';
  if (!out) return HATCH_ERR_INVALID_ARGUMENT;
  *out = NULL;
  if (!a || !a->tokens || (a->n_merges && !a->merges)) {
    hatch_tok_errorf(err, "tokenizer arrays: tokens or merges missing");
    return HATCH_ERR_INVALID_ARGUMENT;
  }
  if (!a->model || strcmp(a->model, "gpt2") != 0) {
    hatch_tok_errorf(err, "tokenizer.ggml.model: '%.32s' is not supported (only gpt2)", a->model ? a->model : "(missing)");
    return a->model ? HATCH_ERR_UNSUPPORTED : HATCH_ERR_CORRUPT;
  }
  if (a->pre && strcmp(a->pre, "qwen2") != 0) {
    hatch_tok_errorf(err, "tokenizer.ggml.pre: '%.32s' is not supported (only qwen2)", a->pre);
    return HATCH_ERR_UNSUPPORTED;
  }
  if (a->n_tokens == 0 || a->n_tokens > HATCH_TOKENIZER_MAX_VOCAB || a->n_merges > HATCH_TOKENIZER_MAX_MERGES) {
    hatch_tok_errorf(err, "tokenizer.ggml.%s: %zu entries (limit %d)", a->n_merges > HATCH_TOKENIZER_MAX_MERGES ? "merges" : "tokens",
                     a->n_merges > HATCH_TOKENIZER_MAX_MERGES ? a->n_merges : a->n_tokens,
                     a->n_merges > HATCH_TOKENIZER_MAX_MERGES ? HATCH_TOKENIZER_MAX_MERGES : HATCH_TOKENIZER_MAX_VOCAB);
    return a->n_tokens == 0 ? HATCH_ERR_CORRUPT : HATCH_ERR_TOO_LARGE;
  }
  hatch_tokenizer *t = NULL;
  hatch_status st = hatch_tok_alloc((int32_t)a->n_tokens, &t);
  if (st != HATCH_OK) return st;
  char where[64];
  for (size_t i = 0; i < a->n_tokens; i++) {
    snprintf(where, sizeof(where), "tokenizer.ggml.tokens[%zu]", i);
    int type = a->token_types ? a->token_types[i] : HATCH_TOKEN_NORMAL;
    if (type < HATCH_TOKEN_NORMAL || type > HATCH_TOKEN_BYTE || type == HATCH_TOKEN_UNKNOWN || type == HATCH_TOKEN_BYTE) {
      hatch_tok_errorf(err, "tokenizer.ggml.token_type[%zu]: type %d not supported for gpt2 BPE", i, type);
      st = type < HATCH_TOKEN_NORMAL || type > HATCH_TOKEN_BYTE ? HATCH_ERR_CORRUPT : HATCH_ERR_UNSUPPORTED;
      goto fail;
    }
    const char *s = a->tokens[i];
    if (!s) {
      hatch_tok_errorf(err, "%s: missing", where);
      st = HATCH_ERR_CORRUPT;
      goto fail;
    }
    size_t len = a->token_lens ? a->token_lens[i] : strlen(s);
    if (type == HATCH_TOKEN_UNUSED && len == 0) continue;
    bool added = type == HATCH_TOKEN_CONTROL || type == HATCH_TOKEN_USER_DEFINED;
    st = hatch_tok_set(t, (int32_t)i, s, len, type, added, false, err, where);
    if (st != HATCH_OK) goto fail;
  }
  if ((st = hatch_tok_index(t, err, "tokenizer.ggml.tokens")) != HATCH_OK) goto fail;
  for (size_t i = 0; i < a->n_merges; i++) {
    snprintf(where, sizeof(where), "tokenizer.ggml.merges[%zu]", i);
    const char *m = a->merges[i];
    size_t len = m ? (a->merge_lens ? a->merge_lens[i] : strlen(m)) : 0;
    const char *sp = m ? memchr(m, ' ', len) : NULL;
    if (!sp || sp == m || sp + 1 == m + len || memchr(sp + 1, ' ', (size_t)(m + len - sp - 1))) {
      hatch_tok_errorf(err, "%s: expected \"left right\"", where);
      st = HATCH_ERR_CORRUPT;
      goto fail;
    }
    st = hatch_tok_add_merge(t, (uint32_t)i, m, (size_t)(sp - m), sp + 1, (size_t)(m + len - sp - 1), err, where);
    if (st != HATCH_OK) goto fail;
  }
  t->nfc = true;
  t->bos_id = a->bos_id;
  t->eos_id = a->eos_id;
  t->pad_id = a->pad_id;
  if ((st = hatch_tok_finish(t, err)) != HATCH_OK) goto fail;
  *out = t;
  return HATCH_OK;
fail:
  hatch_tokenizer_destroy(t);
  return st;
}

/* ---- queries ------------------------------------------------------------------------------------- */

int32_t hatch_tokenizer_n_vocab(const hatch_tokenizer *t) { return t ? t->n_vocab : 0; }
int32_t hatch_tokenizer_bos_id(const hatch_tokenizer *t) { return t ? t->bos_id : -1; }
int32_t hatch_tokenizer_eos_id(const hatch_tokenizer *t) { return t ? t->eos_id : -1; }
int32_t hatch_tokenizer_pad_id(const hatch_tokenizer *t) { return t ? t->pad_id : -1; }

int hatch_tokenizer_token_type(const hatch_tokenizer *t, int32_t id) {
  return t && id >= 0 && id < t->n_vocab ? t->tokens[id].type : 0;
}

bool hatch_tokenizer_is_special(const hatch_tokenizer *t, int32_t id) {
  return hatch_tokenizer_token_type(t, id) == HATCH_TOKEN_CONTROL;
}

int32_t hatch_tokenizer_find(const hatch_tokenizer *t, const char *text, size_t len) {
  if (!t || !text) return -1;
  for (int32_t j = 0; j < t->n_added; j++) {
    const hatch_token *tk = &t->tokens[t->added[j]];
    if (tk->text_len == len && memcmp(tk->text, text, len) == 0) return t->added[j];
  }
  return hatch_tok_find_normal(t, text, len);
}

hatch_status hatch_tokenizer_token_bytes(const hatch_tokenizer *t, int32_t id, const char **bytes, size_t *len) {
  if (!t || !bytes || !len || id < 0 || id >= t->n_vocab) return HATCH_ERR_INVALID_ARGUMENT;
  *bytes = (const char *)t->bytes + t->tokens[id].bytes_off;
  *len = t->tokens[id].bytes_len;
  return HATCH_OK;
}

hatch_status hatch_tokenizer_token_text(const hatch_tokenizer *t, int32_t id, const char **text, size_t *len) {
  if (!t || !text || !len || id < 0 || id >= t->n_vocab) return HATCH_ERR_INVALID_ARGUMENT;
  *text = t->tokens[id].text ? t->tokens[id].text : "";
  *len = t->tokens[id].text_len;
  return HATCH_OK;
}

size_t hatch_tokenizer_n_merges(const hatch_tokenizer *t) { return t ? t->n_merges : 0; }

hatch_status hatch_tokenizer_merge(const hatch_tokenizer *t, size_t rank, int32_t *left, int32_t *right) {
  if (!t || !left || !right || rank >= t->n_merges) return HATCH_ERR_INVALID_ARGUMENT;
  *left = t->merge_list[2 * rank];
  *right = t->merge_list[2 * rank + 1];
  return HATCH_OK;
}
