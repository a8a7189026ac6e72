/* Qwen2.5-VL's chat template (chat_template.json) for one user turn with images and the generation
 * prompt, written out by hand:
 *   {% if loop.first and message['role'] != 'system' %}<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}
 *   <|im_start|>{{ role }}\n ... {% if add_vision_id %}Picture {{ n }}: {% endif %}<|vision_start|><|image_pad|><|vision_end|>
 *   ... {{ content['text'] }}<|im_end|>\n ... {% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}
 * The image part comes before the question (the content list order the runtime uses), and each
 * <|image_pad|> is repeated image_tokens[k] times as the processor does. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text/text_internal.h"

static const char DEFAULT_SYSTEM[] = "You are a helpful assistant.";

/* The prompt as a list of parts: literal template text (tokenized with special tokens on), user
 * text (special tokens off) and image pads (an id repeated). */
typedef enum part_kind { PART_TEMPLATE, PART_USER, PART_PADS } part_kind;

typedef hatch_status (*part_fn)(void *ctx, part_kind kind, const char *text, size_t len, int32_t pads);

static hatch_status walk(const hatch_chat_prompt *p, part_fn fn, void *ctx) {
  if (!p || !p->question || p->n_images < 0 || p->n_images > HATCH_CHAT_MAX_IMAGES || (p->n_images && !p->image_tokens))
    return HATCH_ERR_INVALID_ARGUMENT;
  for (int i = 0; i < p->n_images; i++)
    if (p->image_tokens[i] < 1 || p->image_tokens[i] > HATCH_CHAT_MAX_IMAGE_TOKENS) return HATCH_ERR_INVALID_ARGUMENT;
  const char *system = p->system ? p->system : DEFAULT_SYSTEM;
  hatch_status st;
#define PART(kind, text, len, pads)                                        \
  do {                                                                     \
    if ((st = fn(ctx, kind, text, len, pads)) != HATCH_OK) return st;      \
  } while (0)
#define LIT(s) PART(PART_TEMPLATE, s, sizeof(s) - 1, 0)
  LIT("<|im_start|>system\n");
  PART(PART_USER, system, strlen(system), 0);
  LIT("<|im_end|>\n<|im_start|>user\n");
  for (int i = 0; i < p->n_images; i++) {
    if (p->add_vision_id) {
      char pic[32];
      int n = snprintf(pic, sizeof(pic), "Picture %d: ", i + 1);
      PART(PART_TEMPLATE, pic, (size_t)n, 0);
    }
    LIT("<|vision_start|>");
    PART(PART_PADS, NULL, 0, p->image_tokens[i]);
    LIT("<|vision_end|>");
  }
  PART(PART_USER, p->question, strlen(p->question), 0);
  LIT("<|im_end|>\n<|im_start|>assistant\n");
#undef LIT
#undef PART
  return HATCH_OK;
}

/* ---- text ---------------------------------------------------------------------------------------- */

typedef struct text_ctx {
  char *s;
  size_t n, cap;
} text_ctx;

static hatch_status text_append(text_ctx *c, const char *s, size_t len) {
  if (c->n + len + 1 > c->cap) {
    size_t cap = c->cap ? c->cap : 256;
    while (cap < c->n + len + 1) cap *= 2;
    char *g = realloc(c->s, cap);
    if (!g) return HATCH_ERR_OUT_OF_MEMORY;
    c->s = g;
    c->cap = cap;
  }
  memcpy(c->s + c->n, s, len);
  c->n += len;
  c->s[c->n] = '\0';
  return HATCH_OK;
}

static hatch_status text_part(void *ctx, part_kind kind, const char *text, size_t len, int32_t pads) {
  text_ctx *c = ctx;
  if (kind != PART_PADS) return text_append(c, text, len);
  hatch_status st = HATCH_OK;
  for (int32_t i = 0; i < pads && st == HATCH_OK; i++) st = text_append(c, "<|image_pad|>", 13);
  return st;
}

hatch_status hatch_chat_render(const hatch_chat_prompt *p, char **out, size_t *out_len) {
  if (!out || !out_len) return HATCH_ERR_INVALID_ARGUMENT;
  *out = NULL;
  *out_len = 0;
  text_ctx c = {0};
  hatch_status st = walk(p, text_part, &c);
  if (st != HATCH_OK) {
    free(c.s);
    return st;
  }
  *out = c.s;
  *out_len = c.n;
  return HATCH_OK;
}

/* ---- ids ----------------------------------------------------------------------------------------- */

typedef struct ids_ctx {
  const hatch_tokenizer *tok;
  int32_t image_pad;
  int32_t *ids;
  size_t n, cap;
} ids_ctx;

static hatch_status ids_part(void *ctx, part_kind kind, const char *text, size_t len, int32_t pads) {
  ids_ctx *c = ctx;
  if (kind != PART_PADS)
    return hatch_tok_encode_append(c->tok, text, len, kind == PART_TEMPLATE, &c->ids, &c->n, &c->cap);
  if (c->n + (size_t)pads > c->cap) {
    size_t cap = c->cap ? c->cap : 256;
    while (cap < c->n + (size_t)pads) cap *= 2;
    int32_t *g = realloc(c->ids, cap * sizeof(int32_t));
    if (!g) return HATCH_ERR_OUT_OF_MEMORY;
    c->ids = g;
    c->cap = cap;
  }
  for (int32_t i = 0; i < pads; i++) c->ids[c->n++] = c->image_pad;
  return HATCH_OK;
}

hatch_status hatch_tokenizer_encode_chat(const hatch_tokenizer *tok, const hatch_chat_prompt *p, int32_t **ids,
                                         size_t *n_ids) {
  if (!ids || !n_ids) return HATCH_ERR_INVALID_ARGUMENT;
  *ids = NULL;
  *n_ids = 0;
  if (!tok) return HATCH_ERR_INVALID_ARGUMENT;
  static const char *const needed[] = {"<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>",
                                       "<|image_pad|>"};
  for (size_t i = 0; i < sizeof(needed) / sizeof(needed[0]); i++) {
    int32_t id = hatch_tokenizer_find(tok, needed[i], strlen(needed[i]));
    if (id < 0 || tok->tokens[id].type != HATCH_TOKEN_CONTROL) return HATCH_ERR_NOT_FOUND;
  }
  ids_ctx c = {tok, hatch_tokenizer_find(tok, "<|image_pad|>", 13), NULL, 0, 0};
  hatch_status st = walk(p, ids_part, &c);
  if (st != HATCH_OK) {
    free(c.ids);
    return st;
  }
  *ids = c.ids;
  *n_ids = c.n;
  return HATCH_OK;
}
