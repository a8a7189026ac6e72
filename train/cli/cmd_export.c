/* hatch-train export: an F32 GGUF of the trainer (or any GGUF of the family) -> the runtime's file
 * with Q8_0 weights and the tokenizer. */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "hatch/bpe_train.h"
#include "hatch/convert.h"
#include "hatch/train_model.h"

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
  hatch_tokenizer *tok = NULL;
  hatch_gguf *g = NULL;
  hatch_gguf_report gr = {0};
  hatch_tokenizer_error te = {""};
  int rc = 1;
  hatch_status st = hatch_train_model_open(in, &lim, 0, &m, &rep);
  if (st != HATCH_OK) {
    fprintf(stderr, "hatch-train export: %s\n", rep.message);
    goto done;
  }
  if ((st = hatch_gguf_open(in, &g, &gr)) != HATCH_OK || (st = hatch_tokenizer_from_gguf(g, &tok, &te)) != HATCH_OK) {
    fprintf(stderr, "hatch-train export: %s: tokenizer: %s%s\n", in, gr.message, te.message);
    goto done;
  }
  hatch_bpe_gguf_meta meta = {.tok = tok, .n_vocab = hatch_train_model_config(m)->text.vocab_size};
  hatch_qwen25vl_write_options wo = {.name = name, .matrix_type = mt, .add_metadata = hatch_bpe_gguf_add_metadata, .metadata_user = &meta};
  if ((st = hatch_train_model_save_gguf(m, out, &wo, &rep)) != HATCH_OK) {
    fprintf(stderr, "hatch-train export: %s: %s\n", out, rep.message);
    goto done;
  }
  printf("hatch-train export: %s -> %s (%s)\n", in, out, type);
  rc = 0;
done:
  hatch_gguf_close(g);
  hatch_tokenizer_destroy(tok);
  hatch_train_model_destroy(m);
  return rc;
}
