/* The byte-level BPE tokenizer of Qwen2 / Qwen2.5-VL, and Qwen2.5-VL's chat template.
 *
 * Encoding follows Hugging Face tokenizers with Qwen2's tokenizer.json: added tokens are split out of
 * the text first (leftmost, longest match), every other segment is NFC-normalized, split by the
 * Qwen2 regex (a hand-written scanner), mapped to byte-level symbols and merged by BPE rank.
 * Decoding maps tokens back to bytes. A tokenizer is immutable once made: encode/decode may run on
 * several threads at once.
 *
 * Input bytes that are not well-formed UTF-8 are NOT replaced: each such byte passes through the
 * byte-level BPE unchanged (as a symbol of no class), so decode(encode(x)) gives x back byte for
 * byte whenever x is NFC (and no added token is matched). HF tokenizers only sees valid Python str;
 * on valid UTF-8 the ids are the same.
 *
 * Unicode data (letter/number classes, NFC) is Unicode 14.0 (tools/gen_unicode_tables.py). Known
 * differences from HF tokenizers 0.22: its regex (Oniguruma) classes letters/numbers by Unicode 16,
 * so characters assigned after 14.0 may split differently; its NFC (unicode-normalization-
 * alignments) lacks the combining classes of ~50 marks added after Unicode 9 (e.g. U+07FD, U+0C3C,
 * U+11D45), so HF leaves them unordered next to other marks where this reorders them. */
#ifndef HATCH_TOKENIZER_H
#define HATCH_TOKENIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hatch/status.h"

typedef struct hatch_tokenizer hatch_tokenizer;

/* Token types: llama.cpp's values (GGUF tokenizer.ggml.token_type). */
typedef enum hatch_token_type {
  HATCH_TOKEN_NORMAL = 1,       /* a BPE vocab entry (byte-level string) */
  HATCH_TOKEN_UNKNOWN = 2,      /* not used by byte-level BPE: rejected */
  HATCH_TOKEN_CONTROL = 3,      /* special added token (<|im_start|>): matched only with parse_special */
  HATCH_TOKEN_USER_DEFINED = 4, /* non-special added token (<tool_call>): always matched */
  HATCH_TOKEN_UNUSED = 5,       /* padding slot: never produced, decodes to nothing */
  HATCH_TOKEN_BYTE = 6,         /* sentencepiece byte fallback: rejected */
} hatch_token_type;

/* Limits every loader enforces. */
#define HATCH_TOKENIZER_MAX_VOCAB (1 << 20)
#define HATCH_TOKENIZER_MAX_MERGES (1 << 22)
#define HATCH_TOKENIZER_MAX_TOKEN_BYTES 4096

typedef struct hatch_tokenizer_error {
  char message[256]; /* names the field, e.g. "model.merges[12]: 'Ġ' + 'x' is not in model.vocab"; "" when none */
} hatch_tokenizer_error;

/* ---- loading ----------------------------------------------------------------------------------- */

/* Loads a Hugging Face tokenizer.json of the Qwen2 kind (normalizer NFC or null; pre_tokenizer
 * Sequence[Split(Qwen2 regex, Isolated), ByteLevel(add_prefix_space false, use_regex false)];
 * model BPE with merges as "a b" strings or [a, b] pairs; decoder ByteLevel; added_tokens).
 * Anything else fails: HATCH_ERR_CORRUPT for malformed or inconsistent data, HATCH_ERR_UNSUPPORTED
 * for a valid but different configuration, HATCH_ERR_TOO_LARGE past the limits above; err (may be
 * NULL) names the field. bos_id = -1; eos_id = <|im_end|> (else <|endoftext|>), pad_id =
 * <|endoftext|>, as Qwen2.5-VL-Instruct's configs set them; -1 when absent.
 * *out is owned by the caller: hatch_tokenizer_destroy. */
hatch_status hatch_tokenizer_load_json(const char *path, hatch_tokenizer **out, hatch_tokenizer_error *err);
hatch_status hatch_tokenizer_from_json(const char *json, size_t len, hatch_tokenizer **out,
                                       hatch_tokenizer_error *err);

/* The tokenizer as GGUF stores it (llama.cpp's tokenizer.ggml.* keys). Strings are given with
 * lengths (GGUF strings are not NUL-terminated); a NULL lens array means NUL-terminated strings. */
typedef struct hatch_tokenizer_arrays {
  const char *model;              /* tokenizer.ggml.model: must be "gpt2" */
  const char *pre;                /* tokenizer.ggml.pre: "qwen2" (NULL is taken as "qwen2") */
  const char *const *tokens;      /* (n_tokens) tokenizer.ggml.tokens, index = id */
  const size_t *token_lens;       /* (n_tokens) or NULL */
  size_t n_tokens;
  const int32_t *token_types;     /* (n_tokens) tokenizer.ggml.token_type, hatch_token_type; NULL = all NORMAL */
  const char *const *merges;      /* (n_merges) tokenizer.ggml.merges, "left right", rank = index */
  const size_t *merge_lens;       /* (n_merges) or NULL */
  size_t n_merges;
  int32_t bos_id, eos_id, pad_id; /* tokenizer.ggml.{bos,eos,padding}_token_id; -1 = none */
} hatch_tokenizer_arrays;

/* Same checks and errors as the JSON loader (field names are the GGUF keys). The arrays are copied. */
hatch_status hatch_tokenizer_from_arrays(const hatch_tokenizer_arrays *arrays, hatch_tokenizer **out,
                                         hatch_tokenizer_error *err);

/* Accepts NULL. */
void hatch_tokenizer_destroy(hatch_tokenizer *tok);

/* ---- queries ----------------------------------------------------------------------------------- */

int32_t hatch_tokenizer_n_vocab(const hatch_tokenizer *tok);
int32_t hatch_tokenizer_bos_id(const hatch_tokenizer *tok); /* -1 when none */
int32_t hatch_tokenizer_eos_id(const hatch_tokenizer *tok);
int32_t hatch_tokenizer_pad_id(const hatch_tokenizer *tok);
/* HATCH_TOKEN_* of id; 0 when id is out of range. */
int hatch_tokenizer_token_type(const hatch_tokenizer *tok, int32_t id);
/* True for CONTROL tokens (the ones skip_special drops). */
bool hatch_tokenizer_is_special(const hatch_tokenizer *tok, int32_t id);
/* Id of an added token by content ("<|im_end|>") or a NORMAL token by its byte-level string
 * ("Ġthe"); -1 when none. */
int32_t hatch_tokenizer_find(const hatch_tokenizer *tok, const char *text, size_t len);
/* The bytes id decodes to (not NUL-terminated; may be a partial UTF-8 sequence), valid for the
 * tokenizer's life. HATCH_ERR_INVALID_ARGUMENT when id is out of range. */
hatch_status hatch_tokenizer_token_bytes(const hatch_tokenizer *tok, int32_t id, const char **bytes, size_t *len);

/* The token as stored (what GGUF's tokenizer.ggml.tokens holds): the byte-level string of a NORMAL
 * token ("Ġthe"), the content of an added one; "" for an empty slot. NUL-terminated, valid for the
 * tokenizer's life. */
hatch_status hatch_tokenizer_token_text(const hatch_tokenizer *tok, int32_t id, const char **text, size_t *len);
/* Merges by rank, as loaded: tokenizer.ggml.merges[rank] is text(left) + " " + text(right). */
size_t hatch_tokenizer_n_merges(const hatch_tokenizer *tok);
hatch_status hatch_tokenizer_merge(const hatch_tokenizer *tok, size_t rank, int32_t *left, int32_t *right);

/* ---- encode / decode --------------------------------------------------------------------------- */

/* text (len bytes, any bytes) -> *ids (malloc'd, caller frees with free(); NULL when *n_ids == 0).
 * parse_special = true: CONTROL tokens written in the text become their ids (HF's default);
 * false: their text is tokenized like any other (HF's encode_special_tokens = True) - use false for
 * user content so a question cannot inject <|im_end|>. USER_DEFINED tokens are matched either way,
 * as in HF. No BOS/EOS is added. */
hatch_status hatch_tokenizer_encode(const hatch_tokenizer *tok, const char *text, size_t len, bool parse_special,
                                    int32_t **ids, size_t *n_ids);

/* ids -> the bytes they stand for, concatenated (*out malloc'd and NUL-terminated, *out_len without
 * the NUL; caller frees). The bytes are not repaired: a cut-off UTF-8 sequence stays cut off (HF
 * replaces it with U+FFFD). skip_special drops CONTROL tokens. An id out of range is
 * HATCH_ERR_INVALID_ARGUMENT. */
hatch_status hatch_tokenizer_decode(const hatch_tokenizer *tok, const int32_t *ids, size_t n_ids, bool skip_special,
                                    char **out, size_t *out_len);

/* Streaming decode for printing tokens as they come: each push returns only complete UTF-8
 * sequences; bytes of a sequence still open wait for the next token. A byte that can never start
 * or continue a valid sequence comes out as U+FFFD (as Rust's from_utf8_lossy), so the output is
 * always valid UTF-8. */
typedef struct hatch_detok_stream hatch_detok_stream;
hatch_status hatch_detok_stream_create(const hatch_tokenizer *tok, bool skip_special, hatch_detok_stream **out);
/* *text points into the stream (valid until the next call), *len may be 0. */
hatch_status hatch_detok_stream_push(hatch_detok_stream *s, int32_t id, const char **text, size_t *len);
/* Emits what is left (an unfinished sequence as U+FFFD) and resets the stream. */
hatch_status hatch_detok_stream_flush(hatch_detok_stream *s, const char **text, size_t *len);
void hatch_detok_stream_destroy(hatch_detok_stream *s); /* accepts NULL */

/* NFC of text (invalid UTF-8 bytes pass through unchanged): *out malloc'd, NUL-terminated. */
hatch_status hatch_text_nfc(const char *text, size_t len, char **out, size_t *out_len);

/* ---- Qwen2.5-VL chat template ------------------------------------------------------------------- */

/* One user turn as Qwen2.5-VL's chat_template.json renders it with add_generation_prompt:
 *   <|im_start|>system\n{system}<|im_end|>\n<|im_start|>user\n
 *   [Picture k: ]<|vision_start|><|image_pad|> x image_tokens[k]<|vision_end|>   (per image)
 *   {question}<|im_end|>\n<|im_start|>assistant\n
 * with the processor's expansion of <|image_pad|> already applied. */
typedef struct hatch_chat_prompt {
  const char *system;        /* NULL: "You are a helpful assistant." */
  const int32_t *image_tokens; /* (n_images) <|image_pad|> count per image: (h/28)*(w/28) */
  int n_images;              /* 0..HATCH_CHAT_MAX_IMAGES */
  const char *question;      /* NUL-terminated UTF-8 */
  bool add_vision_id;        /* "Picture k: " before each image (the template's add_vision_id) */
} hatch_chat_prompt;

#define HATCH_CHAT_MAX_IMAGES 64
#define HATCH_CHAT_MAX_IMAGE_TOKENS (1 << 20)

/* The prompt text (*out malloc'd, NUL-terminated; caller frees). */
hatch_status hatch_chat_render(const hatch_chat_prompt *p, char **out, size_t *out_len);
/* The prompt's ids: template tokens as their ids, system and question encoded with parse_special
 * false (user text never becomes control tokens). Needs the tokenizer to know <|im_start|>,
 * <|im_end|>, <|vision_start|>, <|vision_end|>, <|image_pad|> (else HATCH_ERR_NOT_FOUND). */
hatch_status hatch_tokenizer_encode_chat(const hatch_tokenizer *tok, const hatch_chat_prompt *p, int32_t **ids,
                                         size_t *n_ids);

#endif
