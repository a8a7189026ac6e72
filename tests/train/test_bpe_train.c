/* Byte-level BPE training: the result loads in the runtime tokenizer (from tokenizer.json and from
 * GGUF keys), round-trips every corpus line byte for byte, makes frequent words single tokens,
 * encodes the special tokens to their ids, is deterministic, and its merges equal those of a
 * naive trainer written here (recount every pair at every step). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "hatch/bpe_train.h"
#include "hatch/convert.h"
#include "hatch/gguf.h"

/* A small corpus in the trainer's domain: questions, answers, action strings, some non-ASCII. */
static char *make_corpus(size_t *len, char ***lines_out, int *n_lines) {
  static const char *objs[] = {"chair", "table", "lamp", "sofa", "plant", "bookcase", "door", "window"};
  static const char *cols[] = {"red", "blue", "green", "white", "black", "grey"};
  static const char *dirs[] = {"left", "right", "front", "back"};
  static const char *extra[] = {"Le café est à gauche de la fenêtre.", "机器人向左转 90 度。", "  indented line with   spaces",
                                "tabs\tand\ttabs", "emoji 🤖 robot", "numbers 12345 and 3.14159", "don't you'll we're",
                                "<|im_start|>user\nWhere is the lamp?<|im_end|>", "MIXED Case WORDS", "x"};
  int cap = 400;
  char **lines = calloc((size_t)cap, sizeof *lines);
  int n = 0;
  uint32_t r = 12345;
  for (int i = 0; i < 360; i++) {
    char buf[256];
    r = r * 1103515245u + 12345u;
    const char *o1 = objs[(r >> 8) % 8], *o2 = objs[(r >> 12) % 8], *c1 = cols[(r >> 16) % 6], *d = dirs[(r >> 20) % 4];
    switch (i % 4) {
      case 0: snprintf(buf, sizeof buf, "Which side is the %s %s on, seen from the %s?", c1, o1, o2); break;
      case 1: snprintf(buf, sizeof buf, "The %s is to the %s of the %s %s.", o1, d, c1, o2); break;
      case 2:
        snprintf(buf, sizeof buf, "<action>{from:0,to:1,action:[{turn %s: %u deg}{move forward: %u.%u m}]}</action>", d,
                 (r >> 3) % 180, (r >> 5) % 3, (r >> 7) % 10);
        break;
      default: snprintf(buf, sizeof buf, "<answer>%c. %s, %s</answer>", 'A' + (int)((r >> 9) % 4), c1, d); break;
    }
    lines[n++] = strdup(buf);
  }
  for (int i = 0; i < 10; i++) lines[n++] = strdup(extra[i]);
  size_t total = 0;
  for (int i = 0; i < n; i++) total += strlen(lines[i]) + 1;
  char *text = malloc(total + 1), *p = text;
  for (int i = 0; i < n; i++) p += sprintf(p, "%s\n", lines[i]);
  *len = total;
  *lines_out = lines;
  *n_lines = n;
  return text;
}

static void free_lines(char **lines, int n) {
  for (int i = 0; i < n; i++) free(lines[i]);
  free(lines);
}

static hatch_bpe_trainer *train(hatch_test_ctx *c, const char *text, size_t len, int32_t vocab, size_t split) {
  hatch_bpe_train_options o = {.vocab_size = vocab};
  hatch_bpe_trainer *t = NULL;
  hatch_bpe_report r;
  HATCH_EXPECT_OK(c, hatch_bpe_trainer_create(&o, &t, &r));
  if (!t) return NULL;
  if (split) { /* the second part first: counts do not depend on the order */
    HATCH_EXPECT_OK(c, hatch_bpe_trainer_feed(t, text + split, len - split));
    HATCH_EXPECT_OK(c, hatch_bpe_trainer_feed(t, text, split));
  } else {
    HATCH_EXPECT_OK(c, hatch_bpe_trainer_feed(t, text, len));
  }
  HATCH_EXPECT_OK(c, hatch_bpe_trainer_train(t));
  return t;
}

static int encode_n(const hatch_tokenizer *tok, const char *s, bool special, int32_t *first) {
  int32_t *ids = NULL;
  size_t n = 0;
  if (hatch_tokenizer_encode(tok, s, strlen(s), special, &ids, &n) != HATCH_OK) return -1;
  if (first) *first = n ? ids[0] : -1;
  free(ids);
  return (int)n;
}

static void round_trips(hatch_test_ctx *c, const hatch_tokenizer *tok, char **lines, int n_lines, const char *what) {
  int bad = 0;
  for (int i = 0; i < n_lines; i++) {
    int32_t *ids = NULL;
    size_t n = 0, dl = 0;
    char *dec = NULL;
    bool special = strstr(lines[i], "<|") != NULL;
    if (hatch_tokenizer_encode(tok, lines[i], strlen(lines[i]), special, &ids, &n) != HATCH_OK ||
        hatch_tokenizer_decode(tok, ids, n, false, &dec, &dl) != HATCH_OK || dl != strlen(lines[i]) ||
        memcmp(dec, lines[i], dl) != 0) {
      if (bad++ < 3) fprintf(stderr, "  %s: line %d does not round-trip: '%s'\n", what, i, lines[i]);
    }
    free(ids);
    free(dec);
  }
  HATCH_EXPECT(c, bad == 0, "%s: %d lines do not round-trip", what, bad);
}

static void test_train_json(hatch_test_ctx *c) {
  size_t len;
  char **lines;
  int n_lines;
  char *text = make_corpus(&len, &lines, &n_lines);
  hatch_bpe_trainer *t = train(c, text, len, 440, 0); /* the corpus has pairs for ~490 */
  if (!t) goto done;
  HATCH_EXPECT(c, hatch_bpe_trainer_n_vocab(t) == 440, "vocab %d", hatch_bpe_trainer_n_vocab(t));
  char path[] = "/tmp/hatch_bpe_XXXXXX";
  int fd = mkstemp(path);
  if (fd >= 0) close(fd);
  hatch_bpe_report r;
  HATCH_EXPECT_OK(c, hatch_bpe_trainer_write_json(t, path, &r));
  hatch_tokenizer *tok = NULL;
  hatch_tokenizer_error err = {""};
  HATCH_EXPECT(c, hatch_tokenizer_load_json(path, &tok, &err) == HATCH_OK, "runtime loader: %s", err.message);
  unlink(path);
  if (!tok) goto free_trainer;
  HATCH_EXPECT(c, hatch_tokenizer_n_vocab(tok) == 440, "loaded vocab %d", hatch_tokenizer_n_vocab(tok));
  round_trips(c, tok, lines, n_lines, "json");
  /* The whole corpus, and text the corpus never had. */
  const char *odd = "Zebra ÿ\xc3\xa9 \xf0\x9f\x98\x80 \x01\x02 end";
  round_trips(c, tok, (char **)&odd, 1, "unseen");
  /* Frequent words are single tokens. */
  const char *words[] = {" the", " chair", " bookcase", " forward", "<answer", " deg"};
  for (int i = 0; i < 6; i++)
    HATCH_EXPECT(c, encode_n(tok, words[i], false, NULL) == 1, "'%s' takes %d tokens", words[i], encode_n(tok, words[i], false, NULL));
  /* Compression on the corpus. */
  int32_t *ids = NULL;
  size_t n_ids = 0;
  HATCH_EXPECT_OK(c, hatch_tokenizer_encode(tok, text, len, true, &ids, &n_ids));
  HATCH_EXPECT(c, n_ids * 3 < len, "%zu tokens for %zu bytes", n_ids, len);
  free(ids);
  /* Special tokens: ids 432..439 in Qwen's order, matched only with parse_special. */
  for (int k = 0; k < HATCH_BPE_N_QWEN_SPECIALS; k++) {
    int32_t id = -1;
    int n = encode_n(tok, hatch_bpe_qwen_specials[k], true, &id);
    HATCH_EXPECT(c, n == 1 && id == 432 + k && hatch_tokenizer_is_special(tok, id), "%s -> %d tokens, id %d",
                 hatch_bpe_qwen_specials[k], n, id);
    HATCH_EXPECT(c, encode_n(tok, hatch_bpe_qwen_specials[k], false, NULL) > 1, "%s matched without parse_special",
                 hatch_bpe_qwen_specials[k]);
  }
  HATCH_EXPECT(c, hatch_tokenizer_eos_id(tok) == 434 && hatch_tokenizer_pad_id(tok) == 432, "eos %d pad %d",
               hatch_tokenizer_eos_id(tok), hatch_tokenizer_pad_id(tok));
  /* The chat template works with it. */
  int32_t img[1] = {4};
  hatch_chat_prompt p = {NULL, img, 1, "Where is the red chair?", false};
  int32_t *chat = NULL;
  size_t n_chat = 0;
  HATCH_EXPECT_OK(c, hatch_tokenizer_encode_chat(tok, &p, &chat, &n_chat));
  free(chat);
  hatch_tokenizer_destroy(tok);
free_trainer:
  hatch_bpe_trainer_destroy(t);
done:
  free(text);
  free_lines(lines, n_lines);
}

static void test_gguf(hatch_test_ctx *c) {
  size_t len;
  char **lines;
  int n_lines;
  char *text = make_corpus(&len, &lines, &n_lines);
  hatch_bpe_trainer *t = train(c, text, len, 512, 0);
  hatch_tokenizer *tok = NULL, *back = NULL;
  hatch_bpe_report r;
  HATCH_EXPECT_OK(c, hatch_bpe_trainer_tokenizer(t, &tok, &r));
  hatch_gguf_writer *w = NULL;
  HATCH_EXPECT_OK(c, hatch_gguf_writer_create(&w));
  hatch_bpe_gguf_meta meta = {tok, 520}; /* padded to the model's embedding rows */
  HATCH_EXPECT_OK(c, hatch_bpe_gguf_add_metadata(&meta, w));
  uint8_t *mem = NULL;
  size_t size = 0;
  HATCH_EXPECT_OK(c, hatch_gguf_writer_write_mem(w, &mem, &size, NULL));
  hatch_gguf *g = NULL;
  HATCH_EXPECT_OK(c, hatch_gguf_parse(mem, size, "tok.gguf", &g, NULL));
  hatch_tokenizer_error err = {""};
  if (g) HATCH_EXPECT(c, hatch_tokenizer_from_gguf(g, &back, &err) == HATCH_OK, "from gguf: %s", err.message);
  if (back && tok) {
    HATCH_EXPECT(c, hatch_tokenizer_n_vocab(back) == 520, "gguf vocab %d", hatch_tokenizer_n_vocab(back));
    round_trips(c, back, lines, n_lines, "gguf");
    int diff = 0;
    for (int i = 0; i < n_lines; i++) {
      int32_t *a = NULL, *b = NULL;
      size_t na = 0, nb = 0;
      hatch_tokenizer_encode(tok, lines[i], strlen(lines[i]), true, &a, &na);
      hatch_tokenizer_encode(back, lines[i], strlen(lines[i]), true, &b, &nb);
      diff += na != nb || (na && memcmp(a, b, na * sizeof *a) != 0);
      free(a), free(b);
    }
    HATCH_EXPECT(c, diff == 0, "%d lines encode differently from GGUF and JSON", diff);
  }
  hatch_tokenizer_destroy(back);
  hatch_gguf_close(g);
  free(mem);
  hatch_gguf_writer_destroy(w);
  hatch_tokenizer_destroy(tok);
  hatch_bpe_trainer_destroy(t);
  free(text);
  free_lines(lines, n_lines);
}

static void test_deterministic(hatch_test_ctx *c) {
  size_t len;
  char **lines;
  int n_lines;
  char *text = make_corpus(&len, &lines, &n_lines);
  /* Split after a newline in the middle (the next line starts with a letter). */
  const char *mid = strstr(text + len / 2, "\nThe ");
  size_t split = mid ? (size_t)(mid - text) + 1 : 0;
  HATCH_EXPECT(c, split > 0, "no split point");
  hatch_bpe_trainer *a = train(c, text, len, 480, 0), *b = train(c, text, len, 480, split);
  char *ja = NULL, *jb = NULL;
  size_t la = 0, lb = 0;
  HATCH_EXPECT_OK(c, hatch_bpe_trainer_to_json(a, &ja, &la));
  HATCH_EXPECT_OK(c, hatch_bpe_trainer_to_json(b, &jb, &lb));
  HATCH_EXPECT(c, ja && jb && la == lb && memcmp(ja, jb, la) == 0, "two trainings differ");
  free(ja), free(jb);
  hatch_bpe_trainer_destroy(a);
  hatch_bpe_trainer_destroy(b);
  free(text);
  free_lines(lines, n_lines);
}

/* ---- naive reference trainer ------------------------------------------------------------------- */

enum { MAXV = 1024 };

static void test_vs_naive(hatch_test_ctx *c) {
  /* Lowercase words and single spaces: the Qwen2 pieces are "w" then " w" for each later word. */
  static const char *vocab[] = {"abab", "ba", "aab", "the", "then", "there", "bab", "here", "a", "heh", "tee"};
  char text[8192];
  size_t len = 0;
  uint32_t r = 99;
  for (int i = 0; i < 900; i++) {
    r = r * 1664525u + 1013904223u;
    len += (size_t)snprintf(text + len, sizeof text - len, "%s%s", i ? " " : "", vocab[(r >> 16) % 11]);
  }
  /* Naive words: unique pieces with counts. */
  int32_t words[32][16], wlen[32], n_words = 0;
  int64_t wcount[32] = {0};
  char piece[16];
  for (size_t i = 0; i < len;) {
    size_t j = i + (text[i] == ' ');
    while (j < len && text[j] != ' ') j++;
    size_t pl = j - i;
    memcpy(piece, text + i, pl);
    int w = 0;
    for (; w < n_words; w++)
      if (wlen[w] == (int32_t)pl) {
        bool same = true;
        for (size_t k = 0; k < pl; k++) same = same && words[w][k] == (uint8_t)piece[k];
        if (same) break;
      }
    if (w == n_words) {
      for (size_t k = 0; k < pl; k++) words[w][k] = (uint8_t)piece[k];
      wlen[n_words++] = (int32_t)pl;
    }
    wcount[w]++;
    i = j;
  }
  static char tokstr[MAXV][64];
  int n_tok = 256;
  for (int b = 0; b < 256; b++) tokstr[b][0] = (char)b, tokstr[b][1] = 0;
  static int64_t counts[MAXV * MAXV];
  int32_t merges[MAXV][2], n_merges = 0;
  const int target = 300 - HATCH_BPE_N_QWEN_SPECIALS;
  while (n_tok < target) {
    memset(counts, 0, sizeof counts);
    for (int w = 0; w < n_words; w++)
      for (int i = 0; i + 1 < wlen[w]; i++) counts[words[w][i] * MAXV + words[w][i + 1]] += wcount[w];
    int64_t best = 0, bi = -1;
    for (int64_t i = 0; i < (int64_t)MAXV * MAXV; i++)
      if (counts[i] > best) best = counts[i], bi = i; /* first = smallest (a, b) among equals */
    if (bi < 0) break;
    int32_t a = (int32_t)(bi / MAXV), b = (int32_t)(bi % MAXV);
    char s[64] = "";
    size_t la = strlen(tokstr[a]), lb = strlen(tokstr[b]);
    if (la + lb < sizeof s) memcpy(s, tokstr[a], la), memcpy(s + la, tokstr[b], lb), s[la + lb] = 0;
    int id = -1;
    for (int k = 0; k < n_tok; k++)
      if (strcmp(tokstr[k], s) == 0) id = k;
    if (id < 0) memcpy(tokstr[id = n_tok++], s, sizeof s);
    merges[n_merges][0] = a, merges[n_merges++][1] = b;
    for (int w = 0; w < n_words; w++) {
      int n = 0;
      for (int i = 0; i < wlen[w]; i++)
        if (i + 1 < wlen[w] && words[w][i] == a && words[w][i + 1] == b)
          words[w][n++] = id, i++;
        else
          words[w][n++] = words[w][i];
      wlen[w] = n;
    }
  }
  hatch_bpe_trainer *t = train(c, text, len, 300, 0);
  hatch_tokenizer *tok = NULL;
  hatch_bpe_report rep;
  HATCH_EXPECT_OK(c, hatch_bpe_trainer_tokenizer(t, &tok, &rep));
  HATCH_EXPECT(c, hatch_bpe_trainer_n_merges(t) == n_merges && (int)hatch_tokenizer_n_merges(tok) == n_merges,
               "merges: trainer %d, naive %d (the corpus runs out of pairs at %d tokens)", hatch_bpe_trainer_n_merges(t),
               n_merges, n_tok);
  int first_diff = -1;
  for (int m = 0; tok && m < n_merges && m < (int)hatch_tokenizer_n_merges(tok); m++) {
    int32_t a, b;
    hatch_tokenizer_merge(tok, (size_t)m, &a, &b);
    if ((a != merges[m][0] || b != merges[m][1]) && first_diff < 0) first_diff = m;
  }
  HATCH_EXPECT(c, first_diff < 0, "merge %d differs from the naive trainer", first_diff);
  hatch_tokenizer_destroy(tok);
  hatch_bpe_trainer_destroy(t);
}

static void test_options(hatch_test_ctx *c) {
  hatch_bpe_trainer *t = NULL;
  hatch_bpe_report r;
  hatch_bpe_train_options o = {.vocab_size = 263};
  HATCH_EXPECT(c, hatch_bpe_trainer_create(&o, &t, &r) == HATCH_ERR_INVALID_ARGUMENT && !t && strstr(r.message, "264"),
               "vocab 263: %s", r.message);
  const char *dup[2] = {"<a>", "<a>"};
  hatch_bpe_train_options o2 = {.vocab_size = 300, .specials = dup, .n_specials = 2};
  HATCH_EXPECT(c, hatch_bpe_trainer_create(&o2, &t, &r) == HATCH_ERR_INVALID_ARGUMENT, "duplicate specials");
  /* Empty corpus: only the bytes and the specials. */
  hatch_bpe_train_options o3 = {.vocab_size = 300};
  HATCH_EXPECT_OK(c, hatch_bpe_trainer_create(&o3, &t, &r));
  HATCH_EXPECT_OK(c, hatch_bpe_trainer_train(t));
  HATCH_EXPECT(c, hatch_bpe_trainer_n_vocab(t) == 264 && hatch_bpe_trainer_n_merges(t) == 0, "empty corpus vocab %d",
               hatch_bpe_trainer_n_vocab(t));
  HATCH_EXPECT(c, hatch_bpe_trainer_feed(t, "x", 1) == HATCH_ERR_INVALID_ARGUMENT, "feed after train");
  hatch_tokenizer *tok = NULL;
  HATCH_EXPECT_OK(c, hatch_bpe_trainer_tokenizer(t, &tok, &r));
  hatch_tokenizer_destroy(tok);
  hatch_bpe_trainer_destroy(t);
  HATCH_EXPECT(c, hatch_bpe_trainer_create(&o3, &t, &r) == HATCH_OK &&
                      hatch_bpe_trainer_feed_file(t, "/nonexistent/corpus.txt", &r) == HATCH_ERR_NOT_FOUND &&
                      strstr(r.message, "/nonexistent/corpus.txt"),
               "missing file: %s", r.message);
  hatch_bpe_trainer_destroy(t);
}

int main(int argc, char **argv) {
  static const hatch_test_case cases[] = {
      {"train_json", test_train_json, false}, {"gguf", test_gguf, false},       {"deterministic", test_deterministic, false},
      {"vs_naive", test_vs_naive, false},     {"options", test_options, false},
  };
  return hatch_test_main(argc, argv, cases, (int)(sizeof cases / sizeof cases[0]));
}
