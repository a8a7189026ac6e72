/* Fuzz target for the tokenizer. Input starting with '{': a tokenizer.json (must load or fail
 * cleanly; a loaded one must encode and decode without trouble). Otherwise byte 0 picks
 * parse_special and the rest is text for a small built-in byte-level BPE with a special
 * <|im_end|>: the property is byte-level BPE's losslessness, decode(encode(x)) == NFC(x) per
 * segment between special tokens (NFC(x) == x for NFC input; invalid UTF-8 bytes pass through),
 * and streaming decode gives valid UTF-8 that equals the decode when that is valid.
 * libFuzzer entry point; tests/fuzz/replay.c runs the committed corpus through it in every ctest. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hatch/tokenizer.h"

static hatch_tokenizer *g_tok;

static hatch_tokenizer *builtin(void) {
  if (g_tok) return g_tok;
  /* 256 byte symbols, some merges over "the robot turns left", then <|im_end|>. */
  static char bytes[256][5];
  static const char *const extra[] = {"th", "the", "Ġthe", "ro", "rob", "ot", "robot", "Ġrobot", "Ġt", "ur", "Ġtur",
                                      "ns", "Ġturns", "le", "ft", "left", "Ġleft", "<|im_end|>"};
  static const char *const merges[] = {"t h", "th e", "Ġ the", "r o", "ro b", "o t", "rob ot", "Ġ robot", "Ġ t",
                                       "u r", "Ġt ur", "n s", "Ġtur ns", "l e", "f t", "le ft", "Ġ left"};
  enum { N_EXTRA = sizeof(extra) / sizeof(extra[0]), N_MERGES = sizeof(merges) / sizeof(merges[0]) };
  const char *tokens[256 + N_EXTRA];
  int32_t types[256 + N_EXTRA];
  int n = 0;
  for (int b = 0; b < 256; b++) {
    /* GPT-2 bytes_to_unicode */
    int printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174, k = 0;
    for (int x = 0; x < b; x++) k += !((x >= 33 && x <= 126) || (x >= 161 && x <= 172) || x >= 174);
    unsigned cp = printable ? (unsigned)b : 256u + (unsigned)k;
    if (cp < 0x80)
      snprintf(bytes[b], 5, "%c", (char)cp);
    else
      snprintf(bytes[b], 5, "%c%c", (char)(0xC0 | (cp >> 6)), (char)(0x80 | (cp & 0x3F)));
    types[n] = HATCH_TOKEN_NORMAL;
    tokens[n++] = bytes[b];
  }
  for (int i = 0; i < N_EXTRA; i++) {
    types[n] = i == N_EXTRA - 1 ? HATCH_TOKEN_CONTROL : HATCH_TOKEN_NORMAL;
    tokens[n++] = extra[i];
  }
  hatch_tokenizer_arrays arr = {"gpt2", "qwen2", tokens, NULL, (size_t)n, types, merges, NULL, N_MERGES, -1, n - 1, -1};
  if (hatch_tokenizer_from_arrays(&arr, &g_tok, NULL) != HATCH_OK) __builtin_trap();
  return g_tok;
}

/* Well-formed UTF-8 (Unicode table 3-7), checked independently of the library. */
static int valid_utf8_no_raw(const char *s, size_t n) {
  for (size_t i = 0; i < n;) {
    unsigned char b = (unsigned char)s[i];
    size_t len = b < 0x80 ? 1 : b >= 0xC2 && b <= 0xDF ? 2 : b >= 0xE0 && b <= 0xEF ? 3 : b >= 0xF0 && b <= 0xF4 ? 4 : 0;
    if (!len || i + len > n) return 0;
    for (size_t k = 1; k < len; k++)
      if (((unsigned char)s[i + k] & 0xC0) != 0x80) return 0;
    if (len == 3 && b == 0xE0 && (unsigned char)s[i + 1] < 0xA0) return 0;
    if (len == 3 && b == 0xED && (unsigned char)s[i + 1] > 0x9F) return 0;
    if (len == 4 && b == 0xF0 && (unsigned char)s[i + 1] < 0x90) return 0;
    if (len == 4 && b == 0xF4 && (unsigned char)s[i + 1] > 0x8F) return 0;
    i += len;
  }
  return 1;
}

/* NFC of each segment between <|im_end|> occurrences (when special), joined with the token. */
static char *expected(const char *s, size_t n, int special, size_t *out_n) {
  char *out = malloc(4 * n + 16);
  size_t m = 0, start = 0;
  for (size_t i = 0; i <= n; i++) {
    int at_tok = special && i + 10 <= n && memcmp(s + i, "<|im_end|>", 10) == 0;
    if (!at_tok && i < n) continue;
    char *nfc = NULL;
    size_t nl = 0;
    if (hatch_text_nfc(s + start, i - start, &nfc, &nl) != HATCH_OK) __builtin_trap();
    memcpy(out + m, nfc, nl);
    m += nl;
    free(nfc);
    if (at_tok) {
      memcpy(out + m, "<|im_end|>", 10);
      m += 10;
      i += 9;
      start = i + 1;
    }
  }
  *out_n = m;
  return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 0 && data[0] == '{') {
    hatch_tokenizer *tok = NULL;
    hatch_tokenizer_error err;
    if (hatch_tokenizer_from_json((const char *)data, size, &tok, &err) == HATCH_OK) {
      static const char text[] = "Hello <|im_end|> wörld 🤖\n\n  x";
      for (int sp = 0; sp < 2; sp++) {
        int32_t *ids = NULL;
        size_t n = 0;
        char *d = NULL;
        size_t dl = 0;
        if (hatch_tokenizer_encode(tok, text, sizeof(text) - 1, sp, &ids, &n) != HATCH_OK) __builtin_trap();
        if (hatch_tokenizer_decode(tok, ids, n, false, &d, &dl) != HATCH_OK) __builtin_trap();
        free(d);
        free(ids);
      }
    } else if (tok != NULL) {
      __builtin_trap();
    }
    hatch_tokenizer_destroy(tok);
    return 0;
  }
  if (size == 0) return 0;
  hatch_tokenizer *tok = builtin();
  int special = data[0] & 1;
  const char *text = (const char *)data + 1;
  size_t n = size - 1;
  int32_t *ids = NULL;
  size_t n_ids = 0;
  if (hatch_tokenizer_encode(tok, text, n, special, &ids, &n_ids) != HATCH_OK) __builtin_trap();
  char *dec = NULL;
  size_t dl = 0;
  if (hatch_tokenizer_decode(tok, ids, n_ids, false, &dec, &dl) != HATCH_OK) __builtin_trap();
  size_t en = 0;
  char *exp = expected(text, n, special, &en);
  if (dl != en || memcmp(dec, exp, dl) != 0) __builtin_trap(); /* lossless */
  hatch_detok_stream *s = NULL;
  if (hatch_detok_stream_create(tok, false, &s) != HATCH_OK) __builtin_trap();
  char *streamed = malloc(3 * dl + 16);
  size_t sm = 0;
  for (size_t i = 0; i <= n_ids; i++) {
    const char *piece;
    size_t pl;
    hatch_status st = i < n_ids ? hatch_detok_stream_push(s, ids[i], &piece, &pl) : hatch_detok_stream_flush(s, &piece, &pl);
    if (st != HATCH_OK || !valid_utf8_no_raw(piece, pl)) __builtin_trap();
    memcpy(streamed + sm, piece, pl);
    sm += pl;
  }
  if (valid_utf8_no_raw(dec, dl) && (sm != dl || memcmp(streamed, dec, dl) != 0)) __builtin_trap();
  hatch_detok_stream_destroy(s);
  free(streamed);
  free(exp);
  free(dec);
  free(ids);
  return 0;
}
