/* hatch-train: the companion training tool (issue 5). */
#include <stdio.h>
#include <string.h>

#include "cmd_data.h"
#include "cmd_util.h"
#include "commands.h"

static void usage(void) {
  fprintf(stderr,
          "usage: hatch-train COMMAND [options]   (hatch-train COMMAND --help)\n"
          "  data       write a synthetic MindCube-format dataset (images, depth, JSONL, geometry)\n"
          "  corpus     write the text a tokenizer is trained on (questions and answers of the world)\n"
          "  tokenizer  train a byte-level BPE tokenizer on a corpus -> tokenizer.json\n"
          "  train      run the HATCH stages (pasta, qa, actor, grpo) on a model\n"
          "  export     a checkpoint or F32 GGUF -> the runtime's GGUF with Q8_0 weights\n"
          "  grow       a model with more LLM blocks, each an identity at first (then train it)\n"
          "  eval       score a GGUF on MindCube-format JSONL or held-out synthetic scenes\n"
          "  plot       metrics.jsonl -> SVG curves\n"
          "  bench      training throughput (tokens/s, GFLOP/s against the measured peak)\n");
}

int main(int argc, char **argv) {
  if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) return usage(), argc < 2 ? 2 : 0;
  const char *c = argv[1];
  if (!strcmp(c, "data")) return hatch_train_cmd_data(argc - 1, argv + 1);
  if (!strcmp(c, "corpus")) return hatch_train_cmd_corpus(argc - 1, argv + 1);
  if (!strcmp(c, "tokenizer")) return hatch_train_cmd_tokenizer(argc - 1, argv + 1);
  if (!strcmp(c, "train")) return hatch_train_cmd_train(argc - 1, argv + 1);
  if (!strcmp(c, "export")) return hatch_train_cmd_export(argc - 1, argv + 1);
  if (!strcmp(c, "grow")) return hatch_train_cmd_grow(argc - 1, argv + 1);
  if (!strcmp(c, "eval")) return hatch_train_cmd_eval(argc - 1, argv + 1);
  if (!strcmp(c, "plot")) return hatch_train_cmd_plot(argc - 1, argv + 1);
  if (!strcmp(c, "bench")) return hatch_train_cmd_bench(argc - 1, argv + 1);
  fprintf(stderr, "hatch-train: unknown command '%s'\n", c);
  usage();
  return 2;
}
