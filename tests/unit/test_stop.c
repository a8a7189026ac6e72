/* Stop conditions (hatch/sampler.h): token ids, the tokenizer's defaults (EOS, <|im_end|>,
 * <|endoftext|>), strings matched across token boundaries with the text cut at the match, and bad
 * input refused. Also a generation loop over scripted tokens, as `hatch query` runs it. */
#include <string.h>

#include "harness.h"
#include "hatch/sampler.h"
#include "hatch/tokenizer.h"

#define FIXTURE(name) HATCH_FIXTURE_DIR "/tokenizer/" name

static void test_tokens_and_defaults(hatch_test_ctx *c) {
  hatch_stop_list *s = NULL;
  HATCH_EXPECT_OK(c, hatch_stop_list_create(&s));
  if (!s) return;
  size_t keep = 99;
  HATCH_EXPECT(c, !hatch_stop_list_check(s, 5, "abc", 3, 1, &keep), "an empty list stops");
  HATCH_EXPECT_OK(c, hatch_stop_list_add_token(s, 5));
  HATCH_EXPECT_OK(c, hatch_stop_list_add_token(s, 5)); /* again: no-op */
  HATCH_EXPECT(c, hatch_stop_list_add_token(s, -1) == HATCH_ERR_INVALID_ARGUMENT, "negative id accepted");
  HATCH_EXPECT(c, hatch_stop_list_check(s, 5, "abcXY", 5, 2, &keep) && keep == 3, "stop token: keep %zu (want 3)", keep);
  HATCH_EXPECT(c, !hatch_stop_list_check(s, 6, "abcXY", 5, 2, &keep), "another token stops");
  for (int i = 0; i < HATCH_STOP_MAX - 1; i++) HATCH_EXPECT_OK(c, hatch_stop_list_add_token(s, 100 + i));
  HATCH_EXPECT(c, hatch_stop_list_add_token(s, 9999) == HATCH_ERR_TOO_LARGE, "past HATCH_STOP_MAX accepted");
  hatch_stop_list_destroy(s);
  hatch_stop_list_destroy(NULL);

  hatch_tokenizer *tok = NULL;
  hatch_tokenizer_error err = {""};
  HATCH_EXPECT_OK(c, hatch_tokenizer_load_json(FIXTURE("tokenizer.json"), &tok, &err));
  if (!tok) return;
  HATCH_EXPECT_OK(c, hatch_stop_list_create(&s));
  HATCH_EXPECT_OK(c, hatch_stop_list_add_defaults(s, tok));
  int32_t im_end = hatch_tokenizer_find(tok, "<|im_end|>", 10), eot = hatch_tokenizer_find(tok, "<|endoftext|>", 13);
  HATCH_EXPECT(c, im_end >= 0 && eot >= 0, "fixture tokenizer lacks <|im_end|> / <|endoftext|>");
  HATCH_EXPECT(c, hatch_stop_list_has_token(s, im_end) && hatch_stop_list_has_token(s, eot) &&
                  hatch_stop_list_has_token(s, hatch_tokenizer_eos_id(tok)),
               "defaults miss EOS %d / <|im_end|> %d / <|endoftext|> %d", hatch_tokenizer_eos_id(tok), im_end, eot);
  HATCH_EXPECT(c, !hatch_stop_list_has_token(s, 0), "token 0 is a default stop");
  hatch_stop_list_destroy(s);
  hatch_tokenizer_destroy(tok);
}

static void test_strings(hatch_test_ctx *c) {
  hatch_stop_list *s = NULL;
  HATCH_EXPECT_OK(c, hatch_stop_list_create(&s));
  if (!s) return;
  HATCH_EXPECT(c, hatch_stop_list_add_string(s, "", 0) == HATCH_ERR_INVALID_ARGUMENT, "empty string accepted");
  HATCH_EXPECT_OK(c, hatch_stop_list_add_string(s, "</answer>", 9));
  HATCH_EXPECT_OK(c, hatch_stop_list_add_string(s, "\n\n", 2));
  size_t keep = 0;
  /* The string completes with the last token's bytes, spanning three tokens: "...</an" "sw" "er> tail". */
  const char *t = "<answer>C</answer> tail";
  size_t len = strlen(t);
  HATCH_EXPECT(c, !hatch_stop_list_check(s, 1, t, 13, 2, &keep), "partial match stops"); /* "<answer>C</an" */
  HATCH_EXPECT(c, !hatch_stop_list_check(s, 1, t, 15, 2, &keep), "partial match stops"); /* "...</answ" */
  HATCH_EXPECT(c, hatch_stop_list_check(s, 1, t, len, len - 15, &keep) && keep == 9, "across tokens: keep %zu (want 9)",
               keep);
  /* A match that ended before the new bytes was someone else's stop: not reported again. */
  HATCH_EXPECT(c, !hatch_stop_list_check(s, 1, t, len, 2, &keep), "an old match stops again");
  /* Two strings completing in the same token: the earlier start wins. */
  const char *u = "x\n\n</answer>";
  HATCH_EXPECT(c, hatch_stop_list_check(s, 1, u, strlen(u), strlen(u), &keep) && keep == 1, "earliest: keep %zu (want 1)",
               keep);
  hatch_stop_list_destroy(s);
}

/* A scripted generation: tokens come from a list, their bytes are appended, the loop ends at the
 * first stop; the text kept is what the user sees. */
static void test_loop(hatch_test_ctx *c) {
  static const char *pieces[] = {"<action>", "{from:0", "}</action>", "<answer>B. ", "Left", "</ans", "wer>", "junk"};
  hatch_stop_list *s = NULL;
  HATCH_EXPECT_OK(c, hatch_stop_list_create(&s));
  if (!s) return;
  HATCH_EXPECT_OK(c, hatch_stop_list_add_token(s, 7));
  HATCH_EXPECT_OK(c, hatch_stop_list_add_string(s, "</answer>", 9));
  char text[256];
  size_t len = 0, keep = 0;
  int steps = 0;
  for (int i = 0; i < 8; i++) {
    size_t n = strlen(pieces[i]);
    memcpy(text + len, pieces[i], n);
    len += n;
    steps++;
    if (hatch_stop_list_check(s, i, text, len, n, &keep)) break;
  }
  text[keep] = 0;
  HATCH_EXPECT(c, steps == 7, "stopped after %d tokens (want 7)", steps);
  HATCH_EXPECT(c, !strcmp(text, "<action>{from:0}</action><answer>B. Left"), "kept '%s'", text);
  hatch_stop_list_destroy(s);
}

int main(int argc, char **argv) {
  static const hatch_test_case cases[] = {
      {"tokens_and_defaults", test_tokens_and_defaults, false},
      {"strings", test_strings, false},
      {"loop", test_loop, false},
  };
  return hatch_test_main(argc, argv, cases, (int)(sizeof cases / sizeof *cases));
}
