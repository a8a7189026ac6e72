/* hatch-train tokenizer: train a byte-level BPE (Qwen2 pre-tokenization, Qwen's special tokens) on
 * corpus files -> tokenizer.json. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd_util.h"
#include "hatch/bpe_train.h"

enum { MAX_FILES = 256 };

static void usage(void) {
  fprintf(stderr,
          "usage: hatch-train tokenizer --corpus FILE [FILE...] --vocab N --out tokenizer.json\n"
          "                             [--min-frequency N] [--max-token-bytes N]\n"
          "  N counts every id, the %d special tokens (<|endoftext|>, <|im_start|>, ...) included: the\n"
          "  model's n_vocab. The file loads in hatch (and Hugging Face tokenizers).\n",
          HATCH_BPE_N_QWEN_SPECIALS);
}

int hatch_train_cmd_tokenizer(int argc, char **argv) {
  const char *files[MAX_FILES], *out = NULL;
  int n_files = 0;
  hatch_bpe_train_options o = {.vocab_size = 0};
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    bool has = i + 1 < argc;
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) return usage(), 0;
    if (!strcmp(a, "--corpus") && has) {
      while (i + 1 < argc && argv[i + 1][0] != '-' && n_files < MAX_FILES) files[n_files++] = argv[++i];
    } else if (!strcmp(a, "--vocab") && has) {
      o.vocab_size = atoi(argv[++i]);
    } else if (!strcmp(a, "--out") && has) {
      out = argv[++i];
    } else if (!strcmp(a, "--min-frequency") && has) {
      o.min_frequency = atol(argv[++i]);
    } else if (!strcmp(a, "--max-token-bytes") && has) {
      o.max_token_bytes = atoi(argv[++i]);
    } else {
      fprintf(stderr, "hatch-train tokenizer: unknown or incomplete option '%s'\n", a);
      return usage(), 2;
    }
  }
  if (!n_files || !out || o.vocab_size <= 0) return usage(), 2;
  hatch_bpe_trainer *t = NULL;
  hatch_bpe_report r = {""};
  hatch_status st = hatch_bpe_trainer_create(&o, &t, &r);
  if (st != HATCH_OK) {
    fprintf(stderr, "hatch-train tokenizer: %s\n", r.message[0] ? r.message : hatch_status_message(st));
    return 2;
  }
  int rc = 1;
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (int i = 0; i < n_files; i++)
    if ((st = hatch_bpe_trainer_feed_file(t, files[i], &r)) != HATCH_OK) {
      fprintf(stderr, "hatch-train tokenizer: %s\n", r.message[0] ? r.message : hatch_status_message(st));
      goto destroy_trainer;
    }
  if ((st = hatch_bpe_trainer_train(t)) != HATCH_OK) {
    fprintf(stderr, "hatch-train tokenizer: training failed: %s\n", hatch_status_message(st));
    goto destroy_trainer;
  }
  if ((st = hatch_bpe_trainer_write_json(t, out, &r)) != HATCH_OK) {
    fprintf(stderr, "hatch-train tokenizer: %s\n", r.message[0] ? r.message : hatch_status_message(st));
    goto destroy_trainer;
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  int32_t nv = hatch_bpe_trainer_n_vocab(t);
  fprintf(stderr, "wrote %s: vocab %d (%d merges, %d special tokens) from %lld unique pieces in %.2f s\n", out, nv,
          hatch_bpe_trainer_n_merges(t), HATCH_BPE_N_QWEN_SPECIALS, (long long)hatch_bpe_trainer_n_pieces(t),
          (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec));
  if (nv < o.vocab_size)
    fprintf(stderr, "note: the corpus ran out of pairs%s: vocab %d < the %d asked for\n",
            o.min_frequency > 1 ? " (or hit --min-frequency)" : "", nv, o.vocab_size);
  rc = 0;
destroy_trainer:
  hatch_bpe_trainer_destroy(t);
  return rc;
}
