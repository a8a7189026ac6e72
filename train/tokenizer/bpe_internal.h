/* Internals of the BPE trainer (train/tokenizer): the counted pieces and the learned vocabulary,
 * shared by counting, merging and output. */
#ifndef HATCH_BPE_INTERNAL_H
#define HATCH_BPE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "hatch/bpe_train.h"
#include "text/text_internal.h"

typedef struct bpe_word {
  uint64_t hash;   /* of the piece's bytes */
  uint64_t off;    /* bytes in t->piece_bytes */
  int32_t len;     /* bytes, then symbols while merging */
  int32_t next;    /* hash chain; -1 ends */
  int64_t count;   /* occurrences in the corpus */
  int32_t *syms;   /* (len) symbol ids while merging */
} bpe_word;

struct hatch_bpe_trainer {
  hatch_bpe_train_options opt;
  char **specials;      /* (n_specials) copies */
  int n_specials;
  /* counting */
  bpe_word *words;      /* (n_words, words_cap) unique pieces */
  int32_t n_words, words_cap;
  uint8_t *piece_bytes; /* (pb_len, pb_cap) */
  uint64_t pb_len, pb_cap;
  hatch_map64 word_map; /* hash -> first word index of the chain */
  hatch_cps cps, tmp;   /* scratch: units of a segment, NFC */
  uint8_t *buf;         /* (buf_cap) scratch: one piece's bytes */
  size_t buf_cap;
  /* result */
  bool trained;
  int32_t n_tokens;     /* BPE tokens (bytes + merged), specials follow */
  uint8_t *tok_bytes;   /* raw bytes of all tokens */
  uint64_t *tok_off;    /* (n_tokens) */
  int32_t *tok_len;     /* (n_tokens) */
  int32_t (*merges)[2]; /* (n_merges) left, right by rank */
  int32_t n_merges;
};

/* Adds token bytes; returns its id, or -1 out of memory. */
int32_t hatch_bpe_add_token(hatch_bpe_trainer *t, const uint8_t *bytes, int32_t len);

#endif
