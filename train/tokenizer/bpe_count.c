/* BPE training, part 1: the trainer object and counting pieces exactly as the runtime's encoder
 * splits text (special tokens out, NFC, Qwen2 pre-tokenizer, UTF-8 bytes). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer/bpe_internal.h"

#define MAX_FEED_BYTES ((size_t)1 << 31)

const char *const hatch_bpe_qwen_specials[HATCH_BPE_N_QWEN_SPECIALS] = {
    "<|endoftext|>",  "<|im_start|>",  "<|im_end|>",  "<|vision_start|>",
    "<|vision_end|>", "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>"};

static void report_set(hatch_bpe_report *r, const char *msg) {
  if (r) snprintf(r->message, sizeof r->message, "%s", msg);
}

hatch_status hatch_bpe_trainer_create(const hatch_bpe_train_options *opt, hatch_bpe_trainer **out,
                                      hatch_bpe_report *report) {
  if (report) report->message[0] = '\0';
  if (!opt || !out) return HATCH_ERR_INVALID_ARGUMENT;
  *out = NULL;
  const char *const *sp = opt->specials ? opt->specials : hatch_bpe_qwen_specials;
  int n_sp = opt->specials ? opt->n_specials : HATCH_BPE_N_QWEN_SPECIALS;
  if (n_sp < 0 || n_sp > 1024) return report_set(report, "special tokens: count out of range"), HATCH_ERR_INVALID_ARGUMENT;
  if (opt->vocab_size < 256 + n_sp || opt->vocab_size > HATCH_TOKENIZER_MAX_VOCAB) {
    if (report)
      snprintf(report->message, sizeof report->message, "vocab_size %d: must be in [%d, %d] (256 bytes + %d special tokens)",
               opt->vocab_size, 256 + n_sp, HATCH_TOKENIZER_MAX_VOCAB, n_sp);
    return HATCH_ERR_INVALID_ARGUMENT;
  }
  for (int i = 0; i < n_sp; i++) {
    size_t len = sp[i] ? strlen(sp[i]) : 0;
    if (len == 0 || len > 256) return report_set(report, "special tokens: empty or longer than 256 bytes"), HATCH_ERR_INVALID_ARGUMENT;
    for (int j = 0; j < i; j++)
      if (strcmp(sp[i], sp[j]) == 0) {
        if (report) snprintf(report->message, sizeof report->message, "special token '%.64s' given twice", sp[i]);
        return HATCH_ERR_INVALID_ARGUMENT;
      }
  }
  hatch_bpe_trainer *t = calloc(1, sizeof *t);
  if (!t) return HATCH_ERR_OUT_OF_MEMORY;
  t->opt = *opt;
  if (t->opt.max_token_bytes <= 0) t->opt.max_token_bytes = 64;
  t->opt.specials = NULL;
  hatch_status st = HATCH_ERR_OUT_OF_MEMORY;
  if (!(t->specials = calloc((size_t)(n_sp ? n_sp : 1), sizeof *t->specials))) goto destroy_trainer;
  t->n_specials = n_sp;
  for (int i = 0; i < n_sp; i++)
    if (!(t->specials[i] = strdup(sp[i]))) goto destroy_trainer;
  if ((st = hatch_map64_init(&t->word_map, 1024)) != HATCH_OK) goto destroy_trainer;
  *out = t;
  return HATCH_OK;
destroy_trainer:
  hatch_bpe_trainer_destroy(t);
  return st;
}

void hatch_bpe_trainer_destroy(hatch_bpe_trainer *t) {
  if (!t) return;
  for (int i = 0; t->specials && i < t->n_specials; i++) free(t->specials[i]);
  free(t->specials);
  for (int32_t i = 0; i < t->n_words; i++) free(t->words[i].syms);
  free(t->words);
  free(t->piece_bytes);
  hatch_map64_free(&t->word_map);
  hatch_cps_free(&t->cps);
  hatch_cps_free(&t->tmp);
  free(t->buf);
  free(t->tok_bytes);
  free(t->tok_off);
  free(t->tok_len);
  free(t->merges);
  free(t);
}

/* Counts one piece (bytes). */
static hatch_status count_piece(hatch_bpe_trainer *t, const uint8_t *b, size_t n) {
  if (n > INT32_MAX / 2) return HATCH_ERR_TOO_LARGE;
  uint64_t h = hatch_hash_bytes(b, n), head;
  int32_t first = hatch_map64_get(&t->word_map, h, &head) ? (int32_t)head : -1;
  for (int32_t w = first; w >= 0; w = t->words[w].next)
    if (t->words[w].hash == h && (size_t)t->words[w].len == n && memcmp(t->piece_bytes + t->words[w].off, b, n) == 0) {
      t->words[w].count++;
      return HATCH_OK;
    }
  if (t->n_words == t->words_cap) {
    if (t->words_cap > INT32_MAX / 4) return HATCH_ERR_TOO_LARGE;
    int32_t cap = t->words_cap ? 2 * t->words_cap : 1024;
    bpe_word *w = realloc(t->words, (size_t)cap * sizeof *w);
    if (!w) return HATCH_ERR_OUT_OF_MEMORY;
    t->words = w, t->words_cap = cap;
  }
  if (t->pb_len + n > t->pb_cap) {
    uint64_t cap = t->pb_cap ? t->pb_cap : 1 << 16;
    while (cap < t->pb_len + n) cap *= 2;
    uint8_t *p = realloc(t->piece_bytes, (size_t)cap);
    if (!p) return HATCH_ERR_OUT_OF_MEMORY;
    t->piece_bytes = p, t->pb_cap = cap;
  }
  memcpy(t->piece_bytes + t->pb_len, b, n);
  t->words[t->n_words] = (bpe_word){h, t->pb_len, (int32_t)n, first, 1, NULL};
  t->pb_len += n;
  hatch_status st = hatch_map64_put(&t->word_map, h, (uint64_t)t->n_words);
  if (st != HATCH_OK) return st;
  t->n_words++;
  return HATCH_OK;
}

static hatch_status emit_piece(void *ctx, size_t start, size_t end) {
  hatch_bpe_trainer *t = ctx;
  size_t need = 4 * (end - start);
  if (need > t->buf_cap) {
    uint8_t *b = realloc(t->buf, need);
    if (!b) return HATCH_ERR_OUT_OF_MEMORY;
    t->buf = b, t->buf_cap = need;
  }
  size_t n = 0;
  for (size_t i = start; i < end; i++) n += (size_t)hatch_utf8_put(t->cps.v[i], t->buf + n);
  return count_piece(t, t->buf, n);
}

/* One segment without special tokens: NFC, pre-tokenize, count. */
static hatch_status feed_segment(hatch_bpe_trainer *t, const uint8_t *s, size_t n) {
  if (n == 0) return HATCH_OK;
  t->cps.n = 0;
  hatch_status st = hatch_utf8_decode(s, n, &t->cps);
  if (st == HATCH_OK && !hatch_uc_nfc_quick(s, n)) st = hatch_uc_nfc(&t->cps, &t->tmp);
  if (st == HATCH_OK) st = hatch_pretokenize_qwen2(t->cps.v, t->cps.n, emit_piece, t);
  return st;
}

hatch_status hatch_bpe_trainer_feed(hatch_bpe_trainer *t, const char *text, size_t len) {
  if (!t || (!text && len) || t->trained) return HATCH_ERR_INVALID_ARGUMENT;
  const uint8_t *s = (const uint8_t *)text;
  size_t seg = 0;
  for (size_t i = 0; i < len; i++) { /* leftmost, then longest special token */
    size_t best = 0;
    for (int k = 0; k < t->n_specials; k++) {
      const char *sp = t->specials[k];
      if ((uint8_t)sp[0] != s[i]) continue;
      size_t sl = strlen(sp);
      if (sl > best && sl <= len - i && memcmp(s + i, sp, sl) == 0) best = sl;
    }
    if (!best) continue;
    hatch_status st = feed_segment(t, s + seg, i - seg);
    if (st != HATCH_OK) return st;
    i += best - 1;
    seg = i + 1;
  }
  return feed_segment(t, s + seg, len - seg);
}

hatch_status hatch_bpe_trainer_feed_file(hatch_bpe_trainer *t, const char *path, hatch_bpe_report *report) {
  if (report) report->message[0] = '\0';
  if (!t || !path) return HATCH_ERR_INVALID_ARGUMENT;
  FILE *f = fopen(path, "rb");
  if (!f) {
    if (report) snprintf(report->message, sizeof report->message, "%.200s: cannot open (%s)", path, strerror(errno));
    return errno == ENOENT ? HATCH_ERR_NOT_FOUND : HATCH_ERR_IO;
  }
  hatch_status st = HATCH_ERR_IO;
  char *buf = NULL;
  long size = -1;
  if (fseek(f, 0, SEEK_END) == 0) size = ftell(f);
  if (size < 0 || fseek(f, 0, SEEK_SET) != 0) {
    if (report) snprintf(report->message, sizeof report->message, "%.200s: cannot read", path);
    goto close_file;
  }
  if ((size_t)size > MAX_FEED_BYTES) {
    if (report) snprintf(report->message, sizeof report->message, "%.200s: %ld bytes, past the 2 GiB limit", path, size);
    st = HATCH_ERR_TOO_LARGE;
    goto close_file;
  }
  if (!(buf = malloc((size_t)size + 1))) {
    st = HATCH_ERR_OUT_OF_MEMORY;
    goto close_file;
  }
  if (fread(buf, 1, (size_t)size, f) != (size_t)size) {
    if (report) snprintf(report->message, sizeof report->message, "%.200s: short read", path);
    goto free_buf;
  }
  st = hatch_bpe_trainer_feed(t, buf, (size_t)size);
  if (st != HATCH_OK && report) snprintf(report->message, sizeof report->message, "%.200s: %s", path, hatch_status_message(st));
free_buf:
  free(buf);
close_file:
  fclose(f);
  return st;
}
