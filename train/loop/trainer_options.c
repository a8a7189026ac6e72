/* Trainer options: defaults, the stage list, the preset model sizes (hatch/trainer.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hatch/sim_dataset.h"
#include "hatch/tokenizer.h"
#include "hatch/trainer.h"

static const char *const stage_names[HATCH_STAGE_COUNT] = {"pasta", "qa", "actor", "grpo", "ground", "caption"};

const char *hatch_stage_name(hatch_stage s) { return s >= 0 && s < HATCH_STAGE_COUNT ? stage_names[s] : "?"; }

int hatch_stage_from_name(const char *name) {
  for (int s = 0; s < HATCH_STAGE_COUNT; s++)
    if (!strcmp(name, stage_names[s])) return s;
  return -1;
}

/* Peak learning rates per stage: PaStA and SFT from scratch move fast; GRPO refines. */
static float default_lr(hatch_stage s) { return s == HATCH_STAGE_GRPO ? 1e-4f : 1e-3f; }

void hatch_trainer_options_default(hatch_trainer_options *o) {
  memset(o, 0, sizeof *o);
  o->preset = "small";
  o->seed = 1;
  o->image_size = 112;
  o->settings = HATCH_SIM_SETTING_BIT(HATCH_SIM_ROTATION) | HATCH_SIM_SETTING_BIT(HATCH_SIM_AROUND) |
                HATCH_SIM_SETTING_BIT(HATCH_SIM_AMONG);
  o->batch = 8;
  o->ranks = 1;
  o->min_lr_ratio = 0.1f;
  o->warmup_steps = 20;
  o->grad_clip = 1.0f;
  o->weight_decay = 0.01f;
  o->pasta = hatch_pasta_loss_defaults();
  o->cell_words = 1.0f;
  hatch_pasta_options_default(&o->pasta_targets);
  o->pasta_targets.stride = 2;
  o->grpo_group = 4;
  o->grpo_temperature = 1.0f;
  o->grpo_max_tokens = 96;
  o->grpo = hatch_grpo_dapo_defaults();
  o->reward = hatch_reward_defaults();
  o->eval_samples = 64;
  o->eval_seed = 0x5eed0000e7a1ull;
}

hatch_status hatch_trainer_parse_stages(const char *text, hatch_trainer_options *o, char why[256]) {
  char buf[512];
  if (!text || strlen(text) >= sizeof buf) return snprintf(why, 256, "--stages: missing or too long"), HATCH_ERR_INVALID_ARGUMENT;
  strcpy(buf, text);
  o->n_stages = 0;
  for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    char *colon = strchr(tok, ':');
    if (!colon) return snprintf(why, 256, "--stages: '%s' is not NAME:STEPS", tok), HATCH_ERR_INVALID_ARGUMENT;
    *colon = 0;
    int s = hatch_stage_from_name(tok);
    if (s < 0) return snprintf(why, 256, "--stages: unknown stage '%s' (caption, ground, pasta, qa, actor, grpo)", tok), HATCH_ERR_INVALID_ARGUMENT;
    if (o->n_stages == HATCH_TRAINER_MAX_STAGES) return snprintf(why, 256, "--stages: more than %d stages", HATCH_TRAINER_MAX_STAGES), HATCH_ERR_INVALID_ARGUMENT;
    char *end, *at = strchr(colon + 1, '@');
    if (at) *at = 0;
    long long steps = strtoll(colon + 1, &end, 10);
    if (end == colon + 1 || *end || steps < 0 || steps > 100000000)
      return snprintf(why, 256, "--stages: '%s' steps must be an integer >= 0", tok), HATCH_ERR_INVALID_ARGUMENT;
    float lr = default_lr((hatch_stage)s);
    if (at) {
      lr = strtof(at + 1, &end);
      if (end == at + 1 || *end || !(lr > 0 && lr < 1))
        return snprintf(why, 256, "--stages: '%s' learning rate must be in (0, 1)", tok), HATCH_ERR_INVALID_ARGUMENT;
    }
    o->stages[o->n_stages++] = (hatch_stage_plan){(hatch_stage)s, steps, lr};
  }
  if (!o->n_stages) return snprintf(why, 256, "--stages: empty"), HATCH_ERR_INVALID_ARGUMENT;
  return HATCH_OK;
}

static int32_t special_id(const hatch_tokenizer *tok, const char *text, char why[256], hatch_status *st) {
  int32_t id = hatch_tokenizer_find(tok, text, strlen(text));
  if (id < 0 && *st == HATCH_OK) {
    snprintf(why, 256, "the tokenizer has no %s token (train it with hatch-train tokenizer)", text);
    *st = HATCH_ERR_NOT_FOUND;
  }
  return id;
}

hatch_status hatch_trainer_preset_config(const char *preset, const void *tokenizer, hatch_qwen25vl_config *cfg,
                                         char why[256]) {
  const hatch_tokenizer *tok = tokenizer;
  hatch_qwen25vl_config_defaults(cfg);
  hatch_qwen25vl_text_config *t = &cfg->text;
  hatch_qwen25vl_vision_config *v = &cfg->vision;
  bool tiny = !strcmp(preset, "tiny");
  if (!tiny && strcmp(preset, "small")) return snprintf(why, 256, "unknown model preset '%s' (tiny, small)", preset), HATCH_ERR_INVALID_ARGUMENT;
  /* small: ~1.4M parameters, a 4-block 64-wide vision tower (one window layer before each full one)
   * and a 4-layer 128-wide LLM; tiny: the same shape at a quarter, for tests. */
  t->hidden_size = tiny ? 64 : 128;
  t->intermediate_size = tiny ? 128 : 320;
  t->num_hidden_layers = tiny ? 2 : 4;
  t->num_attention_heads = 4;
  t->num_key_value_heads = 2;
  t->rms_norm_eps = 1e-6;
  t->rope_theta = 10000.0;
  t->max_position_embeddings = 4096;
  t->tie_word_embeddings = true;
  int half = (int)(t->hidden_size / t->num_attention_heads) / 2; /* rotary pairs: 8 or 16 */
  t->mrope_section[0] = half / 4, t->mrope_section[1] = (half - half / 4) / 2;
  t->mrope_section[2] = half - t->mrope_section[0] - t->mrope_section[1];
  snprintf(t->hidden_act, sizeof t->hidden_act, "silu");
  snprintf(t->torch_dtype, sizeof t->torch_dtype, "float32");
  v->depth = tiny ? 2 : 4;
  v->hidden_size = tiny ? 32 : 64;
  v->intermediate_size = tiny ? 64 : 128;
  v->num_heads = tiny ? 2 : 4;
  v->in_channels = 3;
  v->patch_size = 14;
  v->spatial_merge_size = 2;
  v->temporal_patch_size = 2;
  v->window_size = 56;
  v->out_hidden_size = (int32_t)t->hidden_size;
  v->n_fullatt = tiny ? 1 : 2;
  v->fullatt_block_indexes[0] = 1;
  v->fullatt_block_indexes[1] = 3;
  snprintf(v->hidden_act, sizeof v->hidden_act, "silu");
  hatch_status st = HATCH_OK;
  t->vocab_size = hatch_tokenizer_n_vocab(tok);
  cfg->image_token_id = special_id(tok, "<|image_pad|>", why, &st);
  cfg->video_token_id = special_id(tok, "<|video_pad|>", why, &st);
  cfg->vision_start_token_id = special_id(tok, "<|vision_start|>", why, &st);
  cfg->vision_end_token_id = special_id(tok, "<|vision_end|>", why, &st);
  t->n_eos = 1;
  t->eos_token_id[0] = special_id(tok, "<|im_end|>", why, &st);
  t->bos_token_id = -1;
  if (st != HATCH_OK) return st;
  hatch_config_report rep;
  if ((st = hatch_qwen25vl_config_validate(cfg, preset, &rep)) != HATCH_OK) snprintf(why, 256, "%s", rep.message);
  return st;
}
