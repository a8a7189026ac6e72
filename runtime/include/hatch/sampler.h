/* Token sampling: greedy, temperature, top-k, top-p (nucleus), a seed, and a mask (constrained
 * decoding: tokens the grammar cannot accept are never drawn). Deterministic for a given seed. */
#ifndef HATCH_SAMPLER_H
#define HATCH_SAMPLER_H

#include <stdbool.h>
#include <stdint.h>

#include "hatch/status.h"

typedef struct hatch_sampler_params {
  float temperature; /* <= 0: greedy (argmax) */
  int top_k;         /* <= 0: all */
  float top_p;       /* >= 1 or <= 0: all */
  uint64_t seed;
} hatch_sampler_params;

typedef struct hatch_sampler hatch_sampler;

hatch_status hatch_sampler_create(const hatch_sampler_params *p, int32_t n_vocab, hatch_sampler **out);
void hatch_sampler_destroy(hatch_sampler *s); /* NULL-safe */

/* Draws a token from logits (n_vocab). allowed: NULL (all) or (n_vocab) flags. HATCH_ERR_NOT_FOUND
 * when no token is allowed; logits with NaN never win. */
hatch_status hatch_sampler_sample(hatch_sampler *s, const float *logits, const bool *allowed, int32_t *out);

/* ---- stop conditions ----------------------------------------------------------------------------
 * What ends a generation loop: token ids (EOS, <|im_end|>) and strings matched in the generated
 * text, also across token boundaries. Strings are copied. */
typedef struct hatch_stop_list hatch_stop_list;
typedef struct hatch_tokenizer hatch_tokenizer;

#define HATCH_STOP_MAX 64 /* ids and strings each */

hatch_status hatch_stop_list_create(hatch_stop_list **out);
void hatch_stop_list_destroy(hatch_stop_list *s); /* NULL-safe */
/* HATCH_ERR_INVALID_ARGUMENT for a negative id or an empty string; HATCH_ERR_TOO_LARGE past
 * HATCH_STOP_MAX. Adding one already present is a no-op. */
hatch_status hatch_stop_list_add_token(hatch_stop_list *s, int32_t id);
hatch_status hatch_stop_list_add_string(hatch_stop_list *s, const char *text, size_t len);
/* The defaults for a Qwen2.5 tokenizer: its EOS id, and <|im_end|> and <|endoftext|> where present. */
hatch_status hatch_stop_list_add_defaults(hatch_stop_list *s, const hatch_tokenizer *tok);
bool hatch_stop_list_has_token(const hatch_stop_list *s, int32_t id);

/* Call after each generated token. id: the token; text (len bytes): everything generated so far,
 * this token's bytes (the last new_bytes) included. True when generation stops here; *keep (may be
 * NULL) is then the length of text to keep: without the stop token's bytes, or up to the start of
 * the stop string that just completed (the earliest-starting one when several do). */
bool hatch_stop_list_check(const hatch_stop_list *s, int32_t id, const char *text, size_t len, size_t new_bytes,
                           size_t *keep);

/* ---- constrained decoding ------------------------------------------------------------------------
 * allowed (n_vocab): the tokens whose bytes keep the plan matcher m alive (special tokens never);
 * stop tokens only once the plan is complete, then nothing else. */
struct hatch_plan_matcher;
void hatch_plan_token_mask(const hatch_tokenizer *tok, const struct hatch_plan_matcher *m, const hatch_stop_list *stop,
                           int32_t n_vocab, bool *allowed);

#endif
