/* `hatch info FILE` and `hatch convert HF_DIR OUT.gguf`: the model-file commands. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "hatch/convert.h"
#include "hatch/gguf.h"
#include "hatch/model_write.h"

int hatch_cmd_info(int argc, char **argv) {
  hatch_gguf_info_options opt = {0};
  const char *path = NULL;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--verbose") || !strcmp(argv[i], "-v")) opt.verbose = true;
    else if (!strcmp(argv[i], "--json")) opt.json = true;
    else if (!strcmp(argv[i], "--no-hash")) opt.no_hash = true;
    else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) path = NULL, i = argc;
    else if (argv[i][0] != '-' && !path) path = argv[i];
    else return fprintf(stderr, "hatch info: unknown option '%s'\n", argv[i]), 2;
  }
  if (!path) {
    printf("usage: hatch info FILE.gguf [--verbose] [--json] [--no-hash]\n"
           "  architecture, dimensions, tensor table, size by type, sha256 of a GGUF (hatch's or llama.cpp's)\n");
    return 2;
  }
  hatch_gguf_report rep;
  memset(&rep, 0, sizeof rep);
  hatch_status st = hatch_gguf_print_info(stdout, path, &opt, &rep);
  if (st != HATCH_OK) {
    fprintf(stderr, "hatch info: %s\n", rep.message[0] ? rep.message : hatch_status_message(st));
    return 1;
  }
  return 0;
}

int hatch_cmd_convert(int argc, char **argv) {
  const char *dir = NULL, *out = NULL, *name = NULL;
  hatch_type type = HATCH_TYPE_Q8_0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--type") && i + 1 < argc) {
      const char *t = argv[++i];
      if (!strcmp(t, "q8_0")) type = HATCH_TYPE_Q8_0;
      else if (!strcmp(t, "f16")) type = HATCH_TYPE_F16;
      else if (!strcmp(t, "f32")) type = HATCH_TYPE_F32;
      else return fprintf(stderr, "hatch convert: --type q8_0|f16|f32\n"), 2;
    } else if (!strcmp(argv[i], "--name") && i + 1 < argc) {
      name = argv[++i];
    } else if (argv[i][0] != '-' && !dir) {
      dir = argv[i];
    } else if (argv[i][0] != '-' && !out) {
      out = argv[i];
    } else {
      dir = NULL;
      break;
    }
  }
  if (!dir || !out) {
    printf("usage: hatch convert HF_CHECKPOINT_DIR OUT.gguf [--type q8_0|f16|f32] [--name NAME]\n"
           "  Qwen2.5-VL Hugging Face checkpoint (config.json, tokenizer.json, safetensors, sharded or not;\n"
           "  bf16/fp16/fp32) to one GGUF with llama.cpp's names; matrices Q8_0 by default.\n");
    return 2;
  }
  hatch_convert_report rep = {""};
  hatch_status st = hatch_convert_hf(dir, out, type, name, &rep);
  if (st != HATCH_OK) {
    fprintf(stderr, "hatch convert: %s (%s)\n", rep.message[0] ? rep.message : hatch_status_message(st), hatch_status_name(st));
    return 1;
  }
  printf("wrote %s\n", out);
  return 0;
}

static hatch_status add_tok(void *user, hatch_gguf_writer *w) {
  const hatch_tokenizer *tok = user;
  return hatch_gguf_add_tokenizer(w, tok, hatch_tokenizer_n_vocab(tok));
}

/* `hatch random-model --tokenizer tokenizer.json OUT.gguf [--seed N] [--type q8_0|f16|f32]`: a small
 * Qwen2.5-VL with random weights and a real tokenizer, to exercise the whole query path (cameras ->
 * model -> constrained plan) without a trained model. The answers mean nothing. */
int hatch_cmd_random_model(int argc, char **argv) {
  const char *tok_path = NULL, *out = NULL;
  uint64_t seed = 1;
  hatch_type type = HATCH_TYPE_F32;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--tokenizer") && i + 1 < argc) tok_path = argv[++i];
    else if (!strcmp(argv[i], "--seed") && i + 1 < argc) seed = strtoull(argv[++i], NULL, 10);
    else if (!strcmp(argv[i], "--type") && i + 1 < argc) {
      const char *t = argv[++i];
      type = !strcmp(t, "q8_0") ? HATCH_TYPE_Q8_0 : !strcmp(t, "f16") ? HATCH_TYPE_F16 : HATCH_TYPE_F32;
    } else if (argv[i][0] != '-' && !out) out = argv[i];
    else out = NULL, i = argc;
  }
  if (!tok_path || !out) {
    printf("usage: hatch random-model --tokenizer tokenizer.json OUT.gguf [--seed N] [--type q8_0|f16|f32]\n");
    return 2;
  }
  hatch_tokenizer *tok = NULL;
  hatch_tokenizer_error te = {""};
  if (hatch_tokenizer_load_json(tok_path, &tok, &te) != HATCH_OK) return fprintf(stderr, "hatch random-model: %s\n", te.message), 1;
  hatch_qwen25vl_config c;
  hatch_qwen25vl_config_defaults(&c);
  c.text.vocab_size = hatch_tokenizer_n_vocab(tok), c.text.hidden_size = 128, c.text.intermediate_size = 256;
  c.text.num_hidden_layers = 2, c.text.num_attention_heads = 4, c.text.num_key_value_heads = 2, c.text.rms_norm_eps = 1e-6;
  c.text.mrope_section[0] = 4, c.text.mrope_section[1] = 6, c.text.mrope_section[2] = 6;
  c.text.max_position_embeddings = 4096, c.text.tie_word_embeddings = true;
  c.vision.depth = 2, c.vision.hidden_size = 64, c.vision.intermediate_size = 128, c.vision.num_heads = 4;
  c.vision.out_hidden_size = 128, c.vision.n_fullatt = 1, c.vision.fullatt_block_indexes[0] = 1;
  c.preprocess.max_pixels = 224 * 224;
  c.image_token_id = hatch_tokenizer_find(tok, "<|image_pad|>", 13);
  c.video_token_id = hatch_tokenizer_find(tok, "<|video_pad|>", 13);
  c.vision_start_token_id = hatch_tokenizer_find(tok, "<|vision_start|>", 16);
  c.vision_end_token_id = hatch_tokenizer_find(tok, "<|vision_end|>", 14);
  if (c.video_token_id < 0) c.video_token_id = c.image_token_id;
  hatch_qwen25vl_write_options wo = {.name = "random-tiny", .matrix_type = type, .add_metadata = add_tok, .metadata_user = tok};
  hatch_gguf_report gr;
  memset(&gr, 0, sizeof gr);
  hatch_status st = c.image_token_id < 0 ? HATCH_ERR_NOT_FOUND
                                         : hatch_qwen25vl_write_gguf(out, &c, &wo, hatch_qwen25vl_random_rows, &seed, &gr);
  hatch_tokenizer_destroy(tok);
  if (st != HATCH_OK) return fprintf(stderr, "hatch random-model: %s %s\n", hatch_status_message(st), gr.message), 1;
  printf("wrote %s\n", out);
  return 0;
}
