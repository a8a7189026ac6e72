/* Internals of the tokenizer (runtime/text): Unicode tables and helpers, the Qwen2 pre-tokenizer
 * scanner, the BPE merge core and the tokenizer struct shared by the loaders. Not a public API;
 * tests include it to check the pieces one by one. */
#ifndef HATCH_TEXT_INTERNAL_H
#define HATCH_TEXT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hatch/status.h"
#include "hatch/tokenizer.h"

/* ---- Unicode (unicode.c, unicode_tables.c) ----------------------------------------------------- */

typedef struct hatch_uc_range {
  uint32_t first, last; /* inclusive */
  uint32_t value;
} hatch_uc_range;
typedef struct hatch_uc_decomp {
  uint32_t cp;
  uint32_t offset, len; /* into hatch_uc_decomp_pool */
} hatch_uc_decomp;
typedef struct hatch_uc_comp {
  uint32_t first, second, composite;
} hatch_uc_comp;

extern const char hatch_uc_version[];
extern const hatch_uc_range hatch_uc_class_ranges[];
extern const int hatch_uc_n_class_ranges;
extern const hatch_uc_range hatch_uc_ccc_ranges[];
extern const int hatch_uc_n_ccc_ranges;
extern const hatch_uc_decomp hatch_uc_decomps[];
extern const int hatch_uc_n_decomps;
extern const uint32_t hatch_uc_decomp_pool[];
extern const hatch_uc_comp hatch_uc_comps[];
extern const int hatch_uc_n_comps;

enum { HATCH_UC_LETTER = 1, HATCH_UC_NUMBER = 2, HATCH_UC_SPACE = 4 };

/* Invalid UTF-8 passes through as "raw byte" units: code point HATCH_UC_RAW_BYTE + byte. They have
 * no class, combining class 0, never decompose or compose, and encode back to the one byte. */
#define HATCH_UC_RAW_BYTE 0x110000u

/* Decodes one unit at s[0..n): a well-formed UTF-8 sequence (no overlongs, surrogates or values
 * past U+10FFFF) gives its code point, anything else one raw-byte unit. *len = bytes used (>= 1). */
uint32_t hatch_utf8_next(const uint8_t *s, size_t n, size_t *len);
/* Writes the unit's bytes (1-4) to out; returns the count. */
int hatch_utf8_put(uint32_t cp, uint8_t *out);
/* Class bits of a unit (0 for raw bytes). */
unsigned hatch_uc_class(uint32_t cp);
unsigned hatch_uc_ccc(uint32_t cp);

/* Code-point buffer. */
typedef struct hatch_cps {
  uint32_t *v; /* (n) */
  size_t n, cap;
} hatch_cps;
hatch_status hatch_cps_reserve(hatch_cps *b, size_t n);
void hatch_cps_free(hatch_cps *b);

/* Decodes bytes into units (appending to out). */
hatch_status hatch_utf8_decode(const uint8_t *s, size_t n, hatch_cps *out);
/* NFC of units in place: cps->v is rewritten (it may grow and shrink). tmp is scratch. */
hatch_status hatch_uc_nfc(hatch_cps *cps, hatch_cps *tmp);
/* True when the bytes are already NFC for sure (a fast check; false means "maybe"). */
bool hatch_uc_nfc_quick(const uint8_t *s, size_t n);

/* ---- Qwen2 pre-tokenizer (pretokenize.c) ----------------------------------------------------- */

/* Splits units [0, n) as the Qwen2 Split regex does (Isolated): calls emit(ctx, start, end) for
 * each piece in order, pieces covering the input. Stops at the first non-OK status from emit. */
typedef hatch_status (*hatch_piece_fn)(void *ctx, size_t start, size_t end);
hatch_status hatch_pretokenize_qwen2(const uint32_t *cps, size_t n, hatch_piece_fn emit, void *ctx);

/* ---- BPE core (bpe.c) -------------------------------------------------------------------------- */

/* Open-addressing map from a 64-bit key to a 64-bit value. */
typedef struct hatch_map64 {
  uint64_t *keys, *vals; /* (cap) */
  uint8_t *used;         /* (cap) */
  size_t cap, n;
} hatch_map64;
hatch_status hatch_map64_init(hatch_map64 *m, size_t expected);
/* Inserts or overwrites. */
hatch_status hatch_map64_put(hatch_map64 *m, uint64_t key, uint64_t val);
bool hatch_map64_get(const hatch_map64 *m, uint64_t key, uint64_t *val);
void hatch_map64_free(hatch_map64 *m);

uint64_t hatch_hash_bytes(const void *p, size_t n);

/* Per-call scratch for merging one word. */
typedef struct hatch_bpe_scratch {
  struct hatch_bpe_sym *syms; /* (cap) */
  struct hatch_bpe_item *heap;/* (heap_cap) */
  size_t cap, heap_cap;
} hatch_bpe_scratch;
void hatch_bpe_scratch_free(hatch_bpe_scratch *s);

/* Merges a word given as initial symbol ids (n) by merge rank, lowest rank first and leftmost among
 * equals (as tokenizers' BPE does). merges: key (left << 32 | right) -> (rank << 32 | merged id).
 * Appends the resulting ids to out. */
hatch_status hatch_bpe_merge_word(const hatch_map64 *merges, const int32_t *ids, size_t n,
                                  hatch_bpe_scratch *s, int32_t **out, size_t *n_out, size_t *cap_out);

/* GPT-2's bytes_to_unicode: the code point byte b is written as in byte-level tokens. */
uint32_t hatch_byte_to_unicode(uint8_t b);
/* The inverse; -1 for a code point no byte maps to. */
int hatch_unicode_to_byte(uint32_t cp);

/* ---- the tokenizer (tokenizer.c) ------------------------------------------------------------- */

typedef struct hatch_token {
  char *text;       /* stored form: the byte-level string for NORMAL, the content for added tokens */
  uint32_t text_len;
  uint32_t bytes_off, bytes_len; /* decoded bytes in tok->bytes */
  uint8_t type;     /* hatch_token_type */
  uint8_t added;    /* matched in the text before pre-tokenization */
  uint8_t normalized; /* added token matched in the NFC text (true) or the raw text (false) */
  uint8_t in_vocab; /* a BPE vocab entry: merges may use it and produce it */
} hatch_token;

struct hatch_tokenizer {
  hatch_token *tokens; /* (n_vocab) */
  int32_t n_vocab;
  hatch_map64 vocab;   /* hash(byte-level string) -> id chain head, NORMAL tokens */
  int32_t *vocab_next; /* (n_vocab) hash collision chain */
  hatch_map64 merges;  /* (left << 32 | right) -> (rank << 32 | merged id) */
  int32_t *merge_list; /* (n_merges, 2) left and right ids by rank, as given */
  uint32_t n_merges, merges_cap;
  int32_t byte_ids[256];
  uint8_t *bytes;      /* decoded bytes of all tokens */
  size_t bytes_len;
  int32_t *added;      /* ids of added tokens by (normalized, first byte, longest content first) */
  int32_t n_added;
  int32_t added_start[513]; /* added[added_start[k] .. added_start[k + 1]) have key k =
                               normalized * 256 + first byte of the content */
  bool has_normalized_added;
  bool nfc;
  bool ignore_merges;
  int32_t bos_id, eos_id, pad_id;
};

/* Builder used by both loaders: tokenizer with n_vocab empty (UNUSED) slots. */
hatch_status hatch_tok_alloc(int32_t n_vocab, hatch_tokenizer **out);
/* Sets slot id (text copied; must be valid UTF-8 and non-empty). */
hatch_status hatch_tok_set(hatch_tokenizer *t, int32_t id, const char *text, size_t len, int type, bool added,
                           bool normalized, hatch_tokenizer_error *err, const char *where);
/* Builds the vocab map over in_vocab tokens and checks it (unique strings, all 256 byte symbols).
 * Call before merges. */
hatch_status hatch_tok_index(hatch_tokenizer *t, hatch_tokenizer_error *err, const char *where);
/* Adds merge number rank: left + right -> the token spelled left+right. */
hatch_status hatch_tok_add_merge(hatch_tokenizer *t, uint32_t rank, const char *left, size_t left_len,
                                 const char *right, size_t right_len, hatch_tokenizer_error *err,
                                 const char *where);
/* Decoded bytes, added-token index; checks bos/eos/pad. */
hatch_status hatch_tok_finish(hatch_tokenizer *t, hatch_tokenizer_error *err);
/* Appends the ids of text to *ids (n used, cap allocated; realloc'd): encode's core, which the
 * chat encoder calls once per part. */
hatch_status hatch_tok_encode_append(const hatch_tokenizer *tok, const char *text, size_t len, bool parse_special,
                                     int32_t **ids, size_t *n, size_t *cap);
int32_t hatch_tok_find_normal(const hatch_tokenizer *t, const char *text, size_t len);

void hatch_tok_errorf(hatch_tokenizer_error *err, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

#endif
