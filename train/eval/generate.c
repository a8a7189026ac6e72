/* Generation through the runtime's model (hatch/train_eval.h). */
#include "hatch/train_eval.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hatch/choice.h"
#include "hatch/convert.h"
#include "hatch/gguf.h"
#include "hatch/model.h"
#include "hatch/ops.h"
#include "hatch/plan.h"
#include "hatch/sampler.h"

struct hatch_generator {
  hatch_backend *be;
  hatch_model *model;
  hatch_tokenizer *tok;
  int32_t vocab;
  hatch_stop_list *stop; /* EOS, <|im_end|>, <|endoftext|> */
  float *logits;         /* (vocab) */
  bool *allowed;         /* (vocab) grammar mask */
  bool *plain;           /* (vocab) unconstrained mask: every token but the special ones (an
                            <|image_pad|> or <|vision_start|> in a response is never valid), stops allowed */
};

void hatch_generator_close(hatch_generator *g) {
  if (!g) return;
  free(g->logits);
  free(g->allowed);
  free(g->plain);
  hatch_stop_list_destroy(g->stop);
  hatch_tokenizer_destroy(g->tok);
  hatch_model_destroy(g->model);
  hatch_backend_destroy(g->be);
  free(g);
}

hatch_status hatch_generator_open(const char *path, int n_threads, hatch_generator **out, char why[384]) {
  *out = NULL;
  why[0] = 0;
  hatch_generator *g = calloc(1, sizeof *g);
  if (!g) return HATCH_ERR_OUT_OF_MEMORY;
  hatch_cpu_options co = {.n_threads = n_threads};
  hatch_status st = hatch_backend_create_cpu(&co, &g->be);
  hatch_model_report mr = {""};
  if (st == HATCH_OK && (st = hatch_model_load(g->be, path, NULL, NULL, &g->model, &mr)) != HATCH_OK)
    snprintf(why, 384, "%s", mr.message);
  if (st == HATCH_OK) {
    hatch_gguf *gg = NULL;
    hatch_gguf_report gr = {0};
    hatch_tokenizer_error te = {""};
    if ((st = hatch_gguf_open(path, &gg, &gr)) != HATCH_OK) snprintf(why, 384, "%s", gr.message);
    else if ((st = hatch_tokenizer_from_gguf(gg, &g->tok, &te)) != HATCH_OK)
      snprintf(why, 384, "%s: tokenizer: %s", path, te.message);
    hatch_gguf_close(gg);
  }
  if (st == HATCH_OK) {
    g->vocab = (int32_t)hatch_model_config(g->model)->text.vocab_size;
    if ((st = hatch_stop_list_create(&g->stop)) == HATCH_OK) st = hatch_stop_list_add_defaults(g->stop, g->tok);
    g->logits = malloc(sizeof(float) * (size_t)g->vocab);
    g->allowed = malloc(sizeof(bool) * (size_t)g->vocab);
    g->plain = malloc(sizeof(bool) * (size_t)g->vocab);
    if (st == HATCH_OK && (!g->logits || !g->allowed || !g->plain)) st = HATCH_ERR_OUT_OF_MEMORY;
  }
  if (st == HATCH_OK) {
    int32_t n_tok = hatch_tokenizer_n_vocab(g->tok);
    for (int32_t id = 0; id < g->vocab; id++)
      g->plain[id] = hatch_stop_list_has_token(g->stop, id) || (id < n_tok && !hatch_tokenizer_is_special(g->tok, id));
  }
  if (st != HATCH_OK) {
    hatch_generator_close(g);
    return st;
  }
  *out = g;
  return HATCH_OK;
}

const hatch_tokenizer *hatch_generator_tokenizer(const hatch_generator *g) { return g->tok; }


static hatch_status rank_answer(const hatch_choice_state *cs, const hatch_choice_options *options,
                                hatch_generation *out) {
  hatch_choice_result r;
  hatch_status st = hatch_choice_rank(cs, out->text, options, &r);
  if (st != HATCH_OK) return st;
  snprintf(out->text, sizeof out->text, "%s", r.text);
  out->n_ids = r.n_ids < (int)(sizeof out->ids / sizeof out->ids[0]) ? r.n_ids : (int)(sizeof out->ids / sizeof out->ids[0]);
  memcpy(out->ids, r.ids, sizeof(int32_t) * (size_t)out->n_ids);
  out->stopped = true, out->ranked = true;
  return HATCH_OK;
}

hatch_status hatch_generator_answer(hatch_generator *g, const hatch_train_sample *s, const hatch_generate_options *opt,
                                    hatch_generation *out) {
  memset(out, 0, sizeof *out);
  int n_images = s->n_images, max_tokens = opt->max_tokens > 0 ? opt->max_tokens : 160;
  if (n_images < 1 || n_images > HATCH_SAMPLE_MAX_IMAGES) return HATCH_ERR_INVALID_ARGUMENT;
  if (max_tokens > (int)(sizeof out->ids / sizeof out->ids[0])) max_tokens = (int)(sizeof out->ids / sizeof out->ids[0]);
  hatch_tensor *emb[HATCH_SAMPLE_MAX_IMAGES] = {0};
  int grid_h[HATCH_SAMPLE_MAX_IMAGES], grid_w[HATCH_SAMPLE_MAX_IMAGES];
  int32_t pads[HATCH_SAMPLE_MAX_IMAGES], *ids = NULL, *pos = NULL;
  size_t n_ids = 0;
  hatch_sampler *sampler = NULL;
  char *text = NULL;
  hatch_status st = HATCH_OK;
  for (int k = 0; k < n_images && st == HATCH_OK; k++) {
    const hatch_sample_image *im = &s->images[k];
    int ow, oh;
    if ((st = hatch_model_image_size(g->model, im->width, im->height, &ow, &oh)) != HATCH_OK) break;
    const uint8_t *rgb = im->rgb;
    uint8_t *resized = NULL;
    if (ow != im->width || oh != im->height) {
      if (!(resized = malloc((size_t)ow * oh * 3))) st = HATCH_ERR_OUT_OF_MEMORY;
      else st = hatch_image_resize_rgb8(g->be, im->rgb, im->width, im->height, resized, ow, oh);
      rgb = resized;
    }
    if (st == HATCH_OK) st = hatch_model_encode_image(g->model, rgb, ow, oh, &emb[k]);
    free(resized);
    grid_h[k] = oh / 28, grid_w[k] = ow / 28, pads[k] = grid_h[k] * grid_w[k];
  }
  if (st != HATCH_OK) goto done;
  hatch_chat_prompt cp = {.image_tokens = pads, .n_images = n_images, .question = s->question};
  if ((st = hatch_tokenizer_encode_chat(g->tok, &cp, &ids, &n_ids)) != HATCH_OK) goto done;
  out->prompt_tokens = (int32_t)n_ids;
  int32_t next = 0;
  if (!(pos = malloc(sizeof(int32_t) * 3 * n_ids))) {
    st = HATCH_ERR_OUT_OF_MEMORY;
    goto done;
  }
  if ((st = hatch_model_rope_positions(g->model, ids, (int)n_ids, grid_h, grid_w, n_images, pos, &next)) != HATCH_OK)
    goto done;
  const int32_t first_pos = next;
  hatch_model_reset(g->model);
  if ((st = hatch_model_forward(g->model, ids, (int)n_ids, pos, emb, n_images, g->logits, 1)) != HATCH_OK) goto done;
  hatch_sampler_params sp = {.temperature = opt->temperature, .top_k = opt->top_k, .top_p = opt->top_p, .seed = opt->seed};
  if ((st = hatch_sampler_create(&sp, g->vocab, &sampler)) != HATCH_OK) goto done;
  hatch_plan_limits lim = {.n_views = n_images, .n_options = s->n_options};
  hatch_plan_matcher pm;
  hatch_plan_matcher_init(&pm, &lim);
  while (out->n_ids < max_tokens) {
    if (opt->constrained) hatch_plan_token_mask(g->tok, &pm, g->stop, g->vocab, g->allowed);
    int32_t t;
    if ((st = hatch_sampler_sample(sampler, g->logits, opt->constrained ? g->allowed : g->plain, &t)) != HATCH_OK) goto done;
    if (hatch_stop_list_has_token(g->stop, t)) {
      out->stopped = true;
      break;
    }
    if (opt->constrained) {
      const char *bytes;
      size_t len;
      hatch_tokenizer_token_bytes(g->tok, t, &bytes, &len);
      hatch_plan_matcher_feed(&pm, bytes, len);
    }
    out->ids[out->n_ids++] = t;
    if (out->n_ids == max_tokens) break;
    int32_t p3[3] = {next, next, next};
    next++;
    if ((st = hatch_model_forward(g->model, &t, 1, p3, NULL, 0, g->logits, 1)) != HATCH_OK) goto done;
  }
  size_t len = 0;
  if ((st = hatch_tokenizer_decode(g->tok, out->ids, (size_t)out->n_ids, true, &text, &len)) != HATCH_OK) goto done;
  snprintf(out->text, sizeof out->text, "%s", text);
  hatch_choice_options options;
  if (opt->rank_options && hatch_choice_parse(s->question, &options) == HATCH_OK) {
    hatch_choice_state cs = {.model = g->model, .tok = g->tok, .n_prompt = (int)n_ids, .last_prompt_id = ids[n_ids - 1],
                             .first_pos = first_pos, .generated = out->ids, .n_generated = out->n_ids,
                             .stop_id = hatch_tokenizer_find(g->tok, "<|im_end|>", 10)};
    if ((st = rank_answer(&cs, &options, out)) != HATCH_OK) goto done;
  }
done:
  for (int k = 0; k < HATCH_SAMPLE_MAX_IMAGES; k++) hatch_tensor_destroy(emb[k]);
  free(ids);
  free(pos);
  free(text);
  hatch_sampler_destroy(sampler);
  return st;
}
