/* The Qwen2 pre-tokenizer: Split with the regex
 *   (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
 * behavior Isolated, as a hand-written scanner over units. At each position the alternatives are
 * tried in order (leftmost-first, as Oniguruma and Rust's regex do), each greedy with the
 * backtracking the regex engine would do worked out by hand below. Every unit is matched by some
 * alternative, so the pieces cover the input. Raw invalid bytes have no class: they count as
 * "other" (like punctuation). */
#include "text/text_internal.h"

static inline bool is_l(uint32_t c) { return hatch_uc_class(c) & HATCH_UC_LETTER; }
static inline bool is_n(uint32_t c) { return hatch_uc_class(c) & HATCH_UC_NUMBER; }
static inline bool is_s(uint32_t c) { return hatch_uc_class(c) & HATCH_UC_SPACE; }
static inline bool is_crlf(uint32_t c) { return c == '\r' || c == '\n'; }

/* Simple case folding onto the ASCII letters the contractions use: U+017F (long s) folds to 's'. */
static uint32_t fold(uint32_t c) {
  if (c >= 'A' && c <= 'Z') return c + 32;
  if (c == 0x17F) return 's';
  return c;
}

/* (?i:'s|'t|'re|'ve|'m|'ll|'d): length matched at i, or 0. */
static size_t contraction(const uint32_t *c, size_t n, size_t i) {
  if (c[i] != '\'' || i + 1 >= n) return 0;
  uint32_t a = fold(c[i + 1]);
  if (a == 's' || a == 't' || a == 'm' || a == 'd') return 2;
  if (i + 2 >= n) return 0;
  uint32_t b = fold(c[i + 2]);
  if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return 3;
  return 0;
}

/* One piece starting at i (i < n); returns its end. */
static size_t next_piece(const uint32_t *c, size_t n, size_t i) {
  size_t m = contraction(c, n, i);
  if (m) return i + m;

  /* [^\r\n\p{L}\p{N}]?\p{L}+ : a letter run, optionally led by one other non-newline unit. */
  size_t j = i;
  if (!is_l(c[j]) && !is_n(c[j]) && !is_crlf(c[j]) && j + 1 < n && is_l(c[j + 1])) j++;
  if (is_l(c[j])) {
    while (j < n && is_l(c[j])) j++;
    return j;
  }

  /* \p{N} : one number unit. */
  if (is_n(c[i])) return i + 1;

  /* ` ?[^\s\p{L}\p{N}]+[\r\n]*` */
  j = i;
  if (c[j] == ' ' && j + 1 < n) j++;
  if (!is_s(c[j]) && !is_l(c[j]) && !is_n(c[j])) {
    while (j < n && !is_s(c[j]) && !is_l(c[j]) && !is_n(c[j])) j++;
    while (j < n && is_crlf(c[j])) j++;
    return j;
  }

  /* What is left starts with whitespace (every other unit matched above). */
  size_t end = i;
  while (end < n && is_s(c[end])) end++;
  /* \s*[\r\n]+ : up to the last newline in the whitespace run. */
  for (size_t k = end; k > i; k--)
    if (is_crlf(c[k - 1])) return k;
  /* \s+(?!\S) : the run, less its last unit when a non-space follows (if that leaves any). */
  if (end == n) return end;
  if (end - i >= 2) return end - 1;
  /* \s+ */
  return end;
}

hatch_status hatch_pretokenize_qwen2(const uint32_t *cps, size_t n, hatch_piece_fn emit, void *ctx) {
  size_t i = 0;
  while (i < n) {
    size_t end = next_piece(cps, n, i);
    hatch_status st = emit(ctx, i, end);
    if (st != HATCH_OK) return st;
    i = end;
  }
  return HATCH_OK;
}
