/* hatch-train export: an F32 GGUF of the trainer (or any GGUF of the family) -> the runtime's file
 * with Q8_0 weights and the tokenizer. hatch-train grow: the same file with more LLM blocks, each an
 * identity at first (hatch_train_model_grow_depth). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "hatch/bpe_train.h"
#include "hatch/convert.h"
#include "hatch/train_model.h"

/* Writes m to `out` as `type` with the tokenizer of the GGUF at `tokenizer_from`; 0 or 1 (printed). */
static int save_with_tokenizer(const char *cmd, hatch_train_model *m, const char *tokenizer_from, const char *out,
                               hatch_type type, const char *name) {
  hatch_train_report rep = {""};
  hatch_tokenizer *tok = NULL;
  hatch_gguf *g = NULL;
  hatch_gguf_report gr = {0};
  hatch_tokenizer_error te = {""};
  int rc = 1;
  hatch_status st;
  if ((st = hatch_gguf_open(tokenizer_from, &g, &gr)) != HATCH_OK || (st = hatch_tokenizer_from_gguf(g, &tok, &te)) != HATCH_OK) {
    fprintf(stderr, "hatch-train %s: %s: tokenizer: %s%s\n", cmd, tokenizer_from, gr.message, te.message);
    goto done;
  }
  hatch_bpe_gguf_meta meta = {.tok = tok, .n_vocab = hatch_train_model_config(m)->text.vocab_size};
  hatch_qwen25vl_write_options wo = {.name = name, .matrix_type = type, .add_metadata = hatch_bpe_gguf_add_metadata, .metadata_user = &meta};
  if ((st = hatch_train_model_save_gguf(m, out, &wo, &rep)) != HATCH_OK) {
    fprintf(stderr, "hatch-train %s: %s: %s\n", cmd, out, rep.message);
    goto done;
  }
  rc = 0;
done:
  hatch_gguf_close(g);
  hatch_tokenizer_destroy(tok);
  return rc;
}

int hatch_train_cmd_export(int argc, char **argv) {
  const char *in = NULL, *out = NULL, *type = "q8_0", *name = "hatch-small";
  for (int i = 1; i < argc; i++) {
    bool has = i + 1 < argc;
    if (!strcmp(argv[i], "--from") && has) in = argv[++i];
    else if (!strcmp(argv[i], "--out") && has) out = argv[++i];
    else if (!strcmp(argv[i], "--type") && has) type = argv[++i];
    else if (!strcmp(argv[i], "--name") && has) name = argv[++i];
    else return fprintf(stderr, "usage: hatch-train export --from RUN/model-f32.gguf --out model.gguf [--type q8_0|f16|f32] [--name N]\n"), 2;
  }
  hatch_type mt = !strcmp(type, "q8_0") ? HATCH_TYPE_Q8_0 : !strcmp(type, "f16") ? HATCH_TYPE_F16 : !strcmp(type, "f32") ? HATCH_TYPE_F32 : (hatch_type)-1;
  if (!in || !out || (int)mt < 0) return fprintf(stderr, "hatch-train export: need --from, --out and --type q8_0|f16|f32\n"), 2;
  hatch_train_limits lim = {.max_images = 0, .max_image_pixels = 0, .max_tokens = 1};
  hatch_train_model *m = NULL;
  hatch_train_report rep = {""};
  if (hatch_train_model_open(in, &lim, 0, &m, &rep) != HATCH_OK) return fprintf(stderr, "hatch-train export: %s\n", rep.message), 1;
  int rc = save_with_tokenizer("export", m, in, out, mt, name);
  if (rc == 0) printf("hatch-train export: %s -> %s (%s)\n", in, out, type);
  hatch_train_model_destroy(m);
  return rc;
}

int hatch_train_cmd_grow(int argc, char **argv) {
  const char *in = NULL, *out = NULL, *name = "hatch-small";
  int layers = 0;
  uint64_t seed = 1;
  for (int i = 1; i < argc; i++) {
    bool has = i + 1 < argc;
    if (!strcmp(argv[i], "--from") && has) in = argv[++i];
    else if (!strcmp(argv[i], "--out") && has) out = argv[++i];
    else if (!strcmp(argv[i], "--llm-layers") && has) layers = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--seed") && has) seed = strtoull(argv[++i], NULL, 10);
    else if (!strcmp(argv[i], "--name") && has) name = argv[++i];
    else
      return fprintf(stderr, "usage: hatch-train grow --from model-f32.gguf --out grown-f32.gguf --llm-layers N [--seed S] [--name N]\n"
                             "  more LLM decoder blocks, each an identity at first (zero output projections): the\n"
                             "  grown model answers exactly as the source until training moves them\n"),
             !strcmp(argv[i], "--help") || !strcmp(argv[i], "-h") ? 0 : 2;
  }
  if (!in || !out || layers <= 0) return fprintf(stderr, "hatch-train grow: need --from, --out and --llm-layers N\n"), 2;
  hatch_train_limits lim = {.max_images = 0, .max_image_pixels = 0, .max_tokens = 1};
  hatch_train_model *m = NULL, *grown = NULL;
  hatch_train_report rep = {""};
  int rc = 1;
  if (hatch_train_model_open(in, &lim, 0, &m, &rep) != HATCH_OK) fprintf(stderr, "hatch-train grow: %s\n", rep.message);
  else if (hatch_train_model_grow_depth(m, layers, seed, &grown, &rep) != HATCH_OK) fprintf(stderr, "hatch-train grow: %s: %s\n", in, rep.message);
  else if ((rc = save_with_tokenizer("grow", grown, in, out, HATCH_TYPE_F32, name)) == 0)
    printf("hatch-train grow: %s (%d LLM blocks) -> %s (%d)\n", in, hatch_train_model_config(m)->text.num_hidden_layers, out, layers);
  hatch_train_model_destroy(grown);
  hatch_train_model_destroy(m);
  return rc;
}
