/* Training a byte-level BPE tokenizer of the Qwen2 kind on a text corpus, for the small models
 * trained here.
 *
 * The text goes through exactly what the runtime's encoder does (hatch/tokenizer.h): special
 * tokens are cut out, every other segment is NFC-normalized, split by the Qwen2 pre-tokenizer and
 * mapped to bytes. Unique pieces are counted; merges are learned greedily: at each step the most
 * frequent adjacent pair over all pieces (weighted by count) is merged, ties broken by the
 * smaller (left id, right id), so the same corpus always gives the same merges (the order the
 * text is fed in does not change the counts). Ids: the 256 byte
 * symbols first (id = byte value), then merged tokens in merge order, then the special tokens.
 *
 * Output: a Hugging Face tokenizer.json (NFC normalizer, Qwen2 Split + ByteLevel pre-tokenizer,
 * BPE model, ByteLevel decoder, added_tokens) that hatch_tokenizer_load_json and HF tokenizers
 * read, and the GGUF tokenizer.ggml.* keys through hatch_bpe_gguf_add_metadata. */
#ifndef HATCH_BPE_TRAIN_H
#define HATCH_BPE_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "hatch/gguf.h"
#include "hatch/status.h"
#include "hatch/tokenizer.h"

/* Qwen2.5-VL's special tokens, appended in this order as CONTROL added tokens. */
#define HATCH_BPE_N_QWEN_SPECIALS 8
extern const char *const hatch_bpe_qwen_specials[HATCH_BPE_N_QWEN_SPECIALS];

typedef struct hatch_bpe_train_options {
  int32_t vocab_size;   /* total ids INCLUDING the special tokens (the model's n_vocab); >= 256 + n_special */
  int64_t min_frequency;/* stop when the best pair occurs fewer times (<= 1: never stop early) */
  const char *const *specials; /* NULL: hatch_bpe_qwen_specials */
  int n_specials;
  int32_t max_token_bytes; /* a merge whose token would be longer is skipped; <= 0: 64 */
} hatch_bpe_train_options;

typedef struct hatch_bpe_report {
  char message[256]; /* names the file / field */
} hatch_bpe_report;

typedef struct hatch_bpe_trainer hatch_bpe_trainer;

/* opt is copied (the special token strings too). Bad options: HATCH_ERR_INVALID_ARGUMENT.
 * *out owned by the caller: hatch_bpe_trainer_destroy. */
hatch_status hatch_bpe_trainer_create(const hatch_bpe_train_options *opt, hatch_bpe_trainer **out,
                                      hatch_bpe_report *report);
void hatch_bpe_trainer_destroy(hatch_bpe_trainer *t); /* accepts NULL */

/* Counts the pieces of text (any bytes). May be called many times before train. */
hatch_status hatch_bpe_trainer_feed(hatch_bpe_trainer *t, const char *text, size_t len);
/* Feeds a whole file. HATCH_ERR_NOT_FOUND / IO naming the file. */
hatch_status hatch_bpe_trainer_feed_file(hatch_bpe_trainer *t, const char *path, hatch_bpe_report *report);

/* Learns the merges (once; feeding after training is HATCH_ERR_INVALID_ARGUMENT). Stops early when
 * no pair is left or the best is below min_frequency: the vocab is then smaller than asked, and
 * the special tokens follow the last merged token. */
hatch_status hatch_bpe_trainer_train(hatch_bpe_trainer *t);

/* After train: sizes. */
int32_t hatch_bpe_trainer_n_vocab(const hatch_bpe_trainer *t);  /* including specials */
int32_t hatch_bpe_trainer_n_merges(const hatch_bpe_trainer *t);
int64_t hatch_bpe_trainer_n_pieces(const hatch_bpe_trainer *t); /* unique pieces counted */

/* After train: the tokenizer.json text (*out malloc'd, NUL-terminated) or a file (crash-safe). */
hatch_status hatch_bpe_trainer_to_json(const hatch_bpe_trainer *t, char **out, size_t *len);
hatch_status hatch_bpe_trainer_write_json(const hatch_bpe_trainer *t, const char *path, hatch_bpe_report *report);
/* After train: the runtime tokenizer (loaded from the JSON text, so it is exactly what the file
 * gives). *out: hatch_tokenizer_destroy. */
hatch_status hatch_bpe_trainer_tokenizer(const hatch_bpe_trainer *t, hatch_tokenizer **out, hatch_bpe_report *report);

/* For hatch_qwen25vl_write_options.add_metadata: writes tok's tokenizer.ggml.* keys (the runtime's
 * hatch_gguf_add_tokenizer), padded with UNUSED tokens to n_vocab (the model's embedding rows;
 * 0 = the tokenizer's own size). user: a hatch_bpe_gguf_meta. */
typedef struct hatch_bpe_gguf_meta {
  const hatch_tokenizer *tok;
  int64_t n_vocab;
} hatch_bpe_gguf_meta;
hatch_status hatch_bpe_gguf_add_metadata(void *user, hatch_gguf_writer *w);

#endif
